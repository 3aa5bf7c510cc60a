//! The simulator smoke test: proves that the tool environment works and that
//! the Verilator model of a block behaves exactly like rust-hdl's own
//! simulation of it, cycle for cycle.

use fiberloop_harness::selftest::{
    fixture_stimulus, run_fixture_rust_hdl, run_fixture_verilator, FixtureOutputs,
};
use fiberloop_harness::verilator::HarnessError;
use std::time::Instant;

/// What a self-test measured.
#[derive(Clone, Debug)]
pub struct SelftestReport {
    /// Cycles compared.
    pub cycles: usize,
    /// First cycle whose outputs differ, if any.
    pub first_mismatch: Option<usize>,
    /// rust-hdl simulator speed.
    pub rust_hdl_cycles_per_s: f64,
    /// Verilator model speed.
    pub verilator_cycles_per_s: f64,
    /// Seconds spent building or loading the Verilator model.
    pub build_s: f64,
}

/// Runs `cycles` cycles of seeded random stimulus through both simulators.
pub fn run(seed: u64, cycles: usize) -> Result<SelftestReport, HarnessError> {
    let stimulus = fixture_stimulus(seed, cycles);
    let t = Instant::now();
    run_fixture_verilator(&stimulus[..1.min(cycles)])?;
    let build_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let verilated = run_fixture_verilator(&stimulus)?;
    let verilator_cycles_per_s = cycles as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let reference: Vec<FixtureOutputs> = run_fixture_rust_hdl(stimulus);
    let rust_hdl_cycles_per_s = cycles as f64 / t.elapsed().as_secs_f64();
    let first_mismatch = reference
        .iter()
        .zip(&verilated)
        .position(|(a, b)| a != b)
        .or_else(|| (reference.len() != verilated.len()).then_some(0));
    Ok(SelftestReport {
        cycles,
        first_mismatch,
        rust_hdl_cycles_per_s,
        verilator_cycles_per_s,
        build_s,
    })
}

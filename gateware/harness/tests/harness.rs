//! The Verilator harness against rust-hdl's own simulator: the same seeded
//! random stimulus, every output compared on every cycle.

use fiberloop_harness::selftest::{
    fixture_stimulus, run_fixture_rust_hdl, run_fixture_verilator, FixtureOutputs,
};

const CYCLES: usize = 100_000;

fn first_difference(a: &[FixtureOutputs], b: &[FixtureOutputs]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x != y)
}

#[test]
fn verilator_matches_rust_hdl_on_every_cycle() {
    let stimulus = fixture_stimulus(0x5EED_F1BE, CYCLES);
    let verilated = run_fixture_verilator(&stimulus).unwrap_or_else(|e| panic!("{e}"));
    let reference = run_fixture_rust_hdl(stimulus);
    assert_eq!(reference.len(), CYCLES);
    assert_eq!(verilated.len(), CYCLES);
    if let Some(i) = first_difference(&reference, &verilated) {
        panic!(
            "cycle {i}: rust-hdl {:?} != Verilator {:?}",
            reference[i], verilated[i]
        );
    }
    // The stimulus must have exercised what it claims to.
    let full = reference.iter().filter(|o| o.fifo_full).count();
    let empty = reference.iter().filter(|o| o.fifo_empty).count();
    let wide_high = reference
        .iter()
        .filter(|o| o.wide_out[2] != 0 || o.wide_out[3] != 0)
        .count();
    assert!(
        full > 1000 && empty > 1000,
        "FIFO full {full}, empty {empty} cycles"
    );
    assert!(
        wide_high > CYCLES / 2,
        "bits above 64 rarely set: {wide_high}"
    );
}

#[test]
fn a_wrong_model_is_caught() {
    // The comparison must be able to fail: perturb one output on one cycle.
    let stimulus = fixture_stimulus(7, 2_000);
    let verilated = run_fixture_verilator(&stimulus).unwrap_or_else(|e| panic!("{e}"));
    let mut reference = verilated.clone();
    reference[1234].wide_out[3] ^= 0x8;
    assert_eq!(first_difference(&reference, &verilated), Some(1234));
}

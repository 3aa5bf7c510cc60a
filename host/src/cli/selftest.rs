//! `fiberloop selftest`: the simulator smoke test.

use super::{exit, Failure};
use anyhow::anyhow;
use fiberloop_harness::verilator::HarnessError;

/// Options of `selftest`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Clock cycles to compare.
    #[arg(long, default_value_t = 20_000)]
    pub cycles: usize,
    /// Seed of the random stimulus.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs the self-test and prints its figures on stdout.
pub fn run(args: Args) -> Result<(), Failure> {
    if args.cycles == 0 {
        return Err(Failure::new(
            exit::USAGE,
            anyhow!("--cycles must be at least 1"),
        ));
    }
    log::info!("building the Verilator model of the harness fixture");
    let r = fiberloop::selftest::run(args.seed, args.cycles).map_err(|e| match e {
        HarnessError::Tool(_) => Failure::new(exit::DEVICE_UNAVAILABLE, e),
        other => Failure::new(exit::IO, other),
    })?;
    if args.json {
        println!(
            "{{\"cycles\":{},\"match\":{},\"first_mismatch\":{},\"rust_hdl_cycles_per_s\":{:.0},\"verilator_cycles_per_s\":{:.0},\"build_s\":{:.2}}}",
            r.cycles,
            r.first_mismatch.is_none(),
            r.first_mismatch.map_or("null".to_string(), |c| c.to_string()),
            r.rust_hdl_cycles_per_s,
            r.verilator_cycles_per_s,
            r.build_s
        );
    } else {
        println!("cycles compared      : {}", r.cycles);
        println!(
            "outputs              : {}",
            match r.first_mismatch {
                None => "identical on every cycle".to_string(),
                Some(c) => format!("DIFFER from cycle {c}"),
            }
        );
        println!(
            "rust-hdl simulator   : {:.0} cycles/s",
            r.rust_hdl_cycles_per_s
        );
        println!(
            "Verilator model      : {:.0} cycles/s",
            r.verilator_cycles_per_s
        );
        println!(
            "speed-up             : {:.0}x",
            r.verilator_cycles_per_s / r.rust_hdl_cycles_per_s
        );
        println!("model build or load  : {:.1} s", r.build_s);
    }
    match r.first_mismatch {
        None => Ok(()),
        Some(c) => Err(Failure::new(
            exit::MISMATCH,
            anyhow!("Verilator and rust-hdl disagree from cycle {c}"),
        )),
    }
}

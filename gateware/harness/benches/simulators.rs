//! Simulated cycles per second of the harness fixture (FIFO + RAM + 100-bit
//! pipeline) under rust-hdl's own simulator and under the Verilator harness,
//! and their ratio. Prints medians over several runs; asserts nothing about
//! speed (the machines are shared and noisy).
//!
//!     cargo bench -p fiberloop-gateware --bench simulators

use fiberloop_harness::selftest::{fixture_stimulus, run_fixture_rust_hdl, run_fixture_verilator};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let runs = 5;
    let rust_hdl_cycles = 20_000;
    let verilator_cycles = 2_000_000;

    // Build (or load from the cache) before timing.
    let warm = fixture_stimulus(1, 10);
    run_fixture_verilator(&warm).expect("Verilator model");

    let stim = fixture_stimulus(2, rust_hdl_cycles);
    let mut rh = vec![];
    for _ in 0..runs {
        let s = stim.clone();
        let t = Instant::now();
        let out = run_fixture_rust_hdl(s);
        rh.push(out.len() as f64 / t.elapsed().as_secs_f64());
    }
    let stim = fixture_stimulus(3, verilator_cycles);
    let mut vl = vec![];
    for _ in 0..runs {
        let t = Instant::now();
        let out = run_fixture_verilator(&stim).expect("Verilator model");
        vl.push(out.len() as f64 / t.elapsed().as_secs_f64());
    }
    let (rh_m, vl_m) = (median(rh.clone()), median(vl.clone()));
    println!("harness fixture: FIFO 16x16, RAM 256x32, 4-stage 100-bit pipeline");
    println!(
        "rust-hdl Simulation : median {:>12.0} cycles/s over {runs} runs of {rust_hdl_cycles} cycles (min {:.0}, max {:.0})",
        rh_m,
        rh.iter().cloned().fold(f64::MAX, f64::min),
        rh.iter().cloned().fold(0.0, f64::max)
    );
    println!(
        "Verilator harness   : median {:>12.0} cycles/s over {runs} runs of {verilator_cycles} cycles (min {:.0}, max {:.0})",
        vl_m,
        vl.iter().cloned().fold(f64::MAX, f64::min),
        vl.iter().cloned().fold(0.0, f64::max)
    );
    println!("ratio Verilator / rust-hdl: {:.0}x", vl_m / rh_m);
}

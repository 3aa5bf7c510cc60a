//! Figures of the whole simulated loop (gateware in Verilator + fiber model):
//! simulated word clocks per second, payload efficiency, bytes held in the
//! fiber versus in FPGA buffers, and the gateware's latency. Prints; asserts
//! nothing about speed.
//!
//!     cargo bench -p fiberloop-gateware --bench loop

use fiberloop_sim::fiber::FiberConfig;
use fiberloop_sim::loop_sim::LoopSim;
use fiberloop_spec::frame::{FRAME_SYMBOLS, FRAME_WORDS, PAYLOAD_BYTES};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    println!(
        "payload efficiency: {} payload bytes per {} symbols of 10 line bits = {:.4}",
        PAYLOAD_BYTES,
        FRAME_SYMBOLS,
        (PAYLOAD_BYTES * 8) as f64 / (FRAME_SYMBOLS * 10) as f64
    );
    println!(
        "RS decoder latency: {} clocks; gateware in a lap: RX {} + TX {} + controller {} clocks",
        fiberloop_gateware::fec::rs_decoder::DECODER_LATENCY,
        fiberloop_gateware::top::loop_core::RX_LATENCY,
        fiberloop_gateware::top::loop_core::TX_LATENCY,
        fiberloop_gateware::loopctl::controller::LATENCY
    );
    println!();
    println!(
        "{:>6} {:>10} {:>10} {:>6} {:>6} {:>14} {:>14} {:>10}",
        "km", "fiber wc", "loop wc", "slots", "gap", "payload fiber", "payload FPGA", "sim Mwc/s"
    );
    for km in [1.0, 10.0, 25.0] {
        let mut sim = LoopSim::new(FiberConfig {
            length_m: km * 1000.0,
            transceiver_latency_ns: 0.0,
            ..Default::default()
        })
        .expect("loop model");
        let s = sim.fill(10_000_000).expect("fill");
        let fiber_wc = sim.fiber().delay_words();
        let ring = s.delay_clocks + fiberloop_gateware::loopctl::controller::LATENCY;
        let gap = ring - s.slots * FRAME_WORDS as u64;
        // Payload bytes per word clock on a full loop, split by where the
        // words are at any instant: in the glass or in the gateware.
        let per_wc = s.slots as f64 * PAYLOAD_BYTES as f64 / ring as f64;
        let in_fiber = per_wc * fiber_wc;
        let in_fpga = per_wc * (ring as f64 - fiber_wc);
        let mut speeds = vec![];
        for _ in 0..3 {
            let t = Instant::now();
            let n = 200_000;
            sim.run(n);
            speeds.push(n as f64 / t.elapsed().as_secs_f64() / 1e6);
        }
        println!(
            "{:>6} {:>10.1} {:>10} {:>6} {:>6} {:>12.0} B {:>12.0} B {:>10.3}",
            km,
            fiber_wc,
            ring,
            s.slots,
            gap,
            in_fiber,
            in_fpga,
            median(speeds)
        );
    }
    println!();
    println!("fiber wc: fiber delay in word clocks (8 ns); loop wc: measured ring period;");
    println!("gap: idle words per lap; payload fiber / FPGA: payload bytes in flight in");
    println!("the glass and in gateware pipelines and buffers at any instant.");
}

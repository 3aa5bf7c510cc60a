//! The planner against the simulated loop: the real gateware in Verilator
//! with the fiber model, filled at 1, 10 and 25 km (the loop bench's
//! lengths and settings). `slots`, the ring, occupancy, payload bytes held
//! and in flight, and the payload rate the tap delivers must be the
//! planner's.

use fiberloop::plan::{plan, PlanInput};
use fiberloop_gateware::loopctl::controller::{LATENCY, PAYLOAD_WORDS};
use fiberloop_sim::fiber::FiberConfig;
use fiberloop_sim::loop_sim::LoopSim;
use fiberloop_spec::frame::{FRAME_WORDS, PAYLOAD_BYTES};
use fiberloop_spec::line::WORD_CLOCK_HZ;

/// Fills a simulated loop and compares it with the planner; returns a row
/// of the comparison table.
fn compare(km: f64, transceiver_ns: f64) -> String {
    let mut sim = LoopSim::new(FiberConfig {
        length_m: km * 1000.0,
        transceiver_latency_ns: transceiver_ns,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let s = sim.fill(10_000_000).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.mode, 4, "{km} km: not running: {s:?}");
    let p = plan(&PlanInput {
        transceiver_latency_s: transceiver_ns * 1e-9,
        ..PlanInput::project(2.5e9, 1, km)
    })
    .unwrap();
    let f = p.fill.unwrap();
    let ctx = format!("{km} km, {transceiver_ns} ns: sim {s:?}, plan {p:?}");
    // The fill: measured delay, ring period, slots.
    assert_eq!(p.raw_bits_in_flight, sim.fiber().delay_bits(), "{ctx}");
    assert_eq!(f.delay_words, s.delay_clocks, "{ctx}");
    let ring = s.delay_clocks + LATENCY;
    assert_eq!(f.ring_words, ring, "{ctx}");
    assert_eq!(p.slots(), Some(s.slots), "{ctx}");
    assert_eq!(f.gap_words, ring - s.slots * FRAME_WORDS as u64, "{ctx}");
    // Occupancy and payload, as the loop bench computes them from the sim.
    let occupancy = (s.slots * FRAME_WORDS as u64) as f64 / ring as f64;
    assert_eq!(p.occupancy, Some(occupancy), "{ctx}");
    assert_eq!(
        p.payload_bytes_held,
        (s.slots * PAYLOAD_BYTES as u64) as f64,
        "{ctx}"
    );
    let per_wc = s.slots as f64 * PAYLOAD_BYTES as f64 / ring as f64;
    let fiber_wc = sim.fiber().delay_words();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    assert!(close(p.payload_bytes_in_flight, per_wc * fiber_wc), "{ctx}");
    assert!(
        close(p.payload_bytes_in_fpga, per_wc * (ring as f64 - fiber_wc)),
        "{ctx}"
    );
    // The payload rate: what the tap delivers over three whole laps.
    let laps = 3;
    let before = sim.tap_words();
    sim.run(laps * ring);
    let words = sim.tap_words() - before;
    assert_eq!(
        words,
        laps * s.slots * PAYLOAD_WORDS as u64,
        "{ctx}: tap words over {laps} laps"
    );
    let measured = (words * 2) as f64 / (laps * ring) as f64 * WORD_CLOCK_HZ as f64;
    assert!(close(p.payload_bytes_per_s, measured), "{ctx}: {measured}");
    format!(
        "{km:>5} {transceiver_ns:>6} {:>8} {:>8} {:>6} {:>6} {:>4} {:>7.4} {:>10.1} {:>8.1} {:>7} {:>12.0}",
        p.raw_bits_in_flight,
        s.delay_clocks,
        ring,
        s.slots,
        f.gap_words,
        occupancy,
        p.payload_bytes_in_flight,
        p.payload_bytes_in_fpga,
        p.payload_bytes_held,
        measured
    )
}

#[test]
fn the_planner_fills_as_the_simulated_loop_does() {
    let mut rows = vec![format!(
        "{:>5} {:>6} {:>8} {:>8} {:>6} {:>6} {:>4} {:>7} {:>10} {:>8} {:>7} {:>12}",
        "km",
        "tx ns",
        "bits",
        "D",
        "ring",
        "slots",
        "gap",
        "occ",
        "B fiber",
        "B FPGA",
        "B held",
        "B/s (tap)"
    )];
    // The loop bench's settings: the glass alone.
    for km in [1.0, 10.0, 25.0] {
        rows.push(compare(km, 0.0));
    }
    // The received word boundary: 12,259 bits (19 past a word) and 12,260
    // (on a word) measure D one word apart.
    rows.push(compare(1.0, 6.8));
    rows.push(compare(1.0, 7.2));
    // The simulator's default transceivers (200 ns).
    rows.push(compare(10.0, 200.0));
    println!("{}", rows.join("\n"));
}

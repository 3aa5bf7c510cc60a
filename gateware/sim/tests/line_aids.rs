//! The bring-up aids of the loop core (`LineAids`) over the fiber model:
//! the PRBS checker counts exactly the bits the fiber flipped, the clock
//! meters read the word clocks, and the fabric loopback sends every
//! received word back out unchanged.

use fiberloop_sim::fiber::FiberConfig;
use fiberloop_sim::loop_sim::LoopSim;
use fiberloop_spec::phy::{prbs_ctrl, source, Prbs};

fn sim(ber: f64, seed: u64) -> LoopSim {
    LoopSim::new(FiberConfig {
        length_m: 1000.0,
        ber,
        seed,
        ..Default::default()
    })
    .expect("loop model")
}

/// Runs until the checker locks (at most `max` clocks); the clock it did.
fn run_until_locked(s: &mut LoopSim, max: u64) -> u64 {
    for _ in 0..max {
        s.step();
        if s.aids().0 & 1 == 1 {
            return s.clocks();
        }
    }
    panic!("the PRBS checker did not lock in {max} clocks");
}

/// Every pattern at BER 1e-4: the errors counted equal the bits the fiber
/// flipped in the window the checker counted, up to the few words at its
/// two ends whose timing the pipeline and the crossing blur.
#[test]
fn prbs_counts_every_flipped_bit() {
    for (k, p) in Prbs::ALL.into_iter().enumerate() {
        let mut s = sim(1e-4, 0x9B5 + k as u64);
        let on = prbs_ctrl::pack(source::PRBS, p, true);
        s.set_aids(on, true);
        let lap = s.fiber().delay_words() as u64 + 200;
        run_until_locked(&mut s, 4 * lap);
        s.fiber_mut().log_errors();
        // Count from a clean start.
        s.set_aids(on, true);
        let t0 = s.clocks();
        s.run(150_000);
        let t1 = s.clocks();
        let (status, bits, errors, _, _) = s.aids();
        assert_eq!(status & 2, 0, "{p:?}: lock lost at BER 1e-4");
        let delay = s.fiber().delay_bits();
        // TX bit indices of what the receiver saw between t0 and t1.
        let at = |t: u64| (t * 20).saturating_sub(delay);
        let margin = 20 * 16;
        let flips = |a: u64, b: u64| {
            s.fiber()
                .error_log()
                .iter()
                .filter(|&&i| i >= a && i < b)
                .count() as u64
        };
        let inner = flips(at(t0) + margin, at(t1) - margin);
        let outer = flips(at(t0).saturating_sub(margin), at(t1) + margin);
        println!(
            "{p:?}: {bits} bits, {errors} errors (fiber flipped {inner}..={outer} in the window)"
        );
        assert!(
            (inner..=outer).contains(&errors),
            "{p:?}: {errors} errors counted, the fiber flipped {inner}..={outer}"
        );
        let span = 20 * (t1 - t0);
        assert!(
            bits <= span && bits + 2 * margin >= span,
            "{p:?}: {bits} bits counted over {span} line bits"
        );
        assert!(errors > 150, "{p:?}: too few errors to mean anything");
    }
}

/// A clean fiber: no errors, the lock never lost; the loop's own words
/// (idles) are no pattern to lock to.
#[test]
fn prbs_clean_and_mismatched() {
    let mut s = sim(0.0, 7);
    let on = prbs_ctrl::pack(source::PRBS, Prbs::Prbs15, true);
    s.set_aids(on, true);
    let lap = s.fiber().delay_words() as u64 + 200;
    run_until_locked(&mut s, 4 * lap);
    s.set_aids(on, true);
    s.run(50_000);
    let (status, bits, errors, _, _) = s.aids();
    assert_eq!((status, errors), (1, 0));
    assert!(bits > 900_000, "{bits}");
    // Back to the loop's words (idles, nothing filled): the checker
    // finds no pattern in them.
    let loop_words = prbs_ctrl::pack(source::LOOP, Prbs::Prbs31, true);
    s.set_aids(loop_words, true);
    s.run(4 * lap);
    let (status, bits, _, _, _) = s.aids();
    assert_eq!(status & 1, 0, "locked to the loop's idle words");
    assert_eq!(bits, 0);
}

/// The meters read the word clocks: 125,000 kHz, both.
#[test]
fn meters_read_the_word_clocks() {
    let mut s = sim(0.0, 1);
    // Nothing before a full window: the first window end only starts the
    // count.
    s.run(125_000 + 200);
    let (_, _, _, tx, rx) = s.aids();
    assert_eq!(
        (tx, rx),
        (0, 0),
        "a meter read before its first full window"
    );
    // Two 1 ms windows (125,000 word clocks each) and the crossing.
    s.run(125_000);
    let want = (fiberloop_spec::line::WORD_CLOCK_HZ / 1000) as u32;
    for _ in 0..4 {
        let (_, _, _, tx, rx) = s.aids();
        println!("meters: TX {tx} kHz, RX {rx} kHz at clock {}", s.clocks());
        assert!(tx.abs_diff(want) <= 1, "TX meter {tx} kHz");
        assert!(rx.abs_diff(want) <= 1, "RX meter {rx} kHz");
        s.run(77_777);
    }
}

/// Loopback: once the received words go back out, the line carries the
/// same bits lap after lap, the lap being the fiber's delay plus a whole
/// number of words of the crossing FIFO.
#[test]
fn loopback_sends_the_received_words_back() {
    let mut s = sim(0.0, 3);
    s.set_aids(prbs_ctrl::pack(source::PRBS, Prbs::Prbs31, false), false);
    let lap = s.fiber().delay_words() as u64 + 200;
    s.run(2 * lap);
    s.set_aids(
        prbs_ctrl::pack(source::LOOPBACK, Prbs::Prbs31, false),
        false,
    );
    s.run(2 * lap);
    s.log_tx();
    s.run(2 * lap);
    let (_, words) = s.tx_log();
    let bits: Vec<bool> = words
        .iter()
        .flat_map(|w| (0..20).map(move |i| (w >> i) & 1 == 1))
        .collect();
    let delay = s.fiber().delay_bits() as usize;
    let periodic = |p: usize| (0..bits.len() - p).all(|i| bits[i] == bits[i + p]);
    let fifo_words: Vec<usize> = (0..16).filter(|&l| periodic(delay + 20 * l)).collect();
    println!("loopback: lap = fiber {delay} bits + {fifo_words:?} FIFO words");
    assert_eq!(fifo_words.len(), 1, "{fifo_words:?}");
    // And the bits are not trivially periodic (all zeros, say).
    assert!(!periodic(20));
}

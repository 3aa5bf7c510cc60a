//! The simulated Versa (`VersaSim`: the Versa top with the transceiver's
//! model, the board's bring-up timing) through its UART: it brings its link
//! up by itself, reports the bring-up and the clock meters in the register
//! map, runs the loop, and after a 1 ms cut re-locks by itself, reports the
//! loop lost, and after a refill reads every slot back bit exact.

mod common;
use common::Host;
use fiberloop_sim::board_sim::SimTop;
use fiberloop_spec::frame::flags;
use fiberloop_spec::phy::{init_state, phy_status as f};
use fiberloop_spec::regs::*;

fn payload(slot: u32, round: u32) -> Vec<u32> {
    (0..SLOT_WORDS)
        .map(|w| (slot.wrapping_mul(0x9E37_79B9) ^ w.wrapping_mul(0x85EB_CA6B)).wrapping_add(round))
        .collect()
}

fn write_slot(h: &mut Host, slot: u32, data: &[u32]) {
    let mut burst = data.to_vec();
    burst.extend([slot, 1]);
    h.write_retry(SLOT_WR_BUF, &burst);
}

/// Reads a slot: (flags, payload).
fn read_slot(h: &mut Host, slot: u32) -> (u32, Vec<u32>) {
    h.write_retry(SLOT_RD_SLOT, &[slot, 1]);
    let d = h.read_retry(SLOT_RD_BUF, SLOT_WORDS as usize + 4);
    (
        d[SLOT_WORDS as usize + 2],
        d[..SLOT_WORDS as usize].to_vec(),
    )
}

fn phy(h: &mut Host) -> Vec<u32> {
    h.read(PHY_STATUS, PHY_WORDS as usize)
}

#[test]
fn versa_brings_its_link_up_and_reports_it() {
    let mut h = Host::on(1.0, SimTop::versa());
    assert_eq!(h.read(TOP, 1)[0], top::VERSA);
    let p = phy(&mut h);
    let want = init_state::READY
        | f::TX_PLL_LOCKED
        | f::CDR_LOCKED
        | f::TX_READY
        | f::RX_READY
        | f::ALIGNED;
    assert_eq!(p[0], want, "PHY_STATUS 0x{:x}", p[0]);
    assert_eq!(&p[1..4], &[0, 0, 0], "restarts, LOS events, CDR retries");
    // The meters: a full 1 ms window after power-up.
    h.sim.run(260_000);
    let p = phy(&mut h);
    let khz = (fiberloop_spec::line::WORD_CLOCK_HZ / 1000) as u32;
    assert!(p[4].abs_diff(khz) <= 1 && p[5].abs_diff(khz) <= 1, "{p:?}");
    // LEDs: link up, CDR locked, no loop yet.
    let leds = h.sim.leds();
    assert_eq!(leds & 0b1111, 0b0011, "LEDs 0x{leds:02x}");
    println!(
        "Versa up after {} word clocks; LEDs 0x{leds:02x}",
        h.sim.clocks()
    );
}

#[test]
fn versa_survives_a_cut_and_refills() {
    let mut h = Host::on(1.0, SimTop::versa());
    let slots = h.fill() as u32;
    assert!(slots >= 3, "{slots} slots");
    for s in 0..slots {
        write_slot(&mut h, s, &payload(s, 0));
    }
    for s in 0..slots {
        let (fl, d) = read_slot(&mut h, s);
        assert_eq!(d, payload(s, 0), "slot {s} before the cut");
        assert_eq!(fl as u8 & flags::BAD, 0);
    }
    assert_eq!(h.sim.leds() & 0b0100, 0b0100, "loop-full LED");
    // A 1 ms cut.
    let at = h.sim.clocks() + 100;
    h.sim.schedule_cut(at, 125_000);
    h.sim.run(125_000 + 100_000);
    let p = phy(&mut h);
    let st = h.read(LOOP_STATUS, 1)[0];
    println!(
        "after the cut: PHY_STATUS 0x{:x}, restarts {}, LOS events {}, retries {}, loop 0x{st:x}",
        p[0], p[1], p[2], p[3]
    );
    assert!(p[2] >= 1 || p[1] >= 1, "the cut was not seen: {p:?}");
    // Re-locked by itself.
    let mut up = false;
    for _ in 0..50 {
        if phy(&mut h)[0] & f::STATE_MASK == init_state::READY && h.sim.link_up() {
            up = true;
            break;
        }
        h.sim.run(20_000);
    }
    assert!(up, "the link did not come back: {:?}", phy(&mut h));
    let st = h.read(LOOP_STATUS, 1)[0];
    assert!(
        st & status_bits::LOOP_LOST != 0
            || st & status_bits::MODE_MASK != status_bits::MODE_RUNNING,
        "the loop's loss is not reported: 0x{st:x}"
    );
    // The host refills: fill, rewrite, read back bit exact.
    let again = h.fill() as u32;
    assert_eq!(again, slots, "the loop came back with another length");
    for s in 0..slots {
        write_slot(&mut h, s, &payload(s, 1));
    }
    for s in 0..slots {
        let (fl, d) = read_slot(&mut h, s);
        assert_eq!(d, payload(s, 1), "slot {s} after the refill");
        assert_eq!(fl as u8 & flags::BAD, 0);
    }
}

/// The loop on the Versa keeps its data through 2,000 laps of a 1 km
/// fiber at a bit error ratio of 1e-4: every slot reads back bit exact,
/// none marked bad, the corrections counted.
#[test]
fn versa_loop_survives_ber_1e_4() {
    let mut h = Host::on(1.0, SimTop::versa());
    let slots = h.fill() as u32;
    for s in 0..slots {
        write_slot(&mut h, s, &payload(s, 7));
    }
    h.sim.fiber_mut().set_ber(1e-4).unwrap();
    let laps0 = h.counter(counter::LAPS);
    let lap = h.counter(counter::DELAY_CLOCKS);
    let mut laps = 0;
    while laps < 2_000 {
        h.sim.run(200 * lap);
        laps = h.counter(counter::LAPS) - laps0;
    }
    let corrected = h.counter(counter::CORRECTED_BYTES);
    let bad = h.counter(counter::UNCORRECTABLE);
    println!("Versa at BER 1e-4: {laps} laps, {corrected} bytes corrected, {bad} uncorrectable");
    assert!(corrected > 1000, "{corrected}");
    assert_eq!(bad, 0);
    h.sim.fiber_mut().set_ber(0.0).unwrap();
    for s in 0..slots {
        let (fl, d) = read_slot(&mut h, s);
        assert_eq!(d, payload(s, 7), "slot {s}");
        assert_eq!(fl as u8 & flags::BAD, 0, "slot {s} flags 0x{fl:x}");
    }
}

/// A CDR that takes 40 times longer to lock (1.6 ms) and a TX PLL 10 times
/// slower: the bring-up waits for them, with no retry and no restart.
#[test]
fn versa_waits_for_slow_locks() {
    use fiberloop_gateware::vendor::dcua_model::DcuaModelConfig;
    let slow = SimTop::Versa(DcuaModelConfig {
        tx_lock_clocks: 20_000,
        cdr_lock_clocks: 200_000,
        seed: 0x0B0E,
    });
    let mut h = Host::on(1.0, slow);
    let up = h.sim.clocks();
    let p = phy(&mut h);
    println!("slow locks: link up after {up} word clocks; {p:?}");
    assert!(
        up > 200_000,
        "up after {up} clocks: the CDR's delay was not waited for"
    );
    assert_eq!(p[0] & f::STATE_MASK, init_state::READY);
    assert_eq!(&p[1..4], &[0, 0, 0], "restarts, LOS events, CDR retries");
}

/// Light that flaps: five short cuts, each before the lock has been held
/// for the bring-up's hold time. The RX lane is not released in between
/// (the link never reports up), each loss of signal is counted, and once
/// the light stays the link comes up by itself.
#[test]
fn versa_holds_the_rx_lane_while_the_light_flaps() {
    let mut h = Host::on(1.0, SimTop::versa());
    let before = phy(&mut h);
    // The hold is 62,500 clk100 clocks, 78,125 word clocks: cut every
    // 40,000 for 2,000.
    let cuts = 5;
    let mut ready_between = 0;
    for _ in 0..cuts {
        let at = h.sim.clocks() + 10;
        h.sim.schedule_cut(at, 2_000);
        for _ in 0..40 {
            h.sim.run(1_000);
            if h.sim.link_up() {
                ready_between += 1;
            }
        }
    }
    let p = phy(&mut h);
    println!(
        "flapping: before {before:?}, after the cuts {p:?}, link up in {ready_between} samples"
    );
    assert!(
        ready_between <= 3,
        "the link came up while the light flapped"
    );
    assert_eq!(p[2] - before[2], cuts, "LOS events");
    let mut up_after = None;
    for k in 0..30 {
        h.sim.run(10_000);
        if h.sim.link_up() {
            up_after = Some(k);
            break;
        }
    }
    let p = phy(&mut h);
    assert!(up_after.is_some(), "the link did not come back: {p:?}");
    assert_eq!(p[0] & f::STATE_MASK, init_state::READY);
}

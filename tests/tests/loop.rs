//! The recirculating loop end to end: the gateware of the loop core in
//! Verilator, its SERDES words sent through the fiber-spool model.

use fiberloop_gateware::loopctl::controller::LATENCY;
use fiberloop_gateware::loopctl::core::LoopCore;
use fiberloop_gateware::model::{crc32, rs};
use fiberloop_gateware::sim::fiber::FiberConfig;
use fiberloop_gateware::sim::loop_sim::{LoopSim, LoopSimError};
use fiberloop_spec::frame::{flags, offset, Header, FRAME_WORDS, PAYLOAD_BYTES};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn payloads(n: u64, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0..PAYLOAD_BYTES).map(|_| rng.gen()).collect())
        .collect()
}

fn sim(km: f64) -> LoopSim {
    LoopSim::new(FiberConfig {
        length_m: km * 1000.0,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_1km_loop_fills_and_every_slot_round_trips() {
    let mut s = sim(1.0);
    let st = s.fill(1_000_000).unwrap();
    assert_eq!(st.mode, 4);
    let data = payloads(st.slots, 1);
    for (slot, p) in data.iter().enumerate() {
        s.write_slot(slot as u32, p).unwrap();
    }
    // Several laps later, every slot is still there, bit for bit.
    s.run(5 * (st.delay_clocks + LATENCY));
    for (slot, p) in data.iter().enumerate().rev() {
        let r = s.read_slot(slot as u32).unwrap();
        assert_eq!(r.flags, flags::VALID, "slot {slot}");
        assert_eq!(&r.payload, p, "slot {slot}");
    }
    let st = s.stats();
    assert_eq!(
        (st.uncorrectable, st.crc_failures, st.corrected_bytes),
        (0, 0, 0)
    );
    assert!(st.laps >= 5, "{st:?}");
}

#[test]
fn a_10km_loop_measures_its_delay_holds_the_arithmetic_and_survives_a_cut() {
    let mut s = sim(10.0);
    let st = s.fill(1_000_000).unwrap();
    // Measured delay = the fiber's (with the transceivers) plus the
    // gateware's own latency; word alignment of the received bit stream adds
    // between 0 and 1 word. (The requirement is one frame, 128 words.)
    let model = s.fiber().delay_words() + LoopCore::GATEWARE_LATENCY as f64;
    let measured = st.delay_clocks as f64;
    assert!(
        (0.0..=1.0).contains(&(measured - model)),
        "measured {measured} clocks, model {model}"
    );
    // Frames in flight = ring period / frame length.
    let ring = st.delay_clocks + LATENCY;
    assert_eq!(st.slots, ring / FRAME_WORDS as u64);
    assert!(st.slots >= 50, "{st:?}");

    let data = payloads(st.slots, 2);
    for (slot, p) in data.iter().enumerate() {
        s.write_slot(slot as u32, p).unwrap();
    }
    // Cut the fiber for 1 ms (125,000 word clocks).
    let before = s.stats();
    s.fiber_mut().cut(125_000);
    s.run(125_000 + 2 * ring);
    let after = s.stats();
    assert!(after.sync_losses > before.sync_losses, "{after:?}");
    // Nothing came round during the cut: the data in flight is gone.
    let lost = after.frames - before.frames;
    assert!(
        lost < 2 * st.slots,
        "{lost} frames after a 1 ms cut: {after:?}"
    );
    match s.read_slot(0) {
        Err(LoopSimError::Timeout(..)) => {}
        other => panic!("slot 0 should be gone, got {other:?}"),
    }
    // The host refills: fill, then write every slot again.
    let st2 = s.fill(1_000_000).unwrap();
    assert_eq!(st2.slots, st.slots);
    assert!((st2.delay_clocks as i64 - st.delay_clocks as i64).abs() <= 1);
    for (slot, p) in data.iter().enumerate() {
        s.write_slot(slot as u32, p).unwrap();
    }
    for (slot, p) in data.iter().enumerate() {
        let r = s.read_slot(slot as u32).unwrap();
        assert_eq!(r.flags, flags::VALID, "slot {slot}");
        assert_eq!(&r.payload, p, "slot {slot}");
    }
}

#[test]
fn captured_frames_are_codewords_an_outside_tool_can_check() {
    let mut s = sim(1.0);
    let st = s.fill(1_000_000).unwrap();
    let data = payloads(st.slots, 3);
    for (slot, p) in data.iter().enumerate() {
        s.write_slot(slot as u32, p).unwrap();
    }
    s.run(2 * (st.delay_clocks + LATENCY));
    let frames = s.capture(3 * st.slots as usize).unwrap();
    let mut slots = vec![];
    for f in &frames {
        // RS(255,239): a clean codeword has zero syndromes.
        assert_eq!(rs::syndromes(f), [0; 16]);
        // CRC-32 (zlib) of header + payload, stored least significant byte first.
        let crc = u32::from_le_bytes(f[offset::CRC..offset::CRC + 4].try_into().unwrap());
        assert_eq!(crc32::checksum(&f[..offset::CRC]), crc);
        let h = Header::from_bytes(f).unwrap();
        assert_eq!(h.flags, flags::VALID);
        assert_eq!(&f[offset::PAYLOAD..offset::CRC], &data[h.slot as usize][..]);
        slots.push(h.slot as u64);
    }
    for w in slots.windows(2) {
        assert_eq!(w[1], (w[0] + 1) % st.slots, "{slots:?}");
    }
}

#[test]
fn a_1km_loop_holds_its_data_for_1000_laps_at_ber_1e_4() {
    let mut s = LoopSim::new(FiberConfig {
        length_m: 1000.0,
        ber: 1e-4,
        seed: 2026,
        ..Default::default()
    })
    .unwrap();
    let st = s.fill(1_000_000).unwrap();
    let data = payloads(st.slots, 4);
    for (slot, p) in data.iter().enumerate() {
        s.write_slot(slot as u32, p).unwrap();
    }
    let ring = st.delay_clocks + LATENCY;
    s.run(1000 * ring);
    let after = s.stats();
    assert!(after.laps >= 1000, "{after:?}");
    assert_eq!(after.uncorrectable, 0, "{after:?}");
    assert_eq!(after.crc_failures, 0, "{after:?}");
    // 2,560 line bits per frame at 1e-4: about a quarter of the frames carry
    // an error, and the decoder fixed them.
    assert!(after.corrected_bytes > 1000, "{after:?}");
    for (slot, p) in data.iter().enumerate() {
        let r = s.read_slot(slot as u32).unwrap();
        assert_eq!(r.flags, flags::VALID, "slot {slot}");
        assert_eq!(&r.payload, p, "slot {slot}");
    }
    eprintln!("after 1000 laps at BER 1e-4: {:?}", s.stats());
}

//! The recirculating loop end to end: the gateware of the loop core in
//! Verilator, its SERDES words sent through the fiber-spool model.

use fiberloop_gateware::loopctl::controller::LATENCY;
use fiberloop_gateware::model::code8b10b::Decoder;
use fiberloop_gateware::model::{crc32, rs};
use fiberloop_gateware::top::loop_core::LoopCore;
use fiberloop_sim::fiber::FiberConfig;
use fiberloop_sim::loop_sim::{LoopSim, LoopSimError};
use fiberloop_spec::frame::CORRECTABLE_BYTES;
use fiberloop_spec::frame::{flags, offset, Header, FRAME_WORDS, PAYLOAD_BYTES};
use fiberloop_spec::line::K27_7;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

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
    assert!(!before.loop_lost, "{before:?}");
    assert!(after.loop_lost, "{after:?}");
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
    assert!(!st2.loop_lost, "{st2:?}");
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

/// What each transmitted symbol was: the classes of the TX symbol stream,
/// worked out by decoding the TX words the loop sent (the fiber's error log
/// names TX bits, so this tells what every error hit).
#[derive(Default)]
struct TxSymbols {
    decoder: Decoder,
    /// Fiber word index of the first classified word.
    first: u64,
    /// Words classified so far.
    done: usize,
    /// Position in the frame of the next word, if inside one.
    frame_word: Option<usize>,
    /// Per symbol: None outside frames (idle), Some(None) the start-of-frame
    /// symbol, Some(Some(b)) codeword byte b of the frame that starts at the
    /// given word.
    class: Vec<Option<(u64, Option<usize>)>>,
    /// Per symbol: the 10-bit code sent.
    code: Vec<u16>,
}

impl TxSymbols {
    /// Classifies the words logged since the last call.
    fn update(&mut self, s: &LoopSim) {
        let (first, log) = s.tx_log();
        if self.done == 0 {
            self.first = first;
        }
        for (i, &w) in log.iter().enumerate().skip(self.done) {
            let n = first + i as u64;
            for lane in 0..2 {
                let code = (w >> (10 * lane)) as u16 & 0x3FF;
                self.code.push(code);
                let d = self.decoder.decode(code);
                if lane == 0 && d.control && d.byte == K27_7 {
                    self.frame_word = Some(0);
                }
                let c = match self.frame_word {
                    None => None,
                    Some(0) if lane == 0 => Some((n, None)),
                    Some(fw) => Some((n - fw as u64, Some(2 * fw + lane - 1))),
                };
                self.class.push(c);
            }
            self.frame_word = match self.frame_word {
                Some(fw) if fw + 1 < FRAME_WORDS => Some(fw + 1),
                _ => None,
            };
        }
        self.done = log.len();
    }

    /// The class of the symbol holding TX bit `bit` (which must be logged).
    fn of_bit(&self, bit: u64) -> Option<(u64, Option<usize>)> {
        let sym = bit / 10 - 2 * self.first;
        self.class[sym as usize]
    }

    /// The byte the receiver makes of TX symbol `sym` with the bits of
    /// `flips` inverted: a code error decodes as 0x00 and a control symbol in
    /// a data position is taken as 0x00 (as the decoder and frame sync do),
    /// a disparity error keeps its byte.
    fn received_byte(&self, sym: u64, flips: u16) -> u8 {
        let d = Decoder::default().decode(self.code[sym as usize] ^ flips);
        if d.control || d.code_error {
            0
        } else {
            d.byte
        }
    }

    /// Codeword bytes received wrong per frame (by its start word), SOF
    /// symbols hit, idle symbols hit, for these TX bit errors.
    fn tally(&self, bits: &[u64]) -> (Vec<(u64, usize)>, usize, usize) {
        let mut flips = std::collections::BTreeMap::<u64, u16>::new();
        for &b in bits {
            *flips.entry(b / 10 - 2 * self.first).or_default() ^= 1 << (b % 10);
        }
        let mut bytes = BTreeSet::new();
        let (mut sofs, mut idles) = (BTreeSet::new(), BTreeSet::new());
        for (&sym, &f) in &flips {
            let sent = self.received_byte(sym, 0);
            match self.class[sym as usize] {
                Some((fr, Some(byte))) => {
                    if f != 0 && self.received_byte(sym, f) != sent {
                        bytes.insert((fr, byte));
                    }
                }
                Some((fr, None)) => {
                    sofs.insert(fr);
                }
                None => {
                    idles.insert(sym);
                }
            }
        }
        let mut per_frame: Vec<(u64, usize)> = vec![];
        for (f, _) in bytes {
            match per_frame.last_mut() {
                Some((g, n)) if *g == f => *n += 1,
                _ => per_frame.push((f, 1)),
            }
        }
        (per_frame, sofs.len(), idles.len())
    }
}

#[test]
fn a_1km_loop_holds_its_data_for_10000_laps_at_ber_1e_4_and_counts_every_corrected_byte() {
    let mut s = sim(1.0);
    let st = s.fill(1_000_000).unwrap();
    let ring = st.delay_clocks + LATENCY;
    let data = payloads(st.slots, 4);
    for (slot, p) in data.iter().enumerate() {
        s.write_slot(slot as u32, p).unwrap();
    }
    // Log the TX words from one lap before the errors start, so that every
    // bit an error can hit is in the log.
    s.log_tx();
    s.run(ring);
    let before = s.stats();
    s.fiber_mut().log_errors();
    s.fiber_mut().set_ber(1e-4).unwrap();
    s.run(10_000 * ring);
    s.fiber_mut().set_ber(0.0).unwrap();
    // Every frame hit comes back and is counted.
    s.run(2 * ring);
    let after = s.stats();
    let mut tx = TxSymbols::default();
    tx.update(&s);
    let (per_frame, sofs, idles) = tx.tally(s.fiber().error_log());
    let injected: usize = per_frame.iter().map(|f| f.1).sum();
    let worst = per_frame.iter().map(|f| f.1).max().unwrap_or(0);
    eprintln!(
        "10,000 laps at BER 1e-4: {} bit errors; {injected} codeword bytes hit in {} frames \
         (worst {worst}), {sofs} start-of-frame and {idles} idle symbols hit; gateware: {:?}",
        s.fiber().error_log().len(),
        per_frame.len(),
        after
    );
    assert!(after.laps - before.laps >= 10_000, "{after:?}");
    assert!(worst <= CORRECTABLE_BYTES);
    assert_eq!(after.uncorrectable, 0, "{after:?}");
    assert_eq!(after.crc_failures, 0, "{after:?}");
    // The corrected-byte counter agrees with the errors the model injected.
    assert_eq!(
        (after.corrected_bytes - before.corrected_bytes) as usize,
        injected,
        "{after:?}"
    );
    assert!(injected > 10_000, "{injected}");
    // Every hit start-of-frame symbol was repaired (more starts are
    // repaired: an idle symbol hit just before a SOF leaves the decoder at
    // the wrong running disparity, and the right K27.7 comes with a
    // disparity error), and no frame was lost: one per slot per lap.
    assert!(after.sof_repairs - before.sof_repairs >= sofs as u64);
    assert!(
        after.frames.abs_diff(after.laps * st.slots) <= st.slots,
        "{after:?}"
    );
    for (slot, p) in data.iter().enumerate() {
        let r = s.read_slot(slot as u32).unwrap();
        assert_eq!(r.flags, flags::VALID, "slot {slot}");
        assert_eq!(&r.payload, p, "slot {slot}");
    }
}

/// Aims bursts of `len` bits at random places inside codewords in flight;
/// returns how many were corrected and how many flagged.
fn burst_rounds(s: &mut LoopSim, data: &[Vec<u8>], lens: &[u32], seed: u64) -> (usize, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let st = s.stats();
    let ring = st.delay_clocks + LATENCY;
    let mut tx = TxSymbols::default();
    s.log_tx();
    s.fiber_mut().log_errors();
    s.run(ring);
    let (mut corrected, mut flagged) = (0, 0);
    for (round, &len) in lens.iter().enumerate() {
        s.run(rng.gen_range(0..FRAME_WORDS as u64));
        tx.update(s);
        // The latest frame whose codeword has not reached the receiver.
        let in_flight = s.fiber().next_rx_tx_bit();
        let (first, log) = s.tx_log();
        let start = (0..log.len().saturating_sub(FRAME_WORDS))
            .rev()
            .map(|i| first + i as u64)
            .find(|&n| tx.of_bit(20 * n) == Some((n, None)) && 20 * n + 10 >= in_flight)
            .expect("a whole frame in flight");
        // Codeword bits: from word 0 lane 1 to the end of word 127.
        let lo = 20 * start + 10;
        let hi = 20 * (start + FRAME_WORDS as u64);
        let at = rng.gen_range(lo..=hi - len as u64);
        let log_before = s.fiber().error_log().len();
        let b = s.stats();
        s.fiber_mut().plan_burst(at, len).unwrap();
        s.run(ring + 200);
        let a = s.stats();
        let (per_frame, _, _) = tx.tally(&s.fiber().error_log()[log_before..]);
        assert!(per_frame.len() <= 1, "{per_frame:?}");
        let hit = per_frame.first().map_or(0, |f| f.1);
        // The slot of the frame hit, from its header in the TX log.
        let (first, log) = s.tx_log();
        let w = log[(start - first) as usize];
        let mut dec = Decoder::default();
        dec.decode(w as u16 & 0x3FF);
        let hi_byte = dec.decode((w >> 10) as u16 & 0x3FF).byte;
        let lo_byte = dec
            .decode(log[(start - first + 1) as usize] as u16 & 0x3FF)
            .byte;
        let slot = u16::from_be_bytes([hi_byte, lo_byte]) as usize;
        let r = s.read_slot(slot as u32).unwrap();
        if hit <= CORRECTABLE_BYTES {
            assert_eq!(
                (a.corrected_bytes - b.corrected_bytes) as usize,
                hit,
                "round {round}: {len}-bit burst, {hit} bytes"
            );
            assert_eq!(
                a.uncorrectable + a.crc_failures,
                b.uncorrectable + b.crc_failures
            );
            assert_eq!(r.flags, flags::VALID, "round {round}");
            assert_eq!(&r.payload, &data[slot], "round {round}");
            corrected += 1;
        } else {
            // Flagged, counted, never passed on as good.
            assert_eq!(
                a.uncorrectable + a.crc_failures,
                b.uncorrectable + b.crc_failures + 1,
                "round {round}: {len}-bit burst, {hit} bytes"
            );
            assert_eq!(r.flags, flags::BAD, "round {round}");
            flagged += 1;
            // The host refills the slot from its copy.
            s.write_slot(slot as u32, &data[slot]).unwrap();
        }
    }
    (corrected, flagged)
}

#[test]
fn bursts_up_to_64_bits_in_a_codeword_are_corrected_and_longer_ones_flagged() {
    let mut s = sim(1.0);
    let st = s.fill(1_000_000).unwrap();
    let data = payloads(st.slots, 5);
    for (slot, p) in data.iter().enumerate() {
        s.write_slot(slot as u32, p).unwrap();
    }
    let short: Vec<u32> = (1..=64).chain([64; 40]).collect();
    let (c, f) = burst_rounds(&mut s, &data, &short, 6);
    assert_eq!((c, f), (short.len(), 0));
    let long: Vec<u32> = (0..60).map(|i| 100 + 7 * i).collect();
    let (c, f) = burst_rounds(&mut s, &data, &long, 7);
    eprintln!("bursts of 100..513 bits: {c} corrected, {f} flagged");
    assert!(f >= 55, "{c} corrected, {f} flagged");
    let st = s.stats();
    eprintln!("after the bursts: {st:?}");
    for (slot, p) in data.iter().enumerate() {
        let r = s.read_slot(slot as u32).unwrap();
        assert_eq!(r.flags, flags::VALID, "slot {slot}");
        assert_eq!(&r.payload, p, "slot {slot}");
    }
}

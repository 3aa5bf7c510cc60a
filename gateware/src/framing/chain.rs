//! Test-only: the framing blocks chained as in the loop, all Verilated:
//! `FrameCrc` (generator) -> `FrameTx` -> 8b/10b encode, line, decode (the
//! reference models) -> `FrameSync` -> `FrameCrc` (checker).

use crate::framing::crc32::FrameCrc;
use crate::framing::frame_sync::FrameSync;
use crate::framing::frame_tx::FrameTx;
use crate::framing::testbench::{self, Event};
use crate::model::code8b10b::{Decoder, Encoder};
use crate::model::crc32;
use fiberloop_harness::verilator::{Model, Port};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::Block;

fn model_of<B: Block>(mut uut: B) -> Model {
    uut.connect_all();
    Model::of_block(&uut).unwrap()
}

/// A Verilated model with its ports looked up by name.
struct Stage {
    m: Model,
    clock: Port,
    ins: Vec<Port>,
    outs: Vec<Port>,
}

impl Stage {
    fn new(m: Model, ins: &[&str], outs: &[&str]) -> Self {
        Stage {
            clock: m.p("clock"),
            ins: ins.iter().map(|n| m.p(n)).collect(),
            outs: outs.iter().map(|n| m.p(n)).collect(),
            m,
        }
    }

    /// Sets the inputs and returns the outputs of this clock (before the edge).
    fn sample(&mut self, inputs: &[u64]) -> Vec<u64> {
        self.m.set(self.clock, 0);
        for (p, v) in self.ins.iter().zip(inputs) {
            self.m.set(*p, *v);
        }
        self.m.eval();
        self.outs.iter().map(|p| self.m.get(*p)).collect()
    }

    fn edge(&mut self) {
        self.m.set(self.clock, 1);
        self.m.eval();
    }
}

/// Runs the chain over `stream` (data, valid, start). `corrupt(clock, lane,
/// code)` may alter each 10-bit code-group on the line. Returns the frames
/// seen at the end: (codeword, crc_ok).
fn run_chain(
    stream: &[(u16, bool, bool)],
    mut corrupt: impl FnMut(usize, usize, u16) -> u16,
) -> Vec<(Vec<u8>, bool)> {
    let mut gen = Stage::new(
        model_of(FrameCrc::default()),
        &["data_in", "valid_in", "start_in", "insert"],
        &["data_out", "valid_out", "start_out"],
    );
    let mut tx = Stage::new(
        model_of(FrameTx::default()),
        &["data_in", "valid_in", "start_in"],
        &["data_out", "k_out"],
    );
    let mut sync = Stage::new(
        model_of(FrameSync::default()),
        &["data_in", "k_in", "err_in", "valid_in"],
        &["data_out", "valid_out", "start_out"],
    );
    let mut chk = Stage::new(
        model_of(FrameCrc::default()),
        &["data_in", "valid_in", "start_in", "insert"],
        &[
            "data_out",
            "valid_out",
            "start_out",
            "crc_ok_out",
            "crc_done_out",
        ],
    );
    let mut enc = [Encoder::new(); 2];
    let mut dec = [Decoder::new(); 2];
    let mut frames: Vec<(Vec<u8>, bool)> = vec![];
    let mut cur: Option<(Vec<u8>, Option<bool>)> = None;
    // Flush the pipeline with idle clocks at the end.
    let tail = std::iter::repeat_n((0u16, false, false), 8);
    for (t, (data, valid, start)) in stream.iter().copied().chain(tail).enumerate() {
        // Every stage's outputs of this clock, each feeding the next.
        let g = gen.sample(&[data as u64, valid as u64, start as u64, 1]);
        let l = tx.sample(&[g[0], g[1], g[2]]);
        // The line: 8b/10b encode both lanes, maybe corrupt, decode.
        let (mut d, mut k, mut e) = (0u64, 0u64, 0u64);
        for lane in 0..2 {
            let byte = (l[0] >> (8 * lane)) as u8;
            let control = (l[1] >> lane) & 1 != 0;
            let code = enc[lane]
                .encode(byte, control)
                .expect("FrameTx sent a bad K");
            let code = corrupt(t, lane, code);
            let r = dec[lane].decode(code);
            d |= (r.byte as u64) << (8 * lane);
            k |= (r.control as u64) << lane;
            e |= ((r.code_error || r.disparity_error) as u64) << lane;
        }
        let s = sync.sample(&[d, k, e, 1]);
        let c = chk.sample(&[s[0], s[1], s[2], 0]);
        if c[1] != 0 {
            if c[2] != 0 {
                cur = Some((vec![(c[0] >> 8) as u8], None));
            } else if let Some(f) = cur.as_mut() {
                f.0.extend_from_slice(&(c[0] as u16).to_le_bytes());
            }
        }
        if c[4] != 0 {
            cur.as_mut().expect("CRC strobe outside a frame").1 = Some(c[3] != 0);
        }
        if cur.as_ref().is_some_and(|f| f.0.len() == 255) {
            let (f, ok) = cur.take().unwrap();
            frames.push((f, ok.expect("frame without a CRC strobe")));
        }
        for st in [&mut gen, &mut tx, &mut sync, &mut chk] {
            st.edge();
        }
    }
    frames
}

/// Random frames numbered in their first two bytes (the slot field), with
/// garbage in the CRC words; returns the stream and the expected codewords
/// (CRC inserted).
/// A frame stream: (data, valid, start) per clock.
type Stream = Vec<(u16, bool, bool)>;

fn numbered_frames(rng: &mut ChaCha8Rng, n: usize) -> (Stream, Vec<Vec<u8>>) {
    let mut events = vec![];
    let mut expect = vec![];
    for i in 0..n {
        let mut cw = testbench::random_codeword(rng, false);
        cw[..2].copy_from_slice(&(i as u16).to_be_bytes());
        let mut want = cw.clone();
        want[235..239].copy_from_slice(&crc32::checksum(&cw[..235]).to_le_bytes());
        let gap = if rng.gen_bool(0.7) {
            0
        } else {
            testbench::random_gap(rng)
        };
        events.push(Event::Idle(gap));
        events.push(Event::Frame(cw));
        expect.push(want);
    }
    (testbench::frame_stream_with(&events, rng), expect)
}

#[test]
fn chain_delivers_every_frame_bit_exact_with_good_crc() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xC4A1_0001);
    let (stream, expect) = numbered_frames(&mut rng, 300);
    assert!(stream.len() > 38_000);
    let frames = run_chain(&stream, |_, _, code| code);
    assert_eq!(frames.len(), expect.len());
    for (n, ((cw, ok), want)) in frames.iter().zip(&expect).enumerate() {
        assert_eq!(cw, want, "frame {n}");
        assert!(ok, "frame {n}: CRC not ok");
        assert_eq!(
            crate::model::crc32::checksum(&cw[..235]),
            u32::from_le_bytes(cw[235..239].try_into().unwrap())
        );
    }
}

#[test]
fn chain_flags_every_corrupted_frame() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xC4A1_0002);
    let (stream, expect) = numbered_frames(&mut rng, 300);
    // Flip one to three bits of the line in about one frame in four.
    let mut hits = ChaCha8Rng::seed_from_u64(0xC4A1_0003);
    let frames = run_chain(&stream, |_, _, code| {
        if hits.gen_ratio(1, 1500) {
            let mut c = code;
            for _ in 0..hits.gen_range(1..=3) {
                c ^= 1 << hits.gen_range(0..10);
            }
            c
        } else {
            code
        }
    });
    let mut good = 0;
    let mut flagged = 0;
    for (cw, ok) in &frames {
        let slot = u16::from_be_bytes([cw[0], cw[1]]) as usize;
        // The CRC covers bytes 0..=234 and is bytes 235..=238; the RS parity
        // (239..) is not its business.
        let intact = expect.get(slot).is_some_and(|w| w[..239] == cw[..239]);
        if *ok {
            assert!(
                intact,
                "a frame with a good CRC differs from the one sent in bytes 0..=238"
            );
            good += 1;
        } else {
            assert!(!intact, "an intact frame was flagged");
            flagged += 1;
        }
    }
    println!(
        "chain with line errors: {} frames sent, {good} good, {flagged} flagged, {} lost",
        expect.len(),
        expect.len() - frames.len()
    );
    assert!(flagged > 20 && good > 150, "{good} good, {flagged} flagged");
}

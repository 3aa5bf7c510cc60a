//! The RS(255,239) decoder at line rate: syndromes, key equation, Chien and
//! Forney, correction of the delayed frame.

use super::rs_chien::{RsChienForney, CHIEN_DONE_LATENCY, CHIEN_ERROR_LATENCY};
use super::rs_key_equation::{RsKeyEquation, KEY_EQUATION_LATENCY};
use super::rs_syndrome::RsSyndrome;
use super::stream::{words_codeword, StreamWord};
use crate::model::rs;
use fiberloop_spec::frame::FRAME_WORDS;
use rust_hdl::prelude::*;
use std::collections::VecDeque;

/// Clock (counted from a frame's `start_in`) on which [`RsSyndrome`]
/// strobes the frame's syndromes.
const SYNDROME_DONE: usize = FRAME_WORDS;
/// Clock (from `start_in`) of the error word of frame word 0.
const ERROR_WORD0: usize = SYNDROME_DONE + KEY_EQUATION_LATENCY + CHIEN_ERROR_LATENCY;
/// Clock (from `start_in`) from which the frame's decision is on the Chien
/// block's outputs.
const DECISION: usize = SYNDROME_DONE + KEY_EQUATION_LATENCY + CHIEN_DONE_LATENCY;
/// Delay of the frame buffer: the frame's word 0 leaves it when its
/// decision is known.
const BUFFER_DELAY: usize = DECISION;
/// Delay of the error buffer: error words meet their frame words.
const ERROR_DELAY: usize = BUFFER_DELAY - ERROR_WORD0;

/// Latency of [`RsDecoder`]: clocks from `start_in` to `start_out` (and from
/// every input word to its output word) = 335.
pub const DECODER_LATENCY: usize = BUFFER_DELAY + 1;

const FRAME_BUFFER_BITS: usize = 9;
const ERROR_BUFFER_BITS: usize = 8;

const _: () = {
    assert!(BUFFER_DELAY < 1 << FRAME_BUFFER_BITS);
    assert!(ERROR_DELAY >= 3 && ERROR_DELAY < 1 << ERROR_BUFFER_BITS);
    // The next frame's decision (at DECISION + 128 or later) comes after the
    // frame's word 0 left the buffer and latched this one.
    assert!(BUFFER_DELAY >= DECISION && BUFFER_DELAY < DECISION + FRAME_WORDS);
};

/// RS(255,239) decoder on the frame stream, at one word per clock.
///
/// Pipeline, each stage busy less than one frame time, so frames may come
/// back to back (frame n+1's syndromes are accumulated while frame n's key
/// equation is solved and its Chien search runs, and frame n-1 leaves the
/// buffer corrected):
///
/// 1. [`RsSyndrome`]: the 16 syndromes, strobed 128 clocks after `start_in`;
/// 2. [`RsKeyEquation`]: inversionless Berlekamp-Massey and `Ω`, 74 clocks;
/// 3. [`RsChienForney`]: two positions per clock, error words in frame order
///    4..=131 clocks after its load, then the decision (`L <= 8` and roots
///    `= L`, as [`rs::decode`]);
/// 4. a frame buffer (a 512 x 18 RAM: data, valid, start of every clock,
///    idle words included, plus an output register) delays the stream by
///    334 clocks and an error buffer (256 x 16 RAM and register) delays the
///    error words by 128 so that both meet just after the decision is known. A correctable frame leaves with its
///    error words XORed in; an uncorrectable frame leaves unchanged.
///
/// * Latency: [`DECODER_LATENCY`] = 335 clocks from every input word
///   (`start_in` included) to its output word (`start_out`).
/// * Status: on the clock of `start_out`, `status_valid_out` is high and
///   `corrected_out` / `uncorrectable_out` describe that frame; they hold
///   until the next `start_out`.
/// * Throughput: one word per clock; frames back to back or with idle gaps
///   (no gaps inside a frame).
/// * Reset: none. For the first 335 clocks after configuration the output
///   is the buffers' initial contents (zero: `valid_out` low).
#[derive(LogicBlock)]
pub struct RsDecoder {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Input word, lane 0 in bits 7:0.
    pub data_in: Signal<In, Bits<16>>,
    /// The input word belongs to a frame.
    pub valid_in: Signal<In, Bit>,
    /// The input word is word 0 of a frame (with `valid_in`).
    pub start_in: Signal<In, Bit>,
    /// Output word: the input word 335 clocks earlier, corrected.
    pub data_out: Signal<Out, Bits<16>>,
    /// `valid_in` 335 clocks earlier.
    pub valid_out: Signal<Out, Bit>,
    /// `start_in` (with `valid_in`) 335 clocks earlier.
    pub start_out: Signal<Out, Bit>,
    /// Bytes corrected in the frame starting at `start_out` (0..=8).
    pub corrected_out: Signal<Out, Bits<4>>,
    /// The frame starting at `start_out` was uncorrectable and is passed
    /// through unchanged.
    pub uncorrectable_out: Signal<Out, Bit>,
    /// `corrected_out` and `uncorrectable_out` are new (equals `start_out`).
    pub status_valid_out: Signal<Out, Bit>,
    syndrome: RsSyndrome,
    key_equation: RsKeyEquation,
    chien: RsChienForney,
    frame_buffer: RAM<Bits<18>, FRAME_BUFFER_BITS>,
    error_buffer: RAM<Bits<16>, ERROR_BUFFER_BITS>,
    write_pointer: DFF<Bits<FRAME_BUFFER_BITS>>,
    error_pointer: DFF<Bits<ERROR_BUFFER_BITS>>,
    buffered_word: DFF<Bits<18>>,
    buffered_error: DFF<Bits<16>>,
    apply_frame: DFF<Bit>,
    out_data: DFF<Bits<16>>,
    out_valid: DFF<Bit>,
    out_start: DFF<Bit>,
    out_corrected: DFF<Bits<4>>,
    out_uncorrectable: DFF<Bit>,
    apply: Signal<Local, Bit>,
    delayed_start: Signal<Local, Bit>,
    frame_read_offset: Constant<Bits<FRAME_BUFFER_BITS>>,
    error_read_offset: Constant<Bits<ERROR_BUFFER_BITS>>,
    one9: Constant<Bits<FRAME_BUFFER_BITS>>,
    one8: Constant<Bits<ERROR_BUFFER_BITS>>,
}

impl Default for RsDecoder {
    fn default() -> Self {
        // The RAM reads one clock after the address and its output is
        // registered once more (the DP16KD's clock-to-out is too slow to
        // feed logic directly at 125 MHz), so the read pointer trails the
        // write pointer by delay - 2.
        let frame_offset = (1 << FRAME_BUFFER_BITS) - (BUFFER_DELAY - 2);
        let error_offset = (1 << ERROR_BUFFER_BITS) - (ERROR_DELAY - 2);
        Self {
            clock: Default::default(),
            data_in: Default::default(),
            valid_in: Default::default(),
            start_in: Default::default(),
            data_out: Default::default(),
            valid_out: Default::default(),
            start_out: Default::default(),
            corrected_out: Default::default(),
            uncorrectable_out: Default::default(),
            status_valid_out: Default::default(),
            syndrome: Default::default(),
            key_equation: Default::default(),
            chien: Default::default(),
            frame_buffer: Default::default(),
            error_buffer: Default::default(),
            write_pointer: Default::default(),
            error_pointer: Default::default(),
            buffered_word: Default::default(),
            buffered_error: Default::default(),
            apply_frame: Default::default(),
            out_data: Default::default(),
            out_valid: Default::default(),
            out_start: Default::default(),
            out_corrected: Default::default(),
            out_uncorrectable: Default::default(),
            apply: Default::default(),
            delayed_start: Default::default(),
            frame_read_offset: Constant::new((frame_offset as u64).into()),
            error_read_offset: Constant::new((error_offset as u64).into()),
            one9: Constant::new(1u64.into()),
            one8: Constant::new(1u64.into()),
        }
    }
}

impl Logic for RsDecoder {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            write_pointer,
            error_pointer,
            buffered_word,
            buffered_error,
            apply_frame,
            out_data,
            out_valid,
            out_start,
            out_corrected,
            out_uncorrectable
        );
        clock!(self, clock, syndrome, key_equation, chien);
        // Decoding pipeline.
        self.syndrome.data_in.next = self.data_in.val();
        self.syndrome.valid_in.next = self.valid_in.val();
        self.syndrome.start_in.next = self.start_in.val();
        self.key_equation.syndromes_in.next = self.syndrome.syndromes_out.val();
        self.key_equation.load_in.next = self.syndrome.done_out.val();
        self.chien.load_in.next = self.key_equation.done_out.val();
        self.chien.lambda_in.next = self.key_equation.lambda_out.val();
        self.chien.omega_in.next = self.key_equation.omega_out.val();
        self.chien.length_in.next = self.key_equation.length_out.val();
        // Frame buffer: every clock, idle words included.
        self.write_pointer.d.next = self.write_pointer.q.val() + self.one9.val();
        self.frame_buffer.write_clock.next = self.clock.val();
        self.frame_buffer.read_clock.next = self.clock.val();
        self.frame_buffer.write_enable.next = true;
        self.frame_buffer.write_address.next = self.write_pointer.q.val();
        self.frame_buffer.write_data.next = bit_cast::<18, 16>(self.data_in.val())
            | (bit_cast::<18, 1>(self.valid_in.val().into()) << 16)
            | (bit_cast::<18, 1>((self.start_in.val() & self.valid_in.val()).into()) << 17);
        self.frame_buffer.read_address.next =
            self.write_pointer.q.val() + self.frame_read_offset.val();
        // Error buffer.
        self.error_pointer.d.next = self.error_pointer.q.val() + self.one8.val();
        self.error_buffer.write_clock.next = self.clock.val();
        self.error_buffer.read_clock.next = self.clock.val();
        self.error_buffer.write_enable.next = true;
        self.error_buffer.write_address.next = self.error_pointer.q.val();
        self.error_buffer.write_data.next = self.chien.error_out.val();
        self.error_buffer.read_address.next =
            self.error_pointer.q.val() + self.error_read_offset.val();
        self.buffered_word.d.next = self.frame_buffer.read_data.val();
        self.buffered_error.d.next = self.error_buffer.read_data.val();
        // Output stage: correct the delayed frame if its decision allows.
        self.delayed_start.next = self.buffered_word.q.val().get_bit(17);
        self.apply.next = self.apply_frame.q.val();
        if self.delayed_start.val() {
            self.apply.next = !self.chien.uncorrectable_out.val();
            self.apply_frame.d.next = !self.chien.uncorrectable_out.val();
            self.out_corrected.d.next = self.chien.corrected_out.val();
            self.out_uncorrectable.d.next = self.chien.uncorrectable_out.val();
        }
        self.out_data.d.next = self.buffered_word.q.val().get_bits::<16>(0);
        if self.apply.val() {
            self.out_data.d.next =
                self.buffered_word.q.val().get_bits::<16>(0) ^ self.buffered_error.q.val();
        }
        self.out_valid.d.next = self.buffered_word.q.val().get_bit(16);
        self.out_start.d.next = self.delayed_start.val();
        self.data_out.next = self.out_data.q.val();
        self.valid_out.next = self.out_valid.q.val();
        self.start_out.next = self.out_start.q.val();
        self.corrected_out.next = self.out_corrected.q.val();
        self.uncorrectable_out.next = self.out_uncorrectable.q.val();
        self.status_valid_out.next = self.out_start.q.val();
    }
}

/// One clock of [`RsDecoder`]'s outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecoderOutput {
    /// `data_out`, `valid_out`, `start_out`.
    pub word: StreamWord,
    /// `corrected_out`.
    pub corrected: u8,
    /// `uncorrectable_out`.
    pub uncorrectable: bool,
    /// `status_valid_out`.
    pub status_valid: bool,
}

/// Cycle-level reference model of [`RsDecoder`] built on [`rs::decode`]:
/// the stream delayed by [`DECODER_LATENCY`], each frame replaced by its
/// decoded codeword (unchanged when [`rs::decode`] fails) with the status on
/// its first word.
#[derive(Clone, Debug, Default)]
pub struct RsDecoderModel {
    queue: VecDeque<(StreamWord, Option<(u8, bool)>)>,
    frame_len: usize,
    corrected: u8,
    uncorrectable: bool,
}

impl RsDecoderModel {
    /// One clock: takes this clock's input, returns this clock's outputs.
    pub fn step(&mut self, w: StreamWord) -> DecoderOutput {
        let w = StreamWord {
            start: w.start && w.valid,
            ..w
        };
        self.queue.push_back((w, None));
        if w.valid {
            self.frame_len = if w.start { 1 } else { self.frame_len + 1 };
            if self.frame_len == FRAME_WORDS {
                let n = self.queue.len();
                let words: Vec<u16> = (n - FRAME_WORDS..n).map(|i| self.queue[i].0.data).collect();
                let mut cw = words_codeword(&words);
                let status = match rs::decode(&mut cw) {
                    Ok(count) => {
                        let fixed = super::stream::frame_words(&cw, words[0] as u8);
                        for (k, &d) in fixed.iter().enumerate() {
                            self.queue[n - FRAME_WORDS + k].0.data = d;
                        }
                        (count as u8, false)
                    }
                    Err(_) => (0, true),
                };
                self.queue[n - FRAME_WORDS].1 = Some(status);
            }
        }
        if self.queue.len() > DECODER_LATENCY {
            let (word, status) = self.queue.pop_front().unwrap();
            if let Some((c, u)) = status {
                self.corrected = c;
                self.uncorrectable = u;
            }
            DecoderOutput {
                word,
                corrected: self.corrected,
                uncorrectable: self.uncorrectable,
                status_valid: status.is_some(),
            }
        } else {
            DecoderOutput::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::stream::{push_frame, verilate};
    use super::*;
    use crate::model::rs::{K, N};
    use rand::seq::index::sample;
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rust_hdl::prelude::{Clock, Sim, Simulation, ToBits};

    /// The kinds of received words the decoder test sends.
    fn corrupt(rng: &mut ChaCha8Rng, cw: &mut [u8; N], kind: usize) -> &'static str {
        let flip = |cw: &mut [u8; N], p: usize, rng: &mut ChaCha8Rng| {
            cw[p] ^= rng.gen_range(1..=255u8);
        };
        match kind {
            0 => "clean",
            1 => {
                let n = rng.gen_range(1..=8);
                for p in sample(rng, N, n) {
                    flip(cw, p, rng);
                }
                "1..=8 random"
            }
            2 => {
                let n = rng.gen_range(9..=20);
                for p in sample(rng, N, n) {
                    flip(cw, p, rng);
                }
                "9..=20 random"
            }
            3 => {
                let len = rng.gen_range(1..=12);
                let at = rng.gen_range(0..=N - len);
                for p in at..at + len {
                    flip(cw, p, rng);
                }
                "burst 1..=12"
            }
            4 => {
                // Parity bytes and codeword byte 0 (frame position 1).
                let n = rng.gen_range(1..=8);
                flip(cw, 0, rng);
                for p in sample(rng, rs::PARITY, n - 1) {
                    flip(cw, K + p, rng);
                }
                "byte 0 + parity"
            }
            5 => {
                // Exactly 8 errors, including the last byte.
                flip(cw, N - 1, rng);
                for p in sample(rng, N - 1, 7) {
                    flip(cw, p, rng);
                }
                "8 incl. last"
            }
            6 => {
                rng.fill_bytes(cw);
                "random word"
            }
            _ => {
                // A forced miscorrection: 9 of the 17 terms of x^k·g(x), a
                // codeword of minimum weight, so the word lies at distance 8
                // from another codeword and decodes to it.
                let k = rng.gen_range(0..=K - 1);
                for j in sample(rng, rs::PARITY + 1, 9) {
                    cw[K - 1 - k + j] ^= rs::GENERATOR[j];
                }
                "9 towards another codeword"
            }
        }
    }

    #[test]
    fn rs_decoder_matches_the_model() {
        let mut uut = RsDecoder::default();
        uut.connect_all();
        let mut hw = verilate(&uut);
        let clk = hw.p("clock");
        let (di, vi, si) = (hw.p("data_in"), hw.p("valid_in"), hw.p("start_in"));
        let (dout, vout, sout) = (hw.p("data_out"), hw.p("valid_out"), hw.p("start_out"));
        let (co, uo, svo) = (
            hw.p("corrected_out"),
            hw.p("uncorrectable_out"),
            hw.p("status_valid_out"),
        );

        let mut rng = ChaCha8Rng::seed_from_u64(0xDEC0_0001);
        let frames = 10_000;
        let mut stimulus = Vec::with_capacity(frames * 132);
        let mut sent = Vec::with_capacity(frames);
        for _ in 0..frames {
            let mut m = [0u8; K];
            rng.fill_bytes(&mut m);
            let orig = rs::encode(&m);
            let mut cw = orig;
            let kind = rng.gen_range(0..8);
            corrupt(&mut rng, &mut cw, kind);
            // Back to back 60 % of the time, else a gap of 1..=40 idle words.
            let gap = if rng.gen_bool(0.6) {
                0
            } else {
                rng.gen_range(1..=40)
            };
            push_frame(&mut stimulus, gap, &cw);
            sent.push((orig, cw, kind));
        }
        stimulus.extend(std::iter::repeat_n(
            StreamWord::default(),
            DECODER_LATENCY + 5,
        ));

        let mut model = RsDecoderModel::default();
        let mut out_frames: Vec<(Vec<u16>, u8, bool)> = Vec::new();
        for (t, &w) in stimulus.iter().enumerate() {
            hw.set(clk, 0);
            hw.set(di, w.data as u64);
            hw.set(vi, w.valid as u64);
            hw.set(si, w.start as u64);
            hw.eval();
            let got = DecoderOutput {
                word: StreamWord {
                    data: hw.get(dout) as u16,
                    valid: hw.get(vout) == 1,
                    start: hw.get(sout) == 1,
                },
                corrected: hw.get(co) as u8,
                uncorrectable: hw.get(uo) == 1,
                status_valid: hw.get(svo) == 1,
            };
            let want = model.step(w);
            assert_eq!(got, want, "clock {t}");
            if got.word.start {
                out_frames.push((Vec::new(), got.corrected, got.uncorrectable));
            }
            if got.word.valid {
                out_frames.last_mut().unwrap().0.push(got.word.data);
            }
            hw.set(clk, 1);
            hw.eval();
        }

        // Frame-level check straight against rs::decode and the truth.
        assert_eq!(out_frames.len(), frames);
        let mut stats = [[0usize; 3]; 8]; // per kind: corrected, flagged, miscorrected
        for (f, ((words, corrected, flagged), (orig, received, kind))) in
            out_frames.iter().zip(&sent).enumerate()
        {
            let out = words_codeword(words);
            let mut expect = *received;
            match rs::decode(&mut expect) {
                Ok(n) => {
                    assert!(!flagged, "frame {f}");
                    assert_eq!(*corrected as usize, n, "frame {f}");
                    assert_eq!(out, expect, "frame {f}");
                    if out == *orig {
                        stats[*kind][0] += 1;
                    } else {
                        stats[*kind][2] += 1;
                    }
                }
                Err(_) => {
                    assert!(flagged, "frame {f}");
                    assert_eq!(*corrected, 0);
                    assert_eq!(out, *received, "frame {f} must pass unchanged");
                    stats[*kind][1] += 1;
                }
            }
            let distance = received.iter().zip(orig).filter(|(a, b)| a != b).count();
            if distance <= rs::T {
                assert_eq!(out, *orig, "frame {f}: up to 8 errors must be corrected");
            }
        }
        println!(
            "{} clocks, {frames} frames; per kind [corrected, flagged, miscorrected]: {stats:?}",
            stimulus.len()
        );
        assert!(
            stats[2][1] > 1000 && stats[6][1] > 1000,
            "uncorrectable words are flagged"
        );
    }

    /// The same block under rust-hdl's own simulator (which runs the Rust
    /// `update` of every leaf block instead of the Verilog), on a few frames:
    /// every output on every clock against the model.
    #[test]
    fn rs_decoder_rust_hdl_simulation_matches_the_model() {
        use std::sync::{Arc, Mutex};
        let mut rng = ChaCha8Rng::seed_from_u64(0xDEC0_0002);
        let mut stimulus = Vec::new();
        for (gap, errors) in [(2, 8), (0, 3), (0, 12), (5, 1)] {
            let mut m = [0u8; K];
            rng.fill_bytes(&mut m);
            let mut cw = rs::encode(&m);
            for p in sample(&mut rng, N, errors) {
                cw[p] ^= rng.gen_range(1..=255u8);
            }
            push_frame(&mut stimulus, gap, &cw);
        }
        stimulus.extend(std::iter::repeat_n(
            StreamWord::default(),
            DECODER_LATENCY + 2,
        ));
        let cycles = stimulus.len() as u64;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let mut sim = Simulation::new();
        sim.add_testbench(move |mut sim: Sim<RsDecoder>| {
            let mut x = sim.init()?;
            let mut out = Vec::new();
            for w in &stimulus {
                x.clock.next = Clock { clk: false };
                x.data_in.next = (w.data as u64).to_bits();
                x.valid_in.next = w.valid;
                x.start_in.next = w.start;
                x = sim.wait(1, x)?;
                out.push((
                    *w,
                    DecoderOutput {
                        word: StreamWord {
                            data: x.data_out.val().to_u16(),
                            valid: x.valid_out.val(),
                            start: x.start_out.val(),
                        },
                        corrected: x.corrected_out.val().to_u8(),
                        uncorrectable: x.uncorrectable_out.val(),
                        status_valid: x.status_valid_out.val(),
                    },
                ));
                x.clock.next = Clock { clk: true };
                x = sim.wait(1, x)?;
            }
            *sink.lock().unwrap() = out;
            sim.done(x)
        });
        let mut uut = RsDecoder::default();
        uut.connect_all();
        sim.run(Box::new(uut), 2 * cycles + 10)
            .expect("rust-hdl simulation");
        let seen = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!(seen.len() as u64, cycles);
        let mut model = RsDecoderModel::default();
        let mut statuses = 0;
        for (t, (w, got)) in seen.iter().enumerate() {
            assert_eq!(*got, model.step(*w), "clock {t}");
            statuses += usize::from(got.status_valid);
        }
        assert_eq!(statuses, 4);
    }

    #[test]
    fn latencies_are_as_documented() {
        assert_eq!(KEY_EQUATION_LATENCY, 74);
        assert_eq!(CHIEN_DONE_LATENCY, 132);
        assert_eq!(BUFFER_DELAY, 334);
        assert_eq!(ERROR_DELAY, 128);
        assert_eq!(DECODER_LATENCY, 335);
    }

    #[test]
    fn rs_decoder_is_synthesizable() {
        let mut uut = RsDecoder::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "fec_rs_decoder").unwrap();
        println!("RsDecoder: {report}");
        assert!(report.luts() < 8000, "{report}");
        assert!(report.brams() >= 1, "frame buffer in block RAM: {report}");
    }
}

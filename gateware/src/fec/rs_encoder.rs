//! The RS(255,239) encoder at two bytes per clock.

use super::gf_mul::XorNetwork;
use super::stream::StreamWord;
use crate::model::gf256;
use crate::model::rs::{self, GENERATOR, K, PARITY};
use fiberloop_spec::frame::{word, FRAME_WORDS};
use rust_hdl::prelude::*;

/// One step of the encoder LFSR of [`rs::parity`] on a 16-byte register
/// (`r[0]` = coefficient of `x^15`), absorbing data byte `d`.
pub fn lfsr_step(r: &mut [u8; PARITY], d: u8) {
    let feedback = d ^ r[0];
    for j in 0..PARITY {
        let shifted_in = if j + 1 < PARITY { r[j + 1] } else { 0 };
        r[j] = shifted_in ^ gf256::mul(feedback, GENERATOR[j + 1]);
    }
}

/// The two-byte LFSR update as a linear map: input bytes `r[0..16]`, lane 0,
/// lane 1; output the new `r[0..16]` after absorbing lane 0 then lane 1.
pub fn lfsr_step2(v: &[u8]) -> Vec<u8> {
    let mut r = [0u8; PARITY];
    r.copy_from_slice(&v[..PARITY]);
    lfsr_step(&mut r, v[PARITY]);
    lfsr_step(&mut r, v[PARITY + 1]);
    r.to_vec()
}

/// RS(255,239) systematic encoder on the frame stream.
///
/// Takes a frame stream and puts out the same stream with the parity words
/// (frame words 120..=127, codeword bytes 239..=254) replaced by the parity
/// of codeword bytes 0..=238 (word 0 lane 1 through word 119 lane 1); what
/// the input carried in the parity words is ignored. Every other word, idle
/// words included, passes through unchanged.
///
/// The 16-byte LFSR of [`rs::parity`] absorbs two bytes per clock through a
/// precomputed two-step XOR network (on word 0 only lane 1, from a zero
/// register, so back-to-back frames need no clear cycle); during the parity
/// words it shifts out two bytes per clock.
///
/// * Latency: 1 clock (all outputs registered).
/// * Throughput: one word per clock, frames back to back or with gaps.
/// * Reset: none. Every frame restarts the LFSR at its `start_in`; the
///   registers power up at zero (idle output until the first word).
#[derive(LogicBlock)]
pub struct RsEncoder {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Input word, lane 0 in bits 7:0.
    pub data_in: Signal<In, Bits<16>>,
    /// The input word belongs to a frame.
    pub valid_in: Signal<In, Bit>,
    /// The input word is word 0 of a frame (with `valid_in`).
    pub start_in: Signal<In, Bit>,
    /// Output word: the input word of the previous clock, or parity.
    pub data_out: Signal<Out, Bits<16>>,
    /// `valid_in` of the previous clock.
    pub valid_out: Signal<Out, Bit>,
    /// `start_in` and `valid_in` of the previous clock.
    pub start_out: Signal<Out, Bit>,
    lfsr: XorNetwork<128, 16, 128>,
    state: DFF<Bits<128>>,
    next_index: DFF<Bits<7>>,
    out_data: DFF<Bits<16>>,
    out_valid: DFF<Bit>,
    out_start: DFF<Bit>,
    index: Signal<Local, Bits<7>>,
    lane1_mask: Constant<Bits<16>>,
    first_parity_word: Constant<Bits<7>>,
    one: Constant<Bits<7>>,
}

impl Default for RsEncoder {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            data_in: Default::default(),
            valid_in: Default::default(),
            start_in: Default::default(),
            data_out: Default::default(),
            valid_out: Default::default(),
            start_out: Default::default(),
            lfsr: XorNetwork::from_fn(lfsr_step2),
            state: Default::default(),
            next_index: Default::default(),
            out_data: Default::default(),
            out_valid: Default::default(),
            out_start: Default::default(),
            index: Default::default(),
            lane1_mask: Constant::new(0xFF00u64.into()),
            first_parity_word: Constant::new((word::PARITY_FIRST as u64).into()),
            one: Constant::new(1u64.into()),
        }
    }
}

impl Logic for RsEncoder {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, next_index, out_data, out_valid, out_start);
        // Word index within the frame.
        self.index.next = self.next_index.q.val();
        if self.start_in.val() {
            self.index.next = 0.into();
        }
        self.lfsr.a_in.next = self.state.q.val();
        self.lfsr.b_in.next = self.data_in.val();
        self.out_data.d.next = self.data_in.val();
        self.out_valid.d.next = self.valid_in.val();
        self.out_start.d.next = self.start_in.val() & self.valid_in.val();
        if self.valid_in.val() {
            self.next_index.d.next = self.index.val() + self.one.val();
            if self.start_in.val() {
                // Word 0: lane 0 is the start-of-frame position, not data.
                self.lfsr.a_in.next = 0.into();
                self.lfsr.b_in.next = self.data_in.val() & self.lane1_mask.val();
                self.state.d.next = self.lfsr.data_out.val();
            } else if self.index.val() < self.first_parity_word.val() {
                self.state.d.next = self.lfsr.data_out.val();
            } else {
                self.out_data.d.next = self.state.q.val().get_bits::<16>(0);
                self.state.d.next = self.state.q.val() >> 16;
            }
        }
        self.data_out.next = self.out_data.q.val();
        self.valid_out.next = self.out_valid.q.val();
        self.start_out.next = self.out_start.q.val();
    }
}

/// Cycle-level reference model of [`RsEncoder`], built on [`rs::parity`].
#[derive(Clone, Debug)]
pub struct RsEncoderModel {
    next_index: usize,
    data: [u8; K],
    parity: [u8; PARITY],
    out: StreamWord,
}

impl Default for RsEncoderModel {
    fn default() -> Self {
        Self {
            next_index: 0,
            data: [0; K],
            parity: [0; PARITY],
            out: StreamWord::default(),
        }
    }
}

impl RsEncoderModel {
    /// One clock: takes this clock's input, returns this clock's output.
    pub fn step(&mut self, w: StreamWord) -> StreamWord {
        let out = self.out;
        let mut o = StreamWord {
            data: w.data,
            valid: w.valid,
            start: w.start && w.valid,
        };
        if w.valid {
            let idx = if w.start { 0 } else { self.next_index };
            self.next_index = (idx + 1) % FRAME_WORDS;
            if idx < word::PARITY_FIRST {
                for lane in 0..2 {
                    let pos = 2 * idx + lane;
                    if pos >= 1 {
                        self.data[pos - 1] = (w.data >> (8 * lane)) as u8;
                    }
                }
                if idx == word::PARITY_FIRST - 1 {
                    self.parity = rs::parity(&self.data);
                }
            } else {
                let m = idx - word::PARITY_FIRST;
                o.data = self.parity[2 * m] as u16 | (self.parity[2 * m + 1] as u16) << 8;
            }
        }
        self.out = o;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::stream::{push_frame, words_codeword};
    use super::*;
    use fiberloop_harness::verilator::Model;
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn two_step_network_matches_the_model_lfsr() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xEC0D_0001);
        for _ in 0..50 {
            let mut m = [0u8; K];
            rng.fill_bytes(&mut m);
            // Byte 0 alone (word 0), then pairs, as the hardware absorbs them.
            let mut r = [0u8; PARITY];
            let v = lfsr_step2(&[&r[..], &[0, m[0]]].concat());
            r.copy_from_slice(&v);
            for pair in m[1..].chunks(2) {
                let v = lfsr_step2(&[&r[..], pair].concat());
                r.copy_from_slice(&v);
            }
            assert_eq!(r, rs::parity(&m));
        }
    }

    #[test]
    fn rs_encoder_matches_the_model() {
        let mut uut = RsEncoder::default();
        uut.connect_all();
        let mut hw = Model::of_block(&uut).unwrap();
        let clk = hw.p("clock");
        let (di, vi, si) = (hw.p("data_in"), hw.p("valid_in"), hw.p("start_in"));
        let (dout, vout, sout) = (hw.p("data_out"), hw.p("valid_out"), hw.p("start_out"));

        let mut rng = ChaCha8Rng::seed_from_u64(0xEC0D_0002);
        let mut stimulus = Vec::new();
        let mut messages = Vec::new();
        let frames = 600;
        for f in 0..frames {
            let mut cw = [0u8; 255];
            rng.fill_bytes(&mut cw); // random junk in the parity positions too
            if f % 50 == 7 {
                cw[..K].fill(0);
            }
            messages.push(cw);
            // Back to back half of the time, otherwise a gap of 1..=9 words.
            let gap = if rng.gen_bool(0.5) {
                0
            } else {
                rng.gen_range(1..10)
            };
            push_frame(&mut stimulus, gap, &cw);
        }
        messages.push(messages[0]);
        push_frame(&mut stimulus, 3, &messages[0]);
        stimulus.extend(std::iter::repeat_n(StreamWord::default(), 4));

        let mut model = RsEncoderModel::default();
        let mut out_frames: Vec<Vec<u16>> = Vec::new();
        for (t, &w) in stimulus.iter().enumerate() {
            hw.set(clk, 0);
            hw.set(di, w.data as u64);
            hw.set(vi, w.valid as u64);
            hw.set(si, w.start as u64);
            hw.eval();
            let got = StreamWord {
                data: hw.get(dout) as u16,
                valid: hw.get(vout) == 1,
                start: hw.get(sout) == 1,
            };
            let want = model.step(w);
            assert_eq!(got, want, "clock {t}");
            if got.start {
                out_frames.push(Vec::new());
            }
            if got.valid {
                out_frames.last_mut().unwrap().push(got.data);
            }
            hw.set(clk, 1);
            hw.eval();
        }
        // Independent check of every output frame against model::rs::encode.
        assert_eq!(out_frames.len(), frames + 1);
        for (f, words) in out_frames.iter().enumerate() {
            let cw = words_codeword(words);
            let mut m = [0u8; K];
            m.copy_from_slice(&messages[f][..K]);
            assert_eq!(cw, rs::encode(&m), "frame {f}");
            assert_eq!(words[0] & 0xFF, super::super::stream::SOF_BYTE as u16);
        }
        println!(
            "{} clocks, {} frames checked",
            stimulus.len(),
            out_frames.len()
        );
    }

    #[test]
    fn rs_encoder_is_synthesizable() {
        let mut uut = RsEncoder::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "fec_rs_encoder").unwrap();
        println!("RsEncoder: {report}");
        assert!(report.ffs() >= 128 + 16, "{report}");
        assert!(report.luts() < 2000, "{report}");
    }
}

//! The RS(255,239) syndrome calculator at two bytes per clock.

use super::gf_mul::{unpack, XorNetwork};
use super::stream::StreamWord;
use crate::model::gf256::{exp, mul};
use crate::model::rs::{self, N, PARITY};
use fiberloop_spec::frame::FRAME_WORDS;
use rust_hdl::prelude::*;

/// The two-byte syndrome update as a linear map: input `S_0..S_15`, lane 0,
/// lane 1; output `S_j·a^(2j) + lane0·a^j + lane1` (two Horner steps).
pub fn syndrome_step2(v: &[u8]) -> Vec<u8> {
    (0..PARITY)
        .map(|j| mul(mul(v[j], exp(j)) ^ v[PARITY], exp(j)) ^ v[PARITY + 1])
        .collect()
}

/// Syndromes `S_0..S_15` of each frame's codeword, two bytes per clock.
///
/// Each `S_j` is the Horner accumulation `S_j <- S_j·a^j + byte` of
/// [`rs::syndromes`], two steps per word through one precomputed XOR network
/// for all sixteen. Word 0 contributes only lane 1 (codeword byte 0) and
/// restarts the accumulators, so frames may follow back to back.
///
/// * Latency: `done_out` is high for one clock, the clock after the frame's
///   last word (word 127) was input; `syndromes_out` holds the frame's
///   syndromes on that clock (it is the accumulator, and changes again with
///   the next frame word; between frames it holds still).
/// * Throughput: one word per clock.
/// * Reset: none; each `start_in` restarts the accumulation.
#[derive(LogicBlock)]
pub struct RsSyndrome {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Input word, lane 0 in bits 7:0.
    pub data_in: Signal<In, Bits<16>>,
    /// The input word belongs to a frame.
    pub valid_in: Signal<In, Bit>,
    /// The input word is word 0 of a frame (with `valid_in`).
    pub start_in: Signal<In, Bit>,
    /// `S_j` in bits `8j+7..8j`; meaningful when `done_out` is high.
    pub syndromes_out: Signal<Out, Bits<128>>,
    /// One-clock strobe: `syndromes_out` holds a whole frame's syndromes.
    pub done_out: Signal<Out, Bit>,
    step: XorNetwork<128, 16, 128>,
    acc: DFF<Bits<128>>,
    next_index: DFF<Bits<7>>,
    done: DFF<Bit>,
    index: Signal<Local, Bits<7>>,
    lane1_mask: Constant<Bits<16>>,
    last_word: Constant<Bits<7>>,
    one: Constant<Bits<7>>,
}

impl Default for RsSyndrome {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            data_in: Default::default(),
            valid_in: Default::default(),
            start_in: Default::default(),
            syndromes_out: Default::default(),
            done_out: Default::default(),
            step: XorNetwork::from_fn(syndrome_step2),
            acc: Default::default(),
            next_index: Default::default(),
            done: Default::default(),
            index: Default::default(),
            lane1_mask: Constant::new(0xFF00u64.into()),
            last_word: Constant::new(((FRAME_WORDS - 1) as u64).into()),
            one: Constant::new(1u64.into()),
        }
    }
}

impl Logic for RsSyndrome {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, acc, next_index, done);
        self.index.next = self.next_index.q.val();
        if self.start_in.val() {
            self.index.next = 0.into();
        }
        self.step.a_in.next = self.acc.q.val();
        self.step.b_in.next = self.data_in.val();
        self.done.d.next = false;
        if self.valid_in.val() {
            self.next_index.d.next = self.index.val() + self.one.val();
            if self.start_in.val() {
                self.step.a_in.next = 0.into();
                self.step.b_in.next = self.data_in.val() & self.lane1_mask.val();
            }
            self.acc.d.next = self.step.data_out.val();
            if self.index.val() == self.last_word.val() {
                self.done.d.next = true;
            }
        }
        self.syndromes_out.next = self.acc.q.val();
        self.done_out.next = self.done.q.val();
    }
}

/// Cycle-level reference model of [`RsSyndrome`]: byte-serial Horner
/// accumulators, and [`rs::syndromes`] of the collected codeword at the end
/// of each frame.
#[derive(Clone, Debug)]
pub struct RsSyndromeModel {
    next_index: usize,
    acc: [u8; PARITY],
    cw: [u8; N],
    done: bool,
}

impl Default for RsSyndromeModel {
    fn default() -> Self {
        Self {
            next_index: 0,
            acc: [0; PARITY],
            cw: [0; N],
            done: false,
        }
    }
}

impl RsSyndromeModel {
    /// One clock: takes this clock's input, returns this clock's outputs
    /// (`syndromes_out`, `done_out`).
    ///
    /// # Panics
    ///
    /// If the byte-serial accumulators disagree with [`rs::syndromes`] at
    /// the end of a frame (a self-check of the model).
    pub fn step(&mut self, w: StreamWord) -> ([u8; PARITY], bool) {
        let out = (self.acc, self.done);
        self.done = false;
        if w.valid {
            let idx = if w.start { 0 } else { self.next_index };
            self.next_index = (idx + 1) % FRAME_WORDS;
            if idx == 0 {
                self.acc = [0; PARITY];
            }
            for lane in 0..2 {
                let pos = 2 * idx + lane;
                if pos >= 1 {
                    let b = (w.data >> (8 * lane)) as u8;
                    self.cw[pos - 1] = b;
                    for (j, s) in self.acc.iter_mut().enumerate() {
                        *s = mul(*s, exp(j)) ^ b;
                    }
                }
            }
            if idx == FRAME_WORDS - 1 {
                self.done = true;
                assert_eq!(self.acc, rs::syndromes(&self.cw), "model self-check");
            }
        }
        out
    }
}

/// Unpacks `syndromes_out`.
pub fn syndromes_from_words(words: &[u32]) -> [u8; PARITY] {
    let mut bits = Bits::<128>::default();
    for (i, &w) in words.iter().enumerate() {
        for k in 0..32 {
            bits = bits.replace_bit(32 * i + k, w >> k & 1 == 1);
        }
    }
    let v = unpack(bits);
    let mut s = [0u8; PARITY];
    s.copy_from_slice(&v);
    s
}

#[cfg(test)]
mod tests {
    use super::super::stream::push_frame;
    use super::*;
    use crate::model::rs::K;
    use fiberloop_harness::verilator::Model;
    use rand::seq::index::sample;
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn rs_syndrome_matches_the_model() {
        let mut uut = RsSyndrome::default();
        uut.connect_all();
        let mut hw = Model::of_block(&uut).unwrap();
        let clk = hw.p("clock");
        let (di, vi, si) = (hw.p("data_in"), hw.p("valid_in"), hw.p("start_in"));
        let (so, done) = (hw.p("syndromes_out"), hw.p("done_out"));

        let mut rng = ChaCha8Rng::seed_from_u64(0x5D0D_0001);
        let mut stimulus = Vec::new();
        let frames = 600;
        for f in 0..frames {
            let mut m = [0u8; K];
            rng.fill_bytes(&mut m);
            let mut cw = rs::encode(&m);
            // Codewords (zero syndromes), a few errors, or random words.
            match f % 3 {
                0 => {}
                1 => {
                    let count = rng.gen_range(1..=12);
                    for p in sample(&mut rng, N, count) {
                        cw[p] ^= rng.gen_range(1..=255u8);
                    }
                }
                _ => rng.fill_bytes(&mut cw),
            }
            let gap = if rng.gen_bool(0.5) {
                0
            } else {
                rng.gen_range(1..10)
            };
            push_frame(&mut stimulus, gap, &cw);
        }
        stimulus.extend(std::iter::repeat_n(StreamWord::default(), 4));

        let mut model = RsSyndromeModel::default();
        let mut words = [0u32; 4];
        let mut done_count = 0;
        let mut zero_count = 0;
        for (t, &w) in stimulus.iter().enumerate() {
            hw.set(clk, 0);
            hw.set(di, w.data as u64);
            hw.set(vi, w.valid as u64);
            hw.set(si, w.start as u64);
            hw.eval();
            hw.get_words_into(so, &mut words);
            let got = (syndromes_from_words(&words), hw.get(done) == 1);
            let want = model.step(w);
            assert_eq!(got, want, "clock {t}");
            if got.1 {
                done_count += 1;
                zero_count += usize::from(got.0 == [0; PARITY]);
            }
            hw.set(clk, 1);
            hw.eval();
        }
        assert_eq!(done_count, frames);
        assert_eq!(
            zero_count,
            frames / 3,
            "exactly the codewords have zero syndromes"
        );
        println!("{} clocks, {done_count} frames", stimulus.len());
    }

    #[test]
    fn rs_syndrome_is_synthesizable() {
        let mut uut = RsSyndrome::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "fec_rs_syndrome").unwrap();
        println!("RsSyndrome: {report}");
        assert!(report.luts() < 2000, "{report}");
    }
}

//! Chien search and Forney's algorithm at two codeword positions per clock.

use super::gf_mul::{inverse_or_zero, GfInverse, GfScale, XorNetwork};
use super::rs_key_equation::KeyEquation;
use crate::model::gf256::{exp, mul, poly_eval};
use crate::model::rs::{N, T};
use fiberloop_spec::frame::FRAME_WORDS;
use rust_hdl::prelude::*;

/// The Chien register step as a linear map: input `R_0..R_8` (locator
/// terms) and `Q_0..Q_7` (evaluator terms); output every term `k` times
/// `a^(2k)` (two positions on).
pub fn chien_step2(v: &[u8]) -> Vec<u8> {
    (0..=T)
        .map(|k| mul(v[k], exp(2 * k)))
        .chain((0..T).map(|k| mul(v[T + 1 + k], exp(2 * k))))
        .collect()
}

/// The Chien evaluation as a linear map: from the terms, for lane 0 (the
/// terms as they are) and lane 1 (term `k` times `a^k`): `Λ(x)`, the odd
/// part `Λ_odd(x)`, and `Ω(x)`: bytes `[Λ0, odd0, Ω0, Λ1, odd1, Ω1]`.
pub fn chien_eval(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(6);
    for lane in 0..2 {
        let r = |k: usize| mul(v[k], exp(lane * k));
        let q = |k: usize| mul(v[T + 1 + k], exp(lane * k));
        out.push((0..=T).fold(0, |a, k| a ^ r(k)));
        out.push((1..=T).step_by(2).fold(0, |a, k| a ^ r(k)));
        out.push((0..T).fold(0, |a, k| a ^ q(k)));
    }
    out
}

/// Clocks from `load_in` to the error value of frame word 0 on `error_out`.
pub const CHIEN_ERROR_LATENCY: usize = 4;
/// Clocks from `load_in` to `done_out`.
pub const CHIEN_DONE_LATENCY: usize = CHIEN_ERROR_LATENCY + FRAME_WORDS;

/// Chien search and Forney error values for one frame, two positions per
/// clock, in frame word order.
///
/// A bank of registers holds the terms `c·Λ_k·x^k` and `c·Ω_k·x^k` at
/// `x = a^(2w)`, the inverse locator of frame position `2w` (codeword index
/// `2w - 1`, lane 0 of word `w`); lane 1 (`x·a`) is a constant-multiplier
/// network on the same registers, and every clock the bank steps by `a^2`.
/// A position is in error when `Λ(x) = 0`; its error value is
/// `Ω(x) / Λ_odd(x)` (Forney with first root `a^0`, `x·Λ'(x) = Λ_odd(x)`;
/// the scale `c` cancels), through an inverse table and a multiplier. Word 0
/// lane 0 (the start-of-frame position) is never in error.
///
/// After the last word the roots are counted: the frame is correctable when
/// `L <= 8` and the number of roots equals `L` (exactly the test of
/// [`crate::model::rs::decode`]); when it is, `corrected_out = L`.
///
/// * Latency: the error word of frame word `w` is on `error_out` (with
///   `error_valid_out`) [`CHIEN_ERROR_LATENCY`] + `w` clocks after the
///   `load_in` clock; `done_out` strobes [`CHIEN_DONE_LATENCY`] = 132
///   clocks after it, with `corrected_out` and `uncorrectable_out`, which
///   hold until the next `done_out`.
/// * Throughput: one frame per 128 clocks; a new `load_in` may come on the
///   clock of the previous frame's word 127 (128 clocks after its load).
/// * Reset: none; powers up idle (`error_out` zero).
#[derive(LogicBlock)]
pub struct RsChienForney {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Start a frame with `lambda_in`, `omega_in`, `length_in`.
    pub load_in: Signal<In, Bit>,
    /// `c·Λ_i` in bits `8i+7..8i`, `i = 0..=8`.
    pub lambda_in: Signal<In, Bits<72>>,
    /// `c·Ω_k` in bits `8k+7..8k`, `k = 0..8`.
    pub omega_in: Signal<In, Bits<64>>,
    /// LFSR length `L`.
    pub length_in: Signal<In, Bits<6>>,
    /// Error values for the frame word, lane 0 in bits 7:0 (zero where no
    /// error and when idle).
    pub error_out: Signal<Out, Bits<16>>,
    /// `error_out` belongs to a frame word (128 clocks per frame).
    pub error_valid_out: Signal<Out, Bit>,
    /// One-clock strobe after the frame's last error word.
    pub done_out: Signal<Out, Bit>,
    /// Bytes corrected (0..=8; 0 when uncorrectable).
    pub corrected_out: Signal<Out, Bits<4>>,
    /// The frame cannot be corrected: its error words must not be applied.
    pub uncorrectable_out: Signal<Out, Bit>,
    step: XorNetwork<72, 64, 136>,
    eval: XorNetwork<72, 64, 48>,
    inv0: GfInverse,
    inv1: GfInverse,
    mul0: GfScale<8>,
    mul1: GfScale<8>,
    terms: DFF<Bits<136>>,
    active: DFF<Bit>,
    word_index: DFF<Bits<7>>,
    length_hold: DFF<Bits<6>>,
    p1: DFF<Bits<48>>,
    p1_valid: DFF<Bit>,
    p1_first: DFF<Bit>,
    p1_last: DFF<Bit>,
    p1_length: DFF<Bits<6>>,
    p2_inv: DFF<Bits<16>>,
    p2_omega: DFF<Bits<16>>,
    p2_root0: DFF<Bit>,
    p2_root1: DFF<Bit>,
    p2_valid: DFF<Bit>,
    p2_first: DFF<Bit>,
    p2_last: DFF<Bit>,
    p2_length: DFF<Bits<6>>,
    err: DFF<Bits<16>>,
    p3_valid: DFF<Bit>,
    p3_last: DFF<Bit>,
    p3_length: DFF<Bits<6>>,
    count: DFF<Bits<5>>,
    done: DFF<Bit>,
    corrected: DFF<Bits<4>>,
    failed: DFF<Bit>,
    count_base: Signal<Local, Bits<5>>,
    err_lane0: Signal<Local, Bits<16>>,
    err_lane1: Signal<Local, Bits<16>>,
    ok: Signal<Local, Bit>,
    one5: Constant<Bits<5>>,
    two5: Constant<Bits<5>>,
    one7: Constant<Bits<7>>,
    last_word: Constant<Bits<7>>,
    max_length: Constant<Bits<6>>,
}

impl Default for RsChienForney {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            load_in: Default::default(),
            lambda_in: Default::default(),
            omega_in: Default::default(),
            length_in: Default::default(),
            error_out: Default::default(),
            error_valid_out: Default::default(),
            done_out: Default::default(),
            corrected_out: Default::default(),
            uncorrectable_out: Default::default(),
            step: XorNetwork::from_fn(chien_step2),
            eval: XorNetwork::from_fn(chien_eval),
            inv0: Default::default(),
            inv1: Default::default(),
            mul0: Default::default(),
            mul1: Default::default(),
            terms: Default::default(),
            active: Default::default(),
            word_index: Default::default(),
            length_hold: Default::default(),
            p1: Default::default(),
            p1_valid: Default::default(),
            p1_first: Default::default(),
            p1_last: Default::default(),
            p1_length: Default::default(),
            p2_inv: Default::default(),
            p2_omega: Default::default(),
            p2_root0: Default::default(),
            p2_root1: Default::default(),
            p2_valid: Default::default(),
            p2_first: Default::default(),
            p2_last: Default::default(),
            p2_length: Default::default(),
            err: Default::default(),
            p3_valid: Default::default(),
            p3_last: Default::default(),
            p3_length: Default::default(),
            count: Default::default(),
            done: Default::default(),
            corrected: Default::default(),
            failed: Default::default(),
            count_base: Default::default(),
            err_lane0: Default::default(),
            err_lane1: Default::default(),
            ok: Default::default(),
            one5: Constant::new(1u64.into()),
            two5: Constant::new(2u64.into()),
            one7: Constant::new(1u64.into()),
            last_word: Constant::new(((FRAME_WORDS - 1) as u64).into()),
            max_length: Constant::new((T as u64).into()),
        }
    }
}

impl Logic for RsChienForney {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            terms,
            active,
            word_index,
            length_hold,
            p1,
            p1_valid,
            p1_first,
            p1_last,
            p1_length,
            p2_inv,
            p2_omega,
            p2_root0,
            p2_root1,
            p2_valid,
            p2_first,
            p2_last,
            p2_length,
            err,
            p3_valid,
            p3_last,
            p3_length,
            count,
            done,
            corrected,
            failed
        );
        // Stage 0: the term registers.
        self.step.a_in.next = self.terms.q.val().get_bits::<72>(0);
        self.step.b_in.next = self.terms.q.val().get_bits::<64>(72);
        self.eval.a_in.next = self.terms.q.val().get_bits::<72>(0);
        self.eval.b_in.next = self.terms.q.val().get_bits::<64>(72);
        if self.active.q.val() {
            self.terms.d.next = self.step.data_out.val();
            self.word_index.d.next = self.word_index.q.val() + self.one7.val();
            if self.word_index.q.val() == self.last_word.val() {
                self.active.d.next = false;
            }
        }
        if self.load_in.val() {
            self.terms.d.next = bit_cast::<136, 72>(self.lambda_in.val())
                | (bit_cast::<136, 64>(self.omega_in.val()) << 72);
            self.active.d.next = true;
            self.word_index.d.next = 0.into();
            self.length_hold.d.next = self.length_in.val();
        }
        // Stage 1: Λ(x), Λ_odd(x), Ω(x) for both lanes.
        self.p1.d.next = self.eval.data_out.val();
        self.p1_valid.d.next = self.active.q.val();
        self.p1_first.d.next = self.active.q.val() & (self.word_index.q.val() == 0);
        self.p1_last.d.next =
            self.active.q.val() & (self.word_index.q.val() == self.last_word.val());
        self.p1_length.d.next = self.length_hold.q.val();
        // Stage 2: roots and inverses of the odd parts.
        self.inv0.data_in.next = self.p1.q.val().get_bits::<8>(8);
        self.inv1.data_in.next = self.p1.q.val().get_bits::<8>(32);
        self.p2_inv.d.next = bit_cast::<16, 8>(self.inv0.data_out.val())
            | (bit_cast::<16, 8>(self.inv1.data_out.val()) << 8);
        self.p2_omega.d.next = bit_cast::<16, 8>(self.p1.q.val().get_bits::<8>(16))
            | (bit_cast::<16, 8>(self.p1.q.val().get_bits::<8>(40)) << 8);
        self.p2_root0.d.next = self.p1_valid.q.val()
            & !self.p1_first.q.val()
            & !self.p1.q.val().get_bits::<8>(0).any();
        self.p2_root1.d.next = self.p1_valid.q.val() & !self.p1.q.val().get_bits::<8>(24).any();
        self.p2_valid.d.next = self.p1_valid.q.val();
        self.p2_first.d.next = self.p1_first.q.val();
        self.p2_last.d.next = self.p1_last.q.val();
        self.p2_length.d.next = self.p1_length.q.val();
        // Stage 3: error values, root count.
        self.mul0.scalar_in.next = self.p2_omega.q.val().get_bits::<8>(0);
        self.mul0.vector_in.next = self.p2_inv.q.val().get_bits::<8>(0);
        self.mul1.scalar_in.next = self.p2_omega.q.val().get_bits::<8>(8);
        self.mul1.vector_in.next = self.p2_inv.q.val().get_bits::<8>(8);
        // (Two locals rather than a read-back of err.d: rust-hdl's simulator
        // would read the previous clock's value there, unlike the Verilog.)
        self.err_lane0.next = 0.into();
        if self.p2_root0.q.val() {
            self.err_lane0.next = bit_cast::<16, 8>(self.mul0.data_out.val());
        }
        self.err_lane1.next = 0.into();
        if self.p2_root1.q.val() {
            self.err_lane1.next = bit_cast::<16, 8>(self.mul1.data_out.val()) << 8;
        }
        self.err.d.next = self.err_lane0.val() | self.err_lane1.val();
        self.p3_valid.d.next = self.p2_valid.q.val();
        self.p3_last.d.next = self.p2_last.q.val();
        self.p3_length.d.next = self.p2_length.q.val();
        self.count_base.next = self.count.q.val();
        if self.p2_first.q.val() {
            self.count_base.next = 0.into();
        }
        self.count.d.next = self.count_base.val();
        if self.p2_root0.q.val() & self.p2_root1.q.val() {
            self.count.d.next = self.count_base.val() + self.two5.val();
        } else if self.p2_root0.q.val() | self.p2_root1.q.val() {
            self.count.d.next = self.count_base.val() + self.one5.val();
        }
        // Stage 4: the decision.
        self.ok.next = (self.p3_length.q.val() <= self.max_length.val())
            & (bit_cast::<6, 5>(self.count.q.val()) == self.p3_length.q.val());
        self.done.d.next = self.p3_last.q.val();
        if self.p3_last.q.val() {
            self.failed.d.next = !self.ok.val();
            self.corrected.d.next = 0.into();
            if self.ok.val() {
                self.corrected.d.next = self.count.q.val().get_bits::<4>(0);
            }
        }
        self.error_out.next = self.err.q.val();
        self.error_valid_out.next = self.p3_valid.q.val();
        self.done_out.next = self.done.q.val();
        self.corrected_out.next = self.corrected.q.val();
        self.uncorrectable_out.next = self.failed.q.val();
    }
}

/// What [`RsChienForney`] computes for one frame, by direct polynomial
/// evaluation: the 128 error words and the decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChienResult {
    /// Error word per frame word, lane 0 in bits 7:0.
    pub errors: Vec<u16>,
    /// Bytes corrected (0 when uncorrectable).
    pub corrected: usize,
    /// Uncorrectable.
    pub uncorrectable: bool,
}

/// Reference model of one frame of [`RsChienForney`]: evaluates `Λ`, its
/// odd part and `Ω` at the inverse locator `a^(i+1)` of every codeword index
/// `i` with [`poly_eval`]; a root has error value `Ω / Λ_odd` (with
/// `1/0 = 0`, as the hardware's table).
pub fn chien_forney(k: &KeyEquation) -> ChienResult {
    let odd: Vec<u8> = k
        .lambda
        .iter()
        .enumerate()
        .map(|(i, &c)| if i % 2 == 1 { c } else { 0 })
        .collect();
    let mut errors = vec![0u16; FRAME_WORDS];
    let mut roots = 0;
    for i in 0..N {
        let x = exp(i + 1);
        if poly_eval(&k.lambda, x) == 0 {
            roots += 1;
            let e = mul(poly_eval(&k.omega, x), inverse_or_zero(poly_eval(&odd, x)));
            let pos = i + 1;
            errors[pos / 2] |= (e as u16) << (8 * (pos % 2));
        }
    }
    let ok = k.length <= T && roots == k.length;
    ChienResult {
        errors,
        corrected: if ok { roots } else { 0 },
        uncorrectable: !ok,
    }
}

#[cfg(test)]
mod tests {
    use super::super::gf_mul::pack;
    use super::super::rs_key_equation::key_equation;
    use super::super::stream::verilate;
    use super::*;
    use crate::model::rs::{self, K};
    use rand::seq::index::sample;
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn chien_forney_model_agrees_with_the_rs_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xC41E_0001);
        for n in 0..600 {
            let errors = n % 21;
            let mut m = [0u8; K];
            rng.fill_bytes(&mut m);
            let mut cw = rs::encode(&m);
            for p in sample(&mut rng, N, errors) {
                cw[p] ^= rng.gen_range(1..=255u8);
            }
            let k = key_equation(&rs::syndromes(&cw));
            let r = chien_forney(&k);
            let mut expect = cw;
            let res = rs::decode(&mut expect);
            assert_eq!(r.uncorrectable, res.is_err(), "{errors} errors");
            if let Ok(count) = res {
                assert_eq!(r.corrected, count);
                let mut fixed = cw;
                for (i, b) in fixed.iter_mut().enumerate() {
                    let pos = i + 1;
                    *b ^= (r.errors[pos / 2] >> (8 * (pos % 2))) as u8;
                }
                assert_eq!(fixed, expect);
            }
        }
    }

    #[test]
    fn rs_chien_forney_matches_the_model() {
        let mut uut = RsChienForney::default();
        uut.connect_all();
        let mut hw = verilate(&uut);
        let clk = hw.p("clock");
        let (li, lam, om, len) = (
            hw.p("load_in"),
            hw.p("lambda_in"),
            hw.p("omega_in"),
            hw.p("length_in"),
        );
        let (eo, evo, done, corr, unc) = (
            hw.p("error_out"),
            hw.p("error_valid_out"),
            hw.p("done_out"),
            hw.p("corrected_out"),
            hw.p("uncorrectable_out"),
        );
        let mut rng = ChaCha8Rng::seed_from_u64(0xC41E_0002);
        // Expected outputs per clock: (error word, valid); decisions by clock.
        let clocks = 80_000;
        let mut expect_err = vec![(0u16, false); clocks + 200];
        let mut expect_done = vec![None; clocks + 200];
        let mut next_load = 2usize;
        let mut frames = 0;
        for t in 0..clocks {
            let load = t == next_load;
            let mut k = KeyEquation::default();
            if load {
                let errors = rng.gen_range(0..=20);
                let mut m = [0u8; K];
                rng.fill_bytes(&mut m);
                let mut cw = rs::encode(&m);
                for p in sample(&mut rng, N, errors) {
                    cw[p] ^= rng.gen_range(1..=255u8);
                }
                k = key_equation(&rs::syndromes(&cw));
                let r = chien_forney(&k);
                for (w, &e) in r.errors.iter().enumerate() {
                    expect_err[t + CHIEN_ERROR_LATENCY + w] = (e, true);
                }
                expect_done[t + CHIEN_DONE_LATENCY] = Some((r.corrected, r.uncorrectable));
                frames += 1;
                next_load = t + if rng.gen_bool(0.5) {
                    FRAME_WORDS
                } else {
                    rng.gen_range(FRAME_WORDS..FRAME_WORDS + 20)
                };
            } else {
                // Garbage between loads must be ignored.
                rng.fill_bytes(&mut k.lambda);
                rng.fill_bytes(&mut k.omega);
                k.length = rng.gen_range(0..17);
            }
            hw.set(clk, 0);
            hw.set(li, load as u64);
            hw.set_bits(lam, pack::<72>(&k.lambda));
            hw.set_bits(om, pack::<64>(&k.omega));
            hw.set(len, k.length as u64);
            hw.eval();
            let got = (hw.get(eo) as u16, hw.get(evo) == 1);
            assert_eq!(got, expect_err[t], "error word, clock {t}");
            assert_eq!(
                hw.get(done) == 1,
                expect_done[t].is_some(),
                "done, clock {t}"
            );
            if let Some((c, u)) = expect_done[t] {
                assert_eq!(hw.get(corr) as usize, c, "corrected, clock {t}");
                assert_eq!(hw.get(unc) == 1, u, "uncorrectable, clock {t}");
            }
            hw.set(clk, 1);
            hw.eval();
        }
        assert!(frames > 500);
        println!("{clocks} clocks, {frames} frames");
    }

    #[test]
    fn rs_chien_forney_is_synthesizable() {
        let mut uut = RsChienForney::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "fec_rs_chien").unwrap();
        println!("RsChienForney: {report}");
        assert!(report.luts() < 3000, "{report}");
    }
}

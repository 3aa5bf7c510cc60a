//! The RS(255,239) key equation solver: inversionless Berlekamp-Massey and
//! the error evaluator, in 40 clocks per frame.

use super::gf_mul::{pack, unpack, GfMulEach, GfScale};
use crate::model::gf256::mul;
use crate::model::rs::{PARITY, T};
use rust_hdl::prelude::*;

/// Result of the key equation solver: a non-zero scalar multiple `c·Λ` of
/// the model's error locator (truncated to degree [`T`]), `c·Ω` truncated
/// to degree `T - 1`, and the LFSR length `L`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct KeyEquation {
    /// `c·Λ_0 ..= c·Λ_8`.
    pub lambda: [u8; T + 1],
    /// `c·Ω_0 ..= c·Ω_7`, `Ω = S·Λ mod x^16`.
    pub omega: [u8; T],
    /// LFSR length `L` (up to 16); `L > T` means uncorrectable.
    pub length: usize,
}

/// The algorithm [`RsKeyEquation`] implements, step for step.
///
/// Inversionless Berlekamp-Massey (`Λ <- γ·Λ - Δ·x·B`, with `γ` the
/// discrepancy of the last length change) over the 16 syndromes, keeping
/// `Λ` and `B` to degree [`T`]: while `L <= T`, `deg Λ <= L` so nothing is
/// lost, and once `L > T` the word is uncorrectable whatever `Λ` is. Then
/// `Ω_k = sum_{i<=k} Λ_i·S_(k-i)` for `k < T` (for a correctable word
/// `deg Ω < L <= T`). The length follows the same rule as
/// [`crate::model::rs::berlekamp_massey`], so `length` equals the model's,
/// and `lambda` is `Λ_0` times the model's locator.
pub fn key_equation(s: &[u8; PARITY]) -> KeyEquation {
    let mut lambda = [0u8; T + 1];
    lambda[0] = 1;
    let mut b = lambda;
    let mut gamma = 1u8;
    let mut length = 0usize;
    for r in 0..PARITY {
        let delta = (0..=T.min(r)).fold(0u8, |acc, i| acc ^ mul(lambda[i], s[r - i]));
        let mut next = [0u8; T + 1];
        for i in 0..=T {
            next[i] = mul(gamma, lambda[i]) ^ if i > 0 { mul(delta, b[i - 1]) } else { 0 };
        }
        if delta != 0 && 2 * length <= r {
            b = lambda;
            length = r + 1 - length;
            gamma = delta;
        } else {
            b.copy_within(0..T, 1);
            b[0] = 0;
        }
        lambda = next;
    }
    let mut omega = [0u8; T];
    for (k, o) in omega.iter_mut().enumerate() {
        *o = (0..=k).fold(0u8, |acc, i| acc ^ mul(lambda[i], s[k - i]));
    }
    KeyEquation {
        lambda,
        omega,
        length,
    }
}

/// Clocks from `load_in` to `done_out` of [`RsKeyEquation`].
pub const KEY_EQUATION_LATENCY: usize = 4 * PARITY + T + 2;

/// Key equation solver: syndromes in, `c·Λ`, `c·Ω` and `L` out
/// ([`key_equation`]).
///
/// Sixteen Berlekamp-Massey iterations of four clocks each (discrepancy
/// `Δ = sum Λ_i·S_(r-i)`: nine products into a register, their sum into
/// another;
/// the products `γ·Λ` and `Δ·x·B` through 2 x 9 multipliers into registers;
/// their sum into `Λ`, with the length, `B` and `γ` bookkeeping), then eight
/// clocks (plus one of pipeline) that reuse the products for `Ω_0..Ω_7`.
/// Every register to register path has at most one multiplier or one XOR
/// tree in it (a version with a whole inner product per clock met 125 MHz
/// on an ECP5 with only a few per cent to spare). The syndrome window
/// `W_i = S_(r-i)` is a byte shift register fed from a copy of the
/// syndromes.
///
/// * Latency: `done_out` is high for one clock [`KEY_EQUATION_LATENCY`] =
///   74 clocks after the `load_in` clock; `lambda_out`, `omega_out` and
///   `length_out` then hold the result until the next load's computation
///   starts changing them (the clock after the next `load_in`).
/// * Throughput: one syndrome set per 74 clocks (a frame takes 128).
/// * Reset: none; `load_in` restarts the computation (a load during a
///   computation abandons it). Powers up idle.
#[derive(LogicBlock)]
pub struct RsKeyEquation {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// `S_j` in bits `8j+7..8j`, taken when `load_in` is high.
    pub syndromes_in: Signal<In, Bits<128>>,
    /// Start a computation on `syndromes_in`.
    pub load_in: Signal<In, Bit>,
    /// `c·Λ_i` in bits `8i+7..8i`, `i = 0..=8`.
    pub lambda_out: Signal<Out, Bits<72>>,
    /// `c·Ω_k` in bits `8k+7..8k`, `k = 0..8`.
    pub omega_out: Signal<Out, Bits<64>>,
    /// LFSR length `L` (0..=16).
    pub length_out: Signal<Out, Bits<6>>,
    /// One-clock strobe: the outputs hold a result.
    pub done_out: Signal<Out, Bit>,
    each: GfMulEach<72>,
    products: DFF<Bits<72>>,
    dot_sum: Signal<Local, Bits<8>>,
    scale_lambda: GfScale<72>,
    scale_b: GfScale<72>,
    syn: DFF<Bits<128>>,
    syn_copy: DFF<Bits<128>>,
    window: DFF<Bits<72>>,
    lambda: DFF<Bits<72>>,
    bpoly: DFF<Bits<72>>,
    gamma: DFF<Bits<8>>,
    delta: DFF<Bits<8>>,
    product_lambda: DFF<Bits<72>>,
    product_b: DFF<Bits<72>>,
    phase: DFF<Bits<2>>,
    length: DFF<Bits<6>>,
    round: DFF<Bits<6>>,
    count: DFF<Bits<7>>,
    busy: DFF<Bit>,
    omega: DFF<Bits<64>>,
    done: DFF<Bit>,
    one8: Constant<Bits<8>>,
    one6: Constant<Bits<6>>,
    one7: Constant<Bits<7>>,
    three2: Constant<Bits<2>>,
    first_omega_clock: Constant<Bits<7>>,
    one72: Constant<Bits<72>>,
    one2: Constant<Bits<2>>,
    two2: Constant<Bits<2>>,
    last_bm_clock: Constant<Bits<7>>,
    last_clock: Constant<Bits<7>>,
}

impl Default for RsKeyEquation {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            syndromes_in: Default::default(),
            load_in: Default::default(),
            lambda_out: Default::default(),
            omega_out: Default::default(),
            length_out: Default::default(),
            done_out: Default::default(),
            each: Default::default(),
            products: Default::default(),
            dot_sum: Default::default(),
            scale_lambda: Default::default(),
            scale_b: Default::default(),
            syn: Default::default(),
            syn_copy: Default::default(),
            window: Default::default(),
            lambda: Default::default(),
            bpoly: Default::default(),
            gamma: Default::default(),
            delta: Default::default(),
            product_lambda: Default::default(),
            product_b: Default::default(),
            phase: Default::default(),
            length: Default::default(),
            round: Default::default(),
            count: Default::default(),
            busy: Default::default(),
            omega: Default::default(),
            done: Default::default(),
            one8: Constant::new(1u64.into()),
            one6: Constant::new(1u64.into()),
            one7: Constant::new(1u64.into()),
            three2: Constant::new(3u64.into()),
            first_omega_clock: Constant::new((4 * PARITY as u64).into()),
            one72: Constant::new(1u64.into()),
            one2: Constant::new(1u64.into()),
            two2: Constant::new(2u64.into()),
            last_bm_clock: Constant::new((4 * PARITY as u64 - 1).into()),
            last_clock: Constant::new((4 * PARITY as u64 + T as u64).into()),
        }
    }
}

impl Logic for RsKeyEquation {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            syn,
            syn_copy,
            window,
            lambda,
            bpoly,
            gamma,
            delta,
            products,
            product_lambda,
            product_b,
            phase,
            length,
            round,
            count,
            busy,
            omega,
            done
        );
        self.each.a_in.next = self.lambda.q.val();
        self.each.b_in.next = self.window.q.val();
        self.dot_sum.next = self.products.q.val().get_bits::<8>(0)
            ^ self.products.q.val().get_bits::<8>(8)
            ^ self.products.q.val().get_bits::<8>(16)
            ^ self.products.q.val().get_bits::<8>(24)
            ^ self.products.q.val().get_bits::<8>(32)
            ^ self.products.q.val().get_bits::<8>(40)
            ^ self.products.q.val().get_bits::<8>(48)
            ^ self.products.q.val().get_bits::<8>(56)
            ^ self.products.q.val().get_bits::<8>(64);
        self.scale_lambda.scalar_in.next = self.gamma.q.val();
        self.scale_lambda.vector_in.next = self.lambda.q.val();
        self.scale_b.scalar_in.next = self.delta.q.val();
        self.scale_b.vector_in.next = self.bpoly.q.val() << 8;
        self.done.d.next = false;
        if self.load_in.val() {
            self.syn.d.next = self.syndromes_in.val() >> 8;
            self.syn_copy.d.next = self.syndromes_in.val();
            self.window.d.next = bit_cast::<72, 8>(self.syndromes_in.val().get_bits::<8>(0));
            self.lambda.d.next = self.one72.val();
            self.bpoly.d.next = self.one72.val();
            self.gamma.d.next = self.one8.val();
            self.length.d.next = 0.into();
            self.round.d.next = 0.into();
            self.count.d.next = 0.into();
            self.phase.d.next = 0.into();
            self.busy.d.next = true;
        } else if self.busy.q.val() {
            self.count.d.next = self.count.q.val() + self.one7.val();
            if self.count.q.val() <= self.last_bm_clock.val() {
                if self.phase.q.val() == 0 {
                    // Discrepancy of round r: the products...
                    self.products.d.next = self.each.data_out.val();
                    self.phase.d.next = self.one2.val();
                } else if self.phase.q.val() == self.one2.val() {
                    // ... and their sum.
                    self.delta.d.next = self.dot_sum.val();
                    self.phase.d.next = self.two2.val();
                } else if self.phase.q.val() == self.two2.val() {
                    // Products of round r.
                    self.product_lambda.d.next = self.scale_lambda.data_out.val();
                    self.product_b.d.next = self.scale_b.data_out.val();
                    self.phase.d.next = self.three2.val();
                } else {
                    // Update of round r.
                    self.phase.d.next = 0.into();
                    self.lambda.d.next = self.product_lambda.q.val() ^ self.product_b.q.val();
                    if self.delta.q.val().any() & ((self.length.q.val() << 1) <= self.round.q.val())
                    {
                        self.bpoly.d.next = self.lambda.q.val();
                        self.length.d.next =
                            (self.round.q.val() + self.one6.val()) - self.length.q.val();
                        self.gamma.d.next = self.delta.q.val();
                    } else {
                        self.bpoly.d.next = self.bpoly.q.val() << 8;
                    }
                    self.round.d.next = self.round.q.val() + self.one6.val();
                    if self.count.q.val() == self.last_bm_clock.val() {
                        // Restart the window at S_0 for the evaluator.
                        self.window.d.next =
                            bit_cast::<72, 8>(self.syn_copy.q.val().get_bits::<8>(0));
                        self.syn.d.next = self.syn_copy.q.val() >> 8;
                    } else {
                        self.window.d.next = (self.window.q.val() << 8)
                            | bit_cast::<72, 8>(self.syn.q.val().get_bits::<8>(0));
                        self.syn.d.next = self.syn.q.val() >> 8;
                    }
                }
            } else {
                // Error evaluator: the products for Omega_k at count 64 + k,
                // their sum shifted in on the next clock (counts 65..=72).
                self.products.d.next = self.each.data_out.val();
                if self.count.q.val() > self.first_omega_clock.val() {
                    self.omega.d.next =
                        (self.omega.q.val() >> 8) | (bit_cast::<64, 8>(self.dot_sum.val()) << 56);
                }
                self.window.d.next = (self.window.q.val() << 8)
                    | bit_cast::<72, 8>(self.syn.q.val().get_bits::<8>(0));
                self.syn.d.next = self.syn.q.val() >> 8;
                if self.count.q.val() == self.last_clock.val() {
                    self.busy.d.next = false;
                    self.done.d.next = true;
                }
            }
        }
        self.lambda_out.next = self.lambda.q.val();
        self.omega_out.next = self.omega.q.val();
        self.length_out.next = self.length.q.val();
        self.done_out.next = self.done.q.val();
    }
}

/// Cycle-level reference model of [`RsKeyEquation`]'s strobe and result:
/// [`key_equation`] of the loaded syndromes, delivered
/// [`KEY_EQUATION_LATENCY`] clocks after the load.
#[derive(Clone, Debug, Default)]
pub struct RsKeyEquationModel {
    pending: Option<(usize, KeyEquation)>,
}

impl RsKeyEquationModel {
    /// One clock: `load` with syndromes `s`; returns the result on the
    /// clock `done_out` is high.
    pub fn step(&mut self, load: bool, s: &[u8; PARITY]) -> Option<KeyEquation> {
        let mut out = None;
        if let Some((left, r)) = self.pending.as_mut() {
            *left -= 1;
            if *left == 0 {
                out = Some(*r);
                self.pending = None;
            }
        }
        if load {
            self.pending = Some((KEY_EQUATION_LATENCY, key_equation(s)));
        }
        out
    }
}

/// Packs a [`KeyEquation`] the way the block's outputs carry it.
pub fn pack_key_equation(k: &KeyEquation) -> (Bits<72>, Bits<64>) {
    (pack(&k.lambda), pack(&k.omega))
}

/// Unpacks `lambda_out`, `omega_out`, `length_out`.
pub fn unpack_key_equation(lambda: Bits<72>, omega: Bits<64>, length: u64) -> KeyEquation {
    let mut k = KeyEquation {
        length: length as usize,
        ..Default::default()
    };
    k.lambda.copy_from_slice(&unpack(lambda));
    k.omega.copy_from_slice(&unpack(omega));
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::gf256::div;
    use crate::model::rs::{self, K, N};
    use rand::seq::index::sample;
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Syndromes of a random codeword with `errors` random byte errors.
    fn random_syndromes(rng: &mut ChaCha8Rng, errors: usize) -> [u8; PARITY] {
        let mut m = [0u8; K];
        rng.fill_bytes(&mut m);
        let mut cw = rs::encode(&m);
        for p in sample(rng, N, errors) {
            cw[p] ^= rng.gen_range(1..=255u8);
        }
        rs::syndromes(&cw)
    }

    #[test]
    fn key_equation_is_a_multiple_of_the_model_locator() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xBE11_0001);
        let mut compared = 0;
        for n in 0..6000 {
            let errors = n % 21;
            let s = random_syndromes(&mut rng, errors);
            let k = key_equation(&s);
            let model = rs::berlekamp_massey(&s);
            assert_eq!(k.length, model.length, "length, {errors} errors");
            if errors <= T {
                assert_eq!(k.length, errors);
            }
            if model.length <= T {
                let c = k.lambda[0];
                assert_ne!(c, 0);
                let normalised: Vec<u8> = k.lambda.iter().map(|&x| div(x, c)).collect();
                assert_eq!(normalised[..], model.lambda[..=T]);
                assert!(model.lambda[T + 1..].iter().all(|&x| x == 0));
                let omega = rs::error_evaluator(&s, &model.lambda);
                let normalised: Vec<u8> = k.omega.iter().map(|&x| div(x, c)).collect();
                assert_eq!(normalised[..], omega[..T]);
                compared += 1;
            }
        }
        assert!(compared > 2500);
    }

    #[test]
    fn rs_key_equation_matches_the_model() {
        let mut uut = RsKeyEquation::default();
        uut.connect_all();
        let mut hw = super::super::stream::verilate(&uut);
        let clk = hw.p("clock");
        let (si, li) = (hw.p("syndromes_in"), hw.p("load_in"));
        let (lo, oo, leno, done) = (
            hw.p("lambda_out"),
            hw.p("omega_out"),
            hw.p("length_out"),
            hw.p("done_out"),
        );
        let mut rng = ChaCha8Rng::seed_from_u64(0xBE11_0002);
        let mut model = RsKeyEquationModel::default();
        let mut next_load = 3usize;
        let mut s = [0u8; PARITY];
        let mut results = 0;
        let clocks = 120_000;
        for t in 0..clocks {
            let load = t == next_load;
            if load {
                let errors = rng.gen_range(0..=20);
                s = random_syndromes(&mut rng, errors);
                next_load = t + rng.gen_range(KEY_EQUATION_LATENCY..200);
            } else if rng.gen_bool(0.5) {
                // Garbage on the syndrome input between loads.
                rng.fill_bytes(&mut s);
            }
            hw.set(clk, 0);
            hw.set_bits(si, pack::<128>(&s));
            hw.set(li, load as u64);
            hw.eval();
            let want = model.step(load, &s);
            assert_eq!(hw.get(done) == 1, want.is_some(), "done_out, clock {t}");
            if let Some(want) = want {
                let got = unpack_key_equation(hw.get_bits(lo), hw.get_bits(oo), hw.get(leno));
                assert_eq!(got, want, "clock {t}");
                results += 1;
            }
            hw.set(clk, 1);
            hw.eval();
        }
        assert!(results > 800, "{results}");
        println!("{clocks} clocks, {results} results compared");
    }

    #[test]
    fn rs_key_equation_is_synthesizable() {
        let mut uut = RsKeyEquation::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "fec_rs_key_equation").unwrap();
        println!("RsKeyEquation: {report}");
        assert!(report.luts() < 4000, "{report}");
    }
}

//! The requantiser: one int32 accumulator per clock to one int8 activation,
//! bit-exact to [`fiberloop_spec::quant::Requant::apply`].

use fiberloop_spec::quant::Requant;
use rust_hdl::prelude::*;
use std::collections::VecDeque;

/// Clocks from an input sampled at a rising edge to its result on the
/// outputs: an input presented in cycle `t` (sampled at the edge that ends
/// cycle `t`) is on `y_out`/`valid_out`/`tag_out` during cycle
/// `t + REQUANT_LATENCY`.
pub const REQUANT_LATENCY: usize = 10;

/// Time-shared, fully pipelined requantiser:
/// `y = clamp(zp + RDBPOT(SRDHM(acc, M0), shift), lo, 127)`, `lo = zp` with
/// ReLU, else -128 (see [`fiberloop_spec::quant`]).
///
/// Pipeline (each line one register stage):
/// 1. magnitudes `|acc|`, `|M0|` (32 bits each, `|INT32_MIN| = 2^31`), the
///    product's sign and the SRDHM saturation case (`acc = M0 = INT32_MIN`);
/// 2. four 16x16 unsigned partial products (four `MULT18X18D`);
/// 3. the middle sum `p01 + p10` (33 bits) beside `{p11, p00}`;
/// 4. the 64-bit magnitude product;
/// 5. SRDHM: `(±|acc·M0| + 2^30) >> 31` (arithmetic; for a negative product
///    this equals C's truncating division with gemmlowp's nudge), saturated
///    to `INT32_MAX` for the single overflow case;
/// 6. RDBPOT part 1: the arithmetic right shift, the remainder and the
///    rounding threshold;
/// 7. the rounding decision `remainder > threshold`;
/// 8. the rounded quotient;
/// 9. `zp + quotient` in 34 bits and the lower clamp bound;
/// 10. the clamp to `[lo, 127]`.
///
/// * Latency: [`REQUANT_LATENCY`] = 10 clocks, fixed, for every input.
/// * Throughput: one accumulator per clock, no stalls; inputs on clocks with
///   `valid_in` low are ignored and come out with `valid_out` low.
/// * Reset: none. The pipeline holds whatever it was last given; after
///   power-up `valid_out` may be anything for the first 10 clocks unless
///   `valid_in` was held low for 10 clocks (the integrator must hold
///   `valid_in` low during reset).
#[derive(LogicBlock)]
pub struct Requantiser {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// The int32 accumulator (two's complement).
    pub acc_in: Signal<In, Bits<32>>,
    /// The fixed-point multiplier M0 (int32, Q31).
    pub multiplier_in: Signal<In, Bits<32>>,
    /// The right shift, 0..=31.
    pub shift_in: Signal<In, Bits<5>>,
    /// The output zero point (int8, two's complement).
    pub zero_point_in: Signal<In, Bits<8>>,
    /// Clamp below at the zero point (ReLU) instead of at -128.
    pub relu_in: Signal<In, Bit>,
    /// The inputs of this clock are an accumulator to requantise.
    pub valid_in: Signal<In, Bit>,
    /// Carried through unchanged beside the data (batch row, output index).
    pub tag_in: Signal<In, Bits<16>>,
    /// The int8 result (two's complement), `REQUANT_LATENCY` clocks later.
    pub y_out: Signal<Out, Bits<8>>,
    /// `y_out` and `tag_out` hold a result.
    pub valid_out: Signal<Out, Bit>,
    /// The `tag_in` of the input `y_out` was computed from.
    pub tag_out: Signal<Out, Bits<16>>,

    // Stage 1.
    s1_a: DFF<Bits<32>>,
    s1_m: DFF<Bits<32>>,
    s1_neg: DFF<Bit>,
    s1_sat: DFF<Bit>,
    // Stage 2.
    s2_p00: DFF<Bits<32>>,
    s2_p01: DFF<Bits<32>>,
    s2_p10: DFF<Bits<32>>,
    s2_p11: DFF<Bits<32>>,
    s2_neg: DFF<Bit>,
    s2_sat: DFF<Bit>,
    // Stage 3.
    s3_mid: DFF<Bits<33>>,
    s3_outer: DFF<Bits<64>>,
    s3_neg: DFF<Bit>,
    s3_sat: DFF<Bit>,
    // Stage 4.
    s4_mag: DFF<Bits<64>>,
    s4_neg: DFF<Bit>,
    s4_sat: DFF<Bit>,
    // Stage 5.
    s5_x: DFF<Bits<32>>,
    // Stage 6.
    s6_shifted: DFF<Bits<32>>,
    s6_rem: DFF<Bits<32>>,
    s6_thr: DFF<Bits<32>>,
    // Stage 7.
    s7_shifted: DFF<Bits<32>>,
    s7_round: DFF<Bit>,
    // Stage 8.
    s8_q: DFF<Bits<32>>,
    // Stage 9.
    s9_sum: DFF<Bits<34>>,
    s9_lo: DFF<Bits<34>>,
    // Stage 10.
    s10_y: DFF<Bits<8>>,

    // Parameters and tag travelling beside the data (index = stage - 1).
    p_shift: [DFF<Bits<5>>; 6],
    p_zp: [DFF<Bits<8>>; 9],
    p_relu: [DFF<Bit>; 9],
    p_valid: [DFF<Bit>; REQUANT_LATENCY],
    p_tag: [DFF<Bits<16>>; REQUANT_LATENCY],

    // Combinational helpers.
    a_lo: Signal<Local, Bits<16>>,
    a_hi: Signal<Local, Bits<16>>,
    m_lo: Signal<Local, Bits<16>>,
    m_hi: Signal<Local, Bits<16>>,
    p11_wide: Signal<Local, Bits<64>>,
    p00_wide: Signal<Local, Bits<64>>,
    mid_wide: Signal<Local, Bits<64>>,
    signed_prod: Signal<Local, Bits<64>>,
    rounded_prod: Signal<Local, Bits<64>>,
    mask: Signal<Local, Bits<32>>,
    zp_wide: Signal<Local, Bits<34>>,
    q_wide: Signal<Local, Bits<34>>,
    lo_wide: Signal<Local, Bits<34>>,

    c_int_min: Constant<Bits<32>>,
    c_int_max: Constant<Bits<32>>,
    c_one32: Constant<Bits<32>>,
    c_ones32: Constant<Bits<32>>,
    c_nudge_pos: Constant<Bits<64>>,
    c_nudge_neg: Constant<Bits<64>>,
    c_sext8: Constant<Bits<34>>,
    c_sext32: Constant<Bits<34>>,
    c_bias34: Constant<Bits<34>>,
    c_hi_biased: Constant<Bits<34>>,
    c_minus128_biased: Constant<Bits<34>>,
    c_y_max: Constant<Bits<8>>,
}

impl Default for Requantiser {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            acc_in: Default::default(),
            multiplier_in: Default::default(),
            shift_in: Default::default(),
            zero_point_in: Default::default(),
            relu_in: Default::default(),
            valid_in: Default::default(),
            tag_in: Default::default(),
            y_out: Default::default(),
            valid_out: Default::default(),
            tag_out: Default::default(),
            s1_a: Default::default(),
            s1_m: Default::default(),
            s1_neg: Default::default(),
            s1_sat: Default::default(),
            s2_p00: Default::default(),
            s2_p01: Default::default(),
            s2_p10: Default::default(),
            s2_p11: Default::default(),
            s2_neg: Default::default(),
            s2_sat: Default::default(),
            s3_mid: Default::default(),
            s3_outer: Default::default(),
            s3_neg: Default::default(),
            s3_sat: Default::default(),
            s4_mag: Default::default(),
            s4_neg: Default::default(),
            s4_sat: Default::default(),
            s5_x: Default::default(),
            s6_shifted: Default::default(),
            s6_rem: Default::default(),
            s6_thr: Default::default(),
            s7_shifted: Default::default(),
            s7_round: Default::default(),
            s8_q: Default::default(),
            s9_sum: Default::default(),
            s9_lo: Default::default(),
            s10_y: Default::default(),
            p_shift: std::array::from_fn(|_| Default::default()),
            p_zp: std::array::from_fn(|_| Default::default()),
            p_relu: std::array::from_fn(|_| Default::default()),
            p_valid: std::array::from_fn(|_| Default::default()),
            p_tag: std::array::from_fn(|_| Default::default()),
            a_lo: Default::default(),
            a_hi: Default::default(),
            m_lo: Default::default(),
            m_hi: Default::default(),
            p11_wide: Default::default(),
            p00_wide: Default::default(),
            mid_wide: Default::default(),
            signed_prod: Default::default(),
            rounded_prod: Default::default(),
            mask: Default::default(),
            zp_wide: Default::default(),
            q_wide: Default::default(),
            lo_wide: Default::default(),
            c_int_min: Constant::new(0x8000_0000u64.to_bits()),
            c_int_max: Constant::new(0x7FFF_FFFFu64.to_bits()),
            c_one32: Constant::new(1u64.to_bits()),
            c_ones32: Constant::new(0xFFFF_FFFFu64.to_bits()),
            c_nudge_pos: Constant::new((1u64 << 30).to_bits()),
            c_nudge_neg: Constant::new(((1u64 << 30) + 1).to_bits()),
            c_sext8: Constant::new((((1u64 << 34) - 1) ^ 0xFF).to_bits()),
            c_sext32: Constant::new((((1u64 << 34) - 1) ^ 0xFFFF_FFFF).to_bits()),
            c_bias34: Constant::new((1u64 << 33).to_bits()),
            c_hi_biased: Constant::new(((1u64 << 33) + 127).to_bits()),
            c_minus128_biased: Constant::new(((1u64 << 33) - 128).to_bits()),
            c_y_max: Constant::new(127u64.to_bits()),
        }
    }
}

impl Logic for Requantiser {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, s1_a, s1_m, s1_neg, s1_sat, s2_p00, s2_p01, s2_p10, s2_p11, s2_neg,
            s2_sat, s3_mid, s3_outer, s3_neg, s3_sat, s4_mag, s4_neg, s4_sat, s5_x, s6_shifted,
            s6_rem, s6_thr, s7_shifted, s7_round, s8_q, s9_sum, s9_lo, s10_y
        );
        for i in 0..6 {
            self.p_shift[i].clock.next = self.clock.val();
        }
        for i in 0..9 {
            self.p_zp[i].clock.next = self.clock.val();
            self.p_relu[i].clock.next = self.clock.val();
        }
        for i in 0..REQUANT_LATENCY {
            self.p_valid[i].clock.next = self.clock.val();
            self.p_tag[i].clock.next = self.clock.val();
        }
        // Side channels: parameters, valid and tag move one stage per clock.
        self.p_shift[0].d.next = self.shift_in.val();
        for i in 1..6 {
            self.p_shift[i].d.next = self.p_shift[i - 1].q.val();
        }
        self.p_zp[0].d.next = self.zero_point_in.val();
        self.p_relu[0].d.next = self.relu_in.val();
        for i in 1..9 {
            self.p_zp[i].d.next = self.p_zp[i - 1].q.val();
            self.p_relu[i].d.next = self.p_relu[i - 1].q.val();
        }
        self.p_valid[0].d.next = self.valid_in.val();
        self.p_tag[0].d.next = self.tag_in.val();
        for i in 1..REQUANT_LATENCY {
            self.p_valid[i].d.next = self.p_valid[i - 1].q.val();
            self.p_tag[i].d.next = self.p_tag[i - 1].q.val();
        }

        // Stage 1: magnitudes, sign, saturation case.
        self.s1_a.d.next = self.acc_in.val();
        if self.acc_in.val().get_bit(31) {
            self.s1_a.d.next = (!self.acc_in.val()) + self.c_one32.val();
        }
        self.s1_m.d.next = self.multiplier_in.val();
        if self.multiplier_in.val().get_bit(31) {
            self.s1_m.d.next = (!self.multiplier_in.val()) + self.c_one32.val();
        }
        self.s1_neg.d.next = self.acc_in.val().get_bit(31) ^ self.multiplier_in.val().get_bit(31);
        self.s1_sat.d.next = (self.acc_in.val() == self.c_int_min.val())
            & (self.multiplier_in.val() == self.c_int_min.val());

        // Stage 2: four 16x16 partial products.
        self.a_lo.next = self.s1_a.q.val().get_bits::<16>(0);
        self.a_hi.next = self.s1_a.q.val().get_bits::<16>(16);
        self.m_lo.next = self.s1_m.q.val().get_bits::<16>(0);
        self.m_hi.next = self.s1_m.q.val().get_bits::<16>(16);
        self.s2_p00.d.next = self.a_lo.val() * self.m_lo.val();
        self.s2_p01.d.next = self.a_lo.val() * self.m_hi.val();
        self.s2_p10.d.next = self.a_hi.val() * self.m_lo.val();
        self.s2_p11.d.next = self.a_hi.val() * self.m_hi.val();
        self.s2_neg.d.next = self.s1_neg.q.val();
        self.s2_sat.d.next = self.s1_sat.q.val();

        // Stage 3: middle sum; outer products side by side.
        self.s3_mid.d.next =
            bit_cast::<33, 32>(self.s2_p01.q.val()) + bit_cast::<33, 32>(self.s2_p10.q.val());
        self.p11_wide.next = bit_cast::<64, 32>(self.s2_p11.q.val());
        self.p00_wide.next = bit_cast::<64, 32>(self.s2_p00.q.val());
        self.s3_outer.d.next = (self.p11_wide.val() << 32) | self.p00_wide.val();
        self.s3_neg.d.next = self.s2_neg.q.val();
        self.s3_sat.d.next = self.s2_sat.q.val();

        // Stage 4: |acc * M0| in 64 bits.
        self.mid_wide.next = bit_cast::<64, 33>(self.s3_mid.q.val());
        self.s4_mag.d.next = self.s3_outer.q.val() + (self.mid_wide.val() << 16);
        self.s4_neg.d.next = self.s3_neg.q.val();
        self.s4_sat.d.next = self.s3_sat.q.val();

        // Stage 5: SRDHM = (acc*M0 + 2^30) >> 31; -mag = ~mag + 1.
        self.signed_prod.next = self.s4_mag.q.val();
        self.rounded_prod.next = self.s4_mag.q.val() + self.c_nudge_pos.val();
        if self.s4_neg.q.val() {
            self.signed_prod.next = !self.s4_mag.q.val();
            self.rounded_prod.next = self.signed_prod.val() + self.c_nudge_neg.val();
        }
        self.s5_x.d.next = self.rounded_prod.val().get_bits::<32>(31);
        if self.s4_sat.q.val() {
            self.s5_x.d.next = self.c_int_max.val();
        }

        // Stage 6: arithmetic shift, remainder, threshold.
        self.mask.next = !(self.c_ones32.val() << self.p_shift[4].q.val());
        self.s6_shifted.d.next = self.s5_x.q.val() >> self.p_shift[4].q.val();
        self.s6_thr.d.next = self.mask.val() >> 1;
        if self.s5_x.q.val().get_bit(31) {
            self.s6_shifted.d.next = !((!self.s5_x.q.val()) >> self.p_shift[4].q.val());
            self.s6_thr.d.next = (self.mask.val() >> 1) + self.c_one32.val();
        }
        self.s6_rem.d.next = self.s5_x.q.val() & self.mask.val();

        // Stage 7: rounding decision.
        self.s7_round.d.next = self.s6_rem.q.val() > self.s6_thr.q.val();
        self.s7_shifted.d.next = self.s6_shifted.q.val();

        // Stage 8: rounded quotient.
        self.s8_q.d.next = self.s7_shifted.q.val();
        if self.s7_round.q.val() {
            self.s8_q.d.next = self.s7_shifted.q.val() + self.c_one32.val();
        }

        // Stage 9: zp + q in 34 bits, biased by 2^33 so that unsigned
        // comparison is signed comparison; the biased lower bound.
        self.zp_wide.next = bit_cast::<34, 8>(self.p_zp[7].q.val());
        if self.p_zp[7].q.val().get_bit(7) {
            self.zp_wide.next = bit_cast::<34, 8>(self.p_zp[7].q.val()) | self.c_sext8.val();
        }
        self.q_wide.next = bit_cast::<34, 32>(self.s8_q.q.val());
        if self.s8_q.q.val().get_bit(31) {
            self.q_wide.next = bit_cast::<34, 32>(self.s8_q.q.val()) | self.c_sext32.val();
        }
        self.s9_sum.d.next = (self.zp_wide.val() + self.q_wide.val()) ^ self.c_bias34.val();
        self.lo_wide.next = self.c_minus128_biased.val();
        if self.p_relu[7].q.val() {
            self.lo_wide.next = self.zp_wide.val() ^ self.c_bias34.val();
        }
        self.s9_lo.d.next = self.lo_wide.val();

        // Stage 10: clamp to [lo, 127].
        self.s10_y.d.next = self.s9_sum.q.val().get_bits::<8>(0);
        if self.s9_sum.q.val() < self.s9_lo.q.val() {
            self.s10_y.d.next = self.s9_lo.q.val().get_bits::<8>(0);
        }
        if self.s9_sum.q.val() > self.c_hi_biased.val() {
            self.s10_y.d.next = self.c_y_max.val();
        }

        self.y_out.next = self.s10_y.q.val();
        self.valid_out.next = self.p_valid[9].q.val();
        self.tag_out.next = self.p_tag[9].q.val();
    }
}

/// One clock's inputs of [`Requantiser`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequantIn {
    /// The accumulator.
    pub acc: i32,
    /// The requantisation parameters.
    pub params: RequantParams,
    /// `valid_in`.
    pub valid: bool,
    /// `tag_in`.
    pub tag: u16,
}

/// [`Requant`] with a `Default` (zero multiplier, shift 0, zp 0, no ReLU).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequantParams {
    /// M0.
    pub multiplier: i32,
    /// Shift, 0..=31.
    pub shift: u8,
    /// Output zero point.
    pub zero_point: i8,
    /// ReLU.
    pub relu: bool,
}

impl RequantParams {
    /// As the spec's type.
    pub fn spec(&self) -> Requant {
        Requant {
            multiplier: self.multiplier,
            shift: self.shift,
            output_zero_point: self.zero_point,
            relu: self.relu,
        }
    }
}

/// One clock's outputs of [`Requantiser`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequantOut {
    /// `y_out` (meaningful with `valid`).
    pub y: i8,
    /// `valid_out`.
    pub valid: bool,
    /// `tag_out` (meaningful with `valid`).
    pub tag: u16,
}

/// Cycle-level reference model of [`Requantiser`]: [`Requant::apply`]
/// behind a [`REQUANT_LATENCY`]-deep delay line. Outputs of invalid slots
/// are reported as `RequantOut::default()` (the hardware's `y_out`/`tag_out`
/// are then don't-care).
#[derive(Clone, Debug)]
pub struct RequantiserModel {
    line: VecDeque<RequantOut>,
}

impl Default for RequantiserModel {
    fn default() -> Self {
        Self {
            line: std::iter::repeat_n(RequantOut::default(), REQUANT_LATENCY).collect(),
        }
    }
}

impl RequantiserModel {
    /// One clock: the outputs during this clock, then takes this clock's input.
    pub fn step(&mut self, input: RequantIn) -> RequantOut {
        let out = self.line.pop_front().expect("delay line");
        self.line.push_back(if input.valid {
            RequantOut {
                y: input.params.spec().apply(input.acc),
                valid: true,
                tag: input.tag,
            }
        } else {
            RequantOut::default()
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::Model;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Edge-case values for acc and M0.
    const EDGES: [i32; 9] = [
        i32::MIN,
        i32::MIN + 1,
        -(1 << 30),
        -1,
        0,
        1,
        1 << 30,
        i32::MAX - 1,
        i32::MAX,
    ];

    /// A random int32 of random magnitude (so that both clamped and
    /// in-range outputs occur).
    fn scaled_i32(rng: &mut ChaCha8Rng) -> i32 {
        let bits = rng.gen_range(0..=32u32);
        let v = if bits == 32 {
            rng.gen::<u32>()
        } else {
            rng.gen::<u32>() & ((1u32 << bits) - 1)
        } as i32;
        if bits < 32 && rng.gen_bool(0.5) {
            v.wrapping_neg()
        } else {
            v
        }
    }

    fn random_params(rng: &mut ChaCha8Rng) -> RequantParams {
        RequantParams {
            multiplier: match rng.gen_range(0..4) {
                // Realistic: M0 in [2^30, 2^31).
                0 | 1 => rng.gen_range(1 << 30..=i32::MAX),
                2 => rng.gen(),
                _ => scaled_i32(rng),
            },
            shift: rng.gen_range(0..=31),
            zero_point: rng.gen(),
            relu: rng.gen(),
        }
    }

    fn stimulus() -> Vec<RequantIn> {
        let mut rng = ChaCha8Rng::seed_from_u64(0x4EC0_0001);
        let mut v = Vec::new();
        // Every edge acc x edge M0 x shift {0, 1, 30, 31} x zp {-128, -1, 0,
        // 127} x relu.
        for &acc in &EDGES {
            for &m in &EDGES {
                for shift in [0u8, 1, 30, 31] {
                    for zp in [-128i8, -1, 0, 127] {
                        for relu in [false, true] {
                            v.push(RequantIn {
                                acc,
                                params: RequantParams {
                                    multiplier: m,
                                    shift,
                                    zero_point: zp,
                                    relu,
                                },
                                valid: true,
                                tag: rng.gen(),
                            });
                        }
                    }
                }
            }
        }
        // Random vectors, with occasional invalid clocks.
        for _ in 0..150_000 {
            let mut params = random_params(&mut rng);
            if rng.gen_ratio(1, 20) {
                params.zero_point = [-128, 127][rng.gen_range(0..2)];
            }
            let acc = if rng.gen_ratio(1, 20) {
                EDGES[rng.gen_range(0..EDGES.len())]
            } else {
                scaled_i32(&mut rng)
            };
            v.push(RequantIn {
                acc,
                params,
                valid: !rng.gen_ratio(1, 10),
                tag: rng.gen(),
            });
        }
        v
    }

    /// The model against the spec on the edge cases the spec's own tests pin.
    #[test]
    fn requantiser_model_known_values() {
        let mut m = RequantiserModel::default();
        let p = RequantParams {
            multiplier: i32::MIN,
            shift: 0,
            zero_point: 0,
            relu: false,
        };
        m.step(RequantIn {
            acc: i32::MIN,
            params: p,
            valid: true,
            tag: 7,
        });
        for _ in 1..REQUANT_LATENCY {
            assert!(!m.step(RequantIn::default()).valid);
        }
        let out = m.step(RequantIn::default());
        assert_eq!(
            out,
            RequantOut {
                y: 127,
                valid: true,
                tag: 7
            }
        );
    }

    #[test]
    fn requantiser_matches_the_model() {
        let mut uut = Requantiser::default();
        uut.connect_all();
        let mut hw = Model::of_block(&uut).unwrap();
        let clk = hw.p("clock");
        let (acc, mul, sh, zp, relu, vi, ti) = (
            hw.p("acc_in"),
            hw.p("multiplier_in"),
            hw.p("shift_in"),
            hw.p("zero_point_in"),
            hw.p("relu_in"),
            hw.p("valid_in"),
            hw.p("tag_in"),
        );
        let (yo, vo, to) = (hw.p("y_out"), hw.p("valid_out"), hw.p("tag_out"));
        let mut stim = stimulus();
        // Flush the pipeline before comparing.
        let flush = vec![RequantIn::default(); REQUANT_LATENCY];
        stim.splice(0..0, flush.iter().copied());
        stim.extend(flush);
        let mut model = RequantiserModel::default();
        let (mut checked, mut in_range, mut low, mut high) = (0usize, 0usize, 0usize, 0usize);
        for (t, inp) in stim.iter().enumerate() {
            hw.set(clk, 0);
            hw.set(acc, inp.acc as u32 as u64);
            hw.set(mul, inp.params.multiplier as u32 as u64);
            hw.set(sh, inp.params.shift as u64);
            hw.set(zp, inp.params.zero_point as u8 as u64);
            hw.set(relu, inp.params.relu as u64);
            hw.set(vi, inp.valid as u64);
            hw.set(ti, inp.tag as u64);
            hw.eval();
            let want = model.step(*inp);
            let valid = hw.get(vo) == 1;
            if t >= REQUANT_LATENCY {
                assert_eq!(valid, want.valid, "valid_out, clock {t}");
            }
            if valid && t >= REQUANT_LATENCY {
                let got = RequantOut {
                    y: hw.get(yo) as u8 as i8,
                    valid,
                    tag: hw.get(to) as u16,
                };
                let src = stim[t - REQUANT_LATENCY];
                assert_eq!(got, want, "clock {t}, input {src:?}");
                checked += 1;
                if want.y == 127 {
                    high += 1;
                } else if i32::from(want.y) == src.params.spec().low() {
                    low += 1;
                } else {
                    in_range += 1;
                }
            }
            hw.set(clk, 1);
            hw.eval();
        }
        println!(
            "requantiser: {} clocks, {checked} outputs compared \
             ({in_range} inside the clamp range, {low} at the low bound, {high} at 127)",
            stim.len()
        );
        assert!(checked >= 100_000);
        assert!(in_range > checked / 10, "too few unclamped outputs");
        assert!(low > 1000 && high > 1000);
    }

    #[test]
    fn requantiser_is_synthesizable() {
        let mut uut = Requantiser::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "mac_requantiser").unwrap();
        println!("Requantiser: {report}");
        assert_eq!(report.dsps(), 4, "{report}");
        assert!(report.luts() < 1500, "{report}");
    }
}

//! The exact integer arithmetic of an int8 layer (the TensorFlow Lite /
//! gemmlowp convention), shared by the gateware's reference models and the
//! host's reference inference.
//!
//! A layer with `K` inputs and `N` outputs computes, for output channel `j`:
//!
//! ```text
//! acc[j] = bias[j] + sum_i x[i] * w[j][i]            (int32; the host folds
//!                                                     the input zero point
//!                                                     into bias)
//! y[j]   = clamp(zp_out + RDBPOT(SRDHM(acc[j], M0[j]), s[j]), lo, 127)
//! lo     = zp_out if the layer has ReLU, else -128
//! ```
//!
//! All intermediates are 64-bit; divisions truncate toward zero as in C.

/// Saturating rounding doubling high multiply (gemmlowp's
/// `SaturatingRoundingDoublingHighMul`): the high 32 bits of `2 * a * b`,
/// rounded to nearest with ties toward positive infinity (the nudge and C
/// division make -1.5 round to -1 and 1.5 to 2), saturating the single
/// overflow case `INT32_MIN * INT32_MIN` to `INT32_MAX`.
pub fn srdhm(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = (a as i64) * (b as i64);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Rust's `/` on integers truncates toward zero, like C.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// Rounding divide by a power of two (gemmlowp's `RoundingDivideByPOT`):
/// `x / 2^exponent` rounded to nearest, ties away from zero.
///
/// # Panics
/// If `exponent > 31`.
pub fn rdbpot(x: i32, exponent: u32) -> i32 {
    assert!(exponent <= 31, "shift {exponent} out of range 0..=31");
    let mask: i32 = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// The per-output-channel requantisation parameters of a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requant {
    /// Fixed-point multiplier M0 in Q31.
    pub multiplier: i32,
    /// Right shift, 0..=31.
    pub shift: u8,
    /// Output zero point, -128..=127.
    pub output_zero_point: i8,
    /// Whether the layer clamps at the output zero point (ReLU).
    pub relu: bool,
}

impl Requant {
    /// The lower clamp bound: the output zero point with ReLU, else -128.
    pub fn low(&self) -> i32 {
        if self.relu {
            self.output_zero_point as i32
        } else {
            -128
        }
    }

    /// Requantise one int32 accumulator to int8.
    ///
    /// The sum `zp_out + RDBPOT(..)` is formed in 64 bits so that no input
    /// can overflow before the clamp.
    pub fn apply(&self, acc: i32) -> i8 {
        let scaled = rdbpot(srdhm(acc, self.multiplier), u32::from(self.shift));
        let y = (self.output_zero_point as i64) + (scaled as i64);
        y.clamp(self.low() as i64, 127) as i8
    }
}

/// One int32 accumulator: `bias + sum_i x[i] * w[i]`, wrapping in two's
/// complement as the hardware's 32-bit accumulator does (it cannot wrap for
/// fewer than 131,072 inputs).
pub fn dot(bias: i32, x: &[i8], w: &[i8]) -> i32 {
    assert_eq!(x.len(), w.len(), "input and weight rows differ in length");
    x.iter().zip(w).fold(bias, |acc, (&a, &b)| {
        acc.wrapping_add((a as i32) * (b as i32))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srdhm_known_values() {
        assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX);
        assert_eq!(srdhm(i32::MAX, i32::MAX), i32::MAX - 1);
        assert_eq!(srdhm(i32::MIN, i32::MAX), -i32::MAX);
        assert_eq!(srdhm(1 << 30, 1 << 30), 1 << 29);
        // 1.5 and -1.5 in the result's LSB: ties round up.
        assert_eq!(srdhm(3, 1 << 30), 2);
        assert_eq!(srdhm(-3, 1 << 30), -1);
        assert_eq!(srdhm(1, 1 << 30), 1);
        assert_eq!(srdhm(-1, 1 << 30), 0);
        assert_eq!(srdhm(-5, 1 << 29), -1);
        assert_eq!(srdhm(0, i32::MIN), 0);
    }

    #[test]
    fn rdbpot_known_values() {
        assert_eq!(rdbpot(5, 1), 3);
        assert_eq!(rdbpot(-5, 1), -3);
        assert_eq!(rdbpot(4, 1), 2);
        assert_eq!(rdbpot(7, 2), 2);
        assert_eq!(rdbpot(6, 2), 2);
        assert_eq!(rdbpot(-6, 2), -2);
        assert_eq!(rdbpot(-7, 2), -2);
        assert_eq!(rdbpot(i32::MIN, 31), -1);
        assert_eq!(rdbpot(i32::MAX, 31), 1);
        assert_eq!(rdbpot(12345, 0), 12345);
    }

    /// Against an independent formulation with exact rational rounding.
    #[test]
    fn srdhm_and_rdbpot_match_exact_rounding() {
        let mut s: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for _ in 0..200_000 {
            let a = next() as i32;
            let b = next() as i32;
            if a == i32::MIN && b == i32::MIN {
                continue;
            }
            // floor(a*b / 2^31 + 1/2): round half up
            let p = (a as i128) * (b as i128);
            let q = 1i128 << 31;
            let r = (p + q / 2).div_euclid(q);
            assert_eq!(srdhm(a, b) as i128, r, "srdhm({a}, {b})");
            let e = (next() % 32) as u32;
            let x = next() as i32;
            let d = 1i128 << e;
            let xr = x as i128;
            let r = if xr >= 0 {
                (xr + d / 2) / d
            } else {
                -((-xr + d / 2) / d)
            };
            // ties away from zero
            let r = if e == 0 { xr } else { r };
            assert_eq!(rdbpot(x, e) as i128, r, "rdbpot({x}, {e})");
        }
    }

    #[test]
    fn requant_clamps_and_relu() {
        let q = Requant {
            multiplier: i32::MAX,
            shift: 0,
            output_zero_point: -5,
            relu: true,
        };
        assert_eq!(q.apply(1000), 127);
        assert_eq!(q.apply(-1000), -5);
        assert_eq!(q.apply(3), -2);
        let q = Requant { relu: false, ..q };
        assert_eq!(q.apply(-1000), -128);
        assert_eq!(q.apply(i32::MIN), -128);
        assert_eq!(q.apply(i32::MAX), 127);
    }

    #[test]
    fn dot_accumulates() {
        assert_eq!(dot(10, &[-128, 127], &[-128, -128]), 10 + 16384 - 16256);
        assert_eq!(dot(0, &[], &[]), 0);
    }
}

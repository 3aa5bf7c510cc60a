//! Small floating-point helpers that `core` lacks (it has no `log10`).
//!
//! Only basic arithmetic and bit manipulation are used, so this works on
//! targets without an FPU and without `std`/`libm`.

use core::f64::consts::{LN_2, LOG10_E, SQRT_2};

/// Base-10 logarithm of `x`.
///
/// `log10(0) = -inf`, `log10(+inf) = +inf`, `log10(x < 0) = NaN`,
/// `log10(NaN) = NaN`. For finite positive inputs the absolute error is
/// below 1e-6, far better than the 0.001 needed to quote dBm to 0.01 dB.
pub(crate) fn log10(x: f32) -> f32 {
    if x.is_nan() || x < 0.0 {
        return f32::NAN;
    }
    if x == 0.0 {
        return f32::NEG_INFINITY;
    }
    if x.is_infinite() {
        return f32::INFINITY;
    }
    // Every f32 (subnormals included) is a normal f64, so the exponent and
    // mantissa can be read straight from the f64 encoding.
    let bits = f64::from(x).to_bits();
    // The biased exponent is 11 bits wide, so the cast is lossless.
    let mut exponent = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    // m is in [1, 2); move it to [sqrt(1/2), sqrt(2)) so that the series
    // argument below stays small.
    if m > SQRT_2 {
        m *= 0.5;
        exponent += 1;
    }
    // ln(m) = 2 * atanh(s) = 2 * (s + s^3/3 + s^5/5 + ...), s = (m-1)/(m+1),
    // |s| <= 0.1716; eight terms leave a remainder below 1e-14.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut power = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    for _ in 0..8 {
        sum += power / k;
        power *= s2;
        k += 2.0;
    }
    let ln = f64::from(exponent) * LN_2 + 2.0 * sum;
    (ln * LOG10_E) as f32
}

#[cfg(test)]
mod tests {
    use super::log10;

    #[test]
    fn exact_powers_of_ten() {
        for (x, want) in [
            (1.0f32, 0.0f32),
            (10.0, 1.0),
            (100.0, 2.0),
            (0.1, -1.0),
            (1e-4, -4.0),
            (1e30, 30.0),
        ] {
            assert!((log10(x) - want).abs() < 1e-6, "log10({x}) = {}", log10(x));
        }
    }

    #[test]
    fn special_values() {
        assert_eq!(log10(0.0), f32::NEG_INFINITY);
        assert_eq!(log10(-0.0), f32::NEG_INFINITY);
        assert_eq!(log10(f32::INFINITY), f32::INFINITY);
        assert!(log10(-1.0).is_nan());
        assert!(log10(f32::NAN).is_nan());
        // Smallest subnormal: 2^-149.
        let want = -149.0 * core::f64::consts::LOG10_2;
        assert!((f64::from(log10(f32::from_bits(1))) - want).abs() < 1e-4);
    }

    #[test]
    fn matches_std_over_sff8472_power_range() {
        // Every 0.1 uW step from 0.1 uW to 6.5535 mW, sampled.
        let mut raw: u32 = 1;
        while raw <= 65535 {
            let mw = raw as f32 / 10_000.0;
            let want = f64::from(mw).log10();
            let got = f64::from(log10(mw));
            assert!((got - want).abs() < 1e-6, "raw {raw}: {got} vs {want}");
            raw += 7;
        }
    }
}

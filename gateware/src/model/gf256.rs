//! Arithmetic in GF(2^8), the symbol field of the RS(255,239) code.
//!
//! The field is built as GF(2)\[x\] / p(x) with the primitive polynomial
//! `p(x) = x^8 + x^4 + x^3 + x^2 + 1` ([`POLY`] = `0x11D`), and the primitive
//! element `a = x` (the byte `0x02`). This is the field used by ITU-T G.709
//! for its RS(255,239) FEC.
//!
//! A field element is a `u8` whose bit `k` is the coefficient of `x^k`.
//! Addition and subtraction are both XOR.
//!
//! Multiplication, division and powers go through the [`EXP`] and [`LOG`]
//! tables, which are computed at compile time by a `const fn`; the same tables
//! can be emitted into the gateware as ROM contents. An independent
//! shift-and-add multiplier, [`mul_slow`], mirrors what a combinational
//! hardware multiplier does and serves as a cross-check.
//!
//! # Polynomials
//!
//! The polynomial helpers in this module work on slices of coefficients in
//! **ascending** order: `p[i]` is the coefficient of `x^i`. (The RS codeword
//! itself is stored in the opposite, transmission order; see
//! [`super::rs`] and [`poly_eval_msb_first`].)

/// The field polynomial `x^8 + x^4 + x^3 + x^2 + 1`, including the `x^8` term.
pub const POLY: u16 = 0x11D;

/// The primitive element `a` (the polynomial `x`).
pub const ALPHA: u8 = 0x02;

/// Multiplicative order of [`ALPHA`]: the number of non-zero field elements.
pub const ORDER: usize = 255;

/// Builds the exponential and logarithm tables at compile time.
///
/// `exp[i] = a^(i mod 255)` for `i` in `0..512`, so that the sum of two
/// logarithms can index `exp` without a modulo reduction. `log[a^i] = i` for
/// `i` in `0..255`; `log[0]` is meaningless and set to 0.
const fn build_tables() -> ([u8; 512], [u8; 256]) {
    let mut exp = [0u8; 512];
    let mut log = [0u8; 256];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < ORDER {
        exp[i] = x as u8;
        log[x as usize] = i as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= POLY;
        }
        i += 1;
    }
    // Replicate the period so that exp[i] = a^(i mod 255) for all i < 512.
    let mut j = ORDER;
    while j < 512 {
        exp[j] = exp[j - ORDER];
        j += 1;
    }
    (exp, log)
}

const TABLES: ([u8; 512], [u8; 256]) = build_tables();

/// Antilogarithm table: `EXP[i] = a^(i mod 255)` for `i` in `0..512`.
pub const EXP: [u8; 512] = TABLES.0;

/// Logarithm table: `LOG[a^i] = i` for `i` in `0..255`. `LOG[0]` is 0 but has
/// no meaning (zero has no logarithm); use [`log()`] for a checked version.
pub const LOG: [u8; 256] = TABLES.1;

/// Field addition (and subtraction): bitwise XOR.
#[inline]
pub const fn add(a: u8, b: u8) -> u8 {
    a ^ b
}

/// Field multiplication through the log/antilog tables.
#[inline]
pub const fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        EXP[LOG[a as usize] as usize + LOG[b as usize] as usize]
    }
}

/// Field multiplication by shift-and-add with reduction modulo [`POLY`].
///
/// This is the bit-serial form a combinational hardware multiplier unrolls;
/// it does not use the tables and serves as an independent reference for
/// [`mul`].
pub const fn mul_slow(a: u8, b: u8) -> u8 {
    let mut acc: u8 = 0;
    let mut aa: u16 = a as u16;
    let mut bb = b;
    while bb != 0 {
        if bb & 1 != 0 {
            acc ^= aa as u8;
        }
        aa <<= 1;
        if aa & 0x100 != 0 {
            aa ^= POLY;
        }
        bb >>= 1;
    }
    acc
}

/// `a^i` for any exponent `i` (reduced modulo 255).
#[inline]
pub const fn exp(i: usize) -> u8 {
    EXP[i % ORDER]
}

/// Discrete logarithm to base `a`: the `i` in `0..255` with `a^i = x`, or
/// `None` for `x = 0`.
#[inline]
pub const fn log(x: u8) -> Option<u8> {
    if x == 0 {
        None
    } else {
        Some(LOG[x as usize])
    }
}

/// Multiplicative inverse.
///
/// # Panics
///
/// Panics if `a` is zero.
#[inline]
pub const fn inv(a: u8) -> u8 {
    assert!(a != 0, "gf256: inverse of zero");
    EXP[ORDER - LOG[a as usize] as usize]
}

/// Field division `a / b`.
///
/// # Panics
///
/// Panics if `b` is zero.
#[inline]
pub const fn div(a: u8, b: u8) -> u8 {
    assert!(b != 0, "gf256: division by zero");
    if a == 0 {
        0
    } else {
        EXP[LOG[a as usize] as usize + ORDER - LOG[b as usize] as usize]
    }
}

/// `x^e` with the convention `0^0 = 1`.
#[inline]
pub const fn pow(x: u8, e: u32) -> u8 {
    if e == 0 {
        1
    } else if x == 0 {
        0
    } else {
        let l = (LOG[x as usize] as u64 * e as u64) % ORDER as u64;
        EXP[l as usize]
    }
}

/// Evaluates a polynomial with coefficients in ascending order (`p[i]` is the
/// coefficient of `x^i`) at `x`, by Horner's rule from the top coefficient.
pub fn poly_eval(p: &[u8], x: u8) -> u8 {
    p.iter().rev().fold(0u8, |acc, &c| mul(acc, x) ^ c)
}

/// Evaluates a polynomial with coefficients in descending order (`p[0]` is the
/// coefficient of the highest power `x^(len-1)`) at `x`.
///
/// This is the order in which RS codeword bytes are stored and transmitted,
/// and the order a hardware syndrome accumulator consumes them in.
pub fn poly_eval_msb_first(p: &[u8], x: u8) -> u8 {
    p.iter().fold(0u8, |acc, &c| mul(acc, x) ^ c)
}

/// Sum of two polynomials in ascending order; the result has the length of
/// the longer operand.
pub fn poly_add(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len().max(b.len())];
    for (o, &c) in out.iter_mut().zip(a) {
        *o ^= c;
    }
    for (o, &c) in out.iter_mut().zip(b) {
        *o ^= c;
    }
    out
}

/// Product of a polynomial (ascending order) and a scalar.
pub fn poly_scale(p: &[u8], s: u8) -> Vec<u8> {
    p.iter().map(|&c| mul(c, s)).collect()
}

/// Product of two polynomials in ascending order. The result has
/// `a.len() + b.len() - 1` coefficients (empty if either operand is empty).
pub fn poly_mul(a: &[u8], b: &[u8]) -> Vec<u8> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0u8; a.len() + b.len() - 1];
    for (i, &ca) in a.iter().enumerate() {
        if ca == 0 {
            continue;
        }
        for (j, &cb) in b.iter().enumerate() {
            out[i + j] ^= mul(ca, cb);
        }
    }
    out
}

/// Formal derivative of a polynomial in ascending order.
///
/// In characteristic 2, `d/dx x^i = i·x^(i-1)` vanishes for even `i`, so the
/// derivative keeps only the odd-power coefficients, each moved down by one.
/// The result has `max(p.len(), 1) - 1` coefficients.
pub fn poly_derivative(p: &[u8]) -> Vec<u8> {
    p.iter()
        .enumerate()
        .skip(1)
        .map(|(i, &c)| if i % 2 == 1 { c } else { 0 })
        .collect()
}

/// Degree of a polynomial in ascending order, or `None` for the zero
/// polynomial.
pub fn poly_degree(p: &[u8]) -> Option<usize> {
    p.iter().rposition(|&c| c != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_is_primitive() {
        // a^i for i in 0..255 must visit every non-zero element exactly once.
        let mut seen = [false; 256];
        let mut x = 1u8;
        for i in 0..ORDER {
            assert!(!seen[x as usize], "a^{i} repeats");
            seen[x as usize] = true;
            x = mul_slow(x, ALPHA);
        }
        assert_eq!(x, 1, "a^255 must be 1");
        assert!(!seen[0]);
        assert_eq!(seen.iter().filter(|&&s| s).count(), 255);
    }

    #[test]
    fn tables_are_inverse() {
        for i in 0..512 {
            assert_eq!(EXP[i], EXP[i % 255]);
        }
        for i in 0..255usize {
            assert_eq!(LOG[EXP[i] as usize] as usize, i);
        }
        for x in 1..=255u8 {
            assert_eq!(EXP[LOG[x as usize] as usize], x);
            assert_eq!(log(x), Some(LOG[x as usize]));
        }
        assert_eq!(log(0), None);
        // Spot values that follow directly from the field polynomial.
        assert_eq!(exp(8), 0x1D);
        assert_eq!(exp(9), 0x3A);
        assert_eq!(exp(255), 1);
    }

    #[test]
    fn mul_matches_shift_and_add() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), mul_slow(a, b), "{a:#04x} * {b:#04x}");
            }
        }
    }

    #[test]
    fn inverse_and_division() {
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1);
            for b in 1..=255u8 {
                let q = div(a, b);
                assert_eq!(mul(q, b), a);
            }
        }
        assert_eq!(div(0, 7), 0);
    }

    #[test]
    #[should_panic(expected = "division by zero")]
    fn division_by_zero_panics() {
        let _ = div(1, 0);
    }

    #[test]
    fn pow_matches_repeated_multiplication() {
        for x in [0u8, 1, 2, 3, 0x53, 0x8E, 0xFF] {
            let mut acc = 1u8;
            for e in 0..600u32 {
                assert_eq!(pow(x, e), acc, "{x}^{e}");
                acc = mul(acc, x);
            }
        }
    }

    #[test]
    fn polynomial_helpers() {
        // (x + 1)(x + a) = x^2 + (1 + a) x + a
        let p = poly_mul(&[1, 1], &[ALPHA, 1]);
        assert_eq!(p, vec![ALPHA, 1 ^ ALPHA, 1]);
        assert_eq!(poly_eval(&p, 1), 0);
        assert_eq!(poly_eval(&p, ALPHA), 0);
        assert_ne!(poly_eval(&p, 4), 0);
        let rev: Vec<u8> = p.iter().rev().copied().collect();
        for x in 0..=255u8 {
            assert_eq!(poly_eval(&p, x), poly_eval_msb_first(&rev, x));
        }
        assert_eq!(poly_derivative(&[5, 6, 7, 8]), vec![6, 0, 8]);
        assert_eq!(poly_derivative(&[5]), Vec::<u8>::new());
        assert_eq!(poly_add(&[1, 2, 3], &[1, 2]), vec![0, 0, 3]);
        assert_eq!(poly_scale(&[1, 2], 2), vec![2, 4]);
        assert_eq!(poly_degree(&[1, 0, 3, 0]), Some(2));
        assert_eq!(poly_degree(&[0, 0]), None);
        assert!(poly_mul(&[], &[1]).is_empty());
    }
}

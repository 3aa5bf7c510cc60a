//! Reed-Solomon RS(255,239) over GF(2^8), as used by the ITU-T G.709 FEC.
//!
//! # Code definition
//!
//! * Symbols are bytes of [`gf256`] (field polynomial `0x11D`, `a = 0x02`).
//! * Generator `g(x) = (x - a^0)(x - a^1)···(x - a^15)`: sixteen consecutive
//!   roots starting at `a^0` (first consecutive root 0).
//! * Systematic: a codeword is 239 data bytes followed by 16 parity bytes,
//!   `c(x) = m(x)·x^16 + (m(x)·x^16 mod g(x))`.
//!
//! # Byte order
//!
//! A codeword is a `[u8; 255]` in **transmission order**: `cw[0]` is the
//! first byte sent and is the coefficient of the highest power, `x^254`;
//! `cw[i]` is the coefficient of `x^(254 - i)`. The data bytes occupy
//! `cw[0..239]` unchanged and the parity `cw[239..255]`, with `cw[254]` the
//! coefficient of `x^0`.
//!
//! An error at array index `i` therefore has *error locator*
//! `X = a^(254 - i)` and its inverse, the root of the error-locator
//! polynomial, is `X^-1 = a^((i + 1) mod 255)`.
//!
//! # Decoder pipeline
//!
//! [`decode`] is built from public stage functions, in the order the
//! pipelined hardware implements them, so that each stage can be compared
//! against the gateware on its own:
//!
//! 1. [`syndromes`]: `S_j = c(a^j)` for `j = 0..16`.
//! 2. [`berlekamp_massey`]: error-locator polynomial `Λ(x)` and its LFSR
//!    length `L`.
//! 3. [`error_evaluator`]: `Ω(x) = S(x)·Λ(x) mod x^16`.
//! 4. [`chien`]: the codeword positions whose locator inverse is a root of
//!    `Λ`.
//! 5. [`forney`]: the error value at each of those positions.
//!
//! [`gf256`]: super::gf256

use super::gf256::{self, div, exp, mul};

/// Codeword length in bytes.
pub const N: usize = 255;
/// Number of data bytes per codeword.
pub const K: usize = 239;
/// Number of parity bytes per codeword (`N - K`), equal to the number of
/// generator roots and of syndromes.
pub const PARITY: usize = 16;
/// Number of byte errors the code is guaranteed to correct (`PARITY / 2`).
pub const T: usize = 8;

/// Computes the generator coefficients at compile time (see [`GENERATOR`]).
const fn build_generator() -> [u8; PARITY + 1] {
    // Work in ascending order: asc[k] is the coefficient of x^k.
    let mut asc = [0u8; PARITY + 1];
    asc[0] = 1;
    let mut i = 0;
    while i < PARITY {
        // Multiply by (x + a^i): new[k] = old[k-1] + a^i·old[k].
        let root = gf256::EXP[i];
        let mut k = i + 1;
        while k > 0 {
            asc[k] = asc[k - 1] ^ gf256::mul(asc[k], root);
            k -= 1;
        }
        asc[0] = gf256::mul(asc[0], root);
        i += 1;
    }
    // Reverse into descending (transmission) order.
    let mut desc = [0u8; PARITY + 1];
    let mut k = 0;
    while k <= PARITY {
        desc[k] = asc[PARITY - k];
        k += 1;
    }
    desc
}

/// Generator polynomial `g(x) = ∏_{i=0}^{15} (x - a^i)` in **descending**
/// order, matching the codeword convention: `GENERATOR[0]` is the
/// coefficient of `x^16` (always 1, the polynomial is monic) and
/// `GENERATOR[k]` is the coefficient of `x^(16 - k)`; `GENERATOR[16]` is the
/// constant term.
///
/// These are the constant multipliers of the encoder LFSR taps.
pub const GENERATOR: [u8; PARITY + 1] = build_generator();

/// Returns [`GENERATOR`]: the generator polynomial coefficients, highest
/// power first.
pub fn generator() -> [u8; PARITY + 1] {
    GENERATOR
}

/// Parity bytes of a message, computed by the encoder LFSR.
///
/// This is the division circuit the gateware implements: a 16-byte shift
/// register `r[0..16]` (`r[0]` holds the coefficient of `x^15`). For each
/// data byte `d`, in transmission order, the feedback `f = d + r[0]` is
/// multiplied by every generator coefficient and added into the register as
/// it shifts towards `r[0]`:
///
/// ```text
/// r[j] <- r[j + 1] + f·g[j + 1]   (j = 0..15, with r[16] = 0)
/// ```
///
/// After the last data byte the register holds `m(x)·x^16 mod g(x)`, to be
/// sent `r[0]` first.
pub fn parity(data: &[u8; K]) -> [u8; PARITY] {
    let mut reg = [0u8; PARITY];
    for &d in data {
        let feedback = d ^ reg[0];
        for j in 0..PARITY {
            let shifted_in = if j + 1 < PARITY { reg[j + 1] } else { 0 };
            reg[j] = shifted_in ^ mul(feedback, GENERATOR[j + 1]);
        }
    }
    reg
}

/// Systematic encoder: the 239 data bytes followed by their 16 [`parity`]
/// bytes.
pub fn encode(data: &[u8; K]) -> [u8; N] {
    let mut cw = [0u8; N];
    cw[..K].copy_from_slice(data);
    cw[K..].copy_from_slice(&parity(data));
    cw
}

/// Second, independently written systematic encoder, for cross-checking
/// [`encode`].
///
/// It forms the full polynomial `m(x)·x^16` and reduces it by schoolbook long
/// division by `g(x)`, eliminating the leading term at each step, then
/// appends the remainder. It shares nothing with [`parity`] except the field
/// arithmetic and the generator.
pub fn encode_by_division(data: &[u8; K]) -> [u8; N] {
    // Dividend, descending order: data then 16 zero coefficients.
    let mut rem = [0u8; N];
    rem[..K].copy_from_slice(data);
    for lead in 0..K {
        let q = rem[lead];
        if q == 0 {
            continue;
        }
        // Subtract q·x^(238 - lead)·g(x); GENERATOR[0] = 1 cancels rem[lead].
        for (r, &g) in rem[lead..=lead + PARITY].iter_mut().zip(GENERATOR.iter()) {
            *r ^= mul(q, g);
        }
        debug_assert_eq!(rem[lead], 0);
    }
    let mut cw = [0u8; N];
    cw[..K].copy_from_slice(data);
    cw[K..].copy_from_slice(&rem[K..]);
    cw
}

/// Syndromes `S_j = c(a^j)` for `j = 0..16`, where `c(x)` is the received
/// word with `cw[0]` as the coefficient of `x^254`.
///
/// All syndromes are zero exactly when `cw` is a codeword. Each `S_j` is the
/// Horner accumulation the hardware performs, one byte per step in
/// transmission order: `S <- S·a^j + cw[i]`.
pub fn syndromes(cw: &[u8; N]) -> [u8; PARITY] {
    let mut s = [0u8; PARITY];
    for (j, sj) in s.iter_mut().enumerate() {
        *sj = gf256::poly_eval_msb_first(cw, exp(j));
    }
    s
}

/// Output of [`berlekamp_massey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locator {
    /// Error-locator polynomial `Λ(x)` in ascending order: `lambda[k]` is the
    /// coefficient of `x^k`, and `lambda[0] = 1`. For `e` errors at locators
    /// `X_1..X_e` (with `e <= T`), `Λ(x) = ∏ (1 - X_k·x)`.
    pub lambda: [u8; PARITY + 1],
    /// LFSR length `L` found by the algorithm: the number of errors the
    /// decoder assumes. `deg Λ <= L` always; a correctable pattern has
    /// `deg Λ = L <= T`.
    pub length: usize,
}

impl Locator {
    /// Degree of `Λ(x)` (0 for the constant polynomial 1).
    pub fn degree(&self) -> usize {
        gf256::poly_degree(&self.lambda).unwrap_or(0)
    }
}

/// Berlekamp–Massey: the shortest LFSR `Λ(x)` that generates the syndrome
/// sequence `S_0..S_15`, i.e. the error-locator polynomial.
///
/// This is the textbook form with a division by the previous non-zero
/// discrepancy; at each of the 16 steps `r` it computes the discrepancy
/// `Δ = S_r + Σ_{k=1}^{L} Λ_k·S_{r-k}` and, if non-zero, updates
/// `Λ(x) <- Λ(x) - (Δ/Δ_B)·x^m·B(x)`, where `B` is the locator saved at the
/// last length change, `Δ_B` its discrepancy and `m` the number of steps
/// since then. A hardware inversionless variant yields a non-zero scalar
/// multiple of the same `Λ` (normalise by `Λ_0` before comparing).
pub fn berlekamp_massey(s: &[u8; PARITY]) -> Locator {
    let mut lambda = [0u8; PARITY + 1];
    lambda[0] = 1;
    let mut prev = lambda;
    let mut prev_discrepancy = 1u8;
    let mut length = 0usize;
    let mut shift = 1usize;

    for r in 0..PARITY {
        let mut delta = s[r];
        for k in 1..=length.min(r) {
            delta ^= mul(lambda[k], s[r - k]);
        }
        if delta == 0 {
            shift += 1;
            continue;
        }
        let coef = div(delta, prev_discrepancy);
        let before = lambda;
        for k in shift..=PARITY {
            lambda[k] ^= mul(coef, prev[k - shift]);
        }
        if 2 * length <= r {
            length = r + 1 - length;
            prev = before;
            prev_discrepancy = delta;
            shift = 1;
        } else {
            shift += 1;
        }
    }
    Locator { lambda, length }
}

/// Error-evaluator polynomial `Ω(x) = S(x)·Λ(x) mod x^16`, in ascending
/// order, where `S(x) = Σ_{j=0}^{15} S_j·x^j`.
///
/// For a correctable pattern `deg Ω < L`.
pub fn error_evaluator(s: &[u8; PARITY], lambda: &[u8; PARITY + 1]) -> [u8; PARITY] {
    let mut omega = [0u8; PARITY];
    for (k, o) in omega.iter_mut().enumerate() {
        for i in 0..=k {
            *o ^= mul(lambda[i], s[k - i]);
        }
    }
    omega
}

/// Chien search: the codeword array indices `i` (ascending, i.e. in
/// transmission order) at which `Λ(X_i^-1) = 0`, with `X_i^-1 = a^(i + 1)`
/// for the locator `X_i = a^(254 - i)`.
///
/// In hardware this is the usual register bank: term `k` starts at
/// `Λ_k·a^k` (for index 0) and is multiplied by `a^k` at each following
/// index; the sum of all terms is zero at an error position.
///
/// Because the code has full length (`N = 255`), every non-zero field
/// element is the inverse locator of some position, so every root of `Λ`
/// in the field is reported (a root "outside the codeword" cannot occur).
/// `Λ(0) = 1`, so 0 is never a root.
pub fn chien(lambda: &[u8; PARITY + 1]) -> Vec<usize> {
    (0..N)
        .filter(|&i| gf256::poly_eval(lambda, exp(i + 1)) == 0)
        .collect()
}

/// Forney's algorithm: the error value at each position found by [`chien`].
///
/// With first consecutive root `a^0`, the value at a position with locator
/// `X` is
///
/// ```text
/// e = X · Ω(X^-1) / Λ'(X^-1)
/// ```
///
/// where `Λ'` is the formal derivative. Since `x·Λ'(x)` equals the sum of
/// the odd-power terms of `Λ(x)`, this is also `e = Ω(X^-1) / Λ_odd(X^-1)`,
/// the form hardware usually computes from the Chien register bank. The
/// returned values are in the same order as `positions`; the corrected byte
/// is `cw[i] + e`.
///
/// # Errors
///
/// [`DecodeError::DerivativeZero`] if `Λ'(X^-1)` is zero at some position,
/// which happens only if that root of `Λ` is repeated (not a valid error
/// pattern), and [`DecodeError::ZeroErrorValue`] if an error value comes out
/// as zero (the position is not actually in error, so `Λ` is not the
/// minimal locator).
pub fn forney(
    omega: &[u8; PARITY],
    lambda: &[u8; PARITY + 1],
    positions: &[usize],
) -> Result<Vec<u8>, DecodeError> {
    let derivative = gf256::poly_derivative(lambda);
    positions
        .iter()
        .map(|&i| {
            let x = exp(N - 1 - i);
            let x_inv = exp(i + 1);
            let num = gf256::poly_eval(omega, x_inv);
            let den = gf256::poly_eval(&derivative, x_inv);
            if den == 0 {
                return Err(DecodeError::DerivativeZero { position: i });
            }
            let e = mul(x, div(num, den));
            if e == 0 {
                return Err(DecodeError::ZeroErrorValue { position: i });
            }
            Ok(e)
        })
        .collect()
}

/// Reasons [`decode`] gives up on a received word.
///
/// In every case the word has more errors than the code can correct
/// (more than [`T`]); the decoder detected this rather than miscorrecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Berlekamp–Massey needed an LFSR longer than [`T`].
    #[error("error locator length {length} exceeds the correction capability {T}")]
    TooManyErrors {
        /// LFSR length `L` from [`berlekamp_massey`].
        length: usize,
    },
    /// The Chien search found a number of roots different from the locator
    /// length `L` (which also covers `deg Λ < L`).
    #[error("error locator of length {length} has {roots} roots in the codeword")]
    RootCountMismatch {
        /// LFSR length `L` from [`berlekamp_massey`].
        length: usize,
        /// Number of positions reported by [`chien`].
        roots: usize,
    },
    /// The derivative of the locator vanished at a root (Forney
    /// denominator zero).
    #[error("Forney denominator is zero at position {position}")]
    DerivativeZero {
        /// Codeword array index of the offending root.
        position: usize,
    },
    /// Forney produced a zero error value at a located position.
    #[error("Forney error value is zero at position {position}")]
    ZeroErrorValue {
        /// Codeword array index of the offending root.
        position: usize,
    },
}

/// Full hard-decision decoder: corrects up to [`T`] byte errors in place.
///
/// Runs [`syndromes`], [`berlekamp_massey`], [`chien`], [`error_evaluator`]
/// and [`forney`], and returns the number of bytes corrected (0 for a
/// codeword). On error `cw` is left unchanged.
///
/// Like any bounded-distance decoder, a word with more than `T` errors can
/// occasionally lie within distance `T` of a *different* codeword; it is
/// then "corrected" into that codeword and reported as success. Whenever
/// this function returns `Ok`, `cw` is a valid codeword.
///
/// # Errors
///
/// A [`DecodeError`] when the word is detected to be uncorrectable.
pub fn decode(cw: &mut [u8; N]) -> Result<usize, DecodeError> {
    let s = syndromes(cw);
    if s.iter().all(|&x| x == 0) {
        return Ok(0);
    }
    let loc = berlekamp_massey(&s);
    if loc.length > T {
        return Err(DecodeError::TooManyErrors { length: loc.length });
    }
    let positions = chien(&loc.lambda);
    if positions.len() != loc.length {
        return Err(DecodeError::RootCountMismatch {
            length: loc.length,
            roots: positions.len(),
        });
    }
    let omega = error_evaluator(&s, &loc.lambda);
    let values = forney(&omega, &loc.lambda, &positions)?;
    for (&i, &e) in positions.iter().zip(&values) {
        cw[i] ^= e;
    }
    Ok(positions.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::index::sample;
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_message(rng: &mut ChaCha8Rng) -> [u8; K] {
        let mut m = [0u8; K];
        rng.fill_bytes(&mut m);
        m
    }

    /// Adds `count` non-zero errors at distinct random positions; returns
    /// the positions (ascending) and the error values.
    fn corrupt(rng: &mut ChaCha8Rng, cw: &mut [u8; N], count: usize) -> Vec<(usize, u8)> {
        let mut pos = sample(rng, N, count).into_vec();
        pos.sort_unstable();
        pos.into_iter()
            .map(|p| {
                let e: u8 = rng.gen_range(1..=255);
                cw[p] ^= e;
                (p, e)
            })
            .collect()
    }

    #[test]
    fn generator_has_the_sixteen_roots() {
        let g = generator();
        assert_eq!(g[0], 1, "monic");
        assert_ne!(g[PARITY], 0);
        for i in 0..PARITY {
            assert_eq!(gf256::poly_eval_msb_first(&g, exp(i)), 0, "root a^{i}");
        }
        // No other power of a is a root (16 roots of a degree-16 polynomial).
        for i in PARITY..255 {
            assert_ne!(gf256::poly_eval_msb_first(&g, exp(i)), 0, "a^{i}");
        }
        // Same polynomial built with the generic helpers.
        let mut asc = vec![1u8];
        for i in 0..PARITY {
            asc = gf256::poly_mul(&asc, &[exp(i), 1]);
        }
        let desc: Vec<u8> = asc.into_iter().rev().collect();
        assert_eq!(desc, g.to_vec());
    }

    #[test]
    fn encoders_agree_on_random_messages() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x5253_0001);
        for _ in 0..1000 {
            let m = random_message(&mut rng);
            let a = encode(&m);
            let b = encode_by_division(&m);
            assert_eq!(a, b);
            assert_eq!(&a[..K], &m[..], "systematic");
            assert_eq!(a[K..], parity(&m));
        }
    }

    #[test]
    fn encoders_agree_on_edge_messages() {
        let mut msgs = vec![[0u8; K], [0xFF; K]];
        for p in [0, 1, 100, K - 1] {
            let mut m = [0u8; K];
            m[p] = 1;
            msgs.push(m);
        }
        for m in &msgs {
            let cw = encode(m);
            assert_eq!(cw, encode_by_division(m));
            assert_eq!(syndromes(&cw), [0u8; PARITY]);
        }
        assert_eq!(encode(&[0u8; K]), [0u8; N]);
        // A single 1 in the last data position: the parity is x^16 mod g(x),
        // which is g(x) minus its leading term.
        let mut m = [0u8; K];
        m[K - 1] = 1;
        assert_eq!(parity(&m)[..], GENERATOR[1..]);
    }

    #[test]
    fn codewords_have_zero_syndromes_and_errors_do_not() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x5253_0002);
        for _ in 0..200 {
            let mut cw = encode(&random_message(&mut rng));
            assert_eq!(syndromes(&cw), [0u8; PARITY]);
            let errs = corrupt(&mut rng, &mut cw, 1);
            let (p, e) = errs[0];
            // A single error e at locator X gives S_j = e·X^j.
            let x = exp(N - 1 - p);
            let s = syndromes(&cw);
            for (j, &sj) in s.iter().enumerate() {
                assert_eq!(sj, mul(e, gf256::pow(x, j as u32)));
            }
        }
    }

    #[test]
    fn stages_match_the_known_error_pattern() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x5253_0003);
        for count in 1..=T {
            for _ in 0..50 {
                let mut cw = encode(&random_message(&mut rng));
                let errs = corrupt(&mut rng, &mut cw, count);
                let s = syndromes(&cw);

                // Λ(x) = ∏ (1 + X_k x)
                let mut expect = vec![1u8];
                for &(p, _) in &errs {
                    expect = gf256::poly_mul(&expect, &[1, exp(N - 1 - p)]);
                }
                expect.resize(PARITY + 1, 0);
                let loc = berlekamp_massey(&s);
                assert_eq!(loc.length, count);
                assert_eq!(loc.degree(), count);
                assert_eq!(loc.lambda.to_vec(), expect);

                let omega = error_evaluator(&s, &loc.lambda);
                assert!(gf256::poly_degree(&omega).unwrap_or(0) < count);

                let positions = chien(&loc.lambda);
                let expect_pos: Vec<usize> = errs.iter().map(|&(p, _)| p).collect();
                assert_eq!(positions, expect_pos);

                let values = forney(&omega, &loc.lambda, &positions).unwrap();
                let expect_val: Vec<u8> = errs.iter().map(|&(_, e)| e).collect();
                assert_eq!(values, expect_val);

                // The odd-part form of Forney gives the same values.
                for (&p, &v) in positions.iter().zip(&values) {
                    let x_inv = exp(p + 1);
                    let odd: u8 = (1..=PARITY)
                        .step_by(2)
                        .map(|k| mul(loc.lambda[k], gf256::pow(x_inv, k as u32)))
                        .fold(0, |a, b| a ^ b);
                    assert_eq!(div(gf256::poly_eval(&omega, x_inv), odd), v);
                }
            }
        }
    }

    #[test]
    fn decode_leaves_codewords_alone() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x5253_0004);
        let orig = encode(&random_message(&mut rng));
        let mut cw = orig;
        assert_eq!(decode(&mut cw), Ok(0));
        assert_eq!(cw, orig);
    }

    #[test]
    fn decode_corrects_up_to_t_errors() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x5253_0005);
        let per_count = 500;
        for count in 1..=T {
            for _ in 0..per_count {
                let orig = encode(&random_message(&mut rng));
                let mut cw = orig;
                corrupt(&mut rng, &mut cw, count);
                assert_eq!(decode(&mut cw), Ok(count));
                assert_eq!(cw, orig);
            }
        }
    }

    #[test]
    fn decode_corrects_edge_positions() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x5253_0006);
        let patterns: [&[usize]; 5] = [
            &[0],
            &[N - 1],
            &[0, N - 1],
            &[0, 1, 2, 3, 4, 5, 6, 7],
            &[247, 248, 249, 250, 251, 252, 253, 254],
        ];
        for pat in patterns {
            let orig = encode(&random_message(&mut rng));
            let mut cw = orig;
            for &p in pat {
                cw[p] ^= 0xFF;
            }
            assert_eq!(decode(&mut cw), Ok(pat.len()));
            assert_eq!(cw, orig);
        }
    }

    #[test]
    fn beyond_t_errors_fail_or_land_on_a_codeword() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x5253_0007);
        let per_count = 12_500;
        let mut trials = 0usize;
        let mut miscorrected = 0usize;
        for count in T + 1..=PARITY {
            for _ in 0..per_count {
                let orig = encode(&random_message(&mut rng));
                let mut cw = orig;
                corrupt(&mut rng, &mut cw, count);
                let received = cw;
                trials += 1;
                match decode(&mut cw) {
                    Ok(n) => {
                        miscorrected += 1;
                        assert!(n <= T);
                        assert_eq!(syndromes(&cw), [0u8; PARITY], "not a codeword");
                        assert_ne!(cw, orig, "more than T errors cannot decode correctly");
                    }
                    Err(_) => assert_eq!(cw, received, "cw must be unchanged on failure"),
                }
            }
        }
        println!(
            "RS(255,239): {miscorrected} miscorrections in {trials} words with {}..={} errors",
            T + 1,
            PARITY
        );
    }

    #[test]
    fn decode_error_is_std_error() {
        let e: Box<dyn std::error::Error> = Box::new(DecodeError::TooManyErrors { length: 9 });
        assert!(e.to_string().contains('9'));
    }
}

//! IEEE 802.3 clause 36 8b/10b line code.
//!
//! # Naming and bit order
//!
//! An octet `HGFEDCBA` (bit `A` = LSB) is written `Dx.y` (data) or `Kx.y`
//! (control), with `x = EDCBA` (the low five bits) and `y = HGF` (the high
//! three bits), so `byte = (y << 5) | x`; for example K28.5 is `0xBC`.
//!
//! The 5 bits `EDCBA` become the 6-bit sub-block `abcdei` and the 3 bits
//! `HGF` the 4-bit sub-block `fghj`. The code-group is written `abcdei fghj`
//! and bit `a` is transmitted first.
//!
//! **In the `u16` values used throughout this module, bit 0 is `a`, bit 1 is
//! `b`, … bit 5 is `i`, bit 6 is `f`, … bit 9 is `j`**; bits 10..16 are
//! zero. Shifting the value out LSB first therefore gives the transmission
//! order, as a SERDES that sends the LSB first does. For example K28.5 at
//! negative running disparity is written `001111 1010` and has the value
//! `0x17C` ([`K28_5_RD_MINUS`]). [`parse_code`] and [`format_code`] convert
//! between the written form and the value.
//!
//! # Running disparity
//!
//! The running disparity (RD) is either negative (`rd_positive == false`,
//! the initial state) or positive. Each sub-block ends with RD positive if it
//! has more ones than zeros or is `000111` / `0011`, negative if it has more
//! zeros than ones or is `111000` / `1100`, and unchanged otherwise
//! ([`rd_after`]). The encoder picks, for every sub-block that has two forms,
//! the form that drives RD back towards the other sign.
//!
//! # Encoder construction
//!
//! The encoder is built from the 5b/6b and 3b/4b sub-tables, with:
//!
//! * the alternate `D.x.A7` 4-bit form (`0111`/`1000`) used instead of
//!   `D.x.P7` for `x = 17, 18, 20` at negative RD and `x = 11, 13, 14` at
//!   positive RD (RD taken after the 6-bit sub-block), which avoids a run of
//!   five equal bits across the sub-block boundary that could mimic a comma;
//! * `K23.7`, `K27.7`, `K29.7`, `K30.7` using the 6-bit data sub-block of
//!   `x` followed by the A7 form;
//! * `K28.y` using `001111` followed by the positive-RD 4-bit form of `y`
//!   (A7 for `y = 7`) at negative RD, and the bitwise complement of that
//!   whole code-group at positive RD.

/// K28.0 control octet.
pub const K28_0: u8 = 0x1C;
/// K28.1 control octet (carries a comma).
pub const K28_1: u8 = 0x3C;
/// K28.2 control octet.
pub const K28_2: u8 = 0x5C;
/// K28.3 control octet.
pub const K28_3: u8 = 0x7C;
/// K28.4 control octet.
pub const K28_4: u8 = 0x9C;
/// K28.5 control octet (carries a comma; the usual alignment character).
pub const K28_5: u8 = 0xBC;
/// K28.6 control octet.
pub const K28_6: u8 = 0xDC;
/// K28.7 control octet (carries a comma).
pub const K28_7: u8 = 0xFC;
/// K23.7 control octet.
pub const K23_7: u8 = 0xF7;
/// K27.7 control octet.
pub const K27_7: u8 = 0xFB;
/// K29.7 control octet.
pub const K29_7: u8 = 0xFD;
/// K30.7 control octet.
pub const K30_7: u8 = 0xFE;

/// The twelve valid control octets.
pub const CONTROL_CODES: [u8; 12] = [
    K28_0, K28_1, K28_2, K28_3, K28_4, K28_5, K28_6, K28_7, K23_7, K27_7, K29_7, K30_7,
];

/// Mask of the ten code-group bits in a `u16`.
pub const CODE_MASK: u16 = 0x3FF;

/// Parses a code-group (or sub-block) written in transmission order, first
/// character = bit 0. Spaces and underscores are ignored.
///
/// # Panics
///
/// Panics (at compile time when used in a constant) on any other character
/// or on more than 16 bits.
const fn parse_bits(s: &str) -> (u16, usize) {
    let b = s.as_bytes();
    let mut value = 0u16;
    let mut n = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'0' => n += 1,
            b'1' => {
                assert!(n < 16, "too many bits");
                value |= 1 << n;
                n += 1;
            }
            b' ' | b'_' => {}
            _ => panic!("code-group strings may contain only 0, 1, space and _"),
        }
        i += 1;
    }
    assert!(n <= 16, "too many bits");
    (value, n)
}

/// Parses a 10-bit code-group written `abcdeifghj` (as in the standard's
/// tables, first character transmitted first) into the bit-0-is-`a` value
/// used by this module. Spaces and underscores are ignored, so
/// `parse_code("001111 1010") == K28_5_RD_MINUS`.
///
/// # Panics
///
/// Panics if the string does not hold exactly ten `0`/`1` digits.
pub const fn parse_code(s: &str) -> u16 {
    let (value, n) = parse_bits(s);
    assert!(n == 10, "a code-group has ten bits");
    value
}

/// Formats a code-group as `abcdei fghj` (transmission order), the inverse
/// of [`parse_code`].
pub fn format_code(code: u16) -> String {
    let mut s = String::with_capacity(11);
    for k in 0..10 {
        if k == 6 {
            s.push(' ');
        }
        s.push(if code >> k & 1 != 0 { '1' } else { '0' });
    }
    s
}

/// K28.5 at negative running disparity: `001111 1010` = `0x17C`.
pub const K28_5_RD_MINUS: u16 = parse_code("001111 1010");
/// K28.5 at positive running disparity: `110000 0101` = `0x283`.
pub const K28_5_RD_PLUS: u16 = parse_code("110000 0101");
/// The comma code-group sent at negative RD (K28.5, `0011111010`).
pub const COMMA_RD_MINUS: u16 = K28_5_RD_MINUS;
/// The comma code-group sent at positive RD (K28.5, `1100000101`).
pub const COMMA_RD_PLUS: u16 = K28_5_RD_PLUS;
/// The 7-bit comma `0011111` (first seven bits of K28.1/K28.5/K28.7 sent at
/// negative RD), in the low bits of the value; compare under [`COMMA7_MASK`].
pub const COMMA7_RD_MINUS: u16 = parse_bits("0011111").0;
/// The 7-bit comma `1100000` (first seven bits of K28.1/K28.5/K28.7 sent at
/// positive RD), in the low bits of the value.
pub const COMMA7_RD_PLUS: u16 = parse_bits("1100000").0;
/// Mask selecting the seven comma bits `abcdeif`.
pub const COMMA7_MASK: u16 = 0x7F;

/// 5b/6b table: `abcdei` for each `x = EDCBA` at negative RD.
const SIX_RD_MINUS: [u16; 32] = {
    const S: [&str; 32] = [
        // x = 0-7
        "100111", "011101", "101101", "110001", "110101", "101001", "011001", "111000",
        // x = 8-15
        "111001", "100101", "010101", "110100", "001101", "101100", "011100", "010111",
        // x = 16-23
        "011011", "100011", "010011", "110010", "001011", "101010", "011010", "111010",
        // x = 24-31
        "110011", "100110", "010110", "110110", "001110", "101110", "011110", "101011",
    ];
    let mut t = [0u16; 32];
    let mut x = 0;
    while x < 32 {
        t[x] = parse_bits(S[x]).0;
        x += 1;
    }
    t
};

/// 3b/4b table: `fghj` for each `y = HGF` at negative RD (`y = 7` is the
/// primary form P7).
const FOUR_RD_MINUS: [u16; 8] = {
    const S: [&str; 8] = [
        "1011", "1001", "0101", "1100", "1101", "1010", "0110", "1110",
    ];
    let mut t = [0u16; 8];
    let mut y = 0;
    while y < 8 {
        t[y] = parse_bits(S[y]).0;
        y += 1;
    }
    t
};

/// The alternate D.x.A7 / K.x.7 form of the 4-bit sub-block at negative RD.
const FOUR_A7_RD_MINUS: u16 = parse_bits("0111").0;

/// The 6-bit sub-block of K28 at negative RD.
const SIX_K28_RD_MINUS: u16 = parse_bits("001111").0;

const SIX_111000: u16 = parse_bits("111000").0;
const SIX_000111: u16 = parse_bits("000111").0;
const FOUR_1100: u16 = parse_bits("1100").0;
const FOUR_0011: u16 = parse_bits("0011").0;

/// Whether a sub-block written in its negative-RD form is replaced by its
/// complement at positive RD: all unbalanced forms, plus the balanced
/// `111000` and `1100`, which the RD rules treat as negative.
const fn has_complement(bits: u16, width: u32) -> bool {
    2 * bits.count_ones() != width
        || (width == 6 && bits == SIX_111000)
        || (width == 4 && bits == FOUR_1100)
}

/// Running disparity at the end of one sub-block (`width` 6 for `abcdei`,
/// 4 for `fghj`, bits in the low end, first bit = bit 0) that started at
/// `rd_positive`, by the clause 36 rule.
const fn subblock_rd(bits: u16, width: u32, rd_positive: bool) -> bool {
    let ones = bits.count_ones();
    if 2 * ones > width {
        true
    } else if 2 * ones < width {
        false
    } else if width == 6 && bits == SIX_000111 {
        true
    } else if width == 6 && bits == SIX_111000 {
        false
    } else if width == 4 && bits == FOUR_0011 {
        true
    } else if width == 4 && bits == FOUR_1100 {
        false
    } else {
        rd_positive
    }
}

/// Running disparity after a whole code-group received or sent starting at
/// `rd_positive`, applying the clause 36 sub-block rule to `abcdei` and then
/// to `fghj`. Works for any 10-bit pattern, valid or not.
pub const fn rd_after(code: u16, rd_positive: bool) -> bool {
    let mid = subblock_rd(code & 0x3F, 6, rd_positive);
    subblock_rd((code >> 6) & 0xF, 4, mid)
}

/// Whether `byte` is one of the twelve valid control octets.
pub const fn is_valid_control(byte: u8) -> bool {
    let mut i = 0;
    while i < CONTROL_CODES.len() {
        if CONTROL_CODES[i] == byte {
            return true;
        }
        i += 1;
    }
    false
}

/// Encodes one octet at running disparity `rd_positive`.
///
/// Returns the code-group (bit 0 = `a`, see the module docs) and the running
/// disparity after it, or `None` if `control` is set and `byte` is not one of
/// the twelve valid control octets ([`CONTROL_CODES`]).
pub const fn encode_symbol(byte: u8, control: bool, rd_positive: bool) -> Option<(u16, bool)> {
    if control && !is_valid_control(byte) {
        return None;
    }
    let x = (byte & 0x1F) as usize;
    let y = (byte >> 5) as usize;

    let code = if control && x == 28 {
        // K28.y: 001111 then the positive-RD 4-bit form (A7 for y = 7); the
        // positive-RD code-group is the complement of the whole thing.
        let four = if y == 7 {
            FOUR_A7_RD_MINUS
        } else {
            FOUR_RD_MINUS[y]
        };
        let four_pos = if has_complement(four, 4) {
            !four & 0xF
        } else {
            four
        };
        let minus = SIX_K28_RD_MINUS | four_pos << 6;
        if rd_positive {
            !minus & CODE_MASK
        } else {
            minus
        }
    } else {
        let mut six = SIX_RD_MINUS[x];
        if rd_positive && has_complement(six, 6) {
            six = !six & 0x3F;
        }
        let mid = subblock_rd(six, 6, rd_positive);
        let alternate = y == 7
            && (control
                || (!mid && (x == 17 || x == 18 || x == 20))
                || (mid && (x == 11 || x == 13 || x == 14)));
        let mut four = if alternate {
            FOUR_A7_RD_MINUS
        } else {
            FOUR_RD_MINUS[y]
        };
        if mid && has_complement(four, 4) {
            four = !four & 0xF;
        }
        six | four << 6
    };
    Some((code, rd_after(code, rd_positive)))
}

/// Decoder lookup entry: bits 0..8 octet, bit 8 control, bit 9 valid at
/// negative RD, bit 10 valid at positive RD. Zero means invalid.
const ENTRY_CONTROL: u16 = 1 << 8;
const ENTRY_VALID_MINUS: u16 = 1 << 9;
const ENTRY_VALID_PLUS: u16 = 1 << 10;

/// Inverse of [`encode_symbol`] over all 268 symbols and both disparities,
/// built at compile time. Fails to compile if two symbols share a
/// code-group.
const DECODE_TABLE: [u16; 1024] = {
    let mut t = [0u16; 1024];
    let mut sym = 0;
    while sym < 512 {
        let byte = (sym & 0xFF) as u8;
        let control = sym >= 256;
        let mut rd = 0;
        while rd < 2 {
            if let Some((code, _)) = encode_symbol(byte, control, rd == 1) {
                let id = byte as u16 | if control { ENTRY_CONTROL } else { 0 };
                let old = t[code as usize];
                assert!(
                    old == 0 || old & 0x1FF == id,
                    "two symbols share a code-group"
                );
                t[code as usize] = old
                    | id
                    | if rd == 1 {
                        ENTRY_VALID_PLUS
                    } else {
                        ENTRY_VALID_MINUS
                    };
            }
            rd += 1;
        }
        sym += 1;
    }
    t
};

/// Result of decoding one code-group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decoded {
    /// Decoded octet; 0 when `code_error` is set.
    pub byte: u8,
    /// The code-group is a control (`K`) code-group.
    pub control: bool,
    /// The pattern is not a valid code-group at either running disparity.
    pub code_error: bool,
    /// The pattern is a valid code-group, but only at the other running
    /// disparity than the current one. `byte` and `control` still hold its
    /// meaning.
    pub disparity_error: bool,
}

/// Decodes one code-group (only the low ten bits of `code` are used)
/// received at running disparity `rd_positive`.
///
/// Returns the decoded symbol with its error flags and the running
/// disparity after the code-group, computed by [`rd_after`] from the
/// received bits whether or not they were valid (so that the decoder
/// re-synchronises to the transmitter after an error).
pub const fn decode_symbol(code: u16, rd_positive: bool) -> (Decoded, bool) {
    let code = code & CODE_MASK;
    let entry = DECODE_TABLE[code as usize];
    let valid_minus = entry & ENTRY_VALID_MINUS != 0;
    let valid_plus = entry & ENTRY_VALID_PLUS != 0;
    let code_error = !valid_minus && !valid_plus;
    let valid_here = if rd_positive { valid_plus } else { valid_minus };
    let decoded = Decoded {
        byte: (entry & 0xFF) as u8,
        control: entry & ENTRY_CONTROL != 0,
        code_error,
        disparity_error: !code_error && !valid_here,
    };
    (decoded, rd_after(code, rd_positive))
}

/// A control octet that has no 8b/10b code-group was given to the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{byte:#04x} is not a valid 8b/10b control code")]
pub struct InvalidControl {
    /// The rejected octet.
    pub byte: u8,
}

/// Stateful 8b/10b encoder that tracks the running disparity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Encoder {
    rd_positive: bool,
}

impl Encoder {
    /// An encoder at negative running disparity (the clause 36 initial
    /// state).
    pub const fn new() -> Self {
        Self { rd_positive: false }
    }

    /// An encoder starting at the given running disparity.
    pub const fn with_rd(rd_positive: bool) -> Self {
        Self { rd_positive }
    }

    /// Current running disparity (`true` = positive).
    pub const fn rd_positive(&self) -> bool {
        self.rd_positive
    }

    /// Encodes one octet and advances the running disparity.
    ///
    /// # Errors
    ///
    /// [`InvalidControl`] if `control` is set and `byte` is not in
    /// [`CONTROL_CODES`]; the running disparity is then unchanged.
    pub fn encode(&mut self, byte: u8, control: bool) -> Result<u16, InvalidControl> {
        let (code, rd) =
            encode_symbol(byte, control, self.rd_positive).ok_or(InvalidControl { byte })?;
        self.rd_positive = rd;
        Ok(code)
    }
}

/// Stateful 8b/10b decoder that tracks the running disparity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decoder {
    rd_positive: bool,
}

impl Decoder {
    /// A decoder at negative running disparity.
    pub const fn new() -> Self {
        Self { rd_positive: false }
    }

    /// A decoder starting at the given running disparity.
    pub const fn with_rd(rd_positive: bool) -> Self {
        Self { rd_positive }
    }

    /// Current running disparity (`true` = positive).
    pub const fn rd_positive(&self) -> bool {
        self.rd_positive
    }

    /// Decodes one code-group and advances the running disparity (see
    /// [`decode_symbol`]).
    pub fn decode(&mut self, code: u16) -> Decoded {
        let (decoded, rd) = decode_symbol(code, self.rd_positive);
        self.rd_positive = rd;
        decoded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::HashSet;

    /// Every symbol: 256 data octets and the 12 control octets.
    fn all_symbols() -> Vec<(u8, bool)> {
        (0..=255u8)
            .map(|b| (b, false))
            .chain(CONTROL_CODES.iter().map(|&b| (b, true)))
            .collect()
    }

    fn ones(code: u16) -> i32 {
        (code & CODE_MASK).count_ones() as i32
    }

    #[test]
    fn bit_order_and_constants() {
        assert_eq!(K28_5_RD_MINUS, 0x17C);
        assert_eq!(K28_5_RD_PLUS, 0x283);
        assert_eq!(K28_5_RD_PLUS, !K28_5_RD_MINUS & CODE_MASK);
        assert_eq!(COMMA_RD_MINUS & 1, 0, "bit a of 0011111010 is 0");
        assert_eq!(COMMA_RD_MINUS >> 2 & 1, 1, "bit c of 0011111010 is 1");
        assert_eq!(COMMA7_RD_MINUS, K28_5_RD_MINUS & COMMA7_MASK);
        assert_eq!(COMMA7_RD_PLUS, K28_5_RD_PLUS & COMMA7_MASK);
        assert_eq!(parse_code("1010101010"), 0x155);
        assert_eq!(format_code(K28_5_RD_MINUS), "001111 1010");
        assert_eq!(K28_5, (5 << 5) | 28);
        assert_eq!(K23_7, (7 << 5) | 23);
        for code in 0..1024u16 {
            assert_eq!(parse_code(&format_code(code)), code);
        }
    }

    #[test]
    fn spot_values_from_the_standard() {
        // (octet, control, RD- code-group, RD+ code-group), abcdei fghj.
        let table: &[(u8, bool, &str, &str)] = &[
            (0x00, false, "100111 0100", "011000 1011"), // D0.0
            (0xB5, false, "101010 1010", "101010 1010"), // D21.5
            (0x4A, false, "010101 0101", "010101 0101"), // D10.2
            (0xE7, false, "111000 1110", "000111 0001"), // D7.7
            (0x03, false, "110001 1011", "110001 0100"), // D3.0
            (0x07, false, "111000 1011", "000111 0100"), // D7.0
            (0xF1, false, "100011 0111", "100011 0001"), // D17.7 (A7 at RD-)
            (0xEB, false, "110100 1110", "110100 1000"), // D11.7 (A7 at RD+)
            (0xBC, true, "001111 1010", "110000 0101"),  // K28.5
            (0x3C, true, "001111 1001", "110000 0110"),  // K28.1
            (0xFC, true, "001111 1000", "110000 0111"),  // K28.7
            (0x1C, true, "001111 0100", "110000 1011"),  // K28.0
            (0x7C, true, "001111 0011", "110000 1100"),  // K28.3
            (0xF7, true, "111010 1000", "000101 0111"),  // K23.7
            (0xFB, true, "110110 1000", "001001 0111"),  // K27.7
            (0xFD, true, "101110 1000", "010001 0111"),  // K29.7
            (0xFE, true, "011110 1000", "100001 0111"),  // K30.7
        ];
        for &(byte, control, minus, plus) in table {
            for (rd, want) in [(false, minus), (true, plus)] {
                let (code, _) = encode_symbol(byte, control, rd).unwrap();
                assert_eq!(
                    format_code(code),
                    want,
                    "{}{}.{} rd+={rd}",
                    if control { 'K' } else { 'D' },
                    byte & 0x1F,
                    byte >> 5
                );
            }
        }
    }

    #[test]
    fn invalid_controls_are_rejected() {
        let mut enc = Encoder::new();
        for byte in 0..=255u8 {
            let r = enc.encode(byte, true);
            if CONTROL_CODES.contains(&byte) {
                assert!(r.is_ok());
            } else {
                assert_eq!(r, Err(InvalidControl { byte }));
                assert!(encode_symbol(byte, true, false).is_none());
                assert!(encode_symbol(byte, true, true).is_none());
            }
        }
    }

    #[test]
    fn disparity_rules_hold_for_every_symbol() {
        for (byte, control) in all_symbols() {
            for rd in [false, true] {
                let (code, new_rd) = encode_symbol(byte, control, rd).unwrap();
                assert_eq!(code & !CODE_MASK, 0);
                let six = ones(code & 0x3F);
                let four = ones(code >> 6);
                assert!((2..=4).contains(&six), "6b disparity of {byte:#04x}");
                assert!((1..=3).contains(&four), "4b disparity of {byte:#04x}");
                let disparity = 2 * ones(code) - 10;
                if rd {
                    assert!(disparity == 0 || disparity == -2, "{byte:#04x} rd+");
                } else {
                    assert!(disparity == 0 || disparity == 2, "{byte:#04x} rd-");
                }
                // A non-neutral code-group flips RD; a neutral one keeps it.
                assert_eq!(new_rd, rd ^ (disparity != 0), "{byte:#04x} rd+={rd}");
            }
            // K28.y at RD+ is the complement of K28.y at RD-.
            if control && byte & 0x1F == 28 {
                let (m, _) = encode_symbol(byte, true, false).unwrap();
                let (p, _) = encode_symbol(byte, true, true).unwrap();
                assert_eq!(p, !m & CODE_MASK);
            }
        }
    }

    #[test]
    fn every_symbol_round_trips_at_both_disparities() {
        for (byte, control) in all_symbols() {
            for rd in [false, true] {
                let mut enc = Encoder::with_rd(rd);
                let mut dec = Decoder::with_rd(rd);
                let code = enc.encode(byte, control).unwrap();
                let d = dec.decode(code);
                assert_eq!(
                    d,
                    Decoded {
                        byte,
                        control,
                        code_error: false,
                        disparity_error: false
                    },
                    "{}",
                    format_code(code)
                );
                assert_eq!(dec.rd_positive(), enc.rd_positive());
            }
        }
    }

    #[test]
    fn invalid_patterns_are_flagged() {
        let mut valid_minus = HashSet::new();
        let mut valid_plus = HashSet::new();
        for (byte, control) in all_symbols() {
            valid_minus.insert(encode_symbol(byte, control, false).unwrap().0);
            valid_plus.insert(encode_symbol(byte, control, true).unwrap().0);
        }
        let valid: HashSet<u16> = valid_minus.union(&valid_plus).copied().collect();
        // 72 data symbols have one code-group, the other 184 and all 12
        // controls have two.
        assert_eq!(valid.len(), 72 + 2 * 184 + 2 * 12);
        let mut invalid = 0;
        for code in 0..1024u16 {
            for rd in [false, true] {
                let (d, _) = decode_symbol(code, rd);
                if valid.contains(&code) {
                    assert!(!d.code_error);
                    let here = if rd { &valid_plus } else { &valid_minus };
                    assert_eq!(d.disparity_error, !here.contains(&code));
                } else {
                    assert!(d.code_error, "{} accepted", format_code(code));
                    assert!(!d.disparity_error);
                    assert_eq!((d.byte, d.control), (0, false));
                }
            }
            if !valid.contains(&code) {
                invalid += 1;
            }
        }
        assert_eq!(invalid, 1024 - valid.len());
    }

    #[test]
    fn run_length_and_comma_singularity() {
        let syms = all_symbols();
        for &(b1, c1) in &syms {
            for rd in [false, true] {
                let (first, mid_rd) = encode_symbol(b1, c1, rd).unwrap();
                // Commas inside a single code-group: only K28.1/5/7, at bit a.
                for off in 0..=3 {
                    let w = first >> off & COMMA7_MASK;
                    let is_comma = w == COMMA7_RD_MINUS || w == COMMA7_RD_PLUS;
                    let expect = off == 0 && c1 && [K28_1, K28_5, K28_7].contains(&b1);
                    assert_eq!(is_comma, expect, "{}", format_code(first));
                }
                for &(b2, c2) in &syms {
                    let (second, _) = encode_symbol(b2, c2, mid_rd).unwrap();
                    let stream = u32::from(first) | u32::from(second) << 10;
                    // No run of more than five equal bits, anywhere.
                    let mut run = 1;
                    for k in 1..20 {
                        if (stream >> k & 1) == (stream >> (k - 1) & 1) {
                            run += 1;
                            assert!(run <= 5, "{b1:#04x},{b2:#04x}");
                        } else {
                            run = 1;
                        }
                    }
                    // Between data code-groups a comma never straddles the
                    // boundary.
                    if !c1 && !c2 {
                        for off in 1..=13 {
                            let w = (stream >> off) as u16 & COMMA7_MASK;
                            assert!(
                                w != COMMA7_RD_MINUS && w != COMMA7_RD_PLUS,
                                "comma in D{}.{} D{}.{}",
                                b1 & 0x1F,
                                b1 >> 5,
                                b2 & 0x1F,
                                b2 >> 5
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn random_stream_keeps_disparity_bounded() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x8B10_B001);
        let mut enc = Encoder::new();
        let mut dec = Decoder::new();
        // Running digital sum, starting at -1 for negative RD.
        let mut sum: i32 = -1;
        let (mut lo, mut hi) = (0, 0);
        for _ in 0..200_000 {
            let (byte, control) = if rng.gen_ratio(1, 10) {
                (CONTROL_CODES[rng.gen_range(0..CONTROL_CODES.len())], true)
            } else {
                (rng.gen(), false)
            };
            let code = enc.encode(byte, control).unwrap();
            for k in 0..10 {
                sum += if code >> k & 1 != 0 { 1 } else { -1 };
                lo = lo.min(sum);
                hi = hi.max(sum);
                assert!(sum.abs() <= 3, "digital sum {sum}");
            }
            assert_eq!(sum, if enc.rd_positive() { 1 } else { -1 });
            let d = dec.decode(code);
            assert_eq!((d.byte, d.control), (byte, control));
            assert!(!d.code_error && !d.disparity_error);
        }
        assert_eq!((lo, hi), (-3, 3));
    }

    #[test]
    fn decoder_flags_disparity_errors_and_resynchronises() {
        // K28.5 sent as RD+ while the decoder is at RD-.
        let mut dec = Decoder::new();
        let d = dec.decode(K28_5_RD_PLUS);
        assert_eq!(
            d,
            Decoded {
                byte: K28_5,
                control: true,
                code_error: false,
                disparity_error: true
            }
        );
        // RD follows the received bits: after 110000 0101 it is negative.
        assert!(!dec.rd_positive());
        let d = dec.decode(K28_5_RD_MINUS);
        assert!(!d.disparity_error && !d.code_error);
        assert!(dec.rd_positive());
    }
}

//! CRC-32 as used by IEEE 802.3 (the Ethernet FCS) and zlib.
//!
//! Parameters: polynomial `0x04C11DB7`, reflected input and output (bytes
//! enter LSB first, so the register shifts right with the bit-reversed
//! polynomial [`POLY_REFLECTED`]), initial register [`INIT`] =
//! `0xFFFFFFFF`, final XOR [`XOROUT`] = `0xFFFFFFFF`. The check value for
//! `b"123456789"` is [`CHECK`] = `0xCBF43926`.
//!
//! # Raw register vs. CRC value
//!
//! The update functions work on the **raw register** the hardware holds:
//! start from [`INIT`], feed the bytes, and apply [`finalize`] (XOR with
//! [`XOROUT`]) to get the CRC value. The CRC is appended to a frame least
//! significant byte first (`crc.to_le_bytes()`); running the raw register
//! over a frame *including* its appended CRC ends at the constant
//! [`RESIDUE`], which is how a receiver checks a frame without locating the
//! CRC field.
//!
//! # Models
//!
//! * [`update_bitwise`]: bit-serial LFSR, one bit per step, the definition.
//! * [`update`]: the usual 256-entry table, one byte per step.
//! * [`update2`]: two bytes per step ("slice-by-2" with two tables), as the
//!   hardware consumes two bytes per clock.
//! * [`update2_by_equations`] / [`UPDATE2_EQUATIONS`]: the same two-byte
//!   step written as the XOR network the gateware implements, one equation
//!   per register bit.

/// The generator polynomial, normal (MSB-first) representation, without the
/// `x^32` term.
pub const POLY: u32 = 0x04C1_1DB7;
/// [`POLY`] bit-reversed, for the right-shifting (reflected) register.
pub const POLY_REFLECTED: u32 = 0xEDB8_8320;
/// Initial value of the raw register.
pub const INIT: u32 = 0xFFFF_FFFF;
/// Value XORed into the raw register to produce the CRC.
pub const XOROUT: u32 = 0xFFFF_FFFF;
/// CRC of the ASCII string `123456789`.
pub const CHECK: u32 = 0xCBF4_3926;
/// Raw register after a frame followed by its own CRC (LSB first).
pub const RESIDUE: u32 = 0xDEBB_20E3;

/// One byte through the bit-serial LFSR: eight right shifts, the byte's LSB
/// first.
pub const fn update_bitwise(state: u32, byte: u8) -> u32 {
    let mut s = state ^ byte as u32;
    let mut k = 0;
    while k < 8 {
        s = if s & 1 != 0 {
            (s >> 1) ^ POLY_REFLECTED
        } else {
            s >> 1
        };
        k += 1;
    }
    s
}

const fn build_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = update_bitwise(0, i as u8);
        i += 1;
    }
    t
}

const fn build_table2(t0: &[u32; 256]) -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (t0[i] >> 8) ^ t0[(t0[i] & 0xFF) as usize];
        i += 1;
    }
    t
}

/// Byte table: `TABLE[i]` is the register after feeding byte `i` into a
/// zero register.
pub const TABLE: [u32; 256] = build_table();

/// Second slice-by-2 table: `TABLE2[i]` is the register after feeding byte
/// `i` and then a zero byte into a zero register.
pub const TABLE2: [u32; 256] = build_table2(&TABLE);

/// One byte through the raw register, table-driven.
#[inline]
pub const fn update(state: u32, byte: u8) -> u32 {
    (state >> 8) ^ TABLE[((state ^ byte as u32) & 0xFF) as usize]
}

/// Two bytes through the raw register in one step; `bytes[0]` is the earlier
/// byte. Equal to `update(update(state, bytes[0]), bytes[1])`.
///
/// The two bytes are combined into the 16-bit word `bytes[0] | bytes[1] << 8`
/// (the first byte in the low half, as it is shifted in first) and XORed
/// into the low half of the register; the low byte then passes through two
/// byte-steps ([`TABLE2`]) and the high byte through one ([`TABLE`]).
#[inline]
pub const fn update2(state: u32, bytes: [u8; 2]) -> u32 {
    let x = state ^ (bytes[0] as u32 | (bytes[1] as u32) << 8);
    (x >> 16) ^ TABLE2[(x & 0xFF) as usize] ^ TABLE[((x >> 8) & 0xFF) as usize]
}

/// One register bit of the two-byte step as an XOR equation (see
/// [`UPDATE2_EQUATIONS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XorTerm {
    /// Old register bits that are XORed in (bit `i` set = `state[i]`).
    pub state: u32,
    /// Data bits that are XORed in, indexed in the 16-bit word
    /// `bytes[0] | bytes[1] << 8`.
    pub data: u16,
}

const fn build_equations() -> [XorTerm; 32] {
    let mut eq = [XorTerm { state: 0, data: 0 }; 32];
    // The raw update is linear over GF(2), so each input bit's column is
    // the update of the corresponding unit vector.
    let mut i = 0;
    while i < 32 {
        let out = update2(1 << i, [0, 0]);
        let mut k = 0;
        while k < 32 {
            if out >> k & 1 != 0 {
                eq[k].state |= 1 << i;
            }
            k += 1;
        }
        i += 1;
    }
    let mut j = 0;
    while j < 16 {
        let word = 1u16 << j;
        let out = update2(0, [word as u8, (word >> 8) as u8]);
        let mut k = 0;
        while k < 32 {
            if out >> k & 1 != 0 {
                eq[k].data |= 1 << j;
            }
            k += 1;
        }
        j += 1;
    }
    eq
}

/// The two-byte step as 32 XOR equations: new register bit `k` is the XOR
/// of the old register bits selected by `UPDATE2_EQUATIONS[k].state` and of
/// the data-word bits selected by `UPDATE2_EQUATIONS[k].data`. This is the
/// combinational network of the gateware CRC block.
pub const UPDATE2_EQUATIONS: [XorTerm; 32] = build_equations();

/// [`update2`] evaluated through [`UPDATE2_EQUATIONS`].
pub fn update2_by_equations(state: u32, bytes: [u8; 2]) -> u32 {
    let word = u16::from_le_bytes(bytes);
    UPDATE2_EQUATIONS
        .iter()
        .enumerate()
        .fold(0u32, |acc, (k, eq)| {
            let bit = ((state & eq.state).count_ones() + (word & eq.data).count_ones()) & 1;
            acc | bit << k
        })
}

/// Converts the raw register into the CRC value (`state ^ XOROUT`).
#[inline]
pub const fn finalize(state: u32) -> u32 {
    state ^ XOROUT
}

/// CRC-32 of `data`, one byte per step.
pub fn checksum(data: &[u8]) -> u32 {
    finalize(data.iter().fold(INIT, |s, &b| update(s, b)))
}

/// CRC-32 of `data`, two bytes per step with [`update2`] and, for an odd
/// length, a final single-byte [`update`] step, as the hardware does for a
/// frame that ends on an odd byte.
pub fn checksum_by_pairs(data: &[u8]) -> u32 {
    let pairs = data.chunks_exact(2);
    let tail = pairs.remainder();
    let mut s = pairs.fold(INIT, |s, p| update2(s, [p[0], p[1]]));
    if let Some(&b) = tail.first() {
        s = update(s, b);
    }
    finalize(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const REFERENCE: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

    #[test]
    fn check_value() {
        assert_eq!(checksum(b"123456789"), CHECK);
        assert_eq!(checksum_by_pairs(b"123456789"), CHECK);
        assert_eq!(REFERENCE.checksum(b"123456789"), CHECK);
        assert_eq!(checksum(b""), 0);
        assert_eq!(POLY.reverse_bits(), POLY_REFLECTED);
    }

    #[test]
    fn table_matches_bitwise() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xC3C3_0001);
        for _ in 0..10_000 {
            let s: u32 = rng.gen();
            let b: u8 = rng.gen();
            assert_eq!(update(s, b), update_bitwise(s, b));
        }
        for i in 0..=255u8 {
            assert_eq!(TABLE[i as usize], update_bitwise(0, i));
        }
    }

    #[test]
    fn two_byte_step_matches_two_single_steps() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xC3C3_0002);
        for _ in 0..20_000 {
            let s: u32 = rng.gen();
            let b: [u8; 2] = rng.gen();
            let expect = update_bitwise(update_bitwise(s, b[0]), b[1]);
            assert_eq!(update2(s, b), expect);
            assert_eq!(update2_by_equations(s, b), expect);
        }
    }

    #[test]
    fn matches_crc_crate_on_random_frames() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xC3C3_0003);
        for _ in 0..500 {
            let len = rng.gen_range(0..600);
            let mut data = vec![0u8; len];
            rng.fill_bytes(&mut data);
            let expect = REFERENCE.checksum(&data);
            assert_eq!(checksum(&data), expect, "len {len}");
            assert_eq!(checksum_by_pairs(&data), expect, "len {len}");
        }
    }

    #[test]
    fn frame_with_its_crc_leaves_the_residue() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xC3C3_0004);
        for len in [0usize, 1, 2, 3, 60, 61, 1500] {
            let mut frame = vec![0u8; len];
            rng.fill_bytes(&mut frame);
            let crc = checksum(&frame);
            frame.extend_from_slice(&crc.to_le_bytes());
            let raw = frame.iter().fold(INIT, |s, &b| update(s, b));
            assert_eq!(raw, RESIDUE, "len {len}");
            assert_eq!(checksum(&frame), finalize(RESIDUE));
        }
    }
}

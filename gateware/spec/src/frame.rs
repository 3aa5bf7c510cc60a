//! The frame: one Reed-Solomon codeword, as it travels on the fiber.
//!
//! A frame is 256 symbols = 128 SERDES words. Its first symbol is the
//! start-of-frame control symbol `K27.7`; the other 255 are the RS(255,239)
//! codeword, byte 0 first. Frames may follow each other back to back; idle
//! words (`K28.5 D16.2`) fill any gap.
//!
//! Positions below are *frame positions* (0..256, the symbol index in the
//! frame, so position = codeword byte + 1), with the word index and byte lane
//! (lane 0 is the first symbol of the word, bits 7:0 of a decoded data word):
//!
//! | frame pos | codeword byte | word, lane | field |
//! |---|---|---|---|
//! | 0 | - | 0, 0 | `K27.7` start of frame (control symbol) |
//! | 1..=2 | 0..=1 | 0.1, 1.0 | slot number, u16 big-endian |
//! | 3..=6 | 2..=5 | 1.1 .. 3.0 | lap counter, u32 big-endian |
//! | 7 | 6 | 3, 1 | flags (see [`flags`]) |
//! | 8..=235 | 7..=234 | 4 ..= 117 | payload, 228 bytes |
//! | 236..=239 | 235..=238 | 118, 119 | CRC-32 of codeword bytes 0..=234, least significant byte first |
//! | 240..=255 | 239..=254 | 120 ..= 127 | RS(255,239) parity, 16 bytes |
//!
//! The payload occupies whole words (4..=117), so the weight stream is two
//! bytes per clock with no realignment.
//!
//! * CRC-32 is the IEEE 802.3 / zlib CRC (reflected polynomial 0xEDB88320,
//!   initial value and final XOR 0xFFFFFFFF), over codeword bytes 0..=234
//!   (header and payload), stored least significant byte first: zlib's
//!   `crc32(cw[0..235])` equals `u32::from_le_bytes(cw[235..239])`.
//! * RS(255,239) over GF(2^8) with field polynomial 0x11D, generator
//!   prod_{i=0..15}(x - a^i) with a = 2, systematic: codeword bytes 0..=238
//!   are the data (header, payload, CRC), 239..=254 the parity. Byte 0 is the
//!   coefficient of x^254.
//!
//! Capture files (`fiberloop capture`) hold frames as their 255-byte
//! codewords, concatenated, nothing else.

/// Symbols per frame, including the start-of-frame symbol.
pub const FRAME_SYMBOLS: usize = 256;
/// SERDES words per frame.
pub const FRAME_WORDS: usize = FRAME_SYMBOLS / 2;
/// RS codeword length, bytes.
pub const CODEWORD_BYTES: usize = 255;
/// RS data bytes per codeword.
pub const DATA_BYTES: usize = 239;
/// RS parity bytes per codeword.
pub const PARITY_BYTES: usize = 16;
/// Byte errors RS(255,239) corrects per codeword.
pub const CORRECTABLE_BYTES: usize = 8;

/// Header length, bytes (slot, lap, flags).
pub const HEADER_BYTES: usize = 7;
/// Payload per frame, bytes.
pub const PAYLOAD_BYTES: usize = 228;
/// CRC length, bytes.
pub const CRC_BYTES: usize = 4;

/// Codeword byte offsets of each field.
pub mod offset {
    /// Slot number, u16 big-endian.
    pub const SLOT: usize = 0;
    /// Lap counter, u32 big-endian.
    pub const LAP: usize = 2;
    /// Flags byte.
    pub const FLAGS: usize = 6;
    /// First payload byte.
    pub const PAYLOAD: usize = 7;
    /// First CRC byte.
    pub const CRC: usize = PAYLOAD + super::PAYLOAD_BYTES;
    /// First parity byte.
    pub const PARITY: usize = CRC + super::CRC_BYTES;
}

/// Frame words (0..128) of each field, for the 2-bytes-per-clock gateware.
pub mod word {
    /// First payload word (both lanes payload).
    pub const PAYLOAD_FIRST: usize = 4;
    /// Last payload word.
    pub const PAYLOAD_LAST: usize = 117;
    /// The two CRC words.
    pub const CRC_FIRST: usize = 118;
    /// First parity word.
    pub const PARITY_FIRST: usize = 120;
}

/// Bits of the flags byte.
pub mod flags {
    /// The slot holds data the host wrote (clear: never written since fill).
    pub const VALID: u8 = 1 << 0;
    /// The frame could not be corrected on some lap: its contents are not
    /// trustworthy and the host must refill it.
    pub const BAD: u8 = 1 << 1;
    /// A delay-measurement marker frame, not a slot.
    pub const MARKER: u8 = 1 << 2;
    /// Bits 3..=7 are reserved and sent as zero.
    pub const RESERVED_MASK: u8 = 0xF8;
}

/// Payload efficiency of back-to-back frames: payload bits / line bits,
/// counting 10 line bits per symbol.
pub const fn payload_efficiency_millis() -> u32 {
    (PAYLOAD_BYTES * 8 * 1000 / (FRAME_SYMBOLS * 10)) as u32
}

const _: () = {
    assert!(HEADER_BYTES + PAYLOAD_BYTES + CRC_BYTES == DATA_BYTES);
    assert!(DATA_BYTES + PARITY_BYTES == CODEWORD_BYTES);
    assert!(CODEWORD_BYTES + 1 == FRAME_SYMBOLS);
    assert!(offset::PARITY == DATA_BYTES);
    // Payload in whole words: frame position = codeword byte + 1.
    assert!((offset::PAYLOAD + 1) == 2 * word::PAYLOAD_FIRST);
    assert!((offset::CRC + 1) == 2 * word::CRC_FIRST);
    assert!((offset::PARITY + 1) == 2 * word::PARITY_FIRST);
    assert!(2 * (word::PAYLOAD_LAST + 1) == offset::CRC + 1);
};

/// A frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// Slot number.
    pub slot: u16,
    /// Lap counter.
    pub lap: u32,
    /// Flags.
    pub flags: u8,
}

impl Header {
    /// The header's 7 bytes.
    pub fn to_bytes(self) -> [u8; HEADER_BYTES] {
        let s = self.slot.to_be_bytes();
        let l = self.lap.to_be_bytes();
        [s[0], s[1], l[0], l[1], l[2], l[3], self.flags]
    }
    /// Reads a header from the start of a codeword.
    pub fn from_bytes(b: &[u8]) -> Option<Header> {
        if b.len() < HEADER_BYTES {
            return None;
        }
        Some(Header {
            slot: u16::from_be_bytes([b[0], b[1]]),
            lap: u32::from_be_bytes([b[2], b[3], b[4], b[5]]),
            flags: b[6],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn efficiency_meets_the_target() {
        assert_eq!(payload_efficiency_millis(), 712);
    }

    #[test]
    fn header_round_trips() {
        let h = Header {
            slot: 0x1234,
            lap: 0xDEAD_BEEF,
            flags: flags::VALID | flags::BAD,
        };
        let b = h.to_bytes();
        assert_eq!(b, [0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x03]);
        assert_eq!(Header::from_bytes(&b), Some(h));
        assert_eq!(Header::from_bytes(&b[..6]), None);
    }
}

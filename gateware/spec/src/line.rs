//! The line: 8b/10b symbols, two per SERDES word.
//!
//! The SERDES word is 20 bits at the word clock (125 MHz at 2.5 Gb/s). It
//! carries two 8b/10b symbols; the symbol in bits 9:0 is sent first, and in
//! each symbol bit 0 (`a`) is sent first. After decoding, a word is two bytes
//! plus two control flags; byte 0 (bits 7:0 of a 16-bit data word) is the
//! first in time.
//!
//! Between frames the line carries idle words: `K28.5` (comma) in the first
//! symbol and `D16.2` in the second. The comma aligner locks the symbol and
//! the word boundary on them, so a K28.5 always lands in the first symbol of a
//! word.

/// Bits per SERDES word.
pub const SERDES_WORD_BITS: usize = 20;
/// Symbols (and so decoded bytes) per SERDES word.
pub const SYMBOLS_PER_WORD: usize = 2;
/// Line rate of the first board, bits per second.
pub const LINE_RATE_BPS: u64 = 2_500_000_000;
/// Word clock at that line rate, Hz.
pub const WORD_CLOCK_HZ: u64 = LINE_RATE_BPS / SERDES_WORD_BITS as u64;

/// K28.5: the comma, first symbol of an idle word.
pub const K28_5: u8 = 0xBC;
/// D16.2: the second symbol of an idle word.
pub const D16_2: u8 = 0x50;
/// K27.7: start of frame, first symbol of a frame's first word.
pub const K27_7: u8 = 0xFB;
/// K30.7: error propagation; sent in place of a symbol the transmitter could
/// not send (never expected on a healthy loop).
pub const K30_7: u8 = 0xFE;

/// Light in single-mode fiber (group index 1.468): nanoseconds per km.
pub const FIBER_NS_PER_KM: f64 = 4_896.8;

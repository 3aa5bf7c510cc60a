//! The frame stream as the FEC models see it, one word per clock, and the
//! seeded random frame streams the FEC tests drive the blocks with.
//!
//! Layout (see `fiberloop_spec::frame`): a frame is 128 consecutive valid
//! words; word 0 lane 0 is the start-of-frame symbol position, codeword byte
//! `j` sits at frame position `j + 1`, i.e. word `(j + 1) / 2`, lane
//! `(j + 1) % 2`.

use fiberloop_spec::frame::{CODEWORD_BYTES, FRAME_WORDS};

/// Data byte of the start-of-frame position as the tests fill it (the
/// K27.7 symbol's data bits; the FEC never looks at it).
pub const SOF_BYTE: u8 = 0xFB;
/// Data word of an idle word as the tests fill it (K28.5 in lane 0, D16.2 in
/// lane 1); the FEC passes it through.
pub const IDLE_WORD: u16 = 0x50BC;

/// One clock of a frame stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamWord {
    /// `data`, lane 0 in bits 7:0.
    pub data: u16,
    /// `valid`.
    pub valid: bool,
    /// `start`.
    pub start: bool,
}

/// The 128 data words of a frame carrying codeword `cw`, with `sof` in word
/// 0 lane 0.
pub fn frame_words(cw: &[u8; CODEWORD_BYTES], sof: u8) -> [u16; FRAME_WORDS] {
    let mut w = [0u16; FRAME_WORDS];
    w[0] = sof as u16 | (cw[0] as u16) << 8;
    for (i, word) in w.iter_mut().enumerate().skip(1) {
        *word = cw[2 * i - 1] as u16 | (cw[2 * i] as u16) << 8;
    }
    w
}

/// The codeword carried by 128 frame words (inverse of [`frame_words`]).
pub fn words_codeword(w: &[u16]) -> [u8; CODEWORD_BYTES] {
    assert_eq!(w.len(), FRAME_WORDS);
    let mut cw = [0u8; CODEWORD_BYTES];
    for (j, b) in cw.iter_mut().enumerate() {
        let pos = j + 1;
        *b = (w[pos / 2] >> (8 * (pos % 2))) as u8;
    }
    cw
}

/// Appends `gap` idle words and then the frame carrying `cw` to `out`.
pub fn push_frame(out: &mut Vec<StreamWord>, gap: usize, cw: &[u8; CODEWORD_BYTES]) {
    for _ in 0..gap {
        out.push(StreamWord {
            data: IDLE_WORD,
            valid: false,
            start: false,
        });
    }
    for (i, &data) in frame_words(cw, SOF_BYTE).iter().enumerate() {
        out.push(StreamWord {
            data,
            valid: true,
            start: i == 0,
        });
    }
}

/// Verilates a block for the FEC tests (built and cached by the harness).
#[cfg(test)]
pub fn verilate<B: rust_hdl::prelude::Block>(uut: &B) -> fiberloop_harness::verilator::Model {
    fiberloop_harness::verilator::Model::of_block(uut).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_words_round_trip() {
        let mut cw = [0u8; CODEWORD_BYTES];
        for (i, b) in cw.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        let w = frame_words(&cw, SOF_BYTE);
        assert_eq!(w[0], 0x03FB);
        assert_eq!(w[1], cw[1] as u16 | (cw[2] as u16) << 8);
        assert_eq!(w[127], cw[253] as u16 | (cw[254] as u16) << 8);
        assert_eq!(words_codeword(&w), cw);
    }
}

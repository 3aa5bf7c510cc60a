//! Test-only helpers shared by the framing tests: random codewords and frame
//! streams built from a list of events.

use fiberloop_spec::frame::{CODEWORD_BYTES, FRAME_WORDS};
use rand::{Rng, RngCore};

/// A random codeword; with `with_crc`, bytes 235..=238 hold the CRC-32 of
/// bytes 0..=234 (the RS parity stays random: the framing blocks ignore it).
pub fn random_codeword(rng: &mut impl RngCore, with_crc: bool) -> Vec<u8> {
    let mut cw = vec![0u8; CODEWORD_BYTES];
    rng.fill_bytes(&mut cw);
    if with_crc {
        let c = crate::model::crc32::checksum(&cw[..235]);
        cw[235..239].copy_from_slice(&c.to_le_bytes());
    }
    cw
}

/// An idle gap length: mostly none, often short, sometimes long.
pub fn random_gap(rng: &mut impl RngCore) -> usize {
    match rng.gen_range(0..10) {
        0..=4 => 0,
        5..=7 => rng.gen_range(1..4),
        8 => rng.gen_range(4..40),
        _ => rng.gen_range(40..300),
    }
}

/// A piece of a frame stream.
#[derive(Clone, Debug)]
pub enum Event {
    /// Clocks with `valid` low (random data).
    Idle(usize),
    /// A whole frame: its 255-byte codeword.
    Frame(Vec<u8>),
    /// The start of a frame, cut short: the first bytes of its codeword
    /// (rounded up to whole words with zeros).
    Truncated(Vec<u8>),
    /// Valid words without a start: random data.
    Garbage(usize),
}

/// The words of a frame with codeword `cw` (possibly short): word 0 lane 1 is
/// byte 0, lane 0 (the start-of-frame position) holds `sof`.
pub fn frame_words(cw: &[u8], sof: u8) -> Vec<u16> {
    let mut bytes = vec![sof];
    bytes.extend_from_slice(cw);
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    bytes
        .chunks(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect()
}

/// The clocks of `events` as `(data, valid, start)`.
pub fn frame_stream_with(events: &[Event], rng: &mut impl RngCore) -> Vec<(u16, bool, bool)> {
    let mut out = vec![];
    for e in events {
        match e {
            Event::Idle(n) => out.extend((0..*n).map(|_| (rng.gen::<u16>(), false, rng.gen()))),
            Event::Garbage(n) => out.extend((0..*n).map(|_| (rng.gen::<u16>(), true, false))),
            Event::Frame(cw) | Event::Truncated(cw) => {
                let words = frame_words(cw, rng.gen());
                if let Event::Frame(_) = e {
                    assert_eq!(words.len(), FRAME_WORDS);
                }
                out.extend(words.iter().enumerate().map(|(i, &w)| (w, true, i == 0)));
            }
        }
    }
    out
}

/// [`frame_stream_with`] with a fixed seed for the filler data.
pub fn frame_stream(events: &[Event]) -> Vec<(u16, bool, bool)> {
    use rand::SeedableRng;
    frame_stream_with(events, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0x5EED))
}

//! Line coding: 8b/10b encode and decode (IEEE 802.3 clause 36), two symbols
//! per word clock, and comma alignment of the raw 20-bit SERDES stream.
pub mod comma_align;
pub mod decode_symbol;
pub mod decoder;
pub mod encode_symbol;
pub mod encoder;

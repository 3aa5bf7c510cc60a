//! Bit-exact software reference models ("golden models") of the gateware
//! datapath blocks.
//!
//! Each module here is a plain-Rust description of what one hardware block
//! must compute, written for clarity rather than speed and checked by its own
//! tests against independent formulations, published check values and
//! (for CRC-32) an external implementation. The gateware tests drive the
//! rust-hdl blocks and compare their outputs, cycle by cycle or stage by
//! stage, with these functions; when the two disagree, the model is the
//! specification.
//!
//! * [`gf256`]: GF(2^8) arithmetic (field polynomial `0x11D`, `a = 0x02`).
//! * [`rs`]: RS(255,239) encoder and decoder as in ITU-T G.709, with every
//!   decoder stage (syndromes, Berlekamp–Massey, Chien, Forney) public.
//! * [`code8b10b`]: IEEE 802.3 clause 36 8b/10b encoder and decoder.
//! * [`crc32`]: IEEE 802.3 / zlib CRC-32, bytewise and two bytes per step.
//!
//! The models use only the standard library (and `thiserror` for error
//! types), so they can also be used by the host driver and test benches.

pub mod code8b10b;
pub mod crc32;
pub mod gf256;
pub mod rs;

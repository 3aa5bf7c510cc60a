//! fiberloop gateware: the rust-hdl blocks of the loop (line coding, framing,
//! FEC, loop control, MAC array, host interface), the board tops, and the
//! bit-exact reference models the blocks are checked against. The tools that
//! check them (Verilator harness, synthesis runner) are `fiberloop-harness`;
//! the simulated boards are `fiberloop-sim`.
//!
//! Every block lives in one file with a doc comment stating its latency,
//! throughput and reset behaviour, a pure-Rust reference model, a Verilator
//! test against that model on seeded random input, and a yosys synthesis test.
//!
//! # The stream interface
//!
//! Every block of the data path runs at the SERDES word clock, takes a word
//! every clock and never stalls: there is no back-pressure, the fiber does not
//! wait. Frame streams (two bytes per clock, see `fiberloop_spec::frame`) use
//! the same port names in every block:
//!
//! * `data_in` / `data_out`: `Bits<16>`, lane 0 (bits 7:0) first in time;
//! * `valid_in` / `valid_out`: the word belongs to a frame (low for idle);
//! * `start_in` / `start_out`: the first word of a frame (word 0, whose lane 0
//!   is the start-of-frame symbol position).
//!
//! A frame is 128 consecutive valid words; `start` marks its first. Per-frame
//! results (CRC good, bytes corrected, uncorrectable) come out as
//! `<name>_out` signals with a `done_out` strobe documented per block.
//! Line-side words after 8b/10b decoding carry `data` plus `k` (`Bits<2>`,
//! control symbol per lane) and per-lane `code_err` / `disp_err` flags.

pub mod board;
pub mod bundles;
pub mod fec;
#[cfg(test)]
mod formal;
pub mod framing;
pub mod hostif;
pub mod infer;
pub mod line;
pub mod loopctl;
pub mod mac;
pub mod model;
pub mod phy;
pub mod top;
pub mod vendor;

//! fiberloop gateware: the rust-hdl blocks of the loop (line coding, framing,
//! FEC, loop control, MAC array, host interface), the board tops, and the
//! tooling that checks them: the tool resolver, the Verilator harness and the
//! synthesis runner.
//!
//! Every block lives in one file with a doc comment stating its latency,
//! throughput and reset behaviour, a pure-Rust reference model, a Verilator
//! test against that model on seeded random input, and a yosys synthesis test.

pub mod fixtures;
pub mod model;
pub mod synth;
pub mod tools;
pub mod verilator;

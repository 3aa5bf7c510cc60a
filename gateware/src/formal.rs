//! Formal proofs of the blocks with SymbiYosys (runner:
//! `fiberloop_harness::formal`).
//!
//! One file per block here, its properties in the `.sv` file of the same
//! name: each has the proof (k-induction where the state allows, otherwise
//! bounded with a depth argued in its documentation) and the mutants, copies
//! of the block's Verilog with one deliberate bug, that the proof must
//! refute.

mod async_fifo;
mod cmd_engine;
mod frame_sync;
mod link_mux;

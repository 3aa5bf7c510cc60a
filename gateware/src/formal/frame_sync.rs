//! `FrameSync` proved: whole 128-word frames only, and never a truncated
//! frame passed as complete (properties in `frame_sync.sv`).
//!
//! Mode: k-induction. The helpers tie the shadow's position in the output
//! frame to the block's word counter and its truncation and error flags to
//! the block's, so a short induction closes although a frame is 128 clocks
//! long.

use crate::framing::frame_sync::FrameSync;
use fiberloop_harness::formal::{assert_proved, assert_refuted, mutate, Mode, Proof};
use rust_hdl::prelude::*;

const PROPS: &str = include_str!("frame_sync.sv");

const BIND: &str = "\
    frame_sync_props props(
        .clock(clock), .valid_in(valid_in),
        .data_out(data_out), .valid_out(valid_out), .start_out(start_out),
        .frame_done_out(frame_done_out), .frame_error_out(frame_error_out),
        .truncated_out(truncated_out), .symbol_errors_out(symbol_errors_out),
        .in_frame(in_frame$q), .padding(padding$q), .count(count$q),
        .err_acc(err_acc$q), .h_valid(h_valid$q)
    );";

/// Induction depth (clocks).
const K: u32 = 2;

fn design() -> String {
    let mut uut = FrameSync::default();
    uut.connect_all();
    generate_verilog(&uut)
}

fn proof(name: &str, design: String, mode: Mode, helpers: bool) -> Proof {
    Proof::new(name, design, PROPS, BIND, mode, helpers)
}

#[test]
fn frame_sync_proof() {
    assert_proved(&proof(
        "frame_sync",
        design(),
        Mode::Prove { depth: K },
        true,
    ));
}

fn mutant(name: &str, from: &str, to: &str, depth: u32) {
    let d = mutate(&design(), from, to);
    assert_refuted(&proof(name, d, Mode::Bmc { depth }, false));
}

#[test]
fn frame_sync_mutant_ignores_lost_lock_fails_proof() {
    // A word with valid_in low inside a frame is passed on as data: the
    // truncated frame goes on as if complete.
    mutant(
        "frame_sync_mutant_ignores_lost_lock",
        "if ((padding$q | (~h_valid$q))) begin",
        "if (padding$q) begin",
        8,
    );
}

#[test]
fn frame_sync_mutant_last_word_padding_unflagged_fails_proof() {
    // The frame error at word 127 comes from the error accumulator only:
    // a frame whose last word alone is padding ends unflagged. Reaching
    // word 127 takes 130 clocks from power-up.
    mutant(
        "frame_sync_mutant_last_word_padding_unflagged",
        "                    ferr_q$d = 1'b1;\n",
        "                    ferr_q$d = err_acc$q;\n",
        132,
    );
}

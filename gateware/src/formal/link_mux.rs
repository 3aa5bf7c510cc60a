//! `LinkMux` proved: never interleaves two frames, replies to the right
//! link (properties in `link_mux.sv`).
//!
//! Mode: k-induction, k = 1: the block's only state is its owner bit, and
//! the helper ties it to the shadow's frame link.

use crate::hostif::link_mux::LinkMux;
use fiberloop_harness::formal::{assert_proved, assert_refuted, mutate, Mode, Proof};
use rust_hdl::prelude::*;

const PROPS: &str = include_str!("link_mux.sv");

const BIND: &str = "\
    link_mux_props props(
        .clock(clock),
        .a_data_in(a_data_in), .a_valid_in(a_valid_in),
        .a_tx_valid_out(a_tx_valid_out), .a_tx_ready_in(a_tx_ready_in),
        .b_data_in(b_data_in), .b_valid_in(b_valid_in), .b_ready_out(b_ready_out),
        .b_tx_valid_out(b_tx_valid_out), .b_tx_ready_in(b_tx_ready_in),
        .data_out(data_out), .valid_out(valid_out), .idle_in(idle_in),
        .rep_valid_in(rep$valid), .rep_ready_out(rep$ready),
        .lost_out(lost_out), .owner(owner$q)
    );";

fn design() -> String {
    let mut uut = LinkMux::default();
    uut.connect_all();
    generate_verilog(&uut)
}

fn proof(name: &str, design: String, mode: Mode, helpers: bool) -> Proof {
    Proof::new(name, design, PROPS, BIND, mode, helpers)
}

#[test]
fn link_mux_proof() {
    assert_proved(&proof("link_mux", design(), Mode::Prove { depth: 1 }, true));
}

fn mutant(name: &str, from: &str, to: &str) {
    let d = mutate(&design(), from, to);
    assert_refuted(&proof(name, d, Mode::Bmc { depth: 6 }, false));
}

#[test]
fn link_mux_mutant_b_ignores_owner_fails_proof() {
    // Link B's byte is taken whenever the engine is busy, whoever owns it:
    // a B byte lands in the middle of a frame from A.
    mutant(
        "link_mux_mutant_b_ignores_owner",
        "take_b = b_valid_in & ((idle_in & ~a_valid_in) | (~idle_in & owner$q));",
        "take_b = b_valid_in & ((idle_in & ~a_valid_in) | ~idle_in);",
    );
}

#[test]
fn link_mux_mutant_a_ignores_idle_fails_proof() {
    // Link A's byte always goes to the engine, also into a frame from B.
    mutant(
        "link_mux_mutant_a_ignores_idle",
        "take_a = a_valid_in & (idle_in | ~owner$q);",
        "take_a = a_valid_in;",
    );
}

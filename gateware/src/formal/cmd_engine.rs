//! `CmdEngine` proved: the bus is never written from a frame whose checks
//! failed, and no request is answered twice (properties in
//! `cmd_engine.sv`).
//!
//! Mode: k-induction with k = [`K`] clocks. The helper invariants tie the
//! shadow receiver (written from the protocol's frame layout) to the
//! engine's receiver registers, the last good request to the executor's
//! copy of it and its burst position, and the shadow's reply byte count to
//! the engine's reply position; with them every state the engine can reach
//! is covered (a 1,024-word burst, any timeout, any stall of the reply
//! consumer), not only short runs from power-up. The CRC units, the
//! payload RAM and the address check are free values (`cutpoint`): the
//! properties hold whatever they compute. The partial-frame timeout is
//! [`TIMEOUT`] clocks so that dropped frames are part of the proof.
//!
//! The mutants are bounded checks from power-up without the helper
//! invariants, so that what fails is the contract itself. Their
//! counterexamples are long (a whole request, its execution, a whole reply
//! and the start of another), too long for a free search in the test
//! suite's time: the host's bytes are given (`SCRIPT` in `cmd_engine.sv`),
//! which keeps each to seconds.

use crate::hostif::cmd_engine::CmdEngine;
use fiberloop_harness::formal::{assert_proved, assert_refuted, mutate, Mode, Proof};
use rust_hdl::prelude::*;

const PROPS: &str = include_str!("cmd_engine.sv");

/// Partial-frame timeout of the engine under proof, in clocks.
const TIMEOUT: u32 = 5;

const BIND: &str = "\
    cmd_engine_props #(.T(5)) props(
        .clock(clock), .data_in(data_in), .valid_in(valid_in),
        .data_out(reply$data), .valid_out(reply$valid), .ready_in(reply$ready),
        .bus_addr(bus$addr), .bus_we(bus$we), .rx_unit(rx_step$state_out),
        .ex_state(ex_state$q), .pending(pending$q),
        .e_rx_state(rx_state$q), .e_rx_count(rx_count$q), .e_rx_need(rx_need$q),
        .e_rx_crc(rx_crc$q), .e_rx_ok(rx_ok$q), .e_hdr(hdr$q), .e_silence(silence$q),
        .e_quiet(quiet$q),
        .e_code(ex_code$q), .e_addr(ex_addr$q), .e_len(ex_len$q), .e_lenm1(lenm1$q),
        .e_ptr(ptr$q), .e_cnt(cnt$q), .e_rep_len(rep_len$q), .e_rep_status(rep_status$q),
        .e_out_idx(out_idx$q), .e_byte_i(byte_i$q), .e_out_sr(out_sr$q)
    );";

/// Induction depth in clocks.
const K: u32 = 2;

fn design() -> String {
    let mut uut = CmdEngine::new(TIMEOUT);
    uut.connect_all();
    generate_verilog(&uut)
}

fn proof(name: &str, design: String, mode: Mode, script: Option<u32>) -> Proof {
    // The proof with the helpers; a mutant without them, with its script.
    let defines = match script {
        None => vec!["HELPERS".to_string()],
        Some(s) => vec![format!("SCRIPT={s}")],
    };
    Proof {
        defines,
        // The CRC units, the payload RAM and the address check become free
        // values (see cmd_engine.sv).
        script: vec!["cutpoint top$rx_step top$tx_step top$pay_ram top$region".into()],
        ..Proof::new(name, design, PROPS, BIND, mode, false)
    }
}

#[test]
fn cmd_engine_bind_matches_the_timeout() {
    assert!(BIND.contains(&format!("#(.T({TIMEOUT}))")));
}

#[test]
fn cmd_engine_proof() {
    assert_proved(&proof(
        "cmd_engine",
        design(),
        Mode::Prove { depth: K },
        None,
    ));
}

/// A mutant, checked `depth` clocks from power-up with the host's bytes
/// given by `script` (see `cmd_engine.sv`).
fn mutant(name: &str, from: &str, to: &str, depth: u32, script: u32) {
    let d = mutate(&design(), from, to);
    assert_refuted(&proof(name, d, Mode::Bmc { depth }, Some(script)));
}

#[test]
fn cmd_engine_mutant_header_check_ignored_fails_proof() {
    // A frame whose header check failed is taken as checked.
    mutant(
        "cmd_engine_mutant_header_check_ignored",
        "hdr_drop_q$d = 1'b1;",
        "hdr_drop_q$d = 1'b1;\n                                pending$d = 1'b1;",
        // A header-only frame (14 bytes) with a wrong check, 3 clocks, then
        // its reply starts.
        20,
        3,
    );
}

#[test]
fn cmd_engine_mutant_payload_check_ignored_fails_proof() {
    // A WRITE whose payload check failed is executed: the bus is written
    // from a broken frame.
    mutant(
        "cmd_engine_mutant_payload_check_ignored",
        "pay_drop_q$d = 1'b1;",
        "pay_drop_q$d = 1'b1;\n                                pending$d = 1'b1;",
        // 22 request bytes, then check, write: the bus write by clock 28.
        30,
        2,
    );
}

#[test]
fn cmd_engine_mutant_answers_twice_fails_proof() {
    // After a header-only reply the executor sends it again.
    mutant(
        "cmd_engine_mutant_answers_twice",
        "ExecState$RamRd;\n                            end\n                            else begin\n                                ex_state$d = ExecState$Done;",
        "ExecState$RamRd;\n                            end\n                            else begin\n                                ex_state$d = ExecState$HdrLoad;",
        // 14 request bytes, 3 clocks, the 14-byte reply, then the second.
        36,
        1,
    );
}

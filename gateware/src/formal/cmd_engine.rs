//! `CmdEngine` checked: the bus is never written from a frame whose checks
//! failed, and no request is answered twice (properties in
//! `cmd_engine.sv`).
//!
//! Mode: bounded, [`DEPTH`] clocks from power-up. The engine's state (a
//! 1,024-word payload buffer, 32-bit counters, the remembered request) is
//! far beyond what a bound can cover, and k-induction would need helper
//! invariants for most of its 60 registers; what the bound covers is every
//! byte sequence of that many clocks: any prefix of noise and broken
//! frames, and whole exchanges such as a one-word WRITE (22 request bytes,
//! its bus write, the start of its reply) or two header-only requests
//! back to back with their replies.

use crate::hostif::cmd_engine::CmdEngine;
use fiberloop_harness::formal::{assert_proved, assert_refuted, mutate, Mode, Proof};
use rust_hdl::prelude::*;

const PROPS: &str = include_str!("cmd_engine.sv");

const BIND: &str = "\
    cmd_engine_props props(
        .clock(clock), .data_in(data_in), .valid_in(valid_in),
        .data_out(reply$data), .valid_out(reply$valid), .ready_in(reply$ready),
        .bus_addr(bus$addr), .bus_we(bus$we),
        .ex_state(ex_state$q), .pending(pending$q),
        .rx_unit(rx_step$state_out)
    );";

/// Clocks from power-up.
const DEPTH: u32 = 40;

fn design() -> String {
    // A timeout far beyond the bound: no partial frame is dropped by time.
    let mut uut = CmdEngine::new(1_000_000);
    uut.connect_all();
    generate_verilog(&uut)
}

fn proof(name: &str, design: String, depth: u32) -> Proof {
    Proof {
        name: name.to_string(),
        design,
        props: PROPS.to_string(),
        bind: BIND.to_string(),
        mode: Mode::Bmc { depth },
        multiclock: false,
        defines: vec![],
        // The CRC units' outputs become free values (see cmd_engine.sv).
        script: vec!["cutpoint top$rx_step top$tx_step".into()],
    }
}

#[test]
fn cmd_engine_proof() {
    assert_proved(&proof("cmd_engine", design(), DEPTH));
}

#[test]
fn cmd_engine_mutant_executes_failed_payload_check_fails_proof() {
    // A WRITE whose payload check failed is executed anyway.
    let d = mutate(
        &design(),
        "pay_drop_q$d = 1'b1;",
        "pay_drop_q$d = 1'b1;\n                                pending$d = 1'b1;",
    );
    assert_refuted(&proof("cmd_engine_mutant_failed_check_executes", d, DEPTH));
}

#[test]
fn cmd_engine_mutant_answers_twice_fails_proof() {
    // After a reply the executor sends the reply again.
    let d = mutate(
        &design(),
        "last_status$d = rep_status$q;\n                    end\n                    ex_state$d = ExecState$Idle;",
        "last_status$d = rep_status$q;\n                    end\n                    ex_state$d = ExecState$HdrLoad;",
    );
    assert_refuted(&proof("cmd_engine_mutant_answers_twice", d, DEPTH));
}

//! `AsyncFifo` proved: nothing lost, duplicated or reordered, flags exact
//! (properties in `async_fifo.sv`).
//!
//! Mode: k-induction, both clocks free (multiclock). The property module
//! follows one byte at an arbitrary stream position and reads the RAM entry
//! that byte sits in through a read-only tap added to the RAM module (the
//! only change to the generated text besides the property instance).

use crate::hostif::async_fifo::AsyncFifo;
use fiberloop_harness::formal::{
    assert_proved, assert_refuted, bind_into_top, mutate, Mode, Proof,
};
use rust_hdl::prelude::*;

const PROPS: &str = include_str!("async_fifo.sv");

const BIND: &str = "\
    wire [5:0] props_tap_addr;
    wire [7:0] props_tap_data;
    async_fifo_props props(
        .write_clock(write_clock), .read_clock(read_clock),
        .data_in(data_in), .write(write), .full(full), .almost_full(almost_full),
        .data_out(data_out), .read(read), .empty(empty),
        .wptr(wptr$q), .wgray(wgray$q), .rsync1(rsync1$q), .rsync2(rsync2$q),
        .rptr(rptr$q), .rgray(rgray$q), .wsync1(wsync1$q), .wsync2(wsync2$q),
        .tap_addr(props_tap_addr), .tap_data(props_tap_data)
    );";

/// Induction depth in solver steps (a clock edge takes two).
const K: u32 = 2;

/// The generated Verilog with the RAM tap (`tap_addr` in, `tap_data` =
/// `mem[tap_addr]` out) wired to `props_tap_*`.
fn design() -> String {
    let mut uut = AsyncFifo::<Bits<8>>::new();
    uut.connect_all();
    let v = generate_verilog(&uut);
    let v = mutate(
        &v,
        "module top$ram(read_address,",
        "module top$ram(tap_addr,tap_data,read_address,",
    );
    let v = mutate(
        &v,
        "endmodule // top$ram",
        "    input wire [5:0] tap_addr;\n    output wire [7:0] tap_data;\n    \
         assign tap_data = mem[tap_addr];\nendmodule // top$ram",
    );
    mutate(
        &v,
        "top$ram ram(\n",
        "top$ram ram(\n        .tap_addr(props_tap_addr),\n        .tap_data(props_tap_data),\n",
    )
}

fn proof(name: &str, design: String, mode: Mode, helpers: bool) -> Proof {
    Proof {
        multiclock: true,
        ..Proof::new(name, design, PROPS, BIND, mode, helpers)
    }
}

#[test]
fn async_fifo_bind_is_well_formed() {
    let d = bind_into_top(&design(), BIND).unwrap();
    assert!(d.contains("async_fifo_props props("));
    assert!(d.contains("assign tap_data = mem[tap_addr];"));
}

#[test]
fn async_fifo_proof() {
    assert_proved(&proof(
        "async_fifo",
        design(),
        Mode::Prove { depth: K },
        true,
    ));
}

/// Mutants run as bounded checks from power-up without the helper
/// invariants: what fails is the contract.
fn mutant(name: &str, from: &str, to: &str, depth: u32) {
    let d = mutate(&design(), from, to);
    assert_refuted(&proof(name, d, Mode::Bmc { depth }, false));
}

#[test]
fn async_fifo_mutant_write_pointer_skips_fails_proof() {
    mutant(
        "async_fifo_mutant_wptr_skips",
        "wptr_next = wptr$q + one;",
        "wptr_next = wptr$q + one + one;",
        24,
    );
}

#[test]
fn async_fifo_mutant_read_ignores_empty_fails_proof() {
    mutant(
        "async_fifo_mutant_read_ignores_empty",
        "pop = read & (~rempty);",
        "pop = read;",
        24,
    );
}

#[test]
fn async_fifo_mutant_empty_from_first_sync_stage_only_fails_proof() {
    // The read side compares against the write side's Gray pointer
    // directly: with coinciding edges the head entry is announced in the
    // clock it is written, while the read register still holds the old one.
    mutant(
        "async_fifo_mutant_empty_unsynchronised",
        "rempty = (rgray$q == wsync2$q);",
        "rempty = (rgray$q == wgray$q);",
        24,
    );
}

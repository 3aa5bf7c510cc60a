//! fiberloop's tool harness: what drives gateware from outside, with no
//! gateware of its own.
//!
//! * [`tools`]: finds the project's pinned tools (`scripts/setup`'s `.venv`,
//!   or an environment override per tool);
//! * [`verilator`]: builds a rust-hdl block with Verilator into a shared
//!   library (cached by a hash of its Verilog) and drives its ports from Rust;
//! * [`lockstep`]: the one lockstep bench: a block's cycle model and the
//!   block under Verilator as [`lockstep::CycleModel`]s, compared clock by
//!   clock;
//! * [`synth`]: runs yosys `synth_ecp5` on a block and reads its cell counts;
//! * [`formal`]: runs SymbiYosys (k-induction or bounded) on a block's
//!   Verilog with a property module bound into it;
//! * [`pnr`]: places and routes a block out of context with nextpnr-ecp5 on
//!   the 45F and reads its Fmax per clock, utilisation and critical paths;
//! * [`bitstream`]: builds a top with pins into a bitstream for the 45F
//!   (yosys, nextpnr, ecppack) and reads it back with ecpunpack, so tests
//!   can check the configuration words that went into it;
//! * [`ft2232h`]: a cycle model of the FT2232H's synchronous FIFO side, the
//!   chip on the other side of the USB FIFO pins;
//! * [`selftest`]: a small fixture design run both in rust-hdl's simulator
//!   and in Verilator, cycle for cycle (`fiberloop selftest`).
//!
//! Dependencies point one way: the spec crate, then the gateware blocks
//! (which use this crate in their tests), then the simulated boards
//! (`fiberloop-sim`), then the host.

pub mod bitstream;
pub mod formal;
pub mod ft2232h;
pub mod lockstep;
pub mod pnr;
pub mod selftest;
pub mod synth;
pub mod tools;
pub mod verilator;

//! fiberloop host library: talks to a fiberloop board, real or simulated.
//!
//! This crate holds the board protocol's host side, the transports (serial,
//! USB, TCP and the in-process simulator), model files and the reference
//! inference arithmetic; the board's control policy (fill, refill,
//! bring-up) comes from `fiberloop-firmware`. The simulator is the default
//! device: the real gateware compiled by Verilator plus a model of the fiber
//! spool (`fiberloop-sim`), behind the default-on cargo feature `sim`; built
//! with `--no-default-features`, the host talks to real boards only and
//! needs neither rust-hdl nor Verilator.

pub mod demo;
pub mod device;
pub mod model;
pub mod plan;
#[cfg(feature = "sim")]
pub mod selftest;

//! fiberloop host library: talks to a fiberloop board, real or simulated.
//!
//! This crate grows the board protocol, the transports (serial, USB, TCP and
//! the in-process simulator) and the reference inference arithmetic. The
//! simulator is the default device: the real gateware compiled by Verilator
//! (see `fiberloop_gateware::verilator`) plus a model of the fiber spool.

pub mod device;
pub mod model;
pub mod plan;
pub mod selftest;

//! The formats of fiberloop, in one place.
//!
//! The gateware implements them, the host and the firmware read and write
//! them, and the documentation is generated from nothing else: every number
//! that two parts of the project must agree on is a constant here. `no_std`
//! and dependency-free so the firmware can use it; the `alloc` feature adds
//! the few owned types the host and the simulators share.
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod engine;
pub mod frame;
pub mod lap;
pub mod layout;
pub mod line;
pub mod phy;
pub mod proto;
pub mod quant;
pub mod regs;

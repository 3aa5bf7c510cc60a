//! Control plane of the fiberloop board.
//!
//! fiberloop keeps data circulating in a fibre loop closed through the SFP
//! transceiver of a Lattice ECP5-5G Versa board. The gateware moves the
//! data at line rate; this crate is the slow, decision-making side that
//! runs next to it (on a soft CPU or on a host through a debug bridge). It
//!
//! * talks to the gateware through 32-bit control/status registers at the
//!   word addresses of the register map (`fiberloop_spec::regs`), via the
//!   [`bus::RegisterBus`] trait;
//! * talks to the SFP module over its I2C management interface, via the
//!   [`bus::I2cBus`] trait, and decodes the module's identity and digital
//!   diagnostics ([`sff8472`]);
//! * fills the loop, writes and reads its slots, finds the slots the fiber
//!   damaged and refills them ([`control`]: the refill policy the host's
//!   `load`, `infer` and `verify` use);
//! * reads the transceiver's bring-up report and clock meters, and runs the
//!   PRBS test over the line ([`phy`]).
//!
//! The crate is `no_std` and needs no allocator. The transceiver's
//! bring-up runs in the gateware (`SerdesInit`); SFP sequencing is not
//! written yet.
//!
//! All fallible operations return [`Error`], which carries the platform's
//! bus error when a transfer fails and otherwise names the problem exactly.

#![no_std]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod bus;
pub mod control;
pub mod error;
mod math;
pub mod phy;
pub mod sff8472;

pub use bus::{I2cBus, RegisterBus};
pub use error::{Checksum, Error};

//! Control plane of the fiberloop board.
//!
//! fiberloop keeps data circulating in a fibre loop closed through the SFP
//! transceiver of a Lattice ECP5-5G Versa board. The gateware moves the
//! data at line rate; this crate is the slow, decision-making side that
//! runs next to it (on a soft CPU or on a host through a debug bridge). It
//!
//! * talks to the gateware through 32-bit control/status registers, via the
//!   [`bus::RegisterBus`] trait;
//! * talks to the SFP module over its I2C management interface, via the
//!   [`bus::I2cBus`] trait, and decodes the module's identity and digital
//!   diagnostics ([`sff8472`]);
//! * sequences link bring-up, filling the loop and the policy for refilling
//!   it when data is lost.
//!
//! The crate is `no_std` and needs no allocator. This first version provides
//! the hardware-access traits, the SFF-8472 decoder and the error type; the
//! bring-up and fill/refill sequencing will be built on top of them.
//!
//! All fallible operations return [`Error`], which carries the platform's
//! bus error when a transfer fails and otherwise names the problem exactly.

#![no_std]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod bus;
pub mod error;
mod math;
pub mod sff8472;

pub use bus::{I2cBus, RegisterBus};
pub use error::{Checksum, Error};

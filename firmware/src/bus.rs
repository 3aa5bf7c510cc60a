//! Hardware access traits.
//!
//! The firmware never touches hardware directly. The platform supplies a
//! [`RegisterBus`] (32-bit control/status registers of the gateware) and an
//! [`I2cBus`] (the SFP module's 2-wire management interface); everything
//! else in the crate is written against these traits, so it runs unchanged
//! on the soft CPU, on a host through a debug bridge, or against the mocks
//! used by the unit tests.

use crate::error::Error;
use core::fmt::Debug;

/// 32-bit register access to the gateware, at the **word** addresses of
/// the register map (`fiberloop_spec::regs`: word `a` is the 32-bit
/// register `a`, the next register is `a + 1`).
///
/// A platform needs only [`read32`](Self::read32) and
/// [`write32`](Self::write32); one whose link carries bursts (the host
/// protocol: up to 1,024 words a request) overrides
/// [`read_words`](Self::read_words) and [`write_words`](Self::write_words),
/// and one whose device time must be let pass while it polls (a host
/// sleeping, a simulator simulating) overrides [`idle`](Self::idle).
pub trait RegisterBus {
    /// Error reported by the transport (e.g. a bus timeout or a bridge
    /// failure).
    type Error: Debug;

    /// Reads the 32-bit register at word address `addr`.
    fn read32(&mut self, addr: u32) -> Result<u32, Self::Error>;

    /// Writes `value` to the 32-bit register at word address `addr`.
    fn write32(&mut self, addr: u32, value: u32) -> Result<(), Self::Error>;

    /// Reads `out.len()` consecutive words from word address `addr`
    /// (word `addr + i` into `out[i]`). The default reads them one by one.
    fn read_words(&mut self, addr: u32, out: &mut [u32]) -> Result<(), Self::Error> {
        for (i, w) in out.iter_mut().enumerate() {
            *w = self.read32(addr.wrapping_add(i as u32))?;
        }
        Ok(())
    }

    /// Writes `data` to consecutive words from word address `addr`, in
    /// order. The default writes them one by one.
    fn write_words(&mut self, addr: u32, data: &[u32]) -> Result<(), Self::Error> {
        for (i, w) in data.iter().enumerate() {
            self.write32(addr.wrapping_add(i as u32), *w)?;
        }
        Ok(())
    }

    /// Called between two reads of a register that is not ready yet;
    /// `poll` counts the reads so far (1 after the first). A platform lets
    /// device time pass here, typically more the longer it has polled (a
    /// slot comes round within a lap: 10 us on 2 km, 1 ms on 200 km). The
    /// default does nothing (a soft CPU polling its own bus).
    fn idle(&mut self, poll: u32) {
        let _ = poll;
    }

    /// Read-modify-write: replaces the bits selected by `mask` with the
    /// corresponding bits of `value`, leaving the other bits unchanged.
    ///
    /// Returns the value written. This is not atomic with respect to other
    /// masters of the bus.
    fn modify32(&mut self, addr: u32, mask: u32, value: u32) -> Result<u32, Self::Error> {
        let old = self.read32(addr)?;
        let new = (old & !mask) | (value & mask);
        self.write32(addr, new)?;
        Ok(new)
    }

    /// Reads `addr` until `(read & mask) == value`, at most `max_polls`
    /// times (at least once, even if `max_polls` is 0).
    ///
    /// Returns the full register value of the successful read. When the
    /// condition never holds, returns [`Error::PollTimeout`] carrying the
    /// last value read and the number of reads; a transport failure is
    /// returned as [`Error::Bus`]. Bits of `value` outside `mask` can never
    /// match, so such a call always times out.
    fn poll_until(
        &mut self,
        addr: u32,
        mask: u32,
        value: u32,
        max_polls: u32,
    ) -> Result<u32, Error<Self::Error>> {
        let polls = max_polls.max(1);
        let mut last = 0;
        for i in 0..polls {
            if i > 0 {
                self.idle(i);
            }
            last = self.read32(addr).map_err(Error::Bus)?;
            if last & mask == value {
                return Ok(last);
            }
        }
        Err(Error::PollTimeout {
            addr,
            mask,
            expected: value,
            last,
            polls,
        })
    }
}

/// I2C (2-wire) master used to talk to the SFP module.
pub trait I2cBus {
    /// Error reported by the I2C controller (NAK, arbitration loss, ...).
    type Error: Debug;

    /// Writes `wr` to the 7-bit device address `dev`, then, after a repeated
    /// start, reads `rd.len()` bytes from the same device.
    ///
    /// The SFF-8472 reader uses a one-byte `wr` (the start offset) and reads
    /// up to 120 bytes in one call, so that multi-byte diagnostic values are
    /// fetched coherently. An implementation whose controller cannot do
    /// that many bytes in one transfer may split the read, but only at even
    /// offsets.
    fn write_read(&mut self, dev: u8, wr: &[u8], rd: &mut [u8]) -> Result<(), Self::Error>;
}

impl<T: RegisterBus + ?Sized> RegisterBus for &mut T {
    type Error = T::Error;

    fn read32(&mut self, addr: u32) -> Result<u32, Self::Error> {
        (**self).read32(addr)
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), Self::Error> {
        (**self).write32(addr, value)
    }

    fn read_words(&mut self, addr: u32, out: &mut [u32]) -> Result<(), Self::Error> {
        (**self).read_words(addr, out)
    }

    fn write_words(&mut self, addr: u32, data: &[u32]) -> Result<(), Self::Error> {
        (**self).write_words(addr, data)
    }

    fn idle(&mut self, poll: u32) {
        (**self).idle(poll)
    }
}

impl<T: I2cBus + ?Sized> I2cBus for &mut T {
    type Error = T::Error;

    fn write_read(&mut self, dev: u8, wr: &[u8], rd: &mut [u8]) -> Result<(), Self::Error> {
        (**self).write_read(dev, wr, rd)
    }
}

/// In-memory bus models for unit tests.
#[cfg(test)]
pub mod mock {
    use super::{I2cBus, RegisterBus};
    use std::collections::{BTreeMap, VecDeque};
    use std::vec::Vec;

    /// Error injected by the mocks.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum MockError {
        /// The register at this address was configured to fail.
        Register(u32),
        /// The I2C device at this address did not acknowledge.
        Nak(u8),
    }

    /// One access seen by [`MockBus`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Access {
        /// A read of `addr` that returned `value`.
        Read {
            /// Register address.
            addr: u32,
            /// Value returned.
            value: u32,
        },
        /// A write of `value` to `addr`.
        Write {
            /// Register address.
            addr: u32,
            /// Value written.
            value: u32,
        },
    }

    /// A register file: unset registers read as 0, writes are stored.
    ///
    /// Scripted values queued with [`MockBus::script`] are returned (once
    /// each, in order) by reads of that address before the stored value.
    #[derive(Debug, Default)]
    pub struct MockBus {
        /// Stored register values.
        pub regs: BTreeMap<u32, u32>,
        /// Values returned by upcoming reads, per address.
        pub scripted: BTreeMap<u32, VecDeque<u32>>,
        /// Accesses to this address fail with [`MockError::Register`].
        pub fail_addr: Option<u32>,
        /// Every successful access, in order.
        pub log: Vec<Access>,
    }

    impl MockBus {
        /// An empty register file.
        pub fn new() -> Self {
            Self::default()
        }

        /// Queues values to be returned by the next reads of `addr`.
        pub fn script(&mut self, addr: u32, values: &[u32]) {
            self.scripted
                .entry(addr)
                .or_default()
                .extend(values.iter().copied());
        }

        /// The values written to `addr` so far, in order.
        pub fn writes_to(&self, addr: u32) -> Vec<u32> {
            self.log
                .iter()
                .filter_map(|a| match a {
                    Access::Write { addr: w, value } if *w == addr => Some(*value),
                    _ => None,
                })
                .collect()
        }

        /// Number of successful reads of `addr` so far.
        pub fn reads_of(&self, addr: u32) -> usize {
            self.log
                .iter()
                .filter(|a| matches!(a, Access::Read { addr: r, .. } if *r == addr))
                .count()
        }
    }

    impl RegisterBus for MockBus {
        type Error = MockError;

        fn read32(&mut self, addr: u32) -> Result<u32, MockError> {
            if self.fail_addr == Some(addr) {
                return Err(MockError::Register(addr));
            }
            let value = match self.scripted.get_mut(&addr).and_then(VecDeque::pop_front) {
                Some(v) => v,
                None => self.regs.get(&addr).copied().unwrap_or(0),
            };
            self.log.push(Access::Read { addr, value });
            Ok(value)
        }

        fn write32(&mut self, addr: u32, value: u32) -> Result<(), MockError> {
            if self.fail_addr == Some(addr) {
                return Err(MockError::Register(addr));
            }
            self.regs.insert(addr, value);
            self.log.push(Access::Write { addr, value });
            Ok(())
        }
    }

    /// One transfer seen by [`MockI2c`].
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Transfer {
        /// 7-bit device address.
        pub dev: u8,
        /// Bytes written.
        pub wr: Vec<u8>,
        /// Number of bytes read.
        pub rd_len: usize,
    }

    /// 256-byte EEPROM-like devices: the first written byte sets the
    /// address pointer, further written bytes are stored, reads continue
    /// from the pointer and wrap at 256. Absent devices NAK.
    #[derive(Debug, Default)]
    pub struct MockI2c {
        /// Memory of each present device.
        pub devices: BTreeMap<u8, [u8; 256]>,
        /// Every transfer attempted, in order.
        pub log: Vec<Transfer>,
    }

    impl MockI2c {
        /// A bus with no devices.
        pub fn new() -> Self {
            Self::default()
        }

        /// Adds device `dev` whose memory starts with `contents` (rest 0).
        pub fn with_device(mut self, dev: u8, contents: &[u8]) -> Self {
            let mut mem = [0u8; 256];
            mem[..contents.len()].copy_from_slice(contents);
            self.devices.insert(dev, mem);
            self
        }
    }

    impl I2cBus for MockI2c {
        type Error = MockError;

        fn write_read(&mut self, dev: u8, wr: &[u8], rd: &mut [u8]) -> Result<(), MockError> {
            self.log.push(Transfer {
                dev,
                wr: wr.to_vec(),
                rd_len: rd.len(),
            });
            let mem = self.devices.get_mut(&dev).ok_or(MockError::Nak(dev))?;
            let mut ptr = wr.first().copied().unwrap_or(0);
            for &b in wr.iter().skip(1) {
                mem[usize::from(ptr)] = b;
                ptr = ptr.wrapping_add(1);
            }
            for slot in rd.iter_mut() {
                *slot = mem[usize::from(ptr)];
                ptr = ptr.wrapping_add(1);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mock::{Access, MockBus, MockError, MockI2c};
    use super::*;
    use std::vec;

    #[test]
    fn modify32_touches_only_masked_bits() {
        let mut bus = MockBus::new();
        bus.regs.insert(0x20, 0xdead_beef);
        let new = bus.modify32(0x20, 0x0000_ff00, 0x1234_5600).unwrap();
        assert_eq!(new, 0xdead_56ef);
        assert_eq!(bus.regs[&0x20], 0xdead_56ef);
        assert_eq!(
            bus.log,
            vec![
                Access::Read {
                    addr: 0x20,
                    value: 0xdead_beef
                },
                Access::Write {
                    addr: 0x20,
                    value: 0xdead_56ef
                },
            ]
        );
    }

    #[test]
    fn modify32_propagates_read_error_without_writing() {
        let mut bus = MockBus::new();
        bus.fail_addr = Some(0x4);
        assert_eq!(bus.modify32(0x4, 1, 1), Err(MockError::Register(0x4)));
        assert!(bus.log.is_empty());
    }

    #[test]
    fn poll_until_returns_first_matching_value() {
        let mut bus = MockBus::new();
        bus.script(0x8, &[0x00, 0x10, 0x13]);
        bus.regs.insert(0x8, 0xffff_ffff);
        assert_eq!(bus.poll_until(0x8, 0x3, 0x3, 10), Ok(0x13));
        assert_eq!(bus.reads_of(0x8), 3);
    }

    #[test]
    fn poll_until_times_out_with_details() {
        let mut bus = MockBus::new();
        bus.regs.insert(0xc, 0xf0);
        let err = bus.poll_until(0xc, 0x1, 0x1, 5).unwrap_err();
        assert_eq!(
            err,
            Error::PollTimeout {
                addr: 0xc,
                mask: 0x1,
                expected: 0x1,
                last: 0xf0,
                polls: 5
            }
        );
        assert_eq!(bus.reads_of(0xc), 5);
    }

    #[test]
    fn poll_until_reads_at_least_once() {
        let mut bus = MockBus::new();
        bus.regs.insert(0x0, 0x1);
        assert_eq!(bus.poll_until(0x0, 0x1, 0x1, 0), Ok(1));
        let err = bus.poll_until(0x0, 0x1, 0x0, 0).unwrap_err();
        assert!(matches!(err, Error::PollTimeout { polls: 1, .. }));
    }

    #[test]
    fn poll_until_maps_transport_error() {
        let mut bus = MockBus::new();
        bus.fail_addr = Some(0x10);
        assert_eq!(
            bus.poll_until(0x10, 1, 1, 3),
            Err(Error::Bus(MockError::Register(0x10)))
        );
    }

    #[test]
    fn default_bursts_go_word_by_word_at_consecutive_word_addresses() {
        let mut bus = MockBus::new();
        bus.write_words(0x0139, &[7, 1]).unwrap();
        assert_eq!(
            bus.log,
            vec![
                Access::Write {
                    addr: 0x0139,
                    value: 7
                },
                Access::Write {
                    addr: 0x013A,
                    value: 1
                },
            ]
        );
        let mut out = [0u32; 3];
        bus.read_words(0x0138, &mut out).unwrap();
        assert_eq!(out, [0, 7, 1]);
        assert_eq!(bus.reads_of(0x013A), 1);
    }

    #[test]
    fn traits_work_through_mut_references() {
        fn via<B: RegisterBus>(mut b: B) -> u32 {
            b.write32(0x0, 7).unwrap();
            b.read32(0x0).unwrap()
        }
        let mut bus = MockBus::new();
        assert_eq!(via(&mut bus), 7);

        fn via_i2c<I: I2cBus>(mut i: I) -> u8 {
            let mut b = [0u8; 1];
            i.write_read(0x50, &[2], &mut b).unwrap();
            b[0]
        }
        let mut i2c = MockI2c::new().with_device(0x50, &[0, 0, 42]);
        assert_eq!(via_i2c(&mut i2c), 42);
    }

    #[test]
    fn mock_i2c_pointer_write_and_nak() {
        let mut i2c = MockI2c::new().with_device(0x50, &[1, 2, 3, 4]);
        let mut rd = [0u8; 3];
        i2c.write_read(0x50, &[1], &mut rd).unwrap();
        assert_eq!(rd, [2, 3, 4]);
        i2c.write_read(0x50, &[0xff, 9], &mut []).unwrap();
        i2c.write_read(0x50, &[0xff], &mut rd).unwrap();
        assert_eq!(rd, [9, 1, 2]);
        assert_eq!(
            i2c.write_read(0x51, &[0], &mut rd),
            Err(MockError::Nak(0x51))
        );
    }
}

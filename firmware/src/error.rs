//! The crate-wide error type.
//!
//! Every fallible operation of the firmware returns [`Error`]. It is generic
//! over `E`, the error type of the underlying bus implementation (the
//! [`RegisterBus::Error`](crate::bus::RegisterBus::Error) or
//! [`I2cBus::Error`](crate::bus::I2cBus::Error) of the caller's platform), so
//! a transport failure keeps its original value. Pure decoders that never
//! touch a bus return `Error<Infallible>` (the default parameter); use
//! [`Error::widen`] to merge such an error into a bus-carrying one.

use core::convert::Infallible;
use core::fmt;

/// Which SFF-8472 check code (checksum) failed to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Checksum {
    /// `CC_BASE`, A0h byte 63: low 8 bits of the sum of A0h bytes 0..=62.
    CcBase,
    /// `CC_EXT`, A0h byte 95: low 8 bits of the sum of A0h bytes 64..=94.
    CcExt,
    /// `CC_DMI`, A2h byte 95: low 8 bits of the sum of A2h bytes 0..=94.
    CcDmi,
}

impl Checksum {
    /// The SFF-8472 name of the check code, e.g. `"CC_BASE"`.
    pub const fn name(self) -> &'static str {
        match self {
            Checksum::CcBase => "CC_BASE",
            Checksum::CcExt => "CC_EXT",
            Checksum::CcDmi => "CC_DMI",
        }
    }

    /// The memory page (2-wire address) holding the check code: `"A0h"` or `"A2h"`.
    pub const fn page(self) -> &'static str {
        match self {
            Checksum::CcBase | Checksum::CcExt => "A0h",
            Checksum::CcDmi => "A2h",
        }
    }

    /// Byte offset of the stored check code within its page.
    pub const fn offset(self) -> usize {
        match self {
            Checksum::CcBase => 63,
            Checksum::CcExt | Checksum::CcDmi => 95,
        }
    }

    /// First and last byte (inclusive) covered by the check code.
    pub const fn covered(self) -> (usize, usize) {
        match self {
            Checksum::CcBase => (0, 62),
            Checksum::CcExt => (64, 94),
            Checksum::CcDmi => (0, 94),
        }
    }
}

/// The error type of the whole crate.
///
/// `E` is the error type of the bus the failing operation used; it is
/// printed with its `Debug` representation (embedded HAL error types rarely
/// implement `Display`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error<E = Infallible> {
    /// A register-bus access to the gateware failed.
    Bus(E),
    /// An I2C transfer to the SFP module failed.
    I2c {
        /// 7-bit I2C device address (0x50 for A0h, 0x51 for A2h).
        dev: u8,
        /// Byte offset written before the read.
        offset: u8,
        /// The bus implementation's error.
        error: E,
    },
    /// [`RegisterBus::poll_until`](crate::bus::RegisterBus::poll_until) gave
    /// up before the register reached the expected value.
    PollTimeout {
        /// Register address that was polled.
        addr: u32,
        /// Bits of the register that were compared.
        mask: u32,
        /// Expected value of the masked bits.
        expected: u32,
        /// Last value read from the register (unmasked).
        last: u32,
        /// Number of reads performed.
        polls: u32,
    },
    /// An SFF-8472 check code does not match the bytes it covers.
    ChecksumMismatch {
        /// Which check code failed.
        checksum: Checksum,
        /// Value stored in the EEPROM.
        stored: u8,
        /// Value computed from the covered bytes.
        computed: u8,
    },
    /// A0h byte 0 says the module is not one that SFF-8472 describes.
    UnsupportedIdentifier {
        /// The SFF-8024 identifier found in A0h byte 0.
        identifier: u8,
    },
    /// Diagnostics were requested from a module without digital diagnostic
    /// monitoring (A0h byte 92 bit 6 clear).
    DiagnosticsNotImplemented {
        /// Raw A0h byte 92 (diagnostic monitoring type).
        monitoring_type: u8,
    },
    /// The module needs the SFF-8472 address-change sequence before its A2h
    /// page can be read (A0h byte 92 bit 2 set); this firmware does not
    /// implement that sequence.
    AddressChangeRequired {
        /// Raw A0h byte 92 (diagnostic monitoring type).
        monitoring_type: u8,
    },
    /// An external-calibration RX power coefficient (A2h bytes 56..=75) is
    /// NaN or infinite.
    InvalidCalibrationConstant {
        /// A2h offset of the first byte of the offending coefficient.
        offset: u8,
        /// Its raw IEEE-754 single-precision bit pattern.
        bits: u32,
    },
    /// A fill found no loop: the marker frame did not come back within
    /// the fill timeout on any of the fills tried (fiber cut or unplugged).
    NoLoop {
        /// Fills tried.
        fills: u32,
        /// The last `LOOP_STATUS` read.
        status: u32,
    },
    /// The loop holds fewer slots than the weights need (after a refill:
    /// the loop came back shorter).
    LoopTooShort {
        /// Slots in the loop.
        slots: u32,
        /// Slots the weights need.
        needed: u32,
    },
    /// The refill policy's bound was reached: one batch was run `tries`
    /// times (or a load's weights scanned `tries` times), each after a
    /// repair of the loop, and every time a weight frame was found bad or
    /// the loop was lost.
    RefillsCannotKeepUp {
        /// Runs of the batch, or scans of a load.
        tries: u32,
        /// Weight slots rewritten for this batch.
        slots_rewritten: u32,
        /// Loop refills (fill and rewrite everything) for this batch.
        loop_refills: u32,
    },
    /// The PRBS checker did not lock to the pattern in time.
    PrbsNoLock {
        /// The pattern's number (7, 15 or 31).
        pattern: u32,
        /// Reads of `PRBS_STATUS`.
        polls: u32,
        /// The last `PHY_STATUS` read.
        phy_status: u32,
    },
}

impl Error<Infallible> {
    /// Converts an error that cannot carry a bus error (as returned by the
    /// pure decoders) into one that can, for any bus error type `E`.
    pub fn widen<E>(self) -> Error<E> {
        match self {
            Error::Bus(never) | Error::I2c { error: never, .. } => match never {},
            Error::PollTimeout {
                addr,
                mask,
                expected,
                last,
                polls,
            } => Error::PollTimeout {
                addr,
                mask,
                expected,
                last,
                polls,
            },
            Error::ChecksumMismatch {
                checksum,
                stored,
                computed,
            } => Error::ChecksumMismatch {
                checksum,
                stored,
                computed,
            },
            Error::UnsupportedIdentifier { identifier } => {
                Error::UnsupportedIdentifier { identifier }
            }
            Error::DiagnosticsNotImplemented { monitoring_type } => {
                Error::DiagnosticsNotImplemented { monitoring_type }
            }
            Error::AddressChangeRequired { monitoring_type } => {
                Error::AddressChangeRequired { monitoring_type }
            }
            Error::InvalidCalibrationConstant { offset, bits } => {
                Error::InvalidCalibrationConstant { offset, bits }
            }
            Error::NoLoop { fills, status } => Error::NoLoop { fills, status },
            Error::LoopTooShort { slots, needed } => Error::LoopTooShort { slots, needed },
            Error::RefillsCannotKeepUp {
                tries,
                slots_rewritten,
                loop_refills,
            } => Error::RefillsCannotKeepUp {
                tries,
                slots_rewritten,
                loop_refills,
            },
            Error::PrbsNoLock {
                pattern,
                polls,
                phy_status,
            } => Error::PrbsNoLock {
                pattern,
                polls,
                phy_status,
            },
        }
    }
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Bus(e) => write!(f, "register bus access failed: {e:?}"),
            Error::I2c { dev, offset, error } => write!(
                f,
                "I2C transfer to device 0x{dev:02x} at offset 0x{offset:02x} failed: {error:?}"
            ),
            Error::PollTimeout {
                addr,
                mask,
                expected,
                last,
                polls,
            } => write!(
                f,
                "register 0x{addr:08x} did not reach (value & 0x{mask:08x}) == 0x{expected:08x} \
                 after {polls} polls (last read 0x{last:08x})"
            ),
            Error::ChecksumMismatch {
                checksum,
                stored,
                computed,
            } => {
                let (first, last) = checksum.covered();
                write!(
                    f,
                    "SFF-8472 {} checksum mismatch ({} at byte {}, over bytes {first}-{last}): \
                     stored 0x{stored:02x}, computed 0x{computed:02x}",
                    checksum.page(),
                    checksum.name(),
                    checksum.offset(),
                )
            }
            Error::UnsupportedIdentifier { identifier } => write!(
                f,
                "SFF-8472 A0h identifier 0x{identifier:02x} is not an SFP (0x03) \
                 or a soldered SFP-style module (0x02)"
            ),
            Error::DiagnosticsNotImplemented { monitoring_type } => write!(
                f,
                "module does not implement SFF-8472 digital diagnostic monitoring \
                 (A0h byte 92 = 0x{monitoring_type:02x}, bit 6 clear)"
            ),
            Error::AddressChangeRequired { monitoring_type } => write!(
                f,
                "module requires the SFF-8472 address change sequence before A2h can be read \
                 (A0h byte 92 = 0x{monitoring_type:02x}, bit 2 set); not supported"
            ),
            Error::InvalidCalibrationConstant { offset, bits } => write!(
                f,
                "SFF-8472 A2h external calibration constant at bytes {}-{} is not finite \
                 (raw 0x{bits:08x})",
                offset,
                u16::from(*offset) + 3,
            ),
            Error::NoLoop { fills, status } => write!(
                f,
                "no loop: the fill's marker frame did not come back ({fills} fills tried, \
                 loop status 0x{status:08x}): is the fiber cut or unplugged?"
            ),
            Error::LoopTooShort { slots, needed } => write!(
                f,
                "the loop holds {slots} slots but the weights need {needed}: \
                 it came back shorter after a refill"
            ),
            Error::RefillsCannotKeepUp {
                tries,
                slots_rewritten,
                loop_refills,
            } => write!(
                f,
                "refills cannot keep up: {tries} times in a row a weight frame was found bad \
                 (or the loop lost), although {slots_rewritten} bad weight slots were \
                 rewritten and the loop refilled {loop_refills} times in between: the fiber \
                 corrupts the weights faster than they can be restored"
            ),
            Error::PrbsNoLock {
                pattern,
                polls,
                phy_status,
            } => write!(
                f,
                "the PRBS{pattern} checker did not lock after {polls} polls (PHY status \
                 0x{phy_status:08x}): is the link up, the fiber connected, and the far end \
                 sending or looping back the same pattern?"
            ),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for Error<E> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn checksum_message_names_page_field_and_values() {
        let e: Error = Error::ChecksumMismatch {
            checksum: Checksum::CcBase,
            stored: 0x12,
            computed: 0x34,
        };
        assert_eq!(
            format!("{e}"),
            "SFF-8472 A0h checksum mismatch (CC_BASE at byte 63, over bytes 0-62): \
             stored 0x12, computed 0x34"
        );
        let e: Error = Error::ChecksumMismatch {
            checksum: Checksum::CcDmi,
            stored: 0xff,
            computed: 0x00,
        };
        assert_eq!(
            format!("{e}"),
            "SFF-8472 A2h checksum mismatch (CC_DMI at byte 95, over bytes 0-94): \
             stored 0xff, computed 0x00"
        );
    }

    #[test]
    fn bus_errors_use_debug_of_inner_error() {
        #[derive(Debug)]
        struct Nak;
        let e = Error::I2c {
            dev: 0x51,
            offset: 0x60,
            error: Nak,
        };
        assert_eq!(
            format!("{e}"),
            "I2C transfer to device 0x51 at offset 0x60 failed: Nak"
        );
        let e = Error::Bus(Nak);
        assert_eq!(format!("{e}"), "register bus access failed: Nak");
    }

    #[test]
    fn poll_timeout_message() {
        let e: Error = Error::PollTimeout {
            addr: 0x10,
            mask: 0x1,
            expected: 0x1,
            last: 0xf0,
            polls: 3,
        };
        assert_eq!(
            format!("{e}"),
            "register 0x00000010 did not reach (value & 0x00000001) == 0x00000001 \
             after 3 polls (last read 0x000000f0)"
        );
    }

    #[test]
    fn widen_preserves_variant() {
        let e: Error = Error::InvalidCalibrationConstant {
            offset: 56,
            bits: 0x7fc0_0000,
        };
        let w: Error<u8> = e.clone().widen();
        assert_eq!(
            w,
            Error::InvalidCalibrationConstant {
                offset: 56,
                bits: 0x7fc0_0000
            }
        );
        assert_eq!(format!("{e}"), format!("{w}"));
        assert!(format!("{e}").contains("bytes 56-59"));
    }

    #[test]
    fn is_a_core_error() {
        fn takes(_: &dyn core::error::Error) {}
        let e: Error = Error::UnsupportedIdentifier { identifier: 0x0d };
        takes(&e);
        assert!(format!("{e}").contains("0x0d"));
    }
}

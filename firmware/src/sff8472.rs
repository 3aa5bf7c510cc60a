//! SFP module management interface, per SFF-8472.
//!
//! An SFP module exposes two 256-byte memories on its 2-wire bus:
//!
//! * **A0h** (I2C address [`A0_ADDR`] = 0x50): serial ID — what the module
//!   is, who made it, its wavelength, rate and reach. [`read_module`] reads
//!   bytes 0..96, verifies both check codes (`CC_BASE`, `CC_EXT`) and
//!   decodes them into a [`ModuleInfo`].
//! * **A2h** (I2C address [`A2_ADDR`] = 0x51): digital diagnostics —
//!   alarm/warning thresholds, calibration constants, live measurements and
//!   flags. [`read_diagnostics`] reads bytes 0..120, verifies `CC_DMI` and
//!   decodes them into [`Diagnostics`] in engineering units, applying
//!   external calibration when the module asks for it.
//!
//! The byte-level decoders [`decode_a0`] and [`decode_a2`] are public too,
//! for images obtained some other way.
//!
//! # Units
//!
//! Temperatures are in degrees Celsius, supply voltage in volts, laser bias
//! in milliamperes and optical power in milliwatts (use
//! [`Measurements::tx_power_dbm`] / [`mw_to_dbm`] for dBm). A power of
//! exactly 0 mW is reported as `f32::NEG_INFINITY` dBm.

use crate::bus::I2cBus;
use crate::error::{Checksum, Error};
use core::fmt;

/// 7-bit I2C address of the A0h (serial ID) memory.
pub const A0_ADDR: u8 = 0x50;
/// 7-bit I2C address of the A2h (diagnostics) memory.
pub const A2_ADDR: u8 = 0x51;
/// Number of A0h bytes read and decoded (base and extended ID fields).
pub const A0_LEN: usize = 96;
/// Number of A2h bytes read and decoded (thresholds, calibration, live
/// values, status and flags).
pub const A2_LEN: usize = 120;

/// SFF-8024 identifier of an SFP / SFP+ / SFP28 module.
pub const IDENTIFIER_SFP: u8 = 0x03;
/// SFF-8024 identifier of a module soldered to the board, managed per SFF-8472.
pub const IDENTIFIER_SOLDERED: u8 = 0x02;

/// Low 8 bits of the sum of `bytes`: the SFF-8472 check code algorithm.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |acc, &b| acc.wrapping_add(b))
}

fn verify(raw: &[u8], which: Checksum) -> Result<(), Error> {
    let (first, last) = which.covered();
    let computed = checksum(&raw[first..=last]);
    let stored = raw[which.offset()];
    if stored == computed {
        Ok(())
    } else {
        Err(Error::ChecksumMismatch {
            checksum: which,
            stored,
            computed,
        })
    }
}

fn be16(raw: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([raw[at], raw[at + 1]])
}

fn field<const N: usize>(raw: &[u8], at: usize) -> &[u8; N] {
    raw[at..at + N]
        .try_into()
        .expect("slice length equals N by construction")
}

/// A fixed-size ASCII field of the EEPROM, trimmed of leading and trailing
/// spaces and NULs.
///
/// Bytes that are not printable ASCII (0x20..=0x7e) are replaced by `?`, so
/// [`Ascii::as_str`] always succeeds.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ascii<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Ascii<N> {
    /// Builds the trimmed, sanitised text of a raw EEPROM field.
    pub fn from_bytes(raw: &[u8; N]) -> Self {
        let blank = |b: &u8| *b == b' ' || *b == 0;
        let start = raw.iter().position(|b| !blank(b)).unwrap_or(N);
        let end = raw.iter().rposition(|b| !blank(b)).map_or(start, |i| i + 1);
        let mut bytes = [0u8; N];
        for (dst, &src) in bytes.iter_mut().zip(&raw[start..end]) {
            *dst = if (0x20..=0x7e).contains(&src) {
                src
            } else {
                b'?'
            };
        }
        Self {
            bytes,
            len: end - start,
        }
    }

    /// The trimmed text.
    pub fn as_str(&self) -> &str {
        // Only printable ASCII is ever stored, which is valid UTF-8.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }

    /// `true` if the field was blank.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> fmt::Display for Ascii<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for Ascii<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> PartialEq<str> for Ascii<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for Ascii<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Manufacturing date decoded from the A0h date code (bytes 84..=91,
/// `YYMMDD` followed by an optional two-character lot code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ManufactureDate {
    /// Full year (2000 + `YY`).
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of month, 1..=31.
    pub day: u8,
    /// Vendor-specific lot code (may be empty).
    pub lot: Ascii<2>,
}

impl ManufactureDate {
    /// Parses the raw 8-byte date code; `None` if the first six bytes are
    /// not a plausible `YYMMDD`.
    pub fn parse(raw: &[u8; 8]) -> Option<Self> {
        let two = |i: usize| -> Option<u8> {
            let (hi, lo) = (raw[i], raw[i + 1]);
            if hi.is_ascii_digit() && lo.is_ascii_digit() {
                Some((hi - b'0') * 10 + (lo - b'0'))
            } else {
                None
            }
        };
        let (yy, month, day) = (two(0)?, two(2)?, two(4)?);
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        Some(Self {
            year: 2000 + u16::from(yy),
            month,
            day,
            lot: Ascii::from_bytes(&[raw[6], raw[7]]),
        })
    }
}

/// How the module measures received power (A0h byte 92 bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RxPowerMeasurement {
    /// Optical modulation amplitude (bit 3 clear).
    Oma,
    /// Average power (bit 3 set).
    Average,
}

/// Diagnostic monitoring type, A0h byte 92.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DiagnosticMonitoring {
    /// The raw byte.
    pub raw: u8,
    /// Bit 6: digital diagnostic monitoring (the A2h page) is implemented.
    pub implemented: bool,
    /// Bit 5: A2h values are internally calibrated (already in SFF-8472 units).
    pub internally_calibrated: bool,
    /// Bit 4: A2h values are raw A/D counts that must be converted with the
    /// calibration constants stored in A2h.
    pub externally_calibrated: bool,
    /// Bit 3: received power measurement type.
    pub rx_power_measurement: RxPowerMeasurement,
    /// Bit 2: an address change sequence is required to reach A2h.
    pub address_change_required: bool,
}

impl DiagnosticMonitoring {
    /// Decodes A0h byte 92.
    pub const fn from_byte(raw: u8) -> Self {
        Self {
            raw,
            implemented: raw & 0x40 != 0,
            internally_calibrated: raw & 0x20 != 0,
            externally_calibrated: raw & 0x10 != 0,
            rx_power_measurement: if raw & 0x08 != 0 {
                RxPowerMeasurement::Average
            } else {
                RxPowerMeasurement::Oma
            },
            address_change_required: raw & 0x04 != 0,
        }
    }
}

/// Identity of an SFP module, decoded from its A0h page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModuleInfo {
    /// SFF-8024 identifier, byte 0 ([`IDENTIFIER_SFP`] or [`IDENTIFIER_SOLDERED`]).
    pub identifier: u8,
    /// Extended identifier, byte 1 (0x04: serial ID defined by 2-wire interface only).
    pub ext_identifier: u8,
    /// SFF-8024 connector code, byte 2 (0x07 is LC); see [`connector_name`].
    pub connector: u8,
    /// Vendor name, bytes 20..=35.
    pub vendor_name: Ascii<16>,
    /// Vendor IEEE company ID, bytes 37..=39.
    pub vendor_oui: [u8; 3],
    /// Vendor part number, bytes 40..=55.
    pub part_number: Ascii<16>,
    /// Vendor revision, bytes 56..=59.
    pub revision: Ascii<4>,
    /// Laser wavelength in nm, bytes 60..=61. `None` when the field is 0 or
    /// holds cable compliance codes instead (passive/active copper cable,
    /// byte 8 bits 2/3).
    pub wavelength_nm: Option<u16>,
    /// Nominal signalling rate in MBd: byte 12 in units of 100 MBd, or, when
    /// byte 12 is 0xff, byte 66 in units of 250 MBd. `None` if unspecified.
    pub nominal_bit_rate_mbd: Option<u32>,
    /// Supported single-mode fibre length in km, byte 14 (255: more than 254 km).
    pub length_smf_km: u8,
    /// Supported single-mode fibre length in units of 100 m, byte 15
    /// (255: more than 25.4 km).
    pub length_smf_100m: u8,
    /// Vendor serial number, bytes 68..=83.
    pub serial_number: Ascii<16>,
    /// Raw date code, bytes 84..=91 (`YYMMDD` plus lot code).
    pub date_code: Ascii<8>,
    /// The date code parsed, if it is a valid date.
    pub manufacture_date: Option<ManufactureDate>,
    /// Diagnostic monitoring type, byte 92.
    pub diagnostic_monitoring: DiagnosticMonitoring,
    /// Enhanced options, byte 93 (optional alarm/warning flags, soft TX
    /// disable, ...), undecoded.
    pub enhanced_options: u8,
    /// SFF-8472 revision the module complies with, byte 94 (0: diagnostics
    /// not included; 0x08: rev 12.3, ...), undecoded.
    pub sff8472_compliance: u8,
}

impl ModuleInfo {
    /// Human-readable name of [`ModuleInfo::identifier`].
    pub fn identifier_name(&self) -> &'static str {
        identifier_name(self.identifier)
    }

    /// Human-readable name of [`ModuleInfo::connector`].
    pub fn connector_name(&self) -> &'static str {
        connector_name(self.connector)
    }
}

/// Short name of an SFF-8024 identifier value (the common ones only).
pub fn identifier_name(identifier: u8) -> &'static str {
    match identifier {
        0x00 => "unknown",
        0x01 => "GBIC",
        0x02 => "soldered module",
        0x03 => "SFP/SFP+/SFP28",
        0x80..=0xff => "vendor specific",
        _ => "other (see SFF-8024)",
    }
}

/// Short name of an SFF-8024 connector code (the common ones only).
pub fn connector_name(connector: u8) -> &'static str {
    match connector {
        0x00 => "unknown",
        0x01 => "SC",
        0x07 => "LC",
        0x08 => "MT-RJ",
        0x09 => "MU",
        0x0b => "optical pigtail",
        0x21 => "copper pigtail",
        0x22 => "RJ45",
        0x23 => "no separable connector",
        0x80..=0xff => "vendor specific",
        _ => "other (see SFF-8024)",
    }
}

/// Decodes an A0h image (bytes 0..96).
///
/// Verifies `CC_BASE` (byte 63) and `CC_EXT` (byte 95) first, then that the
/// identifier is [`IDENTIFIER_SFP`] or [`IDENTIFIER_SOLDERED`].
pub fn decode_a0(raw: &[u8; A0_LEN]) -> Result<ModuleInfo, Error> {
    verify(raw, Checksum::CcBase)?;
    verify(raw, Checksum::CcExt)?;
    let identifier = raw[0];
    if identifier != IDENTIFIER_SFP && identifier != IDENTIFIER_SOLDERED {
        return Err(Error::UnsupportedIdentifier { identifier });
    }

    let cable = raw[8] & 0x0c != 0;
    let wavelength = be16(raw, 60);
    let nominal_bit_rate_mbd = match raw[12] {
        0 => None,
        0xff if raw[66] != 0 => Some(u32::from(raw[66]) * 250),
        0xff => None,
        units => Some(u32::from(units) * 100),
    };
    let date_raw: &[u8; 8] = field(raw, 84);

    Ok(ModuleInfo {
        identifier,
        ext_identifier: raw[1],
        connector: raw[2],
        vendor_name: Ascii::from_bytes(field(raw, 20)),
        vendor_oui: *field(raw, 37),
        part_number: Ascii::from_bytes(field(raw, 40)),
        revision: Ascii::from_bytes(field(raw, 56)),
        wavelength_nm: if cable || wavelength == 0 {
            None
        } else {
            Some(wavelength)
        },
        nominal_bit_rate_mbd,
        length_smf_km: raw[14],
        length_smf_100m: raw[15],
        serial_number: Ascii::from_bytes(field(raw, 68)),
        date_code: Ascii::from_bytes(date_raw),
        manufacture_date: ManufactureDate::parse(date_raw),
        diagnostic_monitoring: DiagnosticMonitoring::from_byte(raw[92]),
        enhanced_options: raw[93],
        sff8472_compliance: raw[94],
    })
}

/// An unsigned 8.8 fixed-point slope and a signed offset, as stored for
/// external calibration (A2h bytes 76..=91).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlopeOffset {
    /// Slope, unsigned fixed point with 8 fractional bits (0x0100 = 1.0).
    pub slope: u16,
    /// Offset, in the units of the calibrated quantity.
    pub offset: i16,
}

impl SlopeOffset {
    /// `slope * raw + offset`, in the units of the calibrated quantity.
    pub fn apply(self, raw: f32) -> f32 {
        f32::from(self.slope) / 256.0 * raw + f32::from(self.offset)
    }
}

/// External calibration constants, A2h bytes 56..=91.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExternalCalibration {
    /// RX power polynomial coefficients; `rx_power[i]` multiplies the i-th
    /// power of the A/D count (so `rx_power[4]` is `Rx_PWR(4)` at bytes
    /// 56..=59 and `rx_power[0]` is `Rx_PWR(0)` at bytes 72..=75). The
    /// result is in units of 0.1 uW.
    pub rx_power: [f32; 5],
    /// Laser bias current, bytes 76..=79 (result in units of 2 uA).
    pub tx_bias: SlopeOffset,
    /// Transmitted power, bytes 80..=83 (result in units of 0.1 uW).
    pub tx_power: SlopeOffset,
    /// Temperature, bytes 84..=87 (result in units of 1/256 degC).
    pub temperature: SlopeOffset,
    /// Supply voltage, bytes 88..=91 (result in units of 100 uV).
    pub voltage: SlopeOffset,
}

impl ExternalCalibration {
    /// Decodes the constants from an A2h image.
    ///
    /// Fails with [`Error::InvalidCalibrationConstant`] if an RX power
    /// coefficient is NaN or infinite.
    pub fn decode(raw: &[u8; A2_LEN]) -> Result<Self, Error> {
        let mut rx_power = [0f32; 5];
        for (i, coefficient) in rx_power.iter_mut().enumerate() {
            // Rx_PWR(4) comes first, at byte 56.
            let at = 56 + 4 * (4 - i);
            let bits = u32::from_be_bytes(*field(raw, at));
            let value = f32::from_bits(bits);
            if !value.is_finite() {
                return Err(Error::InvalidCalibrationConstant {
                    offset: at as u8,
                    bits,
                });
            }
            *coefficient = value;
        }
        let slope_offset = |at: usize| SlopeOffset {
            slope: be16(raw, at),
            offset: be16(raw, at + 2) as i16,
        };
        Ok(Self {
            rx_power,
            tx_bias: slope_offset(76),
            tx_power: slope_offset(80),
            temperature: slope_offset(84),
            voltage: slope_offset(88),
        })
    }
}

/// How A2h measurements are converted to physical units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Calibration {
    /// Values are already in SFF-8472 units.
    Internal,
    /// Values are A/D counts to be converted with these constants.
    External(ExternalCalibration),
}

impl Calibration {
    /// Converts a raw temperature word to degrees Celsius.
    pub fn temperature_c(&self, raw: i16) -> f32 {
        match self {
            Calibration::Internal => f32::from(raw) / 256.0,
            Calibration::External(c) => c.temperature.apply(f32::from(raw)) / 256.0,
        }
    }

    /// Converts a raw supply voltage word to volts.
    pub fn vcc_v(&self, raw: u16) -> f32 {
        match self {
            Calibration::Internal => f32::from(raw) / 10_000.0,
            Calibration::External(c) => c.voltage.apply(f32::from(raw)) / 10_000.0,
        }
    }

    /// Converts a raw laser bias word to milliamperes.
    pub fn tx_bias_ma(&self, raw: u16) -> f32 {
        match self {
            Calibration::Internal => f32::from(raw) / 500.0,
            Calibration::External(c) => c.tx_bias.apply(f32::from(raw)) / 500.0,
        }
    }

    /// Converts a raw transmitted power word to milliwatts (negative
    /// calibrated results are clamped to 0).
    pub fn tx_power_mw(&self, raw: u16) -> f32 {
        let tenths_uw = match self {
            Calibration::Internal => f32::from(raw),
            Calibration::External(c) => c.tx_power.apply(f32::from(raw)),
        };
        tenths_uw.max(0.0) / 10_000.0
    }

    /// Converts a raw received power word to milliwatts (negative
    /// calibrated results are clamped to 0).
    pub fn rx_power_mw(&self, raw: u16) -> f32 {
        let tenths_uw = match self {
            Calibration::Internal => f32::from(raw),
            Calibration::External(c) => {
                let x = f64::from(raw);
                let value = c
                    .rx_power
                    .iter()
                    .rev()
                    .fold(0.0f64, |acc, &k| acc * x + f64::from(k));
                value as f32
            }
        };
        tenths_uw.max(0.0) / 10_000.0
    }
}

/// Converts an optical power in mW to dBm; 0 mW gives `f32::NEG_INFINITY`.
pub fn mw_to_dbm(mw: f32) -> f32 {
    10.0 * crate::math::log10(mw)
}

/// The five live A2h values as stored (bytes 96..=105), before calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawMeasurements {
    /// Temperature, bytes 96..=97.
    pub temperature: i16,
    /// Supply voltage, bytes 98..=99.
    pub vcc: u16,
    /// Laser bias current, bytes 100..=101.
    pub tx_bias: u16,
    /// Transmitted power, bytes 102..=103.
    pub tx_power: u16,
    /// Received power, bytes 104..=105.
    pub rx_power: u16,
}

/// The live A2h values in engineering units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurements {
    /// Module temperature, degC.
    pub temperature_c: f32,
    /// Supply voltage, V.
    pub vcc_v: f32,
    /// Laser bias current, mA.
    pub tx_bias_ma: f32,
    /// Transmitted optical power, mW.
    pub tx_power_mw: f32,
    /// Received optical power, mW (average or OMA, see
    /// [`DiagnosticMonitoring::rx_power_measurement`]).
    pub rx_power_mw: f32,
}

impl Measurements {
    /// Transmitted power in dBm (`-inf` for 0 mW).
    pub fn tx_power_dbm(&self) -> f32 {
        mw_to_dbm(self.tx_power_mw)
    }

    /// Received power in dBm (`-inf` for 0 mW).
    pub fn rx_power_dbm(&self) -> f32 {
        mw_to_dbm(self.rx_power_mw)
    }
}

/// Alarm or warning limits of one quantity, in its engineering unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// High alarm threshold.
    pub high_alarm: f32,
    /// Low alarm threshold.
    pub low_alarm: f32,
    /// High warning threshold.
    pub high_warning: f32,
    /// Low warning threshold.
    pub low_warning: f32,
}

/// Alarm and warning thresholds, A2h bytes 0..=39, in engineering units.
///
/// For externally calibrated modules the stored thresholds are A/D counts
/// and are converted with the same constants as the live values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Temperature, degC (bytes 0..=7).
    pub temperature_c: Limits,
    /// Supply voltage, V (bytes 8..=15).
    pub vcc_v: Limits,
    /// Laser bias, mA (bytes 16..=23).
    pub tx_bias_ma: Limits,
    /// Transmitted power, mW (bytes 24..=31).
    pub tx_power_mw: Limits,
    /// Received power, mW (bytes 32..=39).
    pub rx_power_mw: Limits,
}

/// One set of alarm or warning flags (A2h bytes 112..=113 for alarms,
/// 116..=117 for warnings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    /// Temperature above the high threshold (first byte, bit 7).
    pub temperature_high: bool,
    /// Temperature below the low threshold (first byte, bit 6).
    pub temperature_low: bool,
    /// Supply voltage above the high threshold (first byte, bit 5).
    pub vcc_high: bool,
    /// Supply voltage below the low threshold (first byte, bit 4).
    pub vcc_low: bool,
    /// Laser bias above the high threshold (first byte, bit 3).
    pub tx_bias_high: bool,
    /// Laser bias below the low threshold (first byte, bit 2).
    pub tx_bias_low: bool,
    /// Transmitted power above the high threshold (first byte, bit 1).
    pub tx_power_high: bool,
    /// Transmitted power below the low threshold (first byte, bit 0).
    pub tx_power_low: bool,
    /// Received power above the high threshold (second byte, bit 7).
    pub rx_power_high: bool,
    /// Received power below the low threshold (second byte, bit 6).
    pub rx_power_low: bool,
}

impl Flags {
    /// Decodes a pair of flag bytes (112/113 or 116/117).
    pub const fn from_bytes(first: u8, second: u8) -> Self {
        Self {
            temperature_high: first & 0x80 != 0,
            temperature_low: first & 0x40 != 0,
            vcc_high: first & 0x20 != 0,
            vcc_low: first & 0x10 != 0,
            tx_bias_high: first & 0x08 != 0,
            tx_bias_low: first & 0x04 != 0,
            tx_power_high: first & 0x02 != 0,
            tx_power_low: first & 0x01 != 0,
            rx_power_high: second & 0x80 != 0,
            rx_power_low: second & 0x40 != 0,
        }
    }

    /// `true` if any flag is raised.
    pub const fn any(&self) -> bool {
        self.temperature_high
            || self.temperature_low
            || self.vcc_high
            || self.vcc_low
            || self.tx_bias_high
            || self.tx_bias_low
            || self.tx_power_high
            || self.tx_power_low
            || self.rx_power_high
            || self.rx_power_low
    }
}

/// Status/control register, A2h byte 110.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status {
    /// The raw byte.
    pub raw: u8,
    /// Bit 7: state of the TX_DISABLE pin.
    pub tx_disable: bool,
    /// Bit 6: soft TX disable is set.
    pub soft_tx_disable: bool,
    /// Bit 2: state of the TX_FAULT signal.
    pub tx_fault: bool,
    /// Bit 1: state of the RX_LOS (loss of signal) signal.
    pub rx_los: bool,
    /// Bit 0 inverted (`Data_Ready_Bar` low): the module has valid
    /// measurements.
    pub data_ready: bool,
}

impl Status {
    /// Decodes A2h byte 110.
    pub const fn from_byte(raw: u8) -> Self {
        Self {
            raw,
            tx_disable: raw & 0x80 != 0,
            soft_tx_disable: raw & 0x40 != 0,
            tx_fault: raw & 0x04 != 0,
            rx_los: raw & 0x02 != 0,
            data_ready: raw & 0x01 == 0,
        }
    }
}

/// Everything decoded from the A2h page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Diagnostics {
    /// The calibration applied to the raw values.
    pub calibration: Calibration,
    /// Live values as stored.
    pub raw: RawMeasurements,
    /// Live values in engineering units.
    pub measurements: Measurements,
    /// Alarm and warning thresholds in engineering units.
    pub thresholds: Thresholds,
    /// Alarm flags (bytes 112..=113).
    pub alarms: Flags,
    /// Warning flags (bytes 116..=117).
    pub warnings: Flags,
    /// Status/control byte 110.
    pub status: Status,
}

fn check_diagnostics_available(module: &ModuleInfo) -> Result<(), Error> {
    let dm = module.diagnostic_monitoring;
    if !dm.implemented {
        return Err(Error::DiagnosticsNotImplemented {
            monitoring_type: dm.raw,
        });
    }
    if dm.address_change_required {
        return Err(Error::AddressChangeRequired {
            monitoring_type: dm.raw,
        });
    }
    Ok(())
}

/// Decodes an A2h image (bytes 0..120) of the module described by `module`.
///
/// Checks that `module` implements diagnostics, verifies `CC_DMI`
/// (byte 95), then converts thresholds and live values, using external
/// calibration if A0h byte 92 bit 4 is set and treating the values as
/// internally calibrated otherwise.
pub fn decode_a2(raw: &[u8; A2_LEN], module: &ModuleInfo) -> Result<Diagnostics, Error> {
    check_diagnostics_available(module)?;
    verify(raw, Checksum::CcDmi)?;
    let calibration = if module.diagnostic_monitoring.externally_calibrated {
        Calibration::External(ExternalCalibration::decode(raw)?)
    } else {
        Calibration::Internal
    };
    let cal = &calibration;

    let limits = |at: usize, convert: &dyn Fn(u16) -> f32| Limits {
        high_alarm: convert(be16(raw, at)),
        low_alarm: convert(be16(raw, at + 2)),
        high_warning: convert(be16(raw, at + 4)),
        low_warning: convert(be16(raw, at + 6)),
    };
    let thresholds = Thresholds {
        temperature_c: limits(0, &|w| cal.temperature_c(w as i16)),
        vcc_v: limits(8, &|w| cal.vcc_v(w)),
        tx_bias_ma: limits(16, &|w| cal.tx_bias_ma(w)),
        tx_power_mw: limits(24, &|w| cal.tx_power_mw(w)),
        rx_power_mw: limits(32, &|w| cal.rx_power_mw(w)),
    };

    let live = RawMeasurements {
        temperature: be16(raw, 96) as i16,
        vcc: be16(raw, 98),
        tx_bias: be16(raw, 100),
        tx_power: be16(raw, 102),
        rx_power: be16(raw, 104),
    };
    let measurements = Measurements {
        temperature_c: cal.temperature_c(live.temperature),
        vcc_v: cal.vcc_v(live.vcc),
        tx_bias_ma: cal.tx_bias_ma(live.tx_bias),
        tx_power_mw: cal.tx_power_mw(live.tx_power),
        rx_power_mw: cal.rx_power_mw(live.rx_power),
    };

    Ok(Diagnostics {
        calibration,
        raw: live,
        measurements,
        thresholds,
        alarms: Flags::from_bytes(raw[112], raw[113]),
        warnings: Flags::from_bytes(raw[116], raw[117]),
        status: Status::from_byte(raw[110]),
    })
}

fn read_block<I: I2cBus>(i2c: &mut I, dev: u8, buf: &mut [u8]) -> Result<(), Error<I::Error>> {
    i2c.write_read(dev, &[0], buf).map_err(|error| Error::I2c {
        dev,
        offset: 0,
        error,
    })
}

/// Reads A0h bytes 0..96 from the module and decodes them with [`decode_a0`].
pub fn read_module<I: I2cBus>(i2c: &mut I) -> Result<ModuleInfo, Error<I::Error>> {
    let mut raw = [0u8; A0_LEN];
    read_block(i2c, A0_ADDR, &mut raw)?;
    decode_a0(&raw).map_err(Error::widen)
}

/// Reads A2h bytes 0..120 from the module and decodes them with [`decode_a2`].
///
/// Fails without touching the bus if `module` does not implement
/// diagnostics or needs the address change sequence.
pub fn read_diagnostics<I: I2cBus>(
    i2c: &mut I,
    module: &ModuleInfo,
) -> Result<Diagnostics, Error<I::Error>> {
    check_diagnostics_available(module).map_err(Error::widen)?;
    let mut raw = [0u8; A2_LEN];
    read_block(i2c, A2_ADDR, &mut raw)?;
    decode_a2(&raw, module).map_err(Error::widen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::mock::{MockError, MockI2c, Transfer};
    use std::{format, vec};

    // ---- image builders -------------------------------------------------

    fn put(img: &mut [u8], at: usize, bytes: &[u8]) {
        img[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// Writes `text` into a `len`-byte field, padded with spaces.
    fn put_text(img: &mut [u8], at: usize, len: usize, text: &str) {
        assert!(text.len() <= len);
        img[at..at + len].fill(b' ');
        put(img, at, text.as_bytes());
    }

    fn put16(img: &mut [u8], at: usize, word: u16) {
        put(img, at, &word.to_be_bytes());
    }

    fn put_f32(img: &mut [u8], at: usize, value: f32) {
        put(img, at, &value.to_bits().to_be_bytes());
    }

    fn fix_a0(a0: &mut [u8; A0_LEN]) {
        a0[63] = a0[..63].iter().fold(0u8, |s, &b| s.wrapping_add(b));
        a0[95] = a0[64..95].iter().fold(0u8, |s, &b| s.wrapping_add(b));
    }

    fn fix_a2(a2: &mut [u8; A2_LEN]) {
        a2[95] = a2[..95].iter().fold(0u8, |s, &b| s.wrapping_add(b));
    }

    /// A 10G LR-style SFP+, internally calibrated, average RX power.
    fn a0_image() -> [u8; A0_LEN] {
        let mut a = [0u8; A0_LEN];
        a[0] = 0x03;
        a[1] = 0x04;
        a[2] = 0x07;
        a[3] = 0x20; // 10GBASE-LR compliance
        a[11] = 0x06; // encoding 64B/66B
        a[12] = 103; // 10.3 GBd
        a[14] = 10;
        a[15] = 100;
        put_text(&mut a, 20, 16, "FIBERLOOP CORP");
        put(&mut a, 37, &[0x00, 0x90, 0x65]);
        put_text(&mut a, 40, 16, "FL-SFP10-LR");
        put_text(&mut a, 56, 4, "A1");
        put16(&mut a, 60, 1310);
        put_text(&mut a, 68, 16, "  SN0001234");
        put_text(&mut a, 84, 8, "240229AB");
        a[92] = 0x68; // DDM, internally calibrated, average power
        a[93] = 0xf0;
        a[94] = 0x08;
        fix_a0(&mut a);
        a
    }

    fn module_with_dm(byte92: u8) -> ModuleInfo {
        let mut a = a0_image();
        a[92] = byte92;
        fix_a0(&mut a);
        decode_a0(&a).unwrap()
    }

    /// Internally calibrated diagnostics: -12.5 degC, 3.3 V, 6.5 mA,
    /// 0.5 mW out, nothing received.
    fn a2_internal() -> [u8; A2_LEN] {
        let mut a = [0u8; A2_LEN];
        // Temperature: 80, -40, 75, -10 degC.
        for (i, t) in [80i16, -40, 75, -10].into_iter().enumerate() {
            put16(&mut a, 2 * i, (t * 256) as u16);
        }
        // Vcc: 3.6, 3.0, 3.5, 3.1 V.
        for (i, w) in [36000u16, 30000, 35000, 31000].into_iter().enumerate() {
            put16(&mut a, 8 + 2 * i, w);
        }
        // Bias: 15, 1, 12, 2 mA.
        for (i, w) in [7500u16, 500, 6000, 1000].into_iter().enumerate() {
            put16(&mut a, 16 + 2 * i, w);
        }
        // TX power: 1.0, 0.1, 0.8, 0.12 mW.
        for (i, w) in [10000u16, 1000, 8000, 1200].into_iter().enumerate() {
            put16(&mut a, 24 + 2 * i, w);
        }
        // RX power: 1.0, 0.01, 0.5, 0 mW.
        for (i, w) in [10000u16, 100, 5000, 0].into_iter().enumerate() {
            put16(&mut a, 32 + 2 * i, w);
        }
        put16(&mut a, 96, (-3200i16) as u16);
        put16(&mut a, 98, 33000);
        put16(&mut a, 100, 3250);
        put16(&mut a, 102, 5000);
        put16(&mut a, 104, 0);
        a[110] = 0x02; // RX_LOS, data ready
        a[113] = 0x40; // RX power low alarm
        a[116] = 0x40; // temperature low warning
        a[117] = 0x40; // RX power low warning
        fix_a2(&mut a);
        a
    }

    /// Externally calibrated diagnostics; see the expected values in
    /// `external_calibration_is_applied`.
    fn a2_external() -> [u8; A2_LEN] {
        let mut a = [0u8; A2_LEN];
        // Raw A/D thresholds.
        for (i, t) in [8704i16, -2560, 7680, -1024].into_iter().enumerate() {
            put16(&mut a, 2 * i, t as u16);
        }
        for (i, w) in [65000u16, 58000, 64000, 59000].into_iter().enumerate() {
            put16(&mut a, 8 + 2 * i, w);
        }
        for (i, w) in [5000u16, 10, 4000, 5].into_iter().enumerate() {
            put16(&mut a, 16 + 2 * i, w);
        }
        for (i, w) in [16000u16, 0, 12000, 10].into_iter().enumerate() {
            put16(&mut a, 24 + 2 * i, w);
        }
        for (i, w) in [4000u16, 0, 3000, 100].into_iter().enumerate() {
            put16(&mut a, 32 + 2 * i, w);
        }
        // Rx_PWR(4) .. Rx_PWR(0).
        put_f32(&mut a, 56, 0.0);
        put_f32(&mut a, 60, 0.0);
        put_f32(&mut a, 64, 1e-5);
        put_f32(&mut a, 68, 0.5);
        put_f32(&mut a, 72, 5.0);
        // Slope (8.8) / offset pairs: bias, TX power, temperature, voltage.
        put16(&mut a, 76, 0x0200); // 2.0
        put16(&mut a, 78, (-10i16) as u16);
        put16(&mut a, 80, 0x00c0); // 0.75
        put16(&mut a, 82, (-20i16) as u16);
        put16(&mut a, 84, 0x0180); // 1.5
        put16(&mut a, 86, (-256i16) as u16);
        put16(&mut a, 88, 0x0080); // 0.5
        put16(&mut a, 90, 100);
        // Live A/D values.
        put16(&mut a, 96, 5120);
        put16(&mut a, 98, 60000);
        put16(&mut a, 100, 1000);
        put16(&mut a, 102, 8000);
        put16(&mut a, 104, 2000);
        a[110] = 0xc5; // TX_DISABLE, soft disable, TX fault, data not ready
        a[112] = 0xaa; // temp high, vcc high, bias high, tx high
        a[113] = 0x80; // rx high
        a[116] = 0x55; // temp low, vcc low, bias low, tx low
        a[117] = 0x40; // rx low
        fix_a2(&mut a);
        a
    }

    #[track_caller]
    fn close(got: f32, want: f32) {
        let tol = 1e-5 * want.abs().max(1.0);
        assert!((got - want).abs() <= tol, "got {got}, want {want}");
    }

    #[track_caller]
    fn limits(got: Limits, want: [f32; 4]) {
        close(got.high_alarm, want[0]);
        close(got.low_alarm, want[1]);
        close(got.high_warning, want[2]);
        close(got.low_warning, want[3]);
    }

    // ---- A0h -------------------------------------------------------------

    #[test]
    fn decodes_every_a0_field() {
        let m = decode_a0(&a0_image()).unwrap();
        assert_eq!(m.identifier, 0x03);
        assert_eq!(m.identifier_name(), "SFP/SFP+/SFP28");
        assert_eq!(m.ext_identifier, 0x04);
        assert_eq!(m.connector, 0x07);
        assert_eq!(m.connector_name(), "LC");
        assert_eq!(m.vendor_name, "FIBERLOOP CORP");
        assert_eq!(m.vendor_oui, [0x00, 0x90, 0x65]);
        assert_eq!(m.part_number, "FL-SFP10-LR");
        assert_eq!(m.revision, "A1");
        assert_eq!(m.wavelength_nm, Some(1310));
        assert_eq!(m.nominal_bit_rate_mbd, Some(10_300));
        assert_eq!(m.length_smf_km, 10);
        assert_eq!(m.length_smf_100m, 100);
        assert_eq!(m.serial_number, "SN0001234");
        assert_eq!(m.date_code, "240229AB");
        assert_eq!(
            m.manufacture_date,
            Some(ManufactureDate {
                year: 2024,
                month: 2,
                day: 29,
                lot: Ascii::from_bytes(b"AB"),
            })
        );
        assert_eq!(
            m.diagnostic_monitoring,
            DiagnosticMonitoring {
                raw: 0x68,
                implemented: true,
                internally_calibrated: true,
                externally_calibrated: false,
                rx_power_measurement: RxPowerMeasurement::Average,
                address_change_required: false,
            }
        );
        assert_eq!(m.enhanced_options, 0xf0);
        assert_eq!(m.sff8472_compliance, 0x08);
    }

    #[test]
    fn diagnostic_monitoring_bits() {
        let dm = DiagnosticMonitoring::from_byte(0x14);
        assert!(!dm.implemented);
        assert!(!dm.internally_calibrated);
        assert!(dm.externally_calibrated);
        assert_eq!(dm.rx_power_measurement, RxPowerMeasurement::Oma);
        assert!(dm.address_change_required);
        let dm = DiagnosticMonitoring::from_byte(0x48);
        assert!(dm.implemented && !dm.externally_calibrated && !dm.address_change_required);
        assert_eq!(dm.rx_power_measurement, RxPowerMeasurement::Average);
    }

    #[test]
    fn a0_checksum_base_mismatch() {
        let mut a = a0_image();
        let good = a[63];
        a[25] ^= 0x01; // 'L' -> 'M' in the vendor name
        let computed = good.wrapping_add(if a[25] & 1 == 1 { 1 } else { 0xff });
        assert_eq!(
            decode_a0(&a),
            Err(Error::ChecksumMismatch {
                checksum: Checksum::CcBase,
                stored: good,
                computed,
            })
        );
        assert_eq!(checksum(&a[..63]), computed);
    }

    #[test]
    fn a0_checksum_ext_mismatch() {
        let mut a = a0_image();
        a[95] = a[95].wrapping_add(3);
        let err = decode_a0(&a).unwrap_err();
        assert_eq!(
            err,
            Error::ChecksumMismatch {
                checksum: Checksum::CcExt,
                stored: a[95],
                computed: a[95].wrapping_sub(3),
            }
        );
        let text = format!("{err}");
        assert!(
            text.starts_with("SFF-8472 A0h checksum mismatch (CC_EXT"),
            "{text}"
        );
    }

    #[test]
    fn blank_or_absent_eeprom_is_rejected() {
        // Floating bus: every byte reads 0xff. 63 * 0xff = 0x3ec1.
        assert_eq!(
            decode_a0(&[0xff; A0_LEN]),
            Err(Error::ChecksumMismatch {
                checksum: Checksum::CcBase,
                stored: 0xff,
                computed: 0xc1,
            })
        );
        // All zeros checksums fine but identifies nothing.
        assert_eq!(
            decode_a0(&[0; A0_LEN]),
            Err(Error::UnsupportedIdentifier { identifier: 0 })
        );
    }

    #[test]
    fn identifier_check() {
        let mut a = a0_image();
        a[0] = 0x0d; // QSFP+
        fix_a0(&mut a);
        assert_eq!(
            decode_a0(&a),
            Err(Error::UnsupportedIdentifier { identifier: 0x0d })
        );
        a[0] = IDENTIFIER_SOLDERED;
        fix_a0(&mut a);
        let m = decode_a0(&a).unwrap();
        assert_eq!(m.identifier_name(), "soldered module");
    }

    #[test]
    fn wavelength_absent_for_cables_and_zero() {
        let mut a = a0_image();
        a[8] = 0x04; // passive cable: bytes 60-61 are compliance codes
        fix_a0(&mut a);
        assert_eq!(decode_a0(&a).unwrap().wavelength_nm, None);
        a[8] = 0x08; // active cable
        fix_a0(&mut a);
        assert_eq!(decode_a0(&a).unwrap().wavelength_nm, None);
        a[8] = 0;
        put16(&mut a, 60, 0);
        fix_a0(&mut a);
        assert_eq!(decode_a0(&a).unwrap().wavelength_nm, None);
        put16(&mut a, 60, 1550);
        fix_a0(&mut a);
        assert_eq!(decode_a0(&a).unwrap().wavelength_nm, Some(1550));
    }

    #[test]
    fn nominal_bit_rate_variants() {
        let rate = |b12: u8, b66: u8| {
            let mut a = a0_image();
            a[12] = b12;
            a[66] = b66;
            fix_a0(&mut a);
            decode_a0(&a).unwrap().nominal_bit_rate_mbd
        };
        assert_eq!(rate(0, 0), None);
        assert_eq!(rate(12, 0), Some(1_200));
        assert_eq!(rate(0xfe, 0), Some(25_400));
        assert_eq!(rate(0xff, 100), Some(25_000));
        assert_eq!(rate(0xff, 0), None);
    }

    #[test]
    fn ascii_fields_trim_and_sanitise() {
        assert_eq!(Ascii::from_bytes(b"  ab c \0\0"), "ab c");
        assert_eq!(Ascii::from_bytes(b"\0\0 \0").as_str(), "");
        assert!(Ascii::from_bytes(b"    ").is_empty());
        assert_eq!(Ascii::from_bytes(b"x\x01\xe9y"), "x??y");
        assert_eq!(Ascii::<4>::from_bytes(b"abcd"), "abcd");
        // Equality ignores how the field was padded.
        assert_eq!(Ascii::from_bytes(b"ab  "), Ascii::from_bytes(b"ab\0\0"));
        assert_eq!(format!("{:?}", Ascii::from_bytes(b"A1  ")), "\"A1\"");
        assert_eq!(format!("{}", Ascii::from_bytes(b" A1 ")), "A1");
    }

    #[test]
    fn date_code_parsing() {
        assert_eq!(
            ManufactureDate::parse(b"991231  "),
            Some(ManufactureDate {
                year: 2099,
                month: 12,
                day: 31,
                lot: Ascii::from_bytes(b"  "),
            })
        );
        assert_eq!(ManufactureDate::parse(b"241301  "), None); // month 13
        assert_eq!(ManufactureDate::parse(b"240100  "), None); // day 0
        assert_eq!(ManufactureDate::parse(b"24-1-1  "), None);
        let mut a = a0_image();
        put_text(&mut a, 84, 8, "UNKNOWN");
        fix_a0(&mut a);
        let m = decode_a0(&a).unwrap();
        assert_eq!(m.date_code, "UNKNOWN");
        assert_eq!(m.manufacture_date, None);
    }

    #[test]
    fn names_of_codes() {
        assert_eq!(identifier_name(0x00), "unknown");
        assert_eq!(identifier_name(0x01), "GBIC");
        assert_eq!(identifier_name(0x11), "other (see SFF-8024)");
        assert_eq!(identifier_name(0x80), "vendor specific");
        assert_eq!(connector_name(0x01), "SC");
        assert_eq!(connector_name(0x22), "RJ45");
        assert_eq!(connector_name(0x23), "no separable connector");
        assert_eq!(connector_name(0x30), "other (see SFF-8024)");
        assert_eq!(connector_name(0xff), "vendor specific");
    }

    // ---- A2h -------------------------------------------------------------

    #[test]
    fn internal_calibration_every_field() {
        let module = decode_a0(&a0_image()).unwrap();
        let d = decode_a2(&a2_internal(), &module).unwrap();
        assert_eq!(d.calibration, Calibration::Internal);
        assert_eq!(
            d.raw,
            RawMeasurements {
                temperature: -3200,
                vcc: 33000,
                tx_bias: 3250,
                tx_power: 5000,
                rx_power: 0,
            }
        );
        let m = d.measurements;
        close(m.temperature_c, -12.5);
        close(m.vcc_v, 3.3);
        close(m.tx_bias_ma, 6.5);
        close(m.tx_power_mw, 0.5);
        assert_eq!(m.rx_power_mw, 0.0);
        assert!((m.tx_power_dbm() - -3.0103).abs() < 0.001);
        assert_eq!(m.rx_power_dbm(), f32::NEG_INFINITY);

        let t = d.thresholds;
        limits(t.temperature_c, [80.0, -40.0, 75.0, -10.0]);
        limits(t.vcc_v, [3.6, 3.0, 3.5, 3.1]);
        limits(t.tx_bias_ma, [15.0, 1.0, 12.0, 2.0]);
        limits(t.tx_power_mw, [1.0, 0.1, 0.8, 0.12]);
        limits(t.rx_power_mw, [1.0, 0.01, 0.5, 0.0]);

        assert_eq!(
            d.alarms,
            Flags {
                rx_power_low: true,
                ..Flags::default()
            }
        );
        assert_eq!(
            d.warnings,
            Flags {
                temperature_low: true,
                rx_power_low: true,
                ..Flags::default()
            }
        );
        assert!(d.alarms.any() && d.warnings.any());
        assert_eq!(
            d.status,
            Status {
                raw: 0x02,
                tx_disable: false,
                soft_tx_disable: false,
                tx_fault: false,
                rx_los: true,
                data_ready: true,
            }
        );
    }

    #[test]
    fn negative_temperature_extremes() {
        let module = decode_a0(&a0_image()).unwrap();
        for (word, want) in [
            (0x8000u16, -128.0f32),
            (0xffff, -1.0 / 256.0),
            (0x7fff, 127.996_09),
            (0xd800, -40.0),
        ] {
            let mut a = a2_internal();
            put16(&mut a, 96, word);
            fix_a2(&mut a);
            let d = decode_a2(&a, &module).unwrap();
            close(d.measurements.temperature_c, want);
        }
    }

    #[test]
    fn external_calibration_is_applied() {
        let module = module_with_dm(0x58); // DDM, external, average
        assert!(module.diagnostic_monitoring.externally_calibrated);
        let d = decode_a2(&a2_external(), &module).unwrap();

        let Calibration::External(cal) = d.calibration else {
            panic!("expected external calibration, got {:?}", d.calibration);
        };
        assert_eq!(cal.rx_power, [5.0, 0.5, 1e-5, 0.0, 0.0]);
        assert_eq!(
            cal.tx_bias,
            SlopeOffset {
                slope: 0x0200,
                offset: -10
            }
        );
        assert_eq!(
            cal.tx_power,
            SlopeOffset {
                slope: 0x00c0,
                offset: -20
            }
        );
        assert_eq!(
            cal.temperature,
            SlopeOffset {
                slope: 0x0180,
                offset: -256
            }
        );
        assert_eq!(
            cal.voltage,
            SlopeOffset {
                slope: 0x0080,
                offset: 100
            }
        );

        assert_eq!(
            d.raw,
            RawMeasurements {
                temperature: 5120,
                vcc: 60000,
                tx_bias: 1000,
                tx_power: 8000,
                rx_power: 2000,
            }
        );
        let m = d.measurements;
        close(m.temperature_c, 29.0); // (1.5 * 5120 - 256) / 256
        close(m.vcc_v, 3.01); // (0.5 * 60000 + 100) * 100 uV
        close(m.tx_bias_ma, 3.98); // (2 * 1000 - 10) * 2 uA
        close(m.tx_power_mw, 0.598); // (0.75 * 8000 - 20) * 0.1 uW
        close(m.rx_power_mw, 0.1045); // 5 + 0.5 * 2000 + 1e-5 * 2000^2
        assert!((m.tx_power_dbm() - -2.2330).abs() < 0.001);
        assert!((m.rx_power_dbm() - -9.8088).abs() < 0.001);

        let t = d.thresholds;
        limits(t.temperature_c, [50.0, -16.0, 44.0, -7.0]);
        limits(t.vcc_v, [3.26, 2.91, 3.21, 2.96]);
        limits(t.tx_bias_ma, [19.98, 0.02, 15.98, 0.0]);
        // Low thresholds calibrate below zero and are clamped to 0 mW.
        limits(t.tx_power_mw, [1.198, 0.0, 0.898, 0.0]);
        limits(t.rx_power_mw, [0.2165, 0.0005, 0.1595, 0.00551]);

        let high = Flags {
            temperature_high: true,
            vcc_high: true,
            tx_bias_high: true,
            tx_power_high: true,
            rx_power_high: true,
            ..Flags::default()
        };
        let low = Flags {
            temperature_low: true,
            vcc_low: true,
            tx_bias_low: true,
            tx_power_low: true,
            rx_power_low: true,
            ..Flags::default()
        };
        assert_eq!(d.alarms, high);
        assert_eq!(d.warnings, low);
        assert_eq!(
            d.status,
            Status {
                raw: 0xc5,
                tx_disable: true,
                soft_tx_disable: true,
                tx_fault: true,
                rx_los: false,
                data_ready: false,
            }
        );
    }

    #[test]
    fn external_calibration_ignored_when_bit_clear() {
        // Same image, but the module says it is internally calibrated: the
        // constants must not be applied.
        let module = decode_a0(&a0_image()).unwrap();
        let d = decode_a2(&a2_external(), &module).unwrap();
        assert_eq!(d.calibration, Calibration::Internal);
        close(d.measurements.temperature_c, 20.0); // 5120 / 256
        close(d.measurements.rx_power_mw, 0.2);
    }

    #[test]
    fn non_finite_rx_coefficient_is_rejected() {
        let module = module_with_dm(0x58);
        let mut a = a2_external();
        put(&mut a, 64, &0x7fc0_0000u32.to_be_bytes()); // Rx_PWR(2) = NaN
        fix_a2(&mut a);
        assert_eq!(
            decode_a2(&a, &module),
            Err(Error::InvalidCalibrationConstant {
                offset: 64,
                bits: 0x7fc0_0000
            })
        );
        let mut a = a2_external();
        put_f32(&mut a, 72, f32::NEG_INFINITY); // Rx_PWR(0)
        fix_a2(&mut a);
        assert_eq!(
            decode_a2(&a, &module),
            Err(Error::InvalidCalibrationConstant {
                offset: 72,
                bits: 0xff80_0000
            })
        );
    }

    #[test]
    fn a2_checksum_mismatch() {
        let module = decode_a0(&a0_image()).unwrap();
        let mut a = a2_internal();
        let stored = a[95];
        a[0] = a[0].wrapping_add(0x10);
        assert_eq!(
            decode_a2(&a, &module),
            Err(Error::ChecksumMismatch {
                checksum: Checksum::CcDmi,
                stored,
                computed: stored.wrapping_add(0x10),
            })
        );
        // Live values (96..) are not covered by CC_DMI.
        let mut a = a2_internal();
        a[104] = 0x12;
        assert!(decode_a2(&a, &module).is_ok());
    }

    #[test]
    fn diagnostics_unavailable() {
        let no_ddm = module_with_dm(0x00);
        assert_eq!(
            decode_a2(&a2_internal(), &no_ddm),
            Err(Error::DiagnosticsNotImplemented { monitoring_type: 0 })
        );
        let addr_change = module_with_dm(0x64);
        assert_eq!(
            decode_a2(&a2_internal(), &addr_change),
            Err(Error::AddressChangeRequired {
                monitoring_type: 0x64
            })
        );
    }

    #[test]
    fn dbm_conversion() {
        assert_eq!(mw_to_dbm(1.0), 0.0);
        assert!((mw_to_dbm(2.0) - 3.0103).abs() < 1e-4);
        assert!((mw_to_dbm(0.0001) - -40.0).abs() < 1e-4);
        assert!((mw_to_dbm(6.5535) - 8.1647).abs() < 1e-4);
        assert_eq!(mw_to_dbm(0.0), f32::NEG_INFINITY);
        assert!(mw_to_dbm(-1.0).is_nan());
    }

    // ---- over the bus ----------------------------------------------------

    #[test]
    fn reads_module_and_diagnostics_over_i2c() {
        let mut i2c = MockI2c::new()
            .with_device(A0_ADDR, &a0_image())
            .with_device(A2_ADDR, &a2_internal());
        let module = read_module(&mut i2c).unwrap();
        assert_eq!(module, decode_a0(&a0_image()).unwrap());
        let diag = read_diagnostics(&mut i2c, &module).unwrap();
        assert_eq!(diag, decode_a2(&a2_internal(), &module).unwrap());
        assert_eq!(
            i2c.log,
            vec![
                Transfer {
                    dev: 0x50,
                    wr: vec![0],
                    rd_len: 96
                },
                Transfer {
                    dev: 0x51,
                    wr: vec![0],
                    rd_len: 120
                },
            ]
        );
    }

    #[test]
    fn i2c_failure_is_reported_with_device() {
        let mut i2c = MockI2c::new();
        let err = read_module(&mut i2c).unwrap_err();
        assert_eq!(
            err,
            Error::I2c {
                dev: 0x50,
                offset: 0,
                error: MockError::Nak(0x50)
            }
        );
        assert_eq!(
            format!("{err}"),
            "I2C transfer to device 0x50 at offset 0x00 failed: Nak(80)"
        );

        let module = decode_a0(&a0_image()).unwrap();
        let mut i2c = MockI2c::new().with_device(A0_ADDR, &a0_image());
        assert_eq!(
            read_diagnostics(&mut i2c, &module),
            Err(Error::I2c {
                dev: 0x51,
                offset: 0,
                error: MockError::Nak(0x51)
            })
        );
    }

    #[test]
    fn decode_errors_pass_through_read() {
        let mut bad = a0_image();
        bad[40] = b'X';
        let mut i2c = MockI2c::new().with_device(A0_ADDR, &bad);
        assert!(matches!(
            read_module(&mut i2c),
            Err(Error::ChecksumMismatch {
                checksum: Checksum::CcBase,
                ..
            })
        ));
    }

    #[test]
    fn no_a2_traffic_without_ddm() {
        let module = module_with_dm(0x20);
        let mut i2c = MockI2c::new()
            .with_device(A0_ADDR, &a0_image())
            .with_device(A2_ADDR, &a2_internal());
        assert_eq!(
            read_diagnostics(&mut i2c, &module),
            Err(Error::DiagnosticsNotImplemented {
                monitoring_type: 0x20
            })
        );
        assert!(i2c.log.is_empty());
    }
}

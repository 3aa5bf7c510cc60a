//! The planner: what a loop of a given line rate, lane count and fiber
//! length holds and streams, with the same constants as the gateware.
//!
//! Pure arithmetic, no I/O, no device. `fiberloop plan` prints it;
//! [`plot`] draws it.
//!
//! # What is counted
//! * `delay_s`: light in the glass, group index 1.468
//!   ([`fiberloop_spec::line::FIBER_NS_PER_KM`]), plus the transceivers'
//!   latency if one is given (default none).
//! * Raw bits in flight, per lane: `round(delay_s x line rate)`, as the fiber
//!   model counts them (`fiberloop_sim::fiber::FiberSpool`).
//! * With `8b10b` (this project's line, [`Coding::B8b10b`]), the loop is the
//!   project's gateware, lane by lane: 20-bit SERDES words at line rate / 20,
//!   frames of [`FRAME_WORDS`] words carrying [`PAYLOAD_BYTES`] of payload
//!   each (see [`fiberloop_spec::frame`]), and as many frames per lane as the
//!   loop controller puts in the ring when it fills (see [`fill_slots`]).
//!   Payload bytes in flight are those outside the FPGA (in the glass and
//!   the transceivers) at any instant; the rest of what the loop holds is
//!   inside the gateware's pipelines, reported apart
//!   ([`Plan::payload_bytes_in_fpga`]). The FEC is RS(255,239), part of the
//!   frame layout.
//! * With `64b66b` or `none` there is no gateware to count: payload is the
//!   raw bits times the line code's efficiency (64/66 or 1) and the FEC's
//!   (239/255 or 1), no frame header, no slots.
//! * With a model (parameters x bytes per parameter), `loops_needed` such
//!   loops (every lane at this length) hold it, counting what each loop
//!   holds ([`Plan::payload_bytes_held`]: in flight plus in the gateware, as
//!   `fiberloop load` counts slots); for comparison, how many
//!   [`ACCELERATOR_BYTES`] accelerators hold it.

pub mod plot;

use fiberloop_spec::frame::{CODEWORD_BYTES, DATA_BYTES, FRAME_WORDS, PAYLOAD_BYTES};
use fiberloop_spec::lap::{CONTROLLER_LATENCY, GATEWARE_LATENCY};
use fiberloop_spec::line::{FIBER_NS_PER_KM, SERDES_WORD_BITS};

/// Memory of one accelerator, bytes (80 GB), for the comparison.
pub const ACCELERATOR_BYTES: f64 = 80e9;

/// Largest slot count the frame header can number: slot numbers are 16 bits
/// and 0xFFFF is the fill marker's.
pub const MAX_SLOTS: u64 = 0xFFFF;

/// Word clocks the controller's delay measurement counts beyond the fiber's
/// whole words and [`GATEWARE_LATENCY`]: the hop from
/// `serdes_tx_out` (which changes after a clock edge) to `serdes_rx_in`
/// (sampled at the next edge), one clock even through no fiber.
/// The measured delay `D` (the marker's `start_out` to its `start_in`) of
/// the simulated loop is `floor(delay_bits / 20) + GATEWARE_LATENCY + 1` at
/// each of the 20 bit offsets of the received stream (measured at 1 km with
/// 12,242 to 12,263 bits of delay); `tests/tests/plan.rs` holds the planner
/// to the simulated loop at both sides of a word boundary.
pub const MEASURED_EXTRA_WORDS: u64 = 1;

/// Largest accepted line rate per lane, bit/s (1 Pb/s).
pub const MAX_LINE_RATE_BPS: f64 = 1e15;
/// Largest accepted fiber length, km.
pub const MAX_FIBER_KM: f64 = 100_000.0;
/// Largest accepted lane count.
pub const MAX_LANES: u32 = 1_000_000;

/// The line code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// IEEE 802.3 clause 36 8b/10b with this project's frame layout.
    B8b10b,
    /// 64b/66b (efficiency 64/66; no frame layout of this project).
    B64b66b,
    /// No line code.
    None,
}

impl Coding {
    /// Payload bits per line bit of the code alone.
    pub fn efficiency(self) -> f64 {
        match self {
            Coding::B8b10b => 0.8,
            Coding::B64b66b => 64.0 / 66.0,
            Coding::None => 1.0,
        }
    }
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Coding::B8b10b => "8b10b",
            Coding::B64b66b => "64b66b",
            Coding::None => "none",
        }
    }
}

impl std::str::FromStr for Coding {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self, PlanError> {
        match s.to_ascii_lowercase().as_str() {
            "8b10b" | "8b/10b" => Ok(Coding::B8b10b),
            "64b66b" | "64b/66b" => Ok(Coding::B64b66b),
            "none" => Ok(Coding::None),
            _ => Err(PlanError::Coding(s.to_string())),
        }
    }
}

/// The forward error correction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fec {
    /// RS(255,239), 239 data bytes per 255.
    Rs255_239,
    /// None.
    None,
}

impl Fec {
    /// Data bits per coded bit.
    pub fn efficiency(self) -> f64 {
        match self {
            Fec::Rs255_239 => DATA_BYTES as f64 / CODEWORD_BYTES as f64,
            Fec::None => 1.0,
        }
    }
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Fec::Rs255_239 => "rs255_239",
            Fec::None => "none",
        }
    }
}

impl std::str::FromStr for Fec {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self, PlanError> {
        match s.to_ascii_lowercase().as_str() {
            "rs255_239" | "rs(255,239)" => Ok(Fec::Rs255_239),
            "none" => Ok(Fec::None),
            _ => Err(PlanError::Fec(s.to_string())),
        }
    }
}

/// A model to hold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelSize {
    /// Parameters.
    pub params: f64,
    /// Bytes per parameter (1 for int8).
    pub bytes_per_param: f64,
}

impl ModelSize {
    /// Bytes of weights.
    pub fn bytes(&self) -> f64 {
        self.params * self.bytes_per_param
    }
}

/// What to plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlanInput {
    /// Line rate of one lane, bit/s.
    pub line_rate_bps: f64,
    /// Lanes, each its own fiber of the same length.
    pub lanes: u32,
    /// Fiber length, km.
    pub fiber_km: f64,
    /// TX plus RX latency of the transceivers, seconds (light outside the
    /// glass but outside the FPGA too); 0 counts the glass alone.
    pub transceiver_latency_s: f64,
    /// Line code.
    pub coding: Coding,
    /// FEC.
    pub fec: Fec,
    /// A model to hold, if any.
    pub model: Option<ModelSize>,
}

impl PlanInput {
    /// The project's line (8b/10b, RS(255,239)) at a rate, lanes and length.
    pub fn project(line_rate_bps: f64, lanes: u32, fiber_km: f64) -> Self {
        Self {
            line_rate_bps,
            lanes,
            fiber_km,
            transceiver_latency_s: 0.0,
            coding: Coding::B8b10b,
            fec: Fec::Rs255_239,
            model: None,
        }
    }
}

/// How the loop controller fills one lane (8b/10b only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    /// The delay the controller measures, word clocks.
    pub delay_words: u64,
    /// Ring period: measured delay plus the controller's latency, words.
    pub ring_words: u64,
    /// Frames the controller sends back to back: `ring_words / 128`.
    pub slots: u64,
    /// Idle words per lap after the last frame.
    pub gap_words: u64,
}

/// The plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// What was planned.
    pub input: PlanInput,
    /// Delay outside the FPGA (glass, plus transceivers if given), seconds.
    pub delay_s: f64,
    /// Raw line bits in flight outside the FPGA, all lanes.
    pub raw_bits_in_flight: u64,
    /// Payload bytes in flight outside the FPGA, all lanes, at any instant.
    pub payload_bytes_in_flight: f64,
    /// Payload bytes inside the gateware's pipelines, all lanes (8b/10b;
    /// 0 otherwise).
    pub payload_bytes_in_fpga: f64,
    /// Payload bytes the loop holds, all lanes: in flight plus in the FPGA
    /// (8b/10b: slots x 228 x lanes).
    pub payload_bytes_held: f64,
    /// Payload bytes streamed per second, all lanes.
    pub payload_bytes_per_s: f64,
    /// The fill of one lane (8b/10b only).
    pub fill: Option<Fill>,
    /// Share of the ring's words that are frames (8b/10b only).
    pub occupancy: Option<f64>,
    /// Loops of this plan that hold the model.
    pub loops_needed: Option<u64>,
    /// Accelerators of [`ACCELERATOR_BYTES`] that hold the model.
    pub accelerators_needed: Option<u64>,
    /// Things the figures do not say by themselves.
    pub notes: Vec<String>,
}

impl Plan {
    /// Frames in flight per lane, as the loop controller fills them.
    pub fn slots(&self) -> Option<u64> {
        self.fill.map(|f| f.slots)
    }
}

/// A plan that cannot be made.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A number that does not parse.
    #[error("{what}: cannot read {text:?} as a number: {why}")]
    Number {
        /// Which input.
        what: &'static str,
        /// As given.
        text: String,
        /// Why not.
        why: String,
    },
    /// A number out of range.
    #[error("{what} must be {range} (got {value})")]
    Range {
        /// Which input.
        what: &'static str,
        /// The accepted range, in words.
        range: &'static str,
        /// As given.
        value: f64,
    },
    /// An unknown line code.
    #[error("unknown line code {0:?}: use 8b10b, 64b66b or none")]
    Coding(String),
    /// An unknown FEC.
    #[error("unknown FEC {0:?}: use rs255_239 or none")]
    Fec(String),
    /// 8b/10b without the frame layout's RS parity.
    #[error(
        "--coding 8b10b is this project's frame layout, whose frames carry RS(255,239) parity: \
         use --fec rs255_239, or --fec none with --coding 64b66b or none"
    )]
    FrameNeedsFec,
    /// Only one of the two model sizes.
    #[error("a model needs both --model-params and --bytes-per-param")]
    HalfModel,
    /// A count beyond 64 bits.
    #[error("{0} does not fit in 64 bits: fewer lanes, a lower rate or a shorter fiber")]
    Overflow(&'static str),
}

/// Reads a count with an optional SI suffix (powers of 1000): `2.5e9`,
/// `2.5G`, `256T`, `10M`, `100k`, `1P`; a trailing `b/s`, `bps` or
/// `bit/s` after a rate is allowed (`2.5Gb/s`). `what` names the input in
/// errors. Accepts finite numbers > 0 only.
pub fn parse_si(what: &'static str, text: &str) -> Result<f64, PlanError> {
    let bad = |why: String| PlanError::Number {
        what,
        text: text.to_string(),
        why,
    };
    let mut s = text.trim();
    for unit in ["bit/s", "b/s", "bps"] {
        if let Some(rest) = s.strip_suffix(unit) {
            s = rest.trim_end();
            break;
        }
    }
    if s.is_empty() {
        return Err(bad("no digits".into()));
    }
    let last = s.chars().last().unwrap_or('0');
    let (digits, scale) = match last {
        'k' | 'K' => (&s[..s.len() - 1], 1e3),
        'M' => (&s[..s.len() - 1], 1e6),
        'G' => (&s[..s.len() - 1], 1e9),
        'T' => (&s[..s.len() - 1], 1e12),
        'P' => (&s[..s.len() - 1], 1e15),
        c if c.is_ascii_digit() || c == '.' => (s, 1.0),
        c => {
            return Err(bad(format!(
                "unknown suffix {c:?}: use k, M, G, T or P (powers of 1000) or an exponent (2.5e9)"
            )))
        }
    };
    let digits = digits.trim_end();
    if digits.is_empty() {
        return Err(bad("no digits before the suffix".into()));
    }
    let v: f64 = digits
        .parse()
        .map_err(|e: std::num::ParseFloatError| bad(e.to_string()))?;
    let v = v * scale;
    if !v.is_finite() {
        return Err(bad("not a finite number".into()));
    }
    if v <= 0.0 {
        return Err(PlanError::Range {
            what,
            range: "greater than 0",
            value: v,
        });
    }
    Ok(v)
}

/// Raw bits in flight on one lane: `round(delay_s x rate)`, as the fiber
/// model counts them.
pub fn lane_delay_bits(delay_s: f64, line_rate_bps: f64) -> u64 {
    (delay_s * line_rate_bps).round() as u64
}

/// How the loop controller fills a lane whose fiber (with transceivers)
/// delays the line by `delay_bits`.
///
/// The controller sends a marker and measures its delay `D` in word clocks,
/// from its `start_out` to its `start_in`: the received stream's whole words,
/// `floor(delay_bits / 20)`, plus the gateware's latency outside the
/// controller ([`GATEWARE_LATENCY`]) plus
/// [`MEASURED_EXTRA_WORDS`]. The ring period is `T = D +` the controller's
/// own latency ([`CONTROLLER_LATENCY`]), and it sends `N = floor(T / 128)`
/// empty frames back to back: N slots, and `T - 128 N` idle words per lap.
pub fn fill_slots(delay_bits: u64) -> Fill {
    let delay_words =
        delay_bits / SERDES_WORD_BITS as u64 + GATEWARE_LATENCY + MEASURED_EXTRA_WORDS;
    let ring_words = delay_words + CONTROLLER_LATENCY;
    let slots = ring_words / FRAME_WORDS as u64;
    Fill {
        delay_words,
        ring_words,
        slots,
        gap_words: ring_words - slots * FRAME_WORDS as u64,
    }
}

fn check_range(what: &'static str, v: f64, ok: bool, range: &'static str) -> Result<(), PlanError> {
    if ok && v.is_finite() {
        Ok(())
    } else {
        Err(PlanError::Range {
            what,
            range,
            value: v,
        })
    }
}

/// Plans a loop.
pub fn plan(input: &PlanInput) -> Result<Plan, PlanError> {
    let r = input.line_rate_bps;
    check_range(
        "the line rate",
        r,
        r > 0.0 && r <= MAX_LINE_RATE_BPS,
        "> 0 and <= 1e15 bit/s per lane",
    )?;
    check_range(
        "the lane count",
        input.lanes as f64,
        (1..=MAX_LANES).contains(&input.lanes),
        "1 ..= 1000000",
    )?;
    let km = input.fiber_km;
    check_range(
        "the fiber length",
        km,
        (0.0..=MAX_FIBER_KM).contains(&km),
        "0 ..= 100000 km",
    )?;
    let tl = input.transceiver_latency_s;
    check_range(
        "the transceiver latency",
        tl,
        (0.0..=1.0).contains(&tl),
        "0 ..= 1 s",
    )?;
    if let Some(m) = input.model {
        check_range(
            "the model's parameter count",
            m.params,
            m.params > 0.0,
            "> 0",
        )?;
        check_range(
            "the bytes per parameter",
            m.bytes_per_param,
            m.bytes_per_param > 0.0 && m.bytes_per_param <= 64.0,
            "> 0 and <= 64",
        )?;
    }
    if input.coding == Coding::B8b10b && input.fec != Fec::Rs255_239 {
        return Err(PlanError::FrameNeedsFec);
    }
    let lanes = input.lanes as u64;
    let lanes_f = input.lanes as f64;
    let delay_s = km * FIBER_NS_PER_KM * 1e-9 + tl;
    let lane_bits = lane_delay_bits(delay_s, r);
    let raw_bits_in_flight = lane_bits
        .checked_mul(lanes)
        .ok_or(PlanError::Overflow("raw bits in flight"))?;
    let mut notes = vec![];
    let (fill, occupancy, in_flight, in_fpga, per_s) = match input.coding {
        Coding::B8b10b => {
            let f = fill_slots(lane_bits);
            let word_hz = r / SERDES_WORD_BITS as f64;
            // Payload bytes per word clock on a full ring, split by where the
            // words are: outside the FPGA (delay_bits / 20 words, fractional)
            // or inside the gateware (the rest of the ring).
            let per_word = f.slots as f64 * PAYLOAD_BYTES as f64 / f.ring_words as f64;
            let outside_words = lane_bits as f64 / SERDES_WORD_BITS as f64;
            let in_flight = per_word * outside_words;
            let in_fpga = per_word * (f.ring_words as f64 - outside_words);
            if f.slots > MAX_SLOTS {
                notes.push(format!(
                    "{} slots per lane: the frame header numbers at most {MAX_SLOTS} \
                     (16-bit slot field, 0xFFFF is the marker); this gateware cannot fill \
                     so long a ring",
                    f.slots
                ));
            }
            (
                Some(f),
                Some((f.slots * FRAME_WORDS as u64) as f64 / f.ring_words as f64),
                in_flight * lanes_f,
                in_fpga * lanes_f,
                per_word * word_hz * lanes_f,
            )
        }
        Coding::B64b66b | Coding::None => {
            let eff = input.coding.efficiency() * input.fec.efficiency();
            (
                None,
                None,
                raw_bits_in_flight as f64 * eff / 8.0,
                0.0,
                r * lanes_f * eff / 8.0,
            )
        }
    };
    let held = in_flight + in_fpga;
    let (loops_needed, accelerators_needed) = match input.model {
        Some(m) => {
            if held <= 0.0 {
                notes.push(
                    "this loop holds nothing: no number of such loops holds the model".into(),
                );
                (None, Some((m.bytes() / ACCELERATOR_BYTES).ceil() as u64))
            } else {
                (
                    Some((m.bytes() / held).ceil() as u64),
                    Some((m.bytes() / ACCELERATOR_BYTES).ceil() as u64),
                )
            }
        }
        None => (None, None),
    };
    Ok(Plan {
        input: *input,
        delay_s,
        raw_bits_in_flight,
        payload_bytes_in_flight: in_flight,
        payload_bytes_in_fpga: in_fpga,
        payload_bytes_held: held,
        payload_bytes_per_s: per_s,
        fill,
        occupancy,
        loops_needed,
        accelerators_needed,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(rate: f64, km: f64) -> PlanInput {
        PlanInput {
            coding: Coding::None,
            fec: Fec::None,
            ..PlanInput::project(rate, 1, km)
        }
    }

    #[test]
    fn si_numbers_parse() {
        let p = |s| parse_si("x", s).unwrap();
        assert_eq!(p("2.5e9"), 2.5e9);
        assert_eq!(p("2.5G"), 2.5e9);
        assert_eq!(p("256T"), 256e12);
        assert_eq!(p("10M"), 10e6);
        assert_eq!(p("100k"), 100e3);
        assert_eq!(p("1P"), 1e15);
        assert_eq!(p("2.5Gb/s"), 2.5e9);
        assert_eq!(p("10 Gbps"), 10e9);
        assert_eq!(p("1.76T"), 1.76e12);
        assert_eq!(p("7"), 7.0);
    }

    #[test]
    fn bad_numbers_are_refused_naming_the_problem() {
        let e = |s| parse_si("--line-rate", s).unwrap_err().to_string();
        assert!(e("2.5X").contains("unknown suffix 'X'"), "{}", e("2.5X"));
        assert!(e("2.5m").contains("unknown suffix 'm'"));
        assert!(e("G").contains("no digits"));
        assert!(e("").contains("no digits"));
        assert!(e("abc").contains("--line-rate"));
        assert!(e("-1G").contains("greater than 0"), "{}", e("-1G"));
        assert!(e("0").contains("greater than 0"));
        assert!(e("1e400").contains("finite"));
        assert!(e("nan").contains("cannot read"), "{}", e("nan"));
    }

    #[test]
    fn out_of_range_inputs_are_refused() {
        let bad = |i: PlanInput| plan(&i).unwrap_err().to_string();
        assert!(bad(PlanInput::project(2e15, 1, 1.0)).contains("line rate"));
        assert!(bad(PlanInput::project(2.5e9, 0, 1.0)).contains("lane count"));
        assert!(bad(PlanInput::project(2.5e9, 1, -1.0)).contains("fiber length"));
        assert!(bad(PlanInput::project(2.5e9, 1, f64::NAN)).contains("fiber length"));
        assert!(bad(PlanInput {
            fec: Fec::None,
            ..PlanInput::project(2.5e9, 1, 1.0)
        })
        .contains("RS(255,239)"));
        assert!(bad(PlanInput {
            model: Some(ModelSize {
                params: 1e9,
                bytes_per_param: 0.0
            }),
            ..PlanInput::project(2.5e9, 1, 1.0)
        })
        .contains("bytes per parameter"));
        let e = plan(&PlanInput::project(1e15, MAX_LANES, MAX_FIBER_KM)).unwrap_err();
        assert_eq!(e, PlanError::Overflow("raw bits in flight"));
    }

    #[test]
    fn the_brief_numbers_hold() {
        // 2.5 Gb/s x 10 km = 122.5 kbit (brief), 4.90 us per km.
        let p = plan(&raw(2.5e9, 10.0)).unwrap();
        assert!((p.delay_s - 48.968e-6).abs() < 1e-12);
        assert_eq!(p.raw_bits_in_flight, 122_420);
    }

    #[test]
    fn seed_figures() {
        // 256 Tb/s over 200 km: ~31 GB raw in flight, streamed at 32 TB/s.
        let p = plan(&PlanInput {
            model: Some(ModelSize {
                params: 1.76e12,
                bytes_per_param: 1.0,
            }),
            ..raw(256e12, 200.0)
        })
        .unwrap();
        assert!((p.delay_s - 979.36e-6).abs() < 1e-12, "{}", p.delay_s);
        assert_eq!(p.raw_bits_in_flight, 250_716_160_000);
        let gb = p.raw_bits_in_flight as f64 / 8.0 / 1e9;
        assert!((31.0..31.5).contains(&gb), "{gb} GB");
        assert_eq!(p.payload_bytes_in_flight, 250_716_160_000.0 / 8.0);
        assert_eq!(p.payload_bytes_per_s, 32e12);
        // A 1.76 T-parameter int8 model: 1.76 TB / 31.34 GB = 56.2 -> 57
        // loops; in 80 GB accelerators, 22.
        assert_eq!(p.loops_needed, Some(57));
        assert_eq!(p.accelerators_needed, Some(22));
        assert_eq!(p.slots(), None);
    }

    #[test]
    fn codings_scale_the_payload() {
        let none = plan(&raw(10e9, 50.0)).unwrap();
        let c64 = plan(&PlanInput {
            coding: Coding::B64b66b,
            fec: Fec::Rs255_239,
            ..raw(10e9, 50.0)
        })
        .unwrap();
        let ratio = c64.payload_bytes_per_s / none.payload_bytes_per_s;
        assert!((ratio - 64.0 / 66.0 * 239.0 / 255.0).abs() < 1e-12);
        assert_eq!(c64.raw_bits_in_flight, none.raw_bits_in_flight);
    }

    #[test]
    fn the_project_line_fills_as_the_controller_does() {
        // 1 km at 2.5 Gb/s: 12,242 bits = 612 whole words; D = 612 + 367 +
        // 1 = 980; T = 980 + 134 = 1114; 8 slots, 90 idle words.
        assert_eq!(GATEWARE_LATENCY, 367);
        assert_eq!(CONTROLLER_LATENCY, 134);
        let p = plan(&PlanInput::project(2.5e9, 1, 1.0)).unwrap();
        let f = p.fill.unwrap();
        assert_eq!(
            (f.delay_words, f.ring_words, f.slots, f.gap_words),
            (980, 1114, 8, 90)
        );
        assert_eq!(p.payload_bytes_held, 8.0 * 228.0);
        assert_eq!(p.occupancy, Some(1024.0 / 1114.0));
        let per_s = 8.0 * 228.0 / 1114.0 * 125e6;
        assert!((p.payload_bytes_per_s - per_s).abs() < 1e-3);
        // In flight + in the FPGA = held.
        assert!((p.payload_bytes_in_flight + p.payload_bytes_in_fpga - 1824.0).abs() < 1e-9);
        // Lanes multiply bytes, not slots.
        let q = plan(&PlanInput::project(2.5e9, 4, 1.0)).unwrap();
        assert_eq!(q.slots(), Some(8));
        assert_eq!(q.payload_bytes_held, 4.0 * 1824.0);
        assert_eq!(q.raw_bits_in_flight, 4 * 12_242);
        // Long loops approach the frame's efficiency (228 bytes per 256
        // symbols of 10 bits): 0.7125 of the raw rate.
        let long = plan(&PlanInput::project(2.5e9, 1, 200.0)).unwrap();
        let eff = long.payload_bytes_per_s * 8.0 / 2.5e9;
        assert!((0.705..=0.7125).contains(&eff), "{eff}");
        assert!(long.notes.is_empty());
    }

    #[test]
    fn rings_beyond_the_slot_field_are_noted() {
        let p = plan(&PlanInput::project(10e9, 1, 5000.0)).unwrap();
        assert!(p.slots().unwrap() > MAX_SLOTS);
        assert!(p.notes[0].contains("16-bit slot field"), "{:?}", p.notes);
    }

    #[test]
    fn zero_km_counts_the_gateware_alone() {
        let p = plan(&PlanInput::project(2.5e9, 1, 0.0)).unwrap();
        assert_eq!(p.raw_bits_in_flight, 0);
        assert_eq!(p.payload_bytes_in_flight, 0.0);
        // 367 + 1 + 134 = 502 words: 3 slots, all inside the FPGA.
        assert_eq!(p.slots(), Some(3));
        assert_eq!(p.payload_bytes_in_fpga, 3.0 * 228.0);
    }
}

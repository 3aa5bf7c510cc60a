//! Talking to a fiberloop board, real or simulated.
//!
//! * [`Transport`]: moves bytes (serial, TCP, USB FIFO, in-process simulator);
//! * [`client::Client`]: the host side of the protocol
//!   (`fiberloop_spec::proto`) over any transport: sequence numbers,
//!   timeouts, retries, bursts;
//! * [`engine::Engine`]: the board side, the Rust model of the gateware's
//!   command engine, used by the simulator;
//! * [`DeviceSpec`]: the device strings of `--device` / `FIBERLOOP_DEVICE`.

pub mod client;
#[cfg(feature = "sim")]
pub mod engine;
#[cfg(feature = "sim")]
pub mod gateware_board;
#[cfg(feature = "sim")]
pub mod loop_backend;
pub mod lossy;
#[cfg(feature = "sim")]
pub mod model_board;
pub mod ops;
pub mod serial;
pub mod tcp;
pub mod usb;

use std::fmt;
use std::io;
use std::time::Duration;

/// Moves bytes to and from a device.
pub trait Transport {
    /// Sends all of `bytes`.
    fn send(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Receives at least one byte into `buf`, waiting at most `timeout`;
    /// returns 0 if nothing came in time.
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;
    /// What this transport is connected to, for messages.
    fn describe(&self) -> String;
    /// Nothing more will arrive until something is sent: a simulated board
    /// knows when it has gone quiet, so a lost request or reply is retried
    /// at once instead of after the client's timeout. Real links never
    /// know (the default).
    fn settled(&self) -> bool {
        false
    }
    /// Lets `d` of the device's time pass while the host waits for it (a
    /// slot to come round, a batch to finish). A real link sleeps (the
    /// default); a simulated board simulates that long instead, since its
    /// time only passes when it is simulated.
    fn pause(&mut self, d: Duration) {
        std::thread::sleep(d)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        (**self).send(bytes)
    }
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        (**self).recv(buf, timeout)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn settled(&self) -> bool {
        (**self).settled()
    }
    fn pause(&mut self, d: Duration) {
        (**self).pause(d)
    }
}

/// Settings of the simulated device.
#[derive(Clone, Debug, PartialEq)]
pub struct SimOptions {
    /// Fiber length, km.
    pub fiber_km: f64,
    /// Bit error ratio.
    pub ber: f64,
    /// Error burst length, bits.
    pub burst_len: u32,
    /// Error bursts per second.
    pub burst_rate: f64,
    /// Seed of the fiber's random errors.
    pub seed: u64,
    /// Link speed the simulated board's UART runs at, baud (sets how fast
    /// loop time passes per byte).
    pub baud: u32,
    /// What the simulated board is made of.
    pub board: SimBoard,
    /// The gateware board's host link the transport drives: the USB FIFO
    /// port (fast: a byte every two word clocks) or the UART (at `baud`).
    pub link: SimLink,
    /// Cut the fiber this long (ms of simulated time) after the board is
    /// ready for the host (the Versa: after its link came up; gateware
    /// boards only).
    pub cut_at_ms: Option<f64>,
    /// How long the cut lasts, ms (light sent after it still has to cross
    /// the spool).
    pub cut_ms: f64,
}

/// A simulated board's host link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SimLink {
    /// The board's UART (its FT2232H channel B as a USB-UART).
    Uart,
    /// The board's FT2232H synchronous FIFO port.
    #[default]
    Usb,
}

/// What a simulated board is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SimBoard {
    /// The gateware top (UART, command engine, register file, loop core) in
    /// Verilator: every byte goes through the board's own logic.
    #[default]
    Gateware,
    /// The register file modelled in Rust (`engine::Engine`) in front of the
    /// gateware loop core in Verilator: faster, for host-side work.
    Model,
    /// The ECP5-5G Versa's top in Verilator (`VersaSim`: transceiver
    /// bring-up on the DCUA's model, LEDs, the UART as its only host link):
    /// the board that is built, minus the analogue parts.
    Versa,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            fiber_km: 1.0,
            ber: 0.0,
            burst_len: 32,
            burst_rate: 0.0,
            seed: 1,
            baud: DEFAULT_SIM_BAUD,
            board: SimBoard::Gateware,
            link: SimLink::Usb,
            cut_at_ms: None,
            cut_ms: 1.0,
        }
    }
}

impl SimOptions {
    /// The fiber model's settings.
    #[cfg(feature = "sim")]
    pub fn fiber(&self) -> fiberloop_sim::fiber::FiberConfig {
        fiberloop_sim::fiber::FiberConfig {
            length_m: self.fiber_km * 1000.0,
            ber: self.ber,
            burst_len_bits: self.burst_len,
            burst_rate_per_s: self.burst_rate,
            seed: self.seed,
            ..Default::default()
        }
    }
}

/// Baud rate when a serial device string names none.
pub const DEFAULT_BAUD: u32 = 3_000_000;

/// UART baud of a simulated board unless `baud=` says otherwise: 12.5 Mbaud,
/// 10 word clocks per bit, the fastest whole divisor within the FT2232H's
/// 12 Mbaud (rounded); the simulation is slow enough as it is.
pub const DEFAULT_SIM_BAUD: u32 = 12_500_000;

/// FTDI vendor id.
pub const FTDI_VID: u16 = 0x0403;
/// FT2232H product id.
pub const FT2232H_PID: u16 = 0x6010;
/// FT601 product id.
pub const FT601_PID: u16 = 0x601f;

/// A device, as named on the command line.
#[derive(Clone, Debug, PartialEq)]
pub enum DeviceSpec {
    /// The in-process simulator.
    Sim(SimOptions),
    /// A serial port (USB-UART or pseudo-terminal).
    Serial {
        /// Path of the port.
        path: String,
        /// Baud rate.
        baud: u32,
    },
    /// A simulator (or bridge) serving on TCP.
    Tcp {
        /// `host:port`.
        addr: String,
    },
    /// An FTDI FIFO bridge over USB.
    Usb {
        /// Serial number of the FTDI chip, if several are plugged in.
        serial: Option<String>,
    },
}

/// A device string that does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeviceSpecError {
    /// Unknown kind.
    #[error("unknown device {0:?}: expected sim, sim:KEY=VALUE,..., serial:PATH[@BAUD], tcp:HOST:PORT or usb[:SERIAL]")]
    Kind(String),
    /// A bad sim option.
    #[error("bad simulator option {0:?}: {1} (options: fiber_km, ber, burst_len, burst_rate, seed, baud, board=gateware|model|versa, link=usb|uart, cut_at_ms, cut_ms)")]
    SimOption(String, String),
    /// Serial without a path, or a bad baud rate.
    #[error("bad serial device {0:?}: {1} (expected serial:PATH or serial:PATH@BAUD)")]
    Serial(String, String),
    /// TCP without a port.
    #[error("bad TCP device {0:?}: expected tcp:HOST:PORT with a port number 1..=65535")]
    Tcp(String),
    /// An empty USB serial number.
    #[error("bad USB device {0:?}: expected usb or usb:SERIAL")]
    Usb(String),
}

impl std::str::FromStr for DeviceSpec {
    type Err = DeviceSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = match s.split_once(':') {
            Some((k, r)) => (k, Some(r)),
            None => (s, None),
        };
        match kind {
            "sim" => {
                let mut o = SimOptions::default();
                let mut link_given = false;
                for kv in rest.unwrap_or("").split(',').filter(|kv| !kv.is_empty()) {
                    let bad = |why: &str| DeviceSpecError::SimOption(kv.into(), why.into());
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or_else(|| bad("expected KEY=VALUE"))?;
                    let num = |v: &str| {
                        v.parse::<f64>()
                            .ok()
                            .filter(|x| x.is_finite() && *x >= 0.0)
                            .ok_or_else(|| bad("expected a number >= 0"))
                    };
                    let int = |v: &str| {
                        v.parse::<u64>()
                            .map_err(|_| bad("expected a whole number >= 0"))
                    };
                    match k {
                        "fiber_km" => o.fiber_km = num(v)?,
                        "ber" => {
                            o.ber = num(v)?;
                            if o.ber > 0.5 {
                                return Err(bad("bit error ratio must be <= 0.5"));
                            }
                        }
                        "burst_len" => {
                            o.burst_len = int(v)?
                                .try_into()
                                .ok()
                                .filter(|l| (1..=4096).contains(l))
                                .ok_or_else(|| bad("burst length must be 1..=4096 bits"))?
                        }
                        "burst_rate" => o.burst_rate = num(v)?,
                        "seed" => o.seed = int(v)?,
                        "baud" => {
                            o.baud = int(v)?
                                .try_into()
                                .ok()
                                .filter(|b| *b > 0)
                                .ok_or_else(|| bad("baud must be 1..=4294967295"))?
                        }
                        "cut_at_ms" => o.cut_at_ms = Some(num(v)?),
                        "cut_ms" => o.cut_ms = num(v)?,
                        "board" => {
                            o.board = match v {
                                "gateware" => SimBoard::Gateware,
                                "model" => SimBoard::Model,
                                "versa" => SimBoard::Versa,
                                _ => return Err(bad("board is gateware, model or versa")),
                            }
                        }
                        "link" => {
                            link_given = true;
                            o.link = match v {
                                "usb" => SimLink::Usb,
                                "uart" => SimLink::Uart,
                                _ => return Err(bad("link is usb or uart")),
                            }
                        }
                        _ => return Err(bad("unknown option")),
                    }
                }
                if o.board == SimBoard::Versa {
                    if link_given && o.link != SimLink::Uart {
                        return Err(DeviceSpecError::SimOption(
                            "link".into(),
                            "the Versa's only host link is its UART (board=versa)".into(),
                        ));
                    }
                    o.link = SimLink::Uart;
                } else if link_given && o.board != SimBoard::Gateware {
                    return Err(DeviceSpecError::SimOption(
                        "link".into(),
                        "the link is chosen on the gateware board (board=gateware)".into(),
                    ));
                }
                if o.cut_at_ms.is_some() && o.board == SimBoard::Model {
                    return Err(DeviceSpecError::SimOption(
                        "cut_at_ms".into(),
                        "cuts are made by a gateware board's fiber (board=gateware or versa)"
                            .into(),
                    ));
                }
                Ok(DeviceSpec::Sim(o))
            }
            "serial" => {
                let rest = rest.unwrap_or("");
                let (path, baud) = match rest.rsplit_once('@') {
                    Some((p, b)) => {
                        let baud = b.parse::<u32>().ok().filter(|b| *b > 0).ok_or_else(|| {
                            DeviceSpecError::Serial(
                                s.into(),
                                format!("baud {b:?} is not a number > 0"),
                            )
                        })?;
                        (p, baud)
                    }
                    None => (rest, DEFAULT_BAUD),
                };
                if path.is_empty() {
                    return Err(DeviceSpecError::Serial(s.into(), "no path".into()));
                }
                Ok(DeviceSpec::Serial {
                    path: path.into(),
                    baud,
                })
            }
            "tcp" => {
                let addr = rest.unwrap_or("");
                match addr.rsplit_once(':') {
                    Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0) => {
                        Ok(DeviceSpec::Tcp { addr: addr.into() })
                    }
                    _ => Err(DeviceSpecError::Tcp(s.into())),
                }
            }
            "usb" => match rest {
                None => Ok(DeviceSpec::Usb { serial: None }),
                Some("") => Err(DeviceSpecError::Usb(s.into())),
                Some(sn) => Ok(DeviceSpec::Usb {
                    serial: Some(sn.into()),
                }),
            },
            _ => Err(DeviceSpecError::Kind(s.into())),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Sim(o) => {
                write!(
                    f,
                    "sim:fiber_km={},ber={},burst_len={},burst_rate={},seed={},baud={}",
                    o.fiber_km, o.ber, o.burst_len, o.burst_rate, o.seed, o.baud
                )?;
                match o.board {
                    // The link is chosen on the gateware board only.
                    SimBoard::Gateware => write!(
                        f,
                        ",board=gateware,link={}",
                        match o.link {
                            SimLink::Usb => "usb",
                            SimLink::Uart => "uart",
                        }
                    )?,
                    SimBoard::Model => write!(f, ",board=model")?,
                    SimBoard::Versa => write!(f, ",board=versa")?,
                }
                if let Some(at) = o.cut_at_ms {
                    write!(f, ",cut_at_ms={at}")?;
                }
                write!(f, ",cut_ms={}", o.cut_ms)
            }
            DeviceSpec::Serial { path, baud } => write!(f, "serial:{path}@{baud}"),
            DeviceSpec::Tcp { addr } => write!(f, "tcp:{addr}"),
            DeviceSpec::Usb { serial: None } => write!(f, "usb"),
            DeviceSpec::Usb { serial: Some(s) } => write!(f, "usb:{s}"),
        }
    }
}

/// Opening a device failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The simulated device's settings were refused (a fiber the model
    /// cannot simulate).
    #[error("simulator: {0}")]
    SimSettings(String),
    /// The simulator cannot run: Verilator missing or failing, or this
    /// build has no simulator.
    #[error("simulator: {0}")]
    SimUnavailable(String),
    /// A serial port could not be opened.
    #[error("{0}")]
    Serial(String),
    /// TCP connection failed.
    #[error("cannot connect to {addr}: {err} (is `fiberloop sim serve --tcp {addr}` running?)")]
    Tcp {
        /// Address.
        addr: String,
        /// Cause.
        err: io::Error,
    },
    /// USB failure.
    #[error("{0}")]
    Usb(String),
}

#[cfg(feature = "sim")]
impl From<fiberloop_sim::loop_sim::LoopSimError> for OpenError {
    fn from(e: fiberloop_sim::loop_sim::LoopSimError) -> Self {
        match e {
            fiberloop_sim::loop_sim::LoopSimError::Fiber(_) => Self::SimSettings(e.to_string()),
            e => Self::SimUnavailable(e.to_string()),
        }
    }
}

/// Opens a device.
pub fn open(spec: &DeviceSpec) -> Result<Box<dyn Transport>, OpenError> {
    Ok(match spec {
        #[cfg(not(feature = "sim"))]
        DeviceSpec::Sim(_) => {
            return Err(OpenError::SimUnavailable(
                "this fiberloop was built without the simulator (cargo feature `sim`); \
                 name a board with --device"
                    .into(),
            ))
        }
        #[cfg(feature = "sim")]
        DeviceSpec::Sim(o) if o.board != SimBoard::Model => {
            Box::new(gateware_board::BoardTransport::new(o)?)
        }
        #[cfg(feature = "sim")]
        DeviceSpec::Sim(o) => Box::new(model_board::SimTransport::new(
            engine::Engine::new(
                loop_backend::LoopBackend::new(o)?,
                engine::EngineConfig::uart(o.baud, 100),
            ),
            o.baud,
        )),
        DeviceSpec::Serial { path, baud } => Box::new(serial::SerialTransport::open(path, *baud)?),
        DeviceSpec::Tcp { addr } => {
            Box::new(
                tcp::TcpTransport::connect(addr).map_err(|err| OpenError::Tcp {
                    addr: addr.clone(),
                    err,
                })?,
            )
        }
        DeviceSpec::Usb { serial } => Box::new(usb::open(serial.as_deref())?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Result<DeviceSpec, DeviceSpecError> {
        s.parse()
    }

    /// Any device the parser accepts.
    fn any_spec() -> impl Strategy<Value = DeviceSpec> {
        let num = prop_oneof![
            Just(0.0),
            0.0..1e6f64,
            (0u32..1000).prop_map(|x| x as f64 / 8.0)
        ];
        let sim = (
            (
                num.clone(),
                0.0..=0.5f64,
                1u32..=4096,
                num.clone(),
                any::<u64>(),
            ),
            (1u32..=u32::MAX, 0u8..3, any::<bool>()),
            (proptest::option::of(num.clone()), num),
        )
            .prop_map(
                |((km, ber, len, rate, seed), (baud, kind, uart), (cut_at, cut))| {
                    let board =
                        [SimBoard::Gateware, SimBoard::Model, SimBoard::Versa][kind as usize];
                    let model = board == SimBoard::Model;
                    let uart = uart || board == SimBoard::Versa;
                    DeviceSpec::Sim(SimOptions {
                        fiber_km: km,
                        ber,
                        burst_len: len,
                        burst_rate: rate,
                        seed,
                        baud,
                        board,
                        link: if uart && !model {
                            SimLink::Uart
                        } else {
                            SimLink::Usb
                        },
                        cut_at_ms: if model { None } else { cut_at },
                        cut_ms: cut,
                    })
                },
            );
        let name = "[A-Za-z0-9_./-]{1,24}";
        prop_oneof![
            sim,
            (name, 1u32..=u32::MAX).prop_map(|(path, baud)| DeviceSpec::Serial { path, baud }),
            ("[a-z0-9.-]{1,20}", 1u16..=u16::MAX).prop_map(|(h, port)| DeviceSpec::Tcp {
                addr: format!("{h}:{port}")
            }),
            proptest::option::of(name).prop_map(|serial| DeviceSpec::Usb { serial }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// Every device prints as a string that parses back to it.
        #[test]
        fn device_strings_round_trip(spec in any_spec()) {
            let text = spec.to_string();
            prop_assert_eq!(text.parse::<DeviceSpec>(), Ok(spec), "{}", text);
        }
    }

    #[test]
    fn device_strings_parse() {
        assert_eq!(p("sim"), Ok(DeviceSpec::Sim(SimOptions::default())));
        let DeviceSpec::Sim(o) =
            p("sim:fiber_km=10,ber=1e-5,burst_len=64,burst_rate=2.5,seed=9").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (o.fiber_km, o.ber, o.burst_len, o.burst_rate, o.seed),
            (10.0, 1e-5, 64, 2.5, 9)
        );
        let DeviceSpec::Sim(o) =
            p("sim:cut_at_ms=2.5,cut_ms=0.5,board=gateware,baud=31250000").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (o.cut_at_ms, o.cut_ms, o.board, o.baud, o.link),
            (Some(2.5), 0.5, SimBoard::Gateware, 31_250_000, SimLink::Usb)
        );
        let DeviceSpec::Sim(o) = p("sim:link=uart").unwrap() else {
            panic!()
        };
        assert_eq!(o.link, SimLink::Uart);
        assert!(p("sim:link=pcie").is_err());
        assert!(p("sim:board=model,link=usb").is_err());
        assert_eq!(
            p("sim:board=model").map(|d| matches!(
                d,
                DeviceSpec::Sim(SimOptions {
                    board: SimBoard::Model,
                    ..
                })
            )),
            Ok(true)
        );
        assert!(p("sim:board=model,cut_at_ms=1").is_err());
        assert!(p("sim:board=fpga").is_err());
        assert!(p("sim:cut_ms=-1").is_err());
        assert_eq!(
            p("serial:/dev/ttyUSB1@115200"),
            Ok(DeviceSpec::Serial {
                path: "/dev/ttyUSB1".into(),
                baud: 115200
            })
        );
        assert_eq!(
            p("serial:/dev/pts/3"),
            Ok(DeviceSpec::Serial {
                path: "/dev/pts/3".into(),
                baud: DEFAULT_BAUD
            })
        );
        assert_eq!(
            p("tcp:localhost:4000"),
            Ok(DeviceSpec::Tcp {
                addr: "localhost:4000".into()
            })
        );
        assert_eq!(p("usb"), Ok(DeviceSpec::Usb { serial: None }));
        assert_eq!(
            p("usb:FT12AB"),
            Ok(DeviceSpec::Usb {
                serial: Some("FT12AB".into())
            })
        );
        let round = p("sim:fiber_km=2,seed=3").unwrap();
        assert_eq!(p(&round.to_string()), Ok(round));
    }

    /// Found by the `device_spec` fuzz target: the printed form of a
    /// simulator dropped the cut and the board, so it named another device.
    #[test]
    fn every_sim_option_survives_printing() {
        for s in [
            "sim:cut_at_ms=101526",
            "sim:cut_at_ms=2.5,cut_ms=0.25,link=uart",
            "sim:board=model,fiber_km=3",
            "sim:ber=0.001,burst_len=7,burst_rate=2,baud=9600,seed=5",
        ] {
            let spec: DeviceSpec = s.parse().unwrap();
            let printed = spec.to_string();
            assert_eq!(printed.parse::<DeviceSpec>(), Ok(spec), "{s} -> {printed}");
        }
    }

    #[test]
    fn bad_device_strings_say_what_is_wrong() {
        let msg = |s: &str| p(s).unwrap_err().to_string();
        assert!(msg("board").contains("unknown device \"board\""));
        assert!(msg("sim:fiber_km=-1").contains("fiber_km=-1"));
        assert!(msg("sim:ber=0.7").contains("<= 0.5"));
        assert!(msg("sim:colour=red").contains("unknown option"));
        assert!(msg("sim:seed").contains("KEY=VALUE"));
        assert!(msg("sim:burst_len=0").contains("1..=4096"));
        assert!(msg("serial:").contains("no path"));
        assert!(msg("serial:/dev/x@fast").contains("baud \"fast\""));
        assert!(msg("tcp:localhost").contains("tcp:HOST:PORT"));
        assert!(msg("tcp:localhost:0").contains("tcp:HOST:PORT"));
        assert!(msg("usb:").contains("usb:SERIAL"));
    }
}

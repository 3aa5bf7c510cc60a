//! The `fiberloop` command line: one file per subcommand.

#[cfg(feature = "sim")]
pub mod capture;
pub mod demo;
pub mod devices;
pub mod infer;
pub mod link;
pub mod load;
pub mod plan;
pub mod prbs;
#[cfg(feature = "sim")]
pub mod selftest;
#[cfg(feature = "sim")]
pub mod sim;
pub mod stats;
pub mod verify;

use clap::{Parser, Subcommand};

/// Exit codes, distinct per kind of failure.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Command-line usage error (clap uses 2 as well).
    pub const USAGE: u8 = 2;
    /// An input file is missing or malformed.
    pub const BAD_INPUT: u8 = 3;
    /// The device (board or simulator) cannot be used: missing tools, no board.
    pub const DEVICE_UNAVAILABLE: u8 = 4;
    /// I/O with the device failed.
    pub const IO: u8 = 5;
    /// Results differ from the reference or the expected file.
    pub const MISMATCH: u8 = 6;
    /// The device refused a request (status other than OK), is not a
    /// fiberloop board, or cannot do what was asked in its state (no model
    /// loaded, loop lost, weights marked bad with no model file to refill
    /// them from, or refills that cannot keep up with the fiber's errors).
    pub const REFUSED: u8 = 7;
}

/// fiberloop: a fiber-optic delay-line memory for neural-network weights.
#[derive(Parser, Debug)]
#[command(name = "fiberloop", version, about)]
pub struct Cli {
    /// More log output on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The board: sim, sim:fiber_km=10,ber=1e-5,burst_len=..,burst_rate=..,seed=..,
    /// link=usb|uart,baud=.., serial:PATH[@BAUD], tcp:HOST:PORT or usb[:SERIAL].
    #[arg(long, global = true, env = "FIBERLOOP_DEVICE", default_value = "sim")]
    pub device: String,
    /// How long to wait for each reply before retrying it, ms (default:
    /// 1000 for a board, 5000 for a simulator, which may take seconds of
    /// host time over a long burst).
    #[arg(long, global = true, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub timeout: Option<u64>,
    /// load, infer, verify: runs of one batch (each after the weight slots
    /// the fiber damaged are rewritten, or the loop refilled) before giving
    /// up with exit 7: refills cannot keep up.
    #[arg(long, global = true, value_name = "N", default_value_t = fiberloop_firmware::control::DEFAULT_MAX_TRIES, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub refill_tries: u32,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// The main job: load a model's weights into the loop (by default the
    /// shipped MNIST model, on a simulated 25 km fiber at BER 1e-6), stream
    /// test images through it, check every output byte against the host
    /// reference, and write a report with pictures.
    Demo(demo::Args),
    /// Simulator smoke test: the Verilator model of a test block against
    /// rust-hdl's simulator, cycle for cycle.
    #[cfg(feature = "sim")]
    Selftest(selftest::Args),
    /// Capture frames as they travel on the fiber (255-byte RS codewords,
    /// concatenated) from the simulated loop.
    #[cfg(feature = "sim")]
    Capture(capture::Args),
    /// List serial ports and FTDI USB bridges that could be a board.
    Devices(devices::Args),
    /// Loop and host-link counters of the board.
    Stats(stats::Args),
    /// The transceiver: bring-up state, locks, loss of signal, retries and
    /// the word clocks' meters.
    Link(link::Args),
    /// A PRBS test over the line: bits, errors, BER (replaces the loop's
    /// traffic: fill and load again afterwards).
    Prbs(prbs::Args),
    /// Load a model: its weights into the loop, its layer table and
    /// parameters into the inference engine.
    Load(load::Args),
    /// Run int8 inputs through the model on the board.
    Infer(infer::Args),
    /// Run inputs on the board and check every output against the host
    /// reference and/or an expected file (exit 6 on a difference).
    Verify(verify::Args),
    /// What a loop of a line rate, lanes and fiber length holds and streams
    /// (no device needed).
    Plan(plan::Args),
    /// The simulated board.
    #[cfg(feature = "sim")]
    #[command(subcommand)]
    Sim(sim::Command),
}

/// A failure with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    /// Process exit code.
    pub code: u8,
    /// The error.
    pub error: anyhow::Error,
}

impl Failure {
    /// A failure with a code.
    pub fn new(code: u8, error: impl Into<anyhow::Error>) -> Self {
        Self {
            code,
            error: error.into(),
        }
    }
}

/// The board a command talks to: `--device` and `--timeout`.
#[derive(Clone, Debug)]
pub struct Target {
    /// The device string.
    pub device: String,
    /// The reply timeout, if given.
    pub timeout: Option<std::time::Duration>,
    /// The refill policy's settings (`--refill-tries`).
    pub refill: fiberloop_firmware::control::RefillConfig,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let t = Target {
        device: cli.device.clone(),
        timeout: cli.timeout.map(std::time::Duration::from_millis),
        refill: fiberloop_firmware::control::RefillConfig {
            max_tries: cli.refill_tries,
            ..Default::default()
        },
    };
    match cli.command {
        #[cfg(feature = "sim")]
        Command::Selftest(args) => selftest::run(args),
        #[cfg(feature = "sim")]
        Command::Capture(args) => capture::run(args),
        Command::Demo(args) => demo::run(&t, cli.quiet, args),
        Command::Devices(args) => devices::run(args),
        Command::Stats(args) => stats::run(&t, args),
        Command::Link(args) => link::run(&t, args),
        Command::Prbs(args) => prbs::run(&t, cli.quiet, args),
        Command::Load(args) => load::run(&t, cli.quiet, args),
        Command::Infer(args) => infer::run(&t, cli.quiet, args),
        Command::Verify(args) => verify::run(&t, cli.quiet, args),
        #[cfg(feature = "sim")]
        Command::Sim(cmd) => sim::run(cmd),
        Command::Plan(args) => plan::run(args),
    }
}

/// Opens the board named by `--device`, with the reply timeout of
/// `--timeout` or the device kind's default.
pub fn open_device(
    target: &Target,
) -> Result<fiberloop::device::client::Client<Box<dyn fiberloop::device::Transport>>, Failure> {
    use fiberloop::device::{client, open, DeviceSpec, OpenError};
    let spec: DeviceSpec = target.device.parse().map_err(|e| {
        Failure::new(
            exit::USAGE,
            anyhow::anyhow!("--device / FIBERLOOP_DEVICE: {e}"),
        )
    })?;
    log::info!("opening {spec}");
    let t = open(&spec).map_err(|e| {
        let code = match &e {
            OpenError::SimSettings(_) => exit::USAGE,
            _ => exit::DEVICE_UNAVAILABLE,
        };
        Failure::new(code, e)
    })?;
    // A simulated board may take a while over one request (the Verilator
    // model catches up on link time): wait longer than for a board.
    let default_ms = match spec {
        DeviceSpec::Sim(_) | DeviceSpec::Tcp { .. } => 5000,
        DeviceSpec::Serial { .. } | DeviceSpec::Usb { .. } => 1000,
    };
    let cfg = client::ClientConfig {
        timeout: target
            .timeout
            .unwrap_or(std::time::Duration::from_millis(default_ms)),
        ..Default::default()
    };
    Ok(client::Client::new(t, cfg))
}

/// The exit code of a failed operation.
pub fn client_error(e: fiberloop::device::client::ClientError) -> Failure {
    use fiberloop::device::client::ClientError;
    let code = match &e {
        ClientError::Io { .. } | ClientError::NoReply { .. } => exit::IO,
        ClientError::Status { .. } | ClientError::Identity { .. } => exit::REFUSED,
        ClientError::Usage(_) => exit::USAGE,
        ClientError::NotReady(_) => exit::IO,
    };
    Failure::new(code, e)
}

/// The exit code of a failed model operation.
pub fn ops_failure(e: fiberloop::device::ops::OpsError) -> Failure {
    use fiberloop::device::ops::OpsError;
    let e = match e {
        OpsError::Client(c) => return client_error(c),
        e => e,
    };
    let code = match &e {
        OpsError::Client(_) => exit::REFUSED,
        OpsError::DoesNotFit(_) | OpsError::InputWidth { .. } | OpsError::Model(_) => {
            exit::BAD_INPUT
        }
        OpsError::Timeout { .. } => exit::IO,
        OpsError::NoLoop(_)
        | OpsError::NoModel
        | OpsError::LoopLost(_)
        | OpsError::BadWeights { .. }
        | OpsError::CannotKeepUp { .. }
        | OpsError::Overrun { .. }
        | OpsError::Board(_) => exit::REFUSED,
    };
    Failure::new(code, e)
}

/// A model file read and checked, with its tag.
pub struct Model {
    /// The file.
    pub path: std::path::PathBuf,
    /// The network.
    pub net: fiberloop::model::Network,
    /// Its tag (`fiberloop::device::ops::file_tag`).
    pub tag: u32,
}

/// Reads and checks a model file (exit 3 if it is missing or bad), and
/// what the engine can hold (layers, widths, parameter entries).
pub fn read_model(path: &std::path::Path) -> Result<Model, Failure> {
    use fiberloop::model::{ModelError, Network};
    let bytes = std::fs::read(path).map_err(|source| {
        Failure::new(
            exit::BAD_INPUT,
            ModelError::Io {
                path: path.to_path_buf(),
                action: "read",
                source,
            },
        )
    })?;
    let net = Network::from_bytes(&bytes, path).map_err(|e| Failure::new(exit::BAD_INPUT, e))?;
    fiberloop::device::ops::check_engine_limits(&net).map_err(ops_failure)?;
    Ok(Model {
        path: path.to_path_buf(),
        net,
        tag: fiberloop::device::ops::file_tag(&bytes),
    })
}

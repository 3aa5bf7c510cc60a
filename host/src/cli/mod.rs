//! The `fiberloop` command line: one file per subcommand.

pub mod capture;
pub mod devices;
pub mod selftest;
pub mod sim;
pub mod stats;

use clap::{Parser, Subcommand};

/// Exit codes, distinct per kind of failure.
#[allow(dead_code)] // BAD_INPUT is for the subcommands that follow (load, infer)
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
    /// Results differ from the reference.
    pub const MISMATCH: u8 = 6;
    /// The device refused a request (status other than OK) or is not a
    /// fiberloop board.
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
    /// serial:PATH[@BAUD], tcp:HOST:PORT or usb[:SERIAL].
    #[arg(long, global = true, env = "FIBERLOOP_DEVICE", default_value = "sim")]
    pub device: String,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulator smoke test: the Verilator model of a test block against
    /// rust-hdl's simulator, cycle for cycle.
    Selftest(selftest::Args),
    /// Capture frames as they travel on the fiber (255-byte RS codewords,
    /// concatenated) from the simulated loop.
    Capture(capture::Args),
    /// List serial ports and FTDI USB bridges that could be a board.
    Devices(devices::Args),
    /// Loop and host-link counters of the board.
    Stats(stats::Args),
    /// The simulated board.
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

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Selftest(args) => selftest::run(args),
        Command::Capture(args) => capture::run(args),
        Command::Devices(args) => devices::run(args),
        Command::Stats(args) => stats::run(&cli.device, args),
        Command::Sim(cmd) => sim::run(cmd),
    }
}

/// Opens the board named by `--device`, with the default client settings.
pub fn open_device(
    device: &str,
) -> Result<fiberloop::device::client::Client<Box<dyn fiberloop::device::Transport>>, Failure> {
    use fiberloop::device::{client, open, DeviceSpec, OpenError};
    let spec: DeviceSpec = device.parse().map_err(|e| {
        Failure::new(
            exit::USAGE,
            anyhow::anyhow!("--device / FIBERLOOP_DEVICE: {e}"),
        )
    })?;
    log::info!("opening {spec}");
    let t = open(&spec).map_err(|e| {
        let code = match &e {
            OpenError::Sim(fiberloop_gateware::sim::loop_sim::LoopSimError::Fiber(_)) => {
                exit::USAGE
            }
            _ => exit::DEVICE_UNAVAILABLE,
        };
        Failure::new(code, e)
    })?;
    Ok(client::Client::new(t, client::ClientConfig::default()))
}

/// The exit code of a failed operation.
pub fn client_error(e: fiberloop::device::client::ClientError) -> Failure {
    use fiberloop::device::client::ClientError;
    let code = match &e {
        ClientError::Io { .. } | ClientError::NoReply { .. } => exit::IO,
        ClientError::Status { .. } | ClientError::Identity { .. } => exit::REFUSED,
        ClientError::Usage(_) => exit::USAGE,
    };
    Failure::new(code, e)
}

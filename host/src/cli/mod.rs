//! The `fiberloop` command line: one file per subcommand.

pub mod capture;
pub mod selftest;

use clap::{Parser, Subcommand};

/// Exit codes, distinct per kind of failure.
#[allow(dead_code)] // codes reserved for the subcommands that follow (load, infer)
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
    }
}

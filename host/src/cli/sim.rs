//! `fiberloop sim serve`: the simulated board on a pseudo-terminal (any
//! serial tool talks to it as to a board's UART) or on TCP.

use super::{exit, Failure};
use anyhow::{anyhow, Context};
use fiberloop::device::engine::{Backend, Engine, EngineConfig, RamBackend};
use fiberloop::device::loop_backend::LoopBackend;
use fiberloop::device::model_board::{serve, ServeConfig, ServeEnd, ServeStream};
use fiberloop::device::{SimLink, SimOptions};
use std::io::Write;

/// `sim` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Serve the simulated board byte for byte on a pseudo-terminal or TCP.
    Serve(ServeArgs),
}

/// What the served board is made of.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// The gateware top in Verilator (UART, command engine, register file,
    /// loop core) plus the fiber model: bytes go through the board's logic.
    Gateware,
    /// The Versa's top in Verilator (transceiver bring-up on the DCUA's
    /// model, LEDs) plus the fiber model, served on its UART.
    Versa,
    /// The register file modelled in Rust in front of the gateware loop
    /// core in Verilator plus the fiber model.
    Loop,
    /// An in-memory stand-in for the loop (no Verilator; for link tests).
    Ram,
}

/// The gateware board's host link.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// The UART.
    Uart,
    /// The FT2232H 245 synchronous FIFO port.
    Usb,
}

/// Options of `sim serve`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("on").required(true).args(["pty", "tcp"])))]
pub struct ServeArgs {
    /// Serve on a new pseudo-terminal; its path is printed on stdout.
    #[arg(long)]
    pub pty: bool,
    /// Serve on TCP at this address (e.g. 127.0.0.1:4000; port 0 picks
    /// one); the bound address is printed on stdout.
    #[arg(long, value_name = "ADDR")]
    pub tcp: Option<String>,
    /// Fiber length, km.
    #[arg(long, default_value_t = 1.0)]
    pub fiber_km: f64,
    /// Bit error ratio of the fiber.
    #[arg(long, default_value_t = 0.0)]
    pub ber: f64,
    /// Error burst length, bits.
    #[arg(long, default_value_t = 32)]
    pub burst_len: u32,
    /// Error bursts per second.
    #[arg(long, default_value_t = 0.0)]
    pub burst_rate: f64,
    /// Seed of the fiber's errors.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Link speed of the simulated UART, baud (the gateware board's UART
    /// runs at the nearest whole number of word clocks per bit).
    #[arg(long, default_value_t = fiberloop::device::DEFAULT_SIM_BAUD)]
    pub baud: u32,
    /// Hold each byte for its line time at --baud, as a real UART does.
    #[arg(long)]
    pub pace: bool,
    /// What the board is made of.
    #[arg(long, value_enum, default_value_t = BackendKind::Gateware)]
    pub backend: BackendKind,
    /// The gateware board's link the served bytes go through: its UART (at
    /// --baud, as a board's USB-UART) or its USB FIFO port (through a
    /// model of the FT2232H's FIFO pins; far faster in simulation).
    #[arg(long, value_enum, default_value_t = LinkKind::Uart)]
    pub link: LinkKind,
    /// Cut the fiber this many ms of simulated time after the board starts
    /// (the gateware board only).
    #[arg(long, value_name = "MS")]
    pub cut_at_ms: Option<f64>,
    /// Length of the cut, ms.
    #[arg(long, value_name = "MS", default_value_t = 1.0)]
    pub cut_ms: f64,
}

/// Runs a `sim` subcommand.
pub fn run(cmd: Command) -> Result<(), Failure> {
    match cmd {
        Command::Serve(a) => serve_cmd(a),
    }
}

fn serve_cmd(a: ServeArgs) -> Result<(), Failure> {
    if a.baud == 0 {
        return Err(Failure::new(
            exit::USAGE,
            anyhow!("--baud must be at least 1"),
        ));
    }
    let o = SimOptions {
        fiber_km: a.fiber_km,
        ber: a.ber,
        burst_len: a.burst_len,
        burst_rate: a.burst_rate,
        seed: a.seed,
        baud: a.baud,
        cut_at_ms: a.cut_at_ms,
        cut_ms: a.cut_ms,
        link: match a.link {
            LinkKind::Uart => SimLink::Uart,
            LinkKind::Usb => SimLink::Usb,
        },
        board: if a.backend == BackendKind::Versa {
            fiberloop::device::SimBoard::Versa
        } else {
            fiberloop::device::SimBoard::Gateware
        },
    };
    let gateware = matches!(a.backend, BackendKind::Gateware | BackendKind::Versa);
    if a.link != LinkKind::Uart && a.backend != BackendKind::Gateware {
        return Err(Failure::new(
            exit::USAGE,
            anyhow!("--link usb needs the gateware board (--backend gateware)"),
        ));
    }
    if a.cut_at_ms.is_some() && !gateware {
        return Err(Failure::new(
            exit::USAGE,
            anyhow!("--cut-at-ms needs a gateware board (--backend gateware or versa)"),
        ));
    }
    let bad_ms = |v: f64| !(v.is_finite() && v >= 0.0);
    if a.cut_at_ms.is_some_and(bad_ms) || bad_ms(a.cut_ms) {
        return Err(Failure::new(
            exit::USAGE,
            anyhow!("--cut-at-ms and --cut-ms take a time in ms, 0 or more"),
        ));
    }
    let cfg = EngineConfig::uart(a.baud, 100);
    match a.backend {
        BackendKind::Gateware | BackendKind::Versa => {
            fiberloop_sim::fiber::FiberSpool::new(o.fiber())
                .map_err(|e| Failure::new(exit::USAGE, e))?;
            log::info!("building the simulated board ({} km)", a.fiber_km);
            let mut sim = fiberloop::device::gateware_board::build(&o)
                .map_err(|e| Failure::new(exit::DEVICE_UNAVAILABLE, e))?;
            match a.link {
                LinkKind::Uart => log::info!(
                    "serving the board's UART at {:.0} baud ({} word clocks per bit)",
                    sim.config().baud(),
                    sim.config().clocks_per_bit
                ),
                LinkKind::Usb => log::info!("serving the board's USB FIFO port"),
            }
            serve_board_on(&mut sim, &a)
        }
        BackendKind::Ram => serve_on(Engine::new(RamBackend::new(256, 50_000), cfg), &a),
        BackendKind::Loop => {
            // Check the fiber settings before the (slow) model build.
            fiberloop_sim::fiber::FiberSpool::new(o.fiber())
                .map_err(|e| Failure::new(exit::USAGE, e))?;
            log::info!("building the simulated loop ({} km)", a.fiber_km);
            let b = LoopBackend::new(&o).map_err(|e| Failure::new(exit::DEVICE_UNAVAILABLE, e))?;
            serve_on(Engine::new(b, cfg), &a)
        }
    }
}

fn serve_board_on(
    sim: &mut fiberloop_sim::board_sim::BoardSim,
    a: &ServeArgs,
) -> Result<(), Failure> {
    let never = || false;
    serve_links(a, &mut |reader, stream| {
        fiberloop::device::gateware_board::serve_board(sim, reader, stream, &never)
    })
}

/// One client's stream: a clone of it to read from (for servers that read
/// on a thread), and the stream itself.
type ServeOne<'a> = dyn FnMut(Box<dyn std::io::Read + Send>, &mut dyn ServeStream) -> std::io::Result<ServeEnd>
    + 'a;

/// Opens the link `a` names (a new pseudo-terminal, or a TCP listener),
/// prints where it is on stdout, and hands each client's stream to
/// `serve_one`.
fn serve_links(a: &ServeArgs, serve_one: &mut ServeOne) -> Result<(), Failure> {
    if a.pty {
        use serialport::SerialPort;
        let (mut master, slave) = serialport::TTYPort::pair()
            .context("creating a pseudo-terminal")
            .map_err(io_fail)?;
        master
            .set_timeout(std::time::Duration::from_millis(20))
            .map_err(io_fail)?;
        let path = slave
            .name()
            .ok_or_else(|| io_fail(anyhow!("the pseudo-terminal has no name")))?;
        println!("{path}");
        std::io::stdout().flush().map_err(io_fail)?;
        log::info!("serving the simulated board on {path}");
        // The slave stays open here so the terminal lives between clients.
        let _slave = slave;
        let reader = master.try_clone_native().map_err(io_fail)?;
        serve_one(Box::new(reader), &mut master).map_err(io_fail)?;
        return Ok(());
    }
    let addr = a.tcp.as_deref().unwrap_or_default();
    let l = std::net::TcpListener::bind(addr)
        .with_context(|| format!("listening on {addr}"))
        .map_err(|e| Failure::new(exit::USAGE, e))?;
    let bound = l.local_addr().map_err(io_fail)?;
    println!("{bound}");
    std::io::stdout().flush().map_err(io_fail)?;
    log::info!("serving the simulated board on tcp:{bound}");
    for s in l.incoming() {
        let mut s = s.map_err(io_fail)?;
        let peer = s.peer_addr().map_err(io_fail)?;
        log::info!("client {peer} connected");
        s.set_nodelay(true).map_err(io_fail)?;
        s.set_read_timeout(Some(std::time::Duration::from_millis(20)))
            .map_err(io_fail)?;
        let reader = s.try_clone().map_err(io_fail)?;
        match serve_one(Box::new(reader), &mut s) {
            Ok(ServeEnd::Closed) | Ok(ServeEnd::Stopped) => log::info!("client {peer} left"),
            Err(e) => log::warn!("client {peer}: {e}"),
        }
    }
    Ok(())
}

fn io_fail(e: impl Into<anyhow::Error>) -> Failure {
    Failure::new(exit::IO, e)
}

fn serve_on<B: Backend>(mut engine: Engine<B>, a: &ServeArgs) -> Result<(), Failure> {
    let cfg = ServeConfig {
        baud: a.baud,
        pace: a.pace,
    };
    let never = || false;
    // The engine answers on the stream itself; it needs no reader thread.
    serve_links(a, &mut |_reader, stream| {
        serve(&mut engine, stream, cfg, &never)
    })
}

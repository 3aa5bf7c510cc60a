//! `fiberloop capture`: frames exactly as they travel on the fiber.
//!
//! The file holds each captured frame as its 255-byte RS(255,239) codeword,
//! after 8b/10b decoding and frame alignment and before correction, frames
//! concatenated in arrival order, nothing else (no header, no padding): the
//! file length is 255 x the number of frames. Byte layout of a codeword:
//! `fiberloop_spec::frame` (slot u16 BE, lap u32 BE, flags, 228 payload
//! bytes, CRC-32 LSB first, 16 parity bytes).

use super::{exit, Failure};
use anyhow::{anyhow, Context};
use fiberloop_sim::fiber::FiberConfig;
use fiberloop_sim::loop_sim::{LoopSim, LoopSimError};
use std::io::Write;
use std::path::PathBuf;

/// Options of `capture`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of frames to capture.
    #[arg(long)]
    pub frames: usize,
    /// Output file (255 bytes per frame).
    #[arg(long)]
    pub out: PathBuf,
    /// Fiber length of the simulated spool, km.
    #[arg(long, default_value_t = 1.0)]
    pub fiber_km: f64,
    /// Bit error ratio of the simulated spool.
    #[arg(long, default_value_t = 0.0)]
    pub ber: f64,
    /// Seed of the spool's random errors.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

fn device_error(e: LoopSimError) -> Failure {
    match e {
        LoopSimError::Fiber(_) => Failure::new(exit::USAGE, e),
        LoopSimError::Harness(_) => Failure::new(exit::DEVICE_UNAVAILABLE, e),
        _ => Failure::new(exit::IO, e),
    }
}

/// Fills the simulated loop and writes the next `frames` frames to `out`.
pub fn run(args: Args) -> Result<(), Failure> {
    if args.frames == 0 {
        return Err(Failure::new(
            exit::USAGE,
            anyhow!("--frames must be at least 1"),
        ));
    }
    let fiber = FiberConfig {
        length_m: args.fiber_km * 1000.0,
        ber: args.ber,
        seed: args.seed,
        ..Default::default()
    };
    log::info!("building the simulated loop ({} km)", args.fiber_km);
    let mut sim = LoopSim::new(fiber).map_err(device_error)?;
    let stats = sim.fill(10_000_000).map_err(device_error)?;
    log::info!(
        "loop filled: {} slots, delay {} word clocks",
        stats.slots,
        stats.delay_clocks
    );
    let frames = sim.capture(args.frames).map_err(device_error)?;
    let mut bytes = Vec::with_capacity(frames.len() * 255);
    for f in &frames {
        bytes.extend_from_slice(f);
    }
    let mut file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))
        .map_err(|e| Failure::new(exit::IO, e))?;
    file.write_all(&bytes)
        .with_context(|| format!("writing {}", args.out.display()))
        .map_err(|e| Failure::new(exit::IO, e))?;
    println!(
        "captured {} frames ({} bytes) to {}",
        frames.len(),
        bytes.len(),
        args.out.display()
    );
    Ok(())
}

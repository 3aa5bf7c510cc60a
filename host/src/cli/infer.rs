//! `fiberloop infer --input X.npy --output Y.npy [--model M]`: runs int8
//! inputs through the model on the board.

use super::{exit, open_device, ops_failure, read_model, Failure, Target};
use fiberloop::device::ops::{self, InferConfig, InferStats};
use fiberloop::model::{read_int8_matrix, write_int8_matrix, Int8Matrix};
use std::path::{Path, PathBuf};

/// Options of `infer`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// int8 inputs, an npy array [N, inputs of the model].
    #[arg(long, value_name = "X.npy")]
    pub input: PathBuf,
    /// Where to write the int8 outputs, an npy array [N, outputs].
    #[arg(long, value_name = "Y.npy")]
    pub output: PathBuf,
    /// The model: loaded first unless the board already holds this file.
    #[arg(long, value_name = "MODEL.safetensors")]
    pub model: Option<PathBuf>,
}

/// Runs the inputs on the board (loading `model` first if the board does
/// not hold it); returns the outputs and the counts.
pub fn run_on_device(
    device: &Target,
    quiet: bool,
    input: &Path,
    model: Option<&Path>,
) -> Result<(Int8Matrix, InferStats, Option<super::Model>), Failure> {
    let bad = |e| Failure::new(exit::BAD_INPUT, e);
    let (m, x) = match model {
        Some(p) => {
            let m = read_model(p)?;
            let x = m.net.read_inputs(input).map_err(bad)?;
            (Some(m), x)
        }
        None => (None, read_int8_matrix(input).map_err(bad)?),
    };
    let mut c = open_device(device)?;
    c.ping().map_err(super::client_error)?;
    let mut image = None;
    if let Some(m) = &m {
        if ops::holds_model(&mut c, m.tag).map_err(super::client_error)? {
            log::info!("the board holds {} already", m.path.display());
        } else {
            let s = super::load::load_with_progress(&mut c, m, device.refill, quiet)?;
            if !quiet {
                eprintln!(
                    "loaded {} ({} of {} slots; refills {})",
                    m.path.display(),
                    s.slots_used,
                    s.loop_slots,
                    s.refills
                );
            }
        }
        // The slot images the refill policy rewrites from.
        image = Some(ops::model_image(&mut c, &m.net, m.tag).map_err(ops_failure)?);
    }
    let mut stats = InferStats::default();
    let y = ops::infer(
        &mut c,
        &x,
        image.as_ref(),
        InferConfig {
            refill: device.refill,
        },
        &mut stats,
    )
    .map_err(ops_failure)?;
    if !quiet {
        eprintln!(
            "{} inputs in {} batches ({} run again) on {}; refills {}; link: {} requests, {} retries",
            x.rows(),
            stats.batches,
            stats.bad_retries,
            stats.top,
            stats.refills,
            c.stats().requests,
            c.stats().retries
        );
    }
    Ok((y, stats, m))
}

/// Runs the inference and writes the outputs.
pub fn run(device: &Target, quiet: bool, args: Args) -> Result<(), Failure> {
    let (y, _, _) = run_on_device(device, quiet, &args.input, args.model.as_deref())?;
    write_int8_matrix(&args.output, &y).map_err(|e| Failure::new(exit::IO, e))?;
    Ok(())
}

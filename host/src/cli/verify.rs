//! `fiberloop verify --input X.npy [--model M] [--expected E.npy]`: runs
//! the inputs on the board and checks every output, bit for bit, against
//! the host's reference arithmetic and against an expected file.

use super::{exit, Failure, Target};
use anyhow::anyhow;
use fiberloop::model::{read_int8_matrix, Int8Matrix};
use std::path::PathBuf;

/// Options of `verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// int8 inputs, an npy array [N, inputs of the model].
    #[arg(long, value_name = "X.npy")]
    pub input: PathBuf,
    /// The model: loaded first unless the board already holds it; needed
    /// for the comparison with the host reference.
    #[arg(long, value_name = "MODEL.safetensors")]
    pub model: Option<PathBuf>,
    /// Expected int8 outputs, an npy array [N, outputs].
    #[arg(long, value_name = "E.npy")]
    pub expected: Option<PathBuf>,
    /// Differing rows shown at most.
    #[arg(long, default_value_t = 5)]
    pub show: usize,
}

/// Rows of `got` that differ from `want`.
fn differing(got: &Int8Matrix, want: &Int8Matrix) -> Vec<usize> {
    (0..got.rows())
        .filter(|&r| got.row(r) != want.row(r))
        .collect()
}

/// Runs and compares; exit 6 on any difference.
pub fn run(device: &Target, quiet: bool, args: Args) -> Result<(), Failure> {
    if args.model.is_none() && args.expected.is_none() {
        return Err(Failure::new(
            exit::USAGE,
            anyhow!(
                "nothing to compare with: give --model (host reference) and/or --expected E.npy"
            ),
        ));
    }
    let bad = |e| Failure::new(exit::BAD_INPUT, e);
    let expected = match &args.expected {
        Some(p) => Some((p, read_int8_matrix(p).map_err(bad)?)),
        None => None,
    };
    let (y, stats, model) =
        super::infer::run_on_device(device, quiet, &args.input, args.model.as_deref())?;
    let mut checks: Vec<(String, Int8Matrix)> = vec![];
    if let Some(m) = &model {
        let x = m.net.read_inputs(&args.input).map_err(bad)?;
        let r = m.net.infer(&x).map_err(bad)?;
        checks.push((format!("host reference ({})", m.path.display()), r));
    }
    if let Some((p, e)) = expected {
        if (e.rows(), e.cols()) != (y.rows(), y.cols()) {
            return Err(Failure::new(
                exit::BAD_INPUT,
                anyhow!(
                    "{}: {} x {} but the board gave {} x {} outputs",
                    p.display(),
                    e.rows(),
                    e.cols(),
                    y.rows(),
                    y.cols()
                ),
            ));
        }
        checks.push((format!("expected ({})", p.display()), e));
    }
    println!("board        : {}", stats.top);
    println!(
        "inputs       : {} rows, {} outputs each",
        y.rows(),
        y.cols()
    );
    println!(
        "batches      : {} run, {} run again after a repair",
        stats.batches, stats.bad_retries
    );
    println!("refills      : {}", stats.refills);
    if model.is_none() {
        println!("host reference: not checked (no --model)");
    }
    let mut failed = vec![];
    for (name, want) in &checks {
        let diff = differing(&y, want);
        if diff.is_empty() {
            println!("board vs {name}: all {} rows equal", y.rows());
            continue;
        }
        println!(
            "board vs {name}: {} of {} rows differ",
            diff.len(),
            y.rows()
        );
        for &r in diff.iter().take(args.show) {
            println!("  row {r}: board {:?}", y.row(r));
            println!("  row {r}: want  {:?}", want.row(r));
        }
        failed.push(format!(
            "{} rows differ from the {name}, first row {}",
            diff.len(),
            diff[0]
        ));
    }
    if !failed.is_empty() {
        return Err(Failure::new(
            exit::MISMATCH,
            anyhow!("mismatch: {}", failed.join("; ")),
        ));
    }
    Ok(())
}

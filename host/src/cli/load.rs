//! `fiberloop load MODEL.safetensors`: writes a model's weights into the
//! loop and its layer table and parameters into the inference engine.

use super::{open_device, ops_failure, read_model, Failure, Model, Target};
use fiberloop::device::client::Client;
use fiberloop::device::ops::{self, LoadSummary};
use fiberloop::device::Transport;
use fiberloop_firmware::control::RefillConfig;
use std::path::PathBuf;

/// Options of `load`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model file (safetensors; format in the README).
    pub model: PathBuf,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// A progress bar on stderr, hidden when stderr is not a terminal or with
/// `--quiet`.
pub fn progress_bar(quiet: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} steps")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Loads `m` with a progress bar.
pub fn load_with_progress<T: Transport>(
    c: &mut Client<T>,
    m: &Model,
    refill: RefillConfig,
    quiet: bool,
) -> Result<LoadSummary, Failure> {
    let bar = progress_bar(quiet);
    let r = ops::load_model_with(c, &m.net, m.tag, refill, &mut |p| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        bar.set_message(p.stage);
    });
    bar.finish_and_clear();
    r.map_err(ops_failure)
}

/// Loads the model and prints what was done.
pub fn run(device: &Target, quiet: bool, args: Args) -> Result<(), Failure> {
    let m = read_model(&args.model)?;
    let mut c = open_device(device)?;
    c.ping().map_err(super::client_error)?;
    let s = load_with_progress(&mut c, &m, device.refill, quiet)?;
    if args.json {
        let v = serde_json::json!({
            "model": args.model.display().to_string(),
            "device": c.transport().describe(),
            "summary": s,
            "host": c.stats(),
        });
        println!("{v}");
        return Ok(());
    }
    println!("board        : {}", s.top);
    println!("model        : {}", args.model.display());
    println!("tag (CRC-32) : 0x{:08x}", s.tag);
    println!(
        "network      : {} layers, {} inputs, {} outputs",
        s.layers, s.inputs, s.outputs
    );
    println!(
        "loop         : {} of {} slots ({} weight bytes){}",
        s.slots_used,
        s.loop_slots,
        s.weight_bytes,
        if s.filled { ", filled first" } else { "" }
    );
    println!("parameters   : {} entries", s.param_entries);
    println!("refills      : {}", s.refills);
    println!(
        "link         : {} requests, {} retries",
        c.stats().requests,
        c.stats().retries
    );
    Ok(())
}

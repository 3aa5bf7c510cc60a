//! `fiberloop demo`: the product's main job in one command. On the default
//! device (the simulator: the board's gateware in Verilator and a fiber
//! spool long enough for the shipped MNIST model, with bit errors) or on any
//! `--device`: loads the model's weights into the loop, reports the
//! measured loop delay, streams test images through the MAC array, checks
//! every output byte against the host's reference arithmetic, and writes a
//! report (`report.md`, `report.json`) and three pictures to `--out`.

use super::{client_error, exit, ops_failure, read_model, Failure, Target};
use anyhow::anyhow;
use fiberloop::demo::{self, RingMap, Sample};
use fiberloop::device::ops::{self, InferConfig, InferStats, Refills};
use fiberloop::device::{DeviceSpec, SimOptions};
use fiberloop::model::Int8Matrix;
use fiberloop_spec::line::{FIBER_NS_PER_KM, WORD_CLOCK_HZ};
use fiberloop_spec::regs::{self, counter};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Fiber length of the demo's simulated loop unless `--fiber-km` (or the
/// device string) says otherwise: the shipped MNIST model (784-32-10)
/// needs 113 slots of 128 word clocks, about 23 km of fiber; 25 km gives
/// 123 slots.
pub const DEFAULT_FIBER_KM: f64 = 25.0;
/// Bit error ratio of the demo's simulated fiber unless `--ber` says
/// otherwise.
pub const DEFAULT_BER: f64 = 1e-6;

/// Polls of one register before the refill policy gives up on it, in the
/// demo (see `run`).
pub const DEMO_MAX_POLLS: u32 = 40;

/// Options of `demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model (default: the shipped MNIST model,
    /// tests/data/mnist/model.safetensors).
    #[arg(long, value_name = "MODEL.safetensors")]
    pub model: Option<PathBuf>,
    /// Test images, int8 npy [N, inputs] (default: inputs.npy beside the
    /// model).
    #[arg(long, value_name = "X.npy")]
    pub inputs: Option<PathBuf>,
    /// Their labels, uint8 npy [N] (default: labels.npy beside the model).
    #[arg(long, value_name = "LABELS.npy")]
    pub labels: Option<PathBuf>,
    /// Images to stream; more than the file holds runs its images again
    /// (every output is still checked; the accuracy counts each image once).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub images: u64,
    /// Simulator: fiber length, km (default 25).
    #[arg(long, value_name = "KM")]
    pub fiber_km: Option<f64>,
    /// Simulator: the fiber's bit error ratio (default 1e-6).
    #[arg(long)]
    pub ber: Option<f64>,
    /// Simulator: error bursts of LEN bits at RATE per second of board
    /// time, e.g. 300@2000.
    #[arg(long, value_name = "LEN@RATE")]
    pub bursts: Option<String>,
    /// Simulator: cut the fiber this long after the board starts, ms of
    /// board time.
    #[arg(long, value_name = "MS")]
    pub cut_at_ms: Option<f64>,
    /// Simulator: how long the cut lasts, ms (default 1).
    #[arg(long, value_name = "MS", requires = "cut_at_ms")]
    pub cut_ms: Option<f64>,
    /// Simulator: seed of the fiber's errors.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where the report and the pictures go.
    #[arg(long, value_name = "DIR", default_value = "demo-out")]
    pub out: PathBuf,
}

fn usage(e: impl Into<anyhow::Error>) -> Failure {
    Failure::new(exit::USAGE, e)
}

fn bad_input(e: impl Into<anyhow::Error>) -> Failure {
    Failure::new(exit::BAD_INPUT, e)
}

/// The device string the demo opens: a bare `sim` gets the demo's fiber
/// (25 km, BER 1e-6); the simulator flags change any simulator's options;
/// they are refused for a board (its fiber is what is plugged in).
pub fn device_for(device: &str, a: &Args) -> Result<(String, Option<SimOptions>), Failure> {
    let spec: DeviceSpec = device
        .parse()
        .map_err(|e| usage(anyhow!("--device / FIBERLOOP_DEVICE: {e}")))?;
    let mut o: SimOptions = match spec {
        DeviceSpec::Sim(o) => o,
        other => {
            let given = [
                ("--fiber-km", a.fiber_km.is_some()),
                ("--ber", a.ber.is_some()),
                ("--bursts", a.bursts.is_some()),
                ("--cut-at-ms", a.cut_at_ms.is_some()),
                ("--seed", a.seed.is_some()),
            ];
            if let Some((flag, _)) = given.iter().find(|g| g.1) {
                return Err(usage(anyhow!(
                    "{flag} sets up the simulator's fiber; the device {other} has the fiber plugged into it"
                )));
            }
            return Ok((device.to_string(), None));
        }
    };
    if device.trim() == "sim" {
        o.fiber_km = DEFAULT_FIBER_KM;
        o.ber = DEFAULT_BER;
    }
    if let Some(km) = a.fiber_km {
        if !(km.is_finite() && km > 0.0) {
            return Err(usage(anyhow!("--fiber-km {km}: expected a length > 0 km")));
        }
        o.fiber_km = km;
    }
    if let Some(b) = a.ber {
        if !(b.is_finite() && (0.0..=0.5).contains(&b)) {
            return Err(usage(anyhow!(
                "--ber {b}: expected a bit error ratio in 0 ..= 0.5"
            )));
        }
        o.ber = b;
    }
    if let Some(s) = &a.bursts {
        let bad = || {
            usage(anyhow!(
                "--bursts {s:?}: expected LEN@RATE, a burst length of 1..=4096 bits and bursts per second >= 0 (e.g. 300@2000)"
            ))
        };
        let (len, rate) = s.split_once('@').ok_or_else(bad)?;
        o.burst_len = len
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=4096).contains(l))
            .ok_or_else(bad)?;
        o.burst_rate = rate
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r >= 0.0)
            .ok_or_else(bad)?;
    }
    for (flag, v) in [("--cut-at-ms", a.cut_at_ms), ("--cut-ms", a.cut_ms)] {
        if let Some(v) = v {
            if !(v.is_finite() && v >= 0.0) {
                return Err(usage(anyhow!("{flag} {v}: expected ms >= 0")));
            }
        }
    }
    if a.cut_at_ms.is_some() {
        o.cut_at_ms = a.cut_at_ms;
    }
    if let Some(ms) = a.cut_ms {
        o.cut_ms = ms;
    }
    if let Some(seed) = a.seed {
        o.seed = seed;
    }
    let text = DeviceSpec::Sim(o.clone()).to_string();
    // What the parser refuses (a cut on the Rust-model board) is refused
    // here, naming the option.
    text.parse::<DeviceSpec>()
        .map_err(|e| usage(anyhow!("{e}")))?;
    Ok((text, Some(o)))
}

/// A simulated fiber in a few words, for the pictures' titles.
pub fn fiber_title(o: &SimOptions) -> String {
    let mut t = format!("{} km, BER {:e}", o.fiber_km, o.ber);
    if o.burst_rate > 0.0 {
        t += &format!(", {}-bit bursts at {}/s", o.burst_len, o.burst_rate);
    }
    if let Some(at) = o.cut_at_ms {
        t += &format!(", cut at {at} ms for {} ms", o.cut_ms);
    }
    t
}

/// The simulated transceivers' latency (TX plus RX), ns: the part of the
/// measured delay that is not fiber.
fn transceiver_ns(o: &SimOptions) -> f64 {
    #[cfg(feature = "sim")]
    {
        o.fiber().transceiver_latency_ns
    }
    #[cfg(not(feature = "sim"))]
    {
        let _ = o;
        0.0
    }
}

/// The shipped MNIST model: from the working directory (the repository
/// root), else beside this crate's sources.
fn default_model() -> Result<PathBuf, Failure> {
    let rel = Path::new("tests/data/mnist/model.safetensors");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/mnist/model.safetensors");
    [rel.to_path_buf(), src.clone()]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            bad_input(anyhow!(
                "the shipped model is at neither {} nor {}: give --model MODEL.safetensors",
                rel.display(),
                src.display()
            ))
        })
}

/// Labels: a uint8 npy vector.
fn read_labels(path: &Path) -> Result<Vec<usize>, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| bad_input(anyhow!("{}: cannot read the labels: {e}", path.display())))?;
    let npy = npyz::NpyFile::new(&bytes[..])
        .map_err(|e| bad_input(anyhow!("{}: not an npy file: {e}", path.display())))?;
    let v = npy.into_vec::<u8>().map_err(|e| {
        bad_input(anyhow!(
            "{}: expected a uint8 vector of labels: {e}",
            path.display()
        ))
    })?;
    Ok(v.into_iter().map(usize::from).collect())
}

/// The `correct = N` line of the model folder's README (what the training
/// script recorded for the shipped inputs), if there is one.
fn recorded_correct(model: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(model.parent()?.join("README.md")).ok()?;
    text.lines().find_map(|l| {
        l.trim()
            .trim_matches('`')
            .strip_prefix("correct = ")?
            .trim()
            .parse()
            .ok()
    })
}

/// A spinner on stderr while the board opens (the first run builds the
/// Verilator model of the board: minutes).
fn open_with_spinner(
    t: &Target,
    quiet: bool,
    sim: bool,
) -> Result<fiberloop::device::client::Client<Box<dyn fiberloop::device::Transport>>, Failure> {
    use std::io::IsTerminal;
    let msg = if sim {
        "building the Verilator model of the board (first run: a few minutes; cached in build/verilator/)"
    } else {
        "opening the board"
    };
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        if let Ok(s) = indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
            b.set_style(s);
        }
        b.set_message(msg);
        b
    } else {
        eprintln!("{msg} ...");
        indicatif::ProgressBar::hidden()
    };
    let r = super::open_device(t);
    bar.finish_and_clear();
    r
}

/// Runs the demo.
pub fn run(target: &Target, quiet: bool, args: Args) -> Result<(), Failure> {
    let t0 = Instant::now();
    let say = |s: String| {
        if !quiet {
            eprintln!("{s}");
        }
    };
    let (device, sim_options) = device_for(&target.device, &args)?;
    let is_sim = sim_options.is_some();
    let model_path = match &args.model {
        Some(p) => p.clone(),
        None => default_model()?,
    };
    let m = read_model(&model_path)?;
    let dir = model_path.parent().unwrap_or(Path::new("."));
    let inputs_path = args.inputs.clone().unwrap_or(dir.join("inputs.npy"));
    let labels_path = args.labels.clone().unwrap_or(dir.join("labels.npy"));
    let x_file = m.net.read_inputs(&inputs_path).map_err(bad_input)?;
    let labels = read_labels(&labels_path)?;
    if labels.len() != x_file.rows() {
        return Err(bad_input(anyhow!(
            "{} holds {} labels but {} holds {} images",
            labels_path.display(),
            labels.len(),
            inputs_path.display(),
            x_file.rows()
        )));
    }
    if x_file.rows() == 0 {
        return Err(bad_input(anyhow!("{}: no images", inputs_path.display())));
    }
    std::fs::create_dir_all(&args.out).map_err(|e| {
        Failure::new(
            exit::IO,
            anyhow!(
                "cannot create the output folder {}: {e}",
                args.out.display()
            ),
        )
    })?;
    let n = args.images as usize;
    let distinct = n.min(x_file.rows());
    let cols = x_file.cols();
    let mut data = Vec::with_capacity(n * cols);
    for r in 0..n {
        data.extend_from_slice(x_file.row(r % x_file.rows()));
    }
    let x = Int8Matrix::new(n, cols, data).map_err(bad_input)?;
    let reference = m.net.infer(&x).map_err(bad_input)?;

    // 1. The board.
    let t_open = Instant::now();
    let mut t = Target {
        device: device.clone(),
        ..target.clone()
    };
    // Polls of one register before the policy calls a slot or a batch
    // lost: the Backoff's 5 us doubling to 1 ms makes 40 polls about 33 ms
    // of board time, 260 laps of 25 km (200 polls, the general default,
    // spend 200 ms of board time, a minute of simulation, on each frame a
    // cut took).
    t.refill.max_polls = t.refill.max_polls.min(DEMO_MAX_POLLS);
    let target = &t;
    let mut c = open_with_spinner(target, quiet, is_sim)?;
    let open_s = t_open.elapsed().as_secs_f64();
    c.ping().map_err(client_error)?;
    let top = c.read(regs::TOP).map_err(client_error)?;
    let describe = c.transport().describe();
    say(format!(
        "device       : {describe}, top {} ({open_s:.1} s to build or load the model)",
        regs::top::name(top)
    ));
    if is_sim {
        say(format!("fiber        : {device}"));
    }

    // 2. Load, fill, calibrate.
    let t_load = Instant::now();
    let clocks0 = ops::read_counter(&mut c, counter::CLOCKS).map_err(client_error)?;
    let load = super::load::load_with_progress(&mut c, &m, target.refill, quiet)?;
    let load_s = t_load.elapsed().as_secs_f64();
    let delay_clocks = ops::read_counter(&mut c, counter::DELAY_CLOCKS).map_err(client_error)?;
    let clock_ns = 1e9 / WORD_CLOCK_HZ as f64;
    let delay_us = delay_clocks as f64 * clock_ns / 1e3;
    let fiber_words = delay_clocks.saturating_sub(
        fiberloop_spec::lap::GATEWARE_LATENCY + fiberloop::plan::MEASURED_EXTRA_WORDS,
    );
    let implied_km = fiber_words as f64 * clock_ns / FIBER_NS_PER_KM;
    // On the simulator the transceivers' latency is known: the rest is fiber.
    let fiber_km_measured = sim_options
        .as_ref()
        .map(|o| (fiber_words as f64 * clock_ns - transceiver_ns(o)) / FIBER_NS_PER_KM);
    say(format!(
        "loop         : {} slots, delay {delay_clocks} word clocks = {delay_us:.2} us: {implied_km:.3} km of fiber and transceivers{}",
        load.loop_slots,
        match fiber_km_measured {
            Some(km) => format!(" ({km:.3} km of fiber less the simulated transceivers)"),
            None => String::new(),
        }
    ));
    say(format!(
        "model        : {} ({} weight bytes in {} slots; refills during the load {})",
        model_path.display(),
        load.weight_bytes,
        load.slots_used,
        load.refills
    ));
    let image = ops::model_image(&mut c, &m.net, m.tag).map_err(ops_failure)?;

    // 3. Stream the images, a batch at a time, sampling the counters.
    let batch = c.read(regs::INFER_BATCH).map_err(client_error)? as usize;
    if batch == 0 || batch > regs::MAX_BATCH_ROWS as usize {
        return Err(Failure::new(
            exit::REFUSED,
            anyhow!("the board reports a batch of {batch} rows"),
        ));
    }
    c.record_slots(true);
    let mut map = RingMap::new(load.loop_slots, load.slots_used);
    let read_sample =
        |c: &mut fiberloop::device::client::Client<_>| c.counters().map_err(client_error);
    let k0 = read_sample(&mut c)?;
    let base_clocks = k0.loop_counters[counter::CLOCKS as usize];
    let mut last_laps = k0.loop_counters[counter::LAPS as usize];
    let mut laps = 0u64;
    let base_corr = k0.loop_counters[counter::CORRECTED_BYTES as usize];
    let base_unc = k0.loop_counters[counter::UNCORRECTABLE as usize];
    map.snapshot();
    let link0 = c.stats().clone();
    let t_stream = Instant::now();
    let mut samples = vec![Sample {
        good_slots: map.good(),
        ..Default::default()
    }];
    let mut totals = InferStats::default();
    let mut refills = Refills::default();
    let bar = super::load::progress_bar(quiet);
    bar.set_length(n as u64);
    bar.set_message("images");
    let mut y = Vec::with_capacity(n * reference.cols());
    for first in (0..n).step_by(batch) {
        let rows = (n - first).min(batch);
        let xb = Int8Matrix::new(
            rows,
            cols,
            x.data()[first * cols..(first + rows) * cols].to_vec(),
        )
        .map_err(bad_input)?;
        let mut st = InferStats::default();
        let out = ops::infer(
            &mut c,
            &xb,
            Some(&image),
            InferConfig {
                refill: target.refill,
            },
            &mut st,
        )
        .map_err(ops_failure)?;
        totals.batches += st.batches;
        totals.bad_retries += st.bad_retries;
        refills += st.refills;
        y.extend_from_slice(out.data());
        let k = read_sample(&mut c)?;
        let l = k.loop_counters[counter::LAPS as usize];
        // The board counts laps from each fill.
        laps += if l >= last_laps { l - last_laps } else { l };
        last_laps = l;
        map.apply(&c.take_slot_events());
        map.snapshot();
        samples.push(Sample {
            images: first + rows,
            board_ms: (k.loop_counters[counter::CLOCKS as usize] - base_clocks) as f64
                / WORD_CLOCK_HZ as f64
                * 1e3,
            wall_s: t_stream.elapsed().as_secs_f64(),
            laps,
            corrected_bytes: k.loop_counters[counter::CORRECTED_BYTES as usize] - base_corr,
            uncorrectable: k.loop_counters[counter::UNCORRECTABLE as usize] - base_unc,
            refills: refills.refills,
            good_slots: map.good(),
        });
        bar.set_position((first + rows) as u64);
    }
    bar.finish_and_clear();
    c.record_slots(false);
    let stream_wall = t_stream.elapsed().as_secs_f64();
    let end = *samples.last().unwrap_or(&Sample::default());
    let kend = c.counters().map_err(client_error)?;
    let clocks_end = kend.loop_counters[counter::CLOCKS as usize];

    let link_bytes = (c.stats().bytes_sent - link0.bytes_sent)
        + (c.stats().bytes_received - link0.bytes_received);
    let lap_us = (delay_clocks + fiberloop_spec::lap::CONTROLLER_LATENCY) as f64 * clock_ns / 1e3;

    // 4. Check every output byte; score against the labels.
    let y = Int8Matrix::new(n, reference.cols(), y).map_err(bad_input)?;
    let mismatched_rows: Vec<usize> = (0..n).filter(|&r| y.row(r) != reference.row(r)).collect();
    let mismatched_bytes = y
        .data()
        .iter()
        .zip(reference.data())
        .filter(|(a, b)| a != b)
        .count();
    let pred = y.argmax();
    let correct = (0..distinct).filter(|&r| pred[r] == labels[r]).count();
    let accuracy = correct as f64 / distinct as f64;
    let recorded = recorded_correct(&model_path);
    let recorded_check = match recorded {
        Some(r) if distinct == x_file.rows() => Some(r == correct),
        _ => None,
    };

    // 5. Figures.
    let board_s = end.board_ms / 1e3;
    let stream_clocks = clocks_end - base_clocks;
    let sim_speed = stream_clocks as f64 / stream_wall.max(1e-9);
    let bytes_in_flight = load.loop_slots * fiberloop_spec::frame::PAYLOAD_BYTES;
    let efficiency =
        load.weight_bytes as f64 / (load.slots_used * fiberloop_spec::frame::PAYLOAD_BYTES) as f64;
    let total_s = t0.elapsed().as_secs_f64();
    let report = serde_json::json!({
        "device": device,
        "describe": describe,
        "top": regs::top::name(top),
        "top_value": top,
        "model": model_path.display().to_string(),
        "inputs": inputs_path.display().to_string(),
        "images": n,
        "distinct_images": distinct,
        "loop": {
            "slots": load.loop_slots,
            "weight_slots": load.slots_used,
            "weight_bytes": load.weight_bytes,
            "payload_bytes_in_flight": bytes_in_flight,
            "payload_efficiency": efficiency,
            "delay_clocks": delay_clocks,
            "delay_us": delay_us,
            "implied_fiber_km": implied_km,
            "implied_fiber_km_less_transceivers": fiber_km_measured,
        },
        "load": {
            "filled": load.filled,
            "refills": load.refills,
            "wall_s": load_s,
            "board_ms": base_clocks.saturating_sub(clocks0) as f64 / WORD_CLOCK_HZ as f64 * 1e3,
        },
        "run": {
            "outputs_verified": n * reference.cols(),
            "mismatched_rows": mismatched_rows.len(),
            "mismatched_bytes": mismatched_bytes,
            "correct": correct,
            "accuracy": accuracy,
            "recorded_correct": recorded,
            "recorded_accuracy_matches": recorded_check,
            "batches": totals.batches,
            "batches_rerun": totals.bad_retries,
            "refills": refills,
            "laps": end.laps,
            "corrected_bytes": end.corrected_bytes,
            "uncorrectable_frames": end.uncorrectable,
            "board_s": board_s,
            "wall_s": stream_wall,
            "images_per_s_board": n as f64 / board_s.max(1e-12),
            "images_per_s_wall": n as f64 / stream_wall.max(1e-9),
            "host_link_bytes": link_bytes,
            "lap_us": lap_us,
            "board_us_per_batch": end.board_ms * 1e3 / totals.batches.max(1) as f64,
            "laps_per_batch": end.board_ms * 1e3 / lap_us / totals.batches.max(1) as f64,
            "sim_word_clocks_per_s": if is_sim { Some(sim_speed) } else { None },
            "sim_fraction_of_real_time": if is_sim { Some(sim_speed / WORD_CLOCK_HZ as f64) } else { None },
        },
        "ring_map": {
            "columns": map.columns.len(),
            "refilled_cells": map.count(demo::SlotState::Refilled).iter().sum::<usize>(),
            "bad_cells": map.count(demo::SlotState::Bad).iter().sum::<usize>(),
        },
        "wall_s": { "open": open_s, "total": total_s },
        "host_link": c.stats(),
        "samples": samples,
    });

    // 6. Pictures and the report.
    let short = match &sim_options {
        Some(o) => fiber_title(o),
        None => describe.clone(),
    };
    let pictures = [
        (
            "corrected_per_lap.png",
            demo::corrected_png(&samples, &short),
        ),
        (
            "occupancy.png",
            demo::occupancy_png(&samples, &map, load.slots_used),
        ),
        ("ring_map.png", demo::ring_map_png(&map, &samples)),
    ];
    let io = |p: &Path, e: std::io::Error| {
        Failure::new(exit::IO, anyhow!("cannot write {}: {e}", p.display()))
    };
    for (name, png) in pictures {
        let png = png.map_err(|e| Failure::new(exit::IO, e))?;
        let p = args.out.join(name);
        std::fs::write(&p, png).map_err(|e| io(&p, e))?;
    }
    let md = markdown(&report);
    let p = args.out.join("report.md");
    std::fs::write(&p, &md).map_err(|e| io(&p, e))?;
    let p = args.out.join("report.json");
    let json = serde_json::to_string_pretty(&report).map_err(|e| Failure::new(exit::IO, e))?;
    std::fs::write(&p, json).map_err(|e| io(&p, e))?;
    print!("{md}");
    say(format!(
        "report and pictures in {} ({total_s:.0} s in all)",
        args.out.display()
    ));

    if !mismatched_rows.is_empty() {
        return Err(Failure::new(
            exit::MISMATCH,
            anyhow!(
                "{} of {n} outputs differ from the host reference ({mismatched_bytes} bytes), first image {}",
                mismatched_rows.len(),
                mismatched_rows[0]
            ),
        ));
    }
    if recorded_check == Some(false) {
        return Err(Failure::new(
            exit::MISMATCH,
            anyhow!(
                "{correct} of {distinct} images right, but the model's README records {}",
                recorded.unwrap_or(0)
            ),
        ));
    }
    Ok(())
}

/// The report as Markdown, from its JSON.
pub fn markdown(r: &serde_json::Value) -> String {
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let u = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let l = &r["loop"];
    let run = &r["run"];
    let rf = &run["refills"];
    let mut s = String::new();
    let mut row = |k: &str, v: String| s.push_str(&format!("| {k} | {v} |\n"));
    row(
        "device",
        format!(
            "{} (top `{}`)",
            r["describe"].as_str().unwrap_or(""),
            r["top"].as_str().unwrap_or("")
        ),
    );
    row("fiber", format!("`{}`", r["device"].as_str().unwrap_or("")));
    row(
        "loop delay",
        format!(
            "{} word clocks = {:.2} us: {:.3} km of fiber and transceivers{}",
            u(&l["delay_clocks"]),
            f(&l["delay_us"]),
            f(&l["implied_fiber_km"]),
            match l["implied_fiber_km_less_transceivers"].as_f64() {
                Some(km) =>
                    format!(" ({km:.3} km of fiber less the simulated transceivers' latency)"),
                None => String::new(),
            }
        ),
    );
    row(
        "ring",
        format!(
            "{} slots, {} payload bytes in flight; the model: {} weight bytes in {} slots (payload efficiency {:.1} %)",
            u(&l["slots"]),
            u(&l["payload_bytes_in_flight"]),
            u(&l["weight_bytes"]),
            u(&l["weight_slots"]),
            100.0 * f(&l["payload_efficiency"])
        ),
    );
    row(
        "images",
        format!(
            "{} streamed ({} distinct), {} output bytes checked against the host reference",
            u(&r["images"]),
            u(&r["distinct_images"]),
            u(&run["outputs_verified"])
        ),
    );
    row(
        "mismatches",
        format!(
            "{} images, {} bytes",
            u(&run["mismatched_rows"]),
            u(&run["mismatched_bytes"])
        ),
    );
    let recorded = match (
        run["recorded_correct"].as_u64(),
        run["recorded_accuracy_matches"].as_bool(),
    ) {
        (Some(c), Some(true)) => format!(" (recorded for the model: {c}, equal)"),
        (Some(c), Some(false)) => format!(" (recorded for the model: {c}, DIFFERENT)"),
        (Some(c), None) => format!(" (recorded for all shipped images: {c})"),
        _ => String::new(),
    };
    row(
        "accuracy",
        format!(
            "{} of {} = {:.2} %{recorded}",
            u(&run["correct"]),
            u(&r["distinct_images"]),
            100.0 * f(&run["accuracy"])
        ),
    );
    row(
        "batches",
        format!(
            "{} run, {} run again after a repair",
            u(&run["batches"]),
            u(&run["batches_rerun"])
        ),
    );
    row(
        "refills",
        format!(
            "{} ({} weight slots rewritten, {} loop refills, {} fills); during the load: {}",
            u(&rf["refills"]),
            u(&rf["slots_rewritten"]),
            u(&rf["loop_refills"]),
            u(&rf["fills"]),
            u(&r["load"]["refills"]["refills"])
        ),
    );
    row(
        "fiber errors",
        format!(
            "{} bytes corrected, {} frames uncorrectable, in at least {} laps (the board counts laps from each fill; read at the batches' ends)",
            u(&run["corrected_bytes"]),
            u(&run["uncorrectable_frames"]),
            u(&run["laps"])
        ),
    );
    row(
        "throughput",
        format!(
            "{:.0} images/s of board time ({:.2} ms), {:.1} images/s of wall time ({:.1} s)",
            f(&run["images_per_s_board"]),
            1e3 * f(&run["board_s"]),
            f(&run["images_per_s_wall"]),
            f(&run["wall_s"])
        ),
    );
    row(
        "per batch",
        format!(
            "{:.0} us of board time = {:.1} laps of {:.1} us (the host link moved {} bytes in the run)",
            f(&run["board_us_per_batch"]),
            f(&run["laps_per_batch"]),
            f(&run["lap_us"]),
            u(&run["host_link_bytes"])
        ),
    );
    if let Some(v) = run["sim_word_clocks_per_s"].as_f64() {
        row(
            "simulation",
            format!(
                "{:.3} M word clocks/s, 1/{:.0} of real time",
                v / 1e6,
                1.0 / f(&run["sim_fraction_of_real_time"])
            ),
        );
    }
    row(
        "wall time",
        format!(
            "{:.1} s in all ({:.1} s to build or load the simulator, {:.1} s to load the model)",
            f(&r["wall_s"]["total"]),
            f(&r["wall_s"]["open"]),
            f(&r["load"]["wall_s"])
        ),
    );
    format!(
        "# fiberloop demo\n\n| | |\n|---|---|\n{s}\n![bytes corrected per lap](corrected_per_lap.png)\n![loop occupancy](occupancy.png)\n![ring map](ring_map.png)\n"
    )
}

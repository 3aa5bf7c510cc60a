//! `fiberloop plan`: what a loop of a given rate, lane count and length
//! holds and streams (no device needed). See [`fiberloop::plan`].

use super::{exit, Failure};
use fiberloop::plan::{self, Coding, Fec, ModelSize, Plan, PlanError, PlanInput};

fn rate(s: &str) -> Result<f64, String> {
    plan::parse_si("--line-rate", s).map_err(|e| e.to_string())
}

fn count(s: &str) -> Result<f64, String> {
    plan::parse_si("--model-params", s).map_err(|e| e.to_string())
}

fn km(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|e| format!("--fiber-km: cannot read {s:?} as a number of km: {e}"))?;
    if !(v.is_finite() && (0.0..=plan::MAX_FIBER_KM).contains(&v)) {
        return Err(format!(
            "--fiber-km must be 0 ..= {} km (got {s})",
            plan::MAX_FIBER_KM
        ));
    }
    Ok(v)
}

fn positive(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|e| format!("cannot read {s:?} as a number: {e}"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("must be a number > 0 (got {s})"));
    }
    Ok(v)
}

/// Options of `plan`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Line rate of one lane, bit/s: 2.5e9, 2.5G, 10G, 256T (k, M, G, T, P
    /// are powers of 1000).
    #[arg(long, value_name = "R", value_parser = rate, required_unless_present = "plot", allow_hyphen_values = true)]
    pub line_rate: Option<f64>,
    /// Lanes in parallel, each its own fiber of the same length.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=plan::MAX_LANES as i64))]
    pub lanes: u32,
    /// Fiber length per lane, km.
    #[arg(long, value_name = "K", value_parser = km, required_unless_present = "plot", allow_hyphen_values = true)]
    pub fiber_km: Option<f64>,
    /// Line code: 8b10b (this project's line and frame layout), 64b66b or none.
    #[arg(long, default_value = "8b10b", value_parser = |s: &str| s.parse::<Coding>().map_err(|e| e.to_string()))]
    pub coding: Coding,
    /// FEC: rs255_239 or none (8b10b frames always carry RS(255,239)).
    #[arg(long, default_value = "rs255_239", value_parser = |s: &str| s.parse::<Fec>().map_err(|e| e.to_string()))]
    pub fec: Fec,
    /// TX plus RX latency of the transceivers, ns (counted outside the
    /// FPGA, with the glass).
    #[arg(long, value_name = "NS", default_value_t = 0.0, value_parser = |s: &str| {
        let v: f64 = s.parse().map_err(|e| format!("cannot read {s:?} as ns: {e}"))?;
        if v.is_finite() && (0.0..=1e9).contains(&v) { Ok(v) } else { Err(format!("must be 0 ..= 1e9 ns (got {s})")) }
    })]
    pub transceiver_ns: f64,
    /// Parameters of a model to hold: 1.76T, 7e9, 70G.
    #[arg(long, value_name = "P", value_parser = count, requires = "bytes_per_param", allow_hyphen_values = true)]
    pub model_params: Option<f64>,
    /// Bytes per parameter (1 for int8, 0.5 for int4, 2 for bf16).
    #[arg(long, value_name = "B", value_parser = positive, requires = "model_params", allow_hyphen_values = true)]
    pub bytes_per_param: Option<f64>,
    /// Print the plan as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also draw payload bytes in flight against fiber length for 1, 4, 16
    /// and 64 lanes of 2.5 and 10 Gb/s into this PNG (with --coding and
    /// --fec); alone, draws only the picture.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<std::path::PathBuf>,
}

fn usage(e: PlanError) -> Failure {
    Failure::new(exit::USAGE, e)
}

/// The plan as JSON, under the keys the issue names plus the inputs and
/// the details behind them.
pub fn to_json(p: &Plan) -> serde_json::Value {
    let i = &p.input;
    serde_json::json!({
        "line_rate_bps": i.line_rate_bps,
        "lanes": i.lanes,
        "fiber_km": i.fiber_km,
        "transceiver_latency_s": i.transceiver_latency_s,
        "coding": i.coding.name(),
        "fec": i.fec.name(),
        "delay_s": p.delay_s,
        "raw_bits_in_flight": p.raw_bits_in_flight,
        "payload_bytes_in_flight": p.payload_bytes_in_flight,
        "payload_bytes_in_fpga": p.payload_bytes_in_fpga,
        "payload_bytes_held": p.payload_bytes_held,
        "payload_bytes_per_s": p.payload_bytes_per_s,
        "slots": p.slots(),
        "ring_words": p.fill.map(|f| f.ring_words),
        "gap_words": p.fill.map(|f| f.gap_words),
        "occupancy": p.occupancy,
        "model_bytes": i.model.map(|m| m.bytes()),
        "loops_needed": p.loops_needed,
        "accelerators_needed": p.accelerators_needed,
        "accelerator_bytes": plan::ACCELERATOR_BYTES,
        "notes": p.notes,
    })
}

fn print_text(p: &Plan) {
    use fiberloop::plan::plot::{si, si_bytes};
    let i = &p.input;
    println!(
        "line                   : {} lane(s) x {}, {}, FEC {}",
        i.lanes,
        si(i.line_rate_bps, "b/s"),
        i.coding.name(),
        i.fec.name()
    );
    println!("fiber                  : {} km per lane", i.fiber_km);
    println!("delay_s                : {:.6e} s", p.delay_s);
    println!(
        "raw_bits_in_flight     : {} ({})",
        p.raw_bits_in_flight,
        si_bytes(p.raw_bits_in_flight as f64 / 8.0)
    );
    println!(
        "payload_bytes_in_flight: {:.0} ({}) outside the FPGA",
        p.payload_bytes_in_flight,
        si_bytes(p.payload_bytes_in_flight)
    );
    if let Some(f) = p.fill {
        println!(
            "payload in the FPGA    : {:.0} B (gateware pipelines)",
            p.payload_bytes_in_fpga
        );
        println!(
            "payload held           : {:.0} ({}) = slots x 228 B x lanes",
            p.payload_bytes_held,
            si_bytes(p.payload_bytes_held)
        );
        println!(
            "slots                  : {} per lane (ring {} words, {} idle; occupancy {:.4})",
            f.slots,
            f.ring_words,
            f.gap_words,
            p.occupancy.unwrap_or(0.0)
        );
    } else {
        println!("slots                  : - (no frame layout: only 8b10b has this project's loop controller)");
    }
    println!(
        "payload_bytes_per_s    : {:.0} ({}/s)",
        p.payload_bytes_per_s,
        si_bytes(p.payload_bytes_per_s)
    );
    if let Some(m) = i.model {
        println!(
            "model                  : {} parameters x {} B = {}",
            si(m.params, ""),
            m.bytes_per_param,
            si_bytes(m.bytes())
        );
        match p.loops_needed {
            Some(n) => println!("loops_needed           : {n}"),
            None => println!("loops_needed           : - (the loop holds nothing)"),
        }
        if let Some(n) = p.accelerators_needed {
            println!(
                "for comparison         : {n} accelerators of {}",
                si_bytes(plan::ACCELERATOR_BYTES)
            );
        }
    }
    for n in &p.notes {
        println!("note: {n}");
    }
}

/// Plans, prints, and draws.
pub fn run(args: Args) -> Result<(), Failure> {
    let model = match (args.model_params, args.bytes_per_param) {
        (Some(params), Some(bytes_per_param)) => Some(ModelSize {
            params,
            bytes_per_param,
        }),
        (None, None) => None,
        _ => return Err(usage(PlanError::HalfModel)),
    };
    let planned = match (args.line_rate, args.fiber_km) {
        (Some(r), Some(k)) => Some(
            plan::plan(&PlanInput {
                line_rate_bps: r,
                lanes: args.lanes,
                fiber_km: k,
                transceiver_latency_s: args.transceiver_ns * 1e-9,
                coding: args.coding,
                fec: args.fec,
                model,
            })
            .map_err(usage)?,
        ),
        (None, None) if args.plot.is_some() => None,
        _ => {
            return Err(Failure::new(
                exit::USAGE,
                anyhow::anyhow!("a plan needs both --line-rate and --fiber-km"),
            ))
        }
    };
    if args.coding == Coding::B8b10b && args.fec != Fec::Rs255_239 {
        return Err(usage(PlanError::FrameNeedsFec));
    }
    if let Some(path) = &args.plot {
        let png = plan::plot::plot_png(args.coding, args.fec).map_err(|e| match e {
            plan::plot::PlotError::Plan(p) => usage(p),
            e => Failure::new(exit::IO, e),
        })?;
        std::fs::write(path, png).map_err(|e| {
            Failure::new(
                exit::IO,
                anyhow::anyhow!("writing the plot to {}: {e}", path.display()),
            )
        })?;
        log::info!("plot written to {}", path.display());
    }
    if let Some(p) = planned {
        if args.json {
            println!("{}", to_json(&p));
        } else {
            print_text(&p);
        }
    }
    Ok(())
}

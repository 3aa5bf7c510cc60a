//! Place and route with nextpnr-ecp5, out of context, for per-block Fmax.
//!
//! [`pnr_ecp5`] synthesises Verilog with yosys ([`crate::synth::synth_ecp5`],
//! `synth_ecp5` to a JSON netlist), then places and routes it with
//! `nextpnr-ecp5 --out-of-context` on the LFE5UM5G-45F (`--um5g-45k
//! --package CABGA381 --speed 8`) with the given seed and a `FREQUENCY`
//! constraint for every named clock net, and reads nextpnr's `--report`
//! JSON back into a [`PnrReport`]: Fmax per clock (`fmax`), the device
//! utilisation (`utilization`) and each clock's critical path
//! (`critical_paths`).
//!
//! Out of context there are no IO buffers and the block's ports are left
//! unplaced, so the figures are those of the block's registers and
//! logic: paths from and to the ports are not timed. This build of nextpnr
//! has no Python, so the clocks go into an LPF (`FREQUENCY NET "clock"
//! 125 MHZ;`), which nextpnr honours out of context; the ports have no
//! `LOCATE`, hence `--lpf-allow-unconstrained`. nextpnr runs with
//! `--timing-allow-fail` so that a design below its constraint still writes
//! its report: judging the figures is the caller's job
//! ([`PnrReport::check_margin`]).
//!
//! Every exit status is checked; the netlist, LPF, logs (`yosys.log`,
//! `nextpnr.log`) and `report.json` stay in `build/pnr/<name>-seed<N>/`.
//! A failure names the stage and carries the tail of its log.

use crate::synth::{synth_ecp5, SynthError};
use crate::tools::{self, Tool, ToolError};
use rust_hdl::core::prelude::{generate_verilog, Block};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// nextpnr-ecp5's arguments for the part every build here targets: the
/// LFE5UM5G-45F in the CABGA381 package, speed grade 8 (the Versa's).
pub const DEVICE_ARGS: [&str; 5] = ["--um5g-45k", "--package", "CABGA381", "--speed", "8"];

/// Copies yosys's netlist and log from a synthesis folder into a place
/// and route folder (the tools run in WebAssembly and see only their own
/// folder); an error names the file.
pub(crate) fn stage_netlist(
    synth_dir: &std::path::Path,
    to: &std::path::Path,
) -> Result<(), (String, std::io::Error)> {
    for f in ["netlist.json", "yosys.log"] {
        std::fs::copy(synth_dir.join(f), to.join(f))
            .map_err(|e| (format!("copying {f} from {}", synth_dir.display()), e))?;
    }
    Ok(())
}

/// Place and route failed.
#[derive(Debug, thiserror::Error)]
pub enum PnrError {
    /// nextpnr (or yosys) is missing.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// Synthesis failed.
    #[error(transparent)]
    Synth(#[from] SynthError),
    /// The request itself is wrong (no clock, a bad frequency).
    #[error("place and route of '{name}': {reason}")]
    BadRequest {
        /// The design.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// nextpnr ran and failed, or its report is not what it should be.
    #[error("nextpnr-ecp5 on '{name}' failed: {reason}\nlog: {log_path}\n{tail}")]
    Failed {
        /// The design.
        name: String,
        /// Why.
        reason: String,
        /// The full log.
        log_path: String,
        /// The last lines of the log.
        tail: String,
    },
    /// Filesystem trouble.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// A clock net and the frequency it must run at.
#[derive(Clone, Debug, PartialEq)]
pub struct ClockConstraint {
    /// The clock net's name in the netlist (a top-level port: `clock`).
    pub net: String,
    /// The frequency, MHz.
    pub mhz: f64,
}

impl ClockConstraint {
    /// `net` at `mhz` MHz.
    pub fn new(net: &str, mhz: f64) -> Self {
        Self {
            net: net.into(),
            mhz,
        }
    }
}

/// What to place and route, and how.
#[derive(Clone, Debug)]
pub struct PnrOptions {
    /// nextpnr's `--seed`.
    pub seed: u64,
    /// Every clock of the design with its frequency.
    pub clocks: Vec<ClockConstraint>,
}

/// Fmax of one clock, as nextpnr reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fmax {
    /// The frequency the routed design reaches, MHz.
    pub achieved_mhz: f64,
    /// The constraint it was placed and routed against, MHz.
    pub constraint_mhz: f64,
}

impl Fmax {
    /// Achieved over constrained (1.10 is a 10 % margin).
    pub fn ratio(&self) -> f64 {
        self.achieved_mhz / self.constraint_mhz
    }
}

/// One step of a timing path (nextpnr's `critical_paths[].path[]`).
#[derive(Clone, Debug, PartialEq)]
pub struct PathStep {
    /// `clk-to-q`, `routing`, `logic` or `setup`.
    pub kind: String,
    /// Its delay, ns.
    pub delay_ns: f64,
    /// Driving cell and port.
    pub from: String,
    /// Driven cell and port.
    pub to: String,
    /// The net, for routing steps.
    pub net: Option<String>,
    /// Source locations yosys kept for the net (`file:line.col-line.col`).
    pub sources: Vec<String>,
}

/// The worst path of a clock (or between two clocks).
#[derive(Clone, Debug, PartialEq)]
pub struct CriticalPath {
    /// Launching clock edge, as nextpnr writes it (`posedge clock`).
    pub from: String,
    /// Capturing clock edge.
    pub to: String,
    /// The steps, from the launching register to the capturing one.
    pub steps: Vec<PathStep>,
}

impl CriticalPath {
    /// The path's total delay, ns.
    pub fn delay_ns(&self) -> f64 {
        self.steps.iter().map(|s| s.delay_ns).sum()
    }
    /// Logic cells passed (LUTs and carry cells; a carry chain counts once
    /// per cell it crosses).
    pub fn logic_levels(&self) -> usize {
        self.steps.iter().filter(|s| s.kind == "logic").count()
    }
    /// The launching clock's name (`clock` from `posedge clock`).
    pub fn from_clock(&self) -> &str {
        clock_name(&self.from)
    }
    /// The capturing clock's name.
    pub fn to_clock(&self) -> &str {
        clock_name(&self.to)
    }
    /// The nets the path crosses, in order, without repeats.
    pub fn nets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = vec![];
        for s in &self.steps {
            if let Some(n) = s.net.as_deref() {
                if out.last() != Some(&n) {
                    out.push(n);
                }
            }
        }
        out
    }
}

fn clock_name(edge: &str) -> &str {
    edge.strip_prefix("posedge ")
        .or_else(|| edge.strip_prefix("negedge "))
        .unwrap_or(edge)
}

/// One kind of device resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Used by the design.
    pub used: u64,
    /// On the device.
    pub available: u64,
}

/// What place and route produced.
#[derive(Clone, Debug)]
pub struct PnrReport {
    /// The design's name (the build folder's).
    pub name: String,
    /// The seed used.
    pub seed: u64,
    /// Fmax per clock (nextpnr's `fmax`).
    pub fmax: BTreeMap<String, Fmax>,
    /// Resources by BEL type (nextpnr's `utilization`): `TRELLIS_COMB`,
    /// `TRELLIS_FF`, `MULT18X18D`, `DP16KD`, ...
    pub utilization: BTreeMap<String, Usage>,
    /// Critical paths: one per clock, plus cross-clock ones.
    pub critical_paths: Vec<CriticalPath>,
    /// Where the netlist, LPF, logs and report are kept.
    pub dir: PathBuf,
    /// Time spent in yosys.
    pub synth_time: Duration,
    /// Time spent in nextpnr.
    pub pnr_time: Duration,
}

impl PnrReport {
    /// The critical path launched and captured by `clock`.
    pub fn path_of(&self, clock: &str) -> Option<&CriticalPath> {
        self.critical_paths
            .iter()
            .find(|p| p.from_clock() == clock && p.to_clock() == clock)
    }

    /// `Ok` when every clock reaches `margin` times its constraint (1.10:
    /// 10 % above); otherwise the clocks that do not, with their paths.
    pub fn check_margin(&self, margin: f64) -> Result<(), String> {
        let mut msg = String::new();
        for (clock, f) in &self.fmax {
            if f.achieved_mhz < margin * f.constraint_mhz {
                let _ = writeln!(
                    msg,
                    "clock '{clock}' of '{}' (seed {}) reaches {:.1} MHz, below {:.1} MHz \
                     ({margin:.2} x {:.1} MHz)",
                    self.name,
                    self.seed,
                    f.achieved_mhz,
                    margin * f.constraint_mhz,
                    f.constraint_mhz
                );
                if let Some(p) = self.path_of(clock) {
                    let _ = write!(msg, "{}", PathDisplay(p));
                }
            }
        }
        if msg.is_empty() {
            Ok(())
        } else {
            Err(format!("{msg}\n{self}"))
        }
    }

    /// LUT4s used (`TRELLIS_COMB` holds one LUT4 or half a carry cell).
    pub fn luts(&self) -> u64 {
        self.used("TRELLIS_COMB")
    }

    /// Units of `bel` used (0 when the report does not list it).
    pub fn used(&self, bel: &str) -> u64 {
        self.utilization.get(bel).map(|u| u.used).unwrap_or(0)
    }
}

/// A critical path as a few readable lines.
struct PathDisplay<'a>(&'a CriticalPath);

impl std::fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.0;
        let first = p.steps.first().map(|s| s.from.as_str()).unwrap_or("?");
        let last = p.steps.last().map(|s| s.to.as_str()).unwrap_or("?");
        writeln!(
            f,
            "  critical path {} -> {}: {:.2} ns, {} logic cells\n    from {first}\n    to   {last}",
            p.from,
            p.to,
            p.delay_ns(),
            p.logic_levels()
        )?;
        for s in &p.steps {
            if let Some(net) = &s.net {
                let src = s.sources.first().map(|s| s.as_str()).unwrap_or("");
                writeln!(f, "    {:5.2} ns  net {net} {src}", s.delay_ns)?;
            } else if s.kind != "routing" {
                writeln!(f, "    {:5.2} ns  {} {}", s.delay_ns, s.kind, s.to)?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for PnrReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} (seed {}): yosys {:.0} s, nextpnr {:.0} s, {}",
            self.name,
            self.seed,
            self.synth_time.as_secs_f64(),
            self.pnr_time.as_secs_f64(),
            self.dir.display()
        )?;
        for (clock, x) in &self.fmax {
            let (delay, levels) = self
                .path_of(clock)
                .map(|p| (p.delay_ns(), p.logic_levels()))
                .unwrap_or((0.0, 0));
            writeln!(
                f,
                "  {clock:>10}: {:6.1} MHz against {:6.1} MHz ({:+5.1} %), worst path {delay:.2} ns, {levels} logic cells",
                x.achieved_mhz,
                x.constraint_mhz,
                100.0 * (x.ratio() - 1.0)
            )?;
        }
        let used: Vec<String> = self
            .utilization
            .iter()
            .filter(|(_, u)| u.used > 0)
            .map(|(k, u)| format!("{k} {}/{}", u.used, u.available))
            .collect();
        writeln!(f, "  utilisation: {}", used.join(", "))
    }
}

impl PnrReport {
    /// The report with every clock's critical path spelled out.
    pub fn detailed(&self) -> String {
        let mut s = self.to_string();
        for p in &self.critical_paths {
            let _ = write!(s, "{}", PathDisplay(p));
        }
        s
    }
}

/// The LPF text for `clocks`.
fn lpf(clocks: &[ClockConstraint]) -> String {
    clocks
        .iter()
        .map(|c| format!("FREQUENCY NET \"{}\" {} MHZ;\n", c.net, c.mhz))
        .collect()
}

/// Places and routes `verilog` (top module `top`) out of context on the
/// LFE5UM5G-45F and reports its timing. `name` names the folder under
/// `build/pnr/` (with the seed appended) that keeps the products.
pub fn pnr_ecp5(
    verilog: &str,
    top: &str,
    name: &str,
    opts: &PnrOptions,
) -> Result<PnrReport, PnrError> {
    let bad = |reason: String| PnrError::BadRequest {
        name: name.into(),
        reason,
    };
    if opts.clocks.is_empty() {
        return Err(bad("no clock to constrain".into()));
    }
    for c in &opts.clocks {
        if !(c.mhz.is_finite() && c.mhz > 0.0) {
            return Err(bad(format!("clock '{}' at {} MHz", c.net, c.mhz)));
        }
        if c.net.is_empty() || c.net.contains('"') {
            return Err(bad(format!("clock net name {:?}", c.net)));
        }
    }
    let nextpnr = tools::resolve(Tool::NextpnrEcp5)?;
    let tag = format!("{name}-seed{}", opts.seed);

    let t0 = Instant::now();
    let synth = synth_ecp5(verilog, top, &format!("pnr-{tag}"))?;
    let synth_time = t0.elapsed();

    let root = tools::build_dir().join("pnr");
    let tmp = tools::scratch_dir(&root, &tag)
        .map_err(|e| PnrError::Io(format!("creating a directory in {}", root.display()), e))?;
    stage_netlist(&synth.dir, &tmp).map_err(|(what, e)| PnrError::Io(what, e))?;
    std::fs::write(tmp.join("clocks.lpf"), lpf(&opts.clocks))
        .map_err(|e| PnrError::Io("writing clocks.lpf".into(), e))?;
    let args: Vec<String> = ["--out-of-context"]
        .iter()
        .chain(DEVICE_ARGS.iter())
        .chain(
            [
                "--json",
                "netlist.json",
                "--lpf",
                "clocks.lpf",
                "--lpf-allow-unconstrained",
                "--timing-allow-fail",
                "--report",
                "report.json",
                "--log",
                "nextpnr.log",
                "--quiet",
            ]
            .iter(),
        )
        .map(|s| s.to_string())
        .chain(["--seed".to_string(), opts.seed.to_string()])
        .collect();
    std::fs::write(
        tmp.join("nextpnr.args"),
        format!("nextpnr-ecp5 {}\n", args.join(" ")),
    )
    .map_err(|e| PnrError::Io("writing nextpnr.args".into(), e))?;
    let t1 = Instant::now();
    let out = nextpnr
        .command()
        .current_dir(&tmp)
        .args(&args)
        .output()
        .map_err(|e| PnrError::Io(format!("running {}", nextpnr.path.display()), e))?;
    let pnr_time = t1.elapsed();
    let _ = std::fs::write(tmp.join("nextpnr.stderr"), &out.stderr);

    let dir = crate::tools::keep_run_dir(tmp, root.join(&tag));
    let log = std::fs::read_to_string(dir.join("nextpnr.log")).unwrap_or_default()
        + &String::from_utf8_lossy(&out.stderr);
    let fail = |reason: String| PnrError::Failed {
        name: name.into(),
        reason,
        log_path: dir.join("nextpnr.log").display().to_string(),
        tail: crate::tools::log_tail(&log, 30),
    };
    if !out.status.success() {
        return Err(fail(format!("nextpnr-ecp5 exited with {}", out.status)));
    }
    let text = std::fs::read_to_string(dir.join("report.json"))
        .map_err(|e| fail(format!("no report.json: {e}")))?;
    let mut report = parse_report(&text).map_err(|e| fail(format!("report.json: {e}")))?;
    for c in &opts.clocks {
        match report.fmax.get(&c.net) {
            None => {
                return Err(fail(format!(
                    "clock '{}' has no Fmax in the report (no such net, or nothing clocked by it); \
                     clocks reported: {:?}",
                    c.net,
                    report.fmax.keys().collect::<Vec<_>>()
                )))
            }
            Some(f) if (f.constraint_mhz - c.mhz).abs() > 1e-3 * c.mhz => {
                return Err(fail(format!(
                    "clock '{}' was timed against {} MHz, not the {} MHz asked for",
                    c.net, f.constraint_mhz, c.mhz
                )))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = report
        .fmax
        .keys()
        .find(|k| !opts.clocks.iter().any(|c| &c.net == *k))
    {
        return Err(fail(format!(
            "clock '{extra}' in the report has no constraint (nextpnr guessed its frequency)"
        )));
    }
    report.name = name.into();
    report.seed = opts.seed;
    report.dir = dir;
    report.synth_time = synth_time;
    report.pnr_time = pnr_time;
    Ok(report)
}

/// Places and routes a rust-hdl block (call `connect_all` on it first).
pub fn pnr_block<B: Block>(uut: &B, name: &str, opts: &PnrOptions) -> Result<PnrReport, PnrError> {
    pnr_ecp5(&generate_verilog(uut), "top", name, opts)
}

/// Reads nextpnr's `--report` JSON.
pub fn parse_report(text: &str) -> Result<PnrReport, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("does not parse: {e}"))?;
    let obj = |v: &serde_json::Value, what: &str| -> Result<serde_json::Map<_, _>, String> {
        v.as_object()
            .cloned()
            .ok_or_else(|| format!("{what} is not an object"))
    };
    let num = |v: &serde_json::Value, what: &str| -> Result<f64, String> {
        v.as_f64().ok_or_else(|| format!("{what} is not a number"))
    };
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();

    let mut fmax = BTreeMap::new();
    for (clock, f) in obj(v.get("fmax").ok_or("no `fmax`")?, "fmax")? {
        fmax.insert(
            clock.clone(),
            Fmax {
                achieved_mhz: num(&f["achieved"], &format!("fmax.{clock}.achieved"))?,
                constraint_mhz: num(&f["constraint"], &format!("fmax.{clock}.constraint"))?,
            },
        );
    }
    let mut utilization = BTreeMap::new();
    for (bel, u) in obj(
        v.get("utilization").ok_or("no `utilization`")?,
        "utilization",
    )? {
        let n = |k: &str| {
            u[k].as_u64()
                .ok_or_else(|| format!("utilization.{bel}.{k} is not a count"))
        };
        utilization.insert(
            bel.clone(),
            Usage {
                used: n("used")?,
                available: n("available")?,
            },
        );
    }
    let mut critical_paths = vec![];
    let paths = v
        .get("critical_paths")
        .and_then(|p| p.as_array())
        .ok_or("no `critical_paths` list")?;
    for p in paths {
        let end = |e: &serde_json::Value| format!("{}.{}", s(&e["cell"]), s(&e["port"]));
        let mut steps = vec![];
        for st in p["path"]
            .as_array()
            .ok_or("a critical path has no `path` list")?
        {
            steps.push(PathStep {
                kind: s(&st["type"]),
                delay_ns: num(&st["delay"], "a path step's delay")?,
                from: end(&st["from"]),
                to: end(&st["to"]),
                net: st["net"].as_str().map(str::to_string),
                sources: st["sources"]
                    .as_array()
                    .map(|a| a.iter().map(s).collect())
                    .unwrap_or_default(),
            });
        }
        critical_paths.push(CriticalPath {
            from: s(&p["from"]),
            to: s(&p["to"]),
            steps,
        });
    }
    Ok(PnrReport {
        name: String::new(),
        seed: 0,
        fmax,
        utilization,
        critical_paths,
        dir: PathBuf::new(),
        synth_time: Duration::ZERO,
        pnr_time: Duration::ZERO,
    })
}

/// The margin every clock must have over its constraint: 10 %.
pub const TIMING_MARGIN: f64 = 1.10;

/// The word clock's frequency at 2.5 Gb/s (20-bit words), MHz.
pub const WORD_CLOCK_MHZ: f64 = 125.0;

/// The seed the timing tests use: `$FIBERLOOP_PNR_SEED`, or 1.
pub fn test_seed() -> u64 {
    match std::env::var("FIBERLOOP_PNR_SEED") {
        Ok(v) if !v.is_empty() => v
            .parse()
            .unwrap_or_else(|_| panic!("FIBERLOOP_PNR_SEED={v:?} is not a seed (a whole number)")),
        _ => 1,
    }
}

/// The timing tests' check: places and routes `uut` (connected) out of
/// context at [`test_seed`], prints Fmax per clock and every critical path,
/// and panics unless every clock reaches [`TIMING_MARGIN`] times its
/// constraint.
pub fn assert_meets_timing<B: Block>(uut: &B, name: &str, clocks: &[ClockConstraint]) -> PnrReport {
    let opts = PnrOptions {
        seed: test_seed(),
        clocks: clocks.to_vec(),
    };
    let r = pnr_block(uut, name, &opts).unwrap_or_else(|e| panic!("{e}"));
    println!("{}", r.detailed());
    if let Err(e) = r.check_margin(TIMING_MARGIN) {
        panic!("{e}");
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(mhz: f64) -> PnrOptions {
        PnrOptions {
            seed: 1,
            clocks: vec![
                ClockConstraint::new("clock", mhz),
                ClockConstraint::new("rx_clock", mhz),
            ],
        }
    }

    const TWO_CLOCKS: &str =
        "module top(input wire clock, input wire rx_clock, input wire [7:0] a,\n\
         output reg [15:0] q, output reg [15:0] r);\n\
         always @(posedge clock) q <= q + {8'd0, a};\n\
         always @(posedge rx_clock) r <= r ^ {a, a};\nendmodule\n";

    #[test]
    fn a_small_design_is_placed_routed_and_reported() {
        let r = pnr_ecp5(TWO_CLOCKS, "top", "pnr_probe", &opts(125.0)).unwrap();
        println!("{}", r.detailed());
        assert_eq!(r.fmax.len(), 2, "{r}");
        for c in ["clock", "rx_clock"] {
            let f = r.fmax[c];
            assert_eq!(f.constraint_mhz, 125.0);
            assert!(f.achieved_mhz > 125.0, "{r}");
            let p = r
                .path_of(c)
                .unwrap_or_else(|| panic!("no path for {c}: {r}"));
            assert!(p.delay_ns() > 0.0 && p.delay_ns() < 8.0, "{r}");
        }
        assert_eq!(r.used("TRELLIS_FF"), 32, "{r}");
        assert!(r.luts() > 0, "{r}");
        assert_eq!(r.used("TRELLIS_IO"), 0, "out of context: {r}");
        assert!(r.dir.join("report.json").exists());
        assert!(r.dir.join("nextpnr.log").exists());
        r.check_margin(TIMING_MARGIN).unwrap();
        // The same design against a constraint it cannot meet is reported,
        // not refused, and the margin check names the clock.
        let r = pnr_ecp5(TWO_CLOCKS, "top", "pnr_probe_fast", &opts(2000.0)).unwrap();
        let err = r.check_margin(TIMING_MARGIN).unwrap_err();
        assert!(err.contains("clock 'clock'"), "{err}");
        assert!(err.contains("critical path"), "{err}");
    }

    #[test]
    fn a_clock_that_is_not_in_the_design_is_an_error() {
        let mut o = opts(125.0);
        o.clocks.push(ClockConstraint::new("usb_clock", 60.0));
        let err = pnr_ecp5(TWO_CLOCKS, "top", "pnr_probe_noclk", &o)
            .unwrap_err()
            .to_string();
        assert!(err.contains("'usb_clock' has no Fmax"), "{err}");
    }

    #[test]
    fn an_unconstrained_clock_is_an_error() {
        let mut o = opts(125.0);
        o.clocks.pop();
        let err = pnr_ecp5(TWO_CLOCKS, "top", "pnr_probe_guess", &o)
            .unwrap_err()
            .to_string();
        assert!(err.contains("'rx_clock'"), "{err}");
        assert!(err.contains("no constraint"), "{err}");
    }

    #[test]
    fn bad_requests_are_refused_before_running_anything() {
        let mut o = opts(125.0);
        o.clocks.clear();
        let err = pnr_ecp5(TWO_CLOCKS, "top", "x", &o)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no clock"), "{err}");
        let err = pnr_ecp5(TWO_CLOCKS, "top", "x", &opts(-1.0))
            .unwrap_err()
            .to_string();
        assert!(err.contains("-1 MHz"), "{err}");
    }

    #[test]
    fn a_design_that_does_not_synthesise_fails_in_yosys() {
        let err = pnr_ecp5(
            "module top(input wire clock, output wire b);\nassign b = clock +;\nendmodule\n",
            "top",
            "pnr_probe_syntax",
            &opts(125.0),
        )
        .unwrap_err();
        assert!(matches!(err, PnrError::Synth(_)), "{err}");
    }

    #[test]
    fn the_report_parser_names_what_is_missing() {
        assert!(parse_report("{}").unwrap_err().contains("fmax"));
        assert!(parse_report("{\"fmax\":{},\"utilization\":{}}")
            .unwrap_err()
            .contains("critical_paths"));
        let r = parse_report(
            r#"{"fmax":{"clock":{"achieved":150.5,"constraint":125}},
                "utilization":{"TRELLIS_FF":{"used":3,"available":10}},
                "critical_paths":[{"from":"posedge clock","to":"posedge clock","path":[
                  {"type":"clk-to-q","delay":0.5,"from":{"cell":"a","port":"Q"},"to":{"cell":"a","port":"Q"}},
                  {"type":"routing","delay":1.0,"net":"n","sources":["x.v:1.1-1.2"],
                   "from":{"cell":"a","port":"Q"},"to":{"cell":"b","port":"A"}},
                  {"type":"logic","delay":0.25,"from":{"cell":"b","port":"A"},"to":{"cell":"b","port":"F"}},
                  {"type":"setup","delay":0.1,"from":{"cell":"b","port":"F"},"to":{"cell":"c","port":"DI"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(r.fmax["clock"].achieved_mhz, 150.5);
        assert_eq!(r.used("TRELLIS_FF"), 3);
        let p = r.path_of("clock").unwrap();
        assert!((p.delay_ns() - 1.85).abs() < 1e-9);
        assert_eq!(p.logic_levels(), 1);
        assert_eq!(p.nets(), vec!["n"]);
    }
}

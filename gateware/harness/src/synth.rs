//! Synthesis checks with yosys for the ECP5.
//!
//! [`synth_ecp5`] runs `synth_ecp5` on Verilog text, keeps the log and the
//! netlist under `build/synth/<name>/`, and fails on a non-zero exit status
//! and on the warnings that mean the hardware is not what the Rust says:
//! inferred latches, undriven wires, multiple drivers, implicit declarations.
//! The report gives the cells by type (LUT4, TRELLIS_FF, MULT18X18D, DP16KD,
//! ...), read from yosys's own `stat -json`.

use crate::tools::{self, Tool, ToolError};
use rust_hdl::core::prelude::{generate_verilog, Block};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Synthesis failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// yosys is missing.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// yosys ran and failed, or warned about something that is an error here.
    #[error("yosys synthesis of '{name}' failed: {reason}\nlog: {log_path}\n{tail}")]
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

/// What synthesis produced.
#[derive(Clone, Debug)]
pub struct SynthReport {
    /// Cells by type in the whole design (`LUT4`, `TRELLIS_FF`, `CCU2C`,
    /// `MULT18X18D`, `DP16KD`, ...).
    pub cells: BTreeMap<String, usize>,
    /// Warnings yosys printed that were not treated as errors.
    pub warnings: Vec<String>,
    /// Where the log, netlist and statistics are kept.
    pub dir: PathBuf,
}

impl SynthReport {
    fn count(&self, cell: &str) -> usize {
        self.cells.get(cell).copied().unwrap_or(0)
    }
    /// LUT4s, counting each CCU2C carry cell as two.
    pub fn luts(&self) -> usize {
        self.count("LUT4") + 2 * self.count("CCU2C")
    }
    /// Flip-flops.
    pub fn ffs(&self) -> usize {
        self.count("TRELLIS_FF")
    }
    /// 18x18 multipliers (DSP).
    pub fn dsps(&self) -> usize {
        self.count("MULT18X18D")
    }
    /// Block RAMs.
    pub fn brams(&self) -> usize {
        self.count("DP16KD")
    }
}

impl std::fmt::Display for SynthReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} LUT4 (incl. carry), {} FF, {} MULT18X18D, {} DP16KD",
            self.luts(),
            self.ffs(),
            self.dsps(),
            self.brams()
        )
    }
}

/// Warnings that make a synthesis run fail.
const FATAL_WARNINGS: &[(&str, &str)] = &[
    ("Latch inferred", "a latch was inferred"),
    (
        "is used but has no driver",
        "a wire is used but has no driver",
    ),
    (
        "multiple conflicting drivers",
        "a signal has multiple drivers",
    ),
    (
        "implicitly declared",
        "an identifier is implicitly declared",
    ),
    (
        "Replacing memory",
        "a memory was replaced by registers unexpectedly",
    ),
];

/// Synthesises `verilog` (top module `top`) for the ECP5 and reports its cells.
/// `name` names the folder under `build/synth/` that keeps the logs.
pub fn synth_ecp5(verilog: &str, top: &str, name: &str) -> Result<SynthReport, SynthError> {
    let yosys = tools::resolve(Tool::Yosys)?;
    let root = tools::build_dir().join("synth");
    let tmp = tools::scratch_dir(&root, name)
        .map_err(|e| SynthError::Io(format!("creating a directory in {}", root.display()), e))?;
    std::fs::write(tmp.join("design.v"), verilog)
        .map_err(|e| SynthError::Io("writing design.v".into(), e))?;
    let script = format!(
        "read_verilog design.v\n\
         hierarchy -check -top {top}\n\
         synth_ecp5 -top {top} -json netlist.json\n\
         tee -q -o stat.json stat -json\n"
    );
    std::fs::write(tmp.join("synth.ys"), &script)
        .map_err(|e| SynthError::Io("writing synth.ys".into(), e))?;
    let out = yosys
        .command()
        .current_dir(&tmp)
        .args(["-l", "yosys.log", "-q", "-s", "synth.ys"])
        .output()
        .map_err(|e| SynthError::Io(format!("running {}", yosys.path.display()), e))?;
    let dir = crate::tools::keep_run_dir(tmp, root.join(name));
    let log = std::fs::read_to_string(dir.join("yosys.log")).unwrap_or_default()
        + &String::from_utf8_lossy(&out.stderr);
    let fail = |reason: String| SynthError::Failed {
        name: name.into(),
        reason,
        log_path: dir.join("yosys.log").display().to_string(),
        tail: crate::tools::log_tail(&log, 25),
    };
    if !out.status.success() {
        return Err(fail(format!("yosys exited with {}", out.status)));
    }
    let mut warnings = vec![];
    for line in log.lines().filter(|l| l.contains("Warning")) {
        if let Some((_, why)) = FATAL_WARNINGS.iter().find(|(pat, _)| line.contains(pat)) {
            return Err(fail(format!("{why}: {}", line.trim())));
        }
        warnings.push(line.trim().to_string());
    }
    let stat = std::fs::read_to_string(dir.join("stat.json"))
        .map_err(|e| SynthError::Io("reading stat.json".into(), e))?;
    let stat: serde_json::Value =
        serde_json::from_str(&stat).map_err(|e| fail(format!("stat.json does not parse: {e}")))?;
    let by_type = stat
        .get("design")
        .and_then(|d| d.get("num_cells_by_type"))
        .and_then(|c| c.as_object())
        .ok_or_else(|| fail("stat.json has no design.num_cells_by_type".into()))?;
    let cells = by_type
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0) as usize))
        .collect();
    Ok(SynthReport {
        cells,
        warnings,
        dir,
    })
}

/// Synthesises a rust-hdl block (call `connect_all` on it first).
pub fn synth_block<B: Block>(uut: &B, name: &str) -> Result<SynthReport, SynthError> {
    synth_ecp5(&generate_verilog(uut), "top", name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latch_fails_synthesis() {
        let v = "module top(input wire en, input wire d, output reg q);\n\
                 always @(*) if (en) q = d;\nendmodule\n";
        let err = synth_ecp5(v, "top", "latch_probe").unwrap_err().to_string();
        assert!(err.contains("latch"), "{err}");
    }

    #[test]
    fn a_syntax_error_fails_synthesis() {
        let v = "module top(input wire a, output wire b);\nassign b = a +;\nendmodule\n";
        let err = synth_ecp5(v, "top", "syntax_probe")
            .unwrap_err()
            .to_string();
        assert!(err.contains("exited"), "{err}");
    }

    #[test]
    fn cells_are_counted() {
        let v = "module top(input wire clk, input wire [7:0] a, output reg [7:0] q);\n\
                 always @(posedge clk) q <= q + a;\nendmodule\n";
        let r = synth_ecp5(v, "top", "counter_probe").unwrap();
        assert_eq!(r.ffs(), 8, "{r:?}");
        assert!(r.luts() > 0, "{r:?}");
    }
}

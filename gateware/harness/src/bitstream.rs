//! Whole-chip builds for the LFE5UM5G-45F and the bitstream read back.
//!
//! [`build_bitstream`] runs the full open flow on a top-level design with
//! pins: yosys `synth_ecp5` ([`crate::synth::synth_ecp5`]), `nextpnr-ecp5
//! --um5g-45k --package CABGA381 --speed 8` with the caller's LPF (every
//! port placed: no `--lpf-allow-unconstrained`), `ecppack` to a bitstream,
//! and `ecpunpack` back to text, which [`ChipConfig::parse`] reads: the
//! configuration words and enums of every tile, so a test can check what
//! actually went into the bitstream (the DCU words of a SERDES channel, an
//! IO type) rather than what was asked for.
//!
//! The yowasp tools run in WebAssembly and see only their working
//! directory: every tool runs with the build folder as its working
//! directory and relative file names. The products (`netlist.json`,
//! `top.lpf`, `top.config`, `top.bit`, `unpacked.config`, `report.json` and
//! each tool's log) stay in `build/bitstream/<name>/`.
//!
//! nextpnr exits non-zero when a constrained clock misses its frequency
//! (no `--timing-allow-fail`): a bitstream that is built met its
//! constraints. Every clock nextpnr times must have a `FREQUENCY` in the
//! LPF or one nextpnr derived from it (a PLL's output); a clock it had to
//! guess is an error, as in [`crate::pnr`].

use crate::pnr::{parse_report, PnrReport};
use crate::synth::{synth_ecp5, SynthError};
use crate::tools::{self, Tool, ToolError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A whole-chip build failed.
#[derive(Debug, thiserror::Error)]
pub enum BitstreamError {
    /// A tool is missing.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// Synthesis failed.
    #[error(transparent)]
    Synth(#[from] SynthError),
    /// A tool ran and failed, or its product is not what it should be.
    #[error("{stage} of '{name}' failed: {reason}\nlog: {log_path}\n{tail}")]
    Failed {
        /// The design.
        name: String,
        /// `nextpnr-ecp5`, `ecppack` or `ecpunpack`.
        stage: &'static str,
        /// Why.
        reason: String,
        /// The full log.
        log_path: String,
        /// The last lines of the log.
        tail: String,
    },
    /// The unpacked configuration does not parse.
    #[error("unpacked configuration {path}: line {line}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Filesystem trouble.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// What a whole-chip build produced.
#[derive(Debug)]
pub struct Bitstream {
    /// Where the products are kept.
    pub dir: PathBuf,
    /// nextpnr's report (Fmax per clock, utilisation, critical paths).
    pub report: PnrReport,
    /// The bitstream read back with `ecpunpack`.
    pub config: ChipConfig,
    /// Time in yosys, nextpnr, ecppack and ecpunpack together.
    pub build_time: Duration,
    /// The device ID the bitstream is for (its header, as `ecpunpack`
    /// reports it).
    pub idcode: Option<u32>,
}

/// The JTAG IDCODE of the LFE5UM5G-45F.
pub const IDCODE_LFE5UM5G_45F: u32 = 0x8111_2043;

/// The device ID in `ecpunpack`'s log (`bitstream: device ID: 0x81112043`).
pub fn idcode_in_log(log: &str) -> Option<u32> {
    log.lines()
        .filter_map(|l| l.split("device ID: 0x").nth(1))
        .filter_map(|h| u32::from_str_radix(h.trim(), 16).ok())
        .next()
}

impl Bitstream {
    /// The bitstream file.
    pub fn bit_path(&self) -> PathBuf {
        self.dir.join("top.bit")
    }
}

/// One tile of an unpacked configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TileConfig {
    /// The tile's name as `ecpunpack` writes it (`MIB_R71C47:DCU5`).
    pub name: String,
    /// Configuration words: name to value (the bit string read as a
    /// binary number, most significant bit first, as `ecpunpack` writes it).
    pub words: BTreeMap<String, u64>,
    /// Configuration enums: name to value.
    pub enums: BTreeMap<String, String>,
}

impl TileConfig {
    /// The tile's column (`C47` in `MIB_R71C47:DCU5`), if its name has one.
    pub fn column(&self) -> Option<u32> {
        let loc = self.name.split(':').next()?;
        let c = loc.rfind('C')?;
        loc[c + 1..].parse().ok()
    }
}

/// An `ecpunpack` text configuration: the tiles with a setting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChipConfig {
    /// The device line (`.device LFE5UM5G-45F`).
    pub device: String,
    /// The tiles, in file order.
    pub tiles: Vec<TileConfig>,
}

/// One configuration word found by [`ChipConfig::words_with_prefix`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordAt {
    /// The tile holding it.
    pub tile: String,
    /// The tile's column.
    pub column: Option<u32>,
    /// The word's name with the prefix removed (`CH1_RTERM_RX` for
    /// `DCU.CH1_RTERM_RX`).
    pub name: String,
    /// Its value.
    pub value: u64,
}

impl ChipConfig {
    /// Parses `ecpunpack`'s text output. Lines it does not model (`arc:`,
    /// `unknown:`, BRAM init, comments) are skipped; a `word:` or `enum:`
    /// line outside a tile, or a word whose value is not a bit string, is
    /// an error naming the line.
    pub fn parse(text: &str) -> Result<ChipConfig, (usize, String)> {
        let mut cfg = ChipConfig::default();
        let mut current: Option<TileConfig> = None;
        for (k, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let at = k + 1;
            if let Some(dev) = line.strip_prefix(".device ") {
                cfg.device = dev.trim().to_string();
            } else if let Some(names) = line
                .strip_prefix(".tile ")
                .or_else(|| line.strip_prefix(".tile_group "))
            {
                // A group (nextpnr's text output) is named by its first tile.
                let name = names.split_whitespace().next().unwrap_or("");
                if let Some(t) = current.take() {
                    cfg.tiles.push(t);
                }
                current = Some(TileConfig {
                    name: name.trim().to_string(),
                    ..Default::default()
                });
            } else if line.starts_with('.') {
                // Another section (.bram_init, .comment, ...): ends the tile.
                if let Some(t) = current.take() {
                    cfg.tiles.push(t);
                }
            } else if let Some(rest) = line.strip_prefix("word: ") {
                let tile = current
                    .as_mut()
                    .ok_or((at, "a word outside a tile".to_string()))?;
                let (name, bits) = rest
                    .split_once(' ')
                    .ok_or((at, format!("word line without a value: {line:?}")))?;
                let bits = bits.trim();
                if bits.is_empty() || bits.len() > 64 || !bits.chars().all(|c| c == '0' || c == '1')
                {
                    return Err((at, format!("word {name}: {bits:?} is not a bit string")));
                }
                let value = u64::from_str_radix(bits, 2).expect("checked above");
                if tile.words.insert(name.to_string(), value).is_some() {
                    return Err((at, format!("word {name} twice in tile {}", tile.name)));
                }
            } else if let Some(rest) = line.strip_prefix("enum: ") {
                let tile = current
                    .as_mut()
                    .ok_or((at, "an enum outside a tile".to_string()))?;
                let (name, value) = rest
                    .split_once(' ')
                    .ok_or((at, format!("enum line without a value: {line:?}")))?;
                tile.enums
                    .insert(name.to_string(), value.trim().to_string());
            }
        }
        if let Some(t) = current.take() {
            cfg.tiles.push(t);
        }
        Ok(cfg)
    }

    /// Reads and parses an unpacked configuration file.
    pub fn read(path: &Path) -> Result<ChipConfig, BitstreamError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| BitstreamError::Io(format!("reading {}", path.display()), e))?;
        ChipConfig::parse(&text).map_err(|(line, reason)| BitstreamError::Parse {
            path: path.display().to_string(),
            line,
            reason,
        })
    }

    /// Every word whose name starts with `prefix` (`"DCU."`), in file order,
    /// with the prefix removed.
    pub fn words_with_prefix(&self, prefix: &str) -> Vec<WordAt> {
        let mut out = vec![];
        for t in &self.tiles {
            for (name, &value) in &t.words {
                if let Some(rest) = name.strip_prefix(prefix) {
                    out.push(WordAt {
                        tile: t.name.clone(),
                        column: t.column(),
                        name: rest.to_string(),
                        value,
                    });
                }
            }
        }
        out
    }

    /// Every enum named `name` (`"DCU.MODE"`) with its tile.
    pub fn enums_named(&self, name: &str) -> Vec<(String, String)> {
        self.tiles
            .iter()
            .filter_map(|t| t.enums.get(name).map(|v| (t.name.clone(), v.clone())))
            .collect()
    }
}

/// Runs `tool` in `dir` with `args`, its output to `<log>`; an error with
/// the log's tail when it fails.
fn run_in(
    dir: &Path,
    mut cmd: Command,
    args: &[&str],
    stage: &'static str,
    log: &str,
    name: &str,
) -> Result<(), BitstreamError> {
    let out = cmd
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| BitstreamError::Io(format!("running {stage}"), e))?;
    let mut text = String::from_utf8_lossy(&out.stdout).to_string();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let log_path = dir.join(log);
    // nextpnr writes its own --log; keep what it printed beside it.
    let existing = std::fs::read_to_string(&log_path).unwrap_or_default();
    let full = format!("{existing}{text}");
    let _ = std::fs::write(&log_path, &full);
    if !out.status.success() {
        return Err(BitstreamError::Failed {
            name: name.into(),
            stage,
            reason: format!("exited with {}", out.status),
            log_path: log_path.display().to_string(),
            tail: tools::log_tail(&full, 30),
        });
    }
    Ok(())
}

/// Builds `verilog` (top module `top`) into a bitstream for the
/// LFE5UM5G-45F in the CABGA381 package with the constraints `lpf`, at
/// nextpnr seed `seed`, and reads it back. `name` names the folder under
/// `build/bitstream/`.
pub fn build_bitstream(
    verilog: &str,
    top: &str,
    lpf: &str,
    name: &str,
    seed: u64,
) -> Result<Bitstream, BitstreamError> {
    let nextpnr = tools::resolve(Tool::NextpnrEcp5)?;
    let ecppack = tools::resolve(Tool::Ecppack)?;
    let ecpunpack = tools::resolve(Tool::Ecpunpack)?;
    let t0 = Instant::now();
    let synth = synth_ecp5(verilog, top, &format!("bitstream-{name}"))?;
    let synth_time = t0.elapsed();

    let root = tools::build_dir().join("bitstream");
    let tmp = tools::scratch_dir(&root, name).map_err(|e| {
        BitstreamError::Io(format!("creating a directory in {}", root.display()), e)
    })?;
    crate::pnr::stage_netlist(&synth.dir, &tmp).map_err(|(what, e)| BitstreamError::Io(what, e))?;
    std::fs::write(tmp.join("top.lpf"), lpf)
        .map_err(|e| BitstreamError::Io("writing top.lpf".into(), e))?;
    let seed_s = seed.to_string();
    let mut args = crate::pnr::DEVICE_ARGS.to_vec();
    args.extend([
        "--json",
        "netlist.json",
        "--lpf",
        "top.lpf",
        "--textcfg",
        "top.config",
        "--report",
        "report.json",
        "--log",
        "nextpnr.log",
        "--quiet",
        "--seed",
        &seed_s,
    ]);
    let result = (|| {
        run_in(
            &tmp,
            nextpnr.command(),
            &args,
            "nextpnr-ecp5",
            "nextpnr.log",
            name,
        )?;
        run_in(
            &tmp,
            ecppack.command(),
            &["top.config", "top.bit"],
            "ecppack",
            "ecppack.log",
            name,
        )?;
        run_in(
            &tmp,
            ecpunpack.command(),
            &["top.bit", "unpacked.config"],
            "ecpunpack",
            "ecpunpack.log",
            name,
        )
    })();
    let build_time = t0.elapsed();
    let dir = tools::keep_run_dir(tmp, root.join(name));
    result?;
    let fail = |reason: String| BitstreamError::Failed {
        name: name.into(),
        stage: "nextpnr-ecp5",
        reason,
        log_path: dir.join("nextpnr.log").display().to_string(),
        tail: String::new(),
    };
    let text = std::fs::read_to_string(dir.join("report.json"))
        .map_err(|e| fail(format!("no report.json: {e}")))?;
    let mut report = parse_report(&text).map_err(|e| fail(format!("report.json: {e}")))?;
    report.name = name.into();
    report.seed = seed;
    report.dir = dir.clone();
    report.synth_time = synth_time;
    // nextpnr, ecppack and ecpunpack together.
    report.pnr_time = build_time - synth_time;
    // The report names a clock by its global buffer's net
    // (`$glbnet$<one of the net's names>`), not necessarily the name the
    // LPF used: check the LPF's nets by nextpnr's log, and the report's
    // clocks by their constraints.
    let log = std::fs::read_to_string(dir.join("nextpnr.log")).unwrap_or_default();
    let constrained = constrained_nets(lpf);
    for c in &constrained {
        if !log.contains(&format!("constraining clock net '{c}' to")) {
            return Err(fail(format!(
                "the LPF constrains clock net '{c}', which nextpnr did not constrain \
                 (no such net); clocks timed: {:?}",
                report.fmax.keys().collect::<Vec<_>>()
            )));
        }
    }
    // Clocks nextpnr derives (a PLL's outputs from its input's constraint)
    // count as constrained.
    let derived: Vec<f64> = log
        .lines()
        .filter_map(|l| l.split("Derived frequency constraint of ").nth(1))
        .filter_map(|r| r.split_whitespace().next()?.parse().ok())
        .collect();
    let freqs: Vec<f64> = constrained_frequencies(lpf)
        .into_iter()
        .chain(derived.iter().copied())
        .collect();
    for (clock, f) in &report.fmax {
        if !freqs
            .iter()
            .any(|m| (m - f.constraint_mhz).abs() < 1e-3 * m)
        {
            return Err(fail(format!(
                "clock '{clock}' was timed against {} MHz, which no FREQUENCY in the LPF \
                 gives (nextpnr guessed it); constrained: {constrained:?}",
                f.constraint_mhz
            )));
        }
    }
    if report.fmax.len() > constrained.len() + derived.len() {
        return Err(fail(format!(
            "nextpnr timed {} clocks ({:?}) but the LPF constrains {} ({constrained:?}) and \
             nextpnr derived {}",
            report.fmax.len(),
            report.fmax.keys().collect::<Vec<_>>(),
            constrained.len(),
            derived.len()
        )));
    }
    let config = ChipConfig::read(&dir.join("unpacked.config"))?;
    let idcode =
        idcode_in_log(&std::fs::read_to_string(dir.join("ecpunpack.log")).unwrap_or_default());
    Ok(Bitstream {
        dir,
        report,
        config,
        build_time,
        idcode,
    })
}

/// The nets and ports an LPF gives a `FREQUENCY NET "x"` or `FREQUENCY
/// PORT "x"` to (a port's clock net has the port's name).
pub fn constrained_nets(lpf: &str) -> Vec<String> {
    lpf.lines()
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("FREQUENCY NET \"")
                .or_else(|| l.strip_prefix("FREQUENCY PORT \""))
        })
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

/// The frequencies (MHz) of an LPF's `FREQUENCY` constraints.
pub fn constrained_frequencies(lpf: &str) -> Vec<f64> {
    lpf.lines()
        .filter(|l| l.trim().starts_with("FREQUENCY "))
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let k = words
                .iter()
                .position(|w| w.eq_ignore_ascii_case("MHZ;") || w.eq_ignore_ascii_case("MHZ"))?;
            words.get(k.checked_sub(1)?)?.parse().ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unpacked_text_is_read_into_tiles_words_and_enums() {
        let text = ".device LFE5UM5G-45F\n\n.comment Part: LFE5UM5G-45F-8CABGA381\n\
                    .tile CIB_R70C42:CIB_DCU0\narc: A B\n\n\
                    .tile MIB_R71C47:DCU5\nword: DCU.CH1_RTERM_RX 10011\nenum: DCU.MODE DCUA\n\n\
                    .tile MIB_R71C50:DCU8\nword: DCU.D_MACROPDB 1\nword: EXTREF.REFCK_PWDNB 1\n\
                    unknown: F2B0\n\
                    .tile_group MIB_R71C2:PLL0_LL MIB_R71C3:BANKREF8\nword: CLKI_DIV 0000011\n";
        let c = ChipConfig::parse(text).unwrap();
        assert_eq!(c.device, "LFE5UM5G-45F");
        assert_eq!(c.tiles.len(), 4);
        assert_eq!(c.tiles[3].name, "MIB_R71C2:PLL0_LL");
        assert_eq!(c.tiles[3].words["CLKI_DIV"], 3);
        let dcu = c.words_with_prefix("DCU.");
        assert_eq!(dcu.len(), 2);
        assert_eq!(
            dcu[0],
            WordAt {
                tile: "MIB_R71C47:DCU5".into(),
                column: Some(47),
                name: "CH1_RTERM_RX".into(),
                value: 19
            }
        );
        assert_eq!(dcu[1].name, "D_MACROPDB");
        assert_eq!(c.words_with_prefix("EXTREF.")[0].value, 1);
        assert_eq!(
            c.enums_named("DCU.MODE"),
            vec![("MIB_R71C47:DCU5".to_string(), "DCUA".to_string())]
        );
    }

    #[test]
    fn a_malformed_word_is_an_error_naming_its_line() {
        let (line, why) = ChipConfig::parse(".tile X:Y\nword: DCU.A 10x1\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(why.contains("DCU.A"), "{why}");
        let (line, why) = ChipConfig::parse("word: DCU.A 1\n").unwrap_err();
        assert_eq!(line, 1);
        assert!(why.contains("outside a tile"), "{why}");
    }

    #[test]
    fn the_device_id_is_read_from_the_unpack_log() {
        let log = "bitstream: reset crc\nbitstream: device ID: 0x81112043\nbitstream: init\n";
        assert_eq!(idcode_in_log(log), Some(IDCODE_LFE5UM5G_45F));
        assert_eq!(idcode_in_log("nothing"), None);
    }

    #[test]
    fn frequency_constraints_are_found_in_an_lpf() {
        let lpf = "LOCATE COMP \"led\" SITE \"E16\";\nFREQUENCY NET \"a$b\" 125 MHZ;\n\
                   FREQUENCY PORT \"clk\" 100 MHZ;\n  FREQUENCY NET \"c\" 1.5 MHZ;\n";
        assert_eq!(constrained_nets(lpf), vec!["a$b", "clk", "c"]);
        assert_eq!(constrained_frequencies(lpf), vec![125.0, 100.0, 1.5]);
    }
}

//! Formal proofs with SymbiYosys on the Verilog the project generates.
//!
//! A [`Proof`] is the generated Verilog of one block (rust-hdl's
//! `generate_verilog`, module `top`), a SystemVerilog property module
//! (assumptions, assertions, a shadow model) and one line that instantiates
//! that module inside `top`, wired to the block's ports and registers (what
//! a `bind` would do; yosys has no `bind` for plain Verilog). [`run`] writes
//! `design.v`, `props.sv` and `proof.sby` under `build/formal/<name>/`,
//! runs SymbiYosys there (the yowasp tools see only the working directory's
//! tree) with yosys-smtbmc and the Yices 2 solver, keeps its log and returns
//! the verdict: [`Verdict::Pass`] (proved, or no counterexample within the
//! bound) or [`Verdict::Fail`] (a counterexample: an assertion fails; the
//! trace is kept as a VCD next to the log). Anything else (a syntax error
//! in the properties, a missing tool, an inconclusive induction) is a
//! [`FormalError`] carrying the log's tail.
//!
//! Two modes, chosen per property and stated with it ([`Mode`]):
//! * [`Mode::Prove`]: k-induction (`mode prove`): the base case is a bounded
//!   check of `depth` steps from power-up, the inductive step shows that
//!   `depth` consecutive steps satisfying every assertion are followed by a
//!   step that satisfies them too. Holds for every reachable state.
//! * [`Mode::Bmc`]: bounded model checking (`mode bmc`): no assertion fails
//!   within `depth` steps from power-up; the proof's documentation says why
//!   that depth reaches every state that matters.
//!
//! With `multiclock` (for blocks with more than one clock), every clock is a
//! free input and one solver step is one instant of a global time: a rising
//! edge of a clock takes two steps (low, then high), and any pattern of
//! edges, coinciding ones included, is allowed.
//!
//! The proofs themselves (a property file per block and the mutations each
//! must catch) are in the gateware crate, `gateware/src/formal/`.

use crate::tools::{self, Tool, ToolError};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// How a property is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// k-induction with this `k` (and a base case of the same depth).
    Prove {
        /// Induction depth in solver steps.
        depth: u32,
    },
    /// Bounded model checking to this many steps from power-up.
    Bmc {
        /// Steps from power-up.
        depth: u32,
    },
}

/// One proof: a block's Verilog with a property module bound into it.
#[derive(Clone, Debug)]
pub struct Proof {
    /// Name, also the folder under `build/formal/`.
    pub name: String,
    /// The generated Verilog (module `top` and its sub-modules).
    pub design: String,
    /// The property module(s), SystemVerilog.
    pub props: String,
    /// The instantiation of the property module, inserted at the end of
    /// module `top`.
    pub bind: String,
    /// Induction or bounded.
    pub mode: Mode,
    /// The block has more than one clock.
    pub multiclock: bool,
    /// Preprocessor defines for the property file (`HELPERS`: the helper
    /// invariants induction needs; mutants run without them, so that what
    /// fails is the contract itself).
    pub defines: Vec<String>,
    /// Extra yosys commands after `prep` (e.g. `cutpoint` to replace a
    /// sub-module's outputs by free values).
    pub script: Vec<String>,
}

impl Proof {
    /// A single-clock proof of `props` bound into `design` by `bind`, with
    /// the helper invariants (`HELPERS`) when `helpers`; no extra script.
    pub fn new(
        name: &str,
        design: String,
        props: &str,
        bind: &str,
        mode: Mode,
        helpers: bool,
    ) -> Self {
        Proof {
            name: name.to_string(),
            design,
            props: props.to_string(),
            bind: bind.to_string(),
            mode,
            multiclock: false,
            defines: if helpers {
                vec!["HELPERS".into()]
            } else {
                vec![]
            },
            script: vec![],
        }
    }
}

/// What SymbiYosys concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every assertion holds (for all time with `Prove`, within the bound
    /// with `Bmc`).
    Pass,
    /// An assertion fails; the failing assertions as SymbiYosys names them.
    Fail {
        /// `Assert failed in top.props: props.sv:<line>...` lines.
        failed: Vec<String>,
    },
}

/// A finished run.
#[derive(Clone, Debug)]
pub struct ProofRun {
    /// The verdict.
    pub verdict: Verdict,
    /// Wall-clock seconds SymbiYosys took.
    pub seconds: f64,
    /// Where the files and the log are.
    pub dir: PathBuf,
    /// The last lines of the log.
    pub tail: String,
}

/// A proof could not be run to a verdict.
#[derive(Debug, thiserror::Error)]
pub enum FormalError {
    /// A tool is missing.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// The property module could not be bound into the design.
    #[error("proof '{name}': {reason}")]
    Bind {
        /// The proof.
        name: String,
        /// Why.
        reason: String,
    },
    /// SymbiYosys ended without PASS or FAIL (an error, or an induction
    /// that did not close).
    #[error("proof '{name}': SymbiYosys ended with {status}\nlog: {log}\n{tail}")]
    Inconclusive {
        /// The proof.
        name: String,
        /// The `DONE (...)` status, or the exit code.
        status: String,
        /// The log file.
        log: String,
        /// Its last lines.
        tail: String,
    },
    /// Filesystem trouble.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// SymbiYosys gives up after this many seconds (status TIMEOUT, an
/// [`FormalError::Inconclusive`]): no proof here takes a tenth of it.
const TIMEOUT_S: u32 = 600;

/// The marker rust-hdl writes at the end of the top module.
const TOP_END: &str = "endmodule // top\n";

/// `design` with `bind` inserted as the last statement of module `top`.
///
/// Every signal the bind connects by name (`.port(name)`) must be declared
/// in the design or in the bind itself: Verilog would otherwise make it an
/// implicit 1-bit wire, and the properties would watch nothing.
pub fn bind_into_top(design: &str, bind: &str) -> Result<String, String> {
    let n = design.matches(TOP_END).count();
    if n != 1 {
        return Err(format!(
            "the design has {n} occurrences of '{}' (expected exactly one)",
            TOP_END.trim_end()
        ));
    }
    let undeclared: Vec<&str> = bound_names(bind)
        .into_iter()
        .filter(|name| {
            let decl = format!(" {name};");
            !design.contains(&decl) && !bind.contains(&decl)
        })
        .collect();
    if !undeclared.is_empty() {
        return Err(format!(
            "the bind connects signals the design does not declare: {}",
            undeclared.join(", ")
        ));
    }
    Ok(design.replacen(TOP_END, &format!("{bind}\n{TOP_END}"), 1))
}

/// The plain identifiers connected in `.port(identifier)` in `bind`.
fn bound_names(bind: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = bind;
    while let Some(i) = rest.find('.') {
        rest = &rest[i + 1..];
        let Some(open) = rest.find('(') else { break };
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        let inner = rest[open + 1..open + close].trim();
        let plain = !inner.is_empty()
            && !inner.starts_with(|c: char| c.is_ascii_digit())
            && inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        if plain
            && rest[..open]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            out.push(inner);
        }
        rest = &rest[open + close..];
    }
    out
}

/// `design` with `from` replaced by `to`, which must occur exactly once:
/// a mutation that cannot silently miss.
pub fn mutate(design: &str, from: &str, to: &str) -> String {
    let n = design.matches(from).count();
    assert_eq!(
        n, 1,
        "mutation target {from:?} occurs {n} times in the design (expected exactly one)"
    );
    design.replacen(from, to, 1)
}

fn sby_text(p: &Proof) -> String {
    let (mode, depth) = match p.mode {
        Mode::Prove { depth } => ("prove", depth),
        Mode::Bmc { depth } => ("bmc", depth),
    };
    let multiclock = if p.multiclock { "multiclock on\n" } else { "" };
    let defines: String = p.defines.iter().map(|d| format!(" -D{d}")).collect();
    let script: String = p.script.iter().map(|c| format!("{c}\n")).collect();
    format!(
        "[options]\nmode {mode}\ndepth {depth}\ntimeout {TIMEOUT_S}\n{multiclock}\n\
         [engines]\nsmtbmc yices\n\n\
         [script]\n\
         read_verilog -sv -formal{defines} props.sv\n\
         read_verilog -sv -formal design.v\n\
         prep -top top\n{script}\n\
         [files]\ndesign.v\nprops.sv\n"
    )
}

fn tail_of(text: &str, lines: usize) -> String {
    let v: Vec<&str> = text.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// Runs one proof under `build/formal/<name>/`.
pub fn run(p: &Proof) -> Result<ProofRun, FormalError> {
    let sby = tools::resolve(Tool::Sby)?;
    let yosys = tools::resolve(Tool::Yosys)?;
    let smtbmc = tools::resolve(Tool::Smtbmc)?;
    let yices = tools::resolve(Tool::Yices)?;
    let dir = tools::build_dir().join("formal").join(&p.name);
    let io = |what: &Path, e| FormalError::Io(what.display().to_string(), e);
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let design = bind_into_top(&p.design, &p.bind).map_err(|reason| FormalError::Bind {
        name: p.name.clone(),
        reason,
    })?;
    for (file, text) in [
        ("design.v", design.as_str()),
        ("props.sv", p.props.as_str()),
        ("proof.sby", sby_text(p).as_str()),
    ] {
        let f = dir.join(file);
        std::fs::write(&f, text).map_err(|e| io(&f, e))?;
    }
    // yosys-smtbmc finds the solver on PATH: put the resolved one first.
    let solver_dir = yices.path.parent().unwrap_or(Path::new("/"));
    let mut path = vec![solver_dir.to_path_buf()];
    if let Some(old) = std::env::var_os("PATH") {
        path.extend(std::env::split_paths(&old));
    }
    let path = std::env::join_paths(path).expect("PATH entries without ':'");
    let log = dir.join("sby.log");
    let t0 = Instant::now();
    let out = Command::new(&sby.path)
        .args(["-f", "proof.sby"])
        .current_dir(&dir)
        .env("YOSYS", &yosys.path)
        .env("SMTBMC", &smtbmc.path)
        .env("PATH", path)
        .output()
        .map_err(|e| io(&sby.path, e))?;
    let seconds = t0.elapsed().as_secs_f64();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&log, &text).map_err(|e| io(&log, e))?;
    let tail = tail_of(&text, 30);
    let done = text
        .lines()
        .rev()
        .find_map(|l| l.split_once("DONE (").map(|(_, r)| r.to_string()));
    let failed: Vec<String> = text
        .lines()
        .filter(|l| l.contains("Assert failed in") || l.contains("failed assertion"))
        .map(|l| l.trim().to_string())
        .collect();
    let verdict = match (out.status.code(), done.as_deref()) {
        (Some(0), Some(d)) if d.starts_with("PASS") => Verdict::Pass,
        (Some(2), Some(d)) if d.starts_with("FAIL") => Verdict::Fail { failed },
        (code, d) => {
            return Err(FormalError::Inconclusive {
                name: p.name.clone(),
                status: match d {
                    Some(d) => format!("DONE ({d}"),
                    None => format!("exit code {code:?} and no DONE line"),
                },
                log: log.display().to_string(),
                tail,
            })
        }
    };
    Ok(ProofRun {
        verdict,
        seconds,
        dir,
        tail,
    })
}

/// Runs `p` and panics, with the log's tail, unless it passes.
pub fn assert_proved(p: &Proof) -> ProofRun {
    let r = run(p).unwrap_or_else(|e| panic!("{e}"));
    match &r.verdict {
        Verdict::Pass => {
            println!("{}: PASS ({:?}) in {:.1} s", p.name, p.mode, r.seconds);
            r
        }
        Verdict::Fail { failed } => panic!(
            "proof '{}' FAILED: {}\nlog and counterexample trace in {}\n{}",
            p.name,
            failed.join("; "),
            r.dir.display(),
            r.tail
        ),
    }
}

/// Runs `p`, a mutated design, and panics unless its proof fails with a
/// counterexample (an inconclusive run or a pass is a broken test).
pub fn assert_refuted(p: &Proof) -> ProofRun {
    let r = run(p).unwrap_or_else(|e| panic!("{e}"));
    match &r.verdict {
        Verdict::Fail { failed } => {
            println!(
                "{}: FAIL as it must ({:?}) in {:.1} s: {}",
                p.name,
                p.mode,
                r.seconds,
                failed.join("; ")
            );
            r
        }
        Verdict::Pass => panic!(
            "mutant '{}' PASSED its proof: the properties do not catch this bug\n{}",
            p.name, r.tail
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESIGN: &str =
        "module top(a, b$x);\n    input wire a;\n    output reg b$x;\nendmodule // top\n";

    #[test]
    fn bind_goes_before_the_end_of_top() {
        let d = bind_into_top(DESIGN, "    p props(.a(a), .x(b$x));").unwrap();
        assert!(d.ends_with("    p props(.a(a), .x(b$x));\nendmodule // top\n"));
    }

    #[test]
    fn bind_of_an_undeclared_signal_is_refused() {
        let e = bind_into_top(DESIGN, "    p props(.a(a), .x(b_x), .y(y$q));").unwrap_err();
        assert!(e.contains("b_x, y$q"), "{e}");
    }

    #[test]
    fn bind_may_declare_its_own_wires_and_use_parameters() {
        let bind = "    wire [3:0] tap;\n    p #(.T(5)) props(.a(a), .t(tap));";
        assert!(bind_into_top(DESIGN, bind).is_ok());
    }

    #[test]
    fn bind_needs_exactly_one_top() {
        assert!(bind_into_top("module x();\nendmodule\n", "").is_err());
    }

    #[test]
    fn mutation_replaces_the_one_occurrence() {
        assert_eq!(mutate("a = b;", "b", "c"), "a = c;");
    }

    #[test]
    #[should_panic(expected = "occurs 2 times")]
    fn mutation_target_must_be_unique() {
        mutate("b = b;", "b", "c");
    }

    #[test]
    fn sby_file_states_mode_depth_and_script() {
        let p = Proof {
            name: "x".into(),
            design: String::new(),
            props: String::new(),
            bind: String::new(),
            mode: Mode::Prove { depth: 3 },
            multiclock: true,
            defines: vec!["HELPERS".into()],
            script: vec!["cutpoint top$u".into()],
        };
        let t = sby_text(&p);
        for want in [
            "mode prove\n",
            "depth 3\n",
            "multiclock on\n",
            "-DHELPERS props.sv",
            "prep -top top\ncutpoint top$u\n",
        ] {
            assert!(t.contains(want), "{want:?} missing in\n{t}");
        }
    }
}

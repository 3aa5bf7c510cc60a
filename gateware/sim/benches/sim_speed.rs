//! Simulation speed: simulated word clocks per second of the loop core
//! ([`LoopSim`]: loop core and inference engine in Verilator, plus the fiber
//! model) and of the simulated board ([`BoardSim`]: the board top with the
//! command engine, both host links and the FT2232H chip model), at 1, 10 and
//! 25 km with a bit error ratio of 1e-4. Prints medians and the ratio to a
//! real board (125 M word clocks per second); asserts nothing about speed.
//!
//!     cargo bench -p fiberloop-sim --bench sim_speed [-- CLOCKS [FILTER [RUNS]]]
//!
//! `CLOCKS` (default 100,000) is the length of one timed run; `RUNS`
//! (default 5) runs per configuration. `FILTER` keeps the configurations whose name contains it
//! (`loop`, `board`, `25km`, ...). Wall time counts whatever else the machine
//! does; CPU time (this thread's time on a core, from the kernel's
//! scheduler statistics) does not, so on a shared machine it is the figure
//! to compare. The fiber model's own share is timed by running a copy of it
//! alone on the same number of words.
//!
//! The board runs with its loop empty (the command engine idle, the link
//! quiet): Verilator evaluates the whole design on every clock whatever it
//! is doing, so this is within a few per cent of a busy board.

use fiberloop_sim::board_sim::{BoardConfig, BoardSim, HostLink};
use fiberloop_sim::fiber::{FiberConfig, FiberSpool};
use fiberloop_sim::loop_sim::LoopSim;
use std::time::Instant;

/// Word clocks per second of the real board.
const BOARD_WORD_CLOCK: f64 = 125e6;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// This thread's time on a CPU so far, seconds (wall time where the kernel
/// does not say).
fn cpu_seconds(wall_start: Instant) -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(|ns| ns as f64 * 1e-9)
        .unwrap_or_else(|| wall_start.elapsed().as_secs_f64())
}

fn fiber(km: f64) -> FiberConfig {
    FiberConfig {
        length_m: km * 1000.0,
        ber: 1e-4,
        seed: 15,
        ..Default::default()
    }
}

/// Times `run(clocks)` `runs` times: (median wall, median CPU) in word
/// clocks per second.
fn time_runs(runs: usize, clocks: u64, mut run: impl FnMut(u64)) -> (f64, f64) {
    let origin = Instant::now();
    let (mut wall, mut cpu) = (vec![], vec![]);
    for _ in 0..runs {
        let (t, c) = (Instant::now(), cpu_seconds(origin));
        timed_run(&mut run, clocks);
        wall.push(clocks as f64 / t.elapsed().as_secs_f64());
        cpu.push(clocks as f64 / (cpu_seconds(origin) - c).max(1e-9));
    }
    (median(wall), median(cpu))
}

/// The timed part, on its own symbol so that callgrind can count only it:
/// `valgrind --tool=callgrind --toggle-collect='*timed_run*' BENCH ...`.
#[inline(never)]
fn timed_run(run: &mut dyn FnMut(u64), clocks: u64) {
    run(clocks);
}

/// CPU seconds per word of the fiber model alone (same settings, random
/// TX words).
fn fiber_seconds_per_word(spool: &FiberSpool, clocks: u64) -> f64 {
    let mut s = spool.clone();
    let origin = Instant::now();
    let c = cpu_seconds(origin);
    let mut x = 0x1234_5678u32;
    let mut sink = 0u32;
    for _ in 0..clocks {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        sink ^= s.step(x & 0xF_FFFF).bits;
    }
    std::hint::black_box(sink);
    (cpu_seconds(origin) - c) / clocks as f64
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let clocks: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let filter = args.get(1).cloned().unwrap_or_default();
    let runs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5).max(1);
    println!("{clocks} word clocks per run, median of {runs} runs, BER 1e-4");
    println!(
        "{:<14} {:>12} {:>12} {:>14} {:>12}",
        "config", "wall Mwc/s", "CPU Mwc/s", "board/sim (CPU)", "fiber share"
    );
    for km in [1.0, 10.0, 25.0] {
        for what in ["loop", "board"] {
            let name = format!("{what} {km}km");
            if !name.replace(' ', "").contains(&filter.replace(' ', "")) {
                continue;
            }
            let (wall, cpu, fiber_s) = if what == "loop" {
                let mut sim = LoopSim::new(fiber(km)).expect("loop model");
                sim.fill(10_000_000).expect("fill");
                let f = fiber_seconds_per_word(sim.fiber(), clocks);
                let (w, c) = time_runs(runs, clocks, |n| sim.run(n));
                (w, c, f)
            } else {
                let cfg = BoardConfig::for_baud(3_000_000).with_link(HostLink::Usb);
                let mut sim = BoardSim::new(fiber(km), cfg).expect("board model");
                sim.run(10_000);
                let f = fiber_seconds_per_word(sim.fiber(), clocks);
                let (w, c) = time_runs(runs, clocks, |n| sim.run(n));
                (w, c, f)
            };
            println!(
                "{:<14} {:>12.3} {:>12.3} {:>14.0} {:>11.1}%",
                name,
                wall / 1e6,
                cpu / 1e6,
                BOARD_WORD_CLOCK / cpu,
                100.0 * fiber_s * cpu
            );
        }
    }
    println!();
    println!("Mwc/s: million simulated word clocks per second; board/sim: how many times");
    println!("slower than a real board (125 M word clocks/s); fiber share: the fiber");
    println!("model's own CPU time per word over the whole simulation's.");
}

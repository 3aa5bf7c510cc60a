//! Figures of inference from the light: MAC utilisation while the weight
//! segments pass, inferences per lap and per second of fiber time (measured
//! on the simulated loop with the shipped models), and the ECP5 resources
//! of the inference engine from yosys. Prints; asserts nothing about speed.
//!
//!     cargo bench -p fiberloop-tests --bench inference

use fiberloop::model::Network;
use fiberloop_gateware::infer::engine::InferenceEngine;
use fiberloop_gateware::loopctl::controller::LATENCY;
use fiberloop_gateware::mac::array::{MacArray, WEIGHTS_PER_WORD};
use fiberloop_gateware::top::loop_core::ENGINE_BATCH;
use fiberloop_sim::fiber::FiberConfig;
use fiberloop_sim::loop_sim::LoopSim;
use fiberloop_spec::layout::Params;
use rust_hdl::prelude::Block;
use std::path::PathBuf;
use std::time::Instant;

/// Word clock period, ns.
const CLOCK_NS: f64 = 8.0;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn model(name: &str, km: f64, batches: usize) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name);
    let net = Network::load(dir.join("model.safetensors")).unwrap();
    let inputs = net.read_inputs(dir.join("inputs.npy")).unwrap();
    let mut s = LoopSim::new(FiberConfig {
        length_m: km * 1000.0,
        ..Default::default()
    })
    .unwrap();
    let st = s.fill(2_000_000).unwrap();
    let plan = net.plan(Params::default(), st.slots as usize).unwrap();
    // Utilisation: useful MACs over the MACs offered while weight words of
    // a layer pass (B x w per word; rows padded to the stride).
    let (mut useful, mut offered) = (0u64, 0u64);
    for (l, pl) in net.layers().iter().zip(&plan.layers) {
        let u = (ENGINE_BATCH * l.inputs() * l.outputs()) as u64;
        let o = (ENGINE_BATCH * WEIGHTS_PER_WORD * pl.row_words * pl.outputs) as u64;
        println!(
            "  {name} layer {}x{}: row stride {} words, MAC utilisation {:.4}",
            l.inputs(),
            l.outputs(),
            pl.row_words,
            u as f64 / o as f64
        );
        useful += u;
        offered += o;
    }
    for (slot, img) in net.slot_images(&plan).unwrap().iter().enumerate() {
        s.write_slot(slot as u32, img).unwrap();
    }
    let layers = net.engine_layers(&plan);
    s.load_network(&layers).unwrap();
    let lap = (s.stats().delay_clocks + LATENCY) as f64;
    let mut per_batch = vec![];
    let t0 = Instant::now();
    let c0 = s.clocks();
    for b in 0..batches {
        let rows: Vec<Vec<i8>> = (0..ENGINE_BATCH)
            .map(|i| inputs.row((b * ENGINE_BATCH + i) % inputs.rows()).to_vec())
            .collect();
        let out = s.infer_batch(&rows, net.output_width()).unwrap();
        per_batch.push(out.clocks as f64);
    }
    let wall = t0.elapsed().as_secs_f64();
    let clocks = median(per_batch);
    println!(
        "  {name}: {km} km loop, {} slots ({} for weights), lap {lap:.0} clocks; \
         utilisation over the network {:.4}",
        st.slots,
        plan.total_slots,
        useful as f64 / offered as f64
    );
    println!(
        "  {name}: median {clocks:.0} clocks per batch of {ENGINE_BATCH} from start to done \
         ({:.2} laps): {:.2} inferences per lap, {:.0} inferences per second of fiber time; \
         simulated at {:.3} M word clocks/s",
        clocks / lap,
        ENGINE_BATCH as f64 * lap / clocks,
        ENGINE_BATCH as f64 / (clocks * CLOCK_NS * 1e-9),
        (s.clocks() - c0) as f64 / wall / 1e6
    );
}

fn main() {
    println!("inference from the light (B = {ENGINE_BATCH}, w = {WEIGHTS_PER_WORD}):");
    model("digits", 2.0, 9);
    model("mnist", 23.0, 5);
    println!("ECP5 resources (yosys synth_ecp5):");
    let mut array = MacArray::<ENGINE_BATCH>::default();
    array.connect_all();
    let r = fiberloop_harness::synth::synth_block(&array, "bench_mac_array").unwrap();
    println!(
        "  MAC array + requantiser: {} LUT4, {} FF, {} MULT18X18D, {} DP16KD",
        r.luts(),
        r.ffs(),
        r.dsps(),
        r.brams()
    );
    let mut engine = InferenceEngine::<ENGINE_BATCH>::default();
    engine.connect_all();
    let r = fiberloop_harness::synth::synth_block(&engine, "bench_inference_engine").unwrap();
    println!(
        "  whole engine (sequencer, parameters, activations, array): {} LUT4, {} FF, \
         {} MULT18X18D, {} DP16KD (LFE5UM5G-45F: 43,848 / 72 / 108)",
        r.luts(),
        r.ffs(),
        r.dsps(),
        r.brams()
    );
}

//! Inference from the light: the shipped int8 models run through the
//! simulated loop (the loop core in Verilator, its payload tap feeding the
//! inference engine) and the fiber model; every output must equal the
//! reference, and the weights must really be read from the loop.

use fiberloop::model::{read_int8_matrix, Int8Matrix, Network};
use fiberloop_gateware::infer::engine::DRAIN_CLOCKS;
use fiberloop_gateware::top::loop_core::ENGINE_BATCH;
use fiberloop_sim::fiber::FiberConfig;
use fiberloop_sim::loop_sim::LoopSim;
use fiberloop_spec::layout::{Cell, Params, SLOT_BYTES};
use fiberloop_spec::quant::dot;
use std::path::PathBuf;

fn data_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn labels(name: &str) -> Vec<usize> {
    let bytes = std::fs::read(data_dir(name).join("labels.npy")).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    npy.into_vec::<u8>()
        .unwrap()
        .into_iter()
        .map(usize::from)
        .collect()
}

/// The README's `correct = N` line (what the training script measured).
fn readme_correct(name: &str) -> usize {
    let text = std::fs::read_to_string(data_dir(name).join("README.md")).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("`correct = "))
        .expect("README has a `correct = N` line");
    line.trim_end_matches('`').parse().unwrap()
}

/// A loop of `km` holding `net`: filled, the weight slots written, the
/// network's parameters loaded into the engine. Returns the simulator, the
/// plan's slot images and the engine layers.
fn loaded(net: &Network, km: f64) -> (LoopSim, fiberloop::model::Plan, Vec<[u8; SLOT_BYTES]>) {
    let mut s = LoopSim::new(FiberConfig {
        length_m: km * 1000.0,
        ..Default::default()
    })
    .unwrap();
    let st = s.fill(2_000_000).unwrap();
    let params = Params::default();
    assert_eq!(params.batch, ENGINE_BATCH);
    assert!(params.gap_words >= DRAIN_CLOCKS + 2);
    let plan = net.plan(params, st.slots as usize).unwrap();
    let images = net.slot_images(&plan).unwrap();
    for (slot, img) in images.iter().enumerate() {
        s.write_slot(slot as u32, img).unwrap();
    }
    let layers = net.engine_layers(&plan);
    s.load_network(&layers).unwrap();
    (s, plan, images)
}

/// Runs every shipped input through the loop; checks every output against
/// the expected file and the accuracy against the README.
fn run_model(name: &str, km: f64) {
    let dir = data_dir(name);
    let net = Network::load(dir.join("model.safetensors")).unwrap();
    let inputs = net.read_inputs(dir.join("inputs.npy")).unwrap();
    let expected = read_int8_matrix(dir.join("expected.npy")).unwrap();
    let labels = labels(name);
    let (mut s, plan, _) = loaded(&net, km);
    let rows: Vec<Vec<i8>> = (0..inputs.rows()).map(|r| inputs.row(r).to_vec()).collect();
    let mut correct = 0;
    let mut clocks = 0;
    for (n, batch) in rows.chunks(ENGINE_BATCH).enumerate() {
        let out = s.infer_batch(batch, net.output_width()).unwrap();
        assert!(!out.bad, "batch {n}");
        clocks += out.clocks;
        let flat: Vec<i8> = out.outputs.concat();
        let predicted = Int8Matrix::new(batch.len(), net.output_width(), flat)
            .unwrap()
            .argmax();
        for (i, o) in out.outputs.iter().enumerate() {
            let r = n * ENGINE_BATCH + i;
            assert_eq!(&o[..], expected.row(r), "{name}: input {r}");
            correct += (predicted[i] == labels[r]) as usize;
        }
    }
    let st = s.stats();
    let batches = rows.len().div_ceil(ENGINE_BATCH);
    let lap = st.delay_clocks + fiberloop_gateware::loopctl::controller::LATENCY;
    eprintln!(
        "{name}: {} inputs through a {km} km loop of {} slots ({} for the weights): \
         {correct} correct; {batches} batches in {clocks} word clocks ({:.2} laps per batch)",
        rows.len(),
        st.slots,
        plan.total_slots,
        clocks as f64 / batches as f64 / lap as f64
    );
    assert_eq!(correct, readme_correct(name), "{name}");
    assert_eq!((st.uncorrectable, st.crc_failures), (0, 0));
}

#[test]
fn the_digits_model_runs_through_the_loop_bit_exact() {
    // 64-32-10 needs 12 slots: 2 km holds 13.
    run_model("digits", 2.0);
}

#[test]
fn the_mnist_model_runs_through_the_loop_bit_exact() {
    // 784-32-10 needs 113 slots: 23 km holds 114.
    run_model("mnist", 23.0);
}

/// The reference with the network's weights replaced by `w` (per layer,
/// row-major [out][in]).
fn reference(net: &Network, w: &[Vec<i8>], x: &[i8]) -> Vec<i8> {
    let mut a = x.to_vec();
    for (l, wl) in net.layers().iter().zip(w) {
        let k = l.inputs();
        a = (0..l.outputs())
            .map(|j| l.requant()[j].apply(dot(l.folded_bias()[j], &a, &wl[j * k..(j + 1) * k])))
            .collect();
    }
    a
}

#[test]
fn overwriting_a_weight_slot_changes_the_outputs_as_the_reference_predicts() {
    let name = "digits";
    let dir = data_dir(name);
    let net = Network::load(dir.join("model.safetensors")).unwrap();
    let inputs = net.read_inputs(dir.join("inputs.npy")).unwrap();
    let batch: Vec<Vec<i8>> = (0..ENGINE_BATCH).map(|r| inputs.row(r).to_vec()).collect();
    let (mut s, plan, images) = loaded(&net, 2.0);
    let before = s.infer_batch(&batch, net.output_width()).unwrap();
    let mut w: Vec<Vec<i8>> = net.layers().iter().map(|l| l.weights().to_vec()).collect();
    for (x, o) in batch.iter().zip(&before.outputs) {
        assert_eq!(o, &reference(&net, &w, x));
    }
    // Change weights of layer 1 (the output layer) in its first slot until
    // the reference says the outputs change; write that slot to the loop.
    let pl = &plan.layers[1];
    let slot = pl.first_slot;
    let mut img = images[slot];
    let k = net.layers()[1].inputs();
    let mut byte = 0;
    loop {
        if let Some(Cell::Weight { row, input }) = pl.cell(slot, byte) {
            let v = w[1][row * k + input].wrapping_add(100);
            w[1][row * k + input] = v;
            img[byte] = v as u8;
            let changed = batch
                .iter()
                .zip(&before.outputs)
                .any(|(x, o)| &reference(&net, &w, x) != o);
            if changed {
                break;
            }
        }
        byte += 1;
        assert!(
            byte < SLOT_BYTES,
            "no weight in slot {slot} changes the outputs"
        );
    }
    s.write_slot(slot as u32, &img).unwrap();
    let after = s.infer_batch(&batch, net.output_width()).unwrap();
    assert!(!after.bad);
    assert_ne!(after.outputs, before.outputs);
    for (x, o) in batch.iter().zip(&after.outputs) {
        assert_eq!(o, &reference(&net, &w, x));
    }
    eprintln!(
        "{} weight bytes of slot {slot} changed: outputs follow the reference",
        byte + 1
    );
}

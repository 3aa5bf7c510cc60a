//! The shipped test models (tests/data/, made by scripts/train_mnist.py):
//! the Rust reference inference must reproduce the Python integer inference
//! bit for bit, and its accuracy must be the figure the README records.

use std::path::PathBuf;

use fiberloop::model::{read_int8_matrix, Network};
use fiberloop_spec::layout::Params;

fn data_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(name)
}

fn labels(name: &str) -> Vec<usize> {
    let path = data_dir(name).join("labels.npy");
    let bytes = std::fs::read(&path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    npy.into_vec::<u8>()
        .unwrap()
        .into_iter()
        .map(usize::from)
        .collect()
}

/// The README's `correct = N` line.
fn readme_correct(name: &str) -> usize {
    let text = std::fs::read_to_string(data_dir(name).join("README.md")).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("`correct = "))
        .expect("README has a `correct = N` line");
    line.trim_end_matches('`').parse().unwrap()
}

/// Returns the number of correct predictions.
fn check(name: &str, shape: &[(usize, usize)], rows: usize) -> usize {
    let dir = data_dir(name);
    let net = Network::load(dir.join("model.safetensors")).unwrap();
    let got: Vec<_> = net
        .layers()
        .iter()
        .map(|l| (l.inputs(), l.outputs()))
        .collect();
    assert_eq!(got, shape);
    let inputs = net.read_inputs(dir.join("inputs.npy")).unwrap();
    let expected = read_int8_matrix(dir.join("expected.npy")).unwrap();
    assert_eq!(inputs.rows(), rows);
    assert_eq!(
        (expected.rows(), expected.cols()),
        (rows, net.output_width())
    );

    let outputs = net.infer(&inputs).unwrap();
    for r in 0..rows {
        assert_eq!(outputs.row(r), expected.row(r), "{name}: input {r}");
    }
    // The traced path gives the same outputs.
    let traces = net.infer_traced(&inputs).unwrap();
    for (r, t) in traces.iter().enumerate() {
        assert_eq!(t.outputs.last().unwrap()[..], *expected.row(r));
    }

    let labels = labels(name);
    assert_eq!(labels.len(), rows);
    let correct = outputs
        .argmax()
        .iter()
        .zip(&labels)
        .filter(|(p, l)| p == l)
        .count();
    assert_eq!(
        correct,
        readme_correct(name),
        "{name}: accuracy differs from README"
    );
    correct
}

#[test]
fn mnist_matches_python_and_readme() {
    let correct = check("mnist", &[(784, 32), (32, 10)], 300);
    // A trained model, not a constant: well above chance.
    assert!(correct > 250, "{correct}");
    let net = Network::load(data_dir("mnist").join("model.safetensors")).unwrap();
    assert_eq!(net.weight_bytes(), 25_408);
    assert_eq!(net.bias_bytes(), 168);
    let plan = net.plan(Params::default(), 113).unwrap();
    assert_eq!(plan.total_slots, 113);
    assert!(net.plan(Params::default(), 112).is_err());
}

#[test]
fn digits_matches_python_and_readme() {
    let correct = check("digits", &[(64, 32), (32, 10)], 300);
    assert!(correct > 270, "{correct}");
    let net = Network::load(data_dir("digits").join("model.safetensors")).unwrap();
    assert_eq!(net.weight_bytes(), 2_368);
    let plan = net.plan(Params::default(), 12).unwrap();
    let images = net.slot_images(&plan).unwrap();
    assert_eq!(images.len(), 12);
    // w[0][0..4] at the start of slot 0; layer 1's w[0][0] at slot 10.
    let w0 = &net.layers()[0].row(0)[..4];
    assert_eq!(
        images[0][..4],
        w0.iter().map(|&v| v as u8).collect::<Vec<_>>()[..]
    );
    assert_eq!(images[10][0], net.layers()[1].row(0)[0] as u8);
}

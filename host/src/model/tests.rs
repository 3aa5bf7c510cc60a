//! Loader, inference and error tests on hand-made safetensors files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use fiberloop_spec::layout::Params;

use super::*;

/// A safetensors file under construction: tensors (dtype, shape, raw
/// little-endian bytes) and metadata.
#[derive(Clone)]
struct File {
    tensors: BTreeMap<String, (&'static str, Vec<usize>, Vec<u8>)>,
    meta: Option<BTreeMap<String, String>>,
}

fn i8s(v: &[i8]) -> Vec<u8> {
    v.iter().map(|&x| x as u8).collect()
}

fn i32s(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl File {
    /// Two layers: 3 -> 2 (ReLU, zp 3 -> -5), 2 -> 1 (zp -5 -> 0).
    fn good() -> File {
        let mut f = File {
            tensors: BTreeMap::new(),
            meta: Some(BTreeMap::new()),
        };
        f.layer(
            0,
            &[2, 3],
            &[1, -2, 3, 4, 5, -6],
            &[10, -20],
            &[1 << 30, 1 << 30],
            &[0, 1],
        );
        f.layer(1, &[1, 2], &[2, -1], &[27], &[1 << 30], &[0]);
        f.set("layers.0.input_zero_point", "3");
        f.set("layers.0.output_zero_point", "-5");
        f.set("layers.0.relu", "true");
        f.set("layers.1.input_zero_point", "-5");
        f.set("layers.1.output_zero_point", "0");
        f.set("layers.1.relu", "false");
        f
    }

    fn layer(&mut self, i: usize, shape: &[usize], w: &[i8], b: &[i32], m: &[i32], s: &[i8]) {
        let out = shape[0];
        self.put(&format!("layers.{i}.weight"), "I8", shape, i8s(w));
        self.put(&format!("layers.{i}.bias"), "I32", &[out], i32s(b));
        self.put(&format!("layers.{i}.multiplier"), "I32", &[out], i32s(m));
        self.put(&format!("layers.{i}.shift"), "I8", &[out], i8s(s));
    }

    fn put(&mut self, name: &str, dtype: &'static str, shape: &[usize], data: Vec<u8>) {
        self.tensors
            .insert(name.into(), (dtype, shape.to_vec(), data));
    }

    fn remove(&mut self, name: &str) {
        assert!(self.tensors.remove(name).is_some(), "{name}");
    }

    fn set(&mut self, key: &str, value: &str) {
        self.meta
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
    }

    fn unset(&mut self, key: &str) {
        assert!(self.meta.as_mut().unwrap().remove(key).is_some(), "{key}");
    }

    fn bytes(&self) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        if let Some(meta) = &self.meta {
            header.insert("__metadata__".into(), serde_json::json!(meta));
        }
        let mut data: Vec<u8> = Vec::new();
        for (name, (dtype, shape, bytes)) in &self.tensors {
            let start = data.len();
            data.extend(bytes);
            header.insert(
                name.clone(),
                serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [start, data.len()]}),
            );
        }
        let text = serde_json::to_vec(&header).unwrap();
        let mut out = (text.len() as u64).to_le_bytes().to_vec();
        out.extend(text);
        out.extend(data);
        out
    }

    /// Write to a temporary directory and load.
    fn load(&self) -> Result<Network, ModelError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        std::fs::write(&path, self.bytes()).unwrap();
        Network::load(&path)
    }
}

/// Load, expect an error matching `check`, and check that the message
/// names the file and every string in `names`.
fn expect_err(f: &File, names: &[&str], check: impl Fn(&ModelError) -> bool) -> String {
    let e = f.load().expect_err("loading should fail");
    let msg = e.to_string();
    assert!(check(&e), "unexpected error: {msg}");
    assert!(msg.contains("model.safetensors"), "no file name: {msg}");
    for n in names {
        assert!(msg.contains(n), "message lacks {n:?}: {msg}");
    }
    msg
}

#[test]
fn good_file_loads_and_folds_bias() {
    let n = File::good().load().unwrap();
    assert_eq!(n.layers().len(), 2);
    assert_eq!((n.input_width(), n.output_width()), (3, 1));
    assert_eq!(n.input_zero_point(), 3);
    let l0 = &n.layers()[0];
    assert_eq!(l0.row(1), &[4, 5, -6]);
    assert_eq!(l0.bias(), &[10, -20]);
    // 10 - 3 * (1 - 2 + 3), -20 - 3 * (4 + 5 - 6)
    assert_eq!(l0.folded_bias(), &[4, -29]);
    assert_eq!(n.layers()[1].folded_bias(), &[32]);
    assert_eq!(l0.requant()[1].shift, 1);
    assert!(l0.relu() && !n.layers()[1].relu());
    assert_eq!(n.weight_bytes(), 8);
    assert_eq!(n.bias_bytes(), 12);
    assert_eq!(n.requant_bytes(), 15);
}

/// Worked by hand: x = [10, 0, -4].
/// acc0 = 4 + 10 - 12 = 2 -> srdhm(2, 2^30) = 1 -> -5 + 1 = -4;
/// acc1 = -29 + 40 + 24 = 35 -> srdhm = round(17.5) = 18 -> rdbpot(18, 1) = 9
/// -> -5 + 9 = 4; layer 1: acc = 32 - 8 - 4 = 20 -> 10 -> 10.
#[test]
fn inference_by_hand() {
    let n = File::good().load().unwrap();
    let t = n.trace_one(&[10, 0, -4]).unwrap();
    assert_eq!(t.accumulators, vec![vec![2, 35], vec![20]]);
    assert_eq!(t.outputs, vec![vec![-4, 4], vec![10]]);
    assert_eq!(n.infer_one(&[10, 0, -4]).unwrap(), vec![10]);
    // ReLU clamps at the zero point -5; saturation at 127.
    let t = n.trace_one(&[-100, 100, -100]).unwrap();
    assert_eq!(t.outputs[0][0], -5);
    let x = Int8Matrix::new(2, 3, vec![10, 0, -4, 127, -128, 127]).unwrap();
    let y = n.infer(&x).unwrap();
    assert_eq!((y.rows(), y.cols()), (2, 1));
    assert_eq!(y.row(0), &[10]);
    assert_eq!(y.row(1)[0], n.infer_one(&[127, -128, 127]).unwrap()[0]);
    let traces = n.infer_traced(&x).unwrap();
    assert_eq!(traces[0], n.trace_one(&[10, 0, -4]).unwrap());
}

/// The folded accumulators equal bias + sum (x - zp_in) * w computed
/// directly in i64, for many inputs.
#[test]
fn folded_bias_matches_unfolded_sum() {
    let n = File::good().load().unwrap();
    for a in (-128..=127).step_by(5) {
        for b in (-128..=127).step_by(7) {
            let x = [a as i8, b as i8, (a ^ b) as i8];
            let t = n.trace_one(&x).unwrap();
            let mut input: Vec<i8> = x.to_vec();
            for (k, layer) in n.layers().iter().enumerate() {
                for j in 0..layer.outputs() {
                    let direct: i64 = layer.bias()[j] as i64
                        + input
                            .iter()
                            .zip(layer.row(j))
                            .map(|(&x, &w)| (x as i64 - layer.input_zero_point() as i64) * w as i64)
                            .sum::<i64>();
                    assert_eq!(
                        t.accumulators[k][j] as i64, direct,
                        "layer {k} row {j} x {x:?}"
                    );
                }
                input = t.outputs[k].clone();
            }
        }
    }
}

#[test]
fn wrong_input_width_is_refused() {
    let n = File::good().load().unwrap();
    assert!(matches!(
        n.infer_one(&[1, 2]),
        Err(ModelError::InputWidth {
            expected: 3,
            found: 2,
            ..
        })
    ));
    let x = Int8Matrix::new(1, 4, vec![0; 4]).unwrap();
    assert!(matches!(n.infer(&x), Err(ModelError::InputWidth { .. })));
    assert!(matches!(
        n.infer_traced(&x),
        Err(ModelError::InputWidth { .. })
    ));
}

#[test]
fn read_inputs_checks_width() {
    let n = File::good().load().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.npy");
    write_int8_matrix(&p, &Int8Matrix::new(2, 3, vec![1; 6]).unwrap()).unwrap();
    assert_eq!(n.read_inputs(&p).unwrap().rows(), 2);
    write_int8_matrix(&p, &Int8Matrix::new(2, 4, vec![1; 8]).unwrap()).unwrap();
    let e = n.read_inputs(&p).unwrap_err();
    assert!(
        matches!(
            e,
            ModelError::NpyWidth {
                expected: 3,
                found: 4,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("x.npy"));
    // Outputs written and read back.
    let y = n
        .infer(&Int8Matrix::new(1, 3, vec![10, 0, -4]).unwrap())
        .unwrap();
    let q = dir.path().join("y.npy");
    write_int8_matrix(&q, &y).unwrap();
    assert_eq!(read_int8_matrix(&q).unwrap(), y);
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = Network::load(dir.path().join("nothing.safetensors")).unwrap_err();
    assert!(matches!(e, ModelError::Io { .. }), "{e}");
    assert!(e.to_string().contains("nothing.safetensors"), "{e}");
}

#[test]
fn truncated_or_not_safetensors() {
    let good = File::good().bytes();
    let path = PathBuf::from("model.safetensors");
    for bytes in [
        &good[..good.len() - 1],
        &good[..good.len() / 2],
        &good[..5],
        b"definitely not a safetensors file".as_slice(),
        &[],
    ] {
        let e = Network::from_bytes(bytes, &path).unwrap_err();
        assert!(matches!(e, ModelError::NotSafetensors { .. }), "{e}");
        assert!(e.to_string().contains("model.safetensors"), "{e}");
    }
    assert!(Network::from_bytes(&good, &path).is_ok());
}

#[test]
fn wrong_dtype() {
    let mut f = File::good();
    f.put("layers.0.weight", "I16", &[2, 3], vec![0; 12]);
    expect_err(&f, &["layers.0.weight", "I16", "I8"], |e| {
        matches!(e, ModelError::Dtype { .. })
    });
    let mut f = File::good();
    f.put("layers.1.bias", "F32", &[1], vec![0; 4]);
    expect_err(&f, &["layers.1.bias", "F32"], |e| {
        matches!(e, ModelError::Dtype { .. })
    });
    let mut f = File::good();
    f.put("layers.0.shift", "U8", &[2], vec![0; 2]);
    expect_err(&f, &["layers.0.shift"], |e| {
        matches!(e, ModelError::Dtype { .. })
    });
}

#[test]
fn wrong_rank_or_shape() {
    let shape_err = |e: &ModelError| matches!(e, ModelError::Shape { .. });
    let mut f = File::good();
    f.put("layers.0.weight", "I8", &[6], vec![0; 6]);
    expect_err(&f, &["layers.0.weight", "[6]"], shape_err);
    let mut f = File::good();
    f.put("layers.0.weight", "I8", &[0, 3], vec![]);
    expect_err(&f, &["layers.0.weight"], shape_err);
    let mut f = File::good();
    f.put("layers.0.bias", "I32", &[3], i32s(&[1, 2, 3]));
    expect_err(&f, &["layers.0.bias", "[3]", "[2]"], shape_err);
    let mut f = File::good();
    f.put("layers.1.multiplier", "I32", &[1, 1], i32s(&[1]));
    expect_err(&f, &["layers.1.multiplier"], shape_err);
}

#[test]
fn missing_layer_tensor() {
    for field in ["weight", "bias", "multiplier", "shift"] {
        let mut f = File::good();
        let name = format!("layers.1.{field}");
        f.remove(&name);
        expect_err(&f, &[&name, "missing"], |e| {
            matches!(e, ModelError::MissingTensor { layer: 1, .. })
        });
    }
}

#[test]
fn missing_or_bad_metadata() {
    let mut f = File::good();
    f.unset("layers.0.relu");
    expect_err(&f, &["layers.0.relu", "missing"], |e| {
        matches!(e, ModelError::MissingMetadata { .. })
    });
    let mut f = File::good();
    f.unset("layers.1.output_zero_point");
    expect_err(&f, &["layers.1.output_zero_point"], |e| {
        matches!(e, ModelError::MissingMetadata { .. })
    });
    let mut f = File::good();
    f.meta = None;
    expect_err(&f, &["layers.0.input_zero_point"], |e| {
        matches!(e, ModelError::MissingMetadata { .. })
    });
    let mut f = File::good();
    f.set("layers.0.input_zero_point", "three");
    expect_err(
        &f,
        &["layers.0.input_zero_point", "three", "not an integer"],
        |e| matches!(e, ModelError::BadMetadata { .. }),
    );
    let mut f = File::good();
    f.set("layers.1.relu", "yes");
    expect_err(&f, &["layers.1.relu", "yes"], |e| {
        matches!(e, ModelError::BadMetadata { .. })
    });
    // Unknown metadata keys are ignored.
    let mut f = File::good();
    f.set("trained_on", "a Tuesday");
    f.load().unwrap();
}

#[test]
fn shift_out_of_range() {
    for bad in [32i8, -1, 127] {
        let mut f = File::good();
        f.put("layers.0.shift", "I8", &[2], i8s(&[0, bad]));
        let msg = expect_err(&f, &["layers.0.shift", "element 1", "0..=31"], |e| {
            matches!(e, ModelError::ShiftOutOfRange { index: 1, .. })
        });
        assert!(msg.contains(&bad.to_string()), "{msg}");
    }
    let mut f = File::good();
    f.put("layers.0.shift", "I8", &[2], i8s(&[31, 0]));
    f.load().unwrap();
}

#[test]
fn negative_multiplier() {
    let mut f = File::good();
    f.put("layers.1.multiplier", "I32", &[1], i32s(&[-1]));
    expect_err(&f, &["layers.1.multiplier", "element 0"], |e| {
        matches!(e, ModelError::NegativeMultiplier { .. })
    });
}

#[test]
fn zero_point_out_of_range() {
    for (key, value) in [
        ("layers.0.input_zero_point", "128"),
        ("layers.0.output_zero_point", "-129"),
        ("layers.1.output_zero_point", "100000000000"),
    ] {
        let mut f = File::good();
        f.set(key, value);
        expect_err(&f, &[key, value, "-128..=127"], |e| {
            matches!(e, ModelError::ZeroPointOutOfRange { .. })
        });
    }
}

#[test]
fn layers_that_do_not_chain() {
    let mut f = File::good();
    f.layer(1, &[1, 3], &[1, 2, 3], &[0], &[1 << 30], &[0]);
    expect_err(
        &f,
        &["layers.1.weight", "3 inputs", "layer 0 has 2 outputs"],
        |e| matches!(e, ModelError::LayersDoNotChain { layer: 1, .. }),
    );
}

#[test]
fn zero_points_that_do_not_chain() {
    let mut f = File::good();
    f.set("layers.1.input_zero_point", "-4");
    expect_err(
        &f,
        &[
            "layers.1.input_zero_point",
            "-4",
            "layers.0.output_zero_point",
            "-5",
        ],
        |e| matches!(e, ModelError::ZeroPointMismatch { layer: 1, .. }),
    );
}

#[test]
fn no_layers() {
    let mut f = File::good();
    f.tensors.clear();
    expect_err(&f, &["no layers"], |e| {
        matches!(e, ModelError::NoLayers { .. })
    });
    f.meta = None;
    expect_err(&f, &["no layers"], |e| {
        matches!(e, ModelError::NoLayers { .. })
    });
}

#[test]
fn gap_in_layer_numbering() {
    let mut f = File::good();
    for field in ["weight", "bias", "multiplier", "shift"] {
        let t = f.tensors.remove(&format!("layers.1.{field}")).unwrap();
        f.tensors.insert(format!("layers.2.{field}"), t);
    }
    expect_err(&f, &["layer 1", "layer 2"], |e| {
        matches!(
            e,
            ModelError::LayerGap {
                missing: 1,
                highest: 2,
                ..
            }
        )
    });
    // Starting at 1 is a gap at 0.
    let mut f = File::good();
    for field in ["weight", "bias", "multiplier", "shift"] {
        f.remove(&format!("layers.0.{field}"));
    }
    expect_err(&f, &["layer 0"], |e| {
        matches!(e, ModelError::LayerGap { missing: 0, .. })
    });
}

#[test]
fn unknown_tensors_are_refused() {
    for name in [
        "extra",
        "layers.0.scale",
        "layers.01.weight",
        "layers.x.bias",
        "layers.0",
    ] {
        let mut f = File::good();
        f.put(name, "I8", &[1], vec![0]);
        expect_err(&f, &[&format!("`{name}`"), "unknown tensor"], |e| {
            matches!(e, ModelError::UnknownTensor { .. })
        });
    }
}

#[test]
fn bias_fold_overflow() {
    let mut f = File::good();
    // zp_in 3, row 1 sums to 3: -2^31 + 5 - 9 leaves int32.
    f.put("layers.0.bias", "I32", &[2], i32s(&[0, i32::MIN + 5]));
    expect_err(&f, &["layers.0.bias", "element 1", "-2147483652"], |e| {
        matches!(
            e,
            ModelError::BiasOverflow {
                layer: 0,
                index: 1,
                ..
            }
        )
    });
    // Just inside: -2^31 + 9 - 9 = -2^31.
    f.put("layers.0.bias", "I32", &[2], i32s(&[0, i32::MIN + 9]));
    assert_eq!(f.load().unwrap().layers()[0].folded_bias()[1], i32::MIN);
}

#[test]
fn plan_and_images_of_a_network() {
    let n = File::good().load().unwrap();
    let plan = n.plan(Params::default(), 10).unwrap();
    // 3 -> 2: S = 8, 16 words, tail 98: no gap; 2 -> 1 at slot 1.
    assert_eq!(plan.total_slots, 2);
    let images = n.slot_images(&plan).unwrap();
    assert_eq!(&images[0][..3], &[1, 254, 3]);
    assert_eq!(&images[0][16..19], &[4, 5, 250]);
    assert_eq!(&images[1][..2], &[2, 255]);
    let e = n.plan(Params::default(), 1).unwrap_err();
    assert!(e.to_string().contains("2 slots (456 payload bytes)"), "{e}");
    // A plan for another network is refused.
    let other = Plan::new(&[n.shapes()[0]], Params::default(), 10).unwrap();
    assert!(matches!(
        n.slot_images(&other),
        Err(ModelError::PlanMismatch { .. })
    ));
}

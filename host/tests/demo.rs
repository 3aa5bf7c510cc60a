//! `fiberloop demo`, shortened: the small digits model on a 2 km simulated
//! fiber with bit errors and a cut, six batches of images; the report's
//! figures are checked against the data files, and its pictures decode.

use std::path::PathBuf;
use std::process::Command;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/digits")
        .join(name)
}

fn npy_i8(name: &str) -> (usize, Vec<i8>) {
    let bytes = std::fs::read(data(name)).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let cols = npy.shape()[1] as usize;
    (cols, npy.into_vec::<i8>().unwrap())
}

#[test]
fn a_short_demo_verifies_every_output_and_draws_its_pictures() {
    let out = tempfile::tempdir().unwrap();
    let images = 48;
    let run = Command::new(env!("CARGO_BIN_EXE_fiberloop"))
        .args(["demo", "--images", &images.to_string()])
        .args(["--fiber-km", "2", "--ber", "2e-5", "--seed", "7"])
        // A cut of 0.2 ms while the images stream.
        .args(["--cut-at-ms", "0.6", "--cut-ms", "0.2"])
        .arg("--model")
        .arg(data("model.safetensors"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("report.json")).unwrap()).unwrap();
    let run_ = &r["run"];
    // Every output byte checked, none differs.
    assert_eq!(run_["outputs_verified"], images * 10, "{r}");
    assert_eq!(run_["mismatched_rows"], 0, "{r}");
    assert_eq!(run_["mismatched_bytes"], 0, "{r}");
    // The accuracy from the expected outputs and the labels, here.
    let (cols, expected) = npy_i8("expected.npy");
    let labels = {
        let bytes = std::fs::read(data("labels.npy")).unwrap();
        npyz::NpyFile::new(&bytes[..])
            .unwrap()
            .into_vec::<u8>()
            .unwrap()
    };
    let correct = (0..images)
        .filter(|&r| {
            let row = &expected[r * cols..(r + 1) * cols];
            let best = (0..cols).fold(0, |b, i| if row[i] > row[b] { i } else { b });
            best == labels[r] as usize
        })
        .count();
    assert_eq!(run_["correct"], correct, "{r}");
    // Fewer images than the file holds: no comparison with the recorded
    // figure, which is for all of them.
    assert!(run_["recorded_accuracy_matches"].is_null(), "{r}");
    // The loop: the delay implies the fiber set up, to a word clock (1.6 m).
    let km = r["loop"]["implied_fiber_km_less_transceivers"]
        .as_f64()
        .unwrap();
    assert!((km - 2.0).abs() < 0.002, "{km}");
    assert_eq!(r["loop"]["weight_slots"], 12, "{r}");
    assert_eq!(r["top"], "board-core", "{r}");
    // The fiber had errors and the loop ran: laps, corrections.
    assert!(run_["laps"].as_u64().unwrap() > 0, "{r}");
    assert!(run_["corrected_bytes"].as_u64().unwrap() > 0, "{r}");
    // The cut: detected, the loop refilled (during the load or the run),
    // the rewritten slots on the ring map.
    let loop_refills = r["load"]["refills"]["loop_refills"].as_u64().unwrap()
        + run_["refills"]["loop_refills"].as_u64().unwrap();
    assert!(loop_refills >= 1, "{r}");
    if run_["refills"]["loop_refills"].as_u64().unwrap() > 0 {
        // Every weight slot rewritten in one column at least.
        assert!(
            r["ring_map"]["refilled_cells"].as_u64().unwrap() >= 12,
            "{r}"
        );
    }
    let samples = r["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 1 + images.div_ceil(8), "{r}");
    assert_eq!(samples.last().unwrap()["images"], images, "{r}");
    // The Markdown says the same.
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(md.contains("| mismatches | 0 images, 0 bytes |"), "{md}");
    assert!(
        md.contains(&format!("| accuracy | {correct} of {images} = ")),
        "{md}"
    );
    assert_eq!(stdout, md);
    for name in ["corrected_per_lap.png", "occupancy.png", "ring_map.png"] {
        let bytes = std::fs::read(out.path().join(name)).unwrap();
        let mut d = png::Decoder::new(&bytes[..]).read_info().unwrap();
        let mut buf = vec![0; d.output_buffer_size()];
        let info = d.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (1000, 600), "{name}");
        // Not a blank picture.
        assert!(buf.iter().any(|&b| b < 128), "{name}");
    }
}

#[test]
fn fiber_options_are_refused_for_a_board() {
    let out = Command::new(env!("CARGO_BIN_EXE_fiberloop"))
        .args(["--device", "tcp:127.0.0.1:1", "demo", "--fiber-km", "3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--fiber-km sets up the simulator"),
        "{stderr}"
    );
}

#[test]
fn bad_bursts_are_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_fiberloop"))
        .args(["demo", "--bursts", "300"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("LEN@RATE"), "{stderr}");
}

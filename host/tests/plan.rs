//! `fiberloop plan`, run as a user runs it: the seed figures, units, bad
//! input, JSON keys and the PNG.

use std::process::{Command, Output};

fn plan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fiberloop"))
        .arg("plan")
        .args(args)
        .output()
        .unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.push("--json");
    let out = plan(&a);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    })
}

fn f(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing or not a number in {v}"))
}

const SEED: &[&str] = &[
    "--line-rate",
    "256T",
    "--fiber-km",
    "200",
    "--coding",
    "none",
    "--fec",
    "none",
    "--model-params",
    "1.76T",
    "--bytes-per-param",
    "1",
];

#[test]
fn seed_figures_256_tbps_over_200_km() {
    let v = json(SEED);
    // Light in 200 km: 979.36 us.
    assert!((f(&v, "delay_s") - 979.36e-6).abs() < 1e-12, "{v}");
    // ~31 GB raw in flight, streamed at 32 TB/s.
    assert_eq!(v["raw_bits_in_flight"], 250_716_160_000u64);
    let gb = f(&v, "raw_bits_in_flight") / 8e9;
    assert!((31.0..31.5).contains(&gb), "{gb}");
    assert_eq!(f(&v, "payload_bytes_in_flight"), 31_339_520_000.0);
    assert_eq!(f(&v, "payload_bytes_per_s"), 32e12);
    // A 1.76 T-parameter int8 model: 57 such loops; 22 accelerators of 80 GB.
    assert_eq!(v["loops_needed"], 57);
    assert_eq!(v["accelerators_needed"], 22);
    assert_eq!(v["slots"], serde_json::Value::Null);
    // The text output says the same.
    let out = plan(SEED);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("raw_bits_in_flight     : 250716160000 (31.3 GB)"),
        "{text}"
    );
    assert!(text.contains("(32 TB/s)"), "{text}");
    assert!(text.contains("loops_needed           : 57"), "{text}");
    assert!(text.contains("22 accelerators of 80 GB"), "{text}");
}

#[test]
fn the_same_256_tbps_wide_and_slow_on_the_project_line() {
    // 102,400 lanes of 2.5 Gb/s = 256 Tb/s, each lane this project's loop.
    let v = json(&[
        "--line-rate",
        "2.5G",
        "--lanes",
        "102400",
        "--fiber-km",
        "200",
        "--model-params",
        "1.76T",
        "--bytes-per-param",
        "1",
    ]);
    assert_eq!(v["raw_bits_in_flight"], 250_716_160_000u64);
    let slots = v["slots"].as_u64().unwrap();
    // 200 km at 2.5 Gb/s: 122,420 words of glass + 502 of gateware.
    assert_eq!(v["ring_words"], 122_922);
    assert_eq!(slots, 122_922 / 128);
    let held = f(&v, "payload_bytes_held");
    assert_eq!(held, (slots * 228 * 102_400) as f64);
    let in_flight = f(&v, "payload_bytes_in_flight");
    assert!(in_flight < held && in_flight > 0.99 * held, "{v}");
    assert_eq!(v["loops_needed"], (1.76e12 / held).ceil() as u64);
    assert_eq!(v["loops_needed"], 79);
    // The frame's payload share of the line: 228 B per 256 x 10 bits.
    let eff = f(&v, "payload_bytes_per_s") * 8.0 / 256e12;
    assert!((0.711..0.7125).contains(&eff), "{eff}");
}

#[test]
fn json_has_the_named_keys() {
    let v = json(&[
        "--line-rate",
        "10G",
        "--fiber-km",
        "25",
        "--model-params",
        "7e9",
        "--bytes-per-param",
        "0.5",
    ]);
    for key in [
        "delay_s",
        "raw_bits_in_flight",
        "payload_bytes_in_flight",
        "payload_bytes_per_s",
        "slots",
        "loops_needed",
    ] {
        assert!(
            v.get(key).is_some_and(|x| !x.is_null()),
            "{key} missing in {v}"
        );
    }
    assert_eq!(f(&v, "model_bytes"), 3.5e9);
    // Without a model there is nothing to hold.
    let v = json(&["--line-rate", "10G", "--fiber-km", "25"]);
    assert_eq!(v["loops_needed"], serde_json::Value::Null);
}

#[test]
fn rates_read_in_any_notation() {
    let base = json(&["--line-rate", "2.5e9", "--fiber-km", "10"]);
    for r in ["2.5G", "2500M", "2500000k", "2.5Gb/s", "2500000000"] {
        assert_eq!(json(&["--line-rate", r, "--fiber-km", "10"]), base, "{r}");
    }
    assert_eq!(base["raw_bits_in_flight"], 122_420);
    let t = json(&[
        "--line-rate",
        "256T",
        "--fiber-km",
        "1",
        "--coding",
        "none",
        "--fec",
        "none",
    ]);
    assert_eq!(f(&t, "line_rate_bps"), 256e12);
    let m = json(&[
        "--line-rate",
        "10M",
        "--fiber-km",
        "1",
        "--coding",
        "64b66b",
        "--fec",
        "none",
    ]);
    assert_eq!(f(&m, "line_rate_bps"), 10e6);
    assert!((f(&m, "payload_bytes_per_s") - 10e6 / 8.0 * 64.0 / 66.0).abs() < 1e-6);
}

#[test]
fn bad_input_is_a_usage_error_naming_the_problem() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--line-rate", "2.5X", "--fiber-km", "1"],
            "unknown suffix 'X'",
        ),
        (&["--line-rate", "fast", "--fiber-km", "1"], "--line-rate"),
        (&["--line-rate", "-2G", "--fiber-km", "1"], "greater than 0"),
        (&["--line-rate", "2e16", "--fiber-km", "1"], "line rate"),
        (&["--line-rate", "2.5G", "--fiber-km", "-3"], "--fiber-km"),
        (&["--line-rate", "2.5G", "--fiber-km", "ten"], "--fiber-km"),
        (
            &["--line-rate", "2.5G", "--fiber-km", "1", "--lanes", "0"],
            "--lanes",
        ),
        (
            &[
                "--line-rate",
                "2.5G",
                "--fiber-km",
                "1",
                "--coding",
                "10b12b",
            ],
            "unknown line code",
        ),
        (
            &["--line-rate", "2.5G", "--fiber-km", "1", "--fec", "ldpc"],
            "unknown FEC",
        ),
        (
            &["--line-rate", "2.5G", "--fiber-km", "1", "--fec", "none"],
            "RS(255,239)",
        ),
        (
            &[
                "--line-rate",
                "2.5G",
                "--fiber-km",
                "1",
                "--model-params",
                "7G",
            ],
            "--bytes-per-param",
        ),
        (
            &[
                "--line-rate",
                "2.5G",
                "--fiber-km",
                "1",
                "--model-params",
                "7G",
                "--bytes-per-param",
                "0",
            ],
            "> 0",
        ),
        (&["--fiber-km", "1"], "--line-rate"),
        (&["--line-rate", "2.5G"], "--fiber-km"),
    ];
    for (args, needle) in cases {
        let out = plan(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn the_plot_is_a_png_of_every_curve() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.png");
    let out = Command::new(env!("CARGO_BIN_EXE_fiberloop"))
        .args(["plan", "--plot"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::fs::File::open(&path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), fiberloop::plan::plot::SIZE);
    assert_eq!((info.width, info.height), (1200, 800));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let px: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    // Each lane count's colour is drawn, and text (dark pixels) is there.
    for colour in [[31, 119, 180], [44, 160, 44], [255, 127, 14], [214, 39, 40]] {
        let n = px.iter().filter(|p| **p == colour).count();
        assert!(n > 2000, "{colour:?}: {n} pixels");
    }
    let dark = px.iter().filter(|p| p.iter().all(|&c| c < 80)).count();
    assert!(dark > 5000, "{dark} dark pixels");
    // An unwritable path is an I/O error.
    let out = plan(&["--plot", "/nonexistent-dir/x.png"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("writing the plot"));
}

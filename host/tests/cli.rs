//! The `fiberloop` binary, run as a user runs it.

use std::process::Command;

fn fiberloop() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fiberloop"))
}

#[test]
fn selftest_passes_and_prints_figures() {
    let out = fiberloop()
        .args(["selftest", "--cycles", "3000", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"match\":true"), "{stdout}");
    assert!(stdout.contains("\"cycles\":3000"), "{stdout}");
}

#[test]
fn missing_verilator_fails_naming_setup() {
    let empty = std::env::temp_dir().join(format!("fl-empty-path-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = fiberloop()
        .args(["selftest", "--cycles", "10"])
        .env("PATH", &empty)
        .env("FIBERLOOP_VENV", empty.join("no-venv"))
        .env_remove("FIBERLOOP_VERILATOR")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("verilator not found"), "{stderr}");
    assert!(stderr.contains("scripts/setup"), "{stderr}");
}

#[test]
fn zero_cycles_is_a_usage_error() {
    let out = fiberloop()
        .args(["selftest", "--cycles", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cycles"));
}

#[test]
fn capture_writes_255_byte_codewords() {
    let out = std::env::temp_dir().join(format!("fl-capture-{}.bin", std::process::id()));
    let run = fiberloop()
        .args(["capture", "--frames", "20", "--fiber-km", "0.5", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes.len(), 20 * 255);
    for f in bytes.chunks(255) {
        let cw: [u8; 255] = f.try_into().unwrap();
        assert_eq!(fiberloop_gateware::model::rs::syndromes(&cw), [0; 16]);
    }
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn capture_refuses_a_negative_fiber() {
    let out = std::env::temp_dir().join("fl-never-written.bin");
    let run = fiberloop()
        .args(["capture", "--frames", "2", "--fiber-km=-3", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("fiber length"));
    assert!(!out.exists());
}

#[test]
fn bad_device_from_the_environment_is_a_usage_error() {
    let out = fiberloop()
        .args(["stats"])
        .env("FIBERLOOP_DEVICE", "tcp:nohost")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("FIBERLOOP_DEVICE"), "{stderr}");
    assert!(stderr.contains("tcp:HOST:PORT"), "{stderr}");
}

#[test]
fn unreachable_tcp_device_is_unavailable_with_a_hint() {
    let out = fiberloop()
        .args(["--device", "tcp:127.0.0.1:1", "stats"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("sim serve --tcp"), "{stderr}");
}

#[test]
fn stats_over_a_served_pty_prints_json() {
    use std::io::{BufRead, BufReader};
    let mut server = fiberloop()
        .args(["sim", "serve", "--pty", "--backend", "ram"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut path = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut path)
        .unwrap();
    let out = fiberloop()
        .args(["stats", "--fill", "--json"])
        .env("FIBERLOOP_DEVICE", format!("serial:{}", path.trim()))
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["mode"], "running");
    assert_eq!(v["loop"]["frames_in_flight"], 256);
    assert_eq!(v["link"]["header_crc_drops"], 0);
}

#[test]
fn devices_lists_or_says_none() {
    let out = fiberloop().args(["devices"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("serial:") || stdout.contains("usb") || stdout.contains("no serial ports"),
        "{stdout}"
    );
}

fn json_of(args: &[&str]) -> serde_json::Value {
    let out = fiberloop().args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap()
}

/// The simulated Versa: its link report names the top, the bring-up is
/// done, the meters read 125 MHz; a PRBS31 test over 1 km at BER 1e-4
/// measures it within 20 %, and on a clean fiber finds no error and gives
/// the 95 % bound.
#[test]
fn versa_link_and_prbs_measure_the_line() {
    let v = json_of(&["--device", "sim:board=versa,fiber_km=1", "link", "--json"]);
    assert_eq!(v["top"], "versa-ecp5g", "{v}");
    assert_eq!(v["state"], "ready", "{v}");
    assert_eq!(v["up"], true, "{v}");
    assert_eq!(v["tx_clock_khz"], 125_000, "{v}");
    assert_eq!(v["rx_clock_khz"], 125_000, "{v}");
    let v = json_of(&[
        "--device",
        "sim:board=versa,fiber_km=1,ber=1e-4",
        "prbs",
        "--pattern",
        "31",
        "--bits",
        "20000000",
        "--json",
    ]);
    let ber = v["ber"].as_f64().unwrap();
    assert!(v["bits"].as_u64().unwrap() >= 20_000_000, "{v}");
    assert!((ber - 1e-4).abs() < 0.2e-4, "{v}");
    assert!(v["ber_upper_95"].is_null(), "{v}");
    let v = json_of(&[
        "--device",
        "sim:board=versa,fiber_km=1,ber=0",
        "prbs",
        "--pattern",
        "7",
        "--bits",
        "2000000",
        "--json",
    ]);
    assert_eq!(v["errors"], 0, "{v}");
    let bound = v["ber_upper_95"].as_f64().unwrap();
    let bits = v["bits"].as_f64().unwrap();
    assert!((bound * bits - 2.9957).abs() < 1e-3, "{v}");
}

#[test]
fn prbs_refuses_a_pattern_it_does_not_have() {
    let out = fiberloop()
        .args(["--device", "sim:board=model", "prbs", "--pattern", "23"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PRBS23 is not supported"), "{stderr}");
}

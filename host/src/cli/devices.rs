//! `fiberloop devices`: serial ports and FTDI USB bridges that could be a
//! board, with the device string to use for each.

use super::{exit, Failure};
use anyhow::anyhow;

/// Options of `devices`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the list as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Lists serial ports and USB bridges.
pub fn run(args: Args) -> Result<(), Failure> {
    let mut rows: Vec<serde_json::Value> = vec![];
    match serialport::available_ports() {
        Ok(ports) => {
            for p in ports {
                let kind = match &p.port_type {
                    serialport::SerialPortType::UsbPort(u) => {
                        format!("USB {:04x}:{:04x}", u.vid, u.pid)
                    }
                    serialport::SerialPortType::PciPort => "PCI".into(),
                    serialport::SerialPortType::BluetoothPort => "Bluetooth".into(),
                    serialport::SerialPortType::Unknown => "serial".into(),
                };
                let access = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&p.port_name)
                    .err()
                    .map(|e| {
                        if e.kind() == std::io::ErrorKind::PermissionDenied {
                            "permission denied: add yourself to the `dialout` group (or install a udev rule) and log in again".to_string()
                        } else {
                            e.to_string()
                        }
                    });
                rows.push(serde_json::json!({
                    "device": format!("serial:{}", p.port_name),
                    "kind": kind,
                    "problem": access,
                }));
            }
        }
        Err(e) => log::warn!("cannot list serial ports: {e}"),
    }
    match fiberloop::device::usb::list() {
        Ok(found) => {
            for f in found {
                let (dev, problem) = match &f.serial {
                    Ok(s) => (format!("usb:{s}"), None),
                    Err(e) => ("usb".to_string(), Some(e.clone())),
                };
                rows.push(serde_json::json!({
                    "device": dev,
                    "kind": format!("USB 0403:{:04x} bus {} address {}", f.pid, f.bus, f.address),
                    "problem": problem,
                }));
            }
        }
        Err(e) => log::warn!(
            "cannot list USB devices: {e}{}",
            fiberloop::device::usb::hint(&e)
        ),
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).map_err(|e| Failure::new(exit::IO, anyhow!(e)))?
        );
        return Ok(());
    }
    if rows.is_empty() {
        println!("no serial ports and no FTDI USB devices found (the simulator is always there: --device sim)");
        return Ok(());
    }
    for r in &rows {
        let problem = r["problem"]
            .as_str()
            .map(|p| format!("  [{p}]"))
            .unwrap_or_default();
        println!(
            "{:<32} {}{}",
            r["device"].as_str().unwrap_or(""),
            r["kind"].as_str().unwrap_or(""),
            problem
        );
    }
    Ok(())
}

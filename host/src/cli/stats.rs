//! `fiberloop stats`: the loop's and the host link's counters.

use super::{client_error, open_device, Failure, Target};
use fiberloop_spec::regs::{counter, link, status_bits};

/// Options of `stats`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Fill the loop first (measure the delay, send the empty frames).
    #[arg(long)]
    pub fill: bool,
    /// Print the counters as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn mode_name(status: u32) -> &'static str {
    match status & status_bits::MODE_MASK {
        status_bits::MODE_IDLE => "idle",
        status_bits::MODE_MEASURING => "measuring",
        status_bits::MODE_FILLING => "filling",
        status_bits::MODE_RUNNING => "running",
        _ => "unknown",
    }
}

/// Reads and prints the counters.
pub fn run(device: &Target, args: Args) -> Result<(), Failure> {
    let mut c = open_device(device)?;
    let id = c.ping().map_err(client_error)?;
    if args.fill {
        c.fill().map_err(client_error)?;
    }
    let k = c.counters().map_err(client_error)?;
    let phy = fiberloop_firmware::phy::read_link_settled(&mut c, super::link::METER_POLLS)
        .map_err(|e| client_error(fiberloop::device::client::firmware_error(e)))?;
    let prbs = fiberloop_firmware::phy::read_prbs(&mut c)
        .map_err(|e| client_error(fiberloop::device::client::firmware_error(e)))?;
    let host = c.stats().clone();
    if args.json {
        let mut loop_map = serde_json::Map::new();
        for (i, n) in counter::NAMES.iter().enumerate() {
            loop_map.insert((*n).into(), k.loop_counters[i].into());
        }
        let mut link_map = serde_json::Map::new();
        for (i, n) in link::NAMES.iter().enumerate() {
            link_map.insert((*n).into(), k.link[i].into());
        }
        let v = serde_json::json!({
            "device": c.transport().describe(),
            "version": format!("0x{:08x}", id.version),
            "mode": mode_name(k.loop_status),
            "no_loop": k.loop_status & status_bits::NO_LOOP != 0,
            "loop": loop_map,
            "link": link_map,
            "phy": super::link::link_json(&phy),
            "prbs": {
                "locked": prbs.locked(),
                "lock_lost": prbs.lock_lost(),
                "bits": prbs.bits,
                "errors": prbs.errors,
            },
            "host": host,
        });
        println!("{v}");
        return Ok(());
    }
    println!("device               : {}", c.transport().describe());
    println!("mode                 : {}", mode_name(k.loop_status));
    if k.loop_status & status_bits::NO_LOOP != 0 {
        println!("last fill            : found no loop");
    }
    for (i, n) in counter::NAMES.iter().enumerate() {
        println!("{:<21}: {}", n, k.loop_counters[i]);
    }
    for (i, n) in link::NAMES.iter().enumerate() {
        println!("link {:<16}: {}", n, k.link[i]);
    }
    super::link::print_link(&phy);
    println!("host retries         : {}", host.retries);
    Ok(())
}

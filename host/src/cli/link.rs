//! `fiberloop link`: the transceiver's bring-up state, locks, loss of
//! signal, retries and the word clocks' meters.

use super::{client_error, open_device, Failure, Target};
use fiberloop::device::client::firmware_error;
use fiberloop_firmware::phy::{read_link_settled, LinkReport};
use fiberloop_spec::phy::phy_status as f;
use fiberloop_spec::regs;

/// Options of `link`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The report as JSON (also part of `stats --json`).
pub fn link_json(r: &LinkReport) -> serde_json::Value {
    serde_json::json!({
        "top": regs::top::name(r.top),
        "state": r.state_name(),
        "up": r.up(),
        "tx_pll_locked": r.flag(f::TX_PLL_LOCKED),
        "cdr_locked": r.flag(f::CDR_LOCKED),
        "los": r.flag(f::LOS),
        "tx_ready": r.flag(f::TX_READY),
        "rx_ready": r.flag(f::RX_READY),
        "aligned": r.flag(f::ALIGNED),
        "restarts": r.restarts,
        "los_events": r.los_events,
        "cdr_retries": r.cdr_retries,
        "tx_clock_khz": r.tx_khz,
        "rx_clock_khz": r.rx_khz,
    })
}

/// Prints the report as text.
pub fn print_link(r: &LinkReport) {
    let yes = |b: bool| if b { "yes" } else { "no" };
    println!("top                  : {}", regs::top::name(r.top));
    println!(
        "bring-up state       : {} ({})",
        r.state_name(),
        if r.up() { "link up" } else { "link down" }
    );
    println!("TX PLL locked        : {}", yes(r.flag(f::TX_PLL_LOCKED)));
    println!("CDR locked           : {}", yes(r.flag(f::CDR_LOCKED)));
    println!("loss of signal       : {}", yes(r.flag(f::LOS)));
    println!(
        "lanes out of reset   : TX {}, RX {}",
        yes(r.flag(f::TX_READY)),
        yes(r.flag(f::RX_READY))
    );
    println!("receiver aligned     : {}", yes(r.flag(f::ALIGNED)));
    println!("restarts (lock lost) : {}", r.restarts);
    println!("LOS events           : {}", r.los_events);
    println!("CDR retries          : {}", r.cdr_retries);
    println!("TX word clock        : {:.3} MHz", r.tx_khz as f64 / 1e3);
    println!("RX word clock        : {:.3} MHz", r.rx_khz as f64 / 1e3);
}

/// Polls for the clock meters' first window (the backoff's pauses add up
/// to about 6 ms of device time).
pub const METER_POLLS: u32 = 13;

/// Reads and prints the link report.
pub fn run(device: &Target, args: Args) -> Result<(), Failure> {
    let mut c = open_device(device)?;
    c.ping().map_err(client_error)?;
    let r = read_link_settled(&mut c, METER_POLLS).map_err(|e| client_error(firmware_error(e)))?;
    if args.json {
        println!("{}", link_json(&r));
    } else {
        print_link(&r);
    }
    Ok(())
}

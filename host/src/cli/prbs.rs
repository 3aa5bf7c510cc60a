//! `fiberloop prbs`: a PRBS test over the line (the loop's traffic is
//! replaced by the pattern; fill and load the loop again afterwards).

use super::{client_error, exit, open_device, Failure, Target};
use fiberloop::device::client::firmware_error;
use fiberloop_firmware::phy::run_prbs;
use fiberloop_spec::phy::Prbs;

/// Options of `prbs`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The pattern: 7, 15 or 31 (ITU-T O.150).
    #[arg(long, default_value_t = 31, value_parser = parse_pattern)]
    pub pattern: u32,
    /// Line bits to check (at least; counted from the checker's lock).
    #[arg(long, default_value_t = 100_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub bits: u64,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn parse_pattern(s: &str) -> Result<u32, String> {
    let n: u32 = s
        .trim()
        .trim_start_matches("prbs")
        .trim_start_matches("PRBS")
        .parse()
        .map_err(|_| format!("'{s}' is not a pattern: use 7, 15 or 31"))?;
    Prbs::from_number(n)
        .map(|p| p.number())
        .ok_or_else(|| format!("PRBS{n} is not supported: use 7, 15 or 31"))
}

/// Polls of the checker's lock before giving up (the host's backoff paces
/// them: about a second of device time).
const LOCK_POLLS: u32 = 1_200;

/// Runs the test and prints `bits`, `errors`, `ber` and, with no errors,
/// the 95 % upper bound on the BER.
pub fn run(device: &Target, quiet: bool, args: Args) -> Result<(), Failure> {
    let pattern = Prbs::from_number(args.pattern).expect("checked by the parser");
    let mut c = open_device(device)?;
    c.ping().map_err(client_error)?;
    let r = run_prbs(&mut c, pattern, args.bits, LOCK_POLLS).map_err(|e| match e {
        e @ fiberloop_firmware::Error::PrbsNoLock { .. } => {
            Failure::new(exit::REFUSED, anyhow::anyhow!("{e}"))
        }
        e => client_error(firmware_error(e)),
    })?;
    if args.json {
        let v = serde_json::json!({
            "device": c.transport().describe(),
            "pattern": pattern.number(),
            "bits": r.bits,
            "errors": r.errors,
            "ber": r.ber(),
            "ber_upper_95": r.ber_upper_95(),
            "lock_lost": r.lock_lost(),
        });
        println!("{v}");
    } else {
        println!("pattern              : PRBS{}", pattern.number());
        println!("bits                 : {}", r.bits);
        println!("errors               : {}", r.errors);
        println!("BER                  : {:.3e}", r.ber());
        if let Some(u) = r.ber_upper_95() {
            println!("BER upper bound (95%): {u:.3e}");
        }
        if r.lock_lost() {
            println!("note                 : the checker lost lock during the test");
        }
    }
    if !quiet {
        eprintln!("the loop's traffic is back on the line: fill and load the loop again");
    }
    Ok(())
}

//! The physical layer: the transceiver's bring-up report, the clock
//! meters, and the PRBS test (registers `PHY_*`, `*_CLOCK_KHZ`, `PRBS_*`
//! of `fiberloop_spec::regs`, fields in `fiberloop_spec::phy`).
//!
//! A PRBS test replaces the loop's traffic with the pattern: the loop's
//! contents are lost, and the host must fill and load it again afterwards.

use crate::bus::RegisterBus;
use crate::control::Result;
use crate::error::Error;
use fiberloop_spec::phy::{init_state, phy_status as f, prbs_ctrl, prbs_status, source, Prbs};
use fiberloop_spec::regs;

/// The transceiver's state as the registers report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkReport {
    /// Which top answers (`regs::top`).
    pub top: u32,
    /// `PHY_STATUS`.
    pub status: u32,
    /// Restarts after a loss of lock.
    pub restarts: u32,
    /// Returns to the CDR step on loss of signal.
    pub los_events: u32,
    /// CDR resets repeated after a lock timeout.
    pub cdr_retries: u32,
    /// TX word clock, kHz.
    pub tx_khz: u32,
    /// RX word clock, kHz.
    pub rx_khz: u32,
}

impl LinkReport {
    /// The bring-up state (`init_state`).
    pub fn state(&self) -> u32 {
        self.status & f::STATE_MASK
    }
    /// The bring-up state's name.
    pub fn state_name(&self) -> &'static str {
        init_state::NAMES
            .get(self.state() as usize)
            .copied()
            .unwrap_or("unknown")
    }
    /// A flag of `phy_status`.
    pub fn flag(&self, bit: u32) -> bool {
        self.status & bit != 0
    }
    /// The link is up: bring-up done and the receiver aligned.
    pub fn up(&self) -> bool {
        self.state() == init_state::READY && self.flag(f::ALIGNED)
    }
}

/// Reads the bring-up report and the clock meters.
pub fn read_link<B: RegisterBus>(bus: &mut B) -> Result<LinkReport, B> {
    let top = bus.read32(regs::TOP).map_err(Error::Bus)?;
    let mut w = [0u32; regs::PHY_WORDS as usize];
    bus.read_words(regs::PHY_STATUS, &mut w)
        .map_err(Error::Bus)?;
    Ok(LinkReport {
        top,
        status: w[0],
        restarts: w[1],
        los_events: w[2],
        cdr_retries: w[3],
        tx_khz: w[4],
        rx_khz: w[5],
    })
}

/// Reads the link report, first letting the clock meters finish a window
/// (a meter reads 0 until its second 1 ms window has ended, and a stopped
/// clock reads 0): re-reads while a meter reads 0, at most `max_polls`
/// times, with the bus's idle between. A clock that stays stopped is
/// reported as 0.
pub fn read_link_settled<B: RegisterBus>(bus: &mut B, max_polls: u32) -> Result<LinkReport, B> {
    let mut r = read_link(bus)?;
    let mut i = 0;
    while (r.tx_khz == 0 || r.rx_khz == 0) && i < max_polls {
        i += 1;
        bus.idle(i);
        r = read_link(bus)?;
    }
    Ok(r)
}

/// The PRBS checker's counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrbsCount {
    /// `PRBS_STATUS`.
    pub status: u32,
    /// Line bits checked while locked.
    pub bits: u64,
    /// Line bits in error.
    pub errors: u64,
}

impl PrbsCount {
    /// The checker is locked.
    pub fn locked(&self) -> bool {
        self.status & prbs_status::LOCKED != 0
    }
    /// The checker lost lock since it was cleared.
    pub fn lock_lost(&self) -> bool {
        self.status & prbs_status::LOCK_LOST != 0
    }
    /// The measured bit error ratio (0 with no bits).
    pub fn ber(&self) -> f64 {
        if self.bits == 0 {
            0.0
        } else {
            self.errors as f64 / self.bits as f64
        }
    }
    /// With no errors in `bits`, the BER below which the truth lies with
    /// 95 % confidence: -ln(0.05) / bits (the rule of three). `None` when
    /// errors were seen (quote the measured ratio) or nothing was checked.
    pub fn ber_upper_95(&self) -> Option<f64> {
        // -ln(0.05)
        const NEG_LN_005: f64 = 2.995_732_273_553_991;
        (self.errors == 0 && self.bits > 0).then(|| NEG_LN_005 / self.bits as f64)
    }
}

/// Reads the checker's status and both 64-bit counts (one burst: each low
/// word latches its high word).
pub fn read_prbs<B: RegisterBus>(bus: &mut B) -> Result<PrbsCount, B> {
    let mut w = [0u32; 5];
    bus.read_words(regs::PRBS_STATUS, &mut w)
        .map_err(Error::Bus)?;
    Ok(PrbsCount {
        status: w[0],
        bits: w[1] as u64 | (w[2] as u64) << 32,
        errors: w[3] as u64 | (w[4] as u64) << 32,
    })
}

/// Sets the transmit source and the pattern, the checker on or off, and
/// clears the checker.
pub fn set_source<B: RegisterBus>(
    bus: &mut B,
    src: u32,
    pattern: Prbs,
    check: bool,
) -> Result<(), B> {
    bus.write32(
        regs::PRBS_CTRL,
        prbs_ctrl::pack(src, pattern, check) | prbs_ctrl::CLEAR,
    )
    .map_err(Error::Bus)
}

/// Runs a PRBS test over the loop: sends `pattern` in place of the loop's
/// traffic, waits (at most `max_polls` reads) for the checker to lock,
/// clears it, counts at least `bits` line bits, reads the counts, and puts
/// the loop's traffic back on the line (the loop must then be filled and
/// loaded again). `Error::PrbsNoLock` if the checker never locks.
pub fn run_prbs<B: RegisterBus>(
    bus: &mut B,
    pattern: Prbs,
    bits: u64,
    max_polls: u32,
) -> Result<PrbsCount, B> {
    let r = prbs_test(bus, pattern, bits, max_polls);
    // Whatever happened, the loop's traffic goes back out.
    let back = set_source(bus, source::LOOP, pattern, false);
    let count = r?;
    back?;
    Ok(count)
}

fn prbs_test<B: RegisterBus>(
    bus: &mut B,
    pattern: Prbs,
    bits: u64,
    max_polls: u32,
) -> Result<PrbsCount, B> {
    set_source(bus, source::PRBS, pattern, true)?;
    let polls = max_polls.max(1);
    let mut locked = false;
    for i in 0..polls {
        if i > 0 {
            bus.idle(i);
        }
        if read_prbs(bus)?.locked() {
            locked = true;
            break;
        }
    }
    if !locked {
        let phy_status = bus.read32(regs::PHY_STATUS).map_err(Error::Bus)?;
        return Err(Error::PrbsNoLock {
            pattern: pattern.number(),
            polls,
            phy_status,
        });
    }
    // Count from a clean start: the bits before the lock do not count.
    bus.write32(
        regs::PRBS_CTRL,
        prbs_ctrl::pack(source::PRBS, pattern, true) | prbs_ctrl::CLEAR,
    )
    .map_err(Error::Bus)?;
    let mut i = 0u32;
    loop {
        let c = read_prbs(bus)?;
        if c.bits >= bits {
            return Ok(c);
        }
        i = i.saturating_add(1);
        bus.idle(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::mock::MockBus;

    #[test]
    fn upper_bound_is_the_rule_of_three() {
        let c = PrbsCount {
            status: 1,
            bits: 1_000_000,
            errors: 0,
        };
        let u = c.ber_upper_95().unwrap();
        assert!((u - 2.9957e-6).abs() < 1e-9, "{u}");
        let e = PrbsCount { errors: 3, ..c };
        assert_eq!(e.ber_upper_95(), None);
        assert!((e.ber() - 3e-6).abs() < 1e-15);
        assert_eq!(PrbsCount::default().ber(), 0.0);
        assert_eq!(PrbsCount::default().ber_upper_95(), None);
    }

    #[test]
    fn prbs_run_clears_after_lock_and_restores_the_loop() {
        let mut bus = MockBus::new();
        // Status: not locked twice, then locked; counts grow.
        bus.script(regs::PRBS_STATUS, &[0, 0, 1, 1, 1]);
        bus.script(regs::PRBS_BITS, &[0, 0, 0, 500, 2000]);
        bus.script(regs::PRBS_ERRORS, &[0, 0, 0, 0, 7]);
        let c = run_prbs(&mut bus, Prbs::Prbs31, 1000, 10).unwrap();
        assert_eq!((c.bits, c.errors), (2000, 7));
        let writes = bus.writes_to(regs::PRBS_CTRL);
        let on = prbs_ctrl::pack(source::PRBS, Prbs::Prbs31, true) | prbs_ctrl::CLEAR;
        let off = prbs_ctrl::pack(source::LOOP, Prbs::Prbs31, false) | prbs_ctrl::CLEAR;
        assert_eq!(writes, [on, on, off]);
    }

    #[test]
    fn no_lock_is_an_error_and_the_loop_source_comes_back() {
        let mut bus = MockBus::new();
        bus.script(regs::PHY_STATUS, &[init_state::CDR]);
        let e = run_prbs(&mut bus, Prbs::Prbs7, 1000, 4).unwrap_err();
        assert!(matches!(
            e,
            Error::PrbsNoLock {
                pattern: 7,
                polls: 4,
                phy_status: 2
            }
        ));
        let writes = bus.writes_to(regs::PRBS_CTRL);
        assert_eq!(
            writes.last().unwrap() & prbs_ctrl::SOURCE_MASK,
            source::LOOP
        );
    }

    #[test]
    fn settled_read_waits_for_the_meters() {
        let mut bus = MockBus::new();
        bus.script(regs::TX_CLOCK_KHZ, &[0, 0, 125_000]);
        bus.script(regs::RX_CLOCK_KHZ, &[0, 124_999, 125_001]);
        let r = read_link_settled(&mut bus, 10).unwrap();
        assert_eq!((r.tx_khz, r.rx_khz), (125_000, 125_001));
        assert_eq!(bus.reads_of(regs::PHY_STATUS), 3);
        // A clock that never runs: the polls end, 0 is reported.
        let mut bus = MockBus::new();
        let r = read_link_settled(&mut bus, 4).unwrap();
        assert_eq!((r.tx_khz, r.rx_khz), (0, 0));
        assert_eq!(bus.reads_of(regs::PHY_STATUS), 5);
    }

    #[test]
    fn link_report_names_the_state() {
        let r = LinkReport {
            top: regs::top::VERSA,
            status: init_state::READY | f::ALIGNED | f::CDR_LOCKED,
            restarts: 0,
            los_events: 1,
            cdr_retries: 0,
            tx_khz: 125_000,
            rx_khz: 125_000,
        };
        assert!(r.up());
        assert_eq!(r.state_name(), "ready");
        assert!(r.flag(f::CDR_LOCKED) && !r.flag(f::LOS));
    }
}

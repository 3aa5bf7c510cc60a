//! `SerdesInit`: the transceiver bring-up state machine. It drives the four
//! resets of one DCUA channel (TX PLL, CDR, TX lane, RX lane) from the
//! channel's three status flags (TX PLL loss of lock, CDR loss of lock, loss
//! of signal) in the order of the ECP5 SERDES notes (TN1261; the order
//! LiteICLink and LUNA follow), and reports every state, lock and event count
//! as a [`PhyStatus`].
//!
//! # The order
//!
//! The states and their codes are `fiberloop_spec::phy::init_state`:
//!
//! | state | TX PLL reset | TX lane reset | CDR reset | RX lane reset | leaves when |
//! |---|---|---|---|---|---|
//! | `RESET` | held | held | held | held | after `reset_clocks` |
//! | `TX_PLL` | released | held | held | held | PLOL low for `pll_hold_clocks` in a row |
//! | `CDR` | released | released | pulsed | held | RLOL and RLOS low |
//! | `CDR_HOLD` | released | released | released | held | RLOL and RLOS stay low for `cdr_hold_clocks` |
//! | `READY` | released | released | released | released | a loss |
//!
//! * `CDR` releases the CDR reset on entry from `TX_PLL` (it was held since
//!   `RESET`). While the CDR is unlocked with a signal present (RLOS low) a
//!   timer runs; after `cdr_timeout_clocks` the CDR reset is pulsed again
//!   for `cdr_reset_clocks` (`cdr_retries` counts these). While RLOS is high
//!   the timer stays at zero: retrying a CDR that has no light is useless, so
//!   a long cut costs no retries.
//! * `CDR_HOLD` keeps the RX lane in reset until the lock has held with a
//!   signal for `cdr_hold_clocks` in a row (TN1261 / FAQ 697: a PCS let out
//!   of reset on an unstable recovered clock can corrupt its FIFO pointers
//!   while the status looks good).
//! * Losses, checked in `CDR`, `CDR_HOLD` and `READY`, in this order of
//!   precedence, on the synchronised flags:
//!   1. PLOL high (TX PLL lost): back to `RESET`, `restarts` counts;
//!   2. RLOS high in `CDR_HOLD` or `READY` (a cut): back to `CDR` with the
//!      RX lane in reset and the CDR reset pulsed for `cdr_reset_clocks`,
//!      `los_events` counts;
//!   3. RLOL high without RLOS in `CDR_HOLD` or `READY` (the CDR lost lock
//!      with light present, or the lock flapped during the hold): back to
//!      `RESET`, `restarts` counts.
//!
//!   A loss is judged in the clock it is seen: a cut whose RLOL reaches the
//!   state machine a clock before its RLOS is taken for a loss of lock (a
//!   restart, not a LOS event); the link comes back either way.
//! * In `TX_PLL`, PLOL high only restarts the count of low clocks; in `CDR`
//!   RLOL and RLOS only hold the state machine there.
//!
//! The three status inputs are asynchronous (the DCU's status outputs): each
//! goes through two flip-flops first; every decision and the status port use
//! the synchronised values.
//!
//! # Timing constants
//!
//! Every duration is a constructor parameter in clk100 clocks
//! ([`InitTiming`]); [`InitTiming::BOARD`] holds the defaults for the Versa
//! (clk100 = 100 MHz, so 100 clocks = 1 µs). Simulations use small values
//! ([`InitTiming::new`]). Each must be 1..=[`MAX_CLOCKS`] (the 24-bit timer:
//! 167 ms at 100 MHz); [`SerdesInit::try_new`] says which one is not.
//!
//! # Size and timing
//!
//! 135 flip-flops (6 synchroniser, 4 state, 1 pulse flag, 24 timer, 4
//! reset, 3 x 32 counter) and about 300 LUTs (yosys `synth_ecp5`, board
//! timing). Placed and routed alone on an LFE5UM5G-45F, speed 8
//! (`scripts/timing serdes_init_meets_timing`, nextpnr seed 1): 233 MHz
//! against clk100's 100 MHz; the worst path is the timer's compare and
//! reload (7 logic levels). The status inputs are asynchronous and land only on the first
//! synchroniser flip-flop: in a top, they need no timing constraint.

use crate::bundles::PhyStatus;
use fiberloop_spec::phy::init_state;
use rust_hdl::prelude::*;

/// Bits of the state machine's timer.
pub const TIMER_BITS: usize = 24;
/// The longest duration a timing constant can have, clocks.
pub const MAX_CLOCKS: u32 = 1 << TIMER_BITS;
/// Clocks from a status input to the state machine (the synchroniser).
pub const SYNC_CLOCKS: u64 = 2;
/// Clocks from a loss on a status input (PLOL, RLOL or RLOS high) to the
/// RX lane reset (and, for PLOL, the TX lane reset) being asserted: two in
/// the synchroniser, one for the state and its reset registers.
pub const LOSS_TO_RESET_CLOCKS: u64 = SYNC_CLOCKS + 1;

/// The durations of the bring-up, in clocks of `SerdesInit`'s clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitTiming {
    /// `R`: how long `RESET` holds every reset.
    pub reset_clocks: u32,
    /// `P`: how many clocks in a row PLOL must be low before the TX lane
    /// leaves reset and the CDR is released.
    pub pll_hold_clocks: u32,
    /// `C`: the length of a CDR reset pulse (after a lock timeout, and on
    /// the way back to `CDR` after a loss of signal).
    pub cdr_reset_clocks: u32,
    /// `T`: how long the CDR may stay unlocked with a signal present before
    /// its reset is pulsed again.
    pub cdr_timeout_clocks: u32,
    /// `H`: how many clocks in a row the CDR must stay locked with a signal
    /// before the RX lane leaves reset.
    pub cdr_hold_clocks: u32,
}

impl InitTiming {
    /// The Versa's defaults at clk100 = 100 MHz:
    /// * `R` = 1,000 (10 µs): resets held well beyond the DCU's minimum
    ///   pulse widths, and once per bring-up only;
    /// * `P` = 100 (1 µs): PLOL must stay low that long, so a lock indicator
    ///   that chatters while the PLL settles does not release the TX lane;
    /// * `C` = 1,000 (10 µs): a CDR reset pulse as long as the power-up one;
    /// * `T` = 1,000,000 (10 ms): far beyond the CDR's lock time on a clean
    ///   signal, so a retry means the CDR is stuck, not slow;
    /// * `H` = 62,500 (625 µs): LUNA's hold, after TN1261.
    ///
    /// `READY` comes at the earliest `R + P + H + 1` = 63,601 clocks
    /// (636 µs) after power-up (plus the CDR's lock time after its reset).
    pub const BOARD: InitTiming = InitTiming {
        reset_clocks: 1_000,
        pll_hold_clocks: 100,
        cdr_reset_clocks: 1_000,
        cdr_timeout_clocks: 1_000_000,
        cdr_hold_clocks: 62_500,
    };

    /// Timing with the given `R`, `P`, `C`, `T` and `H` (see the fields).
    pub const fn new(
        reset: u32,
        pll_hold: u32,
        cdr_reset: u32,
        cdr_timeout: u32,
        cdr_hold: u32,
    ) -> Self {
        Self {
            reset_clocks: reset,
            pll_hold_clocks: pll_hold,
            cdr_reset_clocks: cdr_reset,
            cdr_timeout_clocks: cdr_timeout,
            cdr_hold_clocks: cdr_hold,
        }
    }

    /// The constants by name, in field order.
    pub fn named(&self) -> [(&'static str, u32); 5] {
        [
            ("reset_clocks", self.reset_clocks),
            ("pll_hold_clocks", self.pll_hold_clocks),
            ("cdr_reset_clocks", self.cdr_reset_clocks),
            ("cdr_timeout_clocks", self.cdr_timeout_clocks),
            ("cdr_hold_clocks", self.cdr_hold_clocks),
        ]
    }

    /// Checks that every constant is 1..=[`MAX_CLOCKS`].
    pub fn validate(&self) -> Result<(), InitTimingError> {
        for (name, value) in self.named() {
            if !(1..=MAX_CLOCKS).contains(&value) {
                return Err(InitTimingError { name, value });
            }
        }
        Ok(())
    }

    /// The clock `READY` is reached in (clock 0: the first after power-up
    /// or after the last clock with `reset` high), when PLOL is low at the block's input
    /// from clock `pll_locked_at` on and RLOL and RLOS from `cdr_locked_at`
    /// on, with no lock timeout on the way (see [`SerdesInit`]).
    pub fn ready_at(&self, pll_locked_at: u64, cdr_locked_at: u64) -> u64 {
        let cdr_entered = self.tx_ready_at(pll_locked_at);
        cdr_entered.max(cdr_locked_at + SYNC_CLOCKS) + 1 + self.cdr_hold_clocks as u64
    }

    /// The clock the TX lane leaves reset (state `CDR`), when PLOL is low
    /// at the block's input from clock `pll_locked_at` on.
    pub fn tx_ready_at(&self, pll_locked_at: u64) -> u64 {
        (self.reset_clocks as u64).max(pll_locked_at + SYNC_CLOCKS) + self.pll_hold_clocks as u64
    }
}

impl Default for InitTiming {
    fn default() -> Self {
        Self::BOARD
    }
}

/// A timing constant of [`InitTiming`] out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("SerdesInit timing: {name} = {value} clocks is out of range (1..={max} clocks, the 24-bit timer)", max = MAX_CLOCKS)]
pub struct InitTimingError {
    /// The constant's name.
    pub name: &'static str,
    /// Its value.
    pub value: u32,
}

/// The transceiver bring-up state machine (see the module documentation for
/// the order and the rules), clocked by clk100.
///
/// Latency: count clock 0 as the first clock after power-up (or after the
/// last clock with `reset` high). With PLOL low at the input from clock
/// `tp` on, RLOL and RLOS low from clock `tc` on, and no CDR timeout on the
/// way, the TX lane leaves reset (state `CDR`, `tx_ready`) and the CDR
/// reset is released in clock `E = max(R, tp + 2) + P`; the RX lane
/// (state `READY`, `rx_ready`) leaves reset in clock
/// `max(E, tc + 2) + 1 + H` ([`InitTiming::tx_ready_at`],
/// [`InitTiming::ready_at`]). That is `R + P + H + 1` if the flags are low
/// from the start; with an early TX PLL and a CDR that locks `d` clocks
/// after its reset is released (`tc = E + d`), it is `R + P + d + 3 + H`.
/// A loss (PLOL, or RLOL/RLOS in `CDR_HOLD`/`READY`) at the input in clock
/// `u` asserts the RX lane reset (and for PLOL the TX lane reset) in clock
/// `u + 3` ([`LOSS_TO_RESET_CLOCKS`]). The reset outputs and the status
/// port are registers (glitch-free into the DCU); the state, the resets and
/// `tx_ready`/`rx_ready` change together. Throughput: n/a (a control
/// block).
///
/// Reset: at power-up every register is zero: state `RESET` with every reset
/// held, timer and counters zero. `reset` (synchronous, clk100) does the
/// same: while it is high the state is `RESET`, the counters are cleared,
/// and `RESET` lasts `R` clocks from the clock after its last high clock.
/// The status port's `tx_pll_locked` and `cdr_locked` read high for the
/// first two clocks after power-up (the synchronisers start at zero); the
/// counters are 32 bits and wrap.
///
/// The status port is in the clk100 domain: a consumer on another clock
/// must synchronise it.
#[derive(LogicBlock)]
pub struct SerdesInit {
    /// clk100 (always running).
    pub clock: Signal<In, Clock>,
    /// Synchronous: back to `RESET`, counters cleared.
    pub reset: Signal<In, Bit>,
    /// TX PLL loss of lock (`D_FFS_PLOL`), asynchronous.
    pub tx_pll_lol: Signal<In, Bit>,
    /// CDR loss of lock (`CHx_FFS_RLOL`), asynchronous.
    pub rx_cdr_lol: Signal<In, Bit>,
    /// Loss of signal (`CHx_FFS_RLOS`), asynchronous.
    pub rx_los: Signal<In, Bit>,
    /// TX PLL reset (`D_FFC_TRST`), high = reset.
    pub tx_pll_rst: Signal<Out, Bit>,
    /// CDR reset (`CHx_FFC_RRST`).
    pub rx_cdr_rst: Signal<Out, Bit>,
    /// TX lane reset (`CHx_FFC_LANE_TX_RST`).
    pub tx_lane_rst: Signal<Out, Bit>,
    /// RX lane reset (`CHx_FFC_LANE_RX_RST`).
    pub rx_lane_rst: Signal<Out, Bit>,
    /// The bring-up report, in the clk100 domain.
    pub status: PhyStatus,
    pll_lol_s1: DFF<Bit>,
    pll_lol_s2: DFF<Bit>,
    cdr_lol_s1: DFF<Bit>,
    cdr_lol_s2: DFF<Bit>,
    los_s1: DFF<Bit>,
    los_s2: DFF<Bit>,
    state: DFF<Bits<4>>,
    /// In `CDR`: the CDR reset is being pulsed.
    pulse: DFF<Bit>,
    timer: DFF<Bits<TIMER_BITS>>,
    /// The resets, stored as "released" so that power-up (zero) holds them.
    run_tx_pll: DFF<Bit>,
    run_cdr: DFF<Bit>,
    run_tx_lane: DFF<Bit>,
    run_rx_lane: DFF<Bit>,
    restarts: DFF<Bits<32>>,
    los_events: DFF<Bits<32>>,
    cdr_retries: DFF<Bits<32>>,
    next_state: Signal<Local, Bits<4>>,
    next_pulse: Signal<Local, Bit>,
    st_reset: Constant<Bits<4>>,
    st_tx_pll: Constant<Bits<4>>,
    st_cdr: Constant<Bits<4>>,
    st_cdr_hold: Constant<Bits<4>>,
    st_ready: Constant<Bits<4>>,
    /// Each duration minus one: the timer's value in the duration's last
    /// clock.
    reset_last: Constant<Bits<TIMER_BITS>>,
    pll_hold_last: Constant<Bits<TIMER_BITS>>,
    cdr_reset_last: Constant<Bits<TIMER_BITS>>,
    cdr_timeout_last: Constant<Bits<TIMER_BITS>>,
    cdr_hold_last: Constant<Bits<TIMER_BITS>>,
}

impl SerdesInit {
    /// The state machine with `timing`; an error names the constant out of
    /// range.
    pub fn try_new(timing: InitTiming) -> Result<Self, InitTimingError> {
        timing.validate()?;
        let st = |s: u32| Constant::new(Bits::<4>::from(s as u64));
        let last = |n: u32| Constant::new(Bits::<TIMER_BITS>::from(n as u64 - 1));
        Ok(Self {
            clock: Default::default(),
            reset: Default::default(),
            tx_pll_lol: Default::default(),
            rx_cdr_lol: Default::default(),
            rx_los: Default::default(),
            tx_pll_rst: Default::default(),
            rx_cdr_rst: Default::default(),
            tx_lane_rst: Default::default(),
            rx_lane_rst: Default::default(),
            status: Default::default(),
            pll_lol_s1: Default::default(),
            pll_lol_s2: Default::default(),
            cdr_lol_s1: Default::default(),
            cdr_lol_s2: Default::default(),
            los_s1: Default::default(),
            los_s2: Default::default(),
            state: Default::default(),
            pulse: Default::default(),
            timer: Default::default(),
            run_tx_pll: Default::default(),
            run_cdr: Default::default(),
            run_tx_lane: Default::default(),
            run_rx_lane: Default::default(),
            restarts: Default::default(),
            los_events: Default::default(),
            cdr_retries: Default::default(),
            next_state: Default::default(),
            next_pulse: Default::default(),
            st_reset: st(init_state::RESET),
            st_tx_pll: st(init_state::TX_PLL),
            st_cdr: st(init_state::CDR),
            st_cdr_hold: st(init_state::CDR_HOLD),
            st_ready: st(init_state::READY),
            reset_last: last(timing.reset_clocks),
            pll_hold_last: last(timing.pll_hold_clocks),
            cdr_reset_last: last(timing.cdr_reset_clocks),
            cdr_timeout_last: last(timing.cdr_timeout_clocks),
            cdr_hold_last: last(timing.cdr_hold_clocks),
        })
    }

    /// The state machine with `timing`. Panics with the message of
    /// [`InitTimingError`] when a constant is out of range.
    pub fn new(timing: InitTiming) -> Self {
        Self::try_new(timing).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Default for SerdesInit {
    /// With the board's timing, [`InitTiming::BOARD`].
    fn default() -> Self {
        Self::new(InitTiming::BOARD)
    }
}

#[allow(unused_parens)]
impl Logic for SerdesInit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            pll_lol_s1,
            pll_lol_s2,
            cdr_lol_s1,
            cdr_lol_s2,
            los_s1,
            los_s2,
            state,
            pulse,
            timer,
            run_tx_pll,
            run_cdr,
            run_tx_lane,
            run_rx_lane,
            restarts,
            los_events,
            cdr_retries
        );
        // Two-flip-flop synchronisers for the asynchronous status flags.
        self.pll_lol_s1.d.next = self.tx_pll_lol.val();
        self.pll_lol_s2.d.next = self.pll_lol_s1.q.val();
        self.cdr_lol_s1.d.next = self.rx_cdr_lol.val();
        self.cdr_lol_s2.d.next = self.cdr_lol_s1.q.val();
        self.los_s1.d.next = self.rx_los.val();
        self.los_s2.d.next = self.los_s1.q.val();

        self.next_state.next = self.state.q.val();
        self.next_pulse.next = false;
        self.timer.d.next = self.timer.q.val() + 1;
        if self.state.q.val() == self.st_reset.val() {
            if self.timer.q.val() == self.reset_last.val() {
                self.next_state.next = self.st_tx_pll.val();
                self.timer.d.next = 0.into();
            }
        } else if self.state.q.val() == self.st_tx_pll.val() {
            if self.pll_lol_s2.q.val() {
                self.timer.d.next = 0.into();
            } else if self.timer.q.val() == self.pll_hold_last.val() {
                self.next_state.next = self.st_cdr.val();
                self.timer.d.next = 0.into();
            }
        } else if self.state.q.val() == self.st_cdr.val() {
            self.next_pulse.next = self.pulse.q.val();
            if self.pll_lol_s2.q.val() {
                self.next_state.next = self.st_reset.val();
                self.next_pulse.next = false;
                self.timer.d.next = 0.into();
                self.restarts.d.next = self.restarts.q.val() + 1;
            } else if self.pulse.q.val() {
                if self.timer.q.val() == self.cdr_reset_last.val() {
                    self.next_pulse.next = false;
                    self.timer.d.next = 0.into();
                }
            } else if (!self.cdr_lol_s2.q.val()) & (!self.los_s2.q.val()) {
                self.next_state.next = self.st_cdr_hold.val();
                self.timer.d.next = 0.into();
            } else if self.los_s2.q.val() {
                self.timer.d.next = 0.into();
            } else if self.timer.q.val() == self.cdr_timeout_last.val() {
                self.next_pulse.next = true;
                self.timer.d.next = 0.into();
                self.cdr_retries.d.next = self.cdr_retries.q.val() + 1;
            }
        } else if (self.state.q.val() == self.st_cdr_hold.val())
            | (self.state.q.val() == self.st_ready.val())
        {
            if self.pll_lol_s2.q.val() {
                self.next_state.next = self.st_reset.val();
                self.timer.d.next = 0.into();
                self.restarts.d.next = self.restarts.q.val() + 1;
            } else if self.los_s2.q.val() {
                self.next_state.next = self.st_cdr.val();
                self.next_pulse.next = true;
                self.timer.d.next = 0.into();
                self.los_events.d.next = self.los_events.q.val() + 1;
            } else if self.cdr_lol_s2.q.val() {
                self.next_state.next = self.st_reset.val();
                self.timer.d.next = 0.into();
                self.restarts.d.next = self.restarts.q.val() + 1;
            } else if self.state.q.val() == self.st_ready.val() {
                self.timer.d.next = 0.into();
            } else if self.timer.q.val() == self.cdr_hold_last.val() {
                self.next_state.next = self.st_ready.val();
                self.timer.d.next = 0.into();
            }
        } else {
            // Codes 5..15 are never entered; leave them for RESET.
            self.next_state.next = self.st_reset.val();
            self.timer.d.next = 0.into();
        }
        if self.reset.val() {
            self.next_state.next = self.st_reset.val();
            self.next_pulse.next = false;
            self.timer.d.next = 0.into();
            self.restarts.d.next = 0.into();
            self.los_events.d.next = 0.into();
            self.cdr_retries.d.next = 0.into();
        }
        self.state.d.next = self.next_state.val();
        self.pulse.d.next = self.next_pulse.val();
        // The resets of the next state, registered with it.
        self.run_tx_pll.d.next = self.next_state.val() != self.st_reset.val();
        self.run_tx_lane.d.next = self.next_state.val() >= self.st_cdr.val();
        self.run_cdr.d.next =
            (self.next_state.val() >= self.st_cdr.val()) & (!self.next_pulse.val());
        self.run_rx_lane.d.next = self.next_state.val() == self.st_ready.val();

        self.tx_pll_rst.next = !self.run_tx_pll.q.val();
        self.rx_cdr_rst.next = !self.run_cdr.q.val();
        self.tx_lane_rst.next = !self.run_tx_lane.q.val();
        self.rx_lane_rst.next = !self.run_rx_lane.q.val();
        self.status.state.next = self.state.q.val();
        self.status.tx_pll_locked.next = !self.pll_lol_s2.q.val();
        self.status.cdr_locked.next = !self.cdr_lol_s2.q.val();
        self.status.los.next = self.los_s2.q.val();
        self.status.tx_ready.next = self.run_tx_lane.q.val();
        self.status.rx_ready.next = self.run_rx_lane.q.val();
        self.status.restarts.next = self.restarts.q.val();
        self.status.los_events.next = self.los_events.q.val();
        self.status.cdr_retries.next = self.cdr_retries.q.val();
    }
}

/// The inputs of [`SerdesInit`] in one clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InitIn {
    /// `reset`.
    pub reset: bool,
    /// `tx_pll_lol` (PLOL).
    pub tx_pll_lol: bool,
    /// `rx_cdr_lol` (RLOL).
    pub rx_cdr_lol: bool,
    /// `rx_los` (RLOS).
    pub rx_los: bool,
}

/// The outputs of [`SerdesInit`] in one clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InitOut {
    /// `tx_pll_rst`.
    pub tx_pll_rst: bool,
    /// `rx_cdr_rst`.
    pub rx_cdr_rst: bool,
    /// `tx_lane_rst`.
    pub tx_lane_rst: bool,
    /// `rx_lane_rst`.
    pub rx_lane_rst: bool,
    /// `status.state` (`init_state`).
    pub state: u32,
    /// `status.tx_pll_locked`.
    pub tx_pll_locked: bool,
    /// `status.cdr_locked`.
    pub cdr_locked: bool,
    /// `status.los`.
    pub los: bool,
    /// `status.tx_ready`.
    pub tx_ready: bool,
    /// `status.rx_ready`.
    pub rx_ready: bool,
    /// `status.restarts`.
    pub restarts: u32,
    /// `status.los_events`.
    pub los_events: u32,
    /// `status.cdr_retries`.
    pub cdr_retries: u32,
}

/// Cycle model of [`SerdesInit`].
#[derive(Clone, Debug)]
pub struct SerdesInitModel {
    timing: InitTiming,
    /// Synchroniser stages of (PLOL, RLOL, RLOS): `[first, second]`.
    sync: [[bool; 2]; 3],
    state: u32,
    pulse: bool,
    timer: u32,
    restarts: u32,
    los_events: u32,
    cdr_retries: u32,
}

impl SerdesInitModel {
    /// The model at power-up. Panics like [`SerdesInit::new`] on bad timing.
    pub fn new(timing: InitTiming) -> Self {
        if let Err(e) = timing.validate() {
            panic!("{e}");
        }
        Self {
            timing,
            sync: [[false; 2]; 3],
            state: init_state::RESET,
            pulse: false,
            timer: 0,
            restarts: 0,
            los_events: 0,
            cdr_retries: 0,
        }
    }

    /// The current state (`init_state`).
    pub fn state(&self) -> u32 {
        self.state
    }

    /// The outputs of one clock (from the registers), then the clock edge.
    pub fn step(&mut self, i: InitIn) -> InitOut {
        use init_state::*;
        let [pll_lol, cdr_lol, los] = [self.sync[0][1], self.sync[1][1], self.sync[2][1]];
        let out = self.outputs();
        let t = self.timing;
        let timer_done = |n: u32| self.timer == n - 1;
        // (next state, CDR pulse, timer restarts)
        let (state, pulse, restart) = match self.state {
            RESET if timer_done(t.reset_clocks) => (TX_PLL, false, true),
            RESET => (RESET, false, false),
            TX_PLL if pll_lol => (TX_PLL, false, true),
            TX_PLL if timer_done(t.pll_hold_clocks) => (CDR, false, true),
            TX_PLL => (TX_PLL, false, false),
            CDR if pll_lol => {
                self.restarts = self.restarts.wrapping_add(1);
                (RESET, false, true)
            }
            CDR if self.pulse => match timer_done(t.cdr_reset_clocks) {
                true => (CDR, false, true),
                false => (CDR, true, false),
            },
            CDR if !cdr_lol && !los => (CDR_HOLD, false, true),
            CDR if los => (CDR, false, true),
            CDR if timer_done(t.cdr_timeout_clocks) => {
                self.cdr_retries = self.cdr_retries.wrapping_add(1);
                (CDR, true, true)
            }
            CDR => (CDR, false, false),
            CDR_HOLD | READY if pll_lol || (cdr_lol && !los) => {
                self.restarts = self.restarts.wrapping_add(1);
                (RESET, false, true)
            }
            CDR_HOLD | READY if los => {
                self.los_events = self.los_events.wrapping_add(1);
                (CDR, true, true)
            }
            READY => (READY, false, true),
            CDR_HOLD if timer_done(t.cdr_hold_clocks) => (READY, false, true),
            CDR_HOLD => (CDR_HOLD, false, false),
            s => unreachable!("state {s}"),
        };
        (self.state, self.pulse) = (state, pulse);
        self.timer = if restart { 0 } else { self.timer + 1 };
        if i.reset {
            (self.state, self.pulse, self.timer) = (RESET, false, 0);
            (self.restarts, self.los_events, self.cdr_retries) = (0, 0, 0);
        }
        for (k, x) in [i.tx_pll_lol, i.rx_cdr_lol, i.rx_los]
            .into_iter()
            .enumerate()
        {
            self.sync[k] = [x, self.sync[k][0]];
        }
        out
    }

    fn outputs(&self) -> InitOut {
        use init_state::*;
        let s = self.state;
        InitOut {
            tx_pll_rst: s == RESET,
            rx_cdr_rst: s < CDR || (s == CDR && self.pulse),
            tx_lane_rst: s < CDR,
            rx_lane_rst: s != READY,
            state: s,
            tx_pll_locked: !self.sync[0][1],
            cdr_locked: !self.sync[1][1],
            los: self.sync[2][1],
            tx_ready: s >= CDR,
            rx_ready: s == READY,
            restarts: self.restarts,
            los_events: self.los_events,
            cdr_retries: self.cdr_retries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::lockstep::{self, CycleModel, Verilated};
    use fiberloop_harness::verilator::{VerilatedLibrary, VerilatorBuild};
    use init_state::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::{Arc, OnceLock};

    /// The timing of the Verilator tests: short, with `C <= R + P` and
    /// `T` well below `H` so every path is reached in a few thousand clocks.
    const T: InitTiming = InitTiming::new(20, 6, 9, 150, 120);

    impl CycleModel for SerdesInitModel {
        type In = InitIn;
        type Out = InitOut;
        fn step(&mut self, i: &InitIn) -> InitOut {
            SerdesInitModel::step(self, *i)
        }
    }

    /// The block with [`T`], verilated once per test process.
    fn library() -> Arc<VerilatedLibrary> {
        static LIB: OnceLock<Arc<VerilatedLibrary>> = OnceLock::new();
        LIB.get_or_init(|| {
            let mut uut = SerdesInit::new(T);
            uut.connect_all();
            VerilatorBuild::from_block(&uut).build().unwrap()
        })
        .clone()
    }

    /// The block under Verilator, as a [`CycleModel`].
    fn hardware() -> Verilated<InitIn, InitOut> {
        let ins = ["reset", "tx_pll_lol", "rx_cdr_lol", "rx_los"];
        let outs = [
            "tx_pll_rst",
            "rx_cdr_rst",
            "tx_lane_rst",
            "rx_lane_rst",
            "status$state",
            "status$tx_pll_locked",
            "status$cdr_locked",
            "status$los",
            "status$tx_ready",
            "status$rx_ready",
            "status$restarts",
            "status$los_events",
            "status$cdr_retries",
        ];
        let drive = |i: &InitIn, p: &mut [u64]| {
            p[0] = i.reset as u64;
            p[1] = i.tx_pll_lol as u64;
            p[2] = i.rx_cdr_lol as u64;
            p[3] = i.rx_los as u64;
        };
        let read = |g: &[u64]| InitOut {
            tx_pll_rst: g[0] != 0,
            rx_cdr_rst: g[1] != 0,
            tx_lane_rst: g[2] != 0,
            rx_lane_rst: g[3] != 0,
            state: g[4] as u32,
            tx_pll_locked: g[5] != 0,
            cdr_locked: g[6] != 0,
            los: g[7] != 0,
            tx_ready: g[8] != 0,
            rx_ready: g[9] != 0,
            restarts: g[10] as u32,
            los_events: g[11] as u32,
            cdr_retries: g[12] as u32,
        };
        Verilated::new(library().instantiate(), "clock", &ins, &outs, drive, read)
    }

    /// A transceiver's status flags as the state machine sees them, driven by
    /// its resets (a behavioural stand-in for the DCU, clocked by clk100):
    /// the TX PLL locks `pll_lock` clocks after its reset is released; the
    /// CDR locks `cdr_lock` clocks after its reset is released with light
    /// present, except in its first `cdr_dead` attempts (an attempt is a
    /// release of the CDR reset), where it never locks; its first `flaps`
    /// locks last `flap_len` clocks each, then it unlocks for `flap_gap`
    /// clocks and locks again by itself. Events scheduled by clock: the light
    /// goes off (RLOS high, the CDR unlocks) and on, the TX PLL loses lock
    /// (and stays unlocked until its reset), and a raw flag glitches for one
    /// clock.
    #[derive(Clone, Debug, Default)]
    struct Xcvr {
        pll_lock: u32,
        cdr_lock: u32,
        cdr_dead: u32,
        flaps: u32,
        flap_len: u32,
        flap_gap: u32,
        /// Clocks when the light goes off / on.
        dark: Vec<(u64, u64)>,
        /// Clocks when the TX PLL loses lock.
        pll_drops: Vec<u64>,
        /// (clock, flag 0..3): that flag reads inverted for that clock.
        glitches: Vec<(u64, usize)>,
        clock: u64,
        pll_count: u32,
        pll_broken: bool,
        cdr_rst: bool,
        attempts: u32,
        cdr_count: u32,
        /// Clocks left in the current flap's unlocked gap.
        gap_left: u32,
        locked_for: u32,
    }

    impl Xcvr {
        fn dark_at(&self, c: u64) -> bool {
            self.dark.iter().any(|&(a, b)| (a..b).contains(&c))
        }
        fn pll_locked(&self) -> bool {
            !self.pll_broken && self.pll_count >= self.pll_lock
        }
        fn cdr_locked(&self) -> bool {
            !self.cdr_rst
                && !self.dark_at(self.clock)
                && self.attempts > self.cdr_dead
                && self.gap_left == 0
                && self.cdr_count >= self.cdr_lock
        }
        /// The flags in the current clock (before glitches): PLOL, RLOL, RLOS.
        fn clean_flags(&self) -> [bool; 3] {
            [
                !self.pll_locked(),
                !self.cdr_locked(),
                self.dark_at(self.clock),
            ]
        }
        /// The block's inputs in the current clock.
        fn input(&self) -> InitIn {
            let mut f = self.clean_flags();
            for &(c, k) in &self.glitches {
                if c == self.clock {
                    f[k] = !f[k];
                }
            }
            InitIn {
                reset: false,
                tx_pll_lol: f[0],
                rx_cdr_lol: f[1],
                rx_los: f[2],
            }
        }
        /// The clock edge, seeing the block's resets of this clock.
        fn step(&mut self, o: &InitOut) {
            // TX PLL.
            if o.tx_pll_rst {
                (self.pll_count, self.pll_broken) = (0, false);
            } else {
                self.pll_count = self.pll_count.saturating_add(1);
            }
            if self.pll_drops.contains(&self.clock) {
                self.pll_broken = true;
            }
            // CDR.
            if o.rx_cdr_rst {
                self.cdr_rst = true;
                (self.cdr_count, self.gap_left, self.locked_for) = (0, 0, 0);
            } else {
                if self.cdr_rst {
                    self.attempts += 1;
                }
                self.cdr_rst = false;
                let was_locked = self.cdr_locked();
                if self.dark_at(self.clock) {
                    (self.cdr_count, self.locked_for) = (0, 0);
                } else if self.gap_left > 0 {
                    self.gap_left -= 1;
                } else {
                    self.cdr_count = self.cdr_count.saturating_add(1);
                }
                if was_locked {
                    self.locked_for += 1;
                    if self.flaps > 0 && self.locked_for >= self.flap_len {
                        self.flaps -= 1;
                        (self.gap_left, self.locked_for) = (self.flap_gap, 0);
                    }
                }
            }
            self.clock += 1;
        }
    }

    /// What a run saw: every clock's inputs and outputs.
    struct Trace {
        ins: Vec<InitIn>,
        outs: Vec<InitOut>,
    }

    impl Trace {
        /// The first clock at or after `from` in state `s`.
        fn first(&self, s: u32, from: usize) -> Option<usize> {
            (from..self.outs.len()).find(|&c| self.outs[c].state == s)
        }
        fn last(&self) -> InitOut {
            *self.outs.last().unwrap()
        }
        /// The first clock from which `f` holds to the end of the trace.
        fn holds_from(&self, f: impl Fn(&InitIn) -> bool) -> u64 {
            let mut c = self.ins.len();
            while c > 0 && f(&self.ins[c - 1]) {
                c -= 1;
            }
            c as u64
        }
    }

    /// Runs `xcvr` in a closed loop with the block under Verilator and the
    /// model in lockstep for `clocks`, then checks the invariants.
    fn run(xcvr: Xcvr, clocks: usize) -> Trace {
        run_with_resets(xcvr, clocks, &[])
    }

    /// [`run`], with `reset` high in the clocks listed.
    fn run_with_resets(xcvr: Xcvr, clocks: usize, resets: &[u64]) -> Trace {
        let x = Rc::new(RefCell::new(xcvr));
        let x_in = x.clone();
        let resets = resets.to_vec();
        let inputs = (0..clocks as u64).map(move |c| {
            let mut i = x_in.borrow().input();
            i.reset = resets.contains(&c);
            i
        });
        let mut trace = Trace {
            ins: vec![],
            outs: vec![],
        };
        lockstep::run_observed(
            &mut hardware(),
            &mut SerdesInitModel::new(T),
            inputs,
            |i, o| {
                x.borrow_mut().step(o);
                trace.ins.push(*i);
                trace.outs.push(*o);
            },
        );
        check_invariants(&trace, &T);
        trace
    }

    /// The documented order, checked on a trace, clock by clock.
    fn check_invariants(tr: &Trace, t: &InitTiming) {
        let (ins, outs) = (&tr.ins, &tr.outs);
        let n = outs.len();
        let l = LOSS_TO_RESET_CLOCKS as usize;
        let (h, p) = (t.cdr_hold_clocks as usize, t.pll_hold_clocks as usize);
        let reset_since = |a: usize, b: usize| (a..=b).any(|c| ins[c].reset);
        for c in 0..n {
            let o = &outs[c];
            // The resets follow the state.
            assert_eq!(o.tx_pll_rst, o.state == RESET, "clock {c}: {o:?}");
            assert_eq!(o.tx_lane_rst, o.state < CDR, "clock {c}: {o:?}");
            assert_eq!(o.rx_lane_rst, o.state != READY, "clock {c}: {o:?}");
            assert!(o.rx_cdr_rst || o.state >= CDR, "clock {c}: {o:?}");
            assert!(!o.rx_cdr_rst || o.state <= CDR, "clock {c}: {o:?}");
            assert_eq!((o.tx_ready, o.rx_ready), (!o.tx_lane_rst, !o.rx_lane_rst));
            // The status flags are the inputs, two clocks late.
            if c >= 2 {
                let i = &ins[c - 2];
                assert_eq!(
                    (o.tx_pll_locked, o.cdr_locked, o.los),
                    (!i.tx_pll_lol, !i.rx_cdr_lol, i.rx_los),
                    "clock {c}"
                );
            }
            // A loss asserts the lane resets within L clocks (PLOL both;
            // RLOL or RLOS the RX lane).
            if c + l < n {
                let i = &ins[c];
                if i.tx_pll_lol {
                    assert!(
                        outs[c + l].tx_lane_rst,
                        "TX lane out of reset {l} clocks after PLOL at {c}"
                    );
                }
                if i.tx_pll_lol || i.rx_cdr_lol || i.rx_los {
                    assert!(
                        outs[c + l].rx_lane_rst,
                        "RX lane out of reset {l} clocks after a loss at {c}"
                    );
                }
            }
            if c == 0 {
                assert_eq!(o.state, RESET);
                continue;
            }
            let prev = &outs[c - 1];
            // Legal transitions only.
            let ok = match (prev.state, o.state) {
                (a, b) if a == b => true,
                (_, RESET) => true,
                (RESET, TX_PLL) | (TX_PLL, CDR) | (CDR, CDR_HOLD) => true,
                (CDR_HOLD, READY) | (CDR_HOLD, CDR) | (READY, CDR) => true,
                _ => false,
            };
            assert!(ok, "clock {c}: {} -> {}", prev.state, o.state);
            // Counters move by one, on their event only (or clear on reset).
            let cleared = ins[c - 1].reset;
            let to_reset = prev.state >= CDR && o.state == RESET && !cleared;
            let to_cdr = prev.state >= CDR_HOLD && o.state == CDR && !cleared;
            let retry = prev.state == CDR && o.state == CDR && !prev.rx_cdr_rst && o.rx_cdr_rst;
            if cleared {
                assert_eq!((o.restarts, o.los_events, o.cdr_retries), (0, 0, 0));
            } else {
                assert_eq!(o.restarts, prev.restarts + to_reset as u32, "clock {c}");
                assert_eq!(o.los_events, prev.los_events + to_cdr as u32, "clock {c}");
                assert_eq!(o.cdr_retries, prev.cdr_retries + retry as u32, "clock {c}");
            }
            // The TX lane leaves reset only after PLOL was low for P clocks
            // in a row (at the input, L clocks before).
            if prev.tx_lane_rst && !o.tx_lane_rst {
                assert!(c >= p + l, "clock {c}");
                let bad = (c - l - (p - 1)..=c - l).find(|&u| ins[u].tx_pll_lol);
                assert!(
                    bad.is_none(),
                    "TX lane released at {c}, PLOL high at {bad:?}"
                );
            }
            // The RX lane leaves reset only after the CDR was released and
            // locked with a signal (and the TX PLL locked) for H + 1 clocks
            // in a row at the input, and the reset of the CDR was released
            // the whole time.
            if prev.rx_lane_rst && !o.rx_lane_rst {
                assert!(c > h + l, "clock {c}");
                assert!(!reset_since(c - l - h, c - 1));
                let bad = (c - l - h..=c - l).find(|&u| {
                    let i = &ins[u];
                    i.tx_pll_lol || i.rx_cdr_lol || i.rx_los
                });
                assert!(
                    bad.is_none(),
                    "RX lane released at {c}, lock or signal missing at {bad:?}"
                );
                let bad = (c - h..c).find(|&u| outs[u].rx_cdr_rst || outs[u].state != CDR_HOLD);
                assert!(
                    bad.is_none(),
                    "RX lane released at {c}, not held at {bad:?}"
                );
            }
        }
        // Every completed run of a reset lasts its minimum.
        let runs = |f: &dyn Fn(&InitOut) -> bool| {
            let mut v = vec![];
            let mut start = None;
            for (c, o) in outs.iter().enumerate() {
                match (start, f(o)) {
                    (None, true) => start = Some(c),
                    (Some(s), false) => {
                        v.push((s, c - s));
                        start = None;
                    }
                    _ => {}
                }
            }
            v
        };
        for (s, len) in runs(&|o| o.tx_pll_rst) {
            assert!(
                len >= t.reset_clocks as usize,
                "RESET from {s} lasted {len}"
            );
        }
        let min_cdr = (t.cdr_reset_clocks).min(t.reset_clocks + t.pll_hold_clocks) as usize;
        for (s, len) in runs(&|o| o.rx_cdr_rst) {
            assert!(len >= min_cdr, "CDR reset from {s} lasted {len}");
        }
    }

    #[test]
    fn serdes_init_clean_power_up() {
        let tr = run(
            Xcvr {
                pll_lock: 3,
                cdr_lock: 4,
                ..Default::default()
            },
            1_000,
        );
        let ready = tr.first(READY, 0).expect("never READY") as u64;
        let pll_at = tr.holds_from(|i| !i.tx_pll_lol);
        let cdr_at = tr.holds_from(|i| !i.rx_cdr_lol && !i.rx_los);
        assert_eq!(ready, T.ready_at(pll_at, cdr_at));
        assert_eq!(tr.first(CDR, 0).unwrap() as u64, T.tx_ready_at(pll_at));
        let o = tr.last();
        assert_eq!(
            (o.state, o.restarts, o.los_events, o.cdr_retries),
            (READY, 0, 0, 0)
        );
        assert!(o.tx_pll_locked && o.cdr_locked && !o.los);
        println!(
            "clean power-up: READY in clock {ready} (R {} P {} H {})",
            T.reset_clocks, T.pll_hold_clocks, T.cdr_hold_clocks
        );
    }

    /// Flags low from the first clock (open loop): `READY` in clock
    /// `R + P + H + 1`.
    #[test]
    fn serdes_init_flags_low_from_the_start() {
        let mut tr = Trace {
            ins: vec![InitIn::default(); 400],
            outs: vec![],
        };
        lockstep::run_observed(
            &mut hardware(),
            &mut SerdesInitModel::new(T),
            tr.ins.clone(),
            |_, o| tr.outs.push(*o),
        );
        check_invariants(&tr, &T);
        let t = T;
        let want = (t.reset_clocks + t.pll_hold_clocks + t.cdr_hold_clocks + 1) as usize;
        assert_eq!(tr.first(READY, 0), Some(want));
        assert_eq!(want as u64, t.ready_at(0, 0));
    }

    #[test]
    fn serdes_init_slow_tx_pll() {
        // The PLL takes ten times the RESET time; PLOL chatters twice on the
        // way (a glitch low for a clock must not release the TX lane).
        let lock = 10 * T.reset_clocks;
        let release = T.reset_clocks as u64;
        let tr = run(
            Xcvr {
                pll_lock: lock,
                cdr_lock: 10,
                glitches: vec![(release + 50, 0), (release + 100, 0)],
                ..Default::default()
            },
            2_000,
        );
        let pll_at = tr.holds_from(|i| !i.tx_pll_lol);
        assert!(pll_at >= release + lock as u64);
        let cdr = tr.first(CDR, 0).unwrap() as u64;
        assert_eq!(cdr, T.tx_ready_at(pll_at));
        assert!(tr.outs[..cdr as usize]
            .iter()
            .all(|o| o.tx_lane_rst && o.rx_cdr_rst));
        let o = tr.last();
        assert_eq!((o.state, o.restarts, o.cdr_retries), (READY, 0, 0));
    }

    #[test]
    fn serdes_init_slow_cdr_retries() {
        let dead = 3;
        let tr = run(
            Xcvr {
                cdr_lock: 10,
                cdr_dead: dead,
                ..Default::default()
            },
            3_000,
        );
        let o = tr.last();
        assert_eq!((o.state, o.restarts, o.los_events), (READY, 0, 0));
        assert_eq!(o.cdr_retries, dead);
        // Each retry comes T clocks after the CDR reset's release and pulses
        // it for C clocks.
        let cdr = tr.first(CDR, 0).unwrap();
        let rises: Vec<usize> = (cdr + 1..tr.outs.len())
            .filter(|&c| tr.outs[c].rx_cdr_rst && !tr.outs[c - 1].rx_cdr_rst)
            .collect();
        assert_eq!(rises.len(), dead as usize);
        assert_eq!(rises[0] - cdr, T.cdr_timeout_clocks as usize);
        for w in rises.windows(2) {
            let period = (T.cdr_reset_clocks + T.cdr_timeout_clocks) as usize;
            assert_eq!(w[1] - w[0], period);
        }
        for &r in &rises {
            assert!((r..r + T.cdr_reset_clocks as usize).all(|c| tr.outs[c].rx_cdr_rst));
            assert!(!tr.outs[r + T.cdr_reset_clocks as usize].rx_cdr_rst);
        }
    }

    #[test]
    fn serdes_init_flapping_lock_never_ready_until_it_holds() {
        // The CDR's first four locks last less than the hold time.
        let flaps = 4;
        let tr = run(
            Xcvr {
                cdr_lock: 5,
                flaps,
                flap_len: T.cdr_hold_clocks / 2,
                flap_gap: 7,
                ..Default::default()
            },
            4_000,
        );
        let o = tr.last();
        assert_eq!((o.state, o.los_events), (READY, 0));
        assert_eq!(o.restarts, flaps);
        // READY only after the last flap, and only once.
        let ready = tr.first(READY, 0).unwrap();
        assert_eq!(tr.outs[ready].restarts, flaps);
        assert!(tr.outs[ready..].iter().all(|o| o.state == READY));
        // Every CDR_HOLD episode before it ended in RESET.
        let mut broken_holds = 0;
        for c in 1..ready {
            if tr.outs[c - 1].state == CDR_HOLD && tr.outs[c].state != CDR_HOLD {
                assert_eq!(tr.outs[c].state, RESET);
                broken_holds += 1;
            }
        }
        assert_eq!(broken_holds, flaps);
    }

    #[test]
    fn serdes_init_pll_loss_in_ready_restarts() {
        let drop = 700;
        let tr = run(
            Xcvr {
                pll_lock: 10,
                cdr_lock: 10,
                pll_drops: vec![drop],
                ..Default::default()
            },
            1_400,
        );
        let first = tr.first(READY, 0).unwrap();
        assert!(first < drop as usize);
        // PLOL rises at the input in the clock after the drop.
        let lost = (drop + 1) as usize;
        assert!(tr.ins[lost].tx_pll_lol && !tr.ins[lost - 1].tx_pll_lol);
        let l = LOSS_TO_RESET_CLOCKS as usize;
        assert_eq!(tr.outs[lost + l - 1].state, READY);
        assert_eq!(tr.outs[lost + l].state, RESET);
        let o = tr.last();
        assert_eq!(
            (o.state, o.restarts, o.los_events, o.cdr_retries),
            (READY, 1, 0, 0)
        );
    }

    #[test]
    fn serdes_init_cut_returns_to_cdr_and_relocks() {
        // Dark for longer than the CDR timeout: no retries while dark.
        let (off, on) = (800u64, 800 + 3 * T.cdr_timeout_clocks as u64);
        let tr = run(
            Xcvr {
                pll_lock: 5,
                cdr_lock: 12,
                dark: vec![(off, on)],
                ..Default::default()
            },
            2_500,
        );
        let l = LOSS_TO_RESET_CLOCKS as usize;
        let off = off as usize;
        assert_eq!(tr.outs[off + l - 1].state, READY);
        assert_eq!(tr.outs[off + l].state, CDR);
        assert!(tr.outs[off + l].rx_cdr_rst && tr.outs[off + l].rx_lane_rst);
        // Still in CDR, CDR reset released, while dark.
        assert!((off + l + T.cdr_reset_clocks as usize..on as usize)
            .all(|c| tr.outs[c].state == CDR && !tr.outs[c].rx_cdr_rst));
        let back = tr.first(READY, off + l).unwrap() as u64;
        let cdr_at = tr.holds_from(|i| !i.rx_cdr_lol && !i.rx_los);
        assert_eq!(back, cdr_at + SYNC_CLOCKS + 1 + T.cdr_hold_clocks as u64);
        let o = tr.last();
        assert_eq!(
            (o.state, o.restarts, o.los_events, o.cdr_retries),
            (READY, 0, 1, 0)
        );
        assert!(o.tx_ready, "the TX lane stays out of reset through a cut");
        assert!(tr.outs[off..].iter().all(|o| o.tx_ready));
    }

    #[test]
    fn serdes_init_reset_input_restarts_and_clears() {
        let tr = run_with_resets(
            Xcvr {
                cdr_dead: 1,
                ..Default::default()
            },
            1_200,
            &[600, 601, 602],
        );
        assert!(tr.outs[600].cdr_retries == 1 && tr.outs[600].state == READY);
        assert_eq!(tr.outs[601].state, RESET);
        assert_eq!(tr.outs[601].cdr_retries, 0);
        // RESET counts from the clock after the last reset clock (603); the
        // transceiver's CDR is past its dead attempt and locks in the clock
        // after its reset is released (in the clock the TX lane is).
        let ready = tr.first(READY, 601).unwrap() as u64;
        let released = T.tx_ready_at(0);
        assert_eq!(tr.outs[603 + released as usize - 1].state, TX_PLL);
        assert_eq!(tr.outs[603 + released as usize].state, CDR);
        assert_eq!(ready, 603 + T.ready_at(0, released + 1));
        assert_eq!(tr.last().cdr_retries, 0);
    }

    /// Random transceivers with random events and glitches, each run in a
    /// closed loop in lockstep; the coverage of states and events is
    /// counted across runs.
    #[test]
    fn serdes_init_against_model_random() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x5E7D_1417);
        let mut visits = [0u64; 5];
        let (mut restarts, mut los_events, mut retries, mut clocks) = (0, 0, 0, 0);
        for _ in 0..24 {
            let len = 6_000u64;
            let events = |rng: &mut ChaCha8Rng, k: u32| {
                let mut v: Vec<u64> = (0..rng.gen_range(0..k))
                    .map(|_| rng.gen_range(0..len))
                    .collect();
                v.sort();
                v
            };
            let dark = events(&mut rng, 4)
                .into_iter()
                .map(|a| (a, a + rng.gen_range(1..400)))
                .collect();
            let glitches = events(&mut rng, 30)
                .into_iter()
                .map(|c| (c, rng.gen_range(0..3)))
                .collect();
            let x = Xcvr {
                pll_lock: rng.gen_range(0..60),
                cdr_lock: rng.gen_range(0..200),
                cdr_dead: rng.gen_range(0..3),
                flaps: rng.gen_range(0..4),
                flap_len: rng.gen_range(1..2 * T.cdr_hold_clocks),
                flap_gap: rng.gen_range(1..30),
                dark,
                pll_drops: events(&mut rng, 3),
                glitches,
                ..Default::default()
            };
            let resets: Vec<u64> = events(&mut rng, 2);
            let tr = run_with_resets(x, len as usize, &resets);
            for o in &tr.outs {
                visits[o.state as usize] += 1;
            }
            let o = tr.last();
            (restarts, los_events, retries) = (
                restarts + o.restarts,
                los_events + o.los_events,
                retries + o.cdr_retries,
            );
            clocks += tr.outs.len();
        }
        println!(
            "SerdesInit random: {clocks} clocks, visits by state {visits:?}, \
             restarts {restarts}, LOS events {los_events}, CDR retries {retries}"
        );
        assert!(visits.iter().all(|&v| v > 1_000), "{visits:?}");
        assert!(restarts > 10 && los_events > 10 && retries > 10);
    }

    /// The model with the board's timing: the documented power-up time,
    /// and the order on a long random run (model only: no Verilator).
    #[test]
    fn serdes_init_model_board_timing() {
        let t = InitTiming::BOARD;
        let mut m = SerdesInitModel::new(t);
        let mut c = 0u64;
        while m.state() != READY {
            m.step(InitIn::default());
            c += 1;
            assert!(c < 1_000_000);
        }
        assert_eq!(c, 63_601);
        assert_eq!(c, t.ready_at(0, 0));
        // CDR_HOLD runs from clock R + P + 1 for H clocks; RLOL high for
        // one clock at the input, seen in the hold's last clock, breaks
        // it: the RX lane never leaves reset, the bring-up restarts and
        // completes the second time.
        let hold_end = (t.reset_clocks + t.pll_hold_clocks + 1 + t.cdr_hold_clocks) as usize;
        let mut m = SerdesInitModel::new(t);
        let mut tr = Trace {
            ins: vec![],
            outs: vec![],
        };
        for c in 0..200_000usize {
            let i = InitIn {
                rx_cdr_lol: c + SYNC_CLOCKS as usize + 1 == hold_end,
                ..Default::default()
            };
            tr.outs.push(m.step(i));
            tr.ins.push(i);
        }
        check_invariants(&tr, &t);
        assert_eq!(tr.outs[hold_end - 1].state, CDR_HOLD);
        assert_eq!(tr.outs[hold_end].state, RESET);
        assert!(tr.outs[..=hold_end].iter().all(|o| o.rx_lane_rst));
        let o = tr.last();
        assert_eq!((o.state, o.restarts), (READY, 1));
        assert_eq!(
            tr.first(READY, 0),
            Some(hold_end + t.ready_at(0, 0) as usize)
        );
    }

    #[test]
    fn serdes_init_rejects_bad_timing() {
        for (k, bad) in [0u32, MAX_CLOCKS + 1].into_iter().enumerate() {
            let mut t = InitTiming::BOARD;
            t.cdr_timeout_clocks = bad;
            let e = SerdesInit::try_new(t).err().expect("accepted");
            assert_eq!((e.name, e.value), ("cdr_timeout_clocks", bad), "case {k}");
            assert!(e.to_string().contains("cdr_timeout_clocks"), "{e}");
        }
        assert!(SerdesInit::try_new(InitTiming::new(MAX_CLOCKS, 1, 1, 1, 1)).is_ok());
    }

    #[test]
    fn serdes_init_synthesizes() {
        let mut uut = SerdesInit::default();
        uut.connect_all();
        let r = fiberloop_harness::synth::synth_block(&uut, "phy_serdes_init").unwrap();
        println!("SerdesInit: {} LUTs, {} FFs", r.luts(), r.ffs());
        // 6 synchroniser, 4 state, 1 pulse, 24 timer, 4 reset, 96 counter
        // flip-flops.
        assert_eq!(r.ffs(), 135, "{r}");
        assert!(r.luts() < 400, "{r}");
    }

    /// Out of context on the 45F, clk100 with the 10 % margin.
    #[test]
    #[cfg(feature = "pnr")]
    fn serdes_init_meets_timing() {
        use fiberloop_harness::pnr::{assert_meets_timing, ClockConstraint};
        let mut uut = SerdesInit::default();
        uut.connect_all();
        assert_meets_timing(
            &uut,
            "phy_serdes_init",
            &[ClockConstraint::new("clock", 100.0)],
        );
    }
}

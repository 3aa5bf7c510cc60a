//! `LineAids`: the bring-up aids at the line side of the loop core: what
//! the transmitter sends (the loop's words, a PRBS, or the received words
//! looped back), the PRBS checker on the received words, and the meters of
//! the two word clocks, with every crossing between the word clock, the
//! receive clock and the meters' reference clock.
//!
//! ```text
//!                 aids (AidsPort, word clock)
//! loop_tx_in --+                                    +--> tx_out
//! PrbsGen -----+-- source mux ----------------------+
//! LoopbackFifo-+   (rx_clock -> clock)
//! rx_in (rx_clock) --> PrbsCheck --> Snapshot x2 --> aids.bits/errors
//! FreqMeter x2 (ref_clock) --> aids.tx_khz/rx_khz
//! ```
//!
//! # Crossings
//! * Word clock to receive clock: the pattern code and the checker enable
//!   are levels, through two flip-flops (a pattern change may show a mixed
//!   code for one clock: the checker relocks, and a test clears after the
//!   lock anyway); the clear strobe as a toggle through two flip-flops, a
//!   pulse on its change (three receive clocks later).
//! * Receive clock to word clock: `locked` and `lock_lost` through two
//!   flip-flops; the two 64-bit counters each through a [`Snapshot`] (a
//!   request/acknowledge handshake: a refresh every 6 clocks with equal
//!   clocks, the counts on `aids` at most that old).
//! * Loopback: the received words cross into the word clock through a
//!   dual-clock FIFO of raw words ([`LoopbackFifo`]): exact while the far
//!   end's transmit clock is ours (a loop, or boards sharing a reference);
//!   with two oscillators it runs empty or full every few thousand words
//!   and a word is repeated or dropped (the far end's checker relocks).
//!
//! Latency: `tx_out` is `loop_tx_in`, the generator's registered word or
//! the FIFO's head in the same clock (a combinational choice: the loop's
//! transmit latency is unchanged). The checker's counts reach `aids` 3
//! receive clocks plus at most 2 handshakes after a word. Throughput: one
//! word per clock each way. Reset: `reset` (word clock) restarts the
//! generator; the checker is reset by `aids.clear`; the meters run free.

use crate::bundles::AidsPort;
use crate::hostif::async_fifo::AsyncFifo;
use crate::phy::freq_meter::FreqMeter;
use crate::phy::prbs::{PrbsCheck, PrbsGen};
use crate::phy::snapshot::Snapshot;
use fiberloop_spec::phy::{source, METER_WINDOW_REF_CLOCKS};
use rust_hdl::prelude::*;

/// The loopback's crossing: raw 20-bit words from the receive clock into
/// the word clock.
pub type LoopbackFifo = AsyncFifo<Bits<20>>;

/// The bring-up aids. See the module documentation.
#[derive(LogicBlock)]
pub struct LineAids {
    /// Word (transmit) clock.
    pub clock: Signal<In, Clock>,
    /// The transceiver's receive clock.
    pub rx_clock: Signal<In, Clock>,
    /// The meters' reference (clk100).
    pub ref_clock: Signal<In, Clock>,
    /// Synchronous reset (word clock): restarts the generator.
    pub reset: Signal<In, Bit>,
    /// The register file's control and the aids' report (word clock).
    pub aids: AidsPort,
    /// The loop's transmit word.
    pub loop_tx_in: Signal<In, Bits<20>>,
    /// The received word, on `rx_clock`.
    pub rx_in: Signal<In, Bits<20>>,
    /// The word to send.
    pub tx_out: Signal<Out, Bits<20>>,
    gen: PrbsGen,
    check: PrbsCheck,
    fifo: LoopbackFifo,
    tx_meter: FreqMeter,
    rx_meter: FreqMeter,
    // Word clock -> receive clock.
    pat_s1: DFF<Bits<2>>,
    pat_s2: DFF<Bits<2>>,
    chk_s1: DFF<Bit>,
    chk_s2: DFF<Bit>,
    clr_t: DFF<Bit>,
    clr_s1: DFF<Bit>,
    clr_s2: DFF<Bit>,
    clr_s3: DFF<Bit>,
    lb_s1: DFF<Bit>,
    lb_s2: DFF<Bit>,
    // Receive clock -> word clock.
    lk_s1: DFF<Bit>,
    lk_s2: DFF<Bit>,
    ll_s1: DFF<Bit>,
    ll_s2: DFF<Bit>,
    bits_x: Snapshot<Bits<64>>,
    errors_x: Snapshot<Bits<64>>,
    c_prbs: Constant<Bits<2>>,
    c_loopback: Constant<Bits<2>>,
}

impl LineAids {
    /// The aids with meters over `window` reference clocks (the board:
    /// [`METER_WINDOW_REF_CLOCKS`], 1 ms of clk100, so they read kHz).
    pub fn new(window: u32) -> Self {
        Self {
            clock: Default::default(),
            rx_clock: Default::default(),
            ref_clock: Default::default(),
            reset: Default::default(),
            aids: Default::default(),
            loop_tx_in: Default::default(),
            rx_in: Default::default(),
            tx_out: Default::default(),
            gen: Default::default(),
            check: Default::default(),
            fifo: Default::default(),
            tx_meter: FreqMeter::new(window),
            rx_meter: FreqMeter::new(window),
            pat_s1: Default::default(),
            pat_s2: Default::default(),
            chk_s1: Default::default(),
            chk_s2: Default::default(),
            clr_t: Default::default(),
            clr_s1: Default::default(),
            clr_s2: Default::default(),
            clr_s3: Default::default(),
            lb_s1: Default::default(),
            lb_s2: Default::default(),
            lk_s1: Default::default(),
            lk_s2: Default::default(),
            ll_s1: Default::default(),
            ll_s2: Default::default(),
            bits_x: Default::default(),
            errors_x: Default::default(),
            c_prbs: Constant::new((source::PRBS as u64).to_bits()),
            c_loopback: Constant::new((source::LOOPBACK as u64).to_bits()),
        }
    }
}

impl Default for LineAids {
    fn default() -> Self {
        Self::new(METER_WINDOW_REF_CLOCKS)
    }
}

impl Logic for LineAids {
    #[hdl_gen]
    fn update(&mut self) {
        // ---- word clock ----
        dff_setup!(self, clock, clr_t, lk_s1, lk_s2, ll_s1, ll_s2);
        // ---- receive clock ----
        self.pat_s1.clock.next = self.rx_clock.val();
        self.pat_s2.clock.next = self.rx_clock.val();
        self.chk_s1.clock.next = self.rx_clock.val();
        self.chk_s2.clock.next = self.rx_clock.val();
        self.clr_s1.clock.next = self.rx_clock.val();
        self.clr_s2.clock.next = self.rx_clock.val();
        self.clr_s3.clock.next = self.rx_clock.val();
        self.lb_s1.clock.next = self.rx_clock.val();
        self.lb_s2.clock.next = self.rx_clock.val();

        // The generator runs while it is the source.
        self.gen.clock.next = self.clock.val();
        self.gen.reset_in.next = self.reset.val();
        self.gen.enable_in.next = self.aids.source.val() == self.c_prbs.val();
        self.gen.pattern_in.next = self.aids.pattern.val();

        // Control into the receive clock.
        self.pat_s1.d.next = self.aids.pattern.val();
        self.pat_s2.d.next = self.pat_s1.q.val();
        self.chk_s1.d.next = self.aids.check.val();
        self.chk_s2.d.next = self.chk_s1.q.val();
        self.clr_t.d.next = self.clr_t.q.val() ^ self.aids.clear.val();
        self.clr_s1.d.next = self.clr_t.q.val();
        self.clr_s2.d.next = self.clr_s1.q.val();
        self.clr_s3.d.next = self.clr_s2.q.val();
        self.lb_s1.d.next = self.aids.source.val() == self.c_loopback.val();
        self.lb_s2.d.next = self.lb_s1.q.val();

        // The checker, on the receive clock.
        self.check.clock.next = self.rx_clock.val();
        self.check.data_in.next = self.rx_in.val();
        self.check.pattern_in.next = self.pat_s2.q.val();
        self.check.check_in.next = self.chk_s2.q.val();
        self.check.clear_in.next = self.clr_s2.q.val() ^ self.clr_s3.q.val();

        // Its report into the word clock.
        self.lk_s1.d.next = self.check.locked_out.val();
        self.lk_s2.d.next = self.lk_s1.q.val();
        self.ll_s1.d.next = self.check.lock_lost_out.val();
        self.ll_s2.d.next = self.ll_s1.q.val();
        self.bits_x.src_clock.next = self.rx_clock.val();
        self.bits_x.dst_clock.next = self.clock.val();
        self.bits_x.data_in.next = self.check.bits_out.val();
        self.errors_x.src_clock.next = self.rx_clock.val();
        self.errors_x.dst_clock.next = self.clock.val();
        self.errors_x.data_in.next = self.check.errors_out.val();
        self.aids.locked.next = self.lk_s2.q.val();
        self.aids.lock_lost.next = self.ll_s2.q.val();
        self.aids.bits.next = self.bits_x.data_out.val();
        self.aids.errors.next = self.errors_x.data_out.val();

        // Loopback: every received word into the FIFO while the loopback
        // is chosen, out in the word clock.
        self.fifo.write_clock.next = self.rx_clock.val();
        self.fifo.data_in.next = self.rx_in.val();
        self.fifo.write.next = self.lb_s2.q.val();
        self.fifo.read_clock.next = self.clock.val();
        self.fifo.read.next =
            (self.aids.source.val() == self.c_loopback.val()) & (!self.fifo.empty.val());

        // What goes out.
        self.tx_out.next = self.loop_tx_in.val();
        if self.aids.source.val() == self.c_prbs.val() {
            self.tx_out.next = self.gen.data_out.val();
        } else if self.aids.source.val() == self.c_loopback.val() {
            self.tx_out.next = 0.into();
            if !self.fifo.empty.val() {
                self.tx_out.next = self.fifo.data_out.val();
            }
        }

        // The meters.
        self.tx_meter.clock.next = self.ref_clock.val();
        self.tx_meter.meas_clock.next = self.clock.val();
        self.tx_meter.read_clock.next = self.clock.val();
        self.rx_meter.clock.next = self.ref_clock.val();
        self.rx_meter.meas_clock.next = self.rx_clock.val();
        self.rx_meter.read_clock.next = self.clock.val();
        // 0 until a meter has counted a full window (its first window end
        // only starts the count).
        self.aids.tx_khz.next = 0.into();
        if self.tx_meter.read_valid_out.val() {
            self.aids.tx_khz.next = self.tx_meter.read_khz_out.val();
        }
        self.aids.rx_khz.next = 0.into();
        if self.rx_meter.read_valid_out.val() {
            self.aids.rx_khz.next = self.rx_meter.read_khz_out.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_aids_synthesizes() {
        let mut uut = LineAids::default();
        uut.connect_all();
        let r = fiberloop_harness::synth::synth_block(&uut, "line_aids").unwrap();
        println!("line aids: {r}");
        assert!(r.luts() > 0 && r.luts() < 3_000, "{r}");
        assert_eq!(r.dsps(), 0, "{r}");
    }

    /// Out of context on the 45F: both word clocks 10 % above 125 MHz,
    /// clk100 10 % above 100 MHz.
    #[test]
    #[cfg(feature = "pnr")]
    fn line_aids_meets_timing() {
        use fiberloop_harness::pnr::{assert_meets_timing, ClockConstraint, WORD_CLOCK_MHZ};
        let mut uut = LineAids::default();
        uut.connect_all();
        assert_meets_timing(
            &uut,
            "line_aids",
            &[
                ClockConstraint::new("clock", WORD_CLOCK_MHZ),
                ClockConstraint::new("rx_clock", WORD_CLOCK_MHZ),
                ClockConstraint::new("ref_clock", 100.0),
            ],
        );
    }
}

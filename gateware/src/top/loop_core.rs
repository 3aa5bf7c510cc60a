//! The loop core: everything between the SERDES words and the host
//! operations, the blocks of the data path wired into one lap.
//!
//! ```text
//! serdes_rx_in -> CommaAligner -> Decoder8b10b -> ElasticBuffer ->   (rx_clock | clock)
//!   FrameSync -> RsDecoder -> FrameCrc(check) -> LoopController ->
//!   FrameCrc(insert) -> RsEncoder -> FrameTx -> Encoder8b10b -> serdes_tx_out
//! ```
//!
//! The comma aligner and the 8b/10b decoder run on `rx_clock` (the
//! transceiver's recovered clock); the elastic buffer carries the words into
//! `clock`, where everything else runs. In simulation both clocks are the
//! same signal.
//!
//! The transmitter sends the loop's words unless the register map chooses
//! a bring-up aid ([`LineAids`]: a PRBS, or the received words looped
//! back); the PRBS checker and the clock meters watch the line beside the
//! loop.
//!
//! The controller's payload tap feeds an [`InferenceEngine`] of batch
//! [`ENGINE_BATCH`], whose host port is brought out as `eng` (see there):
//! the weights of a network live in the loop, its per-layer parameters and
//! activations on chip.
//!
//! Besides the controller's ports (`slot`, `tap`, `counters`: see
//! [`LoopController`]), the core reports line errors in `line`:
//! `code_errors` counts received symbols with a code violation or disparity
//! error while aligned, `sync_losses` losses of alignment or signal,
//! `sof_repairs` frames whose start symbol was hit and repaired, `sof_drops`
//! clean start symbols inside a frame (see [`FrameSync`]). `cap` carries the
//! received frames after frame sync and before correction (for `fiberloop
//! capture`).
//!
//! Latency: a lap is the fiber's delay plus [`LoopCore::GATEWARE_LATENCY`]
//! word clocks. Throughput: one word per clock. Reset: synchronous `reset`
//! (controller idle, counters cleared; the line blocks resynchronise).

use crate::bundles::{
    AidsPort, EnginePort, FrameOut, LineCounters, LoopCounters, SlotPort, TapOut,
};
use crate::fec::rs_decoder::{RsDecoder, DECODER_LATENCY};
use crate::fec::rs_encoder::RsEncoder;
use crate::framing::crc32::FrameCrc;
use crate::framing::frame_sync::{FrameSync, SYNC_LATENCY};
use crate::framing::frame_tx::FrameTx;
use crate::infer::engine::InferenceEngine;
use crate::line::comma_align::CommaAligner;
use crate::line::decoder::Decoder8b10b;
use crate::line::encoder::Encoder8b10b;
use crate::loopctl::controller::LoopController;
use crate::phy::elastic_buffer::ElasticBuffer;
use crate::phy::line_aids::LineAids;
use rust_hdl::prelude::*;

/// Word clocks from `serdes_rx_in` to the controller's `data_in`, with one
/// clock for both domains: comma aligner 2, 8b/10b decoder 1, elastic buffer
/// 22, frame sync 2, RS decoder, CRC check 1.
pub const RX_LATENCY: u64 = 2 + 1 + 22 + SYNC_LATENCY + DECODER_LATENCY as u64 + 1;
/// Word clocks from the controller's `data_out` to `serdes_tx_out`: CRC
/// insert 1, RS encoder 1, frame TX 1, 8b/10b encoder 1.
pub const TX_LATENCY: u64 = 4;

/// Batch of the core's inference engine (activation vectors held on chip).
pub const ENGINE_BATCH: usize = fiberloop_spec::engine::BATCH;

/// The loop core. See the module documentation.
#[derive(LogicBlock, Default)]
pub struct LoopCore {
    /// Fabric and TX word clock.
    pub clock: Signal<In, Clock>,
    /// RX recovered word clock.
    pub rx_clock: Signal<In, Clock>,
    /// Synchronous reset (fabric clock).
    pub reset: Signal<In, Bit>,
    /// The clock meters' reference (clk100; see [`LineAids`]).
    pub ref_clock: Signal<In, Clock>,
    /// SERDES TX word (bit 0 sent first).
    pub serdes_tx_out: Signal<Out, Bits<20>>,
    /// SERDES RX word (bit 0 received first), on `rx_clock`.
    pub serdes_rx_in: Signal<In, Bits<20>>,
    /// The receiver sees light (loss of signal when low).
    pub rx_signal_in: Signal<In, Bit>,
    /// The controller's host port: fill, slot writes and reads. See
    /// [`LoopController`].
    pub slot: SlotPort,
    /// The controller's payload tap (also feeding the inference engine).
    pub tap: TapOut,
    /// The controller's mode, flags and counters.
    pub counters: LoopCounters,
    /// The line receiver's lock and error counters.
    pub line: LineCounters,
    /// Received frames after frame sync, before correction.
    pub cap: FrameOut,
    /// The inference engine's host port. See [`InferenceEngine`].
    pub eng: EnginePort,
    /// The bring-up aids: transmit source, PRBS, clock meters. See
    /// [`LineAids`].
    pub aids: AidsPort,

    aligner: CommaAligner,
    decoder: Decoder8b10b,
    elastic: ElasticBuffer,
    sync: FrameSync,
    rs_dec: RsDecoder,
    crc_check: FrameCrc,
    ctrl: LoopController,
    crc_insert: FrameCrc,
    rs_enc: RsEncoder,
    frame_tx: FrameTx,
    encoder: Encoder8b10b,
    engine: InferenceEngine<ENGINE_BATCH>,
    line_aids: LineAids,
    code_errors: DFF<Bits<32>>,
    sync_losses: DFF<Bits<32>>,
    sof_repairs: DFF<Bits<32>>,
    sof_drops: DFF<Bits<32>>,
    was_locked: DFF<Bit>,
    locked_now: Signal<Local, Bit>,
    // The decoder's status comes with its start_out; the CRC checker after
    // it adds a clock, so the status is delayed by one to stay in the
    // frame's window at the controller.
    rs_done_d: DFF<Bit>,
    rs_fail_d: DFF<Bit>,
    rs_count_d: DFF<Bits<4>>,
}

impl LoopCore {
    /// Word clocks the gateware adds to a lap, outside the controller.
    pub const GATEWARE_LATENCY: u64 = RX_LATENCY + TX_LATENCY;
}

const _: () = assert!(
    LoopCore::GATEWARE_LATENCY == fiberloop_spec::lap::GATEWARE_LATENCY,
    "the loop core's latency changed: update fiberloop_spec::lap"
);

impl Logic for LoopCore {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            code_errors,
            sync_losses,
            sof_repairs,
            sof_drops,
            was_locked,
            rs_done_d,
            rs_fail_d,
            rs_count_d
        );
        // ---- receive, on rx_clock ----
        self.aligner.clock.next = self.rx_clock.val();
        self.aligner.reset.next = !self.rx_signal_in.val();
        self.aligner.raw_in.next = self.serdes_rx_in.val();
        self.decoder.clock.next = self.rx_clock.val();
        self.decoder.reset.next = !self.aligner.locked_out.val();
        self.decoder.code_in.next = self.aligner.aligned_out.val();
        self.elastic.rx_clock.next = self.rx_clock.val();
        self.elastic.rx_data.next = self.decoder.data_out.val();
        self.elastic.rx_k.next = self.decoder.k_out.val();
        self.elastic.rx_err.next =
            self.decoder.code_err_out.val() | self.decoder.disp_err_out.val();
        self.elastic.rx_valid.next = self.aligner.locked_out.val() & self.rx_signal_in.val();
        // ---- into the fabric clock ----
        self.elastic.tx_clock.next = self.clock.val();
        self.sync.clock.next = self.clock.val();
        self.sync.data_in.next = self.elastic.data_out.val();
        self.sync.k_in.next = self.elastic.k_out.val();
        self.sync.err_in.next = self.elastic.err_out.val();
        self.sync.valid_in.next = self.elastic.valid_out.val();
        self.cap.data.next = self.sync.data_out.val();
        self.cap.valid.next = self.sync.valid_out.val();
        self.cap.start.next = self.sync.start_out.val();
        self.rs_dec.clock.next = self.clock.val();
        self.rs_dec.data_in.next = self.sync.data_out.val();
        self.rs_dec.valid_in.next = self.sync.valid_out.val();
        self.rs_dec.start_in.next = self.sync.start_out.val();
        self.crc_check.clock.next = self.clock.val();
        self.crc_check.insert.next = false;
        self.crc_check.data_in.next = self.rs_dec.data_out.val();
        self.crc_check.valid_in.next = self.rs_dec.valid_out.val();
        self.crc_check.start_in.next = self.rs_dec.start_out.val();
        // ---- the controller ----
        self.ctrl.clock.next = self.clock.val();
        self.ctrl.reset.next = self.reset.val();
        self.ctrl.rx.data.next = self.crc_check.data_out.val();
        self.ctrl.rx.valid.next = self.crc_check.valid_out.val();
        self.ctrl.rx.start.next = self.crc_check.start_out.val();
        self.rs_done_d.d.next = self.rs_dec.status_valid_out.val();
        self.rs_fail_d.d.next = self.rs_dec.uncorrectable_out.val();
        self.rs_count_d.d.next = self.rs_dec.corrected_out.val();
        self.ctrl.rs_done_in.next = self.rs_done_d.q.val();
        self.ctrl.rs_fail_in.next = self.rs_fail_d.q.val();
        self.ctrl.rs_count_in.next = self.rs_count_d.q.val();
        self.ctrl.crc_done_in.next = self.crc_check.crc_done_out.val();
        self.ctrl.crc_ok_in.next = self.crc_check.crc_ok_out.val();
        SlotPort::link(&mut self.slot, &mut self.ctrl.slot);
        TapOut::link(&mut self.tap, &mut self.ctrl.tap);
        LoopCounters::link(&mut self.counters, &mut self.ctrl.counters);
        // ---- inference on the tap ----
        self.engine.clock.next = self.clock.val();
        self.engine.reset.next = self.reset.val();
        // The engine reads the tap from this block's own `tap` output: a
        // child port linked to a parent port has no wire of its own in
        // rust-hdl's Verilog, so a join from `ctrl.tap` would name a signal
        // that does not exist (Verilator refuses it; yosys would make
        // 1-bit implicit nets of it).
        self.engine.tap.data.next = self.tap.data.val();
        self.engine.tap.valid.next = self.tap.valid.val();
        self.engine.tap.start.next = self.tap.start.val();
        self.engine.tap.slot.next = self.tap.slot.val();
        self.engine.tap.bad.next = self.tap.bad.val();
        EnginePort::link(&mut self.eng, &mut self.engine.host);
        // ---- transmit ----
        self.crc_insert.clock.next = self.clock.val();
        self.crc_insert.insert.next = true;
        self.crc_insert.data_in.next = self.ctrl.tx.data.val();
        self.crc_insert.valid_in.next = self.ctrl.tx.valid.val();
        self.crc_insert.start_in.next = self.ctrl.tx.start.val();
        self.rs_enc.clock.next = self.clock.val();
        self.rs_enc.data_in.next = self.crc_insert.data_out.val();
        self.rs_enc.valid_in.next = self.crc_insert.valid_out.val();
        self.rs_enc.start_in.next = self.crc_insert.start_out.val();
        self.frame_tx.clock.next = self.clock.val();
        self.frame_tx.data_in.next = self.rs_enc.data_out.val();
        self.frame_tx.valid_in.next = self.rs_enc.valid_out.val();
        self.frame_tx.start_in.next = self.rs_enc.start_out.val();
        self.encoder.clock.next = self.clock.val();
        self.encoder.reset.next = self.reset.val();
        self.encoder.data_in.next = self.frame_tx.data_out.val();
        self.encoder.k_in.next = self.frame_tx.k_out.val();
        // ---- the line: the loop's words, or a bring-up aid's ----
        self.line_aids.clock.next = self.clock.val();
        self.line_aids.rx_clock.next = self.rx_clock.val();
        self.line_aids.ref_clock.next = self.ref_clock.val();
        self.line_aids.reset.next = self.reset.val();
        self.line_aids.loop_tx_in.next = self.encoder.code_out.val();
        self.line_aids.rx_in.next = self.serdes_rx_in.val();
        self.serdes_tx_out.next = self.line_aids.tx_out.val();
        AidsPort::link(&mut self.aids, &mut self.line_aids.aids);
        // ---- line error counters (fabric clock; the RX flags are sampled
        // after the elastic buffer) ----
        self.locked_now.next = self.elastic.valid_out.val();
        self.line.locked.next = self.locked_now.val();
        self.was_locked.d.next = self.locked_now.val();
        if self.locked_now.val() {
            self.code_errors.d.next = self.code_errors.q.val()
                + bit_cast::<32, 1>(self.elastic.err_out.val().get_bits::<1>(0))
                + bit_cast::<32, 1>(self.elastic.err_out.val().get_bits::<1>(1));
        }
        if self.was_locked.q.val() & (!self.locked_now.val()) {
            self.sync_losses.d.next = self.sync_losses.q.val() + 1;
        }
        if self.sync.sof_repaired_out.val() {
            self.sof_repairs.d.next = self.sof_repairs.q.val() + 1;
        }
        if self.sync.dropped_sof_out.val() {
            self.sof_drops.d.next = self.sof_drops.q.val() + 1;
        }
        if self.reset.val() {
            self.code_errors.d.next = 0.into();
            self.sync_losses.d.next = 0.into();
            self.sof_repairs.d.next = 0.into();
            self.sof_drops.d.next = 0.into();
        }
        self.line.code_errors.next = self.code_errors.q.val();
        self.line.sync_losses.next = self.sync_losses.q.val();
        self.line.sof_repairs.next = self.sof_repairs.q.val();
        self.line.sof_drops.next = self.sof_drops.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_core_synthesizes() {
        let mut uut = LoopCore::default();
        uut.connect_all();
        let r = fiberloop_harness::synth::synth_block(&uut, "loop_core").unwrap();
        println!("loop core: {r}");
        // LFE5UM5G-45F: 43,848 LUT4, 108 DP16KD, 72 MULT18X18D.
        assert!(r.luts() < 43_848, "{r}");
        assert!(r.brams() < 108, "{r}");
        // With the inference engine: 2B MACs + 4 for its requantiser.
        assert!(r.dsps() <= 72, "{r}");
        assert_eq!(r.dsps(), 2 * ENGINE_BATCH + 4, "{r}");
    }

    /// Out of context on the 45F, both word clocks 10 % above 125 MHz, the
    /// clock meters' reference (`ref_clock`) 10 % above 100 MHz.
    #[test]
    #[cfg(feature = "pnr")]
    fn loop_core_meets_timing() {
        use fiberloop_harness::pnr::{assert_meets_timing, ClockConstraint, WORD_CLOCK_MHZ};
        let mut uut = LoopCore::default();
        uut.connect_all();
        assert_meets_timing(
            &uut,
            "loop_core",
            &[
                ClockConstraint::new("clock", WORD_CLOCK_MHZ),
                ClockConstraint::new("rx_clock", WORD_CLOCK_MHZ),
                ClockConstraint::new("ref_clock", 100.0),
            ],
        );
    }
}

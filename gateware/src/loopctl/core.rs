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
//! The controller's payload tap feeds an [`InferenceEngine`] of batch
//! [`ENGINE_BATCH`], whose host ports are brought out as `eng_*` (see there):
//! the weights of a network live in the loop, its per-layer parameters and
//! activations on chip.
//!
//! Besides the controller's ports (see [`LoopController`]), the core reports
//! line errors: `code_errors_out` counts received symbols with a code
//! violation or disparity error while aligned, `sync_losses_out` counts
//! losses of alignment or signal, `sof_repairs_out` frames whose start
//! symbol was hit and repaired, `sof_drops_out` clean start symbols inside a
//! frame (see [`FrameSync`]). `cap_*_out` carry the received frames after
//! frame sync and before correction (for `fiberloop capture`).
//!
//! Latency: a lap is the fiber's delay plus [`LoopCore::GATEWARE_LATENCY`]
//! word clocks. Throughput: one word per clock. Reset: synchronous `reset`
//! (controller idle, counters cleared; the line blocks resynchronise).

use crate::fec::rs_decoder::{RsDecoder, DECODER_LATENCY};
use crate::fec::rs_encoder::RsEncoder;
use crate::framing::crc32::FrameCrc;
use crate::framing::frame_sync::{FrameSync, SYNC_LATENCY};
use crate::framing::frame_tx::FrameTx;
use crate::infer::engine::{InferenceEngine, PARAM_ADDR_BITS, PARAM_BITS};
use crate::line::comma_align::CommaAligner;
use crate::line::decoder::Decoder8b10b;
use crate::line::encoder::Encoder8b10b;
use crate::loopctl::controller::LoopController;
use crate::phy::elastic_buffer::ElasticBuffer;
use rust_hdl::prelude::*;

/// Word clocks from `serdes_rx_in` to the controller's `data_in`, with one
/// clock for both domains: comma aligner 2, 8b/10b decoder 1, elastic buffer
/// 22, frame sync 2, RS decoder, CRC check 1.
pub const RX_LATENCY: u64 = 2 + 1 + 22 + SYNC_LATENCY + DECODER_LATENCY as u64 + 1;
/// Word clocks from the controller's `data_out` to `serdes_tx_out`: CRC
/// insert 1, RS encoder 1, frame TX 1, 8b/10b encoder 1.
pub const TX_LATENCY: u64 = 4;

/// Batch of the core's inference engine (activation vectors held on chip).
pub const ENGINE_BATCH: usize = 8;

/// The loop core. See the module documentation.
#[derive(LogicBlock, Default)]
pub struct LoopCore {
    /// Fabric and TX word clock.
    pub clock: Signal<In, Clock>,
    /// RX recovered word clock.
    pub rx_clock: Signal<In, Clock>,
    /// Synchronous reset (fabric clock).
    pub reset: Signal<In, Bit>,
    /// SERDES TX word (bit 0 sent first).
    pub serdes_tx_out: Signal<Out, Bits<20>>,
    /// SERDES RX word (bit 0 received first), on `rx_clock`.
    pub serdes_rx_in: Signal<In, Bits<20>>,
    /// The receiver sees light (loss of signal when low).
    pub rx_signal_in: Signal<In, Bit>,
    /// See [`LoopController`].
    pub cmd_fill: Signal<In, Bit>,
    /// See [`LoopController`].
    pub timeout: Signal<In, Bits<32>>,
    /// See [`LoopController`].
    pub wr_buf_we: Signal<In, Bit>,
    /// See [`LoopController`].
    pub wr_buf_addr: Signal<In, Bits<7>>,
    /// See [`LoopController`].
    pub wr_buf_data: Signal<In, Bits<16>>,
    /// See [`LoopController`].
    pub wr_arm: Signal<In, Bit>,
    /// See [`LoopController`].
    pub wr_slot: Signal<In, Bits<16>>,
    /// See [`LoopController`].
    pub wr_pending_out: Signal<Out, Bit>,
    /// See [`LoopController`].
    pub rd_arm: Signal<In, Bit>,
    /// See [`LoopController`].
    pub rd_slot: Signal<In, Bits<16>>,
    /// See [`LoopController`].
    pub rd_pending_out: Signal<Out, Bit>,
    /// See [`LoopController`].
    pub rd_buf_addr: Signal<In, Bits<7>>,
    /// See [`LoopController`].
    pub rd_buf_data_out: Signal<Out, Bits<16>>,
    /// See [`LoopController`].
    pub rd_flags_out: Signal<Out, Bits<8>>,
    /// See [`LoopController`].
    pub rd_lap_out: Signal<Out, Bits<32>>,
    /// See [`LoopController`].
    pub tap_data_out: Signal<Out, Bits<16>>,
    /// See [`LoopController`].
    pub tap_valid_out: Signal<Out, Bit>,
    /// See [`LoopController`].
    pub tap_start_out: Signal<Out, Bit>,
    /// See [`LoopController`].
    pub tap_slot_out: Signal<Out, Bits<16>>,
    /// See [`LoopController`].
    pub tap_bad_out: Signal<Out, Bit>,
    /// See [`LoopController`].
    pub mode_out: Signal<Out, Bits<3>>,
    /// See [`LoopController`].
    pub no_loop_out: Signal<Out, Bit>,
    /// See [`LoopController`].
    pub loop_lost_out: Signal<Out, Bit>,
    /// See [`LoopController`].
    pub delay_out: Signal<Out, Bits<32>>,
    /// See [`LoopController`].
    pub slots_out: Signal<Out, Bits<16>>,
    /// See [`LoopController`].
    pub lap_out: Signal<Out, Bits<32>>,
    /// See [`LoopController`].
    pub frames_out: Signal<Out, Bits<32>>,
    /// See [`LoopController`].
    pub corrected_out: Signal<Out, Bits<32>>,
    /// See [`LoopController`].
    pub uncorrectable_out: Signal<Out, Bits<32>>,
    /// See [`LoopController`].
    pub crc_fail_out: Signal<Out, Bits<32>>,
    /// Received symbols with a code violation or disparity error.
    pub code_errors_out: Signal<Out, Bits<32>>,
    /// Losses of word alignment or of signal.
    pub sync_losses_out: Signal<Out, Bits<32>>,
    /// Frames started on a repaired (hit) start-of-frame symbol.
    pub sof_repairs_out: Signal<Out, Bits<32>>,
    /// Clean start-of-frame symbols inside a frame (one byte error, or a
    /// frame lost).
    pub sof_drops_out: Signal<Out, Bits<32>>,
    /// The receiver is aligned.
    pub locked_out: Signal<Out, Bit>,
    /// Received frames before correction: data.
    pub cap_data_out: Signal<Out, Bits<16>>,
    /// Received frames before correction: valid.
    pub cap_valid_out: Signal<Out, Bit>,
    /// Received frames before correction: first word.
    pub cap_start_out: Signal<Out, Bit>,
    /// Engine: layer table write enable. See [`InferenceEngine`].
    pub eng_table_we: Signal<In, Bit>,
    /// Engine: layer table entry.
    pub eng_table_addr: Signal<In, Bits<3>>,
    /// Engine: layer table data.
    pub eng_table_data: Signal<In, Bits<64>>,
    /// Engine: layers in the network.
    pub eng_n_layers: Signal<In, Bits<4>>,
    /// Engine: parameter write enable.
    pub eng_param_we: Signal<In, Bit>,
    /// Engine: parameter address.
    pub eng_param_addr: Signal<In, Bits<PARAM_ADDR_BITS>>,
    /// Engine: parameter entry.
    pub eng_param_data: Signal<In, Bits<PARAM_BITS>>,
    /// Engine: input write enable.
    pub eng_in_we: Signal<In, Bit>,
    /// Engine: input batch row.
    pub eng_in_row: Signal<In, Bits<4>>,
    /// Engine: input index.
    pub eng_in_index: Signal<In, Bits<11>>,
    /// Engine: input value.
    pub eng_in_data: Signal<In, Bits<8>>,
    /// Engine: start an inference.
    pub eng_start: Signal<In, Bit>,
    /// Engine: output read batch row.
    pub eng_out_row: Signal<In, Bits<4>>,
    /// Engine: output read word address.
    pub eng_out_word: Signal<In, Bits<10>>,
    /// Engine: output read data (one clock later).
    pub eng_out_data: Signal<Out, Bits<16>>,
    /// Engine: busy.
    pub eng_busy_out: Signal<Out, Bit>,
    /// Engine: the last inference is done.
    pub eng_done_out: Signal<Out, Bit>,
    /// Engine: a weight frame of the last inference was bad.
    pub eng_bad_out: Signal<Out, Bit>,
    /// Engine: the array's drain overran.
    pub eng_overrun_out: Signal<Out, Bit>,

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
        self.cap_data_out.next = self.sync.data_out.val();
        self.cap_valid_out.next = self.sync.valid_out.val();
        self.cap_start_out.next = self.sync.start_out.val();
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
        self.ctrl.data_in.next = self.crc_check.data_out.val();
        self.ctrl.valid_in.next = self.crc_check.valid_out.val();
        self.ctrl.start_in.next = self.crc_check.start_out.val();
        self.rs_done_d.d.next = self.rs_dec.status_valid_out.val();
        self.rs_fail_d.d.next = self.rs_dec.uncorrectable_out.val();
        self.rs_count_d.d.next = self.rs_dec.corrected_out.val();
        self.ctrl.rs_done_in.next = self.rs_done_d.q.val();
        self.ctrl.rs_fail_in.next = self.rs_fail_d.q.val();
        self.ctrl.rs_count_in.next = self.rs_count_d.q.val();
        self.ctrl.crc_done_in.next = self.crc_check.crc_done_out.val();
        self.ctrl.crc_ok_in.next = self.crc_check.crc_ok_out.val();
        self.ctrl.cmd_fill.next = self.cmd_fill.val();
        self.ctrl.timeout.next = self.timeout.val();
        self.ctrl.wr_buf_we.next = self.wr_buf_we.val();
        self.ctrl.wr_buf_addr.next = self.wr_buf_addr.val();
        self.ctrl.wr_buf_data.next = self.wr_buf_data.val();
        self.ctrl.wr_arm.next = self.wr_arm.val();
        self.ctrl.wr_slot.next = self.wr_slot.val();
        self.ctrl.rd_arm.next = self.rd_arm.val();
        self.ctrl.rd_slot.next = self.rd_slot.val();
        self.ctrl.rd_buf_addr.next = self.rd_buf_addr.val();
        self.wr_pending_out.next = self.ctrl.wr_pending_out.val();
        self.rd_pending_out.next = self.ctrl.rd_pending_out.val();
        self.rd_buf_data_out.next = self.ctrl.rd_buf_data_out.val();
        self.rd_flags_out.next = self.ctrl.rd_flags_out.val();
        self.rd_lap_out.next = self.ctrl.rd_lap_out.val();
        self.tap_data_out.next = self.ctrl.tap_data_out.val();
        self.tap_valid_out.next = self.ctrl.tap_valid_out.val();
        self.tap_start_out.next = self.ctrl.tap_start_out.val();
        self.tap_slot_out.next = self.ctrl.tap_slot_out.val();
        self.tap_bad_out.next = self.ctrl.tap_bad_out.val();
        self.mode_out.next = self.ctrl.mode_out.val();
        self.no_loop_out.next = self.ctrl.no_loop_out.val();
        self.loop_lost_out.next = self.ctrl.loop_lost_out.val();
        self.delay_out.next = self.ctrl.delay_out.val();
        self.slots_out.next = self.ctrl.slots_out.val();
        self.lap_out.next = self.ctrl.lap_out.val();
        self.frames_out.next = self.ctrl.frames_out.val();
        self.corrected_out.next = self.ctrl.corrected_out.val();
        self.uncorrectable_out.next = self.ctrl.uncorrectable_out.val();
        self.crc_fail_out.next = self.ctrl.crc_fail_out.val();
        // ---- inference on the tap ----
        self.engine.clock.next = self.clock.val();
        self.engine.reset.next = self.reset.val();
        self.engine.tap_data_in.next = self.ctrl.tap_data_out.val();
        self.engine.tap_valid_in.next = self.ctrl.tap_valid_out.val();
        self.engine.tap_start_in.next = self.ctrl.tap_start_out.val();
        self.engine.tap_slot_in.next = self.ctrl.tap_slot_out.val();
        self.engine.tap_bad_in.next = self.ctrl.tap_bad_out.val();
        self.engine.table_we.next = self.eng_table_we.val();
        self.engine.table_addr.next = self.eng_table_addr.val();
        self.engine.table_data.next = self.eng_table_data.val();
        self.engine.n_layers_in.next = self.eng_n_layers.val();
        self.engine.param_we.next = self.eng_param_we.val();
        self.engine.param_addr.next = self.eng_param_addr.val();
        self.engine.param_data.next = self.eng_param_data.val();
        self.engine.in_we.next = self.eng_in_we.val();
        self.engine.in_row.next = self.eng_in_row.val();
        self.engine.in_index.next = self.eng_in_index.val();
        self.engine.in_data.next = self.eng_in_data.val();
        self.engine.start.next = self.eng_start.val();
        self.engine.out_row.next = self.eng_out_row.val();
        self.engine.out_word.next = self.eng_out_word.val();
        self.eng_out_data.next = self.engine.out_data.val();
        self.eng_busy_out.next = self.engine.busy_out.val();
        self.eng_done_out.next = self.engine.done_out.val();
        self.eng_bad_out.next = self.engine.bad_out.val();
        self.eng_overrun_out.next = self.engine.overrun_out.val();
        // ---- transmit ----
        self.crc_insert.clock.next = self.clock.val();
        self.crc_insert.insert.next = true;
        self.crc_insert.data_in.next = self.ctrl.data_out.val();
        self.crc_insert.valid_in.next = self.ctrl.valid_out.val();
        self.crc_insert.start_in.next = self.ctrl.start_out.val();
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
        self.serdes_tx_out.next = self.encoder.code_out.val();
        // ---- line error counters (fabric clock; the RX flags are sampled
        // after the elastic buffer) ----
        self.locked_now.next = self.elastic.valid_out.val();
        self.locked_out.next = self.locked_now.val();
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
        self.code_errors_out.next = self.code_errors.q.val();
        self.sync_losses_out.next = self.sync_losses.q.val();
        self.sof_repairs_out.next = self.sof_repairs.q.val();
        self.sof_drops_out.next = self.sof_drops.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_core_is_synthesizable_and_fits_the_45f() {
        let mut uut = LoopCore::default();
        uut.connect_all();
        let r = crate::synth::synth_block(&uut, "loop_core").unwrap();
        println!("loop core: {r}");
        // LFE5UM5G-45F: 43,848 LUT4, 108 DP16KD, 72 MULT18X18D.
        assert!(r.luts() < 43_848, "{r}");
        assert!(r.brams() < 108, "{r}");
        // With the inference engine: 2B MACs + 4 for its requantiser.
        assert!(r.dsps() <= 72, "{r}");
        assert_eq!(r.dsps(), 2 * ENGINE_BATCH + 4, "{r}");
    }

    /// Out of context on the 45F, both word clocks 10 % above 125 MHz.
    #[test]
    fn loop_core_meets_timing() {
        use crate::pnr::{assert_meets_timing, ClockConstraint, WORD_CLOCK_MHZ};
        let mut uut = LoopCore::default();
        uut.connect_all();
        assert_meets_timing(
            &uut,
            "loop_core",
            &[
                ClockConstraint::new("clock", WORD_CLOCK_MHZ),
                ClockConstraint::new("rx_clock", WORD_CLOCK_MHZ),
            ],
        );
    }
}

//! The interfaces between blocks, as rust-hdl `LogicInterface` bundles.
//!
//! Each bundle comes in two mirror types, one per side; a parent wires two
//! children with `<Type>::join(&mut self.a.port, &mut self.b.port)` (the
//! first argument is the type whose `#[join]` names the second's), and
//! passes a child's port out as its own with
//! `<Type>::link(&mut self.port, &mut self.child.port)` (same type). Adding
//! a signal to an interface touches the two types here and the blocks that
//! drive and read it, not the parents in between.
//!
//! In the Verilog, a bundle's signals are named by their path joined with
//! `$` (`slot$wr_arm`); Verilator escapes that as `__024`, and the harness
//! (`fiberloop_harness::verilator`) finds ports by the `$` name.
//!
//! | bundle | driving side | other side | between |
//! |---|---|---|---|
//! | frame stream | [`FrameOut`] | [`FrameIn`] | data path blocks |
//! | payload tap | [`TapOut`] | [`TapIn`] | loop controller -> inference engine |
//! | byte stream | [`ByteOut`] | [`ByteIn`] | command engine -> link mux |
//! | slot port | [`SlotHost`] | [`SlotPort`] | register file -> loop controller |
//! | layer table | [`LayerTableHost`] | [`LayerTablePort`] | register file -> sequencer |
//! | engine host port | [`EngineHost`] | [`EnginePort`] | register file -> inference engine |
//! | loop counters | [`LoopCounters`] | [`LoopCountersIn`] | loop controller -> register file |
//! | line counters | [`LineCounters`] | [`LineCountersIn`] | loop core -> register file |
//! | link events | [`LinkEvents`] | [`LinkEventsIn`] | command engine -> register file |
//! | host bus | [`HostBus`] | [`HostBusTarget`] | command engine -> register file |
//! | SERDES channel | [`DcuFabric`] | [`DcuUser`] | transceiver (or its model) -> board top |
//! | bring-up report | [`PhyStatus`] | [`PhyStatusIn`] | transceiver bring-up -> register file |
//! | bring-up aids | [`AidsHost`] | [`AidsPort`] | register file -> PRBS, meters, transmit source |

use crate::infer::engine::{PARAM_ADDR_BITS, PARAM_BITS};
use crate::mac::activations::WORD_ADDR_BITS;
use crate::mac::array::ROW_BITS;
use rust_hdl::prelude::*;

/// The frame stream, sending side (see the crate documentation: two bytes
/// a clock, lane 0 in bits 7:0, never stalls).
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "FrameIn"]
pub struct FrameOut {
    /// Word, lane 0 (bits 7:0) first in time.
    pub data: Signal<Out, Bits<16>>,
    /// The word belongs to a frame (low for idle).
    pub valid: Signal<Out, Bit>,
    /// The first word of a frame.
    pub start: Signal<Out, Bit>,
}

/// The frame stream, receiving side. See [`FrameOut`].
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "FrameOut"]
pub struct FrameIn {
    /// Word, lane 0 (bits 7:0) first in time.
    pub data: Signal<In, Bits<16>>,
    /// The word belongs to a frame (low for idle).
    pub valid: Signal<In, Bit>,
    /// The first word of a frame.
    pub start: Signal<In, Bit>,
}

/// The loop controller's payload tap, sending side: the payload words of
/// every frame passing the controller, with the frame's slot and whether it
/// was received bad (see `LoopController`).
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "TapIn"]
pub struct TapOut {
    /// Payload word.
    pub data: Signal<Out, Bits<16>>,
    /// A payload word is on `data`.
    pub valid: Signal<Out, Bit>,
    /// The first payload word of a frame.
    pub start: Signal<Out, Bit>,
    /// The frame's slot number.
    pub slot: Signal<Out, Bits<16>>,
    /// The frame was received uncorrectable or with a bad CRC.
    pub bad: Signal<Out, Bit>,
}

/// The payload tap, receiving side. See [`TapOut`].
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "TapOut"]
pub struct TapIn {
    /// Payload word.
    pub data: Signal<In, Bits<16>>,
    /// A payload word is on `data`.
    pub valid: Signal<In, Bit>,
    /// The first payload word of a frame.
    pub start: Signal<In, Bit>,
    /// The frame's slot number.
    pub slot: Signal<In, Bits<16>>,
    /// The frame was received uncorrectable or with a bad CRC.
    pub bad: Signal<In, Bit>,
}

/// A byte stream with back-pressure, sending side: a byte moves in every
/// clock with `valid` and `ready` both high.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "ByteIn"]
pub struct ByteOut {
    /// The byte.
    pub data: Signal<Out, Bits<8>>,
    /// `data` holds a byte.
    pub valid: Signal<Out, Bit>,
    /// The receiver takes the byte this clock.
    pub ready: Signal<In, Bit>,
}

/// A byte stream with back-pressure, receiving side. See [`ByteOut`].
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "ByteOut"]
pub struct ByteIn {
    /// The byte.
    pub data: Signal<In, Bits<8>>,
    /// `data` holds a byte.
    pub valid: Signal<In, Bit>,
    /// The receiver takes the byte this clock.
    pub ready: Signal<Out, Bit>,
}

/// The loop controller's host port, the controller's side: the fill
/// command and the slot write, read and capture port (timing in
/// `LoopController`).
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "SlotHost"]
pub struct SlotPort {
    /// Start a fill (one-clock strobe).
    pub fill: Signal<In, Bit>,
    /// Fill timeout, in clocks.
    pub timeout: Signal<In, Bits<32>>,
    /// Write a half-word of the slot write buffer.
    pub wr_buf_we: Signal<In, Bit>,
    /// Half-word address in the slot write buffer.
    pub wr_buf_addr: Signal<In, Bits<7>>,
    /// Half-word to write.
    pub wr_buf_data: Signal<In, Bits<16>>,
    /// Arm the slot write (one-clock strobe).
    pub wr_arm: Signal<In, Bit>,
    /// Slot to write.
    pub wr_slot: Signal<In, Bits<16>>,
    /// A slot write is armed and not done.
    pub wr_pending: Signal<Out, Bit>,
    /// Arm the slot read (capture; one-clock strobe).
    pub rd_arm: Signal<In, Bit>,
    /// Slot to read.
    pub rd_slot: Signal<In, Bits<16>>,
    /// A slot read is armed and not done.
    pub rd_pending: Signal<Out, Bit>,
    /// Half-word address in the slot read buffer.
    pub rd_buf_addr: Signal<In, Bits<7>>,
    /// The read buffer's half-word at `rd_buf_addr` (one clock later).
    pub rd_buf_data: Signal<Out, Bits<16>>,
    /// Flags of the captured frame.
    pub rd_flags: Signal<Out, Bits<8>>,
    /// Lap of the captured frame.
    pub rd_lap: Signal<Out, Bits<32>>,
}

/// The loop controller's host port, the host's side. See [`SlotPort`].
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "SlotPort"]
pub struct SlotHost {
    /// Start a fill (one-clock strobe).
    pub fill: Signal<Out, Bit>,
    /// Fill timeout, in clocks.
    pub timeout: Signal<Out, Bits<32>>,
    /// Write a half-word of the slot write buffer.
    pub wr_buf_we: Signal<Out, Bit>,
    /// Half-word address in the slot write buffer.
    pub wr_buf_addr: Signal<Out, Bits<7>>,
    /// Half-word to write.
    pub wr_buf_data: Signal<Out, Bits<16>>,
    /// Arm the slot write (one-clock strobe).
    pub wr_arm: Signal<Out, Bit>,
    /// Slot to write.
    pub wr_slot: Signal<Out, Bits<16>>,
    /// A slot write is armed and not done.
    pub wr_pending: Signal<In, Bit>,
    /// Arm the slot read (capture; one-clock strobe).
    pub rd_arm: Signal<Out, Bit>,
    /// Slot to read.
    pub rd_slot: Signal<Out, Bits<16>>,
    /// A slot read is armed and not done.
    pub rd_pending: Signal<In, Bit>,
    /// Half-word address in the slot read buffer.
    pub rd_buf_addr: Signal<Out, Bits<7>>,
    /// The read buffer's half-word at `rd_buf_addr` (one clock later).
    pub rd_buf_data: Signal<In, Bits<16>>,
    /// Flags of the captured frame.
    pub rd_flags: Signal<In, Bits<8>>,
    /// Lap of the captured frame.
    pub rd_lap: Signal<In, Bits<32>>,
}

/// The layer table port of the sequencer, its side (entries packed as
/// `fiberloop_spec::engine::LayerEntry`).
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "LayerTableHost"]
pub struct LayerTablePort {
    /// Write the entry `addr`.
    pub we: Signal<In, Bit>,
    /// Entry (layer) number.
    pub addr: Signal<In, Bits<3>>,
    /// Packed entry.
    pub data: Signal<In, Bits<64>>,
    /// Layers in the network.
    pub n_layers: Signal<In, Bits<4>>,
}

/// The layer table port, the host's side. See [`LayerTablePort`].
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "LayerTablePort"]
pub struct LayerTableHost {
    /// Write the entry `addr`.
    pub we: Signal<Out, Bit>,
    /// Entry (layer) number.
    pub addr: Signal<Out, Bits<3>>,
    /// Packed entry.
    pub data: Signal<Out, Bits<64>>,
    /// Layers in the network.
    pub n_layers: Signal<Out, Bits<4>>,
}

/// The inference engine's host port, the engine's side: layer table,
/// parameters, input activations, start, outputs and flags (timing in
/// `InferenceEngine`).
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "EngineHost"]
pub struct EnginePort {
    /// The layer table (passed to the sequencer).
    pub layers: LayerTablePort,
    /// Write a parameter entry.
    pub param_we: Signal<In, Bit>,
    /// Parameter entry address.
    pub param_addr: Signal<In, Bits<PARAM_ADDR_BITS>>,
    /// Parameter entry, packed as `ParamEntry::pack`.
    pub param_data: Signal<In, Bits<PARAM_BITS>>,
    /// Write an input activation (ignored while busy).
    pub in_we: Signal<In, Bit>,
    /// Batch row of the input.
    pub in_row: Signal<In, Bits<ROW_BITS>>,
    /// Input index.
    pub in_index: Signal<In, Bits<11>>,
    /// Input value (int8).
    pub in_data: Signal<In, Bits<8>>,
    /// Start an inference (one-clock strobe).
    pub start: Signal<In, Bit>,
    /// Output read: batch row.
    pub out_row: Signal<In, Bits<ROW_BITS>>,
    /// Output read: word address (outputs `2a`, `2a + 1`).
    pub out_word: Signal<In, Bits<WORD_ADDR_BITS>>,
    /// Output read data, one clock after the address.
    pub out_data: Signal<Out, Bits<16>>,
    /// An inference is under way.
    pub busy: Signal<Out, Bit>,
    /// The last inference is done.
    pub done: Signal<Out, Bit>,
    /// A weight frame of the last inference was bad.
    pub bad: Signal<Out, Bit>,
    /// The array's drain overran.
    pub overrun: Signal<Out, Bit>,
}

/// The inference engine's host port, the host's side. See [`EnginePort`].
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "EnginePort"]
pub struct EngineHost {
    /// The layer table (passed to the sequencer).
    pub layers: LayerTableHost,
    /// Write a parameter entry.
    pub param_we: Signal<Out, Bit>,
    /// Parameter entry address.
    pub param_addr: Signal<Out, Bits<PARAM_ADDR_BITS>>,
    /// Parameter entry, packed as `ParamEntry::pack`.
    pub param_data: Signal<Out, Bits<PARAM_BITS>>,
    /// Write an input activation (ignored while busy).
    pub in_we: Signal<Out, Bit>,
    /// Batch row of the input.
    pub in_row: Signal<Out, Bits<ROW_BITS>>,
    /// Input index.
    pub in_index: Signal<Out, Bits<11>>,
    /// Input value (int8).
    pub in_data: Signal<Out, Bits<8>>,
    /// Start an inference (one-clock strobe).
    pub start: Signal<Out, Bit>,
    /// Output read: batch row.
    pub out_row: Signal<Out, Bits<ROW_BITS>>,
    /// Output read: word address (outputs `2a`, `2a + 1`).
    pub out_word: Signal<Out, Bits<WORD_ADDR_BITS>>,
    /// Output read data, one clock after the address.
    pub out_data: Signal<In, Bits<16>>,
    /// An inference is under way.
    pub busy: Signal<In, Bit>,
    /// The last inference is done.
    pub done: Signal<In, Bit>,
    /// A weight frame of the last inference was bad.
    pub bad: Signal<In, Bit>,
    /// The array's drain overran.
    pub overrun: Signal<In, Bit>,
}

/// The loop controller's state and counters, its side (meanings in
/// `LoopController`).
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "LoopCountersIn"]
pub struct LoopCounters {
    /// Loop mode.
    pub mode: Signal<Out, Bits<3>>,
    /// The last fill found no loop.
    pub no_loop: Signal<Out, Bit>,
    /// The running loop was lost.
    pub loop_lost: Signal<Out, Bit>,
    /// Measured lap delay, in clocks.
    pub delay: Signal<Out, Bits<32>>,
    /// Slots in the loop.
    pub slots: Signal<Out, Bits<16>>,
    /// Laps.
    pub lap: Signal<Out, Bits<32>>,
    /// Frames received.
    pub frames: Signal<Out, Bits<32>>,
    /// Bytes corrected.
    pub corrected: Signal<Out, Bits<32>>,
    /// Uncorrectable frames.
    pub uncorrectable: Signal<Out, Bits<32>>,
    /// Frames with a bad CRC.
    pub crc_fail: Signal<Out, Bits<32>>,
}

/// The loop controller's state and counters, the reader's side. See
/// [`LoopCounters`].
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "LoopCounters"]
pub struct LoopCountersIn {
    /// Loop mode.
    pub mode: Signal<In, Bits<3>>,
    /// The last fill found no loop.
    pub no_loop: Signal<In, Bit>,
    /// The running loop was lost.
    pub loop_lost: Signal<In, Bit>,
    /// Measured lap delay, in clocks.
    pub delay: Signal<In, Bits<32>>,
    /// Slots in the loop.
    pub slots: Signal<In, Bits<16>>,
    /// Laps.
    pub lap: Signal<In, Bits<32>>,
    /// Frames received.
    pub frames: Signal<In, Bits<32>>,
    /// Bytes corrected.
    pub corrected: Signal<In, Bits<32>>,
    /// Uncorrectable frames.
    pub uncorrectable: Signal<In, Bits<32>>,
    /// Frames with a bad CRC.
    pub crc_fail: Signal<In, Bits<32>>,
}

/// The line receiver's state and error counters, the loop core's side.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "LineCountersIn"]
pub struct LineCounters {
    /// Received symbols with a code violation or disparity error.
    pub code_errors: Signal<Out, Bits<32>>,
    /// Losses of word alignment or of signal.
    pub sync_losses: Signal<Out, Bits<32>>,
    /// Frames started on a repaired (hit) start-of-frame symbol.
    pub sof_repairs: Signal<Out, Bits<32>>,
    /// Clean start-of-frame symbols inside a frame.
    pub sof_drops: Signal<Out, Bits<32>>,
    /// The receiver is aligned.
    pub locked: Signal<Out, Bit>,
}

/// The line counters, the reader's side. See [`LineCounters`].
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "LineCounters"]
pub struct LineCountersIn {
    /// Received symbols with a code violation or disparity error.
    pub code_errors: Signal<In, Bits<32>>,
    /// Losses of word alignment or of signal.
    pub sync_losses: Signal<In, Bits<32>>,
    /// Frames started on a repaired (hit) start-of-frame symbol.
    pub sof_repairs: Signal<In, Bits<32>>,
    /// Clean start-of-frame symbols inside a frame.
    pub sof_drops: Signal<In, Bits<32>>,
    /// The receiver is aligned.
    pub locked: Signal<In, Bit>,
}

/// The command engine's per-frame event strobes (one clock each; meanings
/// in `CmdEngine`), the engine's side.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "LinkEventsIn"]
pub struct LinkEvents {
    /// A request was executed.
    pub executed: Signal<Out, Bit>,
    /// A frame was dropped for its header CRC.
    pub header_crc_drop: Signal<Out, Bit>,
    /// A frame was dropped for its payload CRC.
    pub payload_crc_drop: Signal<Out, Bit>,
    /// A partial frame was dropped after the timeout.
    pub timeout_drop: Signal<Out, Bit>,
    /// A reply was replayed.
    pub replay: Signal<Out, Bit>,
    /// An error reply was sent.
    pub error_reply: Signal<Out, Bit>,
    /// Bytes skipped while hunting for a frame start (0 to 3 a clock).
    pub hunted: Signal<Out, Bits<2>>,
}

/// The command engine's event strobes, the counting side. See
/// [`LinkEvents`].
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "LinkEvents"]
pub struct LinkEventsIn {
    /// A request was executed.
    pub executed: Signal<In, Bit>,
    /// A frame was dropped for its header CRC.
    pub header_crc_drop: Signal<In, Bit>,
    /// A frame was dropped for its payload CRC.
    pub payload_crc_drop: Signal<In, Bit>,
    /// A partial frame was dropped after the timeout.
    pub timeout_drop: Signal<In, Bit>,
    /// A reply was replayed.
    pub replay: Signal<In, Bit>,
    /// An error reply was sent.
    pub error_reply: Signal<In, Bit>,
    /// Bytes skipped while hunting for a frame start (0 to 3 a clock).
    pub hunted: Signal<In, Bits<2>>,
}

/// The host bus, the command engine's side: word addresses of
/// `fiberloop_spec::regs`. `we` and `re` are one-clock strobes with `addr`
/// (and `wdata`); the target answers in the next clock with `status` (a
/// `fiberloop_spec::proto::status` code) and, for a read, `rdata`.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "HostBusTarget"]
pub struct HostBus {
    /// Word address.
    pub addr: Signal<Out, Bits<32>>,
    /// Write data.
    pub wdata: Signal<Out, Bits<32>>,
    /// Write strobe.
    pub we: Signal<Out, Bit>,
    /// Read strobe.
    pub re: Signal<Out, Bit>,
    /// Read data, the clock after `re`.
    pub rdata: Signal<In, Bits<32>>,
    /// Status of the access, the clock after the strobe.
    pub status: Signal<In, Bits<8>>,
}

/// The host bus, the target's side. See [`HostBus`].
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "HostBus"]
pub struct HostBusTarget {
    /// Word address.
    pub addr: Signal<In, Bits<32>>,
    /// Write data.
    pub wdata: Signal<In, Bits<32>>,
    /// Write strobe.
    pub we: Signal<In, Bit>,
    /// Read strobe.
    pub re: Signal<In, Bit>,
    /// Read data, the clock after `re`.
    pub rdata: Signal<Out, Bits<32>>,
    /// Status of the access, the clock after the strobe.
    pub status: Signal<Out, Bits<8>>,
}

/// The fabric side of one SERDES channel, as the transceiver presents it
/// (the DCUA black box `vendor::dcua` on a board, its behavioural model in
/// simulation): word clocks, 20-bit words through the 1:2 gearbox (raw
/// 10-bit mode, bit 0 first on the line), the resets the bring-up drives
/// and the status it watches. The status outputs are asynchronous to every
/// fabric clock: synchronise them.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "DcuUser"]
pub struct DcuFabric {
    /// TX word clock (`FF_TX_PCLK`), valid once the TX PLL is locked.
    pub tx_pclk: Signal<Out, Clock>,
    /// RX word clock (`FF_RX_PCLK`), recovered; valid while the CDR is
    /// locked.
    pub rx_pclk: Signal<Out, Clock>,
    /// TX word (`FF_TX_D` 9:0 and 21:12), on `tx_pclk`.
    pub tx_data: Signal<In, Bits<20>>,
    /// RX word (`FF_RX_D`), on `rx_pclk`.
    pub rx_data: Signal<Out, Bits<20>>,
    /// TX PLL loss of lock (`D_FFS_PLOL`).
    pub tx_pll_lol: Signal<Out, Bit>,
    /// CDR loss of lock (`CHx_FFS_RLOL`).
    pub rx_cdr_lol: Signal<Out, Bit>,
    /// Loss of signal (`CHx_FFS_RLOS`).
    pub rx_los: Signal<Out, Bit>,
    /// TX PLL reset (`D_FFC_TRST`).
    pub tx_pll_rst: Signal<In, Bit>,
    /// CDR reset (`CHx_FFC_RRST`).
    pub rx_cdr_rst: Signal<In, Bit>,
    /// TX lane reset (`CHx_FFC_LANE_TX_RST`).
    pub tx_lane_rst: Signal<In, Bit>,
    /// RX lane reset (`CHx_FFC_LANE_RX_RST`).
    pub rx_lane_rst: Signal<In, Bit>,
}

/// The fabric side of one SERDES channel, as the gateware uses it. See
/// [`DcuFabric`].
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "DcuFabric"]
pub struct DcuUser {
    /// TX word clock (`FF_TX_PCLK`), valid once the TX PLL is locked.
    pub tx_pclk: Signal<In, Clock>,
    /// RX word clock (`FF_RX_PCLK`), recovered; valid while the CDR is
    /// locked.
    pub rx_pclk: Signal<In, Clock>,
    /// TX word (`FF_TX_D` 9:0 and 21:12), on `tx_pclk`.
    pub tx_data: Signal<Out, Bits<20>>,
    /// RX word (`FF_RX_D`), on `rx_pclk`.
    pub rx_data: Signal<In, Bits<20>>,
    /// TX PLL loss of lock (`D_FFS_PLOL`).
    pub tx_pll_lol: Signal<In, Bit>,
    /// CDR loss of lock (`CHx_FFS_RLOL`).
    pub rx_cdr_lol: Signal<In, Bit>,
    /// Loss of signal (`CHx_FFS_RLOS`).
    pub rx_los: Signal<In, Bit>,
    /// TX PLL reset (`D_FFC_TRST`).
    pub tx_pll_rst: Signal<Out, Bit>,
    /// CDR reset (`CHx_FFC_RRST`).
    pub rx_cdr_rst: Signal<Out, Bit>,
    /// TX lane reset (`CHx_FFC_LANE_TX_RST`).
    pub tx_lane_rst: Signal<Out, Bit>,
    /// RX lane reset (`CHx_FFC_LANE_RX_RST`).
    pub rx_lane_rst: Signal<Out, Bit>,
}

/// The transceiver bring-up's report, the reporting side (`SerdesInit`,
/// after synchronising into the consumer's clock): the fields of
/// `fiberloop_spec::phy::phy_status` and the event counts.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "PhyStatusIn"]
pub struct PhyStatus {
    /// The bring-up state (`fiberloop_spec::phy::init_state`).
    pub state: Signal<Out, Bits<4>>,
    /// The TX PLL is locked.
    pub tx_pll_locked: Signal<Out, Bit>,
    /// The CDR is locked.
    pub cdr_locked: Signal<Out, Bit>,
    /// Loss of signal.
    pub los: Signal<Out, Bit>,
    /// The TX lane is out of reset.
    pub tx_ready: Signal<Out, Bit>,
    /// The RX lane is out of reset.
    pub rx_ready: Signal<Out, Bit>,
    /// Restarts after a loss of lock.
    pub restarts: Signal<Out, Bits<32>>,
    /// Returns to the CDR step on loss of signal.
    pub los_events: Signal<Out, Bits<32>>,
    /// CDR resets repeated after a lock timeout.
    pub cdr_retries: Signal<Out, Bits<32>>,
}

/// The transceiver bring-up's report, the register file's side. See
/// [`PhyStatus`].
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "PhyStatus"]
pub struct PhyStatusIn {
    /// The bring-up state (`fiberloop_spec::phy::init_state`).
    pub state: Signal<In, Bits<4>>,
    /// The TX PLL is locked.
    pub tx_pll_locked: Signal<In, Bit>,
    /// The CDR is locked.
    pub cdr_locked: Signal<In, Bit>,
    /// Loss of signal.
    pub los: Signal<In, Bit>,
    /// The TX lane is out of reset.
    pub tx_ready: Signal<In, Bit>,
    /// The RX lane is out of reset.
    pub rx_ready: Signal<In, Bit>,
    /// Restarts after a loss of lock.
    pub restarts: Signal<In, Bits<32>>,
    /// Returns to the CDR step on loss of signal.
    pub los_events: Signal<In, Bits<32>>,
    /// CDR resets repeated after a lock timeout.
    pub cdr_retries: Signal<In, Bits<32>>,
}

/// The bring-up aids (`fiberloop_spec::phy`: PRBS generator and checker,
/// transmit source, clock meters), the register file's side. Every signal
/// is in the word clock's domain (the aids synchronise their own).
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "AidsPort"]
pub struct AidsHost {
    /// What the transmitter sends (`fiberloop_spec::phy::source`).
    pub source: Signal<Out, Bits<2>>,
    /// The PRBS pattern's code (`fiberloop_spec::phy::Prbs::code`).
    pub pattern: Signal<Out, Bits<2>>,
    /// The checker counts.
    pub check: Signal<Out, Bit>,
    /// Strobe: clear the checker's counters and lock.
    pub clear: Signal<Out, Bit>,
    /// The checker is locked.
    pub locked: Signal<In, Bit>,
    /// The checker lost lock since the last clear.
    pub lock_lost: Signal<In, Bit>,
    /// Line bits checked while locked.
    pub bits: Signal<In, Bits<64>>,
    /// Line bits in error while locked.
    pub errors: Signal<In, Bits<64>>,
    /// TX word clock, kHz.
    pub tx_khz: Signal<In, Bits<32>>,
    /// RX word clock, kHz.
    pub rx_khz: Signal<In, Bits<32>>,
}

/// The bring-up aids, their side. See [`AidsHost`].
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "AidsHost"]
pub struct AidsPort {
    /// What the transmitter sends (`fiberloop_spec::phy::source`).
    pub source: Signal<In, Bits<2>>,
    /// The PRBS pattern's code (`fiberloop_spec::phy::Prbs::code`).
    pub pattern: Signal<In, Bits<2>>,
    /// The checker counts.
    pub check: Signal<In, Bit>,
    /// Strobe: clear the checker's counters and lock.
    pub clear: Signal<In, Bit>,
    /// The checker is locked.
    pub locked: Signal<Out, Bit>,
    /// The checker lost lock since the last clear.
    pub lock_lost: Signal<Out, Bit>,
    /// Line bits checked while locked.
    pub bits: Signal<Out, Bits<64>>,
    /// Line bits in error while locked.
    pub errors: Signal<Out, Bits<64>>,
    /// TX word clock, kHz.
    pub tx_khz: Signal<Out, Bits<32>>,
    /// RX word clock, kHz.
    pub rx_khz: Signal<Out, Bits<32>>,
}

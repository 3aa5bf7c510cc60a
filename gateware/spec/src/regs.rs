//! The register map: every word the host can read or write with the
//! protocol of [`crate::proto`].
//!
//! Addresses are **word** addresses of 32-bit registers. A window of payload
//! bytes holds byte `4w + k` of the payload in bits `8k+7 .. 8k` of word `w`
//! (little-endian), so the payload bytes of a burst travel on the wire in
//! their own order.
//!
//! | word address | words | access | name | contents |
//! |---|---|---|---|---|
//! | `0x0000` | 1 | RO | [`ID`] | [`ID_VALUE`] = `0x4C424946`, the bytes "FIBL" on the wire |
//! | `0x0001` | 1 | RO | [`VERSION`] | register map version (bits 31:16, [`MAP_VERSION`]) and protocol version (15:0, [`crate::proto::PROTOCOL_VERSION`]) |
//! | `0x0002` | 1 | RO | [`MAX_BURST`] | [`crate::proto::MAX_BURST_WORDS`] |
//! | `0x0003` | 1 | RO | [`SLOT_WORDS_REG`] | [`SLOT_WORDS`], payload words per slot |
//! | `0x0004` | 1 | RO | [`TOP`] | which gateware top answers ([`top`]) |
//! | `0x0008` | 8 | RW | [`SCRATCH`] | scratch words, no effect |
//! | `0x0010` | 1 | RW | [`LOOP_CTRL`] | write a [`ctrl`] command; reads the last command written |
//! | `0x0011` | 1 | RO | [`LOOP_STATUS`] | [`status_bits`]: mode, no loop, slot operation pending |
//! | `0x0012` | 1 | RW | [`FILL_TIMEOUT`] | word clocks a fill waits for its marker (default [`FILL_TIMEOUT_DEFAULT`]) |
//! | `0x0020` | 26 | RO | [`COUNTERS`] | 13 loop counters of 64 bits ([`counter`]): low word at `0x20 + 2i`, high word at `0x21 + 2i`; reading a low word latches its high word |
//! | `0x0040` | 8 | RO | [`LINK`] | host link counters of 32 bits ([`link`]) |
//! | `0x0050` | 1 | RO | [`PHY_STATUS`] | transceiver bring-up state and flags ([`crate::phy::phy_status`]) |
//! | `0x0051` | 1 | RO | [`PHY_RESTARTS`] | bring-up restarts from the start after a loss of lock (32 bits, wraps) |
//! | `0x0052` | 1 | RO | [`PHY_LOS_EVENTS`] | returns to the CDR step on loss of signal (32 bits, wraps) |
//! | `0x0053` | 1 | RO | [`PHY_CDR_RETRIES`] | CDR resets repeated because the CDR did not lock in time (32 bits, wraps) |
//! | `0x0054` | 1 | RO | [`TX_CLOCK_KHZ`] | TX word clock measured against the 100 MHz reference, kHz ([`crate::phy::METER_WINDOW_REF_CLOCKS`]) |
//! | `0x0055` | 1 | RO | [`RX_CLOCK_KHZ`] | RX word clock (recovered), kHz |
//! | `0x0058` | 1 | RW | [`PRBS_CTRL`] | transmit source, PRBS pattern, checker on, clear ([`crate::phy::prbs_ctrl`]) |
//! | `0x0059` | 1 | RO | [`PRBS_STATUS`] | checker lock ([`crate::phy::prbs_status`]) |
//! | `0x005A` | 2 | RO | [`PRBS_BITS`] | 64-bit count of line bits checked while locked; reading the low word latches the high word |
//! | `0x005C` | 2 | RO | [`PRBS_ERRORS`] | 64-bit count of line bits in error while locked; likewise |
//! | `0x0100` | 57 | RW | [`SLOT_WR_BUF`] | slot write buffer: the 228 payload bytes of the next slot write |
//! | `0x0139` | 1 | RW | [`SLOT_WR_SLOT`] | slot number the next commit writes |
//! | `0x013A` | 1 | RW | [`SLOT_WR_COMMIT`] | write any value: send the buffer into slot [`SLOT_WR_SLOT`] as it next passes; reads 1 while the write is pending |
//! | `0x0140` | 57 | RO | [`SLOT_RD_BUF`] | payload of the last slot read |
//! | `0x0179` | 1 | RW | [`SLOT_RD_SLOT`] | slot number the next read request captures |
//! | `0x017A` | 1 | RW | [`SLOT_RD_REQUEST`] | write any value: capture slot [`SLOT_RD_SLOT`] as it next passes; reads 1 while pending |
//! | `0x017B` | 1 | RO | [`SLOT_RD_FLAGS`] | frame flags of the slot read (`crate::frame::flags`) |
//! | `0x017C` | 1 | RO | [`SLOT_RD_LAP`] | lap counter of the slot read |
//! | `0x0200` | 1 | WO | [`INFER_CTRL`] | write [`INFER_START`]: the inputs written become the read bank and the batch runs as the layers pass |
//! | `0x0201` | 1 | RO | [`INFER_STATUS`] | [`infer_bits`]: busy, done, bad weights, overrun |
//! | `0x0202` | 1 | RW | [`INFER_LAYERS`] | layers in the table, `1..=`[`MAX_LAYERS`] |
//! | `0x0203` | 1 | RO | [`INFER_BATCH`] | batch rows `B` of the engine (1..=[`MAX_BATCH_ROWS`]) |
//! | `0x0208` | 8 | RW | [`MODEL_TAG`] | the host's description of the loaded model ([`model_tag`]); no effect on the hardware; a FILL command clears word 0 |
//! | `0x0210` | 16 | RW | [`LAYER_TABLE`] | layer `i`: low word `0x210 + 2i` = first slot (15:0), rows (31:16); high word `0x211 + 2i` = row stride in words (15:0), parameter base (31:16). Writing the high word enters the layer with the last low word written |
//! | `0x0800` | 1024 | RW | [`SCRATCH_MEM`] | scratch memory for link tests, no effect |
//! | `0x1000` | 4096 | WO | [`PARAM_MEM`] | per output row of every layer, entry `e` at `0x1000 + 4e`: bias (i32), multiplier M0 (i32), then [`param_word2`] (shift, output zero point, ReLU; writing it enters the entry), then a word that must be 0 |
//! | `0x2000` | 8192 | WO | [`ACT_IN`] | the batch's int8 inputs: row `r`, word `w` at `0x2000 + 1024r + w` holds inputs `2w` (7:0) and `2w + 1` (15:8); bits 31:16 must be 0 |
//! | `0x4000` | 8192 | RO | [`ACT_OUT`] | the batch's int8 outputs after `done`, the same layout (bits 31:16 read 0) |
//!
//! Every other address is unmapped: a burst touching it is answered
//! `BAD_ADDRESS`, as is a write touching an RO word or a read touching a
//! WO one.
//!
//! A whole slot write is one burst of 59 words at [`SLOT_WR_BUF`] (buffer,
//! slot number, commit); a slot read is a burst of 2 words at
//! [`SLOT_RD_SLOT`] (slot, request) then, once [`SLOT_RD_REQUEST`] reads 0,
//! a burst of 61 words at [`SLOT_RD_BUF`] (payload, slot, request, flags,
//! lap). While a slot write is pending, writes to the write buffer, slot or
//! commit are answered `BUSY`; while a read is pending, reads of the read
//! buffer, flags or lap are.
//!
//! # Inference
//! The weights are in the loop (slot writes, laid out by
//! [`crate::layout`]); the host writes the layer table, [`INFER_LAYERS`] and
//! the parameters once per model, then per batch of up to `B` inputs: the
//! inputs into [`ACT_IN`], [`INFER_START`] into [`INFER_CTRL`], polls
//! [`INFER_STATUS`] until `DONE`, and reads [`ACT_OUT`]. Rows of the batch
//! not written compute on whatever their bank held: ignore their outputs.
//! While the engine is busy, writes to the layer table, [`INFER_LAYERS`],
//! [`PARAM_MEM`], [`ACT_IN`] and [`INFER_CTRL`] and reads of [`ACT_OUT`]
//! are answered `BUSY` and change nothing. A value out of range (a layer
//! count of 0 or above [`MAX_LAYERS`], a start value other than
//! [`INFER_START`], nonzero reserved bits of a parameter or input word) is
//! answered `BAD_VALUE` and changes nothing. `BAD` in the status means a
//! weight frame read during the batch was marked bad by the loop: the
//! outputs must not be trusted (refill and rewrite the loop).

use crate::frame::PAYLOAD_BYTES;

/// Register map version, reported in [`VERSION`] bits 31:16.
pub const MAP_VERSION: u16 = 3;

/// Identification register.
pub const ID: u32 = 0x0000;
/// Value of [`ID`]: "FIBL" as the four bytes on the wire.
pub const ID_VALUE: u32 = u32::from_le_bytes(*b"FIBL");
/// Version register.
pub const VERSION: u32 = 0x0001;
/// Value of [`VERSION`].
pub const VERSION_VALUE: u32 = ((MAP_VERSION as u32) << 16) | crate::proto::PROTOCOL_VERSION as u32;
/// Largest burst, words.
pub const MAX_BURST: u32 = 0x0002;
/// Payload words per slot (register).
pub const SLOT_WORDS_REG: u32 = 0x0003;
/// Start of the identification block (what PING returns).
pub const IDENT: u32 = ID;
/// Which gateware top answers.
pub const TOP: u32 = 0x0004;

/// Values of [`TOP`].
pub mod top {
    /// `BoardCore` as the top: the loop core with its host links and no
    /// transceiver (its SERDES words are ports; the fast simulated board).
    pub const BOARD_CORE: u32 = 1;
    /// `VersaTop`: the ECP5-5G Versa with its transceiver and bring-up
    /// (its simulation is `VersaSim`, the same top with the transceiver's
    /// model).
    pub const VERSA: u32 = 2;
    /// The ECP5-5G Evaluation Board.
    pub const EVN: u32 = 3;
    /// The name of a top, for tools.
    pub const fn name(top: u32) -> &'static str {
        match top {
            BOARD_CORE => "board-core",
            VERSA => "versa-ecp5g",
            EVN => "ecp5-evn",
            _ => "unknown",
        }
    }
}

/// Scratch words.
pub const SCRATCH: u32 = 0x0008;
/// Number of scratch words.
pub const SCRATCH_WORDS: u32 = 8;

/// Loop control.
pub const LOOP_CTRL: u32 = 0x0010;
/// Loop status.
pub const LOOP_STATUS: u32 = 0x0011;
/// Fill timeout, word clocks.
pub const FILL_TIMEOUT: u32 = 0x0012;
/// Default of [`FILL_TIMEOUT`].
pub const FILL_TIMEOUT_DEFAULT: u32 = 10_000_000;

/// Commands written to [`LOOP_CTRL`].
pub mod ctrl {
    /// Stop: frames are no longer regenerated.
    pub const IDLE: u32 = 0;
    /// Measure the loop delay only.
    pub const MEASURE: u32 = 1;
    /// Measure the delay, send one empty frame per slot, then run.
    pub const FILL: u32 = 2;
    /// Run (regenerate frames lap after lap).
    pub const RUN: u32 = 3;
}

/// Fields of [`LOOP_STATUS`].
pub mod status_bits {
    /// Bits 2:0: the mode ([`MODE_IDLE`] ..= [`MODE_RUNNING`]).
    pub const MODE_MASK: u32 = 0x7;
    /// Idle.
    pub const MODE_IDLE: u32 = 0;
    /// Measuring the delay.
    pub const MODE_MEASURING: u32 = 1;
    /// Sending the empty frames of a fill.
    pub const MODE_FILLING: u32 = 2;
    /// Running: frames circulate.
    pub const MODE_RUNNING: u32 = 3;
    /// The last fill found no loop (no marker came back in time).
    pub const NO_LOOP: u32 = 1 << 4;
    /// A slot write is pending.
    pub const WR_PENDING: u32 = 1 << 5;
    /// A slot read is pending.
    pub const RD_PENDING: u32 = 1 << 6;
    /// The slot read buffer holds a completed read.
    pub const RD_VALID: u32 = 1 << 7;
    /// While running, nothing came back for a lap: the loop's contents are
    /// lost (sticky until the next fill); fill and rewrite it.
    pub const LOOP_LOST: u32 = 1 << 8;
}

/// Loop counters, 64 bits each.
pub const COUNTERS: u32 = 0x0020;
/// Number of loop counters.
pub const COUNTER_COUNT: u32 = 13;

/// Indices of the loop counters: counter `i` is at [`counter_addr`]`(i)`.
pub mod counter {
    /// Laps since the fill.
    pub const LAPS: u32 = 0;
    /// Frames regenerated.
    pub const FRAMES: u32 = 1;
    /// Bytes corrected by the RS decoder.
    pub const CORRECTED_BYTES: u32 = 2;
    /// Frames the decoder could not correct.
    pub const UNCORRECTABLE: u32 = 3;
    /// Frames whose CRC failed after decoding.
    pub const CRC_FAILURES: u32 = 4;
    /// 8b/10b code violations and disparity errors, symbols.
    pub const CODE_VIOLATIONS: u32 = 5;
    /// Losses of word alignment or signal.
    pub const SYNC_LOSSES: u32 = 6;
    /// Frame starts repaired (a corrupted start-of-frame symbol recovered).
    pub const SOF_REPAIRS: u32 = 7;
    /// Measured loop delay, word clocks (a value, not a count).
    pub const DELAY_CLOCKS: u32 = 8;
    /// Frames in flight: slots in the loop (a value, not a count).
    pub const IN_FLIGHT: u32 = 9;
    /// Word clocks since reset.
    pub const CLOCKS: u32 = 10;
    /// Payload words seen on the weight tap.
    pub const TAP_WORDS: u32 = 11;
    /// Clean start-of-frame symbols inside a frame: one byte error where a
    /// bit error made one of a data symbol, or a frame lost where a real
    /// start came early.
    pub const SOF_DROPS: u32 = 12;
    /// Names, by index, for tools (snake case).
    pub const NAMES: [&str; super::COUNTER_COUNT as usize] = [
        "laps",
        "frames",
        "corrected_bytes",
        "uncorrectable_frames",
        "crc_failures",
        "code_violations",
        "sync_losses",
        "sof_repairs",
        "delay_clocks",
        "frames_in_flight",
        "clocks",
        "tap_words",
        "sof_drops",
    ];
}

/// Word address of the low word of loop counter `i`.
pub const fn counter_addr(i: u32) -> u32 {
    COUNTERS + 2 * i
}

/// Host link counters, 32 bits each.
pub const LINK: u32 = 0x0040;
/// Words of the link counter block.
pub const LINK_WORDS: u32 = 8;

/// Indices of the host link counters (word `LINK + i`).
pub mod link {
    /// Requests executed.
    pub const EXECUTED: u32 = 0;
    /// Frames dropped: header check failed.
    pub const HEADER_CRC: u32 = 1;
    /// Frames dropped: payload check failed.
    pub const PAYLOAD_CRC: u32 = 2;
    /// Partial frames dropped by the inter-byte timeout.
    pub const TIMEOUTS: u32 = 3;
    /// Retried WRITEs answered from the remembered reply.
    pub const REPLAYS: u32 = 4;
    /// Bytes skipped while hunting for a sync.
    pub const HUNTED_BYTES: u32 = 5;
    /// Replies with a status other than OK.
    pub const ERROR_REPLIES: u32 = 6;
    /// Bytes from the UART lost because the command engine was serving a
    /// frame from the USB FIFO port (two hosts at once; see
    /// `hostif::link_mux` in the gateware). Always 0 on a board with one
    /// link in use.
    pub const CONTENTION_LOST: u32 = 7;
    /// Names, by index, for tools (snake case).
    pub const NAMES: [&str; 8] = [
        "requests_executed",
        "header_crc_drops",
        "payload_crc_drops",
        "timeout_drops",
        "replayed_writes",
        "hunted_bytes",
        "error_replies",
        "uart_bytes_lost_to_contention",
    ];
}

/// Transceiver bring-up state and flags.
pub const PHY_STATUS: u32 = 0x0050;
/// Bring-up restarts after a loss of lock.
pub const PHY_RESTARTS: u32 = 0x0051;
/// Returns to the CDR step on loss of signal.
pub const PHY_LOS_EVENTS: u32 = 0x0052;
/// CDR resets repeated because the CDR did not lock in time.
pub const PHY_CDR_RETRIES: u32 = 0x0053;
/// TX word clock, kHz.
pub const TX_CLOCK_KHZ: u32 = 0x0054;
/// RX word clock, kHz.
pub const RX_CLOCK_KHZ: u32 = 0x0055;
/// Words of the PHY status block.
pub const PHY_WORDS: u32 = 6;
/// PRBS and transmit-source control.
pub const PRBS_CTRL: u32 = 0x0058;
/// PRBS checker status.
pub const PRBS_STATUS: u32 = 0x0059;
/// PRBS bits checked (64 bits: low word, then high word).
pub const PRBS_BITS: u32 = 0x005A;
/// PRBS bit errors (64 bits: low word, then high word).
pub const PRBS_ERRORS: u32 = 0x005C;

/// Payload words per slot.
pub const SLOT_WORDS: u32 = (PAYLOAD_BYTES / 4) as u32;
/// Slot write buffer.
pub const SLOT_WR_BUF: u32 = 0x0100;
/// Slot number of the next write.
pub const SLOT_WR_SLOT: u32 = SLOT_WR_BUF + SLOT_WORDS;
/// Commit the slot write.
pub const SLOT_WR_COMMIT: u32 = SLOT_WR_SLOT + 1;
/// Slot read buffer.
pub const SLOT_RD_BUF: u32 = 0x0140;
/// Slot number of the next read.
pub const SLOT_RD_SLOT: u32 = SLOT_RD_BUF + SLOT_WORDS;
/// Request the slot read.
pub const SLOT_RD_REQUEST: u32 = SLOT_RD_SLOT + 1;
/// Flags of the slot read.
pub const SLOT_RD_FLAGS: u32 = SLOT_RD_SLOT + 2;
/// Lap of the slot read.
pub const SLOT_RD_LAP: u32 = SLOT_RD_SLOT + 3;

/// Inference control: write [`INFER_START`].
pub const INFER_CTRL: u32 = 0x0200;
/// The value written to [`INFER_CTRL`] to start a batch.
pub const INFER_START: u32 = 1;
/// Inference status ([`infer_bits`]).
pub const INFER_STATUS: u32 = 0x0201;
/// Layers in the table.
pub const INFER_LAYERS: u32 = 0x0202;
/// Batch rows of the engine.
pub const INFER_BATCH: u32 = 0x0203;
/// Most layers in the table.
pub const MAX_LAYERS: u32 = 8;
/// Most batch rows the register map has room for.
pub const MAX_BATCH_ROWS: u32 = 8;
/// Most inputs (and outputs) of a layer, per batch row.
pub const MAX_ACTIVATIONS: u32 = 2048;

/// Fields of [`INFER_STATUS`].
pub mod infer_bits {
    /// A batch is running.
    pub const BUSY: u32 = 1 << 0;
    /// The last batch finished; its outputs are in [`super::ACT_OUT`].
    pub const DONE: u32 = 1 << 1;
    /// A weight frame of the last batch was marked bad: do not trust it.
    pub const BAD: u32 = 1 << 2;
    /// The array was given rows faster than it can drain them (a layout
    /// error: rows shorter than the batch).
    pub const OVERRUN: u32 = 1 << 3;
}

/// The host's model tag.
pub const MODEL_TAG: u32 = 0x0208;
/// Words of [`MODEL_TAG`].
pub const MODEL_TAG_WORDS: u32 = 8;

/// The words of [`MODEL_TAG`], as the host uses them. The hardware only
/// stores them (and clears word 0 on a fill, when the loop's contents are
/// lost).
pub mod model_tag {
    /// CRC-32 of the model file; 0: no model loaded.
    pub const FILE_CRC: u32 = 0;
    /// Inputs of the first layer.
    pub const INPUTS: u32 = 1;
    /// Outputs of the last layer.
    pub const OUTPUTS: u32 = 2;
    /// Layers.
    pub const LAYERS: u32 = 3;
    /// Slots the weights take.
    pub const SLOTS: u32 = 4;
}

/// The layer table: layer `i` at `LAYER_TABLE + 2i` (low word) and
/// `LAYER_TABLE + 2i + 1` (high word).
pub const LAYER_TABLE: u32 = 0x0210;
/// Words of [`LAYER_TABLE`].
pub const LAYER_TABLE_WORDS: u32 = 2 * MAX_LAYERS;

/// Scratch memory.
pub const SCRATCH_MEM: u32 = 0x0800;
/// Words of [`SCRATCH_MEM`].
pub const SCRATCH_MEM_WORDS: u32 = 1024;

/// Layer parameter memory: entry `e` at `PARAM_MEM + 4e`.
pub const PARAM_MEM: u32 = 0x1000;
/// Words of [`PARAM_MEM`].
pub const PARAM_MEM_WORDS: u32 = 4 * PARAM_ENTRIES;
/// Parameter entries (output rows of all layers together).
pub const PARAM_ENTRIES: u32 = 1024;
/// Words per parameter entry.
pub const PARAM_ENTRY_WORDS: u32 = 4;

/// Word 2 of a parameter entry.
pub mod param_word2 {
    /// Bits 4:0: the right shift, 0..=31.
    pub const SHIFT_MASK: u32 = 0x1F;
    /// Bits 15:8: the output zero point (int8).
    pub const ZERO_POINT_SHIFT: u32 = 8;
    /// Bit 16: ReLU.
    pub const RELU: u32 = 1 << 16;
    /// Bits that must be 0.
    pub const RESERVED: u32 = !(SHIFT_MASK | (0xFF << ZERO_POINT_SHIFT) | RELU);

    /// Packs the fields.
    pub const fn pack(shift: u8, zero_point: i8, relu: bool) -> u32 {
        (shift as u32 & SHIFT_MASK)
            | ((zero_point as u8 as u32) << ZERO_POINT_SHIFT)
            | if relu { RELU } else { 0 }
    }
}

/// Activation input buffer.
pub const ACT_IN: u32 = 0x2000;
/// Words per batch row in [`ACT_IN`] and [`ACT_OUT`].
pub const ACT_ROW_WORDS: u32 = MAX_ACTIVATIONS / 2;
/// Words of [`ACT_IN`].
pub const ACT_IN_WORDS: u32 = MAX_BATCH_ROWS * ACT_ROW_WORDS;
/// Activation output buffer.
pub const ACT_OUT: u32 = 0x4000;
/// Words of [`ACT_OUT`].
pub const ACT_OUT_WORDS: u32 = MAX_BATCH_ROWS * ACT_ROW_WORDS;

/// Word address of activations `2w`, `2w + 1` of batch row `row` in
/// [`ACT_IN`] or [`ACT_OUT`] (`base`).
pub const fn act_addr(base: u32, row: u32, w: u32) -> u32 {
    base + row * ACT_ROW_WORDS + w
}

/// Who may do what with a word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read only.
    Ro,
    /// Read and write.
    Rw,
    /// Write only.
    Wo,
}

impl Access {
    /// Reads allowed.
    pub fn readable(self) -> bool {
        self != Access::Wo
    }
    /// Writes allowed.
    pub fn writable(self) -> bool {
        self != Access::Ro
    }
}

/// A range of consecutive words with one access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Name, for messages.
    pub name: &'static str,
    /// First word.
    pub base: u32,
    /// Words.
    pub words: u32,
    /// Access.
    pub access: Access,
}

impl Region {
    /// Whether `addr` is in the region.
    pub fn contains(&self, addr: u32) -> bool {
        addr >= self.base && addr - self.base < self.words
    }
}

const fn r(name: &'static str, base: u32, words: u32, access: Access) -> Region {
    Region {
        name,
        base,
        words,
        access,
    }
}

/// Every mapped range, by address.
pub const REGIONS: [Region; 26] = [
    r("ident", ID, 4, Access::Ro),
    r("top", TOP, 1, Access::Ro),
    r("scratch", SCRATCH, SCRATCH_WORDS, Access::Rw),
    r("loop_ctrl", LOOP_CTRL, 1, Access::Rw),
    r("loop_status", LOOP_STATUS, 1, Access::Ro),
    r("fill_timeout", FILL_TIMEOUT, 1, Access::Rw),
    r("counters", COUNTERS, 2 * COUNTER_COUNT, Access::Ro),
    r("link", LINK, LINK_WORDS, Access::Ro),
    r("phy", PHY_STATUS, PHY_WORDS, Access::Ro),
    r("prbs_ctrl", PRBS_CTRL, 1, Access::Rw),
    r("prbs_status", PRBS_STATUS, 5, Access::Ro),
    r("slot_wr_buf", SLOT_WR_BUF, SLOT_WORDS, Access::Rw),
    r("slot_wr_ctl", SLOT_WR_SLOT, 2, Access::Rw),
    r("slot_rd_buf", SLOT_RD_BUF, SLOT_WORDS, Access::Ro),
    r("slot_rd_ctl", SLOT_RD_SLOT, 2, Access::Rw),
    r("slot_rd_info", SLOT_RD_FLAGS, 2, Access::Ro),
    r("infer_ctrl", INFER_CTRL, 1, Access::Wo),
    r("infer_status", INFER_STATUS, 1, Access::Ro),
    r("infer_layers", INFER_LAYERS, 1, Access::Rw),
    r("infer_batch", INFER_BATCH, 1, Access::Ro),
    r("model_tag", MODEL_TAG, MODEL_TAG_WORDS, Access::Rw),
    r("layer_table", LAYER_TABLE, LAYER_TABLE_WORDS, Access::Rw),
    r("scratch_mem", SCRATCH_MEM, SCRATCH_MEM_WORDS, Access::Rw),
    r("param_mem", PARAM_MEM, PARAM_MEM_WORDS, Access::Wo),
    r("act_in", ACT_IN, ACT_IN_WORDS, Access::Wo),
    r("act_out", ACT_OUT, ACT_OUT_WORDS, Access::Ro),
];

/// The region holding `addr`, if it is mapped.
pub fn region(addr: u32) -> Option<&'static Region> {
    REGIONS.iter().find(|g| g.contains(addr))
}

/// Checks a burst of `len` words from `addr`: `Err(a)` gives the first
/// word `a` that is unmapped or lacks the access (reads need readable words,
/// writes writable ones). A burst may span adjacent regions.
pub fn check_burst(addr: u32, len: u32, write: bool) -> Result<(), u32> {
    let mut a = addr;
    let end = addr as u64 + len as u64;
    while (a as u64) < end {
        let Some(g) = region(a) else {
            return Err(a);
        };
        let ok = if write {
            g.access.writable()
        } else {
            g.access.readable()
        };
        if !ok {
            return Err(a);
        }
        let g_end = g.base as u64 + g.words as u64;
        if g_end >= end {
            return Ok(());
        }
        a = g_end as u32;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_sorted_and_disjoint() {
        for w in REGIONS.windows(2) {
            assert!(
                w[0].base as u64 + w[0].words as u64 <= w[1].base as u64,
                "{} overlaps {}",
                w[0].name,
                w[1].name
            );
        }
    }

    #[test]
    fn slot_windows_hold_one_frame_payload() {
        assert_eq!(SLOT_WORDS * 4, PAYLOAD_BYTES as u32);
        assert_eq!(SLOT_WORDS, 57);
        assert_eq!(SLOT_WR_SLOT, 0x139);
        assert_eq!(SLOT_WR_COMMIT, 0x13A);
        assert_eq!(SLOT_RD_LAP, 0x17C);
        // One burst writes a whole slot; one reads it back with its info.
        assert_eq!(check_burst(SLOT_WR_BUF, SLOT_WORDS + 2, true), Ok(()));
        assert_eq!(check_burst(SLOT_RD_BUF, SLOT_WORDS + 4, false), Ok(()));
        assert_eq!(
            check_burst(SLOT_RD_BUF, SLOT_WORDS + 4, true),
            Err(SLOT_RD_BUF)
        );
    }

    #[test]
    fn id_is_fibl_on_the_wire() {
        assert_eq!(ID_VALUE.to_le_bytes(), *b"FIBL");
        assert_eq!(ID_VALUE, 0x4C42_4946);
    }

    #[test]
    fn bursts_are_checked_word_by_word() {
        assert_eq!(check_burst(ID, 4, false), Ok(()));
        assert_eq!(check_burst(ID, 5, false), Ok(()));
        assert_eq!(check_burst(ID, 6, false), Err(5));
        assert_eq!(check_burst(ID, 1, true), Err(ID));
        assert_eq!(check_burst(SCRATCH + 7, 2, true), Ok(()));
        assert_eq!(check_burst(SCRATCH + 7, 3, true), Err(LOOP_STATUS));
        assert_eq!(check_burst(LOOP_CTRL, 3, false), Ok(()));
        assert_eq!(check_burst(LOOP_CTRL, 3, true), Err(LOOP_STATUS));
        assert_eq!(
            check_burst(counter_addr(0), 2 * COUNTER_COUNT, false),
            Ok(())
        );
        assert_eq!(check_burst(PARAM_MEM, PARAM_MEM_WORDS, true), Ok(()));
        assert_eq!(
            check_burst(PARAM_MEM, PARAM_MEM_WORDS + 1, true),
            Ok(()),
            "param memory runs into the activation input"
        );
        assert_eq!(check_burst(PARAM_MEM, 1, false), Err(PARAM_MEM));
        assert_eq!(check_burst(ACT_OUT, 1, true), Err(ACT_OUT));
        assert_eq!(check_burst(ACT_IN, 1, false), Err(ACT_IN));
        assert_eq!(check_burst(INFER_CTRL, 2, false), Err(INFER_CTRL));
        assert_eq!(check_burst(INFER_CTRL, 3, true), Err(INFER_STATUS));
        assert_eq!(check_burst(INFER_STATUS, 3, false), Ok(()));
        assert_eq!(check_burst(MODEL_TAG, 8 + 16, true), Ok(()));
        assert_eq!(check_burst(SCRATCH_MEM, 1024, true), Ok(()));
        assert_eq!(check_burst(SCRATCH_MEM, 1025, true), Err(0x0C00));
        assert_eq!(check_burst(0xFFFF_FFFF, 1, false), Err(0xFFFF_FFFF));
        assert_eq!(check_burst(0x6000, 1, false), Err(0x6000));
    }

    #[test]
    fn engine_windows_fit_the_engine() {
        assert_eq!(LAYER_TABLE + LAYER_TABLE_WORDS, 0x0220);
        assert_eq!(PARAM_MEM_WORDS, 4096);
        assert_eq!(ACT_IN + ACT_IN_WORDS, ACT_OUT);
        assert_eq!(act_addr(ACT_OUT, 7, 1023), 0x5FFF);
        assert_eq!(param_word2::pack(31, -1, true), 0x1_FF1F);
        assert_eq!(param_word2::pack(3, 5, false) & param_word2::RESERVED, 0);
        assert_eq!(param_word2::RESERVED, 0xFFFE_00E0);
    }

    #[test]
    fn names_cover_every_counter() {
        assert_eq!(counter::NAMES.len() as u32, COUNTER_COUNT);
        assert_eq!(counter_addr(counter::TAP_WORDS) + 1, COUNTERS + 23);
        assert!(link::NAMES.len() as u32 <= LINK_WORDS);
    }
}

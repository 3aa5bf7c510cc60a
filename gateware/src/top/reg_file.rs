//! `RegFile`: the register map of `fiberloop_spec::regs` on the host bus,
//! between the command engine and the loop core.
//!
//! ```text
//! CmdEngine --bus (HostBus)--> RegFile --slot (SlotHost)--> LoopController
//!           --events-------->         --eng (EngineHost)--> InferenceEngine
//! LinkMux   --lost_in------->         <--counters, line, tap_valid_in-- LoopCore
//! ```

use crate::bundles::{
    EngineHost, HostBusTarget, LineCountersIn, LinkEventsIn, LoopCountersIn, SlotHost,
};
use crate::infer::engine::PARAM_BITS;
use crate::top::loop_core::ENGINE_BATCH;
use fiberloop_spec::proto::{status, MAX_BURST_WORDS};
use fiberloop_spec::regs;
use rust_hdl::prelude::*;

/// Where the read data of a bus read comes from, the clock after the strobe.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum ReadSource {
    /// A register, latched at the strobe.
    Reg,
    /// The scratch memory.
    ScratchMem,
    /// The scratch words.
    Scratch,
    /// The model tag.
    Tag,
    /// The layer table's copy.
    Table,
    /// The slot write buffer's copy.
    WrBuf,
    /// The slot read buffer.
    RdBuf,
    /// A counter's latched high word.
    HiLatch,
    /// The engine's output pair.
    ActOut,
}

/// The slot read machine.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum ReadState {
    /// No read under way.
    Idle,
    /// Armed this clock; the core's pending flag rises next.
    Arm,
    /// Waiting for the slot to pass.
    Wait,
    /// Copying the core's 114 half-words into the 57-word buffer.
    Copy,
}

/// Core loop mode of a running loop (`LoopController::mode_out`).
const MODE_RUN: u64 = 4;
/// Half-words of a slot payload.
const SLOT_HALVES: u64 = 2 * regs::SLOT_WORDS as u64;
/// Loop counters that count in 32 bits in the core and are widened here by
/// counting the wraps of their bit 31.
const WIDENED: usize = 9;

/// The register file: every register of `fiberloop_spec::regs` (its module
/// documentation is the contract) on the bus of [`CmdEngine`], which has
/// already checked every address against the map (RW for writes, RO/RW for
/// reads): an address the map does not allow is never strobed, and is not
/// decoded fully here.
///
/// # Bus timing
/// Clock `n` is the clock in which `bus.we` or `bus.re` is high (with
/// `bus.addr` and, for a write, `bus.wdata`). Then:
/// * **Status**: `bus.status` in clock `n + 1` is the access's status:
///   `status::OK`, or a refusal `BUSY`, `BAD_VALUE` or `FAULT`. A refused
///   write changes nothing. In a clock after a clock with no strobe,
///   `bus.status` is `OK` and `bus.rdata` is 0.
/// * **Read data**: `bus.rdata` in clock `n + 1`, from a register latched at
///   the edge ending clock `n`, or from a memory read at the address of
///   clock `n` (scratch, model tag, layer table copy, slot buffers, counter
///   high words, the engine's output words). A refused read's data is 0.
/// * **Writes** take effect at the edge ending clock `n` (a read in clock
///   `n + 1` sees them), except the second halves of a slot-buffer word
///   (the core's half-word `2a + 1` is written in clock `n + 1`) and of an
///   input word (its high byte, clock `n + 1`).
/// * Throughput: one access per clock (the engine issues one every 2 to 3).
///
/// # Refusals
/// * `BUSY`, the operation in the way still running:
///   - writes of `SLOT_WR_BUF`, `SLOT_WR_SLOT`, `SLOT_WR_COMMIT` while a
///     slot write is pending (from the clock after an accepted commit until
///     the core's `wr_pending` falls);
///   - writes of `SLOT_RD_REQUEST`, reads of `SLOT_RD_BUF`, `SLOT_RD_FLAGS`
///     and `SLOT_RD_LAP` while a slot read is under way (from the clock
///     after an accepted request until the copy below is done);
///   - writes of `INFER_CTRL`, `INFER_LAYERS`, `LAYER_TABLE`, `PARAM_MEM`
///     and `ACT_IN`, and reads of `ACT_OUT`, while the engine is busy (its
///     `busy`, or the two clocks after an accepted `INFER_START`).
/// * `FAULT`: `SLOT_WR_COMMIT` or `SLOT_RD_REQUEST` while the loop is not
///   running; `INFER_START` while the loop is not running or with no layers
///   (`INFER_LAYERS` is 0 after reset).
/// * `BAD_VALUE`: a commit or request for a slot at or beyond the loop's
///   slot count; `LOOP_CTRL` other than `FILL` (2), or `RUN` (3) while not
///   running (`IDLE` and `MEASURE` too: the controller has no such
///   commands, a fill measures and then runs); `INFER_CTRL` other than
///   `INFER_START`; `INFER_LAYERS` of 0 or above 8; a parameter word 2 with
///   reserved bits set, a parameter word 3 other than 0; an input word with
///   bits 31:16 set.
///
/// # Details the map leaves open
/// * 64-bit loop counters: `CLOCKS` and `TAP_WORDS` count here in 64 bits;
///   the core's 32-bit event counters are widened by counting the wraps of
///   their bit 31 (a counter that a fill resets from above 2^31 would count
///   one false wrap); `DELAY_CLOCKS` and `IN_FLIGHT` are values. Reading a
///   low word latches that counter's high word (one latch per counter),
///   which a read of the high word returns.
/// * Slot write: a buffer word goes into the core's half-word buffer in the
///   strobe's clock and the next; a copy kept here answers reads of the
///   buffer.
/// * Slot read: when the core has captured the slot, its 114 half-words are
///   copied into a 57-word buffer (116 clocks); the read counts as pending
///   (`LOOP_STATUS`, `SLOT_RD_REQUEST` bit 0) until the copy is done.
/// * `LOOP_CTRL`: `FILL` starts a fill (clears the read buffer's valid flag
///   and the model tag's word 0); `RUN` is accepted while the loop runs.
/// * Inference: an input word goes into the activation buffer in two clocks
///   (low byte, then high); a layer table entry is written to the engine
///   with its odd (high) word.
///
/// Latency: as above, every answer in the clock after its strobe.
/// Throughput: one bus access per clock. Reset: `reset` clears the
/// registers and counters (and the slot read machine) and sets
/// `FILL_TIMEOUT` to its default; the memories (scratch, tag, table copy,
/// buffers, high-word latches) keep their contents.
///
/// [`CmdEngine`]: crate::hostif::cmd_engine::CmdEngine
#[derive(LogicBlock)]
pub struct RegFile {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// The host bus, from the command engine.
    pub bus: HostBusTarget,
    /// The command engine's event strobes (link counters).
    pub events: LinkEventsIn,
    /// Strobe: a UART byte was lost to contention (`LinkMux`).
    pub lost_in: Signal<In, Bit>,
    /// The loop controller's host port.
    pub slot: SlotHost,
    /// The loop controller's mode, flags and counters.
    pub counters: LoopCountersIn,
    /// The line receiver's counters.
    pub line: LineCountersIn,
    /// The payload tap carries a word (counts `TAP_WORDS`).
    pub tap_valid_in: Signal<In, Bit>,
    /// The inference engine's host port.
    pub eng: EngineHost,
    // Memories.
    scratch_mem: RAM<Bits<32>, 10>,
    scratch: RAM<Bits<32>, 3>,
    tag: RAM<Bits<32>, 3>,
    ltab: RAM<Bits<32>, 4>,
    wr_copy: RAM<Bits<32>, 6>,
    rd_copy: RAM<Bits<32>, 6>,
    hi_latch: RAM<Bits<32>, 4>,
    // Bus decode (combinational).
    a: Signal<Local, Bits<32>>,
    v: Signal<Local, Bits<32>>,
    lo: Signal<Local, Bits<8>>,
    low_page: Signal<Local, Bit>,
    sub0: Signal<Local, Bit>,
    sub1: Signal<Local, Bit>,
    sub2: Signal<Local, Bit>,
    cidx: Signal<Local, Bits<4>>,
    cval: Signal<Local, Bits<64>>,
    running: Signal<Local, Bit>,
    wr_busy: Signal<Local, Bit>,
    rd_busy: Signal<Local, Bit>,
    eng_busy: Signal<Local, Bit>,
    slots: Signal<Local, Bits<32>>,
    fill_now: Signal<Local, Bit>,
    status_word: Signal<Local, Bits<32>>,
    infer_word: Signal<Local, Bits<32>>,
    act_row: Signal<Local, Bits<4>>,
    act_word: Signal<Local, Bits<10>>,
    // Bus answer.
    rd_q: DFF<Bits<32>>,
    src_q: DFF<ReadSource>,
    status_q: DFF<Bits<8>>,
    // Loop registers.
    loop_ctrl: DFF<Bits<32>>,
    fill_timeout: DFF<Bits<32>>,
    wr_slot: DFF<Bits<32>>,
    wr_arm_q: DFF<Bit>,
    wr_hi: DFF<Bit>,
    wr_hi_addr: DFF<Bits<7>>,
    wr_hi_data: DFF<Bits<16>>,
    rd_slot: DFF<Bits<32>>,
    rd_state: DFF<ReadState>,
    rd_i: DFF<Bits<8>>,
    rd_prev: Signal<Local, Bits<8>>,
    rd_lo: DFF<Bits<16>>,
    rd_valid: DFF<Bit>,
    rd_flags: DFF<Bits<8>>,
    rd_lap: DFF<Bits<32>>,
    // Counters.
    clocks64: DFF<Bits<64>>,
    tap64: DFF<Bits<64>>,
    ext: [DFF<Bits<32>>; WIDENED],
    msb: [DFF<Bit>; WIDENED],
    src32: [Signal<Local, Bits<32>>; WIDENED],
    link: [DFF<Bits<32>>; 8],
    // Engine registers.
    n_layers: DFF<Bits<4>>,
    table_lo: DFF<Bits<32>>,
    param_w0: DFF<Bits<32>>,
    param_w1: DFF<Bits<32>>,
    act_hi: DFF<Bit>,
    act_hi_row: DFF<Bits<4>>,
    act_hi_index: DFF<Bits<11>>,
    act_hi_data: DFF<Bits<8>>,
    start_q: DFF<Bits<2>>,
    // Constants.
    c_id: Constant<Bits<32>>,
    c_version: Constant<Bits<32>>,
    c_max_burst: Constant<Bits<32>>,
    c_slot_words: Constant<Bits<32>>,
    c_batch: Constant<Bits<32>>,
    c_fill_default: Constant<Bits<32>>,
    c_ok: Constant<Bits<8>>,
    c_busy: Constant<Bits<8>>,
    c_bad_value: Constant<Bits<8>>,
    c_fault: Constant<Bits<8>>,
    c_mode_run: Constant<Bits<3>>,
    c_slot_halves: Constant<Bits<8>>,
    c_w2_reserved: Constant<Bits<32>>,
}

impl Default for RegFile {
    fn default() -> Self {
        let k32 = |v: u32| Constant::new((v as u64).to_bits());
        let k8 = |v: u8| Constant::new((v as u64).to_bits());
        Self {
            clock: Default::default(),
            reset: Default::default(),
            bus: Default::default(),
            events: Default::default(),
            lost_in: Default::default(),
            slot: Default::default(),
            counters: Default::default(),
            line: Default::default(),
            tap_valid_in: Default::default(),
            eng: Default::default(),
            scratch_mem: Default::default(),
            scratch: Default::default(),
            tag: Default::default(),
            ltab: Default::default(),
            wr_copy: Default::default(),
            rd_copy: Default::default(),
            hi_latch: Default::default(),
            a: Default::default(),
            v: Default::default(),
            lo: Default::default(),
            low_page: Default::default(),
            sub0: Default::default(),
            sub1: Default::default(),
            sub2: Default::default(),
            cidx: Default::default(),
            cval: Default::default(),
            running: Default::default(),
            wr_busy: Default::default(),
            rd_busy: Default::default(),
            eng_busy: Default::default(),
            slots: Default::default(),
            fill_now: Default::default(),
            status_word: Default::default(),
            infer_word: Default::default(),
            act_row: Default::default(),
            act_word: Default::default(),
            rd_q: Default::default(),
            src_q: Default::default(),
            status_q: Default::default(),
            loop_ctrl: Default::default(),
            fill_timeout: Default::default(),
            wr_slot: Default::default(),
            wr_arm_q: Default::default(),
            wr_hi: Default::default(),
            wr_hi_addr: Default::default(),
            wr_hi_data: Default::default(),
            rd_slot: Default::default(),
            rd_state: Default::default(),
            rd_i: Default::default(),
            rd_prev: Default::default(),
            rd_lo: Default::default(),
            rd_valid: Default::default(),
            rd_flags: Default::default(),
            rd_lap: Default::default(),
            clocks64: Default::default(),
            tap64: Default::default(),
            ext: Default::default(),
            msb: Default::default(),
            src32: Default::default(),
            link: Default::default(),
            n_layers: Default::default(),
            table_lo: Default::default(),
            param_w0: Default::default(),
            param_w1: Default::default(),
            act_hi: Default::default(),
            act_hi_row: Default::default(),
            act_hi_index: Default::default(),
            act_hi_data: Default::default(),
            start_q: Default::default(),
            c_id: k32(regs::ID_VALUE),
            c_version: k32(regs::VERSION_VALUE),
            c_max_burst: k32(MAX_BURST_WORDS as u32),
            c_slot_words: k32(regs::SLOT_WORDS),
            c_batch: k32(ENGINE_BATCH as u32),
            c_fill_default: k32(regs::FILL_TIMEOUT_DEFAULT),
            c_ok: k8(status::OK),
            c_busy: k8(status::BUSY),
            c_bad_value: k8(status::BAD_VALUE),
            c_fault: k8(status::FAULT),
            c_mode_run: Constant::new(MODE_RUN.to_bits()),
            c_slot_halves: Constant::new(SLOT_HALVES.to_bits()),
            c_w2_reserved: k32(regs::param_word2::RESERVED),
        }
    }
}

impl Logic for RegFile {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            rd_q,
            src_q,
            status_q,
            loop_ctrl,
            fill_timeout,
            wr_slot,
            wr_arm_q,
            wr_hi,
            wr_hi_addr,
            wr_hi_data,
            rd_slot,
            rd_state,
            rd_i,
            rd_lo,
            rd_valid,
            rd_flags,
            rd_lap,
            clocks64,
            tap64,
            n_layers,
            table_lo,
            param_w0,
            param_w1,
            act_hi,
            act_hi_row,
            act_hi_index,
            act_hi_data,
            start_q
        );
        for i in 0..9 {
            self.ext[i].clock.next = self.clock.val();
            self.ext[i].d.next = self.ext[i].q.val();
            self.msb[i].clock.next = self.clock.val();
            self.msb[i].d.next = self.msb[i].q.val();
        }
        for i in 0..8 {
            self.link[i].clock.next = self.clock.val();
            self.link[i].d.next = self.link[i].q.val();
        }
        self.scratch_mem.read_clock.next = self.clock.val();
        self.scratch_mem.write_clock.next = self.clock.val();
        self.scratch.read_clock.next = self.clock.val();
        self.scratch.write_clock.next = self.clock.val();
        self.tag.read_clock.next = self.clock.val();
        self.tag.write_clock.next = self.clock.val();
        self.ltab.read_clock.next = self.clock.val();
        self.ltab.write_clock.next = self.clock.val();
        self.wr_copy.read_clock.next = self.clock.val();
        self.wr_copy.write_clock.next = self.clock.val();
        self.rd_copy.read_clock.next = self.clock.val();
        self.rd_copy.write_clock.next = self.clock.val();
        self.hi_latch.read_clock.next = self.clock.val();
        self.hi_latch.write_clock.next = self.clock.val();

        // ---------------- decode ----------------
        self.a.next = self.bus.addr.val();
        self.v.next = self.bus.wdata.val();
        self.lo.next = self.a.val().get_bits::<8>(0);
        self.low_page.next = self.a.val().get_bits::<20>(12) == 0;
        self.sub0.next = self.low_page.val() & (self.a.val().get_bits::<4>(8) == 0);
        self.sub1.next = self.low_page.val() & (self.a.val().get_bits::<4>(8) == 1);
        self.sub2.next = self.low_page.val() & (self.a.val().get_bits::<4>(8) == 2);
        self.running.next = self.counters.mode.val() == self.c_mode_run.val();
        self.wr_busy.next = self.wr_arm_q.q.val() | self.slot.wr_pending.val();
        self.rd_busy.next = self.rd_state.q.val() != ReadState::Idle;
        self.eng_busy.next = self.eng.busy.val() | self.start_q.q.val().any();
        self.slots.next = bit_cast::<32, 16>(self.counters.slots.val());
        self.act_row.next = bit_cast::<4, 3>(self.a.val().get_bits::<3>(10));
        self.act_word.next = self.a.val().get_bits::<10>(0);
        self.fill_now.next = false;

        // Memory addresses follow the bus address (read the clock after).
        self.scratch_mem.read_address.next = self.a.val().get_bits::<10>(0);
        self.scratch_mem.write_address.next = self.a.val().get_bits::<10>(0);
        self.scratch_mem.write_data.next = self.v.val();
        self.scratch_mem.write_enable.next = false;
        self.scratch.read_address.next = self.a.val().get_bits::<3>(0);
        self.scratch.write_address.next = self.a.val().get_bits::<3>(0);
        self.scratch.write_data.next = self.v.val();
        self.scratch.write_enable.next = false;
        self.tag.read_address.next = self.a.val().get_bits::<3>(0);
        self.tag.write_address.next = self.a.val().get_bits::<3>(0);
        self.tag.write_data.next = self.v.val();
        self.tag.write_enable.next = false;
        self.ltab.read_address.next = self.a.val().get_bits::<4>(0);
        self.ltab.write_address.next = self.a.val().get_bits::<4>(0);
        self.ltab.write_data.next = self.v.val();
        self.ltab.write_enable.next = false;
        self.wr_copy.read_address.next = self.a.val().get_bits::<6>(0);
        self.wr_copy.write_address.next = self.a.val().get_bits::<6>(0);
        self.wr_copy.write_data.next = self.v.val();
        self.wr_copy.write_enable.next = false;
        self.rd_copy.read_address.next = self.a.val().get_bits::<6>(0);
        self.rd_prev.next = self.rd_i.q.val() - 1;
        self.rd_copy.write_address.next = self.rd_prev.val().get_bits::<6>(1);
        self.rd_copy.write_data.next = (bit_cast::<32, 16>(self.slot.rd_buf_data.val()) << 16)
            | bit_cast::<32, 16>(self.rd_lo.q.val());
        self.rd_copy.write_enable.next = false;
        self.cidx.next = self.lo.val().get_bits::<4>(1);
        self.hi_latch.read_address.next = self.cidx.val();
        self.hi_latch.write_address.next = self.cidx.val();
        self.hi_latch.write_enable.next = false;

        // ---------------- counters ----------------
        self.clocks64.d.next = self.clocks64.q.val() + 1;
        if self.tap_valid_in.val() {
            self.tap64.d.next = self.tap64.q.val() + 1;
        }
        self.src32[0].next = self.counters.lap.val();
        self.src32[1].next = self.counters.frames.val();
        self.src32[2].next = self.counters.corrected.val();
        self.src32[3].next = self.counters.uncorrectable.val();
        self.src32[4].next = self.counters.crc_fail.val();
        self.src32[5].next = self.line.code_errors.val();
        self.src32[6].next = self.line.sync_losses.val();
        self.src32[7].next = self.line.sof_repairs.val();
        self.src32[8].next = self.line.sof_drops.val();
        for i in 0..9 {
            self.msb[i].d.next = self.src32[i].val().get_bit(31);
            if self.msb[i].q.val() & !self.src32[i].val().get_bit(31) {
                self.ext[i].d.next = self.ext[i].q.val() + 1;
            }
        }
        self.cval.next = 0.into();
        if self.cidx.val() == 0 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[0].q.val()) << 32)
                | bit_cast::<64, 32>(self.src32[0].val());
        } else if self.cidx.val() == 1 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[1].q.val()) << 32)
                | bit_cast::<64, 32>(self.src32[1].val());
        } else if self.cidx.val() == 2 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[2].q.val()) << 32)
                | bit_cast::<64, 32>(self.src32[2].val());
        } else if self.cidx.val() == 3 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[3].q.val()) << 32)
                | bit_cast::<64, 32>(self.src32[3].val());
        } else if self.cidx.val() == 4 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[4].q.val()) << 32)
                | bit_cast::<64, 32>(self.src32[4].val());
        } else if self.cidx.val() == 5 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[5].q.val()) << 32)
                | bit_cast::<64, 32>(self.src32[5].val());
        } else if self.cidx.val() == 6 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[6].q.val()) << 32)
                | bit_cast::<64, 32>(self.src32[6].val());
        } else if self.cidx.val() == 7 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[7].q.val()) << 32)
                | bit_cast::<64, 32>(self.src32[7].val());
        } else if self.cidx.val() == 8 {
            self.cval.next = bit_cast::<64, 32>(self.counters.delay.val());
        } else if self.cidx.val() == 9 {
            self.cval.next = bit_cast::<64, 16>(self.counters.slots.val());
        } else if self.cidx.val() == 10 {
            self.cval.next = self.clocks64.q.val();
        } else if self.cidx.val() == 11 {
            self.cval.next = self.tap64.q.val();
        } else if self.cidx.val() == 12 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[8].q.val()) << 32)
                | bit_cast::<64, 32>(self.src32[8].val());
        }
        self.hi_latch.write_data.next = self.cval.val().get_bits::<32>(32);
        // Link counters, from the command engine's strobes.
        if self.events.executed.val() {
            self.link[0].d.next = self.link[0].q.val() + 1;
        }
        if self.events.header_crc_drop.val() {
            self.link[1].d.next = self.link[1].q.val() + 1;
        }
        if self.events.payload_crc_drop.val() {
            self.link[2].d.next = self.link[2].q.val() + 1;
        }
        if self.events.timeout_drop.val() {
            self.link[3].d.next = self.link[3].q.val() + 1;
        }
        if self.events.replay.val() {
            self.link[4].d.next = self.link[4].q.val() + 1;
        }
        self.link[5].d.next = self.link[5].q.val() + bit_cast::<32, 2>(self.events.hunted.val());
        if self.events.error_reply.val() {
            self.link[6].d.next = self.link[6].q.val() + 1;
        }
        if self.lost_in.val() {
            self.link[7].d.next = self.link[7].q.val() + 1;
        }

        // ---------------- status words ----------------
        self.status_word.next = 0.into();
        if (self.counters.mode.val() == 1) | (self.counters.mode.val() == 2) {
            self.status_word.next = 1.into();
        } else if self.counters.mode.val() == 3 {
            self.status_word.next = 2.into();
        } else if self.counters.mode.val() == 4 {
            self.status_word.next = 3.into();
        }
        self.status_word.next = self
            .status_word
            .val()
            .replace_bit(4, self.counters.no_loop.val())
            .replace_bit(5, self.wr_busy.val())
            .replace_bit(6, self.rd_busy.val())
            .replace_bit(7, self.rd_valid.q.val())
            .replace_bit(8, self.counters.loop_lost.val());
        self.infer_word.next = 0.into();
        self.infer_word.next = self
            .infer_word
            .val()
            .replace_bit(0, self.eng_busy.val())
            .replace_bit(1, self.eng.done.val() & !self.eng_busy.val())
            .replace_bit(2, self.eng.bad.val())
            .replace_bit(3, self.eng.overrun.val());

        // ---------------- loop and engine defaults ----------------
        self.slot.fill.next = false;
        self.slot.timeout.next = self.fill_timeout.q.val();
        self.slot.wr_buf_we.next = false;
        self.slot.wr_buf_addr.next = bit_cast::<7, 6>(self.a.val().get_bits::<6>(0)) << 1;
        self.slot.wr_buf_data.next = self.v.val().get_bits::<16>(0);
        self.slot.wr_arm.next = false;
        self.slot.wr_slot.next = self.wr_slot.q.val().get_bits::<16>(0);
        self.slot.rd_arm.next = false;
        self.slot.rd_slot.next = self.rd_slot.q.val().get_bits::<16>(0);
        self.slot.rd_buf_addr.next = self.rd_i.q.val().get_bits::<7>(0);
        self.eng.layers.we.next = false;
        self.eng.layers.addr.next = self.a.val().get_bits::<3>(1);
        self.eng.layers.data.next =
            (bit_cast::<64, 32>(self.v.val()) << 32) | bit_cast::<64, 32>(self.table_lo.q.val());
        self.eng.layers.n_layers.next = self.n_layers.q.val();
        self.eng.param_we.next = false;
        self.eng.param_addr.next = self.a.val().get_bits::<10>(2);
        self.eng.param_data.next = bit_cast::<PARAM_BITS, 32>(self.param_w0.q.val())
            | (bit_cast::<PARAM_BITS, 32>(self.param_w1.q.val()) << 32)
            | (bit_cast::<PARAM_BITS, 5>(self.v.val().get_bits::<5>(0)) << 64)
            | (bit_cast::<PARAM_BITS, 8>(self.v.val().get_bits::<8>(8)) << 69)
            | (bit_cast::<PARAM_BITS, 1>(self.v.val().get_bits::<1>(16)) << 77);
        self.eng.in_we.next = false;
        self.eng.in_row.next = self.act_row.val();
        self.eng.in_index.next = bit_cast::<11, 10>(self.act_word.val()) << 1;
        self.eng.in_data.next = self.v.val().get_bits::<8>(0);
        self.eng.start.next = false;
        self.eng.out_row.next = self.act_row.val();
        self.eng.out_word.next = self.act_word.val();
        self.wr_arm_q.d.next = false;
        self.wr_hi.d.next = false;
        self.act_hi.d.next = false;
        self.start_q.d.next = self.start_q.q.val() << 1;
        self.status_q.d.next = self.c_ok.val();
        self.src_q.d.next = ReadSource::Reg;
        self.rd_q.d.next = 0.into();

        // Second halves of slot-buffer and input words.
        if self.wr_hi.q.val() {
            self.slot.wr_buf_we.next = true;
            self.slot.wr_buf_addr.next = self.wr_hi_addr.q.val();
            self.slot.wr_buf_data.next = self.wr_hi_data.q.val();
        }
        if self.act_hi.q.val() {
            self.eng.in_we.next = true;
            self.eng.in_row.next = self.act_hi_row.q.val();
            self.eng.in_index.next = self.act_hi_index.q.val();
            self.eng.in_data.next = self.act_hi_data.q.val();
        }

        // ---------------- slot read machine ----------------
        match self.rd_state.q.val() {
            ReadState::Idle => {}
            ReadState::Arm => {
                self.rd_state.d.next = ReadState::Wait;
            }
            ReadState::Wait => {
                if !self.slot.rd_pending.val() {
                    self.rd_i.d.next = 0.into();
                    self.rd_state.d.next = ReadState::Copy;
                }
            }
            ReadState::Copy => {
                // Address `rd_i` goes out; the data of `rd_i - 1` is here.
                self.rd_i.d.next = self.rd_i.q.val() + 1;
                if self.rd_i.q.val().any() {
                    if self.rd_prev.val().get_bit(0) {
                        self.rd_copy.write_enable.next = true;
                    } else {
                        self.rd_lo.d.next = self.slot.rd_buf_data.val();
                    }
                }
                if self.rd_i.q.val() == self.c_slot_halves.val() {
                    self.rd_flags.d.next = self.slot.rd_flags.val();
                    self.rd_lap.d.next = self.slot.rd_lap.val();
                    self.rd_valid.d.next = true;
                    self.rd_state.d.next = ReadState::Idle;
                }
            }
        }

        // ---------------- bus writes ----------------
        if self.bus.we.val() {
            if self.sub0.val() {
                if (self.lo.val() >= 0x08) & (self.lo.val() < 0x10) {
                    self.scratch.write_enable.next = true;
                } else if self.lo.val() == 0x10 {
                    if self.v.val() == 2 {
                        self.fill_now.next = true;
                        self.loop_ctrl.d.next = self.v.val();
                    } else if (self.v.val() == 3) & self.running.val() {
                        self.loop_ctrl.d.next = self.v.val();
                    } else {
                        self.status_q.d.next = self.c_bad_value.val();
                    }
                } else if self.lo.val() == 0x12 {
                    self.fill_timeout.d.next = self.v.val();
                }
            } else if self.sub1.val() {
                if self.lo.val() < 0x3B {
                    if self.wr_busy.val() {
                        self.status_q.d.next = self.c_busy.val();
                    } else if self.lo.val() < 0x39 {
                        self.wr_copy.write_enable.next = true;
                        self.slot.wr_buf_we.next = true;
                        self.wr_hi.d.next = true;
                        self.wr_hi_addr.d.next =
                            (bit_cast::<7, 6>(self.a.val().get_bits::<6>(0)) << 1) | 1;
                        self.wr_hi_data.d.next = self.v.val().get_bits::<16>(16);
                    } else if self.lo.val() == 0x39 {
                        self.wr_slot.d.next = self.v.val();
                    } else if !self.running.val() {
                        self.status_q.d.next = self.c_fault.val();
                    } else if self.wr_slot.q.val() >= self.slots.val() {
                        self.status_q.d.next = self.c_bad_value.val();
                    } else {
                        self.slot.wr_arm.next = true;
                        self.wr_arm_q.d.next = true;
                    }
                } else if self.lo.val() == 0x79 {
                    self.rd_slot.d.next = self.v.val();
                } else if self.lo.val() == 0x7A {
                    if self.rd_busy.val() {
                        self.status_q.d.next = self.c_busy.val();
                    } else if !self.running.val() {
                        self.status_q.d.next = self.c_fault.val();
                    } else if self.rd_slot.q.val() >= self.slots.val() {
                        self.status_q.d.next = self.c_bad_value.val();
                    } else {
                        self.slot.rd_arm.next = true;
                        self.rd_valid.d.next = false;
                        self.rd_state.d.next = ReadState::Arm;
                    }
                }
            } else if self.sub2.val() {
                if (self.lo.val() >= 0x08) & (self.lo.val() < 0x10) {
                    self.tag.write_enable.next = true;
                } else if self.eng_busy.val() {
                    self.status_q.d.next = self.c_busy.val();
                } else if self.lo.val() == 0x00 {
                    if self.v.val() != 1 {
                        self.status_q.d.next = self.c_bad_value.val();
                    } else if (!self.running.val()) | (!self.n_layers.q.val().any()) {
                        self.status_q.d.next = self.c_fault.val();
                    } else {
                        self.eng.start.next = true;
                        self.start_q.d.next = 3.into();
                    }
                } else if self.lo.val() == 0x02 {
                    if (self.v.val() == 0) | (self.v.val() > 8) {
                        self.status_q.d.next = self.c_bad_value.val();
                    } else {
                        self.n_layers.d.next = self.v.val().get_bits::<4>(0);
                    }
                } else if (self.lo.val() >= 0x10) & (self.lo.val() < 0x20) {
                    self.ltab.write_enable.next = true;
                    if self.lo.val().get_bit(0) {
                        self.eng.layers.we.next = true;
                    } else {
                        self.table_lo.d.next = self.v.val();
                    }
                }
            } else if self.low_page.val() {
                // 0x0800..0x0BFF: the scratch memory.
                self.scratch_mem.write_enable.next = true;
            } else if self.a.val().get_bits::<4>(12) == 1 {
                if self.eng_busy.val() {
                    self.status_q.d.next = self.c_busy.val();
                } else if self.a.val().get_bits::<2>(0) == 0 {
                    self.param_w0.d.next = self.v.val();
                } else if self.a.val().get_bits::<2>(0) == 1 {
                    self.param_w1.d.next = self.v.val();
                } else if self.a.val().get_bits::<2>(0) == 2 {
                    if (self.v.val() & self.c_w2_reserved.val()).any() {
                        self.status_q.d.next = self.c_bad_value.val();
                    } else {
                        self.eng.param_we.next = true;
                    }
                } else if self.v.val().any() {
                    self.status_q.d.next = self.c_bad_value.val();
                }
            } else {
                // 0x2000..0x3FFF: the batch's inputs.
                if self.eng_busy.val() {
                    self.status_q.d.next = self.c_busy.val();
                } else if self.v.val().get_bits::<16>(16).any() {
                    self.status_q.d.next = self.c_bad_value.val();
                } else {
                    self.eng.in_we.next = true;
                    self.act_hi.d.next = true;
                    self.act_hi_row.d.next = self.act_row.val();
                    self.act_hi_index.d.next = (bit_cast::<11, 10>(self.act_word.val()) << 1) | 1;
                    self.act_hi_data.d.next = self.v.val().get_bits::<8>(8);
                }
            }
        }
        if self.fill_now.val() {
            self.slot.fill.next = true;
            self.rd_valid.d.next = false;
            self.tag.write_enable.next = true;
            self.tag.write_address.next = 0.into();
            self.tag.write_data.next = 0.into();
        }

        // ---------------- bus reads ----------------
        if self.bus.re.val() {
            if self.sub0.val() {
                if self.lo.val() == 0x00 {
                    self.rd_q.d.next = self.c_id.val();
                } else if self.lo.val() == 0x01 {
                    self.rd_q.d.next = self.c_version.val();
                } else if self.lo.val() == 0x02 {
                    self.rd_q.d.next = self.c_max_burst.val();
                } else if self.lo.val() == 0x03 {
                    self.rd_q.d.next = self.c_slot_words.val();
                } else if self.lo.val() < 0x10 {
                    self.src_q.d.next = ReadSource::Scratch;
                } else if self.lo.val() == 0x10 {
                    self.rd_q.d.next = self.loop_ctrl.q.val();
                } else if self.lo.val() == 0x11 {
                    self.rd_q.d.next = self.status_word.val();
                } else if self.lo.val() == 0x12 {
                    self.rd_q.d.next = self.fill_timeout.q.val();
                } else if self.lo.val() < 0x40 {
                    if self.lo.val().get_bit(0) {
                        self.src_q.d.next = ReadSource::HiLatch;
                    } else {
                        self.rd_q.d.next = self.cval.val().get_bits::<32>(0);
                        self.hi_latch.write_enable.next = true;
                    }
                } else if self.lo.val() == 0x40 {
                    self.rd_q.d.next = self.link[0].q.val();
                } else if self.lo.val() == 0x41 {
                    self.rd_q.d.next = self.link[1].q.val();
                } else if self.lo.val() == 0x42 {
                    self.rd_q.d.next = self.link[2].q.val();
                } else if self.lo.val() == 0x43 {
                    self.rd_q.d.next = self.link[3].q.val();
                } else if self.lo.val() == 0x44 {
                    self.rd_q.d.next = self.link[4].q.val();
                } else if self.lo.val() == 0x45 {
                    self.rd_q.d.next = self.link[5].q.val();
                } else if self.lo.val() == 0x46 {
                    self.rd_q.d.next = self.link[6].q.val();
                } else if self.lo.val() == 0x47 {
                    self.rd_q.d.next = self.link[7].q.val();
                }
            } else if self.sub1.val() {
                if self.lo.val() < 0x39 {
                    self.src_q.d.next = ReadSource::WrBuf;
                } else if self.lo.val() == 0x39 {
                    self.rd_q.d.next = self.wr_slot.q.val();
                } else if self.lo.val() == 0x3A {
                    self.rd_q.d.next = self.rd_q.d.val().replace_bit(0, self.wr_busy.val());
                } else if self.lo.val() == 0x79 {
                    self.rd_q.d.next = self.rd_slot.q.val();
                } else if self.lo.val() == 0x7A {
                    self.rd_q.d.next = self.rd_q.d.val().replace_bit(0, self.rd_busy.val());
                } else if self.rd_busy.val() {
                    self.status_q.d.next = self.c_busy.val();
                } else if self.lo.val() < 0x79 {
                    self.src_q.d.next = ReadSource::RdBuf;
                } else if self.lo.val() == 0x7B {
                    self.rd_q.d.next = bit_cast::<32, 8>(self.rd_flags.q.val());
                } else {
                    self.rd_q.d.next = self.rd_lap.q.val();
                }
            } else if self.sub2.val() {
                if self.lo.val() == 0x01 {
                    self.rd_q.d.next = self.infer_word.val();
                } else if self.lo.val() == 0x02 {
                    self.rd_q.d.next = bit_cast::<32, 4>(self.n_layers.q.val());
                } else if self.lo.val() == 0x03 {
                    self.rd_q.d.next = self.c_batch.val();
                } else if self.lo.val() < 0x10 {
                    self.src_q.d.next = ReadSource::Tag;
                } else {
                    self.src_q.d.next = ReadSource::Table;
                }
            } else if self.low_page.val() {
                self.src_q.d.next = ReadSource::ScratchMem;
            } else if self.eng_busy.val() {
                self.status_q.d.next = self.c_busy.val();
            } else {
                self.src_q.d.next = ReadSource::ActOut;
            }
        }

        // ---------------- bus answer ----------------
        self.bus.status.next = self.status_q.q.val();
        self.bus.rdata.next = self.rd_q.q.val();
        match self.src_q.q.val() {
            ReadSource::Reg => {}
            ReadSource::ScratchMem => {
                self.bus.rdata.next = self.scratch_mem.read_data.val();
            }
            ReadSource::Scratch => {
                self.bus.rdata.next = self.scratch.read_data.val();
            }
            ReadSource::Tag => {
                self.bus.rdata.next = self.tag.read_data.val();
            }
            ReadSource::Table => {
                self.bus.rdata.next = self.ltab.read_data.val();
            }
            ReadSource::WrBuf => {
                self.bus.rdata.next = self.wr_copy.read_data.val();
            }
            ReadSource::RdBuf => {
                self.bus.rdata.next = self.rd_copy.read_data.val();
            }
            ReadSource::HiLatch => {
                self.bus.rdata.next = self.hi_latch.read_data.val();
            }
            ReadSource::ActOut => {
                self.bus.rdata.next = bit_cast::<32, 16>(self.eng.out_data.val());
            }
        }

        // ---------------- reset ----------------
        if self.reset.val() {
            self.loop_ctrl.d.next = 0.into();
            self.fill_timeout.d.next = self.c_fill_default.val();
            self.wr_slot.d.next = 0.into();
            self.rd_slot.d.next = 0.into();
            self.rd_state.d.next = ReadState::Idle;
            self.rd_valid.d.next = false;
            self.clocks64.d.next = 0.into();
            self.tap64.d.next = 0.into();
            self.n_layers.d.next = 0.into();
            self.start_q.d.next = 0.into();
            for i in 0..9 {
                self.ext[i].d.next = 0.into();
                self.msb[i].d.next = false;
            }
            for i in 0..8 {
                self.link[i].d.next = 0.into();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reg_file_synthesizes() {
        let mut uut = RegFile::default();
        uut.connect_all();
        let r = fiberloop_harness::synth::synth_block(&uut, "reg_file").unwrap();
        println!("register file: {r}");
        assert!(r.luts() > 0, "{r}");
        assert_eq!(r.dsps(), 0, "{r}");
    }
}

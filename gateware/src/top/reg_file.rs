//! `RegFile`: the register map of `fiberloop_spec::regs` on the host bus,
//! between the command engine and the loop core.
//!
//! ```text
//! CmdEngine --bus (HostBus)--> RegFile --slot (SlotHost)--> LoopController
//!           --events-------->         --eng (EngineHost)--> InferenceEngine
//! LinkMux   --lost_in------->         <--counters, line, tap_valid_in-- LoopCore
//! ```

use crate::bundles::{
    AidsHost, EngineHost, HostBusTarget, LineCountersIn, LinkEventsIn, LoopCountersIn, PhyStatusIn,
    SlotHost,
};
use crate::infer::engine::PARAM_BITS;
use crate::top::loop_core::ENGINE_BATCH;
use fiberloop_spec::phy::prbs_ctrl;
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
///   (the core's half-word `2a + 1` is written in clock `n + 1`) and an
///   input word, which the engine's input buffer takes in clocks `n + 1`
///   (low byte) and `n + 2` (high byte) (registered for timing; no bus
///   access observes the buffer before, the engine strobes at most every
///   other clock and `INFER_START` is refused while the engine is busy).
///   `PRBS_CTRL`'s clear bit strobes the checker's clear in clock `n + 1`.
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
///   one false wrap), and read as they were in the clock before the strobe
///   (the low word registered with the wraps counted up to it, so a read in
///   the clock of a wrap is not off by 2^32); `DELAY_CLOCKS` and
///   `IN_FLIGHT` are values. Reading a
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
    /// The transceiver bring-up's report (`PHY_*` registers), in this
    /// clock's domain.
    pub phy: PhyStatusIn,
    /// The bring-up aids (`PRBS_*`, `*_CLOCK_KHZ` registers).
    pub aids: AidsHost,
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
    phy_word: Signal<Local, Bits<32>>,
    prbs_word: Signal<Local, Bits<32>>,
    prbs_ok: Signal<Local, Bit>,
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
    /// The core's 32-bit counters as they were in the clock before (the
    /// value read with `ext`, which has counted their wraps up to then).
    low_q: [DFF<Bits<32>>; WIDENED],
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
    /// The engine's input-buffer write port, registered.
    in_we_q: DFF<Bit>,
    in_row_q: DFF<Bits<4>>,
    in_index_q: DFF<Bits<11>>,
    in_data_q: DFF<Bits<8>>,
    /// The PRBS checker's clear strobe, registered.
    clear_q: DFF<Bit>,
    // Bring-up aids.
    prbs_ctrl: DFF<Bits<32>>,
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
    c_prbs_reserved: Constant<Bits<32>>,
    c_top: Constant<Bits<32>>,
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
            phy: Default::default(),
            aids: Default::default(),
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
            phy_word: Default::default(),
            prbs_word: Default::default(),
            prbs_ok: Default::default(),
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
            low_q: Default::default(),
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
            in_we_q: Default::default(),
            in_row_q: Default::default(),
            in_index_q: Default::default(),
            in_data_q: Default::default(),
            clear_q: Default::default(),
            prbs_ctrl: Default::default(),
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
            c_prbs_reserved: k32(prbs_ctrl::RESERVED),
            c_top: k32(regs::top::BOARD_CORE),
        }
    }
}

impl RegFile {
    /// The register file of the top `top` (`fiberloop_spec::regs::top`,
    /// what [`regs::TOP`] reads).
    pub fn for_top(top: u32) -> Self {
        Self {
            c_top: Constant::new((top as u64).to_bits()),
            ..Self::default()
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
            start_q,
            in_we_q,
            in_row_q,
            in_index_q,
            in_data_q,
            clear_q,
            prbs_ctrl
        );
        for i in 0..9 {
            self.ext[i].clock.next = self.clock.val();
            self.ext[i].d.next = self.ext[i].q.val();
            self.low_q[i].clock.next = self.clock.val();
            self.low_q[i].d.next = self.low_q[i].q.val();
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
            self.low_q[i].d.next = self.src32[i].val();
            if self.low_q[i].q.val().get_bit(31) & !self.src32[i].val().get_bit(31) {
                self.ext[i].d.next = self.ext[i].q.val() + 1;
            }
        }
        self.cval.next = 0.into();
        if self.cidx.val() == 0 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[0].q.val()) << 32)
                | bit_cast::<64, 32>(self.low_q[0].q.val());
        } else if self.cidx.val() == 1 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[1].q.val()) << 32)
                | bit_cast::<64, 32>(self.low_q[1].q.val());
        } else if self.cidx.val() == 2 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[2].q.val()) << 32)
                | bit_cast::<64, 32>(self.low_q[2].q.val());
        } else if self.cidx.val() == 3 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[3].q.val()) << 32)
                | bit_cast::<64, 32>(self.low_q[3].q.val());
        } else if self.cidx.val() == 4 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[4].q.val()) << 32)
                | bit_cast::<64, 32>(self.low_q[4].q.val());
        } else if self.cidx.val() == 5 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[5].q.val()) << 32)
                | bit_cast::<64, 32>(self.low_q[5].q.val());
        } else if self.cidx.val() == 6 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[6].q.val()) << 32)
                | bit_cast::<64, 32>(self.low_q[6].q.val());
        } else if self.cidx.val() == 7 {
            self.cval.next = (bit_cast::<64, 32>(self.ext[7].q.val()) << 32)
                | bit_cast::<64, 32>(self.low_q[7].q.val());
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
                | bit_cast::<64, 32>(self.low_q[8].q.val());
        } else if self.cidx.val() == 13 {
            // PRBS_BITS (0x5A: bits 4:1 of the address are 13).
            self.cval.next = self.aids.bits.val();
        } else if self.cidx.val() == 14 {
            // PRBS_ERRORS (0x5C).
            self.cval.next = self.aids.errors.val();
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
        self.phy_word.next = bit_cast::<32, 4>(self.phy.state.val());
        self.phy_word.next = self
            .phy_word
            .val()
            .replace_bit(4, self.phy.tx_pll_locked.val())
            .replace_bit(5, self.phy.cdr_locked.val())
            .replace_bit(6, self.phy.los.val())
            .replace_bit(7, self.phy.tx_ready.val())
            .replace_bit(8, self.phy.rx_ready.val())
            .replace_bit(9, self.line.locked.val());
        self.prbs_word.next = 0.into();
        self.prbs_word.next = self
            .prbs_word
            .val()
            .replace_bit(0, self.aids.locked.val())
            .replace_bit(1, self.aids.lock_lost.val());
        // A PRBS_CTRL value the aids can run: no reserved bits, a source
        // and a pattern that exist.
        self.prbs_ok.next = !((self.v.val() & self.c_prbs_reserved.val()).any()
            | (self.v.val().get_bits::<2>(0) == 3)
            | (self.v.val().get_bits::<2>(4) == 3));
        self.aids.source.next = self.prbs_ctrl.q.val().get_bits::<2>(0);
        self.aids.pattern.next = self.prbs_ctrl.q.val().get_bits::<2>(4);
        self.aids.check.next = self.prbs_ctrl.q.val().get_bit(8);
        // The checker's clear strobe goes out a clock after its write
        // (registered: it crosses to the receiver's clock).
        self.aids.clear.next = self.clear_q.q.val();
        self.clear_q.d.next = false;
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
        // The input-buffer write goes to the engine a clock after its
        // decision (registered: the engine's write enables fan out wide).
        self.eng.in_we.next = self.in_we_q.q.val();
        self.eng.in_row.next = self.in_row_q.q.val();
        self.eng.in_index.next = self.in_index_q.q.val();
        self.eng.in_data.next = self.in_data_q.q.val();
        self.in_we_q.d.next = false;
        self.in_row_q.d.next = self.act_row.val();
        self.in_index_q.d.next = bit_cast::<11, 10>(self.act_word.val()) << 1;
        self.in_data_q.d.next = self.v.val().get_bits::<8>(0);
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
            self.in_we_q.d.next = true;
            self.in_row_q.d.next = self.act_hi_row.q.val();
            self.in_index_q.d.next = self.act_hi_index.q.val();
            self.in_data_q.d.next = self.act_hi_data.q.val();
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
                } else if self.lo.val() == 0x58 {
                    if self.prbs_ok.val() {
                        // Stored without the clear bit, which strobes.
                        self.prbs_ctrl.d.next = self.v.val().replace_bit(9, false);
                        self.clear_q.d.next = self.v.val().get_bit(9);
                    } else {
                        self.status_q.d.next = self.c_bad_value.val();
                    }
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
                    self.in_we_q.d.next = true;
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
                } else if self.lo.val() == 0x04 {
                    self.rd_q.d.next = self.c_top.val();
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
                } else if self.lo.val() == 0x50 {
                    self.rd_q.d.next = self.phy_word.val();
                } else if self.lo.val() == 0x51 {
                    self.rd_q.d.next = self.phy.restarts.val();
                } else if self.lo.val() == 0x52 {
                    self.rd_q.d.next = self.phy.los_events.val();
                } else if self.lo.val() == 0x53 {
                    self.rd_q.d.next = self.phy.cdr_retries.val();
                } else if self.lo.val() == 0x54 {
                    self.rd_q.d.next = self.aids.tx_khz.val();
                } else if self.lo.val() == 0x55 {
                    self.rd_q.d.next = self.aids.rx_khz.val();
                } else if self.lo.val() == 0x58 {
                    self.rd_q.d.next = self.prbs_ctrl.q.val();
                } else if self.lo.val() == 0x59 {
                    self.rd_q.d.next = self.prbs_word.val();
                } else if self.lo.val() >= 0x5A {
                    // PRBS_BITS, PRBS_ERRORS: 64-bit, as the loop counters.
                    if self.lo.val().get_bit(0) {
                        self.src_q.d.next = ReadSource::HiLatch;
                    } else {
                        self.rd_q.d.next = self.cval.val().get_bits::<32>(0);
                        self.hi_latch.write_enable.next = true;
                    }
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
            self.prbs_ctrl.d.next = 0.into();
            for i in 0..9 {
                self.ext[i].d.next = 0.into();
                self.low_q[i].d.next = 0.into();
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
    use crate::hostif::cmd_engine::{BusModel, EventCounts, Refusal};
    use crate::top::reg_file_model::{Backend, PhyReport, RegFileModel, SlotData};
    use fiberloop_harness::lockstep::{self, CycleModel, Verilated};
    use fiberloop_harness::verilator::Model;
    use fiberloop_spec::engine::{LayerEntry, ParamEntry};
    use fiberloop_spec::frame::PAYLOAD_BYTES;
    use fiberloop_spec::regs::{status_bits, COUNTER_COUNT};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Clocks the bench's loop controller keeps a slot write or read
    /// pending after its arm strobe.
    const PENDING: u32 = 6;

    /// What the loop core and the command engine show the register file
    /// in one clock: the same to the block and to its model.
    #[derive(Clone, Debug, Default)]
    struct Side {
        /// The controller's mode (`LoopController::mode_out`).
        mode: u8,
        no_loop: bool,
        loop_lost: bool,
        delay: u32,
        slots: u16,
        /// The widened loop and line counters, as 64-bit true values (the
        /// block sees their low 32 bits).
        cnt: [u64; WIDENED],
        tap: bool,
        /// executed, header CRC, payload CRC, timeout, replay, error reply.
        ev: [bool; 6],
        hunted: u8,
        busy: bool,
        done: bool,
        bad: bool,
        overrun: bool,
        /// The receiver is aligned (`line.locked`).
        aligned: bool,
        /// The bring-up report: state, then tx_pll_locked, cdr_locked,
        /// los, tx_ready, rx_ready.
        phy_state: u8,
        phy_flags: [bool; 5],
        /// restarts, los_events, cdr_retries, tx_khz, rx_khz.
        phy_words: [u32; 5],
        prbs_locked: bool,
        prbs_lost: bool,
        prbs_bits: u64,
        prbs_errors: u64,
    }

    #[derive(Clone, Debug, Default)]
    struct RegIn {
        reset: bool,
        /// (write, word address, data).
        access: Option<(bool, u32, u32)>,
        side: Side,
    }

    /// The bus answer in a clock.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    struct Answer {
        status: u8,
        rdata: u32,
    }

    /// What the register file did to the loop and the engine.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Effect {
        Fill(u32),
        SlotWrite(u16, Vec<u16>),
        SlotRead(u16),
        Table(u8, u64),
        Layers(u8),
        Param(u16, u128),
        Input(u8, u16, u8),
        Start,
        /// The aids' control (source, pattern, checker on) changed.
        Aids(u32),
        /// The PRBS checker was cleared.
        PrbsClear,
    }

    /// The bench's slot contents: half-word `i` of `slot`, its flags, lap.
    fn half(slot: u16, i: usize) -> u16 {
        slot.wrapping_mul(0x9E37) ^ (i as u16).wrapping_mul(0x79B9) ^ 0x5A5A
    }
    fn slot_flags(slot: u16) -> u8 {
        (slot as u8).wrapping_mul(37) | 1
    }
    fn slot_lap(slot: u16) -> u32 {
        0x0100_0000 + 977 * slot as u32
    }
    /// The engine's output pair at (row, word).
    fn out_pair(row: u64, word: u64) -> u16 {
        (row * 7919 + word * 31 + 5) as u16
    }

    // ---- the model's side ----

    /// The world both sides see, for the model's backend.
    #[derive(Default)]
    struct World {
        side: Side,
        /// The widened counters of the clock before (what the block reads).
        prev_cnt: [u64; WIDENED],
        clocks: u64,
        taps: u64,
        n_layers: u32,
        effects: Vec<Effect>,
        aids: u32,
    }

    struct PinBackend(Rc<RefCell<World>>);

    impl PinBackend {
        fn check(&self, slot: u32) -> Result<(), Refusal> {
            let w = self.0.borrow();
            if w.side.mode != MODE_RUN as u8 {
                Err(Refusal::new(status::FAULT, "not running"))
            } else if slot >= w.side.slots as u32 {
                Err(Refusal::new(status::BAD_VALUE, "no such slot"))
            } else {
                Ok(())
            }
        }
    }

    impl Backend for PinBackend {
        fn phy(&mut self) -> PhyReport {
            use fiberloop_spec::phy::phy_status as f;
            let s = &self.0.borrow().side;
            let flags = [
                f::TX_PLL_LOCKED,
                f::CDR_LOCKED,
                f::LOS,
                f::TX_READY,
                f::RX_READY,
            ];
            let mut status = s.phy_state as u32 | if s.aligned { f::ALIGNED } else { 0 };
            for (b, f) in s.phy_flags.iter().zip(flags) {
                status |= if *b { f } else { 0 };
            }
            PhyReport {
                status,
                restarts: s.phy_words[0],
                los_events: s.phy_words[1],
                cdr_retries: s.phy_words[2],
                tx_khz: s.phy_words[3],
                rx_khz: s.phy_words[4],
                prbs_status: s.prbs_locked as u32 | ((s.prbs_lost as u32) << 1),
                prbs_bits: s.prbs_bits,
                prbs_errors: s.prbs_errors,
            }
        }
        fn aids_control(&mut self, ctrl: u32, clear: bool) {
            let mut w = self.0.borrow_mut();
            if clear {
                w.effects.push(Effect::PrbsClear);
            }
            if ctrl != w.aids {
                w.aids = ctrl;
                w.effects.push(Effect::Aids(ctrl));
            }
        }
        fn counters(&mut self) -> [u64; COUNTER_COUNT as usize] {
            let w = self.0.borrow();
            let c = &w.prev_cnt;
            [
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                c[5],
                c[6],
                c[7],
                w.side.delay as u64,
                w.side.slots as u64,
                w.clocks,
                w.taps,
                c[8],
            ]
        }
        fn loop_status(&mut self) -> u32 {
            let s = &self.0.borrow().side;
            let mode = match s.mode {
                1 | 2 => status_bits::MODE_MEASURING,
                3 => status_bits::MODE_FILLING,
                4 => status_bits::MODE_RUNNING,
                _ => status_bits::MODE_IDLE,
            };
            mode | ((s.no_loop as u32) << 4) | ((s.loop_lost as u32) << 8)
        }
        fn control(&mut self, command: u32, fill_timeout: u32) -> Result<(), Refusal> {
            if command == regs::ctrl::FILL {
                self.0.borrow_mut().effects.push(Effect::Fill(fill_timeout));
            }
            Ok(())
        }
        fn write_slot(&mut self, slot: u32, payload: &[u8; PAYLOAD_BYTES]) -> Result<(), Refusal> {
            self.check(slot)?;
            let halves = payload
                .chunks_exact(2)
                .map(|h| u16::from_le_bytes([h[0], h[1]]))
                .collect();
            let e = Effect::SlotWrite(slot as u16, halves);
            self.0.borrow_mut().effects.push(e);
            Ok(())
        }
        fn read_slot(&mut self, slot: u32) -> Result<SlotData, Refusal> {
            self.check(slot)?;
            let s = slot as u16;
            self.0.borrow_mut().effects.push(Effect::SlotRead(s));
            let mut payload = [0u8; PAYLOAD_BYTES];
            for (i, h) in payload.chunks_exact_mut(2).enumerate() {
                h.copy_from_slice(&half(s, i).to_le_bytes());
            }
            Ok(SlotData {
                flags: slot_flags(s),
                lap: slot_lap(s),
                payload,
            })
        }
        fn advance(&mut self, _clocks: u64) {}
        fn eng_batch(&mut self) -> u32 {
            ENGINE_BATCH as u32
        }
        fn eng_write_table(&mut self, layer: u32, entry: LayerEntry) {
            let e = Effect::Table(layer as u8, entry.pack());
            self.0.borrow_mut().effects.push(e);
        }
        fn eng_set_layers(&mut self, n: u32) {
            let mut w = self.0.borrow_mut();
            if n != w.n_layers {
                w.n_layers = n;
                w.effects.push(Effect::Layers(n as u8));
            }
        }
        fn eng_write_param(&mut self, index: u32, p: &ParamEntry) {
            let e = Effect::Param(index as u16, p.pack());
            self.0.borrow_mut().effects.push(e);
        }
        fn eng_write_input(&mut self, row: u32, word: u32, pair: u16) {
            let mut w = self.0.borrow_mut();
            let i = 2 * word as u16;
            w.effects.push(Effect::Input(row as u8, i, pair as u8));
            w.effects
                .push(Effect::Input(row as u8, i + 1, (pair >> 8) as u8));
        }
        fn eng_start(&mut self) {
            self.0.borrow_mut().effects.push(Effect::Start);
        }
        fn eng_status(&mut self) -> u32 {
            let s = &self.0.borrow().side;
            (s.busy as u32)
                | (((s.done && !s.busy) as u32) << 1)
                | ((s.bad as u32) << 2)
                | ((s.overrun as u32) << 3)
        }
        fn eng_read_output(&mut self, row: u32, word: u32) -> u16 {
            out_pair(row as u64, word as u64)
        }
    }

    /// [`RegFileModel`] clock by clock: an access's answer in the next
    /// clock, the link counters from the strobes of the clocks before.
    struct Clocked {
        regs: RegFileModel<PinBackend>,
        world: Rc<RefCell<World>>,
        counts: EventCounts,
        answer: Answer,
    }

    impl CycleModel for Clocked {
        type In = RegIn;
        type Out = Answer;
        fn step(&mut self, i: &RegIn) -> Answer {
            let out = std::mem::take(&mut self.answer);
            if i.reset {
                return out;
            }
            {
                let mut w = self.world.borrow_mut();
                w.prev_cnt = w.side.cnt;
                w.side = i.side.clone();
            }
            self.regs.events(&self.counts);
            if let Some((write, addr, v)) = i.access {
                let r = self.regs.access(addr, write.then_some(v));
                self.answer = match r {
                    Ok(d) => Answer {
                        status: status::OK,
                        rdata: if write { 0 } else { d },
                    },
                    Err(e) => Answer {
                        status: e.status,
                        rdata: 0,
                    },
                };
            }
            let s = &i.side;
            let c = &mut self.counts;
            c.executed += s.ev[0] as u64;
            c.header_crc += s.ev[1] as u64;
            c.payload_crc += s.ev[2] as u64;
            c.timeouts += s.ev[3] as u64;
            c.replays += s.ev[4] as u64;
            c.error_replies += s.ev[5] as u64;
            c.hunted += s.hunted as u64;
            let mut w = self.world.borrow_mut();
            w.clocks += 1;
            w.taps += s.tap as u64;
            out
        }
    }

    // ---- the hardware's side ----

    /// The bench's loop controller and inference engine at the block's
    /// pins: slot operations pending for [`PENDING`] clocks, buffers read
    /// one clock after their address, every strobe logged as an effect.
    #[derive(Default)]
    struct Pins {
        wr_pending: u32,
        rd_pending: u32,
        rd_slot: u16,
        rd_addr: u64,
        out_addr: (u64, u64),
        buf: Vec<u16>,
        n_layers: u8,
        effects: Vec<Effect>,
        aids: u32,
    }

    const INS: [&str; 36] = [
        "reset",
        "bus$addr",
        "bus$wdata",
        "bus$we",
        "bus$re",
        "events$executed",
        "events$header_crc_drop",
        "events$payload_crc_drop",
        "events$timeout_drop",
        "events$replay",
        "events$error_reply",
        "events$hunted",
        "lost_in",
        "slot$wr_pending",
        "slot$rd_pending",
        "slot$rd_buf_data",
        "slot$rd_flags",
        "slot$rd_lap",
        "counters$mode",
        "counters$no_loop",
        "counters$loop_lost",
        "counters$delay",
        "counters$slots",
        "counters$lap",
        "counters$frames",
        "counters$corrected",
        "counters$uncorrectable",
        "counters$crc_fail",
        "line$code_errors",
        "line$sync_losses",
        "line$sof_repairs",
        "line$sof_drops",
        "tap_valid_in",
        "eng$out_data",
        "eng$busy",
        "eng$done",
    ];
    const INS2: [&str; 2] = ["eng$bad", "eng$overrun"];
    const INS3: [&str; 16] = [
        "line$locked",
        "phy$state",
        "phy$tx_pll_locked",
        "phy$cdr_locked",
        "phy$los",
        "phy$tx_ready",
        "phy$rx_ready",
        "phy$restarts",
        "phy$los_events",
        "phy$cdr_retries",
        "aids$locked",
        "aids$lock_lost",
        "aids$bits",
        "aids$errors",
        "aids$tx_khz",
        "aids$rx_khz",
    ];
    const OUTS: [&str; 30] = [
        "bus$status",
        "bus$rdata",
        "slot$fill",
        "slot$timeout",
        "slot$wr_buf_we",
        "slot$wr_buf_addr",
        "slot$wr_buf_data",
        "slot$wr_arm",
        "slot$wr_slot",
        "slot$rd_arm",
        "slot$rd_slot",
        "slot$rd_buf_addr",
        "eng$layers$we",
        "eng$layers$addr",
        "eng$layers$data",
        "eng$layers$n_layers",
        "eng$param_we",
        "eng$param_addr",
        "eng$param_data",
        "eng$in_we",
        "eng$in_row",
        "eng$in_index",
        "eng$in_data",
        "eng$start",
        "eng$out_row",
        "eng$out_word",
        "aids$source",
        "aids$pattern",
        "aids$check",
        "aids$clear",
    ];

    fn hardware(pins: Rc<RefCell<Pins>>) -> Verilated<RegIn, Answer> {
        let mut uut = RegFile::default();
        uut.connect_all();
        let ins: Vec<&str> = INS
            .iter()
            .chain(INS2.iter())
            .chain(INS3.iter())
            .copied()
            .collect();
        let p2 = pins.clone();
        let drive = move |i: &RegIn, v: &mut [u64]| {
            let p = p2.borrow();
            let s = &i.side;
            let (we, addr, data) = i.access.unwrap_or((false, 0, 0));
            v[0] = i.reset as u64;
            (v[1], v[2]) = (addr as u64, data as u64);
            v[3] = (i.access.is_some() && we) as u64;
            v[4] = (i.access.is_some() && !we) as u64;
            for k in 0..6 {
                v[5 + k] = s.ev[k] as u64;
            }
            v[11] = s.hunted as u64;
            v[12] = 0;
            v[13] = (p.wr_pending > 0) as u64;
            v[14] = (p.rd_pending > 0) as u64;
            v[15] = half(p.rd_slot, p.rd_addr as usize) as u64;
            v[16] = slot_flags(p.rd_slot) as u64;
            v[17] = slot_lap(p.rd_slot) as u64;
            v[18] = s.mode as u64;
            (v[19], v[20]) = (s.no_loop as u64, s.loop_lost as u64);
            (v[21], v[22]) = (s.delay as u64, s.slots as u64);
            for k in 0..WIDENED {
                v[23 + k] = s.cnt[k] & 0xFFFF_FFFF;
            }
            v[32] = s.tap as u64;
            v[33] = out_pair(p.out_addr.0, p.out_addr.1) as u64;
            (v[34], v[35]) = (s.busy as u64, s.done as u64);
            (v[36], v[37]) = (s.bad as u64, s.overrun as u64);
            v[38] = s.aligned as u64;
            v[39] = s.phy_state as u64;
            for k in 0..5 {
                v[40 + k] = s.phy_flags[k] as u64;
            }
            for k in 0..3 {
                v[45 + k] = s.phy_words[k] as u64;
            }
            (v[48], v[49]) = (s.prbs_locked as u64, s.prbs_lost as u64);
            (v[50], v[51]) = (s.prbs_bits, s.prbs_errors);
            (v[52], v[53]) = (s.phy_words[3] as u64, s.phy_words[4] as u64);
        };
        let read = move |o: &[u64]| {
            let mut p = pins.borrow_mut();
            // o: 0 status, 1 rdata, 2 fill, 3 timeout, 4..=6 wr_buf, 7 arm,
            // 8 slot, 9 rd_arm, 10 rd_slot, 11 rd_buf_addr, 12..=15 layers,
            // 16 param_we, 17 addr, 18..=19 data, 20..=23 input, 24 start,
            // 25 out_row, 26 out_word.
            p.wr_pending = p.wr_pending.saturating_sub(1);
            p.rd_pending = p.rd_pending.saturating_sub(1);
            if p.buf.is_empty() {
                p.buf = vec![0; 2 * regs::SLOT_WORDS as usize];
            }
            if o[2] != 0 {
                p.effects.push(Effect::Fill(o[3] as u32));
            }
            if o[4] != 0 {
                let a = o[5] as usize;
                p.buf[a] = o[6] as u16;
            }
            if o[7] != 0 {
                let e = Effect::SlotWrite(o[8] as u16, p.buf.clone());
                p.effects.push(e);
                p.wr_pending = PENDING;
            }
            if o[9] != 0 {
                p.effects.push(Effect::SlotRead(o[10] as u16));
                p.rd_slot = o[10] as u16;
                p.rd_pending = PENDING;
            }
            p.rd_addr = o[11];
            if o[12] != 0 {
                p.effects.push(Effect::Table(o[13] as u8, o[14]));
            }
            if o[15] as u8 != p.n_layers {
                p.n_layers = o[15] as u8;
                p.effects.push(Effect::Layers(o[15] as u8));
            }
            if o[16] != 0 {
                let d = (o[18] as u128 | ((o[19] as u128) << 64)) & ((1 << PARAM_BITS) - 1);
                p.effects.push(Effect::Param(o[17] as u16, d));
            }
            if o[20] != 0 {
                p.effects
                    .push(Effect::Input(o[21] as u8, o[22] as u16, o[23] as u8));
            }
            if o[24] != 0 {
                p.effects.push(Effect::Start);
            }
            p.out_addr = (o[25], o[26]);
            // 27 source, 28 pattern, 29 check, 30 clear.
            if o[30] != 0 {
                p.effects.push(Effect::PrbsClear);
            }
            let aids = o[27] as u32 | ((o[28] as u32) << 4) | ((o[29] as u32) << 8);
            if aids != p.aids {
                p.aids = aids;
                p.effects.push(Effect::Aids(aids));
            }
            Answer {
                status: o[0] as u8,
                rdata: o[1] as u32,
            }
        };
        Verilated::new(
            Model::of_block(&uut).unwrap(),
            "clock",
            &ins,
            &OUTS,
            drive,
            read,
        )
    }

    // ---- the traffic ----

    /// A word value for `addr`: mostly one the map accepts.
    fn value_for(rng: &mut ChaCha8Rng, addr: u32, slots: u16) -> u32 {
        let any = rng.gen_bool(0.15);
        let slot = || rng.clone().gen_range(0..=slots as u32);
        match addr {
            _ if any => rng.gen(),
            regs::LOOP_CTRL => [0, 1, 2, 3, 4][rng.gen_range(0..5)],
            regs::INFER_CTRL => [1, 1, 0, 2][rng.gen_range(0..4)],
            regs::INFER_LAYERS => rng.gen_range(0..10),
            regs::SLOT_WR_SLOT | regs::SLOT_RD_SLOT => slot(),
            regs::SLOT_WR_COMMIT | regs::SLOT_RD_REQUEST => 1,
            regs::PRBS_CTRL => {
                // Mostly valid: any source and pattern code (3 is refused),
                // checker on or off, sometimes the clear bit, rarely a
                // reserved bit.
                rng.gen_range(0..4)
                    | (rng.gen_range(0..4) << 4)
                    | (rng.gen::<bool>() as u32) << 8
                    | if rng.gen_bool(0.3) { 1 << 9 } else { 0 }
                    | if rng.gen_bool(0.05) { 1 << 12 } else { 0 }
            }
            a if (regs::PARAM_MEM..regs::PARAM_MEM + regs::PARAM_MEM_WORDS).contains(&a) => {
                match (a - regs::PARAM_MEM) % 4 {
                    2 => regs::param_word2::pack(rng.gen_range(0..32), rng.gen(), rng.gen()),
                    3 => 0,
                    _ => rng.gen(),
                }
            }
            a if (regs::ACT_IN..regs::ACT_IN + regs::ACT_IN_WORDS).contains(&a) => {
                rng.gen::<u16>() as u32
            }
            _ => rng.gen(),
        }
    }

    /// An access the command engine could make (the map allows it).
    fn access(rng: &mut ChaCha8Rng, slots: u16) -> (bool, u32, u32) {
        let span = |rng: &mut ChaCha8Rng, base: u32, n: u32| base + rng.gen_range(0..n);
        loop {
            let addr = match rng.gen_range(0..17) {
                0 => rng.gen_range(0..0x14),
                16 => rng.gen_range(regs::PHY_STATUS..regs::PRBS_ERRORS + 2),
                1 => span(rng, regs::COUNTERS, 2 * COUNTER_COUNT),
                2 => span(rng, regs::LINK, regs::LINK_WORDS),
                3 => span(rng, regs::SLOT_WR_BUF, regs::SLOT_WORDS + 3),
                4 => span(rng, regs::SLOT_RD_BUF, regs::SLOT_WORDS + 4),
                5 => span(rng, regs::INFER_CTRL, 4),
                6 => span(rng, regs::MODEL_TAG, regs::MODEL_TAG_WORDS),
                7 | 8 => span(rng, regs::LAYER_TABLE, regs::LAYER_TABLE_WORDS),
                9 => span(rng, regs::SCRATCH_MEM, regs::SCRATCH_MEM_WORDS),
                10 | 11 => span(rng, regs::PARAM_MEM, 64),
                12 => regs::act_addr(regs::ACT_IN, rng.gen_range(0..8), rng.gen_range(0..1024)),
                13 => regs::act_addr(regs::ACT_OUT, rng.gen_range(0..8), rng.gen_range(0..1024)),
                14 => [regs::SLOT_WR_COMMIT, regs::SLOT_RD_REQUEST][rng.gen_range(0..2)],
                _ => [regs::LOOP_CTRL, regs::INFER_CTRL, regs::INFER_LAYERS][rng.gen_range(0..3)],
            };
            let write = rng.gen_bool(0.5);
            if regs::check_burst(addr, 1, write).is_ok() {
                return (write, addr, value_for(rng, addr, slots));
            }
        }
    }

    /// Clocks to leave after an access: what the engine leaves, or enough
    /// for the operation it starts to finish (the model has no timing).
    fn gap(rng: &mut ChaCha8Rng, write: bool, addr: u32) -> usize {
        match (write, addr) {
            (true, regs::SLOT_RD_REQUEST) => 140,
            (true, regs::SLOT_WR_COMMIT) => PENDING as usize + 3,
            (true, regs::INFER_CTRL) => 4,
            (true, _) => rng.gen_range(2..5),
            (false, _) => rng.gen_range(1..4),
        }
    }

    fn traffic(seed: u64, clocks: usize) -> Vec<RegIn> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = vec![
            RegIn {
                reset: true,
                ..Default::default()
            };
            2
        ];
        let mut side = Side::default();
        for k in 0..WIDENED {
            side.cnt[k] = rng.gen_range(0..1 << 31);
        }
        let mut wait = 0;
        while out.len() < clocks {
            if out.len() % 4000 == 2 {
                // A new phase of the loop and the engine.
                side.mode = [0, 1, 3, 4, 4, 4][rng.gen_range(0..6)];
                side.no_loop = rng.gen_bool(0.2);
                side.loop_lost = rng.gen_bool(0.2);
                side.delay = rng.gen();
                side.slots = rng.gen_range(1..6);
                (side.done, side.bad, side.overrun) = (rng.gen(), rng.gen(), rng.gen());
                side.busy = rng.gen_bool(0.3);
                side.aligned = rng.gen();
                side.phy_state = rng.gen_range(0..5);
                side.phy_flags = rng.gen();
                side.phy_words = rng.gen();
            }
            if rng.gen_bool(0.01) {
                (side.prbs_locked, side.prbs_lost) = (rng.gen(), rng.gen());
            }
            side.prbs_bits += rng.gen_range(0..=20);
            if rng.gen_bool(0.01) {
                // Sometimes near a 2^32 carry, so the latched high word
                // matters.
                side.prbs_errors = rng.gen::<u64>() >> rng.gen_range(0..40);
            }
            for c in side.cnt.iter_mut() {
                if rng.gen_bool(0.2) {
                    *c += rng.gen_range(0..1 << 27);
                }
            }
            side.tap = rng.gen_bool(0.3);
            side.ev = std::array::from_fn(|_| rng.gen_bool(0.05));
            side.hunted = if rng.gen_bool(0.1) {
                rng.gen_range(0..4)
            } else {
                0
            };
            let access = if wait == 0 {
                let a = access(&mut rng, side.slots);
                wait = gap(&mut rng, a.0, a.1);
                Some(a)
            } else {
                wait -= 1;
                None
            };
            out.push(RegIn {
                reset: false,
                access,
                side: side.clone(),
            });
        }
        out
    }

    #[test]
    fn reg_file_against_model() {
        let pins = Rc::new(RefCell::new(Pins::default()));
        let mut hw = hardware(pins.clone());
        let world = Rc::new(RefCell::new(World::default()));
        let mut model = Clocked {
            regs: RegFileModel::new(PinBackend(world.clone())),
            world: world.clone(),
            counts: EventCounts::default(),
            answer: Answer::default(),
        };
        let mut by_status = [0u32; 8];
        let mut reads_nonzero = 0;
        let r =
            lockstep::run_observed(&mut hw, &mut model, traffic(0x2E6F_0001, 80_000), |_, a| {
                by_status[a.status as usize & 7] += 1;
                reads_nonzero += (a.rdata != 0) as u32;
            });
        let (h, m) = (&pins.borrow().effects, &world.borrow().effects);
        for (k, (a, b)) in h.iter().zip(m.iter()).enumerate() {
            assert_eq!(
                a, b,
                "effect {k} on the loop or the engine (hardware, then model)"
            );
        }
        assert_eq!(h.len(), m.len(), "effects on the loop and the engine");
        let count = |f: fn(&Effect) -> bool| h.iter().filter(|e| f(e)).count();
        let seen = [
            count(|e| matches!(e, Effect::Fill(_))),
            count(|e| matches!(e, Effect::SlotWrite(..))),
            count(|e| matches!(e, Effect::SlotRead(_))),
            count(|e| matches!(e, Effect::Table(..))),
            count(|e| matches!(e, Effect::Param(..))),
            count(|e| matches!(e, Effect::Input(..))),
            count(|e| matches!(e, Effect::Start)),
            count(|e| matches!(e, Effect::Aids(_))),
            count(|e| matches!(e, Effect::PrbsClear)),
        ];
        println!(
            "RegFile: {} clocks; answers by status {by_status:?}, {reads_nonzero} non-zero \
             words; effects fill/write/read/table/param/input/start/aids/clear {seen:?}",
            r.clocks
        );
        assert!(seen.iter().all(|&n| n >= 3), "{seen:?}");
        assert!(by_status[status::OK as usize] > 5000 && reads_nonzero > 3000);
        for s in [status::BUSY, status::BAD_VALUE, status::FAULT] {
            assert!(by_status[s as usize] > 10, "status {s}: {by_status:?}");
        }
    }

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

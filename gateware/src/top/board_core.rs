//! `BoardCore`: the whole board behind its wires to the outside, the
//! SERDES words and the host's two links (UART and USB FIFO): the loop core
//! (with the inference engine) and the host protocol's command engine,
//! joined by the register file of `fiberloop_spec::regs`.
//!
//! ```text
//! uart_rx_in -> UartRx --\                       /-> UartTx -> uart_tx_out
//!                         LinkMux -> CmdEngine -> LinkMux
//! usb_* pins -> Ft245Phy /                       \-> Ft245Phy -> usb_* pins
//!                            | bus (addr, wdata, we, re / rdata, status)
//!                      register file (this block)
//!                            | loop control, slot windows, counters, eng_*
//! serdes_rx_in ->         LoopCore          -> serdes_tx_out
//! ```

use crate::hostif::cmd_engine::CmdEngine;
use crate::hostif::ft245::Ft245Phy;
use crate::hostif::link_mux::LinkMux;
use crate::hostif::uart::{UartRx, UartTx};
use crate::infer::engine::PARAM_BITS;
use crate::loopctl::core::{LoopCore, ENGINE_BATCH};
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

/// The board: host UART and USB FIFO port, command engine, register file,
/// loop core.
///
/// **Host links.** The UART ([`UartRx`], [`UartTx`]) and the FT2232H 245
/// synchronous FIFO port ([`Ft245Phy`], its pins in the chip's `CLKOUT`
/// domain `usb_clock`) share one [`CmdEngine`] through a [`LinkMux`]: a
/// frame at a time, the reply on the link the request came on. A byte
/// arriving on the UART while the engine serves a FIFO frame is lost and
/// counted (`link::CONTENTION_LOST`); FIFO bytes wait. A board without
/// the FIFO wired (the ECP5-5G Versa: its FT2232H channel A is the JTAG
/// port) ties `usb_rxf_n_in` and `usb_txe_n_in` high.
///
/// **Register file.** Implements every register of `fiberloop_spec::regs`
/// (its module documentation is the contract) on the bus of [`CmdEngine`],
/// which has already checked every address against the map: reads answer
/// in the clock after the strobe, from a register latched at the strobe or
/// from a memory read at the strobe's address, and every strobe gets its
/// status in that clock. Details the map leaves open:
/// * 64-bit loop counters: `CLOCKS` and `TAP_WORDS` count here in 64 bits;
///   the core's 32-bit event counters are widened by counting the wraps of
///   their bit 31 (a counter that a fill resets from above 2^31 would count
///   one false wrap); `DELAY_CLOCKS` and `IN_FLIGHT` are values. Reading a
///   low word latches that counter's high word (one latch per counter).
/// * Slot write: a buffer word goes into the core's half-word buffer in the
///   strobe's clock and the next; a copy kept here answers reads of the
///   buffer. The commit is refused `FAULT` when the loop is not running,
///   `BAD_VALUE` for a slot beyond the loop, `BUSY` while the previous
///   write is pending.
/// * Slot read: when the core has captured the slot, its 114 half-words
///   are copied into a 57-word buffer (116 clocks); the read counts as
///   pending until the copy is done. Refusals as for the write.
/// * `LOOP_CTRL`: `FILL` starts a fill (clears the read buffer's valid flag
///   and the model tag's word 0); `RUN` is accepted while the loop runs;
///   `IDLE` and `MEASURE` are refused `BAD_VALUE` (the controller has no
///   such commands: a fill measures and then runs).
/// * Inference: `INFER_START` is refused `FAULT` while the loop is not
///   running or with no layers in the table (`INFER_LAYERS` is 0 after
///   reset); an input word
///   goes into the activation buffer in two clocks (low byte, then high).
///
/// Latency: a read's data and every status arrive in the clock after the
/// strobe (the bus contract of [`CmdEngine`]); request to reply as there
/// plus the UART's. Throughput: one bus access per clock (the engine issues
/// one every 2 to 4), the loop one word per clock. Reset: `reset` clears
/// the loop core (see [`LoopCore`]), the register file's registers and
/// counters, and sets `FILL_TIMEOUT` to its default; the memories (scratch,
/// tag, table copy, buffers) keep their contents; the command engine and the
/// UART have no reset.
#[derive(LogicBlock)]
pub struct BoardCore {
    /// Word clock (125 MHz at 2.5 Gb/s).
    pub clock: Signal<In, Clock>,
    /// The transceiver's recovered RX clock.
    pub rx_clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// SERDES TX word (two 10-bit symbols).
    pub serdes_tx_out: Signal<Out, Bits<20>>,
    /// SERDES RX word, on `rx_clock`.
    pub serdes_rx_in: Signal<In, Bits<20>>,
    /// The receiver has a signal (loss-of-signal inverted).
    pub rx_signal_in: Signal<In, Bit>,
    /// UART from the host (idle high).
    pub uart_rx_in: Signal<In, Bit>,
    /// UART to the host (idle high).
    pub uart_tx_out: Signal<Out, Bit>,
    /// USB FIFO: the chip's `CLKOUT` (60 MHz); every `usb_*` pin is in
    /// this domain.
    pub usb_clock: Signal<In, Clock>,
    /// USB FIFO: `ADBUS[7:0]` as read from the pins.
    pub usb_d_in: Signal<In, Bits<8>>,
    /// USB FIFO: `ADBUS[7:0]` as driven when `usb_d_oe` is high.
    pub usb_d_out: Signal<Out, Bits<8>>,
    /// USB FIFO: output enable of `ADBUS`.
    pub usb_d_oe: Signal<Out, Bit>,
    /// USB FIFO: `RXF#` (active low): the chip holds a byte from the host.
    pub usb_rxf_n_in: Signal<In, Bit>,
    /// USB FIFO: `TXE#` (active low): the chip can take a byte.
    pub usb_txe_n_in: Signal<In, Bit>,
    /// USB FIFO: `RD#` (active low).
    pub usb_rd_n_out: Signal<Out, Bit>,
    /// USB FIFO: `WR#` (active low).
    pub usb_wr_n_out: Signal<Out, Bit>,
    /// USB FIFO: `OE#` (active low).
    pub usb_oe_n_out: Signal<Out, Bit>,
    /// USB FIFO: `SIWU#` (active low), held high.
    pub usb_siwu_n_out: Signal<Out, Bit>,
    /// The loop's mode (for LEDs).
    pub mode_out: Signal<Out, Bits<3>>,
    /// The line receiver is word-aligned (for LEDs).
    pub locked_out: Signal<Out, Bit>,
    // Sub-blocks.
    uart_rx: UartRx,
    engine: CmdEngine,
    uart_tx: UartTx,
    usb: Ft245Phy,
    links: LinkMux,
    core: LoopCore,
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

impl BoardCore {
    /// A board whose UART runs at `clocks_per_bit` word clocks per bit and
    /// whose command engine drops a partial frame after `timeout_clocks`
    /// clocks of silence.
    pub fn new(clocks_per_bit: u32, timeout_clocks: u32) -> Self {
        assert!(
            timeout_clocks > 12 * clocks_per_bit,
            "the timeout must exceed a byte time"
        );
        let k32 = |v: u32| Constant::new((v as u64).to_bits());
        let k8 = |v: u8| Constant::new((v as u64).to_bits());
        Self {
            clock: Default::default(),
            rx_clock: Default::default(),
            reset: Default::default(),
            serdes_tx_out: Default::default(),
            serdes_rx_in: Default::default(),
            rx_signal_in: Default::default(),
            uart_rx_in: Default::default(),
            uart_tx_out: Default::default(),
            usb_clock: Default::default(),
            usb_d_in: Default::default(),
            usb_d_out: Default::default(),
            usb_d_oe: Default::default(),
            usb_rxf_n_in: Default::default(),
            usb_txe_n_in: Default::default(),
            usb_rd_n_out: Default::default(),
            usb_wr_n_out: Default::default(),
            usb_oe_n_out: Default::default(),
            usb_siwu_n_out: Default::default(),
            mode_out: Default::default(),
            locked_out: Default::default(),
            uart_rx: UartRx::new(clocks_per_bit),
            engine: CmdEngine::new(timeout_clocks),
            uart_tx: UartTx::new(clocks_per_bit),
            usb: Default::default(),
            links: Default::default(),
            core: LoopCore::default(),
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

impl Logic for BoardCore {
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
        // ---------------- wiring ----------------
        self.uart_rx.clock.next = self.clock.val();
        self.engine.clock.next = self.clock.val();
        self.uart_tx.clock.next = self.clock.val();
        self.core.clock.next = self.clock.val();
        self.core.rx_clock.next = self.rx_clock.val();
        self.core.reset.next = self.reset.val();
        self.usb.clock.next = self.clock.val();
        self.usb.fifo_clock.next = self.usb_clock.val();
        self.links.clock.next = self.clock.val();
        // The UART: link A of the mux.
        self.uart_rx.rx.next = self.uart_rx_in.val();
        self.links.a_data_in.next = self.uart_rx.data_out.val();
        self.links.a_valid_in.next = self.uart_rx.valid_out.val();
        self.uart_tx.data_in.next = self.links.a_tx_data_out.val();
        self.uart_tx.valid_in.next = self.links.a_tx_valid_out.val();
        self.links.a_tx_ready_in.next = self.uart_tx.ready_out.val();
        self.uart_tx_out.next = self.uart_tx.tx.val();
        // The USB FIFO port: link B.
        self.usb.d_in.next = self.usb_d_in.val();
        self.usb.rxf_n_in.next = self.usb_rxf_n_in.val();
        self.usb.txe_n_in.next = self.usb_txe_n_in.val();
        self.usb_d_out.next = self.usb.d_out.val();
        self.usb_d_oe.next = self.usb.d_oe.val();
        self.usb_rd_n_out.next = self.usb.rd_n_out.val();
        self.usb_wr_n_out.next = self.usb.wr_n_out.val();
        self.usb_oe_n_out.next = self.usb.oe_n_out.val();
        self.usb_siwu_n_out.next = self.usb.siwu_n_out.val();
        self.links.b_data_in.next = self.usb.rx_data_out.val();
        self.links.b_valid_in.next = self.usb.rx_valid_out.val();
        self.usb.rx_ready_in.next = self.links.b_ready_out.val();
        self.usb.tx_data_in.next = self.links.b_tx_data_out.val();
        self.usb.tx_valid_in.next = self.links.b_tx_valid_out.val();
        self.links.b_tx_ready_in.next = self.usb.tx_ready_out.val();
        // The engine behind the mux.
        self.engine.data_in.next = self.links.data_out.val();
        self.engine.valid_in.next = self.links.valid_out.val();
        self.links.idle_in.next = self.engine.idle_out.val();
        self.links.rep_data_in.next = self.engine.data_out.val();
        self.links.rep_valid_in.next = self.engine.valid_out.val();
        self.engine.ready_in.next = self.links.rep_ready_out.val();
        self.serdes_tx_out.next = self.core.serdes_tx_out.val();
        self.core.serdes_rx_in.next = self.serdes_rx_in.val();
        self.core.rx_signal_in.next = self.rx_signal_in.val();
        self.mode_out.next = self.core.mode_out.val();
        self.locked_out.next = self.core.locked_out.val();
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
        self.a.next = self.engine.bus_addr.val();
        self.v.next = self.engine.bus_wdata.val();
        self.lo.next = self.a.val().get_bits::<8>(0);
        self.low_page.next = self.a.val().get_bits::<20>(12) == 0;
        self.sub0.next = self.low_page.val() & (self.a.val().get_bits::<4>(8) == 0);
        self.sub1.next = self.low_page.val() & (self.a.val().get_bits::<4>(8) == 1);
        self.sub2.next = self.low_page.val() & (self.a.val().get_bits::<4>(8) == 2);
        self.running.next = self.core.mode_out.val() == self.c_mode_run.val();
        self.wr_busy.next = self.wr_arm_q.q.val() | self.core.wr_pending_out.val();
        self.rd_busy.next = self.rd_state.q.val() != ReadState::Idle;
        self.eng_busy.next = self.core.eng_busy_out.val() | self.start_q.q.val().any();
        self.slots.next = bit_cast::<32, 16>(self.core.slots_out.val());
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
        self.rd_copy.write_data.next = (bit_cast::<32, 16>(self.core.rd_buf_data_out.val()) << 16)
            | bit_cast::<32, 16>(self.rd_lo.q.val());
        self.rd_copy.write_enable.next = false;
        self.cidx.next = self.lo.val().get_bits::<4>(1);
        self.hi_latch.read_address.next = self.cidx.val();
        self.hi_latch.write_address.next = self.cidx.val();
        self.hi_latch.write_enable.next = false;

        // ---------------- counters ----------------
        self.clocks64.d.next = self.clocks64.q.val() + 1;
        if self.core.tap_valid_out.val() {
            self.tap64.d.next = self.tap64.q.val() + 1;
        }
        self.src32[0].next = self.core.lap_out.val();
        self.src32[1].next = self.core.frames_out.val();
        self.src32[2].next = self.core.corrected_out.val();
        self.src32[3].next = self.core.uncorrectable_out.val();
        self.src32[4].next = self.core.crc_fail_out.val();
        self.src32[5].next = self.core.code_errors_out.val();
        self.src32[6].next = self.core.sync_losses_out.val();
        self.src32[7].next = self.core.sof_repairs_out.val();
        self.src32[8].next = self.core.sof_drops_out.val();
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
            self.cval.next = bit_cast::<64, 32>(self.core.delay_out.val());
        } else if self.cidx.val() == 9 {
            self.cval.next = bit_cast::<64, 16>(self.core.slots_out.val());
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
        if self.engine.executed_out.val() {
            self.link[0].d.next = self.link[0].q.val() + 1;
        }
        if self.engine.header_crc_drop_out.val() {
            self.link[1].d.next = self.link[1].q.val() + 1;
        }
        if self.engine.payload_crc_drop_out.val() {
            self.link[2].d.next = self.link[2].q.val() + 1;
        }
        if self.engine.timeout_drop_out.val() {
            self.link[3].d.next = self.link[3].q.val() + 1;
        }
        if self.engine.replay_out.val() {
            self.link[4].d.next = self.link[4].q.val() + 1;
        }
        self.link[5].d.next =
            self.link[5].q.val() + bit_cast::<32, 2>(self.engine.hunted_out.val());
        if self.engine.error_reply_out.val() {
            self.link[6].d.next = self.link[6].q.val() + 1;
        }
        if self.links.lost_out.val() {
            self.link[7].d.next = self.link[7].q.val() + 1;
        }

        // ---------------- status words ----------------
        self.status_word.next = 0.into();
        if (self.core.mode_out.val() == 1) | (self.core.mode_out.val() == 2) {
            self.status_word.next = 1.into();
        } else if self.core.mode_out.val() == 3 {
            self.status_word.next = 2.into();
        } else if self.core.mode_out.val() == 4 {
            self.status_word.next = 3.into();
        }
        self.status_word.next = self
            .status_word
            .val()
            .replace_bit(4, self.core.no_loop_out.val())
            .replace_bit(5, self.wr_busy.val())
            .replace_bit(6, self.rd_busy.val())
            .replace_bit(7, self.rd_valid.q.val())
            .replace_bit(8, self.core.loop_lost_out.val());
        self.infer_word.next = 0.into();
        self.infer_word.next = self
            .infer_word
            .val()
            .replace_bit(0, self.eng_busy.val())
            .replace_bit(1, self.core.eng_done_out.val() & !self.eng_busy.val())
            .replace_bit(2, self.core.eng_bad_out.val())
            .replace_bit(3, self.core.eng_overrun_out.val());

        // ---------------- loop and engine defaults ----------------
        self.core.cmd_fill.next = false;
        self.core.timeout.next = self.fill_timeout.q.val();
        self.core.wr_buf_we.next = false;
        self.core.wr_buf_addr.next = bit_cast::<7, 6>(self.a.val().get_bits::<6>(0)) << 1;
        self.core.wr_buf_data.next = self.v.val().get_bits::<16>(0);
        self.core.wr_arm.next = false;
        self.core.wr_slot.next = self.wr_slot.q.val().get_bits::<16>(0);
        self.core.rd_arm.next = false;
        self.core.rd_slot.next = self.rd_slot.q.val().get_bits::<16>(0);
        self.core.rd_buf_addr.next = self.rd_i.q.val().get_bits::<7>(0);
        self.core.eng_table_we.next = false;
        self.core.eng_table_addr.next = self.a.val().get_bits::<3>(1);
        self.core.eng_table_data.next =
            (bit_cast::<64, 32>(self.v.val()) << 32) | bit_cast::<64, 32>(self.table_lo.q.val());
        self.core.eng_n_layers.next = self.n_layers.q.val();
        self.core.eng_param_we.next = false;
        self.core.eng_param_addr.next = self.a.val().get_bits::<10>(2);
        self.core.eng_param_data.next = bit_cast::<PARAM_BITS, 32>(self.param_w0.q.val())
            | (bit_cast::<PARAM_BITS, 32>(self.param_w1.q.val()) << 32)
            | (bit_cast::<PARAM_BITS, 5>(self.v.val().get_bits::<5>(0)) << 64)
            | (bit_cast::<PARAM_BITS, 8>(self.v.val().get_bits::<8>(8)) << 69)
            | (bit_cast::<PARAM_BITS, 1>(self.v.val().get_bits::<1>(16)) << 77);
        self.core.eng_in_we.next = false;
        self.core.eng_in_row.next = self.act_row.val();
        self.core.eng_in_index.next = bit_cast::<11, 10>(self.act_word.val()) << 1;
        self.core.eng_in_data.next = self.v.val().get_bits::<8>(0);
        self.core.eng_start.next = false;
        self.core.eng_out_row.next = self.act_row.val();
        self.core.eng_out_word.next = self.act_word.val();
        self.wr_arm_q.d.next = false;
        self.wr_hi.d.next = false;
        self.act_hi.d.next = false;
        self.start_q.d.next = self.start_q.q.val() << 1;
        self.status_q.d.next = self.c_ok.val();
        self.src_q.d.next = ReadSource::Reg;
        self.rd_q.d.next = 0.into();

        // Second halves of slot-buffer and input words.
        if self.wr_hi.q.val() {
            self.core.wr_buf_we.next = true;
            self.core.wr_buf_addr.next = self.wr_hi_addr.q.val();
            self.core.wr_buf_data.next = self.wr_hi_data.q.val();
        }
        if self.act_hi.q.val() {
            self.core.eng_in_we.next = true;
            self.core.eng_in_row.next = self.act_hi_row.q.val();
            self.core.eng_in_index.next = self.act_hi_index.q.val();
            self.core.eng_in_data.next = self.act_hi_data.q.val();
        }

        // ---------------- slot read machine ----------------
        match self.rd_state.q.val() {
            ReadState::Idle => {}
            ReadState::Arm => {
                self.rd_state.d.next = ReadState::Wait;
            }
            ReadState::Wait => {
                if !self.core.rd_pending_out.val() {
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
                        self.rd_lo.d.next = self.core.rd_buf_data_out.val();
                    }
                }
                if self.rd_i.q.val() == self.c_slot_halves.val() {
                    self.rd_flags.d.next = self.core.rd_flags_out.val();
                    self.rd_lap.d.next = self.core.rd_lap_out.val();
                    self.rd_valid.d.next = true;
                    self.rd_state.d.next = ReadState::Idle;
                }
            }
        }

        // ---------------- bus writes ----------------
        if self.engine.bus_we.val() {
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
                        self.core.wr_buf_we.next = true;
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
                        self.core.wr_arm.next = true;
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
                        self.core.rd_arm.next = true;
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
                        self.core.eng_start.next = true;
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
                        self.core.eng_table_we.next = true;
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
                        self.core.eng_param_we.next = true;
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
                    self.core.eng_in_we.next = true;
                    self.act_hi.d.next = true;
                    self.act_hi_row.d.next = self.act_row.val();
                    self.act_hi_index.d.next = (bit_cast::<11, 10>(self.act_word.val()) << 1) | 1;
                    self.act_hi_data.d.next = self.v.val().get_bits::<8>(8);
                }
            }
        }
        if self.fill_now.val() {
            self.core.cmd_fill.next = true;
            self.rd_valid.d.next = false;
            self.tag.write_enable.next = true;
            self.tag.write_address.next = 0.into();
            self.tag.write_data.next = 0.into();
        }

        // ---------------- bus reads ----------------
        if self.engine.bus_re.val() {
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
        self.engine.bus_status_in.next = self.status_q.q.val();
        self.engine.bus_rdata.next = self.rd_q.q.val();
        match self.src_q.q.val() {
            ReadSource::Reg => {}
            ReadSource::ScratchMem => {
                self.engine.bus_rdata.next = self.scratch_mem.read_data.val();
            }
            ReadSource::Scratch => {
                self.engine.bus_rdata.next = self.scratch.read_data.val();
            }
            ReadSource::Tag => {
                self.engine.bus_rdata.next = self.tag.read_data.val();
            }
            ReadSource::Table => {
                self.engine.bus_rdata.next = self.ltab.read_data.val();
            }
            ReadSource::WrBuf => {
                self.engine.bus_rdata.next = self.wr_copy.read_data.val();
            }
            ReadSource::RdBuf => {
                self.engine.bus_rdata.next = self.rd_copy.read_data.val();
            }
            ReadSource::HiLatch => {
                self.engine.bus_rdata.next = self.hi_latch.read_data.val();
            }
            ReadSource::ActOut => {
                self.engine.bus_rdata.next = bit_cast::<32, 16>(self.core.eng_out_data.val());
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
    use crate::infer::engine::{ParamEntry, DRAIN_CLOCKS};
    use crate::infer::sequencer::LayerEntry;
    use crate::sim::board_sim::{BoardConfig, BoardSim, HostLink};
    use crate::sim::fiber::FiberConfig;
    use fiberloop_spec::layout::{LayerShape, Params, Planner, SLOT_WORDS as PAYLOAD_HALVES};
    use fiberloop_spec::proto::{cmd, encode, Direction, Event, Header, Parser, MAX_FRAME_BYTES};
    use fiberloop_spec::quant::{dot, Requant};
    use fiberloop_spec::regs::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const CPB: u32 = 4;

    /// The host's side of the protocol, over one of the simulated board's
    /// links (the UART unless `link` says otherwise).
    struct Host {
        sim: BoardSim,
        seq: u8,
        errors: u32,
        link: HostLink,
    }

    impl Host {
        fn new(km: f64) -> Self {
            let fiber = FiberConfig {
                length_m: km * 1000.0,
                ..Default::default()
            };
            let cfg = BoardConfig {
                clocks_per_bit: CPB,
                timeout_clocks: 640 * CPB,
                link: HostLink::Uart,
            };
            Host {
                sim: BoardSim::new(fiber, cfg).expect("build the board model"),
                seq: 0,
                errors: 0,
                link: HostLink::Uart,
            }
        }

        fn other(&self) -> HostLink {
            match self.link {
                HostLink::Uart => HostLink::Usb,
                HostLink::Usb => HostLink::Uart,
            }
        }

        fn request(&mut self, code: u8, addr: u32, len: u16, data: &[u32]) -> (Header, Vec<u8>) {
            self.seq = self.seq.wrapping_add(1);
            let h = Header {
                seq: self.seq,
                code,
                addr,
                len,
            };
            let bytes: Vec<u8> = data.iter().flat_map(|w| w.to_le_bytes()).collect();
            let mut buf = vec![0u8; MAX_FRAME_BYTES];
            let n = encode(Direction::Request, &h, &bytes, &mut buf).unwrap();
            buf.truncate(n);
            (h, buf)
        }

        /// One request on `self.link`, its reply there: (status, address,
        /// payload words). Nothing may come out on the other link.
        fn transact(&mut self, code: u8, addr: u32, len: u16, data: &[u32]) -> (u8, u32, Vec<u32>) {
            let (h, frame) = self.request(code, addr, len, data);
            self.sim.send_on(self.link, &frame);
            let r = self.wait_reply(h);
            assert_eq!(
                self.sim.received_on(self.other()),
                0,
                "a reply on the other link"
            );
            r
        }

        /// Waits for the reply to `h` on `self.link`.
        fn wait_reply(&mut self, h: Header) -> (u8, u32, Vec<u32>) {
            for _ in 0..20 {
                self.sim.run_until_reply(2_000_000);
                if self.sim.received_on(self.link) > 0 {
                    break;
                }
            }
            assert!(self.sim.received_on(self.link) > 0, "no reply to {h:?}");
            let mut p = Parser::new(Direction::Reply, u64::MAX);
            let mut got = None;
            for (t, b) in self.sim.take_received_on(self.link).into_iter().enumerate() {
                if let Some(Event::Frame(r)) = p.push(b, t as u64) {
                    let words = p
                        .payload()
                        .chunks_exact(4)
                        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
                        .collect::<Vec<_>>();
                    assert!(got.is_none(), "two replies to one request");
                    got = Some((r, words));
                }
            }
            let (r, words) = got.unwrap_or_else(|| panic!("no valid reply frame to {h:?}"));
            assert_eq!(r.seq, h.seq, "reply to another request");
            if r.code != status::OK {
                self.errors += 1;
            }
            (r.code, r.addr, words)
        }

        fn write(&mut self, addr: u32, data: &[u32]) -> u8 {
            self.transact(cmd::WRITE, addr, data.len() as u16, data).0
        }

        fn read(&mut self, addr: u32, n: usize) -> Vec<u32> {
            let (st, _, d) = self.transact(cmd::READ, addr, n as u16, &[]);
            assert_eq!(st, status::OK, "read of {n} words at 0x{addr:x}");
            d
        }

        fn read_status(&mut self, addr: u32) -> u8 {
            self.transact(cmd::READ, addr, 1, &[]).0
        }

        /// Writes with BUSY retried.
        fn write_retry(&mut self, addr: u32, data: &[u32]) {
            for _ in 0..1000 {
                match self.write(addr, data) {
                    status::OK => return,
                    status::BUSY => self.sim.run(500),
                    s => panic!("write at 0x{addr:x}: status {s}"),
                }
            }
            panic!("write at 0x{addr:x} busy for good");
        }

        fn read_retry(&mut self, addr: u32, n: usize) -> Vec<u32> {
            for _ in 0..1000 {
                let (st, _, d) = self.transact(cmd::READ, addr, n as u16, &[]);
                match st {
                    status::OK => return d,
                    status::BUSY => self.sim.run(500),
                    s => panic!("read at 0x{addr:x}: status {s}"),
                }
            }
            panic!("read at 0x{addr:x} busy for good");
        }

        fn counter(&mut self, i: u32) -> u64 {
            let d = self.read(counter_addr(i), 2);
            d[0] as u64 | (d[1] as u64) << 32
        }

        fn fill(&mut self) -> u64 {
            assert_eq!(self.write(LOOP_CTRL, &[ctrl::FILL]), status::OK);
            for _ in 0..2000 {
                let s = self.read(LOOP_STATUS, 1)[0];
                if s & status_bits::MODE_MASK == status_bits::MODE_RUNNING {
                    return self.counter(counter::IN_FLIGHT);
                }
                assert_eq!(s & status_bits::NO_LOOP, 0, "no loop");
                self.sim.run(2000);
            }
            panic!("the fill did not finish");
        }
    }

    /// Every register of the map through the real UART, command engine and
    /// register file, and every refusal the map promises.
    #[test]
    fn registers_answer_as_the_map_says() {
        let mut h = Host::new(1.0);
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        // Identification, through PING and READ.
        let (st, _, id) = h.transact(cmd::PING, 0, 0, &[]);
        assert_eq!(st, status::OK);
        assert_eq!(
            id,
            vec![ID_VALUE, VERSION_VALUE, MAX_BURST_WORDS as u32, SLOT_WORDS]
        );
        assert_eq!(h.read(INFER_BATCH, 1), vec![ENGINE_BATCH as u32]);
        assert_eq!(h.read(FILL_TIMEOUT, 1), vec![FILL_TIMEOUT_DEFAULT]);
        // Scratch words and the scratch memory keep what is written.
        let s: Vec<u32> = (0..8).map(|_| rng.gen()).collect();
        assert_eq!(h.write(SCRATCH, &s), status::OK);
        let mem: Vec<u32> = (0..SCRATCH_MEM_WORDS).map(|_| rng.gen()).collect();
        assert_eq!(h.write(SCRATCH_MEM, &mem), status::OK);
        assert_eq!(h.read(SCRATCH, 8), s);
        assert_eq!(h.read(SCRATCH_MEM, SCRATCH_MEM_WORDS as usize), mem);
        assert_eq!(h.read(SCRATCH_MEM + 700, 3), mem[700..703].to_vec());
        // Refusals before the loop runs.
        assert_eq!(h.write(LOOP_CTRL, &[ctrl::RUN]), status::BAD_VALUE);
        assert_eq!(h.write(LOOP_CTRL, &[ctrl::IDLE]), status::BAD_VALUE);
        assert_eq!(h.write(LOOP_CTRL, &[7]), status::BAD_VALUE);
        assert_eq!(
            h.read(LOOP_CTRL, 1),
            vec![0],
            "a refused write changes nothing"
        );
        assert_eq!(h.write(SLOT_WR_COMMIT, &[1]), status::FAULT);
        assert_eq!(h.write(SLOT_RD_REQUEST, &[1]), status::FAULT);
        assert_eq!(h.write(INFER_LAYERS, &[0]), status::BAD_VALUE);
        assert_eq!(h.write(INFER_LAYERS, &[9]), status::BAD_VALUE);
        assert_eq!(h.write(INFER_CTRL, &[INFER_START]), status::FAULT);
        // The engine's registers.
        assert_eq!(h.write(INFER_LAYERS, &[3]), status::OK);
        assert_eq!(h.read(INFER_LAYERS, 1), vec![3]);
        let table: Vec<u32> = (0..16).map(|_| rng.gen()).collect();
        assert_eq!(h.write(LAYER_TABLE, &table), status::OK);
        assert_eq!(h.read(LAYER_TABLE, 16), table);
        let tag: Vec<u32> = (0..8).map(|_| rng.gen::<u32>() | 1).collect();
        assert_eq!(h.write(MODEL_TAG, &tag), status::OK);
        assert_eq!(h.read(MODEL_TAG, 8), tag);
        assert_eq!(h.write(PARAM_MEM, &[1, 2, 0x1_FF1F, 0]), status::OK);
        assert_eq!(h.write(PARAM_MEM + 4, &[1, 2, 0x20, 0]), status::BAD_VALUE);
        assert_eq!(h.write(PARAM_MEM + 4, &[1, 2, 3, 5]), status::BAD_VALUE);
        assert_eq!(h.write(ACT_IN, &[0x1234, 0xFFFF]), status::OK);
        assert_eq!(h.write(ACT_IN + 5, &[0x1_0000]), status::BAD_VALUE);
        let (st, at, _) = h.transact(cmd::READ, PARAM_MEM, 1, &[]);
        assert_eq!((st, at), (status::BAD_ADDRESS, PARAM_MEM));
        let (st, at, _) = h.transact(cmd::WRITE, ACT_OUT + 3, 1, &[0]);
        assert_eq!((st, at), (status::BAD_ADDRESS, ACT_OUT + 3));
        // Fill: the loop runs, the tag's word 0 is cleared.
        let slots = h.fill();
        assert!(slots >= 4, "{slots} slots");
        let mut t2 = tag.clone();
        t2[0] = 0;
        assert_eq!(h.read(MODEL_TAG, 8), t2);
        assert_eq!(h.write(LOOP_CTRL, &[ctrl::RUN]), status::OK);
        // Slots: write two, read them back; a slot beyond the loop is refused.
        let payloads: Vec<Vec<u32>> = (0..2)
            .map(|_| (0..SLOT_WORDS).map(|_| rng.gen()).collect())
            .collect();
        for (k, p) in payloads.iter().enumerate() {
            let mut burst = p.clone();
            burst.extend([slots as u32 - 1 - k as u32, 1]);
            h.write_retry(SLOT_WR_BUF, &burst);
            // The buffer reads back (the copy), once the write is no longer
            // pending.
            assert_eq!(h.read(SLOT_WR_BUF, SLOT_WORDS as usize), *p);
        }
        assert_eq!(h.write(SLOT_WR_SLOT, &[slots as u32]), status::OK);
        h.sim.run(20_000);
        assert_eq!(h.write(SLOT_WR_COMMIT, &[1]), status::BAD_VALUE);
        assert_eq!(h.write(SLOT_RD_SLOT, &[slots as u32, 1]), status::BAD_VALUE);
        for (k, p) in payloads.iter().enumerate() {
            assert_eq!(
                h.write(SLOT_RD_SLOT, &[slots as u32 - 1 - k as u32, 1]),
                status::OK
            );
            // (The slot passes within a lap, about as long as a request
            // takes over this UART: the read may be done already.)
            let d = h.read_retry(SLOT_RD_BUF, SLOT_WORDS as usize + 4);
            assert_eq!(d[..SLOT_WORDS as usize], p[..], "slot {k} read back");
            assert_eq!(d[SLOT_WORDS as usize + 1], 0, "request reads 0 when done");
            assert_eq!(
                d[SLOT_WORDS as usize + 2],
                fiberloop_spec::frame::flags::VALID as u32,
                "flags"
            );
            assert!(h.read(LOOP_STATUS, 1)[0] & status_bits::RD_VALID != 0);
        }
        // Counters: the clock counts, the loop has lapped with every frame
        // corrected (none needed), the tap has seen payload words.
        let c1 = h.counter(counter::CLOCKS);
        let c2 = h.counter(counter::CLOCKS);
        assert!(c2 > c1 && c2 - c1 < 100_000, "{c1} {c2}");
        let laps = h.counter(counter::LAPS);
        assert!(laps > 3, "{laps} laps");
        let frames = h.counter(counter::FRAMES);
        assert!(
            frames >= (laps - 1) * slots,
            "{frames} frames in {laps} laps"
        );
        assert_eq!(h.counter(counter::UNCORRECTABLE), 0);
        assert!(h.counter(counter::TAP_WORDS) > 0);
        let delay = h.counter(counter::DELAY_CLOCKS);
        assert_eq!(
            (delay + crate::loopctl::controller::LATENCY) / 128,
            slots,
            "slots = ring / frame"
        );
        // A cut: the loop is lost (sticky), the line lost sync; a fill
        // brings it back.
        assert_eq!(h.read(LOOP_STATUS, 1)[0] & status_bits::LOOP_LOST, 0);
        let syncs = h.counter(counter::SYNC_LOSSES);
        let now = h.sim.clocks();
        h.sim.schedule_cut(now + 100, 2 * delay);
        h.sim.run(4 * delay + 2000);
        let st = h.read(LOOP_STATUS, 1)[0];
        assert_ne!(st & status_bits::LOOP_LOST, 0, "status {st:#x} after a cut");
        assert!(h.counter(counter::SYNC_LOSSES) > syncs);
        assert_eq!(h.fill(), slots);
        assert_eq!(h.read(LOOP_STATUS, 1)[0] & status_bits::LOOP_LOST, 0);
        // Link counters: every error reply was counted, none dropped.
        let errors = h.errors;
        let link = h.read(LINK, LINK_WORDS as usize);
        assert_eq!(link[link::ERROR_REPLIES as usize], errors);
        assert_eq!(link[link::HEADER_CRC as usize], 0);
        assert_eq!(link[link::PAYLOAD_CRC as usize], 0);
        assert!(link[link::EXECUTED as usize] > 40);
        assert_eq!(h.sim.framing_errors, 0);
    }

    struct Net {
        w: Vec<Vec<Vec<i8>>>,
        p: Vec<Vec<ParamEntry>>,
    }

    fn random_net(rng: &mut ChaCha8Rng, dims: &[usize]) -> Net {
        let mut net = Net {
            w: vec![],
            p: vec![],
        };
        for d in dims.windows(2) {
            net.w.push(
                (0..d[1])
                    .map(|_| (0..d[0]).map(|_| rng.gen()).collect())
                    .collect(),
            );
            net.p.push(
                (0..d[1])
                    .map(|_| ParamEntry {
                        bias: rng.gen_range(-50_000..50_000),
                        multiplier: rng.gen_range((1 << 29)..i32::MAX),
                        shift: rng.gen_range(6..12),
                        zero_point: rng.gen_range(-10..10),
                        relu: rng.gen_bool(0.5),
                    })
                    .collect(),
            );
        }
        net
    }

    fn reference(net: &Net, x: &[i8]) -> Vec<i8> {
        let mut a = x.to_vec();
        for (w, p) in net.w.iter().zip(&net.p) {
            a = w
                .iter()
                .zip(p)
                .map(|(row, p)| {
                    Requant {
                        multiplier: p.multiplier,
                        shift: p.shift,
                        output_zero_point: p.zero_point,
                        relu: p.relu,
                    }
                    .apply(dot(p.bias, &a, row))
                })
                .collect();
        }
        a
    }

    /// A two-layer network loaded and run entirely through the host
    /// protocol: slots, layer table, parameters, inputs, start, status,
    /// outputs; every output equals the reference. Writes during the
    /// batch are refused BUSY.
    #[test]
    fn a_network_loaded_over_the_uart_infers_bit_exact() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let dims = [37usize, 12, 5];
        let net = random_net(&mut rng, &dims);
        // 30 km: a lap (about 19k clocks) outlasts a few requests over the
        // UART (about 2k clocks each), so a batch, which waits for layer
        // 0's slot, is often still running when the next requests arrive.
        let mut h = Host::new(30.0);
        let t0 = std::time::Instant::now();
        let slots = h.fill() as usize;
        let mut planner = Planner::new(Params {
            batch: ENGINE_BATCH,
            gap_words: DRAIN_CLOCKS + 2,
        })
        .unwrap();
        let places: Vec<_> = dims
            .windows(2)
            .map(|d| {
                planner
                    .push(LayerShape {
                        inputs: d[0],
                        outputs: d[1],
                    })
                    .unwrap()
            })
            .collect();
        planner.check_fits(slots).unwrap();
        // Slot images.
        let mut img = vec![vec![0u8; 2 * PAYLOAD_HALVES]; slots];
        for (k, pl) in places.iter().enumerate() {
            for j in 0..pl.outputs {
                for i in 0..pl.inputs {
                    let (s, byte) = pl.locate(j, i).unwrap();
                    img[s][byte] = net.w[k][j][i] as u8;
                }
            }
        }
        for (s, bytes) in img.iter().enumerate().take(planner.total_slots()) {
            let mut burst: Vec<u32> = bytes
                .chunks(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            burst.extend([s as u32, 1]);
            h.write_retry(SLOT_WR_BUF, &burst);
        }
        // The last slot write must have gone out before a batch starts.
        while h.read(SLOT_WR_COMMIT, 1)[0] != 0 {
            h.sim.run(1000);
        }
        // Table and parameters.
        let mut table = vec![];
        let mut params = vec![];
        let mut base = 0;
        for (k, pl) in places.iter().enumerate() {
            let e = LayerEntry {
                first_slot: pl.first_slot as u16,
                rows: pl.outputs as u16,
                row_words: pl.row_words as u16,
                param_base: base as u16,
            }
            .pack();
            table.extend([e as u32, (e >> 32) as u32]);
            for p in &net.p[k] {
                params.extend([
                    p.bias as u32,
                    p.multiplier as u32,
                    param_word2::pack(p.shift, p.zero_point, p.relu),
                    0,
                ]);
            }
            base += pl.outputs;
        }
        assert_eq!(h.write(LAYER_TABLE, &table), status::OK);
        assert_eq!(h.write(INFER_LAYERS, &[places.len() as u32]), status::OK);
        assert_eq!(h.write(PARAM_MEM, &params), status::OK);
        let mut refused = 0;
        for batch in 0..3 {
            let x: Vec<Vec<i8>> = (0..ENGINE_BATCH)
                .map(|_| (0..dims[0]).map(|_| rng.gen()).collect())
                .collect();
            for (r, xr) in x.iter().enumerate() {
                let words: Vec<u32> = xr
                    .chunks(2)
                    .map(|c| c[0] as u8 as u32 | (*c.get(1).unwrap_or(&0) as u8 as u32) << 8)
                    .collect();
                assert_eq!(h.write(act_addr(ACT_IN, r as u32, 0), &words), status::OK);
            }
            assert_eq!(h.write(INFER_CTRL, &[INFER_START]), status::OK);
            // While the batch runs (busy before and after the request, and
            // busy is one stretch), every engine write and the output read
            // are refused. The batch waits for layer 0's slot, up to a lap.
            // The probes change nothing if the batch has ended: an input
            // word written again with its own value, a start with a bad
            // value (BUSY is checked first), a read.
            let w0 = x[0][0] as u8 as u32 | (x[0][1] as u8 as u32) << 8;
            for op in 0..3 {
                let before = h.read(INFER_STATUS, 1)[0] & infer_bits::BUSY != 0;
                let st = match op {
                    0 => h.write(ACT_IN, &[w0]),
                    1 => h.write(INFER_CTRL, &[2]),
                    _ => h.read_status(ACT_OUT),
                };
                let after = h.read(INFER_STATUS, 1)[0] & infer_bits::BUSY != 0;
                if before && after {
                    assert_eq!(st, status::BUSY, "batch {batch}, op {op} while busy");
                    refused += 1;
                }
            }
            let mut st = 0;
            for _ in 0..1000 {
                st = h.read(INFER_STATUS, 1)[0];
                if st & infer_bits::BUSY == 0 {
                    break;
                }
                h.sim.run(1000);
            }
            assert_eq!(st, infer_bits::DONE, "batch {batch}: status {st:#x}");
            let n_out = *dims.last().unwrap();
            for (r, xr) in x.iter().enumerate() {
                let words = h.read(act_addr(ACT_OUT, r as u32, 0), n_out.div_ceil(2));
                let got: Vec<i8> = (0..n_out)
                    .map(|i| (words[i / 2] >> (8 * (i % 2))) as u8 as i8)
                    .collect();
                assert_eq!(got, reference(&net, xr), "batch {batch} row {r}");
            }
        }
        assert!(refused > 0, "no request met a running batch");
        let dt = t0.elapsed().as_secs_f64();
        println!(
            "{} word clocks in {dt:.2} s: {:.3} M clocks/s",
            h.sim.clocks(),
            h.sim.clocks() as f64 / dt / 1e6
        );
    }

    /// The UART and the USB FIFO port reach the same command engine and
    /// registers; each reply comes back on its request's link; a request
    /// on the UART while a FIFO frame is being served is lost and counted,
    /// one on the FIFO port while a UART frame is served waits its turn.
    #[test]
    fn both_links_share_one_engine() {
        let mut h = Host::new(0.2);
        let mut rng = ChaCha8Rng::seed_from_u64(55);
        // Random stop-and-wait traffic, each request on a random link: a
        // word written on one link reads back on the other.
        let mut mem = vec![0u32; SCRATCH_MEM_WORDS as usize];
        let (mut on_usb, mut on_uart) = (0, 0);
        for _ in 0..40 {
            h.link = if rng.gen_bool(0.5) {
                HostLink::Usb
            } else {
                HostLink::Uart
            };
            *match h.link {
                HostLink::Usb => &mut on_usb,
                HostLink::Uart => &mut on_uart,
            } += 1;
            let at = rng.gen_range(0..SCRATCH_MEM_WORDS - 64);
            let n = rng.gen_range(1..=64);
            if rng.gen_bool(0.5) {
                let d: Vec<u32> = (0..n).map(|_| rng.gen()).collect();
                assert_eq!(h.write(SCRATCH_MEM + at, &d), status::OK);
                mem[at as usize..(at + n) as usize].copy_from_slice(&d);
            } else {
                let d = h.read(SCRATCH_MEM + at, n as usize);
                assert_eq!(d, mem[at as usize..(at + n) as usize], "read at {at}");
            }
        }
        assert!(on_usb > 10 && on_uart > 10);
        // A 1024-word write on the FIFO port, and a READ on the UART a few
        // clocks later: the engine serves the FIFO frame, the UART bytes
        // are lost (the UART host would time out and retry).
        let big: Vec<u32> = (0..SCRATCH_MEM_WORDS).map(|_| rng.gen()).collect();
        h.link = HostLink::Usb;
        let (wh, wf) = h.request(cmd::WRITE, SCRATCH_MEM, big.len() as u16, &big);
        let (_, rf) = h.request(cmd::READ, SCRATCH, 4, &[]);
        h.sim.send_on(HostLink::Usb, &wf);
        h.sim.run(30);
        h.sim.send_on(HostLink::Uart, &rf);
        assert_eq!(h.wait_reply(wh).0, status::OK);
        h.sim.run(20_000);
        assert_eq!(
            h.sim.received_on(HostLink::Uart),
            0,
            "the lost request was answered"
        );
        h.link = HostLink::Uart;
        let lost = h.read(LINK + link::CONTENTION_LOST, 1)[0];
        assert_eq!(lost, rf.len() as u32, "UART bytes lost to the FIFO frame");
        assert_eq!(h.read(SCRATCH_MEM, big.len()), big);
        // The other way round: a UART write, then a FIFO read while it
        // arrives: the FIFO request waits and both are answered.
        let small: Vec<u32> = (0..8).map(|_| rng.gen()).collect();
        let (uh, uf) = h.request(cmd::WRITE, SCRATCH, 8, &small);
        let (fh, ff) = h.request(cmd::READ, SCRATCH_MEM + 100, 16, &[]);
        h.sim.send_on(HostLink::Uart, &uf);
        h.sim.run(200);
        h.sim.send_on(HostLink::Usb, &ff);
        for _ in 0..200_000 {
            if h.sim.received_on(HostLink::Uart) + h.sim.received_on(HostLink::Usb) > 0 {
                break;
            }
            h.sim.step();
        }
        assert_eq!(
            h.sim.received_on(HostLink::Usb),
            0,
            "the FIFO request jumped the queue"
        );
        h.link = HostLink::Uart;
        assert_eq!(h.wait_reply(uh).0, status::OK);
        h.link = HostLink::Usb;
        let (st, _, d) = h.wait_reply(fh);
        assert_eq!((st, d), (status::OK, big[100..116].to_vec()));
        assert_eq!(h.read(SCRATCH, 8), small);
        assert_eq!(h.read(LINK + link::CONTENTION_LOST, 1)[0], lost);
        assert!(
            h.sim.usb_violations().is_empty(),
            "{:?}",
            h.sim.usb_violations()
        );
        assert_eq!(h.sim.framing_errors, 0);
    }

    #[test]
    fn board_core_synthesises() {
        let mut uut = BoardCore::new(42, 40_000);
        uut.connect_all();
        let r = crate::synth::synth_block(&uut, "board_core").unwrap();
        println!("{r}");
        assert!(r.dsps() <= 72);
    }

    /// Out of context on the 45F, every clock 10 % above its frequency:
    /// the word clocks at 125 MHz, the FT2232H's `CLKOUT` at 60 MHz. The
    /// whole board: command engine, register file, loop core, inference
    /// engine and MAC array (their paths are listed per clock).
    #[test]
    fn board_core_meets_timing() {
        use crate::pnr::{assert_meets_timing, ClockConstraint, WORD_CLOCK_MHZ};
        let mut uut = BoardCore::new(42, 40_000);
        uut.connect_all();
        assert_meets_timing(
            &uut,
            "board_core",
            &[
                ClockConstraint::new("clock", WORD_CLOCK_MHZ),
                ClockConstraint::new("rx_clock", WORD_CLOCK_MHZ),
                ClockConstraint::new("usb_clock", 60.0),
            ],
        );
    }
}

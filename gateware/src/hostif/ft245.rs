//! `Ft245Port`: the host protocol over an FTDI FT2232H channel in "FT245
//! style synchronous FIFO" mode (USB 2.0 high speed): the FIFO pins in the
//! chip's 60 MHz `CLKOUT` domain, two asynchronous FIFOs, a [`CmdEngine`]
//! in the word clock domain. [`Ft2232hModel`] is a cycle model of the chip's
//! FIFO side used to check it.
//!
//! # The FT2232H synchronous FIFO interface (as implemented and modelled)
//!
//! From the FT2232H datasheet (FT245 synchronous FIFO interface mode) and
//! FTDI application note AN_130 ("FT2232H used in an FT245 style
//! synchronous FIFO mode"), seen from the FPGA; every transfer happens at a
//! rising edge of `CLKOUT`:
//!
//! * `RXF#` low: the chip holds a byte from the host. With `OE#` low the
//!   chip drives that byte on `ADBUS`; a byte moves to the FPGA at each
//!   rising edge where `RD#` is low and `RXF#` is low (both as driven in the
//!   clock before the edge); the chip then presents the next byte, or raises
//!   `RXF#` after the last one. `RD#` low while `RXF#` is high moves
//!   nothing.
//! * `OE#` must be low at least one clock before `RD#` goes low, and stays
//!   low while reading (the chip drives the bus whenever `OE#` is low).
//! * `TXE#` low: the chip can take a byte for the host. The byte the FPGA
//!   drives on `ADBUS` is written at each rising edge where `WR#` is low and
//!   `TXE#` is low. `TXE#` may go high at any edge; a write strobed in a
//!   clock where `TXE#` is high does not happen (the byte must be sent
//!   again).
//! * `SIWU#` (send immediate / wake up) is held high here (inactive): the
//!   chip sends a short packet to the host when its latency timer expires
//!   (the host driver should set it low, e.g. 1-2 ms; a reply of a few
//!   bytes otherwise waits up to the default 16 ms).

use super::cmd_engine::CmdEngine;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use std::collections::VecDeque;

/// The clock-crossing FIFOs: 64 bytes, "almost full" at 56 (8 free).
pub type CrossFifo = AsynchronousFIFO<Bits<8>, 6, 7, 8>;

/// States of the FIFO bus sequencer (the `CLKOUT` domain).
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum BusState {
    /// Nobody drives the bus (turnaround between directions).
    Idle,
    /// `OE#` low for one clock before `RD#` may go low.
    RdOe,
    /// Reading: `OE#` low, `RD#` low while a byte is wanted.
    Read,
    /// Writing: the FPGA drives the bus, `WR#` low while a byte is sent.
    Write,
}

/// The host's register access over an FT2232H channel in synchronous FIFO
/// mode: bytes read from the chip go to a [`CmdEngine`], its replies are
/// written to the chip.
///
/// **FIFO side** (`fifo_clock` = the chip's `CLKOUT`, 60 MHz): a
/// sequencer ([`BusState`]) owns the shared data bus, one direction at a
/// time, with an idle turnaround clock (nobody drives) between them. Read:
/// `OE#` low for one clock, then `RD#` low while `RXF#` is low and the
/// receive crossing FIFO has at least 8 free places (the margin covers the
/// bytes still in flight: it is never overrun). A byte is taken at each
/// edge with `RD#` and `RXF#` low, registered, then written into the
/// crossing FIFO. Write: the FPGA drives the bus; a byte from the transmit
/// crossing FIFO is held on the bus with `WR#` low until an edge where
/// `TXE#` is low accepts it (`TXE#` is checked at the edge, so a byte
/// refused by a late `TXE#` is sent again and never lost nor doubled);
/// `WR#` is not driven low in the clock after one where `TXE#` was high.
/// Reads take priority while the receive side has work, except that the
/// sequencer alternates when both directions are ready, and leaves a
/// direction after 128 clocks if the other one is waiting. All pins are
/// registered outputs; `RXF#`, `TXE#` and `ADBUS` are used at the edge
/// (`ADBUS` then goes through an input register).
///
/// **Word side** (`clock`, 125 MHz): the engine takes a byte from the
/// receive FIFO in every clock the FIFO is not empty (it has no
/// back-pressure; the word clock is faster than `CLKOUT`, so this FIFO
/// drains faster than it fills); a reply byte moves from the engine into
/// the transmit FIFO in a clock where it is not full (`ready_in`).
///
/// Latency: host to engine, a byte reaches the engine 2 `CLKOUT` clocks
/// after the edge that took it from the chip (input register, FIFO write
/// and its address delay) plus the FIFO's pointer handshake (two 2-flop
/// synchronisers each way: about 4 word clocks + 2 `CLKOUT` clocks, up to
/// twice that when a pointer update just missed the previous handshake),
/// i.e. about 6 to 12 `CLKOUT` clocks; engine to host, the same crossing
/// plus 1-2 clocks to the bus (a reply byte is on `ADBUS` with `WR#` low
/// 5-12 `CLKOUT` clocks after the engine gives it, plus a turnaround clock
/// if the bus was reading). The engine's own latency is in [`CmdEngine`];
/// measured PING turnaround (last request byte taken from the chip to
/// first reply byte written to it, engine included: 12 word clocks) is 21
/// `CLKOUT` clocks at 60/125 MHz and at 62.5/125 MHz. Throughput: one byte per `CLKOUT`
/// in each direction while the chip allows it and the bus stays in that
/// direction (the engine's reply rate, 4 bytes per 6 word clocks = 83 MB/s,
/// exceeds 60 MB/s). Reset: none; at power-up every register is 0: the
/// sequencer idle, `RD#`, `WR#`, `OE#` high (held inverted), the bus not
/// driven, both FIFOs empty, the engine hunting.
#[derive(LogicBlock)]
pub struct Ft245Port {
    /// Word clock (125 MHz): the engine and the register bus.
    pub clock: Signal<In, Clock>,
    /// The chip's `CLKOUT` (60 MHz): every FIFO pin is in this domain.
    pub fifo_clock: Signal<In, Clock>,
    /// `ADBUS[7:0]` as read from the pins (the chip's byte while `OE#` is
    /// low).
    pub d_in: Signal<In, Bits<8>>,
    /// `ADBUS[7:0]` as driven by the FPGA when `d_oe` is high.
    pub d_out: Signal<Out, Bits<8>>,
    /// Output enable of `ADBUS` (high: the FPGA drives `d_out`).
    pub d_oe: Signal<Out, Bit>,
    /// `RXF#` (active low): the chip holds a byte from the host.
    pub rxf_n_in: Signal<In, Bit>,
    /// `TXE#` (active low): the chip can take a byte for the host.
    pub txe_n_in: Signal<In, Bit>,
    /// `RD#` (active low): read a byte at the next edge.
    pub rd_n_out: Signal<Out, Bit>,
    /// `WR#` (active low): write the byte on the bus at the next edge.
    pub wr_n_out: Signal<Out, Bit>,
    /// `OE#` (active low): the chip drives the bus.
    pub oe_n_out: Signal<Out, Bit>,
    /// `SIWU#` (active low): send immediate; always high (inactive).
    pub siwu_n_out: Signal<Out, Bit>,
    /// Register bus: word address (see [`CmdEngine`] for the timing).
    pub bus_addr: Signal<Out, Bits<32>>,
    /// Register bus: word to write.
    pub bus_wdata: Signal<Out, Bits<32>>,
    /// Register bus: write strobe.
    pub bus_we: Signal<Out, Bit>,
    /// Register bus: read strobe.
    pub bus_re: Signal<Out, Bit>,
    /// Register bus: read data, the clock after `bus_re`.
    pub bus_rdata: Signal<In, Bits<32>>,
    /// Register bus: status of the access of the previous clock (0 = OK).
    pub bus_status_in: Signal<In, Bits<8>>,
    /// Strobe from the engine: a frame was dropped, header check failed.
    pub header_crc_drop_out: Signal<Out, Bit>,
    /// Strobe from the engine: a frame was dropped, payload check failed.
    pub payload_crc_drop_out: Signal<Out, Bit>,
    /// Strobe from the engine: a partial frame was dropped by the timeout.
    pub timeout_drop_out: Signal<Out, Bit>,
    /// Strobe from the engine: a retried WRITE was answered from memory.
    pub replay_out: Signal<Out, Bit>,
    /// Strobe from the engine: a request was executed (OK).
    pub executed_out: Signal<Out, Bit>,
    /// Strobe from the engine: a checked frame was lost, the engine was busy.
    pub overrun_out: Signal<Out, Bit>,
    /// Bytes skipped while hunting for a sync (0..=2 per clock).
    pub hunted_out: Signal<Out, Bits<2>>,
    /// Sticky diagnostic (never expected): a crossing FIFO overflowed or
    /// underflowed. An OR of flags of both clock domains: read it slowly.
    pub fifo_error_out: Signal<Out, Bit>,
    engine: CmdEngine,
    rx_fifo: CrossFifo,
    tx_fifo: CrossFifo,
    // FIFO bus sequencer (fifo_clock domain). Strobes are held
    // active-high so that the power-up value 0 is "inactive".
    state: DFF<BusState>,
    oe_act: DFF<Bit>,
    rd_act: DFF<Bit>,
    wr_act: DFF<Bit>,
    doe: DFF<Bit>,
    dout: DFF<Bits<8>>,
    tx_pend: DFF<Bit>,
    rx_valid: DFF<Bit>,
    rx_byte: DFF<Bits<8>>,
    burst: DFF<Bits<8>>,
    last_read: DFF<Bit>,
    rx_want: Signal<Local, Bit>,
    acc: Signal<Local, Bit>,
    keep: Signal<Local, Bit>,
    tx_ready: Signal<Local, Bit>,
    burst_done: Signal<Local, Bit>,
    wr_go: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,
    burst_max: Constant<Bits<8>>,
    one8: Constant<Bits<8>>,
}

impl Ft245Port {
    /// A port whose engine drops a partial frame after `timeout_clocks`
    /// word clocks of silence.
    pub fn new(timeout_clocks: u32) -> Self {
        Self {
            clock: Default::default(),
            fifo_clock: Default::default(),
            d_in: Default::default(),
            d_out: Default::default(),
            d_oe: Default::default(),
            rxf_n_in: Default::default(),
            txe_n_in: Default::default(),
            rd_n_out: Default::default(),
            wr_n_out: Default::default(),
            oe_n_out: Default::default(),
            siwu_n_out: Default::default(),
            bus_addr: Default::default(),
            bus_wdata: Default::default(),
            bus_we: Default::default(),
            bus_re: Default::default(),
            bus_rdata: Default::default(),
            bus_status_in: Default::default(),
            header_crc_drop_out: Default::default(),
            payload_crc_drop_out: Default::default(),
            timeout_drop_out: Default::default(),
            replay_out: Default::default(),
            executed_out: Default::default(),
            overrun_out: Default::default(),
            hunted_out: Default::default(),
            fifo_error_out: Default::default(),
            engine: CmdEngine::new(timeout_clocks),
            rx_fifo: Default::default(),
            tx_fifo: Default::default(),
            state: Default::default(),
            oe_act: Default::default(),
            rd_act: Default::default(),
            wr_act: Default::default(),
            doe: Default::default(),
            dout: Default::default(),
            tx_pend: Default::default(),
            rx_valid: Default::default(),
            rx_byte: Default::default(),
            burst: Default::default(),
            last_read: Default::default(),
            rx_want: Default::default(),
            acc: Default::default(),
            keep: Default::default(),
            tx_ready: Default::default(),
            burst_done: Default::default(),
            wr_go: Default::default(),
            pop: Default::default(),
            burst_max: Constant::new(127u64.to_bits()),
            one8: Constant::new(1u64.to_bits()),
        }
    }
}

// Parentheses around mixed expressions are required: rust-hdl 0.46 emits
// Verilog without them, where the precedence differs from Rust's.
#[allow(unused_parens)]
impl Logic for Ft245Port {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, fifo_clock, state, oe_act, rd_act, wr_act, doe, dout, tx_pend, rx_valid, rx_byte,
            burst, last_read
        );
        // ---------------- word clock side ----------------
        self.engine.clock.next = self.clock.val();
        self.rx_fifo.write_clock.next = self.fifo_clock.val();
        self.rx_fifo.read_clock.next = self.clock.val();
        self.tx_fifo.write_clock.next = self.clock.val();
        self.tx_fifo.read_clock.next = self.fifo_clock.val();
        // Receive FIFO -> engine, a byte every clock it has one.
        self.rx_fifo.read.next = !self.rx_fifo.empty.val();
        self.engine.data_in.next = self.rx_fifo.data_out.val();
        self.engine.valid_in.next = !self.rx_fifo.empty.val();
        // Engine -> transmit FIFO while it has room.
        self.tx_fifo.data_in.next = self.engine.data_out.val();
        self.tx_fifo.write.next = self.engine.valid_out.val() & !self.tx_fifo.full.val();
        self.engine.ready_in.next = !self.tx_fifo.full.val();
        // Register bus and event strobes.
        self.bus_addr.next = self.engine.bus_addr.val();
        self.bus_wdata.next = self.engine.bus_wdata.val();
        self.bus_we.next = self.engine.bus_we.val();
        self.bus_re.next = self.engine.bus_re.val();
        self.engine.bus_rdata.next = self.bus_rdata.val();
        self.engine.bus_status_in.next = self.bus_status_in.val();
        self.header_crc_drop_out.next = self.engine.header_crc_drop_out.val();
        self.payload_crc_drop_out.next = self.engine.payload_crc_drop_out.val();
        self.timeout_drop_out.next = self.engine.timeout_drop_out.val();
        self.replay_out.next = self.engine.replay_out.val();
        self.executed_out.next = self.engine.executed_out.val();
        self.overrun_out.next = self.engine.overrun_out.val();
        self.hunted_out.next = self.engine.hunted_out.val();
        self.fifo_error_out.next = self.rx_fifo.overflow.val()
            | self.rx_fifo.underflow.val()
            | self.tx_fifo.overflow.val()
            | self.tx_fifo.underflow.val();
        // ---------------- FIFO pins (fifo_clock) ----------------
        self.rd_n_out.next = !self.rd_act.q.val();
        self.wr_n_out.next = !self.wr_act.q.val();
        self.oe_n_out.next = !self.oe_act.q.val();
        self.siwu_n_out.next = true;
        self.d_out.next = self.dout.q.val();
        self.d_oe.next = self.doe.q.val();
        // A byte moves from the chip at this edge: RD# and RXF# low.
        self.rx_valid.d.next = self.rd_act.q.val() & !self.rxf_n_in.val();
        self.rx_byte.d.next = self.d_in.val();
        self.rx_fifo.write.next = self.rx_valid.q.val();
        self.rx_fifo.data_in.next = self.rx_byte.q.val();
        // The chip has a byte for us and the receive FIFO has room for it
        // and for the bytes in flight.
        self.rx_want.next = !self.rxf_n_in.val() & !self.rx_fifo.almost_full.val();
        // The byte on the bus is accepted at this edge: WR# and TXE# low.
        self.acc.next = self.wr_act.q.val() & !self.txe_n_in.val();
        // A byte still to be sent (on the bus, not accepted yet).
        self.keep.next = self.tx_pend.q.val() & !self.acc.val();
        self.tx_ready.next = (self.keep.val() | !self.tx_fifo.empty.val()) & !self.txe_n_in.val();
        self.burst_done.next = (self.burst.q.val() == self.burst_max.val());
        if !self.burst_done.val() {
            self.burst.d.next = self.burst.q.val() + self.one8.val();
        }
        self.tx_pend.d.next = self.keep.val();
        self.rd_act.d.next = false;
        self.wr_go.next = false;
        match self.state.q.val() {
            BusState::Idle => {
                self.oe_act.d.next = false;
                self.doe.d.next = false;
                self.burst.d.next = 0.into();
                if self.tx_ready.val() & (self.last_read.q.val() | !self.rx_want.val()) {
                    self.state.d.next = BusState::Write;
                    self.doe.d.next = true;
                    self.wr_go.next = true;
                    self.last_read.d.next = false;
                } else if self.rx_want.val() {
                    self.state.d.next = BusState::RdOe;
                    self.oe_act.d.next = true;
                    self.last_read.d.next = true;
                }
            }
            BusState::RdOe => {
                self.oe_act.d.next = true;
                self.rd_act.d.next = self.rx_want.val();
                self.burst.d.next = 0.into();
                self.state.d.next = BusState::Read;
            }
            BusState::Read => {
                self.oe_act.d.next = true;
                if self.tx_ready.val() & (!self.rx_want.val() | self.burst_done.val()) {
                    self.state.d.next = BusState::Idle;
                    self.oe_act.d.next = false;
                } else {
                    self.rd_act.d.next = self.rx_want.val();
                }
            }
            BusState::Write => {
                self.doe.d.next = true;
                if self.rx_want.val() & (!self.tx_ready.val() | self.burst_done.val()) {
                    self.state.d.next = BusState::Idle;
                    self.doe.d.next = false;
                } else {
                    self.wr_go.next = true;
                }
            }
            _ => {
                self.state.d.next = BusState::Idle;
            }
        }
        // Writing next clock: resend the refused byte, or take a new one.
        self.pop.next = self.wr_go.val() & !self.keep.val() & !self.tx_fifo.empty.val();
        self.tx_fifo.read.next = self.pop.val();
        if self.pop.val() {
            self.dout.d.next = self.tx_fifo.data_out.val();
            self.tx_pend.d.next = true;
        }
        self.wr_act.d.next =
            self.wr_go.val() & (self.keep.val() | self.pop.val()) & !self.txe_n_in.val();
    }
}

/// What the FPGA drives on the FIFO pins during one `CLKOUT` clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FpgaPins {
    /// `RD#`.
    pub rd_n: bool,
    /// `WR#`.
    pub wr_n: bool,
    /// `OE#`.
    pub oe_n: bool,
    /// `ADBUS` as driven by the FPGA.
    pub d_out: u8,
    /// The FPGA drives `ADBUS`.
    pub d_oe: bool,
}

/// What the chip presents during one `CLKOUT` clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChipPins {
    /// `RXF#`.
    pub rxf_n: bool,
    /// `TXE#`.
    pub txe_n: bool,
    /// The level of `ADBUS` (the chip's byte, the FPGA's, or noise when
    /// nobody drives it).
    pub d: u8,
}

/// Flow-control behaviour of [`Ft2232hModel`].
#[derive(Clone, Copy, Debug)]
pub struct ChipConfig {
    /// Bytes the chip's receive buffer holds (host to device).
    pub rx_capacity: usize,
    /// Bytes the chip's transmit buffer holds (device to host).
    pub tx_capacity: usize,
    /// Chance per clock that a USB packet from the host arrives (while the
    /// host has bytes queued).
    pub rx_arrive: f64,
    /// Bytes per USB packet from the host (at most).
    pub rx_packet: usize,
    /// Chance per clock that a USB packet goes to the host.
    pub tx_drain: f64,
    /// Bytes per USB packet to the host (at most).
    pub tx_packet: usize,
    /// Chance per clock that `RXF#` is forced high for 1..=`stall_max`
    /// clocks although bytes are buffered (packet boundaries).
    pub rx_stall: f64,
    /// Chance per clock that `TXE#` is forced high for 1..=`stall_max`
    /// clocks although there is room.
    pub tx_stall: f64,
    /// Longest forced stall, clocks.
    pub stall_max: u32,
}

impl ChipConfig {
    /// No flow control beyond large buffers: `RXF#` low whenever a byte is
    /// buffered, `TXE#` low always (the fastest the chip can be).
    pub fn fast() -> Self {
        Self {
            rx_capacity: 4096,
            tx_capacity: 4096,
            rx_arrive: 1.0,
            rx_packet: 512,
            tx_drain: 1.0,
            tx_packet: 512,
            rx_stall: 0.0,
            tx_stall: 0.0,
            stall_max: 1,
        }
    }
}

/// A cycle model of the FIFO side of an FT2232H channel in synchronous FIFO
/// mode, as described in the module documentation: a host-to-device queue
/// fed by the host ([`host_send`](Self::host_send)) that reaches the chip's
/// receive buffer in packets, a transmit buffer drained to the host in
/// packets, `RXF#` and `TXE#` from the buffer fill (and random stalls, per
/// [`ChipConfig`]). Call [`edge`](Self::edge) at each rising edge of
/// `CLKOUT` with what the FPGA drove in the clock before it, then
/// [`present`](Self::present) with what the FPGA drives after the edge.
///
/// Protocol breaches are recorded in [`violations`](Self::violations):
/// `RD#` low at an edge without `OE#` low in that clock and the one before,
/// `WR#` low with the FPGA not driving the bus, `WR#` with `OE#` or `RD#`
/// low, and both the chip (`OE#` low) and the FPGA driving the bus. A
/// strobe while the chip's flag is high (`RD#` with `RXF#` high, `WR#` with
/// `TXE#` high) is allowed by the datasheet and moves nothing: it is only
/// counted.
pub struct Ft2232hModel {
    cfg: ChipConfig,
    rng: ChaCha8Rng,
    host_tx: VecDeque<u8>,
    rx_buf: VecDeque<u8>,
    tx_buf: VecDeque<u8>,
    /// Bytes the host has received, in order.
    pub host_rx: Vec<u8>,
    rxf_n: bool,
    txe_n: bool,
    prev_oe_n: bool,
    rx_stall_left: u32,
    tx_stall_left: u32,
    /// Rising edges seen.
    pub cycle: u64,
    /// Edges (`cycle` numbers) at which a byte moved to the FPGA.
    pub read_log: Vec<u64>,
    /// Edges at which a byte moved from the FPGA.
    pub write_log: Vec<u64>,
    /// `RD#` low with `RXF#` high (no transfer).
    pub rd_idle: u64,
    /// `WR#` low with `TXE#` high (no transfer).
    pub wr_refused: u64,
    /// Edges with `OE#` and `RXF#` low but `RD#` high (the FPGA holding
    /// off, e.g. its receive buffer near full).
    pub rd_held: u64,
    /// Clocks with `RXF#` high although bytes were buffered.
    pub rx_stalled: u64,
    /// Clocks with `TXE#` high.
    pub txe_high: u64,
    /// Protocol breaches, with the edge number.
    pub violations: Vec<String>,
}

impl Ft2232hModel {
    /// A chip with flow control `cfg` and random stalls from `seed`.
    pub fn new(cfg: ChipConfig, seed: u64) -> Self {
        Self {
            cfg,
            rng: ChaCha8Rng::seed_from_u64(seed),
            host_tx: VecDeque::new(),
            rx_buf: VecDeque::new(),
            tx_buf: VecDeque::new(),
            host_rx: Vec::new(),
            rxf_n: true,
            txe_n: true,
            prev_oe_n: true,
            rx_stall_left: 0,
            tx_stall_left: 0,
            cycle: 0,
            read_log: Vec::new(),
            write_log: Vec::new(),
            rd_idle: 0,
            wr_refused: 0,
            rd_held: 0,
            rx_stalled: 0,
            txe_high: 0,
            violations: Vec::new(),
        }
    }

    /// Changes the flow-control behaviour from the next edge on.
    pub fn set_config(&mut self, cfg: ChipConfig) {
        self.cfg = cfg;
    }

    /// The host sends `bytes` (queued behind earlier ones).
    pub fn host_send(&mut self, bytes: &[u8]) {
        self.host_tx.extend(bytes);
    }

    /// Bytes sent by the host not yet read by the FPGA.
    pub fn rx_pending(&self) -> usize {
        self.host_tx.len() + self.rx_buf.len()
    }

    /// Bytes written by the FPGA not yet delivered to the host.
    pub fn tx_pending(&self) -> usize {
        self.tx_buf.len()
    }

    /// A rising edge of `CLKOUT`; `fpga` is what the FPGA drove in the
    /// clock that ends here. Moves bytes, then computes `RXF#` and `TXE#`
    /// for the next clock.
    pub fn edge(&mut self, fpga: FpgaPins) {
        let c = self.cycle;
        if !fpga.rd_n && (fpga.oe_n || self.prev_oe_n) {
            self.violations
                .push(format!("edge {c}: RD# low without OE# low a clock before"));
        }
        if !fpga.wr_n && !fpga.d_oe {
            self.violations
                .push(format!("edge {c}: WR# low with the bus not driven"));
        }
        if !fpga.wr_n && (!fpga.oe_n || !fpga.rd_n) {
            self.violations
                .push(format!("edge {c}: WR# low together with OE# or RD#"));
        }
        if fpga.rd_n && !fpga.oe_n && !self.rxf_n {
            self.rd_held += 1;
        }
        if !fpga.rd_n {
            if !self.rxf_n && !fpga.oe_n {
                self.rx_buf.pop_front().expect("RXF# low with no byte");
                self.read_log.push(c);
            } else {
                self.rd_idle += 1;
            }
        }
        if !fpga.wr_n {
            if !self.txe_n {
                self.tx_buf.push_back(fpga.d_out);
                self.write_log.push(c);
            } else {
                self.wr_refused += 1;
            }
        }
        self.prev_oe_n = fpga.oe_n;
        // USB side: packets from and to the host.
        if !self.host_tx.is_empty() && self.rng.gen_bool(self.cfg.rx_arrive) {
            let room = self.cfg.rx_capacity.saturating_sub(self.rx_buf.len());
            let n = self.cfg.rx_packet.min(room).min(self.host_tx.len());
            self.rx_buf.extend(self.host_tx.drain(..n));
        }
        if !self.tx_buf.is_empty() && self.rng.gen_bool(self.cfg.tx_drain) {
            let n = self.cfg.tx_packet.min(self.tx_buf.len());
            self.host_rx.extend(self.tx_buf.drain(..n));
        }
        // Flags for the next clock.
        if self.rx_stall_left > 0 {
            self.rx_stall_left -= 1;
        } else if self.rng.gen_bool(self.cfg.rx_stall) {
            self.rx_stall_left = self.rng.gen_range(1..=self.cfg.stall_max);
        }
        if self.tx_stall_left > 0 {
            self.tx_stall_left -= 1;
        } else if self.rng.gen_bool(self.cfg.tx_stall) {
            self.tx_stall_left = self.rng.gen_range(1..=self.cfg.stall_max);
        }
        self.rxf_n = self.rx_buf.is_empty() || self.rx_stall_left > 0;
        if self.rxf_n && !self.rx_buf.is_empty() {
            self.rx_stalled += 1;
        }
        self.txe_n = self.tx_buf.len() >= self.cfg.tx_capacity || self.tx_stall_left > 0;
        if self.txe_n {
            self.txe_high += 1;
        }
        self.cycle += 1;
    }

    /// The chip's pins in the clock after an edge, given what the FPGA
    /// drives in it (`OE#` decides who drives the bus).
    pub fn present(&mut self, fpga: FpgaPins) -> ChipPins {
        let chip_drives = !fpga.oe_n;
        if chip_drives && fpga.d_oe {
            self.violations.push(format!(
                "clock after edge {}: bus contention (OE# low and the FPGA drives)",
                self.cycle
            ));
        }
        let d = if chip_drives {
            match self.rx_buf.front() {
                Some(&b) => b,
                None => self.rng.gen(),
            }
        } else if fpga.d_oe {
            fpga.d_out
        } else {
            self.rng.gen()
        };
        ChipPins {
            rxf_n: self.rxf_n,
            txe_n: self.txe_n,
            d,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostif::cmd_engine::{BusOp, EngineModel};
    use crate::verilator::{Model, Port};
    use fiberloop_spec::proto::{cmd, encode, Direction, Event, Header, Parser, MAX_FRAME_BYTES};
    use fiberloop_spec::regs;

    /// Large enough never to fire: the host model waits for each reply.
    const TIMEOUT: u32 = 1 << 24;

    struct Pins {
        clk: Port,
        fclk: Port,
        d_in: Port,
        d_out: Port,
        d_oe: Port,
        rxf_n: Port,
        txe_n: Port,
        rd_n: Port,
        wr_n: Port,
        oe_n: Port,
        siwu_n: Port,
        addr: Port,
        wdata: Port,
        we: Port,
        re: Port,
        rdata: Port,
        status: Port,
        fifo_err: Port,
        drops: [Port; 4],
    }

    /// The block with two free-running clocks (simulated time in ps), the
    /// chip model on the FIFO pins and a memory on the register bus.
    struct Bench {
        m: Model,
        p: Pins,
        chip: Ft2232hModel,
        mem: Vec<u32>,
        bus: Vec<BusOp>,
        rd: Option<u32>,
        t: u64,
        half_w: u64,
        half_f: u64,
        next_w: u64,
        next_f: u64,
        w_level: bool,
        f_level: bool,
        word_clocks: u64,
        engine_drops: u64,
    }

    impl Bench {
        fn new(half_w: u64, half_f: u64, mem: Vec<u32>, seed: u64) -> Self {
            let mut uut = Ft245Port::new(TIMEOUT);
            uut.connect_all();
            let mut m = Model::of_block(&uut).unwrap();
            let p = Pins {
                clk: m.p("clock"),
                fclk: m.p("fifo_clock"),
                d_in: m.p("d_in"),
                d_out: m.p("d_out"),
                d_oe: m.p("d_oe"),
                rxf_n: m.p("rxf_n_in"),
                txe_n: m.p("txe_n_in"),
                rd_n: m.p("rd_n_out"),
                wr_n: m.p("wr_n_out"),
                oe_n: m.p("oe_n_out"),
                siwu_n: m.p("siwu_n_out"),
                addr: m.p("bus_addr"),
                wdata: m.p("bus_wdata"),
                we: m.p("bus_we"),
                re: m.p("bus_re"),
                rdata: m.p("bus_rdata"),
                status: m.p("bus_status_in"),
                fifo_err: m.p("fifo_error_out"),
                drops: [
                    "header_crc_drop_out",
                    "payload_crc_drop_out",
                    "timeout_drop_out",
                    "overrun_out",
                ]
                .map(|n| m.p(n)),
            };
            let mut chip = Ft2232hModel::new(ChipConfig::fast(), seed);
            m.set(p.status, 0);
            m.set(p.rxf_n, 1);
            m.set(p.txe_n, 1);
            m.eval();
            // Power-up: the pins are inactive before any clock.
            let pins = Self::fpga_of(&m, &p);
            assert!(
                pins.rd_n && pins.wr_n && pins.oe_n && !pins.d_oe,
                "power-up pins"
            );
            let c = chip.present(pins);
            m.set(p.d_in, c.d as u64);
            m.eval();
            Self {
                m,
                p,
                chip,
                mem,
                bus: Vec::new(),
                rd: None,
                t: 0,
                half_w,
                half_f,
                next_w: half_w,
                next_f: half_f,
                w_level: false,
                f_level: false,
                word_clocks: 0,
                engine_drops: 0,
            }
        }

        fn fpga_of(m: &Model, p: &Pins) -> FpgaPins {
            FpgaPins {
                rd_n: m.get(p.rd_n) != 0,
                wr_n: m.get(p.wr_n) != 0,
                oe_n: m.get(p.oe_n) != 0,
                d_out: m.get(p.d_out) as u8,
                d_oe: m.get(p.d_oe) != 0,
            }
        }

        /// Advances to the next clock transition (either clock, or both).
        fn step(&mut self) {
            self.t = self.next_w.min(self.next_f);
            let w_edge = self.next_w == self.t;
            let f_edge = self.next_f == self.t;
            let w_rise = w_edge && !self.w_level;
            let f_rise = f_edge && !self.f_level;
            // Before the edges: what each side sees in the clock ending.
            if f_rise {
                let pins = Self::fpga_of(&self.m, &self.p);
                assert_eq!(self.m.get(self.p.siwu_n), 1, "SIWU# must stay high");
                self.chip.edge(pins);
            }
            if w_rise {
                let a = self.m.get(self.p.addr) as u32;
                if self.m.get(self.p.we) != 0 {
                    let v = self.m.get(self.p.wdata) as u32;
                    self.mem[a as usize] = v;
                    self.bus.push(BusOp::Write(a, v));
                }
                let re = self.m.get(self.p.re) != 0;
                for d in self.p.drops {
                    self.engine_drops += self.m.get(d);
                }
                // A read strobe in the clock ending here: its word goes on
                // `bus_rdata` in the next clock (junk in the others).
                self.rd = None;
                if re {
                    self.bus.push(BusOp::Read(a));
                    self.rd = Some(a);
                }
            }
            if w_edge {
                self.w_level = !self.w_level;
                self.m.set(self.p.clk, self.w_level as u64);
                self.next_w += self.half_w;
            }
            if f_edge {
                self.f_level = !self.f_level;
                self.m.set(self.p.fclk, self.f_level as u64);
                self.next_f += self.half_f;
            }
            self.m.eval();
            // After the edges: the bus and the chip answer.
            if w_rise {
                self.word_clocks += 1;
                let v = self.rd.map_or(0xDEAD_BEEF, |a| self.mem[a as usize]);
                self.m.set(self.p.rdata, v as u64);
            }
            if f_rise {
                let pins = Self::fpga_of(&self.m, &self.p);
                let c = self.chip.present(pins);
                self.m.set(self.p.rxf_n, c.rxf_n as u64);
                self.m.set(self.p.txe_n, c.txe_n as u64);
                self.m.set(self.p.d_in, c.d as u64);
            }
            if w_rise || f_rise {
                self.m.eval();
            }
        }

        fn run_fifo_clocks(&mut self, n: u64) {
            let end = self.chip.cycle + n;
            while self.chip.cycle < end {
                self.step();
            }
        }
    }

    fn frame(h: Header, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; MAX_FRAME_BYTES];
        let n = encode(Direction::Request, &h, payload, &mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    fn random_config(rng: &mut ChaCha8Rng) -> ChipConfig {
        if rng.gen_ratio(1, 4) {
            return ChipConfig::fast();
        }
        ChipConfig {
            rx_capacity: rng.gen_range(1..=64),
            tx_capacity: rng.gen_range(1..=64),
            rx_arrive: rng.gen_range(0.05..=1.0),
            rx_packet: rng.gen_range(1..=64),
            tx_drain: rng.gen_range(0.05..=1.0),
            tx_packet: rng.gen_range(1..=64),
            rx_stall: rng.gen_range(0.0..0.2),
            tx_stall: rng.gen_range(0.0..0.2),
            stall_max: rng.gen_range(1..=8),
        }
    }

    fn random_request(rng: &mut ChaCha8Rng, seq: u8) -> (Header, Vec<u8>) {
        let k = rng.gen_range(0..10);
        let (addr, len) = match rng.gen_range(0..20) {
            0..=12 => {
                let off = rng.gen_range(0..regs::SCRATCH_WORDS);
                (
                    regs::SCRATCH + off,
                    rng.gen_range(1..=regs::SCRATCH_WORDS - off),
                )
            }
            13..=18 => {
                let off = rng.gen_range(0..regs::SCRATCH_MEM_WORDS);
                let max = (regs::SCRATCH_MEM_WORDS - off).min(48);
                (regs::SCRATCH_MEM + off, rng.gen_range(1..=max))
            }
            // Anywhere: often refused (BAD_ADDRESS), still a reply.
            _ => (rng.gen_range(0..0x3000), rng.gen_range(1..=4)),
        };
        let h = Header {
            seq,
            code: match k {
                0..=3 => cmd::WRITE,
                4..=7 => cmd::READ,
                _ => cmd::PING,
            },
            addr: if k >= 8 { 0 } else { addr },
            len: if k >= 8 { 0 } else { len as u16 },
        };
        let n = if h.code == cmd::WRITE {
            4 * h.len as usize
        } else {
            0
        };
        (h, (0..n).map(|_| rng.gen()).collect())
    }

    /// Result of one request through the bench.
    struct Sent {
        /// Edges of the request bytes' reads and of the reply bytes' writes.
        reads: Vec<u64>,
        writes: Vec<u64>,
    }

    /// Sends one request through the chip model, waits for the reply the
    /// engine model predicts, checks it byte for byte, decodes it, and
    /// checks the bus operations.
    fn exchange(
        b: &mut Bench,
        model: &mut EngineModel,
        now: &mut u64,
        h: Header,
        payload: &[u8],
        item: usize,
    ) -> Sent {
        let f = frame(h, payload);
        let rx0 = b.chip.host_rx.len();
        let (r0, w0) = (b.chip.read_log.len(), b.chip.write_log.len());
        let mut expect = Vec::new();
        for &x in &f {
            *now += 1;
            model.push(x, *now, &mut expect);
        }
        assert!(!expect.is_empty(), "item {item}: the model gives no reply");
        b.chip.host_send(&f);
        let mut budget = 200_000u64;
        while b.chip.host_rx.len() < rx0 + expect.len() {
            b.run_fifo_clocks(1);
            budget -= 1;
            assert!(
                budget > 0,
                "item {item}: reply missing ({} of {} bytes, {} request bytes unread)",
                b.chip.host_rx.len() - rx0,
                expect.len(),
                b.chip.rx_pending()
            );
        }
        // A stray or doubled byte would show after the reply.
        b.run_fifo_clocks(64);
        let got = &b.chip.host_rx[rx0..];
        assert_eq!(got, &expect[..], "item {item}: reply bytes ({h:?})");
        assert_eq!(b.chip.rx_pending(), 0, "item {item}: request not all read");
        assert_eq!(b.chip.tx_pending(), 0);
        // The reply decodes as a reply to this request.
        let mut parser = Parser::new(Direction::Reply, u64::MAX);
        let mut frames = 0;
        for (i, &x) in got.iter().enumerate() {
            if let Some(ev) = parser.push(x, i as u64) {
                match ev {
                    Event::Frame(r) => {
                        assert_eq!(r.seq, h.seq, "item {item}: reply seq");
                        assert_eq!(i + 1, got.len(), "item {item}: reply ends early");
                        frames += 1;
                    }
                    Event::Dropped(d) => panic!("item {item}: reply dropped: {d:?}"),
                }
            }
        }
        assert_eq!(frames, 1, "item {item}: reply frames");
        assert_eq!(b.bus, model.bus, "item {item}: bus operations");
        assert!(
            b.chip.violations.is_empty(),
            "item {item}: protocol violations: {:?}",
            &b.chip.violations[..b.chip.violations.len().min(5)]
        );
        assert_eq!(b.engine_drops, 0, "item {item}: engine dropped a frame");
        assert_eq!(b.m.get(b.p.fifo_err), 0, "item {item}: FIFO over/underflow");
        Sent {
            reads: b.chip.read_log[r0..].to_vec(),
            writes: b.chip.write_log[w0..].to_vec(),
        }
    }

    /// Bytes per clock over the span of `edges`.
    fn rate(edges: &[u64]) -> f64 {
        edges.len() as f64 / (edges.last().unwrap() - edges.first().unwrap() + 1) as f64
    }

    /// The whole path at the given clock half periods (ps): throughput and
    /// PING turnaround with a fast chip, then `items` seeded random
    /// requests with random flow control.
    fn run(half_w: u64, half_f: u64, seed: u64, items: usize, min_rate: (f64, f64)) -> (u64, u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut mem: Vec<u32> = (0..0x6000).map(|_| rng.gen()).collect();
        mem[regs::ID as usize] = regs::ID_VALUE;
        mem[regs::VERSION as usize] = regs::VERSION_VALUE;
        let mut model = EngineModel::new(TIMEOUT, mem.clone(), |_, _, _| 0);
        let mut b = Bench::new(half_w, half_f, mem, seed ^ 0x5EED);
        b.run_fifo_clocks(20);
        let mut now = 0u64;
        let mut seq = 0u8;
        let mut next = |rng: &mut ChaCha8Rng| {
            seq = seq.wrapping_add(1);
            random_request(rng, seq)
        };
        // Fast chip: throughput each way, PING turnaround.
        let (mut h, _) = next(&mut rng);
        h.code = cmd::WRITE;
        h.addr = regs::SCRATCH_MEM;
        h.len = 256;
        let payload: Vec<u8> = (0..1024).map(|_| rng.gen()).collect();
        let s = exchange(&mut b, &mut model, &mut now, h, &payload, 0);
        let rx_rate = rate(&s.reads);
        let rx_bytes = s.reads.len();
        let (mut h, _) = next(&mut rng);
        h.code = cmd::READ;
        h.addr = regs::SCRATCH_MEM;
        h.len = 256;
        let s = exchange(&mut b, &mut model, &mut now, h, &[], 1);
        let tx_rate = rate(&s.writes);
        let tx_bytes = s.writes.len();
        let mut turnaround = Vec::new();
        for i in 0..8 {
            let (mut h, _) = next(&mut rng);
            h.code = cmd::PING;
            h.addr = 0;
            h.len = 0;
            let s = exchange(&mut b, &mut model, &mut now, h, &[], 2 + i);
            turnaround.push(s.writes[0] - s.reads.last().unwrap());
        }
        println!(
            "fast chip: {rx_bytes} bytes in at {rx_rate:.3}/clock, {tx_bytes} out at \
             {tx_rate:.3}/clock; PING turnaround {}..={} CLKOUT clocks",
            turnaround.iter().min().unwrap(),
            turnaround.iter().max().unwrap()
        );
        assert!(
            rx_rate > min_rate.0,
            "host to device {rx_rate:.3} bytes/clock"
        );
        assert!(
            tx_rate > min_rate.1,
            "device to host {tx_rate:.3} bytes/clock"
        );
        // Random requests, random flow control.
        for item in 10..10 + items {
            b.chip.set_config(random_config(&mut rng));
            let (h, payload) = next(&mut rng);
            exchange(&mut b, &mut model, &mut now, h, &payload, item);
        }
        assert_eq!(b.mem, model.mem, "memory");
        let c = &b.chip;
        println!(
            "{} CLKOUT clocks, {} word clocks, {} bytes in, {} out; RD# with RXF# high {}, \
             RD# held high {}, WR# refused {}, RXF# stalled {} clocks, TXE# high {} clocks",
            c.cycle,
            b.word_clocks,
            c.read_log.len(),
            c.write_log.len(),
            c.rd_idle,
            c.rd_held,
            c.wr_refused,
            c.rx_stalled,
            c.txe_high
        );
        // Flow control was exercised.
        assert!(c.wr_refused > 20, "WR# refused {} times", c.wr_refused);
        assert!(c.rx_stalled > 300 && c.txe_high > 1000);
        (c.rd_held, c.rd_idle)
    }

    /// 125 MHz word clock, 60 MHz `CLKOUT` (8 ns, 16.666 ns: the edges
    /// drift against each other).
    #[test]
    fn ft245_port_60_125_mhz() {
        run(4000, 8333, 0xF7_2451, 1500, (0.95, 0.95));
    }

    /// `CLKOUT` exactly half the word clock (edges coincide).
    #[test]
    fn ft245_port_half_word_clock() {
        run(4000, 8000, 0xF7_2452, 800, (0.95, 0.95));
    }

    /// A word clock (40 MHz) slower than `CLKOUT`: the receive FIFO fills
    /// faster than the engine drains it, so the port must hold `RD#` high
    /// near full (no byte lost: the replies still match).
    #[test]
    fn ft245_port_slow_word_clock() {
        // The engine replies at 4 bytes per 6 word clocks: 0.44 per CLKOUT.
        let (held, idle) = run(12_500, 8333, 0xF7_2453, 300, (0.6, 0.4));
        // Without a full buffer, RD# is high with RXF# low only in the clock
        // after OE# goes low and in the clock after RXF# returns low (about
        // as often as RD# is low with RXF# high).
        assert!(held > idle + 300, "RD# held high {held} times ({idle})");
    }

    /// The chip model flags the breaches it is meant to catch.
    #[test]
    fn chip_model_catches_breaches() {
        let idle = FpgaPins {
            rd_n: true,
            wr_n: true,
            oe_n: true,
            d_out: 0,
            d_oe: false,
        };
        let mut chip = Ft2232hModel::new(ChipConfig::fast(), 1);
        chip.host_send(&[1, 2, 3]);
        chip.edge(idle);
        // RD# and OE# low together, OE# not low before.
        chip.edge(FpgaPins {
            rd_n: false,
            oe_n: false,
            ..idle
        });
        assert_eq!(chip.violations.len(), 1, "{:?}", chip.violations);
        // Now OE# was low a clock before: a legal read (the breaching read
        // above moved a byte too).
        chip.edge(FpgaPins {
            rd_n: false,
            oe_n: false,
            ..idle
        });
        assert_eq!(chip.violations.len(), 1);
        assert_eq!(chip.read_log.len(), 2);
        // Contention.
        chip.present(FpgaPins {
            oe_n: false,
            d_oe: true,
            ..idle
        });
        assert_eq!(chip.violations.len(), 2);
        // WR# without driving the bus.
        chip.edge(FpgaPins {
            wr_n: false,
            ..idle
        });
        assert_eq!(chip.violations.len(), 3);
        // A legal write.
        chip.edge(FpgaPins {
            wr_n: false,
            d_oe: true,
            d_out: 0x5A,
            ..idle
        });
        assert_eq!(chip.violations.len(), 3);
        chip.edge(idle);
        // The undriven write took whatever was on `d_out`.
        assert_eq!(chip.host_rx, vec![0, 0x5A]);
    }

    #[test]
    fn ft245_port_is_synthesizable() {
        let mut uut = Ft245Port::new(125_000_000);
        uut.connect_all();
        let rep = crate::synth::synth_block(&uut, "hostif_ft245_port").unwrap();
        println!(
            "Ft245Port: {} LUTs, {} FFs, {} BRAMs",
            rep.luts(),
            rep.ffs(),
            rep.brams()
        );
        assert!(rep.luts() < 2500, "{} LUTs", rep.luts());
    }
}

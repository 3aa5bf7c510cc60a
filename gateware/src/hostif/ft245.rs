//! `Ft245Phy`: the physical front end of an FTDI FT2232H channel in "FT245
//! style synchronous FIFO" mode (USB 2.0 high speed): the FIFO pins in the
//! chip's 60 MHz `CLKOUT` domain, two asynchronous FIFOs, and a byte stream
//! each way (valid/ready) in the word clock domain. No protocol here: the
//! command engine (`super::cmd_engine::CmdEngine`) sits behind a link
//! multiplexer elsewhere. The chip's cycle model, used to check it
//! and by the simulated boards, is `fiberloop_harness::ft2232h::Ft2232hModel`.
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

use super::async_fifo::AsyncFifo;
use rust_hdl::prelude::*;

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

/// The FIFO pins of an FT2232H channel in synchronous FIFO mode, turned
/// into two byte streams in the word clock domain: bytes from the host come
/// out on `rx_*`, bytes given on `tx_*` go to the host. Protocol-free.
///
/// **FIFO side** (`fifo_clock` = the chip's `CLKOUT`, 60 MHz): a
/// sequencer ([`BusState`]) owns the shared data bus, one direction at a
/// time, with an idle turnaround clock (nobody drives) between them. Read:
/// `OE#` low for one clock, then `RD#` low while `RXF#` is low and the
/// receive crossing FIFO is not "almost full" (its write-side fill
/// estimate below [`ALMOST_FULL`](super::async_fifo::ALMOST_FULL) = 56).
/// The estimate counts every byte written up to this clock and never
/// under-counts the bytes stored (it sees the consumer's reads late), so
/// when `RD#` is decided at most 55 bytes are stored and at most 3 more are
/// on their way uncounted (the one strobed in this clock, the one in the
/// input register being written at this edge, and the one this decision
/// strobes): the FIFO and its input register hold at most 58 of the 64
/// bytes (the tests measure 58), and the FIFO is never overrun, however
/// long the word side holds `rx_ready_in` low. A byte is taken at each edge with
/// `RD#` and `RXF#` low, registered, then written into the crossing FIFO.
/// Write: the FPGA drives the bus; a byte from the transmit crossing FIFO
/// is held on the bus with `WR#` low until an edge where `TXE#` is low
/// accepts it (`TXE#` is checked at the edge, so a byte refused by a late
/// `TXE#` is sent again and never lost nor doubled); `WR#` is not driven
/// low in the clock after one where `TXE#` was high. All pins are
/// registered outputs; `RXF#`, `TXE#` and `ADBUS` are used at the edge
/// (`ADBUS` then goes through an input register).
///
/// Alternation: from the idle clock the sequencer writes if a byte can be
/// written (`TXE#` low and a byte pending) and either the last direction
/// was reading or nothing can be read; otherwise it reads if a byte can be
/// read (`RXF#` low and room). It stays in a direction while it has work
/// there, leaves it at once when that direction has none and the other
/// has, and after 128 clocks in one direction when both have work (so
/// both directions busy share the bus about half and half). It stays put
/// (bus parked in that direction) when neither has work.
///
/// **Word side** (`clock`, 125 MHz): `rx_valid_out` is "receive FIFO not
/// empty" and `rx_data_out` its head; a byte leaves in a clock with
/// `rx_valid_out` and `rx_ready_in` high. `tx_ready_out` is "transmit FIFO
/// not full"; a byte enters in a clock with `tx_valid_in` and
/// `tx_ready_out` high. `rx_valid_out`, `rx_data_out` and `tx_ready_out`
/// come from registers only (no combinational path from the inputs); a
/// byte once valid stays at the head until taken.
///
/// Latency, measured by the tests with the chip at full speed on 24 lone
/// bytes each way, in turn at 60/125 MHz, at 62.5/125 MHz with every
/// `CLKOUT` rising edge on a word clock rising edge, and with a 30 MHz
/// word clock:
///
/// * host to board: from the `CLKOUT` edge that takes a byte from the chip
///   to the first word clock with it on `rx_data_out` and `rx_valid_out`
///   high: 25-32 ns = 1.5-1.9 `CLKOUT` = 3.1-3.9 word clocks; 32 ns = 2
///   `CLKOUT` = 4 word clocks; 58-77 ns = 3.5-4.6 `CLKOUT` = 1.75-2.3 word
///   clocks (input register, FIFO write at the next `CLKOUT` edge, then
///   visible from the second word clock edge strictly after it, through
///   the FIFO's two synchroniser flip-flops);
/// * board to host: from the word clock edge that takes a byte on `tx_*`
///   to the start of the `CLKOUT` clock with it on `ADBUS` and `WR#` low,
///   bus parked writing: 34-41 ns = 2.0-2.5 `CLKOUT`; 48 ns = 3 `CLKOUT`
///   = 6 word clocks; 39-42 ns = 2.4-2.5 `CLKOUT` (FIFO write, visible
///   from the second `CLKOUT` edge strictly after it, then the pop into
///   the bus register). Bus parked reading: one turnaround clock more
///   (51-59 ns; 64 ns; 56-58 ns).
///
/// These are simulation figures: in hardware a synchroniser flip-flop
/// that resolves late adds up to one receiving clock (one word clock host
/// to board, one `CLKOUT` board to host).
///
/// Throughput: one byte per `CLKOUT` in each direction while the chip
/// allows it, the word side keeps up and the bus stays in that direction;
/// measured over 4096-byte transfers: 1.000 byte per `CLKOUT` host to
/// board and 1.000 board to host at 60/125 and 62.5/125 MHz; both directions busy
/// at once, 0.494 + 0.494 (127-clock bursts plus turnaround). With a word
/// clock of half the `CLKOUT` the word side limits each direction to 0.5
/// (measured 0.506 in, 0.500 out).
///
/// # Clock crossing
///
/// Both crossing FIFOs are [`AsyncFifo`]s: 64 bytes, pointers that cross
/// as registered Gray code through two flip-flops, flags computed from the
/// local pointer and the synchronised far one (conservative: `full` and
/// `almost_full` may be late to fall, `empty` late to fall, never wrong).
/// Only the Gray pointer registers cross into a first synchroniser flop,
/// plus the RAM read of bytes the pointers say are written. They replace
/// rust-hdl 0.46's `AsynchronousFIFO`, whose four-phase pointer handshake
/// (`VectorSynchronizer`) let the sender change the multi-bit binary
/// pointer just before or on the receiver's sampling edge when the
/// sending clock was more than about twice the receiving one (the
/// transmit FIFO's write pointer and the receive FIFO's read pointer,
/// word clock to `CLKOUT`): corrupt pointers in hardware.
///
/// Not verified here: metastability. Verilator takes a value sampled on
/// the edge where it changes as settled, so the tests (here and in
/// `async_fifo`) check the logic, the flag bounds and the byte streams at
/// several clock ratios, including coinciding edges, not the
/// synchronisers' behaviour in silicon or their mean time between
/// failures. The crossing paths also need a constraint in the top (Gray
/// bits' skew and the RAM's write-to-read path under one period of the
/// faster clock) that nothing in this crate checks.
///
/// Reset: none; at power-up every register is 0: the sequencer idle,
/// `RD#`, `WR#`, `OE#` high (held inverted), `SIWU#` high, the bus not
/// driven, both FIFOs empty (`rx_valid_out` low, `tx_ready_out` high).
#[derive(LogicBlock)]
pub struct Ft245Phy {
    /// Word clock (125 MHz): the `rx_*` and `tx_*` streams.
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
    /// Host to board (word clock): the oldest byte received, valid while
    /// `rx_valid_out` is high.
    pub rx_data_out: Signal<Out, Bits<8>>,
    /// Host to board: a byte is waiting (receive FIFO not empty).
    pub rx_valid_out: Signal<Out, Bit>,
    /// Host to board: the consumer takes `rx_data_out` in this clock (a
    /// byte moves in a clock with `rx_valid_out` and `rx_ready_in` high).
    pub rx_ready_in: Signal<In, Bit>,
    /// Board to host (word clock): the byte offered.
    pub tx_data_in: Signal<In, Bits<8>>,
    /// Board to host: `tx_data_in` is offered in this clock.
    pub tx_valid_in: Signal<In, Bit>,
    /// Board to host: a byte can be taken (transmit FIFO not full); a byte
    /// moves in a clock with `tx_valid_in` and `tx_ready_out` high.
    pub tx_ready_out: Signal<Out, Bit>,
    /// Sticky diagnostic (never expected): a crossing FIFO overflowed or
    /// underflowed. An OR of flags of both clock domains: read it slowly.
    pub fifo_error_out: Signal<Out, Bit>,
    rx_fifo: AsyncFifo<Bits<8>>,
    tx_fifo: AsyncFifo<Bits<8>>,
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

impl Ft245Phy {
    /// A front end at power-up.
    pub fn new() -> Self {
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
            rx_data_out: Default::default(),
            rx_valid_out: Default::default(),
            rx_ready_in: Default::default(),
            tx_data_in: Default::default(),
            tx_valid_in: Default::default(),
            tx_ready_out: Default::default(),
            fifo_error_out: Default::default(),
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

impl Default for Ft245Phy {
    fn default() -> Self {
        Self::new()
    }
}

// Parentheses around mixed expressions are required: rust-hdl 0.46 emits
// Verilog without them, where the precedence differs from Rust's.
#[allow(unused_parens)]
impl Logic for Ft245Phy {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, fifo_clock, state, oe_act, rd_act, wr_act, doe, dout, tx_pend, rx_valid, rx_byte,
            burst, last_read
        );
        // ---------------- word clock side ----------------
        self.rx_fifo.write_clock.next = self.fifo_clock.val();
        self.rx_fifo.read_clock.next = self.clock.val();
        self.tx_fifo.write_clock.next = self.clock.val();
        self.tx_fifo.read_clock.next = self.fifo_clock.val();
        // Receive FIFO -> consumer, a byte in a clock with valid and ready.
        self.rx_data_out.next = self.rx_fifo.data_out.val();
        self.rx_valid_out.next = !self.rx_fifo.empty.val();
        self.rx_fifo.read.next = self.rx_ready_in.val() & !self.rx_fifo.empty.val();
        // Producer -> transmit FIFO while it has room.
        self.tx_fifo.data_in.next = self.tx_data_in.val();
        self.tx_fifo.write.next = self.tx_valid_in.val() & !self.tx_fifo.full.val();
        self.tx_ready_out.next = !self.tx_fifo.full.val();
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

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::ft2232h::{ChipConfig, FpgaPins, Ft2232hModel};
    use fiberloop_harness::verilator::{Model, Port};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::VecDeque;

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
        rx_data: Port,
        rx_valid: Port,
        rx_ready: Port,
        tx_data: Port,
        tx_valid: Port,
        tx_ready: Port,
        fifo_err: Port,
    }

    /// How the word side behaves (per word clock).
    #[derive(Clone, Copy, Debug)]
    struct Traffic {
        /// Chance that `tx_valid_in` is high while the producer has a byte.
        tx_offer: f64,
        /// Chance that `rx_ready_in` is high (outside a blocked stretch).
        rx_take: f64,
        /// Chance that a stretch of `rx_ready_in` low starts.
        rx_block: f64,
        /// Longest such stretch, word clocks.
        rx_block_max: u32,
    }

    impl Traffic {
        /// The word side always ready, always offering.
        const FULL: Traffic = Traffic {
            tx_offer: 1.0,
            rx_take: 1.0,
            rx_block: 0.0,
            rx_block_max: 1,
        };
    }

    /// The block with two free-running clocks (simulated time in ps), the
    /// chip model on the FIFO pins, a random producer on `tx_*` and a
    /// random consumer on `rx_*`. The reference of the byte streams is the
    /// streams themselves: every byte the host sends must come out of
    /// `rx_*` once, in order; every byte `tx_*` takes must reach the host
    /// once, in order. Checked on every word clock (`rx_data_out` while
    /// valid is the next expected byte; a valid byte not taken stays) and
    /// at the end (nothing missing, nothing extra).
    struct Bench {
        m: Model,
        p: Pins,
        chip: Ft2232hModel,
        rng: ChaCha8Rng,
        traffic: Traffic,
        t: u64,
        half_w: u64,
        half_f: u64,
        next_w: u64,
        next_f: u64,
        w_level: bool,
        f_level: bool,
        word_clocks: u64,
        /// Time of each `CLKOUT` rising edge (index: the chip's edge number).
        f_edges: Vec<u64>,
        /// Every byte the host sent, in order.
        host_sent: Vec<u8>,
        /// Bytes taken from `rx_*`, in order.
        rx_got: Vec<u8>,
        /// Time of the word clock edge after which each received byte was
        /// first valid at the head.
        rx_valid_at: Vec<u64>,
        /// Bytes the producer still has to give.
        tx_queue: VecDeque<u8>,
        /// Bytes taken by `tx_*`, in order.
        tx_sent: Vec<u8>,
        /// Time of the word clock edge that took each byte.
        tx_taken_at: Vec<u64>,
        rx_ready: bool,
        tx_valid: bool,
        block_left: u32,
        /// A valid byte was not taken in the clock before: it must stay.
        rx_hold: bool,
        /// Word clocks with `tx_ready_out` low.
        tx_full: u64,
        /// Word clocks with `rx_valid_out` high and `rx_ready_in` low.
        rx_held: u64,
        /// Most bytes read from the chip and not yet taken from `rx_*`.
        backlog_max: usize,
    }

    impl Bench {
        /// Word clock half period `half_w`, first rising edge at `half_w`;
        /// `CLKOUT` half period `half_f`, first rising edge at `f_first`
        /// (all in ps).
        fn new(half_w: u64, half_f: u64, f_first: u64, seed: u64) -> Self {
            let mut uut = Ft245Phy::new();
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
                rx_data: m.p("rx_data_out"),
                rx_valid: m.p("rx_valid_out"),
                rx_ready: m.p("rx_ready_in"),
                tx_data: m.p("tx_data_in"),
                tx_valid: m.p("tx_valid_in"),
                tx_ready: m.p("tx_ready_out"),
                fifo_err: m.p("fifo_error_out"),
            };
            let mut chip = Ft2232hModel::new(ChipConfig::fast(), seed);
            m.set(p.rxf_n, 1);
            m.set(p.txe_n, 1);
            m.eval();
            // Power-up: the pins are inactive before any clock, both FIFOs
            // empty.
            let pins = Self::fpga_of(&m, &p);
            assert!(
                pins.rd_n && pins.wr_n && pins.oe_n && !pins.d_oe,
                "power-up pins"
            );
            assert_eq!(m.get(p.rx_valid), 0, "power-up rx_valid_out");
            assert_eq!(m.get(p.tx_ready), 1, "power-up tx_ready_out");
            let c = chip.present(pins);
            m.set(p.d_in, c.d as u64);
            m.eval();
            Self {
                m,
                p,
                chip,
                rng: ChaCha8Rng::seed_from_u64(seed ^ 0x0F0F),
                traffic: Traffic::FULL,
                t: 0,
                half_w,
                half_f,
                next_w: half_w,
                next_f: f_first,
                w_level: false,
                f_level: false,
                word_clocks: 0,
                f_edges: Vec::new(),
                host_sent: Vec::new(),
                rx_got: Vec::new(),
                rx_valid_at: Vec::new(),
                tx_queue: VecDeque::new(),
                tx_sent: Vec::new(),
                tx_taken_at: Vec::new(),
                rx_ready: false,
                tx_valid: false,
                block_left: 0,
                rx_hold: false,
                tx_full: 0,
                rx_held: 0,
                backlog_max: 0,
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

        /// The host sends `bytes`.
        fn host_send(&mut self, bytes: &[u8]) {
            self.chip.host_send(bytes);
            self.host_sent.extend(bytes);
        }

        /// The producer has `bytes` to give on `tx_*`.
        fn offer(&mut self, bytes: &[u8]) {
            self.tx_queue.extend(bytes);
        }

        /// The word side in the clock ending at this rising edge.
        fn word_edge(&mut self) {
            let valid = self.m.get(self.p.rx_valid) != 0;
            let ready = self.m.get(self.p.tx_ready) != 0;
            let n = self.rx_got.len();
            assert!(
                valid || !self.rx_hold,
                "word clock {}: rx_valid_out fell without a transfer",
                self.word_clocks
            );
            if valid {
                let d = self.m.get(self.p.rx_data) as u8;
                assert!(
                    n < self.host_sent.len(),
                    "word clock {}: stray byte {d:#04x} after {n}",
                    self.word_clocks
                );
                assert_eq!(
                    d, self.host_sent[n],
                    "word clock {}: received byte {n}",
                    self.word_clocks
                );
                if self.rx_ready {
                    self.rx_got.push(d);
                } else {
                    self.rx_held += 1;
                }
            }
            self.rx_hold = valid && !self.rx_ready;
            if !ready {
                self.tx_full += 1;
            }
            if self.tx_valid && ready {
                let b = self.tx_queue.pop_front().unwrap();
                self.tx_sent.push(b);
                self.tx_taken_at.push(self.t);
            }
        }

        /// The word side's inputs for the clock starting at this edge.
        fn word_drive(&mut self) {
            let tr = self.traffic;
            self.rx_ready = if self.block_left > 0 {
                self.block_left -= 1;
                false
            } else if self.rng.gen_bool(tr.rx_block) {
                self.block_left = self.rng.gen_range(1..=tr.rx_block_max);
                false
            } else {
                self.rng.gen_bool(tr.rx_take)
            };
            self.tx_valid = !self.tx_queue.is_empty() && self.rng.gen_bool(tr.tx_offer);
            // Junk on the data lines while not valid: it must not be taken.
            let d = if self.tx_valid {
                self.tx_queue[0]
            } else {
                self.rng.gen()
            };
            self.m.set(self.p.rx_ready, self.rx_ready as u64);
            self.m.set(self.p.tx_valid, self.tx_valid as u64);
            self.m.set(self.p.tx_data, d as u64);
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
                self.f_edges.push(self.t);
                self.chip.edge(pins);
                let backlog = self.chip.read_log.len() - self.rx_got.len();
                self.backlog_max = self.backlog_max.max(backlog);
            }
            if w_rise {
                self.word_edge();
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
            // After the edges: the word side and the chip answer.
            if w_rise {
                self.word_clocks += 1;
                if self.m.get(self.p.rx_valid) != 0 && self.rx_valid_at.len() == self.rx_got.len() {
                    self.rx_valid_at.push(self.t);
                }
                self.word_drive();
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

        /// Runs until `done`, at most `budget` `CLKOUT` clocks.
        fn run_until(&mut self, what: &str, budget: u64, done: impl Fn(&Self) -> bool) {
            let end = self.chip.cycle + budget;
            while !done(self) {
                assert!(
                    self.chip.cycle < end,
                    "{what}: not done in {budget} CLKOUT clocks (host sent {}, received {}, \
                     {} in the chip; producer gave {}, host got {}, {} waiting)",
                    self.host_sent.len(),
                    self.rx_got.len(),
                    self.chip.rx_pending(),
                    self.tx_sent.len(),
                    self.chip.host_rx.len(),
                    self.tx_queue.len()
                );
                self.step();
            }
        }

        /// Every byte delivered both ways so far is the right one, no
        /// breach, no FIFO error.
        fn check(&self, what: &str) {
            let n = self.chip.host_rx.len();
            assert!(n <= self.tx_sent.len(), "{what}: host got extra bytes");
            assert!(
                self.chip.host_rx[..] == self.tx_sent[..n],
                "{what}: bytes to the host differ from those given"
            );
            assert!(
                self.rx_got[..] == self.host_sent[..self.rx_got.len()],
                "{what}: bytes received differ from those sent"
            );
            assert!(
                self.chip.violations.is_empty(),
                "{what}: protocol breaches: {:?}",
                &self.chip.violations[..self.chip.violations.len().min(5)]
            );
            assert_eq!(
                self.m.get(self.p.fifo_err),
                0,
                "{what}: FIFO over/underflow"
            );
        }

        /// All bytes delivered both ways.
        fn drained(&self) -> bool {
            self.rx_got.len() == self.host_sent.len()
                && self.tx_queue.is_empty()
                && self.chip.host_rx.len() == self.tx_sent.len()
        }
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

    fn random_traffic(rng: &mut ChaCha8Rng) -> Traffic {
        let p = |rng: &mut ChaCha8Rng| match rng.gen_range(0..4) {
            0 => 1.0,
            1 => 0.0,
            _ => rng.gen_range(0.05..1.0),
        };
        let tx_offer = p(rng);
        let mut rx_take = p(rng);
        if rx_take == 0.0 {
            rx_take = 0.02;
        }
        let (rx_block, rx_block_max) = match rng.gen_range(0..3) {
            0 => (0.0, 1),
            1 => (rng.gen_range(0.0005..0.005), rng.gen_range(100..=3000)),
            _ => (rng.gen_range(0.01..0.1), rng.gen_range(1..=40)),
        };
        Traffic {
            tx_offer,
            rx_take,
            rx_block,
            rx_block_max,
        }
    }

    fn bytes(rng: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
        (0..n).map(|_| rng.gen()).collect()
    }

    /// Throughput of one direction (or both at once) with the chip at full
    /// speed and the word side always ready: bytes per `CLKOUT` over the
    /// span of the transfers at the pins.
    fn throughput(b: &mut Bench, rng: &mut ChaCha8Rng, rx: usize, tx: usize) -> (f64, f64) {
        b.chip.set_config(ChipConfig::fast());
        b.traffic = Traffic::FULL;
        let (r0, w0) = (b.chip.read_log.len(), b.chip.write_log.len());
        let h = bytes(rng, rx);
        b.host_send(&h);
        let o = bytes(rng, tx);
        b.offer(&o);
        b.run_until("throughput", 100_000, Bench::drained);
        b.check("throughput");
        let r = &b.chip.read_log[r0..];
        let w = &b.chip.write_log[w0..];
        assert_eq!((r.len(), w.len()), (rx, tx));
        // Over the span of both directions' transfers.
        let first = r.iter().chain(w).min().unwrap();
        let last = r.iter().chain(w).max().unwrap();
        let span = (last - first + 1) as f64;
        (rx as f64 / span, tx as f64 / span)
    }

    /// Latency of lone bytes (chip at full speed, word side ready), in ps:
    /// chip edge that moves a byte to `rx_valid_out` high; word clock edge
    /// that takes a byte on `tx_*` to the start of the `CLKOUT` clock with
    /// it on the bus and `WR#` low, with the bus parked reading (a
    /// turnaround) and parked writing.
    fn latency(b: &mut Bench, rng: &mut ChaCha8Rng) -> [(u64, u64); 3] {
        b.chip.set_config(ChipConfig::fast());
        b.traffic = Traffic::FULL;
        let mut lat = [(u64::MAX, 0u64); 3];
        let mut note = |k: usize, v: u64| {
            lat[k].0 = lat[k].0.min(v);
            lat[k].1 = lat[k].1.max(v);
        };
        for _ in 0..24 {
            let n = b.rx_got.len();
            b.host_send(&[rng.gen()]);
            b.run_until("latency rx", 200, |b| b.rx_got.len() > n);
            let edge = b.f_edges[*b.chip.read_log.last().unwrap() as usize];
            note(0, b.rx_valid_at[n] - edge);
            let pause = rng.gen_range(10..40);
            b.run_fifo_clocks(pause);
            for k in [1, 2] {
                let n = b.chip.host_rx.len();
                b.offer(&[rng.gen()]);
                b.run_until("latency tx", 200, |b| b.chip.host_rx.len() > n);
                let w = *b.chip.write_log.last().unwrap() as usize;
                note(k, b.f_edges[w - 1] - b.tx_taken_at.last().unwrap());
                let pause = rng.gen_range(10..40);
                b.run_fifo_clocks(pause);
            }
        }
        b.check("latency");
        lat
    }

    /// The whole front end at the given clock half periods (ps): latency,
    /// throughput each way with a fast chip, then `clocks` `CLKOUT` clocks
    /// of seeded random traffic both ways with random chip flow control
    /// and random word-side back-pressure, then a drain.
    fn run(
        half_w: u64,
        half_f: u64,
        f_first: u64,
        seed: u64,
        clocks: u64,
        min_rate: (f64, f64),
    ) -> Bench {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut b = Bench::new(half_w, half_f, f_first, seed ^ 0x5EED);
        b.run_fifo_clocks(20);
        let (pw, pf) = (2 * half_w, 2 * half_f);
        let lat = latency(&mut b, &mut rng);
        let fmt = |(lo, hi): (u64, u64)| {
            format!(
                "{:.1}..={:.1} ns = {:.2}..={:.2} CLKOUT = {:.2}..={:.2} word clocks",
                lo as f64 / 1000.0,
                hi as f64 / 1000.0,
                lo as f64 / pf as f64,
                hi as f64 / pf as f64,
                lo as f64 / pw as f64,
                hi as f64 / pw as f64
            )
        };
        println!("latency chip edge -> rx_valid_out: {}", fmt(lat[0]));
        println!(
            "latency tx taken -> WR# low with the byte, bus parked reading: {}",
            fmt(lat[1])
        );
        println!(
            "latency tx taken -> WR# low with the byte, bus parked writing: {}",
            fmt(lat[2])
        );
        let (rx_rate, _) = throughput(&mut b, &mut rng, 4096, 0);
        let (_, tx_rate) = throughput(&mut b, &mut rng, 0, 4096);
        let (rx_both, tx_both) = throughput(&mut b, &mut rng, 4096, 4096);
        println!(
            "fast chip, word side always ready: {rx_rate:.3} bytes/CLKOUT in, {tx_rate:.3} out; \
             both at once {rx_both:.3} in + {tx_both:.3} out"
        );
        assert!(
            rx_rate > min_rate.0,
            "host to board {rx_rate:.3} bytes/clock"
        );
        assert!(
            tx_rate > min_rate.1,
            "board to host {tx_rate:.3} bytes/clock"
        );
        assert!(
            rx_both + tx_both > 0.9 * min_rate.0.min(min_rate.1),
            "both ways {rx_both:.3} + {tx_both:.3} bytes/clock"
        );
        // Random traffic, random flow control, random back-pressure.
        let c0 = b.chip.cycle;
        let (held0, full0) = (b.chip.rd_held, b.tx_full);
        let mut segments = 0;
        while b.chip.cycle < c0 + clocks {
            b.chip.set_config(random_config(&mut rng));
            b.traffic = random_traffic(&mut rng);
            // Keep some backlog both ways (bounded).
            if b.chip.rx_pending() < 4000 {
                let n = rng.gen_range(0..3000);
                let h = bytes(&mut rng, n);
                b.host_send(&h);
            }
            if b.tx_queue.len() < 4000 {
                let n = rng.gen_range(0..3000);
                let o = bytes(&mut rng, n);
                b.offer(&o);
            }
            let n = rng.gen_range(200..4000);
            b.run_fifo_clocks(n);
            b.check(&format!("segment {segments} ({:?})", b.traffic));
            segments += 1;
        }
        b.chip.set_config(ChipConfig::fast());
        b.traffic = Traffic::FULL;
        b.run_until("drain", 200_000, Bench::drained);
        // A stray or doubled byte would show now.
        b.run_fifo_clocks(200);
        b.check("drain");
        assert!(b.drained(), "extra bytes after the drain");
        assert_eq!(b.rx_got, b.host_sent);
        assert_eq!(b.chip.host_rx, b.tx_sent);
        let c = &b.chip;
        println!(
            "{} CLKOUT clocks, {} word clocks, {segments} random segments; {} bytes in, {} out; \
             RD# with RXF# high {}, RD# held high {} (random part {}), WR# refused {}, \
             RXF# stalled {} clocks, TXE# high {} clocks; word side: rx held {} clocks, \
             tx_ready_out low {} clocks (random part {}); most bytes read and not taken {}",
            c.cycle,
            b.word_clocks,
            c.read_log.len(),
            c.write_log.len(),
            c.rd_idle,
            c.rd_held,
            c.rd_held - held0,
            c.wr_refused,
            c.rx_stalled,
            c.txe_high,
            b.rx_held,
            b.tx_full,
            b.tx_full - full0,
            b.backlog_max
        );
        // Flow control was exercised both ways, on both sides.
        assert!(c.wr_refused > 20, "WR# refused {} times", c.wr_refused);
        assert!(c.rx_stalled > 300 && c.txe_high > 1000);
        // The receive FIFO filled up and the sequencer stopped reading.
        assert!(
            c.rd_held - held0 > 2000,
            "RD# held high {} times",
            c.rd_held - held0
        );
        // The transmit FIFO filled up (rarely with a slow word clock).
        assert!(
            b.tx_full - full0 > 300,
            "tx_ready_out low {}",
            b.tx_full - full0
        );
        // Bytes taken from the chip and not yet consumed (in the FIFO or
        // its input register): at most 58 by the margin argument (see the
        // `Ft245Phy` documentation).
        assert!(b.backlog_max <= 58, "backlog {}", b.backlog_max);
        b
    }

    /// 125 MHz word clock, 60 MHz `CLKOUT` (8 ns, 16.666 ns: the edges
    /// drift against each other).
    #[test]
    fn ft245_phy_60_125_mhz() {
        run(4000, 8333, 8333, 0xF7_2451, 60_000, (0.95, 0.95));
    }

    /// `CLKOUT` exactly half the word clock, 62.5 / 125 MHz: every rising
    /// edge of `CLKOUT` coincides with one of the word clock (both first
    /// rise at 4 ns; the board simulator's ratio).
    #[test]
    fn ft245_phy_62_5_125_mhz() {
        let b = run(4000, 8000, 4000, 0xF7_2452, 60_000, (0.95, 0.95));
        assert!(b.f_edges.iter().all(|&t| t % 8000 == 4000));
    }

    /// A word clock at half the `CLKOUT` (30 MHz, slightly off so the edges
    /// drift): even with `rx_ready_in` always high the receive FIFO fills
    /// faster than it drains, so the sequencer must hold `RD#` high near
    /// full; the producer gives at most one byte per word clock.
    #[test]
    fn ft245_phy_slow_word_clock() {
        let b = run(16_667, 8333, 8333, 0xF7_2453, 40_000, (0.45, 0.45));
        assert!(b.chip.rd_held > b.chip.rd_idle + 300);
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
    fn ft245_phy_synthesizes() {
        let mut uut = Ft245Phy::new();
        uut.connect_all();
        let rep = fiberloop_harness::synth::synth_block(&uut, "hostif_ft245_phy").unwrap();
        println!(
            "Ft245Phy: {} LUTs, {} FFs, {} BRAMs",
            rep.luts(),
            rep.ffs(),
            rep.brams()
        );
        assert!(rep.luts() < 600, "{} LUTs", rep.luts());
    }
}

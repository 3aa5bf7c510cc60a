//! The elastic buffer: carries the received line words from the recovered
//! receive clock into the transmit clock, adding or dropping idle words to
//! make up for the difference between the two clocks.
//!
//! The SERDES receiver delivers words on its recovered clock (`rx_pclk` of the
//! DCUA), the rest of the loop runs on the transmit clock (`tx_pclk`). On one
//! board both come from the same reference and have the same frequency with an
//! arbitrary phase; around a ring of boards with their own oscillators they
//! differ by up to ±200 ppm each. Frames may not be touched, so the buffer
//! only adds or drops *fillers*: idle words (`K28.5` `D16.2`, no errors) and
//! words received while the aligner is not locked (`rx_valid` low).
//!
//! # How it works
//!
//! A 32-entry dual-clock RAM written every receive clock and read every
//! transmit clock. The write and read pointers (6 bits: 5 of address, one of
//! lap) cross to the other domain as Gray code through two flip-flops, so each
//! side has a conservative estimate of the fill level: the read side sees too
//! few words (never reads a word not yet written), the write side too many
//! (never overwrites a word not yet read).
//!
//! * Delete, on the write side: when the write-side fill is above
//!   [`HIGH_WATERMARK`], an incoming filler is not written if the word before
//!   it was a filler that was written. So a gap between frames is shortened but
//!   never closed: at least one idle stays between two frames.
//! * Insert, on the read side: when the read-side fill is below
//!   [`LOW_WATERMARK`] and the word at the head is a filler, it is sent without
//!   being popped, so it goes out twice. An inserted word is a copy of a filler
//!   next to it, so gaps only grow.
//! * Start-up: the read side sends no-data words (idle, `valid_out` low) until
//!   the fill reaches [`START_LEVEL`] (the middle), then reads every clock.
//! * Underflow (read side finds the buffer empty): a no-data word goes out,
//!   `underflow_out` strobes and the read side refills to the middle before it
//!   reads again. Overflow (write side finds the buffer full): the word is
//!   lost, and `overflow_out` strobes with the first word written after the
//!   loss. Both cut data and never happen with fillers at least once per 129
//!   words, ±200 ppm per clock and this depth: the level drifts by one word
//!   every 2,500 words at most, and there are 6 words above the high watermark
//!   and 12 below the low one.
//!
//! The input must put at least one filler between two frames; that is also
//! what makes deletion possible (a gap of one idle is never deleted, so a
//! faster receive clock needs some gaps of two or more idles: one in 2,500
//! words at 400 ppm).
//!
//! # Why not rust-hdl's `AsynchronousFIFO`
//!
//! rust-hdl 0.46's `AsynchronousFIFO` moves each pointer to the other domain
//! with a four-phase handshake (`VectorSynchronizer`), not Gray code: the far
//! pointer is refreshed only every few clocks, in jumps of several words. Its
//! fill estimates then jump too, which would trigger spurious insertions and
//! deletions and make the latency vary even with one clock. So the buffer is
//! built here from rust-hdl's dual-clock `RAM` and `DFF`s.
//!
//! # Timing and clock-domain crossing
//!
//! Only registered Gray pointers cross between the domains (into the first
//! synchroniser flip-flop), plus the RAM read of entries the pointers say are
//! stable. Those paths need no timing: in a top, treat the two clocks as
//! unrelated (nextpnr lists them as cross-domain paths, under 1 ns here, apart
//! from each clock's own critical path). Place and route of the block alone
//! on an LFE5UM5G-45F (speed 8): transmit domain 164 MHz, receive domain
//! 206 MHz: enough for 125 MHz (2.5 Gb/s), not for 250 MHz (5 Gb/s), where
//! the read decision (fill compare, pop, RAM address) would need a pipeline
//! stage.

use fiberloop_spec::line::{D16_2, K28_5};
use rust_hdl::prelude::*;

/// Entries of the buffer.
pub const DEPTH: u32 = 32;
/// Read-side fill level at which reading starts, after start-up and after an
/// underflow.
pub const START_LEVEL: u32 = 16;
/// The read side inserts a filler when its fill estimate is below this.
pub const LOW_WATERMARK: u32 = 12;
/// The write side deletes a filler when its fill estimate is above this.
pub const HIGH_WATERMARK: u32 = 26;

/// The 16-bit idle word: K28.5 in lane 0 (bits 7:0), D16.2 in lane 1.
pub const IDLE_DATA: u16 = ((D16_2 as u16) << 8) | K28_5 as u16;
/// The control flags of an idle word: lane 0 is a control symbol.
pub const IDLE_K: u8 = 0b01;

/// Bits of a stored entry: data 15:0, k 17:16, err 19:18, valid 20, filler
/// 21, "a word was deleted before this one" 22, "words were lost to overflow
/// before this one" 23.
const ENTRY_BITS: usize = 24;

/// Elastic buffer from the receive clock domain to the transmit clock domain.
///
/// Latency: with both clocks from one source (same frequency, any fixed
/// phase) a constant number of transmit clocks, fixed at start-up; with one
/// signal driving both clocks it is exactly 22 clocks from `rx_data` to
/// `data_out` (the read side settles 17 words behind the write pointer it
/// sees; the rest is the input register, the pointer synchronisers, the RAM
/// read register and the output register). With drifting clocks it wanders
/// with the fill level between about 16 and 26 clocks (130 to 210 ns at
/// 125 MHz; read-side fill 11 to 20 words) as the level moves between
/// the watermarks. Throughput: one word per clock on each side; the output
/// carries one word every transmit clock, never stalls.
///
/// Reset: none. Every register starts at zero at power-up (FPGA
/// initialisation); the buffer then fills to the middle and starts. It needs
/// no reset afterwards: it refills after an underflow and drains after an
/// overflow by itself, and words received while `rx_valid` is low are fillers
/// that are added or dropped as needed. Status outputs are one-clock strobes
/// in the transmit domain: count them.
#[derive(LogicBlock)]
pub struct ElasticBuffer {
    /// Receive (recovered) clock: `rx_*` are sampled on its rising edge.
    pub rx_clock: Signal<In, Clock>,
    /// Received word, after comma alignment and 8b/10b decoding; lane 0 in bits 7:0.
    pub rx_data: Signal<In, Bits<16>>,
    /// Control-symbol flag per lane (bit 0 = lane 0).
    pub rx_k: Signal<In, Bits<2>>,
    /// Code or disparity error per lane (bit 0 = lane 0).
    pub rx_err: Signal<In, Bits<2>>,
    /// The aligner is locked; words with this low are fillers.
    pub rx_valid: Signal<In, Bit>,
    /// Transmit (fabric) clock: every output is a register on it.
    pub tx_clock: Signal<In, Clock>,
    /// Output word, one per transmit clock.
    pub data_out: Signal<Out, Bits<16>>,
    /// Control flags of `data_out`.
    pub k_out: Signal<Out, Bits<2>>,
    /// Error flags of `data_out`.
    pub err_out: Signal<Out, Bits<2>>,
    /// The word was received with the aligner locked; low for the no-data
    /// idles sent at start-up and after an underflow.
    pub valid_out: Signal<Out, Bit>,
    /// Strobe: this word is an inserted copy of the filler before it.
    pub inserted_out: Signal<Out, Bit>,
    /// Strobe: a filler was deleted just before this word.
    pub deleted_out: Signal<Out, Bit>,
    /// Strobe: words were lost to overflow just before this word.
    pub overflow_out: Signal<Out, Bit>,
    /// Strobe: the buffer ran empty; this is a no-data word and the buffer
    /// refills to the middle.
    pub underflow_out: Signal<Out, Bit>,
    /// Read-side fill estimate (words), for monitoring.
    pub fill_out: Signal<Out, Bits<6>>,

    // ---- receive (write) domain ----
    in_data: DFF<Bits<16>>,
    in_k: DFF<Bits<2>>,
    in_err: DFF<Bits<2>>,
    in_valid: DFF<Bit>,
    in_filler: Signal<Local, Bit>,
    prev_kept_filler: DFF<Bit>,
    del_pending: DFF<Bit>,
    ovf_pending: DFF<Bit>,
    wptr: DFF<Bits<6>>,
    wgray: DFF<Bits<6>>,
    rsync1: DFF<Bits<6>>,
    rsync2: DFF<Bits<6>>,
    rbin: DFF<Bits<6>>,
    wfill: Signal<Local, Bits<6>>,
    wfull: Signal<Local, Bit>,
    delete: Signal<Local, Bit>,
    write: Signal<Local, Bit>,

    // ---- the RAM: written on rx_clock, read on tx_clock ----
    ram: RAM<Bits<ENTRY_BITS>, 5>,

    // ---- transmit (read) domain ----
    wsync1: DFF<Bits<6>>,
    wsync2: DFF<Bits<6>>,
    wbin: DFF<Bits<6>>,
    rptr: DFF<Bits<6>>,
    rgray: DFF<Bits<6>>,
    rptr_next: Signal<Local, Bits<6>>,
    running: DFF<Bit>,
    rfill: Signal<Local, Bits<6>>,
    head_filler: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,
    out_data: DFF<Bits<16>>,
    out_k: DFF<Bits<2>>,
    out_err: DFF<Bits<2>>,
    out_valid: DFF<Bit>,
    out_inserted: DFF<Bit>,
    out_deleted: DFF<Bit>,
    out_overflow: DFF<Bit>,
    out_underflow: DFF<Bit>,
    out_fill: DFF<Bits<6>>,

    // ---- constants ----
    idle_data: Constant<Bits<16>>,
    idle_k: Constant<Bits<2>>,
    no_err: Constant<Bits<2>>,
    one: Constant<Bits<6>>,
    zero: Constant<Bits<6>>,
    start_level: Constant<Bits<6>>,
    low_watermark: Constant<Bits<6>>,
    high_watermark: Constant<Bits<6>>,
}

impl Default for ElasticBuffer {
    fn default() -> Self {
        Self {
            rx_clock: Default::default(),
            rx_data: Default::default(),
            rx_k: Default::default(),
            rx_err: Default::default(),
            rx_valid: Default::default(),
            tx_clock: Default::default(),
            data_out: Default::default(),
            k_out: Default::default(),
            err_out: Default::default(),
            valid_out: Default::default(),
            inserted_out: Default::default(),
            deleted_out: Default::default(),
            overflow_out: Default::default(),
            underflow_out: Default::default(),
            fill_out: Default::default(),
            in_data: Default::default(),
            in_k: Default::default(),
            in_err: Default::default(),
            in_valid: Default::default(),
            in_filler: Default::default(),
            prev_kept_filler: Default::default(),
            del_pending: Default::default(),
            ovf_pending: Default::default(),
            wptr: Default::default(),
            wgray: Default::default(),
            rsync1: Default::default(),
            rsync2: Default::default(),
            rbin: Default::default(),
            wfill: Default::default(),
            wfull: Default::default(),
            delete: Default::default(),
            write: Default::default(),
            ram: Default::default(),
            wsync1: Default::default(),
            wsync2: Default::default(),
            wbin: Default::default(),
            rptr: Default::default(),
            rgray: Default::default(),
            rptr_next: Default::default(),
            running: Default::default(),
            rfill: Default::default(),
            head_filler: Default::default(),
            pop: Default::default(),
            out_data: Default::default(),
            out_k: Default::default(),
            out_err: Default::default(),
            out_valid: Default::default(),
            out_inserted: Default::default(),
            out_deleted: Default::default(),
            out_overflow: Default::default(),
            out_underflow: Default::default(),
            out_fill: Default::default(),
            idle_data: Constant::new(Bits::<16>::from(IDLE_DATA as u64)),
            idle_k: Constant::new(Bits::<2>::from(IDLE_K as u64)),
            no_err: Constant::new(Bits::<2>::from(0u64)),
            one: Constant::new(Bits::<6>::from(1u64)),
            zero: Constant::new(Bits::<6>::from(0u64)),
            start_level: Constant::new(Bits::<6>::from(START_LEVEL as u64)),
            low_watermark: Constant::new(Bits::<6>::from(LOW_WATERMARK as u64)),
            high_watermark: Constant::new(Bits::<6>::from(HIGH_WATERMARK as u64)),
        }
    }
}

impl Logic for ElasticBuffer {
    #[hdl_gen]
    fn update(&mut self) {
        // ================= receive (write) domain =================
        dff_setup!(
            self,
            rx_clock,
            in_data,
            in_k,
            in_err,
            in_valid,
            prev_kept_filler,
            del_pending,
            ovf_pending,
            wptr,
            wgray,
            rsync1,
            rsync2,
            rbin
        );
        self.in_data.d.next = self.rx_data.val();
        self.in_k.d.next = self.rx_k.val();
        self.in_err.d.next = self.rx_err.val();
        self.in_valid.d.next = self.rx_valid.val();
        self.in_filler.next = (!self.in_valid.q.val())
            | ((self.in_data.q.val() == self.idle_data.val())
                & (self.in_k.q.val() == self.idle_k.val())
                & (self.in_err.q.val() == self.no_err.val()));
        // Read pointer into this domain: Gray code through two flip-flops,
        // then back to binary in a third register (keeps the XOR chain out of
        // the fill-level path).
        self.rsync1.d.next = self.rgray.q.val();
        self.rsync2.d.next = self.rsync1.q.val();
        self.rbin.d.next = self.rsync2.q.val()
            ^ (self.rsync2.q.val() >> 1)
            ^ (self.rsync2.q.val() >> 2)
            ^ (self.rsync2.q.val() >> 3)
            ^ (self.rsync2.q.val() >> 4)
            ^ (self.rsync2.q.val() >> 5);
        self.wfill.next = self.wptr.q.val() - self.rbin.q.val();
        self.wfull.next = self.wfill.val().get_bit(5);
        self.delete.next = self.in_filler.val()
            & self.prev_kept_filler.q.val()
            & (self.wfill.val() > self.high_watermark.val());
        self.write.next = (!self.delete.val()) & (!self.wfull.val());
        self.ram.write_clock.next = self.rx_clock.val();
        self.ram.write_address.next = self.wptr.q.val().get_bits::<5>(0);
        self.ram.write_enable.next = self.write.val();
        self.ram.write_data.next = bit_cast::<ENTRY_BITS, 16>(self.in_data.q.val())
            | (bit_cast::<ENTRY_BITS, 2>(self.in_k.q.val()) << 16)
            | (bit_cast::<ENTRY_BITS, 2>(self.in_err.q.val()) << 18)
            | (bit_cast::<ENTRY_BITS, 1>(self.in_valid.q.val().into()) << 20)
            | (bit_cast::<ENTRY_BITS, 1>(self.in_filler.val().into()) << 21)
            | (bit_cast::<ENTRY_BITS, 1>(self.del_pending.q.val().into()) << 22)
            | (bit_cast::<ENTRY_BITS, 1>(self.ovf_pending.q.val().into()) << 23);
        self.prev_kept_filler.d.next = self.in_filler.val() & self.write.val();
        if self.write.val() {
            self.wptr.d.next = self.wptr.q.val() + self.one.val();
            self.del_pending.d.next = false;
            self.ovf_pending.d.next = false;
        }
        if self.delete.val() {
            self.del_pending.d.next = true;
        }
        if (!self.delete.val()) & self.wfull.val() {
            self.ovf_pending.d.next = true;
        }
        // The Gray pointer is a register (no glitches cross), one clock
        // behind the binary one, so a word is in the RAM before its pointer
        // is visible.
        self.wgray.d.next = self.wptr.q.val() ^ (self.wptr.q.val() >> 1);

        // ================= transmit (read) domain =================
        dff_setup!(
            self,
            tx_clock,
            wsync1,
            wsync2,
            wbin,
            rptr,
            rgray,
            running,
            out_data,
            out_k,
            out_err,
            out_valid,
            out_inserted,
            out_deleted,
            out_overflow,
            out_underflow,
            out_fill
        );
        self.wsync1.d.next = self.wgray.q.val();
        self.wsync2.d.next = self.wsync1.q.val();
        self.wbin.d.next = self.wsync2.q.val()
            ^ (self.wsync2.q.val() >> 1)
            ^ (self.wsync2.q.val() >> 2)
            ^ (self.wsync2.q.val() >> 3)
            ^ (self.wsync2.q.val() >> 4)
            ^ (self.wsync2.q.val() >> 5);
        self.rfill.next = self.wbin.q.val() - self.rptr.q.val();
        self.rgray.d.next = self.rptr.q.val() ^ (self.rptr.q.val() >> 1);
        self.ram.read_clock.next = self.tx_clock.val();
        // The RAM's read register always holds the entry at rptr: its
        // address is the pointer after this clock's pop.
        self.head_filler.next = self.ram.read_data.val().get_bit(21);
        self.pop.next = false;
        // Default: a no-data idle word.
        self.out_data.d.next = self.idle_data.val();
        self.out_k.d.next = self.idle_k.val();
        self.out_err.d.next = self.no_err.val();
        self.out_valid.d.next = false;
        self.out_inserted.d.next = false;
        self.out_deleted.d.next = false;
        self.out_overflow.d.next = false;
        self.out_underflow.d.next = false;
        self.out_fill.d.next = self.rfill.val();
        if !self.running.q.val() {
            if self.rfill.val() >= self.start_level.val() {
                self.running.d.next = true;
            }
        } else if self.rfill.val() == self.zero.val() {
            self.out_underflow.d.next = true;
            self.running.d.next = false;
        } else {
            self.out_data.d.next = self.ram.read_data.val().get_bits::<16>(0);
            self.out_k.d.next = self.ram.read_data.val().get_bits::<2>(16);
            self.out_err.d.next = self.ram.read_data.val().get_bits::<2>(18);
            self.out_valid.d.next = self.ram.read_data.val().get_bit(20);
            if self.head_filler.val() & (self.rfill.val() < self.low_watermark.val()) {
                self.out_inserted.d.next = true;
            } else {
                self.pop.next = true;
                self.out_deleted.d.next = self.ram.read_data.val().get_bit(22);
                self.out_overflow.d.next = self.ram.read_data.val().get_bit(23);
            }
        }
        self.rptr_next.next = self.rptr.q.val() + self.one.val();
        if self.pop.val() {
            self.rptr.d.next = self.rptr_next.val();
            self.ram.read_address.next = self.rptr_next.val().get_bits::<5>(0);
        } else {
            self.ram.read_address.next = self.rptr.q.val().get_bits::<5>(0);
        }
        self.data_out.next = self.out_data.q.val();
        self.k_out.next = self.out_k.q.val();
        self.err_out.next = self.out_err.q.val();
        self.valid_out.next = self.out_valid.q.val();
        self.inserted_out.next = self.out_inserted.q.val();
        self.deleted_out.next = self.out_deleted.q.val();
        self.overflow_out.next = self.out_overflow.q.val();
        self.underflow_out.next = self.out_underflow.q.val();
        self.fill_out.next = self.out_fill.q.val();
    }
}

// ===================================================================
// Reference model
// ===================================================================

/// One decoded line word as the buffer carries it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LineWord {
    /// Two bytes, lane 0 in bits 7:0.
    pub data: u16,
    /// Control flag per lane (bit 0 = lane 0).
    pub k: u8,
    /// Error flag per lane.
    pub err: u8,
    /// Received with the aligner locked.
    pub valid: bool,
}

impl LineWord {
    /// The idle word, received in lock.
    pub const IDLE: LineWord = LineWord {
        data: IDLE_DATA,
        k: IDLE_K,
        err: 0,
        valid: true,
    };
    /// What the buffer sends when it has nothing: an idle with `valid` low.
    pub const NO_DATA: LineWord = LineWord {
        data: IDLE_DATA,
        k: IDLE_K,
        err: 0,
        valid: false,
    };

    /// A word the buffer may add or drop: an error-free idle, or any word
    /// received out of lock.
    pub fn is_filler(&self) -> bool {
        !self.valid || (self.data == IDLE_DATA && self.k == IDLE_K && self.err == 0)
    }

    fn pack(&self, del: bool, ovf: bool) -> u32 {
        self.data as u32
            | ((self.k as u32 & 3) << 16)
            | ((self.err as u32 & 3) << 18)
            | ((self.valid as u32) << 20)
            | ((self.is_filler() as u32) << 21)
            | ((del as u32) << 22)
            | ((ovf as u32) << 23)
    }

    fn unpack(e: u32) -> LineWord {
        LineWord {
            data: e as u16,
            k: ((e >> 16) & 3) as u8,
            err: ((e >> 18) & 3) as u8,
            valid: (e >> 20) & 1 == 1,
        }
    }
}

/// What the buffer puts out on one transmit clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufferOut {
    /// The word (`data_out`, `k_out`, `err_out`, `valid_out`).
    pub word: LineWord,
    /// `inserted_out`.
    pub inserted: bool,
    /// `deleted_out`.
    pub deleted: bool,
    /// `overflow_out`.
    pub overflow: bool,
    /// `underflow_out`.
    pub underflow: bool,
    /// `fill_out`.
    pub fill: u8,
}

fn gray(x: u8) -> u8 {
    (x ^ (x >> 1)) & 63
}

fn from_gray(g: u8) -> u8 {
    let mut b = g;
    let mut s = g >> 1;
    while s != 0 {
        b ^= s;
        s >>= 1;
    }
    b & 63
}

/// Registers of the receive (write) domain.
#[derive(Clone, Copy, Debug, Default)]
struct WriteSide {
    input: LineWord,
    prev_kept_filler: bool,
    del_pending: bool,
    ovf_pending: bool,
    wptr: u8,
    wgray: u8,
    rsync1: u8,
    rsync2: u8,
    rbin: u8,
}

/// Registers of the transmit (read) domain.
#[derive(Clone, Copy, Debug, Default)]
struct ReadSide {
    wsync1: u8,
    wsync2: u8,
    wbin: u8,
    rptr: u8,
    rgray: u8,
    running: bool,
    /// The RAM's read register.
    ram_q: u32,
    out: BufferOut,
}

/// Register-level model of [`ElasticBuffer`] with its two clock domains.
///
/// Each domain's registers change only on its own clock edge, computed from
/// the values all registers held just before the edge; [`Self::both_edges`]
/// is a rising edge of both clocks at the same instant. With no metastability
/// (a simulation) this predicts the hardware edge for edge. Drive it with
/// [`run_two_clocks`]; judge its output with [`check_stream`].
#[derive(Clone, Debug)]
pub struct ElasticBufferModel {
    w: WriteSide,
    r: ReadSide,
    mem: [u32; DEPTH as usize],
}

impl Default for ElasticBufferModel {
    fn default() -> Self {
        Self {
            w: WriteSide::default(),
            r: ReadSide::default(),
            mem: [0; DEPTH as usize],
        }
    }
}

impl ElasticBufferModel {
    /// A model at power-up.
    pub fn new() -> Self {
        Self::default()
    }

    fn next_write(w: &WriteSide, rgray: u8, input: LineWord) -> (WriteSide, Option<(usize, u32)>) {
        let filler = w.input.is_filler();
        let wfill = w.wptr.wrapping_sub(w.rbin) & 63;
        let full = wfill & 32 != 0;
        let delete = filler && w.prev_kept_filler && u32::from(wfill) > HIGH_WATERMARK;
        let write = !delete && !full;
        let mut n = *w;
        n.input = input;
        n.rsync1 = rgray;
        n.rsync2 = w.rsync1;
        n.rbin = from_gray(w.rsync2);
        n.wgray = gray(w.wptr);
        n.prev_kept_filler = filler && write;
        let mut store = None;
        if write {
            store = Some((
                (w.wptr & 31) as usize,
                w.input.pack(w.del_pending, w.ovf_pending),
            ));
            n.wptr = (w.wptr + 1) & 63;
            n.del_pending = false;
            n.ovf_pending = false;
        }
        if delete {
            n.del_pending = true;
        }
        if !delete && full {
            n.ovf_pending = true;
        }
        (n, store)
    }

    fn next_read(r: &ReadSide, wgray: u8, mem: &[u32; DEPTH as usize]) -> ReadSide {
        let rfill = r.wbin.wrapping_sub(r.rptr) & 63;
        let mut n = *r;
        n.wsync1 = wgray;
        n.wsync2 = r.wsync1;
        n.wbin = from_gray(r.wsync2);
        n.rgray = gray(r.rptr);
        let mut out = BufferOut {
            word: LineWord::NO_DATA,
            fill: rfill,
            ..Default::default()
        };
        let mut pop = false;
        if !r.running {
            if u32::from(rfill) >= START_LEVEL {
                n.running = true;
            }
        } else if rfill == 0 {
            out.underflow = true;
            n.running = false;
        } else {
            out.word = LineWord::unpack(r.ram_q);
            let head_filler = (r.ram_q >> 21) & 1 == 1;
            if head_filler && u32::from(rfill) < LOW_WATERMARK {
                out.inserted = true;
            } else {
                pop = true;
                out.deleted = (r.ram_q >> 22) & 1 == 1;
                out.overflow = (r.ram_q >> 23) & 1 == 1;
            }
        }
        if pop {
            n.rptr = (r.rptr + 1) & 63;
        }
        n.ram_q = mem[(n.rptr & 31) as usize];
        n.out = out;
        n
    }

    /// A rising edge of the receive clock with `input` on the `rx_*` ports.
    pub fn rx_edge(&mut self, input: LineWord) {
        let (w, store) = Self::next_write(&self.w, self.r.rgray, input);
        self.w = w;
        if let Some((a, e)) = store {
            self.mem[a] = e;
        }
    }

    /// A rising edge of the transmit clock; returns the outputs after it.
    pub fn tx_edge(&mut self) -> BufferOut {
        self.r = Self::next_read(&self.r, self.w.wgray, &self.mem);
        self.r.out
    }

    /// Rising edges of both clocks at the same instant.
    pub fn both_edges(&mut self, input: LineWord) -> BufferOut {
        let r = Self::next_read(&self.r, self.w.wgray, &self.mem);
        let (w, store) = Self::next_write(&self.w, self.r.rgray, input);
        self.r = r;
        self.w = w;
        if let Some((a, e)) = store {
            self.mem[a] = e;
        }
        self.r.out
    }
}

/// Something with a receive and a transmit clock: the model, or the hardware
/// under Verilator.
pub trait TwoClockDut {
    /// A rising edge of the receive clock, with `input` presented.
    fn rx_edge(&mut self, input: LineWord);
    /// A rising edge of the transmit clock; the outputs after it.
    fn tx_edge(&mut self) -> BufferOut;
    /// Both at once.
    fn both_edges(&mut self, input: LineWord) -> BufferOut;
}

impl TwoClockDut for ElasticBufferModel {
    fn rx_edge(&mut self, input: LineWord) {
        ElasticBufferModel::rx_edge(self, input)
    }
    fn tx_edge(&mut self) -> BufferOut {
        ElasticBufferModel::tx_edge(self)
    }
    fn both_edges(&mut self, input: LineWord) -> BufferOut {
        ElasticBufferModel::both_edges(self, input)
    }
}

/// The two clocks, in femtoseconds: rising edges at `phase + n * period`.
#[derive(Clone, Copy, Debug)]
pub struct Clocks {
    /// Receive clock period.
    pub rx_period_fs: u64,
    /// First receive edge.
    pub rx_phase_fs: u64,
    /// Transmit clock period.
    pub tx_period_fs: u64,
    /// First transmit edge.
    pub tx_phase_fs: u64,
}

/// 125 MHz in femtoseconds.
pub const PERIOD_125MHZ_FS: u64 = 8_000_000;

impl Clocks {
    /// Transmit at 125 MHz, receive `ppm` parts per million faster (positive)
    /// or slower (negative), with the given phases.
    pub fn with_ppm(ppm: f64, rx_phase_fs: u64, tx_phase_fs: u64) -> Self {
        Clocks {
            rx_period_fs: (PERIOD_125MHZ_FS as f64 / (1.0 + ppm * 1e-6)).round() as u64,
            rx_phase_fs,
            tx_period_fs: PERIOD_125MHZ_FS,
            tx_phase_fs,
        }
    }
}

/// Edges seen by [`run_two_clocks`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EdgeCounts {
    /// Receive edges (words consumed from the input).
    pub rx: u64,
    /// Transmit edges (outputs produced).
    pub tx: u64,
    /// Of those, edges of both clocks at one instant.
    pub both: u64,
}

/// Runs a two-clock device on a time line: at every instant the next edge of
/// either clock (or both) happens; each receive edge takes the next word of
/// `input`, each transmit edge gives an output to `sink`. Stops when the input
/// is used up.
pub fn run_two_clocks<D: TwoClockDut>(
    dut: &mut D,
    clocks: Clocks,
    input: &[LineWord],
    mut sink: impl FnMut(BufferOut),
) -> EdgeCounts {
    let mut counts = EdgeCounts::default();
    let mut t_rx = clocks.rx_phase_fs;
    let mut t_tx = clocks.tx_phase_fs;
    let mut next = 0usize;
    while next < input.len() {
        if t_rx == t_tx {
            sink(dut.both_edges(input[next]));
            next += 1;
            t_rx += clocks.rx_period_fs;
            t_tx += clocks.tx_period_fs;
            counts.rx += 1;
            counts.tx += 1;
            counts.both += 1;
        } else if t_rx < t_tx {
            dut.rx_edge(input[next]);
            next += 1;
            t_rx += clocks.rx_period_fs;
            counts.rx += 1;
        } else {
            sink(dut.tx_edge());
            t_tx += clocks.tx_period_fs;
            counts.tx += 1;
        }
    }
    counts
}

/// Checks the input assumption: every run of non-filler words (a frame) is
/// exactly `frame_words` long, so two frames are always separated by at least
/// one filler. A run cut by the end of the input may be shorter.
pub fn check_input(input: &[LineWord], frame_words: usize) -> Result<usize, String> {
    let mut run = 0usize;
    let mut frames = 0usize;
    for (i, w) in input.iter().enumerate() {
        if w.is_filler() {
            if run != 0 && run != frame_words {
                return Err(format!("input run of {run} words ending at {i}"));
            }
            if run == frame_words {
                frames += 1;
            }
            run = 0;
        } else {
            run += 1;
            if run > frame_words {
                return Err(format!("input frames not separated at word {i}"));
            }
        }
    }
    Ok(frames)
}

/// What [`check_stream`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Output words from the first valid word on.
    pub out_words: usize,
    /// Input words those account for (from the first valid input word on).
    pub in_words: usize,
    /// Inserted words (`inserted_out` strobes).
    pub inserted: usize,
    /// Input fillers missing from the output.
    pub deleted: usize,
    /// Complete frames seen in the output.
    pub frames: usize,
}

/// Compares the buffer's output with its input at the level that survives a
/// clock crossing: from the first valid word on, the output is the input with
/// some fillers deleted and some fillers repeated, every inserted word is
/// flagged, every deletion is flagged (on a later word, before the next frame
/// word), no frame is cut (every run of non-filler output words is
/// `frame_words` long, except one cut by the end of the run), and there is no
/// overflow or underflow.
pub fn check_stream(
    input: &[LineWord],
    output: &[BufferOut],
    frame_words: usize,
) -> Result<StreamStats, String> {
    let o0 = output
        .iter()
        .position(|o| o.word.valid)
        .ok_or("no valid output word")?;
    let i0 = input
        .iter()
        .position(|w| w.valid)
        .ok_or("no valid input word")?;
    if output[o0].word != input[i0] {
        return Err(format!(
            "first valid output {:?} is not the first valid input {:?}",
            output[o0].word, input[i0]
        ));
    }
    let mut st = StreamStats::default();
    let mut i = i0;
    let mut del_strobes = 0usize;
    let mut run = 0usize;
    for o in o0..output.len() {
        let out = output[o];
        if out.overflow || out.underflow {
            return Err(format!("overflow/underflow at output {o}: {out:?}"));
        }
        if o > o0 {
            if out.inserted {
                if !out.word.is_filler() {
                    return Err(format!("inserted non-filler at output {o}: {out:?}"));
                }
                if o + 1 < output.len() && output[o + 1].word != out.word {
                    return Err(format!("inserted word at {o} is not a copy of the next"));
                }
                st.inserted += 1;
            } else {
                if out.deleted {
                    del_strobes += 1;
                }
                i += 1;
                loop {
                    if i >= input.len() {
                        return Err(format!("output {o} {:?} beyond the input", out.word));
                    }
                    if input[i] == out.word {
                        break;
                    }
                    if !input[i].is_filler() {
                        return Err(format!(
                            "output {o} {:?} but input {i} is {:?}",
                            out.word, input[i]
                        ));
                    }
                    st.deleted += 1;
                    i += 1;
                }
                if !out.word.is_filler() && st.deleted != del_strobes {
                    return Err(format!(
                        "at output {o}: {} fillers missing but {del_strobes} deletions flagged",
                        st.deleted
                    ));
                }
            }
        }
        if out.word.is_filler() {
            if run != 0 {
                if run != frame_words {
                    return Err(format!("output run of {run} words ending at {o}"));
                }
                st.frames += 1;
            }
            run = 0;
        } else {
            run += 1;
            if run > frame_words {
                return Err(format!("output frames not separated at {o}"));
            }
        }
    }
    st.out_words = output.len() - o0;
    st.in_words = i + 1 - i0;
    Ok(st)
}

#[cfg(test)]
/// Test stimulus: `lead_invalid` words out of lock, `lead_idle` idles, then
/// frames of `frame_words` random words (first word K27.7 in lane 0) each
/// followed by a gap of `gap_min..=gap_max` idles, `total` words in all.
pub fn random_stream(
    rng: &mut impl rand::Rng,
    total: usize,
    lead_invalid: usize,
    lead_idle: usize,
    frame_words: usize,
    gap_min: usize,
    gap_max: usize,
) -> Vec<LineWord> {
    let mut v = Vec::with_capacity(total);
    for _ in 0..lead_invalid {
        v.push(LineWord {
            data: rng.gen(),
            k: rng.gen_range(0..4),
            err: rng.gen_range(0..4),
            valid: false,
        });
    }
    v.resize(v.len() + lead_idle, LineWord::IDLE);
    while v.len() < total {
        for j in 0..frame_words {
            let mut w = LineWord {
                data: rng.gen(),
                k: 0,
                err: if rng.gen_range(0..64) == 0 {
                    rng.gen_range(1..4)
                } else {
                    0
                },
                valid: true,
            };
            if j == 0 {
                w.data = (w.data & 0xff00) | fiberloop_spec::line::K27_7 as u16;
                w.k = 1;
            }
            v.push(w);
        }
        for _ in 0..rng.gen_range(gap_min..=gap_max) {
            v.push(LineWord::IDLE);
        }
    }
    v.truncate(total);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::{Model, Port};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const FRAME: usize = fiberloop_spec::frame::FRAME_WORDS;

    /// Runs `dut` and returns the outputs and edge counts.
    fn run<D: TwoClockDut>(
        dut: &mut D,
        clocks: Clocks,
        input: &[LineWord],
    ) -> (Vec<BufferOut>, EdgeCounts) {
        let mut out = Vec::with_capacity(input.len() + 1000);
        let counts = run_two_clocks(dut, clocks, input, |o| out.push(o));
        (out, counts)
    }

    /// Same-clock check: after start-up the output is the input delayed by a
    /// constant, with no insertion, deletion or flag. Returns the delay.
    fn check_constant_latency(input: &[LineWord], out: &[BufferOut]) -> usize {
        let t0 = out
            .iter()
            .position(|o| o.word.valid)
            .expect("no valid output");
        let j0 = input.iter().position(|w| w.valid).unwrap();
        let latency = t0 - j0;
        for (t, o) in out.iter().enumerate().skip(t0) {
            assert_eq!(o.word, input[t - latency], "output {t}");
            assert!(
                !o.inserted && !o.deleted && !o.overflow && !o.underflow,
                "{t}: {o:?}"
            );
        }
        // Before that, only no-data words or delayed out-of-lock words.
        for (t, o) in out.iter().enumerate().take(t0) {
            assert!(
                !o.inserted && !o.deleted && !o.overflow && !o.underflow,
                "{t}: {o:?}"
            );
        }
        latency
    }

    #[test]
    fn gray_code_round_trip() {
        for x in 0..64u8 {
            assert_eq!(from_gray(gray(x)), x);
            assert_eq!((gray(x) ^ gray((x + 1) & 63)).count_ones(), 1);
        }
    }

    #[test]
    fn check_stream_catches_faults() {
        // The checker must fail on a lost frame word, a cut frame and an
        // unflagged deletion.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let input = random_stream(&mut rng, 3000, 40, 10, FRAME, 2, 5);
        let mut m = ElasticBufferModel::new();
        let clocks = Clocks::with_ppm(0.0, 1_000_000, 0);
        let (out, _) = run(&mut m, clocks, &input);
        check_stream(&input, &out, FRAME).unwrap();
        let first_frame = out
            .iter()
            .position(|o| !o.word.is_filler() && o.word.valid)
            .unwrap();
        let mut bad = out.clone();
        bad[first_frame + 5].word.data ^= 1;
        assert!(check_stream(&input, &bad, FRAME).is_err());
        let mut bad = out.clone();
        bad.remove(first_frame + 5);
        assert!(check_stream(&input, &bad, FRAME).is_err());
        let mut bad = out.clone();
        bad.remove(first_frame - 1); // an idle vanishes without a strobe
        assert!(check_stream(&input, &bad, FRAME).is_err());
        let mut bad = out.clone();
        bad.insert(first_frame + 3, bad[first_frame - 1]); // idle inside a frame
        bad[first_frame + 3].inserted = true;
        assert!(check_stream(&input, &bad, FRAME).is_err());
        // And on input that breaks the assumption.
        let mut adj = input.clone();
        let gap = adj.iter().skip(60).position(|w| w.is_filler()).unwrap() + 60;
        adj[gap] = adj[gap - 1];
        assert!(check_input(&adj, FRAME).is_err());
    }

    #[test]
    fn model_same_clock_constant_latency() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let input = random_stream(&mut rng, 100_000, 40, 20, FRAME, 1, 6);
        check_input(&input, FRAME).unwrap();
        let mut m = ElasticBufferModel::new();
        let (out, counts) = run(&mut m, Clocks::with_ppm(0.0, 0, 0), &input);
        assert_eq!(counts.both, counts.rx);
        let latency = check_constant_latency(&input, &out);
        assert_eq!(latency, SAME_CLOCK_LATENCY);
        let t0 = out.iter().position(|o| o.word.valid).unwrap();
        let fills: std::collections::BTreeSet<u8> = out[t0..].iter().map(|o| o.fill).collect();
        println!("same clock: latency {latency}, read-side fill {fills:?}");
        assert_eq!(fills.len(), 1);
        check_stream(&input, &out, FRAME).unwrap();
    }

    /// The delay, in clocks, from `rx_*` to the outputs when one signal drives
    /// both clocks.
    const SAME_CLOCK_LATENCY: usize = 22;

    /// Runs the model at `ppm` and checks the stream and the counts.
    fn model_ppm(ppm: f64, seed: u64, words: usize) -> StreamStats {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let input = random_stream(&mut rng, words, 40, 20, FRAME, 1, 6);
        check_input(&input, FRAME).unwrap();
        let phase = rng.gen_range(0..PERIOD_125MHZ_FS);
        let mut m = ElasticBufferModel::new();
        let (out, counts) = run(&mut m, Clocks::with_ppm(ppm, phase, 0), &input);
        let st = check_stream(&input, &out, FRAME).unwrap();
        expect_counts(&st, counts, ppm, words);
        st
    }

    /// Insertions minus deletions must match the edge difference to within
    /// the buffer's level swing, and only one kind may happen.
    fn expect_counts(st: &StreamStats, counts: EdgeCounts, ppm: f64, words: usize) {
        let net = st.inserted as i64 - st.deleted as i64;
        let edge_diff = counts.tx as i64 - counts.rx as i64;
        assert!(
            (net - edge_diff).abs() <= DEPTH as i64,
            "net {net} vs edge difference {edge_diff}: {st:?} {counts:?}"
        );
        let expected = -ppm * 1e-6 * words as f64;
        assert!(
            (net as f64 - expected).abs() <= DEPTH as f64,
            "net {net} vs expected {expected}"
        );
        if ppm > 0.0 {
            assert_eq!(st.inserted, 0, "{st:?}");
        } else if ppm < 0.0 {
            assert_eq!(st.deleted, 0, "{st:?}");
        } else {
            assert_eq!(st.inserted + st.deleted, 0, "{st:?}");
        }
    }

    #[test]
    fn model_plus_minus_200ppm() {
        let st = model_ppm(200.0, 2, 1_000_000);
        assert!((190..=210).contains(&st.deleted), "{st:?}");
        let st = model_ppm(-200.0, 3, 1_000_000);
        assert!((190..=210).contains(&st.inserted), "{st:?}");
        let st = model_ppm(0.0, 4, 200_000);
        assert_eq!(st.inserted + st.deleted, 0);
    }

    /// The hardware under Verilator, as a [`TwoClockDut`].
    struct Hw {
        m: Model,
        rx_clock: Port,
        tx_clock: Port,
        rx_data: Port,
        rx_k: Port,
        rx_err: Port,
        rx_valid: Port,
        outs: [Port; 9],
    }

    impl Hw {
        fn new() -> Self {
            let mut uut = ElasticBuffer::default();
            uut.connect_all();
            let m = Model::of_block(&uut).unwrap();
            let outs = [
                "data_out",
                "k_out",
                "err_out",
                "valid_out",
                "inserted_out",
                "deleted_out",
                "overflow_out",
                "underflow_out",
                "fill_out",
            ]
            .map(|n| m.p(n));
            Hw {
                rx_clock: m.p("rx_clock"),
                tx_clock: m.p("tx_clock"),
                rx_data: m.p("rx_data"),
                rx_k: m.p("rx_k"),
                rx_err: m.p("rx_err"),
                rx_valid: m.p("rx_valid"),
                outs,
                m,
            }
        }
        fn present(&mut self, w: LineWord) {
            self.m.set(self.rx_data, w.data as u64);
            self.m.set(self.rx_k, w.k as u64);
            self.m.set(self.rx_err, w.err as u64);
            self.m.set(self.rx_valid, w.valid as u64);
        }
        fn read(&self) -> BufferOut {
            let g = |i: usize| self.m.get(self.outs[i]);
            BufferOut {
                word: LineWord {
                    data: g(0) as u16,
                    k: g(1) as u8,
                    err: g(2) as u8,
                    valid: g(3) == 1,
                },
                inserted: g(4) == 1,
                deleted: g(5) == 1,
                overflow: g(6) == 1,
                underflow: g(7) == 1,
                fill: g(8) as u8,
            }
        }
    }

    impl TwoClockDut for Hw {
        fn rx_edge(&mut self, input: LineWord) {
            self.present(input);
            self.m.tick(self.rx_clock);
        }
        fn tx_edge(&mut self) -> BufferOut {
            self.m.tick(self.tx_clock);
            self.read()
        }
        fn both_edges(&mut self, input: LineWord) -> BufferOut {
            self.present(input);
            self.m.set(self.rx_clock, 0);
            self.m.set(self.tx_clock, 0);
            self.m.eval();
            self.m.set(self.rx_clock, 1);
            self.m.set(self.tx_clock, 1);
            self.m.eval();
            self.read()
        }
    }

    /// The hardware and the model side by side; every output compared on
    /// every transmit edge.
    struct Lockstep {
        hw: Hw,
        model: ElasticBufferModel,
        tx_edges: u64,
    }

    impl Lockstep {
        fn new() -> Self {
            Lockstep {
                hw: Hw::new(),
                model: ElasticBufferModel::new(),
                tx_edges: 0,
            }
        }
        fn cmp(&mut self, hw: BufferOut, model: BufferOut) -> BufferOut {
            assert_eq!(
                hw, model,
                "hardware vs model at transmit edge {}",
                self.tx_edges
            );
            self.tx_edges += 1;
            hw
        }
    }

    impl TwoClockDut for Lockstep {
        fn rx_edge(&mut self, input: LineWord) {
            self.hw.rx_edge(input);
            self.model.rx_edge(input);
        }
        fn tx_edge(&mut self) -> BufferOut {
            let (h, m) = (self.hw.tx_edge(), self.model.tx_edge());
            self.cmp(h, m)
        }
        fn both_edges(&mut self, input: LineWord) -> BufferOut {
            let (h, m) = (self.hw.both_edges(input), self.model.both_edges(input));
            self.cmp(h, m)
        }
    }

    /// Verilator against the model at `ppm` with a random phase, then the
    /// stream-level checks.
    fn verilator_ppm(ppm: f64, seed: u64, words: usize, gap_max: usize) -> StreamStats {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let input = random_stream(&mut rng, words, 40, 20, FRAME, 1, gap_max);
        check_input(&input, FRAME).unwrap();
        let clocks = Clocks::with_ppm(
            ppm,
            rng.gen_range(0..PERIOD_125MHZ_FS),
            rng.gen_range(0..PERIOD_125MHZ_FS),
        );
        let mut dut = Lockstep::new();
        let t = std::time::Instant::now();
        let (out, counts) = run(&mut dut, clocks, &input);
        let st = check_stream(&input, &out, FRAME).unwrap();
        let o0 = out.iter().position(|o| o.word.valid).unwrap();
        let fill_min = out[o0..].iter().map(|o| o.fill).min().unwrap();
        let fill_max = out[o0..].iter().map(|o| o.fill).max().unwrap();
        println!(
            "{ppm:+} ppm: {counts:?} {st:?} fill {fill_min}..={fill_max}, in {:.2} s",
            t.elapsed().as_secs_f64()
        );
        assert!(
            u32::from(fill_min) + 1 >= LOW_WATERMARK && u32::from(fill_max) <= HIGH_WATERMARK,
            "fill {fill_min}..={fill_max}"
        );
        expect_counts(&st, counts, ppm, words);
        st
    }

    #[test]
    fn verilator_equal_clocks_random_phase() {
        let st = verilator_ppm(0.0, 10, 200_000, 6);
        assert_eq!(st.inserted + st.deleted, 0);
    }

    #[test]
    fn verilator_rx_faster_200ppm() {
        let st = verilator_ppm(200.0, 11, 1_000_000, 6);
        assert!((190..=210).contains(&st.deleted), "{st:?}");
    }

    #[test]
    fn verilator_rx_slower_200ppm() {
        let st = verilator_ppm(-200.0, 12, 1_000_000, 6);
        assert!((190..=210).contains(&st.inserted), "{st:?}");
    }

    #[test]
    fn verilator_same_clock_constant_latency() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let input = random_stream(&mut rng, 200_000, 40, 20, FRAME, 1, 6);
        let mut dut = Lockstep::new();
        let (out, counts) = run(&mut dut, Clocks::with_ppm(0.0, 0, 0), &input);
        assert_eq!(counts.both, counts.rx);
        assert_eq!(check_constant_latency(&input, &out), SAME_CLOCK_LATENCY);
        check_stream(&input, &out, FRAME).unwrap();
    }

    /// Short gaps (one or two idles) and a loss of lock in the middle of
    /// the stream, at ±200 ppm: only gaps of two can shrink, and the words
    /// received out of lock are fillers too.
    #[test]
    fn verilator_short_gaps_and_lock_loss() {
        for (ppm, seed) in [(200.0, 20), (-200.0, 21)] {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut input = random_stream(&mut rng, 600_000, 40, 20, FRAME, 1, 2);
            // Lose lock for 3,000 words, starting in a gap.
            let at = input
                .iter()
                .skip(300_000)
                .position(|w| w.is_filler())
                .unwrap()
                + 300_000;
            for w in &mut input[at..at + 3000] {
                *w = LineWord {
                    data: rng.gen(),
                    k: rng.gen_range(0..4),
                    err: rng.gen_range(0..4),
                    valid: false,
                };
            }
            // Resume at a frame start.
            let resume = input
                .iter()
                .skip(at + 3000)
                .position(|w| w.is_filler())
                .unwrap()
                + at
                + 3000;
            for w in &mut input[at + 3000..=resume] {
                *w = LineWord::IDLE;
            }
            check_input(&input, FRAME).unwrap();
            let clocks = Clocks::with_ppm(ppm, rng.gen_range(0..PERIOD_125MHZ_FS), 0);
            let mut dut = Lockstep::new();
            let (out, counts) = run(&mut dut, clocks, &input);
            let st = check_stream(&input, &out, FRAME).unwrap();
            println!("{ppm:+} ppm, short gaps, lock loss: {counts:?} {st:?}");
            expect_counts(&st, counts, ppm, input.len());
        }
    }

    /// Beyond what the buffer can absorb, data is lost but flagged, the
    /// hardware still matches the model, and the stream checker objects.
    #[test]
    fn verilator_overflow_and_underflow_are_flagged() {
        // Receive 0.2 % fast with single-idle gaps: nothing may be deleted.
        let mut rng = ChaCha8Rng::seed_from_u64(30);
        let input = random_stream(&mut rng, 100_000, 40, 20, FRAME, 1, 1);
        let mut dut = Lockstep::new();
        let (out, _) = run(&mut dut, Clocks::with_ppm(2000.0, 3_000_000, 0), &input);
        let overflows = out.iter().filter(|o| o.overflow).count();
        assert!(overflows > 0);
        assert_eq!(out.iter().filter(|o| o.deleted).count(), 0);
        assert!(check_stream(&input, &out, FRAME).is_err());
        // Receive 15 % slow: a frame drains the buffer.
        let mut dut = Lockstep::new();
        let (out, _) = run(&mut dut, Clocks::with_ppm(-150_000.0, 3_000_000, 0), &input);
        let underflows = out.iter().filter(|o| o.underflow).count();
        assert!(underflows > 0);
        assert!(check_stream(&input, &out, FRAME).is_err());
        // After an underflow the buffer refills and reads again.
        let first = out.iter().position(|o| o.underflow).unwrap();
        let resumed = out[first..].iter().position(|o| o.word.valid).unwrap();
        assert!(resumed > START_LEVEL as usize, "resumed after {resumed}");
        println!(
            "overflow strobes {overflows}, underflow strobes {underflows}, resumed after {resumed}"
        );
    }

    #[test]
    fn elastic_buffer_synthesizes() {
        let mut uut = ElasticBuffer::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "phy_elastic_buffer").unwrap();
        println!("ElasticBuffer: {report}");
        assert!(report.luts() < 400, "{report}");
        assert!(report.ffs() < 150, "{report}");
    }
}

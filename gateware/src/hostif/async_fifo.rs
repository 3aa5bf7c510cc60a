//! `AsyncFifo`: a dual-clock FIFO (64 entries of any `Synth` type: bytes
//! for `Ft245Phy`, raw line words for the loopback of `LineAids`) whose
//! pointers cross between the clock domains as registered Gray code through
//! two flip-flops. A drop-in replacement, for the ports `Ft245Phy` uses, of
//! rust-hdl 0.46's `AsynchronousFIFO<Bits<8>, 6, 7, 8>`. Its proof and tests
//! run on the byte FIFO; the width changes nothing in the pointer logic.
//!
//! # Why not rust-hdl's `AsynchronousFIFO`
//!
//! rust-hdl's FIFO moves each binary pointer to the other domain with a
//! four-phase handshake (`VectorSynchronizer`). Its sender sees the
//! acknowledge fall and loads a new pointer one receiver clock before the
//! receiver samples the pointer register; when the sending clock is more
//! than about twice the receiving one, the multi-bit binary pointer can
//! change just before or on the sampling edge and be sampled corrupt in
//! hardware (simulation takes the new value and hides it). See the
//! `Ft245Phy` documentation for the measured race.
//!
//! # How it works
//!
//! A 64 x 8 dual-clock RAM (rust-hdl `RAM`: written on `write_clock`, read
//! into a register on `read_clock`). Each side keeps a 7-bit binary pointer
//! (6 bits of address, one of lap) and, in a register loaded on the same
//! edge, its Gray code. Only that Gray register crosses: two flip-flops per
//! bit in the other domain. A Gray pointer changes one bit per clock of its
//! own domain, so however fast that clock is against the sampling one, a
//! sample taken while it changes is either the old or the new pointer,
//! never a mixture (provided the bits' skew across the crossing stays under
//! one sending clock period).
//!
//! * Read side: `empty` = local Gray read pointer equal to the synchronised
//!   Gray write pointer. The synchronised pointer is stale (too few
//!   written), so `empty` may stay high a little after a write (late),
//!   never low when nothing is there.
//! * Write side: `full` = local Gray write pointer equal to the
//!   synchronised Gray read pointer with its two top bits inverted (the
//!   same address, one lap ahead). `almost_full` compares a fill estimate,
//!   local binary write pointer minus the synchronised read pointer turned
//!   back to binary, with [`ALMOST_FULL`]. The synchronised pointer is
//!   stale (too few read), so both flags may stay high a little after a
//!   read (pessimistic), never low when the FIFO is that full.
//! * First word fall-through: the RAM's read register always holds the
//!   entry at the read pointer (its address is the pointer after this
//!   clock's pop), so `data_out` is the head byte while `empty` is low, as
//!   with rust-hdl's FIFO.
//!
//! # Clock-domain crossing and timing
//!
//! Paths between the domains: each Gray pointer register to the first
//! synchroniser flip-flop of the other domain (7 bits each way), and the
//! RAM: an entry is written on a write edge, and the read side only uses it
//! (as `data_out` with `empty` low) after the write pointer that covers it
//! has passed both synchroniser flip-flops, i.e. from a read edge at least
//! one full read clock after the write. While the FIFO is empty the read
//! register may sample an entry being written; that value is never used
//! (`empty` is high, and the register is reloaded on the edge that lowers
//! `empty`). In a top, treat the two clocks as unrelated, and keep the
//! Gray bits' skew and the RAM's write-to-read path under one period of
//! the faster clock (a `set_max_delay`-style constraint where the tools
//! support it; nothing in this crate checks it).
//!
//! Not modelled: metastability. Verilator (and rust-hdl's simulator) take
//! a value sampled on the edge where it changes as settled, so the tests
//! check the logic, the flag bounds and the ordering of events, not the
//! synchronisers' mean time between failures. In hardware a first
//! synchroniser flop that resolves late delays a flag by one clock more
//! than the figures below; the flags stay conservative.

use rust_hdl::prelude::*;

/// Entries of the FIFO.
pub const DEPTH: u32 = 64;

/// `almost_full` is high when the write side's fill estimate (bytes written
/// minus bytes read as seen through the synchroniser) is at least this.
/// The estimate counts every write up to the current clock and never
/// under-counts, so `almost_full` low guarantees at most `ALMOST_FULL - 1`
/// = 55 bytes stored (at least 9 free). rust-hdl's
/// `AsynchronousFIFO<_, 6, 7, 8>` asserted at the same level of its
/// estimate, which lagged the writes by one clock more (at most 56 stored).
pub const ALMOST_FULL: u32 = 56;

/// A dual-clock byte FIFO with Gray-code pointers, 64 entries.
///
/// Write side (`write_clock`): a byte on `data_in` is stored at a rising
/// edge where `write` is high and `full` is low; a write while `full`
/// is dropped and sets `overflow`. Read side (`read_clock`): while `empty`
/// is low `data_out` is the oldest byte (first word fall-through); it is
/// removed at a rising edge where `read` is high and `empty` is low; a read
/// while `empty` does nothing and sets `underflow`.
///
/// Latency (flags across the domains; exact in simulation, one clock more
/// in hardware when a synchroniser flop resolves late):
///
/// * write to `empty` low: a byte written at a write edge is visible (empty
///   low, `data_out` = the byte if it is the head) from the second read
///   edge strictly after that write edge on, i.e. after more than one and
///   at most two read clocks;
/// * read to `full` / `almost_full` low: a byte read at a read edge is no
///   longer counted from the second write edge strictly after it, i.e.
///   after more than one and at most two write clocks.
///
/// Within a domain there is no latency: `full`/`almost_full` count a write
/// from the next write clock on, `empty` counts a read from the next read
/// clock on.
///
/// Throughput: one byte per clock on each side (the slower side is never
/// held up by the flags in a steady stream).
///
/// Reset: none. Every register is zero at power-up (FPGA initialisation):
/// both pointers equal, the FIFO empty (`empty` high, `full` and
/// `almost_full` low), `overflow` and `underflow` low. The sticky flags
/// are cleared only by reconfiguration.
#[derive(LogicBlock)]
pub struct AsyncFifo<D: Synth> {
    /// Write clock: `data_in` and `write` are sampled on its rising edge;
    /// `full`, `almost_full` and `overflow` belong to it.
    pub write_clock: Signal<In, Clock>,
    /// The byte to store.
    pub data_in: Signal<In, D>,
    /// Store `data_in` at this edge (ignored, and `overflow` set, while
    /// `full`).
    pub write: Signal<In, Bit>,
    /// The FIFO has no free entry (as far as the write side knows: may stay
    /// high up to two write clocks after a read).
    pub full: Signal<Out, Bit>,
    /// The write side's fill estimate is at least [`ALMOST_FULL`]; low
    /// means at most `ALMOST_FULL - 1` bytes are stored.
    pub almost_full: Signal<Out, Bit>,
    /// Sticky: a write was attempted while `full`.
    pub overflow: Signal<Out, Bit>,
    /// Read clock: `read` is sampled on its rising edge; `data_out`,
    /// `empty` and `underflow` belong to it.
    pub read_clock: Signal<In, Clock>,
    /// The oldest byte, valid while `empty` is low.
    pub data_out: Signal<Out, D>,
    /// Remove the byte on `data_out` at this edge (ignored, and `underflow`
    /// set, while `empty`).
    pub read: Signal<In, Bit>,
    /// No byte to read (as far as the read side knows: may stay high up to
    /// two read clocks after a write).
    pub empty: Signal<Out, Bit>,
    /// Sticky: a read was attempted while `empty`.
    pub underflow: Signal<Out, Bit>,

    // ---- write domain ----
    wptr: DFF<Bits<7>>,
    wgray: DFF<Bits<7>>,
    rsync1: DFF<Bits<7>>,
    rsync2: DFF<Bits<7>>,
    ovf: DFF<Bit>,
    wptr_next: Signal<Local, Bits<7>>,
    rbin: Signal<Local, Bits<7>>,
    wfill: Signal<Local, Bits<7>>,
    wfull: Signal<Local, Bit>,
    push: Signal<Local, Bit>,

    // ---- the RAM: written on write_clock, read on read_clock ----
    ram: RAM<D, 6>,

    // ---- read domain ----
    rptr: DFF<Bits<7>>,
    rgray: DFF<Bits<7>>,
    wsync1: DFF<Bits<7>>,
    wsync2: DFF<Bits<7>>,
    ufl: DFF<Bit>,
    rptr_next: Signal<Local, Bits<7>>,
    rempty: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,

    // ---- constants ----
    one: Constant<Bits<7>>,
    lap_mask: Constant<Bits<7>>,
    almost_full_level: Constant<Bits<7>>,
}

impl<D: Synth> AsyncFifo<D> {
    /// An empty FIFO (power-up state).
    pub fn new() -> Self {
        Self {
            write_clock: Default::default(),
            data_in: Default::default(),
            write: Default::default(),
            full: Default::default(),
            almost_full: Default::default(),
            overflow: Default::default(),
            read_clock: Default::default(),
            data_out: Default::default(),
            read: Default::default(),
            empty: Default::default(),
            underflow: Default::default(),
            wptr: Default::default(),
            wgray: Default::default(),
            rsync1: Default::default(),
            rsync2: Default::default(),
            ovf: Default::default(),
            wptr_next: Default::default(),
            rbin: Default::default(),
            wfill: Default::default(),
            wfull: Default::default(),
            push: Default::default(),
            ram: Default::default(),
            rptr: Default::default(),
            rgray: Default::default(),
            wsync1: Default::default(),
            wsync2: Default::default(),
            ufl: Default::default(),
            rptr_next: Default::default(),
            rempty: Default::default(),
            pop: Default::default(),
            one: Constant::new(Bits::<7>::from(1u64)),
            // A Gray pointer one lap (64) ahead differs in its two top bits.
            lap_mask: Constant::new(Bits::<7>::from(0b110_0000u64)),
            almost_full_level: Constant::new(Bits::<7>::from(ALMOST_FULL as u64)),
        }
    }
}

impl<D: Synth> Default for AsyncFifo<D> {
    fn default() -> Self {
        Self::new()
    }
}

// Parentheses around mixed expressions are required: rust-hdl 0.46 emits
// Verilog without them, where the precedence differs from Rust's.
#[allow(unused_parens)]
impl<D: Synth> Logic for AsyncFifo<D> {
    #[hdl_gen]
    fn update(&mut self) {
        // ================= write domain =================
        dff_setup!(self, write_clock, wptr, wgray, rsync1, rsync2, ovf);
        // Read pointer into this domain: Gray code through two flip-flops.
        self.rsync1.d.next = self.rgray.q.val();
        self.rsync2.d.next = self.rsync1.q.val();
        self.rbin.next = self.rsync2.q.val()
            ^ (self.rsync2.q.val() >> 1)
            ^ (self.rsync2.q.val() >> 2)
            ^ (self.rsync2.q.val() >> 3)
            ^ (self.rsync2.q.val() >> 4)
            ^ (self.rsync2.q.val() >> 5)
            ^ (self.rsync2.q.val() >> 6);
        self.wfull.next = (self.wgray.q.val() == (self.rsync2.q.val() ^ self.lap_mask.val()));
        self.wfill.next = self.wptr.q.val() - self.rbin.val();
        self.full.next = self.wfull.val();
        self.almost_full.next = (self.wfill.val() >= self.almost_full_level.val());
        self.push.next = self.write.val() & (!self.wfull.val());
        self.wptr_next.next = self.wptr.q.val() + self.one.val();
        self.ram.write_clock.next = self.write_clock.val();
        self.ram.write_address.next = self.wptr.q.val().get_bits::<6>(0);
        self.ram.write_data.next = self.data_in.val();
        self.ram.write_enable.next = self.push.val();
        // The Gray register is loaded on the same edge as the entry and the
        // binary pointer: the entry is in the RAM before the other side can
        // sample the new pointer.
        if self.push.val() {
            self.wptr.d.next = self.wptr_next.val();
            self.wgray.d.next = self.wptr_next.val() ^ (self.wptr_next.val() >> 1);
        }
        self.ovf.d.next = self.ovf.q.val() | (self.write.val() & self.wfull.val());
        self.overflow.next = self.ovf.q.val();

        // ================= read domain =================
        dff_setup!(self, read_clock, rptr, rgray, wsync1, wsync2, ufl);
        // Write pointer into this domain: Gray code through two flip-flops.
        self.wsync1.d.next = self.wgray.q.val();
        self.wsync2.d.next = self.wsync1.q.val();
        self.rempty.next = (self.rgray.q.val() == self.wsync2.q.val());
        self.empty.next = self.rempty.val();
        self.pop.next = self.read.val() & (!self.rempty.val());
        self.rptr_next.next = self.rptr.q.val() + self.one.val();
        self.ram.read_clock.next = self.read_clock.val();
        // The read register always holds the entry at the read pointer: its
        // address is the pointer after this clock's pop.
        self.ram.read_address.next = self.rptr.q.val().get_bits::<6>(0);
        if self.pop.val() {
            self.rptr.d.next = self.rptr_next.val();
            self.rgray.d.next = self.rptr_next.val() ^ (self.rptr_next.val() >> 1);
            self.ram.read_address.next = self.rptr_next.val().get_bits::<6>(0);
        }
        self.data_out.next = self.ram.read_data.val();
        self.ufl.d.next = self.ufl.q.val() | (self.read.val() & self.rempty.val());
        self.underflow.next = self.ufl.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::{Model, Port};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    struct Ports {
        wclk: Port,
        rclk: Port,
        data_in: Port,
        write: Port,
        full: Port,
        almost_full: Port,
        overflow: Port,
        data_out: Port,
        read: Port,
        empty: Port,
        underflow: Port,
    }

    /// A free-running clock in ps: fixed half period, or one that drifts by
    /// `step` ps per half period, bouncing between `lo` and `hi`.
    struct ClockGen {
        next: u64,
        level: bool,
        half: u64,
        drift: Option<(u64, u64, i64)>,
        /// Rising edges so far (times).
        edges: Vec<u64>,
    }

    impl ClockGen {
        fn fixed(half: u64) -> Self {
            Self {
                next: half,
                level: false,
                half,
                drift: None,
                edges: Vec::new(),
            }
        }

        /// A fixed clock whose first rising edge is at `first` ps.
        fn fixed_at(half: u64, first: u64) -> Self {
            Self {
                next: first,
                ..Self::fixed(half)
            }
        }

        fn drifting(lo: u64, hi: u64, step: i64, start: u64) -> Self {
            Self {
                drift: Some((lo, hi, step)),
                ..Self::fixed(start)
            }
        }

        fn advance(&mut self) {
            self.level = !self.level;
            if let Some((lo, hi, step)) = &mut self.drift {
                let h = self.half as i64 + *step;
                if h <= *lo as i64 || h >= *hi as i64 {
                    *step = -*step;
                }
                self.half = h.clamp(*lo as i64, *hi as i64) as u64;
            }
            self.next += self.half;
        }

        /// The rising edge `k` edges before the latest one (0: the latest),
        /// or 0 before the start.
        fn back(&self, k: usize) -> u64 {
            let n = self.edges.len();
            if n > k {
                self.edges[n - 1 - k]
            } else {
                0
            }
        }
    }

    /// The contract model: the bytes stored and removed, with the times of
    /// the edges that moved them, and the checks of the flags against them.
    ///
    /// Checked in the clock that ends at each rising edge (before the edge,
    /// from the counts of transfers at earlier edges):
    ///
    /// * write side: the real fill is at most 64; `full` low => fill < 64;
    ///   `full` high => the FIFO was full as of the read pointer at the
    ///   write edge two before (writes so far minus the reads at read edges
    ///   strictly before that edge >= 64); `almost_full` low => fill <=
    ///   `ALMOST_FULL - 1`; `almost_full` high => the same stale count >=
    ///   `ALMOST_FULL`; `overflow` = some write while `full` at an earlier
    ///   edge.
    /// * read side: `empty` low => fill >= 1 and `data_out` is the next byte
    ///   of the stream; `empty` high => every byte written at a write edge
    ///   strictly before the read edge two before has been read;
    ///   `underflow` = some read while `empty` at an earlier edge.
    /// * every byte removed is the next one written (order, no loss, no
    ///   duplicate: `data_out` checked at each pop), and at the end of a
    ///   run all bytes written came out.
    struct Contract {
        written: Vec<u8>,
        write_times: Vec<u64>,
        read_times: Vec<u64>,
        ovf: bool,
        ufl: bool,
    }

    impl Contract {
        fn fill(&self) -> usize {
            self.written.len() - self.read_times.len()
        }
        fn reads_before(&self, t: u64) -> usize {
            self.read_times.partition_point(|&x| x < t)
        }
        fn writes_before(&self, t: u64) -> usize {
            self.write_times.partition_point(|&x| x < t)
        }
    }

    #[derive(Clone, Copy, Debug)]
    struct Traffic {
        p_write: f64,
        p_read: f64,
        /// The writer writes only while `full` is low, the reader reads only
        /// while `empty` is low.
        respect: bool,
    }

    struct Bench {
        m: Model,
        p: Ports,
        rng: ChaCha8Rng,
        w: ClockGen,
        r: ClockGen,
        c: Contract,
        tr: Traffic,
        write: bool,
        read: bool,
        // Statistics.
        full_clocks: u64,
        full_stale: u64,
        af_clocks: u64,
        af_stale: u64,
        empty_clocks: u64,
        empty_stale: u64,
        /// Write edges with the writer wanting to write, and writes done
        /// (throughput).
        w_want: u64,
        w_done: u64,
        r_want: u64,
        r_done: u64,
        /// A write into an empty FIFO: its time, read edges since.
        probe_empty: Option<(u64, u64)>,
        /// A read from a full FIFO: its time, write edges since.
        probe_full: Option<(u64, u64)>,
        lat_empty: Vec<(u64, u64)>,
        lat_full: Vec<(u64, u64)>,
        /// Rising edges of both clocks at the same time.
        both_rise: u64,
    }

    impl Bench {
        fn new(w: ClockGen, r: ClockGen, seed: u64) -> Self {
            let mut uut = AsyncFifo::<Bits<8>>::new();
            uut.connect_all();
            let mut m = Model::of_block(&uut).unwrap();
            let p = Ports {
                wclk: m.p("write_clock"),
                rclk: m.p("read_clock"),
                data_in: m.p("data_in"),
                write: m.p("write"),
                full: m.p("full"),
                almost_full: m.p("almost_full"),
                overflow: m.p("overflow"),
                data_out: m.p("data_out"),
                read: m.p("read"),
                empty: m.p("empty"),
                underflow: m.p("underflow"),
            };
            m.eval();
            // Power-up: empty, nothing flagged.
            assert_eq!(m.get(p.empty), 1, "power-up empty");
            assert_eq!(m.get(p.full), 0, "power-up full");
            assert_eq!(m.get(p.almost_full), 0, "power-up almost_full");
            assert_eq!(m.get(p.overflow), 0, "power-up overflow");
            assert_eq!(m.get(p.underflow), 0, "power-up underflow");
            Self {
                m,
                p,
                rng: ChaCha8Rng::seed_from_u64(seed),
                w,
                r,
                c: Contract {
                    written: Vec::new(),
                    write_times: Vec::new(),
                    read_times: Vec::new(),
                    ovf: false,
                    ufl: false,
                },
                tr: Traffic {
                    p_write: 0.0,
                    p_read: 0.0,
                    respect: true,
                },
                write: false,
                read: false,
                full_clocks: 0,
                full_stale: 0,
                af_clocks: 0,
                af_stale: 0,
                empty_clocks: 0,
                empty_stale: 0,
                w_want: 0,
                w_done: 0,
                r_want: 0,
                r_done: 0,
                probe_empty: None,
                probe_full: None,
                lat_empty: Vec::new(),
                lat_full: Vec::new(),
                both_rise: 0,
            }
        }

        /// Write side, in the clock ending at the write edge `t`: checks,
        /// and whether a byte is stored at `t`.
        fn write_edge(&mut self, t: u64) -> bool {
            let full = self.m.get(self.p.full) != 0;
            let af = self.m.get(self.p.almost_full) != 0;
            let ovf = self.m.get(self.p.overflow) != 0;
            let c = &self.c;
            let fill = c.fill();
            let stale = c.written.len() - c.reads_before(self.w.back(1));
            assert!(fill <= DEPTH as usize, "t={t}: fill {fill}");
            if full {
                self.full_clocks += 1;
                assert!(
                    stale >= DEPTH as usize,
                    "t={t}: full with {fill} stored, {stale} as of two write edges ago"
                );
                if fill < DEPTH as usize {
                    self.full_stale += 1;
                }
            } else {
                assert!(fill < DEPTH as usize, "t={t}: full low with {fill} stored");
            }
            if af {
                self.af_clocks += 1;
                assert!(
                    stale >= ALMOST_FULL as usize,
                    "t={t}: almost_full with {fill} stored, {stale} as of two write edges ago"
                );
                if fill < ALMOST_FULL as usize {
                    self.af_stale += 1;
                }
            } else {
                assert!(
                    fill < ALMOST_FULL as usize,
                    "t={t}: almost_full low with {fill} stored"
                );
            }
            assert_eq!(ovf, c.ovf, "t={t}: overflow");
            if self.write && full {
                self.c.ovf = true;
            }
            if self.tr.respect {
                assert!(!(self.write && full));
            }
            let d = self.m.get(self.p.data_in) as u8;
            let push = self.write && !full;
            if push {
                self.c.written.push(d);
                self.c.write_times.push(t);
            }
            push
        }

        /// Read side, in the clock ending at the read edge `t`: checks, and
        /// whether a byte is removed at `t`.
        fn read_edge(&mut self, t: u64) -> bool {
            let empty = self.m.get(self.p.empty) != 0;
            let ufl = self.m.get(self.p.underflow) != 0;
            let c = &self.c;
            let fill = c.fill();
            let n = c.read_times.len();
            if empty {
                self.empty_clocks += 1;
                let seen = c.writes_before(self.r.back(1));
                assert!(
                    seen <= n,
                    "t={t}: empty with {fill} stored, {} of them written before two read \
                     edges ago",
                    seen - n
                );
                if fill > 0 {
                    self.empty_stale += 1;
                }
            } else {
                assert!(fill >= 1, "t={t}: empty low with nothing stored");
                let d = self.m.get(self.p.data_out) as u8;
                assert_eq!(d, c.written[n], "t={t}: data_out, byte {n}");
            }
            assert_eq!(ufl, c.ufl, "t={t}: underflow");
            if self.read && empty {
                self.c.ufl = true;
            }
            if self.tr.respect {
                assert!(!(self.read && empty));
            }
            self.read && !empty
        }

        fn drive_write(&mut self) {
            let full = self.m.get(self.p.full) != 0;
            let want = self.rng.gen_bool(self.tr.p_write);
            self.write = want && !(self.tr.respect && full);
            if want {
                self.w_want += 1;
                self.w_done += (self.write && !full) as u64;
            }
            self.m.set(self.p.write, self.write as u64);
            // Junk on the data lines while not writing.
            let d: u8 = self.rng.gen();
            self.m.set(self.p.data_in, d as u64);
        }

        fn drive_read(&mut self) {
            let empty = self.m.get(self.p.empty) != 0;
            let want = self.rng.gen_bool(self.tr.p_read);
            self.read = want && !(self.tr.respect && empty);
            if want {
                self.r_want += 1;
                self.r_done += (self.read && !empty) as u64;
            }
            self.m.set(self.p.read, self.read as u64);
        }

        /// Advances to the next clock transition (either clock, or both).
        fn step(&mut self) {
            let t = self.w.next.min(self.r.next);
            let w_edge = self.w.next == t;
            let r_edge = self.r.next == t;
            let w_rise = w_edge && !self.w.level;
            let r_rise = r_edge && !self.r.level;
            let full_before = self.c.fill() == DEPTH as usize;
            // Both sides check against the transfers before `t`, then the
            // transfers at `t` are recorded.
            let (mut push, mut pop) = (false, false);
            if w_rise && r_rise {
                self.both_rise += 1;
            }
            if w_rise {
                push = self.write_edge(t);
            }
            if r_rise {
                pop = self.read_edge(t);
            }
            if pop {
                self.c.read_times.push(t);
            }
            // Latency probes: a byte into an empty FIFO, a read from a full
            // one (one at a time).
            if push && !pop && self.c.fill() == 1 && self.probe_empty.is_none() {
                self.probe_empty = Some((t, 0));
            }
            if pop && !push && full_before && self.probe_full.is_none() {
                self.probe_full = Some((t, 0));
            }
            if w_edge {
                self.w.advance();
                self.m.set(self.p.wclk, self.w.level as u64);
            }
            if r_edge {
                self.r.advance();
                self.m.set(self.p.rclk, self.r.level as u64);
            }
            self.m.eval();
            if w_rise {
                self.w.edges.push(t);
                if let Some((t0, k)) = self.probe_full {
                    if t > t0 {
                        let k = k + 1;
                        self.probe_full = Some((t0, k));
                        if self.m.get(self.p.full) == 0 {
                            self.lat_full.push((t - t0, k));
                            self.probe_full = None;
                        }
                    }
                }
                self.drive_write();
            }
            if r_rise {
                self.r.edges.push(t);
                if let Some((t0, k)) = self.probe_empty {
                    if t > t0 {
                        let k = k + 1;
                        self.probe_empty = Some((t0, k));
                        if self.m.get(self.p.empty) == 0 {
                            self.lat_empty.push((t - t0, k));
                            self.probe_empty = None;
                        }
                    }
                }
                self.drive_read();
            }
            if w_rise || r_rise {
                self.m.eval();
            }
        }

        fn run_write_clocks(&mut self, n: usize) {
            let end = self.w.edges.len() + n;
            while self.w.edges.len() < end {
                self.step();
            }
        }

        fn run_read_clocks(&mut self, n: usize) {
            let end = self.r.edges.len() + n;
            while self.r.edges.len() < end {
                self.step();
            }
        }

        /// Rates over `n` write clocks with both sides always wanting to
        /// move a byte (after a warm-up): bytes per write clock and per read
        /// clock.
        fn throughput(&mut self, n: usize) -> (f64, f64) {
            self.tr = Traffic {
                p_write: 1.0,
                p_read: 1.0,
                respect: true,
            };
            self.run_write_clocks(200);
            let (ww, wd, rw, rd) = (self.w_want, self.w_done, self.r_want, self.r_done);
            self.run_write_clocks(n);
            (
                (self.w_done - wd) as f64 / (self.w_want - ww) as f64,
                (self.r_done - rd) as f64 / (self.r_want - rw) as f64,
            )
        }

        /// Random traffic (flags respected) for about `clocks` clocks of the
        /// faster side, in segments with their own rates.
        fn random(&mut self, clocks: usize) {
            let end = self.w.edges.len() + self.r.edges.len() + clocks;
            while self.w.edges.len() + self.r.edges.len() < end {
                let p_write = rate(&mut self.rng);
                let p_read = rate(&mut self.rng);
                self.tr = Traffic {
                    p_write,
                    p_read,
                    respect: true,
                };
                let n = self.rng.gen_range(20..1500);
                for _ in 0..n {
                    self.step();
                }
            }
        }

        /// Reads everything out and checks that the whole stream came out.
        fn drain(&mut self) {
            self.tr = Traffic {
                p_write: 0.0,
                p_read: 1.0,
                respect: true,
            };
            let mut budget = 10_000;
            while self.c.fill() > 0 {
                self.step();
                budget -= 1;
                assert!(budget > 0, "drain: {} bytes stuck", self.c.fill());
            }
            // Nothing stray afterwards.
            self.run_read_clocks(50);
            assert_eq!(self.c.fill(), 0);
            assert_eq!(self.c.read_times.len(), self.c.written.len());
        }
    }

    /// A random rate for a segment: often all or nothing.
    fn rate(rng: &mut ChaCha8Rng) -> f64 {
        match rng.gen_range(0..5) {
            0 => 1.0,
            1 => 0.0,
            _ => rng.gen_range(0.05..1.0),
        }
    }

    fn range(v: &[(u64, u64)]) -> ((u64, u64), (u64, u64)) {
        let ps = (
            v.iter().map(|x| x.0).min().unwrap(),
            v.iter().map(|x| x.0).max().unwrap(),
        );
        let k = (
            v.iter().map(|x| x.1).min().unwrap(),
            v.iter().map(|x| x.1).max().unwrap(),
        );
        (ps, k)
    }

    /// Throughput, random traffic, drain; latency and flag statistics
    /// printed. `slow` says which side must reach one byte per clock in a
    /// steady stream: 'w' (the write clock is the slower), 'r', or ' '
    /// (drifting, not checked).
    fn run(w: ClockGen, r: ClockGen, seed: u64, clocks: usize, slow: char) -> Bench {
        let mut b = Bench::new(w, r, seed);
        b.run_write_clocks(5);
        let (wr, rr) = b.throughput(3000);
        println!("steady stream: {wr:.4} bytes per write clock wanted, {rr:.4} per read clock");
        match slow {
            'w' => assert_eq!(wr, 1.0, "writer held up"),
            'r' => assert_eq!(rr, 1.0, "reader starved"),
            _ => {}
        }
        b.drain();
        b.random(clocks);
        b.drain();
        // Lone bytes for the write -> !empty latency, and reads from a full
        // FIFO for read -> !full.
        for _ in 0..40 {
            b.tr = Traffic {
                p_write: 0.0,
                p_read: 1.0,
                respect: true,
            };
            b.run_read_clocks(5);
            b.tr.p_write = 1.0;
            b.tr.p_read = 0.0;
            b.run_write_clocks(1);
            b.tr.p_write = 0.0;
            let k = b.rng.gen_range(5..20);
            b.run_read_clocks(k);
            // Fill up, then one read.
            b.tr.p_write = 1.0;
            b.run_write_clocks(80);
            b.tr.p_read = 1.0;
            b.run_read_clocks(1);
            b.tr.p_read = 0.0;
            let k = b.rng.gen_range(5..20);
            b.run_write_clocks(k);
            b.drain();
        }
        let (wc, rc) = (b.w.edges.len(), b.r.edges.len());
        println!(
            "{wc} write clocks, {rc} read clocks, {} bytes; full {} clocks ({} with fewer \
             stored), almost_full {} ({} stale), empty {} ({} with bytes stored); {} \
             coinciding rising edges",
            b.c.written.len(),
            b.full_clocks,
            b.full_stale,
            b.af_clocks,
            b.af_stale,
            b.empty_clocks,
            b.empty_stale,
            b.both_rise
        );
        let (eps, ek) = range(&b.lat_empty);
        let (fps, fk) = range(&b.lat_full);
        println!(
            "latency write edge -> empty low: {:.1}..={:.1} ns, read edges {}..={} ({} samples); \
             read edge -> full low: {:.1}..={:.1} ns, write edges {}..={} ({} samples)",
            eps.0 as f64 / 1000.0,
            eps.1 as f64 / 1000.0,
            ek.0,
            ek.1,
            b.lat_empty.len(),
            fps.0 as f64 / 1000.0,
            fps.1 as f64 / 1000.0,
            fk.0,
            fk.1,
            b.lat_full.len()
        );
        // The documented latency: from the second edge strictly after
        // (exact in simulation).
        assert_eq!((ek, fk), ((2, 2), (2, 2)), "flag latency in edges");
        assert!(b.lat_empty.len() >= 40 && b.lat_full.len() >= 40);
        // The flags were exercised.
        assert!(b.full_clocks > 100 && b.af_clocks > 500 && b.empty_clocks > 500);
        assert!(!b.c.ovf && !b.c.ufl);
        assert!(wc + rc > 40_000);
        b
    }

    /// 125 MHz write clock, 60 MHz read clock (edges drift against each
    /// other): the `Ft245Phy` transmit FIFO.
    #[test]
    fn async_fifo_125_to_60_mhz() {
        run(
            ClockGen::fixed(4000),
            ClockGen::fixed(8333),
            0xA5F0_0001,
            60_000,
            'r',
        );
    }

    /// 125 MHz write clock, exactly 62.5 MHz read clock: every rising read
    /// edge coincides with a rising write edge (both first rise at 4 ns).
    #[test]
    fn async_fifo_125_to_62_5_mhz_coinciding_edges() {
        let b = run(
            ClockGen::fixed(4000),
            ClockGen::fixed_at(8000, 4000),
            0xA5F0_0002,
            60_000,
            'r',
        );
        assert_eq!(b.both_rise as usize, b.r.edges.len());
    }

    /// 30 MHz write clock, 60 MHz read clock.
    #[test]
    fn async_fifo_30_to_60_mhz() {
        run(
            ClockGen::fixed(16_667),
            ClockGen::fixed(8333),
            0xA5F0_0003,
            60_000,
            'w',
        );
    }

    /// 60 MHz write clock, 125 MHz read clock: the `Ft245Phy` receive FIFO.
    #[test]
    fn async_fifo_60_to_125_mhz() {
        run(
            ClockGen::fixed(8333),
            ClockGen::fixed(4000),
            0xA5F0_0004,
            60_000,
            'w',
        );
    }

    /// A write clock whose period drifts slowly (1 ps per half period)
    /// between 6 and 26 ns against a 12 ns read clock: the ratio sweeps
    /// from 2x faster to 2.2x slower and back, through equal frequencies.
    #[test]
    fn async_fifo_drifting_ratio() {
        run(
            ClockGen::drifting(3000, 13_000, 1, 4000),
            ClockGen::fixed(6000),
            0xA5F0_0005,
            80_000,
            ' ',
        );
    }

    /// Abuse: writes while full are dropped and set `overflow` (sticky),
    /// reads while empty do nothing and set `underflow` (sticky); the
    /// stream stays intact. The flags are checked every clock against the
    /// contract (low before the first abuse, high from the clock after).
    #[test]
    fn async_fifo_sticky_overflow_underflow() {
        let mut b = Bench::new(ClockGen::fixed(4000), ClockGen::fixed(8333), 0xA5F0_0006);
        b.tr = Traffic {
            p_write: 0.5,
            p_read: 0.5,
            respect: true,
        };
        b.run_write_clocks(2000);
        assert!(!b.c.ovf && !b.c.ufl);
        // Write on regardless: the FIFO fills, further writes are dropped.
        b.tr = Traffic {
            p_write: 1.0,
            p_read: 0.0,
            respect: false,
        };
        b.run_write_clocks(200);
        assert!(b.c.ovf && !b.c.ufl);
        assert_eq!(b.m.get(b.p.overflow), 1);
        assert_eq!(b.c.fill(), DEPTH as usize);
        // Read on regardless: drains, then reads while empty.
        b.tr = Traffic {
            p_write: 0.0,
            p_read: 1.0,
            respect: false,
        };
        b.run_read_clocks(200);
        assert!(b.c.ufl);
        assert_eq!(b.m.get(b.p.underflow), 1);
        assert_eq!(b.c.fill(), 0);
        // Random abuse both ways; then normal use: the stream is intact and
        // the flags stay set.
        for _ in 0..20 {
            b.tr = Traffic {
                p_write: b.rng.gen_range(0.0..1.0),
                p_read: b.rng.gen_range(0.0..1.0),
                respect: false,
            };
            b.run_write_clocks(500);
        }
        b.random(10_000);
        b.drain();
        assert_eq!(b.m.get(b.p.overflow), 1);
        assert_eq!(b.m.get(b.p.underflow), 1);
        println!(
            "{} bytes through, {} write clocks, {} read clocks",
            b.c.written.len(),
            b.w.edges.len(),
            b.r.edges.len()
        );
    }

    #[test]
    fn async_fifo_synthesizes() {
        let mut uut = AsyncFifo::<Bits<8>>::new();
        uut.connect_all();
        let rep = fiberloop_harness::synth::synth_block(&uut, "hostif_async_fifo").unwrap();
        println!(
            "AsyncFifo: {} LUTs, {} FFs, {} BRAMs",
            rep.luts(),
            rep.ffs(),
            rep.brams()
        );
        println!("cells: {:?}", rep.cells);
        // 2 x (pointer, Gray pointer, two synchroniser stages) x 7 bits,
        // two sticky flags, the 8-bit RAM read register.
        assert!(rep.ffs() <= 66, "{} FFs", rep.ffs());
        assert!(rep.luts() < 150, "{} LUTs", rep.luts());
    }
}

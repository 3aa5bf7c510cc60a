//! `FrameSync`: decoded line words in, whole frames out.
//!
//! # Behaviour
//!
//! The block is either *hunting* (outside a frame) or *in a frame*.
//!
//! * **Start of frame.** A word with `valid_in` high, `k_in[0]` set,
//!   `err_in[0]` clear and lane 0 = `0xFB` (K27.7) is a start-of-frame word
//!   (SOF). While hunting, a SOF starts a frame. A K27.7 with an error flag,
//!   or in lane 1, is not a SOF.
//! * **Whole frames.** Every frame that starts is delivered as exactly 128
//!   consecutive valid words, one per clock, `start_out` on word 0: the
//!   block never stalls and never cuts a frame short, so the downstream
//!   decoder always sees whole frames. Lane 0 of word 0 is output as `0xFB`.
//! * **Symbol errors.** Inside a frame, a lane with `err_in` set (code or
//!   disparity error) or with `k_in` set (a control symbol in a data
//!   position, e.g. the `K28.5` of an idle word when the frame was cut short
//!   upstream) is a *bad symbol*. The frame goes on: a lane with `k_in` set
//!   is output as `0x00`, a lane with only `err_in` set is output as the
//!   decoder's byte (its best guess; a wrong byte costs RS no more than a
//!   zero would). `symbol_errors_out` gives the number of bad symbols (0-2)
//!   of each output word, and the frame is flagged. One bad symbol is one
//!   byte error, which RS(255,239) may still correct.
//! * **Truncation.** If, inside a frame, a SOF arrives or `valid_in` drops
//!   (the aligner lost lock), the frame's real content has ended: the
//!   rest of the frame, from that word on, is output as zero words
//!   (*padding*), the frame is flagged, and `truncated_out` pulses with the
//!   first padding word. Words arriving during padding are ignored; a SOF
//!   among them (and the SOF that caused the truncation) pulses
//!   `dropped_sof_out`: that frame is lost. After the padded frame the block
//!   hunts again, so one lost frame never misaligns the following ones.
//!   (The alternative, ending the frame early and taking the new one, would
//!   break the 128-word frame convention downstream; keeping the new frame
//!   and the old one would need a buffer and variable latency.) A padded
//!   frame is almost always uncorrectable and RS / the CRC flag it too.
//! * **Outside frames.** Idle words (`K28.5 D16.2`, no errors) are the
//!   normal filler. Any other valid word seen while hunting (garbage, the
//!   rest of a dropped frame) pulses `stray_out`. Garbage produces no frame
//!   unless it contains a SOF, in which case a (flagged) frame is delivered
//!   and counted like any other.
//! * **Loss of sync.** `sync_lost_out` pulses once for every fall of
//!   `valid_in` (in or out of a frame).
//!
//! Every per-frame result comes with word 127 of the frame on `data_out`:
//! `frame_done_out` pulses, and `frame_error_out` is high in that same clock
//! if the frame had a bad symbol or was padded (it is low in all other
//! clocks).

use fiberloop_spec::frame::FRAME_WORDS;
use fiberloop_spec::line::{D16_2, K27_7, K28_5};
use rust_hdl::prelude::*;

/// Frame synchroniser: decoded line words in, 128-word frames out.
///
/// See the module documentation for the behaviour (start of frame, symbol
/// errors, truncation, padding, statistics strobes).
///
/// Latency: 1 clock (every output is registered; a line word arriving at
/// clock `t` leaves as frame-stream word at `t + 1`, its strobes with it).
/// Throughput: one word per clock, never stalls. Reset: none; the registers
/// power up at zero, which is the hunting state, and the block also returns
/// to hunting on its own after every frame.
#[derive(LogicBlock)]
pub struct FrameSync {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Decoded line word, lane 0 (bits 7:0) first in time.
    pub data_in: Signal<In, Bits<16>>,
    /// Control-symbol flag per lane (bit 0 = lane 0).
    pub k_in: Signal<In, Bits<2>>,
    /// Code or disparity error per lane.
    pub err_in: Signal<In, Bits<2>>,
    /// The comma aligner is locked: the word is meaningful.
    pub valid_in: Signal<In, Bit>,
    /// Frame stream out: two bytes, lane 0 first.
    pub data_out: Signal<Out, Bits<16>>,
    /// The output word belongs to a frame.
    pub valid_out: Signal<Out, Bit>,
    /// The output word is word 0 of a frame.
    pub start_out: Signal<Out, Bit>,
    /// One-clock strobe with word 127 of every frame delivered.
    pub frame_done_out: Signal<Out, Bit>,
    /// With `frame_done_out`: the frame had bad symbols or was padded.
    pub frame_error_out: Signal<Out, Bit>,
    /// Strobe with the first padding word of a truncated frame.
    pub truncated_out: Signal<Out, Bit>,
    /// Strobe: a SOF was seen inside a frame or during padding, and that
    /// frame is lost.
    pub dropped_sof_out: Signal<Out, Bit>,
    /// Number of bad symbols (0-2) in the output word (frame words only,
    /// not padding).
    pub symbol_errors_out: Signal<Out, Bits<2>>,
    /// Strobe: `valid_in` fell (the aligner lost lock).
    pub sync_lost_out: Signal<Out, Bit>,
    /// Strobe: a valid word outside any frame that neither is idle nor
    /// starts a frame: a word of the tail of a frame lost to truncation.
    pub stray_out: Signal<Out, Bit>,
    /// Strobe with word 0 (`start_out`) of a frame whose start was not a
    /// clean K27.7 (the start-of-frame symbol was hit and repaired, or the
    /// frame was started by garbage).
    pub sof_repaired_out: Signal<Out, Bit>,
    // Combinational.
    is_sof: Signal<Local, Bit>,
    is_idle: Signal<Local, Bit>,
    is_comma: Signal<Local, Bit>,
    bad: Signal<Local, Bits<2>>,
    clean: Signal<Local, Bits<16>>,
    bad_any: Signal<Local, Bit>,
    // State.
    in_frame: DFF<Bit>,
    padding: DFF<Bit>,
    count: DFF<Bits<7>>,
    err_acc: DFF<Bit>,
    prev_valid: DFF<Bit>,
    /// The input word belongs to the tail of a frame dropped by truncation.
    tail: DFF<Bit>,
    /// Index of the input word in that dropped frame.
    tail_count: DFF<Bits<7>>,
    // Output registers.
    data_q: DFF<Bits<16>>,
    valid_q: DFF<Bit>,
    start_q: DFF<Bit>,
    done_q: DFF<Bit>,
    ferr_q: DFF<Bit>,
    trunc_q: DFF<Bit>,
    dropped_q: DFF<Bit>,
    symerr_q: DFF<Bits<2>>,
    synclost_q: DFF<Bit>,
    stray_q: DFF<Bit>,
    repaired_q: DFF<Bit>,
    // Constants.
    sof_symbol: Constant<Bits<8>>,
    comma_symbol: Constant<Bits<8>>,
    idle_lane1: Constant<Bits<8>>,
    no_flags: Constant<Bits<2>>,
    one2: Constant<Bits<2>>,
    one7: Constant<Bits<7>>,
    last_word: Constant<Bits<7>>,
    lane0_mask: Constant<Bits<16>>,
    lane1_mask: Constant<Bits<16>>,
    zero16: Constant<Bits<16>>,
}

impl Default for FrameSync {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            data_in: Default::default(),
            k_in: Default::default(),
            err_in: Default::default(),
            valid_in: Default::default(),
            data_out: Default::default(),
            valid_out: Default::default(),
            start_out: Default::default(),
            frame_done_out: Default::default(),
            frame_error_out: Default::default(),
            truncated_out: Default::default(),
            dropped_sof_out: Default::default(),
            symbol_errors_out: Default::default(),
            sync_lost_out: Default::default(),
            stray_out: Default::default(),
            sof_repaired_out: Default::default(),
            is_sof: Default::default(),
            is_idle: Default::default(),
            is_comma: Default::default(),
            bad: Default::default(),
            clean: Default::default(),
            bad_any: Default::default(),
            in_frame: Default::default(),
            padding: Default::default(),
            count: Default::default(),
            err_acc: Default::default(),
            prev_valid: Default::default(),
            tail: Default::default(),
            tail_count: Default::default(),
            data_q: Default::default(),
            valid_q: Default::default(),
            start_q: Default::default(),
            done_q: Default::default(),
            ferr_q: Default::default(),
            trunc_q: Default::default(),
            dropped_q: Default::default(),
            symerr_q: Default::default(),
            synclost_q: Default::default(),
            stray_q: Default::default(),
            repaired_q: Default::default(),
            sof_symbol: Constant::new((K27_7 as u64).to_bits()),
            comma_symbol: Constant::new((K28_5 as u64).to_bits()),
            idle_lane1: Constant::new((D16_2 as u64).to_bits()),
            no_flags: Constant::new(0u64.to_bits()),
            one2: Constant::new(1u64.to_bits()),
            one7: Constant::new(1u64.to_bits()),
            last_word: Constant::new(((FRAME_WORDS - 1) as u64).to_bits()),
            lane0_mask: Constant::new(0x00FFu64.to_bits()),
            lane1_mask: Constant::new(0xFF00u64.to_bits()),
            zero16: Constant::new(0u64.to_bits()),
        }
    }
}

// The parentheses around mixed expressions are required: rust-hdl 0.46 emits
// Verilog without them, where the precedence differs from Rust's.
#[allow(unused_parens)]
impl Logic for FrameSync {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, in_frame, padding, count, err_acc, prev_valid, tail, tail_count, data_q,
            valid_q, start_q, done_q, ferr_q, trunc_q, dropped_q, symerr_q, synclost_q, stray_q,
            repaired_q
        );
        // Classify the input word.
        self.is_sof.next = (self.valid_in.val()
            & self.k_in.val().get_bit(0)
            & (!self.err_in.val().get_bit(0))
            & (self.data_in.val().get_bits::<8>(0) == self.sof_symbol.val()));
        // Lane 0 reads K28.5 (a code error reads 0x00, so only a disparity
        // error can go with it).
        self.is_comma.next = (self.valid_in.val()
            & self.k_in.val().get_bit(0)
            & (self.data_in.val().get_bits::<8>(0) == self.comma_symbol.val()));
        // Idle: lane 0 reads K28.5 or lane 1 reads D16.2; never a clean SOF.
        self.is_idle.next = (self.valid_in.val()
            & (!self.is_sof.val())
            & (self.is_comma.val()
                | ((!self.k_in.val().get_bit(1))
                    & (self.data_in.val().get_bits::<8>(8) == self.idle_lane1.val()))));
        self.bad.next = (self.k_in.val() | self.err_in.val());
        self.bad_any.next = self.bad.val().any();
        // Control symbols in data positions become 0x00.
        self.clean.next = self.data_in.val();
        if self.k_in.val().get_bit(0) {
            self.clean.next = (self.data_in.val() & self.lane1_mask.val());
            if self.k_in.val().get_bit(1) {
                self.clean.next = self.zero16.val();
            }
        } else if self.k_in.val().get_bit(1) {
            self.clean.next = (self.data_in.val() & self.lane0_mask.val());
        }

        // Output defaults: nothing this clock.
        self.prev_valid.d.next = self.valid_in.val();
        self.synclost_q.d.next = (self.prev_valid.q.val() & (!self.valid_in.val()));
        self.data_q.d.next = self.zero16.val();
        self.valid_q.d.next = false;
        self.start_q.d.next = false;
        self.done_q.d.next = false;
        self.ferr_q.d.next = false;
        self.trunc_q.d.next = false;
        self.dropped_q.d.next = false;
        self.symerr_q.d.next = self.no_flags.val();
        self.stray_q.d.next = false;
        self.repaired_q.d.next = false;
        // The tail of a dropped frame runs to its word 127; a comma or a loss
        // of lock ends it early (it was no real frame, or it is gone).
        self.tail_count.d.next = (self.tail_count.q.val() + self.one7.val());
        if ((self.tail_count.q.val() == self.last_word.val())
            | self.is_comma.val()
            | (!self.valid_in.val()))
        {
            self.tail.d.next = false;
        }

        if !self.in_frame.q.val() {
            if (self.is_sof.val()
                | (self.valid_in.val() & (!self.is_idle.val()) & (!self.tail.q.val())))
            {
                // Word 0: lane 0 is the SOF itself, lane 1 codeword byte 0.
                self.in_frame.d.next = true;
                self.padding.d.next = false;
                self.count.d.next = self.one7.val();
                self.valid_q.d.next = true;
                self.start_q.d.next = true;
                self.data_q.d.next = ((self.clean.val() & self.lane1_mask.val())
                    | bit_cast::<16, 8>(self.sof_symbol.val()));
                self.err_acc.d.next = self.bad.val().get_bit(1);
                self.repaired_q.d.next = !self.is_sof.val();
                self.tail.d.next = false;
                if self.bad.val().get_bit(1) {
                    self.symerr_q.d.next = self.one2.val();
                }
            } else if (self.tail.q.val() & self.valid_in.val() & (!self.is_comma.val())) {
                // A word of the dropped frame's tail (it may read as idle by
                // its lane 1 alone, but it is frame data).
                self.stray_q.d.next = true;
            }
        } else {
            self.valid_q.d.next = true;
            self.count.d.next = (self.count.q.val() + self.one7.val());
            if (self.count.q.val() == self.last_word.val()) {
                self.in_frame.d.next = false;
                self.done_q.d.next = true;
            }
            if (self.padding.q.val() | (!self.valid_in.val()) | self.is_sof.val()) {
                // Padding: the frame's content has ended.
                self.padding.d.next = true;
                self.err_acc.d.next = true;
                self.trunc_q.d.next = !self.padding.q.val();
                self.dropped_q.d.next = self.is_sof.val();
                if self.is_sof.val() {
                    // The dropped frame's words 1..=127 follow.
                    self.tail.d.next = true;
                    self.tail_count.d.next = self.one7.val();
                }
                if (self.count.q.val() == self.last_word.val()) {
                    self.ferr_q.d.next = true;
                }
            } else {
                self.data_q.d.next = self.clean.val();
                self.symerr_q.d.next = ((self.bad.val() & self.one2.val())
                    + ((self.bad.val() >> 1) & self.one2.val()));
                self.err_acc.d.next = (self.err_acc.q.val() | self.bad_any.val());
                if (self.count.q.val() == self.last_word.val()) {
                    self.ferr_q.d.next = (self.err_acc.q.val() | self.bad_any.val());
                }
            }
        }

        self.data_out.next = self.data_q.q.val();
        self.valid_out.next = self.valid_q.q.val();
        self.start_out.next = self.start_q.q.val();
        self.frame_done_out.next = self.done_q.q.val();
        self.frame_error_out.next = self.ferr_q.q.val();
        self.truncated_out.next = self.trunc_q.q.val();
        self.dropped_sof_out.next = self.dropped_q.q.val();
        self.symbol_errors_out.next = self.symerr_q.q.val();
        self.sync_lost_out.next = self.synclost_q.q.val();
        self.stray_out.next = self.stray_q.q.val();
        self.sof_repaired_out.next = self.repaired_q.q.val();
    }
}

/// One clock's inputs of [`FrameSync`]: a decoded line word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncIn {
    /// `data_in`.
    pub data: u16,
    /// `k_in`.
    pub k: u8,
    /// `err_in`.
    pub err: u8,
    /// `valid_in`.
    pub valid: bool,
}

/// One clock's outputs of [`FrameSync`], sampled before the clock edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncOut {
    /// `data_out`.
    pub data: u16,
    /// `valid_out`.
    pub valid: bool,
    /// `start_out`.
    pub start: bool,
    /// `frame_done_out`.
    pub done: bool,
    /// `frame_error_out`.
    pub frame_error: bool,
    /// `truncated_out`.
    pub truncated: bool,
    /// `dropped_sof_out`.
    pub dropped_sof: bool,
    /// `symbol_errors_out`.
    pub symbol_errors: u8,
    /// `sync_lost_out`.
    pub sync_lost: bool,
    /// `stray_out`.
    pub stray: bool,
    /// `sof_repaired_out`.
    pub sof_repaired: bool,
}

/// Cycle-level reference model of [`FrameSync`], written from the
/// behaviour in the module documentation.
#[derive(Clone, Debug, Default)]
pub struct FrameSyncModel {
    out: SyncOut,
    /// Index of the next word of the frame in progress.
    frame: Option<usize>,
    padding: bool,
    error: bool,
    prev_valid: bool,
    /// Index in a dropped frame of the next input word, while its tail runs.
    tail: Option<usize>,
}

impl FrameSyncModel {
    /// A model in the power-up state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Outputs of this clock, then the clock edge with inputs `i`.
    pub fn step(&mut self, i: SyncIn) -> SyncOut {
        let out = self.out;
        let mut next = SyncOut {
            sync_lost: self.prev_valid && !i.valid,
            ..SyncOut::default()
        };
        self.prev_valid = i.valid;
        let lanes = i.data.to_le_bytes();
        let is_sof = i.valid && i.k & 1 != 0 && i.err & 1 == 0 && lanes[0] == K27_7;
        let is_comma = i.valid && i.k & 1 != 0 && lanes[0] == K28_5;
        let is_idle = i.valid && !is_sof && (is_comma || (i.k & 2 == 0 && lanes[1] == D16_2));
        // The dropped frame's tail: is this word in it?
        let in_tail = self.tail.is_some();
        self.tail = match self.tail {
            Some(w) if w < FRAME_WORDS - 1 && !is_comma && i.valid => Some(w + 1),
            _ => None,
        };
        let bad = [0, 1].map(|l| (i.k | i.err) >> l & 1 != 0);
        let clean = [0, 1].map(|l| if i.k >> l & 1 != 0 { 0 } else { lanes[l] });
        match self.frame {
            None => {
                if is_sof || (i.valid && !is_idle && !in_tail) {
                    self.frame = Some(1);
                    self.padding = false;
                    self.error = bad[1];
                    self.tail = None;
                    next.valid = true;
                    next.start = true;
                    next.sof_repaired = !is_sof;
                    next.data = u16::from_le_bytes([K27_7, clean[1]]);
                    next.symbol_errors = bad[1] as u8;
                } else if in_tail && i.valid && !is_comma {
                    next.stray = true;
                }
            }
            Some(w) => {
                next.valid = true;
                if self.padding || !i.valid || is_sof {
                    next.truncated = !self.padding;
                    next.dropped_sof = is_sof;
                    if is_sof {
                        self.tail = Some(1);
                    }
                    self.padding = true;
                    self.error = true;
                } else {
                    next.data = u16::from_le_bytes(clean);
                    next.symbol_errors = bad[0] as u8 + bad[1] as u8;
                    self.error |= bad[0] || bad[1];
                }
                if w == FRAME_WORDS - 1 {
                    next.done = true;
                    next.frame_error = self.error;
                    self.frame = None;
                } else {
                    self.frame = Some(w + 1);
                }
            }
        }
        self.out = next;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::frame_tx::{FrameTxModel, LineWord, TxIn};
    use crate::framing::testbench;
    use crate::verilator::Model;
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The Verilated block with its ports.
    pub(crate) struct Dut {
        m: Model,
        p: [crate::verilator::Port; 16],
    }

    impl Dut {
        pub(crate) fn new() -> Self {
            let mut uut = FrameSync::default();
            uut.connect_all();
            let m = Model::of_block(&uut).unwrap();
            let names = [
                "clock",
                "data_in",
                "k_in",
                "err_in",
                "valid_in",
                "data_out",
                "valid_out",
                "start_out",
                "frame_done_out",
                "frame_error_out",
                "truncated_out",
                "dropped_sof_out",
                "symbol_errors_out",
                "sync_lost_out",
                "stray_out",
                "sof_repaired_out",
            ];
            let p = names.map(|n| m.p(n));
            Dut { m, p }
        }

        /// Sets the inputs, samples the outputs, clocks.
        pub(crate) fn step(&mut self, i: SyncIn) -> SyncOut {
            let (m, p) = (&mut self.m, &self.p);
            m.set(p[0], 0);
            m.set(p[1], i.data as u64);
            m.set(p[2], i.k as u64);
            m.set(p[3], i.err as u64);
            m.set(p[4], i.valid as u64);
            m.eval();
            let o = SyncOut {
                data: m.get(p[5]) as u16,
                valid: m.get(p[6]) != 0,
                start: m.get(p[7]) != 0,
                done: m.get(p[8]) != 0,
                frame_error: m.get(p[9]) != 0,
                truncated: m.get(p[10]) != 0,
                dropped_sof: m.get(p[11]) != 0,
                symbol_errors: m.get(p[12]) as u8,
                sync_lost: m.get(p[13]) != 0,
                stray: m.get(p[14]) != 0,
                sof_repaired: m.get(p[15]) != 0,
            };
            m.set(p[0], 1);
            m.eval();
            o
        }
    }

    /// What the scenario generator expects of each delivered frame.
    #[derive(Clone, Debug, PartialEq)]
    enum Expect {
        /// Delivered with these 255 bytes; flagged iff `errors > 0`.
        Frame { cw: Vec<u8>, errors: usize },
        /// Delivered padded: this prefix of bytes, then zeros; flagged.
        Padded { prefix: Vec<u8> },
        /// A frame started by a SOF in garbage: flagged, content not checked.
        Spurious,
    }

    /// Expected totals of the statistics strobes.
    #[derive(Clone, Debug, Default, PartialEq)]
    struct Totals {
        symbol_errors: usize,
        truncated: usize,
        dropped_sof: usize,
        sync_lost: usize,
        stray: usize,
        sof_repaired: usize,
    }

    /// A seeded random line scenario with its expectations.
    struct Scenario {
        line: Vec<SyncIn>,
        expect: Vec<Expect>,
        totals: Totals,
    }

    fn idle() -> SyncIn {
        SyncIn {
            data: LineWord::IDLE.data,
            k: LineWord::IDLE.k,
            err: 0,
            valid: true,
        }
    }

    /// The clean line words of a frame (as FrameTx sends them).
    fn frame_line(cw: &[u8], rng: &mut impl RngCore) -> Vec<SyncIn> {
        testbench::frame_words(cw, rng.gen())
            .into_iter()
            .enumerate()
            .map(|(n, w)| {
                let lw = FrameTxModel::line_word(TxIn {
                    data: w,
                    valid: true,
                    start: n == 0,
                });
                SyncIn {
                    data: lw.data,
                    k: lw.k,
                    err: 0,
                    valid: true,
                }
            })
            .collect()
    }

    /// Whether a word reads as idle under the block's rule (lane 0 reads
    /// K28.5 or lane 1 reads D16.2, and it is no clean SOF).
    fn reads_idle(w: &SyncIn) -> bool {
        let l = w.data.to_le_bytes();
        !is_clean_sof(w) && ((w.k & 1 != 0 && l[0] == K28_5) || (w.k & 2 == 0 && l[1] == D16_2))
    }

    fn is_clean_sof(w: &SyncIn) -> bool {
        w.k & 1 != 0 && w.err & 1 == 0 && w.data as u8 == K27_7
    }

    /// A random garbage word: random data, k and error flags, never a clean
    /// SOF and never a word that reads as idle.
    fn garbage(rng: &mut impl RngCore) -> SyncIn {
        loop {
            let g = SyncIn {
                data: rng.gen(),
                k: rng.gen_range(0..4),
                err: if rng.gen_bool(0.2) {
                    rng.gen_range(0..4)
                } else {
                    0
                },
                valid: true,
            };
            if !is_clean_sof(&g) && !reads_idle(&g) {
                return g;
            }
        }
    }

    /// A random replacement for one lane (`lane`) of a word: any data byte
    /// or control symbol, with or without the error flag.
    fn hit_lane(w: SyncIn, lane: usize, rng: &mut impl RngCore) -> SyncIn {
        let (b, k): (u8, bool) = if rng.gen_bool(0.5) {
            (rng.gen(), false)
        } else {
            (
                [K28_5, K27_7, 0xFE, 0x1C, 0xF7, 0x3C][rng.gen_range(0..6)],
                true,
            )
        };
        let err = rng.gen_bool(0.5);
        let mask = !(1u8 << lane);
        SyncIn {
            data: (w.data & !(0xFF << (8 * lane))) | (b as u16) << (8 * lane),
            k: (w.k & mask) | (k as u8) << lane,
            err: (w.err & mask) | (err as u8) << lane,
            valid: w.valid,
        }
    }

    /// An idle word with, sometimes, one lane hit (never into a clean SOF).
    fn noisy_idle(rng: &mut impl RngCore) -> SyncIn {
        if !rng.gen_bool(0.1) {
            return idle();
        }
        loop {
            let w = hit_lane(idle(), rng.gen_range(0..2), rng);
            if !is_clean_sof(&w) {
                assert!(reads_idle(&w));
                return w;
            }
        }
    }

    fn scenario(seed: u64, pieces: usize) -> Scenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut line = vec![idle(); 5];
        let mut expect = vec![];
        let mut t = Totals::default();
        for _ in 0..pieces {
            // Idle gap first (hunting), possibly none.
            let gap = testbench::random_gap(&mut rng);
            line.extend((0..gap).map(|_| noisy_idle(&mut rng)));
            let mut cw = testbench::random_codeword(&mut rng, true);
            // Byte 0 (the slot's high byte) is never D16.2 (a requirement).
            cw[0] %= D16_2;
            let mut words = frame_line(&cw, &mut rng);
            match rng.gen_range(0..100) {
                // Clean frame.
                0..=34 => {
                    line.extend(words);
                    expect.push(Expect::Frame { cw, errors: 0 });
                }
                // Start-of-frame symbol hit: repaired.
                35..=49 => {
                    loop {
                        let w = hit_lane(words[0], 0, &mut rng);
                        if !is_clean_sof(&w) && !reads_idle(&w) {
                            words[0] = w;
                            break;
                        }
                    }
                    line.extend(words);
                    expect.push(Expect::Frame { cw, errors: 0 });
                    t.sof_repaired += 1;
                }
                // Frame with injected symbol errors.
                50..=69 => {
                    let mut out = cw.clone();
                    let n = rng.gen_range(1..=6);
                    let mut errors = 0;
                    for _ in 0..n {
                        // Frame position 1..=255 (never the SOF itself).
                        let pos = rng.gen_range(1..256);
                        let (w, lane) = (pos / 2, pos % 2);
                        let word = &mut words[w];
                        if (word.k | word.err) >> lane & 1 != 0 {
                            continue; // already bad
                        }
                        errors += 1;
                        if rng.gen_bool(0.5) {
                            // Code error: the decoder's byte is passed on.
                            let b: u8 = rng.gen();
                            word.err |= 1 << lane;
                            word.data =
                                (word.data & !(0xFF << (8 * lane))) | (b as u16) << (8 * lane);
                            out[pos - 1] = b;
                        } else {
                            // A control symbol (never a clean K27.7 in lane 0).
                            let kb = [K28_5, K28_5, 0xFE, 0x1C, 0xF7][rng.gen_range(0..5)];
                            word.k |= 1 << lane;
                            word.data =
                                (word.data & !(0xFF << (8 * lane))) | (kb as u16) << (8 * lane);
                            out[pos - 1] = 0;
                        }
                    }
                    line.extend(words);
                    t.symbol_errors += errors;
                    expect.push(Expect::Frame { cw: out, errors });
                }
                // Truncated by the next frame's SOF: padded, next frame lost,
                // the lost frame's tail is stray.
                70..=79 => {
                    let n = rng.gen_range(1..128);
                    line.extend(&words[..n]);
                    let lost = testbench::random_codeword(&mut rng, true);
                    line.extend(frame_line(&lost, &mut rng));
                    let prefix = cw[..2 * n - 1].to_vec();
                    expect.push(Expect::Padded { prefix });
                    t.truncated += 1;
                    t.dropped_sof += 1;
                    t.stray += n;
                }
                // Loss of sync inside a frame, then idles.
                80..=87 => {
                    let n = rng.gen_range(1..128);
                    line.extend(&words[..n]);
                    for _ in 0..rng.gen_range(1..300) {
                        line.push(SyncIn {
                            valid: false,
                            ..garbage(&mut rng)
                        });
                    }
                    line.extend(std::iter::repeat_n(idle(), 130));
                    expect.push(Expect::Padded {
                        prefix: cw[..2 * n - 1].to_vec(),
                    });
                    t.truncated += 1;
                    t.sync_lost += 1;
                }
                // Loss of sync outside frames.
                88..=91 => {
                    for _ in 0..rng.gen_range(1..50) {
                        line.push(SyncIn {
                            valid: false,
                            ..garbage(&mut rng)
                        });
                    }
                    line.push(idle());
                    t.sync_lost += 1;
                }
                // Garbage between frames: its first word starts a (spurious,
                // repaired) frame, which takes the rest and some idles.
                92..=96 => {
                    let n = rng.gen_range(1..100);
                    line.extend((0..n).map(|_| garbage(&mut rng)));
                    line.extend(std::iter::repeat_n(idle(), 130));
                    expect.push(Expect::Spurious);
                    t.sof_repaired += 1;
                }
                // A clean SOF, then garbage: a spurious frame, then idles.
                _ => {
                    let n = rng.gen_range(0..50);
                    line.push(SyncIn {
                        data: u16::from_le_bytes([K27_7, rng.gen()]),
                        k: 1,
                        err: 0,
                        valid: true,
                    });
                    line.extend((0..n).map(|_| garbage(&mut rng)));
                    line.extend(std::iter::repeat_n(idle(), 130));
                    expect.push(Expect::Spurious);
                }
            }
        }
        line.extend(std::iter::repeat_n(idle(), 5));
        Scenario {
            line,
            expect,
            totals: t,
        }
    }

    /// A delivered frame: 255 bytes, error flag, and whether start/done framed
    /// it properly.
    #[derive(Debug)]
    struct Delivered {
        cw: Vec<u8>,
        error: bool,
        sof_byte: u8,
    }

    fn delivered(outs: &[SyncOut]) -> Vec<Delivered> {
        let mut frames = vec![];
        let mut cur: Option<(Vec<u8>, u8)> = None;
        for (t, o) in outs.iter().enumerate() {
            if o.start {
                assert!(cur.is_none(), "start inside a frame at {t}");
                assert!(o.valid);
                cur = Some((vec![(o.data >> 8) as u8], o.data as u8));
            } else if o.valid {
                let c = cur
                    .as_mut()
                    .unwrap_or_else(|| panic!("valid outside a frame at {t}"));
                c.0.extend_from_slice(&o.data.to_le_bytes());
            } else {
                assert!(cur.is_none(), "gap inside a frame at {t}");
            }
            assert!(o.frame_error <= o.done);
            if o.done {
                let (cw, sof_byte) = cur.take().expect("done outside a frame");
                assert_eq!(cw.len(), 255, "frame not 128 words at {t}");
                frames.push(Delivered {
                    cw,
                    error: o.frame_error,
                    sof_byte,
                });
            }
        }
        assert!(cur.is_none());
        frames
    }

    fn check_scenario(seed: u64, pieces: usize) -> usize {
        let sc = scenario(seed, pieces);
        let mut dut = Dut::new();
        let mut model = FrameSyncModel::new();
        let mut outs = Vec::with_capacity(sc.line.len());
        for (t, i) in sc.line.iter().enumerate() {
            let hw = dut.step(*i);
            let sw = model.step(*i);
            assert_eq!(hw, sw, "clock {t}, input {i:?}");
            outs.push(hw);
        }

        // Independent of the model: the generator's expectations.
        let frames = delivered(&outs);
        assert_eq!(frames.len(), sc.expect.len());
        for (n, (f, e)) in frames.iter().zip(&sc.expect).enumerate() {
            assert_eq!(f.sof_byte, K27_7);
            match e {
                Expect::Frame { cw, errors } => {
                    assert_eq!(&f.cw, cw, "frame {n}");
                    assert_eq!(f.error, *errors > 0, "frame {n}");
                }
                Expect::Padded { prefix } => {
                    assert!(f.error, "frame {n}");
                    assert_eq!(&f.cw[..prefix.len()], &prefix[..], "frame {n}");
                    assert!(f.cw[prefix.len()..].iter().all(|&b| b == 0), "frame {n}");
                }
                Expect::Spurious => assert!(f.error, "frame {n}"),
            }
        }
        let count = |p: fn(&SyncOut) -> bool| outs.iter().filter(|o| p(o)).count();
        let spurious_errors: usize = {
            // Bad symbols inside spurious frames are not predicted by the
            // generator: subtract them by frame.
            let mut total = 0;
            let mut idx = 0;
            let mut in_spurious = false;
            for o in &outs {
                if o.start {
                    in_spurious = sc.expect[idx] == Expect::Spurious;
                    idx += 1;
                }
                if in_spurious && o.valid {
                    total += o.symbol_errors as usize;
                }
            }
            total
        };
        let got = Totals {
            symbol_errors: outs.iter().map(|o| o.symbol_errors as usize).sum::<usize>()
                - spurious_errors,
            truncated: count(|o| o.truncated),
            dropped_sof: count(|o| o.dropped_sof),
            sync_lost: count(|o| o.sync_lost),
            stray: count(|o| o.stray),
            sof_repaired: count(|o| o.sof_repaired),
        };
        assert!(outs.iter().all(|o| o.start || !o.sof_repaired));
        assert_eq!(got, sc.totals);
        assert!(
            sc.expect
                .iter()
                .filter(|e| matches!(e, Expect::Spurious))
                .count()
                > 0
        );
        sc.line.len()
    }

    #[test]
    fn frame_sync_random_scenarios() {
        let mut clocks = 0;
        for seed in 0..4 {
            clocks += check_scenario(0xF5F5_0000 + seed, 150);
        }
        assert!(clocks > 50_000, "{clocks} clocks");
    }

    #[test]
    fn frame_sync_back_to_back_clean_frames() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xF5F5_1000);
        let mut dut = Dut::new();
        let mut model = FrameSyncModel::new();
        let mut sent = vec![];
        let mut outs = vec![];
        for _ in 0..200 {
            let cw = testbench::random_codeword(&mut rng, true);
            for i in frame_line(&cw, &mut rng) {
                let o = dut.step(i);
                assert_eq!(o, model.step(i));
                outs.push(o);
            }
            sent.push(cw);
        }
        for _ in 0..2 {
            let o = dut.step(idle());
            assert_eq!(o, model.step(idle()));
            outs.push(o);
        }
        let frames = delivered(&outs);
        assert_eq!(frames.len(), sent.len());
        for (f, cw) in frames.iter().zip(&sent) {
            assert_eq!(&f.cw, cw);
            assert!(!f.error);
        }
        // Latency 1: the first output word is the clock after the first SOF.
        assert!(!outs[0].valid && outs[1].start);
    }

    #[test]
    fn frame_sync_is_synthesizable() {
        let mut uut = FrameSync::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let report = crate::synth::synth_block(&uut, "frame_sync").unwrap();
        println!("{report:?}");
        println!("FrameSync: {} LUTs, {} FFs", report.luts(), report.ffs());
        // About 210 LUTs with the dropped-frame tail tracker (was under 150).
        assert!(report.luts() < 260, "{} LUTs", report.luts());
        assert!(report.ffs() < 60, "{} FFs", report.ffs());
    }
}

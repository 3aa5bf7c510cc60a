//! `FrameSync`: decoded line words in, whole frames out.
//!
//! # Behaviour
//!
//! The block is either *hunting* (outside a frame) or *in a frame*.
//!
//! * **Idle words.** Outside frames the line carries idle words, `K28.5
//!   D16.2`. A word *reads as idle* if lane 0 reads K28.5 (`k_in[0]` set,
//!   `0xBC`) **or** lane 1 reads D16.2 (`k_in[1]` clear, `0x50`), and it is
//!   not a clean SOF (below). So one hit symbol in an idle word still reads
//!   as idle. The error flags are not looked at here, on purpose: one bit
//!   error in the K28.5 often leaves the decoder at the wrong running
//!   disparity, and then the (correctly received) D16.2 behind it is
//!   flagged with a disparity error; a code error reads `0x00` and never
//!   matches, so only a symbol with the right value and at most a disparity
//!   error is accepted.
//! * **Start of frame.** A *clean SOF* is a word with `valid_in` high,
//!   `k_in[0]` set, `err_in[0]` clear and lane 0 = `0xFB` (K27.7). While
//!   hunting, a clean SOF always starts a frame (even if its lane 1 reads
//!   D16.2). Once the line is known good (*armed*, below), every other valid
//!   word that does not read as idle and whose lane 1 *could be codeword
//!   byte 0* starts a frame too: it is a SOF word whose K27.7 was hit by a
//!   bit error (it may decode as an invalid code, as a code with a disparity
//!   error, or even as a valid data byte without any flag). Lane 1 could be
//!   codeword byte 0 if it is a data symbol (error flags allowed: a hit
//!   K27.7 often leaves the decoder at the wrong running disparity, and the
//!   byte behind it is then flagged although right) whose value is below
//!   `0x50` or is `0xFF` (the high byte of a slot number, see the
//!   requirement below), and if the *next* word's lane 0 does not read
//!   K28.5 (a frame's word 1 starts with a data byte; an idle word is
//!   followed by idles). These two conditions keep an idle word with both
//!   symbols hit (on the loop, many times likelier than a SOF word with both
//!   hit, for there are that many more idle words) from starting a bogus
//!   frame that would swallow the next real one, unless it is the last idle
//!   word before a frame or the idle behind it is hit too. The look at the
//!   next word costs one clock of latency. Such a *repaired* start pulses
//!   `sof_repaired_out` with the frame's word 0.
//! * **Armed.** The block is armed once it has seen a lane 0 reading K28.5
//!   (a comma) with `valid_in` high, and disarmed whenever `valid_in` is
//!   low (also at power-up). While not armed, non-idle words other than a
//!   clean SOF pulse `stray_out` and start nothing. This keeps the words
//!   just after a (re-)lock of the aligner, which may be misaligned
//!   garbage, from starting a bogus frame that would swallow the next real
//!   one (in the loop, the delay-measuring marker frame was lost that way).
//!
//!   **Requirement on the sender:** byte 0 of every codeword (lane 1 of word
//!   0, the high byte of the slot number) must be below `0x50` (D16.2) or be
//!   `0xFF`, otherwise a hit K27.7 in front of it would read as idle or not
//!   be repaired, and the frame would be lost. The loop controller keeps slot
//!   numbers below `0x5000` (the marker slot `0xFFFF` is fine too).
//! * **Whole frames.** Every frame that starts is delivered as exactly 128
//!   consecutive valid words, one per clock, `start_out` on word 0: the
//!   block never stalls and never cuts a frame short, so the downstream
//!   decoder always sees whole frames. Lane 0 of word 0 is output as `0xFB`
//!   whatever was received there (the SOF symbol is not part of the
//!   codeword, so a repaired start is no symbol error and does not flag the
//!   frame by itself).
//! * **Symbol errors.** Inside a frame (word 0 lane 1 included), a lane with
//!   `err_in` set (code or disparity error) or with `k_in` set (a control
//!   symbol in a data position, e.g. the `K28.5` of an idle word when the
//!   frame was cut short upstream, or a clean K27.7: see *False SOF*) is a
//!   *bad symbol*. The frame goes on: a
//!   lane with `k_in` set is output as `0x00`, a lane with only `err_in` set
//!   is output as the decoder's byte (its best guess; a wrong byte costs RS
//!   no more than a zero would). `symbol_errors_out` gives the number of bad
//!   symbols (0-2) of each output word, and the frame is flagged. One bad
//!   symbol is one byte error, which RS(255,239) may still correct.
//! * **False SOF.** A clean K27.7 inside a frame is taken for what it
//!   almost always is on a line that only deletes idles: a data symbol that
//!   a bit error turned into K27.7. It is one bad symbol (output as `0x00`)
//!   and the frame goes on, so RS can correct it. `dropped_sof_out` pulses
//!   with that word: had it been a real start of frame (the frame in
//!   progress was cut short upstream), that frame is lost, its first words
//!   make the current frame uncorrectable, and its tail is handled as below.
//! * **Truncation.** If, inside a frame, `valid_in` drops (the aligner lost
//!   lock), the frame's real content has ended: the rest of the frame, from
//!   that word on, is output as zero words (*padding*), the frame is
//!   flagged, and `truncated_out` pulses with the first padding word. Words
//!   arriving during padding are ignored; a clean SOF among them pulses
//!   `dropped_sof_out`: that frame is lost. (The alternative, ending the
//!   frame early and taking the new one, would break the 128-word frame
//!   convention downstream; keeping the new frame and the old one would need
//!   a buffer and variable latency.) A padded frame is almost always
//!   uncorrectable and RS / the CRC flag it too.
//! * **Tail of a dropped frame.** Since non-idle words now start frames, the
//!   rest of a dropped frame (its words after the end of the frame that
//!   swallowed its start) must not: it would start a bogus frame that swallows the next frame's
//!   SOF, and with back-to-back frames the losses would go on to the end of
//!   the lap. So the block remembers the last dropped SOF and, while hunting
//!   within the 127 words that follow it, starts a frame only on a clean SOF;
//!   the other valid words of that tail, except commas, pulse `stray_out`. A
//!   lane 0 reading K28.5 (a real idle: that "frame" was no frame) or
//!   `valid_in` low ends the tail early. This keeps the old behaviour:
//!   one truncation costs the truncated frame and the dropping one.
//! * **Garbage and loss of lock.** Words with `valid_in` low never start a
//!   frame, nor do words before the first comma after `valid_in` rises. Other
//!   valid garbage outside frames now starts frames instead of being counted
//!   as stray: each such frame is a whole 128-word frame of garbage, flagged
//!   here when it holds a bad symbol or is padded, and in any case rejected
//!   by the RS decoder and the CRC. On a healthy line this does not happen:
//!   between frames there are only idle words, and an idle word with one hit
//!   symbol still reads as idle (a bogus start needs both symbols of an
//!   idle word hit).
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

/// Clocks from a line word at the input to its frame-stream word at the
/// output.
pub const SYNC_LATENCY: u64 = 2;

/// Frame synchroniser: decoded line words in, 128-word frames out.
///
/// See the module documentation for the behaviour (idle words, error-
/// tolerant start of frame and its requirement on codeword byte 0, symbol
/// errors, truncation, padding, dropped-frame tails, statistics strobes).
///
/// Latency: [`SYNC_LATENCY`] = 2 clocks (the input word is held one clock so
/// that the next word can be looked at, and every output is registered: a
/// line word arriving at clock `t` leaves as frame-stream word at `t + 2`,
/// its strobes with it).
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
    /// Strobe: a clean SOF was seen inside a frame (taken as a bad symbol;
    /// if it was a real start, that frame is lost) or during padding (that
    /// frame is lost).
    pub dropped_sof_out: Signal<Out, Bit>,
    /// Number of bad symbols (0-2) in the output word (frame words only,
    /// not padding).
    pub symbol_errors_out: Signal<Out, Bits<2>>,
    /// Strobe: `valid_in` fell (the aligner lost lock).
    pub sync_lost_out: Signal<Out, Bit>,
    /// Strobe: a valid word outside any frame that neither is idle nor
    /// starts a frame: a word of the tail of a frame lost to truncation, or
    /// garbage before the first comma after `valid_in` rose.
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
    /// Lane 1 could be codeword byte 0 (a repaired start is allowed).
    byte0_ok: Signal<Local, Bit>,
    /// The next word's lane 0 reads K28.5.
    next_comma: Signal<Local, Bit>,
    // The input word, held one clock (the logic works on it, with the input
    // as the next word).
    h_data: DFF<Bits<16>>,
    h_k: DFF<Bits<2>>,
    h_err: DFF<Bits<2>>,
    h_valid: DFF<Bit>,
    // State.
    in_frame: DFF<Bit>,
    padding: DFF<Bit>,
    count: DFF<Bits<7>>,
    err_acc: DFF<Bit>,
    prev_valid: DFF<Bit>,
    /// A comma has been seen since `valid_in` last rose: repaired starts
    /// are allowed.
    armed: DFF<Bit>,
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
    byte0_limit: Constant<Bits<8>>,
    marker_byte0: Constant<Bits<8>>,
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
            byte0_ok: Default::default(),
            next_comma: Default::default(),
            h_data: Default::default(),
            h_k: Default::default(),
            h_err: Default::default(),
            h_valid: Default::default(),
            in_frame: Default::default(),
            padding: Default::default(),
            count: Default::default(),
            err_acc: Default::default(),
            prev_valid: Default::default(),
            armed: Default::default(),
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
            byte0_limit: Constant::new((D16_2 as u64).to_bits()),
            marker_byte0: Constant::new(0xFFu64.to_bits()),
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
            self, clock, h_data, h_k, h_err, h_valid, in_frame, padding, count, err_acc,
            prev_valid, armed, tail, tail_count, data_q, valid_q, start_q, done_q, ferr_q, trunc_q,
            dropped_q, symerr_q, synclost_q, stray_q, repaired_q
        );
        self.h_data.d.next = self.data_in.val();
        self.h_k.d.next = self.k_in.val();
        self.h_err.d.next = self.err_in.val();
        self.h_valid.d.next = self.valid_in.val();
        self.next_comma.next = (self.valid_in.val()
            & self.k_in.val().get_bit(0)
            & (self.data_in.val().get_bits::<8>(0) == self.comma_symbol.val()));
        // Classify the held word (the input word is the next one).
        self.is_sof.next = (self.h_valid.q.val()
            & self.h_k.q.val().get_bit(0)
            & (!self.h_err.q.val().get_bit(0))
            & (self.h_data.q.val().get_bits::<8>(0) == self.sof_symbol.val()));
        // Lane 0 reads K28.5 (a code error reads 0x00, so only a disparity
        // error can go with it).
        self.is_comma.next = (self.h_valid.q.val()
            & self.h_k.q.val().get_bit(0)
            & (self.h_data.q.val().get_bits::<8>(0) == self.comma_symbol.val()));
        // Idle: lane 0 reads K28.5 or lane 1 reads D16.2; never a clean SOF.
        self.is_idle.next = (self.h_valid.q.val()
            & (!self.is_sof.val())
            & (self.is_comma.val()
                | ((!self.h_k.q.val().get_bit(1))
                    & (self.h_data.q.val().get_bits::<8>(8) == self.idle_lane1.val()))));
        self.bad.next = (self.h_k.q.val() | self.h_err.q.val());
        self.bad_any.next = self.bad.val().any();
        self.byte0_ok.next = ((!self.h_k.q.val().get_bit(1))
            & ((self.h_data.q.val().get_bits::<8>(8) < self.byte0_limit.val())
                | (self.h_data.q.val().get_bits::<8>(8) == self.marker_byte0.val())));
        // Control symbols in data positions become 0x00.
        self.clean.next = self.h_data.q.val();
        if self.h_k.q.val().get_bit(0) {
            self.clean.next = (self.h_data.q.val() & self.lane1_mask.val());
            if self.h_k.q.val().get_bit(1) {
                self.clean.next = self.zero16.val();
            }
        } else if self.h_k.q.val().get_bit(1) {
            self.clean.next = (self.h_data.q.val() & self.lane0_mask.val());
        }

        // Output defaults: nothing this clock.
        self.prev_valid.d.next = self.h_valid.q.val();
        self.synclost_q.d.next = (self.prev_valid.q.val() & (!self.h_valid.q.val()));
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
            | (!self.h_valid.q.val()))
        {
            self.tail.d.next = false;
        }
        if self.is_comma.val() {
            self.armed.d.next = true;
        }
        if !self.h_valid.q.val() {
            self.armed.d.next = false;
        }

        if !self.in_frame.q.val() {
            if (self.is_sof.val()
                | (self.h_valid.q.val()
                    & (!self.is_idle.val())
                    & (!self.tail.q.val())
                    & self.armed.q.val()
                    & self.byte0_ok.val()
                    & (!self.next_comma.val())))
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
            } else if (self.tail.q.val() & self.h_valid.q.val() & (!self.is_comma.val())) {
                // A word of the dropped frame's tail (it may read as idle by
                // its lane 1 alone, but it is frame data).
                self.stray_q.d.next = true;
            } else if (self.h_valid.q.val() & (!self.is_idle.val())) {
                // Not armed: garbage after (re-)lock, before the first comma.
                self.stray_q.d.next = true;
            }
        } else {
            self.valid_q.d.next = true;
            self.count.d.next = (self.count.q.val() + self.one7.val());
            if (self.count.q.val() == self.last_word.val()) {
                self.in_frame.d.next = false;
                self.done_q.d.next = true;
            }
            if (self.padding.q.val() | (!self.h_valid.q.val())) {
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
                if self.is_sof.val() {
                    // A false SOF (one bad symbol), or the start of a frame
                    // whose words 1..=127 follow: track them as a tail.
                    self.dropped_q.d.next = true;
                    self.tail.d.next = true;
                    self.tail_count.d.next = self.one7.val();
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
    /// A comma has been seen since `valid_in` last rose.
    armed: bool,
    /// The input word of the previous clock (worked on now).
    held: SyncIn,
}

impl FrameSyncModel {
    /// A model in the power-up state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Outputs of this clock, then the clock edge with inputs `next`.
    pub fn step(&mut self, next: SyncIn) -> SyncOut {
        let i = std::mem::replace(&mut self.held, next);
        let next_comma = next.valid && next.k & 1 != 0 && next.data as u8 == K28_5;
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
        let armed = self.armed;
        self.armed = i.valid && (armed || is_comma);
        self.tail = match self.tail {
            Some(w) if w < FRAME_WORDS - 1 && !is_comma && i.valid => Some(w + 1),
            _ => None,
        };
        let bad = [0, 1].map(|l| (i.k | i.err) >> l & 1 != 0);
        let byte0_ok = i.k & 2 == 0 && (lanes[1] < D16_2 || lanes[1] == 0xFF);
        let clean = [0, 1].map(|l| if i.k >> l & 1 != 0 { 0 } else { lanes[l] });
        match self.frame {
            None => {
                if is_sof || (i.valid && !is_idle && !in_tail && armed && byte0_ok && !next_comma) {
                    self.frame = Some(1);
                    self.padding = false;
                    self.error = bad[1];
                    self.tail = None;
                    next.valid = true;
                    next.start = true;
                    next.sof_repaired = !is_sof;
                    next.data = u16::from_le_bytes([K27_7, clean[1]]);
                    next.symbol_errors = bad[1] as u8;
                } else if (in_tail && i.valid && !is_comma) || (i.valid && !is_idle) {
                    next.stray = true;
                }
            }
            Some(w) => {
                next.valid = true;
                if self.padding || !i.valid {
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
                    if is_sof {
                        next.dropped_sof = true;
                        self.tail = Some(1);
                    }
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
    use crate::model::code8b10b::{Decoder, Encoder};
    use fiberloop_harness::verilator::Model;
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::HashSet;

    /// The Verilated block with its ports.
    pub(crate) struct Dut {
        m: Model,
        p: [fiberloop_harness::verilator::Port; 16],
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

    /// Lane 1 is a data byte below 0x50 or 0xFF.
    fn could_be_byte0(w: &SyncIn) -> bool {
        let b = (w.data >> 8) as u8;
        w.k & 2 == 0 && (b < D16_2 || b == 0xFF)
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
                // Cut short upstream, the next frame's SOF inside it: taken
                // as one bad symbol, the next frame's head fills the frame,
                // the next frame is lost, its tail is stray.
                70..=79 => {
                    let n = rng.gen_range(1..128);
                    line.extend(&words[..n]);
                    let lost = testbench::random_codeword(&mut rng, true);
                    line.extend(frame_line(&lost, &mut rng));
                    let mut got = cw[..2 * n - 1].to_vec();
                    got.push(0);
                    got.extend_from_slice(&lost[..255 - 2 * n]);
                    expect.push(Expect::Frame { cw: got, errors: 1 });
                    t.symbol_errors += 1;
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
                // Loss of sync outside frames, garbage after the re-lock
                // (stray: no comma seen yet), then an idle.
                88..=91 => {
                    for _ in 0..rng.gen_range(1..50) {
                        line.push(SyncIn {
                            valid: false,
                            ..garbage(&mut rng)
                        });
                    }
                    let m = rng.gen_range(0..6);
                    line.extend((0..m).map(|_| garbage(&mut rng)));
                    line.push(idle());
                    t.sync_lost += 1;
                    t.stray += m;
                }
                // Garbage between frames: its first word whose lane 1 could
                // be codeword byte 0, and that has garbage behind it, starts a (spurious, repaired) frame,
                // which takes the rest and some idles; the words before it
                // are stray.
                92..=96 => {
                    let n = rng.gen_range(1..100);
                    let g: Vec<SyncIn> = (0..n).map(|_| garbage(&mut rng)).collect();
                    // (The last garbage word is followed by an idle, which
                    // vetoes a repaired start.)
                    match g[..n - 1].iter().position(could_be_byte0) {
                        Some(q) => {
                            t.stray += q;
                            expect.push(Expect::Spurious);
                            t.sof_repaired += 1;
                        }
                        None => t.stray += n,
                    }
                    line.extend(g);
                    line.extend(std::iter::repeat_n(idle(), 130));
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
        // Latency 2: the first output word two clocks after the first SOF.
        assert_eq!(SYNC_LATENCY, 2);
        assert!(!outs[1].valid && outs[2].start);
    }

    /// Sends clean line words through the 8b/10b models: encodes every symbol
    /// (lane 0 then lane 1, one running disparity starting at `rd`), lets
    /// `hit(symbol_index, code)` alter each 10-bit code, decodes (as
    /// `Decoder8b10b` does, RD through lane 0 then lane 1). Returns the
    /// decoded words and the transmitter's RD before each symbol.
    fn through_line(
        words: &[SyncIn],
        rd: bool,
        mut hit: impl FnMut(usize, u16) -> u16,
    ) -> (Vec<SyncIn>, Vec<bool>) {
        let mut enc = Encoder::with_rd(rd);
        let mut dec = Decoder::with_rd(rd);
        let mut rds = vec![];
        let line = words
            .iter()
            .enumerate()
            .map(|(n, w)| {
                let mut out = SyncIn {
                    valid: true,
                    ..SyncIn::default()
                };
                for lane in 0..2 {
                    assert_eq!(w.err, 0);
                    rds.push(enc.rd_positive());
                    let code = enc
                        .encode((w.data >> (8 * lane)) as u8, w.k >> lane & 1 != 0)
                        .unwrap();
                    let r = dec.decode(hit(2 * n + lane, code));
                    out.data |= (r.byte as u16) << (8 * lane);
                    out.k |= (r.control as u8) << lane;
                    out.err |= ((r.code_error || r.disparity_error) as u8) << lane;
                }
                out
            })
            .collect();
        (line, rds)
    }

    /// Runs the block and the model over `line`, comparing every clock.
    fn run(dut: &mut Dut, model: &mut FrameSyncModel, line: &[SyncIn]) -> Vec<SyncOut> {
        line.iter()
            .enumerate()
            .map(|(t, i)| {
                let hw = dut.step(*i);
                assert_eq!(hw, model.step(*i), "clock {t}, input {i:?}");
                hw
            })
            .collect()
    }

    /// A random codeword whose byte 0 (the slot's high byte) is below 0x50.
    fn slot_codeword(rng: &mut impl RngCore) -> Vec<u8> {
        let mut cw = testbench::random_codeword(rng, true);
        cw[0] %= D16_2;
        cw
    }

    #[test]
    fn frame_sync_repairs_every_single_bit_error_of_the_sof() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xF5F5_2000);
        let mut dut = Dut::new();
        let mut model = FrameSyncModel::new();
        // (RD before the SOF, bit flipped): after idles, and back to back
        // behind another frame.
        let mut after_idles = HashSet::new();
        let mut back_to_back = HashSet::new();
        let mut kinds = [0usize; 3]; // code error, disparity error, clean data
        for trial in 0..6 {
            for rd in [false, true] {
                for bit in 0..10 {
                    let cws: Vec<Vec<u8>> = (0..4).map(|_| slot_codeword(&mut rng)).collect();
                    let mut words = vec![idle(); 1 + trial];
                    let mut sofs = vec![2 * words.len()];
                    words.extend(frame_line(&cws[0], &mut rng));
                    words.extend(frame_line(&cws[1], &mut rng));
                    sofs.push(2 * words.len());
                    words.extend(frame_line(&cws[2], &mut rng));
                    words.extend(vec![idle(); 2]);
                    words.extend(frame_line(&cws[3], &mut rng));
                    words.extend(vec![idle(); 3]);
                    let (line, rds) =
                        through_line(
                            &words,
                            rd,
                            |n, c| {
                                if sofs.contains(&n) {
                                    c ^ 1 << bit
                                } else {
                                    c
                                }
                            },
                        );
                    after_idles.insert((rds[sofs[0]], bit));
                    back_to_back.insert((rds[sofs[1]], bit));
                    for &n in &sofs {
                        let w = line[n / 2];
                        assert!(!is_clean_sof(&w), "{w:?}");
                        kinds[if w.err & 1 == 0 {
                            2
                        } else if w.k & 1 == 0 && w.data as u8 == 0 {
                            0
                        } else {
                            1
                        }] += 1;
                    }
                    let outs = run(&mut dut, &mut model, &line);
                    let frames = delivered(&outs);
                    assert_eq!(frames.len(), 4, "rd {rd}, bit {bit}");
                    for (f, cw) in frames.iter().zip(&cws) {
                        assert_eq!(&f.cw, cw, "rd {rd}, bit {bit}");
                    }
                    let count = |p: fn(&SyncOut) -> bool| outs.iter().filter(|o| p(o)).count();
                    assert_eq!(count(|o| o.sof_repaired), 2);
                    assert_eq!(count(|o| o.stray || o.truncated || o.dropped_sof), 0);
                }
            }
        }
        assert_eq!(after_idles.len(), 20);
        assert_eq!(back_to_back.len(), 20);
        println!("SOF hits: {kinds:?} (code error, disparity error, clean data code)");
    }

    #[test]
    fn frame_sync_single_bit_errors_in_idles_start_no_frame() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xF5F5_3000);
        let mut dut = Dut::new();
        let mut model = FrameSyncModel::new();
        // Through the 8b/10b models: every bit of either symbol of an idle
        // word at both running disparities (a hit in K28.5 may also give
        // D16.2 a disparity error).
        let mut strict_would_start = 0;
        for rd in [false, true] {
            for lane in 0..2 {
                for bit in 0..10 {
                    let cw = slot_codeword(&mut rng);
                    let mut words = vec![idle(); 7];
                    words.extend(frame_line(&cw, &mut rng));
                    words.extend(vec![idle(); 2]);
                    let (line, _) =
                        through_line(
                            &words,
                            rd,
                            |n, c| if n == 6 + lane { c ^ 1 << bit } else { c },
                        );
                    // Would a rule asking for an error-free K28.5 or D16.2
                    // start a frame here?
                    let w = line[3];
                    let l = w.data.to_le_bytes();
                    let clean0 = w.k & 1 != 0 && w.err & 1 == 0 && l[0] == K28_5;
                    let clean1 = w.k & 2 == 0 && w.err & 2 == 0 && l[1] == D16_2;
                    strict_would_start += (!clean0 && !clean1) as usize;
                    let outs = run(&mut dut, &mut model, &line);
                    let frames = delivered(&outs);
                    assert_eq!(frames.len(), 1, "rd {rd}, lane {lane}, bit {bit}");
                    assert_eq!(frames[0].cw, cw);
                    assert!(outs.iter().all(|o| !o.sof_repaired && !o.stray));
                }
            }
        }
        // Half the hits in K28.5 also give D16.2 a disparity error: the
        // idle rule has to accept a flagged D16.2 / K28.5.
        assert_eq!(strict_would_start, 10);
        // At the word level: every symbol (byte, k, err) in either lane of
        // an idle word, except a clean K27.7 in lane 0.
        let mut line = vec![];
        for lane in 0..2 {
            for v in 0..1024u16 {
                let (b, k, err) = (v as u8, (v >> 8) & 1, (v >> 9) & 1);
                let mask = !(1u8 << lane);
                let w = SyncIn {
                    data: (idle().data & !(0xFF << (8 * lane))) | (b as u16) << (8 * lane),
                    k: (idle().k & mask) | (k as u8) << lane,
                    err: (err as u8) << lane,
                    valid: true,
                };
                if !is_clean_sof(&w) {
                    line.push(w);
                }
            }
        }
        assert_eq!(line.len(), 2047);
        let cw = slot_codeword(&mut rng);
        line.extend(frame_line(&cw, &mut rng));
        line.extend(vec![idle(); 2]);
        let outs = run(&mut dut, &mut model, &line);
        let frames = delivered(&outs);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].cw, cw);
        assert!(outs.iter().all(|o| !o.sof_repaired && !o.stray));
    }

    #[test]
    fn frame_sync_loses_no_frame_to_random_symbol_errors() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xF5F5_4000);
        let mut hits = ChaCha8Rng::seed_from_u64(0xF5F5_4001);
        let mut dut = Dut::new();
        let mut model = FrameSyncModel::new();
        // Laps of back-to-back frames with one idle gap each.
        let mut words = vec![idle(); 4];
        let mut sent = vec![];
        let mut sofs = HashSet::new();
        for _ in 0..12 {
            for _ in 0..40 {
                let cw = slot_codeword(&mut rng);
                sofs.insert(2 * words.len());
                words.extend(frame_line(&cw, &mut rng));
                sent.push(cw);
            }
            words.extend(vec![idle(); rng.gen_range(1..12)]);
        }
        // One bit flipped in about one symbol in a thousand; the SOF symbols
        // are also hit one time in twenty so that repairs are common.
        let mut flips = 0;
        let (line, _) = through_line(&words, false, |n, c| {
            if hits.gen_bool(1e-3) || (sofs.contains(&n) && hits.gen_bool(0.05)) {
                flips += 1;
                c ^ 1 << hits.gen_range(0..10)
            } else {
                c
            }
        });
        let outs = run(&mut dut, &mut model, &line);
        let frames = delivered(&outs);
        assert_eq!(frames.len(), sent.len(), "frames lost");
        let mut worst = 0;
        for (f, cw) in frames.iter().zip(&sent) {
            let diff = f.cw.iter().zip(cw).filter(|(a, b)| a != b).count();
            worst = worst.max(diff);
        }
        let count = |p: fn(&SyncOut) -> bool| outs.iter().filter(|o| p(o)).count();
        let repaired = count(|o| o.sof_repaired);
        println!(
            "{} clocks, {flips} bit flips, {} frames, {repaired} starts repaired, \
             worst frame {worst} bytes wrong",
            line.len(),
            frames.len()
        );
        assert!(repaired > 10, "{repaired}");
        assert!(worst <= 4, "{worst}");
        // (A bit error that makes a clean K27.7 of a data symbol would pulse
        // `dropped_sof_out` and cost one byte; it loses no frame.)
        assert_eq!(count(|o| o.stray || o.truncated), 0);
    }

    /// A bit error can turn a data symbol into a clean K27.7. Inside a frame
    /// it must cost one byte (which RS corrects), not the frame.
    #[test]
    fn frame_sync_takes_a_false_sof_inside_a_frame_as_one_bad_byte() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xF5F5_5000);
        let mut dut = Dut::new();
        let mut model = FrameSyncModel::new();
        let mut line = vec![idle(); 4];
        let mut expect = vec![];
        let mut injected = 0;
        for lap in 0..6 {
            for _ in 0..40 {
                let cw = slot_codeword(&mut rng);
                let mut words = frame_line(&cw, &mut rng);
                let mut got = cw.clone();
                if rng.gen_bool(0.3) {
                    // Lane 0 of word w is codeword byte 2w - 1.
                    let w = rng.gen_range(1..FRAME_WORDS);
                    words[w].data = (words[w].data & 0xFF00) | K27_7 as u16;
                    words[w].k |= 1;
                    got[2 * w - 1] = 0;
                    injected += 1;
                }
                line.extend(words);
                let flagged = got != cw;
                expect.push((got, flagged));
            }
            // Laps end with an idle gap, except one lap that runs straight on.
            if lap != 2 {
                line.extend(vec![idle(); rng.gen_range(1..6)]);
            }
        }
        line.extend(vec![idle(); 2]);
        let outs = run(&mut dut, &mut model, &line);
        let frames = delivered(&outs);
        assert_eq!(frames.len(), expect.len(), "frames lost");
        for (n, (f, (cw, flagged))) in frames.iter().zip(&expect).enumerate() {
            assert_eq!(&f.cw, cw, "frame {n}");
            assert_eq!(f.error, *flagged, "frame {n}");
        }
        let count = |p: fn(&SyncOut) -> bool| outs.iter().filter(|o| p(o)).count();
        assert!(injected > 50, "{injected}");
        assert_eq!(count(|o| o.dropped_sof), injected);
        assert_eq!(
            outs.iter().map(|o| o.symbol_errors as usize).sum::<usize>(),
            injected
        );
        assert_eq!(count(|o| o.stray || o.truncated || o.sof_repaired), 0);
    }

    #[test]
    fn frame_sync_is_synthesizable() {
        let mut uut = FrameSync::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let report = fiberloop_harness::synth::synth_block(&uut, "frame_sync").unwrap();
        println!("{report:?}");
        println!("FrameSync: {} LUTs, {} FFs", report.luts(), report.ffs());
        // Measured: 121 LUTs, 68 FFs (21 of them hold the input word for the
        // look at the next word).
        assert!(report.luts() < 200, "{} LUTs", report.luts());
        assert!(report.ffs() < 80, "{} FFs", report.ffs());
    }
}

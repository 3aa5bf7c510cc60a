//! `LayerSequencer`: finds a network's layers in the loop's payload tap and
//! turns them into a weight stream with row boundaries for the MAC array.
//!
//! # What it reads
//! The loop controller's tap: every payload word of every slot, in slot
//! order, with `tap_start_in` on the first payload word of a frame,
//! `tap_slot_in` its slot and `tap_bad_in` when the frame's payload is not
//! trustworthy. The layout (see `fiberloop_spec::layout`) puts layer `k` at
//! slot boundary `first_slot(k)`, its rows of `S(k)` words back to back over
//! the payloads of consecutive slots (rows may cross slot boundaries).
//!
//! # Layer table
//! Up to [`MAX_LAYERS`] entries, written by the host one at a time
//! (`table_we` with `table_addr` and `table_data`), each packed as
//! [`LayerEntry`] does it: bits 15:0 first slot, 31:16 rows (outputs, >= 1),
//! 47:32 row stride in words (>= 1), 63:48 the index of the layer's row 0
//! in the per-output parameter memory (so `w_param_out` = that + row). `n_layers_in` says how many are used.
//! Do not write the table while `busy_out` is high.
//!
//! # One inference
//! `arm` starts it (from any state). The sequencer waits for the first
//! payload word of layer 0's first slot, streams that layer's `rows x S`
//! words, then waits for layer 1's first slot, and so on; after the last
//! layer `done_out` rises. Each streamed word comes out on `w_data_out` with
//! `w_valid_out`, `w_first_out` on word 0 of a row, `w_last_out` on word
//! `S - 1`, `w_row_out` the row (output channel), `w_word_out` the word's
//! index in the row (word `m` carries weights of inputs `2m` and `2m + 1`),
//! `w_layer_out` the layer, `w_param_out` the row's parameter index. `layer_done_out` comes with the last word of each
//! layer. Tap words between layers (gap slots, the leftover words of a
//! layer's last slot, other slots) are not streamed. If any streamed word
//! came from a frame marked bad, `bad_out` rises and stays high until the
//! next `arm`: the results of that inference must not be trusted (the host
//! refills the slot and runs it again).
//!
//! The next layer's entry is read from the table one clock after a layer
//! ends, so a layer's first word must come at least two clocks after the
//! previous layer's last word; the frame format guarantees 14 (the
//! non-payload words of a frame), and the layout a whole slot boundary.
//!
//! Latency: 1 clock from a tap word to its weight word. Throughput: one word
//! per clock, never stalls. Reset: `reset` (synchronous) stops any inference
//! and clears `busy_out`, `done_out` and `bad_out`; the table is kept.

use crate::bundles::{LayerTablePort, TapIn};
use rust_hdl::prelude::*;

pub use fiberloop_spec::engine::{LayerEntry, MAX_LAYERS};

/// The layer sequencer. See the module documentation.
#[derive(LogicBlock)]
pub struct LayerSequencer {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Payload tap of the loop controller.
    pub tap: TapIn,
    /// Layer table: entries packed as [`LayerEntry::pack`], and the
    /// number of layers in the network, 1..=8.
    pub layers: LayerTablePort,
    /// Strobe: start an inference.
    pub arm: Signal<In, Bit>,
    /// Weight word.
    pub w_data_out: Signal<Out, Bits<16>>,
    /// `w_data_out` is a weight word of the current layer.
    pub w_valid_out: Signal<Out, Bit>,
    /// First word of a row.
    pub w_first_out: Signal<Out, Bit>,
    /// Last word of a row.
    pub w_last_out: Signal<Out, Bit>,
    /// Row (output channel) of the word.
    pub w_row_out: Signal<Out, Bits<16>>,
    /// Index of the word in its row.
    pub w_word_out: Signal<Out, Bits<16>>,
    /// Layer of the word.
    pub w_layer_out: Signal<Out, Bits<3>>,
    /// Parameter-memory index of the word's row.
    pub w_param_out: Signal<Out, Bits<16>>,
    /// Strobe with the last word of a layer.
    pub layer_done_out: Signal<Out, Bit>,
    /// An inference is in progress.
    pub busy_out: Signal<Out, Bit>,
    /// Sticky until `arm`: the last inference streamed all its layers.
    pub done_out: Signal<Out, Bit>,
    /// Sticky until `arm`: a streamed word came from a bad frame.
    pub bad_out: Signal<Out, Bit>,

    // (A field named `table` is a Verilog keyword: Verilator rejects it.)
    entries: RAM<Bits<64>, 3>,
    // State.
    busy: DFF<Bit>,
    streaming: DFF<Bit>,
    layer: DFF<Bits<3>>,
    row: DFF<Bits<16>>,
    word: DFF<Bits<16>>,
    done: DFF<Bit>,
    bad: DFF<Bit>,
    // Output registers.
    w_data: DFF<Bits<16>>,
    w_valid: DFF<Bit>,
    w_first: DFF<Bit>,
    w_last: DFF<Bit>,
    w_row: DFF<Bits<16>>,
    w_word: DFF<Bits<16>>,
    w_layer: DFF<Bits<3>>,
    w_param: DFF<Bits<16>>,
    layer_done: DFF<Bit>,
    // Combinational.
    e_first_slot: Signal<Local, Bits<16>>,
    e_rows: Signal<Local, Bits<16>>,
    e_row_words: Signal<Local, Bits<16>>,
    e_param_base: Signal<Local, Bits<16>>,
    take: Signal<Local, Bit>,
    cur_word: Signal<Local, Bits<16>>,
    cur_row: Signal<Local, Bits<16>>,
    row_end: Signal<Local, Bit>,
    layer_end: Signal<Local, Bit>,
    // Terms of the registers and the table entry alone, computed beside
    // the tap's slot compare rather than after it (timing).
    slot_hit: Signal<Local, Bit>,
    start_now: Signal<Local, Bit>,
    /// A tap word continues the layer being streamed.
    pre_stream: Signal<Local, Bit>,
    /// A tap word would start the layer if it is its first slot's.
    pre_start: Signal<Local, Bit>,
    /// The word continuing the layer is its last.
    fin_stream: Signal<Local, Bit>,
    /// A word starting the layer would be its last (one row of one word).
    fin_start: Signal<Local, Bit>,
    /// The layer ends with this word (`take & layer_end`, with the slot
    /// compare as late as it can be).
    end_now: Signal<Local, Bit>,
    word_last: Signal<Local, Bit>,
    row_last: Signal<Local, Bit>,
    one_word: Signal<Local, Bit>,
    one_row: Signal<Local, Bit>,
    word_zero: Signal<Local, Bit>,
    last_layer: Signal<Local, Bit>,
    word_inc: Signal<Local, Bits<16>>,
    row_inc: Signal<Local, Bits<16>>,
    param_row: Signal<Local, Bits<16>>,
    // Constants.
    one16: Constant<Bits<16>>,
    one3: Constant<Bits<3>>,
    zero16: Constant<Bits<16>>,
}

impl Default for LayerSequencer {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            tap: Default::default(),
            layers: Default::default(),
            arm: Default::default(),
            w_data_out: Default::default(),
            w_valid_out: Default::default(),
            w_first_out: Default::default(),
            w_last_out: Default::default(),
            w_row_out: Default::default(),
            w_word_out: Default::default(),
            w_layer_out: Default::default(),
            w_param_out: Default::default(),
            layer_done_out: Default::default(),
            busy_out: Default::default(),
            done_out: Default::default(),
            bad_out: Default::default(),
            entries: RAM::new(Default::default()),
            busy: Default::default(),
            streaming: Default::default(),
            layer: Default::default(),
            row: Default::default(),
            word: Default::default(),
            done: Default::default(),
            bad: Default::default(),
            w_data: Default::default(),
            w_valid: Default::default(),
            w_first: Default::default(),
            w_last: Default::default(),
            w_row: Default::default(),
            w_word: Default::default(),
            w_layer: Default::default(),
            w_param: Default::default(),
            layer_done: Default::default(),
            e_first_slot: Default::default(),
            e_rows: Default::default(),
            e_row_words: Default::default(),
            e_param_base: Default::default(),
            take: Default::default(),
            cur_word: Default::default(),
            cur_row: Default::default(),
            row_end: Default::default(),
            layer_end: Default::default(),
            slot_hit: Default::default(),
            pre_stream: Default::default(),
            pre_start: Default::default(),
            fin_stream: Default::default(),
            fin_start: Default::default(),
            end_now: Default::default(),
            start_now: Default::default(),
            word_last: Default::default(),
            row_last: Default::default(),
            one_word: Default::default(),
            one_row: Default::default(),
            word_zero: Default::default(),
            last_layer: Default::default(),
            word_inc: Default::default(),
            row_inc: Default::default(),
            param_row: Default::default(),
            one16: Constant::new(1u64.to_bits()),
            one3: Constant::new(1u64.to_bits()),
            zero16: Constant::new(0u64.to_bits()),
        }
    }
}

// Parentheses around mixed expressions are required: rust-hdl 0.46 emits
// Verilog without them.
#[allow(unused_parens)]
impl Logic for LayerSequencer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, busy, streaming, layer, row, word, done, bad, w_data, w_valid, w_first,
            w_last, w_row, w_word, w_layer, w_param, layer_done
        );
        self.entries.read_clock.next = self.clock.val();
        self.entries.write_clock.next = self.clock.val();
        self.entries.write_enable.next = self.layers.we.val();
        self.entries.write_address.next = self.layers.addr.val();
        self.entries.write_data.next = self.layers.data.val();
        // The entry of the current layer (read one clock after `layer`
        // changes).
        self.entries.read_address.next = self.layer.q.val();
        self.e_first_slot.next = self.entries.read_data.val().get_bits::<16>(0);
        self.e_rows.next = self.entries.read_data.val().get_bits::<16>(16);
        self.e_row_words.next = self.entries.read_data.val().get_bits::<16>(32);
        self.e_param_base.next = self.entries.read_data.val().get_bits::<16>(48);

        // A tap word is taken if it continues the layer being streamed, or
        // is the first payload word of the current layer's first slot.
        // Written so that no adder sits behind the slot compare: the row and
        // layer ends compare registers with the entry (`word + 1 == S` is
        // `word == S - 1`), and the tap only selects among the results.
        self.word_last.next = (self.word.q.val() == (self.e_row_words.val() - self.one16.val()));
        self.row_last.next = (self.row.q.val() == (self.e_rows.val() - self.one16.val()));
        self.one_word.next = (self.e_row_words.val() == self.one16.val());
        self.one_row.next = (self.e_rows.val() == self.one16.val());
        self.word_zero.next = (self.word.q.val() == self.zero16.val());
        self.last_layer.next =
            ((bit_cast::<4, 3>(self.layer.q.val()) + 1) == self.layers.n_layers.val());
        self.word_inc.next = (self.word.q.val() + self.one16.val());
        self.row_inc.next = (self.row.q.val() + self.one16.val());
        self.param_row.next = (self.e_param_base.val() + self.row.q.val());
        self.slot_hit.next =
            (self.tap.start.val() & (self.tap.slot.val() == self.e_first_slot.val()));
        self.pre_stream.next = (self.busy.q.val() & self.tap.valid.val() & self.streaming.q.val());
        self.pre_start.next =
            (self.busy.q.val() & self.tap.valid.val() & (!self.streaming.q.val()));
        self.fin_stream.next = (self.pre_stream.val() & self.word_last.val() & self.row_last.val());
        self.fin_start.next = (self.pre_start.val() & self.one_word.val() & self.one_row.val());
        self.start_now.next = (self.pre_start.val() & self.slot_hit.val());
        self.take.next = (self.pre_stream.val() | self.start_now.val());
        self.end_now.next = (self.fin_stream.val() | (self.fin_start.val() & self.slot_hit.val()));
        self.cur_word.next = self.word.q.val();
        self.cur_row.next = self.row.q.val();
        self.row_end.next = self.word_last.val();
        self.layer_end.next = (self.word_last.val() & self.row_last.val());
        self.w_first.d.next = (self.take.val() & self.word_zero.val());
        self.w_param.d.next = self.param_row.val();
        if self.start_now.val() {
            self.cur_word.next = self.zero16.val();
            self.cur_row.next = self.zero16.val();
            self.row_end.next = self.one_word.val();
            self.layer_end.next = (self.one_word.val() & self.one_row.val());
            self.w_first.d.next = true;
            self.w_param.d.next = self.e_param_base.val();
        }

        self.w_data.d.next = self.tap.data.val();
        self.w_valid.d.next = self.take.val();
        self.w_last.d.next = (self.take.val() & self.row_end.val());
        self.w_row.d.next = self.cur_row.val();
        self.w_word.d.next = self.cur_word.val();
        self.w_layer.d.next = self.layer.q.val();
        self.layer_done.d.next = (self.take.val() & self.layer_end.val());

        if self.take.val() {
            if self.row_end.val() {
                self.word.d.next = self.zero16.val();
                if self.start_now.val() {
                    self.row.d.next = self.one16.val();
                } else {
                    self.row.d.next = self.row_inc.val();
                }
            } else if self.start_now.val() {
                self.word.d.next = self.one16.val();
                self.row.d.next = self.zero16.val();
            } else {
                self.word.d.next = self.word_inc.val();
            }
            if self.tap.bad.val() {
                self.bad.d.next = true;
            }
        }
        // Flat, so that the slot compare feeds few gates (the same as
        // `take` then `layer_end` nested).
        if self.take.val() {
            self.streaming.d.next = true;
        }
        if self.end_now.val() {
            self.streaming.d.next = false;
            self.layer.d.next = (self.layer.q.val() + self.one3.val());
        }
        if (self.end_now.val() & self.last_layer.val()) {
            self.busy.d.next = false;
            self.done.d.next = true;
        }

        if self.arm.val() {
            self.busy.d.next = true;
            self.streaming.d.next = false;
            self.layer.d.next = 0.into();
            self.done.d.next = false;
            self.bad.d.next = false;
        }
        if self.reset.val() {
            self.busy.d.next = false;
            self.streaming.d.next = false;
            self.layer.d.next = 0.into();
            self.done.d.next = false;
            self.bad.d.next = false;
            self.w_valid.d.next = false;
            self.w_first.d.next = false;
            self.w_last.d.next = false;
            self.layer_done.d.next = false;
        }

        self.w_data_out.next = self.w_data.q.val();
        self.w_valid_out.next = self.w_valid.q.val();
        self.w_first_out.next = self.w_first.q.val();
        self.w_last_out.next = self.w_last.q.val();
        self.w_row_out.next = self.w_row.q.val();
        self.w_word_out.next = self.w_word.q.val();
        self.w_layer_out.next = self.w_layer.q.val();
        self.w_param_out.next = self.w_param.q.val();
        self.layer_done_out.next = self.layer_done.q.val();
        self.busy_out.next = self.busy.q.val();
        self.done_out.next = self.done.q.val();
        self.bad_out.next = self.bad.q.val();
    }
}

/// One clock's inputs of [`LayerSequencer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqIn {
    /// `reset`.
    pub reset: bool,
    /// `tap_data_in`.
    pub tap_data: u16,
    /// `tap_valid_in`.
    pub tap_valid: bool,
    /// `tap_start_in`.
    pub tap_start: bool,
    /// `tap_slot_in`.
    pub tap_slot: u16,
    /// `tap_bad_in`.
    pub tap_bad: bool,
    /// Table write: (entry, packed data).
    pub table_write: Option<(u8, u64)>,
    /// `n_layers_in`.
    pub n_layers: u8,
    /// `arm`.
    pub arm: bool,
}

/// One clock's outputs of [`LayerSequencer`], sampled before the edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqOut {
    /// `w_data_out`.
    pub data: u16,
    /// `w_valid_out`.
    pub valid: bool,
    /// `w_first_out`.
    pub first: bool,
    /// `w_last_out`.
    pub last: bool,
    /// `w_row_out`.
    pub row: u16,
    /// `w_word_out`.
    pub word: u16,
    /// `w_layer_out`.
    pub layer: u8,
    /// `w_param_out`.
    pub param: u16,
    /// `layer_done_out`.
    pub layer_done: bool,
    /// `busy_out`.
    pub busy: bool,
    /// `done_out`.
    pub done: bool,
    /// `bad_out`.
    pub bad: bool,
}

/// Cycle-level reference model of [`LayerSequencer`].
#[derive(Clone, Debug, Default)]
pub struct SequencerModel {
    table: [LayerEntry; MAX_LAYERS],
    /// The table entry as the RAM's registered read presents it this clock.
    entry: LayerEntry,
    busy: bool,
    streaming: bool,
    layer: u8,
    row: u16,
    word: u16,
    done: bool,
    bad: bool,
    out: SeqOut,
}

impl SequencerModel {
    /// The power-up state (empty table).
    pub fn new() -> Self {
        Self::default()
    }

    /// Outputs of this clock, then the clock edge with inputs `i`.
    pub fn step(&mut self, i: SeqIn) -> SeqOut {
        let mut out = self.out;
        out.busy = self.busy;
        out.done = self.done;
        out.bad = self.bad;
        let e = self.entry;
        let mut take = false;
        let (mut cur_word, mut cur_row) = (self.word, self.row);
        if self.busy && i.tap_valid {
            if self.streaming {
                take = true;
            } else if i.tap_start && i.tap_slot == e.first_slot {
                take = true;
                cur_word = 0;
                cur_row = 0;
            }
        }
        let row_end = cur_word.wrapping_add(1) == e.row_words;
        let layer_end = row_end && cur_row.wrapping_add(1) == e.rows;
        let mut next = SeqOut {
            data: i.tap_data,
            valid: take,
            first: take && cur_word == 0,
            last: take && row_end,
            row: cur_row,
            word: cur_word,
            layer: self.layer,
            param: e.param_base.wrapping_add(cur_row),
            layer_done: take && layer_end,
            ..SeqOut::default()
        };
        let layer_before = self.layer;
        if take {
            self.streaming = true;
            self.word = cur_word.wrapping_add(1);
            self.row = cur_row;
            if row_end {
                self.word = 0;
                self.row = cur_row.wrapping_add(1);
            }
            if i.tap_bad {
                self.bad = true;
            }
            if layer_end {
                self.streaming = false;
                self.layer = (self.layer + 1) % MAX_LAYERS as u8;
                if layer_before + 1 == i.n_layers {
                    self.busy = false;
                    self.done = true;
                }
            }
        }
        if i.arm {
            self.busy = true;
            self.streaming = false;
            self.layer = 0;
            self.done = false;
            self.bad = false;
        }
        if i.reset {
            self.busy = false;
            self.streaming = false;
            self.layer = 0;
            self.done = false;
            self.bad = false;
            next.valid = false;
            next.first = false;
            next.last = false;
            next.layer_done = false;
        }
        // The RAM reads the entry of the layer register as it was before
        // this edge; a write to that entry in this clock is seen next clock
        // by the read (read-before-write).
        self.entry = self.table[layer_before as usize];
        if let Some((a, d)) = i.table_write {
            self.table[a as usize % MAX_LAYERS] = LayerEntry::unpack(d);
        }
        self.out = next;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::{Model, Port};
    use fiberloop_spec::layout::{LayerShape, Params, Planner, SLOT_WORDS};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    struct Dut {
        m: Model,
        p: Vec<Port>,
    }

    const IN: [&str; 12] = [
        "clock",
        "reset",
        "tap$data",
        "tap$valid",
        "tap$start",
        "tap$slot",
        "tap$bad",
        "layers$we",
        "layers$addr",
        "layers$data",
        "layers$n_layers",
        "arm",
    ];
    const OUT: [&str; 12] = [
        "w_data_out",
        "w_valid_out",
        "w_first_out",
        "w_last_out",
        "w_row_out",
        "w_word_out",
        "w_layer_out",
        "layer_done_out",
        "busy_out",
        "done_out",
        "bad_out",
        "w_param_out",
    ];

    impl Dut {
        fn new() -> Self {
            let mut uut = LayerSequencer::default();
            uut.connect_all();
            let m = Model::of_block(&uut).unwrap();
            let p = IN.iter().chain(OUT.iter()).map(|n| m.p(n)).collect();
            Dut { m, p }
        }

        fn step(&mut self, i: SeqIn) -> SeqOut {
            let (m, p) = (&mut self.m, &self.p);
            m.set(p[0], 0);
            m.set(p[1], i.reset as u64);
            m.set(p[2], i.tap_data as u64);
            m.set(p[3], i.tap_valid as u64);
            m.set(p[4], i.tap_start as u64);
            m.set(p[5], i.tap_slot as u64);
            m.set(p[6], i.tap_bad as u64);
            let (we, a, d) = match i.table_write {
                Some((a, d)) => (1, a as u64, d),
                None => (0, 0, 0),
            };
            m.set(p[7], we);
            m.set(p[8], a);
            m.set(p[9], d);
            m.set(p[10], i.n_layers as u64);
            m.set(p[11], i.arm as u64);
            m.eval();
            let g = |k: usize| m.get(p[12 + k]);
            let o = SeqOut {
                data: g(0) as u16,
                valid: g(1) != 0,
                first: g(2) != 0,
                last: g(3) != 0,
                row: g(4) as u16,
                word: g(5) as u16,
                layer: g(6) as u8,
                layer_done: g(7) != 0,
                busy: g(8) != 0,
                done: g(9) != 0,
                bad: g(10) != 0,
                param: g(11) as u16,
            };
            m.set(p[0], 1);
            m.eval();
            o
        }
    }

    /// The (layer, row, word in row) a payload word belongs to, if any.
    type Owner = Option<(u8, u16, u16)>;

    /// A random network plan and the slot images it gives, with every
    /// weight word marked by (layer, row, word) so the stream can be
    /// checked independently of the model.
    struct Net {
        entries: Vec<LayerEntry>,
        /// Per slot, per payload word: Some((layer, row, word in row)).
        owner: Vec<Vec<Owner>>,
        slots: usize,
    }

    fn random_net(rng: &mut ChaCha8Rng) -> Net {
        let n_layers = rng.gen_range(1..=MAX_LAYERS);
        let params = Params {
            batch: rng.gen_range(1..=8),
            gap_words: rng.gen_range(0..=150),
        };
        let mut planner = Planner::new(params).unwrap();
        let mut entries = vec![];
        let mut places = vec![];
        for _ in 0..n_layers {
            let shape = LayerShape {
                inputs: rng.gen_range(1..=300),
                outputs: rng.gen_range(1..=40),
            };
            let pl = planner.push(shape).unwrap();
            entries.push(LayerEntry {
                first_slot: pl.first_slot as u16,
                rows: pl.outputs as u16,
                row_words: pl.row_words as u16,
                param_base: entries.iter().map(|e: &LayerEntry| e.rows).sum(),
            });
            places.push(pl);
        }
        let slots = planner.total_slots() + rng.gen_range(0..3);
        let mut owner = vec![vec![None; SLOT_WORDS]; slots];
        for (k, pl) in places.iter().enumerate() {
            for n in 0..pl.outputs * pl.row_words {
                let (s, w) = (pl.first_slot + n / SLOT_WORDS, n % SLOT_WORDS);
                assert!(owner[s][w].is_none());
                owner[s][w] = Some((
                    k as u8,
                    (n / pl.row_words) as u16,
                    (n % pl.row_words) as u16,
                ));
            }
        }
        Net {
            entries,
            owner,
            slots,
        }
    }

    /// Tap words of `laps` laps of the loop holding `net`, starting at
    /// slot `from`: payload words with the non-payload words of each frame
    /// (14) and a random lap gap as idle clocks; payload data is random.
    fn tap_laps(
        net: &Net,
        from: usize,
        laps: usize,
        bad_slot: Option<usize>,
        rng: &mut ChaCha8Rng,
    ) -> Vec<(SeqIn, Owner)> {
        let mut v = vec![];
        let gap = rng.gen_range(0..128);
        for lap in 0..laps {
            let start = if lap == 0 { from } else { 0 };
            for s in start..net.slots {
                for _ in 0..14 {
                    v.push((SeqIn::default(), None));
                }
                for w in 0..SLOT_WORDS {
                    v.push((
                        SeqIn {
                            tap_data: rng.gen(),
                            tap_valid: true,
                            tap_start: w == 0,
                            tap_slot: s as u16,
                            tap_bad: bad_slot == Some(s),
                            ..SeqIn::default()
                        },
                        net.owner[s][w],
                    ));
                }
            }
            for _ in 0..gap {
                v.push((SeqIn::default(), None));
            }
        }
        v
    }

    #[test]
    fn sequencer_streams_every_layer_in_order_against_model_and_layout() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x5E9_0001);
        let mut dut = Dut::new();
        let mut model = SequencerModel::new();
        let mut step = |i: SeqIn| {
            let o = dut.step(i);
            assert_eq!(o, model.step(i), "input {i:?}");
            o
        };
        step(SeqIn {
            reset: true,
            ..SeqIn::default()
        });
        let mut inferences = 0;
        let mut words = 0usize;
        for case in 0..60 {
            let net = random_net(&mut rng);
            let n = net.entries.len() as u8;
            for (k, e) in net.entries.iter().enumerate() {
                step(SeqIn {
                    table_write: Some((k as u8, e.pack())),
                    n_layers: n,
                    ..SeqIn::default()
                });
            }
            // Arm somewhere in the lap; a bad frame in one case of four.
            let from = rng.gen_range(0..net.slots);
            let bad_slot = if case % 4 == 3 {
                Some(rng.gen_range(0..net.slots))
            } else {
                None
            };
            step(SeqIn {
                arm: true,
                n_layers: n,
                ..SeqIn::default()
            });
            let mut expect = vec![];
            let mut got = vec![];
            let mut bad_expected = false;
            let lap_words = tap_laps(&net, from, 3, bad_slot, &mut rng);
            // The inference starts at layer 0's first slot after the arm,
            // then takes one pass of every layer.
            let mut started = false;
            let mut next_layer = 0u8;
            for (i, owner) in lap_words {
                let i = SeqIn { n_layers: n, ..i };
                let o = step(i);
                if o.valid {
                    got.push((o.layer, o.row, o.word, o.data, o.first, o.last));
                    let e = net.entries[o.layer as usize];
                    assert_eq!(o.param, e.param_base + o.row);
                }
                if let Some((k, row, w)) = owner {
                    if i.tap_start && k == next_layer && row == 0 && w == 0 {
                        started = true;
                    }
                    if started && k == next_layer {
                        let e = net.entries[k as usize];
                        expect.push((k, row, w, i.tap_data, w == 0, w + 1 == e.row_words));
                        bad_expected |= i.tap_bad;
                        if row + 1 == e.rows && w + 1 == e.row_words {
                            // The next layer starts at its own first slot.
                            started = false;
                            next_layer += 1;
                            if next_layer == n {
                                next_layer = u8::MAX;
                            }
                        }
                    }
                }
            }
            let o = step(SeqIn {
                n_layers: n,
                ..SeqIn::default()
            });
            if o.valid {
                got.push((o.layer, o.row, o.word, o.data, o.first, o.last));
            }
            assert_eq!(got.len(), expect.len(), "case {case}");
            assert_eq!(got, expect, "case {case}");
            assert!(o.done && !o.busy, "case {case}: {o:?}");
            assert_eq!(o.bad, bad_expected, "case {case}");
            inferences += 1;
            words += got.len();
        }
        assert!(words > 50_000, "{words}");
        println!("{inferences} inferences, {words} weight words streamed");
    }

    #[test]
    fn sequencer_matches_model_on_random_inputs() {
        // Unstructured stimulus: random table writes, arms, resets and tap
        // words, to exercise every path against the model.
        let mut rng = ChaCha8Rng::seed_from_u64(0x5E9_0002);
        let mut dut = Dut::new();
        let mut model = SequencerModel::new();
        for t in 0..100_000 {
            let i = SeqIn {
                reset: rng.gen_bool(0.001),
                tap_data: rng.gen(),
                tap_valid: rng.gen_bool(0.8),
                tap_start: rng.gen_bool(0.05),
                tap_slot: rng.gen_range(0..6),
                tap_bad: rng.gen_bool(0.01),
                table_write: rng.gen_bool(0.01).then(|| {
                    (
                        rng.gen_range(0..8),
                        LayerEntry {
                            first_slot: rng.gen_range(0..6),
                            rows: rng.gen_range(0..5),
                            row_words: rng.gen_range(0..20),
                            param_base: rng.gen(),
                        }
                        .pack(),
                    )
                }),
                n_layers: rng.gen_range(0..=8),
                arm: rng.gen_bool(0.002),
            };
            assert_eq!(dut.step(i), model.step(i), "clock {t}, {i:?}");
        }
    }

    #[test]
    fn layer_sequencer_synthesizes() {
        let mut uut = LayerSequencer::default();
        uut.connect_all();
        let r = fiberloop_harness::synth::synth_block(&uut, "layer_sequencer").unwrap();
        println!("layer sequencer: {r}");
        assert!(r.luts() < 400, "{r}");
    }
}

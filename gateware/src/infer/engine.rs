//! `InferenceEngine<B>`: a whole multi-layer int8 inference of a batch of
//! `B` input vectors, with the weights read from the loop's payload tap.
//!
//! ```text
//! tap -> LayerSequencer -> (1 clock) -> MacArray<B> -> y stream -+
//!            |  w_param -> parameter RAM ---^   ^                 |
//!            |  w_word  -> ActivationBuffer<B> -+ (read bank)     |
//!            |                   ^ (write bank) <-----------------+
//!            +-- layer_done -> drain countdown -> bank swap
//! ```
//!
//! # Use
//! 1. The host writes the layer table (see [`LayerSequencer`]; `host.layers`)
//!    and the per-output parameters (`host.param_we`,
//!    `param_addr`, `param_data` packed as [`ParamEntry::pack`]: one entry
//!    per output row of every layer, layer `k`'s row `j` at the layer's
//!    `param_base + j`).
//! 2. The host writes the batch's inputs (`in_we`, `in_row` = batch row,
//!    `in_index` = input index, `in_data` = int8) into the activation
//!    buffer's write bank. Writes are ignored while `host.busy` is high.
//! 3. `start`: the banks swap (the inputs become the read bank) and the
//!    sequencer is armed. As each layer passes on the tap, the array
//!    computes it from the read bank and writes its int8 outputs into the
//!    write bank; [`DRAIN_CLOCKS`] after a layer's last word the banks swap,
//!    so the next layer reads them. The layout's gap between layers
//!    (`fiberloop_spec::layout::Params::gap_words`) must be at least
//!    [`DRAIN_CLOCKS`] + 2 words.
//! 4. `host.done` rises when the last layer's outputs are in the read bank;
//!    the host reads them with `out_row` and `out_word` (outputs `2a`,
//!    `2a + 1` of batch row `out_row` on `out_data` one clock later, lane 0
//!    first). `bad_out` says a weight frame was marked bad during the
//!    inference: its results must not be trusted.
//!
//! The accumulator and result streams of the array are brought out
//! (`acc_*`, `y_*`, with the layer) for tests and counters.
//!
//! Latency: a whole inference completes within two laps of `start` (one
//! to wait for layer 0's first slot, one for the layers). Throughput: one
//! weight word (2B MACs) per clock, never stalls. Reset: `reset` stops an
//! inference and clears the flags; memories keep their contents.

use crate::bundles::{EnginePort, LayerTablePort, TapIn};
use crate::infer::sequencer::LayerSequencer;
use crate::mac::activations::{ActivationBuffer, WORD_ADDR_BITS};
use crate::mac::array::{MacArray, INDEX_BITS, ROW_BITS, Y_LATENCY};
use rust_hdl::prelude::*;

pub use fiberloop_spec::engine::{ParamEntry, PARAM_ADDR_BITS, PARAM_BITS, PARAM_ENTRIES};

/// Clocks from a layer's `layer_done` (sequencer output) to the bank swap:
/// one clock into the array, [`Y_LATENCY`] to batch row 0's result, and
/// `B - 1` more rows; the swap may share the clock of the last write.
pub const fn drain_clocks(batch: usize) -> usize {
    1 + Y_LATENCY + batch - 1
}

/// [`drain_clocks`] of the default batch of 8.
pub const DRAIN_CLOCKS: usize = drain_clocks(8);

/// The inference engine. See the module documentation.
#[derive(LogicBlock)]
pub struct InferenceEngine<const B: usize> {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Payload tap of the loop controller.
    pub tap: TapIn,
    /// Host port: layer table, parameters, inputs, start, outputs and
    /// flags (see the module documentation).
    pub host: EnginePort,
    /// Accumulator stream: value.
    pub acc_out: Signal<Out, Bits<32>>,
    /// Accumulator stream: valid.
    pub acc_valid_out: Signal<Out, Bit>,
    /// Accumulator stream: batch row.
    pub acc_row_out: Signal<Out, Bits<ROW_BITS>>,
    /// Accumulator stream: output index.
    pub acc_index_out: Signal<Out, Bits<INDEX_BITS>>,
    /// Result stream: int8.
    pub y_out: Signal<Out, Bits<8>>,
    /// Result stream: valid.
    pub y_valid_out: Signal<Out, Bit>,
    /// Result stream: batch row.
    pub y_row_out: Signal<Out, Bits<ROW_BITS>>,
    /// Result stream: output index.
    pub y_index_out: Signal<Out, Bits<INDEX_BITS>>,

    seq: LayerSequencer,
    array: MacArray<B>,
    acts: ActivationBuffer<B>,
    params: RAM<Bits<PARAM_BITS>, PARAM_ADDR_BITS>,
    // The weight word and its flags, one clock after the sequencer (when
    // the parameters and activations of its row are read).
    w_data: DFF<Bits<16>>,
    w_valid: DFF<Bit>,
    w_first: DFF<Bit>,
    w_last: DFF<Bit>,
    w_row: DFF<Bits<16>>,
    // Drain countdown after a layer's last word; swap at 1.
    drain: DFF<Bits<6>>,
    done: DFF<Bit>,
    busy: Signal<Local, Bit>,
    row_ids: [Constant<Bits<ROW_BITS>>; B],
    k_drain: Constant<Bits<6>>,
}

impl<const B: usize> Default for InferenceEngine<B> {
    fn default() -> Self {
        assert!(drain_clocks(B) < 64);
        Self {
            clock: Default::default(),
            reset: Default::default(),
            tap: Default::default(),
            host: Default::default(),
            acc_out: Default::default(),
            acc_valid_out: Default::default(),
            acc_row_out: Default::default(),
            acc_index_out: Default::default(),
            y_out: Default::default(),
            y_valid_out: Default::default(),
            y_row_out: Default::default(),
            y_index_out: Default::default(),
            seq: Default::default(),
            array: Default::default(),
            acts: Default::default(),
            params: RAM::new(Default::default()),
            w_data: Default::default(),
            w_valid: Default::default(),
            w_first: Default::default(),
            w_last: Default::default(),
            w_row: Default::default(),
            drain: Default::default(),
            done: Default::default(),
            busy: Default::default(),
            row_ids: std::array::from_fn(|b| Constant::new((b as u64).to_bits())),
            k_drain: Constant::new((drain_clocks(B) as u64).to_bits()),
        }
    }
}

// Parentheses around mixed expressions are required: rust-hdl 0.46 emits
// Verilog without them.
#[allow(unused_parens)]
impl<const B: usize> Logic for InferenceEngine<B> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, w_data, w_valid, w_first, w_last, w_row, drain, done);
        // Busy from `start` to the last layer's drained outputs (the
        // sequencer's last `layer_done` comes the clock its busy falls).
        self.busy.next =
            (self.seq.busy_out.val() | self.seq.layer_done_out.val() | self.drain.q.val().any());
        // ---- sequencer ----
        self.seq.clock.next = self.clock.val();
        self.seq.reset.next = self.reset.val();
        TapIn::link(&mut self.tap, &mut self.seq.tap);
        LayerTablePort::link(&mut self.host.layers, &mut self.seq.layers);
        self.seq.arm.next = (self.host.start.val() & (!self.busy.val()));

        // ---- parameters: read with the sequencer's word, used a clock later
        self.params.read_clock.next = self.clock.val();
        self.params.write_clock.next = self.clock.val();
        self.params.write_enable.next = self.host.param_we.val();
        self.params.write_address.next = self.host.param_addr.val();
        self.params.write_data.next = self.host.param_data.val();
        self.params.read_address.next = self.seq.w_param_out.val().get_bits::<PARAM_ADDR_BITS>(0);

        self.w_data.d.next = self.seq.w_data_out.val();
        self.w_valid.d.next = self.seq.w_valid_out.val();
        self.w_first.d.next = self.seq.w_first_out.val();
        self.w_last.d.next = self.seq.w_last_out.val();
        self.w_row.d.next = self.seq.w_row_out.val();

        // ---- activations ----
        self.acts.clock.next = self.clock.val();
        self.acts.read_address_in.next = self.host.out_word.val();
        // (By the sequencer's valid, not its busy: busy falls with the last
        // word of the last layer, whose activations are still to be read.)
        if self.seq.w_valid_out.val() {
            self.acts.read_address_in.next =
                self.seq.w_word_out.val().get_bits::<WORD_ADDR_BITS>(0);
        }
        self.acts.write_in.next = (self.host.in_we.val() & (!self.busy.val()));
        self.acts.write_row_in.next = self.host.in_row.val();
        self.acts.write_index_in.next = self.host.in_index.val();
        self.acts.write_data_in.next = self.host.in_data.val();
        if self.busy.val() {
            self.acts.write_in.next = self.array.y_valid_out.val();
            self.acts.write_row_in.next = self.array.y_row_out.val();
            self.acts.write_index_in.next = self.array.y_index_out.val().get_bits::<11>(0);
            self.acts.write_data_in.next = self.array.y_out.val();
        }
        self.host.out_data.next = self.acts.act_out[0].val();
        for b in 0..B {
            if self.host.out_row.val() == self.row_ids[b].val() {
                self.host.out_data.next = self.acts.act_out[b].val();
            }
        }

        // ---- the array ----
        self.array.clock.next = self.clock.val();
        self.array.weight_in.next = self.w_data.q.val();
        self.array.valid_in.next = self.w_valid.q.val();
        self.array.first_in.next = self.w_first.q.val();
        self.array.last_in.next = self.w_last.q.val();
        for b in 0..B {
            self.array.act_in[b].next = self.acts.act_out[b].val();
        }
        self.array.bias_in.next = self.params.read_data.val().get_bits::<32>(0);
        self.array.multiplier_in.next = self.params.read_data.val().get_bits::<32>(32);
        self.array.shift_in.next = self.params.read_data.val().get_bits::<5>(64);
        self.array.zero_point_in.next = self.params.read_data.val().get_bits::<8>(69);
        self.array.relu_in.next = self.params.read_data.val().get_bit(77);
        self.array.index_in.next = self.w_row.q.val().get_bits::<INDEX_BITS>(0);
        self.array.clear_in.next = self.host.start.val();

        // ---- bank swaps: at start, and when a layer has drained ----
        self.acts.swap_in.next = (self.host.start.val() & (!self.busy.val()));
        if self.drain.q.val().any() {
            self.drain.d.next = (self.drain.q.val() - 1);
            if (self.drain.q.val() == 1) {
                self.acts.swap_in.next = true;
                if !self.seq.busy_out.val() {
                    self.done.d.next = true;
                }
            }
        }
        if self.seq.layer_done_out.val() {
            self.drain.d.next = self.k_drain.val();
        }
        if (self.host.start.val() & (!self.busy.val())) {
            self.done.d.next = false;
        }
        if self.reset.val() {
            self.drain.d.next = 0.into();
            self.done.d.next = false;
            self.w_valid.d.next = false;
        }

        self.host.busy.next = self.busy.val();
        self.host.done.next = self.done.q.val();
        self.host.bad.next = self.seq.bad_out.val();
        self.host.overrun.next = self.array.overrun_out.val();
        self.acc_out.next = self.array.acc_out.val();
        self.acc_valid_out.next = self.array.acc_valid_out.val();
        self.acc_row_out.next = self.array.acc_row_out.val();
        self.acc_index_out.next = self.array.acc_index_out.val();
        self.y_out.next = self.array.y_out.val();
        self.y_valid_out.next = self.array.y_valid_out.val();
        self.y_row_out.next = self.array.y_row_out.val();
        self.y_index_out.next = self.array.y_index_out.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::sequencer::LayerEntry;
    use fiberloop_harness::verilator::{Model, Port};
    use fiberloop_spec::layout::{LayerShape, Params, Placement, Planner, SLOT_WORDS};
    use fiberloop_spec::quant::{dot, Requant};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const BATCH: usize = 8;

    /// A layer of a random network: weights [out][in] and per-row params.
    #[derive(Clone)]
    struct Layer {
        k: usize,
        n: usize,
        w: Vec<Vec<i8>>,
        p: Vec<ParamEntry>,
    }

    fn random_layer(rng: &mut ChaCha8Rng, k: usize, n: usize) -> Layer {
        let w = (0..n)
            .map(|_| {
                (0..k)
                    .map(|_| {
                        if rng.gen_bool(0.05) {
                            -128
                        } else {
                            rng.gen::<i8>()
                        }
                    })
                    .collect()
            })
            .collect();
        let p = (0..n)
            .map(|_| ParamEntry {
                bias: rng.gen_range(-100_000..100_000),
                // Multipliers that keep most outputs off the clamps.
                multiplier: match rng.gen_range(0..10) {
                    0 => i32::MAX,
                    1 => i32::MIN,
                    _ => rng.gen_range((1 << 29)..i32::MAX),
                },
                shift: rng.gen_range(6..14),
                zero_point: rng.gen_range(-20..20),
                relu: rng.gen_bool(0.5),
            })
            .collect();
        Layer { k, n, w, p }
    }

    /// The reference: every layer's accumulators and the final outputs.
    fn reference(layers: &[Layer], x: &[Vec<i8>]) -> (Vec<Vec<Vec<i32>>>, Vec<Vec<i8>>) {
        let mut accs = vec![];
        let mut acts = x.to_vec();
        for l in layers {
            let a: Vec<Vec<i32>> = acts
                .iter()
                .map(|xb| (0..l.n).map(|j| dot(l.p[j].bias, xb, &l.w[j])).collect())
                .collect();
            acts = a
                .iter()
                .map(|ab| {
                    ab.iter()
                        .zip(&l.p)
                        .map(|(&acc, p)| {
                            Requant {
                                multiplier: p.multiplier,
                                shift: p.shift,
                                output_zero_point: p.zero_point,
                                relu: p.relu,
                            }
                            .apply(acc)
                        })
                        .collect()
                })
                .collect();
            accs.push(a);
        }
        (accs, acts)
    }

    /// Slot payload words of the network laid out by `plan`.
    fn slot_images(layers: &[Layer], places: &[Placement], slots: usize) -> Vec<Vec<u16>> {
        let mut img = vec![vec![0u8; 2 * SLOT_WORDS]; slots];
        for (l, pl) in layers.iter().zip(places) {
            for j in 0..l.n {
                for i in 0..l.k {
                    let (s, byte) = pl.locate(j, i).unwrap();
                    img[s][byte] = l.w[j][i] as u8;
                }
            }
        }
        img.iter()
            .map(|b| {
                b.chunks(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect()
            })
            .collect()
    }

    /// (batch row, output index, accumulator).
    type AccEntry = (usize, usize, i32);

    struct Dut {
        m: Model,
        p: std::collections::HashMap<&'static str, Port>,
    }

    const PORTS: [&str; 27] = [
        "clock",
        "reset",
        "tap$data",
        "tap$valid",
        "tap$start",
        "tap$slot",
        "tap$bad",
        "host$layers$we",
        "host$layers$addr",
        "host$layers$data",
        "host$layers$n_layers",
        "host$param_we",
        "host$param_addr",
        "host$param_data",
        "host$in_we",
        "host$in_row",
        "host$in_index",
        "host$in_data",
        "host$start",
        "host$out_row",
        "host$out_word",
        "host$out_data",
        "host$busy",
        "host$done",
        "host$bad",
        "host$overrun",
        "acc_valid_out",
    ];

    impl Dut {
        fn new() -> Self {
            let mut uut = InferenceEngine::<BATCH>::default();
            uut.connect_all();
            let m = Model::of_block(&uut).unwrap();
            let mut p: std::collections::HashMap<&'static str, Port> =
                PORTS.iter().map(|&n| (n, m.p(n))).collect();
            for n in ["acc_out", "acc_row_out", "acc_index_out"] {
                p.insert(n, m.p(n));
            }
            Dut { m, p }
        }
        fn set(&mut self, n: &str, v: u64) {
            let port = self.p[n];
            self.m.set(port, v);
        }
        fn get(&self, n: &str) -> u64 {
            self.m.get(self.p[n])
        }
        /// One clock: outputs sampled before the edge are returned through
        /// `acc` (accumulator stream entries).
        fn tick(&mut self, acc: &mut Vec<AccEntry>) {
            self.set("clock", 0);
            self.m.eval();
            if self.get("acc_valid_out") == 1 {
                acc.push((
                    self.get("acc_row_out") as usize,
                    self.get("acc_index_out") as usize,
                    self.get("acc_out") as u32 as i32,
                ));
            }
            self.set("clock", 1);
            self.m.eval();
            // Strobes last one clock.
            for n in [
                "host$layers$we",
                "host$param_we",
                "host$in_we",
                "host$start",
                "reset",
            ] {
                self.set(n, 0);
            }
        }
    }

    /// Loads a network and a batch, runs one inference over `laps` laps of
    /// tap words (slot images `img`, slot `bad` marked bad), returns the
    /// accumulator stream, the outputs read back, and the flags.
    #[allow(clippy::too_many_arguments)]
    fn run(
        dut: &mut Dut,
        layers: &[Layer],
        places: &[Placement],
        img: &[Vec<u16>],
        x: &[Vec<i8>],
        from_slot: usize,
        bad: Option<usize>,
        rng: &mut ChaCha8Rng,
    ) -> (Vec<AccEntry>, Vec<Vec<i8>>, bool) {
        let mut acc = vec![];
        let mut base = 0u16;
        for (k, (l, pl)) in layers.iter().zip(places).enumerate() {
            let e = LayerEntry {
                first_slot: pl.first_slot as u16,
                rows: l.n as u16,
                row_words: pl.row_words as u16,
                param_base: base,
            };
            dut.set("host$layers$we", 1);
            dut.set("host$layers$addr", k as u64);
            dut.set("host$layers$data", e.pack());
            dut.tick(&mut acc);
            for (j, p) in l.p.iter().enumerate() {
                dut.set("host$param_we", 1);
                dut.set("host$param_addr", base as u64 + j as u64);
                let port = dut.p["host$param_data"];
                let v = p.pack();
                dut.m
                    .set_words(port, &[v as u32, (v >> 32) as u32, (v >> 64) as u32]);
                dut.tick(&mut acc);
            }
            base += l.n as u16;
        }
        dut.set("host$layers$n_layers", layers.len() as u64);
        for (b, xb) in x.iter().enumerate() {
            for (i, &v) in xb.iter().enumerate() {
                dut.set("host$in_we", 1);
                dut.set("host$in_row", b as u64);
                dut.set("host$in_index", i as u64);
                dut.set("host$in_data", v as u8 as u64);
                dut.tick(&mut acc);
            }
        }
        dut.set("host$start", 1);
        dut.tick(&mut acc);
        assert_eq!(dut.get("host$busy"), 1);
        // The loop: frames of 14 non-payload clocks + 114 payload words,
        // slots in order from `from_slot`, a lap gap.
        let gap = rng.gen_range(0..100);
        let mut slot = from_slot;
        let mut clocks = 0;
        while dut.get("host$busy") == 1 {
            for _ in 0..14 {
                dut.set("tap$valid", 0);
                dut.tick(&mut acc);
            }
            for (w, &word) in img[slot].iter().enumerate() {
                dut.set("tap$valid", 1);
                dut.set("tap$start", (w == 0) as u64);
                dut.set("tap$slot", slot as u64);
                dut.set("tap$bad", (Some(slot) == bad) as u64);
                dut.set("tap$data", word as u64);
                dut.tick(&mut acc);
            }
            dut.set("tap$valid", 0);
            slot += 1;
            if slot == img.len() {
                slot = 0;
                for _ in 0..gap {
                    dut.tick(&mut acc);
                }
            }
            clocks += 128;
            assert!(clocks < 3 * 128 * (img.len() + 2), "no end");
        }
        // Drain whatever is left of the last frame.
        for _ in 0..4 {
            dut.tick(&mut acc);
        }
        assert_eq!(dut.get("host$done"), 1);
        assert_eq!(dut.get("host$overrun"), 0);
        let n = layers.last().unwrap().n;
        let mut out = vec![vec![0i8; n]; x.len()];
        for (b, ob) in out.iter_mut().enumerate() {
            for a in 0..n.div_ceil(2) {
                dut.set("host$out_row", b as u64);
                dut.set("host$out_word", a as u64);
                dut.tick(&mut acc);
                dut.set("clock", 0);
                dut.m.eval();
                let d = dut.get("host$out_data") as u16;
                ob[2 * a] = d as u8 as i8;
                if 2 * a + 1 < n {
                    ob[2 * a + 1] = (d >> 8) as u8 as i8;
                }
            }
        }
        (acc, out, dut.get("host$bad") == 1)
    }

    fn check(layers: &[Layer], x: &[Vec<i8>], acc: &[AccEntry], out: &[Vec<i8>], case: usize) {
        let (r_acc, r_out) = reference(layers, x);
        // Accumulators come layer by layer, row by row, batch row by row.
        let mut it = acc.iter();
        for (k, (l, ra)) in layers.iter().zip(&r_acc).enumerate() {
            for j in 0..l.n {
                for (b, rab) in ra.iter().enumerate() {
                    let &(row, idx, v) = it.next().expect("accumulators missing");
                    assert_eq!((row, idx), (b, j), "case {case} layer {k}");
                    assert_eq!(v, rab[j], "case {case} layer {k} row {j} batch {b}");
                }
            }
        }
        assert!(it.next().is_none(), "case {case}: extra accumulators");
        assert_eq!(out, &r_out[..], "case {case}");
    }

    #[test]
    fn engine_runs_random_networks_from_the_tap_bit_exact() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xE4_0001);
        let mut dut = Dut::new();
        let mut acc = vec![];
        dut.set("reset", 1);
        dut.tick(&mut acc);
        for _ in 0..30 {
            dut.tick(&mut acc);
        }
        let mut changed = 0;
        let mut cases = 0;
        for case in 0..16 {
            let n_layers = rng.gen_range(1..=3);
            let mut dims = vec![rng.gen_range(1..=200)];
            for _ in 0..n_layers {
                dims.push(rng.gen_range(1..=40));
            }
            let mut layers: Vec<Layer> = dims
                .windows(2)
                .map(|d| random_layer(&mut rng, d[0], d[1]))
                .collect();
            let mut planner = Planner::new(Params {
                batch: BATCH,
                gap_words: DRAIN_CLOCKS + 2,
            })
            .unwrap();
            let places: Vec<Placement> = layers
                .iter()
                .map(|l| {
                    planner
                        .push(LayerShape {
                            inputs: l.k,
                            outputs: l.n,
                        })
                        .unwrap()
                })
                .collect();
            let slots = planner.total_slots() + rng.gen_range(0..3);
            let x: Vec<Vec<i8>> = (0..BATCH)
                .map(|_| (0..dims[0]).map(|_| rng.gen()).collect())
                .collect();
            let img = slot_images(&layers, &places, slots);
            let from = rng.gen_range(0..slots);
            let (acc, out, bad) = run(&mut dut, &layers, &places, &img, &x, from, None, &mut rng);
            assert!(!bad);
            check(&layers, &x, &acc, &out, case);
            cases += 1;
            // Overwrite one weight in the loop: the outputs follow the
            // reference with that weight changed.
            let (j, i) = (rng.gen_range(0..layers[0].n), rng.gen_range(0..layers[0].k));
            let old = layers[0].w[j][i];
            layers[0].w[j][i] = old.wrapping_add(rng.gen_range(1..=255u8) as i8);
            let img2 = slot_images(&layers, &places, slots);
            let (acc2, out2, _) = run(&mut dut, &layers, &places, &img2, &x, 0, None, &mut rng);
            check(&layers, &x, &acc2, &out2, case);
            if out2 != out {
                changed += 1;
            }
            // A bad frame in the layers' slots: flagged.
            let bad_slot = rng.gen_range(0..planner.total_slots());
            let (_, _, bad) = run(
                &mut dut,
                &layers,
                &places,
                &img2,
                &x,
                from,
                Some(bad_slot),
                &mut rng,
            );
            let used = places
                .iter()
                .any(|p| (p.first_slot..p.first_slot + p.slots).contains(&bad_slot));
            assert_eq!(bad, used, "case {case}: bad slot {bad_slot}");
        }
        println!("{cases} networks bit exact; one changed weight changed the outputs in {changed}");
        assert!(changed >= cases / 2, "{changed}");
    }

    #[test]
    fn inference_engine_is_synthesizable() {
        let mut uut = InferenceEngine::<BATCH>::default();
        uut.connect_all();
        let r = fiberloop_harness::synth::synth_block(&uut, "inference_engine").unwrap();
        println!("inference engine (B = {BATCH}): {r}");
        assert!(r.dsps() <= 2 * BATCH + 4, "{r}");
    }
}

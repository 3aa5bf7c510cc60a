//! The output-stationary int8 MAC array: `B` batch rows by two weight
//! columns, fed by the weight stream of the loop, two bytes per clock.

use super::requant::{RequantParams, Requantiser, REQUANT_LATENCY};
use rust_hdl::prelude::*;
use std::collections::VecDeque;

/// Weight bytes consumed per clock (`w`): the loop's two bytes per word.
/// Fixed by the line (20-bit SERDES word at 125 MHz).
pub const WEIGHTS_PER_WORD: usize = 2;

/// Bits of the batch-row number on `acc_row_out` / `y_row_out` (`B <= 16`).
pub const ROW_BITS: usize = 4;

/// Bits of the output index carried beside each result (`index_in`).
pub const INDEX_BITS: usize = 12;

/// Clocks from the input clock of a row's `last` word to batch row 0's
/// accumulator on `acc_out`; batch row `b` follows `b` clocks later.
pub const ACC_LATENCY: usize = 4;

/// Clocks from the input clock of a row's `last` word to batch row 0's
/// int8 result on `y_out`; batch row `b` follows `b` clocks later.
pub const Y_LATENCY: usize = ACC_LATENCY + REQUANT_LATENCY;

/// The smallest row stride, in words, that a `MacArray<B>` keeps up with:
/// the `B` accumulators of a row drain through one port, one per clock, so
/// two `last` words must be at least `B` clocks apart.
pub const fn min_row_words(batch: usize) -> usize {
    batch
}

/// The row stride (words per output row, zero padded) the host must use for
/// a layer with `k` inputs on a `MacArray<batch>`:
/// `max(ceil(k / WEIGHTS_PER_WORD), min_row_words(batch))`.
pub fn row_stride(k: usize, batch: usize) -> usize {
    k.div_ceil(WEIGHTS_PER_WORD).max(min_row_words(batch))
}

/// MAC utilisation of a layer with `k` inputs: useful MACs over the MACs
/// the array offers while the layer's weights stream past
/// (`batch * k` per output row over `batch * WEIGHTS_PER_WORD *
/// row_stride`). Independent of the number of outputs and of `batch`
/// except through the stride rule.
pub fn mac_utilisation(k: usize, batch: usize) -> f64 {
    k as f64 / (WEIGHTS_PER_WORD * row_stride(k, batch)) as f64
}

/// Output-stationary MAC array: `B` batch rows x [`WEIGHTS_PER_WORD`] int8
/// multipliers, int32 accumulators, one serial drain into a [`Requantiser`].
///
/// # Data flow
///
/// Each clock with `valid_in` the array takes one weight word (two int8
/// weights `w[j][i]`, `w[j][i+1]`, lane 0 = bits 7:0 = `w[j][i]`) and, for
/// every batch row `b`, the matching activations `act_in[b]` (lane 0 =
/// `x_b[i]`, lane 1 = `x_b[i+1]`), all on the same clock (unskewed). The
/// weight word travels down the rows, one register per row (systolic: row
/// `b` multiplies it `b` clocks after row 0); the array delays `act_in[b]`
/// by the same `b` clocks internally. Each row adds its two products to its
/// int32 accumulator; the word flagged `first_in` restarts the sum, the
/// word flagged `last_in` ends it (a one-word row has both).
///
/// # Per-output-row parameters
///
/// `bias_in`, `multiplier_in`, `shift_in`, `zero_point_in`, `relu_in` and
/// `index_in` are sampled on the clock with `valid_in && first_in` and apply
/// to the whole output row `j` (all batch rows). The bias is added at the
/// drain: `acc = bias + sum_i x_b[i] * w[j][i]` (wrapping int32).
///
/// # Outputs
///
/// If the `last` word of output row `j` is input in cycle `t`, then in
/// cycle `t + ACC_LATENCY + b` (b = 0..B-1) `acc_valid_out` is high with
/// `acc_row_out = b`, `acc_index_out = index`, `acc_out = acc`; in cycle
/// `t + Y_LATENCY + b`, `y_valid_out` is high with `y_row_out = b`,
/// `y_index_out = index` and `y_out = Requant::apply(acc)` (int8).
///
/// # Throughput constraint
///
/// Two `last` words must be at least `B` clocks apart (a row stride of
/// `S >= min_row_words(B) = B` words guarantees it, gaps only help).
/// Otherwise two rows' accumulators reach the drain on the same clock:
/// `overrun_out` then goes high one clock after the offending `last` and
/// stays high until `clear_in`; results around it are garbage.
///
/// * Latency: [`ACC_LATENCY`] (accumulator) / [`Y_LATENCY`] (int8) clocks
///   from a row's last word to batch row 0's result, plus `b` for row `b`.
/// * Throughput: one weight word (two weights x B rows = 2B MACs) per
///   clock, never stalls; `B` results per output row.
/// * Reset: none for the data path (every `first` restarts a sum; hold
///   `valid_in` low for `Y_LATENCY + B` clocks after power-up before
///   trusting the valid outputs); `clear_in` clears `overrun_out`.
///
/// Requires `2 <= B <= 16`.
#[derive(LogicBlock)]
pub struct MacArray<const B: usize> {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Two int8 weights, lane 0 (bits 7:0) = lower input index.
    pub weight_in: Signal<In, Bits<16>>,
    /// `weight_in` (and the flags and activations) are a word of the stream.
    pub valid_in: Signal<In, Bit>,
    /// The word is the first of an output row (restarts the sums).
    pub first_in: Signal<In, Bit>,
    /// The word is the last of an output row (sends the sums to the drain).
    pub last_in: Signal<In, Bit>,
    /// Per batch row: the two int8 activations matching `weight_in` on the
    /// same clock (lane 0 = lower input index). Don't-care where the
    /// weights are padding zeros.
    pub act_in: [Signal<In, Bits<16>>; B],
    /// int32 bias of the output row, sampled with `first_in`.
    pub bias_in: Signal<In, Bits<32>>,
    /// Requantiser multiplier M0 of the output row, sampled with `first_in`.
    pub multiplier_in: Signal<In, Bits<32>>,
    /// Requantiser shift (0..=31), sampled with `first_in`.
    pub shift_in: Signal<In, Bits<5>>,
    /// Output zero point (int8), sampled with `first_in`.
    pub zero_point_in: Signal<In, Bits<8>>,
    /// ReLU clamp, sampled with `first_in`.
    pub relu_in: Signal<In, Bit>,
    /// Output index of the row (carried to the outputs), sampled with
    /// `first_in`.
    pub index_in: Signal<In, Bits<INDEX_BITS>>,
    /// Clears `overrun_out`.
    pub clear_in: Signal<In, Bit>,
    /// A finished int32 accumulator (bias included).
    pub acc_out: Signal<Out, Bits<32>>,
    /// `acc_out`, `acc_row_out`, `acc_index_out` hold a result.
    pub acc_valid_out: Signal<Out, Bit>,
    /// Batch row of `acc_out`.
    pub acc_row_out: Signal<Out, Bits<ROW_BITS>>,
    /// Output index of `acc_out`.
    pub acc_index_out: Signal<Out, Bits<INDEX_BITS>>,
    /// The requantised int8 result.
    pub y_out: Signal<Out, Bits<8>>,
    /// `y_out`, `y_row_out`, `y_index_out` hold a result.
    pub y_valid_out: Signal<Out, Bit>,
    /// Batch row of `y_out`.
    pub y_row_out: Signal<Out, Bits<ROW_BITS>>,
    /// Output index of `y_out`.
    pub y_index_out: Signal<Out, Bits<INDEX_BITS>>,
    /// Sticky: two `last` words came less than `B` clocks apart.
    pub overrun_out: Signal<Out, Bit>,

    // Stage A (row b holds the word b+1 clocks after input).
    w_a: [DFF<Bits<16>>; B],
    v_a: [DFF<Bit>; B],
    f_a: [DFF<Bit>; B],
    l_a: [DFF<Bit>; B],
    x_a: [DFF<Bits<16>>; B],
    // Activation skew: a B x B grid, row b uses taps 0..b-1.
    skew: Vec<DFF<Bits<16>>>,
    // Stage P: registered products.
    prod0: [DFF<Bits<32>>; B],
    prod1: [DFF<Bits<32>>; B],
    v_p: [DFF<Bit>; B],
    f_p: [DFF<Bit>; B],
    l_p: [DFF<Bit>; B],
    // Accumulators and finished sums (zero unless draining).
    acc: [DFF<Bits<32>>; B],
    fin: [DFF<Bits<32>>; B],
    drain: [DFF<Bit>; B],
    // Operands and partial sums.
    ws0: [Signal<Local, Bits<16>>; B],
    ws1: [Signal<Local, Bits<16>>; B],
    xs0: [Signal<Local, Bits<16>>; B],
    xs1: [Signal<Local, Bits<16>>; B],
    pe0: [Signal<Local, Bits<32>>; B],
    pe1: [Signal<Local, Bits<32>>; B],
    base: [Signal<Local, Bits<32>>; B],
    sum: [Signal<Local, Bits<32>>; B],
    // Per-output-row parameters: pending (from first), hold (from last),
    // drain (when row 0's sum finishes).
    pend_bias: DFF<Bits<32>>,
    pend_mult: DFF<Bits<32>>,
    pend_shift: DFF<Bits<5>>,
    pend_zp: DFF<Bits<8>>,
    pend_relu: DFF<Bit>,
    pend_index: DFF<Bits<INDEX_BITS>>,
    hold_bias: DFF<Bits<32>>,
    hold_mult: DFF<Bits<32>>,
    hold_shift: DFF<Bits<5>>,
    hold_zp: DFF<Bits<8>>,
    hold_relu: DFF<Bit>,
    hold_index: DFF<Bits<INDEX_BITS>>,
    dr_bias: DFF<Bits<32>>,
    dr_mult: DFF<Bits<32>>,
    dr_shift: DFF<Bits<5>>,
    dr_zp: DFF<Bits<8>>,
    dr_relu: DFF<Bit>,
    dr_index: DFF<Bits<INDEX_BITS>>,
    // Drain output register (feeds the requantiser and acc_out).
    out_acc: DFF<Bits<32>>,
    out_valid: DFF<Bit>,
    out_row: DFF<Bits<ROW_BITS>>,
    out_index: DFF<Bits<INDEX_BITS>>,
    out_mult: DFF<Bits<32>>,
    out_shift: DFF<Bits<5>>,
    out_zp: DFF<Bits<8>>,
    out_relu: DFF<Bit>,
    drain_sum: Signal<Local, Bits<32>>,
    drain_any: Signal<Local, Bit>,
    drain_row: Signal<Local, Bits<ROW_BITS>>,
    // Overrun detection.
    busy: DFF<Bits<5>>,
    overrun: DFF<Bit>,
    requant: Requantiser,
    row_ids: [Constant<Bits<ROW_BITS>>; B],
    c_lo8: Constant<Bits<16>>,
    c_sext8_16: Constant<Bits<16>>,
    c_lo16: Constant<Bits<32>>,
    c_sext16_32: Constant<Bits<32>>,
    c_busy_init: Constant<Bits<5>>,
    c_one5: Constant<Bits<5>>,
}

impl<const B: usize> Default for MacArray<B> {
    fn default() -> Self {
        assert!((2..=16).contains(&B), "MacArray needs 2 <= B <= 16");
        Self {
            clock: Default::default(),
            weight_in: Default::default(),
            valid_in: Default::default(),
            first_in: Default::default(),
            last_in: Default::default(),
            act_in: std::array::from_fn(|_| Default::default()),
            bias_in: Default::default(),
            multiplier_in: Default::default(),
            shift_in: Default::default(),
            zero_point_in: Default::default(),
            relu_in: Default::default(),
            index_in: Default::default(),
            clear_in: Default::default(),
            acc_out: Default::default(),
            acc_valid_out: Default::default(),
            acc_row_out: Default::default(),
            acc_index_out: Default::default(),
            y_out: Default::default(),
            y_valid_out: Default::default(),
            y_row_out: Default::default(),
            y_index_out: Default::default(),
            overrun_out: Default::default(),
            w_a: std::array::from_fn(|_| Default::default()),
            v_a: std::array::from_fn(|_| Default::default()),
            f_a: std::array::from_fn(|_| Default::default()),
            l_a: std::array::from_fn(|_| Default::default()),
            x_a: std::array::from_fn(|_| Default::default()),
            skew: (0..B * B).map(|_| Default::default()).collect(),
            prod0: std::array::from_fn(|_| Default::default()),
            prod1: std::array::from_fn(|_| Default::default()),
            v_p: std::array::from_fn(|_| Default::default()),
            f_p: std::array::from_fn(|_| Default::default()),
            l_p: std::array::from_fn(|_| Default::default()),
            acc: std::array::from_fn(|_| Default::default()),
            fin: std::array::from_fn(|_| Default::default()),
            drain: std::array::from_fn(|_| Default::default()),
            ws0: std::array::from_fn(|_| Default::default()),
            ws1: std::array::from_fn(|_| Default::default()),
            xs0: std::array::from_fn(|_| Default::default()),
            xs1: std::array::from_fn(|_| Default::default()),
            pe0: std::array::from_fn(|_| Default::default()),
            pe1: std::array::from_fn(|_| Default::default()),
            base: std::array::from_fn(|_| Default::default()),
            sum: std::array::from_fn(|_| Default::default()),
            pend_bias: Default::default(),
            pend_mult: Default::default(),
            pend_shift: Default::default(),
            pend_zp: Default::default(),
            pend_relu: Default::default(),
            pend_index: Default::default(),
            hold_bias: Default::default(),
            hold_mult: Default::default(),
            hold_shift: Default::default(),
            hold_zp: Default::default(),
            hold_relu: Default::default(),
            hold_index: Default::default(),
            dr_bias: Default::default(),
            dr_mult: Default::default(),
            dr_shift: Default::default(),
            dr_zp: Default::default(),
            dr_relu: Default::default(),
            dr_index: Default::default(),
            out_acc: Default::default(),
            out_valid: Default::default(),
            out_row: Default::default(),
            out_index: Default::default(),
            out_mult: Default::default(),
            out_shift: Default::default(),
            out_zp: Default::default(),
            out_relu: Default::default(),
            drain_sum: Default::default(),
            drain_any: Default::default(),
            drain_row: Default::default(),
            busy: Default::default(),
            overrun: Default::default(),
            requant: Default::default(),
            row_ids: std::array::from_fn(|b| Constant::new((b as u64).to_bits())),
            c_lo8: Constant::new(0x00FFu64.to_bits()),
            c_sext8_16: Constant::new(0xFF00u64.to_bits()),
            c_lo16: Constant::new(0xFFFFu64.to_bits()),
            c_sext16_32: Constant::new(0xFFFF_0000u64.to_bits()),
            c_busy_init: Constant::new(((B - 1) as u64).to_bits()),
            c_one5: Constant::new(1u64.to_bits()),
        }
    }
}

impl<const B: usize> Logic for MacArray<B> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, pend_bias, pend_mult, pend_shift, pend_zp, pend_relu, pend_index,
            hold_bias, hold_mult, hold_shift, hold_zp, hold_relu, hold_index, dr_bias, dr_mult,
            dr_shift, dr_zp, dr_relu, dr_index, out_acc, out_valid, out_row, out_index, out_mult,
            out_shift, out_zp, out_relu, busy, overrun
        );
        self.requant.clock.next = self.clock.val();
        for b in 0..B {
            self.w_a[b].clock.next = self.clock.val();
            self.v_a[b].clock.next = self.clock.val();
            self.f_a[b].clock.next = self.clock.val();
            self.l_a[b].clock.next = self.clock.val();
            self.x_a[b].clock.next = self.clock.val();
            self.prod0[b].clock.next = self.clock.val();
            self.prod1[b].clock.next = self.clock.val();
            self.v_p[b].clock.next = self.clock.val();
            self.f_p[b].clock.next = self.clock.val();
            self.l_p[b].clock.next = self.clock.val();
            self.acc[b].clock.next = self.clock.val();
            self.fin[b].clock.next = self.clock.val();
            self.drain[b].clock.next = self.clock.val();
        }

        // Stage A: the weight word and its flags move one row per clock.
        self.w_a[0].d.next = self.weight_in.val();
        self.v_a[0].d.next = self.valid_in.val();
        self.f_a[0].d.next = self.first_in.val();
        self.l_a[0].d.next = self.last_in.val();
        self.x_a[0].d.next = self.act_in[0].val();
        for b in 1..B {
            self.w_a[b].d.next = self.w_a[b - 1].q.val();
            self.v_a[b].d.next = self.v_a[b - 1].q.val();
            self.f_a[b].d.next = self.f_a[b - 1].q.val();
            self.l_a[b].d.next = self.l_a[b - 1].q.val();
        }
        // Activation skew. `s` is B (a loop variable so that the index
        // expressions stay evaluable when the Verilog is generated).
        for s in B..(B + 1) {
            for b in 0..B {
                self.skew[b * s].clock.next = self.clock.val();
                self.skew[b * s].d.next = self.act_in[b].val();
                for k in 1..B {
                    self.skew[b * s + k].clock.next = self.clock.val();
                    self.skew[b * s + k].d.next = self.skew[b * s + k - 1].q.val();
                }
            }
            for b in 1..B {
                self.x_a[b].d.next = self.skew[b * s + b - 1].q.val();
            }
        }

        // Stage P: sign-extend to 16 bits; the low 16 bits of the 16x16
        // product are the int8 x int8 product. (No bit_cast here: rust-hdl
        // evaluates its argument in Rust, where the loop index is unknown.)
        for b in 0..B {
            self.ws0[b].next = self.w_a[b].q.val() & self.c_lo8.val();
            if self.w_a[b].q.val().get_bit(7) {
                self.ws0[b].next = (self.w_a[b].q.val() & self.c_lo8.val()) | self.c_sext8_16.val();
            }
            self.ws1[b].next = self.w_a[b].q.val() >> 8;
            if self.w_a[b].q.val().get_bit(15) {
                self.ws1[b].next = (self.w_a[b].q.val() >> 8) | self.c_sext8_16.val();
            }
            self.xs0[b].next = self.x_a[b].q.val() & self.c_lo8.val();
            if self.x_a[b].q.val().get_bit(7) {
                self.xs0[b].next = (self.x_a[b].q.val() & self.c_lo8.val()) | self.c_sext8_16.val();
            }
            self.xs1[b].next = self.x_a[b].q.val() >> 8;
            if self.x_a[b].q.val().get_bit(15) {
                self.xs1[b].next = (self.x_a[b].q.val() >> 8) | self.c_sext8_16.val();
            }
            self.prod0[b].d.next = self.ws0[b].val() * self.xs0[b].val();
            self.prod1[b].d.next = self.ws1[b].val() * self.xs1[b].val();
            self.v_p[b].d.next = self.v_a[b].q.val();
            self.f_p[b].d.next = self.f_a[b].q.val();
            self.l_p[b].d.next = self.l_a[b].q.val();
        }

        // Accumulate: first restarts, last hands the sum to the drain.
        for b in 0..B {
            self.pe0[b].next = self.prod0[b].q.val() & self.c_lo16.val();
            if self.prod0[b].q.val().get_bit(15) {
                self.pe0[b].next =
                    (self.prod0[b].q.val() & self.c_lo16.val()) | self.c_sext16_32.val();
            }
            self.pe1[b].next = self.prod1[b].q.val() & self.c_lo16.val();
            if self.prod1[b].q.val().get_bit(15) {
                self.pe1[b].next =
                    (self.prod1[b].q.val() & self.c_lo16.val()) | self.c_sext16_32.val();
            }
            if self.f_p[b].q.val() {
                self.base[b].next = 0.into();
            } else {
                self.base[b].next = self.acc[b].q.val();
            }
            self.sum[b].next = (self.base[b].val() + self.pe0[b].val()) + self.pe1[b].val();
            self.acc[b].d.next = self.acc[b].q.val();
            self.fin[b].d.next = 0.into();
            self.drain[b].d.next = false;
            if self.v_p[b].q.val() {
                self.acc[b].d.next = self.sum[b].val();
                if self.l_p[b].q.val() {
                    self.fin[b].d.next = self.sum[b].val();
                    self.drain[b].d.next = true;
                }
            }
        }

        // Parameters: pending at first, hold at last, drain when row 0's
        // sum finishes (the clock before its drain slot).
        if self.valid_in.val() & self.first_in.val() {
            self.pend_bias.d.next = self.bias_in.val();
            self.pend_mult.d.next = self.multiplier_in.val();
            self.pend_shift.d.next = self.shift_in.val();
            self.pend_zp.d.next = self.zero_point_in.val();
            self.pend_relu.d.next = self.relu_in.val();
            self.pend_index.d.next = self.index_in.val();
        }
        if self.valid_in.val() & self.last_in.val() {
            if self.first_in.val() {
                self.hold_bias.d.next = self.bias_in.val();
                self.hold_mult.d.next = self.multiplier_in.val();
                self.hold_shift.d.next = self.shift_in.val();
                self.hold_zp.d.next = self.zero_point_in.val();
                self.hold_relu.d.next = self.relu_in.val();
                self.hold_index.d.next = self.index_in.val();
            } else {
                self.hold_bias.d.next = self.pend_bias.q.val();
                self.hold_mult.d.next = self.pend_mult.q.val();
                self.hold_shift.d.next = self.pend_shift.q.val();
                self.hold_zp.d.next = self.pend_zp.q.val();
                self.hold_relu.d.next = self.pend_relu.q.val();
                self.hold_index.d.next = self.pend_index.q.val();
            }
        }
        if self.v_p[0].q.val() & self.l_p[0].q.val() {
            self.dr_bias.d.next = self.hold_bias.q.val();
            self.dr_mult.d.next = self.hold_mult.q.val();
            self.dr_shift.d.next = self.hold_shift.q.val();
            self.dr_zp.d.next = self.hold_zp.q.val();
            self.dr_relu.d.next = self.hold_relu.q.val();
            self.dr_index.d.next = self.hold_index.q.val();
        }

        // Drain: at most one row finishes per clock (else overrun); the
        // finished sums are zero outside their slot, so OR them together.
        self.drain_sum.next = 0.into();
        self.drain_any.next = false;
        self.drain_row.next = 0.into();
        for b in 0..B {
            self.drain_sum.next = self.drain_sum.val() | self.fin[b].q.val();
            self.drain_any.next = self.drain_any.val() | self.drain[b].q.val();
            if self.drain[b].q.val() {
                self.drain_row.next = self.row_ids[b].val();
            }
        }
        self.out_acc.d.next = self.drain_sum.val() + self.dr_bias.q.val();
        self.out_valid.d.next = self.drain_any.val();
        self.out_row.d.next = self.drain_row.val();
        self.out_index.d.next = self.dr_index.q.val();
        self.out_mult.d.next = self.dr_mult.q.val();
        self.out_shift.d.next = self.dr_shift.q.val();
        self.out_zp.d.next = self.dr_zp.q.val();
        self.out_relu.d.next = self.dr_relu.q.val();

        self.requant.acc_in.next = self.out_acc.q.val();
        self.requant.multiplier_in.next = self.out_mult.q.val();
        self.requant.shift_in.next = self.out_shift.q.val();
        self.requant.zero_point_in.next = self.out_zp.q.val();
        self.requant.relu_in.next = self.out_relu.q.val();
        self.requant.valid_in.next = self.out_valid.q.val();
        self.requant.tag_in.next = (bit_cast::<16, INDEX_BITS>(self.out_index.q.val()) << 4)
            | bit_cast::<16, ROW_BITS>(self.out_row.q.val());

        self.acc_out.next = self.out_acc.q.val();
        self.acc_valid_out.next = self.out_valid.q.val();
        self.acc_row_out.next = self.out_row.q.val();
        self.acc_index_out.next = self.out_index.q.val();
        self.y_out.next = self.requant.y_out.val();
        self.y_valid_out.next = self.requant.valid_out.val();
        self.y_row_out.next = self.requant.tag_out.val().get_bits::<ROW_BITS>(0);
        self.y_index_out.next = self.requant.tag_out.val().get_bits::<INDEX_BITS>(4);

        // Overrun: a last within B-1 clocks of the previous one.
        if self.busy.q.val() != 0 {
            self.busy.d.next = self.busy.q.val() - self.c_one5.val();
        }
        if self.valid_in.val() & self.last_in.val() {
            self.busy.d.next = self.c_busy_init.val();
            if self.busy.q.val() != 0 {
                self.overrun.d.next = true;
            }
        }
        if self.clear_in.val() {
            self.overrun.d.next = false;
        }
        self.overrun_out.next = self.overrun.q.val();
    }
}

/// One clock's inputs of [`MacArray`] (the model's view).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MacIn {
    /// `weight_in` as two int8 (lane 0 first).
    pub weights: [i8; WEIGHTS_PER_WORD],
    /// `valid_in`.
    pub valid: bool,
    /// `first_in`.
    pub first: bool,
    /// `last_in`.
    pub last: bool,
    /// `act_in[b]` as two int8 per batch row.
    pub acts: Vec<[i8; WEIGHTS_PER_WORD]>,
    /// `bias_in`.
    pub bias: i32,
    /// `multiplier_in`, `shift_in`, `zero_point_in`, `relu_in`.
    pub params: RequantParams,
    /// `index_in`.
    pub index: u16,
    /// `clear_in`.
    pub clear: bool,
}

/// One result on the accumulator or the int8 output stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacResult<T> {
    /// Batch row.
    pub row: usize,
    /// Output index (`index_in` of the row's first word).
    pub index: u16,
    /// The accumulator (`i32`) or the requantised value (`i8`).
    pub value: T,
}

/// One clock's outputs of [`MacArray`] (the model's view): `None` where the
/// valid output is low.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MacOut {
    /// `acc_out` stream.
    pub acc: Option<MacResult<i32>>,
    /// `y_out` stream.
    pub y: Option<MacResult<i8>>,
    /// `overrun_out`.
    pub overrun: bool,
}

/// Cycle-level reference model of [`MacArray`]: exact int32 sums per batch
/// row as words arrive, `bias` added and [`fiberloop_spec::quant::Requant`]
/// applied at `last`, results scheduled at the documented clocks.
///
/// The model checks the throughput rule: a result landing on an occupied
/// output slot (two `last` words less than `B` clocks apart) sets the
/// sticky overrun flag and, if `strict`, panics.
#[derive(Clone, Debug)]
pub struct MacArrayModel {
    batch: usize,
    strict: bool,
    /// Clock counter.
    now: u64,
    sums: Vec<i32>,
    pending: (i32, RequantParams, u16),
    started: bool,
    busy: usize,
    overrun: bool,
    accs: VecDeque<Option<MacResult<i32>>>,
    ys: VecDeque<Option<MacResult<i8>>>,
    /// Output rows completed (each gives `batch` results).
    pub rows_done: usize,
}

impl MacArrayModel {
    /// A model of `MacArray<batch>`; `strict` panics on overrun.
    pub fn new(batch: usize, strict: bool) -> Self {
        Self {
            batch,
            strict,
            now: 0,
            sums: vec![0; batch],
            pending: (0, RequantParams::default(), 0),
            started: false,
            busy: 0,
            overrun: false,
            accs: std::iter::repeat_n(None, ACC_LATENCY + batch).collect(),
            ys: std::iter::repeat_n(None, Y_LATENCY + batch).collect(),
            rows_done: 0,
        }
    }

    fn place<T: Copy>(
        line: &mut VecDeque<Option<MacResult<T>>>,
        at: usize,
        r: MacResult<T>,
    ) -> bool {
        let slot = &mut line[at];
        let free = slot.is_none();
        *slot = Some(r);
        free
    }

    /// One clock: the outputs during this clock, then takes this clock's
    /// inputs.
    ///
    /// # Panics
    /// On overrun if `strict`; if `first` is missing before a row's words,
    /// or `acts` has the wrong length.
    pub fn step(&mut self, inp: &MacIn) -> MacOut {
        let out = MacOut {
            acc: self.accs.pop_front().expect("line"),
            y: self.ys.pop_front().expect("line"),
            overrun: self.overrun,
        };
        self.accs.push_back(None);
        self.ys.push_back(None);
        self.now += 1;
        // Clocks left during which a `last` would collide (as the
        // hardware's down-counter: checked before it counts down).
        let busy = self.busy > 0;
        self.busy = self.busy.saturating_sub(1);
        if inp.valid {
            assert_eq!(inp.acts.len(), self.batch, "one activation pair per row");
            if inp.first {
                self.pending = (inp.bias, inp.params, inp.index);
                self.started = true;
                self.sums.iter_mut().for_each(|s| *s = 0);
            }
            assert!(self.started, "a word before the first `first`");
            for (s, x) in self.sums.iter_mut().zip(&inp.acts) {
                for (&a, &w) in x.iter().zip(&inp.weights) {
                    *s = s.wrapping_add(i32::from(a) * i32::from(w));
                }
            }
            if inp.last {
                if busy {
                    self.overrun = true;
                    assert!(
                        !self.strict,
                        "MacArray overrun at clock {}: rows less than B = {} clocks apart",
                        self.now, self.batch
                    );
                }
                self.busy = self.batch - 1;
                let (bias, params, index) = self.pending;
                let q = params.spec();
                for (row, s) in self.sums.iter().enumerate() {
                    let acc = s.wrapping_add(bias);
                    // Outputs during clock now-1+ACC_LATENCY+row are at
                    // index ACC_LATENCY+row-1 of the line.
                    Self::place(
                        &mut self.accs,
                        ACC_LATENCY + row - 1,
                        MacResult {
                            row,
                            index,
                            value: acc,
                        },
                    );
                    Self::place(
                        &mut self.ys,
                        Y_LATENCY + row - 1,
                        MacResult {
                            row,
                            index,
                            value: q.apply(acc),
                        },
                    );
                }
                self.rows_done += 1;
            }
        }
        if inp.clear {
            self.overrun = false;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::{Model, Port};
    use fiberloop_spec::quant::{dot, Requant};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// One layer case: `B` activation rows, `n` weight rows of length `k`.
    #[derive(Clone, Debug)]
    struct Layer {
        k: usize,
        x: Vec<Vec<i8>>,
        w: Vec<Vec<i8>>,
        bias: Vec<i32>,
        params: Vec<RequantParams>,
        /// Row stride in words.
        stride: usize,
        /// Probability of a gap before a word.
        gap: f64,
    }

    impl Layer {
        fn n(&self) -> usize {
            self.w.len()
        }

        /// The expected results in output order, from the spec.
        fn expected(&self, first_index: usize) -> Vec<(MacResult<i32>, MacResult<i8>)> {
            let mut v = Vec::new();
            for j in 0..self.n() {
                let q: Requant = self.params[j].spec();
                let index = ((first_index + j) % (1 << INDEX_BITS)) as u16;
                for (row, x) in self.x.iter().enumerate() {
                    let acc = dot(self.bias[j], x, &self.w[j]);
                    v.push((
                        MacResult {
                            row,
                            index,
                            value: acc,
                        },
                        MacResult {
                            row,
                            index,
                            value: q.apply(acc),
                        },
                    ));
                }
            }
            v
        }
    }

    fn random_i8(rng: &mut ChaCha8Rng, extreme: bool) -> i8 {
        if extreme {
            -128
        } else {
            rng.gen()
        }
    }

    /// A random layer for a `batch`-row array.
    fn random_layer(rng: &mut ChaCha8Rng, batch: usize) -> Layer {
        let k: usize = match rng.gen_range(0..10) {
            0..=2 => rng.gen_range(1..=8),
            3..=6 => rng.gen_range(9..=100),
            _ => rng.gen_range(101..=1024),
        };
        let min = row_stride(k, batch);
        let stride = if rng.gen_bool(0.7) {
            min
        } else {
            min + rng.gen_range(1..=3)
        };
        let n = if rng.gen_ratio(1, 8) {
            1
        } else {
            rng.gen_range(1..=(2000 / stride).clamp(1, 12))
        };
        // All -128 (the largest product) in some layers.
        let extreme = rng.gen_ratio(1, 12);
        let x = (0..batch)
            .map(|_| (0..k).map(|_| random_i8(rng, extreme)).collect())
            .collect();
        let w = (0..n)
            .map(|_| (0..k).map(|_| random_i8(rng, extreme)).collect())
            .collect();
        let bias = (0..n)
            .map(|_| match rng.gen_range(0..8) {
                0 => rng.gen(),
                1 => [i32::MIN, i32::MAX, 0, -1][rng.gen_range(0..4)],
                _ => rng.gen_range(-(1 << 20)..(1 << 20)),
            })
            .collect();
        let relu = rng.gen();
        let params = (0..n)
            .map(|_| RequantParams {
                multiplier: if rng.gen_ratio(1, 10) {
                    rng.gen()
                } else {
                    rng.gen_range(1 << 30..=i32::MAX)
                },
                shift: if rng.gen_ratio(1, 5) {
                    rng.gen_range(0..=31)
                } else {
                    rng.gen_range(6..=20)
                },
                zero_point: rng.gen(),
                relu,
            })
            .collect();
        let gap = [0.0, 0.0, 0.02, 0.2, 0.6][rng.gen_range(0..5)];
        Layer {
            k,
            x,
            w,
            bias,
            params,
            stride,
            gap,
        }
    }

    fn garbage(rng: &mut ChaCha8Rng, batch: usize) -> MacIn {
        MacIn {
            weights: rng.gen(),
            valid: false,
            first: rng.gen(),
            last: rng.gen(),
            acts: (0..batch).map(|_| rng.gen()).collect(),
            bias: rng.gen(),
            params: RequantParams {
                multiplier: rng.gen(),
                shift: rng.gen_range(0..=31),
                zero_point: rng.gen(),
                relu: rng.gen(),
            },
            index: rng.gen_range(0..1 << INDEX_BITS),
            clear: false,
        }
    }

    /// The clocks of one layer (valid words with random gaps).
    fn push_layer(rng: &mut ChaCha8Rng, out: &mut Vec<MacIn>, layer: &Layer, first_index: usize) {
        let batch = layer.x.len();
        for j in 0..layer.n() {
            for word in 0..layer.stride {
                while rng.gen_bool(layer.gap) {
                    out.push(garbage(rng, batch));
                }
                let mut m = garbage(rng, batch);
                m.valid = true;
                m.first = word == 0;
                m.last = word == layer.stride - 1;
                for lane in 0..WEIGHTS_PER_WORD {
                    let i = WEIGHTS_PER_WORD * word + lane;
                    if i < layer.k {
                        m.weights[lane] = layer.w[j][i];
                        for b in 0..batch {
                            m.acts[b][lane] = layer.x[b][i];
                        }
                    } else {
                        // Padding: zero weight, any activation.
                        m.weights[lane] = 0;
                    }
                }
                if m.first {
                    m.bias = layer.bias[j];
                    m.params = layer.params[j];
                    m.index = ((first_index + j) % (1 << INDEX_BITS)) as u16;
                }
                out.push(m);
            }
        }
    }

    struct Ports {
        clk: Port,
        weight: Port,
        valid: Port,
        first: Port,
        last: Port,
        acts: Vec<Port>,
        bias: Port,
        mult: Port,
        shift: Port,
        zp: Port,
        relu: Port,
        index: Port,
        clear: Port,
        acc: Port,
        acc_valid: Port,
        acc_row: Port,
        acc_index: Port,
        y: Port,
        y_valid: Port,
        y_row: Port,
        y_index: Port,
        overrun: Port,
    }

    fn hardware<const B: usize>() -> (Model, Ports) {
        let mut uut = MacArray::<B>::default();
        uut.connect_all();
        let hw = Model::of_block(&uut).unwrap();
        let p = Ports {
            clk: hw.p("clock"),
            weight: hw.p("weight_in"),
            valid: hw.p("valid_in"),
            first: hw.p("first_in"),
            last: hw.p("last_in"),
            acts: (0..B).map(|b| hw.p(&format!("act_in${b}"))).collect(),
            bias: hw.p("bias_in"),
            mult: hw.p("multiplier_in"),
            shift: hw.p("shift_in"),
            zp: hw.p("zero_point_in"),
            relu: hw.p("relu_in"),
            index: hw.p("index_in"),
            clear: hw.p("clear_in"),
            acc: hw.p("acc_out"),
            acc_valid: hw.p("acc_valid_out"),
            acc_row: hw.p("acc_row_out"),
            acc_index: hw.p("acc_index_out"),
            y: hw.p("y_out"),
            y_valid: hw.p("y_valid_out"),
            y_row: hw.p("y_row_out"),
            y_index: hw.p("y_index_out"),
            overrun: hw.p("overrun_out"),
        };
        (hw, p)
    }

    fn pair(v: [i8; 2]) -> u64 {
        u64::from(v[0] as u8) | (u64::from(v[1] as u8) << 8)
    }

    /// One clock of the hardware: drive, evaluate, read, clock edge.
    fn clock(hw: &mut Model, p: &Ports, m: &MacIn) -> MacOut {
        hw.set(p.clk, 0);
        hw.set(p.weight, pair(m.weights));
        hw.set(p.valid, m.valid as u64);
        hw.set(p.first, m.first as u64);
        hw.set(p.last, m.last as u64);
        for (port, a) in p.acts.iter().zip(&m.acts) {
            hw.set(*port, pair(*a));
        }
        hw.set(p.bias, m.bias as u32 as u64);
        hw.set(p.mult, m.params.multiplier as u32 as u64);
        hw.set(p.shift, m.params.shift as u64);
        hw.set(p.zp, m.params.zero_point as u8 as u64);
        hw.set(p.relu, m.params.relu as u64);
        hw.set(p.index, m.index as u64);
        hw.set(p.clear, m.clear as u64);
        hw.eval();
        let out = MacOut {
            acc: (hw.get(p.acc_valid) == 1).then(|| MacResult {
                row: hw.get(p.acc_row) as usize,
                index: hw.get(p.acc_index) as u16,
                value: hw.get(p.acc) as u32 as i32,
            }),
            y: (hw.get(p.y_valid) == 1).then(|| MacResult {
                row: hw.get(p.y_row) as usize,
                index: hw.get(p.y_index) as u16,
                value: hw.get(p.y) as u8 as i8,
            }),
            overrun: hw.get(p.overrun) == 1,
        };
        hw.set(p.clk, 1);
        hw.eval();
        out
    }

    /// Streams `layers` back to back (with gaps) through the hardware and
    /// the model; compares every output on every clock with the model, and
    /// every accumulator and int8 result with the spec. Returns (clocks,
    /// results checked).
    fn run_layers<const B: usize>(seed: u64, layers: &[Layer]) -> (usize, usize) {
        let (mut hw, p) = hardware::<B>();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut stim = vec![
            MacIn {
                acts: vec![[0; 2]; B],
                ..Default::default()
            };
            Y_LATENCY + B
        ];
        let mut expected = Vec::new();
        let mut index = 0;
        for layer in layers {
            assert_eq!(layer.x.len(), B);
            push_layer(&mut rng, &mut stim, layer, index);
            expected.extend(layer.expected(index));
            index += layer.n();
            for _ in 0..rng.gen_range(0..3) {
                stim.push(garbage(&mut rng, B));
            }
        }
        for _ in 0..Y_LATENCY + B + 2 {
            stim.push(garbage(&mut rng, B));
        }
        let mut model = MacArrayModel::new(B, true);
        let (mut accs, mut ys) = (Vec::new(), Vec::new());
        for (t, m) in stim.iter().enumerate() {
            let got = clock(&mut hw, &p, m);
            let want = model.step(m);
            assert_eq!(got, want, "clock {t}: hardware vs model");
            accs.extend(got.acc);
            ys.extend(got.y);
        }
        assert_eq!(accs.len(), expected.len(), "number of accumulators");
        assert_eq!(ys.len(), expected.len(), "number of int8 results");
        for (i, (e, (a, y))) in expected.iter().zip(accs.iter().zip(&ys)).enumerate() {
            assert_eq!(*a, e.0, "accumulator {i} vs spec");
            assert_eq!(*y, e.1, "int8 result {i} vs spec");
        }
        (stim.len(), expected.len())
    }

    fn random_suite<const B: usize>(seed: u64, count: usize) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let layers: Vec<Layer> = (0..count).map(|_| random_layer(&mut rng, B)).collect();
        let (clocks, checked) = run_layers::<B>(seed ^ 0xA5A5, &layers);
        let ks = layers.iter().map(|l| l.k);
        println!(
            "MacArray<{B}>: {count} random layer cases (K {}..={}, {} with K=1), {clocks} clocks, \
             {checked} accumulators and {checked} int8 results checked against spec and model",
            ks.clone().min().unwrap(),
            ks.clone().max().unwrap(),
            ks.filter(|&k| k == 1).count()
        );
    }

    #[test]
    fn mac_array_b8_random_layers() {
        random_suite::<8>(0x3AC0_0008, 800);
    }

    #[test]
    fn mac_array_b2_random_layers() {
        random_suite::<2>(0x3AC0_0002, 400);
    }

    #[test]
    fn mac_array_b3_random_layers() {
        random_suite::<3>(0x3AC0_0003, 200);
    }

    /// Hand-picked shapes: K = 1, 2, odd, around 2B, 1024 all -128 (the
    /// largest sum), one output, stride exactly B, back to back, no gaps.
    #[test]
    fn mac_array_b8_corner_layers() {
        const B: usize = 8;
        let mut rng = ChaCha8Rng::seed_from_u64(0x3AC0_C0DE);
        let mut layers = Vec::new();
        for k in [1usize, 2, 3, 15, 16, 17, 31, 1023, 1024] {
            for &(n, extreme) in &[(1usize, false), (3, false), (2, true)] {
                let mut l = random_layer(&mut rng, B);
                let v = |rng: &mut ChaCha8Rng| random_i8(rng, extreme);
                l.k = k;
                l.x = (0..B)
                    .map(|_| (0..k).map(|_| v(&mut rng)).collect())
                    .collect();
                l.w = (0..n)
                    .map(|_| (0..k).map(|_| v(&mut rng)).collect())
                    .collect();
                l.bias.resize(n, 0);
                l.params.resize(n, l.params[0]);
                l.stride = k.div_ceil(2).max(B);
                l.gap = 0.0;
                if extreme {
                    l.bias = vec![i32::MAX - (k as i32) * 16384; n];
                }
                layers.push(l);
            }
        }
        let (clocks, checked) = run_layers::<B>(0x3AC0_C0DF, &layers);
        println!(
            "MacArray<8>: {} corner layer cases, {clocks} clocks, {checked} results checked",
            layers.len()
        );
    }

    /// Rows closer than B clocks raise the sticky overrun flag (hardware
    /// and model agree on the clock); B apart does not; clear_in clears it.
    #[test]
    fn mac_array_overrun_flag() {
        const B: usize = 8;
        let (mut hw, p) = hardware::<B>();
        let mut rng = ChaCha8Rng::seed_from_u64(0x3AC0_0F0F);
        let idle = |rng: &mut ChaCha8Rng| garbage(rng, B);
        for stride in [B, B - 1, 1] {
            let mut model = MacArrayModel::new(B, false);
            let mut stim: Vec<MacIn> = (0..Y_LATENCY + B).map(|_| idle(&mut rng)).collect();
            for j in 0..4 {
                for word in 0..stride {
                    let mut m = garbage(&mut rng, B);
                    m.valid = true;
                    m.first = word == 0;
                    m.last = word == stride - 1;
                    m.index = j;
                    stim.push(m);
                }
            }
            stim.extend((0..Y_LATENCY + B).map(|_| idle(&mut rng)));
            // Clear the flag for the next stride on the last clock.
            stim.last_mut().unwrap().clear = true;
            let mut flagged = false;
            for (t, m) in stim.iter().enumerate() {
                let got = clock(&mut hw, &p, m);
                let want = model.step(m);
                assert_eq!(got.overrun, want.overrun, "stride {stride}, clock {t}");
                if stride >= B {
                    assert_eq!(got, want, "stride {stride}, clock {t}");
                }
                flagged |= got.overrun;
            }
            assert_eq!(flagged, stride < B, "stride {stride}");
            assert_eq!(model.rows_done, 4);
        }
        // The model in strict mode refuses an overrun.
        let r = std::panic::catch_unwind(|| {
            let mut model = MacArrayModel::new(B, true);
            let mut m = MacIn {
                valid: true,
                first: true,
                last: true,
                acts: vec![[0; 2]; B],
                ..Default::default()
            };
            model.step(&m);
            m.first = true;
            model.step(&m);
        });
        assert!(r.is_err(), "strict model must panic on overrun");
    }

    /// The reference model shapes (784->32 ReLU, 32->10) streamed as the
    /// host lays them out, through the hardware: results against the spec,
    /// and the MAC utilisation measured on the valid weight clocks.
    #[test]
    fn mac_array_reference_shapes_utilisation() {
        const B: usize = 8;
        let mut rng = ChaCha8Rng::seed_from_u64(0x3AC0_0784);
        let mut layers = Vec::new();
        for (k, n, relu) in [(784usize, 32usize, true), (32, 10, false)] {
            let mut l = random_layer(&mut rng, B);
            l.k = k;
            l.x = (0..B)
                .map(|_| (0..k).map(|_| rng.gen()).collect())
                .collect();
            l.w = (0..n)
                .map(|_| (0..k).map(|_| rng.gen()).collect())
                .collect();
            l.bias = (0..n).map(|_| rng.gen_range(-5000..5000)).collect();
            l.params = (0..n)
                .map(|_| RequantParams {
                    multiplier: rng.gen_range(1 << 30..=i32::MAX),
                    shift: rng.gen_range(8..=14),
                    zero_point: rng.gen_range(-128..0),
                    relu,
                })
                .collect();
            l.stride = row_stride(k, B);
            l.gap = 0.0;
            layers.push(l);
        }
        let mut useful = 0usize;
        let mut offered = 0usize;
        for l in &layers {
            let u = mac_utilisation(l.k, B);
            println!(
                "layer {}->{}: stride {} words, {} valid weight clocks, utilisation {:.1}%",
                l.k,
                l.n(),
                l.stride,
                l.n() * l.stride,
                100.0 * u
            );
            useful += B * l.k * l.n();
            offered += B * WEIGHTS_PER_WORD * l.n() * l.stride;
        }
        let (clocks, checked) = run_layers::<B>(0x3AC0_0785, &layers);
        let total = useful as f64 / offered as f64;
        println!(
            "784-32-10 on MacArray<8>: {useful} useful MACs / {offered} offered = {:.1}%; \
             {clocks} clocks simulated, {checked} results checked",
            100.0 * total
        );
        assert_eq!(checked, B * (32 + 10));
        assert_eq!(useful, offered, "both shapes fill the array exactly");
        // Shapes that do not: K = 10 (stride B = 8 words for 5 of data).
        assert_eq!(mac_utilisation(10, 8), 10.0 / 16.0);
        assert_eq!(mac_utilisation(1, 2), 0.25);
        assert_eq!(mac_utilisation(33, 8), 33.0 / 34.0);
    }

    #[test]
    fn mac_array_synthesizes() {
        let mut uut = MacArray::<8>::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "mac_array_b8").unwrap();
        println!("MacArray<8>: {report}");
        assert_eq!(report.dsps(), 8 * WEIGHTS_PER_WORD + 4, "{report}");
        assert!(report.dsps() <= 40, "{report}");
    }

    /// Out of context on the 45F, the word clock 10 % above 125 MHz.
    #[test]
    #[cfg(feature = "pnr")]
    fn mac_array_meets_timing() {
        use fiberloop_harness::pnr::{assert_meets_timing, ClockConstraint, WORD_CLOCK_MHZ};
        let mut uut = MacArray::<8>::default();
        uut.connect_all();
        assert_meets_timing(
            &uut,
            "mac_array_b8",
            &[ClockConstraint::new("clock", WORD_CLOCK_MHZ)],
        );
    }
}

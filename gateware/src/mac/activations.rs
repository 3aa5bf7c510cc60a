//! The activation ping-pong buffer beside the MAC array: per batch row, two
//! banks of int8 activations, one read by the layer running now, the other
//! written with its results (the next layer's inputs).

use rust_hdl::prelude::*;

/// Activations per bank and batch row (inputs of the widest layer).
pub const MAX_INPUTS: usize = 2048;

/// Bits of a byte index (`0..MAX_INPUTS`).
pub const BYTE_ADDR_BITS: usize = 11;

/// Bits of a word address (`0..MAX_INPUTS / 2`, two activations a word).
pub const WORD_ADDR_BITS: usize = 10;

/// Clocks from `read_address_in` to `act_out`.
pub const READ_LATENCY: usize = 1;

/// Ping-pong activation buffer for a `MacArray<B>`.
///
/// Each batch row has two banks of [`MAX_INPUTS`] int8 activations, kept in
/// two byte-wide RAMs (even and odd indices, `2 * MAX_INPUTS` deep with the
/// bank as the top address bit: one `DP16KD` each on the ECP5). The *read
/// bank* feeds the layer being computed; the *write bank* collects bytes,
/// either the host's inputs for the first layer or the requantised outputs
/// of the running layer (the integrator muxes the two sources onto the one
/// write port; they never overlap in time). `swap_in` exchanges the roles
/// (a layer is done: its outputs become the next layer's inputs).
///
/// * Read: `read_address_in = a` in cycle `t` gives, in cycle `t + 1`,
///   `act_out[b]` = activations `2a` (bits 7:0) and `2a + 1` (bits 15:8) of
///   row `b`'s read bank, for all rows at once: exactly the unskewed
///   `act_in` of `MacArray` for the weight word of inputs `2a, 2a+1`, so
///   present the address one clock ahead of the weight word.
/// * Write: with `write_in` in cycle `t`, byte `write_data_in` goes to
///   index `write_index_in` of row `write_row_in`'s write bank at the edge
///   ending cycle `t` (readable after a swap).
/// * Swap: `swap_in` in cycle `t` takes effect for reads and writes from
///   cycle `t + 1` (reads and writes in cycle `t` still use the old roles).
/// * Latency: [`READ_LATENCY`] = 1 clock (registered RAM read).
/// * Throughput: one read of all rows and one byte write every clock.
/// * Reset: none; bank 0 is the read bank at power-up. RAM contents are
///   undefined until written.
///
/// Requires `1 <= B <= 16`.
#[derive(LogicBlock)]
pub struct ActivationBuffer<const B: usize> {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Word address in the read bank (activations `2a`, `2a + 1`).
    pub read_address_in: Signal<In, Bits<WORD_ADDR_BITS>>,
    /// Per batch row, the read word of the previous clock's address.
    pub act_out: [Signal<Out, Bits<16>>; B],
    /// Write one byte into the write bank.
    pub write_in: Signal<In, Bit>,
    /// Batch row of the write.
    pub write_row_in: Signal<In, Bits<4>>,
    /// Activation index of the write.
    pub write_index_in: Signal<In, Bits<BYTE_ADDR_BITS>>,
    /// The int8 activation to write.
    pub write_data_in: Signal<In, Bits<8>>,
    /// Exchange read and write banks (one-clock strobe).
    pub swap_in: Signal<In, Bit>,
    /// The current read bank (0 or 1).
    pub bank_out: Signal<Out, Bit>,
    even: [RAM<Bits<8>, { BYTE_ADDR_BITS }>; B],
    odd: [RAM<Bits<8>, { BYTE_ADDR_BITS }>; B],
    bank: DFF<Bit>,
    rd_addr: Signal<Local, Bits<BYTE_ADDR_BITS>>,
    wr_addr: Signal<Local, Bits<BYTE_ADDR_BITS>>,
    row_ids: [Constant<Bits<4>>; B],
    c_bank_bit: Constant<Bits<BYTE_ADDR_BITS>>,
}

impl<const B: usize> Default for ActivationBuffer<B> {
    fn default() -> Self {
        assert!((1..=16).contains(&B), "ActivationBuffer needs 1 <= B <= 16");
        Self {
            clock: Default::default(),
            read_address_in: Default::default(),
            act_out: std::array::from_fn(|_| Default::default()),
            write_in: Default::default(),
            write_row_in: Default::default(),
            write_index_in: Default::default(),
            write_data_in: Default::default(),
            swap_in: Default::default(),
            bank_out: Default::default(),
            even: std::array::from_fn(|_| Default::default()),
            odd: std::array::from_fn(|_| Default::default()),
            bank: Default::default(),
            rd_addr: Default::default(),
            wr_addr: Default::default(),
            row_ids: std::array::from_fn(|b| Constant::new((b as u64).to_bits())),
            c_bank_bit: Constant::new((1u64 << WORD_ADDR_BITS).to_bits()),
        }
    }
}

impl<const B: usize> Logic for ActivationBuffer<B> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, bank);
        if self.swap_in.val() {
            self.bank.d.next = !self.bank.q.val();
        }
        // RAM address = {bank, word}.
        self.rd_addr.next = bit_cast::<BYTE_ADDR_BITS, WORD_ADDR_BITS>(self.read_address_in.val());
        if self.bank.q.val() {
            self.rd_addr.next =
                bit_cast::<BYTE_ADDR_BITS, WORD_ADDR_BITS>(self.read_address_in.val())
                    | self.c_bank_bit.val();
        }
        self.wr_addr.next = self.write_index_in.val() >> 1;
        if !self.bank.q.val() {
            self.wr_addr.next = (self.write_index_in.val() >> 1) | self.c_bank_bit.val();
        }
        for b in 0..B {
            self.even[b].read_clock.next = self.clock.val();
            self.even[b].write_clock.next = self.clock.val();
            self.odd[b].read_clock.next = self.clock.val();
            self.odd[b].write_clock.next = self.clock.val();
            self.even[b].read_address.next = self.rd_addr.val();
            self.odd[b].read_address.next = self.rd_addr.val();
            self.even[b].write_address.next = self.wr_addr.val();
            self.odd[b].write_address.next = self.wr_addr.val();
            self.even[b].write_data.next = self.write_data_in.val();
            self.odd[b].write_data.next = self.write_data_in.val();
            self.even[b].write_enable.next = self.write_in.val()
                & (self.write_row_in.val() == self.row_ids[b].val())
                & !self.write_index_in.val().get_bit(0);
            self.odd[b].write_enable.next = self.write_in.val()
                & (self.write_row_in.val() == self.row_ids[b].val())
                & self.write_index_in.val().get_bit(0);
            // Widened with index().to_bits(): bit_cast would be evaluated in
            // Rust at generation time, where the loop index does not exist.
            self.act_out[b].next = self.even[b].read_data.val().index().to_bits::<16>()
                | (self.odd[b].read_data.val().index().to_bits::<16>() << 8);
        }
        self.bank_out.next = self.bank.q.val();
    }
}

/// One clock's inputs of [`ActivationBuffer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActIn {
    /// `read_address_in`.
    pub read_address: usize,
    /// `write_in` with (`write_row_in`, `write_index_in`, `write_data_in`).
    pub write: Option<(usize, usize, i8)>,
    /// `swap_in`.
    pub swap: bool,
}

/// Cycle-level reference model of [`ActivationBuffer`]. Bytes never
/// written read as `None`.
#[derive(Clone, Debug)]
pub struct ActivationBufferModel {
    /// `[bank][row][index]`.
    mem: [Vec<Vec<Option<i8>>>; 2],
    bank: usize,
    out: Vec<[Option<i8>; 2]>,
}

impl ActivationBufferModel {
    /// A model of `ActivationBuffer<batch>`.
    pub fn new(batch: usize) -> Self {
        let bank = || vec![vec![None; MAX_INPUTS]; batch];
        Self {
            mem: [bank(), bank()],
            bank: 0,
            out: vec![[None; 2]; batch],
        }
    }

    /// One clock: this clock's outputs (`act_out` per row, `bank_out`),
    /// then takes this clock's inputs.
    pub fn step(&mut self, inp: &ActIn) -> (Vec<[Option<i8>; 2]>, usize) {
        let out = (self.out.clone(), self.bank);
        let a = inp.read_address;
        self.out = self.mem[self.bank]
            .iter()
            .map(|row| [row[2 * a], row[2 * a + 1]])
            .collect();
        if let Some((row, index, v)) = inp.write {
            self.mem[1 - self.bank][row][index] = Some(v);
        }
        if inp.swap {
            self.bank = 1 - self.bank;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::Model;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn run<const B: usize>(seed: u64, clocks: usize) {
        let mut uut = ActivationBuffer::<B>::default();
        uut.connect_all();
        let mut hw = Model::of_block(&uut).unwrap();
        let clk = hw.p("clock");
        let (ra, wr, wrow, widx, wdat, swap, bank) = (
            hw.p("read_address_in"),
            hw.p("write_in"),
            hw.p("write_row_in"),
            hw.p("write_index_in"),
            hw.p("write_data_in"),
            hw.p("swap_in"),
            hw.p("bank_out"),
        );
        let outs: Vec<_> = (0..B).map(|b| hw.p(&format!("act_out${b}"))).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut model = ActivationBufferModel::new(B);
        let (mut compared, mut swaps, mut unknown) = (0usize, 0usize, 0usize);
        // Addresses clustered in a window so that reads often hit written
        // bytes; the window moves now and then.
        let mut base = 0usize;
        for t in 0..clocks {
            if rng.gen_ratio(1, 2000) {
                base = rng.gen_range(0..MAX_INPUTS - 64);
            }
            let inp = ActIn {
                read_address: (base + rng.gen_range(0..64)) / 2,
                write: rng.gen_bool(0.7).then(|| {
                    (
                        rng.gen_range(0..B),
                        base + rng.gen_range(0..64),
                        rng.gen::<i8>(),
                    )
                }),
                swap: rng.gen_ratio(1, 300),
            };
            hw.set(clk, 0);
            hw.set(ra, inp.read_address as u64);
            let (w, row, idx, v) = inp.write.map_or((0, 0, 0, 0), |(r, i, v)| (1, r, i, v));
            hw.set(wr, w);
            hw.set(wrow, row as u64);
            hw.set(widx, idx as u64);
            hw.set(wdat, v as u8 as u64);
            hw.set(swap, inp.swap as u64);
            hw.eval();
            let (want, want_bank) = model.step(&inp);
            assert_eq!(hw.get(bank) as usize, want_bank, "bank_out, clock {t}");
            for (b, port) in outs.iter().enumerate() {
                let got = hw.get(*port);
                for (lane, w) in want[b].iter().enumerate() {
                    match w {
                        Some(x) => {
                            assert_eq!(
                                (got >> (8 * lane)) as u8 as i8,
                                *x,
                                "row {b} lane {lane}, clock {t}"
                            );
                            compared += 1;
                        }
                        None => unknown += 1,
                    }
                }
            }
            swaps += usize::from(inp.swap);
            hw.set(clk, 1);
            hw.eval();
        }
        println!(
            "ActivationBuffer<{B}>: {clocks} clocks, {swaps} swaps, {compared} bytes read and \
             compared ({unknown} never-written bytes skipped)"
        );
        assert!(compared > clocks * B, "too few compared bytes");
    }

    #[test]
    fn activation_buffer_b8_matches_the_model() {
        run::<8>(0xAC7B_0008, 100_000);
    }

    #[test]
    fn activation_buffer_b3_matches_the_model() {
        run::<3>(0xAC7B_0003, 50_000);
    }

    #[test]
    fn activation_buffer_is_synthesizable() {
        let mut uut = ActivationBuffer::<8>::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "mac_activations_b8").unwrap();
        println!("ActivationBuffer<8>: {report}");
        assert_eq!(report.brams(), 16, "{report}");
        assert!(report.luts() < 300, "{report}");
    }
}

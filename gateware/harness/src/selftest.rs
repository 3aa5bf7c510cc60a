//! Blocks that exist to test the tooling, not to ship in a bitstream.
//!
//! [`HarnessFixture`] exercises what the Verilator harness must get right: a
//! FIFO, a RAM with separate read and write ports, a four-stage pipeline on a
//! port wider than 64 bits, and a combinational output. The harness test
//! drives it with the same seeded random stimulus under rust-hdl's simulator
//! and under Verilator and compares every output on every cycle.

use rust_hdl::prelude::*;

declare_sync_fifo!(FixtureFifo, Bits<16>, 16, 1);

/// Width of the wide pipeline: more than 64 bits, fewer than 128.
pub const WIDE: usize = 100;

/// A FIFO, a RAM and a pipeline wider than 64 bits, all on one clock.
///
/// Latency: FIFO as rust-hdl's `SynchronousFIFO` (first word visible the
/// clock after the write); RAM read data one clock after the address; the wide
/// pipeline four clocks. Throughput: one operation of each kind per clock.
/// Reset: none; every register starts at zero.
#[derive(LogicBlock)]
pub struct HarnessFixture {
    /// The one clock.
    pub clock: Signal<In, Clock>,
    /// Push `fifo_data_in` into the FIFO.
    pub fifo_write: Signal<In, Bit>,
    /// Word to push.
    pub fifo_data_in: Signal<In, Bits<16>>,
    /// Pop the FIFO's head.
    pub fifo_read: Signal<In, Bit>,
    /// The FIFO's head.
    pub fifo_data_out: Signal<Out, Bits<16>>,
    /// The FIFO is empty.
    pub fifo_empty: Signal<Out, Bit>,
    /// The FIFO is full.
    pub fifo_full: Signal<Out, Bit>,
    /// Write `ram_write_data` at `ram_write_address`.
    pub ram_write: Signal<In, Bit>,
    /// RAM write address.
    pub ram_write_address: Signal<In, Bits<8>>,
    /// RAM write data.
    pub ram_write_data: Signal<In, Bits<32>>,
    /// RAM read address.
    pub ram_read_address: Signal<In, Bits<8>>,
    /// RAM word at the address of the previous clock.
    pub ram_read_data: Signal<Out, Bits<32>>,
    /// Input of the wide pipeline.
    pub wide_in: Signal<In, Bits<WIDE>>,
    /// Output of the wide pipeline, four clocks later.
    pub wide_out: Signal<Out, Bits<WIDE>>,
    /// Combinational: FIFO head plus the low half of the RAM read data.
    pub mix_out: Signal<Out, Bits<16>>,
    fifo: FixtureFifo,
    ram: RAM<Bits<32>, 8>,
    stage0: DFF<Bits<WIDE>>,
    stage1: DFF<Bits<WIDE>>,
    stage2: DFF<Bits<WIDE>>,
    stage3: DFF<Bits<WIDE>>,
}

impl Default for HarnessFixture {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            fifo_write: Default::default(),
            fifo_data_in: Default::default(),
            fifo_read: Default::default(),
            fifo_data_out: Default::default(),
            fifo_empty: Default::default(),
            fifo_full: Default::default(),
            ram_write: Default::default(),
            ram_write_address: Default::default(),
            ram_write_data: Default::default(),
            ram_read_address: Default::default(),
            ram_read_data: Default::default(),
            wide_in: Default::default(),
            wide_out: Default::default(),
            mix_out: Default::default(),
            fifo: Default::default(),
            ram: RAM::new(Default::default()),
            stage0: Default::default(),
            stage1: Default::default(),
            stage2: Default::default(),
            stage3: Default::default(),
        }
    }
}

impl Logic for HarnessFixture {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, stage0, stage1, stage2, stage3);
        self.fifo.clock.next = self.clock.val();
        self.fifo.write.next = self.fifo_write.val();
        self.fifo.data_in.next = self.fifo_data_in.val();
        self.fifo.read.next = self.fifo_read.val();
        self.fifo_data_out.next = self.fifo.data_out.val();
        self.fifo_empty.next = self.fifo.empty.val();
        self.fifo_full.next = self.fifo.full.val();

        self.ram.write_clock.next = self.clock.val();
        self.ram.read_clock.next = self.clock.val();
        self.ram.write_enable.next = self.ram_write.val();
        self.ram.write_address.next = self.ram_write_address.val();
        self.ram.write_data.next = self.ram_write_data.val();
        self.ram.read_address.next = self.ram_read_address.val();
        self.ram_read_data.next = self.ram.read_data.val();

        // Four stages that mix the wide word with itself and the RAM output,
        // so a wrong bit anywhere in the 100 shows up at the output.
        self.stage0.d.next = self.wide_in.val() ^ (self.wide_in.val() >> 37);
        self.stage1.d.next = self.stage0.q.val() + bit_cast::<WIDE, 32>(self.ram.read_data.val());
        self.stage2.d.next = self.stage1.q.val() ^ (self.stage1.q.val() << 29);
        self.stage3.d.next = self.stage2.q.val() - (self.stage1.q.val() >> 3);
        self.wide_out.next = self.stage3.q.val();

        self.mix_out.next = self.fifo.data_out.val() + bit_cast::<16, 32>(self.ram.read_data.val());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harness_fixture_is_synthesizable() {
        let mut uut = HarnessFixture::default();
        uut.connect_all();
        let report = crate::synth::synth_block(&uut, "harness_fixture").unwrap();
        assert!(report.cells.get("TRELLIS_FF").copied().unwrap_or(0) >= 400);
    }
}

/// One clock's inputs to [`HarnessFixture`].
#[derive(Clone, Debug)]
pub struct FixtureInputs {
    /// `fifo_write`.
    pub fifo_write: bool,
    /// `fifo_data_in`.
    pub fifo_data_in: u16,
    /// `fifo_read`.
    pub fifo_read: bool,
    /// `ram_write`.
    pub ram_write: bool,
    /// `ram_write_address`.
    pub ram_write_address: u8,
    /// `ram_write_data`.
    pub ram_write_data: u32,
    /// `ram_read_address`.
    pub ram_read_address: u8,
    /// `wide_in`, little-endian 32-bit words.
    pub wide_in: [u32; 4],
}

/// One clock's outputs of [`HarnessFixture`], sampled before the rising edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixtureOutputs {
    /// `fifo_data_out`.
    pub fifo_data_out: u16,
    /// `fifo_empty`.
    pub fifo_empty: bool,
    /// `fifo_full`.
    pub fifo_full: bool,
    /// `ram_read_data`.
    pub ram_read_data: u32,
    /// `wide_out`, little-endian 32-bit words.
    pub wide_out: [u32; 4],
    /// `mix_out`.
    pub mix_out: u16,
}

/// `cycles` clocks of seeded random inputs. FIFO reads and writes are biased
/// in phases so the FIFO runs both full and empty.
pub fn fixture_stimulus(seed: u64, cycles: usize) -> Vec<FixtureInputs> {
    // A small self-contained generator (SplitMix64) keeps the stimulus the
    // same whatever version of `rand` a caller has.
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..cycles)
        .map(|i| {
            let phase = (i / 200) % 3; // fill, drain, mixed
            let (pw, pr) = match phase {
                0 => (90, 20),
                1 => (20, 90),
                _ => (50, 50),
            };
            let a = next();
            let b = next();
            let c = next();
            FixtureInputs {
                fifo_write: (a % 100) < pw,
                fifo_data_in: (a >> 8) as u16,
                fifo_read: ((a >> 24) % 100) < pr,
                ram_write: (a >> 40) & 1 == 1,
                ram_write_address: (a >> 48) as u8,
                ram_write_data: b as u32,
                ram_read_address: (b >> 32) as u8,
                wide_in: [
                    c as u32,
                    (c >> 32) as u32,
                    (b >> 40) as u32,
                    ((a >> 56) & 0xF) as u32,
                ],
            }
        })
        .collect()
}

fn words_of<const N: usize>(b: Bits<N>) -> [u32; 4] {
    let v = crate::verilator::bits_to_words(b);
    [v[0], v[1], v[2], v[3]]
}

/// Runs the stimulus under rust-hdl's own simulator (`Simulation`, one
/// testbench thread that drives the clock and the inputs).
pub fn run_fixture_rust_hdl(stimulus: Vec<FixtureInputs>) -> Vec<FixtureOutputs> {
    use std::sync::{Arc, Mutex};
    let out = Arc::new(Mutex::new(Vec::with_capacity(stimulus.len())));
    let sink = out.clone();
    let cycles = stimulus.len() as u64;
    let mut sim = Simulation::new();
    sim.add_testbench(move |mut sim: Sim<HarnessFixture>| {
        let mut x = sim.init()?;
        let mut seen = Vec::with_capacity(stimulus.len());
        for s in &stimulus {
            x.clock.next = Clock { clk: false };
            x.fifo_write.next = s.fifo_write;
            x.fifo_data_in.next = (s.fifo_data_in as u64).to_bits();
            x.fifo_read.next = s.fifo_read;
            x.ram_write.next = s.ram_write;
            x.ram_write_address.next = (s.ram_write_address as u64).to_bits();
            x.ram_write_data.next = (s.ram_write_data as u64).to_bits();
            x.ram_read_address.next = (s.ram_read_address as u64).to_bits();
            x.wide_in.next = crate::verilator::words_to_bits::<WIDE>(&s.wide_in);
            x = sim.wait(1, x)?;
            seen.push(FixtureOutputs {
                fifo_data_out: x.fifo_data_out.val().to_u16(),
                fifo_empty: x.fifo_empty.val(),
                fifo_full: x.fifo_full.val(),
                ram_read_data: x.ram_read_data.val().to_u32(),
                wide_out: words_of(x.wide_out.val()),
                mix_out: x.mix_out.val().to_u16(),
            });
            x.clock.next = Clock { clk: true };
            x = sim.wait(1, x)?;
        }
        *sink.lock().unwrap() = seen;
        sim.done(x)
    });
    let uut = HarnessFixture::default();
    sim.run(Box::new(uut), 2 * cycles + 10)
        .expect("rust-hdl simulation of the harness fixture failed");
    let v = std::mem::take(&mut *out.lock().unwrap());
    v
}

/// Runs the stimulus on the Verilator model of the same block, with the
/// same order of events as [`run_fixture_rust_hdl`].
pub fn run_fixture_verilator(
    stimulus: &[FixtureInputs],
) -> Result<Vec<FixtureOutputs>, crate::verilator::HarnessError> {
    let mut uut = HarnessFixture::default();
    uut.connect_all();
    let mut m = crate::verilator::Model::of_block(&uut)?;
    let clock = m.port("clock")?;
    let fifo_write = m.port("fifo_write")?;
    let fifo_data_in = m.port("fifo_data_in")?;
    let fifo_read = m.port("fifo_read")?;
    let ram_write = m.port("ram_write")?;
    let ram_write_address = m.port("ram_write_address")?;
    let ram_write_data = m.port("ram_write_data")?;
    let ram_read_address = m.port("ram_read_address")?;
    let wide_in = m.port("wide_in")?;
    let fifo_data_out = m.port("fifo_data_out")?;
    let fifo_empty = m.port("fifo_empty")?;
    let fifo_full = m.port("fifo_full")?;
    let ram_read_data = m.port("ram_read_data")?;
    let wide_out = m.port("wide_out")?;
    let mix_out = m.port("mix_out")?;
    let mut seen = Vec::with_capacity(stimulus.len());
    for s in stimulus {
        m.set(clock, 0);
        m.set(fifo_write, s.fifo_write as u64);
        m.set(fifo_data_in, s.fifo_data_in as u64);
        m.set(fifo_read, s.fifo_read as u64);
        m.set(ram_write, s.ram_write as u64);
        m.set(ram_write_address, s.ram_write_address as u64);
        m.set(ram_write_data, s.ram_write_data as u64);
        m.set(ram_read_address, s.ram_read_address as u64);
        m.set_words(wide_in, &s.wide_in);
        m.eval();
        let mut w = [0u32; 4];
        m.get_words_into(wide_out, &mut w);
        seen.push(FixtureOutputs {
            fifo_data_out: m.get(fifo_data_out) as u16,
            fifo_empty: m.get(fifo_empty) == 1,
            fifo_full: m.get(fifo_full) == 1,
            ram_read_data: m.get(ram_read_data) as u32,
            wide_out: w,
            mix_out: m.get(mix_out) as u16,
        });
        m.set(clock, 1);
        m.eval();
    }
    Ok(seen)
}

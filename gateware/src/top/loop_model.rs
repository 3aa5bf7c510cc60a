//! A transaction-level model of the loop core behind the register file:
//! [`RamBackend`], a loop of slots held in memory with a functional model of
//! the inference engine ([`RamEngine`]), computed a layer at a time instead
//! of a clock at a time. With the register file's model
//! ([`super::reg_file_model`]) and the command engine's
//! ([`crate::hostif::cmd_engine::EngineModel`]) it is a whole board in
//! Rust: fast enough for host-side tests, and the reference of `BoardCore`'s
//! lockstep test for traffic that does not depend on the loop's timing.

use super::reg_file_model::{Backend, PhyReport, SlotData};
use crate::hostif::cmd_engine::Refusal;
use fiberloop_spec::engine::{LayerEntry, ParamEntry, BATCH as ENGINE_BATCH, PARAM_ENTRIES};
use fiberloop_spec::frame::PAYLOAD_BYTES;
use fiberloop_spec::layout::SLOT_WORDS as TAP_SLOT_WORDS;
use fiberloop_spec::proto::status;
use fiberloop_spec::quant::Requant;
use fiberloop_spec::regs::{self, counter, infer_bits, status_bits, COUNTER_COUNT};

/// Activations per bank and batch row.
const BANK: usize = regs::MAX_ACTIVATIONS as usize;

/// A functional model of the gateware's inference engine
/// (`fiberloop_gateware::infer::engine`) over the slots of a
/// [`RamBackend`]: the same layer table, parameter memory, ping-pong
/// activation banks and arithmetic, computed a layer at a time instead of a
/// clock at a time.
#[derive(Clone, Debug)]
pub struct RamEngine {
    table: [LayerEntry; regs::MAX_LAYERS as usize],
    n_layers: u32,
    params: Vec<ParamEntry>,
    /// Per batch row, bank 0 then bank 1.
    acts: Vec<Vec<i8>>,
    read_bank: usize,
    /// Running word clocks left until the batch is done (while busy).
    left: Option<u64>,
    done: bool,
    bad: bool,
    overrun: bool,
    batch: usize,
    /// Batches still to be flagged `BAD` (a weight frame marked bad by the
    /// loop), for tests of the host's handling; the RAM loop never damages
    /// frames by itself.
    pub bad_batches: u32,
}

impl RamEngine {
    fn new(batch: usize) -> Self {
        Self {
            table: [LayerEntry::default(); regs::MAX_LAYERS as usize],
            n_layers: 0,
            params: vec![ParamEntry::default(); PARAM_ENTRIES],
            acts: vec![vec![0; 2 * BANK]; batch],
            read_bank: 0,
            left: None,
            done: false,
            bad: false,
            overrun: false,
            batch,
            bad_batches: 0,
        }
    }

    /// Runs every layer of the table on the read bank, as the engine does
    /// while the layers pass: layer `k`'s row `j` is `row_words` tap words
    /// from tap word `j * row_words` of the layer's stream, which starts at
    /// the first payload word of `first_slot` and runs on through the
    /// following slots (wrapping round the loop); tap word `m` of a row
    /// carries the weights of inputs `2m` (bits 7:0) and `2m + 1` (15:8).
    fn compute(&mut self, slots: &[[u8; PAYLOAD_BYTES]]) {
        let n = slots.len();
        for k in 0..self.n_layers as usize {
            let e = self.table[k];
            let (rows, s) = (e.rows as usize, e.row_words as usize);
            if rows >= 2 && s < self.batch {
                self.overrun = true;
            }
            let rb = self.read_bank * BANK;
            let wb = (1 - self.read_bank) * BANK;
            for j in 0..rows {
                let p = self.params[(e.param_base as usize + j) % PARAM_ENTRIES];
                let q = Requant {
                    multiplier: p.multiplier,
                    shift: p.shift & 31,
                    output_zero_point: p.zero_point,
                    relu: p.relu,
                };
                let mut accs = vec![p.bias; self.batch];
                for m in 0..s {
                    let t = j * s + m;
                    let slot = &slots[(e.first_slot as usize + t / TAP_SLOT_WORDS) % n];
                    let off = 2 * (t % TAP_SLOT_WORDS);
                    let (w0, w1) = (slot[off] as i8 as i32, slot[off + 1] as i8 as i32);
                    let a = 2 * (m % (BANK / 2));
                    for (acc, x) in accs.iter_mut().zip(&self.acts) {
                        *acc = acc
                            .wrapping_add(x[rb + a] as i32 * w0)
                            .wrapping_add(x[rb + a + 1] as i32 * w1);
                    }
                }
                for (acc, x) in accs.iter().zip(self.acts.iter_mut()) {
                    x[wb + j % BANK] = q.apply(*acc);
                }
            }
            self.read_bank ^= 1;
        }
    }

    /// Parameter entry `i` as entered.
    pub fn param(&self, i: usize) -> ParamEntry {
        self.params[i % PARAM_ENTRIES]
    }

    /// Layer-table entry `k` as entered.
    pub fn table_entry(&self, k: usize) -> LayerEntry {
        self.table[k % regs::MAX_LAYERS as usize]
    }

    /// Batch row `row`'s write bank (where the host's inputs go).
    pub fn write_bank(&self, row: usize) -> &[i8] {
        let wb = (1 - self.read_bank) * BANK;
        &self.acts[row][wb..wb + BANK]
    }

    /// Whether the table's layers can all be found in a loop of `n` slots
    /// (the sequencer waits for each layer's first slot forever otherwise).
    fn startable(&self, n: usize) -> bool {
        self.table[..self.n_layers as usize]
            .iter()
            .all(|e| (e.first_slot as usize) < n)
    }
}

/// An in-memory loop: `slots` slots that keep what is written, a lap counter
/// that advances with time. For the engine's tests and fuzzing.
#[derive(Clone, Debug)]
pub struct RamBackend {
    slots: Vec<[u8; PAYLOAD_BYTES]>,
    running: bool,
    clocks: u64,
    lap_clocks: u64,
    /// Slot writes executed (so tests can see what was acted on).
    pub slot_writes: u64,
    /// The inference engine.
    pub engine: RamEngine,
}

impl RamBackend {
    /// A loop of `slots` slots whose lap takes `lap_clocks` word clocks.
    pub fn new(slots: usize, lap_clocks: u64) -> Self {
        Self {
            slots: vec![[0; PAYLOAD_BYTES]; slots],
            running: false,
            clocks: 0,
            lap_clocks: lap_clocks.max(1),
            slot_writes: 0,
            engine: RamEngine::new(ENGINE_BATCH),
        }
    }

    /// Word clocks a batch takes while the loop runs: two laps (one to
    /// reach layer 0's first slot, one for the layers).
    pub fn batch_clocks(&self) -> u64 {
        2 * self.lap_clocks
    }

    fn check(&self, slot: u32) -> Result<(), Refusal> {
        if !self.running {
            return Err(Refusal::new(status::FAULT, "the loop is not running"));
        }
        if slot as usize >= self.slots.len() {
            return Err(Refusal::new(
                status::BAD_VALUE,
                format!(
                    "slot {slot} does not exist (loop holds {})",
                    self.slots.len()
                ),
            ));
        }
        Ok(())
    }
}

impl Backend for RamBackend {
    fn counters(&mut self) -> [u64; COUNTER_COUNT as usize] {
        let mut c = [0; COUNTER_COUNT as usize];
        c[counter::CLOCKS as usize] = self.clocks;
        if self.running {
            c[counter::LAPS as usize] = self.clocks / self.lap_clocks;
            c[counter::FRAMES as usize] = c[0] * self.slots.len() as u64;
            c[counter::IN_FLIGHT as usize] = self.slots.len() as u64;
            c[counter::DELAY_CLOCKS as usize] = self.lap_clocks;
        }
        c
    }
    fn loop_status(&mut self) -> u32 {
        if self.running {
            status_bits::MODE_RUNNING
        } else {
            status_bits::MODE_IDLE
        }
    }
    fn control(&mut self, command: u32, _fill_timeout: u32) -> Result<(), Refusal> {
        match command {
            regs::ctrl::FILL => {
                self.running = true;
                self.clocks = 0;
                for s in &mut self.slots {
                    *s = [0; PAYLOAD_BYTES];
                }
                Ok(())
            }
            regs::ctrl::RUN if self.running => Ok(()),
            c => Err(Refusal::new(
                status::BAD_VALUE,
                format!("loop command {c} not supported"),
            )),
        }
    }
    fn write_slot(&mut self, slot: u32, payload: &[u8; PAYLOAD_BYTES]) -> Result<(), Refusal> {
        self.check(slot)?;
        self.slots[slot as usize] = *payload;
        self.slot_writes += 1;
        Ok(())
    }
    fn read_slot(&mut self, slot: u32) -> Result<SlotData, Refusal> {
        self.check(slot)?;
        Ok(SlotData {
            flags: 0,
            lap: (self.clocks / self.lap_clocks) as u32,
            payload: self.slots[slot as usize],
        })
    }
    fn advance(&mut self, clocks: u64) {
        self.clocks += clocks;
        if !self.running {
            return;
        }
        if let Some(left) = self.engine.left {
            if !self.engine.startable(self.slots.len()) {
                return;
            }
            if left > clocks {
                self.engine.left = Some(left - clocks);
            } else {
                self.engine.left = None;
                self.engine.compute(&self.slots);
                self.engine.done = true;
                if self.engine.bad_batches > 0 {
                    self.engine.bad_batches -= 1;
                    self.engine.bad = true;
                }
            }
        }
    }

    fn phy(&mut self) -> PhyReport {
        PhyReport::no_line()
    }
    fn aids_control(&mut self, ctrl: u32, _clear: bool) {
        // With anything but the loop's traffic going out, the ring is
        // gone: a fill brings it back (the gateware reports the loop lost).
        if ctrl & fiberloop_spec::phy::prbs_ctrl::SOURCE_MASK != fiberloop_spec::phy::source::LOOP {
            self.running = false;
        }
    }

    fn eng_batch(&mut self) -> u32 {
        self.engine.batch as u32
    }

    fn eng_write_table(&mut self, layer: u32, entry: LayerEntry) {
        self.engine.table[layer as usize % regs::MAX_LAYERS as usize] = entry;
    }

    fn eng_set_layers(&mut self, n: u32) {
        self.engine.n_layers = n.min(regs::MAX_LAYERS);
    }

    fn eng_write_param(&mut self, index: u32, p: &ParamEntry) {
        self.engine.params[index as usize % PARAM_ENTRIES] = *p;
    }

    fn eng_write_input(&mut self, row: u32, word: u32, pair: u16) {
        let e = &mut self.engine;
        if e.left.is_some() || row as usize >= e.batch {
            return;
        }
        let i = (1 - e.read_bank) * BANK + 2 * (word as usize % (BANK / 2));
        e.acts[row as usize][i] = pair as u8 as i8;
        e.acts[row as usize][i + 1] = (pair >> 8) as u8 as i8;
    }

    fn eng_start(&mut self) {
        let e = &mut self.engine;
        if e.left.is_some() {
            return;
        }
        e.read_bank ^= 1;
        e.done = false;
        e.bad = false;
        e.overrun = false;
        e.left = Some(2 * self.lap_clocks);
    }

    fn eng_status(&mut self) -> u32 {
        let e = &self.engine;
        let mut v = 0;
        if e.left.is_some() {
            v |= infer_bits::BUSY;
        }
        if e.done {
            v |= infer_bits::DONE;
        }
        if e.bad {
            v |= infer_bits::BAD;
        }
        if e.overrun {
            v |= infer_bits::OVERRUN;
        }
        v
    }

    fn eng_read_output(&mut self, row: u32, word: u32) -> u16 {
        let e = &self.engine;
        let r = if (row as usize) < e.batch {
            row as usize
        } else {
            0
        };
        let i = e.read_bank * BANK + 2 * (word as usize % (BANK / 2));
        e.acts[r][i] as u8 as u16 | (e.acts[r][i + 1] as u8 as u16) << 8
    }
}

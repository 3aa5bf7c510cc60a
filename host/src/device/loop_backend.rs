//! The simulated gateware loop ([`LoopSim`]: the loop core in Verilator
//! plus the fiber model) behind the command engine's registers.
//!
//! Loop time follows link time: the engine hands over the word clocks that
//! the bytes took on the link, and they are owed to the loop. Verilator runs
//! the loop far slower than real time (a 3 Mbaud byte is 417 word clocks),
//! so owed clocks are run only where time can be seen: before the loop
//! status and counters are read (at most [`MAX_CATCHUP`] at a time, the rest
//! skipped: the `clocks` counter reports the clocks actually simulated),
//! and, while a batch runs, before the inference status is read, until the
//! batch is done or the owed clocks (at most [`MAX_CATCHUP`]) are used up.
//! Register writes, slot operations and output reads do not wait for owed
//! clocks (the slot operations and the engine's ports step the model as
//! they need).
//!
//! Slot writes and reads complete before the reply (the simulated
//! controller is driven to completion), so the pending bits never show.
//! Not modelled: `ctrl::IDLE` and `ctrl::MEASURE` are refused (the loop
//! controller only knows "fill").

use super::engine::{Backend, PhyReport, Refusal, SlotData};
use super::SimOptions;
use fiberloop_sim::loop_sim::{LoopSim, LoopSimError};
use fiberloop_spec::engine::{LayerEntry, ParamEntry};
use fiberloop_spec::frame::PAYLOAD_BYTES;
use fiberloop_spec::proto::status;
use fiberloop_spec::regs::{counter, ctrl, infer_bits, status_bits, COUNTER_COUNT};

/// Most owed word clocks run before one loop access.
pub const MAX_CATCHUP: u64 = 200_000;

/// The simulated loop as an engine backend.
pub struct LoopBackend {
    sim: LoopSim,
    owed: u64,
    skipped: u64,
}

fn refusal(e: LoopSimError) -> Refusal {
    let st = match e {
        LoopSimError::NoSuchSlot { .. } | LoopSimError::PayloadSize { .. } => status::BAD_VALUE,
        _ => status::FAULT,
    };
    Refusal::new(st, e.to_string())
}

impl LoopBackend {
    /// Builds the loop (Verilator model, cached) with these fiber settings.
    pub fn new(o: &SimOptions) -> Result<Self, LoopSimError> {
        Ok(Self {
            sim: LoopSim::new(o.fiber())?,
            owed: 0,
            skipped: 0,
        })
    }

    /// The simulated loop.
    pub fn sim(&mut self) -> &mut LoopSim {
        &mut self.sim
    }

    /// Owed clocks skipped so far (beyond [`MAX_CATCHUP`]).
    pub fn skipped_clocks(&self) -> u64 {
        self.skipped
    }

    fn catch_up(&mut self) {
        let run = self.owed.min(MAX_CATCHUP);
        self.skipped += self.owed - run;
        self.owed = 0;
        self.sim.run(run);
    }

    /// Runs owed clocks (at most [`MAX_CATCHUP`]) while the engine is busy.
    fn run_while_busy(&mut self) {
        let limit = self.owed.min(MAX_CATCHUP);
        let mut ran = 0;
        while ran < limit && self.sim.eng_status().busy {
            self.sim.step();
            ran += 1;
        }
        self.owed -= ran;
    }
}

impl Backend for LoopBackend {
    fn counters(&mut self) -> [u64; COUNTER_COUNT as usize] {
        self.catch_up();
        let s = self.sim.stats();
        let mut c = [0u64; COUNTER_COUNT as usize];
        c[counter::LAPS as usize] = s.laps;
        c[counter::FRAMES as usize] = s.frames;
        c[counter::CORRECTED_BYTES as usize] = s.corrected_bytes;
        c[counter::UNCORRECTABLE as usize] = s.uncorrectable;
        c[counter::CRC_FAILURES as usize] = s.crc_failures;
        c[counter::CODE_VIOLATIONS as usize] = s.code_violations;
        c[counter::SYNC_LOSSES as usize] = s.sync_losses;
        c[counter::SOF_REPAIRS as usize] = s.sof_repairs;
        c[counter::SOF_DROPS as usize] = s.sof_drops;
        c[counter::DELAY_CLOCKS as usize] = s.delay_clocks;
        c[counter::IN_FLIGHT as usize] = s.slots;
        c[counter::CLOCKS as usize] = s.clocks;
        c[counter::TAP_WORDS as usize] = self.sim.tap_words();
        c
    }

    fn loop_status(&mut self) -> u32 {
        self.catch_up();
        let s = self.sim.stats();
        let mode = match s.mode {
            0 => status_bits::MODE_IDLE,
            1 | 2 => status_bits::MODE_MEASURING,
            3 => status_bits::MODE_FILLING,
            _ => status_bits::MODE_RUNNING,
        };
        mode | if s.no_loop { status_bits::NO_LOOP } else { 0 }
            | if s.loop_lost {
                status_bits::LOOP_LOST
            } else {
                0
            }
    }

    fn control(&mut self, command: u32, fill_timeout: u32) -> Result<(), Refusal> {
        match command {
            ctrl::FILL => self.sim.fill(fill_timeout as u64).map(|_| ()).map_err(refusal),
            ctrl::RUN if self.sim.stats().mode == 4 => Ok(()),
            c => Err(Refusal::new(
                status::BAD_VALUE,
                format!("loop command {c}: the simulated loop controller only fills (command 2), then runs"),
            )),
        }
    }

    fn write_slot(&mut self, slot: u32, payload: &[u8; PAYLOAD_BYTES]) -> Result<(), Refusal> {
        self.sim.write_slot(slot, payload).map_err(refusal)
    }

    fn read_slot(&mut self, slot: u32) -> Result<SlotData, Refusal> {
        let r = self.sim.read_slot(slot).map_err(refusal)?;
        let mut payload = [0u8; PAYLOAD_BYTES];
        payload.copy_from_slice(&r.payload);
        Ok(SlotData {
            flags: r.flags,
            lap: r.lap,
            payload,
        })
    }

    fn advance(&mut self, clocks: u64) {
        self.owed = self.owed.saturating_add(clocks);
    }

    fn eng_batch(&mut self) -> u32 {
        self.sim.eng_batch() as u32
    }

    fn eng_write_table(&mut self, layer: u32, entry: LayerEntry) {
        self.sim.eng_write_table(layer as usize, entry);
    }

    fn eng_set_layers(&mut self, n: u32) {
        self.sim.eng_set_layers(n as usize);
    }

    fn eng_write_param(&mut self, index: u32, p: &ParamEntry) {
        self.sim.eng_write_param(index as usize, p);
    }

    fn eng_write_input(&mut self, row: u32, word: u32, pair: u16) {
        let i = 2 * word as usize;
        self.sim.eng_write_input(row as usize, i, pair as u8 as i8);
        self.sim
            .eng_write_input(row as usize, i + 1, (pair >> 8) as u8 as i8);
    }

    fn eng_start(&mut self) {
        self.sim.eng_start();
    }

    fn eng_status(&mut self) -> u32 {
        self.run_while_busy();
        let s = self.sim.eng_status();
        let bit = |b: bool, v: u32| if b { v } else { 0 };
        bit(s.busy, infer_bits::BUSY)
            | bit(s.done, infer_bits::DONE)
            | bit(s.bad, infer_bits::BAD)
            | bit(s.overrun, infer_bits::OVERRUN)
    }

    fn eng_read_output(&mut self, row: u32, word: u32) -> u16 {
        self.sim.eng_read_output(row as usize, word as usize)
    }

    fn phy(&mut self) -> PhyReport {
        use fiberloop_spec::phy::{init_state, phy_status as f};
        self.catch_up();
        let (aligned, light) = self.sim.line_up();
        let (prbs_status, prbs_bits, prbs_errors, tx_khz, rx_khz) = self.sim.aids();
        // The loop core has no transceiver of its own: it reports one that
        // is up, whose CDR lock and loss of signal follow the fiber's light.
        let mut status = init_state::READY | f::TX_PLL_LOCKED | f::TX_READY | f::RX_READY;
        status |= if light { f::CDR_LOCKED } else { f::LOS };
        status |= if aligned { f::ALIGNED } else { 0 };
        PhyReport {
            status,
            tx_khz,
            rx_khz,
            prbs_status,
            prbs_bits,
            prbs_errors,
            ..PhyReport::default()
        }
    }

    fn aids_control(&mut self, ctrl: u32, clear: bool) {
        self.sim.set_aids(ctrl, clear);
        self.sim.step();
    }
}

//! The simulated loop: the real gateware of the loop ([`LoopCore`], compiled
//! by Verilator) with its SERDES TX word sent through the fiber model and
//! back into its SERDES RX word, one word clock per step.
//!
//! This is the device the host talks to when no board is named, and the
//! bench for the loop's acceptance tests. It drives the core's host ports
//! (the same operations the host interface will carry) and observes the
//! payload tap and the raw received frames.
//!
//! [`LoopCore`]: fiberloop_gateware::top::loop_core::LoopCore

use crate::fiber::{FiberConfig, FiberError, FiberSpool};
use fiberloop_gateware::infer::engine::ParamEntry;
use fiberloop_gateware::infer::sequencer::{LayerEntry, MAX_LAYERS};
use fiberloop_gateware::loopctl::controller::PAYLOAD_WORDS;
use fiberloop_gateware::mac::activations::MAX_INPUTS;
use fiberloop_gateware::top::loop_core::{LoopCore, ENGINE_BATCH};
use fiberloop_harness::verilator::{HarnessError, Model, Port};
use fiberloop_spec::frame::{CODEWORD_BYTES, FRAME_WORDS};
use rust_hdl::prelude::Block;

/// Loop simulation failed.
#[derive(Debug, thiserror::Error)]
pub enum LoopSimError {
    /// The Verilator model could not be built or loaded.
    #[error(transparent)]
    Harness(#[from] HarnessError),
    /// Bad fiber settings.
    #[error(transparent)]
    Fiber(#[from] FiberError),
    /// A simulated board that cannot be built or brought up as configured.
    #[error("{0}")]
    Config(String),
    /// The fill found no loop.
    #[error("fill failed: no marker came back within {0} clocks (fiber cut, or too much noise)")]
    NoLoop(u64),
    /// A slot number beyond the loop.
    #[error("slot {slot} does not exist: the loop holds {slots} slots")]
    NoSuchSlot {
        /// Asked for.
        slot: u32,
        /// There are.
        slots: u32,
    },
    /// A payload of the wrong size.
    #[error("a slot holds {expected} payload bytes, got {got}")]
    PayloadSize {
        /// Required.
        expected: usize,
        /// Given.
        got: usize,
    },
    /// An operation did not complete.
    #[error("{0} did not complete within {1} clocks")]
    Timeout(&'static str, u64),
    /// The loop is not running.
    #[error("the loop is not running (mode {0}); fill it first")]
    NotRunning(u64),
    /// A network or batch the inference engine cannot take.
    #[error("inference engine: {0}")]
    Engine(String),
}

/// Counters and state of the loop, as the gateware reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoopStats {
    /// Controller mode: 0 idle, 1-2 measuring, 3 filling, 4 running.
    pub mode: u64,
    /// The last fill found no loop.
    pub no_loop: bool,
    /// While running, nothing came back for a lap: the contents are lost
    /// (sticky until the next fill).
    pub loop_lost: bool,
    /// Measured loop delay, word clocks (controller out to controller in).
    pub delay_clocks: u64,
    /// Slots in the loop.
    pub slots: u64,
    /// Laps since the fill.
    pub laps: u64,
    /// Frames regenerated.
    pub frames: u64,
    /// Bytes corrected by the RS decoder.
    pub corrected_bytes: u64,
    /// Frames the decoder could not correct.
    pub uncorrectable: u64,
    /// Frames whose CRC failed after decoding.
    pub crc_failures: u64,
    /// 8b/10b code violations and disparity errors (symbols).
    pub code_violations: u64,
    /// Times the receiver lost word alignment or signal.
    pub sync_losses: u64,
    /// Frames whose start-of-frame symbol was hit and repaired (or that
    /// garbage started).
    pub sof_repairs: u64,
    /// Clean start-of-frame symbols seen inside a frame (a data symbol hit
    /// into K27.7: one byte error; or a real start: that frame lost).
    pub sof_drops: u64,
    /// Word clocks simulated.
    pub clocks: u64,
}

/// A slot read back from the loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotRead {
    /// Header flags (see `fiberloop_spec::frame::flags`).
    pub flags: u8,
    /// The lap it was captured on.
    pub lap: u32,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

struct Ports {
    clock: Port,
    rx_clock: Port,
    ref_clock: Port,
    reset: Port,
    aids_source: Port,
    aids_pattern: Port,
    aids_check: Port,
    aids_clear: Port,
    aids_locked: Port,
    aids_lock_lost: Port,
    aids_bits: Port,
    aids_errors: Port,
    aids_tx_khz: Port,
    aids_rx_khz: Port,
    aligned: Port,
    tx: Port,
    rx: Port,
    rx_signal: Port,
    cmd_fill: Port,
    timeout: Port,
    wr_buf_we: Port,
    wr_buf_addr: Port,
    wr_buf_data: Port,
    wr_arm: Port,
    wr_slot: Port,
    wr_pending: Port,
    rd_arm: Port,
    rd_slot: Port,
    rd_pending: Port,
    rd_buf_addr: Port,
    rd_buf_data: Port,
    rd_flags: Port,
    rd_lap: Port,
    tap_valid: Port,
    cap_data: Port,
    cap_valid: Port,
    cap_start: Port,
    mode: Port,
    no_loop: Port,
    loop_lost: Port,
    delay: Port,
    slots: Port,
    lap: Port,
    frames: Port,
    corrected: Port,
    uncorrectable: Port,
    crc_fail: Port,
    code_errors: Port,
    sync_losses: Port,
    sof_repairs: Port,
    sof_drops: Port,
    eng_table_we: Port,
    eng_table_addr: Port,
    eng_table_data: Port,
    eng_n_layers: Port,
    eng_param_we: Port,
    eng_param_addr: Port,
    eng_param_data: Port,
    eng_in_we: Port,
    eng_in_row: Port,
    eng_in_index: Port,
    eng_in_data: Port,
    eng_start: Port,
    eng_out_row: Port,
    eng_out_word: Port,
    eng_out_data: Port,
    eng_busy: Port,
    eng_done: Port,
    eng_bad: Port,
    eng_overrun: Port,
}

pub use fiberloop_spec::engine::EngineLayer;

/// The result of one batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchOutput {
    /// Per input vector, the network's int8 outputs.
    pub outputs: Vec<Vec<i8>>,
    /// A weight frame was marked bad during the inference: do not trust the
    /// outputs (refill the loop and run again).
    pub bad: bool,
    /// Word clocks from start to done.
    pub clocks: u64,
}

/// The inference engine's status flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStatus {
    /// A batch is running.
    pub busy: bool,
    /// The last batch finished.
    pub done: bool,
    /// A weight frame of the last batch was marked bad.
    pub bad: bool,
    /// The array's drain overran (sticky until the next start).
    pub overrun: bool,
}

/// A frame captured as it arrived (after 8b/10b decoding and frame sync,
/// before correction): the 255-byte codeword.
pub type RawFrame = [u8; CODEWORD_BYTES];

/// The gateware loop in Verilator plus the fiber.
pub struct LoopSim {
    m: Model,
    p: Ports,
    fiber: FiberSpool,
    clocks: u64,
    capture: Option<(usize, Vec<RawFrame>, Vec<u8>, bool)>,
    tap_words: u64,
    /// TX words since [`LoopSim::log_tx`], and the fiber word index of the
    /// first.
    tx_log: Option<(u64, Vec<u32>)>,
}

impl LoopSim {
    /// Builds (or loads from the cache) the Verilator model of the loop core
    /// and connects it to a fiber with these settings. The loop starts empty;
    /// call [`LoopSim::fill`].
    pub fn new(fiber: FiberConfig) -> Result<Self, LoopSimError> {
        let fiber = FiberSpool::new(fiber)?;
        let mut core = LoopCore::default();
        core.connect_all();
        let m = Model::of_block(&core)?;
        let g = |n: &str| m.port(n);
        let p = Ports {
            clock: g("clock")?,
            rx_clock: g("rx_clock")?,
            ref_clock: g("ref_clock")?,
            reset: g("reset")?,
            aids_source: g("aids$source")?,
            aids_pattern: g("aids$pattern")?,
            aids_check: g("aids$check")?,
            aids_clear: g("aids$clear")?,
            aids_locked: g("aids$locked")?,
            aids_lock_lost: g("aids$lock_lost")?,
            aids_bits: g("aids$bits")?,
            aids_errors: g("aids$errors")?,
            aids_tx_khz: g("aids$tx_khz")?,
            aids_rx_khz: g("aids$rx_khz")?,
            aligned: g("line$locked")?,
            tx: g("serdes_tx_out")?,
            rx: g("serdes_rx_in")?,
            rx_signal: g("rx_signal_in")?,
            cmd_fill: g("slot$fill")?,
            timeout: g("slot$timeout")?,
            wr_buf_we: g("slot$wr_buf_we")?,
            wr_buf_addr: g("slot$wr_buf_addr")?,
            wr_buf_data: g("slot$wr_buf_data")?,
            wr_arm: g("slot$wr_arm")?,
            wr_slot: g("slot$wr_slot")?,
            wr_pending: g("slot$wr_pending")?,
            rd_arm: g("slot$rd_arm")?,
            rd_slot: g("slot$rd_slot")?,
            rd_pending: g("slot$rd_pending")?,
            rd_buf_addr: g("slot$rd_buf_addr")?,
            rd_buf_data: g("slot$rd_buf_data")?,
            rd_flags: g("slot$rd_flags")?,
            rd_lap: g("slot$rd_lap")?,
            tap_valid: g("tap$valid")?,
            cap_data: g("cap$data")?,
            cap_valid: g("cap$valid")?,
            cap_start: g("cap$start")?,
            mode: g("counters$mode")?,
            no_loop: g("counters$no_loop")?,
            loop_lost: g("counters$loop_lost")?,
            delay: g("counters$delay")?,
            slots: g("counters$slots")?,
            lap: g("counters$lap")?,
            frames: g("counters$frames")?,
            corrected: g("counters$corrected")?,
            uncorrectable: g("counters$uncorrectable")?,
            crc_fail: g("counters$crc_fail")?,
            code_errors: g("line$code_errors")?,
            sync_losses: g("line$sync_losses")?,
            sof_repairs: g("line$sof_repairs")?,
            sof_drops: g("line$sof_drops")?,
            eng_table_we: g("eng$layers$we")?,
            eng_table_addr: g("eng$layers$addr")?,
            eng_table_data: g("eng$layers$data")?,
            eng_n_layers: g("eng$layers$n_layers")?,
            eng_param_we: g("eng$param_we")?,
            eng_param_addr: g("eng$param_addr")?,
            eng_param_data: g("eng$param_data")?,
            eng_in_we: g("eng$in_we")?,
            eng_in_row: g("eng$in_row")?,
            eng_in_index: g("eng$in_index")?,
            eng_in_data: g("eng$in_data")?,
            eng_start: g("eng$start")?,
            eng_out_row: g("eng$out_row")?,
            eng_out_word: g("eng$out_word")?,
            eng_out_data: g("eng$out_data")?,
            eng_busy: g("eng$busy")?,
            eng_done: g("eng$done")?,
            eng_bad: g("eng$bad")?,
            eng_overrun: g("eng$overrun")?,
        };
        let mut sim = LoopSim {
            m,
            p,
            fiber,
            clocks: 0,
            capture: None,
            tap_words: 0,
            tx_log: None,
        };
        sim.m.set(sim.p.reset, 1);
        for _ in 0..4 {
            sim.step();
        }
        sim.m.set(sim.p.reset, 0);
        Ok(sim)
    }

    /// The fiber model (for its delay and statistics).
    pub fn fiber(&self) -> &FiberSpool {
        &self.fiber
    }

    /// The fiber model, to cut it or log its errors.
    pub fn fiber_mut(&mut self) -> &mut FiberSpool {
        &mut self.fiber
    }

    /// Word clocks simulated so far.
    pub fn clocks(&self) -> u64 {
        self.clocks
    }

    /// Starts (or restarts) recording every SERDES TX word, so a test can
    /// tell which symbols the fiber's errors hit (see [`LoopSim::tx_log`]).
    pub fn log_tx(&mut self) {
        self.tx_log = Some((self.fiber.stats().words, vec![]));
    }

    /// The TX words recorded since [`LoopSim::log_tx`], and the index of the
    /// first in the fiber's word (and bit / word-width) numbering.
    pub fn tx_log(&self) -> (u64, &[u32]) {
        match &self.tx_log {
            Some((first, log)) => (*first, log),
            None => (0, &[]),
        }
    }

    /// Sets the bring-up aids' control, as the register file does from a
    /// `PRBS_CTRL` value (`fiberloop_spec::phy::prbs_ctrl`): the transmit
    /// source, the pattern, the checker on or off, and with `clear` a
    /// clear strobe (for the next clock).
    pub fn set_aids(&mut self, ctrl: u32, clear: bool) {
        use fiberloop_spec::phy::prbs_ctrl as f;
        let p = &self.p;
        self.m.set(p.aids_source, (ctrl & f::SOURCE_MASK) as u64);
        self.m.set(
            p.aids_pattern,
            ((ctrl >> f::PATTERN_SHIFT) & f::PATTERN_MASK) as u64,
        );
        self.m.set(p.aids_check, (ctrl & f::CHECK != 0) as u64);
        self.m.set(p.aids_clear, clear as u64);
    }

    /// The line receiver is word-aligned, and the fiber brought light in
    /// the last clock.
    pub fn line_up(&self) -> (bool, bool) {
        (
            self.m.get(self.p.aligned) == 1,
            self.m.get(self.p.rx_signal) == 1,
        )
    }

    /// The bring-up aids' report: `(PRBS_STATUS, bits, errors, TX kHz,
    /// RX kHz)`.
    pub fn aids(&self) -> (u32, u64, u64, u32, u32) {
        let p = &self.p;
        let status = self.m.get(p.aids_locked) as u32 | (self.m.get(p.aids_lock_lost) as u32) << 1;
        (
            status,
            self.m.get(p.aids_bits),
            self.m.get(p.aids_errors),
            self.m.get(p.aids_tx_khz) as u32,
            self.m.get(p.aids_rx_khz) as u32,
        )
    }

    /// Payload words seen on the tap so far.
    pub fn tap_words(&self) -> u64 {
        self.tap_words
    }

    /// One word clock: the TX word goes into the fiber, the fiber's output
    /// comes back as the RX word.
    pub fn step(&mut self) {
        let p = &self.p;
        // One reference clock: the recovered RX clock equals the TX clock.
        self.m.set(p.clock, 0);
        self.m.set(p.rx_clock, 0);
        let tx = self.m.get(p.tx) as u32;
        if let Some((_, log)) = self.tx_log.as_mut() {
            log.push(tx);
        }
        let rx = self.fiber.step(tx);
        self.m.set(p.rx, rx.bits as u64);
        self.m.set(p.rx_signal, rx.signal as u64);
        self.m.set(p.ref_clock, 0);
        self.m.eval();
        if self.m.get(p.tap_valid) == 1 {
            self.tap_words += 1;
        }
        if self.capture.is_some() {
            self.capture_word();
        }
        let p = &self.p;
        self.m.set(p.clock, 1);
        self.m.set(p.rx_clock, 1);
        // clk100, gapped (see `clk100_at_word_edge`).
        self.m
            .set(p.ref_clock, crate::clk100_at_word_edge(self.clocks) as u64);
        self.m.eval();
        self.m.set(p.aids_clear, 0);
        self.m.set(p.cmd_fill, 0);
        self.m.set(p.wr_arm, 0);
        self.m.set(p.rd_arm, 0);
        self.m.set(p.wr_buf_we, 0);
        self.m.set(p.eng_table_we, 0);
        self.m.set(p.eng_param_we, 0);
        self.m.set(p.eng_in_we, 0);
        self.m.set(p.eng_start, 0);
        self.clocks += 1;
    }

    fn capture_word(&mut self) {
        let (data, valid, start) = (
            self.m.get(self.p.cap_data) as u16,
            self.m.get(self.p.cap_valid) == 1,
            self.m.get(self.p.cap_start) == 1,
        );
        let Some((want, frames, cur, active)) = self.capture.as_mut() else {
            return;
        };
        if frames.len() >= *want || !valid {
            return;
        }
        if start {
            cur.clear();
            *active = true;
            // Lane 0 of word 0 is the start-of-frame symbol, not codeword.
            cur.push((data >> 8) as u8);
        } else if *active {
            cur.push(data as u8);
            cur.push((data >> 8) as u8);
        }
        if *active && cur.len() == CODEWORD_BYTES {
            let mut f = [0u8; CODEWORD_BYTES];
            f.copy_from_slice(cur);
            frames.push(f);
            *active = false;
        }
    }

    /// Runs `n` word clocks.
    pub fn run(&mut self, n: u64) {
        for _ in 0..n {
            self.step();
        }
    }

    /// The gateware's counters now.
    pub fn stats(&self) -> LoopStats {
        let g = |p: Port| self.m.get(p);
        LoopStats {
            mode: g(self.p.mode),
            no_loop: g(self.p.no_loop) == 1,
            loop_lost: g(self.p.loop_lost) == 1,
            delay_clocks: g(self.p.delay),
            slots: g(self.p.slots),
            laps: g(self.p.lap),
            frames: g(self.p.frames),
            corrected_bytes: g(self.p.corrected),
            uncorrectable: g(self.p.uncorrectable),
            crc_failures: g(self.p.crc_fail),
            code_violations: g(self.p.code_errors),
            sync_losses: g(self.p.sync_losses),
            sof_repairs: g(self.p.sof_repairs),
            sof_drops: g(self.p.sof_drops),
            clocks: self.clocks,
        }
    }

    /// Fills the loop: the gateware measures the delay and sends one empty
    /// frame per slot; returns when it runs. Gives up after `timeout` clocks
    /// without the marker.
    pub fn fill(&mut self, timeout: u64) -> Result<LoopStats, LoopSimError> {
        self.m.set(self.p.timeout, timeout.min(u32::MAX as u64));
        self.m.set(self.p.cmd_fill, 1);
        self.step();
        let limit = timeout + 4 * self.fiber.delay_words() as u64 + 100_000;
        for _ in 0..limit {
            let s = self.m.get(self.p.mode);
            if s == 4 {
                return Ok(self.stats());
            }
            if self.m.get(self.p.no_loop) == 1 {
                return Err(LoopSimError::NoLoop(timeout));
            }
            self.step();
        }
        Err(LoopSimError::Timeout("fill", limit))
    }

    /// Clocks to wait for a slot operation: a few laps.
    fn op_timeout(&self) -> u64 {
        4 * (self.m.get(self.p.delay) + fiberloop_gateware::loopctl::controller::LATENCY) + 20_000
    }

    fn check_slot(&self, slot: u32) -> Result<(), LoopSimError> {
        let mode = self.m.get(self.p.mode);
        if mode != 4 {
            return Err(LoopSimError::NotRunning(mode));
        }
        let slots = self.m.get(self.p.slots) as u32;
        if slot >= slots {
            return Err(LoopSimError::NoSuchSlot { slot, slots });
        }
        Ok(())
    }

    /// Writes a slot's payload; returns when the slot has gone out with it.
    pub fn write_slot(&mut self, slot: u32, payload: &[u8]) -> Result<(), LoopSimError> {
        let expected = PAYLOAD_WORDS * 2;
        if payload.len() != expected {
            return Err(LoopSimError::PayloadSize {
                expected,
                got: payload.len(),
            });
        }
        self.check_slot(slot)?;
        for (i, pair) in payload.chunks(2).enumerate() {
            self.m.set(self.p.wr_buf_we, 1);
            self.m.set(self.p.wr_buf_addr, i as u64);
            self.m.set(
                self.p.wr_buf_data,
                (pair[0] as u64) | ((pair[1] as u64) << 8),
            );
            self.step();
        }
        self.m.set(self.p.wr_slot, slot as u64);
        self.m.set(self.p.wr_arm, 1);
        self.step();
        let limit = self.op_timeout();
        for _ in 0..limit {
            if self.m.get(self.p.wr_pending) == 0 {
                return Ok(());
            }
            self.step();
        }
        Err(LoopSimError::Timeout("slot write", limit))
    }

    /// Reads a slot as it next passes.
    pub fn read_slot(&mut self, slot: u32) -> Result<SlotRead, LoopSimError> {
        self.check_slot(slot)?;
        self.m.set(self.p.rd_slot, slot as u64);
        self.m.set(self.p.rd_arm, 1);
        self.step();
        let mut done = false;
        let limit = self.op_timeout();
        for _ in 0..limit {
            if self.m.get(self.p.rd_pending) == 0 {
                done = true;
                break;
            }
            self.step();
        }
        if !done {
            return Err(LoopSimError::Timeout("slot read", limit));
        }
        let flags = self.m.get(self.p.rd_flags) as u8;
        let lap = self.m.get(self.p.rd_lap) as u32;
        let mut payload = Vec::with_capacity(PAYLOAD_WORDS * 2);
        for i in 0..PAYLOAD_WORDS {
            self.m.set(self.p.rd_buf_addr, i as u64);
            self.step();
            let w = self.m.get(self.p.rd_buf_data);
            payload.push(w as u8);
            payload.push((w >> 8) as u8);
        }
        Ok(SlotRead {
            flags,
            lap,
            payload,
        })
    }

    /// The inference engine's batch: input vectors per inference.
    pub fn eng_batch(&self) -> usize {
        ENGINE_BATCH
    }

    /// Engine port: writes layer-table entry `layer` (0..[`MAX_LAYERS`]),
    /// one clock. The engine ignores nothing here: do not call it while
    /// busy ([`EngineStatus::busy`]).
    pub fn eng_write_table(&mut self, layer: usize, entry: LayerEntry) {
        self.m.set(self.p.eng_table_we, 1);
        self.m
            .set(self.p.eng_table_addr, (layer % MAX_LAYERS) as u64);
        self.m.set(self.p.eng_table_data, entry.pack());
        self.step();
    }

    /// Engine port: the number of layers in the table (held, no clock).
    pub fn eng_set_layers(&mut self, n: usize) {
        self.m.set(self.p.eng_n_layers, n as u64);
    }

    /// Engine port: writes parameter entry `index`, one clock.
    pub fn eng_write_param(&mut self, index: usize, p: &ParamEntry) {
        let v = p.pack();
        self.m.set(self.p.eng_param_we, 1);
        self.m.set(
            self.p.eng_param_addr,
            (index % fiberloop_gateware::infer::engine::PARAM_ENTRIES) as u64,
        );
        self.m.set_words(
            self.p.eng_param_data,
            &[v as u32, (v >> 32) as u32, (v >> 64) as u32],
        );
        self.step();
    }

    /// Engine port: writes input `index` of batch row `row` into the write
    /// bank, one clock (the engine ignores it while busy).
    pub fn eng_write_input(&mut self, row: usize, index: usize, value: i8) {
        self.m.set(self.p.eng_in_we, 1);
        self.m.set(self.p.eng_in_row, row as u64);
        self.m.set(self.p.eng_in_index, (index % MAX_INPUTS) as u64);
        self.m.set(self.p.eng_in_data, value as u8 as u64);
        self.step();
    }

    /// Engine port: the start strobe, one clock (ignored while busy).
    pub fn eng_start(&mut self) {
        self.m.set(self.p.eng_start, 1);
        self.step();
    }

    /// Engine status now (no clock).
    pub fn eng_status(&self) -> EngineStatus {
        EngineStatus {
            busy: self.m.get(self.p.eng_busy) == 1,
            done: self.m.get(self.p.eng_done) == 1,
            bad: self.m.get(self.p.eng_bad) == 1,
            overrun: self.m.get(self.p.eng_overrun) == 1,
        }
    }

    /// Engine port: reads outputs `2 word` (bits 7:0) and `2 word + 1`
    /// (15:8) of batch row `row`, one clock. Meaningful while not busy.
    pub fn eng_read_output(&mut self, row: usize, word: usize) -> u16 {
        self.m.set(self.p.eng_out_row, row as u64);
        self.m
            .set(self.p.eng_out_word, (word % (MAX_INPUTS / 2)) as u64);
        self.step();
        self.m.get(self.p.eng_out_data) as u16
    }

    /// Loads a network into the inference engine: its layer table and the
    /// per-output parameters (the weights are in the loop's slots, written
    /// with [`LoopSim::write_slot`]). Refused, changing nothing, if it has
    /// no layers or more than the engine's table holds, or the engine is
    /// busy.
    pub fn load_network(&mut self, layers: &[EngineLayer]) -> Result<(), LoopSimError> {
        if layers.is_empty() || layers.len() > MAX_LAYERS {
            return Err(LoopSimError::Engine(format!(
                "a network has 1 to {MAX_LAYERS} layers, this one {}",
                layers.len()
            )));
        }
        for (k, l) in layers.iter().enumerate() {
            if l.params.len() != l.entry.rows as usize {
                return Err(LoopSimError::Engine(format!(
                    "layer {k} has {} rows but {} parameter entries",
                    l.entry.rows,
                    l.params.len()
                )));
            }
            let end = l.entry.param_base as usize + l.params.len();
            if end > fiberloop_gateware::infer::engine::PARAM_ENTRIES {
                return Err(LoopSimError::Engine(format!(
                    "layer {k}'s parameters end at entry {end}, the memory holds {}",
                    fiberloop_gateware::infer::engine::PARAM_ENTRIES
                )));
            }
        }
        if self.eng_status().busy {
            return Err(LoopSimError::Engine("busy with an inference".into()));
        }
        for (k, l) in layers.iter().enumerate() {
            self.eng_write_table(k, l.entry);
            for (j, p) in l.params.iter().enumerate() {
                self.eng_write_param(l.entry.param_base as usize + j, p);
            }
        }
        self.eng_set_layers(layers.len());
        Ok(())
    }

    /// Runs one batch (up to the engine's batch of input vectors, all of
    /// the network's input width) through the network loaded with
    /// [`LoopSim::load_network`], whose weights stream from the loop, and
    /// returns the first `outputs` outputs of each vector.
    pub fn infer_batch(
        &mut self,
        inputs: &[Vec<i8>],
        outputs: usize,
    ) -> Result<BatchOutput, LoopSimError> {
        let mode = self.m.get(self.p.mode);
        if mode != 4 {
            return Err(LoopSimError::NotRunning(mode));
        }
        if inputs.is_empty() || inputs.len() > ENGINE_BATCH {
            return Err(LoopSimError::Engine(format!(
                "a batch holds 1 to {ENGINE_BATCH} input vectors, got {}",
                inputs.len()
            )));
        }
        let width = inputs[0].len();
        if width > MAX_INPUTS || outputs > MAX_INPUTS || inputs.iter().any(|x| x.len() != width) {
            return Err(LoopSimError::Engine(format!(
                "input vectors must all have the same width, at most {MAX_INPUTS}"
            )));
        }
        if self.eng_status().busy {
            return Err(LoopSimError::Engine("busy with an inference".into()));
        }
        for (b, x) in inputs.iter().enumerate() {
            for (i, &v) in x.iter().enumerate() {
                self.eng_write_input(b, i, v);
            }
        }
        self.eng_start();
        let start = self.clocks;
        // Layer 0's first slot within a lap, the layers within the next.
        let limit = 3 * self.op_timeout();
        while self.eng_status().busy {
            if self.clocks - start > limit {
                return Err(LoopSimError::Timeout("inference", limit));
            }
            self.step();
        }
        let clocks = self.clocks - start;
        let st = self.eng_status();
        if !st.done {
            return Err(LoopSimError::Engine("the inference did not start".into()));
        }
        if st.overrun {
            return Err(LoopSimError::Engine(
                "the MAC array's drain overran: a row stride below the batch".into(),
            ));
        }
        let mut out = vec![vec![0i8; outputs]; inputs.len()];
        for (b, o) in out.iter_mut().enumerate() {
            for a in 0..outputs.div_ceil(2) {
                let d = self.eng_read_output(b, a);
                o[2 * a] = d as u8 as i8;
                if 2 * a + 1 < outputs {
                    o[2 * a + 1] = (d >> 8) as u8 as i8;
                }
            }
        }
        Ok(BatchOutput {
            outputs: out,
            bad: st.bad,
            clocks,
        })
    }

    /// Captures the next `n` frames as they arrive from the fiber, after
    /// 8b/10b decoding and frame alignment and before correction: each as its
    /// 255-byte RS codeword.
    pub fn capture(&mut self, n: usize) -> Result<Vec<RawFrame>, LoopSimError> {
        self.capture = Some((n, Vec::with_capacity(n), Vec::new(), false));
        let limit = (n as u64 + 2) * FRAME_WORDS as u64 * 4 + 4 * self.fiber.delay_words() as u64;
        for _ in 0..limit {
            if self.capture.as_ref().is_some_and(|c| c.1.len() >= n) {
                break;
            }
            self.step();
        }
        let (_, frames, _, _) = self.capture.take().unwrap();
        if frames.len() < n {
            return Err(LoopSimError::Timeout("capture", limit));
        }
        Ok(frames)
    }
}

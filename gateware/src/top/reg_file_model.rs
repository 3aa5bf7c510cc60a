//! The cycle model of the board's register file (`fiberloop_spec::regs`)
//! behind the command engine's bus: [`RegFileModel`], one
//! [`BusModel::access`] per bus strobe, in front of a loop [`Backend`]
//! (the loop core: slots, counters, the inference engine).
//!
//! With [`EngineModel`](crate::hostif::cmd_engine::EngineModel) in front of
//! it, it is the one model of the board's control side: the host's
//! `board=model` simulator runs it over the Verilated loop core or over
//! [`RamBackend`](super::loop_model::RamBackend), and `BoardCore`'s lockstep
//! test compares every reply byte of the gateware with it.
//!
//! It holds every rule of the register map: the `BUSY` refusals while a
//! batch runs, the `BAD_VALUE` checks, the model tag cleared by a fill, the
//! layer-table and parameter latches. Choices where the spec leaves room
//! (the gateware's register file follows them): the parameter words 0 and 1
//! go into one bias latch and one multiplier latch shared by all entries,
//! and word 2 of entry `e` enters entry `e` with them; likewise the layer
//! table's low words go into one latch, and a high word enters its layer
//! with the last low word written (to any layer); reading a table word
//! gives the word last written at that address; an `INFER_START` while
//! `INFER_LAYERS` is 0 (no table loaded) is answered `FAULT` and changes
//! nothing, as is one while the loop is not running; `BUSY` is decided word by word, like every
//! refusal: the words of a burst before the first refused one stay written.

use crate::hostif::cmd_engine::{BusModel, EventCounts, Refusal};
use fiberloop_spec::engine::{LayerEntry, ParamEntry};
use fiberloop_spec::frame::PAYLOAD_BYTES;
use fiberloop_spec::proto::{status, MAX_BURST_WORDS};
use fiberloop_spec::regs::{self, link, COUNTER_COUNT, SLOT_WORDS};

/// A slot as read from the loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotData {
    /// Frame flags.
    pub flags: u8,
    /// Lap counter of the frame.
    pub lap: u32,
    /// The payload.
    pub payload: [u8; PAYLOAD_BYTES],
}

/// The physical layer as the `PHY_*`, `*_CLOCK_KHZ` and `PRBS_*` registers
/// show it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhyReport {
    /// `PHY_STATUS` (`fiberloop_spec::phy::phy_status`).
    pub status: u32,
    /// `PHY_RESTARTS`.
    pub restarts: u32,
    /// `PHY_LOS_EVENTS`.
    pub los_events: u32,
    /// `PHY_CDR_RETRIES`.
    pub cdr_retries: u32,
    /// `TX_CLOCK_KHZ`.
    pub tx_khz: u32,
    /// `RX_CLOCK_KHZ`.
    pub rx_khz: u32,
    /// `PRBS_STATUS` (`fiberloop_spec::phy::prbs_status`).
    pub prbs_status: u32,
    /// `PRBS_BITS`.
    pub prbs_bits: u64,
    /// `PRBS_ERRORS`.
    pub prbs_errors: u64,
}

impl PhyReport {
    /// What a board with no line reports (the `board=model` simulator): a
    /// transceiver up and locked at the nominal word clock, its receiver
    /// aligned, the PRBS checker never locked (there is no line to check).
    pub fn no_line() -> Self {
        use fiberloop_spec::phy::{init_state, phy_status as f};
        let khz = (fiberloop_spec::line::WORD_CLOCK_HZ / 1000) as u32;
        Self {
            status: init_state::READY
                | f::TX_PLL_LOCKED
                | f::CDR_LOCKED
                | f::TX_READY
                | f::RX_READY
                | f::ALIGNED,
            tx_khz: khz,
            rx_khz: khz,
            ..Self::default()
        }
    }
}

/// The loop behind the registers.
pub trait Backend {
    /// The loop counters, indexed by `regs::counter`.
    fn counters(&mut self) -> [u64; COUNTER_COUNT as usize];
    /// `LOOP_STATUS` without `RD_VALID` (the engine adds it).
    fn loop_status(&mut self) -> u32;
    /// Executes a `regs::ctrl` command.
    fn control(&mut self, command: u32, fill_timeout: u32) -> Result<(), Refusal>;
    /// Writes a slot's payload.
    fn write_slot(&mut self, slot: u32, payload: &[u8; PAYLOAD_BYTES]) -> Result<(), Refusal>;
    /// Reads a slot as it next passes.
    fn read_slot(&mut self, slot: u32) -> Result<SlotData, Refusal>;
    /// Link time passed: `clocks` word clocks.
    fn advance(&mut self, clocks: u64);

    /// Inference engine: batch rows `B`.
    fn eng_batch(&mut self) -> u32;
    /// Inference engine: enters layer-table entry `layer` (0..8).
    fn eng_write_table(&mut self, layer: u32, entry: LayerEntry);
    /// Inference engine: the number of layers in the table.
    fn eng_set_layers(&mut self, n: u32);
    /// Inference engine: enters parameter entry `index`.
    fn eng_write_param(&mut self, index: u32, p: &ParamEntry);
    /// Inference engine: inputs `2 word` (bits 7:0 of `pair`) and
    /// `2 word + 1` (15:8) of batch row `row`, into the write bank.
    fn eng_write_input(&mut self, row: u32, word: u32, pair: u16);
    /// Inference engine: start a batch.
    fn eng_start(&mut self);
    /// Inference engine: status, as [`infer_bits`].
    fn eng_status(&mut self) -> u32;
    /// Inference engine: outputs `2 word` (bits 7:0) and `2 word + 1`
    /// (15:8) of batch row `row`.
    fn eng_read_output(&mut self, row: u32, word: u32) -> u16;

    /// The physical layer: transceiver bring-up, clock meters, PRBS
    /// checker.
    fn phy(&mut self) -> PhyReport;
    /// A `PRBS_CTRL` value the map accepts: `ctrl` without the clear bit
    /// (transmit source, pattern, checker on), and whether it cleared the
    /// checker.
    fn aids_control(&mut self, ctrl: u32, clear: bool);
}

/// The register file's model in front of a loop backend.
pub struct RegFileModel<B: Backend> {
    backend: B,
    link: [u32; regs::LINK_WORDS as usize],
    scratch: [u32; regs::SCRATCH_WORDS as usize],
    loop_ctrl: u32,
    fill_timeout: u32,
    hi_latch: [u32; COUNTER_COUNT as usize],
    wr_buf: [u32; SLOT_WORDS as usize],
    wr_slot: u32,
    rd_buf: [u32; SLOT_WORDS as usize],
    rd_slot: u32,
    rd_flags: u32,
    rd_lap: u32,
    rd_valid: bool,
    n_layers: u32,
    model_tag: [u32; regs::MODEL_TAG_WORDS as usize],
    table: [u32; regs::LAYER_TABLE_WORDS as usize],
    table_low: u32,
    param_latch: [u32; 2],
    scratch_mem: Vec<u32>,
    top: u32,
    prbs_ctrl: u32,
    prbs_hi: [u32; 2],
}

impl<B: Backend> RegFileModel<B> {
    /// The register file at power-up, in front of `backend`.
    pub fn new(backend: B) -> Self {
        Self {
            backend,
            link: [0; regs::LINK_WORDS as usize],
            scratch: [0; regs::SCRATCH_WORDS as usize],
            loop_ctrl: 0,
            fill_timeout: regs::FILL_TIMEOUT_DEFAULT,
            hi_latch: [0; COUNTER_COUNT as usize],
            wr_buf: [0; SLOT_WORDS as usize],
            wr_slot: 0,
            rd_buf: [0; SLOT_WORDS as usize],
            rd_slot: 0,
            rd_flags: 0,
            rd_lap: 0,
            rd_valid: false,
            n_layers: 0,
            model_tag: [0; regs::MODEL_TAG_WORDS as usize],
            table: [0; regs::LAYER_TABLE_WORDS as usize],
            table_low: 0,
            param_latch: [0; 2],
            scratch_mem: vec![0; regs::SCRATCH_MEM_WORDS as usize],
            top: regs::top::BOARD_CORE,
            prbs_ctrl: 0,
            prbs_hi: [0; 2],
        }
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The backend, mutable.
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The register file of the top `top` (what `regs::TOP` reads).
    pub fn with_top(self, top: u32) -> Self {
        Self { top, ..self }
    }

    /// The host link counters (`regs::link`) as last told by the engine.
    pub fn link_counters(&self) -> [u32; regs::LINK_WORDS as usize] {
        self.link
    }

    /// The first word of a burst that the running inference engine refuses
    /// (`BUSY`), if a batch is running.
    fn busy_word(&mut self, addr: u32, len: u32, write: bool) -> Option<u32> {
        use regs::*;
        let guarded: &[(u32, u32)] = if write {
            &[
                (INFER_CTRL, 1),
                (INFER_LAYERS, 1),
                (LAYER_TABLE, LAYER_TABLE_WORDS),
                (PARAM_MEM, PARAM_MEM_WORDS),
                (ACT_IN, ACT_IN_WORDS),
            ]
        } else {
            &[(ACT_OUT, ACT_OUT_WORDS)]
        };
        let end = addr as u64 + len as u64;
        let first = guarded
            .iter()
            .filter(|&&(b, n)| (b as u64) < end && addr < b + n)
            .map(|&(b, _)| b.max(addr))
            .min()?;
        (self.backend.eng_status() & infer_bits::BUSY != 0).then_some(first)
    }

    fn read(&mut self, a: u32) -> Result<u32, Refusal> {
        use regs::*;
        let in_range = |base: u32, n: u32| a >= base && a - base < n;
        Ok(match a {
            ID => ID_VALUE,
            VERSION => VERSION_VALUE,
            MAX_BURST => MAX_BURST_WORDS as u32,
            SLOT_WORDS_REG => SLOT_WORDS,
            TOP => self.top,
            _ if in_range(SCRATCH, SCRATCH_WORDS) => self.scratch[(a - SCRATCH) as usize],
            LOOP_CTRL => self.loop_ctrl,
            LOOP_STATUS => {
                self.backend.loop_status()
                    | if self.rd_valid {
                        status_bits::RD_VALID
                    } else {
                        0
                    }
            }
            FILL_TIMEOUT => self.fill_timeout,
            _ if in_range(COUNTERS, 2 * COUNTER_COUNT) => {
                let i = ((a - COUNTERS) / 2) as usize;
                if (a - COUNTERS) & 1 == 0 {
                    let c = self.backend.counters()[i];
                    self.hi_latch[i] = (c >> 32) as u32;
                    c as u32
                } else {
                    self.hi_latch[i]
                }
            }
            _ if in_range(LINK, LINK_WORDS) => self.link[(a - LINK) as usize],
            PHY_STATUS => self.backend.phy().status,
            PHY_RESTARTS => self.backend.phy().restarts,
            PHY_LOS_EVENTS => self.backend.phy().los_events,
            PHY_CDR_RETRIES => self.backend.phy().cdr_retries,
            TX_CLOCK_KHZ => self.backend.phy().tx_khz,
            RX_CLOCK_KHZ => self.backend.phy().rx_khz,
            PRBS_CTRL => self.prbs_ctrl,
            PRBS_STATUS => self.backend.phy().prbs_status,
            _ if in_range(PRBS_BITS, 4) => {
                let i = ((a - PRBS_BITS) / 2) as usize;
                if (a - PRBS_BITS) & 1 == 0 {
                    let r = self.backend.phy();
                    let c = [r.prbs_bits, r.prbs_errors][i];
                    self.prbs_hi[i] = (c >> 32) as u32;
                    c as u32
                } else {
                    self.prbs_hi[i]
                }
            }
            _ if in_range(SLOT_WR_BUF, SLOT_WORDS) => self.wr_buf[(a - SLOT_WR_BUF) as usize],
            SLOT_WR_SLOT => self.wr_slot,
            SLOT_WR_COMMIT => 0,
            _ if in_range(SLOT_RD_BUF, SLOT_WORDS) => self.rd_buf[(a - SLOT_RD_BUF) as usize],
            SLOT_RD_SLOT => self.rd_slot,
            SLOT_RD_REQUEST => 0,
            SLOT_RD_FLAGS => self.rd_flags,
            SLOT_RD_LAP => self.rd_lap,
            INFER_STATUS => self.backend.eng_status(),
            INFER_LAYERS => self.n_layers,
            INFER_BATCH => self.backend.eng_batch(),
            _ if in_range(MODEL_TAG, MODEL_TAG_WORDS) => self.model_tag[(a - MODEL_TAG) as usize],
            _ if in_range(LAYER_TABLE, LAYER_TABLE_WORDS) => self.table[(a - LAYER_TABLE) as usize],
            _ if in_range(SCRATCH_MEM, SCRATCH_MEM_WORDS) => {
                self.scratch_mem[(a - SCRATCH_MEM) as usize]
            }
            _ if in_range(ACT_OUT, ACT_OUT_WORDS) => {
                let o = a - ACT_OUT;
                self.backend
                    .eng_read_output(o / ACT_ROW_WORDS, o % ACT_ROW_WORDS) as u32
            }
            _ => {
                return Err(Refusal::new(
                    status::BAD_ADDRESS,
                    format!("0x{a:08x} has no register"),
                ))
            }
        })
    }

    fn write(&mut self, a: u32, v: u32) -> Result<(), Refusal> {
        use regs::*;
        let in_range = |base: u32, n: u32| a >= base && a - base < n;
        match a {
            _ if in_range(SCRATCH, SCRATCH_WORDS) => self.scratch[(a - SCRATCH) as usize] = v,
            LOOP_CTRL => {
                // FILL at any time; RUN only while the loop runs (it changes
                // nothing then); nothing else: the controller has no other
                // command (a fill measures, then runs).
                let running = self.backend.loop_status() & status_bits::MODE_MASK
                    == status_bits::MODE_RUNNING;
                if !(v == ctrl::FILL || (v == ctrl::RUN && running)) {
                    return Err(Refusal::new(
                        status::BAD_VALUE,
                        format!("loop command {v}: only FILL (2), or RUN (3) while the loop runs"),
                    ));
                }
                self.backend.control(v, self.fill_timeout)?;
                self.loop_ctrl = v;
                if v == ctrl::FILL {
                    // The loop's contents are about to be lost.
                    self.rd_valid = false;
                    self.model_tag[model_tag::FILE_CRC as usize] = 0;
                }
            }
            FILL_TIMEOUT => self.fill_timeout = v,
            PRBS_CTRL => {
                use fiberloop_spec::phy::{prbs_ctrl as f, Prbs};
                let source = v & f::SOURCE_MASK;
                let pattern = (v >> f::PATTERN_SHIFT) & f::PATTERN_MASK;
                if v & f::RESERVED != 0 {
                    return Err(Refusal::new(
                        status::BAD_VALUE,
                        format!(
                            "PRBS control 0x{v:08x} has reserved bits set (0x{:08x})",
                            v & f::RESERVED
                        ),
                    ));
                }
                if source > fiberloop_spec::phy::source::LOOPBACK {
                    return Err(Refusal::new(
                        status::BAD_VALUE,
                        format!(
                            "transmit source {source} does not exist (0 loop, 1 PRBS, 2 loopback)"
                        ),
                    ));
                }
                if Prbs::from_code(pattern).is_none() {
                    return Err(Refusal::new(
                        status::BAD_VALUE,
                        format!("PRBS pattern code {pattern} does not exist (0 PRBS7, 1 PRBS15, 2 PRBS31)"),
                    ));
                }
                self.prbs_ctrl = v & !f::CLEAR;
                self.backend.aids_control(self.prbs_ctrl, v & f::CLEAR != 0);
            }
            _ if in_range(SLOT_WR_BUF, SLOT_WORDS) => self.wr_buf[(a - SLOT_WR_BUF) as usize] = v,
            SLOT_WR_SLOT => self.wr_slot = v,
            SLOT_WR_COMMIT => {
                let mut p = [0u8; PAYLOAD_BYTES];
                for (i, w) in self.wr_buf.iter().enumerate() {
                    p[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
                }
                self.backend.write_slot(self.wr_slot, &p)?;
            }
            SLOT_RD_SLOT => self.rd_slot = v,
            SLOT_RD_REQUEST => {
                // A refused request changes nothing (the last read stays
                // valid); an accepted one is done at once here.
                let s = self.backend.read_slot(self.rd_slot)?;
                for (i, w) in s.payload.chunks_exact(4).enumerate() {
                    self.rd_buf[i] = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                }
                self.rd_flags = s.flags as u32;
                self.rd_lap = s.lap;
                self.rd_valid = true;
            }
            INFER_CTRL => {
                if v != INFER_START {
                    return Err(Refusal::new(
                        status::BAD_VALUE,
                        format!("inference control {v}: only {INFER_START} (start) exists"),
                    ));
                }
                if self.n_layers == 0 {
                    return Err(Refusal::new(
                        status::FAULT,
                        "start with no layers: write the layer table and INFER_LAYERS first",
                    ));
                }
                if self.backend.loop_status() & status_bits::MODE_MASK != status_bits::MODE_RUNNING
                {
                    return Err(Refusal::new(
                        status::FAULT,
                        "start while the loop is not running: the weights are not there",
                    ));
                }
                self.backend.eng_start();
            }
            INFER_LAYERS => {
                if v == 0 || v > MAX_LAYERS {
                    return Err(Refusal::new(
                        status::BAD_VALUE,
                        format!("{v} layers: the table holds 1..={MAX_LAYERS}"),
                    ));
                }
                self.n_layers = v;
                self.backend.eng_set_layers(v);
            }
            _ if in_range(MODEL_TAG, MODEL_TAG_WORDS) => {
                self.model_tag[(a - MODEL_TAG) as usize] = v
            }
            _ if in_range(LAYER_TABLE, LAYER_TABLE_WORDS) => {
                let o = (a - LAYER_TABLE) as usize;
                if o & 1 == 0 {
                    self.table_low = v;
                    self.table[o] = v;
                } else {
                    self.table[o] = v;
                    let lo = self.table_low;
                    self.backend.eng_write_table(
                        (o / 2) as u32,
                        LayerEntry {
                            first_slot: lo as u16,
                            rows: (lo >> 16) as u16,
                            row_words: v as u16,
                            param_base: (v >> 16) as u16,
                        },
                    );
                }
            }
            _ if in_range(SCRATCH_MEM, SCRATCH_MEM_WORDS) => {
                self.scratch_mem[(a - SCRATCH_MEM) as usize] = v
            }
            _ if in_range(PARAM_MEM, PARAM_MEM_WORDS) => {
                let o = a - PARAM_MEM;
                match o % PARAM_ENTRY_WORDS {
                    0 | 1 => self.param_latch[(o % PARAM_ENTRY_WORDS) as usize] = v,
                    2 => {
                        if v & param_word2::RESERVED != 0 {
                            return Err(Refusal::new(
                                status::BAD_VALUE,
                                format!(
                                    "parameter word 2 0x{v:08x} has reserved bits set (0x{:08x})",
                                    v & param_word2::RESERVED
                                ),
                            ));
                        }
                        let p = ParamEntry {
                            bias: self.param_latch[0] as i32,
                            multiplier: self.param_latch[1] as i32,
                            shift: (v & param_word2::SHIFT_MASK) as u8,
                            zero_point: (v >> param_word2::ZERO_POINT_SHIFT) as u8 as i8,
                            relu: v & param_word2::RELU != 0,
                        };
                        self.backend.eng_write_param(o / PARAM_ENTRY_WORDS, &p);
                    }
                    _ => {
                        if v != 0 {
                            return Err(Refusal::new(
                                status::BAD_VALUE,
                                format!("parameter word 3 must be 0, got 0x{v:08x}"),
                            ));
                        }
                    }
                }
            }
            _ if in_range(ACT_IN, ACT_IN_WORDS) => {
                if v >> 16 != 0 {
                    return Err(Refusal::new(
                        status::BAD_VALUE,
                        format!("input word 0x{v:08x}: bits 31:16 must be 0"),
                    ));
                }
                let o = a - ACT_IN;
                self.backend
                    .eng_write_input(o / ACT_ROW_WORDS, o % ACT_ROW_WORDS, v as u16);
            }
            _ => {
                return Err(Refusal::new(
                    status::BAD_ADDRESS,
                    format!("0x{a:08x} is not writable"),
                ))
            }
        }
        Ok(())
    }
}

impl<B: Backend> BusModel for RegFileModel<B> {
    fn access(&mut self, addr: u32, write: Option<u32>) -> Result<u32, Refusal> {
        let busy = self.busy_word(addr, 1, write.is_some()).is_some();
        if busy {
            return Err(Refusal::new(
                status::BUSY,
                format!("0x{addr:08x}: the inference engine is busy"),
            ));
        }
        match write {
            Some(v) => self.write(addr, v).map(|()| 0),
            None => self.read(addr),
        }
    }

    fn events(&mut self, c: &EventCounts) {
        self.link = link_words(c);
    }
}

/// The `regs::link` words of the engine's event counts (32-bit, wrapping;
/// `CONTENTION_LOST` is 0: the model has one link).
pub fn link_words(c: &EventCounts) -> [u32; regs::LINK_WORDS as usize] {
    let mut l = [0; regs::LINK_WORDS as usize];
    l[link::EXECUTED as usize] = c.executed as u32;
    l[link::HEADER_CRC as usize] = c.header_crc as u32;
    l[link::PAYLOAD_CRC as usize] = c.payload_crc as u32;
    l[link::TIMEOUTS as usize] = c.timeouts as u32;
    l[link::REPLAYS as usize] = c.replays as u32;
    l[link::HUNTED_BYTES as usize] = c.hunted as u32;
    l[link::ERROR_REPLIES as usize] = c.error_replies as u32;
    l
}

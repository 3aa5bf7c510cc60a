//! The board's command engine in Rust: the model of what the gateware does
//! with the bytes of the host protocol (`fiberloop_spec::proto`), and the
//! register file of `fiberloop_spec::regs` in front of a loop.
//!
//! The engine owns the protocol side (receiver, replies, idempotent retries,
//! link counters) and the register file: identification, scratch, slot
//! buffers, and the inference registers with every rule of the spec (the
//! `BUSY` refusals while a batch runs, the `BAD_VALUE` checks, the model
//! tag cleared by a fill, the layer-table and parameter latches). The loop
//! and the inference engine are a [`Backend`]: [`RamBackend`], an in-memory
//! loop with a functional model of the inference engine that makes the
//! engine's tests fast, or the simulated gateware loop
//! (`super::loop_backend`).
//!
//! Choices where the spec leaves room (kept here so the gateware can
//! match): the parameter words 0 and 1 go into one bias latch and one
//! multiplier latch shared by all entries, and word 2 of entry `e` enters
//! entry `e` with them; reading a layer's low table word gives the low word
//! entered with its high word (or the low word written since); an
//! `INFER_START` while `INFER_LAYERS` is 0 (no table loaded) is answered
//! `FAULT` and changes nothing, as is one while the loop is not running;
//! `BUSY` is decided word by word, like every refusal: the words of a burst
//! before the first refused one stay written (the command engine's bus
//! contract, which the gateware's register file follows).
//!
//! Time: the caller gives the time of each byte in *link byte times* (one
//! unit = one byte at the link's baud). The partial-frame timeout is in the
//! same unit, and the backend's loop advances by `clocks_per_byte` word
//! clocks per unit, so loop time passes as bytes arrive.

use fiberloop_spec::engine::{LayerEntry, ParamEntry, BATCH as ENGINE_BATCH, PARAM_ENTRIES};
use fiberloop_spec::frame::PAYLOAD_BYTES;
use fiberloop_spec::layout::SLOT_WORDS as TAP_SLOT_WORDS;
use fiberloop_spec::proto::{
    self, cmd, crc32, status, Direction, DropReason, Event, Header, Parser, HEADER_BYTES,
    MAX_BURST_WORDS,
};
use fiberloop_spec::quant::Requant;
use fiberloop_spec::regs::{
    self, counter, infer_bits, link, status_bits, COUNTER_COUNT, SLOT_WORDS,
};

/// A refused loop operation: the status to reply and why (logged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Status code for the reply.
    pub status: u8,
    /// What went wrong, for the device's log.
    pub why: String,
}

impl Refusal {
    /// A refusal.
    pub fn new(status: u8, why: impl Into<String>) -> Self {
        Self {
            status,
            why: why.into(),
        }
    }
}

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
}

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
            regs::ctrl::IDLE => {
                self.running = false;
                Ok(())
            }
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

/// What the engine remembers of the last executed request.
#[derive(Clone, Copy, Debug)]
struct Last {
    seq: u8,
    header_check: u32,
    payload_check: u32,
    write_reply: Option<[u8; HEADER_BYTES]>,
}

/// Settings of the engine.
#[derive(Clone, Copy, Debug)]
pub struct EngineConfig {
    /// Partial-frame timeout, link byte times.
    pub timeout_bytes: u64,
    /// Word clocks of loop time per link byte time.
    pub clocks_per_byte: u64,
}

impl EngineConfig {
    /// Settings for a UART at `baud` (10 bits per byte) with a partial-frame
    /// timeout of `timeout_ms`.
    pub fn uart(baud: u32, timeout_ms: u64) -> Self {
        let bytes_per_s = (baud as u64 / 10).max(1);
        Self {
            timeout_bytes: (bytes_per_s * timeout_ms / 1000).max(1),
            clocks_per_byte: fiberloop_spec::line::WORD_CLOCK_HZ / bytes_per_s,
        }
    }
}

/// The command engine over a loop backend.
pub struct Engine<B: Backend> {
    backend: B,
    cfg: EngineConfig,
    parser: Parser,
    now: u64,
    last: Option<Last>,
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
}

impl<B: Backend> Engine<B> {
    /// An engine in front of `backend`.
    pub fn new(backend: B, cfg: EngineConfig) -> Self {
        Self {
            backend,
            cfg,
            parser: Parser::new(Direction::Request, cfg.timeout_bytes),
            now: 0,
            last: None,
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

    /// The host link counters (`regs::link`).
    pub fn link_counters(&self) -> [u32; regs::LINK_WORDS as usize] {
        let mut l = self.link;
        l[link::HUNTED_BYTES as usize] = self.parser.hunted_bytes() as u32;
        l
    }

    /// The current time, link byte times.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Moves time to `now` (never backwards), advancing the loop, and
    /// drops a partial frame that has timed out.
    pub fn set_time(&mut self, now: u64) {
        if now > self.now {
            self.backend
                .advance((now - self.now).saturating_mul(self.cfg.clocks_per_byte));
            self.now = now;
        }
        if let Some(e) = self.parser.poll(self.now) {
            self.count_event(&e);
        }
    }

    /// Receives bytes that arrived at time `now` (link byte times) and
    /// appends the reply bytes to `out`.
    pub fn feed(&mut self, bytes: &[u8], now: u64, out: &mut Vec<u8>) {
        self.set_time(now);
        for &b in bytes {
            let Some(e) = self.parser.push(b, self.now) else {
                continue;
            };
            self.count_event(&e);
            if let Event::Frame(h) = e {
                let payload = self.parser.payload().to_vec();
                self.execute(h, &payload, out);
            }
        }
    }

    fn count_event(&mut self, e: &Event) {
        let i = match e {
            Event::Frame(_) => return,
            Event::Dropped(DropReason::HeaderCrc) => link::HEADER_CRC,
            Event::Dropped(DropReason::PayloadCrc(_)) => link::PAYLOAD_CRC,
            Event::Dropped(DropReason::Timeout) => link::TIMEOUTS,
            Event::Dropped(DropReason::ReplyTooLong(_)) => return,
        };
        log::debug!("request dropped: {e:?}");
        self.link[i as usize] = self.link[i as usize].wrapping_add(1);
    }

    fn execute(&mut self, h: Header, payload: &[u8], out: &mut Vec<u8>) {
        let header_check = h.check();
        let payload_check = if payload.is_empty() {
            0
        } else {
            crc32(payload)
        };
        if h.code == cmd::WRITE {
            if let Some(last) = self.last {
                if let (true, Some(reply)) = (
                    last.seq == h.seq
                        && last.header_check == header_check
                        && last.payload_check == payload_check,
                    last.write_reply,
                ) {
                    log::debug!("seq {} repeated: WRITE answered from memory", h.seq);
                    self.link[link::REPLAYS as usize] += 1;
                    out.extend_from_slice(&reply);
                    return;
                }
            }
        }
        let (st, at, data) = self.run(&h, payload);
        let executed = matches!(st, status::OK | status::BAD_VALUE | status::FAULT);
        if st != status::OK {
            self.link[link::ERROR_REPLIES as usize] += 1;
            log::debug!(
                "{} at 0x{:08x} (seq {}): {} at 0x{at:08x}",
                cmd::name(h.code),
                h.addr,
                h.seq,
                status::name(st)
            );
        }
        let reply = Header {
            seq: h.seq,
            code: st,
            addr: at,
            len: data.len() as u16,
        };
        let start = out.len();
        out.extend_from_slice(&reply.encode(Direction::Reply));
        if !data.is_empty() {
            let mut bytes = Vec::with_capacity(4 * data.len());
            for w in &data {
                bytes.extend_from_slice(&w.to_le_bytes());
            }
            out.extend_from_slice(&bytes);
            out.extend_from_slice(&crc32(&bytes).to_le_bytes());
        }
        if executed {
            self.link[link::EXECUTED as usize] += 1;
            let mut hdr = [0u8; HEADER_BYTES];
            hdr.copy_from_slice(&out[start..start + HEADER_BYTES]);
            self.last = Some(Last {
                seq: h.seq,
                header_check,
                payload_check,
                write_reply: (h.code == cmd::WRITE).then_some(hdr),
            });
        }
    }

    /// Executes one checked request: (status, address for the reply, data).
    fn run(&mut self, h: &Header, payload: &[u8]) -> (u8, u32, Vec<u32>) {
        let len = h.len as usize;
        match h.code {
            cmd::PING => {
                if len != 0 {
                    return (status::BAD_LENGTH, h.addr, vec![]);
                }
                let mut d = Vec::with_capacity(proto::IDENT_WORDS);
                for a in 0..proto::IDENT_WORDS as u32 {
                    d.push(self.read(regs::IDENT + a).unwrap_or(0));
                }
                (status::OK, h.addr, d)
            }
            cmd::READ | cmd::WRITE => {
                if len == 0 || len > MAX_BURST_WORDS {
                    return (status::BAD_LENGTH, h.addr, vec![]);
                }
                let write = h.code == cmd::WRITE;
                if let Err(a) = regs::check_burst(h.addr, len as u32, write) {
                    return (status::BAD_ADDRESS, a, vec![]);
                }
                if write {
                    for (i, w) in payload.chunks_exact(4).enumerate() {
                        let a = h.addr + i as u32;
                        if self.busy_word(a, 1, true).is_some() {
                            log::debug!("0x{a:08x}: the inference engine is busy");
                            return (status::BUSY, a, vec![]);
                        }
                        let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                        if let Err(r) = self.write(a, v) {
                            log::warn!("write 0x{v:08x} to 0x{a:08x} refused: {}", r.why);
                            return (r.status, a, vec![]);
                        }
                    }
                    (status::OK, h.addr, vec![])
                } else {
                    let mut d = Vec::with_capacity(len);
                    for i in 0..len as u32 {
                        if self.busy_word(h.addr + i, 1, false).is_some() {
                            log::debug!("0x{:08x}: the inference engine is busy", h.addr + i);
                            return (status::BUSY, h.addr + i, vec![]);
                        }
                        match self.read(h.addr + i) {
                            Ok(v) => d.push(v),
                            Err(r) => {
                                log::warn!("read of 0x{:08x} refused: {}", h.addr + i, r.why);
                                return (r.status, h.addr + i, vec![]);
                            }
                        }
                    }
                    (status::OK, h.addr, d)
                }
            }
            _ => (status::BAD_COMMAND, h.addr, vec![]),
        }
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
            _ if in_range(LINK, LINK_WORDS) => self.link_counters()[(a - LINK) as usize],
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
                if v > ctrl::RUN {
                    return Err(Refusal::new(
                        status::BAD_VALUE,
                        format!("loop command {v} does not exist (0..=3)"),
                    ));
                }
                self.loop_ctrl = v;
                self.rd_valid = false;
                if v == ctrl::FILL {
                    // The loop's contents are about to be lost.
                    self.model_tag[model_tag::FILE_CRC as usize] = 0;
                }
                self.backend.control(v, self.fill_timeout)?;
            }
            FILL_TIMEOUT => self.fill_timeout = v,
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
                self.rd_valid = false;
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
                    self.table[o - 1] = self.table_low;
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

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_spec::proto::{encode, MAX_FRAME_BYTES};
    use fiberloop_spec::regs::param_word2;

    fn engine() -> Engine<RamBackend> {
        Engine::new(
            RamBackend::new(8, 1000),
            EngineConfig {
                timeout_bytes: 1000,
                clocks_per_byte: 10,
            },
        )
    }

    fn request(seq: u8, code: u8, addr: u32, len: u16, payload: &[u32]) -> Vec<u8> {
        let bytes: Vec<u8> = payload.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut out = vec![0; MAX_FRAME_BYTES];
        let h = Header {
            seq,
            code,
            addr,
            len,
        };
        let n = encode(Direction::Request, &h, &bytes, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// Sends one request and parses the one reply.
    fn transact(e: &mut Engine<RamBackend>, req: &[u8]) -> (Header, Vec<u32>) {
        let mut out = vec![];
        let t = e.now() + 1;
        e.feed(req, t, &mut out);
        let mut p = Parser::new(Direction::Reply, 100);
        let mut got = None;
        for &b in &out {
            if let Some(Event::Frame(h)) = p.push(b, 0) {
                assert!(got.is_none(), "two replies");
                let words = p
                    .payload()
                    .chunks(4)
                    .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
                    .collect();
                got = Some((h, words));
            }
        }
        got.expect("no reply")
    }

    #[test]
    fn ping_returns_identification() {
        let mut e = engine();
        let (h, d) = transact(&mut e, &request(3, cmd::PING, 0, 0, &[]));
        assert_eq!((h.seq, h.code), (3, status::OK));
        assert_eq!(
            d,
            vec![
                regs::ID_VALUE,
                regs::VERSION_VALUE,
                MAX_BURST_WORDS as u32,
                SLOT_WORDS
            ]
        );
    }

    #[test]
    fn write_then_read_a_burst() {
        let mut e = engine();
        let data: Vec<u32> = (0..1024u32).map(|i| i.wrapping_mul(0x0101_0101)).collect();
        let (h, _) = transact(
            &mut e,
            &request(1, cmd::WRITE, regs::SCRATCH_MEM, 1024, &data),
        );
        assert_eq!(h.code, status::OK);
        let (h, d) = transact(&mut e, &request(2, cmd::READ, regs::SCRATCH_MEM, 1024, &[]));
        assert_eq!((h.code, h.len), (status::OK, 1024));
        assert_eq!(d, data);
    }

    #[test]
    fn errors_name_the_offending_word() {
        let mut e = engine();
        let (h, _) = transact(&mut e, &request(1, cmd::READ, regs::ID, 5, &[]));
        assert_eq!((h.code, h.addr), (status::BAD_ADDRESS, 4));
        let (h, _) = transact(&mut e, &request(2, cmd::WRITE, regs::ID, 1, &[5]));
        assert_eq!((h.code, h.addr), (status::BAD_ADDRESS, regs::ID));
        let (h, _) = transact(&mut e, &request(3, cmd::READ, 0, 0, &[]));
        assert_eq!(h.code, status::BAD_LENGTH);
        let (h, _) = transact(&mut e, &request(4, cmd::READ, 0, 1025, &[]));
        assert_eq!(h.code, status::BAD_LENGTH);
        let (h, _) = transact(&mut e, &request(5, 0x7E, 0, 0, &[]));
        assert_eq!(h.code, status::BAD_COMMAND);
        let (h, _) = transact(&mut e, &request(6, cmd::PING, 0, 1, &[]));
        assert_eq!(h.code, status::BAD_LENGTH);
        let (h, _) = transact(&mut e, &request(7, cmd::WRITE, regs::LOOP_CTRL, 1, &[9]));
        assert_eq!((h.code, h.addr), (status::BAD_VALUE, regs::LOOP_CTRL));
        // The slot write needs a running loop.
        let (h, _) = transact(
            &mut e,
            &request(8, cmd::WRITE, regs::SLOT_WR_COMMIT, 1, &[1]),
        );
        assert_eq!(h.code, status::FAULT);
        assert_eq!(e.link_counters()[link::ERROR_REPLIES as usize], 8);
    }

    #[test]
    fn slot_write_and_read_through_registers() {
        let mut e = engine();
        let (h, _) = transact(
            &mut e,
            &request(1, cmd::WRITE, regs::LOOP_CTRL, 1, &[regs::ctrl::FILL]),
        );
        assert_eq!(h.code, status::OK);
        let mut burst: Vec<u32> = (0..SLOT_WORDS).map(|i| 0xA000_0000 | i).collect();
        burst.extend([5, 1]);
        let (h, _) = transact(
            &mut e,
            &request(2, cmd::WRITE, regs::SLOT_WR_BUF, burst.len() as u16, &burst),
        );
        assert_eq!(h.code, status::OK);
        assert_eq!(e.backend().slot_writes, 1);
        let (h, _) = transact(
            &mut e,
            &request(3, cmd::WRITE, regs::SLOT_RD_SLOT, 2, &[5, 1]),
        );
        assert_eq!(h.code, status::OK);
        let (h, d) = transact(
            &mut e,
            &request(4, cmd::READ, regs::SLOT_RD_BUF, SLOT_WORDS as u16, &[]),
        );
        assert_eq!(h.code, status::OK);
        assert_eq!(d, burst[..SLOT_WORDS as usize]);
        let (_, st) = transact(&mut e, &request(5, cmd::READ, regs::LOOP_STATUS, 1, &[]));
        assert_eq!(
            st[0],
            status_bits::MODE_RUNNING | status_bits::RD_VALID,
            "status"
        );
    }

    #[test]
    fn repeated_write_is_answered_without_executing() {
        let mut e = engine();
        transact(
            &mut e,
            &request(1, cmd::WRITE, regs::LOOP_CTRL, 1, &[regs::ctrl::FILL]),
        );
        let mut burst = vec![7u32; SLOT_WORDS as usize];
        burst.extend([0, 1]);
        let req = request(9, cmd::WRITE, regs::SLOT_WR_BUF, burst.len() as u16, &burst);
        let first = transact(&mut e, &req);
        let again = transact(&mut e, &req);
        assert_eq!(first, again);
        assert_eq!(e.backend().slot_writes, 1);
        assert_eq!(e.link_counters()[link::REPLAYS as usize], 1);
        // Another sequence number is a new write.
        let req = request(
            10,
            cmd::WRITE,
            regs::SLOT_WR_BUF,
            burst.len() as u16,
            &burst,
        );
        transact(&mut e, &req);
        assert_eq!(e.backend().slot_writes, 2);
        // A read in between forgets the write: the same frame executes again.
        transact(&mut e, &request(11, cmd::READ, regs::ID, 1, &[]));
        transact(&mut e, &req);
        assert_eq!(e.backend().slot_writes, 3);
    }

    #[test]
    fn counters_latch_their_high_word() {
        let mut e = engine();
        transact(
            &mut e,
            &request(1, cmd::WRITE, regs::LOOP_CTRL, 1, &[regs::ctrl::FILL]),
        );
        e.backend_mut().advance(5 << 32);
        let a = regs::counter_addr(counter::CLOCKS);
        let (_, d) = transact(&mut e, &request(2, cmd::READ, a, 2, &[]));
        let c = d[0] as u64 | (d[1] as u64) << 32;
        assert!(c >= 5 << 32, "{c:x}");
        // Time advanced with the bytes received, at 10 clocks per byte.
        assert!(c > 5 << 32);
    }

    #[test]
    fn corrupted_write_is_never_executed() {
        let mut e = engine();
        let data = [0xDEAD_BEEFu32; 4];
        let req = request(1, cmd::WRITE, regs::SCRATCH, 4, &data);
        for i in 0..req.len() {
            let mut bad = req.clone();
            bad[i] ^= 0x10;
            let mut out = vec![];
            let t = e.now() + 1;
            e.feed(&bad, t, &mut out);
            // Flush whatever partial frame is left.
            e.set_time(e.now() + 10_000);
            let (h, d) = transact(&mut e, &request(2, cmd::READ, regs::SCRATCH, 4, &[]));
            assert_eq!(h.code, status::OK);
            assert_eq!(d, vec![0; 4], "byte {i} corrupted, write executed");
        }
    }

    /// An engine driven one request at a time with fresh sequence numbers.
    struct Rig {
        e: Engine<RamBackend>,
        seq: u8,
    }

    impl Rig {
        fn new(slots: usize, lap_clocks: u64) -> Rig {
            Rig {
                e: Engine::new(
                    RamBackend::new(slots, lap_clocks),
                    EngineConfig {
                        timeout_bytes: 1000,
                        clocks_per_byte: 10,
                    },
                ),
                seq: 0,
            }
        }
        fn w(&mut self, addr: u32, data: &[u32]) -> Header {
            self.seq = self.seq.wrapping_add(1);
            let req = request(self.seq, cmd::WRITE, addr, data.len() as u16, data);
            transact(&mut self.e, &req).0
        }
        fn r(&mut self, addr: u32, n: u16) -> (Header, Vec<u32>) {
            self.seq = self.seq.wrapping_add(1);
            transact(&mut self.e, &request(self.seq, cmd::READ, addr, n, &[]))
        }
        fn ok(&mut self, addr: u32, data: &[u32]) {
            let h = self.w(addr, data);
            assert_eq!(h.code, status::OK, "write at 0x{addr:x}: {h:?}");
        }
        fn status(&mut self) -> u32 {
            self.r(regs::INFER_STATUS, 1).1[0]
        }
        fn time_passes(&mut self, bytes: u64) {
            let t = self.e.now() + bytes;
            self.e.set_time(t);
        }
        /// One layer, 2 rows of 8 words, in slot 0; a started batch.
        fn running(&mut self) {
            self.ok(regs::LOOP_CTRL, &[regs::ctrl::FILL]);
            self.ok(regs::LAYER_TABLE, &[2 << 16, 8]);
            self.ok(regs::INFER_LAYERS, &[1]);
            self.ok(regs::INFER_CTRL, &[regs::INFER_START]);
            assert_ne!(self.status() & infer_bits::BUSY, 0);
        }
    }

    #[test]
    fn busy_engine_refuses_table_params_inputs_start_and_outputs() {
        // A lap of 10^6 clocks: the batch stays busy for the whole test.
        let mut g = Rig::new(4, 1_000_000);
        g.ok(regs::MODEL_TAG, &[7]);
        g.running();
        let refused: [(u32, &[u32]); 6] = [
            (regs::LAYER_TABLE, &[1, 2]),
            (regs::LAYER_TABLE + 3, &[5]),
            (regs::INFER_LAYERS, &[3]),
            (regs::PARAM_MEM + 6, &[0x100, 0]),
            (regs::ACT_IN + 1030, &[0x0102]),
            (regs::INFER_CTRL, &[regs::INFER_START]),
        ];
        let executed = g.e.link_counters()[link::EXECUTED as usize];
        for (addr, data) in refused {
            let h = g.w(addr, data);
            assert_eq!((h.code, h.addr), (status::BUSY, addr), "0x{addr:x}");
        }
        // A burst from the tag into the table stops at the table: the tag
        // words before it stay written.
        let h = g.w(regs::MODEL_TAG, &[9; 10]);
        assert_eq!((h.code, h.addr), (status::BUSY, regs::LAYER_TABLE));
        assert_eq!(g.r(regs::MODEL_TAG, 8).1, vec![9; 8]);
        g.ok(regs::MODEL_TAG, &[0]);
        let (h, _) = g.r(regs::ACT_OUT, 4);
        assert_eq!((h.code, h.addr), (status::BUSY, regs::ACT_OUT));
        // (Address checks come first: a read from ACT_IN is no read at all.)
        let (h, _) = g.r(regs::ACT_OUT - 2, 4);
        assert_eq!((h.code, h.addr), (status::BAD_ADDRESS, regs::ACT_OUT - 2));
        assert_eq!(
            g.e.link_counters()[link::EXECUTED as usize],
            executed + 2,
            "BUSY executes nothing (the 2 are the tag's read and rewrite)"
        );
        // Nothing changed.
        assert_eq!(g.r(regs::LAYER_TABLE, 4).1, vec![2 << 16, 8, 0, 0]);
        assert_eq!(g.r(regs::INFER_LAYERS, 1).1, vec![1]);
        assert_eq!(g.r(regs::MODEL_TAG, 1).1, vec![0], "the fill cleared it");
        assert_eq!(g.e.backend().engine.param(1), ParamEntry::default());
        assert_eq!(g.e.backend().engine.write_bank(1)[12], 0);
        // Everything else works while busy.
        g.ok(regs::MODEL_TAG, &[5, 6]);
        g.ok(regs::SCRATCH_MEM, &[1, 2, 3]);
        assert_eq!(g.r(regs::INFER_BATCH, 1).1, vec![8]);
        assert_eq!(g.r(regs::MODEL_TAG, 2).1, vec![5, 6]);
        // Once done, the same requests are taken.
        g.time_passes(2_000_000 / 10 + 1);
        assert_eq!(g.status(), infer_bits::DONE);
        g.ok(regs::INFER_LAYERS, &[2]);
        assert_eq!(g.r(regs::ACT_OUT, 4).0.code, status::OK);
    }

    #[test]
    fn out_of_range_values_are_refused_and_change_nothing() {
        let mut g = Rig::new(4, 1000);
        for v in [0, regs::MAX_LAYERS + 1, u32::MAX] {
            let h = g.w(regs::INFER_LAYERS, &[v]);
            assert_eq!((h.code, h.addr), (status::BAD_VALUE, regs::INFER_LAYERS));
        }
        assert_eq!(g.r(regs::INFER_LAYERS, 1).1, vec![0]);
        g.ok(regs::INFER_LAYERS, &[regs::MAX_LAYERS]);
        for v in [0, 2, 0x101] {
            let h = g.w(regs::INFER_CTRL, &[v]);
            assert_eq!((h.code, h.addr), (status::BAD_VALUE, regs::INFER_CTRL));
        }
        assert_eq!(g.status() & infer_bits::BUSY, 0, "no batch started");
        // Parameter word 2 with a reserved bit: words before it stay
        // written (the latches), the entry is not entered.
        let e = 3;
        let base = regs::PARAM_MEM + 4 * e;
        let h = g.w(
            base,
            &[100, 200, param_word2::pack(4, -2, true) | 1 << 20, 0],
        );
        assert_eq!((h.code, h.addr), (status::BAD_VALUE, base + 2));
        assert_eq!(
            g.e.backend().engine.param(e as usize),
            ParamEntry::default()
        );
        let h = g.w(base + 2, &[0x20]);
        assert_eq!((h.code, h.addr), (status::BAD_VALUE, base + 2), "bit 5");
        let h = g.w(base + 3, &[1]);
        assert_eq!((h.code, h.addr), (status::BAD_VALUE, base + 3));
        // A good word 2 enters the entry with the latched words 0 and 1.
        g.ok(base + 2, &[param_word2::pack(4, -2, true)]);
        assert_eq!(
            g.e.backend().engine.param(e as usize),
            ParamEntry {
                bias: 100,
                multiplier: 200,
                shift: 4,
                zero_point: -2,
                relu: true
            }
        );
        g.ok(
            base,
            &[
                -5i32 as u32,
                i32::MIN as u32,
                param_word2::pack(31, 127, false),
                0,
            ],
        );
        assert_eq!(g.e.backend().engine.param(e as usize).multiplier, i32::MIN);
        assert_eq!(g.e.backend().engine.param(e as usize).bias, -5);
        // Inputs: bits 31:16 must be 0; the burst stops at the bad word.
        let a = regs::act_addr(regs::ACT_IN, 2, 10);
        let h = g.w(a, &[0x0201, 0x1_0000, 0x0403]);
        assert_eq!((h.code, h.addr), (status::BAD_VALUE, a + 1));
        let bank = g.e.backend().engine.write_bank(2);
        assert_eq!(&bank[20..24], &[1, 2, 0, 0]);
    }

    #[test]
    fn write_only_and_read_only_words_are_refused() {
        let mut g = Rig::new(4, 1000);
        for a in [regs::INFER_CTRL, regs::PARAM_MEM + 5, regs::ACT_IN + 9] {
            let (h, _) = g.r(a, 1);
            assert_eq!((h.code, h.addr), (status::BAD_ADDRESS, a), "read 0x{a:x}");
        }
        for a in [regs::INFER_STATUS, regs::INFER_BATCH, regs::ACT_OUT + 3] {
            let h = g.w(a, &[0]);
            assert_eq!((h.code, h.addr), (status::BAD_ADDRESS, a), "write 0x{a:x}");
        }
        // The old reserved ranges are gone.
        let (h, _) = g.r(0x0C00, 1);
        assert_eq!(h.code, status::BAD_ADDRESS);
        let (h, _) = g.r(regs::INFER_STATUS, 3);
        assert_eq!(h.code, status::OK);
    }

    #[test]
    fn fill_clears_the_model_tag_word_0_only() {
        let mut g = Rig::new(4, 1000);
        let tag = [0xC0FF_EE00, 64, 10, 2, 13, 0, 0, 9];
        g.ok(regs::MODEL_TAG, &tag);
        assert_eq!(g.r(regs::MODEL_TAG, 8).1, tag);
        g.ok(regs::LOOP_CTRL, &[regs::ctrl::IDLE]);
        assert_eq!(g.r(regs::MODEL_TAG, 1).1, vec![tag[0]], "idle keeps it");
        g.ok(regs::LOOP_CTRL, &[regs::ctrl::FILL]);
        let mut want = tag;
        want[0] = 0;
        assert_eq!(g.r(regs::MODEL_TAG, 8).1, want);
    }

    #[test]
    fn start_with_no_layers_is_a_fault() {
        let mut g = Rig::new(4, 1000);
        g.ok(regs::LOOP_CTRL, &[regs::ctrl::FILL]);
        let h = g.w(regs::INFER_CTRL, &[regs::INFER_START]);
        assert_eq!((h.code, h.addr), (status::FAULT, regs::INFER_CTRL));
        assert_eq!(g.status(), 0, "not busy, not done");
    }

    #[test]
    fn table_words_enter_with_the_high_word() {
        let mut g = Rig::new(4, 1000);
        let lo = 3 | 7 << 16;
        g.ok(regs::LAYER_TABLE + 4, &[lo]);
        assert_eq!(g.e.backend().engine.table_entry(2), LayerEntry::default());
        g.ok(regs::LAYER_TABLE + 5, &[16 | 40 << 16]);
        let want = LayerEntry {
            first_slot: 3,
            rows: 7,
            row_words: 16,
            param_base: 40,
        };
        assert_eq!(g.e.backend().engine.table_entry(2), want);
        assert_eq!(g.r(regs::LAYER_TABLE + 4, 2).1, vec![lo, 16 | 40 << 16]);
        // The high word of another layer takes the last low word written.
        g.ok(regs::LAYER_TABLE + 7, &[9]);
        assert_eq!(g.e.backend().engine.table_entry(3).first_slot, 3);
        assert_eq!(g.r(regs::LAYER_TABLE + 6, 2).1, vec![lo, 9]);
    }

    /// The functional engine against the reference: the digits network
    /// written through the registers into a RAM loop, every shipped input.
    #[test]
    fn ram_engine_computes_the_reference_outputs() {
        use crate::model::Network;
        use fiberloop_spec::layout::Params;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/digits");
        let net = Network::load(dir.join("model.safetensors")).unwrap();
        let inputs = net.read_inputs(dir.join("inputs.npy")).unwrap();
        let want = net.infer(&inputs).unwrap();
        // 14 slots: one more than the plan, so the layers start anywhere.
        let mut g = Rig::new(14, 500);
        g.ok(regs::LOOP_CTRL, &[regs::ctrl::FILL]);
        let plan = net.plan(Params::default(), 14).unwrap();
        for (slot, img) in net.slot_images(&plan).unwrap().iter().enumerate() {
            let mut w: Vec<u32> = img
                .chunks(4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            w.extend([slot as u32, 1]);
            g.ok(regs::SLOT_WR_BUF, &w);
        }
        let layers = net.engine_layers(&plan);
        for (k, l) in layers.iter().enumerate() {
            let e = l.entry;
            g.ok(
                regs::LAYER_TABLE + 2 * k as u32,
                &[
                    e.first_slot as u32 | (e.rows as u32) << 16,
                    e.row_words as u32 | (e.param_base as u32) << 16,
                ],
            );
            let words: Vec<u32> = l
                .params
                .iter()
                .flat_map(|p| {
                    [
                        p.bias as u32,
                        p.multiplier as u32,
                        param_word2::pack(p.shift, p.zero_point, p.relu),
                        0,
                    ]
                })
                .collect();
            g.ok(regs::PARAM_MEM + 4 * e.param_base as u32, &words);
        }
        g.ok(regs::INFER_LAYERS, &[layers.len() as u32]);
        let (w_in, w_out) = (net.input_width(), net.output_width());
        for first in (0..inputs.rows()).step_by(8) {
            let rows = (inputs.rows() - first).min(8);
            for b in 0..rows {
                let x = inputs.row(first + b);
                let words: Vec<u32> = x
                    .chunks(2)
                    .map(|p| p[0] as u8 as u32 | (*p.get(1).unwrap_or(&0) as u8 as u32) << 8)
                    .collect();
                g.ok(regs::act_addr(regs::ACT_IN, b as u32, 0), &words);
            }
            g.ok(regs::INFER_CTRL, &[regs::INFER_START]);
            let mut polls = 0;
            while g.status() & infer_bits::BUSY != 0 {
                polls += 1;
                assert!(polls < 1000);
            }
            assert_eq!(g.status(), infer_bits::DONE);
            for b in 0..rows {
                let (h, d) = g.r(
                    regs::act_addr(regs::ACT_OUT, b as u32, 0),
                    w_out.div_ceil(2) as u16,
                );
                assert_eq!(h.code, status::OK);
                let got: Vec<i8> = d
                    .iter()
                    .flat_map(|w| [*w as u8 as i8, (*w >> 8) as u8 as i8])
                    .take(w_out)
                    .collect();
                assert_eq!(got, want.row(first + b), "input {}", first + b);
                assert!(d.iter().all(|w| w >> 16 == 0));
            }
        }
        assert!(w_in <= 2 * regs::ACT_ROW_WORDS as usize);
    }
}

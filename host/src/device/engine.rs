//! The board's command engine in Rust: the model of what the gateware does
//! with the bytes of the host protocol (`fiberloop_spec::proto`), and the
//! register file of `fiberloop_spec::regs` in front of a loop.
//!
//! The engine owns the protocol side (receiver, replies, idempotent retries,
//! link counters) and the plain registers (identification, scratch, slot
//! buffers, the reserved MAC-array ranges, held as memory until the array
//! exists). The loop itself is a [`Backend`]: [`RamBackend`], an in-memory
//! stand-in that makes the engine's tests fast, or the simulated gateware
//! loop (`super::loop_backend`).
//!
//! Time: the caller gives the time of each byte in *link byte times* (one
//! unit = one byte at the link's baud). The partial-frame timeout is in the
//! same unit, and the backend's loop advances by `clocks_per_byte` word
//! clocks per unit, so loop time passes as bytes arrive.

use fiberloop_spec::frame::PAYLOAD_BYTES;
use fiberloop_spec::proto::{
    self, cmd, crc32, status, Direction, DropReason, Event, Header, Parser, HEADER_BYTES,
    MAX_BURST_WORDS,
};
use fiberloop_spec::regs::{self, counter, link, status_bits, COUNTER_COUNT, SLOT_WORDS};

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
        }
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
    infer: [u32; 2],
    param: Vec<u32>,
    act_in: Vec<u32>,
    act_out: Vec<u32>,
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
            infer: [0; 2],
            param: vec![0; regs::PARAM_MEM_WORDS as usize],
            act_in: vec![0; regs::ACT_IN_WORDS as usize],
            act_out: vec![0; regs::ACT_OUT_WORDS as usize],
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
            INFER_CTRL | INFER_STATUS => self.infer[(a - INFER_CTRL) as usize],
            _ if in_range(PARAM_MEM, PARAM_MEM_WORDS) => self.param[(a - PARAM_MEM) as usize],
            _ if in_range(ACT_IN, ACT_IN_WORDS) => self.act_in[(a - ACT_IN) as usize],
            _ if in_range(ACT_OUT, ACT_OUT_WORDS) => self.act_out[(a - ACT_OUT) as usize],
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
            INFER_CTRL => self.infer[0] = v,
            _ if in_range(PARAM_MEM, PARAM_MEM_WORDS) => self.param[(a - PARAM_MEM) as usize] = v,
            _ if in_range(ACT_IN, ACT_IN_WORDS) => self.act_in[(a - ACT_IN) as usize] = v,
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
            &request(1, cmd::WRITE, regs::PARAM_MEM, 1024, &data),
        );
        assert_eq!(h.code, status::OK);
        let (h, d) = transact(&mut e, &request(2, cmd::READ, regs::PARAM_MEM, 1024, &[]));
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
}

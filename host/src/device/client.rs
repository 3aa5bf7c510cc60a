//! The host side of the protocol over any [`Transport`]: one request at a
//! time, each with a sequence number, a timeout and bounded retries of the
//! very same frame (the board answers a repeated WRITE from memory, so a
//! retry never executes twice), and bursts of up to
//! [`MAX_BURST_WORDS`] words so bulk data never goes a word at a time.

use super::Transport;
use fiberloop_firmware::control;
use fiberloop_firmware::RegisterBus;
use fiberloop_spec::frame::PAYLOAD_BYTES;
use fiberloop_spec::proto::{
    cmd, encode, status, Direction, Event, Header, Parser, IDENT_WORDS, MAX_BURST_WORDS,
    MAX_FRAME_BYTES,
};
use fiberloop_spec::regs::{self, COUNTER_COUNT};
use std::io;
use std::time::{Duration, Instant};

/// A failed operation.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The transport failed.
    #[error("{device}: {err}")]
    Io {
        /// The device.
        device: String,
        /// Cause.
        err: io::Error,
    },
    /// Every try went unanswered (or was answered corrupted).
    #[error("{device}: no reply to {cmd} of {len} words at 0x{addr:08x} (seq {seq}) after {tries} tries of {timeout_ms} ms each: the request or its reply was lost or corrupted every time")]
    NoReply {
        /// The device.
        device: String,
        /// Command name.
        cmd: &'static str,
        /// Address.
        addr: u32,
        /// Words.
        len: u16,
        /// Sequence number.
        seq: u8,
        /// Tries made.
        tries: u32,
        /// Timeout of each try.
        timeout_ms: u64,
    },
    /// The board refused the request.
    #[error("{device}: {cmd} of {len} words at 0x{addr:08x} (seq {seq}) answered {status_name} at 0x{at:08x}")]
    Status {
        /// The device.
        device: String,
        /// Command name.
        cmd: &'static str,
        /// Address asked for.
        addr: u32,
        /// Words.
        len: u16,
        /// Sequence number.
        seq: u8,
        /// Status code.
        status: u8,
        /// Status name.
        status_name: &'static str,
        /// The word the board blames.
        at: u32,
    },
    /// The board is not a fiberloop board, or speaks another version.
    #[error("{device}: not a fiberloop board: {why}")]
    Identity {
        /// The device.
        device: String,
        /// What did not match.
        why: String,
    },
    /// A request the client cannot make.
    #[error("{0}")]
    Usage(String),
    /// The board did not complete an operation in time (a slot read that
    /// was never captured).
    #[error("the board did not complete the operation: {0}")]
    NotReady(String),
}

/// Counts of what happened on the link, host side.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClientStats {
    /// Operations completed or failed.
    pub requests: u64,
    /// Frames sent again after a timeout.
    pub retries: u64,
    /// Requests sent again because the board was busy.
    pub busy_retries: u64,
    /// Replies with another sequence number (late answers to earlier tries).
    pub stale_replies: u64,
    /// Reply frames dropped by the receiver (check failed, timeout).
    pub dropped_replies: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
}

/// Settings of a client.
#[derive(Clone, Copy, Debug)]
pub struct ClientConfig {
    /// How long to wait for each reply.
    pub timeout: Duration,
    /// Tries after the first one.
    pub retries: u32,
    /// How long to keep asking again while the board answers BUSY (device
    /// time, waited with a [`Backoff`]).
    pub busy_wait: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(500),
            retries: 5,
            busy_wait: Duration::from_millis(100),
        }
    }
}

/// The board's identification (the PING reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Ident {
    /// ID word.
    pub id: u32,
    /// Version word.
    pub version: u32,
    /// Largest burst, words.
    pub max_burst: u32,
    /// Words per slot.
    pub slot_words: u32,
}

/// A slot read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Frame flags.
    pub flags: u8,
    /// Lap counter.
    pub lap: u32,
    /// Payload.
    pub payload: Vec<u8>,
}

/// Loop and link counters in one read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counters {
    /// `LOOP_STATUS`.
    pub loop_status: u32,
    /// Loop counters by `regs::counter` index.
    pub loop_counters: [u64; COUNTER_COUNT as usize],
    /// Link counters by `regs::link` index.
    pub link: [u32; regs::LINK_WORDS as usize],
}

/// Waits between polls of a board that is not ready yet: 5 us, then
/// doubling up to 1 ms (a slot comes round within a lap: 1 ms at 200 km,
/// 10 us at 2 km).
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    next: Duration,
    /// Time waited so far.
    pub waited: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            next: Duration::from_micros(5),
            waited: Duration::ZERO,
        }
    }
}

impl Backoff {
    /// The next wait (and counts it as waited).
    pub fn step(&mut self) -> Duration {
        let d = self.next;
        self.next = (d * 2).min(Duration::from_millis(1));
        self.waited += d;
        d
    }
}

/// What the host did to, and learnt of, the loop's slots, as a client
/// records it when asked ([`Client::record_slots`]): the demo's ring map
/// is drawn from these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SlotEvent {
    /// A slot write was committed (its payload, slot number and commit
    /// sent in one burst).
    Written(u32),
    /// A slot's flags were read (`fiberloop_spec::frame` flag bits).
    Flags {
        /// The slot.
        slot: u32,
        /// Its flags.
        flags: u8,
    },
    /// A fill was started: every slot is empty afterwards.
    Fill,
}

/// The host end of the protocol.
pub struct Client<T: Transport> {
    t: T,
    cfg: ClientConfig,
    seq: u8,
    parser: Parser,
    epoch: Instant,
    stats: ClientStats,
    frame: Vec<u8>,
    rx: Vec<u8>,
    journal: Option<Vec<SlotEvent>>,
    read_slot_no: u32,
}

impl<T: Transport> Client<T> {
    /// A client over `t`.
    pub fn new(t: T, cfg: ClientConfig) -> Self {
        Self {
            t,
            cfg,
            seq: 0,
            parser: Parser::new(Direction::Reply, cfg.timeout.as_micros() as u64),
            epoch: Instant::now(),
            stats: ClientStats::default(),
            frame: vec![0; MAX_FRAME_BYTES],
            rx: vec![0; 2 * MAX_FRAME_BYTES],
            journal: None,
            read_slot_no: 0,
        }
    }

    /// Starts (or stops) recording [`SlotEvent`]s: slot writes, slot flags
    /// read and fills, as they pass through [`read_block`](Self::read_block)
    /// and [`write_block`](Self::write_block). Off by default.
    pub fn record_slots(&mut self, on: bool) {
        self.journal = on.then(Vec::new);
    }

    /// The slot events recorded since the last call (none when not
    /// recording).
    pub fn take_slot_events(&mut self) -> Vec<SlotEvent> {
        self.journal
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn note_write(&mut self, addr: u32, data: &[u32]) {
        let Some(j) = self.journal.as_mut() else {
            return;
        };
        let n = regs::SLOT_WORDS as usize;
        match addr {
            // The commit register takes any value.
            regs::SLOT_WR_BUF if data.len() >= n + 2 => j.push(SlotEvent::Written(data[n])),
            regs::SLOT_WR_SLOT if data.len() >= 2 => j.push(SlotEvent::Written(data[0])),
            regs::SLOT_RD_SLOT if !data.is_empty() => self.read_slot_no = data[0],
            regs::LOOP_CTRL if data.first() == Some(&regs::ctrl::FILL) => j.push(SlotEvent::Fill),
            _ => {}
        }
    }

    fn note_read(&mut self, addr: u32, data: &[u32]) {
        let Some(j) = self.journal.as_mut() else {
            return;
        };
        let n = regs::SLOT_WORDS as usize;
        let flags = match addr {
            regs::SLOT_RD_FLAGS if !data.is_empty() => data[0],
            regs::SLOT_RD_BUF if data.len() >= n + 3 => data[n + 2],
            _ => return,
        };
        j.push(SlotEvent::Flags {
            slot: self.read_slot_no,
            flags: flags as u8,
        });
    }

    /// Counts so far.
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.t
    }

    /// The transport, mutable.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.t
    }

    /// Lets `d` of the device's time pass ([`Transport::pause`]).
    pub fn pause(&mut self, d: Duration) {
        self.t.pause(d)
    }

    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// One request and its reply: returns the reply's payload bytes.
    pub fn transact(
        &mut self,
        code: u8,
        addr: u32,
        len: u16,
        payload: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        self.stats.requests += 1;
        let mut busy = Backoff::default();
        loop {
            let seq = self.seq;
            self.seq = self.seq.wrapping_add(1);
            let h = Header {
                seq,
                code,
                addr,
                len,
            };
            let n = encode(Direction::Request, &h, payload, &mut self.frame)
                .map_err(|e| ClientError::Usage(e.to_string()))?;
            if log::log_enabled!(log::Level::Trace) {
                let first = payload
                    .get(..4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                log::trace!(
                    "{} 0x{addr:04x} len {len} seq {seq} first {first:x?}",
                    cmd::name(code)
                );
            }
            let tries = 1 + self.cfg.retries;
            let mut reply = None;
            for attempt in 1..=tries {
                if attempt > 1 {
                    self.stats.retries += 1;
                    log::debug!(
                        "{} at 0x{addr:08x} seq {seq}: no reply, try {attempt}/{tries}",
                        cmd::name(code)
                    );
                }
                self.t
                    .send(&self.frame[..n])
                    .map_err(|err| ClientError::Io {
                        device: self.t.describe(),
                        err,
                    })?;
                self.stats.bytes_sent += n as u64;
                if let Some(r) = self.wait_reply(seq)? {
                    reply = Some(r);
                    break;
                }
            }
            let Some((rh, data)) = reply else {
                return Err(ClientError::NoReply {
                    device: self.t.describe(),
                    cmd: cmd::name(code),
                    addr,
                    len,
                    seq,
                    tries,
                    timeout_ms: self.cfg.timeout.as_millis() as u64,
                });
            };
            match rh.code {
                status::OK => return Ok(data),
                status::BUSY if busy.waited < self.cfg.busy_wait => {
                    self.stats.busy_retries += 1;
                    self.t.pause(busy.step());
                }
                st => {
                    return Err(ClientError::Status {
                        device: self.t.describe(),
                        cmd: cmd::name(code),
                        addr,
                        len,
                        seq,
                        status: st,
                        status_name: status::name(st),
                        at: rh.addr,
                    })
                }
            }
        }
    }

    /// Waits one timeout for the reply numbered `seq`.
    fn wait_reply(&mut self, seq: u8) -> Result<Option<(Header, Vec<u8>)>, ClientError> {
        let deadline = Instant::now() + self.cfg.timeout;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let n = self
                .t
                .recv(&mut self.rx, deadline - now)
                .map_err(|err| ClientError::Io {
                    device: self.t.describe(),
                    err,
                })?;
            self.stats.bytes_received += n as u64;
            let t = self.now_us();
            if n == 0 {
                if let Some(Event::Dropped(_)) = self.parser.poll(t) {
                    self.stats.dropped_replies += 1;
                }
                if self.t.settled() {
                    // A simulated board has gone quiet: the reply is lost.
                    return Ok(None);
                }
                continue;
            }
            for i in 0..n {
                match self.parser.push(self.rx[i], t) {
                    Some(Event::Frame(h)) if h.seq == seq => {
                        // Anything after the reply is a late duplicate.
                        return Ok(Some((h, self.parser.payload().to_vec())));
                    }
                    Some(Event::Frame(h)) => {
                        log::debug!("stale reply seq {} (waiting for {seq})", h.seq);
                        self.stats.stale_replies += 1;
                    }
                    Some(Event::Dropped(d)) => {
                        log::debug!("reply dropped: {d:?}");
                        self.stats.dropped_replies += 1;
                    }
                    None => {}
                }
            }
        }
    }

    /// PING: the board's identification; checks that it is a fiberloop
    /// board speaking this protocol's major version.
    pub fn ping(&mut self) -> Result<Ident, ClientError> {
        let d = self.transact(cmd::PING, 0, 0, &[])?;
        let w = words(&d);
        if w.len() != IDENT_WORDS {
            return Err(ClientError::Identity {
                device: self.t.describe(),
                why: format!("PING returned {} words, expected {IDENT_WORDS}", w.len()),
            });
        }
        let id = Ident {
            id: w[0],
            version: w[1],
            max_burst: w[2],
            slot_words: w[3],
        };
        if id.id != regs::ID_VALUE || (id.version >> 8) & 0xFF != (regs::VERSION_VALUE >> 8) & 0xFF
        {
            return Err(ClientError::Identity {
                device: self.t.describe(),
                why: format!(
                    "ID 0x{:08x} version 0x{:08x}, expected ID 0x{:08x} protocol major {}",
                    id.id,
                    id.version,
                    regs::ID_VALUE,
                    (regs::VERSION_VALUE >> 8) & 0xFF
                ),
            });
        }
        Ok(id)
    }

    /// Reads one word.
    pub fn read(&mut self, addr: u32) -> Result<u32, ClientError> {
        Ok(self.read_block(addr, 1)?[0])
    }

    /// Writes one word.
    pub fn write(&mut self, addr: u32, value: u32) -> Result<(), ClientError> {
        self.write_block(addr, &[value])
    }

    /// Reads `n` words from `addr` in bursts of up to [`MAX_BURST_WORDS`].
    pub fn read_block(&mut self, addr: u32, n: usize) -> Result<Vec<u32>, ClientError> {
        let mut out = Vec::with_capacity(n);
        let mut a = addr;
        let mut left = n;
        while left > 0 {
            let k = left.min(MAX_BURST_WORDS);
            let d = self.transact(cmd::READ, a, k as u16, &[])?;
            out.extend(words(&d));
            a = a.wrapping_add(k as u32);
            left -= k;
        }
        self.note_read(addr, &out);
        Ok(out)
    }

    /// Writes `data` from `addr` in bursts of up to [`MAX_BURST_WORDS`].
    pub fn write_block(&mut self, addr: u32, data: &[u32]) -> Result<(), ClientError> {
        let mut bytes = Vec::with_capacity(4 * MAX_BURST_WORDS);
        for (i, chunk) in data.chunks(MAX_BURST_WORDS).enumerate() {
            bytes.clear();
            for w in chunk {
                bytes.extend_from_slice(&w.to_le_bytes());
            }
            let a = addr.wrapping_add((i * MAX_BURST_WORDS) as u32);
            self.transact(cmd::WRITE, a, chunk.len() as u16, &bytes)?;
        }
        self.note_write(addr, data);
        Ok(())
    }

    /// Writes bytes (a multiple of 4) from word `addr`, little-endian words.
    pub fn write_bytes(&mut self, addr: u32, bytes: &[u8]) -> Result<(), ClientError> {
        if bytes.len() & 3 != 0 {
            return Err(ClientError::Usage(format!(
                "{} bytes is not a whole number of 32-bit words",
                bytes.len()
            )));
        }
        self.write_block(addr, &words(bytes))
    }

    /// Reads `n` bytes (a multiple of 4) from word `addr`.
    pub fn read_bytes(&mut self, addr: u32, n: usize) -> Result<Vec<u8>, ClientError> {
        if n & 3 != 0 {
            return Err(ClientError::Usage(format!(
                "{n} bytes is not a whole number of 32-bit words"
            )));
        }
        Ok(self
            .read_block(addr, n / 4)?
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect())
    }

    /// Fills the loop (measures the delay, sends the empty frames, runs).
    /// Does not wait: see `fiberloop_firmware::control::fill`.
    pub fn fill(&mut self) -> Result<(), ClientError> {
        self.write(regs::LOOP_CTRL, regs::ctrl::FILL)
    }

    /// Writes a slot's payload in one burst (buffer, slot number, commit),
    /// with the firmware's `control::write_slot`.
    pub fn write_slot(&mut self, slot: u32, payload: &[u8]) -> Result<(), ClientError> {
        let img: &control::SlotImage = payload.try_into().map_err(|_| {
            ClientError::Usage(format!(
                "a slot holds {PAYLOAD_BYTES} bytes, got {}",
                payload.len()
            ))
        })?;
        control::write_slot(self, slot, img).map_err(firmware_error)
    }

    /// Reads a slot: a request, polls until it is captured, one burst of
    /// payload and info (the firmware's `control::read_slot`).
    pub fn read_slot(&mut self, slot: u32) -> Result<Slot, ClientError> {
        let mut payload = [0u8; PAYLOAD_BYTES];
        let info = control::read_slot(self, slot, &mut payload, control::DEFAULT_MAX_POLLS)
            .map_err(firmware_error)?;
        Ok(Slot {
            flags: info.flags,
            lap: info.lap,
            payload: payload.to_vec(),
        })
    }

    /// Loop status, loop counters and link counters.
    pub fn counters(&mut self) -> Result<Counters, ClientError> {
        let loop_status = self.read(regs::LOOP_STATUS)?;
        let c = self.read_block(regs::COUNTERS, 2 * COUNTER_COUNT as usize)?;
        let mut loop_counters = [0u64; COUNTER_COUNT as usize];
        for (i, v) in loop_counters.iter_mut().enumerate() {
            *v = c[2 * i] as u64 | (c[2 * i + 1] as u64) << 32;
        }
        let l = self.read_block(regs::LINK, regs::LINK_WORDS as usize)?;
        let mut link = [0u32; regs::LINK_WORDS as usize];
        link.copy_from_slice(&l);
        Ok(Counters {
            loop_status,
            loop_counters,
            link,
        })
    }
}

/// The client as the firmware's register bus: word addresses of
/// `fiberloop_spec::regs`, bursts for blocks, and polls paced by a
/// [`Backoff`] of device time ([`Transport::pause`]).
impl<T: Transport> RegisterBus for Client<T> {
    type Error = ClientError;

    fn read32(&mut self, addr: u32) -> Result<u32, ClientError> {
        self.read(addr)
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), ClientError> {
        self.write(addr, value)
    }

    fn read_words(&mut self, addr: u32, out: &mut [u32]) -> Result<(), ClientError> {
        let w = self.read_block(addr, out.len())?;
        out.copy_from_slice(&w);
        Ok(())
    }

    fn write_words(&mut self, addr: u32, data: &[u32]) -> Result<(), ClientError> {
        self.write_block(addr, data)
    }

    fn idle(&mut self, poll: u32) {
        // The Backoff's sequence: 5 us, doubling, at most 1 ms.
        let us = 5u64 << (poll.saturating_sub(1)).min(8);
        self.pause(Duration::from_micros(us.min(1000)));
    }
}

/// A firmware error from a client operation, as a client error: the
/// client's own errors unwrapped, the rest (a register that never became
/// ready) as [`ClientError::NotReady`].
pub fn firmware_error(e: fiberloop_firmware::Error<ClientError>) -> ClientError {
    match e {
        fiberloop_firmware::Error::Bus(c) => c,
        e => ClientError::NotReady(e.to_string()),
    }
}

/// Little-endian words of `bytes` (length a multiple of 4).
pub fn words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect()
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use super::*;
    use crate::device::engine::{Engine, EngineConfig, RamBackend};
    use crate::device::lossy::{Lossy, LossyConfig};
    use crate::device::model_board::SimTransport;

    fn ram_client() -> Client<SimTransport<RamBackend>> {
        let e = Engine::new(
            RamBackend::new(16, 5000),
            EngineConfig::uart(3_000_000, 100),
        );
        Client::new(SimTransport::new(e, 3_000_000), ClientConfig::default())
    }

    #[test]
    fn bulk_is_split_into_bursts() {
        let mut c = ram_client();
        let data: Vec<u32> = (0..1024u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .collect();
        c.write_block(regs::SCRATCH_MEM, &data).unwrap();
        assert_eq!(c.read_block(regs::SCRATCH_MEM, 1024).unwrap(), data);
        assert_eq!(c.stats().requests, 2, "1024 words in one burst each way");
        // 3000 input words (two int8 each) in 3 bursts, 3000 outputs back
        // in 3 more.
        let pairs: Vec<u32> = (0..3000u32).map(|i| i & 0xFFFF).collect();
        c.write_block(regs::ACT_IN, &pairs).unwrap();
        assert_eq!(c.read_block(regs::ACT_OUT, 3000).unwrap().len(), 3000);
        assert_eq!(c.stats().requests, 8);
        assert_eq!(c.stats().retries, 0);
    }

    #[test]
    fn errors_name_command_address_and_status() {
        let mut c = ram_client();
        let e = c.write(regs::ID, 1).unwrap_err().to_string();
        assert!(e.contains("WRITE of 1 words at 0x00000000"), "{e}");
        assert!(e.contains("BAD_ADDRESS"), "{e}");
        let e = c.write_slot(0, &[0; 10]).unwrap_err().to_string();
        assert!(e.contains("228 bytes, got 10"), "{e}");
    }

    #[test]
    fn lost_replies_name_what_was_lost() {
        // A link that drops everything.
        let t = Lossy::new(
            ram_client().t,
            LossyConfig {
                drop: 1.0,
                corrupt: 0.0,
                seed: 1,
            },
        );
        let mut c = Client::new(
            t,
            ClientConfig {
                timeout: Duration::from_millis(5),
                retries: 2,
                ..Default::default()
            },
        );
        let e = c.read(regs::SCRATCH).unwrap_err().to_string();
        assert!(
            e.contains("no reply to READ of 1 words at 0x00000008 (seq 0) after 3 tries of 5 ms"),
            "{e}"
        );
        assert_eq!(c.stats().retries, 2);
    }

    #[test]
    fn slots_round_trip_and_ping_identifies() {
        let mut c = ram_client();
        let id = c.ping().unwrap();
        assert_eq!(id.max_burst, MAX_BURST_WORDS as u32);
        c.fill().unwrap();
        let p: Vec<u8> = (0..PAYLOAD_BYTES as u32).map(|i| (i * 3) as u8).collect();
        c.write_slot(3, &p).unwrap();
        assert_eq!(c.read_slot(3).unwrap().payload, p);
        let k = c.counters().unwrap();
        assert_eq!(k.loop_counters[regs::counter::IN_FLIGHT as usize], 16);
        assert!(k.link[regs::link::EXECUTED as usize] >= 4);
    }
}

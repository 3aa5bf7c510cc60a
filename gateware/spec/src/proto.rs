//! The host protocol: how the host reads and writes the board's registers,
//! byte by byte, over any byte stream (USB-UART, USB FIFO, TCP, the
//! in-process simulator). The same bytes go over every transport.
//!
//! Made to be cheap in gateware: a fixed 14-byte header, every multi-byte
//! field little-endian (least significant byte first, so a shift register
//! fills it), one byte-serial CRC (CRC-32/ISO-HDLC, the zlib CRC), lengths
//! bounded by [`MAX_BURST_WORDS`], addresses of 32-bit words.
//!
//! # Frame layout (both directions)
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 1 | sync byte 0: [`SYNC0`] = `0xF1` |
//! | 1 | 1 | sync byte 1: [`REQUEST_SYNC1`] = `0x3C` from the host, [`REPLY_SYNC1`] = `0xC3` from the board |
//! | 2 | 1 | sequence number, 0..=255, chosen by the host, echoed by the board |
//! | 3 | 1 | request: command ([`cmd`]); reply: status ([`status`]) |
//! | 4..=7 | 4 | word address, u32 little-endian (address `a` is bytes `4a..4a+3` of the register space) |
//! | 8..=9 | 2 | length in 32-bit words, u16 little-endian |
//! | 10..=13 | 4 | header check: CRC-32 of bytes 2..=9, little-endian |
//! | 14 .. 14+4n | 4n | payload: `n` words, each u32 little-endian (absent when `n` = 0) |
//! | 14+4n .. 18+4n | 4 | payload check: CRC-32 of the payload bytes, little-endian (absent when there is no payload) |
//!
//! Which frames carry a payload, and of how many words `n`:
//! * request [`cmd::WRITE`]: `n` = the length field; no other request has one;
//! * reply: `n` = the length field (read data, or the identification of
//!   [`cmd::PING`]); the board never sends more than [`MAX_BURST_WORDS`].
//!
//! The CRC is CRC-32/ISO-HDLC as in zlib and IEEE 802.3: reflected polynomial
//! `0xEDB88320`, initial value and final XOR `0xFFFFFFFF`; [`crc32`]. The
//! header check covers the 8 header bytes after the sync bytes; the payload
//! check covers only the payload. A WRITE of 1024 words (4 KiB) costs 18
//! bytes of framing (0.44 %) and its reply 14.
//!
//! # Commands
//!
//! | code | name | address | length | request payload | reply payload |
//! |---|---|---|---|---|---|
//! | `0x00` | [`cmd::PING`] | ignored (send 0) | must be 0 | none | [`IDENT_WORDS`] words: registers `regs::IDENT` (ID, version, max burst, slot words) |
//! | `0x01` | [`cmd::READ`] | first word | 1..=[`MAX_BURST_WORDS`] | none | the words read |
//! | `0x02` | [`cmd::WRITE`] | first word | 1..=[`MAX_BURST_WORDS`] | the words | none (acknowledgement) |
//!
//! A burst reads or writes consecutive word addresses `addr, addr+1, ...`.
//! It is checked in full (every word exists, has the access asked for, see
//! `regs`) before any word is acted on. Words are then written in order; a
//! register that refuses a value ([`status::BAD_VALUE`]) stops the burst
//! there, the words before it stay written.
//!
//! # Replies and status codes
//!
//! Every request with a good header check is answered exactly once, with the
//! same sequence number. The reply's address is the request's address, or on
//! an error the address of the first offending word; its length is the
//! number of payload words that follow (0 on every error and for WRITE).
//!
//! | code | name | meaning |
//! |---|---|---|
//! | `0x00` | [`status::OK`] | executed |
//! | `0x01` | [`status::BAD_CRC`] | never sent: a frame whose header or payload check fails is dropped silently (the host times out and retries); the code exists for logs and counters |
//! | `0x02` | [`status::BAD_COMMAND`] | unknown command code |
//! | `0x03` | [`status::BAD_ADDRESS`] | a word of the burst does not exist or lacks the access (read-only, write-only) |
//! | `0x04` | [`status::BAD_LENGTH`] | length 0 for READ/WRITE, more than [`MAX_BURST_WORDS`], or not 0 for PING |
//! | `0x05` | [`status::BUSY`] | a slot operation is still under way; nothing done, try again |
//! | `0x06` | [`status::BAD_VALUE`] | a register refused the value written |
//! | `0x07` | [`status::FAULT`] | the operation failed on the device (e.g. the loop is not running, fill found no loop) |
//!
//! A WRITE longer than [`MAX_BURST_WORDS`] is answered BAD_LENGTH as soon as
//! its header is checked; the receiver then hunts for the next sync, treating
//! the payload that follows as noise.
//!
//! # Retries are idempotent
//!
//! The host keeps the sequence number of a request until it is answered and
//! resends the very same frame when the reply is lost or corrupted; it takes
//! the next number (mod 256) for the next operation. The board remembers the
//! sequence number, header check and payload check of the last request it
//! executed, and, if that was a WRITE, its reply header. A WRITE with the
//! same sequence number and the same two checks as that remembered one is
//! answered with the remembered reply and **not executed again**. Reads are
//! side-effect free and simply executed again. A request that was not
//! executed (BUSY, or any error before acting) is not remembered.
//!
//! # Receiving: resynchronisation and timeouts
//!
//! [`Parser`] is the receiver of either side, a byte-at-a-time state machine
//! the gateware copies: hunt for `SYNC0`, then the direction's `SYNC1`
//! (another `SYNC0` keeps it waiting for `SYNC1`), then 12 header bytes; a
//! failed header check drops the frame and returns to hunting (the header
//! bytes are not rescanned); a good header of a frame with a payload
//! collects the payload and its check, and a failed payload check drops the
//! frame. A dropped frame is never acted on. When more than the partial-frame
//! timeout passes between two bytes of one frame, the partial frame is
//! dropped and the parser hunts again. Time is given by the caller in any
//! unit (word clocks in gateware, microseconds on a host): the parser only
//! compares differences with its timeout.

/// First sync byte of every frame.
pub const SYNC0: u8 = 0xF1;
/// Second sync byte of a request (host to board).
pub const REQUEST_SYNC1: u8 = 0x3C;
/// Second sync byte of a reply (board to host).
pub const REPLY_SYNC1: u8 = 0xC3;
/// Sync bytes plus header fields plus header check, bytes.
pub const HEADER_BYTES: usize = 14;
/// Bytes covered by the header check (offsets 2..=9).
pub const HEADER_FIELD_BYTES: usize = 8;
/// CRC bytes.
pub const CRC_BYTES: usize = 4;
/// Largest burst, words (4 KiB).
pub const MAX_BURST_WORDS: usize = 1024;
/// Largest payload, bytes.
pub const MAX_PAYLOAD_BYTES: usize = MAX_BURST_WORDS * 4;
/// Largest frame, bytes.
pub const MAX_FRAME_BYTES: usize = HEADER_BYTES + MAX_PAYLOAD_BYTES + CRC_BYTES;
/// Words in a PING reply.
pub const IDENT_WORDS: usize = 4;
/// Protocol version (major in bits 15:8, minor in 7:0), reported in the
/// version register.
pub const PROTOCOL_VERSION: u16 = 0x0100;

/// Request commands (header byte 3 of a request).
pub mod cmd {
    /// No operation; the reply carries the identification words.
    pub const PING: u8 = 0x00;
    /// Burst read.
    pub const READ: u8 = 0x01;
    /// Burst write, acknowledged.
    pub const WRITE: u8 = 0x02;

    /// The command's name, for messages.
    pub fn name(code: u8) -> &'static str {
        match code {
            PING => "PING",
            READ => "READ",
            WRITE => "WRITE",
            _ => "unknown command",
        }
    }
}

/// Reply status codes (header byte 3 of a reply).
pub mod status {
    /// Executed.
    pub const OK: u8 = 0x00;
    /// Never sent: frames failing a check are dropped silently.
    pub const BAD_CRC: u8 = 0x01;
    /// Unknown command.
    pub const BAD_COMMAND: u8 = 0x02;
    /// A word does not exist or lacks the access.
    pub const BAD_ADDRESS: u8 = 0x03;
    /// Length out of range for the command.
    pub const BAD_LENGTH: u8 = 0x04;
    /// A slot operation is under way; nothing was done.
    pub const BUSY: u8 = 0x05;
    /// A register refused the value written.
    pub const BAD_VALUE: u8 = 0x06;
    /// The operation failed on the device.
    pub const FAULT: u8 = 0x07;

    /// The status's name, for messages.
    pub fn name(code: u8) -> &'static str {
        match code {
            OK => "OK",
            BAD_CRC => "BAD_CRC",
            BAD_COMMAND => "BAD_COMMAND",
            BAD_ADDRESS => "BAD_ADDRESS",
            BAD_LENGTH => "BAD_LENGTH",
            BUSY => "BUSY",
            BAD_VALUE => "BAD_VALUE",
            FAULT => "FAULT",
            _ => "unknown status",
        }
    }
}

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Byte-serial CRC-32/ISO-HDLC (zlib): feed bytes one at a time, as the
/// gateware does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    /// The initial state.
    pub const fn new() -> Self {
        Self(0xFFFF_FFFF)
    }
    /// Adds one byte.
    pub fn byte(&mut self, b: u8) {
        self.0 = CRC_TABLE[((self.0 ^ b as u32) & 0xFF) as usize] ^ (self.0 >> 8);
    }
    /// Adds bytes.
    pub fn bytes(&mut self, bs: &[u8]) {
        for &b in bs {
            self.byte(b);
        }
    }
    /// The CRC of the bytes so far.
    pub fn value(&self) -> u32 {
        !self.0
    }
}

/// CRC-32/ISO-HDLC (zlib's `crc32`) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.bytes(bytes);
    c.value()
}

/// Which way a frame travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Host to board.
    Request,
    /// Board to host.
    Reply,
}

impl Direction {
    /// The second sync byte of this direction.
    pub fn sync1(self) -> u8 {
        match self {
            Direction::Request => REQUEST_SYNC1,
            Direction::Reply => REPLY_SYNC1,
        }
    }
}

/// The header fields of a frame (bytes 2..=9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Sequence number.
    pub seq: u8,
    /// Command (request) or status (reply).
    pub code: u8,
    /// Word address.
    pub addr: u32,
    /// Length, words.
    pub len: u16,
}

impl Header {
    /// The 8 header field bytes.
    pub fn field_bytes(&self) -> [u8; HEADER_FIELD_BYTES] {
        let a = self.addr.to_le_bytes();
        let l = self.len.to_le_bytes();
        [self.seq, self.code, a[0], a[1], a[2], a[3], l[0], l[1]]
    }

    /// Decodes the 8 header field bytes.
    pub fn from_field_bytes(b: &[u8; HEADER_FIELD_BYTES]) -> Self {
        Header {
            seq: b[0],
            code: b[1],
            addr: u32::from_le_bytes([b[2], b[3], b[4], b[5]]),
            len: u16::from_le_bytes([b[6], b[7]]),
        }
    }

    /// The header check of these fields.
    pub fn check(&self) -> u32 {
        crc32(&self.field_bytes())
    }

    /// The whole 14-byte header of a frame in direction `dir`.
    pub fn encode(&self, dir: Direction) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        out[0] = SYNC0;
        out[1] = dir.sync1();
        out[2..10].copy_from_slice(&self.field_bytes());
        out[10..14].copy_from_slice(&self.check().to_le_bytes());
        out
    }

    /// Payload words that follow this header in direction `dir`, as the
    /// receiver computes it, or `None` when the frame ends at the header.
    /// Lengths beyond [`MAX_BURST_WORDS`] give `None` too: the receiver
    /// does not collect such a payload.
    pub fn payload_words(&self, dir: Direction) -> Option<usize> {
        let n = self.len as usize;
        let has = match dir {
            Direction::Request => self.code == cmd::WRITE,
            Direction::Reply => true,
        };
        (has && n > 0 && n <= MAX_BURST_WORDS).then_some(n)
    }
}

/// Error building a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The output buffer is smaller than the frame.
    BufferTooSmall {
        /// Bytes the frame needs.
        need: usize,
    },
    /// The payload does not match the header's length for this direction.
    PayloadLength {
        /// Bytes the header calls for.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EncodeError::BufferTooSmall { need } => {
                write!(f, "frame needs {need} bytes, buffer is smaller")
            }
            EncodeError::PayloadLength { expected, got } => write!(
                f,
                "header calls for a payload of {expected} bytes, got {got}"
            ),
        }
    }
}

/// Writes a frame (header, payload bytes, payload check) into `out` and
/// returns its length. `payload` is the payload as bytes (words already
/// little-endian); it must be exactly the length the header implies for
/// `dir` ([`Header::payload_words`]).
pub fn encode(
    dir: Direction,
    h: &Header,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let expected = h.payload_words(dir).map_or(0, |n| n * 4);
    if payload.len() != expected {
        return Err(EncodeError::PayloadLength {
            expected,
            got: payload.len(),
        });
    }
    let need = frame_len(dir, h);
    if out.len() < need {
        return Err(EncodeError::BufferTooSmall { need });
    }
    out[..HEADER_BYTES].copy_from_slice(&h.encode(dir));
    if expected > 0 {
        out[HEADER_BYTES..HEADER_BYTES + expected].copy_from_slice(payload);
        out[HEADER_BYTES + expected..need].copy_from_slice(&crc32(payload).to_le_bytes());
    }
    Ok(need)
}

/// Length in bytes of the frame with header `h` in direction `dir`.
pub fn frame_len(dir: Direction, h: &Header) -> usize {
    match h.payload_words(dir) {
        Some(n) => HEADER_BYTES + 4 * n + CRC_BYTES,
        None => HEADER_BYTES,
    }
}

/// Why the receiver dropped bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The header check failed.
    HeaderCrc,
    /// The payload check failed (header of the dropped frame given).
    PayloadCrc(Header),
    /// A reply header announced more than [`MAX_BURST_WORDS`] words.
    ReplyTooLong(Header),
    /// The partial-frame timeout passed between two bytes of a frame.
    Timeout,
}

/// What one byte (or the passing of time) completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A frame passed its checks. Its payload is [`Parser::payload`] until
    /// the next call to [`Parser::push`].
    Frame(Header),
    /// A frame, or the start of one, was dropped.
    Dropped(DropReason),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Hunt,
    Sync1,
    Header,
    Payload,
    PayloadCrc,
}

/// Receiver of one direction: a byte-serial state machine with a payload
/// buffer of [`MAX_PAYLOAD_BYTES`]. See the module documentation.
#[derive(Clone)]
pub struct Parser {
    dir: Direction,
    timeout: u64,
    state: State,
    last: u64,
    header: [u8; HEADER_BYTES - 2],
    hdr: Header,
    count: usize,
    need: usize,
    crc: Crc32,
    crc_rx: [u8; CRC_BYTES],
    buf: [u8; MAX_PAYLOAD_BYTES],
    hunted: u64,
}

impl Parser {
    /// A receiver for `dir` that drops a partial frame when more than
    /// `timeout` time units pass between two of its bytes.
    pub fn new(dir: Direction, timeout: u64) -> Self {
        Parser {
            dir,
            timeout,
            state: State::Hunt,
            last: 0,
            header: [0; HEADER_BYTES - 2],
            hdr: Header {
                seq: 0,
                code: 0,
                addr: 0,
                len: 0,
            },
            count: 0,
            need: 0,
            crc: Crc32::new(),
            crc_rx: [0; CRC_BYTES],
            buf: [0; MAX_PAYLOAD_BYTES],
            hunted: 0,
        }
    }

    /// The direction received.
    pub fn direction(&self) -> Direction {
        self.dir
    }

    /// Bytes skipped while hunting for a sync (noise, or frames of the other
    /// direction).
    pub fn hunted_bytes(&self) -> u64 {
        self.hunted
    }

    /// True between a sync and the end of its frame.
    pub fn in_frame(&self) -> bool {
        !matches!(self.state, State::Hunt | State::Sync1)
    }

    /// The payload of the last [`Event::Frame`] (empty if it had none).
    pub fn payload(&self) -> &[u8] {
        if self.state == State::Hunt && self.need > 0 {
            &self.buf[..self.need]
        } else {
            &[]
        }
    }

    /// Tells the parser that it is now `now` with no new byte: drops a
    /// partial frame whose last byte is older than the timeout.
    pub fn poll(&mut self, now: u64) -> Option<Event> {
        if self.state != State::Hunt && now.saturating_sub(self.last) > self.timeout {
            let was_frame = self.in_frame();
            self.reset();
            if was_frame {
                return Some(Event::Dropped(DropReason::Timeout));
            }
        }
        None
    }

    fn reset(&mut self) {
        self.state = State::Hunt;
        self.need = 0;
    }

    /// Receives one byte at time `now`.
    pub fn push(&mut self, b: u8, now: u64) -> Option<Event> {
        let timed_out = self.poll(now);
        self.last = now;
        let ev = self.step(b);
        // A byte that follows a timeout can only start a frame, never end one.
        timed_out.or(ev)
    }

    fn step(&mut self, b: u8) -> Option<Event> {
        match self.state {
            State::Hunt => {
                self.need = 0;
                if b == SYNC0 {
                    self.state = State::Sync1;
                } else {
                    self.hunted += 1;
                }
                None
            }
            State::Sync1 => {
                if b == self.dir.sync1() {
                    self.state = State::Header;
                    self.count = 0;
                } else if b != SYNC0 {
                    self.hunted += 2;
                    self.state = State::Hunt;
                } else {
                    self.hunted += 1;
                }
                None
            }
            State::Header => {
                self.header[self.count] = b;
                self.count += 1;
                if self.count < HEADER_BYTES - 2 {
                    return None;
                }
                let mut f = [0u8; HEADER_FIELD_BYTES];
                f.copy_from_slice(&self.header[..HEADER_FIELD_BYTES]);
                let h = Header::from_field_bytes(&f);
                let rx = u32::from_le_bytes([
                    self.header[8],
                    self.header[9],
                    self.header[10],
                    self.header[11],
                ]);
                if rx != h.check() {
                    self.reset();
                    return Some(Event::Dropped(DropReason::HeaderCrc));
                }
                self.hdr = h;
                if self.dir == Direction::Reply && h.len as usize > MAX_BURST_WORDS {
                    self.reset();
                    return Some(Event::Dropped(DropReason::ReplyTooLong(h)));
                }
                match h.payload_words(self.dir) {
                    Some(n) => {
                        self.need = 4 * n;
                        self.count = 0;
                        self.crc = Crc32::new();
                        self.state = State::Payload;
                        None
                    }
                    None => {
                        self.reset();
                        Some(Event::Frame(h))
                    }
                }
            }
            State::Payload => {
                self.buf[self.count] = b;
                self.crc.byte(b);
                self.count += 1;
                if self.count == self.need {
                    self.count = 0;
                    self.state = State::PayloadCrc;
                }
                None
            }
            State::PayloadCrc => {
                self.crc_rx[self.count] = b;
                self.count += 1;
                if self.count < CRC_BYTES {
                    return None;
                }
                self.state = State::Hunt;
                if u32::from_le_bytes(self.crc_rx) == self.crc.value() {
                    // `need` stays set so `payload()` shows the payload.
                    Some(Event::Frame(self.hdr))
                } else {
                    self.need = 0;
                    Some(Event::Dropped(DropReason::PayloadCrc(self.hdr)))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(dir: Direction, h: Header, payload: &[u8]) -> ([u8; MAX_FRAME_BYTES], usize) {
        let mut out = [0u8; MAX_FRAME_BYTES];
        let n = encode(dir, &h, payload, &mut out).unwrap();
        (out, n)
    }

    fn feed(p: &mut Parser, bytes: &[u8], t0: u64) -> ([Option<Event>; 8], usize) {
        let mut evs = [None; 8];
        let mut k = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if let Some(e) = p.push(b, t0 + i as u64) {
                evs[k] = Some(e);
                k += 1;
            }
        }
        (evs, k)
    }

    const W: Header = Header {
        seq: 7,
        code: cmd::WRITE,
        addr: 0x1234_5678,
        len: 2,
    };

    #[test]
    fn crc32_is_zlibs() {
        // The CRC-32 check value of the catalogue ("123456789").
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn write_frame_bytes_are_as_documented() {
        let (f, n) = frame(Direction::Request, W, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(n, 14 + 8 + 4);
        assert_eq!(
            &f[..10],
            &[0xF1, 0x3C, 7, 0x02, 0x78, 0x56, 0x34, 0x12, 2, 0]
        );
        assert_eq!(&f[10..14], &crc32(&f[2..10]).to_le_bytes());
        assert_eq!(&f[14..22], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&f[22..26], &crc32(&[1, 2, 3, 4, 5, 6, 7, 8]).to_le_bytes());
    }

    #[test]
    fn read_request_has_no_payload_but_its_reply_does() {
        let h = Header {
            code: cmd::READ,
            ..W
        };
        assert_eq!(frame_len(Direction::Request, &h), HEADER_BYTES);
        assert_eq!(frame_len(Direction::Reply, &h), HEADER_BYTES + 8 + 4);
        assert_eq!(
            encode(Direction::Request, &h, &[0; 8], &mut [0; 64]),
            Err(EncodeError::PayloadLength {
                expected: 0,
                got: 8
            })
        );
        assert_eq!(
            encode(Direction::Request, &W, &[0; 8], &mut [0; 20]),
            Err(EncodeError::BufferTooSmall { need: 26 })
        );
    }

    #[test]
    fn parser_takes_a_frame_after_garbage_and_false_syncs() {
        let (f, n) = frame(Direction::Request, W, &[9; 8]);
        let mut p = Parser::new(Direction::Request, 100);
        let (_, k) = feed(&mut p, &[0, SYNC0, 0x55, SYNC0, SYNC0], 0);
        assert_eq!(k, 0);
        let (evs, k) = feed(&mut p, &f[..n], 10);
        assert_eq!(k, 1);
        assert_eq!(evs[0], Some(Event::Frame(W)));
        assert_eq!(p.payload(), &[9; 8]);
        assert_eq!(p.hunted_bytes(), 5, "every garbage byte is counted once");
    }

    #[test]
    fn reply_parser_ignores_requests() {
        let (f, n) = frame(Direction::Request, W, &[9; 8]);
        let mut p = Parser::new(Direction::Reply, 100);
        let (_, k) = feed(&mut p, &f[..n], 0);
        assert_eq!(k, 0);
    }

    #[test]
    fn every_single_byte_corruption_is_dropped_or_ignored() {
        let (f, n) = frame(Direction::Request, W, &[1, 2, 3, 4, 5, 6, 7, 8]);
        for i in 0..n {
            for bit in 0..8 {
                let mut g = f;
                g[i] ^= 1 << bit;
                let mut p = Parser::new(Direction::Request, 1000);
                let (evs, k) = feed(&mut p, &g[..n], 0);
                for e in evs.iter().take(k) {
                    assert!(
                        !matches!(e, Some(Event::Frame(_))),
                        "byte {i} bit {bit}: {e:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn partial_frame_times_out() {
        let (f, n) = frame(Direction::Request, W, &[1; 8]);
        let mut p = Parser::new(Direction::Request, 10);
        feed(&mut p, &f[..n - 3], 0);
        assert!(p.in_frame());
        assert_eq!(p.poll(n as u64), None, "not yet");
        assert_eq!(p.poll(1000), Some(Event::Dropped(DropReason::Timeout)));
        assert!(!p.in_frame());
        // The rest of the frame arriving late is noise; a fresh frame works.
        let (evs, k) = feed(&mut p, &f[n - 3..n], 1001);
        assert_eq!(k, 0, "{evs:?}");
        let (evs, k) = feed(&mut p, &f[..n], 2000);
        assert_eq!((k, evs[0]), (1, Some(Event::Frame(W))));
    }

    #[test]
    fn timeout_reported_by_the_next_byte() {
        let (f, n) = frame(Direction::Request, W, &[1; 8]);
        let mut p = Parser::new(Direction::Request, 10);
        feed(&mut p, &f[..5], 0);
        // The frame restarts after a long gap: the old part is dropped, the
        // new frame is received.
        let mut evs = [None; 4];
        let mut k = 0;
        for (i, &b) in f[..n].iter().enumerate() {
            if let Some(e) = p.push(b, 100 + i as u64) {
                evs[k] = Some(e);
                k += 1;
            }
        }
        assert_eq!(k, 2);
        assert_eq!(evs[0], Some(Event::Dropped(DropReason::Timeout)));
        assert_eq!(evs[1], Some(Event::Frame(W)));
    }

    #[test]
    fn oversized_write_header_is_reported_without_payload() {
        let h = Header {
            len: MAX_BURST_WORDS as u16 + 1,
            ..W
        };
        let mut p = Parser::new(Direction::Request, 10);
        let (evs, k) = feed(&mut p, &h.encode(Direction::Request), 0);
        assert_eq!((k, evs[0]), (1, Some(Event::Frame(h))));
        assert!(p.payload().is_empty());
        let mut r = Parser::new(Direction::Reply, 10);
        let (evs, k) = feed(&mut r, &h.encode(Direction::Reply), 0);
        assert_eq!(
            (k, evs[0]),
            (1, Some(Event::Dropped(DropReason::ReplyTooLong(h))))
        );
    }

    #[test]
    fn max_burst_round_trips() {
        let mut payload = [0u8; MAX_PAYLOAD_BYTES];
        for (i, b) in payload.iter_mut().enumerate() {
            *b = (i * 7) as u8;
        }
        let h = Header {
            len: MAX_BURST_WORDS as u16,
            ..W
        };
        let (f, n) = frame(Direction::Request, h, &payload);
        assert_eq!(n, MAX_FRAME_BYTES);
        let mut p = Parser::new(Direction::Request, 10);
        let (evs, k) = feed(&mut p, &f[..n], 0);
        assert_eq!((k, evs[0]), (1, Some(Event::Frame(h))));
        assert_eq!(p.payload(), &payload[..]);
    }
}

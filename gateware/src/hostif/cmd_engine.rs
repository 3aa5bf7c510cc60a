//! `CmdEngine`: the board side of the host protocol (`fiberloop_spec::proto`)
//! in gateware: request bytes in, reply bytes out, a simple register bus to
//! the register file of `fiberloop_spec::regs`.

use super::crc32_byte::Crc32Byte;
use super::region_check::RegionCheck;
use crate::bundles::{ByteOut, HostBus, LinkEvents};
use fiberloop_spec::proto::{cmd, status, MAX_BURST_WORDS, REPLY_SYNC1, REQUEST_SYNC1, SYNC0};
use fiberloop_spec::regs;
use rust_hdl::prelude::*;

/// Receiver states (the states of `fiberloop_spec::proto::Parser`).
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum RecvState {
    /// Hunting for `SYNC0`.
    Hunt,
    /// `SYNC0` seen, waiting for the request `SYNC1`.
    Sync1,
    /// The 12 header bytes after the sync.
    Header,
    /// WRITE payload bytes.
    Payload,
    /// The 4 payload check bytes.
    PayloadCrc,
}

/// Executor states.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum ExecState {
    /// Waiting for a checked frame.
    Idle,
    /// Replay, command and length checks.
    Decode,
    /// Address check, one word per clock, no side effect.
    Check,
    /// WRITE: payload word being read from the buffer RAM.
    WrRead,
    /// WRITE: the word from the RAM into the bus data register.
    WrLoad,
    /// WRITE: the word goes out on the bus.
    WrBus,
    /// WRITE: the bus status of the word.
    WrAck,
    /// Load the reply header fields.
    HdrLoad,
    /// Reply header bytes.
    Hdr,
    /// READ/PING: bus read strobe.
    RdReq,
    /// READ/PING: bus read data and status arrive; the word goes to the RAM.
    RdAck,
    /// Reply payload: RAM read address.
    RamRd,
    /// Reply payload: RAM data into the output shift register.
    RdLoad,
    /// READ/PING: the 4 bytes of the word.
    RdBytes,
    /// The 4 reply payload check bytes.
    CrcOut,
    /// Remember an executed request.
    Done,
}

/// The command engine of the host protocol: byte stream in, byte stream
/// out, register bus out. Behaves byte for byte as the host-side model
/// (`host/src/device/engine.rs`); its transaction-level model here is
/// [`EngineModel`].
///
/// **Receiver** (always running, one byte per clock at most): the
/// `Parser` state machine of `fiberloop_spec::proto` (sync hunt, `SYNC0`
/// repeats, header check, WRITE payload into a 1024 x 32 buffer RAM with
/// its check, partial-frame timeout of `timeout_clocks` clocks of silence
/// between two bytes of a frame: a byte arriving more than `timeout_clocks`
/// clocks after the previous one starts over in the hunt). The header and
/// payload checks are compared byte by byte as they arrive (byte-serial
/// CRC-32, [`Crc32Byte`]); a frame failing a check is dropped silently and
/// never reaches the executor.
///
/// **Executor**, for each checked frame: a WRITE with the sequence number,
/// header check and payload check of the last executed request, if that was
/// a WRITE, is answered with the remembered reply and not executed;
/// otherwise command and length checks (BAD_COMMAND, BAD_LENGTH), then the
/// whole burst is checked word by word against the register map
/// ([`RegionCheck`], 1 clock per word, no bus activity: BAD_ADDRESS with the
/// first offending word), then a WRITE is executed word by word (4 clocks
/// per word: RAM read, data register, strobe, status) and acknowledged; a READ or PING reads its words into the
/// buffer RAM (2 clocks per word; PING reads the 4 words from
/// `regs::IDENT`), then answers with them. A word the bus refuses
/// (`bus.status`) stops the burst: the reply carries that status and
/// that word's address, no payload; the words before stay written. Requests
/// answered OK, BAD_VALUE or FAULT count as executed and are remembered
/// (BUSY and the check errors are not).
///
/// **Bus timing contract**: `bus.we` is a one-clock strobe with `bus.addr`
/// and `bus.wdata`; `bus.re` is a one-clock strobe with `bus.addr`, and the
/// bus must present the word on `bus.rdata` in the next clock. After every
/// strobe, in the next clock, the bus answers on `bus.status`: 0 (OK) or
/// a refusal (`status::BUSY`, `BAD_VALUE`, `FAULT`); a refused write must
/// have no effect. `bus.rdata` and `bus.status` are ignored in other
/// clocks. Strobes are at least one clock apart (writes: every 4th clock,
/// reads: every 2nd); words go in burst order; every strobe is for a word
/// the register map allows (RW for writes, RO/RW for reads). PING ignores
/// the status of its reads.
///
/// **Output**: `reply.data`/`reply.valid` with `reply.ready`; a byte moves in a
/// clock with both high; `reply.valid` stays high and `reply.data` stable until
/// then.
///
/// Latency: the first reply byte is on `reply.data` 4 clocks after the clock
/// of the last request byte, plus `3 len` for READ (address check, then 2
/// clocks per word read into the buffer RAM), `5 len` for WRITE (check,
/// then 4 clocks per word written), 8 for PING; each reply payload word
/// then costs 2 clocks plus 4 output transfers. Throughput: the
/// receiver takes a byte every clock. A request whose frame completes
/// while the previous one is still executing or being answered is dropped
/// (`overrun_out`), and a WRITE payload received during the execution of a
/// WRITE may overwrite the buffer: the host must wait for each reply (as
/// the protocol's host does).
/// Reset: none; power-up state is hunting with nothing remembered.
#[derive(LogicBlock)]
pub struct CmdEngine {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Request byte.
    pub data_in: Signal<In, Bits<8>>,
    /// `data_in` holds a byte this clock (no back-pressure).
    pub valid_in: Signal<In, Bit>,
    /// Reply bytes (see **Output**).
    pub reply: ByteOut,
    /// Register bus (see **Bus timing contract**): `addr`, `wdata`, `we`,
    /// `re` out; `rdata` and `status` (`status::OK` (0), or the refusal
    /// `status::BUSY`, `BAD_VALUE` or `FAULT` of the access strobed in the
    /// previous clock; sampled only then) in.
    pub bus: HostBus,
    /// Strobes for the link counters: a frame dropped for its header or
    /// payload check or by the timeout, a retried WRITE answered from
    /// memory, a request executed (OK), a reply with a status other than OK
    /// (replays not included), bytes skipped while hunting in the previous
    /// clock (0, 1 or 2, as `Parser::hunted_bytes` counts them).
    pub events: LinkEvents,
    /// Strobe: a checked frame was lost, the executor was busy.
    pub overrun_out: Signal<Out, Bit>,
    /// Between frames: hunting with no sync byte seen, no checked frame
    /// waiting, the executor idle (every reply byte taken). A byte from
    /// another link may start a frame now without mixing with one in
    /// progress.
    pub idle_out: Signal<Out, Bit>,
    // Sub-blocks.
    rx_step: Crc32Byte,
    tx_step: Crc32Byte,
    region: RegionCheck,
    pay_ram: RAM<Bits<32>, 10>,
    // Receiver.
    rx_cur: Signal<Local, RecvState>,
    rx_crc_n: Signal<Local, Bits<32>>,
    tx_crc_n: Signal<Local, Bits<32>>,
    rx_state: DFF<RecvState>,
    rx_count: DFF<Bits<13>>,
    rx_need: DFF<Bits<13>>,
    rx_crc: DFF<Bits<32>>,
    rx_ok: DFF<Bit>,
    hdr: DFF<Bits<64>>,
    hcheck: DFF<Bits<32>>,
    pcheck: DFF<Bits<32>>,
    acc: DFF<Bits<24>>,
    silence: DFF<Bits<32>>,
    /// `silence >= timeout_clocks`, kept in step with `silence` (the compare is
    /// off the receiver's path).
    quiet: DFF<Bit>,
    pending: DFF<Bit>,
    hdr_drop_q: DFF<Bit>,
    pay_drop_q: DFF<Bit>,
    timeout_q: DFF<Bit>,
    overrun_q: DFF<Bit>,
    hunted_q: DFF<Bits<2>>,
    // Executor.
    ex_state: DFF<ExecState>,
    ex_seq: DFF<Bits<8>>,
    ex_code: DFF<Bits<8>>,
    ex_addr: DFF<Bits<32>>,
    ex_len: DFF<Bits<16>>,
    ex_hcheck: DFF<Bits<32>>,
    ex_pcheck: DFF<Bits<32>>,
    wdata: DFF<Bits<32>>,
    lenm1: DFF<Bits<16>>,
    ptr: DFF<Bits<32>>,
    /// The access the command asks for is allowed at `ptr` (the region
    /// check of `ptr`, registered: computed in the clock before from the
    /// address `ptr` takes next, so the check is off the state's path).
    addr_ok: DFF<Bit>,
    /// The address the region check looks at: the command's address in
    /// `Decode`, `ptr + 1` in `Check` (counts up by itself).
    chk_addr: DFF<Bits<32>>,
    cnt: DFF<Bits<16>>,
    rep_status: DFF<Bits<8>>,
    rep_addr: DFF<Bits<32>>,
    rep_len: DFF<Bits<16>>,
    executed: DFF<Bit>,
    out_sr: DFF<Bits<64>>,
    out_idx: DFF<Bits<4>>,
    byte_i: DFF<Bits<2>>,
    word: DFF<Bits<32>>,
    tx_crc: DFF<Bits<32>>,
    last_valid: DFF<Bit>,
    last_write: DFF<Bit>,
    last_seq: DFF<Bits<8>>,
    last_hcheck: DFF<Bits<32>>,
    last_pcheck: DFF<Bits<32>>,
    last_addr: DFF<Bits<32>>,
    last_status: DFF<Bits<8>>,
    replay_q: DFF<Bit>,
    executed_q: DFF<Bit>,
    // Constants.
    timeout_m1: Constant<Bits<32>>,
    sync0: Constant<Bits<8>>,
    req_sync1: Constant<Bits<8>>,
    rep_sync1: Constant<Bits<8>>,
    crc_init: Constant<Bits<32>>,
    cmd_ping: Constant<Bits<8>>,
    cmd_read: Constant<Bits<8>>,
    cmd_write: Constant<Bits<8>>,
    st_ok: Constant<Bits<8>>,
    st_bad_command: Constant<Bits<8>>,
    st_bad_address: Constant<Bits<8>>,
    st_bad_length: Constant<Bits<8>>,
    st_bad_value: Constant<Bits<8>>,
    st_fault: Constant<Bits<8>>,
    max_burst: Constant<Bits<16>>,
    ident: Constant<Bits<32>>,
    ident_m1: Constant<Bits<16>>,
    ident_words: Constant<Bits<16>>,
}

impl CmdEngine {
    /// An engine dropping a partial frame after more than `timeout_clocks`
    /// clocks of silence between two of its bytes.
    pub fn new(timeout_clocks: u32) -> Self {
        assert!((1..u32::MAX).contains(&timeout_clocks));
        let k8 = |v: u8| Constant::new((v as u64).to_bits());
        Self {
            clock: Default::default(),
            data_in: Default::default(),
            valid_in: Default::default(),
            reply: Default::default(),
            bus: Default::default(),
            events: Default::default(),
            overrun_out: Default::default(),
            idle_out: Default::default(),
            rx_step: Default::default(),
            tx_step: Default::default(),
            region: Default::default(),
            pay_ram: Default::default(),
            rx_cur: Default::default(),
            rx_crc_n: Default::default(),
            tx_crc_n: Default::default(),
            rx_state: Default::default(),
            rx_count: Default::default(),
            rx_need: Default::default(),
            rx_crc: Default::default(),
            rx_ok: Default::default(),
            hdr: Default::default(),
            hcheck: Default::default(),
            pcheck: Default::default(),
            acc: Default::default(),
            silence: Default::default(),
            quiet: Default::default(),
            pending: Default::default(),
            hdr_drop_q: Default::default(),
            pay_drop_q: Default::default(),
            timeout_q: Default::default(),
            overrun_q: Default::default(),
            hunted_q: Default::default(),
            ex_state: Default::default(),
            ex_seq: Default::default(),
            ex_code: Default::default(),
            ex_addr: Default::default(),
            ex_len: Default::default(),
            ex_hcheck: Default::default(),
            ex_pcheck: Default::default(),
            wdata: Default::default(),
            lenm1: Default::default(),
            ptr: Default::default(),
            addr_ok: Default::default(),
            chk_addr: Default::default(),
            cnt: Default::default(),
            rep_status: Default::default(),
            rep_addr: Default::default(),
            rep_len: Default::default(),
            executed: Default::default(),
            out_sr: Default::default(),
            out_idx: Default::default(),
            byte_i: Default::default(),
            word: Default::default(),
            tx_crc: Default::default(),
            last_valid: Default::default(),
            last_write: Default::default(),
            last_seq: Default::default(),
            last_hcheck: Default::default(),
            last_pcheck: Default::default(),
            last_addr: Default::default(),
            last_status: Default::default(),
            replay_q: Default::default(),
            executed_q: Default::default(),
            timeout_m1: Constant::new(((timeout_clocks - 1) as u64).to_bits()),
            sync0: k8(SYNC0),
            req_sync1: k8(REQUEST_SYNC1),
            rep_sync1: k8(REPLY_SYNC1),
            crc_init: Constant::new(0xFFFF_FFFFu64.to_bits()),
            cmd_ping: k8(cmd::PING),
            cmd_read: k8(cmd::READ),
            cmd_write: k8(cmd::WRITE),
            st_ok: k8(status::OK),
            st_bad_command: k8(status::BAD_COMMAND),
            st_bad_address: k8(status::BAD_ADDRESS),
            st_bad_length: k8(status::BAD_LENGTH),
            st_bad_value: k8(status::BAD_VALUE),
            st_fault: k8(status::FAULT),
            max_burst: Constant::new((MAX_BURST_WORDS as u64).to_bits()),
            ident: Constant::new((regs::IDENT as u64).to_bits()),
            ident_m1: Constant::new(((fiberloop_spec::proto::IDENT_WORDS - 1) as u64).to_bits()),
            ident_words: Constant::new((fiberloop_spec::proto::IDENT_WORDS as u64).to_bits()),
        }
    }
}

// Parentheses around mixed expressions are required: rust-hdl 0.46 emits
// Verilog without them, where the precedence differs from Rust's.
#[allow(unused_parens)]
impl Logic for CmdEngine {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            rx_state,
            rx_count,
            rx_need,
            rx_crc,
            rx_ok,
            hdr,
            hcheck,
            pcheck,
            acc,
            silence,
            quiet,
            pending,
            hdr_drop_q,
            pay_drop_q,
            timeout_q,
            overrun_q,
            hunted_q,
            ex_state,
            ex_seq,
            ex_code,
            ex_addr,
            ex_len,
            ex_hcheck,
            ex_pcheck,
            wdata,
            lenm1,
            ptr,
            addr_ok,
            chk_addr,
            cnt,
            rep_status,
            rep_addr,
            rep_len,
            executed,
            out_sr,
            out_idx,
            byte_i,
            word,
            tx_crc,
            last_valid,
            last_write,
            last_seq,
            last_hcheck,
            last_pcheck,
            last_addr,
            last_status,
            replay_q,
            executed_q
        );
        self.pay_ram.read_clock.next = self.clock.val();
        self.pay_ram.write_clock.next = self.clock.val();
        // ---------------- receiver ----------------
        self.rx_crc_n.next = !self.rx_crc.q.val();
        self.tx_crc_n.next = !self.tx_crc.q.val();
        // `pending`: one-clock strobe, a checked frame is in `hdr`,
        // `hcheck`, `pcheck`.
        self.pending.d.next = false;
        self.rx_step.state_in.next = self.rx_crc.q.val();
        self.rx_step.data_in.next = self.data_in.val();
        self.pay_ram.write_address.next = self.rx_count.q.val().get_bits::<10>(2);
        self.pay_ram.write_data.next =
            (bit_cast::<32, 8>(self.data_in.val()) << 24) | bit_cast::<32, 24>(self.acc.q.val());
        self.pay_ram.write_enable.next = false;
        self.hdr_drop_q.d.next = false;
        self.pay_drop_q.d.next = false;
        self.timeout_q.d.next = false;
        self.overrun_q.d.next = false;
        self.hunted_q.d.next = 0.into();
        // Silence: clocks since the last byte, saturating at the timeout.
        // `quiet` follows: it rises with the count reaching the timeout.
        if self.valid_in.val() {
            self.silence.d.next = 0.into();
            self.quiet.d.next = false;
        } else if !self.quiet.q.val() {
            self.silence.d.next = self.silence.q.val() + 1;
            self.quiet.d.next = self.silence.q.val() == self.timeout_m1.val();
        }
        // More than `timeout` clocks since the last byte: back to the hunt.
        self.rx_cur.next = self.rx_state.q.val();
        if (self.rx_state.q.val() != RecvState::Hunt) && self.quiet.q.val() {
            self.rx_cur.next = RecvState::Hunt;
            self.rx_state.d.next = RecvState::Hunt;
            if (self.rx_state.q.val() != RecvState::Sync1) {
                self.timeout_q.d.next = true;
            }
        }
        if self.valid_in.val() {
            match self.rx_cur.val() {
                RecvState::Hunt => {
                    if (self.data_in.val() == self.sync0.val()) {
                        self.rx_state.d.next = RecvState::Sync1;
                    } else {
                        self.hunted_q.d.next = 1.into();
                    }
                }
                RecvState::Sync1 => {
                    if (self.data_in.val() == self.req_sync1.val()) {
                        self.rx_state.d.next = RecvState::Header;
                        self.rx_count.d.next = 0.into();
                        self.rx_crc.d.next = self.crc_init.val();
                        self.rx_ok.d.next = true;
                    } else if (self.data_in.val() != self.sync0.val()) {
                        self.rx_state.d.next = RecvState::Hunt;
                        self.hunted_q.d.next = 2.into();
                    } else {
                        self.rx_state.d.next = RecvState::Sync1;
                        self.hunted_q.d.next = 1.into();
                    }
                }
                RecvState::Header => {
                    self.rx_state.d.next = RecvState::Header;
                    self.rx_count.d.next = self.rx_count.q.val() + 1;
                    if (self.rx_count.q.val() < 8) {
                        self.hdr.d.next =
                            (self.hdr.q.val() >> 8) | (bit_cast::<64, 8>(self.data_in.val()) << 56);
                        self.rx_crc.d.next = self.rx_step.state_out.val();
                    } else {
                        self.hcheck.d.next = (self.hcheck.q.val() >> 8)
                            | (bit_cast::<32, 8>(self.data_in.val()) << 24);
                        self.rx_crc.d.next = self.rx_crc.q.val() >> 8;
                        if (self.data_in.val() != self.rx_crc_n.val().get_bits::<8>(0)) {
                            self.rx_ok.d.next = false;
                        }
                        if (self.rx_count.q.val() == 11) {
                            if (!self.rx_ok.q.val())
                                || (self.data_in.val() != self.rx_crc_n.val().get_bits::<8>(0))
                            {
                                self.rx_state.d.next = RecvState::Hunt;
                                self.hdr_drop_q.d.next = true;
                            } else if (self.hdr.q.val().get_bits::<8>(8) == self.cmd_write.val())
                                && (self.hdr.q.val().get_bits::<16>(48) != 0)
                                && (self.hdr.q.val().get_bits::<16>(48) <= self.max_burst.val())
                            {
                                self.rx_state.d.next = RecvState::Payload;
                                self.rx_count.d.next = 0.into();
                                self.rx_need.d.next =
                                    bit_cast::<13, 16>(self.hdr.q.val().get_bits::<16>(48)) << 2;
                                self.rx_crc.d.next = self.crc_init.val();
                                self.rx_ok.d.next = true;
                            } else {
                                self.rx_state.d.next = RecvState::Hunt;
                                self.pcheck.d.next = 0.into();
                                self.pending.d.next = true;
                            }
                        }
                    }
                }
                RecvState::Payload => {
                    self.rx_state.d.next = RecvState::Payload;
                    self.rx_crc.d.next = self.rx_step.state_out.val();
                    self.acc.d.next =
                        (self.acc.q.val() >> 8) | (bit_cast::<24, 8>(self.data_in.val()) << 16);
                    if (self.rx_count.q.val().get_bits::<2>(0) == 3) {
                        self.pay_ram.write_enable.next = true;
                    }
                    self.rx_count.d.next = self.rx_count.q.val() + 1;
                    if (self.rx_count.q.val() == (self.rx_need.q.val() - 1)) {
                        self.rx_count.d.next = 0.into();
                        self.rx_state.d.next = RecvState::PayloadCrc;
                    }
                }
                RecvState::PayloadCrc => {
                    self.rx_state.d.next = RecvState::PayloadCrc;
                    self.pcheck.d.next =
                        (self.pcheck.q.val() >> 8) | (bit_cast::<32, 8>(self.data_in.val()) << 24);
                    self.rx_crc.d.next = self.rx_crc.q.val() >> 8;
                    if (self.data_in.val() != self.rx_crc_n.val().get_bits::<8>(0)) {
                        self.rx_ok.d.next = false;
                    }
                    self.rx_count.d.next = self.rx_count.q.val() + 1;
                    if (self.rx_count.q.val() == 3) {
                        self.rx_state.d.next = RecvState::Hunt;
                        if (!self.rx_ok.q.val())
                            || (self.data_in.val() != self.rx_crc_n.val().get_bits::<8>(0))
                        {
                            self.pay_drop_q.d.next = true;
                        } else {
                            self.pending.d.next = true;
                        }
                    }
                }
                _ => {
                    self.rx_state.d.next = RecvState::Hunt;
                }
            }
        }
        // ---------------- executor ----------------
        self.tx_step.state_in.next = self.tx_crc.q.val();
        self.tx_step.data_in.next = self.out_sr.q.val().get_bits::<8>(0);
        // The region check looks one address ahead: in `Decode` at the
        // burst's first address (which `ptr` takes next), in `Check` at
        // `ptr + 1` (the next address checked; `chk_addr` is loaded with
        // the command and counts up from there); `addr_ok` then holds the
        // check of `ptr` in every clock of `Check`.
        self.region.addr_in.next = self.chk_addr.q.val();
        self.chk_addr.d.next = self.chk_addr.q.val() + 1;
        self.addr_ok.d.next = self.region.readable_out.val();
        if self.ex_code.q.val() == self.cmd_write.val() {
            self.addr_ok.d.next = self.region.writable_out.val();
        }
        self.pay_ram.read_address.next = self.cnt.q.val().get_bits::<10>(0);
        self.bus.addr.next = self.ptr.q.val();
        // Registered: the RAM's output goes through no logic to the bus.
        self.bus.wdata.next = self.wdata.q.val();
        self.bus.we.next = false;
        self.bus.re.next = false;
        self.reply.data.next = self.out_sr.q.val().get_bits::<8>(0);
        self.reply.valid.next = false;
        self.replay_q.d.next = false;
        self.executed_q.d.next = false;
        match self.ex_state.q.val() {
            ExecState::Idle => {
                if self.pending.q.val() {
                    self.ex_seq.d.next = self.hdr.q.val().get_bits::<8>(0);
                    self.ex_code.d.next = self.hdr.q.val().get_bits::<8>(8);
                    self.ex_addr.d.next = self.hdr.q.val().get_bits::<32>(16);
                    self.chk_addr.d.next = self.hdr.q.val().get_bits::<32>(16);
                    self.ex_len.d.next = self.hdr.q.val().get_bits::<16>(48);
                    self.ex_hcheck.d.next = self.hcheck.q.val();
                    self.ex_pcheck.d.next = self.pcheck.q.val();
                    self.ex_state.d.next = ExecState::Decode;
                }
            }
            ExecState::Decode => {
                self.rep_status.d.next = self.st_ok.val();
                self.rep_addr.d.next = self.ex_addr.q.val();
                self.rep_len.d.next = 0.into();
                self.executed.d.next = false;
                self.cnt.d.next = 0.into();
                self.ptr.d.next = self.ex_addr.q.val();
                self.lenm1.d.next = self.ex_len.q.val() - 1;
                self.ex_state.d.next = ExecState::HdrLoad;
                if (self.ex_code.q.val() == self.cmd_write.val())
                    && self.last_valid.q.val()
                    && self.last_write.q.val()
                    && (self.ex_seq.q.val() == self.last_seq.q.val())
                    && (self.ex_hcheck.q.val() == self.last_hcheck.q.val())
                    && (self.ex_pcheck.q.val() == self.last_pcheck.q.val())
                {
                    self.rep_addr.d.next = self.last_addr.q.val();
                    self.rep_status.d.next = self.last_status.q.val();
                    self.replay_q.d.next = true;
                } else if (self.ex_code.q.val() == self.cmd_ping.val()) {
                    if (self.ex_len.q.val() != 0) {
                        self.rep_status.d.next = self.st_bad_length.val();
                    } else {
                        self.ptr.d.next = self.ident.val();
                        self.lenm1.d.next = self.ident_m1.val();
                        self.ex_state.d.next = ExecState::RdReq;
                    }
                } else if (self.ex_code.q.val() == self.cmd_read.val())
                    || (self.ex_code.q.val() == self.cmd_write.val())
                {
                    if (self.ex_len.q.val() == 0) || (self.ex_len.q.val() > self.max_burst.val()) {
                        self.rep_status.d.next = self.st_bad_length.val();
                    } else {
                        self.ex_state.d.next = ExecState::Check;
                    }
                } else {
                    self.rep_status.d.next = self.st_bad_command.val();
                }
            }
            ExecState::Check => {
                if !self.addr_ok.q.val() {
                    self.rep_status.d.next = self.st_bad_address.val();
                    self.rep_addr.d.next = self.ptr.q.val();
                    self.ex_state.d.next = ExecState::HdrLoad;
                } else if (self.cnt.q.val() == self.lenm1.q.val()) {
                    self.ptr.d.next = self.ex_addr.q.val();
                    self.cnt.d.next = 0.into();
                    if (self.ex_code.q.val() == self.cmd_write.val()) {
                        self.ex_state.d.next = ExecState::WrRead;
                    } else {
                        self.ex_state.d.next = ExecState::RdReq;
                    }
                } else {
                    self.ptr.d.next = self.ptr.q.val() + 1;
                    self.cnt.d.next = self.cnt.q.val() + 1;
                }
            }
            ExecState::WrRead => {
                self.ex_state.d.next = ExecState::WrLoad;
            }
            ExecState::WrLoad => {
                self.wdata.d.next = self.pay_ram.read_data.val();
                self.ex_state.d.next = ExecState::WrBus;
            }
            ExecState::WrBus => {
                self.bus.we.next = true;
                self.ex_state.d.next = ExecState::WrAck;
            }
            ExecState::WrAck => {
                self.ptr.d.next = self.ptr.q.val() + 1;
                self.cnt.d.next = self.cnt.q.val() + 1;
                self.ex_state.d.next = ExecState::WrRead;
                if (self.bus.status.val() != self.st_ok.val()) {
                    // Refused: the burst stops here, the words before stay.
                    self.ptr.d.next = self.ptr.q.val();
                    self.rep_status.d.next = self.bus.status.val();
                    self.rep_addr.d.next = self.ptr.q.val();
                    self.executed.d.next = (self.bus.status.val() == self.st_bad_value.val())
                        || (self.bus.status.val() == self.st_fault.val());
                    self.ex_state.d.next = ExecState::HdrLoad;
                } else if (self.cnt.q.val() == self.lenm1.q.val()) {
                    self.executed.d.next = true;
                    self.ex_state.d.next = ExecState::HdrLoad;
                }
            }
            ExecState::HdrLoad => {
                self.out_sr.d.next = bit_cast::<64, 8>(self.ex_seq.q.val())
                    | (bit_cast::<64, 8>(self.rep_status.q.val()) << 8)
                    | (bit_cast::<64, 32>(self.rep_addr.q.val()) << 16)
                    | (bit_cast::<64, 16>(self.rep_len.q.val()) << 48);
                self.tx_crc.d.next = self.crc_init.val();
                self.out_idx.d.next = 0.into();
                self.cnt.d.next = 0.into();
                self.ex_state.d.next = ExecState::Hdr;
            }
            ExecState::Hdr => {
                self.reply.valid.next = true;
                if (self.out_idx.q.val() == 0) {
                    self.reply.data.next = self.sync0.val();
                } else if (self.out_idx.q.val() == 1) {
                    self.reply.data.next = self.rep_sync1.val();
                } else if (self.out_idx.q.val() >= 10) {
                    self.reply.data.next = self.tx_crc_n.val().get_bits::<8>(0);
                }
                if self.reply.ready.val() {
                    self.out_idx.d.next = self.out_idx.q.val() + 1;
                    if (self.out_idx.q.val() >= 10) {
                        self.tx_crc.d.next = self.tx_crc.q.val() >> 8;
                    } else if (self.out_idx.q.val() >= 2) {
                        self.tx_crc.d.next = self.tx_step.state_out.val();
                        self.out_sr.d.next = self.out_sr.q.val() >> 8;
                    }
                    if (self.out_idx.q.val() == 13) {
                        self.tx_crc.d.next = self.crc_init.val();
                        if (self.rep_len.q.val() != 0) {
                            self.ex_state.d.next = ExecState::RamRd;
                        } else {
                            self.ex_state.d.next = ExecState::Done;
                        }
                    }
                }
            }
            ExecState::RdReq => {
                self.bus.re.next = true;
                self.ex_state.d.next = ExecState::RdAck;
            }
            ExecState::RdAck => {
                // The words are read into the RAM first: a refusal can still
                // change the reply header. PING ignores the status.
                self.pay_ram.write_address.next = self.cnt.q.val().get_bits::<10>(0);
                self.pay_ram.write_data.next = self.bus.rdata.val();
                self.pay_ram.write_enable.next = true;
                self.ptr.d.next = self.ptr.q.val() + 1;
                self.cnt.d.next = self.cnt.q.val() + 1;
                self.ex_state.d.next = ExecState::RdReq;
                if (self.bus.status.val() != self.st_ok.val())
                    && (self.ex_code.q.val() != self.cmd_ping.val())
                {
                    self.pay_ram.write_enable.next = false;
                    self.rep_status.d.next = self.bus.status.val();
                    self.rep_addr.d.next = self.ptr.q.val();
                    self.executed.d.next = (self.bus.status.val() == self.st_bad_value.val())
                        || (self.bus.status.val() == self.st_fault.val());
                    self.ex_state.d.next = ExecState::HdrLoad;
                } else if (self.cnt.q.val() == self.lenm1.q.val()) {
                    self.executed.d.next = true;
                    self.rep_len.d.next = self.lenm1.q.val() + 1;
                    self.ex_state.d.next = ExecState::HdrLoad;
                }
            }
            ExecState::RamRd => {
                self.ex_state.d.next = ExecState::RdLoad;
            }
            ExecState::RdLoad => {
                self.out_sr.d.next = bit_cast::<64, 32>(self.pay_ram.read_data.val());
                self.byte_i.d.next = 0.into();
                self.ex_state.d.next = ExecState::RdBytes;
            }
            ExecState::RdBytes => {
                self.reply.valid.next = true;
                if self.reply.ready.val() {
                    self.tx_crc.d.next = self.tx_step.state_out.val();
                    self.out_sr.d.next = self.out_sr.q.val() >> 8;
                    self.byte_i.d.next = self.byte_i.q.val() + 1;
                    if (self.byte_i.q.val() == 3) {
                        self.cnt.d.next = self.cnt.q.val() + 1;
                        if (self.cnt.q.val() == self.lenm1.q.val()) {
                            self.ex_state.d.next = ExecState::CrcOut;
                        } else {
                            self.ex_state.d.next = ExecState::RamRd;
                        }
                    }
                }
            }
            ExecState::CrcOut => {
                self.reply.valid.next = true;
                self.reply.data.next = self.tx_crc_n.val().get_bits::<8>(0);
                if self.reply.ready.val() {
                    self.tx_crc.d.next = self.tx_crc.q.val() >> 8;
                    self.byte_i.d.next = self.byte_i.q.val() + 1;
                    if (self.byte_i.q.val() == 3) {
                        self.ex_state.d.next = ExecState::Done;
                    }
                }
            }
            ExecState::Done => {
                if self.executed.q.val() {
                    self.executed_q.d.next = true;
                    self.last_valid.d.next = true;
                    self.last_write.d.next = (self.ex_code.q.val() == self.cmd_write.val());
                    self.last_seq.d.next = self.ex_seq.q.val();
                    self.last_hcheck.d.next = self.ex_hcheck.q.val();
                    self.last_pcheck.d.next = self.ex_pcheck.q.val();
                    self.last_addr.d.next = self.rep_addr.q.val();
                    self.last_status.d.next = self.rep_status.q.val();
                }
                self.ex_state.d.next = ExecState::Idle;
                // A frame checked in this very clock is taken too.
                if self.pending.q.val() {
                    self.ex_seq.d.next = self.hdr.q.val().get_bits::<8>(0);
                    self.ex_code.d.next = self.hdr.q.val().get_bits::<8>(8);
                    self.ex_addr.d.next = self.hdr.q.val().get_bits::<32>(16);
                    self.ex_len.d.next = self.hdr.q.val().get_bits::<16>(48);
                    self.ex_hcheck.d.next = self.hcheck.q.val();
                    self.ex_pcheck.d.next = self.pcheck.q.val();
                    self.ex_state.d.next = ExecState::Decode;
                }
            }
            _ => {
                self.ex_state.d.next = ExecState::Idle;
            }
        }
        // A checked frame the busy executor cannot take is lost.
        if self.pending.q.val()
            && (self.ex_state.q.val() != ExecState::Idle)
            && (self.ex_state.q.val() != ExecState::Done)
        {
            self.overrun_q.d.next = true;
        }
        self.events.header_crc_drop.next = self.hdr_drop_q.q.val();
        self.events.payload_crc_drop.next = self.pay_drop_q.q.val();
        self.events.timeout_drop.next = self.timeout_q.q.val();
        self.events.replay.next = self.replay_q.q.val();
        self.events.executed.next = self.executed_q.q.val();
        self.overrun_out.next = self.overrun_q.q.val();
        self.events.error_reply.next = (self.ex_state.q.val() == ExecState::HdrLoad)
            & (self.rep_status.q.val() != self.st_ok.val())
            & !self.replay_q.q.val();
        self.idle_out.next = (self.rx_state.q.val() == RecvState::Hunt)
            & !self.pending.q.val()
            & (self.ex_state.q.val() == ExecState::Idle);
        self.events.hunted.next = self.hunted_q.q.val();
    }
}

/// A register bus operation, as the engine issues it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusOp {
    /// `bus.we` with (address, data).
    Write(u32, u32),
    /// `bus.re` with the address.
    Read(u32),
}

/// What the model remembers of the last executed request.
#[derive(Clone, Copy, Debug)]
struct Last {
    seq: u8,
    header_check: u32,
    payload_check: u32,
    /// A WRITE's reply status and address.
    write_status: Option<(u8, u32)>,
}

/// A bus access the register file refused: the status the reply carries
/// (`status::BUSY`, `BAD_VALUE`, `FAULT`, or `BAD_ADDRESS` for a word with
/// no register) and why, for logs.
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

/// The register file behind [`CmdEngine`]'s bus, as a model: what one bus
/// access does. The engine model issues accesses in burst order, one word at
/// a time, only for words the register map allows (`regs::check_burst`).
pub trait BusModel {
    /// One access: `Some(v)` writes `v`, `None` reads. Returns the word read
    /// (anything for a write), or the refusal; a refused access changes
    /// nothing.
    fn access(&mut self, addr: u32, write: Option<u32>) -> Result<u32, Refusal>;
    /// The engine's event counts before the request whose accesses follow
    /// (a register file that counts the engine's strobes keeps them).
    fn events(&mut self, _counts: &EventCounts) {}
}

/// A register file given as a plain memory (word `a` at index `a`) and a
/// [`BusStatusFn`] saying which accesses it refuses: the register file of
/// the engine's own tests.
pub struct MemBus {
    /// The memory.
    pub mem: Vec<u32>,
    /// Which accesses it refuses.
    pub status_fn: BusStatusFn,
}

impl BusModel for MemBus {
    fn access(&mut self, addr: u32, write: Option<u32>) -> Result<u32, Refusal> {
        let st = (self.status_fn)(&self.mem, addr, write);
        if st != status::OK {
            return Err(Refusal::new(st, "refused by the test's status function"));
        }
        match write {
            Some(v) => {
                self.mem[addr as usize] = v;
                Ok(0)
            }
            None => Ok(self.mem[addr as usize]),
        }
    }
}

/// Transaction-level reference model of [`CmdEngine`], on
/// `fiberloop_spec::proto::Parser`, `encode` and `regs::check_burst`, in
/// front of a register file model `R` ([`BusModel`]): the one model of the
/// command engine, used with [`MemBus`] by the engine's own tests and with
/// the register file's model (`crate::top::reg_file_model`) as the model
/// of the whole board's control side (the host's `board=model` simulator
/// and `BoardCore`'s lockstep test). Time is in the unit of the partial-frame
/// timeout given to [`EngineModel::new`] (clocks for the gateware's tests).
pub struct EngineModel<R: BusModel> {
    parser: fiberloop_spec::proto::Parser,
    last: Option<Last>,
    /// The register file behind the bus.
    pub regs: R,
    /// Every bus operation issued, in order (when [`EngineModel::log_bus`]).
    pub bus: Vec<BusOp>,
    /// Whether to record [`EngineModel::bus`].
    pub log_bus: bool,
    /// Bursts stopped by a refusal, by status code.
    pub refusals: [u64; 8],
    /// Retried WRITEs answered from memory.
    pub replays: u64,
    /// Event counts, as the strobes of [`CmdEngine`].
    pub counts: EventCounts,
}

/// The register file's answer to an access: `(mem, addr, Some(value))` for
/// a write, `(mem, addr, None)` for a read; returns the bus status
/// (`status::OK`, or `BUSY` / `BAD_VALUE` / `FAULT`). A refused write does
/// not change `mem`.
pub type BusStatusFn = fn(&[u32], u32, Option<u32>) -> u8;

/// Counts of the engine's events (its `*_out` strobes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// Frames dropped, header check failed.
    pub header_crc: u64,
    /// Frames dropped, payload check failed.
    pub payload_crc: u64,
    /// Partial frames dropped by the timeout.
    pub timeouts: u64,
    /// WRITEs answered from memory.
    pub replays: u64,
    /// Requests executed (OK, BAD_VALUE, FAULT).
    pub executed: u64,
    /// Bytes skipped while hunting for a sync.
    pub hunted: u64,
    /// Replies with a status other than OK (replays not counted).
    pub error_replies: u64,
}

impl EngineModel<MemBus> {
    /// A model of `CmdEngine::new(timeout_clocks)` in front of `mem`.
    pub fn new(timeout_clocks: u32, mem: Vec<u32>, status_fn: BusStatusFn) -> Self {
        Self::with_regs(timeout_clocks as u64, MemBus { mem, status_fn })
    }
}

impl<R: BusModel> EngineModel<R> {
    /// A model of the engine with a partial-frame timeout of `timeout`
    /// time units in front of the register file `regs`.
    pub fn with_regs(timeout: u64, regs: R) -> Self {
        Self {
            parser: fiberloop_spec::proto::Parser::new(
                fiberloop_spec::proto::Direction::Request,
                timeout,
            ),
            last: None,
            regs,
            bus: Vec::new(),
            log_bus: true,
            refusals: [0; 8],
            replays: 0,
            counts: EventCounts::default(),
        }
    }

    /// Time passes to `now` without a byte (drops a timed-out partial
    /// frame).
    pub fn poll(&mut self, now: u64) {
        if self.parser.poll(now).is_some() {
            self.counts.timeouts += 1;
        }
    }

    /// Receives byte `b` at time `now`; appends the reply bytes to `out`.
    pub fn push(&mut self, b: u8, now: u64, out: &mut Vec<u8>) {
        use fiberloop_spec::proto::{DropReason, Event};
        let ev = self.parser.push(b, now);
        self.counts.hunted = self.parser.hunted_bytes();
        match ev {
            Some(Event::Frame(h)) => {
                let payload = self.parser.payload().to_vec();
                self.execute(h, &payload, out);
            }
            Some(Event::Dropped(DropReason::HeaderCrc)) => self.counts.header_crc += 1,
            Some(Event::Dropped(DropReason::PayloadCrc(_))) => self.counts.payload_crc += 1,
            Some(Event::Dropped(DropReason::Timeout)) => self.counts.timeouts += 1,
            _ => {}
        }
    }

    fn reply(&mut self, seq: u8, st: u8, addr: u32, data: &[u32], out: &mut Vec<u8>) {
        use fiberloop_spec::proto::{encode, Direction, Header};
        let rh = Header {
            seq,
            code: st,
            addr,
            len: data.len() as u16,
        };
        let bytes: Vec<u8> = data.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut buf = vec![0u8; fiberloop_spec::proto::MAX_FRAME_BYTES];
        let n = encode(Direction::Reply, &rh, &bytes, &mut buf).unwrap();
        out.extend_from_slice(&buf[..n]);
        if st != status::OK {
            self.counts.error_replies += 1;
            log::debug!(
                "seq {seq}: {} at 0x{addr:08x}",
                fiberloop_spec::proto::status::name(st)
            );
        }
    }

    fn execute(&mut self, h: fiberloop_spec::proto::Header, payload: &[u8], out: &mut Vec<u8>) {
        use fiberloop_spec::proto::crc32;
        let header_check = h.check();
        let payload_check = if payload.is_empty() {
            0
        } else {
            crc32(payload)
        };
        if h.code == cmd::WRITE {
            if let Some(Last {
                seq,
                header_check: hc,
                payload_check: pc,
                write_status: Some((st, a)),
            }) = self.last
            {
                if seq == h.seq && hc == header_check && pc == payload_check {
                    log::debug!("seq {seq} repeated: WRITE answered from memory");
                    self.replays += 1;
                    self.counts.replays += 1;
                    // A replay is not counted as an error reply.
                    let errors = self.counts.error_replies;
                    self.reply(h.seq, st, a, &[], out);
                    self.counts.error_replies = errors;
                    return;
                }
            }
        }
        self.regs.events(&self.counts);
        let len = h.len as usize;
        let mut data = Vec::new();
        match h.code {
            cmd::PING => {
                if len != 0 {
                    return self.reply(h.seq, status::BAD_LENGTH, h.addr, &[], out);
                }
                // The identification words are read, whatever the status.
                for a in 0..fiberloop_spec::proto::IDENT_WORDS as u32 {
                    self.log(BusOp::Read(regs::IDENT + a));
                    data.push(self.regs.access(regs::IDENT + a, None).unwrap_or(0));
                }
            }
            cmd::READ | cmd::WRITE => {
                if len == 0 || len > MAX_BURST_WORDS {
                    return self.reply(h.seq, status::BAD_LENGTH, h.addr, &[], out);
                }
                let write = h.code == cmd::WRITE;
                if let Err(a) = regs::check_burst(h.addr, len as u32, write) {
                    return self.reply(h.seq, status::BAD_ADDRESS, a, &[], out);
                }
                for i in 0..len {
                    let a = h.addr + i as u32;
                    let v = if write {
                        let w = &payload[4 * i..4 * i + 4];
                        let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                        self.log(BusOp::Write(a, v));
                        Some(v)
                    } else {
                        self.log(BusOp::Read(a));
                        None
                    };
                    match self.regs.access(a, v) {
                        Ok(d) => {
                            if v.is_none() {
                                data.push(d);
                            }
                        }
                        Err(r) => {
                            let st = r.status;
                            log::debug!("0x{a:08x} refused: {}", r.why);
                            self.refusals[st as usize & 7] += 1;
                            // Stop there; BAD_VALUE and FAULT count as executed.
                            self.reply(h.seq, st, a, &[], out);
                            if matches!(st, status::BAD_VALUE | status::FAULT) {
                                self.counts.executed += 1;
                                self.last = Some(Last {
                                    seq: h.seq,
                                    header_check,
                                    payload_check,
                                    write_status: write.then_some((st, a)),
                                });
                            }
                            return;
                        }
                    }
                }
            }
            _ => return self.reply(h.seq, status::BAD_COMMAND, h.addr, &[], out),
        }
        self.reply(h.seq, status::OK, h.addr, &data, out);
        self.counts.executed += 1;
        self.last = Some(Last {
            seq: h.seq,
            header_check,
            payload_check,
            write_status: (h.code == cmd::WRITE).then_some((status::OK, h.addr)),
        });
    }

    fn log(&mut self, op: BusOp) {
        if self.log_bus {
            self.bus.push(op);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::{Model, Port};
    use fiberloop_spec::proto::{encode, Direction, Header, MAX_FRAME_BYTES};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const TIMEOUT: u32 = 100;
    const MEM_WORDS: usize = (regs::ACT_OUT + regs::ACT_OUT_WORDS) as usize;

    fn initial_mem(rng: &mut ChaCha8Rng) -> Vec<u32> {
        let mut mem: Vec<u32> = (0..MEM_WORDS).map(|_| rng.gen()).collect();
        mem[regs::ID as usize] = regs::ID_VALUE;
        mem[regs::VERSION as usize] = regs::VERSION_VALUE;
        mem[regs::MAX_BURST as usize] = MAX_BURST_WORDS as u32;
        mem[regs::SLOT_WORDS_REG as usize] = regs::SLOT_WORDS;
        mem
    }

    /// The test's register file: scratch words 0..=4 are BUSY (reads and
    /// writes) while scratch word 7 has its two low bits set; scratch word 5
    /// refuses values with low bits 01 (BAD_VALUE), word 6 values with low
    /// bits 00 (FAULT); LOOP_CTRL refuses values above 3 (BAD_VALUE).
    fn test_status(mem: &[u32], a: u32, v: Option<u32>) -> u8 {
        let s = regs::SCRATCH;
        match v {
            _ if (s..s + 5).contains(&a) && mem[(s + 7) as usize] & 3 == 3 => status::BUSY,
            Some(v) if a == s + 5 && v & 3 == 1 => status::BAD_VALUE,
            Some(v) if a == s + 6 && v & 3 == 0 => status::FAULT,
            Some(v) if a == regs::LOOP_CTRL && v > 3 => status::BAD_VALUE,
            _ => status::OK,
        }
    }

    /// The Verilated engine with a memory on its bus.
    struct Bench {
        m: Model,
        p: [Port; 13],
        st: u8,
        ev: [Port; 7],
        counts: EventCounts,
        rng: ChaCha8Rng,
        clock: u64,
        mem: Vec<u32>,
        bus: Vec<BusOp>,
        out: Vec<u8>,
        rd: Option<u32>,
        ready_p: f64,
        overruns: u64,
    }

    impl Bench {
        fn new(seed: u64, mem: Vec<u32>) -> Self {
            let mut uut = CmdEngine::new(TIMEOUT);
            uut.connect_all();
            let m = Model::of_block(&uut).unwrap();
            let p = [
                "clock",
                "data_in",
                "valid_in",
                "reply$ready",
                "bus$rdata",
                "reply$data",
                "reply$valid",
                "bus$addr",
                "bus$wdata",
                "bus$we",
                "bus$re",
                "overrun_out",
                "bus$status",
            ]
            .map(|n| m.p(n));
            let ev = [
                "events$header_crc_drop",
                "events$payload_crc_drop",
                "events$timeout_drop",
                "events$replay",
                "events$executed",
                "events$hunted",
                "events$error_reply",
            ]
            .map(|n| m.p(n));
            Bench {
                m,
                p,
                ev,
                st: 0,
                counts: EventCounts::default(),
                rng: ChaCha8Rng::seed_from_u64(seed),
                clock: 0,
                mem,
                bus: Vec::new(),
                out: Vec::new(),
                rd: None,
                ready_p: 0.8,
                overruns: 0,
            }
        }

        /// One clock, with a request byte or none.
        fn cycle(&mut self, byte: Option<u8>) {
            let [clk, din, vin, rdy, rdata, dout, vout, addr, wdata, we, re, ovr, bst] = self.p;
            let ready = self.rng.gen_bool(self.ready_p);
            let rdv = match self.rd.take() {
                Some(a) => self.mem[a as usize],
                None => self.rng.gen(),
            };
            self.m.set(clk, 0);
            self.m
                .set(din, byte.unwrap_or_else(|| self.rng.gen()) as u64);
            self.m.set(vin, byte.is_some() as u64);
            self.m.set(rdy, ready as u64);
            self.m.set(rdata, rdv as u64);
            self.m
                .set(bst, std::mem::replace(&mut self.st, self.rng.gen()) as u64);
            self.m.eval();
            if self.m.get(vout) != 0 && ready {
                self.out.push(self.m.get(dout) as u8);
            }
            let (w, r) = (self.m.get(we) != 0, self.m.get(re) != 0);
            assert!(!(w && r), "clock {}: read and write together", self.clock);
            let a = self.m.get(addr) as u32;
            if w {
                assert!((a as usize) < MEM_WORDS, "write outside the map: 0x{a:x}");
                let v = self.m.get(wdata) as u32;
                self.st = test_status(&self.mem, a, Some(v));
                if self.st == status::OK {
                    self.mem[a as usize] = v;
                }
                self.bus.push(BusOp::Write(a, v));
            }
            if r {
                assert!((a as usize) < MEM_WORDS, "read outside the map: 0x{a:x}");
                self.bus.push(BusOp::Read(a));
                self.st = test_status(&self.mem, a, None);
                self.rd = Some(a);
            }
            self.overruns += (self.m.get(ovr) != 0) as u64;
            let e = self.ev.map(|p| self.m.get(p));
            self.counts.header_crc += e[0];
            self.counts.payload_crc += e[1];
            self.counts.timeouts += e[2];
            self.counts.replays += e[3];
            self.counts.executed += e[4];
            self.counts.hunted += e[5];
            self.counts.error_replies += e[6];
            self.m.set(clk, 1);
            self.m.eval();
            self.clock += 1;
        }
    }

    fn frame(h: Header, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; MAX_FRAME_BYTES];
        let n = encode(Direction::Request, &h, payload, &mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    /// An address near a region (inside, or just around its edges).
    fn addr(rng: &mut ChaCha8Rng) -> u32 {
        if rng.gen_ratio(1, 30) {
            return rng.gen();
        }
        let g = &regs::REGIONS[rng.gen_range(0..regs::REGIONS.len())];
        let a = match rng.gen_range(0..3) {
            0 => g.base + rng.gen_range(0..g.words),
            1 => g.base + g.words - 1,
            _ => g.base,
        };
        a.wrapping_add_signed(rng.gen_range(-2..=2))
    }

    fn len(rng: &mut ChaCha8Rng) -> u16 {
        match rng.gen_range(0..100) {
            0 => MAX_BURST_WORDS as u16,
            1 => rng.gen_range(64..=MAX_BURST_WORDS as u16),
            2..=9 => rng.gen_range(9..64),
            _ => rng.gen_range(1..=8),
        }
    }

    /// What a test item is, for the checks after it.
    #[derive(PartialEq)]
    enum Kind {
        Good,
        Broken,
    }

    /// Sends `bytes` with random gaps (rarely one at the timeout boundary),
    /// to the hardware and the model.
    fn send(b: &mut Bench, model: &mut EngineModel<MemBus>, bytes: &[u8], expect: &mut Vec<u8>) {
        let edge = if b.rng.gen_ratio(1, 25) {
            Some(b.rng.gen_range(0..bytes.len()))
        } else {
            None
        };
        for (i, &x) in bytes.iter().enumerate() {
            let gap = if edge == Some(i) {
                TIMEOUT as usize - 1 + b.rng.gen_range(0..3)
            } else if b.rng.gen_bool(0.6) {
                0
            } else {
                b.rng.gen_range(1..6)
            };
            for _ in 0..gap {
                b.cycle(None);
            }
            model.push(x, b.clock, expect);
            b.cycle(Some(x));
        }
    }

    /// Runs clocks until the hardware has sent as many reply bytes as the
    /// model, then a few more.
    fn wait_reply(b: &mut Bench, expect: &[u8], item: usize) {
        let mut budget = 50_000u64;
        while b.out.len() < expect.len() {
            b.cycle(None);
            budget -= 1;
            assert!(budget > 0, "item {item}: reply missing");
        }
        for _ in 0..b.rng.gen_range(0..20) {
            b.cycle(None);
        }
    }

    #[test]
    fn engine_against_model_random_traffic() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xC0DE_0001);
        let mem = initial_mem(&mut rng);
        let mut b = Bench::new(0xC0DE_0002, mem.clone());
        let mut model = EngineModel::new(TIMEOUT, mem, test_status);
        let mut expect = Vec::new();
        let mut seq = 0u8;
        let mut prev: Vec<u8> = Vec::new();
        let mut kinds = [0usize; 8];
        for item in 0..5000 {
            let k = rng.gen_range(0..100);
            let mut twice = false;
            let (bytes, kind) = match k {
                0..=54 => {
                    seq = seq.wrapping_add(1);
                    let write = k >= 30;
                    let h = Header {
                        seq,
                        code: if write { cmd::WRITE } else { cmd::READ },
                        addr: addr(&mut rng),
                        len: len(&mut rng),
                    };
                    let n = h.payload_words(Direction::Request).unwrap_or(0);
                    let payload: Vec<u8> = (0..4 * n).map(|_| rng.gen()).collect();
                    kinds[write as usize] += 1;
                    (frame(h, &payload), Kind::Good)
                }
                55..=59 => {
                    seq = seq.wrapping_add(1);
                    let h = Header {
                        seq,
                        code: cmd::PING,
                        addr: rng.gen(),
                        len: if rng.gen_bool(0.8) { 0 } else { rng.gen() },
                    };
                    kinds[2] += 1;
                    (frame(h, &[]), Kind::Good)
                }
                60..=64 => {
                    // Unknown command, or a length out of range.
                    seq = seq.wrapping_add(1);
                    let bad_len = rng.gen_bool(0.5);
                    let h = Header {
                        seq,
                        code: if bad_len {
                            [cmd::READ, cmd::WRITE][rng.gen_range(0..2)]
                        } else {
                            rng.gen_range(3..=255)
                        },
                        addr: addr(&mut rng),
                        len: if bad_len {
                            [
                                0,
                                MAX_BURST_WORDS as u16 + 1,
                                rng.gen_range(1025..=u16::MAX),
                            ][rng.gen_range(0..3)]
                        } else {
                            rng.gen()
                        },
                    };
                    kinds[3] += 1;
                    (frame(h, &[]), Kind::Good)
                }
                65..=74 => {
                    // A retry, verbatim: of the previous frame, or of a
                    // fresh good WRITE sent twice (its reply "lost").
                    kinds[4] += 1;
                    if rng.gen_bool(0.3) {
                        (prev.clone(), Kind::Good)
                    } else {
                        seq = seq.wrapping_add(1);
                        let off = rng.gen_range(0..8);
                        let h = Header {
                            seq,
                            code: cmd::WRITE,
                            addr: [
                                regs::SCRATCH + off,
                                regs::PARAM_MEM + rng.gen_range(0..4000),
                            ][rng.gen_range(0..2)],
                            len: rng.gen_range(1..=8 - off as u16),
                        };
                        let payload: Vec<u8> = (0..4 * h.len as usize).map(|_| rng.gen()).collect();
                        let f = frame(h, &payload);
                        twice = true;
                        (f, Kind::Good)
                    }
                }
                75..=84 => {
                    // A frame with one corrupted byte.
                    seq = seq.wrapping_add(1);
                    let h = Header {
                        seq,
                        code: [cmd::READ, cmd::WRITE, cmd::WRITE][rng.gen_range(0..3)],
                        addr: regs::SCRATCH + rng.gen_range(0..4),
                        len: rng.gen_range(1..=4),
                    };
                    let n = h.payload_words(Direction::Request).unwrap_or(0);
                    let payload: Vec<u8> = (0..4 * n).map(|_| rng.gen()).collect();
                    let mut f = frame(h, &payload);
                    let i = rng.gen_range(0..f.len());
                    f[i] ^= rng.gen_range(1..=255u8);
                    kinds[5] += 1;
                    (f, Kind::Broken)
                }
                85..=92 => {
                    // A truncated frame, then silence past the timeout.
                    seq = seq.wrapping_add(1);
                    let h = Header {
                        seq,
                        code: cmd::WRITE,
                        addr: regs::SCRATCH,
                        len: rng.gen_range(1..=8),
                    };
                    let payload: Vec<u8> = (0..4 * h.len as usize).map(|_| rng.gen()).collect();
                    let mut f = frame(h, &payload);
                    f.truncate(rng.gen_range(1..f.len()));
                    kinds[6] += 1;
                    (f, Kind::Broken)
                }
                _ => {
                    // Noise, rich in sync bytes.
                    let n = rng.gen_range(1..40);
                    let g: Vec<u8> = (0..n)
                        .map(|_| match rng.gen_range(0..6) {
                            0 => SYNC0,
                            1 => REQUEST_SYNC1,
                            _ => rng.gen(),
                        })
                        .collect();
                    kinds[7] += 1;
                    (g, Kind::Broken)
                }
            };
            if kind == Kind::Good {
                prev = bytes.clone();
            }
            let bus_before = b.bus.len();
            b.ready_p = [1.0, 0.8, 0.3][rng.gen_range(0..3)];
            if twice {
                send(&mut b, &mut model, &bytes, &mut expect);
                wait_reply(&mut b, &expect, item);
                let (writes, replays) = (b.bus.len(), model.replays);
                send(&mut b, &mut model, &bytes, &mut expect);
                wait_reply(&mut b, &expect, item);
                // (Unless a gap at the timeout broke the first copy.)
                if model.replays > replays {
                    assert_eq!(
                        b.bus.len(),
                        writes,
                        "item {item}: a retry was executed again"
                    );
                }
            }
            send(&mut b, &mut model, &bytes, &mut expect);
            if kind == Kind::Broken && k < 93 {
                // Silence past the timeout so the next item starts clean.
                for _ in 0..TIMEOUT + 2 {
                    b.cycle(None);
                }
            }
            // Wait for the reply the model predicts, then a little more.
            wait_reply(&mut b, &expect, item);
            assert_eq!(b.out, expect, "item {item}: reply bytes");
            assert_eq!(b.bus, model.bus, "item {item}: bus operations");
            if kind == Kind::Broken {
                assert!(
                    !b.bus[bus_before..]
                        .iter()
                        .any(|o| matches!(o, BusOp::Write(..))),
                    "item {item}: a broken frame reached the bus"
                );
            }
        }
        for _ in 0..300 {
            b.cycle(None);
        }
        assert_eq!(b.out, expect, "no stray reply bytes");
        assert_eq!(b.mem, model.regs.mem);
        assert_eq!(b.overruns, 0);
        model.poll(b.clock);
        assert_eq!(b.counts, model.counts, "event strobes");
        println!("{:?}", b.counts);
        assert!(b.counts.timeouts > 50 && b.counts.header_crc > 50 && b.counts.payload_crc > 20);
        assert!(b.counts.hunted > 1000);
        println!(
            "{} clocks, {} reply bytes, {} bus ops, {} replays, items {kinds:?}",
            b.clock,
            b.out.len(),
            b.bus.len(),
            model.replays
        );
        assert!(model.replays > 20, "retries exercised");
        println!("refusals by status: {:?}", model.refusals);
        for st in [status::BUSY, status::BAD_VALUE, status::FAULT] {
            assert!(model.refusals[st as usize] > 5, "{:?}", model.refusals);
        }
        assert!(b.clock > 100_000);
    }

    #[test]
    fn reply_latency_is_as_documented() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xC0DE_0003);
        let mem = initial_mem(&mut rng);
        let mut b = Bench::new(0xC0DE_0004, mem.clone());
        let mut model = EngineModel::new(TIMEOUT, mem, test_status);
        b.ready_p = 1.0;
        let cases = [
            (cmd::PING, 0, 0, 4 + 2 * 4),
            (cmd::READ, regs::SCRATCH_MEM, 3, 4 + 3 * 3),
            (cmd::WRITE, regs::SCRATCH_MEM, 5, 4 + 5 * 5),
            (cmd::READ, regs::SCRATCH_MEM, 1000, 4 + 3 * 1000),
            (cmd::WRITE, regs::ID, 2, 4 + 1), // BAD_ADDRESS at the first word
            (0x55, 0, 0, 4),                  // BAD_COMMAND
        ];
        let mut expect = Vec::new();
        for (i, &(code, addr, len, latency)) in cases.iter().enumerate() {
            let h = Header {
                seq: i as u8,
                code,
                addr,
                len,
            };
            let n = h.payload_words(Direction::Request).unwrap_or(0);
            let f = frame(h, &vec![0xA5; 4 * n]);
            for &x in &f {
                model.push(x, b.clock, &mut expect);
                b.cycle(Some(x));
            }
            let last = b.clock - 1;
            let before = b.out.len();
            while b.out.len() == before {
                b.cycle(None);
                assert!(b.clock < last + 10_000);
            }
            assert_eq!(b.clock - 1 - last, latency, "case {i}");
            wait_reply(&mut b, &expect, i);
            assert_eq!(b.out, expect);
        }
    }

    #[test]
    fn cmd_engine_synthesizes() {
        let mut uut = CmdEngine::new(1_250_000);
        uut.connect_all();
        let rep = fiberloop_harness::synth::synth_block(&uut, "hostif_cmd_engine").unwrap();
        println!("{rep:?}");
        println!(
            "CmdEngine: {} LUTs, {} FFs, {} BRAMs",
            rep.luts(),
            rep.ffs(),
            rep.brams()
        );
        assert!(rep.luts() < 2000, "{} LUTs", rep.luts());
        assert!(rep.brams() >= 1, "the payload buffer is a block RAM");
    }
}

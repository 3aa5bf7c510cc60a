//! The loop controller: regeneration, fill, delay measurement, host slot
//! operations and the payload tap.
//!
//! Every frame that comes back from the fiber (already RS-corrected and
//! CRC-checked upstream) goes out again after a fixed [`LATENCY`], with a new
//! header: the slot number (the received one when the frame is good,
//! otherwise the one the ring order predicts), the current lap, and flags.
//! A frame that upstream could not correct, or whose CRC failed, goes out
//! with the `BAD` flag and is counted: it is never passed on as good. CRC and
//! RS parity are recomputed downstream (CRC insert, RS encoder).
//!
//! # Modes
//! * `Idle` (after reset): sends nothing, drops what arrives.
//! * `cmd_fill` starts a fill from any mode. `MeasureSend`: one marker frame
//!   (flags `MARKER`, slot 0xFFFF) is sent and its departure time kept.
//!   `MeasureWait`: everything that arrives is dropped (so the old contents
//!   drain), until the marker comes back good; the loop delay D (clocks from
//!   the marker's `start_out` to its `start_in`) gives the ring period
//!   T = D + [`LATENCY`] and the number of slots N = floor(T / 128). If no
//!   marker returns within `timeout` clocks, or N is 0, the controller goes
//!   back to `Idle` with `no_loop_out` set.
//! * `Fill`: N empty frames (slots 0..N-1, lap 0, flags 0, zero payload) back
//!   to back, then `Run`.
//! * `Run`: regeneration as above. Marker frames are dropped. If no frame
//!   comes back for a whole ring period plus a frame (a fiber cut, loss of
//!   signal or of sync), the sticky `loop_lost_out` rises: what was in
//!   flight is gone, and the host must fill and rewrite the loop. A fill or
//!   reset clears it.
//!
//! # Host operations (all in `Run`)
//! * Write: fill the 114-word write buffer (`wr_buf_*`), then strobe
//!   `wr_arm` with `wr_slot`. The next time that slot goes out, its payload
//!   is replaced and its flags become `VALID`; `wr_pending_out` falls after
//!   the last payload word has been taken. Do not touch the buffer while it
//!   is high.
//! * Read: strobe `rd_arm` with `rd_slot`; the next time that slot goes out,
//!   its outgoing payload is captured into the read buffer (`rd_buf_addr` ->
//!   `rd_buf_data_out`, one clock later) with its flags and lap;
//!   `rd_pending_out` falls when the capture is complete.
//! * Tap: every payload word of every outgoing slot frame, in slot order, on
//!   `tap_data_out` with `tap_valid_out`; `tap_start_out` marks the first
//!   payload word of a frame, `tap_slot_out` its slot, `tap_bad_out` that its
//!   payload is not trustworthy (`BAD`).
//!
//! # Interface timing
//! * Input frame stream: 128 consecutive valid words per frame.
//! * Per-frame status strobes (`rs_done_in` with `rs_fail_in`,
//!   `rs_count_in`; `crc_done_in` with `crc_ok_in`) must arrive while the
//!   frame's own words arrive: from its `start_in` clock to its last word,
//!   inclusive. A frame with no `rs_done_in` or no `crc_done_in` is bad.
//!
//! Latency: [`LATENCY`] clocks from `start_in` to `start_out` in `Run`.
//! Throughput: one word per clock, no stall. Reset: synchronous `reset`
//! returns to `Idle`, clears counters, pending operations and errors (buffer
//! contents are kept).

use crate::bundles::{FrameIn, FrameOut, LoopCounters, SlotPort, TapOut};
use fiberloop_spec::frame::{flags, word, FRAME_WORDS};
use rust_hdl::prelude::*;

/// Depth of the delay line, clocks.
pub const DELAY: u64 = 132;
/// Clocks from `start_in` to `start_out` of the same frame in `Run`.
pub const LATENCY: u64 = DELAY + 2;

const _: () = assert!(
    LATENCY == fiberloop_spec::lap::CONTROLLER_LATENCY,
    "the controller's latency changed: update fiberloop_spec::lap"
);
/// Payload words per frame.
pub const PAYLOAD_WORDS: usize = word::PAYLOAD_LAST - word::PAYLOAD_FIRST + 1;

/// Controller mode.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum Mode {
    /// Sends nothing.
    Idle,
    /// Sending the marker frame.
    MeasureSend,
    /// Waiting for the marker to return.
    MeasureWait,
    /// Sending N empty frames.
    Fill,
    /// Regenerating.
    Run,
}

/// The loop controller. See the module documentation.
#[derive(LogicBlock)]
pub struct LoopController {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Received frame stream.
    pub rx: FrameIn,
    /// Outgoing frame stream (lane 0 of word 0 is a placeholder for the
    /// start-of-frame symbol; CRC and parity words are recomputed downstream).
    pub tx: FrameOut,
    /// Host port: fill, slot write buffer and arm, slot read (capture).
    pub slot: SlotPort,
    /// Payload tap: every payload word passing, with its slot and flags.
    pub tap: TapOut,
    /// Mode, flags and counters.
    pub counters: LoopCounters,
    /// RS decoder status strobe for the frame being received.
    pub rs_done_in: Signal<In, Bit>,
    /// With `rs_done_in`: the codeword could not be corrected.
    pub rs_fail_in: Signal<In, Bit>,
    /// With `rs_done_in`: bytes corrected.
    pub rs_count_in: Signal<In, Bits<4>>,
    /// CRC checker strobe for the frame being received.
    pub crc_done_in: Signal<In, Bit>,
    /// With `crc_done_in`: the CRC matched.
    pub crc_ok_in: Signal<In, Bit>,

    // --- delay line ---
    delay_ram: RAM<Bits<18>, 8>,
    wptr: DFF<Bits<8>>,
    // --- receive side: the frame being received, and its finished record ---
    rx_word: DFF<Bits<7>>,
    rx_busy: DFF<Bit>,
    cur_slot: DFF<Bits<16>>,
    cur_flags: DFF<Bits<8>>,
    cur_time: DFF<Bits<32>>,
    cur_rs_done: DFF<Bit>,
    cur_rs_fail: DFF<Bit>,
    cur_rs_count: DFF<Bits<4>>,
    cur_crc_done: DFF<Bit>,
    cur_crc_ok: DFF<Bit>,
    rec_slot: DFF<Bits<16>>,
    /// `rec_slot + 1`, registered with it (keeps the adder off the
    /// decision's path).
    rec_slot_p1: DFF<Bits<16>>,
    rec_flags: DFF<Bits<8>>,
    rec_good: DFF<Bit>,
    rec_rs_ok: DFF<Bit>,
    rec_count: DFF<Bits<4>>,
    // Combinational views of the frame finishing this clock.
    fin: Signal<Local, Bit>,
    fin_rs_done: Signal<Local, Bit>,
    fin_rs_fail: Signal<Local, Bit>,
    fin_crc_ok: Signal<Local, Bit>,
    fin_good: Signal<Local, Bit>,
    fin_flags: Signal<Local, Bits<8>>,
    // --- stage A -> B ---
    d_valid: Signal<Local, Bit>,
    d_start: Signal<Local, Bit>,
    a_word: Signal<Local, Bits<7>>,
    b_data: DFF<Bits<16>>,
    b_valid: DFF<Bit>,
    b_word: DFF<Bits<7>>,
    // Decisions for the outgoing frame, made at its stage-A start.
    o_fwd: DFF<Bit>,
    o_gen: DFF<Bit>,
    o_slot: DFF<Bits<16>>,
    o_lap: DFF<Bits<32>>,
    o_flags: DFF<Bits<8>>,
    o_write: DFF<Bit>,
    o_read: DFF<Bit>,
    dec_slot: Signal<Local, Bits<16>>,
    /// `dec_slot + 1`, from the registered sums.
    dec_p1: Signal<Local, Bits<16>>,
    /// `dec_slot` is the loop's last slot.
    dec_last: Signal<Local, Bit>,
    dec_lap: Signal<Local, Bits<32>>,
    dec_flags: Signal<Local, Bits<8>>,
    dec_write: Signal<Local, Bit>,
    dec_read: Signal<Local, Bit>,
    // --- generator (marker and fill frames) ---
    gen_active: DFF<Bit>,
    gen_word: DFF<Bits<7>>,
    gen_slot: DFF<Bits<16>>,
    // --- state ---
    mode: DFF<Mode>,
    clock_count: DFF<Bits<32>>,
    sent_time: DFF<Bits<32>>,
    wait_count: DFF<Bits<32>>,
    expected_slot: DFF<Bits<16>>,
    /// `expected_slot + 1`, kept with it.
    expected_p1: DFF<Bits<16>>,
    lap: DFF<Bits<32>>,
    no_loop: DFF<Bit>,
    loop_lost: DFF<Bit>,
    since_frame: DFF<Bits<32>>,
    delay: DFF<Bits<32>>,
    slots: DFF<Bits<16>>,
    ring: Signal<Local, Bits<32>>,
    wr_pending: DFF<Bit>,
    rd_pending: DFF<Bit>,
    rd_flags: DFF<Bits<8>>,
    rd_lap: DFF<Bits<32>>,
    frames: DFF<Bits<32>>,
    corrected: DFF<Bits<32>>,
    uncorrectable: DFF<Bits<32>>,
    crc_fail: DFF<Bits<32>>,
    // --- buffers ---
    wr_buf: RAM<Bits<16>, 7>,
    rd_buf: RAM<Bits<16>, 7>,
    // --- output stage ---
    out_word: Signal<Local, Bits<16>>,
    payload: Signal<Local, Bit>,
    data_r: DFF<Bits<16>>,
    valid_r: DFF<Bit>,
    start_r: DFF<Bit>,
    tap_data_r: DFF<Bits<16>>,
    tap_valid_r: DFF<Bit>,
    tap_start_r: DFF<Bit>,
    tap_slot_r: DFF<Bits<16>>,
    tap_bad_r: DFF<Bit>,
    // Constants.
    k_delay: Constant<Bits<8>>,
    k_latency: Constant<Bits<32>>,
    k_frame: Constant<Bits<32>>,
    k_marker: Constant<Bits<8>>,
    k_valid: Constant<Bits<8>>,
    k_bad: Constant<Bits<8>>,
}

const _: () = assert!(flags::BAD == 1 << 1);
const _: () = assert!(FRAME_WORDS == 128 && PAYLOAD_WORDS == 114);

impl Default for LoopController {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            rx: Default::default(),
            tx: Default::default(),
            slot: Default::default(),
            tap: Default::default(),
            counters: Default::default(),
            rs_done_in: Default::default(),
            rs_fail_in: Default::default(),
            rs_count_in: Default::default(),
            crc_done_in: Default::default(),
            crc_ok_in: Default::default(),
            delay_ram: RAM::new(Default::default()),
            wptr: Default::default(),
            rx_word: Default::default(),
            rx_busy: Default::default(),
            cur_slot: Default::default(),
            cur_flags: Default::default(),
            cur_time: Default::default(),
            cur_rs_done: Default::default(),
            cur_rs_fail: Default::default(),
            cur_rs_count: Default::default(),
            cur_crc_done: Default::default(),
            cur_crc_ok: Default::default(),
            rec_slot: Default::default(),
            rec_slot_p1: Default::default(),
            rec_flags: Default::default(),
            rec_good: Default::default(),
            rec_rs_ok: Default::default(),
            rec_count: Default::default(),
            fin: Default::default(),
            fin_rs_done: Default::default(),
            fin_rs_fail: Default::default(),
            fin_crc_ok: Default::default(),
            fin_good: Default::default(),
            fin_flags: Default::default(),
            d_valid: Default::default(),
            d_start: Default::default(),
            a_word: Default::default(),
            b_data: Default::default(),
            b_valid: Default::default(),
            b_word: Default::default(),
            o_fwd: Default::default(),
            o_gen: Default::default(),
            o_slot: Default::default(),
            o_lap: Default::default(),
            o_flags: Default::default(),
            o_write: Default::default(),
            o_read: Default::default(),
            dec_slot: Default::default(),
            dec_p1: Default::default(),
            dec_last: Default::default(),
            dec_lap: Default::default(),
            dec_flags: Default::default(),
            dec_write: Default::default(),
            dec_read: Default::default(),
            gen_active: Default::default(),
            gen_word: Default::default(),
            gen_slot: Default::default(),
            mode: Default::default(),
            clock_count: Default::default(),
            sent_time: Default::default(),
            wait_count: Default::default(),
            expected_slot: Default::default(),
            expected_p1: Default::default(),
            lap: Default::default(),
            no_loop: Default::default(),
            loop_lost: Default::default(),
            since_frame: Default::default(),
            delay: Default::default(),
            slots: Default::default(),
            ring: Default::default(),
            wr_pending: Default::default(),
            rd_pending: Default::default(),
            rd_flags: Default::default(),
            rd_lap: Default::default(),
            frames: Default::default(),
            corrected: Default::default(),
            uncorrectable: Default::default(),
            crc_fail: Default::default(),
            wr_buf: RAM::new(Default::default()),
            rd_buf: RAM::new(Default::default()),
            out_word: Default::default(),
            payload: Default::default(),
            data_r: Default::default(),
            valid_r: Default::default(),
            start_r: Default::default(),
            tap_data_r: Default::default(),
            tap_valid_r: Default::default(),
            tap_start_r: Default::default(),
            tap_slot_r: Default::default(),
            tap_bad_r: Default::default(),
            k_delay: Constant::new((DELAY - 1).to_bits()),
            k_latency: Constant::new(LATENCY.to_bits()),
            k_frame: Constant::new((FRAME_WORDS as u64).to_bits()),
            k_marker: Constant::new((flags::MARKER as u64).to_bits()),
            k_valid: Constant::new((flags::VALID as u64).to_bits()),
            k_bad: Constant::new((flags::BAD as u64).to_bits()),
        }
    }
}

impl Logic for LoopController {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            wptr,
            rx_word,
            rx_busy,
            cur_slot,
            cur_flags,
            cur_time,
            cur_rs_done,
            cur_rs_fail,
            cur_rs_count,
            cur_crc_done,
            cur_crc_ok,
            rec_slot,
            rec_slot_p1,
            rec_flags,
            rec_good,
            rec_rs_ok,
            rec_count,
            b_data,
            b_valid,
            b_word,
            o_fwd,
            o_gen,
            o_slot,
            o_lap,
            o_flags,
            o_write,
            o_read,
            gen_active,
            gen_word,
            gen_slot,
            mode,
            clock_count,
            sent_time,
            wait_count,
            expected_slot,
            expected_p1,
            lap,
            no_loop,
            loop_lost,
            since_frame,
            delay,
            slots,
            wr_pending,
            rd_pending,
            rd_flags,
            rd_lap,
            frames,
            corrected,
            uncorrectable,
            crc_fail,
            data_r,
            valid_r,
            start_r,
            tap_data_r,
            tap_valid_r,
            tap_start_r,
            tap_slot_r,
            tap_bad_r
        );
        self.delay_ram.read_clock.next = self.clock.val();
        self.delay_ram.write_clock.next = self.clock.val();
        self.wr_buf.read_clock.next = self.clock.val();
        self.wr_buf.write_clock.next = self.clock.val();
        self.rd_buf.read_clock.next = self.clock.val();
        self.rd_buf.write_clock.next = self.clock.val();

        self.clock_count.d.next = self.clock_count.q.val() + 1;
        self.ring.next = self.delay.q.val() + self.k_latency.val();

        // ---------------- delay line: in(t) comes out at t + DELAY -------
        self.wptr.d.next = self.wptr.q.val() + 1;
        self.delay_ram.write_enable.next = true;
        self.delay_ram.write_address.next = self.wptr.q.val();
        self.delay_ram.write_data.next = bit_cast::<18, 16>(self.rx.data.val())
            .replace_bit(16, self.rx.valid.val())
            .replace_bit(17, self.rx.start.val());
        self.delay_ram.read_address.next = self.wptr.q.val() - self.k_delay.val();
        self.d_valid.next = self.delay_ram.read_data.val().get_bit(16);
        self.d_start.next =
            self.delay_ram.read_data.val().get_bit(17) & self.delay_ram.read_data.val().get_bit(16);

        // ---------------- receive side ----------------------------------
        // Status strobes for the frame being received.
        self.fin.next = false;
        if self.rx.start.val() & self.rx.valid.val() {
            self.rx_word.d.next = 1.into();
            self.rx_busy.d.next = true;
            self.cur_time.d.next = self.clock_count.q.val();
            self.cur_rs_done.d.next = self.rs_done_in.val();
            self.cur_rs_fail.d.next = self.rs_fail_in.val();
            self.cur_rs_count.d.next = self.rs_count_in.val();
            self.cur_crc_done.d.next = self.crc_done_in.val();
            self.cur_crc_ok.d.next = self.crc_ok_in.val();
            self.cur_slot.d.next = bit_cast::<16, 8>(self.rx.data.val().get_bits::<8>(8)) << 8;
        } else {
            if self.rx.valid.val() & self.rx_busy.q.val() {
                self.rx_word.d.next = self.rx_word.q.val() + 1;
                if self.rx_word.q.val() == 1 {
                    self.cur_slot.d.next = (self.cur_slot.q.val() & 0xFF00)
                        | bit_cast::<16, 8>(self.rx.data.val().get_bits::<8>(0));
                }
                if self.rx_word.q.val() == 3 {
                    self.cur_flags.d.next = self.rx.data.val().get_bits::<8>(8);
                }
                if self.rx_word.q.val() == 127 {
                    self.rx_busy.d.next = false;
                    self.fin.next = true;
                }
            }
            if self.rs_done_in.val() {
                self.cur_rs_done.d.next = true;
                self.cur_rs_fail.d.next = self.rs_fail_in.val();
                self.cur_rs_count.d.next = self.rs_count_in.val();
            }
            if self.crc_done_in.val() {
                self.cur_crc_done.d.next = true;
                self.cur_crc_ok.d.next = self.crc_ok_in.val();
            }
        }
        // The finished frame, including strobes of its last clock.
        self.fin_rs_done.next = self.cur_rs_done.q.val() | self.rs_done_in.val();
        self.fin_rs_fail.next = self.cur_rs_fail.q.val();
        if self.rs_done_in.val() {
            self.fin_rs_fail.next = self.rs_fail_in.val();
        }
        self.fin_crc_ok.next = self.cur_crc_done.q.val() & self.cur_crc_ok.q.val();
        if self.crc_done_in.val() {
            self.fin_crc_ok.next = self.crc_ok_in.val();
        }
        self.fin_good.next =
            self.fin_rs_done.val() & (!self.fin_rs_fail.val()) & self.fin_crc_ok.val();
        self.fin_flags.next = self.cur_flags.q.val();
        if self.fin.val() {
            self.rec_slot.d.next = self.cur_slot.q.val();
            self.rec_slot_p1.d.next = self.cur_slot.q.val() + 1;
            self.rec_flags.d.next = self.fin_flags.val();
            self.rec_good.d.next = self.fin_good.val();
            self.rec_rs_ok.d.next = self.fin_rs_done.val() & (!self.fin_rs_fail.val());
            self.rec_count.d.next = self.cur_rs_count.q.val();
            if self.rs_done_in.val() {
                self.rec_count.d.next = self.rs_count_in.val();
            }
        }

        // ---------------- stage A: decisions at the delayed start --------
        self.a_word.next = self.b_word.q.val();
        if self.d_valid.val() {
            self.a_word.next = self.b_word.q.val() + 1;
        }
        if self.d_start.val() {
            self.a_word.next = 0.into();
        }
        self.b_word.d.next = self.a_word.val();
        self.b_data.d.next = bit_cast::<16, 18>(self.delay_ram.read_data.val());
        self.b_valid.d.next = self.d_valid.val();

        self.dec_slot.next = self.expected_slot.q.val();
        self.dec_p1.next = self.expected_p1.q.val();
        if self.rec_good.q.val() {
            self.dec_slot.next = self.rec_slot.q.val();
            self.dec_p1.next = self.rec_slot_p1.q.val();
        }
        self.dec_last.next = self.dec_p1.val() == self.slots.q.val();
        self.dec_lap.next = self.lap.q.val();
        if self.dec_slot.val() == 0 {
            self.dec_lap.next = self.lap.q.val() + 1;
        }
        self.dec_write.next =
            self.wr_pending.q.val() & (self.dec_slot.val() == self.slot.wr_slot.val());
        self.dec_read.next =
            self.rd_pending.q.val() & (self.dec_slot.val() == self.slot.rd_slot.val());
        self.dec_flags.next = self.k_bad.val();
        if self.rec_good.q.val() {
            self.dec_flags.next = self.rec_flags.q.val();
        }
        if self.dec_write.val() {
            self.dec_flags.next = self.k_valid.val();
        }

        // ---------------- generator: marker and fill frames -------------
        if self.gen_active.q.val() {
            self.gen_word.d.next = self.gen_word.q.val() + 1;
            if self.gen_word.q.val() == 127 {
                self.gen_active.d.next = false;
            }
        }

        // ---------------- mode machine ----------------------------------
        self.counters.mode.next = 0.into();
        match self.mode.q.val() {
            Mode::Idle => {
                self.counters.mode.next = 0.into();
            }
            Mode::MeasureSend => {
                self.counters.mode.next = 1.into();
                if !self.gen_active.q.val() {
                    // Start the marker; its start_out is two clocks later.
                    self.gen_active.d.next = true;
                    self.gen_word.d.next = 0.into();
                    self.gen_slot.d.next = 0xFFFF.into();
                    self.o_gen.d.next = true;
                    self.o_fwd.d.next = false;
                    self.o_slot.d.next = 0xFFFF.into();
                    self.o_lap.d.next = 0.into();
                    self.o_flags.d.next = self.k_marker.val();
                    self.o_write.d.next = false;
                    self.o_read.d.next = false;
                    self.sent_time.d.next = self.clock_count.q.val() + 2;
                    self.wait_count.d.next = 0.into();
                    self.mode.d.next = Mode::MeasureWait;
                }
            }
            Mode::MeasureWait => {
                self.counters.mode.next = 2.into();
                self.wait_count.d.next = self.wait_count.q.val() + 1;
                if self.fin.val()
                    & self.fin_good.val()
                    & ((self.fin_flags.val() & self.k_marker.val()) != 0)
                {
                    self.delay.d.next = self.cur_time.q.val() - self.sent_time.q.val();
                    self.mode.d.next = Mode::Fill;
                } else if self.wait_count.q.val() == self.slot.timeout.val() {
                    self.no_loop.d.next = true;
                    self.mode.d.next = Mode::Idle;
                }
            }
            Mode::Fill => {
                self.counters.mode.next = 3.into();
                self.slots.d.next = bit_cast::<16, 32>(self.ring.val() >> 7);
                if (self.ring.val() >> 7) == 0 {
                    self.no_loop.d.next = true;
                    self.mode.d.next = Mode::Idle;
                } else if (!self.gen_active.q.val()) | (self.gen_word.q.val() == 127) {
                    if self.gen_active.q.val()
                        & ((self.gen_slot.q.val() + 1) == bit_cast::<16, 32>(self.ring.val() >> 7))
                    {
                        // Last fill frame ends this clock.
                        self.expected_slot.d.next = 0.into();
                        self.expected_p1.d.next = 1.into();
                        self.lap.d.next = 0.into();
                        self.since_frame.d.next = 0.into();
                        self.mode.d.next = Mode::Run;
                    } else {
                        self.gen_active.d.next = true;
                        self.gen_word.d.next = 0.into();
                        self.o_gen.d.next = true;
                        self.o_fwd.d.next = false;
                        self.o_lap.d.next = 0.into();
                        self.o_flags.d.next = 0.into();
                        self.o_write.d.next = false;
                        self.o_read.d.next = false;
                        if self.gen_active.q.val() {
                            self.gen_slot.d.next = self.gen_slot.q.val() + 1;
                            self.o_slot.d.next = self.gen_slot.q.val() + 1;
                        } else {
                            self.gen_slot.d.next = 0.into();
                            self.o_slot.d.next = 0.into();
                        }
                    }
                }
            }
            Mode::Run => {
                self.counters.mode.next = 4.into();
                self.since_frame.d.next = self.since_frame.q.val() + 1;
                if self.since_frame.q.val() > (self.ring.val() + self.k_frame.val()) {
                    self.loop_lost.d.next = true;
                }
                if self.d_start.val() {
                    self.since_frame.d.next = 0.into();
                    self.o_gen.d.next = false;
                    self.o_fwd.d.next = true;
                    if self.rec_good.q.val() & ((self.rec_flags.q.val() & self.k_marker.val()) != 0)
                    {
                        self.o_fwd.d.next = false;
                    } else {
                        self.o_slot.d.next = self.dec_slot.val();
                        self.o_lap.d.next = self.dec_lap.val();
                        self.o_flags.d.next = self.dec_flags.val();
                        self.o_write.d.next = self.dec_write.val();
                        self.o_read.d.next = self.dec_read.val();
                        self.lap.d.next = self.dec_lap.val();
                        self.expected_slot.d.next = self.dec_p1.val();
                        self.expected_p1.d.next = self.dec_p1.val() + 1;
                        if self.dec_last.val() {
                            self.expected_slot.d.next = 0.into();
                            self.expected_p1.d.next = 1.into();
                        }
                        self.frames.d.next = self.frames.q.val() + 1;
                        if self.rec_rs_ok.q.val() {
                            self.corrected.d.next =
                                self.corrected.q.val() + bit_cast::<32, 4>(self.rec_count.q.val());
                            if !self.rec_good.q.val() {
                                self.crc_fail.d.next = self.crc_fail.q.val() + 1;
                            }
                        } else {
                            self.uncorrectable.d.next = self.uncorrectable.q.val() + 1;
                        }
                        if self.dec_read.val() {
                            self.rd_flags.d.next = self.dec_flags.val();
                            self.rd_lap.d.next = self.dec_lap.val();
                        }
                    }
                }
            }
        }
        if self.slot.fill.val() {
            self.mode.d.next = Mode::MeasureSend;
            self.no_loop.d.next = false;
            self.loop_lost.d.next = false;
            self.gen_active.d.next = false;
            self.o_gen.d.next = false;
            self.o_fwd.d.next = false;
        }

        // ---------------- host operations --------------------------------
        // A write or read is done once the frame's last payload word has
        // been substituted or captured (the buffers must not change before).
        if self.o_fwd.q.val() & self.b_valid.q.val() & (self.b_word.q.val() == 117) {
            if self.o_write.q.val() {
                self.wr_pending.d.next = false;
            }
            if self.o_read.q.val() {
                self.rd_pending.d.next = false;
            }
        }
        self.wr_buf.write_enable.next = self.slot.wr_buf_we.val();
        self.wr_buf.write_address.next = self.slot.wr_buf_addr.val();
        self.wr_buf.write_data.next = self.slot.wr_buf_data.val();
        // Payload word index of the word in stage A (stage B reads it).
        self.wr_buf.read_address.next = self.a_word.val() - 4;
        if self.slot.wr_arm.val() {
            self.wr_pending.d.next = true;
        }
        if self.slot.rd_arm.val() {
            self.rd_pending.d.next = true;
        }

        // ---------------- stage B: build the outgoing word --------------
        // Source: the generator (o_gen) or the delayed stream (o_fwd).
        self.payload.next = false;
        self.out_word.next = self.b_data.q.val();
        if self.o_gen.q.val() {
            self.out_word.next = 0.into();
        }
        if self.o_gen.q.val() {
            self.valid_r.d.next = self.gen_active.q.val();
            self.start_r.d.next = self.gen_active.q.val() & (self.gen_word.q.val() == 0);
        } else {
            self.valid_r.d.next = self.o_fwd.q.val() & self.b_valid.q.val();
            self.start_r.d.next =
                self.o_fwd.q.val() & self.b_valid.q.val() & (self.b_word.q.val() == 0);
        }
        self.tap_valid_r.d.next = false;
        self.tap_start_r.d.next = false;
        self.rd_buf.write_enable.next = false;
        self.rd_buf.write_address.next = 0.into();
        self.rd_buf.write_data.next = 0.into();
        self.data_r.d.next = self.out_word.val();
        self.tap_data_r.d.next = self.out_word.val();
        self.tap_slot_r.d.next = self.o_slot.q.val();
        // Bit 1 is flags::BAD (checked at compile time below).
        self.tap_bad_r.d.next = self.o_flags.q.val().get_bit(1);
        // The header words, then the payload, of the word at index `ow`.
        if self.o_gen.q.val() {
            if self.gen_word.q.val() == 0 {
                self.data_r.d.next = self.o_slot.q.val() & 0xFF00;
            }
            if self.gen_word.q.val() == 1 {
                self.data_r.d.next = (self.o_slot.q.val() & 0x00FF)
                    | (bit_cast::<16, 8>(self.o_lap.q.val().get_bits::<8>(24)) << 8);
            }
            if self.gen_word.q.val() == 2 {
                self.data_r.d.next = bit_cast::<16, 8>(self.o_lap.q.val().get_bits::<8>(16))
                    | (bit_cast::<16, 8>(self.o_lap.q.val().get_bits::<8>(8)) << 8);
            }
            if self.gen_word.q.val() == 3 {
                self.data_r.d.next = bit_cast::<16, 8>(self.o_lap.q.val().get_bits::<8>(0))
                    | (bit_cast::<16, 8>(self.o_flags.q.val()) << 8);
            }
        } else {
            if self.b_word.q.val() == 0 {
                self.data_r.d.next = self.o_slot.q.val() & 0xFF00;
            }
            if self.b_word.q.val() == 1 {
                self.data_r.d.next = (self.o_slot.q.val() & 0x00FF)
                    | (bit_cast::<16, 8>(self.o_lap.q.val().get_bits::<8>(24)) << 8);
            }
            if self.b_word.q.val() == 2 {
                self.data_r.d.next = bit_cast::<16, 8>(self.o_lap.q.val().get_bits::<8>(16))
                    | (bit_cast::<16, 8>(self.o_lap.q.val().get_bits::<8>(8)) << 8);
            }
            if self.b_word.q.val() == 3 {
                self.data_r.d.next = bit_cast::<16, 8>(self.o_lap.q.val().get_bits::<8>(0))
                    | (bit_cast::<16, 8>(self.o_flags.q.val()) << 8);
            }
            if (self.b_word.q.val() >= 4) & (self.b_word.q.val() <= 117) {
                self.payload.next = self.o_fwd.q.val() & self.b_valid.q.val();
            }
            if self.payload.val() & self.o_write.q.val() {
                self.data_r.d.next = self.wr_buf.read_data.val();
                self.tap_data_r.d.next = self.wr_buf.read_data.val();
            }
            if self.payload.val() {
                self.tap_valid_r.d.next = true;
                self.tap_start_r.d.next = self.b_word.q.val() == 4;
            }
            if self.payload.val() & self.o_read.q.val() {
                self.rd_buf.write_enable.next = true;
                self.rd_buf.write_address.next = self.b_word.q.val() - 4;
                self.rd_buf.write_data.next = self.out_word.val();
                if self.o_write.q.val() {
                    self.rd_buf.write_data.next = self.wr_buf.read_data.val();
                }
            }
        }
        self.rd_buf.read_address.next = self.slot.rd_buf_addr.val();

        // ---------------- reset -----------------------------------------
        if self.reset.val() {
            self.mode.d.next = Mode::Idle;
            self.gen_active.d.next = false;
            self.o_gen.d.next = false;
            self.o_fwd.d.next = false;
            self.rx_busy.d.next = false;
            self.no_loop.d.next = false;
            self.loop_lost.d.next = false;
            self.wr_pending.d.next = false;
            self.rd_pending.d.next = false;
            self.frames.d.next = 0.into();
            self.corrected.d.next = 0.into();
            self.uncorrectable.d.next = 0.into();
            self.crc_fail.d.next = 0.into();
            self.lap.d.next = 0.into();
            self.delay.d.next = 0.into();
            self.slots.d.next = 0.into();
        }

        // ---------------- outputs ---------------------------------------
        self.tx.data.next = self.data_r.q.val();
        self.tx.valid.next = self.valid_r.q.val();
        self.tx.start.next = self.start_r.q.val();
        self.tap.data.next = self.tap_data_r.q.val();
        self.tap.valid.next = self.tap_valid_r.q.val();
        self.tap.start.next = self.tap_start_r.q.val();
        self.tap.slot.next = self.tap_slot_r.q.val();
        self.tap.bad.next = self.tap_bad_r.q.val();
        self.slot.wr_pending.next = self.wr_pending.q.val();
        self.slot.rd_pending.next = self.rd_pending.q.val();
        self.slot.rd_buf_data.next = self.rd_buf.read_data.val();
        self.slot.rd_flags.next = self.rd_flags.q.val();
        self.slot.rd_lap.next = self.rd_lap.q.val();
        self.counters.no_loop.next = self.no_loop.q.val();
        self.counters.loop_lost.next = self.loop_lost.q.val();
        self.counters.delay.next = self.delay.q.val();
        self.counters.slots.next = self.slots.q.val();
        self.counters.lap.next = self.lap.q.val();
        self.counters.frames.next = self.frames.q.val();
        self.counters.corrected.next = self.corrected.q.val();
        self.counters.uncorrectable.next = self.uncorrectable.q.val();
        self.counters.crc_fail.next = self.crc_fail.q.val();
    }
}

/// Reference model of what the loop holds, at the level the controller
/// promises: per slot its payload and flags, and the counters. The test
/// drives the hardware and this model with the same events and compares
/// every read, every tapped frame and every counter.
pub mod model {
    use super::PAYLOAD_WORDS;

    /// One slot.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Slot {
        /// Payload words as they travel (lane 0 in bits 7:0).
        pub payload: Vec<u16>,
        /// Flags byte.
        pub flags: u8,
    }

    /// The loop's contents (the tests tally the counters from the fates
    /// they draw).
    #[derive(Clone, Debug, Default)]
    pub struct LoopModel {
        /// Slots, index = slot number.
        pub slots: Vec<Slot>,
    }

    /// The fate of one frame on its way round.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Fate {
        /// Arrived intact; the decoder corrected this many bytes.
        Good(u8),
        /// The decoder gave up.
        Uncorrectable,
        /// The decoder accepted it but the CRC failed.
        CrcFail,
    }

    impl LoopModel {
        /// The loop right after a fill of `n` slots.
        pub fn filled(n: usize) -> Self {
            Self {
                slots: vec![
                    Slot {
                        payload: vec![0; PAYLOAD_WORDS],
                        flags: 0,
                    };
                    n
                ],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::model::{Fate, LoopModel};
    use super::*;
    use fiberloop_harness::verilator::{Model, Port};
    use fiberloop_spec::frame::flags;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::VecDeque;

    /// Ports of the controller, looked up once.
    struct P {
        clock: Port,
        reset: Port,
        data_in: Port,
        valid_in: Port,
        start_in: Port,
        rs_done_in: Port,
        rs_fail_in: Port,
        rs_count_in: Port,
        crc_done_in: Port,
        crc_ok_in: Port,
        data_out: Port,
        valid_out: Port,
        start_out: Port,
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
        tap_data: Port,
        tap_valid: Port,
        tap_start: Port,
        tap_slot: Port,
        tap_bad: Port,
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
    }

    /// The controller in Verilator, closed into a loop by a Rust delay line
    /// of `ext` clocks that also plays the RS decoder and CRC checker: for
    /// every frame it draws a fate and sends the status strobes.
    struct Bench {
        m: Model,
        p: P,
        line: VecDeque<(u16, bool, bool)>,
        rng: ChaCha8Rng,
        p_uncorrectable: f64,
        p_crc_fail: f64,
        /// Fate of the frame now arriving, and its word index.
        arriving: Option<(Fate, usize)>,
        /// Fates in arrival order, with the slot read from the header and
        /// the clock the frame started arriving.
        fates: VecDeque<(u16, Fate, u64)>,
        taps: Vec<(u16, bool, Vec<u16>)>,
        tap_cur: Option<(u16, bool, Vec<u16>)>,
        header: Vec<u16>,
        out_frames: Vec<Vec<u16>>,
        out_cur: Option<Vec<u16>>,
        clocks: u64,
        in_start_clock: Option<u64>,
        /// Per arriving frame (in Fill or Run): the clock by which the
        /// controller must have counted it and the corrected total then.
        checks: VecDeque<(u64, u64, Fate)>,
        expect_corrected: u64,
        mismatch: Option<String>,
    }

    impl Bench {
        fn new(ext: usize, seed: u64) -> Bench {
            let mut uut = LoopController::default();
            uut.connect_all();
            let m = Model::of_block(&uut).unwrap_or_else(|e| panic!("{e}"));
            let p = P {
                clock: m.p("clock"),
                reset: m.p("reset"),
                data_in: m.p("rx$data"),
                valid_in: m.p("rx$valid"),
                start_in: m.p("rx$start"),
                rs_done_in: m.p("rs_done_in"),
                rs_fail_in: m.p("rs_fail_in"),
                rs_count_in: m.p("rs_count_in"),
                crc_done_in: m.p("crc_done_in"),
                crc_ok_in: m.p("crc_ok_in"),
                data_out: m.p("tx$data"),
                valid_out: m.p("tx$valid"),
                start_out: m.p("tx$start"),
                cmd_fill: m.p("slot$fill"),
                timeout: m.p("slot$timeout"),
                wr_buf_we: m.p("slot$wr_buf_we"),
                wr_buf_addr: m.p("slot$wr_buf_addr"),
                wr_buf_data: m.p("slot$wr_buf_data"),
                wr_arm: m.p("slot$wr_arm"),
                wr_slot: m.p("slot$wr_slot"),
                wr_pending: m.p("slot$wr_pending"),
                rd_arm: m.p("slot$rd_arm"),
                rd_slot: m.p("slot$rd_slot"),
                rd_pending: m.p("slot$rd_pending"),
                rd_buf_addr: m.p("slot$rd_buf_addr"),
                rd_buf_data: m.p("slot$rd_buf_data"),
                rd_flags: m.p("slot$rd_flags"),
                tap_data: m.p("tap$data"),
                tap_valid: m.p("tap$valid"),
                tap_start: m.p("tap$start"),
                tap_slot: m.p("tap$slot"),
                tap_bad: m.p("tap$bad"),
                mode: m.p("counters$mode"),
                no_loop: m.p("counters$no_loop"),
                loop_lost: m.p("counters$loop_lost"),
                delay: m.p("counters$delay"),
                slots: m.p("counters$slots"),
                lap: m.p("counters$lap"),
                frames: m.p("counters$frames"),
                corrected: m.p("counters$corrected"),
                uncorrectable: m.p("counters$uncorrectable"),
                crc_fail: m.p("counters$crc_fail"),
            };
            let mut b = Bench {
                m,
                p,
                line: (0..ext).map(|_| (0, false, false)).collect(),
                rng: ChaCha8Rng::seed_from_u64(seed),
                p_uncorrectable: 0.0,
                p_crc_fail: 0.0,
                arriving: None,
                fates: VecDeque::new(),
                taps: vec![],
                tap_cur: None,
                header: vec![],
                out_frames: vec![],
                out_cur: None,
                clocks: 0,
                in_start_clock: None,
                checks: VecDeque::new(),
                expect_corrected: 0,
                mismatch: None,
            };
            b.m.set(b.p.timeout, 100_000);
            b.m.set(b.p.reset, 1);
            b.cycle();
            b.m.set(b.p.reset, 0);
            b
        }

        /// One clock of the closed loop.
        fn cycle(&mut self) {
            let p = &self.p;
            self.m.set(p.clock, 0);
            // What arrives now: the far end of the delay line.
            let (mut data, valid, start) = self.line.pop_front().unwrap();
            let mut rs_done = false;
            let mut rs_fail = false;
            let mut rs_count = 0;
            let mut crc_done = false;
            let mut crc_ok = false;
            if valid && start {
                let roll: f64 = self.rng.gen();
                let fate = if roll < self.p_uncorrectable {
                    Fate::Uncorrectable
                } else if roll < self.p_uncorrectable + self.p_crc_fail {
                    Fate::CrcFail
                } else {
                    Fate::Good(self.rng.gen_range(0..=8))
                };
                self.arriving = Some((fate, 0));
                if self.get(self.p.mode) == 4 || self.get(self.p.mode) == 3 {
                    if let Fate::Good(k) = fate {
                        self.expect_corrected += k as u64;
                    }
                    self.checks
                        .push_back((self.clocks + LATENCY + 2, self.expect_corrected, fate));
                }
                self.in_start_clock = Some(self.clocks);
                self.header.clear();
            }
            if let Some((fate, w)) = self.arriving {
                if valid {
                    if w < 2 {
                        self.header.push(data);
                    }
                    if w == 1 {
                        let slot = (self.header[0] & 0xFF00) | (self.header[1] & 0x00FF);
                        self.fates.push_back((slot, fate, self.clocks - 1));
                    }
                    if w == 0 {
                        rs_done = true;
                        rs_fail = fate == Fate::Uncorrectable;
                        rs_count = if let Fate::Good(n) = fate { n } else { 0 };
                    }
                    if w == 120 {
                        crc_done = true;
                        crc_ok = matches!(fate, Fate::Good(_));
                    }
                    // A broken frame's payload (and perhaps header) is garbage.
                    if !matches!(fate, Fate::Good(_)) && (4..118).contains(&w) {
                        data ^= self.rng.gen::<u16>() | 1;
                    }
                    self.arriving = if w == 127 { None } else { Some((fate, w + 1)) };
                }
            }
            self.m.set(p.data_in, data as u64);
            self.m.set(p.valid_in, valid as u64);
            self.m.set(p.start_in, (valid && start) as u64);
            self.m.set(p.rs_done_in, rs_done as u64);
            self.m.set(p.rs_fail_in, rs_fail as u64);
            self.m.set(p.rs_count_in, rs_count as u64);
            self.m.set(p.crc_done_in, crc_done as u64);
            self.m.set(p.crc_ok_in, crc_ok as u64);
            self.m.eval();
            // What leaves now enters the delay line.
            let out = (
                self.m.get(p.data_out) as u16,
                self.m.get(p.valid_out) == 1,
                self.m.get(p.start_out) == 1,
            );
            self.line.push_back(out);
            if out.1 {
                if out.2 {
                    if let Some(f) = self.out_cur.take() {
                        self.out_frames.push(f);
                    }
                    self.out_cur = Some(vec![]);
                }
                if let Some(f) = self.out_cur.as_mut() {
                    f.push(out.0);
                    if f.len() == 128 {
                        self.out_frames.push(self.out_cur.take().unwrap());
                    }
                }
            }
            if self.m.get(p.tap_valid) == 1 {
                if self.m.get(p.tap_start) == 1 {
                    if let Some(t) = self.tap_cur.take() {
                        self.taps.push(t);
                    }
                    self.tap_cur = Some((
                        self.m.get(p.tap_slot) as u16,
                        self.m.get(p.tap_bad) == 1,
                        vec![],
                    ));
                }
                let d = self.m.get(p.tap_data) as u16;
                if let Some(t) = self.tap_cur.as_mut() {
                    t.2.push(d);
                    if t.2.len() == PAYLOAD_WORDS {
                        self.taps.push(self.tap_cur.take().unwrap());
                    }
                }
            }
            while let Some(&(at, want, fate)) = self.checks.front() {
                if at > self.clocks {
                    break;
                }
                self.checks.pop_front();
                let got = self.m.get(self.p.corrected);
                if got != want && self.mismatch.is_none() {
                    self.mismatch = Some(format!(
                        "clock {}: corrected {got}, expected {want} after {fate:?}, mode {}",
                        self.clocks,
                        self.m.get(self.p.mode)
                    ));
                }
            }
            let p = &self.p;
            self.m.set(p.clock, 1);
            self.m.eval();
            self.m.set(p.cmd_fill, 0);
            self.m.set(p.wr_arm, 0);
            self.m.set(p.rd_arm, 0);
            self.m.set(p.wr_buf_we, 0);
            self.clocks += 1;
        }

        fn run(&mut self, n: usize) {
            for _ in 0..n {
                self.cycle();
            }
        }

        fn get(&self, port: Port) -> u64 {
            self.m.get(port)
        }

        fn fill(&mut self) {
            self.m.set(self.p.cmd_fill, 1);
            self.cycle();
            for _ in 0..200_000 {
                if self.get(self.p.mode) == 4 || self.get(self.p.no_loop) == 1 {
                    return;
                }
                self.cycle();
            }
            panic!("fill did not finish");
        }

        fn write_slot(&mut self, slot: u16, payload: &[u16]) {
            for (i, &w) in payload.iter().enumerate() {
                self.m.set(self.p.wr_buf_we, 1);
                self.m.set(self.p.wr_buf_addr, i as u64);
                self.m.set(self.p.wr_buf_data, w as u64);
                self.cycle();
            }
            self.m.set(self.p.wr_slot, slot as u64);
            self.m.set(self.p.wr_arm, 1);
            self.cycle();
            for _ in 0..20_000 {
                if self.get(self.p.wr_pending) == 0 {
                    return;
                }
                self.cycle();
            }
            panic!("write of slot {slot} never completed");
        }

        fn read_slot(&mut self, slot: u16) -> (u8, Vec<u16>) {
            self.m.set(self.p.rd_slot, slot as u64);
            self.m.set(self.p.rd_arm, 1);
            self.cycle();
            let mut waited = 0;
            while self.get(self.p.rd_pending) == 1 {
                self.cycle();
                waited += 1;
                assert!(waited < 20_000, "read of slot {slot} never completed");
            }
            let flags = self.get(self.p.rd_flags) as u8;
            let mut words = vec![];
            for i in 0..PAYLOAD_WORDS {
                self.m.set(self.p.rd_buf_addr, i as u64);
                self.cycle();
                words.push(self.get(self.p.rd_buf_data) as u16);
            }
            (flags, words)
        }
    }

    fn random_payload(rng: &mut ChaCha8Rng) -> Vec<u16> {
        (0..PAYLOAD_WORDS).map(|_| rng.gen()).collect()
    }

    #[test]
    fn fill_measures_the_delay_and_sizes_the_ring() {
        for ext in [300usize, 700, 1000, 2500] {
            let mut b = Bench::new(ext, ext as u64);
            b.fill();
            assert_eq!(b.get(b.p.mode), 4, "ext {ext}: not running");
            assert_eq!(b.get(b.p.delay), ext as u64, "ext {ext}");
            let n = (ext as u64 + LATENCY) / 128;
            assert_eq!(b.get(b.p.slots), n, "ext {ext}");
            // Two laps later every slot has gone round in order.
            b.run(3 * (ext + LATENCY as usize));
            let slots: Vec<u16> = b.taps.iter().map(|t| t.0).collect();
            assert!(slots.len() as u64 >= 2 * n, "{slots:?}");
            for w in slots.windows(2) {
                assert_eq!(w[1] as u64, (w[0] as u64 + 1) % n, "{slots:?}");
            }
            assert!(b.taps.iter().all(|t| !t.1 && t.2.iter().all(|&x| x == 0)));
            // Laps count once per ring.
            assert!(b.get(b.p.lap) >= 2);
        }
    }

    #[test]
    fn a_cut_while_running_raises_loop_lost_until_the_next_fill() {
        let ext = 400;
        let ring = ext + LATENCY as usize;
        let mut b = Bench::new(ext, 21);
        b.fill();
        assert_eq!(b.get(b.p.mode), 4);
        b.run(5 * ring);
        assert_eq!(b.get(b.p.loop_lost), 0, "a healthy loop is not lost");
        // A cut of half a ring period leaves a hole in the loop, but frames
        // still come back every lap: not lost.
        let cut = |b: &mut Bench, n: usize| {
            for _ in 0..n {
                b.line.pop_front();
                b.line.push_front((0, false, false));
                b.cycle();
            }
        };
        cut(&mut b, ring / 2);
        b.run(3 * ring);
        assert_eq!(
            b.get(b.p.loop_lost),
            0,
            "a gap shorter than a lap is no loss"
        );
        // Everything gone: lost, sticky, mode unchanged.
        b.line = (0..ext).map(|_| (0, false, false)).collect();
        cut(&mut b, 2 * ring);
        assert_eq!(b.get(b.p.loop_lost), 1);
        assert_eq!(b.get(b.p.mode), 4);
        b.run(ring);
        assert_eq!(b.get(b.p.loop_lost), 1);
        b.fill();
        assert_eq!(b.get(b.p.mode), 4);
        assert_eq!(b.get(b.p.loop_lost), 0);
    }

    #[test]
    fn a_loop_too_short_or_open_is_refused() {
        // Too short: T < 128 cannot hold a frame... T = ext + LATENCY >= 134,
        // so an open loop is the case to test: nothing comes back.
        let mut b = Bench::new(10, 1);
        b.line = VecDeque::from(vec![(0, false, false); 10]);
        b.m.set(b.p.timeout, 5_000);
        // Cut the loop: whatever goes out is lost.
        b.m.set(b.p.cmd_fill, 1);
        b.cycle();
        for _ in 0..6_000 {
            b.line.clear();
            b.line.push_back((0, false, false));
            b.cycle();
        }
        assert_eq!(b.get(b.p.no_loop), 1);
        assert_eq!(b.get(b.p.mode), 0);
    }

    #[test]
    fn writes_and_reads_round_trip_and_taps_follow_the_model() {
        let ext = 900;
        let mut b = Bench::new(ext, 7);
        b.fill();
        let n = b.get(b.p.slots) as usize;
        assert!(n >= 7);
        let mut model = LoopModel::filled(n);
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        for s in 0..n {
            let p = random_payload(&mut rng);
            b.write_slot(s as u16, &p);
            model.slots[s].payload = p;
            model.slots[s].flags = flags::VALID;
        }
        for s in (0..n).rev() {
            let (f, words) = b.read_slot(s as u16);
            assert_eq!(f, flags::VALID, "slot {s}");
            assert_eq!(words, model.slots[s].payload, "slot {s}");
        }
        // The tap carries every slot's payload after the writes completed.
        let before = b.taps.len();
        b.run(2 * (ext + LATENCY as usize));
        for (slot, bad, words) in &b.taps[before..] {
            assert!(!bad);
            assert_eq!(words, &model.slots[*slot as usize].payload, "slot {slot}");
        }
        // Headers out carry slot, lap and flags.
        let last = b.out_frames.last().unwrap().clone();
        let slot = (last[0] & 0xFF00) | (last[1] & 0xFF);
        assert!((slot as usize) < n);
        assert_eq!(last[3] >> 8, flags::VALID as u16);
    }

    #[test]
    #[allow(clippy::needless_range_loop)] // slots are indexed by number on purpose
    fn broken_frames_are_flagged_counted_and_refilled() {
        let ext = 1200;
        let mut b = Bench::new(ext, 11);
        b.fill();
        let n = b.get(b.p.slots) as usize;
        let mut model = LoopModel::filled(n);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for s in 0..n {
            let p = random_payload(&mut rng);
            b.write_slot(s as u16, &p);
            model.slots[s].payload = p;
            model.slots[s].flags = flags::VALID;
        }
        // Now break frames: 20% uncorrectable, 10% CRC failures.
        b.p_uncorrectable = 0.2;
        b.p_crc_fail = 0.1;
        b.run(20 * (ext + LATENCY as usize));
        b.p_uncorrectable = 0.0;
        b.p_crc_fail = 0.0;
        // Let the last broken frames drain through the controller.
        b.run(ext + LATENCY as usize);
        // Every frame since the fill except the marker (slot 0xFFFF, dropped)
        // and those still inside the controller (not yet counted).
        let now = b.clocks;
        let all: Vec<(u16, Fate, u64)> = b.fates.drain(..).filter(|f| f.0 != 0xFFFF).collect();
        let fates: Vec<(u16, Fate)> = all
            .iter()
            .filter(|f| f.2 + LATENCY + 2 <= now)
            .map(|f| (f.0, f.1))
            .collect();
        assert_eq!(b.mismatch, None, "corrected counter wrong after a frame");
        let unc = fates.iter().filter(|f| f.1 == Fate::Uncorrectable).count() as u64;
        let crc = fates.iter().filter(|f| f.1 == Fate::CrcFail).count() as u64;
        let corr: u64 = fates
            .iter()
            .map(|f| if let Fate::Good(k) = f.1 { k as u64 } else { 0 })
            .sum();
        assert!(unc > 10 && crc > 5, "unc {unc} crc {crc}");
        assert_eq!(b.get(b.p.uncorrectable), unc);
        assert_eq!(b.get(b.p.crc_fail), crc);
        assert_eq!(b.get(b.p.corrected), corr);
        assert_eq!(b.get(b.p.frames), fates.len() as u64);
        // Which slots went bad: the model follows the ring order.
        let mut bad = vec![false; n];
        let mut expected = None;
        for (slot, fate, _) in &all {
            let s = match fate {
                Fate::Good(_) => *slot as usize,
                _ => expected.unwrap_or(*slot as usize),
            };
            if !matches!(fate, Fate::Good(_)) {
                bad[s] = true;
            }
            expected = Some((s + 1) % n);
        }
        for s in 0..n {
            let (f, words) = b.read_slot(s as u16);
            if bad[s] {
                assert_eq!(f, flags::BAD, "slot {s} should be BAD");
            } else {
                assert_eq!(f, flags::VALID, "slot {s}");
                assert_eq!(words, model.slots[s].payload, "slot {s}");
            }
        }
        // Every tap of a bad slot said so.
        assert!(b.taps.iter().any(|t| t.1));
        // The host refills the bad slots; everything reads back.
        for s in 0..n {
            if bad[s] {
                b.write_slot(s as u16, &model.slots[s].payload.clone());
            }
        }
        for s in 0..n {
            let (f, words) = b.read_slot(s as u16);
            assert_eq!(f, flags::VALID, "slot {s}");
            assert_eq!(words, model.slots[s].payload, "slot {s}");
        }
    }

    #[test]
    fn loop_controller_synthesizes() {
        let mut uut = LoopController::default();
        uut.connect_all();
        let r = fiberloop_harness::synth::synth_block(&uut, "loop_controller").unwrap();
        println!("loop controller: {r}");
        assert!(r.brams() >= 1, "{r}");
    }
}

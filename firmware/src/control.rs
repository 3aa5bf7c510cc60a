//! The loop's control plane: fills, slot writes and reads, bad-slot
//! detection and the refill policy, over any [`RegisterBus`] at the word
//! addresses of `fiberloop_spec::regs`.
//!
//! The same code runs on the host (through the host protocol, see the host
//! crate's `device::ops`) and, later, on a soft CPU next to the gateware.
//!
//! # What goes wrong in a loop
//! * A frame the RS decoder cannot correct (a burst longer than the code
//!   corrects, or a CRC failure after decoding) keeps circulating with the
//!   `BAD` flag (`fiberloop_spec::frame::flags`): running a batch again
//!   cannot help, its slot must be written again.
//! * A cut (or a loss of signal or sync for a lap) loses everything in
//!   flight: `LOOP_LOST` rises in `LOOP_STATUS`; the loop must be filled
//!   again and every weight slot rewritten. A fill also clears word 0 of
//!   `MODEL_TAG`, which the policy writes back.
//!
//! # The policy ([`Refiller`])
//! The caller holds the slot images of what the loop must carry
//! ([`LoopImage`]). [`Refiller::run`] runs one batch (a caller's closure)
//! until it completes with weights the engine trusted:
//! 1. before each run, `LOOP_STATUS`: if the loop is lost (or not running),
//!    [`Refiller::refill_loop`]: fill (retried with a growing timeout while
//!    a cut lasts), rewrite every weight slot, restore the tag;
//! 2. the batch reports [`Batch::Bad`] (a weight frame it read was marked
//!    bad): [`Refiller::repair`] reads the flags of every weight slot and
//!    rewrites just the ones that are `BAD` or not `VALID` (if most of them
//!    are, it refills the loop instead); then the batch runs again. If the
//!    run after such a repair is `Bad` again, the loop is refilled (a fill
//!    resynchronises a ring whose frames were renumbered after a loss of
//!    sync: seen with 300-bit bursts, every weight slot read `BAD` again
//!    right after it was rewritten);
//! 3. the batch reports [`Batch::Lost`] (the loop was lost, or the batch
//!    stalled because a frame went missing): step 1 refills the loop.
//!
//! ## The bound
//! A batch is run at most [`RefillConfig::max_tries`] times (default
//! [`DEFAULT_MAX_TRIES`] = 16); then [`Error::RefillsCannotKeepUp`]. Each
//! run after the first follows a repair that left every weight slot `VALID`
//! and not `BAD`, so a run fails again only if a *new* uncorrectable error
//! hits one of its weight frames while it runs. If that happens to at most
//! every other batch (refills keep up), 16 failures in a row have a chance
//! of at most 2^-16 per batch: under 0.2 % over the 125 batches of 1,000
//! images. A fiber that corrupts a weight frame during nearly every batch
//! ends the run after 16 repairs instead of spinning forever. The bound
//! counts runs of one batch, not refills over a whole run: a long run on a
//! noisy fiber may refill many times and still succeed.
//!
//! Fills after a loss are tried at most [`RefillConfig::max_fills`] times,
//! the fill timeout doubling from four ring periods (the delay measured by
//! the previous fill) up to `FILL_TIMEOUT_DEFAULT`: with the defaults a cut
//! of up to about 4,000 ring periods is ridden through (20 ms on 1 km,
//! 0.5 s on 25 km), a longer one ends with [`Error::NoLoop`].

use crate::bus::RegisterBus;
use crate::error::Error;
use fiberloop_spec::frame::{flags, PAYLOAD_BYTES};
use fiberloop_spec::regs::{
    self, counter, ctrl, infer_bits, status_bits, FILL_TIMEOUT_DEFAULT, MODEL_TAG_WORDS, SLOT_WORDS,
};

/// The payload of one slot.
pub type SlotImage = [u8; PAYLOAD_BYTES];

/// Result of a control-plane operation on bus `B`.
pub type Result<T, B> = core::result::Result<T, Error<<B as RegisterBus>::Error>>;

/// Default of [`RefillConfig::max_tries`] (see the module documentation).
pub const DEFAULT_MAX_TRIES: u32 = 16;
/// Default of [`RefillConfig::max_fills`].
pub const DEFAULT_MAX_FILLS: u32 = 12;
/// Default of [`RefillConfig::max_polls`].
pub const DEFAULT_MAX_POLLS: u32 = 200;
/// Word clocks a frame takes (one slot of the ring).
const FRAME_CLOCKS: u32 = fiberloop_spec::frame::FRAME_WORDS as u32;

/// `LOOP_STATUS`, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopStatus(pub u32);

impl LoopStatus {
    /// The mode (`status_bits::MODE_*`).
    pub fn mode(self) -> u32 {
        self.0 & status_bits::MODE_MASK
    }
    /// Frames circulate and nothing was lost since the fill.
    pub fn running(self) -> bool {
        self.mode() == status_bits::MODE_RUNNING && !self.lost()
    }
    /// The loop's contents were lost (sticky until the next fill).
    pub fn lost(self) -> bool {
        self.0 & status_bits::LOOP_LOST != 0
    }
    /// The last fill found no loop.
    pub fn no_loop(self) -> bool {
        self.0 & status_bits::NO_LOOP != 0
    }
}

/// The header of a slot read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotInfo {
    /// Frame flags (`fiberloop_spec::frame::flags`).
    pub flags: u8,
    /// Lap counter when it was read.
    pub lap: u32,
}

impl SlotInfo {
    /// The slot holds what the host wrote, trustworthy: `VALID` and not
    /// `BAD`.
    pub fn good(self) -> bool {
        self.flags & flags::VALID != 0 && self.flags & flags::BAD == 0
    }
}

/// Reads `LOOP_STATUS`.
pub fn loop_status<B: RegisterBus>(bus: &mut B) -> Result<LoopStatus, B> {
    Ok(LoopStatus(
        bus.read32(regs::LOOP_STATUS).map_err(Error::Bus)?,
    ))
}

/// Reads 64-bit loop counter `i` (`regs::counter`) in one burst.
pub fn read_counter<B: RegisterBus>(bus: &mut B, i: u32) -> Result<u64, B> {
    let mut w = [0u32; 2];
    bus.read_words(regs::counter_addr(i), &mut w)
        .map_err(Error::Bus)?;
    Ok(w[0] as u64 | (w[1] as u64) << 32)
}

/// Slots in the loop (counter `IN_FLIGHT`, set by the last fill).
pub fn loop_slots<B: RegisterBus>(bus: &mut B) -> Result<u32, B> {
    Ok(read_counter(bus, counter::IN_FLIGHT)? as u32)
}

/// Starts a fill and waits until the loop runs: `Ok(slots)`, or
/// [`Error::NoLoop`] if no marker came back (after `FILL_TIMEOUT` word
/// clocks). `timeout`: a value for `FILL_TIMEOUT` first.
pub fn fill<B: RegisterBus>(bus: &mut B, timeout: Option<u32>, max_polls: u32) -> Result<u32, B> {
    if let Some(t) = timeout {
        bus.write32(regs::FILL_TIMEOUT, t).map_err(Error::Bus)?;
    }
    bus.write32(regs::LOOP_CTRL, ctrl::FILL)
        .map_err(Error::Bus)?;
    let polls = max_polls.max(1);
    let mut st = LoopStatus(0);
    for i in 0..polls {
        if i > 0 {
            bus.idle(i);
        }
        st = loop_status(bus)?;
        if st.no_loop() {
            return Err(Error::NoLoop {
                fills: 1,
                status: st.0,
            });
        }
        if st.mode() == status_bits::MODE_RUNNING {
            return loop_slots(bus);
        }
    }
    Err(Error::PollTimeout {
        addr: regs::LOOP_STATUS,
        mask: status_bits::MODE_MASK,
        expected: status_bits::MODE_RUNNING,
        last: st.0,
        polls,
    })
}

/// Writes a slot in one burst (payload, slot number, commit). The write
/// completes as the slot next passes: see [`wait_slot_written`]. The
/// register file answers `BUSY` while an earlier write is pending.
pub fn write_slot<B: RegisterBus>(bus: &mut B, slot: u32, payload: &SlotImage) -> Result<(), B> {
    let mut w = [0u32; SLOT_WORDS as usize + 2];
    for (d, b) in w.iter_mut().zip(payload.chunks_exact(4)) {
        *d = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    w[SLOT_WORDS as usize] = slot;
    w[SLOT_WORDS as usize + 1] = 1;
    bus.write_words(regs::SLOT_WR_BUF, &w).map_err(Error::Bus)
}

/// Waits until no slot write is pending.
pub fn wait_slot_written<B: RegisterBus>(bus: &mut B, max_polls: u32) -> Result<(), B> {
    bus.poll_until(regs::SLOT_WR_COMMIT, u32::MAX, 0, max_polls)
        .map(|_| ())
}

fn request_read<B: RegisterBus>(bus: &mut B, slot: u32, max_polls: u32) -> Result<(), B> {
    bus.write_words(regs::SLOT_RD_SLOT, &[slot, 1])
        .map_err(Error::Bus)?;
    bus.poll_until(regs::SLOT_RD_REQUEST, u32::MAX, 0, max_polls)
        .map(|_| ())
}

/// Reads a slot's flags and lap (the payload stays in the board's read
/// buffer): a request, polls until it is captured, a burst of 2 words.
pub fn read_slot_info<B: RegisterBus>(
    bus: &mut B,
    slot: u32,
    max_polls: u32,
) -> Result<SlotInfo, B> {
    request_read(bus, slot, max_polls)?;
    let mut w = [0u32; 2];
    bus.read_words(regs::SLOT_RD_FLAGS, &mut w)
        .map_err(Error::Bus)?;
    Ok(SlotInfo {
        flags: w[0] as u8,
        lap: w[1],
    })
}

/// Reads a slot whole into `payload`: a request, polls until it is
/// captured, one burst of payload, slot, request, flags and lap.
pub fn read_slot<B: RegisterBus>(
    bus: &mut B,
    slot: u32,
    payload: &mut SlotImage,
    max_polls: u32,
) -> Result<SlotInfo, B> {
    request_read(bus, slot, max_polls)?;
    let mut w = [0u32; SLOT_WORDS as usize + 4];
    bus.read_words(regs::SLOT_RD_BUF, &mut w)
        .map_err(Error::Bus)?;
    for (d, s) in payload.chunks_exact_mut(4).zip(&w) {
        d.copy_from_slice(&s.to_le_bytes());
    }
    Ok(SlotInfo {
        flags: w[SLOT_WORDS as usize + 2] as u8,
        lap: w[SLOT_WORDS as usize + 3],
    })
}

/// How a batch ended, as the caller's closure tells [`Refiller::run`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Batch<T> {
    /// Done with trusted weights: the outputs.
    Done(T),
    /// A weight frame read during the batch was marked bad.
    Bad,
    /// The loop was lost, or the batch stalled (a frame went missing).
    Lost,
}

/// Starts a batch (the inputs are in `ACT_IN`).
pub fn start_batch<B: RegisterBus>(bus: &mut B) -> Result<(), B> {
    bus.write32(regs::INFER_CTRL, regs::INFER_START)
        .map_err(Error::Bus)
}

/// Waits for the running batch: `Ok(Ok(status))` once it is no longer
/// busy (`INFER_STATUS`: check `DONE`, `BAD`, `OVERRUN`), `Ok(Err(Batch::Lost))`
/// if the loop is lost meanwhile, or if it is still busy after `max_polls`
/// polls although the loop runs (a frame went missing: the engine waits for
/// a slot that no longer comes round).
pub fn wait_batch<B: RegisterBus>(
    bus: &mut B,
    max_polls: u32,
) -> Result<core::result::Result<u32, Batch<()>>, B> {
    for i in 0..max_polls.max(1) {
        if i > 0 {
            bus.idle(i);
        }
        let s = bus.read32(regs::INFER_STATUS).map_err(Error::Bus)?;
        if s & infer_bits::BUSY == 0 {
            return Ok(Ok(s));
        }
        if i % 8 == 7 && !loop_status(bus)?.running() {
            return Ok(Err(Batch::Lost));
        }
    }
    Ok(Err(Batch::Lost))
}

/// Waits until the engine is not busy (a batch that started before a
/// refill finishes on whatever passes: its outputs are dropped).
pub fn wait_engine_idle<B: RegisterBus>(bus: &mut B, max_polls: u32) -> Result<(), B> {
    bus.poll_until(regs::INFER_STATUS, infer_bits::BUSY, 0, max_polls)
        .map(|_| ())
}

/// What the loop must hold: the weight slots `0..slots.len()` and the
/// `MODEL_TAG` words (restored after a fill, which clears word 0).
#[derive(Clone, Copy, Debug)]
pub struct LoopImage<'a> {
    /// Payload of slots `0..slots.len()`.
    pub slots: &'a [SlotImage],
    /// `MODEL_TAG` words.
    pub tag: [u32; MODEL_TAG_WORDS as usize],
}

/// Settings of the refill policy. See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefillConfig {
    /// Runs of one batch before [`Error::RefillsCannotKeepUp`].
    pub max_tries: u32,
    /// Fills tried after a loss before [`Error::NoLoop`].
    pub max_fills: u32,
    /// Polls of one register (slot operation, fill, batch) before giving up
    /// on it; [`RegisterBus::idle`] paces them.
    pub max_polls: u32,
}

impl Default for RefillConfig {
    fn default() -> Self {
        Self {
            max_tries: DEFAULT_MAX_TRIES,
            max_fills: DEFAULT_MAX_FILLS,
            max_polls: DEFAULT_MAX_POLLS,
        }
    }
}

/// What the policy did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefillStats {
    /// Scans of the weight slots' flags.
    pub scans: u64,
    /// Weight slots rewritten because they read `BAD` or not `VALID`.
    pub slots_rewritten: u64,
    /// Loop refills: fill and rewrite every weight slot (after a loss).
    pub loop_refills: u64,
    /// Fills made for those refills (more than one while a cut lasts).
    pub fills: u64,
    /// Batches run again after a repair.
    pub batches_rerun: u64,
}

impl RefillStats {
    /// Refills of any kind: slots rewritten plus loop refills.
    pub fn refills(&self) -> u64 {
        self.slots_rewritten + self.loop_refills
    }
}

/// The refill policy for one [`LoopImage`]. See the module documentation.
#[derive(Debug)]
pub struct Refiller<'a> {
    image: LoopImage<'a>,
    cfg: RefillConfig,
    stats: RefillStats,
}

impl<'a> Refiller<'a> {
    /// The policy for `image`.
    pub fn new(image: LoopImage<'a>, cfg: RefillConfig) -> Self {
        Self {
            image,
            cfg,
            stats: RefillStats::default(),
        }
    }

    /// Counts so far.
    pub fn stats(&self) -> RefillStats {
        self.stats
    }

    /// The settings.
    pub fn config(&self) -> RefillConfig {
        self.cfg
    }

    /// Writes every weight slot, waits for the last write, then writes the
    /// tag (words 1.. first, word 0, what says "loaded", last).
    pub fn write_all<B: RegisterBus>(&mut self, bus: &mut B) -> Result<(), B> {
        self.write_slots(bus, &mut |_| {})?;
        self.write_tag(bus)
    }

    /// Writes every weight slot and waits for the last write; `progress`
    /// gets each slot number before its write. A write that never completes
    /// because the loop was lost meanwhile (a cut: no slot comes round)
    /// makes it fill the loop again and start the writes over, at most
    /// [`RefillConfig::max_tries`] times.
    pub fn write_slots<B: RegisterBus>(
        &mut self,
        bus: &mut B,
        progress: &mut dyn FnMut(usize),
    ) -> Result<(), B> {
        let mut tries = 0;
        loop {
            match self.write_slots_once(bus, progress) {
                Err(e @ Error::PollTimeout { addr, .. }) if addr == regs::SLOT_WR_COMMIT => {
                    tries += 1;
                    let st = loop_status(bus)?;
                    if (st.running() && !st.lost()) || tries >= self.cfg.max_tries.max(1) {
                        return Err(e);
                    }
                    // The ring is gone: fill it again (a pending write
                    // lands on the new ring, then is written over).
                    self.fill_again(bus)?;
                }
                r => return r,
            }
        }
    }

    fn write_slots_once<B: RegisterBus>(
        &mut self,
        bus: &mut B,
        progress: &mut dyn FnMut(usize),
    ) -> Result<(), B> {
        let needed = self.image.slots.len() as u32;
        let have = loop_slots(bus)?;
        if have < needed {
            return Err(Error::LoopTooShort {
                slots: have,
                needed,
            });
        }
        for (i, img) in self.image.slots.iter().enumerate() {
            progress(i);
            if i > 0 {
                // The register file refuses a write while one is pending.
                wait_slot_written(bus, self.cfg.max_polls)?;
            }
            write_slot(bus, i as u32, img)?;
        }
        wait_slot_written(bus, self.cfg.max_polls)
    }

    /// Writes the `MODEL_TAG` words, word 0 last.
    pub fn write_tag<B: RegisterBus>(&mut self, bus: &mut B) -> Result<(), B> {
        bus.write_words(regs::MODEL_TAG + 1, &self.image.tag[1..])
            .map_err(Error::Bus)?;
        bus.write32(regs::MODEL_TAG, self.image.tag[0])
            .map_err(Error::Bus)
    }

    /// Fills the loop again after a loss, rewrites every weight slot and
    /// the tag. While the fill finds no loop (a cut that lasts), it is
    /// tried again with twice the timeout, at most
    /// [`RefillConfig::max_fills`] times.
    pub fn refill_loop<B: RegisterBus>(&mut self, bus: &mut B) -> Result<(), B> {
        // A slot write that never completes while the weights are written
        // again (a frame lost on a noisy fiber before its slot came round)
        // starts the refill over, at most `max_fills` times in all.
        let mut tries = 0;
        loop {
            tries += 1;
            self.fill_again(bus)?;
            match self.write_all(bus) {
                Err(Error::PollTimeout { .. }) if tries < self.cfg.max_fills.max(1) => continue,
                r => return r,
            }
        }
    }

    /// Fills the loop (see [`refill_loop`](Self::refill_loop)), counting a
    /// loop refill.
    fn fill_again<B: RegisterBus>(&mut self, bus: &mut B) -> Result<(), B> {
        let delay = read_counter(bus, counter::DELAY_CLOCKS)?.min(u32::MAX as u64) as u32;
        // Four ring periods, or the default if no delay was ever measured.
        let mut timeout = if delay == 0 {
            FILL_TIMEOUT_DEFAULT
        } else {
            delay
                .saturating_add(FRAME_CLOCKS)
                .saturating_mul(4)
                .min(FILL_TIMEOUT_DEFAULT)
        };
        let mut fills = 0;
        loop {
            fills += 1;
            self.stats.fills += 1;
            match fill(bus, Some(timeout), self.cfg.max_polls) {
                Ok(_) => break,
                Err(Error::NoLoop { status, .. }) if fills >= self.cfg.max_fills.max(1) => {
                    // Leave the default timeout for whoever fills next.
                    bus.write32(regs::FILL_TIMEOUT, FILL_TIMEOUT_DEFAULT)
                        .map_err(Error::Bus)?;
                    return Err(Error::NoLoop { fills, status });
                }
                Err(Error::NoLoop { .. }) => {
                    timeout = timeout.saturating_mul(2).min(FILL_TIMEOUT_DEFAULT);
                }
                Err(e) => return Err(e),
            }
        }
        bus.write32(regs::FILL_TIMEOUT, FILL_TIMEOUT_DEFAULT)
            .map_err(Error::Bus)?;
        self.stats.loop_refills += 1;
        Ok(())
    }

    /// Makes sure the loop runs: refills it if it is lost or not running.
    /// Returns whether it refilled.
    pub fn check_loop<B: RegisterBus>(&mut self, bus: &mut B) -> Result<bool, B> {
        if loop_status(bus)?.running() {
            return Ok(false);
        }
        self.refill_loop(bus)?;
        Ok(true)
    }

    /// Reads the flags of every weight slot and rewrites the ones that are
    /// `BAD` or not `VALID`; refills the whole loop instead if it is lost,
    /// or if a slot read never completes (a frame went missing). Returns
    /// the slots rewritten (all of them after a loop refill).
    pub fn repair<B: RegisterBus>(&mut self, bus: &mut B) -> Result<u32, B> {
        if self.check_loop(bus)? {
            return Ok(self.image.slots.len() as u32);
        }
        self.stats.scans += 1;
        let mut rewritten = 0;
        for (i, img) in self.image.slots.iter().enumerate() {
            let info = match read_slot_info(bus, i as u32, self.cfg.max_polls) {
                Ok(info) => info,
                Err(Error::PollTimeout { .. }) => {
                    self.refill_loop(bus)?;
                    return Ok(self.image.slots.len() as u32);
                }
                Err(e) => return Err(e),
            };
            if !info.good() {
                if 2 * (rewritten + 1) > self.image.slots.len() as u32 && self.image.slots.len() > 2
                {
                    // Most of the weights are bad: the ring was damaged as a
                    // whole; refill it (cheaper than reading on, and a fill
                    // resynchronises the ring).
                    self.stats.slots_rewritten += rewritten as u64;
                    self.refill_loop(bus)?;
                    return Ok(self.image.slots.len() as u32);
                }
                if !self.wait_written_or_refill(bus, rewritten)? {
                    return Ok(self.image.slots.len() as u32);
                }
                write_slot(bus, i as u32, img)?;
                rewritten += 1;
            }
        }
        if !self.wait_written_or_refill(bus, rewritten)? {
            return Ok(self.image.slots.len() as u32);
        }
        self.stats.slots_rewritten += rewritten as u64;
        Ok(rewritten)
    }

    /// Waits for the pending slot write; if it never completes (its slot
    /// no longer comes round: a frame lost, or renumbered by a corrupted
    /// header, though the loop still runs), counts the `rewritten` slots
    /// and refills the loop (a fill drops the pending write). Returns
    /// whether the write completed.
    fn wait_written_or_refill<B: RegisterBus>(
        &mut self,
        bus: &mut B,
        rewritten: u32,
    ) -> Result<bool, B> {
        match wait_slot_written(bus, self.cfg.max_polls) {
            Ok(()) => Ok(true),
            Err(Error::PollTimeout { .. }) => {
                self.stats.slots_rewritten += rewritten as u64;
                self.refill_loop(bus)?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Repairs until a scan finds every weight slot good (after a load:
    /// the weights are all in the loop as written), at most
    /// [`RefillConfig::max_tries`] scans.
    pub fn settle<B: RegisterBus>(&mut self, bus: &mut B) -> Result<(), B> {
        let before = self.stats;
        for _ in 0..self.cfg.max_tries.max(1) {
            if self.repair(bus)? == 0 {
                return Ok(());
            }
        }
        Err(self.gave_up(before, self.cfg.max_tries.max(1)))
    }

    fn gave_up<E>(&self, before: RefillStats, tries: u32) -> Error<E> {
        Error::RefillsCannotKeepUp {
            tries,
            slots_rewritten: (self.stats.slots_rewritten - before.slots_rewritten) as u32,
            loop_refills: (self.stats.loop_refills - before.loop_refills) as u32,
        }
    }

    /// Runs `batch` until it ends [`Batch::Done`], repairing the loop
    /// between runs (see the module documentation); at most
    /// [`RefillConfig::max_tries`] runs.
    ///
    /// The closure's error type is the caller's (it may fail in ways of its
    /// own, an overrun, bad outputs); the policy's errors convert into it.
    pub fn run<B: RegisterBus, T, E: From<Error<B::Error>>>(
        &mut self,
        bus: &mut B,
        mut batch: impl FnMut(&mut B) -> core::result::Result<Batch<T>, E>,
    ) -> core::result::Result<T, E> {
        let before = self.stats;
        let tries = self.cfg.max_tries.max(1);
        let mut bad_streak = 0;
        for t in 0..tries {
            if t > 0 {
                self.stats.batches_rerun += 1;
            }
            if self.check_loop(bus)? {
                // A batch started before the loss may still be waiting
                // for its slots: let it finish on the new ones.
                wait_engine_idle(bus, self.cfg.max_polls)?;
            }
            match batch(bus)? {
                Batch::Done(v) => return Ok(v),
                Batch::Bad if bad_streak >= 1 => {
                    // Rewriting the bad slots did not clear the batch: the
                    // ring itself may be damaged (frames renumbered after a
                    // loss of sync). A fill resynchronises it.
                    bad_streak = 0;
                    self.refill_loop(bus)?;
                }
                Batch::Bad => {
                    bad_streak += 1;
                    self.repair(bus)?;
                }
                Batch::Lost => {
                    // Refill now, even if the loop still runs (a stalled
                    // batch: a frame went missing).
                    self.refill_loop(bus)?;
                    wait_engine_idle(bus, self.cfg.max_polls)?;
                }
            }
        }
        Err(self.gave_up::<B::Error>(before, tries).into())
    }

    /// After writing the weights (a load): if the loop was lost, or frames
    /// went bad or missing since `since` (see [`damage`]), [`settle`](Self::settle)s
    /// the loop; otherwise every weight slot is as written (a slot write
    /// makes its frame `VALID`, not `BAD`) and nothing is read. Returns
    /// whether it scanned.
    pub fn settle_if_damaged<B: RegisterBus>(
        &mut self,
        bus: &mut B,
        since: u64,
    ) -> Result<bool, B> {
        if loop_status(bus)?.running() && damage(bus)? == since {
            return Ok(false);
        }
        self.settle(bus)?;
        Ok(true)
    }
}

/// A count that grows whenever a frame goes bad or missing: uncorrectable
/// frames, CRC failures, sync losses and start-of-frame drops (one burst
/// of counters 3 ..= 12).
pub fn damage<B: RegisterBus>(bus: &mut B) -> Result<u64, B> {
    let first = counter::UNCORRECTABLE;
    let mut w = [0u32; 2 * (counter::SOF_DROPS - counter::UNCORRECTABLE + 1) as usize];
    bus.read_words(regs::counter_addr(first), &mut w)
        .map_err(Error::Bus)?;
    let c = |i: u32| {
        let k = 2 * (i - first) as usize;
        w[k] as u64 | (w[k + 1] as u64) << 32
    };
    Ok(c(counter::UNCORRECTABLE)
        + c(counter::CRC_FAILURES)
        + c(counter::SYNC_LOSSES)
        + c(counter::SOF_DROPS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::vec::Vec;
    use std::{format, vec};

    /// A fake board at the register map's word addresses: a ring of slots
    /// with flags, fills, slot writes and reads that complete after one
    /// poll, and an engine whose batch is `BAD` if a weight slot is `BAD`
    /// or not `VALID`. Faults are scripted per batch.
    struct FakeLoop {
        ring: Vec<(u8, [u32; SLOT_WORDS as usize])>,
        weights: usize,
        regs: BTreeMap<u32, u32>,
        running: bool,
        lost: bool,
        no_loop: bool,
        /// Fills that find no loop before one succeeds.
        cut_fills: u32,
        fill_timeouts: Vec<u32>,
        wr_pending: Option<u32>,
        rd_pending: Option<u32>,
        /// Slots whose frame went missing (reads never complete).
        missing: Vec<u32>,
        /// Per batch (in start order): slots corrupted as it runs, and
        /// whether the loop is lost then.
        faults: Vec<(Vec<u32>, bool)>,
        batches: usize,
        infer_status: u32,
        slot_writes: Vec<u32>,
        idles: u32,
        /// The loop is lost when this many slot writes have been committed
        /// (a cut during a load): the pending write never completes.
        cut_at_write: Option<usize>,
    }

    const DELAY: u32 = 1000;

    impl FakeLoop {
        fn new(slots: usize, weights: usize) -> Self {
            Self {
                ring: vec![(0, [0; SLOT_WORDS as usize]); slots],
                weights,
                regs: BTreeMap::new(),
                running: false,
                lost: false,
                no_loop: false,
                cut_fills: 0,
                fill_timeouts: vec![],
                wr_pending: None,
                rd_pending: None,
                missing: vec![],
                faults: vec![],
                batches: 0,
                infer_status: 0,
                slot_writes: vec![],
                idles: 0,
                cut_at_write: None,
            }
        }

        fn fill(&mut self) {
            self.fill_timeouts
                .push(self.regs.get(&regs::FILL_TIMEOUT).copied().unwrap_or(0));
            self.regs.insert(regs::MODEL_TAG, 0);
            if self.cut_fills > 0 {
                self.cut_fills -= 1;
                self.running = false;
                self.no_loop = true;
                return;
            }
            for s in &mut self.ring {
                *s = (0, [0; SLOT_WORDS as usize]);
            }
            self.missing.clear();
            // A write pending on the old ring lands on the new one.
            self.wr_pending = None;
            self.running = true;
            self.lost = false;
            self.no_loop = false;
        }

        fn slot_payload(&self, slot: usize) -> SlotImage {
            let mut p = [0u8; PAYLOAD_BYTES];
            for (d, w) in p.chunks_exact_mut(4).zip(&self.ring[slot].1) {
                d.copy_from_slice(&w.to_le_bytes());
            }
            p
        }
    }

    impl RegisterBus for FakeLoop {
        type Error = u32;

        fn read32(&mut self, addr: u32) -> core::result::Result<u32, u32> {
            let c = |i: u32| regs::counter_addr(i);
            Ok(match addr {
                regs::LOOP_STATUS => {
                    (if self.running {
                        status_bits::MODE_RUNNING
                    } else {
                        status_bits::MODE_IDLE
                    }) | if self.lost { status_bits::LOOP_LOST } else { 0 }
                        | if self.no_loop {
                            status_bits::NO_LOOP
                        } else {
                            0
                        }
                }
                a if a == c(counter::IN_FLIGHT) => self.ring.len() as u32,
                a if a == c(counter::DELAY_CLOCKS) => DELAY,
                a if a == c(counter::IN_FLIGHT) + 1 || a == c(counter::DELAY_CLOCKS) + 1 => 0,
                regs::SLOT_WR_COMMIT if self.lost && self.wr_pending.is_some() => 1,
                regs::SLOT_WR_COMMIT => {
                    // Completes on the next look.
                    if let Some(s) = self.wr_pending.take() {
                        let mut w = [0; SLOT_WORDS as usize];
                        for (i, d) in w.iter_mut().enumerate() {
                            *d = self.regs[&(regs::SLOT_WR_BUF + i as u32)];
                        }
                        self.ring[s as usize] = (flags::VALID, w);
                        return Ok(1);
                    }
                    0
                }
                regs::SLOT_RD_REQUEST => match self.rd_pending {
                    Some(s) if self.missing.contains(&s) => 1,
                    Some(s) => {
                        self.rd_pending = None;
                        let (f, w) = self.ring[s as usize];
                        self.regs.insert(regs::SLOT_RD_FLAGS, f as u32);
                        self.regs.insert(regs::SLOT_RD_LAP, 7);
                        for (i, v) in w.iter().enumerate() {
                            self.regs.insert(regs::SLOT_RD_BUF + i as u32, *v);
                        }
                        1
                    }
                    None => 0,
                },
                regs::SLOT_RD_FLAGS | regs::SLOT_RD_LAP if self.rd_pending.is_some() => {
                    return Err(addr)
                }
                regs::INFER_STATUS => self.infer_status,
                a if regs::region(a).is_some_and(|r| r.access.readable()) => {
                    self.regs.get(&a).copied().unwrap_or(0)
                }
                _ => return Err(addr),
            })
        }

        fn write32(&mut self, addr: u32, value: u32) -> core::result::Result<(), u32> {
            match addr {
                regs::LOOP_CTRL if value == ctrl::FILL => self.fill(),
                regs::SLOT_WR_COMMIT => {
                    if self.wr_pending.is_some() || !self.running {
                        return Err(addr);
                    }
                    let s = self.regs[&regs::SLOT_WR_SLOT];
                    self.slot_writes.push(s);
                    self.wr_pending = Some(s);
                    if self.cut_at_write == Some(self.slot_writes.len()) {
                        self.cut_at_write = None;
                        self.lost = true;
                    }
                }
                regs::SLOT_RD_REQUEST => {
                    self.rd_pending = Some(self.regs[&regs::SLOT_RD_SLOT]);
                }
                a if (regs::SLOT_WR_BUF..=regs::SLOT_WR_SLOT).contains(&a)
                    && self.wr_pending.is_some() =>
                {
                    return Err(addr)
                }
                regs::INFER_CTRL => {
                    let (bad, lose) = self.faults.get(self.batches).cloned().unwrap_or_default();
                    self.batches += 1;
                    for s in bad {
                        self.ring[s as usize].0 |= flags::BAD;
                    }
                    if lose {
                        self.lost = true;
                        self.infer_status = infer_bits::BUSY;
                        return Ok(());
                    }
                    let ok = self.ring[..self.weights]
                        .iter()
                        .all(|(f, _)| f & flags::VALID != 0 && f & flags::BAD == 0);
                    self.infer_status = infer_bits::DONE | if ok { 0 } else { infer_bits::BAD };
                }
                a if regs::region(a).is_some_and(|r| r.access.writable()) => {}
                _ => return Err(addr),
            }
            self.regs.insert(addr, value);
            Ok(())
        }

        fn idle(&mut self, _poll: u32) {
            self.idles += 1;
            // A stalled batch finishes once the loop runs again.
            if self.infer_status & infer_bits::BUSY != 0 && self.running && !self.lost {
                self.infer_status = infer_bits::DONE;
            }
        }
    }

    fn images(n: usize) -> Vec<SlotImage> {
        (0..n)
            .map(|s| core::array::from_fn(|i| (s * 31 + i * 7) as u8))
            .collect()
    }

    fn tag() -> [u32; MODEL_TAG_WORDS as usize] {
        [0xC0FFEE, 64, 10, 2, 5, 0, 0, 0]
    }

    /// A loaded fake: filled, weights and tag written.
    fn loaded(imgs: &[SlotImage]) -> FakeLoop {
        let mut bus = FakeLoop::new(8, imgs.len());
        fill(&mut bus, None, 10).unwrap();
        let mut r = Refiller::new(
            LoopImage {
                slots: imgs,
                tag: tag(),
            },
            RefillConfig::default(),
        );
        r.write_all(&mut bus).unwrap();
        bus.slot_writes.clear();
        bus
    }

    /// One batch as a host runs it: start, wait, judge the status.
    fn batch(bus: &mut FakeLoop) -> Result<Batch<u32>, FakeLoop> {
        start_batch(bus)?;
        Ok(match wait_batch(bus, 50)? {
            Err(b) => match b {
                Batch::Lost => Batch::Lost,
                _ => unreachable!(),
            },
            Ok(s) if s & infer_bits::BAD != 0 => Batch::Bad,
            Ok(s) => Batch::Done(s),
        })
    }

    /// A cut while the weights are written: the pending write never
    /// completes; the loop is filled again and every slot written.
    #[test]
    fn a_cut_during_the_writes_fills_again_and_writes_every_slot() {
        let imgs = images(5);
        let mut bus = FakeLoop::new(8, imgs.len());
        fill(&mut bus, None, 10).unwrap();
        bus.cut_at_write = Some(3);
        let mut r = Refiller::new(
            LoopImage {
                slots: &imgs,
                tag: tag(),
            },
            RefillConfig::default(),
        );
        r.write_all(&mut bus).unwrap();
        assert_eq!(r.stats().loop_refills, 1);
        assert_eq!(bus.slot_writes, [0, 1, 2, 0, 1, 2, 3, 4]);
        for (s, img) in imgs.iter().enumerate() {
            assert_eq!(bus.slot_payload(s), *img, "slot {s}");
        }
        assert_eq!(bus.regs[&regs::MODEL_TAG], tag()[0]);
    }

    #[test]
    fn slot_operations_use_the_maps_word_addresses() {
        use crate::bus::mock::{Access, MockBus};
        let mut bus = MockBus::new();
        let img: SlotImage = core::array::from_fn(|i| i as u8);
        write_slot(&mut bus, 5, &img).unwrap();
        // One word per address, consecutive: 0x100 ..= 0x13A.
        let addrs: Vec<u32> = bus
            .log
            .iter()
            .map(|a| match a {
                Access::Write { addr, .. } => *addr,
                Access::Read { .. } => panic!("a read"),
            })
            .collect();
        assert_eq!(addrs, (0x100..=0x13A).collect::<Vec<u32>>());
        assert_eq!(bus.regs[&0x100], 0x0302_0100);
        assert_eq!(bus.regs[&0x138], u32::from_le_bytes([224, 225, 226, 227]));
        assert_eq!(bus.regs[&regs::SLOT_WR_SLOT], 5);
        assert_eq!(bus.regs[&regs::SLOT_WR_COMMIT], 1);

        let mut bus = MockBus::new();
        bus.regs.insert(regs::SLOT_RD_FLAGS, 0x03);
        bus.regs.insert(regs::SLOT_RD_LAP, 99);
        bus.script(regs::SLOT_RD_REQUEST, &[1, 1, 0]);
        let info = read_slot_info(&mut bus, 9, 10).unwrap();
        assert_eq!(info, SlotInfo { flags: 3, lap: 99 });
        assert!(!info.good(), "BAD");
        assert_eq!(bus.reads_of(regs::SLOT_RD_REQUEST), 3);
        assert_eq!(
            bus.log[..2],
            [
                Access::Write {
                    addr: 0x179,
                    value: 9
                },
                Access::Write {
                    addr: 0x17A,
                    value: 1
                }
            ]
        );
        assert_eq!(bus.reads_of(0x17B) + bus.reads_of(0x17C), 2);
    }

    #[test]
    fn counters_are_read_low_word_first_at_word_addresses() {
        use crate::bus::mock::MockBus;
        let mut bus = MockBus::new();
        bus.regs.insert(0x20 + 2 * counter::IN_FLIGHT, 113);
        bus.regs.insert(0x21 + 2 * counter::IN_FLIGHT, 1);
        assert_eq!(
            read_counter(&mut bus, counter::IN_FLIGHT),
            Ok((1 << 32) + 113)
        );
    }

    #[test]
    fn slots_round_trip_through_the_fake() {
        let imgs = images(3);
        let mut bus = loaded(&imgs);
        let mut p = [0u8; PAYLOAD_BYTES];
        let info = read_slot(&mut bus, 2, &mut p, 10).unwrap();
        assert!(info.good());
        assert_eq!(p, imgs[2]);
        assert_eq!(bus.slot_payload(1), imgs[1]);
        assert_eq!(bus.regs[&regs::MODEL_TAG], 0xC0FFEE);
    }

    #[test]
    fn a_bad_batch_rewrites_just_the_bad_slots_and_runs_again() {
        let imgs = images(5);
        let mut bus = loaded(&imgs);
        // Batch 0 sees slots 1 and 3 go bad; batch 1 (the rerun) is clean.
        bus.faults = vec![(vec![1, 3], false)];
        // Slot 6 (not a weight slot) bad too: not rewritten.
        bus.ring[6].0 |= flags::BAD;
        let mut r = Refiller::new(
            LoopImage {
                slots: &imgs,
                tag: tag(),
            },
            RefillConfig::default(),
        );
        let s = r.run(&mut bus, batch).unwrap();
        assert_eq!(s, infer_bits::DONE);
        assert_eq!(bus.slot_writes, vec![1, 3]);
        assert_eq!(bus.slot_payload(3), imgs[3]);
        let st = r.stats();
        assert_eq!(
            (
                st.scans,
                st.slots_rewritten,
                st.loop_refills,
                st.batches_rerun
            ),
            (1, 2, 0, 1)
        );
        assert_eq!(st.refills(), 2);
        // A clean batch: nothing done.
        let s = r.run(&mut bus, batch).unwrap();
        assert_eq!(s, infer_bits::DONE);
        assert_eq!(r.stats().batches_rerun, 1);
    }

    #[test]
    fn a_lost_loop_is_filled_and_rewritten_with_its_tag() {
        let imgs = images(4);
        let mut bus = loaded(&imgs);
        // The loop is lost while batch 0 runs; the cut lasts two fills.
        bus.faults = vec![(vec![], true)];
        bus.cut_fills = 2;
        let mut r = Refiller::new(
            LoopImage {
                slots: &imgs,
                tag: tag(),
            },
            RefillConfig::default(),
        );
        r.run(&mut bus, batch).unwrap();
        let st = r.stats();
        assert_eq!((st.loop_refills, st.fills, st.batches_rerun), (1, 3, 1));
        assert_eq!(bus.slot_writes, vec![0, 1, 2, 3]);
        assert_eq!(bus.slot_payload(2), imgs[2]);
        assert_eq!(bus.regs[&regs::MODEL_TAG], 0xC0FFEE, "tag restored");
        // Fill timeouts: four ring periods, doubling; the default restored.
        let t0 = 4 * (DELAY + 128);
        assert_eq!(bus.fill_timeouts[1..], [t0, 2 * t0, 4 * t0]);
        assert_eq!(bus.regs[&regs::FILL_TIMEOUT], FILL_TIMEOUT_DEFAULT);
        assert_eq!(bus.batches, 2);
    }

    #[test]
    fn a_loss_between_batches_is_refilled_before_the_next() {
        let imgs = images(2);
        let mut bus = loaded(&imgs);
        bus.lost = true;
        let mut r = Refiller::new(
            LoopImage {
                slots: &imgs,
                tag: tag(),
            },
            RefillConfig::default(),
        );
        r.run(&mut bus, batch).unwrap();
        assert_eq!(r.stats().loop_refills, 1);
        assert_eq!(r.stats().batches_rerun, 0);
        assert_eq!(bus.batches, 1);
    }

    #[test]
    fn a_missing_frame_refills_the_loop() {
        let imgs = images(3);
        let mut bus = loaded(&imgs);
        bus.missing = vec![1];
        bus.ring[2].0 |= flags::BAD;
        let mut r = Refiller::new(
            LoopImage {
                slots: &imgs,
                tag: tag(),
            },
            RefillConfig {
                max_polls: 5,
                ..Default::default()
            },
        );
        assert_eq!(r.repair(&mut bus), Ok(3));
        assert_eq!(r.stats().loop_refills, 1);
        assert_eq!(bus.slot_writes, vec![0, 1, 2]);
    }

    #[test]
    fn errors_beyond_the_bound_end_with_a_message_naming_them() {
        let imgs = images(3);
        let mut bus = loaded(&imgs);
        // Every batch sees slot 0 go bad.
        bus.faults = vec![(vec![0], false); 100];
        let cfg = RefillConfig::default();
        let mut r = Refiller::new(
            LoopImage {
                slots: &imgs,
                tag: tag(),
            },
            cfg,
        );
        let e = r.run(&mut bus, batch).unwrap_err();
        assert_eq!(
            e,
            Error::RefillsCannotKeepUp {
                tries: DEFAULT_MAX_TRIES,
                // Slot repairs and loop refills alternate.
                slots_rewritten: DEFAULT_MAX_TRIES / 2,
                loop_refills: DEFAULT_MAX_TRIES / 2
            }
        );
        assert_eq!(bus.batches, DEFAULT_MAX_TRIES as usize);
        let msg = format!("{e}");
        assert!(msg.contains("refills cannot keep up"), "{msg}");
        assert!(msg.contains("16 times in a row"), "{msg}");
    }

    #[test]
    fn a_cut_longer_than_the_fills_is_no_loop() {
        let imgs = images(2);
        let mut bus = loaded(&imgs);
        bus.lost = true;
        bus.cut_fills = 100;
        let mut r = Refiller::new(
            LoopImage {
                slots: &imgs,
                tag: tag(),
            },
            RefillConfig {
                max_fills: 4,
                ..Default::default()
            },
        );
        let e = r.run(&mut bus, batch).unwrap_err();
        assert!(matches!(e, Error::NoLoop { fills: 4, .. }), "{e:?}");
        assert!(format!("{e}").contains("fiber cut"), "{e}");
        assert_eq!(bus.batches, 0);
        assert_eq!(bus.regs[&regs::FILL_TIMEOUT], FILL_TIMEOUT_DEFAULT);
    }

    #[test]
    fn settle_rewrites_until_a_scan_is_clean_and_a_short_loop_is_refused() {
        let imgs = images(4);
        let mut bus = loaded(&imgs);
        bus.ring[0].0 = 0;
        bus.ring[3].0 |= flags::BAD;
        let mut r = Refiller::new(
            LoopImage {
                slots: &imgs,
                tag: tag(),
            },
            RefillConfig::default(),
        );
        r.settle(&mut bus).unwrap();
        assert_eq!(bus.slot_writes, vec![0, 3]);
        assert_eq!(r.stats().scans, 2, "one scan repairs, one finds all good");

        let imgs = images(9);
        let mut bus = FakeLoop::new(8, 9);
        fill(&mut bus, None, 10).unwrap();
        let mut r = Refiller::new(
            LoopImage {
                slots: &imgs,
                tag: tag(),
            },
            RefillConfig::default(),
        );
        assert_eq!(
            r.write_all(&mut bus),
            Err(Error::LoopTooShort {
                slots: 8,
                needed: 9
            })
        );
        assert!(bus.slot_writes.is_empty());
    }

    #[test]
    fn a_load_is_scanned_only_if_frames_went_bad_meanwhile() {
        let imgs = images(3);
        let mut bus = loaded(&imgs);
        let mut r = Refiller::new(
            LoopImage {
                slots: &imgs,
                tag: tag(),
            },
            RefillConfig::default(),
        );
        let d = damage(&mut bus).unwrap();
        assert_eq!(r.settle_if_damaged(&mut bus, d), Ok(false));
        assert_eq!(r.stats().scans, 0);
        // An uncorrectable frame and a lost one since: scan, repair.
        bus.regs
            .insert(regs::counter_addr(counter::UNCORRECTABLE), 1);
        bus.regs
            .insert(regs::counter_addr(counter::SOF_DROPS) + 1, 1);
        assert_eq!(damage(&mut bus), Ok(d + 1 + (1 << 32)));
        bus.ring[1].0 |= flags::BAD;
        assert_eq!(r.settle_if_damaged(&mut bus, d), Ok(true));
        assert_eq!(bus.slot_writes, vec![1]);
        assert_eq!(r.stats().scans, 2);
    }

    #[test]
    fn polls_let_device_time_pass() {
        let imgs = images(2);
        let mut bus = loaded(&imgs);
        let before = bus.idles;
        read_slot_info(&mut bus, 1, 10).unwrap();
        assert_eq!(bus.idles, before + 1, "one poll pending, one done");
    }
}

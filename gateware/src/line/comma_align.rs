//! [`CommaAligner`]: finds the symbol and word boundary in the raw 20-bit
//! SERDES RX stream from the K28.5 commas of the idle words, so that whole
//! code-groups come out with a comma always in lane 0.

use crate::model::code8b10b::{COMMA7_MASK, COMMA7_RD_MINUS, COMMA7_RD_PLUS};
use rust_hdl::prelude::*;

/// Commas needed at one offset, in a row, to (re-)lock there.
pub const LOCK_COMMAS: u8 = 3;

/// Comma aligner for the 20-bit SERDES RX word.
///
/// `raw_in` is the word as the SERDES delivers it: bit 0 arrived first, and
/// the symbol boundary can be at any of the 20 bit positions. The aligner
/// keeps the previous word, looks at the 40-bit window `{raw_in, previous}`
/// (previous in bits 19:0, first in time) and outputs the 20 bits starting
/// at the chosen offset `o` (0..=19): window bits `o+19 .. o`.
///
/// # Comma search and lock
///
/// * Every clock, the 7-bit comma (`0011111` or `1100000` in line order,
///   [`COMMA7_RD_MINUS`] / [`COMMA7_RD_PLUS`], the start of K28.1/K28.5/K28.7
///   at either disparity) is searched at the 20 window positions `p` =
///   0..=19 (window bits `p+6 .. p`, so every comma starting in the previous
///   word is seen exactly once). A comma at `p` means offset `p` puts it at
///   the start of lane 0. If several positions match (only possible with
///   bit errors, K28.7, or noise before lock), the lowest `p` wins and the
///   others are ignored that clock.
/// * A candidate offset and a count (saturating at [`LOCK_COMMAS`]) track
///   consecutive comma sightings: a comma at the candidate increments the
///   count, a comma elsewhere makes that position the candidate with a
///   count of one. Words without a comma change nothing (idle words need
///   not be adjacent).
/// * When the count reaches [`LOCK_COMMAS`] (3) at a candidate that is not
///   the current offset (or before the first lock), the offset switches to
///   it and the aligner is locked. So, while locked, a comma at a different
///   offset counts toward re-locking there, and the aligner re-locks after
///   three in a row: a slip of any number of bits, including a whole symbol
///   (a comma in the lane-1 position is a different offset, 10 bits away),
///   is followed. One stray comma (a bit error) does not move the offset.
/// * Once locked, `locked_out` stays high until `reset`: dropping the lock
///   on decode errors is left to the blocks downstream, which can pulse
///   `reset`.
///
/// Offset, lock and slip outputs describe the word on `aligned_out` in the
/// same clock.
///
/// # Timing
///
/// * Latency: 2 clocks. The aligned word whose first bit arrived in the
///   raw word presented at clock edge `n` is on `aligned_out` after edge
///   `n + 1` (with offset 0, `aligned_out` is `raw_in` delayed by two
///   clocks). A comma starting in the word of edge `n` is counted at edge
///   `n + 1`; if it completes a lock, the new offset applies to the aligned
///   word starting in the next raw word (edge `n + 1`), out after edge
///   `n + 2`, and `slip_out` is high with it.
/// * Throughput: one word every clock.
/// * Reset: `reset` (synchronous) clears the lock, the offset (to 0), the
///   candidate and the count; the data path keeps running. At power-up all
///   registers are zero (unlocked, offset 0).
#[derive(LogicBlock)]
pub struct CommaAligner {
    /// The word clock.
    pub clock: Signal<In, Clock>,
    /// Raw SERDES RX word, bit 0 received first.
    pub raw_in: Signal<In, Bits<20>>,
    /// Synchronous: forget the lock, offset 0.
    pub reset: Signal<In, Bit>,
    /// Aligned word: bits 9:0 and 19:10 are whole code-groups (bit 0 first),
    /// a comma always in bits 9:0 once locked.
    pub aligned_out: Signal<Out, Bits<20>>,
    /// At least [`LOCK_COMMAS`] commas in a row have been seen at one offset
    /// since reset.
    pub locked_out: Signal<Out, Bit>,
    /// The offset `aligned_out` was taken at (0..=19).
    pub offset_out: Signal<Out, Bits<5>>,
    /// High for one clock with the first word taken at a new offset.
    pub slip_out: Signal<Out, Bit>,
    comma_minus: Constant<Bits<7>>,
    comma_plus: Constant<Bits<7>>,
    lock_commas: Constant<Bits<2>>,
    /// `{raw_in, prev}`: bit 0 is the oldest.
    window: Signal<Local, Bits<40>>,
    /// A comma was found at some position.
    hit: Signal<Local, Bit>,
    /// The lowest position with a comma.
    hit_pos: Signal<Local, Bits<5>>,
    /// Candidate and count after this clock's sighting.
    next_cand: Signal<Local, Bits<5>>,
    next_count: Signal<Local, Bits<2>>,
    /// Switch to `next_cand` this clock.
    switch: Signal<Local, Bit>,
    prev: DFF<Bits<20>>,
    offset: DFF<Bits<5>>,
    cand: DFF<Bits<5>>,
    count: DFF<Bits<2>>,
    locked: DFF<Bit>,
    slip: DFF<Bit>,
    aligned: DFF<Bits<20>>,
    out_offset: DFF<Bits<5>>,
    out_locked: DFF<Bit>,
    out_slip: DFF<Bit>,
}

impl Default for CommaAligner {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            raw_in: Default::default(),
            reset: Default::default(),
            aligned_out: Default::default(),
            locked_out: Default::default(),
            offset_out: Default::default(),
            slip_out: Default::default(),
            comma_minus: Constant::new(u64::from(COMMA7_RD_MINUS).into()),
            comma_plus: Constant::new(u64::from(COMMA7_RD_PLUS).into()),
            lock_commas: Constant::new(u64::from(LOCK_COMMAS).into()),
            window: Default::default(),
            hit: Default::default(),
            hit_pos: Default::default(),
            next_cand: Default::default(),
            next_count: Default::default(),
            switch: Default::default(),
            prev: Default::default(),
            offset: Default::default(),
            cand: Default::default(),
            count: Default::default(),
            locked: Default::default(),
            slip: Default::default(),
            aligned: Default::default(),
            out_offset: Default::default(),
            out_locked: Default::default(),
            out_slip: Default::default(),
        }
    }
}

impl Logic for CommaAligner {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, prev, offset, cand, count, locked, slip, aligned, out_offset, out_locked,
            out_slip
        );
        self.prev.d.next = self.raw_in.val();
        self.window.next =
            bit_cast::<40, 20>(self.prev.q.val()) | (bit_cast::<40, 20>(self.raw_in.val()) << 20);

        // Comma search, highest position first so that the lowest wins.
        self.hit.next = false;
        self.hit_pos.next = bits::<5>(0);
        for q in 0..20 {
            if (self.window.val().get_bits::<7>(19 - q) == self.comma_minus.val())
                | (self.window.val().get_bits::<7>(19 - q) == self.comma_plus.val())
            {
                self.hit.next = true;
                self.hit_pos.next = (19 - q).to_bits();
            }
        }

        self.next_cand.next = self.cand.q.val();
        self.next_count.next = self.count.q.val();
        if self.hit.val() {
            if self.hit_pos.val() == self.cand.q.val() {
                if self.count.q.val() != self.lock_commas.val() {
                    self.next_count.next = self.count.q.val() + 1;
                }
            } else {
                self.next_cand.next = self.hit_pos.val();
                self.next_count.next = bits::<2>(1);
            }
        }
        self.switch.next = (self.next_count.val() == self.lock_commas.val())
            & (!self.locked.q.val() | (self.next_cand.val() != self.offset.q.val()));

        self.cand.d.next = self.next_cand.val();
        self.count.d.next = self.next_count.val();
        self.slip.d.next = false;
        if self.switch.val() {
            self.offset.d.next = self.next_cand.val();
            self.locked.d.next = true;
            self.slip.d.next = self.next_cand.val() != self.offset.q.val();
        }
        if self.reset.val() {
            self.offset.d.next = bits::<5>(0);
            self.cand.d.next = bits::<5>(0);
            self.count.d.next = bits::<2>(0);
            self.locked.d.next = false;
            self.slip.d.next = false;
        }

        // Output stage: the word at the current offset, with the state that
        // chose it.
        self.aligned.d.next = self
            .window
            .val()
            .get_bits::<20>(self.offset.q.val().index());
        self.out_offset.d.next = self.offset.q.val();
        self.out_locked.d.next = self.locked.q.val();
        self.out_slip.d.next = self.slip.q.val();
        self.aligned_out.next = self.aligned.q.val();
        self.offset_out.next = self.out_offset.q.val();
        self.locked_out.next = self.out_locked.q.val();
        self.slip_out.next = self.out_slip.q.val();
    }
}

/// Outputs of [`CommaAligner`] in one clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlignerOut {
    /// `aligned_out`.
    pub aligned: u32,
    /// `locked_out`.
    pub locked: bool,
    /// `offset_out`.
    pub offset: u8,
    /// `slip_out`.
    pub slip: bool,
}

/// Cycle-level reference model of [`CommaAligner`].
#[derive(Clone, Debug, Default)]
pub struct AlignerRef {
    prev: u32,
    offset: u8,
    cand: u8,
    count: u8,
    locked: bool,
    slip: bool,
    out: AlignerOut,
}

impl AlignerRef {
    /// A model in the power-up state.
    pub fn new() -> Self {
        Self::default()
    }

    /// The lowest window position (0..20) where a 7-bit comma starts.
    pub fn find_comma(window: u64) -> Option<u8> {
        (0..20u8).find(|&p| {
            let w = (window >> p) as u16 & COMMA7_MASK;
            w == COMMA7_RD_MINUS || w == COMMA7_RD_PLUS
        })
    }

    /// One clock: returns the outputs visible before the edge, then clocks
    /// in `raw`/`reset`.
    pub fn step(&mut self, raw: u32, reset: bool) -> AlignerOut {
        let out = self.out;
        let window = u64::from(self.prev) | u64::from(raw) << 20;
        self.out = AlignerOut {
            aligned: (window >> self.offset) as u32 & 0xF_FFFF,
            locked: self.locked,
            offset: self.offset,
            slip: self.slip,
        };
        let (mut cand, mut count) = (self.cand, self.count);
        if let Some(p) = Self::find_comma(window) {
            if p == cand {
                count = (count + 1).min(LOCK_COMMAS);
            } else {
                (cand, count) = (p, 1);
            }
        }
        self.slip = false;
        if count == LOCK_COMMAS && (!self.locked || cand != self.offset) {
            self.slip = cand != self.offset;
            self.offset = cand;
            self.locked = true;
        }
        (self.cand, self.count) = (cand, count);
        if reset {
            (self.offset, self.cand, self.count) = (0, 0, 0);
            (self.locked, self.slip) = (false, false);
        }
        self.prev = raw;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::decoder::Decoder8b10b;
    use crate::line::encoder::Encoder8b10b;
    use crate::model::code8b10b::{self, CONTROL_CODES, K28_1, K28_5, K28_7};
    use fiberloop_harness::verilator::{Model, Port};
    use fiberloop_spec::line::{D16_2, K27_7};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A transmitted word stream and what the receiver gets: the same bits
    /// after a random prefix (the initial offset) and with bit slips
    /// (insertions and drops of 1..19 bits).
    struct Line {
        /// Sent words: (data, k).
        words: Vec<(u16, u8)>,
        /// Sent code words (20 bits, lane 0 first).
        codes: Vec<u32>,
        /// The word is an idle word (K28.5 in lane 0).
        idle: Vec<bool>,
        /// Received bits.
        rx: Vec<u8>,
        /// For each received bit, the transmitted bit position it carries.
        rx_map: Vec<Option<usize>>,
        /// For each transmitted bit position, where it was received.
        tx_map: Vec<Option<usize>>,
        /// Received bit positions where a slip happened (the first at 0).
        events: Vec<usize>,
    }

    /// Random words: idle (K28.5, D16.2) with probability 1/8, otherwise
    /// random octets with 5 % control symbols (never a comma-carrying
    /// K28.1/K28.5/K28.7) and K27.7 now and then in lane 0.
    fn random_words(rng: &mut ChaCha8Rng, n: usize) -> (Vec<(u16, u8)>, Vec<bool>) {
        let controls: Vec<u8> = CONTROL_CODES
            .iter()
            .copied()
            .filter(|&c| c != K28_1 && c != K28_5 && c != K28_7)
            .collect();
        let mut words = Vec::with_capacity(n);
        let mut idle = Vec::with_capacity(n);
        for _ in 0..n {
            if rng.gen_ratio(1, 8) {
                words.push((u16::from(K28_5) | u16::from(D16_2) << 8, 0b01));
                idle.push(true);
                continue;
            }
            let mut data = 0u16;
            let mut k = 0u8;
            for lane in 0..2 {
                let (b, c) = if lane == 0 && rng.gen_ratio(1, 50) {
                    (K27_7, true)
                } else if rng.gen_ratio(1, 20) {
                    (controls[rng.gen_range(0..controls.len())], true)
                } else {
                    (rng.gen(), false)
                };
                data |= u16::from(b) << (8 * lane);
                k |= u8::from(c) << lane;
            }
            words.push((data, k));
            idle.push(false);
        }
        (words, idle)
    }

    impl Line {
        /// Builds the received stream from `codes`: `offset` random bits
        /// first, then a slip every `slip_every` words on average.
        fn new(
            rng: &mut ChaCha8Rng,
            words: Vec<(u16, u8)>,
            idle: Vec<bool>,
            codes: Vec<u32>,
            offset: usize,
            slip_every: u32,
        ) -> Self {
            let tx_len = codes.len() * 20;
            let mut rx = Vec::with_capacity(tx_len + 64);
            let mut rx_map = Vec::with_capacity(tx_len + 64);
            let mut tx_map = vec![None; tx_len];
            for _ in 0..offset {
                rx.push(rng.gen_range(0..2u8));
                rx_map.push(None);
            }
            let mut events = vec![0];
            let mut t = 0;
            while t < tx_len {
                // Slips only at least 200 words apart and away from the ends.
                if t % 20 == 0
                    && t > 200 * 20
                    && t + 400 * 20 < tx_len
                    && t > events.last().unwrap() + 200 * 20
                    && rng.gen_ratio(1, slip_every)
                {
                    let n = rng.gen_range(1..20);
                    // Somewhere inside this word.
                    let at = t + rng.gen_range(0..20);
                    while t < at {
                        tx_map[t] = Some(rx.len());
                        rx.push((codes[t / 20] >> (t % 20)) as u8 & 1);
                        rx_map.push(Some(t));
                        t += 1;
                    }
                    events.push(rx.len());
                    if rng.gen() {
                        for _ in 0..n {
                            rx.push(rng.gen_range(0..2u8));
                            rx_map.push(None);
                        }
                    } else {
                        t += n;
                    }
                    continue;
                }
                tx_map[t] = Some(rx.len());
                rx.push((codes[t / 20] >> (t % 20)) as u8 & 1);
                rx_map.push(Some(t));
                t += 1;
            }
            Line {
                words,
                codes,
                idle,
                rx,
                rx_map,
                tx_map,
                events,
            }
        }

        /// Received words, 20 bits each (a partial last word is dropped).
        fn rx_words(&self) -> Vec<u32> {
            self.rx
                .chunks_exact(20)
                .map(|c| c.iter().rev().fold(0u32, |a, &b| a << 1 | u32::from(b)))
                .collect()
        }

        /// The transmitted word index if the 20 received bits from `r` are
        /// exactly one transmitted word.
        fn word_at(&self, r: usize) -> Option<usize> {
            let t = self.rx_map.get(r).copied().flatten()?;
            if t % 20 != 0 {
                return None;
            }
            (0..20)
                .all(|j| self.rx_map.get(r + j).copied().flatten() == Some(t + j))
                .then_some(t / 20)
        }

        /// Whether the aligner counts the comma starting at received bit `r`:
        /// no stray comma (random bits around a slip) sits at a lower
        /// position of the same 40-bit window.
        fn comma_counted(&self, r: usize) -> bool {
            let n = r / 20;
            let window = (0..40).fold(0u64, |a, j| {
                a | u64::from(self.rx.get(20 * n + j).copied().unwrap_or(0)) << j
            });
            AlignerRef::find_comma(window) == Some((r % 20) as u8)
        }

        /// From which received bit on every aligned word must be a whole
        /// transmitted word again after event `e`: the start of the word
        /// after the one holding the third intact comma past the event.
        fn settled_after(&self, e: usize) -> usize {
            let mut commas = 0;
            for (w, &idle) in self.idle.iter().enumerate() {
                if !idle {
                    continue;
                }
                if let Some(r) = self.tx_map[w * 20] {
                    if r >= self.events[e] && self.word_at(r).is_some() && self.comma_counted(r) {
                        commas += 1;
                        if commas == usize::from(LOCK_COMMAS) {
                            return r + 20;
                        }
                    }
                }
            }
            usize::MAX
        }
    }

    struct AlignerHarness {
        m: Model,
        clock: Port,
        raw: Port,
        reset: Port,
        aligned: Port,
        locked: Port,
        offset: Port,
        slip: Port,
        model: AlignerRef,
        clocks: usize,
    }

    impl AlignerHarness {
        fn new() -> Self {
            let mut uut = CommaAligner::default();
            uut.connect_all();
            let m = Model::of_block(&uut).unwrap();
            Self {
                clock: m.p("clock"),
                raw: m.p("raw_in"),
                reset: m.p("reset"),
                aligned: m.p("aligned_out"),
                locked: m.p("locked_out"),
                offset: m.p("offset_out"),
                slip: m.p("slip_out"),
                m,
                model: AlignerRef::new(),
                clocks: 0,
            }
        }

        /// A `reset` pulse (the model follows it), then two idle clocks to
        /// flush the output stage.
        fn restart(&mut self) {
            self.step(0, true);
            self.step(0, false);
            self.step(0, false);
        }

        fn step(&mut self, raw: u32, reset: bool) -> AlignerOut {
            self.m.set(self.clock, 0);
            self.m.set(self.raw, raw.into());
            self.m.set(self.reset, reset.into());
            self.m.eval();
            let got = AlignerOut {
                aligned: self.m.get(self.aligned) as u32,
                locked: self.m.get(self.locked) != 0,
                offset: self.m.get(self.offset) as u8,
                slip: self.m.get(self.slip) != 0,
            };
            let want = self.model.step(raw, reset);
            assert_eq!(got, want, "clock {}", self.clocks);
            self.clocks += 1;
            self.m.set(self.clock, 1);
            self.m.eval();
            got
        }
    }

    /// Runs one received stream through the aligner (hardware against the
    /// model every clock) and checks the behaviour the design promises:
    /// the output is the window slice at `offset_out` (2-clock latency), one
    /// slip per event, and every word from three commas after an event up
    /// to the next event is a whole transmitted word that the model decoder
    /// turns back into the sent octets. Returns the words checked.
    fn run_line(h: &mut AlignerHarness, line: &Line) -> usize {
        let rx_words = line.rx_words();
        let mut dec = code8b10b::Decoder::new();
        let mut slips = 0;
        let mut checked = 0;
        let mut first_lock_offset = None;
        for (c, &raw) in rx_words.iter().enumerate() {
            let out = h.step(raw, false);
            if c < 2 {
                continue;
            }
            // aligned_out now is the word from received bit 20(c-2)+offset.
            let r = 20 * (c - 2) + usize::from(out.offset);
            let slice = (0..20).fold(0u32, |a, j| a | u32::from(line.rx[r + j]) << j);
            assert_eq!(out.aligned, slice, "clock {c}: not the window slice");
            slips += usize::from(out.slip);
            if out.locked && first_lock_offset.is_none() {
                first_lock_offset = Some(out.offset);
            }
            let e = line.events.partition_point(|&p| p <= r).max(1) - 1;
            let next_event = line.events.get(e + 1).copied().unwrap_or(usize::MAX);
            let word = line.word_at(r);
            if let Some(w) = word {
                // Decode through the model (RD follows the received bits);
                // compare once the decoder has seen a clean word.
                let lo = dec.decode(out.aligned as u16 & 0x3FF);
                let hi = dec.decode((out.aligned >> 10) as u16);
                if r >= line.settled_after(e) && r + 20 <= next_event {
                    assert!(out.locked, "clock {c}: not locked");
                    assert_eq!(out.aligned, line.codes[w]);
                    let (data, k) = line.words[w];
                    assert_eq!((lo.byte, lo.control), (data as u8, k & 1 != 0));
                    assert_eq!((hi.byte, hi.control), ((data >> 8) as u8, k & 2 != 0));
                    assert!(!lo.code_error && !hi.code_error);
                    checked += 1;
                }
            } else {
                dec.decode(out.aligned as u16 & 0x3FF);
                dec.decode((out.aligned >> 10) as u16);
                assert!(
                    r < line.settled_after(e) || r + 20 > next_event,
                    "clock {c}: word at received bit {r} is misaligned (event {e}, settled from {}, {out:?}, events {:?})",
                    line.settled_after(e), line.events
                );
            }
        }
        // Each slip event moves the boundary by 1..19 bits: one offset
        // change each, plus one for the first lock if it is not at 0.
        let want = line.events.len() - 1 + usize::from(first_lock_offset.unwrap_or(0) != 0);
        assert_eq!(slips, want, "slip strobes");
        checked
    }

    /// Every one of the 20 initial bit offsets, each with a stream of 3 000
    /// random words (idles sprinkled) and bit slips of 1..19 bits inserted or
    /// dropped mid-stream; the hardware is compared with the model on every
    /// clock (about 60 000), and the aligned stream with the sent one.
    #[test]
    fn comma_aligner_matches_model_at_every_offset_with_slips() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xA119_0020);
        let mut h = AlignerHarness::new();
        let mut total_events = 0;
        let mut checked = 0;
        for offset in 0..20 {
            h.restart();
            let (words, idle) = random_words(&mut rng, 3000);
            let mut enc = code8b10b::Encoder::new();
            let codes = words
                .iter()
                .map(|&(d, k)| {
                    u32::from(enc.encode(d as u8, k & 1 != 0).unwrap())
                        | u32::from(enc.encode((d >> 8) as u8, k & 2 != 0).unwrap()) << 10
                })
                .collect();
            let line = Line::new(&mut rng, words, idle, codes, offset, 400);
            total_events += line.events.len() - 1;
            checked += run_line(&mut h, &line);
        }
        assert!(total_events >= 40, "only {total_events} slips");
        assert!(checked > 45_000, "checked {checked}");
    }

    /// Stray commas: one comma at a wrong offset does not move a lock; a
    /// reset drops it; the slip strobe and offset follow a whole-symbol
    /// (10-bit) slip.
    #[test]
    fn comma_aligner_ignores_a_stray_comma_and_follows_a_symbol_slip() {
        let mut h = AlignerHarness::new();
        let mut enc = code8b10b::Encoder::new();
        let mut idle_word = || {
            u32::from(enc.encode(K28_5, true).unwrap())
                | u32::from(enc.encode(D16_2, false).unwrap()) << 10
        };
        // Three idle words at offset 0: locked, no slip.
        let mut outs = Vec::new();
        for _ in 0..6 {
            let w = idle_word();
            outs.push(h.step(w, false));
        }
        // The third comma (word 2) is counted at edge 3; the lock shows with
        // the word out after edge 4.
        assert!(!outs[4].locked);
        assert!(outs[5].locked && outs[5].offset == 0 && !outs.iter().any(|o| o.slip));
        // A lone comma at position 7, then idles at 0 again: no change.
        h.step(u32::from(code8b10b::COMMA_RD_MINUS) << 7, false);
        for _ in 0..5 {
            let w = idle_word();
            let o = h.step(w, false);
            assert!(o.locked && o.offset == 0 && !o.slip);
        }
        // Shift by one symbol: commas now come in lane 1.
        let mut shifted = Vec::new();
        for _ in 0..8 {
            let w = idle_word();
            shifted.push(w);
        }
        let mut prev = 0u32;
        let mut seen_slip = false;
        for &w in &shifted {
            let raw = (prev >> 10) | (w & 0x3FF) << 10;
            prev = w;
            let o = h.step(raw, false);
            if o.slip {
                assert_eq!(o.offset, 10);
                assert_eq!(o.aligned & 0x3FF, u32::from(code8b10b::COMMA_RD_MINUS));
                seen_slip = true;
            }
        }
        assert!(seen_slip);
        let o = h.step(0, true);
        assert!(o.locked);
        h.step(0, false);
        let o = h.step(0, false);
        assert!(!o.locked && o.offset == 0);
    }

    /// The receive chain end to end in Verilator: the Encoder8b10b block
    /// encodes random words (idles sprinkled), the bit stream is shifted by
    /// an initial offset and slipped mid-stream, the CommaAligner block
    /// (checked against its model every clock) aligns it, and the
    /// Decoder8b10b block decodes it. Every word from three commas after a
    /// slip up to the next slip must come out as sent, without code errors
    /// (a disparity error is allowed only on the first words after a
    /// re-lock, while the decoder's RD catches up).
    #[test]
    fn encoder_aligner_decoder_chain_recovers_the_data() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xC4A1_2020);
        let mut enc_uut = Encoder8b10b::default();
        enc_uut.connect_all();
        let mut enc = Model::of_block(&enc_uut).unwrap();
        let (e_clk, e_data, e_k, e_reset, e_code) = (
            enc.p("clock"),
            enc.p("data_in"),
            enc.p("k_in"),
            enc.p("reset"),
            enc.p("code_out"),
        );
        let mut dec_uut = Decoder8b10b::default();
        dec_uut.connect_all();
        let mut dec = Model::of_block(&dec_uut).unwrap();
        let (d_clk, d_code, d_reset, d_data, d_k, d_cerr, d_derr) = (
            dec.p("clock"),
            dec.p("code_in"),
            dec.p("reset"),
            dec.p("data_out"),
            dec.p("k_out"),
            dec.p("code_err_out"),
            dec.p("disp_err_out"),
        );
        let mut h = AlignerHarness::new();
        let (mut recovered, mut late_disp) = (0usize, 0usize);
        for offset in [0, 3, 10, 19, 13] {
            h.restart();
            let (words, idle) = random_words(&mut rng, 3000);
            // Encoder block: code of word i comes out one clock later.
            let mut codes = Vec::with_capacity(words.len());
            for i in 0..=words.len() {
                let (data, k) = words.get(i).copied().unwrap_or((0, 0));
                enc.set(e_clk, 0);
                enc.set(e_data, data.into());
                enc.set(e_k, k.into());
                enc.set(e_reset, u64::from(i == 0));
                enc.eval();
                if i > 0 {
                    codes.push(enc.get(e_code) as u32);
                }
                enc.set(e_clk, 1);
                enc.eval();
            }
            let line = Line::new(&mut rng, words, idle, codes, offset, 400);
            // Per aligned word: the transmitted word it must be (or None if
            // it need not be one).
            let mut pending: Option<Option<usize>> = None;
            let mut since_settle = 0usize;
            for (c, &raw) in line.rx_words().iter().enumerate() {
                let out = h.step(raw, false);
                dec.set(d_clk, 0);
                dec.set(d_code, out.aligned.into());
                dec.set(d_reset, 0);
                dec.eval();
                if let Some(must) = pending {
                    let got = (
                        dec.get(d_data) as u16,
                        dec.get(d_k) as u8,
                        dec.get(d_cerr) as u8,
                        dec.get(d_derr) as u8,
                    );
                    if let Some(w) = must {
                        let (data, k) = line.words[w];
                        assert_eq!((got.0, got.1, got.2), (data, k, 0), "clock {c}");
                        if got.3 != 0 {
                            assert!(since_settle < 8, "clock {c}: disparity error");
                            late_disp += 1;
                        }
                        since_settle += 1;
                        recovered += 1;
                    } else {
                        since_settle = 0;
                    }
                }
                dec.set(d_clk, 1);
                dec.eval();
                pending = None;
                if c >= 2 {
                    let r = 20 * (c - 2) + usize::from(out.offset);
                    let e = line.events.partition_point(|&p| p <= r).max(1) - 1;
                    let next_event = line.events.get(e + 1).copied().unwrap_or(usize::MAX);
                    let must = (r >= line.settled_after(e) && r + 20 <= next_event)
                        .then(|| line.word_at(r).expect("settled word is whole"));
                    pending = Some(must);
                }
            }
        }
        println!("chain: {recovered} words recovered, {late_disp} early disparity flags");
        assert!(recovered > 12_000, "recovered {recovered}");
    }

    /// The block under rust-hdl's own simulator (the Rust side of
    /// `update`, which must agree with the Verilog), against the model on a
    /// 1 500-word stream at offset 11 with slips.
    #[test]
    fn comma_aligner_rust_hdl_simulation_matches_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xA119_0005);
        let (words, idle) = random_words(&mut rng, 1500);
        let mut enc = code8b10b::Encoder::new();
        let codes = words
            .iter()
            .map(|&(d, k)| {
                u32::from(enc.encode(d as u8, k & 1 != 0).unwrap())
                    | u32::from(enc.encode((d >> 8) as u8, k & 2 != 0).unwrap()) << 10
            })
            .collect();
        let line = Line::new(&mut rng, words, idle, codes, 11, 100);
        assert!(line.events.len() > 1);
        let mut uut = CommaAligner::default();
        uut.connect_all();
        let mut model = AlignerRef::new();
        let mut slips = 0;
        for (i, &raw) in line.rx_words().iter().enumerate() {
            uut.clock.next = Clock { clk: false };
            uut.raw_in.next = u64::from(raw).into();
            uut.reset.next = false;
            assert!(simulate(&mut uut, 100));
            let got = AlignerOut {
                aligned: u64::from(uut.aligned_out.val()) as u32,
                locked: uut.locked_out.val(),
                offset: u64::from(uut.offset_out.val()) as u8,
                slip: uut.slip_out.val(),
            };
            assert_eq!(got, model.step(raw, false), "clock {i}");
            slips += usize::from(got.slip);
            uut.clock.next = Clock { clk: true };
            assert!(simulate(&mut uut, 100));
        }
        assert!(slips >= line.events.len() - 1);
    }

    #[test]
    fn comma_aligner_is_synthesizable() {
        let mut uut = CommaAligner::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "line_comma_aligner").unwrap();
        println!("CommaAligner: {report}");
        assert!(report.ffs() <= 70, "{report}");
        assert!(report.luts() < 600, "{report}");
    }
}

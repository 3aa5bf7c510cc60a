//! A model of the fiber spool between the SERDES TX and RX: delay, bit errors,
//! error bursts and cuts, seeded and reproducible.
//!
//! The model works on the serial bit stream, not on words: the delay is a
//! whole number of *bits* (length x 4.8968 us/km x line rate, plus the
//! transceivers' latency), so the receiver sees the words at whatever bit
//! offset the length gives, as a real receiver does, and the comma aligner
//! has to find the symbol boundary. Bits are numbered by their index in the TX
//! stream: TX word `n` carries bits `20n .. 20n+19`, bit 0 of the word first.
//!
//! Impairments, all drawn from one seeded ChaCha8 generator:
//! * independent bit errors at a bit error ratio (`ber`);
//! * bursts: starting as a Poisson process (`burst_rate_per_s`), each
//!   `burst_len_bits` long, whose first and last bits are flipped and the
//!   others flipped with probability 1/2;
//! * planned bursts: the same kind of burst at a TX bit index the caller
//!   chooses ([`FiberSpool::plan_burst`]), for tests that aim at a codeword;
//! * cuts: from a given RX word for a given number of words the receiver sees
//!   no light, and everything in flight when the cut starts is lost (so the
//!   dark time seen at RX is the cut plus one fiber delay). Dark bits come out
//!   as random noise with [`RxWord::signal`] low, as a receiver's output does
//!   under loss of signal.
//!
//! Before the first bit has travelled the fiber, the receiver is dark too.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Propagation delay of single-mode fiber, group index 1.468, in s/m.
pub const SECONDS_PER_METRE: f64 = fiberloop_spec::line::FIBER_NS_PER_KM * 1e-12;

/// Settings of the spool.
#[derive(Clone, Debug, PartialEq)]
pub struct FiberConfig {
    /// Length of fiber, metres.
    pub length_m: f64,
    /// TX plus RX latency of the transceivers and SERDES, nanoseconds.
    pub transceiver_latency_ns: f64,
    /// Line rate, bits per second.
    pub line_rate_bps: f64,
    /// Bits per SERDES word.
    pub word_bits: u32,
    /// Independent bit error ratio, 0 ..= 0.5.
    pub ber: f64,
    /// Mean bursts per second of line time.
    pub burst_rate_per_s: f64,
    /// Length of each burst, bits (1 ..= 4096).
    pub burst_len_bits: u32,
    /// Seed of every random draw.
    pub seed: u64,
}

impl Default for FiberConfig {
    fn default() -> Self {
        Self {
            length_m: 1000.0,
            transceiver_latency_ns: 200.0,
            line_rate_bps: fiberloop_spec::line::LINE_RATE_BPS as f64,
            word_bits: fiberloop_spec::line::SERDES_WORD_BITS as u32,
            ber: 0.0,
            burst_rate_per_s: 0.0,
            burst_len_bits: 32,
            seed: 1,
        }
    }
}

/// A setting of the spool that makes no sense.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FiberError {
    /// Length negative or not finite.
    #[error("fiber length must be a finite number of metres >= 0 (got {0})")]
    Length(f64),
    /// Latency negative or not finite.
    #[error("transceiver latency must be a finite number of ns >= 0 (got {0})")]
    Latency(f64),
    /// BER outside 0..=0.5.
    #[error("bit error ratio must be in 0 ..= 0.5 (got {0})")]
    Ber(f64),
    /// Burst rate negative or not finite.
    #[error("burst rate must be a finite number of bursts per second >= 0 (got {0})")]
    BurstRate(f64),
    /// Burst length outside 1..=4096.
    #[error("burst length must be 1 ..= 4096 bits (got {0})")]
    BurstLen(u32),
    /// Word width outside 1..=32.
    #[error("word width must be 1 ..= 32 bits (got {0})")]
    WordBits(u32),
    /// Line rate not positive.
    #[error("line rate must be > 0 bit/s (got {0})")]
    LineRate(f64),
    /// A planned burst starts at a bit that has already been received.
    #[error(
        "a burst planned at TX bit {at} is too late: bits up to {received} have been received"
    )]
    BurstInPast {
        /// The planned start.
        at: u64,
        /// First TX bit not yet received.
        received: u64,
    },
    /// Delay too long to model.
    #[error("fiber delay of {0} bits is more than this model holds ({MAX_DELAY_BITS} bits)")]
    TooLong(u64),
}

/// What the receiver gets in one word clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxWord {
    /// The received bits, bit 0 first.
    pub bits: u32,
    /// Light was present for every bit of the word.
    pub signal: bool,
}

/// Running totals of what the model did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FiberStats {
    /// Words received.
    pub words: u64,
    /// Bits flipped by independent errors.
    pub random_flips: u64,
    /// Bursts that started.
    pub bursts: u64,
    /// Bits flipped by bursts.
    pub burst_flips: u64,
    /// Words received with no light in some bit.
    pub dark_words: u64,
}

/// The longest delay modelled, bits (a 256 MiB ring; ~175,000 km at 2.5 Gb/s).
pub const MAX_DELAY_BITS: u64 = 1 << 31;

/// The spool.
#[derive(Clone)]
pub struct FiberSpool {
    cfg: FiberConfig,
    delay_bits: u64,
    /// Ring of transmitted bits; capacity a power of two >= delay + word.
    ring: Vec<u64>,
    mask: u64,
    /// Words sent so far (= words received).
    words: u64,
    /// Dark intervals of TX bit indices, [start, end).
    dark: Vec<(u64, u64)>,
    rng: ChaCha8Rng,
    next_random: u64,
    next_burst: u64,
    /// Active burst: [start, end) in TX bit indices.
    burst: Option<(u64, u64)>,
    /// Planned bursts, (start, length) in TX bit indices, by start.
    planned: std::collections::VecDeque<(u64, u64)>,
    /// Tests: every word through the bit loop (see [`FiberSpool::step`]).
    #[cfg(test)]
    bit_loop_only: bool,
    stats: FiberStats,
    error_log: Option<Vec<u64>>,
}

/// Draws the gap to the next event of a Bernoulli(p) process per bit.
fn geometric(rng: &mut ChaCha8Rng, p: f64) -> u64 {
    if p <= 0.0 {
        return u64::MAX;
    }
    if p >= 1.0 {
        return 0;
    }
    let u: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
    let g = (u.ln() / (1.0 - p).ln()).floor();
    if g >= (u64::MAX / 2) as f64 {
        u64::MAX / 2
    } else {
        g as u64
    }
}

impl std::fmt::Debug for FiberSpool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FiberSpool")
            .field("cfg", &self.cfg)
            .field("delay_bits", &self.delay_bits)
            .field("words", &self.words)
            .field("dark", &self.dark)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl FiberSpool {
    /// A spool with the given settings.
    pub fn new(cfg: FiberConfig) -> Result<Self, FiberError> {
        if !(cfg.length_m.is_finite() && cfg.length_m >= 0.0) {
            return Err(FiberError::Length(cfg.length_m));
        }
        if !(cfg.transceiver_latency_ns.is_finite() && cfg.transceiver_latency_ns >= 0.0) {
            return Err(FiberError::Latency(cfg.transceiver_latency_ns));
        }
        if !(0.0..=0.5).contains(&cfg.ber) {
            return Err(FiberError::Ber(cfg.ber));
        }
        if !(cfg.burst_rate_per_s.is_finite() && cfg.burst_rate_per_s >= 0.0) {
            return Err(FiberError::BurstRate(cfg.burst_rate_per_s));
        }
        if !(1..=4096).contains(&cfg.burst_len_bits) {
            return Err(FiberError::BurstLen(cfg.burst_len_bits));
        }
        if !(1..=32).contains(&cfg.word_bits) {
            return Err(FiberError::WordBits(cfg.word_bits));
        }
        if !(cfg.line_rate_bps.is_finite() && cfg.line_rate_bps > 0.0) {
            return Err(FiberError::LineRate(cfg.line_rate_bps));
        }
        let seconds = cfg.length_m * SECONDS_PER_METRE + cfg.transceiver_latency_ns * 1e-9;
        let delay_bits = (seconds * cfg.line_rate_bps).round() as u64;
        if delay_bits > MAX_DELAY_BITS {
            return Err(FiberError::TooLong(delay_bits));
        }
        let cap_bits = (delay_bits + 2 * cfg.word_bits as u64 + 64).next_power_of_two();
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let next_random = geometric(&mut rng, cfg.ber);
        let p_burst = cfg.burst_rate_per_s / cfg.line_rate_bps;
        let next_burst = geometric(&mut rng, p_burst);
        Ok(Self {
            delay_bits,
            ring: vec![0; (cap_bits / 64) as usize],
            mask: cap_bits - 1,
            words: 0,
            dark: vec![],
            rng,
            next_random,
            next_burst,
            burst: None,
            planned: Default::default(),
            stats: FiberStats::default(),
            error_log: None,
            cfg,
            #[cfg(test)]
            bit_loop_only: false,
        })
    }

    /// The settings.
    pub fn config(&self) -> &FiberConfig {
        &self.cfg
    }

    /// Delay from TX to RX in bits (fiber plus transceivers).
    pub fn delay_bits(&self) -> u64 {
        self.delay_bits
    }

    /// Delay in word clocks (fractional: the bit offset is real).
    pub fn delay_words(&self) -> f64 {
        self.delay_bits as f64 / self.cfg.word_bits as f64
    }

    /// Bits in flight in the glass alone (not the transceivers).
    pub fn bits_in_fiber(&self) -> u64 {
        (self.cfg.length_m * SECONDS_PER_METRE * self.cfg.line_rate_bps).round() as u64
    }

    /// Totals so far.
    pub fn stats(&self) -> &FiberStats {
        &self.stats
    }

    /// Starts keeping the TX bit index of every flipped bit (for tests that
    /// check a decoder's correction count against what was injected).
    pub fn log_errors(&mut self) {
        self.error_log = Some(vec![]);
    }

    /// The TX bit indices flipped since [`FiberSpool::log_errors`], in order.
    pub fn error_log(&self) -> &[u64] {
        self.error_log.as_deref().unwrap_or(&[])
    }

    /// Changes the independent bit error ratio from the next bit received on.
    /// A bad value is refused and changes nothing.
    pub fn set_ber(&mut self, ber: f64) -> Result<(), FiberError> {
        if !(0.0..=0.5).contains(&ber) {
            return Err(FiberError::Ber(ber));
        }
        self.cfg.ber = ber;
        self.next_random = geometric(&mut self.rng, ber);
        Ok(())
    }

    /// Changes the random bursts (mean rate per second, length in bits) from
    /// the next bit received on. Bad values are refused and change nothing.
    pub fn set_bursts(&mut self, rate_per_s: f64, len_bits: u32) -> Result<(), FiberError> {
        if !(rate_per_s.is_finite() && rate_per_s >= 0.0) {
            return Err(FiberError::BurstRate(rate_per_s));
        }
        if !(1..=4096).contains(&len_bits) {
            return Err(FiberError::BurstLen(len_bits));
        }
        self.cfg.burst_rate_per_s = rate_per_s;
        self.cfg.burst_len_bits = len_bits;
        self.next_burst = geometric(&mut self.rng, rate_per_s / self.cfg.line_rate_bps);
        Ok(())
    }

    /// First TX bit index that has not reached the receiver yet: bits from
    /// here up to the last one sent are in flight and can still be hit.
    pub fn next_rx_tx_bit(&self) -> u64 {
        (self.words * self.cfg.word_bits as u64).saturating_sub(self.delay_bits)
    }

    /// Plans a burst of `len_bits` (1..=4096) starting at TX bit `at`, which
    /// must not have been received yet: its first and last bits are flipped,
    /// the others with probability 1/2, as for random bursts. Planned bursts
    /// must not overlap each other or a random burst.
    pub fn plan_burst(&mut self, at: u64, len_bits: u32) -> Result<(), FiberError> {
        if !(1..=4096).contains(&len_bits) {
            return Err(FiberError::BurstLen(len_bits));
        }
        let received = self.next_rx_tx_bit();
        if at < received {
            return Err(FiberError::BurstInPast { at, received });
        }
        let i = self.planned.partition_point(|&(s, _)| s < at);
        self.planned.insert(i, (at, len_bits as u64));
        Ok(())
    }

    /// Cuts the fiber now, for `words` word clocks: the receiver goes dark now
    /// and stays dark until light sent after the cut has crossed the spool.
    pub fn cut(&mut self, words: u64) {
        let wb = self.cfg.word_bits as u64;
        let now_rx = self.words * wb; // first RX bit of the next word, as time
                                      // Everything in flight: TX bits sent in [now_rx - delay, now_rx) plus
                                      // those sent during the cut.
        let start = now_rx.saturating_sub(self.delay_bits);
        let end = now_rx + words * wb;
        self.dark.push((start, end));
    }

    fn is_dark(&self, tx_bit: u64) -> bool {
        self.dark.iter().any(|&(s, e)| tx_bit >= s && tx_bit < e)
    }

    /// Writes the `n` (1..=32) low bits of `bits` at ring position `at`.
    fn write_bits(&mut self, at: u64, bits: u32, n: u32) {
        let m = (1u64 << n) - 1;
        let v = bits as u64 & m;
        let i = at & self.mask;
        let (w, b) = ((i / 64) as usize, (i % 64) as u32);
        self.ring[w] = (self.ring[w] & !(m << b)) | (v << b);
        if b + n > 64 {
            // The rest goes into the next ring word (the ring is a power of
            // two of at least 128 bits).
            let w2 = (w + 1) % self.ring.len();
            let s = 64 - b;
            self.ring[w2] = (self.ring[w2] & !(m >> s)) | (v >> s);
        }
    }

    /// Reads `n` (1..=32) bits from ring position `at`, the first in bit 0.
    fn read_bits(&self, at: u64, n: u32) -> u32 {
        let i = at & self.mask;
        let (w, b) = ((i / 64) as usize, (i % 64) as u32);
        let mut v = self.ring[w] >> b;
        if b + n > 64 {
            v |= self.ring[(w + 1) % self.ring.len()] << (64 - b);
        }
        (v & ((1u64 << n) - 1)) as u32
    }

    fn read_bit(&self, at: u64) -> bool {
        let i = at & self.mask;
        (self.ring[(i / 64) as usize] >> (i % 64)) & 1 == 1
    }

    fn flip(&mut self, tx_bit: u64) {
        if let Some(log) = self.error_log.as_mut() {
            log.push(tx_bit);
        }
    }

    /// One word clock: `tx` goes into the fiber, the word that reaches the
    /// receiver comes out.
    pub fn step(&mut self, tx: u32) -> RxWord {
        let wb = self.cfg.word_bits as u64;
        let t0 = self.words * wb; // time of the first bit, in bit periods
        self.write_bits(t0, tx, self.cfg.word_bits);
        // Drop dark intervals that are entirely in the past.
        let oldest = t0.saturating_sub(self.delay_bits);
        self.dark.retain(|&(_, e)| e > oldest);
        // A word no error, burst or dark interval can touch: the bit loop
        // below would only copy its bits and count its counters down, and
        // draw no random numbers, so this gives the same word and leaves the
        // same state.
        #[cfg(test)]
        let fast = !self.bit_loop_only;
        #[cfg(not(test))]
        let fast = true;
        if fast
            && t0 >= self.delay_bits
            && self.dark.is_empty()
            && self.burst.is_none()
            && self.next_random >= wb
            && self.next_burst >= wb
        {
            let tx0 = t0 - self.delay_bits;
            if self
                .planned
                .front()
                .is_none_or(|&(s, _)| s < tx0 || s >= tx0 + wb)
            {
                self.next_random -= wb;
                self.next_burst -= wb;
                self.words += 1;
                self.stats.words += 1;
                return RxWord {
                    bits: self.read_bits(tx0, self.cfg.word_bits),
                    signal: true,
                };
            }
        }
        let mut bits = 0u32;
        let mut signal = true;
        for k in 0..wb {
            let t = t0 + k;
            let bit = if t < self.delay_bits {
                signal = false;
                self.rng.gen::<bool>()
            } else {
                let tx_bit = t - self.delay_bits;
                if self.is_dark(tx_bit) {
                    signal = false;
                    self.rng.gen::<bool>()
                } else {
                    let mut v = self.read_bit(tx_bit);
                    // Independent errors.
                    if self.next_random == 0 {
                        v = !v;
                        self.stats.random_flips += 1;
                        self.flip(tx_bit);
                        self.next_random = geometric(&mut self.rng, self.cfg.ber);
                    } else {
                        self.next_random -= 1;
                    }
                    // Bursts.
                    if let Some(&(s, len)) = self.planned.front() {
                        if s == tx_bit {
                            self.planned.pop_front();
                            self.burst = Some((s, s + len));
                            self.stats.bursts += 1;
                        }
                    }
                    if self.burst.is_none() {
                        if self.next_burst == 0 {
                            self.burst = Some((tx_bit, tx_bit + self.cfg.burst_len_bits as u64));
                            self.stats.bursts += 1;
                            let p = self.cfg.burst_rate_per_s / self.cfg.line_rate_bps;
                            self.next_burst = geometric(&mut self.rng, p);
                        } else {
                            self.next_burst -= 1;
                        }
                    }
                    if let Some((s, e)) = self.burst {
                        let edge = tx_bit == s || tx_bit + 1 == e;
                        if edge || self.rng.gen::<bool>() {
                            v = !v;
                            self.stats.burst_flips += 1;
                            self.flip(tx_bit);
                        }
                        if tx_bit + 1 >= e {
                            self.burst = None;
                        }
                    }
                    v
                }
            };
            bits |= (bit as u32) << k;
        }
        self.words += 1;
        self.stats.words += 1;
        if !signal {
            self.stats.dark_words += 1;
        }
        RxWord { bits, signal }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(length_m: f64) -> FiberSpool {
        FiberSpool::new(FiberConfig {
            length_m,
            transceiver_latency_ns: 0.0,
            ..Default::default()
        })
        .unwrap()
    }

    /// Reassembles the RX bit stream and finds the TX stream in it.
    fn rx_bits(spool: &mut FiberSpool, tx: &[u32]) -> (Vec<bool>, Vec<bool>) {
        let wb = spool.config().word_bits;
        let mut rx = vec![];
        let mut txb = vec![];
        for &w in tx {
            let r = spool.step(w);
            for k in 0..wb {
                rx.push((r.bits >> k) & 1 == 1);
                txb.push((w >> k) & 1 == 1);
            }
        }
        (txb, rx)
    }

    #[test]
    fn delay_follows_length() {
        // 1 km: 4.8968 us x 2.5 Gb/s = 12,242 bits.
        assert_eq!(clean(1000.0).delay_bits(), 12_242);
        assert_eq!(clean(10_000.0).delay_bits(), 122_420);
        let with_latency = FiberSpool::new(FiberConfig {
            length_m: 1000.0,
            transceiver_latency_ns: 200.0,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(with_latency.delay_bits(), 12_242 + 500);
        assert_eq!(with_latency.bits_in_fiber(), 12_242);
    }

    #[test]
    fn clean_fiber_delays_bits_exactly_at_any_offset() {
        for length in [0.0, 1.0, 3.3, 17.0, 250.0] {
            let mut s = clean(length);
            let d = s.delay_bits() as usize;
            let mut rng = ChaCha8Rng::seed_from_u64(length as u64);
            let tx: Vec<u32> = (0..400).map(|_| rng.gen::<u32>() & 0xF_FFFF).collect();
            let (txb, rxb) = rx_bits(&mut s, &tx);
            assert_eq!(&rxb[d..], &txb[..txb.len() - d], "length {length} m");
            let dark = s.stats().dark_words;
            assert_eq!(dark as usize, d.div_ceil(20), "length {length} m");
        }
    }

    #[test]
    fn ber_is_as_configured_and_logged() {
        let mut s = FiberSpool::new(FiberConfig {
            length_m: 0.0,
            transceiver_latency_ns: 0.0,
            ber: 1e-3,
            seed: 42,
            ..Default::default()
        })
        .unwrap();
        s.log_errors();
        let tx = vec![0u32; 200_000];
        let (_, rxb) = rx_bits(&mut s, &tx);
        let ones = rxb.iter().filter(|&&b| b).count() as u64;
        assert_eq!(ones, s.stats().random_flips);
        assert_eq!(s.error_log().len() as u64, ones);
        for &i in s.error_log() {
            assert!(rxb[i as usize]);
        }
        // 4,000,000 bits at 1e-3: 4,000 expected, sigma ~63.
        assert!((3_700..=4_300).contains(&ones), "{ones}");
    }

    #[test]
    fn same_seed_same_errors_other_seed_other_errors() {
        let run = |seed| {
            let mut s = FiberSpool::new(FiberConfig {
                ber: 1e-2,
                burst_rate_per_s: 1e7,
                seed,
                ..Default::default()
            })
            .unwrap();
            (0..5000).map(|i| s.step(i).bits).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn bursts_have_their_length() {
        let mut s = FiberSpool::new(FiberConfig {
            length_m: 0.0,
            transceiver_latency_ns: 0.0,
            burst_rate_per_s: 2.5e4, // one per 100,000 bits on average
            burst_len_bits: 64,
            seed: 3,
            ..Default::default()
        })
        .unwrap();
        s.log_errors();
        let tx = vec![0u32; 250_000];
        rx_bits(&mut s, &tx);
        let log = s.error_log().to_vec();
        let bursts = s.stats().bursts;
        assert!((25..=80).contains(&bursts), "{:?}", s.stats());
        // Group flips into bursts (far apart at this rate): each spans
        // exactly 64 bits, first and last flipped.
        let mut start = log[0];
        let mut prev = log[0];
        let mut spans = vec![];
        for &i in &log[1..] {
            if i - prev > 1000 {
                spans.push(prev - start + 1);
                start = i;
            }
            prev = i;
        }
        spans.push(prev - start + 1);
        assert_eq!(spans.len() as u64, bursts);
        assert!(spans.iter().all(|&s| s == 64), "{spans:?}");
    }

    #[test]
    fn a_cut_loses_everything_in_flight() {
        let mut s = clean(100.0); // 1,224 bits = 61.2 words
        let d = s.delay_words();
        for i in 0..1000 {
            s.step(i);
        }
        s.cut(50);
        let mut dark = 0;
        let mut first_light_after = None;
        for i in 0..400u32 {
            let r = s.step(i);
            if !r.signal {
                dark += 1;
            } else if first_light_after.is_none() {
                first_light_after = Some(i);
            }
        }
        // Dark for the cut plus one delay (rounded up to whole words).
        let expect = 50 + d.ceil() as u32;
        assert!(
            (dark as i64 - expect as i64).abs() <= 1,
            "dark {dark}, expected ~{expect}"
        );
        assert!(first_light_after.unwrap() >= 50);
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = |f: fn(&mut FiberConfig)| {
            let mut c = FiberConfig::default();
            f(&mut c);
            FiberSpool::new(c).unwrap_err()
        };
        assert_eq!(bad(|c| c.length_m = -1.0), FiberError::Length(-1.0));
        assert_eq!(bad(|c| c.ber = 0.7), FiberError::Ber(0.7));
        assert_eq!(bad(|c| c.burst_len_bits = 0), FiberError::BurstLen(0));
        assert!(matches!(bad(|c| c.length_m = 1e9), FiberError::TooLong(_)));
        assert!(bad(|c| c.ber = f64::NAN)
            .to_string()
            .contains("bit error ratio"));
    }

    #[test]
    fn planned_bursts_hit_where_aimed_and_ber_can_change() {
        let mut s = clean(100.0);
        s.log_errors();
        let d = s.delay_bits();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let tx: Vec<u32> = (0..300).map(|_| rng.gen::<u32>() & 0xF_FFFF).collect();
        // Half the words sent: bits from next_rx_tx_bit() on are in flight.
        let (mut txb, mut rxb) = rx_bits(&mut s, &tx[..150]);
        let at = s.next_rx_tx_bit() + 37;
        assert_eq!(s.next_rx_tx_bit(), 150 * 20 - d);
        s.plan_burst(at, 64).unwrap();
        s.plan_burst(at + 200, 5).unwrap();
        assert_eq!(
            s.plan_burst(3, 8),
            Err(FiberError::BurstInPast {
                at: 3,
                received: 150 * 20 - d
            })
        );
        assert_eq!(s.set_ber(-0.1), Err(FiberError::Ber(-0.1)));
        assert_eq!(s.config().ber, 0.0);
        let (t2, r2) = rx_bits(&mut s, &tx[150..]);
        txb.extend(t2);
        rxb.extend(r2);
        let flipped: Vec<u64> = (d as usize..rxb.len())
            .filter(|&i| rxb[i] != txb[i - d as usize])
            .map(|i| i as u64 - d)
            .collect();
        assert_eq!(flipped, s.error_log());
        assert!(flipped
            .iter()
            .all(|&b| (at..at + 64).contains(&b) || (at + 200..at + 205).contains(&b)));
        for edge in [at, at + 63, at + 200, at + 204] {
            assert!(flipped.contains(&edge), "{edge}");
        }
        assert_eq!(s.stats().bursts, 2);
        // A BER switched on mid-run flips bits from then on.
        s.set_ber(0.01).unwrap();
        let before = s.stats().random_flips;
        rx_bits(&mut s, &tx);
        let n = s.stats().random_flips - before;
        assert!((30..=100).contains(&n), "{n} flips in 6,000 bits at 1e-2");
    }

    #[test]
    fn whole_word_path_gives_what_the_bit_loop_gives() {
        // Errors, random and planned bursts, a cut and a BER change, with the
        // whole-word path on and off: the same words, errors and counts.
        let run = |bit_loop_only: bool| {
            let mut s = FiberSpool::new(FiberConfig {
                length_m: 37.0,
                ber: 2e-4,
                burst_rate_per_s: 2e5,
                burst_len_bits: 40,
                seed: 11,
                ..Default::default()
            })
            .unwrap();
            s.bit_loop_only = bit_loop_only;
            s.log_errors();
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let mut out = vec![];
            for i in 0..60_000u32 {
                if i == 10_000 {
                    let at = s.next_rx_tx_bit() + 1234;
                    s.plan_burst(at, 17).unwrap();
                }
                if i == 20_000 {
                    s.cut(300);
                }
                if i == 40_000 {
                    s.set_ber(1e-3).unwrap();
                }
                let r = s.step(rng.gen::<u32>() & 0xF_FFFF);
                out.push((r.bits, r.signal));
            }
            (out, s.error_log().to_vec(), s.stats().clone())
        };
        let (fast, slow) = (run(false), run(true));
        assert!(fast.1.len() > 100, "{} errors", fast.1.len());
        assert_eq!(fast, slow);
    }
}

//! [`DcuaModel`]: a behavioural model of one DCUA channel as the gateware
//! sees it (the [`DcuFabric`] side), synthesisable and simulated in
//! Verilator in place of the [`Dcua`](super::dcua::Dcua) black box.

use crate::bundles::DcuFabric;
use rust_hdl::prelude::*;

/// Clocks the light must differ from the filtered light before LOS follows.
pub const LOS_FILTER_CLOCKS: u64 = 4;
/// Dead words in a row (no transition: all 20 bits equal to the last bit of
/// the word before) after which the CDR has no signal to lock on.
pub const DEAD_WORDS: u64 = 2;
/// The widest delay the model takes, in clocks (24-bit counters).
pub const MAX_DELAY: u32 = (1 << 24) - 1;
/// Taps of the slip generator (16-bit Galois LFSR, x^16 + x^14 + x^13 +
/// x^11 + 1, shifting right).
pub const LFSR_TAPS: u16 = 0xB400;

/// Delays and seed of a [`DcuaModel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DcuaModelConfig {
    /// Clocks (edges) with `tx_pll_rst` low until the TX PLL locks
    /// (1..=[`MAX_DELAY`]).
    pub tx_lock_clocks: u32,
    /// Clocks (edges) with `rx_cdr_rst` low and a signal until the CDR
    /// locks (1..=[`MAX_DELAY`]).
    pub cdr_lock_clocks: u32,
    /// Seed of the slip generator (non-zero).
    pub seed: u16,
}

impl Default for DcuaModelConfig {
    /// A quick lock: 64 clocks for the PLL, 128 for the CDR.
    fn default() -> Self {
        Self {
            tx_lock_clocks: 64,
            cdr_lock_clocks: 128,
            seed: 0xACE1,
        }
    }
}

impl DcuaModelConfig {
    /// `Ok` when the delays fit and the seed is usable, else what is wrong.
    pub fn check(&self) -> Result<(), String> {
        for (what, v) in [
            ("tx_lock_clocks", self.tx_lock_clocks),
            ("cdr_lock_clocks", self.cdr_lock_clocks),
        ] {
            if v == 0 || v > MAX_DELAY {
                return Err(format!(
                    "DcuaModel: {what} = {v} is outside 1..={MAX_DELAY} clocks"
                ));
            }
        }
        if self.seed == 0 {
            return Err("DcuaModel: the slip seed must be non-zero (an LFSR stays at 0)".into());
        }
        Ok(())
    }
}

/// The behaviour of one DCUA channel that the gateware relies on, as a
/// clocked block.
///
/// # Clocks
///
/// `refclk` is the model's only clock and stands for the word rate: in
/// simulation it is toggled once per 20-bit word (8 ns at 2.5 Gb/s). The
/// model cannot multiply a clock: `fabric.tx_pclk` and `fabric.rx_pclk` are
/// `refclk` passed through, running whatever the PLL, CDR and resets do (on
/// the chip `FF_TX_PCLK` is valid only once the TX PLL is locked and
/// `FF_RX_PCLK` only while the CDR is locked; gateware must not rely on them
/// before: the bring-up runs on clk100). So in simulation the TX and RX
/// word clocks are one clock, and the far end's line is word-synchronous.
///
/// # The serial side
///
/// * `line_tx_out`: the word sent, bit 0 first on the line:
///   `fabric.tx_data` registered, while the TX lane is out of reset
///   (`tx_lane_rst` low) and the TX PLL locked; otherwise all zeros, the
///   model of electrical idle (a line with no transitions, on which a far
///   CDR cannot lock). The light is not the model's: the fiber model says
///   whether light arrives (`light_in`).
/// * `line_rx_in`: the word arriving, bit 0 first; `light_in`: light at
///   the receiver (from the fiber model).
///
/// # Status and resets (`refclk` clocks; every register starts at zero)
///
/// * **TX PLL**: `tx_pll_rst` high clears the lock and its count
///   (`tx_pll_lol` high). With it low the count runs, and after
///   `tx_lock_clocks` edges `tx_pll_lol` goes low; any later pulse of
///   `tx_pll_rst`, however short, unlocks it and the count starts again.
/// * **TX lane**: `tx_lane_rst` high sends zeros (electrical idle) from
///   the next edge; the PLL keeps its lock.
/// * **LOS**: `rx_los` is the filtered inverse of `light_in`: it follows
///   the light once `light_in` has differed from it for
///   [`LOS_FILTER_CLOCKS`] edges in a row (a shorter glitch is ignored).
///   High at power-up (no light seen yet). No reset affects it (on the chip
///   it is an analogue detector).
/// * **CDR**: there is a signal when `rx_los` is low and fewer than
///   [`DEAD_WORDS`] dead words (no transition at all: every bit equal to
///   the last bit of the word before) have arrived in a row; an all-zero
///   or all-one line, or a fixed such word, is no signal. `rx_cdr_rst`
///   high, or no signal, clears the lock and its count (`rx_cdr_lol`
///   high): so the lock is lost when the light goes (the clock after
///   `rx_los` rises) or when the line goes dead ([`DEAD_WORDS`] dead words
///   in a row), whichever comes first; a dark line (zeros) is usually dead
///   before LOS has passed its filter. With `rx_cdr_rst` low and a signal, the count runs and
///   after `cdr_lock_clocks` edges `rx_cdr_lol` goes low. The CDR does not
///   depend on the TX PLL (on the chip it runs from the reference clock).
/// * **Bit slip**: the receiver's word boundary is arbitrary: at every lock
///   the CDR takes a new slip `s` (0..=19, `slip_out`),
///   always different from the previous one, from a 16-bit LFSR
///   ([`LFSR_TAPS`]) that steps every clock from the constructor's seed.
///   The slip holds until the next lock.
/// * **RX data**: `fabric.rx_data` is built from the last two line words:
///   with `p` the word before and `w` the newest, the 40-bit window
///   `{w, p}` (p in bits 19:0, first in time) gives bits `s+19 .. s`. It is
///   zero while the CDR is unlocked or the RX lane is in reset
///   (`rx_lane_rst` high); `rx_lane_rst` does not touch the CDR.
///
/// # Timing
///
/// * Latency: TX 1 clock (`tx_data` presented before edge `n` is on
///   `line_tx_out` after it); RX 2 clocks at slip 0 (the word presented on
///   `line_rx_in` before edge `n` is on `rx_data` after edge `n + 1`); a
///   slip `s` delays the word's start by `s` bits.
/// * Throughput: one word a clock each way.
/// * Status outputs are registered; the lock counts and filters are in
///   `refclk` edges, as above.
#[derive(LogicBlock)]
pub struct DcuaModel {
    /// The word clock (one edge per 20-bit word).
    pub refclk: Signal<In, Clock>,
    /// The channel's fabric side.
    pub fabric: DcuFabric,
    /// The word sent on the line (zeros while idle, see above).
    pub line_tx_out: Signal<Out, Bits<20>>,
    /// The word arriving from the line.
    pub line_rx_in: Signal<In, Bits<20>>,
    /// Light arrives at the receiver.
    pub light_in: Signal<In, Bit>,
    /// The current bit slip (model only: for tests and the simulated
    /// board's reports).
    pub slip_out: Signal<Out, Bits<5>>,
    c_tx_lock: Constant<Bits<24>>,
    c_cdr_lock: Constant<Bits<24>>,
    c_seed: Constant<Bits<16>>,
    c_taps: Constant<Bits<16>>,
    c_los_filter: Constant<Bits<3>>,
    c_dead_words: Constant<Bits<2>>,
    c_zero: Constant<Bits<20>>,
    c_ones: Constant<Bits<20>>,
    c_twenty: Constant<Bits<5>>,
    c_last_slip: Constant<Bits<5>>,
    tx_cnt: DFF<Bits<24>>,
    tx_locked: DFF<Bit>,
    line_tx: DFF<Bits<20>>,
    light_ok: DFF<Bit>,
    light_cnt: DFF<Bits<3>>,
    prev: DFF<Bits<20>>,
    dead_run: DFF<Bits<2>>,
    cdr_cnt: DFF<Bits<24>>,
    cdr_locked: DFF<Bit>,
    slip: DFF<Bits<5>>,
    lfsr: DFF<Bits<16>>,
    rx_q: DFF<Bits<20>>,
    tx_next: Signal<Local, Bits<24>>,
    cdr_next: Signal<Local, Bits<24>>,
    light_next: Signal<Local, Bits<3>>,
    dead: Signal<Local, Bit>,
    signal_ok: Signal<Local, Bit>,
    lfsr_state: Signal<Local, Bits<16>>,
    lfsr_step: Signal<Local, Bits<16>>,
    raw5: Signal<Local, Bits<5>>,
    cand: Signal<Local, Bits<5>>,
    new_slip: Signal<Local, Bits<5>>,
    window: Signal<Local, Bits<40>>,
    shifted: Signal<Local, Bits<40>>,
}

impl DcuaModel {
    /// A model with `cfg`'s delays and seed; an error names a bad value.
    pub fn new(cfg: DcuaModelConfig) -> Result<Self, String> {
        cfg.check()?;
        Ok(Self {
            refclk: Default::default(),
            fabric: Default::default(),
            line_tx_out: Default::default(),
            line_rx_in: Default::default(),
            light_in: Default::default(),
            slip_out: Default::default(),
            c_tx_lock: Constant::new((cfg.tx_lock_clocks as u64).to_bits()),
            c_cdr_lock: Constant::new((cfg.cdr_lock_clocks as u64).to_bits()),
            c_seed: Constant::new((cfg.seed as u64).to_bits()),
            c_taps: Constant::new((LFSR_TAPS as u64).to_bits()),
            c_los_filter: Constant::new(LOS_FILTER_CLOCKS.to_bits()),
            c_dead_words: Constant::new(DEAD_WORDS.to_bits()),
            c_zero: Constant::new(0u64.to_bits()),
            c_ones: Constant::new(0xF_FFFFu64.to_bits()),
            c_twenty: Constant::new(20u64.to_bits()),
            c_last_slip: Constant::new(19u64.to_bits()),
            tx_cnt: Default::default(),
            tx_locked: Default::default(),
            line_tx: Default::default(),
            light_ok: Default::default(),
            light_cnt: Default::default(),
            prev: Default::default(),
            dead_run: Default::default(),
            cdr_cnt: Default::default(),
            cdr_locked: Default::default(),
            slip: Default::default(),
            lfsr: Default::default(),
            rx_q: Default::default(),
            tx_next: Default::default(),
            cdr_next: Default::default(),
            light_next: Default::default(),
            dead: Default::default(),
            signal_ok: Default::default(),
            lfsr_state: Default::default(),
            lfsr_step: Default::default(),
            raw5: Default::default(),
            cand: Default::default(),
            new_slip: Default::default(),
            window: Default::default(),
            shifted: Default::default(),
        })
    }
}

#[allow(unused_parens)]
impl Logic for DcuaModel {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, refclk, tx_cnt, tx_locked, line_tx, light_ok, light_cnt, prev, dead_run, cdr_cnt,
            cdr_locked, slip, lfsr, rx_q
        );
        self.fabric.tx_pclk.next = self.refclk.val();
        self.fabric.rx_pclk.next = self.refclk.val();

        // TX PLL.
        self.tx_next.next = self.tx_cnt.q.val() + 1;
        if self.fabric.tx_pll_rst.val() {
            self.tx_cnt.d.next = 0.into();
            self.tx_locked.d.next = false;
        } else if !self.tx_locked.q.val() {
            self.tx_cnt.d.next = self.tx_next.val();
            if (self.tx_next.val() == self.c_tx_lock.val()) {
                self.tx_locked.d.next = true;
            }
        }
        self.fabric.tx_pll_lol.next = !self.tx_locked.q.val();

        // TX lane: the word, or electrical idle.
        self.line_tx.d.next = self.c_zero.val();
        if (self.tx_locked.q.val() & !self.fabric.tx_lane_rst.val()) {
            self.line_tx.d.next = self.fabric.tx_data.val();
        }
        self.line_tx_out.next = self.line_tx.q.val();

        // LOS: the light, filtered.
        self.light_next.next = self.light_cnt.q.val() + 1;
        if (self.light_in.val() == self.light_ok.q.val()) {
            self.light_cnt.d.next = 0.into();
        } else if (self.light_next.val() == self.c_los_filter.val()) {
            self.light_cnt.d.next = 0.into();
            self.light_ok.d.next = self.light_in.val();
        } else {
            self.light_cnt.d.next = self.light_next.val();
        }
        self.fabric.rx_los.next = !self.light_ok.q.val();

        // Dead words: no transition, the last bit of the word before
        // included.
        self.prev.d.next = self.line_rx_in.val();
        self.dead.next = ((self.line_rx_in.val() == self.c_zero.val())
            & !self.prev.q.val().get_bit(19))
            | ((self.line_rx_in.val() == self.c_ones.val()) & self.prev.q.val().get_bit(19));
        if self.dead.val() {
            if (self.dead_run.q.val() != self.c_dead_words.val()) {
                self.dead_run.d.next = self.dead_run.q.val() + 1;
            }
        } else {
            self.dead_run.d.next = 0.into();
        }
        self.signal_ok.next =
            self.light_ok.q.val() & (self.dead_run.q.val() != self.c_dead_words.val());

        // The slip generator: the register holds the LFSR state XOR the
        // seed, so that its zero power-up value is the seed.
        self.lfsr_state.next = self.lfsr.q.val() ^ self.c_seed.val();
        self.lfsr_step.next = self.lfsr_state.val() >> 1;
        if self.lfsr_state.val().get_bit(0) {
            self.lfsr_step.next = (self.lfsr_state.val() >> 1) ^ self.c_taps.val();
        }
        self.lfsr.d.next = self.lfsr_step.val() ^ self.c_seed.val();
        self.raw5.next = self.lfsr_state.val().get_bits::<5>(0);
        self.cand.next = self.raw5.val();
        if (self.raw5.val() >= self.c_twenty.val()) {
            self.cand.next = self.raw5.val() - self.c_twenty.val();
        }
        self.new_slip.next = self.cand.val();
        if (self.cand.val() == self.slip.q.val()) {
            self.new_slip.next = self.cand.val() + 1;
            if (self.cand.val() == self.c_last_slip.val()) {
                self.new_slip.next = 0.into();
            }
        }

        // CDR.
        self.cdr_next.next = self.cdr_cnt.q.val() + 1;
        if (self.fabric.rx_cdr_rst.val() | !self.signal_ok.val()) {
            self.cdr_cnt.d.next = 0.into();
            self.cdr_locked.d.next = false;
        } else if !self.cdr_locked.q.val() {
            self.cdr_cnt.d.next = self.cdr_next.val();
            if (self.cdr_next.val() == self.c_cdr_lock.val()) {
                self.cdr_locked.d.next = true;
                self.slip.d.next = self.new_slip.val();
            }
        }
        self.fabric.rx_cdr_lol.next = !self.cdr_locked.q.val();
        self.slip_out.next = self.slip.q.val();

        // RX words from the last two line words, at the slip.
        self.window.next = (bit_cast::<40, 20>(self.line_rx_in.val()) << 20)
            | bit_cast::<40, 20>(self.prev.q.val());
        self.shifted.next = self.window.val() >> self.slip.q.val();
        self.rx_q.d.next = self.c_zero.val();
        if (self.cdr_locked.q.val() & !self.fabric.rx_lane_rst.val()) {
            self.rx_q.d.next = self.shifted.val().get_bits::<20>(0);
        }
        self.fabric.rx_data.next = self.rx_q.q.val();
    }
}

/// The inputs of [`DcuaModel`] in one clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DcuaIn {
    /// `fabric.tx_data`.
    pub tx_data: u32,
    /// `line_rx_in`.
    pub line_rx: u32,
    /// `light_in`.
    pub light: bool,
    /// `fabric.tx_pll_rst`.
    pub tx_pll_rst: bool,
    /// `fabric.rx_cdr_rst`.
    pub rx_cdr_rst: bool,
    /// `fabric.tx_lane_rst`.
    pub tx_lane_rst: bool,
    /// `fabric.rx_lane_rst`.
    pub rx_lane_rst: bool,
}

/// The outputs of [`DcuaModel`] in one clock (before its edge).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DcuaOut {
    /// `line_tx_out`.
    pub line_tx: u32,
    /// `fabric.rx_data`.
    pub rx_data: u32,
    /// `fabric.tx_pll_lol`.
    pub tx_pll_lol: bool,
    /// `fabric.rx_cdr_lol`.
    pub rx_cdr_lol: bool,
    /// `fabric.rx_los`.
    pub rx_los: bool,
    /// `slip_out`.
    pub slip: u8,
}

/// Cycle model of [`DcuaModel`].
#[derive(Clone, Debug)]
pub struct DcuaCycleModel {
    cfg: DcuaModelConfig,
    tx_cnt: u32,
    tx_locked: bool,
    line_tx: u32,
    light_ok: bool,
    light_cnt: u64,
    prev: u32,
    dead_run: u64,
    cdr_cnt: u32,
    cdr_locked: bool,
    slip: u8,
    lfsr: u16,
    rx_q: u32,
}

impl DcuaCycleModel {
    /// The model of `DcuaModel::new(cfg)` at power-up.
    pub fn new(cfg: DcuaModelConfig) -> Result<Self, String> {
        cfg.check()?;
        Ok(Self {
            cfg,
            tx_cnt: 0,
            tx_locked: false,
            line_tx: 0,
            light_ok: false,
            light_cnt: 0,
            prev: 0,
            dead_run: 0,
            cdr_cnt: 0,
            cdr_locked: false,
            slip: 0,
            lfsr: cfg.seed,
            rx_q: 0,
        })
    }

    /// The slip the next lock takes, given the LFSR state and the current
    /// slip: the state's low 5 bits folded into 0..=19, moved on by one if
    /// equal to the current slip.
    pub fn next_slip(lfsr: u16, current: u8) -> u8 {
        let raw = (lfsr & 31) as u8;
        let cand = if raw >= 20 { raw - 20 } else { raw };
        if cand == current {
            (cand + 1) % 20
        } else {
            cand
        }
    }

    /// One clock: the outputs before the edge, then the edge.
    pub fn step(&mut self, i: &DcuaIn) -> DcuaOut {
        let out = DcuaOut {
            line_tx: self.line_tx,
            rx_data: self.rx_q,
            tx_pll_lol: !self.tx_locked,
            rx_cdr_lol: !self.cdr_locked,
            rx_los: !self.light_ok,
            slip: self.slip,
        };
        let line_rx = i.line_rx & 0xF_FFFF;
        // TX PLL and lane.
        let line_tx = if self.tx_locked && !i.tx_lane_rst {
            i.tx_data & 0xF_FFFF
        } else {
            0
        };
        if i.tx_pll_rst {
            self.tx_cnt = 0;
            self.tx_locked = false;
        } else if !self.tx_locked {
            self.tx_cnt += 1;
            self.tx_locked = self.tx_cnt == self.cfg.tx_lock_clocks;
        }
        // LOS.
        let light_ok = self.light_ok;
        if i.light == self.light_ok {
            self.light_cnt = 0;
        } else if self.light_cnt + 1 == LOS_FILTER_CLOCKS {
            self.light_cnt = 0;
            self.light_ok = i.light;
        } else {
            self.light_cnt += 1;
        }
        // Dead words and the signal.
        let last = (self.prev >> 19) & 1 == 1;
        let dead = (line_rx == 0 && !last) || (line_rx == 0xF_FFFF && last);
        let signal_ok = light_ok && self.dead_run != DEAD_WORDS;
        if dead {
            self.dead_run = (self.dead_run + 1).min(DEAD_WORDS);
        } else {
            self.dead_run = 0;
        }
        // Slip generator.
        let state = self.lfsr;
        let new_slip = Self::next_slip(state, self.slip);
        self.lfsr = (state >> 1) ^ if state & 1 == 1 { LFSR_TAPS } else { 0 };
        // RX word from the current slip.
        let window = ((line_rx as u64) << 20) | self.prev as u64;
        let rx = if self.cdr_locked && !i.rx_lane_rst {
            (window >> self.slip) as u32 & 0xF_FFFF
        } else {
            0
        };
        // CDR.
        if i.rx_cdr_rst || !signal_ok {
            self.cdr_cnt = 0;
            self.cdr_locked = false;
        } else if !self.cdr_locked {
            self.cdr_cnt += 1;
            if self.cdr_cnt == self.cfg.cdr_lock_clocks {
                self.cdr_locked = true;
                self.slip = new_slip;
            }
        }
        self.line_tx = line_tx;
        self.prev = line_rx;
        self.rx_q = rx;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::lockstep::{self, CycleModel, Verilated};
    use fiberloop_harness::verilator::Model;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    impl CycleModel for DcuaCycleModel {
        type In = DcuaIn;
        type Out = DcuaOut;
        fn step(&mut self, i: &DcuaIn) -> DcuaOut {
            DcuaCycleModel::step(self, i)
        }
    }

    /// The delays every Verilator test uses (one build, cached).
    const CFG: DcuaModelConfig = DcuaModelConfig {
        tx_lock_clocks: 40,
        cdr_lock_clocks: 60,
        seed: 0x5EED,
    };

    fn hardware(cfg: DcuaModelConfig) -> Verilated<DcuaIn, DcuaOut> {
        let mut uut = DcuaModel::new(cfg).unwrap();
        uut.connect_all();
        let ins = [
            "fabric$tx_data",
            "line_rx_in",
            "light_in",
            "fabric$tx_pll_rst",
            "fabric$rx_cdr_rst",
            "fabric$tx_lane_rst",
            "fabric$rx_lane_rst",
        ];
        let outs = [
            "line_tx_out",
            "fabric$rx_data",
            "fabric$tx_pll_lol",
            "fabric$rx_cdr_lol",
            "fabric$rx_los",
            "slip_out",
        ];
        let drive = |i: &DcuaIn, p: &mut [u64]| {
            p[0] = (i.tx_data & 0xF_FFFF) as u64;
            p[1] = (i.line_rx & 0xF_FFFF) as u64;
            p[2] = i.light as u64;
            p[3] = i.tx_pll_rst as u64;
            p[4] = i.rx_cdr_rst as u64;
            p[5] = i.tx_lane_rst as u64;
            p[6] = i.rx_lane_rst as u64;
        };
        let read = |g: &[u64]| DcuaOut {
            line_tx: g[0] as u32,
            rx_data: g[1] as u32,
            tx_pll_lol: g[2] != 0,
            rx_cdr_lol: g[3] != 0,
            rx_los: g[4] != 0,
            slip: g[5] as u8,
        };
        Verilated::new(
            Model::of_block(&uut).unwrap(),
            "refclk",
            &ins,
            &outs,
            drive,
            read,
        )
    }

    /// A word with transitions (random, never dead).
    fn live_word(rng: &mut ChaCha8Rng) -> u32 {
        loop {
            let w = rng.gen::<u32>() & 0xF_FFFF;
            if w != 0 && w != 0xF_FFFF {
                return w;
            }
        }
    }

    /// Seeded traffic in phases: light and live words, dark, a fixed dead
    /// word with light, glitches of the light shorter than the filter,
    /// and reset pulses of every kind.
    #[test]
    fn dcua_model_against_cycle_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xDC0A_0001);
        let mut inputs = vec![];
        let (mut light, mut dead_word) = (true, None::<u32>);
        for clock in 0..150_000u32 {
            if clock % 700 == 0 {
                let r = rng.gen_range(0..10);
                light = r != 0;
                dead_word = (r == 1).then(|| if rng.gen() { 0 } else { 0xF_FFFF });
            }
            let glitch = rng.gen_bool(0.003);
            let line_rx = match dead_word {
                Some(w) => w,
                None if light => live_word(&mut rng),
                None => 0,
            };
            inputs.push(DcuaIn {
                tx_data: rng.gen(),
                line_rx,
                light: light ^ glitch,
                tx_pll_rst: clock < 5 || rng.gen_bool(0.0008),
                rx_cdr_rst: clock < 5 || rng.gen_bool(0.0008),
                tx_lane_rst: rng.gen_bool(0.002),
                rx_lane_rst: rng.gen_bool(0.002),
            });
        }
        let (mut locks, mut slips, mut los_edges, mut tx_locks) =
            (0, std::collections::BTreeSet::new(), 0, 0);
        let mut last = DcuaOut::default();
        lockstep::run_observed(
            &mut hardware(CFG),
            &mut DcuaCycleModel::new(CFG).unwrap(),
            inputs,
            |_, o| {
                if last.rx_cdr_lol && !o.rx_cdr_lol {
                    locks += 1;
                    slips.insert(o.slip);
                }
                tx_locks += (last.tx_pll_lol && !o.tx_pll_lol) as u32;
                los_edges += (!last.rx_los && o.rx_los) as u32;
                last = *o;
            },
        );
        println!(
            "DcuaModel: {locks} CDR locks at {} distinct slips, {tx_locks} TX PLL locks, \
             {los_edges} LOS events",
            slips.len()
        );
        assert!(locks > 50 && slips.len() == 20 && tx_locks > 50 && los_edges > 10);
    }

    /// Runs a scripted scenario on the hardware and the model in lockstep
    /// and returns the outputs of every clock.
    fn scenario(inputs: Vec<DcuaIn>) -> Vec<DcuaOut> {
        let mut outs = vec![];
        lockstep::run_observed(
            &mut hardware(CFG),
            &mut DcuaCycleModel::new(CFG).unwrap(),
            inputs,
            |_, o| outs.push(*o),
        );
        outs
    }

    /// Clocks of a live, lit line with every reset released.
    fn lit(rng: &mut ChaCha8Rng, n: usize) -> Vec<DcuaIn> {
        (0..n)
            .map(|_| DcuaIn {
                tx_data: rng.gen::<u32>() & 0xF_FFFF,
                line_rx: live_word(rng),
                light: true,
                ..Default::default()
            })
            .collect()
    }

    /// First clock (index) from `from` on whose outputs satisfy `f`.
    fn first(outs: &[DcuaOut], from: usize, f: impl Fn(&DcuaOut) -> bool) -> Option<usize> {
        (from..outs.len()).find(|&k| f(&outs[k]))
    }

    #[test]
    fn no_light_means_los_and_no_lock() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut ins = lit(&mut rng, 2000);
        for i in &mut ins {
            i.light = false;
        }
        let outs = scenario(ins);
        assert!(outs
            .iter()
            .all(|o| o.rx_los && o.rx_cdr_lol && o.rx_data == 0));
        // The TX side does not care: the PLL locks after its delay.
        let t = first(&outs, 0, |o| !o.tx_pll_lol).unwrap();
        assert_eq!(t, CFG.tx_lock_clocks as usize);
    }

    #[test]
    fn light_with_a_fixed_word_does_not_lock() {
        for word in [0u32, 0xF_FFFF] {
            let mut rng = ChaCha8Rng::seed_from_u64(2);
            let mut ins = lit(&mut rng, 2000);
            for i in &mut ins {
                i.line_rx = word;
            }
            let outs = scenario(ins);
            // Light is seen (LOS goes low after the filter) but no lock.
            assert!(!outs[100].rx_los);
            assert!(
                outs.iter().all(|o| o.rx_cdr_lol && o.rx_data == 0),
                "{word:#x}"
            );
        }
    }

    /// A clean start, then a cut: LOS, the lock lost, and after the light
    /// returns a new lock at a new slip, with the words at that slip.
    #[test]
    fn a_cut_loses_the_lock_and_relocks_at_a_new_slip() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut ins = lit(&mut rng, 6000);
        for (k, i) in ins.iter_mut().enumerate() {
            if (2000..2500).contains(&k) {
                i.light = false;
                i.line_rx = 0;
            }
        }
        let outs = scenario(ins.clone());
        let filt = LOS_FILTER_CLOCKS as usize;
        // Light seen after the filter, lock after the CDR delay on top.
        let los_low = first(&outs, 0, |o| !o.rx_los).unwrap();
        assert_eq!(los_low, filt);
        let lock1 = first(&outs, 0, |o| !o.rx_cdr_lol).unwrap();
        assert_eq!(lock1, los_low + CFG.cdr_lock_clocks as usize);
        let slip1 = outs[lock1].slip;
        // The cut: LOS LOS_FILTER clocks in; the lock is lost at the latest
        // with it, earlier when the dead line is seen first (DEAD_WORDS
        // dead words, the first of which may still have a transition from
        // the last live word).
        let los_high = first(&outs, lock1, |o| o.rx_los).unwrap();
        assert_eq!(los_high, 2000 + filt);
        let lost = first(&outs, lock1, |o| o.rx_cdr_lol).unwrap();
        let dead = DEAD_WORDS as usize;
        assert!(
            (2001 + dead..=2002 + dead).contains(&lost),
            "lost at {lost}"
        );
        assert!(lost <= los_high);
        // Relock after the light returns, at a different slip.
        let lock2 = first(&outs, los_high, |o| !o.rx_cdr_lol).unwrap();
        assert_eq!(lock2, 2500 + filt + CFG.cdr_lock_clocks as usize);
        let slip2 = outs[lock2].slip;
        assert_ne!(slip1, slip2);
        // The words: while locked, rx_data is the window of the two line
        // words before, at the slip; zero while unlocked.
        for k in 2..outs.len() {
            let o = &outs[k];
            let window = ((ins[k - 1].line_rx as u64) << 20) | ins[k - 2].line_rx as u64;
            let locked_before = !outs[k - 1].rx_cdr_lol;
            let want = if locked_before {
                (window >> outs[k - 1].slip) as u32 & 0xF_FFFF
            } else {
                0
            };
            assert_eq!(o.rx_data, want, "clock {k}");
        }
        println!("cut: lock at slip {slip1}, relock at slip {slip2}");

        // The light goes while the words still toggle (noise): the lock is
        // lost exactly with LOS.
        let mut ins = lit(&mut rng, 3000);
        for i in &mut ins[2000..2500] {
            i.light = false;
        }
        let outs = scenario(ins);
        let lock = first(&outs, 0, |o| !o.rx_cdr_lol).unwrap();
        let lost = first(&outs, lock, |o| o.rx_cdr_lol).unwrap();
        assert_eq!(lost, 2000 + filt + 1);
        assert!(outs[lost - 1].rx_los && !outs[lost - 2].rx_los);
    }

    /// Every reset does what the documentation says.
    #[test]
    fn resets_do_what_the_doc_says() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut ins = lit(&mut rng, 3000);
        for (k, i) in ins.iter_mut().enumerate() {
            i.tx_pll_rst = k == 1000; // one-clock pulse
            i.tx_lane_rst = (1500..1600).contains(&k);
            i.rx_lane_rst = (1700..1800).contains(&k);
            i.rx_cdr_rst = k < 10 || k == 2000;
        }
        let outs = scenario(ins.clone());
        let txl = CFG.tx_lock_clocks as usize;
        let cdr = CFG.cdr_lock_clocks as usize;
        // TX PLL: locked after its delay, unlocked by the one-clock pulse,
        // relocked the same delay after it; zeros on the line meanwhile.
        assert_eq!(first(&outs, 0, |o| !o.tx_pll_lol), Some(txl));
        assert!(outs[1001].tx_pll_lol && !outs[1000].tx_pll_lol);
        assert_eq!(first(&outs, 1001, |o| !o.tx_pll_lol), Some(1001 + txl));
        for k in 0..outs.len() {
            let pll_locked_before = k > 0 && !outs[k - 1].tx_pll_lol;
            let sends = pll_locked_before && !ins[k - 1].tx_lane_rst;
            let want = if sends { ins[k - 1].tx_data } else { 0 };
            assert_eq!(outs[k].line_tx, want, "line_tx clock {k}");
        }
        // TX lane reset: zeros, the PLL keeps its lock.
        assert!((1501..1601).all(|k| outs[k].line_tx == 0 && !outs[k].tx_pll_lol));
        // RX lane reset: zeros, the CDR keeps its lock.
        assert!((1701..1801).all(|k| outs[k].rx_data == 0 && !outs[k].rx_cdr_lol));
        assert!(outs[1802].rx_data != 0);
        // CDR reset: one clock unlocks; relock after the delay, new slip.
        assert_eq!(first(&outs, 0, |o| !o.rx_cdr_lol), Some(10 + cdr));
        let s1 = outs[1999].slip;
        assert!(outs[2001].rx_cdr_lol);
        assert_eq!(first(&outs, 2001, |o| !o.rx_cdr_lol), Some(2001 + cdr));
        assert_ne!(outs[2001 + cdr].slip, s1);
        // LOS: no reset touches it.
        assert!(outs[10..].iter().all(|o| !o.rx_los));
    }

    /// The line side looped back (line_tx_out -> line_rx_in, light on),
    /// hardware and model stepped together: while the TX lane idles
    /// (zeros) the CDR has nothing to lock on; once the TX sends, the CDR
    /// locks and the words come back at the slip.
    #[test]
    fn a_looped_back_channel_locks_on_its_own_words() {
        let mut hw = hardware(CFG);
        let mut m = DcuaCycleModel::new(CFG).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut line, mut sent) = (0u32, vec![]);
        let mut outs = vec![];
        for k in 0..3000usize {
            let i = DcuaIn {
                tx_data: live_word(&mut rng),
                line_rx: line,
                light: true,
                tx_lane_rst: k < 1000,
                ..Default::default()
            };
            let o = CycleModel::step(&mut hw, &i);
            assert_eq!(o, m.step(&i), "clock {k}");
            line = o.line_tx;
            sent.push(i.tx_data);
            outs.push(o);
        }
        let tx_lock = first(&outs, 0, |o| !o.tx_pll_lol).unwrap();
        assert_eq!(tx_lock, CFG.tx_lock_clocks as usize);
        // Zeros on the line until the lane leaves reset: no lock before.
        assert!(outs[..1001].iter().all(|o| o.line_tx == 0 && o.rx_cdr_lol));
        let lock = first(&outs, 0, |o| !o.rx_cdr_lol).unwrap();
        assert!((1001..1001 + CFG.cdr_lock_clocks as usize + 4).contains(&lock));
        // Word sent before edge j is on line_tx after it, on line_rx the
        // clock after; rx_data at clock k is the window of the line words
        // of clocks k-1 and k-2, at the slip.
        let s = outs[lock].slip as u32;
        for k in lock + 4..outs.len() {
            let window = ((sent[k - 3] as u64) << 20) | sent[k - 4] as u64;
            assert_eq!(
                outs[k].rx_data,
                (window >> s) as u32 & 0xF_FFFF,
                "clock {k}"
            );
        }
    }

    #[test]
    fn short_light_glitches_are_filtered() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut ins = lit(&mut rng, 1000);
        for k in [300, 301, 302, 600] {
            ins[k].light = false;
        }
        let outs = scenario(ins);
        assert!(outs[10..].iter().all(|o| !o.rx_los));
        let lock = first(&outs, 0, |o| !o.rx_cdr_lol).unwrap();
        assert!(outs[lock..].iter().all(|o| !o.rx_cdr_lol));
    }

    #[test]
    fn bad_configurations_are_refused() {
        for (cfg, what) in [
            (
                DcuaModelConfig {
                    tx_lock_clocks: 0,
                    ..Default::default()
                },
                "tx_lock_clocks",
            ),
            (
                DcuaModelConfig {
                    cdr_lock_clocks: MAX_DELAY + 1,
                    ..Default::default()
                },
                "cdr_lock_clocks",
            ),
            (
                DcuaModelConfig {
                    seed: 0,
                    ..Default::default()
                },
                "seed",
            ),
        ] {
            let err = DcuaModel::new(cfg).err().unwrap();
            assert!(err.contains(what), "{err}");
            assert!(DcuaCycleModel::new(cfg).is_err());
        }
        // Every slip the generator gives is in 0..=19 and differs from the
        // current one.
        for state in 1..=u16::MAX {
            for cur in [0u8, 7, 19] {
                let s = DcuaCycleModel::next_slip(state, cur);
                assert!(s < 20 && s != cur);
            }
        }
    }

    /// A slow lock (the configuration the bring-up's tests use): the
    /// Rust model alone, 100,000 clocks to the CDR lock.
    #[test]
    fn slow_locks_take_their_delay() {
        let cfg = DcuaModelConfig {
            tx_lock_clocks: 50_000,
            cdr_lock_clocks: 100_000,
            seed: 3,
        };
        let mut m = DcuaCycleModel::new(cfg).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let (mut tx, mut rx) = (None, None);
        for k in 0..120_000usize {
            let o = m.step(&DcuaIn {
                line_rx: live_word(&mut rng),
                light: true,
                ..Default::default()
            });
            if !o.tx_pll_lol && tx.is_none() {
                tx = Some(k);
            }
            if !o.rx_cdr_lol && rx.is_none() {
                rx = Some(k);
            }
        }
        assert_eq!(tx, Some(50_000));
        assert_eq!(rx, Some(100_000 + LOS_FILTER_CLOCKS as usize));
    }

    #[test]
    fn dcua_model_synthesizes() {
        let mut uut = DcuaModel::new(DcuaModelConfig::default()).unwrap();
        uut.connect_all();
        let rep = fiberloop_harness::synth::synth_block(&uut, "vendor_dcua_model").unwrap();
        println!("DcuaModel: {} LUTs, {} FFs", rep.luts(), rep.ffs());
        assert!(rep.ffs() >= 100 && rep.luts() < 600, "{rep}");
    }
}

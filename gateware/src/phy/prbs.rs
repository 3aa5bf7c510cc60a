//! `PrbsGen` and `PrbsCheck`: the PRBS7/15/31 generator and checker of the
//! bring-up aids, 20 line bits per clock (one SERDES word).
//!
//! The patterns, their polynomials, inversion and bit order are those of
//! [`fiberloop_spec::phy`]: bit 0 of the 20-bit word goes first on the line,
//! and the sequence from reset is exactly that of the spec's software
//! generator [`fiberloop_spec::phy::PrbsGen`] from all ones.
//!
//! # The history register
//!
//! Both blocks keep the last 31 *register* bits (line bits with the
//! pattern's inversion undone) in one 31-bit register `hist`, the newest in
//! bit 30. Every pattern's state is the top `n` bits of it (PRBS7: bits
//! 30..24), so the same register serves all three patterns, and a pattern
//! change continues from the bits already sent. One word is one step:
//! `hist' = (hist >> 20) | (raw << 11)`, where `raw` holds the 20 new register
//! bits, the first in bit 0.
//!
//! Each new bit is a fixed XOR of `hist` bits: [`EQUATIONS`] holds, for each
//! pattern and each of the 20 bits, the mask of `hist` bits whose parity is
//! that bit. The masks are computed in Rust at compile time (a symbolic run
//! of the shift register, [`equations`]) and written out as one Verilog
//! equation per bit by the combinational sub-block [`PrbsStep`], so the
//! generated Verilog has no loop and no wide vector.
//!
//! Pattern codes are those of [`fiberloop_spec::phy::Prbs::code`]; the
//! reserved code 3 behaves as PRBS31 in both blocks (the register file is
//! expected to refuse it).

use fiberloop_spec::phy::Prbs;
use rust_hdl::prelude::*;

/// Line bits per word (one SERDES word).
pub const WORD_BITS: u32 = fiberloop_spec::line::SERDES_WORD_BITS as u32;

/// Width of the history register (the longest pattern's degree).
pub const HIST_BITS: u32 = 31;

/// All ones in the history register (the state after reset).
pub const HIST_ONES: u32 = (1 << HIST_BITS) - 1;

/// Words loaded from the line before the checker predicts (40 bits: at
/// least the longest register, 31).
pub const LOAD_WORDS: u32 = 2;

/// Consecutive predicted words without a single bit error (and a state that
/// is not all zeros) after which the checker declares lock: 160 bits.
pub const LOCK_WORDS: u32 = 8;

/// The lock-loss window, words (1,280 bits), counted from lock.
pub const WINDOW_WORDS: u32 = 64;

/// Errors within one window at which lock is lost (10 % of its bits; a
/// slipped or wrong stream gives ~50 %, a BER of 1e-2 ~1 %).
pub const LOSS_ERRORS: u32 = 128;

/// The pattern the blocks run for a 2-bit code (reserved 3: PRBS31).
pub fn pattern_of_code(code: u8) -> Prbs {
    Prbs::from_code((code & 3) as u32).unwrap_or(Prbs::Prbs31)
}

/// The XOR masks of one 20-bit step of `p`: bit `k` of `raw` (the `k`th
/// new register bit, first on the line at `k = 0`) is the parity of
/// `hist & equations(p)[k]`.
pub const fn equations(p: Prbs) -> [u32; WORD_BITS as usize] {
    let n = p.degree() as usize;
    let m = p.tap() as usize;
    // sym[j]: spec state bit j (the j-th newest register bit) as a mask of
    // hist bits; initially the j-th newest is hist bit 30 - j.
    let mut sym = [0u32; 31];
    let mut j = 0;
    while j < n {
        sym[j] = 1 << (30 - j);
        j += 1;
    }
    let mut out = [0u32; WORD_BITS as usize];
    let mut k = 0;
    while k < WORD_BITS as usize {
        let b = sym[n - 1] ^ sym[m - 1];
        let mut i = n - 1;
        while i > 0 {
            sym[i] = sym[i - 1];
            i -= 1;
        }
        sym[0] = b;
        out[k] = b;
        k += 1;
    }
    out
}

/// [`equations`] of every pattern, by code.
pub const EQUATIONS: [[u32; WORD_BITS as usize]; 3] = [
    equations(Prbs::Prbs7),
    equations(Prbs::Prbs15),
    equations(Prbs::Prbs31),
];

/// The hist bits that hold the pattern's state (its `n` newest bits).
pub const fn state_mask(p: Prbs) -> u32 {
    HIST_ONES & !((1u32 << (HIST_BITS - p.degree())) - 1)
}

/// The 20 new register bits of one step from `hist`, through [`EQUATIONS`].
pub fn step_raw(hist: u32, code: u8) -> u32 {
    let eq = &EQUATIONS[pattern_of_code(code).code() as usize];
    let mut raw = 0;
    for (k, m) in eq.iter().enumerate() {
        raw |= ((hist & m).count_ones() & 1) << k;
    }
    raw
}

/// The mask that turns register bits into line bits (all ones for the
/// inverted patterns).
pub fn inversion(code: u8) -> u32 {
    if pattern_of_code(code).inverted() {
        (1 << WORD_BITS) - 1
    } else {
        0
    }
}

/// The history register after a word of register bits `raw`.
pub fn shift_hist(hist: u32, raw: u32) -> u32 {
    ((hist >> WORD_BITS) | (raw << (HIST_BITS - WORD_BITS))) & HIST_ONES
}

/// The next line word from `hist` by the spec's software generator (the
/// reference, independent of [`EQUATIONS`]): `(line word, register bits)`.
pub fn reference_word(hist: u32, code: u8) -> (u32, u32) {
    let p = pattern_of_code(code);
    let n = p.degree();
    let mut s = 0;
    for j in 0..n {
        s |= ((hist >> (30 - j)) & 1) << j;
    }
    let line = fiberloop_spec::phy::PrbsGen::with_state(p, s).next_word();
    (line, line ^ inversion(code))
}

/// One 20-bit step of every pattern as a combinational XOR network.
///
/// `raw_out[k] = ^(state_in & EQUATIONS[pattern][k])`, `line_out` the same
/// bits with the pattern's inversion, `inv_out` the inversion mask, and
/// `zero_out` high when the pattern's state bits of `state_in` are all zero
/// (the state an LFSR never leaves). The Verilog is written out from
/// [`EQUATIONS`], one line per bit; the Rust simulation uses [`step_raw`].
/// Latency 0.
#[derive(LogicBlock, Default)]
pub struct PrbsStep {
    /// The history register.
    pub state_in: Signal<In, Bits<31>>,
    /// Pattern code.
    pub pattern_in: Signal<In, Bits<2>>,
    /// The 20 new register bits, the first in bit 0.
    pub raw_out: Signal<Out, Bits<20>>,
    /// The 20 new line bits (`raw_out` with the inversion).
    pub line_out: Signal<Out, Bits<20>>,
    /// The inversion mask (all ones for PRBS15/31).
    pub inv_out: Signal<Out, Bits<20>>,
    /// The pattern's state bits are all zero.
    pub zero_out: Signal<Out, Bit>,
}

impl Logic for PrbsStep {
    fn update(&mut self) {
        let hist = self.state_in.val().to_u32();
        let code = self.pattern_in.val().to_u32() as u8;
        let raw = step_raw(hist, code);
        let inv = inversion(code);
        self.raw_out.next = (raw as u64).to_bits();
        self.line_out.next = ((raw ^ inv) as u64).to_bits();
        self.inv_out.next = (inv as u64).to_bits();
        self.zero_out.next = hist & state_mask(pattern_of_code(code)) == 0;
    }
    fn connect(&mut self) {
        self.raw_out.connect();
        self.line_out.connect();
        self.inv_out.connect();
        self.zero_out.connect();
    }
    fn hdl(&self) -> Verilog {
        let mut code = String::from("always @(*) begin\n   case (pattern_in)\n");
        for p in Prbs::ALL {
            let sel = if p == Prbs::Prbs31 {
                "default".to_string()
            } else {
                format!("2'd{}", p.code())
            };
            let inv = if p.inverted() { "1'b1" } else { "1'b0" };
            code += &format!("   {sel}: begin\n");
            for (k, m) in EQUATIONS[p.code() as usize].iter().enumerate() {
                code += &format!("      raw_out[{k}] = ^(state_in & 31'h{m:08x});\n");
                code += &format!("      line_out[{k}] = (^(state_in & 31'h{m:08x})) ^ {inv};\n");
            }
            code += &format!("      inv_out = {{20{{{inv}}}}};\n");
            code += &format!(
                "      zero_out = ~(|(state_in & 31'h{:08x}));\n",
                state_mask(p)
            );
            code += "   end\n";
        }
        code += "   endcase\nend\n";
        Verilog::Custom(code)
    }
}

/// The number of ones in a 20-bit word, as a combinational network: four
/// 5-bit groups counted by table (LUT logic), then a sum of the four.
/// Latency 0.
#[derive(LogicBlock, Default)]
pub struct Popcount20 {
    /// The word.
    pub data_in: Signal<In, Bits<20>>,
    /// Its ones, 0..=20.
    pub count_out: Signal<Out, Bits<5>>,
}

impl Logic for Popcount20 {
    fn update(&mut self) {
        self.count_out.next = (self.data_in.val().to_u32().count_ones() as u64).to_bits();
    }
    fn connect(&mut self) {
        self.count_out.connect();
    }
    fn hdl(&self) -> Verilog {
        let mut code = String::new();
        for g in 0..4 {
            code += &format!("reg [2:0] group{g};\n");
        }
        code += "always @(*) begin\n";
        for g in 0..4 {
            code += &format!("   case (data_in[{}:{}])\n", 5 * g + 4, 5 * g);
            for v in 0..32u32 {
                code += &format!("      5'd{v}: group{g} = 3'd{};\n", v.count_ones());
            }
            code += "   endcase\n";
        }
        code += "   count_out = ({2'b0, group0} + {2'b0, group1}) + ({2'b0, group2} + {2'b0, group3});\nend\n";
        Verilog::Custom(code)
    }
}

/// The PRBS generator: 20 line bits per clock of the selected pattern.
///
/// In every clock with `enable_in` high the history register takes one
/// step and `data_out` takes the step's line word; with `enable_in` low
/// both hold. `pattern_in` is used as it is (no register): a change takes
/// effect with the next enabled word and continues from the bits already
/// sent. From reset, the words are those of the spec's
/// [`fiberloop_spec::phy::PrbsGen::new`]`(pattern).next_word()`.
///
/// Latency: 1 clock (the word of an enabled clock is on `data_out` in the
/// next clock). Throughput: 20 bits per clock. Reset: `reset_in`
/// (synchronous, over `enable_in`) reloads the history with all ones and
/// clears `data_out`; at power-up the history is all ones as well
/// (`DFFWithInit`).
#[derive(LogicBlock)]
pub struct PrbsGen {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: history to all ones, `data_out` to 0.
    pub reset_in: Signal<In, Bit>,
    /// Advance one word this clock.
    pub enable_in: Signal<In, Bit>,
    /// Pattern code ([`Prbs::code`]).
    pub pattern_in: Signal<In, Bits<2>>,
    /// The line word (bit 0 first on the line), registered.
    pub data_out: Signal<Out, Bits<20>>,
    step: PrbsStep,
    hist: DFFWithInit<Bits<31>>,
    word: DFF<Bits<20>>,
    ones: Constant<Bits<31>>,
}

impl Default for PrbsGen {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset_in: Default::default(),
            enable_in: Default::default(),
            pattern_in: Default::default(),
            data_out: Default::default(),
            step: Default::default(),
            hist: DFFWithInit::new((HIST_ONES as u64).to_bits()),
            word: Default::default(),
            ones: Constant::new((HIST_ONES as u64).to_bits()),
        }
    }
}

#[allow(unused_parens)]
impl Logic for PrbsGen {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, word);
        self.hist.clock.next = self.clock.val();
        self.hist.d.next = self.hist.q.val();
        self.step.state_in.next = self.hist.q.val();
        self.step.pattern_in.next = self.pattern_in.val();
        if self.enable_in.val() {
            self.hist.d.next =
                ((self.hist.q.val() >> 20) | (bit_cast::<31, 20>(self.step.raw_out.val()) << 11));
            self.word.d.next = self.step.line_out.val();
        }
        if self.reset_in.val() {
            self.hist.d.next = self.ones.val();
            self.word.d.next = 0.into();
        }
        self.data_out.next = self.word.q.val();
    }
}

/// One clock's inputs of [`PrbsGen`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenIn {
    /// `reset_in`.
    pub reset: bool,
    /// `enable_in`.
    pub enable: bool,
    /// `pattern_in`.
    pub pattern: u8,
}

/// Cycle model of [`PrbsGen`] on the spec's software generator. `step`
/// returns `data_out` before the clock's edge.
#[derive(Clone, Debug)]
pub struct PrbsGenModel {
    hist: u32,
    word: u32,
}

impl Default for PrbsGenModel {
    fn default() -> Self {
        Self {
            hist: HIST_ONES,
            word: 0,
        }
    }
}

impl PrbsGenModel {
    /// One clock.
    pub fn step(&mut self, i: GenIn) -> u32 {
        let out = self.word;
        if i.reset {
            *self = Self::default();
        } else if i.enable {
            let (line, raw) = reference_word(self.hist, i.pattern);
            self.word = line;
            self.hist = shift_hist(self.hist, raw);
        }
        out
    }
}

/// The checker's lock state.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum CheckState {
    /// Loading the history from the line ([`LOAD_WORDS`] words).
    Load,
    /// Predicting; waiting for [`LOCK_WORDS`] clean words.
    Verify,
    /// Locked: predicting and counting.
    Locked,
}

/// The PRBS checker: a locked reference generator on the receive clock.
///
/// How it locks:
/// 1. **Load**: the history register takes [`LOAD_WORDS`] received words
///    (inversion undone): then it holds the last 31 line bits, whatever the
///    bit slip of the word boundary (the register is a window on the
///    continuous bit stream, so any slip works).
/// 2. **Verify**: from then on the register runs on its own predictions
///    (received bits never enter it again, so a line error is counted once
///    and does not propagate). Each received word is compared with the
///    prediction; a word with any difference, or a state of all zeros,
///    sends it back to Load. After [`LOCK_WORDS`] clean words in a row it
///    is **Locked** (`locked_out`).
/// 3. **Locked**: every flipped line bit is one error. Lock is lost when
///    the errors within a window of [`WINDOW_WORDS`] words (fixed windows
///    from lock) reach [`LOSS_ERRORS`]: back to Load, and the sticky
///    `lock_lost_out` is set.
///
/// Counting: a word presented while `locked_out` is high and `check_in` is
/// high counts: `bits_out += 20`, `errors_out +=` its flipped bits (64-bit
/// counters, visible 3 clocks after the word). `check_in` does not affect
/// locking. When the stream really changes under a locked checker (a new bit
/// slip after a re-lock of the CDR, another pattern at the far end), the
/// words until lock is lost are counted with their ~50 % errors: under
/// `2 * LOSS_ERRORS + 60` errors (and their bits) per such event (the rest
/// of the window it falls in, the next window up to the loss, and two words
/// in the pipeline), which the sticky `lock_lost_out` reports; a test that
/// must be exact clears after such an event.
///
/// `clear_in` (strobe): counters to 0, `lock_lost_out` to 0, back to Load;
/// words already in the pipeline are not counted. A change of `pattern_in`
/// (registered inside) sends it back to Load without setting
/// `lock_lost_out`. Every input belongs to the receive clock's domain (the
/// integrator synchronises `pattern_in`/`check_in` levels and carries the
/// `clear_in` strobe across; the counters are read from another domain
/// only through a synchroniser).
///
/// Latency: the mismatch of a word is registered in the clock after it
/// (stage 1), its popcount in the next (stage 2), the counters after that:
/// 3 clocks from word to counters; lock decisions use stages 1 (verify) and
/// 2 (window). Lock takes `LOAD_WORDS + 1 + LOCK_WORDS` = 11 words from a
/// clean start. Throughput: 20 bits per clock, no stall. Reset: none;
/// power-up in Load with zero counters; `clear_in` is the reset.
#[derive(LogicBlock)]
pub struct PrbsCheck {
    /// Receive word clock.
    pub clock: Signal<In, Clock>,
    /// The received line word (bit 0 first on the line), every clock.
    pub data_in: Signal<In, Bits<20>>,
    /// Pattern code ([`Prbs::code`]).
    pub pattern_in: Signal<In, Bits<2>>,
    /// Count while high (and locked).
    pub check_in: Signal<In, Bit>,
    /// Strobe: clear counters and `lock_lost_out`, relock.
    pub clear_in: Signal<In, Bit>,
    /// Locked to the pattern.
    pub locked_out: Signal<Out, Bit>,
    /// Lock was lost at least once since the last clear.
    pub lock_lost_out: Signal<Out, Bit>,
    /// Bits checked (counted words x 20).
    pub bits_out: Signal<Out, Bits<64>>,
    /// Bit errors among them.
    pub errors_out: Signal<Out, Bits<64>>,
    step: PrbsStep,
    pop: Popcount20,
    pat: DFF<Bits<2>>,
    hist: DFF<Bits<31>>,
    state: DFF<CheckState>,
    loaded: DFF<Bit>,
    clean: DFF<Bits<4>>,
    // Stage 1: the word's mismatches and flags.
    err_q: DFF<Bits<20>>,
    pred_q: DFF<Bit>,
    inlock_q: DFF<Bit>,
    count_q: DFF<Bit>,
    // Stage 2: the word's error count and flags.
    nerr_q: DFF<Bits<5>>,
    inlock2_q: DFF<Bit>,
    count2_q: DFF<Bit>,
    // Lock-loss window.
    win_words: DFF<Bits<6>>,
    win_errs: DFF<Bits<9>>,
    win_sum: Signal<Local, Bits<9>>,
    lost: DFF<Bit>,
    bits: DFF<Bits<64>>,
    errors: DFF<Bits<64>>,
    word_bits: Constant<Bits<64>>,
    lock_last: Constant<Bits<4>>,
    window_last: Constant<Bits<6>>,
    loss_errors: Constant<Bits<9>>,
}

impl Default for PrbsCheck {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            data_in: Default::default(),
            pattern_in: Default::default(),
            check_in: Default::default(),
            clear_in: Default::default(),
            locked_out: Default::default(),
            lock_lost_out: Default::default(),
            bits_out: Default::default(),
            errors_out: Default::default(),
            step: Default::default(),
            pop: Default::default(),
            pat: Default::default(),
            hist: Default::default(),
            state: Default::default(),
            loaded: Default::default(),
            clean: Default::default(),
            err_q: Default::default(),
            pred_q: Default::default(),
            inlock_q: Default::default(),
            count_q: Default::default(),
            nerr_q: Default::default(),
            inlock2_q: Default::default(),
            count2_q: Default::default(),
            win_words: Default::default(),
            win_errs: Default::default(),
            win_sum: Default::default(),
            lost: Default::default(),
            bits: Default::default(),
            errors: Default::default(),
            word_bits: Constant::new((WORD_BITS as u64).to_bits()),
            lock_last: Constant::new(((LOCK_WORDS - 1) as u64).to_bits()),
            window_last: Constant::new(((WINDOW_WORDS - 1) as u64).to_bits()),
            loss_errors: Constant::new((LOSS_ERRORS as u64).to_bits()),
        }
    }
}

#[allow(unused_parens)]
impl Logic for PrbsCheck {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, pat, hist, state, loaded, clean, err_q, pred_q, inlock_q, count_q, nerr_q,
            inlock2_q, count2_q, win_words, win_errs, lost, bits, errors
        );
        self.pat.d.next = self.pattern_in.val();
        self.step.state_in.next = self.hist.q.val();
        self.step.pattern_in.next = self.pat.q.val();

        // Stage 1: which bits differ from the prediction.
        self.err_q.d.next = (self.step.line_out.val() ^ self.data_in.val());
        self.pred_q.d.next = (self.state.q.val() != CheckState::Load);
        self.inlock_q.d.next = (self.state.q.val() == CheckState::Locked);
        self.count_q.d.next = ((self.state.q.val() == CheckState::Locked) & self.check_in.val());

        // Stage 2: how many.
        self.pop.data_in.next = self.err_q.q.val();
        self.nerr_q.d.next = self.pop.count_out.val();
        self.inlock2_q.d.next = self.inlock_q.q.val();
        self.count2_q.d.next = self.count_q.q.val();

        // Counters.
        if self.count2_q.q.val() {
            self.bits.d.next = (self.bits.q.val() + self.word_bits.val());
            self.errors.d.next = (self.errors.q.val() + bit_cast::<64, 5>(self.nerr_q.q.val()));
        }
        self.win_sum.next = (self.win_errs.q.val() + bit_cast::<9, 5>(self.nerr_q.q.val()));

        // The history runs on its predictions, except while loading.
        self.hist.d.next =
            ((self.hist.q.val() >> 20) | (bit_cast::<31, 20>(self.step.raw_out.val()) << 11));
        match self.state.q.val() {
            CheckState::Load => {
                self.hist.d.next = ((self.hist.q.val() >> 20)
                    | (bit_cast::<31, 20>(self.data_in.val() ^ self.step.inv_out.val()) << 11));
                self.loaded.d.next = !self.loaded.q.val();
                if self.loaded.q.val() {
                    self.state.d.next = CheckState::Verify;
                    self.clean.d.next = 0.into();
                }
            }
            CheckState::Verify => {
                if (self.step.zero_out.val() | (self.pred_q.q.val() & self.err_q.q.val().any())) {
                    self.state.d.next = CheckState::Load;
                    self.loaded.d.next = false;
                } else if self.pred_q.q.val() {
                    if (self.clean.q.val() == self.lock_last.val()) {
                        self.state.d.next = CheckState::Locked;
                        self.win_words.d.next = 0.into();
                        self.win_errs.d.next = 0.into();
                    } else {
                        self.clean.d.next = (self.clean.q.val() + 1);
                    }
                }
            }
            CheckState::Locked => {
                if self.inlock2_q.q.val() {
                    if (self.win_sum.val() >= self.loss_errors.val()) {
                        self.state.d.next = CheckState::Load;
                        self.loaded.d.next = false;
                        self.lost.d.next = true;
                    } else if (self.win_words.q.val() == self.window_last.val()) {
                        self.win_words.d.next = 0.into();
                        self.win_errs.d.next = 0.into();
                    } else {
                        self.win_words.d.next = (self.win_words.q.val() + 1);
                        self.win_errs.d.next = self.win_sum.val();
                    }
                }
            }
            _ => {
                self.state.d.next = CheckState::Load;
            }
        }
        if ((self.pattern_in.val() != self.pat.q.val()) | self.clear_in.val()) {
            self.state.d.next = CheckState::Load;
            self.loaded.d.next = false;
        }
        if self.clear_in.val() {
            self.lost.d.next = false;
            self.bits.d.next = 0.into();
            self.errors.d.next = 0.into();
            self.pred_q.d.next = false;
            self.inlock_q.d.next = false;
            self.count_q.d.next = false;
            self.inlock2_q.d.next = false;
            self.count2_q.d.next = false;
        }

        self.locked_out.next = (self.state.q.val() == CheckState::Locked);
        self.lock_lost_out.next = self.lost.q.val();
        self.bits_out.next = self.bits.q.val();
        self.errors_out.next = self.errors.q.val();
    }
}

/// One clock's inputs of [`PrbsCheck`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckIn {
    /// `data_in`.
    pub data: u32,
    /// `pattern_in`.
    pub pattern: u8,
    /// `check_in`.
    pub check: bool,
    /// `clear_in`.
    pub clear: bool,
}

/// One clock's outputs of [`PrbsCheck`], before the edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckOut {
    /// `locked_out`.
    pub locked: bool,
    /// `lock_lost_out`.
    pub lock_lost: bool,
    /// `bits_out`.
    pub bits: u64,
    /// `errors_out`.
    pub errors: u64,
}

/// Cycle model of [`PrbsCheck`]: the same pipeline and lock rules, with
/// predictions from the spec's software generator ([`reference_word`]).
#[derive(Clone, Debug, Default)]
pub struct PrbsCheckModel {
    pat: u8,
    hist: u32,
    state: u8, // 0 load, 1 verify, 2 locked
    loaded: bool,
    clean: u32,
    err_q: u32,
    pred_q: bool,
    inlock_q: bool,
    count_q: bool,
    nerr_q: u32,
    inlock2_q: bool,
    count2_q: bool,
    win_words: u32,
    win_errs: u32,
    lost: bool,
    bits: u64,
    errors: u64,
}

impl PrbsCheckModel {
    /// One clock.
    pub fn step(&mut self, i: CheckIn) -> CheckOut {
        const LOAD: u8 = 0;
        const VERIFY: u8 = 1;
        const LOCKED: u8 = 2;
        let out = CheckOut {
            locked: self.state == LOCKED,
            lock_lost: self.lost,
            bits: self.bits,
            errors: self.errors,
        };
        let s = self.clone();
        let mut n = self.clone();
        let (line, raw) = reference_word(s.hist, s.pat);
        let data = i.data & ((1 << WORD_BITS) - 1);
        n.pat = i.pattern & 3;
        n.err_q = line ^ data;
        n.pred_q = s.state != LOAD;
        n.inlock_q = s.state == LOCKED;
        n.count_q = s.state == LOCKED && i.check;
        n.nerr_q = s.err_q.count_ones();
        n.inlock2_q = s.inlock_q;
        n.count2_q = s.count_q;
        if s.count2_q {
            n.bits = s.bits.wrapping_add(WORD_BITS as u64);
            n.errors = s.errors.wrapping_add(s.nerr_q as u64);
        }
        let win_sum = s.win_errs + s.nerr_q;
        n.hist = shift_hist(s.hist, raw);
        match s.state {
            LOAD => {
                n.hist = shift_hist(s.hist, data ^ inversion(s.pat));
                n.loaded = !s.loaded;
                if s.loaded {
                    n.state = VERIFY;
                    n.clean = 0;
                }
            }
            VERIFY => {
                let zero = s.hist & state_mask(pattern_of_code(s.pat)) == 0;
                if zero || (s.pred_q && s.err_q != 0) {
                    n.state = LOAD;
                    n.loaded = false;
                } else if s.pred_q {
                    if s.clean == LOCK_WORDS - 1 {
                        n.state = LOCKED;
                        n.win_words = 0;
                        n.win_errs = 0;
                    } else {
                        n.clean = s.clean + 1;
                    }
                }
            }
            _ => {
                if s.inlock2_q {
                    if win_sum >= LOSS_ERRORS {
                        n.state = LOAD;
                        n.loaded = false;
                        n.lost = true;
                    } else if s.win_words == WINDOW_WORDS - 1 {
                        n.win_words = 0;
                        n.win_errs = 0;
                    } else {
                        n.win_words = s.win_words + 1;
                        n.win_errs = win_sum;
                    }
                }
            }
        }
        if (i.pattern & 3) != s.pat || i.clear {
            n.state = LOAD;
            n.loaded = false;
        }
        if i.clear {
            n.lost = false;
            n.bits = 0;
            n.errors = 0;
            n.pred_q = false;
            n.inlock_q = false;
            n.count_q = false;
            n.inlock2_q = false;
            n.count2_q = false;
        }
        *self = n;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::lockstep::{self, CycleModel, Verilated};
    use fiberloop_harness::verilator::Model;
    use fiberloop_spec::phy::PrbsGen as SoftGen;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    impl CycleModel for PrbsGenModel {
        type In = GenIn;
        type Out = u32;
        fn step(&mut self, i: &GenIn) -> u32 {
            PrbsGenModel::step(self, *i)
        }
    }

    impl CycleModel for PrbsCheckModel {
        type In = CheckIn;
        type Out = CheckOut;
        fn step(&mut self, i: &CheckIn) -> CheckOut {
            PrbsCheckModel::step(self, *i)
        }
    }

    fn gen_hw() -> Verilated<GenIn, u32> {
        let mut uut = PrbsGen::default();
        uut.connect_all();
        Verilated::new(
            Model::of_block(&uut).unwrap(),
            "clock",
            &["reset_in", "enable_in", "pattern_in"],
            &["data_out"],
            |i: &GenIn, p: &mut [u64]| {
                p[0] = i.reset as u64;
                p[1] = i.enable as u64;
                p[2] = i.pattern as u64;
            },
            |g: &[u64]| g[0] as u32,
        )
    }

    fn check_hw() -> Verilated<CheckIn, CheckOut> {
        let mut uut = PrbsCheck::default();
        uut.connect_all();
        Verilated::new(
            Model::of_block(&uut).unwrap(),
            "clock",
            &["data_in", "pattern_in", "check_in", "clear_in"],
            &["locked_out", "lock_lost_out", "bits_out", "errors_out"],
            |i: &CheckIn, p: &mut [u64]| {
                p[0] = i.data as u64;
                p[1] = i.pattern as u64;
                p[2] = i.check as u64;
                p[3] = i.clear as u64;
            },
            |g: &[u64]| CheckOut {
                locked: g[0] != 0,
                lock_lost: g[1] != 0,
                bits: g[2],
                errors: g[3],
            },
        )
    }

    /// The equations against the spec's generator, bit for bit, from many
    /// states of every pattern.
    #[test]
    fn equations_match_the_software_generator() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x9B55_0001);
        for code in 0..4u8 {
            for _ in 0..2000 {
                let hist = rng.gen::<u32>() & HIST_ONES;
                let (line, raw) = reference_word(hist, code);
                assert_eq!(step_raw(hist, code), raw, "code {code} hist {hist:08x}");
                assert_eq!(raw ^ inversion(code), line);
            }
        }
        // From all ones, word after word: the spec generator's stream.
        for p in Prbs::ALL {
            let mut soft = SoftGen::new(p);
            let mut hist = HIST_ONES;
            let code = p.code() as u8;
            for _ in 0..500 {
                let raw = step_raw(hist, code);
                assert_eq!(raw ^ inversion(code), soft.next_word(), "{p:?}");
                hist = shift_hist(hist, raw);
            }
        }
    }

    #[test]
    fn prbs_gen_against_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x9B55_0002);
        let mut pattern = 0u8;
        let ins: Vec<GenIn> = (0..40_000)
            .map(|_| {
                if rng.gen_bool(0.002) {
                    pattern = rng.gen_range(0..4);
                }
                GenIn {
                    reset: rng.gen_bool(0.0005),
                    enable: rng.gen_bool(0.9),
                    pattern,
                }
            })
            .collect();
        let r = lockstep::run(&mut gen_hw(), &mut PrbsGenModel::default(), ins);
        println!("PrbsGen: {r:?}");
    }

    /// The generator from power-up, always enabled: the spec's stream.
    #[test]
    fn prbs_gen_is_the_spec_sequence() {
        for p in Prbs::ALL {
            let mut hw = gen_hw();
            let mut soft = SoftGen::new(p);
            let i = GenIn {
                reset: false,
                enable: true,
                pattern: p.code() as u8,
            };
            hw.step(&i);
            for w in 0..3000 {
                assert_eq!(hw.step(&i), soft.next_word(), "{p:?} word {w}");
            }
        }
    }

    /// The generator's line bits from `skip_words` words on, `slip` bits
    /// dropped, as 20-bit words, each with a flip mask: with probability
    /// `flip_p` a word gets 1 to 3 random bits flipped. Returns (words with
    /// the flips applied, the masks).
    fn line_words(
        p: Prbs,
        skip_words: usize,
        slip: u32,
        words: usize,
        flip_p: f64,
        rng: &mut ChaCha8Rng,
    ) -> (Vec<u32>, Vec<u32>) {
        let mut g = SoftGen::new(p);
        for _ in 0..skip_words {
            g.next_word();
        }
        if slip > 0 {
            g.next_bits(slip);
        }
        let mut out = Vec::with_capacity(words);
        let mut masks = Vec::with_capacity(words);
        for _ in 0..words {
            let mut mask = 0u32;
            if rng.gen_bool(flip_p) {
                for _ in 0..rng.gen_range(1..=3) {
                    mask |= 1 << rng.gen_range(0..WORD_BITS);
                }
            }
            out.push(g.next_word() ^ mask);
            masks.push(mask);
        }
        (out, masks)
    }

    #[test]
    fn prbs_check_against_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x9B55_0003);
        let mut ins = vec![];
        // Segments: clean and noisy streams of each pattern at random
        // slips, bursts of garbage (lock loss), pattern changes, clears,
        // check toggled.
        for seg in 0..60 {
            let p = Prbs::ALL[seg % 3];
            let code = if rng.gen_bool(0.15) {
                rng.gen_range(0..4)
            } else {
                p.code() as u8
            };
            let slip = rng.gen_range(0..WORD_BITS);
            let flip_p = [0.0, 0.01, 0.2, 0.9][rng.gen_range(0..4)];
            let (words, _) = line_words(p, rng.gen_range(0..5000), slip, 800, flip_p, &mut rng);
            let mut check = rng.gen_bool(0.8);
            for (k, w) in words.into_iter().enumerate() {
                if rng.gen_bool(0.01) {
                    check = !check;
                }
                let garbage = (300..340).contains(&k) && seg % 4 == 1;
                ins.push(CheckIn {
                    data: if garbage {
                        rng.gen::<u32>() & 0xFFFFF
                    } else {
                        w
                    },
                    pattern: code,
                    check,
                    clear: rng.gen_bool(0.002),
                });
            }
        }
        // A dark line (zeros) and all ones for every pattern.
        for code in 0..3u8 {
            for fill in [0, 0xFFFFF] {
                ins.extend((0..200).map(|_| CheckIn {
                    data: fill,
                    pattern: code,
                    check: true,
                    clear: false,
                }));
            }
        }
        let (mut locked_clocks, mut lost_clocks, mut max_errors, mut max_bits) = (0, 0, 0, 0);
        lockstep::run_observed(
            &mut check_hw(),
            &mut PrbsCheckModel::default(),
            ins,
            |_, o| {
                locked_clocks += o.locked as u32;
                lost_clocks += o.lock_lost as u32;
                max_errors = max_errors.max(o.errors);
                max_bits = max_bits.max(o.bits);
            },
        );
        println!(
            "PrbsCheck: {locked_clocks} clocks locked, {lost_clocks} with lock_lost, \
             counters up to {max_bits} bits, {max_errors} errors"
        );
        assert!(locked_clocks > 10_000 && lost_clocks > 1_000 && max_errors > 100);
    }

    /// The checker fed the generator's words with seeded random flips at
    /// every bit slip: after lock, errors == flips exactly and bits == 20 x
    /// the words counted. Flips start at word 20 (lock comes at word 11).
    #[test]
    fn prbs_check_counts_every_flip_at_any_slip() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x9B55_0004);
        let mut hw = check_hw();
        for slip in 0..WORD_BITS {
            let p = Prbs::ALL[slip as usize % 3];
            let code = p.code() as u8;
            let skip = rng.gen_range(0..100_000);
            let (mut words, mut masks) = line_words(p, skip, slip, 3000, 0.05, &mut rng);
            for k in 0..20 {
                words[k] ^= masks[k];
                masks[k] = 0;
            }
            hw.step(&CheckIn {
                data: 0,
                pattern: code,
                check: true,
                clear: true,
            });
            let (mut counted_words, mut counted_flips) = (0u64, 0u64);
            let mut locked_at = None;
            for (k, (&w, &m)) in words.iter().zip(&masks).enumerate() {
                let o = hw.step(&CheckIn {
                    data: w,
                    pattern: code,
                    check: true,
                    clear: false,
                });
                if o.locked {
                    locked_at.get_or_insert(k);
                    counted_words += 1;
                    counted_flips += m.count_ones() as u64;
                } else {
                    assert!(locked_at.is_none(), "slip {slip}: lock lost at word {k}");
                    assert_eq!(m, 0, "slip {slip}: not locked at word {k}");
                }
            }
            // Stop counting, let the pipeline drain.
            let mut o = CheckOut::default();
            for _ in 0..4 {
                o = hw.step(&CheckIn {
                    data: 0,
                    pattern: code,
                    check: false,
                    clear: false,
                });
            }
            let locked_at = locked_at.expect("never locked");
            assert!(locked_at <= 12, "slip {slip}: locked at word {locked_at}");
            assert!(counted_flips > 100, "{counted_flips}");
            assert_eq!(o.errors, counted_flips, "slip {slip} {p:?}");
            assert_eq!(o.bits, counted_words * 20, "slip {slip} {p:?}");
            assert!(!o.lock_lost);
        }
    }

    /// A stream of one pattern never locks a checker set to another (nor
    /// random data, nor a dark line); clear empties the counters and the
    /// lost flag.
    #[test]
    fn prbs_check_mismatch_never_locks_and_clear_works() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x9B55_0005);
        let mut hw = check_hw();
        for sent in Prbs::ALL {
            for set in 0..4u8 {
                if pattern_of_code(set) == sent {
                    continue;
                }
                let (words, _) = line_words(
                    sent,
                    rng.gen_range(0..10_000),
                    rng.gen_range(0..20),
                    5000,
                    0.0,
                    &mut rng,
                );
                for w in words {
                    let o = hw.step(&CheckIn {
                        data: w,
                        pattern: set,
                        check: true,
                        clear: false,
                    });
                    assert!(
                        !o.locked && o.bits == 0,
                        "{sent:?} locked a checker set to {set}"
                    );
                }
            }
        }
        for data in [0u32, 0xFFFFF] {
            for set in 0..3u8 {
                for _ in 0..500 {
                    let o = hw.step(&CheckIn {
                        data,
                        pattern: set,
                        check: true,
                        clear: false,
                    });
                    assert!(!o.locked, "{data:05x} locked pattern {set}");
                }
            }
        }
        for _ in 0..2000 {
            let o = hw.step(&CheckIn {
                data: rng.gen::<u32>() & 0xFFFFF,
                pattern: 2,
                check: true,
                clear: false,
            });
            assert!(!o.locked);
        }
        // Lock, count, lose lock on garbage, then clear.
        let (words, _) = line_words(Prbs::Prbs31, 77, 5, 400, 0.0, &mut rng);
        let mut o = CheckOut::default();
        for &w in &words {
            o = hw.step(&CheckIn {
                data: w,
                pattern: 2,
                check: true,
                clear: false,
            });
        }
        assert!(o.locked && o.bits > 0 && o.errors == 0, "{o:?}");
        for _ in 0..20 {
            o = hw.step(&CheckIn {
                data: rng.gen::<u32>() & 0xFFFFF,
                pattern: 2,
                check: true,
                clear: false,
            });
        }
        assert!(!o.locked && o.lock_lost && o.errors > 0, "{o:?}");
        hw.step(&CheckIn {
            data: 0,
            pattern: 2,
            check: true,
            clear: true,
        });
        for _ in 0..3 {
            o = hw.step(&CheckIn {
                data: 0,
                pattern: 2,
                check: true,
                clear: false,
            });
        }
        assert_eq!(o, CheckOut::default());
    }

    /// The lock rules at work: a BER of 1e-2 (independent flips per bit)
    /// keeps lock and every flip is counted; a bit slip of the stream (one
    /// line bit lost, as at a CDR re-lock) loses lock within two windows,
    /// sets `lock_lost`, and the checker locks again on the new slip.
    #[test]
    fn prbs_check_keeps_lock_under_noise_and_relocks_after_a_slip() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x9B55_0006);
        let mut hw = check_hw();
        let mut g = SoftGen::new(Prbs::Prbs31);
        let code = Prbs::Prbs31.code() as u8;
        let (mut flips, mut counted_words, mut lost_at, mut relocked_at) = (0u64, 0u64, None, None);
        let mut o = CheckOut::default();
        for k in 0..12_000usize {
            if k == 6_000 {
                g.next_bit();
            }
            let mut mask = 0u32;
            if (20..6_000).contains(&k) {
                for b in 0..WORD_BITS {
                    if rng.gen_bool(1e-2) {
                        mask |= 1 << b;
                    }
                }
            }
            let w = g.next_word() ^ mask;
            o = hw.step(&CheckIn {
                data: w,
                pattern: code,
                check: k < 6_000,
                clear: false,
            });
            if (12..6_000).contains(&k) {
                assert!(o.locked, "lock lost at word {k} at a BER of 1e-2");
                counted_words += 1;
                flips += mask.count_ones() as u64;
            }
            if k >= 6_000 && !o.locked && lost_at.is_none() {
                lost_at = Some(k);
            }
            if lost_at.is_some() && o.locked && relocked_at.is_none() {
                relocked_at = Some(k);
            }
        }
        let (lost_at, relocked_at) = (lost_at.unwrap(), relocked_at.unwrap());
        println!(
            "PrbsCheck: BER 1e-2: {flips} flips in {counted_words} words counted; \
             slip at word 6000: lock lost at {lost_at}, back at {relocked_at}; {o:?}"
        );
        assert!(
            lost_at - 6_000 <= 2 * WINDOW_WORDS as usize + 3,
            "{lost_at}"
        );
        assert!(relocked_at - lost_at <= 12, "{relocked_at}");
        assert!(o.locked && o.lock_lost);
        // Counting stopped at the slip (check low), so the counts are exact.
        assert_eq!((o.errors, o.bits), (flips, counted_words * 20));
    }

    #[test]
    fn prbs_gen_synthesizes() {
        let mut uut = PrbsGen::default();
        uut.connect_all();
        let rep = fiberloop_harness::synth::synth_block(&uut, "phy_prbs_gen").unwrap();
        println!("PrbsGen: {} LUTs, {} FFs", rep.luts(), rep.ffs());
        assert!(rep.ffs() >= 51 && rep.luts() < 300, "{rep}");
    }

    #[test]
    fn prbs_check_synthesizes() {
        let mut uut = PrbsCheck::default();
        uut.connect_all();
        let rep = fiberloop_harness::synth::synth_block(&uut, "phy_prbs_check").unwrap();
        println!("PrbsCheck: {} LUTs, {} FFs", rep.luts(), rep.ffs());
        assert!(rep.ffs() >= 180 && rep.luts() < 700, "{rep}");
    }

    #[test]
    #[cfg(feature = "pnr")]
    fn prbs_meets_timing() {
        use fiberloop_harness::pnr::{assert_meets_timing, ClockConstraint, WORD_CLOCK_MHZ};
        let mut g = PrbsGen::default();
        g.connect_all();
        assert_meets_timing(
            &g,
            "phy_prbs_gen",
            &[ClockConstraint::new("clock", WORD_CLOCK_MHZ)],
        );
        let mut c = PrbsCheck::default();
        c.connect_all();
        assert_meets_timing(
            &c,
            "phy_prbs_check",
            &[ClockConstraint::new("clock", WORD_CLOCK_MHZ)],
        );
    }
}

//! `FreqMeter`: the frequency of a clock, counted against the reference
//! clock (clk100), for the clock meters of the bring-up aids.
//!
//! With the window of [`METER_WINDOW_REF_CLOCKS`] clk100 clocks (1 ms) the
//! count is the measured frequency in kHz.
//!
//! # How it works, and the clock-domain crossings
//!
//! * Measured domain (`meas_clock`): a free-running 24-bit binary counter,
//!   and a register holding its Gray code. The Gray register is the only
//!   thing that leaves the domain, and it changes one bit per clock.
//! * Reference domain (`clock`): two synchroniser flip-flops on the Gray
//!   value, then back to binary ([`GrayToBin`]). A window counter runs over
//!   `window` reference clocks; at the last clock of every window the
//!   difference between the binary count and the one of the previous
//!   window end (mod 2^24) is published in `khz_out`. A sample taken while a
//!   Gray bit changes is either the old or the new value, so every window's
//!   count is exact up to one edge, and the errors do not accumulate (each
//!   window ends where the next begins).
//! * Read domain (`read_clock`, the consumer, e.g. the register file's word
//!   clock): `khz_out` and `valid_out` are registers that change only at a
//!   window end, together with a toggle flag. The toggle crosses through
//!   two flip-flops; a change of the synchronised toggle copies the (by then
//!   stable) count into `read_khz_out`/`read_valid_out`. This is safe when a
//!   window lasts longer than 3 read clocks (the count must not change
//!   again before it is copied): 1 ms against 8 ns here; [`FreqMeter::new`]
//!   refuses windows under 16 reference clocks.
//!
//! The window end and the Gray sample are ~3 reference clocks apart (the
//! synchroniser and the Gray register), the same for every window, so each
//! count covers exactly `window` reference clocks.
//!
//! Latency: the count of a window is in `khz_out` one clock after the
//! window's last reference clock, in `read_khz_out` from the third
//! read-clock edge after that (2 to 3 read periods later). Throughput: one count per window. Reset: none. At power-up every
//! register is zero: the first window end only sets the starting count, so
//! `valid_out` (and, after crossing, `read_valid_out`) goes high at the
//! second window end, with the first full window's count. A stopped
//! measured clock reads 0 from the second window after it stopped.

use fiberloop_spec::phy::METER_WINDOW_REF_CLOCKS;
use rust_hdl::prelude::*;

/// Width of the edge counter (and of the count: up to 2^24 - 1 edges per
/// window, 16.7 GHz at 1 ms).
pub const COUNT_BITS: u32 = 24;

const COUNT_MASK: u32 = (1 << COUNT_BITS) - 1;

/// The shortest window [`FreqMeter::new`] accepts, reference clocks.
pub const MIN_WINDOW: u32 = 16;

/// Gray code of `x`.
pub fn gray(x: u32) -> u32 {
    x ^ (x >> 1)
}

/// The binary value of Gray code `g`.
pub fn from_gray(g: u32) -> u32 {
    let mut b = g;
    let mut s = 1;
    while s < 32 {
        b ^= b >> s;
        s <<= 1;
    }
    b
}

/// Gray to binary, 24 bits, as a combinational network: bit `i` of the
/// binary value is the XOR of Gray bits `23..=i` (one Verilog line per bit).
/// Latency 0.
#[derive(LogicBlock, Default)]
pub struct GrayToBin {
    /// Gray code.
    pub gray_in: Signal<In, Bits<24>>,
    /// Its binary value.
    pub bin_out: Signal<Out, Bits<24>>,
}

impl Logic for GrayToBin {
    fn update(&mut self) {
        self.bin_out.next = (from_gray(self.gray_in.val().to_u32()) as u64).to_bits();
    }
    fn connect(&mut self) {
        self.bin_out.connect();
    }
    fn hdl(&self) -> Verilog {
        let mut code = String::from("always @(*) begin\n");
        for i in 0..COUNT_BITS {
            code += &format!("   bin_out[{i}] = ^(gray_in[{}:{i}]);\n", COUNT_BITS - 1);
        }
        code += "end\n";
        Verilog::Custom(code)
    }
}

/// Counts `meas_clock` edges over a window of reference clocks (see the
/// module doc for the crossings, latency and reset).
#[derive(LogicBlock)]
pub struct FreqMeter {
    /// The reference clock (clk100).
    pub clock: Signal<In, Clock>,
    /// The measured clock.
    pub meas_clock: Signal<In, Clock>,
    /// The consumer's clock.
    pub read_clock: Signal<In, Clock>,
    /// Reference domain: edges in the last window (kHz with the 1 ms
    /// window), zero-extended.
    pub khz_out: Signal<Out, Bits<32>>,
    /// Reference domain: `khz_out` holds a full window's count.
    pub valid_out: Signal<Out, Bit>,
    /// Read domain: `khz_out`, carried across.
    pub read_khz_out: Signal<Out, Bits<32>>,
    /// Read domain: `valid_out`, carried across.
    pub read_valid_out: Signal<Out, Bit>,
    // Measured domain.
    mcount: DFF<Bits<24>>,
    mgray: DFF<Bits<24>>,
    // Reference domain.
    sync1: DFF<Bits<24>>,
    sync2: DFF<Bits<24>>,
    g2b: GrayToBin,
    rbin: DFF<Bits<24>>,
    prev: DFF<Bits<24>>,
    win: DFF<Bits<24>>,
    khz: DFF<Bits<24>>,
    first: DFF<Bit>,
    valid: DFF<Bit>,
    tog: DFF<Bit>,
    // Read domain.
    t1: DFF<Bit>,
    t2: DFF<Bit>,
    t3: DFF<Bit>,
    rkhz: DFF<Bits<24>>,
    rvalid: DFF<Bit>,
    window_last: Constant<Bits<24>>,
}

impl FreqMeter {
    /// A meter whose window is `window` reference clocks. Panics, naming
    /// the value, when `window` is under [`MIN_WINDOW`] or does not fit the
    /// 24-bit window counter.
    pub fn new(window: u32) -> Self {
        assert!(
            (MIN_WINDOW..=1 << COUNT_BITS).contains(&window),
            "FreqMeter window of {window} reference clocks: must be {MIN_WINDOW} to 2^{COUNT_BITS}"
        );
        Self {
            clock: Default::default(),
            meas_clock: Default::default(),
            read_clock: Default::default(),
            khz_out: Default::default(),
            valid_out: Default::default(),
            read_khz_out: Default::default(),
            read_valid_out: Default::default(),
            mcount: Default::default(),
            mgray: Default::default(),
            sync1: Default::default(),
            sync2: Default::default(),
            g2b: Default::default(),
            rbin: Default::default(),
            prev: Default::default(),
            win: Default::default(),
            khz: Default::default(),
            first: Default::default(),
            valid: Default::default(),
            tog: Default::default(),
            t1: Default::default(),
            t2: Default::default(),
            t3: Default::default(),
            rkhz: Default::default(),
            rvalid: Default::default(),
            window_last: Constant::new(((window - 1) as u64).to_bits()),
        }
    }
}

impl Default for FreqMeter {
    /// The 1 ms window of the spec: the count is in kHz.
    fn default() -> Self {
        Self::new(METER_WINDOW_REF_CLOCKS)
    }
}

#[allow(unused_parens)]
impl Logic for FreqMeter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, meas_clock, mcount, mgray);
        dff_setup!(self, clock, sync1, sync2, rbin, prev, win, khz, first, valid, tog);
        dff_setup!(self, read_clock, t1, t2, t3, rkhz, rvalid);
        // Measured domain.
        self.mcount.d.next = (self.mcount.q.val() + 1);
        self.mgray.d.next = (self.mcount.q.val() ^ (self.mcount.q.val() >> 1));
        // Reference domain.
        self.sync1.d.next = self.mgray.q.val();
        self.sync2.d.next = self.sync1.q.val();
        self.g2b.gray_in.next = self.sync2.q.val();
        self.rbin.d.next = self.g2b.bin_out.val();
        self.win.d.next = (self.win.q.val() + 1);
        if (self.win.q.val() == self.window_last.val()) {
            self.win.d.next = 0.into();
            self.khz.d.next = (self.rbin.q.val() - self.prev.q.val());
            self.prev.d.next = self.rbin.q.val();
            self.first.d.next = true;
            self.valid.d.next = self.first.q.val();
            self.tog.d.next = !self.tog.q.val();
        }
        self.khz_out.next = bit_cast::<32, 24>(self.khz.q.val());
        self.valid_out.next = self.valid.q.val();
        // Read domain.
        self.t1.d.next = self.tog.q.val();
        self.t2.d.next = self.t1.q.val();
        self.t3.d.next = self.t2.q.val();
        if (self.t2.q.val() != self.t3.q.val()) {
            self.rkhz.d.next = self.khz.q.val();
            self.rvalid.d.next = self.valid.q.val();
        }
        self.read_khz_out.next = bit_cast::<32, 24>(self.rkhz.q.val());
        self.read_valid_out.next = self.rvalid.q.val();
    }
}

/// The outputs of [`FreqMeter`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeterOut {
    /// `khz_out`.
    pub khz: u32,
    /// `valid_out`.
    pub valid: bool,
    /// `read_khz_out`.
    pub read_khz: u32,
    /// `read_valid_out`.
    pub read_valid: bool,
}

/// Cycle model of [`FreqMeter`] on a time line: [`FreqMeterModel::edges`]
/// takes the rising edges of any of the three clocks that happen at one
/// instant (each register samples the values from before the instant).
#[derive(Clone, Debug)]
pub struct FreqMeterModel {
    window: u32,
    mcount: u32,
    mgray: u32,
    sync1: u32,
    sync2: u32,
    rbin: u32,
    prev: u32,
    win: u32,
    khz: u32,
    first: bool,
    valid: bool,
    tog: bool,
    t1: bool,
    t2: bool,
    t3: bool,
    rkhz: u32,
    rvalid: bool,
}

impl FreqMeterModel {
    /// A model of `FreqMeter::new(window)` at power-up.
    pub fn new(window: u32) -> Self {
        Self {
            window,
            mcount: 0,
            mgray: 0,
            sync1: 0,
            sync2: 0,
            rbin: 0,
            prev: 0,
            win: 0,
            khz: 0,
            first: false,
            valid: false,
            tog: false,
            t1: false,
            t2: false,
            t3: false,
            rkhz: 0,
            rvalid: false,
        }
    }

    /// The outputs now.
    pub fn out(&self) -> MeterOut {
        MeterOut {
            khz: self.khz,
            valid: self.valid,
            read_khz: self.rkhz,
            read_valid: self.rvalid,
        }
    }

    /// One instant with rising edges of the clocks that are `true`.
    pub fn edges(&mut self, meas: bool, reference: bool, read: bool) {
        let s = self.clone();
        if meas {
            self.mcount = (s.mcount + 1) & COUNT_MASK;
            self.mgray = gray(s.mcount);
        }
        if reference {
            self.sync1 = s.mgray;
            self.sync2 = s.sync1;
            self.rbin = from_gray(s.sync2);
            self.win = s.win + 1;
            if s.win == s.window - 1 {
                self.win = 0;
                self.khz = s.rbin.wrapping_sub(s.prev) & COUNT_MASK;
                self.prev = s.rbin;
                self.first = true;
                self.valid = s.first;
                self.tog = !s.tog;
            }
        }
        if read {
            self.t1 = s.tog;
            self.t2 = s.t1;
            self.t3 = s.t2;
            if s.t2 != s.t3 {
                self.rkhz = s.khz;
                self.rvalid = s.valid;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::{Model, Port};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The three clocks on a time line (femtoseconds).
    struct Timeline {
        period: [u64; 3],
        next: [u64; 3],
    }

    impl Timeline {
        /// The next instant's edges: which of (measured, reference, read)
        /// rise, and the time. A period of 0 is a stopped clock.
        fn next(&mut self) -> ([bool; 3], u64) {
            let t = (0..3)
                .filter(|&k| self.period[k] > 0)
                .map(|k| self.next[k])
                .min()
                .unwrap();
            let e = [0, 1, 2].map(|k| self.period[k] > 0 && self.next[k] == t);
            for (k, &edge) in e.iter().enumerate() {
                if edge {
                    self.next[k] += self.period[k];
                }
            }
            (e, t)
        }
    }

    struct Hw {
        m: Model,
        clocks: [Port; 3],
        outs: [Port; 4],
    }

    impl Hw {
        fn new(window: u32) -> Self {
            let mut uut = FreqMeter::new(window);
            uut.connect_all();
            let m = Model::of_block(&uut).unwrap();
            let clocks = ["meas_clock", "clock", "read_clock"].map(|n| m.p(n));
            let outs = ["khz_out", "valid_out", "read_khz_out", "read_valid_out"].map(|n| m.p(n));
            Hw { m, clocks, outs }
        }
        fn edges(&mut self, e: [bool; 3]) {
            for (k, &c) in self.clocks.iter().enumerate() {
                if e[k] {
                    self.m.set(c, 0);
                }
            }
            self.m.eval();
            for (k, &c) in self.clocks.iter().enumerate() {
                if e[k] {
                    self.m.set(c, 1);
                }
            }
            self.m.eval();
        }
        fn out(&self) -> MeterOut {
            let g = |i: usize| self.m.get(self.outs[i]);
            MeterOut {
                khz: g(0) as u32,
                valid: g(1) != 0,
                read_khz: g(2) as u32,
                read_valid: g(3) != 0,
            }
        }
    }

    /// Runs hardware and model side by side over `instants`, comparing the
    /// outputs after every instant; returns the counts published at the
    /// window ends once valid (reference domain), how many times the read
    /// domain's outputs changed, and the last outputs.
    fn lockstep(
        window: u32,
        period: [u64; 3],
        phase: [u64; 3],
        instants: usize,
    ) -> (Vec<u32>, usize, MeterOut) {
        let mut hw = Hw::new(window);
        let mut model = FreqMeterModel::new(window);
        let mut tl = Timeline {
            period,
            next: phase,
        };
        let mut counts = vec![];
        let mut read_updates = 0;
        let mut prev = model.out();
        for i in 0..instants {
            let (e, t) = tl.next();
            hw.edges(e);
            model.edges(e[0], e[1], e[2]);
            let (h, m) = (hw.out(), model.out());
            assert_eq!(h, m, "instant {i} (t = {t} fs, edges {e:?})");
            if e[1] && model.win == 0 && m.valid {
                counts.push(m.khz);
            }
            read_updates +=
                (m.read_khz != prev.read_khz || m.read_valid != prev.read_valid) as usize;
            prev = m;
        }
        (counts, read_updates, prev)
    }

    /// Seeded clock periods and phases around the board's (measured 125 MHz
    /// +- 300 ppm and a few other rates, reference 100 MHz, read 125 MHz),
    /// hardware against model; every count within one edge of the expected
    /// `window * f_meas / f_ref`.
    #[test]
    fn freq_meter_against_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xF4E0_0001);
        let window = 200;
        for (k, mhz) in [125.0f64, 125.0, 156.25, 62.5, 100.0, 250.0, 12.5]
            .into_iter()
            .enumerate()
        {
            // Run 4: measured and reference clocks at one rate and phase
            // (every measured edge meets a reference edge), read at 8 ns.
            let ppm = if k == 4 {
                0.0
            } else {
                rng.gen_range(-300.0..300.0)
            };
            let meas_fs = (1e9 / (mhz * (1.0 + ppm * 1e-6))).round() as u64;
            let reference = 10_000_000u64;
            let read = 8_000_000u64
                + if k == 4 {
                    0
                } else {
                    rng.gen_range(0..2000) * 1000
                };
            let phase = [
                rng.gen_range(0..meas_fs),
                rng.gen_range(0..reference),
                rng.gen_range(0..read),
            ];
            let phase = if k == 4 { [0, 0, 0] } else { phase };
            let (counts, reads, last) = lockstep(window, [meas_fs, reference, read], phase, 30_000);
            let expect = window as f64 * reference as f64 / meas_fs as f64;
            let (lo, hi) = (counts.iter().min(), counts.iter().max());
            println!(
                "FreqMeter: {mhz} MHz {ppm:+.0} ppm: {} counts in {lo:?}..={hi:?} (expected {expect:.2}), {reads} read-side changes",
                counts.len()
            );
            assert!(counts.len() >= 3, "{counts:?}");
            for c in &counts {
                assert!(
                    (*c as f64 - expect).abs() <= 1.0,
                    "{c} for {expect}: {counts:?}"
                );
            }
            assert!(reads >= 2);
            // The read side holds one of the published counts.
            assert!(
                last.read_valid && counts.contains(&last.read_khz),
                "{last:?}"
            );
        }
    }

    /// The 1 ms window of the spec reads kHz, and a stopped clock reads 0.
    #[test]
    fn freq_meter_reads_khz_and_zero_when_stopped() {
        let mut uut = Hw::new(METER_WINDOW_REF_CLOCKS);
        // 125 MHz measured, 100 MHz reference, read at 125 MHz; 2.1 windows.
        let mut tl = Timeline {
            period: [8_000_000, 10_000_000, 8_000_000],
            next: [1_000_000, 0, 3_000_000],
        };
        loop {
            let (e, t) = tl.next();
            uut.edges(e);
            if t > 2_050_000_000_000 + 100_000_000 {
                break;
            }
        }
        let o = uut.out();
        assert!(o.valid && o.read_valid, "{o:?}");
        assert!((124_999..=125_001).contains(&o.khz), "{o:?}");
        assert_eq!(o.read_khz, o.khz);
        // The measured clock stops: two windows later, 0.
        tl.period[0] = 0;
        loop {
            let (e, t) = tl.next();
            uut.edges(e);
            if t > 4_050_000_000_000 + 100_000_000 {
                break;
            }
        }
        let o = uut.out();
        assert_eq!((o.khz, o.read_khz, o.valid), (0, 0, true), "{o:?}");
    }

    #[test]
    #[should_panic(expected = "window of 3 reference clocks")]
    fn freq_meter_refuses_a_short_window() {
        let _ = FreqMeter::new(3);
    }

    #[test]
    fn gray_round_trip() {
        for x in (0..1u32 << 20).step_by(7).chain([COUNT_MASK]) {
            assert_eq!(from_gray(gray(x)), x);
            assert_eq!(
                (gray(x) ^ gray(x.wrapping_add(1) & COUNT_MASK)).count_ones(),
                1,
                "{x}"
            );
        }
    }

    #[test]
    fn freq_meter_synthesizes() {
        let mut uut = FreqMeter::default();
        uut.connect_all();
        let rep = fiberloop_harness::synth::synth_block(&uut, "phy_freq_meter").unwrap();
        println!("FreqMeter: {} LUTs, {} FFs", rep.luts(), rep.ffs());
        assert!(rep.ffs() >= 200 && rep.luts() < 400, "{rep}");
    }

    #[test]
    #[cfg(feature = "pnr")]
    fn freq_meter_meets_timing() {
        use fiberloop_harness::pnr::{assert_meets_timing, ClockConstraint, WORD_CLOCK_MHZ};
        let mut uut = FreqMeter::default();
        uut.connect_all();
        assert_meets_timing(
            &uut,
            "phy_freq_meter",
            &[
                ClockConstraint::new("clock", 100.0),
                ClockConstraint::new("meas_clock", WORD_CLOCK_MHZ),
                ClockConstraint::new("read_clock", WORD_CLOCK_MHZ),
            ],
        );
    }
}

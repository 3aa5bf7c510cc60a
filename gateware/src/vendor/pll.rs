//! The ECP5 PLL (`EHXPLLL`) with one output, as a rust-hdl black box
//! ([`Ehxplll`]) whose dividers come from [`PllConfig::solve`], and its
//! behavioural model ([`EhxplllModel`]).
//!
//! # The configuration
//!
//! One output, `CLKOP`, fed back to itself (`FEEDBK_PATH = "CLKOP"`):
//! `f_out = f_in * CLKFB_DIV / CLKI_DIV`, with the VCO at `f_out *
//! CLKOP_DIV`. [`PllConfig::solve`] finds the dividers that give the
//! output exactly (within 1 ppm) with the phase detector in 3.125..=400 MHz
//! and the VCO in 400..=800 MHz (the ECP5 data sheet's ranges), preferring
//! the highest phase detector frequency, then the VCO nearest 600 MHz
//! (the middle of its range). For 100 -> 125 MHz that is `CLKI_DIV` 4,
//! `CLKFB_DIV` 5, `CLKOP_DIV` 5 (VCO 625 MHz), the same as Project
//! Trellis's `ecppll` picks. The other parameters: the other outputs
//! (`CLKOS`..`CLKOS3`) unused, no dynamic phase, no standby, no reset
//! input (`PLLRST_ENA = "DISABLED"`: the PLL
//! runs from configuration, and its `LOCK` is the fabric's reset release),
//! `CLKOP_CPHASE = CLKOP_DIV - 1` (zero phase), and the loop-filter
//! attributes `ecppll` puts on the cell (`ICP_CURRENT` 12, `LPF_RESISTOR`
//! 8, `MFG_ENABLE_FILTEROPAMP` 1, `MFG_GMCREF_SEL` 2; nextpnr writes them
//! into the PLL's words); `FREQUENCY_PIN_CLKI`/`CLKOP` tell nextpnr the
//! frequencies (it derives the output's timing constraint from the input's
//! `FREQUENCY` regardless).
//!
//! # rust-hdl
//!
//! A `Verilog::Wrapper` like `super::dcua::Dcua`: a guarded
//! `(* blackbox *)` stub declaring the ports used and the parameters set.

use rust_hdl::prelude::*;

/// Phase detector range, MHz.
pub const PFD_MHZ: (f64, f64) = (3.125, 400.0);
/// VCO range, MHz.
pub const VCO_MHZ: (f64, f64) = (400.0, 800.0);
/// Output range of `CLKOP`, MHz.
pub const OUT_MHZ: (f64, f64) = (3.125, 400.0);

/// The dividers of a one-output EHXPLLL.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PllConfig {
    /// Input frequency, MHz.
    pub in_mhz: f64,
    /// Output frequency, MHz (exact for these dividers).
    pub out_mhz: f64,
    /// Reference divider (1..=128).
    pub clki_div: u32,
    /// Feedback divider (1..=80).
    pub clkfb_div: u32,
    /// Output divider (1..=128).
    pub clkop_div: u32,
}

impl PllConfig {
    /// The dividers for `out_mhz` from `in_mhz` (see the module
    /// documentation); an error says why none fit.
    pub fn solve(in_mhz: f64, out_mhz: f64) -> Result<PllConfig, String> {
        if !(in_mhz.is_finite() && (8.0..=400.0).contains(&in_mhz)) {
            return Err(format!("PLL input {in_mhz} MHz is outside 8..=400 MHz"));
        }
        if !(out_mhz.is_finite() && (OUT_MHZ.0..=OUT_MHZ.1).contains(&out_mhz)) {
            return Err(format!(
                "PLL output {out_mhz} MHz is outside {}..={} MHz",
                OUT_MHZ.0, OUT_MHZ.1
            ));
        }
        let mut best: Option<(f64, f64, PllConfig)> = None;
        for clki_div in 1..=128u32 {
            let pfd = in_mhz / clki_div as f64;
            if !(PFD_MHZ.0..=PFD_MHZ.1).contains(&pfd) {
                continue;
            }
            for clkfb_div in 1..=80u32 {
                let f = pfd * clkfb_div as f64;
                if ((f - out_mhz) / out_mhz).abs() > 1e-6 {
                    continue;
                }
                for clkop_div in 1..=128u32 {
                    let vco = f * clkop_div as f64;
                    if !(VCO_MHZ.0..=VCO_MHZ.1).contains(&vco) {
                        continue;
                    }
                    let score = (pfd, -(vco - 600.0).abs());
                    let better = match &best {
                        None => true,
                        Some((p, v, _)) => score.0 > *p || (score.0 == *p && score.1 > *v),
                    };
                    if better {
                        best = Some((
                            score.0,
                            score.1,
                            PllConfig {
                                in_mhz,
                                out_mhz: f,
                                clki_div,
                                clkfb_div,
                                clkop_div,
                            },
                        ));
                    }
                }
            }
        }
        best.map(|(_, _, c)| c).ok_or_else(|| {
            format!("no EHXPLLL dividers give exactly {out_mhz} MHz from {in_mhz} MHz")
        })
    }

    /// The VCO frequency, MHz.
    pub fn vco_mhz(&self) -> f64 {
        self.out_mhz * self.clkop_div as f64
    }

    /// Every parameter of the instance: (name, Verilog value).
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let q = |s: &str| format!("\"{s}\"");
        vec![
            ("PLLRST_ENA", q("DISABLED")),
            ("INTFB_WAKE", q("DISABLED")),
            ("STDBY_ENABLE", q("DISABLED")),
            ("DPHASE_SOURCE", q("DISABLED")),
            ("OUTDIVIDER_MUXA", q("DIVA")),
            ("OUTDIVIDER_MUXB", q("DIVB")),
            ("OUTDIVIDER_MUXC", q("DIVC")),
            ("OUTDIVIDER_MUXD", q("DIVD")),
            ("CLKI_DIV", self.clki_div.to_string()),
            ("CLKOP_ENABLE", q("ENABLED")),
            ("CLKOP_DIV", self.clkop_div.to_string()),
            ("CLKOP_CPHASE", (self.clkop_div - 1).to_string()),
            ("CLKOP_FPHASE", "0".into()),
            ("FEEDBK_PATH", q("CLKOP")),
            ("CLKFB_DIV", self.clkfb_div.to_string()),
        ]
    }
}

/// An EHXPLLL making one clock from another (see the module
/// documentation). A black box: no simulation behaviour
/// ([`EhxplllModel`] stands in for it).
#[derive(LogicBlock)]
pub struct Ehxplll {
    /// The input clock.
    pub clki: Signal<In, Clock>,
    /// The output clock.
    pub clkop: Signal<Out, Clock>,
    /// The PLL is locked (asynchronous: synchronise it).
    pub lock: Signal<Out, Bit>,
    // The configuration, kept as constants (a `LogicBlock` holds only
    // signals, constants and blocks; they become unused localparams).
    c_in_hz: Constant<Bits<32>>,
    c_out_hz: Constant<Bits<32>>,
    c_clki_div: Constant<Bits<8>>,
    c_clkfb_div: Constant<Bits<8>>,
    c_clkop_div: Constant<Bits<8>>,
}

impl Ehxplll {
    /// A PLL making `out_mhz` from `in_mhz`; an error when no dividers fit.
    pub fn new(in_mhz: f64, out_mhz: f64) -> Result<Self, String> {
        let c = PllConfig::solve(in_mhz, out_mhz)?;
        let hz = |mhz: f64| ((mhz * 1e6).round() as u64).to_bits();
        Ok(Self {
            clki: Default::default(),
            clkop: Default::default(),
            lock: Default::default(),
            c_in_hz: Constant::new(hz(c.in_mhz)),
            c_out_hz: Constant::new(hz(c.out_mhz)),
            c_clki_div: Constant::new((c.clki_div as u64).to_bits()),
            c_clkfb_div: Constant::new((c.clkfb_div as u64).to_bits()),
            c_clkop_div: Constant::new((c.clkop_div as u64).to_bits()),
        })
    }

    /// The dividers in use.
    pub fn config(&self) -> PllConfig {
        PllConfig {
            in_mhz: self.c_in_hz.val().to_u64() as f64 / 1e6,
            out_mhz: self.c_out_hz.val().to_u64() as f64 / 1e6,
            clki_div: self.c_clki_div.val().to_u32(),
            clkfb_div: self.c_clkfb_div.val().to_u32(),
            clkop_div: self.c_clkop_div.val().to_u32(),
        }
    }
}

impl Logic for Ehxplll {
    fn update(&mut self) {}

    fn connect(&mut self) {
        self.clkop.connect();
        self.lock.connect();
    }

    fn hdl(&self) -> Verilog {
        let cfg = self.config();
        let params = cfg.params();
        let mut code = format!(
            "wire pll_clkop;\n\
             (* FREQUENCY_PIN_CLKI = \"{}\" *)\n(* FREQUENCY_PIN_CLKOP = \"{}\" *)\n\
             (* ICP_CURRENT = \"12\" *) (* LPF_RESISTOR = \"8\" *) \
             (* MFG_ENABLE_FILTEROPAMP = \"1\" *) (* MFG_GMCREF_SEL = \"2\" *)\nEHXPLLL #(\n",
            cfg.in_mhz, cfg.out_mhz
        );
        code += &params
            .iter()
            .map(|(n, v)| format!("    .{n}({v})"))
            .collect::<Vec<_>>()
            .join(",\n");
        let pins: [(&str, &str, &str); 14] = [
            ("RST", "input", "1'b0"),
            ("STDBY", "input", "1'b0"),
            ("CLKI", "input", "clki"),
            ("CLKFB", "input", "pll_clkop"),
            ("PHASESEL0", "input", "1'b0"),
            ("PHASESEL1", "input", "1'b0"),
            ("PHASEDIR", "input", "1'b1"),
            ("PHASESTEP", "input", "1'b1"),
            ("PHASELOADREG", "input", "1'b1"),
            ("PLLWAKESYNC", "input", "1'b0"),
            ("ENCLKOP", "input", "1'b0"),
            ("CLKOP", "output", "pll_clkop"),
            ("LOCK", "output", "lock"),
            ("CLKINTFB", "output", ""),
        ];
        code += "\n) pll_inst (\n";
        code += &pins
            .iter()
            .map(|(n, _, net)| format!("    .{n}({net})"))
            .collect::<Vec<_>>()
            .join(",\n");
        code += "\n);\nassign clkop = pll_clkop;\n";
        let mut cores = String::from(
            "`ifndef FIBERLOOP_BB_EHXPLLL\n`define FIBERLOOP_BB_EHXPLLL\n(* blackbox *)\nmodule EHXPLLL(",
        );
        cores += &pins.iter().map(|p| p.0).collect::<Vec<_>>().join(", ");
        cores += ");\n";
        for (n, _) in &params {
            cores += &format!("    parameter {n} = \"DONTCARE\";\n");
        }
        for (n, dir, _) in &pins {
            cores += &format!("    {dir} {n};\n");
        }
        cores += "endmodule\n`endif\n";
        Verilog::Wrapper(Wrapper { code, cores })
    }
}

/// The widest lock delay of [`EhxplllModel`], in clocks.
pub const MAX_LOCK_CLOCKS: u32 = (1 << 24) - 1;

/// The PLL's behaviour as the fabric sees it, for simulation: `clkop` is
/// `clki` passed through (the model cannot multiply a clock: in simulation
/// the input is toggled at the output's rate), and `lock` rises
/// `lock_clocks` `clki` edges after power-up and stays high (the real PLL
/// has no reset input here, see [`Ehxplll`]).
///
/// Latency: `lock` is a register. Throughput: n/a. Reset: none; power-up
/// unlocked.
#[derive(LogicBlock)]
pub struct EhxplllModel {
    /// The input clock.
    pub clki: Signal<In, Clock>,
    /// The output clock (`clki` passed through).
    pub clkop: Signal<Out, Clock>,
    /// The PLL is locked.
    pub lock: Signal<Out, Bit>,
    c_lock: Constant<Bits<24>>,
    count: DFF<Bits<24>>,
    locked: DFF<Bit>,
    next: Signal<Local, Bits<24>>,
}

impl EhxplllModel {
    /// A model locking after `lock_clocks` edges (1..=[`MAX_LOCK_CLOCKS`]).
    pub fn new(lock_clocks: u32) -> Result<Self, String> {
        if lock_clocks == 0 || lock_clocks > MAX_LOCK_CLOCKS {
            return Err(format!(
                "EhxplllModel: lock_clocks = {lock_clocks} is outside 1..={MAX_LOCK_CLOCKS}"
            ));
        }
        Ok(Self {
            clki: Default::default(),
            clkop: Default::default(),
            lock: Default::default(),
            c_lock: Constant::new((lock_clocks as u64).to_bits()),
            count: Default::default(),
            locked: Default::default(),
            next: Default::default(),
        })
    }
}

#[allow(unused_parens)]
impl Logic for EhxplllModel {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clki, count, locked);
        self.clkop.next = self.clki.val();
        self.next.next = self.count.q.val() + 1;
        if !self.locked.q.val() {
            self.count.d.next = self.next.val();
            if (self.next.val() == self.c_lock.val()) {
                self.locked.d.next = true;
            }
        }
        self.lock.next = self.locked.q.val();
    }
}

/// Cycle model of [`EhxplllModel`]: `step` gives `lock` before the edge.
#[derive(Clone, Debug)]
pub struct EhxplllCycleModel {
    lock_clocks: u32,
    count: u32,
    locked: bool,
}

impl EhxplllCycleModel {
    /// The model of `EhxplllModel::new(lock_clocks)` at power-up.
    pub fn new(lock_clocks: u32) -> Self {
        Self {
            lock_clocks,
            count: 0,
            locked: false,
        }
    }

    /// One clock.
    pub fn step(&mut self) -> bool {
        let out = self.locked;
        if !self.locked {
            self.count += 1;
            self.locked = self.count == self.lock_clocks;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::versa;
    use fiberloop_harness::bitstream::build_bitstream;
    use fiberloop_harness::lockstep::{self, CycleModel, Verilated};
    use fiberloop_harness::verilator::Model;

    #[test]
    fn the_solver_finds_exact_dividers_in_range() {
        let c = PllConfig::solve(100.0, 125.0).unwrap();
        assert_eq!((c.clki_div, c.clkfb_div, c.clkop_div), (4, 5, 5));
        assert_eq!(c.vco_mhz(), 625.0);
        for (fin, fout) in [(100.0, 50.0), (100.0, 62.5), (156.25, 125.0), (12.0, 48.0)] {
            let c = PllConfig::solve(fin, fout).unwrap();
            let f = fin * c.clkfb_div as f64 / c.clki_div as f64;
            assert!((f - fout).abs() < 1e-6 * fout, "{c:?}");
            assert!((VCO_MHZ.0..=VCO_MHZ.1).contains(&c.vco_mhz()), "{c:?}");
            let pfd = fin / c.clki_div as f64;
            assert!((PFD_MHZ.0..=PFD_MHZ.1).contains(&pfd), "{c:?}");
        }
        assert!(PllConfig::solve(100.0, 1000.0)
            .unwrap_err()
            .contains("1000"));
        assert!(PllConfig::solve(1.0, 100.0).unwrap_err().contains("input"));
        // 100 MHz x 1/127 is not reachable exactly within the limits.
        assert!(PllConfig::solve(100.0, 100.0 / 127.0 * 5.0).is_err());
    }

    impl CycleModel for EhxplllCycleModel {
        type In = ();
        type Out = bool;
        fn step(&mut self, _: &()) -> bool {
            EhxplllCycleModel::step(self)
        }
    }

    #[test]
    fn ehxplll_model_against_cycle_model() {
        let mut uut = EhxplllModel::new(300).unwrap();
        uut.connect_all();
        let mut hw = Verilated::new(
            Model::of_block(&uut).unwrap(),
            "clki",
            &[],
            &["lock"],
            |_: &(), _: &mut [u64]| {},
            |g: &[u64]| g[0] != 0,
        );
        let mut lock_at = None;
        let mut k = 0;
        lockstep::run_observed(
            &mut hw,
            &mut EhxplllCycleModel::new(300),
            (0..1000).map(|_| ()),
            |_, &l| {
                if l && lock_at.is_none() {
                    lock_at = Some(k);
                }
                assert!(lock_at.is_none() || l, "lock fell at {k}");
                k += 1;
            },
        );
        assert_eq!(lock_at, Some(300));
        assert!(EhxplllModel::new(0).err().unwrap().contains("lock_clocks"));
    }

    #[test]
    fn ehxplll_model_synthesizes() {
        let mut uut = EhxplllModel::new(1000).unwrap();
        uut.connect_all();
        let rep = fiberloop_harness::synth::synth_block(&uut, "vendor_ehxplll_model").unwrap();
        println!("EhxplllModel: {} LUTs, {} FFs", rep.luts(), rep.ffs());
        assert!(rep.ffs() >= 24 && rep.luts() < 80, "{rep}");
    }

    /// clk100 through the PLL to 125 MHz, a counter on it and the lock on
    /// LEDs, built into a bitstream: nextpnr derives the output clock's
    /// 125 MHz, and the PLL's words hold the dividers (each written as
    /// divider - 1).
    #[derive(LogicBlock)]
    struct PllProbe {
        clk: Signal<In, Clock>,
        led0: Signal<Out, Bit>,
        led1: Signal<Out, Bit>,
        pll: Ehxplll,
        count: DFF<Bits<24>>,
    }

    impl Logic for PllProbe {
        #[hdl_gen]
        fn update(&mut self) {
            self.pll.clki.next = self.clk.val();
            self.count.clock.next = self.pll.clkop.val();
            self.count.d.next = self.count.q.val() + 1;
            self.led0.next = !self.count.q.val().get_bit(23);
            self.led1.next = !self.pll.lock.val();
        }
    }

    #[test]
    fn ehxplll_synthesizes() {
        let mut uut = PllProbe {
            clk: Default::default(),
            led0: Default::default(),
            led1: Default::default(),
            pll: Ehxplll::new(100.0, 125.0).unwrap(),
            count: Default::default(),
        };
        uut.clk.connect();
        uut.connect_all();
        let lpf = versa::lpf(
            &[("clk", "clk100"), ("led0", "led0"), ("led1", "led1")],
            &[],
        )
        .unwrap();
        let b = build_bitstream(&generate_verilog(&uut), "top", &lpf, "ehxplll_probe", 1)
            .unwrap_or_else(|e| panic!("{e}"));
        println!("{}", b.report);
        assert_eq!(b.report.fmax.len(), 1, "{}", b.report);
        let f = b.report.fmax.values().next().unwrap();
        assert_eq!(f.constraint_mhz, 125.0);
        assert!(f.achieved_mhz > 125.0);
        // ecpunpack splits the PLL's tile group into its tiles: look for
        // each word in all of them (the design has one PLL; a zero word is
        // not written).
        let c = uut.pll.config();
        let modes = b.config.enums_named("MODE");
        assert!(modes.iter().any(|(_, m)| m == "EHXPLLL"), "{modes:?}");
        let word = |name: &str| -> Vec<u64> {
            b.config
                .tiles
                .iter()
                .filter_map(|t| t.words.get(name).copied())
                .collect()
        };
        for (name, div) in [
            ("CLKI_DIV", c.clki_div),
            ("CLKFB_DIV", c.clkfb_div),
            ("CLKOP_DIV", c.clkop_div),
        ] {
            let got = word(name);
            let want: Vec<u64> = if div > 1 {
                vec![div as u64 - 1]
            } else {
                vec![]
            };
            assert_eq!(got, want, "{name}");
        }
        // ecpunpack writes no FEEDBK_PATH for this design (it leaves out
        // the default encoding, which CLKOP reads back as); another value
        // would be written.
        let fb: Vec<_> = b.config.enums_named("FEEDBK_PATH");
        assert!(fb.iter().all(|(_, v)| v == "CLKOP"), "{fb:?}");
        println!(
            "EHXPLLL probe: built and read back in {:.1} s",
            b.build_time.as_secs_f64()
        );
    }
}

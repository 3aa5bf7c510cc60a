//! The simulated board: [`BoardCore`] (the real gateware top: host UART
//! and USB FIFO port, command engine, register file, loop core) in
//! Verilator, its SERDES looped through the fiber model, and the host's
//! side of both links.
//!
//! The host side talks bytes on a link ([`HostLink`]): [`BoardSim::send`]
//! queues request bytes on the configured link, [`BoardSim::take_received`]
//! takes its reply bytes (`send_on` / `take_received_on` name the link).
//! On the UART the bytes go out on the board's `uart_rx_in` as 8N1 frames
//! at the board's `clocks_per_bit` and the board's `uart_tx_out` is sampled
//! back into bytes; on the USB link an FT2232H chip model
//! ([`Ft2232hModel`], as fast as the chip allows) sits on the board's FIFO
//! pins, with `CLKOUT` at half the word clock (62.5 MHz; the chip's is 60).
//! Nothing is shortcut: every byte crosses the gateware's UART or FIFO port,
//! its command engine and register file, as on the board. The USB link
//! moves a byte every two word clocks where the UART at 12.5 Mbaud needs
//! a hundred: it is the fast way to drive the simulated board.
//!
//! This top has no transceiver: its bring-up report (`PHY_STATUS`) is
//! driven by the harness as a link that is up, whose CDR lock and loss of
//! signal follow the fiber's light. The clock meters' reference (clk100)
//! rises with four word clocks in five: 100 MHz on average, so the meters
//! read 125,000 kHz, without an edge of its own to evaluate.
//!
//! Time advances only when the caller steps the model.
//! [`BoardSim::run_until_reply`] steps until the board has answered and gone
//! quiet, or until it is clear that no answer is coming.

use super::fiber::{FiberConfig, FiberSpool};
use super::loop_sim::LoopSimError;
use fiberloop_gateware::top::board_core::BoardCore;
use fiberloop_gateware::top::versa::{VersaConfig, VersaSim};
use fiberloop_gateware::vendor::dcua_model::DcuaModelConfig;
use fiberloop_harness::ft2232h::{ChipConfig, FpgaPins, Ft2232hModel};
use fiberloop_harness::verilator::{Model, Port};
use rust_hdl::prelude::Block;
use std::collections::VecDeque;

/// The host's link to the simulated board.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostLink {
    /// The UART (8N1 at the board's `clocks_per_bit`).
    #[default]
    Uart,
    /// The FT2232H 245 synchronous FIFO port (USB 2.0).
    Usb,
}

/// Which gateware top the simulated board runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SimTop {
    /// [`BoardCore`] as the top: no transceiver (its SERDES words meet the
    /// fiber directly, its bring-up report is driven as a link that is up),
    /// both host links.
    #[default]
    BoardCore,
    /// [`VersaSim`]: the Versa top (bring-up, LEDs, UART only) on the
    /// transceiver's model, with the board's bring-up timing.
    Versa(DcuaModelConfig),
}

impl SimTop {
    /// The Versa with a transceiver that locks as a real one might: the TX
    /// PLL 2,000 word clocks (16 us) after its reset, the CDR 5,000 after
    /// its reset with a signal (40 us); slips from a fixed seed.
    pub fn versa() -> Self {
        SimTop::Versa(DcuaModelConfig {
            tx_lock_clocks: 2_000,
            cdr_lock_clocks: 5_000,
            seed: 0x5EED,
        })
    }

    /// The top's name (as `fiberloop_spec::regs::top::name`).
    pub fn name(&self) -> &'static str {
        match self {
            SimTop::BoardCore => {
                fiberloop_spec::regs::top::name(fiberloop_spec::regs::top::BOARD_CORE)
            }
            SimTop::Versa(_) => fiberloop_spec::regs::top::name(fiberloop_spec::regs::top::VERSA),
        }
    }
}

/// Word clocks the simulated Versa may take to bring its link up (the
/// bring-up's `R + P + H` is 63,601 clk100 clocks, about 80,000 word
/// clocks, plus the transceiver's locks).
pub const VERSA_BRING_UP_CLOCKS: u64 = 2_000_000;

/// Build-time settings of the simulated board, and the host's link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoardConfig {
    /// Word clocks per UART bit (125 MHz / baud).
    pub clocks_per_bit: u32,
    /// The command engine's partial-frame timeout, word clocks.
    pub timeout_clocks: u32,
    /// The link [`BoardSim::send`] and [`BoardSim::take_received`] use.
    pub link: HostLink,
    /// The gateware top.
    pub top: SimTop,
}

impl BoardConfig {
    /// A board whose UART runs as near `baud` as whole clocks per bit allow,
    /// with a partial-frame timeout of 64 byte times, driven over the UART.
    pub fn for_baud(baud: u32) -> Self {
        let word_clock = fiberloop_spec::line::LINE_RATE_BPS as f64
            / fiberloop_spec::line::SERDES_WORD_BITS as f64;
        let cpb = ((word_clock / baud.max(1) as f64).round() as u32).max(4);
        Self {
            clocks_per_bit: cpb,
            timeout_clocks: 640 * cpb,
            link: HostLink::Uart,
            top: SimTop::BoardCore,
        }
    }

    /// The same board running `top`.
    pub fn with_top(self, top: SimTop) -> Self {
        Self { top, ..self }
    }

    /// The same board driven over `link`.
    pub fn with_link(self, link: HostLink) -> Self {
        Self { link, ..self }
    }

    /// The baud this configuration really runs at.
    pub fn baud(&self) -> f64 {
        fiberloop_spec::line::LINE_RATE_BPS as f64
            / fiberloop_spec::line::SERDES_WORD_BITS as f64
            / self.clocks_per_bit as f64
    }
}

/// The ports every top has (for the Versa: `refclk` as the word clock,
/// `clk100`, `rst_n`, the model's line side).
struct Ports {
    clock: Port,
    ref_clock: Port,
    reset: Port,
    tx: Port,
    rx: Port,
    rx_signal: Port,
    uart_rx: Port,
    uart_tx: Port,
    /// `BoardCore` only: its receive clock, bring-up report and FIFO port.
    core: Option<CorePorts>,
    /// `VersaSim` only: the LEDs.
    leds_n: Option<Port>,
}

struct CorePorts {
    rx_clock: Port,
    phy_state: Port,
    phy_flags: [Port; 5],
    usb_clock: Port,
    usb_d_in: Port,
    usb_d_out: Port,
    usb_d_oe: Port,
    usb_rxf_n: Port,
    usb_txe_n: Port,
    usb_rd_n: Port,
    usb_wr_n: Port,
    usb_oe_n: Port,
}

/// The host-to-board serialiser.
#[derive(Default)]
struct Serialiser {
    queue: VecDeque<u8>,
    /// The frame being sent (10 bits, LSB first) and the clock within it.
    cur: Option<(u16, u32)>,
}

/// The board-to-host deserialiser: samples each bit in its middle.
#[derive(Default)]
struct Deserialiser {
    /// Clocks since the start bit's falling edge, and the bits so far.
    cur: Option<(u32, u16)>,
    prev: bool,
}

/// The simulated board. See the module documentation.
pub struct BoardSim {
    m: Model,
    p: Ports,
    fiber: FiberSpool,
    cfg: BoardConfig,
    clocks: u64,
    ser: Serialiser,
    de: Deserialiser,
    received: VecDeque<u8>,
    /// Clock of the last line activity in either direction.
    last_activity: u64,
    /// Framing errors seen on the board's TX line (never expected).
    pub framing_errors: u64,
    /// A fiber cut to make: (at this clock, for this many word clocks).
    cut_at: Option<(u64, u64)>,
    /// The FT2232H on the FIFO pins.
    chip: Ft2232hModel,
    /// The chip's pins for the clock after its last edge, to present.
    chip_pins: Option<fiberloop_harness::ft2232h::ChipPins>,
    /// What the board drives on the FIFO pins since the last `usb_clock`
    /// edge (registered outputs: they change only at that edge).
    usb_pins: FpgaPins,
    /// The level of `usb_clock`.
    usb_level: bool,
}

impl BoardSim {
    /// Builds (or loads from the cache) the Verilator model of the board
    /// with this UART configuration, on a fiber with these settings. The
    /// loop starts empty (a host fills it with `LOOP_CTRL`).
    pub fn new(fiber: FiberConfig, cfg: BoardConfig) -> Result<Self, LoopSimError> {
        let fiber = FiberSpool::new(fiber)?;
        let (m, p) = match cfg.top {
            SimTop::BoardCore => {
                let mut top = BoardCore::new(cfg.clocks_per_bit, cfg.timeout_clocks);
                top.connect_all();
                let m = Model::of_block(&top)?;
                let g = |n: &str| m.port(n);
                let p = Ports {
                    clock: g("clock")?,
                    ref_clock: g("ref_clock")?,
                    reset: g("reset")?,
                    tx: g("serdes_tx_out")?,
                    rx: g("serdes_rx_in")?,
                    rx_signal: g("rx_signal_in")?,
                    uart_rx: g("uart_rx_in")?,
                    uart_tx: g("uart_tx_out")?,
                    core: Some(CorePorts {
                        rx_clock: g("rx_clock")?,
                        phy_state: g("phy$state")?,
                        phy_flags: [
                            g("phy$tx_pll_locked")?,
                            g("phy$cdr_locked")?,
                            g("phy$los")?,
                            g("phy$tx_ready")?,
                            g("phy$rx_ready")?,
                        ],
                        usb_clock: g("usb_clock")?,
                        usb_d_in: g("usb_d_in")?,
                        usb_d_out: g("usb_d_out")?,
                        usb_d_oe: g("usb_d_oe")?,
                        usb_rxf_n: g("usb_rxf_n_in")?,
                        usb_txe_n: g("usb_txe_n_in")?,
                        usb_rd_n: g("usb_rd_n_out")?,
                        usb_wr_n: g("usb_wr_n_out")?,
                        usb_oe_n: g("usb_oe_n_out")?,
                    }),
                    leds_n: None,
                };
                (m, p)
            }
            SimTop::Versa(dcu) => {
                if cfg.link == HostLink::Usb {
                    return Err(LoopSimError::Config(
                        "the Versa top has no USB FIFO port (its FT2232H channel A is the \
                         JTAG port): use the UART link"
                            .into(),
                    ));
                }
                let vc = VersaConfig {
                    clocks_per_bit: cfg.clocks_per_bit,
                    timeout_clocks: cfg.timeout_clocks,
                    ..VersaConfig::BOARD
                };
                let mut top = VersaSim::new(vc, dcu).map_err(LoopSimError::Config)?;
                top.connect_all();
                let m = Model::of_block(&top)?;
                let g = |n: &str| m.port(n);
                let p = Ports {
                    clock: g("refclk")?,
                    ref_clock: g("clk100")?,
                    reset: g("rst_n")?,
                    tx: g("line_tx_out")?,
                    rx: g("line_rx_in")?,
                    rx_signal: g("light_in")?,
                    uart_rx: g("uart_rx")?,
                    uart_tx: g("uart_tx")?,
                    core: None,
                    leds_n: Some(g("leds_n")?),
                };
                (m, p)
            }
        };
        let mut sim = BoardSim {
            m,
            p,
            fiber,
            cfg,
            clocks: 0,
            ser: Serialiser::default(),
            de: Deserialiser {
                cur: None,
                prev: true,
            },
            received: VecDeque::new(),
            last_activity: 0,
            framing_errors: 0,
            cut_at: None,
            chip: Ft2232hModel::new(ChipConfig::fast(), 0x05B0_A4D0),
            chip_pins: None,
            // The power-up values: every strobe inactive, the bus not driven.
            usb_pins: FpgaPins {
                rd_n: true,
                wr_n: true,
                oe_n: true,
                d_out: 0,
                d_oe: false,
            },
            usb_level: false,
        };
        // Only the bytes matter here: the chip's per-byte logs would grow
        // for as long as the board runs.
        sim.chip.log_transfers = false;
        sim.m.set(sim.p.uart_rx, 1);
        if let Some(c) = &sim.p.core {
            sim.m.set(c.usb_rxf_n, 1);
            sim.m.set(c.usb_txe_n, 1);
            // No transceiver in this top: the harness reports one that is
            // up (its receiver's lock and signal follow the fiber's light,
            // in `step`).
            sim.m
                .set(c.phy_state, fiberloop_spec::phy::init_state::READY as u64);
            for (k, v) in [1, 1, 0, 1, 1].into_iter().enumerate() {
                sim.m.set(c.phy_flags[k], v);
            }
            sim.m.set(sim.p.reset, 1);
            for _ in 0..4 {
                sim.step();
            }
            sim.m.set(sim.p.reset, 0);
        } else {
            // The Versa: the button pressed for a few clocks, released;
            // then the transceiver's bring-up runs (a board powered up a
            // moment before the host opens it).
            sim.m.set(sim.p.reset, 0);
            for _ in 0..8 {
                sim.step();
            }
            sim.m.set(sim.p.reset, 1);
            let limit = VERSA_BRING_UP_CLOCKS;
            while !sim.link_up() {
                if sim.clocks > limit {
                    return Err(LoopSimError::Config(format!(
                        "the simulated Versa's link did not come up in {limit} word clocks \
                         (LEDs 0x{:02x})",
                        sim.leds()
                    )));
                }
                sim.run(1000);
            }
        }
        // Let the UART lines settle before the first byte.
        sim.run(4 * cfg.clocks_per_bit as u64);
        Ok(sim)
    }

    /// The LEDs lit (bit `i`: LED `i`; `VersaSim` only, 0 otherwise).
    pub fn leds(&self) -> u8 {
        match self.p.leds_n {
            Some(l) => !(self.m.get(l) as u8),
            None => 0,
        }
    }

    /// The link is up: the Versa's LED 0 (bring-up done, receiver
    /// aligned); always for `BoardCore`, which has no bring-up.
    pub fn link_up(&self) -> bool {
        self.p.leds_n.is_none() || self.leds() & 1 == 1
    }

    /// The board's build settings.
    pub fn config(&self) -> BoardConfig {
        self.cfg
    }

    /// The fiber model.
    pub fn fiber(&self) -> &FiberSpool {
        &self.fiber
    }

    /// The fiber model, to change its errors or cut it.
    pub fn fiber_mut(&mut self) -> &mut FiberSpool {
        &mut self.fiber
    }

    /// Word clocks simulated so far.
    pub fn clocks(&self) -> u64 {
        self.clocks
    }

    /// Cuts the fiber at word clock `at` (now, if already past) for `words`
    /// word clocks: the light is gone until light sent after the cut has
    /// crossed the spool, and the loop's contents are lost.
    pub fn schedule_cut(&mut self, at: u64, words: u64) {
        self.cut_at = Some((at, words));
    }

    /// Queues request bytes on the configured link.
    pub fn send(&mut self, bytes: &[u8]) {
        self.send_on(self.cfg.link, bytes);
    }

    /// Queues request bytes on `link`.
    pub fn send_on(&mut self, link: HostLink, bytes: &[u8]) {
        match link {
            HostLink::Uart => self.ser.queue.extend(bytes),
            HostLink::Usb => self.chip.host_send(bytes),
        }
    }

    /// Takes the reply bytes received so far on the configured link.
    pub fn take_received(&mut self) -> Vec<u8> {
        self.take_received_on(self.cfg.link)
    }

    /// Takes the reply bytes received so far on `link`.
    pub fn take_received_on(&mut self, link: HostLink) -> Vec<u8> {
        match link {
            HostLink::Uart => self.received.drain(..).collect(),
            HostLink::Usb => std::mem::take(&mut self.chip.host_rx),
        }
    }

    /// Reply bytes waiting on the configured link.
    pub fn received(&self) -> usize {
        self.received_on(self.cfg.link)
    }

    /// Reply bytes waiting on `link`.
    pub fn received_on(&self, link: HostLink) -> usize {
        match link {
            HostLink::Uart => self.received.len(),
            HostLink::Usb => self.chip.host_rx.len(),
        }
    }

    /// Whether a byte is on its way on either link (going in or coming
    /// out).
    pub fn line_busy(&self) -> bool {
        self.ser.cur.is_some()
            || !self.ser.queue.is_empty()
            || self.de.cur.is_some()
            || self.chip.rx_pending() > 0
            || self.chip.tx_pending() > 0
    }

    /// FIFO-bus protocol breaches the chip model has seen (never expected:
    /// a gateware bug).
    pub fn usb_violations(&self) -> &[String] {
        &self.chip.violations
    }

    fn fpga_pins(&self) -> FpgaPins {
        let Some(p) = &self.p.core else {
            return self.usb_pins;
        };
        FpgaPins {
            rd_n: self.m.get(p.usb_rd_n) != 0,
            wr_n: self.m.get(p.usb_wr_n) != 0,
            oe_n: self.m.get(p.usb_oe_n) != 0,
            d_out: self.m.get(p.usb_d_out) as u8,
            d_oe: self.m.get(p.usb_d_oe) != 0,
        }
    }

    /// One word clock: the fiber carries the TX word back as the RX word,
    /// the UART lines move by one clock.
    pub fn step(&mut self) {
        if let Some((at, words)) = self.cut_at {
            if self.clocks >= at {
                self.fiber.cut(words);
                self.cut_at = None;
            }
        }
        let cpb = self.cfg.clocks_per_bit;
        // Host -> board line.
        if self.ser.cur.is_none() {
            if let Some(b) = self.ser.queue.pop_front() {
                self.ser.cur = Some((((b as u16) << 1) | 0x200, 0));
            }
        }
        let line = match &mut self.ser.cur {
            Some((frame, t)) => {
                let bit = (*frame >> (*t / cpb)) & 1 == 1;
                *t += 1;
                if *t == 10 * cpb {
                    self.ser.cur = None;
                }
                self.last_activity = self.clocks;
                bit
            }
            None => true,
        };
        let p = &self.p;
        self.m.set(p.uart_rx, line as u64);
        self.m.set(p.clock, 0);
        if let Some(c) = &p.core {
            self.m.set(c.rx_clock, 0);
            // The chip's pins after its last edge (the FIFO side samples
            // them only at the next rising edge of `usb_clock`).
            if let Some(cp) = self.chip_pins.take() {
                self.m.set(c.usb_rxf_n, cp.rxf_n as u64);
                self.m.set(c.usb_txe_n, cp.txe_n as u64);
                self.m.set(c.usb_d_in, cp.d as u64);
            }
        }
        let tx = self.m.get(p.tx) as u32;
        let rx = self.fiber.step(tx);
        self.m.set(p.rx, rx.bits as u64);
        self.m.set(p.rx_signal, rx.signal as u64);
        if let Some(c) = &p.core {
            self.m.set(c.phy_flags[1], rx.signal as u64);
            self.m.set(c.phy_flags[2], !rx.signal as u64);
        }
        self.m.set(p.ref_clock, 0);
        self.m.eval();
        let out = self.m.get(p.uart_tx) == 1;
        // `usb_clock` toggles with every rising edge of the word clock.
        let has_usb = self.p.core.is_some();
        let usb_rise = has_usb && !self.usb_level;
        let usb_active = usb_rise
            && (self.chip.rx_pending() > 0
                || self.chip.tx_pending() > 0
                || !self.usb_pins.wr_n
                || !self.usb_pins.rd_n);
        if usb_rise {
            self.chip.edge(self.usb_pins);
        }
        self.usb_level = !self.usb_level;
        let p = &self.p;
        if let Some(c) = &p.core {
            self.m.set(c.usb_clock, self.usb_level as u64);
            self.m.set(c.rx_clock, 1);
        }
        self.m.set(p.clock, 1);
        // clk100, gapped (see `clk100_at_word_edge`).
        self.m
            .set(p.ref_clock, crate::clk100_at_word_edge(self.clocks) as u64);
        self.m.eval();
        if usb_rise {
            self.usb_pins = self.fpga_pins();
            self.chip_pins = Some(self.chip.present(self.usb_pins));
            if usb_active {
                self.last_activity = self.clocks;
            }
        }
        // Board -> host line, sampled in the middle of each bit.
        match &mut self.de.cur {
            None => {
                if self.de.prev && !out {
                    self.de.cur = Some((0, 0));
                    self.last_activity = self.clocks;
                }
            }
            Some((t, bits)) => {
                *t += 1;
                if *t % cpb == cpb / 2 {
                    let i = *t / cpb;
                    *bits |= (out as u16) << i;
                    if i == 9 {
                        let frame = *bits;
                        self.de.cur = None;
                        if frame & 0x200 == 0 {
                            self.framing_errors += 1;
                        } else {
                            self.received.push_back((frame >> 1) as u8);
                        }
                    }
                }
                self.last_activity = self.clocks;
            }
        }
        self.de.prev = out;
        self.clocks += 1;
    }

    /// Runs `n` word clocks.
    pub fn run(&mut self, n: u64) {
        for _ in 0..n {
            self.step();
        }
    }

    /// Clocks of silence after which the board will not answer any more:
    /// the command engine executes and starts its reply within a few
    /// thousand clocks of a request's last byte (a 1024-word burst takes
    /// 4096), and drops a partial frame after its timeout.
    pub fn quiet_clocks(&self) -> u64 {
        self.cfg.timeout_clocks as u64 + 8192 + 20 * self.cfg.clocks_per_bit as u64
    }

    /// Steps until at least one reply byte is waiting (on either link), the
    /// links are idle and have been quiet for two UART byte times (a reply
    /// frame has ended), or until nothing more can come (quiet for
    /// [`BoardSim::quiet_clocks`] with nothing received). Returns whether
    /// bytes are waiting.
    pub fn run_until_reply(&mut self, max_clocks: u64) -> bool {
        let start = self.clocks;
        self.last_activity = self.clocks;
        let quiet = self.quiet_clocks();
        let gap = 20 * self.cfg.clocks_per_bit as u64;
        while self.clocks - start < max_clocks {
            self.step();
            if self.line_busy() {
                continue;
            }
            let idle = self.clocks - self.last_activity;
            if self.waiting() > 0 && idle > gap {
                break;
            }
            if idle > quiet {
                break;
            }
        }
        self.waiting() > 0
    }

    /// Reply bytes waiting on both links.
    fn waiting(&self) -> usize {
        self.received_on(HostLink::Uart) + self.received_on(HostLink::Usb)
    }
}

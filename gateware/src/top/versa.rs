//! The Lattice ECP5-5G Versa (LFE5UM5G-45F-8BG381C) as a top: the board
//! core on the transceiver, the transceiver's bring-up, the host's UART,
//! the LEDs.
//!
//! ```text
//! clk100 --> SerdesInit --resets--> DCUA (DCU0 CH1) <-- EXTREFB (EXTREF0)
//!   |            | report (Snapshot -> word clock)      | FF_TX_PCLK, FF_RX_PCLK,
//!   |            v                                      | 20-bit words
//!   +-----> BoardCore (command engine, register file, loop core,
//!           inference engine; clock = FF_TX_PCLK, rx_clock = FF_RX_PCLK)
//!             | UART (FT2232H channel B)     | LEDs
//! ```
//!
//! Three blocks share the work so that the board that is built and the
//! board that is simulated differ only in the transceiver:
//! * [`VersaBoard`]: everything but the transceiver, with the
//!   transceiver's fabric side as a [`DcuUser`] port;
//! * [`VersaTop`]: the board for a bitstream: [`VersaBoard`], the [`Dcua`]
//!   and [`ExtRefB`] black boxes, and the pads (pins from
//!   [`crate::board::versa`]);
//! * [`VersaSim`]: the simulated board: [`VersaBoard`] and the
//!   transceiver's behavioural model [`DcuaModel`], whose serial side is a
//!   20-bit word per word clock and a light flag (the fiber model's side).
//!
//! # Clocks
//! * clk100 (the board's 100 MHz oscillator) runs [`SerdesInit`], the
//!   heartbeat LED and the clock meters' reference: it is there before the
//!   transceiver's clocks are.
//! * The word clock is the DCU's `FF_TX_PCLK` (125 MHz at 2.5 Gb/s: the
//!   156.25 MHz reference x16 / 20); the receive clock `FF_RX_PCLK`. The
//!   board core is held in reset until the bring-up reports the TX lane
//!   ready; so the host link (on the word clock) answers once the TX PLL has
//!   locked. No fabric clock needs a PLL: the EHXPLLL is not used here.
//!
//! # Crossings
//! The bring-up report crosses from clk100 into the word clock through
//! [`Snapshot`]s (the state and flags as one word, each counter as
//! another); the word clock's reset (`!tx_ready`, or the button) and the
//! receive side's "signal" (`rx_ready & cdr_locked & !los`) through two
//! flip-flops in their domains.
//!
//! # LEDs (active low), by number
//! 0 link up (bring-up `READY` and the receiver aligned), 1 CDR locked,
//! 2 loop full (running), 3 loop lost, 4 corrected bytes (lit for a while
//! after each correction), 5 uncorrectable frames (likewise), 6 host
//! activity (UART bytes either way), 7 heartbeat (clk100, about 1.3 Hz on
//! the board).
//!
//! Latency and throughput: those of [`BoardCore`]; the bring-up's as
//! [`SerdesInit`] gives. Reset: the button (`rst_n`, active low) resets the
//! bring-up (through two clk100 flip-flops) and the board core (with
//! `!tx_ready`, through two word-clock flip-flops); the core's reset is
//! [`BoardCore`]'s.

use crate::bundles::{DcuFabric, DcuUser};
use crate::phy::serdes_init::{InitTiming, SerdesInit};
use crate::phy::snapshot::Snapshot;
use crate::top::board_core::BoardCore;
use crate::vendor::dcua::{Dcua, ExtRefB};
use crate::vendor::dcua_model::{DcuaModel, DcuaModelConfig};
use fiberloop_spec::regs;
use rust_hdl::prelude::*;

/// Build-time settings of the Versa board (the top that is built uses
/// [`VersaConfig::BOARD`]; a simulation may shorten the waits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersaConfig {
    /// Word clocks per UART bit.
    pub clocks_per_bit: u32,
    /// The command engine's partial-frame timeout, word clocks.
    pub timeout_clocks: u32,
    /// The bring-up's waits, clk100 clocks.
    pub init: InitTiming,
    /// Word clocks an activity LED stays lit after an event (at most
    /// 2^24 - 1).
    pub led_hold_clocks: u32,
    /// The heartbeat toggles every 2^`heartbeat_bit` clk100 clocks (at most
    /// 31).
    pub heartbeat_bit: u32,
}

impl VersaConfig {
    /// The board: 3 Mbaud (42 word clocks a bit: 2.976 Mbaud, 0.8 % off,
    /// inside a UART's tolerance), a timeout of 64 byte times, the bring-up
    /// timing of [`InitTiming::BOARD`], activity LEDs lit for 50 ms, the
    /// heartbeat toggling every 2^26 clk100 clocks (0.67 s).
    pub const BOARD: VersaConfig = VersaConfig {
        clocks_per_bit: 42,
        timeout_clocks: 640 * 42,
        init: InitTiming::BOARD,
        led_hold_clocks: 6_250_000,
        heartbeat_bit: 26,
    };

    /// Checks the values; the error names the one out of range.
    pub fn check(&self) -> Result<(), String> {
        if self.clocks_per_bit < 4 {
            return Err(format!(
                "clocks_per_bit = {}: the UART needs at least 4 clocks a bit",
                self.clocks_per_bit
            ));
        }
        if self.timeout_clocks <= 12 * self.clocks_per_bit {
            return Err(format!(
                "timeout_clocks = {}: must exceed a byte time ({} clocks)",
                self.timeout_clocks,
                12 * self.clocks_per_bit
            ));
        }
        if self.led_hold_clocks == 0 || self.led_hold_clocks >= 1 << 24 {
            return Err(format!(
                "led_hold_clocks = {}: must be 1..2^24",
                self.led_hold_clocks
            ));
        }
        if self.heartbeat_bit > 31 {
            return Err(format!(
                "heartbeat_bit = {}: the counter has 32 bits",
                self.heartbeat_bit
            ));
        }
        SerdesInit::try_new(self.init).map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// Everything on the Versa but the transceiver. See the module
/// documentation.
#[derive(LogicBlock)]
pub struct VersaBoard {
    /// The 100 MHz oscillator.
    pub clk100: Signal<In, Clock>,
    /// The reset button (active low, asynchronous).
    pub rst_n: Signal<In, Bit>,
    /// UART from the host (FT2232H channel B TXD; idle high).
    pub uart_rx: Signal<In, Bit>,
    /// UART to the host (idle high).
    pub uart_tx: Signal<Out, Bit>,
    /// The eight LEDs, active low (bit `i` is `led<i>`).
    pub leds_n: Signal<Out, Bits<8>>,
    /// The reference clock chip's enable (held high).
    pub refclk_en: Signal<Out, Bit>,
    /// The reference clock chip's reset (active low, held high).
    pub refclk_rst_n: Signal<Out, Bit>,
    /// The transceiver's fabric side.
    pub dcu: DcuUser,
    init: SerdesInit,
    core: BoardCore,
    // clk100 domain.
    btn_s1: DFF<Bit>,
    btn_s2: DFF<Bit>,
    beat: DFF<Bits<32>>,
    status_word: Signal<Local, Bits<9>>,
    status_x: Snapshot<Bits<9>>,
    restarts_x: Snapshot<Bits<32>>,
    los_x: Snapshot<Bits<32>>,
    retries_x: Snapshot<Bits<32>>,
    // Word clock.
    rst_s1: DFF<Bit>,
    rst_s2: DFF<Bit>,
    corr_prev: DFF<Bits<32>>,
    unc_prev: DFF<Bits<32>>,
    rx_prev: DFF<Bit>,
    tx_prev: DFF<Bit>,
    leds: Signal<Local, Bits<8>>,
    corr_led: DFF<Bits<24>>,
    unc_led: DFF<Bits<24>>,
    host_led: DFF<Bits<24>>,
    // Receive clock.
    sig_s1: DFF<Bit>,
    sig_s2: DFF<Bit>,
    c_hold: Constant<Bits<24>>,
    c_beat_bit: Constant<Bits<32>>,
    c_mode_run: Constant<Bits<3>>,
    c_ready: Constant<Bits<4>>,
}

impl VersaBoard {
    /// The board with `cfg`'s settings; an error names a bad value.
    pub fn new(cfg: VersaConfig) -> Result<Self, String> {
        cfg.check()?;
        Ok(Self {
            clk100: Default::default(),
            rst_n: Default::default(),
            uart_rx: Default::default(),
            uart_tx: Default::default(),
            leds_n: Default::default(),
            refclk_en: Default::default(),
            refclk_rst_n: Default::default(),
            dcu: Default::default(),
            init: SerdesInit::new(cfg.init),
            core: BoardCore::new(cfg.clocks_per_bit, cfg.timeout_clocks).with_top(regs::top::VERSA),
            btn_s1: Default::default(),
            btn_s2: Default::default(),
            beat: Default::default(),
            status_word: Default::default(),
            status_x: Default::default(),
            restarts_x: Default::default(),
            los_x: Default::default(),
            retries_x: Default::default(),
            rst_s1: Default::default(),
            rst_s2: Default::default(),
            corr_prev: Default::default(),
            unc_prev: Default::default(),
            rx_prev: Default::default(),
            tx_prev: Default::default(),
            leds: Default::default(),
            corr_led: Default::default(),
            unc_led: Default::default(),
            host_led: Default::default(),
            sig_s1: Default::default(),
            sig_s2: Default::default(),
            c_hold: Constant::new((cfg.led_hold_clocks as u64).to_bits()),
            c_beat_bit: Constant::new((1u64 << cfg.heartbeat_bit).to_bits()),
            // The loop controller's mode while running.
            c_mode_run: Constant::new(4u64.to_bits()),
            c_ready: Constant::new((fiberloop_spec::phy::init_state::READY as u64).to_bits()),
        })
    }
}

#[allow(unused_parens)]
impl Logic for VersaBoard {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk100, btn_s1, btn_s2, beat);
        // ---- clk100: the button, the bring-up, the heartbeat ----
        self.btn_s1.d.next = !self.rst_n.val();
        self.btn_s2.d.next = self.btn_s1.q.val();
        self.beat.d.next = self.beat.q.val() + 1;
        self.init.clock.next = self.clk100.val();
        self.init.reset.next = self.btn_s2.q.val();
        self.init.tx_pll_lol.next = self.dcu.tx_pll_lol.val();
        self.init.rx_cdr_lol.next = self.dcu.rx_cdr_lol.val();
        self.init.rx_los.next = self.dcu.rx_los.val();
        self.dcu.tx_pll_rst.next = self.init.tx_pll_rst.val();
        self.dcu.rx_cdr_rst.next = self.init.rx_cdr_rst.val();
        self.dcu.tx_lane_rst.next = self.init.tx_lane_rst.val();
        self.dcu.rx_lane_rst.next = self.init.rx_lane_rst.val();
        self.refclk_en.next = true;
        self.refclk_rst_n.next = true;
        // ---- the bring-up's report into the word clock ----
        self.status_word.next = bit_cast::<9, 4>(self.init.status.state.val());
        self.status_word.next = self
            .status_word
            .val()
            .replace_bit(4, self.init.status.tx_pll_locked.val())
            .replace_bit(5, self.init.status.cdr_locked.val())
            .replace_bit(6, self.init.status.los.val())
            .replace_bit(7, self.init.status.tx_ready.val())
            .replace_bit(8, self.init.status.rx_ready.val());
        self.status_x.src_clock.next = self.clk100.val();
        self.status_x.dst_clock.next = self.dcu.tx_pclk.val();
        self.status_x.data_in.next = self.status_word.val();
        self.restarts_x.src_clock.next = self.clk100.val();
        self.restarts_x.dst_clock.next = self.dcu.tx_pclk.val();
        self.restarts_x.data_in.next = self.init.status.restarts.val();
        self.los_x.src_clock.next = self.clk100.val();
        self.los_x.dst_clock.next = self.dcu.tx_pclk.val();
        self.los_x.data_in.next = self.init.status.los_events.val();
        self.retries_x.src_clock.next = self.clk100.val();
        self.retries_x.dst_clock.next = self.dcu.tx_pclk.val();
        self.retries_x.data_in.next = self.init.status.cdr_retries.val();
        self.core.phy.state.next = self.status_x.data_out.val().get_bits::<4>(0);
        self.core.phy.tx_pll_locked.next = self.status_x.data_out.val().get_bit(4);
        self.core.phy.cdr_locked.next = self.status_x.data_out.val().get_bit(5);
        self.core.phy.los.next = self.status_x.data_out.val().get_bit(6);
        self.core.phy.tx_ready.next = self.status_x.data_out.val().get_bit(7);
        self.core.phy.rx_ready.next = self.status_x.data_out.val().get_bit(8);
        self.core.phy.restarts.next = self.restarts_x.data_out.val();
        self.core.phy.los_events.next = self.los_x.data_out.val();
        self.core.phy.cdr_retries.next = self.retries_x.data_out.val();
        // ---- word clock: the core's reset ----
        self.rst_s1.clock.next = self.dcu.tx_pclk.val();
        self.rst_s2.clock.next = self.dcu.tx_pclk.val();
        self.rst_s1.d.next = (!self.init.status.tx_ready.val()) | self.btn_s2.q.val();
        self.rst_s2.d.next = self.rst_s1.q.val();
        // ---- receive clock: the core's "signal" ----
        self.sig_s1.clock.next = self.dcu.rx_pclk.val();
        self.sig_s2.clock.next = self.dcu.rx_pclk.val();
        self.sig_s1.d.next = self.init.status.rx_ready.val()
            & self.init.status.cdr_locked.val()
            & (!self.init.status.los.val());
        self.sig_s2.d.next = self.sig_s1.q.val();
        // ---- the board core ----
        self.core.clock.next = self.dcu.tx_pclk.val();
        self.core.rx_clock.next = self.dcu.rx_pclk.val();
        self.core.reset.next = self.rst_s2.q.val();
        self.core.ref_clock.next = self.clk100.val();
        self.dcu.tx_data.next = self.core.serdes_tx_out.val();
        self.core.serdes_rx_in.next = self.dcu.rx_data.val();
        self.core.rx_signal_in.next = self.sig_s2.q.val();
        self.core.uart_rx_in.next = self.uart_rx.val();
        self.uart_tx.next = self.core.uart_tx_out.val();
        // No FIFO port on this board (FT2232H channel A is the JTAG port):
        // its inputs idle, its clock is clk100 (nothing happens on it).
        self.core.usb_clock.next = self.clk100.val();
        self.core.usb_d_in.next = 0.into();
        self.core.usb_rxf_n_in.next = true;
        self.core.usb_txe_n_in.next = true;
        // ---- LEDs (word clock except the heartbeat) ----
        self.corr_prev.clock.next = self.dcu.tx_pclk.val();
        self.unc_prev.clock.next = self.dcu.tx_pclk.val();
        self.rx_prev.clock.next = self.dcu.tx_pclk.val();
        self.tx_prev.clock.next = self.dcu.tx_pclk.val();
        self.corr_led.clock.next = self.dcu.tx_pclk.val();
        self.unc_led.clock.next = self.dcu.tx_pclk.val();
        self.host_led.clock.next = self.dcu.tx_pclk.val();
        self.corr_prev.d.next = self.core.corrected_out.val();
        self.unc_prev.d.next = self.core.uncorrectable_out.val();
        self.rx_prev.d.next = self.uart_rx.val();
        self.tx_prev.d.next = self.core.uart_tx_out.val();
        self.corr_led.d.next = self.corr_led.q.val();
        if self.corr_led.q.val().any() {
            self.corr_led.d.next = self.corr_led.q.val() - 1;
        }
        if self.corr_prev.q.val() != self.core.corrected_out.val() {
            self.corr_led.d.next = self.c_hold.val();
        }
        self.unc_led.d.next = self.unc_led.q.val();
        if self.unc_led.q.val().any() {
            self.unc_led.d.next = self.unc_led.q.val() - 1;
        }
        if self.unc_prev.q.val() != self.core.uncorrectable_out.val() {
            self.unc_led.d.next = self.c_hold.val();
        }
        self.host_led.d.next = self.host_led.q.val();
        if self.host_led.q.val().any() {
            self.host_led.d.next = self.host_led.q.val() - 1;
        }
        if (self.rx_prev.q.val() != self.uart_rx.val())
            | (self.tx_prev.q.val() != self.core.uart_tx_out.val())
        {
            self.host_led.d.next = self.c_hold.val();
        }
        self.leds.next = 0.into();
        self.leds.next = self
            .leds
            .val()
            .replace_bit(
                0,
                (self.status_x.data_out.val().get_bits::<4>(0) == self.c_ready.val())
                    & self.core.locked_out.val(),
            )
            .replace_bit(1, self.status_x.data_out.val().get_bit(5))
            .replace_bit(2, self.core.mode_out.val() == self.c_mode_run.val())
            .replace_bit(3, self.core.loop_lost_out.val())
            .replace_bit(4, self.corr_led.q.val().any())
            .replace_bit(5, self.unc_led.q.val().any())
            .replace_bit(6, self.host_led.q.val().any())
            .replace_bit(7, (self.beat.q.val() & self.c_beat_bit.val()).any());
        self.leds_n.next = !self.leds.val();
    }
}

/// The Versa for a bitstream: [`VersaBoard`] on the DCUA (DCU0 CH1, the
/// SMA pair) fed by EXTREFB (EXTREF0). Ports are the board's pins (names
/// as in [`crate::board::versa::PINS`]; [`VersaTop::PORT_PINS`]).
#[derive(LogicBlock)]
pub struct VersaTop {
    /// clk100 (P3).
    pub clk100: Signal<In, Clock>,
    /// The reset button (T1), active low.
    pub rst_n: Signal<In, Bit>,
    /// UART from the host (C11).
    pub uart_rx: Signal<In, Bit>,
    /// UART to the host (A11).
    pub uart_tx: Signal<Out, Bit>,
    /// LEDs 0..7, active low.
    pub leds_n: Signal<Out, Bits<8>>,
    /// The reference clock chip's enable.
    pub refclk_en: Signal<Out, Bit>,
    /// The reference clock chip's reset (active low).
    pub refclk_rst_n: Signal<Out, Bit>,
    /// SERDES transmit pair (W8/W9).
    pub serdes_tx_p: Signal<Out, Bit>,
    /// SERDES transmit pair, negative.
    pub serdes_tx_n: Signal<Out, Bit>,
    /// SERDES receive pair (Y7/Y8).
    pub serdes_rx_p: Signal<In, Bit>,
    /// SERDES receive pair, negative.
    pub serdes_rx_n: Signal<In, Bit>,
    /// The SERDES reference clock (Y11/Y12, 156.25 MHz).
    pub extref0_p: Signal<In, Bit>,
    /// The SERDES reference clock, negative.
    pub extref0_n: Signal<In, Bit>,
    board: VersaBoard,
    dcu: Dcua,
    extref: ExtRefB,
}

impl VersaTop {
    /// Each port and the pin it goes to (for the LPF).
    pub const PORT_PINS: [(&'static str, &'static str); 20] = [
        ("clk100", "clk100"),
        ("rst_n", "rst_n"),
        ("uart_rx", "uart_rx"),
        ("uart_tx", "uart_tx"),
        ("leds_n[0]", "led0"),
        ("leds_n[1]", "led1"),
        ("leds_n[2]", "led2"),
        ("leds_n[3]", "led3"),
        ("leds_n[4]", "led4"),
        ("leds_n[5]", "led5"),
        ("leds_n[6]", "led6"),
        ("leds_n[7]", "led7"),
        ("refclk_en", "refclk_en"),
        ("refclk_rst_n", "refclk_rst_n"),
        ("serdes_tx_p", "serdes_tx_p"),
        ("serdes_tx_n", "serdes_tx_n"),
        ("serdes_rx_p", "serdes_rx_p"),
        ("serdes_rx_n", "serdes_rx_n"),
        ("extref0_p", "extref0_p"),
        ("extref0_n", "extref0_n"),
    ];

    /// The top with `cfg`'s settings ([`VersaConfig::BOARD`] for the
    /// board); an error names a bad value.
    pub fn new(cfg: VersaConfig) -> Result<Self, String> {
        Ok(Self {
            clk100: Default::default(),
            rst_n: Default::default(),
            uart_rx: Default::default(),
            uart_tx: Default::default(),
            leds_n: Default::default(),
            refclk_en: Default::default(),
            refclk_rst_n: Default::default(),
            serdes_tx_p: Default::default(),
            serdes_tx_n: Default::default(),
            serdes_rx_p: Default::default(),
            serdes_rx_n: Default::default(),
            extref0_p: Default::default(),
            extref0_n: Default::default(),
            board: VersaBoard::new(cfg)?,
            dcu: Default::default(),
            extref: Default::default(),
        })
    }
}

impl Logic for VersaTop {
    #[hdl_gen]
    fn update(&mut self) {
        self.board.clk100.next = self.clk100.val();
        self.board.rst_n.next = self.rst_n.val();
        self.board.uart_rx.next = self.uart_rx.val();
        self.uart_tx.next = self.board.uart_tx.val();
        self.leds_n.next = self.board.leds_n.val();
        self.refclk_en.next = self.board.refclk_en.val();
        self.refclk_rst_n.next = self.board.refclk_rst_n.val();
        self.extref.refclkp.next = self.extref0_p.val();
        self.extref.refclkn.next = self.extref0_n.val();
        self.dcu.refclk.next = self.extref.refclko.val();
        self.dcu.hdinp.next = self.serdes_rx_p.val();
        self.dcu.hdinn.next = self.serdes_rx_n.val();
        self.serdes_tx_p.next = self.dcu.hdoutp.val();
        self.serdes_tx_n.next = self.dcu.hdoutn.val();
        DcuFabric::join(&mut self.dcu.fabric, &mut self.board.dcu);
    }
}

/// The simulated Versa: [`VersaBoard`] on the transceiver's model
/// ([`DcuaModel`]). The same ports as [`VersaTop`] but for the serial
/// pads: the model's reference clock `refclk` is toggled once per 20-bit
/// word (the model passes it through as both word clocks), `line_tx_out`
/// is the word sent, `line_rx_in` and `light_in` what the fiber delivers.
#[derive(LogicBlock)]
pub struct VersaSim {
    /// clk100.
    pub clk100: Signal<In, Clock>,
    /// The reset button, active low.
    pub rst_n: Signal<In, Bit>,
    /// UART from the host.
    pub uart_rx: Signal<In, Bit>,
    /// UART to the host.
    pub uart_tx: Signal<Out, Bit>,
    /// LEDs 0..7, active low.
    pub leds_n: Signal<Out, Bits<8>>,
    /// The reference clock chip's enable.
    pub refclk_en: Signal<Out, Bit>,
    /// The reference clock chip's reset (active low).
    pub refclk_rst_n: Signal<Out, Bit>,
    /// The model's reference: one rising edge per word.
    pub refclk: Signal<In, Clock>,
    /// The word sent on the fiber.
    pub line_tx_out: Signal<Out, Bits<20>>,
    /// The word arriving from the fiber.
    pub line_rx_in: Signal<In, Bits<20>>,
    /// Light arrives.
    pub light_in: Signal<In, Bit>,
    /// The model's bit slip (for reports).
    pub slip_out: Signal<Out, Bits<5>>,
    board: VersaBoard,
    dcu: DcuaModel,
}

impl VersaSim {
    /// The simulated board with `cfg`'s settings and a transceiver model
    /// with `dcu`'s delays and seed; an error names a bad value.
    pub fn new(cfg: VersaConfig, dcu: DcuaModelConfig) -> Result<Self, String> {
        Ok(Self {
            clk100: Default::default(),
            rst_n: Default::default(),
            uart_rx: Default::default(),
            uart_tx: Default::default(),
            leds_n: Default::default(),
            refclk_en: Default::default(),
            refclk_rst_n: Default::default(),
            refclk: Default::default(),
            line_tx_out: Default::default(),
            line_rx_in: Default::default(),
            light_in: Default::default(),
            slip_out: Default::default(),
            board: VersaBoard::new(cfg)?,
            dcu: DcuaModel::new(dcu)?,
        })
    }
}

impl Logic for VersaSim {
    #[hdl_gen]
    fn update(&mut self) {
        self.board.clk100.next = self.clk100.val();
        self.board.rst_n.next = self.rst_n.val();
        self.board.uart_rx.next = self.uart_rx.val();
        self.uart_tx.next = self.board.uart_tx.val();
        self.leds_n.next = self.board.leds_n.val();
        self.refclk_en.next = self.board.refclk_en.val();
        self.refclk_rst_n.next = self.board.refclk_rst_n.val();
        self.dcu.refclk.next = self.refclk.val();
        self.line_tx_out.next = self.dcu.line_tx_out.val();
        self.dcu.line_rx_in.next = self.line_rx_in.val();
        self.dcu.light_in.next = self.light_in.val();
        self.slip_out.next = self.dcu.slip_out.val();
        DcuFabric::join(&mut self.dcu.fabric, &mut self.board.dcu);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_named() {
        let e = VersaBoard::new(VersaConfig {
            clocks_per_bit: 2,
            ..VersaConfig::BOARD
        })
        .err()
        .unwrap();
        assert!(e.contains("clocks_per_bit = 2"), "{e}");
        let e = VersaBoard::new(VersaConfig {
            led_hold_clocks: 1 << 24,
            ..VersaConfig::BOARD
        })
        .err()
        .unwrap();
        assert!(e.contains("led_hold_clocks"), "{e}");
    }

    /// The top's ports all have a pin in the board's table, and its LPF
    /// builds (banks agree).
    #[test]
    fn versa_top_ports_have_pins() {
        let lpf = crate::board::versa::lpf(&VersaTop::PORT_PINS, &[]).unwrap();
        for (port, _) in &VersaTop::PORT_PINS {
            assert!(lpf.contains(port), "{port} missing from the LPF:\n{lpf}");
        }
    }

    #[test]
    fn versa_sim_synthesizes() {
        let mut uut = VersaSim::new(VersaConfig::BOARD, DcuaModelConfig::default()).unwrap();
        uut.connect_all();
        let r = fiberloop_harness::synth::synth_block(&uut, "versa_sim").unwrap();
        println!("versa (simulated transceiver): {r}");
        assert!(r.luts() < 43_848, "{r}");
        assert!(r.dsps() <= 72, "{r}");
    }
}

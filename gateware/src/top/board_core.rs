//! `BoardCore`: the whole board behind its wires to the outside, the
//! SERDES words and the host's two links (UART and USB FIFO): the loop core
//! (with the inference engine) and the host protocol's command engine,
//! joined by the register file of `fiberloop_spec::regs`.
//!
//! ```text
//! uart_rx_in -> UartRx --\                       /-> UartTx -> uart_tx_out
//!                         LinkMux -> CmdEngine -> LinkMux
//! usb_* pins -> Ft245Phy /                       \-> Ft245Phy -> usb_* pins
//!                            | bus (HostBus), events
//!                      RegFile (the register map)
//!                            | slot, counters, line, eng (bundles)
//! serdes_rx_in ->         LoopCore          -> serdes_tx_out
//! ```

use crate::bundles::{
    AidsHost, ByteOut, EngineHost, HostBus, LineCounters, LinkEvents, LoopCounters, PhyStatusIn,
    SlotHost,
};
use crate::hostif::cmd_engine::CmdEngine;
use crate::hostif::ft245::Ft245Phy;
use crate::hostif::link_mux::LinkMux;
use crate::hostif::uart::{UartRx, UartTx};
use crate::top::loop_core::LoopCore;
use crate::top::reg_file::RegFile;
use rust_hdl::prelude::*;
/// The board: host UART and USB FIFO port, command engine, register file,
/// loop core.
///
/// **Host links.** The UART ([`UartRx`], [`UartTx`]) and the FT2232H 245
/// synchronous FIFO port ([`Ft245Phy`], its pins in the chip's `CLKOUT`
/// domain `usb_clock`) share one [`CmdEngine`] through a [`LinkMux`]: a
/// frame at a time, the reply on the link the request came on. A byte
/// arriving on the UART while the engine serves a FIFO frame is lost and
/// counted (`link::CONTENTION_LOST`); FIFO bytes wait. A board without
/// the FIFO wired (the ECP5-5G Versa: its FT2232H channel A is the JTAG
/// port) ties `usb_rxf_n_in` and `usb_txe_n_in` high.
///
/// **Register file.** [`RegFile`] implements every register of
/// `fiberloop_spec::regs` on the command engine's bus; its documentation
/// gives the bus timing, the refusals and the details the map leaves open.
///
/// Latency: a read's data and every status arrive in the clock after the
/// strobe (the bus contract of [`CmdEngine`]); request to reply as there
/// plus the UART's. Throughput: one bus access per clock (the engine issues
/// one every 2 to 4), the loop one word per clock. Reset: `reset` clears
/// the loop core (see [`LoopCore`]), the register file's registers and
/// counters, and sets `FILL_TIMEOUT` to its default; the memories (scratch,
/// tag, table copy, buffers) keep their contents; the command engine and the
/// UART have no reset.
#[derive(LogicBlock)]
pub struct BoardCore {
    /// Word clock (125 MHz at 2.5 Gb/s).
    pub clock: Signal<In, Clock>,
    /// The transceiver's recovered RX clock.
    pub rx_clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// The clock meters' reference (clk100).
    pub ref_clock: Signal<In, Clock>,
    /// The transceiver bring-up's report, in `clock`'s domain (a top
    /// without a transceiver drives it from its ports).
    pub phy: PhyStatusIn,
    /// SERDES TX word (two 10-bit symbols).
    pub serdes_tx_out: Signal<Out, Bits<20>>,
    /// SERDES RX word, on `rx_clock`.
    pub serdes_rx_in: Signal<In, Bits<20>>,
    /// The receiver has a signal (loss-of-signal inverted).
    pub rx_signal_in: Signal<In, Bit>,
    /// UART from the host (idle high).
    pub uart_rx_in: Signal<In, Bit>,
    /// UART to the host (idle high).
    pub uart_tx_out: Signal<Out, Bit>,
    /// USB FIFO: the chip's `CLKOUT` (60 MHz); every `usb_*` pin is in
    /// this domain.
    pub usb_clock: Signal<In, Clock>,
    /// USB FIFO: `ADBUS[7:0]` as read from the pins.
    pub usb_d_in: Signal<In, Bits<8>>,
    /// USB FIFO: `ADBUS[7:0]` as driven when `usb_d_oe` is high.
    pub usb_d_out: Signal<Out, Bits<8>>,
    /// USB FIFO: output enable of `ADBUS`.
    pub usb_d_oe: Signal<Out, Bit>,
    /// USB FIFO: `RXF#` (active low): the chip holds a byte from the host.
    pub usb_rxf_n_in: Signal<In, Bit>,
    /// USB FIFO: `TXE#` (active low): the chip can take a byte.
    pub usb_txe_n_in: Signal<In, Bit>,
    /// USB FIFO: `RD#` (active low).
    pub usb_rd_n_out: Signal<Out, Bit>,
    /// USB FIFO: `WR#` (active low).
    pub usb_wr_n_out: Signal<Out, Bit>,
    /// USB FIFO: `OE#` (active low).
    pub usb_oe_n_out: Signal<Out, Bit>,
    /// USB FIFO: `SIWU#` (active low), held high.
    pub usb_siwu_n_out: Signal<Out, Bit>,
    /// The loop's mode (for LEDs).
    pub mode_out: Signal<Out, Bits<3>>,
    /// The line receiver is word-aligned (for LEDs).
    pub locked_out: Signal<Out, Bit>,
    /// The loop was lost (for LEDs).
    pub loop_lost_out: Signal<Out, Bit>,
    /// The corrected-bytes counter's 32 bits (for LEDs: it changes).
    pub corrected_out: Signal<Out, Bits<32>>,
    /// The uncorrectable-frames counter's 32 bits (for LEDs).
    pub uncorrectable_out: Signal<Out, Bits<32>>,
    // Sub-blocks.
    uart_rx: UartRx,
    engine: CmdEngine,
    uart_tx: UartTx,
    usb: Ft245Phy,
    links: LinkMux,
    core: LoopCore,
    regs: RegFile,
}

impl BoardCore {
    /// A board whose UART runs at `clocks_per_bit` word clocks per bit and
    /// whose command engine drops a partial frame after `timeout_clocks`
    /// clocks of silence.
    pub fn new(clocks_per_bit: u32, timeout_clocks: u32) -> Self {
        assert!(
            timeout_clocks > 12 * clocks_per_bit,
            "the timeout must exceed a byte time"
        );
        Self {
            clock: Default::default(),
            rx_clock: Default::default(),
            reset: Default::default(),
            ref_clock: Default::default(),
            phy: Default::default(),
            serdes_tx_out: Default::default(),
            serdes_rx_in: Default::default(),
            rx_signal_in: Default::default(),
            uart_rx_in: Default::default(),
            uart_tx_out: Default::default(),
            usb_clock: Default::default(),
            usb_d_in: Default::default(),
            usb_d_out: Default::default(),
            usb_d_oe: Default::default(),
            usb_rxf_n_in: Default::default(),
            usb_txe_n_in: Default::default(),
            usb_rd_n_out: Default::default(),
            usb_wr_n_out: Default::default(),
            usb_oe_n_out: Default::default(),
            usb_siwu_n_out: Default::default(),
            mode_out: Default::default(),
            locked_out: Default::default(),
            loop_lost_out: Default::default(),
            corrected_out: Default::default(),
            uncorrectable_out: Default::default(),
            uart_rx: UartRx::new(clocks_per_bit),
            engine: CmdEngine::new(timeout_clocks),
            uart_tx: UartTx::new(clocks_per_bit),
            usb: Default::default(),
            links: Default::default(),
            core: LoopCore::default(),
            regs: RegFile::default(),
        }
    }

    /// The same board as top `top` (`fiberloop_spec::regs::top`: what the
    /// `TOP` register reads).
    pub fn with_top(mut self, top: u32) -> Self {
        self.regs = RegFile::for_top(top);
        self
    }
}

impl Logic for BoardCore {
    #[hdl_gen]
    fn update(&mut self) {
        self.uart_rx.clock.next = self.clock.val();
        self.engine.clock.next = self.clock.val();
        self.uart_tx.clock.next = self.clock.val();
        self.core.clock.next = self.clock.val();
        self.core.rx_clock.next = self.rx_clock.val();
        self.core.reset.next = self.reset.val();
        self.core.ref_clock.next = self.ref_clock.val();
        self.usb.clock.next = self.clock.val();
        self.usb.fifo_clock.next = self.usb_clock.val();
        self.links.clock.next = self.clock.val();
        // The UART: link A of the mux.
        self.uart_rx.rx.next = self.uart_rx_in.val();
        self.links.a_data_in.next = self.uart_rx.data_out.val();
        self.links.a_valid_in.next = self.uart_rx.valid_out.val();
        self.uart_tx.data_in.next = self.links.a_tx_data_out.val();
        self.uart_tx.valid_in.next = self.links.a_tx_valid_out.val();
        self.links.a_tx_ready_in.next = self.uart_tx.ready_out.val();
        self.uart_tx_out.next = self.uart_tx.tx.val();
        // The USB FIFO port: link B.
        self.usb.d_in.next = self.usb_d_in.val();
        self.usb.rxf_n_in.next = self.usb_rxf_n_in.val();
        self.usb.txe_n_in.next = self.usb_txe_n_in.val();
        self.usb_d_out.next = self.usb.d_out.val();
        self.usb_d_oe.next = self.usb.d_oe.val();
        self.usb_rd_n_out.next = self.usb.rd_n_out.val();
        self.usb_wr_n_out.next = self.usb.wr_n_out.val();
        self.usb_oe_n_out.next = self.usb.oe_n_out.val();
        self.usb_siwu_n_out.next = self.usb.siwu_n_out.val();
        self.links.b_data_in.next = self.usb.rx_data_out.val();
        self.links.b_valid_in.next = self.usb.rx_valid_out.val();
        self.usb.rx_ready_in.next = self.links.b_ready_out.val();
        self.usb.tx_data_in.next = self.links.b_tx_data_out.val();
        self.usb.tx_valid_in.next = self.links.b_tx_valid_out.val();
        self.links.b_tx_ready_in.next = self.usb.tx_ready_out.val();
        // The engine behind the mux.
        self.engine.data_in.next = self.links.data_out.val();
        self.engine.valid_in.next = self.links.valid_out.val();
        self.links.idle_in.next = self.engine.idle_out.val();
        ByteOut::join(&mut self.engine.reply, &mut self.links.rep);
        self.serdes_tx_out.next = self.core.serdes_tx_out.val();
        self.core.serdes_rx_in.next = self.serdes_rx_in.val();
        self.core.rx_signal_in.next = self.rx_signal_in.val();
        self.mode_out.next = self.core.counters.mode.val();
        self.locked_out.next = self.core.line.locked.val();
        self.loop_lost_out.next = self.core.counters.loop_lost.val();
        self.corrected_out.next = self.core.counters.corrected.val();
        self.uncorrectable_out.next = self.core.counters.uncorrectable.val();
        // The register file between the command engine and the loop core.
        self.regs.clock.next = self.clock.val();
        self.regs.reset.next = self.reset.val();
        HostBus::join(&mut self.engine.bus, &mut self.regs.bus);
        LinkEvents::join(&mut self.engine.events, &mut self.regs.events);
        self.regs.lost_in.next = self.links.lost_out.val();
        SlotHost::join(&mut self.regs.slot, &mut self.core.slot);
        LoopCounters::join(&mut self.core.counters, &mut self.regs.counters);
        LineCounters::join(&mut self.core.line, &mut self.regs.line);
        self.regs.tap_valid_in.next = self.core.tap.valid.val();
        EngineHost::join(&mut self.regs.eng, &mut self.core.eng);
        AidsHost::join(&mut self.regs.aids, &mut self.core.aids);
        PhyStatusIn::link(&mut self.phy, &mut self.regs.phy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_core_synthesizes() {
        let mut uut = BoardCore::new(42, 40_000);
        uut.connect_all();
        let r = fiberloop_harness::synth::synth_block(&uut, "board_core").unwrap();
        println!("{r}");
        assert!(r.dsps() <= 72);
    }

    /// Out of context on the 45F, every clock 10 % above its frequency:
    /// the word clocks at 125 MHz, the FT2232H's `CLKOUT` at 60 MHz, the
    /// clock meters' reference (clk100) at 100 MHz. The
    /// whole board: command engine, register file, loop core, inference
    /// engine and MAC array (their paths are listed per clock).
    #[test]
    #[cfg(feature = "pnr")]
    fn board_core_meets_timing() {
        use fiberloop_harness::pnr::{assert_meets_timing, ClockConstraint, WORD_CLOCK_MHZ};
        let mut uut = BoardCore::new(42, 40_000);
        uut.connect_all();
        assert_meets_timing(
            &uut,
            "board_core",
            &[
                ClockConstraint::new("clock", WORD_CLOCK_MHZ),
                ClockConstraint::new("rx_clock", WORD_CLOCK_MHZ),
                ClockConstraint::new("usb_clock", 60.0),
                ClockConstraint::new("ref_clock", 100.0),
            ],
        );
    }
}

//! A cycle model of the FIFO side of an FTDI FT2232H channel in FT245-style
//! synchronous FIFO mode: the chip on the other side of the FPGA's
//! `Ft245Phy` pins (see `fiberloop_gateware::hostif::ft245` for the
//! interface as implemented and the datasheet rules it follows). Block tests
//! and the simulated boards drive the gateware's FIFO pins with it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// What the FPGA drives on the FIFO pins during one `CLKOUT` clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FpgaPins {
    /// `RD#`.
    pub rd_n: bool,
    /// `WR#`.
    pub wr_n: bool,
    /// `OE#`.
    pub oe_n: bool,
    /// `ADBUS` as driven by the FPGA.
    pub d_out: u8,
    /// The FPGA drives `ADBUS`.
    pub d_oe: bool,
}

/// What the chip presents during one `CLKOUT` clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChipPins {
    /// `RXF#`.
    pub rxf_n: bool,
    /// `TXE#`.
    pub txe_n: bool,
    /// The level of `ADBUS` (the chip's byte, the FPGA's, or noise when
    /// nobody drives it).
    pub d: u8,
}

/// Flow-control behaviour of [`Ft2232hModel`].
#[derive(Clone, Copy, Debug)]
pub struct ChipConfig {
    /// Bytes the chip's receive buffer holds (host to device).
    pub rx_capacity: usize,
    /// Bytes the chip's transmit buffer holds (device to host).
    pub tx_capacity: usize,
    /// Chance per clock that a USB packet from the host arrives (while the
    /// host has bytes queued).
    pub rx_arrive: f64,
    /// Bytes per USB packet from the host (at most).
    pub rx_packet: usize,
    /// Chance per clock that a USB packet goes to the host.
    pub tx_drain: f64,
    /// Bytes per USB packet to the host (at most).
    pub tx_packet: usize,
    /// Chance per clock that `RXF#` is forced high for 1..=`stall_max`
    /// clocks although bytes are buffered (packet boundaries).
    pub rx_stall: f64,
    /// Chance per clock that `TXE#` is forced high for 1..=`stall_max`
    /// clocks although there is room.
    pub tx_stall: f64,
    /// Longest forced stall, clocks.
    pub stall_max: u32,
}

impl ChipConfig {
    /// No flow control beyond large buffers: `RXF#` low whenever a byte is
    /// buffered, `TXE#` low always (the fastest the chip can be).
    pub fn fast() -> Self {
        Self {
            rx_capacity: 4096,
            tx_capacity: 4096,
            rx_arrive: 1.0,
            rx_packet: 512,
            tx_drain: 1.0,
            tx_packet: 512,
            rx_stall: 0.0,
            tx_stall: 0.0,
            stall_max: 1,
        }
    }
}

/// A cycle model of the FIFO side of an FT2232H channel in synchronous FIFO
/// mode, as described in the module documentation: a host-to-device queue
/// fed by the host ([`host_send`](Self::host_send)) that reaches the chip's
/// receive buffer in packets, a transmit buffer drained to the host in
/// packets, `RXF#` and `TXE#` from the buffer fill (and random stalls, per
/// [`ChipConfig`]). Call [`edge`](Self::edge) at each rising edge of
/// `CLKOUT` with what the FPGA drove in the clock before it, then
/// [`present`](Self::present) with what the FPGA drives after the edge.
///
/// Protocol breaches are recorded in [`violations`](Self::violations):
/// `RD#` low at an edge without `OE#` low in that clock and the one before,
/// `WR#` low with the FPGA not driving the bus, `WR#` with `OE#` or `RD#`
/// low, and both the chip (`OE#` low) and the FPGA driving the bus. A
/// strobe while the chip's flag is high (`RD#` with `RXF#` high, `WR#` with
/// `TXE#` high) is allowed by the datasheet and moves nothing: it is only
/// counted.
pub struct Ft2232hModel {
    cfg: ChipConfig,
    rng: ChaCha8Rng,
    host_tx: VecDeque<u8>,
    rx_buf: VecDeque<u8>,
    tx_buf: VecDeque<u8>,
    /// Bytes the host has received, in order.
    pub host_rx: Vec<u8>,
    rxf_n: bool,
    txe_n: bool,
    prev_oe_n: bool,
    rx_stall_left: u32,
    tx_stall_left: u32,
    /// Rising edges seen.
    pub cycle: u64,
    /// Whether `read_log` and `write_log` are kept (on by default; a
    /// long-running user that only needs the bytes turns them off).
    pub log_transfers: bool,
    /// Edges (`cycle` numbers) at which a byte moved to the FPGA.
    pub read_log: Vec<u64>,
    /// Edges at which a byte moved from the FPGA.
    pub write_log: Vec<u64>,
    /// `RD#` low with `RXF#` high (no transfer).
    pub rd_idle: u64,
    /// `WR#` low with `TXE#` high (no transfer).
    pub wr_refused: u64,
    /// Edges with `OE#` and `RXF#` low but `RD#` high (the FPGA holding
    /// off, e.g. its receive buffer near full).
    pub rd_held: u64,
    /// Clocks with `RXF#` high although bytes were buffered.
    pub rx_stalled: u64,
    /// Clocks with `TXE#` high.
    pub txe_high: u64,
    /// Protocol breaches, with the edge number.
    pub violations: Vec<String>,
}

impl Ft2232hModel {
    /// A chip with flow control `cfg` and random stalls from `seed`.
    pub fn new(cfg: ChipConfig, seed: u64) -> Self {
        Self {
            cfg,
            rng: ChaCha8Rng::seed_from_u64(seed),
            host_tx: VecDeque::new(),
            rx_buf: VecDeque::new(),
            tx_buf: VecDeque::new(),
            host_rx: Vec::new(),
            rxf_n: true,
            txe_n: true,
            prev_oe_n: true,
            rx_stall_left: 0,
            tx_stall_left: 0,
            cycle: 0,
            log_transfers: true,
            read_log: Vec::new(),
            write_log: Vec::new(),
            rd_idle: 0,
            wr_refused: 0,
            rd_held: 0,
            rx_stalled: 0,
            txe_high: 0,
            violations: Vec::new(),
        }
    }

    /// Changes the flow-control behaviour from the next edge on.
    pub fn set_config(&mut self, cfg: ChipConfig) {
        self.cfg = cfg;
    }

    /// The host sends `bytes` (queued behind earlier ones).
    pub fn host_send(&mut self, bytes: &[u8]) {
        self.host_tx.extend(bytes);
    }

    /// Bytes sent by the host not yet read by the FPGA.
    pub fn rx_pending(&self) -> usize {
        self.host_tx.len() + self.rx_buf.len()
    }

    /// Bytes written by the FPGA not yet delivered to the host.
    pub fn tx_pending(&self) -> usize {
        self.tx_buf.len()
    }

    /// A rising edge of `CLKOUT`; `fpga` is what the FPGA drove in the
    /// clock that ends here. Moves bytes, then computes `RXF#` and `TXE#`
    /// for the next clock.
    pub fn edge(&mut self, fpga: FpgaPins) {
        let c = self.cycle;
        if !fpga.rd_n && (fpga.oe_n || self.prev_oe_n) {
            self.violations
                .push(format!("edge {c}: RD# low without OE# low a clock before"));
        }
        if !fpga.wr_n && !fpga.d_oe {
            self.violations
                .push(format!("edge {c}: WR# low with the bus not driven"));
        }
        if !fpga.wr_n && (!fpga.oe_n || !fpga.rd_n) {
            self.violations
                .push(format!("edge {c}: WR# low together with OE# or RD#"));
        }
        if fpga.rd_n && !fpga.oe_n && !self.rxf_n {
            self.rd_held += 1;
        }
        if !fpga.rd_n {
            if !self.rxf_n && !fpga.oe_n {
                self.rx_buf.pop_front().expect("RXF# low with no byte");
                if self.log_transfers {
                    self.read_log.push(c);
                }
            } else {
                self.rd_idle += 1;
            }
        }
        if !fpga.wr_n {
            if !self.txe_n {
                self.tx_buf.push_back(fpga.d_out);
                if self.log_transfers {
                    self.write_log.push(c);
                }
            } else {
                self.wr_refused += 1;
            }
        }
        self.prev_oe_n = fpga.oe_n;
        // USB side: packets from and to the host.
        if !self.host_tx.is_empty() && self.rng.gen_bool(self.cfg.rx_arrive) {
            let room = self.cfg.rx_capacity.saturating_sub(self.rx_buf.len());
            let n = self.cfg.rx_packet.min(room).min(self.host_tx.len());
            self.rx_buf.extend(self.host_tx.drain(..n));
        }
        if !self.tx_buf.is_empty() && self.rng.gen_bool(self.cfg.tx_drain) {
            let n = self.cfg.tx_packet.min(self.tx_buf.len());
            self.host_rx.extend(self.tx_buf.drain(..n));
        }
        // Flags for the next clock.
        if self.rx_stall_left > 0 {
            self.rx_stall_left -= 1;
        } else if self.rng.gen_bool(self.cfg.rx_stall) {
            self.rx_stall_left = self.rng.gen_range(1..=self.cfg.stall_max);
        }
        if self.tx_stall_left > 0 {
            self.tx_stall_left -= 1;
        } else if self.rng.gen_bool(self.cfg.tx_stall) {
            self.tx_stall_left = self.rng.gen_range(1..=self.cfg.stall_max);
        }
        self.rxf_n = self.rx_buf.is_empty() || self.rx_stall_left > 0;
        if self.rxf_n && !self.rx_buf.is_empty() {
            self.rx_stalled += 1;
        }
        self.txe_n = self.tx_buf.len() >= self.cfg.tx_capacity || self.tx_stall_left > 0;
        if self.txe_n {
            self.txe_high += 1;
        }
        self.cycle += 1;
    }

    /// The chip's pins in the clock after an edge, given what the FPGA
    /// drives in it (`OE#` decides who drives the bus).
    pub fn present(&mut self, fpga: FpgaPins) -> ChipPins {
        let chip_drives = !fpga.oe_n;
        if chip_drives && fpga.d_oe {
            self.violations.push(format!(
                "clock after edge {}: bus contention (OE# low and the FPGA drives)",
                self.cycle
            ));
        }
        let d = if chip_drives {
            match self.rx_buf.front() {
                Some(&b) => b,
                None => self.rng.gen(),
            }
        } else if fpga.d_oe {
            fpga.d_out
        } else {
            self.rng.gen()
        };
        ChipPins {
            rxf_n: self.rxf_n,
            txe_n: self.txe_n,
            d,
        }
    }
}

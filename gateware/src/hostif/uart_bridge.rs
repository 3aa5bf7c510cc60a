//! `UartCommandPort`: the host protocol over a UART: [`UartRx`] ->
//! [`CmdEngine`] -> [`UartTx`].

use super::cmd_engine::CmdEngine;
use super::uart::{UartRx, UartTx};
use crate::bundles::{HostBus, LinkEvents};
use rust_hdl::prelude::*;

/// The host's register access over a UART (8N1, `clocks_per_bit` clocks per
/// bit, both directions): received bytes go to a [`CmdEngine`] (bytes with a
/// framing error are dropped: the protocol's checks then drop the frame),
/// its replies go out through a [`UartTx`].
///
/// Latency: a request byte reaches the engine `clocks_per_bit/2 + 9 *
/// clocks_per_bit + 3` clocks after its start bit begins on `rx`; the reply
/// starts on `tx` a few clocks after the engine has the last byte (see
/// [`CmdEngine`]). Throughput: the UART's, one byte per `10 *
/// clocks_per_bit` clocks in (any gap allowed), one per `10 *
/// clocks_per_bit + 1` out. Reset: none, as the sub-blocks: power-up is
/// idle, hunting, `tx` high.
#[derive(LogicBlock)]
pub struct UartCommandPort {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// UART input from the host (idle high), asynchronous.
    pub rx: Signal<In, Bit>,
    /// UART output to the host (idle high).
    pub tx: Signal<Out, Bit>,
    /// Register bus (see [`CmdEngine`] for the timing).
    pub bus: HostBus,
    /// Strobe: a received byte had a bad stop bit and was dropped.
    pub framing_error_out: Signal<Out, Bit>,
    /// The engine's event strobes (see [`CmdEngine`]).
    pub events: LinkEvents,
    /// Strobe from the engine: a checked frame was lost, the engine was busy.
    pub overrun_out: Signal<Out, Bit>,
    uart_rx: UartRx,
    engine: CmdEngine,
    uart_tx: UartTx,
}

impl UartCommandPort {
    /// A port at `clocks_per_bit` clocks per UART bit whose engine drops a
    /// partial frame after `timeout_clocks` clocks of silence.
    pub fn new(clocks_per_bit: u32, timeout_clocks: u32) -> Self {
        assert!(
            timeout_clocks > 12 * clocks_per_bit,
            "the timeout must exceed a byte time"
        );
        Self {
            clock: Default::default(),
            rx: Default::default(),
            tx: Default::default(),
            bus: Default::default(),
            framing_error_out: Default::default(),
            events: Default::default(),
            overrun_out: Default::default(),
            uart_rx: UartRx::new(clocks_per_bit),
            engine: CmdEngine::new(timeout_clocks),
            uart_tx: UartTx::new(clocks_per_bit),
        }
    }
}

impl Logic for UartCommandPort {
    #[hdl_gen]
    fn update(&mut self) {
        self.uart_rx.clock.next = self.clock.val();
        self.engine.clock.next = self.clock.val();
        self.uart_tx.clock.next = self.clock.val();
        self.uart_rx.rx.next = self.rx.val();
        self.engine.data_in.next = self.uart_rx.data_out.val();
        self.engine.valid_in.next = self.uart_rx.valid_out.val();
        self.uart_tx.data_in.next = self.engine.reply.data.val();
        self.uart_tx.valid_in.next = self.engine.reply.valid.val();
        self.engine.reply.ready.next = self.uart_tx.ready_out.val();
        self.tx.next = self.uart_tx.tx.val();
        HostBus::link(&mut self.bus, &mut self.engine.bus);
        LinkEvents::link(&mut self.events, &mut self.engine.events);
        self.framing_error_out.next = self.uart_rx.framing_error_out.val();
        self.overrun_out.next = self.engine.overrun_out.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostif::cmd_engine::{BusOp, EngineModel};
    use crate::hostif::uart::{serialize_byte, RxModel};
    use fiberloop_harness::verilator::Model;
    use fiberloop_spec::proto::{cmd, encode, Direction, Header, MAX_FRAME_BYTES};
    use fiberloop_spec::regs;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const CPB: u32 = 8;
    const TIMEOUT: u32 = 40 * CPB;

    fn frame(h: Header, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; MAX_FRAME_BYTES];
        let n = encode(Direction::Request, &h, payload, &mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    /// End to end at the bit level: request frames from
    /// `fiberloop_spec::proto::encode` serialised onto `rx`, the `tx` line
    /// decoded, the reply bytes and bus operations compared with
    /// [`EngineModel`] fed with the bytes at the clocks the UART delivers
    /// them.
    #[test]
    fn uart_port_end_to_end() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xB41D_0001);
        let mut mem: Vec<u32> = (0..0x6000).map(|_| rng.gen()).collect();
        mem[regs::ID as usize] = regs::ID_VALUE;
        mem[regs::VERSION as usize] = regs::VERSION_VALUE;
        let mut model = EngineModel::new(TIMEOUT, mem.clone(), |_, _, _| 0);
        let mut uut = UartCommandPort::new(CPB, TIMEOUT);
        uut.connect_all();
        let mut m = Model::of_block(&uut).unwrap();
        let [clk, rx, tx, addr, wdata, we, re, rdata, fe] = [
            "clock",
            "rx",
            "tx",
            "bus$addr",
            "bus$wdata",
            "bus$we",
            "bus$re",
            "bus$rdata",
            "framing_error_out",
        ]
        .map(|n| m.p(n));
        let mut line_dec = RxModel::new(CPB);
        let (mut bus, mut got, mut expect) = (Vec::new(), Vec::new(), Vec::new());
        let mut rd: Option<u32> = None;
        let mut clock = 0u64;
        let mut seq = 0u8;
        // One clock of the whole bench with line level `level` on rx.
        let mut run = |level: bool,
                       m: &mut Model,
                       mem: &mut Vec<u32>,
                       bus: &mut Vec<BusOp>,
                       got: &mut Vec<u8>,
                       clock: &mut u64| {
            m.set(clk, 0);
            m.set(rx, level as u64);
            m.set(
                rdata,
                rd.take().map_or(0xDEAD_BEEF, |a| mem[a as usize]) as u64,
            );
            m.eval();
            let a = m.get(addr) as u32;
            if m.get(we) != 0 {
                mem[a as usize] = m.get(wdata) as u32;
                bus.push(BusOp::Write(a, mem[a as usize]));
            }
            if m.get(re) != 0 {
                bus.push(BusOp::Read(a));
                rd = Some(a);
            }
            assert_eq!(m.get(fe), 0, "framing error");
            let (b, v, _) = line_dec.step(m.get(tx) != 0);
            if v {
                got.push(b);
            }
            m.set(clk, 1);
            m.eval();
            *clock += 1;
        };
        let mut replays = 0;
        for item in 0..400 {
            seq = seq.wrapping_add(1);
            let k = rng.gen_range(0..10);
            let write = k < 4;
            let h = Header {
                seq,
                code: match k {
                    0..=3 => cmd::WRITE,
                    4..=7 => cmd::READ,
                    _ => cmd::PING,
                },
                addr: if k >= 8 {
                    0
                } else if rng.gen_bool(0.8) {
                    regs::SCRATCH + rng.gen_range(0..8)
                } else {
                    rng.gen_range(0..0x3000)
                },
                len: if k >= 8 { 0 } else { rng.gen_range(1..=6) },
            };
            let n = if write { 4 * h.len as usize } else { 0 };
            let payload: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            let mut f = frame(h, &payload);
            let corrupt = rng.gen_ratio(1, 8);
            if corrupt {
                let i = rng.gen_range(0..f.len());
                f[i] ^= 1 << rng.gen_range(0..8);
            }
            let sends = if write && !corrupt && rng.gen_ratio(1, 3) {
                2
            } else {
                1
            };
            for _ in 0..sends {
                let bus_before = bus.len();
                // Serialise with random idle gaps; the model gets each byte
                // at the clock the UART receiver delivers it.
                let mut line = Vec::new();
                let mut t = 0.0;
                let mut starts = Vec::new();
                for &b in &f {
                    t += rng.gen_range(0..3 * CPB) as f64;
                    starts.push(t as u64);
                    t = serialize_byte(&mut line, t, CPB as f64, b);
                }
                let base = clock;
                for (&b, &s) in f.iter().zip(&starts) {
                    let at = base + s + (CPB / 2 + 9 * CPB + 3) as u64;
                    model.push(b, at, &mut expect);
                }
                for &level in &line {
                    run(level, &mut m, &mut mem, &mut bus, &mut got, &mut clock);
                }
                // Until the predicted reply is in, then past the timeout
                // (a stray or late byte would show).
                let mut budget = 100_000;
                while got.len() < expect.len() {
                    run(true, &mut m, &mut mem, &mut bus, &mut got, &mut clock);
                    budget -= 1;
                    assert!(budget > 0, "item {item}: reply missing");
                }
                for _ in 0..TIMEOUT + 12 * CPB {
                    run(true, &mut m, &mut mem, &mut bus, &mut got, &mut clock);
                }
                assert_eq!(got, expect, "item {item}: reply bytes");
                assert_eq!(bus, model.bus, "item {item}: bus operations");
                if corrupt {
                    assert_eq!(
                        bus.len(),
                        bus_before,
                        "item {item}: corrupted frame acted on"
                    );
                }
            }
            replays = model.replays;
        }
        assert_eq!(mem, model.mem);
        assert!(replays > 5, "{replays} replays");
        println!(
            "{clock} clocks, {} reply bytes, {replays} replays",
            got.len()
        );
    }

    #[test]
    fn uart_port_is_synthesizable() {
        let mut uut = UartCommandPort::new(42, 1_250_000);
        uut.connect_all();
        let rep = fiberloop_harness::synth::synth_block(&uut, "hostif_uart_port").unwrap();
        println!(
            "UartCommandPort: {} LUTs, {} FFs, {} BRAMs",
            rep.luts(),
            rep.ffs(),
            rep.brams()
        );
        assert!(rep.luts() < 2500, "{} LUTs", rep.luts());
    }
}

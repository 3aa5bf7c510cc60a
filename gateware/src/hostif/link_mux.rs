//! `LinkMux`: two host links (the UART and the USB FIFO port) in front of
//! one [`CmdEngine`](super::cmd_engine::CmdEngine), with each reply routed
//! back to the link its request came on.

use crate::bundles::ByteIn;
use rust_hdl::prelude::*;

/// Joins two byte links to one command engine, a frame at a time.
///
/// Link A (`a_*`, the UART) has no back-pressure: its receiver hands over a
/// byte and cannot hold it. Link B (`b_*`, the FIFO port) has: a byte moves
/// only in a clock with `b_valid_in` and `b_ready_out`, otherwise it waits
/// in the port's FIFO.
///
/// The engine reports on `idle_in` that it is between frames (hunting with
/// no sync byte seen, no checked frame pending, the executor idle: every
/// reply byte has left). The **owner** (`owner_out`: 0 = A, 1 = B, power-up
/// A) is the link whose bytes go to the engine; it changes only in a clock
/// where the engine is idle, so a request and its reply always belong to one
/// link. In each clock:
///
/// * engine idle: a byte from A goes to the engine and A becomes the owner;
///   otherwise a byte from B does and B becomes the owner (A goes first
///   because it cannot wait; B's byte waits a clock);
/// * engine busy (a frame is arriving, executing or being answered): the
///   owner's byte goes to the engine; a byte from B waits while A owns; a
///   byte from A while B owns is lost (`lost_out`): a host using the UART
///   while another uses the FIFO port sees a dropped request, and retries.
///
/// Reply bytes (`rep`, the engine's output) go to the owner's transmitter
/// (`a_tx_*` or `b_tx_*`) with that transmitter's `ready`; the other
/// transmitter sees no valid byte.
///
/// Latency: 0 clocks (the byte reaches the engine in the clock it is
/// offered, the reply byte the transmitter in the clock the engine offers
/// it). Throughput: one byte per clock into the engine, one out. Reset: none;
/// power-up owner is A.
#[derive(LogicBlock, Default)]
pub struct LinkMux {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Link A (no back-pressure): received byte.
    pub a_data_in: Signal<In, Bits<8>>,
    /// Link A: `a_data_in` holds a byte this clock.
    pub a_valid_in: Signal<In, Bit>,
    /// Link A: reply byte for its transmitter.
    pub a_tx_data_out: Signal<Out, Bits<8>>,
    /// Link A: `a_tx_data_out` holds a reply byte.
    pub a_tx_valid_out: Signal<Out, Bit>,
    /// Link A: its transmitter takes the byte this clock (if valid).
    pub a_tx_ready_in: Signal<In, Bit>,
    /// Link B (with back-pressure): received byte.
    pub b_data_in: Signal<In, Bits<8>>,
    /// Link B: `b_data_in` holds a byte.
    pub b_valid_in: Signal<In, Bit>,
    /// Link B: the byte is taken this clock (if valid).
    pub b_ready_out: Signal<Out, Bit>,
    /// Link B: reply byte for its transmitter.
    pub b_tx_data_out: Signal<Out, Bits<8>>,
    /// Link B: `b_tx_data_out` holds a reply byte.
    pub b_tx_valid_out: Signal<Out, Bit>,
    /// Link B: its transmitter takes the byte this clock (if valid).
    pub b_tx_ready_in: Signal<In, Bit>,
    /// To the engine: request byte.
    pub data_out: Signal<Out, Bits<8>>,
    /// To the engine: `data_out` holds a byte this clock.
    pub valid_out: Signal<Out, Bit>,
    /// From the engine: between frames (see above).
    pub idle_in: Signal<In, Bit>,
    /// The command engine's reply stream (to the owner's link).
    pub rep: ByteIn,
    /// The link that owns the engine (0 = A, 1 = B).
    pub owner_out: Signal<Out, Bit>,
    /// Strobe: a byte from link A was lost (B owned the busy engine).
    pub lost_out: Signal<Out, Bit>,
    owner: DFF<Bit>,
    take_a: Signal<Local, Bit>,
    take_b: Signal<Local, Bit>,
}

#[allow(unused_parens)]
impl Logic for LinkMux {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, owner);
        // Which link's byte goes to the engine this clock.
        self.take_a.next = self.a_valid_in.val() & (self.idle_in.val() | !self.owner.q.val());
        self.take_b.next = self.b_valid_in.val()
            & ((self.idle_in.val() & !self.a_valid_in.val())
                | (!self.idle_in.val() & self.owner.q.val()));
        if self.take_a.val() {
            self.owner.d.next = false;
        }
        if self.take_b.val() {
            self.owner.d.next = true;
        }
        self.data_out.next = self.a_data_in.val();
        if self.take_b.val() {
            self.data_out.next = self.b_data_in.val();
        }
        self.valid_out.next = self.take_a.val() | self.take_b.val();
        self.b_ready_out.next = self.take_b.val();
        self.lost_out.next = self.a_valid_in.val() & !self.take_a.val();
        // Replies go to the owner (it cannot change while a reply is out).
        self.a_tx_data_out.next = self.rep.data.val();
        self.b_tx_data_out.next = self.rep.data.val();
        self.a_tx_valid_out.next = self.rep.valid.val() & !self.owner.q.val();
        self.b_tx_valid_out.next = self.rep.valid.val() & self.owner.q.val();
        self.rep.ready.next = self.a_tx_ready_in.val();
        if self.owner.q.val() {
            self.rep.ready.next = self.b_tx_ready_in.val();
        }
        self.owner_out.next = self.owner.q.val();
    }
}

/// The inputs of [`LinkMux`] in one clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MuxIn {
    /// Link A's byte, if any.
    pub a: Option<u8>,
    /// Link B's byte, if any.
    pub b: Option<u8>,
    /// The engine is idle.
    pub idle: bool,
    /// The engine's reply byte, if any.
    pub rep: Option<u8>,
    /// Link A's transmitter is ready.
    pub a_tx_ready: bool,
    /// Link B's transmitter is ready.
    pub b_tx_ready: bool,
}

/// The outputs of [`LinkMux`] in one clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MuxOut {
    /// The byte to the engine, if any.
    pub to_engine: Option<u8>,
    /// Link B's byte is taken.
    pub b_ready: bool,
    /// The reply byte offered to link A's transmitter.
    pub a_tx: Option<u8>,
    /// The reply byte offered to link B's transmitter.
    pub b_tx: Option<u8>,
    /// The engine's reply byte is taken.
    pub rep_ready: bool,
    /// The owner before this clock's edge (true = B).
    pub owner_b: bool,
    /// A byte from A was lost.
    pub lost: bool,
}

/// Cycle model of [`LinkMux`].
#[derive(Clone, Debug, Default)]
pub struct LinkMuxModel {
    owner_b: bool,
}

impl LinkMuxModel {
    /// The outputs of one clock, and the owner for the next.
    pub fn step(&mut self, i: MuxIn) -> MuxOut {
        let owner_b = self.owner_b;
        let (to_engine, took_b) = match (i.idle, owner_b, i.a, i.b) {
            (true, _, Some(a), _) => (Some(a), false),
            (true, _, None, Some(b)) => (Some(b), true),
            (false, false, Some(a), _) => (Some(a), false),
            (false, true, _, Some(b)) => (Some(b), true),
            _ => (None, false),
        };
        let lost = i.a.is_some() && (took_b || to_engine.is_none());
        if to_engine.is_some() {
            self.owner_b = took_b;
        }
        let tx = |mine: bool| if mine { i.rep } else { None };
        MuxOut {
            to_engine,
            b_ready: took_b,
            a_tx: tx(!owner_b),
            b_tx: tx(owner_b),
            rep_ready: if owner_b { i.b_tx_ready } else { i.a_tx_ready },
            owner_b,
            lost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::Model;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn link_mux_against_model() {
        let mut uut = LinkMux::default();
        uut.connect_all();
        let mut m = Model::of_block(&uut).unwrap();
        let p = |n: &str| m.p(n);
        let clk = p("clock");
        let ins = [
            p("a_data_in"),
            p("a_valid_in"),
            p("b_data_in"),
            p("b_valid_in"),
            p("idle_in"),
            p("rep$data"),
            p("rep$valid"),
            p("a_tx_ready_in"),
            p("b_tx_ready_in"),
        ];
        let outs = [
            p("data_out"),
            p("valid_out"),
            p("b_ready_out"),
            p("a_tx_data_out"),
            p("a_tx_valid_out"),
            p("b_tx_data_out"),
            p("b_tx_valid_out"),
            p("rep$ready"),
            p("owner_out"),
            p("lost_out"),
        ];
        let mut model = LinkMuxModel::default();
        let mut rng = ChaCha8Rng::seed_from_u64(0x114D_0001);
        let (mut a_lost, mut b_taken, mut switches, mut prev_owner) = (0, 0, 0, false);
        for clock in 0..60_000u32 {
            // Phases of mostly-idle and mostly-busy engine, with both links
            // active at varying rates.
            let phase = (clock / 500) % 4;
            let idle = match phase {
                0 => rng.gen_bool(0.9),
                1 => rng.gen_bool(0.1),
                _ => rng.gen_bool(0.5),
            };
            let some = |rng: &mut ChaCha8Rng, p: f64| rng.gen_bool(p).then(|| rng.gen::<u8>());
            let i = MuxIn {
                a: some(&mut rng, if phase == 2 { 0.05 } else { 0.3 }),
                b: some(&mut rng, if phase == 3 { 0.9 } else { 0.4 }),
                idle,
                rep: some(&mut rng, 0.5),
                a_tx_ready: rng.gen_bool(0.7),
                b_tx_ready: rng.gen_bool(0.7),
            };
            let want = model.step(i);
            let vals = [
                i.a.unwrap_or(rng.gen()) as u64,
                i.a.is_some() as u64,
                i.b.unwrap_or(rng.gen()) as u64,
                i.b.is_some() as u64,
                i.idle as u64,
                i.rep.unwrap_or(rng.gen()) as u64,
                i.rep.is_some() as u64,
                i.a_tx_ready as u64,
                i.b_tx_ready as u64,
            ];
            m.set(clk, 0);
            for (&port, &v) in ins.iter().zip(vals.iter()) {
                m.set(port, v);
            }
            m.eval();
            let g: Vec<u64> = outs.iter().map(|&o| m.get(o)).collect();
            let got = MuxOut {
                to_engine: (g[1] != 0).then_some(g[0] as u8),
                b_ready: g[2] != 0,
                a_tx: (g[4] != 0).then_some(g[3] as u8),
                b_tx: (g[6] != 0).then_some(g[5] as u8),
                rep_ready: g[7] != 0,
                owner_b: g[8] != 0,
                lost: g[9] != 0,
            };
            assert_eq!(got, want, "clock {clock}: inputs {i:?}");
            a_lost += want.lost as u32;
            b_taken += want.b_ready as u32;
            switches += (want.owner_b != prev_owner) as u32;
            prev_owner = want.owner_b;
            m.set(clk, 1);
            m.eval();
        }
        println!("LinkMux: {a_lost} A bytes lost, {b_taken} B bytes taken, {switches} switches");
        assert!(a_lost > 100 && b_taken > 1000 && switches > 1000);
    }

    /// The model's rules, stated directly: a request and its reply stay on
    /// one link; bytes from B are never lost; A loses bytes only while B
    /// owns a busy engine.
    #[test]
    fn link_mux_model_rules() {
        let mut mm = LinkMuxModel::default();
        // A idle engine takes B's byte and B owns it.
        let o = mm.step(MuxIn {
            b: Some(1),
            idle: true,
            ..Default::default()
        });
        assert_eq!((o.to_engine, o.b_ready, o.owner_b), (Some(1), true, false));
        // Busy: A's byte is lost, the reply goes to B.
        let o = mm.step(MuxIn {
            a: Some(2),
            rep: Some(9),
            b_tx_ready: true,
            ..Default::default()
        });
        assert_eq!(
            (o.to_engine, o.lost, o.b_tx, o.a_tx, o.rep_ready),
            (None, true, Some(9), None, true)
        );
        // Idle again: A wins over B, B waits.
        let o = mm.step(MuxIn {
            a: Some(3),
            b: Some(4),
            idle: true,
            ..Default::default()
        });
        assert_eq!((o.to_engine, o.b_ready, o.lost), (Some(3), false, false));
        // Busy with A: B waits, A's bytes flow.
        let o = mm.step(MuxIn {
            a: Some(5),
            b: Some(4),
            ..Default::default()
        });
        assert_eq!((o.to_engine, o.b_ready, o.owner_b), (Some(5), false, false));
    }

    #[test]
    fn link_mux_is_synthesizable() {
        let mut uut = LinkMux::default();
        uut.connect_all();
        let rep = fiberloop_harness::synth::synth_block(&uut, "hostif_link_mux").unwrap();
        println!("LinkMux: {} LUTs, {} FFs", rep.luts(), rep.ffs());
        assert!(rep.luts() < 60, "{} LUTs", rep.luts());
    }
}

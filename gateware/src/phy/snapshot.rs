//! `Snapshot`: a multi-bit value carried from one clock domain into
//! another by a request/acknowledge handshake, for counters and status
//! words read from a domain other than the one they count in.
//!
//! The destination toggles `req`; the source, seeing the synchronised
//! toggle (two flip-flops) differ from its `ack`, copies `data_in` into a
//! hold register and toggles `ack` in the same edge; the destination,
//! seeing the synchronised `ack` (two flip-flops) equal to `req`, copies the
//! hold register into `data_out` and toggles `req` again. The hold register
//! changes only in the edge that toggles `ack`, and the destination reads
//! it at least two of its own clocks later, when it has not changed since:
//! every bit of `data_out` comes from the same source clock, whatever the
//! two clocks' frequencies. Only the two toggles cross through
//! synchronisers; the hold register's path into `data_out` is a
//! cross-domain path the tools may treat as false (it is stable for two
//! destination clocks when sampled).
//!
//! Latency: `data_out` holds `data_in` as it was 3 to 4 source clocks plus
//! 3 to 4 destination clocks earlier at most (a refresh takes 3 source and
//! 3 destination clocks: with equal clocks, every 6). Throughput: one
//! value per refresh. Reset: none; every register is zero at power-up, so
//! `data_out` reads 0 until the first refresh.

use rust_hdl::prelude::*;

/// A value carried across a clock-domain crossing. See the module
/// documentation.
#[derive(LogicBlock, Default)]
pub struct Snapshot<D: Synth> {
    /// The source clock (`data_in`'s domain).
    pub src_clock: Signal<In, Clock>,
    /// The value, in the source domain.
    pub data_in: Signal<In, D>,
    /// The destination clock (`data_out`'s domain).
    pub dst_clock: Signal<In, Clock>,
    /// A recent value of `data_in`, in the destination domain.
    pub data_out: Signal<Out, D>,
    // Destination domain.
    req: DFF<Bit>,
    ack_s1: DFF<Bit>,
    ack_s2: DFF<Bit>,
    out_q: DFF<D>,
    // Source domain.
    req_s1: DFF<Bit>,
    req_s2: DFF<Bit>,
    ack: DFF<Bit>,
    hold: DFF<D>,
}

impl<D: Synth> Logic for Snapshot<D> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, dst_clock, req, ack_s1, ack_s2, out_q);
        dff_setup!(self, src_clock, req_s1, req_s2, ack, hold);
        // Source: answer a new request with a fresh copy.
        self.req_s1.d.next = self.req.q.val();
        self.req_s2.d.next = self.req_s1.q.val();
        if self.req_s2.q.val() != self.ack.q.val() {
            self.hold.d.next = self.data_in.val();
            self.ack.d.next = self.req_s2.q.val();
        }
        // Destination: take the answer, ask again.
        self.ack_s1.d.next = self.ack.q.val();
        self.ack_s2.d.next = self.ack_s1.q.val();
        if self.ack_s2.q.val() == self.req.q.val() {
            self.out_q.d.next = self.hold.q.val();
            self.req.d.next = !self.req.q.val();
        }
        self.data_out.next = self.out_q.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::Model;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The model: what `data_out` may hold at any time is a value
    /// `data_in` had within a bounded past, and the values it shows come in
    /// the order they were in.
    #[test]
    fn snapshot_shows_recent_source_values_in_order() {
        let mut uut = Snapshot::<Bits<40>>::default();
        uut.connect_all();
        // Two clocks at a seeded ratio of periods (in ps), the source
        // counting up by random steps (so every value is distinct and
        // ordered); a fresh model (power-up state) per seed.
        for seed in 0..6u64 {
            let mut m = Model::of_block(&uut).unwrap();
            let (sc, din, dc, dout) = (
                m.port("src_clock").unwrap(),
                m.port("data_in").unwrap(),
                m.port("dst_clock").unwrap(),
                m.port("data_out").unwrap(),
            );
            let mut rng = ChaCha8Rng::seed_from_u64(0x5A9 + seed);
            let ps = [
                rng.gen_range(3_000..20_000u64),
                rng.gen_range(3_000..20_000u64),
            ];
            let (mut t_src, mut t_dst) = (ps[0], ps[1]);
            let mut value: u64 = 0;
            // (time, value) of every source edge.
            let mut history: Vec<(u64, u64)> = vec![(0, 0)];
            let mut last_out = 0u64;
            let mut refreshes = 0;
            let mut last_change = 0u64;
            for _ in 0..40_000 {
                let src = t_src <= t_dst;
                let now = if src { t_src } else { t_dst };
                let port = if src { sc } else { dc };
                m.set(port, 0);
                m.eval();
                m.set(port, 1);
                m.eval();
                if src {
                    value += rng.gen_range(1..1000);
                    m.set(din, value);
                    m.eval();
                    history.push((now, value));
                    t_src += ps[0];
                } else {
                    t_dst += ps[1];
                }
                let out = m.get(dout);
                if out != last_out {
                    assert!(out > last_out, "seed {seed}: {out} after {last_out}");
                    let (t_in, _) = *history.iter().find(|(_, v)| *v == out).unwrap_or_else(|| {
                        panic!(
                            "seed {seed}: {out} was never the input (last inputs {:?})",
                            &history[history.len().saturating_sub(4)..]
                        )
                    });
                    // Held from the source edge after which it was the
                    // input: at most 4 periods of each clock.
                    let age = now - t_in;
                    assert!(
                        age <= 4 * ps[0] + 4 * ps[1] + ps[0],
                        "seed {seed}: value {age} ps old (periods {ps:?})"
                    );
                    last_out = out;
                    refreshes += 1;
                    last_change = now;
                }
                assert!(
                    now - last_change <= 4 * (ps[0] + ps[1]) + ps[0] + ps[1],
                    "seed {seed}: no refresh for {} ps",
                    now - last_change
                );
            }
            assert!(refreshes > 1000, "seed {seed}: {refreshes} refreshes");
        }
    }

    #[test]
    fn snapshot_synthesizes() {
        let mut uut = Snapshot::<Bits<32>>::default();
        uut.connect_all();
        let r = fiberloop_harness::synth::synth_block(&uut, "snapshot").unwrap();
        println!("snapshot: {r}");
        // Two 32-bit registers and six handshake flip-flops.
        assert_eq!(r.ffs(), 70, "{r}");
    }
}

//! `FrameTx`: the frame stream onto the line, ahead of the 8b/10b encoder.

use fiberloop_spec::line::{D16_2, K27_7, K28_5};
use rust_hdl::prelude::*;

/// Turns the frame stream into line words for the 8b/10b encoder.
///
/// * A word with `valid_in` and `start_in` (word 0 of a frame) goes out with
///   lane 0 = `K27.7` (start of frame, `k_out[0]` set) and lane 1 = its own
///   lane 1 (codeword byte 0, data). Lane 0 of the incoming word is ignored.
/// * Any other word with `valid_in` goes out unchanged as two data symbols
///   (`k_out = 0`).
/// * Every clock with `valid_in` low sends an idle word: lane 0 = `K28.5`
///   (`k_out[0]` set), lane 1 = `D16.2` (data).
///
/// The block does not count words: frames are framed by `start_in` alone, so
/// a stream that respects the frame convention (128 valid words from a
/// start) is sent as is, and anything else is sent as it comes.
///
/// Latency: 1 clock (outputs registered). Throughput: one word per clock,
/// no stall. Reset: none; the output register powers up at zero (one word
/// `0x0000`, `k = 0`, on the first clock) and holds a line word from the
/// first clock edge on.
#[derive(LogicBlock)]
pub struct FrameTx {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Frame stream in: two bytes, lane 0 (bits 7:0) first.
    pub data_in: Signal<In, Bits<16>>,
    /// The input word belongs to a frame (low: send idle).
    pub valid_in: Signal<In, Bit>,
    /// The input word is word 0 of a frame (only with `valid_in`).
    pub start_in: Signal<In, Bit>,
    /// Line word to the 8b/10b encoder, lane 0 (bits 7:0) sent first.
    pub data_out: Signal<Out, Bits<16>>,
    /// Control-symbol flags of `data_out`, bit 0 for lane 0.
    pub k_out: Signal<Out, Bits<2>>,
    data_q: DFF<Bits<16>>,
    k_q: DFF<Bits<2>>,
    idle_word: Constant<Bits<16>>,
    sof_symbol: Constant<Bits<16>>,
    lane1_mask: Constant<Bits<16>>,
    k_lane0: Constant<Bits<2>>,
    k_none: Constant<Bits<2>>,
}

impl Default for FrameTx {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            data_in: Default::default(),
            valid_in: Default::default(),
            start_in: Default::default(),
            data_out: Default::default(),
            k_out: Default::default(),
            data_q: Default::default(),
            k_q: Default::default(),
            idle_word: Constant::new((u16::from_le_bytes([K28_5, D16_2]) as u64).to_bits()),
            sof_symbol: Constant::new((K27_7 as u64).to_bits()),
            lane1_mask: Constant::new(0xFF00u64.to_bits()),
            k_lane0: Constant::new(1u64.to_bits()),
            k_none: Constant::new(0u64.to_bits()),
        }
    }
}

// The parentheses around mixed expressions are required: rust-hdl 0.46 emits
// Verilog without them, where the precedence differs from Rust's.
#[allow(unused_parens)]
impl Logic for FrameTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, data_q, k_q);
        self.data_q.d.next = self.idle_word.val();
        self.k_q.d.next = self.k_lane0.val();
        if self.valid_in.val() {
            self.data_q.d.next = self.data_in.val();
            self.k_q.d.next = self.k_none.val();
            if self.start_in.val() {
                self.data_q.d.next =
                    ((self.data_in.val() & self.lane1_mask.val()) | self.sof_symbol.val());
                self.k_q.d.next = self.k_lane0.val();
            }
        }
        self.data_out.next = self.data_q.q.val();
        self.k_out.next = self.k_q.q.val();
    }
}

/// One clock's inputs of [`FrameTx`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxIn {
    /// `data_in`.
    pub data: u16,
    /// `valid_in`.
    pub valid: bool,
    /// `start_in`.
    pub start: bool,
}

/// One clock's outputs of [`FrameTx`]: a line word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineWord {
    /// Two symbols' bytes, lane 0 in bits 7:0.
    pub data: u16,
    /// Control flags, bit 0 for lane 0.
    pub k: u8,
}

impl LineWord {
    /// The idle word `K28.5 D16.2`.
    pub const IDLE: LineWord = LineWord {
        data: u16::from_le_bytes([K28_5, D16_2]),
        k: 0b01,
    };
}

/// Cycle-level reference model of [`FrameTx`].
#[derive(Clone, Debug, Default)]
pub struct FrameTxModel {
    out: LineWord,
}

impl FrameTxModel {
    /// A model in the power-up state.
    pub fn new() -> Self {
        Self::default()
    }

    /// The line word for one input word (what the register takes).
    pub fn line_word(i: TxIn) -> LineWord {
        match (i.valid, i.start) {
            (false, _) => LineWord::IDLE,
            (true, true) => LineWord {
                data: u16::from_le_bytes([K27_7, (i.data >> 8) as u8]),
                k: 0b01,
            },
            (true, false) => LineWord { data: i.data, k: 0 },
        }
    }

    /// Outputs of this clock, then the clock edge with inputs `i`.
    pub fn step(&mut self, i: TxIn) -> LineWord {
        std::mem::replace(&mut self.out, Self::line_word(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::testbench::{self, Event};
    use crate::model::code8b10b;
    use fiberloop_harness::verilator::Model;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn frame_tx_matches_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xF7A0_0001);
        let mut events = vec![];
        for _ in 0..300 {
            events.push(Event::Idle(testbench::random_gap(&mut rng)));
            match rng.gen_range(0..20) {
                0 => events.push(Event::Garbage(rng.gen_range(1..30))),
                1 => {
                    let n = rng.gen_range(1..255);
                    events.push(Event::Truncated(
                        testbench::random_codeword(&mut rng, false)[..n].to_vec(),
                    ))
                }
                _ => {}
            }
            events.push(Event::Frame(testbench::random_codeword(&mut rng, true)));
        }
        let stimulus = testbench::frame_stream_with(&events, &mut rng);
        assert!(stimulus.len() > 40_000);

        let mut uut = FrameTx::default();
        uut.connect_all();
        let mut m = Model::of_block(&uut).unwrap();
        let clk = m.p("clock");
        let (di, vi, si, dout, kout) = (
            m.p("data_in"),
            m.p("valid_in"),
            m.p("start_in"),
            m.p("data_out"),
            m.p("k_out"),
        );
        let mut model = FrameTxModel::new();
        let mut line = vec![];
        for (t, &(data, valid, start)) in stimulus.iter().enumerate() {
            let i = TxIn { data, valid, start };
            m.set(clk, 0);
            m.set(di, data as u64);
            m.set(vi, valid as u64);
            m.set(si, start as u64);
            m.eval();
            let hw = LineWord {
                data: m.get(dout) as u16,
                k: m.get(kout) as u8,
            };
            assert_eq!(hw, model.step(i), "clock {t}, input {i:?}");
            m.set(clk, 1);
            m.eval();
            line.push(hw);
        }

        // Independent checks on the line: every word encodes (control symbols
        // are valid K codes), K27.7 appears exactly at each start, one clock
        // later, and each frame's 255 codeword bytes follow it.
        let mut enc = code8b10b::Encoder::default();
        for w in &line[1..] {
            for lane in 0..2 {
                let byte = (w.data >> (8 * lane)) as u8;
                let k = (w.k >> lane) & 1 != 0;
                enc.encode(byte, k).expect("line word not encodable");
            }
        }
        let sof: Vec<usize> = line
            .iter()
            .enumerate()
            .filter(|(_, w)| w.k == 1 && w.data as u8 == K27_7)
            .map(|(t, _)| t)
            .collect();
        let starts: Vec<usize> = stimulus
            .iter()
            .enumerate()
            .filter(|(_, s)| s.1 && s.2)
            .map(|(t, _)| t + 1)
            .collect();
        assert_eq!(sof, starts);
        let idles = line.iter().filter(|w| **w == LineWord::IDLE).count();
        let gaps = stimulus.iter().filter(|s| !s.1).count();
        assert_eq!(idles, gaps);
    }

    #[test]
    fn frame_tx_is_synthesizable() {
        let mut uut = FrameTx::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let report = fiberloop_harness::synth::synth_block(&uut, "frame_tx").unwrap();
        println!("{report:?}");
        println!("FrameTx: {} LUTs, {} FFs", report.luts(), report.ffs());
        assert!(report.ffs() <= 18, "{} FFs", report.ffs());
        assert!(report.luts() < 40);
    }
}

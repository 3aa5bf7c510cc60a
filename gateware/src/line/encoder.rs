//! [`Encoder8b10b`]: two 8b/10b symbols per word clock, from the decoded
//! stream (`data`, `k`) to the 20-bit SERDES TX word.

use super::encode_symbol::{encode_symbol_ref, EncodeSymbol};
use rust_hdl::prelude::*;

/// 8b/10b encoder for the 20-bit SERDES word: two symbols per clock.
///
/// Lane 0 (`data_in` bits 7:0, `k_in` bit 0) is encoded into `code_out`
/// bits 9:0 and is sent first; lane 1 (bits 15:8, `k_in` bit 1) into bits
/// 19:10. In each code-group bit 0 is `a`, the first bit on the line (the
/// numbering of [`crate::model::code8b10b`]). The running disparity (RD)
/// goes through lane 0, then lane 1, and on to the next clock.
///
/// * Latency: 1 clock (the word presented at a rising edge is on `code_out`
///   after it). Throughput: one word (two symbols) every clock.
/// * Reset: `reset` is synchronous. The word presented with `reset` high is
///   encoded starting from negative RD (whatever the stored RD was), and RD
///   carries on from there. At power-up the RD register is zero (negative)
///   and `code_out` is zero until the first clock.
/// * Invalid control requests: a lane with `k_in` set on an octet that is
///   not one of the twelve valid control octets sends `K30.7` (the clause 36
///   error-propagation code) at the current RD, and that lane's bit of
///   `invalid_out` is high together with the word on `code_out`. The line
///   stays a legal 8b/10b stream; the receiver decodes a `K30.7`.
#[derive(LogicBlock, Default)]
pub struct Encoder8b10b {
    /// The word clock.
    pub clock: Signal<In, Clock>,
    /// Two octets; lane 0 = bits 7:0, sent first.
    pub data_in: Signal<In, Bits<16>>,
    /// Per lane (bit 0 = lane 0): the octet is a control symbol.
    pub k_in: Signal<In, Bits<2>>,
    /// Synchronous: encode this word starting from negative running
    /// disparity.
    pub reset: Signal<In, Bit>,
    /// Two code-groups, registered: lane 0 in bits 9:0 (bit 0 sent first),
    /// lane 1 in bits 19:10.
    pub code_out: Signal<Out, Bits<20>>,
    /// Per lane, registered with `code_out`: the control request was
    /// invalid and `K30.7` was sent instead.
    pub invalid_out: Signal<Out, Bits<2>>,
    lane0: EncodeSymbol,
    lane1: EncodeSymbol,
    /// Running disparity after the last word (high = positive).
    rd: DFF<Bit>,
    code: DFF<Bits<20>>,
    invalid: DFF<Bits<2>>,
}

impl Logic for Encoder8b10b {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, rd, code, invalid);
        self.lane0.byte_in.next = self.data_in.val().get_bits::<8>(0);
        self.lane0.k_in.next = self.k_in.val().get_bits::<1>(0);
        self.lane0.rd_in.next = self.rd.q.val() & !self.reset.val();
        self.lane1.byte_in.next = self.data_in.val().get_bits::<8>(8);
        self.lane1.k_in.next = self.k_in.val().get_bits::<1>(1);
        self.lane1.rd_in.next = self.lane0.rd_out.val();
        self.rd.d.next = self.lane1.rd_out.val();
        self.code.d.next = bit_cast::<20, 10>(self.lane0.code_out.val())
            | (bit_cast::<20, 10>(self.lane1.code_out.val()) << 10);
        self.invalid.d.next = bit_cast::<2, 1>(self.lane0.invalid_out.val())
            | (bit_cast::<2, 1>(self.lane1.invalid_out.val()) << 1);
        self.code_out.next = self.code.q.val();
        self.invalid_out.next = self.invalid.q.val();
    }
}

/// Cycle-level reference model of [`Encoder8b10b`], built on
/// [`crate::model::code8b10b`] (through [`encode_symbol_ref`]).
#[derive(Clone, Debug, Default)]
pub struct EncoderRef {
    rd_positive: bool,
    code: u32,
    invalid: u8,
}

/// Registered outputs of [`Encoder8b10b`] in one clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderOut {
    /// `code_out`.
    pub code: u32,
    /// `invalid_out`.
    pub invalid: u8,
}

impl EncoderRef {
    /// A model in the power-up state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Current running disparity (after the last word clocked in).
    pub fn rd_positive(&self) -> bool {
        self.rd_positive
    }

    /// One clock: returns the outputs visible before the edge (the result of
    /// the previous word), then clocks in `data`/`k`/`reset`.
    pub fn step(&mut self, data: u16, k: u8, reset: bool) -> EncoderOut {
        let out = EncoderOut {
            code: self.code,
            invalid: self.invalid,
        };
        let mut rd = self.rd_positive && !reset;
        let mut code = 0u32;
        let mut invalid = 0u8;
        for lane in 0..2 {
            let byte = (data >> (8 * lane)) as u8;
            let control = (k >> lane) & 1 != 0;
            let (c, r, inv) = encode_symbol_ref(byte, control, rd);
            code |= u32::from(c) << (10 * lane);
            invalid |= u8::from(inv) << lane;
            rd = r;
        }
        self.rd_positive = rd;
        self.code = code;
        self.invalid = invalid;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::code8b10b::{self, parse_code, CONTROL_CODES};
    use fiberloop_harness::verilator::Model;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::HashSet;

    struct Harness {
        m: Model,
        clock: fiberloop_harness::verilator::Port,
        data: fiberloop_harness::verilator::Port,
        k: fiberloop_harness::verilator::Port,
        reset: fiberloop_harness::verilator::Port,
        code: fiberloop_harness::verilator::Port,
        invalid: fiberloop_harness::verilator::Port,
        model: EncoderRef,
        clocks: usize,
    }

    impl Harness {
        fn new() -> Self {
            let mut uut = Encoder8b10b::default();
            uut.connect_all();
            let m = Model::of_block(&uut).unwrap();
            Self {
                clock: m.p("clock"),
                data: m.p("data_in"),
                k: m.p("k_in"),
                reset: m.p("reset"),
                code: m.p("code_out"),
                invalid: m.p("invalid_out"),
                m,
                model: EncoderRef::new(),
                clocks: 0,
            }
        }

        /// One clock; compares every output with the model; returns them.
        fn step(&mut self, data: u16, k: u8, reset: bool) -> EncoderOut {
            self.m.set(self.clock, 0);
            self.m.set(self.data, data.into());
            self.m.set(self.k, k.into());
            self.m.set(self.reset, reset.into());
            self.m.eval();
            let got = EncoderOut {
                code: self.m.get(self.code) as u32,
                invalid: self.m.get(self.invalid) as u8,
            };
            let want = self.model.step(data, k, reset);
            assert_eq!(
                got,
                want,
                "clock {}: lane0 {} lane1 {}",
                self.clocks,
                code8b10b::format_code(got.code as u16 & 0x3FF),
                code8b10b::format_code((got.code >> 10) as u16)
            );
            self.m.set(self.clock, 1);
            self.m.eval();
            self.clocks += 1;
            got
        }
    }

    fn all_symbols() -> Vec<(u8, bool)> {
        (0..=255u8)
            .map(|b| (b, false))
            .chain(CONTROL_CODES.iter().map(|&b| (b, true)))
            .collect()
    }

    /// Every ordered pair of the 268 valid symbols as one word (so each
    /// symbol is encoded in each lane at both disparities, checked by a
    /// coverage count), then every invalid control request in each lane.
    #[test]
    fn encoder_matches_model_exhaustively() {
        let mut h = Harness::new();
        let syms = all_symbols();
        let mut covered = HashSet::new();
        h.step(0, 0, true);
        for &(b0, k0) in &syms {
            for &(b1, k1) in &syms {
                let rd0 = h.model.rd_positive();
                let rd1 = code8b10b::encode_symbol(b0, k0, rd0).unwrap().1;
                covered.insert((b0, k0, 0, rd0));
                covered.insert((b1, k1, 1, rd1));
                h.step(
                    u16::from(b0) | u16::from(b1) << 8,
                    u8::from(k0) | u8::from(k1) << 1,
                    false,
                );
            }
        }
        assert_eq!(covered.len(), 268 * 2 * 2, "symbol x lane x RD coverage");
        let mut flagged = 0;
        for byte in 0..=255u8 {
            for lane in 0..2 {
                let out = h.step(u16::from(byte) << (8 * lane), 1 << lane, false);
                flagged += out.invalid.count_ones();
            }
        }
        // The last request's flag comes out one clock later.
        flagged += h.step(0, 0, false).invalid.count_ones();
        assert_eq!(flagged, 2 * 244);
    }

    /// Published code-groups: after reset an idle word (K28.5, D16.2) is
    /// `001111 1010` then D16.2 at RD+ `100100 0101`; then RD is negative
    /// again. K28.5 requested with `k` clear is D28.5, and an invalid control
    /// request gives K30.7 (`011110 1000` at RD-) and the flag.
    #[test]
    fn encoder_published_code_groups() {
        let mut h = Harness::new();
        let idle =
            u16::from(fiberloop_spec::line::K28_5) | u16::from(fiberloop_spec::line::D16_2) << 8;
        h.step(idle, 0b01, true);
        let want =
            u32::from(parse_code("001111 1010")) | u32::from(parse_code("100100 0101")) << 10;
        let out = h.step(idle, 0b01, false);
        assert_eq!(
            out,
            EncoderOut {
                code: want,
                invalid: 0
            }
        );
        let out = h.step(0x0001, 0b01, false); // K1.0: invalid control
        assert_eq!(out.code, want, "RD is negative after an idle word");
        let out = h.step(0x00BC, 0b00, false); // D28.5
        assert_eq!(out.code & 0x3FF, u32::from(parse_code("011110 1000")));
        assert_eq!(out.invalid, 0b01);
        let out = h.step(0, 0, false);
        // D28.5 at RD- (K30.7 is neutral): 001110 1010.
        assert_eq!(out.code & 0x3FF, u32::from(parse_code("001110 1010")));
        assert_eq!(out.invalid, 0);
    }

    /// 200 000 words: random data, 10 % random valid control symbols,
    /// 0.5 % invalid control requests, rare resets; every output compared
    /// on every clock, and the code stream decoded back by the model.
    #[test]
    fn encoder_random_stream_matches_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xE1C0_DE20);
        let mut h = Harness::new();
        let mut dec = code8b10b::Decoder::new();
        let mut sent: Option<(u16, u8, u8)> = None;
        h.step(0, 0, true);
        let mut controls = 0;
        for i in 0..200_000 {
            let mut data = 0u16;
            let mut k = 0u8;
            let mut bad = 0u8;
            for lane in 0..2 {
                let (b, c) = match rng.gen_range(0..1000) {
                    0..=99 => (CONTROL_CODES[rng.gen_range(0..12)], true),
                    100..=104 => (rng.gen(), true),
                    _ => (rng.gen(), false),
                };
                if c && !code8b10b::is_valid_control(b) {
                    bad |= 1 << lane;
                }
                controls += usize::from(c);
                data |= u16::from(b) << (8 * lane);
                k |= u8::from(c) << lane;
            }
            let reset = i > 0 && rng.gen_ratio(1, 5000);
            let out = h.step(data, k, reset);
            if let Some((d, kk, bb)) = sent {
                assert_eq!(out.invalid, bb);
                for lane in 0..2 {
                    let s = dec.decode((out.code >> (10 * lane)) as u16 & 0x3FF);
                    assert!(!s.code_error && !s.disparity_error, "word {i}");
                    if bb >> lane & 1 == 0 {
                        assert_eq!(s.byte, (d >> (8 * lane)) as u8);
                        assert_eq!(s.control, kk >> lane & 1 != 0);
                    } else {
                        assert_eq!((s.byte, s.control), (code8b10b::K30_7, true));
                    }
                }
            }
            // The word clocked in with reset is encoded from negative RD.
            if reset {
                dec = code8b10b::Decoder::new();
            }
            sent = Some((data, k, bad));
        }
        assert!(controls > 40_000);
    }

    /// The block under rust-hdl's own simulator (the Rust side of
    /// `update`, which must agree with the Verilog), against the model on
    /// 3 000 random words.
    #[test]
    fn encoder_rust_hdl_simulation_matches_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xE1C0_0005);
        let mut uut = Encoder8b10b::default();
        uut.connect_all();
        let mut model = EncoderRef::new();
        for i in 0..3000 {
            let data: u16 = rng.gen();
            let k: u8 = if rng.gen_ratio(1, 4) {
                rng.gen_range(0..4)
            } else {
                0
            };
            let data = if k & 1 != 0 && rng.gen() {
                data & 0xFF00 | u16::from(CONTROL_CODES[rng.gen_range(0..12)])
            } else {
                data
            };
            let reset = i == 0 || rng.gen_ratio(1, 500);
            uut.clock.next = Clock { clk: false };
            uut.data_in.next = u64::from(data).into();
            uut.k_in.next = u64::from(k).into();
            uut.reset.next = reset;
            assert!(simulate(&mut uut, 100));
            let got = EncoderOut {
                code: u64::from(uut.code_out.val()) as u32,
                invalid: u64::from(uut.invalid_out.val()) as u8,
            };
            assert_eq!(got, model.step(data, k, reset), "clock {i}");
            uut.clock.next = Clock { clk: true };
            assert!(simulate(&mut uut, 100));
        }
    }

    #[test]
    fn encoder_is_synthesizable() {
        let mut uut = Encoder8b10b::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "line_encoder8b10b").unwrap();
        println!("Encoder8b10b: {report}");
        assert_eq!(report.ffs(), 23);
        assert!(report.luts() < 250, "{report}");
    }
}

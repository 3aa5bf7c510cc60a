//! [`Decoder8b10b`]: two 8b/10b code-groups per word clock, from the aligned
//! 20-bit SERDES RX word to `data`, `k` and per-lane error flags.

use super::decode_symbol::decode_symbol_ref;
use rust_hdl::prelude::*;

/// 8b/10b decoder for the 20-bit SERDES word: two code-groups per clock.
///
/// `code_in` bits 9:0 (lane 0, first on the line, bit 0 = `a`) decode into
/// `data_out` bits 7:0 and bit 0 of each flag; bits 19:10 (lane 1) into
/// `data_out` bits 15:8 and bit 1 of each flag. The running disparity (RD)
/// goes through lane 0, then lane 1, and on to the next clock, exactly as
/// [`crate::model::code8b10b::Decoder`]: after each code-group RD is
/// computed from the received bits by the sub-block rule, valid or not, so
/// after an error the decoder follows the transmitter's disparity again.
///
/// Per lane: `code_err_out` = not a valid code-group at either RD (the
/// octet then reads 0, data); `disp_err_out` = a valid code-group at the
/// wrong RD (the octet and `k` still hold its meaning).
///
/// **Structure** (for timing): each lane looks its code-group up in a
/// 1024-entry table, a [`SyncROM`] (one DP16KD block RAM per lane), whose
/// registered output is the decoder's output register. An entry holds what
/// the code-group means at both disparities: octet, `k`, code error, the
/// disparity error at RD- and at RD+, and RD after it from RD- and from RD+
/// ([`table_entry`], from [`decode_symbol_ref`], the model of the logic
/// decoder [`super::decode_symbol::DecodeSymbol`]). After the RAM, the
/// running disparity picks lane 0's error flag and RD, those pick lane 1's:
/// two LUT levels instead of the ten of a logic decoder behind a register.
///
/// * Latency: 1 clock. Throughput: one word (two code-groups) every clock.
/// * Reset: `reset` is synchronous. The word presented with `reset` high is
///   decoded starting from negative RD, and RD carries on from there. At
///   power-up the RD register is zero (negative) and the outputs are zero
///   until the first clock.
#[derive(LogicBlock)]
pub struct Decoder8b10b {
    /// The word clock.
    pub clock: Signal<In, Clock>,
    /// Two aligned code-groups: lane 0 in bits 9:0 (bit 0 first on the
    /// line), lane 1 in bits 19:10.
    pub code_in: Signal<In, Bits<20>>,
    /// Synchronous: decode this word starting from negative running
    /// disparity.
    pub reset: Signal<In, Bit>,
    /// Two octets, registered; lane 0 = bits 7:0 (first in time).
    pub data_out: Signal<Out, Bits<16>>,
    /// Per lane (bit 0 = lane 0): a control symbol.
    pub k_out: Signal<Out, Bits<2>>,
    /// Per lane: not a valid code-group at either running disparity.
    pub code_err_out: Signal<Out, Bits<2>>,
    /// Per lane: a valid code-group at the wrong running disparity.
    pub disp_err_out: Signal<Out, Bits<2>>,
    lane0: SyncROM<Bits<14>, 10>,
    lane1: SyncROM<Bits<14>, 10>,
    /// Running disparity before the word at the tables' outputs (high =
    /// positive).
    rd: DFF<Bit>,
    /// `reset` of the word at the tables' outputs.
    reset_q: DFF<Bit>,
    /// RD before lane 0 and before lane 1 of that word.
    rd0: Signal<Local, Bit>,
    rd1: Signal<Local, Bit>,
    /// The disparity error of lane 0 and lane 1 at those.
    disp0: Signal<Local, Bits<1>>,
    disp1: Signal<Local, Bits<1>>,
}

/// Table entry bits: octet in 7:0, then these.
const E_K: usize = 8;
const E_CODE_ERR: usize = 9;
const E_DISP_MINUS: usize = 10;
const E_DISP_PLUS: usize = 11;
const E_RD_MINUS: usize = 12;
const E_RD_PLUS: usize = 13;

/// The decoder table's entry for a 10-bit code-group: octet (bits 7:0),
/// `k` (8), code error (9), disparity error at RD- (10) and RD+ (11), RD
/// after the code-group from RD- (12) and from RD+ (13).
pub fn table_entry(code: u16) -> u16 {
    let (m, rd_m) = decode_symbol_ref(code, false);
    let (p, rd_p) = decode_symbol_ref(code, true);
    assert_eq!(
        (m.byte, m.control, m.code_error),
        (p.byte, p.control, p.code_error),
        "code-group {code:#05x}: octet, k and code error do not depend on RD"
    );
    u16::from(m.byte)
        | u16::from(m.control) << E_K
        | u16::from(m.code_error) << E_CODE_ERR
        | u16::from(m.disparity_error) << E_DISP_MINUS
        | u16::from(p.disparity_error) << E_DISP_PLUS
        | u16::from(rd_m) << E_RD_MINUS
        | u16::from(rd_p) << E_RD_PLUS
}

fn table() -> SyncROM<Bits<14>, 10> {
    (0..1024u16)
        .map(|c| (table_entry(c) as u64).to_bits())
        .into()
}

impl Default for Decoder8b10b {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            code_in: Default::default(),
            reset: Default::default(),
            data_out: Default::default(),
            k_out: Default::default(),
            code_err_out: Default::default(),
            disp_err_out: Default::default(),
            lane0: table(),
            lane1: table(),
            rd: Default::default(),
            reset_q: Default::default(),
            rd0: Default::default(),
            rd1: Default::default(),
            disp0: Default::default(),
            disp1: Default::default(),
        }
    }
}

impl Logic for Decoder8b10b {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, rd, reset_q);
        self.lane0.clock.next = self.clock.val();
        self.lane1.clock.next = self.clock.val();
        self.lane0.address.next = self.code_in.val().get_bits::<10>(0);
        self.lane1.address.next = self.code_in.val().get_bits::<10>(10);
        self.reset_q.d.next = self.reset.val();
        self.rd0.next = self.rd.q.val() & !self.reset_q.q.val();
        self.rd1.next = self.lane0.data.val().get_bit(12);
        if self.rd0.val() {
            self.rd1.next = self.lane0.data.val().get_bit(13);
        }
        self.rd.d.next = self.lane1.data.val().get_bit(12);
        if self.rd1.val() {
            self.rd.d.next = self.lane1.data.val().get_bit(13);
        }
        self.data_out.next = bit_cast::<16, 8>(self.lane0.data.val().get_bits::<8>(0))
            | (bit_cast::<16, 8>(self.lane1.data.val().get_bits::<8>(0)) << 8);
        self.k_out.next = bit_cast::<2, 1>(self.lane0.data.val().get_bits::<1>(8))
            | (bit_cast::<2, 1>(self.lane1.data.val().get_bits::<1>(8)) << 1);
        self.code_err_out.next = bit_cast::<2, 1>(self.lane0.data.val().get_bits::<1>(9))
            | (bit_cast::<2, 1>(self.lane1.data.val().get_bits::<1>(9)) << 1);
        self.disp0.next = self.lane0.data.val().get_bits::<1>(10);
        if self.rd0.val() {
            self.disp0.next = self.lane0.data.val().get_bits::<1>(11);
        }
        self.disp1.next = self.lane1.data.val().get_bits::<1>(10);
        if self.rd1.val() {
            self.disp1.next = self.lane1.data.val().get_bits::<1>(11);
        }
        self.disp_err_out.next =
            bit_cast::<2, 1>(self.disp0.val()) | (bit_cast::<2, 1>(self.disp1.val()) << 1);
    }
}

/// Registered outputs of [`Decoder8b10b`] in one clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecoderOut {
    /// `data_out`.
    pub data: u16,
    /// `k_out`.
    pub k: u8,
    /// `code_err_out`.
    pub code_err: u8,
    /// `disp_err_out`.
    pub disp_err: u8,
}

/// Cycle-level reference model of [`Decoder8b10b`], built on
/// [`crate::model::code8b10b::decode_symbol`].
#[derive(Clone, Debug, Default)]
pub struct DecoderRef {
    rd_positive: bool,
    out: DecoderOut,
}

impl DecoderRef {
    /// A model in the power-up state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Current running disparity (after the last word clocked in).
    pub fn rd_positive(&self) -> bool {
        self.rd_positive
    }

    /// One clock: returns the outputs visible before the edge (the result of
    /// the previous word), then clocks in `code`/`reset`.
    pub fn step(&mut self, code: u32, reset: bool) -> DecoderOut {
        let out = self.out;
        let mut rd = self.rd_positive && !reset;
        let mut next = DecoderOut::default();
        for lane in 0..2 {
            let (d, r) = decode_symbol_ref((code >> (10 * lane)) as u16 & 0x3FF, rd);
            next.data |= u16::from(d.byte) << (8 * lane);
            next.k |= u8::from(d.control) << lane;
            next.code_err |= u8::from(d.code_error) << lane;
            next.disp_err |= u8::from(d.disparity_error) << lane;
            rd = r;
        }
        self.rd_positive = rd;
        self.out = next;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::code8b10b::{self, parse_code, CONTROL_CODES};
    use fiberloop_harness::verilator::{Model, Port};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::HashSet;

    struct Harness {
        m: Model,
        clock: Port,
        code: Port,
        reset: Port,
        data: Port,
        k: Port,
        code_err: Port,
        disp_err: Port,
        model: DecoderRef,
        clocks: usize,
    }

    impl Harness {
        fn new() -> Self {
            let mut uut = Decoder8b10b::default();
            uut.connect_all();
            let m = Model::of_block(&uut).unwrap();
            Self {
                clock: m.p("clock"),
                code: m.p("code_in"),
                reset: m.p("reset"),
                data: m.p("data_out"),
                k: m.p("k_out"),
                code_err: m.p("code_err_out"),
                disp_err: m.p("disp_err_out"),
                m,
                model: DecoderRef::new(),
                clocks: 0,
            }
        }

        /// One clock; compares every output with the model; returns them.
        fn step(&mut self, code: u32, reset: bool) -> DecoderOut {
            self.m.set(self.clock, 0);
            self.m.set(self.code, code.into());
            self.m.set(self.reset, reset.into());
            self.m.eval();
            let got = DecoderOut {
                data: self.m.get(self.data) as u16,
                k: self.m.get(self.k) as u8,
                code_err: self.m.get(self.code_err) as u8,
                disp_err: self.m.get(self.disp_err) as u8,
            };
            let want = self.model.step(code, reset);
            assert_eq!(got, want, "clock {}", self.clocks);
            self.m.set(self.clock, 1);
            self.m.eval();
            self.clocks += 1;
            got
        }
    }

    /// Every 10-bit pattern in each lane at both starting disparities
    /// (coverage counted from the model's RD), every output compared on
    /// every clock. The other lane carries a symbol that sets the RD.
    #[test]
    fn decoder_matches_model_exhaustively() {
        let mut h = Harness::new();
        let k28_5 = u32::from(code8b10b::K28_5_RD_MINUS); // RD- -> RD+
        let d21_5 = u32::from(parse_code("101010 1010")); // neutral
        let mut covered = HashSet::new();
        for c in 0..1024u32 {
            for rd_pos in [false, true] {
                // Lane 0 at the wanted RD: reset, or a word that ends RD+.
                if rd_pos {
                    h.step(k28_5 | d21_5 << 10, true);
                    covered.insert((0, c, h.model.rd_positive()));
                    h.step(c | d21_5 << 10, false);
                } else {
                    covered.insert((0, c, false));
                    h.step(c | d21_5 << 10, true);
                }
                // Lane 1 after a neutral or a disparity-flipping lane 0.
                let first = if rd_pos { k28_5 } else { d21_5 };
                covered.insert((1, c, rd_pos));
                h.step(first | c << 10, true);
            }
        }
        h.step(0, false);
        assert_eq!(covered.len(), 1024 * 2 * 2);
        assert_eq!(h.clocks, 1024 * 5 + 1);
    }

    /// Published values: an idle word from RD- (K28.5 `001111 1010`, D16.2
    /// `100100 0101`), then K28.5 sent at the wrong RD (`110000 0101` at
    /// RD-) and a pattern that is no code-group (`111111 0000`).
    #[test]
    fn decoder_published_code_groups() {
        let mut h = Harness::new();
        let idle =
            u32::from(parse_code("001111 1010")) | u32::from(parse_code("100100 0101")) << 10;
        h.step(idle, true);
        let out = h.step(
            u32::from(code8b10b::K28_5_RD_PLUS) | u32::from(parse_code("111111 0000")) << 10,
            false,
        );
        assert_eq!(
            out,
            DecoderOut {
                data: 0x50BC,
                k: 0b01,
                code_err: 0,
                disp_err: 0
            }
        );
        let out = h.step(0, false);
        assert_eq!(
            out,
            DecoderOut {
                data: 0x00BC,
                k: 0b01,
                code_err: 0b10,
                disp_err: 0b01
            }
        );
    }

    /// 200 000 words encoded by the model encoder (random data, 10 %
    /// random control symbols), with random single-bit errors (about one
    /// word in 50) and rare resets; every output compared on every clock, and
    /// words far from any error must decode to what was sent.
    #[test]
    fn decoder_random_stream_with_errors_matches_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xDEC0_DE20);
        let mut h = Harness::new();
        let mut enc = code8b10b::Encoder::new();
        let mut prev: Option<(u16, u8)> = None;
        let mut last_error = 0usize;
        let (mut flagged, mut checked) = (0usize, 0usize);
        h.step(0, true);
        for i in 1..200_000usize {
            let mut code = 0u32;
            let mut data = 0u16;
            let mut k = 0u8;
            for lane in 0..2 {
                let (b, c) = if rng.gen_ratio(1, 10) {
                    (CONTROL_CODES[rng.gen_range(0..12)], true)
                } else {
                    (rng.gen(), false)
                };
                code |= u32::from(enc.encode(b, c).unwrap()) << (10 * lane);
                data |= u16::from(b) << (8 * lane);
                k |= u8::from(c) << lane;
            }
            if rng.gen_ratio(1, 50) {
                code ^= 1 << rng.gen_range(0..20);
                last_error = i;
            }
            let out = h.step(code, false);
            flagged += usize::from(out.code_err != 0 || out.disp_err != 0);
            // An error can show up as a disparity error some words later;
            // far from one the stream must be clean.
            if let Some((d, kk)) = prev {
                if i > last_error + 20 {
                    assert_eq!((out.data, out.k, out.code_err, out.disp_err), (d, kk, 0, 0));
                    checked += 1;
                }
            }
            prev = Some((data, k));
        }
        assert!(flagged > 2000, "flagged {flagged}");
        assert!(checked > 50_000, "checked {checked}");
        // Resets: the word presented with reset is decoded from RD-.
        let mut enc = code8b10b::Encoder::new();
        for i in 0..20_000 {
            let reset = rng.gen_ratio(1, 100);
            if reset {
                enc = code8b10b::Encoder::new();
            }
            let b: [u8; 2] = rng.gen();
            let code = u32::from(enc.encode(b[0], false).unwrap())
                | u32::from(enc.encode(b[1], false).unwrap()) << 10;
            let out = h.step(code, reset);
            if i > 0 {
                assert_eq!(out.code_err | out.disp_err, 0);
            }
        }
    }

    /// The block under rust-hdl's own simulator (the Rust side of
    /// `update`, which must agree with the Verilog), against the model on
    /// 3 000 random 20-bit patterns (valid and invalid code-groups).
    #[test]
    fn decoder_rust_hdl_simulation_matches_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xDEC0_0005);
        let mut uut = Decoder8b10b::default();
        uut.connect_all();
        let mut model = DecoderRef::new();
        let mut enc = code8b10b::Encoder::new();
        for i in 0..3000 {
            let code: u32 = if rng.gen_ratio(1, 4) {
                rng.gen_range(0..1 << 20)
            } else {
                let b: [u8; 2] = rng.gen();
                u32::from(enc.encode(b[0], false).unwrap())
                    | u32::from(enc.encode(b[1], false).unwrap()) << 10
            };
            let reset = i == 0 || rng.gen_ratio(1, 500);
            uut.clock.next = Clock { clk: false };
            uut.code_in.next = u64::from(code).into();
            uut.reset.next = reset;
            assert!(simulate(&mut uut, 100));
            let got = DecoderOut {
                data: u64::from(uut.data_out.val()) as u16,
                k: u64::from(uut.k_out.val()) as u8,
                code_err: u64::from(uut.code_err_out.val()) as u8,
                disp_err: u64::from(uut.disp_err_out.val()) as u8,
            };
            assert_eq!(got, model.step(code, reset), "clock {i}");
            uut.clock.next = Clock { clk: true };
            assert!(simulate(&mut uut, 100));
        }
    }

    #[test]
    fn decoder_synthesizes() {
        let mut uut = Decoder8b10b::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "line_decoder8b10b").unwrap();
        println!("Decoder8b10b: {report}");
        // The tables are the two block RAMs; their output registers are the
        // outputs. Flip-flops: RD and the delayed reset.
        assert_eq!(report.brams(), 2, "{report}");
        assert_eq!(report.ffs(), 2, "{report}");
        assert!(report.luts() < 40, "{report}");
    }
}

//! One 8b/10b symbol, encoded by combinational logic: the 5b/6b and 3b/4b
//! sub-block tables of IEEE 802.3 clause 36 with the alternate `D.x.A7` rule,
//! written as rust-hdl `match` tables and a few gates.
//!
//! [`EncodeSymbol`] is the lane of [`super::encoder::Encoder8b10b`] and the
//! re-encoder that [`super::decode_symbol::DecodeSymbol`] uses to check a
//! received code-group.

use crate::model::code8b10b;
use rust_hdl::prelude::*;

/// The symbol sent in place of a control request that has no code-group:
/// `K30.7`, the clause 36 error-propagation code.
pub const INVALID_CONTROL_REPLACEMENT: u8 = code8b10b::K30_7;

/// Combinational 8b/10b encoder of one symbol.
///
/// Latency: none (combinational). Throughput: one symbol per evaluation.
/// Reset: none, no state: the running disparity comes in on `rd_in` and
/// goes out on `rd_out`.
///
/// A control request (`k_in` high) for an octet that is not one of the twelve
/// valid control octets is sent as `K30.7` (error propagation) at the current
/// running disparity, and `invalid_out` is raised; the code-group and the
/// running disparity stay valid, so the receiver sees a legal `K30.7`.
///
/// Bit order as in [`crate::model::code8b10b`]: `code_out` bit 0 is `a`, the
/// first bit on the line.
#[derive(LogicBlock, Default)]
pub struct EncodeSymbol {
    /// Octet to encode (`HGFEDCBA`, bit 0 = `A`).
    pub byte_in: Signal<In, Bits<8>>,
    /// The octet is a control symbol (`K`).
    pub k_in: Signal<In, Bits<1>>,
    /// Running disparity before this symbol (high = positive).
    pub rd_in: Signal<In, Bit>,
    /// The 10-bit code-group, bit 0 = `a` (sent first).
    pub code_out: Signal<Out, Bits<10>>,
    /// Running disparity after this symbol.
    pub rd_out: Signal<Out, Bit>,
    /// `k_in` asked for an octet that has no control code-group; `K30.7`
    /// was sent instead.
    pub invalid_out: Signal<Out, Bits<1>>,
    /// Low five bits (`EDCBA`) of the octet as given.
    xr: Signal<Local, Bits<5>>,
    /// High three bits (`HGF`) of the octet as given.
    yr: Signal<Local, Bits<3>>,
    /// The request is a valid control octet.
    valid_k: Signal<Local, Bit>,
    /// The control request is invalid.
    bad_k: Signal<Local, Bit>,
    /// `x` of the symbol actually sent.
    x: Signal<Local, Bits<5>>,
    /// `y` of the symbol actually sent.
    y: Signal<Local, Bits<3>>,
    /// The symbol actually sent is a control symbol.
    k: Signal<Local, Bit>,
    /// The symbol is `K28.y`.
    k28: Signal<Local, Bit>,
    /// 5b/6b table entry: bit 6 = unbalanced, bits 5:0 = `abcdei` at RD-.
    six_entry: Signal<Local, Bits<7>>,
    /// `abcdei` at negative RD.
    six_minus: Signal<Local, Bits<6>>,
    /// The 6-bit sub-block has disparity +-2 (it flips the running disparity).
    six_unbal: Signal<Local, Bit>,
    /// The 6-bit sub-block is complemented at positive RD.
    six_comp: Signal<Local, Bit>,
    /// `abcdei` as sent.
    six: Signal<Local, Bits<6>>,
    /// Running disparity after the 6-bit sub-block.
    mid: Signal<Local, Bit>,
    /// Use the alternate 4-bit form `A7` instead of `P7`.
    alt: Signal<Local, Bit>,
    /// 3b/4b table entry: bit 4 = unbalanced, bits 3:0 = `fghj` at RD-.
    four_entry: Signal<Local, Bits<5>>,
    /// `fghj` in its negative-RD form.
    four_minus: Signal<Local, Bits<4>>,
    /// The 4-bit sub-block has disparity +-2.
    four_unbal: Signal<Local, Bit>,
    /// The 4-bit sub-block has a complemented form (unbalanced, or `1100`).
    four_comp: Signal<Local, Bit>,
    /// Send the complement of `four_minus`.
    four_inv: Signal<Local, Bit>,
    /// `fghj` as sent.
    four: Signal<Local, Bits<4>>,
}

impl Logic for EncodeSymbol {
    #[hdl_gen]
    fn update(&mut self) {
        self.xr.next = self.byte_in.val().get_bits::<5>(0);
        self.yr.next = self.byte_in.val().get_bits::<3>(5);
        self.valid_k.next = (self.xr.val() == 28)
            | ((self.yr.val() == 7)
                & ((self.xr.val() == 23)
                    | (self.xr.val() == 27)
                    | (self.xr.val() == 29)
                    | (self.xr.val() == 30)));
        self.bad_k.next = self.k_in.val().any() & !self.valid_k.val();
        self.invalid_out.next = bits::<1>(0);
        self.x.next = self.xr.val();
        self.y.next = self.yr.val();
        if self.bad_k.val() {
            self.invalid_out.next = bits::<1>(1);
            self.x.next = bits::<5>(30);
            self.y.next = bits::<3>(7);
        }
        self.k.next = self.k_in.val().any();
        self.k28.next = self.k_in.val().any() & (self.x.val() == 28);

        // 5b/6b: `abcdei` at negative RD (bit 0 = a), bit 6 = unbalanced.
        match self.x.val().index() {
            0 => self.six_entry.next = bits::<7>(0b1_111001), // 100111
            1 => self.six_entry.next = bits::<7>(0b1_101110), // 011101
            2 => self.six_entry.next = bits::<7>(0b1_101101), // 101101
            3 => self.six_entry.next = bits::<7>(0b0_100011), // 110001
            4 => self.six_entry.next = bits::<7>(0b1_101011), // 110101
            5 => self.six_entry.next = bits::<7>(0b0_100101), // 101001
            6 => self.six_entry.next = bits::<7>(0b0_100110), // 011001
            7 => self.six_entry.next = bits::<7>(0b0_000111), // 111000
            8 => self.six_entry.next = bits::<7>(0b1_100111), // 111001
            9 => self.six_entry.next = bits::<7>(0b0_101001), // 100101
            10 => self.six_entry.next = bits::<7>(0b0_101010), // 010101
            11 => self.six_entry.next = bits::<7>(0b0_001011), // 110100
            12 => self.six_entry.next = bits::<7>(0b0_101100), // 001101
            13 => self.six_entry.next = bits::<7>(0b0_001101), // 101100
            14 => self.six_entry.next = bits::<7>(0b0_001110), // 011100
            15 => self.six_entry.next = bits::<7>(0b1_111010), // 010111
            16 => self.six_entry.next = bits::<7>(0b1_110110), // 011011
            17 => self.six_entry.next = bits::<7>(0b0_110001), // 100011
            18 => self.six_entry.next = bits::<7>(0b0_110010), // 010011
            19 => self.six_entry.next = bits::<7>(0b0_010011), // 110010
            20 => self.six_entry.next = bits::<7>(0b0_110100), // 001011
            21 => self.six_entry.next = bits::<7>(0b0_010101), // 101010
            22 => self.six_entry.next = bits::<7>(0b0_010110), // 011010
            23 => self.six_entry.next = bits::<7>(0b1_010111), // 111010
            24 => self.six_entry.next = bits::<7>(0b1_110011), // 110011
            25 => self.six_entry.next = bits::<7>(0b0_011001), // 100110
            26 => self.six_entry.next = bits::<7>(0b0_011010), // 010110
            27 => self.six_entry.next = bits::<7>(0b1_011011), // 110110
            28 => self.six_entry.next = bits::<7>(0b0_011100), // 001110
            29 => self.six_entry.next = bits::<7>(0b1_011101), // 101110
            30 => self.six_entry.next = bits::<7>(0b1_011110), // 011110
            _ => self.six_entry.next = bits::<7>(0b1_110101), // x = 31: 101011
        }
        // K28: `001111` (unbalanced).
        if self.k28.val() {
            self.six_entry.next = bits::<7>(0b1_111100);
        }
        self.six_minus.next = self.six_entry.val().get_bits::<6>(0);
        self.six_unbal.next = self.six_entry.val().get_bit(6);
        // `111000` (D7) is balanced but still has a positive-RD form `000111`.
        self.six_comp.next = self.six_unbal.val() | (self.x.val() == 7);
        self.six.next = self.six_minus.val();
        if self.rd_in.val() & self.six_comp.val() {
            self.six.next = !self.six_minus.val();
        }
        // An unbalanced sub-block always drives RD to the other sign.
        self.mid.next = self.rd_in.val() ^ self.six_unbal.val();

        // A7 for every K.x.7, and for D.x.7 where P7 would continue a run of
        // five equal bits from the 6-bit sub-block.
        self.alt.next = (self.y.val() == 7)
            & (self.k.val()
                | (!self.mid.val()
                    & ((self.x.val() == 17) | (self.x.val() == 18) | (self.x.val() == 20)))
                | (self.mid.val()
                    & ((self.x.val() == 11) | (self.x.val() == 13) | (self.x.val() == 14))));

        // 3b/4b: `fghj` at negative RD (bit 0 = f), bit 4 = unbalanced.
        match self.y.val().index() {
            0 => self.four_entry.next = bits::<5>(0b1_1101), // 1011
            1 => self.four_entry.next = bits::<5>(0b0_1001), // 1001
            2 => self.four_entry.next = bits::<5>(0b0_1010), // 0101
            3 => self.four_entry.next = bits::<5>(0b0_0011), // 1100
            4 => self.four_entry.next = bits::<5>(0b1_1011), // 1101
            5 => self.four_entry.next = bits::<5>(0b0_0101), // 1010
            6 => self.four_entry.next = bits::<5>(0b0_0110), // 0110
            _ => self.four_entry.next = bits::<5>(0b1_0111), // y = 7, P7: 1110
        }
        if self.alt.val() {
            self.four_entry.next = bits::<5>(0b1_1110); // A7: 0111
        }
        self.four_minus.next = self.four_entry.val().get_bits::<4>(0);
        self.four_unbal.next = self.four_entry.val().get_bit(4);
        // `1100` (y = 3) is balanced but has the positive-RD form `0011`.
        self.four_comp.next = self.four_unbal.val() | (self.four_minus.val() == 3);
        self.four_inv.next = self.mid.val() & self.four_comp.val();
        // K28.y is `001111` + the positive-RD form of y at RD-, and the
        // complement of that whole code-group at RD+ (so a balanced y is
        // inverted there too).
        if self.k28.val() {
            self.four_inv.next = !(self.mid.val() ^ self.four_comp.val());
        }
        self.four.next = self.four_minus.val();
        if self.four_inv.val() {
            self.four.next = !self.four_minus.val();
        }

        self.code_out.next =
            bit_cast::<10, 6>(self.six.val()) | (bit_cast::<10, 4>(self.four.val()) << 6);
        self.rd_out.next = self.mid.val() ^ self.four_unbal.val();
    }
}

/// Reference model of [`EncodeSymbol`]: [`code8b10b::encode_symbol`], with an
/// invalid control request replaced by [`INVALID_CONTROL_REPLACEMENT`].
/// Returns `(code, rd_after, invalid)`.
pub fn encode_symbol_ref(byte: u8, k: bool, rd_positive: bool) -> (u16, bool, bool) {
    match code8b10b::encode_symbol(byte, k, rd_positive) {
        Some((code, rd)) => (code, rd, false),
        None => {
            let (code, rd) =
                code8b10b::encode_symbol(INVALID_CONTROL_REPLACEMENT, true, rd_positive)
                    .expect("K30.7 is a valid control code");
            (code, rd, true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::Model;

    /// Every octet, as data and as a control request, at both disparities:
    /// the 256 data and 12 control code-groups exhaustively, and the 244
    /// invalid control requests (which must come out as K30.7 + flag).
    #[test]
    fn encode_symbol_matches_model_exhaustively() {
        let mut uut = EncodeSymbol::default();
        uut.connect_all();
        let mut m = Model::of_block(&uut).unwrap();
        let (b, k, rd) = (m.p("byte_in"), m.p("k_in"), m.p("rd_in"));
        let (code, rd_out, inv) = (m.p("code_out"), m.p("rd_out"), m.p("invalid_out"));
        let mut invalid = 0;
        let mut controls = 0;
        for byte in 0..=255u8 {
            for control in [false, true] {
                for rd_pos in [false, true] {
                    m.set(b, byte.into());
                    m.set(k, control.into());
                    m.set(rd, rd_pos.into());
                    m.eval();
                    let (want_code, want_rd, want_inv) = encode_symbol_ref(byte, control, rd_pos);
                    assert_eq!(
                        (m.get(code) as u16, m.get(rd_out) != 0, m.get(inv) != 0),
                        (want_code, want_rd, want_inv),
                        "byte {byte:#04x} k={control} rd+={rd_pos}: got {} want {}",
                        code8b10b::format_code(m.get(code) as u16),
                        code8b10b::format_code(want_code)
                    );
                    invalid += usize::from(want_inv);
                    controls += usize::from(control && !want_inv);
                }
            }
        }
        assert_eq!(invalid, 2 * 244);
        assert_eq!(controls, 2 * 12);
    }

    #[test]
    fn encode_symbol_is_synthesizable() {
        let mut uut = EncodeSymbol::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "line_encode_symbol").unwrap();
        println!("EncodeSymbol: {report}");
        assert_eq!(report.ffs(), 0);
        assert!(report.luts() < 120, "{report}");
    }
}

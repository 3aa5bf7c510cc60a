//! One 8b/10b code-group, decoded by combinational logic.
//!
//! The 6-bit and 4-bit sub-blocks are looked up separately (`match` tables
//! written in rust-hdl) into a candidate symbol; the candidate is then
//! re-encoded at both running disparities by two [`EncodeSymbol`]s and
//! compared with the received code-group. The code-group is valid at a
//! disparity exactly when the re-encoding there gives it back, which is the
//! definition [`crate::model::code8b10b`] uses (its decode table is the
//! inverse of its encoder).

use super::encode_symbol::EncodeSymbol;
use crate::model::code8b10b;
use rust_hdl::prelude::*;

/// Combinational 8b/10b decoder of one code-group.
///
/// Latency: none (combinational). Throughput: one code-group per evaluation.
/// Reset: none, no state: the running disparity comes in on `rd_in` and
/// goes out on `rd_out`.
///
/// Outputs as [`code8b10b::decode_symbol`]: a pattern that is no valid
/// code-group at either disparity raises `code_err_out` and decodes as
/// octet 0, data; a code-group that is valid only at the other disparity
/// raises `disp_err_out` and still decodes to its symbol. `rd_out` is
/// computed from the received bits by the clause 36 sub-block rule whether
/// or not they were valid, so the receiver follows the transmitter again
/// after an error.
#[derive(LogicBlock, Default)]
pub struct DecodeSymbol {
    /// The received code-group, bit 0 = `a` (first on the line).
    pub code_in: Signal<In, Bits<10>>,
    /// Running disparity before this code-group (high = positive).
    pub rd_in: Signal<In, Bit>,
    /// Decoded octet (0 on a code error).
    pub byte_out: Signal<Out, Bits<8>>,
    /// The code-group is a control symbol (`K`).
    pub k_out: Signal<Out, Bits<1>>,
    /// Not a valid code-group at either running disparity.
    pub code_err_out: Signal<Out, Bits<1>>,
    /// A valid code-group, but not at the running disparity `rd_in`.
    pub disp_err_out: Signal<Out, Bits<1>>,
    /// Running disparity after this code-group.
    pub rd_out: Signal<Out, Bit>,
    /// `abcdei`.
    six: Signal<Local, Bits<6>>,
    /// `fghj`.
    four: Signal<Local, Bits<4>>,
    /// `x` of the candidate symbol (from the 6-bit sub-block).
    x: Signal<Local, Bits<5>>,
    /// The 6-bit sub-block is the K28 form `001111` or `110000`.
    k28six: Signal<Local, Bit>,
    /// The 4-bit sub-block as looked up (`fghj`, complemented after K28's
    /// `110000`, since K28.y at RD+ is the complement of K28.y at RD-).
    four_y: Signal<Local, Bits<4>>,
    /// `y` of the candidate symbol.
    y: Signal<Local, Bits<3>>,
    /// The 4-bit sub-block is an A7 form (`0111` / `1000`).
    a7: Signal<Local, Bit>,
    /// The candidate is a control symbol.
    k: Signal<Local, Bit>,
    /// The candidate octet.
    cand: Signal<Local, Bits<8>>,
    /// The candidate re-encoded at negative RD gives the code-group back.
    valid_minus: Signal<Local, Bit>,
    /// The candidate re-encoded at positive RD gives the code-group back.
    valid_plus: Signal<Local, Bit>,
    /// Neither.
    bad: Signal<Local, Bit>,
    /// Ones in `abcdei`.
    ones6: Signal<Local, Bits<3>>,
    /// Ones in `fghj`.
    ones4: Signal<Local, Bits<3>>,
    /// Running disparity after `abcdei`.
    mid: Signal<Local, Bit>,
    enc_minus: EncodeSymbol,
    enc_plus: EncodeSymbol,
}

impl Logic for DecodeSymbol {
    #[hdl_gen]
    fn update(&mut self) {
        self.six.next = self.code_in.val().get_bits::<6>(0);
        self.four.next = self.code_in.val().get_bits::<4>(6);

        // 6b/5b: every 6-bit form of every x (bit 0 = a); others -> 0 (the
        // re-encoding check then rejects them).
        match self.six.val().index() {
            3 => self.x.next = bits::<5>(28),  // 110000, K28
            5 => self.x.next = bits::<5>(15),  // 101000
            6 => self.x.next = bits::<5>(0),   // 011000
            7 => self.x.next = bits::<5>(7),   // 111000
            9 => self.x.next = bits::<5>(16),  // 100100
            10 => self.x.next = bits::<5>(31), // 010100
            11 => self.x.next = bits::<5>(11), // 110100
            12 => self.x.next = bits::<5>(24), // 001100
            13 => self.x.next = bits::<5>(13), // 101100
            14 => self.x.next = bits::<5>(14), // 011100
            17 => self.x.next = bits::<5>(1),  // 100010
            18 => self.x.next = bits::<5>(2),  // 010010
            19 => self.x.next = bits::<5>(19), // 110010
            20 => self.x.next = bits::<5>(4),  // 001010
            21 => self.x.next = bits::<5>(21), // 101010
            22 => self.x.next = bits::<5>(22), // 011010
            23 => self.x.next = bits::<5>(23), // 111010
            24 => self.x.next = bits::<5>(8),  // 000110
            25 => self.x.next = bits::<5>(25), // 100110
            26 => self.x.next = bits::<5>(26), // 010110
            27 => self.x.next = bits::<5>(27), // 110110
            28 => self.x.next = bits::<5>(28), // 001110
            29 => self.x.next = bits::<5>(29), // 101110
            30 => self.x.next = bits::<5>(30), // 011110
            33 => self.x.next = bits::<5>(30), // 100001
            34 => self.x.next = bits::<5>(29), // 010001
            35 => self.x.next = bits::<5>(3),  // 110001
            36 => self.x.next = bits::<5>(27), // 001001
            37 => self.x.next = bits::<5>(5),  // 101001
            38 => self.x.next = bits::<5>(6),  // 011001
            39 => self.x.next = bits::<5>(8),  // 111001
            40 => self.x.next = bits::<5>(23), // 000101
            41 => self.x.next = bits::<5>(9),  // 100101
            42 => self.x.next = bits::<5>(10), // 010101
            43 => self.x.next = bits::<5>(4),  // 110101
            44 => self.x.next = bits::<5>(12), // 001101
            45 => self.x.next = bits::<5>(2),  // 101101
            46 => self.x.next = bits::<5>(1),  // 011101
            49 => self.x.next = bits::<5>(17), // 100011
            50 => self.x.next = bits::<5>(18), // 010011
            51 => self.x.next = bits::<5>(24), // 110011
            52 => self.x.next = bits::<5>(20), // 001011
            53 => self.x.next = bits::<5>(31), // 101011
            54 => self.x.next = bits::<5>(16), // 011011
            56 => self.x.next = bits::<5>(7),  // 000111
            57 => self.x.next = bits::<5>(0),  // 100111
            58 => self.x.next = bits::<5>(15), // 010111
            60 => self.x.next = bits::<5>(28), // 001111, K28
            _ => self.x.next = bits::<5>(0),
        }
        self.k28six.next = (self.six.val() == 0b111100) | (self.six.val() == 0b000011);
        self.four_y.next = self.four.val();
        if self.six.val() == 0b000011 {
            self.four_y.next = !self.four.val();
        }
        // 4b/3b: every 4-bit form of every y (bit 0 = f).
        match self.four_y.val().index() {
            13 => self.y.next = bits::<3>(0), // 1011
            2 => self.y.next = bits::<3>(0),  // 0100
            9 => self.y.next = bits::<3>(1),  // 1001
            10 => self.y.next = bits::<3>(2), // 0101
            3 => self.y.next = bits::<3>(3),  // 1100
            12 => self.y.next = bits::<3>(3), // 0011
            11 => self.y.next = bits::<3>(4), // 1101
            4 => self.y.next = bits::<3>(4),  // 0010
            5 => self.y.next = bits::<3>(5),  // 1010
            6 => self.y.next = bits::<3>(6),  // 0110
            7 => self.y.next = bits::<3>(7),  // 1110, P7
            8 => self.y.next = bits::<3>(7),  // 0001, P7
            14 => self.y.next = bits::<3>(7), // 0111, A7
            1 => self.y.next = bits::<3>(7),  // 1000, A7
            _ => self.y.next = bits::<3>(0),
        }
        self.a7.next = (self.four.val() == 14) | (self.four.val() == 1);
        // Control: K28.y, or A7 after the 6-bit form of 23, 27, 29, 30 (their
        // data .7 uses P7).
        self.k.next = self.k28six.val()
            | (self.a7.val()
                & ((self.x.val() == 23)
                    | (self.x.val() == 27)
                    | (self.x.val() == 29)
                    | (self.x.val() == 30)));
        self.cand.next = bit_cast::<8, 5>(self.x.val()) | (bit_cast::<8, 3>(self.y.val()) << 5);

        self.enc_minus.byte_in.next = self.cand.val();
        self.enc_minus.k_in.next = bits::<1>(0);
        if self.k.val() {
            self.enc_minus.k_in.next = bits::<1>(1);
        }
        self.enc_minus.rd_in.next = false;
        self.enc_plus.byte_in.next = self.cand.val();
        self.enc_plus.k_in.next = self.enc_minus.k_in.val();
        self.enc_plus.rd_in.next = true;
        self.valid_minus.next = self.enc_minus.code_out.val() == self.code_in.val();
        self.valid_plus.next = self.enc_plus.code_out.val() == self.code_in.val();
        self.bad.next = !(self.valid_minus.val() | self.valid_plus.val());

        self.byte_out.next = self.cand.val();
        self.k_out.next = self.enc_minus.k_in.val();
        self.code_err_out.next = bits::<1>(0);
        self.disp_err_out.next = bits::<1>(0);
        if self.bad.val() {
            self.byte_out.next = bits::<8>(0);
            self.k_out.next = bits::<1>(0);
            self.code_err_out.next = bits::<1>(1);
        } else if self.rd_in.val() {
            if !self.valid_plus.val() {
                self.disp_err_out.next = bits::<1>(1);
            }
        } else if !self.valid_minus.val() {
            self.disp_err_out.next = bits::<1>(1);
        }

        // Running disparity from the received bits: a sub-block with more
        // ones ends positive, fewer ends negative; balanced `000111`/`0011`
        // end positive, `111000`/`1100` negative, others keep it.
        self.ones6.next = bit_cast::<3, 1>(self.six.val().get_bits::<1>(0))
            + bit_cast::<3, 1>(self.six.val().get_bits::<1>(1))
            + bit_cast::<3, 1>(self.six.val().get_bits::<1>(2))
            + bit_cast::<3, 1>(self.six.val().get_bits::<1>(3))
            + bit_cast::<3, 1>(self.six.val().get_bits::<1>(4))
            + bit_cast::<3, 1>(self.six.val().get_bits::<1>(5));
        self.ones4.next = bit_cast::<3, 1>(self.four.val().get_bits::<1>(0))
            + bit_cast::<3, 1>(self.four.val().get_bits::<1>(1))
            + bit_cast::<3, 1>(self.four.val().get_bits::<1>(2))
            + bit_cast::<3, 1>(self.four.val().get_bits::<1>(3));
        self.mid.next = (self.ones6.val() > 3)
            | ((self.ones6.val() == 3)
                & ((self.six.val() == 0b111000)
                    | (self.rd_in.val() & (self.six.val() != 0b000111))));
        self.rd_out.next = (self.ones4.val() > 2)
            | ((self.ones4.val() == 2)
                & ((self.four.val() == 0b1100) | (self.mid.val() & (self.four.val() != 0b0011))));
    }
}

/// Reference model of [`DecodeSymbol`]: [`code8b10b::decode_symbol`].
/// Returns the decoded symbol and the running disparity after it.
pub fn decode_symbol_ref(code: u16, rd_positive: bool) -> (code8b10b::Decoded, bool) {
    code8b10b::decode_symbol(code, rd_positive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::Model;

    /// All 1024 patterns at both disparities against the model: octet,
    /// control flag, both error flags and the running disparity after.
    #[test]
    fn decode_symbol_matches_model_exhaustively() {
        let mut uut = DecodeSymbol::default();
        uut.connect_all();
        let mut m = Model::of_block(&uut).unwrap();
        let (code, rd) = (m.p("code_in"), m.p("rd_in"));
        let (byte, k, cerr, derr, rd_out) = (
            m.p("byte_out"),
            m.p("k_out"),
            m.p("code_err_out"),
            m.p("disp_err_out"),
            m.p("rd_out"),
        );
        let (mut code_errors, mut disp_errors) = (0, 0);
        for c in 0..1024u16 {
            for rd_pos in [false, true] {
                m.set(code, c.into());
                m.set(rd, rd_pos.into());
                m.eval();
                let got = (
                    code8b10b::Decoded {
                        byte: m.get(byte) as u8,
                        control: m.get(k) != 0,
                        code_error: m.get(cerr) != 0,
                        disparity_error: m.get(derr) != 0,
                    },
                    m.get(rd_out) != 0,
                );
                let want = decode_symbol_ref(c, rd_pos);
                assert_eq!(got, want, "{} rd+={rd_pos}", code8b10b::format_code(c));
                code_errors += usize::from(want.0.code_error);
                disp_errors += usize::from(want.0.disparity_error);
            }
        }
        // 464 valid code-groups (72 data with one form, 184 data and 12
        // control with two forms each): the other 560 are code errors at
        // both RDs;
        // each two-form code-group is a disparity error at one RD.
        assert_eq!(code_errors, 2 * (1024 - 464));
        assert_eq!(disp_errors, 184 * 2 + 12 * 2);
    }

    #[test]
    fn decode_symbol_is_synthesizable() {
        let mut uut = DecodeSymbol::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "line_decode_symbol").unwrap();
        println!("DecodeSymbol: {report}");
        assert_eq!(report.ffs(), 0);
        assert!(report.luts() < 300, "{report}");
    }
}

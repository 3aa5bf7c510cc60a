//! `Crc32Byte`: one byte of CRC-32/ISO-HDLC (the zlib CRC of
//! `fiberloop_spec::proto`) as a combinational XOR network.

use crate::model::crc32;
use rust_hdl::prelude::*;

/// XOR masks of the one-byte step: output bit `k` is the parity of
/// `state & STATE[k]` xor the parity of `data & DATA[k]`. The raw-register
/// step of [`crc32::update`] is linear over GF(2), so the masks are the
/// images of the unit vectors.
pub fn masks() -> ([u32; 32], [u8; 32]) {
    let mut s = [0u32; 32];
    let mut d = [0u8; 32];
    for j in 0..32 {
        let out = crc32::update(1 << j, 0);
        for (k, m) in s.iter_mut().enumerate() {
            *m |= ((out >> k) & 1) << j;
        }
    }
    for j in 0..8 {
        let out = crc32::update(0, 1 << j);
        for (k, m) in d.iter_mut().enumerate() {
            *m |= (((out >> k) & 1) as u8) << j;
        }
    }
    (s, d)
}

/// One byte of the CRC-32 register update (reflected polynomial
/// `0xEDB88320`, raw register: no initial value or final XOR applied here),
/// `state_out = crc32::update(state_in, data_in)`.
///
/// Purely combinational: latency 0, one byte per evaluation; no state, no
/// reset. The Verilog is written out from [`masks`]; the Rust simulation
/// calls [`crc32::update`].
#[derive(LogicBlock, Default)]
pub struct Crc32Byte {
    /// Raw CRC register before the byte.
    pub state_in: Signal<In, Bits<32>>,
    /// The byte.
    pub data_in: Signal<In, Bits<8>>,
    /// Raw CRC register after the byte.
    pub state_out: Signal<Out, Bits<32>>,
}

impl Logic for Crc32Byte {
    fn update(&mut self) {
        let s = self.state_in.val().to_u32();
        let d = self.data_in.val().to_u32() as u8;
        self.state_out.next = (crc32::update(s, d) as u64).to_bits();
    }
    fn connect(&mut self) {
        self.state_out.connect();
    }
    fn hdl(&self) -> Verilog {
        let (s, d) = masks();
        let mut code = String::from("always @(*) begin\n");
        for k in 0..32 {
            code += &format!(
                "   state_out[{k}] = (^(state_in & 32'h{:08x})) ^ (^(data_in & 8'h{:02x}));\n",
                s[k], d[k]
            );
        }
        code += "end\n";
        Verilog::Custom(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::Model;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn crc32_byte_network_against_model() {
        let mut uut = Crc32Byte::default();
        uut.connect_all();
        let mut m = Model::of_block(&uut).unwrap();
        let (s, d, o) = (m.p("state_in"), m.p("data_in"), m.p("state_out"));
        let step = |m: &mut Model, st: u32, b: u8| {
            m.set(s, st as u64);
            m.set(d, b as u64);
            m.eval();
            m.get(o) as u32
        };
        // The catalogue check value through the Verilog.
        let mut st = crc32::INIT;
        for &b in b"123456789" {
            st = step(&mut m, st, b);
        }
        assert_eq!(!st, 0xCBF4_3926);
        assert_eq!(!st, fiberloop_spec::proto::crc32(b"123456789"));
        let mut rng = ChaCha8Rng::seed_from_u64(0x0C3C_0001);
        for _ in 0..50_000 {
            let (st, b): (u32, u8) = (rng.gen(), rng.gen());
            assert_eq!(step(&mut m, st, b), crc32::update(st, b));
        }
    }

    #[test]
    fn crc32_byte_is_synthesizable() {
        let mut uut = Crc32Byte::default();
        uut.connect_all();
        let rep = fiberloop_harness::synth::synth_block(&uut, "hostif_crc32_byte").unwrap();
        println!("Crc32Byte: {} LUTs", rep.luts());
        assert!(rep.luts() < 200, "{} LUTs", rep.luts());
    }
}

//! GF(2^8) arithmetic as gateware: the combinational leaf blocks every FEC
//! block is built from.
//!
//! * [`XorNetwork`]: any GF(2)-linear map from two input vectors to one
//!   output vector, as a network of XOR gates. Multiplication by a constant
//!   field element is linear over GF(2), so every constant multiplier, the
//!   two-bytes-per-clock encoder LFSR update, the syndrome update and the
//!   Chien step are `XorNetwork`s. Its taps are computed in Rust from a
//!   function on byte vectors ([`linear_taps`]), so the hardware is derived
//!   from the same arithmetic as the models.
//! * [`GfScale`]: a scalar times a vector of field elements (variable x
//!   variable multipliers, one per element).
//! * [`GfDot`]: the inner product of two vectors of field elements.
//! * [`GfInverse`]: the multiplicative inverse as a 256-entry lookup table
//!   (`inverse(0) = 0`).
//!
//! All are combinational (latency 0, one result per evaluation, no state, no
//! reset). Each emits its own Verilog (a Verilog `function` or a list of XOR
//! equations) and simulates itself in Rust with [`crate::model::gf256`].
//! The field is that of [`crate::model::gf256`]: polynomial `0x11D`,
//! `a = 0x02`; a byte vector is packed with element `i` in bits
//! `8i+7..8i`.

use crate::model::gf256;
use rust_hdl::prelude::*;
use std::fmt::Write as _;

/// Taps of a GF(2)-linear map from `in_bytes` bytes to `out_bytes` bytes.
///
/// `f` must be linear over GF(2) (XOR-additive, `f(0) = 0`); this is checked
/// on the unit vectors and on a few sums. The result lists, for every output
/// bit (byte `b`, bit `k` is output bit `8b + k`), the input bits whose XOR
/// it is.
///
/// # Panics
///
/// If `f` returns a vector of the wrong length or is visibly not linear.
pub fn linear_taps(
    in_bytes: usize,
    out_bytes: usize,
    f: impl Fn(&[u8]) -> Vec<u8>,
) -> Vec<Vec<usize>> {
    let zero = vec![0u8; in_bytes];
    let f0 = f(&zero);
    assert_eq!(f0.len(), out_bytes, "linear map output length");
    assert!(f0.iter().all(|&b| b == 0), "linear map: f(0) != 0");
    let mut columns = Vec::with_capacity(in_bytes * 8);
    for bit in 0..in_bytes * 8 {
        let mut v = zero.clone();
        v[bit / 8] = 1 << (bit % 8);
        columns.push(f(&v));
    }
    // Linearity spot check on a deterministic set of sums of unit vectors.
    let mut v = zero.clone();
    let mut expect = vec![0u8; out_bytes];
    for bit in (0..in_bytes * 8).step_by(3) {
        v[bit / 8] ^= 1 << (bit % 8);
        for (e, c) in expect.iter_mut().zip(&columns[bit]) {
            *e ^= c;
        }
    }
    assert_eq!(f(&v), expect, "linear map is not linear");
    (0..out_bytes * 8)
        .map(|o| {
            (0..in_bytes * 8)
                .filter(|&i| columns[i][o / 8] >> (o % 8) & 1 == 1)
                .collect()
        })
        .collect()
}

/// Packs bytes into a `Bits<N>`, byte `i` in bits `8i+7..8i`.
pub fn pack<const N: usize>(bytes: &[u8]) -> Bits<N> {
    let mut out = Bits::<N>::default();
    for (i, &b) in bytes.iter().enumerate() {
        for k in 0..8 {
            if 8 * i + k < N {
                out = out.replace_bit(8 * i + k, b >> k & 1 == 1);
            }
        }
    }
    out
}

/// Unpacks a `Bits<N>` into `N / 8` bytes (inverse of [`pack`]).
pub fn unpack<const N: usize>(bits: Bits<N>) -> Vec<u8> {
    (0..N / 8)
        .map(|i| (0..8).fold(0u8, |acc, k| acc | (u8::from(bits.get_bit(8 * i + k)) << k)))
        .collect()
}

/// A GF(2)-linear map `data_out = M·(a_in, b_in)` as an XOR network.
///
/// Input bit `i < A` is `a_in[i]`, input bit `A + j` is `b_in[j]`. The taps
/// come from [`linear_taps`]. Combinational: latency 0, no reset.
#[derive(LogicBlock)]
pub struct XorNetwork<const A: usize, const B: usize, const OUT: usize> {
    /// First input vector.
    pub a_in: Signal<In, Bits<A>>,
    /// Second input vector.
    pub b_in: Signal<In, Bits<B>>,
    /// The image of the inputs.
    pub data_out: Signal<Out, Bits<OUT>>,
    _taps: Vec<Vec<usize>>,
}

impl<const A: usize, const B: usize, const OUT: usize> XorNetwork<A, B, OUT> {
    /// A network for the linear map `f` from the `A / 8 + B / 8` bytes of
    /// `(a_in, b_in)` to the `OUT / 8` bytes of `data_out`.
    pub fn from_fn(f: impl Fn(&[u8]) -> Vec<u8>) -> Self {
        assert!(A.is_multiple_of(8) && B.is_multiple_of(8) && OUT.is_multiple_of(8));
        Self {
            a_in: Default::default(),
            b_in: Default::default(),
            data_out: Default::default(),
            _taps: linear_taps((A + B) / 8, OUT / 8, f),
        }
    }

    /// Number of two-input XOR gates in the unshared network (a size figure).
    pub fn xor_count(&self) -> usize {
        self._taps.iter().map(|t| t.len().saturating_sub(1)).sum()
    }
}

impl<const A: usize, const B: usize, const OUT: usize> Logic for XorNetwork<A, B, OUT> {
    fn update(&mut self) {
        let a = self.a_in.val();
        let b = self.b_in.val();
        let mut out = Bits::<OUT>::default();
        for (o, taps) in self._taps.iter().enumerate() {
            let v = taps.iter().fold(false, |acc, &i| {
                acc ^ if i < A {
                    a.get_bit(i)
                } else {
                    b.get_bit(i - A)
                }
            });
            out = out.replace_bit(o, v);
        }
        self.data_out.next = out;
    }

    fn connect(&mut self) {
        self.data_out.connect();
    }

    fn hdl(&self) -> Verilog {
        let mut code = String::from("always @(*) begin\n");
        for (o, taps) in self._taps.iter().enumerate() {
            let terms: Vec<String> = taps
                .iter()
                .map(|&i| {
                    if i < A {
                        format!("a_in[{i}]")
                    } else {
                        format!("b_in[{}]", i - A)
                    }
                })
                .collect();
            let rhs = if terms.is_empty() {
                "1'b0".to_string()
            } else {
                terms.join(" ^ ")
            };
            let _ = writeln!(code, "  data_out[{o}] = {rhs};");
        }
        code.push_str("end\n");
        Verilog::Custom(code)
    }
}

/// Verilog text of a function `gf_mul(a, b)`: the GF(2^8) product as an
/// AND/XOR network (64 partial products reduced modulo `0x11D`).
pub fn verilog_gf_mul_function() -> String {
    // x^m mod p(x) for m in 0..15.
    let reduced: Vec<u8> = (0..15).map(gf256::exp).collect();
    let mut code =
        String::from("function [7:0] gf_mul;\n  input [7:0] a;\n  input [7:0] b;\n  begin\n");
    for k in 0..8 {
        let mut terms = Vec::new();
        for i in 0..8 {
            for j in 0..8 {
                if reduced[i + j] >> k & 1 == 1 {
                    terms.push(format!("(a[{i}] & b[{j}])"));
                }
            }
        }
        let _ = writeln!(code, "    gf_mul[{k}] = {};", terms.join(" ^ "));
    }
    code.push_str("  end\nendfunction\n");
    code
}

/// `scalar_in` times each of the `W / 8` field elements of `vector_in`:
/// `W / 8` variable multipliers. Combinational: latency 0, no reset.
#[derive(LogicBlock, Default)]
pub struct GfScale<const W: usize> {
    /// The scalar.
    pub scalar_in: Signal<In, Bits<8>>,
    /// The vector, element `i` in bits `8i+7..8i`.
    pub vector_in: Signal<In, Bits<W>>,
    /// The scaled vector.
    pub data_out: Signal<Out, Bits<W>>,
}

impl<const W: usize> Logic for GfScale<W> {
    fn update(&mut self) {
        let s = self.scalar_in.val().to_u64() as u8;
        let v = unpack(self.vector_in.val());
        let p: Vec<u8> = v.iter().map(|&x| gf256::mul(s, x)).collect();
        self.data_out.next = pack(&p);
    }

    fn connect(&mut self) {
        self.data_out.connect();
    }

    fn hdl(&self) -> Verilog {
        let mut code = verilog_gf_mul_function();
        code.push_str("always @(*) begin\n");
        for i in 0..W / 8 {
            let _ = writeln!(
                code,
                "  data_out[{hi}:{lo}] = gf_mul(scalar_in, vector_in[{hi}:{lo}]);",
                hi = 8 * i + 7,
                lo = 8 * i
            );
        }
        code.push_str("end\n");
        Verilog::Custom(code)
    }
}

/// Element-wise products `a_i·b_i` of two vectors of `W / 8` field
/// elements: `W / 8` variable multipliers. Combinational: latency 0, no
/// reset.
#[derive(LogicBlock, Default)]
pub struct GfMulEach<const W: usize> {
    /// First vector.
    pub a_in: Signal<In, Bits<W>>,
    /// Second vector.
    pub b_in: Signal<In, Bits<W>>,
    /// The products, element `i` in bits `8i+7..8i`.
    pub data_out: Signal<Out, Bits<W>>,
}

impl<const W: usize> Logic for GfMulEach<W> {
    fn update(&mut self) {
        let a = unpack(self.a_in.val());
        let b = unpack(self.b_in.val());
        let p: Vec<u8> = a.iter().zip(&b).map(|(&x, &y)| gf256::mul(x, y)).collect();
        self.data_out.next = pack(&p);
    }

    fn connect(&mut self) {
        self.data_out.connect();
    }

    fn hdl(&self) -> Verilog {
        let mut code = verilog_gf_mul_function();
        code.push_str("always @(*) begin\n");
        for i in 0..W / 8 {
            let _ = writeln!(
                code,
                "  data_out[{hi}:{lo}] = gf_mul(a_in[{hi}:{lo}], b_in[{hi}:{lo}]);",
                hi = 8 * i + 7,
                lo = 8 * i
            );
        }
        code.push_str("end\n");
        Verilog::Custom(code)
    }
}

/// Inner product `sum_i a_i·b_i` of two vectors of `W / 8` field elements.
/// Combinational: latency 0, no reset.
#[derive(LogicBlock, Default)]
pub struct GfDot<const W: usize> {
    /// First vector.
    pub a_in: Signal<In, Bits<W>>,
    /// Second vector.
    pub b_in: Signal<In, Bits<W>>,
    /// The inner product.
    pub data_out: Signal<Out, Bits<8>>,
}

impl<const W: usize> Logic for GfDot<W> {
    fn update(&mut self) {
        let a = unpack(self.a_in.val());
        let b = unpack(self.b_in.val());
        let d = a
            .iter()
            .zip(&b)
            .fold(0u8, |acc, (&x, &y)| acc ^ gf256::mul(x, y));
        self.data_out.next = (d as u64).into();
    }

    fn connect(&mut self) {
        self.data_out.connect();
    }

    fn hdl(&self) -> Verilog {
        let mut code = verilog_gf_mul_function();
        let terms: Vec<String> = (0..W / 8)
            .map(|i| {
                format!(
                    "gf_mul(a_in[{hi}:{lo}], b_in[{hi}:{lo}])",
                    hi = 8 * i + 7,
                    lo = 8 * i
                )
            })
            .collect();
        let _ = writeln!(
            code,
            "always @(*) begin\n  data_out = {};\nend",
            terms.join(" ^ ")
        );
        Verilog::Custom(code)
    }
}

/// Multiplicative inverse in GF(2^8) as a lookup table, with
/// `inverse(0) = 0`. Combinational: latency 0, no reset.
#[derive(LogicBlock, Default)]
pub struct GfInverse {
    /// The element.
    pub data_in: Signal<In, Bits<8>>,
    /// Its inverse (0 for 0).
    pub data_out: Signal<Out, Bits<8>>,
}

/// The inverse with `inv(0) = 0`, as the [`GfInverse`] table holds it.
pub fn inverse_or_zero(x: u8) -> u8 {
    if x == 0 {
        0
    } else {
        gf256::inv(x)
    }
}

impl Logic for GfInverse {
    fn update(&mut self) {
        let x = self.data_in.val().to_u64() as u8;
        self.data_out.next = (inverse_or_zero(x) as u64).into();
    }

    fn connect(&mut self) {
        self.data_out.connect();
    }

    fn hdl(&self) -> Verilog {
        let mut code = String::from("always @(*) begin\n  case (data_in)\n");
        for x in 1..=255u8 {
            let _ = writeln!(
                code,
                "    8'h{x:02x}: data_out = 8'h{:02x};",
                inverse_or_zero(x)
            );
        }
        code.push_str("    default: data_out = 8'h00;\n  endcase\nend\n");
        Verilog::Custom(code)
    }
}

/// A test bench for the leaf blocks: a multiplier, an inverse, a
/// three-element dot product, two element-wise products and a
/// constant-multiplier network side by side.
/// Combinational: latency 0, no reset. Used by the exhaustive tests and the
/// synthesis size check.
#[derive(LogicBlock)]
pub struct GfArithmeticBench {
    /// First operand.
    pub a_in: Signal<In, Bits<8>>,
    /// Second operand.
    pub b_in: Signal<In, Bits<8>>,
    /// `a·b`.
    pub product_out: Signal<Out, Bits<8>>,
    /// `inverse(a)` (0 for 0).
    pub inverse_out: Signal<Out, Bits<8>>,
    /// `(a·b, b·inverse(a))` through a [`GfMulEach`], bits 7:0 and 15:8.
    pub each_out: Signal<Out, Bits<16>>,
    /// `a·b + b·b + a·inverse(a)` through a [`GfDot`].
    pub dot_out: Signal<Out, Bits<8>>,
    /// `a·a^29` through an [`XorNetwork`] (constant multiplier), in bits 7:0,
    /// and `b·a^200` in bits 15:8.
    pub const_out: Signal<Out, Bits<16>>,
    mul: GfScale<8>,
    inv: GfInverse,
    dot: GfDot<24>,
    each: GfMulEach<16>,
    konst: XorNetwork<8, 8, 16>,
    dot_b: Signal<Local, Bits<24>>,
}

impl Default for GfArithmeticBench {
    fn default() -> Self {
        Self {
            a_in: Default::default(),
            b_in: Default::default(),
            product_out: Default::default(),
            inverse_out: Default::default(),
            dot_out: Default::default(),
            const_out: Default::default(),
            each_out: Default::default(),
            mul: Default::default(),
            inv: Default::default(),
            dot: Default::default(),
            each: Default::default(),
            konst: XorNetwork::from_fn(|v| {
                vec![
                    gf256::mul(v[0], gf256::exp(29)),
                    gf256::mul(v[1], gf256::exp(200)),
                ]
            }),
            dot_b: Default::default(),
        }
    }
}

impl Logic for GfArithmeticBench {
    #[hdl_gen]
    fn update(&mut self) {
        self.mul.scalar_in.next = self.a_in.val();
        self.mul.vector_in.next = self.b_in.val();
        self.product_out.next = self.mul.data_out.val();
        self.inv.data_in.next = self.a_in.val();
        self.inverse_out.next = self.inv.data_out.val();
        // Vectors (a, b, a) and (b, b, inverse(a)).
        self.dot.a_in.next = bit_cast::<24, 8>(self.a_in.val())
            | (bit_cast::<24, 8>(self.b_in.val()) << 8)
            | (bit_cast::<24, 8>(self.a_in.val()) << 16);
        self.dot_b.next = bit_cast::<24, 8>(self.b_in.val())
            | (bit_cast::<24, 8>(self.b_in.val()) << 8)
            | (bit_cast::<24, 8>(self.inv.data_out.val()) << 16);
        self.dot.b_in.next = self.dot_b.val();
        self.dot_out.next = self.dot.data_out.val();
        self.each.a_in.next =
            bit_cast::<16, 8>(self.a_in.val()) | (bit_cast::<16, 8>(self.b_in.val()) << 8);
        self.each.b_in.next =
            bit_cast::<16, 8>(self.b_in.val()) | (bit_cast::<16, 8>(self.inv.data_out.val()) << 8);
        self.each_out.next = self.each.data_out.val();
        self.konst.a_in.next = self.a_in.val();
        self.konst.b_in.next = self.b_in.val();
        self.const_out.next = self.konst.data_out.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_harness::verilator::Model;

    fn bench_model() -> Model {
        let mut uut = GfArithmeticBench::default();
        uut.connect_all();
        Model::of_block(&uut).unwrap()
    }

    /// Every pair (a, b): product, inverse, dot product and the constant
    /// multipliers against `model::gf256`.
    #[test]
    fn gf_leaf_blocks_match_the_field_model_exhaustively() {
        let mut m = bench_model();
        let (pa, pb) = (m.p("a_in"), m.p("b_in"));
        let (pp, pi, pd, pc) = (
            m.p("product_out"),
            m.p("inverse_out"),
            m.p("dot_out"),
            m.p("const_out"),
        );
        let pe = m.p("each_out");
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                m.set(pa, a as u64);
                m.set(pb, b as u64);
                m.eval();
                assert_eq!(m.get(pp) as u8, gf256::mul_slow(a, b), "{a}*{b}");
                assert_eq!(m.get(pi) as u8, inverse_or_zero(a));
                let dot = gf256::mul(a, b) ^ gf256::mul(b, b) ^ u8::from(a != 0);
                assert_eq!(m.get(pd) as u8, dot, "dot {a} {b}");
                let e = m.get(pe);
                assert_eq!(e as u8, gf256::mul_slow(a, b));
                assert_eq!((e >> 8) as u8, gf256::mul_slow(b, inverse_or_zero(a)));
                let c = m.get(pc);
                assert_eq!(c as u8, gf256::mul(a, gf256::exp(29)));
                assert_eq!((c >> 8) as u8, gf256::mul(b, gf256::exp(200)));
            }
        }
        // The inverse table really inverts.
        for a in 1..=255u8 {
            assert_eq!(gf256::mul(a, inverse_or_zero(a)), 1);
        }
    }

    #[test]
    fn gf_leaf_blocks_are_synthesizable() {
        let mut uut = GfArithmeticBench::default();
        uut.connect_all();
        let report = fiberloop_harness::synth::synth_block(&uut, "fec_gf_bench").unwrap();
        println!(
            "GF bench (1 mul, 1 inverse, 3-term dot, 2 element-wise mul, 2 const mul): {report}"
        );
        assert!(report.luts() < 800, "{report}");
    }
}

//! `RegionCheck`: which word addresses of the register map
//! (`fiberloop_spec::regs`) exist, and with which access.

use fiberloop_spec::regs::{self, REGIONS};
use rust_hdl::prelude::*;

/// Combinational address decoder of the register map: for a word address,
/// whether it may be read and whether it may be written, from
/// [`regs::REGIONS`] (every other address is unmapped: neither).
///
/// Latency 0 (combinational), one address per evaluation, no state, no
/// reset. The Verilog is one constant range compare per region, generated
/// from the table; the Rust simulation calls [`regs::region`].
#[derive(LogicBlock, Default)]
pub struct RegionCheck {
    /// Word address.
    pub addr_in: Signal<In, Bits<32>>,
    /// The word exists and is readable.
    pub readable_out: Signal<Out, Bit>,
    /// The word exists and is writable.
    pub writable_out: Signal<Out, Bit>,
}

impl Logic for RegionCheck {
    fn update(&mut self) {
        let a = self.addr_in.val().to_u32();
        let g = regs::region(a);
        self.readable_out.next = g.is_some_and(|g| g.access.readable());
        self.writable_out.next = g.is_some_and(|g| g.access.writable());
    }
    fn connect(&mut self) {
        self.readable_out.connect();
        self.writable_out.connect();
    }
    fn hdl(&self) -> Verilog {
        // Every region lies below 2^bits: compare the high bits with zero
        // once, and only the low bits per region (halves the LUTs).
        let end = REGIONS
            .iter()
            .map(|g| g.base as u64 + g.words as u64)
            .max()
            .unwrap_or(1);
        let bits = (64 - (end - 1).leading_zeros()).max(1);
        let mut code = format!(
            "wire [{hi}:0] lo = addr_in[{hi}:0];\nwire high_zero = (addr_in >> {bits}) == 0;\n\
             always @(*) begin\n   readable_out = 1'b0;\n   writable_out = 1'b0;\n",
            hi = bits - 1
        );
        for g in REGIONS.iter() {
            code += &format!(
                "   if (high_zero && (lo >= {bits}'d{}) && (lo <= {bits}'d{})) begin readable_out = 1'b{}; writable_out = 1'b{}; end // {}\n",
                g.base,
                g.base + g.words - 1,
                g.access.readable() as u8,
                g.access.writable() as u8,
                g.name
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
    fn region_check_against_regs() {
        let mut uut = RegionCheck::default();
        uut.connect_all();
        let mut m = Model::of_block(&uut).unwrap();
        let (a, r, w) = (m.p("addr_in"), m.p("readable_out"), m.p("writable_out"));
        let mut rng = ChaCha8Rng::seed_from_u64(0x0E61_0001);
        // Every address up to past the last region, then random ones.
        let mut addrs: Vec<u32> = (0..0x6100).collect();
        addrs.extend((0..20_000).map(|_| rng.gen::<u32>()));
        addrs.extend([u32::MAX, 0x8000_0000, 0x0001_0000]);
        let mut mapped = 0;
        for addr in addrs {
            m.set(a, addr as u64);
            m.eval();
            let (hr, hw) = (m.get(r) != 0, m.get(w) != 0);
            let ok_r = regs::check_burst(addr, 1, false).is_ok();
            let ok_w = regs::check_burst(addr, 1, true).is_ok();
            assert_eq!((hr, hw), (ok_r, ok_w), "address 0x{addr:08x}");
            mapped += hr as u32;
        }
        assert!(mapped > 8000, "the test saw mapped words");
    }

    #[test]
    fn region_check_synthesizes() {
        let mut uut = RegionCheck::default();
        uut.connect_all();
        let rep = fiberloop_harness::synth::synth_block(&uut, "hostif_region_check").unwrap();
        println!("RegionCheck: {} LUTs", rep.luts());
        // 26 regions (map v3, with the PHY and PRBS blocks): 285 LUT4
        // measured; 22 regions (v2) were under 250.
        assert!(rep.luts() < 320, "{} LUTs", rep.luts());
    }
}

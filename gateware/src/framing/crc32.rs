//! `FrameCrc`: the frame CRC-32, generated or checked two bytes per clock.
//!
//! The CRC covers codeword bytes 0..=234 (frame positions 1..=235): lane 1 of
//! word 0 and both lanes of words 1..=117. It is stored in words 118 and 119,
//! least significant byte first (frame position 236 = CRC bits 7:0), see
//! `fiberloop_spec::frame`.
//!
//! # The XOR network
//!
//! The register update is the two-byte step of [`crc32::UPDATE2_EQUATIONS`]:
//! new register bit `k` is the XOR parity of `state & S[k]` and of
//! `data & D[k]`: the sub-block [`Crc32Step2`].
//!
//! Word 0 carries a single CRC byte (lane 1; lane 0 is the start-of-frame
//! symbol). Its one-byte update `update(INIT, b)` goes through the same
//! network: the state input is forced to [`PREINIT`], the one register value
//! with `update(PREINIT, 0x00) == INIT`, and lane 0 of the data is forced to
//! zero, so `update2(PREINIT, [0, b]) == update(INIT, b)`. This costs a 32-bit
//! constant multiplexer instead of a second XOR network.

use crate::model::crc32;
use fiberloop_spec::frame::word;
use rust_hdl::prelude::*;

/// The register value that a zero byte takes to [`crc32::INIT`]:
/// `crc32::update(PREINIT, 0) == crc32::INIT`.
pub const PREINIT: u32 = preinit();

const fn preinit() -> u32 {
    // update(s, 0) = (s >> 8) ^ TABLE[s & 0xFF]. The top byte of the result
    // comes from TABLE alone, and TABLE's top bytes are all different, so the
    // low byte of s is the index whose entry has INIT's top byte.
    let mut i = 0;
    while i < 256 {
        if crc32::TABLE[i] >> 24 == crc32::INIT >> 24 {
            let high = (crc32::INIT ^ crc32::TABLE[i]) << 8;
            return high | i as u32;
        }
        i += 1;
    }
    panic!("no pre-initial CRC state")
}

const _: () = assert!(crc32::update(PREINIT, 0) == crc32::INIT);

/// The two-byte CRC step as a combinational XOR network: one equation of
/// [`crc32::UPDATE2_EQUATIONS`] per output bit.
///
/// `state_out[k] = ^(state_in & S[k]) ^ ^(data_in & D[k])`. The Verilog is
/// written out from the equation table (rust-hdl's `#[hdl_gen]` cannot build
/// a word bit by bit in a loop); the Rust simulation uses
/// [`crc32::update2_by_equations`]. Purely combinational: latency 0.
#[derive(LogicBlock, Default)]
pub struct Crc32Step2 {
    /// Raw CRC register before the step.
    pub state_in: Signal<In, Bits<32>>,
    /// Two data bytes, the earlier in bits 7:0.
    pub data_in: Signal<In, Bits<16>>,
    /// Raw CRC register after the two bytes.
    pub state_out: Signal<Out, Bits<32>>,
}

impl Logic for Crc32Step2 {
    fn update(&mut self) {
        let s = self.state_in.val().to_u32();
        let d = self.data_in.val().to_u32() as u16;
        let out = crc32::update2_by_equations(s, d.to_le_bytes());
        self.state_out.next = (out as u64).to_bits();
    }
    fn connect(&mut self) {
        self.state_out.connect();
    }
    fn hdl(&self) -> Verilog {
        let mut code = String::from("always @(*) begin\n");
        for (k, eq) in crc32::UPDATE2_EQUATIONS.iter().enumerate() {
            code += &format!(
                "   state_out[{k}] = (^(state_in & 32'h{:08x})) ^ (^(data_in & 16'h{:04x}));\n",
                eq.state, eq.data
            );
        }
        code += "end\n";
        Verilog::Custom(code)
    }
}

/// Frame CRC-32 generator and checker on the frame stream.
///
/// * **Generator** (`insert` high): the stream passes through, except that
///   words 118 and 119 of every frame are replaced by the CRC of codeword
///   bytes 0..=234 (word 118 = CRC bits 15:0, word 119 = bits 31:16, so lane
///   0 of word 118 = frame position 236 = CRC bits 7:0).
/// * **Checker** (`insert` low): the stream passes through unchanged and the
///   received words 118-119 are compared with the CRC computed over the
///   received bytes 0..=234.
///
/// In both modes `crc_done_out` pulses for one clock together with word 119
/// on `data_out`, and `crc_ok_out` then tells whether the *incoming* words
/// 118-119 held the correct CRC (for the generator this says whether the
/// frame already carried a good CRC; its output frame always does).
/// `crc_ok_out` keeps its value until the next strobe. `insert` may change
/// between frames; it is sampled at words 118 and 119.
///
/// Frames are tracked by counting valid words from `start_in` (valid words
/// are counted, so a clock with `valid_in` low inside a frame pauses the
/// frame). A `start_in` always begins a new frame, abandoning any frame in
/// progress (no strobe for the abandoned frame). Valid words outside a frame
/// (no `start_in` seen) pass through untouched.
///
/// Latency: 1 clock, every output registered (`data_out`, `valid_out`,
/// `start_out` are the inputs of the previous clock, with the CRC words
/// substituted in generator mode). Throughput: one word per clock, no stall.
/// Reset: none; the registers power up at zero (outside a frame) and the
/// CRC register is reloaded at every `start_in`.
#[derive(LogicBlock)]
pub struct FrameCrc {
    /// Word clock.
    pub clock: Signal<In, Clock>,
    /// Frame stream in: two bytes, lane 0 (bits 7:0) first.
    pub data_in: Signal<In, Bits<16>>,
    /// The input word belongs to a frame.
    pub valid_in: Signal<In, Bit>,
    /// The input word is word 0 of a frame (only with `valid_in`).
    pub start_in: Signal<In, Bit>,
    /// High: generator (replace words 118-119 with the CRC); low: checker.
    pub insert: Signal<In, Bit>,
    /// Frame stream out, one clock later.
    pub data_out: Signal<Out, Bits<16>>,
    /// `valid_in`, one clock later.
    pub valid_out: Signal<Out, Bit>,
    /// `start_in`, one clock later.
    pub start_out: Signal<Out, Bit>,
    /// The frame's incoming words 118-119 held its CRC; meaningful with
    /// `crc_done_out`, held until the next strobe.
    pub crc_ok_out: Signal<Out, Bit>,
    /// One-clock strobe, in the clock where word 119 is on `data_out`.
    pub crc_done_out: Signal<Out, Bit>,
    // Combinational XOR network.
    step: Crc32Step2,
    crc_value: Signal<Local, Bits<32>>,
    // Registers.
    crc: DFF<Bits<32>>,
    count: DFF<Bits<7>>,
    in_frame: DFF<Bit>,
    low_ok: DFF<Bit>,
    data_q: DFF<Bits<16>>,
    valid_q: DFF<Bit>,
    start_q: DFF<Bit>,
    ok_q: DFF<Bit>,
    done_q: DFF<Bit>,
    // Constants.
    preinit: Constant<Bits<32>>,
    xorout: Constant<Bits<32>>,
    lane1_mask: Constant<Bits<16>>,
    one: Constant<Bits<7>>,
    last_word: Constant<Bits<7>>,
    crc_word0: Constant<Bits<7>>,
    crc_word1: Constant<Bits<7>>,
}

impl Default for FrameCrc {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            data_in: Default::default(),
            valid_in: Default::default(),
            start_in: Default::default(),
            insert: Default::default(),
            data_out: Default::default(),
            valid_out: Default::default(),
            start_out: Default::default(),
            crc_ok_out: Default::default(),
            crc_done_out: Default::default(),
            step: Default::default(),
            crc_value: Default::default(),
            crc: Default::default(),
            count: Default::default(),
            in_frame: Default::default(),
            low_ok: Default::default(),
            data_q: Default::default(),
            valid_q: Default::default(),
            start_q: Default::default(),
            ok_q: Default::default(),
            done_q: Default::default(),
            preinit: Constant::new((PREINIT as u64).to_bits()),
            xorout: Constant::new((crc32::XOROUT as u64).to_bits()),
            lane1_mask: Constant::new(0xFF00u64.to_bits()),
            one: Constant::new(1u64.to_bits()),
            last_word: Constant::new(127u64.to_bits()),
            crc_word0: Constant::new((word::CRC_FIRST as u64).to_bits()),
            crc_word1: Constant::new((word::CRC_FIRST as u64 + 1).to_bits()),
        }
    }
}

// The parentheses around mixed expressions are required: rust-hdl 0.46 emits
// Verilog without them, where the precedence differs from Rust's.
#[allow(unused_parens)]
impl Logic for FrameCrc {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, crc, count, in_frame, low_ok, data_q, valid_q, start_q, ok_q, done_q
        );
        // XOR network inputs: the register, or PREINIT and lane 1 alone at word 0.
        self.step.state_in.next = self.crc.q.val();
        self.step.data_in.next = self.data_in.val();
        if self.start_in.val() {
            self.step.state_in.next = self.preinit.val();
            self.step.data_in.next = (self.data_in.val() & self.lane1_mask.val());
        }
        self.crc_value.next = (self.crc.q.val() ^ self.xorout.val());

        // Pass-through defaults.
        self.data_q.d.next = self.data_in.val();
        self.valid_q.d.next = self.valid_in.val();
        self.start_q.d.next = self.start_in.val();
        self.done_q.d.next = false;

        if self.valid_in.val() {
            if self.start_in.val() {
                self.crc.d.next = self.step.state_out.val();
                self.count.d.next = self.one.val();
                self.in_frame.d.next = true;
            } else if self.in_frame.q.val() {
                self.count.d.next = (self.count.q.val() + self.one.val());
                if (self.count.q.val() == self.last_word.val()) {
                    self.in_frame.d.next = false;
                }
                if (self.count.q.val() < self.crc_word0.val()) {
                    self.crc.d.next = self.step.state_out.val();
                }
                if (self.count.q.val() == self.crc_word0.val()) {
                    self.low_ok.d.next =
                        (self.data_in.val() == self.crc_value.val().get_bits::<16>(0));
                    if self.insert.val() {
                        self.data_q.d.next = self.crc_value.val().get_bits::<16>(0);
                    }
                }
                if (self.count.q.val() == self.crc_word1.val()) {
                    self.ok_q.d.next = (self.low_ok.q.val()
                        & (self.data_in.val() == self.crc_value.val().get_bits::<16>(16)));
                    self.done_q.d.next = true;
                    if self.insert.val() {
                        self.data_q.d.next = self.crc_value.val().get_bits::<16>(16);
                    }
                }
            }
        }

        self.data_out.next = self.data_q.q.val();
        self.valid_out.next = self.valid_q.q.val();
        self.start_out.next = self.start_q.q.val();
        self.crc_ok_out.next = self.ok_q.q.val();
        self.crc_done_out.next = self.done_q.q.val();
    }
}

/// One clock's inputs of [`FrameCrc`] (and of its model).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrcIn {
    /// `data_in`.
    pub data: u16,
    /// `valid_in`.
    pub valid: bool,
    /// `start_in`.
    pub start: bool,
    /// `insert`.
    pub insert: bool,
}

/// One clock's outputs of [`FrameCrc`] (and of its model), sampled before
/// the clock edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrcOut {
    /// `data_out`.
    pub data: u16,
    /// `valid_out`.
    pub valid: bool,
    /// `start_out`.
    pub start: bool,
    /// `crc_ok_out`.
    pub ok: bool,
    /// `crc_done_out`.
    pub done: bool,
}

/// Cycle-level reference model of [`FrameCrc`], on top of
/// [`crc32::update`] (one byte per step, not the hardware's equations).
#[derive(Clone, Debug, Default)]
pub struct FrameCrcModel {
    out: CrcOut,
    /// Next word index of the frame in progress, `None` outside a frame.
    index: Option<usize>,
    state: u32,
    low_ok: bool,
}

impl FrameCrcModel {
    /// A model in the power-up state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Outputs of this clock, then the clock edge with inputs `i`.
    pub fn step(&mut self, i: CrcIn) -> CrcOut {
        let out = self.out;
        let mut next = CrcOut {
            data: i.data,
            valid: i.valid,
            start: i.start,
            ok: self.out.ok,
            done: false,
        };
        let [b0, b1] = i.data.to_le_bytes();
        if i.valid {
            if i.start {
                self.state = crc32::update(crc32::INIT, b1);
                self.index = Some(1);
            } else if let Some(w) = self.index {
                let value = crc32::finalize(self.state);
                if w < word::CRC_FIRST {
                    self.state = crc32::update(crc32::update(self.state, b0), b1);
                } else if w == word::CRC_FIRST {
                    self.low_ok = i.data == value as u16;
                    if i.insert {
                        next.data = value as u16;
                    }
                } else if w == word::CRC_FIRST + 1 {
                    next.ok = self.low_ok && i.data == (value >> 16) as u16;
                    next.done = true;
                    if i.insert {
                        next.data = (value >> 16) as u16;
                    }
                }
                self.index = if w == fiberloop_spec::frame::FRAME_WORDS - 1 {
                    None
                } else {
                    Some(w + 1)
                };
            }
        }
        self.out = next;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::testbench::{self, Event};
    use fiberloop_harness::verilator::Model;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const REFERENCE: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

    /// The Verilated XOR network as a function.
    struct Network(Model);
    impl Network {
        fn new() -> Self {
            let mut uut = Crc32Step2::default();
            uut.connect_all();
            Network(Model::of_block(&uut).unwrap())
        }
        fn step(&mut self, state: u32, data: u16) -> u32 {
            let (s, d, o) = (
                self.0.p("state_in"),
                self.0.p("data_in"),
                self.0.p("state_out"),
            );
            self.0.set(s, state as u64);
            self.0.set(d, data as u64);
            self.0.eval();
            self.0.get(o) as u32
        }
    }

    #[test]
    fn check_value_through_the_xor_network() {
        // "123456789" laid out as in a frame: '1' in lane 1 of word 0 (the
        // one-byte update through PREINIT), then four two-byte words, all
        // through the Verilog of the XOR network.
        let mut net = Network::new();
        let msg = b"123456789";
        let mut s = net.step(PREINIT, (msg[0] as u16) << 8);
        for p in msg[1..].chunks(2) {
            s = net.step(s, u16::from_le_bytes([p[0], p[1]]));
        }
        assert_eq!(crc32::finalize(s), 0xCBF4_3926);
        assert_eq!(crc32::update(PREINIT, 0), crc32::INIT);
        // And on random vectors against the table-driven two-byte step.
        let mut rng = ChaCha8Rng::seed_from_u64(0xF0C0_0000);
        for _ in 0..50_000 {
            let (st, d): (u32, u16) = (rng.gen(), rng.gen());
            assert_eq!(net.step(st, d), crc32::update2(st, d.to_le_bytes()));
        }
    }

    #[test]
    fn model_against_crc_crate() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xF0C0_0001);
        for _ in 0..200 {
            let cw = testbench::random_codeword(&mut rng, true);
            let c = REFERENCE.checksum(&cw[..235]);
            assert_eq!(c, crc32::checksum(&cw[..235]));
            assert_eq!(&cw[235..239], &c.to_le_bytes());
        }
    }

    /// Runs `stimulus` through the Verilated block and the model, comparing
    /// every output on every clock; returns the outputs.
    fn run(stimulus: &[CrcIn]) -> Vec<CrcOut> {
        let mut uut = FrameCrc::default();
        uut.connect_all();
        let mut m = Model::of_block(&uut).unwrap();
        let clk = m.p("clock");
        let (di, vi, si, ins) = (
            m.p("data_in"),
            m.p("valid_in"),
            m.p("start_in"),
            m.p("insert"),
        );
        let (dout, vo, so, ok, done) = (
            m.p("data_out"),
            m.p("valid_out"),
            m.p("start_out"),
            m.p("crc_ok_out"),
            m.p("crc_done_out"),
        );
        let mut model = FrameCrcModel::new();
        let mut outs = Vec::with_capacity(stimulus.len());
        for (t, i) in stimulus.iter().enumerate() {
            m.set(clk, 0);
            m.set(di, i.data as u64);
            m.set(vi, i.valid as u64);
            m.set(si, i.start as u64);
            m.set(ins, i.insert as u64);
            m.eval();
            let hw = CrcOut {
                data: m.get(dout) as u16,
                valid: m.get(vo) != 0,
                start: m.get(so) != 0,
                ok: m.get(ok) != 0,
                done: m.get(done) != 0,
            };
            let sw = model.step(*i);
            assert_eq!(hw, sw, "clock {t}, input {i:?}");
            m.set(clk, 1);
            m.eval();
            outs.push(hw);
        }
        outs
    }

    fn to_inputs(events: &[Event], insert: bool) -> Vec<CrcIn> {
        testbench::frame_stream(events)
            .into_iter()
            .map(|(data, valid, start)| CrcIn {
                data,
                valid,
                start,
                insert,
            })
            .collect()
    }

    /// Codewords of the frames on a stream (by `start`), with CRC results.
    fn frames_out(outs: &[CrcOut]) -> Vec<(Vec<u8>, Option<bool>)> {
        let mut frames: Vec<(Vec<u8>, Option<bool>)> = vec![];
        for o in outs {
            if o.valid && o.start {
                frames.push((vec![(o.data >> 8) as u8], None));
            } else if o.valid {
                if let Some(f) = frames.last_mut() {
                    if f.0.len() < 255 {
                        f.0.extend_from_slice(&o.data.to_le_bytes());
                    }
                }
            }
            if o.done {
                frames.last_mut().unwrap().1 = Some(o.ok);
            }
        }
        frames
    }

    #[test]
    fn checker_matches_model_and_crc_crate() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xF0C0_0002);
        let mut events = vec![];
        let mut expect = vec![];
        for _ in 0..400 {
            let good = rng.gen_bool(0.6);
            let mut cw = testbench::random_codeword(&mut rng, true);
            if !good {
                // Corrupt one to three bytes anywhere in 0..=238.
                for _ in 0..rng.gen_range(1..=3) {
                    let p = rng.gen_range(0..239);
                    cw[p] ^= rng.gen_range(1..=255u8);
                }
            }
            let ok = REFERENCE.checksum(&cw[..235]).to_le_bytes() == cw[235..239];
            events.push(Event::Idle(testbench::random_gap(&mut rng)));
            events.push(Event::Frame(cw.clone()));
            expect.push((cw, ok));
        }
        events.push(Event::Idle(3));
        let outs = run(&to_inputs(&events, false));
        let got = frames_out(&outs);
        assert_eq!(got.len(), expect.len());
        let mut bad = 0;
        for (n, ((cw, ok), (gcw, gok))) in expect.iter().zip(&got).enumerate() {
            assert_eq!(cw, gcw, "frame {n} altered by the checker");
            assert_eq!(Some(*ok), *gok, "frame {n}");
            bad += usize::from(!ok);
        }
        assert!(bad > 100, "too few corrupted frames: {bad}");
    }

    #[test]
    fn generator_inserts_the_zlib_crc() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xF0C0_0003);
        let mut events = vec![];
        let mut expect = vec![];
        for _ in 0..400 {
            // The generator gets frames with garbage in the CRC words.
            let cw = testbench::random_codeword(&mut rng, false);
            let mut want = cw.clone();
            want[235..239].copy_from_slice(&REFERENCE.checksum(&cw[..235]).to_le_bytes());
            events.push(Event::Idle(testbench::random_gap(&mut rng)));
            if rng.gen_bool(0.05) {
                // Valid words that belong to no frame pass untouched.
                events.push(Event::Garbage(rng.gen_range(1..20)));
            }
            if rng.gen_bool(0.05) {
                // A frame cut short by the next start: abandoned, no strobe.
                events.push(Event::Truncated(cw[..rng.gen_range(1..230)].to_vec()));
            }
            events.push(Event::Frame(cw));
            expect.push(want);
        }
        events.push(Event::Idle(3));
        let outs = run(&to_inputs(&events, true));
        let got: Vec<_> = frames_out(&outs)
            .into_iter()
            .filter(|(_, ok)| ok.is_some())
            .collect();
        assert_eq!(got.len(), expect.len());
        for (n, (want, (gcw, _))) in expect.iter().zip(&got).enumerate() {
            assert_eq!(want, gcw, "frame {n}");
            assert_eq!(
                crc32::checksum(&gcw[..235]),
                u32::from_le_bytes(gcw[235..239].try_into().unwrap())
            );
        }
    }

    #[test]
    fn back_to_back_frames_with_mode_changes() {
        let mut rng = ChaCha8Rng::seed_from_u64(0xF0C0_0004);
        let mut stimulus = vec![];
        for _ in 0..300 {
            let insert = rng.gen_bool(0.5);
            let with_crc = rng.gen_bool(0.5);
            let cw = testbench::random_codeword(&mut rng, with_crc);
            let gap = if rng.gen_bool(0.8) {
                0
            } else {
                rng.gen_range(1..5)
            };
            let evs = [Event::Idle(gap), Event::Frame(cw)];
            stimulus.extend(to_inputs(&evs, insert));
        }
        let outs = run(&stimulus);
        assert_eq!(outs.iter().filter(|o| o.done).count(), 300);
    }

    #[test]
    fn frame_crc_is_synthesizable() {
        let mut uut = FrameCrc::default();
        uut.connect_all();
        check_all(&uut).unwrap();
        let report = fiberloop_harness::synth::synth_block(&uut, "frame_crc").unwrap();
        println!("{report:?}");
        println!("FrameCrc: {} LUTs, {} FFs", report.luts(), report.ffs());
        assert!(report.luts() < 600, "{} LUTs", report.luts());
        assert!(report.ffs() < 100);
    }
}

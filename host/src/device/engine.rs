//! The board's control side in Rust, for the simulator: the gateware's
//! one model of the command engine and register file
//! ([`EngineModel`] in front of [`RegFileModel`], from `fiberloop-gateware`,
//! where `BoardCore`'s lockstep test holds the gateware to it), driven in
//! link time.
//!
//! The loop and the inference engine behind the registers are a
//! [`Backend`]: [`RamBackend`], an in-memory loop with a functional model
//! of the inference engine that makes host tests fast, or the simulated
//! gateware loop (`super::loop_backend`).
//!
//! Time: the caller gives the time of each byte in *link byte times* (one
//! unit = one byte at the link's baud). The partial-frame timeout is in the
//! same unit, and the backend's loop advances by `clocks_per_byte` word
//! clocks per unit, so loop time passes as bytes arrive.

use fiberloop_gateware::hostif::cmd_engine::EngineModel;
pub use fiberloop_gateware::hostif::cmd_engine::Refusal;
pub use fiberloop_gateware::top::loop_model::{RamBackend, RamEngine};
use fiberloop_gateware::top::reg_file_model::link_words;
pub use fiberloop_gateware::top::reg_file_model::{Backend, PhyReport, RegFileModel, SlotData};
use fiberloop_spec::regs;

/// Settings of the engine.
#[derive(Clone, Copy, Debug)]
pub struct EngineConfig {
    /// Partial-frame timeout, link byte times.
    pub timeout_bytes: u64,
    /// Word clocks of loop time per link byte time.
    pub clocks_per_byte: u64,
}

impl EngineConfig {
    /// Settings for a UART at `baud` (10 bits per byte) with a partial-frame
    /// timeout of `timeout_ms`.
    pub fn uart(baud: u32, timeout_ms: u64) -> Self {
        let bytes_per_s = (baud as u64 / 10).max(1);
        Self {
            timeout_bytes: (bytes_per_s * timeout_ms / 1000).max(1),
            clocks_per_byte: fiberloop_spec::line::WORD_CLOCK_HZ / bytes_per_s,
        }
    }
}

/// The command engine and register file over a loop backend, in link time.
pub struct Engine<B: Backend> {
    model: EngineModel<RegFileModel<B>>,
    cfg: EngineConfig,
    now: u64,
}

impl<B: Backend> Engine<B> {
    /// An engine in front of `backend`.
    pub fn new(backend: B, cfg: EngineConfig) -> Self {
        let mut model = EngineModel::with_regs(cfg.timeout_bytes, RegFileModel::new(backend));
        model.log_bus = false;
        Self { model, cfg, now: 0 }
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        self.model.regs.backend()
    }

    /// The backend, mutable.
    pub fn backend_mut(&mut self) -> &mut B {
        self.model.regs.backend_mut()
    }

    /// The host link counters (`regs::link`).
    pub fn link_counters(&self) -> [u32; regs::LINK_WORDS as usize] {
        link_words(&self.model.counts)
    }

    /// The current time, link byte times.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Moves time to `now` (never backwards), advancing the loop, and
    /// drops a partial frame that has timed out.
    pub fn set_time(&mut self, now: u64) {
        if now > self.now {
            let clocks = (now - self.now).saturating_mul(self.cfg.clocks_per_byte);
            self.backend_mut().advance(clocks);
            self.now = now;
        }
        self.model.poll(self.now);
    }

    /// Receives bytes that arrived at time `now` (link byte times) and
    /// appends the reply bytes to `out`.
    pub fn feed(&mut self, bytes: &[u8], now: u64, out: &mut Vec<u8>) {
        self.set_time(now);
        for &b in bytes {
            self.model.push(b, self.now, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiberloop_spec::engine::{LayerEntry, ParamEntry};
    use fiberloop_spec::proto::MAX_BURST_WORDS;
    use fiberloop_spec::proto::{cmd, status, Direction, Event, Header, Parser};
    use fiberloop_spec::proto::{encode, MAX_FRAME_BYTES};
    use fiberloop_spec::regs::{counter, infer_bits, link, param_word2, status_bits, SLOT_WORDS};

    fn engine() -> Engine<RamBackend> {
        Engine::new(
            RamBackend::new(8, 1000),
            EngineConfig {
                timeout_bytes: 1000,
                clocks_per_byte: 10,
            },
        )
    }

    fn request(seq: u8, code: u8, addr: u32, len: u16, payload: &[u32]) -> Vec<u8> {
        let bytes: Vec<u8> = payload.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut out = vec![0; MAX_FRAME_BYTES];
        let h = Header {
            seq,
            code,
            addr,
            len,
        };
        let n = encode(Direction::Request, &h, &bytes, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// Sends one request and parses the one reply.
    fn transact(e: &mut Engine<RamBackend>, req: &[u8]) -> (Header, Vec<u32>) {
        let mut out = vec![];
        let t = e.now() + 1;
        e.feed(req, t, &mut out);
        let mut p = Parser::new(Direction::Reply, 100);
        let mut got = None;
        for &b in &out {
            if let Some(Event::Frame(h)) = p.push(b, 0) {
                assert!(got.is_none(), "two replies");
                let words = p
                    .payload()
                    .chunks(4)
                    .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
                    .collect();
                got = Some((h, words));
            }
        }
        got.expect("no reply")
    }

    #[test]
    fn ping_returns_identification() {
        let mut e = engine();
        let (h, d) = transact(&mut e, &request(3, cmd::PING, 0, 0, &[]));
        assert_eq!((h.seq, h.code), (3, status::OK));
        assert_eq!(
            d,
            vec![
                regs::ID_VALUE,
                regs::VERSION_VALUE,
                MAX_BURST_WORDS as u32,
                SLOT_WORDS
            ]
        );
    }

    #[test]
    fn write_then_read_a_burst() {
        let mut e = engine();
        let data: Vec<u32> = (0..1024u32).map(|i| i.wrapping_mul(0x0101_0101)).collect();
        let (h, _) = transact(
            &mut e,
            &request(1, cmd::WRITE, regs::SCRATCH_MEM, 1024, &data),
        );
        assert_eq!(h.code, status::OK);
        let (h, d) = transact(&mut e, &request(2, cmd::READ, regs::SCRATCH_MEM, 1024, &[]));
        assert_eq!((h.code, h.len), (status::OK, 1024));
        assert_eq!(d, data);
    }

    #[test]
    fn errors_name_the_offending_word() {
        let mut e = engine();
        let (h, _) = transact(&mut e, &request(1, cmd::READ, regs::ID, 6, &[]));
        assert_eq!((h.code, h.addr), (status::BAD_ADDRESS, 5));
        let (h, _) = transact(&mut e, &request(2, cmd::WRITE, regs::ID, 1, &[5]));
        assert_eq!((h.code, h.addr), (status::BAD_ADDRESS, regs::ID));
        let (h, _) = transact(&mut e, &request(3, cmd::READ, 0, 0, &[]));
        assert_eq!(h.code, status::BAD_LENGTH);
        let (h, _) = transact(&mut e, &request(4, cmd::READ, 0, 1025, &[]));
        assert_eq!(h.code, status::BAD_LENGTH);
        let (h, _) = transact(&mut e, &request(5, 0x7E, 0, 0, &[]));
        assert_eq!(h.code, status::BAD_COMMAND);
        let (h, _) = transact(&mut e, &request(6, cmd::PING, 0, 1, &[]));
        assert_eq!(h.code, status::BAD_LENGTH);
        let (h, _) = transact(&mut e, &request(7, cmd::WRITE, regs::LOOP_CTRL, 1, &[9]));
        assert_eq!((h.code, h.addr), (status::BAD_VALUE, regs::LOOP_CTRL));
        // The slot write needs a running loop.
        let (h, _) = transact(
            &mut e,
            &request(8, cmd::WRITE, regs::SLOT_WR_COMMIT, 1, &[1]),
        );
        assert_eq!(h.code, status::FAULT);
        assert_eq!(e.link_counters()[link::ERROR_REPLIES as usize], 8);
    }

    #[test]
    fn slot_write_and_read_through_registers() {
        let mut e = engine();
        let (h, _) = transact(
            &mut e,
            &request(1, cmd::WRITE, regs::LOOP_CTRL, 1, &[regs::ctrl::FILL]),
        );
        assert_eq!(h.code, status::OK);
        let mut burst: Vec<u32> = (0..SLOT_WORDS).map(|i| 0xA000_0000 | i).collect();
        burst.extend([5, 1]);
        let (h, _) = transact(
            &mut e,
            &request(2, cmd::WRITE, regs::SLOT_WR_BUF, burst.len() as u16, &burst),
        );
        assert_eq!(h.code, status::OK);
        assert_eq!(e.backend().slot_writes, 1);
        let (h, _) = transact(
            &mut e,
            &request(3, cmd::WRITE, regs::SLOT_RD_SLOT, 2, &[5, 1]),
        );
        assert_eq!(h.code, status::OK);
        let (h, d) = transact(
            &mut e,
            &request(4, cmd::READ, regs::SLOT_RD_BUF, SLOT_WORDS as u16, &[]),
        );
        assert_eq!(h.code, status::OK);
        assert_eq!(d, burst[..SLOT_WORDS as usize]);
        let (_, st) = transact(&mut e, &request(5, cmd::READ, regs::LOOP_STATUS, 1, &[]));
        assert_eq!(
            st[0],
            status_bits::MODE_RUNNING | status_bits::RD_VALID,
            "status"
        );
    }

    #[test]
    fn repeated_write_is_answered_without_executing() {
        let mut e = engine();
        transact(
            &mut e,
            &request(1, cmd::WRITE, regs::LOOP_CTRL, 1, &[regs::ctrl::FILL]),
        );
        let mut burst = vec![7u32; SLOT_WORDS as usize];
        burst.extend([0, 1]);
        let req = request(9, cmd::WRITE, regs::SLOT_WR_BUF, burst.len() as u16, &burst);
        let first = transact(&mut e, &req);
        let again = transact(&mut e, &req);
        assert_eq!(first, again);
        assert_eq!(e.backend().slot_writes, 1);
        assert_eq!(e.link_counters()[link::REPLAYS as usize], 1);
        // Another sequence number is a new write.
        let req = request(
            10,
            cmd::WRITE,
            regs::SLOT_WR_BUF,
            burst.len() as u16,
            &burst,
        );
        transact(&mut e, &req);
        assert_eq!(e.backend().slot_writes, 2);
        // A read in between forgets the write: the same frame executes again.
        transact(&mut e, &request(11, cmd::READ, regs::ID, 1, &[]));
        transact(&mut e, &req);
        assert_eq!(e.backend().slot_writes, 3);
    }

    #[test]
    fn counters_latch_their_high_word() {
        let mut e = engine();
        transact(
            &mut e,
            &request(1, cmd::WRITE, regs::LOOP_CTRL, 1, &[regs::ctrl::FILL]),
        );
        e.backend_mut().advance(5 << 32);
        let a = regs::counter_addr(counter::CLOCKS);
        let (_, d) = transact(&mut e, &request(2, cmd::READ, a, 2, &[]));
        let c = d[0] as u64 | (d[1] as u64) << 32;
        assert!(c >= 5 << 32, "{c:x}");
        // Time advanced with the bytes received, at 10 clocks per byte.
        assert!(c > 5 << 32);
    }

    #[test]
    fn corrupted_write_is_never_executed() {
        let mut e = engine();
        let data = [0xDEAD_BEEFu32; 4];
        let req = request(1, cmd::WRITE, regs::SCRATCH, 4, &data);
        for i in 0..req.len() {
            let mut bad = req.clone();
            bad[i] ^= 0x10;
            let mut out = vec![];
            let t = e.now() + 1;
            e.feed(&bad, t, &mut out);
            // Flush whatever partial frame is left.
            e.set_time(e.now() + 10_000);
            let (h, d) = transact(&mut e, &request(2, cmd::READ, regs::SCRATCH, 4, &[]));
            assert_eq!(h.code, status::OK);
            assert_eq!(d, vec![0; 4], "byte {i} corrupted, write executed");
        }
    }

    /// An engine driven one request at a time with fresh sequence numbers.
    struct Rig {
        e: Engine<RamBackend>,
        seq: u8,
    }

    impl Rig {
        fn new(slots: usize, lap_clocks: u64) -> Rig {
            Rig {
                e: Engine::new(
                    RamBackend::new(slots, lap_clocks),
                    EngineConfig {
                        timeout_bytes: 1000,
                        clocks_per_byte: 10,
                    },
                ),
                seq: 0,
            }
        }
        fn w(&mut self, addr: u32, data: &[u32]) -> Header {
            self.seq = self.seq.wrapping_add(1);
            let req = request(self.seq, cmd::WRITE, addr, data.len() as u16, data);
            transact(&mut self.e, &req).0
        }
        fn r(&mut self, addr: u32, n: u16) -> (Header, Vec<u32>) {
            self.seq = self.seq.wrapping_add(1);
            transact(&mut self.e, &request(self.seq, cmd::READ, addr, n, &[]))
        }
        fn ok(&mut self, addr: u32, data: &[u32]) {
            let h = self.w(addr, data);
            assert_eq!(h.code, status::OK, "write at 0x{addr:x}: {h:?}");
        }
        fn status(&mut self) -> u32 {
            self.r(regs::INFER_STATUS, 1).1[0]
        }
        fn time_passes(&mut self, bytes: u64) {
            let t = self.e.now() + bytes;
            self.e.set_time(t);
        }
        /// One layer, 2 rows of 8 words, in slot 0; a started batch.
        fn running(&mut self) {
            self.ok(regs::LOOP_CTRL, &[regs::ctrl::FILL]);
            self.ok(regs::LAYER_TABLE, &[2 << 16, 8]);
            self.ok(regs::INFER_LAYERS, &[1]);
            self.ok(regs::INFER_CTRL, &[regs::INFER_START]);
            assert_ne!(self.status() & infer_bits::BUSY, 0);
        }
    }

    #[test]
    fn busy_engine_refuses_table_params_inputs_start_and_outputs() {
        // A lap of 10^6 clocks: the batch stays busy for the whole test.
        let mut g = Rig::new(4, 1_000_000);
        g.ok(regs::MODEL_TAG, &[7]);
        g.running();
        let refused: [(u32, &[u32]); 6] = [
            (regs::LAYER_TABLE, &[1, 2]),
            (regs::LAYER_TABLE + 3, &[5]),
            (regs::INFER_LAYERS, &[3]),
            (regs::PARAM_MEM + 6, &[0x100, 0]),
            (regs::ACT_IN + 1030, &[0x0102]),
            (regs::INFER_CTRL, &[regs::INFER_START]),
        ];
        let executed = g.e.link_counters()[link::EXECUTED as usize];
        for (addr, data) in refused {
            let h = g.w(addr, data);
            assert_eq!((h.code, h.addr), (status::BUSY, addr), "0x{addr:x}");
        }
        // A burst from the tag into the table stops at the table: the tag
        // words before it stay written.
        let h = g.w(regs::MODEL_TAG, &[9; 10]);
        assert_eq!((h.code, h.addr), (status::BUSY, regs::LAYER_TABLE));
        assert_eq!(g.r(regs::MODEL_TAG, 8).1, vec![9; 8]);
        g.ok(regs::MODEL_TAG, &[0]);
        let (h, _) = g.r(regs::ACT_OUT, 4);
        assert_eq!((h.code, h.addr), (status::BUSY, regs::ACT_OUT));
        // (Address checks come first: a read from ACT_IN is no read at all.)
        let (h, _) = g.r(regs::ACT_OUT - 2, 4);
        assert_eq!((h.code, h.addr), (status::BAD_ADDRESS, regs::ACT_OUT - 2));
        assert_eq!(
            g.e.link_counters()[link::EXECUTED as usize],
            executed + 2,
            "BUSY executes nothing (the 2 are the tag's read and rewrite)"
        );
        // Nothing changed.
        assert_eq!(g.r(regs::LAYER_TABLE, 4).1, vec![2 << 16, 8, 0, 0]);
        assert_eq!(g.r(regs::INFER_LAYERS, 1).1, vec![1]);
        assert_eq!(g.r(regs::MODEL_TAG, 1).1, vec![0], "the fill cleared it");
        assert_eq!(g.e.backend().engine.param(1), ParamEntry::default());
        assert_eq!(g.e.backend().engine.write_bank(1)[12], 0);
        // Everything else works while busy.
        g.ok(regs::MODEL_TAG, &[5, 6]);
        g.ok(regs::SCRATCH_MEM, &[1, 2, 3]);
        assert_eq!(g.r(regs::INFER_BATCH, 1).1, vec![8]);
        assert_eq!(g.r(regs::MODEL_TAG, 2).1, vec![5, 6]);
        // Once done, the same requests are taken.
        g.time_passes(2_000_000 / 10 + 1);
        assert_eq!(g.status(), infer_bits::DONE);
        g.ok(regs::INFER_LAYERS, &[2]);
        assert_eq!(g.r(regs::ACT_OUT, 4).0.code, status::OK);
    }

    #[test]
    fn out_of_range_values_are_refused_and_change_nothing() {
        let mut g = Rig::new(4, 1000);
        for v in [0, regs::MAX_LAYERS + 1, u32::MAX] {
            let h = g.w(regs::INFER_LAYERS, &[v]);
            assert_eq!((h.code, h.addr), (status::BAD_VALUE, regs::INFER_LAYERS));
        }
        assert_eq!(g.r(regs::INFER_LAYERS, 1).1, vec![0]);
        g.ok(regs::INFER_LAYERS, &[regs::MAX_LAYERS]);
        for v in [0, 2, 0x101] {
            let h = g.w(regs::INFER_CTRL, &[v]);
            assert_eq!((h.code, h.addr), (status::BAD_VALUE, regs::INFER_CTRL));
        }
        assert_eq!(g.status() & infer_bits::BUSY, 0, "no batch started");
        // Parameter word 2 with a reserved bit: words before it stay
        // written (the latches), the entry is not entered.
        let e = 3;
        let base = regs::PARAM_MEM + 4 * e;
        let h = g.w(
            base,
            &[100, 200, param_word2::pack(4, -2, true) | 1 << 20, 0],
        );
        assert_eq!((h.code, h.addr), (status::BAD_VALUE, base + 2));
        assert_eq!(
            g.e.backend().engine.param(e as usize),
            ParamEntry::default()
        );
        let h = g.w(base + 2, &[0x20]);
        assert_eq!((h.code, h.addr), (status::BAD_VALUE, base + 2), "bit 5");
        let h = g.w(base + 3, &[1]);
        assert_eq!((h.code, h.addr), (status::BAD_VALUE, base + 3));
        // A good word 2 enters the entry with the latched words 0 and 1.
        g.ok(base + 2, &[param_word2::pack(4, -2, true)]);
        assert_eq!(
            g.e.backend().engine.param(e as usize),
            ParamEntry {
                bias: 100,
                multiplier: 200,
                shift: 4,
                zero_point: -2,
                relu: true
            }
        );
        g.ok(
            base,
            &[
                -5i32 as u32,
                i32::MIN as u32,
                param_word2::pack(31, 127, false),
                0,
            ],
        );
        assert_eq!(g.e.backend().engine.param(e as usize).multiplier, i32::MIN);
        assert_eq!(g.e.backend().engine.param(e as usize).bias, -5);
        // Inputs: bits 31:16 must be 0; the burst stops at the bad word.
        let a = regs::act_addr(regs::ACT_IN, 2, 10);
        let h = g.w(a, &[0x0201, 0x1_0000, 0x0403]);
        assert_eq!((h.code, h.addr), (status::BAD_VALUE, a + 1));
        let bank = g.e.backend().engine.write_bank(2);
        assert_eq!(&bank[20..24], &[1, 2, 0, 0]);
    }

    #[test]
    fn write_only_and_read_only_words_are_refused() {
        let mut g = Rig::new(4, 1000);
        for a in [regs::INFER_CTRL, regs::PARAM_MEM + 5, regs::ACT_IN + 9] {
            let (h, _) = g.r(a, 1);
            assert_eq!((h.code, h.addr), (status::BAD_ADDRESS, a), "read 0x{a:x}");
        }
        for a in [regs::INFER_STATUS, regs::INFER_BATCH, regs::ACT_OUT + 3] {
            let h = g.w(a, &[0]);
            assert_eq!((h.code, h.addr), (status::BAD_ADDRESS, a), "write 0x{a:x}");
        }
        // The old reserved ranges are gone.
        let (h, _) = g.r(0x0C00, 1);
        assert_eq!(h.code, status::BAD_ADDRESS);
        let (h, _) = g.r(regs::INFER_STATUS, 3);
        assert_eq!(h.code, status::OK);
    }

    #[test]
    fn fill_clears_the_model_tag_word_0_only() {
        let mut g = Rig::new(4, 1000);
        let tag = [0xC0FF_EE00, 64, 10, 2, 13, 0, 0, 9];
        g.ok(regs::MODEL_TAG, &tag);
        assert_eq!(g.r(regs::MODEL_TAG, 8).1, tag);
        // IDLE is refused (the controller has no such command) and changes
        // nothing; RUN while not running likewise.
        for c in [regs::ctrl::IDLE, regs::ctrl::RUN] {
            assert_eq!(g.w(regs::LOOP_CTRL, &[c]).code, status::BAD_VALUE);
        }
        assert_eq!(
            g.r(regs::MODEL_TAG, 1).1,
            vec![tag[0]],
            "a refused command keeps it"
        );
        g.ok(regs::LOOP_CTRL, &[regs::ctrl::FILL]);
        let mut want = tag;
        want[0] = 0;
        assert_eq!(g.r(regs::MODEL_TAG, 8).1, want);
    }

    #[test]
    fn start_with_no_layers_is_a_fault() {
        let mut g = Rig::new(4, 1000);
        g.ok(regs::LOOP_CTRL, &[regs::ctrl::FILL]);
        let h = g.w(regs::INFER_CTRL, &[regs::INFER_START]);
        assert_eq!((h.code, h.addr), (status::FAULT, regs::INFER_CTRL));
        assert_eq!(g.status(), 0, "not busy, not done");
    }

    #[test]
    fn table_words_enter_with_the_high_word() {
        let mut g = Rig::new(4, 1000);
        let lo = 3 | 7 << 16;
        g.ok(regs::LAYER_TABLE + 4, &[lo]);
        assert_eq!(g.e.backend().engine.table_entry(2), LayerEntry::default());
        g.ok(regs::LAYER_TABLE + 5, &[16 | 40 << 16]);
        let want = LayerEntry {
            first_slot: 3,
            rows: 7,
            row_words: 16,
            param_base: 40,
        };
        assert_eq!(g.e.backend().engine.table_entry(2), want);
        assert_eq!(g.r(regs::LAYER_TABLE + 4, 2).1, vec![lo, 16 | 40 << 16]);
        // The high word of another layer takes the last low word written.
        g.ok(regs::LAYER_TABLE + 7, &[9]);
        assert_eq!(g.e.backend().engine.table_entry(3).first_slot, 3);
        // Each table word reads back as written there (as the register
        // file's table copy does): layer 3's low word never was.
        assert_eq!(g.r(regs::LAYER_TABLE + 6, 2).1, vec![0, 9]);
    }

    /// The functional engine against the reference: the digits network
    /// written through the registers into a RAM loop, every shipped input.
    #[test]
    fn ram_engine_computes_the_reference_outputs() {
        use crate::model::Network;
        use fiberloop_spec::layout::Params;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/digits");
        let net = Network::load(dir.join("model.safetensors")).unwrap();
        let inputs = net.read_inputs(dir.join("inputs.npy")).unwrap();
        let want = net.infer(&inputs).unwrap();
        // 14 slots: one more than the plan, so the layers start anywhere.
        let mut g = Rig::new(14, 500);
        g.ok(regs::LOOP_CTRL, &[regs::ctrl::FILL]);
        let plan = net.plan(Params::default(), 14).unwrap();
        for (slot, img) in net.slot_images(&plan).unwrap().iter().enumerate() {
            let mut w: Vec<u32> = img
                .chunks(4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            w.extend([slot as u32, 1]);
            g.ok(regs::SLOT_WR_BUF, &w);
        }
        let layers = net.engine_layers(&plan);
        for (k, l) in layers.iter().enumerate() {
            let e = l.entry;
            g.ok(
                regs::LAYER_TABLE + 2 * k as u32,
                &[
                    e.first_slot as u32 | (e.rows as u32) << 16,
                    e.row_words as u32 | (e.param_base as u32) << 16,
                ],
            );
            let words: Vec<u32> = l
                .params
                .iter()
                .flat_map(|p| {
                    [
                        p.bias as u32,
                        p.multiplier as u32,
                        param_word2::pack(p.shift, p.zero_point, p.relu),
                        0,
                    ]
                })
                .collect();
            g.ok(regs::PARAM_MEM + 4 * e.param_base as u32, &words);
        }
        g.ok(regs::INFER_LAYERS, &[layers.len() as u32]);
        let (w_in, w_out) = (net.input_width(), net.output_width());
        for first in (0..inputs.rows()).step_by(8) {
            let rows = (inputs.rows() - first).min(8);
            for b in 0..rows {
                let x = inputs.row(first + b);
                let words: Vec<u32> = x
                    .chunks(2)
                    .map(|p| p[0] as u8 as u32 | (*p.get(1).unwrap_or(&0) as u8 as u32) << 8)
                    .collect();
                g.ok(regs::act_addr(regs::ACT_IN, b as u32, 0), &words);
            }
            g.ok(regs::INFER_CTRL, &[regs::INFER_START]);
            let mut polls = 0;
            while g.status() & infer_bits::BUSY != 0 {
                polls += 1;
                assert!(polls < 1000);
            }
            assert_eq!(g.status(), infer_bits::DONE);
            for b in 0..rows {
                let (h, d) = g.r(
                    regs::act_addr(regs::ACT_OUT, b as u32, 0),
                    w_out.div_ceil(2) as u16,
                );
                assert_eq!(h.code, status::OK);
                let got: Vec<i8> = d
                    .iter()
                    .flat_map(|w| [*w as u8 as i8, (*w >> 8) as u8 as i8])
                    .take(w_out)
                    .collect();
                assert_eq!(got, want.row(first + b), "input {}", first + b);
                assert!(d.iter().all(|w| w >> 16 == 0));
            }
        }
        assert!(w_in <= 2 * regs::ACT_ROW_WORDS as usize);
    }
}

//! The host protocol end to end: the simulated board served on a
//! pseudo-terminal and on TCP by the `fiberloop` binary, a damaged link, and
//! the receivers fuzzed with arbitrary bytes.

use fiberloop::device::client::{Client, ClientConfig};
use fiberloop::device::engine::{Engine, EngineConfig, RamBackend};
use fiberloop::device::lossy::{Lossy, LossyConfig};
use fiberloop::device::model_board::SimTransport;
use fiberloop::device::serial::SerialTransport;
use fiberloop::device::tcp::TcpTransport;
use fiberloop_spec::frame::PAYLOAD_BYTES;
use fiberloop_spec::proto::{self, cmd, Direction, Event, Header, Parser};
use fiberloop_spec::regs;
use proptest::prelude::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `fiberloop sim serve` child, killed when dropped.
struct Server {
    child: Child,
    /// What it printed first: the pty path or the TCP address.
    at: String,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fiberloop"))
            .args(["sim", "serve"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let at = line.trim().to_string();
        assert!(!at.is_empty(), "server printed nothing");
        Server { child, at }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pattern(n: usize, seed: u32) -> Vec<u32> {
    (0..n as u32)
        .map(|i| (i ^ seed).wrapping_mul(0x9E37_79B1).rotate_left(i % 31))
        .collect()
}

#[test]
fn pty_board_does_bursts_slots_and_stats() {
    let s = Server::start(&["--pty", "--fiber-km", "0.2"]);
    let t = SerialTransport::open(&s.at, 3_000_000).unwrap();
    let mut c = Client::new(
        t,
        ClientConfig {
            // The first fill runs the Verilator model for a while.
            timeout: Duration::from_secs(60),
            retries: 1,
            ..Default::default()
        },
    );
    let id = c.ping().unwrap();
    assert_eq!(id.id, regs::ID_VALUE);
    c.fill().unwrap();
    let data = pattern(1024, 1);
    c.write_block(regs::SCRATCH_MEM, &data).unwrap();
    assert_eq!(c.read_block(regs::SCRATCH_MEM, 1024).unwrap(), data);
    let payload: Vec<u8> = (0..PAYLOAD_BYTES).map(|i| (i * 13 + 5) as u8).collect();
    c.write_slot(2, &payload).unwrap();
    let slot = c.read_slot(2).unwrap();
    assert_eq!(slot.payload, payload, "slot 2 through the simulated loop");
    let k = c.counters().unwrap();
    assert_eq!(
        k.loop_status & regs::status_bits::MODE_MASK,
        regs::status_bits::MODE_RUNNING
    );
    assert!(k.loop_counters[regs::counter::IN_FLIGHT as usize] > 2);
    assert!(k.loop_counters[regs::counter::DELAY_CLOCKS as usize] > 0);
    assert!(k.loop_counters[regs::counter::FRAMES as usize] > 0);
    assert!(k.link[regs::link::EXECUTED as usize] >= 8);
    assert_eq!(k.link[regs::link::HEADER_CRC as usize], 0);
    assert_eq!(c.stats().retries, 0);
}

#[test]
fn tcp_board_does_bursts_and_stats() {
    let s = Server::start(&["--tcp", "127.0.0.1:0", "--backend", "ram"]);
    let mut c = Client::new(
        TcpTransport::connect(&s.at).unwrap(),
        ClientConfig::default(),
    );
    c.ping().unwrap();
    let data = pattern(4096, 2);
    for chunk in data.chunks(1024) {
        c.write_block(regs::SCRATCH_MEM, chunk).unwrap();
        assert_eq!(c.read_block(regs::SCRATCH_MEM, 1024).unwrap(), chunk);
    }
    assert_eq!(c.stats().requests, 1 + 4 + 4, "ping and 4 KiB bursts");
    let k = c.counters().unwrap();
    assert_eq!(k.link[regs::link::EXECUTED as usize], 11);
    // A second client after the first leaves finds the same board.
    drop(c);
    let mut c = Client::new(
        TcpTransport::connect(&s.at).unwrap(),
        ClientConfig::default(),
    );
    assert_eq!(c.read_block(regs::SCRATCH_MEM, 1024).unwrap(), data[3072..]);
}

fn ram_board() -> SimTransport<RamBackend> {
    SimTransport::new(
        Engine::new(RamBackend::new(32, 5000), EngineConfig::uart(3_000_000, 2)),
        3_000_000,
    )
}

#[test]
fn damaged_link_still_gives_bit_exact_bursts() {
    let t = Lossy::new(
        ram_board(),
        LossyConfig {
            drop: 2e-5,
            corrupt: 5e-5,
            seed: 7,
        },
    );
    let mut c = Client::new(
        t,
        ClientConfig {
            timeout: Duration::from_millis(20),
            retries: 10,
            ..Default::default()
        },
    );
    c.fill().unwrap();
    for round in 0..4u32 {
        let data = pattern(6144, round);
        for chunk in data.chunks(1024) {
            c.write_block(regs::SCRATCH_MEM, chunk).unwrap();
            assert_eq!(c.read_block(regs::SCRATCH_MEM, 1024).unwrap(), chunk);
        }
        let p: Vec<u8> = (0..PAYLOAD_BYTES as u32)
            .map(|i| (i + round) as u8)
            .collect();
        c.write_slot(round, &p).unwrap();
        assert_eq!(c.read_slot(round).unwrap().payload, p);
    }
    let damage = c.transport().damage();
    assert!(damage.dropped > 0 && damage.corrupted > 0, "{damage:?}");
    assert!(c.stats().retries > 0, "{:?}", c.stats());
    // Every slot write executed exactly once although some were retried.
    let ram = c.transport().inner().engine().backend();
    assert_eq!(ram.slot_writes, 4);
    let link = c.transport().inner().engine().link_counters();
    eprintln!(
        "damage {damage:?}, client {:?}, board link {link:?}",
        c.stats()
    );
}

fn valid_write(seq: u8, addr: u32, words: &[u32]) -> Vec<u8> {
    let payload: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let h = Header {
        seq,
        code: cmd::WRITE,
        addr,
        len: words.len() as u16,
    };
    let mut out = vec![0; proto::MAX_FRAME_BYTES];
    let n = proto::encode(Direction::Request, &h, &payload, &mut out).unwrap();
    out.truncate(n);
    out
}

/// The scratch words after the engine received `segments`, each after a
/// silence longer than the partial-frame timeout; and the replies it sent.
fn scratch_after(segments: &[&[u8]]) -> (Vec<u32>, usize) {
    let mut e = Engine::new(
        RamBackend::new(4, 100),
        EngineConfig {
            timeout_bytes: 64,
            clocks_per_byte: 1,
        },
    );
    let mut out = vec![];
    let mut t = 0;
    for seg in segments {
        t += 1000;
        for b in seg.iter() {
            t += 1;
            e.feed(&[*b], t, &mut out);
        }
    }
    e.set_time(t + 1000);
    let replies = {
        let mut p = Parser::new(Direction::Reply, u64::MAX);
        out.iter()
            .filter(|&&b| matches!(p.push(b, 0), Some(Event::Frame(_))))
            .count()
    };
    // Read the scratch words through a fresh, valid request.
    let mut c = Client::new(SimTransport::new(e, 3_000_000), ClientConfig::default());
    (c.read_block(regs::SCRATCH, 8).unwrap(), replies)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn parsers_survive_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..6000)) {
        for dir in [Direction::Request, Direction::Reply] {
            let mut p = Parser::new(dir, 50);
            let mut frames = 0;
            for (i, &b) in bytes.iter().enumerate() {
                if let Some(Event::Frame(h)) = p.push(b, i as u64 * 3) {
                    frames += 1;
                    prop_assert!(p.payload().len() <= proto::MAX_PAYLOAD_BYTES);
                    prop_assert_eq!(p.payload().len(), h.payload_words(dir).map_or(0, |n| n * 4));
                }
            }
            // Random bytes essentially never pass a 32-bit header check.
            prop_assert!(frames <= 1);
        }
    }

    #[test]
    fn engine_acts_on_no_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let (scratch, _) = scratch_after(&[&bytes]);
        prop_assert_eq!(scratch, vec![0; 8]);
    }

    #[test]
    fn a_write_with_any_byte_changed_is_not_executed(
        words in proptest::collection::vec(1u32.., 1..=8),
        pos in any::<proptest::sample::Index>(),
        flip in 1u8..,
        noise in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut frame = valid_write(5, regs::SCRATCH, &words);
        let i = pos.index(frame.len());
        frame[i] ^= flip;
        let (scratch, _) = scratch_after(&[&noise, &frame]);
        prop_assert_eq!(scratch, vec![0; 8], "byte {} ^ {:#x} executed", i, flip);
        // The same frame undamaged, after the same noise, is executed.
        let good = valid_write(5, regs::SCRATCH, &words);
        let (scratch, replies) = scratch_after(&[&noise, &good]);
        prop_assert_eq!(&scratch[..words.len()], &words[..]);
        prop_assert_eq!(replies, 1);
    }
}

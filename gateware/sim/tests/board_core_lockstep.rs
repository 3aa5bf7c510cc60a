//! `BoardCore` in lockstep with the one model of the board's control side:
//! seeded random requests go to the Verilated board over its USB FIFO port
//! and, byte for byte, to `EngineModel<RegFileModel<RamBackend>>` (the
//! command engine's and the register file's models over a loop in memory);
//! every reply byte must be the same, and so must the lack of one.
//!
//! The traffic is what does not depend on the loop's timing (the loop is
//! never filled): identification, scratch words and memory, the model tag,
//! the layer table and layer count, parameter entries (good and reserved
//! bits), input words (good and too wide), engine outputs and status, the
//! slot buffers and slot numbers with their commit and request refused,
//! `LOOP_CTRL` and `INFER_CTRL` values, the fill timeout, the link
//! counters; bursts crossing region ends, addresses outside the map, bad
//! lengths and command codes; frames with a flipped bit, cut short, or
//! sent twice (a retried WRITE is answered from memory).

use fiberloop_gateware::hostif::cmd_engine::EngineModel;
use fiberloop_gateware::top::loop_model::RamBackend;
use fiberloop_gateware::top::reg_file_model::RegFileModel;
use fiberloop_sim::board_sim::{BoardConfig, BoardSim, HostLink, SimTop};
use fiberloop_sim::fiber::FiberConfig;
use fiberloop_spec::proto::{cmd, encode, Direction, Header, MAX_FRAME_BYTES};
use fiberloop_spec::regs::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Model time for one request byte; the model's partial-frame timeout is
/// far beyond any frame, and a cut frame is followed by a jump past it (the
/// board's own timeout passes while it is run quiet).
const MODEL_TIMEOUT: u64 = 1 << 32;

/// A request: where, what, and how it is damaged.
#[derive(Debug, Clone)]
struct Item {
    code: u8,
    addr: u32,
    len: u16,
    data: Vec<u32>,
    damage: Damage,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Damage {
    None,
    /// One bit flipped somewhere in the frame.
    Flip,
    /// The frame cut short.
    Cut,
}

/// Word values for a register: mostly good, sometimes what the map refuses.
fn value_for(rng: &mut ChaCha8Rng, addr: u32) -> u32 {
    let any = rng.gen_bool(0.2);
    match addr {
        LOOP_CTRL => [ctrl::IDLE, ctrl::MEASURE, ctrl::RUN, 4, rng.gen()][rng.gen_range(0..5)],
        INFER_CTRL => [0, 2, INFER_START | 2, rng.gen()][rng.gen_range(0..4)],
        INFER_LAYERS => rng.gen_range(0..12),
        a if (PARAM_MEM..PARAM_MEM + PARAM_MEM_WORDS).contains(&a) && !any => {
            match (a - PARAM_MEM) % PARAM_ENTRY_WORDS {
                2 => param_word2::pack(rng.gen_range(0..32), rng.gen(), rng.gen()),
                3 => 0,
                _ => rng.gen(),
            }
        }
        a if (ACT_IN..ACT_IN + ACT_IN_WORDS).contains(&a) && !any => rng.gen::<u16>() as u32,
        a if (SLOT_WR_SLOT..=SLOT_WR_SLOT).contains(&a) && !any => rng.gen_range(0..4),
        a if a == SLOT_RD_SLOT && !any => rng.gen_range(0..4),
        _ => rng.gen(),
    }
}

/// Where requests go: every region whose answers do not depend on the
/// loop's timing, and some places outside the map.
fn pick_addr(rng: &mut ChaCha8Rng) -> (u32, u32) {
    // (first word, words in the region)
    let regions: [(u32, u32); 20] = [
        (ID, 4),
        (SCRATCH, SCRATCH_WORDS),
        (SCRATCH_MEM, SCRATCH_MEM_WORDS),
        (MODEL_TAG, MODEL_TAG_WORDS),
        (LAYER_TABLE, LAYER_TABLE_WORDS),
        (INFER_LAYERS, 1),
        (INFER_BATCH, 1),
        (INFER_STATUS, 1),
        (INFER_CTRL, 1),
        (PARAM_MEM, PARAM_MEM_WORDS),
        (ACT_IN, ACT_IN_WORDS),
        (ACT_OUT, ACT_OUT_WORDS),
        (LOOP_CTRL, 1),
        (FILL_TIMEOUT, 1),
        (SLOT_WR_BUF, SLOT_WORDS + 2),
        (SLOT_RD_BUF, SLOT_WORDS + 4),
        (LINK, LINK_WORDS),
        (rng.gen::<u32>(), 1),
        (0x0005, 3),
        (0x3000 + rng.gen_range(0..0x1000), 1),
    ];
    let (base, words) = regions[rng.gen_range(0..regions.len())];
    // Mostly inside the region; sometimes its last words, to cross its end.
    let off = if rng.gen_bool(0.15) {
        words.saturating_sub(rng.gen_range(1..4))
    } else {
        rng.gen_range(0..words)
    };
    (base.wrapping_add(off), words - off.min(words))
}

fn random_item(rng: &mut ChaCha8Rng) -> Item {
    let (addr, room) = pick_addr(rng);
    let code = match rng.gen_range(0..100) {
        0..=44 => cmd::READ,
        45..=92 => cmd::WRITE,
        93..=95 => cmd::PING,
        _ => rng.gen_range(4..=255),
    };
    let mut len = match rng.gen_range(0..100) {
        0..=59 => rng.gen_range(1..=room.clamp(1, 16)),
        60..=94 => rng.gen_range(1..=room.clamp(1, 48) + 2),
        95..=97 => 0,
        _ => rng.gen_range(1025..1100),
    } as u16;
    if code == cmd::PING && rng.gen_bool(0.8) {
        len = 0;
    }
    let data = if code == cmd::WRITE && len as usize <= 64 {
        (0..len as u32)
            .map(|k| value_for(rng, addr.wrapping_add(k)))
            .collect()
    } else {
        Vec::new()
    };
    let damage = match rng.gen_range(0..100) {
        0..=5 => Damage::Flip,
        6..=8 => Damage::Cut,
        _ => Damage::None,
    };
    Item {
        code,
        addr,
        len,
        data,
        damage,
    }
}

fn frame(seq: u8, it: &Item, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let h = Header {
        seq,
        code: it.code,
        addr: it.addr,
        len: it.len,
    };
    let bytes: Vec<u8> = it.data.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut buf = vec![0u8; MAX_FRAME_BYTES];
    let n = encode(Direction::Request, &h, &bytes, &mut buf).expect("encode the request");
    buf.truncate(n);
    match it.damage {
        Damage::None => {}
        Damage::Flip => {
            let i = rng.gen_range(0..buf.len());
            buf[i] ^= 1 << rng.gen_range(0..8);
        }
        Damage::Cut => {
            let keep = rng.gen_range(1..buf.len());
            buf.truncate(keep);
        }
    }
    buf
}

#[test]
fn board_core_replies_as_its_model_byte_for_byte() {
    let fiber = FiberConfig {
        length_m: 100.0,
        ..Default::default()
    };
    let cfg = BoardConfig {
        clocks_per_bit: 4,
        timeout_clocks: 2560,
        link: HostLink::Usb,
        top: SimTop::BoardCore,
    };
    let mut hw = BoardSim::new(fiber, cfg).expect("build the board model");
    // The loop is never filled: its slot count and lap length do not matter.
    let mut model = EngineModel::with_regs(MODEL_TIMEOUT, RegFileModel::new(RamBackend::new(4, 1)));
    model.log_bus = false;
    let mut rng = ChaCha8Rng::seed_from_u64(0xB0A2_D001);
    let mut now = 0u64;
    let (mut seq, mut replies, mut silent, mut replays) = (0u8, 0u32, 0u32, 0u32);
    let mut statuses = std::collections::BTreeMap::<u8, u32>::new();
    let mut last_write: Option<Vec<u8>> = None;
    // Every request sent, to say which earlier ones touched the words of
    // one whose reply differs.
    let mut sent: Vec<(usize, Item)> = Vec::new();
    for item_no in 0..600 {
        // One in twelve requests repeats the last whole WRITE frame.
        let (bytes, what) = match (&last_write, rng.gen_range(0..12)) {
            (Some(w), 0) => {
                replays += 1;
                (w.clone(), "the last WRITE again".to_string())
            }
            _ => {
                seq = seq.wrapping_add(1);
                let it = random_item(&mut rng);
                let bytes = frame(seq, &it, &mut rng);
                if it.code == cmd::WRITE && it.damage == Damage::None {
                    last_write = Some(bytes.clone());
                }
                sent.push((item_no, it.clone()));
                (bytes, format!("{it:?}"))
            }
        };
        let mut want = Vec::new();
        for &b in &bytes {
            now += 1;
            model.push(b, now, &mut want);
        }
        hw.send(&bytes);
        if want.is_empty() {
            // Nothing may come back: run past the board's timeout and past
            // anything it could still say, and drop the partial frame.
            hw.run(hw.quiet_clocks());
            now += MODEL_TIMEOUT + 1;
            model.poll(now);
            silent += 1;
        } else {
            while hw.received() < want.len() {
                assert!(
                    hw.run_until_reply(4 * hw.quiet_clocks()),
                    "request {item_no} ({what}): no reply, the model gave {want:02x?}"
                );
            }
            hw.run(200);
            replies += 1;
            *statuses.entry(want[3]).or_default() += 1;
        }
        let got = hw.take_received();
        if got != want {
            let this = &sent.last().expect("a request").1;
            let span = |i: &Item| (i.addr as u64, i.addr as u64 + i.len.max(1) as u64);
            let (a, b) = span(this);
            let before: Vec<_> = sent
                .iter()
                .filter(|(_, i)| i.code == cmd::WRITE && !i.data.is_empty())
                .filter(|(_, i)| span(i).0 < b && a < span(i).1)
                .map(|(n, i)| format!("\n  request {n}: WRITE 0x{:x} {:08x?}", i.addr, i.data))
                .collect();
            let before = &before[before.len().saturating_sub(6)..];
            panic!(
                "request {item_no} ({what}): reply bytes differ\n hardware {got:02x?}\n model    \
                 {want:02x?}\n earlier WRITEs to these words: {}",
                before.concat()
            );
        }
    }
    // The link counters agree too, read over the same link.
    let link_read = Item {
        code: cmd::READ,
        addr: LINK,
        len: LINK_WORDS as u16,
        data: Vec::new(),
        damage: Damage::None,
    };
    let bytes = frame(seq.wrapping_add(1), &link_read, &mut rng);
    let mut want = Vec::new();
    for &b in &bytes {
        now += 1;
        model.push(b, now, &mut want);
    }
    hw.send(&bytes);
    while hw.received() < want.len() {
        assert!(
            hw.run_until_reply(4 * hw.quiet_clocks()),
            "no reply to the LINK read"
        );
    }
    hw.run(200);
    assert_eq!(hw.take_received(), want, "the link counters");
    println!(
        "{replies} replies (by status {statuses:?}), {silent} requests unanswered, \
         {replays} repeated WRITEs, {} board clocks; model counts {:?}",
        hw.clocks(),
        model.counts
    );
    // The traffic reached what it was meant to.
    assert!(replies > 400 && silent > 30 && replays > 25);
    assert!(model.counts.replays > 5 && model.counts.header_crc > 3);
    assert!(
        statuses.values().filter(|&&n| n > 5).count() >= 4,
        "{statuses:?}"
    );
}

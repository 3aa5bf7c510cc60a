//! `BoardCore` (the board top without SERDES) in Verilator with the fiber
//! model, driven through its own UART and USB FIFO port by `BoardSim`: every
//! register, a whole network inferred bit exact, and both links sharing the
//! one command engine.

use fiberloop_gateware::infer::engine::{ParamEntry, DRAIN_CLOCKS};
use fiberloop_gateware::infer::sequencer::LayerEntry;
use fiberloop_gateware::top::loop_core::ENGINE_BATCH;
use fiberloop_sim::board_sim::HostLink;
use fiberloop_spec::layout::{LayerShape, Params, Planner, SLOT_WORDS as PAYLOAD_HALVES};
use fiberloop_spec::proto::cmd;
use fiberloop_spec::proto::{status, MAX_BURST_WORDS};
use fiberloop_spec::quant::{dot, Requant};
use fiberloop_spec::regs::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;
use common::Host;

/// Every register of the map through the real UART, command engine and
/// register file, and every refusal the map promises.
#[test]
fn registers_answer_as_the_map_says() {
    let mut h = Host::new(1.0);
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    // Identification, through PING and READ.
    let (st, _, id) = h.transact(cmd::PING, 0, 0, &[]);
    assert_eq!(st, status::OK);
    assert_eq!(
        id,
        vec![ID_VALUE, VERSION_VALUE, MAX_BURST_WORDS as u32, SLOT_WORDS]
    );
    assert_eq!(h.read(INFER_BATCH, 1), vec![ENGINE_BATCH as u32]);
    assert_eq!(h.read(FILL_TIMEOUT, 1), vec![FILL_TIMEOUT_DEFAULT]);
    // Scratch words and the scratch memory keep what is written.
    let s: Vec<u32> = (0..8).map(|_| rng.gen()).collect();
    assert_eq!(h.write(SCRATCH, &s), status::OK);
    let mem: Vec<u32> = (0..SCRATCH_MEM_WORDS).map(|_| rng.gen()).collect();
    assert_eq!(h.write(SCRATCH_MEM, &mem), status::OK);
    assert_eq!(h.read(SCRATCH, 8), s);
    assert_eq!(h.read(SCRATCH_MEM, SCRATCH_MEM_WORDS as usize), mem);
    assert_eq!(h.read(SCRATCH_MEM + 700, 3), mem[700..703].to_vec());
    // Refusals before the loop runs.
    assert_eq!(h.write(LOOP_CTRL, &[ctrl::RUN]), status::BAD_VALUE);
    assert_eq!(h.write(LOOP_CTRL, &[ctrl::IDLE]), status::BAD_VALUE);
    assert_eq!(h.write(LOOP_CTRL, &[7]), status::BAD_VALUE);
    assert_eq!(
        h.read(LOOP_CTRL, 1),
        vec![0],
        "a refused write changes nothing"
    );
    assert_eq!(h.write(SLOT_WR_COMMIT, &[1]), status::FAULT);
    assert_eq!(h.write(SLOT_RD_REQUEST, &[1]), status::FAULT);
    assert_eq!(h.write(INFER_LAYERS, &[0]), status::BAD_VALUE);
    assert_eq!(h.write(INFER_LAYERS, &[9]), status::BAD_VALUE);
    assert_eq!(h.write(INFER_CTRL, &[INFER_START]), status::FAULT);
    // The engine's registers.
    assert_eq!(h.write(INFER_LAYERS, &[3]), status::OK);
    assert_eq!(h.read(INFER_LAYERS, 1), vec![3]);
    let table: Vec<u32> = (0..16).map(|_| rng.gen()).collect();
    assert_eq!(h.write(LAYER_TABLE, &table), status::OK);
    assert_eq!(h.read(LAYER_TABLE, 16), table);
    let tag: Vec<u32> = (0..8).map(|_| rng.gen::<u32>() | 1).collect();
    assert_eq!(h.write(MODEL_TAG, &tag), status::OK);
    assert_eq!(h.read(MODEL_TAG, 8), tag);
    assert_eq!(h.write(PARAM_MEM, &[1, 2, 0x1_FF1F, 0]), status::OK);
    assert_eq!(h.write(PARAM_MEM + 4, &[1, 2, 0x20, 0]), status::BAD_VALUE);
    assert_eq!(h.write(PARAM_MEM + 4, &[1, 2, 3, 5]), status::BAD_VALUE);
    assert_eq!(h.write(ACT_IN, &[0x1234, 0xFFFF]), status::OK);
    assert_eq!(h.write(ACT_IN + 5, &[0x1_0000]), status::BAD_VALUE);
    let (st, at, _) = h.transact(cmd::READ, PARAM_MEM, 1, &[]);
    assert_eq!((st, at), (status::BAD_ADDRESS, PARAM_MEM));
    let (st, at, _) = h.transact(cmd::WRITE, ACT_OUT + 3, 1, &[0]);
    assert_eq!((st, at), (status::BAD_ADDRESS, ACT_OUT + 3));
    // Fill: the loop runs, the tag's word 0 is cleared.
    let slots = h.fill();
    assert!(slots >= 4, "{slots} slots");
    let mut t2 = tag.clone();
    t2[0] = 0;
    assert_eq!(h.read(MODEL_TAG, 8), t2);
    assert_eq!(h.write(LOOP_CTRL, &[ctrl::RUN]), status::OK);
    // Slots: write two, read them back; a slot beyond the loop is refused.
    let payloads: Vec<Vec<u32>> = (0..2)
        .map(|_| (0..SLOT_WORDS).map(|_| rng.gen()).collect())
        .collect();
    for (k, p) in payloads.iter().enumerate() {
        let mut burst = p.clone();
        burst.extend([slots as u32 - 1 - k as u32, 1]);
        h.write_retry(SLOT_WR_BUF, &burst);
        // The buffer reads back (the copy), once the write is no longer
        // pending.
        assert_eq!(h.read(SLOT_WR_BUF, SLOT_WORDS as usize), *p);
    }
    assert_eq!(h.write(SLOT_WR_SLOT, &[slots as u32]), status::OK);
    h.sim.run(20_000);
    assert_eq!(h.write(SLOT_WR_COMMIT, &[1]), status::BAD_VALUE);
    assert_eq!(h.write(SLOT_RD_SLOT, &[slots as u32, 1]), status::BAD_VALUE);
    for (k, p) in payloads.iter().enumerate() {
        assert_eq!(
            h.write(SLOT_RD_SLOT, &[slots as u32 - 1 - k as u32, 1]),
            status::OK
        );
        // (The slot passes within a lap, about as long as a request
        // takes over this UART: the read may be done already.)
        let d = h.read_retry(SLOT_RD_BUF, SLOT_WORDS as usize + 4);
        assert_eq!(d[..SLOT_WORDS as usize], p[..], "slot {k} read back");
        assert_eq!(d[SLOT_WORDS as usize + 1], 0, "request reads 0 when done");
        assert_eq!(
            d[SLOT_WORDS as usize + 2],
            fiberloop_spec::frame::flags::VALID as u32,
            "flags"
        );
        assert!(h.read(LOOP_STATUS, 1)[0] & status_bits::RD_VALID != 0);
    }
    // Counters: the clock counts, the loop has lapped with every frame
    // corrected (none needed), the tap has seen payload words.
    let c1 = h.counter(counter::CLOCKS);
    let c2 = h.counter(counter::CLOCKS);
    assert!(c2 > c1 && c2 - c1 < 100_000, "{c1} {c2}");
    let laps = h.counter(counter::LAPS);
    assert!(laps > 3, "{laps} laps");
    let frames = h.counter(counter::FRAMES);
    assert!(
        frames >= (laps - 1) * slots,
        "{frames} frames in {laps} laps"
    );
    assert_eq!(h.counter(counter::UNCORRECTABLE), 0);
    assert!(h.counter(counter::TAP_WORDS) > 0);
    let delay = h.counter(counter::DELAY_CLOCKS);
    assert_eq!(
        (delay + fiberloop_gateware::loopctl::controller::LATENCY) / 128,
        slots,
        "slots = ring / frame"
    );
    // A cut: the loop is lost (sticky), the line lost sync; a fill
    // brings it back.
    assert_eq!(h.read(LOOP_STATUS, 1)[0] & status_bits::LOOP_LOST, 0);
    let syncs = h.counter(counter::SYNC_LOSSES);
    let now = h.sim.clocks();
    h.sim.schedule_cut(now + 100, 2 * delay);
    h.sim.run(4 * delay + 2000);
    let st = h.read(LOOP_STATUS, 1)[0];
    assert_ne!(st & status_bits::LOOP_LOST, 0, "status {st:#x} after a cut");
    assert!(h.counter(counter::SYNC_LOSSES) > syncs);
    assert_eq!(h.fill(), slots);
    assert_eq!(h.read(LOOP_STATUS, 1)[0] & status_bits::LOOP_LOST, 0);
    // Link counters: every error reply was counted, none dropped.
    let errors = h.errors;
    let link = h.read(LINK, LINK_WORDS as usize);
    assert_eq!(link[link::ERROR_REPLIES as usize], errors);
    assert_eq!(link[link::HEADER_CRC as usize], 0);
    assert_eq!(link[link::PAYLOAD_CRC as usize], 0);
    assert!(link[link::EXECUTED as usize] > 40);
    assert_eq!(h.sim.framing_errors, 0);
}

struct Net {
    w: Vec<Vec<Vec<i8>>>,
    p: Vec<Vec<ParamEntry>>,
}

fn random_net(rng: &mut ChaCha8Rng, dims: &[usize]) -> Net {
    let mut net = Net {
        w: vec![],
        p: vec![],
    };
    for d in dims.windows(2) {
        net.w.push(
            (0..d[1])
                .map(|_| (0..d[0]).map(|_| rng.gen()).collect())
                .collect(),
        );
        net.p.push(
            (0..d[1])
                .map(|_| ParamEntry {
                    bias: rng.gen_range(-50_000..50_000),
                    multiplier: rng.gen_range((1 << 29)..i32::MAX),
                    shift: rng.gen_range(6..12),
                    zero_point: rng.gen_range(-10..10),
                    relu: rng.gen_bool(0.5),
                })
                .collect(),
        );
    }
    net
}

fn reference(net: &Net, x: &[i8]) -> Vec<i8> {
    let mut a = x.to_vec();
    for (w, p) in net.w.iter().zip(&net.p) {
        a = w
            .iter()
            .zip(p)
            .map(|(row, p)| {
                Requant {
                    multiplier: p.multiplier,
                    shift: p.shift,
                    output_zero_point: p.zero_point,
                    relu: p.relu,
                }
                .apply(dot(p.bias, &a, row))
            })
            .collect();
    }
    a
}

/// A two-layer network loaded and run entirely through the host
/// protocol: slots, layer table, parameters, inputs, start, status,
/// outputs; every output equals the reference. Writes during the
/// batch are refused BUSY.
#[test]
fn a_network_loaded_over_the_uart_infers_bit_exact() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let dims = [37usize, 12, 5];
    let net = random_net(&mut rng, &dims);
    // 30 km: a lap (about 19k clocks) outlasts a few requests over the
    // UART (about 2k clocks each), so a batch, which waits for layer
    // 0's slot, is often still running when the next requests arrive.
    let mut h = Host::new(30.0);
    let t0 = std::time::Instant::now();
    let slots = h.fill() as usize;
    let mut planner = Planner::new(Params {
        batch: ENGINE_BATCH,
        gap_words: DRAIN_CLOCKS + 2,
    })
    .unwrap();
    let places: Vec<_> = dims
        .windows(2)
        .map(|d| {
            planner
                .push(LayerShape {
                    inputs: d[0],
                    outputs: d[1],
                })
                .unwrap()
        })
        .collect();
    planner.check_fits(slots).unwrap();
    // Slot images.
    let mut img = vec![vec![0u8; 2 * PAYLOAD_HALVES]; slots];
    for (k, pl) in places.iter().enumerate() {
        for j in 0..pl.outputs {
            for i in 0..pl.inputs {
                let (s, byte) = pl.locate(j, i).unwrap();
                img[s][byte] = net.w[k][j][i] as u8;
            }
        }
    }
    for (s, bytes) in img.iter().enumerate().take(planner.total_slots()) {
        let mut burst: Vec<u32> = bytes
            .chunks(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        burst.extend([s as u32, 1]);
        h.write_retry(SLOT_WR_BUF, &burst);
    }
    // The last slot write must have gone out before a batch starts.
    while h.read(SLOT_WR_COMMIT, 1)[0] != 0 {
        h.sim.run(1000);
    }
    // Table and parameters.
    let mut table = vec![];
    let mut params = vec![];
    let mut base = 0;
    for (k, pl) in places.iter().enumerate() {
        let e = LayerEntry {
            first_slot: pl.first_slot as u16,
            rows: pl.outputs as u16,
            row_words: pl.row_words as u16,
            param_base: base as u16,
        }
        .pack();
        table.extend([e as u32, (e >> 32) as u32]);
        for p in &net.p[k] {
            params.extend([
                p.bias as u32,
                p.multiplier as u32,
                param_word2::pack(p.shift, p.zero_point, p.relu),
                0,
            ]);
        }
        base += pl.outputs;
    }
    assert_eq!(h.write(LAYER_TABLE, &table), status::OK);
    assert_eq!(h.write(INFER_LAYERS, &[places.len() as u32]), status::OK);
    assert_eq!(h.write(PARAM_MEM, &params), status::OK);
    let mut refused = 0;
    for batch in 0..3 {
        let x: Vec<Vec<i8>> = (0..ENGINE_BATCH)
            .map(|_| (0..dims[0]).map(|_| rng.gen()).collect())
            .collect();
        for (r, xr) in x.iter().enumerate() {
            let words: Vec<u32> = xr
                .chunks(2)
                .map(|c| c[0] as u8 as u32 | (*c.get(1).unwrap_or(&0) as u8 as u32) << 8)
                .collect();
            assert_eq!(h.write(act_addr(ACT_IN, r as u32, 0), &words), status::OK);
        }
        assert_eq!(h.write(INFER_CTRL, &[INFER_START]), status::OK);
        // While the batch runs (busy before and after the request, and
        // busy is one stretch), every engine write and the output read
        // are refused. The batch waits for layer 0's slot, up to a lap.
        // The probes change nothing if the batch has ended: an input
        // word written again with its own value, a start with a bad
        // value (BUSY is checked first), a read.
        let w0 = x[0][0] as u8 as u32 | (x[0][1] as u8 as u32) << 8;
        for op in 0..3 {
            let before = h.read(INFER_STATUS, 1)[0] & infer_bits::BUSY != 0;
            let st = match op {
                0 => h.write(ACT_IN, &[w0]),
                1 => h.write(INFER_CTRL, &[2]),
                _ => h.read_status(ACT_OUT),
            };
            let after = h.read(INFER_STATUS, 1)[0] & infer_bits::BUSY != 0;
            if before && after {
                assert_eq!(st, status::BUSY, "batch {batch}, op {op} while busy");
                refused += 1;
            }
        }
        let mut st = 0;
        for _ in 0..1000 {
            st = h.read(INFER_STATUS, 1)[0];
            if st & infer_bits::BUSY == 0 {
                break;
            }
            h.sim.run(1000);
        }
        assert_eq!(st, infer_bits::DONE, "batch {batch}: status {st:#x}");
        let n_out = *dims.last().unwrap();
        for (r, xr) in x.iter().enumerate() {
            let words = h.read(act_addr(ACT_OUT, r as u32, 0), n_out.div_ceil(2));
            let got: Vec<i8> = (0..n_out)
                .map(|i| (words[i / 2] >> (8 * (i % 2))) as u8 as i8)
                .collect();
            assert_eq!(got, reference(&net, xr), "batch {batch} row {r}");
        }
    }
    assert!(refused > 0, "no request met a running batch");
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "{} word clocks in {dt:.2} s: {:.3} M clocks/s",
        h.sim.clocks(),
        h.sim.clocks() as f64 / dt / 1e6
    );
}

/// The UART and the USB FIFO port reach the same command engine and
/// registers; each reply comes back on its request's link; a request
/// on the UART while a FIFO frame is being served is lost and counted,
/// one on the FIFO port while a UART frame is served waits its turn.
#[test]
fn both_links_share_one_engine() {
    let mut h = Host::new(0.2);
    let mut rng = ChaCha8Rng::seed_from_u64(55);
    // Random stop-and-wait traffic, each request on a random link: a
    // word written on one link reads back on the other.
    let mut mem = vec![0u32; SCRATCH_MEM_WORDS as usize];
    let (mut on_usb, mut on_uart) = (0, 0);
    for _ in 0..40 {
        h.link = if rng.gen_bool(0.5) {
            HostLink::Usb
        } else {
            HostLink::Uart
        };
        *match h.link {
            HostLink::Usb => &mut on_usb,
            HostLink::Uart => &mut on_uart,
        } += 1;
        let at = rng.gen_range(0..SCRATCH_MEM_WORDS - 64);
        let n = rng.gen_range(1..=64);
        if rng.gen_bool(0.5) {
            let d: Vec<u32> = (0..n).map(|_| rng.gen()).collect();
            assert_eq!(h.write(SCRATCH_MEM + at, &d), status::OK);
            mem[at as usize..(at + n) as usize].copy_from_slice(&d);
        } else {
            let d = h.read(SCRATCH_MEM + at, n as usize);
            assert_eq!(d, mem[at as usize..(at + n) as usize], "read at {at}");
        }
    }
    assert!(on_usb > 10 && on_uart > 10);
    // A 1024-word write on the FIFO port, and a READ on the UART a few
    // clocks later: the engine serves the FIFO frame, the UART bytes
    // are lost (the UART host would time out and retry).
    let big: Vec<u32> = (0..SCRATCH_MEM_WORDS).map(|_| rng.gen()).collect();
    h.link = HostLink::Usb;
    let (wh, wf) = h.request(cmd::WRITE, SCRATCH_MEM, big.len() as u16, &big);
    let (_, rf) = h.request(cmd::READ, SCRATCH, 4, &[]);
    h.sim.send_on(HostLink::Usb, &wf);
    h.sim.run(30);
    h.sim.send_on(HostLink::Uart, &rf);
    assert_eq!(h.wait_reply(wh).0, status::OK);
    h.sim.run(20_000);
    assert_eq!(
        h.sim.received_on(HostLink::Uart),
        0,
        "the lost request was answered"
    );
    h.link = HostLink::Uart;
    let lost = h.read(LINK + link::CONTENTION_LOST, 1)[0];
    assert_eq!(lost, rf.len() as u32, "UART bytes lost to the FIFO frame");
    assert_eq!(h.read(SCRATCH_MEM, big.len()), big);
    // The other way round: a UART write, then a FIFO read while it
    // arrives: the FIFO request waits and both are answered.
    let small: Vec<u32> = (0..8).map(|_| rng.gen()).collect();
    let (uh, uf) = h.request(cmd::WRITE, SCRATCH, 8, &small);
    let (fh, ff) = h.request(cmd::READ, SCRATCH_MEM + 100, 16, &[]);
    h.sim.send_on(HostLink::Uart, &uf);
    h.sim.run(200);
    h.sim.send_on(HostLink::Usb, &ff);
    for _ in 0..200_000 {
        if h.sim.received_on(HostLink::Uart) + h.sim.received_on(HostLink::Usb) > 0 {
            break;
        }
        h.sim.step();
    }
    assert_eq!(
        h.sim.received_on(HostLink::Usb),
        0,
        "the FIFO request jumped the queue"
    );
    h.link = HostLink::Uart;
    assert_eq!(h.wait_reply(uh).0, status::OK);
    h.link = HostLink::Usb;
    let (st, _, d) = h.wait_reply(fh);
    assert_eq!((st, d), (status::OK, big[100..116].to_vec()));
    assert_eq!(h.read(SCRATCH, 8), small);
    assert_eq!(h.read(LINK + link::CONTENTION_LOST, 1)[0], lost);
    assert!(
        h.sim.usb_violations().is_empty(),
        "{:?}",
        h.sim.usb_violations()
    );
    assert_eq!(h.sim.framing_errors, 0);
}

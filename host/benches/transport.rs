//! Host payload throughput of the protocol over each transport, against the
//! simulated board (in-memory loop backend, so the link is what is measured).
//!
//! `cargo bench -p fiberloop --bench transport`
//!
//! Serial runs over a pseudo-terminal whose server holds every byte for its
//! line time at 3 Mbaud (10 bits per byte: a ceiling of 300,000 payload-or-
//! framing bytes per second each way), so the fraction printed is what the
//! framing, the replies and the turnarounds leave of the line.

use fiberloop::device::client::{Client, ClientConfig};
use fiberloop::device::engine::{Engine, EngineConfig, RamBackend};
use fiberloop::device::model_board::SimTransport;
use fiberloop::device::serial::SerialTransport;
use fiberloop::device::tcp::TcpTransport;
use fiberloop::device::{SimLink, Transport};
use fiberloop_spec::regs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

struct Server(Child, String);

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fiberloop"))
            .args(["sim", "serve", "--backend", "ram"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start fiberloop sim serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Server(child, line.trim().into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Bytes per second of payload written, then read, in 4 KiB bursts.
fn measure<T: Transport>(c: &mut Client<T>, bytes: usize) -> (f64, f64) {
    let words: Vec<u32> = (0..(bytes / 4) as u32)
        .map(|i| i.wrapping_mul(0x9E37_79B1))
        .collect();
    let window = regs::SCRATCH_MEM_WORDS as usize;
    let t = Instant::now();
    for chunk in words.chunks(window) {
        c.write_block(regs::SCRATCH_MEM, chunk).unwrap();
    }
    let w = bytes as f64 / t.elapsed().as_secs_f64();
    // The window holds the last chunk written.
    let last = words.chunks(window).last().unwrap();
    let t = Instant::now();
    for chunk in words.chunks(window) {
        let got = c.read_block(regs::SCRATCH_MEM, chunk.len()).unwrap();
        assert_eq!(got.len(), chunk.len());
    }
    let r = bytes as f64 / t.elapsed().as_secs_f64();
    assert_eq!(
        &c.read_block(regs::SCRATCH_MEM, last.len()).unwrap()[..],
        last
    );
    (w, r)
}

fn main() {
    let baud = 3_000_000u32;
    let ceiling = baud as f64 / 10.0;
    println!("host payload throughput, 4 KiB bursts (1024 words), stop-and-wait");

    let e = Engine::new(RamBackend::new(64, 50_000), EngineConfig::uart(baud, 100));
    let mut c = Client::new(SimTransport::new(e, baud), ClientConfig::default());
    let (w, r) = measure(&mut c, 8 << 20);
    println!(
        "sim (in-process)     : write {:8.1} MB/s  read {:8.1} MB/s",
        w / 1e6,
        r / 1e6
    );

    let s = Server::start(&["--tcp", "127.0.0.1:0"]);
    let mut c = Client::new(
        TcpTransport::connect(&s.1).unwrap(),
        ClientConfig::default(),
    );
    let (w, r) = measure(&mut c, 8 << 20);
    println!(
        "tcp (loopback)       : write {:8.1} MB/s  read {:8.1} MB/s",
        w / 1e6,
        r / 1e6
    );
    drop(s);

    let s = Server::start(&["--pty"]);
    let mut c = Client::new(
        SerialTransport::open(&s.1, baud).unwrap(),
        ClientConfig::default(),
    );
    let (w, r) = measure(&mut c, 2 << 20);
    println!(
        "serial (pty, unpaced): write {:8.1} MB/s  read {:8.1} MB/s",
        w / 1e6,
        r / 1e6
    );
    drop(s);

    let s = Server::start(&["--pty", "--pace", "--baud", &baud.to_string()]);
    let mut c = Client::new(
        SerialTransport::open(&s.1, baud).unwrap(),
        ClientConfig::default(),
    );
    let (w, r) = measure(&mut c, 512 << 10);
    println!(
        "serial (pty, paced at {} baud, ceiling {:.0} kB/s): write {:.1} kB/s = {:.3} of the line, read {:.1} kB/s = {:.3}",
        baud,
        ceiling / 1e3,
        w / 1e3,
        w / ceiling,
        r / 1e3,
        r / ceiling
    );
    // The gateware board in Verilator, through its UART at 42 word clocks
    // per bit (2.976 Mbaud) and through its USB FIFO port (the FT2232H
    // model, CLKOUT at 62.5 MHz: one byte per CLKOUT at most): payload
    // throughput in simulated time, every byte through the board's own
    // link, command engine and register file; and the host time it takes.
    for link in [SimLink::Uart, SimLink::Usb] {
        gateware_figure(baud, link);
    }
    let frame = fiberloop_spec::proto::MAX_FRAME_BYTES as f64;
    println!(
        "framing bound for 4 KiB writes: {:.4} (4096 payload bytes in {} frame bytes + {} reply bytes)",
        4096.0 / (frame + fiberloop_spec::proto::HEADER_BYTES as f64),
        frame,
        fiberloop_spec::proto::HEADER_BYTES
    );
}

/// Four 4 KiB bursts each way through the gateware board's 1024-word
/// scratch memory over `link`.
fn gateware_figure(baud: u32, link: SimLink) {
    let o = fiberloop::device::SimOptions {
        baud,
        link,
        ..Default::default()
    };
    let mut board = fiberloop::device::gateware_board::BoardTransport::new(&o).unwrap();
    let real_baud = board.sim().config().baud();
    let mut c = Client::new(board, ClientConfig::default());
    let data: Vec<u32> = (0..1024u32).map(|i| i.wrapping_mul(0x9E37_79B9)).collect();
    let h0 = Instant::now();
    let t0 = c.transport_mut().sim().clocks();
    for _ in 0..4 {
        c.write_block(fiberloop_spec::regs::SCRATCH_MEM, &data)
            .unwrap();
    }
    let t1 = c.transport_mut().sim().clocks();
    for _ in 0..4 {
        assert_eq!(
            c.read_block(fiberloop_spec::regs::SCRATCH_MEM, data.len())
                .unwrap(),
            data
        );
    }
    let t2 = c.transport_mut().sim().clocks();
    let host_s = h0.elapsed().as_secs_f64();
    let secs = |clocks: u64| clocks as f64 / 125e6;
    let (name, line) = match link {
        SimLink::Uart => (format!("UART at {real_baud:.0} baud"), real_baud / 10.0),
        SimLink::Usb => ("USB FIFO, CLKOUT 62.5 MHz".to_string(), 62.5e6),
    };
    let (w, r) = (16384.0 / secs(t1 - t0), 16384.0 / secs(t2 - t1));
    println!(
        "gateware board ({name}, simulated time): write {:.1} kB/s = {:.3} of the line, read {:.1} kB/s = {:.3}; host time {:.2} s for 32 KiB ({:.1} kB/s, {:.3} M clocks/s)",
        w / 1e3,
        w / line,
        r / 1e3,
        r / line,
        host_s,
        32.768 / host_s,
        (t2 - t0) as f64 / host_s / 1e6
    );
}

//! The host's side of the protocol over a simulated board's link, shared
//! by the board tests.
#![allow(dead_code)]

use fiberloop_sim::board_sim::{BoardConfig, BoardSim, HostLink, SimTop};
use fiberloop_sim::fiber::FiberConfig;
use fiberloop_spec::proto::status;
use fiberloop_spec::proto::{cmd, encode, Direction, Event, Header, Parser, MAX_FRAME_BYTES};
use fiberloop_spec::regs::*;

/// Word clocks per UART bit of the simulated boards.
pub const CPB: u32 = 4;

/// The host's side of the protocol, over one of the simulated board's
/// links (the UART unless `link` says otherwise).
pub struct Host {
    pub sim: BoardSim,
    pub seq: u8,
    pub errors: u32,
    pub link: HostLink,
}

impl Host {
    pub fn new(km: f64) -> Self {
        Self::on(km, SimTop::BoardCore)
    }

    /// A host on `top` over `km` of clean fiber.
    pub fn on(km: f64, top: SimTop) -> Self {
        Self::with_fiber(
            FiberConfig {
                length_m: km * 1000.0,
                ..Default::default()
            },
            top,
        )
    }

    /// A host on `top` over this fiber.
    pub fn with_fiber(fiber: FiberConfig, top: SimTop) -> Self {
        let cfg = BoardConfig {
            clocks_per_bit: CPB,
            timeout_clocks: 640 * CPB,
            link: HostLink::Uart,
            top,
        };
        Host {
            sim: BoardSim::new(fiber, cfg).expect("build the board model"),
            seq: 0,
            errors: 0,
            link: HostLink::Uart,
        }
    }

    pub fn other(&self) -> HostLink {
        match self.link {
            HostLink::Uart => HostLink::Usb,
            HostLink::Usb => HostLink::Uart,
        }
    }

    pub fn request(&mut self, code: u8, addr: u32, len: u16, data: &[u32]) -> (Header, Vec<u8>) {
        self.seq = self.seq.wrapping_add(1);
        let h = Header {
            seq: self.seq,
            code,
            addr,
            len,
        };
        let bytes: Vec<u8> = data.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut buf = vec![0u8; MAX_FRAME_BYTES];
        let n = encode(Direction::Request, &h, &bytes, &mut buf).unwrap();
        buf.truncate(n);
        (h, buf)
    }

    /// One request on `self.link`, its reply there: (status, address,
    /// payload words). Nothing may come out on the other link.
    pub fn transact(&mut self, code: u8, addr: u32, len: u16, data: &[u32]) -> (u8, u32, Vec<u32>) {
        let (h, frame) = self.request(code, addr, len, data);
        self.sim.send_on(self.link, &frame);
        let r = self.wait_reply(h);
        assert_eq!(
            self.sim.received_on(self.other()),
            0,
            "a reply on the other link"
        );
        r
    }

    /// Waits for the reply to `h` on `self.link`.
    pub fn wait_reply(&mut self, h: Header) -> (u8, u32, Vec<u32>) {
        for _ in 0..20 {
            self.sim.run_until_reply(2_000_000);
            if self.sim.received_on(self.link) > 0 {
                break;
            }
        }
        assert!(self.sim.received_on(self.link) > 0, "no reply to {h:?}");
        let mut p = Parser::new(Direction::Reply, u64::MAX);
        let mut got = None;
        for (t, b) in self.sim.take_received_on(self.link).into_iter().enumerate() {
            if let Some(Event::Frame(r)) = p.push(b, t as u64) {
                let words = p
                    .payload()
                    .chunks_exact(4)
                    .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
                    .collect::<Vec<_>>();
                assert!(got.is_none(), "two replies to one request");
                got = Some((r, words));
            }
        }
        let (r, words) = got.unwrap_or_else(|| panic!("no valid reply frame to {h:?}"));
        assert_eq!(r.seq, h.seq, "reply to another request");
        if r.code != status::OK {
            self.errors += 1;
        }
        (r.code, r.addr, words)
    }

    pub fn write(&mut self, addr: u32, data: &[u32]) -> u8 {
        self.transact(cmd::WRITE, addr, data.len() as u16, data).0
    }

    pub fn read(&mut self, addr: u32, n: usize) -> Vec<u32> {
        let (st, _, d) = self.transact(cmd::READ, addr, n as u16, &[]);
        assert_eq!(st, status::OK, "read of {n} words at 0x{addr:x}");
        d
    }

    pub fn read_status(&mut self, addr: u32) -> u8 {
        self.transact(cmd::READ, addr, 1, &[]).0
    }

    /// Writes with BUSY retried.
    pub fn write_retry(&mut self, addr: u32, data: &[u32]) {
        for _ in 0..1000 {
            match self.write(addr, data) {
                status::OK => return,
                status::BUSY => self.sim.run(500),
                s => panic!("write at 0x{addr:x}: status {s}"),
            }
        }
        panic!("write at 0x{addr:x} busy for good");
    }

    pub fn read_retry(&mut self, addr: u32, n: usize) -> Vec<u32> {
        for _ in 0..1000 {
            let (st, _, d) = self.transact(cmd::READ, addr, n as u16, &[]);
            match st {
                status::OK => return d,
                status::BUSY => self.sim.run(500),
                s => panic!("read at 0x{addr:x}: status {s}"),
            }
        }
        panic!("read at 0x{addr:x} busy for good");
    }

    pub fn counter(&mut self, i: u32) -> u64 {
        let d = self.read(counter_addr(i), 2);
        d[0] as u64 | (d[1] as u64) << 32
    }

    pub fn fill(&mut self) -> u64 {
        assert_eq!(self.write(LOOP_CTRL, &[ctrl::FILL]), status::OK);
        for _ in 0..2000 {
            let s = self.read(LOOP_STATUS, 1)[0];
            if s & status_bits::MODE_MASK == status_bits::MODE_RUNNING {
                return self.counter(counter::IN_FLIGHT);
            }
            assert_eq!(s & status_bits::NO_LOOP, 0, "no loop");
            self.sim.run(2000);
        }
        panic!("the fill did not finish");
    }
}

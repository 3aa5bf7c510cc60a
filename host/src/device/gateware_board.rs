//! The simulated board as the gateware builds it: `BoardCore` (host UART
//! and USB FIFO port, command engine, register file, loop core with the
//! inference engine) in Verilator plus the fiber model
//! ([`fiberloop_sim::board_sim::BoardSim`]), reached in process
//! ([`BoardTransport`], the `sim` device) or over a byte stream
//! ([`serve_board`], `fiberloop sim serve`).
//!
//! Every request byte goes into one of the gateware's host links
//! ([`SimOptions::link`]): its USB FIFO port through a model of the
//! FT2232H's FIFO pins (the default in process: a byte every two word
//! clocks), or its UART receiver as an 8N1 frame at the board's baud (what
//! `sim serve --pty` does; a hundred word clocks a byte at 12.5 Mbaud);
//! every reply byte comes back the same way. The host talks to the same
//! logic the bitstream holds.
//!
//! Time: the simulation runs far slower than a board (about 0.13 M word
//! clocks per second of host time, against 125 M), so simulated time only
//! advances while there is work: bytes to send, or a reply to wait for. The
//! transport simulates until a reply frame has come out whole, or until the
//! board has been quiet long enough that nothing more can come (then it
//! reports itself settled, and the client retries at once instead of
//! waiting out its timeout).

use super::{SimLink, SimOptions, Transport};
use fiberloop_sim::board_sim::{BoardConfig, BoardSim, HostLink, SimTop};
use fiberloop_sim::loop_sim::LoopSimError;
use std::collections::VecDeque;
use std::io;
use std::time::Duration;

/// Most word clocks one wait for a reply may simulate (a whole slot write
/// and its reply take well under 1 M at the slowest baud).
const MAX_WAIT_CLOCKS: u64 = 50_000_000;

/// The simulated board's link for a device string's `link=`.
pub fn host_link(link: SimLink) -> HostLink {
    match link {
        SimLink::Uart => HostLink::Uart,
        SimLink::Usb => HostLink::Usb,
    }
}

/// Builds the simulated board for these options (the Verilator model is
/// built on first use and cached).
pub fn build(o: &SimOptions) -> Result<BoardSim, LoopSimError> {
    let top = match o.board {
        super::SimBoard::Versa => SimTop::versa(),
        _ => SimTop::BoardCore,
    };
    let cfg = BoardConfig::for_baud(o.baud)
        .with_link(host_link(o.link))
        .with_top(top);
    let mut sim = BoardSim::new(o.fiber(), cfg)?;
    if let Some(at) = o.cut_at_ms {
        let clocks = |ms: f64| (ms * 1e-3 * WORD_CLOCK_HZ).round() as u64;
        // Time from when the board is ready for the host (the Versa: its
        // link came up by itself first).
        sim.schedule_cut(sim.clocks() + clocks(at), clocks(o.cut_ms));
    }
    Ok(sim)
}

/// Word clocks per second of simulated time.
const WORD_CLOCK_HZ: f64 =
    fiberloop_spec::line::LINE_RATE_BPS as f64 / fiberloop_spec::line::SERDES_WORD_BITS as f64;

/// The gateware board in process.
pub struct BoardTransport {
    sim: BoardSim,
    out: VecDeque<u8>,
    settled: bool,
}

impl BoardTransport {
    /// The board for these options.
    pub fn new(o: &SimOptions) -> Result<Self, LoopSimError> {
        Ok(Self {
            sim: build(o)?,
            out: VecDeque::new(),
            settled: true,
        })
    }

    /// The simulated board.
    pub fn sim(&mut self) -> &mut BoardSim {
        &mut self.sim
    }
}

impl Transport for BoardTransport {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.sim.send(bytes);
        self.settled = false;
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        if self.out.is_empty() && !self.settled {
            let got = self.sim.run_until_reply(MAX_WAIT_CLOCKS);
            self.out.extend(self.sim.take_received());
            // Nothing came and the line went quiet: nothing will.
            self.settled = !got && !self.sim.line_busy();
        }
        if self.out.is_empty() {
            std::thread::sleep(timeout.min(Duration::from_millis(2)));
            return Ok(0);
        }
        let n = buf.len().min(self.out.len());
        for (d, s) in buf.iter_mut().zip(self.out.drain(..n)) {
            *d = s;
        }
        Ok(n)
    }

    fn describe(&self) -> String {
        let c = self.sim.config();
        let top = c.top.name();
        match c.link {
            HostLink::Usb => format!("sim ({top} gateware, USB FIFO port)"),
            HostLink::Uart => format!("sim ({top} gateware, UART at {:.0} baud)", c.baud()),
        }
    }

    fn settled(&self) -> bool {
        self.settled && self.out.is_empty()
    }

    fn pause(&mut self, d: Duration) {
        self.sim
            .run((d.as_secs_f64() * WORD_CLOCK_HZ).round() as u64);
        let late = self.sim.take_received();
        if !late.is_empty() {
            self.out.extend(late);
        }
    }
}

/// Serves the gateware board until the peer closes the stream or `stop`
/// returns true: request bytes from `reader` go into the board's UART as
/// they arrive, reply bytes go to `writer` as the board sends them. A thread
/// reads `reader` (its reads should time out now and then, so the thread
/// notices a closed peer), so the simulation never waits on the stream
/// while it has work.
pub fn serve_board(
    sim: &mut BoardSim,
    mut reader: Box<dyn io::Read + Send>,
    writer: &mut dyn io::Write,
    stop: &dyn Fn() -> bool,
) -> io::Result<super::model_board::ServeEnd> {
    use super::model_board::ServeEnd;
    use std::sync::mpsc;
    let (tx, rx) = mpsc::channel::<io::Result<Vec<u8>>>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 8192];
        loop {
            let r = match reader.read(&mut buf) {
                Ok(n) => Ok(buf[..n].to_vec()),
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let end = !matches!(&r, Ok(v) if !v.is_empty());
            if tx.send(r).is_err() || end {
                return;
            }
        }
    });
    // Clocks per slice: a few byte times, so replies flow while requests
    // are still arriving.
    let slice = 40 * sim.config().clocks_per_bit as u64;
    let mut quiet_for = u64::MAX;
    loop {
        if stop() {
            return Ok(ServeEnd::Stopped);
        }
        let busy = sim.line_busy() || quiet_for < sim.quiet_clocks();
        let got = if busy {
            match rx.try_recv() {
                Ok(r) => Some(r),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => return Ok(ServeEnd::Closed),
            }
        } else {
            match rx.recv_timeout(Duration::from_millis(20)) {
                Ok(r) => Some(r),
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(ServeEnd::Closed),
            }
        };
        match got {
            Some(Ok(bytes)) if bytes.is_empty() => return Ok(ServeEnd::Closed),
            Some(Ok(bytes)) => {
                sim.send(&bytes);
                quiet_for = 0;
            }
            Some(Err(e)) => return Err(e),
            None => {}
        }
        sim.run(slice);
        if sim.line_busy() || sim.received() > 0 {
            quiet_for = 0;
        } else {
            quiet_for = quiet_for.saturating_add(slice);
        }
        let out = sim.take_received();
        if !out.is_empty() {
            writer.write_all(&out)?;
            writer.flush()?;
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

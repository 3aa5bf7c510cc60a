//! The simulated board: the command engine ([`Engine`]) in the host
//! process, reached either directly ([`SimTransport`], the `sim` device) or
//! over a byte stream that [`serve`] answers (`fiberloop sim serve`, a
//! pseudo-terminal or TCP).

use super::engine::{Backend, Engine};
use super::Transport;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// The board in-process: bytes sent are fed to the engine at once, its
/// replies queue for [`Transport::recv`]. Time is link time: each byte
/// moves the clock by one byte time.
pub struct SimTransport<B: Backend> {
    engine: Engine<B>,
    baud: u32,
    now: u64,
    out: VecDeque<u8>,
    scratch: Vec<u8>,
}

impl<B: Backend> SimTransport<B> {
    /// Wraps an engine whose link runs at `baud`.
    pub fn new(engine: Engine<B>, baud: u32) -> Self {
        Self {
            engine,
            baud,
            now: 0,
            out: VecDeque::new(),
            scratch: Vec::new(),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine<B> {
        &self.engine
    }

    /// The engine, mutable.
    pub fn engine_mut(&mut self) -> &mut Engine<B> {
        &mut self.engine
    }
}

impl<B: Backend> Transport for SimTransport<B> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.now += bytes.len() as u64;
        self.scratch.clear();
        self.engine.feed(bytes, self.now, &mut self.scratch);
        self.now += self.scratch.len() as u64;
        self.out.extend(self.scratch.iter());
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        if self.out.is_empty() {
            // Nothing will come: let the time pass (a partial request times
            // out in the engine) and report nothing.
            self.now += (timeout.as_secs_f64() * self.baud as f64 / 10.0) as u64;
            self.engine.set_time(self.now);
            if self.out.is_empty() {
                std::thread::sleep(timeout.min(Duration::from_millis(20)));
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len());
        for (d, s) in buf.iter_mut().zip(self.out.drain(..n)) {
            *d = s;
        }
        Ok(n)
    }

    fn describe(&self) -> String {
        "sim".into()
    }

    fn settled(&self) -> bool {
        // The engine answers as the bytes arrive.
        self.out.is_empty()
    }
}

/// How [`serve`] paces the link.
#[derive(Clone, Copy, Debug)]
pub struct ServeConfig {
    /// Link speed, baud (10 bits per byte): sets the engine's time and, with
    /// `pace`, how fast bytes are taken and replies given.
    pub baud: u32,
    /// Hold every byte for its line time at `baud`, as a UART would.
    pub pace: bool,
}

/// A byte stream [`serve`] can answer: reads with a short timeout.
pub trait ServeStream: Read + Write {}
impl<S: Read + Write> ServeStream for S {}

/// Why serving stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum ServeEnd {
    /// The peer closed the stream.
    Closed,
    /// `stop` returned true.
    Stopped,
}

/// Answers requests from `s` with `engine` until the peer closes the stream
/// or `stop` returns true. Reads must time out (return `TimedOut` or
/// `WouldBlock`) now and then so time can pass.
pub fn serve<B: Backend, S: ServeStream + ?Sized>(
    engine: &mut Engine<B>,
    s: &mut S,
    cfg: ServeConfig,
    stop: &dyn Fn() -> bool,
) -> io::Result<ServeEnd> {
    let epoch = Instant::now();
    let bytes_per_s = cfg.baud as f64 / 10.0;
    let byte_time = |t: Instant| ((t - epoch).as_secs_f64() * bytes_per_s) as u64;
    // When the line from the host is free again (paced mode).
    let mut rx_free = epoch;
    let mut buf = vec![0u8; 8192];
    let mut out = Vec::new();
    loop {
        if stop() {
            return Ok(ServeEnd::Stopped);
        }
        let n = match s.read(&mut buf) {
            Ok(0) => return Ok(ServeEnd::Closed),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                engine.set_time(byte_time(Instant::now()).max(engine.now()));
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let line = |k: usize| Duration::from_secs_f64(k as f64 / bytes_per_s);
        if cfg.pace {
            // The bytes arrive no faster than the line carries them: they
            // start on the line when they reach us, or when the line is
            // free of the bytes before them, whichever is later.
            rx_free = rx_free.max(Instant::now()) + line(n);
            sleep_until(rx_free);
        }
        out.clear();
        let t = byte_time(Instant::now()).max(engine.now());
        engine.feed(&buf[..n], t, &mut out);
        if !out.is_empty() {
            if cfg.pace {
                sleep_until(Instant::now() + line(out.len()));
            }
            s.write_all(&out)?;
            s.flush()?;
        }
    }
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

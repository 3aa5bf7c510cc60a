//! TCP transport: to `fiberloop sim serve --tcp` (or a board bridge).

use super::Transport;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A TCP connection.
pub struct TcpTransport {
    s: TcpStream,
    addr: String,
}

impl TcpTransport {
    /// Connects to `addr` (`host:port`).
    pub fn connect(addr: &str) -> io::Result<Self> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        Ok(Self {
            s,
            addr: addr.into(),
        })
    }
}

impl Transport for TcpTransport {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.s.write_all(bytes)
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.s
            .set_read_timeout(Some(timeout.max(Duration::from_micros(100))))?;
        match self.s.read(buf) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the device closed the connection",
            )),
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    fn describe(&self) -> String {
        format!("tcp:{}", self.addr)
    }
}

//! Serial transport: a USB-UART (the Versa's FT2232H channel B) or a
//! pseudo-terminal served by `fiberloop sim serve --pty`.

use super::{OpenError, Transport};
use serialport::SerialPort;
use std::io::{self, Read, Write};
use std::time::Duration;

/// An open serial port.
pub struct SerialTransport {
    port: Box<dyn SerialPort>,
    path: String,
    baud: u32,
}

impl SerialTransport {
    /// Opens `path` at `baud`, 8N1, no flow control.
    pub fn open(path: &str, baud: u32) -> Result<Self, OpenError> {
        let port = serialport::new(path, baud)
            .timeout(Duration::from_millis(10))
            .open()
            .map_err(|e| {
                let hint = match e.kind() {
                    serialport::ErrorKind::NoDevice => {
                        " (no such port: `fiberloop devices` lists the ports)"
                    }
                    serialport::ErrorKind::Io(io::ErrorKind::NotFound) => {
                        " (no such port: `fiberloop devices` lists the ports)"
                    }
                    serialport::ErrorKind::Io(io::ErrorKind::PermissionDenied) => {
                        " (permission denied: add yourself to the `dialout` group, or install a udev rule, then log in again)"
                    }
                    _ => "",
                };
                OpenError::Serial(format!("cannot open serial port {path}: {e}{hint}"))
            })?;
        Ok(Self {
            port,
            path: path.into(),
            baud,
        })
    }
}

impl Transport for SerialTransport {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.port.write_all(bytes)?;
        self.port.flush()
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.port
            .set_timeout(timeout.max(Duration::from_micros(100)))
            .map_err(io::Error::other)?;
        match self.port.read(buf) {
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    fn describe(&self) -> String {
        format!("serial:{}@{}", self.path, self.baud)
    }
}

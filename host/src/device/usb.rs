//! USB transport: an FTDI FT2232H (channel A in synchronous 245 FIFO mode,
//! 0403:6010) or FT601 (0403:601f) bridge to the FPGA, over `rusb` bulk
//! endpoints.
//!
//! The FT2232H prefixes every bulk IN packet (512 bytes at high speed) with
//! two modem-status bytes, even when it has no data (then the packet is just
//! those two bytes). [`strip_modem_status`] removes them packet by packet;
//! [`UsbTransport`] does it on every read when the chip needs it. The USB
//! side sits behind the small [`BulkDevice`] trait so the framing is tested
//! against an in-memory fake device.
//!
//! FT601: opened with endpoints 0x02 / 0x82 and no status bytes; its
//! streaming set-up requests are not sent yet, so it is untested and may
//! need them on real hardware.

use super::{OpenError, Transport, FT2232H_PID, FT601_PID, FTDI_VID};
use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

/// Bulk endpoints of a USB device.
pub trait BulkDevice {
    /// Writes to a bulk OUT endpoint; returns the bytes taken.
    fn write_bulk(&mut self, ep: u8, data: &[u8], timeout: Duration) -> io::Result<usize>;
    /// Reads from a bulk IN endpoint; returns 0 on timeout.
    fn read_bulk(&mut self, ep: u8, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;
}

/// Appends the data of FTDI bulk IN packets of `packet` bytes to `out`,
/// dropping the two modem-status bytes that start each packet.
pub fn strip_modem_status(raw: &[u8], packet: usize, out: &mut VecDeque<u8>) {
    for p in raw.chunks(packet.max(3)) {
        if p.len() > 2 {
            out.extend(&p[2..]);
        }
    }
}

/// How a chip frames its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Framing {
    /// Bulk IN endpoint.
    pub ep_in: u8,
    /// Bulk OUT endpoint.
    pub ep_out: u8,
    /// Bulk IN packet size.
    pub packet: usize,
    /// Packets start with two modem-status bytes.
    pub modem_status: bool,
}

/// FT2232H channel A.
pub const FT2232H_A: Framing = Framing {
    ep_in: 0x81,
    ep_out: 0x02,
    packet: 512,
    modem_status: true,
};

/// FT601, first FIFO channel.
pub const FT601: Framing = Framing {
    ep_in: 0x82,
    ep_out: 0x02,
    packet: 1024,
    modem_status: false,
};

/// A USB FIFO bridge.
pub struct UsbTransport<D: BulkDevice> {
    dev: D,
    f: Framing,
    name: String,
    pending: VecDeque<u8>,
    raw: Vec<u8>,
}

impl<D: BulkDevice> UsbTransport<D> {
    /// Wraps an opened device.
    pub fn new(dev: D, f: Framing, name: String) -> Self {
        Self {
            dev,
            f,
            name,
            pending: VecDeque::new(),
            raw: vec![0; 32 * f.packet],
        }
    }
}

impl<D: BulkDevice> Transport for UsbTransport<D> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut off = 0;
        while off < bytes.len() {
            let n = self
                .dev
                .write_bulk(self.f.ep_out, &bytes[off..], Duration::from_secs(1))?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "USB bulk write took nothing in 1 s",
                ));
            }
            off += n;
        }
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let deadline = Instant::now() + timeout;
        while self.pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(0);
            }
            let n = self.dev.read_bulk(self.f.ep_in, &mut self.raw, left)?;
            if self.f.modem_status {
                strip_modem_status(&self.raw[..n], self.f.packet, &mut self.pending);
            } else {
                self.pending.extend(&self.raw[..n]);
            }
        }
        let n = buf.len().min(self.pending.len());
        for (d, s) in buf.iter_mut().zip(self.pending.drain(..n)) {
            *d = s;
        }
        Ok(n)
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// A real device through rusb.
pub struct RusbDevice(rusb::DeviceHandle<rusb::Context>);

fn usb_io(e: rusb::Error) -> io::Error {
    io::Error::other(format!("USB: {e}"))
}

impl BulkDevice for RusbDevice {
    fn write_bulk(&mut self, ep: u8, data: &[u8], timeout: Duration) -> io::Result<usize> {
        self.0.write_bulk(ep, data, timeout).map_err(usb_io)
    }
    fn read_bulk(&mut self, ep: u8, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        match self
            .0
            .read_bulk(ep, buf, timeout.max(Duration::from_millis(1)))
        {
            Ok(n) => Ok(n),
            Err(rusb::Error::Timeout) => Ok(0),
            Err(e) => Err(usb_io(e)),
        }
    }
}

/// A hint for a USB error.
pub fn hint(e: &rusb::Error) -> &'static str {
    match e {
        rusb::Error::Access => " (access denied: install a udev rule for 0403:6010 / 0403:601f, e.g. SUBSYSTEM==\"usb\", ATTRS{idVendor}==\"0403\", MODE=\"0660\", GROUP=\"plugdev\", and be in that group)",
        rusb::Error::Busy => " (busy: another program holds the interface, or the ftdi_sio driver could not be detached)",
        rusb::Error::NoDevice | rusb::Error::NotFound => " (the device went away: check the cable)",
        rusb::Error::Other | rusb::Error::Io => " (libusb cannot reach the USB bus here: is /dev/bus/usb there, e.g. inside a container?)",
        _ => "",
    }
}

/// An FTDI bridge found on the bus.
#[derive(Clone, Debug)]
pub struct Found {
    /// Bus number.
    pub bus: u8,
    /// Address on the bus.
    pub address: u8,
    /// Product id.
    pub pid: u16,
    /// Serial number, or why it could not be read.
    pub serial: Result<String, String>,
}

/// FTDI FT2232H and FT601 devices on the bus.
pub fn list() -> Result<Vec<Found>, rusb::Error> {
    use rusb::UsbContext;
    let mut out = vec![];
    for d in rusb::Context::new()?.devices()?.iter() {
        let Ok(desc) = d.device_descriptor() else {
            continue;
        };
        if desc.vendor_id() != FTDI_VID || ![FT2232H_PID, FT601_PID].contains(&desc.product_id()) {
            continue;
        }
        let serial = match d.open() {
            Ok(h) => h
                .read_serial_number_string_ascii(&desc)
                .map_err(|e| format!("{e}{}", hint(&e))),
            Err(e) => Err(format!("{e}{}", hint(&e))),
        };
        out.push(Found {
            bus: d.bus_number(),
            address: d.address(),
            pid: desc.product_id(),
            serial,
        });
    }
    Ok(out)
}

/// Opens the FTDI bridge with serial number `serial` (or the only one).
pub fn open(serial: Option<&str>) -> Result<UsbTransport<RusbDevice>, OpenError> {
    let err = |what: &str, e: rusb::Error| OpenError::Usb(format!("USB: {what}: {e}{}", hint(&e)));
    use rusb::UsbContext;
    let mut found = vec![];
    let ctx = rusb::Context::new().map_err(|e| err("starting libusb", e))?;
    for d in ctx.devices().map_err(|e| err("listing devices", e))?.iter() {
        let Ok(desc) = d.device_descriptor() else {
            continue;
        };
        if desc.vendor_id() != FTDI_VID || ![FT2232H_PID, FT601_PID].contains(&desc.product_id()) {
            continue;
        }
        let h = d.open().map_err(|e| err("opening the FTDI device", e))?;
        let sn = h.read_serial_number_string_ascii(&desc).unwrap_or_default();
        if serial.is_none_or(|s| s == sn) {
            found.push((h, desc.product_id(), sn));
        }
    }
    let (h, pid, sn) = match (found.len(), serial) {
        (0, None) => {
            return Err(OpenError::Usb(
                "no FTDI FT2232H (0403:6010) or FT601 (0403:601f) found: check the cable; `fiberloop devices` lists what is visible".into(),
            ))
        }
        (0, Some(s)) => {
            return Err(OpenError::Usb(format!(
                "no FTDI device with serial number {s:?}: `fiberloop devices` lists the serial numbers"
            )))
        }
        (1, _) => found.pop().unwrap(),
        (n, _) => {
            return Err(OpenError::Usb(format!(
                "{n} FTDI devices found: name one with usb:SERIAL (`fiberloop devices` lists them)"
            )))
        }
    };
    let _ = h.set_auto_detach_kernel_driver(true);
    h.claim_interface(0)
        .map_err(|e| err("claiming interface 0", e))?;
    let framing = if pid == FT2232H_PID {
        // Vendor requests of the FTDI chips (interface A = index 1): reset,
        // latency timer 2 ms, bit mode 0x40 (synchronous 245 FIFO).
        let t = Duration::from_millis(500);
        let rt = rusb::request_type(
            rusb::Direction::Out,
            rusb::RequestType::Vendor,
            rusb::Recipient::Device,
        );
        h.write_control(rt, 0x00, 0, 1, &[], t)
            .map_err(|e| err("resetting the FT2232H", e))?;
        h.write_control(rt, 0x09, 2, 1, &[], t)
            .map_err(|e| err("setting the latency timer", e))?;
        h.write_control(rt, 0x0B, 0x40FF, 1, &[], t)
            .map_err(|e| err("setting synchronous FIFO mode", e))?;
        FT2232H_A
    } else {
        FT601
    };
    Ok(UsbTransport::new(
        RusbDevice(h),
        framing,
        format!("usb:{sn} ({:04x}:{pid:04x})", FTDI_VID),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake FT2232H: what the host writes comes back (a loopback FPGA),
    /// in 512-byte packets that each start with two status bytes, with a
    /// status-only packet now and then.
    struct FakeFtdi {
        queue: VecDeque<u8>,
        polls: u32,
        max_read: usize,
    }

    impl BulkDevice for FakeFtdi {
        fn write_bulk(&mut self, ep: u8, data: &[u8], _: Duration) -> io::Result<usize> {
            assert_eq!(ep, 0x02);
            // Takes at most 700 bytes per call, as a real endpoint may.
            let n = data.len().min(700);
            self.queue.extend(&data[..n]);
            Ok(n)
        }
        fn read_bulk(&mut self, ep: u8, buf: &mut [u8], _: Duration) -> io::Result<usize> {
            assert_eq!(ep, 0x81);
            self.polls += 1;
            let mut n = 0;
            if self.polls % 3 == 1 {
                // Status only: no data ready.
                buf[..2].copy_from_slice(&[0x31, 0x60]);
                return Ok(2);
            }
            while !self.queue.is_empty() && n + 512 <= buf.len().min(self.max_read) {
                buf[n..n + 2].copy_from_slice(&[0x31, 0x60]);
                let k = self.queue.len().min(510);
                for (i, b) in self.queue.drain(..k).enumerate() {
                    buf[n + 2 + i] = b;
                }
                n += 2 + k;
                if k < 510 {
                    break;
                }
            }
            Ok(n)
        }
    }

    #[test]
    fn status_bytes_are_stripped_per_packet() {
        let mut raw = vec![];
        let data: Vec<u8> = (0..1200u32).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(510) {
            raw.extend([0x31, 0x60]);
            raw.extend(chunk);
        }
        let mut out = VecDeque::new();
        strip_modem_status(&raw, 512, &mut out);
        assert_eq!(out.iter().copied().collect::<Vec<_>>(), data);
        out.clear();
        strip_modem_status(&[0x31, 0x60], 512, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn transport_round_trips_through_the_fake_ftdi() {
        let fake = FakeFtdi {
            queue: VecDeque::new(),
            polls: 0,
            max_read: 2048,
        };
        let mut t = UsbTransport::new(fake, FT2232H_A, "fake".into());
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
        t.send(&data).unwrap();
        let mut got: Vec<u8> = vec![];
        let mut buf = [0u8; 333];
        while got.len() < data.len() {
            let n = t.recv(&mut buf, Duration::from_millis(100)).unwrap();
            assert!(n > 0, "data stopped after {} bytes", got.len());
            got.extend(&buf[..n]);
        }
        assert_eq!(got, data);
    }

    #[test]
    #[cfg(feature = "sim")]
    fn protocol_runs_over_the_fake_usb_board() {
        use crate::device::client::{Client, ClientConfig};
        use crate::device::engine::{Engine, EngineConfig, RamBackend};
        use fiberloop_spec::regs;
        // A fake FT2232H whose FPGA side is the command engine.
        struct Board {
            e: Engine<RamBackend>,
            out: VecDeque<u8>,
            t: u64,
        }
        impl BulkDevice for Board {
            fn write_bulk(&mut self, _: u8, data: &[u8], _: Duration) -> io::Result<usize> {
                let mut out = vec![];
                self.t += data.len() as u64;
                self.e.feed(data, self.t, &mut out);
                self.out.extend(out);
                Ok(data.len())
            }
            fn read_bulk(&mut self, _: u8, buf: &mut [u8], _: Duration) -> io::Result<usize> {
                let mut n = 0;
                loop {
                    buf[n..n + 2].copy_from_slice(&[0x01, 0x60]);
                    let k = self.out.len().min(510);
                    for (i, b) in self.out.drain(..k).enumerate() {
                        buf[n + 2 + i] = b;
                    }
                    n += 2 + k;
                    if k < 510 || n + 512 > buf.len() {
                        return Ok(n);
                    }
                }
            }
        }
        let b = Board {
            e: Engine::new(RamBackend::new(4, 100), EngineConfig::uart(3_000_000, 100)),
            out: VecDeque::new(),
            t: 0,
        };
        let mut c = Client::new(
            UsbTransport::new(b, FT2232H_A, "fake".into()),
            ClientConfig::default(),
        );
        let data: Vec<u32> = (0..2500).map(|i| i ^ 0x5A5A_0000).collect();
        c.write_block(regs::SCRATCH_MEM, &data[..1024]).unwrap();
        assert_eq!(c.read_block(regs::SCRATCH_MEM, 1024).unwrap(), data[..1024]);
        c.write_block(regs::SCRATCH_MEM, &data[1024..2048]).unwrap();
        assert_eq!(
            c.read_block(regs::SCRATCH_MEM, 1024).unwrap(),
            data[1024..2048]
        );
        assert_eq!(c.stats().retries, 0);
    }
}

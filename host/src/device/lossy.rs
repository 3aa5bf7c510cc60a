//! A transport wrapper that damages the byte stream, seeded and
//! reproducible: each byte, in either direction, is dropped with probability
//! `drop` or else replaced by a different value with probability `corrupt`.
//! For tests of the retry logic and the receivers' resynchronisation.

use super::Transport;
use std::io;
use std::time::Duration;

/// Damage settings.
#[derive(Clone, Copy, Debug)]
pub struct LossyConfig {
    /// Probability that a byte is lost.
    pub drop: f64,
    /// Probability that a byte is changed.
    pub corrupt: f64,
    /// Seed.
    pub seed: u64,
}

/// Counts of damage done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Damage {
    /// Bytes dropped.
    pub dropped: u64,
    /// Bytes changed.
    pub corrupted: u64,
}

/// The damaging wrapper.
pub struct Lossy<T: Transport> {
    inner: T,
    cfg: LossyConfig,
    state: u64,
    damage: Damage,
    buf: Vec<u8>,
}

impl<T: Transport> Lossy<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, cfg: LossyConfig) -> Self {
        Self {
            inner,
            cfg,
            state: cfg.seed ^ 0x9E37_79B9_7F4A_7C15,
            damage: Damage::default(),
            buf: Vec::new(),
        }
    }

    /// Damage done so far.
    pub fn damage(&self) -> Damage {
        self.damage
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// splitmix64.
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn damage_into(&mut self, src: &[u8], out: &mut Vec<u8>) {
        for &b in src {
            if self.chance(self.cfg.drop) {
                self.damage.dropped += 1;
            } else if self.chance(self.cfg.corrupt) {
                self.damage.corrupted += 1;
                let x = (self.next() % 255) as u8 + 1;
                out.push(b ^ x);
            } else {
                out.push(b);
            }
        }
    }
}

impl<T: Transport> Transport for Lossy<T> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut out = Vec::with_capacity(bytes.len());
        self.damage_into(bytes, &mut out);
        self.inner.send(&out)
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.buf.resize(buf.len(), 0);
        let mut raw = std::mem::take(&mut self.buf);
        let n = self.inner.recv(&mut raw, timeout)?;
        let mut out = Vec::with_capacity(n);
        self.damage_into(&raw[..n], &mut out);
        self.buf = raw;
        buf[..out.len()].copy_from_slice(&out);
        Ok(out.len())
    }

    fn settled(&self) -> bool {
        self.inner.settled()
    }

    fn pause(&mut self, d: Duration) {
        self.inner.pause(d)
    }

    fn describe(&self) -> String {
        format!("lossy({})", self.inner.describe())
    }
}

//! Framing: frame transmission and synchronisation, and the frame CRC-32.

#[cfg(test)]
mod chain;
pub mod crc32;
pub mod frame_sync;
pub mod frame_tx;
#[cfg(test)]
mod testbench;

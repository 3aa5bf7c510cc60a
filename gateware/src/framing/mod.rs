//! Framing: frame transmission and synchronisation, and the frame CRC-32.

pub mod crc32;
#[cfg(test)]
mod testbench;

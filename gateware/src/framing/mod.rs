//! Framing: frame transmission and synchronisation, and the frame CRC-32.

//! The transceiver boundary: the SERDES word interface, the elastic buffer
//! that carries the received stream into the transmit clock domain, and the
//! bring-up aids (PRBS generator and checker, clock meters).
pub mod elastic_buffer;
pub mod freq_meter;
pub mod line_aids;
pub mod prbs;

//! The transceiver boundary: the SERDES word interface and the elastic buffer
//! that carries the received stream into the transmit clock domain.
pub mod elastic_buffer;
pub mod prbs;

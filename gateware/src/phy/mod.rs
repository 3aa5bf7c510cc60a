//! The transceiver boundary: the SERDES word interface and the elastic buffer
//! that carries the received stream into the transmit clock domain, and the
//! transceiver bring-up state machine.
pub mod elastic_buffer;
pub mod serdes_init;

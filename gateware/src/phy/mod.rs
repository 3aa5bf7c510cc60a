//! The transceiver boundary: the SERDES word interface, the elastic buffer
//! that carries the received stream into the transmit clock domain, the
//! transceiver's bring-up ([`serdes_init`]) and the bring-up aids (PRBS
//! generator and checker, clock meters, [`line_aids`]).
pub mod elastic_buffer;
pub mod freq_meter;
pub mod line_aids;
pub mod prbs;
pub mod serdes_init;
pub mod snapshot;

//! Simulation-side models that are not gateware: the fiber spool between the
//! transceiver's TX and RX.

pub mod board_sim;
pub mod fiber;
pub mod loop_sim;

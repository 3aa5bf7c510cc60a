//! fiberloop's simulated boards: the gateware in Verilator, joined to models
//! of what lies outside the FPGA.
//!
//! * [`fiber`]: the fiber spool between the transceiver's TX and RX (delay
//!   from its length, random bit errors, bursts, cuts);
//! * [`loop_sim`]: `LoopSim`, the loop core (one lap of the data path plus
//!   the inference engine) and the spool, driven through the core's ports;
//! * [`board_sim`]: `BoardSim`, the board top (`BoardCore`) and the spool,
//!   driven byte for byte through the board's own host links (its UART, and
//!   its USB FIFO port with the FT2232H model on the pins).

pub mod board_sim;
pub mod fiber;
pub mod loop_sim;

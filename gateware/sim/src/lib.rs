//! fiberloop's simulated boards: the gateware in Verilator, joined to models
//! of what lies outside the FPGA.
//!
//! * [`fiber`]: the fiber spool between the transceiver's TX and RX (delay
//!   from its length, random bit errors, bursts, cuts);
//! * [`loop_sim`]: `LoopSim`, the loop core (one lap of the data path plus
//!   the inference engine) and the spool, driven through the core's ports;
//! * [`board_sim`]: `BoardSim`, a board top (`BoardCore`, or the Versa's
//!   `VersaSim` with the transceiver's model) and the spool, driven byte for
//!   byte through the board's own host links (its UART, and `BoardCore`'s
//!   USB FIFO port with the FT2232H model on the pins).

pub mod board_sim;
pub mod fiber;
pub mod loop_sim;

/// The level clk100 (the meters' and the bring-up's reference) takes at the
/// rising edge of word clock `n`: high with four word clocks in five, so it
/// rises at 100 MHz on average against the 125 MHz word clock without an
/// edge of its own to evaluate (it is low at every falling edge).
pub fn clk100_at_word_edge(n: u64) -> bool {
    n % 5 != 4
}

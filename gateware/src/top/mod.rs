//! Board tops: the blocks joined into what a board (or the simulator) runs.
//!
//! * [`board_core`]: `BoardCore`, the loop core, the host UART and the
//!   register file: everything between the SERDES words and the host.

pub mod board_core;

//! Board tops: the blocks joined into what a board (or the simulator) runs.
//!
//! * [`board_core`]: `BoardCore`, the loop core, the host links, the
//!   command engine and the register file: everything between the SERDES
//!   words and the host.
//! * [`loop_core`]: `LoopCore`, the data path of one lap (line coding,
//!   framing, FEC, loop controller) and the inference engine on its tap.
//! * [`reg_file`]: `RegFile`, the register map of `fiberloop_spec::regs` on
//!   the host bus.
//! * [`reg_file_model`]: the register file's cycle model (`RegFileModel`)
//!   in front of a loop `Backend`; with the command engine's model it is
//!   the board's control side in Rust.
//! * [`versa`]: the ECP5-5G Versa: `VersaBoard` (all but the
//!   transceiver), `VersaTop` (for bitstreams, with the DCUA black box) and
//!   `VersaSim` (simulated, with the DCUA's model).
//! * [`loop_model`]: `RamBackend`, a transaction-level model of the loop
//!   core (slots in memory, a functional inference engine).

pub mod board_core;
pub mod loop_core;
pub mod loop_model;
pub mod reg_file;
pub mod reg_file_model;
pub mod versa;

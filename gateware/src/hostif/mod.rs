//! Host interface: the byte link to the host PC and the command engine of
//! the host protocol (`fiberloop_spec::proto`) in front of the register bus.
//!
//! * [`uart`]: 8N1 UART receiver and transmitter (`UartRx`, `UartTx`).
//! * [`crc32_byte`]: byte-serial CRC-32 XOR network (`Crc32Byte`).
//! * [`region_check`]: register map address decoder (`RegionCheck`).
//! * [`cmd_engine`]: the protocol's command engine (`CmdEngine`) and its
//!   transaction-level model (`EngineModel`).
//! * [`async_fifo`]: `AsyncFifo`, a dual-clock byte FIFO with Gray-code
//!   pointers (the clock crossings of `Ft245Phy`).
//! * [`ft245`]: `Ft245Phy`, the pins of an FT2232H 245 synchronous FIFO
//!   (USB 2.0 high speed) as a byte stream each way in the word clock
//!   domain (no engine); its chip model, `Ft2232hModel`, is in
//!   `fiberloop_harness::ft2232h`.
//! * [`link_mux`]: `LinkMux`, the UART and the FIFO port sharing one
//!   engine, a frame at a time.
//!
//! The register file behind the bus is in `crate::top::board_core`, the
//! board top that joins both links, through the mux and the engine, to the
//! loop core; its transaction-level model, behind `EngineModel`'s bus, is
//! `crate::top::reg_file_model`.

pub mod async_fifo;
pub mod cmd_engine;
pub mod crc32_byte;
pub mod ft245;
pub mod link_mux;
pub mod region_check;
pub mod uart;

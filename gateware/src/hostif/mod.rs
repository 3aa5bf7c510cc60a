//! Host interface: the byte link to the host PC and the command engine of
//! the host protocol (`fiberloop_spec::proto`) in front of the register bus.
//!
//! * [`uart`]: 8N1 UART receiver and transmitter.
//!
//! Missing: the FT245 synchronous FIFO port (USB 2.0 high speed).

pub mod cmd_engine;
pub mod crc32_byte;
pub mod region_check;
pub mod uart;
pub mod uart_bridge;

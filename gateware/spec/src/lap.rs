//! The gateware's share of one lap, in word clocks: what the host's planner
//! (`fiberloop plan`) needs to know of the loop without the gateware crate.
//!
//! The gateware computes these from its blocks' latencies and checks them
//! against the values here at compile time (`top::loop_core` and
//! `loopctl::controller`), so a block whose latency changes must change
//! them too.

/// Word clocks the loop core adds to a lap outside the controller: its RX
/// path (alignment, decoding, frame sync, RS decoder, CRC check) and its TX
/// path (RS encoder, 8b/10b encoding).
pub const GATEWARE_LATENCY: u64 = 367;

/// Word clocks the loop controller holds a frame (`start_in` to
/// `start_out` while the loop runs).
pub const CONTROLLER_LATENCY: u64 = 134;

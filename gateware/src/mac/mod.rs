//! The int8 MAC array that multiplies the weights circulating in the loop
//! with on-chip activations, and the requantiser that turns its int32
//! accumulators into int8 activations (arithmetic of
//! [`fiberloop_spec::quant`]).
//!
//! * [`requant::Requantiser`]: one int32 accumulator per clock to int8,
//!   10 clocks, 4 `MULT18X18D`.
//! * [`array::MacArray`]: `B` batch rows x 2 weights per clock, systolic
//!   weights, serial drain through a `Requantiser`; row stride rule
//!   [`array::row_stride`] (`S >= B` words).
//! * [`activations::ActivationBuffer`]: per-row ping-pong activation banks
//!   feeding `MacArray::act_in` and collecting its results.

pub mod activations;
pub mod array;
pub mod requant;

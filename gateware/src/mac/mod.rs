//! The int8 MAC array that multiplies the weights circulating in the loop
//! with on-chip activations, and the requantiser that turns its int32
//! accumulators into int8 activations (arithmetic of
//! [`fiberloop_spec::quant`]).

pub mod activations;
pub mod array;
pub mod requant;

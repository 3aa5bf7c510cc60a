//! Inference on the weight stream: the blocks between the loop's payload tap
//! and the MAC array (layer sequencing), and the engine that ties the array,
//! the activation buffers and the layer parameters together.

pub mod engine;
pub mod sequencer;

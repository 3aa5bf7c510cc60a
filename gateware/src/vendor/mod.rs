//! Vendor primitives as rust-hdl black boxes, each with its parameters in
//! one table, and the behavioural models that stand in for them in
//! simulation.
pub mod dcua;
pub mod dcua_model;
pub mod pll;

//! The boards the gateware runs on: their pins, in one table a board, and
//! the constraint files generated from them.
pub mod versa;

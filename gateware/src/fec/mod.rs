//! Forward error correction: the RS(255,239) encoder and decoder of the
//! ITU-T G.709 code, two bytes per word clock.
pub mod gf_mul;
pub mod rs_chien;
pub mod rs_decoder;
pub mod rs_encoder;
pub mod rs_key_equation;
pub mod rs_syndrome;
pub mod stream;

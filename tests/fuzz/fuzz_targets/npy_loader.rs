//! The npy loader (`int8_matrix_from_npy`) on arbitrary bytes: a matrix or
//! an error, never a panic; a matrix it accepts writes back to the bytes
//! numpy writes and reads back equal.
#![no_main]

use fiberloop::model::{int8_matrix_from_npy, int8_npy_bytes};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.npy");
    if let Ok(m) = int8_matrix_from_npy(data, path) {
        assert_eq!(m.data().len(), m.rows() * m.cols());
        let again = int8_matrix_from_npy(&int8_npy_bytes(&m), path).expect("own output reads");
        assert_eq!(again, m);
    }
});

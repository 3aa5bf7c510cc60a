//! The model loader (`Network::from_bytes`, safetensors plus the project's
//! checks) on arbitrary bytes: it returns a model or an error, never panics;
//! a model it accepts runs one inference.
#![no_main]

use fiberloop::model::Network;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(net) = Network::from_bytes(data, Path::new("fuzz.safetensors")) {
        // Accepted models are usable: widths are consistent, inference runs.
        let x = vec![0i8; net.input_width()];
        let y = net.infer_one(&x).expect("an accepted model infers");
        assert_eq!(y.len(), net.output_width());
    }
});

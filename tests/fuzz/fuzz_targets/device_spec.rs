//! The device-string parser (`DeviceSpec::from_str`) on arbitrary text: a
//! device or an error, never a panic; a device it accepts prints as a
//! string that parses back to the same device.
#![no_main]

use fiberloop::device::DeviceSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = s.parse::<DeviceSpec>() {
        let printed = spec.to_string();
        let again: DeviceSpec = printed
            .parse()
            .unwrap_or_else(|e| panic!("{s:?} parsed, its printed form {printed:?} does not: {e}"));
        assert_eq!(again, spec, "{s:?} -> {printed:?}");
    }
});

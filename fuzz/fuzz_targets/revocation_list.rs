//! A revocation list file given to `audit --revocation-list`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = provenance::audit::revocation::parse_list(s, Path::new("fuzz"));
    }
});

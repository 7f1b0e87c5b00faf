//! Bundle JSON from a file or a registry referrer, then its DSSE envelope: the first untrusted
//! bytes `verify` reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = provenance::formats::bundle::Bundle::from_slice(data, Path::new("fuzz")) {
        let _ = bundle.dsse_envelope.signed_parts();
        let _ = bundle.dsse_envelope.payload_bytes();
    }
});

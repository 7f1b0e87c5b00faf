//! A bundle's `tlogEntries` element (Rekor entry: inclusion proof, SET, canonicalized body),
//! from a `.sig` file or a registry referrer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = provenance::verify::tlog::Entry::parse(&v);
    }
});

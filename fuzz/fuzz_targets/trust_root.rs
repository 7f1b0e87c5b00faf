//! A Sigstore `trusted_root.json`: `--trust-root`, or the TUF cache on disk.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = provenance::trust::root::TrustRoot::from_json(data, "fuzz");
});

//! An OCI reference typed by a user or read from a policy scope.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(r) = provenance::oci::Reference::parse(s) {
            // Display must round-trip through the parser.
            let again = provenance::oci::Reference::parse(&r.to_string());
            assert!(again.is_ok(), "reference {r} does not re-parse");
        }
    }
});

//! An OCI reference typed by a user or read from a policy scope.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(r) = provenance::oci::Reference::parse(s) {
            // Display must round-trip through the parser, to the same reference (the canonical
            // registry authority is a fixed point: printing never changes what is named).
            let again = provenance::oci::Reference::parse(&r.to_string());
            assert!(
                again.as_ref().is_ok_and(|a| *a == r),
                "reference {r} does not re-parse to itself"
            );
        }
    }
});

//! A trust policy file (YAML or JSON).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = provenance::trust::TrustPolicy::from_str(
            s,
            Path::new("/nonexistent/policy.yaml"),
            &provenance::trust::CommandLineTrust::default(),
        );
    }
});

//! The DSSE payload: parsed only after its signature verified, yet still hostile if the signer is.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(st) = provenance::formats::statement::Statement::parse(data) {
        // A parsed statement must serialise again without panicking.
        let _ = st.to_json();
    }
});

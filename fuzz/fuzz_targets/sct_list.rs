//! A certificate's embedded SCT list (RFC 6962 `SignedCertificateTimestampList`), read from a
//! keyless signer's Fulcio certificate before its SCT is verified.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = provenance::verify::x509::sct::parse_sct_list(data);
});

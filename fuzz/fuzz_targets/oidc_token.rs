//! An OIDC identity token (JWT claims) from `--identity-token`, `SIGSTORE_ID_TOKEN` or the CI
//! provider.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provenance::sign::keyless::token::{IdentityToken, Source};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = IdentityToken::parse(s, Source::Flag);
    }
});

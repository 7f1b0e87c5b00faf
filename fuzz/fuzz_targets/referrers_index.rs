//! A referrers index (OCI 1.1 API answer or `sha256-<hex>` tag-schema index) and a referrer
//! manifest, from a registry: parsed, filtered, capped and merged into as a signer does.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    provenance::oci::referrers::fuzz_referrers_index(data);
});

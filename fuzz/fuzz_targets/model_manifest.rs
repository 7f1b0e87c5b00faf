//! A ModelPack manifest fetched from a registry: its layer paths decide where `pull` writes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = provenance::oci::modelpack::parse_model_manifest(data);
});

//! `provenance`: a cryptographically verifiable chain of custody for AI models.
//!
//! Models (one file or a folder) are hashed, described by an OMS v1.0 in-toto statement signed in a
//! DSSE envelope inside a Sigstore bundle v0.3, pushed to OCI registries as ModelPack artifacts, and
//! verified hop by hop by digest. See `shared/DESIGN.md` for formats and exit codes.
#![forbid(unsafe_code)]

pub mod oci;

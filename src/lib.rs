//! `provenance`: a cryptographically verifiable chain of custody for AI models.
//!
//! Models (one file or a folder) are hashed, described by an OMS v1.0 in-toto statement signed in a
//! DSSE envelope inside a Sigstore bundle v0.3, pushed to OCI registries as ModelPack artifacts, and
//! verified hop by hop by digest. See `shared/DESIGN.md` for formats and exit codes.
#![forbid(unsafe_code)]

pub mod audit;
#[cfg(feature = "cli")]
pub mod cli;
pub mod formats;
pub mod hashing;
pub mod io;
pub mod keys;
pub mod model;
pub mod oci;
pub mod sign;
pub mod trust;
pub mod verify;

/// What kind of failure an error is, which decides the process exit code (DESIGN section 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// The artifact is not trusted: digest, signature, identity, policy or revocation check failed (exit 1).
    NotTrusted,
    /// Usage or input error: bad flag, unreadable key, malformed manifest (exit 2).
    Input,
    /// Environment error: registry unreachable, I/O, out of space (exit 3).
    Environment,
}

impl Class {
    /// The process exit code for this class.
    pub fn exit_code(self) -> u8 {
        match self {
            Class::NotTrusted => 1,
            Class::Input => 2,
            Class::Environment => 3,
        }
    }
}

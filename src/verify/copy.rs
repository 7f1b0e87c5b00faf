//! The promotion gate: copy a model between stores (registries, the local store) with its
//! signatures. Given a [`Verifier`], nothing is written unless the source verifies (every check
//! of `verify REF`), and exactly the manifest that verified (by digest) is copied; without one,
//! the copy is made as it is and says it is unverified.

use serde::Serialize;

use super::Error;
use super::{Verdict, Verifier};
use crate::oci::{self, CopyOptions, CopyStats, Reference, Store};

/// What [`copy`] did.
#[derive(Clone, Debug, Serialize)]
pub struct Copied {
    /// The source as given.
    pub source: String,
    /// The destination, pinned by digest (`host/repo:tag@sha256:...`).
    pub destination: String,
    /// The manifest digest copied (unchanged: the same bytes).
    pub digest: String,
    /// Whether a Verifier passed the source first (`false`: copied as it is, unverified).
    pub verified: bool,
    /// The source's verdict, when a Verifier was given.
    pub verification: Option<Verdict>,
    /// What moved; `None` when the gate refused and nothing was written.
    pub copied: Option<CopyStats>,
}

/// Why a copy request was refused before anything was read (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyInputError {
    /// The destination names a digest other than the source's.
    #[error(
        "the destination names digest {named}, but the source is {source_digest}; a copy keeps the digest, so name a tag (or no tag) instead"
    )]
    DigestDiffers {
        /// Digest the destination reference names.
        named: String,
        /// Digest of the source.
        source_digest: String,
    },
}

/// Copies `source` to `destination` (see the module docs). A refused gate is `Ok` with
/// `copied: None` and nothing written; `Err` is bad input or the environment.
pub fn copy(
    gate: Option<&Verifier>,
    src: &dyn Store,
    source: &Reference,
    dst: &dyn Store,
    destination: &Reference,
    options: &CopyOptions,
) -> Result<Copied, Error> {
    let (verification, resolved) = match gate {
        Some(v) => {
            let (verdict, resolved) = super::reference(v, src, source)?;
            match resolved {
                Some(r) if verdict.verified => (Some(verdict), r),
                _ => {
                    return Ok(Copied {
                        source: source.to_string(),
                        destination: destination.to_string(),
                        digest: verdict.digest.clone().unwrap_or_default(),
                        verified: false,
                        verification: Some(verdict),
                        copied: None,
                    });
                }
            }
        }
        None => (None, super::reference::resolve(src, source)?),
    };
    let digest = resolved.descriptor.digest.clone();
    if let Some(named) = destination.digest() {
        if named != digest {
            return Err(Error::Copy(CopyInputError::DigestDiffers {
                named: named.to_string(),
                source_digest: digest,
            }));
        }
    }
    let tag = match destination.digest() {
        Some(_) => None,
        None => Some(
            destination
                .tag()
                .or(source.tag())
                .unwrap_or(destination.tag_or_default()),
        ),
    };
    let stats = oci::copy_model(
        src,
        &resolved.repository,
        &digest,
        dst,
        destination.repository(),
        tag,
        options,
    )?;
    let pinned = match tag {
        Some(t) => destination.with_tag(t).with_digest(&digest),
        None => destination.with_digest(&digest),
    };
    Ok(Copied {
        source: source.to_string(),
        destination: pinned.to_string(),
        digest,
        verified: verification.is_some(),
        verification,
        copied: Some(stats),
    })
}

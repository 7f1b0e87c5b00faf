//! The verified pull: the one library function that writes a registry model to disk, and it
//! cannot write a byte that did not verify. It verifies the reference (every check of `verify
//! REF`), and only on a trusted verdict downloads exactly the manifest that was verified (by
//! digest), streaming every blob through SHA-256 into a temp folder beside the output that is
//! renamed into place only when every digest and path checks out, with the counted signature
//! saved beside it first.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Error;
use super::{Verdict, Verifier};
use crate::oci::{self, Reference, Store};

/// Where and how to pull.
pub struct PullRequest<'a> {
    /// The output folder (must not exist, or be empty).
    pub output: &'a Path,
    /// Where the signature goes; `None` is `<output>.sig` ([`crate::model::signature_path`]).
    pub signature: Option<PathBuf>,
    /// Concurrency and progress.
    pub options: oci::PullOptions,
}

/// What a pull wrote, when the model verified.
#[derive(Clone, Debug, Serialize)]
pub struct Written {
    /// The manifest digest pulled (the one verified; serialized once, as the verdict's `digest`).
    #[serde(skip)]
    pub digest: String,
    /// The output folder.
    pub output: PathBuf,
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
    /// The saved signature (a counted one), if any counted signature carried a bundle.
    pub signature: Option<PathBuf>,
}

/// The verdict, and what was written (only when it is trusted): the `pull` result
/// (docs/json.md), with the verdict's fields and what was written at the top level.
#[derive(Clone, Debug, Serialize)]
pub struct Pulled {
    /// The reference as given.
    pub reference: String,
    /// The verification verdict.
    #[serde(flatten)]
    pub verification: Verdict,
    /// `Some` only when the verdict is trusted and the model landed.
    #[serde(flatten)]
    pub written: Option<Written>,
}

/// Verifies `reference`, then pulls it into `request.output` only if it is trusted. A refused
/// verdict is `Ok` with `written: None` and nothing on disk; `Err` is bad input or the
/// environment (a registry down, a full disk: nothing half-written).
pub fn pull(
    evaluator: &Verifier,
    store: &dyn Store,
    reference: &Reference,
    request: &PullRequest<'_>,
) -> Result<Pulled, Error> {
    let (verdict, resolved) = super::reference(evaluator, store, reference)?;
    let resolved = match resolved {
        Some(r) if verdict.verified => r,
        _ => {
            return Ok(Pulled {
                reference: reference.to_string(),
                verification: verdict,
                written: None,
            });
        }
    };
    let sig_path = request
        .signature
        .clone()
        .unwrap_or_else(|| crate::model::signature_path(request.output));
    // The signature saved is one the decision rests on: a counted one, written before the
    // folder is renamed into place, so no verified folder is left without it.
    let sidecar = verdict
        .counted()
        .find_map(|s| s.bundle.as_ref())
        .map(|bundle| oci::Sidecar {
            path: sig_path,
            bytes: bundle.to_json(),
        });
    oci::pull_model_with_sidecar(
        store,
        &resolved.repository,
        &resolved.manifest,
        request.output,
        &request.options,
        sidecar.as_ref(),
    )?;
    Ok(Pulled {
        reference: reference.to_string(),
        written: Some(Written {
            digest: resolved.descriptor.digest.clone(),
            output: request.output.to_owned(),
            files: resolved.manifest.layers.len(),
            bytes: resolved.manifest.layers.iter().map(|l| l.size).sum(),
            signature: sidecar.map(|s| s.path),
        }),
        verification: verdict,
    })
}

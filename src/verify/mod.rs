//! Verification: the ordered, named checks ([`check::Check`]) and the flows that gather what the
//! one evaluator (`trust::Verifier`) decides on: a model on disk with its signature file, or a
//! reference whose manifest and signature referrers come straight from a registry or the local
//! store (no model blob is downloaded).

pub mod artifact;
pub mod check;
pub mod claims;
pub mod copy;
pub mod crypto;
pub mod pull;
pub mod reference;
pub mod tlog;
pub mod verifier;
pub mod x509;

pub use copy::{Copied, CopyInputError, copy};
pub use pull::{PullRequest, Pulled, pull};
pub use verifier::{BuildError, SignatureStatus, SignatureVerdict, Target, Verdict, Verifier};

use std::path::{Path, PathBuf};

use crate::formats::bundle::{self, Bundle};
use crate::oci::{self, Reference, Store};
use crate::trust::Scope;
use crate::verify::reference::Resolved;
use check::{Check, Checks};

/// Failures that stop verification before a verdict: bad input or the environment. A verdict
/// of "not trusted" is not an error: it is a [`Verdict`] with `verified == false`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The signature file cannot be read or is not a bundle.
    #[error(transparent)]
    Bundle(#[from] bundle::Error),
    /// The model could not be listed or hashed.
    #[error(transparent)]
    Model(#[from] crate::model::Error),
    /// The registry or local store failed.
    #[error(transparent)]
    Oci(#[from] oci::Error),
    /// The model path does not exist.
    #[error("model {0} does not exist; check the --model path")]
    NoModel(PathBuf),
    /// A copy request breaks a rule.
    #[error(transparent)]
    Copy(#[from] CopyInputError),
}

impl Error {
    /// Exit-code class.
    pub fn class(&self) -> crate::Class {
        match self {
            Error::Bundle(e) => e.class(),
            Error::Model(e) => e.class(),
            Error::Oci(e) => match e.kind() {
                oci::ErrorKind::Verification => crate::Class::NotTrusted,
                oci::ErrorKind::Input => crate::Class::Input,
                _ => crate::Class::Environment,
            },
            Error::NoModel(_) | Error::Copy(_) => crate::Class::Input,
        }
    }
}

/// The policy scope of a model on disk: `local/<file or folder name>`, from the path being
/// verified (never from the signature's claims, so a signer cannot pick a laxer rule).
pub fn disk_scope(model: &Path) -> Scope {
    Scope::on_disk(&crate::model::model_name(model).unwrap_or_default())
}

/// The verifier's own model options (as `model_signing verify` takes them), combined with what
/// the signature records (OMS §6.2, §8).
#[derive(Clone, Debug, Default)]
pub struct FileOptions {
    /// Extra ignore paths, git paths, symlink policy.
    pub model: crate::model::Options,
    /// Tolerate (and report) files on disk that the signature does not list.
    pub ignore_unsigned_files: bool,
}

/// Verifies a model on disk against its signature file.
pub fn files(
    evaluator: &Verifier,
    model: &Path,
    signature: &Path,
    options: &FileOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Verdict, Error> {
    if !model.exists() {
        return Err(Error::NoModel(model.to_owned()));
    }
    let bundle = Bundle::read(signature)?;
    let target = Target::Files {
        model,
        signature_path: Some(signature.to_owned()),
        options,
        progress,
    };
    evaluator.evaluate(
        &model.display().to_string(),
        disk_scope(model),
        Checks::default(),
        &[(signature.display().to_string(), Ok(bundle))],
        &target,
    )
}

/// Verifies a reference: resolve the tag, fetch and check the manifest, list the signature
/// referrers, then let the evaluator decide. Returns the resolved model with the verdict, so
/// `pull` fetches exactly what was verified.
pub fn reference(
    evaluator: &Verifier,
    store: &dyn Store,
    reference: &Reference,
) -> Result<(Verdict, Option<Resolved>), Error> {
    let scope = Scope::of_reference(reference);
    let mut chain_checks = Checks::default();
    let fail = |mut checks: Checks, name: Check, detail: String| {
        checks.fail(name, detail);
        Verdict {
            target: reference.to_string(),
            scope: scope.clone(),
            rule: None,
            policy: evaluator.policy.origin.clone(),
            digest: None,
            verified: false,
            checks,
            signatures: Vec::new(),
            truncated: false,
        }
    };
    let resolved = match reference::resolve(store, reference) {
        Ok(r) => r,
        Err(e) if e.kind() == oci::ErrorKind::Verification => {
            return Ok((fail(chain_checks, Check::Resolve, e.to_string()), None));
        }
        Err(e) => return Err(e.into()),
    };
    chain_checks.pass(
        Check::Resolve,
        format!("{} -> {}", reference, resolved.descriptor.digest),
    );
    chain_checks.pass(
        Check::Manifest,
        format!(
            "{} bytes, digest checked, {} layers with safe paths",
            resolved.descriptor.size,
            resolved.manifest.layers.len()
        ),
    );
    let listed = store.referrer_list(
        &resolved.repository,
        &resolved.descriptor.digest,
        Some(crate::formats::bundle::BUNDLE_MEDIA_TYPE),
    )?;
    let referrers = listed.descriptors;
    if referrers.is_empty() {
        let mut v = fail(
            chain_checks,
            Check::Referrers,
            format!(
                "no signature referrer for {}; sign it with `provenance sign {reference} --private-key KEY`",
                resolved.descriptor.digest
            ),
        );
        v.digest = Some(resolved.descriptor.digest.clone());
        return Ok((v, Some(resolved)));
    }
    chain_checks.pass(
        Check::Referrers,
        if listed.truncated {
            format!(
                "{} signature referrer(s); only the newest {} were examined (at most {} are read)",
                listed.total,
                referrers.len(),
                crate::oci::MAX_REFERRERS
            )
        } else {
            format!("{} signature referrer(s)", referrers.len())
        },
    );
    let mut bundles = Vec::with_capacity(referrers.len());
    for r in &referrers {
        let b = match reference::fetch_bundle_bytes(store, &resolved.repository, r) {
            Ok(bytes) => {
                Bundle::from_slice(&bytes, Path::new(&r.digest)).map_err(|e| e.to_string())
            }
            Err(reference::FetchError::Unusable(u)) => Err(u.to_string()),
            Err(reference::FetchError::Store(e)) => return Err(e.into()),
        };
        bundles.push((r.digest.clone(), b));
    }
    let target = Target::Manifest {
        digest: &resolved.descriptor.digest,
        manifest: Some(&resolved.manifest),
    };
    let mut verdict = evaluator.evaluate(
        &reference.to_string(),
        scope,
        chain_checks,
        &bundles,
        &target,
    )?;
    verdict.digest = Some(resolved.descriptor.digest.clone());
    verdict.truncated = listed.truncated;
    Ok((verdict, Some(resolved)))
}

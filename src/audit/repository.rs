//! Fetching a repository for audit: every tag -> manifest digest -> signature referrers ->
//! bundles, through the [`Store`] trait (a registry or the local store), so the audit itself
//! stays offline. Reads are the ones `verify REF` makes: manifests bounded at 4 MiB and
//! digest-checked, bundles bounded at [`crate::formats::bundle::MAX_BUNDLE_SIZE`] and digest-checked; no
//! model blob is downloaded (a layer overwritten in the registry's storage is caught by `pull`,
//! which hashes every byte, not here).
//!
//! Content that is not intact (a digest mismatch, a manifest that is not a ModelPack model, an
//! oversized bundle) becomes a `failed` entry with a finding; only the store itself failing
//! (registry unreachable, refused credentials, I/O) stops the audit.

use crate::formats::bundle::BUNDLE_MEDIA_TYPE;
use crate::oci::{self, ModelManifest, Reference, Store};

use super::{AuditSource, Error};

/// One model found in a repository, with what audit needs to judge it.
#[derive(Clone, Debug)]
pub struct FetchedModel {
    /// `host/repo:tag@sha256:...` (the local store has no host).
    pub reference: String,
    /// The manifest digest the tag resolved to.
    pub subject_digest: String,
    /// The parsed ModelPack manifest, or why it could not be read intact.
    pub manifest: Result<ModelManifest, String>,
    /// One per signature referrer: the bundle bytes, or why none could be read intact.
    pub signatures: Vec<FetchedBundle>,
    /// How many signature referrers the store listed; more than `signatures.len()` when the
    /// [`crate::oci::MAX_REFERRERS`] cap kept only the newest.
    pub referrers_listed: usize,
}

/// A signature referrer's bundle as fetched.
#[derive(Clone, Debug)]
pub struct FetchedBundle {
    /// The referrer manifest digest.
    pub referrer: String,
    /// The bundle bytes (bounded, digest-checked), or what was wrong with them.
    pub bytes: Result<Vec<u8>, String>,
}

/// True for a referrers tag-schema tag (`sha256-<64 hex>`): an index of signatures, not a model.
pub fn is_referrers_tag(tag: &str) -> bool {
    tag.strip_prefix("sha256-")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn store_error(e: oci::Error) -> Error {
    Error::Store(e)
}

/// Per-entry problems (tampered or unreadable content) are findings; the store failing is not.
fn per_entry(e: oci::Error) -> Result<String, Error> {
    match e.kind() {
        oci::ErrorKind::Environment => Err(store_error(e)),
        _ => Ok(e.to_string()),
    }
}

/// Walks a repository (every tag, or only the tag or digest the reference names) into audit
/// sources, one per model found.
pub fn fetch_repository(
    store: &dyn Store,
    reference: &Reference,
) -> Result<Vec<AuditSource>, Error> {
    let repo = reference.repository();
    let base = match reference.registry() {
        Some(host) => format!("{host}/{repo}"),
        None => repo.to_owned(),
    };
    let targets: Vec<(String, String)> = match (reference.tag(), reference.digest()) {
        (_, Some(d)) => vec![(
            d.to_owned(),
            match reference.tag() {
                Some(t) => format!("{base}:{t}"),
                None => base.clone(),
            },
        )],
        (Some(t), None) => vec![(t.to_owned(), format!("{base}:{t}"))],
        (None, None) => {
            let tags = store.list_tags(repo).map_err(|e| match e.kind() {
                oci::ErrorKind::Environment => store_error(e),
                _ => Error::Repository {
                    reference: reference.to_string(),
                    detail: e.to_string(),
                },
            })?;
            let models: Vec<(String, String)> = tags
                .into_iter()
                .filter(|t| !is_referrers_tag(t))
                .map(|t| (t.clone(), format!("{base}:{t}")))
                .collect();
            if models.is_empty() {
                return Err(Error::Repository {
                    reference: reference.to_string(),
                    detail: "it has no model tags".into(),
                });
            }
            models
        }
    };
    // Each tag costs a few round trips (resolve, manifest, referrers, referrer manifest, bundle):
    // fetch tags on a few threads, keeping tag order.
    let fetch = |(target, shown): &(String, String)| fetch_tag(store, repo, target, shown);
    let fetched: Vec<Result<AuditSource, Error>> = match rayon::ThreadPoolBuilder::new()
        .num_threads(FETCH_THREADS)
        .build()
    {
        Ok(pool) => pool.install(|| {
            use rayon::prelude::*;
            targets.par_iter().map(fetch).collect()
        }),
        Err(_) => targets.iter().map(fetch).collect(),
    };
    fetched.into_iter().collect()
}

/// Tags fetched at once (the work is round trips, not CPU).
const FETCH_THREADS: usize = 4;

fn fetch_tag(
    store: &dyn Store,
    repo: &str,
    target: &str,
    shown: &str,
) -> Result<AuditSource, Error> {
    let descriptor = match store.resolve(repo, target) {
        Ok(d) => d,
        Err(e) => {
            let detail = per_entry(e)?;
            return Ok(AuditSource::Repository(Box::new(FetchedModel {
                reference: shown.to_owned(),
                subject_digest: String::new(),
                manifest: Err(format!("cannot resolve: {detail}")),
                signatures: Vec::new(),
                referrers_listed: 0,
            })));
        }
    };
    let reference = format!("{shown}@{}", descriptor.digest);
    let manifest = match store.fetch_manifest(repo, &descriptor.digest) {
        Ok(f) => oci::parse_model_manifest(&f.bytes)
            .map_err(|e| format!("not a ModelPack model manifest: {e}")),
        Err(e) => Err(per_entry(e)?),
    };
    let mut signatures = Vec::new();
    let mut referrers_listed = 0;
    if manifest.is_ok() {
        let list = store
            .referrer_list(repo, &descriptor.digest, Some(BUNDLE_MEDIA_TYPE))
            .map_err(store_error)?;
        referrers_listed = list.total;
        for r in list.descriptors {
            use crate::verify::reference::{FetchError, fetch_bundle_bytes};
            let bytes = match fetch_bundle_bytes(store, repo, &r) {
                Ok(b) => Ok(b),
                Err(FetchError::Unusable(u)) => Err(u.to_string()),
                Err(FetchError::Store(e)) => Err(per_entry(e)?),
            };
            signatures.push(FetchedBundle {
                referrer: r.digest,
                bytes,
            });
        }
    }
    Ok(AuditSource::Repository(Box::new(FetchedModel {
        reference,
        subject_digest: descriptor.digest,
        referrers_listed,
        manifest,
        signatures,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrers_tags_are_not_models() {
        assert!(is_referrers_tag(&format!("sha256-{}", "a".repeat(64))));
        assert!(!is_referrers_tag("sha256-abc"));
        assert!(!is_referrers_tag("v1"));
    }
}

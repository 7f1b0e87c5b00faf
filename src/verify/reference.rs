//! The read side of a model's digest chain in an OCI store: resolve a reference to its
//! manifest (digest-checked, ModelPack-parsed), the resources its layers name, and a signature
//! referrer's bundle bytes (digest-checked, bounded). Downloads no model blob.

use crate::formats::bundle;
use crate::formats::statement::Resource;
use crate::oci::{self, Descriptor, ModelManifest, Reference, Store};

/// The resolved head of the chain: the manifest a reference names, read and parsed.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Repository.
    pub repository: String,
    /// The manifest descriptor (digest checked against the bytes).
    pub descriptor: Descriptor,
    /// The parsed ModelPack manifest (paths validated).
    pub manifest: ModelManifest,
}

/// How many existing tags an unknown-tag error names.
const NEAREST_TAGS: usize = 5;

/// Turns "the tag (or digest) the user named is not there" into [`oci::Error::UnknownTarget`]
/// (input, exit 2, with the nearest tags), so a typo is told apart from a tampered model (1).
/// Any other error passes through.
fn unknown_target(store: &dyn Store, r: &Reference, e: oci::Error) -> oci::Error {
    let oci::Error::NotFound { what, .. } = e else {
        return e;
    };
    let repository = match r.registry() {
        Some(host) => format!("{host}/{}", r.repository()),
        None => r.repository().to_owned(),
    };
    // Tags of the referrers tag schema (`sha256-<hex>`) are signatures, not models.
    let tags: Vec<String> = store
        .list_tags(r.repository())
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !t.starts_with("sha256-"))
        .collect();
    oci::Error::UnknownTarget {
        repository,
        what,
        known: nearest(r.target(), tags, NEAREST_TAGS),
    }
}

/// The `n` names nearest to `wanted` by edit distance (ties by name).
fn nearest(wanted: &str, names: Vec<String>, n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, String)> = names
        .into_iter()
        .map(|name| (edit_distance(wanted, &name), name))
        .collect();
    scored.sort();
    scored.into_iter().take(n).map(|(_, name)| name).collect()
}

/// Levenshtein distance over chars (tags are at most 128 characters).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let cost = usize::from(ca != *cb);
            let v = (prev + cost).min(above + 1).min(left + 1);
            prev = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = v;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

/// Resolves a reference to its manifest: tag -> digest, then the manifest bytes, size-bounded and
/// digest-checked, parsed as ModelPack with every layer path validated.
pub fn resolve(store: &dyn Store, r: &Reference) -> Result<Resolved, oci::Error> {
    let repo = r.repository().to_owned();
    let descriptor = store
        .resolve(&repo, r.target())
        .map_err(|e| unknown_target(store, r, e))?;
    if let Some(pinned) = r.digest()
        && pinned != descriptor.digest
    {
        return Err(oci::Error::DigestMismatch {
            what: format!("manifest {}", r),
            expected: pinned.to_owned(),
            actual: descriptor.digest,
        });
    }
    let fetched = store.fetch_manifest(&repo, &descriptor.digest)?;
    let manifest = oci::parse_model_manifest(&fetched.bytes)?;
    Ok(Resolved {
        repository: repo,
        descriptor: Descriptor {
            size: fetched.bytes.len() as u64,
            ..descriptor
        },
        manifest,
    })
}

/// The OMS resources a ModelPack manifest names: a raw layer's digest is its file's SHA-256.
pub fn resources_from_layers(m: &ModelManifest) -> Vec<Resource> {
    let mut out: Vec<Resource> = m
        .layers
        .iter()
        .map(|l| Resource {
            name: l.path.clone(),
            algorithm: "sha256".into(),
            digest: l.digest.trim_start_matches("sha256:").to_owned(),
        })
        .collect();
    out.sort_by_cached_key(|r| crate::formats::statement::resource_sort_key(&r.name));
    out
}

/// Why a signature referrer holds no usable bundle: a finding about that one referrer (tampered
/// or malformed content), not a failure of the whole walk.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unusable {
    /// The store refused the content: a digest mismatch or a size over its bound.
    #[error(transparent)]
    Refused(oci::Error),
    /// The referrer manifest is not JSON.
    #[error("referrer manifest is not JSON: {0}")]
    NotJson(serde_json::Error),
    /// No layer of the referrer has the Sigstore bundle media type.
    #[error("referrer has no sigstore bundle layer")]
    NoBundleLayer,
    /// The bundle layer declares more bytes than a bundle may have.
    #[error("bundle layer declares {size} bytes, over the {bound} byte bound")]
    Oversized {
        /// Declared size.
        size: u64,
        /// The bound ([`oci::MAX_REFERRER_BLOB_SIZE`]).
        bound: u64,
    },
}

/// Errors of [`fetch_bundle_bytes`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// This referrer holds no usable bundle; the walk goes on.
    #[error(transparent)]
    Unusable(#[from] Unusable),
    /// The store failed (unreachable, timed out): the walk stops.
    #[error(transparent)]
    Store(oci::Error),
}

/// Fetches the bundle bytes of a signature referrer: the referrer manifest (at most
/// [`oci::MAX_REFERRER_MANIFEST_SIZE`], digest-checked), then its bundle layer (at most
/// [`oci::MAX_REFERRER_BLOB_SIZE`], digest-checked), each with the registry's request deadline
/// and all of one listing's referrers within its referrer deadline.
pub fn fetch_bundle_bytes(
    store: &dyn Store,
    repo: &str,
    referrer: &Descriptor,
) -> Result<Vec<u8>, FetchError> {
    let refused = |e: oci::Error| {
        if e.kind() == oci::ErrorKind::Verification {
            FetchError::Unusable(Unusable::Refused(e))
        } else {
            FetchError::Store(e)
        }
    };
    let fetched = store
        .fetch_referrer_manifest(repo, &referrer.digest)
        .map_err(refused)?;
    let v: serde_json::Value = serde_json::from_slice(&fetched.bytes).map_err(Unusable::NotJson)?;
    let layer = v
        .get("layers")
        .and_then(|l| l.as_array())
        .and_then(|l| {
            l.iter().find(|d| {
                d.get("mediaType").and_then(|m| m.as_str()) == Some(bundle::BUNDLE_MEDIA_TYPE)
            })
        })
        .and_then(|d| serde_json::from_value::<Descriptor>(d.clone()).ok())
        .ok_or(Unusable::NoBundleLayer)?;
    if layer.size > oci::MAX_REFERRER_BLOB_SIZE {
        return Err(Unusable::Oversized {
            size: layer.size,
            bound: oci::MAX_REFERRER_BLOB_SIZE,
        }
        .into());
    }
    store
        .fetch_referrer_blob(repo, &referrer.digest, &layer.digest, layer.size)
        .map_err(refused)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn nearest_tags_come_first() {
        assert_eq!(edit_distance("v1", "v1"), 0);
        assert_eq!(edit_distance("v1", "v2"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        let tags = ["latest", "v1.0", "v2", "v1"].map(String::from).to_vec();
        assert_eq!(nearest("v1.1", tags, 2), ["v1.0", "v1"]);
    }
}

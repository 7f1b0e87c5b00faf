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

/// Resolves a reference to its manifest: tag -> digest, then the manifest bytes, size-bounded and
/// digest-checked, parsed as ModelPack with every layer path validated.
pub fn resolve(store: &dyn Store, r: &Reference) -> Result<Resolved, oci::Error> {
    let repo = r.repository().to_owned();
    let descriptor = store.resolve(&repo, r.target())?;
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

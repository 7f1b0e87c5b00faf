//! The `Store` abstraction: one synchronous interface over a remote registry and the local OCI
//! image layout, so the rest of the crate never touches async code.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::error::{Error, Result};

/// Largest manifest or index we read (4 MiB, as distribution and containerd limit them).
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;
/// Largest manifest of a signature referrer we read (64 KiB). Ours is under 1 KiB, cosign's and
/// notation's a few; the bound keeps [`MAX_REFERRERS`] of them at 64 MiB in all.
pub const MAX_REFERRER_MANIFEST_SIZE: u64 = 64 * 1024;
/// Largest blob of a signature referrer (its Sigstore bundle) we read or attach (4 MiB). A
/// bundle is a few KiB plus its statement, which names every file of the model once (173 bytes
/// a file measured, against ~200 for the file's layer in the manifest): every model whose
/// manifest fits [`MAX_MANIFEST_SIZE`] has a bundle under this. The 64 MiB bound of a bundle
/// file on disk would let [`MAX_REFERRERS`] referrers hold 64 GiB.
pub const MAX_REFERRER_BLOB_SIZE: u64 = 4 * 1024 * 1024;
/// OCI image manifest media type.
pub const MEDIA_TYPE_IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub const MEDIA_TYPE_IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The OCI empty descriptor's media type (config of artifacts that have none).
pub const MEDIA_TYPE_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// Digest of the two bytes `{}`, the OCI empty blob.
pub const EMPTY_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/// An OCI content descriptor (image-spec `descriptor.md`): what a tag resolves to, what a
/// referrers index lists, what a manifest names as config, layer or subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the referenced content.
    pub media_type: String,
    /// `sha256:<hex>` of the content.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Artifact type, for manifests that declare one (referrers listings carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations (referrers listings pull the manifest's annotations up here).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// A descriptor of `bytes` with the given media type.
    pub fn of_bytes(media_type: &str, bytes: &[u8]) -> Self {
        Descriptor {
            media_type: media_type.to_string(),
            digest: sha256_digest(bytes),
            size: bytes.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// A manifest as fetched: the exact bytes (digest-checked) and the media type it was served as.
#[derive(Clone, Debug)]
pub struct FetchedManifest {
    /// Exact bytes; their SHA-256 equals the digest they were fetched by.
    pub bytes: Vec<u8>,
    /// Media type (from the `Content-Type` or the document's `mediaType`).
    pub media_type: String,
}

/// Told the bytes of one blob as they move (a transfer thread calls it).
pub type ByteProgress = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

/// One storage backend for OCI content, addressed by repository. Implemented by
/// [`super::RegistryStore`] (a remote registry) and [`super::LayoutStore`] (an OCI image layout
/// folder). Both pass the same test suite. Every method is blocking; stores are shared between
/// upload threads, hence `Send + Sync`.
pub trait Store: Send + Sync {
    /// Resolve a tag or `sha256:` digest in `repo` to its manifest descriptor. A missing tag or
    /// manifest is [`Error::NotFound`].
    fn resolve(&self, repo: &str, tag_or_digest: &str) -> Result<Descriptor>;

    /// Fetch a manifest (or index) by digest: at most [`MAX_MANIFEST_SIZE`] bytes
    /// ([`Error::TooLarge`] past it) and hashing to `digest` ([`Error::DigestMismatch`] if not).
    fn fetch_manifest(&self, repo: &str, digest: &str) -> Result<FetchedManifest>;

    /// Store manifest `bytes` of `media_type` under `tag_or_digest` (a tag, or the bytes' own
    /// digest) and return its descriptor. The bytes are stored exactly as given.
    fn put_manifest(
        &self,
        repo: &str,
        tag_or_digest: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Descriptor>;

    /// Whether a blob is present in `repo`.
    fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool>;

    /// Upload a blob from a file, streamed (memory stays flat at any size). The caller vouches
    /// for `digest` and `size`; stores verify them where the protocol allows.
    fn push_blob_file(&self, repo: &str, path: &Path, digest: &str, size: u64) -> Result<()>;

    /// [`Store::push_blob_file`], telling `progress` the bytes sent as they go (a store that
    /// cannot tell reports the whole size at the end).
    fn push_blob_file_progress(
        &self,
        repo: &str,
        path: &Path,
        digest: &str,
        size: u64,
        progress: Option<ByteProgress>,
    ) -> Result<()> {
        self.push_blob_file(repo, path, digest, size)?;
        if let Some(p) = progress {
            p(size);
        }
        Ok(())
    }

    /// The registry this store talks to (`host[:port]`), `None` for a layout: two stores on one
    /// registry can mount blobs across repositories ([`Store::mount_blob`]).
    fn registry_host(&self) -> Option<&str> {
        None
    }

    /// Mount blob `digest` of `from_repo` into `repo` on the same registry, without moving its
    /// bytes (the distribution spec's cross-repository blob mount). `Ok(false)` when the store
    /// did not mount it (the caller copies the blob instead).
    fn mount_blob(&self, repo: &str, from_repo: &str, digest: &str) -> Result<bool> {
        let _ = (repo, from_repo, digest);
        Ok(false)
    }

    /// Upload a small in-memory blob; returns its descriptor (media type left empty).
    fn push_blob_bytes(&self, repo: &str, bytes: &[u8]) -> Result<Descriptor>;

    /// Stream blob `digest` into `out` through SHA-256. Fails with [`Error::DigestMismatch`] or
    /// [`Error::SizeMismatch`] if the bytes are not the ones named; the caller must then discard
    /// what was written (it is written before it could be checked).
    fn fetch_blob(&self, repo: &str, digest: &str, size: u64, out: &mut dyn Write) -> Result<()>;

    /// Fetch the manifest `digest` of a signature referrer (one [`Store::referrer_list`]
    /// listed): as [`Store::fetch_manifest`], but at most [`MAX_REFERRER_MANIFEST_SIZE`] bytes.
    /// A registry also bounds every read of one listing's referrers by one deadline
    /// ([`super::RegistryOptions::referrer_deadline`]), so many slow referrers cannot add up.
    fn fetch_referrer_manifest(&self, repo: &str, digest: &str) -> Result<FetchedManifest> {
        let m = self.fetch_manifest(repo, digest)?;
        if m.bytes.len() as u64 > MAX_REFERRER_MANIFEST_SIZE {
            return Err(Error::TooLarge {
                what: format!("referrer manifest {digest}"),
                limit: MAX_REFERRER_MANIFEST_SIZE,
            });
        }
        Ok(m)
    }

    /// Read blob `digest` (`size` bytes, e.g. a Sigstore bundle) of the signature referrer
    /// `referrer` into memory: at most [`MAX_REFERRER_BLOB_SIZE`] ([`Error::TooLarge`] past it),
    /// digest and size checked. A registry reads it with the metadata deadline and within the
    /// deadline of the referrer listing (see [`Store::fetch_referrer_manifest`]), never with
    /// the idle timeout alone as a model blob.
    fn fetch_referrer_blob(
        &self,
        repo: &str,
        referrer: &str,
        digest: &str,
        size: u64,
    ) -> Result<Vec<u8>> {
        let _ = referrer;
        check_referrer_blob_size(digest, size)?;
        let mut out = Vec::new();
        self.fetch_blob(repo, digest, size, &mut out)?;
        Ok(out)
    }

    /// Manifests in `repo` whose `subject` is `subject_digest`, optionally only those of
    /// `artifact_type`, as descriptors carrying `artifactType` and annotations: at most
    /// [`MAX_REFERRERS`], the newest (see [`ReferrerList`]). Use [`Store::referrer_list`] to
    /// learn whether some were left out.
    fn referrers(
        &self,
        repo: &str,
        subject_digest: &str,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        self.referrer_list(repo, subject_digest, artifact_type)
            .map(|l| l.descriptors)
    }

    /// As [`Store::referrers`], saying whether the [`MAX_REFERRERS`] cap left some out, so a
    /// caller can report that not every signature was examined.
    fn referrer_list(
        &self,
        repo: &str,
        subject_digest: &str,
        artifact_type: Option<&str>,
    ) -> Result<ReferrerList>;

    /// Store a manifest that has a `subject` by its digest and make it discoverable as a
    /// referrer of that subject (referrers API, tag-schema index, or layout index).
    fn put_referrer_manifest(&self, repo: &str, bytes: &[u8]) -> Result<Descriptor>;

    /// Tags of `repo`, sorted.
    fn list_tags(&self, repo: &str) -> Result<Vec<String>>;

    /// Tags of `repo` handed to `f` page by page as they arrive, so a caller (audit of a whole
    /// repository) can start on the first tags before the last page is read; an error from `f`
    /// stops the walk. A registry pages with `n=`/`last=` under a total cap
    /// ([`super::registry::MAX_TAGS`]); the default gives [`Store::list_tags`] as one page.
    fn walk_tags(&self, repo: &str, f: &mut dyn FnMut(&[String]) -> Result<()>) -> Result<()> {
        let tags = self.list_tags(repo)?;
        f(&tags)
    }
}

/// [`Error::TooLarge`] for a referrer blob declared over [`MAX_REFERRER_BLOB_SIZE`].
pub(crate) fn check_referrer_blob_size(digest: &str, size: u64) -> Result<()> {
    if size > MAX_REFERRER_BLOB_SIZE {
        return Err(Error::TooLarge {
            what: format!("signature blob {digest} ({size} bytes)"),
            limit: MAX_REFERRER_BLOB_SIZE,
        });
    }
    Ok(())
}

/// Most referrers of one subject that are examined. A subject with more (a registry flooded with
/// signatures, by mistake or to exhaust verifiers) has only its newest [`MAX_REFERRERS`] read;
/// [`ReferrerList::truncated`] says so. Far above what signing writes (one per signer and run).
pub const MAX_REFERRERS: usize = 1000;

/// The referrers of one subject, capped at [`MAX_REFERRERS`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReferrerList {
    /// The kept referrers, in the order the store lists them.
    pub descriptors: Vec<Descriptor>,
    /// How many referrers the store listed (after the artifact-type filter) before the cap.
    pub total: usize,
    /// Whether the cap left some out (`total > descriptors.len()`).
    pub truncated: bool,
}

impl ReferrerList {
    /// Keep the newest [`MAX_REFERRERS`] of `all`: by the `org.opencontainers.image.created`
    /// annotation (RFC 3339, later first), then by position (a tag-schema index appends, so
    /// later is newer); the kept ones stay in their listed order.
    pub fn capped(all: Vec<Descriptor>) -> ReferrerList {
        ReferrerList::capped_at(all, MAX_REFERRERS)
    }

    pub(crate) fn capped_at(all: Vec<Descriptor>, cap: usize) -> ReferrerList {
        let total = all.len();
        if total <= cap {
            return ReferrerList {
                descriptors: all,
                total,
                truncated: false,
            };
        }
        let mut order: Vec<usize> = (0..total).collect();
        let created = |i: usize| {
            all.get(i)
                .and_then(|d| d.annotations.get("org.opencontainers.image.created"))
                .cloned()
        };
        order.sort_by_key(|&i| std::cmp::Reverse((created(i), i)));
        let mut keep = vec![false; total];
        for i in order.into_iter().take(cap) {
            if let Some(k) = keep.get_mut(i) {
                *k = true;
            }
        }
        let descriptors = all
            .into_iter()
            .zip(keep)
            .filter_map(|(d, k)| k.then_some(d))
            .collect();
        ReferrerList {
            descriptors,
            total,
            truncated: true,
        }
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Hex part of a validated `sha256:` digest.
pub(crate) fn digest_hex(digest: &str) -> Result<&str> {
    super::reference::validate_digest(digest)?;
    Ok(digest.trim_start_matches("sha256:"))
}

/// Check that `bytes` hash to `expected`.
pub(crate) fn check_digest(what: &str, expected: &str, bytes: &[u8]) -> Result<()> {
    let actual = sha256_digest(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(Error::DigestMismatch {
            what: what.to_string(),
            expected: expected.to_string(),
            actual,
        })
    }
}

/// The checks every store makes before storing manifest `bytes` under `tag_or_digest`: at most
/// [`MAX_MANIFEST_SIZE`], and `tag_or_digest` is either the bytes' own digest or a valid tag.
/// Returns whether it is a digest.
pub(crate) fn check_manifest_put(tag_or_digest: &str, bytes: &[u8]) -> Result<bool> {
    if bytes.len() as u64 > MAX_MANIFEST_SIZE {
        return Err(Error::TooLarge {
            what: "manifest".into(),
            limit: MAX_MANIFEST_SIZE,
        });
    }
    if tag_or_digest.starts_with("sha256:") {
        check_digest("manifest to put", tag_or_digest, bytes)?;
        return Ok(true);
    }
    super::reference::validate_tag(tag_or_digest).map_err(|reason| Error::InvalidReference {
        reference: tag_or_digest.to_string(),
        reason,
    })?;
    Ok(false)
}

/// A writer adapter that hashes and counts what passes through and refuses to go past `size`.
pub(crate) struct VerifyingWriter<'a> {
    inner: &'a mut dyn Write,
    hasher: Sha256,
    written: u64,
    size: u64,
}

impl<'a> VerifyingWriter<'a> {
    pub(crate) fn new(inner: &'a mut dyn Write, size: u64) -> Self {
        VerifyingWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
            size,
        }
    }

    /// Bytes written so far (where a resumed download continues).
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// Write a chunk; more bytes than the declared size is a [`Error::SizeMismatch`].
    pub(crate) fn put(&mut self, what: &str, chunk: &[u8], path: &Path) -> Result<()> {
        let n = chunk.len() as u64;
        if self.written.saturating_add(n) > self.size {
            return Err(Error::SizeMismatch {
                what: what.to_string(),
                expected: self.size,
                actual: self.written.saturating_add(n),
            });
        }
        self.hasher.update(chunk);
        self.written += n;
        self.inner.write_all(chunk).map_err(|e| Error::io(path, e))
    }

    /// Check size and digest once all bytes went through.
    pub(crate) fn finish(self, what: &str, digest: &str, path: &Path) -> Result<()> {
        self.inner.flush().map_err(|e| Error::io(path, e))?;
        if self.written != self.size {
            return Err(Error::SizeMismatch {
                what: what.to_string(),
                expected: self.size,
                actual: self.written,
            });
        }
        let actual = format!("sha256:{}", hex::encode(self.hasher.finalize()));
        if actual != digest {
            return Err(Error::DigestMismatch {
                what: what.to_string(),
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn d(n: u8, created: Option<&str>) -> Descriptor {
        let mut d = Descriptor::of_bytes(MEDIA_TYPE_IMAGE_MANIFEST, &[n]);
        if let Some(c) = created {
            d.annotations
                .insert("org.opencontainers.image.created".into(), c.into());
        }
        d
    }

    #[test]
    fn referrer_cap_keeps_the_newest_in_listed_order_and_says_so() {
        let all = vec![
            d(0, Some("2026-01-03T00:00:00Z")),
            d(1, Some("2026-01-01T00:00:00Z")),
            d(2, None),
            d(3, Some("2026-01-02T00:00:00Z")),
        ];
        let l = ReferrerList::capped_at(all.clone(), 2);
        assert!(l.truncated);
        assert_eq!(l.total, 4);
        assert_eq!(l.descriptors, vec![all[0].clone(), all[3].clone()]);
        // Undated entries: the later-listed one is the newer.
        let undated = vec![d(0, None), d(1, None), d(2, None)];
        let l = ReferrerList::capped_at(undated.clone(), 2);
        assert_eq!(l.descriptors, undated[1..].to_vec());
        let l = ReferrerList::capped_at(undated.clone(), 3);
        assert!(!l.truncated);
        assert_eq!(l.descriptors, undated);
    }
}

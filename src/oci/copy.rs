//! Copy a model between stores with its signatures: the manifest, its config and layers (blobs
//! the destination holds are skipped), then every referrer with its blobs, digests unchanged,
//! and the tag written last, so a destination tag never names a model whose blobs or
//! signatures are still on their way. Referrers go through the destination's own
//! [`Store::put_referrer_manifest`]: the referrers API where it answers, else the tag-schema
//! index, merged with what is already there.
//!
//! Between two repositories of one registry, blobs are mounted (the distribution spec's
//! cross-repository mount) rather than moved; a registry that declines gets them copied.
//!
//! Every byte read is checked against its digest on the way (the stores' fetches hash); a blob
//! is staged in a temp file and uploaded from it, so memory stays flat at any model size. This
//! module decides nothing about trust: `verify::copy` runs the Verifier first when asked to.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::Value;

use super::error::{Error, Result};
use super::store::{MEDIA_TYPE_IMAGE_INDEX, Store, digest_hex};

/// How to copy.
#[derive(Clone, Debug)]
pub struct CopyOptions {
    /// Blobs copied at once.
    pub concurrency: usize,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            concurrency: super::DEFAULT_CONCURRENCY,
        }
    }
}

/// What [`copy_model`] moved.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CopyStats {
    /// Model blobs (config and layers) uploaded to the destination.
    pub blobs_copied: u64,
    /// Model blobs the destination already held (not fetched).
    pub blobs_present: u64,
    /// Model blobs mounted from the source repository on the same registry (not fetched).
    pub blobs_mounted: u64,
    /// Bytes uploaded for model blobs.
    pub bytes_copied: u64,
    /// Referrers (signatures) copied.
    pub referrers: usize,
    /// Referrers the source listed beyond the cap ([`super::MAX_REFERRERS`]), not copied.
    pub referrers_left_out: usize,
}

/// A blob a manifest names: digest and size.
struct Blob {
    digest: String,
    size: u64,
}

/// The config and layers of an image manifest, validated.
fn blobs_of(what: &str, bytes: &[u8]) -> Result<Vec<Blob>> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| Error::malformed(what, e))?;
    let mut out = Vec::new();
    let mut add = |d: &Value| -> Result<()> {
        let digest = d
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::malformed(what, "a descriptor without a digest"))?;
        digest_hex(digest)?;
        let size = d
            .get("size")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::malformed(what, "a descriptor without a size"))?;
        out.push(Blob {
            digest: digest.to_string(),
            size,
        });
        Ok(())
    };
    if let Some(c) = v.get("config") {
        add(c)?;
    }
    if let Some(Value::Array(layers)) = v.get("layers") {
        for l in layers {
            add(l)?;
        }
    }
    Ok(out)
}

/// Copies manifest `digest` of `src_repo` in `src` to `dst_repo` in `dst` with its referrers,
/// then tags it `tag` (if any). Idempotent: re-running after a failure copies only what is
/// missing, and the tag is never written before everything it names is there.
pub fn copy_model(
    src: &dyn Store,
    src_repo: &str,
    digest: &str,
    dst: &dyn Store,
    dst_repo: &str,
    tag: Option<&str>,
    options: &CopyOptions,
) -> Result<CopyStats> {
    let manifest = src.fetch_manifest(src_repo, digest)?;
    let media_type = manifest.media_type.clone();
    if media_type == MEDIA_TYPE_IMAGE_INDEX {
        return Err(Error::malformed(
            format!("manifest {digest}"),
            "it is an index; copy carries one model manifest (name the platform's manifest by digest)",
        ));
    }
    let blobs = blobs_of(&format!("manifest {digest}"), &manifest.bytes)?;
    let copied = AtomicU64::new(0);
    let present = AtomicU64::new(0);
    let mounted = AtomicU64::new(0);
    let same_registry = src.registry_host().is_some()
        && src.registry_host() == dst.registry_host()
        && src_repo != dst_repo;
    let bytes = AtomicU64::new(0);
    super::ops::run_parallel(options.concurrency, &blobs, |b| {
        if dst.blob_exists(dst_repo, &b.digest)? {
            present.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        if same_registry && dst.mount_blob(dst_repo, src_repo, &b.digest)? {
            mounted.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let mut staged =
            tempfile::NamedTempFile::new().map_err(|e| Error::io(std::env::temp_dir(), e))?;
        src.fetch_blob(src_repo, &b.digest, b.size, staged.as_file_mut())?;
        staged
            .as_file()
            .sync_data()
            .map_err(|e| Error::io(staged.path(), e))?;
        dst.push_blob_file(dst_repo, staged.path(), &b.digest, b.size)?;
        copied.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(b.size, Ordering::Relaxed);
        Ok(())
    })?;
    dst.put_manifest(dst_repo, digest, &manifest.bytes, &media_type)?;

    let listed = src.referrer_list(src_repo, digest, None)?;
    let mut stats = CopyStats {
        blobs_copied: copied.into_inner(),
        blobs_present: present.into_inner(),
        blobs_mounted: mounted.into_inner(),
        bytes_copied: bytes.into_inner(),
        referrers: 0,
        referrers_left_out: listed.total.saturating_sub(listed.descriptors.len()),
    };
    for r in &listed.descriptors {
        let m = src.fetch_referrer_manifest(src_repo, &r.digest)?;
        for b in blobs_of(&format!("referrer {}", r.digest), &m.bytes)? {
            if dst.blob_exists(dst_repo, &b.digest)?
                || (same_registry && dst.mount_blob(dst_repo, src_repo, &b.digest)?)
            {
                continue;
            }
            let data = src.fetch_referrer_blob(src_repo, &r.digest, &b.digest, b.size)?;
            let pushed = dst.push_blob_bytes(dst_repo, &data)?;
            if pushed.digest != b.digest {
                return Err(Error::DigestMismatch {
                    what: format!("referrer blob {}", b.digest),
                    expected: b.digest.clone(),
                    actual: pushed.digest,
                });
            }
        }
        dst.put_referrer_manifest(dst_repo, &m.bytes)?;
        stats.referrers += 1;
    }
    if let Some(t) = tag {
        dst.put_manifest(dst_repo, t, &manifest.bytes, &media_type)?;
    }
    Ok(stats)
}

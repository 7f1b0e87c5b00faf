//! High-level, synchronous operations the CLI calls: push and pull a model, attach and list
//! referrers. They work over any [`Store`], so the registry and the local layout behave alike.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::error::{Error, Result};
use super::modelpack::{
    ModelConfig, ModelFile, ModelManifest, build_model_manifest, validate_layer_path,
};
use super::store::{Descriptor, EMPTY_DIGEST, MEDIA_TYPE_EMPTY, MEDIA_TYPE_IMAGE_MANIFEST, Store};

/// Default number of blobs moved at once.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// One file of a model folder to push.
#[derive(Clone, Debug)]
pub struct PushFile {
    /// Where the file is on disk.
    pub abs_path: PathBuf,
    /// Relative POSIX path inside the model (the `org.cncf.model.filepath` annotation).
    pub rel_path: String,
    /// Lowercase hex SHA-256 of the file (from the hashing step; the store checks it again).
    pub sha256_hex: String,
    /// Size in bytes.
    pub size: u64,
}

/// What a transfer reports as it goes, for progress display.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// A blob is already in the store; not sent again.
    BlobSkipped {
        /// Its file path in the model.
        path: String,
        /// Its size.
        size: u64,
    },
    /// A blob transfer starts.
    BlobStarted {
        /// Its file path in the model.
        path: String,
        /// Its size.
        size: u64,
    },
    /// A blob transfer finished and was verified.
    BlobDone {
        /// Its file path in the model.
        path: String,
        /// Its size.
        size: u64,
    },
    /// The manifest is stored by digest (push) or every file verified (pull).
    ManifestDone {
        /// The manifest digest.
        digest: String,
    },
}

/// A progress observer; called from transfer threads.
pub type ProgressFn = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// Options of [`push_model`] and [`pull_model`].
#[derive(Clone)]
pub struct TransferOptions {
    /// Blobs moved at once (0 counts as 1).
    pub concurrency: usize,
    /// Progress observer (the CLI draws bars from it when stderr is a terminal).
    pub progress: Option<ProgressFn>,
}

/// Options of [`push_model`].
pub type PushOptions = TransferOptions;
/// Options of [`pull_model`].
pub type PullOptions = TransferOptions;

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            concurrency: DEFAULT_CONCURRENCY,
            progress: None,
        }
    }
}

impl std::fmt::Debug for TransferOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferOptions")
            .field("concurrency", &self.concurrency)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl TransferOptions {
    fn report(&self, e: ProgressEvent) {
        if let Some(p) = &self.progress {
            p(&e);
        }
    }
}

/// Run `f` on every item with up to `n` threads; the first error stops handing out work.
fn run_parallel<T: Sync>(n: usize, items: &[T], f: impl Fn(&T) -> Result<()> + Sync) -> Result<()> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let workers = n.max(1).min(items.len().max(1));
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    while !failed.load(Ordering::SeqCst) {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(item) = items.get(i) else { break };
                        if let Err(e) = f(item) {
                            failed.store(true, Ordering::SeqCst);
                            return Err(e);
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::io(
                        "transfer thread",
                        std::io::Error::other("a transfer thread panicked"),
                    ))
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

/// Push a model folder as a ModelPack artifact and tag it.
///
/// Order keeps a failed push harmless and a retry cheap: blobs already present are skipped
/// (HEAD), the rest upload in parallel, then the config, then the manifest by digest, and the
/// tag is written last, so a tag never points at a half-pushed model. Returns the manifest
/// descriptor.
pub fn push_model(
    store: &dyn Store,
    repo: &str,
    tag: &str,
    files: &[PushFile],
    config: &ModelConfig,
    opts: &PushOptions,
) -> Result<Descriptor> {
    let model_files: Vec<ModelFile> = files
        .iter()
        .map(|f| ModelFile {
            path: f.rel_path.clone(),
            sha256_hex: f.sha256_hex.clone(),
            size: f.size,
        })
        .collect();
    let built = build_model_manifest(&model_files, config)?;
    super::reference::validate_tag(tag).map_err(|reason| Error::InvalidReference {
        reference: tag.to_string(),
        reason,
    })?;
    // One upload per distinct digest.
    let mut seen = BTreeSet::new();
    let unique: Vec<&PushFile> = files
        .iter()
        .filter(|f| seen.insert(f.sha256_hex.clone()))
        .collect();
    run_parallel(opts.concurrency, &unique, |f| {
        let digest = format!("sha256:{}", f.sha256_hex);
        if store.blob_exists(repo, &digest)? {
            opts.report(ProgressEvent::BlobSkipped {
                path: f.rel_path.clone(),
                size: f.size,
            });
            return Ok(());
        }
        opts.report(ProgressEvent::BlobStarted {
            path: f.rel_path.clone(),
            size: f.size,
        });
        store.push_blob_file(repo, &f.abs_path, &digest, f.size)?;
        opts.report(ProgressEvent::BlobDone {
            path: f.rel_path.clone(),
            size: f.size,
        });
        Ok(())
    })?;
    if !store.blob_exists(repo, &built.config_descriptor.digest)? {
        store.push_blob_bytes(repo, &built.config)?;
    }
    let by_digest = built.descriptor.digest.clone();
    store.put_manifest(repo, &by_digest, &built.manifest, MEDIA_TYPE_IMAGE_MANIFEST)?;
    opts.report(ProgressEvent::ManifestDone {
        digest: by_digest.clone(),
    });
    store.put_manifest(repo, tag, &built.manifest, MEDIA_TYPE_IMAGE_MANIFEST)?;
    Ok(built.descriptor)
}

fn dir_is_empty(p: &Path) -> Result<bool> {
    let mut it = fs::read_dir(p).map_err(|e| Error::io(p, e))?;
    Ok(it.next().is_none())
}

/// Download a model into `out_dir`, which must not exist or be empty.
///
/// Every blob streams through SHA-256 into a temporary folder beside `out_dir` (same parent, so
/// the final rename is atomic); every digest, size and path is checked, and only when all pass is
/// the folder renamed into place. On any failure the temporary folder is removed and `out_dir` is
/// left as it was.
pub fn pull_model(
    store: &dyn Store,
    repo: &str,
    manifest: &ModelManifest,
    out_dir: &Path,
    opts: &PullOptions,
) -> Result<()> {
    let out_exists = match fs::symlink_metadata(out_dir) {
        Ok(m) if m.is_dir() => {
            if !dir_is_empty(out_dir)? {
                return Err(Error::OutputNotEmpty {
                    path: out_dir.to_path_buf(),
                });
            }
            true
        }
        Ok(_) => {
            return Err(Error::OutputNotEmpty {
                path: out_dir.to_path_buf(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(Error::io(out_dir, e)),
    };
    for l in &manifest.layers {
        validate_layer_path(&l.path)?;
    }
    let parent = match out_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".provenance-pull-")
        .tempdir_in(&parent)
        .map_err(|e| Error::io(&parent, e))?;
    let root = tmp.path().to_path_buf();
    run_parallel(opts.concurrency, &manifest.layers, |l| {
        let dest = root.join(&l.path);
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            let real = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
            let real_root = root.canonicalize().map_err(|e| Error::io(&root, e))?;
            if !real.starts_with(&real_root) {
                return Err(Error::unsafe_path(
                    &l.path,
                    "resolves outside the output folder",
                ));
            }
        }
        opts.report(ProgressEvent::BlobStarted {
            path: l.path.clone(),
            size: l.size,
        });
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&dest)
            .map_err(|e| Error::io(&dest, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        store.fetch_blob(repo, &l.digest, l.size, &mut w)?;
        let file = w
            .into_inner()
            .map_err(|e| Error::io(&dest, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&dest, e))?;
        opts.report(ProgressEvent::BlobDone {
            path: l.path.clone(),
            size: l.size,
        });
        Ok(())
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(&root, e))?;
    }
    if out_exists {
        // Only an empty folder is there; rename(2) replaces it atomically on Unix.
        fs::remove_dir(out_dir).map_err(|e| Error::io(out_dir, e))?;
    }
    let kept = tmp.keep();
    if let Err(e) = fs::rename(&kept, out_dir) {
        let _ = fs::remove_dir_all(&kept);
        return Err(Error::io(out_dir, e));
    }
    Ok(())
}

/// Build an OCI 1.1 referrer manifest (DESIGN 1.3): empty config, one layer, `subject`,
/// annotations. Returns the exact manifest bytes.
pub fn build_referrer_manifest(
    subject: &Descriptor,
    artifact_type: &str,
    layer: &Descriptor,
    annotations: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let subject = serde_json::json!({
        "mediaType": subject.media_type,
        "digest": subject.digest,
        "size": subject.size,
    });
    let mut m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_IMAGE_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": MEDIA_TYPE_EMPTY, "digest": EMPTY_DIGEST, "size": 2, "data": "e30="},
        "layers": [{"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size}],
        "subject": subject,
    });
    if !annotations.is_empty() {
        if let Some(obj) = m.as_object_mut() {
            obj.insert(
                "annotations".into(),
                serde_json::to_value(annotations)
                    .map_err(|e| Error::malformed("annotations", e))?,
            );
        }
    }
    serde_json::to_vec(&m).map_err(|e| Error::malformed("referrer manifest", e))
}

/// Attach `layer_bytes` (e.g. a Sigstore bundle) to `subject` as an OCI 1.1 referrer: push the
/// empty config and the layer, push the manifest by digest, and make it discoverable (referrers
/// API, else the `sha256-<hex>` tag-schema index, keeping other tools' entries). Returns the
/// referrer's descriptor as a referrers listing shows it.
pub fn attach_referrer(
    store: &dyn Store,
    repo: &str,
    subject: &Descriptor,
    artifact_type: &str,
    layer_media_type: &str,
    layer_bytes: &[u8],
    annotations: &BTreeMap<String, String>,
) -> Result<Descriptor> {
    super::reference::validate_digest(&subject.digest)?;
    if !store.blob_exists(repo, EMPTY_DIGEST)? {
        store.push_blob_bytes(repo, b"{}")?;
    }
    let mut layer = store.push_blob_bytes(repo, layer_bytes)?;
    layer.media_type = layer_media_type.to_string();
    let manifest = build_referrer_manifest(subject, artifact_type, &layer, annotations)?;
    store.put_referrer_manifest(repo, &manifest)
}

/// Referrers of `subject_digest` in `repo`, optionally only those of `artifact_type`.
pub fn list_referrers(
    store: &dyn Store,
    repo: &str,
    subject_digest: &str,
    artifact_type: Option<&str>,
) -> Result<Vec<Descriptor>> {
    store.referrers(repo, subject_digest, artifact_type)
}

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
use super::store::{
    Descriptor, EMPTY_DIGEST, MAX_REFERRER_BLOB_SIZE, MEDIA_TYPE_EMPTY, MEDIA_TYPE_IMAGE_MANIFEST,
    Store,
};

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
    /// More bytes of a blob moved (and, on a pull, were hashed on the way).
    BlobBytes {
        /// Its file path in the model.
        path: String,
        /// Bytes moved since the last report.
        bytes: u64,
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

/// A writer that tells `report` the bytes written, in steps of at least [`REPORT_STEP`].
struct Counting<W, F: Fn(u64)> {
    inner: W,
    pending: u64,
    report: F,
}

/// Bytes between two progress reports of one blob.
const REPORT_STEP: u64 = 1 << 20;

impl<W, F: Fn(u64)> Counting<W, F> {
    fn flush_report(&mut self) {
        if self.pending > 0 {
            (self.report)(self.pending);
            self.pending = 0;
        }
    }
}

impl<W: std::io::Write, F: Fn(u64)> std::io::Write for Counting<W, F> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pending += n as u64;
        if self.pending >= REPORT_STEP {
            self.flush_report();
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Run `f` on every item with up to `n` threads; the first error stops handing out work.
pub(super) fn run_parallel<T: Sync>(
    n: usize,
    items: &[T],
    f: impl Fn(&T) -> Result<()> + Sync,
) -> Result<()> {
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
        let bytes = opts.progress.clone().map(|p| {
            let path = f.rel_path.clone();
            let report: super::store::ByteProgress = Arc::new(move |n| {
                p(&ProgressEvent::BlobBytes {
                    path: path.clone(),
                    bytes: n,
                })
            });
            report
        });
        store.push_blob_file_progress(repo, &f.abs_path, &digest, f.size, bytes)?;
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
    pull_model_with_sidecar(store, repo, manifest, out_dir, opts, None)
}

/// A file written together with a pulled model (its signature): where, and its bytes.
#[derive(Clone, Debug)]
pub struct Sidecar {
    /// Where it goes: beside the output folder (e.g. `DIR.sig`) or inside it.
    pub path: PathBuf,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// Temp folders of pulls (`.provenance-pull-<pid>-*`) older than this whose process is gone are
/// removed by the next pull into the same parent folder.
pub const STALE_PULL_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// As [`pull_model`], and write `sidecar` (the signature the pull was verified with) atomically
/// before the model folder is renamed into place, so a failure never leaves a verified folder
/// without its signature: a sidecar inside `out_dir` is written into the temporary folder; one
/// outside is written (temp file, sync, rename) first and removed again if the folder's rename
/// fails. Also removes stale pull folders (see [`STALE_PULL_AGE`]) in `out_dir`'s parent.
/// Refuses a symbolic link or a file as `out_dir` ([`Error::OutputNotFolder`]) and reports a
/// full disk as [`Error::NoSpace`].
pub fn pull_model_with_sidecar(
    store: &dyn Store,
    repo: &str,
    manifest: &ModelManifest,
    out_dir: &Path,
    opts: &PullOptions,
    sidecar: Option<&Sidecar>,
) -> Result<()> {
    let needed: u64 = manifest.layers.iter().map(|l| l.size).sum();
    pull_inner(store, repo, manifest, out_dir, opts, sidecar).map_err(|e| match e {
        Error::Io { path, source } if source.kind() == std::io::ErrorKind::StorageFull => {
            Error::NoSpace { path, needed }
        }
        other => other,
    })
}

fn pull_inner(
    store: &dyn Store,
    repo: &str,
    manifest: &ModelManifest,
    out_dir: &Path,
    opts: &PullOptions,
    sidecar: Option<&Sidecar>,
) -> Result<()> {
    let out_exists = match fs::symlink_metadata(out_dir) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(Error::OutputNotFolder {
                path: out_dir.to_path_buf(),
                reason: "is a symbolic link".into(),
            });
        }
        Ok(m) if !m.is_dir() => {
            return Err(Error::OutputNotFolder {
                path: out_dir.to_path_buf(),
                reason: "is a file, not a folder".into(),
            });
        }
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
    sweep_stale_pulls(&parent);
    let tmp = tempfile::Builder::new()
        .prefix(&format!("{PULL_PREFIX}{}-", std::process::id()))
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
        let mut w = Counting {
            inner: BufWriter::with_capacity(1 << 20, file),
            pending: 0,
            report: |n| {
                opts.report(ProgressEvent::BlobBytes {
                    path: l.path.clone(),
                    bytes: n,
                })
            },
        };
        store.fetch_blob(repo, &l.digest, l.size, &mut w)?;
        w.flush_report();
        let file = w
            .inner
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
    // The signature lands before the folder: a verified folder never appears without it.
    let mut outside: Option<PathBuf> = None;
    if let Some(sc) = sidecar {
        match sc.path.strip_prefix(out_dir) {
            Ok(rel) if !rel.as_os_str().is_empty() => {
                let rel = rel.to_string_lossy().replace('\\', "/");
                validate_layer_path(&rel)?;
                if manifest.layers.iter().any(|l| l.path == rel) {
                    return Err(Error::unsafe_path(
                        &rel,
                        "the signature file would replace a file of the model",
                    ));
                }
                write_atomic(&root.join(&rel), &sc.bytes)?;
            }
            _ => {
                write_atomic(&sc.path, &sc.bytes)?;
                outside = Some(sc.path.clone());
            }
        }
    }
    let undo = |e: Error| {
        if let Some(p) = &outside {
            let _ = fs::remove_file(p);
        }
        e
    };
    if out_exists {
        // Only an empty folder is there; rename(2) replaces it atomically on Unix.
        fs::remove_dir(out_dir).map_err(|e| undo(Error::io(out_dir, e)))?;
    }
    let kept = tmp.keep();
    if let Err(e) = fs::rename(&kept, out_dir) {
        let _ = fs::remove_dir_all(&kept);
        return Err(undo(Error::io(out_dir, e)));
    }
    Ok(())
}

const PULL_PREFIX: &str = ".provenance-pull-";

/// Write `bytes` to `target` atomically: temp file beside it, sync, rename.
fn write_atomic(target: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| Error::io(&dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(target, e))?;
    // A signature is public: readable by all, as `Bundle::write` makes it (temp files are 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io(tmp.path(), e))?;
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(target, e))?;
    tmp.persist(target)
        .map_err(|e| Error::io(target, e.error))?;
    Ok(())
}

/// Remove pull temp folders in `parent` older than [`STALE_PULL_AGE`] whose process (the PID in
/// the name) is not running; best effort, silent. Folders of live pulls are never touched; where
/// `/proc` does not exist, a folder counts as live.
fn sweep_stale_pulls(parent: &Path) {
    let Ok(dir) = fs::read_dir(parent) else {
        return;
    };
    let proc_root = Path::new("/proc");
    let can_check = proc_root.join("self").exists();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Some(rest) = name.strip_prefix(PULL_PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let alive = match pid {
            Some(pid) => !can_check || proc_root.join(pid.to_string()).exists(),
            // Older folders had no PID in their name: the age decides alone.
            None => !can_check,
        };
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| std::time::SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > STALE_PULL_AGE);
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if old && !alive && is_dir {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
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
    // A bundle no verifier would read from a registry is refused before anything is written.
    if layer_bytes.len() as u64 > MAX_REFERRER_BLOB_SIZE {
        return Err(Error::TooLarge {
            what: format!(
                "signature to attach ({} bytes; a model of very many files)",
                layer_bytes.len()
            ),
            limit: MAX_REFERRER_BLOB_SIZE,
        });
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::oci::{LayoutStore, ModelConfig, parse_model_manifest};
    use sha2::{Digest as _, Sha256};

    /// A local store holding a two-file model; (store dir guard, store, manifest).
    fn pushed() -> (tempfile::TempDir, LayoutStore, ModelManifest) {
        let tmp = tempfile::tempdir().unwrap();
        let store = LayoutStore::open(tmp.path().join("store")).unwrap();
        let files: Vec<PushFile> = [("model.bin", &b"weights"[..]), ("config.json", b"{}")]
            .iter()
            .map(|(name, bytes)| {
                let p = tmp.path().join(name);
                fs::write(&p, bytes).unwrap();
                PushFile {
                    abs_path: p,
                    rel_path: (*name).to_string(),
                    sha256_hex: hex::encode(Sha256::digest(bytes)),
                    size: bytes.len() as u64,
                }
            })
            .collect();
        let d = push_model(
            &store,
            "m/a",
            "v1",
            &files,
            &ModelConfig::default(),
            &PushOptions::default(),
        )
        .unwrap();
        let m = store.fetch_manifest("m/a", &d.digest).unwrap();
        let manifest = parse_model_manifest(&m.bytes).unwrap();
        (tmp, store, manifest)
    }

    fn sig(path: PathBuf) -> Sidecar {
        Sidecar {
            path,
            bytes: b"{\"bundle\":1}".to_vec(),
        }
    }

    #[test]
    fn signature_lands_with_the_folder_beside_or_inside_it() {
        let (tmp, store, manifest) = pushed();
        let out = tmp.path().join("out");
        let sc = sig(tmp.path().join("out.sig"));
        pull_model_with_sidecar(
            &store,
            "m/a",
            &manifest,
            &out,
            &Default::default(),
            Some(&sc),
        )
        .unwrap();
        assert_eq!(fs::read(out.join("model.bin")).unwrap(), b"weights");
        assert_eq!(fs::read(&sc.path).unwrap(), sc.bytes);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&sc.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        let out2 = tmp.path().join("out2");
        let inside = sig(out2.join("model.sig"));
        pull_model_with_sidecar(
            &store,
            "m/a",
            &manifest,
            &out2,
            &Default::default(),
            Some(&inside),
        )
        .unwrap();
        assert_eq!(fs::read(&inside.path).unwrap(), inside.bytes);
        // A signature path that is a model file is refused before anything lands.
        let out3 = tmp.path().join("out3");
        let clash = sig(out3.join("model.bin"));
        let e = pull_model_with_sidecar(
            &store,
            "m/a",
            &manifest,
            &out3,
            &Default::default(),
            Some(&clash),
        )
        .unwrap_err();
        assert!(matches!(e, Error::UnsafePath { .. }), "{e}");
        assert!(!out3.exists());
    }

    #[test]
    fn a_failed_pull_leaves_neither_folder_nor_signature() {
        let (tmp, store, manifest) = pushed();
        // Corrupt one blob in the store: the digest check fails mid-pull.
        let layer = &manifest.layers[0];
        let blob = store
            .root()
            .join("blobs/sha256")
            .join(layer.digest.trim_start_matches("sha256:"));
        fs::write(&blob, vec![b'x'; usize::try_from(layer.size).unwrap()]).unwrap();
        let out = tmp.path().join("out");
        let sc = sig(tmp.path().join("out.sig"));
        let e = pull_model_with_sidecar(
            &store,
            "m/a",
            &manifest,
            &out,
            &Default::default(),
            Some(&sc),
        )
        .unwrap_err();
        assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
        assert!(!out.exists());
        assert!(!sc.path.exists());
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_or_file_output_is_refused_with_a_clear_message() {
        let (tmp, store, manifest) = pushed();
        let target = tmp.path().join("elsewhere");
        fs::create_dir(&target).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = pull_model(&store, "m/a", &manifest, &link, &Default::default()).unwrap_err();
        assert!(e.to_string().contains("is a symbolic link"), "{e}");
        assert_eq!(e.exit_code(), 2);
        let file = tmp.path().join("file");
        fs::write(&file, b"x").unwrap();
        let e = pull_model(&store, "m/a", &manifest, &file, &Default::default()).unwrap_err();
        assert!(e.to_string().contains("is a file, not a folder"), "{e}");
        assert!(fs::read_dir(&target).unwrap().next().is_none());
    }

    #[test]
    fn stale_pull_folders_of_dead_processes_are_swept_live_ones_kept() {
        let (tmp, store, manifest) = pushed();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = tmp.path().join(format!("{PULL_PREFIX}{dead}-abc"));
        let live = tmp
            .path()
            .join(format!("{PULL_PREFIX}{}-def", std::process::id()));
        let young = tmp.path().join(format!("{PULL_PREFIX}{dead}-ghi"));
        for d in [&stale, &live, &young] {
            fs::create_dir(d).unwrap();
            fs::write(d.join("part"), b"x").unwrap();
        }
        for d in [&stale, &live] {
            fs::File::open(d)
                .unwrap()
                .set_modified(
                    std::time::SystemTime::now()
                        - STALE_PULL_AGE
                        - std::time::Duration::from_secs(60),
                )
                .unwrap();
        }
        pull_model(
            &store,
            "m/a",
            &manifest,
            &tmp.path().join("out"),
            &Default::default(),
        )
        .unwrap();
        assert!(!stale.exists(), "a dead pull's old folder was left");
        assert!(live.exists(), "a live pull's folder was removed");
        assert!(young.exists(), "a recent folder was removed");
    }
}

//! The local store: an OCI image layout folder (image-spec `image-layout.md`) holding many
//! repositories.
//!
//! Scheme, readable by skopeo and oras for the plain case:
//! - `blobs/sha256/<hex>` holds every blob and manifest (shared by all repositories);
//! - a tag is an `index.json` entry whose annotation `org.opencontainers.image.ref.name` is
//!   `<repo>:<tag>` (`skopeo copy oci:STORE:models/bert:v1 …` finds it);
//! - a manifest stored by digest (every pushed manifest, and every referrer) is an entry without
//!   `ref.name` but with annotation `dev.provenance.repository` = `<repo>`, so it stays reachable
//!   (and is not garbage) after its tag moves;
//! - referrers are found by scanning the repository's entries for manifests whose `subject` is
//!   the digest asked for, as oras does for its OCI store.
//!
//! Blob and index writes are atomic (temp file in the same folder, then rename); `index.json`
//! read-modify-writes happen under `index.json.lock` (created exclusively), so concurrent
//! processes do not lose each other's entries.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::referrers::{ManifestHead, parse_index, prepare_referrer};
use super::store::{
    Descriptor, FetchedManifest, MAX_MANIFEST_SIZE, MEDIA_TYPE_IMAGE_INDEX,
    MEDIA_TYPE_IMAGE_MANIFEST, ReferrerList, Store, VerifyingWriter, check_digest,
    check_manifest_put, digest_hex, sha256_digest,
};

/// Annotation naming a tag entry, `<repo>:<tag>`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation naming the repository of an untagged manifest entry.
pub const ANNOTATION_REPOSITORY: &str = "dev.provenance.repository";

const LOCK_WAIT: Duration = Duration::from_secs(30);
/// A lock whose holder cannot be checked (no PID in it, or no `/proc`) is taken over after this.
/// A lock naming a PID that is not running is taken over at once.
const LOCK_STALE: Duration = Duration::from_secs(120);
/// Largest `index.json` read: 512 MiB, about 1.9 million entries of ~280 bytes. The tool writes
/// two entries per pushed model and one per signature, so a store reaches this only after
/// hundreds of thousands of pushes; the old 4 MiB limit (the manifest limit, ~15,500 entries)
/// broke every command of a busy store.
pub const MAX_INDEX_SIZE: u64 = 512 * 1024 * 1024;
/// Temp files (`.tmp*`) in `blobs/sha256` untouched for this long are what a killed push left
/// behind, and are removed when the store is opened. A live upload rewrites its temp file
/// continuously, so it is never this old.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);
const CHUNK: usize = 1 << 20;

/// Where the local store lives: `$PROVENANCE_HOME/store`, else
/// `$XDG_DATA_HOME/provenance/store`, else `~/.local/share/provenance/store`.
pub fn default_store_dir() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os("PROVENANCE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(h).join("store"));
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("provenance").join("store"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/provenance/store")),
        None => Err(Error::io(
            "~/.local/share/provenance/store",
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "HOME is not set; set PROVENANCE_HOME",
            ),
        )),
    }
}

/// An OCI image layout folder used as a multi-repository store (see the module docs).
#[derive(Debug, Clone)]
pub struct LayoutStore {
    root: PathBuf,
    /// A plain image layout (`oci:DIR[:TAG]`, as skopeo and oras write one): one unnamed
    /// repository, a tag is `ref.name` as it is, and the `repo` argument is ignored.
    plain: bool,
}

pub(super) struct IndexLock {
    path: PathBuf,
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

impl LayoutStore {
    /// Open the layout at `root`, creating `oci-layout`, `index.json` and `blobs/sha256` if they
    /// are missing, and removing temp files a killed push left in `blobs/sha256` (older than
    /// [`STALE_TEMP_AGE`]). A store that has blobs but no `index.json` is refused (its tags and
    /// signatures would silently vanish behind a fresh empty index).
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let blobs = root.join("blobs").join("sha256");
        fs::create_dir_all(&blobs).map_err(|e| Error::io(&blobs, e))?;
        let store = LayoutStore { root, plain: false };
        let has_blobs = sweep_temp_files(&blobs)?;
        let layout = store.root.join("oci-layout");
        if !layout.exists() {
            store.write_atomic(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let index = store.root.join("index.json");
        if !index.exists() {
            let _lock = store.lock()?;
            if !index.exists() && has_blobs {
                return Err(Error::io(
                    &index,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "the store has blobs but no index.json, so its tags and signatures are lost; restore index.json from a backup, or move the store folder away to start a new one",
                    ),
                ));
            }
            if !index.exists() {
                let body = serde_json::to_vec(&super::referrers::empty_index())
                    .map_err(|e| Error::malformed("index.json", e))?;
                store.write_atomic(&index, &body)?;
            }
        }
        Ok(store)
    }

    /// Open (or create) a plain image layout folder: `oci:DIR[:TAG]` as skopeo and oras read
    /// and write it. Its tags are `ref.name` values without a repository; every method's `repo`
    /// argument is ignored.
    pub fn open_plain(root: impl Into<PathBuf>) -> Result<Self> {
        let mut store = Self::open(root)?;
        store.plain = true;
        Ok(store)
    }

    /// Open the store at [`default_store_dir`].
    pub fn open_default() -> Result<Self> {
        Self::open(default_store_dir()?)
    }

    /// The layout's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(super) fn blob_path(&self, digest: &str) -> Result<PathBuf> {
        Ok(self
            .root
            .join("blobs")
            .join("sha256")
            .join(digest_hex(digest)?))
    }

    fn write_atomic(&self, target: &Path, bytes: &[u8]) -> Result<()> {
        let dir = target.parent().unwrap_or(&self.root);
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
        tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
        tmp.as_file().sync_all().map_err(|e| Error::io(target, e))?;
        tmp.persist(target)
            .map_err(|e| Error::io(target, e.error))?;
        Ok(())
    }

    pub(super) fn lock(&self) -> Result<IndexLock> {
        let path = self.root.join("index.json.lock");
        let start = Instant::now();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    return Ok(IndexLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = fs::read_to_string(&path).ok();
                    let dead = holder.as_deref().is_some_and(holder_is_dead);
                    let stale = dead
                        || fs::metadata(&path)
                            .and_then(|m| m.modified())
                            .ok()
                            .and_then(|t| SystemTime::now().duration_since(t).ok())
                            .is_some_and(|age| age > LOCK_STALE);
                    // Remove it only if it is still the lock we judged (another process may
                    // have taken it over and locked anew in between).
                    if stale && fs::read_to_string(&path).ok() == holder {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if start.elapsed() > LOCK_WAIT {
                        return Err(Error::io(
                            &path,
                            std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                "another process holds the store lock; remove the file if no provenance process is running",
                            ),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
    }

    fn read_index(&self) -> Result<Map<String, Value>> {
        let path = self.root.join("index.json");
        let bytes = read_bounded(&path, MAX_INDEX_SIZE, "index.json")?;
        parse_index("index.json", &bytes)
    }

    fn write_index(&self, index: &Map<String, Value>) -> Result<()> {
        let body = serde_json::to_vec(index).map_err(|e| Error::malformed("index.json", e))?;
        self.write_atomic(&self.root.join("index.json"), &body)
    }

    /// Read-modify-write `index.json` under the lock.
    pub(super) fn update_index(&self, f: impl FnOnce(&mut Vec<Value>)) -> Result<()> {
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let entries = index
            .entry("manifests")
            .or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(entries) = entries else {
            return Err(Error::malformed(
                "index.json",
                "`manifests` is not an array",
            ));
        };
        f(entries);
        self.write_index(&index)
    }

    /// Every entry of `index.json` (`manifests`), as JSON.
    pub(super) fn index_entries(&self) -> Result<Vec<Value>> {
        match self.read_index()?.remove("manifests") {
            Some(Value::Array(a)) => Ok(a),
            _ => Ok(Vec::new()),
        }
    }

    /// Index entries of `repo`: (entry descriptor, tag if it is a tag entry).
    fn repo_entries(&self, repo: &str) -> Result<Vec<(Descriptor, Option<String>)>> {
        let index = self.read_index()?;
        let Some(Value::Array(entries)) = index.get("manifests") else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for e in entries {
            let Ok(d) = serde_json::from_value::<Descriptor>(e.clone()) else {
                continue;
            };
            if self.plain {
                let tag = d.annotations.get(ANNOTATION_REF_NAME).cloned();
                out.push((d, tag));
                continue;
            }
            if let Some(name) = d.annotations.get(ANNOTATION_REF_NAME) {
                if let Some((r, t)) = name.rsplit_once(':') {
                    if r == repo {
                        let t = t.to_string();
                        out.push((d, Some(t)));
                    }
                }
            } else if d.annotations.get(ANNOTATION_REPOSITORY).map(String::as_str) == Some(repo) {
                out.push((d, None));
            }
        }
        Ok(out)
    }

    /// Write a blob from a reader through SHA-256, refusing content that is not `digest`/`size`.
    fn write_blob_from(
        &self,
        mut src: impl Read,
        src_path: &Path,
        digest: &str,
        size: u64,
        progress: Option<&super::store::ByteProgress>,
    ) -> Result<()> {
        let target = self.blob_path(digest)?;
        if target.exists() {
            return Ok(());
        }
        let dir = target.parent().unwrap_or(&self.root);
        let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
        {
            let mut file = tmp.as_file();
            let mut w = VerifyingWriter::new(&mut file, size);
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = src.read(&mut buf).map_err(|e| Error::io(src_path, e))?;
                let Some(chunk) = buf.get(..n) else { break };
                if n == 0 {
                    break;
                }
                w.put(
                    &format!("blob {digest} from {}", src_path.display()),
                    chunk,
                    &target,
                )?;
                if let Some(p) = progress {
                    p(n as u64);
                }
            }
            w.finish(
                &format!("blob {digest} from {}", src_path.display()),
                digest,
                &target,
            )?;
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io(&target, e))?;
        tmp.persist(&target)
            .map_err(|e| Error::io(&target, e.error))?;
        Ok(())
    }

    fn manifest_entry(&self, repo: &str, bytes: &[u8], media_type: &str) -> Result<Descriptor> {
        let head = ManifestHead::parse("manifest", bytes)?;
        let mut d = Descriptor::of_bytes(media_type, bytes);
        d.artifact_type = head.artifact_type;
        if !self.plain {
            d.annotations
                .insert(ANNOTATION_REPOSITORY.to_string(), repo.to_string());
        }
        Ok(d)
    }
}

/// Whether a lock file's content names a process that is not running. Only where `/proc` shows
/// processes (Linux); elsewhere, and for a lock whose PID is not written yet, `false` (the age
/// rule applies).
fn holder_is_dead(content: &str) -> bool {
    let Ok(pid) = content.trim().parse::<u32>() else {
        return false;
    };
    let proc_root = Path::new("/proc");
    proc_root.join("self").exists() && !proc_root.join(pid.to_string()).exists()
}

/// Remove `.tmp*` files in `blobs` older than [`STALE_TEMP_AGE`]; whether any real blob is
/// there.
fn sweep_temp_files(blobs: &Path) -> Result<bool> {
    let mut has_blobs = false;
    let dir = fs::read_dir(blobs).map_err(|e| Error::io(blobs, e))?;
    for entry in dir.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with(".tmp") {
            has_blobs = true;
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if old {
            // Best effort: another process may be sweeping the same file.
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(has_blobs)
}

pub(super) fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            what: what.to_string(),
            limit,
        });
    }
    Ok(bytes)
}

fn to_value(d: &Descriptor) -> Result<Value> {
    serde_json::to_value(d).map_err(|e| Error::malformed("descriptor", e))
}

fn entry_digest(e: &Value) -> Option<&str> {
    e.get("digest").and_then(Value::as_str)
}

fn entry_annotation<'a>(e: &'a Value, key: &str) -> Option<&'a str> {
    e.get("annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

impl Store for LayoutStore {
    fn resolve(&self, repo: &str, tag_or_digest: &str) -> Result<Descriptor> {
        let entries = self.repo_entries(repo)?;
        let found = if tag_or_digest.starts_with("sha256:") {
            digest_hex(tag_or_digest)?;
            entries.into_iter().find(|(d, _)| d.digest == tag_or_digest)
        } else {
            entries
                .into_iter()
                .find(|(_, t)| t.as_deref() == Some(tag_or_digest))
        };
        match found {
            Some((mut d, _)) => {
                d.annotations.clear();
                Ok(d)
            }
            None => Err(Error::NotFound {
                repository: repo.to_string(),
                what: if tag_or_digest.starts_with("sha256:") {
                    format!("manifest {tag_or_digest}")
                } else {
                    format!("tag {tag_or_digest}")
                },
            }),
        }
    }

    fn fetch_manifest(&self, repo: &str, digest: &str) -> Result<FetchedManifest> {
        let path = self.blob_path(digest)?;
        if !path.exists() {
            return Err(Error::NotFound {
                repository: repo.to_string(),
                what: format!("manifest {digest}"),
            });
        }
        let bytes = read_bounded(&path, MAX_MANIFEST_SIZE, &format!("manifest {digest}"))?;
        check_digest(&format!("manifest {digest}"), digest, &bytes)?;
        let head = ManifestHead::parse(&format!("manifest {digest}"), &bytes)?;
        let media_type = head.media_type_or(None);
        Ok(FetchedManifest { bytes, media_type })
    }

    fn put_manifest(
        &self,
        repo: &str,
        tag_or_digest: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Descriptor> {
        let is_digest = check_manifest_put(tag_or_digest, bytes)?;
        if !self.plain {
            super::reference::validate_repository(repo).map_err(|reason| {
                Error::InvalidReference {
                    reference: repo.to_string(),
                    reason,
                }
            })?;
        }
        let mut entry = self.manifest_entry(repo, bytes, media_type)?;
        let digest = entry.digest.clone();
        self.write_atomic(&self.blob_path(&digest)?, bytes)?;
        let ref_name = match self.plain {
            true => tag_or_digest.to_string(),
            false => format!("{repo}:{tag_or_digest}"),
        };
        let plain = self.plain;
        if !is_digest {
            entry.annotations.clear();
            entry
                .annotations
                .insert(ANNOTATION_REF_NAME.to_string(), ref_name.clone());
        }
        let value = to_value(&entry)?;
        self.update_index(|entries| {
            if is_digest {
                let present = entries.iter().any(|e| {
                    entry_digest(e) == Some(digest.as_str())
                        && (plain || entry_annotation(e, ANNOTATION_REPOSITORY) == Some(repo))
                });
                if !present {
                    entries.push(value);
                }
            } else {
                entries.retain(|e| entry_annotation(e, ANNOTATION_REF_NAME) != Some(&ref_name));
                entries.push(value);
            }
        })?;
        entry.annotations.clear();
        Ok(entry)
    }

    fn blob_exists(&self, _repo: &str, digest: &str) -> Result<bool> {
        Ok(self.blob_path(digest)?.is_file())
    }

    fn push_blob_file(&self, repo: &str, path: &Path, digest: &str, size: u64) -> Result<()> {
        self.push_blob_file_progress(repo, path, digest, size, None)
    }

    fn push_blob_file_progress(
        &self,
        _repo: &str,
        path: &Path,
        digest: &str,
        size: u64,
        progress: Option<super::store::ByteProgress>,
    ) -> Result<()> {
        let f = File::open(path).map_err(|e| Error::io(path, e))?;
        self.write_blob_from(f, path, digest, size, progress.as_ref())
    }

    fn push_blob_bytes(&self, _repo: &str, bytes: &[u8]) -> Result<Descriptor> {
        let digest = sha256_digest(bytes);
        let target = self.blob_path(&digest)?;
        if !target.exists() {
            self.write_atomic(&target, bytes)?;
        }
        Ok(Descriptor::of_bytes("", bytes))
    }

    fn fetch_blob(&self, repo: &str, digest: &str, size: u64, out: &mut dyn Write) -> Result<()> {
        let path = self.blob_path(digest)?;
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    repository: repo.to_string(),
                    what: format!("blob {digest}"),
                });
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        let what = format!("blob {digest}");
        let mut w = VerifyingWriter::new(out, size);
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = f.read(&mut buf).map_err(|e| Error::io(&path, e))?;
            if n == 0 {
                break;
            }
            let Some(chunk) = buf.get(..n) else { break };
            w.put(&what, chunk, &path)?;
        }
        w.finish(&what, digest, &path)
    }

    fn referrer_list(
        &self,
        repo: &str,
        subject_digest: &str,
        artifact_type: Option<&str>,
    ) -> Result<ReferrerList> {
        digest_hex(subject_digest)?;
        let mut out: Vec<Descriptor> = Vec::new();
        for (entry, tag) in self.repo_entries(repo)? {
            if tag.is_some() || out.iter().any(|d| d.digest == entry.digest) {
                continue;
            }
            if entry.media_type != MEDIA_TYPE_IMAGE_MANIFEST
                && entry.media_type != MEDIA_TYPE_IMAGE_INDEX
            {
                continue;
            }
            let m = self.fetch_manifest(repo, &entry.digest)?;
            let head = ManifestHead::parse(&format!("manifest {}", entry.digest), &m.bytes)?;
            if head.subject.as_ref().map(|s| s.digest.as_str()) != Some(subject_digest) {
                continue;
            }
            let d = head.referrer_descriptor(&entry.digest, m.bytes.len() as u64);
            if artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t)) {
                out.push(d);
            }
        }
        // A layout filled by other tools (`skopeo copy --all` of a registry's `sha256-<hex>`
        // tag) carries referrers in the tag schema: read it too, as a registry client would.
        let schema_tag = super::referrers::tag_schema_tag(subject_digest)?;
        if let Ok(index) = self.resolve(repo, &schema_tag) {
            let bytes = self.fetch_manifest(repo, &index.digest)?.bytes;
            let index = parse_index(&format!("referrers index {schema_tag}"), &bytes)?;
            for mut d in super::referrers::index_descriptors(&index, None) {
                if out.iter().any(|o| o.digest == d.digest) {
                    continue;
                }
                // Tools that rewrite the index (skopeo 1.9) drop `artifactType`: read it from
                // the referrer manifest itself, as the distribution spec allows.
                if d.artifact_type.is_none() {
                    let m = self.fetch_manifest(repo, &d.digest)?;
                    let head = ManifestHead::parse(&format!("manifest {}", d.digest), &m.bytes)?;
                    if head.subject.as_ref().map(|s| s.digest.as_str()) != Some(subject_digest) {
                        continue;
                    }
                    d = head.referrer_descriptor(&d.digest, m.bytes.len() as u64);
                }
                if artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t)) {
                    out.push(d);
                }
            }
        }
        Ok(ReferrerList::capped(out))
    }

    fn put_referrer_manifest(&self, repo: &str, bytes: &[u8]) -> Result<Descriptor> {
        let r = prepare_referrer(bytes)?;
        self.put_manifest(repo, &r.digest, bytes, &r.media_type)?;
        // Also list it in the subject's `sha256-<hex>` tag-schema index, so a copy of this
        // layout by another tool (`skopeo copy --all oci:DIR:sha256-<hex> ...`) carries the
        // signatures. Our own listing scans the index entries and does not depend on it.
        let tag = super::referrers::tag_schema_tag(&r.subject)?;
        let mut index = match self.resolve(repo, &tag) {
            Ok(d) => {
                let bytes = self.fetch_manifest(repo, &d.digest)?.bytes;
                parse_index(&format!("referrers index {tag}"), &bytes)?
            }
            Err(Error::NotFound { .. }) => match super::referrers::empty_index() {
                Value::Object(m) => m,
                _ => Map::new(),
            },
            Err(e) => return Err(e),
        };
        if super::referrers::index_add(&mut index, &r.entry)? {
            let body = serde_json::to_vec(&Value::Object(index))
                .map_err(|e| Error::malformed("referrers index", e))?;
            self.put_manifest(repo, &tag, &body, MEDIA_TYPE_IMAGE_INDEX)?;
        }
        Ok(r.entry)
    }

    fn list_tags(&self, repo: &str) -> Result<Vec<String>> {
        let mut tags: Vec<String> = self
            .repo_entries(repo)?
            .into_iter()
            .filter_map(|(_, t)| t)
            .collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const MT: &str = MEDIA_TYPE_IMAGE_MANIFEST;

    fn manifest(n: usize) -> Vec<u8> {
        format!(
            "{{\"schemaVersion\":2,\"mediaType\":\"{MT}\",\"config\":{{\"mediaType\":\"a\",\"digest\":\"sha256:{}\",\"size\":1}},\"layers\":[],\"n\":{n}}}",
            "0".repeat(64)
        )
        .into_bytes()
    }

    fn age(path: &Path, secs: u64) {
        let f = File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(secs))
            .unwrap();
    }

    #[test]
    fn stale_temp_files_of_a_killed_push_are_swept_fresh_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let store = LayoutStore::open(tmp.path()).unwrap();
        store.put_manifest("m/a", "v1", &manifest(1), MT).unwrap();
        let blobs = tmp.path().join("blobs/sha256");
        let old = blobs.join(".tmpKILLED");
        let live = blobs.join(".tmpLIVE");
        fs::write(&old, b"half a blob").unwrap();
        fs::write(&live, b"being written").unwrap();
        age(&old, STALE_TEMP_AGE.as_secs() + 60);
        LayoutStore::open(tmp.path()).unwrap();
        assert!(!old.exists(), "a killed push's temp file was left");
        assert!(live.exists(), "a live upload's temp file was removed");
    }

    #[test]
    fn a_lock_left_by_a_dead_process_is_taken_over_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let store = LayoutStore::open(tmp.path()).unwrap();
        // A PID that is not running: a child that has exited and been reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let lock = tmp.path().join("index.json.lock");
        fs::write(&lock, format!("{pid}\n")).unwrap();
        let t = Instant::now();
        store.put_manifest("m/a", "v1", &manifest(1), MT).unwrap();
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(!lock.exists());
        // A lock of a live process (ours) is waited for, not broken.
        fs::write(&lock, format!("{}\n", std::process::id())).unwrap();
        let holder = std::thread::spawn({
            let lock = lock.clone();
            move || {
                std::thread::sleep(Duration::from_millis(300));
                fs::remove_file(lock).unwrap();
            }
        });
        let t = Instant::now();
        store.put_manifest("m/a", "v2", &manifest(2), MT).unwrap();
        assert!(
            t.elapsed() >= Duration::from_millis(250),
            "a live lock was broken"
        );
        holder.join().unwrap();
    }

    #[test]
    fn missing_index_beside_blobs_is_an_error_not_a_reset() {
        let tmp = tempfile::tempdir().unwrap();
        let store = LayoutStore::open(tmp.path()).unwrap();
        store.put_manifest("m/a", "v1", &manifest(1), MT).unwrap();
        fs::remove_file(tmp.path().join("index.json")).unwrap();
        let e = LayoutStore::open(tmp.path()).unwrap_err();
        assert!(e.to_string().contains("no index.json"), "{e}");
        assert!(!tmp.path().join("index.json").exists());
        // An empty folder is a new store.
        let fresh = tmp.path().join("new");
        LayoutStore::open(&fresh).unwrap();
        assert!(fresh.join("index.json").exists());
    }

    /// A store of 120,000 manifests (a synthetic index.json of ~24 MiB, far past the old 4 MiB
    /// limit at ~15,500 entries) still tags, resolves and lists.
    #[test]
    fn store_keeps_working_past_100000_manifests() {
        let tmp = tempfile::tempdir().unwrap();
        let store = LayoutStore::open(tmp.path()).unwrap();
        let n = 120_000;
        let entries: Vec<Value> = (0..n)
            .map(|i| {
                serde_json::json!({
                    "mediaType": MT,
                    "digest": format!("sha256:{i:064x}"),
                    "size": 300,
                    "annotations": {ANNOTATION_REPOSITORY: format!("bulk/r{}", i % 100)},
                })
            })
            .collect();
        let index = serde_json::json!({"schemaVersion": 2, "mediaType": MEDIA_TYPE_IMAGE_INDEX, "manifests": entries});
        let body = serde_json::to_vec(&index).unwrap();
        assert!(body.len() as u64 > 5 * MAX_MANIFEST_SIZE, "{}", body.len());
        fs::write(tmp.path().join("index.json"), body).unwrap();
        let d = store.put_manifest("m/a", "v1", &manifest(1), MT).unwrap();
        assert_eq!(store.resolve("m/a", "v1").unwrap().digest, d.digest);
        assert_eq!(store.list_tags("m/a").unwrap(), vec!["v1".to_string()]);
        assert_eq!(
            store
                .resolve("bulk/r7", &format!("sha256:{:064x}", 107))
                .unwrap()
                .size,
            300
        );
    }
}

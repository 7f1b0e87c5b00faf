//! Housekeeping of the local store, so it does not grow without bound: list what it holds
//! ([`LayoutStore::inventory`]), remove a model with its signatures ([`LayoutStore::remove`]),
//! and delete blobs nothing refers to ([`LayoutStore::prune`]).
//!
//! Removal edits only `index.json` (under its lock); blobs go at `prune`, which keeps every blob
//! reachable from an index entry (the manifest, its config and layers, the manifests of an
//! index) and every blob younger than a grace period unless told otherwise: a push writes its
//! blobs before the index entry that makes them reachable, and must not lose them to a prune
//! running beside it (`git gc`'s prune expiry, for the same reason).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value;

use super::error::{Error, Result};
use super::layout::{ANNOTATION_REF_NAME, ANNOTATION_REPOSITORY, LayoutStore};
use super::referrers::ManifestHead;
use super::store::{MEDIA_TYPE_IMAGE_INDEX, Store, digest_hex};

/// Blobs younger than this are kept by [`LayoutStore::prune`] unless `now` is asked for.
pub const PRUNE_GRACE: Duration = Duration::from_secs(3600);

/// What the local store holds ([`LayoutStore::inventory`]).
#[derive(Clone, Debug, Serialize)]
pub struct StoreInventory {
    /// The store folder.
    pub store: PathBuf,
    /// One row per model manifest (signature referrers are counted on their subject's row).
    pub models: Vec<StoredModel>,
    /// Blob files in the store.
    pub blobs: usize,
    /// Bytes of those blobs.
    pub bytes: u64,
}

/// A model manifest in the local store.
#[derive(Clone, Debug, Serialize)]
pub struct StoredModel {
    /// Repository (`models/bert`).
    pub repository: String,
    /// Tags naming this digest (none: reachable by digest only).
    pub tags: Vec<String>,
    /// Manifest digest.
    pub digest: String,
    /// `artifactType` (ModelPack: `application/vnd.cncf.model.manifest.v1+json`).
    pub artifact_type: Option<String>,
    /// Signature (and other) referrers attached to it. Unverified: a count, not a verdict.
    pub referrers: usize,
    /// Manifest, config and layer bytes.
    pub size: u64,
}

/// What [`LayoutStore::remove`] removed from the index.
#[derive(Clone, Debug, Serialize)]
pub struct Removed {
    /// The reference as given.
    pub reference: String,
    /// The manifest digest it named.
    pub digest: String,
    /// Tags removed.
    pub tags: Vec<String>,
    /// Whether the manifest itself left the store's index (no tag names it any more).
    pub manifest_removed: bool,
    /// Referrers (signatures) removed with it.
    pub referrers_removed: usize,
}

/// What [`LayoutStore::prune`] deleted (or would delete, on a dry run).
#[derive(Clone, Debug, Serialize)]
pub struct Pruned {
    /// Nothing was deleted; the figures say what would be.
    pub dry_run: bool,
    /// Unreferenced blobs deleted.
    pub blobs: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Unreferenced blobs kept because they are younger than the grace period.
    pub kept_recent: usize,
    /// The grace period in seconds (0 with `now`).
    pub grace_seconds: u64,
}

/// One index entry, as housekeeping reads it.
struct Entry {
    digest: String,
    repository: String,
    tag: Option<String>,
}

fn entries(index: &[Value]) -> Vec<Entry> {
    index
        .iter()
        .filter_map(|e| {
            let digest = e.get("digest")?.as_str()?.to_string();
            let ann = e.get("annotations");
            let get = |k: &str| ann.and_then(|a| a.get(k)).and_then(Value::as_str);
            if let Some((repo, tag)) = get(ANNOTATION_REF_NAME).and_then(|n| n.rsplit_once(':')) {
                Some(Entry {
                    digest,
                    repository: repo.to_string(),
                    tag: Some(tag.to_string()),
                })
            } else {
                get(ANNOTATION_REPOSITORY).map(|repo| Entry {
                    digest,
                    repository: repo.to_string(),
                    tag: None,
                })
            }
        })
        .collect()
}

/// A digest a manifest (or index) names, besides its subject.
struct Child {
    digest: String,
    size: u64,
    /// Named in an index's `manifests` (to be read in turn), not a plain blob.
    manifest: bool,
}

/// The config, layers (and `blobs`) of a manifest, or the `manifests` of an index.
fn children(bytes: &[u8]) -> Vec<Child> {
    let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut add = |d: &Value, manifest: bool| {
        if let Some(digest) = d.get("digest").and_then(Value::as_str) {
            out.push(Child {
                digest: digest.to_string(),
                size: d.get("size").and_then(Value::as_u64).unwrap_or(0),
                manifest,
            });
        }
    };
    if let Some(c) = v.get("config") {
        add(c, false);
    }
    for (key, manifest) in [("layers", false), ("blobs", false), ("manifests", true)] {
        if let Some(Value::Array(a)) = v.get(key) {
            a.iter().for_each(|d| add(d, manifest));
        }
    }
    out
}

impl LayoutStore {
    /// The bytes of manifest `digest`, bounded and digest-checked ([`Store::fetch_manifest`];
    /// the store holds blobs for every repository, so none is named).
    fn manifest_bytes(&self, digest: &str) -> Result<Vec<u8>> {
        Store::fetch_manifest(self, "", digest).map(|m| m.bytes)
    }

    fn subject_of(&self, digest: &str) -> Option<String> {
        let bytes = self.manifest_bytes(digest).ok()?;
        ManifestHead::parse("manifest", &bytes)
            .ok()?
            .subject
            .map(|s| s.digest)
    }

    /// Every model manifest with its tags, referrer count and size, and the blob total.
    pub fn inventory(&self) -> Result<StoreInventory> {
        let index = self.index_entries()?;
        let all = entries(&index);
        // (repo, digest) -> tags; referrers by (repo, subject).
        let mut models: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        let mut referrers: BTreeMap<(String, String), usize> = BTreeMap::new();
        for e in &all {
            match self.subject_of(&e.digest) {
                Some(subject) if e.tag.is_none() => {
                    *referrers
                        .entry((e.repository.clone(), subject))
                        .or_default() += 1;
                }
                _ => {
                    let tags = models
                        .entry((e.repository.clone(), e.digest.clone()))
                        .or_default();
                    if let Some(t) = &e.tag {
                        // The referrers tag schema (`sha256-<hex>`) is not a model tag.
                        if !t.starts_with("sha256-") {
                            tags.insert(t.clone());
                        }
                    }
                }
            }
        }
        let mut rows = Vec::new();
        for ((repository, digest), tags) in models {
            let Ok(bytes) = self.manifest_bytes(&digest) else {
                continue;
            };
            let head = ManifestHead::parse("manifest", &bytes).ok();
            // Referrers are counted on their subject; indexes (the referrers tag schema) are
            // not models.
            if head.as_ref().is_some_and(|h| {
                h.subject.is_some() || h.media_type.as_deref() == Some(MEDIA_TYPE_IMAGE_INDEX)
            }) {
                continue;
            }
            let size = bytes.len() as u64 + children(&bytes).iter().map(|c| c.size).sum::<u64>();
            let n = referrers
                .get(&(repository.clone(), digest.clone()))
                .copied()
                .unwrap_or(0);
            rows.push(StoredModel {
                repository,
                tags: tags.into_iter().collect(),
                digest,
                artifact_type: head.and_then(|h| h.artifact_type),
                referrers: n,
                size,
            });
        }
        let (blobs, bytes) = self
            .blob_files()?
            .iter()
            .fold((0, 0), |(n, b), (_, s, _)| (n + 1, b + s));
        Ok(StoreInventory {
            store: self.root().to_path_buf(),
            models: rows,
            blobs,
            bytes,
        })
    }

    /// Remove `repo:tag` or `repo@digest` from the index. A tag goes alone while another tag of
    /// the repository still names its digest; otherwise the manifest and every referrer of it
    /// (and their referrers) go too. A digest removes its tags as well. Blobs stay until
    /// [`LayoutStore::prune`]. An unknown tag or digest is [`Error::UnknownTarget`] (exit 2).
    pub fn remove(&self, repository: &str, tag_or_digest: &str) -> Result<Removed> {
        let mut removed = None;
        let mut failure = None;
        self.update_index(|index| {
            let all = entries(index);
            let in_repo: Vec<&Entry> = all.iter().filter(|e| e.repository == repository).collect();
            let digest = if tag_or_digest.starts_with("sha256:") {
                in_repo
                    .iter()
                    .find(|e| e.digest == tag_or_digest)
                    .map(|e| e.digest.clone())
            } else {
                in_repo
                    .iter()
                    .find(|e| e.tag.as_deref() == Some(tag_or_digest))
                    .map(|e| e.digest.clone())
            };
            let Some(digest) = digest else {
                let mut known: Vec<String> = in_repo.iter().filter_map(|e| e.tag.clone()).collect();
                known.sort();
                known.dedup();
                failure = Some(Error::UnknownTarget {
                    repository: repository.to_string(),
                    what: if tag_or_digest.starts_with("sha256:") {
                        format!("manifest {tag_or_digest}")
                    } else {
                        format!("tag {tag_or_digest}")
                    },
                    known,
                });
                return;
            };
            let by_digest = tag_or_digest.starts_with("sha256:");
            let other_tags = in_repo.iter().any(|e| {
                e.digest == digest && e.tag.is_some() && e.tag.as_deref() != Some(tag_or_digest)
            });
            let drop_manifest = by_digest || !other_tags;
            // The manifest's referrers, and theirs, in this repository.
            let mut gone: BTreeSet<String> = BTreeSet::new();
            if drop_manifest {
                gone.insert(digest.clone());
                // Each untagged manifest's subject, read once.
                let subjects: Vec<(&str, String)> = in_repo
                    .iter()
                    .filter(|e| e.tag.is_none())
                    .filter_map(|e| Some((e.digest.as_str(), self.subject_of(&e.digest)?)))
                    .collect();
                loop {
                    let before = gone.len();
                    for (d, subject) in &subjects {
                        if gone.contains(subject) {
                            gone.insert((*d).to_string());
                        }
                    }
                    if gone.len() == before {
                        break;
                    }
                }
            }
            // The referrers tag schema's index for the manifest goes with it.
            let schema_tag = super::referrers::tag_schema_tag(&digest).ok();
            let mut tags = Vec::new();
            let mut referrers_removed = 0;
            index.retain(|v| {
                let Some(e) = entries(std::slice::from_ref(v)).pop() else {
                    return true;
                };
                if e.repository != repository {
                    return true;
                }
                let tag_goes = match &e.tag {
                    Some(t) if drop_manifest && schema_tag.as_deref() == Some(t.as_str()) => true,
                    Some(t) if !by_digest => {
                        t == tag_or_digest || (drop_manifest && gone.contains(&e.digest))
                    }
                    Some(_) => gone.contains(&e.digest),
                    None => false,
                };
                if let Some(t) = &e.tag {
                    // The tag-schema index's tag goes with its model but is not a model tag.
                    if tag_goes && schema_tag.as_deref() != Some(t.as_str()) {
                        tags.push(t.clone());
                    }
                    return !tag_goes;
                }
                if gone.contains(&e.digest) {
                    if e.digest != digest {
                        referrers_removed += 1;
                    }
                    return false;
                }
                true
            });
            removed = Some(Removed {
                reference: String::new(),
                digest,
                tags,
                manifest_removed: drop_manifest,
                referrers_removed,
            });
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        removed.ok_or_else(|| Error::malformed("index.json", "removal did not run"))
    }

    /// Delete the blobs no index entry reaches (see the module docs); with `dry_run` only count
    /// them; with `now` also those younger than [`PRUNE_GRACE`]. A manifest the index lists but
    /// the store cannot read stops the prune before anything is deleted: what it names is
    /// unknown, so nothing can be called unreferenced.
    pub fn prune(&self, dry_run: bool, now: bool) -> Result<Pruned> {
        let _lock = self.lock()?;
        let index = self.index_entries()?;
        let mut reachable: BTreeSet<String> = BTreeSet::new();
        // Every entry is a root, whatever its annotations: one another tool wrote without a
        // tag or repository still keeps its blobs.
        let mut queue: Vec<String> = index
            .iter()
            .filter_map(|e| e.get("digest").and_then(Value::as_str).map(str::to_string))
            .collect();
        while let Some(d) = queue.pop() {
            if !reachable.insert(d.clone()) {
                continue;
            }
            let bytes = self.manifest_bytes(&d).map_err(|e| {
                Error::malformed(
                    "local store",
                    format!("index.json lists manifest {d}, which cannot be read ({e}); nothing was pruned. Restore it (provenance pull/push the model again) or remove it: provenance rm REPO@{d}"),
                )
            })?;
            for child in children(&bytes) {
                if child.manifest {
                    queue.push(child.digest);
                } else {
                    reachable.insert(child.digest);
                }
            }
        }
        let grace = if now { Duration::ZERO } else { PRUNE_GRACE };
        let mut out = Pruned {
            dry_run,
            blobs: 0,
            bytes: 0,
            kept_recent: 0,
            grace_seconds: grace.as_secs(),
        };
        for (digest, size, age) in self.blob_files()? {
            if reachable.contains(&digest) {
                continue;
            }
            if age < grace {
                out.kept_recent += 1;
                continue;
            }
            if !dry_run {
                let path = self.blob_path(&digest)?;
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(Error::io(&path, e)),
                }
            }
            out.blobs += 1;
            out.bytes += size;
        }
        Ok(out)
    }

    /// Every blob file: (digest, size, age). Files not named by a digest (temp files) are left.
    fn blob_files(&self) -> Result<Vec<(String, u64, Duration)>> {
        let dir = self.root().join("blobs").join("sha256");
        let mut out = Vec::new();
        let rd = fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        let now = SystemTime::now();
        for ent in rd {
            let ent = ent.map_err(|e| Error::io(&dir, e))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            let digest = format!("sha256:{name}");
            if digest_hex(&digest).is_err() {
                continue;
            }
            let Ok(meta) = ent.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let age = meta
                .modified()
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .unwrap_or(Duration::ZERO);
            out.push((digest, meta.len(), age));
        }
        out.sort();
        Ok(out)
    }
}

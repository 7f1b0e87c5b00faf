//! Turning a model path into its sorted resource list: walk, ignore rules, symlink policy, and
//! serialization (`files` or `shards`), exactly as OMS / `model_signing` 1.1 define them.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use crate::hashing::{self, Job};
use crate::statement::{Resource, Serialization, SerializationMethod};

/// Paths ignored by default at the model's root, as `model_signing` does.
pub const GIT_PATHS: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

/// Default shard size for the `shards` method (model_signing's default).
pub const DEFAULT_SHARD_SIZE: u64 = 1_000_000_000;

/// Errors listing or hashing a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model path does not exist or cannot be read.
    #[error("cannot read model {path}: {source}; check the --model path")]
    Unreadable {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A symbolic link was found and `--allow-symlinks` was not given.
    #[error("{path} is a symbolic link; symlinks are not signed unless you pass --allow-symlinks")]
    SymlinkRefused {
        /// The link.
        path: PathBuf,
    },
    /// A symbolic link points outside the model folder.
    #[error(
        "{path} is a symbolic link to {target}, outside the model folder; copy the file into the model instead"
    )]
    SymlinkEscapes {
        /// The link.
        path: PathBuf,
        /// Where it points.
        target: PathBuf,
    },
    /// A file that is neither a regular file, a folder nor a symlink (socket, fifo, device).
    #[error(
        "{path} is not a regular file (socket, fifo or device); remove it or pass --ignore-paths"
    )]
    SpecialFile {
        /// The file.
        path: PathBuf,
    },
    /// A file name that is not valid UTF-8 cannot be named in a statement.
    #[error("{path}: file name is not valid UTF-8; rename it or pass --ignore-paths")]
    NonUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// The model path is the signature file itself.
    #[error(
        "the model path {path} is the signature file itself; pass the model file or folder as --model and the signature as --manifest"
    )]
    ModelIsSignature {
        /// The path.
        path: PathBuf,
    },
    /// Nothing to sign after ignore rules.
    #[error(
        "{path} holds no files to sign (after ignore rules); check the --model path and --ignore-paths"
    )]
    Empty {
        /// The model path.
        path: PathBuf,
    },
    /// A shard size of zero.
    #[error("--shard-size must be greater than 0")]
    BadShardSize,
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] hashing::Error),
}

impl Error {
    /// Exit-code class.
    pub fn class(&self) -> crate::Class {
        match self {
            Error::Hash(e) => e.class(),
            Error::Unreadable { source, .. }
                if source.kind() != std::io::ErrorKind::NotFound
                    && source.kind() != std::io::ErrorKind::PermissionDenied =>
            {
                crate::Class::Environment
            }
            _ => crate::Class::Input,
        }
    }
}

/// How a model is listed.
#[derive(Clone, Debug)]
pub struct Options {
    /// Extra paths to ignore, relative to the model folder (absolute paths inside it are accepted).
    pub ignore_paths: Vec<PathBuf>,
    /// Ignore `.git`, `.gitattributes`, `.github`, `.gitignore` at the root (default true).
    pub ignore_git: bool,
    /// Follow symbolic links that stay inside the model folder.
    pub allow_symlinks: bool,
    /// The signature file: never signed; recorded in `ignore_paths` when it lies inside the model.
    pub signature_path: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ignore_paths: Vec::new(),
            ignore_git: true,
            allow_symlinks: false,
            signature_path: None,
        }
    }
}

/// One regular file of a model.
#[derive(Clone, Debug)]
pub struct FileEntry {
    /// Relative POSIX path (`.` for a single-file model).
    pub name: String,
    /// Where to read it.
    pub path: PathBuf,
    /// Size when listed.
    pub size: u64,
}

/// A listed model: its files in canonical order and the ignore paths to record.
#[derive(Clone, Debug)]
pub struct Listing {
    /// The model path as given.
    pub root: PathBuf,
    /// The subject name: the model's final path component.
    pub name: String,
    /// True for a single-file model.
    pub single_file: bool,
    /// Files sorted as model_signing sorts them (by path components).
    pub files: Vec<FileEntry>,
    /// Ignore paths recorded in the predicate (relative to the model folder, sorted).
    pub ignore_paths: Vec<String>,
    /// Whether symlinks were allowed.
    pub allow_symlinks: bool,
}

impl Listing {
    /// Total bytes in the model.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// Sort key for resource names: path components, then shard start and end (model_signing sorts
/// `PurePosixPath`s part by part, so `a/b` comes before `a-b`).
pub fn resource_sort_key(name: &str) -> (Vec<String>, u64, u64) {
    let mut parts = name.rsplitn(3, ':');
    let (path, start, end) = match (parts.next(), parts.next(), parts.next()) {
        (Some(e), Some(s), Some(p)) => match (s.parse::<u64>(), e.parse::<u64>()) {
            (Ok(s), Ok(e)) => (p, s, e),
            _ => (name, 0, 0),
        },
        _ => (name, 0, 0),
    };
    (
        path.split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::to_owned)
            .collect(),
        start,
        end,
    )
}

fn normalize_rel(p: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?.to_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// Lists a model file or folder under the given options.
pub fn list(model: &Path, opts: &Options) -> Result<Listing, Error> {
    let meta = std::fs::symlink_metadata(model).map_err(|source| Error::Unreadable {
        path: model.to_owned(),
        source,
    })?;
    let canonical_root = std::fs::canonicalize(model).map_err(|source| Error::Unreadable {
        path: model.to_owned(),
        source,
    })?;
    if let Some(sig) = &opts.signature_path
        && let Ok(sig_c) = std::fs::canonicalize(sig)
        && sig_c == canonical_root
    {
        return Err(Error::ModelIsSignature {
            path: model.to_owned(),
        });
    }
    let name = canonical_root
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("model")
        .to_owned();

    // Ignore paths, relative to the model root.
    let mut ignore: Vec<String> = Vec::new();
    if opts.ignore_git {
        ignore.extend(GIT_PATHS.iter().map(|s| (*s).to_owned()));
    }
    for p in &opts.ignore_paths {
        let rel = if p.is_absolute() {
            std::fs::canonicalize(p)
                .ok()
                .and_then(|c| c.strip_prefix(&canonical_root).ok().map(Path::to_owned))
        } else {
            Some(p.clone())
        };
        if let Some(s) = rel.as_deref().and_then(normalize_rel)
            && !s.is_empty()
        {
            ignore.push(s);
        }
    }
    let sig_canonical = opts.signature_path.as_ref().and_then(|sig| {
        // The signature may not exist yet: canonicalize its folder.
        let parent = sig.parent().filter(|p| !p.as_os_str().is_empty());
        let dir = std::fs::canonicalize(parent.unwrap_or(Path::new("."))).ok()?;
        Some(dir.join(sig.file_name()?))
    });
    if let Some(sig) = &sig_canonical
        && let Ok(rel) = sig.strip_prefix(&canonical_root)
        && let Some(s) = normalize_rel(rel)
        && !s.is_empty()
    {
        ignore.push(s);
    }
    ignore.sort();
    ignore.dedup();

    let single_file = !canonical_root.is_dir();
    let mut files = Vec::new();
    if single_file {
        if meta.file_type().is_symlink() && !opts.allow_symlinks {
            return Err(Error::SymlinkRefused {
                path: model.to_owned(),
            });
        }
        let m = std::fs::metadata(model).map_err(|source| Error::Unreadable {
            path: model.to_owned(),
            source,
        })?;
        if !m.is_file() {
            return Err(Error::SpecialFile {
                path: model.to_owned(),
            });
        }
        files.push(FileEntry {
            name: ".".into(),
            path: model.to_owned(),
            size: m.len(),
        });
    } else {
        if meta.file_type().is_symlink() && !opts.allow_symlinks {
            return Err(Error::SymlinkRefused {
                path: model.to_owned(),
            });
        }
        let mut visited = HashSet::new();
        visited.insert(canonical_root.clone());
        // A signature that does not exist yet cannot be met while walking.
        let sig_id = sig_canonical.as_deref().and_then(|canonical| {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(canonical).ok()?;
            Some(SignatureId {
                canonical,
                dev: m.dev(),
                ino: m.ino(),
            })
        });
        walk(
            &canonical_root,
            model,
            "",
            opts,
            &ignore,
            sig_id.as_ref(),
            &mut visited,
            &mut files,
        )?;
        if files.is_empty() {
            return Err(Error::Empty {
                path: model.to_owned(),
            });
        }
    }
    files.sort_by_cached_key(|f| resource_sort_key(&f.name));
    Ok(Listing {
        root: model.to_owned(),
        name,
        single_file,
        files,
        ignore_paths: ignore,
        allow_symlinks: opts.allow_symlinks,
    })
}

fn is_ignored(rel: &str, ignore: &[String]) -> bool {
    ignore.iter().any(|i| {
        rel == i
            || rel
                .strip_prefix(i.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

#[allow(clippy::too_many_arguments)]
fn walk(
    root: &Path,
    dir: &Path,
    prefix: &str,
    opts: &Options,
    ignore: &[String],
    sig: Option<&SignatureId<'_>>,
    visited: &mut HashSet<PathBuf>,
    out: &mut Vec<FileEntry>,
) -> Result<(), Error> {
    let unreadable = |path: &Path, source| Error::Unreadable {
        path: path.to_owned(),
        source,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| unreadable(dir, e))?;
        let path = entry.path();
        let Some(fname) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(Error::NonUtf8 { path });
        };
        let rel = if prefix.is_empty() {
            fname
        } else {
            format!("{prefix}/{fname}")
        };
        if is_ignored(&rel, ignore) {
            continue;
        }
        // The entry's type comes from the directory listing (no syscall); a regular file costs one
        // `fstatat` relative to the open folder, for its size and (dev, ino). Symlinks, rare, take
        // the slow path through `canonicalize`.
        let ft = entry.file_type().map_err(|e| unreadable(&path, e))?;
        let file_meta = if ft.is_symlink() {
            if !opts.allow_symlinks {
                return Err(Error::SymlinkRefused { path });
            }
            let target = std::fs::canonicalize(&path).map_err(|e| unreadable(&path, e))?;
            if !target.starts_with(root) {
                return Err(Error::SymlinkEscapes { path, target });
            }
            let m = std::fs::metadata(&target).map_err(|e| unreadable(&path, e))?;
            if m.is_dir() {
                None
            } else if m.is_file() {
                Some(m)
            } else {
                return Err(Error::SpecialFile { path });
            }
        } else if ft.is_dir() {
            None
        } else if ft.is_file() {
            Some(entry.metadata().map_err(|e| unreadable(&path, e))?)
        } else {
            return Err(Error::SpecialFile { path });
        };
        match file_meta {
            None => {
                let canonical = std::fs::canonicalize(&path).map_err(|e| unreadable(&path, e))?;
                if !visited.insert(canonical) {
                    continue; // a symlink loop or a second link to a folder already walked
                }
                walk(root, &path, &rel, opts, ignore, sig, visited, out)?;
            }
            Some(m) => {
                if sig.is_some_and(|sig| sig.is(&m, &path)) {
                    continue;
                }
                out.push(FileEntry {
                    name: rel,
                    path,
                    size: m.len(),
                });
            }
        }
    }
    Ok(())
}

/// The signature file, recognised while walking without a `canonicalize` per file: only a file
/// with the signature's (device, inode) is confirmed by canonical path (a hard link elsewhere in
/// the model shares the inode but is a different path, and is signed as before).
struct SignatureId<'a> {
    canonical: &'a Path,
    dev: u64,
    ino: u64,
}

impl SignatureId<'_> {
    fn is(&self, m: &std::fs::Metadata, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        m.dev() == self.dev
            && m.ino() == self.ino
            && std::fs::canonicalize(path).is_ok_and(|c| c == self.canonical)
    }
}

/// The serialization parameters recorded in the predicate for a listing.
pub fn serialization_for(listing: &Listing, method: SerializationMethod) -> Serialization {
    Serialization {
        method,
        hash_type: "sha256".into(),
        allow_symlinks: listing.allow_symlinks,
        ignore_paths: listing.ignore_paths.clone(),
    }
}

/// The hashing jobs for a listing under a method, with the resource name of each.
pub fn jobs(listing: &Listing, method: &SerializationMethod) -> Vec<(String, Job)> {
    let mut out = Vec::new();
    for f in &listing.files {
        match method {
            SerializationMethod::Files => out.push((
                f.name.clone(),
                Job {
                    path: f.path.clone(),
                    start: 0,
                    end: f.size,
                    file_size: f.size,
                },
            )),
            SerializationMethod::Shards { shard_size } => {
                // Empty files have no shards, as in model_signing.
                let step = (*shard_size).max(1);
                let mut start = 0;
                while start < f.size {
                    let end = (start + step).min(f.size);
                    out.push((
                        format!("{}:{start}:{end}", f.name),
                        Job {
                            path: f.path.clone(),
                            start,
                            end,
                            file_size: f.size,
                        },
                    ));
                    start = end;
                }
            }
        }
    }
    out.sort_by_cached_key(|(name, _)| resource_sort_key(name));
    out
}

/// Hashes a listed model into its sorted resources. Every file is hashed even when one fails; the
/// first failure is returned (after all work stops), so a changed file is reported by name.
pub fn resources(
    listing: &Listing,
    method: &SerializationMethod,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Resource>, Error> {
    if let SerializationMethod::Shards { shard_size: 0 } = method {
        return Err(Error::BadShardSize);
    }
    // model_signing names shard digests `sha256-sharded-<size>`; match it byte for byte.
    let algorithm = match method {
        SerializationMethod::Files => "sha256".to_owned(),
        SerializationMethod::Shards { shard_size } => format!("sha256-sharded-{shard_size}"),
    };
    let jobs = jobs(listing, method);
    let work: Vec<Job> = jobs.iter().map(|(_, j)| j.clone()).collect();
    let digests = hashing::hash_all(&work, progress);
    let mut out = Vec::with_capacity(jobs.len());
    for ((name, _), digest) in jobs.into_iter().zip(digests) {
        out.push(Resource {
            name,
            algorithm: algorithm.clone(),
            digest: hex::encode(digest?),
        });
    }
    Ok(out)
}

/// The signed resources compared with the model on disk.
///
/// `verify --ignore-unsigned-files` tolerates [`Comparison::unsigned`] (files on disk the
/// signature does not list) but still reports them; missing or changed files always fail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Signed resources not found on disk.
    pub missing: Vec<String>,
    /// Resources whose digest differs: (name, signed digest, digest on disk).
    pub changed: Vec<(String, String, String)>,
    /// Files on disk the signature does not list.
    pub unsigned: Vec<String>,
}

impl Comparison {
    /// True when the model matches: nothing missing or changed, and no unsigned file unless
    /// `ignore_unsigned_files`.
    pub fn matches(&self, ignore_unsigned_files: bool) -> bool {
        self.missing.is_empty()
            && self.changed.is_empty()
            && (ignore_unsigned_files || self.unsigned.is_empty())
    }

    /// One line per failing difference, for the `model` check's detail (unsigned files are
    /// listed only when they fail, i.e. without `ignore_unsigned_files`).
    pub fn problems(&self, ignore_unsigned_files: bool) -> Vec<String> {
        let mut out: Vec<String> = self
            .missing
            .iter()
            .map(|n| format!("{n}: signed but missing"))
            .collect();
        out.extend(
            self.changed.iter().map(|(n, want, have)| {
                format!("{n}: digest mismatch (signed {want}, found {have})")
            }),
        );
        if !ignore_unsigned_files {
            out.extend(
                self.unsigned
                    .iter()
                    .map(|n| format!("{n}: present but not signed")),
            );
        }
        out
    }

    /// Warnings to print when unsigned files were tolerated (never silent).
    pub fn warnings(&self, ignore_unsigned_files: bool) -> Vec<String> {
        if !ignore_unsigned_files {
            return Vec::new();
        }
        self.unsigned
            .iter()
            .map(|n| format!("{n}: present but not signed (tolerated by --ignore-unsigned-files)"))
            .collect()
    }
}

/// Compares the signed resources with those computed on disk, by name.
pub fn compare(signed: &[Resource], actual: &[Resource]) -> Comparison {
    use std::collections::BTreeMap;
    let want: BTreeMap<&str, &str> = signed
        .iter()
        .map(|r| (r.name.as_str(), r.digest.as_str()))
        .collect();
    let have: BTreeMap<&str, &str> = actual
        .iter()
        .map(|r| (r.name.as_str(), r.digest.as_str()))
        .collect();
    let mut c = Comparison::default();
    for (name, digest) in &want {
        match have.get(name) {
            None => c.missing.push((*name).to_owned()),
            Some(d) if !d.eq_ignore_ascii_case(digest) => {
                c.changed
                    .push(((*name).to_owned(), (*digest).to_owned(), (*d).to_owned()))
            }
            _ => {}
        }
    }
    c.unsigned = have
        .keys()
        .filter(|n| !want.contains_key(*n))
        .map(|n| (*n).to_owned())
        .collect();
    c
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn sorts_by_path_components_like_model_signing() {
        let mut names = vec!["a-c", "a-b/c", "a/b"];
        names.sort_by_key(|n| resource_sort_key(n));
        assert_eq!(names, ["a/b", "a-b/c", "a-c"]);
        let mut shards = vec!["f:10:20", "f:2:10", "f:0:2"];
        shards.sort_by_key(|n| resource_sort_key(n));
        assert_eq!(shards, ["f:0:2", "f:2:10", "f:10:20"]);
    }

    #[test]
    fn git_paths_and_signature_are_not_signed() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        std::fs::create_dir_all(m.join(".git")).unwrap();
        std::fs::write(m.join(".git/HEAD"), "x").unwrap();
        std::fs::write(m.join("w.bin"), "x").unwrap();
        std::fs::write(m.join("model.sig"), "x").unwrap();
        let l = list(
            &m,
            &Options {
                signature_path: Some(m.join("model.sig")),
                ..Options::default()
            },
        )
        .unwrap();
        let names: Vec<_> = l.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["w.bin"]);
        assert!(l.ignore_paths.contains(&"model.sig".to_string()));
    }

    #[test]
    fn signature_reached_through_a_symlinked_folder_is_not_signed() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        std::fs::create_dir_all(m.join("a")).unwrap();
        std::fs::write(m.join("a/w.bin"), "x").unwrap();
        std::fs::write(m.join("a/model.sig"), "x").unwrap();
        // A hard link to the signature is another file: it is signed.
        std::fs::hard_link(m.join("a/model.sig"), m.join("copy.sig")).unwrap();
        std::os::unix::fs::symlink(m.join("a"), m.join("b")).unwrap();
        let l = list(
            &m,
            &Options {
                allow_symlinks: true,
                signature_path: Some(m.join("a/model.sig")),
                ..Options::default()
            },
        )
        .unwrap();
        // The folder is walked once, through `a` or `b` (whichever the listing meets first).
        let names: Vec<_> = l.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0].ends_with("/w.bin"), "{names:?}");
        assert_eq!(names[1], "copy.sig");
    }

    #[test]
    fn refuses_symlink_escaping_model_even_when_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(dir.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), m.join("link")).unwrap();
        assert!(matches!(
            list(&m, &Options::default()),
            Err(Error::SymlinkRefused { .. })
        ));
        let allow = Options {
            allow_symlinks: true,
            ..Options::default()
        };
        assert!(matches!(
            list(&m, &allow),
            Err(Error::SymlinkEscapes { .. })
        ));
    }

    #[test]
    fn shards_cover_each_file_exactly() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), vec![0u8; 25]).unwrap();
        std::fs::write(dir.path().join("e"), b"").unwrap();
        let l = list(dir.path(), &Options::default()).unwrap();
        let names: Vec<_> = jobs(&l, &SerializationMethod::Shards { shard_size: 10 })
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["a:0:10", "a:10:20", "a:20:25"]);
    }
}

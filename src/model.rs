//! Turning a model path into its sorted resource list: walk, ignore rules, symlink policy, and
//! serialization (`files` or `shards`), exactly as OMS / `model_signing` 1.1 define them.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use crate::formats::statement::{Resource, Serialization, SerializationMethod, resource_sort_key};
use crate::hashing::{self, Job};

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
    /// Following a symbolic link would walk a folder that is being walked (a cycle).
    #[error(
        "{path} is a symbolic link to {target}, a folder that contains it: a cycle; remove the link or pass --ignore-paths"
    )]
    SymlinkCycle {
        /// The link.
        path: PathBuf,
        /// The folder it points to.
        target: PathBuf,
    },
    /// A symbolic link points outside the model folder. No longer returned: such links are
    /// followed under `--allow-symlinks`, with a warning in [`Listing::warnings`].
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

/// The name a model goes by: its path's last component, or the real folder's name for a path
/// such as `.` or `dir/..` (a trailing slash is ignored).
pub fn model_name(path: &Path) -> Option<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(|| {
            std::fs::canonicalize(path)
                .ok()
                .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
}

/// The default signature file of a model: `<name>.sig` beside it, where `<name>` is the file or
/// folder name ([`model_name`]); a trailing slash on a folder changes nothing (`./bert/` and
/// `./bert` both give `./bert.sig`). `sign`, `verify`, `pull` and `audit` all use this one rule.
pub fn signature_path(model: &Path) -> PathBuf {
    let name = model_name(model).unwrap_or_else(|| "model".into());
    let parent = model
        .components()
        .next_back()
        .and_then(|_| model.parent())
        .unwrap_or(Path::new(""));
    parent.join(format!("{name}.sig"))
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
    /// Things the caller should print (never silent): symlinks followed to targets outside
    /// the model folder.
    pub warnings: Vec<String>,
}

impl Listing {
    /// Total bytes in the model.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
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
    let mut warnings = Vec::new();
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
        let mut stack = vec![canonical_root.clone()];
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
        let mut walker = Walker {
            root: &canonical_root,
            opts,
            ignore: &ignore,
            sig: sig_id.as_ref(),
            visited: &mut visited,
            stack: &mut stack,
            out: &mut files,
            warnings: &mut warnings,
        };
        walker.walk(model, "")?;
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
        warnings,
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

/// The state of one folder walk.
struct Walker<'a> {
    /// The model folder, canonical.
    root: &'a Path,
    opts: &'a Options,
    ignore: &'a [String],
    sig: Option<&'a SignatureId<'a>>,
    /// Canonical folders already walked (a second link to one is not walked again).
    visited: &'a mut HashSet<PathBuf>,
    /// Canonical folders on the current path, root first: a link to one of them is a cycle.
    stack: &'a mut Vec<PathBuf>,
    out: &'a mut Vec<FileEntry>,
    warnings: &'a mut Vec<String>,
}

impl Walker<'_> {
    fn walk(&mut self, dir: &Path, prefix: &str) -> Result<(), Error> {
        let unreadable = |path: &Path, source| Error::Unreadable {
            path: path.to_owned(),
            source,
        };
        let mut entries = std::fs::read_dir(dir)
            .map_err(|e| unreadable(dir, e))?
            .map(|entry| {
                let entry = entry.map_err(|e| unreadable(dir, e))?;
                let ft = entry
                    .file_type()
                    .map_err(|e| unreadable(&entry.path(), e))?;
                Ok((ft, entry))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        // Real entries before symlinks, each by name: a folder reachable both directly and
        // through a link is walked under its real name (as model_signing, which does not
        // follow folder links, names it), whatever order the file system lists them in.
        entries.sort_by(|(fa, a), (fb, b)| {
            (fa.is_symlink(), a.file_name()).cmp(&(fb.is_symlink(), b.file_name()))
        });
        for (ft, entry) in entries {
            let path = entry.path();
            let Some(fname) = entry.file_name().to_str().map(str::to_owned) else {
                return Err(Error::NonUtf8 { path });
            };
            let rel = if prefix.is_empty() {
                fname
            } else {
                format!("{prefix}/{fname}")
            };
            if is_ignored(&rel, self.ignore) {
                continue;
            }
            // The entry's type comes from the directory listing (no syscall); a regular file
            // costs one `fstatat` relative to the open folder, for its size and (dev, ino).
            // Symlinks, rare, take the slow path through `canonicalize`.
            let mut link_target = None;
            let file_meta = if ft.is_symlink() {
                if !self.opts.allow_symlinks {
                    return Err(Error::SymlinkRefused { path });
                }
                let target = std::fs::canonicalize(&path).map_err(|e| unreadable(&path, e))?;
                let m = std::fs::metadata(&target).map_err(|e| unreadable(&path, e))?;
                if !m.is_dir() && !m.is_file() {
                    return Err(Error::SpecialFile { path });
                }
                if !target.starts_with(self.root) {
                    self.warnings.push(format!(
                        "{rel} is a symbolic link to {}, outside the model folder; followed (--allow-symlinks)",
                        target.display()
                    ));
                }
                link_target = Some(target);
                m.is_file().then_some(m)
            } else if ft.is_dir() {
                None
            } else if ft.is_file() {
                Some(entry.metadata().map_err(|e| unreadable(&path, e))?)
            } else {
                return Err(Error::SpecialFile { path });
            };
            match file_meta {
                None => {
                    let canonical = match link_target {
                        Some(t) => t,
                        None => std::fs::canonicalize(&path).map_err(|e| unreadable(&path, e))?,
                    };
                    if self.stack.contains(&canonical) {
                        return Err(Error::SymlinkCycle {
                            path,
                            target: canonical,
                        });
                    }
                    if !self.visited.insert(canonical.clone()) {
                        continue; // a second link to a folder already walked
                    }
                    self.stack.push(canonical);
                    let walked = self.walk(&path, &rel);
                    self.stack.pop();
                    walked?;
                }
                Some(m) => {
                    if self.sig.is_some_and(|sig| sig.is(&m, &path)) {
                        continue;
                    }
                    self.out.push(FileEntry {
                        name: rel,
                        path,
                        size: m.len(),
                    });
                }
            }
        }
        Ok(())
    }
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

/// The listing options for verifying a signature, and a sentence saying where they came from
/// (for the `model` check's detail: which ignore list was used).
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// Options to pass to [`list`].
    pub options: Options,
    /// Where the ignore list and the symlink policy came from.
    pub explanation: String,
}

/// Combines what the signature recorded with the verifier's own model options, as
/// model_signing 1.1's verify does (OMS §6.2, §8):
/// - ignored: the signature's `ignore_paths` (those inside the model; `..` and absolute ones
///   are dropped) plus the verifier's `--ignore-paths` (relative to the model, or absolute
///   inside it), plus the git paths unless `--no-ignore-git-paths` or the signature itself
///   signs a git path (then ignoring them would report signed files as missing);
/// - symlinks are followed when the signature records `allow_symlinks` or the verifier passes
///   `--allow-symlinks`;
/// - the signature file is never part of the model.
pub fn verify_options(
    signed: &Serialization,
    signed_resources: &[Resource],
    user: &Options,
    signature_path: Option<PathBuf>,
) -> VerifyOptions {
    let mut ignore_paths: Vec<PathBuf> = signed
        .ignore_paths
        .iter()
        .filter(|p| normalize_rel(Path::new(p.as_str())).is_some())
        .map(PathBuf::from)
        .collect();
    ignore_paths.extend(user.ignore_paths.iter().cloned());
    let signs_git = signed_resources.iter().any(|r| {
        let name = r.name.split(':').next().unwrap_or_default();
        is_ignored(name, &GIT_PATHS.map(str::to_owned))
    });
    let ignore_git = user.ignore_git && !signs_git;
    let allow_symlinks = signed.allow_symlinks || user.allow_symlinks;
    let explanation = format!(
        "ignored: {} path(s) recorded in the signature{}, {} from --ignore-paths, git paths {}; symlinks {}",
        signed.ignore_paths.len(),
        if signed.ignore_paths.is_empty() {
            String::new()
        } else {
            format!(" ({})", signed.ignore_paths.join(", "))
        },
        user.ignore_paths.len(),
        if ignore_git {
            "ignored"
        } else if signs_git {
            "signed (the signature lists them)"
        } else {
            "not ignored (--no-ignore-git-paths)"
        },
        match (signed.allow_symlinks, user.allow_symlinks) {
            (true, _) => "followed (recorded in the signature)",
            (false, true) => "followed (--allow-symlinks)",
            (false, false) => "refused",
        }
    );
    VerifyOptions {
        options: Options {
            ignore_paths,
            ignore_git,
            allow_symlinks,
            signature_path,
        },
        explanation,
    }
}

/// For `--ignore-unsigned-files`: keeps in `listing` only the files the signature lists (so
/// unsigned files are neither hashed nor able to fail the hashing) and returns the names of the
/// files dropped, which the caller must report. Shard names (`path:start:end`) count for their
/// file.
pub fn retain_signed(listing: &mut Listing, signed: &[Resource]) -> Vec<String> {
    let names: HashSet<&str> = signed
        .iter()
        .map(
            |r| match r.name.rsplitn(3, ':').collect::<Vec<_>>().as_slice() {
                [end, start, path]
                    if end.bytes().all(|b| b.is_ascii_digit())
                        && start.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    *path
                }
                _ => r.name.as_str(),
            },
        )
        .collect();
    let mut dropped = Vec::new();
    listing.files.retain(|f| {
        let keep = names.contains(f.name.as_str());
        if !keep {
            dropped.push(f.name.clone());
        }
        keep
    });
    dropped
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
    fn signature_path_ignores_a_trailing_slash_on_a_folder() {
        assert_eq!(
            signature_path(Path::new("./bert/")),
            Path::new("./bert.sig")
        );
        assert_eq!(signature_path(Path::new("./bert")), Path::new("./bert.sig"));
        assert_eq!(signature_path(Path::new("m.pt")), Path::new("m.pt.sig"));
        assert_eq!(
            signature_path(Path::new("a/b/m.pt")),
            Path::new("a/b/m.pt.sig")
        );
    }

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
        // The folder is walked once, under its real name `a`, never through the link `b`.
        let names: Vec<_> = l.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a/w.bin", "copy.sig"]);
    }

    #[test]
    fn symlink_outside_the_model_is_refused_unless_allowed_then_followed_with_a_warning() {
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
        let l = list(&m, &allow).unwrap();
        assert_eq!(l.files.len(), 1);
        assert_eq!(l.files[0].name, "link");
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        assert!(l.warnings[0].contains("outside the model folder"));
    }

    #[test]
    fn a_linked_folder_is_named_by_its_real_path_whatever_the_listing_order() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        std::fs::create_dir_all(m.join("z_real")).unwrap();
        std::fs::write(m.join("z_real/w.bin"), "x").unwrap();
        std::os::unix::fs::symlink("z_real", m.join("a_link")).unwrap();
        let l = list(
            &m,
            &Options {
                allow_symlinks: true,
                ..Options::default()
            },
        )
        .unwrap();
        let names: Vec<_> = l.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["z_real/w.bin"]);
        assert!(l.warnings.is_empty());
    }

    #[test]
    fn symlink_cycle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        std::fs::create_dir_all(m.join("a/b")).unwrap();
        std::fs::write(m.join("a/b/w.bin"), "x").unwrap();
        std::os::unix::fs::symlink("..", m.join("a/b/up")).unwrap();
        let allow = Options {
            allow_symlinks: true,
            ..Options::default()
        };
        assert!(matches!(list(&m, &allow), Err(Error::SymlinkCycle { .. })));
        // A link to the model folder itself, too.
        std::fs::remove_file(m.join("a/b/up")).unwrap();
        std::os::unix::fs::symlink(&m, m.join("a/root")).unwrap();
        assert!(matches!(list(&m, &allow), Err(Error::SymlinkCycle { .. })));
    }

    #[test]
    fn empty_model_is_refused_also_after_exclusions() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        std::fs::create_dir_all(m.join("sub")).unwrap();
        assert!(matches!(
            list(&m, &Options::default()),
            Err(Error::Empty { .. })
        ));
        std::fs::write(m.join("sub/x"), "x").unwrap();
        std::fs::create_dir_all(m.join(".git")).unwrap();
        std::fs::write(m.join(".git/HEAD"), "x").unwrap();
        let opts = Options {
            ignore_paths: vec![PathBuf::from("sub")],
            ..Options::default()
        };
        assert!(matches!(list(&m, &opts), Err(Error::Empty { .. })));
    }

    #[test]
    fn signature_inside_the_model_is_never_a_resource() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        std::fs::create_dir_all(m.join("nested")).unwrap();
        std::fs::write(m.join("w.bin"), "x").unwrap();
        std::fs::write(m.join("nested/model.sig"), "{}").unwrap();
        let l = list(
            &m,
            &Options {
                signature_path: Some(m.join("nested/model.sig")),
                ..Options::default()
            },
        )
        .unwrap();
        let names: Vec<_> = l.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["w.bin"]);
        assert!(l.ignore_paths.contains(&"nested/model.sig".to_string()));
    }

    #[test]
    fn hidden_files_other_than_git_ones_are_signed() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        std::fs::create_dir_all(m.join(".cache/x")).unwrap();
        std::fs::create_dir_all(m.join(".github")).unwrap();
        std::fs::write(m.join(".cache/x/blob"), "x").unwrap();
        std::fs::write(m.join(".hidden"), "x").unwrap();
        std::fs::write(m.join(".gitignore"), "x").unwrap();
        std::fs::write(m.join(".github/ci.yml"), "x").unwrap();
        std::fs::write(m.join("sub.gitignore"), "x").unwrap();
        let l = list(&m, &Options::default()).unwrap();
        let names: Vec<_> = l.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, [".cache/x/blob", ".hidden", "sub.gitignore"]);
        // Without git ignoring, git files are signed too.
        let all = list(
            &m,
            &Options {
                ignore_git: false,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(all.files.len(), 5);
    }

    #[test]
    fn names_with_utf8_spaces_and_special_characters_are_kept_verbatim() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        let names = [
            "ünïcödé/模型.bin",
            "with space/a b.txt",
            "special/#[]{}!$&'();=@%+,~^`.dat",
            "special/colon:name",
            "emoji 🙂.json",
        ];
        for n in names {
            let p = m.join(n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, n).unwrap();
        }
        let l = list(&m, &Options::default()).unwrap();
        let mut got: Vec<_> = l.files.iter().map(|f| f.name.clone()).collect();
        got.sort();
        let mut want: Vec<_> = names.iter().map(|s| (*s).to_owned()).collect();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn same_model_twice_gives_the_same_resources() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        for i in 0..20 {
            let p = m.join(format!("d{}/f{i}", i % 3));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, format!("{i}")).unwrap();
        }
        let once = |_: ()| {
            let l = list(&m, &Options::default()).unwrap();
            resources(&l, &SerializationMethod::Files, &|_| {}).unwrap()
        };
        assert_eq!(once(()), once(()));
    }

    #[test]
    fn verify_options_add_the_signed_ignore_paths_to_the_verifiers_and_say_so() {
        let signed = Serialization {
            method: SerializationMethod::Files,
            hash_type: "sha256".into(),
            allow_symlinks: true,
            ignore_paths: vec!["logs".into(), "../outside".into()],
        };
        let user = Options {
            ignore_paths: vec![PathBuf::from("tmp")],
            ..Options::default()
        };
        let v = verify_options(&signed, &[], &user, None);
        assert_eq!(
            v.options.ignore_paths,
            [PathBuf::from("logs"), PathBuf::from("tmp")]
        );
        assert!(v.options.allow_symlinks && v.options.ignore_git);
        assert!(
            v.explanation
                .contains("2 path(s) recorded in the signature"),
            "{}",
            v.explanation
        );
        assert!(v.explanation.contains("1 from --ignore-paths"));
        assert!(v.explanation.contains("recorded in the signature"));
        // A signature that signs git files keeps them.
        let git = [Resource {
            name: ".gitattributes".into(),
            algorithm: "sha256".into(),
            digest: "00".repeat(32),
        }];
        assert!(
            !verify_options(&signed, &git, &user, None)
                .options
                .ignore_git
        );
    }

    #[test]
    fn ignore_unsigned_files_keeps_only_signed_files_and_reports_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        std::fs::create_dir_all(&m).unwrap();
        for f in ["a", "b", "extra"] {
            std::fs::write(m.join(f), f).unwrap();
        }
        let mut l = list(&m, &Options::default()).unwrap();
        let signed: Vec<Resource> = ["a:0:1", "b"]
            .iter()
            .map(|n| Resource {
                name: (*n).into(),
                algorithm: "sha256".into(),
                digest: "00".repeat(32),
            })
            .collect();
        assert_eq!(retain_signed(&mut l, &signed), ["extra"]);
        assert_eq!(l.files.len(), 2);
        // And compare() tolerates, but reports, unsigned files.
        let actual = |n: &str| Resource {
            name: n.into(),
            algorithm: "sha256".into(),
            digest: "00".repeat(32),
        };
        let c = compare(&signed[1..], &[actual("b"), actual("extra")]);
        assert!(!c.matches(false) && c.matches(true));
        assert_eq!(c.warnings(true).len(), 1);
        assert_eq!(c.problems(false), ["extra: present but not signed"]);
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

//! Listing a model: the options, the walk of a folder (ignore rules, symlink policy, the
//! signature file left out) and the files it yields in canonical order.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{Error, GIT_PATHS, normalize_rel};
use crate::formats::statement::resource_sort_key;

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

pub(super) fn is_ignored(rel: &str, ignore: &[String]) -> bool {
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
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

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
}

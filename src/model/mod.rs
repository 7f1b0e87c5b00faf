//! Turning a model path into its sorted resource list: walk, ignore rules, symlink policy, and
//! serialization (`files` or `shards`), exactly as OMS / `model_signing` 1.1 define them.

use std::path::{Component, Path, PathBuf};

use crate::hashing;

mod compare;
mod digest;
mod listing;
mod serialize;
mod verify;

pub use compare::{Comparison, compare, retain_signed};
pub use digest::{FileDigest, METHOD_FILES, METHOD_SHARDS, ModelDigest, digest, method_name};
pub use listing::{FileEntry, Listing, Options, list};
pub use serialize::{jobs, resources, serialization_for};
pub use verify::{VerifyOptions, verify_options};

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
}

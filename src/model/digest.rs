//! The OMS root digest of a model on disk, computed exactly as signing computes the subject
//! digest (same listing, ignore rules and serialization), without signing anything.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Error, Options};
use crate::formats::statement::{SerializationMethod, root_digest};

/// Method name of a root digest over one resource per file (OMS `files` serialization).
pub const METHOD_FILES: &str = "oms-files-v1";
/// Method name of a root digest over fixed-size shards (OMS `shards` serialization).
pub const METHOD_SHARDS: &str = "oms-shards-v1";

/// The method name recorded for a serialization (`oms-files-v1` or `oms-shards-v1`).
pub fn method_name(method: &SerializationMethod) -> &'static str {
    match method {
        SerializationMethod::Files => METHOD_FILES,
        SerializationMethod::Shards { .. } => METHOD_SHARDS,
    }
}

/// One resource of a digest: a file (or a shard `path:start:end`) and its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileDigest {
    /// Relative POSIX path (`.` for a single-file model), or `path:start:end` for a shard.
    pub name: String,
    /// `sha256:<hex>`.
    pub digest: String,
}

/// What [`digest`] computed: the `digest` command's result (docs/json.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelDigest {
    /// The path as given.
    pub path: PathBuf,
    /// The subject name a signature would carry (the file or folder name).
    pub name: String,
    /// The root digest, `sha256:<hex>`: what `sign` records as the subject digest.
    pub digest: String,
    /// `oms-files-v1` or `oms-shards-v1`.
    pub method: &'static str,
    /// Bytes per shard, for `oms-shards-v1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_size: Option<u64>,
    /// Bytes hashed.
    pub bytes: u64,
    /// Every resource in canonical order, with its digest.
    pub files: Vec<FileDigest>,
    /// What listing noticed (links followed out of the model), unescaped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Computes the OMS root digest of a file or folder with the listing and serialization signing
/// uses: the same ignore paths, git paths and symlink policy, and the signature `<model>.sig`
/// beside the model left out (as `sign` leaves it out) unless `options` names another.
pub fn digest(
    path: &Path,
    options: &Options,
    method: &SerializationMethod,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ModelDigest, Error> {
    if let SerializationMethod::Shards { shard_size: 0 } = method {
        return Err(Error::BadShardSize);
    }
    let options = Options {
        signature_path: options
            .signature_path
            .clone()
            .or_else(|| Some(super::signature_path(path))),
        ..options.clone()
    };
    let listing = super::list(path, &options)?;
    let resources = super::resources(&listing, method, progress)?;
    Ok(ModelDigest {
        path: path.to_owned(),
        name: listing.name.clone(),
        digest: format!("sha256:{}", root_digest(&resources)),
        method: method_name(method),
        shard_size: match method {
            SerializationMethod::Files => None,
            SerializationMethod::Shards { shard_size } => Some(*shard_size),
        },
        bytes: listing.total_bytes(),
        files: resources
            .into_iter()
            .map(|r| FileDigest {
                name: r.name,
                digest: format!("sha256:{}", r.digest),
            })
            .collect(),
        warnings: listing.warnings,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn digest_is_the_root_digest_signing_records() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        std::fs::create_dir_all(m.join("sub")).unwrap();
        std::fs::write(m.join("a"), b"one").unwrap();
        std::fs::write(m.join("sub/b"), b"two").unwrap();
        std::fs::write(m.join(".gitignore"), b"x").unwrap();
        let d = digest(
            &m,
            &Options::default(),
            &SerializationMethod::Files,
            &|_| {},
        )
        .unwrap();
        let l = super::super::list(&m, &Options::default()).unwrap();
        let r = super::super::resources(&l, &SerializationMethod::Files, &|_| {}).unwrap();
        assert_eq!(d.digest, format!("sha256:{}", root_digest(&r)));
        assert_eq!(d.method, METHOD_FILES);
        let names: Vec<_> = d.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a", "sub/b"]);
        let s = digest(
            &m,
            &Options::default(),
            &SerializationMethod::Shards { shard_size: 2 },
            &|_| {},
        )
        .unwrap();
        assert_eq!(s.method, METHOD_SHARDS);
        assert_ne!(s.digest, d.digest);
        assert!(matches!(
            digest(
                &m,
                &Options::default(),
                &SerializationMethod::Shards { shard_size: 0 },
                &|_| {}
            ),
            Err(Error::BadShardSize)
        ));
    }
}

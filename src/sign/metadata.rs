//! Signed metadata from `--metadata` pairs, for every signing workflow (`sign` on disk and by
//! reference, `push --sign`): the `key=value` rules of [`statement::parse_metadata`], and values
//! computed rather than typed: `KEY=@digest:PATH` records the OMS root digest of a file or folder
//! (as `provenance digest` prints it) and `KEY=@digest:REF` the manifest digest of a model in a
//! registry or the local store, each with a sibling key `KEY.method` saying how it was computed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::formats::statement::{self, MetadataError, SerializationMethod};
use crate::model;
use crate::oci::{self, Reference, RegistryOptions};

/// The value prefix that asks for a computed digest.
pub const DIGEST_PREFIX: &str = "@digest:";
pub use crate::formats::statement::METHOD_SUFFIX;
/// Method of a `@digest:REF` value: the OCI manifest digest.
pub const METHOD_OCI_MANIFEST: &str = "oci-manifest";

/// Why `--metadata` was refused, or a `@digest:` value could not be computed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A pair breaks the `key=value` rules (no `=`, empty, reserved or duplicate key).
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// `@digest:` with nothing after it.
    #[error(
        "--metadata {key}=@digest: names nothing; write @digest:PATH (a file or folder) or @digest:REF (a model in a registry or the local store)"
    )]
    NothingNamed {
        /// The key.
        key: String,
    },
    /// `@digest:PATH` names no file or folder (and nothing a reference could name).
    #[error(
        "--metadata {key}=@digest:{path}: {path} does not exist; check the path (or write a registry reference as host/repo:tag)"
    )]
    Missing {
        /// The key.
        key: String,
        /// The path as written.
        path: PathBuf,
    },
    /// The file or folder could not be hashed.
    #[error("--metadata {key}=@digest:{path}: {source}")]
    Model {
        /// The key.
        key: String,
        /// The path.
        path: PathBuf,
        /// Why.
        source: model::Error,
    },
    /// The reference could not be resolved to a manifest digest.
    #[error("--metadata {key}=@digest:{reference}: {source}{hint}", hint = reference_hint(source))]
    Reference {
        /// The key.
        key: String,
        /// The reference as written.
        reference: String,
        /// What the store said.
        source: Box<oci::Error>,
    },
}

/// The next step after a reference that could not be resolved.
fn reference_hint(e: &oci::Error) -> &'static str {
    match e.next_step() {
        "" => {
            "; check the reference (host/repo:tag, or repo:tag in the local store), or give the path of a file or folder to hash"
        }
        step => step,
    }
}

impl Error {
    /// Exit-code class: bad input, except a hashing or registry failure of the environment.
    pub fn class(&self) -> crate::Class {
        match self {
            Error::Model { source, .. } => source.class(),
            Error::Reference { source, .. } => match source.kind() {
                // A reference that names nothing is a typo, not an untrusted artifact.
                oci::ErrorKind::Verification | oci::ErrorKind::Input => crate::Class::Input,
                oci::ErrorKind::Environment => crate::Class::Environment,
            },
            _ => crate::Class::Input,
        }
    }
}

/// Whether `s` is written as a path (`./d`, `../d`, `/d`, `~/d`, `d/`, `.`): never a reference.
fn written_as_path(s: &str) -> bool {
    s.starts_with("./")
        || s.starts_with("../")
        || s.starts_with('/')
        || s.starts_with("~/")
        || s.ends_with('/')
        || s == "."
        || s == ".."
}

/// One computed value: the digest and its method.
fn compute(
    key: &str,
    target: &str,
    registry: &RegistryOptions,
) -> Result<(String, &'static str), Error> {
    if target.is_empty() {
        return Err(Error::NothingNamed { key: key.into() });
    }
    let path = Path::new(target);
    if path.exists() {
        let d = model::digest(
            path,
            &model::Options::default(),
            &SerializationMethod::Files,
            &|_| {},
        )
        .map_err(|source| Error::Model {
            key: key.into(),
            path: path.to_owned(),
            source,
        })?;
        return Ok((d.digest, d.method));
    }
    let missing = || Error::Missing {
        key: key.into(),
        path: path.to_owned(),
    };
    if written_as_path(target) {
        return Err(missing());
    }
    let Ok(reference) = Reference::parse(target) else {
        return Err(missing());
    };
    let resolve = || -> Result<String, oci::Error> {
        let store = oci::open_store(&reference, registry.clone())?;
        let d = store.resolve(reference.repository(), reference.target())?;
        Ok(d.digest)
    };
    match resolve() {
        Ok(digest) => Ok((digest, METHOD_OCI_MANIFEST)),
        // A bare name (no host, tag or digest) the local store does not hold was most likely
        // meant as a path.
        Err(oci::Error::NotFound { .. } | oci::Error::UnknownTarget { .. })
            if reference.registry().is_none()
                && reference.tag().is_none()
                && reference.digest().is_none() =>
        {
            Err(missing())
        }
        Err(source) => Err(Error::Reference {
            key: key.into(),
            reference: target.into(),
            source: Box::new(source),
        }),
    }
}

/// Parses `key=value` pairs ([`statement::parse_metadata`]'s rules) and computes `@digest:`
/// values: `KEY=@digest:PATH` becomes the root digest of the file or folder (`oms-files-v1`,
/// default ignore rules) and `KEY=@digest:REF` the manifest digest of a model in a registry or
/// the local store (`oci-manifest`), each with `KEY.method` beside it. A sibling key also given
/// by hand is a duplicate. `registry` is how a REF's registry is reached (credentials from the
/// docker config, never the signing target's `--username`).
pub fn parse<S: AsRef<str>>(
    pairs: &[S],
    registry: &RegistryOptions,
) -> Result<BTreeMap<String, String>, Error> {
    let given = statement::parse_metadata(pairs)?;
    let mut out = given.clone();
    for (key, value) in &given {
        let Some(target) = value.strip_prefix(DIGEST_PREFIX) else {
            continue;
        };
        let (digest, method) = compute(key, target, registry)?;
        let sibling = format!("{key}{METHOD_SUFFIX}");
        statement::check_metadata_key(&sibling)?;
        if given.contains_key(&sibling) {
            return Err(MetadataError::Duplicate(sibling).into());
        }
        out.insert(key.clone(), digest);
        out.insert(sibling, method.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn digest_of_a_path_with_its_method_and_plain_values_kept() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("train.csv"), b"a,b\n1,2\n").unwrap();
        let want = model::digest(
            &data,
            &model::Options::default(),
            &SerializationMethod::Files,
            &|_| {},
        )
        .unwrap()
        .digest;
        let pair = format!("training_data_hash=@digest:{}", data.display());
        let m = parse(
            &[pair.as_str(), "author=alice"],
            &RegistryOptions::default(),
        )
        .unwrap();
        assert_eq!(m["training_data_hash"], want);
        assert_eq!(m["training_data_hash.method"], model::METHOD_FILES);
        assert_eq!(m["author"], "alice");
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn missing_path_duplicate_sibling_and_reserved_key_are_refused() {
        let opts = RegistryOptions::default();
        let e = parse(&["h=@digest:./no/such/dir"], &opts).unwrap_err();
        assert!(matches!(e, Error::Missing { .. }), "{e}");
        assert!(e.to_string().contains("./no/such/dir"), "{e}");
        assert_eq!(e.class(), crate::Class::Input);
        let e = parse(&["h=@digest:"], &opts).unwrap_err();
        assert!(matches!(e, Error::NothingNamed { .. }), "{e}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        let pair = format!("h=@digest:{}", dir.path().join("f").display());
        let e = parse(&[pair.as_str(), "h.method=mine"], &opts).unwrap_err();
        assert!(
            matches!(e, Error::Metadata(MetadataError::Duplicate(ref k)) if k == "h.method"),
            "{e}"
        );
        let pair = format!(
            "dev.provenance.x=@digest:{}",
            dir.path().join("f").display()
        );
        assert!(matches!(
            parse(&[pair.as_str()], &opts),
            Err(Error::Metadata(MetadataError::Reserved(_)))
        ));
    }
}

//! The in-toto Statement v1 with the OMS v1.0 predicate (`https://model_signing/signature/v1.0`),
//! its root digest, and user metadata in `subject[0].annotations`.
//!
//! The root digest is SHA-256 over the raw digest bytes of all resources in their listed order,
//! as `model_signing` computes it; a statement whose subject disagrees with its resources is refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// in-toto Statement v1 `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// OMS v1.0 predicate type.
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// The pre-1.0 predicate type, accepted on verify only.
pub const PREDICATE_TYPE_V01: &str = "https://model_signing/Digests/v0.1";
/// Subject name model_signing gives statements in the v0.1 format, which carry none.
pub const V01_SUBJECT_NAME: &str = "compat-undefined-not-present";
/// Prefix of annotations this tool sets itself; user metadata may not use it.
pub const RESERVED_PREFIX: &str = "dev.provenance.";
/// Signed annotation binding a statement to an OCI manifest digest (enforced on verify).
pub const ANNOTATION_MANIFEST_DIGEST: &str = "dev.provenance.oci.manifest.digest";
/// Signed annotation naming the repository a statement was made for (informational).
pub const ANNOTATION_REPOSITORY: &str = "dev.provenance.oci.repository";

/// Errors parsing a statement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not JSON, or not shaped like an in-toto statement.
    #[error("the signed payload is not an in-toto statement: {0}")]
    Malformed(String),
    /// A statement type or predicate type this tool does not know.
    #[error("unsupported {what} `{found}`; this tool verifies OMS statements ({PREDICATE_TYPE})")]
    Unsupported {
        /// Which field.
        what: &'static str,
        /// Its value.
        found: String,
    },
    /// The subject's root digest does not match the resources.
    #[error(
        "statement is inconsistent: subject digest {subject} but the resources hash to {computed}"
    )]
    RootMismatch {
        /// The subject digest.
        subject: String,
        /// What the resources hash to.
        computed: String,
    },
}

impl Error {
    /// Exit-code class: a signed but inconsistent statement is not trusted; the rest is bad input.
    pub fn class(&self) -> crate::Class {
        match self {
            Error::RootMismatch { .. } => crate::Class::NotTrusted,
            _ => crate::Class::Input,
        }
    }
}

/// One resource (a file, or a shard `path:start:end`) with its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Relative POSIX path, `.` for a single file, or `path:start:end` for a shard.
    pub name: String,
    /// Hash algorithm (`sha256`).
    pub algorithm: String,
    /// Hex digest.
    pub digest: String,
}

/// How the model was serialized into resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SerializationMethod {
    /// One resource per file.
    Files,
    /// Files split into `shard_size`-byte pieces.
    Shards {
        /// Bytes per shard.
        shard_size: u64,
    },
}

/// The predicate's `serialization` section: what a verifier needs to recompute the resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Serialization {
    /// `files` or `shards`.
    pub method: SerializationMethod,
    /// Always `sha256` here.
    pub hash_type: String,
    /// Whether symlinks were followed.
    pub allow_symlinks: bool,
    /// Paths ignored, relative to the model folder.
    pub ignore_paths: Vec<String>,
}

impl Serialization {
    fn to_value(&self) -> Value {
        let mut m = Map::new();
        match self.method {
            SerializationMethod::Files => {
                m.insert("method".into(), "files".into());
                m.insert("hash_type".into(), self.hash_type.clone().into());
            }
            SerializationMethod::Shards { shard_size } => {
                m.insert("method".into(), "shards".into());
                m.insert("hash_type".into(), self.hash_type.clone().into());
                m.insert("shard_size".into(), shard_size.into());
            }
        }
        m.insert("allow_symlinks".into(), self.allow_symlinks.into());
        m.insert(
            "ignore_paths".into(),
            Value::Array(self.ignore_paths.iter().cloned().map(Value::from).collect()),
        );
        Value::Object(m)
    }

    fn from_value(v: &Value) -> Result<Self, Error> {
        let bad = |m: &str| Error::Malformed(format!("serialization: {m}"));
        let o = v.as_object().ok_or_else(|| bad("not an object"))?;
        let hash_type = o
            .get("hash_type")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("missing hash_type"))?
            .to_owned();
        if hash_type != "sha256" {
            return Err(Error::Unsupported {
                what: "hash_type",
                found: hash_type,
            });
        }
        let allow_symlinks = match o.get("allow_symlinks") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            None => false,
            Some(_) => return Err(bad("allow_symlinks is not a boolean")),
        };
        let method = match o.get("method").and_then(Value::as_str) {
            Some("files") => SerializationMethod::Files,
            Some("shards") => SerializationMethod::Shards {
                shard_size: o
                    .get("shard_size")
                    .and_then(as_whole_number)
                    .filter(|s| *s > 0)
                    .ok_or_else(|| bad("shards without a positive shard_size"))?,
            },
            Some(other) => {
                return Err(Error::Unsupported {
                    what: "serialization method",
                    found: other.to_owned(),
                });
            }
            None => return Err(bad("missing method")),
        };
        let ignore_paths = match o.get("ignore_paths") {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|p| p.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("ignore_paths holds a non-string"))?,
            Some(_) => return Err(bad("ignore_paths is not a list")),
        };
        Ok(Self {
            method,
            hash_type,
            allow_symlinks,
            ignore_paths,
        })
    }
}

/// A parsed or built OMS statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The predicate type (v1.0 when built here).
    pub predicate_type: String,
    /// Subject name: the model's final path component.
    pub name: String,
    /// Root digest (hex) over the resources; empty for v0.1 statements.
    pub root_digest: String,
    /// Resources in canonical order.
    pub resources: Vec<Resource>,
    /// Serialization parameters.
    pub serialization: Serialization,
    /// Signed metadata (subject annotations).
    pub annotations: BTreeMap<String, String>,
}

/// A JSON number that is a whole non-negative integer; model_signing writes `shard_size` as a
/// float (`1000000000.0`), so both forms are accepted.
fn as_whole_number(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15)
            .map(|f| f as u64)
    })
}

/// Why user metadata was refused (exit 2): the one place the metadata rules live, for every
/// signing workflow (`sign` on disk and by reference, `push --sign`, the Python package).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetadataError {
    /// A pair without `=`.
    #[error("--metadata `{0}` has no `=`; write it as key=value, e.g. --metadata author=alice")]
    NoEquals(String),
    /// An empty key.
    #[error("--metadata `{0}` has an empty key; write it as key=value")]
    EmptyKey(String),
    /// A key under the reserved `dev.provenance.` prefix (registry binding annotations).
    #[error(
        "--metadata key `{0}` uses the reserved prefix `{RESERVED_PREFIX}`; choose another key"
    )]
    Reserved(String),
    /// A key given twice.
    #[error("--metadata key `{0}` is given twice; give each key once")]
    Duplicate(String),
}

/// Parses `key=value` metadata pairs: `=` required, key trimmed, non-empty and unique, the
/// reserved `dev.provenance.` prefix refused. Values are kept as given.
pub fn parse_metadata<S: AsRef<str>>(
    pairs: &[S],
) -> Result<BTreeMap<String, String>, MetadataError> {
    let mut out = BTreeMap::new();
    for pair in pairs {
        let pair = pair.as_ref();
        let Some((k, v)) = pair.split_once('=') else {
            return Err(MetadataError::NoEquals(pair.to_owned()));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(MetadataError::EmptyKey(pair.to_owned()));
        }
        check_metadata_key(k)?;
        if out.insert(k.to_owned(), v.to_owned()).is_some() {
            return Err(MetadataError::Duplicate(k.to_owned()));
        }
    }
    Ok(out)
}

/// Suffix of the sibling key that records how a `@digest:` value was computed.
pub const METHOD_SUFFIX: &str = ".method";

/// Refuses a metadata key the tool reserves for itself.
pub fn check_metadata_key(key: &str) -> Result<(), MetadataError> {
    if key.starts_with(RESERVED_PREFIX) {
        return Err(MetadataError::Reserved(key.to_owned()));
    }
    Ok(())
}

/// SHA-256 over the raw bytes of the resource digests, in order.
pub fn root_digest(resources: &[Resource]) -> String {
    let mut h = Sha256::new();
    for r in resources {
        // Resource digests are produced by us or checked hex when parsed.
        if let Ok(raw) = hex::decode(&r.digest) {
            h.update(raw);
        }
    }
    hex::encode(h.finalize())
}

impl Statement {
    /// Builds a v1.0 statement; the root digest is computed from the resources.
    pub fn new(
        name: String,
        resources: Vec<Resource>,
        serialization: Serialization,
        annotations: BTreeMap<String, String>,
    ) -> Self {
        Self {
            predicate_type: PREDICATE_TYPE.into(),
            root_digest: root_digest(&resources),
            name,
            resources,
            serialization,
            annotations,
        }
    }

    /// The JSON payload to sign.
    pub fn to_json(&self) -> Vec<u8> {
        let mut subject = Map::new();
        subject.insert("name".into(), self.name.clone().into());
        let mut digest = Map::new();
        digest.insert("sha256".into(), self.root_digest.clone().into());
        subject.insert("digest".into(), Value::Object(digest));
        if !self.annotations.is_empty() {
            subject.insert(
                "annotations".into(),
                Value::Object(
                    self.annotations
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                        .collect(),
                ),
            );
        }
        let mut predicate = Map::new();
        predicate.insert("serialization".into(), self.serialization.to_value());
        predicate.insert(
            "resources".into(),
            Value::Array(
                self.resources
                    .iter()
                    .map(|r| {
                        let mut m = Map::new();
                        m.insert("name".into(), r.name.clone().into());
                        m.insert("algorithm".into(), r.algorithm.clone().into());
                        m.insert("digest".into(), r.digest.clone().into());
                        Value::Object(m)
                    })
                    .collect(),
            ),
        );
        let mut st = Map::new();
        st.insert("_type".into(), STATEMENT_TYPE.into());
        st.insert("subject".into(), Value::Array(vec![Value::Object(subject)]));
        st.insert("predicateType".into(), self.predicate_type.clone().into());
        st.insert("predicate".into(), Value::Object(predicate));
        serde_json::to_vec(&Value::Object(st)).unwrap_or_default()
    }

    /// Parses a statement payload (v1.0, or v0.1 for compatibility) and checks its root digest.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| Error::Malformed(e.to_string()))?;
        let bad = |m: &str| Error::Malformed(m.to_owned());
        let st_type = v.get("_type").and_then(Value::as_str).unwrap_or_default();
        if st_type != STATEMENT_TYPE && st_type != "https://in-toto.io/Statement/v0.1" {
            return Err(Error::Unsupported {
                what: "statement type",
                found: st_type.to_owned(),
            });
        }
        let predicate_type = v
            .get("predicateType")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("missing predicateType"))?
            .to_owned();
        let subjects = v
            .get("subject")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("missing subject list"))?;
        let check_hex = |d: &str| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit());
        if predicate_type == PREDICATE_TYPE_V01 {
            let mut resources = Vec::new();
            for s in subjects {
                let name = s.get("name").and_then(Value::as_str);
                let digest = s
                    .get("digest")
                    .and_then(|d| d.get("sha256"))
                    .and_then(Value::as_str);
                match (name, digest) {
                    (Some(n), Some(d)) if check_hex(d) => resources.push(Resource {
                        name: n.to_owned(),
                        algorithm: "sha256".into(),
                        digest: d.to_ascii_lowercase(),
                    }),
                    _ => return Err(bad("v0.1 subject without name and sha256 digest")),
                }
            }
            if resources.is_empty() {
                return Err(bad("v0.1 statement without subjects"));
            }
            resources.sort_by_cached_key(|r| resource_sort_key(&r.name));
            return Ok(Self {
                predicate_type,
                name: V01_SUBJECT_NAME.into(),
                root_digest: String::new(),
                resources,
                serialization: Serialization {
                    method: SerializationMethod::Files,
                    hash_type: "sha256".into(),
                    allow_symlinks: false,
                    ignore_paths: Vec::new(),
                },
                annotations: BTreeMap::new(),
            });
        }
        if predicate_type != PREDICATE_TYPE {
            return Err(Error::Unsupported {
                what: "predicate type",
                found: predicate_type,
            });
        }
        let [subject] = subjects.as_slice() else {
            return Err(bad("expected exactly one subject"));
        };
        let name = subject
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("subject without name"))?
            .to_owned();
        let subject_digest = subject
            .get("digest")
            .and_then(|d| d.get("sha256"))
            .and_then(Value::as_str)
            .filter(|d| check_hex(d))
            .ok_or_else(|| bad("subject without a sha256 digest"))?
            .to_ascii_lowercase();
        let mut annotations = BTreeMap::new();
        if let Some(a) = subject.get("annotations") {
            let a = a
                .as_object()
                .ok_or_else(|| bad("subject annotations are not a map"))?;
            for (k, v) in a {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                annotations.insert(k.clone(), v);
            }
        }
        let predicate = v
            .get("predicate")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("missing predicate"))?;
        let serialization = Serialization::from_value(
            predicate
                .get("serialization")
                .ok_or_else(|| bad("predicate without serialization"))?,
        )?;
        let list = predicate
            .get("resources")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("predicate without resources"))?;
        let mut resources = Vec::with_capacity(list.len());
        for r in list {
            let r: Resource = serde_json::from_value(r.clone())
                .map_err(|e| Error::Malformed(format!("resource: {e}")))?;
            let sharded = matches!(serialization.method, SerializationMethod::Shards { shard_size }
                if r.algorithm == format!("sha256-sharded-{shard_size}"));
            if r.algorithm != "sha256" && !sharded {
                return Err(Error::Unsupported {
                    what: "resource algorithm",
                    found: r.algorithm,
                });
            }
            if !check_hex(&r.digest) {
                return Err(bad("resource digest is not 64 hex characters"));
            }
            resources.push(Resource {
                digest: r.digest.to_ascii_lowercase(),
                ..r
            });
        }
        // OMS §8: a statement that covers nothing verifies nothing; an empty model is never
        // signed (model::list refuses it), so an empty list is a forged or broken statement.
        if resources.is_empty() {
            return Err(bad("predicate lists no resources"));
        }
        let computed = root_digest(&resources);
        if computed != subject_digest {
            return Err(Error::RootMismatch {
                subject: subject_digest,
                computed,
            });
        }
        Ok(Self {
            predicate_type,
            name,
            root_digest: subject_digest,
            resources,
            serialization,
            annotations,
        })
    }

    /// User metadata: annotations without the reserved `dev.provenance.` prefix.
    pub fn user_metadata(&self) -> BTreeMap<String, String> {
        self.annotations
            .iter()
            .filter(|(k, _)| !k.starts_with(RESERVED_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn metadata_rules_refuse_reserved_empty_duplicate_and_unparsed_pairs() {
        let ok = parse_metadata(&["author=alice", " framework =pytorch", "note=a=b"]).unwrap();
        assert_eq!(ok["framework"], "pytorch");
        assert_eq!(ok["note"], "a=b");
        assert_eq!(
            parse_metadata(&["dev.provenance.oci.manifest.digest=x"]),
            Err(MetadataError::Reserved(
                "dev.provenance.oci.manifest.digest".into()
            ))
        );
        assert_eq!(
            parse_metadata(&["=x"]),
            Err(MetadataError::EmptyKey("=x".into()))
        );
        assert_eq!(
            parse_metadata(&["x"]),
            Err(MetadataError::NoEquals("x".into()))
        );
        assert_eq!(
            parse_metadata(&["a=1", "a=2"]),
            Err(MetadataError::Duplicate("a".into()))
        );
    }

    fn sample() -> Statement {
        Statement::new(
            "m".into(),
            vec![Resource {
                name: "a".into(),
                algorithm: "sha256".into(),
                digest: hex::encode([7u8; 32]),
            }],
            Serialization {
                method: SerializationMethod::Files,
                hash_type: "sha256".into(),
                allow_symlinks: false,
                ignore_paths: vec![".git".into()],
            },
            [("author".to_string(), "me".to_string())].into(),
        )
    }

    #[test]
    fn round_trips_through_json() {
        let s = sample();
        assert_eq!(Statement::parse(&s.to_json()).unwrap(), s);
    }

    #[test]
    fn rejects_statement_whose_root_disagrees_with_resources() {
        let mut v: Value = serde_json::from_slice(&sample().to_json()).unwrap();
        v["predicate"]["resources"][0]["digest"] = hex::encode([8u8; 32]).into();
        let e = Statement::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(matches!(e, Error::RootMismatch { .. }));
    }

    #[test]
    fn rejects_unknown_predicate_type() {
        let mut v: Value = serde_json::from_slice(&sample().to_json()).unwrap();
        v["predicateType"] = "https://slsa.dev/provenance/v1".into();
        assert!(matches!(
            Statement::parse(&serde_json::to_vec(&v).unwrap()),
            Err(Error::Unsupported { .. })
        ));
    }
}

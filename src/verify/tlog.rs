//! Rekor transparency-log entries in bundles (protobuf-specs JSON: `logIndex`, `logId.keyId`,
//! `kindVersion`, `integratedTime`, `inclusionPromise.signedEntryTimestamp`, `inclusionProof`,
//! `canonicalizedBody`) and the checks on them that the sigstore crate 0.15 leaves as TODOs:
//! the SET (inclusion promise), the RFC 6962 inclusion proof up to a checkpoint signed by the
//! log, and the consistency of the entry body with the envelope and certificate.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::formats::dsse::Envelope;
use crate::formats::x509::Certificate;
use crate::trust::root::{LogKey, TrustRoot};
use crate::verify::x509::verify_with_spki;

/// An inclusion proof as bundles carry it.
#[derive(Clone, Debug)]
pub struct Proof {
    /// Index of the entry in the (shard's) tree.
    pub log_index: u64,
    /// Root hash the proof leads to.
    pub root_hash: Vec<u8>,
    /// Tree size at that root.
    pub tree_size: u64,
    /// Sibling hashes, leaf to root.
    pub hashes: Vec<Vec<u8>>,
    /// The signed checkpoint (note format).
    pub checkpoint: String,
}

/// A parsed tlog entry.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Global log index.
    pub log_index: i64,
    /// The log id (SHA-256 of the log's DER key).
    pub log_id: Vec<u8>,
    /// Entry kind (`dsse`, `intoto`, `hashedrekord`).
    pub kind: String,
    /// Kind version.
    pub version: String,
    /// When the log integrated the entry (Unix seconds), as the entry claims it.
    pub integrated_time: i64,
    /// Signed entry timestamp.
    pub set: Option<Vec<u8>>,
    /// Inclusion proof.
    pub proof: Option<Proof>,
    /// The canonicalized body bytes.
    pub body: Vec<u8>,
}

/// Why a transparency-log entry does not back a signature. Each message names the log, the
/// entry field or the value that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlogError {
    /// A field of the entry is missing or malformed.
    #[error("{0}")]
    Malformed(String),
    /// The trusted root does not name the log.
    #[error("entry is from log {log_id} which the trusted root ({root}) does not name")]
    UnknownLog {
        /// Hex log id.
        log_id: String,
        /// The root's source.
        root: String,
    },
    /// The log's key was outside its validity at the entry's time.
    #[error("log {log}'s key was not valid at the entry's time {at}")]
    KeyNotValid {
        /// Log base URL.
        log: String,
        /// The entry's integrated time.
        at: String,
    },
    /// No signed entry timestamp.
    #[error("entry has no inclusion promise (signed entry timestamp)")]
    NoPromise,
    /// The signed entry timestamp does not verify.
    #[error("signed entry timestamp by {log} is invalid: {detail}")]
    BadPromise {
        /// Log base URL.
        log: String,
        /// Why.
        detail: String,
    },
    /// No inclusion proof.
    #[error("entry has no inclusion proof")]
    NoProof,
    /// The inclusion proof is unusable or does not verify.
    #[error("{0}")]
    BadProof(String),
    /// The entry body does not record this envelope and certificate.
    #[error("{0}")]
    BodyMismatch(String),
}

fn int(v: Option<&Value>, what: &str) -> Result<i64, TlogError> {
    let bad = |m: String| TlogError::Malformed(m);
    match v {
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| bad(format!("{what} is not an integer"))),
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| bad(format!("{what} `{s}` is not an integer"))),
        _ => Err(bad(format!("{what} is missing"))),
    }
}

fn b64(v: Option<&Value>, what: &str) -> Result<Vec<u8>, TlogError> {
    let s = v
        .and_then(Value::as_str)
        .ok_or_else(|| TlogError::Malformed(format!("{what} is missing")))?;
    B64.decode(s.trim())
        .map_err(|e| TlogError::Malformed(format!("{what} is not base64: {e}")))
}

impl Entry {
    /// Parses one `tlogEntries` element.
    pub fn parse(v: &Value) -> Result<Self, TlogError> {
        let kv = v.get("kindVersion");
        let proof = match v.get("inclusionProof") {
            None | Some(Value::Null) => None,
            Some(p) => Some(Proof {
                log_index: u64::try_from(int(p.get("logIndex"), "inclusionProof.logIndex")?)
                    .map_err(|_| TlogError::Malformed("negative inclusionProof.logIndex".into()))?,
                root_hash: b64(p.get("rootHash"), "inclusionProof.rootHash")?,
                tree_size: u64::try_from(int(p.get("treeSize"), "inclusionProof.treeSize")?)
                    .map_err(|_| TlogError::Malformed("negative inclusionProof.treeSize".into()))?,
                hashes: p
                    .get("hashes")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|h| b64(Some(h), "inclusionProof.hashes"))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .transpose()?
                    .unwrap_or_default(),
                checkpoint: p
                    .get("checkpoint")
                    .and_then(|c| c.get("envelope"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }),
        };
        Ok(Self {
            log_index: int(v.get("logIndex"), "logIndex")?,
            log_id: b64(v.get("logId").and_then(|l| l.get("keyId")), "logId.keyId")?,
            kind: kv
                .and_then(|k| k.get("kind"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            version: kv
                .and_then(|k| k.get("version"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            integrated_time: int(v.get("integratedTime"), "integratedTime")?,
            set: v
                .get("inclusionPromise")
                .and_then(|p| p.get("signedEntryTimestamp"))
                .map(|s| b64(Some(s), "inclusionPromise.signedEntryTimestamp"))
                .transpose()?,
            proof,
            body: b64(v.get("canonicalizedBody"), "canonicalizedBody")?,
        })
    }

    /// The log that wrote the entry, if the trusted root names it and its key was valid then.
    pub fn log<'r>(&self, root: &'r TrustRoot) -> Result<&'r LogKey, TlogError> {
        let log = root
            .tlog(&self.log_id)
            .ok_or_else(|| TlogError::UnknownLog {
                log_id: hex::encode(&self.log_id),
                root: root.source.clone(),
            })?;
        if !log.valid_for.contains(self.integrated_time) {
            return Err(TlogError::KeyNotValid {
                log: log.base_url.clone(),
                at: crate::formats::x509::fmt_time(self.integrated_time),
            });
        }
        Ok(log)
    }

    /// The SET: the log's signature over the canonical JSON of
    /// `{body, integratedTime, logID, logIndex}` (RFC 8785 key order). It makes the integrated
    /// time trustworthy.
    pub fn verify_set(&self, log: &LogKey) -> Result<String, TlogError> {
        let set = self.set.as_ref().ok_or(TlogError::NoPromise)?;
        let canonical = format!(
            r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
            B64.encode(&self.body),
            self.integrated_time,
            hex::encode(&self.log_id),
            self.log_index
        );
        verify_with_spki(&log.spki, set, canonical.as_bytes()).map_err(|e| {
            TlogError::BadPromise {
                log: log.base_url.clone(),
                detail: e.to_string(),
            }
        })?;
        Ok(format!(
            "signed entry timestamp by {} verifies: entry {} integrated at {}",
            log.base_url,
            self.log_index,
            crate::formats::x509::fmt_time(self.integrated_time)
        ))
    }

    /// The inclusion proof: the checkpoint is signed by the log's key, names the proof's root
    /// hash and tree size, and the RFC 6962 audit path leads from the entry to that root.
    pub fn verify_inclusion(&self, log: &LogKey) -> Result<String, TlogError> {
        let bad = TlogError::BadProof;
        let p = self.proof.as_ref().ok_or(TlogError::NoProof)?;
        if p.checkpoint.is_empty() {
            return Err(bad("inclusion proof has no checkpoint".into()));
        }
        let key = sigstore::crypto::CosignVerificationKey::try_from_der(&log.spki)
            .map_err(|e| bad(format!("unusable log key: {e}")))?;
        let checkpoint: sigstore::rekor::models::checkpoint::SignedCheckpoint =
            serde_json::from_value(Value::String(p.checkpoint.clone()))
                .map_err(|e| bad(format!("malformed checkpoint: {e}")))?;
        checkpoint
            .verify_signature(&key)
            .map_err(|_| bad(format!("checkpoint is not signed by {}", log.base_url)))?;
        if checkpoint.note.hash.as_slice() != p.root_hash.as_slice()
            || checkpoint.note.size != p.tree_size
        {
            return Err(bad(format!(
                "checkpoint (size {}, root {}) does not match the proof (size {}, root {})",
                checkpoint.note.size,
                hex::encode(checkpoint.note.hash),
                p.tree_size,
                hex::encode(&p.root_hash)
            )));
        }
        let root: [u8; 32] = p
            .root_hash
            .as_slice()
            .try_into()
            .map_err(|_| bad("root hash is not 32 bytes".into()))?;
        let hashes = p
            .hashes
            .iter()
            .map(|h| <[u8; 32]>::try_from(h.as_slice()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad("a proof hash is not 32 bytes".into()))?;
        let index = i64::try_from(p.log_index).map_err(|_| bad("log index too large".into()))?;
        sigstore::rekor::models::InclusionProof::new(
            index,
            root,
            p.tree_size,
            hashes,
            Some(checkpoint),
        )
        .verify(&self.body, &key)
        .map_err(|e| {
            bad(format!(
                "inclusion proof does not lead to the checkpoint root: {e}"
            ))
        })?;
        Ok(format!(
            "entry is leaf {} of a tree of {} whose root is in a checkpoint signed by {}",
            p.log_index, p.tree_size, log.base_url
        ))
    }

    /// The entry body records this envelope and this certificate (dsse 0.0.1, intoto 0.0.2).
    pub fn check_body(&self, envelope: &Envelope, leaf: &Certificate) -> Result<String, TlogError> {
        let bad = TlogError::BodyMismatch;
        let body: Value = serde_json::from_slice(&self.body)
            .map_err(|e| bad(format!("entry body is not JSON: {e}")))?;
        let payload = envelope
            .payload_bytes()
            .map_err(|e| bad(format!("envelope payload: {e}")))?;
        let payload_hash = hex::encode(Sha256::digest(&payload));
        let sigs: Vec<Vec<u8>> = envelope
            .signatures
            .iter()
            .map(|s| B64.decode(s.sig.trim()).unwrap_or_default())
            .collect();
        let same_cert = |b64_pem: Option<&str>| -> bool {
            b64_pem
                .and_then(|s| B64.decode(s.trim()).ok())
                .and_then(|pem| x509_cert::Certificate::load_pem_chain(&pem).ok())
                .and_then(|c| c.into_iter().next())
                .and_then(|c| x509_cert::der::Encode::to_der(&c).ok())
                .is_some_and(|der| der == leaf.der())
        };
        let (hash, recorded): (Option<&Value>, Vec<(Vec<u8>, bool)>) = match (
            self.kind.as_str(),
            self.version.as_str(),
        ) {
            ("dsse", "0.0.1") => {
                let spec = body.get("spec");
                let recorded = spec
                    .and_then(|s| s.get("signatures"))
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|s| {
                                (
                                    s.get("signature")
                                        .and_then(Value::as_str)
                                        .and_then(|x| B64.decode(x.trim()).ok())
                                        .unwrap_or_default(),
                                    same_cert(s.get("verifier").and_then(Value::as_str)),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (spec.and_then(|s| s.get("payloadHash")), recorded)
            }
            ("intoto", "0.0.2") => {
                let content = body.get("spec").and_then(|s| s.get("content"));
                let recorded = content
                    .and_then(|c| c.get("envelope"))
                    .and_then(|e| e.get("signatures"))
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|s| {
                                // intoto 0.0.2 stores the signature base64 twice over.
                                let once = s
                                    .get("sig")
                                    .and_then(Value::as_str)
                                    .and_then(|x| B64.decode(x.trim()).ok())
                                    .unwrap_or_default();
                                let twice = std::str::from_utf8(&once)
                                    .ok()
                                    .and_then(|x| B64.decode(x.trim()).ok());
                                (
                                    if sigs.contains(&once) {
                                        once
                                    } else {
                                        twice.unwrap_or(once)
                                    },
                                    same_cert(s.get("publicKey").and_then(Value::as_str)),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (content.and_then(|c| c.get("payloadHash")), recorded)
            }
            (k, v) => {
                return Err(bad(format!(
                    "entry kind {k} {v} cannot record a DSSE envelope; expected dsse 0.0.1 or intoto 0.0.2"
                )));
            }
        };
        let alg = hash
            .and_then(|h| h.get("algorithm"))
            .and_then(Value::as_str);
        let value = hash.and_then(|h| h.get("value")).and_then(Value::as_str);
        if alg != Some("sha256") || value != Some(payload_hash.as_str()) {
            return Err(bad(format!(
                "entry records payload hash {}:{}, but the envelope's payload is sha256:{payload_hash}",
                alg.unwrap_or("?"),
                value.unwrap_or("?")
            )));
        }
        if recorded.len() != sigs.len()
            || !sigs
                .iter()
                .all(|s| recorded.iter().any(|(r, cert)| r == s && *cert))
        {
            return Err(bad(
                "entry records other signatures or another certificate than the bundle".into(),
            ));
        }
        Ok(format!(
            "{} {} entry records this payload (sha256:{}), signature and certificate",
            self.kind,
            self.version,
            payload_hash.get(..16).unwrap_or(&payload_hash)
        ))
    }
}

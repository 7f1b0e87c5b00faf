//! Rekor API v1: log the DSSE envelope as a `dsse` 0.0.1 entry (as sigstore-python 4.x and so
//! model_signing log DSSE bundles) and turn the answer into the protobuf-specs
//! `TransparencyLogEntry` JSON a bundle v0.3 carries.
//!
//! Rekor answers with hex log ids and hashes and integer indices; the bundle wants base64 bytes
//! and decimal strings. Missing inclusion proofs or SETs are refused: a bundle without them would
//! not verify offline.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Error;
use crate::formats::dsse::Envelope;

const SERVICE: &str = "Rekor";
/// The entries path below the Rekor base URL.
pub const ENTRIES_PATH: &str = "/api/v1/log/entries";
/// Most hashes accepted in an inclusion proof (a log of 2^64 entries needs 64).
const MAX_PROOF_HASHES: usize = 64;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogEntry {
    body: String,
    integrated_time: i64,
    #[serde(rename = "logID")]
    log_id: String,
    log_index: u64,
    verification: Option<Verification>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Verification {
    inclusion_proof: Option<InclusionProof>,
    signed_entry_timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionProof {
    checkpoint: String,
    hashes: Vec<String>,
    log_index: u64,
    root_hash: String,
    tree_size: u64,
}

/// A logged entry: the bundle's tlog entry JSON and the facts the command reports.
pub struct Logged {
    /// `TransparencyLogEntry` in protobuf-specs JSON.
    pub entry: Value,
    /// Log index.
    pub log_index: u64,
    /// Integrated time, Unix seconds.
    pub integrated_time: i64,
}

fn bad(detail: impl Into<String>) -> Error {
    Error::BadResponse {
        service: SERVICE,
        detail: detail.into(),
    }
}

fn hex_to_b64(what: &str, h: &str) -> Result<String, Error> {
    hex::decode(h)
        .map(|b| STANDARD.encode(b))
        .map_err(|_| bad(format!("{what} is not hex")))
}

/// The proposed entry: the envelope JSON and the certificate as base64 PEM.
fn proposed(envelope: &Envelope, cert_der: &[u8]) -> Result<Value, Error> {
    let envelope_json =
        serde_json::to_string(envelope).map_err(|e| Error::Local(format!("envelope JSON: {e}")))?;
    let b64 = STANDARD.encode(cert_der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    Ok(json!({
        "kind": "dsse",
        "apiVersion": "0.0.1",
        "spec": {"proposedContent": {
            "envelope": envelope_json,
            "verifiers": [STANDARD.encode(pem)],
        }}
    }))
}

/// What the logged body must record: the payload's SHA-256 (hex) and the envelope's signatures
/// (base64), so a log that answers with another entry is caught before the bundle is written.
struct Expected {
    payload_sha256: String,
    signatures: Vec<String>,
}

impl Expected {
    fn of(envelope: &Envelope) -> Result<Self, Error> {
        let payload = envelope
            .payload_bytes()
            .map_err(|e| Error::Local(e.to_string()))?;
        Ok(Self {
            payload_sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&payload)),
            signatures: envelope.signatures.iter().map(|s| s.sig.clone()).collect(),
        })
    }

    fn check(&self, body: &Value) -> Result<(), Error> {
        let spec = body
            .get("spec")
            .ok_or_else(|| bad("an entry without spec"))?;
        let hash = spec
            .pointer("/payloadHash/value")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if hash != self.payload_sha256 {
            return Err(bad("an entry for another payload"));
        }
        let sigs: Vec<&str> = spec
            .get("signatures")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.get("signature").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        if sigs
            != self
                .signatures
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        {
            return Err(bad("an entry with other signatures"));
        }
        Ok(())
    }
}

/// Converts Rekor's answer (`{uuid: entry}`) into the bundle's tlog entry.
fn to_bundle_entry(answer: &[u8], expected: &Expected) -> Result<Logged, Error> {
    let map: std::collections::BTreeMap<String, LogEntry> =
        serde_json::from_slice(answer).map_err(|e| bad(format!("not a log entry answer: {e}")))?;
    let mut entries = map.into_values();
    let (Some(e), None) = (entries.next(), entries.next()) else {
        return Err(bad("not exactly one entry"));
    };
    let v = e
        .verification
        .ok_or_else(|| bad("no verification (inclusion proof and SET)"))?;
    let set = v
        .signed_entry_timestamp
        .ok_or_else(|| bad("no signed entry timestamp"))?;
    let proof = v.inclusion_proof.ok_or_else(|| bad("no inclusion proof"))?;
    if proof.hashes.len() > MAX_PROOF_HASHES {
        return Err(bad("an inclusion proof with too many hashes"));
    }
    if proof.log_index >= proof.tree_size {
        return Err(bad("an inclusion proof whose index is outside the tree"));
    }
    let body = STANDARD
        .decode(&e.body)
        .map_err(|_| bad("a body that is not base64"))?;
    let kind: Value = serde_json::from_slice(&body).map_err(|_| bad("a body that is not JSON"))?;
    if kind.get("kind").and_then(Value::as_str) != Some("dsse") {
        return Err(bad("an entry that is not of kind dsse"));
    }
    expected.check(&kind)?;
    let hashes = proof
        .hashes
        .iter()
        .map(|h| hex_to_b64("a proof hash", h))
        .collect::<Result<Vec<_>, _>>()?;
    let entry = json!({
        "logIndex": e.log_index.to_string(),
        "logId": {"keyId": hex_to_b64("logID", &e.log_id)?},
        "kindVersion": {"kind": "dsse", "version": "0.0.1"},
        "integratedTime": e.integrated_time.to_string(),
        "inclusionPromise": {"signedEntryTimestamp": set},
        "inclusionProof": {
            "logIndex": proof.log_index.to_string(),
            "rootHash": hex_to_b64("rootHash", &proof.root_hash)?,
            "treeSize": proof.tree_size.to_string(),
            "hashes": hashes,
            "checkpoint": {"envelope": proof.checkpoint},
        },
        "canonicalizedBody": e.body,
    });
    Ok(Logged {
        entry,
        log_index: e.log_index,
        integrated_time: e.integrated_time,
    })
}

/// Logs the envelope signed by the certificate's key; returns the bundle's tlog entry.
pub fn log_dsse(base_url: &str, envelope: &Envelope, cert_der: &[u8]) -> Result<Logged, Error> {
    let body = proposed(envelope, cert_der)?;
    let expected = Expected::of(envelope)?;
    let answer = super::post_json(SERVICE, base_url, ENTRIES_PATH, None, &body)?;
    to_bundle_entry(&answer, &expected)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn expected() -> Expected {
        Expected {
            payload_sha256: "aa".into(),
            signatures: vec!["c2ln".into()],
        }
    }

    fn answer(proof: Value) -> Vec<u8> {
        let body = STANDARD.encode(
            br#"{"kind":"dsse","apiVersion":"0.0.1","spec":{"payloadHash":{"algorithm":"sha256","value":"aa"},"signatures":[{"signature":"c2ln","verifier":"x"}]}}"#,
        );
        json!({"abc": {"body": body, "integratedTime": 1700000000, "logID": "00ff", "logIndex": 7,
            "verification": {"inclusionProof": proof, "signedEntryTimestamp": "c2V0"}}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn converts_rekor_hex_and_integers_to_bundle_base64_and_strings() {
        let a = answer(
            json!({"checkpoint": "cp\n", "hashes": ["0102"], "logIndex": 7,
            "rootHash": "ff", "treeSize": 9}),
        );
        let l = to_bundle_entry(&a, &expected()).unwrap();
        assert_eq!(l.log_index, 7);
        assert_eq!(l.entry["logId"]["keyId"], "AP8=");
        assert_eq!(l.entry["logIndex"], "7");
        assert_eq!(l.entry["inclusionProof"]["hashes"][0], "AQI=");
        assert_eq!(l.entry["inclusionProof"]["treeSize"], "9");
        assert_eq!(l.entry["inclusionPromise"]["signedEntryTimestamp"], "c2V0");
    }

    #[test]
    fn refuses_entries_without_proof_or_with_an_index_outside_the_tree() {
        let a = answer(json!({"checkpoint": "cp\n", "hashes": [], "logIndex": 9,
            "rootHash": "ff", "treeSize": 9}));
        assert!(to_bundle_entry(&a, &expected()).is_err());
        let no_proof =
            json!({"x": {"body": "e30=", "integratedTime": 1, "logID": "00", "logIndex": 0}});
        assert!(to_bundle_entry(no_proof.to_string().as_bytes(), &expected()).is_err());
    }

    #[test]
    fn refuses_an_entry_for_another_payload_or_signature() {
        let a = answer(json!({"checkpoint": "cp\n", "hashes": [], "logIndex": 0,
            "rootHash": "ff", "treeSize": 1}));
        let other_payload = Expected {
            payload_sha256: "bb".into(),
            ..expected()
        };
        assert!(to_bundle_entry(&a, &other_payload).is_err());
        let other_sig = Expected {
            signatures: vec!["b3RoZXI=".into()],
            ..expected()
        };
        assert!(to_bundle_entry(&a, &other_sig).is_err());
        assert!(to_bundle_entry(&a, &expected()).is_ok());
    }
}

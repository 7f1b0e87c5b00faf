//! DSSE envelopes: the pre-authentication encoding (PAE) that is signed, and the envelope JSON.
//!
//! Verification always runs over the exact payload bytes carried in the envelope; nothing is
//! re-serialized between the signature check and the statement parse.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// Payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Errors decoding an envelope.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The payload or a signature is not valid base64.
    #[error("DSSE envelope {what} is not valid base64")]
    Base64 {
        /// Which field.
        what: &'static str,
    },
    /// A payload type other than in-toto.
    #[error("DSSE payloadType is `{0}`, expected `{IN_TOTO_PAYLOAD_TYPE}`")]
    PayloadType(String),
    /// No signature in the envelope.
    #[error("DSSE envelope carries no signature")]
    NoSignature,
}

/// Reads `keyid` as the reference clients write it: a string, an empty string, `null` (every
/// model_signing release before 1.1.0) or absent all become a string (empty when not given).
fn keyid_or_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// One signature in an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// Base64 signature (ECDSA: ASN.1 DER).
    pub sig: String,
    /// Key id (model_signing 1.1 writes an empty string, older releases `null`; the bundle's
    /// hint names the key). Absent, `null` and empty all read as empty.
    #[serde(default, deserialize_with = "keyid_or_empty")]
    pub keyid: String,
}

/// A DSSE envelope as carried in a Sigstore bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Base64 payload.
    pub payload: String,
    /// Payload media type.
    pub payload_type: String,
    /// Signatures over PAE(payloadType, payload).
    pub signatures: Vec<Signature>,
}

/// DSSE v1 pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// The pre-authentication encoding of model_signing 0.2 (before 1.0), kept so that signatures it
/// wrote still verify, as model_signing 1.x does (`pae_compat`): the header starts `DSSEV1`
/// and the payload is embedded as Python's `repr` of the bytes (`b'...'` with escapes), because
/// bytes were formatted into a string. Such signatures always hash with SHA-256, whatever the
/// curve. Never used for signing.
pub fn pae_v02_compat(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEV1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(python_bytes_repr(payload).as_bytes());
    out
}

/// Python's `repr(bytes)`: `b'...'`, or `b"..."` when the bytes hold `'` but no `"`.
fn python_bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut s = String::with_capacity(b.len() + 3);
    s.push('b');
    s.push(char::from(quote));
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            c if c == quote => {
                s.push('\\');
                s.push(char::from(c));
            }
            0x20..=0x7e => s.push(char::from(c)),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push(char::from(quote));
    s
}

/// Which bytes a verified signature covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedForm {
    /// DSSE v1 PAE, hashed with the key's curve hash: every current writer.
    Pae,
    /// model_signing 0.2's PAE ([`pae_v02_compat`]) with SHA-256.
    V02Compat,
}

impl Envelope {
    /// Verifies the envelope's signatures with `key`: true DSSE PAE first, then the
    /// model_signing 0.2 form. Returns which form verified, or `None` when no signature does.
    /// Checks the payload type and that there is a signature first.
    pub fn verify_with_key(
        &self,
        key: &crate::keys::PublicKey,
    ) -> Result<Option<SignedForm>, Error> {
        let (pae, sigs) = self.signed_parts()?;
        if sigs.iter().any(|s| key.verify(&pae, s)) {
            return Ok(Some(SignedForm::Pae));
        }
        let payload = self.payload_bytes()?;
        let compat = pae_v02_compat(&self.payload_type, &payload);
        if sigs.iter().any(|s| key.verify_sha256(&compat, s)) {
            return Ok(Some(SignedForm::V02Compat));
        }
        Ok(None)
    }

    /// Builds an envelope over an in-toto payload with one signature.
    pub fn new(payload: &[u8], signature: &[u8]) -> Self {
        Self {
            payload: STANDARD.encode(payload),
            payload_type: IN_TOTO_PAYLOAD_TYPE.into(),
            signatures: vec![Signature {
                sig: STANDARD.encode(signature),
                keyid: String::new(),
            }],
        }
    }

    /// The decoded payload bytes.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, Error> {
        STANDARD
            .decode(self.payload.trim())
            .map_err(|_| Error::Base64 { what: "payload" })
    }

    /// Checks the payload type and returns (PAE bytes, decoded signatures).
    pub fn signed_parts(&self) -> Result<(Vec<u8>, Vec<Vec<u8>>), Error> {
        if self.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(Error::PayloadType(self.payload_type.clone()));
        }
        if self.signatures.is_empty() {
            return Err(Error::NoSignature);
        }
        let payload = self.payload_bytes()?;
        let sigs = self
            .signatures
            .iter()
            .map(|s| {
                STANDARD
                    .decode(s.sig.trim())
                    .map_err(|_| Error::Base64 { what: "signature" })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((pae(&self.payload_type, &payload), sigs))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn keyid_null_absent_and_empty_are_accepted() {
        for sig in [
            r#"{"sig":"AA==","keyid":null}"#,
            r#"{"sig":"AA=="}"#,
            r#"{"sig":"AA==","keyid":""}"#,
        ] {
            let env = format!(
                r#"{{"payload":"e30=","payloadType":"{IN_TOTO_PAYLOAD_TYPE}","signatures":[{sig}]}}"#
            );
            let e: Envelope = serde_json::from_str(&env).unwrap();
            assert_eq!(e.signatures[0].keyid, "");
        }
    }

    #[test]
    fn python_repr_matches_cpython() {
        // Values from CPython 3.11 `repr(bytes)`.
        assert_eq!(
            python_bytes_repr(b"{\n  \"a\": 1\n}"),
            r#"b'{\n  "a": 1\n}'"#
        );
        assert_eq!(python_bytes_repr(b"it's"), r#"b"it's""#);
        assert_eq!(python_bytes_repr(b"'\""), r#"b'\'"'"#);
        assert_eq!(
            python_bytes_repr("é\\\t\r\x7f".as_bytes()),
            r"b'\xc3\xa9\\\t\r\x7f'"
        );
    }

    #[test]
    fn wrong_payload_type_is_refused() {
        let mut e = Envelope::new(b"{}", b"sig");
        e.payload_type = "application/json".into();
        assert!(matches!(e.signed_parts(), Err(Error::PayloadType(_))));
    }

    #[test]
    fn envelope_without_signature_is_refused() {
        let mut e = Envelope::new(b"{}", b"sig");
        e.signatures.clear();
        assert!(matches!(e.signed_parts(), Err(Error::NoSignature)));
    }

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }
}

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

/// One signature in an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// Base64 signature (ECDSA: ASN.1 DER).
    pub sig: String,
    /// Key id (model_signing writes an empty string; the bundle's hint names the key).
    #[serde(default)]
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

impl Envelope {
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
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }
}

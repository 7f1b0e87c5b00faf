//! Fulcio API v2 `signingCert`: a short-lived certificate for the ephemeral key.
//!
//! We send a `publicKeyRequest` (the SPKI PEM and a proof of possession: an ECDSA signature over
//! the identity the token certifies, `email` or `sub`), as cosign and sigstore-go do;
//! sigstore-python sends a CSR instead. Fulcio accepts both. Only the embedded-SCT answer is
//! usable: a bundle v0.3 has no place for a detached SCT.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePublicKey as _;
use serde::Deserialize;
use serde_json::json;
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use super::{Error, IdentityToken};
use crate::keys::PrivateKey;

const SERVICE: &str = "Fulcio";
/// The v2 path below the Fulcio base URL.
pub const SIGNING_CERT_PATH: &str = "/api/v2/signingCert";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    signed_certificate_embedded_sct: Option<Chained>,
    signed_certificate_detached_sct: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Chained {
    chain: Chain,
}

#[derive(Deserialize)]
struct Chain {
    certificates: Vec<String>,
}

/// Decodes the first `CERTIFICATE` block of a PEM text.
fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let start = pem.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let rest = pem.get(start..)?;
    let end = rest.find("-----END CERTIFICATE-----")?;
    let b64: String = rest
        .get(..end)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(b64).ok()
}

/// A certificate Fulcio issued for our key.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The leaf, DER.
    pub der: Vec<u8>,
    /// The identity it certifies (its first URI or email SAN), which is what verifiers match:
    /// it can differ from the token's `sub` (GitHub Actions: the workflow URL).
    pub identity: Option<String>,
}

/// The first URI or email subject alternative name of a certificate.
fn san_identity(cert: &Certificate) -> Option<String> {
    let (_, san) = cert
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
        .ok()
        .flatten()?;
    san.0.iter().find_map(|n| match n {
        GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
        GeneralName::Rfc822Name(e) => Some(e.to_string()),
        _ => None,
    })
}

/// Requests a certificate for `key`'s public key.
pub fn request_certificate(
    base_url: &str,
    token: &IdentityToken,
    key: &PrivateKey,
) -> Result<Issued, Error> {
    let public = key.public_key().map_err(|e| Error::Local(e.to_string()))?;
    let public_pem = public.to_pem().map_err(|e| Error::Local(e.to_string()))?;
    let proof: p256::ecdsa::Signature = key
        .signing_key()
        .try_sign(token.identity.as_bytes())
        .map_err(|e| Error::Local(e.to_string()))?;
    let body = json!({
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": public_pem},
            "proofOfPossession": STANDARD.encode(proof.to_der().as_bytes()),
        }
    });
    let answer = super::post_json(
        SERVICE,
        base_url,
        SIGNING_CERT_PATH,
        Some(token.bearer()),
        &body,
    )?;
    let bad = |detail: &str| Error::BadResponse {
        service: SERVICE,
        detail: detail.to_owned(),
    };
    let a: Answer =
        serde_json::from_slice(&answer).map_err(|_| bad("not a signingCert JSON answer"))?;
    let chained = match (
        a.signed_certificate_embedded_sct,
        a.signed_certificate_detached_sct,
    ) {
        (Some(c), _) => c,
        (None, Some(_)) => {
            return Err(bad(
                "a certificate with a detached SCT, which a bundle v0.3 cannot carry",
            ));
        }
        (None, None) => return Err(bad("no certificate chain")),
    };
    let leaf_pem = chained
        .chain
        .certificates
        .first()
        .ok_or_else(|| bad("an empty certificate chain"))?;
    let leaf = pem_to_der(leaf_pem).ok_or_else(|| bad("a leaf that is not PEM"))?;
    let cert = Certificate::from_der(&leaf).map_err(|_| bad("a leaf that is not X.509 DER"))?;
    // The leaf must certify our key, or the bundle would never verify.
    let spki = public
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| Error::Local(e.to_string()))?;
    let theirs = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|_| bad("a leaf whose public key does not encode"))?;
    if theirs != spki.as_bytes() {
        return Err(bad("a certificate for another public key"));
    }
    Ok(Issued {
        identity: san_identity(&cert),
        der: leaf,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decodes_the_first_pem_certificate_only() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nAQID\nBA==\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nBQ==\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_to_der(pem).unwrap(), vec![1, 2, 3, 4]);
        assert!(pem_to_der("no pem").is_none());
    }
}

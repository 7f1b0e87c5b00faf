//! The ECDSA signing and verifying keys of each supported curve, one enum each, hashing with the
//! curve's own hash (SHA-256, SHA-384, SHA-512).

use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};

use super::Curve;

/// An ECDSA verifying key on one of the supported curves.
///
/// It implements the `signature` crate's `Verifier` for P-256 signatures and `EncodePublicKey`
/// only so that older call sites keep compiling; new code calls [`PublicKey::verify`], which
/// handles every curve.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyingKey {
    /// P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// P-384.
    P384(p384::ecdsa::VerifyingKey),
    /// P-521.
    P521(p521::ecdsa::VerifyingKey),
}

impl VerifyingKey {
    /// The key's curve.
    pub fn curve(&self) -> Curve {
        match self {
            VerifyingKey::P256(_) => Curve::P256,
            VerifyingKey::P384(_) => Curve::P384,
            VerifyingKey::P521(_) => Curve::P521,
        }
    }

    /// Parses a DER SubjectPublicKeyInfo on any supported curve.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, String> {
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(VerifyingKey::P256(k));
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(VerifyingKey::P384(k));
        }
        p521::ecdsa::VerifyingKey::from_public_key_der(der)
            .map(VerifyingKey::P521)
            .map_err(|e| e.to_string())
    }

    /// Parses a `PUBLIC KEY` PEM on any supported curve.
    pub(super) fn from_spki_pem(pem: &str) -> Result<Self, String> {
        let (label, doc) = pkcs8::Document::from_pem(pem).map_err(|e| e.to_string())?;
        if label != "PUBLIC KEY" {
            return Err(format!("unexpected PEM label `{label}`"));
        }
        Self::from_spki_der(doc.as_bytes())
    }

    /// True when `sig` (DER, or fixed-size `r || s`) verifies over `msg` with the curve's hash.
    pub(super) fn check(&self, msg: &[u8], sig: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier as _;
        match self {
            VerifyingKey::P256(k) => p256::ecdsa::Signature::from_der(sig)
                .or_else(|_| p256::ecdsa::Signature::from_slice(sig))
                .is_ok_and(|s| k.verify(msg, &s).is_ok()),
            VerifyingKey::P384(k) => p384::ecdsa::Signature::from_der(sig)
                .or_else(|_| p384::ecdsa::Signature::from_slice(sig))
                .is_ok_and(|s| k.verify(msg, &s).is_ok()),
            VerifyingKey::P521(k) => p521::ecdsa::Signature::from_der(sig)
                .or_else(|_| p521::ecdsa::Signature::from_slice(sig))
                .is_ok_and(|s| k.verify(msg, &s).is_ok()),
        }
    }
}

impl p256::ecdsa::signature::Verifier<p256::ecdsa::Signature> for VerifyingKey {
    /// P-256 signatures only (older call sites); [`PublicKey::verify`] handles every curve.
    fn verify(
        &self,
        msg: &[u8],
        signature: &p256::ecdsa::Signature,
    ) -> Result<(), p256::ecdsa::Error> {
        match self {
            VerifyingKey::P256(k) => k.verify(msg, signature),
            _ => Err(p256::ecdsa::Error::new()),
        }
    }
}

impl EncodePublicKey for VerifyingKey {
    fn to_public_key_der(&self) -> pkcs8::spki::Result<pkcs8::Document> {
        match self {
            VerifyingKey::P256(k) => k.to_public_key_der(),
            VerifyingKey::P384(k) => k.to_public_key_der(),
            VerifyingKey::P521(k) => k.to_public_key_der(),
        }
    }
}

impl From<p256::ecdsa::VerifyingKey> for VerifyingKey {
    fn from(k: p256::ecdsa::VerifyingKey) -> Self {
        VerifyingKey::P256(k)
    }
}

/// An ECDSA signing key on one of the supported curves.
#[derive(Clone)]
#[non_exhaustive]
pub enum SigningKey {
    /// P-256.
    P256(p256::ecdsa::SigningKey),
    /// P-384.
    P384(p384::ecdsa::SigningKey),
    /// P-521.
    P521(p521::ecdsa::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, <redacted>)", self.curve())
    }
}

impl SigningKey {
    /// The key's curve.
    pub fn curve(&self) -> Curve {
        match self {
            SigningKey::P256(_) => Curve::P256,
            SigningKey::P384(_) => Curve::P384,
            SigningKey::P521(_) => Curve::P521,
        }
    }

    /// The matching verifying key.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::P256(k) => VerifyingKey::P256(*k.verifying_key()),
            SigningKey::P384(k) => VerifyingKey::P384(*k.verifying_key()),
            SigningKey::P521(k) => VerifyingKey::P521(*k.verifying_key()),
        }
    }

    /// Parses a PKCS#8 `PrivateKeyInfo` (DER) on any supported curve.
    pub(super) fn from_pkcs8_der(der: &[u8]) -> Result<Self, String> {
        if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Ok(SigningKey::P256(k));
        }
        if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Ok(SigningKey::P384(k));
        }
        p521::ecdsa::SigningKey::from_pkcs8_der(der)
            .map(SigningKey::P521)
            .map_err(|e| e.to_string())
    }

    /// Parses a SEC1 `EC PRIVATE KEY` PEM on any supported curve.
    pub(super) fn from_sec1_pem(pem: &str) -> Result<Self, String> {
        if let Ok(k) = p256::SecretKey::from_sec1_pem(pem) {
            return Ok(SigningKey::P256(k.into()));
        }
        if let Ok(k) = p384::SecretKey::from_sec1_pem(pem) {
            return Ok(SigningKey::P384(k.into()));
        }
        p521::SecretKey::from_sec1_pem(pem)
            .map(|k| SigningKey::P521(k.into()))
            .map_err(|e| e.to_string())
    }

    /// ECDSA over `msg` with the curve's hash, ASN.1 DER encoded (as DSSE envelopes carry it).
    pub fn sign_der(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        use p256::ecdsa::signature::Signer as _;
        let e = |e: p256::ecdsa::Error| e.to_string();
        Ok(match self {
            SigningKey::P256(k) => {
                let s: p256::ecdsa::Signature = k.try_sign(msg).map_err(e)?;
                s.to_der().as_bytes().to_vec()
            }
            SigningKey::P384(k) => {
                let s: p384::ecdsa::Signature = k.try_sign(msg).map_err(e)?;
                s.to_der().as_bytes().to_vec()
            }
            SigningKey::P521(k) => {
                let s: p521::ecdsa::Signature = k.try_sign(msg).map_err(e)?;
                s.to_der().as_bytes().to_vec()
            }
        })
    }

    pub(super) fn to_pkcs8_pem(
        &self,
        password: Option<&str>,
    ) -> pkcs8::Result<pkcs8::der::zeroize::Zeroizing<String>> {
        match (self, password) {
            (SigningKey::P256(k), None) => k.to_pkcs8_pem(LineEnding::LF),
            (SigningKey::P384(k), None) => k.to_pkcs8_pem(LineEnding::LF),
            (SigningKey::P521(k), None) => k.to_pkcs8_pem(LineEnding::LF),
            (SigningKey::P256(k), Some(pw)) => k.to_pkcs8_encrypted_pem(pw, LineEnding::LF),
            (SigningKey::P384(k), Some(pw)) => k.to_pkcs8_encrypted_pem(pw, LineEnding::LF),
            (SigningKey::P521(k), Some(pw)) => k.to_pkcs8_encrypted_pem(pw, LineEnding::LF),
        }
    }
}

impl p256::ecdsa::signature::Signer<p256::ecdsa::Signature> for SigningKey {
    /// P-256 signatures only (older call sites); [`SigningKey::sign_der`] handles every curve.
    fn try_sign(&self, msg: &[u8]) -> Result<p256::ecdsa::Signature, p256::ecdsa::Error> {
        match self {
            SigningKey::P256(k) => k.try_sign(msg),
            _ => Err(p256::ecdsa::Error::new()),
        }
    }
}

impl From<p256::ecdsa::SigningKey> for SigningKey {
    fn from(k: p256::ecdsa::SigningKey) -> Self {
        SigningKey::P256(k)
    }
}

impl From<p384::ecdsa::SigningKey> for SigningKey {
    fn from(k: p384::ecdsa::SigningKey) -> Self {
        SigningKey::P384(k)
    }
}

impl From<p521::ecdsa::SigningKey> for SigningKey {
    fn from(k: p521::ecdsa::SigningKey) -> Self {
        SigningKey::P521(k)
    }
}

//! Sigstore bundle v0.3 (JSON) carrying a DSSE envelope: read with a size bound, written atomically.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::formats::dsse::Envelope;

/// Media type of the bundles this tool writes.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Media types accepted on read (v0.1 to v0.3).
pub const ACCEPTED_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
];
/// Largest bundle read: generous for statements over hundreds of thousands of shards, yet bounded.
pub const MAX_BUNDLE_SIZE: u64 = 64 * 1024 * 1024;

/// Errors reading or writing a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read signature {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bundle exceeds [`MAX_BUNDLE_SIZE`].
    #[error("signature {path} is larger than {MAX_BUNDLE_SIZE} bytes; it is not a Sigstore bundle")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// Not JSON, trailing bytes, or not shaped like a bundle.
    #[error(
        "{path} is not a Sigstore bundle: {detail}; pass the .sig/.json file written by `provenance sign` or `model_signing sign`"
    )]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Parser detail.
        detail: String,
    },
    /// A bundle without the key, certificate or chain needed to verify it.
    #[error("{path} has no verification material (public key hint, certificate or chain)")]
    NoVerificationMaterial {
        /// The file.
        path: PathBuf,
    },
    /// The bundle could not be written.
    #[error("cannot write signature {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    /// Exit-code class.
    pub fn class(&self) -> crate::Class {
        match self {
            Error::Write { .. } => crate::Class::Environment,
            Error::Read { source, .. }
                if source.kind() != std::io::ErrorKind::NotFound
                    && source.kind() != std::io::ErrorKind::PermissionDenied
                    && !is_not_regular(source) =>
            {
                crate::Class::Environment
            }
            _ => crate::Class::Input,
        }
    }
}

/// `verificationMaterial.publicKey`.
///
/// model_signing before 1.1 wrote the key itself here (`rawBytes`: base64 of the PEM, and
/// `keyDetails`) instead of a `hint`; such bundles are read, and the hint is derived from the
/// key (see [`Bundle::from_slice`]). The embedded key is never trusted: it only names the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyIdentifier {
    /// Key id hint (hex SHA-256 of the PEM public key).
    #[serde(default)]
    pub hint: String,
    /// Older bundles: the public key (base64 of PEM or DER SPKI). Never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_bytes: Option<String>,
    /// Older bundles: the key's algorithm (`PKIX_ECDSA_P384_SHA_384`). Never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_details: Option<String>,
}

impl PublicKeyIdentifier {
    /// The key named by `rawBytes` (PEM or DER SPKI), when the bundle carries one that parses.
    pub fn embedded_key(&self) -> Option<crate::keys::PublicKey> {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(self.raw_bytes.as_deref()?.trim())
            .ok()?;
        match std::str::from_utf8(&raw) {
            Ok(text) if text.trim_start().starts_with("-----BEGIN") => {
                crate::keys::public_key_from_pem(text).ok()
            }
            _ => crate::keys::PublicKey::from_spki_der(&raw).ok(),
        }
    }
}

/// A DER certificate, base64 in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCertificate {
    /// Base64 DER.
    pub raw_bytes: String,
}

/// `verificationMaterial.x509CertificateChain`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateChain {
    /// Leaf first.
    pub certificates: Vec<RawCertificate>,
}

/// The bundle's verification material.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    /// Key bundles: the key hint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyIdentifier>,
    /// Keyless bundles (v0.3): the leaf certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<RawCertificate>,
    /// Certificate bundles: the chain, leaf first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<CertificateChain>,
    /// Transparency log entries (kept as JSON).
    #[serde(default)]
    pub tlog_entries: Vec<Value>,
    /// RFC 3161 timestamps and the like (kept as JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<Value>,
}

/// A Sigstore bundle with a DSSE envelope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// Bundle media type.
    pub media_type: String,
    /// Key hint, certificate or chain, and log entries.
    pub verification_material: VerificationMaterial,
    /// The signed envelope.
    pub dsse_envelope: Envelope,
}

impl Bundle {
    /// A key bundle as model_signing writes it.
    pub fn for_key(envelope: Envelope, key_id: &str) -> Self {
        Self {
            media_type: BUNDLE_MEDIA_TYPE.into(),
            verification_material: VerificationMaterial {
                public_key: Some(PublicKeyIdentifier {
                    hint: key_id.to_owned(),
                    raw_bytes: None,
                    key_details: None,
                }),
                ..VerificationMaterial::default()
            },
            dsse_envelope: envelope,
        }
    }

    /// Parses bundle JSON (already size-bounded by the caller); `origin` names it in errors.
    pub fn from_slice(bytes: &[u8], origin: &Path) -> Result<Self, Error> {
        let malformed = |detail: String| Error::Malformed {
            path: origin.to_owned(),
            detail,
        };
        // serde_json rejects trailing non-whitespace bytes.
        let v: Value = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        let media_type = v
            .get("mediaType")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("no mediaType".into()))?;
        if !ACCEPTED_MEDIA_TYPES.contains(&media_type) {
            return Err(malformed(format!("unsupported mediaType `{media_type}`")));
        }
        if v.get("dsseEnvelope").is_none() {
            return Err(malformed(
                "no dsseEnvelope (message-signature bundles are not model signatures)".into(),
            ));
        }
        if v.get("verificationMaterial").is_none() {
            return Err(Error::NoVerificationMaterial {
                path: origin.to_owned(),
            });
        }
        let mut b: Bundle = serde_json::from_value(v).map_err(|e| malformed(e.to_string()))?;
        // Older model_signing: `publicKey.rawBytes` instead of a hint. Derive the hint (the key
        // id) so the bundle names its key as a current one does; a key that does not parse
        // leaves the hint empty (verification then names no key, and tries the trusted ones).
        if let Some(pk) = b.verification_material.public_key.as_mut()
            && pk.hint.is_empty()
            && let Some(key) = pk.embedded_key()
        {
            pk.hint = key.id().to_owned();
        }
        let vm = &b.verification_material;
        if vm.public_key.is_none()
            && vm.certificate.is_none()
            && vm.x509_certificate_chain.is_none()
        {
            return Err(Error::NoVerificationMaterial {
                path: origin.to_owned(),
            });
        }
        Ok(b)
    }

    /// Reads a bundle file with the size bound.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let bytes = read_bounded(path, MAX_BUNDLE_SIZE).map_err(|e| match e {
            BoundedReadError::TooLarge => Error::TooLarge {
                path: path.to_owned(),
            },
            BoundedReadError::Io(source) => Error::Read {
                path: path.to_owned(),
                source,
            },
        })?;
        Self::from_slice(&bytes, path)
    }

    /// Bundle JSON, pretty-printed as model_signing writes it.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Writes the bundle atomically (temp file + rename): a failure leaves no partial file.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        crate::io::write_atomic(path, &self.to_json(), Some(0o644), true).map_err(|source| {
            Error::Write {
                path: path.to_owned(),
                source,
            }
        })
    }
}

use crate::io::{BoundedReadError, is_not_regular, read_bounded};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn sample() -> Bundle {
        Bundle::for_key(Envelope::new(b"{}", b"sig"), "abc")
    }

    #[test]
    fn rejects_bundle_with_trailing_bytes() {
        let mut bytes = sample().to_json();
        bytes.extend_from_slice(b"garbage");
        assert!(matches!(
            Bundle::from_slice(&bytes, Path::new("x")),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn rejects_bundle_without_verification_material() {
        let mut v: Value = serde_json::from_slice(&sample().to_json()).unwrap();
        v["verificationMaterial"] = serde_json::json!({"tlogEntries": []});
        assert!(matches!(
            Bundle::from_slice(&serde_json::to_vec(&v).unwrap(), Path::new("x")),
            Err(Error::NoVerificationMaterial { .. })
        ));
    }

    #[test]
    fn raw_bytes_public_key_of_older_releases_gives_the_hint() {
        use base64::Engine as _;
        let key = crate::keys::PrivateKey::generate_curve(crate::keys::Curve::P384)
            .unwrap()
            .public_key()
            .unwrap();
        let mut v: Value = serde_json::from_slice(&sample().to_json()).unwrap();
        v["verificationMaterial"]["publicKey"] = serde_json::json!({
            "rawBytes": base64::engine::general_purpose::STANDARD.encode(key.to_pem().unwrap()),
            "keyDetails": "PKIX_ECDSA_P384_SHA_384",
        });
        v["dsseEnvelope"]["signatures"][0]["keyid"] = Value::Null;
        let b = Bundle::from_slice(&serde_json::to_vec(&v).unwrap(), Path::new("x")).unwrap();
        let pk = b.verification_material.public_key.unwrap();
        assert_eq!(pk.hint, key.id());
        assert_eq!(pk.key_details.as_deref(), Some("PKIX_ECDSA_P384_SHA_384"));
    }

    #[test]
    fn new_bundles_write_a_hint_and_an_empty_keyid_only() {
        let json = String::from_utf8(sample().to_json()).unwrap();
        assert!(json.contains(r#""keyid": """#), "{json}");
        assert!(
            !json.contains("rawBytes") && !json.contains("keyDetails"),
            "{json}"
        );
    }

    #[test]
    fn refuses_non_regular_files_as_input_errors() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("b.sig");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        for p in [fifo.as_path(), Path::new("/dev/zero"), dir.path()] {
            let e = Bundle::read(p).unwrap_err();
            assert_eq!(e.class(), crate::Class::Input, "{e}");
            assert!(e.to_string().contains("not a regular file"), "{e}");
        }
    }

    #[test]
    fn round_trips() {
        let b = sample();
        assert_eq!(Bundle::from_slice(&b.to_json(), Path::new("x")).unwrap(), b);
    }
}

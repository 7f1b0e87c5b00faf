//! X.509 certificates as data: parsing (DER, PEM, base64), the signer identity (SAN), the OIDC
//! issuer and SCT extensions Fulcio writes, key usage, and one certificate's signature by
//! another. Chain validation is `verify::x509`; the certificate signer is `sign::certificate`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rustls_pki_types::SignatureVerificationAlgorithm;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Any, Decode, Encode, Tag, TagNumber, Tagged};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

/// Fulcio's OIDC issuer extension (v2, a DER UTF8String).
pub const OID_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// Fulcio's legacy OIDC issuer extension (v1, raw bytes).
pub const OID_ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Embedded SCT list (RFC 6962).
pub const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Extended key usage: code signing.
pub const OID_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Largest certificate or chain file read.
pub const MAX_CERT_FILE_SIZE: u64 = 1024 * 1024;

/// Signature algorithms accepted in certificate chains.
static CHAIN_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA512,
    webpki::aws_lc_rs::ECDSA_P521_SHA256,
    webpki::aws_lc_rs::ECDSA_P521_SHA384,
    webpki::aws_lc_rs::ECDSA_P521_SHA512,
    webpki::aws_lc_rs::ED25519,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// Errors reading certificates or building a certificate signer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read certificate file {path}: {source}; check the path")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not a certificate (or not PEM/DER).
    #[error("{origin} holds no valid X.509 certificate: {detail}; pass PEM certificates")]
    Malformed {
        /// Where it came from.
        origin: String,
        /// What is wrong.
        detail: String,
    },
    /// The signing certificate does not certify the private key.
    #[error(
        "the signing certificate {path} is for another key than --private-key; pass the certificate issued for this key"
    )]
    KeyMismatch {
        /// The certificate file.
        path: PathBuf,
    },
    /// The private key could not be used.
    #[error(transparent)]
    Key(#[from] crate::keys::Error),
}

impl Error {
    /// Exit-code class.
    pub fn class(&self) -> crate::Class {
        match self {
            Error::Key(e) => e.class(),
            _ => crate::Class::Input,
        }
    }
}

/// A parsed X.509 certificate with its DER bytes.
#[derive(Clone, Debug)]
pub struct Certificate {
    pub(crate) der: Vec<u8>,
    pub(crate) cert: x509_cert::Certificate,
}

impl Certificate {
    /// Parses DER bytes.
    pub fn from_der(der: &[u8], origin: &str) -> Result<Self, Error> {
        let cert = x509_cert::Certificate::from_der(der).map_err(|e| Error::Malformed {
            origin: origin.to_owned(),
            detail: e.to_string(),
        })?;
        Ok(Self {
            der: der.to_vec(),
            cert,
        })
    }

    /// Parses a base64 DER certificate as bundles carry it.
    pub fn from_base64(b64: &str, origin: &str) -> Result<Self, Error> {
        let der = B64.decode(b64.trim()).map_err(|e| Error::Malformed {
            origin: origin.to_owned(),
            detail: format!("not base64: {e}"),
        })?;
        Self::from_der(&der, origin)
    }

    /// Reads every PEM certificate of a file (bounded).
    pub fn read_pem_file(path: &Path) -> Result<Vec<Self>, Error> {
        let bytes = crate::io::read_bounded(path, MAX_CERT_FILE_SIZE).map_err(|e| match e {
            crate::io::BoundedReadError::TooLarge => Error::Malformed {
                origin: path.display().to_string(),
                detail: format!("larger than {MAX_CERT_FILE_SIZE} bytes"),
            },
            crate::io::BoundedReadError::Io(source) => Error::Read {
                path: path.to_owned(),
                source,
            },
        })?;
        let origin = path.display().to_string();
        let certs =
            x509_cert::Certificate::load_pem_chain(&bytes).map_err(|e| Error::Malformed {
                origin: origin.clone(),
                detail: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(Error::Malformed {
                origin,
                detail: "no CERTIFICATE block".into(),
            });
        }
        certs
            .into_iter()
            .map(|cert| {
                let der = cert.to_der().map_err(|e| Error::Malformed {
                    origin: origin.clone(),
                    detail: e.to_string(),
                })?;
                Ok(Self { der, cert })
            })
            .collect()
    }

    /// DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM text.
    pub fn to_pem(&self) -> String {
        let b64 = B64.encode(&self.der);
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }

    /// Start of validity, Unix seconds.
    pub fn not_before(&self) -> i64 {
        secs(
            self.cert
                .tbs_certificate()
                .validity()
                .not_before
                .to_unix_duration(),
        )
    }

    /// End of validity, Unix seconds.
    pub fn not_after(&self) -> i64 {
        secs(
            self.cert
                .tbs_certificate()
                .validity()
                .not_after
                .to_unix_duration(),
        )
    }

    /// DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        self.cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap_or_default()
    }

    /// The subject DN, as text.
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }

    pub(crate) fn extension(&self, oid: ObjectIdentifier) -> Option<&Extension> {
        self.cert
            .tbs_certificate()
            .extensions()
            .and_then(|exts| exts.iter().find(|e| e.extn_id == oid))
    }

    /// Signer identities from the SAN: e-mail addresses, URIs, and UTF-8 otherNames.
    pub fn identities(&self) -> Vec<String> {
        let Ok(Some((_, san))) = self
            .cert
            .tbs_certificate()
            .get_extension::<SubjectAltName>()
        else {
            return Vec::new();
        };
        san.0
            .iter()
            .filter_map(|n| match n {
                GeneralName::Rfc822Name(s) => Some(s.to_string()),
                GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
                GeneralName::DnsName(s) => Some(s.to_string()),
                GeneralName::OtherName(o) => o
                    .value
                    .decode_as::<String>()
                    .ok()
                    .or_else(|| std::str::from_utf8(o.value.value()).ok().map(str::to_owned)),
                _ => None,
            })
            .collect()
    }

    /// The OIDC issuer: Fulcio's v2 extension (DER UTF8String), else the legacy v1 (raw bytes).
    pub fn oidc_issuer(&self) -> Option<String> {
        if let Some(ext) = self.extension(OID_ISSUER_V2) {
            let raw = ext.extn_value.as_bytes();
            return Any::from_der(raw)
                .ok()
                .and_then(|a| a.decode_as::<String>().ok())
                .or_else(|| std::str::from_utf8(raw).ok().map(str::to_owned));
        }
        self.extension(OID_ISSUER_V1)
            .and_then(|e| std::str::from_utf8(e.extn_value.as_bytes()).ok())
            .map(str::to_owned)
    }

    /// Whether the certificate may sign, as model_signing decides it: key usage
    /// digitalSignature, or extended key usage codeSigning.
    pub fn can_sign(&self) -> bool {
        let tbs = self.cert.tbs_certificate();
        if let Ok(Some((_, ku))) = tbs.get_extension::<KeyUsage>()
            && ku.digital_signature()
        {
            return true;
        }
        matches!(tbs.get_extension::<ExtendedKeyUsage>(), Ok(Some((_, eku))) if eku.0.contains(&OID_CODE_SIGNING))
    }

    /// The TBSCertificate without the SCT list extension, in its original encoding: what an
    /// embedded SCT signs.
    pub(crate) fn precert_tbs_der(&self) -> Result<Vec<u8>, x509_cert::der::Error> {
        const EXTENSIONS_TAG: Tag = Tag::ContextSpecific {
            constructed: true,
            number: TagNumber(3),
        };
        let fields = Vec::<Any>::from_der(&self.der)?;
        let tbs = fields.first().ok_or_else(|| Tag::Sequence.value_error())?;
        let mut tbs_fields: Vec<Any> = tbs.decode_as()?;
        if let Some(exts) = tbs_fields.iter_mut().find(|f| f.tag() == EXTENSIONS_TAG) {
            let mut kept = Vec::new();
            for ext in Vec::<Any>::from_der(exts.value())? {
                if ext.decode_as::<Extension>()?.extn_id != OID_SCT_LIST {
                    kept.push(ext);
                }
            }
            *exts = Any::new(EXTENSIONS_TAG, kept.to_der()?)?;
        }
        tbs_fields.to_der()
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// A UTC time for messages.
pub fn fmt_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// The contents (without tag and length) of a DER-encoded SEQUENCE, as rustls-pki-types
/// writes algorithm identifiers.
fn der_contents(der: &[u8]) -> Option<Vec<u8>> {
    Any::from_der(der).ok().map(|a| a.value().to_vec())
}

impl Certificate {
    /// True when basic constraints say CA:TRUE.
    pub fn is_ca(&self) -> bool {
        matches!(
            self.cert.tbs_certificate().get_extension::<BasicConstraints>(),
            Ok(Some((_, bc))) if bc.ca
        )
    }

    pub(crate) fn has_digital_signature(&self) -> bool {
        matches!(
            self.cert.tbs_certificate().get_extension::<KeyUsage>(),
            Ok(Some((_, ku))) if ku.digital_signature()
        )
    }

    pub(crate) fn has_code_signing(&self) -> bool {
        matches!(
            self.cert.tbs_certificate().get_extension::<ExtendedKeyUsage>(),
            Ok(Some((_, eku))) if eku.0.contains(&OID_CODE_SIGNING)
        )
    }

    /// True when the certificate names itself as issuer (RFC 5280 §6.1: a self-issued
    /// intermediate does not count toward pathLenConstraint).
    pub(crate) fn is_self_issued(&self) -> bool {
        self.cert.tbs_certificate().subject() == self.cert.tbs_certificate().issuer()
    }

    /// True when `issuer`'s key made this certificate's signature, with one of the chain
    /// algorithms webpki accepts (matched on both algorithm identifiers).
    pub(crate) fn signed_by(&self, issuer: &Certificate) -> bool {
        let Ok(fields) = Vec::<Any>::from_der(&self.der) else {
            return false;
        };
        let Some(Ok(tbs)) = fields.first().map(Encode::to_der) else {
            return false;
        };
        let Some(sig_alg) = self
            .cert
            .signature_algorithm()
            .to_der()
            .ok()
            .and_then(|d| der_contents(&d))
        else {
            return false;
        };
        let spki = issuer.cert.tbs_certificate().subject_public_key_info();
        let Some(key_alg) = spki.algorithm.to_der().ok().and_then(|d| der_contents(&d)) else {
            return false;
        };
        let Some(sig) = self.cert.signature().as_bytes() else {
            return false;
        };
        let Some(key) = spki.subject_public_key.as_bytes() else {
            return false;
        };
        CHAIN_ALGS.iter().any(|alg| {
            alg.signature_alg_id().as_ref() == sig_alg.as_slice()
                && alg.public_key_alg_id().as_ref() == key_alg.as_slice()
                && alg.verify_signature(key, &tbs, sig).is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn rejects_a_certificate_that_is_not_der() {
        assert!(matches!(
            Certificate::from_base64("bm90IGEgY2VydA==", "x"),
            Err(Error::Malformed { .. })
        ));
    }
}

//! X.509 for certificate-bearing bundles: parsing, signer identity (SAN) and OIDC issuer (Fulcio
//! extensions), chain validation to trusted roots at a given time (RFC 5280, [`path`]), the embedded
//! SCT against CT log keys, and [`CertificateSigner`], the private-PKI signing method as
//! `model_signing sign certificate` has it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rustls_pki_types::SignatureVerificationAlgorithm;
use sha2::{Digest as _, Sha256};
use x509_cert::der::asn1::OctetString;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Any, Decode, Encode, Tag, TagNumber, Tagged};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

use crate::formats::bundle::{Bundle, CertificateChain, RawCertificate, VerificationMaterial};
use crate::formats::dsse::Envelope;
use crate::keys::PrivateKey;
use crate::trust::root::TrustRoot;

pub mod path;
pub use path::PathError;

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
    der: Vec<u8>,
    cert: x509_cert::Certificate,
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

    fn extension(&self, oid: ObjectIdentifier) -> Option<&Extension> {
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
    fn precert_tbs_der(&self) -> Result<Vec<u8>, x509_cert::der::Error> {
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

/// Which extended key usage a chain must allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// Fulcio: the leaf must carry EKU codeSigning.
    CodeSigning,
    /// Private PKI (as model_signing): any EKU at path level; [`Certificate::can_sign`] decides.
    Any,
}

/// Parses DER certificates (a trust root's or a bundle's) for path validation.
fn parse_ders(ders: &[Vec<u8>], origin: &str) -> Result<Vec<Certificate>, PathError> {
    ders.iter()
        .map(|d| Certificate::from_der(d, origin))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PathError::Unreadable {
            detail: e.to_string(),
        })
}

/// Validates `leaf` up to one of `anchors` (DER, trusted as they are) through `intermediates`
/// (DER, untrusted) at time `at` (Unix seconds), with the one RFC 5280 path validator
/// ([`path::validate`]) the certificate method uses too. [`Usage::CodeSigning`] (Fulcio) also
/// needs extended key usage codeSigning on the leaf. Returns the issuer's DER SPKI (for the SCT).
pub fn verify_chain(
    leaf: &Certificate,
    anchors: &[Vec<u8>],
    intermediates: &[Vec<u8>],
    at: i64,
    usage: Usage,
) -> Result<Vec<u8>, String> {
    let roots = parse_ders(anchors, "a trusted root").map_err(|e| e.to_string())?;
    let inter = parse_ders(intermediates, "the certificate chain").map_err(|e| e.to_string())?;
    let valid = path::validate(leaf, &roots, &inter, at).map_err(|e| e.to_string())?;
    if usage == Usage::CodeSigning && !leaf.has_code_signing() {
        return Err("the signing certificate lacks extended key usage codeSigning".into());
    }
    Ok(valid.issuer_spki)
}

/// Why a certificate-method signing certificate is not trusted (OMS §8.2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// The check time is before the leaf's notBefore.
    #[error(
        "the signing certificate {subject} is not yet valid (valid {} to {}, checked at {})",
        fmt_time(*not_before), fmt_time(*not_after), fmt_time(*at)
    )]
    NotYetValid {
        /// Leaf subject DN.
        subject: String,
        /// Leaf notBefore (Unix seconds).
        not_before: i64,
        /// Leaf notAfter.
        not_after: i64,
        /// The time checked.
        at: i64,
    },
    /// The check time is after the leaf's notAfter.
    #[error(
        "the signing certificate {subject} expired (valid {} to {}, checked at {}); re-sign with a valid certificate",
        fmt_time(*not_before), fmt_time(*not_after), fmt_time(*at)
    )]
    Expired {
        /// Leaf subject DN.
        subject: String,
        /// Leaf notBefore.
        not_before: i64,
        /// Leaf notAfter.
        not_after: i64,
        /// The time checked.
        at: i64,
    },
    /// No valid path from the leaf to a trusted root (the error names the certificate at fault).
    #[error(transparent)]
    Chain(#[from] PathError),
    /// The leaf may not sign (key usage / extended key usage).
    #[error("{0}")]
    KeyUsage(String),
}

/// A validated certificate-method path.
#[derive(Clone, Debug)]
pub struct PkiPath {
    /// DER SPKI of the certificate that issued the leaf (the leaf's own for a self-signed
    /// leaf trusted as its anchor).
    pub issuer_spki: Vec<u8>,
    /// The leaf is itself one of the trusted roots (a self-signed leaf as its own anchor).
    pub leaf_is_anchor: bool,
    /// The leaf has basic constraints CA:TRUE (accepted with KU digitalSignature and EKU
    /// codeSigning, as model_signing's test PKI issues them).
    pub leaf_is_ca: bool,
    /// The time the path was validated at (Unix seconds).
    pub at: i64,
    /// Subjects of the issuers, from the leaf's issuer up to the root (empty for a leaf that
    /// is its own anchor).
    pub issuers: Vec<String>,
}

impl PkiPath {
    /// One line for the `certificate-chain` check's detail.
    pub fn describe(&self, leaf: &Certificate) -> String {
        let how = if self.leaf_is_anchor {
            "is itself a trusted root (self-signed leaf)".to_owned()
        } else {
            format!(
                "chains to a --certificate-chain root (issued by {})",
                self.issuers.join(", issued by ")
            )
        };
        format!(
            "{} {how}{}, valid at {}",
            leaf.subject(),
            if self.leaf_is_ca {
                " (a CA:TRUE leaf with digitalSignature and codeSigning)"
            } else {
                ""
            },
            fmt_time(self.at)
        )
    }
}

/// Validates a certificate-method signing certificate (OMS §8.2):
///
/// - the leaf must be valid at `at`, both ends inclusive: the caller passes the current time,
///   or the signing time proven by a verified RFC 3161 timestamp;
/// - it must be allowed to sign: a leaf with basic constraints CA:TRUE (as model_signing's test
///   PKI issues them) only with key usage digitalSignature **and** extended key usage
///   codeSigning, any other with either ([`Certificate::can_sign`]);
/// - a self-signed leaf that is itself one of `roots` is its own anchor;
/// - otherwise it must chain to one of `roots` (DER, trusted as they are) through `extra` (DER,
///   untrusted; the bundle's chain) under RFC 5280's rules, CA:TRUE leaf or not: one validator
///   ([`path::validate`]) for every path.
pub fn verify_pki_chain(
    leaf: &Certificate,
    roots: &[Vec<u8>],
    extra: &[Vec<u8>],
    at: i64,
) -> Result<PkiPath, PkiError> {
    let (not_before, not_after) = (leaf.not_before(), leaf.not_after());
    if at < not_before {
        return Err(PkiError::NotYetValid {
            subject: leaf.subject(),
            not_before,
            not_after,
            at,
        });
    }
    if at > not_after {
        return Err(PkiError::Expired {
            subject: leaf.subject(),
            not_before,
            not_after,
            at,
        });
    }
    let leaf_is_ca = leaf.is_ca();
    if leaf_is_ca {
        if !(leaf.has_digital_signature() && leaf.has_code_signing()) {
            return Err(PkiError::KeyUsage(
                "the signing certificate is a CA (basic constraints CA:TRUE) without both key usage digitalSignature and extended key usage codeSigning".into(),
            ));
        }
    } else if !leaf.can_sign() {
        return Err(PkiError::KeyUsage(
            "the signing certificate allows neither digitalSignature nor codeSigning".into(),
        ));
    }
    if roots.iter().any(|r| r.as_slice() == leaf.der()) {
        // Trusted as it is; the rules every certificate meets still hold.
        path::check_one(leaf, path::Role::Leaf, at)?;
        return Ok(PkiPath {
            issuer_spki: leaf.spki_der(),
            leaf_is_anchor: true,
            leaf_is_ca,
            at,
            issuers: Vec::new(),
        });
    }
    let roots = parse_ders(roots, "a trusted root")?;
    let inter = parse_ders(extra, "the bundle's chain")?;
    let valid = path::validate(leaf, &roots, &inter, at)?;
    Ok(PkiPath {
        issuer_spki: valid.issuer_spki,
        leaf_is_anchor: false,
        leaf_is_ca,
        at,
        issuers: valid.issuers,
    })
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

    fn has_digital_signature(&self) -> bool {
        matches!(
            self.cert.tbs_certificate().get_extension::<KeyUsage>(),
            Ok(Some((_, ku))) if ku.digital_signature()
        )
    }

    fn has_code_signing(&self) -> bool {
        matches!(
            self.cert.tbs_certificate().get_extension::<ExtendedKeyUsage>(),
            Ok(Some((_, eku))) if eku.0.contains(&OID_CODE_SIGNING)
        )
    }

    /// True when the certificate names itself as issuer (RFC 5280 §6.1: a self-issued
    /// intermediate does not count toward pathLenConstraint).
    fn is_self_issued(&self) -> bool {
        self.cert.tbs_certificate().subject() == self.cert.tbs_certificate().issuer()
    }

    /// True when `issuer`'s key made this certificate's signature, with one of the chain
    /// algorithms webpki accepts (matched on both algorithm identifiers).
    fn signed_by(&self, issuer: &Certificate) -> bool {
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

/// One verified SCT: the CT log that issued it and its time.
#[derive(Clone, Debug)]
pub struct VerifiedSct {
    /// The CT log base URL.
    pub log: String,
    /// SCT timestamp, Unix milliseconds.
    pub timestamp_ms: u64,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated SCT".into());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, String> {
        self.take(1)?
            .first()
            .copied()
            .ok_or_else(|| "truncated SCT".into())
    }
    fn u16(&mut self) -> Result<usize, String> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ])))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn vec16(&mut self) -> Result<&'a [u8], String> {
        let n = self.u16()?;
        self.take(n)
    }
}

/// One SCT of an RFC 6962 `SignedCertificateTimestampList`, as read (nothing verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedSct<'a> {
    /// `sct_version` (0 is v1).
    pub version: u8,
    /// The CT log's key id (SHA-256 of its key).
    pub log_id: &'a [u8],
    /// Unix milliseconds.
    pub timestamp: u64,
    /// `CtExtensions`, opaque.
    pub extensions: &'a [u8],
    /// The `digitally-signed` signature bytes.
    pub signature: &'a [u8],
}

/// Reads a TLS-encoded `SignedCertificateTimestampList` (the content of the certificate's SCT
/// extension OCTET STRING): every length is checked against what remains, trailing bytes are
/// refused. Untrusted input: fuzzed (`fuzz/fuzz_targets/sct_list.rs`).
pub fn parse_sct_list(bytes: &[u8]) -> Result<Vec<ParsedSct<'_>>, String> {
    let mut outer = Reader(bytes);
    let mut scts = Reader(outer.vec16()?);
    if !outer.0.is_empty() {
        return Err("trailing bytes after the SCT list".into());
    }
    let mut out = Vec::new();
    while !scts.0.is_empty() {
        let mut r = Reader(scts.vec16()?);
        let version = r.u8()?;
        let log_id = r.take(32)?;
        let timestamp = r.u64()?;
        let extensions = r.vec16()?;
        let _hash_alg = r.u8()?;
        let _sig_alg = r.u8()?;
        let signature = r.vec16()?;
        if !r.0.is_empty() {
            return Err("trailing bytes in an SCT".into());
        }
        out.push(ParsedSct {
            version,
            log_id,
            timestamp,
            extensions,
            signature,
        });
    }
    Ok(out)
}

/// Verifies the leaf's embedded SCT(s) against the trusted root's CT logs; `issuer_spki` is
/// the DER SPKI of the certificate that issued the leaf. Passes when one SCT verifies with a
/// CT log key valid at the SCT's time.
pub fn verify_embedded_sct(
    leaf: &Certificate,
    issuer_spki: &[u8],
    root: &TrustRoot,
) -> Result<VerifiedSct, String> {
    let ext = leaf.extension(OID_SCT_LIST).ok_or(
        "the certificate carries no embedded SCT (it was not logged to Certificate Transparency)",
    )?;
    let list = OctetString::from_der(ext.extn_value.as_bytes())
        .map_err(|e| format!("malformed SCT list: {e}"))?;
    let parsed = parse_sct_list(list.as_bytes())?;
    let tbs = leaf
        .precert_tbs_der()
        .map_err(|e| format!("cannot rebuild the precertificate: {e}"))?;
    let issuer_key_hash = Sha256::digest(issuer_spki);
    let mut problems = Vec::new();
    for sct in parsed {
        let ParsedSct {
            version,
            log_id,
            timestamp,
            extensions,
            signature,
        } = sct;
        if version != 0 {
            problems.push(format!("SCT version {version} is not supported"));
            continue;
        }
        let Some(log) = root.ctlog(log_id) else {
            problems.push(format!(
                "SCT from CT log {} which the trusted root does not name",
                hex::encode(log_id)
            ));
            continue;
        };
        let t = i64::try_from(timestamp / 1000).unwrap_or(i64::MAX);
        if !log.valid_for.contains(t) {
            problems.push(format!(
                "SCT time {} is outside CT log {}'s key validity",
                fmt_time(t),
                log.base_url
            ));
            continue;
        }
        let tbs_len = u32::try_from(tbs.len()).map_err(|_| "certificate too large")?;
        let mut signed = Vec::with_capacity(tbs.len() + 64);
        signed.push(0); // sct_version v1
        signed.push(0); // signature_type certificate_timestamp
        signed.extend_from_slice(&timestamp.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(tbs_len.to_be_bytes().get(1..).unwrap_or_default());
        signed.extend_from_slice(&tbs);
        let ext_len = u16::try_from(extensions.len()).map_err(|_| "SCT extensions too large")?;
        signed.extend_from_slice(&ext_len.to_be_bytes());
        signed.extend_from_slice(extensions);
        match verify_with_spki(&log.spki, signature, &signed) {
            Ok(()) => {
                return Ok(VerifiedSct {
                    log: log.base_url.clone(),
                    timestamp_ms: timestamp,
                });
            }
            Err(e) => problems.push(format!("SCT signature by {} is invalid: {e}", log.base_url)),
        }
    }
    Err(if problems.is_empty() {
        "the SCT list is empty".into()
    } else {
        problems.join("; ")
    })
}

/// Verifies `sig` over `msg` with a DER SPKI (ECDSA P-256/384/521 with its curve's hash,
/// Ed25519, RSA PKCS#1 v1.5 SHA-256), as Sigstore keys are used.
pub fn verify_with_spki(spki: &[u8], sig: &[u8], msg: &[u8]) -> Result<(), String> {
    let key = sigstore::crypto::CosignVerificationKey::try_from_der(spki)
        .map_err(|e| format!("unusable public key: {e}"))?;
    key.verify_signature(sigstore::crypto::Signature::Raw(sig), msg)
        .map_err(|_| "signature does not verify".to_string())
}

/// How identities are matched.
#[derive(Clone, Debug)]
pub enum IdentityMatcher {
    /// Exactly this SAN value.
    Exact(String),
    /// A SAN value matching this regular expression (unanchored, as cosign; write `^...$`).
    Regex(regex::Regex),
}

impl IdentityMatcher {
    /// True when `s` is an identity this matcher accepts.
    pub fn matches(&self, s: &str) -> bool {
        match self {
            IdentityMatcher::Exact(e) => e == s,
            IdentityMatcher::Regex(r) => r.is_match(s),
        }
    }
}

impl std::fmt::Display for IdentityMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentityMatcher::Exact(e) => write!(f, "`{e}`"),
            IdentityMatcher::Regex(r) => write!(f, "/{}/", r.as_str()),
        }
    }
}

/// The private-PKI signing method (`sign --signing-certificate C --certificate-chain CHAIN
/// --private-key K`): a local P-256 key whose certificate and chain go in the bundle's
/// `x509CertificateChain` (leaf first), as model_signing writes it.
pub struct CertificateSigner {
    inner: crate::sign::KeySigner,
    chain: Vec<Certificate>,
}

impl CertificateSigner {
    /// Loads the certificate and chain and checks the certificate is for `key`.
    pub fn new(key: PrivateKey, certificate: &Path, chain: &[PathBuf]) -> Result<Self, Error> {
        let leaf = Certificate::read_pem_file(certificate)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Malformed {
                origin: certificate.display().to_string(),
                detail: "no certificate".into(),
            })?;
        let ours = key.public_key()?.spki_der()?;
        if ours != leaf.spki_der() {
            return Err(Error::KeyMismatch {
                path: certificate.to_owned(),
            });
        }
        let mut all = vec![leaf];
        for p in chain {
            all.extend(Certificate::read_pem_file(p)?);
        }
        Ok(Self {
            inner: crate::sign::KeySigner::new(key).map_err(|e| Error::Malformed {
                origin: "private key".into(),
                detail: e.to_string(),
            })?,
            chain: all,
        })
    }

    /// The signing certificate.
    pub fn leaf(&self) -> Option<&Certificate> {
        self.chain.first()
    }

    /// The signing key's id (hex SHA-256 of its SPKI PEM, as for a bare key).
    pub fn key_id(&self) -> &str {
        self.inner.key_id()
    }
}

impl crate::sign::Signer for CertificateSigner {
    fn sign_pae(&self, pae: &[u8]) -> Result<Vec<u8>, crate::sign::Error> {
        self.inner.sign_pae(pae)
    }

    fn bundle(&self, envelope: Envelope) -> Result<Bundle, crate::sign::Error> {
        Ok(Bundle {
            media_type: crate::formats::bundle::BUNDLE_MEDIA_TYPE.into(),
            verification_material: VerificationMaterial {
                x509_certificate_chain: Some(CertificateChain {
                    certificates: self
                        .chain
                        .iter()
                        .map(|c| RawCertificate {
                            raw_bytes: B64.encode(c.der()),
                        })
                        .collect(),
                }),
                ..VerificationMaterial::default()
            },
            dsse_envelope: envelope,
        })
    }

    fn describe(&self) -> String {
        match self.leaf() {
            Some(c) => {
                let ids = c.identities();
                if ids.is_empty() {
                    format!("certificate {}", c.subject())
                } else {
                    format!("certificate {}", ids.join(", "))
                }
            }
            None => "certificate".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn sct_list_reader_refuses_truncation_and_trailing_bytes() {
        // One SCT: version 0, 32-byte log id, timestamp, no extensions, hash/sig alg, 2-byte sig.
        let mut sct = vec![0u8];
        sct.extend([7u8; 32]);
        sct.extend(1_700_000_000_000u64.to_be_bytes());
        sct.extend([0, 0, 4, 3, 0, 2, 0xAB, 0xCD]);
        let mut inner = (sct.len() as u16).to_be_bytes().to_vec();
        inner.extend(&sct);
        let mut list = (inner.len() as u16).to_be_bytes().to_vec();
        list.extend(&inner);
        let parsed = parse_sct_list(&list).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].timestamp, 1_700_000_000_000);
        assert_eq!(parsed[0].signature, [0xAB, 0xCD]);
        for cut in 0..list.len() {
            assert!(parse_sct_list(&list[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = list.clone();
        trailing.push(0);
        assert!(parse_sct_list(&trailing).is_err());
    }

    /// A test PKI made with openssl in a temp folder.
    struct Pki {
        dir: tempfile::TempDir,
    }

    impl Pki {
        fn new() -> Self {
            Self {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn p(&self, name: &str) -> String {
            self.dir.path().join(name).to_str().unwrap().to_owned()
        }

        fn openssl(&self, args: &[&str]) {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(self.dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        /// A self-signed certificate `name.pem` (key `name.key`) with the given extensions.
        fn self_signed(&self, name: &str, curve: &str, exts: &[&str]) {
            let mut args = vec![
                "req".to_owned(),
                "-x509".into(),
                "-new".into(),
                "-newkey".into(),
                "ec".into(),
                "-pkeyopt".into(),
                format!("ec_paramgen_curve:{curve}"),
                "-nodes".into(),
                "-keyout".into(),
                self.p(&format!("{name}.key")),
                "-out".into(),
                self.p(&format!("{name}.pem")),
                "-subj".into(),
                format!("/CN={name}"),
                "-days".into(),
                "30".into(),
            ];
            for e in exts {
                args.push("-addext".into());
                args.push((*e).to_owned());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.openssl(&args);
        }

        /// A certificate `name.pem` issued by `issuer` with the extensions (one per line).
        fn issued(&self, name: &str, curve: &str, issuer: &str, exts: &str) {
            std::fs::write(self.dir.path().join(format!("{name}.ext")), exts).unwrap();
            self.openssl(&[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                &format!("ec_paramgen_curve:{curve}"),
                "-nodes",
                "-keyout",
                &self.p(&format!("{name}.key")),
                "-out",
                &self.p(&format!("{name}.csr")),
                "-subj",
                &format!("/CN={name}"),
            ]);
            self.openssl(&[
                "x509",
                "-req",
                "-in",
                &self.p(&format!("{name}.csr")),
                "-CA",
                &self.p(&format!("{issuer}.pem")),
                "-CAkey",
                &self.p(&format!("{issuer}.key")),
                "-set_serial",
                "7",
                "-days",
                "10",
                "-extfile",
                &self.p(&format!("{name}.ext")),
                "-out",
                &self.p(&format!("{name}.pem")),
            ]);
        }

        fn cert(&self, name: &str) -> Certificate {
            Certificate::read_pem_file(Path::new(&self.p(&format!("{name}.pem"))))
                .unwrap()
                .remove(0)
        }

        fn der(&self, name: &str) -> Vec<u8> {
            self.cert(name).der().to_vec()
        }
    }

    const ROOT_EXTS: [&str; 2] = [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign",
    ];
    const LEAF_EXTS: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n";
    const CA_EXTS: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n";

    fn now() -> i64 {
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
    }

    #[test]
    fn leaf_must_be_valid_at_the_check_time_both_ends_inclusive() {
        let pki = Pki::new();
        pki.self_signed("root", "P-384", &ROOT_EXTS);
        pki.issued("leaf", "P-256", "root", LEAF_EXTS);
        let leaf = pki.cert("leaf");
        let roots = [pki.der("root")];
        let ok = verify_pki_chain(&leaf, &roots, &[], now()).unwrap();
        assert!(!ok.leaf_is_anchor && !ok.leaf_is_ca);
        // Exactly at notBefore and notAfter: valid.
        verify_pki_chain(&leaf, &roots, &[], leaf.not_before()).unwrap();
        verify_pki_chain(&leaf, &roots, &[], leaf.not_after()).unwrap();
        // One second outside: refused, with the window named.
        assert!(matches!(
            verify_pki_chain(&leaf, &roots, &[], leaf.not_before() - 1),
            Err(PkiError::NotYetValid { .. })
        ));
        let e = verify_pki_chain(&leaf, &roots, &[], leaf.not_after() + 1).unwrap_err();
        assert!(matches!(e, PkiError::Expired { .. }), "{e}");
        assert!(e.to_string().contains("expired"));
    }

    #[test]
    fn chains_through_an_intermediate_from_the_bundle() {
        let pki = Pki::new();
        pki.self_signed("root", "P-521", &ROOT_EXTS);
        pki.issued("inter", "P-384", "root", CA_EXTS);
        pki.issued("leaf", "P-384", "inter", LEAF_EXTS);
        let leaf = pki.cert("leaf");
        verify_pki_chain(&leaf, &[pki.der("root")], &[pki.der("inter")], now()).unwrap();
        // Without the intermediate there is no path.
        assert!(matches!(
            verify_pki_chain(&leaf, &[pki.der("root")], &[], now()),
            Err(PkiError::Chain(_))
        ));
    }

    #[test]
    fn accepts_a_ca_true_leaf_with_digital_signature_and_code_signing() {
        // model_signing's test PKI issues such leaves; webpki refuses them as CaUsedAsEndEntity.
        let pki = Pki::new();
        pki.self_signed("root", "P-384", &ROOT_EXTS);
        pki.issued("inter", "P-384", "root", CA_EXTS);
        pki.issued(
            "leaf",
            "P-384",
            "inter",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\nextendedKeyUsage=codeSigning\n",
        );
        let leaf = pki.cert("leaf");
        let roots = [pki.der("root")];
        let extra = [pki.der("inter")];
        let p = verify_pki_chain(&leaf, &roots, &extra, now()).unwrap();
        assert!(p.leaf_is_ca && !p.leaf_is_anchor);
        assert_eq!(p.issuer_spki, pki.cert("inter").spki_der());
        // The validity rule holds on this path too.
        assert!(matches!(
            verify_pki_chain(&leaf, &roots, &extra, leaf.not_after() + 1),
            Err(PkiError::Expired { .. })
        ));
        // And a foreign root does not anchor it.
        pki.self_signed("other", "P-256", &ROOT_EXTS);
        assert!(matches!(
            verify_pki_chain(&leaf, &[pki.der("other")], &extra, now()),
            Err(PkiError::Chain(_))
        ));
    }

    #[test]
    fn a_ca_true_leaf_needs_its_issuers_signature_not_just_its_name() {
        let pki = Pki::new();
        pki.self_signed("root", "P-256", &ROOT_EXTS);
        pki.issued(
            "leaf",
            "P-256",
            "root",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
        );
        // Another root with the same name and another key.
        let impostor = Pki::new();
        impostor.self_signed("root", "P-256", &ROOT_EXTS);
        assert!(matches!(
            verify_pki_chain(&pki.cert("leaf"), &[impostor.der("root")], &[], now()),
            Err(PkiError::Chain(_))
        ));
        verify_pki_chain(&pki.cert("leaf"), &[pki.der("root")], &[], now()).unwrap();
    }

    #[test]
    fn refuses_a_ca_true_leaf_without_code_signing() {
        let pki = Pki::new();
        pki.self_signed("root", "P-256", &ROOT_EXTS);
        pki.issued(
            "leaf",
            "P-256",
            "root",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\n",
        );
        assert!(matches!(
            verify_pki_chain(&pki.cert("leaf"), &[pki.der("root")], &[], now()),
            Err(PkiError::KeyUsage(_))
        ));
    }

    #[test]
    fn refuses_a_leaf_that_may_not_sign() {
        let pki = Pki::new();
        pki.self_signed("root", "P-256", &ROOT_EXTS);
        pki.issued(
            "leaf",
            "P-256",
            "root",
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        );
        assert!(matches!(
            verify_pki_chain(&pki.cert("leaf"), &[pki.der("root")], &[], now()),
            Err(PkiError::KeyUsage(_))
        ));
    }

    #[test]
    fn a_self_signed_leaf_is_its_own_anchor() {
        let pki = Pki::new();
        pki.self_signed(
            "self",
            "P-384",
            &[
                "basicConstraints=critical,CA:TRUE",
                "keyUsage=critical,digitalSignature,keyCertSign",
                "extendedKeyUsage=codeSigning",
            ],
        );
        let leaf = pki.cert("self");
        let p = verify_pki_chain(&leaf, &[pki.der("self")], &[], now()).unwrap();
        assert!(p.leaf_is_anchor && p.leaf_is_ca);
        // Not trusted when it is not among the roots.
        pki.self_signed("root", "P-256", &ROOT_EXTS);
        assert!(verify_pki_chain(&leaf, &[pki.der("root")], &[], now()).is_err());
        // Nor once expired.
        assert!(matches!(
            verify_pki_chain(&leaf, &[pki.der("self")], &[], leaf.not_after() + 1),
            Err(PkiError::Expired { .. })
        ));
    }

    #[test]
    fn keyless_chains_get_the_same_issuer_rules_as_the_certificate_method() {
        // verify_chain (Fulcio, Usage::CodeSigning) runs the one RFC 5280 validator: an
        // intermediate without keyCertSign, or with pathLen 0 above another CA, is refused.
        const FULCIO_LEAF: &str =
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n";
        let pki = Pki::new();
        pki.self_signed("root", "P-384", &ROOT_EXTS);
        pki.issued("inter", "P-384", "root", CA_EXTS);
        pki.issued("leaf", "P-256", "inter", FULCIO_LEAF);
        let roots = [pki.der("root")];
        let spki = verify_chain(
            &pki.cert("leaf"),
            &roots,
            &[pki.der("inter")],
            now(),
            Usage::CodeSigning,
        )
        .unwrap();
        assert_eq!(spki, pki.cert("inter").spki_der());

        pki.issued(
            "signer",
            "P-384",
            "root",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n",
        );
        pki.issued("leaf2", "P-256", "signer", FULCIO_LEAF);
        let e = verify_chain(
            &pki.cert("leaf2"),
            &roots,
            &[pki.der("signer")],
            now(),
            Usage::CodeSigning,
        )
        .unwrap_err();
        assert!(e.contains("CN=signer") && e.contains("keyCertSign"), "{e}");

        pki.issued(
            "capped",
            "P-384",
            "root",
            "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n",
        );
        pki.issued("sub", "P-384", "capped", CA_EXTS);
        pki.issued("leaf3", "P-256", "sub", FULCIO_LEAF);
        let e = verify_chain(
            &pki.cert("leaf3"),
            &roots,
            &[pki.der("sub"), pki.der("capped")],
            now(),
            Usage::CodeSigning,
        )
        .unwrap_err();
        assert!(
            e.contains("CN=capped") && e.contains("pathLenConstraint"),
            "{e}"
        );

        // The root's validity counts too: after it ends, nothing chains.
        let late = pki.cert("root").not_after() + 1;
        assert!(
            verify_chain(
                &pki.cert("leaf"),
                &roots,
                &[pki.der("inter")],
                late,
                Usage::CodeSigning
            )
            .is_err()
        );
    }

    #[test]
    fn path_search_is_bounded_against_many_same_named_intermediates() {
        // A hostile bundle carries 100 certificates all named as the leaf's issuer: the search
        // stops at its signature budget instead of trying them all at every depth.
        let pki = Pki::new();
        pki.self_signed("root", "P-256", &ROOT_EXTS);
        pki.issued("inter", "P-256", "root", CA_EXTS);
        pki.issued("leaf", "P-256", "inter", LEAF_EXTS);
        let decoy = Pki::new();
        decoy.self_signed("inter", "P-256", &ROOT_EXTS);
        let mut extra = vec![decoy.der("inter"); 100];
        let e = verify_pki_chain(&pki.cert("leaf"), &[pki.der("root")], &extra, now()).unwrap_err();
        assert!(e.to_string().contains("signature checks"), "{e}");
        // The real intermediate first: found within the budget.
        extra.insert(0, pki.der("inter"));
        verify_pki_chain(&pki.cert("leaf"), &[pki.der("root")], &extra, now()).unwrap();
    }

    #[test]
    fn sct_reader_refuses_truncated_input_without_panicking() {
        // A declared length longer than what follows is an error, at every field.
        for bytes in [&[][..], &[0x00], &[0x00, 0x05, 0x01], &[0xff, 0xff]] {
            let mut r = Reader(bytes);
            assert!(r.vec16().is_err() || r.u64().is_err());
        }
        let mut r = Reader(&[0x00, 0x02, 0xaa, 0xbb, 0x01]);
        assert_eq!(r.vec16().unwrap(), &[0xaa, 0xbb]);
        assert_eq!(r.u8().unwrap(), 1);
        assert!(r.u8().is_err());
    }

    #[test]
    fn identity_regexp_is_unanchored_like_cosign_and_exact_is_exact() {
        let re = IdentityMatcher::Regex(regex::Regex::new("^https://github.com/org/").unwrap());
        assert!(re.matches("https://github.com/org/repo/.github/workflows/x.yml@refs/heads/main"));
        assert!(!re.matches("https://github.com/evil/org/"));
        let exact = IdentityMatcher::Exact("alice@example.com".into());
        assert!(!exact.matches("alice@example.com.evil"));
    }

    #[test]
    fn rejects_a_certificate_that_is_not_der() {
        assert!(matches!(
            Certificate::from_base64("bm90IGEgY2VydA==", "x"),
            Err(Error::Malformed { .. })
        ));
    }
}

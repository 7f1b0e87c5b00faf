//! X.509 for certificate-bearing bundles: parsing, signer identity (SAN) and OIDC issuer (Fulcio
//! extensions), chain validation to trusted roots at a given time (rustls-webpki), the embedded
//! SCT against CT log keys, and [`CertificateSigner`], the private-PKI signing method as
//! `model_signing sign certificate` has it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use sha2::{Digest as _, Sha256};
use x509_cert::der::asn1::OctetString;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Any, Decode, Encode, Tag, TagNumber, Tagged};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, SubjectAltName};

use crate::bundle::{Bundle, CertificateChain, RawCertificate, VerificationMaterial};
use crate::dsse::Envelope;
use crate::keys::PrivateKey;
use crate::trust_root::TrustRoot;

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
        let bytes = crate::bundle::read_bounded(path, MAX_CERT_FILE_SIZE).map_err(|e| match e {
            crate::bundle::BoundedReadError::TooLarge => Error::Malformed {
                origin: path.display().to_string(),
                detail: format!("larger than {MAX_CERT_FILE_SIZE} bytes"),
            },
            crate::bundle::BoundedReadError::Io(source) => Error::Read {
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

struct AnyEku;

impl webpki::ExtendedKeyUsageValidator for AnyEku {
    fn validate(&self, _iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

/// Validates `leaf` up to one of `anchors` (DER, trusted as they are) through `intermediates`
/// (DER, untrusted) at time `at` (Unix seconds). Returns the issuer's DER SPKI (for the SCT).
pub fn verify_chain(
    leaf: &Certificate,
    anchors: &[Vec<u8>],
    intermediates: &[Vec<u8>],
    at: i64,
    usage: Usage,
) -> Result<Vec<u8>, String> {
    let anchor_ders: Vec<CertificateDer<'_>> = anchors
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let trust_anchors = anchor_ders
        .iter()
        .map(webpki::anchor_from_trusted_cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("a trusted certificate cannot be used as a root: {e}"))?;
    let inter: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let leaf_der = CertificateDer::from(leaf.der());
    let ee = webpki::EndEntityCert::try_from(&leaf_der)
        .map_err(|e| format!("the signing certificate cannot be parsed: {e}"))?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(at).unwrap_or(0)));
    // EKU is checked on the leaf below: CA certificates without EKU are fine (as sigstore-python's
    // policy), which webpki's `KeyUsage::required` would refuse on intermediates.
    let path = ee
        .verify_for_usage(CHAIN_ALGS, &trust_anchors, &inter, time, AnyEku, None, None)
        .map_err(|e| describe_webpki(&e, leaf, at))?;
    if usage == Usage::CodeSigning
        && !matches!(
            leaf.cert.tbs_certificate().get_extension::<ExtendedKeyUsage>(),
            Ok(Some((_, eku))) if eku.0.contains(&OID_CODE_SIGNING)
        )
    {
        return Err("the signing certificate lacks extended key usage codeSigning".into());
    }
    Ok(path.issuer_spki().as_ref().to_vec())
}

fn describe_webpki(e: &webpki::Error, leaf: &Certificate, at: i64) -> String {
    let window = format!(
        "valid {} to {}, checked at {}",
        fmt_time(leaf.not_before()),
        fmt_time(leaf.not_after()),
        fmt_time(at)
    );
    match e {
        webpki::Error::CertExpired { .. } => format!("certificate expired ({window})"),
        webpki::Error::CertNotValidYet { .. } => format!("certificate not yet valid ({window})"),
        webpki::Error::UnknownIssuer => {
            "certificate was not issued by a trusted CA (no chain to a trusted root)".into()
        }
        webpki::Error::InvalidSignatureForPublicKey => {
            "certificate was not issued by a trusted CA (a trusted CA has its issuer's name, but not the key that signed it)".into()
        }
        other => format!("certificate chain does not validate: {other:?}"),
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
    let mut outer = Reader(list.as_bytes());
    let mut scts = Reader(outer.vec16()?);
    let tbs = leaf
        .precert_tbs_der()
        .map_err(|e| format!("cannot rebuild the precertificate: {e}"))?;
    let issuer_key_hash = Sha256::digest(issuer_spki);
    let mut problems = Vec::new();
    while !scts.0.is_empty() {
        let mut r = Reader(scts.vec16()?);
        let version = r.u8()?;
        let log_id = r.take(32)?;
        let timestamp = r.u64()?;
        let extensions = r.vec16()?;
        let _hash_alg = r.u8()?;
        let _sig_alg = r.u8()?;
        let signature = r.vec16()?;
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
    fn matches(&self, s: &str) -> bool {
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

/// Who must have signed: a SAN identity and an OIDC issuer. Empty fields are not checked; the
/// CLI only leaves them empty behind `--insecure-skip-identity-check`.
#[derive(Clone, Debug, Default)]
pub struct IdentityPolicy {
    /// The SAN identity.
    pub identity: Option<IdentityMatcher>,
    /// The exact OIDC issuer URL.
    pub issuer: Option<String>,
    /// Identity and issuer are left to a trust policy's rule (which names keyless signers as
    /// `IDENTITY (ISSUER)`), not skipped: the report says so instead of "NOT CHECKED".
    pub decided_by_policy: bool,
}

impl IdentityPolicy {
    /// The `identity` check: one SAN value must match.
    pub fn check_identity(&self, cert: &Certificate) -> Result<String, String> {
        let ids = cert.identities();
        let Some(m) = &self.identity else {
            if self.decided_by_policy {
                return Ok(format!(
                    "certificate names {}; the policy rule decides whether it is trusted",
                    ids.join(", ")
                ));
            }
            return Ok(format!(
                "NOT CHECKED (--insecure-skip-identity-check); certificate names {}",
                ids.join(", ")
            ));
        };
        match ids.iter().find(|i| m.matches(i)) {
            Some(i) => Ok(format!("certificate identity {i} matches {m}")),
            None => Err(format!(
                "certificate identity {} does not match {m}",
                if ids.is_empty() {
                    "<none>".to_owned()
                } else {
                    ids.join(", ")
                }
            )),
        }
    }

    /// The `issuer` check: the Fulcio issuer extension must equal the expected issuer.
    pub fn check_issuer(&self, cert: &Certificate) -> Result<String, String> {
        let got = cert.oidc_issuer();
        let Some(want) = &self.issuer else {
            if self.decided_by_policy {
                return Ok(format!(
                    "certificate issuer {}; the policy rule decides whether it is trusted",
                    got.as_deref().unwrap_or("<none>")
                ));
            }
            return Ok(format!(
                "NOT CHECKED (--insecure-skip-identity-check); certificate issuer {}",
                got.as_deref().unwrap_or("<none>")
            ));
        };
        match got {
            Some(g) if g == *want => Ok(format!("OIDC issuer {g}")),
            Some(g) => Err(format!("OIDC issuer is {g}, expected {want}")),
            None => Err(format!(
                "certificate has no OIDC issuer extension (1.3.6.1.4.1.57264.1.8 or .1.1), expected {want}"
            )),
        }
    }
}

/// The private-PKI signing method (`sign --signing-certificate C --certificate-chain CHAIN
/// --private-key K`): a local P-256 key whose certificate and chain go in the bundle's
/// `x509CertificateChain` (leaf first), as model_signing writes it.
pub struct CertificateSigner {
    inner: crate::signing::KeySigner,
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
            inner: crate::signing::KeySigner::new(key).map_err(|e| Error::Malformed {
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
}

impl crate::signing::Signer for CertificateSigner {
    fn sign_pae(&self, pae: &[u8]) -> Result<Vec<u8>, crate::signing::Error> {
        self.inner.sign_pae(pae)
    }

    fn bundle(&self, envelope: Envelope) -> Result<Bundle, crate::signing::Error> {
        Ok(Bundle {
            media_type: crate::bundle::BUNDLE_MEDIA_TYPE.into(),
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
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

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

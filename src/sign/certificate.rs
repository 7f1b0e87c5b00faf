//! The private-PKI signing method, as `model_signing sign certificate` has it.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::formats::bundle::{Bundle, CertificateChain, RawCertificate, VerificationMaterial};
use crate::formats::dsse::Envelope;
use crate::keys::PrivateKey;

use crate::formats::x509::{Certificate, Error};

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

    fn report(&self) -> crate::sign::SignerReport {
        let leaf = self.leaf();
        crate::sign::SignerReport::Certificate {
            key_id: self.key_id().to_owned(),
            subject: leaf.map(|l| l.subject()),
            identities: leaf.map(|l| l.identities()).unwrap_or_default(),
        }
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

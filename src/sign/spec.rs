//! Which signer to use, as plain values: the CLI's flags and the Python package's keyword
//! arguments fill a [`SignerSpec`]; [`SignerSpec::load`] picks and builds the signer (a key file,
//! a key with its certificate, or keyless Sigstore) and finds token, URL and key problems before
//! any model byte is hashed and before any network call. [`AnySigner`] is the chosen signer and
//! [`SignerReport`] how results describe it.

use std::path::PathBuf;

use serde::Serialize;

use crate::keys;
use crate::sign::certificate::CertificateSigner;
use crate::sign::keyless::{self, KeylessSigner};
use crate::sign::{Error, KeySigner, Signer};

/// Keyless signing settings (Sigstore: Fulcio certificate, Rekor entry).
#[derive(Clone, Debug, Default)]
pub struct KeylessSpec {
    /// Fulcio, Rekor and OIDC issuer URLs, or a signing config file.
    pub config: keyless::config::Request,
    /// An OIDC identity token given directly; else the ambient one (CI) is discovered.
    pub identity_token: Option<String>,
}

/// Whom to sign as, as given (nothing loaded yet).
#[derive(Clone, Debug, Default)]
pub struct SignerSpec {
    /// The private key file (PEM, PKCS#8 or SEC1, possibly encrypted).
    pub private_key: Option<PathBuf>,
    /// Its passphrase.
    pub password: Option<String>,
    /// Certificate method: the signing certificate issued for `private_key`.
    pub signing_certificate: Option<PathBuf>,
    /// Certificate method: the chain above the signing certificate, carried in the bundle.
    pub certificate_chain: Vec<PathBuf>,
    /// Keyless instead of a key file.
    pub keyless: Option<KeylessSpec>,
}

impl SignerSpec {
    /// Builds the signer; `None` when no signer is named. A signing certificate without its
    /// private key is an input error.
    pub fn load(&self) -> Result<Option<AnySigner>, Error> {
        if let Some(k) = &self.keyless {
            let config = keyless::Config::resolve(&k.config).map_err(Error::Keyless)?;
            let token =
                keyless::token::discover(k.identity_token.as_deref()).map_err(Error::Keyless)?;
            let signer = KeylessSigner::new(config, token).map_err(Error::Keyless)?;
            return Ok(Some(AnySigner::Keyless(Box::new(signer))));
        }
        let Some(p) = &self.private_key else {
            return match self.signing_certificate {
                Some(_) => Err(Error::CertificateWithoutKey),
                None => Ok(None),
            };
        };
        let key = keys::load_private_key(p, self.password.as_deref())?;
        Ok(Some(match &self.signing_certificate {
            Some(cert) => AnySigner::Certificate(Box::new(
                CertificateSigner::new(key, cert, &self.certificate_chain)
                    .map_err(Error::Certificate)?,
            )),
            None => AnySigner::Key(KeySigner::new(key)?),
        }))
    }
}

/// The signer a [`SignerSpec`] chose.
pub enum AnySigner {
    /// A private key file.
    Key(KeySigner),
    /// A private key with its signing certificate (private PKI).
    Certificate(Box<CertificateSigner>),
    /// Keyless (Sigstore).
    Keyless(Box<KeylessSigner>),
}

/// Who signed, as a signing result reports it: the same `{kind, ...}` object verification
/// reports (docs/json.md), plus what signing learned (a keyless signature's log entry).
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SignerReport {
    /// A key.
    Key {
        /// Hex SHA-256 of the public key PEM.
        key_id: String,
    },
    /// A certificate from a private PKI.
    Certificate {
        /// The signing key's id.
        key_id: String,
        /// The leaf's subject DN.
        subject: Option<String>,
        /// The leaf's SAN values.
        identities: Vec<String>,
    },
    /// Keyless.
    Keyless {
        /// The certificate's SAN identity.
        identity: String,
        /// The OIDC issuer.
        issuer: String,
        /// Where the identity token came from.
        token_source: String,
        /// The Rekor entry's log index.
        rekor_log_index: Option<u64>,
        /// The Rekor entry's integrated time (Unix seconds).
        rekor_integrated_time: Option<i64>,
    },
}

impl AnySigner {
    /// The signer behind the trait.
    pub fn as_signer(&self) -> &dyn Signer {
        match self {
            AnySigner::Key(k) => k,
            AnySigner::Certificate(c) => c.as_ref(),
            AnySigner::Keyless(k) => k.as_ref(),
        }
    }

    /// "key <id>", "certificate <identities>" or "<identity> (issuer <iss>)", for text output.
    pub fn label(&self) -> String {
        match self {
            AnySigner::Key(k) => format!("key {}", k.key_id()),
            AnySigner::Certificate(c) => c.describe(),
            AnySigner::Keyless(k) => k.describe(),
        }
    }

    /// How results describe this signer (after signing: a keyless signer knows its log entry).
    pub fn report(&self) -> SignerReport {
        self.as_signer().report()
    }

    /// A line about the transparency log entry, for text output after signing.
    pub fn log_note(&self) -> Option<String> {
        match self {
            AnySigner::Key(_) | AnySigner::Certificate(_) => None,
            AnySigner::Keyless(k) => k
                .receipt()
                .log_index
                .map(|i| format!("Logged in Rekor at index {i}")),
        }
    }
}

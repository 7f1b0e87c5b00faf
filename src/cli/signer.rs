//! Choosing the signer from the flags: a key file or keyless (Sigstore), and how each is reported.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::CliError;
use super::args::KeylessArgs;
use super::commands::password_from_env;
use crate::keys;
use crate::sign::certificate::CertificateSigner;
use crate::sign::keyless::{self, KeylessSigner};
use crate::sign::{KeySigner, Signer};

impl From<keyless::Error> for CliError {
    fn from(e: keyless::Error) -> Self {
        Self {
            class: e.class(),
            message: e.to_string(),
        }
    }
}

/// The signer the flags chose.
pub(crate) enum AnySigner {
    /// `--private-key`.
    Key(KeySigner),
    /// `--private-key` with `--signing-certificate` (private PKI).
    Certificate(Box<CertificateSigner>),
    /// `--keyless`.
    Keyless(Box<KeylessSigner>),
}

impl AnySigner {
    /// The signer behind the trait.
    pub(crate) fn as_signer(&self) -> &dyn Signer {
        match self {
            AnySigner::Key(k) => k,
            AnySigner::Certificate(c) => c.as_ref(),
            AnySigner::Keyless(k) => k.as_ref(),
        }
    }

    /// "key <id>" or "<identity> (issuer <iss>)", for text output.
    pub(crate) fn label(&self) -> String {
        match self {
            AnySigner::Key(k) => format!("key {}", k.key_id()),
            AnySigner::Certificate(c) => c.describe(),
            AnySigner::Keyless(k) => k.describe(),
        }
    }

    /// The `signer` field of JSON output: the same `{kind, ...}` object verification reports
    /// (docs/json.md), plus what signing learned (the log entry of a keyless signature).
    pub(crate) fn json(&self) -> Value {
        match self {
            AnySigner::Key(k) => json!({"kind": "key", "key_id": k.key_id()}),
            AnySigner::Certificate(c) => {
                let leaf = c.leaf();
                json!({
                    "kind": "certificate",
                    "key_id": c.key_id(),
                    "subject": leaf.map(|l| l.subject()),
                    "identities": leaf.map(|l| l.identities()).unwrap_or_default(),
                })
            }
            AnySigner::Keyless(k) => {
                let r = k.receipt();
                json!({
                    "kind": "keyless",
                    "identity": k.identity(),
                    "issuer": k.issuer(),
                    "token_source": k.token_source().to_string(),
                    "rekor_log_index": r.log_index,
                    "rekor_integrated_time": r.integrated_time,
                })
            }
        }
    }

    /// A line about the transparency log entry, for text output after signing.
    pub(crate) fn log_note(&self) -> Option<String> {
        match self {
            AnySigner::Key(_) | AnySigner::Certificate(_) => None,
            AnySigner::Keyless(k) => k
                .receipt()
                .log_index
                .map(|i| format!("Logged in Rekor at index {i}")),
        }
    }
}

/// Builds the signer from `--private-key` (with `--signing-certificate` for the certificate
/// method) or `--keyless`; `None` when neither is given. Token and URL problems are found here,
/// before any model byte is hashed and before any network call.
pub(crate) fn choose(
    private_key: Option<&Path>,
    password_env: Option<&str>,
    signing_certificate: Option<&Path>,
    certificate_chain: &[PathBuf],
    k: &KeylessArgs,
) -> Result<Option<AnySigner>, CliError> {
    if k.keyless {
        let config = keyless::Config::resolve(&keyless::config::Request {
            fulcio_url: k.fulcio_url.clone(),
            rekor_url: k.rekor_url.clone(),
            oidc_issuer: k.oidc_issuer.clone(),
            trust_config: k.trust_config.clone(),
        })?;
        let token = keyless::token::discover(k.identity_token.as_deref())?;
        return Ok(Some(AnySigner::Keyless(Box::new(KeylessSigner::new(
            config, token,
        )?))));
    }
    match private_key {
        Some(p) => {
            let pw = password_from_env(password_env)?;
            let key = keys::load_private_key(p, pw.as_deref())?;
            match signing_certificate {
                Some(cert) => Ok(Some(AnySigner::Certificate(Box::new(
                    CertificateSigner::new(key, cert, certificate_chain)?,
                )))),
                None => Ok(Some(AnySigner::Key(KeySigner::new(key)?))),
            }
        }
        None if signing_certificate.is_some() => Err(CliError::input(
            "--signing-certificate needs --private-key KEY: the private key the certificate was issued for",
        )),
        None => Ok(None),
    }
}

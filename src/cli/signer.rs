//! Choosing the signer from the flags: a key file or keyless (Sigstore), and how each is reported.

use std::path::Path;

use serde_json::{Value, json};

use super::CliError;
use super::args::KeylessArgs;
use super::commands::password_from_env;
use crate::keyless::{self, KeylessSigner};
use crate::keys;
use crate::signing::{KeySigner, Signer};

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
    /// `--keyless`.
    Keyless(Box<KeylessSigner>),
}

impl AnySigner {
    /// The signer behind the trait.
    pub(crate) fn as_signer(&self) -> &dyn Signer {
        match self {
            AnySigner::Key(k) => k,
            AnySigner::Keyless(k) => k.as_ref(),
        }
    }

    /// "key <id>" or "<identity> (issuer <iss>)", for text output.
    pub(crate) fn label(&self) -> String {
        match self {
            AnySigner::Key(k) => format!("key {}", k.key_id()),
            AnySigner::Keyless(k) => k.describe(),
        }
    }

    /// The `signer` field of JSON output: the key id, or the certified identity and log entry.
    pub(crate) fn json(&self) -> Value {
        match self {
            AnySigner::Key(k) => json!(k.key_id()),
            AnySigner::Keyless(k) => {
                let r = k.receipt();
                json!({
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
            AnySigner::Key(_) => None,
            AnySigner::Keyless(k) => k
                .receipt()
                .log_index
                .map(|i| format!("Logged in Rekor at index {i}")),
        }
    }
}

/// Builds the signer from `--private-key` or `--keyless`; `None` when neither is given. Token and
/// URL problems are found here, before any model byte is hashed and before any network call.
pub(crate) fn choose(
    private_key: Option<&Path>,
    password_env: Option<&str>,
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
            Ok(Some(AnySigner::Key(KeySigner::new(
                keys::load_private_key(p, pw.as_deref())?,
            )?)))
        }
        None => Ok(None),
    }
}

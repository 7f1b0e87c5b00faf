//! Signer flags to the library's [`SignerSpec`]: `--private-key` (with `--password-env`),
//! `--signing-certificate` + `--certificate-chain`, or `--keyless`. The library picks and builds
//! the signer ([`SignerSpec::load`]).

use std::path::{Path, PathBuf};

use super::args::KeylessArgs;
use super::error::CliError;
use crate::sign::keyless;
use crate::sign::spec::{AnySigner, KeylessSpec, SignerSpec};

impl From<keyless::Error> for CliError {
    fn from(e: keyless::Error) -> Self {
        Self {
            class: e.class(),
            message: e.to_string(),
        }
    }
}

/// Reads a passphrase from the environment variable named by `--password-env`.
pub(crate) fn password_from_env(var: Option<&str>) -> Result<Option<String>, CliError> {
    match var {
        None => Ok(None),
        Some(var) => std::env::var(var).map(Some).map_err(|_| {
            CliError::input(format!(
                "environment variable {var} (from --password-env) is not set; export it with the key's passphrase"
            ))
        }),
    }
}

/// The signer the flags name, built by the library; `None` when no signer flag is given.
pub(crate) fn choose(
    private_key: Option<&Path>,
    password_env: Option<&str>,
    signing_certificate: Option<&Path>,
    certificate_chain: &[PathBuf],
    k: &KeylessArgs,
) -> Result<Option<AnySigner>, CliError> {
    let spec = SignerSpec {
        private_key: private_key.map(Path::to_owned),
        password: match private_key {
            Some(_) => password_from_env(password_env)?,
            None => None,
        },
        signing_certificate: signing_certificate.map(Path::to_owned),
        certificate_chain: certificate_chain.to_vec(),
        keyless: k.keyless.then(|| KeylessSpec {
            config: keyless::config::Request {
                fulcio_url: k.fulcio_url.clone(),
                rekor_url: k.rekor_url.clone(),
                oidc_issuer: k.oidc_issuer.clone(),
                trust_config: k.trust_config.clone(),
            },
            identity_token: k.identity_token.clone(),
        }),
    };
    Ok(spec.load()?)
}

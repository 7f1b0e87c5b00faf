//! Trust flags to the library's [`TrustSpec`]: `--public-key`, `--certificate-identity[-regexp]`
//! with `--certificate-oidc-issuer`, `--certificate-chain`, `--policy`, `--trust-root`,
//! `--offline`. The library pairs, validates and loads ([`Verifier::from_spec`]); nothing is
//! decided here.

use std::path::{Path, PathBuf};

use super::args::CertificateTrustArgs;
use super::error::CliError;
use crate::trust::TrustSpec;
use crate::verify::{BuildError, Verifier};

impl From<BuildError> for CliError {
    fn from(e: BuildError) -> Self {
        Self {
            class: e.class(),
            message: e.to_string(),
        }
    }
}

/// The specification the trust flags of `verify` and `pull` give (naming no trust is refused).
pub(crate) fn spec(
    public_keys: &[PathBuf],
    c: &CertificateTrustArgs,
    policy: Option<&Path>,
) -> TrustSpec {
    TrustSpec {
        public_keys: public_keys.to_vec(),
        certificate_identity: c.certificate_identity.clone(),
        certificate_identity_regexp: c.certificate_identity_regexp.clone(),
        certificate_oidc_issuer: c.certificate_oidc_issuer.clone(),
        certificate_chain: c.certificate_chain.clone(),
        insecure_skip_identity_check: c.insecure_skip_identity_check,
        policy: policy.map(Path::to_owned),
        trust_root: c.trust_root.clone(),
        offline: c.offline,
        require_trust: true,
    }
}

/// Builds the verifier a specification describes; notes go to stderr unless `quiet`.
pub(crate) fn verifier(spec: &TrustSpec, quiet: bool) -> Result<Verifier, CliError> {
    Ok(Verifier::from_spec(spec, &|w| {
        if !quiet {
            eprintln!("{w}");
        }
    })?)
}

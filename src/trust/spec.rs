//! What a user says they trust, as plain values: the CLI's flags and the Python package's
//! keyword arguments both fill a [`TrustSpec`]. [`TrustSpec::policy`] turns it into the one
//! [`TrustPolicy`] (a policy file, or the signers named directly); `verify::Verifier::from_spec`
//! adds the Sigstore trusted root when a rule needs it. Pairing an identity with its issuer and
//! refusing "no trust at all" happen here, once, for every caller.

use std::path::PathBuf;

use crate::formats::x509::Certificate;
use crate::keys;
use crate::trust::identity::IdentityMatcher;
use crate::trust::policy::{self, CommandLineTrust, TrustPolicy};
use crate::trust::signer::{PkiAnchors, TrustedSigner};

/// Whom to trust, as given (nothing loaded yet).
#[derive(Clone, Debug, Default)]
pub struct TrustSpec {
    /// Trusted public key files (PEM).
    pub public_keys: Vec<PathBuf>,
    /// Keyless or certificate method: the SAN identity the signing certificate must name.
    pub certificate_identity: Option<String>,
    /// The same as a regular expression (unanchored, as cosign).
    pub certificate_identity_regexp: Option<String>,
    /// Keyless: the OIDC issuer the certificate must name.
    pub certificate_oidc_issuer: Option<String>,
    /// Certificate method: trusted CA certificate files (PEM); the signing certificate must
    /// chain to one of them.
    pub certificate_chain: Vec<PathBuf>,
    /// Keyless: accept any identity and issuer (chain, log and signature still checked).
    pub insecure_skip_identity_check: bool,
    /// A trust policy file (YAML or JSON); the signers above are then only what it may refer to.
    pub policy: Option<PathBuf>,
    /// Keyless: pin this Sigstore trusted_root.json instead of the embedded public-good root.
    pub trust_root: Option<PathBuf>,
    /// Keyless: no TUF refresh of the public-good root.
    pub offline: bool,
    /// Whether naming no signer and no policy is an error (verify, pull) or allowed (audit,
    /// which reports every signer as unknown).
    pub require_trust: bool,
}

/// Why a trust specification cannot become a policy (all input errors, exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// A trusted key file could not be read.
    #[error(transparent)]
    Key(#[from] keys::Error),
    /// A trusted CA certificate file could not be read.
    #[error(transparent)]
    Certificate(#[from] crate::formats::x509::Error),
    /// The identity pattern is not a regular expression.
    #[error(
        "--certificate-identity-regexp is not a valid regular expression: {0}; fix the pattern"
    )]
    BadRegex(regex::Error),
    /// A keyless identity without its issuer, or an issuer without an identity.
    #[error(
        "keyless verification needs both --certificate-identity ID (or --certificate-identity-regexp RE) and --certificate-oidc-issuer URL: who signed and who vouched for them (or --insecure-skip-identity-check, which accepts anyone)"
    )]
    UnpairedIdentity,
    /// Nothing is trusted and the caller requires trust.
    #[error(
        "no trust given: pass --public-key FILE (the key from `provenance keygen --public`), --certificate-identity ID --certificate-oidc-issuer URL for keyless signatures, --certificate-chain CA.pem for certificate signatures, or --policy FILE"
    )]
    NoTrust,
    /// The policy file is unreadable or invalid.
    #[error(transparent)]
    Policy(#[from] policy::Error),
}

impl SpecError {
    /// Exit-code class: a key or policy file the user named is wrong, so always input.
    pub fn class(&self) -> crate::Class {
        match self {
            SpecError::Key(e) => e.class(),
            SpecError::Certificate(e) => e.class(),
            SpecError::Policy(e) => e.class(),
            _ => crate::Class::Input,
        }
    }
}

impl TrustSpec {
    /// The signers named directly (keys, a keyless identity with its issuer, PKI anchors).
    /// `warn` receives the insecure-identity warning.
    pub fn command_line(&self, warn: &dyn Fn(&str)) -> Result<CommandLineTrust, SpecError> {
        let mut signers = Vec::new();
        for p in &self.public_keys {
            signers.push(TrustedSigner::Key(keys::load_public_key(p)?));
        }
        let identity = match (
            &self.certificate_identity,
            &self.certificate_identity_regexp,
        ) {
            (Some(id), _) => Some(IdentityMatcher::Exact(id.clone())),
            (None, Some(re)) => Some(IdentityMatcher::Regex(
                regex::Regex::new(re).map_err(SpecError::BadRegex)?,
            )),
            (None, None) => None,
        };
        if !self.certificate_chain.is_empty() {
            let mut roots = Vec::new();
            for p in &self.certificate_chain {
                roots.extend(
                    Certificate::read_pem_file(p)?
                        .iter()
                        .map(|c| c.der().to_vec()),
                );
            }
            let origin = self
                .certificate_chain
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            signers.push(TrustedSigner::Pki {
                anchors: PkiAnchors { roots, origin },
                identity,
            });
            return Ok(CommandLineTrust { signers });
        }
        if self.insecure_skip_identity_check {
            warn(
                "warning: --insecure-skip-identity-check: any Sigstore identity is accepted; anyone can obtain such a certificate",
            );
            signers.push(TrustedSigner::AnyKeylessInsecure);
        } else {
            match (identity, &self.certificate_oidc_issuer) {
                (Some(identity), Some(issuer)) => signers.push(TrustedSigner::Keyless {
                    identity,
                    issuer: issuer.clone(),
                }),
                (None, None) => {}
                _ => return Err(SpecError::UnpairedIdentity),
            }
        }
        Ok(CommandLineTrust { signers })
    }

    /// The one trust policy this specification describes: the policy file (which may refer to
    /// the signers named directly), else those signers. Deny by default: with
    /// [`TrustSpec::require_trust`], naming nothing is [`SpecError::NoTrust`].
    pub fn policy(&self, warn: &dyn Fn(&str)) -> Result<TrustPolicy, SpecError> {
        let cli = self.command_line(warn)?;
        match &self.policy {
            Some(p) => Ok(TrustPolicy::load(p, &cli)?),
            None if self.require_trust && cli.signers.is_empty() => Err(SpecError::NoTrust),
            None => Ok(TrustPolicy::from_command_line(cli)),
        }
    }

    /// Whether `policy` needs the Sigstore trusted root loaded: a rule trusts keyless signers,
    /// or a root was pinned.
    pub fn needs_sigstore_root(&self, policy: &TrustPolicy) -> bool {
        policy.needs_sigstore_root() || self.trust_root.is_some()
    }

    /// Options for loading the Sigstore trusted root (`trust::root::load`).
    pub fn root_options(&self) -> crate::trust::root::Options {
        crate::trust::root::Options {
            pinned: self.trust_root.clone(),
            offline: self.offline,
            cache_dir: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn no_trust_is_refused_only_when_required() {
        let mut spec = TrustSpec {
            require_trust: true,
            ..TrustSpec::default()
        };
        assert!(matches!(spec.policy(&|_| {}), Err(SpecError::NoTrust)));
        spec.require_trust = false;
        let p = spec.policy(&|_| {}).unwrap();
        assert!(!p.needs_sigstore_root());
    }

    #[test]
    fn an_identity_needs_its_issuer_and_an_issuer_its_identity() {
        for (id, iss) in [(Some("a@b.example"), None), (None, Some("https://issuer"))] {
            let spec = TrustSpec {
                certificate_identity: id.map(str::to_owned),
                certificate_oidc_issuer: iss.map(str::to_owned),
                ..TrustSpec::default()
            };
            assert!(matches!(
                spec.policy(&|_| {}),
                Err(SpecError::UnpairedIdentity)
            ));
        }
        let spec = TrustSpec {
            certificate_identity: Some("a@b.example".into()),
            certificate_oidc_issuer: Some("https://issuer".into()),
            ..TrustSpec::default()
        };
        let p = spec.policy(&|_| {}).unwrap();
        assert!(spec.needs_sigstore_root(&p));
    }

    #[test]
    fn a_bad_regexp_and_the_insecure_warning_are_reported() {
        let spec = TrustSpec {
            certificate_identity_regexp: Some("(".into()),
            certificate_oidc_issuer: Some("https://issuer".into()),
            ..TrustSpec::default()
        };
        assert!(matches!(spec.policy(&|_| {}), Err(SpecError::BadRegex(_))));
        let warned = std::cell::Cell::new(false);
        let spec = TrustSpec {
            insecure_skip_identity_check: true,
            ..TrustSpec::default()
        };
        spec.policy(&|w| warned.set(w.contains("anyone"))).unwrap();
        assert!(warned.get());
    }
}

//! Turning trust flags into the library's one trust model: `--public-key`,
//! `--certificate-identity[-regexp]` + `--certificate-oidc-issuer`, `--certificate-chain` and
//! `--policy` become a [`TrustPolicy`], and the Sigstore trusted root is loaded when a rule
//! trusts keyless signers. The CLI decides nothing here; the evaluator does.

use std::path::{Path, PathBuf};

use super::CliError;
use super::args::CertificateTrustArgs;
use crate::formats::x509::Certificate;
use crate::keys;
use crate::trust::identity::IdentityMatcher;
use crate::trust::{CommandLineTrust, PkiAnchors, TrustPolicy, TrustedSigner};
use crate::verify::Verifier;

impl From<crate::trust::policy::Error> for CliError {
    fn from(e: crate::trust::policy::Error) -> Self {
        Self {
            class: e.class(),
            message: e.to_string(),
        }
    }
}

/// The signers the command-line flags name.
fn command_line_signers(
    public_keys: &[PathBuf],
    c: &CertificateTrustArgs,
    quiet: bool,
) -> Result<CommandLineTrust, CliError> {
    let mut signers = Vec::new();
    for p in public_keys {
        signers.push(TrustedSigner::Key(keys::load_public_key(p)?));
    }
    let identity = match (&c.certificate_identity, &c.certificate_identity_regexp) {
        (Some(id), _) => Some(IdentityMatcher::Exact(id.clone())),
        (None, Some(re)) => Some(IdentityMatcher::Regex(regex::Regex::new(re).map_err(|e| {
            CliError::input(format!(
                "--certificate-identity-regexp is not a valid regular expression: {e}; fix the pattern"
            ))
        })?)),
        (None, None) => None,
    };
    if !c.certificate_chain.is_empty() {
        let mut roots = Vec::new();
        for p in &c.certificate_chain {
            roots.extend(
                Certificate::read_pem_file(p)?
                    .iter()
                    .map(|c| c.der().to_vec()),
            );
        }
        let origin = c
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
    if c.insecure_skip_identity_check {
        if !quiet {
            eprintln!(
                "warning: --insecure-skip-identity-check: any Sigstore identity is accepted; anyone can obtain such a certificate"
            );
        }
        signers.push(TrustedSigner::AnyKeylessInsecure);
    } else {
        match (identity, &c.certificate_oidc_issuer) {
            (Some(identity), Some(issuer)) => signers.push(TrustedSigner::Keyless {
                identity,
                issuer: issuer.clone(),
            }),
            (None, None) => {}
            _ => {
                return Err(CliError::input(
                    "keyless verification needs both --certificate-identity ID (or --certificate-identity-regexp RE) and --certificate-oidc-issuer URL: who signed and who vouched for them (or --insecure-skip-identity-check, which accepts anyone)",
                ));
            }
        }
    }
    Ok(CommandLineTrust { signers })
}

/// What the trust flags of a command are.
pub(crate) struct TrustFlags<'a> {
    /// `--public-key` files.
    pub public_keys: &'a [PathBuf],
    /// Keyless / certificate flags.
    pub certificates: &'a CertificateTrustArgs,
    /// `--policy FILE`.
    pub policy: Option<&'a Path>,
    /// No warnings on stderr.
    pub quiet: bool,
    /// An empty trust (no flag at all) is an error, with this hint; `None` allows it (audit).
    pub require: bool,
}

/// Builds the evaluator the flags describe.
pub(crate) fn evaluator(f: &TrustFlags<'_>) -> Result<Verifier, CliError> {
    let cli = command_line_signers(f.public_keys, f.certificates, f.quiet)?;
    let policy = match f.policy {
        Some(p) => TrustPolicy::load(p, &cli)?,
        None => {
            if f.require && cli.signers.is_empty() {
                return Err(CliError::input(
                    "no trust given: pass --public-key FILE (the key from `provenance keygen --public`), --certificate-identity ID --certificate-oidc-issuer URL for keyless signatures, --certificate-chain CA.pem for certificate signatures, or --policy FILE",
                ));
            }
            TrustPolicy::from_command_line(cli)
        }
    };
    let root = if policy.needs_sigstore_root() || f.certificates.trust_root.is_some() {
        let quiet = f.quiet;
        Some(crate::trust::root::load(
            &crate::trust::root::Options {
                pinned: f.certificates.trust_root.clone(),
                offline: f.certificates.offline,
                cache_dir: None,
            },
            &|w| {
                if !quiet {
                    eprintln!("{w}");
                }
            },
        )?)
    } else {
        None
    };
    Verifier::new(policy, root).map_err(|e| CliError::input(e.to_string()))
}

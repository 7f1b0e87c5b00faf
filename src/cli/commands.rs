//! Command bodies: resolve raw arguments into library objects, call the library, render output.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::json;

use super::CliError;
use super::args::{
    CertificateTrustArgs, InspectArgs, KeygenArgs, ModelArgs, Output, SignArgs, VerifyArgs,
};
use super::progress;
use crate::bundle::Bundle;
use crate::certificate::{self, Certificate, IdentityMatcher, IdentityPolicy};
use crate::chain;
use crate::keys;
use crate::model;
use crate::policy::{Policy, VerifiedSignature};
use crate::signing;
use crate::statement::{self, SerializationMethod, Statement};
use crate::trust_root;
use crate::verification::{self, KeylessTrust, PkiTrust, Report, TrustedKeys};

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

/// Parses `--metadata key=value` pairs: `=` required, key non-empty and unique, reserved prefix refused.
pub(crate) fn parse_metadata(pairs: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    let mut out = BTreeMap::new();
    for pair in pairs {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(CliError::input(format!(
                "--metadata `{pair}` has no `=`; write it as key=value, e.g. --metadata author=alice"
            )));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(CliError::input(format!(
                "--metadata `{pair}` has an empty key; write it as key=value"
            )));
        }
        if k.starts_with(statement::RESERVED_PREFIX) {
            return Err(CliError::input(format!(
                "--metadata key `{k}` uses the reserved prefix `{}`; choose another key",
                statement::RESERVED_PREFIX
            )));
        }
        if out.insert(k.to_owned(), v.to_owned()).is_some() {
            return Err(CliError::input(format!(
                "--metadata key `{k}` is given twice; give each key once"
            )));
        }
    }
    Ok(out)
}

/// `<model>.sig` beside the model (a trailing slash on a folder is ignored).
pub(crate) fn default_signature_path(model: &Path) -> PathBuf {
    let name = model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(|| {
            std::fs::canonicalize(model)
                .ok()
                .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .unwrap_or_else(|| "model".into());
    let parent = model
        .components()
        .next_back()
        .and_then(|_| model.parent())
        .unwrap_or(Path::new(""));
    parent.join(format!("{name}.sig"))
}

fn model_and_signature(m: &ModelArgs, verb: &str) -> Result<(PathBuf, PathBuf), CliError> {
    let Some(model) = m.model.clone() else {
        return Err(CliError::input(format!(
            "nothing to {verb}: pass --model PATH for a model on disk, or a REF for a model in a registry"
        )));
    };
    let sig = m
        .manifest
        .clone()
        .unwrap_or_else(|| default_signature_path(&model));
    Ok((model, sig))
}

pub(crate) fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

/// `keygen`.
pub fn keygen(a: KeygenArgs) -> Result<(), CliError> {
    let password = password_from_env(a.password_env.as_deref())?;
    let key = keys::PrivateKey::generate()?;
    let public = keys::write_key_pair(&key, &a.private, &a.public, password.as_deref(), a.force)?;
    match a.common.output {
        Output::Json => print_json(&json!({
            "private_key": a.private,
            "public_key": a.public,
            "key_id": public.id(),
            "encrypted": password.is_some(),
        })),
        Output::Text => {
            println!("{}", public.id());
            if !a.common.quiet {
                eprintln!(
                    "# private key: {} (mode 0600{})\n# public key: {}\n# key id: {}",
                    a.private.display(),
                    if password.is_some() {
                        ", encrypted"
                    } else {
                        ""
                    },
                    a.public.display(),
                    public.id()
                );
            }
        }
    }
    Ok(())
}

/// Listing options for signing from the flags.
fn listing_options(a: &SignArgs, sig: &Path) -> model::Options {
    model::Options {
        ignore_paths: a.ignore_paths.clone(),
        ignore_git: !a.no_ignore_git_paths,
        allow_symlinks: a.allow_symlinks,
        signature_path: Some(sig.to_owned()),
    }
}

/// `sign`.
pub fn sign(a: SignArgs) -> Result<(), CliError> {
    // Everything that can fail on input is checked before the model is hashed.
    let metadata = parse_metadata(&a.metadata)?;
    let Some(signer) = super::signer::choose(
        a.private_key.as_deref(),
        a.password_env.as_deref(),
        a.signing_certificate.as_deref(),
        &a.certificate_chain,
        &a.keyless,
    )?
    else {
        return Err(CliError::input(
            "no signer given: pass --private-key KEY (from `provenance keygen`) or --keyless (Sigstore, with an OIDC identity token)",
        ));
    };
    if let Some(reference) = &a.reference {
        return super::oci::sign_reference(
            reference,
            &a.registry,
            &signer,
            metadata,
            a.common.output,
            a.common.quiet,
        );
    }
    let (model_path, sig_path) = model_and_signature(&a.model, "sign")?;
    let method = match a.shard_size {
        None => SerializationMethod::Files,
        Some(0) => return Err(model::Error::BadShardSize.into()),
        Some(n) => SerializationMethod::Shards { shard_size: n },
    };
    let listing = model::list(&model_path, &listing_options(&a, &sig_path))?;
    let bar = progress::bytes_bar(listing.total_bytes(), a.common.quiet, "hashing");
    let resources = model::resources(&listing, &method, &|n| bar.inc(n))?;
    bar.finish_and_clear();
    let st = Statement::new(
        listing.name.clone(),
        resources,
        model::serialization_for(&listing, method),
        metadata,
    );
    let bundle = signing::sign_statement(&st, signer.as_signer())?;
    bundle.write(&sig_path)?;
    match a.common.output {
        Output::Json => print_json(&json!({
            "signature": sig_path,
            "subject": st.name,
            "root_digest": format!("sha256:{}", st.root_digest),
            "resources": st.resources.len(),
            "bytes": listing.total_bytes(),
            "signer": signer.json(),
            "metadata": st.user_metadata(),
        })),
        Output::Text => {
            println!(
                "Signed {} ({} resources, {} bytes) with {}",
                model_path.display(),
                st.resources.len(),
                listing.total_bytes(),
                signer.label()
            );
            if let Some(note) = signer.log_note() {
                println!("{note}");
            }
            println!("Signature written to {}", sig_path.display());
        }
    }
    Ok(())
}

/// Resolves every trust flag into [`TrustedKeys`]: public keys, a private PKI's roots, and
/// keyless identity + trusted root (loaded, and maybe refreshed, only when keyless flags are given).
pub(crate) fn load_trusted_keys(
    paths: &[PathBuf],
    c: &CertificateTrustArgs,
    quiet: bool,
) -> Result<TrustedKeys, CliError> {
    let keys = paths
        .iter()
        .map(|p| keys::load_public_key(p))
        .collect::<Result<Vec<_>, _>>()?;
    let trust = with_certificate_trust(keys, c, quiet, false)?;
    if trust.keys.is_empty() && trust.keyless.is_none() && trust.certificates.is_none() {
        return Err(CliError::input(
            "no trust given: pass --public-key FILE (the key from `provenance keygen --public`), --certificate-identity ID --certificate-oidc-issuer URL for keyless signatures, or --certificate-chain CA.pem for certificate signatures",
        ));
    }
    Ok(trust)
}

/// Adds the keyless (Sigstore trusted root + identity) and certificate-chain trust the options
/// ask for to `keys`. With `policy_identities` (a trust policy names keyless signers), keyless
/// bundles are checked against the trusted root even without identity flags, and the policy
/// rule, not the flags, decides which identity is trusted.
fn with_certificate_trust(
    keys: Vec<crate::keys::PublicKey>,
    c: &CertificateTrustArgs,
    quiet: bool,
    policy_identities: bool,
) -> Result<TrustedKeys, CliError> {
    let identity = match (&c.certificate_identity, &c.certificate_identity_regexp) {
        (Some(id), _) => Some(IdentityMatcher::Exact(id.clone())),
        (None, Some(re)) => Some(IdentityMatcher::Regex(regex::Regex::new(re).map_err(|e| {
            CliError::input(format!(
                "--certificate-identity-regexp is not a valid regular expression: {e}; fix the pattern"
            ))
        })?)),
        (None, None) => None,
    };
    let mut trust = TrustedKeys {
        keys,
        ..TrustedKeys::default()
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
        trust.certificates = Some(PkiTrust {
            roots,
            policy: IdentityPolicy {
                identity,
                issuer: None,
                decided_by_policy: false,
            },
        });
    } else if identity.is_some()
        || c.certificate_oidc_issuer.is_some()
        || c.insecure_skip_identity_check
        || c.trust_root.is_some()
        || policy_identities
    {
        let by_policy =
            policy_identities && identity.is_none() && c.certificate_oidc_issuer.is_none();
        if !c.insecure_skip_identity_check
            && !by_policy
            && (identity.is_none() || c.certificate_oidc_issuer.is_none())
        {
            return Err(CliError::input(
                "keyless verification needs both --certificate-identity ID (or --certificate-identity-regexp RE) and --certificate-oidc-issuer URL: who signed and who vouched for them (or --insecure-skip-identity-check, which accepts anyone)",
            ));
        }
        if c.insecure_skip_identity_check && !quiet {
            eprintln!(
                "warning: --insecure-skip-identity-check: any Sigstore identity is accepted; anyone can obtain such a certificate"
            );
        }
        let root = trust_root::load(
            &trust_root::Options {
                pinned: c.trust_root.clone(),
                offline: c.offline,
                cache_dir: None,
            },
            &|w| {
                if !quiet {
                    eprintln!("{w}");
                }
            },
        )?;
        trust.keyless = Some(KeylessTrust {
            root,
            policy: IdentityPolicy {
                identity,
                issuer: c.certificate_oidc_issuer.clone(),
                decided_by_policy: by_policy,
            },
        });
    }
    Ok(trust)
}

/// Key material and trust for `verify`/`pull`: without a policy, the `--public-key` keys (at
/// least one); with one, those keys plus every public key the policy lists, and the ids of the
/// command-line keys (the policy decides which are trusted).
pub(crate) fn trust_material(
    paths: &[PathBuf],
    certificates: &CertificateTrustArgs,
    quiet: bool,
    policy: Option<&Policy>,
) -> Result<(TrustedKeys, BTreeSet<String>), CliError> {
    let Some(policy) = policy else {
        let trust = load_trusted_keys(paths, certificates, quiet)?;
        let ids = trust.keys.iter().map(|k| k.id().to_owned()).collect();
        return Ok((trust, ids));
    };
    let mut keys = paths
        .iter()
        .map(|p| keys::load_public_key(p))
        .collect::<Result<Vec<_>, _>>()?;
    let ids: BTreeSet<String> = keys.iter().map(|k| k.id().to_owned()).collect();
    for k in policy.public_keys() {
        if !keys.iter().any(|have| have.id() == k.id()) {
            keys.push(k);
        }
    }
    let trust = with_certificate_trust(keys, certificates, quiet, policy.has_identity_signers())?;
    if trust.keys.is_empty() && trust.keyless.is_none() && trust.certificates.is_none() {
        return Err(CliError::input(format!(
            "policy {} lists no public keys and no --public-key was given, so no signature can be checked; add `public_key` entries to its trusted_signers or pass --public-key FILE",
            policy.path.display()
        )));
    }
    Ok((trust, ids))
}

/// The policy scope of a model on disk: `local/<file or folder name>` (the name it is signed
/// under), taken from the path being verified, not from the signature's claims.
pub(crate) fn local_scope(model: &Path) -> String {
    let name = default_signature_path(model)
        .file_name()
        .map(|n| {
            let n = n.to_string_lossy();
            n.strip_suffix(".sig").unwrap_or(&n).to_owned()
        })
        .unwrap_or_default();
    format!("local/{name}")
}

/// Prints a verification report (text or JSON); returns the error for a failed one.
fn render_report(
    result: Result<Report, verification::Error>,
    output: Output,
    target: &str,
) -> Result<(), CliError> {
    match result {
        Ok(report) => {
            match output {
                Output::Json => print_json(&json!({"target": target, "report": report})),
                Output::Text => {
                    println!("Provenance verified successfully");
                    for c in &report.checks {
                        println!("  ok  {:<10} {}", c.name, c.detail);
                    }
                    if !report.metadata.is_empty() {
                        println!("  metadata:");
                        for (k, v) in &report.metadata {
                            println!("    {k} = {v}");
                        }
                    }
                }
            }
            Ok(())
        }
        Err(verification::Error::NotTrusted(report)) => {
            match output {
                Output::Json => print_json(&json!({"target": target, "report": report})),
                Output::Text => {
                    // Policy rules are all reported (they are independent), so show them.
                    if report.checks.iter().any(|c| c.name.starts_with("policy:")) {
                        for c in &report.checks {
                            println!(
                                "  {}  {:<24} {}",
                                if c.passed { "ok  " } else { "FAIL" },
                                c.name,
                                c.detail
                            );
                        }
                    }
                }
            }
            let failed = report.failed_check();
            Err(CliError {
                class: crate::Class::NotTrusted,
                message: format!(
                    "verification FAILED for {target} at check `{}`: {}; do not use this model",
                    failed.map(|c| c.name.as_str()).unwrap_or("?"),
                    failed.map(|c| c.detail.as_str()).unwrap_or("")
                ),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// `verify`.
pub fn verify(a: VerifyArgs) -> Result<(), CliError> {
    let policy = a.policy.as_deref().map(Policy::load).transpose()?;
    if let Some(reference) = &a.reference {
        let (trust, ids) = trust_material(
            &a.public_key,
            &a.certificates,
            a.common.quiet,
            policy.as_ref(),
        )?;
        let check = policy.as_ref().map(|policy| chain::PolicyCheck {
            policy,
            command_line_keys: ids,
        });
        return super::oci::verify_reference(
            reference,
            &a.registry,
            &trust,
            check.as_ref(),
            a.common.output,
        );
    }
    let (model_path, sig_path) = model_and_signature(&a.model, "verify")?;
    if !model_path.exists() {
        return Err(CliError::input(format!(
            "model {} does not exist; check the --model path",
            model_path.display()
        )));
    }
    let (trust, ids) = trust_material(
        &a.public_key,
        &a.certificates,
        a.common.quiet,
        policy.as_ref(),
    )?;
    let bundle = Bundle::read(&sig_path)?;
    let size = model::list(
        &model_path,
        &model::Options {
            signature_path: Some(sig_path.clone()),
            ..model::Options::default()
        },
    )
    .map(|l| l.total_bytes())
    .unwrap_or(0);
    let bar = progress::bytes_bar(size, a.common.quiet, "verifying");
    let target = verification::ModelTarget {
        model: &model_path,
        signature_path: Some(sig_path),
    };
    let mut result = verification::verify_model(&bundle, &trust, &target, &|n| bar.inc(n));
    bar.finish_and_clear();
    if let (Some(policy), Ok(report)) = (&policy, &result) {
        // One signature file on disk: min_signatures above 1 needs the registry, where each
        // signer attaches a referrer.
        let sig = VerifiedSignature {
            key_id: report.signer.clone().unwrap_or_default(),
            verified: true,
            metadata: report.metadata.clone(),
        };
        let decision = policy.decide(&local_scope(&model_path), &ids, &[sig]);
        let mut report = report.clone();
        let passed = decision.passed();
        report.checks.extend(decision.checks);
        report.verified = passed;
        result = if passed {
            Ok(report)
        } else {
            Err(verification::Error::NotTrusted(Box::new(report)))
        };
    }
    render_report(result, a.common.output, &model_path.display().to_string())
}

fn leaf_certificate(bundle: &Bundle) -> Option<Certificate> {
    let vm = &bundle.verification_material;
    let b64 = vm
        .certificate
        .as_ref()
        .map(|c| c.raw_bytes.as_str())
        .or_else(|| {
            vm.x509_certificate_chain
                .as_ref()
                .and_then(|c| c.certificates.first())
                .map(|c| c.raw_bytes.as_str())
        })?;
    Certificate::from_base64(b64, "certificate").ok()
}

/// `inspect`: shows the claims of a signature without verifying them.
pub fn inspect(a: InspectArgs) -> Result<(), CliError> {
    let bundle = Bundle::read(&a.manifest)?;
    let payload = bundle.dsse_envelope.payload_bytes()?;
    let st = Statement::parse(&payload)?;
    let vm = &bundle.verification_material;
    let signer = if let Some(pk) = &vm.public_key {
        json!({"type": "key", "key_id": pk.hint})
    } else if let Some(leaf) = leaf_certificate(&bundle) {
        json!({
            "type": if vm.certificate.is_some() { "keyless" } else { "certificate" },
            "identities": leaf.identities(),
            "oidc_issuer": leaf.oidc_issuer(),
            "subject": leaf.subject(),
            "not_before": certificate::fmt_time(leaf.not_before()),
            "not_after": certificate::fmt_time(leaf.not_after()),
        })
    } else {
        json!(null)
    };
    let method = match st.serialization.method {
        SerializationMethod::Files => json!({"method": "files"}),
        SerializationMethod::Shards { shard_size } => {
            json!({"method": "shards", "shard_size": shard_size})
        }
    };
    let binding = st.annotations.get(statement::ANNOTATION_MANIFEST_DIGEST);
    match a.common.output {
        Output::Json => print_json(&json!({
            "verified": false,
            "note": "inspect does not verify; run `provenance verify`",
            "signature": a.manifest,
            "signer": signer,
            "subject": {"name": st.name, "digest": {"sha256": st.root_digest}},
            "predicate_type": st.predicate_type,
            "serialization": method,
            "ignore_paths": st.serialization.ignore_paths,
            "resources": st.resources.len(),
            "metadata": st.user_metadata(),
            "oci_manifest_digest": binding,
            "tlog_entries": vm.tlog_entries.len(),
        })),
        Output::Text => {
            println!(
                "NOT VERIFIED: inspect shows what the signature claims; run `provenance verify` to check it"
            );
            println!("signature:      {}", a.manifest.display());
            match &vm.public_key {
                Some(pk) => println!("signer key id:  {}", pk.hint),
                None => match leaf_certificate(&bundle) {
                    Some(leaf) => println!(
                        "signer:         certificate {} ({})",
                        leaf.identities().join(", "),
                        leaf.oidc_issuer().unwrap_or_else(|| leaf.subject())
                    ),
                    None => println!("signer:         certificate"),
                },
            }
            println!("subject:        {} sha256:{}", st.name, st.root_digest);
            println!("predicate:      {}", st.predicate_type);
            println!("method:         {method}");
            println!("resources:      {}", st.resources.len());
            if let Some(d) = binding {
                println!("oci manifest:   {d}");
            }
            for (k, v) in st.user_metadata() {
                println!("metadata:       {k} = {v}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn signature_defaults_beside_the_model() {
        assert_eq!(
            default_signature_path(Path::new("model.pt")),
            PathBuf::from("model.pt.sig")
        );
        assert_eq!(
            default_signature_path(Path::new("models/bert/")),
            PathBuf::from("models/bert.sig")
        );
    }

    #[test]
    fn metadata_rejects_missing_equals_empty_and_duplicate_keys() {
        assert!(parse_metadata(&["a".into()]).is_err());
        assert!(parse_metadata(&["=v".into()]).is_err());
        assert!(parse_metadata(&["a=1".into(), "a=2".into()]).is_err());
        assert!(parse_metadata(&["dev.provenance.x=1".into()]).is_err());
        let m = parse_metadata(&["author=Your Name".into(), "h=sha256:ab=c".into()]).unwrap();
        assert_eq!(m["h"], "sha256:ab=c");
    }
}

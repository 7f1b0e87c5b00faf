//! Command bodies: resolve raw arguments into library objects, call the library, render output.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::args::{InspectArgs, KeygenArgs, ModelArgs, Output, SignArgs, VerifyArgs};
use super::error::CliError;
use super::progress;
use super::render::{self, esc, parse_metadata, print_json, print_warnings};

use crate::formats::bundle::Bundle;
use crate::formats::statement::SerializationMethod;
use crate::keys;
use crate::model;
use crate::sign;

/// `<model>.sig` beside the model: the library's one rule ([`model::signature_path`]).
pub(crate) fn default_signature_path(model: &Path) -> PathBuf {
    model::signature_path(model)
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

/// `keygen`.
pub fn keygen(a: KeygenArgs) -> Result<(), CliError> {
    let password = super::signer::password_from_env(a.password_env.as_deref())?;
    let made = keys::generate(a.curve, &a.private, &a.public, password.as_deref(), a.force)?;
    match a.common.output() {
        Output::Json => print_json(&json!(made)),
        Output::Text => {
            println!("{}", made.key_id);
            if !a.common.quiet {
                eprintln!(
                    "# private key: {} (mode 0600{})\n# public key: {}\n# key id: {}",
                    made.private_key.display(),
                    if made.encrypted { ", encrypted" } else { "" },
                    made.public_key.display(),
                    made.key_id
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
            a.common.output(),
            a.common.quiet,
        );
    }
    let (model_path, sig_path) = model_and_signature(&a.model, "sign")?;
    let request = sign::SignFiles {
        model: model_path.clone(),
        signature: Some(sig_path.clone()),
        options: listing_options(&a, &sig_path),
        method: match a.shard_size {
            None => SerializationMethod::Files,
            Some(n) => SerializationMethod::Shards { shard_size: n },
        },
        metadata,
    };
    let total = model::list(&model_path, &request.options)
        .map(|l| l.total_bytes())
        .unwrap_or(0);
    let bar = progress::bytes_bar(total, a.common.quiet, "hashing");
    let signed = sign::sign_files(&request, signer.as_signer(), &|n| bar.inc(n));
    bar.finish_and_clear();
    let signed = signed?;
    print_warnings(&signed.warnings, a.common.quiet);
    let st = &signed.statement;
    match a.common.output() {
        Output::Json => print_json(&json!(signed)),
        Output::Text => {
            println!(
                "Signed {} ({} resources, {} bytes) with {}",
                model_path.display(),
                st.resources.len(),
                signed.bytes,
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

/// `verify`: the flags become a trust policy, the library decides, the verdict is rendered.
pub fn verify(a: VerifyArgs) -> Result<(), CliError> {
    let evaluator = super::trust::verifier(
        &super::trust::spec(&a.public_key, &a.certificates, a.policy.as_deref()),
        a.common.quiet,
    )?;
    if let Some(reference) = &a.reference {
        return super::oci::verify_reference(reference, &a.registry, &evaluator, a.common.output());
    }
    let (model_path, sig_path) = model_and_signature(&a.model, "verify")?;
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
    let options = crate::verify::FileOptions {
        model: model::Options {
            ignore_paths: a.ignore_paths.clone(),
            ignore_git: !a.no_ignore_git_paths,
            allow_symlinks: a.allow_symlinks,
            signature_path: None,
        },
        ignore_unsigned_files: a.ignore_unsigned_files,
    };
    let verdict = crate::verify::files(&evaluator, &model_path, &sig_path, &options, &|n| {
        bar.inc(n)
    });
    bar.finish_and_clear();
    let verdict = verdict?;
    render::verdict(&verdict, a.common.output());
    if verdict.verified {
        Ok(())
    } else {
        Err(render::not_trusted(&verdict, "do not use this model"))
    }
}

/// `inspect`: shows the claims of a signature without verifying them.
pub fn inspect(a: InspectArgs) -> Result<(), CliError> {
    use crate::verify::claims::{self, ClaimedSigner};
    let bundle = Bundle::read(&a.manifest)?;
    let i = claims::inspect(&bundle, a.manifest.clone()).map_err(|e| match e {
        claims::Error::Dsse(e) => CliError::from(e),
        claims::Error::Statement(e) => CliError::from(e),
    })?;
    match a.common.output() {
        Output::Json => print_json(&serde_json::to_value(&i).unwrap_or_default()),
        Output::Text => {
            println!(
                "NOT VERIFIED: inspect shows what the signature claims; run `provenance verify` to check it"
            );
            println!("signature:      {}", esc(&a.manifest.display().to_string()));
            match &i.signer {
                ClaimedSigner::Key { key_id } => println!("signer key id:  {}", esc(key_id)),
                ClaimedSigner::Keyless(c) | ClaimedSigner::Certificate(c) => println!(
                    "signer:         certificate {} ({})",
                    esc(&c.identities.join(", ")),
                    esc(c.oidc_issuer.as_deref().unwrap_or(&c.subject))
                ),
                ClaimedSigner::None => println!("signer:         none named"),
            }
            println!(
                "subject:        {} {}",
                esc(&i.subject),
                esc(&i.root_digest)
            );
            println!("predicate:      {}", esc(&i.predicate_type));
            match i.serialization.shard_size {
                Some(n) => println!("method:         shards (shard size {n})"),
                None => println!("method:         {}", i.serialization.method),
            }
            println!("resources:      {}", i.resources);
            if let Some(d) = &i.oci_manifest_digest {
                println!("oci manifest:   {}", esc(d));
            }
            for (k, v) in &i.metadata {
                println!("metadata:       {} = {}", esc(k), esc(v));
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

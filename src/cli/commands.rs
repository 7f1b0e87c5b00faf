//! Command bodies: resolve raw arguments into library objects, call the library, render output.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::args::{
    DigestArgs, InspectArgs, KeygenArgs, ModelArgs, Output, SignArgs, TreeArgs, VerifyArgs,
};
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

/// What a command's positional argument names: a model on disk, or an OCI reference.
pub(crate) enum Target {
    /// A model file or folder, with its signature file.
    Disk { model: PathBuf, signature: PathBuf },
    /// A reference in a registry or the local store, as typed.
    Reference(String),
}

/// Whether `s` is written as a path rather than a reference: `./m`, `../m`, `/m`, `~/m`, `m/`.
/// Such a name never reaches a registry, even when nothing exists there.
pub(crate) fn written_as_path(s: &str) -> bool {
    s.starts_with("./")
        || s.starts_with("../")
        || s.starts_with('/')
        || s.starts_with("~/")
        || s.ends_with('/')
        || s == "."
        || s == ".."
}

/// Reads `--model`/`--signature` and the positional argument: a positional naming an existing
/// file or folder is a model on disk (as model_signing and `audit` read it); one written as a
/// path that does not exist is an input error; anything else is a reference.
pub(crate) fn target(
    m: &ModelArgs,
    positional: Option<&str>,
    verb: &str,
) -> Result<Target, CliError> {
    let model = match (positional, &m.model) {
        (Some(p), _) if Path::new(p).exists() => PathBuf::from(p),
        (Some(p), _) if written_as_path(p) => {
            return Err(CliError::input(format!(
                "model {} does not exist; check the path",
                esc(p)
            )));
        }
        (Some(r), _) => {
            if m.signature.is_some() {
                return Err(CliError::input(format!(
                    "--signature is for a model on disk, and {} is not a file or folder here (it is read as a registry reference); check the path",
                    esc(r)
                )));
            }
            return Ok(Target::Reference(r.to_owned()));
        }
        (None, Some(model)) => model.clone(),
        (None, None) => {
            return Err(CliError::input(format!(
                "nothing to {verb}: pass a model file or folder (or --model PATH), or a REF for a model in a registry"
            )));
        }
    };
    let signature = m
        .signature
        .clone()
        .unwrap_or_else(|| default_signature_path(&model));
    Ok(Target::Disk { model, signature })
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
    let metadata = parse_metadata(&a.metadata, &a.registry)?;
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
    let (model_path, sig_path) = match target(&a.model, a.reference.as_deref(), "sign")? {
        Target::Disk { model, signature } => (model, signature),
        Target::Reference(reference) => {
            return super::oci::sign_reference(
                &reference,
                &a.registry,
                &signer,
                metadata,
                a.common.output(),
                a.common.quiet,
            );
        }
    };
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

/// `digest`: the root digest of a file or folder, as `sign` would record it.
pub fn digest(a: DigestArgs) -> Result<(), CliError> {
    let options = model::Options {
        ignore_paths: a.ignore_paths.clone(),
        ignore_git: !a.no_ignore_git_paths,
        allow_symlinks: a.allow_symlinks,
        signature_path: None,
    };
    let method = match a.shard_size {
        None => SerializationMethod::Files,
        Some(n) => SerializationMethod::Shards { shard_size: n },
    };
    let total = model::list(&a.path, &options)
        .map(|l| l.total_bytes())
        .unwrap_or(0);
    let bar = progress::bytes_bar(total, a.common.quiet, "hashing");
    let d = model::digest(&a.path, &options, &method, &|n| bar.inc(n));
    bar.finish_and_clear();
    // The library's message names `--model`; `digest` takes a PATH.
    let d = d.map_err(|e| match e {
        model::Error::Unreadable { path, source } => {
            let message = format!("cannot read {}: {source}; check the PATH", path.display());
            match (model::Error::Unreadable { path, source }).class() {
                crate::Class::Environment => CliError::environment(message),
                _ => CliError::input(message),
            }
        }
        other => other.into(),
    })?;
    print_warnings(&d.warnings, a.common.quiet);
    match a.common.output() {
        Output::Json => print_json(&json!(d)),
        Output::Text => println!("{}", d.digest),
    }
    Ok(())
}

/// `verify`: the flags become a trust policy, the library decides, the verdict is rendered.
pub fn verify(a: VerifyArgs) -> Result<(), CliError> {
    let evaluator = super::trust::verifier(
        &super::trust::spec(&a.public_key, &a.certificates, a.policy.as_deref()),
        a.common.quiet,
    )?;
    let (model_path, sig_path) = match target(&a.model, a.reference.as_deref(), "verify")? {
        Target::Disk { model, signature } => (model, signature),
        Target::Reference(reference) => {
            return super::oci::verify_reference(
                &reference,
                &a.registry,
                &evaluator,
                a.common.output(),
            );
        }
    };
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

/// What `inspect`'s argument names: a signature file (by name: `*.sig`, `*.json`), a model on
/// disk (its `<model>.sig`), or a reference.
fn inspect_target(a: &InspectArgs) -> Result<Target, CliError> {
    if let Some(sig) = &a.signature {
        return Ok(Target::Disk {
            model: PathBuf::new(),
            signature: sig.clone(),
        });
    }
    let Some(t) = a.target.as_deref() else {
        return Err(CliError::input(
            "nothing to inspect: pass a signature file, a model (its <model>.sig is shown), or a REF",
        ));
    };
    let path = Path::new(t);
    let is_signature_name = t.ends_with(".sig") || t.ends_with(".json");
    if path.is_file() && is_signature_name {
        return Ok(Target::Disk {
            model: PathBuf::new(),
            signature: path.to_owned(),
        });
    }
    target(
        &ModelArgs {
            model: None,
            signature: None,
        },
        Some(t),
        "inspect",
    )
}

/// `inspect`: shows the claims of a signature (or of a model in a store and every signature
/// attached to it) without verifying them.
pub fn inspect(a: InspectArgs) -> Result<(), CliError> {
    use crate::verify::claims;
    let signature = match inspect_target(&a)? {
        Target::Disk { signature, .. } => signature,
        Target::Reference(r) => {
            let (r, store) = super::oci::open(&r, &a.registry)?;
            let i = claims::inspect_reference(store.as_ref(), &r)?;
            match a.common.output() {
                Output::Json => print_json(&json!(i)),
                Output::Text => render::reference_inspection(&i),
            }
            return Ok(());
        }
    };
    let bundle = Bundle::read(&signature)?;
    let i = claims::inspect(&bundle, signature.clone()).map_err(|e| match e {
        claims::Error::Dsse(e) => CliError::from(e),
        claims::Error::Statement(e) => CliError::from(e),
    })?;
    match a.common.output() {
        Output::Json => print_json(&json!(i)),
        Output::Text => {
            println!(
                "NOT VERIFIED: inspect shows what the signature claims; run `provenance verify` to check it"
            );
            println!("signature:      {}", esc(&signature.display().to_string()));
            render::claims(&i);
        }
    }
    Ok(())
}

/// `tree`: a reference and the signatures attached to it, as `oras discover --format tree`.
pub fn tree(a: TreeArgs) -> Result<(), CliError> {
    let (r, store) = super::oci::open(&a.reference, &a.registry)?;
    let i = crate::verify::claims::inspect_reference(store.as_ref(), &r)?;
    match a.common.output() {
        Output::Json => print_json(&json!(i)),
        Output::Text => render::tree(&i),
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
        let r = super::super::args::RegistryArgs::default();
        assert!(parse_metadata(&["a".into()], &r).is_err());
        assert!(parse_metadata(&["=v".into()], &r).is_err());
        assert!(parse_metadata(&["a=1".into(), "a=2".into()], &r).is_err());
        assert!(parse_metadata(&["dev.provenance.x=1".into()], &r).is_err());
        let m = parse_metadata(&["author=Your Name".into(), "h=sha256:ab=c".into()], &r).unwrap();
        assert_eq!(m["h"], "sha256:ab=c");
    }
}

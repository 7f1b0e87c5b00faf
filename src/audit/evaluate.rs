//! One signature through the Verifier, into an [`Entry`] with its findings (revocation,
//! unknown signer, claimed statement).

use super::discover::{BundleBytes, Item, file_name, sig_beside};
use super::*;

pub(super) fn short(id: &str) -> &str {
    id.get(..16).unwrap_or(id)
}

pub(super) fn revoked_findings(e: &mut Entry, r: &Revocation, checked: bool) {
    let when = r
        .revoked_at
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .map(|t| format!(" at {t}"))
        .unwrap_or_default();
    let how = if checked {
        "the signature verifies with it"
    } else {
        "the key is revoked by id only, so the signature was not checked"
    };
    e.find(
        FindingKind::RevokedKey,
        format!(
            "signed by key {} revoked{when} ({}); {how}",
            r.key_id, r.source
        ),
    );
    if e.signed_at.is_none() {
        e.find(
            FindingKind::NoTrustedTimestamp,
            "no trusted timestamp; cannot prove it predates the revocation",
        );
    }
}

pub(super) fn claimed_statement(b: &Bundle) -> Option<Statement> {
    b.dsse_envelope
        .payload_bytes()
        .ok()
        .and_then(|p| Statement::parse(&p).ok())
}

/// The revocation behind a revoked key id: a listed one, else the policy rule that revokes it.
pub(super) fn revocation_for(key_id: &str, cfg: &AuditConfig) -> Revocation {
    if let Some(r) = cfg.revoked.iter().find(|r| r.key_id == key_id) {
        return r.clone();
    }
    let rule = cfg
        .evaluator
        .policy
        .rules
        .iter()
        .find(|r| {
            r.revoked.iter().any(|p| {
                p == &crate::trust::signer::Principal::Key(key_id.to_owned())
                    || p.to_string() == key_id
            })
        })
        .map(|r| format!("policy rule `{}`", r.name))
        .unwrap_or_else(|| "policy".into());
    Revocation {
        key_id: key_id.to_owned(),
        key: None,
        revoked_at: None,
        source: rule,
    }
}

pub(super) enum Evaluated {
    Entry(Box<Entry>),
    Skipped(Skipped),
}

pub(super) fn evaluate(item: &Item, cfg: &AuditConfig) -> Evaluated {
    let (origin, bytes, claimed, model, oci_subject, layers) = match item {
        Item::Unsigned(model) => {
            let mut e = Entry::new(Origin::Model(model.clone()), Status::Unsigned);
            e.subject = Some(file_name(model));
            e.find(
                FindingKind::Unsigned,
                format!(
                    "model has no signature (looked for {}); sign it with `provenance sign`",
                    sig_beside(model).display()
                ),
            );
            return Evaluated::Entry(Box::new(e));
        }
        Item::UnsignedReference { reference, subject } => {
            let mut e = Entry::new(Origin::Reference(reference.clone()), Status::Unsigned);
            e.subject = Some(subject.clone());
            e.find(
                FindingKind::Unsigned,
                format!(
                    "model has no signature referrer; sign it with `provenance sign {reference} --private-key KEY`"
                ),
            );
            return Evaluated::Entry(Box::new(e));
        }
        Item::Broken {
            reference,
            subject,
            detail,
        } => {
            let mut e = Entry::new(Origin::Reference(reference.clone()), Status::Failed);
            e.subject = Some(subject.clone());
            e.find(FindingKind::RegistryContent, detail.clone());
            return Evaluated::Entry(Box::new(e));
        }
        Item::Bundle {
            origin,
            bytes,
            claimed,
            model,
            oci_subject,
            layers,
        } => (origin, bytes, *claimed, model, oci_subject, layers),
    };
    let origin_path = PathBuf::from(origin.display());
    let parsed = match bytes {
        BundleBytes::Path(p) => Bundle::read(p),
        BundleBytes::Bytes(b) => Bundle::from_slice(b, &origin_path),
    };
    let bundle = match parsed {
        Ok(b) => b,
        Err(err) => {
            if !claimed {
                return Evaluated::Skipped(Skipped {
                    path: origin_path,
                    detail: "not a Sigstore bundle".into(),
                });
            }
            let mut e = Entry::new(origin.clone(), Status::Failed);
            e.find(FindingKind::NotABundle, err.to_string());
            return Evaluated::Entry(Box::new(e));
        }
    };
    let mut e = Entry::new(origin.clone(), Status::Failed);
    // The claims, shown (as claims) until the evaluator has verified them.
    let claims = claimed_statement(&bundle);
    if let Some(st) = &claims {
        e.absorb(st);
    }
    // The scope comes from where the signature was found: the repository, the model beside it,
    // and only for a lone signature file the subject it claims (it can then vouch for nothing
    // but its own claims).
    let scope = match origin {
        Origin::Reference(r) => match crate::oci::Reference::parse(r) {
            Ok(parsed) => Scope::of_reference(&parsed),
            Err(_) => Scope::local_store(&repository_of(r)),
        },
        _ => match model {
            Some(m) => crate::verify::disk_scope(m),
            None => Scope::on_disk(e.subject.as_deref().unwrap_or_default()),
        },
    };
    let (rule, scope_check) = cfg.evaluator.rule_for(&scope);
    e.scope = Some(scope.clone());
    let Some(rule) = rule else {
        e.claimed_signer = crate::verify::crypto::claimed_key(&bundle)
            .or_else(|| crate::verify::crypto::claimed_certificate(&bundle));
        e.find(FindingKind::Policy, scope_check.detail);
        return Evaluated::Entry(Box::new(e));
    };
    let source = origin.display();
    let file_options = crate::verify::FileOptions::default();
    let target = match (model, layers, oci_subject) {
        (Some(m), _, _) if cfg.check_models => Target::Files {
            model: m,
            signature_path: match origin {
                Origin::Manifest(p) => Some(p.clone()),
                _ => None,
            },
            options: &file_options,
            progress: &|_| {},
        },
        (_, manifest, Some(digest)) => Target::Manifest {
            digest,
            manifest: manifest.as_deref(),
        },
        _ => Target::Claims,
    };
    let v = match cfg
        .evaluator
        .check_signature(rule, &source, &bundle, &target)
    {
        Ok(v) => v,
        Err(err) => {
            e.claimed_signer = crate::verify::crypto::claimed_key(&bundle);
            e.find(
                FindingKind::ModelMismatch,
                format!(
                    "model {} could not be checked: {err}",
                    model
                        .as_deref()
                        .map(|m| m.display().to_string())
                        .unwrap_or_default()
                ),
            );
            return Evaluated::Entry(Box::new(e));
        }
    };
    if v.subject.is_some() {
        e.subject = v.subject.clone();
        e.metadata = v.metadata.clone();
        e.root_digest = v.root_digest.clone();
    }
    e.signer = v.signer.clone();
    e.claimed_signer = v
        .signer
        .is_none()
        .then(|| v.claimed_signer.clone())
        .flatten();
    e.signed_at = v.signed_at.clone();
    let failed = v.checks.failed().cloned();
    e.status = match v.status {
        SignatureStatus::Trusted => Status::Verified,
        SignatureStatus::UntrustedSigner => Status::UnknownSigner,
        SignatureStatus::Revoked => Status::Revoked,
        SignatureStatus::Failed => Status::Failed,
    };
    match (v.status, failed) {
        (SignatureStatus::Revoked, _) => {
            let id = v
                .signer
                .as_ref()
                .and_then(|s| s.key_id().map(str::to_owned))
                .or_else(|| v.claimed_signer.clone())
                .unwrap_or_default();
            revoked_findings(&mut e, &revocation_for(&id, cfg), v.revoked_verified);
        }
        (SignatureStatus::UntrustedSigner, Some(c)) => e.find(
            FindingKind::UnknownSigner,
            format!(
                "{}; subject and metadata are claimed, not verified",
                c.detail
            ),
        ),
        (_, Some(c)) => {
            let kind = match c.name {
                Check::Binding => FindingKind::ManifestBinding,
                Check::Layers => FindingKind::ModelMismatch,
                Check::Model => FindingKind::ModelMismatch,
                _ => FindingKind::SignatureFailed,
            };
            let detail = match c.name {
                Check::Layers => format!(
                    "the manifest's layers differ from the signed files: {}",
                    c.detail
                ),
                Check::Model => format!(
                    "model {} differs from its signature: {}",
                    model
                        .as_deref()
                        .map(|m| m.display().to_string())
                        .unwrap_or_default(),
                    c.detail
                ),
                Check::Statement => format!("signed statement rejected: {}", c.detail),
                name => format!(
                    "`{name}` failed: {}; subject and metadata are claimed, not verified",
                    c.detail
                ),
            };
            e.find(kind, detail);
        }
        (_, None) => {}
    }
    if v.binding.as_deref() == Some("files") {
        e.find(
            FindingKind::ManifestBinding,
            "the statement binds the model's files, not this manifest (signed on disk before the push)",
        );
    }
    e.verdict = Some((rule.name.clone(), v));
    Evaluated::Entry(Box::new(e))
}

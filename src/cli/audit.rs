//! `provenance audit`: arguments, resolution into an [`AuditConfig`], and rendering of the report
//! as a text table, JSON, or one self-contained HTML page (`audit_html.rs`: inline CSS
//! and SVG, no external resources, every string escaped).

use std::fmt::Write as _;
use std::time::Duration;

use super::args::{AuditArgs, AuditOutput};

use super::error::CliError;
use super::render::esc;
use crate::Class;
use crate::audit::{self, AuditConfig, AuditReport, AuditSource, Revocation, TrustedKey};
use crate::trust::signer::Principal;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

pub use super::audit_html::{
    AuditContext, RevokedRow, SHORT_ID, TrustedSignerRow, escape_html, render_html,
};

fn parse_matches(pairs: &[String]) -> Result<Vec<(String, String)>, CliError> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
            _ => Err(CliError::input(format!(
                "--match `{p}` is not KEY=VALUE; write it as e.g. --match training_data_hash=sha256:..."
            ))),
        })
        .collect()
}

/// Resolves the arguments into sources and configuration (every input error surfaces here).
pub fn resolve(a: &AuditArgs) -> Result<(Vec<AuditSource>, AuditConfig), CliError> {
    let matches = parse_matches(&a.matches)?;
    let mut sources = Vec::new();
    let mut credentials = None;
    let mut credentials_read = false;
    for p in &a.paths {
        let as_ref = p
            .to_str()
            .filter(|_| std::fs::symlink_metadata(p).is_err())
            .and_then(|s| crate::oci::Reference::parse(s).ok());
        let Some(reference) = as_ref else {
            sources.push(AuditSource::from_path(p)?);
            continue;
        };
        let not_found = |detail: &str| {
            CliError::input(format!(
                "cannot read audit input {}: it is not a file or folder, and the local store has no repository `{}` ({detail}); check the path, or push the model with `provenance push`",
                p.display(),
                reference.repository()
            ))
        };
        if reference.registry().is_none() {
            // A typo'd path must not create an empty local store as a side effect.
            let store = crate::oci::default_store_dir()?;
            if !store.join("index.json").is_file() {
                return Err(not_found(&format!("no local store at {}", store.display())));
            }
        }
        if !credentials_read && reference.registry().is_some() {
            credentials = super::oci::credentials(&a.registry)?;
            credentials_read = true;
        }
        let store = super::oci::open_parsed(&reference, &a.registry, credentials.clone())?;
        match audit::repository::fetch_repository(store.as_ref(), &reference) {
            Ok(found) => sources.extend(found),
            Err(audit::Error::Repository { detail, .. }) if reference.registry().is_none() => {
                return Err(not_found(&detail));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let trusted = a
        .public_key
        .iter()
        .map(|p| TrustedKey::from_file(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut revoked = a
        .revoked
        .iter()
        .map(|r| Revocation::from_arg(r))
        .collect::<Result<Vec<_>, _>>()?;
    for list in &a.revocation_list {
        revoked.extend(audit::revocation::read_list(list)?);
    }
    // Audit trusts only what it is told and reports every other signer as unknown: naming no
    // trust is allowed.
    let spec = crate::trust::TrustSpec {
        public_keys: a.public_key.clone(),
        policy: a.policy.clone(),
        trust_root: a.trust_root.clone(),
        offline: a.offline,
        require_trust: false,
        ..Default::default()
    };
    let evaluator = super::trust::verifier(&spec, a.quiet)?;
    let mut cfg = AuditConfig::new(evaluator).with_revocations(revoked);
    cfg.policy_file = a.policy.is_some();
    cfg.key_created = trusted
        .into_iter()
        .filter_map(|t| t.created.map(|c| (t.key.id().to_owned(), c)))
        .collect();
    cfg.matches = matches;
    for d in &a.data {
        if d.trim().is_empty() {
            return Err(CliError::input(
                "--data needs a digest: pass sha256:<hex> as `provenance digest DATASET` prints it",
            ));
        }
    }
    cfg.data = a.data.clone();
    cfg.max_key_age = a
        .max_key_age
        .map(|d| Duration::from_secs(d.saturating_mul(86_400)));
    Ok((sources, cfg))
}

fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// What the audit ran over and trusted, for the HTML report's header: the inputs as given, the
/// policy's trusted signers and revocations as loaded, and the time the audit measured key age at
/// (`cfg.now`) as the generation time.
pub fn context(a: &AuditArgs, cfg: &AuditConfig) -> AuditContext {
    let policy = &cfg.evaluator.policy;
    let trusted = policy
        .rules
        .iter()
        .flat_map(|r| {
            r.trusted_signers.iter().map(|t| TrustedSignerRow {
                rule: r.name.clone(),
                scopes: r.scopes.iter().map(|p| p.as_str().to_owned()).collect(),
                signer: t.describe(),
            })
        })
        .collect();
    let mut revoked: Vec<RevokedRow> = cfg
        .revoked
        .iter()
        .map(|r| RevokedRow {
            principal: format!("key {}", r.key_id),
            revoked_at: r.revoked_at.map(rfc3339),
            source: r.source.clone(),
        })
        .collect();
    for p in &policy.revoked {
        let named = matches!(p, Principal::Key(id) if cfg.revoked.iter().any(|r| &r.key_id == id));
        if !named {
            revoked.push(RevokedRow {
                principal: p.to_string(),
                revoked_at: None,
                source: format!("policy {}", policy.origin),
            });
        }
    }
    AuditContext {
        generated_at: rfc3339(OffsetDateTime::from(cfg.now)),
        inputs: a.paths.iter().map(|p| p.display().to_string()).collect(),
        policy: policy.origin.clone(),
        trusted,
        trust_root: a.trust_root.as_ref().map(|p| p.display().to_string()),
        revoked,
        matches: a
            .matches
            .iter()
            .cloned()
            .chain(a.data.iter().map(|d| format!("*training_data_hash={d}")))
            .collect(),
    }
}

/// Runs `audit`: exit 0 when every entry verifies, 1 otherwise, 2 on bad input.
pub fn run(a: AuditArgs) -> Result<(), CliError> {
    let (sources, cfg) = resolve(&a)?;
    let report = audit::audit(&sources, &cfg)?;
    if report.summary.examined == 0 {
        return Err(CliError::input(format!(
            "found no signatures or models in {}; pass signature files (*.sig, *.json), folders of them, models with <model>.sig beside them, or repositories (host/repo, or repo in the local store)",
            a.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    match a.output_alias.unwrap_or(a.format) {
        AuditOutput::Json => super::render::document(
            serde_json::to_value(&report)
                .map_err(|e| CliError::environment(format!("cannot encode the report: {e}")))?,
        ),
        AuditOutput::Text => print!("{}", render_text(&report)),
        AuditOutput::Html => print!("{}", render_html(&report, &context(&a, &cfg))),
    }
    if !a.quiet && a.public_key.is_empty() && a.policy.is_none() {
        eprintln!("note: no --public-key or --policy given, so no signer is trusted");
    }
    if report.all_verified() {
        return Ok(());
    }
    let s = &report.summary;
    Err(CliError {
        class: Class::NotTrusted,
        message: format!(
            "audit: {} of {} entries are not verified ({} failed, {} revoked, {} unknown-signer, {} unsigned); review the findings and do not use those models",
            s.total - s.verified,
            s.total,
            s.failed,
            s.revoked,
            s.unknown_signer,
            s.unsigned
        ),
    })
}

fn short_signer(s: Option<&str>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s.len() > 16 && s.is_ascii() => format!("{}…", s.get(..16).unwrap_or(s)),
        Some(s) => s.to_owned(),
    }
}

/// The text table: one row per entry (derived models indented under their base), findings below.
pub fn render_text(report: &AuditReport) -> String {
    let rows: Vec<[String; 5]> = report
        .entries
        .iter()
        .map(|e| {
            let indent = if e.depth == 0 {
                String::new()
            } else {
                format!("{}└ ", "  ".repeat(e.depth - 1))
            };
            // Every cell but the status is attacker-influenced text: escaped.
            [
                e.status.as_str().to_owned(),
                format!("{indent}{}", esc(e.subject.as_deref().unwrap_or("?"))),
                esc(&short_signer(e.signer_label().as_deref())).into_owned(),
                esc(&e.signed_at.clone().unwrap_or_else(|| "-".into())).into_owned(),
                esc(&e.origin.display()).into_owned(),
            ]
        })
        .collect();
    let header = ["STATUS", "SUBJECT", "SIGNER", "SIGNED AT", "MANIFEST"];
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths.iter()).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                let pad = w.saturating_sub(c.chars().count());
                let _ = write!(s, "{c}{}  ", " ".repeat(pad));
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", line(header));
    for (r, e) in rows.iter().zip(report.entries.iter()) {
        let [a, b, c, d, f] = r;
        let _ = writeln!(out, "{}", line([a, b, c, d, f]));
        for m in &e.metadata {
            let _ = writeln!(out, "    {} = {}", esc(m.0), esc(m.1));
        }
        for f in &e.findings {
            let _ = writeln!(out, "    ! {}", esc(&f.detail));
        }
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{} entries: {} verified, {} failed, {} unknown-signer, {} revoked, {} unsigned; {} signer key(s)",
        s.total, s.verified, s.failed, s.unknown_signer, s.revoked, s.unsigned, s.signers
    );
    if !s.skipped.is_empty() {
        let _ = writeln!(out, "{} file(s) skipped as not signatures", s.skipped.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_needs_key_and_equals() {
        assert!(parse_matches(&["a".into()]).is_err());
        assert!(parse_matches(&["=b".into()]).is_err());
        assert!(
            parse_matches(&["k=v=w".into()])
                .is_ok_and(|m| m == [("k".to_string(), "v=w".to_string())])
        );
    }
}

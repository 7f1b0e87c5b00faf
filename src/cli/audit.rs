//! `provenance audit`: arguments, resolution into an [`AuditConfig`], and rendering of the report
//! as a text table, JSON, or one self-contained HTML page (inline CSS and SVG, no external
//! resources, every string escaped).

use std::fmt::Write as _;
use std::time::Duration;

use super::args::{AuditArgs, AuditOutput};

use super::error::CliError;
use super::render::esc;
use crate::Class;
use crate::audit::graph::{self, EdgeKind, NodeKind};
use crate::audit::{self, AuditConfig, AuditReport, AuditSource, Revocation, Status, TrustedKey};

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
    cfg.max_key_age = a
        .max_key_age
        .map(|d| Duration::from_secs(d.saturating_mul(86_400)));
    Ok((sources, cfg))
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
        AuditOutput::Html => print!("{}", render_html(&report)),
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

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!(
            "{}…",
            s.chars().take(n.saturating_sub(1)).collect::<String>()
        )
    }
}

fn status_color(s: Option<Status>) -> &'static str {
    match s {
        Some(Status::Verified) => "#2e7d32",
        Some(Status::Failed) => "#c62828",
        Some(Status::Revoked) => "#6a1b9a",
        Some(Status::UnknownSigner) => "#ef6c00",
        Some(Status::Unsigned) => "#757575",
        None => "#455a64",
    }
}

const CSS: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;width:100%;margin-bottom:2em}\
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f0f0f0}td.st{font-weight:bold;color:#fff}\
.mono{font-family:ui-monospace,monospace;font-size:12px}ul{margin:0;padding-left:1.2em}\
.legend span{display:inline-block;margin-right:1.5em}svg text{font-size:11px}";

/// One self-contained HTML page: summary, table, and an inline SVG custody graph.
pub fn render_html(report: &AuditReport) -> String {
    let s = &report.summary;
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<title>provenance audit</title><style>");
    h.push_str(CSS);
    h.push_str("</style></head><body>\n<h1>Chain-of-custody audit</h1>\n");
    let _ = writeln!(
        h,
        "<p>{} entries: {} verified, {} failed, {} unknown-signer, {} revoked, {} unsigned; {} signer key(s).</p>",
        s.total, s.verified, s.failed, s.unknown_signer, s.revoked, s.unsigned, s.signers
    );
    h.push_str("<table><thead><tr><th>Status</th><th>Subject</th><th>Signer</th><th>Signed at</th><th>Manifest</th><th>Metadata</th><th>Findings</th></tr></thead><tbody>\n");
    for e in &report.entries {
        let _ = write!(
            h,
            "<tr><td class=\"st\" style=\"background:{}\">{}</td><td style=\"padding-left:{}em\">{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td><ul>",
            status_color(Some(e.status)),
            escape_html(e.status.as_str()),
            0.5 + 1.5 * e.depth as f64,
            escape_html(e.subject.as_deref().unwrap_or("?")),
            escape_html(e.signer_label().as_deref().unwrap_or("-")),
            escape_html(e.signed_at.as_deref().unwrap_or("-")),
            escape_html(&e.origin.display()),
        );
        for (k, v) in &e.metadata {
            let _ = write!(h, "<li>{} = {}</li>", escape_html(k), escape_html(v));
        }
        h.push_str("</ul></td><td><ul>");
        for f in &e.findings {
            let _ = write!(h, "<li>{}</li>", escape_html(&f.detail));
        }
        h.push_str("</ul></td></tr>\n");
    }
    h.push_str("</tbody></table>\n<h2>Custody graph</h2>\n");
    h.push_str("<p class=\"legend\"><span style=\"color:#1565c0\">&#9644; signed by</span><span style=\"color:#2e7d32\">&#9644; trained on</span><span style=\"color:#ad1457\">&#9476; derived from</span></p>\n");
    h.push_str(&render_svg(&graph::build(report)));
    h.push_str("\n</body></html>\n");
    h
}

/// Three columns: signer keys, models, datasets; derived-from links as arcs between models.
fn render_svg(g: &graph::Graph) -> String {
    const ROW: f64 = 26.0;
    const TOP: f64 = 30.0;
    let column = |k: NodeKind| match k {
        NodeKind::Signer => 130.0,
        NodeKind::Model => 520.0,
        NodeKind::Dataset => 900.0,
    };
    let mut counters = [0usize; 3];
    let mut pos: Vec<(f64, f64)> = Vec::with_capacity(g.nodes.len());
    for n in &g.nodes {
        let slot = match n.kind {
            NodeKind::Signer => 0,
            NodeKind::Model => 1,
            NodeKind::Dataset => 2,
        };
        let row = counters.get(slot).copied().unwrap_or(0);
        if let Some(c) = counters.get_mut(slot) {
            *c += 1;
        }
        pos.push((column(n.kind), TOP + ROW * row as f64));
    }
    let rows = counters.iter().copied().max().unwrap_or(0).max(1);
    let height = TOP * 2.0 + ROW * rows as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg width=\"1100\" height=\"{height}\" viewBox=\"0 0 1100 {height}\" role=\"img\" aria-label=\"custody graph\">"
    );
    let _ = write!(
        s,
        "<text x=\"130\" y=\"14\" text-anchor=\"middle\" font-weight=\"bold\">signer keys</text><text x=\"520\" y=\"14\" text-anchor=\"middle\" font-weight=\"bold\">models</text><text x=\"900\" y=\"14\" text-anchor=\"middle\" font-weight=\"bold\">datasets</text>"
    );
    for e in &g.edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (pos.get(e.from), pos.get(e.to)) else {
            continue;
        };
        match e.kind {
            EdgeKind::SignedBy => {
                let _ = write!(
                    s,
                    "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"#1565c0\" stroke-opacity=\"0.5\"/>"
                );
            }
            EdgeKind::TrainedOn => {
                let _ = write!(
                    s,
                    "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"#2e7d32\" stroke-opacity=\"0.5\"/>"
                );
            }
            EdgeKind::DerivedFrom => {
                let bulge = x1 + 60.0 + (y1 - y2).abs().min(300.0) / 3.0;
                let _ = write!(
                    s,
                    "<path d=\"M{x1} {y1} C{bulge} {y1} {bulge} {y2} {x2} {y2}\" fill=\"none\" stroke=\"#ad1457\" stroke-dasharray=\"4 3\"/>"
                );
            }
        }
    }
    for (n, (x, y)) in g.nodes.iter().zip(pos.iter()) {
        let color = status_color(n.status);
        let anchor = match n.kind {
            NodeKind::Signer => ("end", -10.0),
            NodeKind::Model | NodeKind::Dataset => ("start", 10.0),
        };
        let _ = write!(
            s,
            "<g><title>{}</title><circle cx=\"{x}\" cy=\"{y}\" r=\"6\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"{}\">{}</text></g>",
            escape_html(&n.detail),
            x + anchor.1,
            y + 4.0,
            anchor.0,
            escape_html(&truncate(&n.label, 40)),
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape_html("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

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

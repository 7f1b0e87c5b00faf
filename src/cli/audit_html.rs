//! The HTML page of `provenance audit --format html`, laid out like an incident report: when it
//! was made, what was audited and what was trusted, the counts; then one section per model with
//! its signatures; then the custody graph.
//!
//! One self-contained page: inline CSS and SVG, no external resources, no JavaScript, no web
//! fonts. Every string a signer, a registry or the file system controls is escaped. Digests and
//! key ids are shown short, with the full value in the element's `title` (shown on hover). The
//! signature tables use `table-layout: fixed` and break long values anywhere, so at 1280 px the
//! findings column is fully visible without horizontal scrolling.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::audit::graph::{self, EdgeKind, NodeKind};
use crate::audit::{AuditReport, Entry, FindingKind, Origin, Status};

/// Hex digits shown of a digest or key id; the full value is in the `title`.
pub const SHORT_ID: usize = 12;

/// What an audit ran over and with: the report header's "when, inputs, trusted keys". Built by
/// the command line from its arguments and configuration (nothing here decides trust).
#[derive(Clone, Debug, Default, Serialize)]
pub struct AuditContext {
    /// When the report was made: UTC, RFC 3339.
    pub generated_at: String,
    /// The inputs as given: paths and repository references.
    pub inputs: Vec<String>,
    /// Where the trust policy came from: a policy file's path, or `command line`.
    pub policy: String,
    /// Every trusted signer of every rule.
    pub trusted: Vec<TrustedSignerRow>,
    /// The Sigstore trusted root file, when one was given.
    pub trust_root: Option<String>,
    /// Revoked keys and identities.
    pub revoked: Vec<RevokedRow>,
    /// `--match KEY=VALUE` filters.
    pub matches: Vec<String>,
}

/// One trusted signer as the policy lists it.
#[derive(Clone, Debug, Serialize)]
pub struct TrustedSignerRow {
    /// The rule's name (`command-line` for the flags' one-rule policy).
    pub rule: String,
    /// The rule's scope patterns.
    pub scopes: Vec<String>,
    /// The signer: `key <id>`, `keyless <identity> (<issuer>)`, `certificates from ...`.
    pub signer: String,
}

/// One revocation.
#[derive(Clone, Debug, Serialize)]
pub struct RevokedRow {
    /// `key <id>` or `keyless <identity> (<issuer>)`.
    pub principal: String,
    /// When it was revoked (RFC 3339), if stated.
    pub revoked_at: Option<String>,
    /// Where the revocation came from (`--revoked`, a list file and line, the policy).
    pub source: String,
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

/// A digest or key id: 32 or more hex digits, with an optional `sha256:`-style prefix.
static ID: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b(?:sha(?:256|384|512):)?[0-9a-fA-F]{32,}\b").ok());

/// One id, short, with the full value on hover.
fn short_id(full: &str) -> String {
    let (prefix, hex) = match full.split_once(':') {
        Some((p, h)) => (format!("{p}:"), h),
        None => (String::new(), full),
    };
    if hex.len() <= SHORT_ID + 1 || !hex.is_ascii() {
        return format!("<span class=\"id\">{}</span>", escape_html(full));
    }
    format!(
        "<abbr class=\"id\" title=\"{}\">{}{}…</abbr>",
        escape_html(full),
        escape_html(&prefix),
        escape_html(hex.get(..SHORT_ID).unwrap_or(hex)),
    )
}

/// Escapes `s`, showing every digest or key id in it short with the full value on hover.
fn text_with_ids(s: &str) -> String {
    let Some(re) = ID.as_ref() else {
        return escape_html(s);
    };
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for m in re.find_iter(s) {
        out.push_str(&escape_html(s.get(last..m.start()).unwrap_or_default()));
        out.push_str(&short_id(m.as_str()));
        last = m.end();
    }
    out.push_str(&escape_html(s.get(last..).unwrap_or_default()));
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
        Some(Status::Unsigned) => "#616161",
        None => "#455a64",
    }
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Verified => "verified",
        Status::Failed => "failed",
        Status::UnknownSigner => "unknown signer",
        Status::Revoked => "revoked",
        Status::Unsigned => "unsigned",
    }
}

fn badge(s: Status, text: &str) -> String {
    format!(
        "<span class=\"badge st-{}\">{}</span>",
        s.as_str(),
        escape_html(text)
    )
}

fn kind_name(k: FindingKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

const CSS: &str = "*{box-sizing:border-box}\
body{font:14px/1.45 system-ui,sans-serif;margin:0;padding:20px 28px;color:#212121;background:#fff;overflow-wrap:anywhere}\
h1{font-size:22px;margin:0 0 2px}h2{font-size:17px;margin:22px 0 10px}\
header{border-bottom:2px solid #cfd8dc;padding-bottom:12px}\
.when{color:#546e7a;margin:0 0 10px}\
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;font-size:12px;white-space:nowrap}\
.counts .badge{font-size:14px;padding:3px 12px;margin:0 6px 4px 0}.badge.zero{opacity:.35}\
dl.ctx{display:grid;grid-template-columns:11em minmax(0,1fr);gap:6px 16px;margin:12px 0 0}\
dl.ctx dt{font-weight:600;color:#455a64}dl.ctx dd{margin:0;min-width:0}\
ul{margin:0;padding-left:1.1em}.muted{color:#78909c}\
section.model{border:1px solid #cfd8dc;border-left-width:6px;border-radius:4px;margin:0 0 14px;padding:8px 12px}\
section.model h3{font-size:15px;margin:0 0 4px}section.model h3 .id{font-weight:normal;color:#546e7a}\
.sigcount{margin:0 0 6px;color:#546e7a}\
table{border-collapse:collapse;width:100%;table-layout:fixed}\
th,td{border-top:1px solid #e0e0e0;padding:4px 6px;text-align:left;vertical-align:top;word-break:break-word;overflow-wrap:anywhere}\
th{font-size:12px;color:#546e7a;font-weight:600}\
col.c-st{width:10.5em}col.c-signer{width:15%}col.c-at{width:11%}col.c-origin{width:19%}col.c-md{width:19%}\
td.findings li{margin-bottom:2px}.fk{font-size:11px;color:#546e7a;margin-right:4px}\
.id,code{font-family:ui-monospace,monospace;font-size:12px}abbr.id{text-decoration:underline dotted;cursor:help}\
.claimed{font-style:italic}.kind{font-size:11px;color:#78909c;display:block}\
svg{max-width:100%;height:auto}svg text{font-size:11px}\
.legend span{display:inline-block;margin-right:1.5em}";

/// The entries of one model: the same subject with the same root digest. An entry without a
/// digest (unsigned, or not a bundle) is a model of its own.
struct Model<'a> {
    subject: Option<&'a str>,
    digest: Option<&'a str>,
    depth: usize,
    entries: Vec<&'a Entry>,
}

#[derive(PartialEq, Eq, Hash)]
enum Key<'a> {
    Digest(Option<&'a str>, &'a str),
    Alone(usize),
}

/// Groups entries by model, in report order (each base model before the models derived from it).
fn models(report: &AuditReport) -> Vec<Model<'_>> {
    let mut out: Vec<Model<'_>> = Vec::new();
    let mut index: HashMap<Key<'_>, usize> = HashMap::new();
    for (i, e) in report.entries.iter().enumerate() {
        let key = match e.root_digest.as_deref() {
            Some(d) => Key::Digest(e.subject.as_deref(), d),
            None => Key::Alone(i),
        };
        if let Some(m) = index.get(&key).and_then(|&n| out.get_mut(n)) {
            m.entries.push(e);
            continue;
        }
        index.insert(key, out.len());
        out.push(Model {
            subject: e.subject.as_deref(),
            digest: e.root_digest.as_deref(),
            depth: e.depth,
            entries: vec![e],
        });
    }
    out
}

/// The colour of a model's border: the most serious status among its entries.
fn model_color(m: &Model<'_>) -> &'static str {
    let worst = [
        Status::Failed,
        Status::Revoked,
        Status::UnknownSigner,
        Status::Unsigned,
        Status::Verified,
    ]
    .into_iter()
    .find(|s| m.entries.iter().any(|e| e.status == *s));
    status_color(worst)
}

fn origin_kind(o: &Origin) -> &'static str {
    match o {
        Origin::Manifest(_) => "signature file",
        Origin::Reference(_) => "registry / local store",
        Origin::Model(_) => "model",
    }
}

fn render_header(h: &mut String, report: &AuditReport, ctx: &AuditContext, models: usize) {
    let s = &report.summary;
    h.push_str("<header>\n<h1>Chain-of-custody audit</h1>\n");
    let _ = writeln!(
        h,
        "<p class=\"when\">Generated <time datetime=\"{0}\">{0}</time> (UTC) by provenance {1}</p>",
        escape_html(&ctx.generated_at),
        env!("CARGO_PKG_VERSION"),
    );
    h.push_str("<p class=\"counts\">");
    for (st, n) in [
        (Status::Verified, s.verified),
        (Status::Failed, s.failed),
        (Status::UnknownSigner, s.unknown_signer),
        (Status::Revoked, s.revoked),
        (Status::Unsigned, s.unsigned),
    ] {
        let _ = write!(
            h,
            "<span class=\"badge st-{}{}\">{n} {}</span>",
            st.as_str(),
            if n == 0 { " zero" } else { "" },
            status_label(st)
        );
    }
    h.push_str("</p>\n");
    let _ = write!(
        h,
        "<p>{} entries over {models} model(s), {} signer key(s)",
        s.total, s.signers
    );
    if s.examined != s.total {
        let _ = write!(h, "; {} examined before --match", s.examined);
    }
    if !s.skipped.is_empty() {
        let _ = write!(h, "; {} file(s) skipped as not signatures", s.skipped.len());
    }
    h.push_str(".</p>\n<dl class=\"ctx\">\n<dt>Inputs audited</dt><dd><ul>");
    for i in &ctx.inputs {
        let _ = write!(h, "<li><code>{}</code></li>", escape_html(i));
    }
    h.push_str("</ul></dd>\n<dt>Trusted signers</dt><dd>");
    if ctx.trusted.is_empty() {
        h.push_str("<span class=\"muted\">none: no --public-key was given and no policy rule lists a signer, so no signature can be verified</span>");
    } else {
        h.push_str("<ul>");
        for t in &ctx.trusted {
            let _ = write!(
                h,
                "<li>{} <span class=\"muted\">rule <code>{}</code>, scopes <code>{}</code></span></li>",
                text_with_ids(&t.signer),
                escape_html(&t.rule),
                escape_html(&t.scopes.join(", ")),
            );
        }
        h.push_str("</ul>");
    }
    let _ = writeln!(
        h,
        "</dd>\n<dt>Trust policy</dt><dd><code>{}</code></dd>",
        escape_html(&ctx.policy)
    );
    if let Some(root) = &ctx.trust_root {
        let _ = writeln!(
            h,
            "<dt>Sigstore trusted root</dt><dd><code>{}</code></dd>",
            escape_html(root)
        );
    }
    if !ctx.revoked.is_empty() {
        h.push_str("<dt>Revoked</dt><dd><ul>");
        for r in &ctx.revoked {
            let _ = write!(h, "<li>{}", text_with_ids(&r.principal));
            if let Some(at) = &r.revoked_at {
                let _ = write!(h, " at {}", escape_html(at));
            }
            let _ = write!(
                h,
                " <span class=\"muted\">({})</span></li>",
                escape_html(&r.source)
            );
        }
        h.push_str("</ul></dd>\n");
    }
    if !ctx.matches.is_empty() {
        h.push_str("<dt>Filter</dt><dd><ul>");
        for m in &ctx.matches {
            let _ = write!(h, "<li><code>--match {}</code></li>", escape_html(m));
        }
        h.push_str("</ul></dd>\n");
    }
    h.push_str("</dl>\n</header>\n");
}

fn render_entry(h: &mut String, e: &Entry) {
    let _ = write!(
        h,
        "<tr class=\"sig\"><td>{}</td><td class=\"signer\">",
        badge(e.status, e.status.as_str())
    );
    match (&e.signer, &e.claimed_signer) {
        (Some(s), _) => h.push_str(&text_with_ids(&s.label())),
        (None, Some(c)) => {
            let _ = write!(
                h,
                "<span class=\"claimed\">claims</span> {}",
                text_with_ids(c)
            );
        }
        (None, None) => h.push('-'),
    }
    let _ = write!(
        h,
        "</td><td>{}</td><td class=\"origin\"><span class=\"kind\">{}</span>{}</td><td class=\"metadata\">",
        e.signed_at.as_deref().map_or_else(
            || "<span class=\"muted\">no trusted time</span>".to_owned(),
            escape_html
        ),
        origin_kind(&e.origin),
        text_with_ids(&e.origin.display()),
    );
    if !e.metadata.is_empty() {
        h.push_str("<ul>");
        for (k, v) in &e.metadata {
            let _ = write!(
                h,
                "<li><code>{}</code> = {}</li>",
                escape_html(k),
                text_with_ids(v)
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("</td><td class=\"findings\">");
    if !e.findings.is_empty() {
        h.push_str("<ul>");
        for f in &e.findings {
            let _ = write!(
                h,
                "<li><span class=\"fk\">{}</span>{}</li>",
                escape_html(&kind_name(f.kind)),
                text_with_ids(&f.detail)
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("</td></tr>\n");
}

fn render_model(h: &mut String, n: usize, m: &Model<'_>) {
    let _ = write!(
        h,
        "<section class=\"model\" id=\"model-{n}\" style=\"border-left-color:{};margin-left:{}px\">\n<h3>",
        model_color(m),
        24 * m.depth.min(6),
    );
    if m.depth > 0 {
        h.push_str("<span class=\"muted\">&#8627; </span>");
    }
    let _ = write!(
        h,
        "<span class=\"subject\">{}</span>",
        escape_html(m.subject.unwrap_or("(no subject)"))
    );
    if let Some(d) = m.digest {
        let _ = write!(h, " {}", short_id(d));
    }
    h.push_str("</h3>\n<p class=\"sigcount\">");
    let signatures = m
        .entries
        .iter()
        .filter(|e| e.status != Status::Unsigned)
        .count();
    match signatures {
        0 => h.push_str("no signature"),
        1 => h.push_str("1 signature"),
        k => {
            let _ = write!(h, "{k} signatures");
        }
    }
    for st in Status::ALL {
        let k = m.entries.iter().filter(|e| e.status == st).count();
        if k > 0 && st != Status::Unsigned {
            let _ = write!(h, " {}", badge(st, &format!("{k} {}", status_label(st))));
        }
    }
    h.push_str("</p>\n<table class=\"sigs\"><colgroup><col class=\"c-st\"><col class=\"c-signer\"><col class=\"c-at\"><col class=\"c-origin\"><col class=\"c-md\"><col class=\"c-findings\"></colgroup>\n");
    h.push_str("<thead><tr><th>Status</th><th>Signer</th><th>Signed at</th><th>Origin</th><th>Metadata</th><th class=\"findings\">Findings</th></tr></thead>\n<tbody>\n");
    for e in &m.entries {
        render_entry(h, e);
    }
    h.push_str("</tbody></table>\n</section>\n");
}

/// One self-contained HTML page: the header (when, inputs, trust, counts), one section per model
/// with its signatures, and an inline SVG custody graph.
pub fn render_html(report: &AuditReport, ctx: &AuditContext) -> String {
    let models = models(report);
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width\">");
    h.push_str("<title>provenance audit</title><style>");
    h.push_str(CSS);
    for st in Status::ALL {
        let _ = write!(
            h,
            ".st-{}{{background:{}}}",
            st.as_str(),
            status_color(Some(st))
        );
    }
    h.push_str("</style></head><body>\n");
    render_header(&mut h, report, ctx, models.len());
    let _ = writeln!(h, "<main>\n<h2>Models ({})</h2>", models.len());
    for (n, m) in models.iter().enumerate() {
        render_model(&mut h, n, m);
    }
    if !report.summary.skipped.is_empty() {
        h.push_str("<h2>Skipped (not signatures)</h2>\n<ul>");
        for s in &report.summary.skipped {
            let _ = write!(
                h,
                "<li><code>{}</code>: {}</li>",
                escape_html(&s.path.display().to_string()),
                escape_html(&s.detail)
            );
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</main>\n<h2>Custody graph</h2>\n");
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
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::audit::{Finding, Summary};
    use crate::trust::signer::SignerId;

    fn entry(subject: &str, digest: Option<&str>, status: Status) -> Entry {
        Entry {
            origin: Origin::Manifest(PathBuf::from(format!("{subject}.sig"))),
            subject: Some(subject.into()),
            signer: Some(SignerId::Key {
                key_id: "ab".repeat(32),
            }),
            claimed_signer: None,
            signed_at: None,
            metadata: BTreeMap::new(),
            status,
            findings: Vec::new(),
            root_digest: digest.map(str::to_owned),
            depth: 0,
            verdict: None,
            scope: None,
        }
    }

    fn report(entries: Vec<Entry>) -> AuditReport {
        AuditReport {
            summary: Summary {
                total: entries.len(),
                examined: entries.len(),
                ..Summary::default()
            },
            entries,
        }
    }

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape_html("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn subject_metadata_and_findings_are_escaped() {
        let mut e = entry(
            "<script>alert(1)</script>",
            Some("sha256:00"),
            Status::Failed,
        );
        e.metadata
            .insert("note\"<b>".into(), "<script>x</script>".into());
        e.claimed_signer = Some("<img src=x>".into());
        e.findings.push(Finding {
            kind: FindingKind::SignatureFailed,
            detail: "bad </td><script>y</script>".into(),
        });
        let ctx = AuditContext {
            inputs: vec!["<script>in</script>".into()],
            ..AuditContext::default()
        };
        let h = render_html(&report(vec![e]), &ctx);
        assert!(
            !h.contains("<script") && !h.contains("<img") && !h.contains("<b>"),
            "{h}"
        );
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{h}");
        assert!(h.contains("&lt;script&gt;x&lt;/script&gt;"), "{h}");
        assert!(h.contains("note&quot;&lt;b&gt;"), "{h}");
        assert!(
            h.contains("bad &lt;/td&gt;&lt;script&gt;y&lt;/script&gt;"),
            "{h}"
        );
        assert!(h.contains("&lt;script&gt;in&lt;/script&gt;"), "{h}");
    }

    #[test]
    fn ids_are_short_with_the_full_value_in_the_title() {
        let key = "ab".repeat(32);
        let digest = format!("sha256:{}", "0f".repeat(32));
        assert_eq!(
            text_with_ids(&format!("key {key} (x)")),
            format!(
                "key <abbr class=\"id\" title=\"{key}\">{}…</abbr> (x)",
                &key[..SHORT_ID]
            )
        );
        assert_eq!(
            short_id(&digest),
            format!(
                "<abbr class=\"id\" title=\"{digest}\">sha256:{}…</abbr>",
                &"0f".repeat(32)[..SHORT_ID]
            )
        );
        assert_eq!(
            text_with_ids("sha256:d1 & <x>"),
            "sha256:d1 &amp; &lt;x&gt;"
        );
    }

    #[test]
    fn signatures_of_one_model_share_a_section() {
        let d = format!("sha256:{}", "11".repeat(32));
        let mut other = entry("m.pt", Some(&d), Status::UnknownSigner);
        other.signer = None;
        other.claimed_signer = Some("cd".repeat(32));
        let h = render_html(
            &report(vec![
                entry("m.pt", Some(&d), Status::Verified),
                entry(
                    "n.pt",
                    Some(&format!("sha256:{}", "22".repeat(32))),
                    Status::Verified,
                ),
                other,
                entry("u.pt", None, Status::Unsigned),
            ]),
            &AuditContext::default(),
        );
        assert_eq!(h.matches("<section class=\"model\"").count(), 3, "{h}");
        let first = h.split("<section").nth(1).unwrap();
        assert_eq!(first.matches("<tr class=\"sig\">").count(), 2, "{first}");
        assert!(first.contains("2 signatures"), "{first}");
        assert!(first.contains(&format!("title=\"{d}\"")), "{first}");
        assert!(
            first.contains(&format!("title=\"{}\"", "cd".repeat(32))),
            "{first}"
        );
    }
}

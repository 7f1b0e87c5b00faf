//! Text rendering of verification verdicts, and the escaping every untrusted string passes
//! through before it reaches a terminal (metadata, subject and file names, key hints,
//! identities and registry strings are all attacker-controlled).

use std::borrow::Cow;

use serde_json::json;

use super::args::Output;
use crate::verify::check::CheckOutcome;
use crate::verify::{SignatureStatus, SignatureVerdict, Verdict};

thread_local! {
    /// The JSON result a command produced, wrapped and printed once by `cli::run`.
    static DOCUMENT: std::cell::RefCell<Option<serde_json::Value>> = const { std::cell::RefCell::new(None) };
}

/// Records a command's JSON result (an object); `cli::run` adds the envelope and prints it.
pub(crate) fn document(v: serde_json::Value) {
    DOCUMENT.with(|d| *d.borrow_mut() = Some(v));
}

/// The JSON contract's schema version (docs/json.md).
pub const SCHEMA_VERSION: u64 = 1;

/// The envelope every JSON document has: `schema_version`, `command`, `ok`, `exit_code`, the
/// command's own fields, and on failure `error {class, message, hint}`.
pub fn envelope(
    command: &str,
    result: Option<serde_json::Value>,
    outcome: &Result<(), super::error::CliError>,
) -> serde_json::Value {
    let mut doc = match result {
        Some(serde_json::Value::Object(m)) => m,
        Some(other) => {
            let mut m = serde_json::Map::new();
            m.insert("result".into(), other);
            m
        }
        None => serde_json::Map::new(),
    };
    doc.insert("schema_version".into(), SCHEMA_VERSION.into());
    doc.insert("command".into(), command.into());
    doc.insert("ok".into(), outcome.is_ok().into());
    let code = outcome.as_ref().err().map_or(0, |e| e.class.exit_code());
    doc.insert("exit_code".into(), code.into());
    if let Err(e) = outcome {
        let (class, hint) = match e.class {
            crate::Class::NotTrusted => (
                "not_trusted",
                "do not use this model: the failed check names what did not verify",
            ),
            crate::Class::Input => (
                "input",
                "fix the flag, path or file named in the message (see `provenance <command> --help`)",
            ),
            crate::Class::Environment => (
                "environment",
                "check the registry, the network and the disk named in the message, then retry",
            ),
        };
        doc.insert(
            "error".into(),
            serde_json::json!({"class": class, "message": e.message, "hint": hint}),
        );
    }
    serde_json::Value::Object(doc)
}

/// The JSON result the command recorded, if any (taken once).
pub(crate) fn take_document() -> Option<serde_json::Value> {
    DOCUMENT.with(|d| d.borrow_mut().take())
}

/// Parses `--metadata` pairs and computes `@digest:` values with the library's rules
/// ([`crate::sign::metadata::parse`]); a REF's registry is reached with the docker config's
/// credentials (never the signing target's `--username`), and the other registry flags.
pub(crate) fn parse_metadata(
    pairs: &[String],
    registry: &super::args::RegistryArgs,
) -> Result<std::collections::BTreeMap<String, String>, super::error::CliError> {
    Ok(crate::sign::metadata::parse(
        pairs,
        &super::oci::registry_options(registry, None),
    )?)
}

/// Prints what listing a model noticed (links followed out of the model) on stderr, escaped.
pub(crate) fn print_warnings(warnings: &[String], quiet: bool) {
    if quiet {
        return;
    }
    for w in warnings {
        eprintln!("warning: {}", esc(w));
    }
}

/// Hands a command's JSON result to the one envelope writer (printed once, by `cli::run`).
pub(crate) fn print_json(v: &serde_json::Value) {
    document(v.clone());
}

/// `s` with control characters (C0, DEL, C1) and Unicode line/paragraph separators and bidi
/// overrides escaped (`\e`, `\n`, `\u{..}`), so untrusted text cannot move the cursor, clear
/// the screen or forge a line of output.
pub fn esc(s: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\x1b' => out.push_str("\\e"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if bad(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn check_line(indent: &str, c: &CheckOutcome) {
    println!(
        "{indent}{}  {:<24} {}",
        if c.passed { "ok  " } else { "FAIL" },
        c.name.as_str(),
        esc(&c.detail)
    );
}

fn status_word(s: &SignatureVerdict) -> &'static str {
    match s.status {
        SignatureStatus::Trusted => "verified",
        SignatureStatus::UntrustedSigner => "untrusted-signer",
        SignatureStatus::Revoked => "revoked",
        SignatureStatus::Failed => "not verified",
    }
}

/// Prints a verdict as text or JSON (stdout). JSON is the [`Verdict`] itself, one shape for a
/// model on disk and a reference (docs/json.md): `verified`, the chain and rule `checks`, and
/// `signatures[]` each with its own `checks` and `signer {kind, ...}`.
pub fn verdict(v: &Verdict, output: Output) {
    match output {
        Output::Json => print_json(&json!(v)),
        Output::Text => {
            if v.verified {
                println!("Provenance verified successfully");
            }
            let (chain, policy): (Vec<&CheckOutcome>, Vec<&CheckOutcome>) =
                v.checks.0.iter().partition(|c| !c.name.is_policy());
            for c in chain {
                check_line("  ", c);
            }
            for s in &v.signatures {
                let by = s.signer_label().unwrap_or_else(|| "?".into());
                println!(
                    "  signature {} by {}: {}{}",
                    esc(&short_source(&s.source)),
                    esc(&by),
                    status_word(s),
                    if s.status == SignatureStatus::Trusted && s.binding.as_deref() == Some("files")
                    {
                        " (binds the files only: it was signed on disk before the push)"
                    } else {
                        ""
                    }
                );
                for c in &s.checks.0 {
                    check_line("    ", c);
                }
                if s.status == SignatureStatus::Trusted {
                    for (k, val) in &s.metadata {
                        println!("    metadata {} = {}", esc(k), esc(val));
                    }
                }
            }
            for c in policy {
                check_line("  ", c);
            }
            if v.truncated {
                println!("  note: more signature referrers exist than were examined");
            }
        }
    }
}

/// The error for a verdict that is not verified: names the failed check.
pub fn not_trusted(v: &Verdict, what_not_to_do: &str) -> super::error::CliError {
    let failed = v.failed_check();
    super::error::CliError {
        class: crate::Class::NotTrusted,
        message: format!(
            "verification FAILED for {} at check `{}`: {}; {what_not_to_do}",
            esc(&v.target),
            failed.map(|c| c.name.as_str()).unwrap_or("?"),
            esc(failed.map(|c| c.detail.as_str()).unwrap_or(""))
        ),
    }
}

/// The claims of one signature, one per line (after its `signature:` line).
pub fn claims(i: &crate::verify::claims::Inspection) {
    use crate::verify::claims::ClaimedSigner;
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

/// A signer claim in a few words (`key <id>`, `keyless <identity> (<issuer>)`).
fn signer_words(s: &crate::verify::claims::ClaimedSigner) -> String {
    use crate::verify::claims::ClaimedSigner;
    match s {
        ClaimedSigner::Key { key_id } => format!("key {}", esc(key_id)),
        ClaimedSigner::Keyless(c) => format!(
            "keyless {} ({})",
            esc(&c.identities.join(", ")),
            esc(c.oidc_issuer.as_deref().unwrap_or("no issuer"))
        ),
        ClaimedSigner::Certificate(c) => format!(
            "certificate {}",
            esc(if c.identities.is_empty() {
                &c.subject
            } else {
                c.identities.first().map_or("", String::as_str)
            })
        ),
        ClaimedSigner::None => "no signer named".to_owned(),
    }
}

/// `inspect REF` as text: the manifest, its files, then each signature's claims.
pub fn reference_inspection(i: &crate::verify::claims::ReferenceInspection) {
    println!(
        "NOT VERIFIED: inspect shows what the model and its signatures claim; run `provenance verify` to check them"
    );
    println!("reference:      {}", esc(&i.reference));
    println!("digest:         {}", esc(&i.digest));
    if let Some(t) = &i.artifact_type {
        println!("artifact type:  {}", esc(t));
    }
    println!("files:          {} ({} bytes)", i.layers.len(), i.size);
    for l in &i.layers {
        println!("  {}  {}  {} bytes", esc(&l.path), esc(&l.digest), l.size);
    }
    println!("signatures:     {}", i.referrers_listed);
    for s in &i.signatures {
        println!();
        println!("signature:      {}", esc(&s.digest));
        if let Some(c) = &s.created {
            println!("created:        {}", esc(c));
        }
        match (&s.claims, &s.error) {
            (Some(c), _) => claims(c),
            (None, Some(e)) => println!("unreadable:     {}", esc(e)),
            (None, None) => {}
        }
    }
}

/// `tree REF` as text: the model and its signatures as a tree (`oras discover --format tree`).
pub fn tree(i: &crate::verify::claims::ReferenceInspection) {
    println!("{}", esc(&i.reference_pinned()));
    if i.signatures.is_empty() {
        println!("(no signatures)");
        return;
    }
    println!("└── {}", crate::formats::bundle::BUNDLE_MEDIA_TYPE);
    let n = i.signatures.len();
    for (k, s) in i.signatures.iter().enumerate() {
        let branch = if k + 1 == n { "└──" } else { "├──" };
        let what = match (&s.claims, &s.error) {
            (Some(c), _) => signer_words(&c.signer),
            (None, Some(e)) => format!("unreadable: {}", esc(e)),
            (None, None) => String::new(),
        };
        println!("    {branch} {}  {what}", esc(&s.digest));
    }
}

/// A signature's source for a one-line summary: a referrer digest is shortened to
/// `sha256:` and 12 hex digits; a file path is never cut.
pub(crate) fn short_source(source: &str) -> String {
    match source.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            format!("sha256:{}", hex.get(..12).unwrap_or(hex))
        }
        _ => source.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_is_shortened_and_a_path_is_never_cut() {
        let d = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(short_source(&d), "sha256:abababababab");
        assert_eq!(short_source("sigs/shards.prov.sig"), "sigs/shards.prov.sig");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            esc("eve\x1b[2J\nverified FAKE"),
            "eve\\e[2J\\nverified FAKE"
        );
        assert_eq!(esc("a\u{202e}b\u{7f}"), "a\\u{202e}b\\u{7f}");
        assert!(matches!(esc("plain ünïcode"), Cow::Borrowed(_)));
    }
}

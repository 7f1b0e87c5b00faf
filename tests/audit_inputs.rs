//! `provenance audit` input handling: malformed policies and revocation lists exit 2 naming the
//! line, the HTML report is one self-contained escaped page, and registry signatures (the OCI
//! extension point) must bind the manifest they are attached to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use provenance::audit::{self, AuditConfig, AuditSource, FetchedSignature, Status};
use provenance::formats::statement::{
    self, Resource, Serialization, SerializationMethod, Statement,
};
use provenance::keys::PrivateKey;
use provenance::sign::{KeySigner, sign_statement};
use provenance::trust::{CommandLineTrust, TrustPolicy, TrustedSigner};
use provenance::verify::Verifier;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_provenance"))
}

/// A temp dir with key pair `a` and a model `m.pt` signed by it (`m.pt.sig` beside it).
fn signed() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    bin()
        .current_dir(p)
        .args(["keygen", "--private", "a.pem", "--public", "a.pub"])
        .assert()
        .success();
    std::fs::write(p.join("m.pt"), vec![7u8; 10_000]).unwrap();
    bin()
        .current_dir(p)
        .args([
            "sign",
            "--model",
            "m.pt",
            "--private-key",
            "a.pem",
            "--metadata",
            "author=alice",
        ])
        .assert()
        .success();
    dir
}

fn audit_stderr(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = bin()
        .current_dir(dir)
        .arg("audit")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn policy_with_unknown_field_exits_2_naming_the_line() {
    let dir = signed();
    std::fs::write(
        dir.path().join("p.yaml"),
        "version: 1\npolicies:\n  - name: prod\n    scopes: ['*']\n    min_signature: 2\n",
    )
    .unwrap();
    let (code, err) = audit_stderr(dir.path(), &["m.pt", "--policy", "p.yaml"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("p.yaml line 5") && err.contains("min_signature"),
        "{err}"
    );
}

#[test]
fn policy_with_bad_key_id_exits_2_naming_field_and_line() {
    let dir = signed();
    std::fs::write(
        dir.path().join("p.yaml"),
        "version: 1\npolicies:\n  - name: prod\n    scopes: ['*']\n    trusted_signers:\n      - key_id: abc123\n",
    )
    .unwrap();
    let (code, err) = audit_stderr(dir.path(), &["m.pt", "--policy", "p.yaml"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("line 6") && err.contains("policies[0].trusted_signers[0].key_id"),
        "{err}"
    );
}

#[test]
fn policy_with_wrong_version_or_no_rules_exits_2() {
    let dir = signed();
    for (text, field) in [
        ("version: 2\npolicies: []\n", "`version`"),
        ("version: 1\npolicies: []\n", "`policies`"),
        (
            "{\"version\": 1, \"policies\": [{\"name\": \"x\", \"scopes\": []}]}",
            "`policies[0].scopes`",
        ),
        ("{\"version\": 1,\n \"policies\": [\n}", "line 3"),
        (
            "version: 1\npolicies:\n  - name: x\n    scopes: ['*']\n    min_signatures: 0\n",
            "line 5",
        ),
    ] {
        std::fs::write(dir.path().join("p"), text).unwrap();
        let (code, err) = audit_stderr(dir.path(), &["m.pt", "--policy", "p"]);
        assert_eq!(code, Some(2), "{text}: {err}");
        assert!(err.contains(field), "{text}: {err}");
    }
}

#[test]
fn malformed_revocation_list_exits_2_naming_the_line() {
    let dir = signed();
    let id = "a".repeat(64);
    for (text, line) in [
        (format!("# ok\n{id}\n{id} last-tuesday\n"), "line 3"),
        (format!("{id} 2025-01-01T00:00:00Z extra\n"), "line 1"),
        ("\n\nmissing.pub\n".to_string(), "line 3"),
    ] {
        std::fs::write(dir.path().join("revoked.txt"), &text).unwrap();
        let (code, err) = audit_stderr(dir.path(), &["m.pt", "--revocation-list", "revoked.txt"]);
        assert_eq!(code, Some(2), "{text}: {err}");
        assert!(
            err.contains(&format!("revoked.txt {line}")),
            "{text}: {err}"
        );
    }
}

#[test]
fn unreadable_input_and_bad_match_exit_2() {
    let dir = signed();
    let (code, err) = audit_stderr(dir.path(), &["nope/", "-p", "a.pub"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("nope"), "{err}");
    let (code, _) = audit_stderr(dir.path(), &["m.pt", "--match", "author"]);
    assert_eq!(code, Some(2));
    let (code, _) = audit_stderr(dir.path(), &["m.pt", "--revoked", "not-a-key"]);
    assert_eq!(code, Some(2));
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let (code, err) = audit_stderr(dir.path(), &["empty"]);
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn html_is_one_self_contained_page_with_every_subject_escaped() {
    let dir = signed();
    let p = dir.path();
    let evil = "m<img src=x onerror=alert(1)>&'\".pt";
    std::fs::write(p.join(evil), b"weights").unwrap();
    bin()
        .current_dir(p)
        .args(["sign", "--model", evil, "--private-key", "a.pem"])
        .args([
            "--metadata",
            "base_model=m.pt",
            "--metadata",
            "note=<script>x</script>",
        ])
        .args(["--metadata", "training_data_hash=sha256:d1"])
        .assert()
        .success();
    let out = bin()
        .current_dir(p)
        .args(["audit", ".", "-p", "a.pub", "--output", "html"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("</html>").count(), 1);
    assert!(!html.contains("http"), "external reference in report");
    assert!(
        !html.contains("<img") && !html.contains("<script"),
        "unescaped markup"
    );
    assert!(html.contains("m&lt;img src=x onerror=alert(1)&gt;&amp;&#39;&quot;.pt"));
    assert!(html.contains("&gt;m.pt&lt;") || html.contains(">m.pt<"));
    assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
    assert!(
        html.contains("<svg") && html.contains("stroke-dasharray"),
        "graph with a derived-from link"
    );
}

fn registry_bundle(key: &PrivateKey, bound: &str) -> Vec<u8> {
    let st = Statement::new(
        "bert".into(),
        vec![Resource {
            name: "model.safetensors".into(),
            algorithm: "sha256".into(),
            digest: "11".repeat(32),
        }],
        Serialization {
            method: SerializationMethod::Files,
            hash_type: "sha256".into(),
            allow_symlinks: false,
            ignore_paths: vec![],
        },
        BTreeMap::from([(
            statement::ANNOTATION_MANIFEST_DIGEST.to_string(),
            bound.to_string(),
        )]),
    );
    let signer = KeySigner::new(PrivateKey::from_signing_key(key.signing_key().clone())).unwrap();
    sign_statement(&st, &signer).unwrap().to_json()
}

#[test]
fn fetched_registry_signature_must_bind_its_manifest() {
    let key = PrivateKey::generate().unwrap();
    let good = format!("sha256:{}", "ab".repeat(32));
    let other = format!("sha256:{}", "cd".repeat(32));
    let sources = [
        AuditSource::Fetched(FetchedSignature {
            bundle: registry_bundle(&key, &good),
            reference: format!("localhost:5000/models/bert@{good}"),
            subject_digest: good.clone(),
        }),
        AuditSource::Fetched(FetchedSignature {
            bundle: registry_bundle(&key, &good),
            reference: format!("localhost:5000/models/bert@{other}"),
            subject_digest: other,
        }),
    ];
    let cfg = AuditConfig::new(
        Verifier::new(
            TrustPolicy::from_command_line(CommandLineTrust {
                signers: vec![TrustedSigner::Key(key.public_key().unwrap())],
            }),
            None,
        )
        .unwrap(),
    );
    let report = audit::audit(&sources, &cfg).unwrap();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["entries"][0]["reference"],
        format!("localhost:5000/models/bert@{good}")
    );
    assert_eq!(report.entries[0].status, Status::Verified);
    assert_eq!(
        report.entries[0].scope(),
        Some("localhost:5000/models/bert")
    );
    assert_eq!(report.entries[1].status, Status::Failed);
    assert_eq!(
        json["entries"][1]["findings"][0]["kind"],
        "manifest-binding"
    );
}

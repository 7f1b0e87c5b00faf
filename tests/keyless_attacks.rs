//! Issue 14's "also tried" attacks on keyless and registry signatures, each an exit 1 naming
//! the check that catches it:
//! - one keyless identity signing twice is one signer toward `min_signatures`;
//! - a bundle with two tlog entries (the second a copy at another index) is refused, as
//!   sigstore-python refuses it ("expected exactly one log entry");
//! - a log entry whose body records another payload and signature (`tlog-body`), a SET and
//!   checkpoint signed by a key that is not the trusted root's (`tlog-set`), an integrated time
//!   after the certificate expired (`certificate-chain`): each made by tests/keyless_fixture.py,
//!   otherwise valid;
//! - a signature referrer whose bundle binds another manifest than its `subject` (`binding`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::Work;
use common::registry::Registry;
use common::sigstore::{Fakes, IDENTITY, ISSUER, token};
use serde_json::Value;
use std::process::Command;

/// Verifies with JSON output; returns (exit code, report).
fn verify(w: &Work, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    all.extend(["-o", "json"]);
    let out = w.run(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v, text)
}

/// The first failed check of a report (a disk verdict read as one list, `common::disk_report`).
fn failed_check(v: &Value) -> (String, String) {
    let disk = common::disk_report(v);
    // A reference's verdict starts with `resolve`; a model on disk's does not.
    let report = if v["checks"][0]["name"] == "resolve" {
        v
    } else {
        &disk
    };
    let c = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["passed"] == false)
        .unwrap_or_else(|| panic!("no failed check in {v}"));
    (
        c["name"].as_str().unwrap().to_owned(),
        c["detail"].as_str().unwrap().to_owned(),
    )
}

/// A keyless bundle for `bert` from tests/keyless_fixture.py (a private Sigstore: its own Fulcio
/// CA, CT log and Rekor key), with the fixture's attack flags.
fn fixture(w: &Work, flags: &[&str]) {
    w.hf_model("bert");
    w.keygen("k");
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "bert",
            "--signature",
            "key.sig",
            "--private-key",
            "k.pem",
        ],
    );
    let key_bundle: Value =
        serde_json::from_slice(&std::fs::read(w.path("key.sig")).unwrap()).unwrap();
    let payload = B64
        .decode(key_bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    w.write("payload.json", &payload);
    let mut args = vec![
        format!("{}/tests/keyless_fixture.py", env!("CARGO_MANIFEST_DIR")),
        ".".into(),
        "payload.json".into(),
        "alice@example.com".into(),
        "https://issuer.example".into(),
    ];
    args.extend(flags.iter().map(|f| f.to_string()));
    let out = Command::new(common::venv_bin("python"))
        .args(&args)
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const ALICE: [&str; 11] = [
    "--model",
    "bert",
    "--signature",
    "bundle.json",
    "--certificate-identity",
    "alice@example.com",
    "--certificate-oidc-issuer",
    "https://issuer.example",
    "--trust-root",
    "trusted_root.json",
    "--offline",
];

#[test]
fn the_fixture_bundle_verifies_so_each_attack_below_is_the_only_flaw() {
    let w = Work::new();
    fixture(&w, &["--expired"]);
    let (code, v, text) = verify(&w, &ALICE);
    assert_eq!(code, 0, "{text}");
    assert_eq!(common::disk_report(&v)["verified"], true, "{v}");
}

#[test]
fn a_log_entry_recording_another_payload_and_signature_fails_at_tlog_body() {
    let w = Work::new();
    fixture(&w, &["--other-body"]);
    let (code, v, text) = verify(&w, &ALICE);
    assert_eq!(code, 1, "{text}");
    assert_eq!(failed_check(&v).0, "tlog-body", "{text}");
}

#[test]
fn a_set_signed_by_a_key_not_in_the_trusted_root_fails_at_tlog_set() {
    let w = Work::new();
    fixture(&w, &["--foreign-log-key"]);
    let (code, v, text) = verify(&w, &ALICE);
    assert_eq!(code, 1, "{text}");
    assert_eq!(failed_check(&v).0, "tlog-set", "{text}");
}

#[test]
fn an_integrated_time_after_the_certificate_expired_fails_at_certificate_chain() {
    let w = Work::new();
    fixture(&w, &["--expired", "--late-time"]);
    let (code, v, text) = verify(&w, &ALICE);
    assert_eq!(code, 1, "{text}");
    assert_eq!(failed_check(&v).0, "certificate-chain", "{text}");
}

#[test]
fn a_second_tlog_entry_is_refused_as_sigstore_python_refuses_it() {
    let w = Work::new();
    fixture(&w, &["--expired"]);
    let mut b: Value =
        serde_json::from_slice(&std::fs::read(w.path("bundle.json")).unwrap()).unwrap();
    let mut copy = b["verificationMaterial"]["tlogEntries"][0].clone();
    copy["logIndex"] = "8".into();
    b["verificationMaterial"]["tlogEntries"]
        .as_array_mut()
        .unwrap()
        .push(copy);
    std::fs::write(w.path("bundle.json"), serde_json::to_vec(&b).unwrap()).unwrap();
    let (code, v, text) = verify(&w, &ALICE);
    assert_eq!(code, 1, "{text}");
    let (name, detail) = failed_check(&v);
    assert_eq!(name, "tlog", "{text}");
    assert!(
        detail.contains("expected exactly one log entry"),
        "{detail}"
    );
    // The oracle agrees: sigstore-python refuses the same bundle.
    let script = r#"
import sys
from sigstore.models import Bundle
try:
    Bundle.from_json(open("bundle.json").read())
except Exception as e:
    print("refused:", e)
    sys.exit(0)
print("accepted")
sys.exit(1)
"#;
    let out = Command::new(common::venv_bin("python"))
        .args(["-c", script])
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sigstore-python accepted a bundle with two log entries: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn one_keyless_identity_signing_twice_is_one_signer() {
    let w = Work::new();
    w.hf_model("bert");
    let f = Fakes::start();
    let tok = token();
    w.expect(0, &["push", "bert", "models/bert:v1"]);
    for _ in 0..2 {
        w.expect(
            0,
            &[
                "sign",
                "models/bert:v1",
                "--keyless",
                "--identity-token",
                &tok,
                "--trust-config",
                f.trust_config.to_str().unwrap(),
            ],
        );
    }
    w.write(
        "policy.yaml",
        format!(
            "version: 1\npolicies:\n- name: release\n  scopes: ['*']\n  trusted_signers:\n  - identity: {IDENTITY}\n    issuer: {ISSUER}\n  - identity: https://github.com/acme/other/.github/workflows/r.yml@refs/heads/main\n    issuer: {ISSUER}\n  min_signatures: 2\n"
        )
        .as_bytes(),
    );
    let root = f.trusted_root.to_str().unwrap();
    let (code, v, text) = verify(
        &w,
        &[
            "models/bert:v1",
            "--policy",
            "policy.yaml",
            "--trust-root",
            root,
        ],
    );
    assert_eq!(code, 1, "{text}");
    let sigs = v["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2, "{v}");
    assert!(sigs.iter().all(|s| s["status"] == "trusted"), "{v}");
    let (name, detail) = failed_check(&v);
    assert_eq!(name, "policy:min_signatures");
    assert!(
        detail.starts_with("1 distinct trusted signer(s) verified, 2 required"),
        "{detail}"
    );
    w.expect(
        1,
        &[
            "pull",
            "models/bert:v1",
            "--output",
            "out",
            "--policy",
            "policy.yaml",
            "--trust-root",
            root,
        ],
    );
    assert!(!w.path("out").exists());
}

#[test]
fn a_referrer_whose_bundle_binds_another_manifest_fails_at_binding() {
    let w = Work::new();
    w.keygen("k");
    w.write("a/model.bin", &common::bytes(20_000, 1));
    w.write("b/model.bin", &common::bytes(20_000, 2));
    let reg = Registry::start(w.dir.path(), None);
    for repo in ["models/m".to_owned(), format!("{}/models/m", reg.host())] {
        w.expect(0, &["push", "a", &format!("{repo}:a")]);
        w.expect(0, &["sign", &format!("{repo}:a"), "--private-key", "k.pem"]);
        // Take A's bundle (it binds A's manifest digest) and attach it to model B.
        w.expect(
            0,
            &[
                "pull",
                &format!("{repo}:a"),
                "--output",
                "pa",
                "--public-key",
                "k.pub",
            ],
        );
        let bundle = w.path("pa.sig");
        assert!(bundle.is_file());
        // push itself refuses a bundle that does not cover the files (exit 2, nothing sent);
        // the same files under another name (another config, so another manifest digest)
        // pass that check and reach the registry, where `binding` must catch them.
        w.expect(
            2,
            &[
                "push",
                "b",
                &format!("{repo}:b"),
                "--signature",
                bundle.to_str().unwrap(),
            ],
        );
        w.expect(
            0,
            &[
                "push",
                "a",
                &format!("{repo}:b"),
                "--name",
                "another-model",
                "--signature",
                bundle.to_str().unwrap(),
            ],
        );
        let (code, v, text) = verify(&w, &[&format!("{repo}:b"), "--public-key", "k.pub"]);
        assert_eq!(code, 1, "{text}");
        let sig = &v["signatures"][0];
        let failed = sig["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["passed"] == false)
            .unwrap_or_else(|| panic!("{v}"));
        assert!(
            failed["name"] == "binding" || failed["name"] == "layers",
            "{v}"
        );
        w.expect(
            1,
            &[
                "pull",
                &format!("{repo}:b"),
                "--output",
                "pb",
                "--public-key",
                "k.pub",
            ],
        );
        assert!(!w.path("pb").exists());
        std::fs::remove_dir_all(w.path("pa")).unwrap();
        std::fs::remove_file(w.path("pa.sig")).unwrap();
    }
}

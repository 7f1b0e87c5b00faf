//! Keyless signatures made against the local Fulcio and Rekor fakes, by us and by model_signing,
//! verified by our own verifier with the fakes' trusted root pinned: the signing side (held to the
//! protocol by sigstore-python in tests/keyless_sigstore.rs) and the verifying side (held to
//! public-good bundles in tests/keyless_verify.rs) meet here, on disk and through the local store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::sigstore::{Fakes, IDENTITY, ISSUER, token};
use common::{Work, venv_bin};
use serde_json::Value;
use std::process::Command;

fn keyless<'a>(f: &'a Fakes, tok: &'a str) -> Vec<&'a str> {
    vec![
        "--keyless",
        "--identity-token",
        tok,
        "--trust-config",
        f.trust_config.to_str().unwrap(),
    ]
}

fn trust<'a>(f: &'a Fakes, identity: &'a str, issuer: &'a str) -> Vec<&'a str> {
    vec![
        "--certificate-identity",
        identity,
        "--certificate-oidc-issuer",
        issuer,
        "--trust-root",
        f.trusted_root.to_str().unwrap(),
    ]
}

/// Runs `verify ... --output json`, asserts the exit code and returns the report.
fn verify_json(w: &Work, code: i32, args: &[&str]) -> Value {
    let out = w.run_env(args, &[]);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::disk_report(&serde_json::from_slice::<Value>(&out.stdout).unwrap())
}

fn check_names(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn our_keyless_bundle_verifies_with_the_pinned_root_and_only_for_its_identity() {
    let w = Work::new();
    w.hf_model("bert");
    let f = Fakes::start();
    let tok = token();
    let mut sign = vec!["sign", "--model", "bert"];
    sign.extend(keyless(&f, &tok));
    w.expect(0, &sign);

    let mut verify = vec!["verify", "--model", "bert", "--output", "json"];
    verify.extend(trust(&f, IDENTITY, ISSUER));
    let report = verify_json(&w, 0, &verify);
    assert_eq!(report["verified"], true, "{report}");
    let names = check_names(&report);
    for step in ["signature", "statement", "model"] {
        assert!(names.iter().any(|n| n == step), "no `{step}` in {names:?}");
    }
    assert!(
        common::signer_label(&report["signer"]).contains(IDENTITY),
        "{report}"
    );

    // Another identity, another issuer: not trusted.
    let mut wrong = vec!["verify", "--model", "bert"];
    wrong.extend(trust(&f, "https://github.com/evil/x", ISSUER));
    w.expect(1, &wrong);
    let mut wrong = vec!["verify", "--model", "bert"];
    wrong.extend(trust(&f, IDENTITY, "https://issuer.example.test"));
    w.expect(1, &wrong);
    // The public-good root does not know the fakes' CA.
    w.expect(
        1,
        &[
            "verify",
            "--model",
            "bert",
            "--certificate-identity",
            IDENTITY,
            "--certificate-oidc-issuer",
            ISSUER,
            "--offline",
        ],
    );

    // A changed file fails at the model check, after the certificate checks passed.
    w.write("bert/config.json", b"{\"changed\": true}");
    let mut verify = vec!["verify", "--model", "bert", "--output", "json"];
    verify.extend(trust(&f, IDENTITY, ISSUER));
    let report = verify_json(&w, 1, &verify);
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["name"], "model", "{report}");
}

#[test]
fn model_signing_keyless_bundle_verifies_in_provenance() {
    let w = Work::new();
    w.hf_model("bert");
    let f = Fakes::start();
    let tok = token();
    let out = Command::new(venv_bin("model_signing"))
        .args(["sign", "sigstore", "bert", "--signature", "ms.sig"])
        .arg("--trust_config")
        .arg(&f.trust_config)
        .args(["--identity_token", &tok])
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut verify = vec!["verify", "--model", "bert", "--signature", "ms.sig"];
    verify.extend(trust(&f, IDENTITY, ISSUER));
    w.expect(0, &verify);
    let mut wrong = vec!["verify", "--model", "bert", "--signature", "ms.sig"];
    wrong.extend(trust(&f, "someone@example.test", ISSUER));
    w.expect(1, &wrong);
}

#[test]
fn keyless_signature_on_the_local_store_verifies_and_pulls_by_identity() {
    let w = Work::new();
    w.hf_model("bert");
    let f = Fakes::start();
    let tok = token();
    w.expect(0, &["push", "bert", "models/bert:v1"]);
    let mut sign = vec!["sign", "models/bert:v1"];
    sign.extend(keyless(&f, &tok));
    w.expect(0, &sign);

    let mut verify = vec!["verify", "models/bert:v1"];
    verify.extend(trust(&f, IDENTITY, ISSUER));
    w.expect(0, &verify);
    let mut wrong = vec!["verify", "models/bert:v1"];
    wrong.extend(trust(&f, "https://github.com/evil/x", ISSUER));
    w.expect(1, &wrong);

    let mut pull = vec!["pull", "models/bert:v1", "--output", "out"];
    pull.extend(trust(&f, IDENTITY, ISSUER));
    w.expect(0, &pull);
    assert_eq!(
        std::fs::read(w.path("out/config.json")).unwrap(),
        std::fs::read(w.path("bert/config.json")).unwrap()
    );
    let mut refused = vec!["pull", "models/bert:v1", "--output", "out2"];
    refused.extend(trust(&f, "https://github.com/evil/x", ISSUER));
    w.expect(1, &refused);
    assert!(!w.path("out2").exists());
}

fn identity_policy(w: &Work, name: &str, identity: &str) {
    w.write(
        name,
        format!(
            "version: 1\npolicies:\n  - name: release\n    scopes: [\"*\"]\n    trusted_signers:\n      - identity: {identity}\n        issuer: {ISSUER}\n    required_metadata: [stage]\n"
        )
        .as_bytes(),
    );
}

#[test]
fn a_policy_trusts_keyless_signers_by_identity_and_issuer() {
    let w = Work::new();
    w.hf_model("bert");
    let f = Fakes::start();
    let tok = token();
    let mut sign = vec!["sign", "--model", "bert", "--metadata", "stage=release"];
    sign.extend(keyless(&f, &tok));
    w.expect(0, &sign);
    identity_policy(&w, "ours.yaml", IDENTITY);
    identity_policy(
        &w,
        "theirs.yaml",
        "https://github.com/other/repo/.github/workflows/x.yml@refs/heads/main",
    );
    let root = f.trusted_root.to_str().unwrap();

    // No identity flags: the policy names the signer, and says so in the identity check.
    let report = verify_json(
        &w,
        0,
        &[
            "verify",
            "--model",
            "bert",
            "--policy",
            "ours.yaml",
            "--trust-root",
            root,
            "-o",
            "json",
        ],
    );
    let checks = report["checks"].as_array().unwrap();
    let by_name = |n: &str| {
        checks
            .iter()
            .find(|c| c["name"] == n)
            .unwrap_or_else(|| panic!("no {n} in {report}"))
    };
    assert_eq!(by_name("policy:min_signatures")["passed"], true, "{report}");
    assert_eq!(
        by_name("policy:required_metadata")["passed"],
        true,
        "{report}"
    );
    assert!(
        by_name("identity")["detail"]
            .as_str()
            .unwrap()
            .contains("matches"),
        "{report}"
    );

    // A rule naming someone else: every certificate check passes, the policy does not.
    let report = verify_json(
        &w,
        1,
        &[
            "verify",
            "--model",
            "bert",
            "--policy",
            "theirs.yaml",
            "--trust-root",
            root,
            "-o",
            "json",
        ],
    );
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // The rule does not trust this identity: the signer fails at `identity`, before its
    // statement is read; the rule checks that follow it say the same.
    assert_eq!(failed, ["identity"], "{report}");
    let rule_failed: Vec<&str> = report["rule_checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        rule_failed,
        ["policy:min_signatures", "policy:required_metadata"],
        "{report}"
    );

    // Through the local store: verify REF and pull with the policy.
    w.expect(0, &["push", "bert", "models/bert:v1"]);
    let mut sign = vec!["sign", "models/bert:v1", "--metadata", "stage=release"];
    sign.extend(keyless(&f, &tok));
    w.expect(0, &sign);
    w.expect(
        0,
        &[
            "verify",
            "models/bert:v1",
            "--policy",
            "ours.yaml",
            "--trust-root",
            root,
        ],
    );
    w.expect(
        1,
        &[
            "verify",
            "models/bert:v1",
            "--policy",
            "theirs.yaml",
            "--trust-root",
            root,
        ],
    );
    w.expect(
        1,
        &[
            "pull",
            "models/bert:v1",
            "-o",
            "out",
            "--policy",
            "theirs.yaml",
            "--trust-root",
            root,
        ],
    );
    assert!(!w.path("out").exists());
    w.expect(
        0,
        &[
            "pull",
            "models/bert:v1",
            "-o",
            "out",
            "--policy",
            "ours.yaml",
            "--trust-root",
            root,
        ],
    );

    // A keyless signer needs both halves.
    w.write(
        "half.yaml",
        format!("version: 1\npolicies:\n  - name: r\n    scopes: [\"*\"]\n    trusted_signers:\n      - identity: {IDENTITY}\n").as_bytes(),
    );
    let out = w.expect(
        2,
        &[
            "verify",
            "--model",
            "bert",
            "--policy",
            "half.yaml",
            "--trust-root",
            root,
        ],
    );
    assert!(out.contains("needs both `identity` and `issuer`"), "{out}");
}

#[test]
fn audit_verifies_keyless_bundles_with_a_policy_naming_their_identity() {
    let w = Work::new();
    w.hf_model("bert");
    let f = Fakes::start();
    let tok = token();
    let mut sign = vec!["sign", "--model", "bert", "--metadata", "stage=release"];
    sign.extend(keyless(&f, &tok));
    w.expect(0, &sign);
    identity_policy(&w, "ours.yaml", IDENTITY);
    identity_policy(
        &w,
        "theirs.yaml",
        "https://github.com/other/repo/.github/workflows/x.yml@refs/heads/main",
    );
    let root = f.trusted_root.to_str().unwrap();
    let audit = |code: i32, policy: &str| -> Value {
        let out = w.run_env(
            &[
                "audit",
                "bert",
                "--policy",
                policy,
                "--trust-root",
                root,
                "-o",
                "json",
            ],
            &[],
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["entries"].as_array().unwrap().len(), 1, "{v}");
        v["entries"][0].clone()
    };

    let e = audit(0, "ours.yaml");
    assert_eq!(e["status"], "verified", "{e}");
    assert_eq!(e["signer"]["kind"], "keyless", "{e}");
    assert_eq!(e["signer"]["identity"], IDENTITY, "{e}");
    assert_eq!(e["signer"]["issuer"], ISSUER, "{e}");
    // The log's signed integrated time is the trusted signing time.
    assert!(e["signed_at"].as_str().unwrap().starts_with("20"), "{e}");
    assert_eq!(e["metadata"]["stage"], "release", "{e}");

    let e = audit(1, "theirs.yaml");
    assert_eq!(e["status"], "unknown-signer", "{e}");

    // Without a trusted root the bundle is only claimed.
    let out = w.run_env(&["audit", "bert", "-o", "json"], &[]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["entries"][0]["status"], "unknown-signer", "{v}");

    // A changed file: the model check fails after the keyless signature verified.
    w.write("bert/config.json", b"{\"changed\": true}");
    let e = audit(1, "ours.yaml");
    assert_eq!(e["status"], "failed", "{e}");
}

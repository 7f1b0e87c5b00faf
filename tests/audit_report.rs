//! `provenance audit` end to end: a model zoo with several signers, a revoked key, an unknown key,
//! a tampered model, an unsigned model, a fine-tune declaring its base model, and datasets whose
//! hashes disagree. The JSON report is compared exactly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_provenance"))
}

/// Generates a key pair `<name>.pem`/`<name>.pub` in `dir`; returns the key id.
fn keygen(dir: &Path, name: &str) -> String {
    let out = bin()
        .current_dir(dir)
        .args(["keygen", "--private", &format!("{name}.pem")])
        .args(["--public", &format!("{name}.pub"), "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["key_id"].as_str().unwrap().to_owned()
}

/// Writes generated model bytes and signs them with `<model>.sig` beside the model.
fn model(dir: &Path, path: &str, seed: u8, key: &str, metadata: &[&str]) -> Vec<u8> {
    let bytes: Vec<u8> = (0..50_000u32)
        .map(|i| (i as u8).wrapping_mul(seed).wrapping_add(seed))
        .collect();
    std::fs::write(dir.join(path), &bytes).unwrap();
    let mut cmd = bin();
    cmd.current_dir(dir).args([
        "sign",
        "--model",
        path,
        "--private-key",
        &format!("{key}.pem"),
    ]);
    for m in metadata {
        cmd.args(["--metadata", m]);
    }
    cmd.assert().success();
    bytes
}

fn audit(dir: &Path, args: &[&str]) -> (Value, Output) {
    let out = bin()
        .current_dir(dir)
        .arg("audit")
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (v, out)
}

/// A dataset digest as `provenance digest` prints it: `sha256:` and 64 hex digits.
fn data(tag: &str) -> String {
    format!("sha256:{}", tag.repeat(32))
}

fn hex_sha256(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

struct Zoo {
    dir: tempfile::TempDir,
    a: String,
    b: String,
    c: String,
    d: String,
    m2_signed: String,
    m2_found: String,
}

fn zoo() -> Zoo {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir(p.join("models")).unwrap();
    let (a, b, c, d) = (
        keygen(p, "a"),
        keygen(p, "b"),
        keygen(p, "c"),
        keygen(p, "d"),
    );
    let corpus = "training_data=corpus";
    model(
        p,
        "models/m1.pt",
        1,
        "a",
        &[
            "author=alice",
            corpus,
            &format!("training_data_hash={}", data("d1")),
        ],
    );
    let m2 = model(p, "models/m2.pt", 2, "a", &["author=alice"]);
    model(
        p,
        "models/m3.pt",
        3,
        "b",
        &[
            "author=bob",
            corpus,
            &format!("training_data_hash={}", data("d2")),
        ],
    );
    model(p, "models/m4.pt", 4, "d", &["author=mallory"]);
    std::fs::write(p.join("models/m5.pt"), b"never signed").unwrap();
    model(
        p,
        "models/ft.pt",
        6,
        "c",
        &[
            "author=carol",
            "base_model=m1.pt",
            &format!("training_data_hash={}", data("d9")),
        ],
    );
    model(p, "models/g1.pt", 7, "c", &["author=carol"]);
    model(p, "models/g2.pt", 8, "c", &["author=carol"]);
    // m2 changes after it was signed.
    let mut tampered = m2.clone();
    tampered[10] ^= 0xff;
    std::fs::write(p.join("models/m2.pt"), &tampered).unwrap();
    Zoo {
        dir,
        a,
        b,
        c,
        d,
        m2_signed: hex_sha256(&m2),
        m2_found: hex_sha256(&tampered),
    }
}

fn entry(
    manifest: &str,
    subject: &str,
    signer: &str,
    md: Value,
    status: &str,
    findings: Value,
) -> Value {
    let mut e = json!({"manifest": manifest, "subject": subject, "signed_at": null,
           "metadata": md, "status": status, "findings": findings});
    // An unknown signer established nothing: its key is only what the bundle claims.
    if status == "unknown-signer" {
        e["signer"] = Value::Null;
        e["claimed_signer"] = signer.into();
    } else {
        e["signer"] = json!({"kind": "key", "key_id": signer});
    }
    e
}

fn finding(kind: &str, detail: String) -> Value {
    json!({"kind": kind, "detail": detail})
}

#[test]
fn report_names_every_signer_status_and_finding() {
    let z = zoo();
    let (report, out) = audit(
        z.dir.path(),
        &[
            "models",
            "--public-key",
            "a.pub",
            "--public-key",
            "c.pub",
            "--revoked",
            "b.pub",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reuse = finding(
        "key-reuse",
        format!("key {} used by 3 models / 1 authors", &z.c[..16]),
    );
    let conflict = finding(
        "dataset-conflict",
        format!(
            "dataset `corpus` appears with 2 different training_data_hash values: {}, {}",
            data("d1"),
            data("d2")
        ),
    );
    let expected = json!({
        "entries": [
            entry("models/g1.pt.sig", "g1.pt", &z.c, json!({"author": "carol"}), "verified", json!([reuse])),
            entry("models/g2.pt.sig", "g2.pt", &z.c, json!({"author": "carol"}), "verified", json!([reuse])),
            entry("models/m1.pt.sig", "m1.pt", &z.a,
                  json!({"author": "alice", "training_data": "corpus", "training_data_hash": data("d1")}),
                  "verified", json!([conflict])),
            entry("models/ft.pt.sig", "ft.pt", &z.c,
                  json!({"author": "carol", "base_model": "m1.pt", "training_data_hash": data("d9")}),
                  "verified", json!([reuse])),
            entry("models/m2.pt.sig", "m2.pt", &z.a, json!({"author": "alice"}), "failed", json!([
                finding("model-mismatch", format!(
                    "model models/m2.pt differs from its signature: .: digest mismatch (signed {}, found {})",
                    z.m2_signed, z.m2_found)),
            ])),
            entry("models/m3.pt.sig", "m3.pt", &z.b,
                  json!({"author": "bob", "training_data": "corpus", "training_data_hash": data("d2")}),
                  "revoked", json!([
                finding("revoked-key", format!(
                    "signed by key {} revoked (--revoked b.pub); the signature verifies with it", z.b)),
                finding("no-trusted-timestamp",
                    "no trusted timestamp; cannot prove it predates the revocation".into()),
                conflict,
            ])),
            entry("models/m4.pt.sig", "m4.pt", &z.d, json!({"author": "mallory"}), "unknown-signer", json!([
                finding("unknown-signer", format!(
                    "signed by key {} which is not trusted (pass --public-key or list it in the policy); subject and metadata are claimed, not verified", z.d)),
            ])),
            {"model": "models/m5.pt", "subject": "m5.pt", "signer": null, "signed_at": null,
             "metadata": {}, "status": "unsigned", "findings": [
                finding("unsigned", "model has no signature (looked for models/m5.pt.sig); sign it with `provenance sign`".into()),
             ]},
        ],
        "summary": {"total": 8, "verified": 4, "failed": 1, "unknown-signer": 1, "revoked": 1,
                    "unsigned": 1, "signers": 4, "examined": 8, "skipped": []},
    });
    // The JSON envelope (docs/json.md) around the report.
    let mut report = report;
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["command"], "audit");
    assert_eq!(report["ok"], false);
    assert_eq!(report["exit_code"], 1);
    assert_eq!(report["error"]["class"], "not_trusted");
    for k in ["schema_version", "command", "ok", "exit_code", "error"] {
        report.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(
        report,
        expected,
        "{}",
        serde_json::to_string_pretty(&report).unwrap()
    );
}

#[test]
fn revoking_a_trusted_key_marks_its_signatures_revoked() {
    let z = zoo();
    let (report, out) = audit(
        z.dir.path(),
        &[
            "models/m1.pt",
            "models/g1.pt.sig",
            "--public-key",
            "a.pub",
            "--public-key",
            "c.pub",
            "--revoked",
            &z.a,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let statuses: Vec<(&str, &str)> = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["subject"].as_str().unwrap(),
                e["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, [("g1.pt", "verified"), ("m1.pt", "revoked")]);
}

#[test]
fn revocation_list_time_and_comments_are_read() {
    let z = zoo();
    std::fs::write(
        z.dir.path().join("revoked.txt"),
        "# keys revoked after the laptop theft\nb.pub 2025-01-31T12:00:00Z\n",
    )
    .unwrap();
    let (report, _) = audit(
        z.dir.path(),
        &["models/m3.pt", "--revocation-list", "revoked.txt"],
    );
    let e = &report["entries"][0];
    assert_eq!(e["status"], "revoked");
    assert_eq!(
        e["findings"][0]["detail"],
        format!(
            "signed by key {} revoked at 2025-01-31T12:00:00Z (revoked.txt line 2); the signature verifies with it",
            z.b
        )
    );
}

#[test]
fn match_keeps_models_trained_on_the_data_and_their_descendants() {
    let z = zoo();
    let (report, out) = audit(
        z.dir.path(),
        &[
            "models",
            "--public-key",
            "a.pub",
            "--public-key",
            "c.pub",
            "--match",
            &format!("training_data_hash={}", data("d1")),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries = report["entries"].as_array().unwrap();
    let subjects: Vec<&str> = entries
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["m1.pt", "ft.pt"]);
    assert!(
        entries[1]["findings"]
            .as_array()
            .unwrap()
            .contains(&finding(
                "derived-from",
                "derived from m1.pt (models/m1.pt.sig)".into()
            )),
        "{entries:?}"
    );
    assert_eq!(report["summary"]["total"], 2);
    assert_eq!(report["summary"]["examined"], 8);
}

#[test]
fn all_verified_exits_zero_and_text_is_a_table() {
    let z = zoo();
    let out = bin()
        .current_dir(z.dir.path())
        .args([
            "audit",
            "models/m1.pt",
            "models/g1.pt",
            "--public-key",
            "a.pub",
            "-p",
            "c.pub",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("STATUS    SUBJECT  SIGNER"), "{text}");
    assert!(text.contains("verified  m1.pt"), "{text}");
}

#[test]
fn policy_supplies_trust_and_enforces_required_metadata() {
    let z = zoo();
    let p = z.dir.path();
    std::fs::write(
        p.join("policy.yaml"),
        "version: 1\npolicies:\n  - name: local\n    scopes: [\"local/*\"]\n    trusted_signers:\n      - public_key: a.pub\n    required_metadata: [author, training_data_hash]\n",
    )
    .unwrap();
    let (report, out) = audit(p, &["models/m1.pt", "--policy", "policy.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["entries"][0]["signer"]["kind"], "key");
    assert_eq!(report["entries"][0]["signer"]["key_id"], z.a.as_str());

    std::fs::write(
        p.join("strict.json"),
        format!(
            r#"{{"version": 1, "policies": [{{"name": "two-party", "scopes": ["*"],
                "trusted_signers": [{{"key_id": "{}"}}, {{"public_key": "c.pub"}}],
                "min_signatures": 2}}]}}"#,
            z.a
        ),
    )
    .unwrap();
    let (report, out) = audit(p, &["models/m1.pt", "--policy", "strict.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        report["entries"][0]["status"], "unknown-signer",
        "a key id alone cannot check a signature"
    );
    let (report, out) = audit(
        p,
        &["models/m1.pt", "--policy", "strict.json", "-p", "a.pub"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["entries"][0]["status"], "failed");
    assert_eq!(
        report["entries"][0]["findings"][0]["detail"],
        "policy rule `two-party`: min_signatures not met: 1 distinct trusted signer(s) verified, 2 required"
    );
}

#[test]
fn folder_scan_skips_json_that_is_not_a_bundle_but_fails_a_broken_sig() {
    let z = zoo();
    let p = z.dir.path();
    std::fs::create_dir(p.join("pile")).unwrap();
    std::fs::copy(p.join("models/m1.pt.sig"), p.join("pile/m1.json")).unwrap();
    std::fs::write(p.join("pile/config.json"), "{\"hidden_size\": 64}").unwrap();
    std::fs::write(p.join("pile/broken.sig"), "not json").unwrap();
    let (report, out) = audit(p, &["pile", "-p", "a.pub"]);
    assert_eq!(out.status.code(), Some(1));
    let entries = report["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["manifest"], "pile/broken.sig");
    assert_eq!(entries[0]["status"], "failed");
    assert_eq!(entries[0]["findings"][0]["kind"], "not-a-bundle");
    assert_eq!(entries[1]["status"], "verified");
    assert_eq!(report["summary"]["skipped"][0]["path"], "pile/config.json");
}

/// One model signed twice (two keys, two signature files) with different training data: each
/// signature gets a `metadata-conflict` finding naming the key and both values; a hash that is
/// not `sha256:<64 hex>` gets a `data-hash-format` finding; the dataset conflict stays.
#[test]
fn conflicting_metadata_on_one_model_and_malformed_data_hashes_are_findings() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir(p.join("sigs")).unwrap();
    keygen(p, "a");
    keygen(p, "c");
    std::fs::write(p.join("m.pt"), b"weights").unwrap();
    for (key, sig, hash) in [
        ("a", "sigs/m-a.sig", data("d1")),
        ("c", "sigs/m-c.sig", data("d2")),
    ] {
        bin()
            .current_dir(p)
            .args([
                "sign",
                "--model",
                "m.pt",
                "--private-key",
                &format!("{key}.pem"),
            ])
            .args(["--signature", sig, "--metadata", "author=alice"])
            .args(["--metadata", &format!("training_data_hash={hash}")])
            .assert()
            .success();
    }
    model(
        p,
        "x.pt",
        3,
        "a",
        &[
            "eval_training_data_hash=sha256:abc",
            "training_data_hash=d1",
        ],
    );
    std::fs::rename(p.join("x.pt.sig"), p.join("sigs/x.pt.sig")).unwrap();
    let (report, out) = audit(p, &["sigs", "--public-key", "a.pub", "-p", "c.pub"]);
    assert_eq!(out.status.code(), Some(0), "{report}");
    let entries = report["entries"].as_array().unwrap();
    let findings = |origin: &str| -> Vec<Value> {
        entries
            .iter()
            .find(|e| e["manifest"] == origin)
            .expect("an entry for the signature")["findings"]
            .as_array()
            .unwrap()
            .clone()
    };
    let conflict = finding(
        "metadata-conflict",
        format!(
            "model `m.pt` is signed with 2 different values for `training_data_hash`: {:?} (sigs/m-a.sig), {:?} (sigs/m-c.sig)",
            data("d1"),
            data("d2")
        ),
    );
    assert_eq!(findings("sigs/m-a.sig"), vec![conflict.clone()]);
    assert_eq!(findings("sigs/m-c.sig"), vec![conflict]);
    let x = findings("sigs/x.pt.sig");
    assert_eq!(x.len(), 2, "{x:?}");
    for (k, v) in [
        ("eval_training_data_hash", "sha256:abc"),
        ("training_data_hash", "d1"),
    ] {
        assert!(
            x.contains(&finding(
                "data-hash-format",
                format!(
                    "`{k}` is {v:?}, not sha256:<64 hex digits>; record a dataset's digest with --metadata {k}=@digest:PATH (or `provenance digest PATH`)"
                )
            )),
            "{k}: {x:?}"
        );
    }
    // The existing dataset-conflict finding is kept beside the new ones (zoo: m1 and m3).
    let z = zoo();
    let (report, _) = audit(z.dir.path(), &["models", "-p", "a.pub", "-p", "c.pub"]);
    assert!(
        report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["kind"] == "dataset-conflict"))
            .count()
            == 2,
        "{report}"
    );
}

/// `audit --data DIGEST` keeps the models whose signed `training_data_hash` (or any key ending
/// in it) is DIGEST, computed with `provenance digest DATASET`, plus the models derived from
/// them; bare hex compares equal to `sha256:<hex>`.
#[test]
fn data_lists_models_trained_on_a_dataset_and_their_descendants() {
    let z = zoo();
    let p = z.dir.path();
    std::fs::create_dir_all(p.join("suspect-dataset")).unwrap();
    std::fs::write(p.join("suspect-dataset/train.csv"), b"x,y\n1,2\n").unwrap();
    let out = bin()
        .current_dir(p)
        .args(["digest", "./suspect-dataset"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let suspect = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    // Signed with the computed digest: the value is the dataset's digest, with its method.
    model(
        p,
        "models/s1.pt",
        11,
        "a",
        &[
            "author=alice",
            "training_data_hash=@digest:./suspect-dataset",
        ],
    );
    model(
        p,
        "models/s2.pt",
        12,
        "c",
        &[
            "author=carol",
            &format!("stage2.training_data_hash={suspect}"),
        ],
    );
    model(
        p,
        "models/s3.pt",
        13,
        "c",
        &["author=carol", "base_model=s1.pt"],
    );
    let trusted = ["--public-key", "a.pub", "--public-key", "c.pub"];
    let subjects = |args: &[&str]| -> (Vec<String>, Value) {
        let mut all = vec!["models"];
        all.extend_from_slice(args);
        all.extend_from_slice(&trusted);
        let (report, out) = audit(p, &all);
        // Only the kept entries decide: all of them verify.
        assert_eq!(out.status.code(), Some(0), "{report}");
        let s = report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["subject"].as_str().unwrap().to_owned())
            .collect();
        (s, report)
    };
    let (s, report) = subjects(&["--data", &suspect]);
    assert_eq!(s, ["s1.pt", "s3.pt", "s2.pt"], "{report}");
    let s1 = &report["entries"][0]["metadata"];
    assert_eq!(s1["training_data_hash"], suspect.as_str());
    assert_eq!(s1["training_data_hash.method"], "oms-files-v1");
    assert!(
        report["entries"][1]["findings"]
            .as_array()
            .unwrap()
            .contains(&finding(
                "derived-from",
                "derived from s1.pt (models/s1.pt.sig)".into()
            )),
        "{report}"
    );
    // Bare hex, upper case: the same models.
    let bare = suspect.trim_start_matches("sha256:").to_ascii_uppercase();
    assert_eq!(subjects(&["--data", &bare]).0, s);
    // The zoo's own dataset: m1 and its fine-tune.
    assert_eq!(subjects(&["--data", &data("d1")]).0, ["m1.pt", "ft.pt"]);
    // A digest nothing was trained on: an empty report.
    assert!(subjects(&["--data", &data("ee")]).0.is_empty());
}

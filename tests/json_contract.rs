//! The `--format json` contract (docs/json.md): every command's document, on success and for
//! each failure class, validates against docs/schema/v1.json with the real `jsonschema`
//! package; and the schema rejects the shapes it replaced.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::{Work, venv_bin};

use std::path::Path;

fn schema() -> String {
    format!("{}/docs/schema/v1.json", env!("CARGO_MANIFEST_DIR"))
}

/// Validates the files; returns (ok, what the validator printed).
fn validate(files: &[&Path]) -> (bool, String) {
    let out = std::process::Command::new(venv_bin("python"))
        .arg(format!(
            "{}/tests/json_schema.py",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg(schema())
        .args(files)
        .output()
        .expect("python from the test venv (scripts/test creates it)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Runs a command with `--format json`, checks the exit code and the envelope, saves the
/// document and returns it.
fn doc(w: &Work, n: &mut usize, code: i32, args: &[&str]) -> serde_json::Value {
    let mut full = args.to_vec();
    full.extend(["--format", "json"]);
    // The bytes as printed go to the validator: a re-serialized Value would hide a key printed
    // twice (serde_json keeps the last).
    let out = w.run(&full);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "provenance {full:?}:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    assert_eq!(v["schema_version"], 1, "{v}");
    assert_eq!(v["command"], args[0], "{v}");
    assert_eq!(v["exit_code"], code, "{v}");
    assert_eq!(v["ok"], code == 0, "{v}");
    *n += 1;
    std::fs::write(w.path(&format!("doc-{n:02}.json")), stdout).unwrap();
    v
}

#[test]
fn every_command_and_failure_class_matches_the_schema() {
    let w = Work::new();
    let mut n = 0;
    let k = doc(
        &w,
        &mut n,
        0,
        &["keygen", "--private", "k.pem", "--public", "k.pub"],
    );
    assert_eq!(k["key_id"].as_str().unwrap().len(), 64);
    w.keygen("other");
    w.hf_model("bert");
    let s = doc(
        &w,
        &mut n,
        0,
        &["sign", "--model", "bert", "--private-key", "k.pem"],
    );
    assert_eq!(s["signer"]["kind"], "key");
    // digest: the root digest sign recorded, every file's digest; shards carry shard_size.
    let d = doc(&w, &mut n, 0, &["digest", "bert"]);
    assert_eq!(d["digest"], s["root_digest"], "{d}");
    assert_eq!(d["method"], "oms-files-v1");
    assert!(d.get("shard_size").is_none(), "{d}");
    assert_eq!(d["files"].as_array().unwrap().len(), 5, "{d}");
    let d = doc(&w, &mut n, 0, &["digest", "bert", "--shard-size", "100000"]);
    assert_eq!(d["method"], "oms-shards-v1");
    assert_eq!(d["shard_size"], 100000);
    let d = doc(&w, &mut n, 2, &["digest", "no-such-data"]);
    assert_eq!(d["error"]["class"], "input");
    let v = doc(
        &w,
        &mut n,
        0,
        &["verify", "--model", "bert", "--public-key", "k.pub"],
    );
    // One verdict shape on disk and for a reference: checks and signatures at the top.
    assert_eq!(v["verified"], true);
    assert_eq!(v["signatures"][0]["signer"]["kind"], "key");
    assert!(
        v["signatures"][0]["root_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let v = doc(
        &w,
        &mut n,
        1,
        &["verify", "--model", "bert", "--public-key", "other.pub"],
    );
    assert_eq!(v["error"]["class"], "not_trusted");
    assert_eq!(v["verified"], false);
    let v = doc(
        &w,
        &mut n,
        2,
        &["verify", "--model", "bert", "--public-key", "missing.pub"],
    );
    assert_eq!(v["error"]["class"], "input");
    doc(&w, &mut n, 0, &["inspect", "--manifest", "bert.sig"]);
    doc(&w, &mut n, 0, &["audit", "bert", "--public-key", "k.pub"]);
    doc(
        &w,
        &mut n,
        1,
        &["audit", "bert", "--public-key", "other.pub"],
    );
    let p = doc(&w, &mut n, 0, &["push", "bert", "models/bert:1"]);
    assert_eq!(p["signature_referrer"], serde_json::Value::Null);
    let s = doc(
        &w,
        &mut n,
        0,
        &["sign", "models/bert:1", "--private-key", "k.pem"],
    );
    assert_eq!(s["signer"]["kind"], "key");
    let v = doc(
        &w,
        &mut n,
        0,
        &["verify", "models/bert:1", "--public-key", "k.pub"],
    );
    assert_eq!(v["checks"][0]["name"], "resolve");
    assert_eq!(v["signatures"][0]["signer"]["kind"], "key");
    // inspect and tree of a reference: the manifest and each signature's claims, unverified.
    let i = doc(&w, &mut n, 0, &["inspect", "models/bert:1"]);
    assert_eq!(i["verified"], false);
    assert_eq!(i["signatures"][0]["claims"]["signer"]["kind"], "key");
    let t = doc(&w, &mut n, 0, &["tree", "models/bert:1"]);
    assert_eq!(t["digest"], i["digest"]);
    doc(&w, &mut n, 2, &["inspect", "models/bert:nope"]);
    // The local store's housekeeping.
    let ls = doc(&w, &mut n, 0, &["ls"]);
    assert_eq!(ls["models"][0]["referrers"], 1);
    doc(&w, &mut n, 0, &["prune", "--dry-run"]);
    let pl = doc(
        &w,
        &mut n,
        0,
        &[
            "pull",
            "models/bert:1",
            "--public-key",
            "k.pub",
            "-o",
            "out",
        ],
    );
    // pull carries the verdict at the top level, beside what it wrote.
    assert_eq!(pl["verified"], true);
    assert!(pl["files"].as_u64().unwrap() > 0);
    let pl = doc(
        &w,
        &mut n,
        1,
        &[
            "pull",
            "models/bert:1",
            "--public-key",
            "other.pub",
            "-o",
            "out2",
        ],
    );
    assert_eq!(pl["verified"], false);
    assert!(!w.path("out2").exists());
    let cp = doc(
        &w,
        &mut n,
        0,
        &["copy", "models/bert:1", "mirror/bert:1", "--key", "k.pub"],
    );
    assert_eq!(cp["copied"]["referrers"], 1);
    doc(
        &w,
        &mut n,
        1,
        &[
            "copy",
            "models/bert:1",
            "mirror/bert:2",
            "--key",
            "other.pub",
        ],
    );
    let rm = doc(&w, &mut n, 0, &["rm", "models/bert:1", "mirror/bert:1"]);
    assert_eq!(rm["removed"][0]["referrers_removed"], 1);
    doc(&w, &mut n, 2, &["rm", "models/bert:1"]);
    let pr = doc(&w, &mut n, 0, &["prune", "--now"]);
    assert!(pr["blobs"].as_u64().unwrap() > 0);
    // An unreachable registry is the environment class.
    let v = doc(
        &w,
        &mut n,
        3,
        &[
            "verify",
            "127.0.0.1:1/models/bert:1",
            "--public-key",
            "k.pub",
            "--plain-http",
            "--timeout",
            "2",
        ],
    );
    assert_eq!(v["error"]["class"], "environment");

    let files: Vec<_> = (1..=n)
        .map(|i| w.path(&format!("doc-{i:02}.json")))
        .collect();
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let (ok, out) = validate(&refs);
    assert!(ok, "{out}");
}

#[test]
fn the_schema_rejects_the_shapes_it_replaced() {
    let w = Work::new();
    let key = "ab".repeat(32);
    let good_sig = serde_json::json!({
        "source": "bert.sig", "status": "trusted", "verified": true,
        "signer": {"kind": "key", "key_id": key}, "signed_at": null,
        "root_digest": format!("sha256:{key}"), "metadata": {}, "resources": 1,
        "checks": [{"name": "signature", "passed": true, "detail": "ok"}]
    });
    let good = serde_json::json!({
        "schema_version": 1, "command": "verify", "ok": true, "exit_code": 0,
        "target": "bert", "scope": "local/bert", "rule": "r", "policy": "p", "verified": true,
        "checks": [], "signatures": [good_sig]
    });
    let mut cases = vec![("good", good.clone())];
    // The old disk shape: everything under `report`.
    cases.push((
        "report",
        serde_json::json!({
            "schema_version": 1, "command": "verify", "ok": true, "exit_code": 0,
            "target": "bert", "report": {"verified": true, "checks": []}
        }),
    ));
    // A signer as a label string.
    let mut v = good.clone();
    v["signatures"][0]["signer"] = key.clone().into();
    cases.push(("signer-string", v));
    // An audit entry whose signer is a label string (the shape before the one signer object).
    cases.push((
        "audit-signer-string",
        serde_json::json!({
            "schema_version": 1, "command": "audit", "ok": true, "exit_code": 0,
            "entries": [{"manifest": "bert.sig", "status": "verified", "findings": [],
                "metadata": {}, "signer": key, "subject": "bert", "signed_at": null}],
            "summary": {"total": 1, "verified": 1, "failed": 0}
        }),
    ));
    // A root digest without its algorithm.
    let mut v = good.clone();
    v["signatures"][0]["root_digest"] = key.clone().into();
    cases.push(("bare-digest", v));
    // A failure with no error object, and an error of the wrong class for its code.
    cases.push((
        "no-error",
        serde_json::json!({
            "schema_version": 1, "command": "keygen", "ok": false, "exit_code": 2
        }),
    ));
    cases.push((
        "wrong-class",
        serde_json::json!({
            "schema_version": 1, "command": "keygen", "ok": false, "exit_code": 3,
            "error": {"class": "input", "message": "m", "hint": "h"}
        }),
    ));
    // A key twice in one object (flattened results must not repeat a field).
    let dup = w.path("duplicate.json");
    std::fs::write(
        &dup,
        r#"{"schema_version": 1, "command": "keygen", "ok": true, "exit_code": 0, "private_key": "k", "public_key": "p", "key_id": "ab", "encrypted": false, "key_id": "cd"}"#,
    )
    .unwrap();
    let (ok, out) = validate(&[&dup]);
    assert!(!ok && out.contains("appears twice"), "{out}");
    for (name, v) in &cases {
        let p = w.path(&format!("{name}.json"));
        std::fs::write(&p, v.to_string()).unwrap();
        let (ok, out) = validate(&[&p]);
        assert_eq!(ok, *name == "good", "{name}: {out}");
    }
}

//! Incident-response and trust-policy scenarios through the real binary: several signers
//! (training team, security review, a leaked key, an outsider), models on disk, in the local store
//! and on a real docker-registry (distribution 2.8), a revoked key, a tag moved to an unsigned
//! model, a bundle overwritten in the registry's storage. `audit` reports and `verify`/`pull
//! --policy` checks are asserted exactly, with their exit codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::registry::Registry;
use common::{Work, bytes, flip_byte};
use serde_json::Value;

fn json(out: &str) -> Value {
    let start = out.find('{').unwrap();
    let end = out.rfind('}').unwrap();
    serde_json::from_str(&out[start..=end]).unwrap()
}

fn key_id(w: &Work, name: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(
        std::fs::read(w.path(&format!("{name}.pub"))).unwrap(),
    ))
}

/// A small model folder with distinct content per seed.
fn model_dir(w: &Work, rel: &str, seed: u64) {
    w.write(&format!("{rel}/model.safetensors"), &bytes(40_000, seed));
    w.write(
        &format!("{rel}/config.json"),
        format!("{{\"seed\":{seed}}}").as_bytes(),
    );
}

/// Pushes `dir` to `reference` and returns the manifest digest.
fn push(w: &Work, dir: &str, reference: &str) -> String {
    let v = json(&w.expect(0, &["push", dir, reference, "-o", "json", "-q"]));
    v["digest"].as_str().unwrap().to_owned()
}

/// Signs `reference` with `<key>.pem` and metadata; returns the referrer manifest digest.
fn sign(w: &Work, reference: &str, key: &str, metadata: &[&str]) -> String {
    let key = format!("{key}.pem");
    let mut args = vec!["sign", reference, "--private-key", &key, "-o", "json", "-q"];
    for m in metadata {
        args.extend(["--metadata", m]);
    }
    let v = json(&w.expect(0, &args));
    v["signature_referrer"].as_str().unwrap().to_owned()
}

/// The bundle layer digest of a referrer manifest stored at `manifest_path`.
fn bundle_layer(manifest_path: &std::path::Path) -> String {
    let m: Value = serde_json::from_slice(&std::fs::read(manifest_path).unwrap()).unwrap();
    m["layers"][0]["digest"].as_str().unwrap().to_owned()
}

fn local_blob(w: &Work, digest: &str) -> std::path::PathBuf {
    w.path(".provenance-home/store/blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

/// (reference, status, signer, finding kinds) of every entry, sorted.
fn rows(report: &Value) -> Vec<(String, String, String, Vec<String>)> {
    let mut rows: Vec<_> = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let origin = e["reference"]
                .as_str()
                .or(e["manifest"].as_str())
                .or(e["model"].as_str())
                .unwrap()
                .to_owned();
            let mut kinds: Vec<String> = e["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["kind"].as_str().unwrap().to_owned())
                .collect();
            kinds.sort();
            (
                origin,
                e["status"].as_str().unwrap().to_owned(),
                common::entry_signer(e),
                kinds,
            )
        })
        .collect();
    rows.sort();
    rows
}

fn row(
    r: &str,
    status: &str,
    signer: &str,
    kinds: &[&str],
) -> (String, String, String, Vec<String>) {
    (
        r.to_owned(),
        status.to_owned(),
        signer.to_owned(),
        kinds.iter().map(|k| (*k).to_owned()).collect(),
    )
}

fn summary(report: &Value) -> [u64; 6] {
    let s = &report["summary"];
    [
        "total",
        "verified",
        "failed",
        "unknown-signer",
        "revoked",
        "unsigned",
    ]
    .map(|k| s[k].as_u64().unwrap())
}

fn check_names(v: &Value) -> Vec<(String, bool)> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["passed"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn check_detail<'a>(v: &'a Value, name: &str) -> &'a str {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {v}"))["detail"]
        .as_str()
        .unwrap()
}

struct Scene {
    w: Work,
    reg: Registry,
    /// Manifest digests by `repo:tag`.
    digests: std::collections::BTreeMap<String, String>,
    ids: std::collections::BTreeMap<&'static str, String>,
}

impl Scene {
    fn host(&self) -> String {
        self.reg.host()
    }
    fn r(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.host())
    }
    fn pinned(&self, repo_tag: &str) -> String {
        format!("{}@{}", self.r(repo_tag), self.digests[repo_tag])
    }
    fn id(&self, key: &str) -> String {
        self.ids[key].clone()
    }
}

/// The registry side of the incident:
/// - models/bert:v1 signed by the training team AND the security review;
/// - models/bert:v2 signed by the training team only;
/// - models/gpt:v1 signed by a key that later leaks; gpt:v2 by an outsider; gpt:v3 unsigned;
/// - models/t5:v1 signed, then its bundle overwritten in the registry's storage;
/// - models/roberta:prod signed, then the tag moved to an unsigned model.
fn scene() -> Scene {
    let w = Work::new();
    let reg = Registry::start(&w.path("regdata"), None);
    let mut ids = std::collections::BTreeMap::new();
    for k in ["train", "review", "leaked", "outsider"] {
        w.keygen(k);
        ids.insert(k, key_id(&w, k));
    }
    for (i, m) in [
        "bert1", "bert2", "gpt1", "gpt2", "gpt3", "t5", "rob", "rob-evil",
    ]
    .iter()
    .enumerate()
    {
        model_dir(&w, m, i as u64 + 10);
    }
    let mut s = Scene {
        w,
        reg,
        digests: Default::default(),
        ids,
    };
    let d1 = [
        "author=train-team",
        "training_data=corpus",
        "training_data_hash=sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
    ];
    for (dir, tag) in [
        ("bert1", "models/bert:v1"),
        ("bert2", "models/bert:v2"),
        ("gpt1", "models/gpt:v1"),
        ("gpt2", "models/gpt:v2"),
        ("gpt3", "models/gpt:v3"),
        ("t5", "models/t5:v1"),
        ("rob", "models/roberta:prod"),
    ] {
        let d = push(&s.w, dir, &s.r(tag));
        s.digests.insert(tag.to_owned(), d);
    }
    sign(&s.w, &s.r("models/bert:v1"), "train", &d1);
    sign(
        &s.w,
        &s.r("models/bert:v1"),
        "review",
        &[
            "author=security-review",
            "training_data_hash=sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        ],
    );
    sign(
        &s.w,
        &s.r("models/bert:v2"),
        "train",
        &[
            "author=train-team",
            "training_data=corpus",
            "training_data_hash=sha256:d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2",
        ],
    );
    sign(&s.w, &s.r("models/gpt:v1"), "leaked", &["author=bob"]);
    sign(&s.w, &s.r("models/gpt:v2"), "outsider", &["author=mallory"]);
    let t5_ref = sign(&s.w, &s.r("models/t5:v1"), "train", &["author=train-team"]);
    sign(
        &s.w,
        &s.r("models/roberta:prod"),
        "train",
        &["author=train-team"],
    );
    // Tamper: the t5 bundle's bytes change in the registry's storage.
    let layer = bundle_layer(&s.reg.blob_path(&t5_ref));
    flip_byte(&s.reg.blob_path(&layer), 20);
    // Tamper: the prod tag moves to a model nobody signed.
    let evil = push(&s.w, "rob-evil", &s.r("models/roberta:prod"));
    s.digests.insert("models/roberta:prod".into(), evil);
    s
}

#[test]
fn audit_of_registry_repositories_reports_every_tag_exactly() {
    let s = scene();
    let (train, review, leaked, outsider) = (
        s.id("train"),
        s.id("review"),
        s.id("leaked"),
        s.id("outsider"),
    );
    let repos: Vec<String> = ["models/bert", "models/gpt", "models/t5", "models/roberta"]
        .iter()
        .map(|r| s.r(r))
        .collect();
    let mut args = vec!["audit"];
    args.extend(repos.iter().map(String::as_str));
    args.extend([
        "--public-key",
        "train.pub",
        "--public-key",
        "review.pub",
        "--revoked",
        "leaked.pub",
        "--output",
        "json",
    ]);
    let report = s.w.run_json(1, &args);
    let mut want = vec![
        // bert:v1 and v2 were both trained on `corpus`, with different hashes.
        row(
            &s.pinned("models/bert:v1"),
            "verified",
            &train,
            &["dataset-conflict"],
        ),
        row(&s.pinned("models/bert:v1"), "verified", &review, &[]),
        row(
            &s.pinned("models/bert:v2"),
            "verified",
            &train,
            &["dataset-conflict"],
        ),
        row(
            &s.pinned("models/gpt:v1"),
            "revoked",
            &leaked,
            &["no-trusted-timestamp", "revoked-key"],
        ),
        row(
            &s.pinned("models/gpt:v2"),
            "unknown-signer",
            &outsider,
            &["unknown-signer"],
        ),
        row(&s.pinned("models/gpt:v3"), "unsigned", "-", &["unsigned"]),
        row(
            &s.pinned("models/t5:v1"),
            "failed",
            "-",
            &["registry-content"],
        ),
        row(
            &s.pinned("models/roberta:prod"),
            "unsigned",
            "-",
            &["unsigned"],
        ),
    ];
    want.sort();
    assert_eq!(rows(&report), want);
    assert_eq!(summary(&report), [8, 3, 1, 1, 1, 2]);
    let t5 = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["status"] == "failed")
        .unwrap();
    let detail = t5["findings"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("digest mismatch"), "{detail}");
    // Signature indexes (sha256-<hex> tags) are not models: no entry names one.
    assert!(!report.to_string().contains(":sha256-"), "{report}");

    // A repository given with a tag audits that tag only, and it passes.
    let one = s.w.run_json(
        0,
        &[
            "audit",
            &s.r("models/bert:v1"),
            "--public-key",
            "train.pub",
            "--public-key",
            "review.pub",
            "-o",
            "json",
        ],
    );
    assert_eq!(summary(&one), [2, 2, 0, 0, 0, 0]);

    // The suspect dataset: only the model trained on d1, from the whole registry (both kept
    // entries verify, so the exit code is 0: it reflects what is reported).
    let d1 = s.w.run_json(
        0,
        &[
            "audit",
            &repos[0],
            &repos[1],
            "--public-key",
            "train.pub",
            "--public-key",
            "review.pub",
            "--match",
            "training_data_hash=sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
            "-o",
            "json",
        ],
    );
    let hits: Vec<_> = rows(&d1).into_iter().map(|r| (r.0, r.2)).collect();
    let mut want = vec![
        (s.pinned("models/bert:v1"), train.clone()),
        (s.pinned("models/bert:v1"), review.clone()),
    ];
    want.sort();
    assert_eq!(hits, want);
    // bert:v2 is on corpus too, with another hash: a dataset conflict on both.
    let all = s.w.run_json(
        0,
        &[
            "audit",
            &s.r("models/bert"),
            "--public-key",
            "train.pub",
            "--public-key",
            "review.pub",
            "-o",
            "json",
        ],
    );
    let conflicts = rows(&all)
        .into_iter()
        .filter(|r| r.3.contains(&"dataset-conflict".to_owned()))
        .count();
    assert_eq!(conflicts, 2, "{all}");

    // The HTML page names every model and is self-contained.
    let out = s.w.run(&[
        "audit",
        &repos[1],
        "--public-key",
        "train.pub",
        "--revoked",
        "leaked.pub",
        "--output",
        "html",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<svg"),
        "{html}"
    );
    for tag in ["models/gpt:v1", "models/gpt:v2", "models/gpt:v3"] {
        assert!(html.contains(&s.r(tag)), "{tag} missing from the page");
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
}

#[test]
fn audit_of_a_missing_or_unreachable_repository_is_an_input_or_environment_error() {
    let s = scene_min();
    let out = s.expect(
        2,
        &["audit", "models/nothing-here", "--public-key", "train.pub"],
    );
    assert!(out.contains("local store has no repository"), "{out}");
    assert!(
        !s.path(".provenance-home/store").exists(),
        "a typo must not create a local store"
    );
    let mut reg = Registry::start(&s.path("reg2"), None);
    let host = reg.host();
    reg.kill();
    let out = s.expect(
        3,
        &[
            "audit",
            &format!("{host}/models/bert"),
            "--public-key",
            "train.pub",
        ],
    );
    assert!(out.contains("reachable"), "{out}");
}

fn scene_min() -> Work {
    let w = Work::new();
    w.keygen("train");
    w
}

#[test]
fn audit_spans_disk_local_store_and_registry_in_one_report() {
    let w = Work::new();
    let reg = Registry::start(&w.path("regdata"), None);
    for k in ["train", "leaked"] {
        w.keygen(k);
    }
    let (train, leaked) = (key_id(&w, "train"), key_id(&w, "leaked"));
    // On disk: a model signed with its .sig beside it, and an unsigned one.
    w.write("disk/m.pt", &bytes(30_000, 1));
    w.write("disk/unsigned.pt", &bytes(30_000, 2));
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "disk/m.pt",
            "--private-key",
            "train.pem",
            "--metadata",
            "training_data_hash=sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        ],
    );
    // Local store: one model signed by the training team, one by the key that leaks; then the
    // training team's bundle is overwritten in the store.
    model_dir(&w, "a", 3);
    model_dir(&w, "b", 4);
    model_dir(&w, "c", 5);
    let a = push(&w, "a", "models/local:v1");
    let b = push(&w, "b", "models/local:v2");
    let c = push(&w, "c", "models/local:v3");
    sign(
        &w,
        "models/local:v1",
        "train",
        &[
            "training_data_hash=sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        ],
    );
    sign(
        &w,
        "models/local:v2",
        "leaked",
        &[
            "training_data_hash=sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        ],
    );
    let tampered = sign(
        &w,
        "models/local:v3",
        "train",
        &[
            "training_data_hash=sha256:d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7",
        ],
    );
    let layer = bundle_layer(&local_blob(&w, &tampered));
    flip_byte(&local_blob(&w, &layer), 30);
    // Registry: one model trained on d1.
    let r = format!("{}/models/remote:v1", reg.host());
    let rd = push(&w, "a", &r);
    sign(
        &w,
        &r,
        "train",
        &[
            "training_data_hash=sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        ],
    );

    let report = w.run_json(
        1,
        &[
            "audit",
            "disk",
            "models/local",
            &format!("{}/models/remote", reg.host()),
            "--public-key",
            "train.pub",
            "--revoked",
            "leaked.pub",
            "-o",
            "json",
        ],
    );
    // One key across three models (disk, store, registry) is flagged as reuse.
    let mut want = vec![
        row("disk/m.pt.sig", "verified", &train, &["key-reuse"]),
        row("disk/unsigned.pt", "unsigned", "-", &["unsigned"]),
        row(
            &format!("models/local:v1@{a}"),
            "verified",
            &train,
            &["key-reuse"],
        ),
        row(
            &format!("models/local:v2@{b}"),
            "revoked",
            &leaked,
            &["no-trusted-timestamp", "revoked-key"],
        ),
        row(
            &format!("models/local:v3@{c}"),
            "failed",
            "-",
            &["registry-content"],
        ),
        row(&format!("{r}@{rd}"), "verified", &train, &["key-reuse"]),
    ];
    want.sort();
    assert_eq!(rows(&report), want);
    assert_eq!(summary(&report), [6, 3, 1, 0, 1, 1]);
    // A signer is the same {kind, ...} object `verify` reports, or null with the claim beside it.
    for e in report["entries"].as_array().unwrap() {
        match e["status"].as_str().unwrap() {
            "verified" | "revoked" => assert_eq!(e["signer"]["kind"], "key", "{e}"),
            _ => assert!(e["signer"].is_object() || e["signer"].is_null(), "{e}"),
        }
        if e["signer"].is_object() {
            assert!(e.get("claimed_signer").is_none(), "{e}");
        }
    }
}

/// The trust policy of the scenario: production models need the training team AND the security
/// review, with the dataset hash signed; everything else needs the training team and an author;
/// the leaked key is revoked.
fn write_policy(s: &Scene) {
    let policy = format!(
        "version: 1
policies:
  - name: production
    scopes: [\"{host}/models/bert\", \"models/*\"]
    trusted_signers:
      - public_key: train.pub
      - public_key: review.pub
    min_signatures: 2
    required_metadata: [training_data_hash]
  - name: default
    scopes: [\"*\"]
    trusted_signers:
      - public_key: train.pub
    required_metadata: [author]
    revoked: [{leaked}]
",
        host = s.host(),
        leaked = s.id("leaked")
    );
    s.w.write("policy.yaml", policy.as_bytes());
}

const POLICY_CHECKS: [&str; 4] = [
    "policy:scope",
    "policy:revoked",
    "policy:min_signatures",
    "policy:required_metadata",
];

#[test]
fn verify_and_pull_with_policy_need_both_signers_the_metadata_and_no_revoked_key() {
    let s = scene();
    write_policy(&s);
    let w = &s.w;
    // 2 of 2: training team AND security review signed bert:v1.
    let v = w.run_json(
        0,
        &[
            "verify",
            &s.r("models/bert:v1"),
            "--policy",
            "policy.yaml",
            "-o",
            "json",
        ],
    );
    let names: Vec<_> = check_names(&v);
    let mut want: Vec<(String, bool)> = ["resolve", "manifest", "referrers"]
        .iter()
        .map(|n| ((*n).to_owned(), true))
        .collect();
    want.extend(POLICY_CHECKS.iter().map(|n| ((*n).to_owned(), true)));
    assert_eq!(names, want);
    assert!(check_detail(&v, "policy:scope").contains("rule `production`"));
    assert_eq!(
        check_detail(&v, "policy:min_signatures"),
        "2 distinct trusted signer(s) verified, 2 required"
    );
    // Text output names every rule too.
    let out = w.expect(
        0,
        &["verify", &s.r("models/bert:v1"), "--policy", "policy.yaml"],
    );
    for c in POLICY_CHECKS {
        assert!(out.contains(c), "{c} missing:\n{out}");
    }
    // bert:v2 has the training team only: 1 of 2.
    let v = w.run_json(
        1,
        &[
            "verify",
            &s.r("models/bert:v2"),
            "--policy",
            "policy.yaml",
            "-o",
            "json",
        ],
    );
    assert_eq!(
        check_names(&v).last().unwrap(),
        &("policy:required_metadata".to_owned(), true)
    );
    assert_eq!(
        check_detail(&v, "policy:min_signatures"),
        "1 distinct trusted signer(s) verified, 2 required"
    );
    let out = w.expect(
        1,
        &["verify", &s.r("models/bert:v2"), "--policy", "policy.yaml"],
    );
    assert!(out.contains("FAIL  policy:min_signatures"), "{out}");
    // pull with a failing policy writes nothing; with a passing one it lands.
    w.expect(
        1,
        &[
            "pull",
            &s.r("models/bert:v2"),
            "--output",
            "out2",
            "--policy",
            "policy.yaml",
        ],
    );
    assert!(!w.path("out2").exists() && !w.path("out2.sig").exists());
    let v = w.run_json(
        0,
        &[
            "pull",
            &s.r("models/bert:v1"),
            "--output",
            "out1",
            "--policy",
            "policy.yaml",
            "--format",
            "json",
        ],
    );
    assert!(w.path("out1/model.safetensors").is_file() && w.path("out1.sig").is_file());
    assert!(v["checks"].to_string().contains("policy:min_signatures"));
    // The leaked key: revoked everywhere, even given as --public-key.
    let v = w.run_json(
        1,
        &[
            "verify",
            &s.r("models/gpt:v1"),
            "--policy",
            "policy.yaml",
            "--public-key",
            "leaked.pub",
            "-o",
            "json",
        ],
    );
    assert!(check_detail(&v, "policy:scope").contains("rule `default`"));
    assert_eq!(
        check_detail(&v, "policy:revoked"),
        format!(
            "signed by revoked key {}; the model is refused even if other signers are trusted (revocation fails closed)",
            s.id("leaked")
        )
    );
    // --public-key cannot widen a rule that lists its signers.
    let v = w.run_json(
        1,
        &[
            "verify",
            &s.r("models/gpt:v2"),
            "--policy",
            "policy.yaml",
            "--public-key",
            "outsider.pub",
            "-o",
            "json",
        ],
    );
    assert_eq!(
        check_detail(&v, "policy:min_signatures"),
        format!(
            "0 distinct trusted signer(s) verified, 1 required; not counted (verified, but not trusted by rule `default`): {}",
            s.id("outsider")
        )
    );
    // audit applies the same policy per model: bert:v1 passes 2 of 2, bert:v2 does not.
    let report = w.run_json(
        1,
        &[
            "audit",
            &s.r("models/bert"),
            "--policy",
            "policy.yaml",
            "-o",
            "json",
        ],
    );
    let mut want = vec![
        row(
            &s.pinned("models/bert:v1"),
            "verified",
            &s.id("train"),
            &["dataset-conflict"],
        ),
        row(
            &s.pinned("models/bert:v1"),
            "verified",
            &s.id("review"),
            &[],
        ),
        row(
            &s.pinned("models/bert:v2"),
            "failed",
            &s.id("train"),
            &["dataset-conflict", "policy"],
        ),
    ];
    want.sort();
    assert_eq!(rows(&report), want);
    assert!(
        report.to_string().contains(
            "policy rule `production`: min_signatures not met: 1 distinct trusted signer(s) verified, 2 required"
        ),
        "{report}"
    );
    // The moved tag: no signature at all.
    let out = w.expect(
        1,
        &[
            "verify",
            &s.r("models/roberta:prod"),
            "--policy",
            "policy.yaml",
        ],
    );
    assert!(out.contains("no signature referrer"), "{out}");
}

#[test]
fn verify_with_policy_on_disk_and_in_the_local_store() {
    let w = Work::new();
    for k in ["train", "review"] {
        w.keygen(k);
    }
    w.write("m.pt", &bytes(20_000, 9));
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "m.pt",
            "--private-key",
            "train.pem",
            "--metadata",
            "author=train-team",
        ],
    );
    w.write("n.pt", &bytes(20_000, 8));
    w.expect(
        0,
        &["sign", "--model", "n.pt", "--private-key", "train.pem"],
    );
    w.write(
        "p.yaml",
        b"version: 1
policies:
  - name: local-models
    scopes: [\"local/*\"]
    trusted_signers: [{public_key: train.pub}]
    required_metadata: [author]
  - name: store
    scopes: [\"models/*\"]
    trusted_signers: [{public_key: train.pub}, {public_key: review.pub}]
    min_signatures: 2
",
    );
    // On disk: scope local/<file name>; the metadata rule decides.
    let v = w.run_json(
        0,
        &[
            "verify", "--model", "m.pt", "--policy", "p.yaml", "-o", "json",
        ],
    );
    let names: Vec<_> = common::disk_report(&v)["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["signature", "signer", "statement", "model"]
            .iter()
            .chain(POLICY_CHECKS.iter())
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
    );
    let out = w.expect(1, &["verify", "--model", "n.pt", "--policy", "p.yaml"]);
    assert!(
        out.contains("FAIL  policy:required_metadata signed metadata lacks author"),
        "{out}"
    );
    // A policy with no rule for the scope fails closed.
    w.write(
        "store-only.yaml",
        b"version: 1\npolicies:\n  - name: store\n    scopes: ['models/*']\n    trusted_signers: [{public_key: train.pub}]\n",
    );
    let out = w.expect(
        1,
        &["verify", "--model", "n.pt", "--policy", "store-only.yaml"],
    );
    assert!(
        out.contains("FAIL  policy:scope") && out.contains("covers scope `local/n.pt`"),
        "{out}"
    );
    // Tampering still fails first, at the model check.
    flip_byte(&w.path("m.pt"), 5);
    let out = w.expect(1, &["verify", "--model", "m.pt", "--policy", "p.yaml"]);
    assert!(out.contains("at check `model`"), "{out}");
    // Local store: scope is the repository; 2 of 2.
    model_dir(&w, "bert", 1);
    push(&w, "bert", "models/bert:v1");
    sign(&w, "models/bert:v1", "train", &[]);
    let out = w.expect(1, &["verify", "models/bert:v1", "--policy", "p.yaml"]);
    assert!(
        out.contains("1 distinct trusted signer(s) verified, 2 required"),
        "{out}"
    );
    sign(&w, "models/bert:v1", "review", &[]);
    w.expect(0, &["verify", "models/bert:v1", "--policy", "p.yaml"]);
}

#[test]
fn malformed_policy_is_an_input_error_naming_the_line() {
    let w = Work::new();
    w.keygen("train");
    w.write("m.pt", &bytes(1000, 1));
    w.expect(
        0,
        &["sign", "--model", "m.pt", "--private-key", "train.pem"],
    );
    w.write(
        "bad.yaml",
        b"version: 1\npolicies:\n  - name: a\n    scopes: ['*']\n    min_signature: 2\n",
    );
    let out = w.expect(2, &["verify", "--model", "m.pt", "--policy", "bad.yaml"]);
    assert!(
        out.contains("line 5") && out.contains("min_signature"),
        "{out}"
    );
    let out = w.expect(
        2,
        &[
            "pull",
            "models/x:v1",
            "--output",
            "o",
            "--policy",
            "bad.yaml",
        ],
    );
    assert!(out.contains("line 5"), "{out}");
    assert!(!w.path("o").exists());
    // A rule with no trusted_signers and no --public-key trusts nobody: not trusted, with a hint.
    w.write(
        "empty.yaml",
        b"version: 1\npolicies:\n  - name: a\n    scopes: ['*']\n",
    );
    let out = w.expect(1, &["verify", "--model", "m.pt", "--policy", "empty.yaml"]);
    assert!(out.contains("--public-key"), "{out}");
    // ... with --public-key, the rule trusts it.
    w.expect(
        0,
        &[
            "verify",
            "--model",
            "m.pt",
            "--policy",
            "empty.yaml",
            "--public-key",
            "train.pub",
        ],
    );
}

/// `required_metadata` as a map of value rules: an anchored regex, a list of allowed values and
/// a glob. A breaking value fails `policy:required_metadata` naming the key, the escaped value
/// and the rule; a passing set verifies; the list form keeps working; a rule that cannot compile
/// is refused at load (exit 2) naming the key.
#[test]
fn required_metadata_value_rules_pass_fail_and_refuse_bad_rules_at_load() {
    let w = Work::new();
    w.keygen("train");
    let hash = format!("sha256:{}", "ab".repeat(32));
    let sign_with = |model: &str, metadata: &[String]| {
        w.write(model, &bytes(5_000, model.len() as u64));
        let mut args = vec!["sign", "--model", model, "--private-key", "train.pem"];
        for m in metadata {
            args.extend(["--metadata", m.as_str()]);
        }
        w.expect(0, &args);
    };
    sign_with(
        "good.pt",
        &[
            format!("training_data_hash={hash}"),
            "framework=jax".into(),
            "author=team-vision".into(),
        ],
    );
    sign_with(
        "bad.pt",
        &[
            "training_data_hash=sha256:d1".into(),
            "framework=tensor\x1bflow".into(),
            "author=team-vision".into(),
        ],
    );
    w.write(
        "rules.yaml",
        b"version: 1
policies:
  - name: local
    scopes: [\"local/*\"]
    trusted_signers: [{public_key: train.pub}]
    required_metadata:
      training_data_hash: \"^sha256:[0-9a-f]{64}$\"
      framework: [pytorch, jax]
      author: \"team-*\"
",
    );
    let out = w.expect(
        0,
        &["verify", "--model", "good.pt", "--policy", "rules.yaml"],
    );
    assert!(
        out.contains("policy:required_metadata")
            && out.contains("signed metadata has author, framework, training_data_hash"),
        "{out}"
    );
    let v = w.run_json(
        1,
        &[
            "verify",
            "--model",
            "bad.pt",
            "--policy",
            "rules.yaml",
            "--format",
            "json",
        ],
    );
    let detail = check_detail(&v, "policy:required_metadata");
    assert!(
        detail.contains("training_data_hash=\"sha256:d1\" must match ^sha256:[0-9a-f]{64}$"),
        "{detail}"
    );
    // The control character is escaped in the detail itself, not only on a terminal.
    assert!(
        detail.contains("framework=\"tensor\\u{1b}flow\" must be one of [pytorch, jax]"),
        "{detail}"
    );
    assert!(!detail.contains("author"), "{detail}");
    let out = w.expect(
        1,
        &["verify", "--model", "bad.pt", "--policy", "rules.yaml"],
    );
    assert!(
        out.contains("FAIL  policy:required_metadata")
            && out.contains("breaks the policy's value rules")
            && !out.contains('\x1b'),
        "{out}"
    );
    // The list form still only requires the keys.
    w.write(
        "keys.yaml",
        b"version: 1\npolicies:\n  - name: local\n    scopes: ['local/*']\n    trusted_signers: [{public_key: train.pub}]\n    required_metadata: [training_data_hash, framework]\n",
    );
    w.expect(0, &["verify", "--model", "bad.pt", "--policy", "keys.yaml"]);
    // A regex that does not compile, or is not anchored at the end: exit 2 naming the key.
    for (rule, why) in [
        ("\"^sha256:[0-9a-f{64}$\"", "not a valid regular expression"),
        ("\"^sha256:\"", "does not end with `$`"),
        ("[]", "allows no value"),
        ("1.5", "quote it"),
    ] {
        w.write(
            "broken.yaml",
            format!(
                "version: 1\npolicies:\n  - name: local\n    scopes: ['local/*']\n    trusted_signers: [{{public_key: train.pub}}]\n    required_metadata:\n      training_data_hash: {rule}\n"
            )
            .as_bytes(),
        );
        let out = w.expect(
            2,
            &["verify", "--model", "good.pt", "--policy", "broken.yaml"],
        );
        assert!(
            out.contains("required_metadata.training_data_hash") && out.contains(why),
            "{rule}: {out}"
        );
    }
}

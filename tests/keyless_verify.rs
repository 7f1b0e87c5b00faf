//! Keyless verification against REAL public-good Sigstore bundles, offline.
//!
//! Vectors (tests/data/sigstore/): `bundle_v03.json` (kubewarden release workflow, cosign
//! statement) and `npm_slsa_bundle_v03.json` (sigstore-js release, SLSA provenance), copied from
//! the sigstore crate 0.15.0's tests/data on 2026-11-25. Their payloads are not OMS statements, so
//! a correct verification stops at `statement` with every crypto check before it passed; tampering
//! each part must fail at its own check. The trusted root is the embedded public-good one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::Work;
use serde_json::Value;

const KW_ID: &str = "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0";
const GH_ISSUER: &str = "https://token.actions.githubusercontent.com";
const CRYPTO_CHECKS: [&str; 9] = [
    "tlog",
    "tlog-set",
    "tlog-inclusion",
    "certificate-chain",
    "sct",
    "tlog-body",
    "signature",
    "identity",
    "issuer",
];

fn vector(name: &str) -> Value {
    let p = format!("{}/tests/data/sigstore/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn setup(bundle: &Value) -> Work {
    let w = Work::new();
    w.write("m.bin", b"model bytes");
    w.write("b.json", &serde_json::to_vec_pretty(bundle).unwrap());
    w
}

/// Runs verify with JSON output; returns (exit code, [(check, passed, detail)], all text).
fn verify(w: &Work, extra: &[&str]) -> (i32, Vec<(String, bool, String)>, String) {
    let mut args = vec![
        "verify",
        "--model",
        "m.bin",
        "--signature",
        "b.json",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = w.run(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let checks = serde_json::from_str::<Value>(&stdout)
        .ok()
        .and_then(|v| common::disk_report(&v)["checks"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["passed"].as_bool().unwrap(),
                c["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (out.status.code().unwrap(), checks, text)
}

fn kw_flags() -> Vec<&'static str> {
    vec![
        "--certificate-identity",
        KW_ID,
        "--certificate-oidc-issuer",
        GH_ISSUER,
        "--offline",
    ]
}

/// Asserts the run failed (exit 1) exactly at `check`, every earlier check having passed.
fn assert_fails_at(result: &(i32, Vec<(String, bool, String)>, String), check: &str) {
    let (code, checks, text) = result;
    assert_eq!(*code, 1, "{text}");
    let last = checks.last().unwrap_or_else(|| panic!("no checks: {text}"));
    assert_eq!(last.0, check, "{text}");
    assert!(!last.1, "{text}");
    assert!(
        checks[..checks.len() - 1].iter().all(|c| c.1),
        "an earlier check failed: {text}"
    );
}

fn flip_b64(s: &str) -> String {
    let mut b = B64.decode(s).unwrap();
    let i = b.len() / 2;
    b[i] ^= 0x01;
    B64.encode(b)
}

#[test]
fn real_public_good_bundles_pass_every_crypto_check_offline() {
    for (name, id) in [
        ("bundle_v03.json", KW_ID),
        (
            "npm_slsa_bundle_v03.json",
            "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
        ),
    ] {
        let w = setup(&vector(name));
        let r = verify(
            &w,
            &[
                "--certificate-identity",
                id,
                "--certificate-oidc-issuer",
                GH_ISSUER,
                "--offline",
            ],
        );
        assert_fails_at(&r, "statement");
        let names: Vec<&str> = r.1.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names[..9], CRYPTO_CHECKS, "{}", r.2);
        assert!(r.2.contains("not OMS") || r.2.contains("unsupported predicate type"));
    }
}

#[test]
fn verification_needs_no_network_and_a_failed_refresh_is_only_a_warning() {
    // A fresh network namespace has no route anywhere: the TUF refresh (not skipped here) fails
    // and verification carries on with the embedded root, with the same verdict.
    let w = setup(&vector("bundle_v03.json"));
    let home = w.path("home");
    let out = Command::new("unshare")
        .args(["-rn", env!("CARGO_BIN_EXE_provenance")])
        .args([
            "verify",
            "--model",
            "m.bin",
            "--signature",
            "b.json",
            "--certificate-identity",
            KW_ID,
            "--certificate-oidc-issuer",
            GH_ISSUER,
            "-o",
            "json",
        ])
        .current_dir(w.dir.path())
        .env("PROVENANCE_HOME", &home)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("could not refresh the Sigstore trusted root"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = common::disk_report(&v);
    let checks = report["checks"].as_array().unwrap();
    assert!(checks[..9].iter().all(|c| c["passed"] == true), "{v}");
    assert_eq!(checks[9]["name"], "statement");
    assert!(checks[0]["detail"].as_str().unwrap().contains("embedded"));
}

#[test]
fn identity_regexp_matches_and_a_wrong_identity_fails_at_identity() {
    let w = setup(&vector("bundle_v03.json"));
    let ok = verify(
        &w,
        &[
            "--certificate-identity-regexp",
            "^https://github.com/kubewarden/",
            "--certificate-oidc-issuer",
            GH_ISSUER,
            "--offline",
        ],
    );
    assert_fails_at(&ok, "statement");
    let bad = verify(
        &w,
        &[
            "--certificate-identity",
            "https://github.com/evil/repo/.github/workflows/release.yml@refs/tags/v1.34.0",
            "--certificate-oidc-issuer",
            GH_ISSUER,
            "--offline",
        ],
    );
    assert_fails_at(&bad, "identity");
    assert!(bad.2.contains("does not match"));
}

#[test]
fn wrong_issuer_fails_at_issuer() {
    let w = setup(&vector("bundle_v03.json"));
    let r = verify(
        &w,
        &[
            "--certificate-identity",
            KW_ID,
            "--certificate-oidc-issuer",
            "https://accounts.google.com",
            "--offline",
        ],
    );
    assert_fails_at(&r, "issuer");
}

#[test]
fn tampered_set_fails_at_tlog_set() {
    let mut b = vector("bundle_v03.json");
    let e = &mut b["verificationMaterial"]["tlogEntries"][0];
    let set = e["inclusionPromise"]["signedEntryTimestamp"]
        .as_str()
        .unwrap();
    // Flip a byte inside the DER signature, or change the time it vouches for: both must fail.
    e["inclusionPromise"]["signedEntryTimestamp"] = flip_b64(set).into();
    assert_fails_at(&verify(&setup(&b), &kw_flags()), "tlog-set");
    let mut b = vector("bundle_v03.json");
    b["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = "1775719000".into();
    assert_fails_at(&verify(&setup(&b), &kw_flags()), "tlog-set");
}

#[test]
fn tampered_inclusion_proof_or_checkpoint_fails_at_tlog_inclusion() {
    let mut b = vector("bundle_v03.json");
    let p = &mut b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"];
    let h = p["hashes"][3].as_str().unwrap();
    p["hashes"][3] = flip_b64(h).into();
    let r = verify(&setup(&b), &kw_flags());
    assert_fails_at(&r, "tlog-inclusion");

    let mut b = vector("bundle_v03.json");
    let p = &mut b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"];
    p["logIndex"] = "1139201546".into();
    assert_fails_at(&verify(&setup(&b), &kw_flags()), "tlog-inclusion");

    // A checkpoint for another tree size (its signature no longer covers it).
    let mut b = vector("bundle_v03.json");
    let p = &mut b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"];
    let cp = p["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .replace("\n1139201557\n", "\n1139201558\n");
    p["checkpoint"]["envelope"] = cp.into();
    p["treeSize"] = "1139201558".into();
    let r = verify(&setup(&b), &kw_flags());
    assert_fails_at(&r, "tlog-inclusion");
    assert!(r.2.contains("checkpoint is not signed"), "{}", r.2);
}

#[test]
fn tampered_payload_or_signature_fails_at_tlog_body() {
    // The log vouches for the payload hash and signature: an altered envelope no longer matches
    // the logged entry, which is caught before the signature check.
    let mut b = vector("bundle_v03.json");
    let payload = B64
        .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let mut st: Value = serde_json::from_slice(&payload).unwrap();
    st["predicateType"] = "https://model_signing/signature/v1.0".into();
    b["dsseEnvelope"]["payload"] = B64.encode(serde_json::to_vec(&st).unwrap()).into();
    assert_fails_at(&verify(&setup(&b), &kw_flags()), "tlog-body");

    let mut b = vector("bundle_v03.json");
    let sig = b["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap();
    b["dsseEnvelope"]["signatures"][0]["sig"] = flip_b64(sig).into();
    assert_fails_at(&verify(&setup(&b), &kw_flags()), "tlog-body");
}

/// The embedded root with its Fulcio CAs (or CT logs) replaced by another deployment's.
fn root_with(field: &str) -> Vec<u8> {
    let mut root: Value =
        serde_json::from_slice(provenance::trust::root::EMBEDDED_TRUSTED_ROOT).unwrap();
    let staging = common::venv_bin("python")
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("lib/python3.11/site-packages/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json");
    let staging: Value = serde_json::from_slice(&std::fs::read(staging).unwrap()).unwrap();
    root[field] = staging[field].clone();
    serde_json::to_vec(&root).unwrap()
}

#[test]
fn certificate_from_another_ca_fails_at_certificate_chain() {
    // Same Rekor, but only sigstage's Fulcio CA is trusted: the production certificate does
    // not chain.
    let w = setup(&vector("bundle_v03.json"));
    w.write("root.json", &root_with("certificateAuthorities"));
    let mut flags = kw_flags();
    flags.extend(["--trust-root", "root.json"]);
    let r = verify(&w, &flags);
    assert_fails_at(&r, "certificate-chain");
    assert!(r.2.contains("not issued by a trusted CA"), "{}", r.2);
}

#[test]
fn sct_from_an_untrusted_ct_log_fails_at_sct() {
    let w = setup(&vector("bundle_v03.json"));
    w.write("root.json", &root_with("ctlogs"));
    let mut flags = kw_flags();
    flags.extend(["--trust-root", "root.json"]);
    assert_fails_at(&verify(&w, &flags), "sct");
}

#[test]
fn expired_certificate_without_a_tlog_time_is_not_trusted() {
    let mut b = vector("bundle_v03.json");
    b["verificationMaterial"]["tlogEntries"] = Value::Array(vec![]);
    let r = verify(&setup(&b), &kw_flags());
    assert_fails_at(&r, "tlog");
    assert!(r.2.contains("now expired"), "{}", r.2);
}

#[test]
fn bundle_without_verification_material_is_bad_input() {
    let mut b = vector("bundle_v03.json");
    b.as_object_mut().unwrap().remove("verificationMaterial");
    let (code, _, text) = verify(&setup(&b), &kw_flags());
    assert_eq!(code, 2, "{text}");
    let mut b = vector("bundle_v03.json");
    b["verificationMaterial"] = serde_json::json!({"tlogEntries": []});
    let (code, _, text) = verify(&setup(&b), &kw_flags());
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("no verification material"), "{text}");
}

#[test]
fn keyless_bundles_require_identity_and_issuer_unless_insecure() {
    let w = setup(&vector("bundle_v03.json"));
    w.keygen("k");
    // A key alone does not trust a certificate bundle: not trusted, with the flags to use.
    let (code, _, text) = verify(&w, &["--public-key", "k.pub"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("--certificate-identity"), "{text}");
    // Identity without issuer (and the reverse) is refused before anything is read.
    let (code, _, text) = verify(&w, &["--certificate-identity", KW_ID, "--offline"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--certificate-oidc-issuer"), "{text}");
    let (code, _, text) = verify(&w, &["--certificate-oidc-issuer", GH_ISSUER, "--offline"]);
    assert_eq!(code, 2, "{text}");
    // The insecure opt-out names itself, warns, and reports identity as not checked.
    let r = verify(&w, &["--insecure-skip-identity-check", "--offline"]);
    assert_fails_at(&r, "statement");
    assert!(
        r.2.contains("warning: --insecure-skip-identity-check"),
        "{}",
        r.2
    );
    let identity = r.1.iter().find(|c| c.0 == "identity").unwrap();
    assert!(identity.2.starts_with("NOT CHECKED"), "{}", identity.2);
}

#[test]
fn signer_is_reported_as_identity_and_issuer() {
    let w = setup(&vector("bundle_v03.json"));
    let r = verify(&w, &kw_flags());
    let sig = r.1.iter().find(|c| c.0 == "signature").unwrap();
    assert!(sig.1);
    assert!(
        sig.2.contains(&format!("{KW_ID} ({GH_ISSUER})")),
        "{}",
        sig.2
    );
}

#[test]
fn a_malformed_pinned_trust_root_is_bad_input() {
    let w = setup(&vector("bundle_v03.json"));
    w.write("root.json", b"{\"mediaType\": \"nope\"}");
    let mut flags = kw_flags();
    flags.extend(["--trust-root", "root.json"]);
    let (code, _, text) = verify(&w, &flags);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("not a Sigstore trusted_root.json"), "{text}");
}

/// A keyless bundle over an OMS statement for `bert`, from a private Sigstore made by
/// tests/keyless_fixture.py (which also has sigstore-python verify it with its trust root).
fn private_sigstore(w: &Work, expired: bool) {
    private_sigstore_with(
        w,
        if expired {
            &["--expired", "--check"]
        } else {
            &["--check"]
        },
    );
}

fn private_sigstore_with(w: &Work, flags: &[&str]) {
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
            "--metadata",
            "author=alice",
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
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        !flags.contains(&"--check") || text.contains("sigstore-python: OK"),
        "{text}"
    );
}

const ALICE: [&str; 7] = [
    "--certificate-identity",
    "alice@example.com",
    "--certificate-oidc-issuer",
    "https://issuer.example",
    "--trust-root",
    "trusted_root.json",
    "--offline",
];

#[test]
fn keyless_bundle_from_a_private_sigstore_verifies_end_to_end() {
    let w = Work::new();
    private_sigstore(&w, false);
    let mut args = vec!["verify", "--model", "bert", "--signature", "bundle.json"];
    args.extend(ALICE);
    args.extend(["-o", "json"]);
    let out = w.expect(0, &args);
    let v: Value = serde_json::from_str(&out).unwrap();
    let report = common::disk_report(&v);
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let mut want = CRYPTO_CHECKS.to_vec();
    want.extend([
        "statement",
        "model",
        "policy:scope",
        "policy:revoked",
        "policy:min_signatures",
    ]);
    assert_eq!(names, want);
    assert_eq!(
        common::signer_label(&report["signer"]),
        "alice@example.com (https://issuer.example)"
    );
    assert_eq!(report["metadata"]["author"], "alice");
    // inspect names the claimed identity without verifying it.
    let out = w.expect(0, &["inspect", "--manifest", "bundle.json"]);
    assert!(
        out.contains("NOT VERIFIED") && out.contains("alice@example.com (https://issuer.example)"),
        "{out}"
    );
    // A changed file is still caught, after all the keyless checks passed.
    w.write("bert/config.json", b"{\"tampered\": 1}");
    let mut args = vec!["verify", "--model", "bert", "--signature", "bundle.json"];
    args.extend(ALICE);
    let out = w.expect(1, &args);
    assert!(out.contains("check `model`"), "{out}");
}

#[test]
fn an_expired_certificate_verifies_when_the_log_time_falls_in_its_validity() {
    // Fulcio certificates live ten minutes; the SET-signed integrated time is what counts.
    let w = Work::new();
    private_sigstore(&w, true);
    let mut args = vec!["verify", "--model", "bert", "--signature", "bundle.json"];
    args.extend(ALICE);
    let out = w.expect(0, &args);
    assert!(out.contains("valid at the integrated time"), "{out}");
    // Without the entry the same certificate has no trusted time.
    let mut b: Value =
        serde_json::from_slice(&std::fs::read(w.path("bundle.json")).unwrap()).unwrap();
    b["verificationMaterial"]["tlogEntries"] = Value::Array(vec![]);
    w.write("nolog.json", &serde_json::to_vec(&b).unwrap());
    let mut args = vec!["verify", "--model", "bert", "--signature", "nolog.json"];
    args.extend(ALICE);
    let out = w.expect(1, &args);
    assert!(
        out.contains("check `tlog`") && out.contains("now expired"),
        "{out}"
    );
}

#[test]
fn keyless_signature_attached_in_the_local_store_verifies_and_pulls() {
    let w = Work::new();
    private_sigstore(&w, false);
    w.expect(
        0,
        &[
            "push",
            "bert",
            "models/bert:v1",
            "--signature",
            "bundle.json",
        ],
    );
    let mut args = vec!["verify", "models/bert:v1"];
    args.extend(ALICE);
    let out = w.expect(0, &args);
    assert!(out.contains("alice@example.com"), "{out}");
    let mut args = vec!["verify", "models/bert:v1"];
    args.extend(ALICE);
    args[3] = "bob@example.com";
    let out = w.expect(1, &args);
    assert!(out.contains("identity"), "{out}");
    let mut args = vec!["pull", "models/bert:v1", "--output", "copy"];
    args.extend(ALICE);
    w.expect(0, &args);
    assert!(w.path("copy/config.json").exists());
    let mut args = vec!["verify", "--model", "copy", "--signature", "copy.sig"];
    args.extend(ALICE);
    w.expect(0, &args);
}

#[test]
fn an_intoto_0_0_2_entry_is_checked_against_the_envelope() {
    let w = Work::new();
    private_sigstore_with(&w, &["--intoto"]);
    let mut args = vec!["verify", "--model", "bert", "--signature", "bundle.json"];
    args.extend(ALICE);
    let out = w.expect(0, &args);
    assert!(
        out.contains("intoto 0.0.2 entry records this payload"),
        "{out}"
    );
    // Another signature over the same payload is not what the log recorded.
    let mut b: Value =
        serde_json::from_slice(&std::fs::read(w.path("bundle.json")).unwrap()).unwrap();
    let sig = b["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap();
    b["dsseEnvelope"]["signatures"][0]["sig"] = flip_b64(sig).into();
    w.write("bad.json", &serde_json::to_vec(&b).unwrap());
    let mut args = vec!["verify", "--model", "bert", "--signature", "bad.json"];
    args.extend(ALICE);
    let out = w.expect(1, &args);
    assert!(out.contains("check `tlog-body`"), "{out}");
}

#[test]
fn a_hanging_trust_root_refresh_is_cut_off_and_not_retried_at_once() {
    // A proxy that accepts connections and never answers: the TUF refresh hangs, the timeout
    // cuts it off with one warning, and the next verification within the hour does not wait.
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = proxy.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in proxy.incoming() {
            held.push(c);
        }
    });
    let w = setup(&vector("bundle_v03.json"));
    let run = || {
        let start = std::time::Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_provenance"))
            .args([
                "verify",
                "--model",
                "m.bin",
                "--signature",
                "b.json",
                "--certificate-identity",
                KW_ID,
                "--certificate-oidc-issuer",
                GH_ISSUER,
            ])
            .current_dir(w.dir.path())
            .env("PROVENANCE_HOME", w.path("home"))
            .env("HTTPS_PROXY", format!("http://{addr}"))
            .env("https_proxy", format!("http://{addr}"))
            .output()
            .unwrap();
        (
            start.elapsed(),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (took, code, stderr) = run();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("check `statement`"), "{stderr}");
    assert!(stderr.contains("timed out after 5 s"), "{stderr}");
    assert!(took < std::time::Duration::from_secs(15), "took {took:?}");
    let (took, code, stderr) = run();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(took < std::time::Duration::from_secs(3), "took {took:?}");
}

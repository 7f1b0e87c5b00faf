//! Keyless signing (Fulcio certificate + Rekor entry) against local Fulcio and Rekor fakes, held
//! to the real protocol: every bundle we make is verified by the real sigstore-python 4.5.1 CLI
//! and by model_signing 1.1.1's sigstore verifier, with the fakes' trust config. Faults: dead
//! Fulcio or Rekor (exit 3, nothing written or pushed), bad tokens (exit 2, token never echoed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
use common::sigstore::{Fakes, IDENTITY, ISSUER, dead_url, jwt, now, token};
use common::{Work, venv_bin};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn setup() -> (Work, Fakes) {
    let w = Work::new();
    w.hf_model("bert");
    w.write("model.pt", &common::bytes(300_000, 3));
    (w, Fakes::start())
}

fn keyless_args<'a>(f: &'a Fakes, tok: &'a str) -> Vec<&'a str> {
    vec![
        "--keyless",
        "--identity-token",
        tok,
        "--trust-config",
        f.trust_config.to_str().unwrap(),
    ]
}

fn json_of(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The OMS subject digest (the model's root digest) of a bundle.
fn root_digest(bundle: &Value) -> String {
    use base64::Engine;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let st: Value = serde_json::from_slice(&payload).unwrap();
    st["subject"][0]["digest"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `sigstore verify identity` (real sigstore-python CLI) of a DSSE bundle by its subject digest.
fn sigstore_verify(
    f: &Fakes,
    bundle: &Path,
    digest: &str,
    identity: &str,
    issuer: &str,
) -> (bool, String) {
    let out = f.sigstore(&[
        "verify",
        "identity",
        "--bundle",
        bundle.to_str().unwrap(),
        "--cert-identity",
        identity,
        "--cert-oidc-issuer",
        issuer,
        &format!("sha256:{digest}"),
    ]);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `model_signing verify sigstore` with the fakes' trust config.
fn model_signing_verify(
    w: &Work,
    f: &Fakes,
    model: &str,
    sig: &str,
    identity: &str,
) -> (bool, String) {
    let out = Command::new(venv_bin("model_signing"))
        .args([
            "verify",
            "sigstore",
            model,
            "--signature",
            sig,
            "--trust_config",
        ])
        .arg(&f.trust_config)
        .args(["--identity", identity, "--identity_provider", ISSUER])
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn keyless_bundle_has_certificate_and_full_tlog_entry_and_verifies_in_sigstore_python() {
    let (w, f) = setup();
    let tok = token();
    let mut args = vec!["sign", "--model", "bert", "--metadata", "author=alice"];
    args.extend(keyless_args(&f, &tok));
    let text = w.expect(0, &args);
    assert!(
        text.contains(IDENTITY) && text.contains("Logged in Rekor at index 0"),
        "{text}"
    );
    assert!(!text.contains(&tok), "the token leaked into the output");
    // A second and third signature, so the log has more than one leaf and proofs have hashes.
    let mut args = vec!["sign", "--model", "model.pt"];
    args.extend(keyless_args(&f, &tok));
    w.expect(0, &args);
    let mut args = vec!["sign", "--model", "bert", "--signature", "bert2.sig"];
    args.extend(keyless_args(&f, &tok));
    w.expect(0, &args);

    let b = json_of(&w.path("bert2.sig"));
    assert_eq!(
        b["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let vm = &b["verificationMaterial"];
    assert!(vm["certificate"]["rawBytes"].as_str().unwrap().len() > 100);
    assert!(vm.get("publicKey").is_none());
    let e = &vm["tlogEntries"][0];
    assert_eq!(vm["tlogEntries"].as_array().unwrap().len(), 1);
    assert_eq!(e["logIndex"], "2");
    assert_eq!(e["kindVersion"]["kind"], "dsse");
    assert_eq!(e["kindVersion"]["version"], "0.0.1");
    assert!(e["logId"]["keyId"].as_str().unwrap().len() == 44);
    assert!(
        e["integratedTime"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            >= now() - 120
    );
    assert!(
        !e["inclusionPromise"]["signedEntryTimestamp"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let p = &e["inclusionProof"];
    assert_eq!(p["logIndex"], "2");
    assert_eq!(p["treeSize"], "3");
    assert_eq!(
        p["hashes"].as_array().unwrap().len(),
        1,
        "leaf 2 of 3 has one sibling"
    );
    assert!(
        p["checkpoint"]["envelope"]
            .as_str()
            .unwrap()
            .contains("\n3\n")
    );
    assert!(!e["canonicalizedBody"].as_str().unwrap().is_empty());

    // The real sigstore-python verifies every bundle, bound to the model's root digest.
    for sig in ["bert.sig", "model.pt.sig", "bert2.sig"] {
        let digest = root_digest(&json_of(&w.path(sig)));
        let (ok, out) = sigstore_verify(&f, &w.path(sig), &digest, IDENTITY, ISSUER);
        assert!(ok, "sigstore-python refused {sig}:\n{out}");
    }
    let digest = root_digest(&b);
    let (ok, out) = sigstore_verify(
        &f,
        &w.path("bert2.sig"),
        &digest,
        "https://github.com/evil/x",
        ISSUER,
    );
    assert!(!ok, "wrong identity accepted:\n{out}");
    let (ok, _) = sigstore_verify(
        &f,
        &w.path("bert2.sig"),
        &digest,
        IDENTITY,
        "https://other.example",
    );
    assert!(!ok, "wrong issuer accepted");
    let (ok, _) = sigstore_verify(&f, &w.path("bert2.sig"), &"0".repeat(64), IDENTITY, ISSUER);
    assert!(!ok, "another digest accepted");
}

#[test]
fn model_signing_verifies_our_keyless_bundles_and_refuses_a_tampered_model() {
    let (w, f) = setup();
    let tok = token();
    let mut args = vec!["sign", "--model", "bert"];
    args.extend(keyless_args(&f, &tok));
    w.expect(0, &args);
    let (ok, out) = model_signing_verify(&w, &f, "bert", "bert.sig", IDENTITY);
    assert!(ok, "model_signing refused our keyless bundle:\n{out}");
    let (ok, _) = model_signing_verify(&w, &f, "bert", "bert.sig", "someone@else.example");
    assert!(!ok, "model_signing accepted another identity");
    w.write("bert/config.json", b"{\"tampered\": true}");
    let (ok, _) = model_signing_verify(&w, &f, "bert", "bert.sig", IDENTITY);
    assert!(!ok, "model_signing accepted a tampered model");
}

/// Interop data for the verifier side: model_signing 1.1.1 signs with its sigstore method against
/// the same fakes (`--trust_config` names them; it fetches the OIDC discovery document from the
/// signing config's oidcUrls even when given a token, so the fake serves one). Its bundle has the
/// same shape as ours: certificate, one dsse 0.0.1 entry with proof and SET.
#[test]
fn model_signing_signs_against_the_fakes_and_its_bundle_has_our_shape() {
    let (w, f) = setup();
    let tok = token();
    let out = Command::new(venv_bin("model_signing"))
        .args([
            "sign",
            "sigstore",
            "bert",
            "--signature",
            "ms.sig",
            "--trust_config",
        ])
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
    let theirs = json_of(&w.path("ms.sig"));
    let mut args = vec!["sign", "--model", "bert"];
    args.extend(keyless_args(&f, &tok));
    w.expect(0, &args);
    let ours = json_of(&w.path("bert.sig"));
    assert_eq!(root_digest(&theirs), root_digest(&ours));
    let shape = |b: &Value| {
        let e = &b["verificationMaterial"]["tlogEntries"][0];
        let mut keys: Vec<String> = e.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        let mut proof: Vec<String> = e["inclusionProof"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        proof.sort();
        (
            keys,
            proof,
            e["kindVersion"].clone(),
            b["verificationMaterial"]["certificate"].is_object(),
        )
    };
    assert_eq!(shape(&ours), shape(&theirs));
    let (ok, out) = sigstore_verify(
        &f,
        &w.path("ms.sig"),
        &root_digest(&theirs),
        IDENTITY,
        ISSUER,
    );
    assert!(ok, "{out}");
}

#[test]
fn token_comes_from_sigstore_id_token_or_github_actions() {
    let (w, f) = setup();
    let tok = token();
    let tc = f.trust_config.to_str().unwrap();
    w.expect_env(
        0,
        &["sign", "--model", "bert", "--keyless", "--trust-config", tc],
        &[("SIGSTORE_ID_TOKEN", &tok)],
    );
    let digest = root_digest(&json_of(&w.path("bert.sig")));
    assert!(sigstore_verify(&f, &w.path("bert.sig"), &digest, IDENTITY, ISSUER).0);

    // GitHub Actions: the runner's token service is asked for audience `sigstore`.
    let out = w.expect_env(
        0,
        &[
            "sign",
            "--model",
            "model.pt",
            "--keyless",
            "--trust-config",
            tc,
            "-o",
            "json",
        ],
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &f.gha_url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &f.gha_request_token),
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["signer"]["token_source"], "GitHub Actions OIDC");
    assert_eq!(
        v["signer"]["issuer"],
        "https://token.actions.githubusercontent.com"
    );
    // A wrong request token: the token service refuses (3), and the secret is not echoed.
    let text = w.expect_env(
        3,
        &[
            "sign",
            "--model",
            "model.pt",
            "--signature",
            "x.sig",
            "--keyless",
            "--trust-config",
            tc,
        ],
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &f.gha_url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong-request-secret"),
        ],
    );
    assert!(
        text.contains("GitHub Actions token service refused"),
        "{text}"
    );
    assert!(!text.contains("wrong-request-secret") && !w.path("x.sig").exists());
    // As Fulcio does for GitHub: the certificate names the workflow, not the token's `sub`.
    let workflow = "https://github.com/acme/models/.github/workflows/sign.yml@refs/heads/main";
    assert_eq!(v["signer"]["identity"], workflow);
    let digest = root_digest(&json_of(&w.path("model.pt.sig")));
    let (ok, text) = sigstore_verify(
        &f,
        &w.path("model.pt.sig"),
        &digest,
        workflow,
        "https://token.actions.githubusercontent.com",
    );
    assert!(ok, "{text}");
}

#[test]
fn no_token_bad_claims_expired_or_wrong_issuer_exit_2_without_echoing_the_token() {
    let (w, f) = setup();
    let tc = f.trust_config.to_str().unwrap();
    let text = w.expect(
        2,
        &["sign", "--model", "bert", "--keyless", "--trust-config", tc],
    );
    assert!(
        text.contains("SIGSTORE_ID_TOKEN") && text.contains("--identity-token"),
        "{text}"
    );

    let no_iss = jwt(serde_json::json!({"sub": IDENTITY, "aud": "sigstore", "exp": now() + 600}));
    let text = w.expect(
        2,
        &[
            "sign",
            "--model",
            "bert",
            "--keyless",
            "--trust-config",
            tc,
            "--identity-token",
            &no_iss,
        ],
    );
    assert!(text.contains("`iss`") && !text.contains(&no_iss), "{text}");

    let wrong_aud = jwt(
        serde_json::json!({"iss": ISSUER, "sub": IDENTITY, "aud": "other", "exp": now() + 600}),
    );
    let text = w.expect(
        2,
        &[
            "sign",
            "--model",
            "bert",
            "--keyless",
            "--trust-config",
            tc,
            "--identity-token",
            &wrong_aud,
        ],
    );
    assert!(text.contains("audience"), "{text}");

    let expired = jwt(
        serde_json::json!({"iss": ISSUER, "sub": IDENTITY, "aud": "sigstore", "exp": now() - 30}),
    );
    let text = w.expect(
        2,
        &[
            "sign",
            "--model",
            "bert",
            "--keyless",
            "--trust-config",
            tc,
            "--identity-token",
            &expired,
        ],
    );
    assert!(text.contains("expired"), "{text}");

    let text = w.expect(
        2,
        &[
            "sign",
            "--model",
            "bert",
            "--keyless",
            "--trust-config",
            tc,
            "--identity-token",
            "not-a-jwt-secret",
        ],
    );
    assert!(
        text.contains("not a JWT") && !text.contains("not-a-jwt-secret"),
        "{text}"
    );

    let tok = token();
    let text = w.expect(
        2,
        &[
            "sign",
            "--model",
            "bert",
            "--keyless",
            "--trust-config",
            tc,
            "--identity-token",
            &tok,
            "--oidc-issuer",
            "https://accounts.google.com",
        ],
    );
    assert!(text.contains("--oidc-issuer"), "{text}");
    assert!(!w.path("bert.sig").exists());
}

#[test]
fn fulcio_refusing_the_token_exits_3_and_writes_nothing() {
    let (w, f) = setup();
    let tok = jwt(serde_json::json!({
        "iss": "https://untrusted.example", "sub": "x", "aud": "sigstore", "exp": now() + 600}));
    let mut args = vec!["sign", "--model", "bert"];
    args.extend(keyless_args(&f, &tok));
    let text = w.expect(3, &args);
    assert!(
        text.contains("Fulcio refused") && text.contains("401"),
        "{text}"
    );
    assert!(!text.contains(&tok));
    assert!(!w.path("bert.sig").exists());
}

/// Every file under the local store's blobs, for before/after comparisons.
fn store_blobs(w: &Work) -> Vec<PathBuf> {
    let dir = w.path(".provenance-home/store/blobs/sha256");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn unreachable_fulcio_or_rekor_exit_3_and_write_or_push_nothing() {
    let (w, f) = setup();
    let tok = token();
    let tc = f.trust_config.to_str().unwrap();
    let dead = dead_url();
    for (flag, service) in [("--fulcio-url", "Fulcio"), ("--rekor-url", "Rekor")] {
        let text = w.expect(
            3,
            &[
                "sign",
                "--model",
                "bert",
                "--keyless",
                "--identity-token",
                &tok,
                "--trust-config",
                tc,
                flag,
                &dead,
            ],
        );
        assert!(
            text.contains(&format!("{service} at {dead} is unreachable")),
            "{text}"
        );
        assert!(!text.contains(&tok));
        assert!(
            !w.path("bert.sig").exists(),
            "a signature was written with {service} down"
        );
    }
    // sign REF and push --sign on the local store: no referrer when a service is down.
    w.expect(0, &["push", "bert", "models/bert:v1"]);
    let before = store_blobs(&w);
    for flag in ["--fulcio-url", "--rekor-url"] {
        w.expect(
            3,
            &[
                "sign",
                "models/bert:v1",
                "--keyless",
                "--identity-token",
                &tok,
                "--trust-config",
                tc,
                flag,
                &dead,
            ],
        );
        assert_eq!(
            store_blobs(&w),
            before,
            "something was pushed with {flag} dead"
        );
    }
    w.expect(
        3,
        &[
            "push",
            "bert",
            "models/bert:v1",
            "--sign",
            "--keyless",
            "--identity-token",
            &tok,
            "--trust-config",
            tc,
            "--rekor-url",
            &dead,
        ],
    );
    assert_eq!(store_blobs(&w), before);
}

/// The signature referrers of the local store: (referrer manifest, bundle JSON) pairs.
fn local_referrers(w: &Work, subject: &str) -> Vec<Value> {
    let blobs = w.path(".provenance-home/store/blobs/sha256");
    let mut out = Vec::new();
    for p in store_blobs(w) {
        let Ok(m) = serde_json::from_slice::<Value>(&std::fs::read(&p).unwrap()) else {
            continue;
        };
        if m["artifactType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
            && m["subject"]["digest"] == subject
        {
            let layer = m["layers"][0]["digest"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:");
            out.push(serde_json::from_slice(&std::fs::read(blobs.join(layer)).unwrap()).unwrap());
        }
    }
    out
}

#[test]
fn sign_ref_and_push_sign_keyless_attach_bundles_sigstore_python_verifies() {
    let (w, f) = setup();
    let tok = token();
    let mut args = vec!["push", "bert", "models/bert:v1", "--sign", "-o", "json"];
    args.extend(keyless_args(&f, &tok));
    let out: Value = serde_json::from_str(&w.expect(0, &args)).unwrap();
    let digest = out["digest"].as_str().unwrap().to_owned();
    let mut args = vec![
        "sign",
        "models/bert:v1",
        "--metadata",
        "stage=release",
        "-o",
        "json",
    ];
    args.extend(keyless_args(&f, &tok));
    let run = w.run(&args);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let signed: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(signed["digest"], digest.as_str());
    assert_eq!(signed["signer"]["identity"], IDENTITY);
    assert_eq!(signed["signer"]["rekor_log_index"], 1);

    let bundles = local_referrers(&w, &digest);
    assert_eq!(bundles.len(), 2);
    for (i, b) in bundles.iter().enumerate() {
        let p = w.path(&format!("ref{i}.sig"));
        std::fs::write(&p, serde_json::to_vec(b).unwrap()).unwrap();
        let (ok, text) = sigstore_verify(&f, &p, &root_digest(b), IDENTITY, ISSUER);
        assert!(ok, "{text}");
        // The statement binds the manifest digest (signed annotation).
        use base64::Engine;
        let st: Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            st["subject"][0]["annotations"]["dev.provenance.oci.manifest.digest"],
            digest.as_str()
        );
    }
}

fn curl_json(url: &str, accept: &str) -> Value {
    let out = Command::new("curl")
        .args(["-sf", "-H", &format!("Accept: {accept}"), url])
        .output()
        .unwrap();
    assert!(out.status.success(), "GET {url} failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn tags(host: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", &format!("http://{host}/v2/models/bert/tags/list")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// On the real docker-registry (distribution 2.8: tag-schema referrers): a dead Rekor leaves no
/// referrer index; then push --sign --keyless attaches a bundle that sigstore-python verifies.
#[test]
fn push_sign_keyless_on_real_registry_attaches_a_verifiable_referrer() {
    let (w, f) = setup();
    let reg = common::registry::Registry::start(w.dir.path(), None);
    let host = reg.host();
    let r = format!("{host}/models/bert:v1");
    let tok = token();
    let tc = f.trust_config.to_str().unwrap();
    let dead = dead_url();
    w.expect(
        3,
        &[
            "push",
            "bert",
            &r,
            "--sign",
            "--keyless",
            "--identity-token",
            &tok,
            "--trust-config",
            tc,
            "--rekor-url",
            &dead,
        ],
    );
    assert!(
        !tags(&host).contains("sha256-"),
        "a referrer index exists after a failed signing"
    );

    let mut args = vec!["push", "bert", r.as_str(), "--sign", "-o", "json"];
    args.extend(keyless_args(&f, &tok));
    let out: Value = serde_json::from_str(&w.expect(0, &args)).unwrap();
    let digest = out["digest"].as_str().unwrap();
    let index = curl_json(
        &format!(
            "http://{host}/v2/models/bert/manifests/{}",
            digest.replace(':', "-")
        ),
        "application/vnd.oci.image.index.v1+json",
    );
    let referrer = index["manifests"][0]["digest"].as_str().unwrap();
    let m = curl_json(
        &format!("http://{host}/v2/models/bert/manifests/{referrer}"),
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(m["subject"]["digest"], digest);
    let layer = m["layers"][0]["digest"].as_str().unwrap();
    let bundle = curl_json(
        &format!("http://{host}/v2/models/bert/blobs/{layer}"),
        "*/*",
    );
    let p = w.path("referrer.sig");
    std::fs::write(&p, serde_json::to_vec(&bundle).unwrap()).unwrap();
    let (ok, text) = sigstore_verify(&f, &p, &root_digest(&bundle), IDENTITY, ISSUER);
    assert!(ok, "{text}");
}

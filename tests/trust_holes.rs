//! Attacks on the trust decision from issue 14's second attack pass, each through `verify`,
//! `pull` and `audit`, in the local store and on a real docker-registry (and on disk where a
//! single signature file can show it):
//! - one PKI signer reached by two chains (a CA bundle holding root and intermediate) counts
//!   once toward `min_signatures`; one key as a bare key and inside a certificate counts once;
//! - a `revoked:` key id refuses a model that the revoked key and a trusted key both signed, and
//!   a bundle that merely claims a revoked key (hint or certificate key) is refused unverified.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::Work;
use common::registry::Registry;
use serde_json::Value;

/// A corporate CA: `corp-root.pem`, `corp-inter.pem`, `corp-ca.pem` (both, the usual CA bundle)
/// and Alice's leaf `alice.pem` / `alice.key` issued by the intermediate.
fn corp_pki(w: &Work) {
    w.sh(
        r#"
openssl ecparam -name prime256v1 -genkey -noout -out root.key
openssl req -x509 -new -key root.key -subj "/CN=Corp Root CA" -days 3650 -out corp-root.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl ecparam -name prime256v1 -genkey -noout -out inter.key
openssl req -new -key inter.key -subj "/CN=Corp Intermediate CA" -out inter.csr
printf "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n" > inter.ext
openssl x509 -req -in inter.csr -CA corp-root.pem -CAkey root.key -CAcreateserial -days 1825 \
  -extfile inter.ext -out corp-inter.pem 2>/dev/null
cat corp-root.pem corp-inter.pem > corp-ca.pem
openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out alice.key
openssl pkey -in alice.key -pubout -out alice.pub
openssl req -new -key alice.key -subj "/CN=Alice" -out alice.csr
printf "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nsubjectAltName=email:alice@corp.example\n" > alice.ext
openssl x509 -req -in alice.csr -CA corp-inter.pem -CAkey inter.key -CAcreateserial -days 365 \
  -extfile alice.ext -out alice.pem 2>/dev/null
"#,
    );
}

fn model(w: &Work) {
    w.write("m/model.safetensors", &common::bytes(30_000, 7));
    w.write("m/config.json", br#"{"a":1}"#);
}

fn key_id(w: &Work, pub_file: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(
        std::fs::read(w.path(pub_file)).unwrap(),
    ))
}

fn detail(v: &Value, name: &str) -> String {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {v}"))["detail"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Where to run each scenario: the local store, and a real registry on loopback.
fn places(w: &Work) -> (Registry, Vec<String>) {
    let reg = Registry::start(w.dir.path(), None);
    let places = vec!["models/m".to_owned(), format!("{}/models/m", reg.host())];
    (reg, places)
}

/// verify, pull and audit of `reference` under `policy` all refuse it (exit 1) and pull writes
/// nothing; returns verify's JSON.
fn refused_everywhere(w: &Work, reference: &str, policy: &str, out: &str) -> Value {
    let v = w.run_json(1, &["verify", reference, "--policy", policy, "-o", "json"]);
    assert_eq!(v["verified"], false, "{v}");
    w.expect(1, &["pull", reference, "--policy", policy, "--output", out]);
    assert!(
        !w.path(out).exists() && !w.path(&format!("{out}.sig")).exists(),
        "pull wrote {out} for a refused model"
    );
    let a = w.run_json(
        1,
        &["audit", reference, "--policy", policy, "--output", "json"],
    );
    assert!(
        a["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] != "verified"),
        "audit calls an entry verified: {a}"
    );
    v
}

#[test]
fn one_pki_signer_reached_by_two_chains_counts_once_toward_min_signatures() {
    let w = Work::new();
    corp_pki(&w);
    model(&w);
    w.write(
        "policy.yaml",
        b"version: 1\npolicies:\n- name: corp\n  scopes: ['*']\n  trusted_signers:\n  - certificate_chain: corp-ca.pem\n  min_signatures: 2\n",
    );
    let (_reg, places) = places(&w);
    for (i, repo) in places.iter().enumerate() {
        let r = format!("{repo}:v1");
        w.expect(0, &["push", "m", &r]);
        // Alice signs twice: once carrying the intermediate, once with the leaf alone.
        let with_chain = [
            "sign",
            &r,
            "--private-key",
            "alice.key",
            "--signing-certificate",
            "alice.pem",
            "--certificate-chain",
            "corp-inter.pem",
        ];
        w.expect(0, &with_chain);
        w.expect(0, &with_chain[..6]);
        let v = refused_everywhere(&w, &r, "policy.yaml", &format!("out{i}"));
        assert_eq!(
            detail(&v, "policy:min_signatures"),
            "1 distinct trusted signer(s) verified, 2 required",
            "{v}"
        );
        // Both signatures did verify: each is Alice, and they are one signer.
        let sigs = v["signatures"].as_array().unwrap();
        assert_eq!(sigs.len(), 2);
        assert!(sigs.iter().all(|s| s["status"] == "trusted"), "{v}");
    }
}

#[test]
fn one_key_as_a_bare_key_and_inside_a_certificate_is_one_signer() {
    let w = Work::new();
    corp_pki(&w);
    model(&w);
    // A 2-of-2 rule: Alice's key and the corporate PKI. Alice signs once with her bare key and
    // once with her certificate: the same key, one signer.
    w.write(
        "policy.yaml",
        b"version: 1\npolicies:\n- name: corp\n  scopes: ['*']\n  trusted_signers:\n  - public_key: alice.pub\n  - certificate_chain: corp-ca.pem\n  min_signatures: 2\n",
    );
    let (_reg, places) = places(&w);
    for (i, repo) in places.iter().enumerate() {
        let r = format!("{repo}:v1");
        w.expect(0, &["push", "m", &r]);
        w.expect(0, &["sign", &r, "--private-key", "alice.key"]);
        w.expect(
            0,
            &[
                "sign",
                &r,
                "--private-key",
                "alice.key",
                "--signing-certificate",
                "alice.pem",
            ],
        );
        let v = refused_everywhere(&w, &r, "policy.yaml", &format!("out{i}"));
        assert_eq!(
            detail(&v, "policy:min_signatures"),
            "1 distinct trusted signer(s) verified, 2 required",
            "{v}"
        );
    }
    // A second, different key does make two signers: the threshold is reachable.
    w.keygen("bob");
    w.write(
        "policy2.yaml",
        b"version: 1\npolicies:\n- name: corp\n  scopes: ['*']\n  trusted_signers:\n  - public_key: bob.pub\n  - certificate_chain: corp-ca.pem\n  min_signatures: 2\n",
    );
    w.expect(0, &["sign", "models/m:v1", "--private-key", "bob.pem"]);
    w.expect(0, &["verify", "models/m:v1", "--policy", "policy2.yaml"]);
}

#[test]
fn a_revoked_key_id_refuses_a_model_other_trusted_keys_signed_too() {
    let w = Work::new();
    model(&w);
    w.keygen("trusted");
    w.keygen("leaked");
    let leaked = key_id(&w, "leaked.pub");
    // docs/policy.md's example: the revoked key is named by its id only.
    w.write(
        "policy.yaml",
        format!(
            "version: 1\npolicies:\n- name: prod\n  scopes: ['*']\n  trusted_signers:\n  - public_key: trusted.pub\n  revoked: [{leaked}]\n"
        )
        .as_bytes(),
    );
    let (_reg, places) = places(&w);
    for (i, repo) in places.iter().enumerate() {
        let r = format!("{repo}:v1");
        w.expect(0, &["push", "m", &r]);
        w.expect(0, &["sign", &r, "--private-key", "trusted.pem"]);
        w.expect(0, &["sign", &r, "--private-key", "leaked.pem"]);
        let v = refused_everywhere(&w, &r, "policy.yaml", &format!("out{i}"));
        let d = detail(&v, "policy:revoked");
        assert!(d.contains(&leaked), "{d}");
        assert!(d.contains("claims (signature not verified)"), "{d}");
        let revoked: Vec<&Value> = v["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["status"] == "revoked")
            .collect();
        assert_eq!(revoked.len(), 1, "{v}");
        // With the leaked key's material the same verdict says the key really signed.
        let v = w.run_json(
            1,
            &[
                "verify",
                &r,
                "--policy",
                "policy.yaml",
                "--public-key",
                "leaked.pub",
                "-o",
                "json",
            ],
        );
        assert!(detail(&v, "policy:revoked").contains("signed by revoked key"));
    }
    // On disk: one signature file by the leaked key, named only by id, is revoked (not merely
    // untrusted), and the trusted key's own signature still verifies.
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "m",
            "--private-key",
            "leaked.pem",
            "--signature",
            "l.sig",
        ],
    );
    let out = w.expect(
        1,
        &[
            "verify",
            "--model",
            "m",
            "--signature",
            "l.sig",
            "--policy",
            "policy.yaml",
        ],
    );
    assert!(out.contains("revoked"), "{out}");
    let a = w.run_json(
        1,
        &[
            "audit",
            "l.sig",
            "--policy",
            "policy.yaml",
            "--output",
            "json",
        ],
    );
    assert_eq!(a["entries"][0]["status"], "revoked", "{a}");
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "m",
            "--private-key",
            "trusted.pem",
            "--signature",
            "t.sig",
        ],
    );
    w.expect(
        0,
        &[
            "verify",
            "--model",
            "m",
            "--signature",
            "t.sig",
            "--policy",
            "policy.yaml",
        ],
    );
}

#[test]
fn a_bundle_claiming_a_revoked_key_is_refused_even_when_another_key_signed_it() {
    // An attacker cannot launder a revoked key by naming it: the claim alone refuses. And a
    // trusted key's signature whose hint names the revoked key is refused too (fail closed).
    let w = Work::new();
    model(&w);
    w.keygen("trusted");
    w.keygen("leaked");
    let leaked = key_id(&w, "leaked.pub");
    w.write(
        "policy.yaml",
        format!(
            "version: 1\npolicies:\n- name: prod\n  scopes: ['*']\n  trusted_signers:\n  - public_key: trusted.pub\n  revoked: [{{key_id: {leaked}}}]\n"
        )
        .as_bytes(),
    );
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "m",
            "--private-key",
            "trusted.pem",
            "--signature",
            "t.sig",
        ],
    );
    let mut b: Value = serde_json::from_slice(&std::fs::read(w.path("t.sig")).unwrap()).unwrap();
    b["verificationMaterial"]["publicKey"]["hint"] = Value::String(leaked.clone());
    std::fs::write(w.path("t.sig"), serde_json::to_vec(&b).unwrap()).unwrap();
    let out = w.expect(
        1,
        &[
            "verify",
            "--model",
            "m",
            "--signature",
            "t.sig",
            "--policy",
            "policy.yaml",
        ],
    );
    assert!(out.contains("revoked") && out.contains(&leaked), "{out}");
}

#[test]
fn a_revoked_certificate_key_refuses_its_certificate_signatures() {
    // `revoked: [{public_key: alice.pub}]`: Alice's certificate carries that key.
    let w = Work::new();
    corp_pki(&w);
    model(&w);
    w.write(
        "policy.yaml",
        b"version: 1\npolicies:\n- name: corp\n  scopes: ['*']\n  trusted_signers:\n  - certificate_chain: corp-ca.pem\n  revoked:\n  - public_key: alice.pub\n",
    );
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "m",
            "--private-key",
            "alice.key",
            "--signing-certificate",
            "alice.pem",
            "--signature",
            "a.sig",
        ],
    );
    let out = w.expect(
        1,
        &[
            "verify",
            "--model",
            "m",
            "--signature",
            "a.sig",
            "--policy",
            "policy.yaml",
        ],
    );
    assert!(out.contains("revoked"), "{out}");
    // Without the revocation the same signature verifies: the refusal is the revocation's.
    w.write(
        "ok.yaml",
        b"version: 1\npolicies:\n- name: corp\n  scopes: ['*']\n  trusted_signers:\n  - certificate_chain: corp-ca.pem\n",
    );
    w.expect(
        0,
        &[
            "verify",
            "--model",
            "m",
            "--signature",
            "a.sig",
            "--policy",
            "ok.yaml",
        ],
    );
}

#[test]
fn a_malformed_revoked_entry_is_an_input_error_naming_the_field() {
    let w = Work::new();
    model(&w);
    w.keygen("trusted");
    w.expect(0, &["sign", "--model", "m", "--private-key", "trusted.pem"]);
    for (entry, want) in [
        ("[abc]", "policies[0].revoked[0]"),
        ("[{identity: x}]", "policies[0].revoked[0]"),
        (
            "[{public_key: missing.pub}]",
            "policies[0].revoked[0].public_key",
        ),
    ] {
        w.write(
            "p.yaml",
            format!(
                "version: 1\npolicies:\n- name: prod\n  scopes: ['*']\n  trusted_signers:\n  - public_key: trusted.pub\n  revoked: {entry}\n"
            )
            .as_bytes(),
        );
        let out = w.expect(2, &["verify", "--model", "m", "--policy", "p.yaml"]);
        assert!(out.contains(want), "{entry}: {out}");
    }
}

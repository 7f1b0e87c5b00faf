//! OMS v1.0 conformance at the library and command-line level: Hugging Face cache snapshots
//! (symlinks into ../../blobs) both ways with model_signing 1.1.1, and the negative cases of
//! spec §8 that are decided by the formats (media type, payload type, predicate type, subject,
//! resources, truncation, a key bundle checked as a certificate one and the reverse), each refused
//! with the check named and exit 1 or 2; and `push --allow-symlinks` of a cache snapshot.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::oms::{ms, openssl_key, verify_key_bundle};
use common::{Work, bytes};
use provenance::formats::bundle::Bundle;
use provenance::formats::dsse::{self, Envelope};
use provenance::formats::statement::{self, Statement};
use provenance::keys::PrivateKey;
use serde_json::{Value, json};
use std::path::Path;

/// A Hugging Face hub cache entry: blobs named by hash, and a snapshot whose files (one in a
/// sub-folder) are relative symlinks into ../../blobs. Returns the snapshot folder (relative).
fn hf_cache(w: &Work) -> String {
    let repo = "hub/models--org--tiny";
    let files: [(&str, Vec<u8>); 3] = [
        ("config.json", br#"{"hidden_size":8}"#.to_vec()),
        ("model.safetensors", bytes(200_000, 3)),
        ("tokenizer/vocab.txt", b"a\nb\n".to_vec()),
    ];
    let snap = format!("{repo}/snapshots/0123abcd");
    for (name, data) in &files {
        let blob = hex::encode(provenance::hashing::sha256(data));
        w.write(&format!("{repo}/blobs/{blob}"), data);
        let link = w.path(&format!("{snap}/{name}"));
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        let depth = name.matches('/').count() + 2;
        let target = format!("{}blobs/{blob}", "../".repeat(depth));
        std::os::unix::fs::symlink(target, &link).unwrap();
    }
    w.write(&format!("{repo}/refs/main"), b"0123abcd");
    snap
}

#[test]
fn hugging_face_cache_snapshot_signs_and_verifies_both_ways_with_allow_symlinks() {
    let w = Work::new();
    let snap = hf_cache(&w);
    openssl_key(w.dir.path(), "k", "prime256v1");
    // Without --allow-symlinks the snapshot is refused, naming the link.
    let out = w.expect(
        2,
        &[
            "sign",
            "--model",
            &snap,
            "--private-key",
            "k.pem",
            "--manifest",
            "x.sig",
        ],
    );
    assert!(out.contains("symbolic link"), "{out}");
    // Ours → model_signing.
    w.expect(
        0,
        &[
            "sign",
            "--model",
            &snap,
            "--private-key",
            "k.pem",
            "--manifest",
            "ours.sig",
            "--allow-symlinks",
        ],
    );
    let (ok, out) = ms(
        "1.1.1",
        w.dir.path(),
        &[
            "verify",
            "key",
            &snap,
            "--signature",
            "ours.sig",
            "--public_key",
            "k.pub",
            "--allow_symlinks",
        ],
    );
    assert!(ok, "model_signing refused our snapshot signature: {out}");
    // model_signing → ours (library and command line).
    let (ok, out) = ms(
        "1.1.1",
        w.dir.path(),
        &[
            "sign",
            "key",
            &snap,
            "--private_key",
            "k.pem",
            "--signature",
            "theirs.sig",
            "--allow_symlinks",
        ],
    );
    assert!(ok, "{out}");
    let v = verify_key_bundle(&w.path(&snap), &w.path("theirs.sig"), &w.path("k.pub")).unwrap();
    let names: Vec<_> = v
        .statement
        .resources
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["config.json", "model.safetensors", "tokenizer/vocab.txt"]
    );
    w.expect(
        0,
        &[
            "verify",
            "--model",
            &snap,
            "--manifest",
            "theirs.sig",
            "--public-key",
            "k.pub",
        ],
    );
    // The listing says the links leave the snapshot folder.
    let l = provenance::model::list(
        &w.path(&snap),
        &provenance::model::Options {
            allow_symlinks: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(l.warnings.len(), 3, "{:?}", l.warnings);
    // Both statements name the same digests: the blobs' own.
    let ours = Bundle::read(&w.path("ours.sig")).unwrap();
    let ours = Statement::parse(&ours.dsse_envelope.payload_bytes().unwrap()).unwrap();
    assert_eq!(ours.resources, v.statement.resources);
    assert_eq!(ours.root_digest, v.statement.root_digest);
}

/// A key bundle over an arbitrary payload, signed for real, so only the tested defect fails.
fn signed_bundle(key: &PrivateKey, payload: &[u8], payload_type: &str) -> Value {
    let pae = dsse::pae(payload_type, payload);
    let sig = key.sign_der(&pae).unwrap();
    let mut env = Envelope::new(payload, &sig);
    env.payload_type = payload_type.into();
    let b = Bundle::for_key(env, key.public_key().unwrap().id());
    serde_json::from_slice(&b.to_json()).unwrap()
}

fn good_statement(w: &Work) -> Value {
    w.write("m/w.bin", b"weights");
    let digest = hex::encode(provenance::hashing::sha256(b"weights"));
    let res = vec![statement::Resource {
        name: "w.bin".into(),
        algorithm: "sha256".into(),
        digest,
    }];
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "m", "digest": {"sha256": statement::root_digest(&res)}}],
        "predicateType": statement::PREDICATE_TYPE,
        "predicate": {
            "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": false, "ignore_paths": []},
            "resources": [{"name": "w.bin", "algorithm": "sha256", "digest": res[0].digest}],
        }
    })
}

/// Writes the bundle, runs `provenance verify`, and returns (exit code, output).
fn verify_cli(w: &Work, bundle: &[u8]) -> (i32, String) {
    std::fs::write(w.path("b.sig"), bundle).unwrap();
    let out = w.run(&[
        "verify",
        "--model",
        "m",
        "--manifest",
        "b.sig",
        "--public-key",
        "k.pub",
    ]);
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn setup() -> (Work, PrivateKey) {
    let w = Work::new();
    let key = PrivateKey::generate().unwrap();
    provenance::keys::write_key_pair(&key, &w.path("k.pem"), &w.path("k.pub"), None, false)
        .unwrap();
    (w, key)
}

#[test]
fn the_well_formed_control_bundle_verifies() {
    let (w, key) = setup();
    let st = good_statement(&w);
    let b = signed_bundle(
        &key,
        &serde_json::to_vec(&st).unwrap(),
        dsse::IN_TOTO_PAYLOAD_TYPE,
    );
    let (code, out) = verify_cli(&w, &serde_json::to_vec(&b).unwrap());
    assert_eq!(code, 0, "{out}");
}

#[test]
fn rejects_a_bundle_with_a_wrong_media_type() {
    let (w, key) = setup();
    let st = good_statement(&w);
    let mut b = signed_bundle(
        &key,
        &serde_json::to_vec(&st).unwrap(),
        dsse::IN_TOTO_PAYLOAD_TYPE,
    );
    b["mediaType"] = json!("application/vnd.dev.sigstore.bundle.v9+json");
    let bytes = serde_json::to_vec(&b).unwrap();
    assert!(Bundle::from_slice(&bytes, Path::new("b")).is_err());
    let (code, out) = verify_cli(&w, &bytes);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("mediaType"), "{out}");
}

#[test]
fn rejects_a_wrong_payload_type() {
    let (w, key) = setup();
    let st = good_statement(&w);
    let b = signed_bundle(&key, &serde_json::to_vec(&st).unwrap(), "application/json");
    let (code, out) = verify_cli(&w, &serde_json::to_vec(&b).unwrap());
    assert!(code == 1 || code == 2, "{code}: {out}");
    assert!(out.contains("payloadType"), "{out}");
}

#[test]
fn rejects_a_wrong_predicate_type() {
    let (w, key) = setup();
    let mut st = good_statement(&w);
    st["predicateType"] = json!("https://slsa.dev/provenance/v1");
    let payload = serde_json::to_vec(&st).unwrap();
    assert!(matches!(
        Statement::parse(&payload),
        Err(statement::Error::Unsupported {
            what: "predicate type",
            ..
        })
    ));
    let b = signed_bundle(&key, &payload, dsse::IN_TOTO_PAYLOAD_TYPE);
    let (code, out) = verify_cli(&w, &serde_json::to_vec(&b).unwrap());
    assert!(code == 1 || code == 2, "{code}: {out}");
    assert!(out.contains("predicate type"), "{out}");
}

#[test]
fn rejects_a_statement_without_subject() {
    let (w, key) = setup();
    for subject in [json!([]), Value::Null] {
        let mut st = good_statement(&w);
        if subject.is_null() {
            st.as_object_mut().unwrap().remove("subject");
        } else {
            st["subject"] = subject;
        }
        let payload = serde_json::to_vec(&st).unwrap();
        assert!(Statement::parse(&payload).is_err());
        let b = signed_bundle(&key, &payload, dsse::IN_TOTO_PAYLOAD_TYPE);
        let (code, out) = verify_cli(&w, &serde_json::to_vec(&b).unwrap());
        assert!(code == 1 || code == 2, "{code}: {out}");
        assert!(out.contains("subject"), "{out}");
    }
}

#[test]
fn rejects_a_statement_with_empty_resources() {
    let (w, key) = setup();
    let mut st = good_statement(&w);
    st["predicate"]["resources"] = json!([]);
    st["subject"][0]["digest"]["sha256"] = json!(statement::root_digest(&[]));
    let payload = serde_json::to_vec(&st).unwrap();
    let e = Statement::parse(&payload).unwrap_err();
    assert!(e.to_string().contains("no resources"), "{e}");
    let b = signed_bundle(&key, &payload, dsse::IN_TOTO_PAYLOAD_TYPE);
    let (code, out) = verify_cli(&w, &serde_json::to_vec(&b).unwrap());
    assert!(code == 1 || code == 2, "{code}: {out}");
    assert!(out.contains("no resources"), "{out}");
}

#[test]
fn rejects_a_truncated_bundle_at_every_length() {
    let (w, key) = setup();
    let st = good_statement(&w);
    let b = signed_bundle(
        &key,
        &serde_json::to_vec(&st).unwrap(),
        dsse::IN_TOTO_PAYLOAD_TYPE,
    );
    let bytes = serde_json::to_vec_pretty(&b).unwrap();
    for n in 0..bytes.len() {
        assert!(
            Bundle::from_slice(&bytes[..n], Path::new("b")).is_err(),
            "a bundle truncated to {n} bytes parsed"
        );
    }
    let (code, out) = verify_cli(&w, &bytes[..bytes.len() / 2]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("not a Sigstore bundle"), "{out}");
}

#[test]
fn rejects_a_fifo_given_as_signature_without_blocking() {
    let (w, _key) = setup();
    w.write("m/w.bin", b"weights");
    let st = std::process::Command::new("mkfifo")
        .arg(w.path("b.sig"))
        .status()
        .unwrap();
    assert!(st.success());
    let out = w.run(&[
        "verify",
        "--model",
        "m",
        "--manifest",
        "b.sig",
        "--public-key",
        "k.pub",
    ]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("not a regular file"), "{text}");
}

#[test]
fn push_of_a_cache_snapshot_pushes_the_files_contents() {
    let w = Work::new();
    let snap = hf_cache(&w);
    openssl_key(w.dir.path(), "k", "prime256v1");
    let out = w.expect(2, &["push", &snap, "models/tiny:v1"]);
    assert!(out.contains("--allow-symlinks"), "{out}");
    w.expect(
        0,
        &["push", &snap, "models/tiny:v1", "--allow-symlinks", "-q"],
    );
    w.expect(
        0,
        &["sign", "models/tiny:v1", "--private-key", "k.pem", "-q"],
    );
    w.expect(
        0,
        &[
            "pull",
            "models/tiny:v1",
            "--output",
            "copy",
            "--public-key",
            "k.pub",
        ],
    );
    for name in ["config.json", "model.safetensors", "tokenizer/vocab.txt"] {
        let copy = w.path(&format!("copy/{name}"));
        assert!(!copy.is_symlink(), "{name} landed as a link");
        assert_eq!(
            std::fs::read(&copy).unwrap(),
            std::fs::read(w.path(&format!("{snap}/{name}"))).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn a_key_bundle_is_not_trusted_by_a_certificate_chain_nor_the_reverse() {
    let w = Work::new();
    w.hf_model("m");
    common::oms::openssl_pki(w.dir.path());
    openssl_key(w.dir.path(), "k", "prime256v1");
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "m",
            "--private-key",
            "k.pem",
            "--manifest",
            "key.sig",
            "-q",
        ],
    );
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "m",
            "--private-key",
            "leaf.key",
            "--signing-certificate",
            "leaf.pem",
            "--certificate-chain",
            "inter.pem",
            "--manifest",
            "cert.sig",
            "-q",
        ],
    );
    // Each verifies with its own trust...
    w.expect(
        0,
        &[
            "verify",
            "--model",
            "m",
            "--signature",
            "key.sig",
            "--public-key",
            "k.pub",
        ],
    );
    w.expect(
        0,
        &[
            "verify",
            "--model",
            "m",
            "--signature",
            "cert.sig",
            "--certificate-chain",
            "root.pem",
        ],
    );
    // ...and neither with the other's: not trusted (1), the signer check named.
    let out = w.expect(
        1,
        &[
            "verify",
            "--model",
            "m",
            "--signature",
            "key.sig",
            "--certificate-chain",
            "root.pem",
        ],
    );
    assert!(out.contains("check `signer`"), "{out}");
    let out = w.expect(
        1,
        &[
            "verify",
            "--model",
            "m",
            "--signature",
            "cert.sig",
            "--public-key",
            "k.pub",
        ],
    );
    assert!(
        out.contains("check `signer`") && out.contains("--certificate-chain"),
        "{out}"
    );
}

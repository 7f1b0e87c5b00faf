//! Interop with the real `model_signing` 1.1 (PyPI), both directions: what we sign it verifies,
//! what it signs we verify, and both refuse the same tampering.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
use common::{Work, bytes, flip_byte, venv_bin};
use std::process::Command;

/// Runs `model_signing` in the work folder; returns (exit success, output).
fn ms(w: &Work, args: &[&str]) -> (bool, String) {
    let out = Command::new(venv_bin("model_signing"))
        .args(args)
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

fn ms_verify(w: &Work, model: &str, sig: &str, key: &str) -> (bool, String) {
    ms(
        w,
        &[
            "verify",
            "key",
            model,
            "--signature",
            sig,
            "--public_key",
            key,
        ],
    )
}

fn setup() -> Work {
    let w = Work::new();
    w.keygen("k");
    w.keygen("other");
    w.hf_model("bert");
    w.write("model.pt", &bytes(1_500_000, 9));
    w
}

#[test]
fn model_signing_verifies_our_folder_and_file_signatures() {
    let w = setup();
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "bert",
            "--private-key",
            "k.pem",
            "--metadata",
            "author=alice",
        ],
    );
    w.expect(
        0,
        &["sign", "--model", "model.pt", "--private-key", "k.pem"],
    );
    let (ok, out) = ms_verify(&w, "bert", "bert.sig", "k.pub");
    assert!(ok, "model_signing refused our folder signature: {out}");
    let (ok, out) = ms_verify(&w, "model.pt", "model.pt.sig", "k.pub");
    assert!(ok, "model_signing refused our file signature: {out}");
}

#[test]
fn we_verify_model_signing_folder_file_and_shard_signatures() {
    let w = setup();
    let (ok, out) = ms(
        &w,
        &[
            "sign",
            "key",
            "bert",
            "--private_key",
            "k.pem",
            "--signature",
            "ms-bert.sig",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = ms(
        &w,
        &[
            "sign",
            "key",
            "model.pt",
            "--private_key",
            "k.pem",
            "--signature",
            "ms-model.sig",
        ],
    );
    assert!(ok, "{out}");
    w.expect(
        0,
        &[
            "verify",
            "--model",
            "bert",
            "--manifest",
            "ms-bert.sig",
            "--public-key",
            "k.pub",
        ],
    );
    w.expect(
        0,
        &[
            "verify",
            "--model",
            "model.pt",
            "--manifest",
            "ms-model.sig",
            "--public-key",
            "k.pub",
        ],
    );
    // The shards method is only reachable through model_signing's Python API.
    let py = r#"
import model_signing, sys
cfg = model_signing.signing.Config().use_elliptic_key_signer(private_key="k.pem")
cfg.set_hashing_config(model_signing.hashing.Config().use_shard_serialization(shard_size=100000))
cfg.sign(sys.argv[1], sys.argv[2])
"#;
    for (model, sig) in [
        ("bert", "ms-bert-shards.sig"),
        ("model.pt", "ms-model-shards.sig"),
    ] {
        let st = Command::new(venv_bin("python"))
            .args(["-c", py, model, sig])
            .current_dir(w.dir.path())
            .status()
            .unwrap();
        assert!(st.success());
        let out = w.expect(
            0,
            &[
                "verify",
                "--model",
                model,
                "--manifest",
                sig,
                "--public-key",
                "k.pub",
                "-o",
                "json",
            ],
        );
        assert!(out.contains("shards"), "{out}");
    }
    // Our shard statement is byte-identical in subject and resources to model_signing's.
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "bert",
            "--private-key",
            "k.pem",
            "--shard-size",
            "100000",
            "--manifest",
            "ours-shards.sig",
        ],
    );
    let statement = |f: &str| -> serde_json::Value {
        use base64::Engine;
        let b: serde_json::Value =
            serde_json::from_slice(&std::fs::read(w.path(f)).unwrap()).unwrap();
        let p = base64::engine::general_purpose::STANDARD
            .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
            .unwrap();
        serde_json::from_slice(&p).unwrap()
    };
    let (a, b) = (
        statement("ours-shards.sig"),
        statement("ms-bert-shards.sig"),
    );
    assert_eq!(a["subject"], b["subject"]);
    assert_eq!(a["predicate"]["resources"], b["predicate"]["resources"]);
}

#[test]
fn both_tools_refuse_flipped_added_removed_and_wrong_key() {
    let w = setup();
    w.expect(0, &["sign", "--model", "bert", "--private-key", "k.pem"]);
    let (ok, _) = ms(
        &w,
        &[
            "sign",
            "key",
            "bert",
            "--private_key",
            "k.pem",
            "--signature",
            "ms.sig",
        ],
    );
    assert!(ok);
    let both_refuse = |what: &str| {
        for sig in ["bert.sig", "ms.sig"] {
            w.expect(
                1,
                &[
                    "verify",
                    "--model",
                    "bert",
                    "--manifest",
                    sig,
                    "--public-key",
                    "k.pub",
                ],
            );
            let (ok, out) = ms_verify(&w, "bert", sig, "k.pub");
            assert!(!ok, "model_signing accepted {what} with {sig}: {out}");
        }
    };
    // A different key.
    for sig in ["bert.sig", "ms.sig"] {
        w.expect(
            1,
            &[
                "verify",
                "--model",
                "bert",
                "--manifest",
                sig,
                "--public-key",
                "other.pub",
            ],
        );
        assert!(!ms_verify(&w, "bert", sig, "other.pub").0);
    }
    let shard = w.path("bert/model-00001-of-00002.safetensors");
    flip_byte(&shard, 12345);
    both_refuse("a flipped byte");
    flip_byte(&shard, 12345);
    w.write("bert/added.bin", b"extra");
    both_refuse("an added file");
    std::fs::remove_file(w.path("bert/added.bin")).unwrap();
    let tok = std::fs::read(w.path("bert/tokenizer.json")).unwrap();
    std::fs::remove_file(w.path("bert/tokenizer.json")).unwrap();
    both_refuse("a removed file");
    std::fs::write(w.path("bert/tokenizer.json"), tok).unwrap();
    w.expect(0, &["verify", "--model", "bert", "--public-key", "k.pub"]);
}

#[test]
fn both_tools_refuse_edited_metadata() {
    use base64::Engine;
    let w = setup();
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "bert",
            "--private-key",
            "k.pem",
            "--metadata",
            "training_data_hash=sha256:aaaa",
        ],
    );
    let (ok, out) = ms_verify(&w, "bert", "bert.sig", "k.pub");
    assert!(ok, "{out}");
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut b: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.path("bert.sig")).unwrap()).unwrap();
    let p = String::from_utf8(
        b64.decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap()
    .replace("sha256:aaaa", "sha256:bbbb");
    b["dsseEnvelope"]["payload"] = b64.encode(p).into();
    std::fs::write(w.path("edited.sig"), b.to_string()).unwrap();
    w.expect(
        1,
        &[
            "verify",
            "--model",
            "bert",
            "--manifest",
            "edited.sig",
            "--public-key",
            "k.pub",
        ],
    );
    assert!(!ms_verify(&w, "bert", "edited.sig", "k.pub").0);
}

/// `provenance digest` prints the subject digest model_signing records when it signs the same
/// folder or file (files method, and shards through its Python API), so a dataset hashed with
/// `digest` matches what either tool would sign.
#[test]
fn digest_equals_the_subject_digest_model_signing_signs() {
    let w = setup();
    // A git file model_signing ignores by default: ignored by digest too.
    w.write("bert/.gitignore", b"*.tmp\n");
    let subject = |f: &str| -> String {
        use base64::Engine;
        let b: serde_json::Value =
            serde_json::from_slice(&std::fs::read(w.path(f)).unwrap()).unwrap();
        let p = base64::engine::general_purpose::STANDARD
            .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
            .unwrap();
        let st: serde_json::Value = serde_json::from_slice(&p).unwrap();
        format!(
            "sha256:{}",
            st["subject"][0]["digest"]["sha256"].as_str().unwrap()
        )
    };
    let ours = |args: &[&str]| -> String {
        let mut all = vec!["digest"];
        all.extend_from_slice(args);
        w.expect(0, &all).trim().to_owned()
    };
    for model in ["bert", "model.pt"] {
        let sig = format!("ms-{model}.sig");
        let (ok, out) = ms(
            &w,
            &[
                "sign",
                "key",
                model,
                "--private_key",
                "k.pem",
                "--signature",
                &sig,
            ],
        );
        assert!(ok, "{out}");
        let digest = ours(&[model]);
        assert_eq!(digest, subject(&sig), "{model}: files method");
        assert!(
            digest.starts_with("sha256:") && digest.len() == 71,
            "{digest}"
        );
        // JSON: the same digest, the method, and every file's digest.
        let v = w.run_json(0, &["digest", model, "--format", "json"]);
        assert_eq!(v["digest"], digest.as_str(), "{v}");
        assert_eq!(v["method"], "oms-files-v1");
        let files = v["files"].as_array().unwrap();
        assert!(!files.is_empty());
        assert!(files.iter().all(|f| {
            f["name"].is_string() && f["digest"].as_str().unwrap().starts_with("sha256:")
        }));
    }
    let py = r#"
import model_signing, sys
cfg = model_signing.signing.Config().use_elliptic_key_signer(private_key="k.pem")
cfg.set_hashing_config(model_signing.hashing.Config().use_shard_serialization(shard_size=100000))
cfg.sign(sys.argv[1], sys.argv[2])
"#;
    for model in ["bert", "model.pt"] {
        let sig = format!("ms-{model}-shards.sig");
        let st = Command::new(venv_bin("python"))
            .args(["-c", py, model, &sig])
            .current_dir(w.dir.path())
            .status()
            .unwrap();
        assert!(st.success());
        let digest = ours(&[model, "--shard-size", "100000"]);
        assert_eq!(digest, subject(&sig), "{model}: shards method");
        // Stable: the same digest twice, and different from the files digest.
        assert_eq!(ours(&[model, "--shard-size", "100000"]), digest);
        assert_ne!(ours(&[model]), digest);
    }
    // A missing path is an input error naming it.
    let out = w.expect(2, &["digest", "no-such-dataset"]);
    assert!(out.contains("no-such-dataset"), "{out}");
}

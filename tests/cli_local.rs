//! The on-disk CLI: the toolkit guide's commands verbatim, folders, ignore rules, and every bad
//! input the issue lists, each with its exit code and nothing half-written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
use common::{Work, bytes, flip_byte};

const GUIDE_SIGN: &[&str] = &[
    "sign",
    "--model",
    "model.pt",
    "--private-key",
    "provenance_private.pem",
    "--manifest",
    "manifest.json",
    "--metadata",
    "author=Your Name",
    "--metadata",
    "training_data_hash=sha256:abc123",
    "--metadata",
    "framework=pytorch",
    "--metadata",
    "version=1.0",
];
const GUIDE_VERIFY: &[&str] = &[
    "verify",
    "--model",
    "model.pt",
    "--manifest",
    "manifest.json",
    "--public-key",
    "provenance_public.pem",
];

fn guide() -> Work {
    let w = Work::new();
    w.write("model.pt", &bytes(2_000_000, 7));
    w.expect(
        0,
        &[
            "keygen",
            "--private",
            "provenance_private.pem",
            "--public",
            "provenance_public.pem",
        ],
    );
    w.expect(0, GUIDE_SIGN);
    w
}

#[test]
fn version_prints_semver() {
    let w = Work::new();
    let out = w.expect(0, &["--version"]);
    assert!(out.contains(env!("CARGO_PKG_VERSION")), "{out}");
}

#[test]
fn guide_commands_sign_and_verify() {
    let w = guide();
    let out = w.expect(0, GUIDE_VERIFY);
    assert!(out.contains("Provenance verified successfully"), "{out}");
    assert!(out.contains("framework = pytorch"), "{out}");
}

#[test]
fn verify_fails_when_model_byte_flipped() {
    let w = guide();
    flip_byte(&w.path("model.pt"), 1000);
    let out = w.expect(1, GUIDE_VERIFY);
    assert!(out.contains("`model`"), "names the failed check: {out}");
}

#[test]
fn verify_fails_with_another_key() {
    let w = guide();
    w.keygen("other");
    let out = w.expect(
        1,
        &[
            "verify",
            "--model",
            "model.pt",
            "--manifest",
            "manifest.json",
            "--public-key",
            "other.pub",
        ],
    );
    // No trusted key made it: the signer is not trusted (the signature is never attributed).
    assert!(out.contains("`signer`"), "{out}");
}

#[test]
fn verify_fails_when_signed_metadata_edited() {
    use base64::Engine;
    let w = guide();
    let mut b: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.path("manifest.json")).unwrap()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = b64
        .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let edited = String::from_utf8(payload)
        .unwrap()
        .replace("pytorch", "tensorf");
    b["dsseEnvelope"]["payload"] = b64.encode(edited).into();
    std::fs::write(w.path("manifest.json"), b.to_string()).unwrap();
    w.expect(1, GUIDE_VERIFY);
}

#[test]
fn json_output_names_each_check() {
    let w = guide();
    let out = w.run(&[
        "verify",
        "--model",
        "model.pt",
        "--manifest",
        "manifest.json",
        "--public-key",
        "provenance_public.pem",
        "--output",
        "json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<_> = common::disk_report(&v)["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "signature",
            "signer",
            "statement",
            "model",
            "policy:scope",
            "policy:revoked",
            "policy:min_signatures"
        ]
    );
    assert_eq!(common::disk_report(&v)["metadata"]["author"], "Your Name");
}

#[test]
fn folder_signature_defaults_beside_model_and_catches_added_and_removed_files() {
    let w = Work::new();
    w.keygen("k");
    w.hf_model("bert");
    w.write("bert/.git/HEAD", b"ref: main");
    w.expect(0, &["sign", "--model", "bert", "--private-key", "k.pem"]);
    assert!(
        w.path("bert.sig").exists(),
        "default signature is <model>.sig beside the model"
    );
    w.expect(0, &["verify", "--model", "bert", "--public-key", "k.pub"]);
    // .git is ignored by default: changing it does not matter.
    w.write("bert/.git/HEAD", b"ref: other");
    w.expect(0, &["verify", "--model", "bert", "--public-key", "k.pub"]);
    w.write("bert/extra/added.bin", b"new");
    let out = w.expect(1, &["verify", "--model", "bert", "--public-key", "k.pub"]);
    assert!(
        out.contains("extra/added.bin: present but not signed"),
        "{out}"
    );
    std::fs::remove_file(w.path("bert/extra/added.bin")).unwrap();
    std::fs::remove_file(w.path("bert/config.json")).unwrap();
    let out = w.expect(1, &["verify", "--model", "bert", "--public-key", "k.pub"]);
    assert!(out.contains("config.json: signed but missing"), "{out}");
}

#[test]
fn signature_inside_model_folder_is_never_signed() {
    let w = Work::new();
    w.keygen("k");
    w.hf_model("bert");
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "bert",
            "--private-key",
            "k.pem",
            "--manifest",
            "bert/model.sig",
        ],
    );
    w.expect(
        0,
        &[
            "verify",
            "--model",
            "bert",
            "--public-key",
            "k.pub",
            "--manifest",
            "bert/model.sig",
        ],
    );
}

#[test]
fn ignore_paths_and_shards() {
    let w = Work::new();
    w.keygen("k");
    w.hf_model("bert");
    w.write("bert/logs/run.log", b"noise");
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "bert",
            "--private-key",
            "k.pem",
            "--ignore-paths",
            "logs",
            "--shard-size",
            "65536",
        ],
    );
    w.write("bert/logs/run.log", b"more noise");
    let out = w.expect(
        0,
        &[
            "verify",
            "--model",
            "bert",
            "--public-key",
            "k.pub",
            "--output",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out[..out.rfind('}').unwrap() + 1]).unwrap();
    // 300,000 + 200,000 bytes in 64 KiB shards, plus config, tokenizer, notes.
    assert_eq!(common::disk_report(&v)["resources"], 5 + 4 + 3);
    let shard = w.path("bert/model-00002-of-00002.safetensors");
    flip_byte(&shard, 150_000);
    let out = w.expect(1, &["verify", "--model", "bert", "--public-key", "k.pub"]);
    assert!(
        out.contains("model-00002-of-00002.safetensors:131072:196608"),
        "{out}"
    );
}

#[test]
fn inspect_shows_claims_without_verifying() {
    let w = guide();
    let out = w.expect(0, &["inspect", "--manifest", "manifest.json"]);
    assert!(out.contains("NOT VERIFIED"), "{out}");
    assert!(out.contains("training_data_hash = sha256:abc123"), "{out}");
    let out = w.run(&["inspect", "--manifest", "manifest.json", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["resources"], 1);
    assert_eq!(v["serialization"]["method"], "files");
    // The signer is the same {kind, ...} object verify reports, and digests are sha256:<hex>.
    assert_eq!(v["signer"]["kind"], "key");
    assert_eq!(v["signer"]["key_id"].as_str().unwrap().len(), 64);
    assert!(v["root_digest"].as_str().unwrap().starts_with("sha256:"));
}

#[test]
fn keygen_refuses_overwrite_and_encrypts_with_password_env() {
    let w = Work::new();
    w.keygen("k");
    let before = std::fs::read(w.path("k.pem")).unwrap();
    let out = w.expect(2, &["keygen", "--private", "k.pem", "--public", "k.pub"]);
    assert!(out.contains("--force"), "{out}");
    assert_eq!(std::fs::read(w.path("k.pem")).unwrap(), before);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provenance"))
        .args([
            "keygen",
            "--private",
            "e.pem",
            "--public",
            "e.pub",
            "--password-env",
            "PW",
        ])
        .env("PW", "correct horse")
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let pem = std::fs::read_to_string(w.path("e.pem")).unwrap();
    assert!(pem.contains("ENCRYPTED PRIVATE KEY"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("correct horse"));
    w.write("m.bin", b"weights");
    let out = w.expect(2, &["sign", "--model", "m.bin", "--private-key", "e.pem"]);
    assert!(out.contains("--password-env"), "{out}");
}

// ---- bad input: exit 2, nothing written ----

fn assert_no_signature(w: &Work, name: &str) {
    assert!(!w.path(name).exists(), "a failed sign left {name} behind");
    let leftovers: Vec<_> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".provenance-tmp")
        })
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn sign_rejects_missing_model() {
    let w = Work::new();
    w.keygen("k");
    let out = w.expect(2, &["sign", "--model", "nope.pt", "--private-key", "k.pem"]);
    assert!(out.contains("nope.pt"), "{out}");
    assert_no_signature(&w, "nope.pt.sig");
}

#[test]
fn verify_rejects_missing_model() {
    let w = guide();
    let out = w.expect(
        2,
        &[
            "verify",
            "--model",
            "missing.pt",
            "--manifest",
            "manifest.json",
            "--public-key",
            "provenance_public.pem",
        ],
    );
    assert!(out.contains("missing.pt"), "{out}");
}

#[test]
fn sign_rejects_missing_key_and_public_key_as_private() {
    let w = Work::new();
    w.keygen("k");
    w.write("m.pt", b"weights");
    let out = w.expect(
        2,
        &["sign", "--model", "m.pt", "--private-key", "absent.pem"],
    );
    assert!(out.contains("absent.pem"), "{out}");
    let out = w.expect(
        2,
        &[
            "sign",
            "--model",
            "m.pt",
            "--private-key",
            "k.pub",
            "--manifest",
            "m2.json",
        ],
    );
    assert!(out.contains("public key"), "{out}");
    assert_no_signature(&w, "m2.json");
}

#[test]
fn rejects_key_on_a_curve_oms_does_not_name() {
    // P-256, P-384 and P-521 are OMS v1.0's curves; secp256k1 is not.
    let w = Work::new();
    w.write("m.pt", b"weights");
    let st = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:secp256k1",
            "-out",
        ])
        .arg(w.path("k1.pem"))
        .status()
        .unwrap();
    assert!(st.success());
    let out = w.expect(2, &["sign", "--model", "m.pt", "--private-key", "k1.pem"]);
    assert!(out.contains("P-256"), "{out}");
    assert_no_signature(&w, "m.pt.sig");
}

#[test]
fn accepts_openssl_sec1_and_pkcs8_keys() {
    let w = Work::new();
    w.write("m.pt", b"weights");
    let run = |args: &[&str]| {
        assert!(
            std::process::Command::new("openssl")
                .args(args)
                .current_dir(w.dir.path())
                .status()
                .unwrap()
                .success()
        )
    };
    run(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-out",
        "sec1.pem",
    ]);
    run(&["ec", "-in", "sec1.pem", "-pubout", "-out", "sec1.pub"]);
    w.expect(0, &["sign", "--model", "m.pt", "--private-key", "sec1.pem"]);
    w.expect(
        0,
        &["verify", "--model", "m.pt", "--public-key", "sec1.pub"],
    );
}

#[test]
fn verify_rejects_malformed_truncated_trailing_and_non_bundle_manifests() {
    let w = guide();
    let good = std::fs::read(w.path("manifest.json")).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("junk.json", b"not json".to_vec()),
        ("truncated.json", good[..good.len() / 2].to_vec()),
        (
            "trailing.json",
            [good.clone(), b"{}garbage".to_vec()].concat(),
        ),
        (
            "other.json",
            br#"{"mediaType":"application/json","hello":1}"#.to_vec(),
        ),
        ("empty.json", Vec::new()),
    ];
    for (name, content) in cases {
        w.write(name, &content);
        let out = w.expect(
            2,
            &[
                "verify",
                "--model",
                "model.pt",
                "--manifest",
                name,
                "--public-key",
                "provenance_public.pem",
            ],
        );
        assert!(out.contains(name), "error names the file: {out}");
    }
}

#[test]
fn verify_rejects_oversized_manifest_without_reading_it_all() {
    let w = guide();
    let f = std::fs::File::create(w.path("huge.json")).unwrap();
    f.set_len(65 * 1024 * 1024).unwrap();
    let out = w.expect(
        2,
        &[
            "verify",
            "--model",
            "model.pt",
            "--manifest",
            "huge.json",
            "--public-key",
            "provenance_public.pem",
        ],
    );
    assert!(out.contains("larger than"), "{out}");
}

#[test]
fn sign_rejects_bad_metadata_before_writing() {
    let w = Work::new();
    w.keygen("k");
    w.write("m.pt", b"weights");
    for bad in [
        &["--metadata", "author"][..],
        &["--metadata", "=x"],
        &["--metadata", "a=1", "--metadata", "a=2"],
    ] {
        let mut args = vec!["sign", "--model", "m.pt", "--private-key", "k.pem"];
        args.extend_from_slice(bad);
        w.expect(2, &args);
        assert_no_signature(&w, "m.pt.sig");
    }
}

#[test]
fn sign_rejects_model_that_is_the_manifest() {
    let w = guide();
    let out = w.expect(
        2,
        &[
            "sign",
            "--model",
            "manifest.json",
            "--private-key",
            "provenance_private.pem",
            "--manifest",
            "manifest.json",
        ],
    );
    assert!(out.contains("signature file itself"), "{out}");
}

#[test]
fn sign_rejects_symlinks_unless_allowed_and_always_if_escaping() {
    let w = Work::new();
    w.keygen("k");
    w.hf_model("bert");
    w.write("outside.txt", b"secret");
    std::os::unix::fs::symlink(w.path("outside.txt"), w.path("bert/link.txt")).unwrap();
    let out = w.expect(2, &["sign", "--model", "bert", "--private-key", "k.pem"]);
    assert!(out.contains("--allow-symlinks"), "{out}");
    // OMS §6.1.1: with --allow-symlinks a link out of the model is followed, with a warning.
    let out = w.expect(
        0,
        &[
            "sign",
            "--model",
            "bert",
            "--private-key",
            "k.pem",
            "--allow-symlinks",
        ],
    );
    assert!(out.contains("warning:") && out.contains("outside"), "{out}");
    let out = w.expect(
        0,
        &[
            "verify",
            "--model",
            "bert",
            "--public-key",
            "k.pub",
            "--allow-symlinks",
        ],
    );
    assert!(
        out.contains("outside"),
        "the model check names the link: {out}"
    );
    std::fs::remove_file(w.path("bert.sig")).unwrap();
    std::fs::remove_file(w.path("bert/link.txt")).unwrap();
    std::os::unix::fs::symlink("config.json", w.path("bert/link.json")).unwrap();
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "bert",
            "--private-key",
            "k.pem",
            "--allow-symlinks",
        ],
    );
    w.expect(0, &["verify", "--model", "bert", "--public-key", "k.pub"]);
}

#[test]
fn file_changing_size_while_hashed_is_refused() {
    // Listed at one size, hashed at another: the library refuses rather than sign a moving target.
    let w = Work::new();
    w.hf_model("bert");
    let listing = provenance::model::list(&w.path("bert"), &Default::default()).unwrap();
    w.write(
        "bert/config.json",
        b"{\"hidden_size\": 128, \"grown\": true}",
    );
    let err = provenance::model::resources(
        &listing,
        &provenance::formats::statement::SerializationMethod::Files,
        &|_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("changed size"), "{err}");
    assert_eq!(err.class().exit_code(), 2);
}

#[test]
fn disk_full_when_writing_signature_leaves_no_partial_file() {
    let w = Work::new();
    w.keygen("k");
    w.hf_model("bert");
    let full = w.path("full");
    std::fs::create_dir(&full).unwrap();
    // A 12 KiB tmpfs is too small for the signature of many files: a real ENOSPC (CI runs as root).
    for i in 0..200 {
        w.write(&format!("bert/many/f{i:03}.bin"), &bytes(10, i));
    }
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=12k", "tmpfs"])
        .arg(&full)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        mounted,
        "this test needs root to mount a tiny tmpfs (CI runs as root)"
    );
    let out = w.run(&[
        "sign",
        "--model",
        "bert",
        "--private-key",
        "k.pem",
        "--manifest",
        "full/bert.sig",
    ]);
    let listing: Vec<_> = std::fs::read_dir(&full)
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    let _ = std::process::Command::new("umount").arg(&full).status();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("No space left"));
    assert!(listing.is_empty(), "partial files left: {listing:?}");
}

#[test]
fn closed_stdout_is_a_quiet_environment_error_not_a_panic() {
    let w = guide();
    // The reader is gone before provenance writes a byte: `provenance inspect | head -0`.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provenance"))
        .args(["inspect", "--manifest", "manifest.json"])
        .current_dir(w.dir.path())
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn completion_scripts_and_man_pages_come_from_the_same_flags() {
    let w = Work::new();
    for shell in ["bash", "zsh", "fish"] {
        let script = w.expect(0, &["completion", shell]);
        for sub in ["verify", "push", "tree"] {
            assert!(script.contains(sub), "{shell} completion lacks {sub}");
        }
        for flag in ["key", "signature", "plain-http"] {
            // fish spells a long flag `-l signature`, the others `--signature`.
            let spelled = if shell == "fish" {
                format!("-l {flag}")
            } else {
                format!("--{flag}")
            };
            assert!(
                script.contains(&spelled),
                "{shell} completion lacks {spelled}"
            );
        }
    }
    w.expect(2, &["completion", "tcsh"]);
    let out = w.expect(0, &["man", "--dir", "pages"]);
    assert!(out.contains("Wrote"), "{out}");
    let top = std::fs::read_to_string(w.path("pages/provenance.1")).unwrap();
    assert!(
        top.starts_with(".ie") || top.contains(".TH"),
        "not roff: {top:.80}"
    );
    let verify = std::fs::read_to_string(w.path("pages/provenance-verify.1")).unwrap();
    assert!(verify.contains("provenance\\-verify"), "{verify:.200}");
    assert!(verify.contains("\\-\\-key"), "verify page lacks --key");
    // A page per command, nothing else in the folder.
    let pages = std::fs::read_dir(w.path("pages")).unwrap().count();
    assert!(pages >= 11, "{pages} pages");
}

/// `--metadata KEY=@digest:PATH|REF` on every signing command: the value is computed (the root
/// digest `provenance digest` prints, or a model's manifest digest in the local store) and
/// `KEY.method` says how; a missing path is exit 2 naming it, and nothing is signed.
#[test]
fn metadata_digest_values_are_computed_on_every_signing_command() {
    let w = Work::new();
    w.keygen("k");
    w.write("data/train.csv", b"a,b\n1,2\n");
    w.write("data/.git/HEAD", b"ref: refs/heads/main\n");
    w.write("m.pt", &bytes(10_000, 3));
    w.write("base/w.bin", &bytes(10_000, 4));
    w.write("ft/w.bin", &bytes(10_000, 5));
    let data = w.expect(0, &["digest", "data", "-q"]).trim().to_owned();
    let metadata = |v: &serde_json::Value| v["metadata"].clone();
    // sign on disk
    let v = w.run_json(
        0,
        &[
            "sign",
            "m.pt",
            "--key",
            "k.pem",
            "--metadata",
            "training_data_hash=@digest:data",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        metadata(&v),
        serde_json::json!({"training_data_hash": data, "training_data_hash.method": "oms-files-v1"})
    );
    // push --sign, with a REF's manifest digest from the local store
    let base = w.run_json(0, &["push", "base", "models/base:v1", "--format", "json"]);
    let base_digest = base["digest"].as_str().unwrap().to_owned();
    w.expect(
        0,
        &[
            "push",
            "ft",
            "models/ft:v1",
            "--sign",
            "--key",
            "k.pem",
            "--metadata",
            "base_model=@digest:models/base:v1",
        ],
    );
    // sign REF, with a path
    w.expect(
        0,
        &[
            "sign",
            "models/ft:v1",
            "--key",
            "k.pem",
            "--metadata",
            "training_data_hash=@digest:./data",
        ],
    );
    let i = w.run_json(0, &["inspect", "models/ft:v1", "--format", "json"]);
    let claims: Vec<serde_json::Value> = i["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["claims"]["metadata"].clone())
        .collect();
    assert!(
        claims.contains(&serde_json::json!({
            "base_model": base_digest, "base_model.method": "oci-manifest"
        })),
        "{i}"
    );
    assert!(
        claims.contains(&serde_json::json!({
            "training_data_hash": data, "training_data_hash.method": "oms-files-v1"
        })),
        "{i}"
    );
    // Refused: a missing path (written as a path, or a bare name nothing holds), a sibling key
    // given by hand, a reserved key. No signature is written.
    std::fs::remove_file(w.path("m.pt.sig")).unwrap();
    for (pair, named) in [
        ("h=@digest:./no-such-data", "./no-such-data"),
        ("h=@digest:no-such-data", "no-such-data does not exist"),
        ("h=@digest:", "names nothing"),
        ("dev.provenance.h=@digest:data", "reserved prefix"),
    ] {
        let out = w.expect(2, &["sign", "m.pt", "--key", "k.pem", "--metadata", pair]);
        assert!(out.contains(named), "{pair}: {out}");
        assert!(!w.path("m.pt.sig").exists(), "{pair}");
    }
    let out = w.expect(
        2,
        &[
            "sign",
            "m.pt",
            "--key",
            "k.pem",
            "--metadata",
            "h=@digest:data",
            "--metadata",
            "h.method=mine",
        ],
    );
    assert!(out.contains("h.method") && out.contains("twice"), "{out}");
    let out = w.expect(
        2,
        &[
            "push",
            "ft",
            "models/ft:v2",
            "--sign",
            "--key",
            "k.pem",
            "--metadata",
            "h=@digest:models/none:v9",
        ],
    );
    assert!(out.contains("models/none:v9"), "{out}");
}

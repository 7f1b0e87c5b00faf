//! Lessons from model_signing's issues, as attacks on a model on disk (issue 14, "also tried"):
//! - a trusted signer's statement naming resources with `..`, an absolute path or NUL reads
//!   nothing outside the model, with or without `--ignore-unsigned-files` (the outside file holds
//!   exactly the signed bytes, so reading it would make the verdict pass);
//! - `--allow-symlinks` on the command line never silently weakens what the signature recorded:
//!   following links is said in the `model` check, and a link's target is still hashed;
//! - two verifications in one process (as the Python package will run them) never share ignore
//!   lists, neither the caller's options nor a signature's recorded `ignore_paths`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::Work;
use provenance::formats::statement::{Resource, Statement};
use provenance::trust::{CommandLineTrust, TrustPolicy, TrustedSigner};
use provenance::verify::Verifier;
use serde_json::Value;
use sha2::Digest;

fn sha(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

/// Re-signs `sig` with `k.pem` after `edit` changed its statement (a trusted signer's own,
/// well-formed but hostile statement).
fn resign(w: &Work, sig: &str, edit: impl Fn(&mut Statement)) {
    use base64::Engine as _;
    let b: Value = serde_json::from_slice(&std::fs::read(w.path(sig)).unwrap()).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let mut st = Statement::parse(&payload).unwrap();
    edit(&mut st);
    st.root_digest = provenance::formats::statement::root_digest(&st.resources);
    let key = provenance::keys::load_private_key(&w.path("k.pem"), None).unwrap();
    let signer = provenance::sign::KeySigner::new(key).unwrap();
    let bundle = provenance::sign::sign_statement(&st, &signer).unwrap();
    std::fs::write(w.path(sig), serde_json::to_vec(&bundle).unwrap()).unwrap();
}

#[test]
fn signed_names_outside_the_model_read_nothing_outside_it() {
    let w = Work::new();
    w.keygen("k");
    w.write("m/config.json", b"{}");
    w.write("secret.txt", b"outside the model");
    let outside = w.path("secret.txt");
    let names = [
        "../secret.txt".to_owned(),
        outside.to_str().unwrap().to_owned(),
        "config.json/../../secret.txt".to_owned(),
        "a\u{0}b".to_owned(),
    ];
    for name in &names {
        w.expect(
            0,
            &[
                "sign",
                "--model",
                "m",
                "--private-key",
                "k.pem",
                "--signature",
                "s.sig",
            ],
        );
        resign(&w, "s.sig", |st| {
            st.resources.push(Resource {
                name: name.clone(),
                algorithm: "sha256".into(),
                digest: sha(b"outside the model"),
            });
            st.resources.sort_by(|a, b| a.name.cmp(&b.name));
        });
        for extra in [&[][..], &["--ignore-unsigned-files"][..]] {
            let mut args = vec![
                "verify",
                "--model",
                "m",
                "--signature",
                "s.sig",
                "--public-key",
                "k.pub",
            ];
            args.extend_from_slice(extra);
            let out = w.run(&args);
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                matches!(out.status.code(), Some(1) | Some(2)),
                "{name:?} {extra:?} was accepted:\n{text}"
            );
        }
    }
}

#[test]
fn allow_symlinks_on_the_command_line_is_said_and_still_hashes_the_target() {
    let w = Work::new();
    w.keygen("k");
    w.write("m/weights.bin", &common::bytes(10_000, 3));
    w.write("m/config.json", b"{}");
    w.expect(0, &["sign", "--model", "m", "--private-key", "k.pem"]);
    // The signature recorded allow_symlinks: false. Swap a file for a link to a copy outside.
    std::fs::rename(w.path("m/weights.bin"), w.path("copy.bin")).unwrap();
    std::os::unix::fs::symlink(w.path("copy.bin"), w.path("m/weights.bin")).unwrap();
    // Without the flag the link is refused (an input error naming the link and the flag).
    let out = w.expect(2, &["verify", "--model", "m", "--public-key", "k.pub"]);
    assert!(out.contains("m/weights.bin is a symbolic link"), "{out}");
    // With --allow-symlinks the link is followed, and the report says it was the flag, not
    // the signature, that allowed it.
    let out = w.expect(
        0,
        &[
            "verify",
            "--model",
            "m",
            "--public-key",
            "k.pub",
            "--allow-symlinks",
            "-o",
            "json",
        ],
    );
    assert!(out.contains("followed (--allow-symlinks)"), "{out}");
    // The target's bytes are what is checked: a changed target fails.
    common::flip_byte(&w.path("copy.bin"), 10);
    w.expect(
        1,
        &[
            "verify",
            "--model",
            "m",
            "--public-key",
            "k.pub",
            "--allow-symlinks",
        ],
    );
}

#[test]
fn ignore_lists_never_leak_between_two_verifications_in_one_process() {
    let w = Work::new();
    w.keygen("k");
    // Model a is signed ignoring notes.txt; model b signs every file.
    w.write("a/config.json", b"{}");
    w.write("a/notes.txt", b"a's notes");
    w.write("b/config.json", b"{}");
    w.write("b/notes.txt", b"b's notes");
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "a",
            "--private-key",
            "k.pem",
            "--ignore-paths",
            "notes.txt",
        ],
    );
    w.expect(0, &["sign", "--model", "b", "--private-key", "k.pem"]);
    let key = provenance::keys::load_public_key(&w.path("k.pub")).unwrap();
    let policy = TrustPolicy::from_command_line(CommandLineTrust {
        signers: vec![TrustedSigner::Key(key)],
    });
    let evaluator = Verifier::new(policy, None).unwrap();
    let mut ignoring = provenance::verify::FileOptions::default();
    ignoring.model.ignore_paths = vec!["config.json".into()];
    let verify = |model: &str, options: &provenance::verify::FileOptions| {
        provenance::verify::files(
            &evaluator,
            &w.path(model),
            &w.path(&format!("{model}.sig")),
            options,
            &|_| {},
        )
        .unwrap()
        .verified
    };
    let plain = provenance::verify::FileOptions::default();
    // a verifies (its signature ignores notes.txt); b, tampered in notes.txt, must fail after
    // it: a's recorded ignore list is a's alone.
    assert!(verify("a", &plain));
    std::fs::write(w.path("b/notes.txt"), b"tampered").unwrap();
    assert!(!verify("b", &plain), "a's ignore_paths leaked into b");
    // A caller's ignore list applies to its own call only.
    std::fs::write(w.path("b/notes.txt"), b"b's notes").unwrap();
    std::fs::write(w.path("b/config.json"), b"{\"tampered\":1}").unwrap();
    assert!(
        !verify("b", &ignoring),
        "ignoring a signed file must not pass"
    );
    assert!(!verify("b", &plain));
    std::fs::write(w.path("b/config.json"), b"{}").unwrap();
    assert!(verify("b", &plain));
}

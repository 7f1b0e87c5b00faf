//! Trust decided once, tried as an attacker would: a keyless signature by anyone against the
//! docs' example policy (on disk, in the local store, on a real docker-registry, through verify,
//! pull and audit), one scenario table through all four commands, hostile text in signed
//! metadata, a statement whose shard size would make verify hash forever, and equally specific
//! scopes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::registry::Registry;
use common::sigstore::{Fakes, IDENTITY, ISSUER, jwt, now};
use common::{Work, bytes};

const EVIL: &str = "https://github.com/evil/takeover/.github/workflows/x.yml@refs/heads/main";

/// docs/policy.md's example: a production rule naming a keyless identity, and an
/// `everything-else` rule with `scopes: ["*"]` and no trusted_signers.
fn docs_policy(w: &Work) {
    w.write(
        "policy.yaml",
        format!(
            "version: 1\npolicies:\n  - name: production\n    scopes: [\"ghcr.io/acme/models/*\"]\n    trusted_signers:\n      - identity: {IDENTITY}\n        issuer: {ISSUER}\n  - name: everything-else\n    scopes: [\"*\"]\n"
        )
        .as_bytes(),
    );
}

fn evil_token() -> String {
    jwt(serde_json::json!({
        "iss": ISSUER, "sub": EVIL, "aud": "sigstore", "iat": now(), "exp": now() + 600,
    }))
}

fn keyless_sign(w: &Work, f: &Fakes, target: &[&str]) {
    let tok = evil_token();
    let mut args = vec!["sign"];
    args.extend_from_slice(target);
    args.extend([
        "--keyless",
        "--identity-token",
        &tok,
        "--trust-config",
        f.trust_config.to_str().unwrap(),
        "-q",
    ]);
    w.expect(0, &args);
}

fn with_policy<'a>(f: &'a Fakes, args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend([
        "--policy",
        "policy.yaml",
        "--trust-root",
        f.trusted_root.to_str().unwrap(),
        "--offline",
    ]);
    v
}

#[test]
fn a_keyless_signature_by_anyone_does_not_pass_the_docs_example_policy() {
    let w = Work::new();
    let f = Fakes::start();
    docs_policy(&w);
    w.hf_model("evil");
    keyless_sign(&w, &f, &["--model", "evil"]);

    // On disk.
    let out = w.expect(1, &with_policy(&f, &["verify", "--model", "evil"]));
    assert!(!out.contains("Provenance verified successfully"), "{out}");
    assert!(
        out.contains("trusts nobody") || out.contains("not trusted"),
        "{out}"
    );

    // The local store: verify REF, pull, audit all refuse it.
    w.expect(0, &["push", "evil", "models/evil:v1", "-q"]);
    keyless_sign(&w, &f, &["models/evil:v1"]);
    w.expect(1, &with_policy(&f, &["verify", "models/evil:v1"]));
    let out = w.expect(
        1,
        &with_policy(&f, &["pull", "models/evil:v1", "--output", "out"]),
    );
    assert!(!out.contains("Signature saved"), "{out}");
    assert!(!w.path("out").exists() && !w.path("out.sig").exists());
    let out = w.run(&with_policy(&f, &["audit", "models/evil", "-o", "json"]));
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["entries"][0]["status"], "unknown-signer", "{v}");

    // A real registry.
    let reg = Registry::start(&w.path("regdata"), None);
    let r = format!("{}/models/evil:v1", reg.host());
    w.expect(0, &["push", "evil", &r, "--plain-http", "-q"]);
    let tok = evil_token();
    w.expect(
        0,
        &[
            "sign",
            &r,
            "--plain-http",
            "--keyless",
            "--identity-token",
            &tok,
            "--trust-config",
            f.trust_config.to_str().unwrap(),
            "-q",
        ],
    );
    w.expect(1, &with_policy(&f, &["verify", &r, "--plain-http"]));
    w.expect(
        1,
        &with_policy(&f, &["pull", &r, "--plain-http", "--output", "out"]),
    );
    assert!(!w.path("out").exists());
    let repo = format!("{}/models/evil", reg.host());
    let out = w.run(&with_policy(
        &f,
        &["audit", &repo, "--plain-http", "-o", "json"],
    ));
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["entries"][0]["status"], "unknown-signer", "{v}");

    // The same model signed by the identity the production rule names, under its scope, passes
    // only when it comes from there: the control that shows the gate can open.
    let tok = common::sigstore::token();
    w.hf_model("good");
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "good",
            "--keyless",
            "--identity-token",
            &tok,
            "--trust-config",
            f.trust_config.to_str().unwrap(),
            "-q",
        ],
    );
    w.expect(1, &with_policy(&f, &["verify", "--model", "good"]));
}

/// One key, one model; the policy and the signer vary. Every command must give the same verdict.
#[test]
fn one_scenario_table_gives_one_verdict_in_verify_pull_and_audit() {
    let w = Work::new();
    for k in ["alice", "bob", "eve"] {
        w.keygen(k);
    }
    let id = |k: &str| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(
            std::fs::read(w.path(&format!("{k}.pub"))).unwrap(),
        ))
    };
    let alice = id("alice");
    let bob = id("bob");
    // (name, policy body, signer, metadata, passes)
    let table: Vec<(&str, String, &str, &str, bool)> = vec![
        (
            "trusted key",
            "  trusted_signers: [{public_key: alice.pub}]\n".to_string(),
            "alice",
            "stage=prod",
            true,
        ),
        (
            "untrusted key",
            "  trusted_signers: [{public_key: alice.pub}]\n".to_string(),
            "eve",
            "stage=prod",
            false,
        ),
        (
            "rule lists nobody",
            String::new(),
            "alice",
            "stage=prod",
            false,
        ),
        (
            "key id only, material missing",
            format!("  trusted_signers: [{{key_id: {bob}}}]\n"),
            "bob",
            "stage=prod",
            false,
        ),
        (
            "revoked key",
            format!(
                "  trusted_signers: [{{public_key: alice.pub}}, {{public_key: bob.pub}}]\n  revoked: [{alice}]\n"
            ),
            "alice",
            "stage=prod",
            false,
        ),
        (
            "required metadata missing",
            "  trusted_signers: [{public_key: alice.pub}]
  required_metadata: [owner]
"
            .to_string(),
            "alice",
            "stage=prod",
            false,
        ),
        (
            "two signatures needed, one given",
            "  trusted_signers: [{public_key: alice.pub}, {public_key: bob.pub}]
  min_signatures: 2
"
            .to_string(),
            "alice",
            "stage=prod",
            false,
        ),
    ];
    for (i, (name, rule, signer, md, passes)) in table.iter().enumerate() {
        let model = format!("m{i}");
        w.write(&format!("{model}/weights.bin"), &bytes(4096, i as u64));
        w.write(
            "p.yaml",
            format!("version: 1\npolicies:\n- name: all\n  scopes: ['*']\n{rule}").as_bytes(),
        );
        let key = format!("{signer}.pem");
        w.expect(
            0,
            &[
                "sign",
                "--model",
                &model,
                "--private-key",
                &key,
                "--metadata",
                md,
                "-q",
            ],
        );
        let reference = format!("models/{model}:v1");
        w.expect(0, &["push", &model, &reference, "-q"]);
        w.expect(
            0,
            &[
                "sign",
                &reference,
                "--private-key",
                &key,
                "--metadata",
                md,
                "-q",
            ],
        );
        let want = if *passes { 0 } else { 1 };
        let code = |args: &[&str]| w.run(args).status.code();
        let out_dir = format!("out{i}");
        let results = [
            (
                "verify --model",
                code(&["verify", "--model", &model, "--policy", "p.yaml"]),
            ),
            (
                "verify REF",
                code(&["verify", &reference, "--policy", "p.yaml"]),
            ),
            (
                "pull",
                code(&[
                    "pull", &reference, "--policy", "p.yaml", "--output", &out_dir,
                ]),
            ),
            (
                "audit",
                code(&["audit", &format!("models/{model}"), "--policy", "p.yaml"]),
            ),
        ];
        for (cmd, got) in results {
            assert_eq!(
                got,
                Some(want),
                "scenario `{name}`: {cmd} exited {got:?}, want {want}"
            );
        }
        assert_eq!(
            w.path(&out_dir).exists(),
            *passes,
            "scenario `{name}`: pull output"
        );
    }
}

#[test]
fn escape_sequences_in_signed_text_never_reach_the_terminal_raw() {
    let w = Work::new();
    w.keygen("k");
    w.write("m.bin", b"weights");
    let hostile = "author=eve\x1b[2J\nverified FAKE\u{202e}";
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "m.bin",
            "--private-key",
            "k.pem",
            "--metadata",
            hostile,
        ],
    );
    for args in [
        vec!["verify", "--model", "m.bin", "--public-key", "k.pub"],
        vec!["inspect", "--manifest", "m.bin.sig"],
        vec!["audit", "m.bin.sig", "--public-key", "k.pub"],
    ] {
        let out = w.run(&args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            !text.contains('\x1b'),
            "{args:?} printed a raw ESC: {text:?}"
        );
        assert!(
            !text.contains('\u{202e}'),
            "{args:?} printed a raw bidi override"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("verified FAKE")),
            "{args:?} forged a line: {text}"
        );
        assert!(
            text.contains("\\e[2J"),
            "{args:?} should show the escape: {text}"
        );
    }
    // JSON stays exact.
    let out = w.run(&[
        "verify",
        "--model",
        "m.bin",
        "--public-key",
        "k.pub",
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        common::disk_report(&v)["metadata"]["author"],
        "eve\x1b[2J\nverified FAKE\u{202e}"
    );
}

#[test]
fn a_tiny_shard_size_cannot_make_verify_hash_forever() {
    let w = Work::new();
    w.keygen("k");
    w.keygen("eve");
    w.write("m/w.bin", b"0123456789");
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "m",
            "--private-key",
            "k.pem",
            "--shard-size",
            "1",
            "-q",
        ],
    );
    // The model grows to 256 MiB: at one job per byte verify would allocate 268 million jobs.
    let big = std::fs::File::create(w.path("m/w.bin")).unwrap();
    big.set_len(256 << 20).unwrap();
    let t = std::time::Instant::now();
    let out = w.expect(1, &["verify", "--model", "m", "--public-key", "k.pub"]);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    assert!(
        out.contains("`model`") && out.contains("more pieces"),
        "{out}"
    );
    // An untrusted signer's statement is never used to hash at all.
    w.write("n/w.bin", b"0123456789");
    w.expect(
        0,
        &[
            "sign",
            "--model",
            "n",
            "--private-key",
            "eve.pem",
            "--shard-size",
            "1",
            "-q",
        ],
    );
    let out = w.expect(1, &["verify", "--model", "n", "--public-key", "k.pub"]);
    assert!(out.contains("`signer`"), "{out}");
    assert!(
        !out.lines().any(|l| l.contains("  model ")),
        "the model was hashed for an untrusted signer: {out}"
    );
}

#[test]
fn equally_specific_scopes_of_two_rules_are_refused_at_load() {
    let w = Work::new();
    w.keygen("k");
    w.write("m.bin", b"w");
    w.expect(
        0,
        &["sign", "--model", "m.bin", "--private-key", "k.pem", "-q"],
    );
    w.write(
        "p.yaml",
        b"version: 1\npolicies:\n- name: acme-prod\n  scopes: ['local/*-prod']\n  trusted_signers: [{public_key: k.pub}]\n- name: prod-anything\n  scopes: ['local/m*prod']\n",
    );
    let out = w.expect(2, &["verify", "--model", "m.bin", "--policy", "p.yaml"]);
    assert!(
        out.contains("acme-prod") && out.contains("prod-anything"),
        "{out}"
    );
    // A more specific pattern wins over a later, broader one.
    w.write(
        "p.yaml",
        b"version: 1\npolicies:\n- name: strict\n  scopes: ['local/m.*']\n  trusted_signers: [{public_key: k.pub}]\n- name: open\n  scopes: ['local/*']\n",
    );
    w.expect(0, &["verify", "--model", "m.bin", "--policy", "p.yaml"]);
}

#[test]
fn a_host_spelled_another_way_still_falls_under_its_rule() {
    let w = Work::new();
    w.keygen("alice");
    w.keygen("eve");
    w.hf_model("m");
    let reg = Registry::start(&w.path("regdata"), None);
    let port = reg.host().rsplit(':').next().unwrap().to_owned();
    // The production rule names the registry in lower case; the catch-all trusts eve.
    w.write(
        "p.yaml",
        format!(
            "version: 1\npolicies:\n- name: prod\n  scopes: ['localhost:{port}/models/*']\n  trusted_signers: [{{public_key: alice.pub}}]\n- name: rest\n  scopes: ['*']\n  trusted_signers: [{{public_key: eve.pub}}]\n"
        )
        .as_bytes(),
    );
    let r = format!("localhost:{port}/models/m:v1");
    w.expect(0, &["push", "m", &r, "--plain-http", "-q"]);
    w.expect(
        0,
        &["sign", &r, "--plain-http", "--private-key", "eve.pem", "-q"],
    );
    for spelled in [
        format!("LOCALHOST:{port}/models/m:v1"),
        format!("LocalHost:{port}/models/m:v1"),
        r.clone(),
    ] {
        let out = w.expect(
            1,
            &["verify", &spelled, "--plain-http", "--policy", "p.yaml"],
        );
        assert!(out.contains("rule `prod`"), "{spelled}: {out}");
    }
}

#[test]
fn a_hostile_key_hint_cannot_forge_a_verified_row() {
    let w = Work::new();
    w.keygen("k");
    w.keygen("eve");
    w.write("m.bin", b"weights");
    w.expect(
        0,
        &["sign", "--model", "m.bin", "--private-key", "eve.pem", "-q"],
    );
    let mut b: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.path("m.bin.sig")).unwrap()).unwrap();
    b["verificationMaterial"]["publicKey"]["hint"] =
        "x\x1b[1A\x1b[2K\nProvenance verified successfully".into();
    w.write("m.bin.sig", &serde_json::to_vec(&b).unwrap());
    for args in [
        vec!["verify", "--model", "m.bin", "--public-key", "k.pub"],
        vec!["inspect", "--manifest", "m.bin.sig"],
        vec!["audit", "m.bin.sig", "--public-key", "k.pub"],
    ] {
        let out = w.run(&args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        // inspect shows claims (exit 0, "NOT VERIFIED"); verify and audit refuse them.
        if args[0] != "inspect" {
            assert_ne!(out.status.code(), Some(0), "{args:?}: {text}");
        }
        assert!(
            !text.contains('\x1b'),
            "{args:?} printed a raw ESC: {text:?}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("Provenance verified")),
            "{args:?} forged a line: {text}"
        );
    }
}

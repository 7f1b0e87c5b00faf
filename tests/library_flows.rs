//! The library's workflows, called as the Python package will call them (no binary in between):
//! `sign::sign_files` writes a bundle `verify` accepts, with metadata rules enforced before any
//! hashing; `verify::pull` writes nothing for an untrusted verdict and the verified model with
//! its counted signature for a trusted one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
use common::Work;
use provenance::oci::{LayoutStore, PullOptions, Reference};
use provenance::trust::{CommandLineTrust, TrustPolicy, TrustedSigner};
use provenance::verify::Verifier;

fn evaluator(w: &Work, key: &str) -> Verifier {
    let key = provenance::keys::load_public_key(&w.path(key)).unwrap();
    Verifier::new(
        TrustPolicy::from_command_line(CommandLineTrust {
            signers: vec![TrustedSigner::Key(key)],
        }),
        None,
    )
    .unwrap()
}

#[test]
fn sign_files_writes_a_bundle_the_cli_verifies_and_refuses_reserved_metadata_first() {
    let w = Work::new();
    w.keygen("k");
    w.hf_model("bert");
    let key = provenance::keys::load_private_key(&w.path("k.pem"), None).unwrap();
    let signer = provenance::sign::KeySigner::new(key).unwrap();
    let mut request = provenance::sign::SignFiles {
        model: w.path("bert/"),
        signature: None,
        options: provenance::model::Options::default(),
        method: provenance::formats::statement::SerializationMethod::Files,
        metadata: provenance::formats::statement::parse_metadata(&["author=alice"]).unwrap(),
    };
    let signed = provenance::sign::sign_files(&request, &signer, &|_| {}).unwrap();
    assert_eq!(signed.signature, w.path("bert.sig"));
    w.expect(0, &["verify", "--model", "bert", "--public-key", "k.pub"]);
    request
        .metadata
        .insert("dev.provenance.oci.repository".into(), "x".into());
    request.signature = Some(w.path("other.sig"));
    let hashed = std::sync::atomic::AtomicU64::new(0);
    let err = provenance::sign::sign_files(&request, &signer, &|n| {
        hashed.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap_err();
    assert_eq!(err.class(), provenance::Class::Input);
    assert_eq!(hashed.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert!(!w.path("other.sig").exists());
}

#[test]
fn library_pull_writes_nothing_unless_the_verdict_is_trusted() {
    let w = Work::new();
    w.keygen("k");
    w.keygen("other");
    w.hf_model("bert");
    w.expect(0, &["push", "bert", "models/bert:v1"]);
    w.expect(0, &["sign", "models/bert:v1", "--private-key", "k.pem"]);
    let store = LayoutStore::open(w.path(".provenance-home/store")).unwrap();
    let reference = Reference::parse("models/bert:v1").unwrap();
    let out = w.path("out");
    let request = provenance::verify::PullRequest {
        output: &out,
        signature: None,
        options: PullOptions::default(),
    };
    let refused =
        provenance::verify::pull(&evaluator(&w, "other.pub"), &store, &reference, &request)
            .unwrap();
    assert!(!refused.verification.verified);
    assert!(refused.written.is_none());
    assert!(!out.exists() && !w.path("out.sig").exists());
    let pulled =
        provenance::verify::pull(&evaluator(&w, "k.pub"), &store, &reference, &request).unwrap();
    let written = pulled.written.unwrap();
    assert_eq!(written.files, 5);
    assert_eq!(
        written.signature.as_deref(),
        Some(w.path("out.sig").as_path())
    );
    assert_eq!(
        std::fs::read(w.path("out/config.json")).unwrap(),
        std::fs::read(w.path("bert/config.json")).unwrap()
    );
}

#[test]
fn a_verifier_trusting_keyless_signers_without_a_trusted_root_is_refused_at_construction() {
    let policy = TrustPolicy::from_command_line(CommandLineTrust {
        signers: vec![TrustedSigner::Keyless {
            identity: provenance::trust::identity::IdentityMatcher::Exact("a@b.example".into()),
            issuer: "https://issuer.example".into(),
        }],
    });
    assert!(matches!(
        Verifier::new(policy, None),
        Err(provenance::verify::verifier::ConfigError::MissingSigstoreRoot(_))
    ));
}

//! Audit throughput: 1,000 generated signatures (three signers, one revoked, one unknown) in one
//! folder, read, verified and cross-checked into a report. Models are not beside the signatures,
//! so this measures the bundle and report path, not hashing (which `hashing` benches cover).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use provenance::audit::{self, AuditConfig, AuditSource, Revocation};
use provenance::formats::statement::{Resource, Serialization, SerializationMethod, Statement};
use provenance::keys::PrivateKey;
use provenance::sign::{KeySigner, sign_statement};
use provenance::trust::{CommandLineTrust, TrustPolicy, TrustedSigner};
use provenance::verify::Verifier;

const MANIFESTS: usize = 1_000;

fn setup() -> (tempfile::TempDir, AuditConfig) {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<PrivateKey> = (0..4).map(|_| PrivateKey::generate().unwrap()).collect();
    let signers: Vec<KeySigner> = keys
        .iter()
        .map(|k| KeySigner::new(PrivateKey::from_signing_key(k.signing_key().clone())).unwrap())
        .collect();
    for i in 0..MANIFESTS {
        let resources = (0..8)
            .map(|f| Resource {
                name: format!("model-{f:05}.safetensors"),
                algorithm: "sha256".into(),
                digest: hex::encode(provenance::hashing::sha256(format!("{i}/{f}").as_bytes())),
            })
            .collect();
        let metadata: BTreeMap<String, String> = [
            ("author".to_string(), format!("team-{}", i % 7)),
            ("training_data".to_string(), format!("corpus-{}", i % 13)),
            (
                "training_data_hash".to_string(),
                format!("sha256:{}", i % 17),
            ),
            ("base_model".to_string(), format!("model-{}", i / 10)),
        ]
        .into();
        let st = Statement::new(
            format!("model-{i}"),
            resources,
            Serialization {
                method: SerializationMethod::Files,
                hash_type: "sha256".into(),
                allow_symlinks: false,
                ignore_paths: vec![".git".into()],
            },
            metadata,
        );
        let bundle = sign_statement(&st, &signers[i % signers.len()]).unwrap();
        bundle
            .write(&dir.path().join(format!("model-{i}.json")))
            .unwrap();
    }
    let policy = TrustPolicy::from_command_line(CommandLineTrust {
        signers: keys[..2]
            .iter()
            .map(|k| TrustedSigner::Key(k.public_key().unwrap()))
            .collect(),
    });
    let cfg =
        AuditConfig::new(Verifier::new(policy, None).unwrap()).with_revocations(vec![Revocation {
            key_id: keys[2].public_key().unwrap().id().to_owned(),
            key: Some(keys[2].public_key().unwrap()),
            revoked_at: None,
            source: "bench".into(),
        }]);
    (dir, cfg)
}

fn bench(c: &mut Criterion) {
    let (dir, cfg) = setup();
    let sources = [AuditSource::Folder(dir.path().to_owned())];
    let mut group = c.benchmark_group("audit");
    group.sample_size(10);
    group.bench_function("1000 manifests", |b| {
        b.iter(|| {
            let report = audit::audit(black_box(&sources), &cfg).unwrap();
            assert_eq!(report.summary.total, MANIFESTS);
            black_box(report)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

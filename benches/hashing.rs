//! Hashing throughput against a reference measured in the same run.
//!
//! - `hash_file/256MiB`: `provenance::hashing` streaming a ~256 MiB temp file (page cache warm)
//!   against `sha2::Sha256` over the same bytes already in memory: the ratio is the cost of the
//!   read loop on top of SHA-256 itself. `hash_file` reads ahead on a second thread when there is
//!   one; `hash_job` is the one-thread loop each job of a many-file model runs.
//! - `list_and_hash/2000_small_files`: `model::list` + `model::resources` over 2,000 small files,
//!   the per-file overhead path.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use provenance::formats::statement::SerializationMethod;
use provenance::hashing;
use provenance::model::{self, Options};
use sha2::{Digest, Sha256};

const BIG: usize = 256 << 20;
const SMALL_FILES: usize = 2_000;

/// Deterministic incompressible-looking bytes (xorshift), cheap to make.
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn big_file(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.bin");
    let data = pseudo_random(BIG);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&data)
        .unwrap();
    // Warm the page cache; both sides then hash from memory.
    assert_eq!(hashing::hash_file(&path).unwrap(), hashing::sha256(&data));

    let mut g = c.benchmark_group("hash_file");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(BIG as u64));
    g.bench_function("reference: sha2 in memory", |b| {
        b.iter(|| black_box(Sha256::digest(black_box(&data))))
    });
    g.bench_function("provenance::hashing::hash_file", |b| {
        b.iter(|| black_box(hashing::hash_file(black_box(&path)).unwrap()))
    });
    let job = hashing::Job {
        path: path.clone(),
        start: 0,
        end: BIG as u64,
        file_size: BIG as u64,
    };
    g.bench_function("provenance::hashing::hash_job (one thread)", |b| {
        b.iter(|| black_box(hashing::hash_job(black_box(&job), &|_| {}).unwrap()))
    });
    g.finish();
}

fn small_files(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("model");
    let data = pseudo_random(4096);
    for i in 0..SMALL_FILES {
        let sub = root.join(format!("part{}", i % 10));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("f{i:05}")), &data).unwrap();
    }
    let opts = Options::default();

    let mut g = c.benchmark_group("list_and_hash");
    g.sample_size(10);
    g.throughput(Throughput::Elements(SMALL_FILES as u64));
    g.bench_function("model::list", |b| {
        b.iter(|| black_box(model::list(black_box(&root), &opts).unwrap()))
    });
    g.bench_function("model::list + resources (files)", |b| {
        b.iter(|| {
            let listing = model::list(&root, &opts).unwrap();
            black_box(model::resources(&listing, &SerializationMethod::Files, &|_| {}).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, big_file, small_files);
criterion_main!(benches);

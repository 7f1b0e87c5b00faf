//! Concurrent signers on a registry without the referrers API (distribution 2.8: the tag-schema
//! fallback, no conditional PUT): every signer that exits 0 has its signature discoverable
//! afterwards, and none fails because the registry answered 500 to a concurrent index PUT.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
use common::Work;
use common::registry::Registry;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Spawns `provenance sign REF --private-key kN.pem` for each key at once.
fn spawn_signers(w: &Work, reference: &str, keys: &[String]) -> Vec<Child> {
    keys.iter()
        .map(|k| {
            Command::new(env!("CARGO_BIN_EXE_provenance"))
                .args(["sign", reference, "--private-key", &format!("{k}.pem")])
                .current_dir(w.dir.path())
                .env("PROVENANCE_HOME", w.path(".provenance-home"))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect()
}

/// Waits for every child, killing all past `limit`; (exit code, stderr) per child.
fn wait_all(children: Vec<Child>, limit: Duration) -> Vec<(Option<i32>, String)> {
    let start = Instant::now();
    children
        .into_iter()
        .map(|mut c| {
            loop {
                if let Some(st) = c.try_wait().unwrap() {
                    let mut err = String::new();
                    if let Some(mut e) = c.stderr.take() {
                        std::io::Read::read_to_string(&mut e, &mut err).unwrap();
                    }
                    return (st.code(), err);
                }
                if start.elapsed() > limit {
                    let _ = c.kill();
                    let _ = c.wait();
                    return (None, "killed: took too long".into());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
        .collect()
}

/// The digests listed in the `sha256-<hex>` tag-schema index of `subject`, read straight from
/// the registry.
fn index_entries(host: &str, repo: &str, subject: &str) -> Vec<String> {
    let tag = subject.replace(':', "-");
    let out = Command::new("curl")
        .args([
            "-s",
            "-H",
            "Accept: application/vnd.oci.image.index.v1+json",
            &format!("http://{host}/v2/{repo}/manifests/{tag}"),
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["digest"].as_str().unwrap().to_string())
        .collect()
}

fn concurrent_signers_all_succeed_and_stay_discoverable(n: usize) {
    let w = Work::new();
    let reg = Registry::start(&w.path("regdata"), None);
    w.hf_model("bert");
    let r = format!("{}/models/bert:v1", reg.host());
    let out = w.expect(0, &["push", "bert", &r, "-o", "json"]);
    let start = out.find('{').unwrap();
    let v: serde_json::Value = serde_json::from_str(&out[start..=out.rfind('}').unwrap()]).unwrap();
    let digest = v["digest"].as_str().unwrap().to_string();
    let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
    for k in &keys {
        w.keygen(k);
    }
    let results = wait_all(spawn_signers(&w, &r, &keys), Duration::from_secs(240));
    let failed: Vec<_> = results
        .iter()
        .zip(&keys)
        .filter(|((code, _), _)| *code != Some(0))
        .collect();
    assert!(failed.is_empty(), "signers failed: {failed:#?}");
    let entries = index_entries(&reg.host(), "models/bert", &digest);
    assert_eq!(
        entries.len(),
        n,
        "{n} signers exited 0 but the index lists {}: {entries:#?}",
        entries.len()
    );
    for k in &keys {
        w.expect(0, &["verify", &r, "--public-key", &format!("{k}.pub")]);
    }
}

/// 16 signers at once on one model: all exit 0, and all 16 signatures are in the index and verify.
#[test]
fn sixteen_concurrent_signers_all_exit_0_and_all_verify() {
    concurrent_signers_all_succeed_and_stay_discoverable(16);
}

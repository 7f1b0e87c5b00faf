//! `ls`, `rm`, `prune` on the local store, as an attacker and an unlucky user would try them:
//! a prune must never take a blob another model (or a push in flight) still needs, must stop
//! when the index names a manifest it cannot read, and must leave a layout skopeo still reads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
use common::Work;
use common::registry::which_or_fail;

fn store(w: &Work) -> std::path::PathBuf {
    w.path(".provenance-home/store")
}

fn blob_count(w: &Work) -> usize {
    std::fs::read_dir(store(w).join("blobs/sha256"))
        .unwrap()
        .count()
}

/// Two models that share every weight file; `a` signed, `b` signed too.
fn two_models() -> Work {
    let w = Work::new();
    w.keygen("k");
    w.hf_model("a");
    w.hf_model("b");
    w.write("b/config.json", br#"{"hidden_size":128}"#);
    for m in ["a", "b"] {
        w.expect(0, &["push", m, &format!("models/{m}:v1"), "-q"]);
        w.expect(
            0,
            &["sign", &format!("models/{m}:v1"), "--key", "k.pem", "-q"],
        );
    }
    w
}

#[test]
fn removing_one_model_and_pruning_keeps_every_blob_the_other_needs() {
    which_or_fail("skopeo");
    let w = two_models();
    let before = blob_count(&w);
    let ls = w.run_json(0, &["ls", "--format", "json"]);
    assert_eq!(ls["models"].as_array().unwrap().len(), 2, "{ls}");
    assert!(
        ls["models"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["referrers"] == 1)
    );

    let rm = w.run_json(0, &["rm", "models/a:v1", "--format", "json"]);
    assert_eq!(rm["removed"][0]["manifest_removed"], true);
    assert_eq!(rm["removed"][0]["referrers_removed"], 1);
    // rm alone deletes no blob.
    assert_eq!(blob_count(&w), before);
    let pr = w.run_json(0, &["prune", "--now", "--format", "json"]);
    // a's manifest, config, own config.json layer, signature manifest, bundle and its
    // tag-schema index go; the shared shards, tokenizer and notes stay for b.
    assert_eq!(pr["blobs"], 6, "{pr}");
    assert_eq!(blob_count(&w), before - 6);

    w.expect(0, &["verify", "models/b:v1", "--key", "k.pub"]);
    w.expect(
        0,
        &["pull", "models/b:v1", "--key", "k.pub", "-o", "pulled"],
    );
    assert_eq!(
        std::fs::read(w.path("pulled/model-00001-of-00002.safetensors")).unwrap(),
        std::fs::read(w.path("b/model-00001-of-00002.safetensors")).unwrap()
    );
    // The pruned layout is still an OCI layout another tool reads.
    let out = std::process::Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci:{}:models/b:v1", store(&w).display()))
        .arg(format!("oci:{}:b", w.path("copy").display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo could not read the pruned store: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a is gone: an unknown tag (exit 2), not a tampered model.
    w.expect(2, &["verify", "models/a:v1", "--key", "k.pub"]);
}

#[test]
fn a_tag_goes_alone_while_another_tag_names_the_model() {
    let w = two_models();
    w.expect(0, &["push", "a", "models/a:stable", "-q"]);
    let rm = w.run_json(0, &["rm", "models/a:v1", "--format", "json"]);
    assert_eq!(rm["removed"][0]["manifest_removed"], false);
    assert_eq!(rm["removed"][0]["tags"], serde_json::json!(["v1"]));
    w.expect(0, &["prune", "--now", "-q"]);
    // The signature made through v1 binds the digest, which stable still names.
    w.expect(0, &["verify", "models/a:stable", "--key", "k.pub"]);
    // By digest: the model and all its tags go.
    let ls = w.run_json(0, &["ls", "--format", "json"]);
    let a = ls["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["repository"] == "models/a")
        .unwrap()
        .clone();
    let digest = a["digest"].as_str().unwrap();
    let rm = w.run_json(
        0,
        &["rm", &format!("models/a@{digest}"), "--format", "json"],
    );
    assert_eq!(rm["removed"][0]["tags"], serde_json::json!(["stable"]));
    w.expect(2, &["verify", "models/a:stable", "--key", "k.pub"]);
}

#[test]
fn prune_keeps_blobs_a_push_in_flight_just_wrote() {
    let w = two_models();
    // A push writes blobs first and the index entry last: a fresh blob with no entry is what a
    // concurrent prune sees mid-push.
    let data = b"a layer a push is still uploading";
    let hex = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(data))
    };
    std::fs::write(store(&w).join("blobs/sha256").join(&hex), data).unwrap();
    let pr = w.run_json(0, &["prune", "--format", "json"]);
    assert_eq!(pr["blobs"], 0, "{pr}");
    assert_eq!(pr["kept_recent"], 1, "{pr}");
    assert!(store(&w).join("blobs/sha256").join(&hex).exists());
    let out = w.expect(0, &["prune"]);
    assert!(out.contains("--now"), "{out}");
    // Dry run with --now counts it and deletes nothing.
    let pr = w.run_json(0, &["prune", "--now", "--dry-run", "--format", "json"]);
    assert_eq!(pr["blobs"], 1);
    assert!(store(&w).join("blobs/sha256").join(&hex).exists());
    w.expect(0, &["prune", "--now", "-q"]);
    assert!(!store(&w).join("blobs/sha256").join(&hex).exists());
    w.expect(0, &["verify", "models/a:v1", "--key", "k.pub"]);
}

#[test]
fn prune_keeps_what_an_index_entry_without_our_annotations_names() {
    let w = two_models();
    // Another tool added an entry with no tag and no repository annotation: its manifest and
    // blobs are still referenced by the index, so prune must keep them.
    let ls = w.run_json(0, &["ls", "--format", "json"]);
    let b = ls["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["repository"] == "models/b")
        .unwrap()
        .clone();
    let digest = b["digest"].as_str().unwrap().to_owned();
    let index_path = store(&w).join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    let size = std::fs::metadata(
        store(&w)
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap()
    .len();
    index["manifests"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size,
        }));
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    w.expect(0, &["rm", "models/b:v1", "-q"]);
    w.expect(0, &["prune", "--now", "-q"]);
    // b's weights and config are still there: a pull by the foreign entry's digest would work.
    for f in [
        "config.json",
        "tokenizer.json",
        "model-00001-of-00002.safetensors",
    ] {
        let d = {
            use sha2::{Digest, Sha256};
            hex::encode(Sha256::digest(
                std::fs::read(w.path(&format!("b/{f}"))).unwrap(),
            ))
        };
        assert!(
            store(&w).join("blobs/sha256").join(&d).exists(),
            "{f} was pruned though an index entry names its manifest"
        );
    }
}

#[test]
fn prune_stops_before_deleting_anything_when_the_index_names_an_unreadable_manifest() {
    let w = two_models();
    w.expect(0, &["rm", "models/b:v1", "-q"]);
    let ls = w.run_json(0, &["ls", "--format", "json"]);
    let digest = ls["models"][0]["digest"].as_str().unwrap().to_owned();
    // a's manifest blob is replaced by other bytes: what it names is unknown now.
    let path = store(&w)
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    std::fs::write(&path, b"{\"not\":\"the manifest\"}").unwrap();
    let before = blob_count(&w);
    let out = w.expect(2, &["prune", "--now"]);
    assert!(
        out.contains("nothing was pruned") && out.contains("provenance rm"),
        "{out}"
    );
    assert_eq!(blob_count(&w), before, "a refused prune deleted blobs");
}

#[test]
fn rm_refuses_registry_references_and_unknown_tags() {
    let w = two_models();
    let out = w.expect(2, &["rm", "localhost:5000/models/a:v1"]);
    assert!(out.contains("local store only"), "{out}");
    let out = w.expect(2, &["rm", "models/a:v9"]);
    assert!(out.contains("v1"), "nearest tags listed: {out}");
    // Several references: each is checked before anything is removed.
    w.expect(2, &["rm", "models/a:v1", "ghcr.io/x/y:1"]);
    w.expect(0, &["verify", "models/a:v1", "--key", "k.pub"]);
}

#[test]
fn nothing_but_results_when_stderr_is_not_a_terminal() {
    // Progress bars are for terminals: a CI log (stderr piped) gets no bar, no escape codes.
    // 257 MiB: above the size from which hashing shows a bar on a terminal.
    let w = Work::new();
    w.keygen("k");
    w.write("big/weights.bin", &common::bytes(257 * 1024 * 1024, 3));
    for args in [
        vec!["sign", "big", "--key", "k.pem"],
        vec!["push", "big", "models/big:v1"],
        vec!["pull", "models/big:v1", "--key", "k.pub", "-o", "pulled"],
    ] {
        let out = w.run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        if args[0] == "pull" {
            // Unsigned in the store: refused, and the refusal is the only thing on stderr.
            assert_eq!(out.status.code(), Some(1), "{err}");
            assert!(err.starts_with("error: "), "{err}");
        } else {
            assert!(out.status.success(), "{err}");
            assert!(
                err.is_empty(),
                "{args:?} wrote to a non-terminal stderr: {err:?}"
            );
        }
        assert!(!err.contains('\u{1b}') && !err.contains('\r'), "{err:?}");
    }
}

//! `provenance copy`: a model carried with its signatures between two real docker-registry
//! instances, a referrers-API registry (the proxy) and the local store, digests unchanged, tag
//! last; the promotion gate writes nothing unless the source verifies; a lying source writes no
//! tag; other tools' referrers at the destination are kept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
use common::Work;
use common::referrers_proxy::Proxy;
use common::registry::Registry;

fn digest_of(w: &Work, r: &str) -> String {
    let v = w.run_json(0, &["inspect", r, "--format", "json"]);
    v["digest"].as_str().unwrap().to_owned()
}

fn signed_source() -> (Work, Registry, Registry) {
    let w = Work::new();
    w.keygen("k");
    w.keygen("other");
    w.hf_model("bert");
    let a = Registry::start(&w.path("reg-a"), None);
    let b = Registry::start(&w.path("reg-b"), None);
    let src = format!("{}/models/bert:v1", a.host());
    w.expect(0, &["push", "bert", &src, "--sign", "--key", "k.pem", "-q"]);
    (w, a, b)
}

#[test]
fn a_copy_between_registries_keeps_digest_and_signature_and_reruns_cheaply() {
    let (w, a, b) = signed_source();
    let src = format!("{}/models/bert:v1", a.host());
    let dst = format!("{}/prod/bert", b.host());
    let out = w.run_json(0, &["copy", &src, &dst, "--format", "json"]);
    assert_eq!(out["verified"], false, "{out}");
    assert_eq!(out["copied"]["referrers"], 1, "{out}");
    assert!(
        out["copied"]["blobs_copied"].as_u64().unwrap() >= 6,
        "{out}"
    );
    // The source's tag was used; the digest is the same bytes; the signature verifies there.
    let dst_tagged = format!("{dst}:v1");
    assert_eq!(digest_of(&w, &dst_tagged), digest_of(&w, &src));
    w.expect(0, &["verify", &dst_tagged, "--key", "k.pub"]);
    w.expect(0, &["pull", &dst_tagged, "--key", "k.pub", "-o", "pulled"]);
    // Unverified copies say so.
    let text = w.expect(0, &["copy", &src, &dst]);
    assert!(text.contains("unverified"), "{text}");
    // Re-running moves no model blob and does not duplicate the signature.
    let again = w.run_json(0, &["copy", &src, &dst, "--format", "json"]);
    assert_eq!(again["copied"]["blobs_copied"], 0, "{again}");
    let tree = w.run_json(0, &["tree", &dst_tagged, "--format", "json"]);
    assert_eq!(tree["signatures"].as_array().unwrap().len(), 1, "{tree}");
}

#[test]
fn the_promotion_gate_writes_nothing_unless_the_source_verifies() {
    let (w, a, b) = signed_source();
    let src = format!("{}/models/bert:v1", a.host());
    let dst = format!("{}/prod/bert:v1", b.host());
    let out = w.expect(1, &["copy", &src, &dst, "--key", "other.pub"]);
    assert!(out.contains("nothing was copied"), "{out}");
    // Nothing there: an unknown repository (exit 2), not a half-copied model.
    w.expect(2, &["verify", &dst, "--key", "k.pub"]);
    let ok = w.run_json(
        0,
        &["copy", &src, &dst, "--key", "k.pub", "--format", "json"],
    );
    assert_eq!(ok["verified"], true, "{ok}");
    assert_eq!(ok["verification"]["verified"], true, "{ok}");
    w.expect(0, &["verify", &dst, "--key", "k.pub"]);
}

#[test]
fn a_tampered_source_blob_fails_the_copy_and_no_tag_appears() {
    let (w, a, b) = signed_source();
    let src = format!("{}/models/bert:v1", a.host());
    let dst = format!("{}/prod/bert:v1", b.host());
    // The registry's storage rewritten under a layer: it now serves other bytes for that digest.
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(
            std::fs::read(w.path("bert/config.json")).unwrap(),
        ))
    };
    std::fs::write(
        a.blob_path(&format!("sha256:{digest}")),
        b"{\"hidden_size\":1}",
    )
    .unwrap();
    // With the gate the layers are not read (verification needs no blob), so the copy reads
    // them: the digest check refuses the lie, exit 1, and no tag is written at the destination.
    let out = w.expect(1, &["copy", &src, &dst, "--key", "k.pub"]);
    assert!(out.contains("digest") || out.contains("size"), "{out}");
    w.expect(2, &["verify", &dst, "--key", "k.pub"]);
    let out = w.expect(1, &["copy", &src, &dst]);
    assert!(out.contains("digest") || out.contains("size"), "{out}");
    w.expect(2, &["verify", &dst, "--key", "k.pub"]);
}

#[test]
fn a_copy_keeps_the_referrers_other_tools_left_at_the_destination() {
    let (w, a, b) = signed_source();
    let src = format!("{}/models/bert:v1", a.host());
    let dst = format!("{}/prod/bert:v1", b.host());
    // The same model pushed to B first and signed there by another signer.
    w.expect(0, &["push", "bert", &dst, "-q"]);
    assert_eq!(digest_of(&w, &dst), digest_of(&w, &src));
    w.expect(0, &["sign", &dst, "--key", "other.pem", "-q"]);
    w.expect(0, &["copy", &src, &dst]);
    let tree = w.run_json(0, &["tree", &dst, "--format", "json"]);
    assert_eq!(tree["signatures"].as_array().unwrap().len(), 2, "{tree}");
    w.expect(0, &["verify", &dst, "--key", "k.pub"]);
    w.expect(0, &["verify", &dst, "--key", "other.pub"]);
}

#[test]
fn local_store_to_a_referrers_api_registry_and_back() {
    which();
    let w = Work::new();
    w.keygen("k");
    w.hf_model("bert");
    w.expect(
        0,
        &[
            "push",
            "bert",
            "models/bert:v1",
            "--sign",
            "--key",
            "k.pem",
            "-q",
        ],
    );
    let reg = Registry::start(&w.path("reg"), None);
    let api = Proxy::start(reg.port, true);
    let remote = format!("{}/models/bert:v1", api.host());
    w.expect(0, &["copy", "models/bert:v1", &remote, "--key", "k.pub"]);
    let tree = w.run_json(0, &["tree", &remote, "--format", "json"]);
    assert_eq!(tree["signatures"].as_array().unwrap().len(), 1, "{tree}");
    // The signature went through the referrers API: no tag-schema tag was written.
    assert!(
        api.log().iter().any(|l| l.path.contains("/referrers/")),
        "the referrers API was not used"
    );
    assert!(
        !api.log()
            .iter()
            .any(|l| l.method == "PUT" && l.path.contains("/manifests/sha256-")),
        "a tag-schema index was written beside the API"
    );
    w.expect(0, &["rm", "models/bert:v1", "-q"]);
    w.expect(0, &["copy", &remote, "mirror/bert", "--key", "k.pub"]);
    w.expect(0, &["verify", "mirror/bert:v1", "--key", "k.pub"]);
    // skopeo reads the copy in the local store as an OCI layout.
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(format!(
            "oci:{}:mirror/bert:v1",
            w.path(".provenance-home/store").display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn which() {
    common::registry::which_or_fail("skopeo");
}

#[test]
fn a_destination_digest_must_be_the_source_digest() {
    let (w, a, b) = signed_source();
    let src = format!("{}/models/bert:v1", a.host());
    let wrong = format!("{}/prod/bert@sha256:{}", b.host(), "0".repeat(64));
    let out = w.expect(2, &["copy", &src, &wrong]);
    assert!(out.contains("keeps the digest"), "{out}");
}

/// `oci:DIR[:TAG]`: an image layout folder as skopeo and oras name one. A copy into it holds what
/// `verify` needs, so it verifies with the registry gone; skopeo reads it; a tampered layer or
/// bundle in it fails with exit 1 and nothing lands; a layout skopeo wrote is read too.
#[test]
fn an_oci_layout_folder_carries_the_model_and_its_signature_offline() {
    which();
    let (w, mut a, b) = signed_source();
    let src = format!("{}/models/bert:v1", a.host());
    let layout = w.path("carry");
    let lref = format!("oci:{}:v1", layout.display());
    w.expect(0, &["copy", &src, &lref, "--key", "k.pub"]);
    let digest = digest_of(&w, &src);
    // skopeo reads the folder: the model manifest under the tag.
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(format!("oci:{}:v1", layout.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        m["artifactType"],
        "application/vnd.cncf.model.manifest.v1+json"
    );
    // The registry is gone: verify and pull work from the folder alone.
    a.kill();
    w.expect(0, &["verify", &lref, "--key", "k.pub"]);
    w.expect(0, &["pull", &lref, "--key", "k.pub", "-o", "offline"]);
    assert_eq!(
        std::fs::read(w.path("offline/config.json")).unwrap(),
        std::fs::read(w.path("bert/config.json")).unwrap()
    );
    // And on to another registry, signature included.
    let back = format!("{}/prod/bert:v1", b.host());
    w.expect(0, &["copy", &lref, &back, "--key", "k.pub"]);
    w.expect(0, &["verify", &back, "--key", "k.pub"]);
    assert_eq!(digest_of(&w, &back), digest);

    // A layer rewritten in the folder: verify reads no layer, pull refuses and writes nothing.
    let layer = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(
            std::fs::read(w.path("bert/tokenizer.json")).unwrap(),
        ))
    };
    let blob = layout.join("blobs/sha256").join(&layer);
    let good = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, b"{\"vocab\":{\"evil\":0}}").unwrap();
    w.expect(1, &["pull", &lref, "--key", "k.pub", "-o", "tampered"]);
    assert!(!w.path("tampered").exists());
    std::fs::write(&blob, &good).unwrap();
    // The signature bundle rewritten: verify fails (exit 1).
    let tree = w.run_json(0, &["tree", &lref, "--format", "json"]);
    let referrer = tree["signatures"][0]["digest"].as_str().unwrap().to_owned();
    let rm: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            layout
                .join("blobs/sha256")
                .join(referrer.trim_start_matches("sha256:")),
        )
        .unwrap(),
    )
    .unwrap();
    let bundle = rm["layers"][0]["digest"].as_str().unwrap();
    let path = layout
        .join("blobs/sha256")
        .join(bundle.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    w.expect(1, &["verify", &lref, "--key", "k.pub"]);
}

#[test]
fn a_layout_skopeo_wrote_is_read_and_unsigned_is_exit_1() {
    which();
    let (w, a, _b) = signed_source();
    let src = format!("{}/models/bert:v1", a.host());
    let dir = w.path("by-skopeo");
    let out = std::process::Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", "--preserve-digests"])
        .arg(format!("docker://{src}"))
        .arg(format!("oci:{}:v1", dir.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lref = format!("oci:{}:v1", dir.display());
    assert_eq!(digest_of(&w, &lref), digest_of(&w, &src));
    // skopeo carried no signature: not trusted, and said so.
    let out = w.expect(1, &["verify", &lref, "--key", "k.pub"]);
    assert!(out.contains("referrers"), "{out}");
    // provenance copy adds it from the registry into the same folder.
    w.expect(0, &["copy", &src, &lref, "--key", "k.pub"]);
    w.expect(0, &["verify", &lref, "--key", "k.pub"]);
}

/// `skopeo copy --all` of the `sha256-<hex>` tag-schema index rewrites it without
/// `artifactType` (the index skopeo writes is checked here): the registry's referrer listing
/// reads each such entry's type from the manifest it names, so the signature is still found.
#[test]
fn a_tag_schema_index_skopeo_rewrote_without_artifact_type_still_lists_the_signature() {
    which();
    let (w, a, b) = signed_source();
    let src = format!("{}/models/bert:v1", a.host());
    let digest = digest_of(&w, &src);
    let tag = format!("sha256-{}", digest.trim_start_matches("sha256:"));
    let skopeo = |args: &[&str]| {
        let out = std::process::Command::new("skopeo")
            .args([
                "copy",
                "-q",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    skopeo(&[
        "--preserve-digests",
        &format!("docker://{src}"),
        &format!("docker://{}/models/bert:v1", b.host()),
    ]);
    skopeo(&[
        "--all",
        &format!("docker://{}/models/bert:{tag}", a.host()),
        &format!("docker://{}/models/bert:{tag}", b.host()),
    ]);
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/models/bert:{tag}", b.host()))
        .output()
        .unwrap();
    let index: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        index["manifests"][0].get("artifactType").is_none(),
        "skopeo kept artifactType; this test no longer exercises the fallback: {index}"
    );
    let dst = format!("{}/models/bert:v1", b.host());
    w.expect(0, &["verify", &dst, "--key", "k.pub"]);
    // And an entry pointing at a manifest about another subject is not taken for a signature.
    w.expect(1, &["verify", &dst, "--key", "other.pub"]);
}

/// Signatures in an image layout are also listed in the `sha256-<hex>` tag-schema index, so a
/// plain `skopeo copy` of the layout (the model tag, then the index tag with `--all`) carries
/// them, and the copy verifies.
#[test]
fn skopeo_copies_of_a_layout_carry_the_signatures_through_the_tag_schema_index() {
    which();
    let (w, a, _b) = signed_source();
    let src = format!("{}/models/bert:v1", a.host());
    let one = w.path("one");
    let two = w.path("two");
    w.expect(
        0,
        &[
            "copy",
            &src,
            &format!("oci:{}:v1", one.display()),
            "--key",
            "k.pub",
        ],
    );
    let digest = digest_of(&w, &src);
    let tag = format!("sha256-{}", digest.trim_start_matches("sha256:"));
    // The model with its digest kept; the index as skopeo copies lists (it rewrites them, and
    // refuses to with --preserve-digests).
    for (t, all) in [("v1", false), (tag.as_str(), true)] {
        let mut c = std::process::Command::new("skopeo");
        c.args(["copy", "-q"]);
        c.arg(if all { "--all" } else { "--preserve-digests" });
        let out = c
            .arg(format!("oci:{}:{t}", one.display()))
            .arg(format!("oci:{}:{t}", two.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    w.expect(
        0,
        &[
            "verify",
            &format!("oci:{}:v1", two.display()),
            "--key",
            "k.pub",
        ],
    );
    // The local store keeps the same index: ls does not count it as a model.
    w.expect(0, &["copy", &src, "mirror/bert", "--key", "k.pub"]);
    let ls = w.run_json(0, &["ls", "--format", "json"]);
    assert_eq!(ls["models"].as_array().unwrap().len(), 1, "{ls}");
}

/// Between two repositories of one registry, blobs are mounted, not moved: no blob is
/// downloaded, the destination verifies.
#[test]
fn a_copy_within_one_registry_mounts_the_blobs() {
    let (w, a, _b) = signed_source();
    let src = format!("{}/models/bert:v1", a.host());
    let dst = format!("{}/prod/bert:v1", a.host());
    let out = w.run(&[
        "copy",
        &src,
        &dst,
        "--key",
        "k.pub",
        "--format",
        "json",
        "--verbose",
    ]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["copied"]["blobs_mounted"].as_u64().unwrap() >= 6, "{v}");
    assert_eq!(v["copied"]["blobs_copied"], 0, "{v}");
    assert!(
        !log.lines().any(|l| l.starts_with("> GET")
            && l.contains("/blobs/sha256:")
            && !l.contains("/v2/models/bert/blobs/sha256:")),
        "{log}"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("> PATCH")
            || (l.starts_with("> PUT") && l.contains("/blobs/uploads/"))),
        "a blob was uploaded instead of mounted:\n{log}"
    );
    w.expect(0, &["verify", &dst, "--key", "k.pub"]);
}

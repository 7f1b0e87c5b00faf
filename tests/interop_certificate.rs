//! The certificate (private PKI) method, against the real `model_signing` 1.1.1 in both
//! directions: `model_signing sign certificate` -> `provenance verify --certificate-chain`, and
//! `provenance sign --signing-certificate` -> `model_signing verify certificate`. Each test makes
//! its own root / intermediate / leaf with openssl.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
use common::{Work, venv_bin};
use serde_json::Value;
use std::process::Command;

/// A CA `p`: `p-root.pem`, `p-int.pem`, and a leaf `p-leaf.pem` / `p-leaf.key` (PKCS#8) with
/// the given leaf extensions.
fn pki(w: &Work, p: &str, leaf_ext: &str) {
    w.sh(
        &format!(
            r#"
openssl ecparam -name prime256v1 -genkey -noout -out {p}-root.key
openssl req -x509 -new -key {p}-root.key -subj "/CN={p} Root CA" -days 3650 -out {p}-root.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl ecparam -name prime256v1 -genkey -noout -out {p}-int.key
openssl req -new -key {p}-int.key -subj "/CN={p} Intermediate CA" -out {p}-int.csr
printf "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n" > {p}-int.ext
openssl x509 -req -in {p}-int.csr -CA {p}-root.pem -CAkey {p}-root.key -CAcreateserial -days 1825 \
  -extfile {p}-int.ext -out {p}-int.pem 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out {p}-leaf.key
openssl req -new -key {p}-leaf.key -subj "/CN={p} model signer" -out {p}-leaf.csr
printf "{leaf_ext}" > {p}-leaf.ext
openssl x509 -req -in {p}-leaf.csr -CA {p}-int.pem -CAkey {p}-int.key -CAcreateserial -days 365 \
  -extfile {p}-leaf.ext -out {p}-leaf.pem 2>/dev/null
"#
        ),
    );
}

const SIGNING_LEAF: &str = "basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature\\nextendedKeyUsage=codeSigning\\nsubjectAltName=email:signer@acme.example\\n";

fn setup() -> Work {
    let w = Work::new();
    pki(&w, "acme", SIGNING_LEAF);
    pki(&w, "other", SIGNING_LEAF);
    w.hf_model("bert");
    w
}

fn ms(w: &Work, args: &[&str]) -> (bool, String) {
    let out = Command::new(venv_bin("model_signing"))
        .args(args)
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success() && !text.contains("Verification failed"),
        text,
    )
}

fn ms_verify(w: &Work, sig: &str, root: &str) -> (bool, String) {
    ms(
        w,
        &[
            "verify",
            "certificate",
            "bert",
            "--signature",
            sig,
            "--certificate_chain",
            root,
        ],
    )
}

fn our_sign(w: &Work, code: i32, p: &str, sig: &str) -> String {
    w.expect(
        code,
        &[
            "sign",
            "--model",
            "bert",
            "--signature",
            sig,
            "--private-key",
            &format!("{p}-leaf.key"),
            "--signing-certificate",
            &format!("{p}-leaf.pem"),
            "--certificate-chain",
            &format!("{p}-int.pem"),
        ],
    )
}

#[test]
fn model_signing_certificate_signatures_verify_here_and_tampering_fails() {
    let w = setup();
    let (ok, text) = ms(
        &w,
        &[
            "sign",
            "certificate",
            "bert",
            "--private_key",
            "acme-leaf.key",
            "--signing_certificate",
            "acme-leaf.pem",
            "--certificate_chain",
            "acme-int.pem",
            "--signature",
            "ms.sig",
        ],
    );
    assert!(ok, "{text}");
    let out = w.expect(
        0,
        &[
            "verify",
            "--model",
            "bert",
            "--signature",
            "ms.sig",
            "--certificate-chain",
            "acme-root.pem",
        ],
    );
    assert!(out.contains("certificate-chain"), "{out}");
    assert!(out.contains("signer@acme.example"), "{out}");
    // Identity can be required for a PKI signature too.
    w.expect(
        0,
        &[
            "verify",
            "--model",
            "bert",
            "--signature",
            "ms.sig",
            "--certificate-chain",
            "acme-root.pem",
            "--certificate-identity",
            "signer@acme.example",
        ],
    );
    let out = w.expect(
        1,
        &[
            "verify",
            "--model",
            "bert",
            "--signature",
            "ms.sig",
            "--certificate-chain",
            "acme-root.pem",
            "--certificate-identity",
            "mallory@acme.example",
        ],
    );
    assert!(out.contains("check `identity`"), "{out}");
    w.write("bert/config.json", b"{\"tampered\": true}");
    let out = w.expect(
        1,
        &[
            "verify",
            "--model",
            "bert",
            "--signature",
            "ms.sig",
            "--certificate-chain",
            "acme-root.pem",
        ],
    );
    assert!(out.contains("check `model`"), "{out}");
}

#[test]
fn our_certificate_signatures_verify_in_model_signing_with_its_bundle_shape() {
    let w = setup();
    let out = our_sign(&w, 0, "acme", "ours.sig");
    assert!(out.contains("certificate signer@acme.example"), "{out}");
    let (ok, text) = ms_verify(&w, "ours.sig", "acme-root.pem");
    assert!(ok, "model_signing refused our certificate bundle: {text}");
    w.expect(
        0,
        &[
            "verify",
            "--model",
            "bert",
            "--signature",
            "ours.sig",
            "--certificate-chain",
            "acme-root.pem",
        ],
    );
    // Same verification material as model_signing writes: the chain, leaf first, no key hint.
    let (ok, text) = ms(
        &w,
        &[
            "sign",
            "certificate",
            "bert",
            "--private_key",
            "acme-leaf.key",
            "--signing_certificate",
            "acme-leaf.pem",
            "--certificate_chain",
            "acme-int.pem",
            "--signature",
            "ms.sig",
        ],
    );
    assert!(ok, "{text}");
    let vm = |f: &str| -> Value {
        serde_json::from_slice::<Value>(&std::fs::read(w.path(f)).unwrap()).unwrap()
            ["verificationMaterial"]
            .clone()
    };
    assert_eq!(vm("ours.sig"), vm("ms.sig"));
}

#[test]
fn a_leaf_from_another_ca_is_refused_by_both_tools() {
    let w = setup();
    our_sign(&w, 0, "other", "other.sig");
    let out = w.expect(
        1,
        &[
            "verify",
            "--model",
            "bert",
            "--signature",
            "other.sig",
            "--certificate-chain",
            "acme-root.pem",
        ],
    );
    assert!(out.contains("check `certificate-chain`"), "{out}");
    assert!(out.contains("not issued by a trusted CA"), "{out}");
    let (ok, text) = ms_verify(&w, "other.sig", "acme-root.pem");
    assert!(!ok, "model_signing accepted a leaf of another CA: {text}");
}

#[test]
fn a_signing_certificate_for_another_key_is_bad_input_and_writes_nothing() {
    let w = setup();
    let out = w.expect(
        2,
        &[
            "sign",
            "--model",
            "bert",
            "--signature",
            "x.sig",
            "--private-key",
            "acme-leaf.key",
            "--signing-certificate",
            "other-leaf.pem",
        ],
    );
    assert!(out.contains("another key"), "{out}");
    assert!(!w.path("x.sig").exists());
}

#[test]
fn a_certificate_that_may_not_sign_is_refused_as_model_signing_does() {
    let w = Work::new();
    pki(
        &w,
        "enc",
        "basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,keyEncipherment\\n",
    );
    w.hf_model("bert");
    our_sign(&w, 0, "enc", "enc.sig");
    let out = w.expect(
        1,
        &[
            "verify",
            "--model",
            "bert",
            "--signature",
            "enc.sig",
            "--certificate-chain",
            "enc-root.pem",
        ],
    );
    assert!(out.contains("check `key-usage`"), "{out}");
    let (ok, text) = ms_verify(&w, "enc.sig", "enc-root.pem");
    assert!(
        !ok,
        "model_signing accepted a non-signing certificate: {text}"
    );
}

#[test]
fn sign_ref_verify_ref_and_pull_with_a_certificate_in_the_local_store() {
    let w = setup();
    w.expect(0, &["push", "bert", "models/bert:v1"]);
    let out = w.expect(
        0,
        &[
            "sign",
            "models/bert:v1",
            "--private-key",
            "acme-leaf.key",
            "--signing-certificate",
            "acme-leaf.pem",
            "--certificate-chain",
            "acme-int.pem",
        ],
    );
    assert!(out.contains("certificate signer@acme.example"), "{out}");
    w.expect(
        0,
        &[
            "verify",
            "models/bert:v1",
            "--certificate-chain",
            "acme-root.pem",
        ],
    );
    let out = w.expect(
        1,
        &[
            "verify",
            "models/bert:v1",
            "--certificate-chain",
            "other-root.pem",
        ],
    );
    assert!(out.contains("certificate-chain"), "{out}");
    w.expect(
        0,
        &[
            "pull",
            "models/bert:v1",
            "--output",
            "copy",
            "--certificate-chain",
            "acme-root.pem",
        ],
    );
    // The saved bundle verifies the copy in model_signing.
    let (ok, text) = ms(
        &w,
        &[
            "verify",
            "certificate",
            "copy",
            "--signature",
            "copy.sig",
            "--certificate_chain",
            "acme-root.pem",
        ],
    );
    assert!(ok, "{text}");
}

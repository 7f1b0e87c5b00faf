//! The cached Sigstore trusted root, attacked the way someone with write access to
//! `$PROVENANCE_HOME/trust/` (or a stale tool) would: a planted `trusted_root.json` carrying a
//! foreign Fulcio CA, alone or beside TUF metadata that is forged, tampered with, signed by the
//! wrong keys, or genuine but older. Every such cache must be ignored with one warning, online or
//! offline, and the embedded root used. A genuine cache (real public-good TUF metadata) is used.
//!
//! No test reaches the network: each either passes `offline`, or runs online with a fresh
//! `last-refresh-attempt` so no refresh is started.
//!
//! The fixtures are external interop vectors in `testdata/tuf/` (their provenance is in
//! `testdata/tuf/PROVENANCE.md`): the public-good TUF repository's signed metadata, byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use provenance::trust::root::{
    EMBEDDED_SOURCE, EMBEDDED_TRUSTED_ROOT, Options, TUF_DIR, TrustRoot, load,
};
use serde_json::{Value, json};
use sha2::Digest as _;

/// The URI of the attacker's Fulcio CA, to find it in whatever root `load` returns.
const FOREIGN_CA_URI: &str = "https://fulcio.attacker.example";

struct Home {
    _dir: tempfile::TempDir,
    trust: PathBuf,
}

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let trust = dir.path().join("trust");
        std::fs::create_dir_all(trust.join(TUF_DIR)).unwrap();
        Self { _dir: dir, trust }
    }

    fn plant(&self, name: &str, bytes: &[u8]) {
        let p = self.trust.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    /// The real public-good TUF metadata: roots 13–15 and targets v14.
    fn plant_genuine_metadata(&self) {
        self.plant("tuf/13.root.json", ROOT_13.as_bytes());
        self.plant("tuf/14.root.json", ROOT_14.as_bytes());
        self.plant("tuf/15.root.json", ROOT_15.as_bytes());
        self.plant("tuf/targets.json", TARGETS_14.as_bytes());
    }

    /// Loads with a recorded warn callback. Online loads first mark a refresh as just tried,
    /// so no test ever reaches the network.
    fn load(&self, offline: bool) -> (TrustRoot, Vec<String>) {
        if !offline {
            std::fs::write(self.trust.join("last-refresh-attempt"), b"").unwrap();
        }
        let warnings = RefCell::new(Vec::new());
        let root = load(
            &Options {
                pinned: None,
                offline,
                cache_dir: Some(self.trust.clone()),
            },
            &|w: &str| warnings.borrow_mut().push(w.to_owned()),
        )
        .unwrap();
        (root, warnings.into_inner())
    }
}

/// The embedded root with one more Fulcio CA: the attacker's.
fn root_with_foreign_ca() -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(EMBEDDED_TRUSTED_ROOT).unwrap();
    let ca = provenance::keys::PrivateKey::generate().unwrap();
    let spki = ca.public_key().unwrap().to_pem().unwrap();
    // Its "certificate" is only a fresh key's SPKI: the loader base64-decodes chains without
    // parsing them, and what matters here is whether this CA reaches the caller at all.
    let body: String = spki.lines().filter(|l| !l.starts_with("-----")).collect();
    doc["certificateAuthorities"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "subject": {"organization": "attacker", "commonName": "attacker"},
            "uri": FOREIGN_CA_URI,
            "certChain": {"certificates": [{"rawBytes": body}]},
            "validFor": {"start": "2020-01-01T00:00:00Z"}
        }));
    serde_json::to_vec_pretty(&doc).unwrap()
}

fn has_foreign_ca(root: &TrustRoot) -> bool {
    root.certificate_authorities
        .iter()
        .any(|c| c.uri == FOREIGN_CA_URI)
}

/// Asserts the cache was refused: the embedded root, one warning naming the cache.
fn assert_ignored(root: &TrustRoot, warnings: &[String], why: &str) {
    assert_eq!(root.source, EMBEDDED_SOURCE);
    assert!(!has_foreign_ca(root));
    assert_eq!(root.certificate_authorities.len(), 2);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("warning: ignoring the cached Sigstore trusted root"),
        "{warnings:?}"
    );
    assert!(
        warnings[0].contains(why),
        "expected `{why}` in {warnings:?}"
    );
    assert!(!warnings[0].contains('\n'), "{warnings:?}");
}

/// OLPC canonical JSON, as a TUF signer computes it (an attacker signs correctly).
fn canonical(v: &Value) -> Vec<u8> {
    fn go(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<_> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    go(&Value::String(k.clone()), out);
                    out.push(':');
                    go(&m[k], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    go(x, out);
                }
                out.push(']');
            }
            Value::String(s) => {
                out.push('"');
                out.push_str(&s.replace('\\', "\\\\").replace('"', "\\\""));
                out.push('"');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut s = String::new();
    go(v, &mut s);
    s.into_bytes()
}

/// Signs `signed` with each key under the given key id.
fn sign(signed: Value, keys: &[(&str, &provenance::keys::PrivateKey)]) -> Vec<u8> {
    use p256::ecdsa::signature::Signer as _;
    let msg = canonical(&signed);
    let signatures: Vec<Value> = keys
        .iter()
        .map(|(id, k)| {
            let sig: p256::ecdsa::Signature = k.signing_key().sign(&msg);
            json!({"keyid": id, "sig": hex::encode(sig.to_der().as_bytes())})
        })
        .collect();
    serde_json::to_vec_pretty(&json!({"signatures": signatures, "signed": signed})).unwrap()
}

/// Targets metadata listing `target` as `trusted_root.json`, in the genuine file's shape.
fn targets_listing(target: &[u8], version: u64) -> Value {
    let mut doc: Value = serde_json::from_str(TARGETS_14).unwrap();
    doc["signed"]["version"] = json!(version);
    doc["signed"]["targets"]["trusted_root.json"] = json!({
        "hashes": {"sha256": hex::encode(sha2::Sha256::digest(target))},
        "length": target.len(),
    });
    doc["signed"].take()
}

/// The key ids of the genuine targets role (root v15).
fn genuine_targets_keyids() -> Vec<String> {
    let root: Value = serde_json::from_str(ROOT_15).unwrap();
    root["signed"]["roles"]["targets"]["keyids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

fn path_in(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

// --- A planted trusted root with no metadata ------------------------------------------------

#[test]
fn planted_root_is_ignored_offline() {
    let home = Home::new();
    home.plant("trusted_root.json", &root_with_foreign_ca());
    let (root, warnings) = home.load(true);
    assert_ignored(&root, &warnings, "has no TUF metadata to verify it against");
}

#[test]
fn planted_root_is_ignored_online_when_no_refresh_is_due() {
    let home = Home::new();
    home.plant("trusted_root.json", &root_with_foreign_ca());
    let (root, warnings) = home.load(false);
    assert_ignored(&root, &warnings, "has no TUF metadata to verify it against");
}

#[test]
fn an_exact_copy_of_the_embedded_root_without_metadata_is_still_not_trusted_as_a_cache() {
    // Even harmless bytes are not labelled a TUF refresh unless TUF vouches for them.
    let home = Home::new();
    home.plant("trusted_root.json", EMBEDDED_TRUSTED_ROOT);
    let (root, warnings) = home.load(true);
    assert_ignored(&root, &warnings, "has no TUF metadata");
}

#[test]
fn no_cache_means_the_embedded_root_without_a_warning() {
    let home = Home::new();
    let (root, warnings) = home.load(true);
    assert_eq!(root.source, EMBEDDED_SOURCE);
    assert!(warnings.is_empty(), "{warnings:?}");
}

// --- A genuine cache --------------------------------------------------------------------------

#[test]
fn genuine_tuf_cache_is_used_offline_and_says_so() {
    let home = Home::new();
    home.plant_genuine_metadata();
    home.plant("trusted_root.json", EMBEDDED_TRUSTED_ROOT);
    let (root, warnings) = home.load(true);
    assert!(
        root.source.starts_with("cached TUF refresh"),
        "{}",
        root.source
    );
    assert!(
        root.source
            .contains("verified against TUF targets v14 signed under TUF root v15 chained from the embedded root v12"),
        "{}",
        root.source
    );
    assert!(
        root.source
            .contains(&path_in(&home.trust, "trusted_root.json"))
    );
    assert_eq!(root.certificate_authorities.len(), 2);
    // Root v15 expired on 2026-11-20: a warning, not a refusal.
    assert!(
        warnings
            .iter()
            .all(|w| w.contains("expired") && !w.contains("ignoring")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("TUF root v15 expired at 2026-11-20T13:58:18Z")),
        "{warnings:?}"
    );
}

#[test]
fn genuine_tuf_cache_is_used_online_when_no_refresh_is_due() {
    let home = Home::new();
    home.plant_genuine_metadata();
    home.plant("trusted_root.json", EMBEDDED_TRUSTED_ROOT);
    let (root, _) = home.load(false);
    assert!(
        root.source.starts_with("cached TUF refresh"),
        "{}",
        root.source
    );
}

// --- A planted root beside metadata -----------------------------------------------------------

#[test]
fn planted_root_beside_genuine_metadata_is_ignored_offline_and_online() {
    for offline in [true, false] {
        let home = Home::new();
        home.plant_genuine_metadata();
        home.plant("trusted_root.json", &root_with_foreign_ca());
        let (root, warnings) = home.load(offline);
        assert_ignored(&root, &warnings, "does not match TUF targets v14: length");
    }
}

#[test]
fn planted_root_of_the_right_length_is_caught_by_its_digest() {
    let home = Home::new();
    home.plant_genuine_metadata();
    let mut bytes = EMBEDDED_TRUSTED_ROOT.to_vec();
    // Same length, one byte different inside a base64 certificate.
    let at = bytes.windows(4).position(|w| w == b"MIIC").unwrap() + 10;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    home.plant("trusted_root.json", &bytes);
    let (root, warnings) = home.load(true);
    assert_ignored(&root, &warnings, "does not match TUF targets v14: sha256");
}

#[test]
fn genuine_targets_edited_to_list_the_planted_root_is_ignored() {
    let home = Home::new();
    home.plant_genuine_metadata();
    let planted = root_with_foreign_ca();
    let mut doc: Value = serde_json::from_str(TARGETS_14).unwrap();
    doc["signed"]["targets"]["trusted_root.json"] = json!({
        "hashes": {"sha256": hex::encode(sha2::Sha256::digest(&planted))},
        "length": planted.len(),
    });
    home.plant("tuf/targets.json", &serde_json::to_vec(&doc).unwrap());
    home.plant("trusted_root.json", &planted);
    for offline in [true, false] {
        let (root, warnings) = home.load(offline);
        assert_ignored(
            &root,
            &warnings,
            "is not signed by 3 of the targets keys of TUF root v15 (0 valid)",
        );
    }
}

#[test]
fn targets_signed_by_foreign_keys_under_the_genuine_key_ids_is_ignored() {
    let home = Home::new();
    home.plant_genuine_metadata();
    let planted = root_with_foreign_ca();
    let ids = genuine_targets_keyids();
    let keys: Vec<_> = (0..5)
        .map(|_| provenance::keys::PrivateKey::generate().unwrap())
        .collect();
    let signers: Vec<_> = ids.iter().map(String::as_str).zip(keys.iter()).collect();
    home.plant(
        "tuf/targets.json",
        &sign(targets_listing(&planted, 99), &signers),
    );
    home.plant("trusted_root.json", &planted);
    let (root, warnings) = home.load(true);
    assert_ignored(&root, &warnings, "(0 valid)");
}

#[test]
fn targets_signed_by_keys_the_root_does_not_name_is_ignored() {
    let home = Home::new();
    home.plant_genuine_metadata();
    let planted = root_with_foreign_ca();
    let keys: Vec<_> = (0..3)
        .map(|_| provenance::keys::PrivateKey::generate().unwrap())
        .collect();
    let ids: Vec<String> = keys
        .iter()
        .map(|k| k.public_key().unwrap().id().to_owned())
        .collect();
    let signers: Vec<_> = ids.iter().map(String::as_str).zip(keys.iter()).collect();
    home.plant(
        "tuf/targets.json",
        &sign(targets_listing(&planted, 99), &signers),
    );
    home.plant("trusted_root.json", &planted);
    let (root, warnings) = home.load(false);
    assert_ignored(&root, &warnings, "(0 valid)");
}

#[test]
fn a_forged_root_rotation_to_the_attackers_keys_is_ignored() {
    // The attacker writes root v13 naming only their keys, signed by those keys, and targets
    // signed by them: the chain needs root v12's keys on v13, which they do not have.
    let home = Home::new();
    let keys: Vec<_> = (0..3)
        .map(|_| provenance::keys::PrivateKey::generate().unwrap())
        .collect();
    let ids: Vec<String> = keys
        .iter()
        .map(|k| k.public_key().unwrap().id().to_owned())
        .collect();
    let signers: Vec<_> = ids.iter().map(String::as_str).zip(keys.iter()).collect();
    let mut root: Value = serde_json::from_str(ROOT_13).unwrap();
    let s = &mut root["signed"];
    s["keys"] = Value::Object(
        ids.iter()
            .zip(&keys)
            .map(|(id, k)| {
                (
                    id.clone(),
                    json!({
                        "keytype": "ecdsa",
                        "scheme": "ecdsa-sha2-nistp256",
                        "keyval": {"public": k.public_key().unwrap().to_pem().unwrap()}
                    }),
                )
            })
            .collect(),
    );
    for role in ["root", "targets", "snapshot", "timestamp"] {
        s["roles"][role] = json!({"keyids": ids, "threshold": 2});
    }
    home.plant("tuf/13.root.json", &sign(root["signed"].take(), &signers));
    let planted = root_with_foreign_ca();
    home.plant(
        "tuf/targets.json",
        &sign(targets_listing(&planted, 99), &signers),
    );
    home.plant("trusted_root.json", &planted);
    let (root, warnings) = home.load(true);
    assert_ignored(
        &root,
        &warnings,
        "13.root.json is not signed by 3 of the root keys of TUF root v12",
    );
}

#[test]
fn a_genuine_root_under_the_wrong_version_number_breaks_the_chain() {
    // Root v14 planted as 13.root.json: genuinely signed, but not the next version.
    let home = Home::new();
    home.plant_genuine_metadata();
    home.plant("tuf/13.root.json", ROOT_14.as_bytes());
    home.plant("trusted_root.json", EMBEDDED_TRUSTED_ROOT);
    let (root, warnings) = home.load(true);
    assert_ignored(&root, &warnings, "13.root.json");
}

#[test]
fn genuine_but_older_targets_is_refused_as_a_rollback() {
    // Targets v12 and the trusted root it lists are genuinely signed (under root v12) but
    // older than the embedded root: a rollback, refused.
    let home = Home::new();
    home.plant("tuf/targets.json", TARGETS_12.as_bytes());
    home.plant("trusted_root.json", TRUSTED_ROOT_12.as_bytes());
    let (root, warnings) = home.load(true);
    assert_ignored(&root, &warnings, "has version 12, expected 13");
}

#[test]
fn oversized_metadata_is_refused_without_reading_it_all() {
    let home = Home::new();
    home.plant_genuine_metadata();
    home.plant("trusted_root.json", EMBEDDED_TRUSTED_ROOT);
    let f = std::fs::File::create(home.trust.join("tuf/targets.json")).unwrap();
    f.set_len(64 * 1024 * 1024).unwrap();
    let (root, warnings) = home.load(true);
    assert_ignored(&root, &warnings, "larger than");
}

// --- Fixtures: testdata/tuf/PROVENANCE.md -------------------------------------------------------

const ROOT_13: &str = include_str!("../testdata/tuf/13.root.json");
const ROOT_14: &str = include_str!("../testdata/tuf/14.root.json");
const ROOT_15: &str = include_str!("../testdata/tuf/15.root.json");
const TARGETS_14: &str = include_str!("../testdata/tuf/14.targets.json");
const TARGETS_12: &str = include_str!("../testdata/tuf/12.targets.json");
const TRUSTED_ROOT_12: &str = include_str!("../testdata/tuf/trusted_root.targets12.json");

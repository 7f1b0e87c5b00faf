//! The cached Sigstore trusted root, attacked the way someone with write access to
//! `$PROVENANCE_HOME/trust/` (or a stale tool) would: a planted `trusted_root.json` carrying a
//! foreign Fulcio CA, alone or beside TUF metadata that is forged, tampered with, signed by the
//! wrong keys, or genuine but older. Every such cache must be ignored with one warning, online or
//! offline, and the embedded root used. A genuine cache (real public-good TUF metadata) is used.
//!
//! No test reaches the network: each either passes `offline`, or runs online with a fresh
//! `last-refresh-attempt` so no refresh is started.
//!
//! Fixtures at the bottom are external interop vectors: the public-good TUF repository's signed
//! metadata, copied byte for byte from github.com/sigstore/root-signing (`metadata/root_history/
//! {13,14,15}.root.json` and `metadata/targets.json` at 55a34db18c2616a662d256b433ddde69f97b3d31;
//! targets v12 and `targets/trusted_root.json` at 0375aad33816b8d755d093481f21abb11c872935).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use provenance::trust_root::{
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

// --- Fixtures (see the module doc for their provenance) ---------------------------------------

const ROOT_13: &str = r##"{
 "signatures": [
  {
   "keyid": "6f260089d5923daf20166ca657c543af618346ab971884a99962b01988bbe0c3",
   "sig": ""
  },
  {
   "keyid": "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2",
   "sig": "3045022100bbddd464f8066ceb88ba787375c12cd6330680e08c2910703e6538c71cc79ad202205190b06e4537fe961b3ef81fe68edcd0089c19f919afed423b9aafd700641153"
  },
  {
   "keyid": "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06",
   "sig": "3044022069306cd5257f732a740c1afe60a8e433c5de58eafeadbe99c336c9c71d198cf802200d773953ae7dbc48d3e5bad9a6f64bafff196b7e2ad4a52a19519367d47dc042"
  },
  {
   "keyid": "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222",
   "sig": "304402204d21a2ec80df66e61f6fe2912951dc47df836036f8c0ab10816d375e71dbf79e0220547adce1afdf04e6794efa203dd5264c6f7e0ef78e57fe934b0d26cb994eec76"
  },
  {
   "keyid": "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70",
   "sig": "3045022060826496557144eb1649893ed5f6f4ea54536feb0ca82f8b89ae641be39743e5022100ad7118b5e9d4837326206e412fc6da2999925d110328a7c166b06c624336c93f"
  },
  {
   "keyid": "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632",
   "sig": "3046022100d8179439c2e73eb0c1733abee7faf832dcaea7263edcb4919891c3a247f05923022100e1a437e0797e803f9b72dc9d2d92155b0a2270c24efdd5f4b3a5d8f0b0f431a7"
  }
 ],
 "signed": {
  "_type": "root",
  "consistent_snapshot": true,
  "expires": "2026-01-22T13:05:59Z",
  "keys": {
   "0c87432c3bf09fd99189fdc32fa5eaedf4e4a5fac7bab73fa04a2e0fc64af6f5": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWRiGr5+j+3J5SsH+Ztr5nE2H2wO7\nBV+nO3s93gLca18qTOzHY1oWyAGDykMSsGTUBSt9D+An0KfKsD2mfSM42Q==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-online-uri": "gcpkms:projects/sigstore-root-signing/locations/global/keyRings/root/cryptoKeys/timestamp/cryptoKeyVersions/1"
   },
   "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632": {
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEMxpPOJCIZ5otG4106fGJseEQi3V9\npkMYQ4uyV9Tj1M7WHXIyLG+jkfvuG0glQ1JZbRZZBV3gAR4sojdGHISeow==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@lance"
   },
   "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzBzVOmHCPojMVLSI364WiiV8NPrD\n6IgRxVliskz/v+y3JER5mcVGcONliDcWMC5J2lfHmjPNPhb4H7xm8LzfSA==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@santiagotorres"
   },
   "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEinikSsAQmYkNeH5eYq/CnIzLaacO\nxlSaawQDOwqKy/tCqxq5xxPSJc21K4WIhs9GyOkKfzueY3GILzcMJZ4cWw==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@bobcallaway"
   },
   "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE0ghrh92Lw1Yr3idGV5WqCtMDB8Cx\n+D8hdC4w2ZLNIplVRoVGLskYa3gheMyOjiJ8kPi15aQ2//7P+oj7UvJPGw==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@joshuagl"
   },
   "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEXsz3SZXFb8jMV42j6pJlyjbjR8K\nN3Bwocexq6LMIb5qsWKOQvLN16NUefLc4HswOoumRsVVaajSpQS6fobkRw==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@mnm678"
   }
  },
  "roles": {
   "root": {
    "keyids": [
     "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2",
     "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06",
     "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222",
     "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70",
     "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632"
    ],
    "threshold": 3
   },
   "snapshot": {
    "keyids": [
     "0c87432c3bf09fd99189fdc32fa5eaedf4e4a5fac7bab73fa04a2e0fc64af6f5"
    ],
    "threshold": 1,
    "x-tuf-on-ci-expiry-period": 3650,
    "x-tuf-on-ci-signing-period": 365
   },
   "targets": {
    "keyids": [
     "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2",
     "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06",
     "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222",
     "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70",
     "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632"
    ],
    "threshold": 3
   },
   "timestamp": {
    "keyids": [
     "0c87432c3bf09fd99189fdc32fa5eaedf4e4a5fac7bab73fa04a2e0fc64af6f5"
    ],
    "threshold": 1,
    "x-tuf-on-ci-expiry-period": 7,
    "x-tuf-on-ci-signing-period": 6
   }
  },
  "spec_version": "1.0",
  "version": 13,
  "x-tuf-on-ci-expiry-period": 197,
  "x-tuf-on-ci-signing-period": 46
 }
}"##;

const ROOT_14: &str = r##"{
 "signatures": [
  {
   "keyid": "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2",
   "sig": "3046022100e04c9706299be5d8c2b14fb50bcd5b9c241f10597153dfe22f943efe896b5150022100cfd7b9f06a5900784e312d02b8e336edbb3b2fab61ac14550b3112b4f9e33df4"
  },
  {
   "keyid": "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06",
   "sig": ""
  },
  {
   "keyid": "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222",
   "sig": "3045022100cc308ae7d390fa782ee3376ddfaa929835016e86dad81f69e2de7ec1e174432e02205fb19906a31cce146c29624443c0d0c2f33ee80dac39d72114f939607cc22937"
  },
  {
   "keyid": "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70",
   "sig": "304502203f8aff7a30e05a8c3d904b671ab1a6e4e8a6f508b7cfa0c780e72976bee7a227022100f64c9b765526f34d9ea16339cf238893e1c3368b4f0910a61a1af27dda01ebb9"
  },
  {
   "keyid": "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632",
   "sig": "304502202363ca249aefa6d5f61c408a32cdd079b034a7888ddf2136dc4515ed4a728418022100b04eca42bc510ccbbf5d30783aaa936b1f137ca7a017ee9d90d3710432da0427"
  }
 ],
 "signed": {
  "_type": "root",
  "consistent_snapshot": true,
  "expires": "2026-06-22T13:27:01Z",
  "keys": {
   "0c87432c3bf09fd99189fdc32fa5eaedf4e4a5fac7bab73fa04a2e0fc64af6f5": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWRiGr5+j+3J5SsH+Ztr5nE2H2wO7\nBV+nO3s93gLca18qTOzHY1oWyAGDykMSsGTUBSt9D+An0KfKsD2mfSM42Q==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-online-uri": "gcpkms:projects/sigstore-root-signing/locations/global/keyRings/root/cryptoKeys/timestamp/cryptoKeyVersions/1"
   },
   "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632": {
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEMxpPOJCIZ5otG4106fGJseEQi3V9\npkMYQ4uyV9Tj1M7WHXIyLG+jkfvuG0glQ1JZbRZZBV3gAR4sojdGHISeow==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@lance"
   },
   "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzBzVOmHCPojMVLSI364WiiV8NPrD\n6IgRxVliskz/v+y3JER5mcVGcONliDcWMC5J2lfHmjPNPhb4H7xm8LzfSA==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@santiagotorres"
   },
   "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEinikSsAQmYkNeH5eYq/CnIzLaacO\nxlSaawQDOwqKy/tCqxq5xxPSJc21K4WIhs9GyOkKfzueY3GILzcMJZ4cWw==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@bobcallaway"
   },
   "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE0ghrh92Lw1Yr3idGV5WqCtMDB8Cx\n+D8hdC4w2ZLNIplVRoVGLskYa3gheMyOjiJ8kPi15aQ2//7P+oj7UvJPGw==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@joshuagl"
   },
   "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEXsz3SZXFb8jMV42j6pJlyjbjR8K\nN3Bwocexq6LMIb5qsWKOQvLN16NUefLc4HswOoumRsVVaajSpQS6fobkRw==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@mnm678"
   }
  },
  "roles": {
   "root": {
    "keyids": [
     "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2",
     "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06",
     "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222",
     "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70",
     "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632"
    ],
    "threshold": 3
   },
   "snapshot": {
    "keyids": [
     "0c87432c3bf09fd99189fdc32fa5eaedf4e4a5fac7bab73fa04a2e0fc64af6f5"
    ],
    "threshold": 1,
    "x-tuf-on-ci-expiry-period": 3650,
    "x-tuf-on-ci-signing-period": 365
   },
   "targets": {
    "keyids": [
     "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2",
     "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06",
     "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222",
     "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70",
     "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632"
    ],
    "threshold": 3
   },
   "timestamp": {
    "keyids": [
     "0c87432c3bf09fd99189fdc32fa5eaedf4e4a5fac7bab73fa04a2e0fc64af6f5"
    ],
    "threshold": 1,
    "x-tuf-on-ci-expiry-period": 7,
    "x-tuf-on-ci-signing-period": 6
   }
  },
  "spec_version": "1.0",
  "version": 14,
  "x-tuf-on-ci-expiry-period": 197,
  "x-tuf-on-ci-signing-period": 46
 }
}"##;

const ROOT_15: &str = r##"{
 "signatures": [
  {
   "keyid": "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2",
   "sig": "3045022100ea2f374f409810e2db950749d9cfed09a15b6a5e25f3d5ffd0799459d7bee167022028d3acdde6dbd5034cfad222d31b41090ee21894e2c46cb8974198ab0377db44"
  },
  {
   "keyid": "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06",
   "sig": "304402207ebb24e3237e470691d7875903a7754d0ef2ae7e7b5024a7888c9a38a52deecd02206ed5ad1c6f4fab46995843ab6b23f9420c5a4cf6ce1cb2cb2a6fc2e87e2ef3e1"
  },
  {
   "keyid": "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222",
   "sig": "304602210089d9dfd8e106cc958088a4da3c8cf7254ab6f65a9647d37ada730ef4763c5163022100d882ee744615be79861e214e1eeb9e1eddf6a1e203a201b4c5d03f5224d71d16"
  },
  {
   "keyid": "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70",
   "sig": "304502210088bd4b88e83f586ce568d27d04214c4ab3fd1894178ef015303d56afa939205302205538ebab93876abb9075ad77114bff28a0d79a7cc229b534a0c5ced5526b48e7"
  },
  {
   "keyid": "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632",
   "sig": "3045022100f35b07e938d4949caf82e69e86cc9db3b69b6dbc6740c1f343d06893f996fbeb022001e847d816259a96a49e42779a2350dab97b71c8ae7e26b2380c6fa7f58131b3"
  }
 ],
 "signed": {
  "_type": "root",
  "consistent_snapshot": true,
  "expires": "2026-11-20T13:58:18Z",
  "keys": {
   "0c87432c3bf09fd99189fdc32fa5eaedf4e4a5fac7bab73fa04a2e0fc64af6f5": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWRiGr5+j+3J5SsH+Ztr5nE2H2wO7\nBV+nO3s93gLca18qTOzHY1oWyAGDykMSsGTUBSt9D+An0KfKsD2mfSM42Q==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-online-uri": "gcpkms:projects/sigstore-root-signing/locations/global/keyRings/root/cryptoKeys/timestamp/cryptoKeyVersions/1"
   },
   "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632": {
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEMxpPOJCIZ5otG4106fGJseEQi3V9\npkMYQ4uyV9Tj1M7WHXIyLG+jkfvuG0glQ1JZbRZZBV3gAR4sojdGHISeow==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@lance"
   },
   "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzBzVOmHCPojMVLSI364WiiV8NPrD\n6IgRxVliskz/v+y3JER5mcVGcONliDcWMC5J2lfHmjPNPhb4H7xm8LzfSA==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@santiagotorres"
   },
   "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEinikSsAQmYkNeH5eYq/CnIzLaacO\nxlSaawQDOwqKy/tCqxq5xxPSJc21K4WIhs9GyOkKfzueY3GILzcMJZ4cWw==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@bobcallaway"
   },
   "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE0ghrh92Lw1Yr3idGV5WqCtMDB8Cx\n+D8hdC4w2ZLNIplVRoVGLskYa3gheMyOjiJ8kPi15aQ2//7P+oj7UvJPGw==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@joshuagl"
   },
   "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2": {
    "keyid_hash_algorithms": [
     "sha256",
     "sha512"
    ],
    "keytype": "ecdsa",
    "keyval": {
     "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEXsz3SZXFb8jMV42j6pJlyjbjR8K\nN3Bwocexq6LMIb5qsWKOQvLN16NUefLc4HswOoumRsVVaajSpQS6fobkRw==\n-----END PUBLIC KEY-----\n"
    },
    "scheme": "ecdsa-sha2-nistp256",
    "x-tuf-on-ci-keyowner": "@mnm678"
   }
  },
  "roles": {
   "root": {
    "keyids": [
     "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2",
     "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06",
     "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222",
     "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70",
     "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632"
    ],
    "threshold": 3
   },
   "snapshot": {
    "keyids": [
     "0c87432c3bf09fd99189fdc32fa5eaedf4e4a5fac7bab73fa04a2e0fc64af6f5"
    ],
    "threshold": 1,
    "x-tuf-on-ci-expiry-period": 3650,
    "x-tuf-on-ci-signing-period": 365
   },
   "targets": {
    "keyids": [
     "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2",
     "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06",
     "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222",
     "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70",
     "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632"
    ],
    "threshold": 3
   },
   "timestamp": {
    "keyids": [
     "0c87432c3bf09fd99189fdc32fa5eaedf4e4a5fac7bab73fa04a2e0fc64af6f5"
    ],
    "threshold": 1,
    "x-tuf-on-ci-expiry-period": 7,
    "x-tuf-on-ci-signing-period": 6
   }
  },
  "spec_version": "1.0",
  "version": 15,
  "x-tuf-on-ci-expiry-period": 197,
  "x-tuf-on-ci-signing-period": 46
 }
}"##;

const TARGETS_14: &str = r##"{
 "signatures": [
  {
   "keyid": "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2",
   "sig": "30440220560777f2e8093ef4e6289975f0ad5fbfb85dbb03e6bf98bff935737ddeeca80802206a85e2904843a842c7e651e46e7fe49874de99fa94f5051639a6dc6b5aee4f29"
  },
  {
   "keyid": "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06",
   "sig": "30450221008c1befccad604a4818eccc59d670f74f66b69f4bab38aca744777f304d4c176c022062d56c5c6a50504b73145ec08a2e102a0a5fd0476b097d32766f6580110348ff"
  },
  {
   "keyid": "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222",
   "sig": "3046022100d298094a3195317c1c3329ee31468f129d4ea28a7f049a410d4f443f01953472022100dfcc5b8bd15db6fb0e7c857d8c53d71706381c22f76f5c951ce8b411d0b08bc0"
  },
  {
   "keyid": "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70",
   "sig": "3046022100c1d91fe98b8a0a63dd2e98eb1048ff579990c29dad890fe8061a293e90a26113022100f843667831e0c69a7ba41f2a974e082e457ff8d5aebef06bd7be6d34bc2ac092"
  },
  {
   "keyid": "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632",
   "sig": "304402206e1d9520e65d9074ea5bd5e20dca600aeb3beb3f93f1699a9b1897101f7f3f01022018335bb010edacb9f8f0a9101438b53d4481324ada04bf656718beed11d21c53"
  }
 ],
 "signed": {
  "_type": "targets",
  "delegations": {
   "keys": {
    "5e3a4021b11a425fd0a444f1670457ce5b15bbe036144f2417426f7f4b9721da": {
     "keytype": "ecdsa",
     "keyval": {
      "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEVfei1dXQRVeArCMcTDgxJtYg+Fs7\nV87DjhQbGlRJPyC7SW5TbNNkmvpmi4LeTv6moLVZ7T2nVqiRZbSkD+cf8w==\n-----END PUBLIC KEY-----\n"
     },
     "scheme": "ecdsa-sha2-nistp256",
     "x-tuf-on-ci-online-uri": "azurekms://npm-tuf-delegate.vault.azure.net/keys/npm-tuf-delegate-2024-08/e2772c1d01ca400da571096889f1660e"
    }
   },
   "roles": [
    {
     "keyids": [
      "5e3a4021b11a425fd0a444f1670457ce5b15bbe036144f2417426f7f4b9721da"
     ],
     "name": "registry.npmjs.org",
     "paths": [
      "registry.npmjs.org/*"
     ],
     "terminating": true,
     "threshold": 1
    }
   ]
  },
  "expires": "2036-05-09T09:00:52Z",
  "spec_version": "1.0",
  "targets": {
   "artifact.pub": {
    "custom": {
     "sigstore": {
      "status": "Active",
      "usage": "Unknown"
     }
    },
    "hashes": {
     "sha256": "59ebf97a9850aecec4bc39c1f5c1dc46e6490a6b5fd2a6cacdcac0c3a6fc4cbf"
    },
    "length": 177
   },
   "ctfe.pub": {
    "custom": {
     "sigstore": {
      "status": "Active",
      "uri": "https://ctfe.sigstore.dev/test",
      "usage": "CTFE"
     }
    },
    "hashes": {
     "sha256": "7fcb94a5d0ed541260473b990b99a6c39864c1fb16f3f3e594a5a3cebbfe138a"
    },
    "length": 177
   },
   "ctfe_2022.pub": {
    "custom": {
     "sigstore": {
      "status": "Active",
      "uri": "https://ctfe.sigstore.dev/2022",
      "usage": "CTFE"
     }
    },
    "hashes": {
     "sha256": "270488a309d22e804eeb245493e87c667658d749006b9fee9cc614572d4fbbdc"
    },
    "length": 178
   },
   "fulcio.crt.pem": {
    "custom": {
     "sigstore": {
      "status": "Expired",
      "uri": "https://fulcio.sigstore.dev",
      "usage": "Fulcio"
     }
    },
    "hashes": {
     "sha256": "f360c53b2e13495a628b9b8096455badcb6d375b185c4816d95a5d746ff29908"
    },
    "length": 744
   },
   "fulcio_intermediate_v1.crt.pem": {
    "custom": {
     "sigstore": {
      "status": "Active",
      "uri": "https://fulcio.sigstore.dev",
      "usage": "Fulcio"
     }
    },
    "hashes": {
     "sha256": "f8cbecf186db7714624a5f4e99da31a917cbef70a94dd6921f5c3ca969dfe30a"
    },
    "length": 789
   },
   "fulcio_v1.crt.pem": {
    "custom": {
     "sigstore": {
      "status": "Active",
      "uri": "https://fulcio.sigstore.dev",
      "usage": "Fulcio"
     }
    },
    "hashes": {
     "sha256": "f989aa23def87c549404eadba767768d2a3c8d6d30a8b793f9f518a8eafd2cf5"
    },
    "length": 740
   },
   "rekor.pub": {
    "custom": {
     "sigstore": {
      "status": "Active",
      "uri": "https://rekor.sigstore.dev",
      "usage": "Rekor"
     }
    },
    "hashes": {
     "sha256": "dce5ef715502ec9f3cdfd11f8cc384b31a6141023d3e7595e9908a81cb6241bd"
    },
    "length": 178
   },
   "signing_config.json": {
    "hashes": {
     "sha256": "d358c75d032833f4193500f5b01b5760409410558fac962c599439adbb268b0f"
    },
    "length": 219
   },
   "signing_config.v0.2.json": {
    "hashes": {
     "sha256": "9711a6d5375706957a4859af31c5866a4474f81f0544f9f4b76c9c4f4c8a539c"
    },
    "length": 1034
   },
   "signing_config_rekor_v2.v0.2.json": {
    "hashes": {
     "sha256": "0f5f38554e29e770d4d5d6f0e1b51fcbf84f61dc6934530a09b7a901eaad5bee"
    },
    "length": 1230
   },
   "trusted_root.json": {
    "hashes": {
     "sha256": "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66"
    },
    "length": 6787
   }
  },
  "version": 14,
  "x-tuf-on-ci-expiry-period": 3650,
  "x-tuf-on-ci-signing-period": 31
 }
}"##;

const TARGETS_12: &str = r##"{
 "signatures": [
  {
   "keyid": "6f260089d5923daf20166ca657c543af618346ab971884a99962b01988bbe0c3",
   "sig": ""
  },
  {
   "keyid": "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2",
   "sig": "304402201f69653a4e974b927a549de28316bbd59c8eb48b6eded79353804172c459287f0220345ff701971e8c57a4c5b02ebfb4419a9c0ed6227e3c7858fcefec9ef25cc52a"
  },
  {
   "keyid": "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06",
   "sig": "30450221009a9ddc286a80321e35ff093004564f30b18580e7e4c2c910b385f053f728882702200c3b16980743f72ba0d424ee3c8c978899a5e3baa46023a4320d91b6a82feb94"
  },
  {
   "keyid": "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222",
   "sig": "3046022100c267cf3ee165c718914dfa94e4478214e2fcdf930721391301dc89d0816dfdc4022100d67d8f165fdf29b072c59dbe8be088f13156d41e1987fddec185141d296d7326"
  },
  {
   "keyid": "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70",
   "sig": "304602210090f0104cc7c34ba4ca8d052b5dc8792aeb896d26ab2e5f035d6ab7dc0c486664022100dabd4243c9f163bfc5314a0928e5ae1a922dd73aa6496182e7b3952f6478d3d7"
  },
  {
   "keyid": "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632",
   "sig": "30450221009de114e72cb355dc7ba6e544010e4593a656dfdb50321aad1f72c25c28b077b3022048109c0b8dcb3ebbc11d2ce18398f8129f7e3b27f9e32211d16303688cb17c1d"
  }
 ],
 "signed": {
  "_type": "targets",
  "delegations": {
   "keys": {
    "5e3a4021b11a425fd0a444f1670457ce5b15bbe036144f2417426f7f4b9721da": {
     "keytype": "ecdsa",
     "keyval": {
      "public": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEVfei1dXQRVeArCMcTDgxJtYg+Fs7\nV87DjhQbGlRJPyC7SW5TbNNkmvpmi4LeTv6moLVZ7T2nVqiRZbSkD+cf8w==\n-----END PUBLIC KEY-----\n"
     },
     "scheme": "ecdsa-sha2-nistp256",
     "x-tuf-on-ci-online-uri": "azurekms://npm-tuf-delegate.vault.azure.net/keys/npm-tuf-delegate-2024-08/e2772c1d01ca400da571096889f1660e"
    }
   },
   "roles": [
    {
     "keyids": [
      "5e3a4021b11a425fd0a444f1670457ce5b15bbe036144f2417426f7f4b9721da"
     ],
     "name": "registry.npmjs.org",
     "paths": [
      "registry.npmjs.org/*"
     ],
     "terminating": true,
     "threshold": 1
    }
   ]
  },
  "expires": "2035-07-05T08:05:16Z",
  "spec_version": "1.0",
  "targets": {
   "artifact.pub": {
    "custom": {
     "sigstore": {
      "status": "Active",
      "usage": "Unknown"
     }
    },
    "hashes": {
     "sha256": "59ebf97a9850aecec4bc39c1f5c1dc46e6490a6b5fd2a6cacdcac0c3a6fc4cbf"
    },
    "length": 177
   },
   "ctfe.pub": {
    "custom": {
     "sigstore": {
      "status": "Active",
      "uri": "https://ctfe.sigstore.dev/test",
      "usage": "CTFE"
     }
    },
    "hashes": {
     "sha256": "7fcb94a5d0ed541260473b990b99a6c39864c1fb16f3f3e594a5a3cebbfe138a"
    },
    "length": 177
   },
   "ctfe_2022.pub": {
    "custom": {
     "sigstore": {
      "status": "Active",
      "uri": "https://ctfe.sigstore.dev/2022",
      "usage": "CTFE"
     }
    },
    "hashes": {
     "sha256": "270488a309d22e804eeb245493e87c667658d749006b9fee9cc614572d4fbbdc"
    },
    "length": 178
   },
   "fulcio.crt.pem": {
    "custom": {
     "sigstore": {
      "status": "Expired",
      "uri": "https://fulcio.sigstore.dev",
      "usage": "Fulcio"
     }
    },
    "hashes": {
     "sha256": "f360c53b2e13495a628b9b8096455badcb6d375b185c4816d95a5d746ff29908"
    },
    "length": 744
   },
   "fulcio_intermediate_v1.crt.pem": {
    "custom": {
     "sigstore": {
      "status": "Active",
      "uri": "https://fulcio.sigstore.dev",
      "usage": "Fulcio"
     }
    },
    "hashes": {
     "sha256": "f8cbecf186db7714624a5f4e99da31a917cbef70a94dd6921f5c3ca969dfe30a"
    },
    "length": 789
   },
   "fulcio_v1.crt.pem": {
    "custom": {
     "sigstore": {
      "status": "Active",
      "uri": "https://fulcio.sigstore.dev",
      "usage": "Fulcio"
     }
    },
    "hashes": {
     "sha256": "f989aa23def87c549404eadba767768d2a3c8d6d30a8b793f9f518a8eafd2cf5"
    },
    "length": 740
   },
   "rekor.pub": {
    "custom": {
     "sigstore": {
      "status": "Active",
      "uri": "https://rekor.sigstore.dev",
      "usage": "Rekor"
     }
    },
    "hashes": {
     "sha256": "dce5ef715502ec9f3cdfd11f8cc384b31a6141023d3e7595e9908a81cb6241bd"
    },
    "length": 178
   },
   "signing_config.json": {
    "hashes": {
     "sha256": "d358c75d032833f4193500f5b01b5760409410558fac962c599439adbb268b0f"
    },
    "length": 219
   },
   "signing_config.v0.2.json": {
    "hashes": {
     "sha256": "9711a6d5375706957a4859af31c5866a4474f81f0544f9f4b76c9c4f4c8a539c"
    },
    "length": 1034
   },
   "trusted_root.json": {
    "hashes": {
     "sha256": "6a0c056d20e3e5a7c04f55c2d1f296e7e422edbbf73bf93d36fb8fd2bfe3fcce"
    },
    "length": 6367
   }
  },
  "version": 12,
  "x-tuf-on-ci-expiry-period": 3650,
  "x-tuf-on-ci-signing-period": 31
 }
}"##;

const TRUSTED_ROOT_12: &str = r##"{
  "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  "tlogs": [
    {
      "baseUrl": "https://rekor.sigstore.dev",
      "hashAlgorithm": "SHA2_256",
      "publicKey": {
        "rawBytes": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwrkBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==",
        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        "validFor": {
          "start": "2021-01-12T11:53:27Z"
        }
      },
      "logId": {
        "keyId": "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0="
      }
    }
  ],
  "certificateAuthorities": [
    {
      "subject": {
        "organization": "sigstore.dev",
        "commonName": "sigstore"
      },
      "uri": "https://fulcio.sigstore.dev",
      "certChain": {
        "certificates": [
          {
            "rawBytes": "MIIB+DCCAX6gAwIBAgITNVkDZoCiofPDsy7dfm6geLbuhzAKBggqhkjOPQQDAzAqMRUwEwYDVQQKEwxzaWdzdG9yZS5kZXYxETAPBgNVBAMTCHNpZ3N0b3JlMB4XDTIxMDMwNzAzMjAyOVoXDTMxMDIyMzAzMjAyOVowKjEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MREwDwYDVQQDEwhzaWdzdG9yZTB2MBAGByqGSM49AgEGBSuBBAAiA2IABLSyA7Ii5k+pNO8ZEWY0ylemWDowOkNa3kL+GZE5Z5GWehL9/A9bRNA3RbrsZ5i0JcastaRL7Sp5fp/jD5dxqc/UdTVnlvS16an+2Yfswe/QuLolRUCrcOE2+2iA5+tzd6NmMGQwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwHQYDVR0OBBYEFMjFHQBBmiQpMlEk6w2uSu1KBtPsMB8GA1UdIwQYMBaAFMjFHQBBmiQpMlEk6w2uSu1KBtPsMAoGCCqGSM49BAMDA2gAMGUCMH8liWJfMui6vXXBhjDgY4MwslmN/TJxVe/83WrFomwmNf056y1X48F9c4m3a3ozXAIxAKjRay5/aj/jsKKGIkmQatjI8uupHr/+CxFvaJWmpYqNkLDGRU+9orzh5hI2RrcuaQ=="
          }
        ]
      },
      "validFor": {
        "start": "2021-03-07T03:20:29Z",
        "end": "2022-12-31T23:59:59.999Z"
      }
    },
    {
      "subject": {
        "organization": "sigstore.dev",
        "commonName": "sigstore"
      },
      "uri": "https://fulcio.sigstore.dev",
      "certChain": {
        "certificates": [
          {
            "rawBytes": "MIICGjCCAaGgAwIBAgIUALnViVfnU0brJasmRkHrn/UnfaQwCgYIKoZIzj0EAwMwKjEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MREwDwYDVQQDEwhzaWdzdG9yZTAeFw0yMjA0MTMyMDA2MTVaFw0zMTEwMDUxMzU2NThaMDcxFTATBgNVBAoTDHNpZ3N0b3JlLmRldjEeMBwGA1UEAxMVc2lnc3RvcmUtaW50ZXJtZWRpYXRlMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE8RVS/ysH+NOvuDZyPIZtilgUF9NlarYpAd9HP1vBBH1U5CV77LSS7s0ZiH4nE7Hv7ptS6LvvR/STk798LVgMzLlJ4HeIfF3tHSaexLcYpSASr1kS0N/RgBJz/9jWCiXno3sweTAOBgNVHQ8BAf8EBAMCAQYwEwYDVR0lBAwwCgYIKwYBBQUHAwMwEgYDVR0TAQH/BAgwBgEB/wIBADAdBgNVHQ4EFgQU39Ppz1YkEZb5qNjpKFWixi4YZD8wHwYDVR0jBBgwFoAUWMAeX5FFpWapesyQoZMi0CrFxfowCgYIKoZIzj0EAwMDZwAwZAIwPCsQK4DYiZYDPIaDi5HFKnfxXx6ASSVmERfsynYBiX2X6SJRnZU84/9DZdnFvvxmAjBOt6QpBlc4J/0DxvkTCqpclvziL6BCCPnjdlIB3Pu3BxsPmygUY7Ii2zbdCdliiow="
          },
          {
            "rawBytes": "MIIB9zCCAXygAwIBAgIUALZNAPFdxHPwjeDloDwyYChAO/4wCgYIKoZIzj0EAwMwKjEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MREwDwYDVQQDEwhzaWdzdG9yZTAeFw0yMTEwMDcxMzU2NTlaFw0zMTEwMDUxMzU2NThaMCoxFTATBgNVBAoTDHNpZ3N0b3JlLmRldjERMA8GA1UEAxMIc2lnc3RvcmUwdjAQBgcqhkjOPQIBBgUrgQQAIgNiAAT7XeFT4rb3PQGwS4IajtLk3/OlnpgangaBclYpsYBr5i+4ynB07ceb3LP0OIOZdxexX69c5iVuyJRQ+Hz05yi+UF3uBWAlHpiS5sh0+H2GHE7SXrk1EC5m1Tr19L9gg92jYzBhMA4GA1UdDwEB/wQEAwIBBjAPBgNVHRMBAf8EBTADAQH/MB0GA1UdDgQWBBRYwB5fkUWlZql6zJChkyLQKsXF+jAfBgNVHSMEGDAWgBRYwB5fkUWlZql6zJChkyLQKsXF+jAKBggqhkjOPQQDAwNpADBmAjEAj1nHeXZp+13NWBNa+EDsDP8G1WWg1tCMWP/WHPqpaVo0jhsweNFZgSs0eE7wYI4qAjEA2WB9ot98sIkoF3vZYdd3/VtWB5b9TNMea7Ix/stJ5TfcLLeABLE4BNJOsQ4vnBHJ"
          }
        ]
      },
      "validFor": {
        "start": "2022-04-13T20:06:15Z"
      }
    }
  ],
  "ctlogs": [
    {
      "baseUrl": "https://ctfe.sigstore.dev/test",
      "hashAlgorithm": "SHA2_256",
      "publicKey": {
        "rawBytes": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbfwR+RJudXscgRBRpKX1XFDy3PyudDxz/SfnRi1fT8ekpfBd2O1uoz7jr3Z8nKzxA69EUQ+eFCFI3zeubPWU7w==",
        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        "validFor": {
          "start": "2021-03-14T00:00:00Z",
          "end": "2022-10-31T23:59:59.999Z"
        }
      },
      "logId": {
        "keyId": "CGCS8ChS/2hF0dFrJ4ScRWcYrBY9wzjSbea8IgY2b3I="
      }
    },
    {
      "baseUrl": "https://ctfe.sigstore.dev/2022",
      "hashAlgorithm": "SHA2_256",
      "publicKey": {
        "rawBytes": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEiPSlFi0CmFTfEjCUqF9HuCEcYXNKAaYalIJmBZ8yyezPjTqhxrKBpMnaocVtLJBI1eM3uXnQzQGAJdJ4gs9Fyw==",
        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        "validFor": {
          "start": "2022-10-20T00:00:00Z"
        }
      },
      "logId": {
        "keyId": "3T0wasbHETJjGR4cmWc3AqJKXrjePK3/h4pygC8p7o4="
      }
    }
  ],
  "timestampAuthorities": [
    {
      "subject": {
        "organization": "sigstore.dev",
        "commonName": "sigstore-tsa-selfsigned"
      },
      "uri": "https://timestamp.sigstore.dev/api/v1/timestamp",
      "certChain": {
        "certificates": [
          {
            "rawBytes": "MIICEDCCAZagAwIBAgIUOhNULwyQYe68wUMvy4qOiyojiwwwCgYIKoZIzj0EAwMwOTEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MSAwHgYDVQQDExdzaWdzdG9yZS10c2Etc2VsZnNpZ25lZDAeFw0yNTA0MDgwNjU5NDNaFw0zNTA0MDYwNjU5NDNaMC4xFTATBgNVBAoTDHNpZ3N0b3JlLmRldjEVMBMGA1UEAxMMc2lnc3RvcmUtdHNhMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE4ra2Z8hKNig2T9kFjCAToGG30jky+WQv3BzL+mKvh1SKNR/UwuwsfNCg4sryoYAd8E6isovVA3M4aoNdm9QDi50Z8nTEyvqgfDPtTIwXItfiW/AFf1V7uwkbkAoj0xxco2owaDAOBgNVHQ8BAf8EBAMCB4AwHQYDVR0OBBYEFIn9eUOHz9BlRsMCRscsc1t9tOsDMB8GA1UdIwQYMBaAFJjsAe9/u1H/1JUeb4qImFMHic6/MBYGA1UdJQEB/wQMMAoGCCsGAQUFBwMIMAoGCCqGSM49BAMDA2gAMGUCMDtpsV/6KaO0qyF/UMsX2aSUXKQFdoGTptQGc0ftq1csulHPGG6dsmyMNd3JB+G3EQIxAOajvBcjpJmKb4Nv+2Taoj8Uc5+b6ih6FXCCKraSqupe07zqswMcXJTe1cExvHvvlw=="
          },
          {
            "rawBytes": "MIIB9zCCAXygAwIBAgIUV7f0GLDOoEzIh8LXSW80OJiUp14wCgYIKoZIzj0EAwMwOTEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MSAwHgYDVQQDExdzaWdzdG9yZS10c2Etc2VsZnNpZ25lZDAeFw0yNTA0MDgwNjU5NDNaFw0zNTA0MDYwNjU5NDNaMDkxFTATBgNVBAoTDHNpZ3N0b3JlLmRldjEgMB4GA1UEAxMXc2lnc3RvcmUtdHNhLXNlbGZzaWduZWQwdjAQBgcqhkjOPQIBBgUrgQQAIgNiAAQUQNtfRT/ou3YATa6wB/kKTe70cfJwyRIBovMnt8RcJph/COE82uyS6FmppLLL1VBPGcPfpQPYJNXzWwi8icwhKQ6W/Qe2h3oebBb2FHpwNJDqo+TMaC/tdfkv/ElJB72jRTBDMA4GA1UdDwEB/wQEAwIBBjASBgNVHRMBAf8ECDAGAQH/AgEAMB0GA1UdDgQWBBSY7AHvf7tR/9SVHm+KiJhTB4nOvzAKBggqhkjOPQQDAwNpADBmAjEAwGEGrfGZR1cen1R8/DTVMI943LssZmJRtDp/i7SfGHmGRP6gRbuj9vOK3b67Z0QQAjEAuT2H673LQEaHTcyQSZrkp4mX7WwkmF+sVbkYY5mXN+RMH13KUEHHOqASaemYWK/E"
          }
        ]
      },
      "validFor": {
        "start": "2025-07-04T00:00:00Z"
      }
    }
  ]
}
"##;

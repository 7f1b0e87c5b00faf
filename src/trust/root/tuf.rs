//! TUF: the cache is trusted only as TUF delivered it.
//!
//! The sigstore crate verifies the refresh online (tough, expiry enforced) but keeps no metadata.
//! So the refresh also fetches, verifies and keeps the root chain and the targets metadata; every
//! load re-verifies offline: each cached root version N+1 must be signed by a threshold of root
//! N's root keys and of its own, starting from the root embedded below; `targets.json` must be
//! signed by a threshold of the last root's targets keys and list `trusted_root.json` with the
//! exact length and SHA-256 of the cached file. Nothing in the cache directory can vouch for
//! itself: only signatures chaining to the binary's root do.

use std::path::{Path, PathBuf};

use super::{REFRESH_TIMEOUT, TrustRoot, parse_time};

/// The Sigstore public-good TUF root (version 12) the sigstore crate 0.15 embeds and starts its
/// refresh from (`trust_root/prod/root.json`, identical to sigstore/root-signing
/// `metadata/root_history/12.root.json`). Every cached TUF file must chain to it.
pub const EMBEDDED_TUF_ROOT: &[u8] = TUF_ROOT_12.as_bytes();
/// The cache subdirectory holding the TUF metadata kept from the last refresh: `N.root.json`
/// for every root version after the embedded one, and `targets.json`.
pub const TUF_DIR: &str = "tuf";
/// Lowest targets metadata version a cache may hold: version 13 is the first that lists the
/// embedded `trusted_root.json`, so a verified cache is never older than the embedded root
/// (a planted, genuinely signed but older targets file is a rollback and is refused).
pub const MIN_TARGETS_VERSION: u64 = 13;
/// Largest TUF metadata file read or downloaded.
pub const MAX_TUF_METADATA_SIZE: u64 = 1024 * 1024;
/// Most root rotations followed past the embedded root.
pub const MAX_ROOT_ROTATIONS: u64 = 64;
/// The public-good TUF repository (the sigstore crate's `SIGSTORE_METADATA_BASE`).
const TUF_BASE: &str = "https://tuf-repo-cdn.sigstore.dev";
const TARGET_NAME: &str = "trusted_root.json";

/// Why a cached root was not trusted (only ever shown in a warning).
#[derive(Debug, thiserror::Error)]
pub(super) enum Untrusted {
    #[error("cannot read {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("{path} has no TUF metadata to verify it against")]
    NoMetadata { path: PathBuf },
    #[error("{what} is not TUF metadata: {detail}")]
    Malformed { what: String, detail: String },
    #[error(
        "{what} is not signed by {threshold} of the {role} keys of TUF root v{root_version} ({valid} valid)"
    )]
    Signatures {
        what: String,
        role: String,
        threshold: u64,
        valid: u64,
        root_version: u64,
    },
    #[error("{what} has version {found}, expected {expected}")]
    Version {
        what: String,
        found: u64,
        expected: u64,
    },
    #[error("TUF targets v{version} does not list {TARGET_NAME}")]
    NotListed { version: u64 },
    #[error("{path} does not match TUF targets v{version}: {detail}")]
    TargetMismatch {
        path: PathBuf,
        version: u64,
        detail: String,
    },
    #[error("{what} expired at {expires}")]
    Expired { what: String, expires: String },
    #[error("{detail}")]
    Network { detail: String },
}

/// A verified cache: the root it holds, the exact bytes that were verified, and the warnings to
/// show (expired metadata).
pub(super) struct Verified {
    pub(super) root: TrustRoot,
    bytes: Vec<u8>,
    pub(super) warnings: Vec<String>,
}

/// One role of a TUF root: which keys, how many must sign.
struct Role {
    keyids: Vec<String>,
    threshold: u64,
}

/// A TUF root whose signatures have been checked.
struct TufRoot {
    version: u64,
    expires: String,
    keys: std::collections::BTreeMap<String, crate::keys::PublicKey>,
    roles: std::collections::BTreeMap<String, Role>,
}

/// A parsed metadata file: the `signed` part, its canonical bytes and the signatures.
struct Envelope {
    signed: serde_json::Value,
    canonical: Vec<u8>,
    signatures: Vec<(String, Vec<u8>)>,
    what: String,
}

fn malformed(what: &str, detail: impl Into<String>) -> Untrusted {
    Untrusted::Malformed {
        what: what.to_owned(),
        detail: detail.into(),
    }
}

/// OLPC canonical JSON, as TUF signs it: sorted keys, no whitespace, only `"` and `\` escaped,
/// integers only.
fn canonical_json(v: &serde_json::Value, out: &mut Vec<u8>) -> Result<(), String> {
    use serde_json::Value;
    fn string(s: &str, out: &mut Vec<u8>) {
        out.push(b'"');
        for b in s.bytes() {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    }
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                return Err(format!("non-integer number {n}"));
            }
        }
        Value::String(s) => string(s, out),
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_json(x, out)?;
            }
            out.push(b']');
        }
        Value::Object(m) => {
            let mut entries: Vec<_> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, x)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(k, out);
                out.push(b':');
                canonical_json(x, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

impl Envelope {
    fn parse(bytes: &[u8], what: &str, expected_type: &str) -> Result<Self, Untrusted> {
        let mut doc: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| malformed(what, e.to_string()))?;
        let signed = doc
            .get_mut("signed")
            .map(serde_json::Value::take)
            .ok_or_else(|| malformed(what, "no `signed`"))?;
        let mut canonical = Vec::new();
        canonical_json(&signed, &mut canonical).map_err(|d| malformed(what, d))?;
        let signatures = doc
            .get("signatures")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| malformed(what, "no `signatures`"))?
            .iter()
            .filter_map(|s| {
                let keyid = s.get("keyid")?.as_str()?;
                let sig = hex::decode(s.get("sig")?.as_str()?).ok()?;
                (!sig.is_empty()).then(|| (keyid.to_owned(), sig))
            })
            .collect();
        let found = signed.get("_type").and_then(serde_json::Value::as_str);
        if found != Some(expected_type) {
            return Err(malformed(
                what,
                format!("_type is {found:?}, expected `{expected_type}`"),
            ));
        }
        Ok(Self {
            signed,
            canonical,
            signatures,
            what: what.to_owned(),
        })
    }

    fn version(&self) -> Result<u64, Untrusted> {
        self.signed
            .get("version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| malformed(&self.what, "no integer `version`"))
    }

    fn expires(&self) -> Result<String, Untrusted> {
        let e = self
            .signed
            .get("expires")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| malformed(&self.what, "no `expires`"))?;
        parse_time(e).map_err(|d| malformed(&self.what, d))?;
        Ok(e.to_owned())
    }

    /// Counts distinct keys of `role` in `root` that signed; fails below the threshold.
    fn verify_role(&self, root: &TufRoot, role: &str) -> Result<(), Untrusted> {
        let r = root
            .roles
            .get(role)
            .ok_or_else(|| malformed(&format!("TUF root v{}", root.version), role))?;
        let mut signed_by = std::collections::BTreeSet::new();
        for (keyid, sig) in &self.signatures {
            if r.keyids.contains(keyid)
                && let Some(key) = root.keys.get(keyid)
                && key.verify(&self.canonical, sig)
            {
                signed_by.insert(keyid.as_str());
            }
        }
        let valid = signed_by.len() as u64;
        if r.threshold == 0 || valid < r.threshold {
            return Err(Untrusted::Signatures {
                what: self.what.clone(),
                role: role.to_owned(),
                threshold: r.threshold,
                valid,
                root_version: root.version,
            });
        }
        Ok(())
    }
}

impl TufRoot {
    /// Reads the keys and roles of a root envelope (its signatures are checked by the caller).
    fn from_envelope(env: &Envelope) -> Result<Self, Untrusted> {
        let what = env.what.as_str();
        let mut keys = std::collections::BTreeMap::new();
        let raw_keys = env
            .signed
            .get("keys")
            .and_then(serde_json::Value::as_object)
            .ok_or_else(|| malformed(what, "no `keys`"))?;
        for (id, k) in raw_keys {
            // Only ECDSA P-256 keys are used by the public-good repository; a key of another
            // type can never count towards a threshold.
            let scheme = k.get("scheme").and_then(serde_json::Value::as_str);
            let pem = k
                .get("keyval")
                .and_then(|v| v.get("public"))
                .and_then(serde_json::Value::as_str);
            if scheme == Some("ecdsa-sha2-nistp256")
                && let Some(pem) = pem
                && let Ok(key) = crate::keys::public_key_from_pem(pem)
            {
                keys.insert(id.clone(), key);
            }
        }
        let mut roles = std::collections::BTreeMap::new();
        let raw_roles = env
            .signed
            .get("roles")
            .and_then(serde_json::Value::as_object)
            .ok_or_else(|| malformed(what, "no `roles`"))?;
        for (name, r) in raw_roles {
            let keyids = r
                .get("keyids")
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| malformed(what, format!("role {name} has no keyids")))?
                .iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect();
            let threshold = r
                .get("threshold")
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| malformed(what, format!("role {name} has no threshold")))?;
            roles.insert(name.clone(), Role { keyids, threshold });
        }
        Ok(Self {
            version: env.version()?,
            expires: env.expires()?,
            keys,
            roles,
        })
    }

    /// The embedded root, checked against its own root keys.
    fn embedded() -> Result<Self, Untrusted> {
        let env = Envelope::parse(EMBEDDED_TUF_ROOT, "embedded TUF root", "root")?;
        let root = Self::from_envelope(&env)?;
        env.verify_role(&root, "root")?;
        Ok(root)
    }

    /// Accepts root version N+1 only if signed by a threshold of this root's root keys and of
    /// its own (TUF 1.0 §5.3.4–5.3.5).
    fn rotate(&self, bytes: &[u8], what: &str) -> Result<Self, Untrusted> {
        let env = Envelope::parse(bytes, what, "root")?;
        env.verify_role(self, "root")?;
        let next = Self::from_envelope(&env)?;
        env.verify_role(&next, "root")?;
        if next.version != self.version + 1 {
            return Err(Untrusted::Version {
                what: what.to_owned(),
                found: next.version,
                expected: self.version + 1,
            });
        }
        Ok(next)
    }
}

/// Verified targets metadata: the entry for `trusted_root.json`.
struct Targets {
    version: u64,
    expires: String,
    length: u64,
    sha256: String,
}

fn verify_targets(root: &TufRoot, bytes: &[u8], what: &str) -> Result<Targets, Untrusted> {
    let env = Envelope::parse(bytes, what, "targets")?;
    env.verify_role(root, "targets")?;
    let version = env.version()?;
    let entry = env
        .signed
        .get("targets")
        .and_then(|t| t.get(TARGET_NAME))
        .ok_or(Untrusted::NotListed { version })?;
    let length = entry
        .get("length")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| malformed(what, "target has no length"))?;
    let sha256 = entry
        .get("hashes")
        .and_then(|h| h.get("sha256"))
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| malformed(what, "target has no sha256"))?
        .to_ascii_lowercase();
    Ok(Targets {
        version,
        expires: env.expires()?,
        length,
        sha256,
    })
}

fn read_cached(path: &Path) -> Result<Vec<u8>, Untrusted> {
    crate::io::read_bounded(path, MAX_TUF_METADATA_SIZE).map_err(|e| Untrusted::Read {
        path: path.to_owned(),
        detail: match e {
            crate::io::BoundedReadError::TooLarge => {
                format!("larger than {MAX_TUF_METADATA_SIZE} bytes")
            }
            crate::io::BoundedReadError::Io(e) => e.to_string(),
        },
    })
}

pub(super) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Re-verifies the cache in `dir`: `Ok(None)` when nothing is cached, the verified root when the
/// cached `trusted_root.json` is the one signed TUF targets metadata lists, an error otherwise.
/// Expired metadata is reported in the warnings, not refused: the signatures still bind the
/// file, and [`MIN_TARGETS_VERSION`] keeps it at least as new as the embedded root.
pub(super) fn verify_cache(dir: &Path, now: i64) -> Result<Option<Verified>, Untrusted> {
    let target_path = dir.join(TARGET_NAME);
    if !target_path.exists() {
        return Ok(None);
    }
    let tuf = dir.join(TUF_DIR);
    let targets_path = tuf.join("targets.json");
    if !targets_path.exists() {
        return Err(Untrusted::NoMetadata { path: target_path });
    }
    let anchor_version;
    let mut root = {
        let anchor = TufRoot::embedded()?;
        anchor_version = anchor.version;
        anchor
    };
    for _ in 0..MAX_ROOT_ROTATIONS {
        let p = tuf.join(format!("{}.root.json", root.version + 1));
        if !p.exists() {
            break;
        }
        root = root.rotate(&read_cached(&p)?, &p.display().to_string())?;
    }
    let targets = verify_targets(
        &root,
        &read_cached(&targets_path)?,
        &targets_path.display().to_string(),
    )?;
    if targets.version < MIN_TARGETS_VERSION {
        return Err(Untrusted::Version {
            what: targets_path.display().to_string(),
            found: targets.version,
            expected: MIN_TARGETS_VERSION,
        });
    }
    let bytes = read_cached(&target_path)?;
    let mismatch = |detail: String| Untrusted::TargetMismatch {
        path: target_path.clone(),
        version: targets.version,
        detail,
    };
    if bytes.len() as u64 != targets.length {
        return Err(mismatch(format!(
            "length {} instead of {}",
            bytes.len(),
            targets.length
        )));
    }
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    if digest != targets.sha256 {
        return Err(mismatch(format!(
            "sha256 {digest} instead of {}",
            targets.sha256
        )));
    }
    let source = format!(
        "cached TUF refresh ({}), verified against TUF targets v{} signed under TUF root v{} chained from the embedded root v{}",
        target_path.display(),
        targets.version,
        root.version,
        anchor_version
    );
    let root_obj = TrustRoot::from_json(&bytes, &source).map_err(|e| Untrusted::Malformed {
        what: target_path.display().to_string(),
        detail: e.to_string(),
    })?;
    let mut warnings = Vec::new();
    for (what, expires) in [
        (format!("TUF root v{}", root.version), &root.expires),
        (
            format!("TUF targets v{}", targets.version),
            &targets.expires,
        ),
    ] {
        if parse_time(expires).is_ok_and(|t| t < now) {
            warnings.push(format!(
                "warning: the cached {}; its signatures still verify, so the cached trusted root is used (go online to refresh it)",
                Untrusted::Expired {
                    what,
                    expires: expires.clone()
                }
            ));
        }
    }
    Ok(Some(Verified {
        root: root_obj,
        bytes,
        warnings,
    }))
}

/// GETs `url` with a size bound; `None` when the repository has no such file (403/404).
async fn get(client: &reqwest::Client, url: &str) -> Result<Option<Vec<u8>>, Untrusted> {
    let net = |e: reqwest::Error| Untrusted::Network {
        detail: format!("{url}: {e}"),
    };
    let mut resp = client.get(url).send().await.map_err(net)?;
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::FORBIDDEN {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(Untrusted::Network {
            detail: format!("{url}: HTTP {status}"),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(net)? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > MAX_TUF_METADATA_SIZE {
            return Err(Untrusted::Network {
                detail: format!("{url}: larger than {MAX_TUF_METADATA_SIZE} bytes"),
            });
        }
    }
    Ok(Some(body))
}

fn meta_version(env: &Envelope, file: &str) -> Result<u64, Untrusted> {
    env.signed
        .get("meta")
        .and_then(|m| m.get(file))
        .and_then(|f| f.get("version"))
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| malformed(&env.what, format!("no version for {file}")))
}

/// Downloads and verifies (expiry enforced) the root chain, timestamp, snapshot and targets
/// metadata the refresh is checked against. Returns the files to keep in [`TUF_DIR`]: the root
/// versions after the embedded one, and `targets.json`. Timestamp and snapshot only prove
/// freshness, which no later offline load could judge, so they are checked here and not kept.
async fn fetch_metadata(now: i64) -> Result<Vec<(String, Vec<u8>)>, Untrusted> {
    let client = reqwest::Client::new();
    let mut keep = Vec::new();
    let mut root = TufRoot::embedded()?;
    for _ in 0..MAX_ROOT_ROTATIONS {
        let name = format!("{}.root.json", root.version + 1);
        let Some(bytes) = get(&client, &format!("{TUF_BASE}/{name}")).await? else {
            break;
        };
        root = root.rotate(&bytes, &name)?;
        keep.push((name, bytes));
    }
    let fresh = |what: String, expires: &str| {
        if parse_time(expires).is_ok_and(|t| t < now) {
            Err(Untrusted::Expired {
                what,
                expires: expires.to_owned(),
            })
        } else {
            Ok(())
        }
    };
    fresh(format!("TUF root v{}", root.version), &root.expires)?;
    let ts_bytes = get(&client, &format!("{TUF_BASE}/timestamp.json"))
        .await?
        .ok_or_else(|| malformed("timestamp.json", "not found"))?;
    let ts = Envelope::parse(&ts_bytes, "timestamp.json", "timestamp")?;
    ts.verify_role(&root, "timestamp")?;
    fresh("timestamp.json".into(), &ts.expires()?)?;
    let snap_name = format!("{}.snapshot.json", meta_version(&ts, "snapshot.json")?);
    let snap_bytes = get(&client, &format!("{TUF_BASE}/{snap_name}"))
        .await?
        .ok_or_else(|| malformed(&snap_name, "not found"))?;
    let snap = Envelope::parse(&snap_bytes, &snap_name, "snapshot")?;
    snap.verify_role(&root, "snapshot")?;
    fresh(snap_name.clone(), &snap.expires()?)?;
    let targets_version = meta_version(&snap, "targets.json")?;
    let targets_name = format!("{targets_version}.targets.json");
    let targets_bytes = get(&client, &format!("{TUF_BASE}/{targets_name}"))
        .await?
        .ok_or_else(|| malformed(&targets_name, "not found"))?;
    let targets = verify_targets(&root, &targets_bytes, &targets_name)?;
    if targets.version != targets_version {
        return Err(Untrusted::Version {
            what: targets_name,
            found: targets.version,
            expected: targets_version,
        });
    }
    fresh(targets_name, &targets.expires)?;
    keep.push(("targets.json".to_owned(), targets_bytes));
    Ok(keep)
}

/// Refreshes the public-good trusted root over TUF into `dir`: the sigstore crate (tough)
/// fetches and verifies `trusted_root.json`; the root chain and targets metadata are fetched
/// and verified alongside and kept in `dir/tuf/`, and the cache is installed only if the two
/// agree, so the next load can re-verify it offline.
pub(super) fn refresh(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let work = tempfile::tempdir_in(dir).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let work_path = work.path().to_owned();
    let now = unix_now();
    let result = rt.block_on(async {
        tokio::time::timeout(REFRESH_TIMEOUT, async {
            sigstore::trust::sigstore::SigstoreTrustRoot::new(Some(&work_path))
                .await
                .map_err(|e| e.to_string())?;
            fetch_metadata(now).await.map_err(|e| e.to_string())
        })
        .await
    });
    // A DNS lookup stuck in a blocking thread must not hold the process: dropping a runtime
    // waits for its blocking tasks, shutting it down in the background does not.
    rt.shutdown_background();
    let metadata =
        result.map_err(|_| format!("timed out after {} s", REFRESH_TIMEOUT.as_secs()))??;
    // Lay the new cache out in the work directory and verify it exactly as load will.
    let work_tuf = work.path().join(TUF_DIR);
    std::fs::create_dir_all(&work_tuf).map_err(|e| e.to_string())?;
    for (name, bytes) in &metadata {
        std::fs::write(work_tuf.join(name), bytes).map_err(|e| e.to_string())?;
    }
    // The bytes installed are the ones verified, not a second read of a file that lies in a
    // directory others may write to.
    let target = verify_cache(work.path(), now)
        .map_err(|e| format!("the refreshed root does not verify: {e}"))?
        .ok_or_else(|| format!("TUF wrote no {TARGET_NAME}"))?
        .bytes;
    // Install: metadata first (new root versions only add to the chain), the target last. A
    // load in between sees a mismatch and falls back to the embedded root with a warning.
    let tuf = dir.join(TUF_DIR);
    std::fs::create_dir_all(&tuf).map_err(|e| format!("cannot create {}: {e}", tuf.display()))?;
    for (name, bytes) in &metadata {
        crate::io::write_atomic(&tuf.join(name), bytes, Some(0o644), true)
            .map_err(|e| e.to_string())?;
    }
    crate::io::write_atomic(&dir.join(TARGET_NAME), &target, Some(0o644), true)
        .map_err(|e| e.to_string())
}

/// The TUF root every cached refresh must chain from: sigstore/root-signing
/// `metadata/root_history/12.root.json`, byte for byte (as the sigstore crate 0.15 embeds it).
const TUF_ROOT_12: &str = include_str!("../../../data/trust/tuf_root_12.json");
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn embedded_tuf_root_verifies_against_its_own_keys() {
        // Proves the canonical JSON matches what the Sigstore root signers signed.
        let root = TufRoot::embedded().unwrap();
        assert_eq!(root.version, 12);
        assert_eq!(root.roles["targets"].threshold, 3);
    }

    #[test]
    fn canonical_json_sorts_keys_and_escapes_only_quote_and_backslash() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{ "b": [1, true, null], "a": "x\"\\\n" }"#).unwrap();
        let mut out = Vec::new();
        canonical_json(&v, &mut out).unwrap();
        assert_eq!(out, b"{\"a\":\"x\\\"\\\\\n\",\"b\":[1,true,null]}");
        assert!(canonical_json(&serde_json::json!(1.5), &mut Vec::new()).is_err());
    }

    #[test]
    fn an_altered_root_is_not_a_rotation() {
        // The embedded root relabelled as version 13: its signatures no longer cover what it
        // says, so neither the old nor the "new" root keys vouch for it.
        let anchor = TufRoot::embedded().unwrap();
        let mut doc: serde_json::Value = serde_json::from_slice(EMBEDDED_TUF_ROOT).unwrap();
        doc["signed"]["version"] = serde_json::json!(13);
        let bytes = serde_json::to_vec(&doc).unwrap();
        assert!(matches!(
            anchor.rotate(&bytes, "13.root.json"),
            Err(Untrusted::Signatures { .. })
        ));
    }

    #[test]
    fn an_empty_cache_dir_is_not_an_error() {
        let d = tempfile::tempdir().unwrap();
        assert!(verify_cache(d.path(), 0).unwrap().is_none());
    }

    #[test]
    fn one_key_signing_twice_counts_once_towards_the_threshold() {
        let k = crate::keys::PrivateKey::generate().unwrap();
        let id = "k".to_owned();
        let root = TufRoot {
            version: 1,
            expires: "2030-01-01T00:00:00Z".into(),
            keys: [(id.clone(), k.public_key().unwrap())]
                .into_iter()
                .collect(),
            roles: [(
                "targets".to_owned(),
                Role {
                    keyids: vec![id.clone()],
                    threshold: 2,
                },
            )]
            .into_iter()
            .collect(),
        };
        let signed = serde_json::json!({"_type": "targets", "version": 1});
        let mut canonical = Vec::new();
        canonical_json(&signed, &mut canonical).unwrap();
        use p256::ecdsa::signature::Signer as _;
        let sig: p256::ecdsa::Signature = k.signing_key().sign(&canonical);
        let sig = sig.to_der().as_bytes().to_vec();
        let env = Envelope {
            signed,
            canonical,
            signatures: vec![(id.clone(), sig.clone()), (id, sig)],
            what: "t".into(),
        };
        assert!(matches!(
            env.verify_role(&root, "targets"),
            Err(Untrusted::Signatures { valid: 1, .. })
        ));
    }
}

//! The Sigstore trusted root: which Fulcio CAs, Rekor logs and CT logs a keyless signature may
//! chain to. The public-good root is embedded in the binary so verification needs no network;
//! `--trust-root FILE` pins another (a private Sigstore deployment, or test fakes); a TUF refresh
//! of the public-good root may run when online, and its failure is only ever a warning.
//!
//! Nothing read from the cache directory is trusted because of where it lies. The refresh keeps
//! the TUF metadata that vouched for the refreshed `trusted_root.json` (`tuf/N.root.json` for
//! each root version after the embedded TUF root, and `tuf/targets.json`), and every load
//! re-verifies the cache against it: the root chain from the TUF root embedded in the binary,
//! the targets signatures, and the file's length and SHA-256. A cache that does not verify is
//! ignored with a warning, online or `--offline`; expired but genuinely signed metadata is used
//! with a warning (never older than the embedded root, see [`MIN_TARGETS_VERSION`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;

mod tuf;

pub use tuf::{
    EMBEDDED_TUF_ROOT, MAX_ROOT_ROTATIONS, MAX_TUF_METADATA_SIZE, MIN_TARGETS_VERSION, TUF_DIR,
};
use tuf::{refresh, unix_now, verify_cache};

/// The public-good `trusted_root.json`, as sigstore-python 4.5.1 ships it in its TUF cache
/// (identical to the sigstore crate 0.15's `tests/data/sigstore_trusted_root.json`).
pub const EMBEDDED_TRUSTED_ROOT: &[u8] = include_bytes!("../../../data/trust/trusted_root.json");
/// The `source` of the embedded root, as reports show it.
pub const EMBEDDED_SOURCE: &str = "embedded public-good trusted root (sigstore-python 4.5.1)";
/// Largest trusted root read from a file.
pub const MAX_TRUST_ROOT_SIZE: u64 = 1024 * 1024;
/// How long a TUF refresh may take before verification goes on with what it has.
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(5);
/// A cached refresh younger than this is used without asking the network again.
pub const REFRESH_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// After a failed refresh, the next attempt waits this long (no 5 s stall on every verify).
pub const RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Errors loading a trusted root.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read trusted root {path}: {source}; check the --trust-root path")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not a trusted root.
    #[error(
        "{origin} is not a Sigstore trusted_root.json: {detail}; pass a file in the protobuf-specs TrustedRoot JSON format"
    )]
    Malformed {
        /// Where it came from.
        origin: String,
        /// What is wrong.
        detail: String,
    },
}

impl Error {
    /// Exit-code class: a bad or unreadable trust root is bad input.
    pub fn class(&self) -> crate::Class {
        crate::Class::Input
    }
}

/// A validity window (`validFor`), in Unix seconds; an open end is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub start: Option<i64>,
    /// Inclusive end.
    pub end: Option<i64>,
}

impl TimeRange {
    /// Whether `t` (Unix seconds) falls in the window.
    pub fn contains(&self, t: i64) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t <= e)
    }
}

/// A certificate authority (Fulcio): its chain, issuing certificate first, root last.
#[derive(Clone, Debug)]
pub struct CertificateAuthority {
    /// The CA's URI.
    pub uri: String,
    /// DER certificates, issuing certificate first, self-signed root last.
    pub chain: Vec<Vec<u8>>,
    /// When the CA may have issued certificates.
    pub valid_for: TimeRange,
}

/// A transparency or CT log key.
#[derive(Clone, Debug)]
pub struct LogKey {
    /// The log's base URL.
    pub base_url: String,
    /// The log id: SHA-256 of the DER public key.
    pub key_id: Vec<u8>,
    /// DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
    /// When the key was in use.
    pub valid_for: TimeRange,
}

/// A parsed trusted root.
#[derive(Clone, Debug)]
pub struct TrustRoot {
    /// Where it came from (for reports): `embedded public-good`, a file path, or the TUF cache.
    pub source: String,
    /// Fulcio CAs.
    pub certificate_authorities: Vec<CertificateAuthority>,
    /// Rekor logs.
    pub tlogs: Vec<LogKey>,
    /// Certificate Transparency logs.
    pub ctlogs: Vec<LogKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    media_type: String,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawCa>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    #[serde(default)]
    base_url: String,
    public_key: RawPublicKey,
    log_id: RawLogId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPublicKey {
    raw_bytes: Option<String>,
    valid_for: Option<RawRange>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
struct RawRange {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCa {
    #[serde(default)]
    uri: String,
    cert_chain: RawChain,
    valid_for: Option<RawRange>,
}

#[derive(Deserialize)]
struct RawChain {
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: String,
}

fn parse_time(s: &str) -> Result<i64, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("bad time `{s}`: {e}"))
}

fn range(r: Option<&RawRange>) -> Result<TimeRange, String> {
    let Some(r) = r else {
        return Ok(TimeRange::default());
    };
    Ok(TimeRange {
        start: r.start.as_deref().map(parse_time).transpose()?,
        end: r.end.as_deref().map(parse_time).transpose()?,
    })
}

fn b64(s: &str, what: &str) -> Result<Vec<u8>, String> {
    B64.decode(s.trim())
        .map_err(|e| format!("{what} is not base64: {e}"))
}

fn logs(raw: &[RawLog]) -> Result<Vec<LogKey>, String> {
    raw.iter()
        .filter_map(|l| {
            let spki = l.public_key.raw_bytes.as_deref()?;
            Some((|| {
                Ok(LogKey {
                    base_url: l.base_url.clone(),
                    key_id: b64(&l.log_id.key_id, "logId.keyId")?,
                    spki: b64(spki, "publicKey.rawBytes")?,
                    valid_for: range(l.public_key.valid_for.as_ref())?,
                })
            })())
        })
        .collect()
}

impl TrustRoot {
    /// Parses `trusted_root.json` bytes; `source` names it in reports and errors.
    pub fn from_json(bytes: &[u8], source: &str) -> Result<Self, Error> {
        let malformed = |detail: String| Error::Malformed {
            origin: source.to_owned(),
            detail,
        };
        let raw: RawRoot = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        if !raw
            .media_type
            .starts_with("application/vnd.dev.sigstore.trustedroot")
        {
            return Err(malformed(format!("mediaType is `{}`", raw.media_type)));
        }
        let mut cas = Vec::new();
        for ca in &raw.certificate_authorities {
            let chain = ca
                .cert_chain
                .certificates
                .iter()
                .map(|c| b64(&c.raw_bytes, "certificate"))
                .collect::<Result<Vec<_>, _>>()
                .map_err(malformed)?;
            if chain.is_empty() {
                return Err(malformed(format!("CA {} has no certificates", ca.uri)));
            }
            cas.push(CertificateAuthority {
                uri: ca.uri.clone(),
                chain,
                valid_for: range(ca.valid_for.as_ref()).map_err(malformed)?,
            });
        }
        Ok(Self {
            source: source.to_owned(),
            certificate_authorities: cas,
            tlogs: logs(&raw.tlogs).map_err(malformed)?,
            ctlogs: logs(&raw.ctlogs).map_err(malformed)?,
        })
    }

    /// The embedded public-good root.
    pub fn embedded() -> Result<Self, Error> {
        Self::from_json(EMBEDDED_TRUSTED_ROOT, EMBEDDED_SOURCE)
    }

    /// Reads a pinned `trusted_root.json` (bounded).
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let bytes = crate::io::read_bounded(path, MAX_TRUST_ROOT_SIZE).map_err(|e| match e {
            crate::io::BoundedReadError::TooLarge => Error::Malformed {
                origin: path.display().to_string(),
                detail: format!("larger than {MAX_TRUST_ROOT_SIZE} bytes"),
            },
            crate::io::BoundedReadError::Io(source) => Error::Read {
                path: path.to_owned(),
                source,
            },
        })?;
        Self::from_json(&bytes, &path.display().to_string())
    }

    /// The Rekor log whose key id is `key_id`.
    pub fn tlog(&self, key_id: &[u8]) -> Option<&LogKey> {
        self.tlogs.iter().find(|l| l.key_id == key_id)
    }

    /// The CT log whose key id is `key_id`.
    pub fn ctlog(&self, key_id: &[u8]) -> Option<&LogKey> {
        self.ctlogs.iter().find(|l| l.key_id == key_id)
    }
}

/// Where the trusted root comes from.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// A pinned file (`--trust-root`): used as it is, never refreshed.
    pub pinned: Option<PathBuf>,
    /// Skip the TUF refresh (`--offline`). A cache that verifies against the embedded TUF root
    /// is still used; offline never means "trust whatever is cached".
    pub offline: bool,
    /// Where a refreshed root is cached (default `$PROVENANCE_HOME/trust`).
    pub cache_dir: Option<PathBuf>,
}

/// `$PROVENANCE_HOME/trust`, else `$XDG_DATA_HOME/provenance/trust`, else
/// `~/.local/share/provenance/trust`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("PROVENANCE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(h).join("trust"));
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("provenance").join("trust"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".local/share/provenance/trust"))
}

/// Loads the trusted root: the pinned file; else, unless offline, a TUF refresh of the
/// public-good root (bounded by [`REFRESH_TIMEOUT`], at most once per [`REFRESH_MAX_AGE`]);
/// else the cached refresh, but only if it verifies against the TUF metadata kept with it
/// (see [`TUF_DIR`]); else the embedded root. A failed refresh or a cache that does not verify
/// calls `warn` once and never fails verification: the embedded root is used instead.
pub fn load(opts: &Options, warn: &dyn Fn(&str)) -> Result<TrustRoot, Error> {
    if let Some(p) = &opts.pinned {
        return TrustRoot::from_file(p);
    }
    let Some(dir) = opts.cache_dir.clone().or_else(default_cache_dir) else {
        return TrustRoot::embedded();
    };
    let mut cached = verify_cache(&dir, unix_now());
    if !opts.offline {
        let younger = |p: &Path, max: Duration| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age < max)
        };
        let attempt = dir.join("last-refresh-attempt");
        // A cache that does not verify is never "fresh": planting one must not hold off the
        // refresh that would replace it.
        let fresh = (matches!(cached, Ok(Some(_)))
            && younger(&dir.join(TUF_DIR).join("targets.json"), REFRESH_MAX_AGE))
            || younger(&attempt, RETRY_AFTER);
        if !fresh {
            let r = refresh(&dir);
            let _ = std::fs::write(&attempt, b"");
            match r {
                Ok(()) => cached = verify_cache(&dir, unix_now()),
                Err(e) => warn(&format!(
                    "warning: could not refresh the Sigstore trusted root over TUF ({e}); using the {} root (pass --offline to skip the refresh)",
                    if matches!(cached, Ok(Some(_))) {
                        "verified cached"
                    } else {
                        "embedded"
                    }
                )),
            }
        }
    }
    match cached {
        Ok(Some(v)) => {
            for w in &v.warnings {
                warn(w);
            }
            Ok(v.root)
        }
        Ok(None) => TrustRoot::embedded(),
        Err(e) => {
            warn(&format!(
                "warning: ignoring the cached Sigstore trusted root in {}: {e}; using the embedded root (delete that directory, or go online to refresh it)",
                dir.display()
            ));
            TrustRoot::embedded()
        }
    }
}
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn embedded_root_names_public_good_services() {
        let r = TrustRoot::embedded().unwrap();
        assert!(
            r.tlogs
                .iter()
                .any(|l| l.base_url == "https://rekor.sigstore.dev")
        );
        assert_eq!(r.certificate_authorities.len(), 2);
        assert!(r.ctlogs.len() >= 2);
        // The 2021 CT log key expired; its window is kept for old certificates.
        assert!(r.ctlogs.iter().any(|l| l.valid_for.end.is_some()));
    }

    #[test]
    fn rejects_a_file_that_is_not_a_trusted_root() {
        assert!(matches!(
            TrustRoot::from_json(br#"{"mediaType":"x"}"#, "t"),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn time_range_is_inclusive_and_open_ended() {
        let r = TimeRange {
            start: Some(10),
            end: None,
        };
        assert!(r.contains(10) && r.contains(i64::MAX) && !r.contains(9));
    }
}

//! Which Sigstore deployment to sign with: public-good by default, or a private one named by
//! `--fulcio-url`/`--rekor-url`, or by sigstore's ClientTrustConfig (`--trust-config`), whose
//! `signingConfig` lists the service URLs. Explicit flags win over the file.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Error;

/// Public-good Fulcio.
pub const PUBLIC_FULCIO: &str = "https://fulcio.sigstore.dev";
/// Public-good Rekor.
pub const PUBLIC_REKOR: &str = "https://rekor.sigstore.dev";
/// Largest trust config read (the public one is ~10 KiB).
const MAX_TRUST_CONFIG: u64 = 4 * 1024 * 1024;

/// A validated keyless deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Fulcio base URL (no trailing slash).
    pub fulcio_url: String,
    /// Rekor base URL (no trailing slash).
    pub rekor_url: String,
    /// If set, tokens from any other issuer are refused before anything is sent.
    pub oidc_issuer: Option<String>,
}

/// What the user asked for, before validation.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `--fulcio-url`.
    pub fulcio_url: Option<String>,
    /// `--rekor-url`.
    pub rekor_url: Option<String>,
    /// `--oidc-issuer`.
    pub oidc_issuer: Option<String>,
    /// `--trust-config`.
    pub trust_config: Option<PathBuf>,
}

/// An http(s) URL with a host; plain http only to loopback, since the identity token (Fulcio)
/// and the signed statement (Rekor) would otherwise cross the network in clear.
fn check_url(what: &'static str, url: &str) -> Result<String, Error> {
    let bad = || Error::BadUrl {
        what,
        url: url.to_owned(),
    };
    let u = reqwest::Url::parse(url).map_err(|_| bad())?;
    let host = u.host_str().ok_or_else(bad)?;
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match u.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::InsecureUrl {
                what,
                url: url.to_owned(),
            });
        }
        _ => return Err(bad()),
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The first v1 service URL in a signingConfig list (`caUrls`, `rekorTlogUrls`, `oidcUrls`).
fn first_url(signing: &Value, list: &str) -> Option<String> {
    signing
        .get(list)?
        .as_array()?
        .iter()
        .filter(|s| {
            s.get("majorApiVersion")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                == 1
        })
        .find_map(|s| s.get("url").and_then(Value::as_str).map(str::to_owned))
}

/// Service URLs from a ClientTrustConfig file: (Fulcio, Rekor). Its `oidcUrls` name the login
/// provider of an interactive flow, not a token issuer to require, so they are not used.
fn from_trust_config(path: &Path) -> Result<(String, String), Error> {
    let err = |detail: String| Error::TrustConfig {
        path: path.to_owned(),
        detail,
    };
    let bytes = crate::io::read_bounded(path, MAX_TRUST_CONFIG).map_err(|e| match e {
        crate::io::BoundedReadError::TooLarge => {
            err(format!("larger than {MAX_TRUST_CONFIG} bytes"))
        }
        crate::io::BoundedReadError::Io(e) => err(format!("cannot read it: {e}")),
    })?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| err(format!("not JSON: {e}")))?;
    let signing = v
        .get("signingConfig")
        .ok_or_else(|| err("no signingConfig".into()))?;
    let fulcio = first_url(signing, "caUrls")
        .ok_or_else(|| err("no v1 URL in signingConfig.caUrls".into()))?;
    let rekor = first_url(signing, "rekorTlogUrls")
        .ok_or_else(|| err("no v1 URL in signingConfig.rekorTlogUrls".into()))?;
    Ok((fulcio, rekor))
}

impl Config {
    /// Resolves flags and the optional trust config into service URLs.
    pub fn resolve(r: &Request) -> Result<Self, Error> {
        let (file_fulcio, file_rekor) = match &r.trust_config {
            Some(p) => {
                let (f, k) = from_trust_config(p)?;
                (Some(f), Some(k))
            }
            None => (None, None),
        };
        let fulcio = r
            .fulcio_url
            .clone()
            .or(file_fulcio)
            .unwrap_or_else(|| PUBLIC_FULCIO.into());
        let rekor = r
            .rekor_url
            .clone()
            .or(file_rekor)
            .unwrap_or_else(|| PUBLIC_REKOR.into());
        Ok(Self {
            fulcio_url: check_url("Fulcio URL", &fulcio)?,
            rekor_url: check_url("Rekor URL", &rekor)?,
            oidc_issuer: r.oidc_issuer.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn defaults_to_public_good_and_flags_override_the_trust_config() {
        let c = Config::resolve(&Request::default()).unwrap();
        assert_eq!(c.fulcio_url, PUBLIC_FULCIO);
        assert_eq!(c.rekor_url, PUBLIC_REKOR);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tc.json");
        std::fs::write(
            &p,
            r#"{"signingConfig":{"caUrls":[{"url":"http://127.0.0.1:1/","majorApiVersion":1}],
               "rekorTlogUrls":[{"url":"http://v2.example","majorApiVersion":2},{"url":"http://127.0.0.1:2","majorApiVersion":1}]}}"#,
        )
        .unwrap();
        let c = Config::resolve(&Request {
            trust_config: Some(p.clone()),
            ..Request::default()
        })
        .unwrap();
        assert_eq!(c.fulcio_url, "http://127.0.0.1:1");
        assert_eq!(c.rekor_url, "http://127.0.0.1:2");
        let c = Config::resolve(&Request {
            trust_config: Some(p),
            rekor_url: Some("https://rekor.corp".into()),
            ..Request::default()
        })
        .unwrap();
        assert_eq!(c.rekor_url, "https://rekor.corp");
    }

    #[test]
    fn rejects_non_http_urls_and_configs_without_services() {
        let e = Config::resolve(&Request {
            fulcio_url: Some("file:///etc/passwd".into()),
            ..Request::default()
        })
        .unwrap_err();
        assert!(matches!(e, Error::BadUrl { .. }));
        let e = Config::resolve(&Request {
            rekor_url: Some("http://rekor.corp.example".into()),
            ..Request::default()
        })
        .unwrap_err();
        assert!(matches!(e, Error::InsecureUrl { .. }), "{e}");
        assert!(
            Config::resolve(&Request {
                rekor_url: Some("http://[::1]:3000".into()),
                ..Request::default()
            })
            .is_ok()
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tc.json");
        std::fs::write(&p, r#"{"trustedRoot":{}}"#).unwrap();
        let e = Config::resolve(&Request {
            trust_config: Some(p),
            ..Request::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("signingConfig"), "{e}");
    }
}

//! Keyless signing with Sigstore: an OIDC identity token, an ephemeral P-256 key that never
//! touches the disk, a short-lived Fulcio certificate for it, and the DSSE envelope logged in
//! Rekor. The result is a bundle v0.3 with `verificationMaterial.certificate` and one tlog entry
//! (inclusion proof, checkpoint, signed entry timestamp), as sigstore-python writes it.
//!
//! The Fulcio and Rekor clients are our own small ones, not the `sigstore` crate's: its
//! `SigningSession` logs `hashedrekord` entries over a message digest only (no DSSE), its Rekor
//! models have no `dsse` kind, and its Fulcio v2 client reads unbounded bodies without timeouts.
//! Network calls run on a private current-thread tokio runtime: the rest of signing is sync.

pub mod config;
pub mod fulcio;
pub mod rekor;
pub mod token;

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Signer as _;

pub use config::Config;
pub use token::IdentityToken;

use crate::formats::bundle::{BUNDLE_MEDIA_TYPE, Bundle, RawCertificate, VerificationMaterial};
use crate::formats::dsse::Envelope;
use crate::keys::PrivateKey;
use crate::sign;

/// Largest answer read from Fulcio, Rekor or the token service.
pub const MAX_RESPONSE: usize = 1024 * 1024;
/// Connection timeout for every keyless request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request timeout for every keyless request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Errors while signing keyless.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No token from the flag, the environment or CI.
    #[error(
        "keyless signing needs an OIDC identity token: pass --identity-token TOKEN, set SIGSTORE_ID_TOKEN, or run in GitHub Actions with `permissions: id-token: write`"
    )]
    NoToken,
    /// The token is not a usable Sigstore identity token.
    #[error(
        "the identity token from {origin} is not usable: {detail}; get a fresh token with audience `sigstore`"
    )]
    BadToken {
        /// Where it came from.
        origin: token::Source,
        /// What is wrong (never the token itself).
        detail: String,
    },
    /// The token has expired.
    #[error(
        "the identity token from {origin} expired {seconds_ago} s ago; get a fresh one (they live minutes)"
    )]
    ExpiredToken {
        /// Where it came from.
        origin: token::Source,
        /// How long ago.
        seconds_ago: i64,
    },
    /// The token's issuer is not the one required by `--oidc-issuer`.
    #[error(
        "the identity token was issued by `{actual}`, but --oidc-issuer requires `{expected}`; use a token from that issuer"
    )]
    WrongIssuer {
        /// Required.
        expected: String,
        /// In the token.
        actual: String,
    },
    /// A service URL is not http(s).
    #[error("{what} `{url}` is not an http(s) URL; pass a URL such as https://fulcio.example.com")]
    BadUrl {
        /// Which flag or field.
        what: &'static str,
        /// The URL.
        url: String,
    },
    /// Plain http to a host other than loopback.
    #[error(
        "{what} `{url}` is plain http to a remote host: the token or signature would travel in clear; use https"
    )]
    InsecureUrl {
        /// Which flag or field.
        what: &'static str,
        /// The URL.
        url: String,
    },
    /// The trust config file could not be read or lacks what signing needs.
    #[error(
        "trust config {path}: {detail}; pass sigstore's ClientTrustConfig JSON (signingConfig with caUrls and rekorTlogUrls)"
    )]
    TrustConfig {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A service could not be reached.
    #[error(
        "{service} at {url} is unreachable: {detail}; check the URL (--fulcio-url/--rekor-url/--trust-config) and the network"
    )]
    Unreachable {
        /// Fulcio, Rekor, token service.
        service: &'static str,
        /// Where.
        url: String,
        /// The transport error.
        detail: String,
    },
    /// A service answered with an error status.
    #[error(
        "{service} refused the request (HTTP {status}): {message}; check the identity token and the service URL"
    )]
    Refused {
        /// Fulcio, Rekor, token service.
        service: &'static str,
        /// HTTP status.
        status: u16,
        /// The server's message (tokens redacted, truncated).
        message: String,
    },
    /// A service answered something we cannot use.
    #[error(
        "{service} sent an answer provenance cannot use: {detail}; check that the URL points at a Sigstore {service}"
    )]
    BadResponse {
        /// Fulcio, Rekor, token service.
        service: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// Local failure: runtime, random numbers, key encoding.
    #[error("keyless signing failed locally: {0}")]
    Local(String),
}

impl Error {
    /// Exit-code class: token and flag problems are input (2); services are environment (3).
    pub fn class(&self) -> crate::Class {
        match self {
            Error::NoToken
            | Error::BadToken { .. }
            | Error::ExpiredToken { .. }
            | Error::WrongIssuer { .. }
            | Error::BadUrl { .. }
            | Error::InsecureUrl { .. }
            | Error::TrustConfig { .. } => crate::Class::Input,
            _ => crate::Class::Environment,
        }
    }

    pub(crate) fn unreachable(service: &'static str, url: &str, e: &reqwest::Error) -> Self {
        // reqwest's Display names the URL and the cause, never headers.
        let mut detail = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            src = s.source();
        }
        Error::Unreachable {
            service,
            url: url.to_owned(),
            detail,
        }
    }
}

/// An HTTP client with the keyless timeouts.
pub(crate) fn http_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("provenance/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Local(format!("HTTP client: {e}")))
}

/// POSTs JSON to `base_url` + `path` and returns the bounded answer body; a refusal carries the
/// server's message with `bearer` (the token, if sent) redacted. Fulcio and Rekor share it.
pub(crate) fn post_json(
    service: &'static str,
    base_url: &str,
    path: &str,
    bearer: Option<&str>,
    body: &serde_json::Value,
) -> Result<Vec<u8>, Error> {
    let url = format!("{base_url}{path}");
    block_on(async {
        let mut req = http_client()?
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(body.to_string());
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Error::unreachable(service, base_url, &e))?;
        let status = resp.status();
        let bytes = read_bounded(resp, MAX_RESPONSE, service).await?;
        if !status.is_success() {
            return Err(Error::Refused {
                service,
                status: status.as_u16(),
                message: server_message(&bytes, bearer.as_slice()),
            });
        }
        Ok(bytes)
    })?
}

/// Runs a future on a private current-thread runtime (signing is otherwise sync).
pub(crate) fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Local(format!("tokio runtime: {e}")))?;
    Ok(rt.block_on(f))
}

/// Reads at most `limit` bytes of a response body; more is an error.
pub(crate) async fn read_bounded(
    mut resp: reqwest::Response,
    limit: usize,
    service: &'static str,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| Error::BadResponse {
        service,
        detail: format!("reading the answer: {e}"),
    })? {
        if out.len() + chunk.len() > limit {
            return Err(Error::BadResponse {
                service,
                detail: format!("the answer is larger than {limit} bytes"),
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A server's error message for the user: its JSON `message` or the text, truncated, with any
/// secret redacted.
pub(crate) fn server_message(body: &[u8], secrets: &[&str]) -> String {
    let text = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let mut text: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    for s in secrets {
        if !s.is_empty() {
            text = text.replace(s, "[redacted]");
        }
    }
    if text.trim().is_empty() {
        "no message".into()
    } else {
        text
    }
}

/// What the keyless signer learned while signing, for the command's report.
#[derive(Clone, Debug, Default)]
pub struct Receipt {
    /// The identity the Fulcio certificate names (its SAN).
    pub certificate_identity: Option<String>,
    /// Rekor log index of the entry.
    pub log_index: Option<u64>,
    /// Rekor integrated time (Unix seconds).
    pub integrated_time: Option<i64>,
}

/// Signs with an ephemeral key certified by Fulcio and logs the envelope in Rekor.
///
/// Nothing touches the network until [`sign::Signer::sign_pae`]: the token is checked when the
/// signer is built, so a bad token fails before a model is hashed, and the 10-minute certificate
/// is requested only once the statement is ready.
pub struct KeylessSigner {
    config: Config,
    token: IdentityToken,
    key: PrivateKey,
    cert: Mutex<Option<fulcio::Issued>>,
    receipt: Mutex<Receipt>,
}

impl KeylessSigner {
    /// Checks the token against the config and makes the ephemeral key (memory only).
    pub fn new(config: Config, token: IdentityToken) -> Result<Self, Error> {
        if let Some(expected) = &config.oidc_issuer {
            if expected.trim_end_matches('/') != token.issuer.trim_end_matches('/') {
                return Err(Error::WrongIssuer {
                    expected: expected.clone(),
                    actual: token.issuer.clone(),
                });
            }
        }
        let key = PrivateKey::generate().map_err(|e| Error::Local(e.to_string()))?;
        Ok(Self {
            config,
            token,
            key,
            cert: Mutex::new(None),
            receipt: Mutex::new(Receipt::default()),
        })
    }

    /// The identity the certificate names once signed (else the token's email or subject):
    /// what `--certificate-identity` must match on verify.
    pub fn identity(&self) -> String {
        self.receipt()
            .certificate_identity
            .unwrap_or_else(|| self.token.identity.clone())
    }

    /// The token's issuer.
    pub fn issuer(&self) -> &str {
        &self.token.issuer
    }

    /// Where the token came from.
    pub fn token_source(&self) -> token::Source {
        self.token.source
    }

    /// The Rekor entry's index and time, once signed.
    pub fn receipt(&self) -> Receipt {
        self.receipt.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Fetches (once) the Fulcio certificate for the ephemeral key; returns its DER.
    fn certificate(&self) -> Result<Vec<u8>, Error> {
        let mut slot = self
            .cert
            .lock()
            .map_err(|_| Error::Local("certificate lock poisoned".into()))?;
        if let Some(c) = slot.as_ref() {
            return Ok(c.der.clone());
        }
        // Hashing a big model can outlast a short-lived token: say so rather than relay a 401.
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if self.token.expires <= now {
            return Err(Error::ExpiredToken {
                origin: self.token.source,
                seconds_ago: now - self.token.expires,
            });
        }
        let issued = fulcio::request_certificate(&self.config.fulcio_url, &self.token, &self.key)?;
        if let Ok(mut r) = self.receipt.lock() {
            r.certificate_identity = issued.identity.clone();
        }
        let der = issued.der.clone();
        *slot = Some(issued);
        Ok(der)
    }
}

impl From<Error> for sign::Error {
    fn from(e: Error) -> Self {
        sign::Error::Keyless(e)
    }
}

impl sign::Signer for KeylessSigner {
    fn sign_pae(&self, pae: &[u8]) -> Result<Vec<u8>, sign::Error> {
        self.certificate()?;
        let sig: p256::ecdsa::Signature = self
            .key
            .signing_key()
            .try_sign(pae)
            .map_err(|e| sign::Error::Sign(e.to_string()))?;
        Ok(sig.to_der().as_bytes().to_vec())
    }

    fn bundle(&self, envelope: Envelope) -> Result<Bundle, sign::Error> {
        let cert = self.certificate()?;
        let logged = rekor::log_dsse(&self.config.rekor_url, &envelope, &cert)?;
        if let Ok(mut r) = self.receipt.lock() {
            r.log_index = Some(logged.log_index);
            r.integrated_time = Some(logged.integrated_time);
        }
        Ok(Bundle {
            media_type: BUNDLE_MEDIA_TYPE.into(),
            verification_material: VerificationMaterial {
                certificate: Some(RawCertificate {
                    raw_bytes: STANDARD.encode(&cert),
                }),
                tlog_entries: vec![logged.entry],
                ..VerificationMaterial::default()
            },
            dsse_envelope: envelope,
        })
    }

    fn report(&self) -> sign::SignerReport {
        let r = self.receipt();
        sign::SignerReport::Keyless {
            identity: self.identity(),
            issuer: self.issuer().to_owned(),
            token_source: self.token_source().to_string(),
            rekor_log_index: r.log_index,
            rekor_integrated_time: r.integrated_time,
        }
    }

    fn describe(&self) -> String {
        let identity = self
            .receipt()
            .certificate_identity
            .unwrap_or_else(|| self.token.identity.clone());
        format!("{identity} (issuer {})", self.token.issuer)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::sign::Signer as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn token_that_expires_while_hashing_is_reported_as_expired_before_any_request() {
        let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 1;
        let claims = format!(r#"{{"iss":"https://i","sub":"s","aud":"sigstore","exp":{exp}}}"#);
        let raw = format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(claims));
        let token = IdentityToken::parse(&raw, token::Source::Env).unwrap();
        // Port 9 (discard) on loopback: any request would fail as unreachable, not as expired.
        let config = Config {
            fulcio_url: "http://127.0.0.1:9".into(),
            rekor_url: "http://127.0.0.1:9".into(),
            oidc_issuer: None,
        };
        let signer = KeylessSigner::new(config, token).unwrap();
        std::thread::sleep(Duration::from_millis(2100));
        let e = signer.sign_pae(b"pae").unwrap_err();
        assert!(
            matches!(e, sign::Error::Keyless(Error::ExpiredToken { .. })),
            "{e}"
        );
        assert_eq!(e.class(), crate::Class::Input);
    }
}

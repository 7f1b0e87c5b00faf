//! OIDC identity tokens for keyless signing: where they come from (flag, `SIGSTORE_ID_TOKEN`,
//! GitHub Actions) and the claims Fulcio certifies. The token's signature is checked by Fulcio,
//! not here: we only read the claims to fail early and clearly, and to pick the proof-of-possession
//! challenge. The token text never appears in `Debug` output or error messages.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::{Error, MAX_RESPONSE, http_client, read_bounded};

/// Environment variable holding a ready identity token (as cosign and sigstore-python read it).
pub const ENV_TOKEN: &str = "SIGSTORE_ID_TOKEN";
/// GitHub Actions: the URL to request an OIDC token from (set with `permissions: id-token: write`).
pub const ENV_GHA_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
/// GitHub Actions: the bearer token for that request.
pub const ENV_GHA_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// The audience Sigstore's Fulcio expects.
pub const AUDIENCE: &str = "sigstore";
/// Largest token accepted (real ones are 1-4 KiB).
const MAX_TOKEN: usize = 64 * 1024;

/// Where the token came from (reported, never the token itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `--identity-token`.
    Flag,
    /// `SIGSTORE_ID_TOKEN`.
    Env,
    /// GitHub Actions ambient credentials.
    GitHubActions,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "--identity-token",
            Source::Env => ENV_TOKEN,
            Source::GitHubActions => "GitHub Actions OIDC",
        })
    }
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    email: Option<String>,
    exp: Option<i64>,
    nbf: Option<i64>,
    aud: Option<Audience>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// A parsed (not signature-checked) OIDC identity token.
pub struct IdentityToken {
    raw: String,
    /// `iss`: the OIDC issuer, certified by Fulcio in the issuer extension.
    pub issuer: String,
    /// The identity Fulcio certifies: `email` where present, else `sub`.
    pub identity: String,
    /// `exp`, Unix seconds.
    pub expires: i64,
    /// Where it came from.
    pub source: Source,
}

impl fmt::Debug for IdentityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityToken")
            .field("issuer", &self.issuer)
            .field("identity", &self.identity)
            .field("expires", &self.expires)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl IdentityToken {
    /// Parses a JWT's claims: needs `iss`, `sub` (or `email`), `exp` in the future and audience
    /// `sigstore`; rejects anything else with the claim named.
    pub fn parse(raw: &str, source: Source) -> Result<Self, Error> {
        let raw = raw.trim();
        let bad = |detail: &str| Error::BadToken {
            origin: source,
            detail: detail.to_owned(),
        };
        if raw.len() > MAX_TOKEN {
            return Err(bad("it is larger than 64 KiB"));
        }
        let mut parts = raw.split('.');
        let (Some(_header), Some(claims), Some(_sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(
                "it is not a JWT (three base64url parts separated by dots)",
            ));
        };
        let claims = URL_SAFE_NO_PAD
            .decode(claims.trim_end_matches('='))
            .map_err(|_| bad("its claims are not base64url"))?;
        let c: Claims =
            serde_json::from_slice(&claims).map_err(|_| bad("its claims are not a JSON object"))?;
        let issuer = c.iss.ok_or_else(|| bad("it has no `iss` (issuer) claim"))?;
        let identity = match (c.email, c.sub) {
            (Some(e), _) if !e.is_empty() => e,
            (_, Some(s)) if !s.is_empty() => s,
            _ => return Err(bad("it has no `sub` or `email` claim to certify")),
        };
        let expires = c.exp.ok_or_else(|| bad("it has no `exp` (expiry) claim"))?;
        let aud_ok = match &c.aud {
            Some(Audience::One(a)) => a == AUDIENCE,
            Some(Audience::Many(v)) => v.iter().any(|a| a == AUDIENCE),
            None => false,
        };
        if !aud_ok {
            return Err(bad("its audience (`aud`) is not `sigstore`"));
        }
        let t = now();
        if expires <= t {
            return Err(Error::ExpiredToken {
                origin: source,
                seconds_ago: t - expires,
            });
        }
        if c.nbf.is_some_and(|nbf| nbf > t + 60) {
            return Err(bad("it is not valid yet (`nbf` is in the future)"));
        }
        Ok(Self {
            raw: raw.to_owned(),
            issuer,
            identity,
            expires,
            source,
        })
    }

    /// The token text, for the `Authorization` header only.
    pub(crate) fn bearer(&self) -> &str {
        &self.raw
    }
}

/// Finds a token: `flag`, else `SIGSTORE_ID_TOKEN`, else GitHub Actions ambient credentials.
pub fn discover(flag: Option<&str>) -> Result<IdentityToken, Error> {
    if let Some(t) = flag {
        return IdentityToken::parse(t, Source::Flag);
    }
    if let Ok(t) = std::env::var(ENV_TOKEN) {
        if !t.trim().is_empty() {
            return IdentityToken::parse(&t, Source::Env);
        }
    }
    if let (Ok(url), Ok(bearer)) = (std::env::var(ENV_GHA_URL), std::env::var(ENV_GHA_TOKEN)) {
        let raw = github_actions_token(&url, &bearer)?;
        return IdentityToken::parse(&raw, Source::GitHubActions);
    }
    Err(Error::NoToken)
}

#[derive(Deserialize)]
struct GhaResponse {
    value: String,
}

/// Asks the GitHub Actions token service for a token with audience `sigstore`.
fn github_actions_token(url: &str, bearer: &str) -> Result<String, Error> {
    let sep = if url.contains('?') { '&' } else { '?' };
    let full = format!("{url}{sep}audience={AUDIENCE}");
    let service = "GitHub Actions token service";
    super::block_on(async {
        let resp = http_client()?
            .get(&full)
            .bearer_auth(bearer)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| Error::unreachable(service, url, &e))?;
        let status = resp.status();
        let body = read_bounded(resp, MAX_RESPONSE, service).await?;
        if !status.is_success() {
            return Err(Error::Refused {
                service,
                status: status.as_u16(),
                message: super::server_message(&body, &[bearer]),
            });
        }
        let r: GhaResponse = serde_json::from_slice(&body).map_err(|_| Error::BadResponse {
            service,
            detail: "no `value` in the JSON answer".into(),
        })?;
        Ok(r.value)
    })?
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn takes_email_over_sub_and_checks_audience_and_expiry() {
        let exp = now() + 600;
        let t = IdentityToken::parse(
            &jwt(serde_json::json!({"iss":"https://i","sub":"123","email":"a@b.c","aud":["x","sigstore"],"exp":exp})),
            Source::Flag,
        )
        .unwrap();
        assert_eq!(t.identity, "a@b.c");
        assert_eq!(t.issuer, "https://i");
        let wrong_aud = jwt(serde_json::json!({"iss":"i","sub":"s","aud":"other","exp":exp}));
        assert!(matches!(
            IdentityToken::parse(&wrong_aud, Source::Env),
            Err(Error::BadToken { .. })
        ));
        let expired = jwt(serde_json::json!({"iss":"i","sub":"s","aud":"sigstore","exp":1}));
        assert!(matches!(
            IdentityToken::parse(&expired, Source::Env),
            Err(Error::ExpiredToken { .. })
        ));
    }

    #[test]
    fn rejects_non_jwt_and_missing_claims_without_echoing_the_token() {
        let e = IdentityToken::parse("secret-value", Source::Flag).unwrap_err();
        assert!(!e.to_string().contains("secret-value"));
        let no_iss = jwt(serde_json::json!({"sub":"s","aud":"sigstore","exp":now()+60}));
        let e = IdentityToken::parse(&no_iss, Source::Flag).unwrap_err();
        assert!(e.to_string().contains("`iss`"), "{e}");
        let t = IdentityToken::parse(
            &jwt(serde_json::json!({"iss":"i","sub":"s","aud":"sigstore","exp":now()+60})),
            Source::Flag,
        )
        .unwrap();
        assert!(!format!("{t:?}").contains(t.bearer()));
    }
}

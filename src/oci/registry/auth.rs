//! Who gets our credentials: the bearer challenge, the token dance, and the rule that a
//! password goes only to the registry itself or to a token service over HTTPS (or loopback).

use super::*;
use crate::oci::credentials::IDENTITY_TOKEN_USER;

/// The `realm` and `service` of a `WWW-Authenticate: Bearer realm="…",service="…"` challenge.
pub(super) fn parse_bearer_challenge(header: &str) -> Option<(String, Option<String>)> {
    let (scheme, params) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = None;
    let mut rest = params.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key.trim().trim_start_matches(',').trim();
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, q.get(end?..).unwrap_or(""))
        } else {
            let (v, n) = after.split_once(',').unwrap_or((after, ""));
            (v.trim().to_string(), n)
        };
        if key.eq_ignore_ascii_case("realm") {
            realm = Some(value);
        } else if key.eq_ignore_ascii_case("service") {
            service = Some(value);
        }
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    Some((realm?, service))
}

/// Whether `url` points at `registry` (`host[:port]`): same host (case-insensitive) and same
/// port, a missing port being the scheme's default.
pub(super) fn same_authority(url: &reqwest::Url, registry: &str) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let (reg_host, reg_port) = match registry.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') && (h.starts_with('[') || !h.contains(':')) => {
            (h, p.parse::<u16>().ok())
        }
        _ => (registry, None),
    };
    let reg_port = reg_port.or_else(|| match url.scheme() {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    });
    host.eq_ignore_ascii_case(reg_host) && url.port_or_known_default() == reg_port
}

/// Whether our credentials may go to `realm`, the token service `registry`'s `Bearer` challenge
/// named (the registry chooses it, so a hostile one steers the password): over HTTPS, yes; in
/// clear, only to the registry itself (when it is spoken to in clear anyway: loopback, or
/// `plain_http`), or to a loopback realm when the registry is on loopback too. A loopback realm
/// of a remote registry is refused: whatever local process holds that port would get the
/// password. `Err` says why, for [`Error::TokenRealmRefused`].
pub(super) fn realm_may_get_credentials(
    realm: &reqwest::Url,
    registry: &str,
    plain_http: bool,
) -> std::result::Result<(), &'static str> {
    match realm.scheme() {
        "https" => return Ok(()),
        "http" => {}
        _ => return Err("it is not an HTTPS address"),
    }
    let registry_loopback = is_loopback_host(registry);
    if same_authority(realm, registry) && (plain_http || registry_loopback) {
        return Ok(());
    }
    let realm_loopback = realm.host_str().is_some_and(is_loopback_host);
    match (realm_loopback, registry_loopback) {
        (true, true) => Ok(()),
        (true, false) => Err(
            "it is plain HTTP on this machine's loopback interface while the registry is remote (any local process on that port would receive the password)",
        ),
        _ => Err("it is not HTTPS (the password would cross the network in clear)"),
    }
}

/// Whether a registry host (`host[:port]`) is on the loopback interface.
pub fn is_loopback_host(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        registry.rsplit_once(':').map_or(registry, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        || registry.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl RegistryStore {
    /// Whether the registry accepts our credentials (`provenance login`): `GET /v2/`; an open
    /// registry accepts anything; a `Bearer` challenge is answered by a token for no scope, as
    /// `docker login` asks; a `Basic` one by `GET /v2/` with the credentials.
    pub fn check_login(&self) -> Result<()> {
        self.rt.block_on(async {
            let url = format!("{}://{}/v2/", self.scheme, self.registry);
            let get = |basic: bool| {
                let mut req = self.http.get(&url).timeout(self.deadline);
                if let (true, RegistryAuth::Basic(u, p)) = (basic, &self.auth) {
                    req = req.basic_auth(u, Some(p));
                }
                req.send()
            };
            let started = Instant::now();
            let res = get(false)
                .await
                .map_err(|e| self.map_reqwest(e, "GET /v2/", started))?;
            if res.status().is_success() {
                return Ok(());
            }
            if res.status() != StatusCode::UNAUTHORIZED {
                return Err(self.status_error(res, "", "GET /v2/").await);
            }
            if let Some((realm, service)) =
                header_str(res.headers(), "www-authenticate").and_then(parse_bearer_challenge)
            {
                drop(res);
                return self.exchange(&realm, service, None).await.map(|_| ());
            }
            drop(res);
            let started = Instant::now();
            let res = get(true)
                .await
                .map_err(|e| self.map_reqwest(e, "GET /v2/", started))?;
            if res.status().is_success() {
                Ok(())
            } else {
                Err(Error::Auth {
                    registry: self.registry.clone(),
                    reason: format!("the registry refused the credentials ({})", res.status()),
                })
            }
        })
    }

    pub(super) async fn token(
        &self,
        repo: &str,
        push: bool,
        refresh: bool,
    ) -> Result<Option<String>> {
        let key = (repo.to_string(), push);
        let cached = || self.tokens.lock().ok().and_then(|t| t.get(&key).cloned());
        if !refresh {
            if let Some(tok) = cached() {
                return Ok(tok);
            }
        }
        // One token dance at a time: parallel uploads that all start cold wait for the first
        // one's answer instead of each asking the registry and its token service.
        let _one_at_a_time = self.token_fetch.lock().await;
        if !refresh {
            if let Some(tok) = cached() {
                return Ok(tok);
            }
        }
        let tok = self.fetch_token(repo, push).await?;
        if let Ok(mut t) = self.tokens.lock() {
            t.insert(key, tok.clone());
        }
        Ok(tok)
    }

    /// The distribution token dance (docker "token authentication"): `GET /v2/`; a `Bearer`
    /// challenge names a token service (`realm`), which gets our credentials (basic) and answers
    /// a token for `repository:<repo>:pull[,push]`. `None`: no bearer challenge (anonymous, or
    /// basic auth straight to the registry). Credentials go to the realm only over HTTPS, or
    /// plain HTTP to a loopback host, or (with `plain_http`) to the registry itself: never in
    /// clear to another host. The token answer is read up to [`MAX_TOKEN_SIZE`].
    pub(super) async fn fetch_token(&self, repo: &str, push: bool) -> Result<Option<String>> {
        let url = format!("{}://{}/v2/", self.scheme, self.registry);
        let started = Instant::now();
        let sent = self.http.get(&url).timeout(self.deadline).send().await;
        if let Ok(u) = reqwest::Url::parse(&url) {
            let status = sent.as_ref().ok().map(reqwest::Response::status);
            self.log_request(&reqwest::Method::GET, &u, status, started, 0);
        }
        let res = sent.map_err(|e| self.map_reqwest(e, "GET /v2/", started))?;
        if res.status() != StatusCode::UNAUTHORIZED {
            return Ok(None);
        }
        let Some((realm, service)) =
            header_str(res.headers(), "www-authenticate").and_then(parse_bearer_challenge)
        else {
            return Ok(None);
        };
        drop(res);
        let scope = if push {
            format!("repository:{repo}:pull,push")
        } else {
            format!("repository:{repo}:pull")
        };
        self.exchange(&realm, service, Some(scope)).await
    }

    /// Ask the token service `realm` for a token (for `scope`, or none: a login check), with
    /// our credentials under the rules of [`RegistryStore::fetch_token`].
    async fn exchange(
        &self,
        realm: &str,
        service: Option<String>,
        scope: Option<String>,
    ) -> Result<Option<String>> {
        let auth_err = |reason: String| Error::Auth {
            registry: self.registry.clone(),
            reason,
        };
        let realm_url = reqwest::Url::parse(realm)
            .map_err(|_| auth_err(format!("unusable token service address {realm:?}")))?;
        let creds = match &self.auth {
            RegistryAuth::Basic(u, p) => Some((u.clone(), p.clone())),
            _ => None,
        };
        if creds.is_some() {
            realm_may_get_credentials(&realm_url, &self.registry, self.plain_http).map_err(
                |reason| Error::TokenRealmRefused {
                    registry: self.registry.clone(),
                    realm: realm.to_string(),
                    reason: reason.to_string(),
                },
            )?;
        }
        let mut query: Vec<(&str, String)> = scope.into_iter().map(|s| ("scope", s)).collect();
        if let Some(s) = service {
            query.push(("service", s));
        }
        let req = match &creds {
            // An identity token (docker config `identitytoken`, or a credential helper's
            // `<token>` answer) is an OAuth2 refresh token: exchanged by POST, never sent as a
            // password (docker's token-authentication `grant_type=refresh_token`).
            Some((u, p)) if u == IDENTITY_TOKEN_USER => {
                let mut form = query.clone();
                form.push(("grant_type", "refresh_token".into()));
                form.push(("refresh_token", p.clone()));
                form.push(("client_id", "provenance".into()));
                self.http.post(realm_url).form(&form)
            }
            Some((u, p)) => self
                .http
                .get(realm_url)
                .query(&query)
                .basic_auth(u, Some(p)),
            None => self.http.get(realm_url).query(&query),
        }
        .timeout(self.deadline);
        let started = Instant::now();
        let (client, built) = req.build_split();
        let built = built.map_err(|e| self.map_reqwest(e, "token request", started))?;
        let (method, logged_url) = (built.method().clone(), built.url().clone());
        let sent = client.execute(built).await;
        let status = sent.as_ref().ok().map(reqwest::Response::status);
        self.log_request(&method, &logged_url, status, started, 0);
        let res = sent.map_err(|e| self.map_reqwest(e, "token request", started))?;
        if res.status() != StatusCode::OK {
            let status = res.status();
            let body = read_limited_text(res).await;
            return Err(auth_err(format!("token service answered {status}: {body}")));
        }
        let bytes = self.read_bounded(res, "token", MAX_TOKEN_SIZE).await?;
        #[derive(serde::Deserialize)]
        struct Token {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let t: Token =
            serde_json::from_slice(&bytes).map_err(|e| Error::malformed("registry token", e))?;
        Ok(t.token.or(t.access_token).filter(|t| !t.is_empty()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_token_realm_gets_credentials_only_from_a_loopback_registry() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        let loopback_realms = [
            "http://127.0.0.1:8080/token",
            "http://localhost:8080/token",
            "http://[::1]:8080/token",
            "http://127.1:8080/token",
            "http://127.9.9.9/token",
        ];
        for realm in loopback_realms {
            for registry in ["registry.example.com", "ghcr.io:443", "10.0.0.1:5000"] {
                for plain_http in [false, true] {
                    let e = realm_may_get_credentials(&u(realm), registry, plain_http)
                        .expect_err(realm);
                    assert!(e.contains("loopback"), "{realm} {registry}: {e}");
                }
            }
            for registry in ["127.0.0.1:5000", "localhost:5000", "[::1]:5000"] {
                assert_eq!(
                    realm_may_get_credentials(&u(realm), registry, false),
                    Ok(()),
                    "{realm} {registry}"
                );
            }
        }
        // HTTPS goes anywhere (auth.docker.io for registry-1.docker.io).
        for registry in ["registry.example.com", "127.0.0.1:5000"] {
            assert_eq!(
                realm_may_get_credentials(&u("https://auth.example.com/t"), registry, false),
                Ok(())
            );
        }
        // In clear to the registry itself only when it is spoken to in clear anyway.
        let own = u("http://registry.example.com:5000/token");
        assert_eq!(
            realm_may_get_credentials(&own, "registry.example.com:5000", true),
            Ok(())
        );
        assert!(realm_may_get_credentials(&own, "registry.example.com:5000", false).is_err());
        assert!(
            realm_may_get_credentials(&u("http://auth.example.com/t"), "127.0.0.1:5000", true)
                .is_err()
        );
        assert!(
            realm_may_get_credentials(&u("ftp://127.0.0.1/t"), "127.0.0.1:5000", true).is_err()
        );
    }

    #[test]
    fn credentials_go_only_to_the_registry_authority() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(same_authority(&u("https://ghcr.io/v2/x"), "ghcr.io"));
        assert!(same_authority(&u("https://GHCR.io:443/v2/x"), "ghcr.io"));
        assert!(same_authority(&u("https://ghcr.io/v2/x"), "ghcr.io:443"));
        assert!(same_authority(
            &u("http://127.0.0.1:5000/v2/"),
            "127.0.0.1:5000"
        ));
        assert!(same_authority(&u("http://[::1]:5000/v2/"), "[::1]:5000"));
        assert!(!same_authority(
            &u("http://127.0.0.1:5001/v2/"),
            "127.0.0.1:5000"
        ));
        assert!(!same_authority(
            &u("https://storage.example.com/u"),
            "ghcr.io"
        ));
        assert!(!same_authority(&u("https://ghcr.io.evil.com/u"), "ghcr.io"));
        assert!(!same_authority(&u("http://ghcr.io:8443/u"), "ghcr.io"));
    }

    #[test]
    fn bearer_challenges_are_parsed_and_others_are_not() {
        assert_eq!(
            parse_bearer_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a:pull""#
            ),
            Some((
                "https://auth.docker.io/token".to_string(),
                Some("registry.docker.io".to_string())
            ))
        );
        assert_eq!(
            parse_bearer_challenge(r#"bearer realm="https://x/t\"q""#),
            Some(("https://x/t\"q".to_string(), None))
        );
        assert_eq!(
            parse_bearer_challenge("Bearer realm=https://x/t, service=s"),
            Some(("https://x/t".to_string(), Some("s".to_string())))
        );
        assert_eq!(parse_bearer_challenge(r#"Basic realm="test""#), None);
        assert_eq!(parse_bearer_challenge(r#"Bearer service="s""#), None);
        assert_eq!(
            parse_bearer_challenge(r#"Bearer realm="unterminated"#),
            None
        );
        assert_eq!(parse_bearer_challenge(""), None);
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "::1",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "ghcr.io",
            "10.0.0.1:5000",
            "[2001:db8::1]:443",
            "localhost.example.com",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}

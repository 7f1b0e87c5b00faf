//! Registry credentials from the docker CLI's configuration (`$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`), looked up as the docker CLI does:
//! 1. `credHelpers.<host>`: run `docker-credential-<name> get`;
//! 2. else `credsStore`: run `docker-credential-<name> get`;
//! 3. else (or when the helper has no entry for the host) `auths.<host>`: base64 `user:pass`
//!    in `auth`, or `username`/`password`.
//!
//! A helper gets the registry host on stdin and answers `{"ServerURL", "Username", "Secret"}` on
//! stdout (docker-credential-helpers protocol). Its output is read with a bound and a deadline,
//! and is never shown: a failing helper is an environment error that names the helper and the
//! command to run by hand, not what it printed (that may hold a secret).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use super::error::{Error, Result};

/// Largest docker config we read.
const DOCKER_CONFIG_MAX: u64 = 1024 * 1024;
/// Largest helper answer we read (a token-bearing answer is a few KiB).
const HELPER_OUTPUT_MAX: u64 = 64 * 1024;
/// How long a helper may take (it may wait on a desktop keychain).
const HELPER_TIMEOUT: Duration = Duration::from_secs(60);

/// Registry credentials. `Debug` never shows the password.
#[derive(Clone)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The docker config file in use: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        Some(d) => Some(PathBuf::from(d).join("config.json")),
        None => Some(PathBuf::from(std::env::var_os("HOME")?).join(".docker/config.json")),
    }
}

/// Credentials for `registry` (`host[:port]`) from the docker config, its credential helpers
/// included. `Ok(None)` when the config has nothing for the host (or there is no config); an
/// error when a configured helper is missing, fails, times out or answers something unusable.
pub fn docker_config_credentials(registry: &str) -> Result<Option<Credentials>> {
    let Some(path) = docker_config_path() else {
        return Ok(None);
    };
    let Ok(f) = std::fs::File::open(&path) else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    f.take(DOCKER_CONFIG_MAX)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(&path, e))?;
    let Ok(config) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(None);
    };
    if let Some(helper) = helper_for(&config, registry) {
        if let Some(c) = run_helper(&helper, registry, &path)? {
            return Ok(Some(c));
        }
    }
    Ok(credentials_from_docker_config(&bytes, registry))
}

/// The keys under which docker config files name a registry.
fn keys(registry: &str) -> [String; 4] {
    [
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
        format!("https://{registry}/v1/"),
    ]
}

/// The helper for `registry`: `credHelpers.<host>`, else `credsStore`.
fn helper_for(config: &Value, registry: &str) -> Option<String> {
    let per_host = config
        .get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|m| keys(registry).iter().find_map(|k| m.get(k)))
        .and_then(Value::as_str);
    per_host
        .or_else(|| config.get("credsStore").and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Credentials for `registry` from docker config JSON bytes (`auths.<host>.auth`, base64
/// `user:pass`, or `username`/`password`); keys may be `host`, `https://host`, `http://host`.
/// Helpers are not consulted here.
pub fn credentials_from_docker_config(bytes: &[u8], registry: &str) -> Option<Credentials> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let auths = v.get("auths")?.as_object()?;
    let entry = keys(registry).iter().find_map(|k| auths.get(k))?;
    if let Some(auth) = entry.get("auth").and_then(Value::as_str) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()?;
        let s = String::from_utf8(decoded).ok()?;
        let (u, p) = s.split_once(':')?;
        return Some(Credentials {
            username: u.to_string(),
            password: p.to_string(),
        });
    }
    let u = entry.get("username")?.as_str()?;
    let p = entry.get("password")?.as_str()?;
    Some(Credentials {
        username: u.to_string(),
        password: p.to_string(),
    })
}

fn read_bounded(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    (&mut r).take(HELPER_OUTPUT_MAX + 1).read_to_end(&mut out)?;
    // Drain the rest so the helper is not blocked on a full pipe; it is discarded.
    std::io::copy(&mut r, &mut std::io::sink())?;
    Ok(out)
}

/// Run `docker-credential-<helper> get` for `registry`. `Ok(None)` when the helper has no
/// credentials for the host.
fn run_helper(helper: &str, registry: &str, config: &Path) -> Result<Option<Credentials>> {
    let program = format!("docker-credential-{helper}");
    let fail = |reason: String| Error::CredentialHelper {
        helper: program.clone(),
        registry: registry.to_string(),
        config: config.to_path_buf(),
        reason,
    };
    if helper.is_empty()
        || !helper
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(fail(
            "the helper name may only hold letters, digits, '-', '_' and '.'".into(),
        ));
    }
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                fail(format!(
                    "`{program}` is not on PATH; install it, or remove the entry from the docker config"
                ))
            } else {
                fail(format!("cannot run `{program}`: {e}"))
            }
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading its input is judged by its exit status below.
        let _ = stdin.write_all(registry.as_bytes());
    }
    let stdout = child
        .stdout
        .take()
        .map(|o| std::thread::spawn(|| read_bounded(o)));
    let stderr = child
        .stderr
        .take()
        .map(|e| std::thread::spawn(|| read_bounded(e)));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > HELPER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "it did not answer within {} s",
                    HELPER_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(fail(format!("waiting for it failed: {e}"))),
        }
    };
    let out = stdout
        .and_then(|h| h.join().ok())
        .and_then(|r| r.ok())
        .unwrap_or_default();
    let _ = stderr.and_then(|h| h.join().ok());
    let by_hand = format!("run `printf %s {registry} | {program} get` to see its message");
    if !status.success() {
        // The protocol's "no entry" answer, on stdout with a non-zero exit.
        if String::from_utf8_lossy(&out).contains("credentials not found") {
            return Ok(None);
        }
        let code = status
            .code()
            .map_or_else(|| "a signal".to_string(), |c| format!("status {c}"));
        return Err(fail(format!(
            "it exited with {code} (its output is not shown, it may hold secrets); {by_hand}"
        )));
    }
    if out.len() as u64 > HELPER_OUTPUT_MAX {
        return Err(fail(format!(
            "its answer is larger than {HELPER_OUTPUT_MAX} bytes"
        )));
    }
    let answer: Value = serde_json::from_slice(&out).map_err(|_| {
        fail(format!(
            "its answer is not the JSON {{\"Username\", \"Secret\"}} of the credential-helper protocol; {by_hand}"
        ))
    })?;
    let field = |k: &str| answer.get(k).and_then(Value::as_str).unwrap_or("");
    let (username, secret) = (field("Username"), field("Secret"));
    if secret.is_empty() {
        return Ok(None);
    }
    if username == "<token>" {
        return Err(fail(
            "it answered with an identity token, which provenance cannot exchange; use --username and --password-stdin".into(),
        ));
    }
    Ok(Some(Credentials {
        username: username.to_string(),
        password: secret.to_string(),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_auth_is_decoded_and_not_printed() {
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cr:et");
        let cfg = format!(r#"{{"auths":{{"https://reg.example:5000":{{"auth":"{auth}"}}}}}}"#);
        let c = credentials_from_docker_config(cfg.as_bytes(), "reg.example:5000").unwrap();
        assert_eq!(c.username, "alice");
        assert_eq!(c.password, "s3cr:et");
        assert!(!format!("{c:?}").contains("s3cr"));
        assert!(credentials_from_docker_config(cfg.as_bytes(), "other.example").is_none());
    }

    #[test]
    fn cred_helpers_win_over_creds_store() {
        let cfg: Value = serde_json::from_str(
            r#"{"credsStore":"desktop","credHelpers":{"reg.example:5000":"ecr-login"}}"#,
        )
        .unwrap();
        assert_eq!(
            helper_for(&cfg, "reg.example:5000").as_deref(),
            Some("ecr-login")
        );
        assert_eq!(
            helper_for(&cfg, "other.example").as_deref(),
            Some("desktop")
        );
        let none: Value = serde_json::from_str(r#"{"auths":{}}"#).unwrap();
        assert_eq!(helper_for(&none, "reg.example"), None);
    }

    #[test]
    fn helper_names_cannot_be_paths() {
        let e = run_helper("../../bin/sh", "reg.example", Path::new("c.json")).unwrap_err();
        assert!(e.to_string().contains("helper name"), "{e}");
        assert_eq!(e.exit_code(), 3);
    }
}

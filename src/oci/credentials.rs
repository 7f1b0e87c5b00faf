//! Registry credentials from the files the docker CLI, oras, cosign, skopeo and podman keep,
//! looked up in this order, the first file with an answer for the host winning:
//! 1. `$REGISTRY_AUTH_FILE` (containers' `auth.json` named explicitly);
//! 2. the docker config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`), which
//!    `provenance login` writes;
//! 3. containers' `auth.json` (`$XDG_RUNTIME_DIR/containers/auth.json`, then
//!    `$XDG_CONFIG_HOME/containers/auth.json` or `~/.config/containers/auth.json`).
//!
//! In each file, as the docker CLI reads it:
//! 1. `credHelpers.<host>`: run `docker-credential-<name> get`;
//! 2. else `credsStore`, only for a host the file lists under `auths` (Docker Desktop lists each
//!    host it stores): a global helper is never asked about a host it was not configured for,
//!    so an anonymous pull does not fail on a helper copied from a laptop;
//! 3. else (or when the helper has no entry for the host) `auths.<host>`: base64 `user:pass` in
//!    `auth`, or `username`/`password`, or an `identitytoken`.
//!
//! An identity token (or a helper's `<token>` answer) is an OAuth2 refresh token, exchanged at
//! the registry's token service (`registry::auth`), never sent as a password.
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

/// The user name docker's configuration and credential helpers give an identity token under:
/// the password is then an OAuth2 refresh token for the registry's token service.
pub const IDENTITY_TOKEN_USER: &str = "<token>";

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

/// The credential files in lookup order (see the module docs); missing ones included.
pub fn credential_files() -> Vec<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let mut out = Vec::new();
    if let Some(f) = env("REGISTRY_AUTH_FILE") {
        out.push(f);
    }
    out.extend(docker_config_path());
    if let Some(d) = env("XDG_RUNTIME_DIR") {
        out.push(d.join("containers/auth.json"));
    }
    match env("XDG_CONFIG_HOME") {
        Some(d) => out.push(d.join("containers/auth.json")),
        None => out.extend(env("HOME").map(|h| h.join(".config/containers/auth.json"))),
    }
    out
}

/// Credentials for `registry` (`host[:port]`) from the credential files, their credential
/// helpers included. `Ok(None)` when no file has anything for the host; an error when a
/// configured helper is missing, fails, times out or answers something unusable.
pub fn docker_config_credentials(registry: &str) -> Result<Option<Credentials>> {
    for path in credential_files() {
        if let Some(c) = file_credentials(&path, registry)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// Reads one credential file (bounded); `None` if it is missing or not JSON.
pub(crate) fn read_config(path: &Path) -> Result<Option<Value>> {
    let Ok(f) = std::fs::File::open(path) else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    f.take(DOCKER_CONFIG_MAX)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(serde_json::from_slice::<Value>(&bytes).ok())
}

fn file_credentials(path: &Path, registry: &str) -> Result<Option<Credentials>> {
    let Some(config) = read_config(path)? else {
        return Ok(None);
    };
    if let Some(helper) = helper_for(&config, registry) {
        if let Some(c) = run_helper(&helper, registry, path)? {
            return Ok(Some(c));
        }
    }
    Ok(entry_credentials(&config, registry))
}

/// The keys under which docker config files name a registry.
pub(crate) fn keys(registry: &str) -> [String; 4] {
    [
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
        format!("https://{registry}/v1/"),
    ]
}

/// The `auths` entry of `registry`, under any of its spellings.
fn auths_entry<'a>(config: &'a Value, registry: &str) -> Option<&'a Value> {
    let auths = config.get("auths")?.as_object()?;
    keys(registry).iter().find_map(|k| auths.get(k))
}

/// The helper for `registry`: `credHelpers.<host>`, else `credsStore` when `auths` lists the
/// host.
pub(crate) fn helper_for(config: &Value, registry: &str) -> Option<String> {
    let per_host = config
        .get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|m| keys(registry).iter().find_map(|k| m.get(k)))
        .and_then(Value::as_str);
    let global = config
        .get("credsStore")
        .and_then(Value::as_str)
        .filter(|_| auths_entry(config, registry).is_some());
    per_host
        .or(global)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Credentials for `registry` from docker config JSON bytes (`auths.<host>`: `auth`, base64
/// `user:pass`; `username`/`password`; or `identitytoken`); keys may be `host`,
/// `https://host`, `http://host`. Helpers are not consulted here.
pub fn credentials_from_docker_config(bytes: &[u8], registry: &str) -> Option<Credentials> {
    entry_credentials(&serde_json::from_slice(bytes).ok()?, registry)
}

fn entry_credentials(config: &Value, registry: &str) -> Option<Credentials> {
    let entry = auths_entry(config, registry)?;
    if let Some(t) = entry
        .get("identitytoken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        return Some(Credentials {
            username: IDENTITY_TOKEN_USER.to_string(),
            password: t.to_string(),
        });
    }
    if let Some(auth) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    {
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

/// The `CredentialHelper` error for `helper` and `registry`.
fn helper_error(helper: &str, registry: &str, config: &Path, reason: String) -> Error {
    Error::CredentialHelper {
        helper: format!("docker-credential-{helper}"),
        registry: registry.to_string(),
        config: config.to_path_buf(),
        reason,
    }
}

/// Run `docker-credential-<helper> <verb>` with `input` on stdin: its exit status and stdout
/// (bounded, never shown), within [`HELPER_TIMEOUT`].
fn call_helper(
    helper: &str,
    verb: &str,
    input: &[u8],
    registry: &str,
    config: &Path,
) -> Result<(std::process::ExitStatus, Vec<u8>)> {
    let program = format!("docker-credential-{helper}");
    let fail = |reason: String| helper_error(helper, registry, config, reason);
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
        .arg(verb)
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
        let _ = stdin.write_all(input);
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
    Ok((status, out))
}

/// Run `docker-credential-<helper> store` (login) or `erase` (logout) for `registry`.
pub(crate) fn helper_store_or_erase(
    helper: &str,
    registry: &str,
    config: &Path,
    store: Option<&Credentials>,
) -> Result<()> {
    let (verb, input) = match store {
        Some(c) => (
            "store",
            serde_json::to_vec(&serde_json::json!({
                "ServerURL": registry,
                "Username": c.username,
                "Secret": c.password,
            }))
            .map_err(|e| Error::malformed("credential helper request", e))?,
        ),
        None => ("erase", registry.as_bytes().to_vec()),
    };
    let (status, out) = call_helper(helper, verb, &input, registry, config)?;
    // Erasing what the helper does not hold is done already (the protocol's "not found").
    if status.success()
        || (store.is_none() && String::from_utf8_lossy(&out).contains("credentials not found"))
    {
        return Ok(());
    }
    Err(helper_error(
        helper,
        registry,
        config,
        format!(
            "`docker-credential-{helper} {verb}` failed (its output is not shown, it may hold secrets)"
        ),
    ))
}

/// Run `docker-credential-<helper> get` for `registry`. `Ok(None)` when the helper has no
/// credentials for the host.
fn run_helper(helper: &str, registry: &str, config: &Path) -> Result<Option<Credentials>> {
    let program = format!("docker-credential-{helper}");
    let fail = |reason: String| helper_error(helper, registry, config, reason);
    let (status, out) = call_helper(helper, "get", registry.as_bytes(), registry, config)?;
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
        // The global store answers only for hosts the file lists under `auths`.
        assert_eq!(helper_for(&cfg, "other.example"), None);
        let listed: Value = serde_json::from_str(
            r#"{"credsStore":"desktop","auths":{"https://other.example":{}}}"#,
        )
        .unwrap();
        assert_eq!(
            helper_for(&listed, "other.example").as_deref(),
            Some("desktop")
        );
        assert_eq!(helper_for(&listed, "third.example"), None);
        let none: Value = serde_json::from_str(r#"{"auths":{}}"#).unwrap();
        assert_eq!(helper_for(&none, "reg.example"), None);
    }

    #[test]
    fn an_identity_token_is_kept_apart_from_passwords() {
        let cfg = r#"{"auths":{"reg.example":{"auth":"","identitytoken":"refresh-xyz"}}}"#;
        let c = credentials_from_docker_config(cfg.as_bytes(), "reg.example").unwrap();
        assert_eq!(c.username, IDENTITY_TOKEN_USER);
        assert_eq!(c.password, "refresh-xyz");
        assert!(!format!("{c:?}").contains("refresh-xyz"));
    }

    #[test]
    fn helper_names_cannot_be_paths() {
        let e = run_helper("../../bin/sh", "reg.example", Path::new("c.json")).unwrap_err();
        assert!(e.to_string().contains("helper name"), "{e}");
        assert_eq!(e.exit_code(), 3);
    }
}

//! `login` / `logout`: credentials checked against the registry, then kept where the docker CLI,
//! oras and cosign keep them (the docker config), so every tool on the machine shares one login.
//!
//! A credential helper configured for the host (`credHelpers.<host>`, or `credsStore`) stores
//! them (`docker-credential-<name> store`) and the file only lists the host under `auths`, as
//! `docker login` does; otherwise they go base64-encoded into `auths.<host>.auth` (mode 0600,
//! written atomically, every other key of the file kept).

use std::path::PathBuf;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

use super::credentials::{
    Credentials, docker_config_path, helper_store_or_erase, keys, read_config,
};
use super::error::{Error, Result};
use super::registry::{RegistryOptions, RegistryStore};

/// What [`login`] did.
#[derive(Clone, Debug, Serialize)]
pub struct LoggedIn {
    /// The registry (`host[:port]`).
    pub registry: String,
    /// The docker config written.
    pub config: PathBuf,
    /// The credential helper that holds the secret, if one did (else the file holds it,
    /// base64-encoded, which is not encryption).
    pub helper: Option<String>,
}

/// What [`logout`] did.
#[derive(Clone, Debug, Serialize)]
pub struct LoggedOut {
    /// The registry (`host[:port]`).
    pub registry: String,
    /// The docker config edited.
    pub config: PathBuf,
    /// Whether there was a login to remove.
    pub removed: bool,
}

fn config_path() -> Result<PathBuf> {
    docker_config_path().ok_or_else(|| {
        Error::io(
            "~/.docker/config.json",
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "HOME is not set; set DOCKER_CONFIG to the folder of config.json",
            ),
        )
    })
}

fn write_config(path: &std::path::Path, config: &Map<String, Value>) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut bytes =
        serde_json::to_vec_pretty(config).map_err(|e| Error::malformed("docker config", e))?;
    bytes.push(b'\n');
    crate::io::write_atomic(path, &bytes, Some(0o600), true).map_err(|e| Error::io(path, e))
}

fn load(path: &std::path::Path) -> Result<Map<String, Value>> {
    match read_config(path)? {
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(Error::malformed(
            "docker config",
            format!(
                "{} is not a JSON object; fix or move it away",
                path.display()
            ),
        )),
        None if path.exists() => Err(Error::malformed(
            "docker config",
            format!("{} is not JSON; fix or move it away", path.display()),
        )),
        None => Ok(Map::new()),
    }
}

/// Checks `credentials` against `registry` (nothing is written when it refuses them), then
/// stores them (see the module docs).
pub fn login(registry: &str, credentials: Credentials, opts: RegistryOptions) -> Result<LoggedIn> {
    let store = RegistryStore::new(
        registry,
        RegistryOptions {
            credentials: Some(credentials.clone()),
            use_docker_config: false,
            ..opts
        },
    )?;
    store.check_login()?;
    let path = config_path()?;
    let mut config = load(&path)?;
    let helper = super::credentials::helper_for(&Value::Object(config.clone()), registry)
        // `docker login` hands every new login to a global credsStore.
        .or_else(|| {
            config
                .get("credsStore")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        });
    if let Some(h) = &helper {
        helper_store_or_erase(h, registry, &path, Some(&credentials))?;
    }
    let auths = config
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(auths) = auths else {
        return Err(Error::malformed(
            "docker config",
            format!("`auths` in {} is not an object", path.display()),
        ));
    };
    for k in keys(registry) {
        auths.remove(&k);
    }
    let entry = match helper {
        Some(_) => serde_json::json!({}),
        None => {
            let auth = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", credentials.username, credentials.password));
            serde_json::json!({ "auth": auth })
        }
    };
    auths.insert(registry.to_string(), entry);
    write_config(&path, &config)?;
    Ok(LoggedIn {
        registry: registry.to_string(),
        config: path,
        helper,
    })
}

/// Removes the login for `registry`: its `auths` entries (every spelling) and, where a helper is
/// configured for the host, the helper's copy (`erase`).
pub fn logout(registry: &str) -> Result<LoggedOut> {
    let path = config_path()?;
    let mut config = load(&path)?;
    let helper = super::credentials::helper_for(&Value::Object(config.clone()), registry);
    let mut removed = false;
    if let Some(Value::Object(auths)) = config.get_mut("auths") {
        for k in keys(registry) {
            removed |= auths.remove(&k).is_some();
        }
    }
    if let Some(h) = &helper {
        helper_store_or_erase(h, registry, &path, None)?;
        removed = true;
    }
    if removed {
        write_config(&path, &config)?;
    }
    Ok(LoggedOut {
        registry: registry.to_string(),
        config: path,
        removed,
    })
}

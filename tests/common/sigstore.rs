//! Local Fulcio and Rekor fakes (tests/fakes/sigstore_fakes.py, run by the venv's Python) on free
//! 127.0.0.1 ports, with the trust config naming them, and unsigned identity tokens to sign with.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The fakes, stopped on drop.
pub struct Fakes {
    child: Child,
    _dir: tempfile::TempDir,
    pub fulcio: String,
    pub rekor: String,
    /// sigstore ClientTrustConfig JSON: signingConfig names the fakes, trustedRoot their keys.
    pub trust_config: PathBuf,
    pub trusted_root: PathBuf,
    /// GitHub Actions token service (ACTIONS_ID_TOKEN_REQUEST_URL) and its request token.
    pub gha_url: String,
    pub gha_request_token: String,
}

impl Fakes {
    pub fn start() -> Fakes {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes/sigstore_fakes.py");
        let mut child = Command::new(super::venv_bin("python"))
            .arg(&script)
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the Sigstore fakes with the venv's python");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the fakes did not start ({e}): {line:?}"));
        let s = |k: &str| v[k].as_str().unwrap().to_owned();
        Fakes {
            fulcio: s("fulcio"),
            rekor: s("rekor"),
            trust_config: PathBuf::from(s("trust_config")),
            trusted_root: PathBuf::from(s("trusted_root")),
            gha_url: s("gha_token_url"),
            gha_request_token: s("gha_request_token"),
            child,
            _dir: dir,
        }
    }

    /// Runs the real sigstore-python CLI against this deployment's trust config.
    pub fn sigstore(&self, args: &[&str]) -> Output {
        Command::new(super::venv_bin("sigstore"))
            .arg("--trust-config")
            .arg(&self.trust_config)
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Fakes {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A JWT with the given claims and a dummy signature (the fakes do not check signatures).
pub fn jwt(claims: serde_json::Value) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

pub const ISSUER: &str = "https://token.example.test";
pub const IDENTITY: &str =
    "https://github.com/acme/models/.github/workflows/sign.yml@refs/heads/main";

/// A valid token for [`IDENTITY`] from [`ISSUER`], audience sigstore, 10 minutes.
pub fn token() -> String {
    jwt(serde_json::json!({
        "iss": ISSUER, "sub": IDENTITY, "aud": "sigstore",
        "iat": now(), "exp": now() + 600,
    }))
}

/// A 127.0.0.1 URL where nothing listens.
pub fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

//! Shared test helpers: a temp workspace, the real binary, generated models and keys.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod fault_proxy;
pub mod http;
pub mod oms;
pub mod referrers_proxy;
pub mod registry;
pub mod sigstore;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temp folder to run the binary in.
pub struct Work {
    pub dir: tempfile::TempDir,
}

impl Work {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs `provenance` with args in the work folder.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    /// Runs `provenance` with args and extra environment variables (ambient Sigstore and GitHub
    /// Actions credentials are removed unless given here).
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_provenance"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("SIGSTORE_ID_TOKEN")
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
            // No credential file of the machine running the tests.
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            .env("XDG_CONFIG_HOME", self.dir.path().join(".xdg-config"))
            .env("PROVENANCE_HOME", self.dir.path().join(".provenance-home"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// Runs `provenance` with `stdin` and extra environment variables (no docker config), killing
    /// it once it has run for `limit`: a test of "it ends" fails instead of hanging.
    pub fn run_bounded(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: &str,
        limit: std::time::Duration,
    ) -> Bounded {
        use std::io::Write as _;
        let out = self.path(".bounded-out");
        let err = self.path(".bounded-err");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_provenance"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("SIGSTORE_ID_TOKEN")
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            .env("XDG_CONFIG_HOME", self.path(".xdg-config"))
            .env("PROVENANCE_HOME", self.dir.path().join(".provenance-home"))
            .env("DOCKER_CONFIG", self.path("nodocker"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = std::time::Instant::now();
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let (code, killed) = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break (st.code(), false);
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                break (None, true);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        Bounded {
            code,
            killed,
            elapsed: started.elapsed(),
            text: format!(
                "{}{}",
                std::fs::read_to_string(&out).unwrap_or_default(),
                std::fs::read_to_string(&err).unwrap_or_default()
            ),
        }
    }

    /// Runs and asserts the exit code; returns stdout+stderr text.
    pub fn expect(&self, code: i32, args: &[&str]) -> String {
        self.expect_env(code, args, &[])
    }

    /// As [`Work::expect`], with extra environment variables.
    pub fn expect_env(&self, code: i32, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = self.run_env(args, env);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "provenance {args:?} exited {:?}, want {code}:\n{text}",
            out.status.code()
        );
        text
    }

    /// Runs a bash script in the work folder (openssl PKIs and the like), failing with its stderr.
    pub fn sh(&self, script: &str) {
        let out = Command::new("bash")
            .args(["-euc", script])
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `provenance` and parses stdout as one JSON document, asserting the exit code.
    pub fn run_json(&self, code: i32, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(code),
            "provenance {args:?}:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
    }

    /// Generates a key pair named `<name>.pem` / `<name>.pub`.
    pub fn keygen(&self, name: &str) {
        self.expect(
            0,
            &[
                "keygen",
                "--private",
                &format!("{name}.pem"),
                "--public",
                &format!("{name}.pub"),
            ],
        );
    }

    pub fn write(&self, rel: &str, bytes: &[u8]) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    /// A Hugging Face style folder: two shards, config, tokenizer, a nested file.
    pub fn hf_model(&self, rel: &str) {
        self.write(
            &format!("{rel}/model-00001-of-00002.safetensors"),
            &bytes(300_000, 1),
        );
        self.write(
            &format!("{rel}/model-00002-of-00002.safetensors"),
            &bytes(200_000, 2),
        );
        self.write(&format!("{rel}/config.json"), br#"{"hidden_size":64}"#);
        self.write(&format!("{rel}/tokenizer.json"), br#"{"vocab":{"a":0}}"#);
        self.write(&format!("{rel}/extra/notes.txt"), b"nested file");
    }
}

/// What [`Work::run_bounded`] saw.
#[derive(Debug)]
pub struct Bounded {
    /// Exit code (`None` if killed or ended by a signal).
    pub code: Option<i32>,
    /// Whether it was still running at the limit and was killed.
    pub killed: bool,
    /// How long it ran.
    pub elapsed: std::time::Duration,
    /// stdout then stderr.
    pub text: String,
}

/// Deterministic pseudo-random bytes.
pub fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Flips one byte of a file in place.
pub fn flip_byte(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0xff;
    std::fs::write(path, b).unwrap();
}

/// The Python venv with model_signing (created by scripts/test). Tests fail, never skip, without it.
pub fn venv_bin(tool: &str) -> PathBuf {
    let venv = std::env::var_os("PROVENANCE_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let bin = venv.join("bin").join(tool);
    assert!(
        bin.exists(),
        "{} not found: run scripts/test (it creates the venv with model-signing) or set PROVENANCE_TEST_VENV",
        bin.display()
    );
    bin
}

/// A disk verdict (`verify --model ... --format json`, one signature) seen as one list: the
/// signature's `checks` (ending at its failed check when it did not count), then the rule's
/// top-level `checks` when it counted; and the signature's fields (`signer`, `metadata`,
/// `resources`, `status`, ...) beside `verified`. The document itself is the one verdict shape
/// of docs/json.md; this only reads it.
pub fn disk_report(v: &serde_json::Value) -> serde_json::Value {
    let sig = v["signatures"].get(0).cloned().unwrap_or_default();
    let mut checks: Vec<serde_json::Value> = sig["checks"].as_array().cloned().unwrap_or_default();
    if sig.is_null() || sig["status"] == "trusted" {
        checks.extend(v["checks"].as_array().cloned().unwrap_or_default());
    }
    let mut r = if sig.is_object() {
        sig
    } else {
        serde_json::json!({})
    };
    let m = r.as_object_mut().unwrap();
    m.insert("checks".into(), checks.into());
    m.insert("verified".into(), v["verified"].clone());
    for k in ["scope", "rule", "policy", "target"] {
        m.insert(k.into(), v[k].clone());
    }
    m.insert("rule_checks".into(), v["checks"].clone());
    r
}

/// The label a signer object reads as (`SignerId::label`): the key id, `<identity> (<issuer>)`,
/// or the certificate's identities (its subject when it has none).
/// An audit entry's signer as one line: the established signer's label, else the claimed one,
/// else `-`.
pub fn entry_signer(e: &serde_json::Value) -> String {
    if e["signer"].is_object() {
        signer_label(&e["signer"])
    } else {
        e["claimed_signer"].as_str().unwrap_or("-").to_owned()
    }
}

pub fn signer_label(s: &serde_json::Value) -> String {
    match s["kind"].as_str() {
        Some("key") => s["key_id"].as_str().unwrap().to_owned(),
        Some("keyless") => format!(
            "{} ({})",
            s["identity"].as_str().unwrap(),
            s["issuer"].as_str().unwrap()
        ),
        Some("certificate") => {
            let ids: Vec<&str> = s["identities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_str().unwrap())
                .collect();
            if ids.is_empty() {
                s["subject"].as_str().unwrap_or_default().to_owned()
            } else {
                ids.join(", ")
            }
        }
        _ => String::new(),
    }
}

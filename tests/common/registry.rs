//! A real Debian `docker-registry` (distribution 2.8, no referrers API) on a free loopback port,
//! with filesystem storage in a temp dir, optionally behind htpasswd basic auth.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Registry {
    child: Option<Child>,
    pub port: u16,
    pub storage: PathBuf,
    cfg: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether something on `port` answers `GET /v2/` with 200.
fn answers(port: u16, auth: bool) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok()
        && buf.starts_with(b"HTTP/1.")
        && (&buf[9..12] == b"200" || (auth && &buf[9..12] == b"401"))
}

/// Fails (never skips) when a tool the tests need is missing.
pub fn which_or_fail(bin: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{bin}` is not on PATH: these tests need it (scripts/test installs it: apt-get install -y docker-registry skopeo apache2-utils)"
    );
}

impl Registry {
    /// Starts a registry; with `auth`, basic auth for (user, password) via an htpasswd file.
    pub fn start(dir: &Path, auth: Option<(&str, &str)>) -> Registry {
        let storage = dir.join("reg");
        std::fs::create_dir_all(&storage).unwrap();
        let port = free_port();
        let mut cfg = format!(
            "version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\nhttp: {{addr: 127.0.0.1:{port}}}\n",
            storage.display()
        );
        if let Some((user, pass)) = auth {
            which_or_fail("htpasswd");
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, pass])
                .output()
                .expect("htpasswd (apt-get install -y apache2-utils)");
            assert!(out.status.success());
            let file = dir.join("htpasswd");
            std::fs::write(&file, out.stdout).unwrap();
            cfg.push_str(&format!(
                "auth: {{htpasswd: {{realm: test, path: {}}}}}\n",
                file.display()
            ));
        }
        let cfg_path = dir.join("reg.yml");
        std::fs::write(&cfg_path, cfg).unwrap();
        let mut r = Registry {
            child: None,
            port,
            storage,
            cfg: cfg_path,
        };
        r.restart();
        r
    }

    /// (Re)starts the registry on the same port, storage and config.
    pub fn restart(&mut self) {
        which_or_fail("docker-registry");
        let auth = std::fs::read_to_string(&self.cfg)
            .unwrap()
            .contains("htpasswd");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&self.cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry is not installed: run scripts/test (apt-get install -y docker-registry)");
        self.child = Some(child);
        let start = Instant::now();
        while !answers(self.port, auth) {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "docker-registry did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Where distribution keeps a blob's bytes.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
    }
}

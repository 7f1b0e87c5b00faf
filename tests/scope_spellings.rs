//! Issue 14 §3: every spelling of one registry host and port that the URL parser accepts lands
//! in one policy rule. A strict rule scoped to `127.0.0.1:PORT/prod/*` (and
//! `localhost:PORT/prod/*`) must cover `127.0.0.1:0PORT`, `127.1:PORT`, `[::ffff:127.0.0.1]:PORT`
//! and the other forms the HTTP client connects to the same registry with; none may fall to the
//! lax `*` rule. Runs against a real `docker-registry`.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use common::registry::Registry;
use common::{Work, bytes};
use serde_json::Value;

/// What a spelling must come to: its canonical reference (verify reports it as its target, and
/// the covering rule is `prod`).
struct Spelling {
    written: String,
    canonical: String,
}

/// The scene: one model at `127.0.0.1:PORT/prod/m:v1`, signed with key `a` only. The policy's
/// `prod` rule trusts key `b` only; the `*` rule trusts key `a`. So a reference the `prod` rule
/// covers fails (exit 1) and one that escapes to `*` passes (exit 0).
fn scene() -> (Work, Registry) {
    let w = Work::new();
    let reg = Registry::start(&w.path("regdata"), None);
    w.keygen("a");
    w.keygen("b");
    w.write("m/model.safetensors", &bytes(30_000, 7));
    w.write("m/config.json", br#"{"seed":7}"#);
    let r = format!("{}/prod/m:v1", reg.host());
    w.expect(0, &["push", "m", &r, "-q"]);
    w.expect(0, &["sign", &r, "--private-key", "a.pem", "-q"]);
    let dev = format!("{}/dev/m:v1", reg.host());
    w.expect(0, &["push", "m", &dev, "-q"]);
    w.expect(0, &["sign", &dev, "--private-key", "a.pem", "-q"]);
    (w, reg)
}

fn write_policy(w: &Work, file: &str, prod_scopes: &[String]) {
    let scopes = prod_scopes
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    w.write(
        file,
        format!(
            "version: 1
policies:
  - name: prod
    scopes: [{scopes}]
    trusted_signers:
      - public_key: b.pub
  - name: everything-else
    scopes: [\"*\"]
    trusted_signers:
      - public_key: a.pub
"
        )
        .as_bytes(),
    );
}

fn verify_json(w: &Work, reference: &str, policy: &str) -> (Option<i32>, String, String) {
    let out = w.run(&[
        "verify",
        reference,
        "--policy",
        policy,
        "--plain-http",
        "-o",
        "json",
    ]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check_detail(v: &Value, name: &str) -> String {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {v}"))["detail"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The spellings of `127.0.0.1:PORT` (and of `localhost:PORT`) the URL parser accepts, each with
/// the canonical reference it must be read as.
fn spellings(port: u16) -> Vec<Spelling> {
    let ip = format!("127.0.0.1:{port}/prod/m:v1");
    let lh = format!("localhost:{port}/prod/m:v1");
    let mut v: Vec<Spelling> = [
        format!("127.0.0.1:{port}"),
        format!("127.0.0.1:0{port}"),
        format!("127.0.0.1:000{port}"),
        format!("127.1:{port}"),
        format!("127.0.1:{port}"),
        format!("2130706433:{port}"),
        format!("0x7f.0.0.1:{port}"),
        format!("0x7F000001:{port}"),
        format!("0177.0.0.1:{port}"),
        format!("[::ffff:127.0.0.1]:{port}"),
        format!("[0:0:0:0:0:ffff:7f00:1]:{port}"),
        format!("[::FFFF:7F00:1]:0{port}"),
        format!("127.0.0.1.:{port}"),
    ]
    .into_iter()
    .map(|h| Spelling {
        written: format!("{h}/prod/m:v1"),
        canonical: ip.clone(),
    })
    .collect();
    for h in [
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        format!("LocalHost.:0{port}"),
    ] {
        v.push(Spelling {
            written: format!("{h}/prod/m:v1"),
            canonical: lh.clone(),
        });
    }
    v
}

#[test]
fn every_spelling_of_the_registry_host_lands_in_the_prod_rule() {
    let (w, reg) = scene();
    let port = reg.port;
    write_policy(
        &w,
        "p.yaml",
        &[
            format!("127.0.0.1:{port}/prod/*"),
            format!("localhost:{port}/prod/*"),
        ],
    );
    // The lax rule passes key a: an escape from `prod` would show as exit 0.
    let (code, out, err) = verify_json(&w, &format!("127.0.0.1:{port}/dev/m:v1"), "p.yaml");
    assert_eq!(code, Some(0), "{out}{err}");

    for s in spellings(port) {
        let (code, out, err) = verify_json(&w, &s.written, "p.yaml");
        assert_eq!(
            code,
            Some(1),
            "verify {} must be decided by rule `prod` (key a is not trusted there):\n{out}{err}",
            s.written
        );
        let v: Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {out}{err}", s.written));
        assert_eq!(v["target"], s.canonical.as_str(), "{}: {v}", s.written);
        let scope = check_detail(&v, "policy:scope");
        assert!(scope.contains("rule `prod`"), "{}: {scope}", s.written);
        assert!(
            out.contains("not trusted") || out.contains("untrusted"),
            "{}: {out}",
            s.written
        );

        let dest = format!("out-{}", s.written.len());
        let _ = std::fs::remove_dir_all(w.path(&dest));
        let pull = w.run(&[
            "pull",
            &s.written,
            "--output",
            &dest,
            "--policy",
            "p.yaml",
            "--plain-http",
        ]);
        assert_eq!(
            pull.status.code(),
            Some(1),
            "pull {}: {}",
            s.written,
            String::from_utf8_lossy(&pull.stderr)
        );
        assert!(
            !w.path(&dest).exists() && !w.path(&format!("{dest}.sig")).exists(),
            "pull {} wrote something",
            s.written
        );
    }
}

#[test]
fn audit_decides_every_spelling_by_the_prod_rule() {
    let (w, reg) = scene();
    let port = reg.port;
    write_policy(&w, "p.yaml", &[format!("127.0.0.1:{port}/prod/*")]);
    for written in [
        format!("127.0.0.1:0{port}/prod/m:v1"),
        format!("127.1:{port}/prod/m:v1"),
        format!("[::ffff:127.0.0.1]:{port}/prod/m:v1"),
    ] {
        let out = w.run(&[
            "audit",
            &written,
            "--policy",
            "p.yaml",
            "--plain-http",
            "-o",
            "json",
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "audit {written}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("rule `prod`"), "audit {written}: {stdout}");
    }
}

#[test]
fn policy_scopes_are_read_in_the_same_canonical_form() {
    let (w, reg) = scene();
    let port = reg.port;
    // The rule written with a leading-zero port, an upper-case name or a numeric IPv4 form means
    // the canonical host and port.
    for (i, pattern) in [
        format!("127.0.0.1:0{port}/prod/*"),
        format!("127.1:{port}/prod/*"),
        format!("[::ffff:127.0.0.1]:{port}/prod/*"),
        format!("0x7f000001:{port}/prod/*"),
    ]
    .into_iter()
    .enumerate()
    {
        let file = format!("p{i}.yaml");
        write_policy(&w, &file, std::slice::from_ref(&pattern));
        let (code, out, err) = verify_json(&w, &format!("127.0.0.1:{port}/prod/m:v1"), &file);
        assert_eq!(code, Some(1), "pattern {pattern}:\n{out}{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert!(
            check_detail(&v, "policy:scope").contains("rule `prod`"),
            "pattern {pattern}: {v}"
        );
    }
    write_policy(&w, "pl.yaml", &[format!("LOCALHOST:0{port}/prod/*")]);
    let (code, out, err) = verify_json(&w, &format!("localhost:{port}/prod/m:v1"), "pl.yaml");
    assert_eq!(code, Some(1), "{out}{err}");
    // localhost and 127.0.0.1 are different names: the localhost rule does not cover the IP.
    let (code, out, err) = verify_json(&w, &format!("127.0.0.1:{port}/prod/m:v1"), "pl.yaml");
    assert_eq!(code, Some(0), "{out}{err}");
    // A pattern whose host part cannot be a host (a port out of range) is refused at load.
    write_policy(&w, "bad.yaml", &["127.0.0.1:99999/prod/*".to_owned()]);
    let (code, out, err) = verify_json(&w, &format!("127.0.0.1:{port}/prod/m:v1"), "bad.yaml");
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("99999"), "{err}");
}

#[test]
fn a_host_the_url_parser_refuses_is_a_usage_error() {
    let w = Work::new();
    w.keygen("a");
    for bad in [
        "127.0.0.1:65536/prod/m:v1",
        "127.0.0.1:0/prod/m:v1",
        "1.2.3.256:5000/prod/m:v1",
        "::1:5000/prod/m:v1",
        "ghcr..io/prod/m:v1",
    ] {
        let out = w.run(&["verify", bad, "--public-key", "a.pub", "--plain-http"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("registry host"), "{bad}: {err}");
    }
}

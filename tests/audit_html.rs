//! `provenance audit --format html` over real signatures, looked at in headless Chromium (Debian's
//! `chromium`, installed by scripts/test): the page reads like an incident report (when, inputs,
//! trusted keys and counts at the top; one section per model with its signatures; short ids with
//! the full value on hover), and at 1280 px nothing, the findings column included, lies beyond the
//! right edge of the window.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 900;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_provenance"))
}

/// The Chromium binary on PATH; its absence fails the test (scripts/test installs it).
fn chromium() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("chromium"))
                .find(|c| c.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "`chromium` is not on PATH: the HTML report test needs it (scripts/test installs it: apt-get install -y chromium)"
            )
        })
}

/// Runs headless Chromium on `page` with a 1280x900 window; returns its stdout. Killed (and the
/// test failed) after two minutes.
fn run_chromium(browser: &Path, work: &Path, page: &Path, extra: &[String]) -> String {
    let n = std::fs::read_dir(work).unwrap().count();
    let (out, err) = (work.join(format!("out-{n}")), work.join(format!("err-{n}")));
    let mut child = Process::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args(["--no-first-run", "--disable-extensions", "--mute-audio"])
        .arg("--force-device-scale-factor=1")
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!(
            "--user-data-dir={}",
            work.join(format!("profile-{n}")).display()
        ))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish in 120 s: {}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "chromium failed ({status}): {}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    std::fs::read_to_string(&out).unwrap()
}

/// Generates a key pair `<name>.pem`/`<name>.pub` in `dir`; returns the key id.
fn keygen(dir: &Path, name: &str) -> String {
    let out = bin()
        .current_dir(dir)
        .args(["keygen", "--private", &format!("{name}.pem")])
        .args(["--public", &format!("{name}.pub"), "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["key_id"].as_str().unwrap().to_owned()
}

fn weights(dir: &Path, path: &str, seed: u8) -> Vec<u8> {
    let bytes: Vec<u8> = (0..50_000u32)
        .map(|i| (i as u8).wrapping_mul(seed).wrapping_add(seed))
        .collect();
    std::fs::write(dir.join(path), &bytes).unwrap();
    bytes
}

fn sign(dir: &Path, model: &str, key: &str, signature: Option<&str>, metadata: &[&str]) {
    let mut cmd = bin();
    cmd.current_dir(dir)
        .args(["sign", "--model", model, "--private-key"])
        .arg(format!("{key}.pem"));
    if let Some(s) = signature {
        cmd.args(["--signature", s]);
    }
    for m in metadata {
        cmd.args(["--metadata", m]);
    }
    cmd.assert().success();
}

/// The part of `html` from `from` up to the next `to` after it.
fn between<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
    let start = html.find(from).unwrap_or_else(|| panic!("no {from}"));
    let rest = &html[start..];
    &rest[..rest.find(to).unwrap_or(rest.len())]
}

/// The model sections of the page, in order.
fn sections(html: &str) -> Vec<&str> {
    html.split("<section class=\"model\"")
        .skip(1)
        .map(|s| &s[..s.find("</section>").unwrap()])
        .collect()
}

fn subject_of(section: &str) -> &str {
    between(section, "<span class=\"subject\">", "</span>")
        .trim_start_matches("<span class=\"subject\">")
}

#[test]
fn html_report_reads_like_an_incident_report_and_fits_1280px() {
    let browser = chromium();
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    std::fs::create_dir(p.join("models")).unwrap();
    std::fs::create_dir(p.join("more")).unwrap();
    let (a, b, c, d) = (
        keygen(p, "a"),
        keygen(p, "b"),
        keygen(p, "c"),
        keygen(p, "d"),
    );
    let long = format!("notes={}", "x".repeat(400));
    weights(p, "models/m1.pt", 1);
    sign(
        p,
        "models/m1.pt",
        "a",
        None,
        &[
            "author=alice",
            "training_data=corpus",
            "training_data_hash=sha256:d1",
        ],
    );
    // A second signature of the same model, by another trusted key, kept elsewhere.
    sign(
        p,
        "models/m1.pt",
        "c",
        Some("more/m1-by-c.sig"),
        &["author=carol", &long],
    );
    weights(p, "models/ft.pt", 6);
    sign(
        p,
        "models/ft.pt",
        "c",
        None,
        &["author=carol", "base_model=m1.pt"],
    );
    let m2 = weights(p, "models/m2.pt", 2);
    sign(p, "models/m2.pt", "a", None, &["author=alice"]);
    let mut tampered = m2.clone();
    tampered[10] ^= 0xff;
    std::fs::write(p.join("models/m2.pt"), &tampered).unwrap();
    weights(p, "models/m3.pt", 3);
    sign(
        p,
        "models/m3.pt",
        "b",
        None,
        &[
            "author=bob",
            "training_data=corpus",
            "training_data_hash=sha256:d2",
        ],
    );
    weights(p, "models/m4.pt", 4);
    sign(
        p,
        "models/m4.pt",
        "d",
        None,
        &["author=<script>alert(1)</script>", &long],
    );
    std::fs::write(p.join("models/m5.pt"), b"never signed").unwrap();

    let out = bin()
        .current_dir(p)
        .args(["audit", "models", "more", "-p", "a.pub", "-p", "c.pub"])
        .args(["--revoked", "b.pub", "--format", "html"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8(out.stdout).unwrap();
    let report = p.join("report.html");
    std::fs::write(&report, &html).unwrap();

    // Self-contained, no script, every untrusted string escaped.
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("http"), "external reference in the page");
    assert!(!html.contains("<script"), "script in the page");
    assert!(html.contains("author</code> = &lt;script&gt;alert(1)&lt;/script&gt;"));

    // The header: when, inputs, trusted keys, revocations and the counts.
    let header = between(&html, "<header>", "</header>");
    let at = between(header, "<time datetime=\"", "\">")
        .trim_start_matches("<time datetime=\"")
        .to_owned();
    let when = OffsetDateTime::parse(&at, &Rfc3339).unwrap_or_else(|e| panic!("{at}: {e}"));
    assert!(at.ends_with('Z'), "{at} is not UTC");
    assert!(
        (OffsetDateTime::now_utc() - when).abs() < time::Duration::minutes(10),
        "{at}"
    );
    for input in ["models", "more"] {
        assert!(header.contains(&format!("<li><code>{input}</code></li>")));
    }
    let trusted = between(header, "<dt>Trusted signers</dt>", "</dd>");
    for key in [&a, &c] {
        assert!(
            trusted.contains(&format!("title=\"{key}\">{}…</abbr>", &key[..12])),
            "{trusted}"
        );
    }
    assert!(!trusted.contains(&b) && !trusted.contains(&d), "{trusted}");
    assert!(between(header, "<dt>Revoked</dt>", "</dd>").contains(&format!("title=\"{b}\"")));
    for (class, text) in [
        ("verified", "3 verified"),
        ("failed", "1 failed"),
        ("unknown-signer", "1 unknown signer"),
        ("revoked", "1 revoked"),
        ("unsigned", "1 unsigned"),
    ] {
        assert!(
            header.contains(&format!("<span class=\"badge st-{class}\">{text}</span>")),
            "{class}: {header}"
        );
    }

    // One section per model, its signatures grouped inside it, base model before fine-tune.
    let sections = sections(&html);
    let subjects: Vec<&str> = sections.iter().map(|s| subject_of(s)).collect();
    assert_eq!(
        subjects,
        ["m1.pt", "ft.pt", "m2.pt", "m3.pt", "m4.pt", "m5.pt"],
        "{html}"
    );
    let rows: Vec<usize> = sections
        .iter()
        .map(|s| s.matches("<tr class=\"sig\">").count())
        .collect();
    assert_eq!(rows, [2, 1, 1, 1, 1, 1]);
    assert!(sections[0].contains("2 signatures"), "{}", sections[0]);
    for key in [&a, &c] {
        assert!(sections[0].contains(&format!("title=\"{key}\"")));
    }
    assert!(sections[5].contains("no signature"));
    // Every signed model's heading shows its root digest short, the full one in the title.
    for s in &sections[..5] {
        let h3 = between(s, "<h3>", "</h3>");
        assert!(h3.contains("<abbr class=\"id\" title=\"sha256:"), "{h3}");
    }
    // The mismatch names both digests in full on hover.
    let m2_signed = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&m2));
    let m2_found = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&tampered));
    for digest in [&m2_signed, &m2_found] {
        assert!(sections[2].contains(&format!("title=\"{digest}\"")));
    }
    // Outside the graph (whose nodes carry theirs in SVG <title> tooltips), a full key id or
    // digest is never shown as text, only in title attributes.
    let page = &html[..html.find("<svg").unwrap()];
    for id in [&a, &b, &c, &d, &m2_signed, &m2_found] {
        assert_eq!(
            page.matches(id.as_str()).count(),
            page.matches(&format!("title=\"{id}\"")).count(),
            "{id} shown in full outside a title"
        );
    }
    assert!(html.contains("<svg") && html.contains("stroke-dasharray"));

    // The screenshot: a PNG of exactly the window.
    let work = p.join("chromium");
    std::fs::create_dir(&work).unwrap();
    let shot = p.join("shot.png");
    run_chromium(
        &browser,
        &work,
        &report,
        &[format!("--screenshot={}", shot.display())],
    );
    let png = std::fs::read(&shot).expect("chromium wrote no screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
    assert_eq!((be(&png[16..20]), be(&png[20..24])), (WIDTH, HEIGHT));
    assert!(
        png.len() > 10_000,
        "a blank screenshot ({} bytes)",
        png.len()
    );

    // The layout, measured: a test-only copy of the page with a script (the report itself has
    // none) that writes what it measures into the title, read back from the dumped DOM.
    let measure = r#"<script>
const vw = window.innerWidth;
const cells = [...document.querySelectorAll('td.findings, th.findings')];
const beyond = [...document.body.querySelectorAll('*')]
  .filter(e => e.getBoundingClientRect().right > vw + 0.5)
  .map(e => e.tagName + '.' + e.className);
const clipped = cells.filter(c => c.scrollWidth > c.clientWidth).length;
document.title = 'MEASURE' + JSON.stringify({
  innerWidth: vw,
  scrollWidth: document.documentElement.scrollWidth,
  findingsRight: Math.max(...cells.map(c => c.getBoundingClientRect().right)),
  findingsCells: cells.length,
  sections: document.querySelectorAll('section.model').length,
  beyond: beyond.slice(0, 10),
  clipped,
});
</script></body>"#;
    let probe = p.join("probe.html");
    std::fs::write(&probe, html.replace("</body>", measure)).unwrap();
    let dom = run_chromium(
        &browser,
        &work,
        &probe,
        &["--dump-dom".into(), "--virtual-time-budget=5000".into()],
    );
    let title = between(&dom, "MEASURE", "</title>").trim_start_matches("MEASURE");
    let m: Value = serde_json::from_str(&title.replace("&amp;", "&"))
        .unwrap_or_else(|e| panic!("{e}: {title}"));
    eprintln!("layout at {WIDTH} px: {m}");
    assert_eq!(m["innerWidth"], WIDTH, "the window is not {WIDTH} px: {m}");
    assert!(
        m["scrollWidth"].as_u64().unwrap() <= u64::from(WIDTH),
        "horizontal scroll: {m}"
    );
    assert!(
        m["findingsRight"].as_f64().unwrap() <= f64::from(WIDTH),
        "findings column cut off: {m}"
    );
    assert_eq!(m["findingsCells"], 7 + 6, "{m}");
    assert_eq!(m["sections"], 6, "{m}");
    assert_eq!(m["beyond"], Value::Array(vec![]), "{m}");
    assert_eq!(m["clipped"], 0, "{m}");
}

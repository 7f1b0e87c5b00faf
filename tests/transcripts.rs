//! CLI transcripts (trycmd): the help texts, the errors and the quick starts, pinned so a change
//! in wording or exit code is a reviewed diff. `TRYCMD=overwrite cargo test --test transcripts`
//! rewrites tests/cmd/*.md after a deliberate change.

#[test]
fn transcripts() {
    let t = trycmd::TestCases::new();
    // Each case runs in its own sandbox copy of `<case>.in`; the local store lives there too.
    t.env("PROVENANCE_HOME", "home")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .register_bin("sh", std::path::Path::new("/bin/sh"))
        .default_bin_name("provenance")
        .timeout(std::time::Duration::from_secs(120))
        .case("tests/cmd/*.md");
}

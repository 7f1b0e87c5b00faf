//! RFC 5280 path validation of the certificate (private PKI) method, with `openssl verify
//! -purpose any` as the oracle (issue 14 §4). Each row of the table generates its own root,
//! intermediates and leaf with `openssl ca` in a temp folder (one flaw per row, dates set
//! explicitly), asks openssl, then signs a small model with the real binary
//! (`sign --signing-certificate --certificate-chain`) and verifies it against the root
//! (`verify --certificate-chain root.pem`). Every row must agree with openssl: openssl accepts
//! ⇔ exit 0; openssl refuses ⇔ exit 1 at check `certificate-chain`, naming a certificate
//! openssl blames. The leaf's own usage (digitalSignature or codeSigning, OMS §8.2) is a rule
//! `-purpose any` does not have: rows whose leaf may not sign must pass openssl and fail
//! check `key-usage`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
use common::Work;
use std::process::Command;

/// Validity windows: valid now, expired, not yet valid (UTCTime years, before 2050).
type Window = (&'static str, &'static str);
const VALID: Window = ("20200101000000Z", "20491231235959Z");
const EXPIRED: Window = ("20200101000000Z", "20210101000000Z");
const NOT_YET: Window = ("20480101000000Z", "20491231235959Z");

const CA: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
const CA_PATHLEN_0: &str =
    "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n";
const CA_PATHLEN_1: &str =
    "basicConstraints=critical,CA:TRUE,pathlen:1\nkeyUsage=critical,keyCertSign,cRLSign\n";
const LEAF: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nsubjectAltName=email:signer@x509.example\n";
/// A model_signing-style leaf: CA:TRUE with digitalSignature and codeSigning.
const CA_LEAF: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nsubjectAltName=email:signer@x509.example\n";
/// An extension no validator knows, marked critical.
const UNKNOWN_CRITICAL: &str = "1.3.6.1.4.1.55555.1=critical,ASN1:NULL\n";
const UNKNOWN_NON_CRITICAL: &str = "1.3.6.1.4.1.55555.1=ASN1:NULL\n";

/// One certificate of a row.
#[derive(Clone)]
struct Spec {
    exts: String,
    window: Window,
    /// Issue it under this issuer name instead of its issuer's subject (same issuer key).
    issuer_name: Option<&'static str>,
}

fn spec(exts: &str) -> Spec {
    Spec {
        exts: exts.to_owned(),
        window: VALID,
        issuer_name: None,
    }
}

impl Spec {
    fn window(mut self, w: Window) -> Self {
        self.window = w;
        self
    }
    fn plus(mut self, ext: &str) -> Self {
        self.exts.push_str(ext);
        self
    }
    fn under_name(mut self, name: &'static str) -> Self {
        self.issuer_name = Some(name);
        self
    }
}

/// A chain: a self-signed root, intermediates from the root down, the signing leaf.
struct Row {
    name: &'static str,
    root: Spec,
    inters: Vec<Spec>,
    leaf: Spec,
    /// The leaf allows signing (OMS §8.2: digitalSignature or codeSigning; a CA:TRUE leaf both).
    leaf_may_sign: bool,
    /// Verify against another root of the same name and another key.
    trust_other_root: bool,
}

fn row(name: &'static str, root: Spec, inters: Vec<Spec>, leaf: Spec) -> Row {
    Row {
        name,
        root,
        inters,
        leaf,
        leaf_may_sign: true,
        trust_other_root: false,
    }
}

fn subject(i: usize, n: usize) -> String {
    match i {
        0 => "X509 Test Root".into(),
        i if i == n + 1 => "X509 Test Leaf".into(),
        i => format!("X509 Test Intermediate {i}"),
    }
}

fn table() -> Vec<Row> {
    let ok = |n, inters| row(n, spec(CA), inters, spec(LEAF));
    vec![
        // Good chains.
        ok("good_chain_root_intermediate_leaf", vec![spec(CA)]),
        row(
            "good_chain_with_a_ca_true_leaf",
            spec(CA),
            vec![spec(CA)],
            spec(CA_LEAF),
        ),
        ok("good_leaf_issued_by_the_root", vec![]),
        ok(
            "good_pathlen_0_with_no_intermediate_below",
            vec![spec(CA_PATHLEN_0)],
        ),
        row(
            "good_pathlen_0_with_a_ca_true_leaf_below",
            spec(CA),
            vec![spec(CA_PATHLEN_0)],
            spec(CA_LEAF),
        ),
        ok(
            "good_pathlen_1_with_one_intermediate_below",
            vec![spec(CA_PATHLEN_1), spec(CA)],
        ),
        ok(
            "good_unknown_non_critical_extension",
            vec![spec(CA).plus(UNKNOWN_NON_CRITICAL)],
        ),
        // keyCertSign.
        ok(
            "intermediate_without_keycertsign",
            vec![spec(
                "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n",
            )],
        ),
        row(
            "intermediate_without_keycertsign_ca_true_leaf",
            spec(CA),
            vec![spec(
                "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n",
            )],
            spec(CA_LEAF),
        ),
        row(
            "root_without_keycertsign",
            spec("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,cRLSign\n"),
            vec![spec(CA)],
            spec(LEAF),
        ),
        // pathLenConstraint.
        row(
            "pathlen_0_violated_with_ca_true_leaf",
            spec(CA),
            vec![spec(CA_PATHLEN_0), spec(CA)],
            spec(CA_LEAF),
        ),
        ok(
            "pathlen_0_violated_with_ca_false_leaf",
            vec![spec(CA_PATHLEN_0), spec(CA)],
        ),
        ok(
            "pathlen_1_violated_by_two_intermediates_below",
            vec![spec(CA_PATHLEN_1), spec(CA), spec(CA)],
        ),
        row(
            "root_pathlen_0_violated",
            spec(CA_PATHLEN_0),
            vec![spec(CA)],
            spec(LEAF),
        ),
        // basicConstraints.
        ok(
            "intermediate_ca_false",
            vec![spec(
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyCertSign\n",
            )],
        ),
        row(
            "intermediate_ca_false_ca_true_leaf",
            spec(CA),
            vec![spec(
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyCertSign\n",
            )],
            spec(CA_LEAF),
        ),
        ok(
            "intermediate_without_basic_constraints",
            vec![spec("subjectKeyIdentifier=hash\n")],
        ),
        ok(
            "intermediate_without_basic_constraints_with_keycertsign",
            vec![spec("keyUsage=critical,keyCertSign,cRLSign\n")],
        ),
        ok("v1_intermediate_without_extensions", vec![spec("")]),
        // openssl takes a self-signed v1 root as a CA (so does model_signing, through OpenSSL).
        row(
            "good_v1_root_without_extensions",
            spec(""),
            vec![spec(CA)],
            spec(LEAF),
        ),
        row(
            "root_ca_false",
            spec("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyCertSign\n"),
            vec![spec(CA)],
            spec(LEAF),
        ),
        // Validity of every certificate in the path.
        ok("expired_intermediate", vec![spec(CA).window(EXPIRED)]),
        ok("not_yet_valid_intermediate", vec![spec(CA).window(NOT_YET)]),
        row(
            "expired_intermediate_ca_true_leaf",
            spec(CA),
            vec![spec(CA).window(EXPIRED)],
            spec(CA_LEAF),
        ),
        row(
            "expired_root",
            spec(CA).window(EXPIRED),
            vec![spec(CA)],
            spec(LEAF),
        ),
        row(
            "not_yet_valid_root",
            spec(CA).window(NOT_YET),
            vec![spec(CA)],
            spec(LEAF),
        ),
        row(
            "expired_leaf",
            spec(CA),
            vec![spec(CA)],
            spec(LEAF).window(EXPIRED),
        ),
        // Name chaining: the leaf names another issuer, signed by the intermediate's key.
        row(
            "issuer_name_differs_from_the_intermediate_subject",
            spec(CA),
            vec![spec(CA)],
            spec(LEAF).under_name("X509 Test Other Intermediate"),
        ),
        row(
            "issuer_name_differs_ca_true_leaf",
            spec(CA),
            vec![spec(CA)],
            spec(CA_LEAF).under_name("X509 Test Other Intermediate"),
        ),
        Row {
            trust_other_root: true,
            ..ok("root_of_the_same_name_with_another_key", vec![spec(CA)])
        },
        // Critical extensions not understood.
        ok(
            "unknown_critical_extension_in_the_intermediate",
            vec![spec(CA).plus(UNKNOWN_CRITICAL)],
        ),
        row(
            "unknown_critical_extension_in_the_leaf",
            spec(CA),
            vec![spec(CA)],
            spec(LEAF).plus(UNKNOWN_CRITICAL),
        ),
        row(
            "unknown_critical_extension_in_the_ca_true_leaf",
            spec(CA),
            vec![spec(CA)],
            spec(CA_LEAF).plus(UNKNOWN_CRITICAL),
        ),
        row(
            "unknown_critical_extension_in_the_root",
            spec(CA).plus(UNKNOWN_CRITICAL),
            vec![spec(CA)],
            spec(LEAF),
        ),
        // The leaf's own usage (not an openssl -purpose any rule).
        Row {
            leaf_may_sign: false,
            ..row(
                "leaf_without_digital_signature_or_code_signing",
                spec(CA),
                vec![spec(CA)],
                spec(
                    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\nextendedKeyUsage=serverAuth\n",
                ),
            )
        },
        Row {
            leaf_may_sign: false,
            ..row(
                "ca_true_leaf_without_code_signing",
                spec(CA),
                vec![spec(CA)],
                spec(
                    "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\n",
                ),
            )
        },
    ]
}

const CA_CNF: &str = "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\ndefault_md = sha256\npolicy = pol\nunique_subject = no\nrand_serial = yes\ncopy_extensions = none\n[pol]\ncommonName = supplied\n";

fn openssl(w: &Work, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issues `name.pem` (key `name.key`, subject CN=`cn`) under `issuer` (its files' base name),
/// or self-signed, with the spec's extensions and window. `issuer_name` issues it under another
/// issuer name: a certificate of that name holding the issuer's key is made for the purpose.
fn issue(w: &Work, name: &str, cn: &str, spec: &Spec, issuer: Option<&str>) {
    openssl(
        w,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &format!("{name}.key"),
        ],
    );
    let subj = format!("/CN={cn}");
    openssl(
        w,
        &[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &subj,
            "-out",
            &format!("{name}.csr"),
        ],
    );
    w.write(&format!("{name}.ext"), spec.exts.as_bytes());
    let mut args: Vec<String> = [
        "ca",
        "-batch",
        "-config",
        "ca.cnf",
        "-notext",
        "-in",
        &format!("{name}.csr"),
        "-out",
        &format!("{name}.pem"),
        "-startdate",
        spec.window.0,
        "-enddate",
        spec.window.1,
        "-extfile",
        &format!("{name}.ext"),
    ]
    .map(str::to_owned)
    .to_vec();
    match (issuer, spec.issuer_name) {
        (None, _) => args.extend(
            ["-selfsign", "-keyfile"]
                .map(str::to_owned)
                .into_iter()
                .chain([format!("{name}.key")]),
        ),
        (Some(iss), None) => args.extend([
            "-cert".to_owned(),
            format!("{iss}.pem"),
            "-keyfile".to_owned(),
            format!("{iss}.key"),
        ]),
        (Some(iss), Some(alias)) => {
            // A self-signed certificate named `alias` with the issuer's key.
            openssl(
                w,
                &[
                    "req",
                    "-x509",
                    "-new",
                    "-key",
                    &format!("{iss}.key"),
                    "-subj",
                    &format!("/CN={alias}"),
                    "-out",
                    &format!("{iss}-alias.pem"),
                ],
            );
            args.extend([
                "-cert".to_owned(),
                format!("{iss}-alias.pem"),
                "-keyfile".to_owned(),
                format!("{iss}.key"),
            ]);
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl(w, &args);
}

/// Generates the row's certificates in `w`: `root.pem`, `inter-1.pem` (below the root) ...,
/// `leaf.pem`/`leaf.key`, `untrusted.pem` (all intermediates), and the root to trust,
/// `trusted.pem`.
fn build(w: &Work, r: &Row) -> Vec<String> {
    w.write("ca.cnf", CA_CNF.as_bytes());
    w.write("index.txt", b"");
    let n = r.inters.len();
    issue(w, "root", &subject(0, n), &r.root, None);
    let mut issuer = "root".to_owned();
    let mut inters = Vec::new();
    for (i, s) in r.inters.iter().enumerate() {
        let name = format!("inter-{}", i + 1);
        issue(w, &name, &subject(i + 1, n), s, Some(&issuer));
        inters.push(name.clone());
        issuer = name;
    }
    issue(w, "leaf", &subject(n + 1, n), &r.leaf, Some(&issuer));
    let mut untrusted = String::new();
    for name in &inters {
        untrusted.push_str(&std::fs::read_to_string(w.path(&format!("{name}.pem"))).unwrap());
    }
    w.write("untrusted.pem", untrusted.as_bytes());
    if r.trust_other_root {
        issue(w, "other-root", &subject(0, n), &r.root, None);
        std::fs::copy(w.path("other-root.pem"), w.path("trusted.pem")).unwrap();
    } else {
        std::fs::copy(w.path("root.pem"), w.path("trusted.pem")).unwrap();
    }
    inters
}

/// openssl's verdict, and the CNs of the certificates its errors are about.
fn oracle(w: &Work, has_inters: bool) -> (bool, Vec<String>, String) {
    let mut args = vec!["verify", "-purpose", "any", "-CAfile", "trusted.pem"];
    if has_inters {
        args.extend(["-untrusted", "untrusted.pem"]);
    }
    args.push("leaf.pem");
    let out = Command::new("openssl")
        .args(&args)
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Each error is printed as the certificate's subject ("CN = ...") then "error N at D ...".
    let lines: Vec<&str> = text.lines().collect();
    let blamed = lines
        .windows(2)
        .filter(|l| l[1].starts_with("error ") && l[0].starts_with("CN = "))
        .map(|l| l[0].trim_start_matches("CN = ").to_owned())
        .collect();
    (out.status.success(), blamed, text)
}

/// Signs a small model with the leaf and its intermediates (nearest first), then verifies it
/// against the trusted root: (exit code, output).
fn provenance(w: &Work, inters: &[String]) -> (Option<i32>, String) {
    w.write("m/weights.bin", &common::bytes(4096, 7));
    w.write("m/config.json", br#"{"layers":2}"#);
    let mut sign = vec![
        "sign".to_owned(),
        "--model".into(),
        "m".into(),
        "--signature".into(),
        "m.sig".into(),
        "--private-key".into(),
        "leaf.key".into(),
        "--signing-certificate".into(),
        "leaf.pem".into(),
    ];
    for name in inters.iter().rev() {
        sign.push("--certificate-chain".into());
        sign.push(format!("{name}.pem"));
    }
    let sign: Vec<&str> = sign.iter().map(String::as_str).collect();
    w.expect(0, &sign);
    let out = w.run(&[
        "verify",
        "--model",
        "m",
        "--signature",
        "m.sig",
        "--certificate-chain",
        "trusted.pem",
    ]);
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Runs one row; returns a description of the disagreement, if any.
fn disagreement(r: &Row) -> Option<String> {
    let w = Work::new();
    let inters = build(&w, r);
    let (openssl_ok, blamed, openssl_text) = oracle(&w, !inters.is_empty());
    let (code, text) = provenance(&w, &inters);
    let why = if !r.leaf_may_sign {
        if !openssl_ok {
            Some("openssl refuses a row meant to test only the leaf's usage".to_owned())
        } else if code != Some(1) || !text.contains("check `key-usage`") {
            Some(format!("want exit 1 at check `key-usage`, got {code:?}"))
        } else {
            None
        }
    } else if openssl_ok {
        if code != Some(0) {
            Some(format!("openssl accepts, provenance exited {code:?}"))
        } else if !text.contains("issued by CN=X509 Test Root") {
            Some("the certificate-chain check does not show the path to the root".to_owned())
        } else {
            None
        }
    } else if code != Some(1) || !text.contains("check `certificate-chain`") {
        Some(format!(
            "openssl refuses, want exit 1 at check `certificate-chain`, got {code:?}"
        ))
    } else if !blamed.iter().any(|cn| text.contains(&format!("CN={cn}"))) {
        Some(format!(
            "openssl blames {blamed:?}, provenance's error names none of them"
        ))
    } else {
        None
    };
    why.map(|why| {
        format!(
            "row {}: {why}\n--- openssl ---\n{openssl_text}--- provenance ---\n{text}",
            r.name
        )
    })
}

#[test]
fn every_chain_of_the_table_gets_openssl_verify_s_verdict() {
    let rows = table();
    // Two rows at a time (the machine has two cores).
    let half = rows.len().div_ceil(2);
    let (a, b) = rows.split_at(half);
    let failures: Vec<String> = std::thread::scope(|s| {
        let ta = s.spawn(|| a.iter().filter_map(disagreement).collect::<Vec<_>>());
        let tb = s.spawn(|| b.iter().filter_map(disagreement).collect::<Vec<_>>());
        let mut f = ta.join().unwrap();
        f.extend(tb.join().unwrap());
        f
    });
    // The table holds both verdicts, so agreeing rows cannot all be one-sided.
    assert!(rows.iter().any(|r| r.name.starts_with("good_")));
    assert!(
        failures.is_empty(),
        "{} of {} rows disagree with openssl:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn an_expired_intermediate_is_named_not_the_leaf() {
    let r = row(
        "expired_intermediate",
        spec(CA),
        vec![spec(CA).window(EXPIRED)],
        spec(LEAF),
    );
    let w = Work::new();
    let inters = build(&w, &r);
    let (openssl_ok, blamed, _) = oracle(&w, true);
    assert!(!openssl_ok);
    assert_eq!(
        blamed.first().map(String::as_str),
        Some("X509 Test Intermediate 1")
    );
    let (code, text) = provenance(&w, &inters);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("intermediate CA CN=X509 Test Intermediate 1 expired"),
        "{text}"
    );
    assert!(!text.contains("X509 Test Leaf expired"), "{text}");
}

#[test]
fn pathlen_0_above_a_sub_ca_refuses_a_ca_true_leaf_naming_the_constrained_ca() {
    let r = row(
        "pathlen",
        spec(CA),
        vec![spec(CA_PATHLEN_0), spec(CA)],
        spec(CA_LEAF),
    );
    let w = Work::new();
    let inters = build(&w, &r);
    let (code, text) = provenance(&w, &inters);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("CN=X509 Test Intermediate 1 allows 0 intermediate CA(s) below it"),
        "{text}"
    );
}

#[test]
fn the_issue_s_two_chains_are_refused_by_verify_pull_and_audit_in_the_store_and_on_a_registry() {
    // Issue 14 §4's two chains, each exit 0 before: an intermediate without keyCertSign, and
    // pathLen 0 above a sub-CA with a CA:TRUE leaf. A good chain is the control.
    let rows = [
        (row("good", spec(CA), vec![spec(CA)], spec(LEAF)), 0),
        (
            row(
                "no_keycertsign",
                spec(CA),
                vec![spec(
                    "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n",
                )],
                spec(LEAF),
            ),
            1,
        ),
        (
            row(
                "pathlen",
                spec(CA),
                vec![spec(CA_PATHLEN_0), spec(CA)],
                spec(CA_LEAF),
            ),
            1,
        ),
    ];
    for (r, want) in rows {
        let w = Work::new();
        let inters = build(&w, &r);
        let reg = common::registry::Registry::start(w.dir.path(), None);
        w.write("m/weights.bin", &common::bytes(4096, 7));
        for repo in ["models/m".to_owned(), format!("{}/models/m", reg.host())] {
            let reference = format!("{repo}:v1");
            w.expect(0, &["push", "m", &reference]);
            let mut sign = vec![
                "sign".to_owned(),
                reference.clone(),
                "--private-key".into(),
                "leaf.key".into(),
                "--signing-certificate".into(),
                "leaf.pem".into(),
            ];
            for name in inters.iter().rev() {
                sign.extend(["--certificate-chain".into(), format!("{name}.pem")]);
            }
            let sign: Vec<&str> = sign.iter().map(String::as_str).collect();
            w.expect(0, &sign);
            let trust = ["--certificate-chain", "trusted.pem"];
            let mut verify = vec!["verify", reference.as_str()];
            verify.extend(trust);
            let out = w.expect(want, &verify);
            if want == 1 {
                assert!(out.contains("certificate-chain"), "{}: {out}", r.name);
            }
            let out_dir = format!("out-{}", repo.len());
            let mut pull = vec!["pull", reference.as_str(), "--output", out_dir.as_str()];
            pull.extend(trust);
            w.expect(want, &pull);
            assert_eq!(w.path(&out_dir).exists(), want == 0, "{}", r.name);
            w.write(
                "policy.yaml",
                b"version: 1\npolicies:\n- name: pki\n  scopes: ['*']\n  trusted_signers:\n  - certificate_chain: trusted.pem\n",
            );
            w.expect(
                want,
                &["audit", reference.as_str(), "--policy", "policy.yaml"],
            );
        }
    }
}

//! Verification as an ordered list of named checks: signature -> statement -> model digests.
//! Each check reports `{name, passed, detail}`; the first failure stops the run.
//!
//! The signature is checked over the exact DSSE payload bytes before the statement is parsed, so a
//! tampered payload fails as "signature", never as a parse error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use p256::ecdsa::signature::Verifier as _;
use serde::Serialize;

use crate::bundle::Bundle;
use crate::certificate::{self, Certificate, IdentityPolicy, Usage};
use crate::keys::PublicKey;
use crate::model;
use crate::statement::{Resource, SerializationMethod, Statement};
use crate::tlog;
use crate::trust_root::TrustRoot;

/// Errors that stop verification before a verdict (bad input or environment).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The envelope is malformed.
    #[error(transparent)]
    Dsse(#[from] crate::dsse::Error),
    /// The model could not be listed or hashed.
    #[error(transparent)]
    Model(#[from] model::Error),
    /// The bundle needs a verifier this build does not have (e.g. a certificate bundle and no chain).
    #[error("{0}")]
    Unsupported(String),
    /// The bundle's certificate cannot be parsed.
    #[error(transparent)]
    Certificate(#[from] certificate::Error),
    /// Verification ran and the artifact is not trusted; the report names the failed check.
    #[error("verification failed at `{}`: {}", .0.failed_check().map(|c| c.name.as_str()).unwrap_or("?"), .0.failed_check().map(|c| c.detail.as_str()).unwrap_or(""))]
    NotTrusted(Box<Report>),
}

impl Error {
    /// Exit-code class.
    pub fn class(&self) -> crate::Class {
        match self {
            Error::NotTrusted(_) => crate::Class::NotTrusted,
            Error::Model(e) => e.class(),
            Error::Dsse(_) | Error::Unsupported(_) | Error::Certificate(_) => crate::Class::Input,
        }
    }
}

/// One named verification step and its result.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CheckOutcome {
    /// Step name (`signature`, `statement`, `model`, ...).
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was checked or what went wrong.
    pub detail: String,
}

/// The result of a verification, for text and JSON output.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// True when every check passed.
    pub verified: bool,
    /// The checks, in order.
    pub checks: Vec<CheckOutcome>,
    /// When the signature was made, by a trusted clock (the transparency log's signed integrated
    /// time, RFC 3339); key-only signatures have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    /// Key id (or identity) that produced the signature, once the signature check passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// Statement subject name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Root digest (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_digest: Option<String>,
    /// Predicate type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// Signed metadata.
    pub metadata: BTreeMap<String, String>,
    /// Number of resources signed.
    pub resources: usize,
}

impl Report {
    /// Records a passing check.
    pub fn pass(&mut self, name: &str, detail: impl Into<String>) {
        self.checks.push(CheckOutcome {
            name: name.into(),
            passed: true,
            detail: detail.into(),
        });
    }

    /// Records a failing check and turns the report into a `NotTrusted` error.
    pub fn fail(mut self, name: &str, detail: impl Into<String>) -> Error {
        self.verified = false;
        self.checks.push(CheckOutcome {
            name: name.into(),
            passed: false,
            detail: detail.into(),
        });
        Error::NotTrusted(Box::new(self))
    }

    /// The first failed check, if any.
    pub fn failed_check(&self) -> Option<&CheckOutcome> {
        self.checks.iter().find(|c| !c.passed)
    }

    fn absorb(&mut self, st: &Statement) {
        self.subject = Some(st.name.clone());
        self.root_digest = Some(st.root_digest.clone()).filter(|d| !d.is_empty());
        self.predicate_type = Some(st.predicate_type.clone());
        self.metadata = st.user_metadata();
        self.resources = st.resources.len();
    }
}

/// Who is trusted to sign: public keys, keyless (Sigstore) identities, private-PKI roots.
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys {
    /// The keys.
    pub keys: Vec<PublicKey>,
    /// Keyless: the Sigstore trusted root and the identity that must have signed.
    pub keyless: Option<KeylessTrust>,
    /// Certificate method: the private PKI's roots (and an optional identity).
    pub certificates: Option<PkiTrust>,
}

/// Trust for keyless (Fulcio certificate + Rekor entry) bundles.
#[derive(Clone, Debug)]
pub struct KeylessTrust {
    /// Fulcio CAs, Rekor and CT log keys.
    pub root: TrustRoot,
    /// Identity and issuer the certificate must name.
    pub policy: IdentityPolicy,
}

/// Trust for certificate-method (private PKI) bundles, as `model_signing verify certificate`.
#[derive(Clone, Debug)]
pub struct PkiTrust {
    /// DER certificates trusted as roots (every certificate of `--certificate-chain`).
    pub roots: Vec<Vec<u8>>,
    /// Optional identity; the issuer is not checked (no Fulcio extension in a private PKI).
    pub policy: IdentityPolicy,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The certificate path: chain (and, keyless, the tlog, SCT and identity), then the DSSE
/// signature with the leaf's key. Returns the signer label on success.
fn check_certificate(
    bundle: &Bundle,
    trust: &TrustedKeys,
    pae: &[u8],
    sigs: &[Vec<u8>],
    report: &mut Report,
) -> Result<Result<String, (&'static str, String)>, Error> {
    let vm = &bundle.verification_material;
    let mut ders: Vec<String> = Vec::new();
    if let Some(c) = &vm.certificate {
        ders.push(c.raw_bytes.clone());
    }
    if let Some(chain) = &vm.x509_certificate_chain {
        ders.extend(chain.certificates.iter().map(|c| c.raw_bytes.clone()));
    }
    let Some((leaf_b64, rest)) = ders.split_first() else {
        return Err(Error::Unsupported(
            "the bundle has neither a public key hint nor a certificate; it cannot be verified"
                .into(),
        ));
    };
    let leaf = Certificate::from_base64(leaf_b64, "the bundle's signing certificate")?;
    let extra = rest
        .iter()
        .map(|b| {
            Certificate::from_base64(b, "the bundle's certificate chain").map(|c| c.der().to_vec())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let label;
    if let Some(pki) = &trust.certificates {
        // As model_signing: the chain is validated at the leaf's notBefore (a PKI signature
        // carries no trusted time), and the leaf must allow signing.
        let at = leaf.not_before();
        if let Err(d) = certificate::verify_chain(&leaf, &pki.roots, &extra, at, Usage::Any) {
            return Ok(Err(("certificate-chain", d)));
        }
        report.pass(
            "certificate-chain",
            format!(
                "{} chains to a --certificate-chain root (validated at its issuance, {}, as model_signing does)",
                leaf.subject(),
                certificate::fmt_time(at)
            ),
        );
        if !leaf.can_sign() {
            return Ok(Err((
                "key-usage",
                "the signing certificate allows neither digitalSignature nor codeSigning".into(),
            )));
        }
        report.pass("key-usage", "digitalSignature or codeSigning");
        if pki.policy.identity.is_some() {
            match pki.policy.check_identity(&leaf) {
                Ok(d) => report.pass("identity", d),
                Err(d) => return Ok(Err(("identity", d))),
            }
        }
        let ids = leaf.identities();
        label = if ids.is_empty() {
            leaf.subject()
        } else {
            ids.join(", ")
        };
    } else if let Some(k) = &trust.keyless {
        let root = &k.root;
        let Some(first) = vm.tlog_entries.first() else {
            let n = now();
            let detail = if leaf.not_after() < n {
                format!(
                    "the bundle has no transparency-log entry, so nothing proves when the certificate (valid {} to {}, now expired) was used",
                    certificate::fmt_time(leaf.not_before()),
                    certificate::fmt_time(leaf.not_after())
                )
            } else {
                "the bundle has no transparency-log entry; a keyless signature needs the log's signed integrated time".into()
            };
            return Ok(Err(("tlog", detail)));
        };
        let entry = match tlog::Entry::parse(first) {
            Ok(e) => e,
            Err(d) => return Ok(Err(("tlog", d))),
        };
        let log = match entry.log(root) {
            Ok(l) => l,
            Err(d) => return Ok(Err(("tlog", d))),
        };
        report.pass(
            "tlog",
            format!(
                "{} {} entry {} in {} (trusted root: {})",
                entry.kind, entry.version, entry.log_index, log.base_url, root.source
            ),
        );
        match entry.verify_set(log) {
            Ok(d) => report.pass("tlog-set", d),
            Err(d) => return Ok(Err(("tlog-set", d))),
        }
        report.signed_at = Some(certificate::fmt_time(entry.integrated_time));
        match entry.verify_inclusion(log) {
            Ok(d) => report.pass("tlog-inclusion", d),
            Err(d) => return Ok(Err(("tlog-inclusion", d))),
        }
        let t = entry.integrated_time;
        let mut found = None;
        let mut errors = Vec::new();
        for ca in root
            .certificate_authorities
            .iter()
            .filter(|ca| ca.valid_for.contains(t))
        {
            let Some((anchor, inter)) = ca.chain.split_last() else {
                continue;
            };
            let mut inters = inter.to_vec();
            inters.extend(extra.iter().cloned());
            match certificate::verify_chain(
                &leaf,
                std::slice::from_ref(anchor),
                &inters,
                t,
                Usage::CodeSigning,
            ) {
                Ok(spki) => {
                    found = Some((spki, ca.uri.clone()));
                    break;
                }
                Err(e) => errors.push(e),
            }
        }
        let Some((issuer_spki, ca_uri)) = found else {
            errors.dedup();
            let detail = if errors.is_empty() {
                format!(
                    "no Fulcio CA of the trusted root was valid at the integrated time {}",
                    certificate::fmt_time(t)
                )
            } else {
                errors.join("; ")
            };
            return Ok(Err(("certificate-chain", detail)));
        };
        report.pass(
            "certificate-chain",
            format!(
                "chains to Fulcio CA {ca_uri}, valid at the integrated time {} (certificate valid {} to {})",
                certificate::fmt_time(t),
                certificate::fmt_time(leaf.not_before()),
                certificate::fmt_time(leaf.not_after())
            ),
        );
        match certificate::verify_embedded_sct(&leaf, &issuer_spki, root) {
            Ok(sct) => report.pass(
                "sct",
                format!(
                    "embedded SCT from {} verifies ({})",
                    sct.log,
                    certificate::fmt_time(i64::try_from(sct.timestamp_ms / 1000).unwrap_or(0))
                ),
            ),
            Err(d) => return Ok(Err(("sct", d))),
        }
        match entry.check_body(&bundle.dsse_envelope, &leaf) {
            Ok(d) => report.pass("tlog-body", d),
            Err(d) => return Ok(Err(("tlog-body", d))),
        }
        match k.policy.check_identity(&leaf) {
            Ok(d) => report.pass("identity", d),
            Err(d) => return Ok(Err(("identity", d))),
        }
        match k.policy.check_issuer(&leaf) {
            Ok(d) => report.pass("issuer", d),
            Err(d) => return Ok(Err(("issuer", d))),
        }
        label = format!(
            "{} ({})",
            leaf.identities().join(", "),
            leaf.oidc_issuer().unwrap_or_else(|| "no issuer".into())
        );
    } else {
        return Err(Error::Unsupported(
            "this signature was made with a certificate; verify a keyless (Sigstore) signature with --certificate-identity ID (or --certificate-identity-regexp RE) and --certificate-oidc-issuer URL, or a private-PKI signature with --certificate-chain CA.pem".into(),
        ));
    }
    let spki = leaf.spki_der();
    if !sigs
        .iter()
        .any(|s| certificate::verify_with_spki(&spki, s, pae).is_ok())
    {
        return Ok(Err((
            "signature",
            "the DSSE signature does not verify with the certificate's key: the signed payload or signature was altered".into(),
        )));
    }
    Ok(Ok(label))
}

/// Checks the DSSE signature with the trusted keys, then parses the signed statement.
/// On success the report holds `signature` and `statement` checks.
pub fn verify_bundle(
    bundle: &Bundle,
    trust: &TrustedKeys,
    mut report: Report,
) -> Result<(Statement, Report), Error> {
    let (pae, sigs) = bundle.dsse_envelope.signed_parts()?;
    let vm = &bundle.verification_material;
    if vm.public_key.is_none() {
        let signer = match check_certificate(bundle, trust, &pae, &sigs, &mut report)? {
            Ok(signer) => signer,
            Err((check, detail)) => return Err(report.fail(check, detail)),
        };
        report.signer = Some(signer.clone());
        report.pass("signature", format!("DSSE signature by {signer}"));
        return parse_statement(bundle, report);
    }
    if trust.keys.is_empty() {
        return Err(Error::Unsupported(
            "this signature was made with a key; verify it with --public-key FILE".into(),
        ));
    }
    let hint = vm
        .public_key
        .as_ref()
        .map(|p| p.hint.clone())
        .unwrap_or_default();
    let mut signer = None;
    'outer: for key in &trust.keys {
        for sig in &sigs {
            let parsed = p256::ecdsa::Signature::from_der(sig)
                .or_else(|_| p256::ecdsa::Signature::from_slice(sig));
            if let Ok(parsed) = parsed
                && key.verifying_key().verify(&pae, &parsed).is_ok()
            {
                signer = Some(key.id().to_owned());
                break 'outer;
            }
        }
    }
    let Some(signer) = signer else {
        let known = trust.keys.iter().any(|k| k.id() == hint);
        let detail = if known {
            format!(
                "the signature does not verify with key {hint}: the signed payload or signature was altered"
            )
        } else {
            format!(
                "no trusted public key verifies the signature (bundle names key {}; trusted: {})",
                if hint.is_empty() { "<none>" } else { &hint },
                trust
                    .keys
                    .iter()
                    .map(|k| k.id().get(..16).unwrap_or(k.id()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(report.fail("signature", detail));
    };
    report.signer = Some(signer.clone());
    report.pass(
        "signature",
        format!("ECDSA P-256 signature by key {signer}"),
    );
    parse_statement(bundle, report)
}

/// The `statement` check: parse the signed payload (after its signature verified).
fn parse_statement(bundle: &Bundle, mut report: Report) -> Result<(Statement, Report), Error> {
    let payload = bundle.dsse_envelope.payload_bytes()?;
    let st = match Statement::parse(&payload) {
        Ok(st) => st,
        Err(e) => return Err(report.fail("statement", e.to_string())),
    };
    report.absorb(&st);
    report.pass(
        "statement",
        format!(
            "{} with {} resources, subject {}",
            st.predicate_type,
            st.resources.len(),
            st.name
        ),
    );
    Ok((st, report))
}

/// Differences between signed and actual resources, each named.
pub fn diff_resources(signed: &[Resource], actual: &[Resource]) -> Vec<String> {
    let want: BTreeMap<&str, &str> = signed
        .iter()
        .map(|r| (r.name.as_str(), r.digest.as_str()))
        .collect();
    let have: BTreeMap<&str, &str> = actual
        .iter()
        .map(|r| (r.name.as_str(), r.digest.as_str()))
        .collect();
    let mut out = Vec::new();
    for (name, digest) in &want {
        match have.get(name) {
            None => out.push(format!("{name}: signed but missing")),
            Some(d) if d != digest => out.push(format!(
                "{name}: digest mismatch (signed {digest}, found {d})"
            )),
            _ => {}
        }
    }
    for name in have.keys() {
        if !want.contains_key(name) {
            out.push(format!("{name}: present but not signed"));
        }
    }
    out
}

/// What to verify on disk.
pub struct ModelTarget<'a> {
    /// Model file or folder.
    pub model: &'a Path,
    /// The signature file (never hashed as part of the model).
    pub signature_path: Option<PathBuf>,
}

/// Verifies a model on disk against a bundle: signature, statement, then every file digest.
pub fn verify_model(
    bundle: &Bundle,
    trust: &TrustedKeys,
    target: &ModelTarget<'_>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Report, Error> {
    let (st, report) = verify_bundle(bundle, trust, Report::default())?;
    check_model_files(&st, target, report, progress)
}

/// The `model` check: rehash the model as the statement's serialization says and compare.
pub fn check_model_files(
    st: &Statement,
    target: &ModelTarget<'_>,
    mut report: Report,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Report, Error> {
    let opts = model::Options {
        ignore_paths: st
            .serialization
            .ignore_paths
            .iter()
            .map(PathBuf::from)
            .collect(),
        ignore_git: false,
        allow_symlinks: st.serialization.allow_symlinks,
        signature_path: target.signature_path.clone(),
    };
    let listing = model::list(target.model, &opts)?;
    let actual = model::resources(&listing, &st.serialization.method, progress)?;
    let diffs = diff_resources(&st.resources, &actual);
    if !diffs.is_empty() {
        let shown: Vec<_> = diffs.iter().take(5).cloned().collect();
        let more = diffs.len().saturating_sub(shown.len());
        let mut detail = shown.join("; ");
        if more > 0 {
            detail.push_str(&format!("; and {more} more"));
        }
        return Err(report.fail("model", detail));
    }
    let method = match st.serialization.method {
        SerializationMethod::Files => "files".to_string(),
        SerializationMethod::Shards { shard_size } => format!("shards of {shard_size} bytes"),
    };
    report.pass(
        "model",
        format!(
            "{} resources ({method}, {} bytes) match their signed SHA-256 digests",
            actual.len(),
            listing.total_bytes()
        ),
    );
    report.verified = true;
    Ok(report)
}

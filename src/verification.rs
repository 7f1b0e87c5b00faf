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
use crate::keys::PublicKey;
use crate::model;
use crate::statement::{Resource, SerializationMethod, Statement};

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
            Error::Dsse(_) | Error::Unsupported(_) => crate::Class::Input,
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

/// Public keys trusted to sign.
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys {
    /// The keys.
    pub keys: Vec<PublicKey>,
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
        return Err(Error::Unsupported(
            "this signature was made with a certificate (keyless or PKI); verify it with --certificate-identity/--certificate-chain options, not --public-key".into(),
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

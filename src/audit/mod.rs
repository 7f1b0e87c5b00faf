//! Chain-of-custody audit: reads many signatures (Sigstore bundles) and the models beside them into
//! one report that says, for incident response, who signed what, with which data, derived from
//! which base model, and which signatures cannot be trusted (failed, unknown signer, revoked key,
//! no signature at all).
//!
//! Inputs are [`AuditSource`]s: bundle files, folders scanned for bundles, model files/folders with
//! their `<model>.sig` beside them, signatures already fetched from an OCI registry
//! ([`AuditSource::Fetched`]), and models found in a registry or local-store repository with all
//! their signature referrers ([`AuditSource::Repository`], fetched by
//! [`repository::fetch_repository`] through the `oci::Store` trait before the audit runs), so the
//! audit itself never touches the network. Every bundle is checked with `verification::verify_bundle`; a model beside its
//! signature is rehashed with `verification::check_model_files`.
//!
//! Status of an entry, in the order the rules are applied:
//! - `failed`: not a bundle, the signature does not verify with the key its hint names, the
//!   statement is inconsistent, the model's files differ, or a policy rule is not met;
//! - `revoked`: made (or claimed, when the key is revoked by id only) by a revoked key. Key-only
//!   signatures carry no trusted time, so they can never be shown to predate the revocation;
//! - `unknown-signer`: signed by a key that is neither trusted nor revoked; subject and metadata are
//!   shown as the bundle claims them, unverified;
//! - `unsigned`: a model file with no signature beside it;
//! - `verified`: everything checked.
//!
//! Limitations (documented, not hidden): key age comes from the public key file's modification
//! time, the only creation time a bare PEM key has; keyless (Sigstore) bundles are verified only
//! when a trusted root is configured (`--trust-root`, or a policy naming `identity`/`issuer`
//! signers) and are `unknown-signer` otherwise; private-PKI certificate bundles are always
//! `unknown-signer`; revocation applies to keys, not to identities; symlinks are not followed
//! when scanning folders.

pub mod graph;
pub mod repository;
pub mod revocation;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rayon::prelude::*;
use serde::Serialize;

use crate::formats::bundle::{self, Bundle};
use crate::formats::statement::Statement;
use crate::keys::{self, PublicKey};
use crate::trust::Scope;
use crate::trust::signer::SignerId;
use crate::verify::check::Check;
use crate::verify::{SignatureStatus, SignatureVerdict, Target, Verifier};

pub use revocation::Revocation;

/// A key used by this many distinct subjects, or by this many distinct authors/teams, is flagged.
pub const KEY_REUSE_THRESHOLD: usize = 3;

/// File extensions of model weights: such a file without a `.sig` beside it is an unsigned model.
pub const WEIGHT_EXTENSIONS: [&str; 16] = [
    "safetensors",
    "pt",
    "pth",
    "bin",
    "ckpt",
    "gguf",
    "ggml",
    "onnx",
    "h5",
    "keras",
    "pb",
    "tflite",
    "pkl",
    "joblib",
    "npz",
    "msgpack",
];

/// Errors that stop an audit before a report (all bad input: exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input path given by the user cannot be read.
    #[error("cannot read audit input {path}: {detail}; check the path")]
    Input {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A revocation list line (or the file) is malformed.
    #[error("revocation list {path}{}: {detail}; write lines as `<key id or public key path> [RFC 3339 time]`", .line.map(|l| format!(" line {l}")).unwrap_or_default())]
    RevocationList {
        /// The file.
        path: PathBuf,
        /// 1-based line, when one line is at fault.
        line: Option<usize>,
        /// What is wrong.
        detail: String,
    },
    /// A key could not be loaded.
    #[error(transparent)]
    Key(#[from] keys::Error),
    /// The policy could not be loaded.
    #[error(transparent)]
    Policy(#[from] crate::trust::policy::Error),
    /// A repository given to audit cannot be listed (it does not exist, or has no tags).
    #[error(
        "cannot audit repository {reference}: {detail}; check the reference, or push a model to it first"
    )]
    Repository {
        /// The reference as given.
        reference: String,
        /// What the store said.
        detail: String,
    },
    /// The registry or local store failed (unreachable, credentials refused, I/O).
    #[error("{0}{hint}", hint = .0.next_step())]
    Store(crate::oci::Error),
}

impl Error {
    /// Exit-code class.
    pub fn class(&self) -> crate::Class {
        match self {
            Error::Key(e) => e.class(),
            Error::Store(_) => crate::Class::Environment,
            _ => crate::Class::Input,
        }
    }
}

/// A signature fetched from a registry by the caller: the extension point for OCI inputs.
#[derive(Clone, Debug)]
pub struct FetchedSignature {
    /// The bundle JSON (already size-bounded by the fetcher).
    pub bundle: Vec<u8>,
    /// The reference it was found under (`host/repo@sha256:...`), shown in the report.
    pub reference: String,
    /// The digest of the model manifest the signature is attached to (`sha256:<hex>`).
    pub subject_digest: String,
}

/// One input of an audit.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AuditSource {
    /// A bundle file (`*.sig`, `*.json`, `*.sigstore.json`), or a model file whose `<file>.sig`
    /// is beside it (without one it is an `unsigned` entry).
    File(PathBuf),
    /// A model folder with `<folder>.sig` beside it, or else a folder scanned recursively for
    /// bundles and unsigned weight files.
    Folder(PathBuf),
    /// A signature fetched from a registry; its statement must bind `subject_digest`.
    Fetched(FetchedSignature),
    /// A model found in a registry or local-store repository with all its signature referrers
    /// (see [`repository::fetch_repository`]); no referrer makes it `unsigned`.
    Repository(Box<repository::FetchedModel>),
}

impl AuditSource {
    /// Classifies a path given by the user; a missing or unreadable path is an input error.
    pub fn from_path(path: &Path) -> Result<Self, Error> {
        let meta = std::fs::metadata(path).map_err(|e| Error::Input {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        if meta.is_dir() {
            std::fs::read_dir(path).map_err(|e| Error::Input {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
            Ok(Self::Folder(path.to_owned()))
        } else {
            std::fs::File::open(path).map_err(|e| Error::Input {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
            Ok(Self::File(path.to_owned()))
        }
    }
}

/// A trusted public key and, where known, when it was created.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    /// The key.
    pub key: PublicKey,
    /// Creation time: the key file's modification time (a PEM key records none itself).
    pub created: Option<SystemTime>,
}

impl TrustedKey {
    /// Loads a public key file; its modification time stands in for its creation time.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let key = keys::load_public_key(path)?;
        let created = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        Ok(Self { key, created })
    }
}

/// What to trust and what to look for.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// The one evaluator: trust policy (a file, or the command-line keys as a one-rule policy)
    /// and the Sigstore trusted root. Every verdict of the audit is its verdict.
    pub evaluator: Verifier,
    /// True when the policy came from a file: its rule thresholds (`min_signatures`,
    /// `required_metadata`) are then applied over the signatures of each model.
    pub policy_file: bool,
    /// Creation times of trusted keys (their public key files' modification times), by key id.
    pub key_created: BTreeMap<String, SystemTime>,
    /// Revocations with their times and sources (command line, revocation lists), for findings;
    /// their ids are revoked in the evaluator's policy too.
    pub revoked: Vec<Revocation>,
    /// `KEY=VALUE` pairs every kept entry's signed metadata must match (plus their descendants).
    pub matches: Vec<(String, String)>,
    /// Dataset digests (`--data`): when any is given, only entries with a `training_data_hash`
    /// (or `*training_data_hash`) key equal to one of them are kept (plus their descendants);
    /// `sha256:<hex>` and bare hex compare equal.
    pub data: Vec<String>,
    /// Flag keys older than this (by key file modification time).
    pub max_key_age: Option<Duration>,
    /// The time key age is measured at.
    pub now: SystemTime,
    /// Rehash models that have their signature beside them.
    pub check_models: bool,
}

impl AuditConfig {
    /// A configuration over an evaluator, with every other option at its default.
    pub fn new(evaluator: Verifier) -> Self {
        Self {
            evaluator,
            policy_file: false,
            key_created: BTreeMap::new(),
            revoked: Vec::new(),
            matches: Vec::new(),
            data: Vec::new(),
            max_key_age: None,
            now: SystemTime::now(),
            check_models: true,
        }
    }

    /// Revokes the revocations' keys in the evaluator (and makes their key files material for
    /// attributing signatures), keeping them for findings.
    pub fn with_revocations(mut self, revoked: Vec<Revocation>) -> Self {
        self.evaluator
            .policy
            .revoke(revoked.iter().map(|r| r.key_id.clone()));
        self.evaluator
            .policy
            .add_key_material(revoked.iter().filter_map(|r| r.key.clone()));
        self.revoked = revoked;
        self
    }
}

/// The verdict on one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Signature, statement (and model, when present) verified with a trusted, unrevoked key.
    Verified,
    /// Something did not verify.
    Failed,
    /// Signed by a key that is neither trusted nor revoked.
    UnknownSigner,
    /// Signed by a revoked key.
    Revoked,
    /// A model with no signature.
    Unsigned,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 5] = [
        Status::Verified,
        Status::Failed,
        Status::UnknownSigner,
        Status::Revoked,
        Status::Unsigned,
    ];

    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Verified => "verified",
            Status::Failed => "failed",
            Status::UnknownSigner => "unknown-signer",
            Status::Revoked => "revoked",
            Status::Unsigned => "unsigned",
        }
    }
}

/// What a finding is about, for filtering reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FindingKind {
    /// A signature file that is not a Sigstore bundle.
    NotABundle,
    /// The signature or statement did not verify.
    SignatureFailed,
    /// The model's files differ from the signed digests.
    ModelMismatch,
    /// Signed by a key that is not trusted; claims are unverified.
    UnknownSigner,
    /// Signed by a revoked key.
    RevokedKey,
    /// No trusted time: cannot show the signature predates a revocation.
    NoTrustedTimestamp,
    /// One key signs many models or for many authors.
    KeyReuse,
    /// The signing key is older than `--max-key-age`.
    KeyAge,
    /// One dataset name with several `training_data_hash` values.
    DatasetConflict,
    /// One model (subject name) signed with different values for one metadata key.
    MetadataConflict,
    /// A `training_data_hash` value that is not `sha256:<64 hex digits>`.
    DataHashFormat,
    /// A model with no signature.
    Unsigned,
    /// Included because it derives from a matching model.
    DerivedFrom,
    /// The declared base model is not verified.
    BaseModelUntrusted,
    /// A policy rule is not met.
    Policy,
    /// A registry signature does not bind the manifest it is attached to.
    ManifestBinding,
    /// A certificate (keyless) signature, which audit does not verify yet.
    Keyless,
    /// Registry content that is not intact: a manifest or bundle whose bytes do not match their
    /// digest, or a tag that does not name a ModelPack model.
    RegistryContent,
}

/// One observation about an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What it is about.
    pub kind: FindingKind,
    /// The observation, in words.
    pub detail: String,
}

/// Where an entry came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Origin {
    /// A signature file on disk.
    #[serde(rename = "manifest")]
    Manifest(PathBuf),
    /// A signature fetched from a registry.
    #[serde(rename = "reference")]
    Reference(String),
    /// An unsigned model on disk.
    #[serde(rename = "model")]
    Model(PathBuf),
}

impl Origin {
    /// The path or reference as text.
    pub fn display(&self) -> String {
        match self {
            Origin::Manifest(p) | Origin::Model(p) => p.display().to_string(),
            Origin::Reference(r) => r.clone(),
        }
    }
}

/// One signature (or unsigned model) in the report.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// `manifest`, `reference` or (unsigned) `model`.
    #[serde(flatten)]
    pub origin: Origin,
    /// Subject name (the model's name), as signed or claimed.
    pub subject: Option<String>,
    /// The signer its verification established (`{kind, ...}`, as `verify` reports it), or null.
    pub signer: Option<SignerId>,
    /// The key or certificate the bundle names when nothing established a signer: a claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_signer: Option<String>,
    /// Trusted signing time (RFC 3339); always null for key-only signatures.
    pub signed_at: Option<String>,
    /// Signed metadata (unverified unless `status` is `verified` or `revoked`).
    pub metadata: BTreeMap<String, String>,
    /// The verdict.
    pub status: Status,
    /// Observations.
    pub findings: Vec<Finding>,
    /// Subject root digest, `sha256:<hex>`.
    #[serde(skip)]
    pub root_digest: Option<String>,
    /// Nesting under its base model in the report order (0 = top level).
    #[serde(skip)]
    pub depth: usize,
    /// The evaluator's verdict on the signature, and the rule that covered it.
    #[serde(skip)]
    pub verdict: Option<(String, SignatureVerdict)>,
    /// The policy scope the entry was matched under.
    #[serde(skip)]
    pub scope: Option<Scope>,
}

impl Entry {
    fn new(origin: Origin, status: Status) -> Self {
        Self {
            origin,
            subject: None,
            signer: None,
            claimed_signer: None,
            signed_at: None,
            metadata: BTreeMap::new(),
            status,
            findings: Vec::new(),
            root_digest: None,
            depth: 0,
            verdict: None,
            scope: None,
        }
    }

    /// Who signed, as one line of text: the established signer's label (a key id, `identity
    /// (issuer)`, a certificate's identities), else the claimed one.
    pub fn signer_label(&self) -> Option<String> {
        self.signer
            .as_ref()
            .map(SignerId::label)
            .or_else(|| self.claimed_signer.clone())
    }

    fn find(&mut self, kind: FindingKind, detail: impl Into<String>) {
        self.findings.push(Finding {
            kind,
            detail: detail.into(),
        });
    }

    fn absorb(&mut self, st: &Statement) {
        self.subject = Some(st.name.clone());
        self.metadata = st.user_metadata();
        self.root_digest =
            Some(format!("sha256:{}", st.root_digest)).filter(|_| !st.root_digest.is_empty());
    }

    /// The policy scope the entry was matched under (normalised host, repository).
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_ref().map(Scope::as_str)
    }

    /// The dataset name this entry declares (`training_data` or `dataset` metadata).
    pub fn dataset(&self) -> Option<&str> {
        self.metadata
            .get("training_data")
            .or_else(|| self.metadata.get("dataset"))
            .map(String::as_str)
    }
}

/// `host/repo:tag` or `host/repo@sha256:..` -> `host/repo`.
fn repository_of(reference: &str) -> String {
    let no_digest = reference.split('@').next().unwrap_or(reference);
    match no_digest.rfind(':') {
        Some(i) if !no_digest.get(i..).unwrap_or_default().contains('/') => {
            no_digest.get(..i).unwrap_or(no_digest).to_owned()
        }
        _ => no_digest.to_owned(),
    }
}

/// An input skipped as not a signature (e.g. a `config.json` found while scanning).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub detail: String,
}

/// Counts over the reported entries.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Entries reported.
    pub total: usize,
    /// `verified` entries.
    pub verified: usize,
    /// `failed` entries.
    pub failed: usize,
    /// `unknown-signer` entries.
    #[serde(rename = "unknown-signer")]
    pub unknown_signer: usize,
    /// `revoked` entries.
    pub revoked: usize,
    /// `unsigned` entries.
    pub unsigned: usize,
    /// Distinct signer keys among the entries.
    pub signers: usize,
    /// Entries examined before `--match` filtering.
    pub examined: usize,
    /// Files found while scanning that are not signatures (not counted as entries).
    pub skipped: Vec<Skipped>,
}

/// The chain-of-custody report.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// Entries, each base model followed by the models derived from it.
    pub entries: Vec<Entry>,
    /// Counts.
    pub summary: Summary,
}

impl AuditReport {
    /// True when every reported entry is verified (exit 0). A `--match` that keeps nothing is
    /// a success; callers should check `summary.examined` to refuse inputs holding nothing at all.
    pub fn all_verified(&self) -> bool {
        self.entries.iter().all(|e| e.status == Status::Verified)
    }
}

mod discover;
mod evaluate;
mod findings;

use discover::discover;
use evaluate::{Evaluated, evaluate};
pub(crate) use findings::parents;
use findings::{
    apply_thresholds, data_hash_format, dataset_conflicts, key_age, key_reuse, lineage,
    metadata_conflicts,
};

/// Runs an audit over the sources. Per-input problems become findings; only bad configuration
/// (missing input paths) is an error.
pub fn audit(sources: &[AuditSource], cfg: &AuditConfig) -> Result<AuditReport, Error> {
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for s in sources {
        discover(s, &mut items, &mut skipped);
    }
    let evaluated: Vec<Evaluated> = items.par_iter().map(|i| evaluate(i, cfg)).collect();
    let mut entries = Vec::with_capacity(evaluated.len());
    for ev in evaluated {
        match ev {
            Evaluated::Entry(e) => entries.push(*e),
            Evaluated::Skipped(s) => skipped.push(s),
        }
    }
    key_reuse(&mut entries);
    key_age(&mut entries, cfg);
    dataset_conflicts(&mut entries);
    metadata_conflicts(&mut entries);
    data_hash_format(&mut entries);
    if cfg.policy_file {
        apply_thresholds(&mut entries, &cfg.evaluator);
    }
    let examined = entries.len();
    let entries = lineage(entries, &cfg.matches, &cfg.data);
    let mut summary = Summary {
        total: entries.len(),
        examined,
        skipped,
        ..Summary::default()
    };
    let mut signers = BTreeSet::new();
    for e in &entries {
        match e.status {
            Status::Verified => summary.verified += 1,
            Status::Failed => summary.failed += 1,
            Status::UnknownSigner => summary.unknown_signer += 1,
            Status::Revoked => summary.revoked += 1,
            Status::Unsigned => summary.unsigned += 1,
        }
        if let Some(s) = e.signer_label() {
            signers.insert(s);
        }
    }
    summary.signers = signers.len();
    Ok(AuditReport { entries, summary })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn repository_drops_tag_and_digest() {
        assert_eq!(
            repository_of("localhost:5000/m/bert:v1"),
            "localhost:5000/m/bert"
        );
        assert_eq!(repository_of("ghcr.io/o/m@sha256:ab"), "ghcr.io/o/m");
        assert_eq!(repository_of("localhost:5000/m"), "localhost:5000/m");
    }
}

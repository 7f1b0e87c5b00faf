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

/// Where bundle bytes come from.
enum BundleBytes {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

/// A unit of work found by discovery.
enum Item {
    Bundle {
        origin: Origin,
        bytes: BundleBytes,
        /// A file that claims to be a signature (`.sig`, `.sigstore.json`, named by the user, or
        /// fetched): not being a bundle is a failure, not a skip.
        claimed: bool,
        model: Option<PathBuf>,
        oci_subject: Option<String>,
        /// The model manifest the signature is attached to: its layers must be the signed files.
        layers: Option<Box<crate::oci::ModelManifest>>,
    },
    Unsigned(PathBuf),
    /// A model in a repository with no signature referrer.
    UnsignedReference {
        reference: String,
        subject: String,
    },
    /// Registry content that could not be read intact.
    Broken {
        reference: String,
        subject: String,
        detail: String,
    },
}

/// The model name a repository gives (its last path component), as `sign REF` signs it.
fn repository_subject(reference: &str) -> String {
    let repo = repository_of(reference);
    repo.rsplit('/').next().unwrap_or(&repo).to_owned()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_signature_name(name: &str) -> bool {
    name.ends_with(".sig") || name.ends_with(".json")
}

fn is_claimed_signature_name(name: &str) -> bool {
    name.ends_with(".sig") || name.ends_with(".sigstore.json")
}

fn is_weight_name(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| WEIGHT_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// The model a signature file sits beside: `m.pt.sig` -> `m.pt`, if it exists.
fn model_beside(sig: &Path) -> Option<PathBuf> {
    let name = file_name(sig);
    let stem = name
        .strip_suffix(".sigstore.json")
        .or_else(|| name.strip_suffix(".sig"))?;
    if stem.is_empty() {
        return None;
    }
    let model = sig.with_file_name(stem);
    std::fs::symlink_metadata(&model).is_ok().then_some(model)
}

/// `<path>.sig` beside a model file or folder.
fn sig_beside(model: &Path) -> PathBuf {
    crate::model::signature_path(model)
}

fn discover(source: &AuditSource, items: &mut Vec<Item>, skipped: &mut Vec<Skipped>) {
    match source {
        AuditSource::File(p) => {
            let name = file_name(p);
            if is_signature_name(&name) {
                items.push(Item::Bundle {
                    origin: Origin::Manifest(p.clone()),
                    bytes: BundleBytes::Path(p.clone()),
                    claimed: true,
                    model: model_beside(p),
                    oci_subject: None,
                    layers: None,
                });
            } else {
                model_item(p, items);
            }
        }
        AuditSource::Folder(d) => {
            if sig_beside(d).is_file() {
                model_item(d, items);
            } else {
                walk(d, items, skipped);
            }
        }
        AuditSource::Fetched(f) => items.push(Item::Bundle {
            origin: Origin::Reference(f.reference.clone()),
            bytes: BundleBytes::Bytes(f.bundle.clone()),
            claimed: true,
            model: None,
            oci_subject: Some(f.subject_digest.clone()),
            layers: None,
        }),
        AuditSource::Repository(m) => {
            let subject = repository_subject(&m.reference);
            let manifest = match &m.manifest {
                Ok(manifest) => manifest,
                Err(detail) => {
                    items.push(Item::Broken {
                        reference: m.reference.clone(),
                        subject,
                        detail: detail.clone(),
                    });
                    return;
                }
            };
            if m.signatures.is_empty() {
                items.push(Item::UnsignedReference {
                    reference: m.reference.clone(),
                    subject,
                });
                return;
            }
            if m.referrers_listed > m.signatures.len() {
                items.push(Item::Broken {
                    reference: m.reference.clone(),
                    subject: subject.clone(),
                    detail: format!(
                        "only the newest {} of {} signature referrers were examined (at most {} are read); a model with that many signatures needs a look: list them with the registry's own tools",
                        m.signatures.len(),
                        m.referrers_listed,
                        crate::oci::MAX_REFERRERS
                    ),
                });
            }
            for sig in &m.signatures {
                match &sig.bytes {
                    Ok(bytes) => items.push(Item::Bundle {
                        origin: Origin::Reference(m.reference.clone()),
                        bytes: BundleBytes::Bytes(bytes.clone()),
                        claimed: true,
                        model: None,
                        oci_subject: Some(m.subject_digest.clone()),
                        layers: Some(Box::new(manifest.clone())),
                    }),
                    Err(detail) => items.push(Item::Broken {
                        reference: m.reference.clone(),
                        subject: subject.clone(),
                        detail: format!("signature referrer {}: {detail}", sig.referrer),
                    }),
                }
            }
        }
    }
}

fn model_item(model: &Path, items: &mut Vec<Item>) {
    let sig = sig_beside(model);
    if sig.is_file() {
        items.push(Item::Bundle {
            origin: Origin::Manifest(sig.clone()),
            bytes: BundleBytes::Path(sig),
            claimed: true,
            model: Some(model.to_owned()),
            oci_subject: None,
            layers: None,
        });
    } else {
        items.push(Item::Unsigned(model.to_owned()));
    }
}

/// Recursive scan; symlinks are not followed, `.git` is not entered, and a folder with
/// `<folder>.sig` beside it is a signed model (handled through its signature), not scanned.
fn walk(dir: &Path, items: &mut Vec<Item>, skipped: &mut Vec<Skipped>) {
    let mut children: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            skipped.push(Skipped {
                path: dir.to_owned(),
                detail: format!("cannot read folder: {e}"),
            });
            return;
        }
    };
    children.sort();
    for child in children {
        let name = file_name(&child);
        let Ok(meta) = std::fs::symlink_metadata(&child) else {
            continue;
        };
        if meta.is_dir() {
            if name == ".git" || sig_beside(&child).is_file() {
                continue;
            }
            walk(&child, items, skipped);
        } else if meta.is_file() {
            if is_signature_name(&name) {
                if meta.len() > bundle::MAX_BUNDLE_SIZE && !is_claimed_signature_name(&name) {
                    skipped.push(Skipped {
                        path: child,
                        detail: "larger than a bundle can be".into(),
                    });
                    continue;
                }
                items.push(Item::Bundle {
                    origin: Origin::Manifest(child.clone()),
                    bytes: BundleBytes::Path(child.clone()),
                    claimed: is_claimed_signature_name(&name),
                    model: model_beside(&child),
                    oci_subject: None,
                    layers: None,
                });
            } else if is_weight_name(&name) && !sig_beside(&child).is_file() {
                items.push(Item::Unsigned(child));
            }
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..16).unwrap_or(id)
}

fn revoked_findings(e: &mut Entry, r: &Revocation, checked: bool) {
    let when = r
        .revoked_at
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .map(|t| format!(" at {t}"))
        .unwrap_or_default();
    let how = if checked {
        "the signature verifies with it"
    } else {
        "the key is revoked by id only, so the signature was not checked"
    };
    e.find(
        FindingKind::RevokedKey,
        format!(
            "signed by key {} revoked{when} ({}); {how}",
            r.key_id, r.source
        ),
    );
    if e.signed_at.is_none() {
        e.find(
            FindingKind::NoTrustedTimestamp,
            "no trusted timestamp; cannot prove it predates the revocation",
        );
    }
}

fn claimed_statement(b: &Bundle) -> Option<Statement> {
    b.dsse_envelope
        .payload_bytes()
        .ok()
        .and_then(|p| Statement::parse(&p).ok())
}

/// The revocation behind a revoked key id: a listed one, else the policy rule that revokes it.
fn revocation_for(key_id: &str, cfg: &AuditConfig) -> Revocation {
    if let Some(r) = cfg.revoked.iter().find(|r| r.key_id == key_id) {
        return r.clone();
    }
    let rule = cfg
        .evaluator
        .policy
        .rules
        .iter()
        .find(|r| {
            r.revoked.iter().any(|p| {
                p == &crate::trust::signer::Principal::Key(key_id.to_owned())
                    || p.to_string() == key_id
            })
        })
        .map(|r| format!("policy rule `{}`", r.name))
        .unwrap_or_else(|| "policy".into());
    Revocation {
        key_id: key_id.to_owned(),
        key: None,
        revoked_at: None,
        source: rule,
    }
}

enum Evaluated {
    Entry(Box<Entry>),
    Skipped(Skipped),
}

fn evaluate(item: &Item, cfg: &AuditConfig) -> Evaluated {
    let (origin, bytes, claimed, model, oci_subject, layers) = match item {
        Item::Unsigned(model) => {
            let mut e = Entry::new(Origin::Model(model.clone()), Status::Unsigned);
            e.subject = Some(file_name(model));
            e.find(
                FindingKind::Unsigned,
                format!(
                    "model has no signature (looked for {}); sign it with `provenance sign`",
                    sig_beside(model).display()
                ),
            );
            return Evaluated::Entry(Box::new(e));
        }
        Item::UnsignedReference { reference, subject } => {
            let mut e = Entry::new(Origin::Reference(reference.clone()), Status::Unsigned);
            e.subject = Some(subject.clone());
            e.find(
                FindingKind::Unsigned,
                format!(
                    "model has no signature referrer; sign it with `provenance sign {reference} --private-key KEY`"
                ),
            );
            return Evaluated::Entry(Box::new(e));
        }
        Item::Broken {
            reference,
            subject,
            detail,
        } => {
            let mut e = Entry::new(Origin::Reference(reference.clone()), Status::Failed);
            e.subject = Some(subject.clone());
            e.find(FindingKind::RegistryContent, detail.clone());
            return Evaluated::Entry(Box::new(e));
        }
        Item::Bundle {
            origin,
            bytes,
            claimed,
            model,
            oci_subject,
            layers,
        } => (origin, bytes, *claimed, model, oci_subject, layers),
    };
    let origin_path = PathBuf::from(origin.display());
    let parsed = match bytes {
        BundleBytes::Path(p) => Bundle::read(p),
        BundleBytes::Bytes(b) => Bundle::from_slice(b, &origin_path),
    };
    let bundle = match parsed {
        Ok(b) => b,
        Err(err) => {
            if !claimed {
                return Evaluated::Skipped(Skipped {
                    path: origin_path,
                    detail: "not a Sigstore bundle".into(),
                });
            }
            let mut e = Entry::new(origin.clone(), Status::Failed);
            e.find(FindingKind::NotABundle, err.to_string());
            return Evaluated::Entry(Box::new(e));
        }
    };
    let mut e = Entry::new(origin.clone(), Status::Failed);
    // The claims, shown (as claims) until the evaluator has verified them.
    let claims = claimed_statement(&bundle);
    if let Some(st) = &claims {
        e.absorb(st);
    }
    // The scope comes from where the signature was found: the repository, the model beside it,
    // and only for a lone signature file the subject it claims (it can then vouch for nothing
    // but its own claims).
    let scope = match origin {
        Origin::Reference(r) => match crate::oci::Reference::parse(r) {
            Ok(parsed) => Scope::of_reference(&parsed),
            Err(_) => Scope::local_store(&repository_of(r)),
        },
        _ => match model {
            Some(m) => crate::verify::disk_scope(m),
            None => Scope::on_disk(e.subject.as_deref().unwrap_or_default()),
        },
    };
    let (rule, scope_check) = cfg.evaluator.rule_for(&scope);
    e.scope = Some(scope.clone());
    let Some(rule) = rule else {
        e.claimed_signer = crate::verify::crypto::claimed_key(&bundle)
            .or_else(|| crate::verify::crypto::claimed_certificate(&bundle));
        e.find(FindingKind::Policy, scope_check.detail);
        return Evaluated::Entry(Box::new(e));
    };
    let source = origin.display();
    let file_options = crate::verify::FileOptions::default();
    let target = match (model, layers, oci_subject) {
        (Some(m), _, _) if cfg.check_models => Target::Files {
            model: m,
            signature_path: match origin {
                Origin::Manifest(p) => Some(p.clone()),
                _ => None,
            },
            options: &file_options,
            progress: &|_| {},
        },
        (_, manifest, Some(digest)) => Target::Manifest {
            digest,
            manifest: manifest.as_deref(),
        },
        _ => Target::Claims,
    };
    let v = match cfg
        .evaluator
        .check_signature(rule, &source, &bundle, &target)
    {
        Ok(v) => v,
        Err(err) => {
            e.claimed_signer = crate::verify::crypto::claimed_key(&bundle);
            e.find(
                FindingKind::ModelMismatch,
                format!(
                    "model {} could not be checked: {err}",
                    model
                        .as_deref()
                        .map(|m| m.display().to_string())
                        .unwrap_or_default()
                ),
            );
            return Evaluated::Entry(Box::new(e));
        }
    };
    if v.subject.is_some() {
        e.subject = v.subject.clone();
        e.metadata = v.metadata.clone();
        e.root_digest = v.root_digest.clone();
    }
    e.signer = v.signer.clone();
    e.claimed_signer = v
        .signer
        .is_none()
        .then(|| v.claimed_signer.clone())
        .flatten();
    e.signed_at = v.signed_at.clone();
    let failed = v.checks.failed().cloned();
    e.status = match v.status {
        SignatureStatus::Trusted => Status::Verified,
        SignatureStatus::UntrustedSigner => Status::UnknownSigner,
        SignatureStatus::Revoked => Status::Revoked,
        SignatureStatus::Failed => Status::Failed,
    };
    match (v.status, failed) {
        (SignatureStatus::Revoked, _) => {
            let id = v
                .signer
                .as_ref()
                .and_then(|s| s.key_id().map(str::to_owned))
                .or_else(|| v.claimed_signer.clone())
                .unwrap_or_default();
            revoked_findings(&mut e, &revocation_for(&id, cfg), v.revoked_verified);
        }
        (SignatureStatus::UntrustedSigner, Some(c)) => e.find(
            FindingKind::UnknownSigner,
            format!(
                "{}; subject and metadata are claimed, not verified",
                c.detail
            ),
        ),
        (_, Some(c)) => {
            let kind = match c.name {
                Check::Binding => FindingKind::ManifestBinding,
                Check::Layers => FindingKind::ModelMismatch,
                Check::Model => FindingKind::ModelMismatch,
                _ => FindingKind::SignatureFailed,
            };
            let detail = match c.name {
                Check::Layers => format!(
                    "the manifest's layers differ from the signed files: {}",
                    c.detail
                ),
                Check::Model => format!(
                    "model {} differs from its signature: {}",
                    model
                        .as_deref()
                        .map(|m| m.display().to_string())
                        .unwrap_or_default(),
                    c.detail
                ),
                Check::Statement => format!("signed statement rejected: {}", c.detail),
                name => format!(
                    "`{name}` failed: {}; subject and metadata are claimed, not verified",
                    c.detail
                ),
            };
            e.find(kind, detail);
        }
        (_, None) => {}
    }
    if v.binding.as_deref() == Some("files") {
        e.find(
            FindingKind::ManifestBinding,
            "the statement binds the model's files, not this manifest (signed on disk before the push)",
        );
    }
    e.verdict = Some((rule.name.clone(), v));
    Evaluated::Entry(Box::new(e))
}

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
    if cfg.policy_file {
        apply_thresholds(&mut entries, &cfg.evaluator);
    }
    let examined = entries.len();
    let entries = lineage(entries, &cfg.matches);
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

/// One key across many subjects or many authors is a blast-radius risk: flag each of its entries.
fn key_reuse(entries: &mut [Entry]) {
    let mut by_key: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for e in entries.iter() {
        let (Some(k), Some(s)) = (e.signer_label(), &e.subject) else {
            continue;
        };
        let slot = by_key.entry(k).or_default();
        slot.0.insert(s.clone());
        for field in ["author", "team"] {
            if let Some(v) = e.metadata.get(field) {
                slot.1.insert(v.clone());
            }
        }
    }
    for e in entries.iter_mut() {
        let label = e.signer_label().unwrap_or_default();
        let Some((subjects, authors)) = by_key.get(&label) else {
            continue;
        };
        if subjects.len() >= KEY_REUSE_THRESHOLD || authors.len() >= KEY_REUSE_THRESHOLD {
            let detail = format!(
                "key {} used by {} models / {} authors",
                short(&label),
                subjects.len(),
                authors.len()
            );
            e.find(FindingKind::KeyReuse, detail);
        }
    }
}

fn key_age(entries: &mut [Entry], cfg: &AuditConfig) {
    let Some(max) = cfg.max_key_age else {
        return;
    };
    for e in entries.iter_mut() {
        let label = e.signer_label().unwrap_or_default();
        let Some(created) = cfg.key_created.get(&label) else {
            continue;
        };
        let age = cfg.now.duration_since(*created).unwrap_or_default();
        if age > max {
            let detail = format!(
                "key {} is {} days old by its public key file's modification time, older than --max-key-age {}",
                short(&label),
                age.as_secs() / 86_400,
                max.as_secs() / 86_400
            );
            e.find(FindingKind::KeyAge, detail);
        }
    }
}

/// The same dataset name with different content hashes means someone trained on a changed copy.
fn dataset_conflicts(entries: &mut [Entry]) {
    let mut hashes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in entries.iter() {
        if let (Some(name), Some(h)) = (e.dataset(), e.metadata.get("training_data_hash")) {
            hashes.entry(name.to_owned()).or_default().insert(h.clone());
        }
    }
    for e in entries.iter_mut() {
        let Some(set) = e.dataset().and_then(|n| hashes.get(n)) else {
            continue;
        };
        if set.len() > 1 {
            let detail = format!(
                "dataset `{}` appears with {} different training_data_hash values: {}",
                e.dataset().unwrap_or_default(),
                set.len(),
                set.iter().cloned().collect::<Vec<_>>().join(", ")
            );
            e.find(FindingKind::DatasetConflict, detail);
        }
    }
}

/// The rule thresholds of a policy file over the signatures of each model (same rule, same
/// subject), decided by the evaluator; a revoked signature is reported on its own entry and fails
/// the other entries of the same model (`policy:revoked`).
fn apply_thresholds(entries: &mut [Entry], evaluator: &Verifier) {
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        let Some((rule, _)) = &e.verdict else {
            continue;
        };
        let subject = e
            .root_digest
            .clone()
            .or_else(|| e.subject.clone())
            .unwrap_or_default();
        groups.entry((rule.clone(), subject)).or_default().push(i);
    }
    for ((rule_name, _), idx) in groups {
        let Some(rule) = evaluator.policy.rules.iter().find(|r| r.name == rule_name) else {
            continue;
        };
        let verdicts: Vec<&SignatureVerdict> = idx
            .iter()
            .filter_map(|i| entries.get(*i))
            .filter_map(|e| e.verdict.as_ref().map(|(_, v)| v))
            .collect();
        let failed: Vec<_> = evaluator
            .decide(rule, &verdicts)
            .into_iter()
            .filter(|o| !o.passed)
            .collect();
        for i in idx {
            let Some(e) = entries.get_mut(i) else {
                continue;
            };
            // A revoked signature's own entry already says so; its siblings are refused too,
            // since revocation refuses every model that carries the revoked key's signature.
            let own_revoked = e.status == Status::Revoked;
            for o in failed
                .iter()
                .filter(|o| !(o.name == Check::PolicyRevoked && own_revoked))
            {
                e.find(
                    FindingKind::Policy,
                    format!(
                        "policy rule `{rule_name}`: {} not met: {}",
                        o.name.as_str().trim_start_matches("policy:"),
                        o.detail
                    ),
                );
                if e.status == Status::Verified {
                    e.status = Status::Failed;
                }
            }
        }
    }
}

fn metadata_matches(e: &Entry, matches: &[(String, String)]) -> bool {
    matches
        .iter()
        .all(|(k, v)| e.metadata.get(k).is_some_and(|m| m == v))
}

/// Parent links from `base_model` metadata: a root digest (`sha256:<hex>` or bare hex) or a
/// subject name of another entry.
pub(crate) fn parents(entries: &[Entry]) -> Vec<Vec<usize>> {
    let mut index: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(d) = &e.root_digest {
            index.entry(d.clone()).or_default().push(i);
            if let Some(hex) = d.strip_prefix("sha256:") {
                index.entry(hex.to_owned()).or_default().push(i);
            }
        }
        if let Some(s) = &e.subject {
            index.entry(s.clone()).or_default().push(i);
        }
    }
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut ps: Vec<usize> = e
                .metadata
                .get("base_model")
                .and_then(|b| index.get(b))
                .map(|v| v.iter().copied().filter(|p| *p != i).collect())
                .unwrap_or_default();
            ps.sort_unstable();
            ps.dedup();
            ps
        })
        .collect()
}

/// Applies `--match` (keeping descendants of matching models) and orders the entries so that
/// each model is followed by the models derived from it.
fn lineage(mut entries: Vec<Entry>, matches: &[(String, String)]) -> Vec<Entry> {
    let parents = parents(&entries);
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); entries.len()];
    for (c, ps) in parents.iter().enumerate() {
        for p in ps {
            if let Some(ch) = children.get_mut(*p) {
                ch.push(c);
            }
        }
    }
    // Findings about an untrusted base model, whatever is kept.
    for (c, ps) in parents.iter().enumerate() {
        let bad: Vec<String> = ps
            .iter()
            .filter_map(|p| entries.get(*p))
            .filter(|p| p.status != Status::Verified)
            .map(|p| {
                format!(
                    "base model {} ({}) is {}",
                    p.subject.as_deref().unwrap_or("?"),
                    p.origin.display(),
                    p.status.as_str()
                )
            })
            .collect();
        if let Some(e) = entries.get_mut(c) {
            for b in bad {
                e.find(FindingKind::BaseModelUntrusted, b);
            }
        }
    }
    let mut keep = vec![matches.is_empty(); entries.len()];
    if !matches.is_empty() {
        let mut queue = VecDeque::new();
        for (i, e) in entries.iter().enumerate() {
            if metadata_matches(e, matches) {
                if let Some(k) = keep.get_mut(i) {
                    *k = true;
                }
                queue.push_back(i);
            }
        }
        let mut derived: Vec<(usize, String)> = Vec::new();
        while let Some(p) = queue.pop_front() {
            for c in children.get(p).cloned().unwrap_or_default() {
                if keep.get(c).copied().unwrap_or(true) {
                    continue;
                }
                if let Some(k) = keep.get_mut(c) {
                    *k = true;
                }
                if let Some(pe) = entries.get(p) {
                    derived.push((
                        c,
                        format!(
                            "derived from {} ({})",
                            pe.subject.as_deref().unwrap_or("?"),
                            pe.origin.display()
                        ),
                    ));
                }
                queue.push_back(c);
            }
        }
        for (c, d) in derived {
            if let Some(e) = entries.get_mut(c) {
                e.find(FindingKind::DerivedFrom, d);
            }
        }
    }
    // Depth-first order: roots (no kept parent) by origin, each followed by its kept children.
    let is_kept = |i: usize| keep.get(i).copied().unwrap_or(false);
    let by_origin = |a: &usize, b: &usize| {
        let oa = entries.get(*a).map(|e| &e.origin);
        let ob = entries.get(*b).map(|e| &e.origin);
        oa.cmp(&ob)
    };
    let mut roots: Vec<usize> = (0..entries.len())
        .filter(|i| is_kept(*i))
        .filter(|i| {
            !parents
                .get(*i)
                .is_some_and(|ps| ps.iter().any(|p| is_kept(*p)))
        })
        .collect();
    roots.sort_by(by_origin);
    let mut order: Vec<(usize, usize)> = Vec::new();
    let mut seen = vec![false; entries.len()];
    let visit = |start: usize, order: &mut Vec<(usize, usize)>, seen: &mut Vec<bool>| {
        let mut stack = vec![(start, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            if seen.get(i).copied().unwrap_or(true) {
                continue;
            }
            if let Some(s) = seen.get_mut(i) {
                *s = true;
            }
            order.push((i, depth));
            let mut ch: Vec<usize> = children
                .get(i)
                .map(|c| c.iter().copied().filter(|c| is_kept(*c)).collect())
                .unwrap_or_default();
            ch.sort_by(by_origin);
            for c in ch.into_iter().rev() {
                stack.push((c, depth + 1));
            }
        }
    };
    for r in roots {
        visit(r, &mut order, &mut seen);
    }
    // Entries only reachable through a cycle of base_model claims.
    let mut rest: Vec<usize> = (0..entries.len())
        .filter(|i| is_kept(*i) && !seen.get(*i).copied().unwrap_or(true))
        .collect();
    rest.sort_by(by_origin);
    for r in rest {
        visit(r, &mut order, &mut seen);
    }
    let mut slots: Vec<Option<Entry>> = entries.drain(..).map(Some).collect();
    order
        .into_iter()
        .filter_map(|(i, depth)| {
            slots.get_mut(i).and_then(Option::take).map(|mut e| {
                e.depth = depth;
                e
            })
        })
        .collect()
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

    #[test]
    fn signature_beside_model_is_found_by_name() {
        let d = tempfile::tempdir().unwrap();
        let m = d.path().join("m.pt");
        std::fs::write(&m, b"x").unwrap();
        assert_eq!(model_beside(&d.path().join("m.pt.sig")), Some(m));
        assert_eq!(model_beside(&d.path().join("other.sig")), None);
        assert_eq!(model_beside(&d.path().join("m.json")), None);
    }
}

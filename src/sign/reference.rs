//! The write side of a model's digest chain: sign a pushed model from its manifest alone and
//! attach the signature as an OCI 1.1 referrer (cosign's bundle layout), and the `push` workflow
//! (a model on disk to a ModelPack artifact, tag written last, then signed by digest).

use std::collections::BTreeMap;

use crate::formats::bundle::{self, Bundle};
use crate::formats::statement::{self, Resource, Serialization, SerializationMethod, Statement};
use crate::model::{self, GIT_PATHS};
use crate::oci::{self, Descriptor, Reference, Store};
use crate::sign::{self, Signer};
use crate::verify::reference::{Resolved, resolve, resources_from_layers};

/// Errors of the OCI flows that stop before a verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Store or registry failure.
    #[error(transparent)]
    Oci(#[from] oci::Error),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] sign::Error),
}

impl Error {
    /// Exit-code class.
    pub fn class(&self) -> crate::Class {
        match self {
            Error::Oci(e) => match e.kind() {
                oci::ErrorKind::Verification => crate::Class::NotTrusted,
                oci::ErrorKind::Input => crate::Class::Input,
                _ => crate::Class::Environment,
            },
            Error::Sign(e) => e.class(),
        }
    }
}

/// Builds the statement `sign REF` signs: the OMS statement over the layers (so `model_signing`
/// verifies a pulled copy unchanged), bound to the manifest digest by a signed annotation.
pub fn statement_for(resolved: &Resolved, metadata: BTreeMap<String, String>) -> Statement {
    let mut annotations = metadata;
    annotations.insert(
        statement::ANNOTATION_MANIFEST_DIGEST.into(),
        resolved.descriptor.digest.clone(),
    );
    annotations.insert(
        statement::ANNOTATION_REPOSITORY.into(),
        resolved.repository.clone(),
    );
    let name = resolved
        .repository
        .rsplit('/')
        .next()
        .unwrap_or(&resolved.repository)
        .to_owned();
    Statement::new(
        name,
        resources_from_layers(&resolved.manifest),
        Serialization {
            method: SerializationMethod::Files,
            hash_type: "sha256".into(),
            allow_symlinks: false,
            ignore_paths: GIT_PATHS.iter().map(|s| (*s).to_owned()).collect(),
        },
        annotations,
    )
}

/// Annotations of a signature referrer manifest (cosign's bundle layout plus creation time).
pub fn referrer_annotations(predicate_type: &str) -> BTreeMap<String, String> {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    BTreeMap::from([
        (
            "dev.sigstore.bundle.predicateType".to_owned(),
            predicate_type.to_owned(),
        ),
        (
            "dev.sigstore.bundle.content".to_owned(),
            "dsse-envelope".to_owned(),
        ),
        ("org.opencontainers.image.created".to_owned(), now),
    ])
}

/// Attaches a bundle to a resolved model as a referrer.
pub fn attach_bundle(
    store: &dyn Store,
    resolved: &Resolved,
    bundle: &Bundle,
    predicate_type: &str,
) -> Result<Descriptor, oci::Error> {
    oci::attach_referrer(
        store,
        &resolved.repository,
        &resolved.descriptor,
        bundle::BUNDLE_MEDIA_TYPE,
        bundle::BUNDLE_MEDIA_TYPE,
        &bundle.to_json(),
        &referrer_annotations(predicate_type),
    )
}

/// What `sign REF` did: the `sign` result for a reference (docs/json.md).
#[derive(Clone, Debug, serde::Serialize)]
pub struct SignedReference {
    /// The reference as given.
    pub reference: String,
    /// The manifest digest signed (what the tag pointed to when it was resolved).
    pub digest: String,
    /// The attached signature referrer's digest.
    pub signature_referrer: String,
    /// Who signed.
    pub signer: crate::sign::SignerReport,
    /// Resources (layers) signed.
    pub resources: usize,
    /// The signed user metadata.
    pub metadata: BTreeMap<String, String>,
    /// The repository (without host), for messages.
    #[serde(skip)]
    pub repository: String,
}

/// `sign REF`: resolves the reference to its manifest (digest-checked), signs that digest and
/// attaches the bundle as a referrer. Downloads no blob.
pub fn sign(
    store: &dyn Store,
    reference: &Reference,
    signer: &dyn Signer,
    metadata: BTreeMap<String, String>,
) -> Result<SignedReference, Error> {
    let resolved = resolve(store, reference)?;
    let (st, referrer) = sign_reference(store, &resolved, signer, metadata)?;
    Ok(SignedReference {
        reference: reference.to_string(),
        digest: resolved.descriptor.digest,
        signature_referrer: referrer.digest,
        signer: signer.report(),
        resources: st.resources.len(),
        metadata: st.user_metadata(),
        repository: resolved.repository,
    })
}

/// Signs a model in a store by digest and attaches the bundle. Downloads no blob.
pub fn sign_reference(
    store: &dyn Store,
    resolved: &Resolved,
    signer: &dyn Signer,
    metadata: BTreeMap<String, String>,
) -> Result<(Statement, Descriptor), Error> {
    let st = statement_for(resolved, metadata);
    let bundle = sign::sign_statement(&st, signer)?;
    let referrer = attach_bundle(store, resolved, &bundle, &st.predicate_type)?;
    Ok((st, referrer))
}

/// A model folder or file to push, and what to attach (the `push` workflow).
pub struct PushRequest<'a> {
    /// The model on disk.
    pub model: &'a std::path::Path,
    /// Symlink policy (ignore rules are not applied: a pushed model carries every file).
    pub allow_symlinks: bool,
    /// The model's name in the ModelPack config (`descriptor.name`); `None`: the folder's (or
    /// file's) name.
    pub name: Option<String>,
    /// Signed metadata; needs `signer` (metadata is only ever signed). `version` also goes into
    /// the ModelPack config.
    pub metadata: BTreeMap<String, String>,
    /// Sign the pushed manifest and attach the referrer.
    pub signer: Option<&'a dyn Signer>,
    /// A bundle made on disk before the push, attached as it is (it binds the files).
    pub attach: Option<&'a Bundle>,
    /// Concurrency and progress.
    pub options: oci::PushOptions,
}

/// What [`push`] did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Pushed {
    /// The reference pushed to, as given.
    pub reference: String,
    /// The reference pushed to, pinned by digest (`host/repo:tag@sha256:...`).
    pub pinned: String,
    /// The manifest descriptor.
    pub digest: String,
    /// Manifest size in bytes.
    pub size: u64,
    /// Layers (one per file).
    pub layers: usize,
    /// Bytes of the model.
    pub bytes: u64,
    /// The attached signature referrer, if any.
    pub signature_referrer: Option<String>,
    /// What listing noticed (links followed out of the model), unescaped.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Why a push request was refused before anything was sent (exit 2).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushInputError {
    /// Metadata without a signer.
    #[error("--metadata is signed: add --sign --private-key KEY (or --sign --keyless)")]
    MetadataNeedsSigner,
    /// A digest reference.
    #[error("push needs a tag, not a digest: the digest is computed from the model")]
    DigestReference,
    /// `--name` is empty, longer than 256 bytes or holds control characters.
    #[error("--name must be 1 to 256 printable characters, e.g. --name bert-base-uncased")]
    BadName,
    /// The `--signature` bundle does not cover the files being pushed (verify would fail at
    /// `layers`): nothing was sent.
    #[error(
        "the signature does not bind this model ({0}); nothing was pushed. Sign the model as it is now (provenance sign MODEL --key KEY), or push with --sign"
    )]
    SignatureDoesNotBind(String),
    /// The `--signature` bundle's payload is not an OMS statement.
    #[error("the signature holds no readable OMS statement ({0}); nothing was pushed")]
    UnreadableSignature(String),
}

/// Pushes a model as a ModelPack artifact: list and hash it (one raw layer per file, a file
/// model named by its file name), push blobs then the manifest, write the tag last, then sign
/// the pushed manifest by digest and/or attach a disk bundle as referrers. Input rules are
/// checked before any byte is hashed or sent.
pub fn push(
    store: &dyn Store,
    reference: &Reference,
    request: &PushRequest<'_>,
    hashing: &(dyn Fn(u64) + Sync),
) -> Result<Pushed, PushError> {
    if !request.metadata.is_empty() && request.signer.is_none() {
        return Err(PushError::Input(PushInputError::MetadataNeedsSigner));
    }
    for k in request.metadata.keys() {
        statement::check_metadata_key(k).map_err(|e| PushError::Flow(Error::Sign(e.into())))?;
    }
    if reference.digest().is_some() {
        return Err(PushError::Input(PushInputError::DigestReference));
    }
    if let Some(n) = &request.name {
        if n.trim().is_empty() || n.len() > 256 || n.chars().any(char::is_control) {
            return Err(PushError::Input(PushInputError::BadName));
        }
    }
    let listing = model::list(
        request.model,
        &model::Options {
            allow_symlinks: request.allow_symlinks,
            ..model::Options::default()
        },
    )?;
    let resources = model::resources(&listing, &SerializationMethod::Files, hashing)?;
    let files: Vec<oci::PushFile> = listing
        .files
        .iter()
        .zip(&resources)
        .map(|(f, r)| oci::PushFile {
            abs_path: f.path.clone(),
            // A single-file model's resource is `.` (OMS); its layer is named by the file.
            rel_path: if f.name == "." {
                listing.name.clone()
            } else {
                f.name.clone()
            },
            sha256_hex: r.digest.clone(),
            size: f.size,
        })
        .collect();
    if let Some(b) = request.attach {
        check_binding(b, &files)?;
    }
    let config = oci::ModelConfig {
        name: Some(request.name.clone().unwrap_or_else(|| listing.name.clone())),
        version: request.metadata.get("version").cloned(),
        created: None,
        format: None,
    };
    let descriptor = oci::push_model(
        store,
        reference.repository(),
        reference.tag_or_default(),
        &files,
        &config,
        &request.options,
    )
    .map_err(Error::from)?;
    let by_digest = reference.with_digest(&descriptor.digest);
    let mut signature_referrer = None;
    if request.signer.is_some() || request.attach.is_some() {
        let resolved = resolve(store, &by_digest).map_err(Error::from)?;
        if let Some(s) = request.signer {
            let (_, referrer) = sign_reference(store, &resolved, s, request.metadata.clone())?;
            signature_referrer = Some(referrer.digest);
        }
        if let Some(b) = request.attach {
            let referrer = attach_bundle(store, &resolved, b, statement::PREDICATE_TYPE)
                .map_err(Error::from)?;
            signature_referrer = Some(referrer.digest);
        }
    }
    Ok(Pushed {
        reference: reference.to_string(),
        pinned: by_digest.to_string(),
        digest: descriptor.digest,
        size: descriptor.size,
        layers: files.len(),
        bytes: listing.total_bytes(),
        signature_referrer,
        warnings: listing.warnings,
    })
}

/// Whether a bundle about to be attached covers exactly the files of the push, as `verify`'s
/// `layers` check will compare them (the signature itself is not verified here: `verify` does).
fn check_binding(bundle: &Bundle, files: &[oci::PushFile]) -> Result<(), PushError> {
    let payload = bundle
        .dsse_envelope
        .payload_bytes()
        .map_err(|e| PushError::Input(PushInputError::UnreadableSignature(e.to_string())))?;
    let st = Statement::parse(&payload)
        .map_err(|e| PushError::Input(PushInputError::UnreadableSignature(e.to_string())))?;
    let mut layers: Vec<Resource> = files
        .iter()
        .map(|f| Resource {
            name: f.rel_path.clone(),
            algorithm: "sha256".into(),
            digest: f.sha256_hex.clone(),
        })
        .collect();
    layers.sort_by_cached_key(|r| statement::resource_sort_key(&r.name));
    crate::verify::artifact::resources_match_layers(&st, &layers)
        .map(|_| ())
        .map_err(|e| PushError::Input(PushInputError::SignatureDoesNotBind(e.to_string())))
}

/// Errors of [`push`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The request breaks a push rule.
    #[error(transparent)]
    Input(PushInputError),
    /// The model could not be listed or hashed.
    #[error(transparent)]
    Model(#[from] model::Error),
    /// The store, registry or signer failed.
    #[error(transparent)]
    Flow(#[from] Error),
}

impl PushError {
    /// Exit-code class.
    pub fn class(&self) -> crate::Class {
        match self {
            PushError::Input(_) => crate::Class::Input,
            PushError::Model(e) => e.class(),
            PushError::Flow(e) => e.class(),
        }
    }
}

//! Signing: the [`Signer`] trait and its signers (a local key here, keyless in [`keyless`]),
//! and the disk-sign workflow ([`sign_files`]). Signers turn a statement into a signed Sigstore bundle. Local EC keys (P-256, P-384, P-521);
//! keyless and certificate signers plug in behind the same [`Signer`] trait.

pub mod certificate;
pub mod keyless;
pub mod metadata;
pub mod reference;
pub mod spec;

pub use spec::{AnySigner, SignerReport, SignerSpec};

use crate::formats::bundle::Bundle;
use crate::formats::dsse::{self, Envelope};
use crate::formats::statement::Statement;
use crate::keys::PrivateKey;

/// Errors while signing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key could not be used.
    #[error(transparent)]
    Key(#[from] crate::keys::Error),
    /// The signing operation failed.
    #[error("signing failed: {0}")]
    Sign(String),
    /// Keyless signing (token, Fulcio, Rekor) failed.
    #[error(transparent)]
    Keyless(crate::sign::keyless::Error),
    /// The model could not be listed or hashed.
    #[error(transparent)]
    Model(#[from] crate::model::Error),
    /// The signature could not be written.
    #[error(transparent)]
    Bundle(#[from] crate::formats::bundle::Error),
    /// User metadata breaks the metadata rules.
    #[error(transparent)]
    Metadata(#[from] crate::formats::statement::MetadataError),
    /// The signing certificate or its chain could not be used.
    #[error(transparent)]
    Certificate(crate::formats::x509::Error),
    /// A signing certificate was given without the private key it was issued for.
    #[error(
        "--signing-certificate needs --private-key KEY: the private key the certificate was issued for"
    )]
    CertificateWithoutKey,
}

impl Error {
    /// Exit-code class.
    pub fn class(&self) -> crate::Class {
        match self {
            Error::Key(e) => e.class(),
            Error::Sign(_) => crate::Class::Environment,
            Error::Keyless(e) => e.class(),
            Error::Model(e) => e.class(),
            Error::Bundle(e) => e.class(),
            Error::Metadata(_) | Error::CertificateWithoutKey => crate::Class::Input,
            Error::Certificate(e) => e.class(),
        }
    }
}

/// Something that can sign DSSE PAE bytes and describe itself in a bundle.
pub trait Signer {
    /// Signs the PAE bytes, returning the signature as it goes in the envelope (ECDSA: DER).
    fn sign_pae(&self, pae: &[u8]) -> Result<Vec<u8>, Error>;
    /// Wraps a signed envelope in a bundle carrying this signer's verification material.
    fn bundle(&self, envelope: Envelope) -> Result<Bundle, Error>;
    /// A short human description of the signer (key id or identity).
    fn describe(&self) -> String;
    /// How results describe this signer: the `{kind, ...}` object verification reports, plus
    /// what signing learned (a keyless signature's log entry, once signed).
    fn report(&self) -> SignerReport;
}

/// A local ECDSA key (P-256, P-384 or P-521), signing with its curve's hash.
pub struct KeySigner {
    key: PrivateKey,
    key_id: String,
}

impl KeySigner {
    /// Wraps a private key.
    pub fn new(key: PrivateKey) -> Result<Self, Error> {
        let key_id = key.public_key()?.id().to_owned();
        Ok(Self { key, key_id })
    }

    /// The key id (hex SHA-256 of the public key PEM).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

impl Signer for KeySigner {
    fn sign_pae(&self, pae: &[u8]) -> Result<Vec<u8>, Error> {
        self.key
            .sign_der(pae)
            .map_err(|e| Error::Sign(e.to_string()))
    }

    fn bundle(&self, envelope: Envelope) -> Result<Bundle, Error> {
        Ok(Bundle::for_key(envelope, &self.key_id))
    }

    fn describe(&self) -> String {
        format!("key {}", self.key_id)
    }

    fn report(&self) -> SignerReport {
        SignerReport::Key {
            key_id: self.key_id.clone(),
        }
    }
}

/// Signs a statement: DSSE over its JSON, wrapped in the signer's bundle.
pub fn sign_statement(statement: &Statement, signer: &dyn Signer) -> Result<Bundle, Error> {
    let payload = statement.to_json();
    let pae = dsse::pae(dsse::IN_TOTO_PAYLOAD_TYPE, &payload);
    let sig = signer.sign_pae(&pae)?;
    signer.bundle(Envelope::new(&payload, &sig))
}

/// A model on disk to sign, and how (the `sign --model` workflow as the library offers it).
#[derive(Clone, Debug)]
pub struct SignFiles {
    /// The model file or folder.
    pub model: std::path::PathBuf,
    /// Where the bundle goes; `None` is `<model>.sig` beside the model
    /// ([`crate::model::signature_path`]).
    pub signature: Option<std::path::PathBuf>,
    /// Ignore paths, git paths and the symlink policy (the signature path is filled in).
    pub options: crate::model::Options,
    /// `files`, or `shards` with a shard size.
    pub method: crate::formats::statement::SerializationMethod,
    /// Signed user metadata (check it with [`crate::formats::statement::parse_metadata`]).
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// What [`sign_files`] wrote: the `sign` result (docs/json.md).
#[derive(Clone, Debug, serde::Serialize)]
pub struct SignedFiles {
    /// The bundle's path.
    pub signature: std::path::PathBuf,
    /// The subject name (the model's file or folder name).
    pub subject: String,
    /// The subject's root digest, `sha256:<hex>`.
    pub root_digest: String,
    /// Resources signed.
    pub resources: usize,
    /// Bytes hashed.
    pub bytes: u64,
    /// Who signed.
    pub signer: SignerReport,
    /// The signed user metadata.
    pub metadata: std::collections::BTreeMap<String, String>,
    /// The signed statement.
    #[serde(skip)]
    pub statement: Statement,
    /// What listing noticed (links followed out of the model), unescaped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Signs a model on disk: list it, hash it (streaming, in parallel), build the OMS statement,
/// sign it and write the bundle atomically (temp file, sync, rename). Input is checked before
/// any byte is hashed; on failure no signature file is written or replaced.
pub fn sign_files(
    request: &SignFiles,
    signer: &dyn Signer,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SignedFiles, Error> {
    if let crate::formats::statement::SerializationMethod::Shards { shard_size: 0 } = request.method
    {
        return Err(crate::model::Error::BadShardSize.into());
    }
    for k in request.metadata.keys() {
        crate::formats::statement::check_metadata_key(k)?;
    }
    let signature = request
        .signature
        .clone()
        .unwrap_or_else(|| crate::model::signature_path(&request.model));
    let options = crate::model::Options {
        signature_path: Some(signature.clone()),
        ..request.options.clone()
    };
    let listing = crate::model::list(&request.model, &options)?;
    let resources = crate::model::resources(&listing, &request.method, progress)?;
    let statement = Statement::new(
        listing.name.clone(),
        resources,
        crate::model::serialization_for(&listing, request.method.clone()),
        request.metadata.clone(),
    );
    let bundle = sign_statement(&statement, signer)?;
    bundle.write(&signature)?;
    Ok(SignedFiles {
        signature,
        subject: statement.name.clone(),
        root_digest: format!("sha256:{}", statement.root_digest),
        resources: statement.resources.len(),
        bytes: listing.total_bytes(),
        signer: signer.report(),
        metadata: statement.user_metadata(),
        statement,
        warnings: listing.warnings,
    })
}

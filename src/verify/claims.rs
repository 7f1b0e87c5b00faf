//! What a signature *claims*, unverified: the library side of `inspect`. Nothing here is a trust
//! decision; every result says so (`verified: false`), and a signer is the same `{kind, ...}`
//! object shape `verify` reports.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::formats::bundle::Bundle;
use crate::formats::statement::{self, SerializationMethod, Statement};
use crate::formats::x509::{self, Certificate};

/// The signer a bundle names, unverified.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ClaimedSigner {
    /// A key, by the hint the bundle carries.
    Key {
        /// The claimed key id.
        key_id: String,
    },
    /// A Fulcio certificate (keyless) or a private-PKI certificate.
    #[serde(rename = "keyless")]
    Keyless(CertificateClaim),
    /// A private-PKI certificate.
    Certificate(CertificateClaim),
    /// Nothing names a signer.
    None,
}

/// What a signing certificate says about its holder.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CertificateClaim {
    /// SAN values.
    pub identities: Vec<String>,
    /// The Fulcio OIDC issuer extension, if any.
    pub oidc_issuer: Option<String>,
    /// Subject DN.
    pub subject: String,
    /// Validity start (RFC 3339).
    pub not_before: String,
    /// Validity end (RFC 3339).
    pub not_after: String,
}

/// How the statement serialized the model.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SerializationClaim {
    /// `files` or `shards`.
    pub method: &'static str,
    /// The shard size, for `shards`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_size: Option<u64>,
}

/// The claims of one signature file.
#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    /// Always false: nothing was verified.
    pub verified: bool,
    /// Says how to verify.
    pub note: &'static str,
    /// The signature file.
    pub signature: PathBuf,
    /// Who the bundle says signed.
    pub signer: ClaimedSigner,
    /// The subject name.
    pub subject: String,
    /// The subject's root digest, `sha256:<hex>`.
    pub root_digest: String,
    /// The predicate type.
    pub predicate_type: String,
    /// The serialization.
    pub serialization: SerializationClaim,
    /// Ignore paths recorded.
    pub ignore_paths: Vec<String>,
    /// Resources signed.
    pub resources: usize,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
    /// The bound registry manifest digest, for a signature made by reference.
    pub oci_manifest_digest: Option<String>,
    /// Transparency-log entries carried.
    pub tlog_entries: usize,
}

fn leaf_certificate(bundle: &Bundle) -> Option<Certificate> {
    let vm = &bundle.verification_material;
    let b64 = vm
        .certificate
        .as_ref()
        .map(|c| c.raw_bytes.as_str())
        .or_else(|| {
            vm.x509_certificate_chain
                .as_ref()
                .and_then(|c| c.certificates.first())
                .map(|c| c.raw_bytes.as_str())
        })?;
    Certificate::from_base64(b64, "certificate").ok()
}

/// The signer a bundle claims (unverified).
pub fn claimed_signer(bundle: &Bundle) -> ClaimedSigner {
    let vm = &bundle.verification_material;
    if let Some(pk) = &vm.public_key {
        return ClaimedSigner::Key {
            key_id: pk.hint.clone(),
        };
    }
    let Some(leaf) = leaf_certificate(bundle) else {
        return ClaimedSigner::None;
    };
    let claim = CertificateClaim {
        identities: leaf.identities(),
        oidc_issuer: leaf.oidc_issuer(),
        subject: leaf.subject(),
        not_before: x509::fmt_time(leaf.not_before()),
        not_after: x509::fmt_time(leaf.not_after()),
    };
    if vm.certificate.is_some() {
        ClaimedSigner::Keyless(claim)
    } else {
        ClaimedSigner::Certificate(claim)
    }
}

/// Errors reading a signature's claims (exit 2: the file is not a readable OMS signature).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The envelope.
    #[error(transparent)]
    Dsse(#[from] crate::formats::dsse::Error),
    /// The statement.
    #[error(transparent)]
    Statement(#[from] statement::Error),
}

/// Reads what `bundle` (from `signature`) claims, verifying nothing.
pub fn inspect(bundle: &Bundle, signature: PathBuf) -> Result<Inspection, Error> {
    let payload = bundle.dsse_envelope.payload_bytes()?;
    let st = Statement::parse(&payload)?;
    let serialization = match st.serialization.method {
        SerializationMethod::Files => SerializationClaim {
            method: "files",
            shard_size: None,
        },
        SerializationMethod::Shards { shard_size } => SerializationClaim {
            method: "shards",
            shard_size: Some(shard_size),
        },
    };
    Ok(Inspection {
        verified: false,
        note: "inspect does not verify; run `provenance verify`",
        signature,
        signer: claimed_signer(bundle),
        subject: st.name.clone(),
        root_digest: format!("sha256:{}", st.root_digest),
        predicate_type: st.predicate_type.clone(),
        serialization,
        ignore_paths: st.serialization.ignore_paths.clone(),
        resources: st.resources.len(),
        metadata: st.user_metadata(),
        oci_manifest_digest: st
            .annotations
            .get(statement::ANNOTATION_MANIFEST_DIGEST)
            .cloned(),
        tlog_entries: bundle.verification_material.tlog_entries.len(),
    })
}

/// One file a model manifest lists (unverified: the manifest's claim).
#[derive(Clone, Debug, Serialize)]
pub struct LayerClaim {
    /// The file's path in the model.
    pub path: String,
    /// `sha256:<hex>` of the file.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// The ModelPack layer media type.
    pub media_type: String,
}

/// One signature referrer of a model and what it claims.
#[derive(Clone, Debug, Serialize)]
pub struct ReferrerClaim {
    /// The referrer manifest's digest.
    pub digest: String,
    /// The referrer's `org.opencontainers.image.created` annotation, as the registry lists it.
    pub created: Option<String>,
    /// What the signature claims, when it could be read.
    pub claims: Option<Inspection>,
    /// Why it could not be read (too large, not a bundle, a digest mismatch).
    pub error: Option<String>,
}

/// A model in a store and every signature attached to it, verifying nothing: `inspect REF`.
#[derive(Clone, Debug, Serialize)]
pub struct ReferenceInspection {
    /// Always false: nothing was verified.
    pub verified: bool,
    /// Says how to verify.
    pub note: &'static str,
    /// The reference as given.
    pub reference: String,
    /// The manifest digest the reference resolved to (read and digest-checked).
    pub digest: String,
    /// The manifest's `artifactType`.
    pub artifact_type: Option<String>,
    /// The files the manifest lists.
    pub layers: Vec<LayerClaim>,
    /// Their total size in bytes.
    pub size: u64,
    /// The manifest's annotations.
    pub annotations: BTreeMap<String, String>,
    /// The signature referrers, as listed.
    pub signatures: Vec<ReferrerClaim>,
    /// How many signature referrers the store listed (more than `signatures` when capped).
    pub referrers_listed: usize,
}

/// Reads a model manifest and the claims of every signature attached to it (bounded, each
/// byte digest-checked, no model blob downloaded), verifying no signature.
pub fn inspect_reference(
    store: &dyn crate::oci::Store,
    reference: &crate::oci::Reference,
) -> Result<ReferenceInspection, crate::oci::Error> {
    use crate::verify::reference::{FetchError, fetch_bundle_bytes, resolve};
    let resolved = resolve(store, reference)?;
    let listed = store.referrer_list(
        &resolved.repository,
        &resolved.descriptor.digest,
        Some(crate::formats::bundle::BUNDLE_MEDIA_TYPE),
    )?;
    let mut signatures = Vec::with_capacity(listed.descriptors.len());
    for r in &listed.descriptors {
        let read = match fetch_bundle_bytes(store, &resolved.repository, r) {
            Ok(bytes) => Bundle::from_slice(&bytes, std::path::Path::new(&r.digest))
                .map_err(|e| e.to_string())
                .and_then(|b| inspect(&b, PathBuf::from(&r.digest)).map_err(|e| e.to_string())),
            Err(FetchError::Unusable(u)) => Err(u.to_string()),
            Err(FetchError::Store(e)) => return Err(e),
        };
        let (claims, error) = match read {
            Ok(i) => (Some(i), None),
            Err(e) => (None, Some(e)),
        };
        signatures.push(ReferrerClaim {
            digest: r.digest.clone(),
            created: r
                .annotations
                .get("org.opencontainers.image.created")
                .cloned(),
            claims,
            error,
        });
    }
    let layers: Vec<LayerClaim> = resolved
        .manifest
        .layers
        .iter()
        .map(|l| LayerClaim {
            path: l.path.clone(),
            digest: l.digest.clone(),
            size: l.size,
            media_type: l.media_type.clone(),
        })
        .collect();
    Ok(ReferenceInspection {
        verified: false,
        note: "inspect does not verify; run `provenance verify`",
        reference: reference.to_string(),
        digest: resolved.descriptor.digest.clone(),
        artifact_type: resolved.manifest.artifact_type.clone(),
        size: layers.iter().map(|l| l.size).sum(),
        layers,
        annotations: resolved.manifest.annotations.clone(),
        signatures,
        referrers_listed: listed.total,
    })
}

impl ReferenceInspection {
    /// The reference pinned to the digest it resolved to (`host/repo:tag@sha256:...`).
    pub fn reference_pinned(&self) -> String {
        if self.reference.contains('@') {
            self.reference.clone()
        } else {
            format!("{}@{}", self.reference, self.digest)
        }
    }
}

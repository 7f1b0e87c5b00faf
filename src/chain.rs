//! The digest chain of a model in an OCI store: sign a pushed model from its manifest alone, and
//! verify tag -> manifest digest -> referrers -> bundle -> signed manifest digest -> layer digests,
//! each hop checked by digest, without downloading a model blob.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::bundle::{self, Bundle};
use crate::model::{self, GIT_PATHS};
use crate::oci::{self, Descriptor, ModelManifest, Reference, Store};
use crate::policy::{Policy, VerifiedSignature};
use crate::signing::{self, Signer};
use crate::statement::{self, Resource, Serialization, SerializationMethod, Statement};
use crate::verification::{self, CheckOutcome, Report, TrustedKeys};

/// artifactType and layer media type of signature referrers (cosign's bundle layout).
pub const BUNDLE_ARTIFACT_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The ModelPack artifact type.
pub const MODEL_ARTIFACT_TYPE: &str = "application/vnd.cncf.model.manifest.v1+json";

/// Errors of the OCI flows that stop before a verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Store or registry failure.
    #[error(transparent)]
    Oci(#[from] oci::Error),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] signing::Error),
    /// The model is not trusted; the report says why.
    #[error("{}", not_trusted_message(.0))]
    NotTrusted(Box<ChainReport>),
}

fn not_trusted_message(r: &ChainReport) -> String {
    let failed = r.checks.iter().find(|c| !c.passed);
    format!(
        "verification FAILED for {} at check `{}`: {}",
        r.reference,
        failed.map(|c| c.name.as_str()).unwrap_or("?"),
        failed.map(|c| c.detail.as_str()).unwrap_or("")
    )
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
            Error::NotTrusted(_) => crate::Class::NotTrusted,
        }
    }
}

/// The resolved head of the chain: the manifest a reference names, read and parsed.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Repository.
    pub repository: String,
    /// The manifest descriptor (digest checked against the bytes).
    pub descriptor: Descriptor,
    /// The parsed ModelPack manifest (paths validated).
    pub manifest: ModelManifest,
}

/// Resolves a reference to its manifest: tag -> digest, then the manifest bytes, size-bounded and
/// digest-checked, parsed as ModelPack with every layer path validated.
pub fn resolve(store: &dyn Store, r: &Reference) -> Result<Resolved, oci::Error> {
    let repo = r.repository().to_owned();
    let descriptor = store.resolve(&repo, r.target())?;
    if let Some(pinned) = r.digest()
        && pinned != descriptor.digest
    {
        return Err(oci::Error::DigestMismatch {
            what: format!("manifest {}", r),
            expected: pinned.to_owned(),
            actual: descriptor.digest,
        });
    }
    let fetched = store.fetch_manifest(&repo, &descriptor.digest)?;
    let manifest = oci::parse_model_manifest(&fetched.bytes)?;
    Ok(Resolved {
        repository: repo,
        descriptor: Descriptor {
            size: fetched.bytes.len() as u64,
            ..descriptor
        },
        manifest,
    })
}

/// The OMS resources a ModelPack manifest names: a raw layer's digest is its file's SHA-256.
pub fn resources_from_layers(m: &ModelManifest) -> Vec<Resource> {
    let mut out: Vec<Resource> = m
        .layers
        .iter()
        .map(|l| Resource {
            name: l.path.clone(),
            algorithm: "sha256".into(),
            digest: l.digest.trim_start_matches("sha256:").to_owned(),
        })
        .collect();
    out.sort_by_cached_key(|r| model::resource_sort_key(&r.name));
    out
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
        BUNDLE_ARTIFACT_TYPE,
        BUNDLE_ARTIFACT_TYPE,
        &bundle.to_json(),
        &referrer_annotations(predicate_type),
    )
}

/// Signs a model in a store by digest and attaches the bundle. Downloads no blob.
pub fn sign_reference(
    store: &dyn Store,
    resolved: &Resolved,
    signer: &dyn Signer,
    metadata: BTreeMap<String, String>,
) -> Result<(Statement, Descriptor), Error> {
    let st = statement_for(resolved, metadata);
    let bundle = signing::sign_statement(&st, signer)?;
    let referrer = attach_bundle(store, resolved, &bundle, &st.predicate_type)?;
    Ok((st, referrer))
}

/// One signature found on a model, and what came of checking it.
#[derive(Clone, Debug, Serialize)]
pub struct SignatureResult {
    /// The referrer manifest digest.
    pub referrer: String,
    /// Whether this signature verified completely.
    pub verified: bool,
    /// Signer key id (from the hint before verification, confirmed after).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// Whether the statement is bound to the manifest digest (`sign REF`) or only to the files
    /// (a bundle made on disk before the push).
    pub binding: String,
    /// The signed metadata.
    pub metadata: BTreeMap<String, String>,
    /// Checks run on this signature, in order.
    pub checks: Vec<CheckOutcome>,
    /// The statement (when it verified).
    #[serde(skip)]
    pub statement: Option<Statement>,
    /// The bundle (when it verified), so `pull` can save it beside the model.
    #[serde(skip)]
    pub bundle: Option<Bundle>,
}

/// The result of `verify REF`.
#[derive(Clone, Debug, Serialize)]
pub struct ChainReport {
    /// The reference as given.
    pub reference: String,
    /// The resolved manifest digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// True when at least one signature from a trusted key verified.
    pub verified: bool,
    /// Chain-level checks (resolve, manifest, referrers, then the verdict).
    pub checks: Vec<CheckOutcome>,
    /// Every signature found, trusted or not.
    pub signatures: Vec<SignatureResult>,
}

impl ChainReport {
    fn pass(&mut self, name: &str, detail: String) {
        self.checks.push(CheckOutcome {
            name: name.into(),
            passed: true,
            detail,
        });
    }
    fn fail(mut self, name: &str, detail: String) -> Error {
        self.verified = false;
        self.checks.push(CheckOutcome {
            name: name.into(),
            passed: false,
            detail,
        });
        Error::NotTrusted(Box::new(self))
    }

    /// The first signature that verified.
    pub fn trusted(&self) -> Option<&SignatureResult> {
        self.signatures.iter().find(|s| s.verified)
    }
}

/// Fetches the bundle bytes of a signature referrer: the referrer manifest (bounded,
/// digest-checked), then its bundle layer (at most [`bundle::MAX_BUNDLE_SIZE`], digest-checked).
/// The inner `Err` says why this referrer holds no usable bundle (including a digest mismatch:
/// tampered content is a finding about the referrer, not a failure of the whole walk); the outer
/// error is the store failing or refusing the content (oversized, malformed).
pub fn fetch_bundle_bytes(
    store: &dyn Store,
    repo: &str,
    referrer: &Descriptor,
) -> Result<Result<Vec<u8>, String>, oci::Error> {
    let fetched = match store.fetch_manifest(repo, &referrer.digest) {
        Ok(f) => f,
        Err(e) if e.kind() == oci::ErrorKind::Verification => return Ok(Err(e.to_string())),
        Err(e) => return Err(e),
    };
    let v: serde_json::Value = match serde_json::from_slice(&fetched.bytes) {
        Ok(v) => v,
        Err(e) => return Ok(Err(format!("referrer manifest is not JSON: {e}"))),
    };
    let layer = v
        .get("layers")
        .and_then(|l| l.as_array())
        .and_then(|l| {
            l.iter()
                .find(|d| d.get("mediaType").and_then(|m| m.as_str()) == Some(BUNDLE_ARTIFACT_TYPE))
        })
        .and_then(|d| serde_json::from_value::<Descriptor>(d.clone()).ok());
    let Some(layer) = layer else {
        return Ok(Err("referrer has no sigstore bundle layer".into()));
    };
    if layer.size > bundle::MAX_BUNDLE_SIZE {
        return Ok(Err(format!(
            "bundle layer declares {} bytes, over the {} byte bound",
            layer.size,
            bundle::MAX_BUNDLE_SIZE
        )));
    }
    let mut bytes = Vec::new();
    match store.fetch_blob(repo, &layer.digest, layer.size, &mut bytes) {
        Ok(()) => Ok(Ok(bytes)),
        Err(e) if e.kind() == oci::ErrorKind::Verification => Ok(Err(e.to_string())),
        Err(e) => Err(e),
    }
}

fn fetch_bundle(
    store: &dyn Store,
    repo: &str,
    referrer: &Descriptor,
) -> Result<Result<Bundle, String>, oci::Error> {
    Ok(
        fetch_bundle_bytes(store, repo, referrer)?.and_then(|bytes| {
            Bundle::from_slice(&bytes, std::path::Path::new(&referrer.digest))
                .map_err(|e| e.to_string())
        }),
    )
}

/// The `layers` check: every layer digest of the manifest equals a signed resource, none extra
/// or missing. `Ok` carries the passing detail, `Err` what differs.
pub fn check_layers(st: &Statement, manifest: &ModelManifest) -> Result<String, String> {
    if st.serialization.method != SerializationMethod::Files {
        return Err("statement uses the shards serialization; layer digests are whole-file digests, re-sign with the files method".into());
    }
    let layers = resources_from_layers(manifest);
    let diffs = match st.resources.as_slice() {
        // A single-file model signed on disk names its one resource `.`.
        [only] if only.name == "." && layers.len() == 1 => verification::diff_resources(
            &[Resource {
                name: layers.first().map(|l| l.name.clone()).unwrap_or_default(),
                ..only.clone()
            }],
            &layers,
        ),
        _ => verification::diff_resources(&st.resources, &layers),
    };
    if diffs.is_empty() {
        Ok(format!(
            "{} layer digests match the signed resources",
            layers.len()
        ))
    } else {
        Err(diffs.join("; "))
    }
}

/// Checks one signature against the resolved manifest.
fn check_signature(
    store: &dyn Store,
    resolved: &Resolved,
    referrer: &Descriptor,
    trust: &TrustedKeys,
) -> Result<SignatureResult, oci::Error> {
    let mut result = SignatureResult {
        referrer: referrer.digest.clone(),
        verified: false,
        signer: None,
        binding: "none".into(),
        metadata: BTreeMap::new(),
        checks: Vec::new(),
        statement: None,
        bundle: None,
    };
    let bundle = match fetch_bundle(store, &resolved.repository, referrer) {
        Ok(Ok(b)) => b,
        Ok(Err(detail)) => {
            result.checks.push(CheckOutcome {
                name: "bundle".into(),
                passed: false,
                detail,
            });
            return Ok(result);
        }
        Err(e) if e.kind() == oci::ErrorKind::Verification => {
            result.checks.push(CheckOutcome {
                name: "bundle".into(),
                passed: false,
                detail: e.to_string(),
            });
            return Ok(result);
        }
        Err(e) => return Err(e),
    };
    result.signer = bundle
        .verification_material
        .public_key
        .as_ref()
        .map(|p| p.hint.clone());
    result.checks.push(CheckOutcome {
        name: "bundle".into(),
        passed: true,
        detail: format!("Sigstore bundle in referrer {}", referrer.digest),
    });
    let (st, report) = match verification::verify_bundle(&bundle, trust, Report::default()) {
        Ok(ok) => ok,
        Err(verification::Error::NotTrusted(r)) => {
            result.checks.extend(r.checks);
            return Ok(result);
        }
        Err(e) => {
            result.checks.push(CheckOutcome {
                name: "signature".into(),
                passed: false,
                detail: e.to_string(),
            });
            return Ok(result);
        }
    };
    result.signer = report.signer.clone();
    result.metadata = st.user_metadata();
    result.checks.extend(report.checks);
    // The signed manifest digest must be the one the tag resolved to.
    match st.annotations.get(statement::ANNOTATION_MANIFEST_DIGEST) {
        Some(d) if *d == resolved.descriptor.digest => {
            result.binding = "manifest".into();
            result.checks.push(CheckOutcome {
                name: "binding".into(),
                passed: true,
                detail: format!("signed manifest digest {d} is the resolved digest"),
            });
        }
        Some(d) => {
            result.checks.push(CheckOutcome {
                name: "binding".into(),
                passed: false,
                detail: format!(
                    "signature is for manifest {d}, but the reference resolves to {}",
                    resolved.descriptor.digest
                ),
            });
            return Ok(result);
        }
        None => {
            result.binding = "files".into();
            result.checks.push(CheckOutcome {
                name: "binding".into(),
                passed: true,
                detail: "bundle was signed on disk before the push: it binds the files, not this manifest".into(),
            });
        }
    }
    // Every layer digest must match the signed resources: no extra, no missing file.
    match check_layers(&st, &resolved.manifest) {
        Ok(detail) => result.checks.push(CheckOutcome {
            name: "layers".into(),
            passed: true,
            detail,
        }),
        Err(detail) => {
            result.checks.push(CheckOutcome {
                name: "layers".into(),
                passed: false,
                detail,
            });
            return Ok(result);
        }
    }
    result.verified = true;
    result.statement = Some(st);
    result.bundle = Some(bundle);
    Ok(result)
}

/// Verifies the chain for a reference. Passes when at least one signature from a trusted key
/// verifies completely; every signature found is reported.
pub fn verify_reference(
    store: &dyn Store,
    reference: &Reference,
    trust: &TrustedKeys,
) -> Result<(ChainReport, Resolved), Error> {
    verify_reference_with(store, reference, trust, None)
}

/// A trust policy to decide a chain with (`verify --policy`, `pull --policy`).
pub struct PolicyCheck<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// Ids of the keys given on the command line (trusted where the rule lists no signers).
    pub command_line_keys: BTreeSet<String>,
}

/// The policy scope of a reference: `host/repository` for a registry, the repository alone for
/// the local store (it has no host).
pub fn policy_scope(reference: &Reference) -> String {
    match reference.registry() {
        Some(host) => format!("{host}/{}", reference.repository()),
        None => reference.repository().to_owned(),
    }
}

/// Verifies the chain for a reference; with a policy, the policy decides instead of "one
/// trusted signature": its rule checks (`policy:*`) are reported after the per-signature checks
/// and all must pass. `trust` is the key material signatures are checked with.
pub fn verify_reference_with(
    store: &dyn Store,
    reference: &Reference,
    trust: &TrustedKeys,
    policy: Option<&PolicyCheck<'_>>,
) -> Result<(ChainReport, Resolved), Error> {
    let mut report = ChainReport {
        reference: reference.to_string(),
        digest: None,
        verified: false,
        checks: Vec::new(),
        signatures: Vec::new(),
    };
    let resolved = match resolve(store, reference) {
        Ok(r) => r,
        Err(e) if e.kind() == oci::ErrorKind::Verification => {
            return Err(report.fail("resolve", e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    report.digest = Some(resolved.descriptor.digest.clone());
    report.pass(
        "resolve",
        format!("{} -> {}", reference, resolved.descriptor.digest),
    );
    report.pass(
        "manifest",
        format!(
            "{} bytes, digest checked, {} layers with safe paths",
            resolved.descriptor.size,
            resolved.manifest.layers.len()
        ),
    );
    let referrers = store.referrers(
        &resolved.repository,
        &resolved.descriptor.digest,
        Some(BUNDLE_ARTIFACT_TYPE),
    )?;
    if referrers.is_empty() {
        return Err(report.fail(
            "referrers",
            format!(
                "no signature referrer for {}; sign it with `provenance sign {reference} --private-key KEY`",
                resolved.descriptor.digest
            ),
        ));
    }
    report.pass(
        "referrers",
        format!("{} signature referrer(s)", referrers.len()),
    );
    for r in &referrers {
        let result = check_signature(store, &resolved, r, trust)?;
        report.signatures.push(result);
    }
    let verified = report.signatures.iter().filter(|s| s.verified).count();
    if let Some(pc) = policy {
        let sigs: Vec<VerifiedSignature> = report
            .signatures
            .iter()
            .map(|s| VerifiedSignature {
                key_id: s.signer.clone().unwrap_or_default(),
                verified: s.verified,
                metadata: s.metadata.clone(),
            })
            .collect();
        let decision = pc
            .policy
            .decide(&policy_scope(reference), &pc.command_line_keys, &sigs);
        let passed = decision.passed();
        report.checks.extend(decision.checks);
        if !passed {
            report.verified = false;
            return Err(Error::NotTrusted(Box::new(report)));
        }
        report.verified = true;
        return Ok((report, resolved));
    }
    if verified == 0 {
        let why: Vec<String> = report
            .signatures
            .iter()
            .map(|s| {
                let c = s.checks.iter().find(|c| !c.passed);
                format!(
                    "{}: {} failed: {}",
                    s.referrer.get(..19).unwrap_or(&s.referrer),
                    c.map(|c| c.name.as_str()).unwrap_or("?"),
                    c.map(|c| c.detail.as_str()).unwrap_or("")
                )
            })
            .collect();
        return Err(report.fail(
            "trusted-signature",
            format!(
                "no signature from a trusted key verifies ({})",
                why.join("; ")
            ),
        ));
    }
    report.pass(
        "trusted-signature",
        format!(
            "{verified} of {} signature(s) verified",
            report.signatures.len()
        ),
    );
    report.verified = true;
    Ok((report, resolved))
}

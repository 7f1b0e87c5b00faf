//! The artifact steps, run only for a signature whose signer is trusted: the model's files on
//! disk (`model`), or the registry manifest (`binding`, `layers`).

use std::path::{Path, PathBuf};

use super::Error;
use super::check::{Check, Checks};
use crate::formats::statement::{self, Resource, SerializationMethod, Statement};
use crate::model;
use crate::oci::ModelManifest;

fn summarize(diffs: &[String]) -> String {
    let shown: Vec<_> = diffs.iter().take(5).cloned().collect();
    let more = diffs.len().saturating_sub(shown.len());
    let mut detail = shown.join("; ");
    if more > 0 {
        detail.push_str(&format!("; and {more} more"));
    }
    detail
}

/// How many resources hashing `listing` under `method` makes, or `None` past `limit`: the
/// statement's own parameters must not make us do more work than the model can need.
fn resource_count(
    listing: &model::Listing,
    method: &SerializationMethod,
    limit: usize,
) -> Option<usize> {
    let mut n: usize = 0;
    for f in &listing.files {
        let add = match method {
            SerializationMethod::Files => 1,
            SerializationMethod::Shards { shard_size } => {
                let s = (*shard_size).max(1);
                usize::try_from(f.size.div_ceil(s)).ok()?
            }
        };
        n = n.checked_add(add)?;
        if n > limit {
            return None;
        }
    }
    Some(n)
}

/// The `model` step: list the model as the signature's serialization and the verifier's own
/// options say (OMS §6.2, §8), and compare its rehashed resources with the signed ones. Before
/// hashing, the names and the number of pieces are compared, so a statement whose shard size or
/// resource list cannot fit this model costs no hashing at all.
pub fn check_files(
    st: &Statement,
    model_path: &Path,
    signature_path: Option<PathBuf>,
    options: &super::FileOptions,
    progress: &(dyn Fn(u64) + Sync),
    checks: &mut Checks,
) -> Result<bool, Error> {
    let ignore_unsigned = options.ignore_unsigned_files;
    let vo = model::verify_options(
        &st.serialization,
        &st.resources,
        &options.model,
        signature_path,
    );
    let mut listing = model::list(model_path, &vo.options)?;
    let tolerated = if ignore_unsigned {
        model::retain_signed(&mut listing, &st.resources)
    } else {
        Vec::new()
    };
    let method = &st.serialization.method;
    if let SerializationMethod::Files = method {
        // Names first: a file missing or unsigned needs no hashing to be reported.
        let listed: Vec<Resource> = listing
            .files
            .iter()
            .map(|f| Resource {
                name: f.name.clone(),
                algorithm: String::new(),
                digest: String::new(),
            })
            .collect();
        let by_name = model::compare(&st.resources, &listed);
        if !by_name.missing.is_empty() || !by_name.unsigned.is_empty() {
            let names = model::Comparison {
                changed: Vec::new(),
                ..by_name
            };
            checks.fail(Check::Model, summarize(&names.problems(false)));
            return Ok(false);
        }
    } else {
        let Some(pieces) = resource_count(&listing, method, st.resources.len()) else {
            checks.fail(
                Check::Model,
                format!(
                    "the statement's serialization ({}) would split this model ({} bytes in {} files) into more pieces than the {} resources it signs",
                    describe(method),
                    listing.total_bytes(),
                    listing.files.len(),
                    st.resources.len()
                ),
            );
            return Ok(false);
        };
        if pieces != st.resources.len() {
            checks.fail(
                Check::Model,
                format!(
                    "this model makes {pieces} shards of {}, the statement signs {}",
                    describe(method),
                    st.resources.len()
                ),
            );
            return Ok(false);
        }
    }
    let actual = model::resources(&listing, method, progress)?;
    let cmp = model::compare(&st.resources, &actual);
    if !cmp.matches(ignore_unsigned) {
        checks.fail(Check::Model, summarize(&cmp.problems(ignore_unsigned)));
        return Ok(false);
    }
    let mut notes: Vec<String> = vec![vo.explanation];
    notes.extend(
        tolerated
            .iter()
            .map(|n| format!("{n}: present but not signed (tolerated by --ignore-unsigned-files)")),
    );
    notes.extend(cmp.warnings(ignore_unsigned));
    notes.extend(listing.warnings.iter().cloned());
    checks.pass(
        Check::Model,
        format!(
            "{} resources ({}, {} bytes) match their signed SHA-256 digests; {}",
            actual.len(),
            describe(method),
            listing.total_bytes(),
            notes.join("; ")
        ),
    );
    Ok(true)
}

fn describe(method: &SerializationMethod) -> String {
    match method {
        SerializationMethod::Files => "files".to_string(),
        SerializationMethod::Shards { shard_size } => format!("shards of {shard_size} bytes"),
    }
}

/// The `binding` step: the statement must bind `digest` (signed by `sign REF`), or bind the
/// files only (signed on disk before the push). Returns the binding kind, `None` on failure.
pub fn check_binding(st: &Statement, digest: &str, checks: &mut Checks) -> Option<&'static str> {
    match st.annotations.get(statement::ANNOTATION_MANIFEST_DIGEST) {
        Some(d) if d == digest => {
            checks.pass(
                Check::Binding,
                format!("signed manifest digest {d} is the resolved digest"),
            );
            Some("manifest")
        }
        Some(d) => {
            checks.fail(
                Check::Binding,
                format!("signature is for manifest {d}, but the reference resolves to {digest}"),
            );
            None
        }
        None => {
            checks.pass(
                Check::Binding,
                "bundle was signed on disk before the push: it binds the files, not this manifest",
            );
            Some("files")
        }
    }
}

/// The `layers` step: every layer digest of the manifest equals a signed resource, none extra
/// or missing.
pub fn check_layers(st: &Statement, manifest: &ModelManifest, checks: &mut Checks) -> bool {
    match layers_match(st, manifest) {
        Ok(d) => {
            checks.pass(Check::Layers, d);
            true
        }
        Err(d) => {
            checks.fail(Check::Layers, d.to_string());
            false
        }
    }
}

/// Why a statement's resources do not match a manifest's layers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayersMismatch {
    /// Shard digests cannot be compared with whole-file layer digests.
    #[error(
        "statement uses the shards serialization; layer digests are whole-file digests, re-sign with the files method"
    )]
    Shards,
    /// Names or digests differ; the text lists how.
    #[error("{0}")]
    Differ(String),
}

/// The comparison behind [`check_layers`]: `Ok` carries the passing detail, `Err` what differs.
pub fn layers_match(st: &Statement, manifest: &ModelManifest) -> Result<String, LayersMismatch> {
    resources_match_layers(
        st,
        &crate::verify::reference::resources_from_layers(manifest),
    )
}

/// [`layers_match`] against layers given as resources (one per layer: its path and digest), so
/// `push --signature` can check the binding before anything is sent.
pub fn resources_match_layers(
    st: &Statement,
    layers: &[Resource],
) -> Result<String, LayersMismatch> {
    if st.serialization.method != SerializationMethod::Files {
        return Err(LayersMismatch::Shards);
    }
    let cmp = match st.resources.as_slice() {
        // A single-file model signed on disk names its one resource `.`.
        [only] if only.name == "." && layers.len() == 1 => model::compare(
            &[Resource {
                name: layers.first().map(|l| l.name.clone()).unwrap_or_default(),
                ..only.clone()
            }],
            layers,
        ),
        _ => model::compare(&st.resources, layers),
    };
    if cmp.matches(false) {
        Ok(format!(
            "{} layer digests match the signed resources",
            layers.len()
        ))
    } else {
        Err(LayersMismatch::Differ(summarize(&cmp.problems(false))))
    }
}

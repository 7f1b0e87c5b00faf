//! What an audit reads: signatures and models found under each source (files, folders,
//! registry repositories), paired by the `<model>.sig` rule.

use super::*;

/// Where bundle bytes come from.
pub(super) enum BundleBytes {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

/// A unit of work found by discovery.
pub(super) enum Item {
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
pub(super) fn repository_subject(reference: &str) -> String {
    let repo = repository_of(reference);
    repo.rsplit('/').next().unwrap_or(&repo).to_owned()
}

pub(super) fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(super) fn is_signature_name(name: &str) -> bool {
    name.ends_with(".sig") || name.ends_with(".json")
}

pub(super) fn is_claimed_signature_name(name: &str) -> bool {
    name.ends_with(".sig") || name.ends_with(".sigstore.json")
}

pub(super) fn is_weight_name(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| WEIGHT_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// The model a signature file sits beside: `m.pt.sig` -> `m.pt`, if it exists.
pub(super) fn model_beside(sig: &Path) -> Option<PathBuf> {
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
pub(super) fn sig_beside(model: &Path) -> PathBuf {
    crate::model::signature_path(model)
}

pub(super) fn discover(source: &AuditSource, items: &mut Vec<Item>, skipped: &mut Vec<Skipped>) {
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

pub(super) fn model_item(model: &Path, items: &mut Vec<Item>) {
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
pub(super) fn walk(dir: &Path, items: &mut Vec<Item>, skipped: &mut Vec<Skipped>) {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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

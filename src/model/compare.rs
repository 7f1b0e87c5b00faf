//! The signed resources compared with the model on disk: keeping only signed files
//! (`--ignore-unsigned-files`) and the missing, changed and unsigned resources.

use std::collections::HashSet;

use super::Listing;
use crate::formats::statement::Resource;

/// For `--ignore-unsigned-files`: keeps in `listing` only the files the signature lists (so
/// unsigned files are neither hashed nor able to fail the hashing) and returns the names of the
/// files dropped, which the caller must report. Shard names (`path:start:end`) count for their
/// file.
pub fn retain_signed(listing: &mut Listing, signed: &[Resource]) -> Vec<String> {
    let names: HashSet<&str> = signed
        .iter()
        .map(
            |r| match r.name.rsplitn(3, ':').collect::<Vec<_>>().as_slice() {
                [end, start, path]
                    if end.bytes().all(|b| b.is_ascii_digit())
                        && start.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    *path
                }
                _ => r.name.as_str(),
            },
        )
        .collect();
    let mut dropped = Vec::new();
    listing.files.retain(|f| {
        let keep = names.contains(f.name.as_str());
        if !keep {
            dropped.push(f.name.clone());
        }
        keep
    });
    dropped
}

/// The signed resources compared with the model on disk.
///
/// `verify --ignore-unsigned-files` tolerates [`Comparison::unsigned`] (files on disk the
/// signature does not list) but still reports them; missing or changed files always fail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Signed resources not found on disk.
    pub missing: Vec<String>,
    /// Resources whose digest differs: (name, signed digest, digest on disk).
    pub changed: Vec<(String, String, String)>,
    /// Files on disk the signature does not list.
    pub unsigned: Vec<String>,
}

impl Comparison {
    /// True when the model matches: nothing missing or changed, and no unsigned file unless
    /// `ignore_unsigned_files`.
    pub fn matches(&self, ignore_unsigned_files: bool) -> bool {
        self.missing.is_empty()
            && self.changed.is_empty()
            && (ignore_unsigned_files || self.unsigned.is_empty())
    }

    /// One line per failing difference, for the `model` check's detail (unsigned files are
    /// listed only when they fail, i.e. without `ignore_unsigned_files`).
    pub fn problems(&self, ignore_unsigned_files: bool) -> Vec<String> {
        let mut out: Vec<String> = self
            .missing
            .iter()
            .map(|n| format!("{n}: signed but missing"))
            .collect();
        out.extend(
            self.changed.iter().map(|(n, want, have)| {
                format!("{n}: digest mismatch (signed {want}, found {have})")
            }),
        );
        if !ignore_unsigned_files {
            out.extend(
                self.unsigned
                    .iter()
                    .map(|n| format!("{n}: present but not signed")),
            );
        }
        out
    }

    /// Warnings to print when unsigned files were tolerated (never silent).
    pub fn warnings(&self, ignore_unsigned_files: bool) -> Vec<String> {
        if !ignore_unsigned_files {
            return Vec::new();
        }
        self.unsigned
            .iter()
            .map(|n| format!("{n}: present but not signed (tolerated by --ignore-unsigned-files)"))
            .collect()
    }
}

/// Compares the signed resources with those computed on disk, by name.
pub fn compare(signed: &[Resource], actual: &[Resource]) -> Comparison {
    use std::collections::BTreeMap;
    let want: BTreeMap<&str, &str> = signed
        .iter()
        .map(|r| (r.name.as_str(), r.digest.as_str()))
        .collect();
    let have: BTreeMap<&str, &str> = actual
        .iter()
        .map(|r| (r.name.as_str(), r.digest.as_str()))
        .collect();
    let mut c = Comparison::default();
    for (name, digest) in &want {
        match have.get(name) {
            None => c.missing.push((*name).to_owned()),
            Some(d) if !d.eq_ignore_ascii_case(digest) => {
                c.changed
                    .push(((*name).to_owned(), (*digest).to_owned(), (*d).to_owned()))
            }
            _ => {}
        }
    }
    c.unsigned = have
        .keys()
        .filter(|n| !want.contains_key(*n))
        .map(|n| (*n).to_owned())
        .collect();
    c
}
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::model::{Options, list};

    #[test]
    fn ignore_unsigned_files_keeps_only_signed_files_and_reports_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        std::fs::create_dir_all(&m).unwrap();
        for f in ["a", "b", "extra"] {
            std::fs::write(m.join(f), f).unwrap();
        }
        let mut l = list(&m, &Options::default()).unwrap();
        let signed: Vec<Resource> = ["a:0:1", "b"]
            .iter()
            .map(|n| Resource {
                name: (*n).into(),
                algorithm: "sha256".into(),
                digest: "00".repeat(32),
            })
            .collect();
        assert_eq!(retain_signed(&mut l, &signed), ["extra"]);
        assert_eq!(l.files.len(), 2);
        // And compare() tolerates, but reports, unsigned files.
        let actual = |n: &str| Resource {
            name: n.into(),
            algorithm: "sha256".into(),
            digest: "00".repeat(32),
        };
        let c = compare(&signed[1..], &[actual("b"), actual("extra")]);
        assert!(!c.matches(false) && c.matches(true));
        assert_eq!(c.warnings(true).len(), 1);
        assert_eq!(c.problems(false), ["extra: present but not signed"]);
    }
}

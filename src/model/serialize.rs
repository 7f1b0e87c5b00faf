//! Serialization of a listed model (`files` or `shards`): the predicate's parameters, the
//! hashing jobs and the resulting sorted resources.

use super::{Error, Listing};
use crate::formats::statement::{Resource, Serialization, SerializationMethod, resource_sort_key};
use crate::hashing::{self, Job};

/// The serialization parameters recorded in the predicate for a listing.
pub fn serialization_for(listing: &Listing, method: SerializationMethod) -> Serialization {
    Serialization {
        method,
        hash_type: "sha256".into(),
        allow_symlinks: listing.allow_symlinks,
        ignore_paths: listing.ignore_paths.clone(),
    }
}

/// The hashing jobs for a listing under a method, with the resource name of each.
pub fn jobs(listing: &Listing, method: &SerializationMethod) -> Vec<(String, Job)> {
    let mut out = Vec::new();
    for f in &listing.files {
        match method {
            SerializationMethod::Files => out.push((
                f.name.clone(),
                Job {
                    path: f.path.clone(),
                    start: 0,
                    end: f.size,
                    file_size: f.size,
                },
            )),
            SerializationMethod::Shards { shard_size } => {
                // Empty files have no shards, as in model_signing.
                let step = (*shard_size).max(1);
                let mut start = 0;
                while start < f.size {
                    let end = (start + step).min(f.size);
                    out.push((
                        format!("{}:{start}:{end}", f.name),
                        Job {
                            path: f.path.clone(),
                            start,
                            end,
                            file_size: f.size,
                        },
                    ));
                    start = end;
                }
            }
        }
    }
    out.sort_by_cached_key(|(name, _)| resource_sort_key(name));
    out
}

/// Hashes a listed model into its sorted resources. Every file is hashed even when one fails; the
/// first failure is returned (after all work stops), so a changed file is reported by name.
pub fn resources(
    listing: &Listing,
    method: &SerializationMethod,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Resource>, Error> {
    if let SerializationMethod::Shards { shard_size: 0 } = method {
        return Err(Error::BadShardSize);
    }
    // model_signing names shard digests `sha256-sharded-<size>`; match it byte for byte.
    let algorithm = match method {
        SerializationMethod::Files => "sha256".to_owned(),
        SerializationMethod::Shards { shard_size } => format!("sha256-sharded-{shard_size}"),
    };
    let jobs = jobs(listing, method);
    let work: Vec<Job> = jobs.iter().map(|(_, j)| j.clone()).collect();
    let digests = hashing::hash_all(&work, progress);
    let mut out = Vec::with_capacity(jobs.len());
    for ((name, _), digest) in jobs.into_iter().zip(digests) {
        out.push(Resource {
            name,
            algorithm: algorithm.clone(),
            digest: hex::encode(digest?),
        });
    }
    Ok(out)
}
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::model::{Options, list};

    #[test]
    fn sorts_by_path_components_like_model_signing() {
        let mut names = vec!["a-c", "a-b/c", "a/b"];
        names.sort_by_key(|n| resource_sort_key(n));
        assert_eq!(names, ["a/b", "a-b/c", "a-c"]);
        let mut shards = vec!["f:10:20", "f:2:10", "f:0:2"];
        shards.sort_by_key(|n| resource_sort_key(n));
        assert_eq!(shards, ["f:0:2", "f:2:10", "f:10:20"]);
    }
    #[test]
    fn same_model_twice_gives_the_same_resources() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        for i in 0..20 {
            let p = m.join(format!("d{}/f{i}", i % 3));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, format!("{i}")).unwrap();
        }
        let once = |_: ()| {
            let l = list(&m, &Options::default()).unwrap();
            resources(&l, &SerializationMethod::Files, &|_| {}).unwrap()
        };
        assert_eq!(once(()), once(()));
    }
    #[test]
    fn shards_cover_each_file_exactly() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), vec![0u8; 25]).unwrap();
        std::fs::write(dir.path().join("e"), b"").unwrap();
        let l = list(dir.path(), &Options::default()).unwrap();
        let names: Vec<_> = jobs(&l, &SerializationMethod::Shards { shard_size: 10 })
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["a:0:10", "a:10:20", "a:20:25"]);
    }
}

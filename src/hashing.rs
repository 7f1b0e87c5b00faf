//! Streaming, parallel SHA-256 of files and file ranges (shards): the hot path.
//!
//! Each job reads its range in fixed chunks ([`CHUNK_SIZE`]), so memory stays at one buffer per
//! worker thread whatever the model's size. Jobs run on rayon's pool (one thread per core); SHA-256
//! uses the CPU's SHA extensions where present (the `sha2` crate detects them at run time).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// Bytes read per `read` call; one such buffer per worker thread at most.
///
/// 64 KiB, not 1 MiB: a buffer this size stays in the core's L2 cache between the kernel's copy
/// and the hash, and stays below glibc's mmap threshold (128 KiB), so it lives on the heap. With
/// a 1 MiB (mmap-backed) buffer the kernel's copy cost three times the system time and the whole
/// loop ran ~30% slower on a warm page cache (measured: `benches/hashing.rs`, `scripts/bench`).
/// The extra `read` calls cost about 1 ms per GiB.
pub const CHUNK_SIZE: usize = 64 << 10;

/// Errors while hashing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file's size changed between listing and hashing, or while it was read.
    #[error(
        "{path} changed size while being hashed (expected {expected} bytes, found {found}); wait until the writer has finished, then run again"
    )]
    FileChanged {
        /// The file.
        path: PathBuf,
        /// Size when the model was listed.
        expected: u64,
        /// Size seen while hashing.
        found: u64,
    },
}

impl Error {
    /// Exit-code class: a file that changes under us is bad input (2); read failures are environment (3).
    pub fn class(&self) -> crate::Class {
        match self {
            Error::FileChanged { .. } => crate::Class::Input,
            Error::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                crate::Class::Input
            }
            Error::Read { .. } => crate::Class::Environment,
        }
    }
}

/// One unit of hashing work: bytes `start..end` of a file whose size was `file_size` when listed.
#[derive(Clone, Debug)]
pub struct Job {
    /// The file to read.
    pub path: PathBuf,
    /// First byte (inclusive).
    pub start: u64,
    /// Last byte (exclusive).
    pub end: u64,
    /// File size recorded when the model was listed; a different size at hashing time is an error.
    pub file_size: u64,
}

/// A raw SHA-256 digest.
pub type Sha256Digest = [u8; 32];

/// Hashes one range of one file, streaming in [`CHUNK_SIZE`] chunks.
pub fn hash_job(job: &Job, progress: &(dyn Fn(u64) + Sync)) -> Result<Sha256Digest, Error> {
    let read_err = |source| Error::Read {
        path: job.path.clone(),
        source,
    };
    let changed = |found| Error::FileChanged {
        path: job.path.clone(),
        expected: job.file_size,
        found,
    };
    // No size check before reading: a file that grew is caught by the check after reading, one
    // that shrank by a short read; that saves a `stat` per file, which counts for many small files.
    let mut file = File::open(&job.path).map_err(read_err)?;
    if job.start > 0 {
        file.seek(SeekFrom::Start(job.start)).map_err(read_err)?;
    }
    let want = job.end.saturating_sub(job.start);
    let buf_len = usize::try_from(want.min(CHUNK_SIZE as u64)).unwrap_or(CHUNK_SIZE);
    let mut buf = vec![0u8; buf_len.max(1)];
    let mut hasher = Sha256::new();
    let mut left = want;
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let chunk = buf.get_mut(..n).unwrap_or_default();
        let got = file.read(chunk).map_err(read_err)?;
        if got == 0 {
            // The file shrank under us.
            let now = file.metadata().map(|m| m.len()).unwrap_or(0);
            return Err(changed(now));
        }
        hasher.update(chunk.get(..got).unwrap_or_default());
        left -= got as u64;
        progress(got as u64);
    }
    let now = file.metadata().map_err(read_err)?.len();
    if now != job.file_size {
        return Err(changed(now));
    }
    Ok(hasher.finalize().into())
}

/// Hashes all jobs in parallel on all cores; results are in job order. Every job runs even if one
/// fails, so the caller can report each failure.
pub fn hash_all(jobs: &[Job], progress: &(dyn Fn(u64) + Sync)) -> Vec<Result<Sha256Digest, Error>> {
    jobs.par_iter()
        .with_max_len(1)
        .map(|job| hash_job(job, progress))
        .collect()
}

/// SHA-256 of a whole file, streamed (used for blobs and small inputs).
pub fn hash_file(path: &Path) -> Result<Sha256Digest, Error> {
    let size = std::fs::metadata(path)
        .map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?
        .len();
    hash_job(
        &Job {
            path: path.to_owned(),
            start: 0,
            end: size,
            file_size: size,
        },
        &|_| {},
    )
}

/// SHA-256 of bytes in memory.
pub fn sha256(bytes: &[u8]) -> Sha256Digest {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use std::io::Write;

    #[test]
    fn range_hash_matches_slice_hash() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::File::create(&p).unwrap().write_all(&data).unwrap();
        let job = Job {
            path: p.clone(),
            start: 1_000_000,
            end: 2_500_000,
            file_size: data.len() as u64,
        };
        assert_eq!(
            hash_job(&job, &|_| {}).unwrap(),
            sha256(&data[1_000_000..2_500_000])
        );
        assert_eq!(hash_file(&p).unwrap(), sha256(&data));
    }

    #[test]
    fn detects_size_change_since_listing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello").unwrap();
        let job = Job {
            path: p,
            start: 0,
            end: 4,
            file_size: 4,
        };
        assert!(matches!(
            hash_job(&job, &|_| {}),
            Err(Error::FileChanged { found: 5, .. })
        ));
    }
}

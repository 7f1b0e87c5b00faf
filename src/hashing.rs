//! Streaming, parallel SHA-256 of files and file ranges (shards): the hot path.
//!
//! Each job reads its range in fixed chunks ([`CHUNK_SIZE`]), so memory stays at one buffer per
//! worker thread whatever the model's size. Jobs run on rayon's pool (one thread per core); SHA-256
//! uses the CPU's SHA extensions where present (the `sha2` crate detects them at run time). When
//! there are fewer jobs than cores (one big file under the `files` method), a big job reads ahead
//! on a second thread with a fixed 5 MiB of buffers, so the page-cache copy leaves the hashing core.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// Bytes read per `read` call; one such buffer per worker thread (pipelined jobs: see [`PIPELINE_MIN`]).
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

/// Ranges at least this long may be read on a second thread while this one hashes.
pub const PIPELINE_MIN: u64 = 16 << 20;

/// Chunks per hand-off between the reader thread and the hashing thread (16 x 64 KiB = 1 MiB), so
/// the threads meet about once per MiB, not once per read.
const BATCH: usize = 16;

/// Batches in flight between the reader and the hasher: memory for one pipelined job is
/// `(PIPELINE_DEPTH + 1) * BATCH * CHUNK_SIZE` = 5 MiB.
const PIPELINE_DEPTH: usize = 4;

/// Hashes one range of one file, streaming in [`CHUNK_SIZE`] chunks on this thread.
pub fn hash_job(job: &Job, progress: &(dyn Fn(u64) + Sync)) -> Result<Sha256Digest, Error> {
    hash_job_with(job, false, progress)
}

/// Hashes one range of one file. With `pipeline` (and a range of at least [`PIPELINE_MIN`]), a
/// second thread reads ahead while this one hashes: SHA-256 of one file cannot be split across
/// cores, but the copy out of the page cache can move off the hashing core. Use it when cores
/// would otherwise sit idle (fewer jobs than threads).
pub fn hash_job_with(
    job: &Job,
    pipeline: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Sha256Digest, Error> {
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
    let mut hasher = Sha256::new();
    let complete = if pipeline && want >= PIPELINE_MIN {
        read_pipelined(&mut file, want, &mut hasher, progress)
    } else {
        read_inline(&mut file, want, &mut hasher, progress)
    }
    .map_err(read_err)?;
    let now = file.metadata().map_err(read_err)?.len();
    if !complete || now != job.file_size {
        // A short read means the file shrank under us; a different size now, that it changed.
        return Err(changed(now));
    }
    Ok(hasher.finalize().into())
}

/// Reads `want` bytes into the hasher on this thread; false if the file ended early.
fn read_inline(
    file: &mut File,
    want: u64,
    hasher: &mut Sha256,
    progress: &(dyn Fn(u64) + Sync),
) -> std::io::Result<bool> {
    let buf_len = usize::try_from(want.min(CHUNK_SIZE as u64)).unwrap_or(CHUNK_SIZE);
    let mut buf = vec![0u8; buf_len.max(1)];
    let mut left = want;
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let chunk = buf.get_mut(..n).unwrap_or_default();
        let got = file.read(chunk)?;
        if got == 0 {
            return Ok(false);
        }
        hasher.update(chunk.get(..got).unwrap_or_default());
        left -= got as u64;
        progress(got as u64);
    }
    Ok(true)
}

/// A batch of chunks and how many bytes each holds.
type Batch = Vec<(Box<[u8]>, usize)>;

/// Reads `want` bytes on a scoped reader thread and hashes them on this one, handing over batches
/// of [`BATCH`] heap chunks through bounded channels (buffers are recycled, so memory is fixed).
/// False if the file ended early.
fn read_pipelined(
    file: &mut File,
    want: u64,
    hasher: &mut Sha256,
    progress: &(dyn Fn(u64) + Sync),
) -> std::io::Result<bool> {
    use std::sync::mpsc;
    let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(PIPELINE_DEPTH);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
    for _ in 0..=PIPELINE_DEPTH {
        let batch: Batch = (0..BATCH)
            .map(|_| (vec![0u8; CHUNK_SIZE].into_boxed_slice(), 0))
            .collect();
        // The receiver is alive here; a failed send would only mean fewer buffers in flight.
        let _ = empty_tx.send(batch);
    }
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> std::io::Result<bool> {
            let mut left = want;
            while left > 0 {
                let Ok(mut batch) = empty_rx.recv() else {
                    return Ok(true); // the hasher stopped; nothing more to do
                };
                let mut short = false;
                for (buf, len) in &mut batch {
                    *len = 0;
                    if left == 0 || short {
                        continue;
                    }
                    let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
                    let got = file.read(buf.get_mut(..n).unwrap_or_default())?;
                    if got == 0 {
                        short = true;
                    }
                    *len = got;
                    left -= got as u64;
                }
                if full_tx.send(batch).is_err() {
                    return Ok(true);
                }
                if short {
                    return Ok(false);
                }
            }
            Ok(true)
        });
        for batch in full_rx.iter() {
            for (buf, len) in &batch {
                hasher.update(buf.get(..*len).unwrap_or_default());
                progress(*len as u64);
            }
            let _ = empty_tx.send(batch);
        }
        reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the reader thread panicked")))
    })
}

/// Hashes all jobs in parallel on all cores; results are in job order. Every job runs even if one
/// fails, so the caller can report each failure. With fewer jobs than threads (one big file), big
/// jobs read ahead on a second thread.
pub fn hash_all(jobs: &[Job], progress: &(dyn Fn(u64) + Sync)) -> Vec<Result<Sha256Digest, Error>> {
    let pipeline = jobs.len() < rayon::current_num_threads();
    jobs.par_iter()
        .with_max_len(1)
        .map(|job| hash_job_with(job, pipeline, progress))
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
    let pipeline = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    hash_job_with(
        &Job {
            path: path.to_owned(),
            start: 0,
            end: size,
            file_size: size,
        },
        pipeline,
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
    fn pipelined_read_matches_inline_and_detects_shrink() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let len = PIPELINE_MIN as usize + 3 * CHUNK_SIZE + 17;
        let data: Vec<u8> = (0..len as u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let job = Job {
            path: p.clone(),
            start: 5,
            end: len as u64,
            file_size: len as u64,
        };
        let seen = std::sync::atomic::AtomicU64::new(0);
        let count = |n| {
            seen.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        };
        assert_eq!(
            hash_job_with(&job, true, &count).unwrap(),
            sha256(&data[5..])
        );
        assert_eq!(seen.into_inner(), len as u64 - 5);
        assert_eq!(
            hash_job_with(&job, false, &|_| {}).unwrap(),
            sha256(&data[5..])
        );
        // Listed longer than it is now: the pipelined reader meets the end early.
        let longer = Job {
            end: len as u64 + 100,
            file_size: len as u64 + 100,
            ..job
        };
        assert!(matches!(
            hash_job_with(&longer, true, &|_| {}),
            Err(Error::FileChanged { found, .. }) if found == len as u64
        ));
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

//! The one bounded reader and the one atomic writer. Reads of files a user names (keys,
//! signatures, policies, revocation lists) go through [`read_bounded`]: regular files only, never
//! more than a named bound. Writes go through [`write_atomic`]: a temp file in the target's
//! folder, fsync, then rename, so a crash or a full disk never leaves a half-written key or
//! signature behind.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

/// Why a bounded read failed.
#[derive(Debug)]
pub enum BoundedReadError {
    /// More than the bound.
    TooLarge,
    /// I/O error.
    Io(std::io::Error),
}

/// Reads at most `limit` bytes of a file; more is an error, never a truncation.
///
/// Only regular files (or symlinks to them) are read: a FIFO, socket or device given as a key,
/// signature or policy is refused as [`not_regular`] (an `InvalidInput` I/O error) before it
/// could block the process or stream without end. The type is checked on the path, the file is
/// then opened non-blocking and checked again on the open handle, so a swap between the two
/// checks cannot slip a FIFO in either.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, BoundedReadError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let meta = std::fs::metadata(path).map_err(BoundedReadError::Io)?;
    if !meta.is_file() {
        return Err(BoundedReadError::Io(not_regular(path)));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(BoundedReadError::Io)?;
    if !file.metadata().map_err(BoundedReadError::Io)?.is_file() {
        return Err(BoundedReadError::Io(not_regular(path)));
    }
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(BoundedReadError::Io)?;
    if buf.len() as u64 > limit {
        return Err(BoundedReadError::TooLarge);
    }
    Ok(buf)
}

/// The error [`read_bounded`] returns for a path that is not a regular file.
pub fn not_regular(path: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "{} is not a regular file (a FIFO, socket, device or folder); pass a file",
            path.display()
        ),
    )
}

/// True when an I/O error is [`read_bounded`]'s refusal of a non-regular file (an input error,
/// not an environment one).
pub fn is_not_regular(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::InvalidInput
}

/// Writes `bytes` to `path` atomically. With `overwrite` false, an existing file is never replaced
/// (the rename is a no-clobber link, so a race cannot replace it either). `mode` sets Unix permissions
/// before any byte is written.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    mode: Option<u32>,
    overwrite: bool,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("folder {} does not exist", dir.display()),
        ));
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".provenance-tmp-")
        .tempfile_in(dir)?;
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    if overwrite {
        tmp.persist(path).map_err(|e| e.error)?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| e.error)?;
    }
    Ok(())
}

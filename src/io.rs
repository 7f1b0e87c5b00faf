//! Atomic file writes: a temp file in the target's folder, fsync, then rename, so a crash or a full
//! disk never leaves a half-written key or signature behind.

use std::fs;
use std::io::Write;
use std::path::Path;

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

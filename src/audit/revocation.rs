//! Revoked keys: from `--revoked KEY_OR_KEYID`, a revocation list file, or a policy.
//!
//! A revocation list has one key per line: `<key id or public key path> [RFC 3339 revocation time]`;
//! `#` starts a comment, blank lines are ignored. Relative key paths are read relative to the list's
//! folder. A line that is neither a key id nor a readable public key, has a bad time or extra fields
//! is an error naming the line (exit 2): a revocation that silently does not apply is worse than none.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Error;
use crate::keys::{self, PublicKey};
use crate::trust::policy::is_key_id;

/// Revocation lists are small; larger files are refused before parsing.
pub const MAX_REVOCATION_LIST_SIZE: u64 = 4 * 1024 * 1024;

/// One revoked key.
#[derive(Clone, Debug)]
pub struct Revocation {
    /// Key id (lower-case hex SHA-256 of the PEM public key).
    pub key_id: String,
    /// The key itself, when given as a file: then its signatures can be checked, not only named.
    pub key: Option<PublicKey>,
    /// When it was revoked, if stated.
    pub revoked_at: Option<OffsetDateTime>,
    /// Where the revocation came from (for findings).
    pub source: String,
}

impl Revocation {
    /// From `--revoked`: a 64-hex key id (unless a file of that name exists) or a public key file.
    pub fn from_arg(arg: &str) -> Result<Self, Error> {
        if is_key_id(arg) && !Path::new(arg).exists() {
            return Ok(Self {
                key_id: arg.to_ascii_lowercase(),
                key: None,
                revoked_at: None,
                source: "--revoked".into(),
            });
        }
        let key = keys::load_public_key(Path::new(arg))?;
        Ok(Self {
            key_id: key.id().to_owned(),
            key: Some(key),
            revoked_at: None,
            source: format!("--revoked {arg}"),
        })
    }
}

/// Reads a revocation list file.
pub fn read_list(path: &Path) -> Result<Vec<Revocation>, Error> {
    let bytes = crate::io::read_bounded(path, MAX_REVOCATION_LIST_SIZE).map_err(|e| {
        let detail = match e {
            crate::io::BoundedReadError::TooLarge => {
                format!("larger than {MAX_REVOCATION_LIST_SIZE} bytes")
            }
            crate::io::BoundedReadError::Io(e) => e.to_string(),
        };
        Error::RevocationList {
            path: path.to_owned(),
            line: None,
            detail,
        }
    })?;
    let text = String::from_utf8(bytes).map_err(|_| Error::RevocationList {
        path: path.to_owned(),
        line: None,
        detail: "not UTF-8 text".into(),
    })?;
    parse_list(&text, path)
}

/// Parses revocation list text; `origin` names it in errors and anchors relative key paths.
pub fn parse_list(text: &str, origin: &Path) -> Result<Vec<Revocation>, Error> {
    let base = origin.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let bad = |detail: String| Error::RevocationList {
            path: origin.to_owned(),
            line: Some(line),
            detail,
        };
        let content = raw.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        let fields: Vec<&str> = content.split_whitespace().collect();
        let (who, when) = match fields.as_slice() {
            [who] => (*who, None),
            [who, when] => (*who, Some(*when)),
            _ => {
                return Err(bad(format!(
                    "expected `<key id or public key path> [RFC 3339 time]`, found {} fields",
                    fields.len()
                )));
            }
        };
        let revoked_at = when
            .map(|w| {
                OffsetDateTime::parse(w, &Rfc3339).map_err(|e| {
                    bad(format!(
                        "`{w}` is not an RFC 3339 time such as 2025-01-31T12:00:00Z ({e})"
                    ))
                })
            })
            .transpose()?;
        let key_path: PathBuf = if Path::new(who).is_absolute() {
            PathBuf::from(who)
        } else {
            base.join(who)
        };
        let (key_id, key) = if is_key_id(who) && !key_path.exists() {
            (who.to_ascii_lowercase(), None)
        } else if key_path.exists() {
            let key = keys::load_public_key(&key_path)
                .map_err(|e| bad(format!("cannot load public key: {e}")))?;
            (key.id().to_owned(), Some(key))
        } else {
            return Err(bad(format!(
                "`{who}` is neither a key id (64 hex characters) nor an existing public key file"
            )));
        };
        out.push(Revocation {
            key_id,
            key,
            revoked_at,
            source: format!("{} line {line}", origin.display()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn parses_ids_times_and_comments() {
        let id = "a".repeat(64);
        let list = parse_list(
            &format!("# revoked after the leak\n\n{id} 2025-01-31T12:00:00Z  # laptop\n"),
            Path::new("r.txt"),
        )
        .unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].key_id, id);
        assert!(list[0].revoked_at.is_some());
    }

    #[test]
    fn names_the_malformed_line() {
        let id = "a".repeat(64);
        let e = parse_list(&format!("{id}\n{id} yesterday\n"), Path::new("r.txt")).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = parse_list("nope\n", Path::new("r.txt")).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }
}

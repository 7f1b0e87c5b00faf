//! Image references as docker and oras users write them: `[host[:port]/]repo[:tag|@sha256:<hex>]`.

use std::fmt;

use super::error::{Error, Result};

/// The tag a reference without tag or digest points to.
pub const DEFAULT_TAG: &str = "latest";

/// A parsed reference. Without a registry host it names a repository in the local store.
///
/// The first path component is a host when it contains `.` or `:` or is `localhost` (docker's
/// rule), so `models/bert:v1` is local and `localhost:5000/models/bert:v1` is remote. Repository
/// names follow the distribution spec grammar (lowercase components separated by `/`); tags are
/// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`; only `sha256` digests are accepted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: Option<String>,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Reference {
    /// Parse a reference string; errors are [`Error::InvalidReference`] (exit 2).
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidReference {
            reference: s.to_string(),
            reason: reason.to_string(),
        };
        if s.is_empty() {
            return Err(bad("empty reference"));
        }
        if s.len() > 4096 {
            return Err(bad("reference is too long"));
        }
        let (name_tag, digest) = match s.rsplit_once('@') {
            Some((n, d)) => {
                validate_digest(d).map_err(|_| bad("digest must be sha256:<64 lowercase hex>"))?;
                (n, Some(d.to_string()))
            }
            None => (s, None),
        };
        let (registry, rest) = match name_tag.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                validate_host(first).map_err(|r| bad(&r))?;
                (Some(first.to_string()), rest)
            }
            _ => (None, name_tag),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match rest.rfind(':') {
            Some(i) if i >= last_slash => {
                let (r, t) = rest.split_at(i);
                (r, Some(t.trim_start_matches(':').to_string()))
            }
            _ => (rest, None),
        };
        validate_repository(repository).map_err(|r| bad(&r))?;
        if let Some(t) = &tag {
            validate_tag(t).map_err(|r| bad(&r))?;
        }
        if registry.as_deref().map_or(0, str::len) + repository.len() > 255 {
            return Err(bad("name is longer than 255 characters"));
        }
        Ok(Reference {
            registry,
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// The registry host (`host[:port]`), or `None` for the local store.
    pub fn registry(&self) -> Option<&str> {
        self.registry.as_deref()
    }

    /// The repository name, e.g. `models/bert`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag as written, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest as written, if any (`sha256:<hex>`).
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// What to resolve in the repository: the digest if given, else the tag, else `latest`.
    pub fn target(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or(DEFAULT_TAG)
    }

    /// The tag to write on push: the tag if given, else `latest`.
    pub fn tag_or_default(&self) -> &str {
        self.tag.as_deref().unwrap_or(DEFAULT_TAG)
    }
}

impl std::str::FromStr for Reference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.registry {
            write!(f, "{r}/")?;
        }
        f.write_str(&self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Check a `sha256:<64 lowercase hex>` digest (the only algorithm we accept).
pub fn validate_digest(d: &str) -> Result<()> {
    let ok = d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    if ok {
        Ok(())
    } else {
        Err(Error::malformed(
            "digest",
            format!("{d:?} is not sha256:<64 lowercase hex>"),
        ))
    }
}

fn validate_host(h: &str) -> std::result::Result<(), String> {
    let ok = !h.is_empty()
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid registry host {h:?}"))
    }
}

/// Check a repository name against the distribution spec grammar
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
pub fn validate_repository(repo: &str) -> std::result::Result<(), String> {
    if repo.is_empty() {
        return Err("empty repository name".into());
    }
    for comp in repo.split('/') {
        let bytes = comp.as_bytes();
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if !bytes.first().is_some_and(alnum) || !bytes.last().is_some_and(alnum) {
            return Err(format!(
                "repository component {comp:?} must start and end with a lowercase letter or digit"
            ));
        }
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if alnum(&b) {
                i += 1;
                continue;
            }
            // a separator run: `.`, `_`, `__` or `-+`
            let start = i;
            while bytes.get(i).is_some_and(|b| !alnum(b)) {
                i += 1;
            }
            let sep = bytes.get(start..i).unwrap_or_default();
            let ok = matches!(sep, b"." | b"_" | b"__") || sep.iter().all(|&b| b == b'-');
            if !ok {
                return Err(format!(
                    "repository {repo:?} has an invalid character or separator (lowercase letters, digits, '.', '_', '__', '-' only)"
                ));
            }
        }
    }
    Ok(())
}

/// Check a tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn validate_tag(t: &str) -> std::result::Result<(), String> {
    let b = t.as_bytes();
    let ok = (1..=128).contains(&b.len())
        && b.first()
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid tag {t:?} ([A-Za-z0-9_][A-Za-z0-9._-]{{0,127}})"
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn local_reference_has_no_registry() {
        let r = Reference::parse("models/bert:v1").unwrap();
        assert_eq!(r.registry(), None);
        assert_eq!(r.repository(), "models/bert");
        assert_eq!(r.tag(), Some("v1"));
        assert_eq!(r.target(), "v1");
    }

    #[test]
    fn host_is_recognised_by_dot_colon_or_localhost() {
        let r = Reference::parse("localhost:5000/models/bert:v1").unwrap();
        assert_eq!(r.registry(), Some("localhost:5000"));
        assert_eq!(r.repository(), "models/bert");
        let r = Reference::parse("localhost/m").unwrap();
        assert_eq!(r.registry(), Some("localhost"));
        assert_eq!(r.target(), "latest");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("ghcr.io/org/m@{d}")).unwrap();
        assert_eq!(r.registry(), Some("ghcr.io"));
        assert_eq!(r.digest(), Some(d.as_str()));
        assert_eq!(r.target(), d);
        let r = Reference::parse("127.0.0.1:5000/a/b:c").unwrap();
        assert_eq!(r.registry(), Some("127.0.0.1:5000"));
        assert_eq!(r.to_string(), "127.0.0.1:5000/a/b:c");
    }

    #[test]
    fn rejects_bad_names_tags_and_digests() {
        for bad in [
            "",
            "Models/bert",
            "models//bert",
            "models/bert:",
            "models/bert:-x",
            "models/bert@sha256:abc",
            "models/bert@md5:00",
            "models/-bert",
            "models/be..rt",
            "localhost:5000/",
            "a b",
        ] {
            let e = Reference::parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
        assert!(Reference::parse("a/b__c-d--e.f/g_h:V1.0_x-y").is_ok());
    }
}

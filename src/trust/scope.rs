//! Scopes: the name a policy rule is chosen by, and the patterns rules match it with.
//!
//! A registry model's scope is `host/repository`, a local-store model's its repository, and a
//! model on disk `local/<file or folder name>`. Hosts are normalised before any match (lower
//! case, no trailing dot, no default port 443, Docker Hub's aliases folded into `docker.io`), so
//! `GHCR.IO/acme/m`, `ghcr.io:443/acme/m` and `ghcr.io./acme/m` fall under one rule. Patterns
//! are ranked by their literal length; two patterns of different rules with equal rank that can
//! match one name are refused when the policy loads, so no name is decided by file order.

use std::fmt;

/// Longest scope pattern accepted (the overlap check is quadratic in pattern length).
pub const MAX_PATTERN_LEN: usize = 512;

/// A normalised scope name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Scope(String);

impl Scope {
    /// The scope of a registry repository (`host` may be written any way a user could).
    pub fn registry(host: &str, repository: &str) -> Self {
        Scope(normalize(&format!("{host}/{repository}")))
    }

    /// The scope of a local-store repository (no host).
    pub fn local_store(repository: &str) -> Self {
        Scope(repository.to_owned())
    }

    /// The scope of a model on disk, by the file or folder name being verified.
    pub fn on_disk(name: &str) -> Self {
        Scope(format!("local/{name}"))
    }

    /// The scope of an OCI reference.
    pub fn of_reference(reference: &crate::oci::Reference) -> Self {
        match reference.registry() {
            Some(host) => Self::registry(host, reference.repository()),
            None => Self::local_store(reference.repository()),
        }
    }

    /// The text of the scope.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Normalises the host part of `name` (`host/rest`): lower case, no trailing dot, no `:443`,
/// Docker Hub aliases as `docker.io` (with `library/` for one-component repositories). A first
/// component that is not a host (no `.`, no `:`, not `localhost`) is left alone, as is one that
/// holds a wildcard.
pub fn normalize(name: &str) -> String {
    let (first, rest) = match name.split_once('/') {
        Some((f, r)) => (f, Some(r)),
        None => (name, None),
    };
    let looks_like_host = first.contains('.') || first.contains(':') || first == "localhost";
    if !looks_like_host || first.contains('*') {
        return name.to_owned();
    }
    let mut host = first.to_ascii_lowercase();
    let (h, port) = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => {
            (h.to_owned(), Some(p.to_owned()))
        }
        _ => (host.clone(), None),
    };
    let h = h.trim_end_matches('.').to_owned();
    host = match port.as_deref() {
        None | Some("443") => h,
        Some(p) => format!("{h}:{p}"),
    };
    if matches!(
        host.as_str(),
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com"
    ) {
        host = "docker.io".into();
    }
    match rest {
        None => host,
        Some(r) if host == "docker.io" && !r.contains('/') && !r.contains('*') => {
            format!("docker.io/library/{r}")
        }
        Some(r) => format!("{host}/{r}"),
    }
}

/// A scope pattern as written in a policy (normalised): `*` matches any run of characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(String);

/// How specific a pattern is: exact patterns first, then wildcard patterns by the number of
/// literal characters they hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank {
    exact: bool,
    literal: usize,
}

impl Pattern {
    /// A normalised pattern.
    pub fn new(text: &str) -> Self {
        Pattern(normalize(text))
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its rank: more specific patterns win.
    pub fn rank(&self) -> Rank {
        let stars = self.0.bytes().filter(|b| *b == b'*').count();
        Rank {
            exact: stars == 0,
            literal: self.0.len() - stars,
        }
    }

    /// True when the pattern matches `scope`.
    pub fn matches(&self, scope: &Scope) -> bool {
        wildcard_match(&self.0, scope.as_str())
    }

    /// True when some name matches both patterns.
    pub fn overlaps(&self, other: &Pattern) -> bool {
        globs_intersect(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Glob match where `*` matches any run of characters (including `/`); everything else is literal.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    if parts.len() == 1 {
        return pattern == text;
    }
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = rest.get(i + m.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether two `*`-globs share a matching string: a reachability search over position pairs
/// (each `*` may produce nothing, or absorb the other pattern's next symbol).
fn globs_intersect(p: &[u8], q: &[u8]) -> bool {
    let w = q.len() + 1;
    let mut seen = vec![false; (p.len() + 1) * w];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        let Some(slot) = seen.get_mut(i * w + j) else {
            continue;
        };
        if *slot {
            continue;
        }
        *slot = true;
        let (a, b) = (p.get(i).copied(), q.get(j).copied());
        match (a, b) {
            (None, None) => return true,
            (Some(b'*'), _) | (_, Some(b'*')) => {
                if a == Some(b'*') {
                    stack.push((i + 1, j));
                    if b.is_some() {
                        stack.push((i, j + 1));
                    }
                }
                if b == Some(b'*') {
                    stack.push((i, j + 1));
                    if a.is_some() {
                        stack.push((i + 1, j));
                    }
                }
            }
            (Some(x), Some(y)) if x == y => stack.push((i + 1, j + 1)),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn host_spellings_fold_into_one_scope() {
        for h in ["GHCR.IO", "ghcr.io:443", "ghcr.io.", "Ghcr.Io.:443"] {
            assert_eq!(
                Scope::registry(h, "acme/m").as_str(),
                "ghcr.io/acme/m",
                "{h}"
            );
        }
        assert_eq!(
            Scope::registry("localhost:5000", "m").as_str(),
            "localhost:5000/m"
        );
        for h in ["index.docker.io", "registry-1.docker.io", "docker.io"] {
            assert_eq!(Scope::registry(h, "acme/m").as_str(), "docker.io/acme/m");
        }
        assert_eq!(
            Scope::registry("docker.io", "ubuntu").as_str(),
            "docker.io/library/ubuntu"
        );
        assert_eq!(Pattern::new("GHCR.IO/acme/*").as_str(), "ghcr.io/acme/*");
        assert_eq!(Pattern::new("local/*").as_str(), "local/*");
    }

    #[test]
    fn rank_counts_every_literal_character() {
        assert!(Pattern::new("acme/*-prod").rank() > Pattern::new("acme/*").rank());
        assert!(Pattern::new("a/b").rank() > Pattern::new("a/b*").rank());
        assert!(Pattern::new("*").rank() < Pattern::new("a*").rank());
    }

    #[test]
    fn overlap_is_exact() {
        let o = |a: &str, b: &str| Pattern::new(a).overlaps(&Pattern::new(b));
        assert!(o("acme/*", "*/prod"));
        assert!(o("a*c", "ab*"));
        assert!(!o("a*", "b*"));
        assert!(!o("*a", "*b"));
        assert!(o("*", "x"));
        assert!(!o("ab", "a"));
        assert!(o("a*b*c", "*b*"));
        assert!(!o("x/*/y", "x/z"));
    }

    #[test]
    fn wildcards_match_any_run() {
        assert!(wildcard_match("*", "a/b"));
        assert!(wildcard_match("local/*", "local/m.pt"));
        assert!(!wildcard_match("local/*", "ghcr.io/x"));
        assert!(wildcard_match("a*c*e", "abcde"));
        assert!(!wildcard_match("abc", "abcd"));
    }
}

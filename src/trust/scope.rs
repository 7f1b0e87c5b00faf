//! Scopes: the name a policy rule is chosen by, and the patterns rules match it with.
//!
//! A registry model's scope is `host/repository`, a local-store model's its repository, and a
//! model on disk `local/<file or folder name>`. A host is the reference's canonical
//! [`Authority`] (read by the URL parser the HTTP client connects with: lower case, no trailing
//! dot, IPv4 in dotted decimal, IPv4-mapped IPv6 as IPv4, the port as a number), then without a
//! default port (`:80` or `:443`: the scope does not know the scheme, and under either scheme
//! the bare host reaches one of them) and with Docker Hub's aliases folded into `docker.io`. So
//! `GHCR.IO/acme/m`, `ghcr.io:0443/acme/m` and `ghcr.io./acme/m` fall under one rule, and so do
//! `127.0.0.1:5000`, `127.1:05000` and `[::ffff:127.0.0.1]:5000`. Policy patterns' hosts are
//! read the same way. Patterns are ranked by their literal length; two patterns of different
//! rules with equal rank that can match one name are refused when the policy loads, so no name
//! is decided by file order.

use std::fmt;

use crate::oci::reference::{Authority, looks_like_host};

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

    /// The scope of an OCI reference, from the same parsed authority its registry client
    /// connects to.
    pub fn of_reference(reference: &crate::oci::Reference) -> Self {
        if let Some(dir) = reference.layout() {
            return Scope(format!("oci:{dir}"));
        }
        match reference.authority() {
            Some(a) => Scope(with_host(&scope_host(a), reference.repository())),
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

/// Normalises the host part of `name` (`host/rest`) as [`Scope::of_reference`] does: the
/// canonical [`Authority`] without a default port, Docker Hub aliases as `docker.io` (with
/// `library/` for one-component repositories). A first component that is not a host (no `.`, no
/// `:`, not `localhost`) is left alone; one that holds a wildcard, or that the URL parser
/// refuses, is only lower-cased (see [`Pattern::parse`], which refuses the latter).
pub fn normalize(name: &str) -> String {
    try_normalize(name).unwrap_or_else(|_| match name.split_once('/') {
        Some((first, rest)) => format!("{}/{rest}", first.to_ascii_lowercase()),
        None => name.to_ascii_lowercase(),
    })
}

/// A scope pattern whose host part looks like a host but is not one the URL parser accepts (a
/// port over 65535, a bad IPv4 address): it could never match a reference. The text is why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadHost(pub String);

/// [`normalize`], refusing a host part that looks like a host, holds no wildcard and is not one
/// the URL parser accepts (so it could never match a reference).
fn try_normalize(name: &str) -> Result<String, BadHost> {
    let (first, rest) = match name.split_once('/') {
        Some((f, r)) => (f, r),
        None => (name, ""),
    };
    if !looks_like_host(first) {
        return Ok(name.to_owned());
    }
    let host = if first.contains('*') {
        first.to_ascii_lowercase()
    } else {
        scope_host(&Authority::parse(first).map_err(BadHost)?)
    };
    if !name.contains('/') {
        return Ok(host);
    }
    Ok(with_host(&host, rest))
}

/// The host part of a scope: the canonical authority without a default port.
fn scope_host(a: &Authority) -> String {
    let host = match a.port() {
        None | Some(80 | 443) => a.host().to_owned(),
        Some(p) => format!("{}:{p}", a.host()),
    };
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_owned()
        }
        _ => host,
    }
}

/// `host/rest`, with Docker Hub's implicit `library/` for a one-component repository.
fn with_host(host: &str, rest: &str) -> String {
    if host == "docker.io" && !rest.contains('/') && !rest.contains('*') {
        format!("docker.io/library/{rest}")
    } else {
        format!("{host}/{rest}")
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
    /// A normalised pattern (see [`normalize`]).
    pub fn new(text: &str) -> Self {
        Pattern(normalize(text))
    }

    /// A normalised pattern, refusing one whose host part the URL parser refuses (a port over
    /// 65535, a bad IPv4 address): it could never match, so a rule meant to be strict would
    /// silently cover nothing. The error is the reason.
    pub fn parse(text: &str) -> Result<Self, BadHost> {
        try_normalize(text).map(Pattern)
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
        for h in [
            "GHCR.IO",
            "ghcr.io:443",
            "ghcr.io:0443",
            "ghcr.io:80",
            "ghcr.io.",
            "GHCR.IO.",
            "Ghcr.Io.:443",
        ] {
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
        for h in [
            "127.0.0.1:5000",
            "127.1:05000",
            "[::ffff:127.0.0.1]:5000",
            "2130706433:5000",
        ] {
            assert_eq!(
                Scope::registry(h, "prod/m").as_str(),
                "127.0.0.1:5000/prod/m",
                "{h}"
            );
            assert_eq!(
                Pattern::parse(&format!("{h}/prod/*")).unwrap().as_str(),
                "127.0.0.1:5000/prod/*",
                "{h}"
            );
        }
        assert_eq!(
            Pattern::parse("LOCALHOST:05000/prod/*").unwrap().as_str(),
            "localhost:5000/prod/*"
        );
        assert_eq!(Pattern::parse("[::1]:443/m").unwrap().as_str(), "[::1]/m");
        assert_eq!(
            Pattern::parse("Docker.IO:443/ubuntu").unwrap().as_str(),
            "docker.io/library/ubuntu"
        );
        assert_eq!(Pattern::new("local/*").as_str(), "local/*");
    }

    #[test]
    fn a_scope_comes_from_the_reference_authority() {
        let r = crate::oci::Reference::parse("127.1:05000/prod/m:v1").unwrap();
        assert_eq!(Scope::of_reference(&r).as_str(), "127.0.0.1:5000/prod/m");
        let r = crate::oci::Reference::parse("GHCR.IO.:0443/acme/m").unwrap();
        assert_eq!(Scope::of_reference(&r).as_str(), "ghcr.io/acme/m");
        let r = crate::oci::Reference::parse("index.docker.io/ubuntu").unwrap();
        assert_eq!(Scope::of_reference(&r).as_str(), "docker.io/library/ubuntu");
        let r = crate::oci::Reference::parse("localhost:80/m").unwrap();
        assert_eq!(Scope::of_reference(&r).as_str(), "localhost/m");
        let r = crate::oci::Reference::parse("models/bert").unwrap();
        assert_eq!(Scope::of_reference(&r).as_str(), "models/bert");
    }

    #[test]
    fn patterns_whose_host_cannot_parse_are_refused() {
        for bad in [
            "127.0.0.1:99999/prod/*",
            "1.2.3.256/*",
            "ghcr..io/*",
            "::1:5000/*",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
        // Wildcards in the host are kept (lower case); names that are not hosts are left alone.
        assert_eq!(
            Pattern::parse("*.ACME.io/*").unwrap().as_str(),
            "*.acme.io/*"
        );
        assert_eq!(Pattern::parse("*").unwrap().as_str(), "*");
        assert_eq!(Pattern::parse("local/*").unwrap().as_str(), "local/*");
        assert_eq!(
            Pattern::parse("models/bert").unwrap().as_str(),
            "models/bert"
        );
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

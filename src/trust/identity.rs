//! How a signer's identity (a certificate SAN) is matched: exactly or by regular expression.

/// How identities are matched.
#[derive(Clone, Debug)]
pub enum IdentityMatcher {
    /// Exactly this SAN value.
    Exact(String),
    /// A SAN value matching this regular expression (unanchored, as cosign; write `^...$`).
    Regex(regex::Regex),
}

impl IdentityMatcher {
    /// True when `s` is an identity this matcher accepts.
    pub fn matches(&self, s: &str) -> bool {
        match self {
            IdentityMatcher::Exact(e) => e == s,
            IdentityMatcher::Regex(r) => r.is_match(s),
        }
    }
}

impl std::fmt::Display for IdentityMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentityMatcher::Exact(e) => write!(f, "`{e}`"),
            IdentityMatcher::Regex(r) => write!(f, "/{}/", r.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn identity_regexp_is_unanchored_like_cosign_and_exact_is_exact() {
        let re = IdentityMatcher::Regex(regex::Regex::new("^https://github.com/org/").unwrap());
        assert!(re.matches("https://github.com/org/repo/.github/workflows/x.yml@refs/heads/main"));
        assert!(!re.matches("https://github.com/evil/org/"));
        let exact = IdentityMatcher::Exact("alice@example.com".into());
        assert!(!exact.matches("alice@example.com.evil"));
    }
}

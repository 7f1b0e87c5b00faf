//! `required_metadata` entries of a policy rule: a key every counted signature must carry,
//! optionally with a rule its value must follow: an anchored regular expression (`^...$`), a
//! list of allowed values, or a glob (`*`, `?`) or literal.

use regex::{Regex, RegexBuilder};

/// Longest regular expression or glob accepted in a policy.
pub const MAX_RULE_LEN: usize = 1024;
/// Compiled size bound for one value rule (a policy must not cost megabytes to load).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A metadata key a rule requires, with an optional value rule.
#[derive(Clone, Debug)]
pub struct RequiredMetadata {
    /// The key.
    pub key: String,
    /// The rule its value must follow; `None` requires a non-empty value only.
    pub rule: Option<ValueRule>,
}

/// What a required metadata value must be.
#[derive(Clone, Debug)]
pub enum ValueRule {
    /// An anchored regular expression, as written (`^...$`).
    Regex {
        /// The expression as written.
        source: String,
        /// Compiled, wrapped as `^(?:source)$` so alternation cannot unanchor it.
        regex: Regex,
    },
    /// One of these literal values.
    OneOf(Vec<String>),
    /// A glob (`*` any run of characters, `?` one character) or, without either, a literal.
    Glob {
        /// The pattern as written.
        source: String,
        /// Compiled.
        regex: Regex,
    },
}

fn build(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
}

impl ValueRule {
    /// A string rule: `^...$` is a regular expression (it must end with `$`), anything else a
    /// glob or literal. The error says what is wrong, for the policy loader to name the key.
    pub fn parse_str(s: &str) -> Result<Self, String> {
        if s.len() > MAX_RULE_LEN {
            return Err(format!("is longer than {MAX_RULE_LEN} characters"));
        }
        if s.starts_with('^') {
            if !s.ends_with('$') || s.ends_with("\\$") {
                return Err(format!(
                    "`{s}` starts with `^` (a regular expression) but does not end with `$`; anchor it at both ends"
                ));
            }
            let regex = build(&format!("^(?:{s})$"))
                .map_err(|e| format!("`{s}` is not a valid regular expression: {e}"))?;
            return Ok(Self::Regex {
                source: s.to_owned(),
                regex,
            });
        }
        let mut re = String::from("(?s)^");
        for c in s.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        let regex = build(&re).map_err(|e| format!("`{s}` cannot be used as a glob: {e}"))?;
        Ok(Self::Glob {
            source: s.to_owned(),
            regex,
        })
    }

    /// Whether a value follows the rule.
    pub fn allows(&self, value: &str) -> bool {
        match self {
            Self::Regex { regex, .. } | Self::Glob { regex, .. } => regex.is_match(value),
            Self::OneOf(values) => values.iter().any(|v| v == value),
        }
    }

    /// How the rule reads in a report.
    pub fn describe(&self) -> String {
        match self {
            Self::Regex { source, .. } => format!("must match {source}"),
            Self::OneOf(values) => format!("must be one of [{}]", values.join(", ")),
            Self::Glob { source, .. } if source.contains(['*', '?']) => {
                format!("must match the glob {source}")
            }
            Self::Glob { source, .. } => format!("must be {source}"),
        }
    }
}

impl RequiredMetadata {
    /// Why a statement's value breaks this requirement, if it does: missing/empty (`None`
    /// inside), or a value the rule refuses.
    pub fn check(&self, value: Option<&str>) -> Result<(), Option<String>> {
        let Some(v) = value.filter(|v| !v.is_empty()) else {
            return Err(None);
        };
        match &self.rule {
            Some(rule) if !rule.allows(v) => {
                Err(Some(format!("{}={:?} {}", self.key, v, rule.describe())))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn regex_glob_literal_and_list_rules() {
        let hash = ValueRule::parse_str("^sha256:[0-9a-f]{64}$").unwrap();
        assert!(hash.allows(&format!("sha256:{}", "a".repeat(64))));
        assert!(!hash.allows("sha256:abc"));
        assert!(!hash.allows(&format!("sha256:{}\n", "a".repeat(64))));
        // Alternation cannot unanchor the expression.
        let alt = ValueRule::parse_str("^a|b$").unwrap();
        assert!(alt.allows("a") && alt.allows("b") && !alt.allows("xb") && !alt.allows("ax"));
        let glob = ValueRule::parse_str("team-*").unwrap();
        assert!(glob.allows("team-ml") && glob.allows("team-") && !glob.allows("xteam-ml"));
        let one = ValueRule::parse_str("file?.txt").unwrap();
        assert!(one.allows("file1.txt") && !one.allows("file12.txt"));
        let lit = ValueRule::parse_str("a.b+c").unwrap();
        assert!(lit.allows("a.b+c") && !lit.allows("aXb+c"));
        let list = ValueRule::OneOf(vec!["pytorch".into(), "jax".into()]);
        assert!(list.allows("jax") && !list.allows("tensorflow"));
        assert!(ValueRule::parse_str("^sha256:[0-9a-f{64}$").is_err());
        assert!(ValueRule::parse_str("^unanchored").is_err());
    }

    #[test]
    fn check_names_key_value_and_rule() {
        let r = RequiredMetadata {
            key: "framework".into(),
            rule: Some(ValueRule::OneOf(vec!["pytorch".into()])),
        };
        assert_eq!(r.check(Some("pytorch")), Ok(()));
        assert_eq!(r.check(None), Err(None));
        assert_eq!(r.check(Some("")), Err(None));
        assert_eq!(
            r.check(Some("tf\x1b[2J")),
            Err(Some(
                "framework=\"tf\\u{1b}[2J\" must be one of [pytorch]".into()
            ))
        );
    }
}

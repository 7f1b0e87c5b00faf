//! Trust policy: which signers are trusted for which models, how many must sign, which signed
//! metadata must be present, and which keys are revoked. In the spirit of notation's
//! `trustpolicy.json`, written in YAML or JSON.
//!
//! ```yaml
//! version: 1                      # required; only 1 is understood
//! policies:                       # required, at least one rule
//!   - name: production            # required, unique
//!     scopes:                     # required, at least one; unique across rules
//!       - "ghcr.io/acme/models/*" # registry repository (`*` matches any run of characters)
//!       - "local/*"               # models audited from disk are in scope `local/<subject name>`
//!       - "*"                     # everything not matched by a more specific scope
//!     trusted_signers:            # optional; empty = the keys given on the command line
//!       - public_key: keys/release.pub   # a PEM file (relative to this policy file) ...
//!       - public_key: |                  # ... or the PEM text itself
//!           -----BEGIN PUBLIC KEY-----
//!           ...
//!       - key_id: 3f5a...         # or a key id: hex SHA-256 of the PEM (the bundle `hint`)
//!       - identity: https://github.com/acme/models/.github/workflows/release.yml@refs/heads/main
//!         issuer: https://token.actions.githubusercontent.com   # or a keyless (Sigstore) signer
//!     required_metadata: [author, training_data_hash]  # optional signed metadata keys
//!     min_signatures: 1           # optional, default 1: distinct trusted signers that verified
//!     revoked: [9c1e...]          # optional key ids whose signatures are never trusted
//! ```
//!
//! A JSON file (first non-blank character `{`) is read as JSON, anything else as YAML. Unknown
//! fields are refused (a typo such as `min_signature` must not silently relax a policy). Every
//! validation error names the field (`policies[0].trusted_signers[1].key_id`) and, where the parser
//! or a search of the text can tell, the line. The scope whose pattern is most specific wins:
//! an exact scope, then the wildcard pattern with the longest literal prefix, then `*`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::keys::{self, PublicKey};

/// Policy files are small; anything larger is refused before parsing.
pub const MAX_POLICY_SIZE: u64 = 1024 * 1024;

/// The only policy format version understood.
pub const POLICY_VERSION: u64 = 1;

/// Errors loading or validating a policy. All of them are input errors (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The policy file could not be read.
    #[error("cannot read policy {path}: {source}; check the --policy path")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_POLICY_SIZE`].
    #[error("policy {path} is larger than {MAX_POLICY_SIZE} bytes; it is not a trust policy")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// Not YAML/JSON, or not shaped like a policy (unknown field, wrong type).
    #[error("policy {path}{}: {detail}; see docs/policy.md for the format", line_suffix(*.line))]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line, where the parser reports one.
        line: Option<usize>,
        /// Parser detail.
        detail: String,
    },
    /// A field has a value the policy cannot mean.
    #[error("policy {path}{}: `{field}` {detail}; see docs/policy.md for the format", line_suffix(*.line))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field, e.g. `policies[0].min_signatures`.
        field: String,
        /// 1-based line, where it could be found.
        line: Option<usize>,
        /// What is wrong.
        detail: String,
    },
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(" line {l}")).unwrap_or_default()
}

impl Error {
    /// Exit-code class: always an input error.
    pub fn class(&self) -> crate::Class {
        crate::Class::Input
    }
}

/// A signer a rule trusts.
#[derive(Clone, Debug)]
pub enum TrustedSigner {
    /// A public key: signatures can be checked with it.
    Key(PublicKey),
    /// A key id only: identifies keys given elsewhere (command line) as trusted for this rule.
    KeyId(String),
    /// A keyless (Sigstore) signer: the certificate's SAN identity and OIDC issuer, both exact.
    /// Its id is `IDENTITY (ISSUER)`, as verification reports a keyless signer.
    Identity {
        /// SAN identity (e-mail or URI).
        identity: String,
        /// OIDC issuer URL.
        issuer: String,
        /// `IDENTITY (ISSUER)`.
        id: String,
    },
}

impl TrustedSigner {
    /// The key id (hex SHA-256 of the PEM public key).
    pub fn id(&self) -> &str {
        match self {
            TrustedSigner::Key(k) => k.id(),
            TrustedSigner::KeyId(id) => id,
            TrustedSigner::Identity { id, .. } => id,
        }
    }
}

/// One validated rule of a policy.
#[derive(Clone, Debug)]
pub struct PolicyRule {
    /// Unique name, used in reports.
    pub name: String,
    /// Scope patterns (`*` matches any run of characters).
    pub scopes: Vec<String>,
    /// Trusted signers; empty means "whatever keys the caller trusts".
    pub trusted_signers: Vec<TrustedSigner>,
    /// Signed metadata keys every counted statement must carry (non-empty).
    pub required_metadata: Vec<String>,
    /// Distinct trusted signers needed (at least 1).
    pub min_signatures: usize,
    /// Revoked key ids (lower-case hex).
    pub revoked: BTreeSet<String>,
}

/// A signature as a policy sees it: who made it, whether it verified, what it says.
#[derive(Clone, Debug, Default)]
pub struct VerifiedSignature {
    /// Key id of the signer (for unverified signatures: the key the bundle claims).
    pub key_id: String,
    /// True when the signature verified with that key.
    pub verified: bool,
    /// The signed statement's user metadata.
    pub metadata: BTreeMap<String, String>,
}

/// The result of one rule check, as verification reports its checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleOutcome {
    /// Check name: `revoked`, `min_signatures` or `required_metadata`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was found.
    pub detail: String,
}

impl PolicyRule {
    /// True when `key_id` is trusted by this rule (always, when the rule lists no signers).
    pub fn trusts(&self, key_id: &str) -> bool {
        self.trusted_signers.is_empty() || self.trusted_signers.iter().any(|s| s.id() == key_id)
    }

    /// True when the rule's scope patterns cover `scope`.
    pub fn matches_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|p| wildcard_match(p, scope))
    }

    /// Evaluates the rule over all signatures of one artifact. Only signatures that verified
    /// count; a verified signature by a revoked key fails the `revoked` check and is not counted.
    pub fn evaluate(&self, signatures: &[VerifiedSignature]) -> Vec<RuleOutcome> {
        let mut out = Vec::new();
        let verified: Vec<&VerifiedSignature> = signatures.iter().filter(|s| s.verified).collect();
        let revoked: BTreeSet<&str> = verified
            .iter()
            .map(|s| s.key_id.as_str())
            .filter(|id| self.revoked.contains(*id))
            .collect();
        out.push(RuleOutcome {
            name: "revoked".into(),
            passed: revoked.is_empty(),
            detail: if revoked.is_empty() {
                "no signature by a revoked key".into()
            } else {
                format!(
                    "signed by revoked key {}",
                    revoked.into_iter().collect::<Vec<_>>().join(", ")
                )
            },
        });
        let counted: Vec<&VerifiedSignature> = verified
            .into_iter()
            .filter(|s| self.trusts(&s.key_id) && !self.revoked.contains(&s.key_id))
            .collect();
        let distinct: BTreeSet<&str> = counted.iter().map(|s| s.key_id.as_str()).collect();
        out.push(RuleOutcome {
            name: "min_signatures".into(),
            passed: distinct.len() >= self.min_signatures,
            detail: format!(
                "{} distinct trusted signer(s) verified, {} required",
                distinct.len(),
                self.min_signatures
            ),
        });
        if !self.required_metadata.is_empty() {
            let mut missing = BTreeSet::new();
            for key in &self.required_metadata {
                let present = !counted.is_empty()
                    && counted
                        .iter()
                        .all(|s| s.metadata.get(key).is_some_and(|v| !v.is_empty()));
                if !present {
                    missing.insert(key.as_str());
                }
            }
            out.push(RuleOutcome {
                name: "required_metadata".into(),
                passed: missing.is_empty(),
                detail: if missing.is_empty() {
                    format!("signed metadata has {}", self.required_metadata.join(", "))
                } else if counted.is_empty() {
                    "no verified trusted statement to read metadata from".into()
                } else {
                    format!(
                        "signed metadata lacks {}",
                        missing.into_iter().collect::<Vec<_>>().join(", ")
                    )
                },
            });
        }
        out
    }
}

/// A validated trust policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Where it was read from (for messages).
    pub path: PathBuf,
    /// The rules, in file order.
    pub rules: Vec<PolicyRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: Option<u64>,
    policies: Option<Vec<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    trusted_signers: Vec<RawSigner>,
    #[serde(default)]
    required_metadata: Vec<String>,
    min_signatures: Option<i64>,
    #[serde(default)]
    revoked: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigner {
    public_key: Option<String>,
    key_id: Option<String>,
    identity: Option<String>,
    issuer: Option<String>,
}

/// True for a 64-character hex key id.
pub fn is_key_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Glob match where `*` matches any run of characters (including `/`); everything else is literal.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    if middle.is_empty() && parts.len() == 1 {
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

/// Specificity of a pattern: exact patterns first, then longer literal prefixes.
fn specificity(pattern: &str) -> (bool, usize) {
    match pattern.find('*') {
        None => (true, pattern.len()),
        Some(i) => (false, i),
    }
}

/// The 1-based line of the first occurrence of `needle` in `text`, if any.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    text.find(needle)
        .map(|i| text.get(..i).unwrap_or_default().matches('\n').count() + 1)
}

impl Policy {
    /// Reads and validates a policy file (YAML, or JSON when it starts with `{`).
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bytes = crate::bundle::read_bounded(path, MAX_POLICY_SIZE).map_err(|e| match e {
            crate::bundle::BoundedReadError::TooLarge => Error::TooLarge {
                path: path.to_owned(),
            },
            crate::bundle::BoundedReadError::Io(source) => Error::Read {
                path: path.to_owned(),
                source,
            },
        })?;
        let text = String::from_utf8(bytes).map_err(|e| Error::Parse {
            path: path.to_owned(),
            line: None,
            detail: format!("not UTF-8 text ({e})"),
        })?;
        Self::from_str(&text, path)
    }

    /// Parses and validates policy text; `origin` names the file in errors and is the base for
    /// relative `public_key` paths.
    pub fn from_str(text: &str, origin: &Path) -> Result<Self, Error> {
        let parse_err = |line: Option<usize>, detail: String| Error::Parse {
            path: origin.to_owned(),
            line,
            detail,
        };
        let raw: RawPolicy = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| parse_err(Some(e.line()), e.to_string()))?
        } else {
            serde_norway::from_str(text)
                .map_err(|e| parse_err(e.location().map(|l| l.line()), e.to_string()))?
        };
        let invalid = |field: String, needle: &str, detail: String| Error::Invalid {
            path: origin.to_owned(),
            line: line_of(text, needle),
            field,
            detail,
        };
        match raw.version {
            Some(POLICY_VERSION) => {}
            Some(v) => {
                return Err(invalid(
                    "version".into(),
                    "version",
                    format!("is {v}; only version 1 is understood"),
                ));
            }
            None => {
                return Err(invalid(
                    "version".into(),
                    "",
                    "is missing; add `version: 1`".into(),
                ));
            }
        }
        let raw_rules = raw.policies.unwrap_or_default();
        if raw_rules.is_empty() {
            return Err(invalid(
                "policies".into(),
                "policies",
                "is missing or empty; add at least one rule".into(),
            ));
        }
        let base = origin.parent().unwrap_or(Path::new(""));
        let mut rules = Vec::new();
        let mut names = BTreeSet::new();
        let mut scopes_seen: BTreeMap<String, String> = BTreeMap::new();
        for (i, r) in raw_rules.into_iter().enumerate() {
            let at = |f: &str| format!("policies[{i}].{f}");
            let name = r.name.unwrap_or_default();
            if name.trim().is_empty() {
                return Err(invalid(at("name"), "", "is missing or empty".into()));
            }
            if !names.insert(name.clone()) {
                return Err(invalid(
                    at("name"),
                    &name,
                    format!("`{name}` is used by two rules; names must be unique"),
                ));
            }
            if r.scopes.is_empty() {
                return Err(invalid(
                    at("scopes"),
                    &name,
                    "is missing or empty; use [\"*\"] for every model".into(),
                ));
            }
            for (j, s) in r.scopes.iter().enumerate() {
                if s.trim().is_empty() {
                    return Err(invalid(
                        format!("{}[{j}]", at("scopes")),
                        "",
                        "is empty".into(),
                    ));
                }
                if let Some(other) = scopes_seen.insert(s.clone(), name.clone()) {
                    return Err(invalid(
                        format!("{}[{j}]", at("scopes")),
                        s,
                        format!("`{s}` is also a scope of rule `{other}`; a scope may appear once"),
                    ));
                }
            }
            let mut trusted_signers = Vec::new();
            for (j, s) in r.trusted_signers.into_iter().enumerate() {
                let f = format!("{}[{j}]", at("trusted_signers"));
                match (s.public_key, s.key_id, s.identity, s.issuer) {
                    (Some(pk), None, None, None) => {
                        let loaded = if pk.contains("-----BEGIN") {
                            keys::public_key_from_pem(&pk)
                        } else {
                            let p = Path::new(&pk);
                            let p = if p.is_absolute() {
                                p.to_owned()
                            } else {
                                base.join(p)
                            };
                            keys::load_public_key(&p)
                        };
                        let key = loaded.map_err(|e| {
                            invalid(
                                format!("{f}.public_key"),
                                pk.lines().next().unwrap_or_default(),
                                format!("cannot be loaded: {e}"),
                            )
                        })?;
                        trusted_signers.push(TrustedSigner::Key(key));
                    }
                    (None, Some(id), None, None) => {
                        if !is_key_id(&id) {
                            return Err(invalid(
                                format!("{f}.key_id"),
                                &id,
                                format!(
                                    "`{id}` is not a key id (64 hex characters, the SHA-256 of the PEM public key)"
                                ),
                            ));
                        }
                        trusted_signers.push(TrustedSigner::KeyId(id.to_ascii_lowercase()));
                    }
                    (None, None, Some(identity), Some(issuer)) => {
                        for (field, v) in [("identity", &identity), ("issuer", &issuer)] {
                            if v.trim().is_empty() || v.trim() != v {
                                return Err(invalid(
                                    format!("{f}.{field}"),
                                    field,
                                    "is empty or has surrounding spaces".into(),
                                ));
                            }
                        }
                        let id = format!("{identity} ({issuer})");
                        trusted_signers.push(TrustedSigner::Identity {
                            identity,
                            issuer,
                            id,
                        });
                    }
                    (None, None, Some(_), None) | (None, None, None, Some(_)) => {
                        return Err(invalid(
                            f,
                            "trusted_signers",
                            "a keyless signer needs both `identity` and `issuer`: who signed and who vouched for them".into(),
                        ));
                    }
                    _ => {
                        return Err(invalid(
                            f,
                            "trusted_signers",
                            "needs exactly one of `public_key`, `key_id`, or `identity` with `issuer`".into(),
                        ));
                    }
                }
            }
            for (j, k) in r.required_metadata.iter().enumerate() {
                if k.trim().is_empty() {
                    return Err(invalid(
                        format!("{}[{j}]", at("required_metadata")),
                        "required_metadata",
                        "is an empty key".into(),
                    ));
                }
            }
            let min_signatures = match r.min_signatures {
                None => 1,
                Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
                Some(n) => {
                    return Err(invalid(
                        at("min_signatures"),
                        "min_signatures",
                        format!("is {n}; it must be at least 1"),
                    ));
                }
            };
            let distinct: BTreeSet<&str> = trusted_signers.iter().map(TrustedSigner::id).collect();
            if !trusted_signers.is_empty() && distinct.len() < min_signatures {
                return Err(invalid(
                    at("min_signatures"),
                    "min_signatures",
                    format!(
                        "is {min_signatures} but only {} distinct trusted signer(s) are listed; it could never pass",
                        distinct.len()
                    ),
                ));
            }
            let mut revoked = BTreeSet::new();
            for (j, id) in r.revoked.iter().enumerate() {
                if !is_key_id(id) {
                    return Err(invalid(
                        format!("{}[{j}]", at("revoked")),
                        id,
                        format!("`{id}` is not a key id (64 hex characters)"),
                    ));
                }
                revoked.insert(id.to_ascii_lowercase());
            }
            rules.push(PolicyRule {
                name,
                scopes: r.scopes,
                trusted_signers,
                required_metadata: r.required_metadata,
                min_signatures,
                revoked,
            });
        }
        Ok(Self {
            path: origin.to_owned(),
            rules,
        })
    }

    /// The rule for a scope (`registry/repo` or `local/<subject>`): the most specific match.
    pub fn for_scope(&self, scope: &str) -> Option<&PolicyRule> {
        self.rules
            .iter()
            .flat_map(|r| r.scopes.iter().map(move |p| (r, p)))
            .filter(|(_, p)| wildcard_match(p, scope))
            .max_by_key(|(_, p)| specificity(p))
            .map(|(r, _)| r)
    }

    /// Every public key any rule trusts (for identifying signers).
    pub fn public_keys(&self) -> Vec<PublicKey> {
        self.rules
            .iter()
            .flat_map(|r| r.trusted_signers.iter())
            .filter_map(|s| match s {
                TrustedSigner::Key(k) => Some(k.clone()),
                TrustedSigner::KeyId(_) | TrustedSigner::Identity { .. } => None,
            })
            .collect()
    }

    /// True when some rule trusts a keyless (Sigstore) identity, so keyless bundles must be
    /// checked against a trusted root even when no `--certificate-identity` was given.
    pub fn has_identity_signers(&self) -> bool {
        self.rules.iter().any(|r| {
            r.trusted_signers
                .iter()
                .any(|s| matches!(s, TrustedSigner::Identity { .. }))
        })
    }

    /// Every key id any rule revokes.
    pub fn revoked_ids(&self) -> BTreeSet<String> {
        self.rules
            .iter()
            .flat_map(|r| r.revoked.iter().cloned())
            .collect()
    }
}

/// What a policy decides for one artifact (`verify --policy`, `pull --policy`): the rule that
/// covers it and each rule check as a named verification step (`policy:scope`, `policy:revoked`,
/// `policy:min_signatures`, `policy:required_metadata`).
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    /// The rule that covers the scope, if any.
    pub rule: Option<String>,
    /// The scope the artifact was matched under.
    pub scope: String,
    /// Every policy check, in order; all run (they are independent), the verdict needs all.
    pub checks: Vec<crate::verification::CheckOutcome>,
}

impl Decision {
    /// True when every policy check passed.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }
}

impl Policy {
    /// True when a verified signature by `key_id` counts for the rule covering `scope` (trusted
    /// there, by the policy or, where the rule lists no signers, by the command line; and not
    /// revoked by any rule).
    pub fn counts(&self, scope: &str, command_line_keys: &BTreeSet<String>, key_id: &str) -> bool {
        let Some(rule) = self.for_scope(scope) else {
            return false;
        };
        let trusted = if rule.trusted_signers.is_empty() {
            command_line_keys.contains(key_id)
        } else {
            rule.trusts(key_id)
        };
        trusted && !self.revoked_ids().contains(key_id)
    }

    /// Decides trust for the artifact at `scope` from its signatures. `command_line_keys` are
    /// the ids of the keys given with `--public-key`: they are key material, and they are
    /// trusted only where the covering rule lists no `trusted_signers` (a rule that lists
    /// signers is never widened from the command line). A key revoked by any rule is revoked
    /// for every scope: revocation is about the key, not the model.
    pub fn decide(
        &self,
        scope: &str,
        command_line_keys: &BTreeSet<String>,
        signatures: &[VerifiedSignature],
    ) -> Decision {
        use crate::verification::CheckOutcome;
        let Some(rule) = self.for_scope(scope) else {
            return Decision {
                rule: None,
                scope: scope.to_owned(),
                checks: vec![CheckOutcome {
                    name: "policy:scope".into(),
                    passed: false,
                    detail: format!(
                        "no rule of policy {} covers scope `{scope}`; add a rule whose scopes match it (or `*`)",
                        self.path.display()
                    ),
                }],
            };
        };
        let pattern = rule
            .scopes
            .iter()
            .filter(|p| wildcard_match(p, scope))
            .max_by_key(|p| specificity(p))
            .cloned()
            .unwrap_or_default();
        let mut effective = rule.clone();
        effective.revoked.extend(self.revoked_ids());
        let listed = !rule.trusted_signers.is_empty();
        if !listed {
            effective.trusted_signers = command_line_keys
                .iter()
                .map(|id| TrustedSigner::KeyId(id.clone()))
                .collect();
        }
        let mut checks = vec![CheckOutcome {
            name: "policy:scope".into(),
            passed: true,
            detail: format!(
                "rule `{}` (scope `{pattern}`) covers `{scope}`; trusted signers: {}",
                rule.name,
                if listed {
                    format!("{} listed in the policy", rule.trusted_signers.len())
                } else {
                    format!("the {} --public-key key(s)", command_line_keys.len())
                }
            ),
        }];
        let untrusted: BTreeSet<&str> = signatures
            .iter()
            .filter(|s| {
                s.verified && !effective.trusts(&s.key_id) && !effective.trusted_signers.is_empty()
            })
            .map(|s| s.key_id.as_str())
            .collect();
        for o in effective.evaluate(signatures) {
            let mut detail = o.detail;
            if o.name == "min_signatures" && !untrusted.is_empty() {
                detail.push_str(&format!(
                    "; not counted (verified, but not trusted by rule `{}`): {}",
                    rule.name,
                    untrusted.iter().copied().collect::<Vec<_>>().join(", ")
                ));
            }
            if o.name == "min_signatures" && effective.trusted_signers.is_empty() {
                detail.push_str(&format!(
                    "; rule `{}` lists no trusted_signers and no --public-key was given",
                    rule.name
                ));
            }
            checks.push(CheckOutcome {
                name: format!("policy:{}", o.name),
                passed: o.passed,
                detail,
            });
        }
        Decision {
            rule: Some(rule.name.clone()),
            scope: scope.to_owned(),
            checks,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const ID_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const ID_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn policy(text: &str) -> Result<Policy, Error> {
        Policy::from_str(text, Path::new("p.yaml"))
    }

    fn sig(id: &str, verified: bool, md: &[(&str, &str)]) -> VerifiedSignature {
        VerifiedSignature {
            key_id: id.into(),
            verified,
            metadata: md
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn most_specific_scope_wins() {
        let p = policy(
            "version: 1\npolicies:\n- name: all\n  scopes: ['*']\n- name: acme\n  scopes: ['ghcr.io/acme/*']\n- name: bert\n  scopes: ['ghcr.io/acme/bert']\n",
        )
        .unwrap();
        assert_eq!(p.for_scope("ghcr.io/acme/bert").unwrap().name, "bert");
        assert_eq!(p.for_scope("ghcr.io/acme/gpt").unwrap().name, "acme");
        assert_eq!(p.for_scope("local/m.pt").unwrap().name, "all");
    }

    #[test]
    fn min_signatures_counts_distinct_verified_trusted_signers() {
        let p = policy(&format!(
            "version: 1\npolicies:\n- name: two\n  scopes: ['*']\n  trusted_signers: [{{key_id: {ID_A}}}, {{key_id: {ID_B}}}]\n  min_signatures: 2\n  required_metadata: [author]\n"
        ))
        .unwrap();
        let rule = p.for_scope("x").unwrap();
        let out = rule.evaluate(&[
            sig(ID_A, true, &[("author", "x")]),
            sig(ID_A, true, &[("author", "x")]),
            sig(ID_B, false, &[("author", "x")]),
        ]);
        assert!(!out[1].passed, "{out:?}");
        let out = rule.evaluate(&[sig(ID_A, true, &[("author", "x")]), sig(ID_B, true, &[])]);
        assert!(out[1].passed);
        assert!(!out[2].passed);
        assert_eq!(out[2].detail, "signed metadata lacks author");
    }

    #[test]
    fn rejects_unknown_field_with_line() {
        let e = policy("version: 1\npolicies:\n- name: a\n  scopes: ['*']\n  min_signature: 2\n")
            .unwrap_err();
        assert!(matches!(e, Error::Parse { line: Some(5), .. }), "{e}");
    }

    #[test]
    fn rejects_bad_key_id_naming_field_and_line() {
        let e = policy("version: 1\npolicies:\n- name: a\n  scopes: ['*']\n  revoked: [zz]\n")
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("policies[0].revoked[0]") && msg.contains("line 5"),
            "{msg}"
        );
    }

    #[test]
    fn wildcards_match_any_run() {
        assert!(wildcard_match("*", "a/b"));
        assert!(wildcard_match("local/*", "local/m.pt"));
        assert!(!wildcard_match("local/*", "ghcr.io/x"));
        assert!(wildcard_match("a*c*e", "abcde"));
        assert!(!wildcard_match("abc", "abcd"));
    }

    #[test]
    fn decide_names_each_rule_check_and_ignores_command_line_keys_when_signers_are_listed() {
        let p = policy(&format!(
            "version: 1\npolicies:\n- name: prod\n  scopes: ['reg/*']\n  trusted_signers: [{{key_id: {ID_A}}}]\n  required_metadata: [author]\n- name: rest\n  scopes: ['*']\n  revoked: [{ID_B}]\n"
        ))
        .unwrap();
        let cli: BTreeSet<String> = [ID_B.to_string()].into();
        let d = p.decide("reg/bert", &cli, &[sig(ID_B, true, &[("author", "x")])]);
        let names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "policy:scope",
                "policy:revoked",
                "policy:min_signatures",
                "policy:required_metadata"
            ]
        );
        assert!(!d.passed());
        // B is revoked by another rule: revoked everywhere.
        assert!(!d.checks[1].passed, "{:?}", d.checks);
        let d = p.decide("reg/bert", &cli, &[sig(ID_A, true, &[("author", "x")])]);
        assert!(d.passed(), "{:?}", d.checks);
        let d = p.decide("other", &[ID_A.to_string()].into(), &[sig(ID_A, true, &[])]);
        assert!(d.passed(), "{:?}", d.checks);
        assert_eq!(d.rule.as_deref(), Some("rest"));
    }
}

//! Trust policy: which signers are trusted for which models, how many must sign, which signed
//! metadata must be present, and which keys are revoked. In the spirit of notation's
//! `trustpolicy.json`, written in YAML or JSON (docs/policy.md is the reference).
//!
//! A policy file and the command-line trust flags compile into the same [`TrustPolicy`]:
//! `--public-key K` is a one-rule policy trusting K, `--certificate-identity` +
//! `--certificate-oidc-issuer` one trusting that keyless identity, `--certificate-chain` one
//! trusting that PKI. Deny by default: a rule that lists no signers trusts nobody, unless
//! command-line signers are given, which then are that rule's signers.
//!
//! A JSON file (first non-blank character `{`) is read as JSON, anything else as YAML. Unknown
//! fields are refused (a typo such as `min_signature` must not silently relax a policy). Every
//! validation error names the field (`policies[0].trusted_signers[1].key_id`) and, where the parser
//! or a search of the text can tell, the line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::scope::{MAX_PATTERN_LEN, Pattern, Scope};
use super::signer::{PkiAnchors, Principal, SignerId, TrustedSigner};
use crate::keys::{self, PublicKey};
use crate::trust::identity::IdentityMatcher;
use crate::trust::metadata_rule::{RequiredMetadata, ValueRule};

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

/// Deepest nesting of YAML/JSON flow collections accepted: a trust policy needs four, and a
/// parser fed thousands of `[` takes quadratic time.
pub const MAX_NESTING: usize = 32;

/// One validated rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Unique name, used in reports.
    pub name: String,
    /// Scope patterns, normalised.
    pub scopes: Vec<Pattern>,
    /// Trusted signers. Empty trusts nobody.
    pub trusted_signers: Vec<TrustedSigner>,
    /// True when the signers came from the command line (the rule listed none).
    pub signers_from_command_line: bool,
    /// Signed metadata keys every counted statement must carry, each with an optional rule
    /// its value must follow.
    pub required_metadata: Vec<RequiredMetadata>,
    /// Distinct trusted signers needed (at least 1).
    pub min_signatures: usize,
    /// Principals revoked by this rule (every rule's revocations apply everywhere).
    pub revoked: BTreeSet<Principal>,
}

impl Rule {
    /// The entry of this rule that trusts `signer`, if any.
    pub fn trusting(&self, signer: &SignerId) -> Option<&TrustedSigner> {
        self.trusted_signers.iter().find(|t| t.trusts(signer))
    }

    /// How the rule's signers read in a report.
    pub fn signers_summary(&self) -> String {
        if self.trusted_signers.is_empty() {
            return "none: the rule lists no trusted_signers and none were given on the command line, so it trusts nobody".into();
        }
        let list: Vec<String> = self
            .trusted_signers
            .iter()
            .map(TrustedSigner::describe)
            .collect();
        let from = if self.signers_from_command_line {
            "from the command line"
        } else {
            "listed in the policy"
        };
        format!("{} {from}: {}", list.len(), list.join("; "))
    }
}

/// Signers given on the command line: `--public-key`, `--certificate-identity` +
/// `--certificate-oidc-issuer`, `--certificate-chain`.
#[derive(Clone, Debug, Default)]
pub struct CommandLineTrust {
    /// The signers.
    pub signers: Vec<TrustedSigner>,
}

/// A validated trust policy, from a file or from command-line flags.
#[derive(Clone, Debug)]
pub struct TrustPolicy {
    /// Where it came from (a file path, or `command line`), for messages.
    pub origin: String,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// Key material for identifying key signers: every listed key, every command-line key, and
    /// keys given only to identify revoked signatures. Having material never means trust.
    pub keyring: Vec<PublicKey>,
    /// Every revoked principal: key ids and keyless identities (all rules, plus revocations
    /// added by the caller). A signature that merely *claims* one of them is refused.
    pub revoked: BTreeSet<Principal>,
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
    /// A list of keys, or a map of key to value rule (read in [`required_metadata`]).
    #[serde(default)]
    required_metadata: Option<serde_json::Value>,
    min_signatures: Option<i64>,
    #[serde(default)]
    revoked: Vec<RawRevoked>,
}

/// A `revoked:` entry: a key id as a string, or `{key_id}`, `{public_key}` (a PEM file or text),
/// `{identity, issuer}` (a keyless signer).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawRevoked {
    Id(String),
    Entry(RawRevokedEntry),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRevokedEntry {
    key_id: Option<String>,
    public_key: Option<String>,
    identity: Option<String>,
    issuer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigner {
    public_key: Option<String>,
    key_id: Option<String>,
    identity: Option<String>,
    issuer: Option<String>,
    certificate_chain: Option<String>,
}

/// A policy's `public_key` value: PEM text, or a file relative to the policy's folder.
fn load_key(base: &Path, pk: &str) -> Result<PublicKey, keys::Error> {
    if pk.contains("-----BEGIN") {
        return keys::public_key_from_pem(pk);
    }
    let p = Path::new(pk);
    if p.is_absolute() {
        keys::load_public_key(p)
    } else {
        keys::load_public_key(&base.join(p))
    }
}

/// Reads `required_metadata`: a list of keys (`[author, training_data_hash]`), or a map of key to
/// value rule (`{framework: [pytorch, jax], author: "team-*", h: "^sha256:[0-9a-f]{64}$"}`; a
/// null value requires the key only). Errors are (field suffix, text to find the line by, detail).
fn required_metadata(
    raw: Option<&serde_json::Value>,
) -> Result<Vec<RequiredMetadata>, (String, String, String)> {
    use serde_json::Value;
    let empty_key = |field: String| {
        (
            field,
            "required_metadata".to_owned(),
            "is an empty key".to_owned(),
        )
    };
    let mut out = Vec::new();
    match raw {
        None | Some(Value::Null) => {}
        Some(Value::Array(keys)) => {
            for (j, k) in keys.iter().enumerate() {
                let Some(k) = k.as_str() else {
                    return Err((
                        format!("[{j}]"),
                        "required_metadata".into(),
                        "is not a string; list metadata keys, or write a map of key: rule".into(),
                    ));
                };
                if k.trim().is_empty() {
                    return Err(empty_key(format!("[{j}]")));
                }
                out.push(RequiredMetadata {
                    key: k.to_owned(),
                    rule: None,
                });
            }
        }
        Some(Value::Object(map)) => {
            for (k, v) in map {
                if k.trim().is_empty() {
                    return Err(empty_key(String::new()));
                }
                let field = format!(".{k}");
                let not_string = || {
                    (
                        field.clone(),
                        k.clone(),
                        format!(
                            "has a value rule that is not a string or a list of strings; quote it (e.g. {k}: \"1.0\")"
                        ),
                    )
                };
                let rule = match v {
                    Value::Null => None,
                    Value::String(s) => Some(ValueRule::parse_str(s).map_err(|why| {
                        (
                            field.clone(),
                            k.clone(),
                            format!("(metadata key `{k}`): {why}"),
                        )
                    })?),
                    Value::Array(values) => {
                        let values = values
                            .iter()
                            .map(|v| v.as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(not_string)?;
                        if values.is_empty() {
                            return Err((
                                field,
                                k.clone(),
                                format!(
                                    "(metadata key `{k}`) allows no value: an empty list could never pass; list the allowed values"
                                ),
                            ));
                        }
                        Some(ValueRule::OneOf(values))
                    }
                    _ => return Err(not_string()),
                };
                out.push(RequiredMetadata {
                    key: k.clone(),
                    rule,
                });
            }
        }
        Some(_) => {
            return Err((
                String::new(),
                "required_metadata".into(),
                "must be a list of keys or a map of key: value rule".into(),
            ));
        }
    }
    Ok(out)
}

/// True for a 64-character hex key id.
pub fn is_key_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The 1-based line of the first occurrence of `needle` in `text`, if any.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    text.find(needle)
        .map(|i| text.get(..i).unwrap_or_default().matches('\n').count() + 1)
}

/// How many distinct signers a list can ever yield (a key and its id are one).
fn distinct_listed(signers: &[TrustedSigner]) -> usize {
    let mut keys = BTreeSet::new();
    let mut other = 0;
    for s in signers {
        match s {
            TrustedSigner::Key(k) => {
                keys.insert(k.id().to_owned());
            }
            TrustedSigner::KeyId(id) => {
                keys.insert(id.clone());
            }
            // An identity pattern or a PKI can stand for many signers.
            TrustedSigner::AnyKeylessInsecure | TrustedSigner::Pki { .. } => return usize::MAX,
            TrustedSigner::Keyless { identity, .. } => match identity {
                IdentityMatcher::Exact(_) => other += 1,
                IdentityMatcher::Regex(_) => return usize::MAX,
            },
        }
    }
    keys.len() + other
}

/// The deepest nesting of `[`/`{` outside quoted strings (a cheap bound before parsing).
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '[' | '{' => {
                depth += 1;
                max = max.max(depth);
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

impl TrustPolicy {
    /// The one-rule policy the command-line flags make: scope `*`, the given signers, one
    /// signature needed. No signers is an error (nothing could be trusted).
    pub fn from_command_line(cli: CommandLineTrust) -> Self {
        let keyring = cli
            .signers
            .iter()
            .filter_map(|s| match s {
                TrustedSigner::Key(k) => Some(k.clone()),
                _ => None,
            })
            .collect();
        TrustPolicy {
            origin: "command line".into(),
            rules: vec![Rule {
                name: "command-line".into(),
                scopes: vec![Pattern::new("*")],
                trusted_signers: cli.signers,
                signers_from_command_line: true,
                required_metadata: Vec::new(),
                min_signatures: 1,
                revoked: BTreeSet::new(),
            }],
            keyring,
            revoked: BTreeSet::new(),
        }
    }

    /// Reads and validates a policy file (YAML, or JSON when it starts with `{`); `cli` signers
    /// fill the rules that list none.
    pub fn load(path: &Path, cli: &CommandLineTrust) -> Result<Self, Error> {
        let bytes = crate::io::read_bounded(path, MAX_POLICY_SIZE).map_err(|e| match e {
            crate::io::BoundedReadError::TooLarge => Error::TooLarge {
                path: path.to_owned(),
            },
            crate::io::BoundedReadError::Io(source) => Error::Read {
                path: path.to_owned(),
                source,
            },
        })?;
        let text = String::from_utf8(bytes).map_err(|e| Error::Parse {
            path: path.to_owned(),
            line: None,
            detail: format!("not UTF-8 text ({e})"),
        })?;
        Self::from_str(&text, path, cli)
    }

    /// Parses and validates policy text; `origin` names the file in errors and is the base for
    /// relative `public_key` and `certificate_chain` paths.
    pub fn from_str(text: &str, origin: &Path, cli: &CommandLineTrust) -> Result<Self, Error> {
        let parse_err = |line: Option<usize>, detail: String| Error::Parse {
            path: origin.to_owned(),
            line,
            detail,
        };
        if nesting_depth(text) > MAX_NESTING {
            return Err(parse_err(
                None,
                format!("nested deeper than {MAX_NESTING} levels; a trust policy needs a handful"),
            ));
        }
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
                if s.len() > MAX_PATTERN_LEN {
                    return Err(invalid(
                        format!("{}[{j}]", at("scopes")),
                        "",
                        format!("is longer than {MAX_PATTERN_LEN} characters"),
                    ));
                }
                let pattern = Pattern::parse(s).map_err(|why| {
                    invalid(
                        format!("{}[{j}]", at("scopes")),
                        s,
                        format!("`{s}` can never match: {why}; write the registry host as a reference would name it"),
                    )
                })?;
                if let Some(other) = scopes_seen.insert(pattern.as_str().to_owned(), name.clone()) {
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
                match (
                    s.public_key,
                    s.key_id,
                    s.identity,
                    s.issuer,
                    s.certificate_chain,
                ) {
                    (Some(pk), None, None, None, None) => {
                        let key = load_key(base, &pk).map_err(|e| {
                            invalid(
                                format!("{f}.public_key"),
                                pk.lines().next().unwrap_or_default(),
                                format!("cannot be loaded: {e}"),
                            )
                        })?;
                        trusted_signers.push(TrustedSigner::Key(key));
                    }
                    (None, Some(id), None, None, None) => {
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
                    (None, None, Some(identity), Some(issuer), None) => {
                        for (field, v) in [("identity", &identity), ("issuer", &issuer)] {
                            if v.trim().is_empty() || v.trim() != v {
                                return Err(invalid(
                                    format!("{f}.{field}"),
                                    field,
                                    "is empty or has surrounding spaces".into(),
                                ));
                            }
                        }
                        trusted_signers.push(TrustedSigner::Keyless {
                            identity: IdentityMatcher::Exact(identity),
                            issuer,
                        });
                    }
                    (None, None, identity, None, Some(chain)) => {
                        let p = Path::new(&chain);
                        let p = if p.is_absolute() {
                            p.to_owned()
                        } else {
                            base.join(p)
                        };
                        let certs =
                            crate::formats::x509::Certificate::read_pem_file(&p).map_err(|e| {
                                invalid(
                                    format!("{f}.certificate_chain"),
                                    &chain,
                                    format!("cannot be loaded: {e}"),
                                )
                            })?;
                        trusted_signers.push(TrustedSigner::Pki {
                            anchors: PkiAnchors {
                                roots: certs.iter().map(|c| c.der().to_vec()).collect(),
                                origin: chain.clone(),
                            },
                            identity: identity.map(IdentityMatcher::Exact),
                        });
                    }
                    (None, None, Some(_), None, None) | (None, None, None, Some(_), None) => {
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
                            "needs exactly one of `public_key`, `key_id`, `identity` with `issuer`, or `certificate_chain` (with an optional `identity`)".into(),
                        ));
                    }
                }
            }
            let required_metadata = required_metadata(r.required_metadata.as_ref()).map_err(
                |(field, needle, detail)| {
                    invalid(
                        format!("{}{field}", at("required_metadata")),
                        &needle,
                        detail,
                    )
                },
            )?;
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
            let distinct = distinct_listed(&trusted_signers);
            if !trusted_signers.is_empty() && distinct < min_signatures {
                return Err(invalid(
                    at("min_signatures"),
                    "min_signatures",
                    format!(
                        "is {min_signatures} but only {} distinct trusted signer(s) are listed; it could never pass",
                        distinct
                    ),
                ));
            }
            let mut revoked = BTreeSet::new();
            for (j, entry) in r.revoked.into_iter().enumerate() {
                let f = format!("{}[{j}]", at("revoked"));
                let bad_id = |id: &str| {
                    invalid(
                        f.clone(),
                        id,
                        format!(
                            "`{id}` is not a key id (64 hex characters, the SHA-256 of the PEM public key)"
                        ),
                    )
                };
                let principal = match entry {
                    RawRevoked::Id(id)
                    | RawRevoked::Entry(RawRevokedEntry {
                        key_id: Some(id),
                        public_key: None,
                        identity: None,
                        issuer: None,
                    }) => {
                        if !is_key_id(&id) {
                            return Err(bad_id(&id));
                        }
                        Principal::Key(id.to_ascii_lowercase())
                    }
                    RawRevoked::Entry(RawRevokedEntry {
                        key_id: None,
                        public_key: Some(pk),
                        identity: None,
                        issuer: None,
                    }) => {
                        let key = load_key(base, &pk).map_err(|e| {
                            invalid(
                                format!("{f}.public_key"),
                                pk.lines().next().unwrap_or_default(),
                                format!("cannot be loaded: {e}"),
                            )
                        })?;
                        Principal::Key(key.id().to_owned())
                    }
                    RawRevoked::Entry(RawRevokedEntry {
                        key_id: None,
                        public_key: None,
                        identity: Some(identity),
                        issuer: Some(issuer),
                    }) if !identity.trim().is_empty() && !issuer.trim().is_empty() => {
                        Principal::Keyless { identity, issuer }
                    }
                    RawRevoked::Entry(_) => {
                        return Err(invalid(
                            f,
                            "revoked",
                            "needs a key id, or exactly one of `key_id`, `public_key`, or `identity` with `issuer`".into(),
                        ));
                    }
                };
                revoked.insert(principal);
            }
            let from_cli = trusted_signers.is_empty() && !cli.signers.is_empty();
            if from_cli {
                trusted_signers = cli.signers.clone();
            }
            rules.push(Rule {
                name,
                scopes: r.scopes.iter().map(|s| Pattern::new(s)).collect(),
                trusted_signers,
                signers_from_command_line: from_cli,
                required_metadata,
                min_signatures,
                revoked,
            });
        }
        // Two patterns of different rules with the same rank that can match one name would let
        // file order decide: refuse them.
        for (i, a) in rules.iter().enumerate() {
            for b in rules.iter().skip(i + 1) {
                for pa in &a.scopes {
                    for pb in &b.scopes {
                        if pa.rank() == pb.rank() && pa.overlaps(pb) {
                            return Err(invalid(
                                "policies".into(),
                                pb.as_str(),
                                format!(
                                    "scope `{pa}` of rule `{}` and scope `{pb}` of rule `{}` are equally specific and can match the same model; make one more specific (more literal characters) or merge the rules",
                                    a.name, b.name
                                ),
                            ));
                        }
                    }
                }
            }
        }
        let mut keyring: Vec<PublicKey> = Vec::new();
        for s in rules
            .iter()
            .flat_map(|r| r.trusted_signers.iter())
            .chain(cli.signers.iter())
        {
            if let TrustedSigner::Key(k) = s
                && !keyring.iter().any(|have| have.id() == k.id())
            {
                keyring.push(k.clone());
            }
        }
        let revoked = rules
            .iter()
            .flat_map(|r| r.revoked.iter().cloned())
            .collect();
        Ok(Self {
            origin: origin.display().to_string(),
            rules,
            keyring,
            revoked,
        })
    }

    /// Adds key material (e.g. `--public-key` keys and revoked keys given as files): it lets
    /// signatures be attributed, never trusted.
    pub fn add_key_material(&mut self, keys: impl IntoIterator<Item = PublicKey>) {
        for k in keys {
            if !self.keyring.iter().any(|have| have.id() == k.id()) {
                self.keyring.push(k);
            }
        }
    }

    /// Revokes more key ids (revocation lists), for every scope.
    pub fn revoke(&mut self, ids: impl IntoIterator<Item = String>) {
        self.revoked.extend(
            ids.into_iter()
                .map(|i| Principal::Key(i.to_ascii_lowercase())),
        );
    }

    /// The revoked principals among a bundle's claims, verified or not (the claims come from
    /// `verify::crypto::claims`).
    pub fn revoked_claims(&self, claims: &[Principal]) -> Vec<Principal> {
        claims
            .iter()
            .filter(|c| self.revoked.contains(c))
            .cloned()
            .collect()
    }

    /// The rule for a scope and the pattern that chose it: the most specific match.
    pub fn rule_for(&self, scope: &Scope) -> Option<(&Rule, &Pattern)> {
        self.rules
            .iter()
            .flat_map(|r| r.scopes.iter().map(move |p| (r, p)))
            .filter(|(_, p)| p.matches(scope))
            .max_by_key(|(_, p)| p.rank())
    }

    /// True when some rule trusts keyless (Sigstore) signers, so a trusted root is needed.
    pub fn needs_sigstore_root(&self) -> bool {
        self.rules
            .iter()
            .flat_map(|r| r.trusted_signers.iter())
            .any(|s| {
                matches!(
                    s,
                    TrustedSigner::Keyless { .. } | TrustedSigner::AnyKeylessInsecure
                )
            })
    }

    /// Every private-PKI trust anchor any rule lists (for attributing certificate signatures).
    pub fn pki_anchors(&self) -> Vec<&PkiAnchors> {
        self.rules
            .iter()
            .flat_map(|r| r.trusted_signers.iter())
            .filter_map(|s| match s {
                TrustedSigner::Pki { anchors, .. } => Some(anchors),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const ID_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn policy(text: &str) -> Result<TrustPolicy, Error> {
        TrustPolicy::from_str(text, Path::new("p.yaml"), &CommandLineTrust::default())
    }

    fn scope(s: &str) -> Scope {
        Scope::registry(s.split_once('/').unwrap().0, s.split_once('/').unwrap().1)
    }

    #[test]
    fn most_specific_scope_wins() {
        let p = policy(
            "version: 1\npolicies:\n- name: all\n  scopes: ['*']\n- name: acme\n  scopes: ['ghcr.io/acme/*']\n- name: bert\n  scopes: ['ghcr.io/acme/bert']\n- name: prod\n  scopes: ['ghcr.io/acme/*-prod']\n",
        )
        .unwrap();
        assert_eq!(
            p.rule_for(&scope("ghcr.io/acme/bert")).unwrap().0.name,
            "bert"
        );
        assert_eq!(
            p.rule_for(&scope("ghcr.io/acme/gpt")).unwrap().0.name,
            "acme"
        );
        assert_eq!(
            p.rule_for(&scope("ghcr.io/acme/gpt-prod")).unwrap().0.name,
            "prod"
        );
        assert_eq!(p.rule_for(&Scope::on_disk("m.pt")).unwrap().0.name, "all");
    }

    #[test]
    fn host_spellings_cannot_dodge_a_rule() {
        let p = policy(
            "version: 1\npolicies:\n- name: all\n  scopes: ['*']\n- name: acme\n  scopes: ['GHCR.io/acme/*']\n",
        )
        .unwrap();
        for host in ["GHCR.IO", "ghcr.io:443", "ghcr.io."] {
            let s = Scope::registry(host, "acme/m");
            assert_eq!(p.rule_for(&s).unwrap().0.name, "acme", "{host}");
        }
    }

    #[test]
    fn equally_specific_overlapping_scopes_are_refused_naming_both_rules() {
        let e = policy(
            "version: 1\npolicies:\n- name: one\n  scopes: ['acme/*x']\n- name: two\n  scopes: ['acme/x*']\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`one`") && e.contains("`two`"), "{e}");
        // Equal rank but disjoint: fine.
        policy("version: 1\npolicies:\n- name: one\n  scopes: ['a/*']\n- name: two\n  scopes: ['b/*']\n")
            .unwrap();
    }

    #[test]
    fn a_rule_without_signers_trusts_nobody() {
        let p = policy("version: 1\npolicies:\n- name: rest\n  scopes: ['*']\n").unwrap();
        assert!(p.rules[0].trusted_signers.is_empty());
        let key = SignerId::Key {
            key_id: ID_A.into(),
        };
        assert!(p.rules[0].trusting(&key).is_none());
    }

    #[test]
    fn command_line_signers_fill_only_rules_that_list_none() {
        let cli = CommandLineTrust {
            signers: vec![TrustedSigner::KeyId(ID_A.into())],
        };
        let b = "b".repeat(64);
        let p = TrustPolicy::from_str(
            &format!("version: 1\npolicies:\n- name: prod\n  scopes: ['reg/*']\n  trusted_signers: [{{key_id: {b}}}]\n- name: rest\n  scopes: ['*']\n"),
            Path::new("p.yaml"),
            &cli,
        )
        .unwrap();
        let a = SignerId::Key {
            key_id: ID_A.into(),
        };
        assert!(p.rules[0].trusting(&a).is_none());
        assert!(p.rules[1].trusting(&a).is_some());
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
    fn deep_nesting_is_refused_quickly() {
        let text = format!("version: 1\npolicies: {}", "[".repeat(1_000_000));
        let t = std::time::Instant::now();
        let e = policy(&text).unwrap_err().to_string();
        assert!(e.contains("nested deeper"), "{e}");
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }
}

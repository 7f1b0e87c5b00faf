//! The one evaluator: every trust decision of `verify` (disk and REF), `pull` and `audit` is made
//! here. Per signature it runs the ordered checks: attribute the signer cryptographically, decide
//! whether the covering rule trusts that signer (and that it is not revoked) **before** anything
//! the signed statement asks for, then the statement and the artifact. Over all signatures of one
//! artifact the rule's thresholds decide.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::formats::bundle::Bundle;
use crate::formats::statement::Statement;
use crate::oci::ModelManifest;
use crate::trust::policy::{Rule, TrustPolicy};
use crate::trust::root::TrustRoot;
use crate::trust::scope::Scope;
use crate::trust::signer::{Principal, SignerId, TrustedSigner};
use crate::verify::check::{Check, CheckOutcome, Checks};
use crate::verify::crypto::{self, Identified, Material};
use crate::verify::{Error, artifact};

/// What a signature is checked against once its signer is trusted.
pub enum Target<'a> {
    /// A model on disk: its files are hashed as the statement's serialization says.
    Files {
        /// The model file or folder.
        model: &'a Path,
        /// The signature file (never a resource).
        signature_path: Option<PathBuf>,
        /// The verifier's model options.
        options: &'a crate::verify::FileOptions,
        /// Called with byte counts as the model is hashed.
        progress: &'a (dyn Fn(u64) + Sync),
    },
    /// A model manifest: the statement must bind its digest, its layers must be the resources.
    Manifest {
        /// The resolved manifest digest.
        digest: &'a str,
        /// The manifest, when it was fetched (audit of a lone referrer may have only its digest).
        manifest: Option<&'a ModelManifest>,
    },
    /// Nothing to compare with (a signature audited without its model): the statement's claims
    /// are reported as signed by the signer, nothing more.
    Claims,
}

/// The verdict on one signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureStatus {
    /// Every check passed and the covering rule trusts the signer: it counts.
    Trusted,
    /// The signer is not one the covering rule trusts (or cannot be attributed at all).
    UntrustedSigner,
    /// Made (or claimed to be made) by a revoked key.
    Revoked,
    /// A check failed: the bundle, statement or artifact is not intact.
    Failed,
}

/// One signature and what came of checking it.
#[derive(Clone, Debug, Serialize)]
pub struct SignatureVerdict {
    /// Where the signature came from (a file path or a referrer digest).
    pub source: String,
    /// The verdict.
    pub status: SignatureStatus,
    /// True when the signature counts (status `trusted`).
    pub verified: bool,
    /// The signer, as verification established it.
    pub signer: Option<SignerId>,
    /// What the bundle claims about its signer when it could not be attributed (unverified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_signer: Option<String>,
    /// For a revoked key: whether its signature verified (a claim alone proves nothing).
    #[serde(skip)]
    pub revoked_verified: bool,
    /// The revoked keys or identities this signature names (`key <id>`, `keyless <san> (<iss>)`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revoked: Vec<String>,
    /// The trusted signing time (the log's integrated time, RFC 3339); none for keys.
    pub signed_at: Option<String>,
    /// `manifest` (the statement binds the manifest digest) or `files` (signed on disk).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<String>,
    /// The statement subject name (signed, once the statement check ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The subject's root digest, `sha256:<hex>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_digest: Option<String>,
    /// The predicate type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// Signed metadata (only from statements whose signer is trusted).
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Resources signed.
    pub resources: usize,
    /// The checks, in order; the first failure ends the run.
    pub checks: Checks,
    /// The statement, when it was read.
    #[serde(skip)]
    pub statement: Option<Statement>,
    /// The bundle, so `pull` can save the one the decision rests on.
    #[serde(skip)]
    pub bundle: Option<Bundle>,
}

impl SignatureVerdict {
    fn new(source: &str) -> Self {
        Self {
            source: source.to_owned(),
            status: SignatureStatus::Failed,
            verified: false,
            signer: None,
            claimed_signer: None,
            revoked_verified: false,
            revoked: Vec::new(),
            signed_at: None,
            binding: None,
            subject: None,
            root_digest: None,
            predicate_type: None,
            metadata: Default::default(),
            resources: 0,
            checks: Checks::default(),
            statement: None,
            bundle: None,
        }
    }

    /// The signer's label, or the claim for an unattributed signature.
    pub fn signer_label(&self) -> Option<String> {
        self.signer
            .as_ref()
            .map(SignerId::label)
            .or_else(|| self.claimed_signer.clone())
    }

    fn absorb(&mut self, st: &Statement) {
        self.subject = Some(st.name.clone());
        self.root_digest =
            Some(format!("sha256:{}", st.root_digest)).filter(|_| !st.root_digest.is_empty());
        self.predicate_type = Some(st.predicate_type.clone());
        self.metadata = st.user_metadata();
        self.resources = st.resources.len();
    }
}

/// The verdict on one artifact: chain-level checks, each signature, then the rule's checks.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// What was verified (a path or a reference).
    pub target: String,
    /// The scope it was matched under.
    pub scope: Scope,
    /// The rule that covers it.
    pub rule: Option<String>,
    /// Where the rule came from (a policy file, or the command line).
    pub policy: String,
    /// The resolved manifest digest (OCI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// True when every chain check and every rule check passed.
    pub verified: bool,
    /// Chain-level checks (`resolve`, `manifest`, `referrers`) then the rule checks.
    pub checks: Checks,
    /// Every signature found, trusted or not.
    pub signatures: Vec<SignatureVerdict>,
    /// True when more signatures existed than were examined (the cap was hit).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Verdict {
    /// The check that explains a failed verdict: a failed chain check; else, when no signature
    /// counted, the first signature's failed check (the cause); else the failed rule check.
    pub fn failed_check(&self) -> Option<&CheckOutcome> {
        let chain = self
            .checks
            .0
            .iter()
            .find(|c| !c.passed && !c.name.is_policy());
        let rule = self.checks.failed();
        let signature = || self.signatures.iter().find_map(|s| s.checks.failed());
        chain.or_else(|| match self.counted().next() {
            None => signature().or(rule),
            Some(_) => rule.or_else(signature),
        })
    }

    /// The signatures that count for the rule.
    pub fn counted(&self) -> impl Iterator<Item = &SignatureVerdict> {
        self.signatures
            .iter()
            .filter(|s| s.status == SignatureStatus::Trusted)
    }
}

/// The one verifier: a trust policy plus the trusted material it needs (DESIGN 1.5). `verify`
/// (disk and REF), `pull`, `audit` and the Python package decide through it.
#[derive(Clone, Debug)]
pub struct Verifier {
    /// The policy (from a file or from command-line flags).
    pub policy: TrustPolicy,
    /// The Sigstore trusted root, when some rule trusts keyless signers.
    pub sigstore_root: Option<TrustRoot>,
}

/// A verifier that could never decide as its policy says (refused at construction, exit 2).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A rule trusts keyless signers but no Sigstore trusted root was given.
    #[error(
        "policy {0} trusts keyless (Sigstore) signers but no trusted root was loaded; load one with trust::root::load (the embedded root, or --trust-root FILE)"
    )]
    MissingSigstoreRoot(String),
}

/// Why a [`TrustSpec`](crate::trust::TrustSpec) cannot become a verifier.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The specification is invalid (exit 2).
    #[error(transparent)]
    Spec(#[from] crate::trust::SpecError),
    /// The Sigstore trusted root could not be loaded.
    #[error(transparent)]
    Root(#[from] crate::trust::root::Error),
    /// The policy and the root do not fit together.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl BuildError {
    /// Exit-code class.
    pub fn class(&self) -> crate::Class {
        match self {
            BuildError::Spec(e) => e.class(),
            BuildError::Root(e) => e.class(),
            BuildError::Config(_) => crate::Class::Input,
        }
    }
}

impl Verifier {
    /// The verifier a trust specification describes: its policy, and the Sigstore trusted root
    /// loaded (pinned, cached or embedded) only when a rule trusts keyless signers or a root is
    /// pinned. Every command and binding builds its verifier this way. `warn` receives notes
    /// (an insecure identity check, a stale cached root).
    pub fn from_spec(
        spec: &crate::trust::TrustSpec,
        warn: &dyn Fn(&str),
    ) -> Result<Self, BuildError> {
        let policy = spec.policy(warn)?;
        let root = if spec.needs_sigstore_root(&policy) {
            Some(crate::trust::root::load(&spec.root_options(), warn)?)
        } else {
            None
        };
        Ok(Self::new(policy, root)?)
    }

    /// A verifier over a policy and, for keyless signers, a trusted root; validated as
    /// sigstore-go's `NewVerifier` is: a policy trusting keyless signers needs the root.
    pub fn new(policy: TrustPolicy, sigstore_root: Option<TrustRoot>) -> Result<Self, ConfigError> {
        if policy.needs_sigstore_root() && sigstore_root.is_none() {
            return Err(ConfigError::MissingSigstoreRoot(policy.origin.clone()));
        }
        Ok(Self {
            policy,
            sigstore_root,
        })
    }

    /// The rule covering `scope`, and the `policy:scope` check saying which (or that none does).
    pub fn rule_for(&self, scope: &Scope) -> (Option<&Rule>, CheckOutcome) {
        match self.policy.rule_for(scope) {
            Some((rule, pattern)) => (
                Some(rule),
                CheckOutcome::pass(
                    Check::PolicyScope,
                    format!(
                        "rule `{}` (scope `{pattern}`) of {} covers `{scope}`; trusted signers: {}",
                        rule.name,
                        self.policy.origin,
                        rule.signers_summary()
                    ),
                ),
            ),
            None => (
                None,
                CheckOutcome::fail(
                    Check::PolicyScope,
                    format!(
                        "no rule of policy {} covers scope `{scope}`; add a rule whose scopes match it (or `*`)",
                        self.policy.origin
                    ),
                ),
            ),
        }
    }

    fn material(&self) -> Material<'_> {
        Material {
            keyring: &self.policy.keyring,
            sigstore: self.sigstore_root.as_ref(),
            pki: self.policy.pki_anchors(),
        }
    }

    /// Checks one signature for the artifact `target` under `rule`. `Err` only for failures of
    /// the environment (a model file that cannot be read); every verdict about the signature
    /// itself is in the result.
    pub fn check_signature(
        &self,
        rule: &Rule,
        source: &str,
        bundle: &Bundle,
        target: &Target<'_>,
    ) -> Result<SignatureVerdict, Error> {
        let mut v = SignatureVerdict::new(source);
        let (pae, sigs) = match bundle.dsse_envelope.signed_parts() {
            Ok(p) => p,
            Err(e) => {
                v.checks.fail(Check::Bundle, e.to_string());
                return Ok(v);
            }
        };
        // Revocation fails closed, on what the bundle claims: a signature naming a revoked key
        // or identity is refused whether or not it verifies (a claim can only make the verdict
        // stricter). Whether it verified is still established, for incident response.
        let revoked = self.policy.revoked_claims(&crypto::claims(bundle));
        if let Some(first) = revoked.first() {
            let mut scratch = Checks::default();
            let verified = match crypto::identify(bundle, &self.material(), &mut scratch) {
                Identified::Signer { id, leaf_spki, .. } => {
                    let ok =
                        leaf_spki.is_none_or(|spki| signed_by_spki(bundle, &spki, &pae, &sigs));
                    if ok {
                        v.signer = Some(id);
                    }
                    ok
                }
                _ => false,
            };
            v.status = SignatureStatus::Revoked;
            v.revoked_verified = verified;
            v.claimed_signer = Some(principal_text(first));
            v.revoked = revoked.iter().map(ToString::to_string).collect();
            v.checks.fail(
                Check::Revoked,
                format!(
                    "the bundle names revoked {first} (policy {}); {}",
                    self.policy.origin,
                    if verified {
                        "its signature verifies: the revoked key signed it"
                    } else {
                        "its signature was not verified; a signature claiming a revoked key is refused either way"
                    }
                ),
            );
            return Ok(v);
        }
        let (id, leaf_spki) = match crypto::identify(bundle, &self.material(), &mut v.checks) {
            Identified::Failed => return Ok(v),
            Identified::Unattributed {
                check,
                claimed,
                detail,
            } => {
                v.status = SignatureStatus::UntrustedSigner;
                v.checks.fail(check, detail);
                v.claimed_signer = Some(claimed);
                return Ok(v);
            }
            Identified::Signer {
                id,
                leaf_spki,
                signed_at,
            } => {
                v.signed_at = signed_at.map(crate::formats::x509::fmt_time);
                (id, leaf_spki)
            }
        };
        v.signer = Some(id.clone());
        // A certificate's key verifies the DSSE signature here, where a bare key's did during
        // attribution: the `signature` step has one place in the order for every signer.
        if let Some(spki) = leaf_spki {
            if !signed_by_spki(bundle, &spki, &pae, &sigs) {
                v.checks.fail(
                    Check::Signature,
                    "the DSSE signature does not verify with the certificate's key: the signed payload or signature was altered",
                );
                return Ok(v);
            }
            v.checks.pass(
                Check::Signature,
                format!("DSSE signature by {}", id.label()),
            );
        }
        // Revocation and trust are decided before the statement is read.
        let principal = id.principal();
        if self.policy.revoked.contains(&principal) {
            v.status = SignatureStatus::Revoked;
            v.revoked_verified = true;
            v.revoked = vec![principal.to_string()];
            v.checks.fail(
                Check::Revoked,
                format!(
                    "{principal} is revoked (policy {}); its signatures are never trusted",
                    self.policy.origin
                ),
            );
            return Ok(v);
        }
        if !self.trust_check(rule, &id, &mut v.checks) {
            v.status = SignatureStatus::UntrustedSigner;
            return Ok(v);
        }
        let payload = match bundle.dsse_envelope.payload_bytes() {
            Ok(p) => p,
            Err(e) => {
                v.checks.fail(Check::Statement, e.to_string());
                return Ok(v);
            }
        };
        let st = match Statement::parse(&payload) {
            Ok(st) => st,
            Err(e) => {
                v.checks.fail(Check::Statement, e.to_string());
                return Ok(v);
            }
        };
        v.absorb(&st);
        v.checks.pass(
            Check::Statement,
            format!(
                "{} with {} resources, subject {}",
                st.predicate_type,
                st.resources.len(),
                st.name
            ),
        );
        let intact = match target {
            Target::Files {
                model,
                signature_path,
                options,
                progress,
            } => artifact::check_files(
                &st,
                model,
                signature_path.clone(),
                options,
                progress,
                &mut v.checks,
            )?,
            Target::Manifest { digest, manifest } => {
                let b = artifact::check_binding(&st, digest, &mut v.checks);
                v.binding = b.map(str::to_owned);
                b.is_some()
                    && manifest.is_none_or(|m| artifact::check_layers(&st, m, &mut v.checks))
            }
            Target::Claims => true,
        };
        if intact {
            v.status = SignatureStatus::Trusted;
            v.verified = true;
            v.bundle = Some(bundle.clone());
        }
        v.statement = Some(st);
        Ok(v)
    }

    /// The trust decision for an attributed signer; records `identity`/`issuer` (keyless) or
    /// `signer`, and returns whether the rule trusts it.
    fn trust_check(&self, rule: &Rule, id: &SignerId, checks: &mut Checks) -> bool {
        if let SignerId::Keyless { identity, issuer } = id {
            if rule
                .trusted_signers
                .iter()
                .any(|t| matches!(t, TrustedSigner::AnyKeylessInsecure))
            {
                checks.pass(
                    Check::Identity,
                    format!(
                        "NOT CHECKED (--insecure-skip-identity-check); certificate names {identity}"
                    ),
                );
                checks.pass(
                    Check::Issuer,
                    format!(
                        "NOT CHECKED (--insecure-skip-identity-check); certificate issuer {issuer}"
                    ),
                );
                return true;
            }
            let by_identity: Vec<&TrustedSigner> = rule
                .trusted_signers
                .iter()
                .filter(|t| match t {
                    TrustedSigner::Keyless { identity: m, .. } => m.matches(identity),
                    _ => false,
                })
                .collect();
            let Some(first) = by_identity.first() else {
                let wanted: Vec<String> = rule
                    .trusted_signers
                    .iter()
                    .filter_map(|t| match t {
                        TrustedSigner::Keyless { identity, .. } => Some(identity.to_string()),
                        _ => None,
                    })
                    .collect();
                checks.fail(
                    Check::Identity,
                    if wanted.is_empty() {
                        format!("certificate identity {identity} ({issuer}) is not trusted: rule `{}` trusts no keyless signer", rule.name)
                    } else {
                        format!(
                            "certificate identity {identity} does not match {} (rule `{}`)",
                            wanted.join(" or "),
                            rule.name
                        )
                    },
                );
                return false;
            };
            let matched = by_identity.iter().find(|t| t.trusts(id)).unwrap_or(first);
            if let TrustedSigner::Keyless { identity: m, .. } = matched {
                checks.pass(
                    Check::Identity,
                    format!(
                        "certificate identity {identity} matches {m} (rule `{}`)",
                        rule.name
                    ),
                );
            }
            if matched.trusts(id) {
                checks.pass(Check::Issuer, format!("OIDC issuer {issuer}"));
                return true;
            }
            let wanted = match matched {
                TrustedSigner::Keyless { issuer, .. } => issuer.as_str(),
                _ => "",
            };
            checks.fail(
                Check::Issuer,
                format!("OIDC issuer is {issuer}, expected {wanted}"),
            );
            return false;
        }
        if let SignerId::Certificate {
            anchor, identities, ..
        } = id
        {
            // A PKI entry naming an identity, whose anchors this certificate reached: the SAN
            // is the question, and the `identity` check answers it.
            let named: Vec<String> = rule
                .trusted_signers
                .iter()
                .filter_map(|t| match t {
                    TrustedSigner::Pki {
                        anchors,
                        identity: Some(m),
                    } if anchors.contains(anchor) => Some(m.to_string()),
                    _ => None,
                })
                .collect();
            if !named.is_empty() {
                let ids = if identities.is_empty() {
                    "<none>".to_owned()
                } else {
                    identities.join(", ")
                };
                if rule.trusting(id).is_none() {
                    checks.fail(
                        Check::Identity,
                        format!(
                            "certificate identity {ids} does not match {} (rule `{}`)",
                            named.join(" or "),
                            rule.name
                        ),
                    );
                    return false;
                }
                checks.pass(
                    Check::Identity,
                    format!("certificate identity {ids} matches {}", named.join(" or ")),
                );
            }
        }
        match rule.trusting(id) {
            Some(t) => {
                checks.pass(
                    Check::Signer,
                    match t {
                        TrustedSigner::Key(_) | TrustedSigner::KeyId(_) => {
                            format!("{id} is trusted by rule `{}`", rule.name)
                        }
                        other => format!(
                            "{id} is trusted by rule `{}` ({})",
                            rule.name,
                            other.describe()
                        ),
                    },
                );
                true
            }
            None => {
                checks.fail(
                    Check::Signer,
                    format!(
                        "{id} made this signature, but rule `{}` does not trust it (trusted: {})",
                        rule.name,
                        rule.signers_summary()
                    ),
                );
                false
            }
        }
    }

    /// The rule's checks over every signature of one artifact: `policy:revoked`,
    /// `policy:min_signatures` (distinct trusted signers whose signature fully verified) and
    /// `policy:required_metadata` (on every counted statement).
    pub fn decide(&self, rule: &Rule, signatures: &[&SignatureVerdict]) -> Vec<CheckOutcome> {
        let mut out = Vec::new();
        // Every signature claiming a revoked principal refuses the artifact, verified or not.
        let revoked: BTreeSet<String> = signatures
            .iter()
            .filter(|s| s.status == SignatureStatus::Revoked)
            .flat_map(|s| {
                let how = if s.revoked_verified {
                    "signed by"
                } else {
                    "claims (signature not verified)"
                };
                s.revoked.iter().map(move |p| format!("{how} revoked {p}"))
            })
            .collect();
        out.push(if revoked.is_empty() {
            CheckOutcome::pass(
                Check::PolicyRevoked,
                "no signature names a revoked key or identity",
            )
        } else {
            CheckOutcome::fail(
                Check::PolicyRevoked,
                format!(
                    "{}; the model is refused even if other signers are trusted (revocation fails closed)",
                    revoked.into_iter().collect::<Vec<_>>().join(", ")
                ),
            )
        });
        let counted: Vec<&&SignatureVerdict> = signatures
            .iter()
            .filter(|s| s.status == SignatureStatus::Trusted)
            .collect();
        // Distinct principals: one key is one signer whatever certificate or chain carried it,
        // one keyless identity is one signer whatever ephemeral key it used.
        let distinct: BTreeSet<Principal> = counted
            .iter()
            .filter_map(|s| s.signer.as_ref().map(SignerId::principal))
            .collect();
        let untrusted: BTreeSet<String> = signatures
            .iter()
            .filter(|s| s.status == SignatureStatus::UntrustedSigner)
            .filter_map(|s| s.signer.as_ref().map(SignerId::label))
            .collect();
        let mut detail = format!(
            "{} distinct trusted signer(s) verified, {} required",
            distinct.len(),
            rule.min_signatures
        );
        if !untrusted.is_empty() {
            detail.push_str(&format!(
                "; not counted (verified, but not trusted by rule `{}`): {}",
                rule.name,
                untrusted.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        if rule.trusted_signers.is_empty() {
            detail.push_str(&format!(
                "; rule `{}` lists no trusted_signers and none were given on the command line, so it trusts nobody (list signers in the policy, or pass --public-key FILE)",
                rule.name
            ));
        }
        out.push(CheckOutcome {
            name: Check::PolicyMinSignatures,
            passed: distinct.len() >= rule.min_signatures,
            detail,
        });
        if !rule.required_metadata.is_empty() {
            let mut missing: Vec<&str> = Vec::new();
            let mut broken: BTreeSet<String> = BTreeSet::new();
            for req in &rule.required_metadata {
                if counted.is_empty() {
                    missing.push(&req.key);
                    continue;
                }
                let mut lacks = false;
                for s in &counted {
                    match req.check(s.metadata.get(&req.key).map(String::as_str)) {
                        Ok(()) => {}
                        Err(None) => lacks = true,
                        Err(Some(why)) => {
                            broken.insert(why);
                        }
                    }
                }
                if lacks {
                    missing.push(&req.key);
                }
            }
            let keys: Vec<&str> = rule
                .required_metadata
                .iter()
                .map(|r| r.key.as_str())
                .collect();
            let mut problems = Vec::new();
            if !missing.is_empty() {
                problems.push(format!("signed metadata lacks {}", missing.join(", ")));
            }
            if !broken.is_empty() {
                problems.push(format!(
                    "signed metadata breaks the policy's value rules: {}",
                    broken.into_iter().collect::<Vec<_>>().join("; ")
                ));
            }
            out.push(CheckOutcome {
                name: Check::PolicyRequiredMetadata,
                passed: problems.is_empty(),
                detail: if problems.is_empty() {
                    format!("signed metadata has {}", keys.join(", "))
                } else if counted.is_empty() {
                    "no verified trusted statement to read metadata from".into()
                } else {
                    problems.join("; ")
                },
            });
        }
        out
    }

    /// Evaluates every signature of one artifact and the rule over them: the whole verdict.
    /// `chain` holds checks already made on the way to the signatures (`resolve`, ...).
    pub fn evaluate(
        &self,
        target_name: &str,
        scope: Scope,
        chain: Checks,
        bundles: &[(String, Result<Bundle, String>)],
        target: &Target<'_>,
    ) -> Result<Verdict, Error> {
        let mut verdict = Verdict {
            target: target_name.to_owned(),
            rule: None,
            policy: self.policy.origin.clone(),
            digest: None,
            verified: false,
            checks: chain,
            signatures: Vec::new(),
            truncated: false,
            scope,
        };
        let (rule, scope_check) = self.rule_for(&verdict.scope);
        let scope_passed = scope_check.passed;
        let Some(rule) = rule.filter(|_| scope_passed) else {
            verdict.checks.0.push(scope_check);
            return Ok(verdict);
        };
        verdict.rule = Some(rule.name.clone());
        for (source, bundle) in bundles {
            let sv = match bundle {
                Ok(b) => self.check_signature(rule, source, b, target)?,
                Err(detail) => {
                    let mut sv = SignatureVerdict::new(source);
                    sv.checks.fail(Check::Bundle, detail.clone());
                    sv
                }
            };
            verdict.signatures.push(sv);
        }
        verdict.checks.0.push(scope_check);
        let refs: Vec<&SignatureVerdict> = verdict.signatures.iter().collect();
        verdict.checks.0.extend(self.decide(rule, &refs));
        verdict.verified = verdict.checks.all_passed();
        Ok(verdict)
    }
}

/// True when the DSSE envelope is signed by the key `spki` (DER SubjectPublicKeyInfo). EC keys
/// (P-256/384/521) verify with their curve's hash, as model_signing signs; any other key type the
/// certificate crate understands is tried as is.
fn signed_by_spki(bundle: &Bundle, spki: &[u8], pae: &[u8], sigs: &[Vec<u8>]) -> bool {
    let by_key = crate::keys::PublicKey::from_spki_der(spki)
        .ok()
        .and_then(|k| bundle.dsse_envelope.verify_with_key(&k).ok().flatten())
        .is_some();
    by_key
        || sigs
            .iter()
            .any(|s| crate::verify::x509::verify_with_spki(spki, s, pae).is_ok())
}

/// A principal as a revoked entry reads (a key id alone, for keys, as revocation lists name them).
fn principal_text(p: &Principal) -> String {
    match p {
        Principal::Key(id) => id.clone(),
        Principal::Keyless { .. } => p.to_string(),
    }
}

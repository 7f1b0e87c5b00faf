//! The named verification steps and their outcomes: one enum, so a step's name is written once.

use serde::{Serialize, Serializer};

/// A verification step. Steps run in the order of [`ORDER`] (sigstore-go's: log, time, chain,
/// SCT, signature, then the signer's revocation and trust, statement, binding, artifact):
/// chain-level steps (`resolve`, `manifest`, `referrers`) first, the policy's rule checks last.
/// The trust steps (`revoked`, `identity`, `issuer`, `signer`) come before anything the signed
/// statement asks for; a signature is verified in one place (`signature`) for every kind of
/// signer. [`Checks`] refuses (in debug builds, so every test run) a step recorded out of order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Check {
    /// The tag or digest resolved to a manifest.
    Resolve,
    /// The model manifest was fetched, digest-checked and its layer paths are safe.
    Manifest,
    /// Signature referrers were found.
    Referrers,
    /// The signature is a readable Sigstore bundle.
    Bundle,
    /// A transparency-log entry from a trusted log.
    Tlog,
    /// The log's signed entry timestamp.
    TlogSet,
    /// The log inclusion proof and checkpoint.
    TlogInclusion,
    /// The certificate chains to a trusted CA at the signing time.
    CertificateChain,
    /// The certificate may sign (key usage / EKU).
    KeyUsage,
    /// The embedded signed certificate timestamp.
    Sct,
    /// The log entry's body is this signature and certificate.
    TlogBody,
    /// The DSSE signature over the exact payload.
    Signature,
    /// The signer's key is not revoked.
    Revoked,
    /// The keyless certificate's identity is one the rule trusts.
    Identity,
    /// The keyless certificate's OIDC issuer is the one the rule trusts with that identity.
    Issuer,
    /// The signer is trusted by the rule that covers the model (checked before any work the
    /// signature's contents ask for).
    Signer,
    /// The signed in-toto statement parses and is consistent.
    Statement,
    /// The statement binds the resolved manifest digest.
    Binding,
    /// The manifest's layer digests are the signed resources.
    Layers,
    /// The model on disk hashes to the signed resources.
    Model,
    /// A rule of the policy covers the model.
    PolicyScope,
    /// No signature by a revoked key.
    PolicyRevoked,
    /// Enough distinct trusted signers verified.
    PolicyMinSignatures,
    /// Every counted statement carries the required metadata.
    PolicyRequiredMetadata,
}

/// The order of every step, as data: a report's checks are always a subsequence of it.
pub const ORDER: [Check; 24] = [
    Check::Resolve,
    Check::Manifest,
    Check::Referrers,
    Check::Bundle,
    Check::Tlog,
    Check::TlogSet,
    Check::TlogInclusion,
    Check::CertificateChain,
    Check::KeyUsage,
    Check::Sct,
    Check::TlogBody,
    Check::Signature,
    Check::Revoked,
    Check::Identity,
    Check::Issuer,
    Check::Signer,
    Check::Statement,
    Check::Binding,
    Check::Layers,
    Check::Model,
    Check::PolicyScope,
    Check::PolicyRevoked,
    Check::PolicyMinSignatures,
    Check::PolicyRequiredMetadata,
];

impl Check {
    /// The step's position in [`ORDER`].
    pub fn rank(self) -> usize {
        ORDER.iter().position(|c| *c == self).unwrap_or(usize::MAX)
    }

    /// The step's name in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Resolve => "resolve",
            Check::Manifest => "manifest",
            Check::Referrers => "referrers",
            Check::Bundle => "bundle",
            Check::Tlog => "tlog",
            Check::TlogSet => "tlog-set",
            Check::TlogInclusion => "tlog-inclusion",
            Check::CertificateChain => "certificate-chain",
            Check::KeyUsage => "key-usage",
            Check::Sct => "sct",
            Check::TlogBody => "tlog-body",
            Check::Identity => "identity",
            Check::Issuer => "issuer",
            Check::Signer => "signer",
            Check::Revoked => "revoked",
            Check::Signature => "signature",
            Check::Statement => "statement",
            Check::Binding => "binding",
            Check::Layers => "layers",
            Check::Model => "model",
            Check::PolicyScope => "policy:scope",
            Check::PolicyRevoked => "policy:revoked",
            Check::PolicyMinSignatures => "policy:min_signatures",
            Check::PolicyRequiredMetadata => "policy:required_metadata",
        }
    }

    /// True for the rule checks (all reported, independent of each other).
    pub fn is_policy(self) -> bool {
        matches!(
            self,
            Check::PolicyScope
                | Check::PolicyRevoked
                | Check::PolicyMinSignatures
                | Check::PolicyRequiredMetadata
        )
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Check {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One step and its result.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CheckOutcome {
    /// The step.
    pub name: Check,
    /// Whether it passed.
    pub passed: bool,
    /// What was checked, or what went wrong.
    pub detail: String,
}

impl CheckOutcome {
    /// A passing step.
    pub fn pass(name: Check, detail: impl Into<String>) -> Self {
        Self {
            name,
            passed: true,
            detail: detail.into(),
        }
    }

    /// A failing step.
    pub fn fail(name: Check, detail: impl Into<String>) -> Self {
        Self {
            name,
            passed: false,
            detail: detail.into(),
        }
    }
}

/// An ordered list of outcomes; the first failure ends a signature's run.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Checks(pub Vec<CheckOutcome>);

impl Checks {
    /// Records a passing step.
    pub fn pass(&mut self, name: Check, detail: impl Into<String>) {
        self.record(CheckOutcome::pass(name, detail));
    }

    /// Records a failing step.
    pub fn fail(&mut self, name: Check, detail: impl Into<String>) {
        self.record(CheckOutcome::fail(name, detail));
    }

    /// Appends a step; in debug builds a step out of [`ORDER`] is a bug and panics, so the
    /// whole test suite holds the pipeline to its documented order.
    pub fn record(&mut self, outcome: CheckOutcome) {
        debug_assert!(
            self.0
                .last()
                .is_none_or(|last| last.name.rank() <= outcome.name.rank()),
            "check {} recorded after {}: out of verify::check::ORDER",
            outcome.name,
            self.0.last().map(|l| l.name.as_str()).unwrap_or_default()
        );
        self.0.push(outcome);
    }

    /// The first failed step.
    pub fn failed(&self) -> Option<&CheckOutcome> {
        self.0.iter().find(|c| !c.passed)
    }

    /// True when nothing failed (and something ran).
    pub fn all_passed(&self) -> bool {
        !self.0.is_empty() && self.0.iter().all(|c| c.passed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_lists_every_step_once_in_declaration_order() {
        let mut sorted = ORDER;
        sorted.sort();
        assert_eq!(sorted, ORDER, "the enum's declaration order is ORDER");
        for (i, c) in ORDER.iter().enumerate() {
            assert_eq!(c.rank(), i);
        }
    }
}

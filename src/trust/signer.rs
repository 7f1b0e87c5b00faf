//! Signers: who made a signature (established cryptographically, [`SignerId`]) and whom a rule
//! trusts ([`TrustedSigner`]). The three kinds are never compared as text: a key id, a keyless
//! identity and a private-PKI subject can never be mistaken for one another.

use std::fmt;

use serde::Serialize;

use crate::keys::PublicKey;
use crate::trust::identity::IdentityMatcher;

/// The signer of a signature, as its verification established it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SignerId {
    /// A key: the hex SHA-256 of its PEM public key (model_signing's `hint`).
    Key {
        /// The key id.
        key_id: String,
    },
    /// A keyless (Sigstore) signer: the Fulcio certificate's SAN and OIDC issuer.
    Keyless {
        /// The SAN identity (e-mail or URI).
        identity: String,
        /// The OIDC issuer URL.
        issuer: String,
    },
    /// A certificate from a private PKI. Who signed is the end entity's key (`key_id`); the
    /// anchor is only the path by which it was reached (trust matching uses it, thresholds and
    /// revocation never do: see [`SignerId::principal`]).
    Certificate {
        /// The end-entity key's id (hex SHA-256 of its SPKI PEM, as for a bare key).
        key_id: String,
        /// SHA-256 of the anchor certificate's DER, hex.
        anchor: String,
        /// The leaf's subject DN.
        subject: String,
        /// The leaf's SAN values.
        identities: Vec<String>,
    },
}

/// Who holds the signing key: what `min_signatures` counts and what a revocation names. One key
/// is one principal whether it signed as a bare key or inside any certificate, by any chain or
/// anchor; one keyless identity (SAN + issuer) is one principal whatever ephemeral key it used.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    /// A key, by its id.
    Key(String),
    /// A keyless identity and its OIDC issuer.
    Keyless {
        /// SAN identity.
        identity: String,
        /// OIDC issuer.
        issuer: String,
    },
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Key(id) => write!(f, "key {id}"),
            Principal::Keyless { identity, issuer } => write!(f, "keyless {identity} ({issuer})"),
        }
    }
}

impl SignerId {
    /// The principal behind this signer (see [`Principal`]).
    pub fn principal(&self) -> Principal {
        match self {
            SignerId::Key { key_id } | SignerId::Certificate { key_id, .. } => {
                Principal::Key(key_id.clone())
            }
            SignerId::Keyless { identity, issuer } => Principal::Keyless {
                identity: identity.clone(),
                issuer: issuer.clone(),
            },
        }
    }

    /// The key id, for a key signer.
    pub fn key_id(&self) -> Option<&str> {
        match self {
            SignerId::Key { key_id } => Some(key_id),
            _ => None,
        }
    }

    /// A one-line label (`key 3f5a...`, `alice@example.com (https://issuer)`).
    pub fn label(&self) -> String {
        match self {
            SignerId::Key { key_id } => key_id.clone(),
            SignerId::Keyless { identity, issuer } => format!("{identity} ({issuer})"),
            SignerId::Certificate {
                subject,
                identities,
                ..
            } => {
                if identities.is_empty() {
                    subject.clone()
                } else {
                    identities.join(", ")
                }
            }
        }
    }
}

impl fmt::Display for SignerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignerId::Key { key_id } => write!(f, "key {key_id}"),
            SignerId::Keyless { .. } => write!(f, "keyless {}", self.label()),
            SignerId::Certificate { anchor, .. } => write!(
                f,
                "certificate {} (anchor {})",
                self.label(),
                anchor.get(..16).unwrap_or(anchor)
            ),
        }
    }
}

/// A private PKI a rule trusts: its anchors, and optionally which identity must sign.
#[derive(Clone, Debug)]
pub struct PkiAnchors {
    /// DER certificates trusted as anchors.
    pub roots: Vec<Vec<u8>>,
    /// Where they came from (for reports).
    pub origin: String,
}

impl PkiAnchors {
    /// True when one of the anchors has this hex SHA-256 (of its DER).
    pub fn contains(&self, anchor: &str) -> bool {
        self.roots
            .iter()
            .any(|r| hex::encode(crate::hashing::sha256(r)) == anchor)
    }
}

/// One signer a rule trusts.
#[derive(Clone, Debug)]
pub enum TrustedSigner {
    /// A public key (its material checks signatures).
    Key(PublicKey),
    /// A key by id only: trusted, but its material must come from elsewhere (`--public-key`).
    KeyId(String),
    /// A keyless signer: SAN identity and exact OIDC issuer.
    Keyless {
        /// SAN identity, exact or regular expression.
        identity: IdentityMatcher,
        /// OIDC issuer URL, exact.
        issuer: String,
    },
    /// Any keyless signer the trusted root certifies (`--insecure-skip-identity-check`).
    AnyKeylessInsecure,
    /// Certificates that chain to these anchors (and name this identity, when given).
    Pki {
        /// The anchors.
        anchors: PkiAnchors,
        /// A SAN identity the leaf must carry.
        identity: Option<IdentityMatcher>,
    },
}

impl TrustedSigner {
    /// True when this entry trusts `signer`.
    pub fn trusts(&self, signer: &SignerId) -> bool {
        match (self, signer) {
            (TrustedSigner::Key(k), SignerId::Key { key_id }) => k.id() == key_id,
            (TrustedSigner::KeyId(id), SignerId::Key { key_id }) => id == key_id,
            (
                TrustedSigner::Keyless { identity, issuer },
                SignerId::Keyless {
                    identity: i,
                    issuer: s,
                },
            ) => issuer == s && identity.matches(i),
            (TrustedSigner::AnyKeylessInsecure, SignerId::Keyless { .. }) => true,
            (
                TrustedSigner::Pki { anchors, identity },
                SignerId::Certificate {
                    anchor, identities, ..
                },
            ) => {
                anchors.contains(anchor)
                    && identity
                        .as_ref()
                        .is_none_or(|m| identities.iter().any(|i| m.matches(i)))
            }
            _ => false,
        }
    }

    /// How the entry reads in a report.
    pub fn describe(&self) -> String {
        match self {
            TrustedSigner::Key(k) => format!("key {}", k.id()),
            TrustedSigner::KeyId(id) => format!("key {id}"),
            TrustedSigner::Keyless { identity, issuer } => format!("keyless {identity} ({issuer})"),
            TrustedSigner::AnyKeylessInsecure => "any keyless identity (INSECURE)".into(),
            TrustedSigner::Pki { anchors, identity } => match identity {
                Some(m) => format!("certificates from {} naming {m}", anchors.origin),
                None => format!("certificates from {}", anchors.origin),
            },
        }
    }
}

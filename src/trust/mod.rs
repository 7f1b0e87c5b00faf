//! Trust, as data and matching only: who signed ([`SignerId`], [`Principal`]), whom a rule trusts
//! ([`TrustedSigner`]), the trust policy a file or the command-line flags compile into
//! ([`TrustPolicy`]), scopes, and the Sigstore trusted root with its TUF refresh ([`root`]). The pipeline that decides is `verify::Verifier` (DESIGN 1.5).

pub mod identity;
pub mod metadata_rule;
pub mod policy;
pub mod root;
pub mod scope;
pub mod signer;
pub mod spec;

pub use policy::{CommandLineTrust, Rule, TrustPolicy};
pub use scope::{Pattern, Scope};
pub use signer::{PkiAnchors, Principal, SignerId, TrustedSigner};
pub use spec::{SpecError, TrustSpec};

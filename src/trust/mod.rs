//! Trust: who signed ([`SignerId`]), whom a rule trusts ([`TrustedSigner`]), the trust policy
//! a file or the command-line flags compile into ([`TrustPolicy`]), scopes, and the one
//! [`Evaluator`] every command's trust decision goes through (DESIGN 1.5).

pub mod evaluator;
pub mod policy;
pub mod scope;
pub mod signer;

pub use evaluator::{Evaluator, SignatureStatus, SignatureVerdict, Target, Verdict};
pub use policy::{CommandLineTrust, Rule, TrustPolicy};
pub use scope::{Pattern, Scope};
pub use signer::{PkiAnchors, SignerId, TrustedSigner};

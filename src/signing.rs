//! Signers: turn a statement into a signed Sigstore bundle. Local EC keys (P-256, P-384, P-521);
//! keyless and certificate signers plug in behind the same [`Signer`] trait.

use crate::bundle::Bundle;
use crate::dsse::{self, Envelope};
use crate::keys::PrivateKey;
use crate::statement::Statement;

/// Errors while signing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key could not be used.
    #[error(transparent)]
    Key(#[from] crate::keys::Error),
    /// The signing operation failed.
    #[error("signing failed: {0}")]
    Sign(String),
    /// Keyless signing (token, Fulcio, Rekor) failed.
    #[error(transparent)]
    Keyless(crate::keyless::Error),
}

impl Error {
    /// Exit-code class.
    pub fn class(&self) -> crate::Class {
        match self {
            Error::Key(e) => e.class(),
            Error::Sign(_) => crate::Class::Environment,
            Error::Keyless(e) => e.class(),
        }
    }
}

/// Something that can sign DSSE PAE bytes and describe itself in a bundle.
pub trait Signer {
    /// Signs the PAE bytes, returning the signature as it goes in the envelope (ECDSA: DER).
    fn sign_pae(&self, pae: &[u8]) -> Result<Vec<u8>, Error>;
    /// Wraps a signed envelope in a bundle carrying this signer's verification material.
    fn bundle(&self, envelope: Envelope) -> Result<Bundle, Error>;
    /// A short human description of the signer (key id or identity).
    fn describe(&self) -> String;
}

/// A local ECDSA key (P-256, P-384 or P-521), signing with its curve's hash.
pub struct KeySigner {
    key: PrivateKey,
    key_id: String,
}

impl KeySigner {
    /// Wraps a private key.
    pub fn new(key: PrivateKey) -> Result<Self, Error> {
        let key_id = key.public_key()?.id().to_owned();
        Ok(Self { key, key_id })
    }

    /// The key id (hex SHA-256 of the public key PEM).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

impl Signer for KeySigner {
    fn sign_pae(&self, pae: &[u8]) -> Result<Vec<u8>, Error> {
        self.key
            .sign_der(pae)
            .map_err(|e| Error::Sign(e.to_string()))
    }

    fn bundle(&self, envelope: Envelope) -> Result<Bundle, Error> {
        Ok(Bundle::for_key(envelope, &self.key_id))
    }

    fn describe(&self) -> String {
        format!("key {}", self.key_id)
    }
}

/// Signs a statement: DSSE over its JSON, wrapped in the signer's bundle.
pub fn sign_statement(statement: &Statement, signer: &dyn Signer) -> Result<Bundle, Error> {
    let payload = statement.to_json();
    let pae = dsse::pae(dsse::IN_TOTO_PAYLOAD_TYPE, &payload);
    let sig = signer.sign_pae(&pae)?;
    signer.bundle(Envelope::new(&payload, &sig))
}

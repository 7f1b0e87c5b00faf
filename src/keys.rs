//! P-256 keys: generation, PEM encoding (PKCS#8, SEC1, SPKI), passphrase encryption, key ids.
//!
//! The key id is the hex SHA-256 of the canonical SPKI PEM of the public key, which is exactly the
//! `publicKey.hint` that `model_signing` writes, so a bundle names the key that made it.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use sha2::{Digest, Sha256};

use crate::fsutil;

/// Key files are small; anything larger than this is not a key and is refused before parsing.
pub const MAX_KEY_FILE_SIZE: u64 = 64 * 1024;

/// Errors reading, writing or generating keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key file could not be read.
    #[error("cannot read key file {path}: {source}")]
    Read {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file is larger than [`MAX_KEY_FILE_SIZE`].
    #[error("key file {path} is larger than {MAX_KEY_FILE_SIZE} bytes; it is not a PEM key")]
    TooLarge {
        /// The key file.
        path: PathBuf,
    },
    /// A public key was given where a private key is needed.
    #[error(
        "{path} holds a public key, but a private key is needed; pass the private key file (keygen --private)"
    )]
    PublicNotPrivate {
        /// The key file.
        path: PathBuf,
    },
    /// A private key was given where a public key is needed.
    #[error(
        "{path} holds a private key, but a public key is needed; pass the public key file (keygen --public)"
    )]
    PrivateNotPublic {
        /// The key file.
        path: PathBuf,
    },
    /// The key is an elliptic-curve key on a curve other than P-256, or not an EC key at all.
    #[error(
        "{path} is not an ECDSA P-256 key ({detail}); provenance signs with P-256 only, create one with `provenance keygen`"
    )]
    WrongAlgorithm {
        /// The key file.
        path: PathBuf,
        /// What was found instead.
        detail: String,
    },
    /// The key is encrypted and no passphrase was supplied.
    #[error(
        "{path} is an encrypted private key; pass --password-env VAR naming an environment variable that holds its passphrase"
    )]
    NeedsPassword {
        /// The key file.
        path: PathBuf,
    },
    /// The passphrase did not decrypt the key.
    #[error("cannot decrypt {path}: wrong passphrase or corrupt key")]
    BadPassword {
        /// The key file.
        path: PathBuf,
    },
    /// The file is not a PEM key this tool understands.
    #[error(
        "{path} is not a PEM-encoded key ({detail}); expected PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY` or `PUBLIC KEY`"
    )]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// Parser detail.
        detail: String,
    },
    /// The output file exists and `--force` was not given.
    #[error("{path} already exists; pass --force to overwrite it")]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// Writing a key file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Key encoding or encryption failed.
    #[error("cannot encode key: {0}")]
    Encode(String),
    /// The system random source failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
}

impl Error {
    /// Exit-code class: environment errors (I/O) are 3, everything else is bad input (2).
    pub fn class(&self) -> crate::Class {
        match self {
            Error::Write { .. } | Error::Random(_) => crate::Class::Environment,
            Error::Read { source, .. } if source.kind() != std::io::ErrorKind::NotFound => {
                crate::Class::Environment
            }
            _ => crate::Class::Input,
        }
    }
}

/// A P-256 public key with its id.
#[derive(Clone, Debug)]
pub struct PublicKey {
    key: VerifyingKey,
    id: String,
}

impl PublicKey {
    /// Wraps a verifying key and computes its id.
    pub fn new(key: VerifyingKey) -> Result<Self, Error> {
        let pem = key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| Error::Encode(e.to_string()))?;
        let id = hex::encode(Sha256::digest(pem.as_bytes()));
        Ok(Self { key, id })
    }

    /// The ECDSA verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// True when `sig` (DER, or the fixed-size `r || s` form) is this key's ECDSA signature
    /// over `msg`. Verification code calls this, never a curve crate, so the curves a key may
    /// use are decided here.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier as _;
        let parsed = p256::ecdsa::Signature::from_der(sig)
            .or_else(|_| p256::ecdsa::Signature::from_slice(sig));
        parsed.is_ok_and(|s| self.key.verify(msg, &s).is_ok())
    }

    /// The signature algorithm, for reports (`ECDSA P-256`).
    pub fn algorithm(&self) -> &'static str {
        "ECDSA P-256"
    }

    /// Hex SHA-256 of the canonical SPKI PEM (model_signing's `hint`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Canonical SPKI PEM text.
    pub fn to_pem(&self) -> Result<String, Error> {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| Error::Encode(e.to_string()))
    }
}

/// A P-256 private key.
pub struct PrivateKey {
    key: SigningKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

impl PrivateKey {
    /// Generates a new key from the operating system's random source.
    pub fn generate() -> Result<Self, Error> {
        let key = SigningKey::try_generate().map_err(|e| Error::Random(e.to_string()))?;
        Ok(Self { key })
    }

    /// Wraps an existing signing key.
    pub fn from_signing_key(key: SigningKey) -> Self {
        Self { key }
    }

    /// The ECDSA signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<PublicKey, Error> {
        PublicKey::new(*self.key.verifying_key())
    }

    /// PKCS#8 PEM, encrypted (PBES2: scrypt + AES-256-CBC) when a passphrase is given.
    pub fn to_pem(&self, password: Option<&str>) -> Result<String, Error> {
        let doc = match password {
            None => self.key.to_pkcs8_pem(LineEnding::LF),
            Some(pw) => self.key.to_pkcs8_encrypted_pem(pw, LineEnding::LF),
        };
        doc.map(|d| d.to_string())
            .map_err(|e| Error::Encode(e.to_string()))
    }
}

/// Reads a key file with a size bound.
fn read_key_file(path: &Path) -> Result<String, Error> {
    let file = fs::File::open(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut text = String::new();
    let n = file
        .take(MAX_KEY_FILE_SIZE + 1)
        .read_to_string(&mut text)
        .map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
    if n as u64 > MAX_KEY_FILE_SIZE {
        return Err(Error::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(text)
}

/// Splits a file into its PEM blocks: (label, full block text).
fn pem_blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = &after[..label_end];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = rest[start..].find(&end_marker) else {
            break;
        };
        let block_end = start + end + end_marker.len();
        out.push((label.to_owned(), format!("{}\n", &rest[start..block_end])));
        rest = &rest[block_end..];
    }
    out
}

fn curve_detail(der_label: &str) -> String {
    format!("found a `{der_label}` PEM block")
}

/// Loads a private key: PKCS#8 (plain or encrypted) or SEC1 PEM, as openssl writes them.
pub fn load_private_key(path: &Path, password: Option<&str>) -> Result<PrivateKey, Error> {
    let text = read_key_file(path)?;
    let blocks = pem_blocks(&text);
    let p = || path.to_owned();
    if blocks.is_empty() {
        return Err(Error::Malformed {
            path: p(),
            detail: "no PEM block found".into(),
        });
    }
    for (label, block) in &blocks {
        match label.as_str() {
            "PRIVATE KEY" => {
                return SigningKey::from_pkcs8_pem(block)
                    .map(PrivateKey::from_signing_key)
                    .map_err(|e| classify_pkcs8_error(path, block, &e.to_string()));
            }
            "ENCRYPTED PRIVATE KEY" => {
                let Some(pw) = password else {
                    return Err(Error::NeedsPassword { path: p() });
                };
                return SigningKey::from_pkcs8_encrypted_pem(block, pw)
                    .map(PrivateKey::from_signing_key)
                    .map_err(|_| Error::BadPassword { path: p() });
            }
            "EC PRIVATE KEY" => {
                let parsed = p256::SecretKey::from_sec1_pem(block).map_err(|e| {
                    if block_has_other_curve(block) {
                        Error::WrongAlgorithm {
                            path: p(),
                            detail: "an EC key on another curve".into(),
                        }
                    } else {
                        Error::Malformed {
                            path: p(),
                            detail: e.to_string(),
                        }
                    }
                })?;
                return Ok(PrivateKey::from_signing_key(parsed.into()));
            }
            "PUBLIC KEY" => return Err(Error::PublicNotPrivate { path: p() }),
            "RSA PRIVATE KEY" | "DSA PRIVATE KEY" | "OPENSSH PRIVATE KEY" => {
                return Err(Error::WrongAlgorithm {
                    path: p(),
                    detail: curve_detail(label),
                });
            }
            _ => {}
        }
    }
    Err(Error::Malformed {
        path: p(),
        detail: format!(
            "PEM blocks found: {}",
            blocks
                .iter()
                .map(|(l, _)| l.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// Loads a public key (SPKI `PUBLIC KEY` PEM).
pub fn load_public_key(path: &Path) -> Result<PublicKey, Error> {
    let text = read_key_file(path)?;
    let blocks = pem_blocks(&text);
    let p = || path.to_owned();
    for (label, block) in &blocks {
        match label.as_str() {
            "PUBLIC KEY" => {
                let key = VerifyingKey::from_public_key_pem(block)
                    .map_err(|e| classify_pkcs8_error(path, block, &e.to_string()))?;
                return PublicKey::new(key);
            }
            "PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" | "EC PRIVATE KEY" => {
                return Err(Error::PrivateNotPublic { path: p() });
            }
            "CERTIFICATE" => {
                return Err(Error::Malformed {
                    path: p(),
                    detail: "found a certificate; pass the public key".into(),
                });
            }
            _ => {}
        }
    }
    Err(Error::Malformed {
        path: p(),
        detail: if blocks.is_empty() {
            "no PEM block found".into()
        } else {
            "no `PUBLIC KEY` PEM block".into()
        },
    })
}

/// Parses a public key from PEM text (used for keys embedded in policies and bundles).
pub fn public_key_from_pem(pem: &str) -> Result<PublicKey, Error> {
    let key = VerifyingKey::from_public_key_pem(pem).map_err(|e| Error::Malformed {
        path: PathBuf::from("<inline>"),
        detail: e.to_string(),
    })?;
    PublicKey::new(key)
}

/// Tells a wrong curve or algorithm apart from a damaged file.
fn classify_pkcs8_error(path: &Path, block: &str, detail: &str) -> Error {
    if block_has_other_curve(block) || detail.contains("OID") || detail.contains("algorithm") {
        Error::WrongAlgorithm {
            path: path.to_owned(),
            detail: detail.to_owned(),
        }
    } else {
        Error::Malformed {
            path: path.to_owned(),
            detail: detail.to_owned(),
        }
    }
}

/// True when the DER inside a PEM block names a key algorithm or curve other than P-256.
fn block_has_other_curve(block: &str) -> bool {
    use base64::Engine;
    let body: String = block
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body.trim()) else {
        return false;
    };
    // OID 1.2.840.10045.3.1.7 (prime256v1), DER-encoded.
    const P256_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    !der.windows(P256_OID.len()).any(|w| w == P256_OID)
}

/// Writes a newly generated key pair: private key 0600 and never over an existing file without
/// `force`; both written atomically (temp file + rename) so a failure leaves nothing half-written.
pub fn write_key_pair(
    key: &PrivateKey,
    private_path: &Path,
    public_path: &Path,
    password: Option<&str>,
    force: bool,
) -> Result<PublicKey, Error> {
    if !force {
        for path in [private_path, public_path] {
            if path.exists() {
                return Err(Error::Exists {
                    path: path.to_owned(),
                });
            }
        }
    }
    let public = key.public_key()?;
    let private_pem = key.to_pem(password)?;
    let public_pem = public.to_pem()?;
    fsutil::write_atomic(private_path, private_pem.as_bytes(), Some(0o600), force).map_err(
        |source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => Error::Exists {
                path: private_path.to_owned(),
            },
            _ => Error::Write {
                path: private_path.to_owned(),
                source,
            },
        },
    )?;
    fsutil::write_atomic(public_path, public_pem.as_bytes(), Some(0o644), force).map_err(
        |source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => Error::Exists {
                path: public_path.to_owned(),
            },
            _ => Error::Write {
                path: public_path.to_owned(),
                source,
            },
        },
    )?;
    Ok(public)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn key_id_is_sha256_of_canonical_pem() {
        let k = PrivateKey::generate().unwrap();
        let public = k.public_key().unwrap();
        let pem = public.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(public.id(), hex::encode(Sha256::digest(pem.as_bytes())));
    }

    #[test]
    fn encrypted_key_round_trips_and_needs_password() {
        let dir = tempfile::tempdir().unwrap();
        let k = PrivateKey::generate().unwrap();
        let (pr, pu) = (dir.path().join("k.pem"), dir.path().join("k.pub"));
        write_key_pair(&k, &pr, &pu, Some("s3cret"), false).unwrap();
        assert!(matches!(
            load_private_key(&pr, None),
            Err(Error::NeedsPassword { .. })
        ));
        assert!(matches!(
            load_private_key(&pr, Some("wrong")),
            Err(Error::BadPassword { .. })
        ));
        let back = load_private_key(&pr, Some("s3cret")).unwrap();
        assert_eq!(
            back.public_key().unwrap().id(),
            k.public_key().unwrap().id()
        );
    }

    #[test]
    fn refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let k = PrivateKey::generate().unwrap();
        let (pr, pu) = (dir.path().join("k.pem"), dir.path().join("k.pub"));
        write_key_pair(&k, &pr, &pu, None, false).unwrap();
        let before = fs::read(&pr).unwrap();
        let k2 = PrivateKey::generate().unwrap();
        assert!(matches!(
            write_key_pair(&k2, &pr, &pu, None, false),
            Err(Error::Exists { .. })
        ));
        assert_eq!(fs::read(&pr).unwrap(), before);
        write_key_pair(&k2, &pr, &pu, None, true).unwrap();
        assert_ne!(fs::read(&pr).unwrap(), before);
    }

    #[test]
    fn private_key_file_is_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let k = PrivateKey::generate().unwrap();
        let (pr, pu) = (dir.path().join("k.pem"), dir.path().join("k.pub"));
        write_key_pair(&k, &pr, &pu, None, false).unwrap();
        assert_eq!(
            fs::metadata(&pr).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn public_key_given_as_private_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let k = PrivateKey::generate().unwrap();
        let (pr, pu) = (dir.path().join("k.pem"), dir.path().join("k.pub"));
        write_key_pair(&k, &pr, &pu, None, false).unwrap();
        assert!(matches!(
            load_private_key(&pu, None),
            Err(Error::PublicNotPrivate { .. })
        ));
        assert!(matches!(
            load_public_key(&pr),
            Err(Error::PrivateNotPublic { .. })
        ));
    }
}

//! Key files: reading PEM (PKCS#8, encrypted PKCS#8, SEC1, SPKI) with a size bound, and writing a
//! newly generated pair atomically.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Curve, Error, MAX_KEY_FILE_SIZE, PrivateKey, PublicKey, SigningKey, VerifyingKey};
use crate::io;

/// Reads a key file with a size bound; only regular files (see [`crate::io::read_bounded`]).
fn read_key_file(path: &Path) -> Result<String, Error> {
    use crate::io::{BoundedReadError, is_not_regular, read_bounded};
    let bytes = read_bounded(path, MAX_KEY_FILE_SIZE).map_err(|e| match e {
        BoundedReadError::TooLarge => Error::TooLarge {
            path: path.to_owned(),
        },
        BoundedReadError::Io(source) if is_not_regular(&source) => Error::NotRegular {
            path: path.to_owned(),
        },
        BoundedReadError::Io(source) => Error::Read {
            path: path.to_owned(),
            source,
        },
    })?;
    String::from_utf8(bytes).map_err(|_| Error::Malformed {
        path: path.to_owned(),
        detail: "not UTF-8 text".into(),
    })
}

/// The key or certificate blocks of a file, refusing more than one: a file with two keys (or a
/// key and a certificate) is ambiguous. `EC PARAMETERS`, which `openssl ecparam -genkey` writes
/// before the key, names the curve only and is skipped.
fn single_block(path: &Path, text: &str) -> Result<(String, String), Error> {
    let blocks: Vec<(String, String)> = pem_blocks(text)
        .into_iter()
        .filter(|(label, _)| label != "EC PARAMETERS")
        .collect();
    match blocks.len() {
        0 => Err(Error::Malformed {
            path: path.to_owned(),
            detail: "no PEM block found".into(),
        }),
        1 => blocks.into_iter().next().ok_or_else(|| Error::Malformed {
            path: path.to_owned(),
            detail: "no PEM block found".into(),
        }),
        count => Err(Error::SeveralBlocks {
            path: path.to_owned(),
            count,
            labels: blocks
                .iter()
                .map(|(l, _)| l.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
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

/// Loads a private key: PKCS#8 (plain or encrypted) or SEC1 PEM, as openssl writes them, on
/// P-256, P-384 or P-521. A file with more than one key block is refused.
pub fn load_private_key(path: &Path, password: Option<&str>) -> Result<PrivateKey, Error> {
    let text = read_key_file(path)?;
    let (label, block) = single_block(path, &text)?;
    let p = || path.to_owned();
    let key = match label.as_str() {
        "PRIVATE KEY" => {
            let (_, doc) =
                pkcs8::SecretDocument::from_pem(&block).map_err(|e| Error::Malformed {
                    path: p(),
                    detail: e.to_string(),
                })?;
            SigningKey::from_pkcs8_der(doc.as_bytes())
                .map_err(|e| classify_pkcs8_error(path, &block, &e))?
        }
        "ENCRYPTED PRIVATE KEY" => {
            let Some(pw) = password else {
                return Err(Error::NeedsPassword { path: p() });
            };
            let (_, doc) =
                pkcs8::SecretDocument::from_pem(&block).map_err(|e| Error::Malformed {
                    path: p(),
                    detail: e.to_string(),
                })?;
            let info =
                pkcs8::EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes()).map_err(|e| {
                    Error::Malformed {
                        path: p(),
                        detail: e.to_string(),
                    }
                })?;
            // Decrypt once (scrypt is slow), then try the curves on the plaintext.
            let plain = info
                .decrypt(pw)
                .map_err(|_| Error::BadPassword { path: p() })?;
            SigningKey::from_pkcs8_der(plain.as_bytes()).map_err(|e| Error::WrongAlgorithm {
                path: p(),
                detail: e,
            })?
        }
        "EC PRIVATE KEY" => SigningKey::from_sec1_pem(&block).map_err(|e| {
            if block_has_other_curve(&block) {
                Error::WrongAlgorithm {
                    path: p(),
                    detail: "an EC key on another curve".into(),
                }
            } else {
                Error::Malformed {
                    path: p(),
                    detail: e,
                }
            }
        })?,
        "PUBLIC KEY" => return Err(Error::PublicNotPrivate { path: p() }),
        "RSA PRIVATE KEY" | "DSA PRIVATE KEY" | "OPENSSH PRIVATE KEY" => {
            return Err(Error::WrongAlgorithm {
                path: p(),
                detail: curve_detail(&label),
            });
        }
        other => {
            return Err(Error::Malformed {
                path: p(),
                detail: format!("PEM block `{other}`"),
            });
        }
    };
    Ok(PrivateKey { key: Box::new(key) })
}

/// Loads a public key (SPKI `PUBLIC KEY` PEM) on P-256, P-384 or P-521. A file with more than
/// one block is refused.
pub fn load_public_key(path: &Path) -> Result<PublicKey, Error> {
    let text = read_key_file(path)?;
    let (label, block) = single_block(path, &text)?;
    let p = || path.to_owned();
    match label.as_str() {
        "PUBLIC KEY" => {
            let key = VerifyingKey::from_spki_pem(&block)
                .map_err(|e| classify_pkcs8_error(path, &block, &e))?;
            PublicKey::new(key)
        }
        "PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" | "EC PRIVATE KEY" => {
            Err(Error::PrivateNotPublic { path: p() })
        }
        "CERTIFICATE" => Err(Error::Malformed {
            path: p(),
            detail: "found a certificate; pass the public key".into(),
        }),
        other => Err(Error::Malformed {
            path: p(),
            detail: format!("PEM block `{other}`, not `PUBLIC KEY`"),
        }),
    }
}

/// Parses a public key from PEM text (used for keys embedded in policies and bundles).
pub fn public_key_from_pem(pem: &str) -> Result<PublicKey, Error> {
    let key = VerifyingKey::from_spki_pem(pem).map_err(|detail| Error::Malformed {
        path: PathBuf::from("<inline>"),
        detail,
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

/// True when the DER inside a PEM block names a key algorithm or curve other than P-256, P-384
/// and P-521.
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
    !Curve::ALL.iter().any(|c| {
        let oid = c.oid_der();
        der.windows(oid.len()).any(|w| w == oid)
    })
}

/// Writes a newly generated key pair: private key 0600 and never over an existing file without
/// `force`; both written atomically (temp file + rename) so a failure leaves nothing half-written,
/// and a failed public-key write removes the private key this call just wrote.
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
    io::write_atomic(private_path, private_pem.as_bytes(), Some(0o600), force).map_err(
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
    if let Err(source) = io::write_atomic(public_path, public_pem.as_bytes(), Some(0o644), force) {
        // A private key without its public half is a half-made key pair: remove what this call
        // wrote, so a retry starts clean and no orphan key is left behind.
        let _ = fs::remove_file(private_path);
        return Err(match source.kind() {
            std::io::ErrorKind::AlreadyExists => Error::Exists {
                path: public_path.to_owned(),
            },
            _ => Error::Write {
                path: public_path.to_owned(),
                source,
            },
        });
    }
    Ok(public)
}

/// What `keygen` made: the `keygen` result (docs/json.md).
#[derive(Clone, Debug, Serialize)]
pub struct GeneratedKeyPair {
    /// The private key file (mode 0600).
    pub private_key: PathBuf,
    /// The public key file.
    pub public_key: PathBuf,
    /// The key id ([`PublicKey::id`]), as bundles name the key.
    pub key_id: String,
    /// Whether the private key is encrypted with a passphrase.
    pub encrypted: bool,
    /// The key's curve.
    #[serde(skip)]
    pub curve: Curve,
}

/// The `keygen` workflow: generates a key on `curve` and writes the pair (see
/// [`write_key_pair`]), encrypted when a passphrase is given.
pub fn generate(
    curve: Curve,
    private_path: &Path,
    public_path: &Path,
    password: Option<&str>,
    force: bool,
) -> Result<GeneratedKeyPair, Error> {
    let key = PrivateKey::generate_curve(curve)?;
    let public = write_key_pair(&key, private_path, public_path, password, force)?;
    Ok(GeneratedKeyPair {
        private_key: private_path.to_owned(),
        public_key: public_path.to_owned(),
        key_id: public.id().to_owned(),
        encrypted: password.is_some(),
        curve,
    })
}

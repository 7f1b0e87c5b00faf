//! ECDSA keys on P-256, P-384 and P-521 (the curves OMS §4.2 requires): generation, PEM
//! encoding (PKCS#8, SEC1, SPKI), passphrase encryption, key ids.
//!
//! The key id is the hex SHA-256 of the canonical SPKI PEM of the public key, which is exactly the
//! `publicKey.hint` that `model_signing` writes, so a bundle names the key that made it.

use std::path::PathBuf;

use p256::elliptic_curve::Generate;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};

mod ecdsa;
mod files;

pub use ecdsa::{SigningKey, VerifyingKey};
pub use files::{
    GeneratedKeyPair, generate, load_private_key, load_public_key, public_key_from_pem,
    write_key_pair,
};

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
    /// The key is an elliptic-curve key on a curve other than P-256, P-384 or P-521, or not an
    /// EC key at all.
    #[error(
        "{path} is not an ECDSA P-256, P-384 or P-521 key ({detail}); create one with `provenance keygen`"
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
    /// The file holds more than one key or certificate: which one is meant is ambiguous, so
    /// none is used.
    #[error(
        "{path} holds {count} PEM blocks ({labels}); a key file must hold exactly one key, split it"
    )]
    SeveralBlocks {
        /// The key file.
        path: PathBuf,
        /// How many key or certificate blocks.
        count: usize,
        /// Their labels.
        labels: String,
    },
    /// The path is not a regular file (a FIFO, socket, device or folder).
    #[error("{path} is not a regular file; pass a key file")]
    NotRegular {
        /// The path.
        path: PathBuf,
    },
    /// The key could not sign.
    #[error("signing failed: {0}")]
    Sign(String),
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
            Error::Write { .. } | Error::Random(_) | Error::Sign(_) => crate::Class::Environment,
            Error::Read { source, .. } if source.kind() != std::io::ErrorKind::NotFound => {
                crate::Class::Environment
            }
            _ => crate::Class::Input,
        }
    }
}

/// The elliptic curves keys may use: the three the OMS specification (§4.2) requires verifiers
/// to support for the key and certificate methods. Each signs with its own hash (P-256 with
/// SHA-256, P-384 with SHA-384, P-521 with SHA-512), as `model_signing` and Sigstore do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-256 (prime256v1, secp256r1), the default.
    #[default]
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
}

impl Curve {
    /// Every supported curve, in the order keys are tried.
    pub const ALL: [Curve; 3] = [Curve::P256, Curve::P384, Curve::P521];

    /// The name as the command line spells it (`p256`, `p384`, `p521`).
    pub fn cli_name(self) -> &'static str {
        match self {
            Curve::P256 => "p256",
            Curve::P384 => "p384",
            Curve::P521 => "p521",
        }
    }

    /// The signature algorithm, for reports (`ECDSA P-384`).
    pub fn algorithm(self) -> &'static str {
        match self {
            Curve::P256 => "ECDSA P-256",
            Curve::P384 => "ECDSA P-384",
            Curve::P521 => "ECDSA P-521",
        }
    }

    /// DER encoding of the curve's named-curve OID (RFC 5480), as it appears in keys.
    fn oid_der(self) -> &'static [u8] {
        match self {
            // 1.2.840.10045.3.1.7
            Curve::P256 => &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
            // 1.3.132.0.34
            Curve::P384 => &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22],
            // 1.3.132.0.35
            Curve::P521 => &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23],
        }
    }
}

impl std::fmt::Display for Curve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.cli_name())
    }
}

/// A curve name that is not one of [`Curve::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown curve `{0}`; use p256, p384 or p521")]
pub struct UnknownCurve(pub String);

impl std::str::FromStr for Curve {
    type Err = UnknownCurve;

    /// Accepts `p256`/`P-256`/`prime256v1`/`secp256r1` and the like for P-384 and P-521.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "p256" | "prime256v1" | "secp256r1" | "nistp256" => Ok(Curve::P256),
            "p384" | "secp384r1" | "nistp384" => Ok(Curve::P384),
            "p521" | "secp521r1" | "nistp521" => Ok(Curve::P521),
            _ => Err(UnknownCurve(s.to_owned())),
        }
    }
}

/// The key id of a DER SubjectPublicKeyInfo: hex SHA-256 of its PEM text (`PUBLIC KEY`, 64-column
/// base64, LF), which is [`PublicKey::id`] for EC keys and model_signing's `hint`. Used for any
/// certificate key, so one key in a bare-key bundle and inside a certificate has one id.
pub fn key_id_of_spki(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    hex::encode(Sha256::digest(pem.as_bytes()))
}

/// An ECDSA public key (P-256, P-384 or P-521) with its id.
#[derive(Clone, Debug)]
pub struct PublicKey {
    key: VerifyingKey,
    id: String,
}

impl PublicKey {
    /// Wraps a verifying key and computes its id.
    pub fn new(key: impl Into<VerifyingKey>) -> Result<Self, Error> {
        let key = key.into();
        let pem = key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| Error::Encode(e.to_string()))?;
        let id = hex::encode(Sha256::digest(pem.as_bytes()));
        Ok(Self { key, id })
    }

    /// Parses a DER SubjectPublicKeyInfo (as a certificate or `publicKey.rawBytes` carries it).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        let key = VerifyingKey::from_spki_der(der).map_err(|detail| Error::Malformed {
            path: PathBuf::from("<inline>"),
            detail,
        })?;
        Self::new(key)
    }

    /// The ECDSA verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The key's curve.
    pub fn curve(&self) -> Curve {
        self.key.curve()
    }

    /// True when `sig` (DER, or the fixed-size `r || s` form) is this key's ECDSA signature
    /// over `msg`, hashed with the curve's hash (SHA-256, SHA-384, SHA-512). Verification code
    /// calls this, never a curve crate, so the curves a key may use are decided here.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.key.check(msg, sig)
    }

    /// True when `sig` is this key's ECDSA signature over the SHA-256 of `msg`, whatever the
    /// curve. Only for model_signing 0.2's signatures, which hashed with SHA-256 on every curve
    /// (see `formats::dsse::pae_v02_compat`); everything else uses [`PublicKey::verify`].
    pub fn verify_sha256(&self, msg: &[u8], sig: &[u8]) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
        let digest = Sha256::digest(msg);
        match &self.key {
            VerifyingKey::P256(k) => p256::ecdsa::Signature::from_der(sig)
                .or_else(|_| p256::ecdsa::Signature::from_slice(sig))
                .is_ok_and(|s| k.verify_prehash(&digest, &s).is_ok()),
            VerifyingKey::P384(k) => p384::ecdsa::Signature::from_der(sig)
                .or_else(|_| p384::ecdsa::Signature::from_slice(sig))
                .is_ok_and(|s| k.verify_prehash(&digest, &s).is_ok()),
            VerifyingKey::P521(k) => p521::ecdsa::Signature::from_der(sig)
                .or_else(|_| p521::ecdsa::Signature::from_slice(sig))
                .is_ok_and(|s| k.verify_prehash(&digest, &s).is_ok()),
        }
    }

    /// The signature algorithm, for reports (`ECDSA P-256`, `ECDSA P-384`, `ECDSA P-521`).
    pub fn algorithm(&self) -> &'static str {
        self.key.curve().algorithm()
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

    /// DER SubjectPublicKeyInfo (to compare with a certificate's key).
    pub fn spki_der(&self) -> Result<Vec<u8>, Error> {
        self.key
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| Error::Encode(e.to_string()))
    }
}

/// An ECDSA private key (P-256, P-384 or P-521). Boxed: a P-521 key is large, and signers
/// holding one sit in enums beside small variants.
pub struct PrivateKey {
    key: Box<SigningKey>,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

impl PrivateKey {
    /// Generates a new P-256 key from the operating system's random source.
    pub fn generate() -> Result<Self, Error> {
        Self::generate_curve(Curve::P256)
    }

    /// Generates a new key on `curve` from the operating system's random source
    /// (`keygen --curve`).
    pub fn generate_curve(curve: Curve) -> Result<Self, Error> {
        fn r(e: impl std::fmt::Display) -> Error {
            Error::Random(e.to_string())
        }
        let key = match curve {
            Curve::P256 => SigningKey::P256(p256::ecdsa::SigningKey::try_generate().map_err(r)?),
            Curve::P384 => SigningKey::P384(p384::ecdsa::SigningKey::try_generate().map_err(r)?),
            Curve::P521 => SigningKey::P521(p521::ecdsa::SigningKey::try_generate().map_err(r)?),
        };
        Ok(Self { key: Box::new(key) })
    }

    /// Wraps an existing signing key (a curve crate's key or a [`SigningKey`]).
    pub fn from_signing_key(key: impl Into<SigningKey>) -> Self {
        Self {
            key: Box::new(key.into()),
        }
    }

    /// The ECDSA signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The key's curve.
    pub fn curve(&self) -> Curve {
        self.key.curve()
    }

    /// ECDSA over `msg` with the curve's hash, DER encoded.
    pub fn sign_der(&self, msg: &[u8]) -> Result<Vec<u8>, Error> {
        self.key.sign_der(msg).map_err(Error::Sign)
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<PublicKey, Error> {
        PublicKey::new(self.key.verifying_key())
    }

    /// PKCS#8 PEM, encrypted (PBES2: scrypt + AES-256-CBC) when a passphrase is given.
    pub fn to_pem(&self, password: Option<&str>) -> Result<String, Error> {
        self.key
            .to_pkcs8_pem(password)
            .map(|d| d.to_string())
            .map_err(|e| Error::Encode(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use std::fs;
    use std::path::Path;

    #[test]
    fn key_id_is_sha256_of_canonical_pem() {
        let k = PrivateKey::generate().unwrap();
        let public = k.public_key().unwrap();
        let pem = public.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(public.id(), hex::encode(Sha256::digest(pem.as_bytes())));
    }

    #[test]
    fn key_id_of_spki_equals_the_public_key_id_on_every_curve() {
        for curve in [Curve::P256, Curve::P384, Curve::P521] {
            let public = PrivateKey::generate_curve(curve)
                .unwrap()
                .public_key()
                .unwrap();
            assert_eq!(key_id_of_spki(&public.spki_der().unwrap()), public.id());
        }
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
    fn generate_reports_the_key_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let (pr, pb) = (dir.path().join("k.pem"), dir.path().join("k.pub"));
        let made = generate(Curve::P384, &pr, &pb, Some("pw"), false).unwrap();
        assert_eq!(made.key_id, load_public_key(&pb).unwrap().id());
        assert!(made.encrypted);
        assert_eq!(
            load_private_key(&pr, Some("pw")).unwrap().curve(),
            Curve::P384
        );
        let v = serde_json::to_value(&made).unwrap();
        assert_eq!(v["key_id"], made.key_id.as_str());
        assert_eq!(v["encrypted"], true);
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

    fn openssl(args: &[&str]) {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn every_curve_generates_signs_and_verifies_with_its_hash() {
        for curve in Curve::ALL {
            let k = PrivateKey::generate_curve(curve).unwrap();
            assert_eq!(k.curve(), curve);
            let public = k.public_key().unwrap();
            assert_eq!(public.curve(), curve);
            assert_eq!(public.algorithm(), curve.algorithm());
            let sig = k.sign_der(b"message").unwrap();
            assert!(public.verify(b"message", &sig), "{curve}");
            assert!(!public.verify(b"massage", &sig), "{curve}");
            // The key id stays the SHA-256 of the canonical PEM on every curve.
            let pem = public.to_pem().unwrap();
            assert_eq!(public.id(), hex::encode(Sha256::digest(pem.as_bytes())));
            // A signature by another curve's key never verifies.
            let other = PrivateKey::generate_curve(if curve == Curve::P256 {
                Curve::P384
            } else {
                Curve::P256
            })
            .unwrap();
            assert!(!public.verify(b"message", &other.sign_der(b"message").unwrap()));
        }
    }

    #[test]
    fn curve_names_parse_as_the_cli_and_openssl_spell_them() {
        for (name, curve) in [
            ("p256", Curve::P256),
            ("P-384", Curve::P384),
            ("secp521r1", Curve::P521),
            ("prime256v1", Curve::P256),
        ] {
            assert_eq!(name.parse::<Curve>().unwrap(), curve);
        }
        assert!("p224".parse::<Curve>().is_err());
        assert_eq!(Curve::default(), Curve::P256);
    }

    #[test]
    fn keys_of_every_curve_round_trip_through_pem_files_encrypted_or_not() {
        let dir = tempfile::tempdir().unwrap();
        for curve in Curve::ALL {
            for pw in [None, Some("pw")] {
                let k = PrivateKey::generate_curve(curve).unwrap();
                let pr = dir.path().join(format!("{curve}-{}.pem", pw.is_some()));
                let pu = dir.path().join(format!("{curve}-{}.pub", pw.is_some()));
                let public = write_key_pair(&k, &pr, &pu, pw, false).unwrap();
                let back = load_private_key(&pr, pw).unwrap();
                assert_eq!(back.curve(), curve);
                assert_eq!(back.public_key().unwrap().id(), public.id());
                assert_eq!(load_public_key(&pu).unwrap().id(), public.id());
            }
        }
    }

    #[test]
    fn loads_openssl_keys_of_every_curve_pkcs8_and_sec1_with_ec_parameters() {
        let dir = tempfile::tempdir().unwrap();
        for (name, curve) in [
            ("prime256v1", Curve::P256),
            ("secp384r1", Curve::P384),
            ("secp521r1", Curve::P521),
        ] {
            let sec1 = dir.path().join(format!("{name}.sec1.pem"));
            let p8 = dir.path().join(format!("{name}.p8.pem"));
            let pubf = dir.path().join(format!("{name}.pub"));
            let s = |p: &Path| p.to_str().unwrap().to_owned();
            // `ecparam -genkey` writes an EC PARAMETERS block before the key.
            openssl(&["ecparam", "-genkey", "-name", name, "-out", &s(&sec1)]);
            openssl(&[
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                &s(&sec1),
                "-out",
                &s(&p8),
            ]);
            openssl(&["ec", "-in", &s(&sec1), "-pubout", "-out", &s(&pubf)]);
            let a = load_private_key(&sec1, None).unwrap();
            let b = load_private_key(&p8, None).unwrap();
            let public = load_public_key(&pubf).unwrap();
            assert_eq!(a.curve(), curve);
            assert_eq!(a.public_key().unwrap().id(), public.id());
            assert_eq!(b.public_key().unwrap().id(), public.id());
            // The id is the SHA-256 of the PEM exactly as openssl writes it.
            let text = fs::read(&pubf).unwrap();
            assert_eq!(public.id(), hex::encode(Sha256::digest(&text)));
        }
    }

    #[test]
    fn refuses_a_key_file_with_two_pem_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (
            PrivateKey::generate().unwrap(),
            PrivateKey::generate().unwrap(),
        );
        let two = format!("{}{}", a.to_pem(None).unwrap(), b.to_pem(None).unwrap());
        let p = dir.path().join("two.pem");
        fs::write(&p, two).unwrap();
        assert!(matches!(
            load_private_key(&p, None),
            Err(Error::SeveralBlocks { count: 2, .. })
        ));
        let pubs = format!(
            "{}{}",
            a.public_key().unwrap().to_pem().unwrap(),
            b.public_key().unwrap().to_pem().unwrap()
        );
        fs::write(&p, pubs).unwrap();
        assert!(matches!(
            load_public_key(&p),
            Err(Error::SeveralBlocks { count: 2, .. })
        ));
    }

    #[test]
    fn refuses_a_fifo_as_key_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("key.pem");
        let st = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(st.success());
        let e = load_private_key(&fifo, None).unwrap_err();
        assert!(matches!(e, Error::NotRegular { .. }), "{e}");
        assert_eq!(e.class(), crate::Class::Input);
        assert!(matches!(
            load_public_key(&fifo),
            Err(Error::NotRegular { .. })
        ));
        assert!(matches!(
            load_public_key(Path::new("/dev/null")),
            Err(Error::NotRegular { .. })
        ));
        assert!(matches!(
            load_public_key(dir.path()),
            Err(Error::NotRegular { .. })
        ));
    }

    #[test]
    fn failed_public_key_write_removes_the_private_key_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let k = PrivateKey::generate().unwrap();
        let pr = dir.path().join("k.pem");
        let pu = dir.path().join("missing-folder").join("k.pub");
        assert!(matches!(
            write_key_pair(&k, &pr, &pu, None, false),
            Err(Error::Write { .. })
        ));
        assert!(!pr.exists(), "the private key was left behind");
    }

    #[test]
    fn refuses_keys_on_other_curves() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.pem");
        openssl(&[
            "ecparam",
            "-genkey",
            "-noout",
            "-name",
            "secp256k1",
            "-out",
            p.to_str().unwrap(),
        ]);
        assert!(matches!(
            load_private_key(&p, None),
            Err(Error::WrongAlgorithm { .. })
        ));
    }
}

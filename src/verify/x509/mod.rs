//! Certificate chains: a Fulcio leaf to the Sigstore root's CAs, a private-PKI signing
//! certificate to the anchors a policy names, both through the one RFC 5280 validator
//! ([`path`]), and the embedded SCT ([`sct`]).

use crate::formats::x509::{Certificate, fmt_time};

pub mod path;
pub mod sct;
pub use path::PathError;
pub use sct::{VerifiedSct, parse_sct_list, verify_embedded_sct};

/// Which extended key usage a chain must allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// Fulcio: the leaf must carry EKU codeSigning.
    CodeSigning,
    /// Private PKI (as model_signing): any EKU at path level; [`Certificate::can_sign`] decides.
    Any,
}

/// Parses DER certificates (a trust root's or a bundle's) for path validation.
fn parse_ders(ders: &[Vec<u8>], origin: &str) -> Result<Vec<Certificate>, PathError> {
    ders.iter()
        .map(|d| Certificate::from_der(d, origin))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PathError::Unreadable {
            detail: e.to_string(),
        })
}

/// Validates `leaf` up to one of `anchors` (DER, trusted as they are) through `intermediates`
/// (DER, untrusted) at time `at` (Unix seconds), with the one RFC 5280 path validator
/// ([`path::validate`]) the certificate method uses too. [`Usage::CodeSigning`] (Fulcio) also
/// needs extended key usage codeSigning on the leaf. Returns the issuer's DER SPKI (for the SCT).
pub fn verify_chain(
    leaf: &Certificate,
    anchors: &[Vec<u8>],
    intermediates: &[Vec<u8>],
    at: i64,
    usage: Usage,
) -> Result<Vec<u8>, String> {
    let roots = parse_ders(anchors, "a trusted root").map_err(|e| e.to_string())?;
    let inter = parse_ders(intermediates, "the certificate chain").map_err(|e| e.to_string())?;
    let valid = path::validate(leaf, &roots, &inter, at).map_err(|e| e.to_string())?;
    if usage == Usage::CodeSigning && !leaf.has_code_signing() {
        return Err("the signing certificate lacks extended key usage codeSigning".into());
    }
    Ok(valid.issuer_spki)
}

/// Why a certificate-method signing certificate is not trusted (OMS §8.2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// The check time is before the leaf's notBefore.
    #[error(
        "the signing certificate {subject} is not yet valid (valid {} to {}, checked at {})",
        fmt_time(*not_before), fmt_time(*not_after), fmt_time(*at)
    )]
    NotYetValid {
        /// Leaf subject DN.
        subject: String,
        /// Leaf notBefore (Unix seconds).
        not_before: i64,
        /// Leaf notAfter.
        not_after: i64,
        /// The time checked.
        at: i64,
    },
    /// The check time is after the leaf's notAfter.
    #[error(
        "the signing certificate {subject} expired (valid {} to {}, checked at {}); re-sign with a valid certificate",
        fmt_time(*not_before), fmt_time(*not_after), fmt_time(*at)
    )]
    Expired {
        /// Leaf subject DN.
        subject: String,
        /// Leaf notBefore.
        not_before: i64,
        /// Leaf notAfter.
        not_after: i64,
        /// The time checked.
        at: i64,
    },
    /// No valid path from the leaf to a trusted root (the error names the certificate at fault).
    #[error(transparent)]
    Chain(#[from] PathError),
    /// The leaf may not sign (key usage / extended key usage).
    #[error("{0}")]
    KeyUsage(String),
}

/// A validated certificate-method path.
#[derive(Clone, Debug)]
pub struct PkiPath {
    /// DER SPKI of the certificate that issued the leaf (the leaf's own for a self-signed
    /// leaf trusted as its anchor).
    pub issuer_spki: Vec<u8>,
    /// The leaf is itself one of the trusted roots (a self-signed leaf as its own anchor).
    pub leaf_is_anchor: bool,
    /// The leaf has basic constraints CA:TRUE (accepted with KU digitalSignature and EKU
    /// codeSigning, as model_signing's test PKI issues them).
    pub leaf_is_ca: bool,
    /// The time the path was validated at (Unix seconds).
    pub at: i64,
    /// Subjects of the issuers, from the leaf's issuer up to the root (empty for a leaf that
    /// is its own anchor).
    pub issuers: Vec<String>,
}

impl PkiPath {
    /// One line for the `certificate-chain` check's detail.
    pub fn describe(&self, leaf: &Certificate) -> String {
        let how = if self.leaf_is_anchor {
            "is itself a trusted root (self-signed leaf)".to_owned()
        } else {
            format!(
                "chains to a --certificate-chain root (issued by {})",
                self.issuers.join(", issued by ")
            )
        };
        format!(
            "{} {how}{}, valid at {}",
            leaf.subject(),
            if self.leaf_is_ca {
                " (a CA:TRUE leaf with digitalSignature and codeSigning)"
            } else {
                ""
            },
            fmt_time(self.at)
        )
    }
}

/// Validates a certificate-method signing certificate (OMS §8.2):
///
/// - the leaf must be valid at `at`, both ends inclusive: the caller passes the current time,
///   or the signing time proven by a verified RFC 3161 timestamp;
/// - it must be allowed to sign: a leaf with basic constraints CA:TRUE (as model_signing's test
///   PKI issues them) only with key usage digitalSignature **and** extended key usage
///   codeSigning, any other with either ([`Certificate::can_sign`]);
/// - a self-signed leaf that is itself one of `roots` is its own anchor;
/// - otherwise it must chain to one of `roots` (DER, trusted as they are) through `extra` (DER,
///   untrusted; the bundle's chain) under RFC 5280's rules, CA:TRUE leaf or not: one validator
///   ([`path::validate`]) for every path.
pub fn verify_pki_chain(
    leaf: &Certificate,
    roots: &[Vec<u8>],
    extra: &[Vec<u8>],
    at: i64,
) -> Result<PkiPath, PkiError> {
    let (not_before, not_after) = (leaf.not_before(), leaf.not_after());
    if at < not_before {
        return Err(PkiError::NotYetValid {
            subject: leaf.subject(),
            not_before,
            not_after,
            at,
        });
    }
    if at > not_after {
        return Err(PkiError::Expired {
            subject: leaf.subject(),
            not_before,
            not_after,
            at,
        });
    }
    let leaf_is_ca = leaf.is_ca();
    if leaf_is_ca {
        if !(leaf.has_digital_signature() && leaf.has_code_signing()) {
            return Err(PkiError::KeyUsage(
                "the signing certificate is a CA (basic constraints CA:TRUE) without both key usage digitalSignature and extended key usage codeSigning".into(),
            ));
        }
    } else if !leaf.can_sign() {
        return Err(PkiError::KeyUsage(
            "the signing certificate allows neither digitalSignature nor codeSigning".into(),
        ));
    }
    if roots.iter().any(|r| r.as_slice() == leaf.der()) {
        // Trusted as it is; the rules every certificate meets still hold.
        path::check_one(leaf, path::Role::Leaf, at)?;
        return Ok(PkiPath {
            issuer_spki: leaf.spki_der(),
            leaf_is_anchor: true,
            leaf_is_ca,
            at,
            issuers: Vec::new(),
        });
    }
    let roots = parse_ders(roots, "a trusted root")?;
    let inter = parse_ders(extra, "the bundle's chain")?;
    let valid = path::validate(leaf, &roots, &inter, at)?;
    Ok(PkiPath {
        issuer_spki: valid.issuer_spki,
        leaf_is_anchor: false,
        leaf_is_ca,
        at,
        issuers: valid.issuers,
    })
}

/// Verifies `sig` over `msg` with a DER SPKI (ECDSA P-256/384/521 with its curve's hash,
/// Ed25519, RSA PKCS#1 v1.5 SHA-256), as Sigstore keys are used.
pub fn verify_with_spki(spki: &[u8], sig: &[u8], msg: &[u8]) -> Result<(), String> {
    let key = sigstore::crypto::CosignVerificationKey::try_from_der(spki)
        .map_err(|e| format!("unusable public key: {e}"))?;
    key.verify_signature(sigstore::crypto::Signature::Raw(sig), msg)
        .map_err(|_| "signature does not verify".to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use std::path::Path;

    /// A test PKI made with openssl in a temp folder.
    struct Pki {
        dir: tempfile::TempDir,
    }

    impl Pki {
        fn new() -> Self {
            Self {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn p(&self, name: &str) -> String {
            self.dir.path().join(name).to_str().unwrap().to_owned()
        }

        fn openssl(&self, args: &[&str]) {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(self.dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        /// A self-signed certificate `name.pem` (key `name.key`) with the given extensions.
        fn self_signed(&self, name: &str, curve: &str, exts: &[&str]) {
            let mut args = vec![
                "req".to_owned(),
                "-x509".into(),
                "-new".into(),
                "-newkey".into(),
                "ec".into(),
                "-pkeyopt".into(),
                format!("ec_paramgen_curve:{curve}"),
                "-nodes".into(),
                "-keyout".into(),
                self.p(&format!("{name}.key")),
                "-out".into(),
                self.p(&format!("{name}.pem")),
                "-subj".into(),
                format!("/CN={name}"),
                "-days".into(),
                "30".into(),
            ];
            for e in exts {
                args.push("-addext".into());
                args.push((*e).to_owned());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.openssl(&args);
        }

        /// A certificate `name.pem` issued by `issuer` with the extensions (one per line).
        fn issued(&self, name: &str, curve: &str, issuer: &str, exts: &str) {
            std::fs::write(self.dir.path().join(format!("{name}.ext")), exts).unwrap();
            self.openssl(&[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                &format!("ec_paramgen_curve:{curve}"),
                "-nodes",
                "-keyout",
                &self.p(&format!("{name}.key")),
                "-out",
                &self.p(&format!("{name}.csr")),
                "-subj",
                &format!("/CN={name}"),
            ]);
            self.openssl(&[
                "x509",
                "-req",
                "-in",
                &self.p(&format!("{name}.csr")),
                "-CA",
                &self.p(&format!("{issuer}.pem")),
                "-CAkey",
                &self.p(&format!("{issuer}.key")),
                "-set_serial",
                "7",
                "-days",
                "10",
                "-extfile",
                &self.p(&format!("{name}.ext")),
                "-out",
                &self.p(&format!("{name}.pem")),
            ]);
        }

        fn cert(&self, name: &str) -> Certificate {
            Certificate::read_pem_file(Path::new(&self.p(&format!("{name}.pem"))))
                .unwrap()
                .remove(0)
        }

        fn der(&self, name: &str) -> Vec<u8> {
            self.cert(name).der().to_vec()
        }
    }

    const ROOT_EXTS: [&str; 2] = [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign",
    ];
    const LEAF_EXTS: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n";
    const CA_EXTS: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n";

    fn now() -> i64 {
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
    }

    #[test]
    fn leaf_must_be_valid_at_the_check_time_both_ends_inclusive() {
        let pki = Pki::new();
        pki.self_signed("root", "P-384", &ROOT_EXTS);
        pki.issued("leaf", "P-256", "root", LEAF_EXTS);
        let leaf = pki.cert("leaf");
        let roots = [pki.der("root")];
        let ok = verify_pki_chain(&leaf, &roots, &[], now()).unwrap();
        assert!(!ok.leaf_is_anchor && !ok.leaf_is_ca);
        // Exactly at notBefore and notAfter: valid.
        verify_pki_chain(&leaf, &roots, &[], leaf.not_before()).unwrap();
        verify_pki_chain(&leaf, &roots, &[], leaf.not_after()).unwrap();
        // One second outside: refused, with the window named.
        assert!(matches!(
            verify_pki_chain(&leaf, &roots, &[], leaf.not_before() - 1),
            Err(PkiError::NotYetValid { .. })
        ));
        let e = verify_pki_chain(&leaf, &roots, &[], leaf.not_after() + 1).unwrap_err();
        assert!(matches!(e, PkiError::Expired { .. }), "{e}");
        assert!(e.to_string().contains("expired"));
    }

    #[test]
    fn chains_through_an_intermediate_from_the_bundle() {
        let pki = Pki::new();
        pki.self_signed("root", "P-521", &ROOT_EXTS);
        pki.issued("inter", "P-384", "root", CA_EXTS);
        pki.issued("leaf", "P-384", "inter", LEAF_EXTS);
        let leaf = pki.cert("leaf");
        verify_pki_chain(&leaf, &[pki.der("root")], &[pki.der("inter")], now()).unwrap();
        // Without the intermediate there is no path.
        assert!(matches!(
            verify_pki_chain(&leaf, &[pki.der("root")], &[], now()),
            Err(PkiError::Chain(_))
        ));
    }

    #[test]
    fn accepts_a_ca_true_leaf_with_digital_signature_and_code_signing() {
        // model_signing's test PKI issues such leaves; webpki refuses them as CaUsedAsEndEntity.
        let pki = Pki::new();
        pki.self_signed("root", "P-384", &ROOT_EXTS);
        pki.issued("inter", "P-384", "root", CA_EXTS);
        pki.issued(
            "leaf",
            "P-384",
            "inter",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\nextendedKeyUsage=codeSigning\n",
        );
        let leaf = pki.cert("leaf");
        let roots = [pki.der("root")];
        let extra = [pki.der("inter")];
        let p = verify_pki_chain(&leaf, &roots, &extra, now()).unwrap();
        assert!(p.leaf_is_ca && !p.leaf_is_anchor);
        assert_eq!(p.issuer_spki, pki.cert("inter").spki_der());
        // The validity rule holds on this path too.
        assert!(matches!(
            verify_pki_chain(&leaf, &roots, &extra, leaf.not_after() + 1),
            Err(PkiError::Expired { .. })
        ));
        // And a foreign root does not anchor it.
        pki.self_signed("other", "P-256", &ROOT_EXTS);
        assert!(matches!(
            verify_pki_chain(&leaf, &[pki.der("other")], &extra, now()),
            Err(PkiError::Chain(_))
        ));
    }

    #[test]
    fn a_ca_true_leaf_needs_its_issuers_signature_not_just_its_name() {
        let pki = Pki::new();
        pki.self_signed("root", "P-256", &ROOT_EXTS);
        pki.issued(
            "leaf",
            "P-256",
            "root",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
        );
        // Another root with the same name and another key.
        let impostor = Pki::new();
        impostor.self_signed("root", "P-256", &ROOT_EXTS);
        assert!(matches!(
            verify_pki_chain(&pki.cert("leaf"), &[impostor.der("root")], &[], now()),
            Err(PkiError::Chain(_))
        ));
        verify_pki_chain(&pki.cert("leaf"), &[pki.der("root")], &[], now()).unwrap();
    }

    #[test]
    fn refuses_a_ca_true_leaf_without_code_signing() {
        let pki = Pki::new();
        pki.self_signed("root", "P-256", &ROOT_EXTS);
        pki.issued(
            "leaf",
            "P-256",
            "root",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\n",
        );
        assert!(matches!(
            verify_pki_chain(&pki.cert("leaf"), &[pki.der("root")], &[], now()),
            Err(PkiError::KeyUsage(_))
        ));
    }

    #[test]
    fn refuses_a_leaf_that_may_not_sign() {
        let pki = Pki::new();
        pki.self_signed("root", "P-256", &ROOT_EXTS);
        pki.issued(
            "leaf",
            "P-256",
            "root",
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        );
        assert!(matches!(
            verify_pki_chain(&pki.cert("leaf"), &[pki.der("root")], &[], now()),
            Err(PkiError::KeyUsage(_))
        ));
    }

    #[test]
    fn a_self_signed_leaf_is_its_own_anchor() {
        let pki = Pki::new();
        pki.self_signed(
            "self",
            "P-384",
            &[
                "basicConstraints=critical,CA:TRUE",
                "keyUsage=critical,digitalSignature,keyCertSign",
                "extendedKeyUsage=codeSigning",
            ],
        );
        let leaf = pki.cert("self");
        let p = verify_pki_chain(&leaf, &[pki.der("self")], &[], now()).unwrap();
        assert!(p.leaf_is_anchor && p.leaf_is_ca);
        // Not trusted when it is not among the roots.
        pki.self_signed("root", "P-256", &ROOT_EXTS);
        assert!(verify_pki_chain(&leaf, &[pki.der("root")], &[], now()).is_err());
        // Nor once expired.
        assert!(matches!(
            verify_pki_chain(&leaf, &[pki.der("self")], &[], leaf.not_after() + 1),
            Err(PkiError::Expired { .. })
        ));
    }

    #[test]
    fn keyless_chains_get_the_same_issuer_rules_as_the_certificate_method() {
        // verify_chain (Fulcio, Usage::CodeSigning) runs the one RFC 5280 validator: an
        // intermediate without keyCertSign, or with pathLen 0 above another CA, is refused.
        const FULCIO_LEAF: &str =
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n";
        let pki = Pki::new();
        pki.self_signed("root", "P-384", &ROOT_EXTS);
        pki.issued("inter", "P-384", "root", CA_EXTS);
        pki.issued("leaf", "P-256", "inter", FULCIO_LEAF);
        let roots = [pki.der("root")];
        let spki = verify_chain(
            &pki.cert("leaf"),
            &roots,
            &[pki.der("inter")],
            now(),
            Usage::CodeSigning,
        )
        .unwrap();
        assert_eq!(spki, pki.cert("inter").spki_der());

        pki.issued(
            "signer",
            "P-384",
            "root",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n",
        );
        pki.issued("leaf2", "P-256", "signer", FULCIO_LEAF);
        let e = verify_chain(
            &pki.cert("leaf2"),
            &roots,
            &[pki.der("signer")],
            now(),
            Usage::CodeSigning,
        )
        .unwrap_err();
        assert!(e.contains("CN=signer") && e.contains("keyCertSign"), "{e}");

        pki.issued(
            "capped",
            "P-384",
            "root",
            "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n",
        );
        pki.issued("sub", "P-384", "capped", CA_EXTS);
        pki.issued("leaf3", "P-256", "sub", FULCIO_LEAF);
        let e = verify_chain(
            &pki.cert("leaf3"),
            &roots,
            &[pki.der("sub"), pki.der("capped")],
            now(),
            Usage::CodeSigning,
        )
        .unwrap_err();
        assert!(
            e.contains("CN=capped") && e.contains("pathLenConstraint"),
            "{e}"
        );

        // The root's validity counts too: after it ends, nothing chains.
        let late = pki.cert("root").not_after() + 1;
        assert!(
            verify_chain(
                &pki.cert("leaf"),
                &roots,
                &[pki.der("inter")],
                late,
                Usage::CodeSigning
            )
            .is_err()
        );
    }

    #[test]
    fn path_search_is_bounded_against_many_same_named_intermediates() {
        // A hostile bundle carries 100 certificates all named as the leaf's issuer: the search
        // stops at its signature budget instead of trying them all at every depth.
        let pki = Pki::new();
        pki.self_signed("root", "P-256", &ROOT_EXTS);
        pki.issued("inter", "P-256", "root", CA_EXTS);
        pki.issued("leaf", "P-256", "inter", LEAF_EXTS);
        let decoy = Pki::new();
        decoy.self_signed("inter", "P-256", &ROOT_EXTS);
        let mut extra = vec![decoy.der("inter"); 100];
        let e = verify_pki_chain(&pki.cert("leaf"), &[pki.der("root")], &extra, now()).unwrap_err();
        assert!(e.to_string().contains("signature checks"), "{e}");
        // The real intermediate first: found within the budget.
        extra.insert(0, pki.der("inter"));
        verify_pki_chain(&pki.cert("leaf"), &[pki.der("root")], &extra, now()).unwrap();
    }
}

//! RFC 5280 §6.1 path validation, the one validator for every certificate chain the tool
//! accepts: private-PKI signing certificates (CA:TRUE leaves included, as model_signing's test
//! PKI issues them) and Fulcio certificates alike.
//!
//! Building and validating are separate steps, as RFC 5280 describes them. Building finds the
//! candidate paths from the leaf to a trusted root by name (an issuer's subject DN equals the
//! issuer DN of the certificate below it) and signature (the issuer's key verifies it); every
//! complete candidate is then validated against the rules, all at one time `at`:
//!
//! - every certificate in the path (leaf, intermediates, root) is valid at `at`, both ends
//!   inclusive;
//! - every issuer (intermediates and root) has basic constraints CA:TRUE (a self-signed v1
//!   root, which cannot carry extensions, is taken as a CA, as OpenSSL does);
//! - every issuer that has a key usage extension allows keyCertSign;
//! - every issuer's pathLenConstraint bounds the non-self-issued intermediates below it (the
//!   leaf is not counted, CA:TRUE or not);
//! - no certificate has a critical extension this validator does not process, nor the same
//!   extension twice, nor a signature algorithm that differs from its TBS's;
//! - at most [`MAX_PATH_DEPTH`] intermediates, and a bounded number of signature checks (a
//!   bundle's chain is untrusted and may hold many certificates with one name).
//!
//! The leaf's own usage (digitalSignature, codeSigning) is the caller's rule, not this one's.

use x509_cert::der::Encode as _;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

use crate::formats::x509::{Certificate, fmt_time};

/// Longest path built (intermediates between the leaf and the root).
pub const MAX_PATH_DEPTH: usize = 8;

/// Most signature verifications one path search makes before giving up.
const MAX_SIGNATURE_CHECKS: usize = 64;

/// Critical extensions this validator processes (any other critical one refuses the path).
const KNOWN_CRITICAL: [&str; 6] = [
    "2.5.29.19", // basic constraints
    "2.5.29.15", // key usage
    "2.5.29.37", // extended key usage (the caller's leaf rule)
    "2.5.29.17", // subject alternative name (the signer identity)
    "2.5.29.14", // subject key identifier
    "2.5.29.35", // authority key identifier
];

/// Where a certificate sits in the path, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The signing certificate.
    Leaf,
    /// A CA between the leaf and the root.
    Intermediate,
    /// The trusted root the path ends at.
    Root,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Leaf => "the signing certificate",
            Role::Intermediate => "intermediate CA",
            Role::Root => "trusted root",
        })
    }
}

/// Why no valid path exists. Each variant names the certificate at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// No trusted root, and no certificate of the chain, has the issuer's name and key.
    #[error(
        "{subject} was not issued by a trusted CA: no trusted root or certificate of the chain is named {issuer} and holds the key that signed it; pass the root that issued it, and carry its intermediates in the signature"
    )]
    NoIssuer {
        /// The certificate whose issuer was not found.
        subject: String,
        /// The issuer DN it names.
        issuer: String,
    },
    /// The path would be longer than [`MAX_PATH_DEPTH`] intermediates.
    #[error("the certificate chain is longer than {max} intermediates")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// The search made too many signature checks (a chain of many same-named certificates).
    #[error(
        "the certificate chain needs more than {max} signature checks to build a path; carry only the signing certificate's own intermediates"
    )]
    TooManyCandidates {
        /// The limit.
        max: usize,
    },
    /// A certificate in the path is not valid yet at the check time.
    #[error(
        "{role} {subject} is not yet valid (valid {} to {}, checked at {}); check the clock, or sign with a chain valid now",
        fmt_time(*not_before), fmt_time(*not_after), fmt_time(*at)
    )]
    NotYetValid {
        /// Its place in the path.
        role: Role,
        /// Its subject DN.
        subject: String,
        /// notBefore (Unix seconds).
        not_before: i64,
        /// notAfter (Unix seconds).
        not_after: i64,
        /// The time checked.
        at: i64,
    },
    /// A certificate in the path expired before the check time.
    #[error(
        "{role} {subject} expired (valid {} to {}, checked at {}); re-sign with a chain valid now",
        fmt_time(*not_before), fmt_time(*not_after), fmt_time(*at)
    )]
    Expired {
        /// Its place in the path.
        role: Role,
        /// Its subject DN.
        subject: String,
        /// notBefore (Unix seconds).
        not_before: i64,
        /// notAfter (Unix seconds).
        not_after: i64,
        /// The time checked.
        at: i64,
    },
    /// An issuer is not a CA (basic constraints absent or CA:FALSE).
    #[error(
        "{role} {subject} issued a certificate of the path but is not a CA (no basic constraints CA:TRUE); sign with a certificate issued by a CA"
    )]
    NotCa {
        /// Its place in the path.
        role: Role,
        /// Its subject DN.
        subject: String,
    },
    /// An issuer's key usage does not allow certificate signing.
    #[error(
        "{role} {subject} issued a certificate of the path but its key usage does not allow keyCertSign; sign with a certificate issued by a CA"
    )]
    NoKeyCertSign {
        /// Its place in the path.
        role: Role,
        /// Its subject DN.
        subject: String,
    },
    /// More intermediates below an issuer than its pathLenConstraint allows.
    #[error(
        "{role} {subject} allows {limit} intermediate CA(s) below it (pathLenConstraint) but the path has {below}; sign with a certificate from a shorter chain"
    )]
    PathLength {
        /// Its place in the path.
        role: Role,
        /// Its subject DN.
        subject: String,
        /// Its pathLenConstraint.
        limit: u8,
        /// Non-self-issued intermediates below it.
        below: usize,
    },
    /// A critical extension this validator does not process.
    #[error(
        "{role} {subject} has an unsupported critical extension {oid}, which refuses the path; sign with a chain without it"
    )]
    UnknownCritical {
        /// Its place in the path.
        role: Role,
        /// Its subject DN.
        subject: String,
        /// The extension's OID.
        oid: String,
    },
    /// An extension that cannot be read.
    #[error("{role} {subject} has a malformed {what} extension")]
    BadExtension {
        /// Its place in the path.
        role: Role,
        /// Its subject DN.
        subject: String,
        /// Which extension.
        what: &'static str,
    },
    /// The same extension twice (RFC 5280 §4.2).
    #[error("{role} {subject} carries extension {oid} more than once")]
    RepeatedExtension {
        /// Its place in the path.
        role: Role,
        /// Its subject DN.
        subject: String,
        /// The extension's OID.
        oid: String,
    },
    /// A certificate of the chain or of the trusted roots cannot be parsed.
    #[error("a certificate of the chain cannot be read: {detail}")]
    Unreadable {
        /// What is wrong.
        detail: String,
    },
    /// The outer signature algorithm differs from the TBSCertificate's (RFC 5280 §4.1.1.2).
    #[error("{role} {subject} names two different signature algorithms")]
    AlgorithmMismatch {
        /// Its place in the path.
        role: Role,
        /// Its subject DN.
        subject: String,
    },
}

impl PathError {
    /// A path that reached a root and broke a rule says more than one that found no issuer.
    fn is_rule(&self) -> bool {
        !matches!(
            self,
            PathError::NoIssuer { .. }
                | PathError::Unreadable { .. }
                | PathError::TooLong { .. }
                | PathError::TooManyCandidates { .. }
        )
    }
}

/// A validated path.
#[derive(Clone, Debug)]
pub struct ValidPath {
    /// DER SPKI of the certificate that issued the leaf (for the SCT).
    pub issuer_spki: Vec<u8>,
    /// Subjects from the leaf's issuer up to the root.
    pub issuers: Vec<String>,
}

/// Finds a path from `leaf` to one of `roots` (trusted as they are) through `intermediates`
/// (untrusted) that is valid under RFC 5280's rules at `at` (Unix seconds).
pub fn validate(
    leaf: &Certificate,
    roots: &[Certificate],
    intermediates: &[Certificate],
    at: i64,
) -> Result<ValidPath, PathError> {
    let mut search = Search {
        roots,
        intermediates,
        at,
        checks: 0,
        best: None,
    };
    let mut path = vec![leaf];
    if let Some(valid) = search.extend(&mut path) {
        return Ok(valid);
    }
    Err(search.best.unwrap_or_else(|| PathError::NoIssuer {
        subject: leaf.subject(),
        issuer: leaf.cert.tbs_certificate().issuer().to_string(),
    }))
}

struct Search<'a> {
    roots: &'a [Certificate],
    intermediates: &'a [Certificate],
    at: i64,
    checks: usize,
    /// The most telling failure so far: the first rule a complete path broke, else the first
    /// building failure.
    best: Option<PathError>,
}

impl<'a> Search<'a> {
    fn note(&mut self, e: PathError) {
        let replace = match &self.best {
            None => true,
            Some(b) => !b.is_rule() && e.is_rule(),
        };
        if replace {
            self.best = Some(e);
        }
    }

    /// True when `cand` has the name `cert` names as issuer and its key made `cert`'s
    /// signature (counted against the budget).
    fn issued(&mut self, cert: &Certificate, cand: &Certificate) -> bool {
        if cand.cert.tbs_certificate().subject() != cert.cert.tbs_certificate().issuer() {
            return false;
        }
        if self.checks >= MAX_SIGNATURE_CHECKS {
            self.note(PathError::TooManyCandidates {
                max: MAX_SIGNATURE_CHECKS,
            });
            return false;
        }
        self.checks += 1;
        cert.signed_by(cand)
    }

    /// Depth-first: completes `path` (leaf first) with a root or an intermediate, returning the
    /// first complete path that validates.
    fn extend(&mut self, path: &mut Vec<&'a Certificate>) -> Option<ValidPath> {
        let cur = *path.last()?;
        let mut any_issuer = false;
        let roots = self.roots;
        for root in roots {
            if path.iter().any(|c| c.der == root.der) || !self.issued(cur, root) {
                continue;
            }
            any_issuer = true;
            path.push(root);
            let checked = check_path(path, self.at);
            path.pop();
            match checked {
                Ok(valid) => return Some(valid),
                Err(e) => self.note(e),
            }
        }
        if path.len() > MAX_PATH_DEPTH {
            self.note(PathError::TooLong {
                max: MAX_PATH_DEPTH,
            });
            return None;
        }
        let inters = self.intermediates;
        for inter in inters {
            if path.iter().any(|c| c.der == inter.der) || !self.issued(cur, inter) {
                continue;
            }
            any_issuer = true;
            path.push(inter);
            let found = self.extend(path);
            path.pop();
            if found.is_some() {
                return found;
            }
        }
        if !any_issuer {
            // The dead end is here: name the certificate whose issuer is missing.
            self.note(PathError::NoIssuer {
                subject: cur.subject(),
                issuer: cur.cert.tbs_certificate().issuer().to_string(),
            });
        }
        None
    }
}

/// Validates a complete path (leaf first, trusted root last), from the root down as RFC 5280
/// §6.1 processes it: the first rule broken is the error.
fn check_path(path: &[&Certificate], at: i64) -> Result<ValidPath, PathError> {
    let last = path.len().saturating_sub(1);
    for (j, cert) in path.iter().enumerate().rev() {
        let role = if j == 0 {
            Role::Leaf
        } else if j == last {
            Role::Root
        } else {
            Role::Intermediate
        };
        let subject = || cert.subject();
        check_one(cert, role, at)?;
        if j == 0 {
            continue;
        }
        if role == Role::Root
            && cert.cert.tbs_certificate().version() == x509_cert::certificate::Version::V1
            && cert.is_self_issued()
        {
            // A v1 certificate has no extensions to say CA: a self-signed one trusted as a root
            // is taken as a CA without constraints, as OpenSSL (and so model_signing) does.
            continue;
        }
        let bc = match cert
            .cert
            .tbs_certificate()
            .get_extension::<BasicConstraints>()
        {
            Ok(Some((_, bc))) => bc,
            Ok(None) => {
                return Err(PathError::NotCa {
                    role,
                    subject: subject(),
                });
            }
            Err(_) => {
                return Err(PathError::BadExtension {
                    role,
                    subject: subject(),
                    what: "basic constraints",
                });
            }
        };
        if !bc.ca {
            return Err(PathError::NotCa {
                role,
                subject: subject(),
            });
        }
        match cert.cert.tbs_certificate().get_extension::<KeyUsage>() {
            Ok(Some((_, ku))) if !ku.key_cert_sign() => {
                return Err(PathError::NoKeyCertSign {
                    role,
                    subject: subject(),
                });
            }
            Ok(_) => {}
            Err(_) => {
                return Err(PathError::BadExtension {
                    role,
                    subject: subject(),
                    what: "key usage",
                });
            }
        }
        if let Some(limit) = bc.path_len_constraint {
            // Intermediates strictly between this issuer and the leaf, self-issued ones aside.
            let below = path
                .get(1..j)
                .unwrap_or_default()
                .iter()
                .filter(|c| !c.is_self_issued())
                .count();
            if below > usize::from(limit) {
                return Err(PathError::PathLength {
                    role,
                    subject: subject(),
                    limit,
                    below,
                });
            }
        }
    }
    Ok(ValidPath {
        issuer_spki: path.get(1).map(|c| c.spki_der()).unwrap_or_default(),
        issuers: path.iter().skip(1).map(|c| c.subject()).collect(),
    })
}

/// The rules every certificate of the path meets, issuer or leaf.
pub(super) fn check_one(cert: &Certificate, role: Role, at: i64) -> Result<(), PathError> {
    let subject = || cert.subject();
    let (not_before, not_after) = (cert.not_before(), cert.not_after());
    if at < not_before {
        return Err(PathError::NotYetValid {
            role,
            subject: subject(),
            not_before,
            not_after,
            at,
        });
    }
    if at > not_after {
        return Err(PathError::Expired {
            role,
            subject: subject(),
            not_before,
            not_after,
            at,
        });
    }
    let tbs_alg = cert.cert.tbs_certificate().signature().to_der().ok();
    if tbs_alg.is_none() || tbs_alg != cert.cert.signature_algorithm().to_der().ok() {
        return Err(PathError::AlgorithmMismatch {
            role,
            subject: subject(),
        });
    }
    let exts = cert
        .cert
        .tbs_certificate()
        .extensions()
        .map(|e| e.as_slice())
        .unwrap_or_default();
    for (i, e) in exts.iter().enumerate() {
        let oid = e.extn_id.to_string();
        if exts.iter().skip(i + 1).any(|o| o.extn_id == e.extn_id) {
            return Err(PathError::RepeatedExtension {
                role,
                subject: subject(),
                oid,
            });
        }
        if e.critical && !KNOWN_CRITICAL.contains(&oid.as_str()) {
            return Err(PathError::UnknownCritical {
                role,
                subject: subject(),
                oid,
            });
        }
    }
    Ok(())
}

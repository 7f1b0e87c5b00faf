//! Who made a signature: the cryptographic steps that establish a [`SignerId`] from a bundle,
//! before anything in the signed payload is read. Key bundles are attributed by the keyring key
//! whose signature verifies; keyless bundles by the Fulcio certificate, after the log entry,
//! chain, SCT and log body check out against the Sigstore trusted root; private-PKI bundles by
//! the anchor their chain reaches.

use crate::formats::bundle::Bundle;
use crate::formats::x509::{self, Certificate};
use crate::keys::PublicKey;
use crate::trust::root::TrustRoot;
use crate::trust::signer::{PkiAnchors, Principal, SignerId};
use crate::verify::tlog;
use crate::verify::x509::{self as pki, Usage};

use super::check::{Check, Checks};

/// What the cryptographic steps established.
#[derive(Clone, Debug)]
pub enum Identified {
    /// The signer is known. For a key, the DSSE signature already verified with it; for a
    /// certificate, `leaf_spki` must still verify it (after the trust decision).
    Signer {
        /// Who signed.
        id: SignerId,
        /// The certificate's key, when the signature is still to be checked.
        leaf_spki: Option<Vec<u8>>,
        /// The transparency log's integrated time (keyless).
        signed_at: Option<i64>,
    },
    /// The signer cannot be attributed to any key, root or anchor we hold: not trusted.
    /// `claimed` is what the bundle says, unverified.
    Unattributed {
        /// The step that could not attribute it (`signer`, or `certificate-chain` for a
        /// certificate that chains to no trusted anchor).
        check: Check,
        /// The bundle's claim (key hint or certificate identity).
        claimed: String,
        /// Why it could not be attributed.
        detail: String,
    },
    /// A step failed: the bundle is not intact (recorded in the checks).
    Failed,
}

/// Key material and roots signatures are attributed with. Holding material never means trust.
pub struct Material<'a> {
    /// Public keys.
    pub keyring: &'a [PublicKey],
    /// The Sigstore trusted root, when some rule trusts keyless signers.
    pub sigstore: Option<&'a TrustRoot>,
    /// Private-PKI anchors some rule trusts.
    pub pki: Vec<&'a PkiAnchors>,
}

/// The key hint a bundle claims (lower case), if any.
pub fn claimed_key(bundle: &Bundle) -> Option<String> {
    bundle
        .verification_material
        .public_key
        .as_ref()
        .map(|p| p.hint.to_ascii_lowercase())
        .filter(|h| !h.is_empty())
}

/// Every principal a bundle claims, unverified: the key it names (`publicKey.hint`, or the key
/// older bundles embed), its signing certificate's key, and that certificate's keyless identities
/// (each SAN with the OIDC issuer extension). Revocation is checked against these claims before
/// anything is verified: claiming a revoked key can only make a verdict stricter.
pub fn claims(bundle: &Bundle) -> Vec<Principal> {
    let mut out = Vec::new();
    if let Some(pk) = &bundle.verification_material.public_key {
        if let Some(h) = claimed_key(bundle) {
            out.push(Principal::Key(h));
        }
        if let Some(k) = pk.embedded_key() {
            out.push(Principal::Key(k.id().to_owned()));
        }
    }
    if let Ok(Some((leaf, _))) = certificates(bundle) {
        out.push(Principal::Key(crate::keys::key_id_of_spki(
            &leaf.spki_der(),
        )));
        if let Some(issuer) = leaf.oidc_issuer() {
            out.extend(
                leaf.identities()
                    .into_iter()
                    .map(|identity| Principal::Keyless {
                        identity,
                        issuer: issuer.clone(),
                    }),
            );
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A bundle's signing certificate and the DER of the rest of its chain.
type CarriedChain = (Certificate, Vec<Vec<u8>>);

/// The signing certificate and the rest of the chain carried by a bundle.
fn certificates(bundle: &Bundle) -> Result<Option<CarriedChain>, x509::Error> {
    let vm = &bundle.verification_material;
    let mut ders: Vec<&str> = Vec::new();
    if let Some(c) = &vm.certificate {
        ders.push(&c.raw_bytes);
    }
    if let Some(chain) = &vm.x509_certificate_chain {
        ders.extend(chain.certificates.iter().map(|c| c.raw_bytes.as_str()));
    }
    let Some((leaf, rest)) = ders.split_first() else {
        return Ok(None);
    };
    let leaf = Certificate::from_base64(leaf, "the bundle's signing certificate")?;
    let extra = rest
        .iter()
        .map(|b| {
            Certificate::from_base64(b, "the bundle's certificate chain").map(|c| c.der().to_vec())
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((leaf, extra)))
}

/// The signer a bundle's certificate claims, unverified (for reports about untrusted bundles).
pub fn claimed_certificate(bundle: &Bundle) -> Option<String> {
    let (leaf, _) = certificates(bundle).ok().flatten()?;
    Some(match leaf.oidc_issuer() {
        Some(iss) => format!("{} ({iss})", leaf.identities().join(", ")),
        None => {
            let ids = leaf.identities();
            if ids.is_empty() {
                leaf.subject()
            } else {
                ids.join(", ")
            }
        }
    })
}

/// Establishes who signed, recording each step in `checks`.
pub fn identify(bundle: &Bundle, material: &Material<'_>, checks: &mut Checks) -> Identified {
    if bundle.verification_material.public_key.is_some() {
        return identify_key(bundle, material.keyring, checks);
    }
    let (leaf, extra) = match certificates(bundle) {
        Ok(Some(c)) => c,
        Ok(None) => {
            checks.fail(
                Check::Bundle,
                "the bundle has neither a public key hint nor a certificate; it cannot be verified",
            );
            return Identified::Failed;
        }
        Err(e) => {
            checks.fail(Check::Bundle, e.to_string());
            return Identified::Failed;
        }
    };
    if !bundle.verification_material.tlog_entries.is_empty()
        || bundle.verification_material.certificate.is_some()
    {
        let Some(root) = material.sigstore else {
            return Identified::Unattributed {
                check: Check::Signer,
                claimed: claimed_certificate(bundle).unwrap_or_default(),
                detail: "a keyless (Sigstore) signature, but no rule trusts a keyless signer, so it was not checked; to trust one pass --certificate-identity ID (or --certificate-identity-regexp RE) and --certificate-oidc-issuer URL, or name it in the policy".into(),
            };
        };
        return identify_keyless(bundle, root, leaf, &extra, checks);
    }
    identify_pki(&material.pki, leaf, &extra, checks)
}

fn identify_key(bundle: &Bundle, keyring: &[PublicKey], checks: &mut Checks) -> Identified {
    let hint = claimed_key(bundle).unwrap_or_default();
    // The key the bundle names first: the common case verifies on the first try.
    let ordered = keyring
        .iter()
        .filter(|k| k.id() == hint)
        .chain(keyring.iter().filter(|k| k.id() != hint));
    for key in ordered {
        if let Ok(Some(form)) = bundle.dsse_envelope.verify_with_key(key) {
            let how = match form {
                crate::formats::dsse::SignedForm::Pae => "",
                crate::formats::dsse::SignedForm::V02Compat => {
                    " (over model_signing 0.2's pre-DSSE encoding, as that release signed)"
                }
            };
            checks.pass(
                Check::Signature,
                format!("{} signature by key {}{how}", key.algorithm(), key.id()),
            );
            return Identified::Signer {
                id: SignerId::Key {
                    key_id: key.id().to_owned(),
                },
                leaf_spki: None,
                signed_at: None,
            };
        }
    }
    if keyring.iter().any(|k| k.id() == hint) {
        checks.fail(
            Check::Signature,
            format!("the signature does not verify with key {hint}, which the bundle names: the signed payload or signature was altered"),
        );
        return Identified::Failed;
    }
    Identified::Unattributed {
        check: Check::Signer,
        claimed: if hint.is_empty() {
            "<no key hint>".into()
        } else {
            hint.clone()
        },
        detail: format!(
            "signed by key {} which is not trusted (pass --public-key or list it in the policy)",
            if hint.is_empty() {
                "<none named>"
            } else {
                &hint
            }
        ),
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn identify_keyless(
    bundle: &Bundle,
    root: &TrustRoot,
    leaf: Certificate,
    extra: &[Vec<u8>],
    checks: &mut Checks,
) -> Identified {
    let vm = &bundle.verification_material;
    if vm.tlog_entries.len() > 1 {
        // As sigstore-python ("expected exactly one log entry"): checking only the first would
        // let unchecked entries ride along, and there is no rule for what a second one proves.
        checks.fail(
            Check::Tlog,
            format!(
                "the bundle has {} transparency-log entries; expected exactly one log entry",
                vm.tlog_entries.len()
            ),
        );
        return Identified::Failed;
    }
    let Some(first) = vm.tlog_entries.first() else {
        let detail = if leaf.not_after() < now() {
            format!(
                "the bundle has no transparency-log entry, so nothing proves when the certificate (valid {} to {}, now expired) was used",
                x509::fmt_time(leaf.not_before()),
                x509::fmt_time(leaf.not_after())
            )
        } else {
            "the bundle has no transparency-log entry; a keyless signature needs the log's signed integrated time".into()
        };
        checks.fail(Check::Tlog, detail);
        return Identified::Failed;
    };
    let entry = match tlog::Entry::parse(first) {
        Ok(e) => e,
        Err(d) => {
            checks.fail(Check::Tlog, d.to_string());
            return Identified::Failed;
        }
    };
    let log = match entry.log(root) {
        Ok(l) => l,
        Err(d) => {
            checks.fail(Check::Tlog, d.to_string());
            return Identified::Failed;
        }
    };
    checks.pass(
        Check::Tlog,
        format!(
            "{} {} entry {} in {} (trusted root: {})",
            entry.kind, entry.version, entry.log_index, log.base_url, root.source
        ),
    );
    match entry.verify_set(log) {
        Ok(d) => checks.pass(Check::TlogSet, d),
        Err(d) => {
            checks.fail(Check::TlogSet, d.to_string());
            return Identified::Failed;
        }
    }
    match entry.verify_inclusion(log) {
        Ok(d) => checks.pass(Check::TlogInclusion, d),
        Err(d) => {
            checks.fail(Check::TlogInclusion, d.to_string());
            return Identified::Failed;
        }
    }
    let t = entry.integrated_time;
    let mut found = None;
    let mut errors = Vec::new();
    for ca in root
        .certificate_authorities
        .iter()
        .filter(|ca| ca.valid_for.contains(t))
    {
        let Some((anchor, inter)) = ca.chain.split_last() else {
            continue;
        };
        let mut inters = inter.to_vec();
        inters.extend(extra.iter().cloned());
        match pki::verify_chain(
            &leaf,
            std::slice::from_ref(anchor),
            &inters,
            t,
            Usage::CodeSigning,
        ) {
            Ok(spki) => {
                found = Some((spki, ca.uri.clone()));
                break;
            }
            Err(e) => errors.push(e),
        }
    }
    let Some((issuer_spki, ca_uri)) = found else {
        errors.dedup();
        let detail = if errors.is_empty() {
            format!(
                "no Fulcio CA of the trusted root was valid at the integrated time {}",
                x509::fmt_time(t)
            )
        } else {
            errors.join("; ")
        };
        checks.fail(Check::CertificateChain, detail);
        return Identified::Failed;
    };
    checks.pass(
        Check::CertificateChain,
        format!(
            "chains to Fulcio CA {ca_uri}, valid at the integrated time {} (certificate valid {} to {})",
            x509::fmt_time(t),
            x509::fmt_time(leaf.not_before()),
            x509::fmt_time(leaf.not_after())
        ),
    );
    match pki::verify_embedded_sct(&leaf, &issuer_spki, root) {
        Ok(sct) => checks.pass(
            Check::Sct,
            format!(
                "embedded SCT from {} verifies ({})",
                sct.log,
                x509::fmt_time(i64::try_from(sct.timestamp_ms / 1000).unwrap_or(0))
            ),
        ),
        Err(d) => {
            checks.fail(Check::Sct, d);
            return Identified::Failed;
        }
    }
    match entry.check_body(&bundle.dsse_envelope, &leaf) {
        Ok(d) => checks.pass(Check::TlogBody, d),
        Err(d) => {
            checks.fail(Check::TlogBody, d.to_string());
            return Identified::Failed;
        }
    }
    let identity = leaf.identities().into_iter().next().unwrap_or_default();
    let Some(issuer) = leaf.oidc_issuer() else {
        checks.fail(
            Check::Identity,
            "the certificate has no OIDC issuer extension (1.3.6.1.4.1.57264.1.8 or .1.1)",
        );
        return Identified::Failed;
    };
    Identified::Signer {
        id: SignerId::Keyless { identity, issuer },
        leaf_spki: Some(leaf.spki_der()),
        signed_at: Some(t),
    }
}

fn identify_pki(
    anchors: &[&PkiAnchors],
    leaf: Certificate,
    extra: &[Vec<u8>],
    checks: &mut Checks,
) -> Identified {
    let claimed = {
        let ids = leaf.identities();
        if ids.is_empty() {
            leaf.subject()
        } else {
            ids.join(", ")
        }
    };
    if anchors.is_empty() {
        return Identified::Unattributed {
            check: Check::Signer,
            claimed,
            detail: format!(
                "a certificate signature ({}), but no rule trusts a certificate chain (--certificate-chain, or `certificate_chain` in the policy)",
                leaf.subject()
            ),
        };
    }
    // OMS §8.2: the leaf must be valid now (no RFC 3161 time is verified yet), chain to a
    // trusted anchor, and be allowed to sign.
    let at = now();
    let mut errors = Vec::new();
    let mut flawed: Vec<String> = Vec::new();
    for set in anchors {
        for root in &set.roots {
            match pki::verify_pki_chain(&leaf, std::slice::from_ref(root), extra, at) {
                Ok(path) => {
                    checks.pass(
                        Check::CertificateChain,
                        format!("{} (anchors: {})", path.describe(&leaf), set.origin),
                    );
                    checks.pass(
                        Check::KeyUsage,
                        "the leaf may sign (digitalSignature or codeSigning)",
                    );
                    return Identified::Signer {
                        id: SignerId::Certificate {
                            key_id: crate::keys::key_id_of_spki(&leaf.spki_der()),
                            anchor: hex::encode(crate::hashing::sha256(root)),
                            subject: leaf.subject(),
                            identities: leaf.identities(),
                        },
                        leaf_spki: Some(leaf.spki_der()),
                        signed_at: None,
                    };
                }
                Err(pki::PkiError::KeyUsage(d)) => {
                    checks.pass(
                        Check::CertificateChain,
                        format!("{} chains to an anchor of {}", leaf.subject(), set.origin),
                    );
                    checks.fail(Check::KeyUsage, d);
                    return Identified::Failed;
                }
                Err(e @ (pki::PkiError::Expired { .. } | pki::PkiError::NotYetValid { .. })) => {
                    checks.fail(Check::CertificateChain, e.to_string());
                    return Identified::Failed;
                }
                // A path that reached a trusted anchor's name but breaks RFC 5280 (an expired
                // or non-CA intermediate, a pathLen violation) is a flawed chain, not an
                // unknown signer: reported as a failed check if no anchor works.
                Err(e @ pki::PkiError::Chain(pki::PathError::NoIssuer { .. })) => {
                    errors.push(e.to_string())
                }
                Err(e) => flawed.push(e.to_string()),
            }
        }
    }
    if !flawed.is_empty() {
        flawed.dedup();
        checks.fail(Check::CertificateChain, flawed.join("; "));
        return Identified::Failed;
    }
    errors.dedup();
    Identified::Unattributed {
        check: Check::CertificateChain,
        claimed,
        detail: format!(
            "the certificate {} does not chain to any trusted anchor: {}",
            leaf.subject(),
            errors.join("; ")
        ),
    }
}

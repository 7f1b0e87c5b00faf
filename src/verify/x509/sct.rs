//! The embedded SCT (RFC 6962): the Fulcio certificate's signed certificate timestamp list,
//! parsed with bounds on every field and verified against the trust root's CT log keys.

use sha2::{Digest as _, Sha256};
use x509_cert::der::Decode;
use x509_cert::der::asn1::OctetString;

use crate::trust::root::TrustRoot;

use crate::formats::x509::{Certificate, OID_SCT_LIST, fmt_time};
use crate::verify::x509::verify_with_spki;

/// One verified SCT: the CT log that issued it and its time.
#[derive(Clone, Debug)]
pub struct VerifiedSct {
    /// The CT log base URL.
    pub log: String,
    /// SCT timestamp, Unix milliseconds.
    pub timestamp_ms: u64,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated SCT".into());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, String> {
        self.take(1)?
            .first()
            .copied()
            .ok_or_else(|| "truncated SCT".into())
    }
    fn u16(&mut self) -> Result<usize, String> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ])))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn vec16(&mut self) -> Result<&'a [u8], String> {
        let n = self.u16()?;
        self.take(n)
    }
}

/// One SCT of an RFC 6962 `SignedCertificateTimestampList`, as read (nothing verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedSct<'a> {
    /// `sct_version` (0 is v1).
    pub version: u8,
    /// The CT log's key id (SHA-256 of its key).
    pub log_id: &'a [u8],
    /// Unix milliseconds.
    pub timestamp: u64,
    /// `CtExtensions`, opaque.
    pub extensions: &'a [u8],
    /// The `digitally-signed` signature bytes.
    pub signature: &'a [u8],
}

/// Reads a TLS-encoded `SignedCertificateTimestampList` (the content of the certificate's SCT
/// extension OCTET STRING): every length is checked against what remains, trailing bytes are
/// refused. Untrusted input: fuzzed (`fuzz/fuzz_targets/sct_list.rs`).
pub fn parse_sct_list(bytes: &[u8]) -> Result<Vec<ParsedSct<'_>>, String> {
    let mut outer = Reader(bytes);
    let mut scts = Reader(outer.vec16()?);
    if !outer.0.is_empty() {
        return Err("trailing bytes after the SCT list".into());
    }
    let mut out = Vec::new();
    while !scts.0.is_empty() {
        let mut r = Reader(scts.vec16()?);
        let version = r.u8()?;
        let log_id = r.take(32)?;
        let timestamp = r.u64()?;
        let extensions = r.vec16()?;
        let _hash_alg = r.u8()?;
        let _sig_alg = r.u8()?;
        let signature = r.vec16()?;
        if !r.0.is_empty() {
            return Err("trailing bytes in an SCT".into());
        }
        out.push(ParsedSct {
            version,
            log_id,
            timestamp,
            extensions,
            signature,
        });
    }
    Ok(out)
}

/// Verifies the leaf's embedded SCT(s) against the trusted root's CT logs; `issuer_spki` is
/// the DER SPKI of the certificate that issued the leaf. Passes when one SCT verifies with a
/// CT log key valid at the SCT's time.
pub fn verify_embedded_sct(
    leaf: &Certificate,
    issuer_spki: &[u8],
    root: &TrustRoot,
) -> Result<VerifiedSct, String> {
    let ext = leaf.extension(OID_SCT_LIST).ok_or(
        "the certificate carries no embedded SCT (it was not logged to Certificate Transparency)",
    )?;
    let list = OctetString::from_der(ext.extn_value.as_bytes())
        .map_err(|e| format!("malformed SCT list: {e}"))?;
    let parsed = parse_sct_list(list.as_bytes())?;
    let tbs = leaf
        .precert_tbs_der()
        .map_err(|e| format!("cannot rebuild the precertificate: {e}"))?;
    let issuer_key_hash = Sha256::digest(issuer_spki);
    let mut problems = Vec::new();
    for sct in parsed {
        let ParsedSct {
            version,
            log_id,
            timestamp,
            extensions,
            signature,
        } = sct;
        if version != 0 {
            problems.push(format!("SCT version {version} is not supported"));
            continue;
        }
        let Some(log) = root.ctlog(log_id) else {
            problems.push(format!(
                "SCT from CT log {} which the trusted root does not name",
                hex::encode(log_id)
            ));
            continue;
        };
        let t = i64::try_from(timestamp / 1000).unwrap_or(i64::MAX);
        if !log.valid_for.contains(t) {
            problems.push(format!(
                "SCT time {} is outside CT log {}'s key validity",
                fmt_time(t),
                log.base_url
            ));
            continue;
        }
        let tbs_len = u32::try_from(tbs.len()).map_err(|_| "certificate too large")?;
        let mut signed = Vec::with_capacity(tbs.len() + 64);
        signed.push(0); // sct_version v1
        signed.push(0); // signature_type certificate_timestamp
        signed.extend_from_slice(&timestamp.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(tbs_len.to_be_bytes().get(1..).unwrap_or_default());
        signed.extend_from_slice(&tbs);
        let ext_len = u16::try_from(extensions.len()).map_err(|_| "SCT extensions too large")?;
        signed.extend_from_slice(&ext_len.to_be_bytes());
        signed.extend_from_slice(extensions);
        match verify_with_spki(&log.spki, signature, &signed) {
            Ok(()) => {
                return Ok(VerifiedSct {
                    log: log.base_url.clone(),
                    timestamp_ms: timestamp,
                });
            }
            Err(e) => problems.push(format!("SCT signature by {} is invalid: {e}", log.base_url)),
        }
    }
    Err(if problems.is_empty() {
        "the SCT list is empty".into()
    } else {
        problems.join("; ")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn sct_list_reader_refuses_truncation_and_trailing_bytes() {
        // One SCT: version 0, 32-byte log id, timestamp, no extensions, hash/sig alg, 2-byte sig.
        let mut sct = vec![0u8];
        sct.extend([7u8; 32]);
        sct.extend(1_700_000_000_000u64.to_be_bytes());
        sct.extend([0, 0, 4, 3, 0, 2, 0xAB, 0xCD]);
        let mut inner = (sct.len() as u16).to_be_bytes().to_vec();
        inner.extend(&sct);
        let mut list = (inner.len() as u16).to_be_bytes().to_vec();
        list.extend(&inner);
        let parsed = parse_sct_list(&list).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].timestamp, 1_700_000_000_000);
        assert_eq!(parsed[0].signature, [0xAB, 0xCD]);
        for cut in 0..list.len() {
            assert!(parse_sct_list(&list[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = list.clone();
        trailing.push(0);
        assert!(parse_sct_list(&trailing).is_err());
    }

    #[test]
    fn sct_reader_refuses_truncated_input_without_panicking() {
        // A declared length longer than what follows is an error, at every field.
        for bytes in [&[][..], &[0x00], &[0x00, 0x05, 0x01], &[0xff, 0xff]] {
            let mut r = Reader(bytes);
            assert!(r.vec16().is_err() || r.u64().is_err());
        }
        let mut r = Reader(&[0x00, 0x02, 0xaa, 0xbb, 0x01]);
        assert_eq!(r.vec16().unwrap(), &[0xaa, 0xbb]);
        assert_eq!(r.u8().unwrap(), 1);
        assert!(r.u8().is_err());
    }
}

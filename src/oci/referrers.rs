//! Referrers (OCI 1.1): building the descriptor a referrers listing carries for a manifest, and
//! maintaining the referrers tag-schema index (`sha256-<hex>` tag) for registries without the
//! referrers API, without dropping entries other tools put there.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::store::{
    Descriptor, MAX_MANIFEST_SIZE, MEDIA_TYPE_IMAGE_INDEX, MEDIA_TYPE_IMAGE_MANIFEST,
};

/// The parts of an image manifest that matter for referrers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ManifestHead {
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub subject: Option<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl ManifestHead {
    pub(crate) fn parse(what: &str, bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| Error::malformed(what, e))
    }

    /// The manifest's media type: its own `mediaType`, else the one it was served as, else an
    /// OCI image manifest.
    pub(crate) fn media_type_or(&self, served: Option<String>) -> String {
        self.media_type
            .clone()
            .or(served)
            .unwrap_or_else(|| MEDIA_TYPE_IMAGE_MANIFEST.to_string())
    }

    /// The descriptor a referrers listing gives this manifest: `artifactType` (else the config
    /// media type, as the distribution spec says) and the manifest's annotations pulled up.
    pub(crate) fn referrer_descriptor(&self, digest: &str, size: u64) -> Descriptor {
        let artifact_type = self
            .artifact_type
            .clone()
            .or_else(|| self.config.as_ref().map(|c| c.media_type.clone()));
        Descriptor {
            media_type: self
                .media_type
                .clone()
                .unwrap_or_else(|| MEDIA_TYPE_IMAGE_MANIFEST.to_string()),
            digest: digest.to_string(),
            size,
            artifact_type,
            annotations: self.annotations.clone(),
        }
    }
}

/// A referrer manifest about to be stored, checked the same way by every store.
pub(crate) struct ReferrerPut {
    /// The subject's digest (validated).
    pub subject: String,
    /// The manifest's media type.
    pub media_type: String,
    /// The manifest's own digest.
    pub digest: String,
    /// The descriptor a referrers listing gives it.
    pub entry: Descriptor,
}

/// Check a referrer manifest before it is stored: at most [`MAX_MANIFEST_SIZE`], parseable, with
/// a `subject` whose digest is valid.
pub(crate) fn prepare_referrer(bytes: &[u8]) -> Result<ReferrerPut> {
    if bytes.len() as u64 > MAX_MANIFEST_SIZE {
        return Err(Error::TooLarge {
            what: "referrer manifest".into(),
            limit: MAX_MANIFEST_SIZE,
        });
    }
    let head = ManifestHead::parse("referrer manifest", bytes)?;
    let Some(subject) = head.subject.as_ref() else {
        return Err(Error::malformed("referrer manifest", "it has no subject"));
    };
    super::store::digest_hex(&subject.digest)?;
    let digest = super::store::sha256_digest(bytes);
    Ok(ReferrerPut {
        subject: subject.digest.clone(),
        media_type: head.media_type_or(None),
        entry: head.referrer_descriptor(&digest, bytes.len() as u64),
        digest,
    })
}

/// The referrers tag-schema tag for a subject digest: `sha256:<hex>` -> `sha256-<hex>`.
pub fn tag_schema_tag(subject_digest: &str) -> Result<String> {
    let hex = super::store::digest_hex(subject_digest)?;
    Ok(format!("sha256-{hex}"))
}

/// An empty image index, the state of a subject with no referrers.
pub(crate) fn empty_index() -> Value {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_IMAGE_INDEX,
        "manifests": []
    })
}

/// Parse an image index into its JSON object, checking its shape.
pub(crate) fn parse_index(what: &str, bytes: &[u8]) -> Result<Map<String, Value>> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| Error::malformed(what, e))?;
    let Value::Object(obj) = v else {
        return Err(Error::malformed(what, "not a JSON object"));
    };
    match obj.get("manifests") {
        Some(Value::Array(_)) | None => Ok(obj),
        Some(_) => Err(Error::malformed(what, "`manifests` is not an array")),
    }
}

/// A referrers tag-schema answer as an index, or `None` if it is some other document: a registry
/// that resolves `sha256-<hex>` as the digest itself (GitLab) answers with the subject's own
/// manifest, which lists no referrers and must neither count as one nor fail the listing.
/// Another `mediaType` than an image index, or a manifest's `config`/`layers`, marks it.
pub(crate) fn parse_tag_schema_index(bytes: &[u8]) -> Result<Option<Map<String, Value>>> {
    let what = "referrers tag-schema index";
    let v: Value = serde_json::from_slice(bytes).map_err(|e| Error::malformed(what, e))?;
    if let Value::Object(obj) = &v {
        let other_type = obj
            .get("mediaType")
            .is_some_and(|m| m.as_str() != Some(MEDIA_TYPE_IMAGE_INDEX));
        if other_type || obj.contains_key("config") || obj.contains_key("layers") {
            return Ok(None);
        }
    }
    parse_index(what, bytes).map(Some)
}

/// The entries of an index that parse as descriptors, filtered by artifact type. Entries we cannot
/// read (another tool's extension) are skipped, not fatal.
pub(crate) fn index_descriptors(
    index: &Map<String, Value>,
    artifact_type: Option<&str>,
) -> Vec<Descriptor> {
    let Some(Value::Array(entries)) = index.get("manifests") else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| serde_json::from_value::<Descriptor>(e.clone()).ok())
        .filter(|d| artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t)))
        .collect()
}

/// Whether the index lists `digest`.
pub(crate) fn index_contains(index: &Map<String, Value>, digest: &str) -> bool {
    matches!(index.get("manifests"), Some(Value::Array(a))
        if a.iter().any(|e| e.get("digest").and_then(Value::as_str) == Some(digest)))
}

/// Record every entry of `index` that has a digest, verbatim, in `known` (digest -> entry), so
/// a tag-schema writer can put back entries another writer dropped.
pub(crate) fn remember_entries(index: &Map<String, Value>, known: &mut BTreeMap<String, Value>) {
    if let Some(Value::Array(a)) = index.get("manifests") {
        for e in a {
            if let Some(d) = e.get("digest").and_then(Value::as_str) {
                known.entry(d.to_string()).or_insert_with(|| e.clone());
            }
        }
    }
}

/// Append each `known` entry whose digest `index` lacks, verbatim. Returns how many it added.
pub(crate) fn index_restore(
    index: &mut Map<String, Value>,
    known: &BTreeMap<String, Value>,
) -> Result<usize> {
    let missing: Vec<Value> = known
        .iter()
        .filter(|(d, _)| !index_contains(index, d))
        .map(|(_, e)| e.clone())
        .collect();
    if missing.is_empty() {
        return Ok(0);
    }
    match index
        .entry("manifests")
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        Value::Array(a) => {
            let n = missing.len();
            a.extend(missing);
            Ok(n)
        }
        _ => Err(Error::malformed(
            "referrers index",
            "`manifests` is not an array",
        )),
    }
}

/// Add `entry` to the index unless its digest is there already; other entries are kept verbatim
/// (unknown fields included). Returns whether the index changed.
pub(crate) fn index_add(index: &mut Map<String, Value>, entry: &Descriptor) -> Result<bool> {
    if index_contains(index, &entry.digest) {
        return Ok(false);
    }
    let v = serde_json::to_value(entry).map_err(|e| Error::malformed("referrer descriptor", e))?;
    index
        .entry("schemaVersion")
        .or_insert_with(|| Value::from(2));
    index
        .entry("mediaType")
        .or_insert_with(|| Value::from(MEDIA_TYPE_IMAGE_INDEX));
    match index
        .entry("manifests")
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        Value::Array(a) => a.push(v),
        _ => {
            return Err(Error::malformed(
                "referrers index",
                "`manifests` is not an array",
            ));
        }
    }
    Ok(true)
}

/// Fuzzing entry (fuzz/fuzz_targets/referrers_index.rs): `data` as a registry's referrers
/// index and as a referrer manifest, through every step a signer or verifier applies to it.
/// Panics only on a broken invariant: an index we merged into must re-parse, list our entry
/// once, and keep every entry it had.
#[doc(hidden)]
#[allow(clippy::panic)]
pub fn fuzz_referrers_index(data: &[u8]) {
    let _ = prepare_referrer(data);
    let Ok(mut index) = parse_index("fuzz", data) else {
        return;
    };
    let all = index_descriptors(&index, None);
    let typed = index_descriptors(
        &index,
        Some("application/vnd.dev.sigstore.bundle.v0.3+json"),
    );
    if typed.len() > all.len() {
        panic!("a filter added entries");
    }
    let capped = super::store::ReferrerList::capped_at(all.clone(), 3);
    if capped.descriptors.len() > 3 || capped.total != all.len() {
        panic!("cap broken");
    }
    let mut known = BTreeMap::new();
    remember_entries(&index, &mut known);
    let ours = Descriptor::of_bytes(MEDIA_TYPE_IMAGE_MANIFEST, b"fuzz");
    let Ok(_) = index_add(&mut index, &ours) else {
        return;
    };
    let mut fresh = match empty_index() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if index_restore(&mut fresh, &known).is_err() {
        panic!("restore into an empty index failed");
    }
    let Ok(body) = serde_json::to_vec(&index) else {
        panic!("merged index does not serialise");
    };
    let Ok(again) = parse_index("fuzz", &body) else {
        panic!("merged index does not re-parse");
    };
    let Some(Value::Array(entries)) = again.get("manifests") else {
        panic!("merged index lost its manifests");
    };
    let mine = entries
        .iter()
        .filter(|e| e.get("digest").and_then(Value::as_str) == Some(ours.digest.as_str()))
        .count();
    if mine != 1 {
        panic!("our entry is listed {mine} times");
    }
    if known.keys().any(|d| !index_contains(&again, d)) {
        panic!("an entry was dropped");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn index_add_keeps_foreign_entries_and_does_not_duplicate() {
        let foreign = serde_json::json!({"schemaVersion":2,"mediaType":MEDIA_TYPE_IMAGE_INDEX,
            "manifests":[{"mediaType":"x","digest":"sha256:00","size":1,"platform":{"os":"linux"}}]});
        let mut idx = parse_index("i", &serde_json::to_vec(&foreign).unwrap()).unwrap();
        let d = Descriptor::of_bytes(MEDIA_TYPE_IMAGE_MANIFEST, b"m");
        assert!(index_add(&mut idx, &d).unwrap());
        assert!(!index_add(&mut idx, &d).unwrap());
        let all = idx.get("manifests").unwrap().as_array().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0]["platform"]["os"], "linux");
    }

    #[test]
    fn index_restore_puts_back_dropped_entries_verbatim_once() {
        let a = serde_json::json!({"manifests":[
            {"mediaType":"x","digest":"sha256:aa","size":1,"vendor":{"k":1}},
            {"mediaType":"x","digest":"sha256:bb","size":2}]});
        let a = parse_index("i", &serde_json::to_vec(&a).unwrap()).unwrap();
        let mut known = BTreeMap::new();
        remember_entries(&a, &mut known);
        let b = serde_json::json!({"manifests":[{"mediaType":"x","digest":"sha256:cc","size":3}]});
        let mut b = parse_index("i", &serde_json::to_vec(&b).unwrap()).unwrap();
        assert_eq!(index_restore(&mut b, &known).unwrap(), 2);
        assert_eq!(index_restore(&mut b, &known).unwrap(), 0);
        let all = b["manifests"].as_array().unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.iter().any(|e| e["vendor"]["k"] == 1));
    }

    #[test]
    fn fuzz_entry_holds_on_odd_indexes() {
        for input in [
            &b""[..],
            b"{}",
            b"[]",
            br#"{"manifests":{}}"#,
            br#"{"manifests":[1,"x",null,{"digest":5},{"digest":"sha256:aa"},{"digest":"sha256:aa"}]}"#,
            br#"{"manifests":[{"mediaType":"x","digest":"sha256:aa","size":1,"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"}]}"#,
            br#"{"subject":{"mediaType":"x","digest":"sha256:zz","size":1}}"#,
        ] {
            fuzz_referrers_index(input);
        }
    }

    #[test]
    fn a_tag_schema_answer_that_is_a_manifest_is_no_index() {
        let manifest = serde_json::json!({"schemaVersion":2,"mediaType":MEDIA_TYPE_IMAGE_MANIFEST,
            "config":{"mediaType":"x","digest":"sha256:00","size":1},"layers":[]});
        let bytes = serde_json::to_vec(&manifest).unwrap();
        assert!(parse_tag_schema_index(&bytes).unwrap().is_none());
        // Even one that carries a `manifests` list, and one with no mediaType.
        let odd = br#"{"layers":[],"manifests":[{"mediaType":"x","digest":"sha256:aa","size":1}]}"#;
        assert!(parse_tag_schema_index(odd).unwrap().is_none());
        let index = serde_json::json!({"schemaVersion":2,"mediaType":MEDIA_TYPE_IMAGE_INDEX,
            "manifests":[{"mediaType":"x","digest":"sha256:aa","size":1}]});
        let index = parse_tag_schema_index(&serde_json::to_vec(&index).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(index_descriptors(&index, None).len(), 1);
        assert!(
            parse_tag_schema_index(br#"{"manifests":[]}"#)
                .unwrap()
                .is_some()
        );
        assert!(parse_tag_schema_index(b"not json").is_err());
    }

    #[test]
    fn tag_schema_tag_replaces_colon() {
        let d = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            tag_schema_tag(&d).unwrap(),
            format!("sha256-{}", "ab".repeat(32))
        );
        assert!(tag_schema_tag("sha256:zz").is_err());
    }
}

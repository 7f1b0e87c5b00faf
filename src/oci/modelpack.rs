//! CNCF ModelPack manifests (github.com/modelpack/model-spec): one uncompressed layer per model
//! file, named by the `org.cncf.model.filepath` annotation, so a raw layer's digest is the file's
//! SHA-256 and the OMS resources and the manifest name the same digests. Each layer also carries
//! `org.opencontainers.image.title` (the same path), so oras and podman name the files.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::store::{Descriptor, MAX_MANIFEST_SIZE, MEDIA_TYPE_IMAGE_MANIFEST};

/// `artifactType` of a ModelPack manifest.
pub const ARTIFACT_TYPE_MODEL: &str = "application/vnd.cncf.model.manifest.v1+json";
/// Media type of the ModelPack config blob.
pub const MEDIA_TYPE_MODEL_CONFIG: &str = "application/vnd.cncf.model.config.v1+json";
/// Layer media type of weights (and of any file of unknown kind).
pub const MEDIA_TYPE_WEIGHT: &str = "application/vnd.cncf.model.weight.v1.raw";
/// Layer media type of model configuration and tokenizer files.
pub const MEDIA_TYPE_WEIGHT_CONFIG: &str = "application/vnd.cncf.model.weight.config.v1.raw";
/// Layer media type of documentation.
pub const MEDIA_TYPE_DOC: &str = "application/vnd.cncf.model.doc.v1.raw";
/// Layer media type of code.
pub const MEDIA_TYPE_CODE: &str = "application/vnd.cncf.model.code.v1.raw";
/// Layer media type of datasets.
pub const MEDIA_TYPE_DATASET: &str = "application/vnd.cncf.model.dataset.v1.raw";
/// Layer annotation holding the file's relative POSIX path.
pub const ANNOTATION_FILEPATH: &str = "org.cncf.model.filepath";
/// The OCI annotation oras, oras-py and podman name a pulled layer's file by. Each layer carries
/// it too (the same path); provenance reads only `org.cncf.model.filepath`.
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";

/// One file of a model to describe: relative POSIX path, SHA-256 (hex) and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelFile {
    /// Relative POSIX path inside the model folder (`model-00001-of-00002.safetensors`).
    pub path: String,
    /// Lowercase hex SHA-256 of the file.
    pub sha256_hex: String,
    /// Size in bytes.
    pub size: u64,
}

/// Model metadata for the ModelPack config blob (`descriptor` and `config` sections).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelConfig {
    /// Model name (`descriptor.name`).
    pub name: Option<String>,
    /// Model version (`descriptor.version`).
    pub version: Option<String>,
    /// RFC 3339 creation time (`descriptor.createdAt`).
    pub created: Option<String>,
    /// Weight format, e.g. `safetensors` (`config.format`); guessed from the files if `None`.
    pub format: Option<String>,
}

/// A built ModelPack manifest and the config blob it names; push the config and the layers,
/// then the manifest bytes exactly as they are here.
#[derive(Clone, Debug)]
pub struct BuiltManifest {
    /// Manifest bytes (their SHA-256 is the manifest digest).
    pub manifest: Vec<u8>,
    /// Descriptor of the manifest (media type, digest, size, artifactType).
    pub descriptor: Descriptor,
    /// Config blob bytes.
    pub config: Vec<u8>,
    /// Descriptor of the config blob.
    pub config_descriptor: Descriptor,
    /// The layers, in manifest order (sorted by path).
    pub layers: Vec<ModelLayer>,
}

/// One layer of a ModelPack manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelLayer {
    /// Validated relative POSIX path (from `org.cncf.model.filepath`).
    pub path: String,
    /// `sha256:<hex>` of the file.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Layer media type.
    pub media_type: String,
}

/// A parsed ModelPack manifest whose layer paths are all safe to write under an output folder.
#[derive(Clone, Debug)]
pub struct ModelManifest {
    /// `artifactType` as declared (callers decide whether a non-ModelPack type is acceptable).
    pub artifact_type: Option<String>,
    /// The config descriptor.
    pub config: Descriptor,
    /// Layers in manifest order.
    pub layers: Vec<ModelLayer>,
    /// Manifest annotations.
    pub annotations: BTreeMap<String, String>,
    /// The `subject`, if the manifest has one.
    pub subject: Option<Descriptor>,
}

/// The layer media type for a file, by name (ModelPack kinds: weight, weight config, doc, code,
/// dataset; anything unknown counts as weights).
pub fn media_type_for_path(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    let stem_is = |p: &str| name.starts_with(p);
    if stem_is("readme") || stem_is("license") || stem_is("licence") || ext == "md" {
        return MEDIA_TYPE_DOC;
    }
    if matches!(ext, "py" | "sh" | "ipynb") {
        return MEDIA_TYPE_CODE;
    }
    if matches!(ext, "parquet" | "csv" | "jsonl" | "arrow") {
        return MEDIA_TYPE_DATASET;
    }
    if matches!(
        ext,
        "safetensors" | "bin" | "pt" | "pth" | "gguf" | "onnx" | "h5" | "ckpt" | "msgpack"
    ) {
        return MEDIA_TYPE_WEIGHT;
    }
    if stem_is("tokenizer")
        || stem_is("vocab")
        || matches!(
            name.as_str(),
            "config.json" | "generation_config.json" | "merges.txt" | "special_tokens_map.json"
        )
        || matches!(ext, "json" | "yaml" | "yml" | "txt" | "model")
    {
        return MEDIA_TYPE_WEIGHT_CONFIG;
    }
    MEDIA_TYPE_WEIGHT
}

/// Check that a manifest file path is relative, POSIX, and cannot leave the output folder.
pub fn validate_layer_path(path: &str) -> Result<()> {
    let err = |r: &str| Err(Error::unsafe_path(path, r));
    if path.is_empty() {
        return err("empty path");
    }
    if path.contains('\0') {
        return err("contains a NUL byte");
    }
    if path.contains('\\') {
        return err("contains a backslash");
    }
    if path.starts_with('/') {
        return err("absolute path");
    }
    if path.len() > 4096 {
        return err("path is too long");
    }
    for comp in path.split('/') {
        match comp {
            "" => return err("empty path component"),
            "." => return err("'.' component"),
            ".." => return err("'..' component"),
            _ => {}
        }
    }
    Ok(())
}

/// Check a set of paths: each valid, no duplicates, no path that is a folder of another.
fn validate_path_set<'a>(paths: impl IntoIterator<Item = &'a str>) -> Result<()> {
    let mut seen = BTreeSet::new();
    for p in paths {
        validate_layer_path(p)?;
        if !seen.insert(p) {
            return Err(Error::unsafe_path(p, "duplicate path"));
        }
    }
    for p in &seen {
        let mut prefix = String::new();
        for comp in p.split('/') {
            if !prefix.is_empty() && seen.contains(prefix.as_str()) {
                return Err(Error::unsafe_path(
                    p,
                    "a file of the same manifest is named like one of its folders",
                ));
            }
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(comp);
        }
    }
    Ok(())
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    artifact_type: Option<String>,
    config: Descriptor,
    layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

fn guess_format(files: &[ModelFile]) -> String {
    let mut exts: Vec<&str> = files
        .iter()
        .filter(|f| media_type_for_path(&f.path) == MEDIA_TYPE_WEIGHT)
        .filter_map(|f| f.path.rsplit_once('.').map(|(_, e)| e))
        .collect();
    exts.sort_unstable();
    exts.dedup();
    match exts.as_slice() {
        ["safetensors"] => "safetensors",
        ["gguf"] => "gguf",
        ["onnx"] => "onnx",
        ["pt"] | ["pth"] | ["bin"] | ["bin", "pt"] => "pytorch",
        ["h5"] => "h5",
        _ => "",
    }
    .to_string()
}

/// Build a ModelPack manifest for `files` (one raw layer each, sorted by path) and its config
/// blob. Refuses unsafe or duplicate paths and malformed digests before anything is written.
pub fn build_model_manifest(files: &[ModelFile], config: &ModelConfig) -> Result<BuiltManifest> {
    validate_path_set(files.iter().map(|f| f.path.as_str()))?;
    let mut sorted: Vec<&ModelFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut layers = Vec::with_capacity(sorted.len());
    for f in &sorted {
        let digest = format!("sha256:{}", f.sha256_hex);
        super::reference::validate_digest(&digest)?;
        layers.push(ModelLayer {
            path: f.path.clone(),
            digest,
            size: f.size,
            media_type: media_type_for_path(&f.path).to_string(),
        });
    }
    let mut descriptor = serde_json::Map::new();
    if let Some(c) = &config.created {
        descriptor.insert("createdAt".into(), c.clone().into());
    }
    if let Some(n) = &config.name {
        descriptor.insert("name".into(), n.clone().into());
    }
    if let Some(v) = &config.version {
        descriptor.insert("version".into(), v.clone().into());
    }
    let format = config.format.clone().unwrap_or_else(|| guess_format(files));
    let config_json = serde_json::json!({
        "descriptor": descriptor,
        "config": { "format": format },
        "modelfs": {
            "type": "layers",
            "diffIds": layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>(),
        },
    });
    let config_bytes =
        serde_json::to_vec(&config_json).map_err(|e| Error::malformed("model config", e))?;
    let config_descriptor = Descriptor::of_bytes(MEDIA_TYPE_MODEL_CONFIG, &config_bytes);
    let raw = RawManifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_IMAGE_MANIFEST.into()),
        artifact_type: Some(ARTIFACT_TYPE_MODEL.into()),
        config: config_descriptor.clone(),
        layers: layers
            .iter()
            .map(|l| Descriptor {
                media_type: l.media_type.clone(),
                digest: l.digest.clone(),
                size: l.size,
                artifact_type: None,
                annotations: BTreeMap::from([
                    (ANNOTATION_FILEPATH.to_string(), l.path.clone()),
                    (ANNOTATION_TITLE.to_string(), l.path.clone()),
                ]),
            })
            .collect(),
        subject: None,
        annotations: BTreeMap::new(),
    };
    let manifest = serde_json::to_vec(&raw).map_err(|e| Error::malformed("model manifest", e))?;
    let mut descriptor = Descriptor::of_bytes(MEDIA_TYPE_IMAGE_MANIFEST, &manifest);
    descriptor.artifact_type = Some(ARTIFACT_TYPE_MODEL.into());
    Ok(BuiltManifest {
        manifest,
        descriptor,
        config: config_bytes,
        config_descriptor,
        layers,
    })
}

/// Parse and check a ModelPack manifest from untrusted bytes. Rejects ([`Error::UnsafePath`] or
/// [`Error::Malformed`], exit 2): oversized input, a layer without `org.cncf.model.filepath`, a
/// path that is empty, absolute, has `..`, `.`, empty components, backslashes or NUL, two layers
/// with one path or a path that is a folder of another, and any digest that is not sha256.
pub fn parse_model_manifest(bytes: &[u8]) -> Result<ModelManifest> {
    if bytes.len() as u64 > MAX_MANIFEST_SIZE {
        return Err(Error::TooLarge {
            what: "model manifest".into(),
            limit: MAX_MANIFEST_SIZE,
        });
    }
    let raw: RawManifest =
        serde_json::from_slice(bytes).map_err(|e| Error::malformed("model manifest", e))?;
    if raw.schema_version != 2 {
        return Err(Error::malformed("model manifest", "schemaVersion is not 2"));
    }
    if let Some(mt) = &raw.media_type {
        if mt != MEDIA_TYPE_IMAGE_MANIFEST {
            return Err(Error::malformed(
                "model manifest",
                format!("media type {mt} is not an OCI image manifest"),
            ));
        }
    }
    super::reference::validate_digest(&raw.config.digest)?;
    let mut layers = Vec::with_capacity(raw.layers.len());
    for (i, l) in raw.layers.iter().enumerate() {
        let Some(path) = l.annotations.get(ANNOTATION_FILEPATH) else {
            return Err(Error::malformed(
                "model manifest",
                format!(
                    "layer {i} ({}) has no {ANNOTATION_FILEPATH} annotation",
                    l.digest
                ),
            ));
        };
        super::reference::validate_digest(&l.digest)?;
        layers.push(ModelLayer {
            path: path.clone(),
            digest: l.digest.clone(),
            size: l.size,
            media_type: l.media_type.clone(),
        });
    }
    validate_path_set(layers.iter().map(|l| l.path.as_str()))?;
    if let Some(s) = &raw.subject {
        super::reference::validate_digest(&s.digest)?;
    }
    Ok(ModelManifest {
        artifact_type: raw.artifact_type,
        config: raw.config,
        layers,
        annotations: raw.annotations,
        subject: raw.subject,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn file(path: &str) -> ModelFile {
        ModelFile {
            path: path.into(),
            sha256_hex: "ab".repeat(32),
            size: 3,
        }
    }

    #[test]
    fn media_types_follow_file_kinds() {
        assert_eq!(
            media_type_for_path("model-00001-of-00002.safetensors"),
            MEDIA_TYPE_WEIGHT
        );
        assert_eq!(media_type_for_path("config.json"), MEDIA_TYPE_WEIGHT_CONFIG);
        assert_eq!(
            media_type_for_path("tokenizer.json"),
            MEDIA_TYPE_WEIGHT_CONFIG
        );
        assert_eq!(media_type_for_path("README.md"), MEDIA_TYPE_DOC);
        assert_eq!(media_type_for_path("LICENSE"), MEDIA_TYPE_DOC);
        assert_eq!(media_type_for_path("src/train.py"), MEDIA_TYPE_CODE);
        assert_eq!(media_type_for_path("data/x.parquet"), MEDIA_TYPE_DATASET);
        assert_eq!(media_type_for_path("blob.weird"), MEDIA_TYPE_WEIGHT);
    }

    #[test]
    fn built_manifest_round_trips_through_parse() {
        let b = build_model_manifest(
            &[
                file("z.safetensors"),
                file("config.json"),
                file("sub/README.md"),
            ],
            &ModelConfig {
                name: Some("bert".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let m = parse_model_manifest(&b.manifest).unwrap();
        assert_eq!(m.artifact_type.as_deref(), Some(ARTIFACT_TYPE_MODEL));
        let paths: Vec<_> = m.layers.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(paths, ["config.json", "sub/README.md", "z.safetensors"]);
        assert_eq!(m.layers, b.layers);
        let cfg: serde_json::Value = serde_json::from_slice(&b.config).unwrap();
        assert_eq!(cfg["descriptor"]["name"], "bert");
        assert_eq!(cfg["config"]["format"], "safetensors");
        assert_eq!(cfg["modelfs"]["type"], "layers");
        assert_eq!(cfg["modelfs"]["diffIds"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn rejects_unsafe_and_duplicate_paths() {
        for bad in [
            vec!["../x"],
            vec!["/etc/x"],
            vec![""],
            vec!["a\\b"],
            vec!["a\0b"],
            vec!["a/../b"],
            vec!["a//b"],
            vec!["./a"],
            vec!["a", "a"],
            vec!["a", "a/b"],
        ] {
            let files: Vec<_> = bad.iter().map(|p| file(p)).collect();
            let e = build_model_manifest(&files, &ModelConfig::default()).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
            assert!(matches!(e, Error::UnsafePath { .. }), "{bad:?}");
        }
    }

    #[test]
    fn parse_rejects_missing_annotation_and_bad_digest() {
        let d = "ab".repeat(32);
        let m = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"c","digest":"sha256:{d}","size":2}},
            "layers":[{{"mediaType":"l","digest":"sha256:{d}","size":1}}]}}"#
        );
        assert!(matches!(
            parse_model_manifest(m.as_bytes()).unwrap_err(),
            Error::Malformed { .. }
        ));
        let m = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"c","digest":"sha256:{d}","size":2}},
            "layers":[{{"mediaType":"l","digest":"sha512:{d}","size":1,
            "annotations":{{"org.cncf.model.filepath":"a"}}}}]}}"#
        );
        assert_eq!(
            parse_model_manifest(m.as_bytes()).unwrap_err().exit_code(),
            2
        );
    }
}

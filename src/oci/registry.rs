//! A remote OCI registry as a [`Store`].
//!
//! oci-client does the protocol parts it does well: the bearer-token dance, blob HEAD, blob
//! upload (chunked PATCH streamed from disk for big blobs, monolithic for small ones) and tag
//! listing. A thin reqwest layer does what oci-client cannot: read manifests, indexes and blobs
//! with a size bound and hash them ourselves, send manifest bytes exactly and read the
//! `Docker-Content-Digest` and `OCI-Subject` answer headers, and query the referrers API.
//! The store owns a tokio runtime and blocks on it, so callers stay synchronous.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use serde_json::{Map, Value};
use tokio::io::AsyncReadExt as _;

use super::error::{Error, Result};
use super::referrers::{
    ManifestHead, empty_index, index_add, index_contains, index_descriptors, parse_index,
    prepare_referrer, tag_schema_tag,
};
use super::store::{
    Descriptor, FetchedManifest, MAX_MANIFEST_SIZE, MEDIA_TYPE_IMAGE_INDEX, Store, VerifyingWriter,
    check_manifest_put, digest_hex, sha256_digest,
};

/// Blobs up to this size are read into memory and pushed in one PUT; bigger ones are streamed
/// from disk in [`UPLOAD_CHUNK`]-sized PATCH requests.
pub const MONOLITHIC_MAX: u64 = 8 * 1024 * 1024;
/// Size of one chunked-upload PATCH. Each PATCH is one request (and, in distribution, one saved
/// hash state), so small chunks cost throughput: oci-client's 4 MiB chunks pushed at 0.69x of
/// skopeo's single streamed PATCH. The body streams from disk in [`STREAM_PIECE`] reads, so
/// memory does not grow with it.
pub const UPLOAD_CHUNK: u64 = 256 * 1024 * 1024;
/// Read size within one streamed request body.
const STREAM_PIECE: usize = 1024 * 1024;
/// How many times the referrers tag-schema index update is retried when another writer wins.
const TAG_SCHEMA_ATTEMPTS: u32 = 5;

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

pub use super::credentials::{
    Credentials, credentials_from_docker_config, docker_config_credentials,
};

/// How to talk to a registry.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// Use plain HTTP even for a non-loopback host (loopback hosts always use HTTP).
    pub plain_http: bool,
    /// Explicit credentials; if `None`, the docker config (`$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`: `credHelpers`, `credsStore`, `auths`) is used, else anonymous
    /// access.
    pub credentials: Option<Credentials>,
    /// Whether to read the docker config when no credentials are given.
    pub use_docker_config: bool,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Bytes per PATCH of a chunked blob upload (default [`UPLOAD_CHUNK`]; 0 counts as the
    /// default).
    pub upload_chunk: u64,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            plain_http: false,
            credentials: None,
            use_docker_config: true,
            connect_timeout: Duration::from_secs(10),
            upload_chunk: UPLOAD_CHUNK,
        }
    }
}

/// Whether a registry host (`host[:port]`) is on the loopback interface.
pub fn is_loopback_host(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        registry.rsplit_once(':').map_or(registry, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        || registry.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A remote registry (one host) as a [`Store`].
pub struct RegistryStore {
    registry: String,
    scheme: &'static str,
    rt: tokio::runtime::Runtime,
    chunked: Client,
    mono: Client,
    http: reqwest::Client,
    auth: RegistryAuth,
    tokens: Mutex<HashMap<(String, bool), Option<String>>>,
    upload_chunk: u64,
}

impl std::fmt::Debug for RegistryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryStore")
            .field("registry", &self.registry)
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// A stream of `len` bytes of the file at `path` from `offset`, in [`STREAM_PIECE`] reads:
/// memory stays at one piece.
fn file_range_stream(
    path: PathBuf,
    offset: u64,
    len: u64,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    struct St {
        path: PathBuf,
        file: Option<tokio::fs::File>,
        left: u64,
    }
    let st = St {
        path,
        file: None,
        left: len,
    };
    futures_util::stream::try_unfold(st, move |mut st| async move {
        if st.left == 0 {
            return Ok(None);
        }
        let mut f = match st.file.take() {
            Some(f) => f,
            None => {
                let mut f = tokio::fs::File::open(&st.path).await?;
                tokio::io::AsyncSeekExt::seek(&mut f, std::io::SeekFrom::Start(offset)).await?;
                f
            }
        };
        let want = usize::try_from(st.left.min(STREAM_PIECE as u64)).unwrap_or(STREAM_PIECE);
        let mut buf = vec![0u8; want];
        let mut filled = 0;
        while let Some(rest) = buf.get_mut(filled..) {
            if rest.is_empty() {
                break;
            }
            match f.read(rest).await? {
                0 => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("{} is shorter than when it was hashed", st.path.display()),
                    ));
                }
                n => filled += n,
            }
        }
        st.left -= filled as u64;
        st.file = Some(f);
        Ok(Some((Bytes::from(buf), st)))
    })
}

impl RegistryStore {
    /// A store for `registry` (`host[:port]`). Loopback hosts use plain HTTP; others HTTPS unless
    /// `plain_http`. Nothing is contacted until the first operation.
    pub fn new(registry: &str, opts: RegistryOptions) -> Result<Self> {
        let plain = opts.plain_http || is_loopback_host(registry);
        let creds = match opts.credentials.clone() {
            Some(c) => Some(c),
            None if opts.use_docker_config => docker_config_credentials(registry)?,
            None => None,
        };
        let auth = match creds {
            Some(c) => RegistryAuth::Basic(c.username, c.password),
            None => RegistryAuth::Anonymous,
        };
        let config = |mono: bool| ClientConfig {
            protocol: if plain {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            use_monolithic_push: mono,
            connect_timeout: Some(opts.connect_timeout),
            max_concurrent_upload: 1,
            ..Default::default()
        };
        let env_err = |reason: String| Error::Registry {
            registry: registry.to_string(),
            operation: "set up a client".into(),
            reason,
        };
        let chunked = Client::try_from(config(false)).map_err(|e| env_err(error_chain(&e)))?;
        let mono = Client::try_from(config(true)).map_err(|e| env_err(error_chain(&e)))?;
        let http = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .user_agent(concat!("provenance/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| env_err(error_chain(&e)))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::io("tokio runtime", e))?;
        rt.block_on(async {
            chunked.store_auth_if_needed(registry, &auth).await;
            mono.store_auth_if_needed(registry, &auth).await;
        });
        Ok(RegistryStore {
            registry: registry.to_string(),
            scheme: if plain { "http" } else { "https" },
            rt,
            chunked,
            mono,
            http,
            auth,
            tokens: Mutex::new(HashMap::new()),
            upload_chunk: if opts.upload_chunk == 0 {
                UPLOAD_CHUNK
            } else {
                opts.upload_chunk
            },
        })
    }

    /// The registry host this store talks to.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    fn oref(&self, repo: &str, tag: &str) -> oci_client::Reference {
        oci_client::Reference::with_tag(self.registry.clone(), repo.to_string(), tag.to_string())
    }

    fn url(&self, repo: &str, tail: &str) -> String {
        format!("{}://{}/v2/{repo}/{tail}", self.scheme, self.registry)
    }

    fn map_oci(&self, e: OciDistributionError, repo: &str, what: &str) -> Error {
        let registry = self.registry.clone();
        match e {
            OciDistributionError::RequestError(re) if !re.is_status() => Error::Unreachable {
                registry,
                reason: error_chain(&re),
            },
            OciDistributionError::AuthenticationFailure(r) => Error::Auth {
                registry,
                reason: r,
            },
            OciDistributionError::UnauthorizedError { .. } => Error::Auth {
                registry,
                reason: "401 Unauthorized".into(),
            },
            OciDistributionError::DigestError(d) => Error::DigestMismatch {
                what: what.to_string(),
                expected: String::new(),
                actual: d.to_string(),
            },
            OciDistributionError::ServerError { code: 404, .. } => Error::NotFound {
                repository: repo.to_string(),
                what: what.to_string(),
            },
            OciDistributionError::ServerError {
                code: 401 | 403,
                message,
                ..
            } => Error::Auth {
                registry,
                reason: message,
            },
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                if codes.iter().any(|c| {
                    matches!(
                        c,
                        OciErrorCode::BlobUnknown
                            | OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::NotFound
                    )
                }) {
                    Error::NotFound {
                        repository: repo.to_string(),
                        what: what.to_string(),
                    }
                } else if codes
                    .iter()
                    .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
                {
                    Error::Auth {
                        registry,
                        reason: envelope.to_string(),
                    }
                } else {
                    Error::Registry {
                        registry,
                        operation: what.to_string(),
                        reason: envelope.to_string(),
                    }
                }
            }
            OciDistributionError::IoError(io) => Error::io(what, io),
            other => Error::Registry {
                registry,
                operation: what.to_string(),
                reason: error_chain(&other),
            },
        }
    }

    fn map_reqwest(&self, e: reqwest::Error) -> Error {
        Error::Unreachable {
            registry: self.registry.clone(),
            reason: error_chain(&e),
        }
    }

    async fn token(&self, repo: &str, push: bool, refresh: bool) -> Result<Option<String>> {
        let key = (repo.to_string(), push);
        if !refresh {
            if let Ok(t) = self.tokens.lock() {
                if let Some(tok) = t.get(&key) {
                    return Ok(tok.clone());
                }
            }
        }
        let op = if push {
            RegistryOperation::Push
        } else {
            RegistryOperation::Pull
        };
        let tok = self
            .chunked
            .auth(&self.oref(repo, "latest"), &self.auth, op)
            .await
            .map_err(|e| self.map_oci(e, repo, "authenticate"))?;
        if let Ok(mut t) = self.tokens.lock() {
            t.insert(key, tok.clone());
        }
        Ok(tok)
    }

    /// Send a request with our credentials (bearer token, else basic), re-authenticating once on 401.
    async fn send(
        &self,
        repo: &str,
        push: bool,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let mut refresh = false;
        loop {
            let token = self.token(repo, push, refresh).await?;
            let mut req = build(&self.http);
            req = match (&token, &self.auth) {
                (Some(t), _) => req.bearer_auth(t),
                (None, RegistryAuth::Basic(u, p)) => req.basic_auth(u, Some(p)),
                _ => req,
            };
            let res = req.send().await.map_err(|e| self.map_reqwest(e))?;
            if res.status() == StatusCode::UNAUTHORIZED && !refresh {
                refresh = true;
                continue;
            }
            return Ok(res);
        }
    }

    async fn status_error(&self, res: reqwest::Response, repo: &str, what: &str) -> Error {
        let status = res.status();
        let body = read_limited_text(res).await;
        match status {
            StatusCode::NOT_FOUND => Error::NotFound {
                repository: repo.to_string(),
                what: what.to_string(),
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Error::Auth {
                registry: self.registry.clone(),
                reason: format!("{status}: {body}"),
            },
            _ => Error::Registry {
                registry: self.registry.clone(),
                operation: what.to_string(),
                reason: format!("{status}: {body}"),
            },
        }
    }

    /// GET a manifest or index by tag or digest, bounded by [`MAX_MANIFEST_SIZE`].
    async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
        accept: &str,
    ) -> Result<(Vec<u8>, Option<String>)> {
        let url = self.url(repo, &format!("manifests/{reference}"));
        let what = if reference.starts_with("sha256:") {
            format!("manifest {reference}")
        } else {
            format!("tag {reference}")
        };
        let res = self
            .send(repo, false, |c| c.get(&url).header(ACCEPT, accept))
            .await?;
        if res.status() != StatusCode::OK {
            return Err(self.status_error(res, repo, &what).await);
        }
        let media_type = header_str(res.headers(), CONTENT_TYPE.as_str())
            .map(|m| m.split(';').next().unwrap_or(m).trim().to_string());
        let bytes = self.read_bounded(res, &what, MAX_MANIFEST_SIZE).await?;
        Ok((bytes, media_type))
    }

    async fn read_bounded(
        &self,
        mut res: reqwest::Response,
        what: &str,
        limit: u64,
    ) -> Result<Vec<u8>> {
        let too_large = || Error::TooLarge {
            what: what.to_string(),
            limit,
        };
        if res.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut out = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| self.map_reqwest(e))? {
            if (out.len() + chunk.len()) as u64 > limit {
                return Err(too_large());
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// PUT manifest bytes exactly; returns (descriptor, whether the registry sent `OCI-Subject`).
    async fn put_manifest_raw(
        &self,
        repo: &str,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<(Descriptor, bool)> {
        let url = self.url(repo, &format!("manifests/{reference}"));
        let body = Bytes::copy_from_slice(bytes);
        let res = self
            .send(repo, true, |c| {
                c.put(&url)
                    .header(CONTENT_TYPE, media_type)
                    .body(body.clone())
            })
            .await?;
        let what = format!("push manifest {reference}");
        if res.status() != StatusCode::CREATED && res.status() != StatusCode::OK {
            return Err(self.status_error(res, repo, &what).await);
        }
        let digest = sha256_digest(bytes);
        if let Some(server) = header_str(res.headers(), "docker-content-digest") {
            if server != digest {
                return Err(Error::Registry {
                    registry: self.registry.clone(),
                    operation: what,
                    reason: format!("registry stored {server}, not the {digest} we sent"),
                });
            }
        }
        let subject = res.headers().contains_key("oci-subject");
        let mut d = Descriptor::of_bytes(media_type, bytes);
        d.artifact_type = ManifestHead::parse("manifest", bytes)
            .ok()
            .and_then(|h| h.artifact_type);
        Ok((d, subject))
    }

    /// The referrers tag-schema index of `subject`, or an empty one if the tag does not exist.
    async fn get_tag_schema_index(&self, repo: &str, tag: &str) -> Result<Map<String, Value>> {
        match self.get_manifest(repo, tag, MEDIA_TYPE_IMAGE_INDEX).await {
            Ok((bytes, _)) => parse_index("referrers tag-schema index", &bytes),
            Err(Error::NotFound { .. }) => match empty_index() {
                Value::Object(m) => Ok(m),
                _ => Ok(Map::new()),
            },
            Err(e) => Err(e),
        }
    }

    async fn update_tag_schema(&self, repo: &str, subject: &str, entry: &Descriptor) -> Result<()> {
        let tag = tag_schema_tag(subject)?;
        for attempt in 0..TAG_SCHEMA_ATTEMPTS {
            let mut index = self.get_tag_schema_index(repo, &tag).await?;
            if !index_add(&mut index, entry)? {
                return Ok(());
            }
            let body =
                serde_json::to_vec(&index).map_err(|e| Error::malformed("referrers index", e))?;
            self.put_manifest_raw(repo, &tag, &body, MEDIA_TYPE_IMAGE_INDEX)
                .await?;
            // Distribution has no conditional PUT: read back, and merge again if another
            // writer's index replaced ours in between.
            let check = self.get_tag_schema_index(repo, &tag).await?;
            if index_contains(&check, &entry.digest) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt + 1))).await;
        }
        Err(Error::Registry {
            registry: self.registry.clone(),
            operation: format!("update referrers index {tag}"),
            reason: format!("lost {TAG_SCHEMA_ATTEMPTS} races against concurrent writers"),
        })
    }

    async fn fetch_blob_async(
        &self,
        repo: &str,
        digest: &str,
        size: u64,
        out: &mut dyn Write,
    ) -> Result<()> {
        let url = self.url(repo, &format!("blobs/{digest}"));
        let what = format!("blob {digest}");
        let mut res = self.send(repo, false, |c| c.get(&url)).await?;
        if res.status() != StatusCode::OK {
            return Err(self.status_error(res, repo, &what).await);
        }
        let place = PathBuf::from(format!("{}/{repo}@{digest}", self.registry));
        let mut w = VerifyingWriter::new(out, size);
        while let Some(chunk) = res.chunk().await.map_err(|e| self.map_reqwest(e))? {
            w.put(&what, &chunk, &place)?;
        }
        w.finish(&what, digest, &place)
    }

    async fn push_blob_file_async(
        &self,
        repo: &str,
        path: &Path,
        digest: &str,
        size: u64,
    ) -> Result<()> {
        let oref = self.oref(repo, "latest");
        let what = format!("upload blob {digest}");
        if size <= MONOLITHIC_MAX {
            let bytes = tokio::fs::read(path)
                .await
                .map_err(|e| Error::io(path, e))?;
            if bytes.len() as u64 != size {
                return Err(Error::SizeMismatch {
                    what: format!("file {}", path.display()),
                    expected: size,
                    actual: bytes.len() as u64,
                });
            }
            super::store::check_digest(&format!("file {}", path.display()), digest, &bytes)?;
            self.mono
                .push_blob(&oref, bytes, digest)
                .await
                .map_err(|e| self.map_oci(e, repo, &what))?;
            return Ok(());
        }
        match self.push_blob_chunked(repo, path, digest, size).await {
            // A registry that refuses chunked uploads: one streamed PUT instead.
            Err(Error::Registry { .. }) => {
                let body = futures_util::TryStreamExt::map_err(
                    file_range_stream(path.to_path_buf(), 0, size),
                    OciDistributionError::from,
                );
                self.mono
                    .push_blob_stream(&oref, body, digest, Some(size))
                    .await
                    .map(|_| ())
                    .map_err(|e| self.map_oci(e, repo, &what))
            }
            other => other,
        }
    }

    /// Where the registry says an upload continues (`Location`, absolute or relative).
    fn upload_location(&self, res: &reqwest::Response, what: &str) -> Result<String> {
        let loc = header_str(res.headers(), "location").ok_or_else(|| Error::Registry {
            registry: self.registry.clone(),
            operation: what.to_string(),
            reason: format!("{} without a Location header", res.status()),
        })?;
        if loc.starts_with("http://") || loc.starts_with("https://") {
            Ok(loc.to_string())
        } else {
            Ok(format!("{}://{}{loc}", self.scheme, self.registry))
        }
    }

    /// A chunked upload (distribution spec "pushing a blob in chunks"): POST, then PATCH requests
    /// of `upload_chunk` bytes streamed from disk, then PUT `?digest=`; the registry checks the
    /// digest before it stores the blob.
    async fn push_blob_chunked(
        &self,
        repo: &str,
        path: &Path,
        digest: &str,
        size: u64,
    ) -> Result<()> {
        let what = format!("upload blob {digest}");
        let start = self.url(repo, "blobs/uploads/");
        let res = self
            .send(repo, true, |c| c.post(&start).header(CONTENT_LENGTH, 0))
            .await?;
        if res.status() != StatusCode::ACCEPTED {
            return Err(self.status_error(res, repo, &what).await);
        }
        let mut location = self.upload_location(&res, &what)?;
        let mut offset = 0u64;
        while offset < size {
            let len = self.upload_chunk.min(size - offset);
            let range = format!("{offset}-{}", offset + len - 1);
            let (loc, file) = (location.clone(), path.to_path_buf());
            let res = self
                .send(repo, true, |c| {
                    c.patch(&loc)
                        .header(CONTENT_TYPE, "application/octet-stream")
                        .header(CONTENT_LENGTH, len)
                        .header("Content-Range", range.as_str())
                        .body(reqwest::Body::wrap_stream(file_range_stream(
                            file.clone(),
                            offset,
                            len,
                        )))
                })
                .await?;
            if res.status() != StatusCode::ACCEPTED {
                return Err(self.status_error(res, repo, &what).await);
            }
            location = self.upload_location(&res, &what)?;
            offset += len;
        }
        let sep = if location.contains('?') { '&' } else { '?' };
        let done = format!("{location}{sep}digest={digest}");
        let res = self
            .send(repo, true, |c| c.put(&done).header(CONTENT_LENGTH, 0))
            .await?;
        if res.status() != StatusCode::CREATED {
            return Err(self.status_error(res, repo, &what).await);
        }
        Ok(())
    }
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

async fn read_limited_text(mut res: reqwest::Response) -> String {
    let mut out = Vec::new();
    while let Ok(Some(c)) = res.chunk().await {
        out.extend_from_slice(&c);
        if out.len() > 2048 {
            out.truncate(2048);
            break;
        }
    }
    String::from_utf8_lossy(&out).trim().to_string()
}

impl Store for RegistryStore {
    fn resolve(&self, repo: &str, tag_or_digest: &str) -> Result<Descriptor> {
        self.rt.block_on(async {
            let (bytes, media_type) = self
                .get_manifest(repo, tag_or_digest, MANIFEST_ACCEPT)
                .await?;
            if tag_or_digest.starts_with("sha256:") {
                super::store::check_digest(
                    &format!("manifest {tag_or_digest}"),
                    tag_or_digest,
                    &bytes,
                )?;
            }
            let head = ManifestHead::parse(&format!("manifest {repo}:{tag_or_digest}"), &bytes)?;
            let media_type = head.media_type_or(media_type);
            let mut d = Descriptor::of_bytes(&media_type, &bytes);
            d.artifact_type = head.artifact_type;
            Ok(d)
        })
    }

    fn fetch_manifest(&self, repo: &str, digest: &str) -> Result<FetchedManifest> {
        digest_hex(digest)?;
        self.rt.block_on(async {
            let (bytes, media_type) = self.get_manifest(repo, digest, MANIFEST_ACCEPT).await?;
            super::store::check_digest(&format!("manifest {digest}"), digest, &bytes)?;
            let head = ManifestHead::parse(&format!("manifest {digest}"), &bytes)?;
            let media_type = head.media_type_or(media_type);
            Ok(FetchedManifest { bytes, media_type })
        })
    }

    fn put_manifest(
        &self,
        repo: &str,
        tag_or_digest: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Descriptor> {
        check_manifest_put(tag_or_digest, bytes)?;
        self.rt.block_on(async {
            self.put_manifest_raw(repo, tag_or_digest, bytes, media_type)
                .await
                .map(|(d, _)| d)
        })
    }

    fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool> {
        digest_hex(digest)?;
        self.rt.block_on(async {
            self.chunked
                .blob_exists(&self.oref(repo, "latest"), digest)
                .await
                .map_err(|e| self.map_oci(e, repo, &format!("check blob {digest}")))
        })
    }

    fn push_blob_file(&self, repo: &str, path: &Path, digest: &str, size: u64) -> Result<()> {
        digest_hex(digest)?;
        self.rt
            .block_on(self.push_blob_file_async(repo, path, digest, size))
    }

    fn push_blob_bytes(&self, repo: &str, bytes: &[u8]) -> Result<Descriptor> {
        let d = Descriptor::of_bytes("", bytes);
        self.rt.block_on(async {
            self.mono
                .push_blob(&self.oref(repo, "latest"), bytes.to_vec(), &d.digest)
                .await
                .map_err(|e| self.map_oci(e, repo, &format!("upload blob {}", d.digest)))
        })?;
        Ok(d)
    }

    fn fetch_blob(&self, repo: &str, digest: &str, size: u64, out: &mut dyn Write) -> Result<()> {
        digest_hex(digest)?;
        self.rt
            .block_on(self.fetch_blob_async(repo, digest, size, out))
    }

    fn referrers(
        &self,
        repo: &str,
        subject_digest: &str,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        digest_hex(subject_digest)?;
        self.rt.block_on(async {
            let mut url = self.url(repo, &format!("referrers/{subject_digest}"));
            if let Some(t) = artifact_type {
                url.push_str("?artifactType=");
                url.push_str(&t.replace('+', "%2B").replace('/', "%2F"));
            }
            let res = self
                .send(repo, false, |c| {
                    c.get(&url).header(ACCEPT, MEDIA_TYPE_IMAGE_INDEX)
                })
                .await?;
            let index = match res.status() {
                StatusCode::OK => {
                    let bytes = self
                        .read_bounded(res, "referrers index", MAX_MANIFEST_SIZE)
                        .await?;
                    parse_index("referrers index", &bytes)?
                }
                StatusCode::NOT_FOUND => {
                    let tag = tag_schema_tag(subject_digest)?;
                    self.get_tag_schema_index(repo, &tag).await?
                }
                _ => {
                    return Err(self
                        .status_error(res, repo, &format!("referrers of {subject_digest}"))
                        .await);
                }
            };
            // Filter client-side too: a registry may ignore the artifactType query.
            Ok(index_descriptors(&index, artifact_type))
        })
    }

    fn put_referrer_manifest(&self, repo: &str, bytes: &[u8]) -> Result<Descriptor> {
        let r = prepare_referrer(bytes)?;
        self.rt.block_on(async {
            let (_, handled) = self
                .put_manifest_raw(repo, &r.digest, bytes, &r.media_type)
                .await?;
            if !handled {
                self.update_tag_schema(repo, &r.subject, &r.entry).await?;
            }
            Ok(r.entry)
        })
    }

    fn list_tags(&self, repo: &str) -> Result<Vec<String>> {
        self.rt.block_on(async {
            let oref = self.oref(repo, "latest");
            let mut tags: Vec<String> = Vec::new();
            let mut last: Option<String> = None;
            loop {
                let page = self
                    .chunked
                    .list_tags(&oref, &self.auth, Some(1000), last.as_deref())
                    .await
                    .map_err(|e| self.map_oci(e, repo, "list tags"))?;
                let n = page.tags.len();
                let new_last = page.tags.last().cloned();
                tags.extend(page.tags);
                if n < 1000 || new_last.is_none() || new_last == last {
                    break;
                }
                last = new_last;
            }
            tags.sort();
            tags.dedup();
            Ok(tags)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "::1",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "ghcr.io",
            "10.0.0.1:5000",
            "[2001:db8::1]:443",
            "localhost.example.com",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}

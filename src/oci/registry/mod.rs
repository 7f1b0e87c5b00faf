//! A remote OCI registry as a [`Store`].
//!
//! The distribution protocol is spoken over reqwest directly (oci-client's token dance, blob
//! upload and tag listing read answers unbounded, and sent credentials wherever a challenge
//! pointed): the token dance, blob HEAD/GET/upload (chunked PATCH streamed from disk for big
//! blobs, monolithic for small ones), manifests and indexes read with a size bound and hashed
//! here, manifest bytes sent exactly, `Docker-Content-Digest` and `OCI-Subject` read, the
//! referrers API and its tag-schema fallback, and paged tag listing.
//!
//! Every request has an idle-read timeout and metadata requests a whole deadline
//! ([`RegistryOptions::timeout`], [`RegistryOptions::request_deadline`]); idempotent requests
//! are retried on 429/5xx and broken connections with jittered exponential backoff honouring
//! `Retry-After` ([`MAX_RETRIES`], [`MAX_RETRY_WAIT`]); credentials go only to the registry's own
//! host and to a token service reached over HTTPS (or loopback). The store owns a tokio runtime
//! and blocks on it, so callers stay synchronous.
//!
//! Here: the options, the store, `send` (credentials, retries, deadlines) and the [`Store`]
//! impl; [`auth`] (who gets credentials), [`retry`], [`manifests`] (and tags), [`tag_schema`]
//! (the referrers fallback) and [`blobs`].

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;
use oci_client::secrets::RegistryAuth;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use serde_json::{Map, Value};
use tokio::io::AsyncReadExt as _;

use super::error::{Error, Result};
use super::reference::Authority;
use super::referrers::{
    ManifestHead, empty_index, index_add, index_descriptors, index_restore, parse_index,
    parse_tag_schema_index, prepare_referrer, remember_entries, tag_schema_tag,
};
use super::store::{
    Descriptor, FetchedManifest, MAX_MANIFEST_SIZE, MAX_REFERRER_MANIFEST_SIZE,
    MEDIA_TYPE_IMAGE_INDEX, ReferrerList, Store, VerifyingWriter, check_manifest_put,
    check_referrer_blob_size, digest_hex, sha256_digest,
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
/// Largest token-service answer read (a JWT is a few KiB).
pub const MAX_TOKEN_SIZE: u64 = 1024 * 1024;
/// Tags asked for per `tags/list` page (`n=`).
pub const TAG_PAGE: usize = 1000;
/// Largest `tags/list` page read, in bytes (a page of [`TAG_PAGE`] tags of the longest legal
/// length, 128 characters, is ~135 KiB; a server that ignores `n=` and answers everything at
/// once is cut off here).
pub const MAX_TAG_PAGE_SIZE: u64 = 4 * 1024 * 1024;
/// Most tags of one repository that are listed; past it [`Error::TooManyTags`] (exit 2) tells the
/// user to name one tag.
pub const MAX_TAGS: usize = 100_000;

/// Default idle-read timeout: a registry that sends no byte for this long is given up on with
/// [`Error::Timeout`]. Applies to every request, blob transfers included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default deadline of one whole metadata request (manifest, index, blob HEAD, tag-list page,
/// small blob upload, a signature referrer's manifest and bundle, the wait for a blob
/// download's response headers), retries not included. Blob transfers of any size are bounded
/// by the idle timeout and the low-speed limit instead, so a slow but live multi-GiB transfer is
/// never cut off.
pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(120);
/// Default deadline of the signature phase of one model: listing its referrers and reading
/// every listed referrer's manifest and bundle, all together (300 s, 2.5 request deadlines).
/// Without it [`MAX_REFERRERS`](super::MAX_REFERRERS) slow referrers, each just inside the
/// request deadline, would hold a verification for days.
pub const DEFAULT_REFERRER_DEADLINE: Duration = Duration::from_secs(300);
/// Default low-speed limit of a blob download, bytes per second (as curl's `--speed-limit`):
/// a transfer that averages less over [`DEFAULT_SPEED_TIME`] fails with [`Error::TooSlow`].
pub const DEFAULT_SPEED_LIMIT: u64 = 1024;
/// Default window of the low-speed limit (as curl's `--speed-time`).
pub const DEFAULT_SPEED_TIME: Duration = Duration::from_secs(30);
/// How many times an idempotent request (GET, HEAD, a PUT of digest-addressed content) is
/// retried after a transient failure: 429, 500, 502, 503, 504 or a broken connection. Timeouts
/// are not retried (they already waited [`DEFAULT_TIMEOUT`]).
pub const MAX_RETRIES: u32 = 4;
/// How many times a chunked upload of a big blob starts over after a transient failure (each
/// time may re-send the whole blob, so fewer than [`MAX_RETRIES`]).
const CHUNKED_RETRIES: u32 = 2;
/// First backoff between two attempts; it doubles each retry, with jitter.
const RETRY_BASE: Duration = Duration::from_millis(200);
/// Longest wait between two attempts, a server's `Retry-After` included (a larger value is cut
/// to this).
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);
/// Shortest settle delay of the referrers tag-schema update: after its PUT a writer waits this
/// long (or 3x its own read-merge-write cycle, if longer, plus up to 50 % jitter) and reads the
/// index again, so that any writer that read the index before our PUT has written by then and
/// its overwrite is seen. See `update_tag_schema`.
pub const TAG_SCHEMA_SETTLE: Duration = Duration::from_millis(300);
/// Longest settle delay (a very slow registry).
const TAG_SCHEMA_SETTLE_MAX: Duration = Duration::from_secs(5);
/// How long a tag-schema update keeps re-merging before it gives up with an error.
const TAG_SCHEMA_DEADLINE: Duration = Duration::from_secs(180);

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

pub use super::credentials::{
    Credentials, credentials_from_docker_config, docker_config_credentials,
};

/// One request as [`RequestLog`] reports it: never a credential (no header is reported, and the
/// URL's query, which may carry an upload session's state, is cut to `?…`).
#[derive(Clone, Debug)]
pub struct RequestRecord {
    /// `GET`, `HEAD`, `PUT`, `POST`, `PATCH`.
    pub method: String,
    /// The URL without its query.
    pub url: String,
    /// The HTTP status, or `None` when no answer came (a broken connection, a timeout).
    pub status: Option<u16>,
    /// Until the answer's headers (or the failure).
    pub elapsed: Duration,
    /// 0 for the first try, then the retry number.
    pub attempt: u32,
}

/// Called with each registry request (`--verbose`).
#[derive(Clone)]
pub struct RequestLog(pub std::sync::Arc<dyn Fn(&RequestRecord) + Send + Sync>);

impl std::fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestLog(..)")
    }
}

/// `url` without its query (`?…` marks one was there).
pub(crate) fn loggable_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let had_query = u.query().is_some();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_username("");
    let _ = u.set_password(None);
    let mut s = u.to_string();
    if had_query {
        s.push_str("?…");
    }
    s
}

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
    /// Idle-read timeout (default [`DEFAULT_TIMEOUT`], 30 s): a request during which the
    /// registry sends nothing for this long fails with [`Error::Timeout`] (exit 3). Zero counts
    /// as the default.
    pub timeout: Duration,
    /// Deadline of one whole metadata request (default [`DEFAULT_REQUEST_DEADLINE`], 120 s;
    /// never shorter than `timeout`). Model blob transfers have the idle timeout and the
    /// low-speed limit instead.
    pub request_deadline: Duration,
    /// Deadline of one model's signature phase: a referrer listing and every read of the
    /// referrers it listed, together (default [`DEFAULT_REFERRER_DEADLINE`], 300 s; never
    /// shorter than `request_deadline`).
    pub referrer_deadline: Duration,
    /// Low-speed limit of a blob download in bytes per second (default
    /// [`DEFAULT_SPEED_LIMIT`]): averaging less over `speed_time` fails the download with
    /// [`Error::TooSlow`] (exit 3). Zero counts as the default.
    pub speed_limit: u64,
    /// Window of the low-speed limit (default [`DEFAULT_SPEED_TIME`]; zero counts as the
    /// default).
    pub speed_time: Duration,
    /// Settle delay of the referrers tag-schema update (default [`TAG_SCHEMA_SETTLE`]). Zero
    /// turns the re-check off, which loses signatures under concurrent signers on registries
    /// without the referrers API: for measurements only. The environment variable
    /// `PROVENANCE_UNSAFE_TAG_SCHEMA_SETTLE_MS` overrides the default (scripts/bench-oci uses
    /// it to measure what the re-check costs).
    pub tag_schema_settle: Duration,
    /// Told about every request (method, URL without query, status, time), for `--verbose`.
    pub request_log: Option<RequestLog>,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            plain_http: false,
            credentials: None,
            use_docker_config: true,
            connect_timeout: Duration::from_secs(10),
            upload_chunk: UPLOAD_CHUNK,
            timeout: DEFAULT_TIMEOUT,
            request_deadline: DEFAULT_REQUEST_DEADLINE,
            referrer_deadline: DEFAULT_REFERRER_DEADLINE,
            speed_limit: DEFAULT_SPEED_LIMIT,
            speed_time: DEFAULT_SPEED_TIME,
            tag_schema_settle: std::env::var("PROVENANCE_UNSAFE_TAG_SCHEMA_SETTLE_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .map_or(TAG_SCHEMA_SETTLE, Duration::from_millis),
            request_log: None,
        }
    }
}

mod auth;
mod blobs;
mod manifests;
mod retry;
mod tag_schema;

pub use auth::is_loopback_host;
use auth::same_authority;
use retry::{Call, LowSpeed, backoff, jitter, retry_after, retryable_status, transient};

/// A remote registry (one host) as a [`Store`].
pub struct RegistryStore {
    registry: String,
    scheme: &'static str,
    rt: tokio::runtime::Runtime,
    plain_http: bool,
    http: reqwest::Client,
    auth: RegistryAuth,
    tokens: Mutex<HashMap<(String, bool), Option<String>>>,
    /// Held while a token is fetched (see `auth::token`).
    token_fetch: tokio::sync::Mutex<()>,
    upload_chunk: u64,
    timeout: Duration,
    deadline: Duration,
    referrer_deadline: Duration,
    speed_limit: u64,
    speed_time: Duration,
    /// The signature phase each listed referrer belongs to: (repo, referrer digest) -> (subject
    /// digest, when that listing's deadline ends). Entries past their deadline are dropped at
    /// the next listing.
    referrer_phases: Mutex<HashMap<(String, String), (String, Instant)>>,
    settle: Duration,
    clear_credentials: bool,
    request_log: Option<RequestLog>,
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

impl RegistryStore {
    /// A store for `registry` (`host[:port]`). Loopback hosts use plain HTTP; others HTTPS unless
    /// `plain_http`. Nothing is contacted until the first operation. URLs are built from the
    /// canonical [`Authority`] (the one a reference's policy scope comes from), whatever spelling
    /// `registry` uses; one the URL parser refuses is [`Error::InvalidReference`].
    pub fn new(registry: &str, opts: RegistryOptions) -> Result<Self> {
        let authority = Authority::parse(registry).map_err(|reason| Error::InvalidReference {
            reference: registry.to_string(),
            reason,
        })?;
        let registry = authority.as_str();
        let plain = opts.plain_http || is_loopback_host(registry);
        let timeout = if opts.timeout.is_zero() {
            DEFAULT_TIMEOUT
        } else {
            opts.timeout
        };
        let creds = match opts.credentials.clone() {
            Some(c) => Some(c),
            None if opts.use_docker_config => docker_config_credentials(registry)?,
            None => None,
        };
        let auth = match creds {
            Some(c) => RegistryAuth::Basic(c.username, c.password),
            None => RegistryAuth::Anonymous,
        };
        let clear_credentials =
            plain && !is_loopback_host(registry) && !matches!(auth, RegistryAuth::Anonymous);
        let env_err = |reason: String| Error::Registry {
            registry: registry.to_string(),
            operation: "set up a client".into(),
            reason,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .read_timeout(timeout)
            .user_agent(concat!("provenance/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| env_err(error_chain(&e)))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::io("tokio runtime", e))?;
        Ok(RegistryStore {
            registry: registry.to_string(),
            scheme: if plain { "http" } else { "https" },
            rt,
            plain_http: opts.plain_http,
            http,
            auth,
            tokens: Mutex::new(HashMap::new()),
            token_fetch: tokio::sync::Mutex::new(()),
            upload_chunk: if opts.upload_chunk == 0 {
                UPLOAD_CHUNK
            } else {
                opts.upload_chunk
            },
            timeout,
            deadline: opts.request_deadline.max(timeout),
            referrer_deadline: opts
                .referrer_deadline
                .max(opts.request_deadline)
                .max(timeout),
            speed_limit: if opts.speed_limit == 0 {
                DEFAULT_SPEED_LIMIT
            } else {
                opts.speed_limit
            },
            speed_time: if opts.speed_time.is_zero() {
                DEFAULT_SPEED_TIME
            } else {
                opts.speed_time
            },
            referrer_phases: Mutex::new(HashMap::new()),
            settle: opts.tag_schema_settle,
            clear_credentials,
            request_log: opts.request_log.clone(),
        })
    }

    /// Whether credentials will cross the network unencrypted: `plain_http` for a non-loopback
    /// registry, with credentials. Without `plain_http` a non-loopback host is only ever spoken
    /// to over HTTPS, so this is the one case the CLI must warn about (once).
    pub fn sends_credentials_in_clear(&self) -> bool {
        self.clear_credentials
    }

    /// The registry host this store talks to.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    fn url(&self, repo: &str, tail: &str) -> String {
        format!("{}://{}/v2/{repo}/{tail}", self.scheme, self.registry)
    }

    /// A transport error of request `what`: [`Error::Timeout`] if a timeout fired, else
    /// [`Error::Unreachable`]. `last_activity` is when the request was sent or its last body
    /// chunk arrived: if that is more recent than the idle timeout, or the whole deadline has
    /// passed since, the deadline fired; otherwise the idle timeout.
    fn map_reqwest(&self, e: reqwest::Error, what: &str, last_activity: Instant) -> Error {
        if e.is_timeout() {
            let quiet = last_activity.elapsed();
            let limit =
                if quiet + Duration::from_millis(50) < self.timeout || quiet >= self.deadline {
                    self.deadline
                } else {
                    self.timeout
                };
            return Error::Timeout {
                registry: self.registry.clone(),
                operation: what.to_string(),
                secs: limit.as_secs(),
            };
        }
        Error::Unreachable {
            registry: self.registry.clone(),
            reason: format!("{what}: {}", error_chain(&e)),
        }
    }

    /// The head of referrer manifest `digest` (bounded, digest-checked) and its size.
    async fn referrer_head(&self, repo: &str, digest: &str) -> Result<(ManifestHead, u64)> {
        let (bytes, _) = self
            .get_manifest_limited(repo, digest, MANIFEST_ACCEPT, MAX_REFERRER_MANIFEST_SIZE)
            .await?;
        crate::oci::store::check_digest(&format!("referrer manifest {digest}"), digest, &bytes)?;
        let head = ManifestHead::parse(&format!("referrer manifest {digest}"), &bytes)?;
        Ok((head, bytes.len() as u64))
    }

    /// Report one request to the [`RequestLog`], if any.
    pub(super) fn log_request(
        &self,
        method: &reqwest::Method,
        url: &reqwest::Url,
        status: Option<StatusCode>,
        started: Instant,
        attempt: u32,
    ) {
        if let Some(log) = &self.request_log {
            (log.0)(&RequestRecord {
                method: method.to_string(),
                url: loggable_url(url),
                status: status.map(|s| s.as_u16()),
                elapsed: started.elapsed(),
                attempt,
            });
        }
    }

    /// Send a request with our credentials (bearer token, else basic), re-authenticating once on
    /// 401. `what` names the request in errors (`GET manifest sha256:…`). A [`Call::Idempotent`]
    /// request is sent again, to the same URL, after 429/500/502/503/504 or a broken connection,
    /// at most [`MAX_RETRIES`] times with [`backoff`]; the last answer is returned as it is.
    /// [`Call::Metadata`] requests also get the whole-request deadline.
    async fn send(
        &self,
        repo: &str,
        push: bool,
        what: &str,
        call: Call,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let mut refresh = false;
        let mut attempt = 0u32;
        loop {
            let token = self.token(repo, push, refresh).await?;
            let mut req = build(&self.http);
            if call.has_deadline() {
                req = req.timeout(self.deadline);
            }
            // Credentials go only to the registry itself: an upload `Location` may name another
            // host (a storage backend), which must never see them.
            let (client, req) = req.build_split();
            let req = req.map_err(|e| self.map_reqwest(e, what, Instant::now()))?;
            let (method, url) = (req.method().clone(), req.url().clone());
            let ours = same_authority(req.url(), &self.registry);
            let builder = reqwest::RequestBuilder::from_parts(client, req);
            let req = match (&token, &self.auth) {
                _ if !ours => builder,
                (Some(t), _) => builder.bearer_auth(t),
                (None, RegistryAuth::Basic(u, p))
                    if u != crate::oci::credentials::IDENTITY_TOKEN_USER =>
                {
                    builder.basic_auth(u, Some(p))
                }
                _ => builder,
            };
            let started = std::time::Instant::now();
            let retry = call.retries() && attempt < MAX_RETRIES;
            // A download's body has the low-speed limit; the wait for its headers (which a
            // hostile registry could drip as well) has the request deadline.
            let sent = if call == Call::Download {
                match tokio::time::timeout(self.deadline, req.send()).await {
                    Ok(sent) => sent,
                    Err(_) => {
                        self.log_request(&method, &url, None, started, attempt);
                        return Err(Error::Timeout {
                            registry: self.registry.clone(),
                            operation: what.to_string(),
                            secs: self.deadline.as_secs(),
                        });
                    }
                }
            } else {
                req.send().await
            };
            self.log_request(
                &method,
                &url,
                sent.as_ref().ok().map(reqwest::Response::status),
                started,
                attempt,
            );
            let res = match sent {
                Ok(res) => res,
                Err(e) if retry && !e.is_timeout() => {
                    tokio::time::sleep(backoff(attempt, None)).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(self.map_reqwest(e, what, started)),
            };
            if res.status() == StatusCode::UNAUTHORIZED && !refresh {
                refresh = true;
                continue;
            }
            if retry && retryable_status(res.status()) {
                let wait = backoff(attempt, retry_after(res.headers()));
                drop(res);
                tokio::time::sleep(wait).await;
                attempt += 1;
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
        self.rt.block_on(self.blob_exists_async(repo, digest))
    }

    fn registry_host(&self) -> Option<&str> {
        Some(&self.registry)
    }

    fn mount_blob(&self, repo: &str, from_repo: &str, digest: &str) -> Result<bool> {
        digest_hex(digest)?;
        super::reference::validate_repository(from_repo).map_err(|reason| {
            Error::InvalidReference {
                reference: from_repo.to_string(),
                reason,
            }
        })?;
        self.rt
            .block_on(self.mount_blob_async(repo, from_repo, digest))
    }

    fn push_blob_file(&self, repo: &str, path: &Path, digest: &str, size: u64) -> Result<()> {
        self.push_blob_file_progress(repo, path, digest, size, None)
    }

    fn push_blob_file_progress(
        &self,
        repo: &str,
        path: &Path,
        digest: &str,
        size: u64,
        progress: Option<crate::oci::store::ByteProgress>,
    ) -> Result<()> {
        digest_hex(digest)?;
        self.rt
            .block_on(self.push_blob_file_async(repo, path, digest, size, progress))
    }

    fn push_blob_bytes(&self, repo: &str, bytes: &[u8]) -> Result<Descriptor> {
        let d = Descriptor::of_bytes("", bytes);
        self.rt
            .block_on(self.push_blob_mono(repo, Bytes::copy_from_slice(bytes), &d.digest))?;
        Ok(d)
    }

    fn fetch_blob(&self, repo: &str, digest: &str, size: u64, out: &mut dyn Write) -> Result<()> {
        digest_hex(digest)?;
        self.rt
            .block_on(self.fetch_blob_async(repo, digest, size, out))
    }

    fn fetch_referrer_manifest(&self, repo: &str, digest: &str) -> Result<FetchedManifest> {
        digest_hex(digest)?;
        let phase = self.referrer_phase(repo, digest);
        self.rt.block_on(self.within_phase(phase, async {
            let (bytes, media_type) = self
                .get_manifest_limited(repo, digest, MANIFEST_ACCEPT, MAX_REFERRER_MANIFEST_SIZE)
                .await?;
            super::store::check_digest(&format!("manifest {digest}"), digest, &bytes)?;
            let head = ManifestHead::parse(&format!("manifest {digest}"), &bytes)?;
            let media_type = head.media_type_or(media_type);
            Ok(FetchedManifest { bytes, media_type })
        }))
    }

    fn fetch_referrer_blob(
        &self,
        repo: &str,
        referrer: &str,
        digest: &str,
        size: u64,
    ) -> Result<Vec<u8>> {
        digest_hex(digest)?;
        check_referrer_blob_size(digest, size)?;
        let phase = self.referrer_phase(repo, referrer);
        let what = format!("signature blob {digest}");
        self.rt.block_on(self.within_phase(phase, async {
            let url = self.url(repo, &format!("blobs/{digest}"));
            let bytes = match self.get_small(repo, &url, &what, None, size).await {
                Ok((bytes, _)) => bytes,
                // More bytes than the referrer declares: the content is not the one named.
                Err(Error::TooLarge { .. }) => {
                    return Err(Error::SizeMismatch {
                        what: what.clone(),
                        expected: size,
                        actual: size.saturating_add(1),
                    });
                }
                Err(e) => return Err(e),
            };
            if bytes.len() as u64 != size {
                return Err(Error::SizeMismatch {
                    what: what.clone(),
                    expected: size,
                    actual: bytes.len() as u64,
                });
            }
            super::store::check_digest(&what, digest, &bytes)?;
            Ok(bytes)
        }))
    }

    fn referrer_list(
        &self,
        repo: &str,
        subject_digest: &str,
        artifact_type: Option<&str>,
    ) -> Result<ReferrerList> {
        digest_hex(subject_digest)?;
        // The signature phase of this subject starts now: the listing and every read of the
        // referrers it lists share one deadline.
        let end = Instant::now() + self.referrer_deadline;
        let phase = Some((subject_digest.to_string(), end));
        let list = self.rt.block_on(self.within_phase(phase, async {
            let mut url = self.url(repo, &format!("referrers/{subject_digest}"));
            if let Some(t) = artifact_type {
                url.push_str("?artifactType=");
                url.push_str(&t.replace('+', "%2B").replace('/', "%2F"));
            }
            let request = format!("GET referrers of {subject_digest}");
            let res = self
                .send(repo, false, &request, Call::Metadata, |c| {
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
                    self.get_tag_schema_index(repo, &tag)
                        .await?
                        .unwrap_or_default()
                }
                _ => {
                    return Err(self
                        .status_error(res, repo, &format!("referrers of {subject_digest}"))
                        .await);
                }
            };
            // Filter client-side too: a registry may ignore the artifactType query. An entry
            // without `artifactType` (an index rewritten by a copy that drops it, as `skopeo
            // copy` of the tag schema does) is read from the manifest it names, as the
            // distribution spec allows, within this phase's deadline.
            let mut out = Vec::new();
            for mut d in index_descriptors(&index, None) {
                if d.artifact_type.is_none() && artifact_type.is_some() {
                    match self.referrer_head(repo, &d.digest).await {
                        Ok((head, size)) => {
                            if head.subject.as_ref().map(|s| s.digest.as_str())
                                != Some(subject_digest)
                            {
                                continue;
                            }
                            d = head.referrer_descriptor(&d.digest, size);
                        }
                        // One unreadable entry is not the whole listing's failure: the
                        // entries that can be read still are.
                        Err(e) if e.kind() != super::ErrorKind::Environment => continue,
                        Err(e) => return Err(e),
                    }
                }
                if artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t)) {
                    out.push(d);
                }
            }
            Ok(ReferrerList::capped(out))
        }))?;
        self.remember_phase(repo, subject_digest, end, &list.descriptors);
        Ok(list)
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
        let mut tags: Vec<String> = Vec::new();
        self.walk_tag_pages(repo, &mut |page| {
            tags.extend_from_slice(page);
            Ok(())
        })?;
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    fn walk_tags(&self, repo: &str, f: &mut dyn FnMut(&[String]) -> Result<()>) -> Result<()> {
        self.walk_tag_pages(repo, f)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_clear_only_with_plain_http_to_a_remote_host() {
        let creds = Some(Credentials {
            username: "u".into(),
            password: "p".into(),
        });
        let mk = |host: &str, plain_http: bool, credentials: Option<Credentials>| {
            RegistryStore::new(
                host,
                RegistryOptions {
                    plain_http,
                    credentials,
                    use_docker_config: false,
                    ..Default::default()
                },
            )
            .unwrap()
            .sends_credentials_in_clear()
        };
        assert!(mk("registry.example.com", true, creds.clone()));
        assert!(!mk("registry.example.com", false, creds.clone()));
        assert!(!mk("127.0.0.1:5000", true, creds.clone()));
        assert!(!mk("registry.example.com", true, None));
    }
}

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
        }
    }
}

/// The `realm` and `service` of a `WWW-Authenticate: Bearer realm="…",service="…"` challenge.
fn parse_bearer_challenge(header: &str) -> Option<(String, Option<String>)> {
    let (scheme, params) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = None;
    let mut rest = params.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key.trim().trim_start_matches(',').trim();
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, q.get(end?..).unwrap_or(""))
        } else {
            let (v, n) = after.split_once(',').unwrap_or((after, ""));
            (v.trim().to_string(), n)
        };
        if key.eq_ignore_ascii_case("realm") {
            realm = Some(value);
        } else if key.eq_ignore_ascii_case("service") {
            service = Some(value);
        }
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    Some((realm?, service))
}

/// Whether `url` points at `registry` (`host[:port]`): same host (case-insensitive) and same
/// port, a missing port being the scheme's default.
fn same_authority(url: &reqwest::Url, registry: &str) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let (reg_host, reg_port) = match registry.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') && (h.starts_with('[') || !h.contains(':')) => {
            (h, p.parse::<u16>().ok())
        }
        _ => (registry, None),
    };
    let reg_port = reg_port.or_else(|| match url.scheme() {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    });
    host.eq_ignore_ascii_case(reg_host) && url.port_or_known_default() == reg_port
}

/// Whether our credentials may go to `realm`, the token service `registry`'s `Bearer` challenge
/// named (the registry chooses it, so a hostile one steers the password): over HTTPS, yes; in
/// clear, only to the registry itself (when it is spoken to in clear anyway: loopback, or
/// `plain_http`), or to a loopback realm when the registry is on loopback too. A loopback realm
/// of a remote registry is refused: whatever local process holds that port would get the
/// password. `Err` says why, for [`Error::TokenRealmRefused`].
fn realm_may_get_credentials(
    realm: &reqwest::Url,
    registry: &str,
    plain_http: bool,
) -> std::result::Result<(), &'static str> {
    match realm.scheme() {
        "https" => return Ok(()),
        "http" => {}
        _ => return Err("it is not an HTTPS address"),
    }
    let registry_loopback = is_loopback_host(registry);
    if same_authority(realm, registry) && (plain_http || registry_loopback) {
        return Ok(());
    }
    let realm_loopback = realm.host_str().is_some_and(is_loopback_host);
    match (realm_loopback, registry_loopback) {
        (true, true) => Ok(()),
        (true, false) => Err(
            "it is plain HTTP on this machine's loopback interface while the registry is remote (any local process on that port would receive the password)",
        ),
        _ => Err("it is not HTTPS (the password would cross the network in clear)"),
    }
}

/// Whether an HTTP status is worth another attempt: rate limiting and transient server trouble.
fn retryable_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// Whether an error we produced is transient (a broken connection, or a retryable status): the
/// whole idempotent operation may be run again.
fn transient(e: &Error) -> bool {
    match e {
        Error::Unreachable { .. } => true,
        Error::Registry { reason, .. } => ["429", "500", "502", "503", "504"]
            .iter()
            .any(|c| reason.starts_with(c)),
        _ => false,
    }
}

/// A pseudo-random duration in `[0, max]`, different in every process and call (jitter keeps
/// concurrent writers from retrying in lock step). Not for cryptography.
fn jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(h.finish() % max_ms.saturating_add(1))
}

/// The wait before retry number `attempt` (0-based): exponential from [`RETRY_BASE`] with up to
/// 50 % jitter, or the server's `Retry-After` seconds; never more than [`MAX_RETRY_WAIT`].
fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let exp = RETRY_BASE.saturating_mul(1u32 << attempt.min(8));
    let base = retry_after.unwrap_or(exp);
    (base + jitter(base / 2)).min(MAX_RETRY_WAIT)
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: the exponential backoff applies).
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    header_str(h, "retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
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

/// curl's low-speed limit (`--speed-limit`/`--speed-time`): a transfer that averages under
/// `limit` bytes/s over a window of `window` fails. The idle timeout alone lets a registry that
/// sends one byte a second hold a download for days.
struct LowSpeed {
    limit: u64,
    window: Duration,
    start: Instant,
    received: u64,
}

impl LowSpeed {
    fn new(limit: u64, window: Duration) -> Self {
        LowSpeed {
            limit,
            window,
            start: Instant::now(),
            received: 0,
        }
    }

    /// Time left in the current window.
    fn left(&self) -> Duration {
        self.window.saturating_sub(self.start.elapsed())
    }

    /// Count `n` more bytes. At the end of a window, `Err(bytes received in it)` if it averaged
    /// under the limit; else the next window starts.
    fn count(&mut self, n: u64) -> std::result::Result<(), u64> {
        self.received = self.received.saturating_add(n);
        let elapsed = self.start.elapsed();
        if elapsed < self.window {
            return Ok(());
        }
        let need = u128::from(self.limit).saturating_mul(elapsed.as_millis()) / 1000;
        if u128::from(self.received) < need {
            return Err(self.received);
        }
        self.start = Instant::now();
        self.received = 0;
        Ok(())
    }
}

/// How [`RegistryStore::send`] treats a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    /// Idempotent and small (GET/HEAD of manifests and tags, PUT of a manifest by digest, a
    /// monolithic blob PUT): retried, with the whole-request deadline.
    Metadata,
    /// Not idempotent (POST of an upload session, PUT of a tag): sent once, with the deadline.
    Once,
    /// A blob download: retried before its body starts; idle timeout only.
    Download,
    /// A streamed upload body (PATCH, streamed PUT): sent once, idle timeout only.
    Stream,
}

impl Call {
    fn retries(self) -> bool {
        matches!(self, Call::Metadata | Call::Download)
    }
    fn has_deadline(self) -> bool {
        matches!(self, Call::Metadata | Call::Once)
    }
}

/// A remote registry (one host) as a [`Store`].
pub struct RegistryStore {
    registry: String,
    scheme: &'static str,
    rt: tokio::runtime::Runtime,
    plain_http: bool,
    http: reqwest::Client,
    auth: RegistryAuth,
    tokens: Mutex<HashMap<(String, bool), Option<String>>>,
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

    async fn token(&self, repo: &str, push: bool, refresh: bool) -> Result<Option<String>> {
        let key = (repo.to_string(), push);
        if !refresh {
            if let Ok(t) = self.tokens.lock() {
                if let Some(tok) = t.get(&key) {
                    return Ok(tok.clone());
                }
            }
        }
        let tok = self.fetch_token(repo, push).await?;
        if let Ok(mut t) = self.tokens.lock() {
            t.insert(key, tok.clone());
        }
        Ok(tok)
    }

    /// The distribution token dance (docker "token authentication"): `GET /v2/`; a `Bearer`
    /// challenge names a token service (`realm`), which gets our credentials (basic) and answers
    /// a token for `repository:<repo>:pull[,push]`. `None`: no bearer challenge (anonymous, or
    /// basic auth straight to the registry). Credentials go to the realm only over HTTPS, or
    /// plain HTTP to a loopback host, or (with `plain_http`) to the registry itself: never in
    /// clear to another host. The token answer is read up to [`MAX_TOKEN_SIZE`].
    async fn fetch_token(&self, repo: &str, push: bool) -> Result<Option<String>> {
        let auth_err = |reason: String| Error::Auth {
            registry: self.registry.clone(),
            reason,
        };
        let url = format!("{}://{}/v2/", self.scheme, self.registry);
        let started = Instant::now();
        let res = self
            .http
            .get(&url)
            .timeout(self.deadline)
            .send()
            .await
            .map_err(|e| self.map_reqwest(e, "GET /v2/", started))?;
        if res.status() != StatusCode::UNAUTHORIZED {
            return Ok(None);
        }
        let Some((realm, service)) =
            header_str(res.headers(), "www-authenticate").and_then(parse_bearer_challenge)
        else {
            return Ok(None);
        };
        drop(res);
        let realm_url = reqwest::Url::parse(&realm)
            .map_err(|_| auth_err(format!("unusable token service address {realm:?}")))?;
        let creds = match &self.auth {
            RegistryAuth::Basic(u, p) => Some((u.clone(), p.clone())),
            _ => None,
        };
        if creds.is_some() {
            realm_may_get_credentials(&realm_url, &self.registry, self.plain_http).map_err(
                |reason| Error::TokenRealmRefused {
                    registry: self.registry.clone(),
                    realm: realm.clone(),
                    reason: reason.to_string(),
                },
            )?;
        }
        let scope = if push {
            format!("repository:{repo}:pull,push")
        } else {
            format!("repository:{repo}:pull")
        };
        let mut query = vec![("scope", scope)];
        if let Some(s) = service {
            query.push(("service", s));
        }
        let mut req = self
            .http
            .get(realm_url)
            .query(&query)
            .timeout(self.deadline);
        if let Some((u, p)) = &creds {
            req = req.basic_auth(u, Some(p));
        }
        let started = Instant::now();
        let res = req
            .send()
            .await
            .map_err(|e| self.map_reqwest(e, "GET token", started))?;
        if res.status() != StatusCode::OK {
            let status = res.status();
            let body = read_limited_text(res).await;
            return Err(auth_err(format!("token service answered {status}: {body}")));
        }
        let bytes = self.read_bounded(res, "token", MAX_TOKEN_SIZE).await?;
        #[derive(serde::Deserialize)]
        struct Token {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let t: Token =
            serde_json::from_slice(&bytes).map_err(|e| Error::malformed("registry token", e))?;
        Ok(t.token.or(t.access_token).filter(|t| !t.is_empty()))
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
            let ours = same_authority(req.url(), &self.registry);
            let builder = reqwest::RequestBuilder::from_parts(client, req);
            let req = match (&token, &self.auth) {
                _ if !ours => builder,
                (Some(t), _) => builder.bearer_auth(t),
                (None, RegistryAuth::Basic(u, p)) => builder.basic_auth(u, Some(p)),
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

    /// GET a manifest or index by tag or digest, bounded by [`MAX_MANIFEST_SIZE`].
    async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
        accept: &str,
    ) -> Result<(Vec<u8>, Option<String>)> {
        self.get_manifest_limited(repo, reference, accept, MAX_MANIFEST_SIZE)
            .await
    }

    /// GET a manifest or index by tag or digest, bounded by `limit` bytes.
    async fn get_manifest_limited(
        &self,
        repo: &str,
        reference: &str,
        accept: &str,
        limit: u64,
    ) -> Result<(Vec<u8>, Option<String>)> {
        let url = self.url(repo, &format!("manifests/{reference}"));
        let what = if reference.starts_with("sha256:") {
            format!("manifest {reference}")
        } else {
            format!("tag {reference}")
        };
        self.get_small(repo, &url, &what, Some(accept), limit).await
    }

    /// GET a small document (`what`: `manifest sha256:…`, `signature blob sha256:…`) as a
    /// metadata request: retried, with the whole-request deadline, read up to `limit` bytes.
    /// Returns the bytes and the served media type.
    async fn get_small(
        &self,
        repo: &str,
        url: &str,
        what: &str,
        accept: Option<&str>,
        limit: u64,
    ) -> Result<(Vec<u8>, Option<String>)> {
        let request = format!("GET {what}");
        let mut attempt = 0u32;
        loop {
            let res = self
                .send(repo, false, &request, Call::Metadata, |c| {
                    let r = c.get(url);
                    match accept {
                        Some(a) => r.header(ACCEPT, a),
                        None => r,
                    }
                })
                .await?;
            if res.status() != StatusCode::OK {
                return Err(self.status_error(res, repo, what).await);
            }
            let media_type = header_str(res.headers(), CONTENT_TYPE.as_str())
                .map(|m| m.split(';').next().unwrap_or(m).trim().to_string());
            match self.read_bounded(res, &request, limit).await {
                Ok(bytes) => return Ok((bytes, media_type)),
                // The connection broke mid-body: a GET may be sent again.
                Err(Error::Unreachable { .. }) if attempt < MAX_RETRIES => {
                    tokio::time::sleep(backoff(attempt, None)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
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
        let mut last = Instant::now();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| self.map_reqwest(e, what, last))?
        {
            last = Instant::now();
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
        let what = format!("push manifest {reference}");
        // A PUT by digest stores the same bytes under the same name however often it is sent; a
        // PUT by tag moves the tag, so it is sent once and the caller decides.
        let call = if reference.starts_with("sha256:") {
            Call::Metadata
        } else {
            Call::Once
        };
        let mut attempt = 0u32;
        let res = loop {
            let res = self
                .send(
                    repo,
                    true,
                    &format!("PUT manifest {reference}"),
                    call,
                    |c| {
                        c.put(&url)
                            .header(CONTENT_TYPE, media_type)
                            .body(body.clone())
                    },
                )
                .await?;
            if res.status() == StatusCode::CREATED || res.status() == StatusCode::OK {
                break res;
            }
            let e = self.status_error(res, repo, &what).await;
            // Distribution rewrites a blob's repository link (truncate, then write) whenever
            // someone uploads that blob again, e.g. the empty config every signature shares;
            // a manifest PUT that checks the blob in between is told MANIFEST_BLOB_UNKNOWN
            // for a blob that is there. A PUT by digest may be sent again.
            let blob_race = matches!(&e, Error::Registry { reason, .. }
                if reason.starts_with("400") && reason.contains("MANIFEST_BLOB_UNKNOWN"));
            if call == Call::Metadata && blob_race && attempt < MAX_RETRIES {
                tokio::time::sleep(backoff(attempt, None)).await;
                attempt += 1;
                continue;
            }
            return Err(e);
        };
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

    /// The signature phase (subject digest, deadline) that listed `referrer`, if one did.
    fn referrer_phase(&self, repo: &str, referrer: &str) -> Option<(String, Instant)> {
        self.referrer_phases
            .lock()
            .ok()?
            .get(&(repo.to_string(), referrer.to_string()))
            .cloned()
    }

    /// Record that `listed` belong to the signature phase of `subject` ending at `end`; forget
    /// phases that are over.
    fn remember_phase(&self, repo: &str, subject: &str, end: Instant, listed: &[Descriptor]) {
        if let Ok(mut phases) = self.referrer_phases.lock() {
            let now = Instant::now();
            phases.retain(|_, (_, e)| *e > now);
            for d in listed {
                phases.insert(
                    (repo.to_string(), d.digest.clone()),
                    (subject.to_string(), end),
                );
            }
        }
    }

    /// Run `fut` within a signature phase (subject digest, deadline): past the deadline it fails
    /// with [`Error::Timeout`] naming the phase. Without a phase, `fut` has its own request
    /// deadlines only.
    async fn within_phase<T>(
        &self,
        phase: Option<(String, Instant)>,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let Some((subject, end)) = phase else {
            return fut.await;
        };
        let over = || Error::Timeout {
            registry: self.registry.clone(),
            operation: format!("listing and reading the signature referrers of {subject}"),
            secs: self.referrer_deadline.as_secs(),
        };
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(over());
        }
        tokio::time::timeout(left, fut)
            .await
            .unwrap_or_else(|_| Err(over()))
    }

    /// The referrers tag-schema index of `subject`, or `None` if the tag does not exist or
    /// names something that is not an index (GitLab answers `sha256-<hex>` with the subject's
    /// own manifest).
    async fn get_tag_schema_index(
        &self,
        repo: &str,
        tag: &str,
    ) -> Result<Option<Map<String, Value>>> {
        match self.get_manifest(repo, tag, MEDIA_TYPE_IMAGE_INDEX).await {
            Ok((bytes, _)) => parse_tag_schema_index(&bytes),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Add `entry` to the referrers tag-schema index of `subject` such that it is durable when
    /// this returns `Ok`.
    ///
    /// Distribution has no conditional PUT: two writers that read the same index each write it
    /// back with only their own entry added, and the later PUT silently drops the earlier's; a
    /// writer that read it back at once and returned would have lost its signature (1-3 of 16
    /// concurrent signers did). So each round reads the index, merges in our entry and every
    /// entry seen during this update (an entry some writer dropped is put back, none is ever
    /// removed), and writes it; then waits a settle delay (at least
    /// [`RegistryOptions::tag_schema_settle`], at least 3x our own read-merge-write cycle, plus
    /// up to 50 % jitter), longer than a concurrent writer's own cycle, so that any writer that
    /// read before our PUT has written by then, and reads again. Only a read taken that long
    /// after our last PUT that lists everything ends the update. Transient failures (500s, which
    /// distribution answers to concurrent PUTs of one tag, 429, resets) are retried with
    /// backoff. Gives up after 180 s with [`Error::Registry`].
    ///
    /// Rejected: a lock tag (distribution cannot create one atomically either) and trusting the
    /// immediate read-back (it misses overwrites that land after it).
    async fn update_tag_schema(&self, repo: &str, subject: &str, entry: &Descriptor) -> Result<()> {
        let tag = tag_schema_tag(subject)?;
        let started = Instant::now();
        let mut known: BTreeMap<String, Value> = BTreeMap::new();
        let mut transient_failures = 0u32;
        let mut confirmed_absent = false;
        let mut last_error = String::new();
        while started.elapsed() < TAG_SCHEMA_DEADLINE {
            let cycle = Instant::now();
            let read = match self.get_tag_schema_index(repo, &tag).await {
                Ok(r) => r,
                Err(e) if transient(&e) => {
                    last_error = e.to_string();
                    tokio::time::sleep(backoff(transient_failures.min(4), None)).await;
                    transient_failures += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut index = match read {
                Some(index) => index,
                // A missing tag may be one being rewritten this instant: look once more before
                // writing an index that would hold only what we know of.
                None if !confirmed_absent && known.is_empty() => {
                    confirmed_absent = true;
                    tokio::time::sleep(
                        Duration::from_millis(50) + jitter(Duration::from_millis(50)),
                    )
                    .await;
                    continue;
                }
                None => match empty_index() {
                    Value::Object(m) => m,
                    _ => Map::new(),
                },
            };
            remember_entries(&index, &mut known);
            let added = index_add(&mut index, entry)?;
            let restored = index_restore(&mut index, &known)?;
            if !added && restored == 0 {
                // Everything is there, in a read taken a settle delay after our last write (or
                // before any write: the entry was there already).
                return Ok(());
            }
            remember_entries(&index, &mut known);
            let body =
                serde_json::to_vec(&index).map_err(|e| Error::malformed("referrers index", e))?;
            match self
                .put_manifest_raw(repo, &tag, &body, MEDIA_TYPE_IMAGE_INDEX)
                .await
            {
                Ok(_) => {}
                Err(e) if transient(&e) => {
                    last_error = e.to_string();
                    tokio::time::sleep(backoff(transient_failures.min(4), None)).await;
                    transient_failures += 1;
                    continue;
                }
                Err(e) => return Err(e),
            }
            if self.settle.is_zero() {
                continue; // measurements only: read back at once
            }
            let settle = self
                .settle
                .max(cycle.elapsed().saturating_mul(3))
                .min(TAG_SCHEMA_SETTLE_MAX);
            tokio::time::sleep(settle + jitter(settle / 2)).await;
        }
        Err(Error::Registry {
            registry: self.registry.clone(),
            operation: format!("update referrers index {tag}"),
            reason: format!(
                "other writers kept replacing it for {} s{}",
                TAG_SCHEMA_DEADLINE.as_secs(),
                if last_error.is_empty() {
                    String::new()
                } else {
                    format!(" (last error: {last_error})")
                }
            ),
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
        let request = format!("GET {what}");
        let place = PathBuf::from(format!("{}/{repo}@{digest}", self.registry));
        let mut w = VerifyingWriter::new(out, size);
        let mut attempt = 0u32;
        // Over the whole download, resumes included.
        let mut speed = LowSpeed::new(self.speed_limit, self.speed_time);
        let too_slow = |received: u64| Error::TooSlow {
            registry: self.registry.clone(),
            operation: request.clone(),
            limit: self.speed_limit,
            secs: self.speed_time.as_secs(),
            received,
        };
        // A connection that breaks mid-body is resumed where it broke (`Range: bytes=N-`), at
        // most MAX_RETRIES times: what was written stays written, and the hash goes on.
        'resume: loop {
            let from = w.written();
            let mut res = self
                .send(repo, false, &request, Call::Download, |c| {
                    let r = c.get(&url);
                    if from > 0 {
                        r.header(reqwest::header::RANGE, format!("bytes={from}-"))
                    } else {
                        r
                    }
                })
                .await?;
            let mut skip = match res.status() {
                StatusCode::OK => from, // the range was ignored: drop what we already have
                StatusCode::PARTIAL_CONTENT if from > 0 => {
                    let range = header_str(res.headers(), "content-range").unwrap_or("");
                    if !range.starts_with(&format!("bytes {from}-")) {
                        return Err(Error::Registry {
                            registry: self.registry.clone(),
                            operation: request,
                            reason: format!("asked for bytes {from}-, got range {range:?}"),
                        });
                    }
                    0
                }
                _ => return Err(self.status_error(res, repo, &what).await),
            };
            let mut last = Instant::now();
            loop {
                // Wake at the end of each low-speed window even if nothing arrives.
                let next = match tokio::time::timeout(speed.left(), res.chunk()).await {
                    Ok(next) => next,
                    Err(_) => {
                        speed.count(0).map_err(too_slow)?;
                        continue;
                    }
                };
                if let Ok(Some(chunk)) = &next {
                    speed.count(chunk.len() as u64).map_err(too_slow)?;
                }
                match next {
                    Ok(Some(chunk)) => {
                        last = Instant::now();
                        let n = usize::try_from(skip).unwrap_or(usize::MAX).min(chunk.len());
                        skip -= n as u64;
                        if let Some(rest) = chunk.get(n..) {
                            w.put(&what, rest, &place)?;
                        }
                    }
                    Ok(None) => break 'resume,
                    Err(e) if !e.is_timeout() && attempt < MAX_RETRIES => {
                        tokio::time::sleep(backoff(attempt, None)).await;
                        attempt += 1;
                        continue 'resume;
                    }
                    Err(e) => return Err(self.map_reqwest(e, &request, last)),
                }
            }
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
            return self.push_blob_mono(repo, Bytes::from(bytes), digest).await;
        }
        // The blob is digest-addressed: after a transient failure the whole upload runs again
        // in a new session, at most CHUNKED_RETRIES times (each may re-send the whole blob).
        let mut attempt = 0u32;
        let first = loop {
            match self.push_blob_chunked(repo, path, digest, size).await {
                Err(e) if transient(&e) && attempt < CHUNKED_RETRIES => {
                    tokio::time::sleep(backoff(attempt, None)).await;
                    attempt += 1;
                }
                other => break other,
            }
        };
        match first {
            // A registry that refuses chunked uploads: one streamed PUT instead.
            Err(Error::Registry { .. }) => self.push_blob_streamed(repo, path, digest, size).await,
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
        let mut location = self.start_upload(repo, &what).await?;
        let mut offset = 0u64;
        while offset < size {
            let len = self.upload_chunk.min(size - offset);
            let range = format!("{offset}-{}", offset + len - 1);
            let (loc, file) = (location.clone(), path.to_path_buf());
            let res = self
                .send(repo, true, &format!("PATCH {what}"), Call::Stream, |c| {
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
            .send(repo, true, &format!("PUT {what}"), Call::Once, |c| {
                c.put(&done).header(CONTENT_LENGTH, 0)
            })
            .await?;
        if res.status() != StatusCode::CREATED {
            return Err(self.status_error(res, repo, &what).await);
        }
        Ok(())
    }

    /// Opens an upload session (POST `blobs/uploads/`, 202) and returns its location.
    async fn start_upload(&self, repo: &str, what: &str) -> Result<String> {
        let start = self.url(repo, "blobs/uploads/");
        let res = self
            .send(repo, true, &format!("POST {what}"), Call::Once, |c| {
                c.post(&start).header(CONTENT_LENGTH, 0)
            })
            .await?;
        if res.status() != StatusCode::ACCEPTED {
            return Err(self.status_error(res, repo, what).await);
        }
        self.upload_location(&res, what)
    }

    /// A monolithic upload (POST, then one PUT `?digest=` with the bytes). The content is
    /// digest-addressed, so after a transient failure the whole upload runs again (a new
    /// session), at most [`MAX_RETRIES`] times.
    async fn push_blob_mono(&self, repo: &str, bytes: Bytes, digest: &str) -> Result<()> {
        let what = format!("upload blob {digest}");
        let mut attempt = 0u32;
        loop {
            let once = async {
                let location = self.start_upload(repo, &what).await?;
                let sep = if location.contains('?') { '&' } else { '?' };
                let done = format!("{location}{sep}digest={digest}");
                let res = self
                    .send(repo, true, &format!("PUT {what}"), Call::Once, |c| {
                        c.put(&done)
                            .header(CONTENT_TYPE, "application/octet-stream")
                            .header(CONTENT_LENGTH, bytes.len())
                            .body(bytes.clone())
                    })
                    .await?;
                if res.status() != StatusCode::CREATED {
                    return Err(self.status_error(res, repo, &what).await);
                }
                Ok(())
            };
            match once.await {
                Err(e) if transient(&e) && attempt < MAX_RETRIES => {
                    tokio::time::sleep(backoff(attempt, None)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// A monolithic upload streamed from disk (POST, then one PUT `?digest=` whose body is the
    /// file): for registries that refuse chunked uploads. Memory stays at one read piece.
    async fn push_blob_streamed(
        &self,
        repo: &str,
        path: &Path,
        digest: &str,
        size: u64,
    ) -> Result<()> {
        let what = format!("upload blob {digest}");
        let location = self.start_upload(repo, &what).await?;
        let sep = if location.contains('?') { '&' } else { '?' };
        let done = format!("{location}{sep}digest={digest}");
        let file = path.to_path_buf();
        let res = self
            .send(repo, true, &format!("PUT {what}"), Call::Stream, |c| {
                c.put(&done)
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, size)
                    .body(reqwest::Body::wrap_stream(file_range_stream(
                        file.clone(),
                        0,
                        size,
                    )))
            })
            .await?;
        if res.status() != StatusCode::CREATED {
            return Err(self.status_error(res, repo, &what).await);
        }
        Ok(())
    }

    /// HEAD a blob: whether the repository has it (retried like any idempotent request).
    async fn blob_exists_async(&self, repo: &str, digest: &str) -> Result<bool> {
        let url = self.url(repo, &format!("blobs/{digest}"));
        let what = format!("check blob {digest}");
        let res = self
            .send(
                repo,
                false,
                &format!("HEAD blob {digest}"),
                Call::Metadata,
                |c| c.head(&url),
            )
            .await?;
        match res.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error(res, repo, &what).await),
        }
    }
}

impl RegistryStore {
    /// Walk the tags of `repo` page by page (`n=`[`TAG_PAGE`], `last=`), handing each page to
    /// `f` as it arrives, so a caller can start on the first tags at once. Each page is read up
    /// to [`MAX_TAG_PAGE_SIZE`] bytes; past [`MAX_TAGS`] tags in all the walk stops with
    /// [`Error::TooManyTags`]. A server that ignores `last=` (repeats a page) ends the walk
    /// instead of looping.
    fn walk_tag_pages(&self, repo: &str, f: &mut dyn FnMut(&[String]) -> Result<()>) -> Result<()> {
        self.rt.block_on(async {
            let mut last: Option<String> = None;
            let mut seen = 0usize;
            loop {
                let (page, more) = self.tag_page(repo, last.as_deref()).await?;
                // Only tags after `last` count: a server that ignores it would repeat itself.
                let page: Vec<String> = page
                    .into_iter()
                    .filter(|t| last.as_deref().is_none_or(|l| t.as_str() > l))
                    .collect();
                seen += page.len();
                if seen > MAX_TAGS {
                    return Err(Error::TooManyTags {
                        repository: repo.to_string(),
                        limit: MAX_TAGS,
                    });
                }
                f(&page)?;
                let new_last = page.iter().max().cloned();
                if !more || new_last.is_none() {
                    return Ok(());
                }
                last = new_last;
            }
        })
    }

    /// One `tags/list` page after `last`: its tags, and whether the server says there are more
    /// (a `Link: <…>; rel="next"` header, or a full page).
    async fn tag_page(&self, repo: &str, last: Option<&str>) -> Result<(Vec<String>, bool)> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut url = self.url(repo, &format!("tags/list?n={TAG_PAGE}"));
        if let Some(l) = last {
            url.push_str("&last=");
            for b in l.bytes() {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    url.push(char::from(b));
                } else {
                    url.push_str(&format!("%{b:02X}"));
                }
            }
        }
        let what = format!("tags of {repo}");
        let request = format!("GET {what}");
        let res = self
            .send(repo, false, &request, Call::Metadata, |c| c.get(&url))
            .await?;
        if res.status() != StatusCode::OK {
            return Err(self.status_error(res, repo, &what).await);
        }
        let link_next =
            header_str(res.headers(), "link").is_some_and(|l| l.contains("rel=\"next\""));
        let bytes = self.read_bounded(res, &request, MAX_TAG_PAGE_SIZE).await?;
        let page: Page =
            serde_json::from_slice(&bytes).map_err(|e| Error::malformed("tag list", e))?;
        let tags = page.tags.unwrap_or_default();
        let more = link_next || tags.len() >= TAG_PAGE;
        Ok((tags, more))
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

    fn push_blob_file(&self, repo: &str, path: &Path, digest: &str, size: u64) -> Result<()> {
        digest_hex(digest)?;
        self.rt
            .block_on(self.push_blob_file_async(repo, path, digest, size))
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
            // Filter client-side too: a registry may ignore the artifactType query.
            Ok(ReferrerList::capped(index_descriptors(
                &index,
                artifact_type,
            )))
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

    #[test]
    fn a_loopback_token_realm_gets_credentials_only_from_a_loopback_registry() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        let loopback_realms = [
            "http://127.0.0.1:8080/token",
            "http://localhost:8080/token",
            "http://[::1]:8080/token",
            "http://127.1:8080/token",
            "http://127.9.9.9/token",
        ];
        for realm in loopback_realms {
            for registry in ["registry.example.com", "ghcr.io:443", "10.0.0.1:5000"] {
                for plain_http in [false, true] {
                    let e = realm_may_get_credentials(&u(realm), registry, plain_http)
                        .expect_err(realm);
                    assert!(e.contains("loopback"), "{realm} {registry}: {e}");
                }
            }
            for registry in ["127.0.0.1:5000", "localhost:5000", "[::1]:5000"] {
                assert_eq!(
                    realm_may_get_credentials(&u(realm), registry, false),
                    Ok(()),
                    "{realm} {registry}"
                );
            }
        }
        // HTTPS goes anywhere (auth.docker.io for registry-1.docker.io).
        for registry in ["registry.example.com", "127.0.0.1:5000"] {
            assert_eq!(
                realm_may_get_credentials(&u("https://auth.example.com/t"), registry, false),
                Ok(())
            );
        }
        // In clear to the registry itself only when it is spoken to in clear anyway.
        let own = u("http://registry.example.com:5000/token");
        assert_eq!(
            realm_may_get_credentials(&own, "registry.example.com:5000", true),
            Ok(())
        );
        assert!(realm_may_get_credentials(&own, "registry.example.com:5000", false).is_err());
        assert!(
            realm_may_get_credentials(&u("http://auth.example.com/t"), "127.0.0.1:5000", true)
                .is_err()
        );
        assert!(
            realm_may_get_credentials(&u("ftp://127.0.0.1/t"), "127.0.0.1:5000", true).is_err()
        );
    }

    #[test]
    fn low_speed_limit_fails_a_window_under_the_limit_only() {
        let window = Duration::from_millis(100);
        let mut slow = LowSpeed::new(1000, window);
        assert_eq!(slow.count(10), Ok(()));
        assert!(slow.left() <= window);
        std::thread::sleep(window + Duration::from_millis(20));
        assert_eq!(slow.left(), Duration::ZERO);
        assert_eq!(slow.count(5), Err(15));
        let mut fast = LowSpeed::new(1000, window);
        std::thread::sleep(window + Duration::from_millis(20));
        assert_eq!(fast.count(10_000), Ok(()));
        // A new window starts: its count begins at zero.
        assert!(fast.left() > Duration::from_millis(50));
        assert_eq!(fast.count(1), Ok(()));
    }

    #[test]
    fn backoff_is_bounded_and_honours_retry_after() {
        for a in 0..10 {
            assert!(backoff(a, None) <= MAX_RETRY_WAIT);
        }
        assert!(backoff(0, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
        assert_eq!(backoff(0, Some(Duration::from_secs(3600))), MAX_RETRY_WAIT);
        assert!(transient(&Error::Registry {
            registry: "r".into(),
            operation: "o".into(),
            reason: "503 Service Unavailable: x".into(),
        }));
        assert!(!transient(&Error::Registry {
            registry: "r".into(),
            operation: "o".into(),
            reason: "400 Bad Request: x".into(),
        }));
    }

    #[test]
    fn credentials_go_only_to_the_registry_authority() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(same_authority(&u("https://ghcr.io/v2/x"), "ghcr.io"));
        assert!(same_authority(&u("https://GHCR.io:443/v2/x"), "ghcr.io"));
        assert!(same_authority(&u("https://ghcr.io/v2/x"), "ghcr.io:443"));
        assert!(same_authority(
            &u("http://127.0.0.1:5000/v2/"),
            "127.0.0.1:5000"
        ));
        assert!(same_authority(&u("http://[::1]:5000/v2/"), "[::1]:5000"));
        assert!(!same_authority(
            &u("http://127.0.0.1:5001/v2/"),
            "127.0.0.1:5000"
        ));
        assert!(!same_authority(
            &u("https://storage.example.com/u"),
            "ghcr.io"
        ));
        assert!(!same_authority(&u("https://ghcr.io.evil.com/u"), "ghcr.io"));
        assert!(!same_authority(&u("http://ghcr.io:8443/u"), "ghcr.io"));
    }

    #[test]
    fn bearer_challenges_are_parsed_and_others_are_not() {
        assert_eq!(
            parse_bearer_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a:pull""#
            ),
            Some((
                "https://auth.docker.io/token".to_string(),
                Some("registry.docker.io".to_string())
            ))
        );
        assert_eq!(
            parse_bearer_challenge(r#"bearer realm="https://x/t\"q""#),
            Some(("https://x/t\"q".to_string(), None))
        );
        assert_eq!(
            parse_bearer_challenge("Bearer realm=https://x/t, service=s"),
            Some(("https://x/t".to_string(), Some("s".to_string())))
        );
        assert_eq!(parse_bearer_challenge(r#"Basic realm="test""#), None);
        assert_eq!(parse_bearer_challenge(r#"Bearer service="s""#), None);
        assert_eq!(
            parse_bearer_challenge(r#"Bearer realm="unterminated"#),
            None
        );
        assert_eq!(parse_bearer_challenge(""), None);
    }

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

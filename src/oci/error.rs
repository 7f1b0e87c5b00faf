//! The one error type of the OCI layer, shaped so the CLI can map it to exit codes 1 / 2 / 3.

use std::path::PathBuf;

/// What kind of failure an [`Error`] is, i.e. which exit code the CLI gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The artifact is not trustworthy or not there: a digest or size differs, a manifest, tag or
    /// blob is missing (exit 1).
    Verification,
    /// The input is wrong: a bad reference, a malformed or oversized manifest, an unsafe path, an
    /// output folder that is not empty (exit 2).
    Input,
    /// The environment failed: the registry is unreachable, refused credentials or misbehaved, or
    /// local I/O failed (exit 3).
    Environment,
}

impl ErrorKind {
    /// The process exit code for this kind (see DESIGN.md section 2).
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Verification => 1,
            ErrorKind::Input => 2,
            ErrorKind::Environment => 3,
        }
    }
}

/// Errors of the `oci` module. Variants carry the reference, digest or path involved; none ever
/// carries a password or token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A reference string does not parse as `[host[:port]/]repo[:tag|@sha256:<hex>]`.
    #[error("invalid reference {reference:?}: {reason}")]
    InvalidReference {
        /// The string as given.
        reference: String,
        /// Why it was refused.
        reason: String,
    },
    /// A tag, manifest or blob does not exist in the repository.
    #[error("{what} not found in {repository}")]
    NotFound {
        /// Repository searched.
        repository: String,
        /// What was looked for (`tag v1`, `manifest sha256:…`, `blob sha256:…`).
        what: String,
    },
    /// The tag or digest a reference names is not in its repository, or the repository does not
    /// exist: a typo or a model not pushed yet, not tampering (exit 2).
    #[error("{what} not found in {repository}{}", known_names(.known))]
    UnknownTarget {
        /// The repository, with its registry host (`localhost:5000/models/bert`).
        repository: String,
        /// What was looked for (`tag v2`, `manifest sha256:…`).
        what: String,
        /// The repository's tags, nearest to the one asked for first (at most a few); empty when
        /// the repository has none or does not exist.
        known: Vec<String>,
    },
    /// Content did not hash to the digest that named it: tampering or corruption.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// What was checked.
        what: String,
        /// The digest it was requested by.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// Content had another size than its descriptor declares.
    #[error("size mismatch for {what}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// What was checked.
        what: String,
        /// Declared size.
        expected: u64,
        /// Size received (possibly a lower bound where reading stopped early).
        actual: u64,
    },
    /// A manifest or index is larger than the limit we are willing to read.
    #[error("{what} is larger than the {limit}-byte limit")]
    TooLarge {
        /// What was read.
        what: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A repository lists more tags than [`crate::oci::registry::MAX_TAGS`]: walking them all
    /// would take unbounded time and memory.
    #[error(
        "repository {repository} has more than {limit} tags; audit one tag (REPO:TAG) instead of the whole repository"
    )]
    TooManyTags {
        /// The repository.
        repository: String,
        /// The limit.
        limit: usize,
    },
    /// A manifest, index or config is not what we can accept.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was parsed (`manifest sha256:…`, `referrers index`, …).
        what: String,
        /// Why it was refused.
        reason: String,
    },
    /// A manifest names a file path that could escape or clobber the output folder.
    #[error("unsafe file path {path:?} in manifest: {reason}")]
    UnsafePath {
        /// The path as written in the manifest (lossy for NUL bytes).
        path: String,
        /// Why it was refused.
        reason: String,
    },
    /// The output folder of a pull already has content.
    #[error("output folder {} exists and is not empty", path.display())]
    OutputNotEmpty {
        /// The output folder.
        path: PathBuf,
    },
    /// The output path of a pull is not a folder we may fill: a symbolic link (it could point
    /// anywhere) or a file.
    #[error("output {} {reason}; pass the path of a new or empty folder", path.display())]
    OutputNotFolder {
        /// The output path.
        path: PathBuf,
        /// What it is (`is a symbolic link`, `is a file, not a folder`).
        reason: String,
    },
    /// The disk filled up while writing.
    #[error("no space left on the device while writing {}; free space or choose another folder ({needed} bytes needed in all)", path.display())]
    NoSpace {
        /// The file being written.
        path: PathBuf,
        /// Bytes the whole operation needs.
        needed: u64,
    },
    /// The registry could not be reached (connection refused, DNS, TLS, timeout).
    #[error("cannot reach registry {registry}: {reason}")]
    Unreachable {
        /// Registry host[:port].
        registry: String,
        /// Transport error text (never holds credentials).
        reason: String,
    },
    /// A registry request stalled: no byte arrived for the idle timeout, or the whole request
    /// outlived its deadline ([`super::RegistryOptions::timeout`],
    /// [`super::RegistryOptions::request_deadline`]), or the reads of one model's signature
    /// referrers outlived theirs ([`super::RegistryOptions::referrer_deadline`]).
    #[error("registry {registry}: {operation} timed out after {secs} s")]
    Timeout {
        /// Registry host[:port].
        registry: String,
        /// The request (`GET manifest sha256:…`, `PUT tag v1`, …).
        operation: String,
        /// The limit that was hit, in seconds.
        secs: u64,
    },
    /// A transfer went on, but slower than the low-speed limit for a whole window
    /// ([`super::RegistryOptions::speed_limit`] bytes/s over
    /// [`super::RegistryOptions::speed_time`]): a registry that drips a blob would otherwise
    /// hold a pull for days, since the idle timeout never fires.
    #[error(
        "registry {registry}: {operation} stalled: {received} bytes in the last {secs} s, under the {limit} bytes/s low-speed limit"
    )]
    TooSlow {
        /// Registry host[:port].
        registry: String,
        /// The request (`GET blob sha256:…`).
        operation: String,
        /// The low-speed limit, bytes per second.
        limit: u64,
        /// The window the limit is averaged over, in seconds.
        secs: u64,
        /// Bytes received in that window.
        received: u64,
    },
    /// The registry's `Bearer` challenge names a token service our credentials must not go to
    /// (plain HTTP to another host, or plain HTTP to a loopback port while the registry itself
    /// is remote: any local process could be listening there). Nothing was sent to it.
    #[error(
        "registry {registry} names the token service {realm}; {reason}, so the credentials were not sent; use a registry whose token service is on HTTPS"
    )]
    TokenRealmRefused {
        /// Registry host[:port].
        registry: String,
        /// The token service address the challenge named.
        realm: String,
        /// Why it was refused.
        reason: String,
    },
    /// The registry refused our credentials or anonymous access.
    #[error(
        "registry {registry} refused access ({reason}); check `docker login` or the credentials passed"
    )]
    Auth {
        /// Registry host[:port].
        registry: String,
        /// What the registry said.
        reason: String,
    },
    /// A docker credential helper named in the docker config is missing, failed or answered
    /// something unusable. Its output is never carried (it may hold a secret).
    #[error("credential helper {helper} (from {}) failed for {registry}: {reason}", config.display())]
    CredentialHelper {
        /// The helper program, `docker-credential-<name>`.
        helper: String,
        /// Registry host[:port] asked for.
        registry: String,
        /// The docker config that names the helper.
        config: PathBuf,
        /// What went wrong and what to do.
        reason: String,
    },
    /// The registry answered in a way we cannot use (unexpected status, protocol violation).
    #[error("registry {registry} failed to {operation}: {reason}")]
    Registry {
        /// Registry host[:port].
        registry: String,
        /// What we were doing.
        operation: String,
        /// Status and message.
        reason: String,
    },
    /// Local file system failure.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Which class of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } | Error::DigestMismatch { .. } | Error::SizeMismatch { .. } => {
                ErrorKind::Verification
            }
            Error::InvalidReference { .. }
            | Error::UnknownTarget { .. }
            | Error::TooLarge { .. }
            | Error::TooManyTags { .. }
            | Error::Malformed { .. }
            | Error::UnsafePath { .. }
            | Error::OutputNotEmpty { .. }
            | Error::OutputNotFolder { .. } => ErrorKind::Input,
            Error::Unreachable { .. }
            | Error::Timeout { .. }
            | Error::TooSlow { .. }
            | Error::TokenRealmRefused { .. }
            | Error::Auth { .. }
            | Error::Registry { .. }
            | Error::CredentialHelper { .. }
            | Error::NoSpace { .. }
            | Error::Io { .. } => ErrorKind::Environment,
        }
    }

    /// Whether this is a network failure (the registry could not be reached, the connection broke,
    /// or a request timed out): the only errors for which "check that the registry is running"
    /// is the right hint. Refused credentials, a misbehaving registry and local I/O are
    /// [`ErrorKind::Environment`] too, but not network failures.
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            Error::Unreachable { .. } | Error::Timeout { .. } | Error::TooSlow { .. }
        )
    }

    /// The next step to suggest after this error's message (empty when the message says it):
    /// "is the registry running" only for network failures, credentials only when refused.
    pub fn next_step(&self) -> &'static str {
        if matches!(self, Error::TooSlow { .. }) {
            "; for a slow link, pass a lower --speed-limit or a longer --speed-time"
        } else if self.is_network() {
            "; check that the registry is running and reachable (and --timeout for a slow one)"
        } else if matches!(self, Error::Auth { .. }) {
            "; check your credentials (--username/--password-stdin, or ~/.docker/config.json and its credential helpers)"
        } else {
            ""
        }
    }

    /// The process exit code the CLI should use: 1 untrusted/missing, 2 bad input, 3 environment.
    pub fn exit_code(&self) -> u8 {
        self.kind().exit_code()
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn malformed(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Error::Malformed {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn unsafe_path(path: &str, reason: &str) -> Self {
        Error::UnsafePath {
            path: path.replace('\0', "\\0"),
            reason: reason.to_string(),
        }
    }
}

/// Result alias of the `oci` module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The tail of an [`Error::UnknownTarget`] message: the nearest tags, or that there are none.
fn known_names(known: &[String]) -> String {
    if known.is_empty() {
        "; the repository has no tags (or does not exist): check the name, or push the model first with `provenance push`".to_owned()
    } else {
        format!("; nearest tags there: {}; check the tag", known.join(", "))
    }
}

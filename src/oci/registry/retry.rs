//! When a request is tried again and how long it may take: retryable statuses, jittered
//! backoff honouring `Retry-After`, the low-speed limit, and the kinds of call.

use super::*;

/// Whether an HTTP status is worth another attempt: rate limiting and transient server trouble.
pub(super) fn retryable_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// Whether an error we produced is transient (a broken connection, or a retryable status): the
/// whole idempotent operation may be run again.
pub(super) fn transient(e: &Error) -> bool {
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
pub(super) fn jitter(max: Duration) -> Duration {
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
pub(super) fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let exp = RETRY_BASE.saturating_mul(1u32 << attempt.min(8));
    let base = retry_after.unwrap_or(exp);
    (base + jitter(base / 2)).min(MAX_RETRY_WAIT)
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: the exponential backoff applies).
pub(super) fn retry_after(h: &HeaderMap) -> Option<Duration> {
    header_str(h, "retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// curl's low-speed limit (`--speed-limit`/`--speed-time`): a transfer that averages under
/// `limit` bytes/s over a window of `window` fails. The idle timeout alone lets a registry that
/// sends one byte a second hold a download for days.
pub(super) struct LowSpeed {
    limit: u64,
    window: Duration,
    start: Instant,
    received: u64,
}

impl LowSpeed {
    pub(super) fn new(limit: u64, window: Duration) -> Self {
        LowSpeed {
            limit,
            window,
            start: Instant::now(),
            received: 0,
        }
    }

    /// Time left in the current window.
    pub(super) fn left(&self) -> Duration {
        self.window.saturating_sub(self.start.elapsed())
    }

    /// Count `n` more bytes. At the end of a window, `Err(bytes received in it)` if it averaged
    /// under the limit; else the next window starts.
    pub(super) fn count(&mut self, n: u64) -> std::result::Result<(), u64> {
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
pub(super) enum Call {
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
    pub(super) fn retries(self) -> bool {
        matches!(self, Call::Metadata | Call::Download)
    }
    pub(super) fn has_deadline(self) -> bool {
        matches!(self, Call::Metadata | Call::Once)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

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
}

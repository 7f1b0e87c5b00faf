//! The referrers tag-schema fallback (`sha256-<digest>` index tags, for registries without the
//! referrers API) and the deadline of one model's signature phase.

use super::*;

impl RegistryStore {
    /// The signature phase (subject digest, deadline) that listed `referrer`, if one did.
    pub(super) fn referrer_phase(&self, repo: &str, referrer: &str) -> Option<(String, Instant)> {
        self.referrer_phases
            .lock()
            .ok()?
            .get(&(repo.to_string(), referrer.to_string()))
            .cloned()
    }

    /// Record that `listed` belong to the signature phase of `subject` ending at `end`; forget
    /// phases that are over.
    pub(super) fn remember_phase(
        &self,
        repo: &str,
        subject: &str,
        end: Instant,
        listed: &[Descriptor],
    ) {
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
    pub(super) async fn within_phase<T>(
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
    pub(super) async fn get_tag_schema_index(
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
    pub(super) async fn update_tag_schema(
        &self,
        repo: &str,
        subject: &str,
        entry: &Descriptor,
    ) -> Result<()> {
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
}

//! Manifests and tags: bounded, hashed reads; manifest bytes sent exactly; paged tag listing.

use super::*;

impl RegistryStore {
    /// GET a manifest or index by tag or digest, bounded by [`MAX_MANIFEST_SIZE`].
    pub(super) async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
        accept: &str,
    ) -> Result<(Vec<u8>, Option<String>)> {
        self.get_manifest_limited(repo, reference, accept, MAX_MANIFEST_SIZE)
            .await
    }

    /// GET a manifest or index by tag or digest, bounded by `limit` bytes.
    pub(super) async fn get_manifest_limited(
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
    pub(super) async fn get_small(
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

    pub(super) async fn read_bounded(
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
    pub(super) async fn put_manifest_raw(
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
}

impl RegistryStore {
    /// Walk the tags of `repo` page by page (`n=`[`TAG_PAGE`], `last=`), handing each page to
    /// `f` as it arrives, so a caller can start on the first tags at once. Each page is read up
    /// to [`MAX_TAG_PAGE_SIZE`] bytes; past [`MAX_TAGS`] tags in all the walk stops with
    /// [`Error::TooManyTags`]. A server that ignores `last=` (repeats a page) ends the walk
    /// instead of looping.
    pub(super) fn walk_tag_pages(
        &self,
        repo: &str,
        f: &mut dyn FnMut(&[String]) -> Result<()>,
    ) -> Result<()> {
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
    pub(super) async fn tag_page(
        &self,
        repo: &str,
        last: Option<&str>,
    ) -> Result<(Vec<String>, bool)> {
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

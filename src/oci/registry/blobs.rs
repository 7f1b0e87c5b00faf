//! Blobs: HEAD, verified GET, and uploads (monolithic for small blobs, chunked PATCH streamed
//! from disk for big ones, so memory stays at one piece).

use super::*;
use crate::oci::store::ByteProgress;

/// A stream of `len` bytes of the file at `path` from `offset`, in [`STREAM_PIECE`] reads:
/// memory stays at one piece.
fn file_range_stream(
    path: PathBuf,
    offset: u64,
    len: u64,
    progress: Option<ByteProgress>,
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
    futures_util::stream::try_unfold(st, move |mut st| {
        let progress = progress.clone();
        async move {
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
            if let Some(p) = &progress {
                p(filled as u64);
            }
            Ok(Some((Bytes::from(buf), st)))
        }
    })
}

impl RegistryStore {
    pub(super) async fn fetch_blob_async(
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

    pub(super) async fn push_blob_file_async(
        &self,
        repo: &str,
        path: &Path,
        digest: &str,
        size: u64,
        progress: Option<ByteProgress>,
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
            crate::oci::store::check_digest(&format!("file {}", path.display()), digest, &bytes)?;
            self.push_blob_mono(repo, Bytes::from(bytes), digest)
                .await?;
            if let Some(p) = &progress {
                p(size);
            }
            return Ok(());
        }
        // The blob is digest-addressed: after a transient failure the whole upload runs again
        // in a new session, at most CHUNKED_RETRIES times (each may re-send the whole blob).
        let mut attempt = 0u32;
        let first = loop {
            match self
                .push_blob_chunked(repo, path, digest, size, progress.clone())
                .await
            {
                Err(e) if transient(&e) && attempt < CHUNKED_RETRIES => {
                    tokio::time::sleep(backoff(attempt, None)).await;
                    attempt += 1;
                }
                other => break other,
            }
        };
        match first {
            // A registry that refuses chunked uploads: one streamed PUT instead.
            Err(Error::Registry { .. }) => {
                self.push_blob_streamed(repo, path, digest, size, progress)
                    .await
            }
            other => other,
        }
    }

    /// Where the registry says an upload continues (`Location`, absolute or relative).
    pub(super) fn upload_location(&self, res: &reqwest::Response, what: &str) -> Result<String> {
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
    pub(super) async fn push_blob_chunked(
        &self,
        repo: &str,
        path: &Path,
        digest: &str,
        size: u64,
        progress: Option<ByteProgress>,
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
                            progress.clone(),
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
    /// `POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<from_repo>`: 201 is a mount; a 202
    /// (the registry started an ordinary upload instead, e.g. no pull right on `from_repo`)
    /// is answered by cancelling that session, and the caller copies the blob.
    pub(super) async fn mount_blob_async(
        &self,
        repo: &str,
        from_repo: &str,
        digest: &str,
    ) -> Result<bool> {
        let url = self.url(
            repo,
            &format!("blobs/uploads/?mount={digest}&from={from_repo}"),
        );
        let what = format!("mount blob {digest} from {from_repo}");
        let res = self
            .send(repo, true, &format!("POST {what}"), Call::Once, |c| {
                c.post(&url).header(CONTENT_LENGTH, 0)
            })
            .await?;
        match res.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                if let Ok(location) = self.upload_location(&res, &what) {
                    let _ = self
                        .send(repo, true, &format!("DELETE {what}"), Call::Once, |c| {
                            c.delete(&location)
                        })
                        .await;
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    pub(super) async fn start_upload(&self, repo: &str, what: &str) -> Result<String> {
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
    pub(super) async fn push_blob_mono(
        &self,
        repo: &str,
        bytes: Bytes,
        digest: &str,
    ) -> Result<()> {
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
    pub(super) async fn push_blob_streamed(
        &self,
        repo: &str,
        path: &Path,
        digest: &str,
        size: u64,
        progress: Option<ByteProgress>,
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
                        progress.clone(),
                    )))
            })
            .await?;
        if res.status() != StatusCode::CREATED {
            return Err(self.status_error(res, repo, &what).await);
        }
        Ok(())
    }

    /// HEAD a blob: whether the repository has it (retried like any idempotent request).
    pub(super) async fn blob_exists_async(&self, repo: &str, digest: &str) -> Result<bool> {
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

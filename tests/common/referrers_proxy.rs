//! A small HTTP/1.1 reverse proxy in front of the real docker-registry.
//!
//! Distribution 2.8 has no OCI 1.1 referrers API and no registry here serves one, so the proxy adds
//! it at the HTTP level, as the distribution spec words it:
//! - `GET /v2/<name>/referrers/<digest>[?artifactType=T]` answers 200 with an image index of the
//!   manifests pushed through the proxy whose `subject` is `<digest>` (descriptors carry
//!   `artifactType`, else the config media type, and the manifest annotations); with an
//!   `artifactType` filter it filters and sets `OCI-Filters-Applied: artifactType`;
//! - a manifest PUT that carries a `subject` and that the registry stored (201) gets the
//!   `OCI-Subject: <subject digest>` response header.
//!
//! Everything else goes to the registry byte for byte (one upstream connection per request, so
//! the registry's own answers, Location headers and errors are what the client sees). With the
//! API switched off it is a plain pass-through that logs requests and can run a hook on each
//! answer (e.g. to kill the registry at an exact point of a push). Bodies are held in memory: it
//! serves test models of a few MiB.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};

use super::http::{HOP_BY_HOP, Request, header, read_body, read_headers, read_request};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// One request as the proxy saw it, with the status it answered.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// The query string, if any (e.g. `digest=sha256:…` on the PUT that completes an upload).
    pub query: Option<String>,
    pub status: u16,
}

/// Called with each request as logged, before the answer goes back to the client.
pub type Hook = Box<dyn FnMut(&Logged) + Send>;

struct State {
    upstream: u16,
    referrers_api: bool,
    log: Mutex<Vec<Logged>>,
    /// (repository, subject digest) -> referrer manifest digest -> descriptor.
    referrers: Mutex<BTreeMap<(String, String), BTreeMap<String, Value>>>,
    hook: Mutex<Option<Hook>>,
    stop: AtomicBool,
    refuse_patch: AtomicBool,
}

pub struct Proxy {
    pub port: u16,
    state: Arc<State>,
}

impl Proxy {
    /// A proxy to the registry on `upstream_port`; `referrers_api` adds the referrers API.
    pub fn start(upstream_port: u16, referrers_api: bool) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            upstream: upstream_port,
            referrers_api,
            log: Mutex::new(Vec::new()),
            referrers: Mutex::new(BTreeMap::new()),
            hook: Mutex::new(None),
            stop: AtomicBool::new(false),
            refuse_patch: AtomicBool::new(false),
        });
        super::http::serve_each(
            listener,
            state.clone(),
            |st| st.stop.load(Ordering::SeqCst),
            serve,
        );
        Proxy { port, state }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn set_hook(&self, hook: Hook) {
        *self.state.hook.lock().unwrap() = Some(hook);
    }

    /// Answer every PATCH with 405, as a registry without chunked uploads does.
    pub fn refuse_chunked_uploads(&self) {
        self.state.refuse_patch.store(true, Ordering::SeqCst);
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Logged> {
        self.state.log.lock().unwrap().clone()
    }

    pub fn clear_log(&self) {
        self.state.log.lock().unwrap().clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

struct Response {
    status_line: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Send the request to the registry on a fresh connection and read its whole answer.
fn forward(upstream: u16, req: &Request) -> std::io::Result<Response> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        if !HOP_BY_HOP.contains(&k.to_ascii_lowercase().as_str()) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    up.write_all(head.as_bytes())?;
    up.write_all(&req.body)?;
    let mut r = BufReader::new(up);
    let mut status_line = String::new();
    r.read_line(&mut status_line)?;
    let status_line = status_line.trim_end().to_string();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let headers = read_headers(&mut r)?;
    let body = if req.method == "HEAD" || status == 204 || status == 304 {
        Vec::new()
    } else if header(&headers, "transfer-encoding").is_some()
        || header(&headers, "content-length").is_some()
    {
        read_body(&mut r, &headers)?
    } else {
        let mut b = Vec::new();
        r.read_to_end(&mut b)?;
        b
    };
    Ok(Response {
        status_line,
        status,
        headers,
        body,
    })
}

fn respond(
    c: &mut TcpStream,
    method: &str,
    resp: &Response,
    extra: &[(String, String)],
) -> std::io::Result<()> {
    let mut head = format!("{}\r\n", resp.status_line);
    for (k, v) in resp.headers.iter().chain(extra) {
        let lk = k.to_ascii_lowercase();
        if HOP_BY_HOP.contains(&lk.as_str()) {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "HEAD" {
        if let Some(n) = header(&resp.headers, "content-length") {
            head.push_str(&format!("Content-Length: {n}\r\n"));
        }
    } else if resp.status != 204 && resp.status != 304 {
        head.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes())?;
    if method != "HEAD" {
        c.write_all(&resp.body)?;
    }
    c.flush()
}

/// `/v2/<name>/<kind>/<rest>` -> (name, rest).
fn split_path<'a>(path: &'a str, kind: &str) -> Option<(&'a str, &'a str)> {
    let p = path.strip_prefix("/v2/")?;
    let (name, rest) = p.rsplit_once(&format!("/{kind}/"))?;
    (!name.is_empty() && !rest.is_empty() && !rest.contains('/')).then_some((name, rest))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn referrers_answer(st: &State, name: &str, subject: &str, query: Option<&str>) -> Response {
    let filter = query.and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "artifactType")
            .map(|(_, v)| percent_decode(v))
    });
    let all = st
        .referrers
        .lock()
        .unwrap()
        .get(&(name.to_string(), subject.to_string()))
        .cloned()
        .unwrap_or_default();
    let manifests: Vec<Value> = all
        .into_values()
        .filter(|d| {
            filter
                .as_deref()
                .is_none_or(|t| d.get("artifactType").and_then(Value::as_str) == Some(t))
        })
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }))
    .unwrap();
    let mut headers = vec![(
        "Content-Type".to_string(),
        "application/vnd.oci.image.index.v1+json".to_string(),
    )];
    if filter.is_some() {
        headers.push((
            "OCI-Filters-Applied".to_string(),
            "artifactType".to_string(),
        ));
    }
    Response {
        status_line: "HTTP/1.1 200 OK".into(),
        status: 200,
        headers,
        body,
    }
}

/// After the registry stored a manifest: remember it if it has a subject; the `OCI-Subject`
/// header to add, if any.
fn record_manifest(st: &State, name: &str, req: &Request) -> Option<(String, String)> {
    let m: Value = serde_json::from_slice(&req.body).ok()?;
    let subject = m.get("subject")?.get("digest")?.as_str()?.to_string();
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&req.body)));
    let media_type = m
        .get("mediaType")
        .and_then(Value::as_str)
        .or(req.header("content-type"))
        .unwrap_or("application/vnd.oci.image.manifest.v1+json");
    let mut d = serde_json::json!({
        "mediaType": media_type,
        "digest": digest,
        "size": req.body.len(),
    });
    let artifact_type = m
        .get("artifactType")
        .or_else(|| m.get("config").and_then(|c| c.get("mediaType")));
    if let Some(t) = artifact_type {
        d["artifactType"] = t.clone();
    }
    if let Some(a) = m.get("annotations") {
        d["annotations"] = a.clone();
    }
    st.referrers
        .lock()
        .unwrap()
        .entry((name.to_string(), subject.clone()))
        .or_default()
        .insert(digest, d);
    Some(("OCI-Subject".to_string(), subject))
}

fn serve(st: &State, conn: TcpStream) {
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut conn = conn;
    while let Ok(Some(req)) = read_request(&mut reader) {
        let (path, query) = match req.target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (req.target.clone(), None),
        };
        let mut extra = Vec::new();
        let resp = match split_path(&path, "referrers") {
            Some((name, subject)) if st.referrers_api && req.method == "GET" => {
                referrers_answer(st, name, subject, query.as_deref())
            }
            _ if req.method == "PATCH" && st.refuse_patch.load(Ordering::SeqCst) => Response {
                status_line: "HTTP/1.1 405 Method Not Allowed".into(),
                status: 405,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: br#"{"errors":[{"code":"UNSUPPORTED","message":"chunked uploads are off"}]}"#
                    .to_vec(),
            },
            _ => match forward(st.upstream, &req) {
                Ok(r) => r,
                // The registry is gone: so is the answer (the client sees a dropped connection,
                // as with a registry that died).
                Err(_) => return,
            },
        };
        if st.referrers_api && req.method == "PUT" && resp.status == 201 {
            if let Some((name, _)) = split_path(&path, "manifests") {
                extra.extend(record_manifest(st, name, &req));
            }
        }
        let logged = Logged {
            method: req.method.clone(),
            path: path.clone(),
            query: query.clone(),
            status: resp.status,
        };
        if let Some(h) = st.hook.lock().unwrap().as_mut() {
            h(&logged);
        }
        st.log.lock().unwrap().push(logged);
        if respond(&mut conn, &req.method, &resp, &extra).is_err() {
            return;
        }
        if req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        {
            return;
        }
    }
}

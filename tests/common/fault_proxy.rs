//! A fault-injecting HTTP/1.1 proxy in front of the real docker-registry, on loopback.
//!
//! Each request is matched against the rules in order (method and a path substring); the first
//! rule that matches and still has shots left fires, else the request goes to the registry byte
//! for byte (one upstream connection per request). Faults:
//! - [`Fault::Stall`]: read the request, answer nothing for a bounded time, then close;
//! - [`Fault::ResetMidBody`]: forward, send the registry's headers and half its body, then close;
//! - [`Fault::Status`]: answer a status (e.g. 500, 503, 429) with an optional `Retry-After`,
//!   without asking the registry;
//! - [`Fault::Drip`]: forward, then send the body one byte per interval (a slow-drip registry:
//!   `Drip(200 ms)` serves the path at 5 bytes/s);
//! - [`Fault::Delay`]: forward, but answer only after a pause.
//!
//! The proxy is also an HTTP forward proxy: a request in absolute form (`GET http://host/path`,
//! as a client configured with `HTTP_PROXY` sends) is matched and forwarded by its path, so a
//! test can make the registry appear under a name that is not loopback (`registry.invalid`)
//! while every byte stays on 127.0.0.1. [`Logged::host`] records the name the client asked for.
//!
//! Every request is logged with what was done to it. Threads end when the proxy is dropped (stalls
//! are bounded, so no thread outlives a test by more than the stall bound).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Read, Write};

use super::http::{HOP_BY_HOP, Request, header, read_body, read_headers, read_request};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to do to a matching request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer nothing for this long, then close the connection.
    Stall(Duration),
    /// Forward, then send the headers and half the body and close.
    ResetMidBody,
    /// Forward, then send the body one byte per interval (a live but hopeless connection: the
    /// idle timeout never fires, only a whole-request deadline does). Bounded by the body size.
    Drip(Duration),
    /// Forward, and answer only after this pause (a slow but live registry: the request is
    /// inside its deadline, many of them are not).
    Delay(Duration),
    /// Answer this status without asking the registry; `Retry-After: secs` if given.
    Status { code: u16, retry_after: Option<u64> },
    /// Answer 200 with this content type and body without asking the registry (a document the
    /// registry would refuse to store, e.g. an index naming manifests it does not have).
    Reply { content_type: String, body: Vec<u8> },
    /// Answer this status line and headers, with an empty body, without asking the registry
    /// (e.g. `202 Accepted` with a `Location` on another host).
    Answer {
        status_line: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

/// A fault for requests whose method is `method` (or any, if empty) and whose path contains
/// `path` (or, written `=/v2/`, is exactly it), `times` times (`u32::MAX`: always).
#[derive(Clone, Debug)]
pub struct Rule {
    pub method: String,
    pub path: String,
    pub fault: Fault,
    pub times: u32,
}

impl Rule {
    pub fn once(method: &str, path: &str, fault: Fault) -> Rule {
        Rule::times(method, path, fault, 1)
    }
    pub fn always(method: &str, path: &str, fault: Fault) -> Rule {
        Rule::times(method, path, fault, u32::MAX)
    }
    pub fn times(method: &str, path: &str, fault: Fault, times: u32) -> Rule {
        Rule {
            method: method.to_string(),
            path: path.to_string(),
            fault,
            times,
        }
    }
}

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The `host[:port]` of an absolute-form request (the client used us as its HTTP proxy).
    pub host: Option<String>,
    /// Whether an `Authorization` header came with it.
    pub authorized: bool,
    /// The `Authorization` header, if any (test credentials only).
    pub authorization: Option<String>,
    /// The status answered, or the fault's name.
    pub outcome: String,
    /// The request body (test payloads only).
    pub body: Vec<u8>,
}

struct State {
    upstream: u16,
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<Logged>>,
    stop: AtomicBool,
}

pub struct FaultProxy {
    pub port: u16,
    state: Arc<State>,
}

impl FaultProxy {
    /// A proxy to the registry on `upstream_port` with no faults yet.
    pub fn start(upstream_port: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            upstream: upstream_port,
            rules: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        super::http::serve_each(
            listener,
            state.clone(),
            |st| st.stop.load(Ordering::SeqCst),
            serve,
        );
        FaultProxy { port, state }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Adds a rule (rules fire in the order added).
    pub fn add(&self, rule: Rule) {
        self.state.rules.lock().unwrap().push(rule);
    }

    /// Removes all rules.
    pub fn clear_rules(&self) {
        self.state.rules.lock().unwrap().clear();
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.log.lock().unwrap().clone()
    }

    pub fn clear_log(&self) {
        self.state.log.lock().unwrap().clear();
    }

    /// How many logged requests have this method and a target containing `path`.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.log()
            .iter()
            .filter(|l| l.method == method && l.target.contains(path))
            .count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// (status line, headers, body) of the registry's answer.
type Answer = (String, Vec<(String, String)>, Vec<u8>);

fn forward(upstream: u16, req: &Request) -> std::io::Result<Answer> {
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
        .unwrap_or(502);
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
    Ok((status_line, headers, body))
}

/// Writes an answer; with `cut`, only half the body, after announcing all of it.
fn respond(c: &mut TcpStream, method: &str, a: &Answer, cut: bool) -> std::io::Result<()> {
    let (status_line, headers, body) = a;
    let mut head = format!("{status_line}\r\n");
    for (k, v) in headers {
        if !HOP_BY_HOP.contains(&k.to_ascii_lowercase().as_str()) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if method == "HEAD" {
        if let Some(n) = header(headers, "content-length") {
            head.push_str(&format!("Content-Length: {n}\r\n"));
        }
    } else {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes())?;
    if method != "HEAD" {
        let n = if cut { body.len() / 2 } else { body.len() };
        c.write_all(&body[..n])?;
    }
    c.flush()
}

/// The fault for this request, if a rule with shots left matches (and uses one shot).
fn pick(st: &State, req: &Request) -> Option<Fault> {
    let mut rules = st.rules.lock().unwrap();
    let rule = rules.iter_mut().find(|r| {
        r.times > 0
            && (r.method.is_empty() || r.method == req.method)
            && match r.path.strip_prefix('=') {
                Some(exact) => req.target == exact,
                None => req.target.contains(&r.path),
            }
    })?;
    if rule.times != u32::MAX {
        rule.times -= 1;
    }
    Some(rule.fault.clone())
}

fn serve(st: &State, conn: TcpStream) {
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut conn = conn;
    while let Ok(Some(mut req)) = read_request(&mut reader) {
        // Absolute form (we are the client's HTTP proxy): match and forward by the path.
        let mut host = None;
        if let Some(rest) = req.target.strip_prefix("http://") {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            host = Some(authority.to_string());
            req.target = if path.is_empty() {
                "/".into()
            } else {
                path.into()
            };
        }
        let fault = pick(st, &req);
        let log = |outcome: String| {
            st.log.lock().unwrap().push(Logged {
                method: req.method.clone(),
                target: req.target.clone(),
                host: host.clone(),
                authorized: header(&req.headers, "authorization").is_some(),
                authorization: header(&req.headers, "authorization").map(str::to_string),
                outcome,
                body: req.body.clone(),
            });
        };
        match fault {
            Some(Fault::Stall(d)) => {
                log("stall".into());
                // Bounded: sleep in slices so a dropped proxy ends the thread soon.
                let end = std::time::Instant::now() + d;
                while std::time::Instant::now() < end && !st.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = conn.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Status { code, retry_after }) => {
                log(format!("{code} (injected)"));
                let mut headers =
                    vec![("Content-Type".to_string(), "application/json".to_string())];
                if let Some(s) = retry_after {
                    headers.push(("Retry-After".to_string(), s.to_string()));
                }
                let body =
                    br#"{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}"#.to_vec();
                let a = (format!("HTTP/1.1 {code} Injected"), headers, body);
                if respond(&mut conn, &req.method, &a, false).is_err() {
                    return;
                }
            }
            Some(Fault::Reply { content_type, body }) => {
                log("200 (canned)".into());
                let a = (
                    "HTTP/1.1 200 OK".to_string(),
                    vec![("Content-Type".to_string(), content_type)],
                    body,
                );
                if respond(&mut conn, &req.method, &a, false).is_err() {
                    return;
                }
            }
            Some(Fault::Answer {
                status_line,
                headers,
                body,
            }) => {
                log(format!("{status_line} (canned)"));
                let a = (status_line, headers, body);
                if respond(&mut conn, &req.method, &a, false).is_err() {
                    return;
                }
            }
            Some(Fault::Drip(every)) => {
                let Ok((status_line, headers, body)) = forward(st.upstream, &req) else {
                    return;
                };
                log("drip".into());
                let mut head = format!("{status_line}\r\n");
                for (k, v) in &headers {
                    if !HOP_BY_HOP.contains(&k.to_ascii_lowercase().as_str()) {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                }
                head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                if conn.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for b in &body {
                    if st.stop.load(Ordering::SeqCst)
                        || conn.write_all(&[*b]).and_then(|()| conn.flush()).is_err()
                    {
                        return;
                    }
                    std::thread::sleep(every);
                }
            }
            Some(Fault::Delay(d)) => {
                let Ok(a) = forward(st.upstream, &req) else {
                    return;
                };
                log(format!(
                    "{} (delayed)",
                    a.0.split_whitespace().nth(1).unwrap_or("?")
                ));
                let end = std::time::Instant::now() + d;
                while std::time::Instant::now() < end && !st.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                if respond(&mut conn, &req.method, &a, false).is_err() {
                    return;
                }
            }
            Some(Fault::ResetMidBody) => {
                let Ok(a) = forward(st.upstream, &req) else {
                    return;
                };
                log("reset mid-body".into());
                let _ = respond(&mut conn, &req.method, &a, true);
                let _ = conn.shutdown(Shutdown::Both);
                return;
            }
            None => {
                let Ok(a) = forward(st.upstream, &req) else {
                    return;
                };
                let status = a.0.split_whitespace().nth(1).unwrap_or("?").to_string();
                log(status);
                if respond(&mut conn, &req.method, &a, false).is_err() {
                    return;
                }
            }
        }
        if header(&req.headers, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            return;
        }
    }
}

//! Registry traffic under faults, against the real docker-registry behind
//! tests/common/fault_proxy.rs: stalls time out with an environment error naming the request,
//! transient statuses and broken connections are retried for idempotent requests only (within
//! bounds, honouring Retry-After), and a tag PUT is never sent twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
use common::Work;
use common::fault_proxy::{Fault, FaultProxy, Rule};
use common::registry::Registry;
use provenance::oci::{self, ErrorKind, RegistryOptions, RegistryStore, Store};
use std::time::{Duration, Instant};

const REPO: &str = "models/faults";

fn store(host: &str, timeout: Duration) -> RegistryStore {
    RegistryStore::new(
        host,
        RegistryOptions {
            use_docker_config: false,
            timeout,
            ..Default::default()
        },
    )
    .unwrap()
}

/// A registry with one small image manifest tagged `v1`, and a fault proxy in front of it.
fn setup() -> (Work, Registry, FaultProxy, String) {
    let w = Work::new();
    let reg = Registry::start(&w.path("regdata"), None);
    let s = store(&reg.host(), Duration::from_secs(5));
    let cfg = s.push_blob_bytes(REPO, b"{}").unwrap();
    let layer = s.push_blob_bytes(REPO, &common::bytes(4096, 7)).unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": cfg.digest, "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": layer.digest, "size": 4096}],
    }))
    .unwrap();
    let d = s
        .put_manifest(
            REPO,
            "v1",
            &manifest,
            "application/vnd.oci.image.manifest.v1+json",
        )
        .unwrap();
    let proxy = FaultProxy::start(reg.port);
    (w, reg, proxy, d.digest)
}

#[test]
fn stalled_manifest_get_times_out_with_an_environment_error_naming_the_request() {
    let (_w, _reg, proxy, _) = setup();
    proxy.add(Rule::always(
        "GET",
        "/manifests/",
        Fault::Stall(Duration::from_secs(20)),
    ));
    let s = store(&proxy.host(), Duration::from_secs(1));
    let t = Instant::now();
    let e = s.resolve(REPO, "v1").unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(e.kind(), ErrorKind::Environment, "{e}");
    assert!(e.is_network(), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("GET tag v1") && msg.contains("timed out after 1 s"),
        "{msg}"
    );
    assert!(msg.contains(&proxy.host()), "{msg}");
    // A timeout is not retried: it already waited.
    assert_eq!(proxy.count("GET", "/manifests/v1"), 1);
}

#[test]
fn stalled_blob_download_times_out_instead_of_hanging() {
    let (_w, _reg, proxy, digest) = setup();
    let s = store(&proxy.host(), Duration::from_secs(1));
    let m = s.fetch_manifest(REPO, &digest).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&m.bytes).unwrap();
    let layer = v["layers"][0]["digest"].as_str().unwrap().to_string();
    proxy.add(Rule::always(
        "GET",
        "/blobs/",
        Fault::Stall(Duration::from_secs(20)),
    ));
    let t = Instant::now();
    let e = s
        .fetch_blob(REPO, &layer, 4096, &mut Vec::new())
        .unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "took {:?}",
        t.elapsed()
    );
    assert!(matches!(e, oci::Error::Timeout { .. }), "{e:?}");
    assert!(e.to_string().contains(&format!("GET blob {layer}")), "{e}");
}

#[test]
fn service_unavailable_once_with_retry_after_is_retried_after_the_wait() {
    let (_w, _reg, proxy, digest) = setup();
    proxy.add(Rule::once(
        "GET",
        "/manifests/v1",
        Fault::Status {
            code: 503,
            retry_after: Some(1),
        },
    ));
    let s = store(&proxy.host(), Duration::from_secs(5));
    let t = Instant::now();
    let d = s.resolve(REPO, "v1").unwrap();
    assert_eq!(d.digest, digest);
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured ({:?})",
        t.elapsed()
    );
    assert_eq!(proxy.count("GET", "/manifests/v1"), 2);
}

#[test]
fn huge_retry_after_is_capped() {
    let (_w, _reg, proxy, _) = setup();
    proxy.add(Rule::once(
        "GET",
        "/manifests/v1",
        Fault::Status {
            code: 429,
            retry_after: Some(3600),
        },
    ));
    let s = store(&proxy.host(), Duration::from_secs(5));
    let t = Instant::now();
    s.resolve(REPO, "v1").unwrap();
    let cap = oci::registry::MAX_RETRY_WAIT;
    assert!(
        t.elapsed() <= cap + Duration::from_secs(3),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn persistent_server_errors_give_up_after_bounded_retries() {
    let (_w, _reg, proxy, _) = setup();
    proxy.add(Rule::always(
        "GET",
        "/manifests/v1",
        Fault::Status {
            code: 500,
            retry_after: None,
        },
    ));
    let s = store(&proxy.host(), Duration::from_secs(5));
    let t = Instant::now();
    let e = s.resolve(REPO, "v1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Environment, "{e}");
    assert!(!e.is_network(), "a 500 is not a network failure: {e:?}");
    assert_eq!(
        proxy.count("GET", "/manifests/v1"),
        1 + oci::registry::MAX_RETRIES as usize
    );
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
}

#[test]
fn connection_reset_mid_body_of_a_manifest_is_retried() {
    let (_w, _reg, proxy, digest) = setup();
    proxy.add(Rule::once("GET", "/manifests/", Fault::ResetMidBody));
    let s = store(&proxy.host(), Duration::from_secs(5));
    let m = s.fetch_manifest(REPO, &digest).unwrap();
    assert_eq!(oci::store::sha256_digest(&m.bytes), digest);
    assert_eq!(proxy.count("GET", &format!("/manifests/{digest}")), 2);
}

#[test]
fn blob_head_and_monolithic_upload_survive_one_server_error_each() {
    let (_w, _reg, proxy, _) = setup();
    proxy.add(Rule::once(
        "HEAD",
        "/blobs/",
        Fault::Status {
            code: 502,
            retry_after: None,
        },
    ));
    proxy.add(Rule::once(
        "PUT",
        "/blobs/uploads/",
        Fault::Status {
            code: 500,
            retry_after: None,
        },
    ));
    let s = store(&proxy.host(), Duration::from_secs(5));
    let bytes = common::bytes(1000, 99);
    let d = s.push_blob_bytes(REPO, &bytes).unwrap();
    assert!(s.blob_exists(REPO, &d.digest).unwrap());
    assert_eq!(proxy.count("PUT", "/blobs/uploads/"), 2);
    assert_eq!(proxy.count("HEAD", &d.digest), 2);
    let mut out = Vec::new();
    s.fetch_blob(REPO, &d.digest, 1000, &mut out).unwrap();
    assert_eq!(out, bytes);
}

#[test]
fn a_tag_put_is_sent_once_even_when_the_registry_fails_it() {
    let (_w, _reg, proxy, digest) = setup();
    proxy.add(Rule::always(
        "PUT",
        "/manifests/v2",
        Fault::Status {
            code: 500,
            retry_after: None,
        },
    ));
    let s = store(&proxy.host(), Duration::from_secs(5));
    let m = s.fetch_manifest(REPO, &digest).unwrap();
    let e = s
        .put_manifest(REPO, "v2", &m.bytes, &m.media_type)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Environment, "{e}");
    assert_eq!(proxy.count("PUT", "/manifests/v2"), 1);
    // By digest the same bytes may be sent again: retried.
    proxy.add(Rule::once(
        "PUT",
        &format!("/manifests/{digest}"),
        Fault::Status {
            code: 503,
            retry_after: None,
        },
    ));
    s.put_manifest(REPO, &digest, &m.bytes, &m.media_type)
        .unwrap();
    assert_eq!(proxy.count("PUT", &format!("/manifests/{digest}")), 2);
}

/// `sign REF` through the tag-schema fallback when the registry fails the index GET and PUT
/// once each with 500 (as distribution does under concurrent writers): it exits 0 and the
/// signature verifies.
#[test]
fn sign_survives_server_errors_on_the_referrers_index() {
    let w = Work::new();
    let reg = Registry::start(&w.path("regdata"), None);
    let proxy = FaultProxy::start(reg.port);
    w.keygen("k");
    w.hf_model("bert");
    let r = format!("{}/models/bert:v1", proxy.host());
    w.expect(0, &["push", "bert", &r]);
    let fail_once = |method: &str| {
        Rule::once(
            method,
            "/manifests/sha256-",
            Fault::Status {
                code: 500,
                retry_after: None,
            },
        )
    };
    proxy.add(fail_once("GET"));
    proxy.add(fail_once("PUT"));
    w.expect(0, &["sign", &r, "--private-key", "k.pem"]);
    assert!(
        proxy
            .log()
            .iter()
            .filter(|l| l.target.contains("/manifests/sha256-") && l.outcome.contains("injected"))
            .count()
            == 2,
        "{:#?}",
        proxy.log()
    );
    w.expect(0, &["verify", &r, "--public-key", "k.pub"]);
}

/// Tags are listed in pages of `n=1000` with `last=`: 1,005 tags come back complete, in two
/// pages.
#[test]
fn tag_listing_pages_through_more_than_one_page() {
    let (_w, _reg, proxy, digest) = setup();
    let s = store(&proxy.host(), Duration::from_secs(5));
    let m = s.fetch_manifest(REPO, &digest).unwrap();
    let n = oci::registry::TAG_PAGE + 5;
    for i in 0..n {
        s.put_manifest(REPO, &format!("t{i:05}"), &m.bytes, &m.media_type)
            .unwrap();
    }
    proxy.clear_log();
    let tags = s.list_tags(REPO).unwrap();
    assert_eq!(tags.len(), n + 1, "v1 and the t* tags"); // v1 too
    assert!(tags.contains(&"t01004".to_string()));
    let pages = proxy.count("GET", "/tags/list");
    assert_eq!(pages, 2, "{:#?}", proxy.log());
    assert!(
        proxy
            .log()
            .iter()
            .any(|l| l.target.contains("n=1000") && l.target.contains("last=")),
        "{:#?}",
        proxy.log()
    ); // Through the trait, page by page as they arrive.
    let dyn_store: &dyn Store = &s;
    let (mut pages, mut total) = (0, 0);
    dyn_store
        .walk_tags(REPO, &mut |p| {
            pages += 1;
            total += p.len();
            Ok(())
        })
        .unwrap();
    assert_eq!((pages, total), (2, n + 1));
}

/// A subject with more referrers than the cap: only MAX_REFERRERS are returned, the newest, and
/// the list says it was cut.
#[test]
fn referrers_past_the_cap_are_cut_to_the_newest_and_flagged() {
    let (_w, _reg, proxy, digest) = setup();
    let s = store(&proxy.host(), Duration::from_secs(5));
    let n = oci::MAX_REFERRERS + 5;
    let entries: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": format!("sha256:{:064x}", i),
                "size": 100,
                "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                "annotations": {"org.opencontainers.image.created": format!("2026-01-01T00:{:02}:{:02}Z", i / 60 % 60, i % 60)},
            })
        })
        .collect();
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
    }))
    .unwrap();
    proxy.add(Rule::always(
        "GET",
        &format!("/manifests/{}", digest.replace(':', "-")),
        Fault::Reply {
            content_type: "application/vnd.oci.image.index.v1+json".into(),
            body: index,
        },
    ));
    let l = s.referrer_list(REPO, &digest, None).unwrap();
    assert!(l.truncated);
    assert_eq!(l.total, n);
    assert_eq!(l.descriptors.len(), oci::MAX_REFERRERS);
    // The five oldest (created first) are the ones left out.
    assert!(
        !l.descriptors
            .iter()
            .any(|d| d.digest == format!("sha256:{:064x}", 0))
    );
    assert_eq!(
        s.referrers(REPO, &digest, None).unwrap().len(),
        oci::MAX_REFERRERS
    );
}

/// An upload `Location` on another host (a storage backend, or a hostile registry) never gets
/// the registry's credentials, although the registry itself does.
#[test]
fn credentials_never_go_to_an_upload_location_on_another_host() {
    let w = Work::new();
    let reg = Registry::start(&w.path("regdata"), Some(("alice", "s3cret")));
    let front = FaultProxy::start(reg.port);
    let other = FaultProxy::start(reg.port);
    front.add(Rule::always(
        "POST",
        "/blobs/uploads/",
        Fault::Answer {
            status_line: "HTTP/1.1 202 Accepted".into(),
            headers: vec![(
                "Location".into(),
                format!("http://{}/v2/{REPO}/blobs/uploads/elsewhere", other.host()),
            )],
            body: Vec::new(),
        },
    ));
    let s = RegistryStore::new(
        &front.host(),
        RegistryOptions {
            use_docker_config: false,
            credentials: Some(oci::Credentials {
                username: "alice".into(),
                password: "s3cret".into(),
            }),
            ..Default::default()
        },
    )
    .unwrap();
    let e = s.push_blob_bytes(REPO, b"payload").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Environment, "{e}");
    let sent = other.log();
    assert!(
        !sent.is_empty(),
        "the upload never reached the Location host"
    );
    assert!(
        sent.iter().all(|l| !l.authorized),
        "credentials were sent to another host: {sent:#?}"
    );
    assert!(
        front
            .log()
            .iter()
            .any(|l| l.method == "POST" && l.authorized),
        "the registry itself did not get the credentials: {:#?}",
        front.log()
    );
}

/// Distribution answers 400 MANIFEST_BLOB_UNKNOWN to a manifest PUT that checks a blob while
/// another client re-uploads it (its link file is rewritten in place): a PUT by digest is sent
/// again and succeeds; a PUT by tag is not.
#[test]
fn manifest_blob_unknown_during_a_concurrent_upload_is_retried_by_digest_only() {
    let (_w, _reg, proxy, digest) = setup();
    let blob_unknown = || Fault::Answer {
        status_line: "HTTP/1.1 400 Bad Request".into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body:
            br#"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}"#
                .to_vec(),
    };
    proxy.add(Rule::once(
        "PUT",
        &format!("/manifests/{digest}"),
        blob_unknown(),
    ));
    proxy.add(Rule::once("PUT", "/manifests/v3", blob_unknown()));
    let s = store(&proxy.host(), Duration::from_secs(5));
    let m = s.fetch_manifest(REPO, &digest).unwrap();
    s.put_manifest(REPO, &digest, &m.bytes, &m.media_type)
        .unwrap();
    assert_eq!(proxy.count("PUT", &format!("/manifests/{digest}")), 2);
    s.put_manifest(REPO, "v3", &m.bytes, &m.media_type)
        .unwrap_err();
    assert_eq!(proxy.count("PUT", "/manifests/v3"), 1);
}

/// A registry that keeps sending, one byte at a time, never trips the idle timeout; the
/// whole-request deadline ends the request, and the error says which limit.
#[test]
fn a_dripping_answer_hits_the_request_deadline() {
    let (_w, _reg, proxy, _) = setup();
    proxy.add(Rule::always(
        "GET",
        "/manifests/v1",
        Fault::Drip(Duration::from_millis(200)),
    ));
    let s = RegistryStore::new(
        &proxy.host(),
        RegistryOptions {
            use_docker_config: false,
            timeout: Duration::from_secs(1),
            request_deadline: Duration::from_secs(2),
            ..Default::default()
        },
    )
    .unwrap();
    let t = Instant::now();
    let e = s.resolve(REPO, "v1").unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    assert!(t.elapsed() >= Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(
        e.to_string().contains("GET tag v1 timed out after 2 s"),
        "{e}"
    );
}

/// A blob download whose connection breaks mid-body is resumed with a Range request where it
/// broke: the bytes come out whole and verified, and the second request asks for the rest only.
#[test]
fn blob_download_cut_mid_body_resumes_with_a_range_request() {
    let (_w, _reg, proxy, _) = setup();
    let s = store(&proxy.host(), Duration::from_secs(5));
    let bytes = common::bytes(3 * 1024 * 1024, 5);
    let d = s.push_blob_bytes(REPO, &bytes).unwrap();
    proxy.add(Rule::once(
        "GET",
        &format!("/blobs/{}", d.digest),
        Fault::ResetMidBody,
    ));
    proxy.clear_log();
    let mut out = Vec::new();
    s.fetch_blob(REPO, &d.digest, bytes.len() as u64, &mut out)
        .unwrap();
    assert!(out == bytes, "resumed bytes differ");
    let log = proxy.log();
    let gets: Vec<_> = log
        .iter()
        .filter(|l| l.method == "GET" && l.target.contains(&d.digest))
        .collect();
    assert_eq!(gets.len(), 2, "{log:#?}");
    assert_eq!(gets[1].outcome, "206", "{log:#?}");
}

/// A big blob (chunked upload) whose PATCH fails once with 503 is uploaded again in a new
/// session and lands whole.
#[test]
fn chunked_upload_starts_over_after_a_transient_failure() {
    let (w, _reg, proxy, _) = setup();
    let s = store(&proxy.host(), Duration::from_secs(5));
    let bytes = common::bytes(9 * 1024 * 1024, 3);
    w.write("big.bin", &bytes);
    let digest = oci::store::sha256_digest(&bytes);
    proxy.add(Rule::once(
        "PATCH",
        "/blobs/uploads/",
        Fault::Status {
            code: 503,
            retry_after: None,
        },
    ));
    s.push_blob_file(REPO, &w.path("big.bin"), &digest, bytes.len() as u64)
        .unwrap();
    assert_eq!(proxy.count("POST", "/blobs/uploads/"), 2);
    assert!(s.blob_exists(REPO, &digest).unwrap());
}

/// A registry whose `Bearer` challenge names a token service: the service gets the credentials
/// (basic) and the registry gets the token. A token service on plain HTTP on another host never
/// gets them.
#[test]
fn token_service_gets_credentials_only_over_https_or_loopback() {
    let (_w, _reg, front, digest) = setup();
    let tokens = FaultProxy::start(_reg.port);
    tokens.add(Rule::always(
        "GET",
        "/token",
        Fault::Reply {
            content_type: "application/json".into(),
            body: br#"{"token":"tok-123"}"#.to_vec(),
        },
    ));
    let challenge = |realm: String| Fault::Answer {
        status_line: "HTTP/1.1 401 Unauthorized".into(),
        headers: vec![(
            "WWW-Authenticate".into(),
            format!(r#"Bearer realm="{realm}",service="test-registry""#),
        )],
        body: Vec::new(),
    };
    front.add(Rule::always(
        "GET",
        "=/v2/",
        challenge(format!("http://{}/token", tokens.host())),
    ));
    let with_creds = |host: &str| {
        RegistryStore::new(
            host,
            RegistryOptions {
                use_docker_config: false,
                credentials: Some(oci::Credentials {
                    username: "alice".into(),
                    password: "s3cret".into(),
                }),
                ..Default::default()
            },
        )
        .unwrap()
    };
    let s = with_creds(&front.host());
    assert_eq!(s.resolve(REPO, "v1").unwrap().digest, digest);
    let asked = tokens.log();
    assert!(
        asked.iter().any(
            |l| l.authorization.as_deref() == Some("Basic YWxpY2U6czNjcmV0")
                && l.target
                    .contains("scope=repository%3Amodels%2Ffaults%3Apull")
                && l.target.contains("service=test-registry")
        ),
        "{asked:#?}"
    );
    assert!(
        front
            .log()
            .iter()
            .any(|l| l.target.contains("/manifests/v1")
                && l.authorization.as_deref() == Some("Bearer tok-123")),
        "{:#?}",
        front.log()
    );

    // The same challenge pointing at a plain-HTTP token service on another host.
    front.clear_rules();
    front.add(Rule::always(
        "GET",
        "=/v2/",
        challenge("http://auth.example.invalid/token".into()),
    ));
    let s = with_creds(&front.host());
    let e = s.resolve(REPO, "v1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Environment, "{e}");
    assert!(e.to_string().contains("not HTTPS"), "{e}");
}

/// An identity token (docker config `identitytoken`, a helper's `<token>` answer) is a refresh
/// token: POSTed to the token service as `grant_type=refresh_token`, never sent as a password
/// (no basic auth anywhere), and the access token it buys reaches the registry.
#[test]
fn an_identity_token_is_exchanged_at_the_token_service_not_sent_as_a_password() {
    let (_w, reg, front, digest) = setup();
    let tokens = FaultProxy::start(reg.port);
    tokens.add(Rule::always(
        "POST",
        "/token",
        Fault::Reply {
            content_type: "application/json".into(),
            body: br#"{"access_token":"tok-from-refresh"}"#.to_vec(),
        },
    ));
    front.add(Rule::always(
        "GET",
        "=/v2/",
        Fault::Answer {
            status_line: "HTTP/1.1 401 Unauthorized".into(),
            headers: vec![(
                "WWW-Authenticate".into(),
                format!(
                    r#"Bearer realm="http://{}/token",service="test-registry""#,
                    tokens.host()
                ),
            )],
            body: Vec::new(),
        },
    ));
    let s = RegistryStore::new(
        &front.host(),
        RegistryOptions {
            use_docker_config: false,
            credentials: Some(oci::Credentials {
                username: "<token>".into(),
                password: "refresh-abc".into(),
            }),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.resolve(REPO, "v1").unwrap().digest, digest);
    let asked = tokens.log();
    let exchange = asked.iter().find(|l| l.method == "POST");
    assert!(
        exchange.is_some(),
        "no POST to the token service: {asked:#?}"
    );
    let exchange = exchange.unwrap();
    let form = String::from_utf8_lossy(&exchange.body);
    assert!(
        form.contains("grant_type=refresh_token")
            && form.contains("refresh_token=refresh-abc")
            && form.contains("service=test-registry")
            && form.contains("scope=repository%3Amodels%2Ffaults%3Apull"),
        "{form}"
    );
    assert!(
        asked.iter().chain(front.log().iter()).all(|l| !l
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic"))),
        "the refresh token went out as a password"
    );
    assert!(
        front
            .log()
            .iter()
            .any(|l| l.authorization.as_deref() == Some("Bearer tok-from-refresh")),
        "{:#?}",
        front.log()
    );
}

/// Nothing listening: a network error (the CLI's "is the registry running" hint applies), after
/// a bounded number of retries.
#[test]
fn a_registry_that_is_not_there_is_a_network_error_within_bounded_time() {
    let port = common::registry::free_port();
    let s = store(&format!("127.0.0.1:{port}"), Duration::from_secs(2));
    let t = Instant::now();
    let e = s.resolve(REPO, "v1").unwrap_err();
    assert!(e.is_network(), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Environment);
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
}

const CLI_REPO: &str = "models/stall";

/// A registry holding the Hugging Face style model `models/stall:v1`, pushed and signed
/// `signatures` times (key `k`, then `k1`, `k2`, ...) through the CLI, and a fault proxy in front of it. Returns
/// (work folder, registry, proxy, manifest digest).
fn signed_model(signatures: usize) -> (Work, Registry, FaultProxy, String) {
    let w = Work::new();
    let reg = Registry::start(&w.path("regdata"), None);
    w.keygen("k");
    w.hf_model("bert");
    let direct = format!("{}/{CLI_REPO}:v1", reg.host());
    // Sequential signers: the concurrent-writer settle delay only slows the setup down.
    let fast = [("PROVENANCE_UNSAFE_TAG_SCHEMA_SETTLE_MS", "0")];
    w.expect_env(0, &["push", "bert", &direct], &fast);
    // One key each: one key signing one model twice makes the same (deterministic) bundle.
    for i in 0..signatures {
        let key = if i == 0 {
            "k".to_string()
        } else {
            format!("k{i}")
        };
        if i > 0 {
            w.keygen(&key);
        }
        w.expect_env(
            0,
            &["sign", &direct, "--private-key", &format!("{key}.pem")],
            &fast,
        );
    }
    let digest = store(&reg.host(), Duration::from_secs(5))
        .resolve(CLI_REPO, "v1")
        .unwrap()
        .digest;
    let proxy = FaultProxy::start(reg.port);
    (w, reg, proxy, digest)
}

/// The bundle blob digests of the signature referrers of `digest`.
fn bundle_blobs(host: &str, digest: &str) -> Vec<String> {
    let s = store(host, Duration::from_secs(5));
    s.referrers(CLI_REPO, digest, None)
        .unwrap()
        .iter()
        .map(|r| {
            let m = s.fetch_manifest(CLI_REPO, &r.digest).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&m.bytes).unwrap();
            v["layers"][0]["digest"].as_str().unwrap().to_string()
        })
        .collect()
}

/// No "it ends" test may take longer than this; past it the binary is killed and the test fails.
const HANG: Duration = Duration::from_secs(60);

/// A signature bundle served at 5 bytes/s (the idle timeout never fires) ends `verify` and
/// `audit` at the request deadline, exit 3, naming the read; before, only the idle timeout
/// bounded it.
#[test]
fn verify_and_audit_end_when_a_signature_bundle_is_dripped() {
    let (w, reg, proxy, digest) = signed_model(1);
    let blob = bundle_blobs(&reg.host(), &digest).remove(0);
    proxy.add(Rule::always(
        "GET",
        &format!("/blobs/{blob}"),
        Fault::Drip(Duration::from_millis(200)),
    ));
    let r = format!("{}/{CLI_REPO}:v1", proxy.host());
    let limits = ["--timeout", "1", "--deadline", "2"];
    for (n, cmd) in [["verify", "--public-key"], ["audit", "-p"]]
        .iter()
        .enumerate()
    {
        let mut args = vec![cmd[0], &r, cmd[1], "k.pub"];
        args.extend(limits);
        let run = w.run_bounded(&args, &[], "", HANG);
        assert!(
            !run.killed,
            "{} still running after {HANG:?}:\n{}",
            cmd[0], run.text
        );
        assert_eq!(run.code, Some(3), "{}: {}", cmd[0], run.text);
        assert!(
            run.text
                .contains(&format!("GET signature blob {blob} timed out after 2 s")),
            "{}: {}",
            cmd[0],
            run.text
        );
        assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
        assert_eq!(proxy.count("GET", &format!("/blobs/{blob}")), n + 1);
    }
}

/// Six signatures whose bundles each answer after 1.5 s, well inside the 3 s request deadline,
/// add up to 9 s: the signature phase deadline (2.5 request deadlines, 7 s) ends `verify`,
/// exit 3, instead of letting N slow referrers multiply the wait.
#[test]
fn verify_ends_when_many_slow_signatures_add_up_past_the_referrer_deadline() {
    let (w, _reg, proxy, digest) = signed_model(6);
    proxy.add(Rule::always(
        "GET",
        "/blobs/",
        Fault::Delay(Duration::from_millis(1500)),
    ));
    let r = format!("{}/{CLI_REPO}:v1", proxy.host());
    let run = w.run_bounded(
        &[
            "verify",
            &r,
            "--public-key",
            "k.pub",
            "--timeout",
            "3",
            "--deadline",
            "3",
        ],
        &[],
        "",
        HANG,
    );
    assert!(
        !run.killed,
        "verify still running after {HANG:?}:\n{}",
        run.text
    );
    assert_eq!(run.code, Some(3), "{}", run.text);
    assert!(
        run.text.contains(&format!(
            "listing and reading the signature referrers of {digest} timed out after 7 s"
        )),
        "{}",
        run.text
    );
    assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
    assert!(proxy.count("GET", "/blobs/") < 6, "{:#?}", proxy.log());
}

/// A model blob served at 5 bytes/s holds `pull` only for the low-speed window: exit 3 naming
/// the stall and the limit, and nothing is written (no output folder, no signature, no temp).
#[test]
fn pull_of_a_dripped_model_blob_fails_under_the_speed_limit_and_writes_nothing() {
    let (w, _reg, proxy, _) = signed_model(1);
    let shard = oci::store::sha256_digest(
        &std::fs::read(w.path("bert/model-00001-of-00002.safetensors")).unwrap(),
    );
    proxy.add(Rule::always(
        "GET",
        &format!("/blobs/{shard}"),
        Fault::Drip(Duration::from_millis(200)),
    ));
    let r = format!("{}/{CLI_REPO}:v1", proxy.host());
    let before: Vec<_> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let run = w.run_bounded(
        &[
            "pull",
            &r,
            "--output",
            "out",
            "--public-key",
            "k.pub",
            "--speed-limit",
            "1024",
            "--speed-time",
            "2",
        ],
        &[],
        "",
        HANG,
    );
    assert!(
        !run.killed,
        "pull still running after {HANG:?}:\n{}",
        run.text
    );
    assert_eq!(run.code, Some(3), "{}", run.text);
    assert!(
        run.text.contains(&format!("GET blob {shard} stalled"))
            && run.text.contains("under the 1024 bytes/s low-speed limit")
            && run.text.contains("--speed-time"),
        "{}",
        run.text
    );
    assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
    let after: Vec<_> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| {
            !n.to_string_lossy().starts_with(".bounded-")
                && !n.to_string_lossy().starts_with(".provenance-home")
        })
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|n| !n.to_string_lossy().starts_with(".provenance-home"))
        .collect();
    assert_eq!(after, before, "pull left something behind");
}

/// A registry seen under a name that is not loopback (`registry.invalid`, reached through the
/// fault proxy as an HTTP proxy, so no byte leaves 127.0.0.1) names a plain-HTTP token
/// service on this machine's loopback: the password would go in clear to whatever local
/// process holds that port. It is refused, exit 3, naming the realm; the port gets nothing.
#[test]
fn a_remote_registry_cannot_steer_the_password_to_a_loopback_token_realm() {
    let (w, reg, front, _) = setup();
    w.keygen("k");
    let tokens = FaultProxy::start(reg.port);
    tokens.add(Rule::always(
        "GET",
        "/token",
        Fault::Reply {
            content_type: "application/json".into(),
            body: br#"{"token":"tok-123"}"#.to_vec(),
        },
    ));
    let realm = format!("http://{}/token", tokens.host());
    front.add(Rule::always(
        "GET",
        "=/v2/",
        Fault::Answer {
            status_line: "HTTP/1.1 401 Unauthorized".into(),
            headers: vec![(
                "WWW-Authenticate".into(),
                format!(r#"Bearer realm="{realm}",service="test-registry""#),
            )],
            body: Vec::new(),
        },
    ));
    let via = format!("http://{}", front.host());
    let env = [
        ("HTTP_PROXY", via.as_str()),
        ("http_proxy", via.as_str()),
        ("NO_PROXY", "127.0.0.1,localhost"),
        ("no_proxy", "127.0.0.1,localhost"),
    ];
    let r = format!("registry.invalid:5000/{REPO}:v1");
    let run = w.run_bounded(
        &[
            "verify",
            &r,
            "--plain-http",
            "--username",
            "alice",
            "--password-stdin",
            "--public-key",
            "k.pub",
        ],
        &env,
        "s3cret\n",
        HANG,
    );
    assert!(!run.killed, "{}", run.text);
    assert!(
        tokens.log().is_empty(),
        "the loopback token realm was asked: {:#?}",
        tokens.log()
    );
    assert_eq!(run.code, Some(3), "{}", run.text);
    assert!(
        run.text.contains(&realm)
            && run.text.contains("loopback")
            && run.text.contains("credentials were not sent"),
        "{}",
        run.text
    );
    let seen = front.log();
    assert!(
        seen.iter()
            .any(|l| l.host.as_deref() == Some("registry.invalid:5000") && l.target == "/v2/"),
        "the registry was not reached under its remote name: {seen:#?}"
    );
    assert!(
        seen.iter().all(|l| !l
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic"))),
        "{seen:#?}"
    );
}

/// A registry that answers the tag-schema reference `sha256-<hex>` with the model manifest
/// itself (GitLab does) lists no signature: `verify` says so (exit 1), it does not invent
/// referrers or fail; and where the same registry answers the referrers API, that answer is
/// used and verifies.
#[test]
fn a_tag_schema_answer_that_is_the_model_manifest_counts_as_no_signature() {
    let (w, reg, proxy, digest) = signed_model(1);
    let direct = store(&reg.host(), Duration::from_secs(5));
    let manifest = direct.fetch_manifest(CLI_REPO, &digest).unwrap().bytes;
    let tag = format!("sha256-{}", digest.trim_start_matches("sha256:"));
    proxy.add(Rule::always(
        "GET",
        &format!("/manifests/{tag}"),
        Fault::Reply {
            content_type: "application/vnd.oci.image.manifest.v1+json".into(),
            body: manifest,
        },
    ));
    let r = format!("{}/{CLI_REPO}:v1", proxy.host());
    let out = w.expect(1, &["verify", &r, "--public-key", "k.pub"]);
    assert!(out.contains("no signature referrer"), "{out}");
    let listed = direct.referrers(CLI_REPO, &digest, None).unwrap();
    assert_eq!(listed.len(), 1);
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": listed,
    }))
    .unwrap();
    proxy.add(Rule::always(
        "GET",
        &format!("/referrers/{digest}"),
        Fault::Reply {
            content_type: "application/vnd.oci.image.index.v1+json".into(),
            body: index,
        },
    ));
    w.expect(0, &["verify", &r, "--public-key", "k.pub"]);
}

//! Image references as docker and oras users write them: `[host[:port]/]repo[:tag|@sha256:<hex>]`.
//!
//! The registry part is read once, by the URL parser the HTTP client uses, into an [`Authority`]
//! in canonical form. The client's URLs and the policy scope are both built from that one value,
//! so no spelling of a host can reach a registry under one name and be judged under another.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::{Error, Result};

/// The tag a reference without tag or digest points to.
pub const DEFAULT_TAG: &str = "latest";

/// A parsed reference. Without a registry host it names a repository in the local store.
///
/// The first path component is a host when it contains `.` or `:` or is `localhost` (docker's
/// rule), so `models/bert:v1` is local and `localhost:5000/models/bert:v1` is remote. Repository
/// names follow the distribution spec grammar (lowercase components separated by `/`); tags are
/// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`; only `sha256` digests are accepted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: Option<Authority>,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
    /// `oci:DIR[:TAG|@digest]`: a plain OCI image layout folder, as skopeo and oras name one.
    layout: Option<String>,
}

/// The repository name a plain layout's references carry (a plain layout has none; its store
/// ignores it).
pub const LAYOUT_REPOSITORY: &str = "layout";

impl Reference {
    /// Parse a reference string; errors are [`Error::InvalidReference`] (exit 2).
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidReference {
            reference: s.to_string(),
            reason: reason.to_string(),
        };
        if s.is_empty() {
            return Err(bad("empty reference"));
        }
        // helm writes `oci://host/repo:tag`; the scheme says nothing more, so it is dropped.
        let s = s.strip_prefix("oci://").unwrap_or(s);
        if let Some(rest) = s.strip_prefix("oci:") {
            return Self::parse_layout(s, rest);
        }
        let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Err(bad(
                "a reference has no URL scheme: drop the http:// or https:// (and pass --plain-http for a registry without TLS)",
            ));
        }
        if s.len() > 4096 {
            return Err(bad("reference is too long"));
        }
        let (name_tag, digest) = match s.rsplit_once('@') {
            Some((n, d)) => {
                validate_digest(d).map_err(|_| bad("digest must be sha256:<64 lowercase hex>"))?;
                (n, Some(d.to_string()))
            }
            None => (s, None),
        };
        let (registry, rest) = match name_tag.split_once('/') {
            Some((first, rest)) if looks_like_host(first) => {
                (Some(Authority::parse(first).map_err(|r| bad(&r))?), rest)
            }
            _ => (None, name_tag),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match rest.rfind(':') {
            Some(i) if i >= last_slash => {
                let (r, t) = rest.split_at(i);
                (r, Some(t.trim_start_matches(':').to_string()))
            }
            _ => (rest, None),
        };
        validate_repository(repository).map_err(|r| bad(&r))?;
        if let Some(t) = &tag {
            validate_tag(t).map_err(|r| bad(&r))?;
        }
        if registry.as_ref().map_or(0, |a| a.as_str().len()) + repository.len() > 255 {
            return Err(bad("name is longer than 255 characters"));
        }
        Ok(Reference {
            registry,
            repository: repository.to_string(),
            tag,
            digest,
            layout: None,
        })
    }

    /// `oci:DIR[:TAG|@sha256:...]` (skopeo's and oras's spelling of an image layout folder).
    fn parse_layout(written: &str, rest: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidReference {
            reference: written.to_string(),
            reason: reason.to_string(),
        };
        let (rest, digest) = match rest.rsplit_once('@') {
            Some((n, d)) if d.starts_with("sha256:") => {
                validate_digest(d).map_err(|_| bad("digest must be sha256:<64 lowercase hex>"))?;
                (n, Some(d.to_string()))
            }
            _ => (rest, None),
        };
        let (dir, tag) = match rest.rsplit_once(':') {
            Some((d, t)) if !t.contains('/') => {
                if d.is_empty() {
                    return Err(bad("name the layout folder: oci:DIR[:TAG]"));
                }
                validate_tag(t).map_err(|r| bad(&r))?;
                (d, Some(t.to_string()))
            }
            _ => (rest, None),
        };
        if dir.is_empty() {
            return Err(bad("name the layout folder: oci:DIR[:TAG]"));
        }
        Ok(Reference {
            registry: None,
            repository: LAYOUT_REPOSITORY.to_string(),
            tag,
            digest,
            layout: Some(dir.to_string()),
        })
    }

    /// The layout folder of an `oci:DIR[:TAG]` reference.
    pub fn layout(&self) -> Option<&str> {
        self.layout.as_deref()
    }

    /// The registry in canonical form (`host[:port]`, see [`Authority`]), or `None` for the
    /// local store.
    pub fn registry(&self) -> Option<&str> {
        self.registry.as_ref().map(Authority::as_str)
    }

    /// The registry's parsed authority, or `None` for the local store.
    pub fn authority(&self) -> Option<&Authority> {
        self.registry.as_ref()
    }

    /// The repository name, e.g. `models/bert`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag as written, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest as written, if any (`sha256:<hex>`).
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// What to resolve in the repository: the digest if given, else the tag, else `latest`.
    pub fn target(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or(DEFAULT_TAG)
    }

    /// The tag to write on push: the tag if given, else `latest`.
    pub fn tag_or_default(&self) -> &str {
        self.tag.as_deref().unwrap_or(DEFAULT_TAG)
    }

    /// `host/repo@digest` (no tag): the spelling to pin a deployment to, host kept.
    pub fn pinned(&self, digest: &str) -> Self {
        Self {
            tag: None,
            digest: Some(digest.to_owned()),
            ..self.clone()
        }
    }

    /// The same repository under `tag` (no digest).
    pub fn with_tag(&self, tag: &str) -> Self {
        Self {
            tag: Some(tag.to_owned()),
            digest: None,
            ..self.clone()
        }
    }

    /// The same reference pinned to `digest` (the tag, if any, is kept for display): what
    /// was just pushed or resolved, named so a moved tag cannot change it.
    pub fn with_digest(&self, digest: &str) -> Self {
        Self {
            digest: Some(digest.to_owned()),
            ..self.clone()
        }
    }
}

impl std::str::FromStr for Reference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.layout, &self.registry) {
            (Some(dir), _) => write!(f, "oci:{dir}")?,
            (None, Some(r)) => write!(f, "{r}/{}", self.repository)?,
            (None, None) => f.write_str(&self.repository)?,
        }
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Check a `sha256:<64 lowercase hex>` digest (the only algorithm we accept).
pub fn validate_digest(d: &str) -> Result<()> {
    let ok = d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    if ok {
        Ok(())
    } else {
        Err(Error::malformed(
            "digest",
            format!("{d:?} is not sha256:<64 lowercase hex>"),
        ))
    }
}

/// Whether the first component of a reference names a registry host: it contains `.` or `:`, or
/// is `localhost` (docker's rule; `localhost` in any case, since hosts are case-insensitive).
pub fn looks_like_host(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first.eq_ignore_ascii_case("localhost")
}

/// A registry's `host[:port]` in the one canonical form both the HTTP client and the policy scope
/// use.
///
/// It is read by the WHATWG URL parser of the `url` crate, the one `reqwest` connects with, so
/// every spelling that parser accepts for one host and port yields one value: the host lower
/// case with one trailing dot dropped, IPv4 in dotted decimal (`127.1`, `0x7f.0.0.1`,
/// `2130706433` and `127.0.0.1.` are all `127.0.0.1`), IPv6 compressed in brackets, an
/// IPv4-mapped IPv6 address (`[::ffff:127.0.0.1]`) as its IPv4 address, the port as a number
/// (`05000` is `5000`). A port that is written stays, even a default one: whether `:443` or `:80`
/// is the default depends on the scheme, which the reference does not know (the policy scope
/// folds both; see `trust::scope`). Refused (exit 2): anything the URL parser refuses (a port
/// over 65535, an IPv4 part over 255, an unbracketed IPv6 address), port 0, empty labels, and
/// characters outside letters, digits, `.`, `-`, `:`, `[`, `]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Authority {
    host: String,
    port: Option<u16>,
    text: String,
}

impl Authority {
    /// Parse a `host[:port]` as written; the error is the reason it was refused.
    pub fn parse(written: &str) -> std::result::Result<Self, String> {
        let refuse = |why: &str| format!("invalid registry host {written:?}: {why}");
        let ok_chars = !written.is_empty()
            && written.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
            });
        if !ok_chars {
            return Err(refuse(
                "only letters, digits, '.', '-', ':' and a bracketed IPv6 address are allowed",
            ));
        }
        if written.ends_with(':') {
            return Err(refuse("empty port; write the port or drop the ':'"));
        }
        // The URL parser drops a port equal to the scheme's default, so read the authority under
        // two schemes with different defaults: a written port survives at least one of them.
        let parse = |scheme: &str| {
            url::Url::parse(&format!("{scheme}://{written}/")).map_err(|e| refuse(&e.to_string()))
        };
        let https = parse("https")?;
        let http = parse("http")?;
        if https.path() != "/"
            || !https.username().is_empty()
            || https.password().is_some()
            || https.query().is_some()
            || https.fragment().is_some()
        {
            return Err(refuse("not a plain host[:port]"));
        }
        let port = https.port().or(http.port());
        if port == Some(0) {
            return Err(refuse("port 0 cannot be connected to"));
        }
        let host = match https.host() {
            Some(url::Host::Domain(d)) => {
                let d = d.strip_suffix('.').unwrap_or(d);
                if d.is_empty() || d.split('.').any(str::is_empty) {
                    return Err(refuse("empty label"));
                }
                d.to_ascii_lowercase()
            }
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => canonical_ipv6(a),
            None => return Err(refuse("no host")),
        };
        let text = match port {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        // The canonical text must read back as a host, or a printed reference would name the
        // local store (`foo./m` would print as `foo/m`).
        if !looks_like_host(&text) {
            return Err(refuse(
                "a one-label name is a host only with a port, or as localhost",
            ));
        }
        Ok(Authority { host, port, text })
    }

    /// The canonical host: a lower-case name, dotted-decimal IPv4, or `[compressed IPv6]`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port as written (a number), if one was.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// `host[:port]` in canonical form.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// An IPv6 host in URL form (`[..]`, RFC 5952 compression), or the IPv4 address an IPv4-mapped
/// one (`::ffff:a.b.c.d`) reaches. IPv4-compatible addresses (`::a.b.c.d`, deprecated) are not
/// mapped: they are not routed to IPv4, and `::1` is one of them.
fn canonical_ipv6(a: Ipv6Addr) -> String {
    match a.to_ipv4_mapped() {
        Some(v4) => Ipv4Addr::to_string(&v4),
        None => format!("[{a}]"),
    }
}

/// Check a repository name against the distribution spec grammar
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
pub fn validate_repository(repo: &str) -> std::result::Result<(), String> {
    if repo.is_empty() {
        return Err("empty repository name".into());
    }
    if repo.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "repository {repo:?} has upper-case letters, which OCI names do not allow; write it in lower case ({:?})",
            repo.to_ascii_lowercase()
        ));
    }
    for comp in repo.split('/') {
        let bytes = comp.as_bytes();
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if !bytes.first().is_some_and(alnum) || !bytes.last().is_some_and(alnum) {
            return Err(format!(
                "repository component {comp:?} must start and end with a lowercase letter or digit"
            ));
        }
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if alnum(&b) {
                i += 1;
                continue;
            }
            // a separator run: `.`, `_`, `__` or `-+`
            let start = i;
            while bytes.get(i).is_some_and(|b| !alnum(b)) {
                i += 1;
            }
            let sep = bytes.get(start..i).unwrap_or_default();
            let ok = matches!(sep, b"." | b"_" | b"__") || sep.iter().all(|&b| b == b'-');
            if !ok {
                return Err(format!(
                    "repository {repo:?} has an invalid character or separator (lowercase letters, digits, '.', '_', '__', '-' only)"
                ));
            }
        }
    }
    Ok(())
}

/// Check a tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn validate_tag(t: &str) -> std::result::Result<(), String> {
    let b = t.as_bytes();
    let ok = (1..=128).contains(&b.len())
        && b.first()
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid tag {t:?} ([A-Za-z0-9_][A-Za-z0-9._-]{{0,127}})"
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn oci_layout_references_name_a_folder_and_a_tag_or_digest() {
        let r = Reference::parse("oci:./carry:v1").unwrap();
        assert_eq!(r.layout(), Some("./carry"));
        assert_eq!(r.tag(), Some("v1"));
        assert_eq!(r.registry(), None);
        assert_eq!(r.to_string(), "oci:./carry:v1");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("oci:/srv/models/bert@{d}")).unwrap();
        assert_eq!(r.layout(), Some("/srv/models/bert"));
        assert_eq!(r.digest(), Some(d.as_str()));
        assert_eq!(r.to_string(), format!("oci:/srv/models/bert@{d}"));
        let r = Reference::parse("oci:carry").unwrap();
        assert_eq!((r.layout(), r.tag()), (Some("carry"), None));
        // A folder path with a colon-free tail after a slash is all folder.
        let r = Reference::parse("oci:a:b/c").unwrap();
        assert_eq!((r.layout(), r.tag()), (Some("a:b/c"), None));
        assert!(Reference::parse("oci:").is_err());
        assert!(Reference::parse("oci::v1").is_err());
        assert!(Reference::parse("oci:dir:bad tag").is_err());
        // helm's oci:// is still a registry reference.
        let r = Reference::parse("oci://ghcr.io/o/m:v1").unwrap();
        assert_eq!((r.layout(), r.registry()), (None, Some("ghcr.io")));
    }

    #[test]
    fn references_as_helm_docker_and_browsers_write_them() {
        let r = Reference::parse("oci://localhost:5000/models/bert:v1").unwrap();
        assert_eq!(r.registry(), Some("localhost:5000"));
        assert_eq!(r.to_string(), "localhost:5000/models/bert:v1");
        for url in ["http://localhost:5000/m:v1", "HTTPS://reg.example/m"] {
            let e = Reference::parse(url).unwrap_err().to_string();
            assert!(e.contains("drop the http:// or https://"), "{e}");
            assert!(e.contains("--plain-http"), "{e}");
        }
        let e = Reference::parse("localhost:5000/Models/Bert:v1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("upper-case") && e.contains("\"models/bert\""),
            "{e}"
        );
    }

    #[test]
    fn local_reference_has_no_registry() {
        let r = Reference::parse("models/bert:v1").unwrap();
        assert_eq!(r.registry(), None);
        assert_eq!(r.repository(), "models/bert");
        assert_eq!(r.tag(), Some("v1"));
        assert_eq!(r.target(), "v1");
    }

    #[test]
    fn host_is_recognised_by_dot_colon_or_localhost() {
        let r = Reference::parse("localhost:5000/models/bert:v1").unwrap();
        assert_eq!(r.registry(), Some("localhost:5000"));
        assert_eq!(r.repository(), "models/bert");
        let r = Reference::parse("localhost/m").unwrap();
        assert_eq!(r.registry(), Some("localhost"));
        assert_eq!(r.target(), "latest");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("ghcr.io/org/m@{d}")).unwrap();
        assert_eq!(r.registry(), Some("ghcr.io"));
        assert_eq!(r.digest(), Some(d.as_str()));
        assert_eq!(r.target(), d);
        let r = Reference::parse("127.0.0.1:5000/a/b:c").unwrap();
        assert_eq!(r.registry(), Some("127.0.0.1:5000"));
        assert_eq!(r.to_string(), "127.0.0.1:5000/a/b:c");
    }

    #[test]
    fn every_spelling_of_a_host_and_port_reads_as_one_authority() {
        let canon = |h: &str| Authority::parse(h).unwrap().as_str().to_owned();
        for h in [
            "127.0.0.1:5000",
            "127.0.0.1:05000",
            "127.0.0.1:0005000",
            "127.1:5000",
            "127.0.1:5000",
            "2130706433:5000",
            "0x7f.0.0.1:5000",
            "0X7F000001:5000",
            "0177.0.0.1:5000",
            "127.0.0.1.:5000",
            "[::ffff:127.0.0.1]:5000",
            "[0:0:0:0:0:ffff:7f00:1]:5000",
            "[::FFFF:7F00:1]:05000",
        ] {
            assert_eq!(canon(h), "127.0.0.1:5000", "{h}");
        }
        for h in ["ghcr.io", "GHCR.IO", "ghcr.io.", "Ghcr.Io."] {
            assert_eq!(canon(h), "ghcr.io", "{h}");
        }
        // A written port is kept as a number, even the https or http default: which one is the
        // default depends on the scheme, and the scope folds both.
        assert_eq!(canon("ghcr.io:0443"), "ghcr.io:443");
        assert_eq!(canon("GHCR.IO.:443"), "ghcr.io:443");
        assert_eq!(canon("ghcr.io:080"), "ghcr.io:80");
        assert_eq!(canon("LOCALHOST:05000"), "localhost:5000");
        // IPv6 compressed; IPv4-compatible (deprecated) addresses are not IPv4.
        assert_eq!(canon("[0:0:0:0:0:0:0:1]:5000"), "[::1]:5000");
        assert_eq!(canon("[::127.0.0.1]"), "[::7f00:1]");
        assert_eq!(canon("[2001:DB8::0:1]"), "[2001:db8::1]");
        // Docker Hub's aliases stay as written: they are different hosts to connect to.
        assert_eq!(canon("index.docker.io"), "index.docker.io");
        assert_eq!(canon("Registry-1.Docker.IO"), "registry-1.docker.io");
    }

    #[test]
    fn a_reference_prints_and_compares_in_canonical_form() {
        let r = Reference::parse("127.1:05000/prod/m:v1").unwrap();
        assert_eq!(r.registry(), Some("127.0.0.1:5000"));
        assert_eq!(r.to_string(), "127.0.0.1:5000/prod/m:v1");
        assert_eq!(
            r,
            Reference::parse("[::ffff:7f00:1]:5000/prod/m:v1").unwrap()
        );
        let a = r.authority().unwrap();
        assert_eq!((a.host(), a.port()), ("127.0.0.1", Some(5000)));
        let r = Reference::parse("LOCALHOST/m").unwrap();
        assert_eq!(r.registry(), Some("localhost"));
        // The printed form reads back as the same reference (a registry, never the local store).
        for w in [
            "LocalHost./m",
            "0:5000/m",
            "2130706433:05000/m:v1",
            "[::ffff:10.0.0.1]/m",
            "[0::1]:443/m",
            "GHCR.IO./a/b@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            let r = Reference::parse(w).unwrap();
            assert!(r.registry().is_some(), "{w}");
            assert_eq!(Reference::parse(&r.to_string()).unwrap(), r, "{w}");
        }
    }

    /// Random host spellings from an alphabet the parser cares about: whatever is accepted
    /// prints as a registry reference that reads back as itself (the fuzz target's property).
    #[test]
    fn accepted_hosts_round_trip_through_display() {
        let alphabet = b"0123456789afxX.:[]-Lo";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut accepted = 0;
        for _ in 0..50_000 {
            let mut host = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for i in 0..(x % 14 + 1) {
                let k = (x >> (i * 4 % 60)) as usize % alphabet.len();
                host.push(alphabet[k] as char);
            }
            let Ok(r) = Reference::parse(&format!("{host}/m")) else {
                continue;
            };
            let Some(a) = r.authority() else { continue };
            accepted += 1;
            let again = Reference::parse(&r.to_string()).unwrap();
            assert_eq!(again, r, "{host}");
            assert_eq!(Authority::parse(a.as_str()).unwrap(), *a, "{host}");
        }
        assert!(accepted > 500, "only {accepted} hosts accepted");
    }

    #[test]
    fn refuses_hosts_the_url_parser_refuses() {
        for bad in [
            "127.0.0.1:65536/m",
            "127.0.0.1:0/m",
            "127.0.0.1:5000a/m",
            "1.2.3.256/m",
            "0x100000000:5000/m",
            "a.1:5000/m",
            "::1:5000/m",
            "[::1/m",
            "ghcr..io/m",
            ".ghcr.io/m",
            "ghcr.io../m",
            "ghcr.io:/m",
            "foo:/m",
            "foo./m",
            "gh_cr.io/m",
        ] {
            let e = Reference::parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains("registry host"), "{bad}: {e}");
        }
    }

    #[test]
    fn rejects_bad_names_tags_and_digests() {
        for bad in [
            "",
            "Models/bert",
            "models//bert",
            "models/bert:",
            "models/bert:-x",
            "models/bert@sha256:abc",
            "models/bert@md5:00",
            "models/-bert",
            "models/be..rt",
            "localhost:5000/",
            "a b",
        ] {
            let e = Reference::parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
        assert!(Reference::parse("a/b__c-d--e.f/g_h:V1.0_x-y").is_ok());
    }
}

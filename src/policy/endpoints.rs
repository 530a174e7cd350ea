//! Endpoints and where they came from, and the [`Policy`] that answers "was this host supposed to
//! be reached over HTTPS?".

use super::aws_hosts::is_aws_s3_host;
use super::inferred::Inferred;
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The scheme an endpoint was configured with, or a request travelled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// RFC 9110 §4.2.1/§4.2.2 default ports.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// Where an endpoint entry came from. The order is the order of authority when several entries
/// match one host (an explicit flag beats an inference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `--endpoint URL`.
    Flag,
    /// `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`.
    Env,
    /// The shared config file (`AWS_CONFIG_FILE` or `~/.aws/config`).
    AwsConfig,
    /// AWS's own S3 hosts, which the SDKs reach over HTTPS unless told otherwise.
    AwsDefault,
    /// The capture shows the host speaking TLS.
    Inferred,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Flag => "flag",
            Origin::Env => "env",
            Origin::AwsConfig => "aws-config",
            Origin::AwsDefault => "aws-default",
            Origin::Inferred => "inferred",
        }
    }

    /// Configured by a person (as opposed to assumed or inferred).
    pub fn is_configured(self) -> bool {
        matches!(self, Origin::Flag | Origin::Env | Origin::AwsConfig)
    }
}

/// One endpoint of the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub scheme: Scheme,
    /// Lowercased, no trailing dot; an IPv6 literal without brackets. May be a `*.` pattern only
    /// for the [`Origin::AwsDefault`] listing entries.
    pub host: String,
    /// Explicit or the scheme's default; None = any port (the AWS host patterns).
    pub port: Option<u16>,
    pub origin: Origin,
    /// Exactly where it came from: `--endpoint`, `AWS_ENDPOINT_URL_S3`, `~/.aws/config [profile
    /// dev] services s3`, `TLS seen: SNI s3.local.test from 127.0.0.1:8443`, …
    pub detail: String,
}

/// Why an endpoint URL was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error(
        "endpoint `{0}` has no scheme: write https://{0} (or http:// if plaintext is intended)"
    )]
    NoScheme(String),
    #[error("endpoint `{url}` has scheme `{scheme}`: only http:// and https:// are endpoints")]
    BadScheme { url: String, scheme: String },
    #[error("endpoint `{0}` has no host")]
    NoHost(String),
    #[error("endpoint `{url}` has an invalid port `{port}`")]
    BadPort { url: String, port: String },
    #[error("endpoint `{0}` has an unterminated IPv6 literal (expected `[addr]`)")]
    BadIpv6(String),
}

impl Endpoint {
    /// Parse an endpoint URL (`https://host`, `https://host:8443/`, `http://[::1]:9000`). A path,
    /// query or user-info is accepted and ignored: only scheme, host and port matter here.
    pub fn parse(url: &str, origin: Origin, detail: &str) -> Result<Endpoint, EndpointError> {
        let url = url.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(EndpointError::NoScheme(url.to_string()));
        };
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => {
                return Err(EndpointError::BadScheme {
                    url: url.to_string(),
                    scheme: scheme.to_string(),
                });
            }
        };
        // RFC 3986 §3.2: the authority ends at the first `/`, `?` or `#`.
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = split_host_port(hostport).map_err(|e| match e {
            HostPortError::Ipv6 => EndpointError::BadIpv6(url.to_string()),
            HostPortError::Port(p) => EndpointError::BadPort {
                url: url.to_string(),
                port: p,
            },
        })?;
        if host.is_empty() {
            return Err(EndpointError::NoHost(url.to_string()));
        }
        Ok(Endpoint {
            scheme,
            host: host.into_owned(),
            port: Some(port.unwrap_or(scheme.default_port())),
            origin,
            detail: detail.to_string(),
        })
    }

    /// `https://host:port` (IPv6 in brackets); without a port when it is "any".
    pub fn url(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => format!("{}://{host}:{p}", self.scheme.as_str()),
            None => format!("{}://{host}", self.scheme.as_str()),
        }
    }

    /// The host as an IP address, when the endpoint is an IP literal.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// Does this endpoint name `host` (normalised), or the server at `ip` for IP literals? `host`
    /// may be a virtual-hosted subdomain (`bucket.s3.local.test` for `s3.local.test`).
    /// Returns how specific the match is: 2 exact, 1 subdomain.
    fn host_match(&self, host: Option<&str>, ip: IpAddr) -> Option<u8> {
        if let Some(eip) = self.ip() {
            let named = host.and_then(|h| h.parse::<IpAddr>().ok());
            return (eip == ip || named == Some(eip)).then_some(2);
        }
        let host = host?;
        if host == self.host {
            return Some(2);
        }
        let sub = host
            .strip_suffix(self.host.as_str())
            .is_some_and(|p| p.ends_with('.'));
        sub.then_some(1)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}: {})",
            self.url(),
            self.origin.as_str(),
            self.detail
        )
    }
}

enum HostPortError {
    Ipv6,
    Port(String),
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` → (normalised host, port). A bare IPv6 literal
/// without brackets (more than one colon) is taken whole as a host.
fn split_host_port(s: &str) -> Result<(Cow<'_, str>, Option<u16>), HostPortError> {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let (h, after) = inner.split_once(']').ok_or(HostPortError::Ipv6)?;
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err(HostPortError::Ipv6),
        }
    } else if let Some((h, p)) = s
        .bytes()
        .position(|b| b == b':')
        .map(|i| (&s[..i], &s[i + 1..]))
        .filter(|(_, p)| !p.as_bytes().contains(&b':'))
    {
        (h, Some(p))
    } else {
        (s, None)
    };
    let port = match port {
        // RFC 3986 §3.2.3: an empty port is the scheme's default.
        Some("") | None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|&n| n != 0)
                .ok_or_else(|| HostPortError::Port(p.to_string()))?,
        ),
    };
    Ok((normalised(host), port))
}

/// Lowercase, without a trailing dot.
pub fn normalise_host(host: &str) -> String {
    normalised(host).into_owned()
}

/// [`normalise_host`], borrowed when the host already is (the usual case on the wire).
pub fn normalised(host: &str) -> Cow<'_, str> {
    let h = host.trim();
    let h = &h[..h.bytes().rposition(|b| b != b'.').map_or(0, |i| i + 1)];
    if h.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(h.to_ascii_lowercase())
    } else {
        Cow::Borrowed(h)
    }
}

/// A `Host` header or absolute-form authority → (normalised host, explicit port). Malformed
/// values give the whole string as host and no port rather than an error: it is wire data.
pub fn parse_host_header(value: &str) -> (Cow<'_, str>, Option<u16>) {
    if let Some(plain) = plain_host_port(value) {
        return plain;
    }
    general_host_header(value)
}

/// [`parse_host_header`] for any value (brackets, spaces, upper case, odd ports).
fn general_host_header(value: &str) -> (Cow<'_, str>, Option<u16>) {
    split_host_port(value.trim()).unwrap_or_else(|_| (normalised(value), None))
}

/// The usual Host ([`crate::authority::plain`]) with a port of at most five digits, read in one
/// pass; None for anything else, which takes the general way. Gives what the general way gives
/// (a test holds them together).
fn plain_host_port(value: &str) -> Option<(Cow<'_, str>, Option<u16>)> {
    if let Some((host_len, port)) = LAST_PLAIN.with_borrow(|last| last.of(value)) {
        return Some((Cow::Borrowed(value.get(..host_len)?), port));
    }
    let (host, port) = crate::authority::plain(value)?;
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(
            u16::try_from(crate::authority::digits(p)?)
                .ok()
                .filter(|&n| n != 0)?,
        ),
    };
    LAST_PLAIN.with_borrow_mut(|last| last.keep(value, host.len(), port));
    Some((Cow::Borrowed(host), port))
}

thread_local! {
    /// The last plain Host read, and what it gave. The judge reads each request's Host three
    /// times (what it teaches, its findings, the early-judged hosts), and a client's requests
    /// mostly carry the same one: comparing it costs a tenth of reading it.
    static LAST_PLAIN: std::cell::RefCell<PlainHost> = const {
        std::cell::RefCell::new(PlainHost { text: [0; PLAIN_KEPT], len: 0, host_len: 0, port: None })
    };
}

/// Hosts longer than this are read each time (no allocation to remember one).
const PLAIN_KEPT: usize = 64;

/// A plain Host's text (when it fits) and its reading: the name is its first `host_len` bytes.
struct PlainHost {
    text: [u8; PLAIN_KEPT],
    len: usize,
    host_len: usize,
    port: Option<u16>,
}

impl PlainHost {
    /// What `value` gave last time, if it is the Host kept (never for an empty value: nothing
    /// is kept until a Host is read).
    fn of(&self, value: &str) -> Option<(usize, Option<u16>)> {
        (self.len != 0 && self.text.get(..self.len) == Some(value.as_bytes()))
            .then_some((self.host_len, self.port))
    }

    fn keep(&mut self, value: &str, host_len: usize, port: Option<u16>) {
        if let Some(text) = self.text.get_mut(..value.len()) {
            text.copy_from_slice(value.as_bytes());
            (self.len, self.host_len, self.port) = (value.len(), host_len, port);
        }
    }
}

/// The endpoints that count, with lookups.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The endpoints given (flags, environment, config): a few, scanned.
    endpoints: Vec<Endpoint>,
    /// The endpoints the capture proves HTTPS ([`Origin::Inferred`]): any number, indexed and
    /// bounded.
    inferred: Inferred,
    /// Treat AWS's own S3 hosts as HTTPS endpoints ([`Origin::AwsDefault`]).
    pub aws_defaults: bool,
    /// Addresses endpoint hosts are known to have outside the capture (name resolution done by
    /// the caller), so that a refused connection to a bare IP can be tied to its host when the
    /// capture itself never names it: (host, address, how it was learnt).
    addresses: Vec<(String, IpAddr, String)>,
}

impl Policy {
    /// A policy of these endpoints (flags, environment, config: in that order), with AWS's S3
    /// hosts counted as HTTPS.
    pub fn new(endpoints: Vec<Endpoint>) -> Policy {
        let mut p = Policy {
            endpoints: Vec::new(),
            inferred: Inferred::default(),
            aws_defaults: true,
            addresses: Vec::new(),
        };
        p.extend(endpoints);
        p
    }

    /// Add endpoints (e.g. inferred ones), skipping any whose scheme, host and port an existing
    /// entry already has: the first, more authoritative, entry keeps its origin.
    pub fn extend(&mut self, endpoints: impl IntoIterator<Item = Endpoint>) {
        for e in endpoints {
            if e.origin == Origin::Inferred {
                self.prove(e);
            } else if !self.given(&e) && !self.inferred.has(&e) {
                self.endpoints.push(e);
            }
        }
    }

    /// A given endpoint has `e`'s scheme, host and port.
    fn given(&self, e: &Endpoint) -> bool {
        self.endpoints
            .iter()
            .any(|x| x.scheme == e.scheme && x.host == e.host && x.port == e.port)
    }

    /// An endpoint the capture proves (inferred); false when its scheme, host and port were
    /// proven already. One a given endpoint has is remembered as proven but answers nothing:
    /// the given one, more authoritative, does.
    pub fn prove(&mut self, e: Endpoint) -> bool {
        let shadowed = self.given(&e);
        self.inferred.prove(e, shadowed)
    }

    /// A ClientHello proving `e` again: whether its scheme, host and port were proven
    /// ([`Policy::prove`]) and are still kept; then they are kept as the most recent proof.
    pub fn prove_again(&mut self, e: &Endpoint) -> bool {
        self.inferred.touch(e)
    }

    /// Proven endpoints forgotten to keep their bound ([`super::inferred::MAX_INFERRED`]).
    pub fn proofs_forgotten(&self) -> u64 {
        self.inferred.forgotten
    }

    /// Record that `host` has address `ip` (e.g. resolved from `/etc/hosts` or DNS by the caller;
    /// `how` says so in findings: "resolved on this machine").
    pub fn add_address(&mut self, host: &str, ip: IpAddr, how: &str) {
        let host = normalise_host(host);
        if !self
            .addresses
            .iter()
            .any(|(h, a, _)| *h == host && *a == ip)
        {
            self.addresses.push((host, ip, how.to_string()));
        }
    }

    /// Host names known (outside the capture) to have this address, with how each was learnt.
    pub fn names_for_ip(&self, ip: IpAddr) -> impl Iterator<Item = (&str, &str)> {
        self.addresses
            .iter()
            .filter(move |(_, a, _)| *a == ip)
            .map(|(h, _, how)| (h.as_str(), how.as_str()))
    }

    /// The listed endpoints (without the AWS host patterns): the given ones, then the proven
    /// ones still kept, first proven first.
    pub fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.iter().chain(self.inferred.endpoints())
    }

    /// Everything the policy holds, for the report: the listed endpoints, then the AWS host
    /// patterns when they are on.
    pub fn listing(&self) -> Vec<Endpoint> {
        let mut all: Vec<Endpoint> = self.endpoints().cloned().collect();
        if self.aws_defaults {
            for suffix in ["amazonaws.com", "amazonaws.com.cn"] {
                all.push(Endpoint {
                    scheme: Scheme::Https,
                    host: format!("*.{suffix}"),
                    port: None,
                    origin: Origin::AwsDefault,
                    detail: format!("AWS S3 hosts (s3.*.{suffix} and its forms): SDKs use HTTPS unless told otherwise"),
                });
            }
        }
        all
    }

    /// The HTTPS endpoint that `host` (a `Host` header or absolute-form authority, port allowed)
    /// or, for IP-literal endpoints, the server address belongs to — the port does not matter (the
    /// downgrade turns 443 into 80). A listed HTTPS endpoint wins over a configured `http://` one
    /// for the same host (one client configured plaintext to a host that is HTTPS: exactly what
    /// s3wire is for); a configured `http://` endpoint only overrides the AWS default for AWS's
    /// own hosts (plaintext to S3 configured on purpose). None when nothing matches.
    pub fn https_for_host(
        &self,
        host: Option<&str>,
        server: SocketAddr,
    ) -> Option<Cow<'_, Endpoint>> {
        match host.map(parse_host_header) {
            Some((h, p)) => self.https_for_name(Some(&h), p, server),
            None => self.https_for_name(None, None, server),
        }
    }

    /// [`Policy::https_for_host`] for a host already parsed by [`parse_host_header`].
    pub fn https_for_name(
        &self,
        host: Option<&str>,
        explicit_port: Option<u16>,
        server: SocketAddr,
    ) -> Option<Cow<'_, Endpoint>> {
        let port = explicit_port.unwrap_or(server.port());
        // The given endpoints, then those proven that can match (in the order they were
        // added: of equally good matches, the last wins).
        let listed = self
            .endpoints
            .iter()
            .chain(self.inferred.candidates(host, server.ip()))
            .filter(|e| e.scheme == Scheme::Https)
            .filter_map(|e| Some((e.host_match(host, server.ip())?, e)))
            .max_by(|(sa, a), (sb, b)| sa.cmp(sb).then(b.origin.cmp(&a.origin)));
        if let Some((_, e)) = listed {
            return Some(Cow::Borrowed(e));
        }
        let host = host.filter(|h| self.aws_defaults && is_aws_s3_host(h))?;
        if self
            .plaintext_configured(Some(host), server.ip(), port)
            .is_some()
        {
            return None;
        }
        Some(Cow::Owned(Endpoint {
            scheme: Scheme::Https,
            host: host.to_string(),
            port: Some(443),
            origin: Origin::AwsDefault,
            detail: "AWS S3 host: SDKs use HTTPS unless told otherwise".into(),
        }))
    }

    /// A configured (flag/env/config) `http://` endpoint for this host and port, if any (the
    /// proven ones are all `https://`).
    pub fn plaintext_configured(
        &self,
        host: Option<&str>,
        ip: IpAddr,
        port: u16,
    ) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| {
            e.scheme == Scheme::Http
                && e.origin.is_configured()
                && e.port.is_none_or(|p| p == port)
                && e.host_match(host, ip).is_some()
        })
    }
}

#[cfg(test)]
#[path = "endpoints_tests.rs"]
mod tests;

//! Redirects to `http://` that the capture showed, remembered per client, so that a plaintext
//! request following one is hinted as such: the server sent the client to plaintext, whatever
//! the client was configured with. A client follows a 3xx by requesting its `Location` (RFC 9110
//! §15.4), so "following" is: the same client (IP and User-Agent), later, to the Location's host,
//! port and path.
//!
//! Bounded: the last [`PER_CLIENT`] redirects of at most [`MAX_CLIENTS`] clients, none longer
//! than [`MAX_URL_BYTES`]; past that the client remembered first is forgotten (that loses a
//! hint, never a finding; counted in `forgotten`). Looking up is two hash lookups and a scan of
//! at most [`PER_CLIENT`] entries.

use super::endpoints::parse_host_header;
use crate::facts::Request;
use crate::flow::FastHash;
use crate::time::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Redirects kept per client (a client follows one at once; a few cover retries).
const PER_CLIENT: usize = 4;
/// Clients remembered at once.
const MAX_CLIENTS: usize = 256;
/// A Location (or redirected target) longer than this is not remembered: with the counts above,
/// the memory stays under a few MB whatever the capture holds.
const MAX_URL_BYTES: usize = 2048;

/// A client: its IP and User-Agent (one program on a host, not every program on it); a request
/// without a User-Agent counts under `""`.
type ClientKey = (IpAddr, String);

/// A 3xx answer whose `Location` is `http://…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The redirected request's id and final status.
    pub request: u64,
    pub status: u16,
    time: Timestamp,
    /// The redirected request as `scheme://host/path` (query left out: it may carry presigned
    /// credentials, and the path is what a reader matches).
    pub from: String,
    /// The Location as `http://authority/path` (query and userinfo left out).
    pub to: String,
    /// Where it points: host (normalised), port (80 when none), path.
    host: String,
    port: u16,
    path: String,
}

#[derive(Debug, Default)]
pub struct Redirects {
    /// Per client IP, per User-Agent: looked up by `&str`, without building a key per request.
    by_client: HashMap<IpAddr, HashMap<String, VecDeque<Redirect>>, FastHash>,
    /// Clients remembered (the sum of the inner maps' sizes).
    clients: usize,
    /// Clients in the order they were first remembered, for forgetting the oldest.
    order: VecDeque<ClientKey>,
    /// Redirects forgotten for the bounds.
    pub forgotten: u64,
}

impl Redirects {
    /// Remember `r` if it was answered by a redirect to `http://`.
    pub fn learn(&mut self, r: &Request) {
        let (Some(status), Some(location)) = (r.status, r.location.as_deref()) else {
            return;
        };
        let Some(to) = HttpUrl::parse(location) else {
            return;
        };
        if location.len() > MAX_URL_BYTES || r.target.len() > MAX_URL_BYTES {
            self.forgotten += 1;
            return;
        }
        let (host, port) = parse_host_header(to.authority);
        let redirect = Redirect {
            request: r.id,
            status,
            time: r.time,
            from: format!(
                "{}://{}{}",
                r.scheme.as_str(),
                authority_of(r),
                path_of(&r.target)
            ),
            to: format!("http://{}{}", to.authority, to.path),
            host: host.into_owned(),
            port: port.unwrap_or(80),
            path: to.path.to_string(),
        };
        let (ip, ua) = (r.client.ip(), r.user_agent.as_deref().unwrap_or(""));
        if self.list(ip, ua).is_none() {
            self.make_room();
            self.order.push_back((ip, ua.to_string()));
            self.clients += 1;
        }
        let list = self
            .by_client
            .entry(ip)
            .or_default()
            .entry(ua.to_string())
            .or_default();
        if list.len() == PER_CLIENT {
            list.pop_front();
            self.forgotten += 1;
        }
        list.push_back(redirect);
    }

    fn list(&self, ip: IpAddr, ua: &str) -> Option<&VecDeque<Redirect>> {
        self.by_client.get(&ip)?.get(ua)
    }

    fn make_room(&mut self) {
        while self.clients >= MAX_CLIENTS {
            let Some((ip, ua)) = self.order.pop_front() else {
                return;
            };
            let Some(uas) = self.by_client.get_mut(&ip) else {
                continue;
            };
            self.forgotten += uas.remove(&ua).map_or(0, |l| l.len() as u64);
            self.clients -= 1;
            if uas.is_empty() {
                self.by_client.remove(&ip);
            }
        }
    }

    /// The latest earlier redirect of the same client that `r` went to (host, port and path).
    pub fn followed_by(&self, r: &Request) -> Option<&Redirect> {
        if self.by_client.is_empty() {
            return None; // most captures: no redirect to http at all
        }
        let list = self.list(r.client.ip(), r.user_agent.as_deref().unwrap_or(""))?;
        let (host, explicit_port) = parse_host_header(r.host.as_deref()?);
        let port = explicit_port.unwrap_or(r.server.port());
        let path = path_of(&r.target);
        list.iter().rev().find(|d| {
            d.request != r.id
                && d.time <= r.time
                && d.host == host
                && d.port == port
                && d.path == path
        })
    }
}

/// An absolute `http://` URL, split (RFC 3986 §3): authority without userinfo, and path.
struct HttpUrl<'a> {
    authority: &'a str,
    /// `/` when the URL has none.
    path: &'a str,
}

impl<'a> HttpUrl<'a> {
    fn parse(url: &'a str) -> Option<HttpUrl<'a>> {
        let scheme = url.get(..7)?;
        if !scheme.eq_ignore_ascii_case("http://") {
            return None;
        }
        let rest = &url[7..];
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        if authority.is_empty() {
            return None;
        }
        let path = path_of(&rest[end..]);
        Some(HttpUrl { authority, path })
    }
}

/// The path of a request target or URL tail: no query or fragment, `/` when empty; the path of
/// an absolute-form target (`GET http://host/b/k`, through a proxy).
fn path_of(target: &str) -> &str {
    if let Some(u) = HttpUrl::parse(target) {
        return u.path;
    }
    let end = target.find(['?', '#']).unwrap_or(target.len());
    match &target[..end] {
        "" => "/",
        p => p,
    }
}

/// What the redirected request named: its Host header, or the server address.
fn authority_of(r: &Request) -> String {
    r.host
        .as_deref()
        .map_or_else(|| r.server.to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Scheme;

    fn at(ms: i64) -> Timestamp {
        Timestamp(1_767_225_600_000_000_000 + ms * 1_000_000)
    }

    /// An HTTPS GET of /b/k answered 301 to `location`.
    fn redirected(id: u64, location: &str) -> Request {
        Request {
            scheme: Scheme::Https,
            host: Some("s3.local.test:8443".into()),
            method: "GET".into(),
            target: "/b/k?X-Amz-Signature=abc".into(),
            status: Some(301),
            location: Some(location.into()),
            user_agent: Some("Boto3/1.44.8".into()),
            ..Request::sample(id, at(id as i64), "10.0.0.1:40000", "10.0.0.9:8443")
        }
    }

    fn follow(id: u64, host: &str, target: &str) -> Request {
        Request {
            host: Some(host.to_string().into()),
            method: "GET".into(),
            target: target.into(),
            user_agent: Some("Boto3/1.44.8".into()),
            ..Request::sample(id, at(id as i64), "10.0.0.1:40001", "10.0.0.9:80")
        }
    }

    #[test]
    fn a_request_to_the_location_follows_it() {
        let mut d = Redirects::default();
        d.learn(&redirected(1, "http://user:pw@S3.local.test/b/k?x=1#f"));
        let got = d
            .followed_by(&follow(2, "s3.local.test", "/b/k?x=1"))
            .unwrap();
        assert_eq!(got.request, 1);
        assert_eq!(got.status, 301);
        assert_eq!(got.from, "https://s3.local.test:8443/b/k");
        assert_eq!(got.to, "http://S3.local.test/b/k");
        // An absolute-form target (through a proxy) names the same path.
        let proxied = follow(3, "s3.local.test:80", "http://s3.local.test/b/k");
        assert!(d.followed_by(&proxied).is_some());
    }

    #[test]
    fn another_host_port_path_client_or_an_earlier_request_does_not_follow() {
        let mut d = Redirects::default();
        d.learn(&redirected(5, "http://s3.local.test:5000/b/k"));
        assert!(
            d.followed_by(&follow(6, "s3.local.test:5000", "/b/k"))
                .is_some()
        );
        assert!(d.followed_by(&follow(6, "s3.local.test", "/b/k")).is_none());
        assert!(
            d.followed_by(&follow(6, "other.test:5000", "/b/k"))
                .is_none()
        );
        assert!(
            d.followed_by(&follow(6, "s3.local.test:5000", "/b/k2"))
                .is_none()
        );
        assert!(
            d.followed_by(&follow(4, "s3.local.test:5000", "/b/k"))
                .is_none(),
            "before the redirect"
        );
        let other_ua = Request {
            user_agent: Some("aws-cli/2.15.0".into()),
            ..follow(6, "s3.local.test:5000", "/b/k")
        };
        assert!(d.followed_by(&other_ua).is_none());
    }

    #[test]
    fn only_absolute_http_locations_are_remembered() {
        let mut d = Redirects::default();
        for l in [
            "https://s3.local.test/b/k",
            "/b/k",
            "http://",
            "http:/x",
            "ftp://x/",
        ] {
            d.learn(&redirected(1, l));
        }
        assert!(d.by_client.is_empty());
        let no_status = Request {
            status: None,
            ..redirected(1, "http://s3.local.test/b/k")
        };
        d.learn(&no_status);
        assert!(d.by_client.is_empty());
        assert_eq!(path_of(""), "/");
        assert_eq!(
            HttpUrl::parse("HTTP://h?q").map(|u| (u.authority, u.path)),
            Some(("h", "/"))
        );
    }

    #[test]
    fn ipv6_literal_locations_and_overlong_ones() {
        let mut d = Redirects::default();
        d.learn(&redirected(1, "http://[::1]:5000/b/k"));
        let mut f = follow(2, "[::1]:5000", "/b/k");
        f.server = "[::1]:5000".parse().unwrap();
        assert_eq!(
            d.followed_by(&f).map(|r| r.to.as_str()),
            Some("http://[::1]:5000/b/k")
        );
        let long = format!("http://s3.local.test/{}", "k".repeat(MAX_URL_BYTES));
        d.learn(&redirected(3, &long));
        assert_eq!(d.forgotten, 1, "not remembered, counted");
        assert_eq!(
            d.list("10.0.0.1".parse().unwrap(), "Boto3/1.44.8")
                .map(VecDeque::len),
            Some(1)
        );
    }

    #[test]
    fn memory_is_bounded_per_client_and_in_clients() {
        let kept = |d: &Redirects| -> usize {
            d.by_client
                .values()
                .flat_map(HashMap::values)
                .map(VecDeque::len)
                .sum()
        };
        let mut d = Redirects::default();
        for id in 0..(PER_CLIENT as u64 + 3) {
            d.learn(&redirected(id, &format!("http://s3.local.test/b/{id}")));
        }
        assert_eq!(kept(&d), PER_CLIENT);
        assert_eq!(d.forgotten, 3);
        for n in 0..MAX_CLIENTS as u32 + 5 {
            let mut r = redirected(100, "http://s3.local.test/b/k");
            r.client = std::net::SocketAddr::from((u32::to_be_bytes(n + 1), 1000));
            d.learn(&r);
        }
        assert_eq!((d.clients, d.order.len()), (MAX_CLIENTS, MAX_CLIENTS));
        assert_eq!(
            kept(&d),
            MAX_CLIENTS,
            "one redirect each; the first client's are gone"
        );
        assert_eq!(d.forgotten, 3 + PER_CLIENT as u64 + 5);
        // The same IP with two User-Agents is two clients.
        let mut d = Redirects::default();
        let mut r = redirected(1, "http://s3.local.test/b/k");
        d.learn(&r);
        r.user_agent = None;
        d.learn(&r);
        assert_eq!((d.by_client.len(), d.clients), (1, 2));
    }
}

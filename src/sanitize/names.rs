//! Addresses and host names → stable placeholders (`--sanitize-addresses`), the same one every
//! time a value recurs in a file: IPv4 → `10.0.0.N`, IPv6 → `fd00::N`, names →
//! `hostN.example`, numbered in order of first appearance (the configured endpoints first, so
//! the first is always `host1.example`).
//!
//! Two kinds of name keep part of their text, because the analysis reads meaning from it:
//! - a name under a configured endpoint's host keeps its first labels (`bucket.s3.local.test` →
//!   `bucket.host1.example`): that is the bucket of a virtual-hosted request, which path-style
//!   requests show in their target anyway;
//! - AWS's own public names (`*.amazonaws.com`, `*.amazonaws.com.cn`) stay as they are: they are
//!   not internal, and they carry the region and AWS's HTTPS-by-default policy.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Public suffixes that are never replaced.
const PUBLIC_SUFFIXES: &[&str] = &["amazonaws.com", "amazonaws.com.cn"];

#[derive(Debug, Default)]
pub struct Names {
    ips: HashMap<IpAddr, IpAddr>,
    /// Lower-cased name → placeholder.
    hosts: HashMap<String, String>,
    /// Configured endpoint hosts (lower case), longest first, so the closest one is found first.
    bases: Vec<String>,
    v4: u32,
    v6: u32,
    names: u32,
}

impl Names {
    /// A mapping whose first placeholders go to these endpoint hosts (names or IP literals).
    pub fn new<'a>(endpoint_hosts: impl IntoIterator<Item = &'a str>) -> Names {
        let mut n = Names::default();
        for h in endpoint_hosts {
            n.host(h);
            let h = h.trim_matches(['[', ']']).to_ascii_lowercase();
            if h.parse::<IpAddr>().is_err() && !n.bases.contains(&h) {
                n.bases.push(h);
            }
        }
        n.bases.sort_by_key(|b| std::cmp::Reverse(b.len()));
        n
    }

    pub fn ip(&mut self, ip: IpAddr) -> IpAddr {
        if let Some(m) = self.ips.get(&ip) {
            return *m;
        }
        let m = match ip {
            IpAddr::V4(_) => {
                self.v4 += 1;
                let [_, b, c, d] = self.v4.to_be_bytes();
                IpAddr::V4(Ipv4Addr::new(10, b, c, d))
            }
            IpAddr::V6(_) => {
                self.v6 += 1;
                let n = self.v6.to_be_bytes();
                IpAddr::V6(Ipv6Addr::new(
                    0xfd00,
                    0,
                    0,
                    0,
                    0,
                    0,
                    u16::from_be_bytes([n[0], n[1]]),
                    u16::from_be_bytes([n[2], n[3]]),
                ))
            }
        };
        self.ips.insert(ip, m);
        m
    }

    pub fn addr(&mut self, a: SocketAddr) -> SocketAddr {
        SocketAddr::new(self.ip(a.ip()), a.port())
    }

    /// A bare host: a name, an IPv4 literal or an IPv6 literal (bracketed or not; the result
    /// keeps the brackets if the input had them).
    pub fn host(&mut self, host: &str) -> String {
        let bare = host.trim_matches(['[', ']']);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            let m = self.ip(ip);
            return if host.starts_with('[') {
                format!("[{m}]")
            } else {
                m.to_string()
            };
        }
        let key = host.to_ascii_lowercase();
        if key.is_empty() || is_public(&key) {
            return host.to_string();
        }
        if let Some(m) = self.hosts.get(&key) {
            return m.clone();
        }
        let m = match self.base_of(&key) {
            Some((prefix, base)) => format!("{prefix}.{}", self.host(&base)),
            None => {
                self.names += 1;
                format!("host{}.example", self.names)
            }
        };
        self.hosts.insert(key, m.clone());
        m
    }

    /// `host`, `host:port`, `[v6]:port`, with an optional `userinfo@` kept as it is.
    pub fn authority(&mut self, auth: &str) -> String {
        let (user, hostport) = match auth.rsplit_once('@') {
            Some((u, hp)) => (Some(u), hp),
            None => (None, auth),
        };
        let (host, port) = split_port(hostport);
        let mut out = String::with_capacity(auth.len() + 8);
        if let Some(u) = user {
            out.push_str(u);
            out.push('@');
        }
        out.push_str(&self.host(host));
        if let Some(p) = port {
            out.push(':');
            out.push_str(p);
        }
        out
    }

    /// A request target: absolute-form (`http://host/…`) and authority-form (CONNECT's
    /// `host:port`) have their authority mapped; origin-form names no host.
    pub fn target(&mut self, method: &str, target: &str) -> String {
        if method.eq_ignore_ascii_case("CONNECT") {
            return self.authority(target);
        }
        self.url(target).unwrap_or_else(|| target.to_string())
    }

    /// `scheme://authority/rest` with the authority mapped; None when `url` is not one.
    pub fn url(&mut self, url: &str) -> Option<String> {
        let (scheme, rest) = url.split_once("://")?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (auth, tail) = rest.split_at(end);
        Some(format!("{scheme}://{}{tail}", self.authority(auth)))
    }

    /// A header value that names hosts, with them mapped: `Host` and `X-Forwarded-Host`
    /// (an authority), `X-Forwarded-For` and `X-Real-IP` (addresses, comma-separated), and any
    /// value that is a URL (`Location`, `Referer`, `Origin`). None for any other header.
    pub fn header(&mut self, name: &str, value: &str) -> Option<String> {
        let is = |n: &str| n.eq_ignore_ascii_case(name);
        let v = value.trim();
        if is("host") || is("x-forwarded-host") {
            return Some(self.authority(v));
        }
        if is("x-forwarded-for") || is("x-real-ip") {
            let hosts: Vec<String> = v.split(',').map(|h| self.authority(h.trim())).collect();
            return Some(hosts.join(", "));
        }
        let lower = v.get(..8).unwrap_or(v).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return self.url(v);
        }
        None
    }

    /// The configured endpoint host `name` lies under, and the labels before it.
    fn base_of(&self, name: &str) -> Option<(String, String)> {
        self.bases.iter().find_map(|b| {
            let prefix = name.strip_suffix(b.as_str())?.strip_suffix('.')?;
            (!prefix.is_empty()).then(|| (prefix.to_string(), b.clone()))
        })
    }
}

fn is_public(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    PUBLIC_SUFFIXES
        .iter()
        .any(|s| name == *s || name.strip_suffix(s).is_some_and(|p| p.ends_with('.')))
}

/// `host:port` → (host, Some(port)); `[v6]:port` → (`[v6]`, Some(port)); a bare IPv6 literal
/// (several colons, no brackets) is all host.
fn split_port(hp: &str) -> (&str, Option<&str>) {
    if hp.starts_with('[') {
        return match hp.split_once("]:") {
            Some((h, p)) => (&hp[..h.len() + 1], Some(p)),
            None => (hp, None),
        };
    }
    match hp.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (hp, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_come_first_and_names_under_them_keep_their_bucket() {
        let mut n = Names::new(["s3.local.test", "minio.corp"]);
        assert_eq!(n.host("other.internal"), "host3.example");
        assert_eq!(n.host("S3.Local.Test"), "host1.example");
        assert_eq!(n.host("fx-bucket.s3.local.test"), "fx-bucket.host1.example");
        assert_eq!(n.authority("minio.corp:9000"), "host2.example:9000");
        assert_eq!(n.host("other.internal"), "host3.example", "stable");
    }

    #[test]
    fn aws_public_names_stay() {
        let mut n = Names::new([]);
        for h in [
            "s3.amazonaws.com",
            "b.s3.eu-west-1.amazonaws.com",
            "s3.cn-north-1.amazonaws.com.cn",
        ] {
            assert_eq!(n.host(h), h);
        }
        assert_eq!(n.host("notamazonaws.com"), "host1.example");
    }

    #[test]
    fn addresses_map_by_family_and_stay_stable() {
        let mut n = Names::new(["127.0.0.1"]);
        assert_eq!(n.authority("127.0.0.1:5000"), "10.0.0.1:5000");
        assert_eq!(
            n.addr("192.168.1.9:80".parse().unwrap()).to_string(),
            "10.0.0.2:80"
        );
        assert_eq!(n.authority("[::1]:8443"), "[fd00::1]:8443");
        assert_eq!(n.host("::1"), "fd00::1");
        assert_eq!(n.ip("127.0.0.1".parse().unwrap()).to_string(), "10.0.0.1");
    }

    #[test]
    fn targets_map_their_authority_only() {
        let mut n = Names::new(["s3.local.test"]);
        assert_eq!(
            n.target("GET", "http://s3.local.test:80/b/k?x=s3.local.test"),
            "http://host1.example:80/b/k?x=s3.local.test"
        );
        assert_eq!(
            n.target("CONNECT", "s3.local.test:443"),
            "host1.example:443"
        );
        assert_eq!(n.target("GET", "/b/k"), "/b/k");
        assert_eq!(
            n.url("https://u:p@s3.local.test"),
            Some("https://u:p@host1.example".into())
        );
    }

    #[test]
    fn headers_that_name_hosts_are_mapped_and_others_are_not() {
        let mut n = Names::new(["s3.local.test"]);
        let mut h = |name, value| n.header(name, value);
        assert_eq!(
            h("Host", "s3.local.test:9000").as_deref(),
            Some("host1.example:9000")
        );
        assert_eq!(
            h("X-Forwarded-For", "192.168.7.1, 10.9.9.9").as_deref(),
            Some("10.0.0.1, 10.0.0.2")
        );
        assert_eq!(
            h("Location", "HTTPS://s3.local.test/b/k").as_deref(),
            Some("HTTPS://host1.example/b/k")
        );
        assert_eq!(h("Content-Type", "s3.local.test"), None);
    }
}

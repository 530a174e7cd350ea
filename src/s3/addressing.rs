//! Where the bucket is: in the Host (virtual-hosted style) or in the first path segment (path
//! style). Decided from the Host alone, before any operation is chosen, because the same request
//! line means different operations in the two styles (`GET /x?tagging`).
//!
//! AWS host forms are those of the S3 endpoint rule set (botocore `endpoint-rule-set-1.json`) and
//! the S3 user guide ("Virtual hosting of buckets", "Access points", "Directory bucket
//! endpoints"); custom endpoints are recognised from configured or observed hosts ([`HostHints`]).

use super::bucket_host::bucket_in_name;
use std::borrow::Cow;

/// Endpoint hosts known to speak S3 (configured, or observed in the capture), e.g.
/// `minio.local:9000`. A Host equal to one is path-style; a strict subdomain of one is
/// virtual-hosted, its extra leading labels being the bucket.
///
/// An endpoint may carry its bucket (`https://my-bucket.s3.local:8443`, as object_store and
/// obstore configurations are written, or `my-bucket.s3.us-east-1.amazonaws.com`): such a host is
/// not a hint itself, its service host is (`s3.local:8443`), so its requests are virtual-hosted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostHints {
    hosts: Vec<HostName<'static>>,
}

impl HostHints {
    /// Hints from `host[:port]` strings; a scheme, user info or path around them is dropped.
    pub fn new(hosts: impl IntoIterator<Item = String>) -> Self {
        let mut hints = HostHints::default();
        for h in hosts {
            hints.add(&h);
        }
        hints
    }

    pub fn add(&mut self, host: &str) {
        let authority = strip_url(host);
        let Some(h) = HostName::parse(authority) else {
            return;
        };
        if let HostKind::Aws {
            prefix: Some(_), ..
        } = host_kind(&h, &HostHints::default())
        {
            // `bucket.s3.{region}.amazonaws.com` and the other AWS forms already say where the
            // bucket is; as a hint it would read every request path-style.
            return;
        }
        let h = match bucket_in_name(&h.name) {
            Some(len) => HostName {
                name: Cow::Owned(h.name.get(len + 1..).unwrap_or_default().to_string()),
                port: h.port,
            },
            None => h.into_owned(),
        };
        self.push(h);
    }

    fn push(&mut self, h: HostName<'_>) {
        if !self.hosts.contains(&h) {
            self.hosts.push(h.into_owned());
        }
    }

    /// A hinted host turned out to carry the bucket (its requests only make sense
    /// virtual-hosted): it stops being a hint and its service host (`service`) becomes one.
    pub(crate) fn carries_bucket(&mut self, host: &str, service: &str) {
        if let Some(h) = HostName::parse(host) {
            self.hosts.retain(|x| *x != h);
        }
        self.add(service);
    }

    /// The bucket labels when `host` is a strict subdomain of a hint (`None` inside when it is
    /// the hint itself); outer `None` when no hint matches.
    /// The deepest hint wins: with hints `example.test` and `s3.example.test`, the bucket of
    /// `b.s3.example.test` is `b`.
    ///
    /// Hints on the same port are tried first; then any port, because the name is what makes
    /// `bucket.host` virtual-hosted, and a client that reaches the endpoint on another port
    /// (`https://host:8443` configured, `http://bucket.host:5000` sent) is exactly what we hunt.
    fn matching<'h>(&self, host: &'h HostName<'_>) -> Option<Option<&'h str>> {
        self.matching_where(host, |h| h.port_matches(host.port))
            .or_else(|| self.matching_where(host, |_| true))
    }

    fn matching_where<'h>(
        &self,
        host: &'h HostName<'_>,
        port_ok: impl Fn(&HostName) -> bool,
    ) -> Option<Option<&'h str>> {
        let mut best: Option<(usize, &'h str)> = None;
        for hint in self.hosts.iter().filter(|h| port_ok(h)) {
            if hint.name == host.name {
                return Some(None);
            }
            if let Some(prefix) = strict_prefix(&host.name, &hint.name)
                && best.as_ref().is_none_or(|(len, _)| hint.name.len() > *len)
            {
                best = Some((hint.name.len(), prefix));
            }
        }
        best.map(|(_, prefix)| Some(prefix))
    }
}

/// How the request addresses its bucket (serialised as `path`, `virtual-hosted`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Addressing {
    /// `/{bucket}/{key}` on a service host (AWS or custom).
    Path,
    /// `{bucket}.{service host}/{key}`.
    VirtualHosted,
    /// `{name}-{account}.s3-accesspoint[-fips][.dualstack].{region}.amazonaws.com/{key}`;
    /// the bucket reported is the `{name}-{account}` label. Also S3 Object Lambda access points.
    AccessPoint,
    /// `{alias}.accesspoint.s3-global.amazonaws.com/{key}` (multi-region access point).
    MultiRegionAccessPoint,
    /// S3 Express One Zone: `{bucket}.s3express[-fips]-{az}.{region}.amazonaws.com/{key}`.
    ExpressZonal,
    /// S3 Express control plane, path style: `s3express-control.{region}.amazonaws.com/{bucket}`.
    ExpressControl,
    /// `{RequestRoute}.s3-object-lambda.{region}.amazonaws.com/WriteGetObjectResponse`.
    ObjectLambda,
    /// Not decided: no usable Host, or the request is not S3.
    Unresolved,
}

impl Addressing {
    /// The name reports use (the same as its JSON value).
    pub fn as_str(self) -> &'static str {
        match self {
            Addressing::Path => "path",
            Addressing::VirtualHosted => "virtual-hosted",
            Addressing::AccessPoint => "access-point",
            Addressing::MultiRegionAccessPoint => "multi-region-access-point",
            Addressing::ExpressZonal => "express-zonal",
            Addressing::ExpressControl => "express-control",
            Addressing::ObjectLambda => "object-lambda",
            Addressing::Unresolved => "unresolved",
        }
    }
}

/// A Host value, lower-cased, without a trailing dot; IPv6 literals keep their brackets.
/// Borrowed from the request unless lower-casing changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostName<'a> {
    pub name: Cow<'a, str>,
    pub port: Option<u16>,
}

impl<'a> HostName<'a> {
    /// Parses `host[:port]` (RFC 9110 §7.2); `None` when empty or the port is not a number.
    pub fn parse(s: &'a str) -> Option<HostName<'a>> {
        if let Some(plain) = HostName::plain(s) {
            return Some(plain);
        }
        HostName::general(s)
    }

    /// The usual Host ([`crate::authority::plain`]) with a port of one to five digits, in one
    /// pass; None for anything else, which [`HostName::general`] reads. A proptest holds the two
    /// to the same answer.
    fn plain(s: &'a str) -> Option<HostName<'a>> {
        let (name, port) = crate::authority::plain(s)?;
        let port = match port {
            None => None,
            Some(p) => Some(u16::try_from(crate::authority::digits(p)?).ok()?),
        };
        Some(HostName {
            name: Cow::Borrowed(name),
            port,
        })
    }

    fn general(s: &'a str) -> Option<HostName<'a>> {
        let s = s.trim();
        let (name, port) = if s.starts_with('[') {
            let end = s.find(']')?;
            let rest = s.get(end + 1..)?;
            let port = match rest.strip_prefix(':') {
                Some(p) => Some(p.parse().ok()?),
                None if rest.is_empty() => None,
                None => return None,
            };
            (s.get(..=end)?, port)
        } else {
            match s.rsplit_once(':') {
                Some((n, p)) => (n, Some(p.parse().ok()?)),
                None => (s, None),
            }
        };
        let name = name.trim_end_matches('.');
        if name.is_empty() {
            return None;
        }
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        Some(HostName { name, port })
    }

    fn into_owned(self) -> HostName<'static> {
        HostName {
            name: Cow::Owned(self.name.into_owned()),
            port: self.port,
        }
    }

    /// A hint without a port matches any port; with one, the same port (or no port for 80/443).
    fn port_matches(&self, other: Option<u16>) -> bool {
        match (self.port, other) {
            (None, _) => true,
            (Some(p), Some(q)) => p == q,
            (Some(p), None) => p == 80 || p == 443,
        }
    }
}

/// `https://user@host:port/path` → `host:port`.
fn strip_url(s: &str) -> &str {
    let s = s.trim();
    let s = s.split_once("://").map_or(s, |(_, rest)| rest);
    let s = s.split(['/', '?', '#']).next().unwrap_or(s);
    s.rsplit_once('@').map_or(s, |(_, h)| h)
}

/// `a.b.example.com` minus `.example.com` → `a.b`; `None` unless a strict subdomain.
fn strict_prefix<'a>(host: &'a str, parent: &str) -> Option<&'a str> {
    let prefix = host.strip_suffix(parent)?.strip_suffix('.')?;
    (!prefix.is_empty()).then_some(prefix)
}

/// What the Host says about the request (prefixes borrowed from the host name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostKind<'a> {
    /// An AWS S3 host; `prefix` holds the labels left of the endpoint part (bucket, access point
    /// alias or request route).
    Aws {
        form: AwsForm,
        prefix: Option<&'a str>,
    },
    /// An AWS domain, but not one of S3's endpoints (`sts.amazonaws.com`).
    AwsOther,
    /// A configured or observed S3 endpoint, or a subdomain of one.
    Hinted { prefix: Option<&'a str> },
    /// `{bucket}.localhost`: local emulators (LocalStack, MinIO) resolve these to loopback.
    Localhost { prefix: &'a str },
    /// Anything else: path style, and S3 only if the request itself says so.
    Other,
}

/// The endpoint part of an AWS S3 host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AwsForm {
    /// `s3`, `s3.{region}`, `s3-{region}`, `s3.dualstack.{region}`, `s3-fips[.dualstack].{region}`,
    /// `s3-accelerate[.dualstack]`.
    Service,
    AccessPoint,
    MultiRegionAccessPoint,
    ExpressZonal,
    ExpressControl,
    ObjectLambda,
    /// `s3-website[-.]{region}`: static website hosting, not the REST API.
    Website,
}

/// Partition DNS suffixes (botocore `endpoints.json` / `partitions.json`).
const AWS_SUFFIXES: &[&str] = &[
    ".amazonaws.com.cn",
    ".amazonaws.com",
    ".c2s.ic.gov",
    ".sc2s.sgov.gov",
    ".cloud.adc-e.uk",
    ".csp.hci.ic.gov",
    ".amazonaws.eu",
];

pub(crate) fn host_kind<'a>(host: &'a HostName<'_>, hints: &HostHints) -> HostKind<'a> {
    if let Some(prefix) = hints.matching(host) {
        return HostKind::Hinted { prefix };
    }
    if let Some(prefix) = host
        .name
        .strip_suffix(".localhost")
        .filter(|p| !p.is_empty())
    {
        return HostKind::Localhost { prefix };
    }
    let Some(rest) = AWS_SUFFIXES.iter().find_map(|s| host.name.strip_suffix(s)) else {
        return HostKind::Other;
    };
    let labels: Vec<&str> = rest.split('.').collect();
    // Longest endpoint part first, so a bucket named like an endpoint label stays a bucket.
    for k in (1..=5).rev() {
        let Some(split) = labels.len().checked_sub(k) else {
            continue;
        };
        let (prefix, endpoint) = labels.split_at(split);
        if let Some(form) = aws_form(endpoint) {
            // The prefix labels are the start of the name, joined by the dots between them.
            let len = prefix.iter().map(|l| l.len() + 1).sum::<usize>();
            let prefix = (!prefix.is_empty())
                .then(|| rest.get(..len.saturating_sub(1)))
                .flatten();
            return HostKind::Aws { form, prefix };
        }
    }
    HostKind::AwsOther
}

fn aws_form(labels: &[&str]) -> Option<AwsForm> {
    use AwsForm::*;
    let form = match labels {
        ["s3-website", r] if is_region(r) => Website,
        [l] if l.strip_prefix("s3-website-").is_some_and(is_region) => Website,
        ["s3"] | ["s3-accelerate"] | ["s3-accelerate", "dualstack"] => Service,
        ["s3" | "s3-fips", r] | ["s3" | "s3-fips", "dualstack", r] if is_region(r) => Service,
        [l] if l.strip_prefix("s3-").is_some_and(is_region) || *l == "s3-external-1" => Service,
        ["s3-accesspoint" | "s3-accesspoint-fips", r]
        | ["s3-accesspoint" | "s3-accesspoint-fips", "dualstack", r]
            if is_region(r) =>
        {
            AccessPoint
        }
        ["accesspoint", "s3-global"] => MultiRegionAccessPoint,
        // Outposts access points: `{name}-{account}.{outpost id}.s3-outposts.{region}`.
        [o, "s3-outposts", r] if o.starts_with("op-") && is_region(r) => AccessPoint,
        // PrivateLink interface endpoints (`[bucket.]vpce-….s3.{region}.vpce.amazonaws.com`):
        // the literal `bucket.` label belongs to the endpoint, a bucket may precede it.
        ["bucket", v, "s3", r, "vpce"] | [v, "s3", r, "vpce"]
            if v.starts_with("vpce-") && is_region(r) =>
        {
            Service
        }
        ["s3express-control" | "s3express-control-fips", r] if is_region(r) => ExpressControl,
        [z, r] if is_region(r) && express_zone(z) => ExpressZonal,
        ["s3-object-lambda" | "s3-object-lambda-fips", r] if is_region(r) => ObjectLambda,
        _ => return None,
    };
    Some(form)
}

/// `s3express-usw2-az1`, `s3express-fips-use1-az4` (zone ids: `usw2-az1`, `usw2-lax1-az1`).
fn express_zone(label: &str) -> bool {
    let zone = label
        .strip_prefix("s3express-fips-")
        .or_else(|| label.strip_prefix("s3express-"));
    zone.is_some_and(|z| z != "control" && !z.starts_with("control-") && z.contains("-az"))
}

/// AWS region names: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`.
fn is_region(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| p.len() >= 2 && p.bytes().all(|b| b.is_ascii_lowercase()));
    let rest: Vec<&str> = parts.collect();
    let Some((last, middle)) = rest.split_last() else {
        return false;
    };
    first_ok
        && !middle.is_empty()
        && middle
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// The bucket, and the raw (still percent-encoded) key, as the addressing style splits the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split<'a> {
    pub addressing: Addressing,
    pub bucket: Option<&'a str>,
    pub raw_key: Option<&'a str>,
}

/// Splits `path` (origin-form, starts with `/`) for the given addressing style.
pub(crate) fn split<'a>(
    addressing: Addressing,
    host_bucket: Option<&'a str>,
    path: &'a str,
) -> Split<'a> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let slash = || memchr::memchr(b'/', rest.as_bytes());
    split_rest(addressing, host_bucket, rest, slash)
}

/// [`split`], told where the path's second `/` is (`slash`, as the scan of the whole target
/// found it): the search [`split`] makes is not made again. A path that does not start with
/// `/` is split the general way.
#[inline(always)] // see `usual_request` in mod.rs
pub(crate) fn split_marked<'a>(
    addressing: Addressing,
    host_bucket: Option<&'a str>,
    path: &'a str,
    slash: Option<usize>,
) -> Split<'a> {
    match path.strip_prefix('/') {
        // The slash's place in `rest`, one byte after the leading `/`.
        Some(rest) => split_rest(addressing, host_bucket, rest, || slash?.checked_sub(1)),
        None => split(addressing, host_bucket, path),
    }
}

/// The path without its leading `/` (`rest`) split: the bucket up to its first `/` (at
/// `slash()`, asked only in path style) and the key after it.
#[inline(always)]
fn split_rest<'a>(
    addressing: Addressing,
    host_bucket: Option<&'a str>,
    rest: &'a str,
    slash: impl FnOnce() -> Option<usize>,
) -> Split<'a> {
    let non_empty = |s: &'a str| (!s.is_empty()).then_some(s);
    match host_bucket {
        Some(b) => Split {
            addressing,
            bucket: Some(b),
            raw_key: non_empty(rest),
        },
        None => {
            let at_slash = |at: usize| Some((rest.get(..at)?, rest.get(at + 1..)?));
            let (bucket, key) = slash().and_then(at_slash).unwrap_or((rest, ""));
            Split {
                addressing,
                bucket: non_empty(bucket),
                raw_key: non_empty(key),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host name that lives as long as the test, so the kind can borrow from it.
    fn host(h: &str) -> &'static HostName<'static> {
        Box::leak(Box::new(HostName::parse(h).unwrap().into_owned()))
    }

    fn kind(h: &str) -> HostKind<'static> {
        host_kind(host(h), &HostHints::default())
    }

    fn aws(form: AwsForm, prefix: Option<&str>) -> HostKind<'_> {
        HostKind::Aws { form, prefix }
    }

    #[test]
    fn aws_service_hosts_in_every_form() {
        use AwsForm::Service;
        assert_eq!(kind("s3.amazonaws.com"), aws(Service, None));
        assert_eq!(kind("b.s3.amazonaws.com"), aws(Service, Some("b")));
        assert_eq!(
            kind("b.s3.us-west-2.amazonaws.com"),
            aws(Service, Some("b"))
        );
        assert_eq!(
            kind("b.s3-us-west-2.amazonaws.com"),
            aws(Service, Some("b"))
        );
        assert_eq!(
            kind("b.s3-external-1.amazonaws.com"),
            aws(Service, Some("b"))
        );
        assert_eq!(
            kind("b.s3.dualstack.eu-west-1.amazonaws.com"),
            aws(Service, Some("b"))
        );
        assert_eq!(
            kind("b.s3-fips.us-gov-west-1.amazonaws.com"),
            aws(Service, Some("b"))
        );
        assert_eq!(
            kind("b.s3-fips.dualstack.us-east-1.amazonaws.com"),
            aws(Service, Some("b"))
        );
        assert_eq!(
            kind("b.s3-accelerate.amazonaws.com"),
            aws(Service, Some("b"))
        );
        assert_eq!(
            kind("b.s3-accelerate.dualstack.amazonaws.com"),
            aws(Service, Some("b"))
        );
        assert_eq!(
            kind("my.b.s3.cn-north-1.amazonaws.com.cn"),
            aws(Service, Some("my.b"))
        );
        assert_eq!(kind("S3.AMAZONAWS.COM."), aws(Service, None));
        // A bucket named like an endpoint label stays a bucket.
        assert_eq!(kind("s3.s3.amazonaws.com"), aws(Service, Some("s3")));
    }

    #[test]
    fn aws_special_hosts() {
        use AwsForm::*;
        let ap = "name-123456789012.s3-accesspoint.us-west-2.amazonaws.com";
        assert_eq!(kind(ap), aws(AccessPoint, Some("name-123456789012")));
        let ap = "n-123456789012.s3-accesspoint-fips.dualstack.us-east-1.amazonaws.com";
        assert_eq!(kind(ap), aws(AccessPoint, Some("n-123456789012")));
        let mrap = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com";
        assert_eq!(
            kind(mrap),
            aws(MultiRegionAccessPoint, Some("mfzwi23gnjvgw.mrap"))
        );
        let zonal = "b--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com";
        assert_eq!(kind(zonal), aws(ExpressZonal, Some("b--usw2-az1--x-s3")));
        assert_eq!(
            kind("s3express-control.us-west-2.amazonaws.com"),
            aws(ExpressControl, None)
        );
        let olambda = "route-1.s3-object-lambda.us-east-1.amazonaws.com";
        assert_eq!(kind(olambda), aws(ObjectLambda, Some("route-1")));
        assert_eq!(
            kind("b.s3-website-us-east-1.amazonaws.com"),
            aws(Website, Some("b"))
        );
        let op = "ap-123456789012.op-01ac5d28a6a232904.s3-outposts.us-west-2.amazonaws.com";
        assert_eq!(kind(op), aws(AccessPoint, Some("ap-123456789012")));
        let vpce = "bucket.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com";
        assert_eq!(kind(vpce), aws(Service, None));
        let vpce = "my-b.bucket.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com";
        assert_eq!(kind(vpce), aws(Service, Some("my-b")));
        // S3 Control (account-level API) is not the S3 API.
        let control = "123456789012.s3-control.us-east-1.amazonaws.com";
        assert_eq!(kind(control), HostKind::AwsOther);
        assert_eq!(kind("sts.amazonaws.com"), HostKind::AwsOther);
        assert_eq!(kind("dynamodb.us-east-1.amazonaws.com"), HostKind::AwsOther);
    }

    #[test]
    fn custom_endpoints_from_hints_and_localhost() {
        let hints = HostHints::new([
            "http://localhost:4566/".to_string(),
            "s3.example.test".into(),
        ]);
        let k = |h: &str| host_kind(host(h), &hints);
        assert_eq!(k("localhost:4566"), HostKind::Hinted { prefix: None });
        assert_eq!(
            k("b.localhost:4566"),
            HostKind::Hinted { prefix: Some("b") }
        );
        // Another port of a hinted name is still that service (the port is what a
        // misconfigured client changes); the bucket is the same either way.
        assert_eq!(
            k("b.localhost:9000"),
            HostKind::Hinted { prefix: Some("b") }
        );
        assert_eq!(
            k("a.b.s3.example.test:8080"),
            HostKind::Hinted {
                prefix: Some("a.b")
            }
        );
        assert_eq!(k("xs3.example.test"), HostKind::Other);
        assert_eq!(k("localhost:9000"), HostKind::Hinted { prefix: None });
        let deep = HostHints::new(["example.test".to_string(), "s3.example.test".to_string()]);
        let kind = host_kind(host("b.s3.example.test"), &deep);
        assert_eq!(kind, HostKind::Hinted { prefix: Some("b") });
        assert_eq!(k("127.0.0.1:9000"), HostKind::Other);
    }

    #[test]
    fn host_parsing_edge_cases() {
        assert_eq!(
            HostName::parse("[::1]:9000").unwrap(),
            HostName {
                name: "[::1]".into(),
                port: Some(9000)
            }
        );
        assert_eq!(HostName::parse("[::1]").unwrap().port, None);
        assert_eq!(HostName::parse("h:notaport"), None);
        assert_eq!(HostName::parse("h:99999"), None);
        assert_eq!(HostName::parse(""), None);
        assert_eq!(HostName::parse("[::1"), None);
        assert!(is_region("us-gov-west-1") && is_region("ap-southeast-5"));
        assert!(!is_region("dualstack") && !is_region("us-1") && !is_region("s3"));
    }

    proptest::proptest! {
        /// The one-pass reading of a plain Host gives what the general one gives: names from
        /// the plain set and beyond it, ports in and out of range.
        #[test]
        fn a_plain_host_reads_as_the_general_way(
            s in "[a-z0-9._-]{0,12}(:[0-9]{0,6})?|[a-zA-Z0-9._ +\\[\\]:-]{0,16}"
        ) {
            if let Some(plain) = HostName::plain(&s) {
                proptest::prop_assert_eq!(Some(plain), HostName::general(&s));
            }
        }
    }

    /// The usual Hosts take the one-pass way (port 0 included: the general way reads it too);
    /// anything else is left to the general way, whatever it makes of it.
    #[test]
    fn plain_hosts_take_the_fast_way() {
        for h in [
            "h",
            "127.0.0.1:18080",
            "s3.local.test:9000",
            "b.s3:08080",
            "x:0",
            "x:65535",
        ] {
            assert_eq!(HostName::plain(h), HostName::general(h), "{h}");
            assert!(HostName::plain(h).is_some(), "{h}");
        }
        for h in [
            "H", "h.", "h:", ":80", "h:65536", "h:+80", "[::1]:80", " h", "h:1:2", "h:000080",
        ] {
            assert_eq!(HostName::plain(h), None, "{h}");
        }
    }

    #[test]
    fn split_path_and_virtual() {
        let s = split(Addressing::Path, None, "/b/dir/k%20x");
        assert_eq!((s.bucket, s.raw_key), (Some("b"), Some("dir/k%20x")));
        let s = split(Addressing::Path, None, "/b/");
        assert_eq!((s.bucket, s.raw_key), (Some("b"), None));
        let s = split(Addressing::Path, None, "/");
        assert_eq!((s.bucket, s.raw_key), (None, None));
        let s = split(Addressing::VirtualHosted, Some("b"), "//lead");
        assert_eq!((s.bucket, s.raw_key), (Some("b"), Some("/lead")));
    }
}

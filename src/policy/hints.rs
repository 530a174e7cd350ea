//! One-line hints towards the cause of a finding, from what the wire shows (User-Agent, status,
//! response text, the same client's other connections, a redirect it followed).

pub use super::clients::client_hint;
use super::redirects::Redirect;

/// botocore releases that turn an https `endpoint_url` into http when `use_ssl` is False or None
/// (boto/boto3#4252, boto/botocore#3542; fixed in 1.40.15).
const DOWNGRADE_FIRST: (u32, u32, u32) = (1, 28, 0);
const DOWNGRADE_LAST: (u32, u32, u32) = (1, 40, 14);

/// What servers say when plain HTTP reaches their TLS port (nginx, Apache httpd, Go net/http).
pub const PLAIN_HTTP_TO_TLS_TEXTS: &[&str] = &[
    "The plain HTTP request was sent to HTTPS port",
    "speaking plain HTTP to an SSL-enabled server port",
    "Client sent an HTTP request to an HTTPS server",
];

#[cfg(test)]
#[test]
fn every_rejection_text_names_http() {
    assert!(PLAIN_HTTP_TO_TLS_TEXTS.iter().all(|t| t.contains("HTTP")));
}

/// The botocore version a User-Agent names: `Botocore/1.40.14`, `botocore/1.31.0` (AWS CLI v1)
/// or `md/Botocore#1.40.14` (boto3), anywhere in the string.
pub fn botocore_version(ua: &str) -> Option<(u32, u32, u32)> {
    let lower = ua.to_ascii_lowercase();
    ["botocore/", "botocore#"].iter().find_map(|needle| {
        let at = lower.find(needle)?;
        parse_version(lower.get(at + needle.len()..)?)
    })
}

/// `1.40.14` at the start of `s` (stops at the first character that is not a digit or dot).
fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let mut parts = s.get(..end)?.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// The downgrade hint, when the User-Agent names an affected botocore.
pub fn downgrade_hint(ua: Option<&str>) -> Option<String> {
    let v = botocore_version(ua?)?;
    if !(DOWNGRADE_FIRST..=DOWNGRADE_LAST).contains(&v) {
        return None;
    }
    Some(format!(
        "botocore {}.{}.{} rewrites an https endpoint_url to http when use_ssl is False/None \
         (boto/botocore#3542, fixed in 1.40.15): upgrade botocore or drop use_ssl",
        v.0, v.1, v.2
    ))
}

/// The redirect hint: evidence that the server, not the client's settings, sent it to http.
pub fn redirect_hint(d: &Redirect) -> String {
    format!(
        "followed a redirect from {} (request #{}, {}) to {}: the server sent the client to \
         plaintext; fix the redirect, not the client",
        d.from, d.request, d.status, d.to
    )
}

pub fn mixed_schemes_hint(host: &str) -> String {
    format!(
        "this client reached {host} over HTTPS too: two differently configured clients or a \
         per-operation endpoint override"
    )
}

pub const SECURE_TRANSPORT_HINT: &str =
    "a 403 here may be an aws:SecureTransport bucket policy refusing plaintext";

pub const DEFAULT_HINT: &str =
    "the client was configured with http:// or an SDK override for this operation";

/// The status that comes with a server's "plain HTTP to a TLS port" text: nginx, Apache and Go
/// all say it with a 400; under any other status the words are an object's content.
pub const PLAIN_HTTP_REJECTION_STATUS: u16 = 400;

/// The server text that proves plain HTTP reached a TLS port, if the body has one.
pub fn plain_http_rejection(body: Option<&str>) -> Option<&'static str> {
    // Every text names HTTP: one fast search rules out nearly every body (it runs for every
    // plaintext response).
    let body = body.filter(|b| memchr::memmem::find(b.as_bytes(), b"HTTP").is_some())?;
    PLAIN_HTTP_TO_TLS_TEXTS
        .iter()
        .copied()
        .find(|t| body.contains(t))
}

/// What a plaintext request carried, for the credentials hint.
pub fn credentials_hint(sigv4: bool, token: bool, presigned: bool) -> &'static str {
    // Spelled out for each case rather than formatted: one is made per plaintext request.
    macro_rules! hint {
        ($what:literal) => {
            concat!(
                $what,
                " crossed the network in cleartext: anyone on the path could read and replay the request"
            )
        };
        ($what:literal, token) => {
            concat!(
                hint!($what),
                " and reuse the token until it expires (revoke the session)"
            )
        };
    }
    match (sigv4, token, presigned) {
        (false, false, false) => hint!(""),
        (true, false, false) => hint!("a request signature"),
        (false, true, false) => hint!("a session token", token),
        (false, false, true) => hint!("presigned-URL credentials"),
        (true, true, false) => hint!("a request signature and a session token", token),
        (true, false, true) => hint!("a request signature and presigned-URL credentials"),
        (false, true, true) => hint!("a session token and presigned-URL credentials", token),
        (true, true, true) => hint!(
            "a request signature and a session token and presigned-URL credentials",
            token
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_hints_name_what_crossed() {
        assert_eq!(
            credentials_hint(true, false, false),
            "a request signature crossed the network in cleartext: anyone on the path could \
             read and replay the request"
        );
        assert_eq!(
            credentials_hint(true, true, true),
            "a request signature and a session token and presigned-URL credentials crossed the \
             network in cleartext: anyone on the path could read and replay the request and reuse \
             the token until it expires (revoke the session)"
        );
        assert_eq!(
            credentials_hint(false, true, true),
            "a session token and presigned-URL credentials crossed the network in cleartext: \
             anyone on the path could read and replay the request and reuse the token until it \
             expires (revoke the session)"
        );
    }

    #[test]
    fn botocore_versions_from_real_user_agents() {
        let boto3 = "Boto3/1.40.14 md/Botocore#1.40.14 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython m/Z,b cfg/retry-mode#legacy Botocore/1.40.14";
        assert_eq!(botocore_version(boto3), Some((1, 40, 14)));
        let cli_v1 = "aws-cli/1.32.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.2 md/pyimpl#CPython cfg/retry-mode#legacy botocore/1.34.0";
        assert_eq!(botocore_version(cli_v1), Some((1, 34, 0)));
        assert_eq!(
            botocore_version("Botocore/1.27.59 Python/3.9"),
            Some((1, 27, 59))
        );
        assert_eq!(botocore_version("aws-sdk-go-v2/1.30.0"), None);
        assert_eq!(botocore_version("botocore/1.x"), None);
        assert_eq!(botocore_version("botocore/"), None);
        assert_eq!(botocore_version("botocore/99999999999.1.1"), None);
    }

    #[test]
    fn downgrade_range_is_1_28_0_to_1_40_14() {
        let h = |v: &str| downgrade_hint(Some(&format!("Botocore/{v}")));
        assert!(h("1.27.99").is_none());
        assert!(h("1.28.0").is_some());
        assert!(h("1.34.162").is_some());
        assert_eq!(
            h("1.40.14").unwrap(),
            "botocore 1.40.14 rewrites an https endpoint_url to http when use_ssl is False/None (boto/botocore#3542, fixed in 1.40.15): upgrade botocore or drop use_ssl"
        );
        assert!(h("1.40.15").is_none());
        assert!(downgrade_hint(None).is_none());
    }

    #[test]
    fn server_texts_for_plain_http_on_tls_ports() {
        let nginx = "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>";
        assert_eq!(
            plain_http_rejection(Some(nginx)),
            Some(PLAIN_HTTP_TO_TLS_TEXTS[0])
        );
        assert_eq!(
            plain_http_rejection(Some("Client sent an HTTP request to an HTTPS server.\n")),
            Some(PLAIN_HTTP_TO_TLS_TEXTS[2])
        );
        assert_eq!(
            plain_http_rejection(Some("<Error><Code>AccessDenied</Code></Error>")),
            None
        );
    }

    #[test]
    fn credentials_hint_lists_what_was_carried() {
        assert_eq!(
            credentials_hint(true, true, false),
            "a request signature and a session token crossed the network in cleartext: anyone on the path could read and replay the request and reuse the token until it expires (revoke the session)"
        );
        assert!(
            credentials_hint(false, false, true).starts_with("presigned-URL credentials crossed")
        );
    }

    #[test]
    fn redirect_hint_names_both_ends_and_the_request() {
        let mut d = crate::policy::redirects::Redirects::default();
        let mut r = crate::facts::Request::sample(
            3,
            crate::time::Timestamp(0),
            "10.0.0.1:1",
            "10.0.0.9:443",
        );
        r.scheme = crate::policy::Scheme::Https;
        r.host = Some("s3.local.test".into());
        r.target = "/b/k".into();
        r.status = Some(301);
        r.location = Some("http://s3.local.test/b/k".into());
        d.learn(&r);
        let mut f = crate::facts::Request::sample(
            4,
            crate::time::Timestamp(1),
            "10.0.0.1:2",
            "10.0.0.9:80",
        );
        f.host = Some("s3.local.test".into());
        f.target = "/b/k".into();
        assert_eq!(
            redirect_hint(d.followed_by(&f).unwrap()),
            "followed a redirect from https://s3.local.test/b/k (request #3, 301) to http://s3.local.test/b/k: the server sent the client to plaintext; fix the redirect, not the client"
        );
    }
}

use super::*;

fn ep(url: &str, origin: Origin) -> Endpoint {
    Endpoint::parse(url, origin, "test").expect(url)
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect(s)
}

#[test]
fn parses_the_usual_forms() {
    let e = ep("https://S3.Local.Test", Origin::Flag);
    assert_eq!(
        (e.scheme, e.host.as_str(), e.port),
        (Scheme::Https, "s3.local.test", Some(443))
    );
    assert_eq!(e.url(), "https://s3.local.test:443");

    let e = ep("https://s3.local.test:8443/", Origin::Flag);
    assert_eq!(e.port, Some(8443));
    assert_eq!(e.url(), "https://s3.local.test:8443");

    let e = ep("http://[::1]:9000", Origin::Env);
    assert_eq!(
        (e.scheme, e.host.as_str(), e.port),
        (Scheme::Http, "::1", Some(9000))
    );
    assert_eq!(e.url(), "http://[::1]:9000");
    assert_eq!(e.ip(), Some("::1".parse().unwrap()));

    let e = ep("HTTP://user:pw@minio.test.:/prefix?x=1", Origin::Flag);
    assert_eq!(
        (e.scheme, e.host.as_str(), e.port),
        (Scheme::Http, "minio.test", Some(80))
    );
}

#[test]
fn rejects_what_is_not_an_endpoint_url() {
    let err = Endpoint::parse("s3.local.test", Origin::Flag, "x").unwrap_err();
    assert_eq!(err, EndpointError::NoScheme("s3.local.test".into()));
    assert!(err.to_string().contains("write https://s3.local.test"));
    assert!(matches!(
        Endpoint::parse("ftp://h", Origin::Flag, "x"),
        Err(EndpointError::BadScheme { .. })
    ));
    assert!(matches!(
        Endpoint::parse("https://", Origin::Flag, "x"),
        Err(EndpointError::NoHost(_))
    ));
    assert!(matches!(
        Endpoint::parse("https://h:99999", Origin::Flag, "x"),
        Err(EndpointError::BadPort { .. })
    ));
    assert!(matches!(
        Endpoint::parse("https://h:0", Origin::Flag, "x"),
        Err(EndpointError::BadPort { .. })
    ));
    assert!(matches!(
        Endpoint::parse("https://[::1:9000", Origin::Flag, "x"),
        Err(EndpointError::BadIpv6(_))
    ));
}

#[test]
fn origins_serialise_kebab_case() {
    let all = [
        Origin::Flag,
        Origin::Env,
        Origin::AwsConfig,
        Origin::AwsDefault,
        Origin::Inferred,
    ];
    let json = serde_json::to_string(&all).unwrap();
    assert_eq!(
        json,
        r#"["flag","env","aws-config","aws-default","inferred"]"#
    );
    for o in all {
        assert_eq!(json.matches(o.as_str()).count(), 1);
    }
}

#[test]
fn host_matches_ignore_port_and_case_and_include_virtual_hosted_buckets() {
    let p = Policy::new(vec![ep("https://s3.local.test:8443", Origin::Flag)]);
    let ip = sa("127.0.0.1:80");
    for host in [
        "s3.local.test",
        "S3.LOCAL.TEST:80",
        "bucket.s3.local.test",
        "s3.local.test.:8080",
    ] {
        let e = p.https_for_host(Some(host), ip).expect(host);
        assert_eq!(e.url(), "https://s3.local.test:8443", "{host}");
    }
    for host in ["xs3.local.test", "local.test", "s3.local.test.evil"] {
        assert!(p.https_for_host(Some(host), ip).is_none(), "{host}");
    }
    assert!(p.https_for_host(None, ip).is_none());
}

#[test]
fn ip_literal_endpoints_match_by_server_address() {
    let p = Policy::new(vec![
        ep("https://127.0.0.1:8443", Origin::Env),
        ep("https://[::1]:8443", Origin::Flag),
    ]);
    let e = p.https_for_host(None, sa("127.0.0.1:80")).unwrap();
    assert_eq!(e.origin, Origin::Env);
    let e = p
        .https_for_host(Some("[::1]:9000"), sa("[::1]:9000"))
        .unwrap();
    assert_eq!(e.url(), "https://[::1]:8443");
    assert!(
        p.https_for_host(Some("localhost"), sa("127.0.0.2:80"))
            .is_none()
    );
}

#[test]
fn aws_hosts_are_https_by_default_unless_configured_http() {
    let p = Policy::new(vec![]);
    let e = p
        .https_for_host(Some("bucket.s3.us-west-2.amazonaws.com"), sa("52.1.2.3:80"))
        .unwrap();
    assert_eq!(e.origin, Origin::AwsDefault);
    assert_eq!(e.url(), "https://bucket.s3.us-west-2.amazonaws.com:443");

    let p = Policy::new(vec![ep("http://s3.us-west-2.amazonaws.com", Origin::Flag)]);
    assert!(
        p.https_for_host(Some("bucket.s3.us-west-2.amazonaws.com"), sa("52.1.2.3:80"))
            .is_none()
    );
    // The http:// endpoint is for port 80 only: plaintext to another port is still a finding.
    assert!(
        p.https_for_host(Some("s3.us-west-2.amazonaws.com:8080"), sa("52.1.2.3:8080"))
            .is_some()
    );

    let mut p = Policy::new(vec![]);
    p.aws_defaults = false;
    assert!(
        p.https_for_host(Some("s3.amazonaws.com"), sa("52.1.2.3:80"))
            .is_none()
    );
}

#[test]
fn https_wins_over_configured_http_for_the_same_host() {
    // The fixtures' `mixed` and `tls-port` runs: one client https://h:8443, another http://h:5000
    // or even http://h:8443 — the plaintext one is the finding.
    let p = Policy::new(vec![
        ep("https://s3.local.test:8443", Origin::Flag),
        ep("http://s3.local.test:5000", Origin::Flag),
        ep("http://s3.local.test:8443", Origin::Flag),
    ]);
    for (host, server) in [
        ("s3.local.test:5000", "127.0.0.1:5000"),
        ("s3.local.test:8443", "127.0.0.1:8443"),
    ] {
        let e = p.https_for_host(Some(host), sa(server)).expect(host);
        assert_eq!(e.url(), "https://s3.local.test:8443");
    }
    let p = Policy::new(vec![
        ep("http://minio.test:9000", Origin::Flag),
        ep("https://minio.test", Origin::Inferred),
    ]);
    assert_eq!(
        p.https_for_host(Some("minio.test:9000"), sa("10.0.0.1:9000"))
            .unwrap()
            .origin,
        Origin::Inferred
    );
}

#[test]
fn most_specific_then_most_authoritative_wins() {
    let p = Policy::new(vec![
        ep("https://local.test", Origin::Flag),
        ep("https://s3.local.test:8443", Origin::Inferred),
        ep("https://s3.local.test:9443", Origin::AwsConfig),
    ]);
    let e = p
        .https_for_host(Some("s3.local.test"), sa("127.0.0.1:80"))
        .unwrap();
    assert_eq!(e.url(), "https://s3.local.test:9443");
    let e = p
        .https_for_host(Some("other.local.test"), sa("127.0.0.1:80"))
        .unwrap();
    assert_eq!(e.origin, Origin::Flag);
}

#[test]
fn extend_skips_duplicates_and_listing_adds_aws_patterns() {
    let mut p = Policy::new(vec![ep("https://s3.local.test:8443", Origin::Flag)]);
    p.extend([
        ep("https://s3.local.test:8443", Origin::Inferred),
        ep("https://b.test", Origin::Inferred),
    ]);
    assert_eq!(p.endpoints().count(), 2);
    assert_eq!(p.endpoints().next().unwrap().origin, Origin::Flag);
    let urls: Vec<String> = p.listing().iter().map(Endpoint::url).collect();
    assert_eq!(
        urls,
        [
            "https://s3.local.test:8443",
            "https://b.test:443",
            "https://*.amazonaws.com",
            "https://*.amazonaws.com.cn"
        ]
    );
}

#[test]
fn host_header_parsing_is_total() {
    assert_eq!(parse_host_header("H:8080"), ("h".into(), Some(8080)));
    assert_eq!(parse_host_header("[::1]"), ("::1".into(), None));
    assert_eq!(parse_host_header("h:notaport"), ("h:notaport".into(), None));
    assert_eq!(parse_host_header("[::1"), ("[::1".into(), None));
    assert_eq!(parse_host_header(""), ("".into(), None));
}

/// What [`Policy::https_for_name`] answered when every endpoint was in one list, scanned.
fn https_by_scan(p: &Policy, host: Option<&str>, server: SocketAddr) -> Option<Endpoint> {
    p.endpoints()
        .filter(|e| e.scheme == Scheme::Https)
        .filter_map(|e| Some((e.host_match(host, server.ip())?, e)))
        .max_by(|(sa, a), (sb, b)| sa.cmp(sb).then(b.origin.cmp(&a.origin)))
        .map(|(_, e)| e.clone())
        .or_else(|| {
            p.https_for_name(host, None, server)
                .filter(|e| e.origin == Origin::AwsDefault)
                .map(Cow::into_owned)
        })
}

/// A name or address from a few, so that endpoints and lookups meet: subdomains, parents,
/// IP literals, the server's own address.
fn some_host() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::strategy::Strategy;
    proptest::prop_oneof![
        proptest::sample::select(vec![
            "s3.test",
            "b.s3.test",
            "a.b.s3.test",
            "test",
            "x.test",
            "10.0.0.9",
            "10.0.0.1",
            "::1",
            "s3.amazonaws.com",
            "bkt.s3.amazonaws.com",
            "b..s3.test",
            ".s3.test",
        ])
        .prop_map(String::from),
        "[a-c]{1,2}(\\.[a-c]{1,2}){0,3}",
    ]
}

proptest::proptest! {
    /// The proven endpoints are indexed (by host, each parent domain, address): a lookup
    /// answers what one scan of every endpoint, given then proven, answered.
    #[test]
    fn indexed_lookups_answer_as_a_scan_of_every_endpoint(
        given in proptest::collection::vec((some_host(), proptest::bool::ANY, 0u8..3), 0..4),
        proven in proptest::collection::vec((some_host(), 0u8..3), 0..12),
        asks in proptest::collection::vec((proptest::option::of(some_host()), proptest::bool::ANY), 1..12),
    ) {
        let port = |i: u8| [443u16, 8443, 80][usize::from(i)];
        let origin = |i: u8| [Origin::Flag, Origin::Env, Origin::AwsConfig][usize::from(i)];
        let url = |host: &str, tls: bool, p: u16| {
            let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
            format!("{}://{host}:{p}", if tls { "https" } else { "http" })
        };
        let mut policy = Policy::new(
            given
                .iter()
                .enumerate()
                .filter_map(|(i, (h, tls, p))| {
                    Endpoint::parse(&url(h, *tls, port(*p)), origin(i as u8 % 3), "given").ok()
                })
                .collect(),
        );
        for (h, p) in &proven {
            if let Ok(e) = Endpoint::parse(&url(h, true, port(*p)), Origin::Inferred, "proven") {
                policy.prove(e);
            }
        }
        for (host, at_nine) in &asks {
            let server = if *at_nine { sa("10.0.0.9:80") } else { sa("10.0.0.1:80") };
            let host = host.as_deref();
            let indexed = policy.https_for_name(host, None, server).map(Cow::into_owned);
            proptest::prop_assert_eq!(indexed, https_by_scan(&policy, host, server), "host {:?}", host);
        }
    }

    #[test]
    fn parsing_and_lookup_are_total(s in "(?s).{0,40}", port in 0u16..) {
        let _ = Endpoint::parse(&s, Origin::Flag, "p");
        let _ = Endpoint::parse(&format!("https://{s}"), Origin::Flag, "p");
        let p = Policy::new(vec![ep("https://s3.local.test", Origin::Flag), ep("http://[::1]:9000", Origin::Flag)]);
        let server = SocketAddr::from(([127, 0, 0, 1], port));
        let _ = p.https_for_host(Some(&s), server);
        let _ = parse_host_header(&s);
    }

    #[test]
    fn plain_hosts_read_as_the_general_way_reads_them(
        s in "[a-zA-Z0-9._:+ \\[\\]-]{0,12}(:[0-9]{0,7})?",
    ) {
        if let Some(plain) = plain_host_port(&s) {
            proptest::prop_assert_eq!(plain, general_host_header(&s));
            // Again, now from what the first reading remembered.
            proptest::prop_assert_eq!(plain_host_port(&s), Some(general_host_header(&s)));
        }
    }
}

#[test]
fn a_remembered_plain_host_is_only_used_for_the_same_text() {
    let long = format!("{}:80", "a".repeat(70));
    for h in [
        "a:1", "a:1", "b:2", "a:1", "a:12", "a:", "a", "a", "A", "a:1", &long, &long, "a:1", "a:+1",
    ] {
        match plain_host_port(h) {
            Some(plain) => assert_eq!(plain, general_host_header(h), "{h}"),
            None => assert!(matches!(h, "A" | "a:+1"), "{h}"),
        }
    }
}

#[test]
fn plain_host_fast_way_is_taken_and_agrees() {
    for h in [
        "h",
        "127.0.0.1:18080",
        "s3.local.test:9000",
        "a-b_c.d:",
        "b.s3:08080",
        "x:65535",
    ] {
        let plain = plain_host_port(h).expect(h);
        assert_eq!(plain, general_host_header(h), "{h}");
    }
    for h in [
        "H", "h.", ":80", "h:0", "h:65536", "h:+80", "[::1]:80", " h", "h:1:2", "h:000080",
    ] {
        assert_eq!(plain_host_port(h), None, "{h}");
    }
}

use super::*;

const PATH: &str = "~/.aws/config";

const CONFIG: &str = "\
[default]
endpoint_url = https://default-global.test

[profile dev]
services = local
endpoint_url = https://dev-global.test

[profile noservice]
endpoint_url = http://plain.test:9000

[profile broken]
services = nowhere

[profile quiet]
ignore_configured_endpoint_urls = TRUE
endpoint_url = https://quiet.test

[services local]
s3 =
  endpoint_url = https://s3.local.test:8443
sts =
  endpoint_url = https://sts.local.test
";

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn one(e: &HashMap<String, String>, text: Option<&str>, flag: Option<&str>) -> Option<Endpoint> {
    let mut v = resolve(e, text, PATH, flag).unwrap();
    assert!(v.len() <= 1);
    v.pop()
}

#[test]
fn service_env_beats_global_env_beats_config() {
    let e = env(&[
        ("AWS_ENDPOINT_URL_S3", "https://s3env.test"),
        ("AWS_ENDPOINT_URL", "https://global.test"),
    ]);
    let r = resolve_detailed(&e, Some(CONFIG), PATH, Some("dev")).unwrap();
    assert_eq!(r.endpoints.len(), 1);
    let ep = &r.endpoints[0];
    assert_eq!(
        (ep.url().as_str(), ep.origin, ep.detail.as_str()),
        ("https://s3env.test:443", Origin::Env, "AWS_ENDPOINT_URL_S3")
    );
    // The shadowed settings are told, in precedence order.
    assert_eq!(r.notes.len(), 3, "{:?}", r.notes);
    assert!(r.notes[0].starts_with("AWS_ENDPOINT_URL = https://global.test"));
    assert!(r.notes[1].contains("[services local] s3 endpoint_url"));

    let e = env(&[("AWS_ENDPOINT_URL", "https://global.test")]);
    let ep = one(&e, Some(CONFIG), Some("dev")).unwrap();
    assert_eq!(
        (ep.host.as_str(), ep.detail.as_str()),
        ("global.test", "AWS_ENDPOINT_URL")
    );
}

#[test]
fn services_section_beats_profile_endpoint_url() {
    let ep = one(&env(&[]), Some(CONFIG), Some("dev")).unwrap();
    assert_eq!(ep.url(), "https://s3.local.test:8443");
    assert_eq!(ep.origin, Origin::AwsConfig);
    assert_eq!(
        ep.detail,
        "~/.aws/config [services local] s3 endpoint_url (profile dev via --profile: services = local)"
    );
}

#[test]
fn profile_endpoint_url_when_nothing_else() {
    let ep = one(&env(&[]), Some(CONFIG), Some("noservice")).unwrap();
    assert_eq!(
        (ep.scheme, ep.url().as_str()),
        (crate::policy::Scheme::Http, "http://plain.test:9000")
    );
    assert_eq!(
        ep.detail,
        "~/.aws/config [profile noservice] endpoint_url (profile noservice via --profile)"
    );
}

#[test]
fn profile_choice_flag_then_default_profile_then_profile_then_default() {
    let e = env(&[("AWS_PROFILE", "noservice"), ("AWS_DEFAULT_PROFILE", "dev")]);
    assert_eq!(one(&e, Some(CONFIG), Some("quiet")), None); // --profile quiet ignores endpoints
    assert_eq!(one(&e, Some(CONFIG), None).unwrap().host, "s3.local.test"); // AWS_DEFAULT_PROFILE=dev
    let e = env(&[("AWS_PROFILE", "noservice"), ("AWS_DEFAULT_PROFILE", "")]);
    let ep = one(&e, Some(CONFIG), None).unwrap();
    assert_eq!(ep.host, "plain.test");
    assert!(ep.detail.ends_with("(profile noservice via AWS_PROFILE)"));
    let ep = one(&env(&[]), Some(CONFIG), None).unwrap();
    assert_eq!(
        ep.detail,
        "~/.aws/config [default] endpoint_url (profile default)"
    );
}

#[test]
fn ignore_from_env_or_profile_and_env_decides_alone() {
    let e = env(&[
        ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ("AWS_ENDPOINT_URL_S3", "https://s3env.test"),
    ]);
    let r = resolve_detailed(&e, Some(CONFIG), PATH, Some("dev")).unwrap();
    assert!(r.endpoints.is_empty());
    assert_eq!(
        r.notes,
        ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true: configured endpoint URLs are ignored"]
    );
    // The profile's setting disables the environment's endpoints too…
    let e = env(&[("AWS_ENDPOINT_URL", "https://global.test")]);
    assert_eq!(one(&e, Some(CONFIG), Some("quiet")), None);
    // …unless the environment variable is set to something else: it wins over the profile.
    let e = env(&[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false")]);
    assert_eq!(
        one(&e, Some(CONFIG), Some("quiet")).unwrap().host,
        "quiet.test"
    );
    let e = env(&[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "1")]);
    assert_eq!(
        one(&e, Some(CONFIG), Some("dev")).unwrap().host,
        "s3.local.test"
    );
}

#[test]
fn empty_values_count_as_unset() {
    let e = env(&[
        ("AWS_ENDPOINT_URL_S3", ""),
        ("AWS_ENDPOINT_URL", "https://global.test"),
    ]);
    assert_eq!(one(&e, None, None).unwrap().detail, "AWS_ENDPOINT_URL");
    let text = "[default]\nservices = s\nendpoint_url = https://g.test\n[services s]\ns3 =\n  endpoint_url =\n";
    assert_eq!(one(&env(&[]), Some(text), None).unwrap().host, "g.test");
}

#[test]
fn missing_services_section_is_an_error_unless_env_wins() {
    let err = resolve(&env(&[]), Some(CONFIG), PATH, Some("broken")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "~/.aws/config: profile `broken` sets `services = nowhere` but there is no [services nowhere] section"
    );
    let e = env(&[("AWS_ENDPOINT_URL", "https://global.test")]);
    assert_eq!(
        one(&e, Some(CONFIG), Some("broken")).unwrap().host,
        "global.test"
    );
}

#[test]
fn later_section_of_the_same_profile_wins_and_quoted_names() {
    let text = "[profile default]\nendpoint_url = https://a.test\n[default]\nendpoint_url = https://b.test\n[profile \"my dev\"]\nendpoint_url = https://c.test\n[profile a b]\nendpoint_url = https://d.test\n";
    assert_eq!(one(&env(&[]), Some(text), None).unwrap().host, "b.test");
    assert_eq!(
        one(&env(&[]), Some(text), Some("my dev")).unwrap().host,
        "c.test"
    );
    assert_eq!(one(&env(&[]), Some(text), Some("a")), None);
    assert_eq!(shlex_split("profile 'x"), None);
    assert_eq!(
        shlex_split(r#"profile "a\"b" c"#),
        Some(vec!["profile".into(), "a\"b".into(), "c".into()])
    );
}

#[test]
fn unknown_profile_is_a_note_not_an_error() {
    let e = env(&[
        ("AWS_PROFILE", "ghost"),
        ("AWS_ENDPOINT_URL_S3", "https://s3env.test"),
    ]);
    let r = resolve_detailed(&e, Some(CONFIG), PATH, None).unwrap();
    assert_eq!(r.endpoints[0].host, "s3env.test");
    assert_eq!(
        r.notes,
        ["profile `ghost` (AWS_PROFILE) is not in ~/.aws/config; only the environment applies"]
    );
}

#[test]
fn errors_name_the_file_and_setting() {
    let err = resolve(&env(&[]), Some("endpoint_url = x\n"), "/etc/aws.cfg", None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot parse /etc/aws.cfg: line 1: option before any [section]"
    );
    let err = resolve(
        &env(&[("AWS_ENDPOINT_URL_S3", "s3.local.test")]),
        None,
        PATH,
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("AWS_ENDPOINT_URL_S3: endpoint `s3.local.test` has no scheme"),
        "{err}"
    );
    let text = "[default]\nservices = s\n[services s]\ns3 =\n  endpoint_url https://x\n";
    let err = resolve(&env(&[]), Some(text), PATH, None).unwrap_err();
    assert!(matches!(err, ConfigError::Nested { .. }), "{err}");
}

#[test]
fn no_config_and_no_env_is_nothing() {
    let r = resolve_detailed(&env(&[]), None, PATH, None).unwrap();
    assert!(r.endpoints.is_empty() && r.notes.is_empty());
    assert_eq!(
        (r.profile.as_str(), r.profile_source.as_str()),
        ("default", "default")
    );
}

#[test]
fn services_block_must_be_nested_and_last_key_wins() {
    let text = "[default]\nservices = s\n[services s]\ns3 = https://flat.test\n";
    let err = resolve(&env(&[]), Some(text), PATH, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "~/.aws/config: [services s] `s3` must be a block of indented `key = value` lines"
    );
    let text = "[default]\nservices = s\nendpoint_url = https://g.test\n[services s]\ns3 =\n  endpoint_url = https://a.test\n  endpoint_url =\n";
    assert_eq!(one(&env(&[]), Some(text), None).unwrap().host, "g.test");
    let text = "[default]\nservices = s\n[services s]\nsts =\n  endpoint_url = https://sts.test\n";
    assert_eq!(one(&env(&[]), Some(text), None), None);
}

//! The clients s3wire can name from a User-Agent, and how each ends up on plain http: the
//! setting that selects http, and where that is documented. Only what a source states is here;
//! each row cites its source in a comment and, compactly, in the hint.

/// A client known by its User-Agent, the settings by which it sends plain http, and where that
/// is documented. Only what the source states is here.
struct ClientRow {
    /// How a reader knows the client.
    name: &'static str,
    /// Lower-case User-Agent tokens that must all start a word (at the start, or after a space,
    /// comma or parenthesis); the version quoted follows the first one's `/` or space.
    tokens: &'static [&'static str],
    /// The endpoint-URL way to http, compactly (or the client's only documented way, for a
    /// client whose endpoint carries no scheme or whose URL form is not documented).
    url: &'static str,
    /// The switch that turns https off while the client builds the URL itself (AWS's own
    /// hosts), when the client has one.
    switch: Option<&'static str>,
    /// The switch is ignored once an endpoint URL is given (boto3's `use_ssl`): a request to a
    /// host of one's own then comes from the URL alone.
    switch_needs_default_host: bool,
    /// Where the settings are documented.
    source: &'static str,
}

/// First match wins: a User-Agent that carries another client's token (the AWS CLI v1 and
/// boto3 both name botocore; S3A names the Java SDK it runs on) is listed after the more
/// specific one. s3cmd is absent: it sends no User-Agent (fixture `s3cmd-virtual`), so its
/// `use_https = False` / `--no-ssl` cannot be told from the wire.
const CLIENTS: &[ClientRow] = &[
    // https://docs.aws.amazon.com/cli/latest/reference/ (global options: --endpoint-url;
    // --no-verify-ssl "overrides the default behavior of verifying SSL certificates").
    ClientRow {
        name: "AWS CLI",
        tokens: &["aws-cli/"],
        url: "--endpoint-url http://… or endpoint_url in the profile (--no-verify-ssl keeps \
              https)",
        switch: None,
        switch_needs_default_host: false,
        source: "aws help, GLOBAL OPTIONS",
    },
    // https://boto3.amazonaws.com/v1/documentation/api/latest/reference/core/session.html
    // (Session.client: "If this value [endpoint_url] is provided, then use_ssl is ignored").
    ClientRow {
        name: "boto3/botocore",
        tokens: &["botocore/"],
        url: "endpoint_url=\"http://…\"",
        switch: Some("use_ssl=False"),
        switch_needs_default_host: true,
        source: "boto3 docs, Session.client",
    },
    // https://hadoop.apache.org/docs/stable/hadoop-project-dist/hadoop-common/core-default.xml
    // (fs.s3a.connection.ssl.enabled); the User-Agent is "Hadoop <version>" before the Java SDK's
    // (hadoop-aws AWSClientConfig.initUserAgent).
    ClientRow {
        name: "Hadoop S3A",
        tokens: &["hadoop ", "aws-sdk-java/"],
        url: "fs.s3a.connection.ssl.enabled=false",
        switch: None,
        switch_needs_default_host: false,
        source: "hadoop-aws core-default.xml",
    },
    // https://github.com/smithy-lang/smithy-typescript, packages/config-resolver,
    // resolveEndpointsConfig.ts (tls: "Whether TLS is enabled for requests").
    ClientRow {
        name: "AWS SDK for JavaScript v3",
        tokens: &["aws-sdk-js/3."],
        url: "endpoint: \"http://…\"",
        switch: Some("tls: false"),
        switch_needs_default_host: false,
        source: "@smithy/config-resolver EndpointsInputConfig",
    },
    // https://docs.aws.amazon.com/AWSJavaScriptSDK/latest/AWS/Config.html (sslEnabled); Node's
    // User-Agent is "aws-sdk-nodejs/<version> <platform>/<node>" (lib/util.js userAgent).
    ClientRow {
        name: "AWS SDK for JavaScript v2",
        tokens: &["aws-sdk-nodejs/"],
        url: "endpoint: \"http://…\"",
        switch: Some("sslEnabled: false"),
        switch_needs_default_host: false,
        source: "AWS.Config docs, sslEnabled",
    },
    // https://docs.aws.amazon.com/sdk-for-go/api/aws/#Config (DisableSSL: "Set this to true to
    // disable SSL when sending requests").
    ClientRow {
        name: "AWS SDK for Go v1",
        tokens: &["aws-sdk-go/"],
        url: "Endpoint: \"http://…\"",
        switch: Some("DisableSSL: aws.Bool(true)"),
        switch_needs_default_host: false,
        source: "aws-sdk-go aws.Config docs",
    },
    // https://pkg.go.dev/github.com/aws/aws-sdk-go-v2/service/s3#EndpointResolverOptions
    // (DisableHTTPS: "return an endpoint that does not use the HTTPS scheme").
    ClientRow {
        name: "AWS SDK for Go v2",
        tokens: &["aws-sdk-go-v2/"],
        url: "BaseEndpoint: \"http://…\"",
        switch: Some("EndpointOptions.DisableHTTPS = true"),
        switch_needs_default_host: false,
        source: "aws-sdk-go-v2 endpoints Options.DisableHTTPS",
    },
    // https://min.io/docs/minio/linux/reference/minio-mc/mc-alias-set.html (the alias's URL); mc's
    // User-Agent is minio-go's with "mc/<release>" after it.
    ClientRow {
        name: "MinIO Client (mc)",
        tokens: &["mc/", "minio-go/"],
        url: "an http:// alias URL (mc alias set ALIAS http://…)",
        switch: None,
        switch_needs_default_host: false,
        source: "mc docs, mc alias set",
    },
    // https://github.com/minio/minio-go/blob/master/docs/API.md (opts.Secure: "If 'true' API
    // requests will be secure (HTTPS), and insecure (HTTP) otherwise"); User-Agent from api.go's
    // libraryUserAgentPrefix, "MinIO (<os>; <arch>) minio-go/<version>".
    ClientRow {
        name: "minio-go",
        tokens: &["minio-go/", "minio ("],
        // The endpoint is a bare host[:port]: Secure is the only way.
        url: "minio.Options{Secure: false}",
        switch: None,
        switch_needs_default_host: false,
        source: "minio-go docs/API.md, opts.Secure",
    },
    // https://rclone.org/s3/ (the Minio example's endpoint = http://…); rclone's transport forces
    // its own User-Agent, "rclone/<version>", over the SDK's (fs/fshttp/http.go).
    ClientRow {
        name: "rclone",
        tokens: &["rclone/"],
        url: "endpoint = http://… in the s3 remote (or --s3-endpoint http://…)",
        switch: None,
        switch_needs_default_host: false,
        source: "rclone docs, S3 (Minio example)",
    },
    // https://docs.rs/object_store/latest/object_store/enum.ClientConfigKey.html (AllowHttp: "Allow
    // non-TLS, i.e. non-HTTPS connections"); User-Agent "object_store/<version>"
    // (src/client/mod.rs).
    ClientRow {
        name: "object_store",
        tokens: &["object_store/"],
        url: "an http:// endpoint with allow_http=true (AWS_ALLOW_HTTP)",
        switch: None,
        switch_needs_default_host: false,
        source: "object_store ClientConfigKey::AllowHttp",
    },
    // https://docs.aws.amazon.com/AWSJavaSDK/latest/javadoc/com/amazonaws/ClientConfiguration.html
    // (setProtocol: "the protocol (HTTP or HTTPS) to use when connecting to Amazon Web Services").
    ClientRow {
        name: "AWS SDK for Java v1",
        tokens: &["aws-sdk-java/1."],
        url: "an http:// endpoint",
        switch: Some("ClientConfiguration.setProtocol(Protocol.HTTP)"),
        switch_needs_default_host: false,
        source: "AWS SDK for Java 1.x ClientConfiguration javadoc",
    },
    // https://docs.aws.amazon.com/sdk-for-cpp/latest/api/root/html/md_docs_2_client_configuration___parameters.html
    // (Scheme: "You can set this value to HTTP"); User-Agent "aws-sdk-cpp/<version> …"
    // (ComputeUserAgentString).
    ClientRow {
        name: "AWS SDK for C++",
        tokens: &["aws-sdk-cpp/"],
        url: "ClientConfiguration.scheme = Aws::Http::Scheme::HTTP",
        switch: None,
        switch_needs_default_host: false,
        source: "AWS SDK for C++ docs, Client Configuration",
    },
];

/// Where `token` (lower case) starts a word of `ua`, ignoring ASCII case: at the start, or
/// after a space, comma or parenthesis. No allocation: this runs for every plaintext finding.
fn word_at(ua: &str, token: &str) -> Option<usize> {
    let (ua, token) = (ua.as_bytes(), token.as_bytes());
    let first = token.first()?;
    (0..ua.len()).find(|&i| {
        (i == 0 || matches!(ua[i - 1], b' ' | b',' | b'('))
            && ua[i].eq_ignore_ascii_case(first)
            && ua
                .get(i..i + token.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(token))
    })
}

impl ClientRow {
    /// The settings to check, the likelier first: the switch when the request went to AWS's own
    /// S3 host (the client built the URL itself), the endpoint URL when it went to a host of
    /// one's own.
    fn settings(&self, to_aws_host: bool) -> String {
        match (self.switch, to_aws_host) {
            (None, _) => self.url.to_string(),
            (Some(switch), true) => format!("{switch}, or {}", self.url),
            (Some(switch), false) if self.switch_needs_default_host => {
                format!("{} ({switch} is ignored with one)", self.url)
            }
            (Some(switch), false) => format!("{}, or {switch}", self.url),
        }
    }
}

/// The client's own way of ending up on http, when its User-Agent names a known client:
/// `boto3/botocore 1.44.8: endpoint_url="http://…" (use_ssl=False is ignored with one) (boto3
/// docs, Session.client)`. `to_aws_host`: the request went to one of AWS's own S3 hosts.
pub fn client_hint(ua: Option<&str>, to_aws_host: bool) -> Option<String> {
    let ua = ua?;
    let row = CLIENTS
        .iter()
        .find(|c| c.tokens.iter().all(|t| word_at(ua, t).is_some()))?;
    let first = row.tokens.first()?;
    let name_len = first.rfind(['/', ' ']).map_or(first.len(), |i| i + 1);
    // Tokens are ASCII, so this is a char boundary of the UA as sent.
    let rest = &ua[word_at(ua, first)? + name_len..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+')))
        .unwrap_or(rest.len())
        .min(32);
    let version = &rest[..end];
    let space = if version.is_empty() { "" } else { " " };
    Some(format!(
        "{}{space}{version}: {} ({})",
        row.name,
        row.settings(to_aws_host),
        row.source
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real User-Agents (the fixtures' clients, and ones quoted in public logs and issues), the
    /// client each names, and a word of the setting its hint must name.
    const REAL_UAS: &[(&str, &str, &str)] = &[
        (
            "aws-cli/1.46.3 md/Botocore#1.43.62 ua/2.1 os/linux#6.18.44-fc-v657 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/N,b,D,Z cfg/retry-mode#legacy botocore/1.43.62",
            "AWS CLI 1.46.3: ",
            "--endpoint-url",
        ),
        (
            "Boto3/1.44.8 md/Botocore#1.44.8 ua/2.1 os/linux#6.18.44-fc-v657 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/E,N,U,b,Z,g cfg/retry-mode#standard Botocore/1.44.8",
            "boto3/botocore 1.44.8: ",
            "use_ssl=False",
        ),
        (
            "Hadoop 3.3.4, aws-sdk-java/1.12.262 Linux/6.4.7-1-MANJARO OpenJDK_64-Bit_Server_VM/25.292-b10 java/1.8.0_292 scala/2.12.17 vendor/AdoptOpenJDK cfg/retry-mode/legacy",
            "Hadoop S3A 3.3.4: ",
            "fs.s3a.connection.ssl.enabled=false",
        ),
        (
            "aws-sdk-js/3.1168.0 ua/2.1 os/linux#6.18.44-fc-v657 lang/js md/nodejs#20.20.2 api/s3#3.1168.0 m/N,Z,b,E,g",
            "AWS SDK for JavaScript v3 3.1168.0: ",
            "tls: false",
        ),
        (
            "aws-sdk-nodejs/2.585.0 linux/v8.10.0 callback",
            "AWS SDK for JavaScript v2 2.585.0: ",
            "sslEnabled: false",
        ),
        (
            "aws-sdk-go/1.44.114 (go1.18.7; linux; amd64)",
            "AWS SDK for Go v1 1.44.114: ",
            "DisableSSL",
        ),
        (
            "aws-sdk-go-v2/1.39.0 ua/2.1 os/macos lang/go#1.24.2 md/GOOS#darwin md/GOARCH#arm64 api/s3#1.88.1 m/g",
            "AWS SDK for Go v2 1.39.0: ",
            "DisableHTTPS",
        ),
        (
            "MinIO (linux; amd64) minio-go/v7.0.90 mc/RELEASE.2025-08-13T08-35-41Z",
            "MinIO Client (mc) RELEASE.2025-08-13T08-35-41Z: ",
            "mc alias set",
        ),
        (
            "MinIO (linux; amd64) minio-go/v7.0.80",
            "minio-go v7.0.80: ",
            "Secure: false",
        ),
        ("rclone/v1.64.2", "rclone v1.64.2: ", "--s3-endpoint"),
        (
            "object_store/0.11.0",
            "object_store 0.11.0: ",
            "allow_http=true",
        ),
        (
            "aws-sdk-java/1.11.253 Linux/4.4.0-104-generic Java_HotSpot(TM)_64-Bit_Server_VM/25.144-b01 java/1.8.0_144",
            "AWS SDK for Java v1 1.11.253: ",
            "Protocol.HTTP",
        ),
        (
            "aws-sdk-cpp/1.11.493 ua/2.1 api/S3 os/Darwin#23.6.0 lang/c++#C++11 md/aws-crt#0.19.7 md/arch#arm64 md/Clang#15.0.0 m/D",
            "AWS SDK for C++ 1.11.493: ",
            "Aws::Http::Scheme::HTTP",
        ),
    ];

    #[test]
    fn each_client_row_matches_its_real_user_agent() {
        let mut rows_hit = std::collections::BTreeSet::new();
        for (ua, start, setting) in REAL_UAS {
            let hint = client_hint(Some(ua), false).unwrap_or_else(|| panic!("no hint for {ua}"));
            assert!(hint.starts_with(start), "{ua}: {hint}");
            assert!(hint.contains(setting), "{ua}: {hint}");
            assert!(!hint.contains('\n'), "one line: {hint}");
            let row = CLIENTS
                .iter()
                .position(|c| hint.contains(c.source))
                .unwrap();
            rows_hit.insert(row);
        }
        assert_eq!(
            rows_hit.len(),
            CLIENTS.len(),
            "every row has a real User-Agent"
        );
    }

    #[test]
    fn other_user_agents_get_no_client_hint() {
        for ua in [
            "curl/7.88.1",
            "Python-urllib/3.11",
            // The Java SDK v2 has no row: its endpoint override is an http URL like any other.
            "aws-sdk-java/2.20.0 Linux/6.1 OpenJDK_64-Bit_Server_VM/17.0.8+7 Java/17.0.8",
            // Tokens count only at a word start.
            "notaws-cli/1.0",
            "xmc/1 minio-go/v7",
            "",
        ] {
            assert_eq!(client_hint(Some(ua), false), None, "{ua}");
        }
        assert_eq!(client_hint(None, false), None, "s3cmd sends no User-Agent");
        // A version is quoted only as far as it looks like one.
        assert_eq!(
            client_hint(Some("rclone/"), true).unwrap(),
            "rclone: endpoint = http://… in the s3 remote (or --s3-endpoint http://…) (rclone docs, S3 (Minio example))"
        );
    }

    #[test]
    fn the_likelier_setting_comes_first_from_the_host_the_request_went_to() {
        let boto3 = REAL_UAS[1].0;
        assert_eq!(
            client_hint(Some(boto3), false).unwrap(),
            "boto3/botocore 1.44.8: endpoint_url=\"http://…\" (use_ssl=False is ignored with one) (boto3 docs, Session.client)",
            "a host of one's own: only an endpoint_url sends there"
        );
        assert_eq!(
            client_hint(Some(boto3), true).unwrap(),
            "boto3/botocore 1.44.8: use_ssl=False, or endpoint_url=\"http://…\" (boto3 docs, Session.client)"
        );
        let go = "aws-sdk-go/1.44.114 (go1.18.7; linux; amd64)";
        assert!(
            client_hint(Some(go), true)
                .unwrap()
                .contains(": DisableSSL: aws.Bool(true), or Endpoint")
        );
        assert!(
            client_hint(Some(go), false)
                .unwrap()
                .contains(": Endpoint: \"http://…\", or DisableSSL")
        );
        // No switch: the same text either way.
        let cli = REAL_UAS[0].0;
        assert_eq!(client_hint(Some(cli), true), client_hint(Some(cli), false));
    }
}

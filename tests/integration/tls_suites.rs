//! Issue 10: TLS suites and modes made with OpenSSL itself (fixtures/gen/openssl_suites.sh):
//! each capture holds one `GET /fx-openssl/hello.txt` that `openssl s_client` sent to
//! `openssl s_server`, decrypted with the key log s_client wrote; suites named by IANA name.

use crate::harness::{fixtures_dir, s3wire, str_field};
use serde_json::Value;

const GET: (&str, &str) = ("GET", "/fx-openssl/hello.txt");

/// `analyze --format json` on captures/openssl-NAME.pcap with its key log.
fn analyze(name: &str) -> Value {
    let keys = fixtures_dir()
        .join("captures")
        .join(format!("openssl-{name}.keys"));
    analyze_with_log(name, &keys)
}

/// (method, target, status) of every request.
fn requests(report: &Value) -> Vec<(String, String, Value)> {
    report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["scheme"], "https");
            let (m, t) = (str_field(r, "method"), str_field(r, "target"));
            (m.to_string(), t.to_string(), r["status"].clone())
        })
        .collect()
}

/// (cipher, decryption) of every TLS session.
fn sessions(report: &Value) -> Vec<(String, String)> {
    report["tls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                str_field(t, "cipher").into(),
                str_field(t, "decryption").into(),
            )
        })
        .collect()
}

fn get(status: Option<u16>) -> (String, String, Value) {
    (
        GET.0.into(),
        GET.1.into(),
        status.map_or(Value::Null, Value::from),
    )
}

#[test]
fn tls12_ecdhe_psk_chacha20_is_decrypted_and_named() {
    let report = analyze("psk-chacha");
    assert_eq!(requests(&report), [get(Some(200))]);
    let want = (
        "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256".into(),
        "decrypted".into(),
    );
    assert_eq!(sessions(&report), [want]);
}

/// `analyze` of captures/openssl-NAME.pcap with the key log given.
fn analyze_with_log(name: &str, keys: &std::path::Path) -> Value {
    let capture = fixtures_dir()
        .join("captures")
        .join(format!("openssl-{name}.pcap"));
    let out = s3wire(&[
        "analyze",
        &capture.to_string_lossy(),
        "--keylog",
        &keys.to_string_lossy(),
        "--format",
        "json",
        "--no-aws-config",
    ]);
    assert_eq!(out.status.code(), Some(0), "{name}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn tls13_zero_rtt_early_data_is_decrypted() {
    // Two sessions: the GET after a full handshake, then the same GET as 0-RTT early data of
    // the resumed session (s_server prints what it reads and answers nothing).
    let report = analyze("early-data");
    assert_eq!(requests(&report), [get(None), get(None)]);
    let sessions = sessions(&report);
    let decrypted = (
        "TLS_AES_256_GCM_SHA384".to_string(),
        "decrypted".to_string(),
    );
    assert_eq!(sessions, [decrypted.clone(), decrypted]);
    // Each session carried its own request.
    let clients = |key: &str| -> Vec<String> {
        let mut v: Vec<String> = report[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| str_field(r, "client").to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(clients("requests"), clients("tls"));
}

#[test]
fn rejected_zero_rtt_then_its_retry_is_listed_once() {
    // The GET went out twice: as 0-RTT early data, which the server rejected and skipped
    // unread, then again after the handshake, which it answered. One request, as the server
    // saw it: the retry, at its own time, with its response.
    let report = analyze("early-data-rejected");
    assert_eq!(requests(&report), [get(Some(200))]);
    let labels = crate::harness::Fixture::load("openssl-early-data-rejected").labels;
    assert_eq!(report["requests"][0]["time"], labels[1]["time"]);
    assert_ne!(labels[0]["time"], labels[1]["time"]);
    let decrypted = (
        "TLS_AES_256_GCM_SHA384".to_string(),
        "decrypted".to_string(),
    );
    assert_eq!(sessions(&report), [decrypted]);
    assert_eq!(report["quality"]["requests_without_response"], 0);
    // The dropped copy is counted, so that "one request" is not mistaken for "one sent".
    assert_eq!(report["quality"]["tls_early_data_rejected"], 1);
}

#[test]
fn accepted_zero_rtt_request_keeps_the_time_it_was_sent() {
    // Early data is held until the server accepts it; the request is still timed by its record.
    let report = analyze("early-data");
    let labels = crate::harness::Fixture::load("openssl-early-data").labels;
    let times: Vec<&Value> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["time"])
        .collect();
    assert_eq!(times, [&labels[0]["time"], &labels[1]["time"]]);
    assert_eq!(report["quality"]["tls_early_data_rejected"], 0);
}

#[test]
fn zero_rtt_without_its_secret_is_said_not_silently_missed() {
    let dir = fixtures_dir().join("captures");
    let full = std::fs::read_to_string(dir.join("openssl-early-data.keys")).unwrap();
    let without: String = full
        .lines()
        .filter(|l| !l.starts_with("CLIENT_EARLY_TRAFFIC_SECRET"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(without.len() < full.len());
    let keys = std::env::temp_dir().join(format!("s3wire-no-early-{}.keys", std::process::id()));
    std::fs::write(&keys, without).unwrap();
    let report = analyze_with_log("early-data", &keys);
    let _ = std::fs::remove_file(&keys);
    assert_eq!(requests(&report), [get(None)]);
    let why = sessions(&report)
        .into_iter()
        .map(|(_, d)| d)
        .collect::<Vec<_>>();
    assert_eq!(
        why,
        [
            "decrypted",
            "decrypted, but not its 0-RTT early data: no CLIENT_EARLY_TRAFFIC_SECRET in the key log"
        ]
    );
}

#[test]
fn tls12_cbc_hmac_suites_are_decrypted_in_both_mac_orders() {
    let cases = [
        // Encrypt-then-MAC (RFC 7366) negotiated, as OpenSSL does by default.
        ("cbc-sha", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
        // MAC-then-encrypt (-no_etm), RSA key exchange, HMAC-SHA256.
        ("cbc-sha256-no-etm", "TLS_RSA_WITH_AES_256_CBC_SHA256"),
        // Encrypt-then-MAC, HMAC-SHA384 and the SHA-384 PRF.
        ("cbc-sha384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
    ];
    for (name, suite) in cases {
        let report = analyze(name);
        assert_eq!(requests(&report), [get(Some(200))], "{name}");
        assert_eq!(
            sessions(&report),
            [(suite.to_string(), "decrypted".to_string())],
            "{name}"
        );
    }
}

#[test]
fn tls10_cbc_says_why_it_is_not_decrypted() {
    let report = analyze("tls10-cbc");
    assert_eq!(requests(&report), []);
    let why =
        "cipher suite TLS_RSA_WITH_AES_128_CBC_SHA is not decrypted in TLSv1.0 (implicit CBC IVs)";
    let want = ("TLS_RSA_WITH_AES_128_CBC_SHA".to_string(), why.to_string());
    assert_eq!(sessions(&report), [want]);
    assert_eq!(report["quality"]["tls_not_decrypted"], 1);
}

//! Issue 10: TLS suites and modes made with OpenSSL itself (fixtures/gen/openssl_suites.sh):
//! each capture holds one `GET /fx-openssl/hello.txt` that `openssl s_client` sent to
//! `openssl s_server`, decrypted with the key log s_client wrote; suites named by IANA name.

use crate::harness::{fixtures_dir, s3wire, str_field};
use serde_json::Value;

const GET: (&str, &str) = ("GET", "/fx-openssl/hello.txt");

/// `analyze --format json` on captures/openssl-NAME.pcap with its key log.
fn analyze(name: &str) -> Value {
    let dir = fixtures_dir().join("captures");
    let capture = dir.join(format!("openssl-{name}.pcap"));
    let keys = dir.join(format!("openssl-{name}.keys"));
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

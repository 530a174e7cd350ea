//! Tunnelled captures (`fixtures/gen/tunnel.py`: real fixture captures with every frame wrapped
//! in VXLAN, Geneve, GRE over IPv6, ERSPAN II/III, IP-in-IP, QinQ + MPLS, or four tunnels
//! nested) give exactly the unwrapped capture's requests and findings; and a capture that was
//! mostly not analysed says so beside its verdict, in every format (issue 10).

use crate::harness::{Fixture, fixtures_dir, s3wire};
use serde_json::Value;

/// The fixtures `tunnel.py` made, with the fixture each was made from.
fn tunnelled() -> Vec<(Fixture, Fixture)> {
    Fixture::all()
        .into_iter()
        .filter(|f| {
            f.meta["command"]
                .as_str()
                .unwrap_or("")
                .contains("gen/tunnel.py")
        })
        .map(|f| {
            let from = Fixture::load(f.meta["derived_from"].as_str().unwrap());
            (f, from)
        })
        .collect()
}

/// What a request is, as seen: everything but ids, and the fields a tunnel may not change.
fn requests(report: &Value) -> Vec<Value> {
    let keep = [
        "time",
        "scheme",
        "client",
        "server",
        "host",
        "method",
        "target",
        "operation",
        "bucket",
        "key",
        "status",
        "addressing",
        "user_agent",
        "tls",
    ];
    report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| keep.iter().map(|k| (k.to_string(), r[k].clone())).collect())
        .collect()
}

fn findings(report: &Value) -> Vec<(String, String, Value)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            (s("kind"), s("seen"), f["operation"].clone())
        })
        .collect()
}

#[test]
fn each_tunnel_gives_exactly_the_unwrapped_captures_requests_and_findings() {
    let pairs = tunnelled();
    let names: Vec<&str> = pairs.iter().map(|(f, _)| f.name.as_str()).collect();
    for want in [
        "mixed-vxlan",
        "mixed-geneve",
        "mixed-gre6",
        "mixed-erspan2",
        "mixed-erspan3",
        "mixed-ipip",
        "mixed-ip6ip",
        "mixed-qinq-mpls",
        "mixed-nested",
        "ipv6-in-ip",
        "ipv6-in-ipv6",
    ] {
        assert!(names.contains(&want), "fixture {want} missing: {names:?}");
    }
    for (wrapped, plain) in &pairs {
        let (code, ours) = wrapped.analyze(&["--no-redact"]);
        let (plain_code, theirs) = plain.analyze(&["--no-redact"]);
        let name = &wrapped.name;
        assert_eq!(requests(&ours), requests(&theirs), "{name}: requests");
        assert_eq!(
            requests(&ours).len(),
            wrapped.labels.len(),
            "{name}: one per label"
        );
        assert_eq!(findings(&ours), findings(&theirs), "{name}: findings");
        assert_eq!(code, plain_code, "{name}: exit status");
        let q = &ours["quality"];
        let packets = ours["capture"]["packets"].as_u64().unwrap();
        assert_eq!(q["tunnelled_frames"].as_u64(), Some(packets), "{name}");
        assert_eq!(q["non_tcp_frames"], 0, "{name}");
        assert_eq!(q["not_analysed"]["frames"], 0, "{name}");
        assert!(q["not_analysed"]["warning"].is_null(), "{name}");
        assert_eq!(
            q["streams"], theirs["quality"]["streams"],
            "{name}: streams"
        );
    }
}

#[test]
fn each_tunnel_kind_is_counted_by_name() {
    let want = [
        ("mixed-vxlan", vec!["vxlan"]),
        ("mixed-geneve", vec!["geneve"]),
        ("mixed-gre6", vec!["gre"]),
        ("mixed-erspan2", vec!["erspan"]),
        ("mixed-erspan3", vec!["erspan"]),
        ("mixed-ipip", vec!["ip-in-ip"]),
        ("ipv6-in-ip", vec!["ipv6-in-ip"]),
        ("mixed-qinq-mpls", vec!["mpls"]),
        ("mixed-nested", vec!["geneve", "gre", "mpls", "vxlan"]),
    ];
    for (name, kinds) in want {
        let (_, report) = Fixture::load(name).analyze(&[]);
        let packets = report["capture"]["packets"].as_u64().unwrap();
        let tunnels = report["quality"]["tunnels"].as_object().unwrap();
        let got: Vec<&str> = tunnels.keys().map(String::as_str).collect();
        assert_eq!(got, kinds, "{name}");
        assert!(
            tunnels.values().all(|n| n.as_u64() == Some(packets)),
            "{name}"
        );
        // The outer addresses tunnel.py gave the mirror session, as context.
        let ends = report["quality"]["tunnel_endpoints"].as_array().unwrap();
        if name == "mixed-qinq-mpls" {
            assert!(
                ends.is_empty(),
                "{name}: MPLS over Ethernet has no addresses"
            );
            continue;
        }
        let (src, dst) = if ["mixed-geneve", "mixed-gre6"].contains(&name) {
            ("fd00::1", "fd00::2")
        } else {
            ("10.0.0.1", "10.0.0.2")
        };
        let outermost = if name == "mixed-nested" {
            "gre"
        } else {
            kinds[0]
        };
        assert_eq!(ends.len(), 1, "{name}");
        assert_eq!(ends[0]["kind"], outermost, "{name}");
        assert_eq!(ends[0]["source"], src, "{name}");
        assert_eq!(ends[0]["destination"], dst, "{name}");
        assert_eq!(ends[0]["frames"].as_u64(), Some(packets), "{name}");
    }
}

/// `mixed-vxlan.pcap` with the outer UDP destination port changed from 4789 to 4799 in every
/// frame: a tunnel s3wire does not open, as a mirror session on a custom port would be.
fn vxlan_on_port_4799(dir: &std::path::Path) -> String {
    let data = std::fs::read(fixtures_dir().join("captures/mixed-vxlan.pcap")).unwrap();
    let mut out = data[..24].to_vec();
    let mut at = 24;
    let mut frames = 0;
    while at + 16 <= data.len() {
        let len = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap()) as usize;
        let mut frame = data[at + 16..at + 16 + len].to_vec();
        // Ethernet (14) + IPv4 (20) + the UDP destination port at offset 2.
        assert_eq!(&frame[36..38], &4789u16.to_be_bytes());
        frame[36..38].copy_from_slice(&4799u16.to_be_bytes());
        out.extend_from_slice(&data[at..at + 16]);
        out.extend_from_slice(&frame);
        at += 16 + len;
        frames += 1;
    }
    assert_eq!(frames, 41);
    let path = dir.join("vxlan-4799.pcap");
    std::fs::write(&path, out).unwrap();
    path.to_string_lossy().into_owned()
}

const WARNING: &str = "100 % of frames (41 of 41) and 100 % of bytes were not analysed: UDP \
                       port 4799 (100 % of frames); findings can only come from the frames that \
                       were";

#[test]
fn a_capture_mostly_not_analysed_says_so_beside_the_verdict_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let capture = vxlan_on_port_4799(dir.path());
    let run = |format: &str| {
        let out = s3wire(&[
            "analyze",
            &capture,
            "--no-aws-config",
            "--endpoint",
            "https://s3.local.test:8443",
            "--format",
            format,
        ]);
        assert_eq!(out.status.code(), Some(0), "{format}");
        String::from_utf8(out.stdout).unwrap()
    };
    let verdict =
        format!("No plaintext S3 traffic to an HTTPS endpoint found. Caution: {WARNING}.");
    let table = run("table");
    assert_eq!(table.trim_end().lines().last(), Some(verdict.as_str()));
    let markdown = run("markdown");
    assert!(
        markdown.contains(&format!("**Verdict:** {verdict}\n")),
        "{markdown}"
    );
    let json: Value = serde_json::from_str(&run("json")).unwrap();
    let n = &json["quality"]["not_analysed"];
    assert_eq!(n["frames"], 41);
    assert_eq!(n["bytes"], json["capture"]["bytes"]);
    assert_eq!(n["kinds"][0]["kind"], "udp-port");
    assert_eq!(n["kinds"][0]["value"], 4799);
    assert_eq!(n["kinds"][0]["name"], "UDP port 4799");
    assert_eq!(n["kinds"][0]["frames"], 41);
    assert_eq!(n["kinds"].as_array().unwrap().len(), 1);
    assert_eq!(n["warning"], WARNING);
    assert_eq!(json["summary"]["not_analysed_warning"], WARNING);
    assert_eq!(json["quality"]["non_tcp_frames"], 41);
    let jsonl = run("jsonl");
    let summary = jsonl
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "summary")
        .unwrap();
    assert_eq!(summary["not_analysed_warning"], WARNING);
}

#[test]
fn a_fully_analysed_capture_has_no_caution() {
    let f = Fixture::load("mixed");
    let (_, report) = f.analyze(&[]);
    assert_eq!(report["quality"]["not_analysed"]["frames"], 0);
    assert!(report["quality"]["not_analysed"]["warning"].is_null());
    assert!(report["summary"]["not_analysed_warning"].is_null());
    let table = String::from_utf8(f.run("table", &[]).stdout).unwrap();
    assert!(!table.contains("Caution"), "{table}");
}

use super::*;
use crate::facts::{ProcessInfo, RequestTls};
use crate::policy::Scheme;
use crate::report::AddrText;
use crate::report::row_memo::{Escaped, RECENT_TEXTS, RecentEscaped, StaticEscaped};
use crate::s3::Addressing;
use proptest::prelude::*;

fn same<T: WriteJson + serde::Serialize>(v: &T) {
    let mut fast = Vec::new();
    v.write_json(&mut fast);
    let serde = serde_json::to_vec(v).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&fast),
        String::from_utf8_lossy(&serde)
    );
}

fn request(full: bool) -> RequestRecord {
    let some = |s: &str| full.then(|| s.to_string());
    RequestRecord {
        id: u64::MAX,
        time: Timestamp::from_secs_nanos(1_767_225_601, 250_000_999),
        scheme: if full { Scheme::Https } else { Scheme::Http },
        client: AddrText::of("127.0.0.1:40000".parse().unwrap()),
        server: AddrText::of("[::1]:8443".parse().unwrap()),
        host: some("s3.local.test:8443").map(Into::into),
        method: "PUT".into(),
        target: "/b/k%20\"quoted\"\\?x=\u{7f}\u{1}\u{1f}\u{e9}\u{1F600}".into(),
        truncated: full,
        operation: Some("PutObject"),
        bucket: some("b"),
        key: some("k \"quoted\"\n\t\r\u{8}\u{c}"),
        operation_note: some("note"),
        addressing: Addressing::VirtualHosted,
        status: full.then_some(200),
        interim: if full { vec![100, 103] } else { vec![] },
        location: some("http://s3.local.test/b/k?x=\"y\""),
        user_agent: some("Boto3/1.40.14").map(Into::into),
        authorization: some("AWS4-HMAC-SHA256 Credential=AKIA…/x, Signature=<redacted>"),
        request_body_bytes: full.then_some(0),
        response_body_bytes: full.then_some(12_345_678_901),
        response_time: full.then_some(Timestamp(0)),
        tls: full.then(|| RequestTls {
            sni: None,
            version: "TLSv1.3".into(),
            decrypted: true,
        }),
        connection: 7,
        process: full.then(|| ProcessInfo {
            pid: 4242,
            name: "python3".into(),
            cmdline: "python3 repro.py --x=\"y\"".into(),
        }),
        owner: full.then_some(crate::report::Owner::Unknown),
    }
}

fn finding(full: bool) -> FindingRecord {
    let some = |s: &str| full.then(|| s.to_string());
    FindingRecord {
        kind: crate::policy::FindingKind::PlaintextToHttpsEndpoint,
        severity: if full {
            crate::policy::Severity::Error
        } else {
            crate::policy::Severity::Warning
        },
        operation: Some("DeleteObject"),
        bucket: some("b"),
        key: some("k"),
        request: full.then_some(3),
        attempt: (!full).then_some(2),
        endpoint: "https://s3.local.test:8443".into(),
        origin: "flag".into(),
        endpoint_detail: "--endpoint".into(),
        time: Timestamp(-1),
        client: AddrText::of("10.0.0.1:1".parse().unwrap()),
        server: AddrText::of("10.0.0.2:80".parse().unwrap()),
        seen: some("DELETE http://s3.local.test/b/k"),
        user_agent: None,
        status: full.then_some(204),
        hint: "a \"hint\"\n".into(),
        guess: (!full).then(|| GuessRecord {
            operation: None,
            request: 9,
            reason: "guess: …".into(),
        }),
    }
}

#[test]
fn rows_are_written_as_serde_writes_them() {
    for full in [true, false] {
        same(&request(full));
        same(&finding(full));
    }
    let mut r = request(true);
    for a in [
        Addressing::Path,
        Addressing::AccessPoint,
        Addressing::MultiRegionAccessPoint,
        Addressing::ExpressZonal,
        Addressing::ExpressControl,
        Addressing::ObjectLambda,
        Addressing::Unresolved,
    ] {
        r.addressing = a;
        same(&r);
    }
    // Addresses are written without an escape scan: every shape they can take.
    let scoped = std::net::SocketAddrV6::new("fe80::1".parse().unwrap(), 65535, 0, u32::MAX);
    for a in [
        std::net::SocketAddr::V6(scoped),
        "[::ffff:1.2.3.4]:1".parse().unwrap(),
        "[2001:db8::ffff:ffff:ffff]:443".parse().unwrap(),
        "255.255.255.255:65535".parse().unwrap(),
        "0.0.0.0:0".parse().unwrap(),
    ] {
        r.client = AddrText::of(a);
        same(&r);
    }
    r.tls = Some(RequestTls {
        sni: Some("s\u{0}ni".into()),
        version: "TLSv1.2".into(),
        decrypted: false,
    });
    same(&r);
    let mut f = finding(false);
    for kind in [
        crate::policy::FindingKind::PlaintextToTlsPort,
        crate::policy::FindingKind::RefusedPlaintextAttempt,
        crate::policy::FindingKind::CredentialsInCleartext,
    ] {
        f.kind = kind;
        same(&f);
    }
    f.guess = Some(GuessRecord {
        operation: Some("PutObject"),
        request: 0,
        reason: String::new(),
    });
    same(&f);
}

proptest! {
    #[test]
    fn strings_are_escaped_as_serde_escapes_them(s in "\\PC*|[\\x00-\\x7f]*") {
        let mut fast = Vec::new();
        string(&mut fast, &s);
        prop_assert_eq!(fast, serde_json::to_vec(&s).unwrap());
    }
}

/// The scan reads sixteen-byte blocks, then the tail as overlapping words: every length up to
/// three blocks, with each byte that needs an escape at every position (and none at all), so
/// no block or word boundary can hide one.
#[test]
fn every_escape_is_found_at_every_position_and_length() {
    let needs: Vec<u8> = (0u8..0x20).chain(*b"\"\\").collect();
    for len in 0..48 {
        let plain = "a".repeat(len);
        let mut fast = Vec::new();
        string(&mut fast, &plain);
        assert_eq!(fast, serde_json::to_vec(&plain).unwrap(), "len {len}");
        for at in 0..len {
            for &b in &needs {
                let mut s = plain.clone().into_bytes();
                s[at] = b;
                let s = String::from_utf8(s).unwrap();
                fast.clear();
                string(&mut fast, &s);
                assert_eq!(
                    fast,
                    serde_json::to_vec(&s).unwrap(),
                    "len {len}, {b:#x} at {at}"
                );
            }
        }
    }
}

/// The one-compare test is the three-compare one, for every byte.
#[test]
fn the_escape_test_is_the_plain_one() {
    for b in 0..=255u8 {
        assert_eq!(
            needs_escape(b),
            b < 0x20 || b == b'"' || b == b'\\',
            "{b:#x}"
        );
    }
}

/// A buffer that starts empty grows for any row, whatever its strings' lengths.
#[test]
fn rows_grow_the_buffer_as_they_need() {
    let mut r = request(true);
    r.target = "/".to_string() + &"a\"".repeat(5_000);
    let mut out = JsonBuf::new();
    r.write_row(&mut out, b"{");
    assert_eq!(out.as_bytes(), serde_json::to_vec(&r).unwrap());
}

/// A request's finding's row written from its request's row is the row made whole, byte for
/// byte, in a buffer of its own or after the request's row in the same one: Host or none
/// (and one that needs escapes), origin- and absolute-form targets, targets the `seen` line's
/// redaction changes or not, path-style targets and ones nearly so, IPv4 and IPv6 clients and
/// servers, times in several seconds, configured and unconfigured endpoints, static and quoted
/// hints, redaction on and off. A finding that is not its request's own, or an unknown owner's,
/// is made whole.
#[test]
fn a_finding_row_beside_its_request_row_is_the_row_made_whole() {
    use crate::facts::Request;
    use crate::policy::{Endpoint, Finding, FindingKind, Origin, Severity};
    use crate::report::rows::{FindingOfRow, Redactor};
    use std::borrow::Cow;
    let configured = Endpoint::parse("https://s3.local.test", Origin::Flag, "--endpoint").unwrap();
    let mut beside = 0;
    // One memo for every row, as a sink keeps one: its values change from row to row.
    let mut memo = RowMemo::default();
    let mut quiet = crate::report::rows::QuietSeen::default();
    // And the rows written beside, packed as the JSON document's spool packs them (a new
    // frame every few rows), and what they should unpack to.
    let (mut packer, mut packed, mut expected) = (
        crate::report::packed::Packer::default(),
        Vec::new(),
        Vec::new(),
    );
    // The packed findings' memo: in the document's sink every finding is opened the same way,
    // so its head entries change only with what they hold; through `memo`, which the rows
    // written beside above also use, opened otherwise, every head would be new at every row
    // and a wrong version could not show.
    let mut packed_memo = RowMemo::default();
    for host in [Some("s3.local.test:8080"), Some("a\"b@c=d"), None] {
        for (target, bucket, key) in [
            ("/b/k", Some("b1"), Some("k1")),
            ("/b?list-type=2&prefix=a%2F", Some("b1"), Some("k1")),
            ("/b/k?X-Amz-Signature=abc&x=1", Some("b1"), Some("k1")),
            ("http://h/b/k?Signature=x", Some("b1"), Some("k1")),
            ("/b;Signature=x?y=1", Some("b1"), Some("k1")),
            ("/\u{1}\"q\\<@", Some("b1"), Some("k1")),
            // Path-style targets, whose key the row also holds (one with escapes), and ones
            // that are not quite `/` + bucket + `/` + key.
            ("/b1/k1", Some("b1"), Some("k1")),
            ("/b1/d/\"k\u{1}", Some("b1"), Some("d/\"k\u{1}")),
            ("/b1/k%201", Some("b1"), Some("k 1")),
            ("/b1/k1", Some("b1"), Some("k")),
            ("/b1/k1", Some("b"), Some("1/k1")),
            ("/b1", Some("b1"), None),
            ("/b1/k1?X-Amz-Signature=abc", Some("b1"), Some("k1")),
        ] {
            for (client, server, time) in [
                ("10.0.0.7:40000", "10.0.0.9:80", 0),
                ("[fe80::1%2]:5000", "10.0.0.9:80", 0),
                // Another second, the same second again, and one before 1970: a packed frame
                // holds rows of several seconds and servers.
                (
                    "10.0.0.7:40001",
                    "[2001:db8::1]:443",
                    1_796_643_648_123_456_789,
                ),
                (
                    "10.0.0.8:40001",
                    "[2001:db8::1]:443",
                    1_796_643_648_999_999_999,
                ),
                ("10.0.0.8:40001", "10.0.0.9:80", -1),
            ] {
                for on in [true, false] {
                    for (kind, endpoint) in [
                        (FindingKind::CredentialsInCleartext, None),
                        (FindingKind::PlaintextToHttpsEndpoint, Some(&configured)),
                    ] {
                        for hint in [
                            Cow::Borrowed("a \"static\" hint"),
                            Cow::Owned("see http://h/b?X-Amz-Signature=abc".to_string()),
                        ] {
                            let mut r = Request::sample(7, Timestamp(time), client, server);
                            r.host = host.map(Into::into);
                            r.target = target.into();
                            r.bucket = bucket.map(Into::into);
                            r.key = key.map(Into::into);
                            r.user_agent = Some("Boto3/1.44.8".into());
                            let mut f = Finding::for_request(kind, &r, endpoint);
                            f.hint = hint;
                            let mut lean = Finding::lean_for_request(kind, &r, endpoint);
                            lean.hint = f.hint.clone();
                            let mut filled = lean.clone();
                            filled.fill(&r);
                            assert_eq!(filled, f, "a lean finding filled is the whole one");
                            let addrs = (r.client, r.server);
                            let redactor = Redactor { on };
                            let row = redactor.request(r);
                            let made = |f, unknown_owner| FindingOfRow {
                                finding: f,
                                severity: Severity::Warning,
                                row: &row,
                                addrs,
                                redactor,
                                unknown_owner,
                            };
                            let whole = serde_json::to_vec(&made(&f, false).record()).unwrap();
                            let mut alone = JsonBuf::new();
                            let spans = row.write_row(&mut alone, b"{").unwrap();
                            let m = made(&f, false);
                            let b = m
                                .beside(&mut quiet)
                                .expect("the finding is its request's own");
                            let mut fast = JsonBuf::new();
                            finding_beside(
                                &mut fast,
                                b"{",
                                RowAt::Other(alone.as_bytes()),
                                &spans,
                                &b,
                                &mut RowMemo::default(),
                            );
                            assert_eq!(
                                String::from_utf8_lossy(fast.as_bytes()),
                                String::from_utf8_lossy(&whole)
                            );
                            let mut both = JsonBuf::new();
                            both.put(b"[");
                            let start = both.len();
                            let mut spans = RowSpans::default();
                            assert!(row.write_row_memo(&mut both, b"{", &mut memo, &mut spans));
                            assert_eq!(both.as_bytes().get(start..), Some(alone.as_bytes()));
                            let end = both.len();
                            let l = made(&lean, false);
                            let lb = l
                                .beside(&mut quiet)
                                .expect("a lean finding is its request's own");
                            finding_beside(
                                &mut both,
                                b"{",
                                RowAt::Own(start),
                                &spans,
                                &lb,
                                &mut memo,
                            );
                            assert_eq!(
                                String::from_utf8_lossy(both.as_bytes().get(end..).unwrap()),
                                String::from_utf8_lossy(&whole)
                            );
                            finding_beside(
                                &mut packer,
                                crate::report::spool::ROW_OPEN,
                                RowAt::Other(both.as_bytes().get(start..end).unwrap()),
                                &spans,
                                &lb,
                                &mut packed_memo,
                            );
                            expected.extend(b",\n    ");
                            expected.extend(&whole);
                            if beside % 7 == 6 {
                                packed.extend(unpacked(packer.frame()));
                                packer.clear();
                            }
                            let lean_whole = serde_json::to_vec(&l.record()).unwrap();
                            assert_eq!(lean_whole, whole, "a lean finding's row made whole");
                            beside += 1;
                            assert!(made(&f, true).beside(&mut quiet).is_none(), "unknown owner");
                            let mut other = f.clone();
                            other.bucket = Some("other".into());
                            assert!(made(&other, false).beside(&mut quiet).is_none(), "bucket");
                            let mut other = f.clone();
                            other.client = "10.9.9.9:1".parse().unwrap();
                            assert!(made(&other, false).beside(&mut quiet).is_none(), "client");
                            let mut other = f.clone();
                            other.target = Some("/other".into());
                            assert!(made(&other, false).beside(&mut quiet).is_none(), "target");
                            let mut other = f.clone();
                            other.request = Some(8);
                            assert!(made(&other, false).beside(&mut quiet).is_none(), "request");
                            let mut other = lean.clone();
                            other.request = Some(8);
                            assert!(
                                made(&other, false).beside(&mut quiet).is_none(),
                                "lean request"
                            );
                            let mut other = lean.clone();
                            other.client = "10.9.9.9:1".parse().unwrap();
                            assert!(
                                made(&other, false).beside(&mut quiet).is_none(),
                                "lean client"
                            );
                        }
                    }
                }
            }
        }
    }
    assert_eq!(beside, 3 * 13 * 5 * 2 * 2 * 2);
    packed.extend(unpacked(packer.frame()));
    assert_eq!(
        String::from_utf8_lossy(&packed),
        String::from_utf8_lossy(&expected)
    );
}

/// A packed frame's text.
fn unpacked(frame: &[u8]) -> Vec<u8> {
    let ops = frame.get(crate::report::packed::FRAME_HEAD..).unwrap();
    let mut out = Vec::new();
    crate::report::packed::unpack(ops, ops.len(), &mut out).unwrap();
    out
}

/// Numbers written two digits at a time read as `Display` writes them: every number up to
/// 100 000, and each power of ten and its neighbours up to `u64::MAX`.
#[test]
fn numbers_are_written_as_display_writes_them() {
    let mut edges: Vec<u64> = (0..=100_000).collect();
    for p in 0..20 {
        let t = 10u64.pow(p);
        edges.extend([t - 1, t, t + 1]);
    }
    edges.push(u64::MAX);
    for n in edges {
        let mut out = JsonBuf::with_capacity(1);
        out.number(n);
        let mut roomy = JsonBuf::with_capacity(64);
        roomy.number(n);
        assert_eq!(out.as_bytes(), n.to_string().as_bytes(), "{n}");
        assert_eq!(roomy.as_bytes(), n.to_string().as_bytes(), "{n}");
    }
}

/// Every mix of the values a row writes in one stretch when they are the usual ones (no note,
/// no interim status, no Location, no TLS, no process, no owner) and the general way when they
/// are not, rows written one after another through one memo (the addressing's text kept from
/// row to row): each row is serde's.
#[test]
fn rows_through_one_memo_are_serdes_whatever_mix_they_hold() {
    let mut memo = RowMemo::default();
    let full = request(true);
    for mix in 0..128u32 {
        let mut r = request(false);
        let bit = |i: u32| mix >> i & 1 == 1;
        if bit(0) {
            r.operation_note = full.operation_note.clone();
        }
        if bit(1) {
            r.interim = full.interim.clone();
        }
        if bit(2) {
            r.location = full.location.clone();
        }
        if bit(3) {
            r.tls = full.tls.clone();
        }
        if bit(4) {
            r.process = full.process.clone();
        }
        if bit(5) {
            r.owner = full.owner;
        }
        r.truncated = bit(6);
        r.scheme = if bit(1) { Scheme::Https } else { Scheme::Http };
        r.addressing = [Addressing::Path, Addressing::VirtualHosted][(mix / 3 % 2) as usize];
        let mut fast = JsonBuf::new();
        r.write_row_memo(&mut fast, b"{", &mut memo, &mut RowSpans::default());
        let serde = serde_json::to_vec(&r).unwrap();
        assert_eq!(
            String::from_utf8_lossy(fast.as_bytes()),
            String::from_utf8_lossy(&serde),
            "{mix}"
        );
    }
}

/// A memo writes the string's own text from its first use on: the empty string first (what a
/// new memo is made from), then others, then the empty string again.
#[test]
fn a_memo_writes_what_string_writes() {
    let mut memo = Escaped::default();
    for s in [
        "",
        "a",
        "a",
        "\"q\"\n",
        "",
        "Boto3/1.44.8",
        "Boto3/1.44.9",
        "",
    ] {
        let mut fast = JsonBuf::new();
        fast.string_memo(s, &mut memo);
        let mut plain = JsonBuf::new();
        plain.string(s);
        assert_eq!(fast.as_bytes(), plain.as_bytes(), "{s:?}");
    }
}

/// The memo of recent strings writes the escape of the string asked about: a client's few
/// redacted Authorization values in turn (each kept after its first use), one asked twice in a
/// row, more strings than it keeps (the oldest made again), strings that need escapes.
#[test]
fn the_recent_strings_memo_gives_each_strings_escape() {
    let auth = |signed: &str| {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIA…/20260101/us-east-1/s3/aws4_request, SignedHeaders={signed}, Signature=<redacted>"
        )
    };
    let mut cycle: Vec<String> = [
        "host;x-amz-date",
        "content-md5;host;x-amz-date",
        "host;x-amz-copy-source",
    ]
    .iter()
    .map(|s| auth(s))
    .collect();
    cycle.push("a\"b\n".to_string());
    let many: Vec<String> = (0..RECENT_TEXTS + 3)
        .map(|i| auth(&format!("h{i}")))
        .collect();
    let mut memo = RecentEscaped::default();
    for (round, strings) in [&cycle, &cycle, &many, &many, &cycle].iter().enumerate() {
        for (i, s) in strings.iter().enumerate() {
            for _ in 0..1 + (i + round) % 2 {
                let mut fast = JsonBuf::new();
                fast.opt_str_recent(Some(s), &mut memo);
                let mut plain = JsonBuf::new();
                plain.string(s);
                assert_eq!(fast.as_bytes(), plain.as_bytes(), "{s:?}");
            }
        }
    }
    let mut none = JsonBuf::new();
    none.opt_str_recent(None, &mut memo);
    assert_eq!(none.as_bytes(), b"null");
}

/// The static-name memo writes the escape of the name asked about: names cycling through more
/// names than it has slots, the same text at another address, names that need escapes.
#[test]
fn the_static_name_memo_gives_each_names_escape() {
    let leaked = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    let mut names: Vec<&'static str> = vec![
        "GetObject",
        "PutObject",
        "ListObjectsV2",
        "DeleteObject",
        "a\"b",
        "tab\there",
        "",
    ];
    names.extend((0..20).map(|i| leaked(&format!("Op{i}"))));
    names.push(leaked("GetObject"));
    names.push(leaked("GetObjec"));
    let mut memo = StaticEscaped::default();
    let mut texts = std::collections::HashMap::new();
    for round in 0..3 {
        for (i, name) in names.iter().enumerate() {
            // Every other name again at once (a hit), then the next (a change after a hit).
            for _ in 0..1 + (i + round) % 2 {
                let mut want = Vec::new();
                string(&mut want, name);
                let (place, version, json) = memo.of(name);
                assert_eq!(json, want.as_slice(), "{name:?}");
                // A place and version is always the same text (a packed spool's entry).
                let text = texts
                    .entry((place, version))
                    .or_insert_with(|| want.clone());
                assert_eq!(*text, want, "{name:?}");
            }
        }
    }
}

/// A row's marks are cut to 32 bits: the spans of a row of 4 GiB or more are thrown away
/// (its findings are made whole), those of a shorter one kept, wherever it starts.
#[test]
fn spans_of_a_row_past_4_gib_are_not_kept() {
    let at = |len: usize| JsonBuf {
        buf: Vec::new(),
        len,
    };
    let far = 5 << 30;
    let m = Marks { start: 0 };
    assert!(!m.fits(&at(far)));
    assert!(!m.fits(&at(u32::MAX as usize + 1)));
    assert!(m.fits(&at(u32::MAX as usize)));
    let m = Marks { start: far };
    assert_eq!(m.at(&at(far + 77)), 77);
    assert!(m.fits(&at(far + 77)));
}

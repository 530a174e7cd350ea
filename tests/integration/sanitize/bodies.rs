//! The HTTP heads and bodies of a plaintext capture, found independently of s3wire's own parser
//! (a test of the sanitizer must not trust the code it checks): a small pcap reader (Ethernet,
//! IPv4/IPv6, TCP), each direction put in sequence order, then HTTP/1.1 framing by
//! Content-Length or chunked, responses paired with their requests' methods (HEAD and 1xx, 204,
//! 304 responses carry no body). Enough for the committed loopback fixtures, which lost nothing.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

type Dir = (IpAddr, u16, IpAddr, u16);
/// A direction's first sequence number (once known) and its payloads by offset from it.
type Pieces = (Option<u32>, BTreeMap<u32, Vec<u8>>);

/// Every head and every non-empty body in the capture, in stream order.
pub struct Messages {
    pub heads: Vec<Vec<u8>>,
    pub bodies: Vec<Vec<u8>>,
}

pub fn messages(pcap: &[u8]) -> Messages {
    let streams = streams(pcap);
    let mut m = Messages {
        heads: Vec::new(),
        bodies: Vec::new(),
    };
    for (&(a, ap, b, bp), client) in &streams {
        if !client.starts_with(b"PUT ")
            && !client.starts_with(b"GET ")
            && !client.starts_with(b"HEAD ")
            && !client.starts_with(b"POST ")
            && !client.starts_with(b"DELETE ")
        {
            continue;
        }
        let methods = read(client, &mut m, &mut |_| false);
        let mut methods = methods.into_iter();
        if let Some(server) = streams.get(&(b, bp, a, ap)) {
            read(server, &mut m, &mut |status_line: &[u8]| {
                let status = status_line.get(9..12).unwrap_or_default();
                if status.starts_with(b"1") {
                    return true; // interim: no body, no request consumed
                }
                let method = methods.next().unwrap_or_default();
                method == b"HEAD" || status == b"204" || status == b"304"
            });
        }
    }
    m
}

/// Reads messages off one stream into `m`; `no_body(first line)` says when a framed length is
/// not a body. Returns each message's first word (the methods, for a client stream).
fn read(s: &[u8], m: &mut Messages, no_body: &mut dyn FnMut(&[u8]) -> bool) -> Vec<Vec<u8>> {
    let mut words = Vec::new();
    let mut at = 0;
    while let Some(end) = find(&s[at..], b"\r\n\r\n") {
        let head = &s[at..at + end + 4];
        at += end + 4;
        let first = head.split(|b| *b == b'\r').next().unwrap_or_default();
        words.push(
            first
                .split(|b| *b == b' ')
                .next()
                .unwrap_or_default()
                .to_vec(),
        );
        let text = String::from_utf8_lossy(head).to_ascii_lowercase();
        m.heads.push(head.to_vec());
        if no_body(first) {
            continue;
        }
        let body = if text.contains("transfer-encoding: chunked") {
            chunked(s, &mut at)
        } else {
            let len = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let body = s.get(at..at + len).unwrap_or_default().to_vec();
            at = (at + len).min(s.len());
            body
        };
        if !body.is_empty() {
            m.bodies.push(body);
        }
    }
    words
}

/// A chunked body's payload (RFC 9112 §7.1), leaving `at` after its trailer.
fn chunked(s: &[u8], at: &mut usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(eol) = find(&s[*at..], b"\r\n") {
        let line = String::from_utf8_lossy(&s[*at..*at + eol]).to_string();
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16);
        *at += eol + 2;
        match size {
            Ok(0) | Err(_) => {
                if let Some(end) = find(&s[*at..], b"\r\n") {
                    *at += end + 2; // the (empty) trailer section
                }
                break;
            }
            Ok(n) => {
                body.extend_from_slice(s.get(*at..*at + n).unwrap_or_default());
                *at = (*at + n + 2).min(s.len());
            }
        }
    }
    body
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Each direction's payload in sequence order (a pcap with Ethernet frames).
fn streams(pcap: &[u8]) -> HashMap<Dir, Vec<u8>> {
    let mut segs: HashMap<Dir, Pieces> = HashMap::new();
    let le = pcap[..4] == [0xd4, 0xc3, 0xb2, 0xa1] || pcap[..4] == [0x4d, 0x3c, 0xb2, 0xa1];
    let u32_at = |b: &[u8], i: usize| {
        let w = [b[i], b[i + 1], b[i + 2], b[i + 3]];
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let caplen = u32_at(pcap, at + 8) as usize;
        let frame = &pcap[at + 16..(at + 16 + caplen).min(pcap.len())];
        at += 16 + caplen;
        if let Some((dir, seq, syn, payload)) = tcp(frame.get(14..).unwrap_or_default()) {
            let (isn, map) = segs.entry(dir).or_default();
            if syn {
                *isn = Some(seq.wrapping_add(1));
            } else if !payload.is_empty() {
                let base = *isn.get_or_insert(seq);
                map.entry(seq.wrapping_sub(base))
                    .or_insert_with(|| payload.to_vec());
            }
        }
    }
    segs.into_iter()
        .map(|(dir, (_, map))| {
            let mut s = Vec::new();
            for (off, p) in map {
                let skip = s.len().saturating_sub(off as usize);
                s.extend_from_slice(p.get(skip..).unwrap_or_default());
            }
            (dir, s)
        })
        .collect()
}

/// (direction, seq, SYN, payload) of an IPv4/IPv6 TCP packet.
fn tcp(ip: &[u8]) -> Option<(Dir, u32, bool, &[u8])> {
    let (src, dst, t) = match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            (src.into(), dst.into(), ip.get(ihl..total.min(ip.len()))?)
        }
        6 => {
            let len = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            (
                src.into(),
                dst.into(),
                ip.get(40..(40 + len).min(ip.len()))?,
            )
        }
        _ => return None,
    };
    let sp = u16::from_be_bytes([*t.first()?, *t.get(1)?]);
    let dp = u16::from_be_bytes([t[2], t[3]]);
    let seq = u32::from_be_bytes(t.get(4..8)?.try_into().ok()?);
    let off = usize::from(t.get(12)? >> 4) * 4;
    let syn = t.get(13)? & 0x02 != 0;
    Some(((src, sp, dst, dp), seq, syn, t.get(off..)?))
}

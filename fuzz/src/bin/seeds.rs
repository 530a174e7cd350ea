//! Writes seed corpora for every fuzz target from the bundled captures.
//!
//! `seeds CAPTURES_DIR CORPUS_DIR`: for each `*.pcap`/`*.pcapng` (and its `.keys` key log), the
//! file itself (`pcap_source`), its frames (`decode`), the whole capture as frame records
//! (`engine`), each TCP connection's two byte streams as chunk records (`http_conversation` or
//! `tls_connection` by their first byte), each HTTP request seen (`s3_classify`) and the key log
//! (`keylog`). Uses s3wire's own decoder to find TCP payloads; streams are taken in capture order
//! (good enough for seeds: the fuzzer reorders anyway).

use s3wire::flow::Direction;
use s3wire::proto::tls::KeyLog;
use s3wire::proto::{Conversation, ProtoEvent, ProtoLimits};
use s3wire::source::{FileSource, FrameSource, SourceItem, SourceNote};
use s3wire::time::Timestamp;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Frames kept per capture for the `decode` corpus.
const DECODE_FRAMES: usize = 24;

type Conn = (SocketAddr, SocketAddr);

#[derive(Default)]
struct Capture {
    frames: Vec<(u8, Vec<u8>)>,
    engine: Vec<u8>,
    /// Client→server key → payloads in order, with their direction.
    conns: BTreeMap<Conn, Vec<(Direction, Vec<u8>)>>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, captures, corpus] = args.as_slice() else {
        eprintln!("usage: seeds CAPTURES_DIR CORPUS_DIR");
        std::process::exit(2);
    };
    let corpus = PathBuf::from(corpus);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(captures)
        .expect("read captures dir")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    paths.sort();
    for path in &paths {
        seed_capture(path, &corpus);
    }
}

fn seed_capture(path: &Path, corpus: &Path) {
    let stem = path.file_stem().unwrap().to_string_lossy().to_string();
    write(corpus, "pcap_source", &stem, &std::fs::read(path).unwrap());
    let keys = std::fs::read_to_string(path.with_extension("keys")).ok();
    if let Some(k) = &keys {
        write(corpus, "keylog", &stem, k.as_bytes());
    }
    let cap = read_capture(path);
    for (i, (link, frame)) in cap.frames.iter().enumerate() {
        let mut seed = vec![*link];
        seed.extend_from_slice(frame);
        write(corpus, "decode", &format!("{stem}-{i}"), &seed);
    }
    write(corpus, "engine", &stem, &cap.engine);
    let keylog = keys.map(|k| Arc::new(KeyLog::parse(&k).0));
    for (i, (_, chunks)) in cap.conns.iter().enumerate() {
        let mut seed = Vec::new();
        for (dir, bytes) in chunks {
            s3wire_fuzz::push_data(&mut seed, *dir, bytes);
        }
        let first = chunks.iter().find(|(d, _)| *d == Direction::ClientToServer);
        let target = match first {
            Some((_, b)) if b.first() == Some(&0x16) => "tls_connection",
            _ => "http_conversation",
        };
        write(corpus, target, &format!("{stem}-{i}"), &seed);
        for (j, req) in requests(chunks, keylog.clone()).iter().enumerate() {
            write(
                corpus,
                "s3_classify",
                &format!("{stem}-{i}-{j}"),
                req.as_bytes(),
            );
        }
    }
}

fn read_capture(path: &Path) -> Capture {
    let mut cap = Capture::default();
    let mut src = FileSource::open(path).expect("open capture");
    let mut last: Option<Timestamp> = None;
    while let Ok(Some(item)) = src.next_item() {
        let f = match item {
            SourceItem::Frame(f) => f,
            SourceItem::Note(SourceNote::KeyLog(text)) => {
                s3wire_fuzz::push_keylog_note(&mut cap.engine, &text);
                continue;
            }
            SourceItem::Note(_) => continue,
        };
        let link = s3wire_fuzz::link_byte(f.link);
        let delta = last.map_or(0, |l| f.ts.since(l) / 1_000_000).clamp(0, 255) as u8;
        last = Some(f.ts);
        if cap.engine.len() < 60_000 {
            s3wire_fuzz::push_frame(&mut cap.engine, f.link, delta, f.data);
        }
        if cap.frames.len() < DECODE_FRAMES {
            cap.frames.push((link, f.data.to_vec()));
        }
        let Ok(seg) = s3wire::decode::decode(f.link, f.data) else {
            continue;
        };
        let (fwd, rev) = ((seg.src, seg.dst), (seg.dst, seg.src));
        let is_syn = seg.flags.syn() && !seg.flags.ack();
        if is_syn && !cap.conns.contains_key(&rev) {
            cap.conns.entry(fwd).or_default();
        }
        if seg.payload.is_empty() {
            continue;
        }
        if let Some(c) = cap.conns.get_mut(&rev) {
            c.push((Direction::ServerToClient, seg.payload.to_vec()));
        } else {
            let c = cap.conns.entry(fwd).or_default();
            c.push((Direction::ClientToServer, seg.payload.to_vec()));
        }
    }
    cap.conns.retain(|_, c| !c.is_empty());
    cap
}

/// The requests the real parser reads from a connection, in the `s3_classify` format.
fn requests(chunks: &[(Direction, Vec<u8>)], keylog: Option<Arc<KeyLog>>) -> Vec<String> {
    let mut conv = Conversation::with_keylog(ProtoLimits::default(), keylog);
    let mut out = Vec::new();
    let ts = Timestamp::ZERO;
    for (dir, bytes) in chunks {
        conv.on_data(*dir, ts, bytes, &mut out);
    }
    conv.on_close(ts, &mut out);
    out.iter()
        .filter_map(|ev| match ev {
            ProtoEvent::Http(x) => Some(&x.request),
            _ => None,
        })
        .map(|r| {
            let headers: Vec<String> = r
                .headers
                .iter()
                .map(|h| format!("{}: {}", h.name, h.value))
                .collect();
            let host = r.header("host").unwrap_or("");
            format!("{} {}\0{host}\0{}", r.method, r.target, headers.join("\n"))
        })
        .collect()
}

fn write(corpus: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = corpus.join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

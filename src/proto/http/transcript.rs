//! Test support: replay a captured connection (see `testdata/README.md`) through a parser.
//!
//! A transcript is a sequence of records `dir len bytes`: `dir` is `>` (client to server) or
//! `<` (server to client), `len` a big-endian u32; one record per TCP segment payload, in
//! capture order.

use crate::flow::Direction;
use crate::time::Timestamp;

/// One captured segment payload.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub dir: Direction,
    pub ts: Timestamp,
    pub bytes: Vec<u8>,
}

/// Parse a transcript; timestamps are the record index in seconds.
pub(crate) fn parse(data: &[u8]) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut rest = data;
    while let [dir, a, b, c, d, tail @ ..] = rest {
        let len = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
        let (bytes, next) = tail.split_at(len.min(tail.len()));
        let dir = if *dir == b'>' {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        let ts = Timestamp::from_secs_nanos(segments.len() as i64, 0);
        segments.push(Segment {
            dir,
            ts,
            bytes: bytes.to_vec(),
        });
        rest = next;
    }
    segments
}

/// The transcripts, by name.
pub(crate) const KEEPALIVE_TWO_GETS: &[u8] = include_bytes!("testdata/keepalive_two_gets.tr");
pub(crate) const HEAD: &[u8] = include_bytes!("testdata/head.tr");
pub(crate) const CHUNKED_TRAILERS: &[u8] = include_bytes!("testdata/chunked_trailers.tr");
pub(crate) const NO_CONTENT_NOT_MODIFIED: &[u8] =
    include_bytes!("testdata/no_content_not_modified.tr");
pub(crate) const READ_UNTIL_CLOSE: &[u8] = include_bytes!("testdata/read_until_close.tr");
pub(crate) const EXPECT_CONTINUE_PUT: &[u8] = include_bytes!("testdata/expect_continue_put.tr");
pub(crate) const PIPELINED_THREE: &[u8] = include_bytes!("testdata/pipelined_three.tr");
pub(crate) const EXPECT_DENIED_THEN_GET: &[u8] =
    include_bytes!("testdata/expect_denied_then_get.tr");
pub(crate) const AWS_CHUNKED_PUT: &[u8] = include_bytes!("testdata/aws_chunked_put.tr");
pub(crate) const CONNECT_TUNNEL_TLS: &[u8] = include_bytes!("testdata/connect_tunnel_tls.tr");
pub(crate) const PLAIN_HTTP_TO_TLS_PORT: &[u8] =
    include_bytes!("testdata/plain_http_to_tls_port.tr");
pub(crate) const TLS13_KEYLOG_GET: &[u8] = include_bytes!("testdata/tls13_keylog_get.tr");
pub(crate) const TLS13_KEYLOG_GET_KEYS: &str = include_str!("testdata/tls13_keylog_get.keys");

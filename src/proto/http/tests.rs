//! HttpConnection over captured connections (testdata/) and hand-made edge cases.

use super::transcript::{self, Segment};
use super::*;
use crate::flow::Direction;
use crate::proto::{Anomaly, ProtoEvent, ProtoLimits};

fn run(segments: &[Segment]) -> Vec<ProtoEvent> {
    let mut conn = HttpConnection::new(&ProtoLimits::default());
    let mut out = Vec::new();
    for s in segments {
        conn.on_data(s.dir, s.ts, &s.bytes, &mut out);
    }
    conn.on_close(Timestamp(99), &mut out);
    out
}

#[test]
fn dump() {
    for (name, t) in [
        ("keepalive", transcript::KEEPALIVE_TWO_GETS),
        ("head", transcript::HEAD),
        ("chunked", transcript::CHUNKED_TRAILERS),
        ("204", transcript::NO_CONTENT_NOT_MODIFIED),
        ("close", transcript::READ_UNTIL_CLOSE),
        ("expect", transcript::EXPECT_CONTINUE_PUT),
        ("pipe", transcript::PIPELINED_THREE),
        ("deny", transcript::EXPECT_DENIED_THEN_GET),
        ("aws", transcript::AWS_CHUNKED_PUT),
    ] {
        eprintln!("== {name}");
        for e in run(&transcript::parse(t)) {
            eprintln!("{e:?}");
        }
    }
    let _ = (Anomaly::UnmatchedResponse, Direction::ClientToServer);
}

//! JSON Lines pieces: one record per line, each with a `type` (the streaming writers are in
//! [`super::sink`]).

use super::Report;
use serde::Serialize;
use std::io::{self, Write};

/// The sections of a JSON Lines report known only at the end: every `endpoint`, `operation`
/// count, then `capture`, `quality` and `summary`, each tagged with `type`. (The `s3wire` header
/// came first, and every `request`, `finding`, `attempt` and `tls` row as it was judged.)
pub fn write_jsonl_end(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for e in &report.endpoints {
        line(out, "endpoint", e)?;
    }
    for o in &report.operations {
        line(out, "operation", o)?;
    }
    line(out, "capture", &report.capture)?;
    line(out, "quality", &report.quality)?;
    line(out, "summary", &report.summary)
}

/// One tagged record. `type` comes first so `grep '"type":"finding"'` and `jq` both work.
/// The record is serialised once and spliced after the tag (no intermediate value tree: this
/// runs for every row of a JSON Lines report); a record that is not an object goes in `value`.
pub fn line<T: Serialize>(out: &mut dyn Write, kind: &str, record: &T) -> io::Result<()> {
    let mut body = Vec::with_capacity(1024);
    serde_json::to_writer(&mut body, record)?;
    tagged(out, kind, &body)
}

/// A record already written as compact JSON (`body`), tagged with `type` and ended by a newline.
pub fn tagged(out: &mut dyn Write, kind: &str, body: &[u8]) -> io::Result<()> {
    out.write_all(b"{\"type\":")?;
    serde_json::to_writer(&mut *out, kind)?;
    match body {
        b"{}" => out.write_all(b"}")?,
        [b'{', fields @ ..] => {
            out.write_all(b",")?;
            out.write_all(fields)?;
        }
        value => {
            out.write_all(b",\"value\":")?;
            out.write_all(value)?;
            out.write_all(b"}")?;
        }
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_comes_first_and_every_field_follows() {
        let mut out = Vec::new();
        line(
            &mut out,
            "request",
            &serde_json::json!({"id": 1, "host": "a\"b"}),
        )
        .unwrap();
        line(&mut out, "note", &serde_json::json!({})).unwrap();
        line(&mut out, "count", &3).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"type\":\"request\",\"id\":1,\"host\":\"a\\\"b\"}\n{\"type\":\"note\"}\n\
             {\"type\":\"count\",\"value\":3}\n"
        );
    }
}

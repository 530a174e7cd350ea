//! JSON Lines pieces: one record per line, each with a `type` (the streaming writers are in
//! [`super::sink`]).

use super::Report;
use serde::Serialize;
use serde_json::{Map, Value};
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
pub fn line<T: Serialize>(out: &mut dyn Write, kind: &str, record: &T) -> io::Result<()> {
    let mut map = Map::new();
    map.insert("type".into(), Value::String(kind.into()));
    match serde_json::to_value(record)? {
        Value::Object(fields) => map.extend(fields),
        other => {
            map.insert("value".into(), other);
        }
    }
    serde_json::to_writer(&mut *out, &Value::Object(map))?;
    out.write_all(b"\n")
}

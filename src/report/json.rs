//! JSON (one document) and JSON Lines (one record per line, each with a `type`) renderers.

use super::Report;
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::{self, Write};

/// The whole report as one pretty-printed JSON document (the contract in docs/json.md).
pub fn write_json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}

/// One JSON object per line: a `s3wire` header, then `capture`, `quality`, every `endpoint`,
/// `request`, `attempt`, `tls`, `operation` count and `finding`, each tagged with `type`.
pub fn write_jsonl(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    line(out, "s3wire", &report.s3wire)?;
    line(out, "capture", &report.capture)?;
    line(out, "quality", &report.quality)?;
    for e in &report.endpoints {
        line(out, "endpoint", e)?;
    }
    for r in &report.requests {
        line(out, "request", r)?;
    }
    for a in &report.attempts {
        line(out, "attempt", a)?;
    }
    for t in &report.tls {
        line(out, "tls", t)?;
    }
    for o in &report.operations {
        line(out, "operation", o)?;
    }
    for f in &report.findings {
        line(out, "finding", f)?;
    }
    Ok(())
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

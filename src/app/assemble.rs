//! Engine results + policy → the one `Report`. Findings are judged here, once, over everything
//! the capture showed (a host proven to speak TLS late in the capture still counts).

use super::engine::{Engine, Intake};
use super::records::{Evidence, Records};
use super::settings::Settings;
use crate::cli::Format;
use crate::flow::FlowStats;
use crate::policy::Endpoint;
use crate::report::{CaptureSummary, EndpointRecord, Quality, Report, RequestRecord, ToolInfo};
use std::io::Write;

pub fn build(engine: Engine, sources: &[String], s: &Settings) -> Report {
    let (intake, flow, records) = engine.finish();
    let (endpoints, findings) = super::judge::judge(&s.policy, &records, s.output.redact);
    let operations = records.operation_counts();
    let quality = quality(&intake, &flow, &records, &s.policy_notes);
    let Records {
        requests,
        attempts,
        tls,
        ..
    } = records;
    Report {
        s3wire: ToolInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            command: redact_argv(&s.argv, s.output.redact),
            redacted: s.output.redact,
        },
        capture: capture(&intake, sources),
        quality,
        endpoints: endpoints.iter().map(endpoint_record).collect(),
        requests: requests
            .into_iter()
            .map(|(r, _): (RequestRecord, Evidence)| r)
            .collect(),
        attempts,
        tls,
        operations,
        findings,
    }
}

fn capture(i: &Intake, sources: &[String]) -> CaptureSummary {
    CaptureSummary {
        sources: sources.to_vec(),
        link_types: i.link_types.iter().map(|l| l.name()).collect(),
        packets: i.packets,
        bytes: i.bytes,
        first: i.first,
        last: i.last,
        dropped: i.dropped,
        command_exit: None,
    }
}

fn quality(i: &Intake, f: &FlowStats, r: &Records, s_notes: &[String]) -> Quality {
    let mut warnings: Vec<String> = i
        .truncations
        .iter()
        .map(|t| format!("capture truncated: {t}"))
        .collect();
    warnings.extend(s_notes.iter().map(|n| format!("endpoint policy: {n}")));
    warnings.extend(i.keylog_warnings.iter().map(|w| format!("key log: {w}")));
    for l in &i.unsupported_links {
        warnings.push(format!(
            "link type {} is not supported: its frames were skipped",
            l.name()
        ));
    }
    if f.gaps > 0 {
        warnings.push(format!(
            "{} gaps ({} bytes) in TCP streams: requests inside them cannot be seen",
            f.gaps, f.gap_bytes
        ));
    }
    if f.evicted > 0 {
        warnings.push(format!(
            "{} connections evicted (raise --max-connections)",
            f.evicted
        ));
    }
    if r.requests_not_kept > 0 {
        warnings.push(format!(
            "{} requests analysed but not listed (raise --max-requests)",
            r.requests_not_kept
        ));
    }
    if r.plaintext_not_judged > 0 {
        warnings.push(format!(
            "{} plaintext requests beyond --max-requests were counted but not judged: \
             findings may be missing (raise --max-requests)",
            r.plaintext_not_judged
        ));
    }
    Quality {
        streams: r.streams,
        gaps: f.gaps,
        gap_bytes: f.gap_bytes,
        truncated: f.truncated_segments,
        unparsed_streams: r.unparsed_streams,
        evicted_streams: f.evicted,
        midstream_streams: f.midstream,
        retransmitted_segments: f.retransmitted_segments,
        out_of_order_segments: f.out_of_order_segments,
        non_tcp_frames: i.non_tcp,
        undecodable_frames: i.undecodable,
        http_anomalies: r.http_anomalies,
        requests_not_kept: r.requests_not_kept,
        plaintext_not_judged: r.plaintext_not_judged,
        requests_without_response: r.requests_without_response,
        requests_lost: r.requests_lost,
        tls_not_decrypted: r.tls.iter().filter(|t| !t.decrypted).count() as u64,
        truncated_files: i.truncations.len() as u64,
        warnings,
    }
}

pub fn endpoint_record(e: &Endpoint) -> EndpointRecord {
    EndpointRecord {
        url: e.url(),
        origin: e.origin.as_str().to_string(),
        detail: e.detail.clone(),
    }
}

/// The command line goes into reports; a presigned URL pasted as an argument must not leak.
fn redact_argv(argv: &[String], redact: bool) -> Vec<String> {
    argv.iter()
        .map(|a| {
            if redact {
                crate::report::redact::redact_text(a).into_owned()
            } else {
                a.clone()
            }
        })
        .collect()
}

/// `s3wire endpoints`: the policy listing alone, with the notes on how it was resolved.
pub fn write_endpoints(
    policy: &crate::policy::Policy,
    notes: &[String],
    format: Format,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let records: Vec<EndpointRecord> = policy.listing().iter().map(endpoint_record).collect();
    match format {
        Format::Json => {
            let doc = serde_json::json!({ "endpoints": records, "notes": notes });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        }
        Format::Jsonl => {
            records
                .iter()
                .try_for_each(|r| crate::report::json::line(out, "endpoint", r))?;
            notes.iter().try_for_each(|n| {
                crate::report::json::line(out, "note", &serde_json::json!({ "text": n }))
            })
        }
        Format::Table | Format::Markdown => {
            for r in &records {
                writeln!(out, "{:<40} {:<12} {}", r.url, r.origin, r.detail)?;
            }
            for n in notes {
                writeln!(out, "note: {n}")?;
            }
            Ok(())
        }
    }
}

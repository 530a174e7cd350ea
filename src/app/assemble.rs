//! The end of an analysis: the engine's counters and the judge's stats → the report's
//! `capture` and `quality` sections; and the `endpoints` subcommand's listing.

use super::engine::Intake;
use super::live_summary::LiveSummary;
use super::records::Records;
use crate::cli::Format;
use crate::flow::FlowStats;
use crate::policy::{Endpoint, JudgeStats};
use crate::report::{CaptureSummary, EndpointRecord, Quality};
use std::io::Write;

/// `live`: what only a live session knows (None for files).
pub(super) fn capture(
    i: &Intake,
    sources: &[String],
    live: Option<&LiveSummary>,
) -> CaptureSummary {
    CaptureSummary {
        sources: sources.to_vec(),
        link_types: i.link_types.iter().map(|l| l.name()).collect(),
        packets: i.packets,
        bytes: i.bytes,
        first: i.first,
        last: i.last,
        dropped: live.map(|l| l.drops.total()),
        drops: live.map(|l| l.drops),
        command_exit: live.and_then(|l| l.command_exit),
        attribution: live.and_then(|l| l.attribution),
    }
}

pub(super) fn quality(
    i: &Intake,
    f: &FlowStats,
    r: &Records,
    j: &JudgeStats,
    s_notes: &[String],
    live: Option<&LiveSummary>,
) -> Quality {
    let mut warnings: Vec<String> = i
        .truncations
        .iter()
        .map(|t| format!("capture truncated: {t}"))
        .collect();
    warnings.extend(i.damages.iter().map(|d| format!("capture damaged: {d}")));
    if i.damaged_records > i.damages.len() as u64 {
        warnings.push(format!(
            "capture damaged: {} more damaged records skipped ({} bytes in all)",
            i.damaged_records - i.damages.len() as u64,
            i.skipped_capture_bytes
        ));
    }
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
    if f.out_of_order_released > 0 {
        warnings.push(format!(
            "{} times a connection skipped its holes early (counted as gaps) to keep the \
             connection table within its memory bound ({} MiB, out-of-order bytes included); \
             raise --connection-memory if the host has the memory",
            f.out_of_order_released,
            f.max_table_bytes >> 20
        ));
    }
    if r.requests_cut > 0 {
        warnings.push(format!(
            "{} requests cut short by the capture (snaplen or lost bytes): listed as far as \
             the wire shows them (\"truncated\": true)",
            r.requests_cut
        ));
    }
    if f.evicted > f.evicted_for_memory {
        warnings.push(format!(
            "{} connections evicted (raise --max-connections)",
            f.evicted - f.evicted_for_memory
        ));
    }
    if f.evicted_for_memory > 0 {
        warnings.push(format!(
            "{} connections evicted to keep the connection table within its memory bound \
             ({} MiB): too many connections open at once (a SYN flood, very many \
             concurrent clients, or many holding data behind holes); raise \
             --connection-memory if the host has the memory",
            f.evicted_for_memory,
            f.max_table_bytes >> 20
        ));
    }
    if j.names_capped > 0 {
        warnings.push(format!(
            "{} host-name sightings were not remembered (over 256 names per server address or \
             client): attempts may not be tied to their host, and hints may miss a client's TLS",
            j.names_capped
        ));
    }
    if j.tls_clients_forgotten > 0 {
        warnings.push(format!(
            "{} clients' TLS names were forgotten (over 8,192 clients spoke TLS, the first seen \
             forgotten first): a plaintext request from one of them may lack the \
             \"reached HOST over HTTPS too\" hint",
            j.tls_clients_forgotten
        ));
    }
    if j.proofs_forgotten > 0 {
        warnings.push(format!(
            "{} hosts proven HTTPS by a TLS session were forgotten (over 16,384 such hosts, the \
             least recently proven forgotten first): a plaintext request to one of them not otherwise \
             named as HTTPS is not reported",
            j.proofs_forgotten
        ));
    }
    if j.servers_forgotten > 0 {
        warnings.push(format!(
            "{} server addresses were forgotten (over 8,192 TLS servers or named server IPs, \
             the first seen forgotten first): findings about them may lack what the capture \
             showed of them (their names, that they spoke TLS)",
            j.servers_forgotten
        ));
    }
    if j.retry_times_dropped > 0 {
        warnings.push(format!(
            "{} connection attempts' times were forgotten within their 30 s retry window (over \
             16,384 attempts at once, a SYN flood or many clients failing together): the \
             attempts' retry counts may be low",
            j.retry_times_dropped
        ));
    }
    for (host, n, at) in &j.judged_before_proof {
        warnings.push(format!(
            "{n} plaintext requests to {host} were judged before TLS to it was seen at {}: \
             they are not plaintext-to-https-endpoint findings; run again with --endpoint \
             https://{host} to judge them against it",
            at.rfc3339()
        ));
    }
    warnings.extend(live.map_or_else(Vec::new, |l| l.warnings(r.tls_not_decrypted)));
    let (tunnel_endpoints, tunnel_endpoints_other) = i.tally.tunnel_ends();
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
        out_of_order_released: f.out_of_order_released,
        non_tcp_frames: i.non_tcp,
        undecodable_frames: i.undecodable,
        http_anomalies: r.http_anomalies,
        judged_before_proof: j.judged_before_proof.iter().map(|(_, n, _)| n).sum(),
        requests_without_response: r.requests_without_response,
        requests_lost: r.requests_lost,
        requests_cut: r.requests_cut,
        tls_not_decrypted: r.tls_not_decrypted,
        tls_resyncs: r.tls_resyncs.resynced,
        tls_resync_failures: r.tls_resyncs.abandoned,
        tls_resync_tries: r.tls_resyncs.tries,
        tls_early_data_rejected: r.tls_early_rejected,
        truncated_files: i.truncations.len() as u64 + i.damaged_records,
        damaged_records: i.damaged_records,
        skipped_capture_bytes: i.skipped_capture_bytes,
        tunnelled_frames: i.tally.tunnelled_frames(),
        tunnels: i.tally.tunnels(),
        tunnel_endpoints,
        tunnel_endpoints_other,
        not_analysed: i.tally.record(i.packets, i.bytes),
        kernel_drops: live.map(|l| l.drops.kernel),
        interface_drops: live.map(|l| l.drops.interface),
        queue_drops: live.map(|l| l.drops.queue),
        warnings,
    }
}

pub(super) fn endpoint_record(e: &Endpoint) -> EndpointRecord {
    EndpointRecord {
        url: e.url(),
        origin: e.origin,
        detail: e.detail.clone(),
    }
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
                writeln!(out, "{:<40} {:<12} {}", r.url, r.origin.as_str(), r.detail)?;
            }
            for n in notes {
                writeln!(out, "note: {n}")?;
            }
            Ok(())
        }
    }
}

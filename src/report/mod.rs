//! **report**: presentation only. Typed records become report rows once, through one
//! [`rows::Redactor`]; rows stream into a [`sink::Sink`] as they are judged (JSON and JSON Lines
//! write them at once, the human formats keep only what they show), and the [`Report`] — what is
//! known only at the end, plus the rows kept for showing — closes the output. Renderers never
//! recompute anything: every figure they show is a field here.

pub mod blocks;
pub mod fastjson;
pub mod groups;
pub mod json;
pub mod markdown;
pub mod packed;
pub mod redact;
pub mod row_memo;
pub mod rows;
pub mod sink;
pub mod spool;
pub mod table;

use crate::time::Timestamp;
pub use rows::AddrText;
use serde::Serialize;
use std::borrow::Cow;

/// What closes a report: everything known only at the end of the pass, and the rows the human
/// formats keep to show (the first ones; `summary` has the true totals). JSON and JSON Lines
/// stream every row and ignore the kept ones.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub s3wire: ToolInfo,
    pub capture: CaptureSummary,
    pub quality: Quality,
    pub endpoints: Vec<EndpointRecord>,
    pub requests: Vec<RequestRecord>,
    pub attempts: Vec<AttemptRecord>,
    pub tls: Vec<TlsRecord>,
    pub operations: Vec<OperationCount>,
    pub findings: Vec<FindingRecord>,
    pub summary: Summary,
}

/// Totals over the whole pass (the kept rows may be fewer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub requests: u64,
    /// Requests sent in clear (scheme `http`).
    pub plaintext_requests: u64,
    pub tls_sessions: u64,
    pub attempts: u64,
    pub findings: u64,
    /// Findings per kind (`plaintext-to-https-endpoint`, …), kinds without findings left out.
    pub findings_by_kind: std::collections::BTreeMap<String, u64>,
    /// Requests with at least one finding.
    pub requests_with_findings: u64,
    /// Findings whose kind fails the run (exit status 1): see `fail_on`.
    pub failing_findings: u64,
    /// Findings shown as warnings: their kind does not fail the run.
    pub warning_findings: u64,
    /// Requests with at least one failing finding.
    pub failing_requests: u64,
    /// Connection attempts with a failing finding.
    pub failing_attempts: u64,
    /// Requests whose findings are all warnings.
    pub warned_requests: u64,
    /// `s3wire run`: requests and attempts with findings whose owner is unknown: their findings
    /// are warnings whatever their kind, and counted here rather than in `by_cause`.
    pub unknown_owner_with_findings: u64,
    /// Requests and attempts with findings, by their most serious kind (the order of
    /// `FindingKind::ALL`): each is counted once.
    pub by_cause: std::collections::BTreeMap<crate::policy::FindingKind, u64>,
    /// The finding kinds that fail the run (the default set, widened by `--fail-on`).
    pub fail_on: Vec<crate::policy::FindingKind>,
    /// Findings grouped by cause, failing groups first: what a reader looks at first.
    pub groups: Vec<groups::GroupRecord>,
    /// Findings of causes past the cap on groups (200), not in any group.
    pub findings_not_grouped: u64,
    /// `quality.not_analysed.warning`, repeated beside the verdict's figures: set when a large
    /// share of the capture was not analysed, so a clean summary may mean little.
    pub not_analysed_warning: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    pub version: String,
    /// The command line as given (redacted like everything else).
    pub command: Vec<String>,
    /// Whether secrets were redacted (false only with `--no-redact`).
    pub redacted: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CaptureSummary {
    pub sources: Vec<String>,
    pub link_types: Vec<String>,
    pub packets: u64,
    /// Bytes of captured frame data.
    pub bytes: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// Packets live capture lost (the sum of `drops`); null when the source cannot know.
    pub dropped: Option<u64>,
    /// Live capture: the packets lost, by where they were lost; null when the source cannot know.
    pub drops: Option<crate::source::Drops>,
    /// `s3wire run`: the command's exit status (128 + signal number when a signal ended it, as
    /// shells report it); null for other subcommands or when it could not be waited for.
    pub command_exit: Option<i32>,
    /// `s3wire run`: how the command's traffic was told from other processes'; null elsewhere
    /// and with `--all-traffic`.
    pub attribution: Option<AttributionMode>,
}

/// How `run` knew which connections were the command's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttributionMode {
    /// Exact: the command ran in a cgroup of its own, and only that cgroup's packets were
    /// captured.
    Cgroup,
    /// Best effort: each connection's process was looked up in `/proc`.
    Proc,
}

/// How complete the analysis is, so that "no findings" can be trusted (or not).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Quality {
    /// TCP connections that carried data.
    pub streams: u64,
    /// Holes in reassembled streams (lost or uncaptured segments).
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Segments whose payload the snaplen cut.
    pub truncated: u64,
    /// Streams whose protocol was neither HTTP nor TLS (or could not be parsed).
    pub unparsed_streams: u64,
    /// Connections dropped from the table to respect `--max-connections` or its memory bound.
    pub evicted_streams: u64,
    /// Connections whose start the capture missed.
    pub midstream_streams: u64,
    pub retransmitted_segments: u64,
    pub out_of_order_segments: u64,
    /// Times a connection skipped its holes early: what it held out of order did not fit the
    /// room the other connections leave in the connection table's memory bound.
    pub out_of_order_released: u64,
    /// Frames that were not TCP over IP (ARP, UDP, …), and frames that could not be decoded.
    pub non_tcp_frames: u64,
    pub undecodable_frames: u64,
    /// HTTP messages the parser had to skip or could not pair.
    pub http_anomalies: u64,
    /// Plaintext requests judged before a TLS session later in a long capture proved their
    /// host HTTPS (each is judged a bounded look-ahead after it completes): not findings, and a
    /// warning names the host. Always 0 when the endpoint was given with `--endpoint`.
    pub judged_before_proof: u64,
    /// Requests that never got a response in the capture.
    pub requests_without_response: u64,
    /// Request heads destroyed by a gap or unreadable: requests known to exist but not listed.
    pub requests_lost: u64,
    /// Requests listed from a head the capture cut short (snaplen, lost bytes): `truncated`.
    pub requests_cut: u64,
    /// TLS sessions whose records were not decrypted (no key log, no secrets, unsupported suite).
    pub tls_not_decrypted: u64,
    /// Holes in decrypted TLS streams after which a record opened again (framing and sequence
    /// number found by trial), holes after which none did within the bounds, and the AEAD
    /// trials spent on them.
    pub tls_resyncs: u64,
    pub tls_resync_failures: u64,
    pub tls_resync_tries: u64,
    /// TLS 1.3 early-data (0-RTT) records the server rejected: their request was not read by
    /// the server, and the client's retry after the handshake is the one listed.
    pub tls_early_data_rejected: u64,
    /// Places where a capture file was cut (it ended mid-record) or damaged (a corrupt record
    /// or block): the frames there are lost.
    pub truncated_files: u64,
    /// Damaged records or blocks stepped over to the next plausible one, and the bytes skipped.
    pub damaged_records: u64,
    pub skipped_capture_bytes: u64,
    /// Frames that came through at least one tunnel (VXLAN, Geneve, GRE, ERSPAN, IP-in-IP,
    /// MPLS), whether their inner packet was then analysed or not.
    pub tunnelled_frames: u64,
    /// Frames per kind of tunnel opened (`vxlan`, `geneve`, `gre`, `erspan`, `ip-in-ip`,
    /// `ipv6-in-ip`, `mpls`); a frame nested in two kinds counts in both.
    pub tunnels: std::collections::BTreeMap<String, u64>,
    /// The outermost tunnel endpoints seen (which mirror session or tunnel delivered the
    /// frames), at most 16, the first seen; frames of later ones in `tunnel_endpoints_other`.
    pub tunnel_endpoints: Vec<TunnelRecord>,
    pub tunnel_endpoints_other: u64,
    /// Frames not analysed (`non_tcp_frames` + `undecodable_frames`), by kind.
    pub not_analysed: NotAnalysed,
    /// Live capture: packets the kernel's ring had no room for (null offline).
    pub kernel_drops: Option<u64>,
    /// Live capture: packets the interface (NIC, driver) dropped (null offline).
    pub interface_drops: Option<u64>,
    /// Live capture: packets the queue between capture and analysis had no room for.
    pub queue_drops: Option<u64>,
    /// Human-readable warnings (truncated files, drops, …).
    pub warnings: Vec<String>,
}

/// What was not analysed, so a clean verdict can be weighed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NotAnalysed {
    pub frames: u64,
    /// Captured bytes of those frames.
    pub bytes: u64,
    /// The commonest kinds, most frames first (at most 8).
    pub kinds: Vec<SkippedKind>,
    /// Frames (and their bytes) of kinds not listed, or past the tally's bound of 32 kinds.
    pub other_frames: u64,
    pub other_bytes: u64,
    /// Set when a large share (a quarter or more) of the frames or bytes was not analysed:
    /// every format shows it beside the verdict.
    pub warning: Option<String>,
}

/// The outer addresses of a tunnel that delivered frames.
#[derive(Debug, Clone, Serialize)]
pub struct TunnelRecord {
    /// The outermost tunnel carried in IP (`vxlan`, `geneve`, `gre`, …).
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub frames: u64,
}

/// One kind of frame not analysed.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedKind {
    /// `ethertype`, `ip-protocol`, `udp-port`, `gre-protocol`, `address-family`, `ip-version`,
    /// `link-type`, `ip-fragment`, `malformed` or `tunnels-too-deep`.
    pub kind: String,
    /// The number: EtherType, protocol, port, family, version or link type (null for the rest).
    pub value: Option<u32>,
    /// How reports name it: `UDP port 6081`, `EtherType 0x0806 (ARP)`.
    pub name: String,
    pub frames: u64,
    pub bytes: u64,
}

/// A not-analysed share at or above this (of frames or of bytes) is worth saying beside the
/// verdict: past it, "nothing found" may only mean "nothing looked at".
const COVERAGE_WARN_PERCENT: u64 = 25;

/// The sentence for [`NotAnalysed::warning`], when the share calls for one.
pub fn coverage_warning(n: &NotAnalysed, packets: u64, bytes: u64) -> Option<String> {
    let pct = |part: u64, whole: u64| (part.saturating_mul(100)).checked_div(whole).unwrap_or(0);
    let (fp, bp) = (pct(n.frames, packets), pct(n.bytes, bytes));
    if n.frames == 0 || (fp < COVERAGE_WARN_PERCENT && bp < COVERAGE_WARN_PERCENT) {
        return None;
    }
    let kinds: Vec<String> = n
        .kinds
        .iter()
        .take(3)
        .map(|k| format!("{} ({} % of frames)", k.name, pct(k.frames, packets)))
        .collect();
    Some(format!(
        "{fp} % of frames ({} of {packets}) and {bp} % of bytes were not analysed: {}; \
         findings can only come from the frames that were",
        n.frames,
        kinds.join(", ")
    ))
}

/// The verdict with, beside it, what was not analysed when that is a large share: the line
/// every human format shows.
pub fn verdict_line(r: &Report) -> String {
    let text = verdict(&r.summary);
    match &r.quality.not_analysed.warning {
        Some(w) => format!("{text} Caution: {w}."),
        None => text,
    }
}

impl Quality {
    /// The completeness counters as short phrases, in the one order every human format uses.
    pub fn phrases(&self) -> Vec<String> {
        vec![
            format!("{} streams", self.streams),
            format!("{} gaps ({} bytes)", self.gaps, self.gap_bytes),
            format!("{} snaplen-truncated segments", self.truncated),
            format!("{} unparsed streams", self.unparsed_streams),
            format!("{} evicted", self.evicted_streams),
            format!("{} started mid-connection", self.midstream_streams),
            format!(
                "{} requests without response",
                self.requests_without_response
            ),
            format!("{} requests lost in gaps", self.requests_lost),
            format!("{} TLS sessions not decrypted", self.tls_not_decrypted),
        ]
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointRecord {
    pub url: String,
    pub origin: crate::policy::Origin,
    /// Where exactly the entry came from (flag, variable, config file section, what was seen).
    pub detail: String,
}

/// How a request travelled; the same notion the policy stage judges.
pub use crate::policy::Scheme;

#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub id: u64,
    pub time: Timestamp,
    pub scheme: Scheme,
    pub client: AddrText,
    pub server: AddrText,
    pub host: Option<Shared>,
    pub method: crate::proto::http::Token,
    /// The request target as sent (redacted); as far as seen when `truncated`.
    pub target: String,
    /// The capture cut the request's head short: method and target are what the wire shows.
    pub truncated: bool,
    pub operation: Option<&'static str>,
    pub bucket: Option<String>,
    pub key: Option<String>,
    /// Why the operation is unknown, or a note on how it was chosen.
    pub operation_note: Option<String>,
    /// `path`, `virtual-hosted`, `access-point`, … or `unresolved`.
    pub addressing: crate::s3::Addressing,
    pub status: Option<u16>,
    /// Interim 1xx statuses before the final one (e.g. 100 for `Expect: 100-continue`).
    pub interim: Vec<u16>,
    /// A 3xx response's `Location` (redacted).
    pub location: Option<String>,
    pub user_agent: Option<Shared>,
    /// The Authorization header's shape (redacted), when present.
    pub authorization: Option<String>,
    pub request_body_bytes: Option<u64>,
    pub response_body_bytes: Option<u64>,
    pub response_time: Option<Timestamp>,
    pub tls: Option<RequestTls>,
    /// Connection id (same value = same TCP connection).
    pub connection: u64,
    /// Live capture: the local process that owned the client socket (null offline or unknown).
    pub process: Option<ProcessInfo>,
    /// `s3wire run`: `command`, or `unknown` when its owner could not be found (never judged as
    /// the command's); null outside `run`.
    pub owner: Option<Owner>,
}

pub use crate::facts::{Owner, ProcessInfo, RequestTls, Shared};

#[derive(Debug, Clone, Serialize)]
pub struct AttemptRecord {
    pub time: Timestamp,
    pub client: AddrText,
    pub server: AddrText,
    pub outcome: crate::flow::AttemptOutcome,
    /// SYNs sent for this attempt (1 + retransmissions).
    pub syns: u32,
    /// `s3wire run`: as for requests.
    pub owner: Option<Owner>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TlsRecord {
    pub time: Timestamp,
    pub client: String,
    pub server: String,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// Negotiated version when the ServerHello was seen, else the highest offered.
    pub version: String,
    pub cipher: Option<String>,
    pub decrypted: bool,
    /// Why it was or was not decrypted (`decrypted`, `no key log given …`, `the key log has no
    /// secrets for this session`, `cipher suite 0x… is not decrypted`, …).
    pub decryption: String,
    /// Application data bytes each way (encrypted, not decrypted).
    pub client_bytes: u64,
    pub server_bytes: u64,
    pub connection: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationCount {
    pub operation: String,
    pub scheme: Scheme,
    pub count: u64,
}

/// A finding, flattened for presentation.
#[derive(Debug, Clone, Serialize)]
pub struct FindingRecord {
    pub kind: crate::policy::FindingKind,
    /// `error` when the kind fails the run, `warning` otherwise (see `summary.fail_on`).
    pub severity: crate::policy::Severity,
    pub operation: Option<&'static str>,
    pub bucket: Option<String>,
    pub key: Option<String>,
    /// The request id it is about (see `requests`), or null for an attempt.
    pub request: Option<u64>,
    /// Index into `attempts` for refused/unanswered attempts.
    pub attempt: Option<usize>,
    /// The endpoint as configured, or (origin `unconfigured`) as the request went.
    pub endpoint: String,
    pub origin: Cow<'static, str>,
    pub endpoint_detail: Cow<'static, str>,
    pub time: Timestamp,
    pub client: AddrText,
    pub server: AddrText,
    /// The request as seen: `METHOD http://host:port/target` (redacted).
    pub seen: Option<String>,
    pub user_agent: Option<Shared>,
    pub status: Option<u16>,
    pub hint: Cow<'static, str>,
    /// For attempts: what the operation may have been. Always a guess: no request bytes exist.
    pub guess: Option<GuessRecord>,
}

/// The one-line verdict every human format ends (or starts) with, and what the exit status
/// says: failing findings, then warnings.
pub fn verdict(s: &Summary) -> String {
    use crate::policy::FindingKind as K;
    let fails = |k: K| s.fail_on.contains(&k);
    let n = |k: K| s.by_cause.get(&k).copied().unwrap_or(0);
    let mut failing = Vec::new();
    let mut warnings = Vec::new();
    let plain = n(K::PlaintextToHttpsEndpoint) + n(K::PlaintextToTlsPort);
    if plain > 0 {
        failing.push(format!(
            "{} went in plaintext to an endpoint configured or proven HTTPS",
            plural(plain, "request")
        ));
    }
    if n(K::RefusedPlaintextAttempt) > 0 {
        failing.push(format!(
            "{} to an HTTPS endpoint's plaintext port sent no bytes (refused or unanswered)",
            plural(n(K::RefusedPlaintextAttempt), "connection attempt")
        ));
    }
    let creds = n(K::CredentialsInCleartext);
    if creds > 0 {
        let text = format!(
            "{} carried credentials in cleartext to an endpoint not configured as HTTPS",
            plural(creds, "request")
        );
        if fails(K::CredentialsInCleartext) {
            failing.push(text);
        } else {
            warnings.push(format!(
                "{text} (not failing the run; --fail-on credentials-in-cleartext makes it fail)"
            ));
        }
    }
    let mut text = if failing.is_empty() {
        "No plaintext S3 traffic to an HTTPS endpoint found.".to_string()
    } else {
        format!("{}.", failing.join("; "))
    };
    if s.unknown_owner_with_findings > 0 {
        warnings.push(format!(
            "{} with findings had an unknown owner (not attributed to the command)",
            plural(s.unknown_owner_with_findings, "request or attempt")
        ));
    }
    for w in warnings {
        text.push_str(&format!(" Warning: {w}."));
    }
    text
}

/// What every format says of findings about traffic whose owner `run` could not find.
pub const UNKNOWN_OWNER: &str = "owner unknown: not attributed to the command";

/// `1 request`, `2 requests`.
pub fn plural(n: u64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// A guess at an attempt's operation, from the same client's next request.
#[derive(Debug, Clone, Serialize)]
pub struct GuessRecord {
    pub operation: Option<&'static str>,
    /// The request the guess is taken from.
    pub request: u64,
    /// Why this request, and how far it was from the attempt.
    pub reason: String,
}

/// How every renderer shows a guessed operation. The policy stage's reasons start with "guess:"
/// or "weak guess:", so the word is always there.
pub fn guess_text(g: &GuessRecord) -> String {
    match &g.operation {
        Some(op) => format!("{op}? ({})", g.reason),
        None => format!("unknown ({})", g.reason),
    }
}

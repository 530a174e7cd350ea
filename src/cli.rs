//! The command line, as clap derive types only. `settings.rs` turns these into validated settings;
//! `--help`, the man page and completions all come from here.

use crate::policy::{Endpoint, EndpointError, Origin};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;

/// Which S3 calls went over the wire in plaintext, to an endpoint that was supposed to be HTTPS?
///
/// s3wire reads packets (capture files, a live interface, or the traffic of a command it runs),
/// reassembles every TCP stream, parses every HTTP exchange and TLS hello, names each S3 operation
/// and reports those sent in plaintext to an HTTPS endpoint.
///
/// Exit status: 0 analysed, nothing that fails the run (warnings may be shown); 1 analysed, S3
/// traffic went in plaintext to an HTTPS-configured or HTTPS-proven endpoint (or a kind named by
/// --fail-on was found); 2 could not analyse.
#[derive(Debug, Parser)]
#[command(name = "s3wire", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse pcap/pcapng capture files (or - for standard input).
    ///
    /// A pipe (`ssh host 'tcpdump -U -w - tcp' | s3wire analyze -`) is followed as it is written:
    /// each S3 request is printed as it completes, as in `capture`. Ctrl-C ends the input, not the
    /// report: what was read is analysed and reported, with the usual exit status; a second
    /// Ctrl-C quits at once (exit status 130).
    Analyze(AnalyzeArgs),
    /// Capture live from an interface (libpcap) until Ctrl-C, --duration or --count; print each
    /// S3 request as it completes, then the full report.
    Capture(CaptureArgs),
    /// Capture while COMMAND runs (with SSLKEYLOGFILE set for it) and report on its traffic only.
    /// The report goes to standard error (or --output): COMMAND's own output stays clean.
    Run(RunArgs),
    /// Print the endpoint policy (which endpoints count as HTTPS) and where each entry came from.
    Endpoints(EndpointArgs),
}

/// Where and what to capture live (shared by `capture` and `run`).
#[derive(Debug, Args, Clone)]
pub struct LiveArgs {
    /// Network interface to capture on (`any`: every interface, Linux).
    #[arg(long, short = 'i', default_value = "any", value_name = "IF")]
    pub interface: String,

    /// BPF capture filter (tcpdump syntax), applied in the kernel.
    #[arg(long, default_value = "tcp", value_name = "BPF")]
    pub filter: String,

    /// Also save the captured packets to FILE as pcapng (to attach to an issue or re-analyse).
    #[arg(long, short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    #[command(flatten)]
    pub live: LiveArgs,

    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    pub duration: Option<f64>,

    /// Stop after this many packets.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// An NSS key log (SSLKEYLOGFILE) to read TLS secrets from as it grows.
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,

    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub sanitize: SanitizeArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub live: LiveArgs,

    /// Report every connection seen, not only those of COMMAND and its children (without it,
    /// COMMAND runs in a cgroup v2 of its own whose packets alone are captured, where the
    /// machine has cgroup v2 and nft; else processes are looked up in /proc, and a connection
    /// whose process could not be found is listed with owner unknown, its findings warnings only).
    #[arg(long)]
    pub all_traffic: bool,

    /// Keep COMMAND's TLS key log (SSLKEYLOGFILE) at FILE instead of a removed temporary file.
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,

    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub sanitize: SanitizeArgs,

    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture files (pcap or pcapng, plain or gzip/zstd/lz4-compressed: told by content, not
    /// by name); `-` reads standard input. Several files are read in the order given, as one
    /// capture (e.g. files rotated by `tcpdump -W`). A pipe or FIFO is followed until it closes
    /// or Ctrl-C.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<String>,

    /// TLS key log (NSS format, as written by SSLKEYLOGFILE; repeatable) to decrypt HTTPS
    /// sessions, so their operations are named too. Key logs inside a pcapng (Decryption
    /// Secrets Blocks, `editcap --inject-secrets`) are used without this flag.
    #[arg(long = "keylog", value_name = "FILE")]
    pub keylogs: Vec<PathBuf>,

    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub sanitize: SanitizeArgs,
}

#[derive(Debug, Args)]
pub struct EndpointArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Output format (json and jsonl print the same list as machine records).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Where the configured endpoints come from.
#[derive(Debug, Args, Clone)]
pub struct PolicyArgs {
    /// An endpoint the client was configured with (repeatable). The scheme matters:
    /// `https://host` makes any plaintext request to `host` (any port) a finding.
    #[arg(long = "endpoint", value_name = "URL", value_parser = endpoint_flag)]
    pub endpoints: Vec<Endpoint>,

    /// AWS profile whose `endpoint_url` settings apply (default, as in botocore:
    /// $AWS_DEFAULT_PROFILE, else $AWS_PROFILE, else `default`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Ignore AWS_ENDPOINT_URL* variables and the AWS config file.
    #[arg(long)]
    pub no_aws_config: bool,

    /// HOST=IP: the address an endpoint's host had (repeatable, like curl's --resolve). Ties
    /// refused or unanswered connections, and requests whose Host the capture cut, to an
    /// endpoint when the capture itself never names the address (no TLS session or request to
    /// it).
    #[arg(long = "resolve", value_name = "HOST=IP", value_parser = host_address)]
    pub resolve: Vec<HostAddress>,
}

#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Report format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write the report to FILE instead of standard output (standard error for `run`); `-` is
    /// standard output, `./-` a file named `-`.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Colour in the table format.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Show signatures, session tokens and presigned credentials instead of redacting them.
    #[arg(long)]
    pub no_redact: bool,

    /// More detail (table: list every request).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only the findings' gist (table format).
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Finding kinds that also make the exit status 1 (comma-separated, or `all`). Without it,
    /// plaintext to an HTTPS endpoint, plaintext to a TLS port and refused plaintext attempts
    /// fail; `credentials-in-cleartext` to a host nobody configured as HTTPS is a warning.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND,…")]
    pub fail_on: Vec<FailOnKind>,
}

/// A value of `--fail-on`: a finding kind, or every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnKind {
    PlaintextToHttpsEndpoint,
    PlaintextToTlsPort,
    RefusedPlaintextAttempt,
    CredentialsInCleartext,
    All,
}

/// A capture fit to attach to an issue (`analyze`, `capture` and `run`).
#[derive(Debug, Args, Clone)]
pub struct SanitizeArgs {
    /// Also write a capture fit to attach to a public issue (pcapng): the HTTP exchanges, TLS
    /// handshakes and connection attempts the report describes, with bodies removed,
    /// signatures, tokens, presigned credentials and cookies scrubbed (whatever --no-redact
    /// says), TLS reduced to its hellos and no key log.
    #[arg(long, value_name = "FILE")]
    pub write_sanitized: Option<PathBuf>,

    /// With --write-sanitized: replace IP addresses (10.0.0.N, fd00::N) and host names
    /// (hostN.example) by stable placeholders; the endpoints to re-analyse it with are printed
    /// on standard error.
    #[arg(long, requires = "write_sanitized")]
    pub sanitize_addresses: bool,
}

/// Bounds that keep memory flat on any capture; what they drop is counted in `quality`.
#[derive(Debug, Args, Clone)]
pub struct LimitArgs {
    /// Connections tracked at once (least recently active is evicted beyond this).
    #[arg(long, default_value_t = 100_000, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Memory (MiB) the connection table may use: about 6,000 connections with data, or 36,000
    /// unanswered SYNs, per 20 MiB. Beyond it the least recently active connection is evicted
    /// (counted, with a warning). The default keeps s3wire within 64 MiB on hostile captures;
    /// raise it for captures of hosts with very many concurrent connections.
    #[arg(long, default_value_t = 20, value_name = "MIB",
          value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub connection_memory: u32,

    /// Requests listed by the table report (default 50; -v lists every one).
    /// Every request is analysed and judged whatever this is; JSON and JSON Lines list them all.
    #[arg(long, value_name = "N")]
    pub max_requests: Option<usize>,

    /// Threads to use (default: one per core). 1 keeps all the work on one thread; 2 or more
    /// run the analysis and the report on a thread each, with helper threads (more than two
    /// use no more yet). The report is the same, byte for byte, whatever the number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `--endpoint URL`, checked as clap parses it.
fn endpoint_flag(url: &str) -> Result<Endpoint, EndpointError> {
    Endpoint::parse(url, Origin::Flag, "--endpoint")
}

/// `--resolve HOST=IP`: the address an endpoint's host had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddress {
    pub host: String,
    pub ip: IpAddr,
}

fn host_address(s: &str) -> Result<HostAddress, String> {
    let expected = "expected HOST=IP, e.g. s3.example.com=10.0.0.5";
    let (host, ip) = s.split_once('=').ok_or(expected)?;
    let ip = ip
        .trim_matches(['[', ']'])
        .parse()
        .map_err(|_| format!("`{ip}` is not an IP address ({expected})"))?;
    if host.is_empty() {
        return Err(format!("no host before `=` ({expected})"));
    }
    Ok(HostAddress {
        host: host.to_string(),
        ip,
    })
}

/// A duration in seconds: finite and not negative.
fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err("expected a number of seconds, 0 or more (e.g. 30 or 2.5)".into()),
    }
}

impl OutputArgs {
    /// The file the report is written to; None for standard output (no --output, or `-`, as
    /// tcpdump's and tshark's `-w -` mean: a report meant for a pipe is not left in a file
    /// named `-`).
    pub fn file(&self) -> Option<&std::path::Path> {
        self.output.as_deref().filter(|p| !names_stdout(p))
    }
}

/// `-`, the name of standard output (`./-` names a file).
fn names_stdout(p: &std::path::Path) -> bool {
    p.as_os_str() == "-"
}

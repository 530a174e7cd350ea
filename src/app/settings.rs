//! Raw CLI flags → validated settings, in one step. Reads the environment and the AWS config
//! file here (the policy stage itself is pure and gets their contents).

use super::engine::Limits;
use super::error::{Error, ReportError, Result};
use crate::cli::{
    AnalyzeArgs, ColorChoice, FailOnKind, Format, LimitArgs, OutputArgs, PolicyArgs, SanitizeArgs,
};
use crate::flow::FlowLimits;
use crate::policy::{Endpoint, FailOn, FindingKind, Policy, aws_config};
use crate::proto::ProtoLimits;
use crate::report::sink::Shown;
use crate::report::table::TableStyle;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

pub struct Settings {
    /// What was read: capture files, or the live interface and filter.
    pub captures: Vec<String>,
    /// How the endpoint policy was resolved, where a reader should know (shown as warnings).
    pub policy_notes: Vec<String>,
    /// Key log files: (name for messages, contents).
    pub keylogs: Vec<(String, String)>,
    pub policy: Policy,
    pub hints: crate::s3::HostHints,
    pub output: OutputSettings,
    pub limits: Limits,
    /// Threads the analysis may use (at least 1).
    pub threads: usize,
    pub argv: Vec<String>,
    /// `--write-sanitized`, when given.
    pub sanitize: Option<SanitizeSettings>,
}

#[derive(Clone)]
pub struct SanitizeSettings {
    pub path: PathBuf,
    /// Replace addresses and host names by placeholders.
    pub map_names: bool,
    /// Print the placeholders of the configured endpoints on standard error (not when a JSON
    /// report goes there).
    pub announce: bool,
}

impl SanitizeSettings {
    pub fn from_args(a: &SanitizeArgs) -> Option<SanitizeSettings> {
        Some(SanitizeSettings {
            path: a.write_sanitized.clone()?,
            map_names: a.sanitize_addresses,
            announce: true,
        })
    }
}

#[derive(Clone)]
pub struct OutputSettings {
    pub format: Format,
    /// The report's file; None for standard output (or standard error, see `on_stderr`).
    pub path: Option<PathBuf>,
    /// `run` without --output: the report goes to standard error (standard output is the
    /// command's).
    pub on_stderr: bool,
    pub redact: bool,
    pub table: TableStyle,
    /// Rows the table and Markdown list (the rest are counted).
    pub shown: Shown,
    /// The finding kinds that fail the run.
    pub fail_on: FailOn,
}

/// Rows a human format lists by default: enough to read, few enough to stay on a screen.
const SHOWN_REQUESTS: usize = 50;
const SHOWN_FINDINGS: usize = 100;
const SHOWN_OTHER: usize = 50;

impl Settings {
    /// The settings every subcommand shares, resolved the same way for each: the endpoint
    /// policy (with its notes), output, limits. `captures` names what is read.
    pub fn new(
        policy: &PolicyArgs,
        output: &OutputArgs,
        limits: &LimitArgs,
        captures: Vec<String>,
        argv: Vec<String>,
    ) -> Result<Settings> {
        let (policy, policy_notes) = resolve_policy(policy)?;
        let hints = crate::s3::HostHints::new(policy.endpoints().map(Endpoint::url));
        Ok(Settings {
            policy_notes,
            captures,
            keylogs: Vec::new(),
            policy,
            hints,
            output: OutputSettings::from_args(output, limits),
            limits: self::limits(limits),
            threads: threads(limits),
            argv,
            sanitize: None,
        })
    }

    pub fn for_analyze(a: &AnalyzeArgs, argv: Vec<String>) -> Result<Settings> {
        if a.captures.iter().filter(|c| *c == "-").count() > 1 {
            return Err(Error::Usage(
                "standard input (-) can be read only once".into(),
            ));
        }
        let mut s = Settings::new(&a.policy, &a.output, &a.limits, a.captures.clone(), argv)?;
        s.sanitize = SanitizeSettings::from_args(&a.sanitize);
        for path in &a.keylogs {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Keylog {
                path: path.clone(),
                source,
            })?;
            s.keylogs.push((path.display().to_string(), text));
        }
        Ok(s)
    }
}

/// `--threads`, or one per core.
pub fn threads(l: &LimitArgs) -> usize {
    l.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    )
}

pub fn limits(l: &LimitArgs) -> Limits {
    Limits {
        flow: FlowLimits {
            max_connections: l.max_connections as usize,
            max_table_bytes: (l.connection_memory as usize) << 20,
            ..FlowLimits::default()
        },
        proto: ProtoLimits::default(),
    }
}

impl OutputSettings {
    pub fn from_args(o: &OutputArgs, l: &LimitArgs) -> OutputSettings {
        let to_terminal = o.file().is_none() && std::io::stdout().is_terminal();
        let format = o.format.unwrap_or(if to_terminal {
            Format::Table
        } else {
            Format::Json
        });
        let color = match o.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            // https://no-color.org: any non-empty NO_COLOR turns colour off.
            ColorChoice::Auto => {
                to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        let width = if to_terminal { terminal_width() } else { None };
        OutputSettings {
            format,
            path: o.file().map(Path::to_path_buf),
            on_stderr: false,
            redact: !o.no_redact,
            table: TableStyle {
                color,
                width,
                quiet: o.quiet,
            },
            shown: if o.verbose > 0 {
                Shown::all()
            } else {
                Shown {
                    requests: Some(l.max_requests.unwrap_or(SHOWN_REQUESTS)),
                    findings: Some(SHOWN_FINDINGS),
                    other: Some(SHOWN_OTHER),
                }
            },
            fail_on: fail_on(&o.fail_on),
        }
    }

    pub fn for_endpoints(format: Format) -> OutputSettings {
        OutputSettings {
            format,
            path: None,
            on_stderr: false,
            redact: true,
            table: TableStyle {
                color: false,
                width: terminal_width(),
                quiet: false,
            },
            shown: Shown::all(),
            fail_on: FailOn::default(),
        }
    }

    /// Where the report goes: the `--output` file or standard output (buffered).
    pub fn open(&self) -> std::io::Result<Box<dyn Write + Send>> {
        Ok(self.open_with_direct()?.0)
    }

    /// [`OutputSettings::open`], and a second handle on the same open file (sharing its
    /// offset) for what can be copied into it by the kernel: a JSON report's spooled rows,
    /// hundreds of MB on a busy capture (`Spool::copy_to`). None where one cannot be had.
    pub fn open_with_direct(
        &self,
    ) -> std::io::Result<(Box<dyn Write + Send>, Option<std::fs::File>)> {
        Ok(match &self.path {
            Some(p) => {
                let file = std::fs::File::create(p).map_err(|source| {
                    ReportError::Create {
                        path: p.clone(),
                        source,
                    }
                    .into_io()
                })?;
                let direct = file.try_clone().ok();
                let out = std::io::BufWriter::with_capacity(REPORT_BUFFER, file);
                (Box::new(out), direct)
            }
            None => {
                use std::os::fd::AsFd;
                let direct = std::io::stdout()
                    .as_fd()
                    .try_clone_to_owned()
                    .ok()
                    .map(std::fs::File::from);
                let out = std::io::BufWriter::with_capacity(REPORT_BUFFER, std::io::stdout());
                (Box::new(out), direct)
            }
        })
    }
}

/// The report's write buffer. A JSON report of a busy capture is larger than the capture (a
/// request and its finding are ~1.4 KB): 8 KiB writes made it ~140,000 system calls per GB.
/// Live capture flushes on its beat, so a large buffer delays nothing there.
const REPORT_BUFFER: usize = 1 << 18;

/// The default kinds, widened by `--fail-on`.
fn fail_on(kinds: &[FailOnKind]) -> FailOn {
    kinds.iter().fold(FailOn::default(), |f, k| match k {
        FailOnKind::All => FailOn::all(),
        FailOnKind::PlaintextToHttpsEndpoint => f.with(FindingKind::PlaintextToHttpsEndpoint),
        FailOnKind::PlaintextToTlsPort => f.with(FindingKind::PlaintextToTlsPort),
        FailOnKind::RefusedPlaintextAttempt => f.with(FindingKind::RefusedPlaintextAttempt),
        FailOnKind::CredentialsInCleartext => f.with(FindingKind::CredentialsInCleartext),
    })
}

fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or(Some(120))
}

/// Endpoints from the flags, the AWS environment and config file (unless `--no-aws-config`).
/// Also returns what a reader should know about how it was resolved (ignored endpoint settings,
/// a profile missing from the file, settings shadowed by others).
pub fn resolve_policy(p: &PolicyArgs) -> Result<(Policy, Vec<String>)> {
    let mut notes = Vec::new();
    let mut endpoints = p.endpoints.clone();
    if !p.no_aws_config {
        let env: HashMap<String, String> = std::env::vars().collect();
        let path = env
            .get("AWS_CONFIG_FILE")
            .map(PathBuf::from)
            .or_else(|| std::env::home_dir().map(|h| h.join(".aws").join("config")));
        let text = path.as_ref().and_then(|p| std::fs::read_to_string(p).ok());
        let label = path
            .as_ref()
            .map_or("~/.aws/config".into(), |p| p.display().to_string());
        let resolution =
            aws_config::resolve_detailed(&env, text.as_deref(), &label, p.profile.as_deref())?;
        endpoints.extend(resolution.endpoints);
        notes.extend(resolution.notes);
    }
    let mut policy = Policy::new(endpoints);
    for r in &p.resolve {
        policy.add_address(&r.host, r.ip, "--resolve");
    }
    Ok((policy, notes))
}

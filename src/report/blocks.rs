//! Findings for a terminal, as blocks: one per request or attempt, with every finding kind
//! about it in its heading and each distinct hint once. A table wraps long hints into columns
//! nobody can read at 3 a.m.; a block keeps the request line whole.

use super::{FindingRecord, Report, guess_text};
use crate::policy::Severity;
use std::io::{self, Write};

/// What one block is about.
#[derive(PartialEq, Eq)]
enum Subject {
    Request(u64),
    Attempt(usize),
    Other(usize),
}

fn subject(i: usize, f: &FindingRecord) -> Subject {
    match (f.request, f.attempt) {
        (Some(r), _) => Subject::Request(r),
        (None, Some(a)) => Subject::Attempt(a),
        _ => Subject::Other(i),
    }
}

/// Findings grouped by what they are about (one request or attempt), in order of first
/// appearance: every format shows one entry per request, carrying all its kinds.
pub fn by_subject(r: &Report) -> Vec<Vec<&FindingRecord>> {
    let mut out: Vec<(Subject, Vec<&FindingRecord>)> = Vec::new();
    for (i, f) in r.findings.iter().enumerate() {
        let s = subject(i, f);
        match out.iter_mut().find(|(k, _)| *k == s) {
            Some((_, v)) => v.push(f),
            None => out.push((s, vec![f])),
        }
    }
    out.into_iter().map(|(_, v)| v).collect()
}

pub fn write_findings(r: &Report, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let (red, yellow, bold, dim, reset) = if color {
        ("\x1b[1;31m", "\x1b[1;33m", "\x1b[1m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "", "", "")
    };
    writeln!(out, "\n{bold}Findings{reset}")?;
    for group in by_subject(r) {
        let f = group[0];
        let kinds: Vec<&str> = group.iter().map(|g| g.kind.as_str()).collect();
        let what = match (&f.operation, &f.guess) {
            (Some(op), _) => op.to_string(),
            (None, Some(g)) => guess_text(g),
            (None, None) => "operation unknown".into(),
        };
        let object = [f.bucket.as_deref(), f.key.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/");
        let (mark, tone) = if group.iter().any(|g| g.severity == Severity::Error) {
            ("✗", red)
        } else {
            ("⚠", yellow)
        };
        writeln!(
            out,
            "\n{tone}{mark} {what}{reset} {object}  {dim}[{}]{reset}",
            kinds.join(", ")
        )?;
        let status = f.status.map_or(String::new(), |s| format!("  → {s}"));
        let seen = f
            .seen
            .clone()
            .unwrap_or_else(|| "no request bytes left the client".into());
        writeln!(out, "  {}  {seen}{status}", f.time.rfc3339())?;
        writeln!(
            out,
            "  {} → {}{}",
            f.client,
            f.server,
            f.user_agent
                .as_ref()
                .map_or(String::new(), |u| format!("  {dim}{u}{reset}"))
        )?;
        if f.origin == super::groups::UNCONFIGURED {
            writeln!(out, "  endpoint: {} (not configured as HTTPS)", f.endpoint)?;
        } else {
            writeln!(
                out,
                "  expected: {} ({}: {})",
                f.endpoint, f.origin, f.endpoint_detail
            )?;
        }
        let mut hints: Vec<&str> = Vec::new();
        for g in &group {
            if !hints.contains(&g.hint.as_ref()) {
                hints.push(&g.hint);
            }
        }
        for h in hints {
            writeln!(out, "  {bold}hint:{reset} {h}")?;
        }
    }
    Ok(())
}

//! Setting a live session up: Ctrl-C, the capture (and SYN watcher) threads, the settings.

use super::QUEUE_BYTES;
use super::procs::{self, Procs, lock};
use crate::app::error::{Error, Result};
use crate::app::settings::{OutputSettings, Settings};
use crate::cli::{Format, LimitArgs, LiveArgs, OutputArgs, PolicyArgs};
use crate::source::capture_thread::CaptureThread;
use crate::source::live::{LiveError, LiveOptions, LiveSource};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Ctrl-C sets a counter instead of killing s3wire, so the report is still printed (and in `run`
/// the command, which got the same SIGINT from the terminal, decides when it is done). The
/// `ctrlc` crate is used because std has no signal API and a raw `sigaction` would need `unsafe`.
pub fn interrupt_counter() -> Result<Arc<AtomicU32>> {
    let n = Arc::new(AtomicU32::new(0));
    let handler = n.clone();
    ctrlc::set_handler(move || {
        handler.fetch_add(1, Ordering::SeqCst);
    })
    .map_err(|e| Error::Signal(e.to_string()))?;
    Ok(n)
}

/// The capture thread, and the SYN watcher: a second, immediate-mode capture of the clients'
/// SYNs only, whose thread looks each connection's process up as the SYN is sent, while the
/// socket surely exists. Neither the capture nor the analysis waits for `/proc`, and the
/// capture's ring can batch packets (see `source::live`) without delaying the lookups.
pub fn open_source(
    interface: &str,
    filter: &str,
    procs: Option<&Arc<Mutex<Procs>>>,
) -> Result<CaptureThread> {
    let source = LiveSource::open(&LiveOptions::new(interface, filter))?;
    let thread_error = |e: std::io::Error| {
        Error::Live(LiveError::Capture {
            interface: interface.to_string(),
            detail: format!("cannot start a thread: {e}"),
        })
    };
    if let Some(procs) = procs {
        let syns = LiveSource::open(&LiveOptions {
            snaplen: 256,
            buffer_bytes: 4 << 20,
            immediate: true,
            ..LiveOptions::new(interface, &crate::source::live::syn_filter(filter))
        })?;
        let at_syn = Arc::downgrade(&lock(procs).at_syn);
        std::thread::Builder::new()
            .name("s3wire-syns".into())
            .spawn(move || procs::watch_syns(syns, &at_syn))
            .map_err(thread_error)?;
    }
    CaptureThread::start(source, QUEUE_BYTES).map_err(thread_error)
}

/// The shared settings, naming the interface and filter as what was read.
pub fn settings(
    policy: &PolicyArgs,
    output: &OutputArgs,
    limits: &LimitArgs,
    argv: Vec<String>,
    live: &LiveArgs,
) -> Result<Settings> {
    let what = format!("live:{} (filter: {})", live.interface, live.filter);
    Settings::new(policy, output, limits, vec![what], argv)
}

/// `run` keeps standard output for the command: the report goes to standard error unless
/// `--output` says where (a file, or `-`, standard output), and its default format and colour
/// follow standard error.
pub fn report_to_stderr(mut out: OutputSettings, o: &OutputArgs) -> OutputSettings {
    if o.output.is_some() {
        return out;
    }
    out.on_stderr = true;
    let tty = std::io::stderr().is_terminal();
    if o.format.is_none() {
        out.format = if tty { Format::Table } else { Format::Json };
    }
    out.table.color = match o.color {
        crate::cli::ColorChoice::Always => true,
        crate::cli::ColorChoice::Never => false,
        crate::cli::ColorChoice::Auto => {
            tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    out.table.width = if tty { Some(120) } else { None };
    out
}

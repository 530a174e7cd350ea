//! The report side of an analysis: judged items → rows (through the one redactor) → the sink,
//! with the totals of the summary. It runs on a thread of its own when there is a core for it:
//! making rows, redacting and serialising cost about as much as reading the packets, so the two
//! halves of the pipeline overlap. One writer, fed in order, so the output is byte-identical
//! whatever the number of threads.

use crate::policy::{Judged, Scheme};
use crate::report::rows::Redactor;
use crate::report::sink::{Row, Sink};
use crate::report::{Report, Summary, TlsRecord};
use std::io;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// What the analysis hands to the report side, in order.
pub enum Item {
    Judged(Judged),
    Session(TlsRecord),
}

/// Items per message to the writer thread: large enough that the channel costs nothing per
/// request, small enough that live output is not held back (a flush sends what there is).
const BATCH: usize = 512;
/// Messages in flight: bounds the memory between the halves (`BATCH` × this items).
const IN_FLIGHT: usize = 8;

/// Rows into a sink, counting as it goes.
pub struct Writer {
    redactor: Redactor,
    sink: Box<dyn Sink + Send>,
    pub summary: Summary,
}

impl Writer {
    pub fn new(redactor: Redactor, sink: Box<dyn Sink + Send>) -> Writer {
        Writer {
            redactor,
            sink,
            summary: Summary::default(),
        }
    }

    fn item(&mut self, item: &Item) -> io::Result<()> {
        let j = match item {
            Item::Session(t) => {
                self.summary.tls_sessions += 1;
                return match self.sink.wants(Row::Tls) {
                    true => self.sink.tls(t),
                    false => Ok(()),
                };
            }
            Item::Judged(j) => j,
        };
        let findings = match j {
            Judged::Request(r, f) => {
                let s = &mut self.summary;
                s.requests += 1;
                s.plaintext_requests += u64::from(r.scheme == Scheme::Http);
                s.requests_with_findings += u64::from(!f.is_empty());
                if self.sink.wants(Row::Request) {
                    self.sink.request(&self.redactor.request(r))?;
                }
                f.as_slice()
            }
            Judged::Attempt(_, a, f) => {
                self.summary.attempts += 1;
                if self.sink.wants(Row::Attempt) {
                    self.sink.attempt(&self.redactor.attempt(a))?;
                }
                f.as_deref().map_or(&[][..], std::slice::from_ref)
            }
        };
        for f in findings {
            self.summary.findings += 1;
            let kind = f.kind.as_str();
            match self.summary.findings_by_kind.get_mut(kind) {
                Some(n) => *n += 1,
                None => {
                    self.summary.findings_by_kind.insert(kind.to_string(), 1);
                }
            }
            if self.sink.wants(Row::Finding) {
                self.sink.finding(&self.redactor.finding(f))?;
            }
        }
        Ok(())
    }

    /// The end of the report, with the totals counted here.
    pub fn finish(mut self, report: &mut Report) -> io::Result<()> {
        report.summary = std::mem::take(&mut self.summary);
        self.sink.finish(report)
    }
}

pub enum Msg {
    Items(Vec<Item>),
    Flush,
}

/// The writer, inline or on its own thread.
pub enum Output {
    Inline(Writer),
    Thread {
        batch: Vec<Item>,
        tx: SyncSender<Msg>,
        /// Batches the writer is done with, to be dropped here: what this thread allocated is
        /// freed by this thread (glibc's allocator pays dearly for frees from another thread).
        spent: Receiver<Vec<Item>>,
        /// Taken when joined.
        handle: Option<JoinHandle<io::Result<Writer>>>,
    },
}

impl Output {
    /// On a thread of its own when `threaded` (the thread is named `s3wire-report`).
    pub fn new(writer: Writer, threaded: bool) -> io::Result<Output> {
        if !threaded {
            return Ok(Output::Inline(writer));
        }
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let (back, spent) = sync_channel(IN_FLIGHT + 2);
        let handle = std::thread::Builder::new()
            .name("s3wire-report".into())
            .spawn(move || serve(writer, rx, back))?;
        Ok(Output::Thread {
            batch: Vec::with_capacity(BATCH),
            tx,
            spent,
            handle: Some(handle),
        })
    }

    pub fn push(&mut self, item: Item) -> io::Result<()> {
        match self {
            Output::Inline(w) => w.item(&item),
            Output::Thread { batch, .. } => {
                batch.push(item);
                if batch.len() >= BATCH {
                    self.send(false)?;
                }
                Ok(())
            }
        }
    }

    /// What was pushed, written through to the output (live capture, on its beat).
    pub fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Inline(w) => w.sink.flush(),
            Output::Thread { .. } => self.send(true),
        }
    }

    fn send(&mut self, flush: bool) -> io::Result<()> {
        let Output::Thread {
            batch, tx, spent, ..
        } = self
        else {
            return Ok(());
        };
        let mut sent = Ok(());
        if !batch.is_empty() {
            // Drop what the writer finished with, here, and reuse one of its vectors.
            let mut next = None;
            while let Ok(mut done) = spent.try_recv() {
                done.clear();
                next = Some(done);
            }
            let next = next.unwrap_or_else(|| Vec::with_capacity(BATCH));
            let items = std::mem::replace(batch, next);
            sent = tx.send(Msg::Items(items));
        }
        if flush && sent.is_ok() {
            sent = tx.send(Msg::Flush);
        }
        // The writer stopped (its output failed): its error says why.
        match sent {
            Ok(()) => Ok(()),
            Err(_) => Err(self.stopped()),
        }
    }

    /// Why the writer thread stopped early (its output failed): its own error.
    fn stopped(&mut self) -> io::Error {
        let Output::Thread { handle, .. } = self else {
            return io::Error::other("the report writer stopped");
        };
        match handle.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => io::Error::other("the report writer panicked"),
            _ => io::Error::other("the report writer stopped"),
        }
    }

    /// Everything pushed written; the writer back, for the end of the report.
    pub fn close(mut self) -> io::Result<Writer> {
        self.send(false)?;
        match self {
            Output::Inline(w) => Ok(w),
            Output::Thread { tx, handle, .. } => {
                drop(tx);
                match handle.map(JoinHandle::join) {
                    Some(Ok(result)) => result,
                    Some(Err(_)) => Err(io::Error::other("the report writer panicked")),
                    None => Err(io::Error::other("the report writer stopped")),
                }
            }
        }
    }
}

/// The writer thread: items in, until the analysis hangs up; the first error ends it. Batches
/// go back to be dropped by the thread that made them.
fn serve(mut w: Writer, rx: Receiver<Msg>, back: SyncSender<Vec<Item>>) -> io::Result<Writer> {
    for msg in rx {
        match msg {
            Msg::Items(items) => {
                for item in &items {
                    w.item(item)?;
                }
                // When the analysis is not taking them back (it is between batches), drop
                // here rather than wait.
                let _ = back.try_send(items);
            }
            Msg::Flush => w.sink.flush()?,
        }
    }
    Ok(w)
}

//! The report side of an analysis: facts → the judge → rows (through the one redactor) → the
//! sink, with the totals of the summary. It runs on a thread of its own when there is a core
//! for it: judging, making rows, redacting and serialising cost about as much as reading,
//! reassembling and parsing the packets, so the two halves of the pipeline overlap. One judge and
//! one writer, fed in order, so the output is byte-identical whatever the number of threads.

use super::records::{Classifier, Fact};
use crate::facts::{Owner, Request};
use crate::policy::{FailOn, Finding, Judge, Judged, Scheme, Severity};
use crate::report::groups::Groups;
use crate::report::rows::{AddrMemo, FindingOfRow, Redactor};
use crate::report::sink::{Row, Sink};
use crate::report::{Report, Summary};
use crate::time::Timestamp;
use std::io;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// What the analysis hands to the report side, in order.
pub type Item = Fact;

/// Items per message to the writer thread: large enough that the channel costs nothing per
/// request, small enough that live output is not held back (a flush sends what there is).
const BATCH: usize = 512;
/// Messages in flight: bounds the memory between the halves (`BATCH` × this items).
const IN_FLIGHT: usize = 8;

/// Facts judged, judged items made rows, rows into a sink, counting as it goes.
pub struct Writer {
    /// Classifies the requests that come unclassified ([`Fact::Exchange`]).
    pub classifier: Classifier,
    pub judge: Judge,
    judged: Vec<Judged>,
    /// The requests written in this run, emptied of their strings, and their findings: dropped
    /// together at the run's end (see [`Writer::write_judged`]).
    spent: Vec<(Box<Request>, Vec<Finding>)>,
    redactor: Redactor,
    /// The addresses' text of the last request row (see [`AddrMemo`]).
    addrs: AddrMemo,
    fail_on: FailOn,
    groups: Groups,
    sink: Box<dyn Sink + Send>,
    /// The totals but for the two below, counted in arrays by kind (the maps' lookups, a
    /// string comparison each, were made for every finding): read through
    /// [`Writer::summary`], which adds them.
    summary: Summary,
    /// Findings by kind, and requests and attempts by their most serious kind (`by_cause`):
    /// indexed by [`crate::policy::FindingKind::rank`].
    by_kind: [u64; KINDS],
    by_cause: [u64; KINDS],
}

/// Finding kinds there are.
const KINDS: usize = crate::policy::FindingKind::ALL.len();

impl Writer {
    /// The judge is told to make requests' findings lean ([`Judge::lean_findings`]): a
    /// finding's row is made from its request's row, or the finding filled from its request.
    pub fn new(
        classifier: Classifier,
        mut judge: Judge,
        redactor: Redactor,
        fail_on: FailOn,
        sink: Box<dyn Sink + Send>,
    ) -> Writer {
        judge.lean_findings();
        Writer {
            classifier,
            judge,
            judged: Vec::new(),
            spent: Vec::new(),
            redactor,
            addrs: AddrMemo::default(),
            fail_on,
            groups: Groups::new(fail_on, redactor),
            sink,
            summary: Summary::default(),
            by_kind: [0; KINDS],
            by_cause: [0; KINDS],
        }
    }

    /// One item judged; what it judged waits for [`Writer::write_judged`], which the caller
    /// calls once for a run of items. Judging a run, then writing it, keeps each half's code
    /// in the instruction cache: judged and written item by item, the two together missed it
    /// some 175 times a request (`scripts/thread-instructions --cache` on dense-50k, report
    /// thread, release builds: 4.37 M misses; 1.42 M in runs). A TLS session's row is written
    /// where it comes, after what was judged before it, so the rows' order does not depend on
    /// the runs.
    fn take(&mut self, item: Item) -> io::Result<()> {
        match item {
            Fact::Hello(h) => self.judge.tls(&h),
            Fact::Request(r) => self.judge.request(r, &mut self.judged),
            Fact::Exchange(mut d) => {
                let r = self.classifier.request(&mut d);
                self.judge.request(r, &mut self.judged);
            }
            Fact::Attempt(a) => self.judge.attempt(*a, &mut self.judged),
            Fact::Session(t) => {
                self.write_judged()?;
                self.summary.tls_sessions += 1;
                if self.sink.wants(Row::Tls) {
                    self.sink.tls(&t)?;
                }
            }
        }
        Ok(())
    }

    /// Live capture: judge what has waited since before `t`.
    fn flush_before(&mut self, t: Timestamp) -> io::Result<()> {
        self.judge.flush_before(t, &mut self.judged);
        self.write_judged()?;
        self.sink.flush()
    }

    /// The end of the input: everything still waiting is judged.
    pub fn finish_judging(&mut self) -> io::Result<()> {
        self.judge.finish(&mut self.judged);
        self.write_judged()
    }

    /// What was judged, grouped, then written; then what it left, dropped. Each a run of its
    /// own: grouped, written and dropped request by request, the code did not fit in the
    /// instruction cache (as measured in [`Writer::take`]: 1.42 M instruction-cache misses
    /// and 1.92 M data-cache misses written in runs but dropped one by one; 0.18 M and
    /// 2.07 M dropped in runs; 0.29 M and 2.07 M grouped in runs too). How many misses also
    /// depends on where the code lands: the same source built with line tables missed 1.37 M
    /// times before the groups had a run of their own, 0.29 M since.
    fn write_judged(&mut self) -> io::Result<()> {
        let mut judged = std::mem::take(&mut self.judged);
        // Grouped first, all of the run in order (the groups are read only at the end).
        for j in &judged {
            self.group(j);
        }
        let written = judged.drain(..).try_for_each(|j| self.row(j));
        self.spent.clear();
        self.judged = judged;
        written
    }

    /// A judged request's or attempt's findings into the summary's groups. A request's
    /// findings are lean (the judge was told so in `new`) and take its Host and User-Agent
    /// from it, so it is grouped while it is whole, before its row takes its strings.
    fn group(&mut self, j: &Judged) {
        match j {
            Judged::Request(r, findings) => {
                let process = r.process.as_ref().map(|p| p.name.as_str());
                self.groups.add_about(findings, Some(r), process, r.owner);
            }
            Judged::Attempt(_, a, f) => {
                let f = f.as_deref().map(std::slice::from_ref).unwrap_or_default();
                self.groups.add(f, None, a.owner);
            }
        }
    }

    /// One judged request or attempt, consumed: its strings move into the report rows.
    fn row(&mut self, j: Judged) -> io::Result<()> {
        match j {
            Judged::Request(r, f) => self.request_row(r, f),
            Judged::Attempt(_, a, f) => {
                self.summary.attempts += 1;
                if self.sink.wants(Row::Attempt) {
                    self.sink.attempt(&self.redactor.attempt(&a))?;
                }
                let f = f.map(|f| vec![*f]).unwrap_or_default();
                let unknown = self.tally(&f, a.owner, false);
                self.finding_rows(f, None, a.owner, unknown)
            }
        }
    }

    /// A judged request: its row, then its findings' rows made from it. The row stays where it
    /// was made (moving it into an `Option` to keep it was ~110 instructions a request).
    fn request_row(&mut self, mut r: Box<Request>, findings: Vec<Finding>) -> io::Result<()> {
        let s = &mut self.summary;
        s.requests += 1;
        s.plaintext_requests += u64::from(r.scheme == Scheme::Http);
        s.requests_with_findings += u64::from(!findings.is_empty());
        let owner = r.owner;
        if !self.sink.wants(Row::Request) {
            // No row to take the request's strings from: a finding whose row is made takes
            // copies of them.
            let unknown = self.tally(&findings, owner, true);
            return self.finding_rows(findings, Some(&r), owner, unknown);
        }
        let addrs = (r.client, r.server);
        let record = self.redactor.take_request(&mut r, &mut self.addrs);
        self.sink.request(&record)?;
        let unknown = self.tally(&findings, owner, true);
        // A request's findings are borrowed: each moved out of the Vec was copied (some 390
        // bytes, a `memcpy` call) three times on its way to the sink, 2% of the report thread.
        for f in &findings {
            let Some(severity) = self.count_finding(f, owner) else {
                continue;
            };
            self.sink.request_finding(&FindingOfRow {
                finding: f,
                severity,
                row: &record,
                addrs,
                redactor: self.redactor,
                unknown_owner: unknown,
            })?;
        }
        self.spent.push((r, findings));
        Ok(())
    }

    /// A request's or attempt's findings counted in the verdict's totals; whether its owner
    /// is unknown. `run`: traffic whose owner is unknown is listed, but judged apart: its
    /// findings are warnings whatever their kind, so it never fails the run as the command's.
    fn tally(&mut self, findings: &[Finding], owner: Option<Owner>, is_request: bool) -> bool {
        let unknown = owner == Some(Owner::Unknown);
        let failing = findings
            .iter()
            .any(|f| self.fail_on.severity_for(f.kind, owner) == Severity::Error);
        if unknown && !findings.is_empty() {
            self.summary.unknown_owner_with_findings += 1;
        } else if let Some(cause) = findings.iter().map(|f| f.kind.rank()).min()
            && let Some(n) = self.by_cause.get_mut(cause)
        {
            *n += 1;
        }
        match (is_request, failing) {
            (_, _) if findings.is_empty() => {}
            (true, true) => self.summary.failing_requests += 1,
            (true, false) => self.summary.warned_requests += 1,
            (false, true) => self.summary.failing_attempts += 1,
            (false, false) => {}
        }
        unknown
    }

    /// Findings without a request row to be made from, each a row of its own; a request's
    /// (`of`) are made whole from it only when their row is made (a human format keeps the
    /// first hundred: copying the request's six strings into every other was 5% of the
    /// writer's work on a request-dense capture).
    fn finding_rows(
        &mut self,
        findings: Vec<Finding>,
        of: Option<&Request>,
        owner: Option<Owner>,
        unknown: bool,
    ) -> io::Result<()> {
        for mut f in findings {
            let Some(severity) = self.count_finding(&f, owner) else {
                continue;
            };
            if let Some(r) = of {
                f.fill(r);
            }
            let record = self.redactor.finding(f, severity).owner_unknown(unknown);
            self.sink.finding(&record)?;
        }
        Ok(())
    }

    /// One finding counted in the totals: its severity when the sink wants its row.
    fn count_finding(&mut self, f: &Finding, owner: Option<Owner>) -> Option<Severity> {
        let severity = self.fail_on.severity_for(f.kind, owner);
        self.summary.findings += 1;
        match severity {
            Severity::Error => self.summary.failing_findings += 1,
            Severity::Warning => self.summary.warning_findings += 1,
        }
        if let Some(n) = self.by_kind.get_mut(f.kind.rank()) {
            *n += 1;
        }
        self.sink.wants(Row::Finding).then_some(severity)
    }

    /// The totals counted so far.
    pub fn summary(&self) -> Summary {
        let mut s = self.summary.clone();
        for kind in crate::policy::FindingKind::ALL {
            let n = |counts: &[u64; KINDS]| counts.get(kind.rank()).copied().unwrap_or(0);
            if n(&self.by_kind) > 0 {
                s.findings_by_kind
                    .insert(kind.as_str().to_string(), n(&self.by_kind));
            }
            if n(&self.by_cause) > 0 {
                s.by_cause.insert(kind, n(&self.by_cause));
            }
        }
        s
    }

    /// The end of the report, with the totals counted here.
    pub fn finish(mut self, report: &mut Report) -> io::Result<()> {
        report.summary = self.summary();
        report.summary.fail_on = self.fail_on.kinds().collect();
        report.summary.groups = self.groups.records();
        report.summary.findings_not_grouped = self.groups.not_grouped;
        report.summary.not_analysed_warning = report.quality.not_analysed.warning.clone();
        self.sink.finish(report)
    }
}

pub enum Msg {
    Items(Vec<Item>),
    /// Judge what waited since before this time, and write through.
    FlushBefore(Timestamp),
}

/// The writer, inline or on its own thread.
pub enum Output {
    Inline(Box<Writer>),
    Thread {
        batch: Vec<Item>,
        tx: SyncSender<Msg>,
        /// Emptied batches back from the writer, to be filled again.
        spent: Receiver<Vec<Item>>,
        /// Taken when joined.
        handle: Option<JoinHandle<io::Result<Writer>>>,
    },
}

impl Output {
    /// On a thread of its own when `threaded` (the thread is named `s3wire-report`).
    pub fn new(writer: Writer, threaded: bool) -> io::Result<Output> {
        if !threaded {
            return Ok(Output::Inline(Box::new(writer)));
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

    /// One item for the report side; on this thread, judged now and written at the next
    /// [`Output::pushed`].
    pub fn push(&mut self, item: Item) -> io::Result<()> {
        match self {
            Output::Inline(w) => w.take(item),
            Output::Thread { batch, .. } => {
                batch.push(item);
                if batch.len() >= BATCH {
                    self.send(None)?;
                }
                Ok(())
            }
        }
    }

    /// The end of a run of [`Output::push`]es: on this thread, what they judged is written
    /// (see [`Writer::take`]); the writer thread writes each batch's at its end.
    pub fn pushed(&mut self) -> io::Result<()> {
        match self {
            Output::Inline(w) => w.write_judged(),
            Output::Thread { .. } => Ok(()),
        }
    }

    /// Live capture, on its beat: what waited since before `t` judged, and everything written
    /// through to the output.
    pub fn flush_before(&mut self, t: Timestamp) -> io::Result<()> {
        match self {
            Output::Inline(w) => w.flush_before(t),
            Output::Thread { .. } => self.send(Some(t)),
        }
    }

    fn send(&mut self, flush: Option<Timestamp>) -> io::Result<()> {
        let Output::Thread {
            batch, tx, spent, ..
        } = self
        else {
            return Ok(());
        };
        let mut sent = Ok(());
        if !batch.is_empty() {
            let next = spent
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(BATCH));
            let items = std::mem::replace(batch, next);
            sent = tx.send(Msg::Items(items));
        }
        if let Some(t) = flush.filter(|_| sent.is_ok()) {
            sent = tx.send(Msg::FlushBefore(t));
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
        self.send(None)?;
        match self {
            Output::Inline(w) => Ok(*w),
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

/// The writer thread: items in, until the analysis hangs up; the first error ends it. Emptied
/// batches go back to be filled again (when the analysis is not taking them, dropped).
fn serve(mut w: Writer, rx: Receiver<Msg>, back: SyncSender<Vec<Item>>) -> io::Result<Writer> {
    let mut classified = Vec::with_capacity(BATCH);
    for msg in rx {
        match msg {
            Msg::Items(mut items) => {
                // The batch's requests classified first, all together, then judged, then
                // written: a run of one kind of work keeps its code in the cache (the same
                // reason the analysis drains its facts in runs; see `Writer::take`).
                classified.extend(items.drain(..).map(|item| match item {
                    Fact::Exchange(mut d) => Fact::Request(w.classifier.request(&mut d)),
                    other => other,
                }));
                for item in classified.drain(..) {
                    w.take(item)?;
                }
                w.write_judged()?;
                let _ = back.try_send(items);
            }
            Msg::FlushBefore(t) => w.flush_before(t)?,
        }
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Request;
    use crate::policy::{Endpoint, FindingKind, Origin, Policy};
    use crate::report::{AttemptRecord, FindingRecord, RequestRecord, TlsRecord};
    use std::sync::{Arc, Mutex};

    /// The rows as written, for the test to look at.
    #[derive(Clone, Default)]
    struct Rows(Arc<Mutex<(Vec<RequestRecord>, Vec<FindingRecord>)>>);

    impl Sink for Rows {
        fn request(&mut self, r: &RequestRecord) -> io::Result<()> {
            self.0.lock().unwrap().0.push(r.clone());
            Ok(())
        }
        fn finding(&mut self, f: &FindingRecord) -> io::Result<()> {
            self.0.lock().unwrap().1.push(f.clone());
            Ok(())
        }
        fn attempt(&mut self, _: &AttemptRecord) -> io::Result<()> {
            Ok(())
        }
        fn tls(&mut self, _: &TlsRecord) -> io::Result<()> {
            Ok(())
        }
        fn finish(&mut self, _: &mut Report) -> io::Result<()> {
            Ok(())
        }
    }

    fn plaintext_to_https(id: u64, owner: Option<Owner>) -> Item {
        Fact::Request(Box::new(Request {
            host: Some("s3.local.test".into()),
            owner,
            ..Request::sample(
                id,
                Timestamp(1_000 + id as i64),
                "127.0.0.1:40000",
                "127.0.0.1:80",
            )
        }))
    }

    /// `run`'s /proc fallback: the command's plaintext request to an HTTPS endpoint fails the
    /// run; the same request from an unknown owner is listed, marked, and only warned about.
    #[test]
    fn an_unknown_owners_plaintext_request_is_a_warning_apart_from_the_commands() {
        let endpoint =
            Endpoint::parse("https://s3.local.test", Origin::Flag, "--endpoint").unwrap();
        let judge = Judge::new(Policy::new(vec![endpoint]), 8);
        let rows = Rows::default();
        let mut w = Writer::new(
            Classifier::new(crate::s3::HostHints::default()),
            judge,
            Redactor { on: true },
            FailOn::default(),
            Box::new(rows.clone()),
        );
        w.take(plaintext_to_https(1, Some(Owner::Unknown))).unwrap();
        w.take(plaintext_to_https(2, Some(Owner::Command))).unwrap();
        w.finish_judging().unwrap();

        let (requests, findings) = rows.0.lock().unwrap().clone();
        let owners: Vec<_> = requests.iter().map(|r| (r.id, r.owner)).collect();
        assert_eq!(
            owners,
            [(1, Some(Owner::Unknown)), (2, Some(Owner::Command))],
            "both listed, each with its owner"
        );
        let of = |id| findings.iter().find(|f| f.request == Some(id)).unwrap();
        assert_eq!(of(1).kind, FindingKind::PlaintextToHttpsEndpoint);
        assert_eq!(of(1).severity, Severity::Warning);
        assert!(
            of(1)
                .hint
                .starts_with("owner unknown: not attributed to the command; "),
            "{}",
            of(1).hint
        );
        assert_eq!(of(2).kind, FindingKind::PlaintextToHttpsEndpoint);
        assert_eq!(of(2).severity, Severity::Error);
        assert!(!of(2).hint.contains("owner unknown"), "{}", of(2).hint);

        let s = &w.summary();
        assert_eq!((s.requests, s.plaintext_requests), (2, 2));
        assert_eq!((s.failing_requests, s.warned_requests), (1, 1));
        assert_eq!((s.failing_findings, s.warning_findings), (1, 1));
        assert_eq!(s.unknown_owner_with_findings, 1);
        assert_eq!(
            s.by_cause.get(&FindingKind::PlaintextToHttpsEndpoint),
            Some(&1),
            "only the command's counts towards the verdict's failing causes"
        );

        let groups = w.groups.records();
        let g: Vec<_> = groups
            .iter()
            .map(|g| (g.owner, g.severity, g.requests))
            .collect();
        assert_eq!(
            g,
            [
                (Some(Owner::Command), Severity::Error, 1),
                (Some(Owner::Unknown), Severity::Warning, 1)
            ],
            "the summary keeps them apart"
        );
        assert!(
            groups[1]
                .text
                .contains("(owner unknown: not attributed to the command)"),
            "{}",
            groups[1].text
        );
    }

    /// The rows' kinds in the order written.
    #[derive(Clone, Default)]
    struct Order(Arc<Mutex<Vec<String>>>);

    impl Sink for Order {
        fn request(&mut self, r: &RequestRecord) -> io::Result<()> {
            self.0.lock().unwrap().push(format!("request {}", r.id));
            Ok(())
        }
        fn finding(&mut self, _: &FindingRecord) -> io::Result<()> {
            Ok(())
        }
        fn attempt(&mut self, _: &AttemptRecord) -> io::Result<()> {
            Ok(())
        }
        fn tls(&mut self, t: &TlsRecord) -> io::Result<()> {
            self.0.lock().unwrap().push(format!("tls {}", t.connection));
            Ok(())
        }
        fn finish(&mut self, _: &mut Report) -> io::Result<()> {
            Ok(())
        }
    }

    fn session(connection: u64) -> Item {
        Fact::Session(Box::new(TlsRecord {
            time: Timestamp(1_500),
            client: "127.0.0.1:40001".into(),
            server: "127.0.0.1:443".into(),
            sni: None,
            alpn: Vec::new(),
            version: "TLS 1.3".into(),
            cipher: None,
            decrypted: false,
            decryption: String::new(),
            client_bytes: 0,
            server_bytes: 0,
            connection,
        }))
    }

    /// Items are judged in runs and what they judged written at the run's end (`Writer::take`),
    /// but a TLS session's row still comes after the rows of the requests judged before it
    /// arrived, on the writer thread as on the analysis thread: the rows' order is the items'.
    #[test]
    fn a_sessions_row_follows_the_rows_judged_before_it_in_runs_too() {
        for threaded in [false, true] {
            let order = Order::default();
            let writer = Writer::new(
                Classifier::new(crate::s3::HostHints::default()),
                // A window of one: each request is judged when the next item arrives.
                Judge::new(Policy::new(Vec::new()), 1),
                Redactor { on: true },
                FailOn::default(),
                Box::new(order.clone()),
            );
            let mut out = Output::new(writer, threaded).unwrap();
            for item in [
                plaintext_to_https(1, None),
                plaintext_to_https(2, None),
                session(7),
                plaintext_to_https(3, None),
            ] {
                out.push(item).unwrap();
            }
            out.pushed().unwrap();
            let mut w = out.close().unwrap();
            w.finish_judging().unwrap();
            assert_eq!(
                *order.0.lock().unwrap(),
                ["request 1", "tls 7", "request 2", "request 3"],
                "threaded: {threaded}"
            );
        }
    }
}

//! Why s3wire could not analyse, typed. Each kind says what failed and where in one line that
//! names every cause once (no `a: b: b` chains), and carries its hint: the hints live beside the
//! error kinds (here and in each stage's error type), and `main` prints both without looking at
//! the words.

use crate::policy::ConfigError;
use crate::source::{SourceError, io_reason};
#[cfg(feature = "live")]
use crate::source::{live::LiveError, run::RunError};
use std::io;
use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A capture file or standard input could not be opened or read.
    #[error("{0}")]
    Input(#[from] SourceError),
    #[error("cannot read --keylog {}: {}", path.display(), io_reason(source))]
    Keylog { path: PathBuf, source: io::Error },
    #[error("AWS configuration: {0}")]
    AwsConfig(#[from] ConfigError),
    /// Arguments clap cannot check alone.
    #[error("{0}")]
    Usage(String),
    /// The report could not be written (its file, standard output, a temporary file).
    #[error("{}", report_message(.0))]
    Report(#[from] io::Error),
    /// `--write FILE` (the raw packets of a live capture) or `--write-sanitized FILE`.
    #[error("cannot write {option} {}: {}", path.display(), io_reason(source))]
    SaveCapture {
        option: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[cfg(feature = "live")]
    #[error("{0}")]
    Live(#[from] LiveError),
    #[cfg(feature = "live")]
    #[error("{0}")]
    Run(#[from] RunError),
    #[error("cannot install the Ctrl-C handler: {0}")]
    Signal(String),
    #[error("this s3wire was built without live capture (cargo feature `live`)")]
    NoLiveCapture,
}

impl Error {
    /// One line towards the fix, when there is one to give.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Input(e) => e.hint().map(str::to_string),
            Error::Keylog { source, .. } => Some(
                match source.kind() {
                    io::ErrorKind::NotFound => {
                        "the key log is the file SSLKEYLOGFILE named when the client ran; \
                         check the path"
                    }
                    _ => "check that the key log is readable by this user",
                }
                .to_string(),
            ),
            Error::AwsConfig(_) => Some(
                "fix the file the way the AWS SDKs would accept it, or pass --no-aws-config to \
                 ignore AWS_ENDPOINT_URL* and the config file"
                    .to_string(),
            ),
            Error::Usage(_) | Error::Signal(_) => None,
            Error::Report(e) => report_hint(e).map(str::to_string),
            Error::SaveCapture { .. } => {
                Some("check that the directory exists and is writable".to_string())
            }
            #[cfg(feature = "live")]
            Error::Live(e) => e.hint(),
            #[cfg(feature = "live")]
            Error::Run(e) => e.hint().map(str::to_string),
            Error::NoLiveCapture => Some(
                "install libpcap-dev and build with the default features (cargo install s3wire)"
                    .to_string(),
            ),
        }
    }

    /// The reader of the report went away (`s3wire … | head`): not an error, like ripgrep.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Report(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Where writing the report failed. The report side carries typed errors inside `io::Error`
/// (it streams through `io::Write`); they say themselves what failed.
fn report_message(e: &io::Error) -> String {
    if let Some(inner) = e.get_ref() {
        if let Some(known) = inner.downcast_ref::<ReportError>() {
            return known.to_string();
        }
        if let Some(spool) = inner.downcast_ref::<crate::report::spool::SpoolError>() {
            return spool.to_string();
        }
    }
    format!("cannot write the report: {}", io_reason(e))
}

fn report_hint(e: &io::Error) -> Option<&'static str> {
    let inner = e.get_ref();
    if inner.is_some_and(|i| i.is::<crate::report::spool::SpoolError>()) {
        return Some("point TMPDIR at a writable directory, or use --format jsonl (it needs none)");
    }
    match inner.and_then(|i| i.downcast_ref::<ReportError>()) {
        Some(ReportError::Create { .. }) => {
            Some("check that the directory exists and is writable, or leave out --output")
        }
        None if e.kind() == io::ErrorKind::StorageFull => {
            Some("free some space, or write the report elsewhere with --output")
        }
        None => None,
    }
}

/// Opening the report's destination.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot create the report file {}: {}", path.display(), io_reason(source))]
    Create { path: PathBuf, source: io::Error },
}

impl ReportError {
    /// As an `io::Error` (the sink opens its output through `io::Write` plumbing), kind kept.
    pub fn into_io(self) -> io::Error {
        let ReportError::Create { source, .. } = &self;
        io::Error::new(source.kind(), self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_is_named_once() {
        let e = Error::Input(SourceError::Open {
            path: "/x.pcap".into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        });
        assert_eq!(e.to_string(), "cannot open /x.pcap: entity not found");
        let os = io::Error::from_raw_os_error(2);
        assert_eq!(io_reason(&os), "No such file or directory");
        let create = Error::Report(
            ReportError::Create {
                path: "/nodir/r.json".into(),
                source: io::Error::from_raw_os_error(2),
            }
            .into_io(),
        );
        assert_eq!(
            create.to_string(),
            "cannot create the report file /nodir/r.json: No such file or directory"
        );
        assert!(create.hint().unwrap().contains("--output"));
        assert!(!create.is_broken_pipe());
        assert!(Error::Report(io::Error::from(io::ErrorKind::BrokenPipe)).is_broken_pipe());
    }
}

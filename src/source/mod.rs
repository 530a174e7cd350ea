//! **source**: where frames come from. Only this stage touches files and the network.
//!
//! A [`FrameSource`] yields raw link-layer frames with their capture timestamp and link type.
//! Offline files are read in pure Rust by `pcap-parser` (pcap and pcapng, any reader, mixed link
//! types per pcapng interface, Decryption Secrets Blocks); live capture (libpcap) sits behind the
//! `live` cargo feature.

#[cfg(feature = "live")]
pub mod capture_thread;
#[cfg(feature = "live")]
pub mod cgroup;
pub mod file;
#[cfg(feature = "live")]
pub mod live;
#[cfg(feature = "live")]
pub mod nflog;
pub mod pcapng_writer;
pub mod procs;
#[cfg(feature = "live")]
pub mod run;
#[cfg(feature = "live")]
pub mod sockdiag;

pub use file::FileSource;

use crate::time::Timestamp;

/// A link-layer type as written in capture files (LINKTYPE_*, <https://www.tcpdump.org/linktypes.html>),
/// not libpcap's platform-dependent DLT_* values. An open newtype: unknown values still flow through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
    /// Linux netfilter log records (`nflog:GROUP`); unwrapped by live capture, never decoded.
    pub const NFLOG: LinkType = LinkType(239);

    pub fn name(self) -> String {
        match self {
            LinkType::NULL => "NULL".into(),
            LinkType::ETHERNET => "EN10MB".into(),
            LinkType::RAW => "RAW".into(),
            LinkType::LOOP => "LOOP".into(),
            LinkType::LINUX_SLL => "LINUX_SLL".into(),
            LinkType::IPV4 => "IPV4".into(),
            LinkType::IPV6 => "IPV6".into(),
            LinkType::LINUX_SLL2 => "LINUX_SLL2".into(),
            LinkType(n) => format!("LINKTYPE_{n}"),
        }
    }
}

/// One captured frame, borrowed from the source's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub ts: Timestamp,
    pub link: LinkType,
    /// The bytes that were captured (at most the snaplen).
    pub data: &'a [u8],
    /// The frame's length on the wire; larger than `data.len()` when the snaplen cut it.
    pub orig_len: u32,
}

/// Something a source noticed that is not a frame but belongs in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceNote {
    /// NSS key log text embedded in a pcapng Decryption Secrets Block (for TLS decryption).
    KeyLog(Vec<u8>),
    /// The file ended in the middle of a block, or at a damaged one with no plausible record
    /// after it: what came before was read, nothing after.
    Truncated { detail: String },
    /// A damaged record or block: the `skipped` bytes from it to the next plausible record were
    /// passed over (the frames in them are lost), and reading went on from there.
    Damaged { detail: String, skipped: u64 },
}

/// Packets live capture lost, counted apart because each has its own cure: the kernel's ring
/// was full (s3wire's capture thread did not read fast enough), the interface dropped them
/// (the NIC or driver), or the queue between the capture thread and the analysis was full
/// (the analysis is slower than the traffic).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Drops {
    pub kernel: u64,
    pub interface: u64,
    pub queue: u64,
}

impl Drops {
    pub fn total(&self) -> u64 {
        self.kernel
            .saturating_add(self.interface)
            .saturating_add(self.queue)
    }

    /// "12 (kernel 10, queue 2)": the total and the causes that lost packets; "0" when none did.
    pub fn phrase(&self) -> String {
        let parts: Vec<String> = [
            ("kernel", self.kernel),
            ("interface", self.interface),
            ("queue", self.queue),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{what} {n}"))
        .collect();
        match parts.is_empty() {
            true => "0".into(),
            false => format!("{} ({})", self.total(), parts.join(", ")),
        }
    }
}

/// One item from a source.
#[derive(Debug)]
pub enum SourceItem<'a> {
    Frame(Frame<'a>),
    Note(SourceNote),
}

/// The seam between the outside world and the pipeline; tests implement it in memory.
pub trait FrameSource {
    /// The next frame or note, `Ok(None)` at the end.
    fn next_item(&mut self) -> Result<Option<SourceItem<'_>>, SourceError>;
}

/// An I/O error's reason without Rust's `(os error N)` suffix, which says nothing more.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("cannot open {path}: {}", io_reason(source))]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a pcap or pcapng capture ({detail})")]
    NotACapture { path: String, detail: String },
    #[error("cannot read {path}: {}", io_reason(source))]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: malformed capture at byte {offset}: {detail}")]
    Malformed {
        path: String,
        offset: u64,
        detail: String,
    },
}

impl SourceError {
    /// One line towards the fix.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            SourceError::Open { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => {
                    Some("check the path; use - to read a capture from standard input")
                }
                std::io::ErrorKind::PermissionDenied => Some(
                    "captures written by tcpdump as root are often readable by root only: \
                     `sudo chmod a+r FILE`, or run s3wire as that user",
                ),
                _ => None,
            },
            SourceError::NotACapture { .. } => Some(
                "s3wire reads pcap/pcapng files, e.g. from `tcpdump -i any -w out.pcap` or \
                 Wireshark",
            ),
            SourceError::Read { .. } => None,
            SourceError::Malformed { .. } => Some(
                "the file is damaged at that point; `editcap FILE fixed.pcap` or Wireshark's \
                 export may recover the packets before it",
            ),
        }
    }
}

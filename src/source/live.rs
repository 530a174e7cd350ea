//! Live capture through libpcap (the `pcap` crate): an interface, a kernel BPF filter, a
//! TPACKET_V3 ring (see [`RING_BYTES`]) and a short read timeout, so the reader (the capture
//! thread, `capture_thread`) regains control regularly to see whether it should stop.
//!
//! libpcap reports link types as DLT_* values; the rest of s3wire speaks LINKTYPE_* (the values
//! written in files), so they are translated here (<https://www.tcpdump.org/linktypes.html>).

use super::{Frame, LinkType};
use crate::time::Timestamp;
use std::os::unix::io::{AsRawFd, RawFd};

/// The kernel ring. Not immediate mode: libpcap then uses TPACKET_V2, one slot per packet,
/// each as large as the interface's biggest frame (64 KiB on `lo`), so 32 MiB held only 512
/// packets and a short stall of the reader overflowed it (wrk at full speed on loopback: 26,374
/// drops of ~400,000 packets in 5 s on the old single-threaded loop, 43,737 in 3 s even with a
/// capture thread). TPACKET_V3 packs packets into blocks; with it, 32 MiB and 64 MiB both drop
/// nothing at ~80,000-120,000 packets/s (scripts/bench-live), and 32 MiB costs half the RSS.
const RING_BYTES: u32 = 32 << 20;
/// TPACKET_V3 hands a block over when it is full or this old. 10 ms, not 1: a slow trickle then
/// fills blocks instead of retiring nearly empty ones (each still costs a whole block of the
/// ring), and 10 ms of delivery delay is nothing next to the 2 s a request waits to be judged.
const BLOCK_TIMEOUT_MS: u32 = 10;

/// What to capture.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub interface: String,
    pub filter: String,
    pub snaplen: u32,
    /// How long a read waits for a packet before [`LiveSource::dispatch`] returns without one.
    pub timeout_ms: u32,
    /// The kernel ring's size.
    pub buffer_bytes: u32,
    /// How long the kernel keeps a partly filled ring block before handing it over.
    pub block_timeout_ms: u32,
    /// Deliver each packet at once (libpcap then uses TPACKET_V2, a slot per packet): for the
    /// SYN watcher, whose few packets must arrive while their socket still exists.
    pub immediate: bool,
}

impl LiveOptions {
    pub fn new(interface: &str, filter: &str) -> Self {
        LiveOptions {
            interface: interface.to_string(),
            filter: filter.to_string(),
            snaplen: 262_144,
            timeout_ms: 50,
            buffer_bytes: RING_BYTES,
            block_timeout_ms: BLOCK_TIMEOUT_MS,
            immediate: false,
        }
    }
}

/// A client's SYN (SYN without ACK) among what `filter` passes, over IPv4 or IPv6 (without
/// extension headers: `tcp[]` reads IPv4 only in BPF, so IPv6's TCP flags are read at their
/// fixed offset, 40 + 13).
pub fn syn_filter(filter: &str) -> String {
    format!(
        "({filter}) and ((ip and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn) or \
         (ip6 and ip6[6] == 6 and ip6[53] & 0x12 == 0x02))"
    )
}

/// Why live capture could not start or continue. Each says what and where, in one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    #[error(
        "capturing on {interface} needs root or the CAP_NET_RAW and CAP_NET_ADMIN capabilities \
         ({detail})"
    )]
    Permission {
        interface: String,
        /// This executable's path, for the exact `setcap` line.
        exe: String,
        detail: String,
    },
    #[error("no capture interface named {interface:?} ({detail})")]
    NoSuchInterface { interface: String, detail: String },
    #[error("capture filter {filter:?} is not valid BPF: {detail}")]
    Filter { filter: String, detail: String },
    #[error("capture on {interface} failed: {detail}")]
    Capture { interface: String, detail: String },
}

impl LiveError {
    /// One line towards the fix.
    pub fn hint(&self) -> Option<String> {
        match self {
            LiveError::Permission { exe, .. } => Some(format!(
                "run with sudo, or once `sudo setcap cap_net_raw,cap_net_admin=eip {exe}`"
            )),
            LiveError::NoSuchInterface { .. } => Some(
                "list the interfaces with `ip link` (or `tcpdump -D`); `-i any` captures on all \
                 of them"
                    .into(),
            ),
            LiveError::Filter { .. } => Some(
                "filters use tcpdump's syntax (man pcap-filter), e.g. --filter 'tcp port 80 or \
                 tcp port 443'"
                    .into(),
            ),
            LiveError::Capture { .. } => None,
        }
    }
}

/// An open live capture.
pub struct LiveSource {
    cap: pcap::Capture<pcap::Active>,
    link: LinkType,
    interface: String,
    timeout_ms: i32,
    /// The last read returned a packet: more may be buffered, read again before waiting.
    pending: bool,
    /// An `nflog:GROUP` device: records are unwrapped to their IP packet, and the filter,
    /// which libpcap cannot apply to NFLOG records, is applied to that packet here.
    nflog: Option<pcap::BpfProgram>,
}

impl LiveSource {
    pub fn open(opts: &LiveOptions) -> Result<Self, LiveError> {
        let interface = opts.interface.clone();
        let fail = |e: pcap::Error| classify(&interface, e);
        let mut cap = pcap::Capture::from_device(opts.interface.as_str())
            .map_err(fail)?
            .promisc(false)
            .snaplen(i32::try_from(opts.snaplen).unwrap_or(i32::MAX))
            .immediate_mode(opts.immediate)
            .buffer_size(i32::try_from(opts.buffer_bytes).unwrap_or(i32::MAX))
            .timeout(i32::try_from(opts.block_timeout_ms).unwrap_or(10))
            .open()
            .map_err(fail)?
            // Reads never block: `next_event` waits on the descriptor itself (poll), with its
            // own timeout, whatever libpcap does with its timeout in each ring version.
            .setnonblock()
            .map_err(fail)?;
        let bad_filter = |e: pcap::Error| LiveError::Filter {
            filter: opts.filter.clone(),
            detail: pcap_detail(&e),
        };
        let mut link = linktype_from_dlt(cap.get_datalink().0);
        let nflog = if link == LinkType::NFLOG {
            link = LinkType::RAW;
            let raw = pcap::Capture::dead(pcap::Linktype(DLT_RAW)).map_err(fail)?;
            Some(raw.compile(&opts.filter, true).map_err(bad_filter)?)
        } else {
            cap.filter(&opts.filter, true).map_err(bad_filter)?;
            None
        };
        Ok(LiveSource {
            cap,
            link,
            interface,
            timeout_ms: i32::try_from(opts.timeout_ms).unwrap_or(100),
            pending: false,
            nflog,
        })
    }

    pub fn link(&self) -> LinkType {
        self.link
    }

    /// The packets ready now, each handed to `each` (borrowed until it returns); waits up to
    /// the read timeout first when the last call found none. Returns how many were read: 0
    /// when the timeout passed without one.
    ///
    /// A whole buffer per call (pcap_dispatch), not a packet (pcap_next_ex): cheaper, and
    /// the only correct way for `nflog:`, whose reader hands over every record of a netlink
    /// message at once (pcap_next_ex would keep only the last).
    pub fn dispatch(&mut self, each: &mut dyn FnMut(Frame<'_>)) -> Result<usize, LiveError> {
        if !self.pending {
            wait_readable(self.cap.as_raw_fd(), self.timeout_ms);
        }
        let (link, nflog) = (self.link, &self.nflog);
        let read = self.cap.dispatch(None, |p| {
            let ts = Timestamp::from_secs_nanos(
                p.header.ts.tv_sec,
                u32::try_from(p.header.ts.tv_usec)
                    .unwrap_or(0)
                    .saturating_mul(1000),
            );
            let (data, orig_len) = match nflog {
                None => (p.data, p.header.len),
                Some(filter) => match super::nflog::payload(p.data) {
                    Some(ip) if filter.filter(ip) => (ip, ip.len() as u32),
                    _ => return,
                },
            };
            each(Frame {
                ts,
                link,
                data,
                orig_len,
            });
        });
        let n = match read {
            Ok(n) => n,
            Err(pcap::Error::TimeoutExpired) => 0,
            // A non-blocking `nflog:` device says "nothing now" as EAGAIN, in words.
            Err(pcap::Error::PcapError(e)) if e.contains("temporarily unavailable") => 0,
            Err(e) => {
                return Err(LiveError::Capture {
                    interface: self.interface.clone(),
                    detail: pcap_detail(&e),
                });
            }
        };
        self.pending = n > 0;
        Ok(n)
    }

    /// Packets dropped so far by the kernel (no room in the ring) and by the interface.
    pub fn dropped(&mut self) -> Option<(u64, u64)> {
        let s = self.cap.stats().ok()?;
        Some((u64::from(s.dropped), u64::from(s.if_dropped)))
    }
}

/// Blocks until `fd` is readable or `timeout_ms` passed (poll(2)); errors (EINTR from Ctrl-C)
/// just end the wait early, the caller reads or checks its stop conditions either way.
fn wait_readable(fd: RawFd, timeout_ms: i32) {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `p` is one valid, exclusively borrowed pollfd and the count passed is 1; poll(2)
    // writes only its `revents` field. The fd stays open: `self.cap` owns it for this call.
    unsafe {
        libc::poll(&mut p, 1, timeout_ms);
    }
}

/// libpcap's errors are strings; its permission and device messages are stable enough to sort.
fn classify(interface: &str, e: pcap::Error) -> LiveError {
    let detail = pcap_detail(&e);
    let lower = detail.to_lowercase();
    let interface = interface.to_string();
    if lower.contains("permission") || lower.contains("not permitted") {
        let exe = std::env::current_exe()
            .map_or_else(|_| "$(which s3wire)".into(), |p| p.display().to_string());
        LiveError::Permission {
            interface,
            exe,
            detail,
        }
    } else if lower.contains("no such device") || lower.contains("doesn't exist") {
        LiveError::NoSuchInterface { interface, detail }
    } else {
        LiveError::Capture { interface, detail }
    }
}

fn pcap_detail(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    }
}

/// DLT_* (libpcap, platform-dependent) → LINKTYPE_* (files). Only DLT_RAW differs on Linux
/// (12, or 14 on some BSDs, vs LINKTYPE_RAW 101); the others s3wire decodes share their values.
/// Linux's DLT_RAW, for compiling a filter that reads packets from their IP header on.
const DLT_RAW: i32 = 12;

pub fn linktype_from_dlt(dlt: i32) -> LinkType {
    match dlt {
        12 | 14 => LinkType::RAW,
        n => LinkType(u32::try_from(n).unwrap_or(u32::MAX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dlt_values_become_file_link_types() {
        assert_eq!(linktype_from_dlt(1), LinkType::ETHERNET);
        assert_eq!(linktype_from_dlt(113), LinkType::LINUX_SLL);
        assert_eq!(linktype_from_dlt(276), LinkType::LINUX_SLL2);
        assert_eq!(linktype_from_dlt(12), LinkType::RAW);
        assert_eq!(linktype_from_dlt(0), LinkType::NULL);
    }

    #[test]
    fn libpcap_messages_are_sorted_into_causes() {
        let perm = pcap::Error::PcapError(
            "any: You don't have permission to perform this capture on that device \
             (socket: Operation not permitted)"
                .into(),
        );
        assert!(matches!(
            classify("any", perm),
            LiveError::Permission { .. }
        ));
        let nodev = pcap::Error::PcapError("nope0: No such device exists".into());
        assert!(matches!(
            classify("nope0", nodev),
            LiveError::NoSuchInterface { .. }
        ));
        let other = pcap::Error::PcapError("something else".into());
        assert!(matches!(classify("lo", other), LiveError::Capture { .. }));
    }
}

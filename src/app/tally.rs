//! What was not analysed, by kind (EtherType, IP protocol, UDP port, link type, …), and which
//! tunnels were opened: the evidence that lets a report say "nothing found" was earned, or not.
//! Bounded: [`MAX_KINDS`] distinct kinds are kept; frames of later kinds are counted as other.

use crate::decode::{Encap, Skip, TunnelEnds, Tunnels};
use crate::report::{NotAnalysed, SkippedKind, TunnelRecord};
use crate::source::LinkType;

/// Distinct kinds kept (a capture of nothing but odd traffic rarely has more than a dozen).
pub const MAX_KINDS: usize = 32;
/// Kinds a report lists, commonest first.
const LISTED: usize = 8;
/// Distinct outer tunnel endpoints kept (the first seen): a capture holds one or a few mirror
/// sessions.
pub const MAX_TUNNEL_ENDS: usize = 16;

#[derive(Debug, Clone, Default)]
pub struct Tally {
    kinds: Vec<(Skip, LinkType, Count)>,
    other: Count,
    total: Count,
    tunnelled_frames: u64,
    tunnels: [u64; Encap::ALL.len()],
    ends: Vec<(TunnelEnds, u64)>,
    ends_other: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Count {
    frames: u64,
    bytes: u64,
}

impl Count {
    fn add(&mut self, bytes: u64) {
        self.frames += 1;
        self.bytes += bytes;
    }
}

impl Tally {
    /// A frame not analysed. The link type matters only for unsupported links.
    pub fn skipped(&mut self, skip: Skip, link: LinkType, bytes: u64) {
        self.total.add(bytes);
        let link = if skip == Skip::UnsupportedLink {
            link
        } else {
            LinkType(0)
        };
        let full = self.kinds.len() >= MAX_KINDS;
        match self
            .kinds
            .iter_mut()
            .find(|(s, l, _)| *s == skip && *l == link)
        {
            Some((_, _, c)) => c.add(bytes),
            None if full => self.other.add(bytes),
            None => {
                let mut c = Count::default();
                c.add(bytes);
                self.kinds.push((skip, link, c));
            }
        }
    }

    /// A frame that came through tunnels (analysed or not).
    pub fn tunnelled(&mut self, t: Tunnels) {
        if t.is_empty() {
            return;
        }
        self.tunnelled_frames += 1;
        for (i, e) in Encap::ALL.iter().enumerate() {
            self.tunnels[i] += u64::from(t.contains(*e));
        }
        if let Some(ends) = t.outermost {
            let full = self.ends.len() >= MAX_TUNNEL_ENDS;
            match self.ends.iter_mut().find(|(e, _)| *e == ends) {
                Some((_, n)) => *n += 1,
                None if full => self.ends_other += 1,
                None => self.ends.push((ends, 1)),
            }
        }
    }

    /// The outermost tunnels' endpoints, in the order first seen, and the frames of endpoints
    /// past the bound.
    pub fn tunnel_ends(&self) -> (Vec<TunnelRecord>, u64) {
        let records = self
            .ends
            .iter()
            .map(|(e, frames)| TunnelRecord {
                kind: e.kind.as_str().to_string(),
                source: e.src.to_string(),
                destination: e.dst.to_string(),
                frames: *frames,
            })
            .collect();
        (records, self.ends_other)
    }

    pub fn tunnelled_frames(&self) -> u64 {
        self.tunnelled_frames
    }

    /// Frames per tunnel kind opened, kinds never seen left out.
    pub fn tunnels(&self) -> std::collections::BTreeMap<String, u64> {
        Encap::ALL
            .iter()
            .zip(self.tunnels)
            .filter(|(_, n)| *n > 0)
            .map(|(e, n)| (e.as_str().to_string(), n))
            .collect()
    }

    /// The report's view: totals against the capture's, the commonest kinds, and the warning
    /// when a large share was not analysed.
    pub fn record(&self, packets: u64, bytes: u64) -> NotAnalysed {
        let mut kinds: Vec<_> = self.kinds.clone();
        kinds.sort_by(|a, b| b.2.frames.cmp(&a.2.frames).then(a.0.cmp(&b.0)));
        let listed: Vec<SkippedKind> = kinds.iter().take(LISTED).map(kind_record).collect();
        let unlisted = kinds.iter().skip(LISTED).fold(self.other, |mut acc, k| {
            acc.frames += k.2.frames;
            acc.bytes += k.2.bytes;
            acc
        });
        let mut n = NotAnalysed {
            frames: self.total.frames,
            bytes: self.total.bytes,
            kinds: listed,
            other_frames: unlisted.frames,
            other_bytes: unlisted.bytes,
            warning: None,
        };
        n.warning = crate::report::coverage_warning(&n, packets, bytes);
        n
    }
}

fn kind_record((skip, link, c): &(Skip, LinkType, Count)) -> SkippedKind {
    let (kind, value) = crate::decode::names::kind_and_value(*skip);
    let value = value.or((*skip == Skip::UnsupportedLink).then_some(link.0));
    SkippedKind {
        kind: kind.to_string(),
        value,
        name: crate::decode::names::describe(*skip, &link.name()),
        frames: c.frames,
        bytes: c.bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Carrier;

    const ETH: LinkType = LinkType::ETHERNET;

    #[test]
    fn commonest_kinds_first_with_their_bytes_and_names() {
        let mut t = Tally::default();
        for _ in 0..3 {
            t.skipped(Skip::NotTcp(Carrier::UdpPort(6081)), ETH, 100);
        }
        t.skipped(Skip::NotIp(Carrier::EtherType(0x0806)), ETH, 60);
        t.skipped(Skip::UnsupportedLink, LinkType(105), 10);
        let r = t.record(10, 1000);
        assert_eq!((r.frames, r.bytes), (5, 370));
        let got: Vec<_> = r
            .kinds
            .iter()
            .map(|k| (k.kind.as_str(), k.value, k.name.as_str(), k.frames, k.bytes))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "udp-port",
                    Some(6081),
                    "UDP port 6081 (Geneve, not opened: header not Geneve)",
                    3,
                    300
                ),
                (
                    "link-type",
                    Some(105),
                    "link type LINKTYPE_105 (not supported)",
                    1,
                    10
                ),
                ("ethertype", Some(0x0806), "EtherType 0x0806 (ARP)", 1, 60),
            ]
        );
        // Half the frames, under a quarter of the bytes: the frame share is enough.
        let w = r.warning.expect("50 % of frames");
        assert!(
            w.starts_with(
                "50 % of frames (5 of 10) and 37 % of bytes were not analysed: UDP port 6081"
            ),
            "{w}"
        );
    }

    #[test]
    fn a_small_share_gives_no_warning() {
        let mut t = Tally::default();
        t.skipped(Skip::NotTcp(Carrier::IpProtocol(1)), ETH, 98);
        assert_eq!(t.record(5, 1000).warning, None);
        assert!(t.record(4, 1000).warning.is_some());
        assert_eq!(Tally::default().record(0, 0).warning, None);
    }

    #[test]
    fn kinds_past_the_bound_are_counted_as_other() {
        let mut t = Tally::default();
        for port in 0..(MAX_KINDS as u16 + 5) {
            t.skipped(Skip::NotTcp(Carrier::UdpPort(port)), ETH, 1);
        }
        assert_eq!(t.kinds.len(), MAX_KINDS);
        let r = t.record(100, 100);
        assert_eq!(r.frames, MAX_KINDS as u64 + 5);
        assert_eq!(r.kinds.len(), LISTED);
        assert_eq!(r.other_frames, MAX_KINDS as u64 + 5 - LISTED as u64);
        assert_eq!(r.other_bytes, r.other_frames);
    }

    #[test]
    fn tunnels_are_counted_per_kind() {
        let mut t = Tally::default();
        t.tunnelled(Tunnels::default());
        assert_eq!(t.tunnelled_frames(), 0);
        let inner = crate::decode::decode_tunnelled(LinkType::RAW, &[0x45; 4]).1;
        assert!(inner.is_empty());
        let mut ip = vec![
            0x45, 0, 0, 48, 0, 0, 0, 0, 64, 4, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        ip.extend_from_slice(&[
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        ip.extend_from_slice(&[0, 53, 0, 53, 0, 8, 0, 0]);
        let (result, tunnels) = crate::decode::decode_tunnelled(LinkType::RAW, &ip);
        assert_eq!(result, Err(Skip::NotTcp(Carrier::UdpPort(53))));
        t.tunnelled(tunnels);
        t.tunnelled(tunnels);
        assert_eq!(t.tunnelled_frames(), 2);
        assert_eq!(
            t.tunnels().into_iter().collect::<Vec<_>>(),
            [("ip-in-ip".to_string(), 2)]
        );
        let (ends, other) = t.tunnel_ends();
        assert_eq!(other, 0);
        let got: Vec<_> = ends
            .iter()
            .map(|e| {
                (
                    e.kind.as_str(),
                    e.source.as_str(),
                    e.destination.as_str(),
                    e.frames,
                )
            })
            .collect();
        assert_eq!(got, [("ip-in-ip", "10.0.0.1", "10.0.0.2", 2)]);
        // Endpoints past the bound are counted, not kept.
        for i in 0..MAX_TUNNEL_ENDS as u8 + 2 {
            let mut other = tunnels;
            if let Some(e) = &mut other.outermost {
                e.src = std::net::IpAddr::from([192, 0, 2, i]);
            }
            t.tunnelled(other);
        }
        let (ends, other) = t.tunnel_ends();
        assert_eq!((ends.len(), other), (MAX_TUNNEL_ENDS, 3));
    }
}

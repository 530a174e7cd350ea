//! Finding the next record after a damaged one: pure scans over a window of bytes, no I/O.
//!
//! A record header whose length field is absurd (a pcap record "claiming 4 GiB", a pcapng block
//! whose length is not a multiple of 4) cannot be stepped over: its end is unknown. Instead of
//! giving up on the rest of the file, the bytes after it are searched for a position where a
//! record header is *plausible* and is followed by another plausible header (or by the exact
//! end of the file). Two chained headers in a row are what keeps a packet's payload from being
//! taken for a header: a random 16-byte window passes one check now and then, two linked by
//! the first one's length almost never do.
//!
//! Legacy pcap (draft-ietf-opsawg-pcap §5): timestamps monotone-ish and near the last good
//! one, a valid sub-second fraction, `0 < caplen <= limit`, `caplen <= orig_len`.
//! pcapng (draft-ietf-opsawg-pcapng §3.1): a known block type at a 32-bit boundary, a length
//! that is a multiple of 4 and at least 12, the same length repeated at the block's end, and an
//! Enhanced Packet Block's interface declared in the section.

/// How far a timestamp may run ahead of the previous one (a quiet hour in a capture) or fall
/// behind it (packets from two CPUs written slightly out of order), in seconds.
const AHEAD_SECS: u32 = 3600;
const BEHIND_SECS: u32 = 60;

/// The largest original length believed: 64 KiB IP datagrams with GRO/TSO and a link header
/// are far below it; a larger one is a payload byte, not a length.
const MAX_ORIG_LEN: u32 = 1 << 20;

/// What a scan of a window found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scan {
    /// A plausible record starts this many bytes into the window.
    Found(usize),
    /// No record starts before this position; the bytes from it on must be seen with more of
    /// the input after them to decide (or, at the end of the input, nothing was found).
    Before(usize),
}

/// What every legacy record header must agree with.
#[derive(Debug, Clone, Copy)]
pub(super) struct LegacyRules {
    pub big_endian: bool,
    pub nanos: bool,
    /// Record header length: 16, or 24 in the Kuznetzov format.
    pub header_len: usize,
    /// The largest captured length believed (the snaplen, at least libpcap's 256 KiB).
    pub max_caplen: u32,
    /// Seconds of the last record read whole, if any.
    pub last_secs: Option<u32>,
}

impl LegacyRules {
    /// Bytes a scan must see past a candidate position to judge it.
    pub(super) fn reach(&self) -> usize {
        2 * self.header_len + self.max_caplen as usize
    }

    /// The record length (header and data) if the header at `at` is plausible after `secs`.
    fn record(&self, data: &[u8], at: usize, after: Option<u32>) -> Option<(usize, u32)> {
        let u32_at = |off: usize| super::read_u32(data, at.checked_add(off)?, self.big_endian);
        let (secs, frac) = (u32_at(0)?, u32_at(4)?);
        let (caplen, orig) = (u32_at(8)?, u32_at(12)?);
        let frac_ok = frac < if self.nanos { 1_000_000_000 } else { 1_000_000 };
        let len_ok = caplen > 0 && caplen <= self.max_caplen && caplen <= orig;
        let near = after.is_none_or(|prev| {
            secs >= prev.saturating_sub(BEHIND_SECS) && secs <= prev.saturating_add(AHEAD_SECS)
        });
        (frac_ok && len_ok && orig <= MAX_ORIG_LEN && near)
            .then(|| (self.header_len + caplen as usize, secs))
    }
}

/// The first plausible legacy record in `window` at or after `from`. `eof`: the window ends
/// where the input does.
pub(super) fn scan_legacy(window: &[u8], from: usize, eof: bool, rules: &LegacyRules) -> Scan {
    for at in from..window.len() {
        if !eof && window.len() - at < rules.reach() {
            return Scan::Before(at);
        }
        let Some((len, secs)) = rules.record(window, at, rules.last_secs) else {
            continue;
        };
        let next = at + len;
        if next == window.len() && eof {
            return Scan::Found(at);
        }
        if rules.record(window, next, Some(secs)).is_some() {
            return Scan::Found(at);
        }
    }
    Scan::Before(window.len())
}

/// What every pcapng block must agree with.
#[derive(Debug, Clone, Copy)]
pub(super) struct NgRules {
    pub big_endian: bool,
    /// Interfaces declared in the current section.
    pub interfaces: usize,
    /// The largest block believed.
    pub max_block: u32,
}

impl NgRules {
    /// Bytes a scan must see past a candidate position to judge it.
    pub(super) fn reach(&self) -> usize {
        2 * self.max_block as usize
    }

    /// The block's length if a plausible block starts at `at`.
    fn block(&self, data: &[u8], at: usize) -> Option<usize> {
        let u32_at = |off: usize| super::read_u32(data, at.checked_add(off)?, self.big_endian);
        let (block_type, len) = (u32_at(0)?, u32_at(4)?);
        let framed = len >= 12 && len.is_multiple_of(4) && len <= self.max_block;
        if !framed || u32_at(len as usize - 4)? != len || !self.known(block_type) {
            return None;
        }
        // An Enhanced Packet Block names an interface of this section (§4.3).
        if block_type == 6 && (len < 32 || u32_at(8)? as usize >= self.interfaces) {
            return None;
        }
        Some(len as usize)
    }

    /// Block types of the current draft (§11.1) that a capture holds, in this section's order
    /// (a new Section Header Block would carry its own byte-order magic).
    fn known(&self, block_type: u32) -> bool {
        matches!(
            block_type,
            0x1..=0x6 | 0xA | 0x0A0D_0D0A | 0x0000_0BAD | 0x4000_0BAD
        )
    }
}

/// The first plausible pcapng block in `window` at or after `from`, at a 32-bit boundary
/// (`from` is one).
pub(super) fn scan_ng(window: &[u8], from: usize, eof: bool, rules: &NgRules) -> Scan {
    for at in (from..window.len()).step_by(4) {
        if !eof && window.len() - at < rules.reach() {
            return Scan::Before(at);
        }
        let Some(len) = rules.block(window, at) else {
            continue;
        };
        let next = at + len;
        if (next == window.len() && eof) || rules.block(window, next).is_some() {
            return Scan::Found(at);
        }
    }
    Scan::Before(window.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(last: Option<u32>) -> LegacyRules {
        LegacyRules {
            big_endian: false,
            nanos: false,
            header_len: 16,
            max_caplen: 100,
            last_secs: last,
        }
    }

    fn record(out: &mut Vec<u8>, secs: u32, data: &[u8]) {
        for v in [secs, 5, data.len() as u32, data.len() as u32 + 10] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(data);
    }

    #[test]
    fn legacy_scan_skips_to_two_chained_headers() {
        // A damaged header (caplen 4 GiB), 7 bytes of junk, then two good records.
        let mut w = vec![0; 8];
        w.extend_from_slice(&u32::MAX.to_le_bytes());
        w.extend_from_slice(&[0; 4]);
        w.extend_from_slice(b"garbage");
        record(&mut w, 1000, b"abcdef");
        record(&mut w, 1001, b"ghi");
        assert_eq!(scan_legacy(&w, 1, true, &rules(Some(999))), Scan::Found(23));
        // The last record of the file is found too: it ends exactly at the end.
        assert_eq!(
            scan_legacy(&w[..23 + 22 + 19], 1, true, &rules(None)),
            Scan::Found(23)
        );
        // Not at the end of the input: the tail must be seen with what follows.
        assert_eq!(scan_legacy(&w, 1, false, &rules(None)), Scan::Before(1));
    }

    #[test]
    fn legacy_scan_rejects_far_timestamps_lengths_and_lone_headers() {
        let mut w = vec![0xFF; 16];
        record(&mut w, 1000, b"abcdef");
        record(&mut w, 1001, b"ghi");
        let found = |r: LegacyRules| scan_legacy(&w, 1, true, &r);
        assert_eq!(found(rules(Some(1000 - 61))), Scan::Found(16));
        assert_eq!(found(rules(Some(1000 + 3601))), Scan::Before(w.len()));
        assert_eq!(
            found(LegacyRules {
                max_caplen: 5,
                ..rules(None)
            }),
            Scan::Found(16 + 22),
            "the first record's 6 bytes are over the limit; the second ends the file"
        );
        // One plausible header followed by junk is not enough.
        let mut lone = vec![0xFF; 16];
        record(&mut lone, 1000, b"abcdef");
        lone.extend_from_slice(&[0xEE; 40]);
        assert_eq!(
            scan_legacy(&lone, 1, true, &rules(None)),
            Scan::Before(lone.len())
        );
    }

    fn block(out: &mut Vec<u8>, block_type: u32, body: &[u8]) {
        let len = 12 + body.len() as u32;
        for v in [block_type, len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(body);
        out.extend_from_slice(&len.to_le_bytes());
    }

    #[test]
    fn pcapng_scan_needs_matching_trailing_lengths_and_a_declared_interface() {
        let ng = NgRules {
            big_endian: false,
            interfaces: 1,
            max_block: 1024,
        };
        let mut w = vec![6, 0, 0, 0, 30, 0, 0, 0, 1, 2, 3, 4];
        block(&mut w, 6, &[0; 20]); // interface 0
        block(&mut w, 5, &[1; 8]);
        assert_eq!(scan_ng(&w, 4, true, &ng), Scan::Found(12));
        let mut bad = vec![6, 0, 0, 0, 30, 0, 0, 0];
        block(
            &mut bad,
            6,
            &[[2, 0, 0, 0], [0; 4], [0; 4], [0; 4], [0; 4]].concat(),
        );
        block(&mut bad, 5, &[1; 8]);
        assert_eq!(
            scan_ng(&bad, 4, true, &ng),
            Scan::Found(8 + 32),
            "interface 2 is not declared: the statistics block after it is the next one"
        );
    }
}

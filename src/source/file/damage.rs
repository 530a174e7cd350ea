//! Stepping over a damaged record or block: where it is, the search for the next plausible one
//! (the scans themselves are pure, in [`super::resync`]), and the notes that say what was lost.

use super::resync::{self, LegacyRules, NgRules, Scan};
use super::{FileSource, Format, Legacy, MAX_PACKET, Parsed, Section};
use crate::source::{SourceError, SourceNote};

/// How far past a damaged record the next plausible one is looked for; further than this, the
/// rest of the file is given up (as if it ended there).
pub const RESYNC_LIMIT: u64 = 16 << 20;
/// Bytes scanned per read while resynchronising, besides what judging a candidate needs.
const SCAN_STEP: usize = 1 << 20;

/// A damaged record or block being stepped over (see [`resync`]).
#[derive(Debug)]
pub(super) struct Damage {
    /// File offset of the damaged record, and what is wrong with it.
    pub(super) at: u64,
    pub(super) what: String,
    /// Where in the available bytes the search goes on.
    pub(super) from: usize,
}

impl FileSource {
    /// A block that is whole but unusable: stepped over.
    pub(super) fn skip_block(&mut self, what: String, total: usize) -> Parsed {
        let at = self.buf.offset();
        self.pending = total;
        let next = at.saturating_add(total as u64);
        let detail = format!(
            "{what} at {}: skipped it, reading on at offset {next}",
            self.at(at)
        );
        Parsed::Note(SourceNote::Damaged {
            detail,
            skipped: total as u64,
        })
    }

    /// A damaged record at the current offset: from now on, [`FileSource::resync`] looks for
    /// the next plausible one, starting `from` bytes in.
    pub(super) fn damaged(&mut self, what: String, from: usize) -> Parsed {
        let at = self.buf.offset();
        self.damage = Some(Damage { at, what, from });
        Parsed::Nothing
    }

    /// The next plausible record after a damaged one (see [`resync`]), read in steps of
    /// [`SCAN_STEP`]: a [`SourceNote::Damaged`] once it is found, reading on from there, or a
    /// [`SourceNote::Truncated`] (the rest of the input given up) when the input ends first or
    /// [`RESYNC_LIMIT`] bytes were searched in vain.
    pub(super) fn resync(&mut self) -> Result<Parsed, SourceError> {
        let Some(damage) = self.damage.take() else {
            return Ok(Parsed::Nothing);
        };
        let want = match &self.format {
            Format::Legacy(l) => l.rules().reach(),
            Format::Ng(section) => ng_rules(section).reach(),
            Format::Ended => return Ok(Parsed::End),
        } + SCAN_STEP;
        let have = match self.fill(want) {
            Ok(have) => have,
            Err(e) => {
                self.damage = Some(damage); // a followed input went quiet: go on later
                return Err(e);
            }
        };
        let eof = have < want;
        let window = self.buf.available().get(..have).unwrap_or_default();
        let (scan, step) = match &self.format {
            Format::Legacy(l) => (resync::scan_legacy(window, damage.from, eof, &l.rules()), 1),
            Format::Ng(s) => (resync::scan_ng(window, damage.from, eof, &ng_rules(s)), 4),
            Format::Ended => (Scan::Before(have), 1),
        };
        let searched = self.buf.offset() - damage.at;
        match scan {
            Scan::Found(at) => {
                self.buf.consume(at);
                let (next, skipped) = (self.buf.offset(), self.buf.offset() - damage.at);
                let detail = format!(
                    "{} at {}: skipped {skipped} bytes to the next plausible record at offset \
                     {next}",
                    damage.what,
                    self.at(damage.at)
                );
                Ok(Parsed::Note(SourceNote::Damaged { detail, skipped }))
            }
            Scan::Before(at) if !eof && searched + (at as u64) < RESYNC_LIMIT => {
                self.buf.consume(at.max(step));
                self.damage = Some(Damage { from: 0, ..damage });
                Ok(Parsed::Nothing)
            }
            Scan::Before(_) => {
                let searched = searched + have as u64;
                let detail = format!(
                    "{} at {}: no plausible record in the {searched} bytes from there, so the \
                     rest of the input was not read",
                    damage.what,
                    self.at(damage.at)
                );
                Ok(Parsed::Note(SourceNote::Truncated { detail }))
            }
        }
    }
}

impl Legacy {
    pub(super) fn rules(&self) -> LegacyRules {
        LegacyRules {
            big_endian: self.big_endian,
            nanos: self.nanos,
            header_len: if self.modified { 24 } else { 16 },
            max_caplen: MAX_PACKET,
            last_secs: self.last_secs,
        }
    }
}

fn ng_rules(section: &Section) -> NgRules {
    NgRules {
        big_endian: section.big_endian,
        interfaces: section.interface_count(),
        // An Enhanced Packet Block of the largest packet, with room for its options.
        max_block: MAX_PACKET + 4096,
    }
}

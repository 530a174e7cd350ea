//! What only live capture knows, said where the report's reader looks for completeness.

use crate::report::Report;
use crate::source::Drops;

pub fn warn_live(report: &mut Report, (conns, attempts): (u64, u64), had_keys: bool) {
    let w = &mut report.quality.warnings;
    if let Some(d) = report.capture.drops.filter(|d| d.total() > 0) {
        w.push(format!(
            "{} packets dropped: requests may be missing{}",
            d.phrase(),
            drop_hint(&d)
        ));
    }
    if conns + attempts > 0 {
        w.push(format!(
            "{conns} connections and {attempts} connection attempts of other processes left out \
             (--all-traffic reports them)"
        ));
    }
    let opaque = report.quality.tls_not_decrypted;
    if opaque > 0 {
        let why = if had_keys {
            "a key log was collected but these sessions could not be decrypted with it"
        } else {
            "no TLS key log was available"
        };
        w.push(format!(
            "{opaque} TLS sessions were not decrypted ({why}): their requests are not listed"
        ));
    }
}

/// What to do about each kind of drop.
fn drop_hint(d: &Drops) -> &'static str {
    if d.interface > 0 {
        " (the interface dropped packets: capture closer to the client, or on a less busy link)"
    } else if d.kernel > 0 || d.queue > 0 {
        " (s3wire could not keep up: narrow --filter to the S3 traffic)"
    } else {
        ""
    }
}

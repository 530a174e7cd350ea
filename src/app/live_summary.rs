//! What only a live session knows, in one typed summary that its report is built from (the
//! `capture` section and the warnings where a reader looks for completeness), instead of fields
//! patched into a finished report.

use crate::report::AttributionMode;
use crate::source::Drops;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
// Built by live capture only: an offline-only build (without the `live` feature) never makes one.
#[cfg_attr(not(feature = "live"), allow(dead_code))]
pub struct LiveSummary {
    /// Packets lost, by cause.
    pub drops: Drops,
    /// `run`: the command's exit status (None when it could not be waited for).
    pub command_exit: Option<i32>,
    /// `run`: how the command's traffic was told from others' (None with `--all-traffic`, and
    /// in `capture`).
    pub attribution: Option<AttributionMode>,
    /// `run`: why exact attribution could not be had (the /proc lookup was used instead).
    pub fallback: Option<String>,
    /// Connections and connection attempts of other processes, left out.
    pub left_out: LeftOut,
    /// `run`: connections kept although their process could not be looked up in time.
    pub unknown_owner: u64,
    /// A followed key log had lines (decides why undecrypted TLS was not decrypted).
    pub keys_read: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeftOut {
    pub connections: u64,
    pub attempts: u64,
}

impl LiveSummary {
    /// The warnings it calls for, given how many TLS sessions were not decrypted.
    pub fn warnings(&self, tls_not_decrypted: u64) -> Vec<String> {
        let mut w = Vec::new();
        if let Some(why) = &self.fallback {
            w.push(format!(
                "exact attribution unavailable ({why}): the command's connections were told by \
                 looking their process up in /proc"
            ));
        }
        if self.drops.total() > 0 {
            w.push(format!(
                "{} packets dropped: requests may be missing{}",
                self.drops.phrase(),
                drop_hint(&self.drops)
            ));
        }
        let LeftOut {
            connections,
            attempts,
        } = self.left_out;
        if connections + attempts > 0 {
            w.push(format!(
                "{connections} connections and {attempts} connection attempts of other \
                 processes left out (--all-traffic reports them)"
            ));
        }
        if tls_not_decrypted > 0 {
            let why = match self.keys_read {
                true => "a key log was collected but these sessions could not be decrypted with it",
                false => "no TLS key log was available",
            };
            w.push(format!(
                "{tls_not_decrypted} TLS sessions were not decrypted ({why}): their requests \
                 are not listed"
            ));
        }
        if self.unknown_owner > 0 {
            w.push(format!(
                "{} connections closed before their process could be looked up: listed with \
                 owner unknown, their findings are warnings only",
                self.unknown_owner
            ));
        }
        w
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_session_warns_of_nothing() {
        assert!(LiveSummary::default().warnings(0).is_empty());
    }

    #[test]
    fn each_loss_is_said_once_with_its_cure_in_a_fixed_order() {
        let s = LiveSummary {
            drops: Drops {
                kernel: 10,
                interface: 0,
                queue: 2,
            },
            fallback: Some("no cgroup v2".into()),
            left_out: LeftOut {
                connections: 4,
                attempts: 1,
            },
            unknown_owner: 3,
            ..LiveSummary::default()
        };
        assert_eq!(
            s.warnings(5),
            vec![
                "exact attribution unavailable (no cgroup v2): the command's connections were \
                 told by looking their process up in /proc",
                "12 (kernel 10, queue 2) packets dropped: requests may be missing (s3wire could \
                 not keep up: narrow --filter to the S3 traffic)",
                "4 connections and 1 connection attempts of other processes left out \
                 (--all-traffic reports them)",
                "5 TLS sessions were not decrypted (no TLS key log was available): their \
                 requests are not listed",
                "3 connections closed before their process could be looked up: listed with \
                 owner unknown, their findings are warnings only",
            ]
        );
    }

    #[test]
    fn interface_drops_point_at_the_link_and_a_key_log_read_changes_the_tls_reason() {
        let s = LiveSummary {
            drops: Drops {
                kernel: 1,
                interface: 1,
                queue: 0,
            },
            keys_read: true,
            ..LiveSummary::default()
        };
        let w = s.warnings(1);
        assert!(w[0].ends_with("capture closer to the client, or on a less busy link)"));
        assert!(w[1].contains("(a key log was collected but these sessions could not be"));
        assert_eq!(w.len(), 2);
    }
}

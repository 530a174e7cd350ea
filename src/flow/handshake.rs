//! Connection attempts: a SYN answered by RST (refused) or by nothing (unanswered).

use crate::time::Timestamp;
use std::net::SocketAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptOutcome {
    Refused,
    Unanswered,
}

impl AttemptOutcome {
    /// The name reports use (the same as its JSON value).
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Refused => "refused",
            AttemptOutcome::Unanswered => "unanswered",
        }
    }
}

/// One connection attempt (retransmitted SYNs of the same 4-tuple and ISN are one attempt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Time of the first SYN.
    pub ts: Timestamp,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub outcome: AttemptOutcome,
    /// How many SYNs were sent (1 + retransmissions).
    pub syns: u32,
}

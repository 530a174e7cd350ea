//! Protocol detection from a stream's first bytes (never from the port).

/// What a direction of a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    Http,
    Tls,
    Other,
}

/// The verdict on the first bytes seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detection {
    /// Too few bytes to tell.
    NeedMore,
    Found(Protocol),
}

/// Decide from a stream's first bytes. STUB: replaced by the proto owner.
pub fn detect(first: &[u8]) -> Detection {
    if first.is_empty() {
        Detection::NeedMore
    } else {
        Detection::Found(Protocol::Other)
    }
}

//! A tiny pcap/pcapng writer for tests: builds capture files in memory, field by field, following
//! draft-ietf-opsawg-pcap §4-5 and draft-ietf-opsawg-pcapng §3-4.

/// Appends integers in one byte order.
#[derive(Debug, Clone, Copy)]
struct Order(bool);

impl Order {
    fn u16(self, out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&if self.0 {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    fn u32(self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&if self.0 {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    fn u64(self, out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&if self.0 {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    /// pcapng timestamps: the high 32 bits first, each half in the section's order (§4.3).
    fn u64_split(self, out: &mut Vec<u8>, v: u64) {
        self.u32(out, (v >> 32) as u32);
        self.u32(out, v as u32);
    }
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// A legacy pcap file.
pub(super) struct Pcap {
    order: Order,
    pub(super) bytes: Vec<u8>,
}

impl Pcap {
    /// The 24-byte file header; `nanos` picks the a1b23c4d magic.
    pub(super) fn new(big_endian: bool, nanos: bool, link: u32) -> Self {
        let order = Order(big_endian);
        let mut bytes = Vec::new();
        order.u32(&mut bytes, if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 });
        order.u16(&mut bytes, 2);
        order.u16(&mut bytes, 4);
        order.u32(&mut bytes, 0); // thiszone
        order.u32(&mut bytes, 0); // sigfigs
        order.u32(&mut bytes, 65535); // snaplen
        order.u32(&mut bytes, link);
        Pcap { order, bytes }
    }

    pub(super) fn record(mut self, secs: u32, frac: u32, data: &[u8], orig_len: u32) -> Self {
        let o = self.order;
        o.u32(&mut self.bytes, secs);
        o.u32(&mut self.bytes, frac);
        o.u32(&mut self.bytes, data.len() as u32);
        o.u32(&mut self.bytes, orig_len);
        self.bytes.extend_from_slice(data);
        self
    }
}

/// A pcapng file, one block at a time, in the current section's byte order.
pub(super) struct PcapNg {
    order: Order,
    pub(super) bytes: Vec<u8>,
}

impl PcapNg {
    /// A file starting with a Section Header Block.
    pub(super) fn new(big_endian: bool) -> Self {
        PcapNg {
            order: Order(big_endian),
            bytes: Vec::new(),
        }
        .shb(big_endian)
    }

    /// §3.1: type, total length, body padded to 32 bits, total length again.
    pub(super) fn block(mut self, block_type: u32, mut body: Vec<u8>) -> Self {
        pad4(&mut body);
        let total = body.len() as u32 + 12;
        let o = self.order;
        o.u32(&mut self.bytes, block_type);
        o.u32(&mut self.bytes, total);
        self.bytes.extend_from_slice(&body);
        o.u32(&mut self.bytes, total);
        self
    }

    /// §4.1: a new section, possibly in the other byte order.
    pub(super) fn shb(mut self, big_endian: bool) -> Self {
        self.order = Order(big_endian);
        let o = self.order;
        let mut body = Vec::new();
        o.u32(&mut body, 0x1A2B_3C4D);
        o.u16(&mut body, 1);
        o.u16(&mut body, 0);
        body.extend_from_slice(&[0xFF; 8]); // section length: unknown
        self.block(0x0A0D_0D0A, body)
    }

    /// §4.2 with optional `if_tsresol` (9) and `if_tsoffset` (14).
    pub(super) fn idb(
        self,
        link: u16,
        snaplen: u32,
        tsresol: Option<u8>,
        tsoffset: Option<i64>,
    ) -> Self {
        let o = self.order;
        let mut body = Vec::new();
        o.u16(&mut body, link);
        o.u16(&mut body, 0);
        o.u32(&mut body, snaplen);
        if let Some(r) = tsresol {
            o.u16(&mut body, 9);
            o.u16(&mut body, 1);
            body.push(r);
            pad4(&mut body);
        }
        if let Some(off) = tsoffset {
            o.u16(&mut body, 14);
            o.u16(&mut body, 8);
            o.u64(&mut body, off as u64);
        }
        o.u32(&mut body, 0); // opt_endofopt
        self.block(1, body)
    }

    /// §4.3 Enhanced Packet Block.
    pub(super) fn epb(self, if_id: u32, ts: u64, data: &[u8], orig_len: u32) -> Self {
        let o = self.order;
        let mut body = Vec::new();
        o.u32(&mut body, if_id);
        o.u64_split(&mut body, ts);
        o.u32(&mut body, data.len() as u32);
        o.u32(&mut body, orig_len);
        body.extend_from_slice(data);
        self.block(6, body)
    }

    /// §4.4 Simple Packet Block.
    pub(super) fn spb(self, data: &[u8], orig_len: u32) -> Self {
        let mut body = Vec::new();
        self.order.u32(&mut body, orig_len);
        body.extend_from_slice(data);
        self.block(3, body)
    }

    /// Appendix A: the obsolete Packet Block.
    pub(super) fn opb(self, if_id: u16, ts: u64, data: &[u8], orig_len: u32) -> Self {
        let o = self.order;
        let mut body = Vec::new();
        o.u16(&mut body, if_id);
        o.u16(&mut body, 0); // drops
        o.u64_split(&mut body, ts);
        o.u32(&mut body, data.len() as u32);
        o.u32(&mut body, orig_len);
        body.extend_from_slice(data);
        self.block(2, body)
    }

    /// §4.7 Decryption Secrets Block.
    pub(super) fn dsb(self, secrets_type: u32, secrets: &[u8]) -> Self {
        let o = self.order;
        let mut body = Vec::new();
        o.u32(&mut body, secrets_type);
        o.u32(&mut body, secrets.len() as u32);
        body.extend_from_slice(secrets);
        self.block(0xA, body)
    }
}

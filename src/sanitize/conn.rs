//! One synthetic TCP connection: the packets of a consistent conversation between two fixed
//! endpoints — three-way handshake, data segments whose sequence and acknowledgment numbers
//! follow what was sent (RFC 9293 §3.4), FIN or RST at the end — so Wireshark and s3wire
//! reassemble exactly the bytes given. Pure: packets are pushed onto a list with their time.

use super::packet::{self, ACK, FIN, PSH, RST, SYN, Segment};
use crate::flow::Direction;
use crate::time::Timestamp;
use std::net::SocketAddr;

/// Payload bytes per segment: an Ethernet MTU's worth, so no tool needs jumbo frames.
const MSS: usize = 1448;
/// Initial sequence numbers. Fixed values: the original ones are of no use to a reader, and
/// Wireshark shows relative numbers anyway.
const ISN: [u32; 2] = [0x1000_0000, 0x2000_0000];

/// A packet (an IP datagram) and when it is stamped.
pub type Packet = (Timestamp, Vec<u8>);

#[derive(Debug)]
pub struct TcpConn {
    ends: [SocketAddr; 2],
    /// The next sequence number of each side (client, server).
    next: [u32; 2],
    opened: bool,
}

impl TcpConn {
    pub fn new(client: SocketAddr, server: SocketAddr) -> TcpConn {
        TcpConn {
            ends: [client, server],
            next: ISN,
            opened: false,
        }
    }

    /// `bytes` sent one way at `ts` (the handshake first, if it was not written yet).
    pub fn send(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8], out: &mut Vec<Packet>) {
        self.open(ts, out);
        let from = dir.index();
        let chunks = bytes.chunks(MSS);
        let last = chunks.len().saturating_sub(1);
        for (i, chunk) in chunks.enumerate() {
            let flags = if i == last { PSH | ACK } else { ACK };
            self.segment(from, ts, flags, chunk, out);
        }
    }

    /// `n` bytes of one side that the copy leaves out: a hole in the sequence space, which a
    /// reader sees as bytes lost (as the original capture lost them).
    pub fn skip(&mut self, dir: Direction, n: u32) {
        let from = dir.index();
        self.next[from] = self.next[from].wrapping_add(n);
    }

    /// The orderly end: FIN from the client, FIN from the server, the client's last ACK.
    pub fn close(&mut self, ts: Timestamp, out: &mut Vec<Packet>) {
        self.open(ts, out);
        self.segment(0, ts, FIN | ACK, &[], out);
        self.segment(1, ts, FIN | ACK, &[], out);
        self.segment(0, ts, ACK, &[], out);
    }

    /// The end by reset. Which side sent the RST is not kept; the server is the side whose RST
    /// means something to the analysis (a TLS port refusing plaintext).
    pub fn reset(&mut self, ts: Timestamp, out: &mut Vec<Packet>) {
        self.open(ts, out);
        self.segment(1, ts, RST | ACK, &[], out);
    }

    /// A connection attempt that carried no data: `syns` SYNs (one per microsecond after `ts`,
    /// as the times of retransmissions are not kept), then the server's RST when refused.
    pub fn attempt(&mut self, ts: Timestamp, syns: u32, refused: bool, out: &mut Vec<Packet>) {
        let mut t = ts;
        for _ in 0..syns.clamp(1, 64) {
            let seg = self.header(0, SYN);
            out.push((t, packet::build(&seg, &[])));
            t = Timestamp(t.0.saturating_add(1_000));
        }
        if refused {
            self.next[0] = self.next[0].wrapping_add(1);
            let seg = Segment {
                seq: 0,
                ..self.header(1, RST | ACK)
            };
            out.push((t, packet::build(&seg, &[])));
        }
        self.opened = true;
    }

    fn open(&mut self, ts: Timestamp, out: &mut Vec<Packet>) {
        if self.opened {
            return;
        }
        self.opened = true;
        let syn = self.header(0, SYN);
        out.push((ts, packet::build(&syn, &[])));
        self.next[0] = self.next[0].wrapping_add(1);
        let syn_ack = self.header(1, SYN | ACK);
        out.push((ts, packet::build(&syn_ack, &[])));
        self.next[1] = self.next[1].wrapping_add(1);
        let ack = self.header(0, ACK);
        out.push((ts, packet::build(&ack, &[])));
    }

    fn segment(
        &mut self,
        from: usize,
        ts: Timestamp,
        flags: u8,
        payload: &[u8],
        out: &mut Vec<Packet>,
    ) {
        let seg = self.header(from, flags);
        out.push((ts, packet::build(&seg, payload)));
        let used = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        self.next[from] = self.next[from].wrapping_add(used);
    }

    fn header(&self, from: usize, flags: u8) -> Segment {
        Segment {
            src: self.ends[from],
            dst: self.ends[1 - from],
            seq: self.next[from],
            ack: self.next[1 - from],
            flags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use crate::source::LinkType;

    fn conn() -> TcpConn {
        TcpConn::new(
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
        )
    }

    /// (seq, ack, flags, payload length) of each packet.
    fn summary(out: &[Packet]) -> Vec<(u32, u32, u8, usize)> {
        out.iter()
            .map(|(_, p)| {
                let s = decode(LinkType::RAW, p).unwrap();
                (
                    s.seq.wrapping_sub(ISN[0]).min(s.seq.wrapping_sub(ISN[1])),
                    s.ack,
                    s.flags.0,
                    s.payload.len(),
                )
            })
            .collect()
    }

    #[test]
    fn handshake_data_and_fin_number_every_byte() {
        let (mut c, mut out) = (conn(), Vec::new());
        c.send(
            Direction::ClientToServer,
            Timestamp(1),
            &[b'x'; 2000],
            &mut out,
        );
        c.send(Direction::ServerToClient, Timestamp(2), b"ok", &mut out);
        c.close(Timestamp(3), &mut out);
        let (c0, s0) = (ISN[0], ISN[1]);
        assert_eq!(
            summary(&out),
            vec![
                (0, 0, SYN, 0),
                (0, c0 + 1, SYN | ACK, 0),
                (1, s0 + 1, ACK, 0),
                (1, s0 + 1, ACK, 1448),
                (1449, s0 + 1, PSH | ACK, 552),
                (1, c0 + 2001, PSH | ACK, 2),
                (2001, s0 + 3, FIN | ACK, 0),
                (3, c0 + 2002, FIN | ACK, 0),
                (2002, s0 + 4, ACK, 0),
            ]
        );
        assert_eq!(out[3].0, Timestamp(1));
        assert_eq!(out[5].0, Timestamp(2));
    }

    #[test]
    fn refused_attempt_is_syns_then_rst() {
        let (mut c, mut out) = (conn(), Vec::new());
        c.attempt(Timestamp(5), 2, true, &mut out);
        let s = summary(&out);
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].2, s[1].2, s[2].2), (SYN, SYN, RST | ACK));
        assert_eq!(s[2].1, ISN[0] + 1, "the RST acknowledges the SYN");
        assert!(out[1].0 > out[0].0);
    }
}

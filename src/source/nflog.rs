//! The IP packet inside a Linux NFLOG record (LINKTYPE_NFLOG, what libpcap reads from an
//! `nflog:GROUP` device): a 4-byte header (address family, version, resource id) and then
//! type-length-value attributes, each `u16 length` (header included) and `u16 type` in the
//! host's byte order, padded to 4 bytes; the packet is attribute 9, `NFULA_PAYLOAD`
//! (<https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html>). Pure: bytes in, a slice out.

/// `NFULA_PAYLOAD`: the packet, from its network header on.
const PAYLOAD: u16 = 9;

/// The packet an NFLOG record carries, or None when it carries none (or is malformed).
pub fn payload(record: &[u8]) -> Option<&[u8]> {
    let mut rest = record.get(4..)?;
    while rest.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let kind = u16::from_ne_bytes([rest[2], rest[3]]);
        if len < 4 || len > rest.len() {
            return None;
        }
        if kind == PAYLOAD {
            return Some(&rest[4..len]);
        }
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SYN from 127.0.0.1:35048 to :25480 as `nflog:7` delivered it on this x86-64 machine
    /// (nftables `socket cgroupv2 … log group 7`, read by tcpdump -i nflog:7).
    const SYN: &str = "02000007080001000800030005000a0000000000080005000000000108000b00000000000800\
        0e0000000000400009004500003c237040004006194a7f0000017f00000188e86388e6013f5f00000000a0\
        02ffd7fe3000000204ffd70402080ae7f4704d000000000103030a";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn the_payload_attribute_is_the_ip_packet() {
        let record = hex(SYN);
        let ip = payload(&record).unwrap();
        assert_eq!(ip.len(), 60);
        assert_eq!(ip[0], 0x45, "IPv4, 20-byte header");
        assert_eq!(&ip[12..20], &[127, 0, 0, 1, 127, 0, 0, 1]);
        assert_eq!(u16::from_be_bytes([ip[20], ip[21]]), 35048);
    }

    #[test]
    fn records_without_a_whole_payload_give_none() {
        let record = hex(SYN);
        assert_eq!(payload(&record[..60]), None, "cut inside the payload");
        assert_eq!(payload(&record[..4]), None, "header only");
        assert_eq!(payload(&[]), None);
        // An attribute claiming to be shorter than its own header.
        assert_eq!(payload(&[2, 0, 0, 7, 2, 0, 9, 0, 0, 0]), None);
    }
}

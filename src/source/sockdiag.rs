//! One TCP socket's inode by its exact 4-tuple, asked of the kernel through `NETLINK_SOCK_DIAG`
//! (`linux/inet_diag.h`, `man 7 sock_diag`). Reading `/proc/net/tcp` walks the whole connection
//! hash table, takes milliseconds and can miss a row while the table changes; an S3 request to a
//! server that closes each connection is over in about as long, so live attribution needs the
//! exact lookup. Needs no privilege. The message layout is built and read by pure functions.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const NETLINK_SOCK_DIAG: libc::c_int = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 1;
const IPPROTO_TCP: u8 = 6;
/// `idiag_cookie` value that means "any socket with this 4-tuple".
const INET_DIAG_NOCOOKIE: u32 = u32::MAX;
/// nlmsghdr (16) + inet_diag_req_v2 (4 + states 4 + inet_diag_sockid 48).
const REQUEST_LEN: u32 = 72;
/// Offset of `idiag_inode` in a reply: nlmsghdr (16) + family/state/timer/retrans (4) + sockid
/// (48) + expires, rqueue, wqueue, uid (16).
const INODE_AT: usize = 84;

/// The `SOCK_DIAG_BY_FAMILY` request for the socket whose own end is `local` (None when the two
/// addresses are of different families).
pub fn request(local: SocketAddr, remote: SocketAddr, seq: u32) -> Option<Vec<u8>> {
    let (family, src, dst) = match (local.ip(), remote.ip()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (libc::AF_INET, v4_field(a), v4_field(b)),
        (IpAddr::V6(a), IpAddr::V6(b)) => (libc::AF_INET6, a.octets(), b.octets()),
        _ => return None,
    };
    let mut m = Vec::with_capacity(REQUEST_LEN as usize);
    m.extend_from_slice(&REQUEST_LEN.to_ne_bytes());
    m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    m.extend_from_slice(&[u8::try_from(family).unwrap_or(0), IPPROTO_TCP, 0, 0]);
    m.extend_from_slice(&u32::MAX.to_ne_bytes()); // every TCP state
    m.extend_from_slice(&local.port().to_be_bytes());
    m.extend_from_slice(&remote.port().to_be_bytes());
    m.extend_from_slice(&src);
    m.extend_from_slice(&dst);
    m.extend_from_slice(&0u32.to_ne_bytes()); // any interface
    m.extend_from_slice(&INET_DIAG_NOCOOKIE.to_ne_bytes());
    m.extend_from_slice(&INET_DIAG_NOCOOKIE.to_ne_bytes());
    Some(m)
}

/// An IPv4 address in the 16-byte field: first word, network order, the rest zero.
fn v4_field(a: std::net::Ipv4Addr) -> [u8; 16] {
    let mut f = [0u8; 16];
    f[..4].copy_from_slice(&a.octets());
    f
}

/// The inode from a reply; None for an error reply (no such socket) or a socket no process
/// holds (inode 0: TIME_WAIT, orphaned).
pub fn parse_reply(reply: &[u8]) -> Option<u64> {
    let kind = u16::from_ne_bytes(reply.get(4..6)?.try_into().ok()?);
    if kind != SOCK_DIAG_BY_FAMILY {
        return None;
    }
    let inode = u32::from_ne_bytes(reply.get(INODE_AT..INODE_AT + 4)?.try_into().ok()?);
    (inode != 0).then_some(u64::from(inode))
}

/// The inode of the TCP socket `local` → `remote` on this host, if it exists now.
pub fn inode(local: SocketAddr, remote: SocketAddr) -> Option<u64> {
    let req = request(local, remote, 1)?;
    // SAFETY: socket(2) with constant arguments; the result is checked before use.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        )
    };
    if raw < 0 {
        return None;
    }
    // SAFETY: `raw` is a new descriptor nothing else owns; OwnedFd closes it on every path.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // A netlink socket's default destination is the kernel (port id 0).
    // SAFETY: the pointer and length describe `req`, which outlives the call.
    let sent = unsafe { libc::send(fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
    if usize::try_from(sent).ok()? != req.len() {
        return None;
    }
    let mut buf = [0u8; 1024];
    // SAFETY: the pointer and length describe `buf`; the kernel answers before send returns.
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    parse_reply(buf.get(..usize::try_from(n).ok()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn request_layout_follows_inet_diag_req_v2() {
        let m = request(sa("127.0.0.1:47912"), sa("127.0.0.1:443"), 7).unwrap();
        assert_eq!(m.len(), 72);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 72);
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), 20);
        assert_eq!(m[16], libc::AF_INET as u8);
        assert_eq!(m[17], 6);
        // Ports in network order, then the local address first.
        assert_eq!(&m[24..28], &[0xbb, 0x28, 0x01, 0xbb]);
        assert_eq!(&m[28..32], &[127, 0, 0, 1]);
        assert_eq!(&m[44..48], &[127, 0, 0, 1]);
        assert_eq!(&m[64..72], &[0xff; 8]);
        assert_eq!(request(sa("127.0.0.1:1"), sa("[::1]:2"), 1), None);
    }

    #[test]
    fn replies_are_read_without_trusting_their_length() {
        let mut reply = vec![0u8; 88];
        reply[4..6].copy_from_slice(&20u16.to_ne_bytes());
        reply[84..88].copy_from_slice(&54801u32.to_ne_bytes());
        assert_eq!(parse_reply(&reply), Some(54801));
        assert_eq!(parse_reply(&reply[..87]), None);
        reply[84..88].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(parse_reply(&reply), None, "inode 0: nobody holds it");
        let mut error = vec![0u8; 36];
        error[4..6].copy_from_slice(&2u16.to_ne_bytes()); // NLMSG_ERROR
        assert_eq!(parse_reply(&error), None);
        assert_eq!(parse_reply(&[]), None);
    }

    #[test]
    fn the_kernel_names_our_own_sockets_inode() {
        use std::os::unix::fs::MetadataExt;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, _) = listener.accept().unwrap();
        let fd_path = format!("/proc/self/fd/{}", client.as_raw_fd());
        let want = std::fs::metadata(fd_path).unwrap().ino();
        let got = inode(client.local_addr().unwrap(), client.peer_addr().unwrap());
        assert_eq!(got, Some(want));
        assert_eq!(inode(sa("127.0.0.1:1"), sa("127.0.0.1:2")), None);
    }
}

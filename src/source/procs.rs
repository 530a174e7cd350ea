//! Which local process owns a TCP connection, from Linux's socket table: `/proc/net/tcp{,6}` maps a
//! (local, remote) address pair to a socket inode, and `/proc/PID/fd/*` links named
//! `socket:[INODE]` say which process holds it. Looked up when live capture first sees a
//! connection, while its socket still exists.
//!
//! The text parsers are pure (tested on sample text); [`ProcTable`] does the reading. Format of
//! `/proc/net/tcp`: Linux `Documentation/networking/proc_net_tcp.rst`; addresses are the kernel's
//! `__be32` words printed as host-order hex, so they are read back with native byte order.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// One row of `/proc/net/tcp` or `/proc/net/tcp6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketRow {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// 0 for sockets no process holds any more (TIME_WAIT, orphans).
    pub inode: u64,
}

/// A local process as `/proc` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    pub cmdline: String,
}

/// Every well-formed row of a `/proc/net/tcp{,6}` text; the header and malformed rows are skipped.
pub fn parse_net_tcp(text: &str) -> Vec<SocketRow> {
    text.lines().filter_map(parse_row).collect()
}

fn parse_row(line: &str) -> Option<SocketRow> {
    let mut fields = line.split_whitespace();
    let slot = fields.next()?;
    if !slot.ends_with(':') {
        return None;
    }
    let local = parse_addr(fields.next()?)?;
    let remote = parse_addr(fields.next()?)?;
    // st, tx:rx queue, tr:when, retrnsmt, uid, timeout, then the inode.
    let inode = fields.nth(6)?.parse().ok()?;
    Some(SocketRow {
        local,
        remote,
        inode,
    })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits + `:PORT` (IPv6).
fn parse_addr(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(ip)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                let hex = ip.get(i * 8..i * 8 + 8)?;
                chunk.copy_from_slice(&word(hex)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// A network-order word the kernel printed with `%08X` in host order.
fn word(hex: &str) -> Option<[u8; 4]> {
    Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
}

/// The inode of a `/proc/PID/fd/N` link target `socket:[12345]`.
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The parent pid from `/proc/PID/stat` (`pid (comm) state ppid …`; comm may hold spaces and
/// parentheses, so the fields after the last `)` are the ones counted).
pub fn parse_stat_ppid(text: &str) -> Option<u32> {
    let (_, rest) = text.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let _state = fields.next()?;
    fields.next()?.parse().ok()
}

/// `/proc/PID/cmdline`: arguments separated (and ended) by NUL, shown joined by spaces.
pub fn parse_cmdline(bytes: &[u8]) -> String {
    bytes
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The row of the socket whose local end is `local` and remote end `remote`, with a live inode.
/// IPv4 connections on a dual-stack socket appear in `tcp6` as `::ffff:a.b.c.d`.
pub fn find_row(rows: &[SocketRow], local: SocketAddr, remote: SocketAddr) -> Option<&SocketRow> {
    let canon = |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
    let (local, remote) = (canon(local), canon(remote));
    rows.iter()
        .find(|r| r.inode != 0 && canon(r.local) == local && canon(r.remote) == remote)
}

/// Which local process owns a connection: the seam between live attribution and the host's
/// tables. [`ProcTable`] reads `/proc`; tests use a fake.
pub trait ProcessLookup: Send {
    /// The process holding the socket `local` → `remote`, if it is local and still open.
    fn owner(&mut self, local: SocketAddr, remote: SocketAddr) -> Option<Process>;
    /// Like `owner`, among `root` and its descendants only (`tree`, grown as they appear).
    fn owner_in_tree(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        root: u32,
        tree: &mut HashSet<u32>,
    ) -> Option<Process>;
    /// Whether the socket exists on this host now.
    fn is_open(&self, local: SocketAddr, remote: SocketAddr) -> bool;
    /// `root` and every process now descending from it.
    fn descendants(&self, root: u32) -> Vec<u32>;
}

impl ProcessLookup for ProcTable {
    fn owner(&mut self, local: SocketAddr, remote: SocketAddr) -> Option<Process> {
        ProcTable::owner(self, local, remote)
    }

    fn owner_in_tree(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        root: u32,
        tree: &mut HashSet<u32>,
    ) -> Option<Process> {
        ProcTable::owner_in_tree(self, local, remote, root, tree)
    }

    fn is_open(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        ProcTable::is_open(self, local, remote)
    }

    fn descendants(&self, root: u32) -> Vec<u32> {
        ProcTable::descendants(self, root)
    }
}

/// Reads the live socket and process tables under a `/proc` root.
pub struct ProcTable {
    root: PathBuf,
    /// The pids that owned the latest connections, newest first: a process that opened one
    /// connection usually opens the next, and checking its fds is far cheaper than a full scan.
    recent: Vec<u32>,
}

/// How many recent owners are checked before every process is.
const RECENT_OWNERS: usize = 16;
/// Readings of the socket table before a connection is declared not local (or gone).
const INODE_READS: usize = 3;

impl ProcTable {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ProcTable {
            root: root.into(),
            recent: Vec::new(),
        }
    }

    /// The process holding the socket `local` → `remote`, if it is local and still open.
    pub fn owner(&mut self, local: SocketAddr, remote: SocketAddr) -> Option<Process> {
        let inode = self.inode(local, remote)?;
        let pid = match self.recent.iter().copied().find(|p| self.holds(*p, inode)) {
            Some(pid) => pid,
            None => find_owner(&self.root, inode)?,
        };
        self.recent.retain(|p| *p != pid);
        self.recent.insert(0, pid);
        self.recent.truncate(RECENT_OWNERS);
        self.process(pid)
    }

    /// Like [`owner`](Self::owner), but only among `root` and its descendants (`tree`, grown
    /// as new descendants appear): reads the fds of that tree only, so following one command
    /// stays cheap however busy the host is.
    pub fn owner_in_tree(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        root: u32,
        tree: &mut HashSet<u32>,
    ) -> Option<Process> {
        let inode = self.inode(local, remote)?;
        if let Some(pid) = tree.iter().copied().find(|p| self.holds(*p, inode)) {
            return self.process(pid);
        }
        let fresh: Vec<u32> = self
            .descendants(root)
            .into_iter()
            .filter(|p| tree.insert(*p))
            .collect();
        let pid = fresh.into_iter().find(|p| self.holds(*p, inode))?;
        self.process(pid)
    }

    /// Whether the socket `local` → `remote` exists on this host now.
    pub fn is_open(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        self.inode(local, remote).is_some()
    }

    /// The socket's inode: asked of the kernel exactly (`sockdiag`), else from `/proc/net/tcp`.
    /// The kernel prints that a page at a time from a hash table that keeps changing, so on a
    /// busy host one reading can miss a row: a few are tried.
    fn inode(&self, local: SocketAddr, remote: SocketAddr) -> Option<u64> {
        #[cfg(feature = "live")]
        if self.root == Path::new("/proc")
            && let Some(inode) = super::sockdiag::inode(local, remote)
        {
            return Some(inode);
        }
        let file = if local.is_ipv4() && remote.is_ipv4() {
            ["net/tcp", "net/tcp6"]
        } else {
            ["net/tcp6", "net/tcp"]
        };
        (0..INODE_READS).find_map(|_| {
            file.iter().find_map(|f| {
                let text = std::fs::read_to_string(self.root.join(f)).ok()?;
                find_row(&parse_net_tcp(&text), local, remote).map(|r| r.inode)
            })
        })
    }

    /// Whether `pid` has a descriptor on socket `inode`.
    fn holds(&self, pid: u32, inode: u64) -> bool {
        socket_fds(&self.root.join(pid.to_string())).any(|i| i == inode)
    }

    pub fn process(&self, pid: u32) -> Option<Process> {
        let dir = self.root.join(pid.to_string());
        let name = std::fs::read_to_string(dir.join("comm")).ok()?;
        let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
        Some(Process {
            pid,
            name: name.trim_end().to_string(),
            cmdline: parse_cmdline(&cmdline),
        })
    }

    pub fn parent(&self, pid: u32) -> Option<u32> {
        let stat = std::fs::read_to_string(self.root.join(pid.to_string()).join("stat")).ok()?;
        parse_stat_ppid(&stat)
    }

    /// `root` and every process now descending from it (one pass over `/proc/*/stat`).
    pub fn descendants(&self, root: u32) -> Vec<u32> {
        let parents: Vec<(u32, u32)> = pids(&self.root)
            .filter_map(|p| Some((p, self.parent(p)?)))
            .collect();
        let mut found = vec![root];
        let mut i = 0;
        while let Some(&p) = found.get(i) {
            found.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
            i += 1;
        }
        found
    }
}

fn pids(root: &Path) -> impl Iterator<Item = u32> {
    std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
}

/// The socket inodes a process holds (`/proc/PID/fd/*` → `socket:[N]`).
fn socket_fds(proc_dir: &Path) -> impl Iterator<Item = u64> {
    std::fs::read_dir(proc_dir.join("fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| socket_inode(std::fs::read_link(fd.path()).ok()?.to_str()?))
}

/// The process holding socket `inode`, searching every process under `root`.
fn find_owner(root: &Path, inode: u64) -> Option<u32> {
    pids(root).find(|pid| socket_fds(&root.join(pid.to_string())).any(|i| i == inode))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Copied from this machine's /proc/net/tcp and /proc/net/tcp6 (x86-64, little-endian) while a
    // Python script held: a listener on 127.0.0.1:43377 with one connection from :47912; a
    // dual-stack listener on [::]:54481 with a connection from [::1]:46362 and one from the IPv4
    // socket 127.0.0.1:42568 (whose server end the kernel lists as ::ffff:127.0.0.1 in tcp6).
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   5: 0100007F:A971 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 54800 1 000000001448be94 100 0 0 10 0
   8: 0100007F:A648 0100007F:D4D1 01 00000000:00000000 00:00000000 00000000     0        0 54806 2 00000000f0ff663c 20 0 0 10 -1
  19: 0100007F:A971 0100007F:BB28 01 00000000:00000000 00:00000000 00000000     0        0 54802 1 000000006dbeb3e1 20 0 0 10 -1
  20: 0100007F:BB28 0100007F:A971 01 00000000:00000000 00:00000000 00000000     0        0 54801 2 00000000489bad42 20 0 0 10 -1
  21: 0100007F:BB00 0100007F:A971 06 00000000:00000000 03:00000ed5 00000000     0        0 0 3 0000000000000000
";

    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   3: 00000000000000000000000000000000:D4D1 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 54803 1 0000000027cb425d 100 0 0 10 0
   4: 00000000000000000000000001000000:B51A 00000000000000000000000001000000:D4D1 01 00000000:00000000 00:00000000 00000000     0        0 54804 2 00000000c74b01e3 20 0 0 10 -1
   5: 00000000000000000000000001000000:D4D1 00000000000000000000000001000000:B51A 01 00000000:00000000 00:00000000 00000000     0        0 54805 1 000000004b8e0d3b 20 0 0 10 -1
   6: 0000000000000000FFFF00000100007F:D4D1 0000000000000000FFFF00000100007F:A648 01 00000000:00000000 00:00000000 00000000     0        0 54807 1 00000000f047c386 20 0 0 10 -1
";

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn ipv4_rows_parse_with_ports_and_inodes() {
        let rows = parse_net_tcp(TCP);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].local, sa("127.0.0.1:43377"));
        assert_eq!(rows[0].remote, sa("0.0.0.0:0"));
        let client = find_row(&rows, sa("127.0.0.1:47912"), sa("127.0.0.1:43377"));
        assert_eq!(client.map(|r| r.inode), Some(54801));
        // The server's end of the same connection is the other row.
        let server = find_row(&rows, sa("127.0.0.1:43377"), sa("127.0.0.1:47912"));
        assert_eq!(server.map(|r| r.inode), Some(54802));
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn time_wait_rows_without_inode_are_not_owned() {
        // Row 21 is a TIME_WAIT row (state 06) in the kernel's format, inode 0.
        let rows = parse_net_tcp(TCP);
        assert_eq!(rows[4].inode, 0);
        assert_eq!(
            find_row(&rows, sa("127.0.0.1:47872"), sa("127.0.0.1:43377")),
            None
        );
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn ipv6_and_v4_mapped_rows_parse() {
        let rows = parse_net_tcp(TCP6);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[1].local, sa("[::1]:46362"));
        assert_eq!(rows[1].remote, sa("[::1]:54481"));
        assert_eq!(rows[1].inode, 54804);
        // The dual-stack server's end of an IPv4 connection matches the addresses on the wire.
        let found = find_row(&rows, sa("127.0.0.1:54481"), sa("127.0.0.1:42568"));
        assert_eq!(found.map(|r| r.inode), Some(54807));
        let tcp = parse_net_tcp(TCP);
        let client = find_row(&tcp, sa("127.0.0.1:42568"), sa("127.0.0.1:54481"));
        assert_eq!(client.map(|r| r.inode), Some(54806));
    }

    #[test]
    fn malformed_rows_are_skipped_not_fatal() {
        let text = "  sl local\n 0: 0100007F 00000000:0000 0A\n 1: ZZ:1 00:0 0A x x x x x 5\n\n";
        assert!(parse_net_tcp(text).is_empty());
        assert_eq!(parse_addr("0100007F:"), None);
        assert_eq!(parse_addr("01007F:0050"), None);
    }

    #[test]
    fn socket_links_name_their_inode() {
        assert_eq!(socket_inode("socket:[4190921]"), Some(4190921));
        assert_eq!(socket_inode("pipe:[4190921]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
    }

    #[test]
    fn stat_ppid_survives_odd_process_names() {
        let stat = "4242 (python3) S 4240 4242 4100 34816 4242 4194304 1000 0 0 0";
        assert_eq!(parse_stat_ppid(stat), Some(4240));
        let odd = "77 (a) b (c) R 12 77 77 0 -1 4194560";
        assert_eq!(parse_stat_ppid(odd), Some(12));
        assert_eq!(parse_stat_ppid("77 (truncated"), None);
        assert_eq!(parse_stat_ppid("77 (x) S"), None);
    }

    #[test]
    fn cmdline_joins_arguments() {
        assert_eq!(
            parse_cmdline(b"python3\0repro.py\0--bucket\0b\0"),
            "python3 repro.py --bucket b"
        );
        assert_eq!(parse_cmdline(b""), "");
    }

    #[test]
    fn this_process_owns_its_own_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, _) = listener.accept().unwrap();
        let mut table = ProcTable::new("/proc");
        let me = table
            .owner(client.local_addr().unwrap(), client.peer_addr().unwrap())
            .expect("own socket found");
        assert_eq!(me.pid, std::process::id());
        let mut tree = HashSet::new();
        let again = table.owner_in_tree(
            client.local_addr().unwrap(),
            client.peer_addr().unwrap(),
            me.pid,
            &mut tree,
        );
        assert_eq!(again.map(|p| p.pid), Some(me.pid));
        assert!(tree.contains(&me.pid));
        // A tree rooted at a pid that does not exist holds no socket.
        let mut other = HashSet::new();
        let none = table.owner_in_tree(
            client.local_addr().unwrap(),
            client.peer_addr().unwrap(),
            u32::MAX,
            &mut other,
        );
        assert_eq!(none, None);
    }

    #[test]
    fn a_child_process_is_a_descendant() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let table = ProcTable::new("/proc");
        let tree = table.descendants(std::process::id());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(tree.contains(&child.id()), "{tree:?}");
        assert_eq!(tree[0], std::process::id());
    }
}

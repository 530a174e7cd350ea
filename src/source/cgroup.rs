//! `run`'s exact attribution: the command runs in a cgroup v2 of its own, and an nftables table
//! logs the TCP packets of that cgroup's sockets (`socket cgroupv2`, on output for what they
//! send and on input for what they receive) to an NFLOG group, which libpcap reads as
//! `nflog:GROUP`. Only the command's packets are captured, by construction: no lookup after the
//! fact, so no race with connections that close within a millisecond.
//!
//! Needs cgroup v2 mounted under /sys/fs/cgroup (nft names cgroups by their path there), the
//! `nft` tool and root. Where any is missing, [`CommandCgroup::create`] says which, and `run`
//! falls back to looking processes up in `/proc`.

use crate::undo::Undo;
use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where nft resolves `socket cgroupv2` paths.
const NFT_CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The command's cgroup and the nftables table logging its packets; both removed when dropped
/// (or by the panic hook: [`crate::undo`]).
pub struct CommandCgroup {
    table: String,
    group: u16,
    /// `cgroup.procs`, open for writing: the child writes "0" to it between fork and exec.
    procs: File,
    /// Deletes the table, then the cgroup.
    _undo: Undo,
}

impl CommandCgroup {
    /// A cgroup and NFLOG group named after this process, or why it cannot be done here.
    pub fn create() -> Result<Self, String> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
        let mount = cgroup2_mount(&mountinfo).ok_or("no cgroup v2 hierarchy is mounted")?;
        let rel_mount = mount.strip_prefix(NFT_CGROUP_ROOT).map_err(|_| {
            format!(
                "cgroup v2 is mounted at {}, outside {NFT_CGROUP_ROOT} where nft looks",
                mount.display()
            )
        })?;
        let me = std::process::id();
        let name = format!("s3wire-run-{me}");
        let dir = mount.join(&name);
        std::fs::create_dir(&dir)
            .map_err(|e| format!("cannot create the cgroup {}: {e}", dir.display()))?;
        let procs = match File::options().write(true).open(dir.join("cgroup.procs")) {
            Ok(f) => f,
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                return Err(format!("cannot open {}/cgroup.procs: {e}", dir.display()));
            }
        };
        let table = format!("s3wire_run_{me}");
        let undo = {
            let table = table.clone();
            Undo::new(move || {
                let _ = nft(&format!("delete table inet {table}\n"));
                // Fails while a descendant of the command still lives in it: left for it to end.
                let _ = std::fs::remove_dir(&dir);
            })
        };
        let cg = CommandCgroup {
            table,
            group: nflog_group(me),
            procs,
            _undo: undo,
        };
        let path = rel_mount.join(&name);
        nft(&rules(&cg.table, &path.to_string_lossy(), cg.group))?;
        Ok(cg)
    }

    /// The capture device that reads the command's packets.
    pub fn device(&self) -> String {
        format!("nflog:{}", self.group)
    }

    /// For the child, between fork and exec: writing "0" here moves it into the cgroup before
    /// it can open any socket.
    pub fn procs_fd(&self) -> RawFd {
        self.procs.as_raw_fd()
    }
}

/// The nftables table: the cgroup's TCP packets, both ways, to NFLOG `group`.
/// `socket cgroupv2` matches the socket the packet belongs to on this host: on output the
/// sender's, on input the receiver's (looked up), so a packet between the command and a local
/// server is logged once, whichever way it goes.
fn rules(table: &str, cgroup: &str, group: u16) -> String {
    // queue-threshold 1: each packet is sent to the reader at once. The kernel's default
    // batches 100 packets or waits up to a second, so the command's last packets (a response,
    // the FINs) came after `run` had stopped reading.
    let rule = format!(
        "socket cgroupv2 level 1 \"{cgroup}\" meta l4proto tcp log group {group} \
         queue-threshold 1"
    );
    format!(
        "table inet {table} {{\n\
         \tchain out {{ type filter hook output priority mangle; {rule}; }}\n\
         \tchain in {{ type filter hook input priority mangle; {rule}; }}\n\
         }}\n"
    )
}

/// An NFLOG group of our own (groups are 16 bits; 0 is often the system's).
fn nflog_group(pid: u32) -> u16 {
    u16::try_from(pid % 50_000 + 10_000).unwrap_or(10_000)
}

/// Runs `nft -f -` with `script`; its error message when it fails.
fn nft(script: &str) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "nft (nftables) is not installed".to_string(),
            _ => format!("cannot run nft: {e}"),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(script.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err
        .lines()
        .find(|l| l.contains("Error"))
        .unwrap_or("failed");
    Err(format!("nft: {}", first.trim()))
}

/// The mount point of the cgroup v2 hierarchy in a `/proc/self/mountinfo` text (the field
/// after ` - ` is the filesystem type; the fifth field is the mount point, man 5 proc).
pub fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (fields, rest) = line.split_once(" - ")?;
        if rest.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        Some(Path::new(&unescape(fields.split_whitespace().nth(4)?)).to_path_buf())
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(c) => {
                out.push(char::from(c));
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cgroup2_mount_is_found_among_v1_ones() {
        // This machine's (a hybrid hierarchy: v1 controllers, v2 under unified/).
        let hybrid = "35 31 0:30 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
                      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount(hybrid),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let unified = "29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount(unified),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
        let v1_only = "35 31 0:30 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n";
        assert_eq!(cgroup2_mount(v1_only), None);
        let spaced = "1 2 0:3 / /mnt/my\\040cg rw - cgroup2 none rw\n";
        assert_eq!(cgroup2_mount(spaced), Some(PathBuf::from("/mnt/my cg")));
    }

    #[test]
    fn the_rules_log_the_cgroups_tcp_both_ways() {
        let r = rules("s3wire_run_7", "unified/s3wire-run-7", 10007);
        let rule = "socket cgroupv2 level 1 \"unified/s3wire-run-7\" meta l4proto tcp log group 10007 \
                    queue-threshold 1";
        assert_eq!(r.matches(rule).count(), 2, "{r}");
        assert!(r.contains("hook output") && r.contains("hook input"), "{r}");
        assert!(r.starts_with("table inet s3wire_run_7 {"), "{r}");
    }

    #[test]
    fn nflog_groups_stay_in_16_bits() {
        assert_eq!(nflog_group(7), 10_007);
        assert_eq!(nflog_group(4_194_304), 54_304);
    }
}

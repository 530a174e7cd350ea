//! `s3wire run -- COMMAND`: the child process whose traffic is captured. It inherits stdin, stdout
//! and stderr untouched and gets `SSLKEYLOGFILE` pointing at a key log only it and we can read
//! (mode 0600), so the TLS libraries that honour it (OpenSSL via Python, curl, NSS, Go with a
//! hook) write the secrets that let its HTTPS be decrypted.

use crate::undo::Undo;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::RawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error("cannot start {command:?}: command not found")]
    NotFound { command: String },
    #[error("cannot start {command:?}: {}", super::io_reason(source))]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the TLS key log {}: {}", path.display(), super::io_reason(source))]
    KeyLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("waiting for {command:?}: {}", super::io_reason(source))]
    Wait {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

impl RunError {
    /// One line towards the fix.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            RunError::NotFound { .. } => {
                Some("check the command's name and PATH; the command comes after `--`")
            }
            RunError::KeyLog { .. } => Some("point --keylog at a file in a writable directory"),
            RunError::Spawn { .. } | RunError::Wait { .. } => None,
        }
    }
}

/// The running command and its key log.
pub struct RunningCommand {
    child: Child,
    name: String,
    keylog: KeyLogFile,
}

impl RunningCommand {
    /// Starts `argv` with `SSLKEYLOGFILE` set: to `keep` when given (kept afterwards), else to a
    /// private temporary file removed when this value is dropped. With `cgroup_procs` (a
    /// cgroup's `cgroup.procs`, open for writing), the child joins that cgroup before it
    /// executes the command, so every socket the command opens belongs to it.
    pub fn spawn(
        argv: &[String],
        keep: Option<&Path>,
        cgroup_procs: Option<RawFd>,
    ) -> Result<Self, RunError> {
        let name = argv.first().cloned().unwrap_or_default();
        let keylog = KeyLogFile::create(keep)?;
        let mut cmd = Command::new(&name);
        cmd.args(argv.iter().skip(1))
            .env("SSLKEYLOGFILE", &keylog.path);
        if let Some(fd) = cgroup_procs {
            // SAFETY: the closure runs in the child between fork and exec, where only
            // async-signal-safe calls are allowed: it makes one write(2) of a static byte to a
            // descriptor the parent keeps open for the whole spawn (it is only closed when
            // `CommandCgroup` is dropped, after the command ended), and allocates nothing.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::write(fd, b"0".as_ptr().cast(), 1) == 1 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let child = cmd
            .spawn()
            .map_err(|source| spawn_error(&name, source, &path))?;
        Ok(RunningCommand {
            child,
            name,
            keylog,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status once the command has ended (never blocks).
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, RunError> {
        self.child.try_wait().map_err(|source| RunError::Wait {
            command: self.name.clone(),
            source,
        })
    }

    /// Key log text written since the last call (whole lines only).
    pub fn new_keys(&mut self) -> Vec<u8> {
        self.keylog.read_new()
    }

    pub fn keylog_path(&self) -> &Path {
        &self.keylog.path
    }

    /// Ends the command at once (a second Ctrl-C while it ignores the first).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }
}

/// Why `command` did not start. A name without a slash is searched for in `path`, and execvp
/// reports "permission denied" when a directory there cannot be searched, even when the command
/// is in none of them (a `PATH` that keeps another user's directory, as `su` without `-` does):
/// unless a file of that name is there to be denied, the command was not found, as a shell says.
fn spawn_error(command: &str, source: std::io::Error, path: &std::ffi::OsStr) -> RunError {
    use std::io::ErrorKind;
    let not_found = match source.kind() {
        ErrorKind::NotFound => true,
        ErrorKind::PermissionDenied => !command.contains('/') && !on_path(command, path),
        _ => false,
    };
    match not_found {
        true => RunError::NotFound {
            command: command.to_string(),
        },
        false => RunError::Spawn {
            command: command.to_string(),
            source,
        },
    }
}

/// Whether a file `name` is in one of `path`'s directories (an empty entry is the current
/// directory), as far as this process can see.
fn on_path(name: &str, path: &std::ffi::OsStr) -> bool {
    std::env::split_paths(path).any(|dir| {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir.as_path()
        };
        dir.join(name).metadata().is_ok_and(|m| m.is_file())
    })
}

/// An exit status as shells report it: the code, or 128 + the signal that ended the process.
pub fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

struct KeyLogFile {
    path: PathBuf,
    tail: KeyLogTail,
    /// Removes a temporary key log (its secrets), also after a panic: [`crate::undo`].
    _remove: Option<Undo>,
}

impl KeyLogFile {
    fn create(keep: Option<&Path>) -> Result<Self, RunError> {
        let path = match keep {
            Some(p) => p.to_path_buf(),
            None => std::env::temp_dir().join(format!(
                "s3wire-keylog-{}-{}.txt",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
            )),
        };
        let mut open = OpenOptions::new();
        open.read(true).write(true).mode(0o600);
        // A temporary name must be new (no one may have planted a file there); a named one is
        // truncated so that old secrets are not mixed with this run's.
        if keep.is_some() {
            open.create(true).truncate(true);
        } else {
            open.create_new(true);
        }
        let file = open.open(&path).map_err(|source| RunError::KeyLog {
            path: path.clone(),
            source,
        })?;
        let remove = keep.is_none().then(|| {
            let path = path.clone();
            Undo::new(move || {
                let _ = std::fs::remove_file(&path);
            })
        });
        Ok(KeyLogFile {
            path,
            tail: KeyLogTail::from_file(file),
            _remove: remove,
        })
    }

    fn read_new(&mut self) -> Vec<u8> {
        self.tail.read_new()
    }
}

/// Follows a key log as a TLS library appends to it.
pub struct KeyLogTail {
    file: File,
    /// Bytes read so far that did not yet end with a newline.
    partial: Vec<u8>,
}

impl KeyLogTail {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Ok(KeyLogTail::from_file(File::open(path)?))
    }

    fn from_file(file: File) -> Self {
        KeyLogTail {
            file,
            partial: Vec::new(),
        }
    }

    /// Whole lines appended since the last call.
    pub fn read_new(&mut self) -> Vec<u8> {
        let pos = self.file.stream_position().unwrap_or(0);
        let mut buf = Vec::new();
        if self.file.read_to_end(&mut buf).is_err() {
            let _ = self.file.seek(SeekFrom::Start(pos));
            return Vec::new();
        }
        self.partial.extend_from_slice(&buf);
        match self.partial.iter().rposition(|b| *b == b'\n') {
            Some(end) => {
                let rest = self.partial.split_off(end + 1);
                std::mem::replace(&mut self.partial, rest)
            }
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn wait(c: &mut RunningCommand) -> ExitStatus {
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s;
            }
            std::thread::yield_now();
        }
    }

    #[test]
    fn child_gets_a_private_keylog_and_its_exit_code_is_kept() {
        let script = "printf 'CLIENT_RANDOM aa bb\\nCLIENT_RA' >> \"$SSLKEYLOGFILE\"; exit 3";
        let mut c = RunningCommand::spawn(&argv(&["sh", "-c", script]), None, None).unwrap();
        let path = c.keylog_path().to_path_buf();
        let mode = std::fs::metadata(&path).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        assert_eq!(exit_code(wait(&mut c)), 3);
        // Only whole lines are handed out; the cut line waits for its end.
        assert_eq!(c.new_keys(), b"CLIENT_RANDOM aa bb\n");
        assert_eq!(c.new_keys(), b"");
        drop(c);
        assert!(!path.exists(), "temporary key log removed");
    }

    #[test]
    fn named_keylog_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let keep = dir.path().join("keys.txt");
        let script = "echo 'CLIENT_RANDOM 01 02' >> \"$SSLKEYLOGFILE\"";
        let mut c = RunningCommand::spawn(&argv(&["sh", "-c", script]), Some(&keep), None).unwrap();
        assert_eq!(exit_code(wait(&mut c)), 0);
        drop(c);
        assert_eq!(std::fs::read(&keep).unwrap(), b"CLIENT_RANDOM 01 02\n");
    }

    #[test]
    fn signals_count_as_128_plus_the_signal() {
        let mut c =
            RunningCommand::spawn(&argv(&["sh", "-c", "kill -TERM $$"]), None, None).unwrap();
        assert_eq!(exit_code(wait(&mut c)), 128 + 15);
    }

    /// Denied on a bare name means a directory on PATH could not be searched: unless a file of
    /// that name is in a directory that can be, the command was not found. A path, or a file
    /// that is there, keeps the denial.
    #[test]
    fn a_denied_search_is_a_missing_command() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("present"), "").unwrap();
        let path = std::env::join_paths([Path::new("/nonexistent-s3wire"), dir.path()]).unwrap();
        let denied = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let said = |command: &str| spawn_error(command, denied(), &path).to_string();
        assert_eq!(said("absent"), "cannot start \"absent\": command not found");
        assert!(
            said("present").ends_with("permission denied"),
            "{}",
            said("present")
        );
        assert!(said("./absent").ends_with("permission denied"));
        let other = spawn_error("absent", std::io::Error::other("boom"), &path);
        assert!(matches!(other, RunError::Spawn { .. }));
    }

    #[test]
    fn a_missing_command_says_so() {
        let e = RunningCommand::spawn(&argv(&["s3wire-no-such-command"]), None, None)
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "cannot start \"s3wire-no-such-command\": command not found"
        );
    }
}

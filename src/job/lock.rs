//! [`JobLock`]: one run of a job at a time (feature `lock`, Unix).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};
use serde::Serialize;
use time::OffsetDateTime;

use crate::client::ServiceClient;

/// An exclusive lock on a job: the cloud, the project and the retention policy, so that
/// two runs of the same job (a cron run that overlaps the previous one, two hosts sharing
/// a home directory) never work at once. The second one fails at once with
/// [`LockError::Held`], naming the holder.
///
/// It is an exclusive `flock(2)` on a file, taken without waiting: the kernel releases it
/// when the holder's file is closed, that is when the [`JobLock`] is dropped or the process
/// ends in any way (a crash, `SIGKILL`, a reboot), so it never goes stale and needs no
/// clean-up. After locking, the holder writes its process id and start time into the file
/// (`pid=4242 started=2026-11-28T02:00:00Z`), for the message of the next one. The file is
/// kept (removing it would let two processes lock two different files of the same name).
///
/// The default file ([`default_path`](Self::default_path)) is
/// `$XDG_STATE_HOME/cinder-snapshots/locks/job-<hash>.lock` (or `~/.local/state/...`),
/// the hash (16 hex digits) of the client's auth URL and project as configured (a project
/// named by id and the same one by name are two jobs) and the policy id. The command-line
/// tool's `run` and `prune` take it (`--lock-file PATH` to choose another file; exit code
/// 5 when it is held). A program of your own that runs [`run`](super::run) from a timer
/// takes it the same way:
///
/// ```no_run
/// use cinder_snapshots::ServiceClient;
/// use cinder_snapshots::job::{self, JobLock, JobOpts, LockError};
/// use cinder_snapshots::retention::Policy;
///
/// let client = ServiceClient::from_env()?;
/// let policy = Policy::builder("nightly").keep_daily(7).build()?;
/// let path = JobLock::default_path(&client, policy.id()).expect("a home directory");
/// let _lock = match JobLock::acquire(&path) {
///     Ok(lock) => lock,
///     Err(LockError::Held { holder: Some(h), .. }) => {
///         eprintln!("already running: pid {} since {}", h.pid, h.started);
///         std::process::exit(5);
///     }
///     Err(e) => panic!("{e}"),
/// };
/// let report = job::run(&client, &JobOpts::new(policy).select_tag("backup", "nightly"))?;
/// // The lock is released when `_lock` is dropped, or when the process ends.
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct JobLock {
    /// Holds the lock while open.
    _file: File,
    path: PathBuf,
    holder: Holder,
}

/// Who holds a [`JobLock`]: as written into its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Holder {
    /// The holder's process id.
    pub pid: u32,
    /// When it took the lock, RFC 3339 in UTC, whole seconds (as written by the holder; not
    /// parsed further).
    pub started: String,
}

impl Holder {
    /// `pid=<pid> started=<time>`, as the file holds it.
    fn line(&self) -> String {
        format!("pid={} started={}\n", self.pid, self.started)
    }

    /// Reads what a holder wrote; `None` when the file holds nothing of the kind (the
    /// holder has not written it yet, or the file is not a lock file of this crate).
    fn parse(text: &str) -> Option<Holder> {
        let line = text.lines().next()?;
        let mut pid = None;
        let mut started = None;
        for word in line.split_ascii_whitespace() {
            match word.split_once('=') {
                Some(("pid", v)) => pid = v.parse::<u32>().ok(),
                Some(("started", v)) if v.len() <= 40 && v.chars().all(|c| c.is_ascii_alphanumeric() || "-:.+".contains(c)) => {
                    started = Some(v.to_owned());
                }
                _ => {}
            }
        }
        Some(Holder { pid: pid?, started: started? })
    }
}

/// Why a [`JobLock`] was not taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another process holds the lock: the job is running already.
    #[error("{}", held_message(path, holder.as_ref()))]
    Held {
        /// The lock file.
        path: PathBuf,
        /// Who holds it, as its file says (`None` when it says nothing readable yet).
        holder: Option<Holder>,
    },
    /// The lock file or its directory could not be made, opened or locked.
    #[error("cannot take the job's lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

fn held_message(path: &Path, holder: Option<&Holder>) -> String {
    match holder {
        Some(h) => format!("another run of this job is running (pid {}, started {}); lock file {}", h.pid, h.started, path.display()),
        None => format!("another run of this job is running; lock file {}", path.display()),
    }
}

impl JobLock {
    /// The directory of the default lock files: `$XDG_STATE_HOME/cinder-snapshots/locks`
    /// (an absolute `XDG_STATE_HOME`), else `~/.local/state/cinder-snapshots/locks`; `None`
    /// when neither is known.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let base = var("XDG_STATE_HOME").filter(|p| p.is_absolute()).or_else(|| var("HOME").map(|h| h.join(".local").join("state")))?;
        Some(base.join("cinder-snapshots").join("locks"))
    }

    /// The default lock file of the job of `policy_id` run with `client` (see the type's
    /// docs); no request is sent. `None` when [`default_dir`](Self::default_dir) is, or
    /// the client has neither credentials nor an endpoint.
    pub fn default_path(client: &ServiceClient, policy_id: &str) -> Option<PathBuf> {
        Some(Self::default_dir()?.join(format!("job-{}.lock", super::target_hash(client, policy_id)?)))
    }

    /// The default lock file of a run over a job spec: `estate-HASH.lock` in
    /// [`default_dir`](Self::default_dir), the hash (FNV-1a, as the job's) of the spec file's
    /// canonical path and the names of the targets the run covers, so that two runs of the
    /// same share exclude each other and two disjoint shares do not. `None` when
    /// [`default_dir`](Self::default_dir) is.
    pub fn spec_path<'a>(spec_file: &Path, targets: impl IntoIterator<Item = &'a str>) -> Option<PathBuf> {
        let canonical = std::fs::canonicalize(spec_file).unwrap_or_else(|_| spec_file.to_path_buf());
        let names: Vec<&str> = targets.into_iter().collect();
        let key = format!("spec {} | targets {}", canonical.display(), names.join(", "));
        Some(Self::default_dir()?.join(format!("estate-{:016x}.lock", crate::auth::fnv1a(key.as_bytes()))))
    }

    /// Takes the lock on `path` without waiting: makes its directory (mode 0700) and the
    /// file (mode 0600) when missing, locks it, and writes this process's id and the time
    /// into it.
    ///
    /// # Errors
    ///
    /// [`LockError::Held`] when another open file (another process, or another
    /// [`JobLock`] of this one) holds it; [`LockError::Io`] when the file cannot be made,
    /// opened, locked or written.
    pub fn acquire(path: impl AsRef<Path>) -> Result<JobLock, LockError> {
        /// How often a held lock's file is read for its holder's line, and the pause between.
        const HOLDER_READS: u32 = 50;
        const HOLDER_READ_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);
        let path = path.as_ref().to_path_buf();
        let io = |source: std::io::Error| LockError::Io { path: path.clone(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(&path).map_err(io)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                // The holder writes its line right after it locks: a run started at the same
                // instant may find the file still empty, so it reads again for a short,
                // bounded while (half a second) before saying the holder is unknown.
                let mut holder = None;
                for _ in 0..HOLDER_READS {
                    let mut text = String::new();
                    // At most a line: the holder wrote it; anything else is not ours to print.
                    let _ = file.rewind().and_then(|()| (&mut file).take(256).read_to_string(&mut text));
                    holder = Holder::parse(&text);
                    if holder.is_some() {
                        break;
                    }
                    std::thread::sleep(HOLDER_READ_PAUSE);
                }
                return Err(LockError::Held { path, holder });
            }
            Err(e) => return Err(io(e.into())),
        }
        let holder = Holder {
            pid: std::process::id(),
            started: crate::timestamp::write(OffsetDateTime::now_utc(), crate::timestamp::Fraction::Whole),
        };
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(holder.line().as_bytes()).and_then(|()| file.flush()).map_err(io)?;
        Ok(JobLock { _file: file, path, holder })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This process, as written into the file.
    pub fn holder(&self) -> &Holder {
        &self.holder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cinder-snapshots-lock-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_second_lock_is_refused_with_the_holder_until_the_first_is_dropped() {
        let dir = temp("twice");
        let path = dir.join("a").join("job.lock");
        let first = JobLock::acquire(&path).unwrap();
        assert_eq!(first.holder().pid, std::process::id());
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("pid={} started={}\n", std::process::id(), first.holder().started));
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        }
        match JobLock::acquire(&path) {
            Err(LockError::Held { path: p, holder: Some(h) }) => {
                assert_eq!((p, &h), (path.clone(), first.holder()));
                let message = LockError::Held { path: path.clone(), holder: Some(h.clone()) }.to_string();
                assert_eq!(
                    message,
                    format!("another run of this job is running (pid {}, started {}); lock file {}", h.pid, h.started, path.display())
                );
            }
            other => panic!("{other:?}"),
        }
        drop(first);
        // Released with the file. Other tests of this process spawn children (hooks' `sh`):
        // a child between its fork and its exec holds a copy of every descriptor, this one
        // too (close-on-exec closes it at the exec), so the lock may outlive the drop by that
        // instant: try again for a bounded while, never forever.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let again = loop {
            match JobLock::acquire(&path) {
                Ok(lock) => break lock,
                Err(LockError::Held { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => panic!("the lock was not released with its holder: {e}"),
            }
        };
        drop(again);
        let _ = fs::remove_dir_all(&dir);
    }

    /// Two runs started at the same instant: the loser may find the lock held before the
    /// holder wrote its line; it reads again for a moment and names the holder. Failed
    /// before (live: "another run of this job is running" without the pid).
    #[test]
    fn a_holder_that_writes_its_line_a_moment_after_locking_is_named() {
        let dir = temp("late");
        let path = dir.join("job.lock");
        fs::create_dir_all(&dir).unwrap();
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).unwrap();
        flock(&file, FlockOperation::NonBlockingLockExclusive).unwrap();
        let writer = std::thread::spawn({
            let path = path.clone();
            move || {
                std::thread::sleep(std::time::Duration::from_millis(100));
                fs::write(&path, "pid=7 started=2026-12-07T00:00:00Z\n").unwrap();
            }
        });
        match JobLock::acquire(&path) {
            Err(LockError::Held { holder: Some(h), .. }) => assert_eq!(h, Holder { pid: 7, started: "2026-12-07T00:00:00Z".into() }),
            other => panic!("{other:?}"),
        }
        writer.join().unwrap();
        drop(file);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn what_a_holder_wrote_is_read_strictly() {
        assert_eq!(
            Holder::parse("pid=12 started=2026-11-28T02:00:00Z\n"),
            Some(Holder { pid: 12, started: "2026-11-28T02:00:00Z".into() })
        );
        assert_eq!(Holder::parse(""), None);
        assert_eq!(Holder::parse("pid=x started=now"), None);
        assert_eq!(Holder::parse("pid=1 started=\u{1b}[31m"), None);
    }
}

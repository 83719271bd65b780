use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{AuthMethod, AuthOptions, Domain, Scope, Secret, User};

/// An opt-in on-disk cache of Keystone tokens, so that short processes run one after the
/// other (cron jobs, scripts, the command-line tool) share one token instead of asking
/// Keystone each time.
///
/// One file per identity, named by a hash of the auth URL, the user or application
/// credential and the scope; it holds the token, Keystone's answer (expiry and catalog),
/// the local time the token arrived and, once a client has asked, the highest microversion
/// the block-storage service announced: so a process that finds a fresh token in the cache
/// sends exactly one request for a one-request job (no token request, no discovery). Never
/// the password or secret. The discovery lives and dies with its token. Files are created with
/// mode 0600 in a directory of mode 0700; a file that others could read, or that another
/// user owns, is ignored and removed. A token that has expired (or is about to) is not
/// used, and a token Cinder rejects with 401 is dropped and replaced. A bare token given by
/// the caller is never cached. Cache failures are never errors: the client then simply asks
/// Keystone.
///
/// On Unix, as ssh does for its files, a directory that another user could write in is not
/// used at all (neither read nor written): one that is not owned by the current user, or
/// that its group or others may write (mode `0o022`), or a symbolic link to such a
/// directory (a link is judged by its target). The client then works without the cache and,
/// with the feature `log`, says why once.
///
/// ```no_run
/// use cinder_snapshots::{ServiceClient, ServiceClientBuilder, auth::TokenCache};
/// let mut builder = ServiceClientBuilder::from_env()?;
/// if let Some(cache) = TokenCache::user_default() {
///     builder = builder.token_cache(cache);
/// }
/// let client = builder.build()?;
/// # Ok::<(), cinder_snapshots::Error>(())
/// ```
#[derive(Clone)]
pub struct TokenCache {
    dir: PathBuf,
    /// Set once the refusal of an unsafe directory has been logged (shared by clones).
    refusal_logged: Arc<AtomicBool>,
}

impl PartialEq for TokenCache {
    fn eq(&self, other: &Self) -> bool {
        self.dir == other.dir
    }
}

impl Eq for TokenCache {}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache").field("dir", &self.dir).finish()
    }
}

/// A token read back from the cache: the token, Keystone's answer body, the local time it
/// arrived (`None` in entries written before it was recorded) and, once discovered with
/// this token, the service root and the highest microversion it announced.
pub(crate) struct Cached {
    pub token: Secret,
    pub body: Vec<u8>,
    pub received_at: Option<OffsetDateTime>,
    pub discovered: Option<Discovered>,
}

/// What a microversion discovery found: the service root asked (`https://c/volume/`) and the
/// highest version its document announced (`3.71`). Kept with the token, so it lives and
/// dies with it: a short process with a cached token makes no discovery request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Discovered {
    pub root: String,
    pub max: String,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    /// What the file name is a hash of, checked on reading (no collision can swap identities).
    key: String,
    token: String,
    /// Keystone's answer body (no secret in it: the token travels in a header).
    body: String,
    /// The local time the token arrived, in seconds since the Unix epoch: its lifetime is
    /// counted from then, whatever Keystone's clock says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    received_at: Option<i64>,
    /// The microversion discovered with this token, if any (entries of older versions have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    discovered: Option<Discovered>,
}

/// What a cache directory is.
#[derive(Debug, PartialEq, Eq)]
enum Dir {
    /// It does not exist (yet).
    Missing,
    /// Only this user can write in it.
    Safe,
    /// Others could plant or swap files in it: why.
    Unsafe(String),
}

impl TokenCache {
    /// A cache in this directory (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        TokenCache { dir: dir.into(), refusal_logged: Arc::default() }
    }

    /// The user's cache directory: `$XDG_CACHE_HOME/cinder-snapshots` or
    /// `~/.cache/cinder-snapshots` (Linux and other Unix), `~/Library/Caches/cinder-snapshots`
    /// (macOS), `%LOCALAPPDATA%\cinder-snapshots` (Windows). `None` when the home directory
    /// is unknown.
    pub fn user_default() -> Option<Self> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let base = if cfg!(windows) {
            var("LOCALAPPDATA")?
        } else if cfg!(target_os = "macos") {
            var("HOME")?.join("Library").join("Caches")
        } else {
            var("XDG_CACHE_HOME").filter(|p| p.is_absolute()).or_else(|| var("HOME").map(|h| h.join(".cache")))?
        };
        Some(TokenCache::new(base.join("cinder-snapshots")))
    }

    /// The directory of the cache files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What identifies a token: auth URL, method, user or credential, scope. No secret.
    /// `None` for a token given by the caller (nothing to cache).
    pub(crate) fn key(auth: &AuthOptions) -> Option<String> {
        fn domain(d: &Domain) -> String {
            match d {
                Domain::Id(id) => format!("domain-id={id}"),
                Domain::Name(name) => format!("domain-name={name}"),
            }
        }
        fn user(u: &User) -> String {
            match u {
                User::Id(id) => format!("user-id={id}"),
                User::Name { name, domain: d } => format!("user-name={name}@{}", domain(d)),
            }
        }
        let identity = match &auth.method {
            AuthMethod::Token { .. } => return None,
            AuthMethod::Password { user: u, .. } => format!("password {}", user(u)),
            AuthMethod::ApplicationCredentialId { id, .. } => format!("application-credential id={id}"),
            AuthMethod::ApplicationCredentialName { name, user: u, .. } => {
                format!("application-credential name={name} {}", user(u))
            }
        };
        let scope = match &auth.scope {
            Scope::Default => "default".to_owned(),
            Scope::ProjectId(id) => format!("project-id={id}"),
            Scope::ProjectName { name, domain: d } => format!("project-name={name}@{}", domain(d)),
            Scope::Domain(d) => domain(d),
        };
        Some(format!("{} | {identity} | {scope}", auth.auth_url.trim().trim_end_matches('/')))
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("token-{:016x}.json", fnv1a(key.as_bytes())))
    }

    /// `true` when the directory exists and only this user can write in it; an unsafe one is
    /// logged once (feature `log`).
    fn trusted(&self) -> bool {
        match judge_dir(&self.dir) {
            Dir::Safe => true,
            Dir::Missing => false,
            Dir::Unsafe(why) => {
                if !self.refusal_logged.swap(true, Ordering::Relaxed) {
                    #[cfg(feature = "log")]
                    log::warn!(target: "cinder_snapshots", "token cache {} not used: {why}", self.dir.display());
                    #[cfg(not(feature = "log"))]
                    let _ = why;
                }
                false
            }
        }
    }

    /// The cached token for `key`, if there is one this user alone can read.
    pub(crate) fn load(&self, key: &str) -> Option<Cached> {
        if !self.trusted() {
            return None;
        }
        let path = self.path(key);
        let meta = fs::metadata(&path).ok()?;
        if !private(&meta) {
            let _ = fs::remove_file(&path);
            return None;
        }
        let entry: Entry = serde_json::from_slice(&fs::read(&path).ok()?).ok()?;
        (entry.key == key && !entry.token.is_empty()).then(|| Cached {
            token: Secret::new(entry.token),
            body: entry.body.into_bytes(),
            received_at: entry.received_at.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()),
            discovered: entry.discovered,
        })
    }

    /// Writes the token for `key`, `received_at` the local time it arrived: a new file of
    /// mode 0600 renamed over the old one, so a reader never sees half a file.
    pub(crate) fn store(&self, key: &str, token: &Secret, body: &[u8], received_at: OffsetDateTime) {
        let entry = Entry {
            key: key.to_owned(),
            token: token.expose_secret().to_owned(),
            body: String::from_utf8_lossy(body).into_owned(),
            received_at: Some(received_at.unix_timestamp()),
            discovered: None,
        };
        self.write(key, &entry);
    }

    /// Adds what a microversion discovery found to the entry of `key`, if that entry still
    /// holds `token` (another process may have replaced it meanwhile: then nothing is written).
    pub(crate) fn store_discovered(&self, key: &str, token: &Secret, discovered: Discovered) {
        if !self.trusted() {
            return;
        }
        let path = self.path(key);
        if !fs::metadata(&path).is_ok_and(|meta| private(&meta)) {
            return;
        }
        let Some(mut entry) = fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Entry>(&b).ok()) else { return };
        if entry.key != key || entry.token != token.expose_secret() {
            return;
        }
        entry.discovered = Some(discovered);
        self.write(key, &entry);
    }

    /// Writes an entry: a new file of mode 0600 renamed over the old one.
    fn write(&self, key: &str, entry: &Entry) {
        let Ok(json) = serde_json::to_vec(entry) else { return };
        if create_private_dir(&self.dir).is_err() || !self.trusted() {
            return;
        }
        let path = self.path(key);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let written = open_private(&tmp).and_then(|mut f| f.write_all(&json)).and_then(|()| fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }

    /// Drops the token for `key` (Cinder or Keystone rejected it).
    pub(crate) fn remove(&self, key: &str) {
        if self.trusted() {
            let _ = fs::remove_file(self.path(key));
        }
    }
}

/// FNV-1a, 64 bits: a stable file name for a key (the key itself is checked on reading).
/// The 64-bit FNV-1a hash: the cache's (and the job lock's) file names.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(unix)]
fn private(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.is_file() && meta.mode() & 0o077 == 0 && current_uid() == Some(meta.uid())
}

#[cfg(not(unix))]
fn private(meta: &fs::Metadata) -> bool {
    meta.is_file()
}

/// The effective uid of this process, without libc: the owner of a socket is the uid of the
/// process that made it (Linux, macOS and the BSDs record it), and on Linux `/proc/self`
/// belongs to it as well. `None` if neither can be read.
#[cfg(unix)]
fn current_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    static UID: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *UID.get_or_init(|| {
        let socket = std::os::unix::net::UnixStream::pair().ok().and_then(|(a, _b)| {
            let file = fs::File::from(std::os::fd::OwnedFd::from(a));
            file.metadata().ok().map(|m| m.uid())
        });
        socket.or_else(|| fs::metadata("/proc/self").ok().map(|m| m.uid()))
    })
}

/// Judges a cache directory as ssh judges its own: it must belong to this user and be
/// writable by no one else; a symbolic link is judged by what it points to.
#[cfg(unix)]
fn judge_dir(dir: &Path) -> Dir {
    use std::os::unix::fs::MetadataExt;
    let link = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Dir::Missing,
        Err(e) => return Dir::Unsafe(format!("it cannot be examined: {e}")),
    };
    let (meta, what) = if link.file_type().is_symlink() {
        let target = fs::read_link(dir).map_or_else(|_| "?".to_owned(), |t| t.display().to_string());
        match fs::metadata(dir) {
            Ok(meta) => (meta, format!("it is a symbolic link to {target}, which")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Dir::Missing,
            Err(e) => return Dir::Unsafe(format!("it is a symbolic link to {target}, which cannot be examined: {e}")),
        }
    } else {
        (link, "it".to_owned())
    };
    let Some(uid) = current_uid() else {
        return Dir::Unsafe("the current user's id cannot be found to check who owns it".into());
    };
    if !meta.is_dir() {
        return Dir::Unsafe(format!("{what} is not a directory"));
    }
    if meta.uid() != uid {
        return Dir::Unsafe(format!("{what} belongs to uid {}, not to this user (uid {uid})", meta.uid()));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        let who = if mode & 0o002 != 0 { "anyone" } else { "its group" };
        return Dir::Unsafe(format!("{what} can be written by {who} (mode {mode:04o}); make it 0700"));
    }
    Dir::Safe
}

/// On other systems the directory is used as it is.
#[cfg(not(unix))]
fn judge_dir(dir: &Path) -> Dir {
    if dir.exists() { Dir::Safe } else { Dir::Missing }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cinder-snapshots-cache-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn keys_name_identity_and_scope_but_no_secret() {
        let auth = AuthOptions::password("http://k:5000/v3/", "ops", Domain::name("Default"), "pa55")
            .with_scope(Scope::project_name("p", Domain::id("default")));
        let key = TokenCache::key(&auth).unwrap();
        assert_eq!(key, "http://k:5000/v3 | password user-name=ops@domain-name=Default | project-name=p@domain-id=default");
        assert!(TokenCache::key(&AuthOptions::token("http://k/v3", "t")).is_none());
        let app = AuthOptions::application_credential("http://k/v3", "abc", "s3");
        assert_eq!(TokenCache::key(&app).unwrap(), "http://k/v3 | application-credential id=abc | default");
    }

    #[test]
    fn store_load_remove_with_private_modes() {
        let dir = temp_dir("roundtrip");
        let cache = TokenCache::new(dir.join("sub"));
        assert!(cache.load("k").is_none());
        cache.store("k", &Secret::new("tok"), br#"{"token":{}}"#, OffsetDateTime::UNIX_EPOCH);
        let got = cache.load("k").unwrap();
        assert_eq!(got.received_at, Some(OffsetDateTime::UNIX_EPOCH));
        assert_eq!(got.token.expose_secret(), "tok");
        assert_eq!(got.body, br#"{"token":{}}"#);
        // Another key with the same file would not be handed out.
        assert!(cache.load("other").is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = cache.path("k");
            assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(fs::metadata(dir.join("sub")).unwrap().permissions().mode() & 0o777, 0o700);
            fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(cache.load("k").is_none(), "a file others can read is not trusted");
            assert!(!file.exists(), "and it is removed");
            cache.store("k", &Secret::new("tok"), b"{}", OffsetDateTime::now_utc());
        }
        cache.remove("k");
        assert!(cache.load("k").is_none());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_discovery_is_kept_only_with_its_own_token() {
        let dir = temp_dir("discovered");
        let cache = TokenCache::new(&dir);
        let found = Discovered { root: "http://c/volume/".into(), max: "3.70".into() };
        cache.store_discovered("k", &Secret::new("tok"), found.clone());
        assert!(cache.load("k").is_none(), "no entry: nothing written");
        cache.store("k", &Secret::new("tok"), b"{}", OffsetDateTime::UNIX_EPOCH);
        cache.store_discovered("k", &Secret::new("another"), found.clone());
        assert_eq!(cache.load("k").unwrap().discovered, None, "another token's discovery is not attached");
        cache.store_discovered("k", &Secret::new("tok"), found.clone());
        let got = cache.load("k").unwrap();
        assert_eq!((got.token.expose_secret(), got.discovered), ("tok", Some(found)));
        cache.store("k", &Secret::new("tok2"), b"{}", OffsetDateTime::UNIX_EPOCH);
        assert_eq!(cache.load("k").unwrap().discovered, None, "a new token starts without one");
        let _ = fs::remove_dir_all(&dir);
    }
}

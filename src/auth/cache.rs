use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{AuthMethod, AuthOptions, Domain, Scope, Secret, User};

/// An opt-in on-disk cache of Keystone tokens, so that short processes run one after the
/// other (cron jobs, scripts, the command-line tool) share one token instead of asking
/// Keystone each time.
///
/// One file per identity, named by a hash of the auth URL, the user or application
/// credential and the scope; it holds the token and Keystone's answer (expiry and catalog),
/// never the password or secret. Files are created with mode 0600 in a directory of mode
/// 0700; a file that others could read is ignored and removed. A token that has expired
/// (or is about to) is not used, and a token Cinder rejects with 401 is dropped and
/// replaced. A bare token given by the caller is never cached. Cache failures are never
/// errors: the client then simply asks Keystone.
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCache {
    dir: PathBuf,
}

/// A token read back from the cache: the token and Keystone's answer body.
pub(crate) struct Cached {
    pub token: Secret,
    pub body: Vec<u8>,
    pub received_at: Option<OffsetDateTime>,
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
}

impl TokenCache {
    /// A cache in this directory (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        TokenCache { dir: dir.into() }
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

    /// The cached token for `key`, if there is one this user alone can read.
    pub(crate) fn load(&self, key: &str) -> Option<Cached> {
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
        };
        let Ok(json) = serde_json::to_vec(&entry) else { return };
        if create_private_dir(&self.dir).is_err() {
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
        let _ = fs::remove_file(self.path(key));
    }
}

/// FNV-1a, 64 bits: a stable file name for a key (the key itself is checked on reading).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(unix)]
fn private(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o077 == 0
}

#[cfg(not(unix))]
fn private(meta: &fs::Metadata) -> bool {
    meta.is_file()
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
}

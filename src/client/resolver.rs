//! Name resolution for the client's agent: each host is resolved once and the answer kept
//! for [`TTL`], instead of once per request.
//!
//! ureq asks its resolver for the address of every request, also when the request then goes
//! out on a pooled keep-alive connection, and its default resolver does each lookup on a new
//! thread whenever a timeout applies (which is always the case for this crate's client): a
//! listing of 10,000 snapshots started 13 threads, one of 100,000 started 103. Here:
//!
//! - a host that is an IP address (`127.0.0.1`, `[::1]`) is never looked up, and no thread
//!   is started for it;
//! - a host name is looked up by ureq's default resolver the first time (on its own thread,
//!   so that the lookup is bounded by the connect timeout as well as by ureq's resolve and
//!   global timeouts), then answered from the cache for [`TTL`];
//! - a failed lookup is not cached; at most [`MAX_HOSTS`] hosts are kept (the oldest entry
//!   makes room).
//!
//! The cost of the cache is that a host whose address changes is reached at its old address
//! for up to a minute: a new connection to the old address fails (a transient error, retried
//! as the client's retry policy says) until the entry expires.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ureq::config::{Config, IpFamily};
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;
use ureq::unversioned::transport::time::Duration as UreqDuration;

/// How long a looked-up address is used before the host is looked up again.
pub(crate) const TTL: Duration = Duration::from_secs(60);

/// How many hosts the cache holds (a client talks to Keystone and Cinder, often one host).
pub(crate) const MAX_HOSTS: usize = 8;

/// One cached answer.
struct Entry {
    host: String,
    port: u16,
    family: IpFamily,
    addrs: ResolvedSocketAddrs,
    at: Instant,
}

/// A resolver that looks each host up once per [`TTL`] (see the module documentation).
pub(crate) struct CachingResolver<R = DefaultResolver> {
    lookup: R,
    ttl: Duration,
    cache: Mutex<Vec<Entry>>,
}

impl CachingResolver {
    /// A cache in front of ureq's default resolver.
    pub(crate) fn new() -> Self {
        CachingResolver::with_lookup(DefaultResolver::default(), TTL)
    }
}

impl<R: Resolver> CachingResolver<R> {
    /// A cache in front of `lookup`, keeping answers for `ttl`.
    pub(crate) fn with_lookup(lookup: R, ttl: Duration) -> Self {
        CachingResolver { lookup, ttl, cache: Mutex::new(Vec::new()) }
    }

    fn cached(&self, host: &str, port: u16, family: IpFamily, now: Instant) -> Option<ResolvedSocketAddrs> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .iter()
            .find(|e| e.port == port && e.family == family && e.host == host && now.saturating_duration_since(e.at) < self.ttl)
            .map(|e| e.addrs.clone())
    }

    fn store(&self, host: &str, port: u16, family: IpFamily, addrs: &ResolvedSocketAddrs, now: Instant) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.retain(|e| !(e.port == port && e.family == family && e.host == host));
        if cache.len() >= MAX_HOSTS {
            if let Some(oldest) = cache.iter().enumerate().min_by_key(|(_, e)| e.at).map(|(i, _)| i) {
                cache.swap_remove(oldest);
            }
        }
        cache.push(Entry { host: host.to_owned(), port, family, addrs: addrs.clone(), at: now });
    }
}

/// The port a URI names, or its scheme's default (http and https only; anything else, such
/// as a proxy's scheme, is left to the default resolver).
fn port_of(uri: &Uri) -> Option<u16> {
    let default = match uri.scheme_str()? {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    Some(uri.port_u16().unwrap_or(default))
}

/// The IP address a host is written as (`[::1]` included), if it is one.
fn ip_literal(host: &str) -> Option<IpAddr> {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host).parse().ok()
}

/// `timeout`, shortened to the connect timeout when that is shorter: a lookup is the first
/// part of connecting.
fn bounded(timeout: NextTimeout, config: &Config) -> NextTimeout {
    match (config.timeouts().connect, *timeout.after) {
        (Some(connect), after) if connect < after => {
            NextTimeout { after: UreqDuration::Exact(connect), reason: ureq::Timeout::Connect, ..timeout }
        }
        _ => timeout,
    }
}

impl<R: Resolver> Resolver for CachingResolver<R> {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(host), Some(port)) = (uri.host(), port_of(uri)) else {
            return self.lookup.resolve(uri, config, timeout);
        };
        let family = config.ip_family();
        if let Some(ip) = ip_literal(host) {
            let mut addrs = self.empty();
            for addr in family.keep_wanted(std::iter::once(SocketAddr::new(ip, port))) {
                addrs.push(addr);
            }
            return if addrs.is_empty() { Err(ureq::Error::HostNotFound) } else { Ok(addrs) };
        }
        let now = Instant::now();
        if let Some(addrs) = self.cached(host, port, family, now) {
            return Ok(addrs);
        }
        let addrs = self.lookup.resolve(uri, config, bounded(timeout, config))?;
        self.store(host, port, family, &addrs, now);
        Ok(addrs)
    }
}

impl<R> fmt::Debug for CachingResolver<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts = self.cache.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("CachingResolver").field("ttl", &self.ttl).field("hosts", &hosts).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Answers 192.0.2.1 (or fails for `fail.invalid`) and counts the lookups.
    #[derive(Debug, Clone, Default)]
    struct Counting(Arc<AtomicUsize>, Arc<Mutex<Option<NextTimeout>>>);

    impl Resolver for Counting {
        fn resolve(&self, uri: &Uri, _: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
            self.0.fetch_add(1, Ordering::SeqCst);
            *self.1.lock().unwrap() = Some(timeout);
            if uri.host() == Some("fail.invalid") {
                return Err(ureq::Error::HostNotFound);
            }
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new([192, 0, 2, 1].into(), port_of(uri).unwrap()));
            Ok(addrs)
        }
    }

    fn timeout(secs: u64) -> NextTimeout {
        NextTimeout { after: UreqDuration::from_secs(secs), reason: ureq::Timeout::Global, ..NextTimeout::default() }
    }

    fn resolve(r: &CachingResolver<Counting>, uri: &str, config: &Config) -> Result<Vec<SocketAddr>, ureq::Error> {
        r.resolve(&uri.parse().unwrap(), config, timeout(30)).map(|a| a.to_vec())
    }

    #[test]
    fn a_host_is_looked_up_once_per_ttl() {
        let lookup = Counting::default();
        let r = CachingResolver::with_lookup(lookup.clone(), TTL);
        let config = Config::default();
        for path in ["/v3/auth/tokens", "/", "/v3/p/snapshots/detail?marker=a", "/v3/p/snapshots/detail?marker=b"] {
            let addrs = resolve(&r, &format!("https://cinder.example:8776{path}"), &config).unwrap();
            assert_eq!(addrs, vec!["192.0.2.1:8776".parse::<SocketAddr>().unwrap()]);
        }
        assert_eq!(lookup.0.load(Ordering::SeqCst), 1);
        // Another port or host is another entry; the default port counts as given.
        assert_eq!(resolve(&r, "https://cinder.example/", &config).unwrap(), vec!["192.0.2.1:443".parse::<SocketAddr>().unwrap()]);
        resolve(&r, "https://cinder.example:443/x", &config).unwrap();
        resolve(&r, "http://keystone.example/", &config).unwrap();
        assert_eq!(lookup.0.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn an_expired_answer_is_looked_up_again() {
        let lookup = Counting::default();
        let r = CachingResolver::with_lookup(lookup.clone(), Duration::ZERO);
        let config = Config::default();
        resolve(&r, "http://h.example/", &config).unwrap();
        resolve(&r, "http://h.example/", &config).unwrap();
        assert_eq!(lookup.0.load(Ordering::SeqCst), 2);
        assert_eq!(r.cache.lock().unwrap().len(), 1, "the new answer replaces the old one");
    }

    #[test]
    fn failures_are_not_cached() {
        let lookup = Counting::default();
        let r = CachingResolver::with_lookup(lookup.clone(), TTL);
        let config = Config::default();
        assert!(matches!(resolve(&r, "http://fail.invalid/", &config), Err(ureq::Error::HostNotFound)));
        assert!(matches!(resolve(&r, "http://fail.invalid/", &config), Err(ureq::Error::HostNotFound)));
        assert_eq!(lookup.0.load(Ordering::SeqCst), 2);
        assert!(r.cache.lock().unwrap().is_empty());
    }

    #[test]
    fn ip_addresses_are_never_looked_up() {
        let lookup = Counting::default();
        let r = CachingResolver::with_lookup(lookup.clone(), TTL);
        let config = Config::default();
        assert_eq!(resolve(&r, "http://127.0.0.1:5000/v3", &config).unwrap(), vec!["127.0.0.1:5000".parse::<SocketAddr>().unwrap()]);
        assert_eq!(resolve(&r, "https://[::1]/v3", &config).unwrap(), vec!["[::1]:443".parse::<SocketAddr>().unwrap()]);
        let v4_only = Config::builder().ip_family(IpFamily::Ipv4Only).build();
        assert!(matches!(resolve(&r, "https://[::1]/v3", &v4_only), Err(ureq::Error::HostNotFound)));
        assert_eq!(lookup.0.load(Ordering::SeqCst), 0);
        assert!(r.cache.lock().unwrap().is_empty());
    }

    #[test]
    fn the_cache_holds_at_most_max_hosts() {
        let lookup = Counting::default();
        let r = CachingResolver::with_lookup(lookup.clone(), TTL);
        let config = Config::default();
        for i in 0..MAX_HOSTS + 3 {
            resolve(&r, &format!("http://h{i}.example/"), &config).unwrap();
        }
        assert_eq!(r.cache.lock().unwrap().len(), MAX_HOSTS);
        assert_eq!(lookup.0.load(Ordering::SeqCst), MAX_HOSTS + 3);
    }

    #[test]
    fn the_first_lookup_is_bounded_by_the_connect_timeout() {
        let lookup = Counting::default();
        let r = CachingResolver::with_lookup(lookup.clone(), TTL);
        let config = Config::builder().timeout_connect(Some(Duration::from_secs(2))).build();
        resolve(&r, "http://a.example/", &config).unwrap();
        let seen = lookup.1.lock().unwrap().take().unwrap();
        assert_eq!((*seen.after, seen.reason), (Duration::from_secs(2), ureq::Timeout::Connect));
        // A shorter remaining budget is kept as it is.
        let config = Config::builder().timeout_connect(Some(Duration::from_secs(60))).build();
        resolve(&r, "http://b.example/", &config).unwrap();
        let seen = lookup.1.lock().unwrap().take().unwrap();
        assert_eq!((*seen.after, seen.reason), (Duration::from_secs(30), ureq::Timeout::Global));
    }
}

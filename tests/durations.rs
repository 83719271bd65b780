//! Extreme durations from every source: the `OS_API_TIMEOUT` variable, clouds.json's
//! `api_timeout`, the builder's timeouts and policies, and the wait options. Out-of-range
//! values from a user or a file are configuration errors naming the variable or the key;
//! values given in code are clamped; nothing panics or overflows a clock reading, and every
//! call ends within its bound.

mod rawhttp;

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cinder_snapshots::WaitErrorKind;
use cinder_snapshots::snapshots::{self, WaitOpts};
use cinder_snapshots::{Error, Microversion, MicroversionPolicy, PollPolicy, RetryPolicy, ServiceClient, ServiceClientBuilder};

/// Durations at and around the edges, as seconds written by a user.
const TEXT_SECONDS: &[(&str, bool)] = &[
    ("1e300", false),
    ("1e20", false),
    ("18446744073709551616", false),
    ("86400.001", false),
    ("1e-300", false),
    ("0.0009", false),
    ("0", false),
    ("-0", false),
    ("-1", false),
    ("NaN", false),
    ("inf", false),
    ("-inf", false),
    ("0x10", false),
    ("", true), // unset: the default
    ("0.001", true),
    ("1", true),
    ("30", true),
    ("86400", true),
];

/// Durations given in code.
fn code_durations() -> Vec<Duration> {
    vec![
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_millis(1),
        Duration::from_secs(1),
        Duration::from_secs(u64::MAX / 2),
        Duration::from_secs(u64::MAX),
        Duration::MAX,
    ]
}

fn base_vars() -> Vec<(String, String)> {
    [
        ("OS_AUTH_URL", "http://127.0.0.1:1/v3"),
        ("OS_USERNAME", "u"),
        ("OS_PASSWORD", "p"),
        ("OS_USER_DOMAIN_NAME", "Default"),
        ("OS_PROJECT_NAME", "p"),
        ("OS_PROJECT_DOMAIN_NAME", "Default"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

#[test]
fn os_api_timeout_out_of_range_is_a_configuration_error_naming_it() {
    for (text, ok) in TEXT_SECONDS {
        let mut vars = base_vars();
        vars.push(("OS_API_TIMEOUT".into(), (*text).into()));
        let built = std::panic::catch_unwind(|| ServiceClientBuilder::from_vars(vars).and_then(ServiceClientBuilder::build));
        let built = built.unwrap_or_else(|_| panic!("OS_API_TIMEOUT={text:?} panicked"));
        match (built, ok) {
            (Ok(_), true) => {}
            (Err(Error::Config(message)), false) => {
                assert!(message.starts_with(&format!("OS_API_TIMEOUT={text:?} ")), "{text:?}: {message}");
            }
            (other, _) => panic!("OS_API_TIMEOUT={text:?}: {other:?}"),
        }
    }
}

#[test]
fn clouds_api_timeout_out_of_range_names_the_file_and_the_key() {
    let dir = std::env::temp_dir().join(format!("cinder-snapshots-durations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (text, ok) in TEXT_SECONDS.iter().filter(|(t, _)| !t.is_empty() && t.parse::<f64>().is_ok_and(f64::is_finite)) {
        let file = dir.join("clouds.json");
        let clouds = format!(
            r#"{{"clouds": {{"c": {{"auth": {{"auth_url": "http://127.0.0.1:1/v3", "username": "u", "password": "p",
               "user_domain_name": "Default", "project_name": "p", "project_domain_name": "Default"}}, "api_timeout": {text}}}}}}}"#
        );
        std::fs::write(&file, clouds).unwrap();
        let vars = [("OS_CLIENT_CONFIG_FILE", file.display().to_string()), ("OS_CLOUD", "c".to_owned())];
        let built = std::panic::catch_unwind(|| ServiceClientBuilder::from_vars(vars).and_then(ServiceClientBuilder::build));
        match (built.unwrap_or_else(|_| panic!("api_timeout: {text} panicked")), ok) {
            (Ok(_), true) => {}
            (Err(Error::Config(message)), false) => {
                assert!(message.starts_with("clouds.c.api_timeout") && message.contains(&file.display().to_string()), "{text}: {message}");
                assert!(message.contains("out of range") || message.contains("above zero"), "{text}: {message}");
            }
            (other, _) => panic!("api_timeout: {text}: {other:?}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Cinder stand-in: every GET of a snapshot answers it `creating`; counts requests.
struct Stub {
    url: String,
    hits: Arc<AtomicUsize>,
}

fn stub(status: &'static str) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let counter = counter.clone();
            std::thread::spawn(move || {
                while rawhttp::read_head(&mut stream).is_some() {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let body = format!(
                        r#"{{"snapshot": {{"id": "s1", "volume_id": "v1", "status": "{status}", "size": 1, "created_at": "2026-11-28T08:00:00.000000", "metadata": {{}}}}}}"#
                    );
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len());
                    if stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body.as_bytes())).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Stub { url, hits }
}

fn client(stub: &Stub, configure: impl FnOnce(ServiceClientBuilder) -> ServiceClientBuilder) -> Result<ServiceClient, Error> {
    let builder =
        ServiceClient::with_token(&format!("{}/v3/p", stub.url), "tok")?.microversion(MicroversionPolicy::Pinned(Microversion::new(3, 71)));
    configure(builder).build()
}

/// Runs `call` on another thread and fails the test if it panics or outlives `bound`.
fn bounded<T: Send + 'static>(what: String, bound: Duration, call: impl FnOnce() -> T + Send + 'static) -> T {
    let start = Instant::now();
    let handle = std::thread::spawn(call);
    while !handle.is_finished() {
        assert!(start.elapsed() < bound, "{what}: still running after {bound:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
    handle.join().unwrap_or_else(|_| panic!("{what}: panicked"))
}

#[test]
fn builder_timeouts_and_policies_given_in_code_are_clamped() {
    let s = stub("available");
    for d in code_durations() {
        for (name, configure) in [
            (
                "timeout",
                Box::new(move |b: ServiceClientBuilder| b.timeout(d))
                    as Box<dyn FnOnce(ServiceClientBuilder) -> ServiceClientBuilder + Send>,
            ),
            ("connect_timeout", Box::new(move |b: ServiceClientBuilder| b.connect_timeout(d))),
            (
                "retry_policy",
                Box::new(move |b: ServiceClientBuilder| {
                    b.retry_policy(RetryPolicy::new().max_retries(u32::MAX).initial_backoff(d).max_backoff(d).max_retry_after(d))
                }),
            ),
            (
                "poll_policy",
                Box::new(move |b: ServiceClientBuilder| {
                    b.poll_policy(
                        PollPolicy::new()
                            .timeout(d)
                            .initial_interval(d)
                            .backoff_factor(f64::MAX)
                            .max_interval(d)
                            .max_transient_errors(u32::MAX),
                    )
                }),
            ),
        ] {
            let url = s.url.clone();
            let stub = Stub { url, hits: s.hits.clone() };
            let what = format!("{name}({d:?})");
            let got = bounded(what.clone(), Duration::from_secs(10), move || {
                let c = client(&stub, configure)?;
                snapshots::get(&c, "s1")
            });
            match got {
                Ok(snap) => assert_eq!(snap.id, "s1", "{what}"),
                // A timeout shorter than a loopback round trip times out, typed.
                Err(Error::Transport { .. }) if name.ends_with("timeout") && d < Duration::from_millis(10) => {}
                Err(e) => panic!("{what}: {e:?}"),
            }
        }
    }
}

#[test]
fn waits_with_extreme_options_end_in_time_without_panicking() {
    let s = stub("creating");
    let factors = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 0.0, 1.0, f64::MAX, f64::MIN_POSITIVE];
    let mut cases = 0;
    for d in code_durations() {
        for factor in factors {
            for forever in [false, true] {
                cases += 1;
                let stop = Arc::new(AtomicBool::new(false));
                let mut opts = WaitOpts::new().initial_interval(d).max_interval(d).backoff_factor(factor).cancel_flag(stop.clone());
                // A timeout of its own: `d` itself when it is short, else 50 ms, so that the
                // wait ends by timing out; `forever` waits ends by the cancel flag.
                opts = if forever { opts.forever() } else { opts.timeout(d.min(Duration::from_millis(50))) };
                let url = s.url.clone();
                let hits = s.hits.clone();
                let what = format!("interval {d:?}, factor {factor}, forever {forever}");
                let canceller = stop.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(60));
                    canceller.store(true, Ordering::Relaxed);
                });
                let got = bounded(what.clone(), Duration::from_secs(5), move || {
                    let c = client(&Stub { url, hits }, |b| b)?;
                    snapshots::wait_for_status(&c, "s1", snapshots::SnapshotStatus::Available, &opts)
                });
                match got {
                    Err(Error::Wait(w)) if matches!(w.kind, WaitErrorKind::TimedOut | WaitErrorKind::Cancelled) => {
                        if forever {
                            assert_eq!(w.kind, WaitErrorKind::Cancelled, "{what}");
                        }
                    }
                    other => panic!("{what}: {other:?}"),
                }
            }
        }
    }
    assert_eq!(cases, 7 * 8 * 2);
    assert!(s.hits.load(Ordering::SeqCst) >= cases, "every wait checked at least once");
}

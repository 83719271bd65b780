//! Whole-process benchmarks: each job is a fresh process (authenticate, discover, list),
//! against the local stand-in in `benches/server`, measured with `benches/rusage.c` (wall, user +
//! system CPU and peak RSS of the child, from wait4) and the server's own counters (requests, connections, token
//! requests). Medians of `BENCH_RUNS` runs (default 5).
//!
//! `cargo bench --bench snapshots` measures this crate (`examples/list_snapshots`, built in
//! release first). `scripts/bench` also builds the peers and passes them in:
//! `BENCH_PEER_RUST` (openstack_sdk, `benches/peers/`) and `BENCH_PEER_PYTHON` (a python with
//! openstacksdk, running `benches/peers/openstacksdk_list.py`); each figure is then printed
//! with the ratio ours/peer. `BENCH_SERVE_SECONDS=N` only serves for N seconds (printing the
//! URL), to profile a client by hand.

mod server;

use std::process::Command;
use std::sync::atomic::Ordering;

#[derive(Clone, Copy, Default)]
struct Sample {
    wall: f64,
    cpu: f64,
    rss_kib: f64,
    requests: usize,
    connections: usize,
    tokens: usize,
}

/// Builds benches/rusage.c (with the C compiler the machine has) into target/.
fn rusage() -> String {
    let out = format!("{}/target/bench-rusage", env!("CARGO_MANIFEST_DIR"));
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/rusage.c");
    let ok = Command::new("cc").args(["-O2", "-o", &out, src]).status().map(|s| s.success()).unwrap_or(false);
    assert!(ok, "cannot build {src} with cc");
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs `program args` with the OS_* variables for `project` under /usr/bin/time.
fn run(server: &server::Server, program: &[String], project: &str, expect: &str) -> Sample {
    server.counters.reset();
    let out = Command::new(rusage())
        .args(program)
        .env("OS_AUTH_URL", format!("{}/v3", server.url))
        .env("OS_USERNAME", "bench")
        .env("OS_PASSWORD", "bench-password")
        .env("OS_USER_DOMAIN_NAME", "Default")
        .env("OS_PROJECT_NAME", project)
        .env("OS_PROJECT_DOMAIN_NAME", "Default")
        .env("OS_REGION_NAME", "RegionOne")
        .env("OS_INTERFACE", "public")
        .output()
        .expect("run the rusage wrapper");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stdout.trim() == expect, "{program:?} {project}: expected {expect}, got {stdout}\n{stderr}");
    let line = stderr.lines().rev().find(|l| l.starts_with("BENCH ")).expect("time output");
    let f: Vec<f64> = line.split_whitespace().skip(1).map(|x| x.parse().unwrap_or(0.0)).collect();
    Sample {
        wall: f[0],
        cpu: f[1] + f[2],
        rss_kib: f[3],
        requests: server.counters.requests.load(Ordering::SeqCst),
        connections: server.counters.connections.load(Ordering::SeqCst),
        tokens: server.counters.keystone.load(Ordering::SeqCst),
    }
}

fn measure(server: &server::Server, program: &[String], project: &str, expect: &str, runs: usize) -> Sample {
    let samples: Vec<Sample> = (0..runs).map(|_| run(server, program, project, expect)).collect();
    let last = *samples.last().expect("runs");
    Sample {
        wall: median(samples.iter().map(|s| s.wall).collect()),
        cpu: median(samples.iter().map(|s| s.cpu).collect()),
        rss_kib: median(samples.iter().map(|s| s.rss_kib).collect()),
        ..last
    }
}

fn line(job: &str, who: &str, s: &Sample, base: Option<&Sample>) {
    let ratio = |ours: f64, peer: f64| if peer > 0.0 { format!("{:.3}", ours / peer) } else { "-".into() };
    let ratios = match base {
        Some(ours) => format!(
            "  ours/peer: cpu {}  rss {}  wall {}",
            ratio(ours.cpu, s.cpu),
            ratio(ours.rss_kib, s.rss_kib),
            ratio(ours.wall, s.wall)
        ),
        None => String::new(),
    };
    println!(
        "{job:<22} {who:<14} wall {:>7.3} s  cpu {:>7.3} s  peak rss {:>7.1} MiB  requests {:>4}  connections {:>3}  token requests {}{ratios}",
        s.wall,
        s.cpu,
        s.rss_kib / 1024.0,
        s.requests,
        s.connections,
        s.tokens
    );
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    if let Some(seconds) = std::env::var("BENCH_SERVE_SECONDS").ok().and_then(|s| s.parse().ok()) {
        // Only serve (for profiling a client by hand, e.g. under valgrind --tool=callgrind).
        let server = server::start();
        println!("{}", server.url);
        std::thread::sleep(std::time::Duration::from_secs(seconds));
        return;
    }
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let ours =
        std::env::var("BENCH_OURS").unwrap_or_else(|_| format!("{}/target/release/examples/list_snapshots", env!("CARGO_MANIFEST_DIR")));
    if !std::path::Path::new(&ours).exists() {
        eprintln!("{ours} is missing: run `cargo build --release --example list_snapshots` (scripts/bench does)");
        std::process::exit(2);
    }
    let peer_rust = std::env::var("BENCH_PEER_RUST").ok();
    let peer_python = std::env::var("BENCH_PEER_PYTHON").ok();
    let server = server::start();
    println!("bench server {} ; medians of {runs} runs ; whole processes", server.url);

    let jobs: &[(&str, &str, &[&str], &str)] = &[
        ("get one", "p1000", &["--get", "00000007-0000-4000-8000-000000000007"], "00000007-0000-4000-8000-000000000007"),
        ("list 1k (cold)", "p1000", &["--count"], "1000"),
        ("list 10k lazily", "p10000", &["--count"], "10000"),
        ("collect 10k", "p10000", &["--collect"], "10000"),
        ("list 100k lazily", "p100000", &["--count"], "100000"),
    ];
    for (job, project, args, expect) in jobs {
        let mut program = vec![ours.clone()];
        program.extend(args.iter().map(|a| a.to_string()));
        let mine = measure(&server, &program, project, expect, runs);
        line(job, "cinder-snapshots", &mine, None);
        if let Some(peer) = &peer_rust {
            let mut p = vec![peer.clone()];
            p.extend(args.iter().map(|a| a.to_string()));
            line(job, "openstack_sdk", &measure(&server, &p, project, expect, runs), Some(&mine));
        }
        if let Some(python) = &peer_python {
            if project != &"p100000" || std::env::var("BENCH_PYTHON_100K").is_ok() {
                let script = format!("{}/benches/peers/openstacksdk_list.py", env!("CARGO_MANIFEST_DIR"));
                let mut p = vec![python.clone(), script];
                p.extend(args.iter().map(|a| a.to_string()));
                line(job, "openstacksdk", &measure(&server, &p, project, expect, runs.min(3)), Some(&mine));
            }
        }
    }
}

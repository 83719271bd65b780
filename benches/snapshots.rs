//! Whole-process benchmarks: each job is a fresh process (authenticate, discover, list),
//! against the local stand-in in `benches/server`, measured with `benches/rusage.c` (wall, user +
//! system CPU and peak RSS of the child, from wait4) and the server's own counters (requests, connections, token
//! requests). Medians of `BENCH_RUNS` runs (default 5); within a job, the runs of this crate,
//! openstack_sdk and the minimal program are interleaved, so that the machine's other work
//! weighs on their ratios as little as it can.
//!
//! `cargo bench --bench snapshots` measures this crate (`examples/list_snapshots`, built in
//! release first). `scripts/bench` also builds the peers and passes them in:
//! `BENCH_PEER_RUST` (openstack_sdk, `benches/peers/`) and `BENCH_PEER_PYTHON` (a python with
//! openstacksdk, running `benches/peers/openstacksdk_list.py`); each figure is then printed
//! with the ratio ours/peer. The list jobs also run `benches/minimal.rs` (ureq + serde_json
//! borrowing their strings: the floor for this crate's cost), found next to this bench's own
//! binary (`cargo bench --bench minimal --no-run` builds it) or given as `BENCH_MINIMAL`. The
//! run ends with the CPU ratios ours/openstack_sdk and ours/minimal for every list job.
//!
//! `BENCH_INSTRUCTIONS=1` also counts, once per client, the instructions of listing 10k
//! under `valgrind --tool=callgrind` (deterministic, unlike CPU times of 15 ms).
//! `BENCH_SERVE_SECONDS=N` only serves for N seconds (printing the URL), to profile a client
//! by hand. Every client line is followed by the server's requests by method and path (of
//! the last run). Every job runs once uncounted first; `HOME` is a directory of the bench's
//! own (`bench-home` in the target directory).

mod server;

use std::process::Command;
use std::sync::atomic::Ordering;

#[derive(Clone, Default)]
struct Sample {
    wall: f64,
    cpu: f64,
    rss_kib: f64,
    requests: usize,
    connections: usize,
    tokens: usize,
    /// The requests by method and path.
    paths: String,
}

/// The target directory: `CARGO_TARGET_DIR` when set, else the package's `target/`.
fn target_dir() -> String {
    std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{}/target", env!("CARGO_MANIFEST_DIR")))
}

/// Builds benches/rusage.c (with the C compiler the machine has) into the target directory,
/// once per run of the bench.
fn rusage() -> &'static str {
    static OUT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    OUT.get_or_init(|| {
        let out = format!("{}/bench-rusage", target_dir());
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/rusage.c");
        let ok = Command::new("cc").args(["-O2", "-o", &out, src]).status().map(|s| s.success()).unwrap_or(false);
        assert!(ok, "cannot build {src} with cc");
        out
    })
}

/// The home directory of every client run: a directory of the bench's own, so that no
/// user's files are read or written. openstack_sdk keeps its token and Keystone's version
/// document there (`~/.osc`) from one process to the next.
fn bench_home() -> &'static str {
    static HOME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        let home = format!("{}/bench-home", target_dir());
        std::fs::create_dir_all(&home).expect("create the bench home");
        home
    })
}

/// The OS_* variables for `project` on `server`, and the bench's home directory.
fn os_vars(server: &server::Server, project: &str) -> Vec<(&'static str, String)> {
    vec![
        ("HOME", bench_home().to_owned()),
        ("OS_AUTH_URL", format!("{}/v3", server.url)),
        ("OS_USERNAME", "bench".into()),
        ("OS_PASSWORD", "bench-password".into()),
        ("OS_USER_DOMAIN_NAME", "Default".into()),
        ("OS_PROJECT_NAME", project.into()),
        ("OS_PROJECT_DOMAIN_NAME", "Default".into()),
        ("OS_REGION_NAME", "RegionOne".into()),
        ("OS_INTERFACE", "public".into()),
    ]
}

/// The minimal program (benches/minimal.rs): `BENCH_MINIMAL`, else the newest `minimal-*`
/// executable beside this bench's own binary.
fn minimal_program() -> Option<String> {
    if let Ok(p) = std::env::var("BENCH_MINIMAL") {
        return Some(p);
    }
    let me = std::env::current_exe().ok()?;
    let dir = me.parent()?;
    let mut found: Vec<(std::time::SystemTime, std::path::PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("minimal-") && p.extension().is_none()
        })
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p.to_string_lossy().into_owned())
}

/// Instructions of one run of `program args` under callgrind, from its "Collected" line.
fn instructions(server: &server::Server, program: &[String], project: &str, expect: &str) -> Option<u64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .args(program)
        .envs(os_vars(server, project))
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.trim() != expect {
        eprintln!("{program:?} under callgrind: expected {expect}, got {stdout}");
        return None;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr.lines().find_map(|l| l.split_once("Collected :").and_then(|(_, n)| n.trim().parse().ok()))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs `program args` with the OS_* variables for `project` under the rusage wrapper.
fn run(server: &server::Server, program: &[String], project: &str, expect: &str) -> Sample {
    server.counters.reset();
    let out = Command::new(rusage()).args(program).envs(os_vars(server, project)).output().expect("run the rusage wrapper");
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
        paths: server.counters.by_path(),
    }
}

/// Medians of `runs` runs after one run not counted, so that every counted run starts in the
/// same state (openstack_sdk's cache in the bench home filled).
fn measure(server: &server::Server, program: &[String], project: &str, expect: &str, runs: usize) -> Sample {
    measure_together(server, &[program.to_vec()], project, expect, runs).remove(0)
}

/// [`measure`] for several programs at once, their runs interleaved (one run of each, then
/// again), so that whatever else the machine does at the time weighs on all of them alike:
/// the ratios between them are what the bench is for.
fn measure_together(server: &server::Server, programs: &[Vec<String>], project: &str, expect: &str, runs: usize) -> Vec<Sample> {
    for program in programs {
        run(server, program, project, expect);
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); programs.len()];
    for _ in 0..runs {
        for (program, taken) in programs.iter().zip(&mut samples) {
            taken.push(run(server, program, project, expect));
        }
    }
    samples
        .into_iter()
        .map(|taken| {
            let last = taken.last().cloned().expect("runs");
            Sample {
                wall: median(taken.iter().map(|s| s.wall).collect()),
                cpu: median(taken.iter().map(|s| s.cpu).collect()),
                rss_kib: median(taken.iter().map(|s| s.rss_kib).collect()),
                ..last
            }
        })
        .collect()
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
    println!("{:<22} {:<14} {}", "", "", s.paths);
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
    let ours = std::env::var("BENCH_OURS").unwrap_or_else(|_| format!("{}/release/examples/list_snapshots", target_dir()));
    if !std::path::Path::new(&ours).exists() {
        eprintln!("{ours} is missing: run `cargo build --release --example list_snapshots` (scripts/bench does)");
        std::process::exit(2);
    }
    let peer_rust = std::env::var("BENCH_PEER_RUST").ok();
    let peer_python = std::env::var("BENCH_PEER_PYTHON").ok();
    let minimal = minimal_program();
    if minimal.is_none() {
        eprintln!("benches/minimal.rs is not built: `cargo bench --bench minimal --no-run` (scripts/bench does); measuring without it");
    }
    let server = server::start();
    println!("bench server {} ; medians of {runs} runs ; whole processes", server.url);

    let jobs: &[(&str, &str, &[&str], &str)] = &[
        ("get one", "p1000", &["--get", "00000000-0000-4000-8000-000000000007"], "00000000-0000-4000-8000-000000000007"),
        ("list 1k (cold)", "p1000", &["--count"], "1000"),
        ("list 10k lazily", "p10000", &["--count"], "10000"),
        ("collect 10k", "p10000", &["--collect"], "10000"),
        ("list 100k lazily", "p100000", &["--count"], "100000"),
    ];
    let with = |program: &str, args: &[&str]| -> Vec<String> {
        std::iter::once(program.to_owned()).chain(args.iter().map(|a| a.to_string())).collect()
    };
    // (job, ours/openstack_sdk, ours/minimal) CPU ratios.
    let mut ratios: Vec<(&str, Option<f64>, Option<f64>)> = Vec::new();
    for (job, project, args, expect) in jobs {
        // This crate, openstack_sdk and the minimal program (list jobs) run interleaved.
        let minimal_here = minimal.as_deref().filter(|_| args == &["--count"]);
        let mut programs = vec![with(&ours, args)];
        programs.extend(peer_rust.iter().map(|peer| with(peer, args)));
        programs.extend(minimal_here.map(|m| with(m, args)));
        let mut measured = measure_together(&server, &programs, project, expect, runs).into_iter();
        let mine = measured.next().expect("ours");
        let theirs = peer_rust.as_ref().and_then(|_| measured.next());
        let floor = minimal_here.and_then(|_| measured.next());
        line(job, "cinder-snapshots", &mine, None);
        let mut ratio = (*job, None, None);
        if let Some(theirs) = &theirs {
            line(job, "openstack_sdk", theirs, Some(&mine));
            ratio.1 = Some(mine.cpu / theirs.cpu);
        }
        if let Some(python) = &peer_python {
            if project != &"p100000" || std::env::var("BENCH_PYTHON_100K").is_ok() {
                let script = format!("{}/benches/peers/openstacksdk_list.py", env!("CARGO_MANIFEST_DIR"));
                let mut p = vec![python.clone(), script];
                p.extend(args.iter().map(|a| a.to_string()));
                line(job, "openstacksdk", &measure(&server, &p, project, expect, runs.min(3)), Some(&mine));
            }
        }
        if let Some(floor) = &floor {
            line(job, "minimal", floor, Some(&mine));
            ratio.2 = Some(mine.cpu / floor.cpu);
        }
        ratios.push(ratio);
    }

    let show = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{r:.3}"));
    println!();
    println!("CPU ratios, cinder-snapshots / other client (targets at list 10k lazily: openstack_sdk at most 0.30, minimal at most 1.10):");
    for (job, sdk, floor) in &ratios {
        println!("{job:<22} ours/openstack_sdk {:>6}  ours/minimal {:>6}", show(*sdk), show(*floor));
    }

    if std::env::var("BENCH_INSTRUCTIONS").is_ok_and(|v| v == "1") {
        println!();
        println!("Instructions to list 10k lazily (valgrind --tool=callgrind, one run each):");
        let (project, args, expect) = ("p10000", &["--count"][..], "10000");
        let counted = |program: &str| instructions(&server, &with(program, args), project, expect);
        let mine = counted(&ours);
        let others: Vec<(&str, Option<u64>)> = [("openstack_sdk", peer_rust.as_deref()), ("minimal", minimal.as_deref())]
            .into_iter()
            .filter_map(|(name, program)| Some((name, counted(program?))))
            .collect();
        println!("{:<16} {:>14}", "cinder-snapshots", mine.map_or_else(|| "-".to_owned(), |n| n.to_string()));
        for (name, n) in others {
            let ratio = match (mine, n) {
                (Some(a), Some(b)) if b > 0 => format!("{:.3}", a as f64 / b as f64),
                _ => "-".to_owned(),
            };
            println!("{name:<16} {:>14}  ours/{name} {ratio}", n.map_or_else(|| "-".to_owned(), |n| n.to_string()));
        }
    }
}

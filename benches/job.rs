//! The scheduled job at scale (issue 15), on the fake cloud: N volumes (default 1,000, with
//! a listing page size of 1,000), each run in a fresh child process measured by
//! `benches/rusage.c` (wall, user + system CPU and peak RSS of the child, from wait4), the
//! requests counted by the fake (in this process, so its own work is not the client's):
//!
//! - `job`: `job::run` (select by tag, one window listing, N creates 4 at a time, the wait
//!   with ONE paged listing per poll, prune);
//! - `per-snapshot`: the same selection and N creates, then `snapshots::wait_for_status` in
//!   a loop, one snapshot after the other (one GET per snapshot per check: what a loop of
//!   waits, or any peer, does); no prune.
//!
//! The fake makes a snapshot `available` after `BENCH_CREATING_READS` reads of it (default
//! 3; a listing reads every snapshot once per page request), so both waits see each snapshot
//! `creating` as often. Polls start 10 ms apart growing to 50 ms in both.
//!
//! `cargo bench --features testing --bench job` (release). `BENCH_N` (comma-separated, default
//! `100,1000`), `BENCH_PAGE` (1000), `BENCH_CREATING_READS` (3), `BENCH_FLAT_N` (default
//! `2000,4000`: the job alone at more volumes than a page holds, to show how its peak memory
//! grows with N once the pages are full: the report and the prune's plan, per volume).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use cinder_snapshots::job::{self, JobOpts};
use cinder_snapshots::retention::Policy;
use cinder_snapshots::snapshots::{self, CreateOpts, SnapshotStatus, WaitOpts};
use cinder_snapshots::testing::{FakeCloud, VolumeSpec};
use cinder_snapshots::{ServiceClient, ServiceClientBuilder, volumes};

mod support;
use support::{env_num, rusage};

fn policy() -> Policy {
    Policy::builder("bench").keep_daily(7).build().expect("policy")
}

/// The child: one mode against the fake whose `OS_*` variables are in the environment;
/// prints `POLLS n` (the job's polls) on stdout.
fn child(mode: &str) {
    let vars: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("OS_")).collect();
    let client: ServiceClient = ServiceClientBuilder::from_vars(vars).expect("OS_* variables").build().expect("client");
    let page = u32::try_from(env_num("BENCH_PAGE", 1000)).expect("page size");
    let (initial, max) = (Duration::from_millis(10), Duration::from_millis(50));
    match mode {
        "job" => {
            let opts = JobOpts::new(policy())
                .select_tag("backup", "nightly")
                .page_size(page)
                .poll_interval(initial, max)
                .timeout(Duration::from_secs(600));
            let report = job::run(&client, &opts).expect("job run");
            assert!(report.is_success(), "the job failed: {:?}", report.totals());
            println!("POLLS {}", report.polls());
        }
        "per-snapshot" => {
            let list = volumes::ListOpts::new().metadata("backup", "nightly").limit(page);
            let ids: Vec<String> = volumes::list_detail(&client, &list).expect("list").map(|v| v.expect("volume").id).collect();
            let made: Vec<String> = ids
                .iter()
                .map(|v| {
                    snapshots::create(&client, &CreateOpts::new(v.as_str()).name("bench").metadata("cinder-snapshots.policy", "bench"))
                        .expect("create")
                        .id
                })
                .collect();
            let wait = WaitOpts::new().initial_interval(initial).max_interval(max).timeout(Duration::from_secs(600));
            for id in &made {
                snapshots::wait_for_status(&client, id, SnapshotStatus::Available, &wait).expect("wait");
            }
            println!("POLLS 0");
        }
        other => panic!("unknown mode {other}"),
    }
}

struct Sample {
    wall: f64,
    cpu: f64,
    rss_kib: f64,
    polls: usize,
    requests: BTreeMap<String, usize>,
}

impl Sample {
    fn total(&self) -> usize {
        self.requests.values().sum()
    }

    fn get(&self, key: &str) -> usize {
        self.requests.get(key).copied().unwrap_or(0)
    }
}

/// What a request is, for the counts: the phase it belongs to.
fn kind(method: &str, path: &str, query: &[(String, String)]) -> String {
    // The window's listings (before the creates and each poll) filter on the window label;
    // the prune's on the policy's label only.
    let window = query.iter().any(|(q, v)| q == "metadata" && v.contains(cinder_snapshots::job::WINDOW_KEY));
    let path = if path.starts_with("snapshots/") && path != "snapshots/detail" { "snapshots/{id}" } else { path };
    match (method, path) {
        ("GET", "snapshots/detail") if window => "window listing".into(),
        ("GET", "snapshots/detail") => "prune listing".into(),
        ("GET", "snapshots/{id}") => "GET snapshot".into(),
        ("POST", "snapshots") => "create".into(),
        ("GET", "volumes/detail") => "volume listing".into(),
        ("DELETE", _) => "delete".into(),
        (m, p) => format!("{m} {p}"),
    }
}

/// One measured child run against a fresh fake with `n` tagged volumes.
fn measure(rusage: &str, mode: &str, n: usize, creating_reads: u32) -> Sample {
    let cloud = FakeCloud::start();
    for i in 0..n {
        cloud.add_volume_with(&VolumeSpec::new(format!("vol-{i:05}")).metadata("backup", "nightly"));
    }
    cloud.set_snapshot_creating_reads(creating_reads);
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(rusage).arg(exe).args(["--child", mode]).envs(cloud.os_vars()).output().expect("run the rusage wrapper");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{mode}: {stdout}\n{stderr}");
    let line = stderr.lines().rev().find(|l| l.starts_with("BENCH ")).expect("rusage output");
    let f: Vec<f64> = line.split_whitespace().skip(1).map(|x| x.parse().unwrap_or(0.0)).collect();
    let polls = stdout.lines().find_map(|l| l.strip_prefix("POLLS ")).and_then(|p| p.trim().parse().ok()).unwrap_or(0);
    let mut requests = BTreeMap::new();
    for r in cloud.requests() {
        *requests.entry(kind(&r.method, r.relative_path(), &r.query)).or_insert(0) += 1;
    }
    Sample { wall: f[0], cpu: f[1] + f[2], rss_kib: f[3], polls, requests }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(args.get(i + 1).map_or("", String::as_str));
        return;
    }
    let rusage = rusage();
    let ns: Vec<usize> =
        std::env::var("BENCH_N").unwrap_or_else(|_| "100,1000".into()).split(',').filter_map(|x| x.trim().parse().ok()).collect();
    let page = env_num("BENCH_PAGE", 1000);
    let reads = u32::try_from(env_num("BENCH_CREATING_READS", 3)).unwrap_or(3);
    println!("job bench: fake cloud, page size {page}, a snapshot available after {reads} reads; one child process per run");
    let mut last: Option<(usize, f64)> = None;
    for n in ns {
        let job = measure(&rusage, "job", n, reads);
        let per = measure(&rusage, "per-snapshot", n, reads);
        let page_n = usize::try_from(page).unwrap_or(1000).max(1);
        let per_poll = n.div_ceil(page_n);
        let wait_job = job.get("window listing").saturating_sub(1);
        let wait_per = per.get("GET snapshot");
        println!("\nN = {n}: ceil(N/P) = {per_poll}");
        for (name, s) in [("job", &job), ("per-snapshot", &per)] {
            println!(
                "  {name:<13} wall {:>7.3} s  cpu {:>7.3} s  peak rss {:>6.1} MiB  requests {:>6}  polls {:>3}  {:?}",
                s.wall,
                s.cpu,
                s.rss_kib / 1024.0,
                s.total(),
                s.polls,
                s.requests
            );
        }
        let per_poll_seen = if job.polls > 0 { wait_job as f64 / job.polls as f64 } else { 0.0 };
        println!("  job: {wait_job} listing requests in {} polls = {per_poll_seen:.2} per poll (ceil(N/P) = {per_poll})", job.polls);
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        println!(
            "  wait requests: job {wait_job}, per-snapshot {wait_per} (per-snapshot/job {:.1}x); cpu per-snapshot/job {:.2}x; peak rss per-snapshot/job {:.2}x",
            ratio(wait_per as f64, wait_job as f64),
            ratio(per.cpu, job.cpu),
            ratio(per.rss_kib, job.rss_kib)
        );
        last = Some((n, job.rss_kib));
    }
    let flat: Vec<usize> =
        std::env::var("BENCH_FLAT_N").unwrap_or_else(|_| "2000,4000".into()).split(',').filter_map(|x| x.trim().parse().ok()).collect();
    for n in flat {
        let job = measure(&rusage, "job", n, reads);
        let wait_job = job.get("window listing").saturating_sub(1);
        let per_poll = n.div_ceil(usize::try_from(page).unwrap_or(1000).max(1));
        println!(
            "\nN = {n} (job only): wall {:.3} s  cpu {:.3} s  peak rss {:.1} MiB  requests {}  {} listing requests in {} polls ({} per poll, ceil(N/P) = {per_poll})",
            job.wall,
            job.cpu,
            job.rss_kib / 1024.0,
            job.total(),
            wait_job,
            job.polls,
            wait_job.checked_div(job.polls).unwrap_or(0)
        );
        if let Some((m, rss)) = last {
            if n > m {
                println!("  peak rss growth from N = {m}: {:.2} KiB per volume", (job.rss_kib - rss) / (n - m) as f64);
            }
        }
        last = Some((n, job.rss_kib));
    }
}

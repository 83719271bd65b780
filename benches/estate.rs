//! The estate at scale (issue 22, item 3), on fake clouds: 10,000 volumes across 50 projects
//! and 3 regions (3 `FakeCloud`s, one per region, each with its own Keystone; project `pNN`
//! in region NN mod 3 with a user of its own; volume i in project i mod 50, tagged
//! `backup=nightly`), every snapshot `available` 2 s of wall time after its create (not
//! after a number of reads). In the same run, on fresh clouds each time:
//!
//! - (a) per target: one `cinder-snapshots run --select backup=nightly --policy nightly
//!   --keep-daily 7` process per project, one after another, each with the `OS_*` variables
//!   of its project and region (today's cron lines);
//! - (b) the estate: ONE `cinder-snapshots run --config estate.yaml` process with a generated
//!   spec (one target per project: its cloud, its region, the selection `nightly`) and a
//!   generated `clouds.yaml` (`OS_CLIENT_CONFIG_FILE`, one cloud per project).
//!
//! For each: requests and listing rows the fakes served (their counters, in this process),
//! CPU (user + system) and peak RSS of the child from `wait4` (`benches/rusage.c`), wall, the
//! peak RSS per volume, and the ratios b/a. Then (c): the current job on ONE target with
//! 2,000 volumes, the rows each poll of its wait read (from the fake's per-request rows), to
//! compare before and after a change of the wait; at the estate's pace (2 s), and with the
//! finishes spread over 2 to 9.2 s (more polls, the snapshots finishing between them, so
//! that the polls between the first and the last show what they read).
//!
//! Build the tool first, then run the bench (release):
//!
//! ```sh
//! cargo build --release --features cli
//! cargo bench --features testing --bench estate
//! ```
//!
//! Settings: `BENCH_VOLUMES` (10000), `BENCH_PROJECTS` (50), `BENCH_REGIONS` (3),
//! `BENCH_AVAILABLE_AFTER_MS` (2000), `BENCH_CLI` (the tool; default
//! `$CARGO_TARGET_DIR/release/cinder-snapshots`), `BENCH_PER_TARGET=0` skips (a),
//! `BENCH_ESTATE=0` skips (b), `BENCH_POLL_N` (2000; 0 skips (c)), `BENCH_POLL_AFTER_MS`
//! ((c)'s paces, comma-separated, each `MS` or `MS+SPREAD_MS`: see
//! `FakeCloud::set_snapshot_available_spread`; default `2000,2000+8000`). Figures only: nothing
//! here fails on a number. A tool without `run --config` (exit 2) makes (b) "not available".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cinder_snapshots::testing::{Account, FakeCloud, Stats, VolumeSpec};
use serde_json::Value;

mod support;
use support::{env_num, rusage, target_dir};

fn env_flag(name: &str) -> bool {
    std::env::var(name).map_or(true, |v| v != "0")
}

/// This process's resident memory (VmRSS), in KiB.
fn own_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmRSS:").and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())))
        .unwrap_or(0)
}

const REGION_NAMES: [&str; 3] = ["RegionOne", "RegionTwo", "RegionThree"];

fn region_name(i: usize) -> String {
    REGION_NAMES.get(i).map_or_else(|| format!("Region{}", i + 1), |s| (*s).to_owned())
}

/// The fakes of the estate and its projects.
struct Estate {
    clouds: Vec<FakeCloud>,
    /// Each project: its name, its account, the index of its region's fake.
    projects: Vec<(String, Account, usize)>,
    volumes: usize,
}

impl Estate {
    fn new(volumes: usize, projects: usize, regions: usize, after: Duration) -> Estate {
        let clouds: Vec<FakeCloud> = (0..regions.max(1))
            .map(|r| {
                let cloud = FakeCloud::start();
                cloud.set_region(&region_name(r));
                cloud.set_snapshot_available_after(Some(after));
                cloud
            })
            .collect();
        let projects: Vec<(String, Account, usize)> = (0..projects.max(1))
            .map(|p| {
                let name = format!("p{p:02}");
                let region = p % clouds.len();
                let account = clouds[region].add_project(&name);
                (name, account, region)
            })
            .collect();
        for v in 0..volumes {
            let (_, account, region) = &projects[v % projects.len()];
            clouds[*region].add_volume_with(&VolumeSpec::new(format!("vol-{v:05}")).metadata("backup", "nightly").owner(*account));
        }
        Estate { clouds, projects, volumes }
    }

    fn reset(&self) {
        for c in &self.clouds {
            c.reset_stats();
        }
    }

    /// The counters of every fake, added up.
    fn stats(&self) -> Totals {
        let mut t = Totals::default();
        for s in self.clouds.iter().map(FakeCloud::stats) {
            t.add(&s);
        }
        t
    }
}

#[derive(Default, Clone, Copy)]
struct Totals {
    requests: u64,
    pages: u64,
    snapshot_rows: u64,
    volume_rows: u64,
    busy: Duration,
}

impl Totals {
    fn add(&mut self, s: &Stats) {
        self.requests += s.requests;
        self.pages += s.listing_pages;
        self.snapshot_rows += s.snapshot_rows;
        self.volume_rows += s.volume_rows;
        self.busy += s.busy;
    }
}

/// One child process: wall, CPU, peak RSS (KiB), exit code, stdout, stderr.
struct Child {
    wall: f64,
    cpu: f64,
    rss_kib: u64,
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_child(rusage: &str, cli: &Path, args: &[&str], env: &[(String, String)], home: &Path) -> Child {
    let mut cmd = Command::new(rusage);
    cmd.arg(cli).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("OS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home).env("XDG_STATE_HOME", home.join("state")).env("XDG_CONFIG_HOME", home.join("config")).envs(env.iter().cloned());
    let out = cmd.output().expect("run the rusage wrapper");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = stderr.lines().rev().find(|l| l.starts_with("BENCH ")).unwrap_or("BENCH 0 0 0 0");
    let f: Vec<f64> = line.split_whitespace().skip(1).map(|x| x.parse().unwrap_or(0.0)).collect();
    let get = |i: usize| f.get(i).copied().unwrap_or(0.0);
    Child { wall: get(0), cpu: get(1) + get(2), rss_kib: get(3) as u64, code: out.status.code().unwrap_or(-1), stdout, stderr }
}

/// What one mode measured.
struct Measured {
    processes: usize,
    wall: f64,
    cpu: f64,
    peak_rss_kib: u64,
    stats: Totals,
    failed: usize,
    created: u64,
}

fn created_of(stdout: &str) -> u64 {
    // Per target (the job's report) or over a spec (a section per target).
    let Ok(v) = serde_json::from_str::<Value>(stdout) else { return 0 };
    if let Some(targets) = v["targets"].as_array() {
        return targets
            .iter()
            .flat_map(|t| t["jobs"].as_array().cloned().unwrap_or_default())
            .map(|j| j["totals"]["created"].as_u64().unwrap_or(0))
            .sum();
    }
    v["totals"]["created"].as_u64().unwrap_or(0)
}

const RUN_FLAGS: [&str; 8] = ["run", "--select", "backup=nightly", "--policy", "nightly", "--keep-daily", "7", "--json"];

/// (a): one process per project, one after another.
fn per_target(rusage: &str, cli: &Path, estate: &Estate, home: &Path) -> Measured {
    estate.reset();
    let mut m = Measured { processes: 0, wall: 0.0, cpu: 0.0, peak_rss_kib: 0, stats: Totals::default(), failed: 0, created: 0 };
    for (name, account, region) in &estate.projects {
        let vars = estate.clouds[*region].os_vars_as(*account);
        let child = run_child(rusage, cli, &RUN_FLAGS, &vars, home);
        m.processes += 1;
        m.wall += child.wall;
        m.cpu += child.cpu;
        m.peak_rss_kib = m.peak_rss_kib.max(child.rss_kib);
        m.created += created_of(&child.stdout);
        if child.code != 0 {
            m.failed += 1;
            eprintln!("  (a) {name}: exit {}: {}", child.code, child.stderr.lines().find(|l| !l.starts_with("BENCH ")).unwrap_or(""));
        }
    }
    m.stats = estate.stats();
    m
}

/// The spec and clouds.yaml of the estate (spec format version 1).
fn write_estate_files(estate: &Estate, dir: &Path) -> (PathBuf, PathBuf) {
    let mut clouds = String::from("clouds:\n");
    let mut targets = String::new();
    for (name, account, region) in &estate.projects {
        let cloud = &estate.clouds[*region];
        clouds.push_str(&format!(
            "  {name}:\n    auth:\n      auth_url: {}\n      username: {}\n      password: {}\n      project_name: {}\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: {}\n    interface: public\n    identity_api_version: 3\n",
            cloud.auth_url(),
            account.username(),
            account.password(),
            account.project_name(),
            cloud.region()
        ));
        targets.push_str(&format!("  {name}:\n    cloud: {name}\n    region: {}\n    selections: [nightly]\n", cloud.region()));
    }
    let spec = format!(
        "version: 1\n\npolicies:\n  nightly:\n    keep-daily: 7\n\nselections:\n  nightly:\n    select: {{backup: nightly}}\n    policies: [nightly]\n\ntargets:\n{targets}"
    );
    let clouds_path = dir.join("clouds.yaml");
    let spec_path = dir.join("estate.yaml");
    std::fs::write(&clouds_path, clouds).expect("write clouds.yaml");
    std::fs::write(&spec_path, spec).expect("write estate.yaml");
    (spec_path, clouds_path)
}

/// (b): one process for the whole estate; `None` when the tool has no `run --config`.
fn whole_estate(rusage: &str, cli: &Path, estate: &Estate, home: &Path) -> Result<Measured, String> {
    let (spec, clouds) = write_estate_files(estate, home);
    estate.reset();
    let spec_arg = spec.to_string_lossy().into_owned();
    let env = [("OS_CLIENT_CONFIG_FILE".to_owned(), clouds.to_string_lossy().into_owned())];
    let child = run_child(rusage, cli, &["run", "--config", &spec_arg, "--json"], &env, home);
    if child.code == 2 {
        let why = child.stderr.lines().find(|l| !l.starts_with("BENCH ")).unwrap_or("").to_owned();
        return Err(format!("the tool refused run --config (exit 2: {why}); pending the spec branch's merge"));
    }
    let stats = estate.stats();
    Ok(Measured {
        processes: 1,
        wall: child.wall,
        cpu: child.cpu,
        peak_rss_kib: child.rss_kib,
        stats,
        failed: usize::from(child.code != 0),
        created: created_of(&child.stdout),
    })
}

/// One row of the table; `held` is how many volumes the process of the peak RSS held.
fn print_row(label: &str, m: &Measured, held: usize, volumes: usize) {
    let per_volume = (m.peak_rss_kib as f64 * 1024.0) / held.max(1) as f64;
    println!(
        "| {label} | {} | {:.2} s | {:.2} s | {:.1} MiB | {:.0} B | {} | {} | {} | {} | {}/{} | {:.2} s |",
        m.processes,
        m.wall,
        m.cpu,
        m.peak_rss_kib as f64 / 1024.0,
        per_volume,
        m.stats.requests,
        m.stats.snapshot_rows + m.stats.volume_rows,
        m.stats.snapshot_rows,
        m.stats.volume_rows,
        m.created,
        volumes,
        m.stats.busy.as_secs_f64(),
    );
}

/// (c): the current job, one target of `n` volumes: the rows each poll of its wait read.
fn poll_rows(rusage: &str, cli: &Path, n: usize, after: Duration, spread: Duration, home: &Path) {
    let cloud = FakeCloud::start();
    cloud.set_snapshot_available_after(Some(after));
    cloud.set_snapshot_available_spread(spread);
    for i in 0..n {
        cloud.add_volume_with(&VolumeSpec::new(format!("vol-{i:05}")).metadata("backup", "nightly"));
    }
    cloud.reset_stats();
    cloud.clear_requests();
    let child = run_child(rusage, cli, &RUN_FLAGS, &cloud.os_vars(), home);
    let polls_reported = serde_json::from_str::<Value>(&child.stdout).ok().and_then(|v| v["polls"].as_u64());
    let requests = cloud.requests();
    let last_create = requests.iter().rposition(|r| r.method == "POST" && r.relative_path() == "snapshots").unwrap_or(0);
    let window = |r: &cinder_snapshots::testing::SeenRequest| {
        r.method == "GET"
            && r.relative_path() == "snapshots/detail"
            && r.query.iter().any(|(k, v)| k == "metadata" && v.contains(cinder_snapshots::job::WINDOW_KEY))
    };
    // The window's listings after the last create: the wait's (a listing starts with a page
    // without a marker; one poll may hold two: a filtered one that finds nothing left
    // creating, then the whole window).
    let mut polls: Vec<(usize, usize, Vec<String>)> = Vec::new();
    for r in requests.iter().skip(last_create + 1).filter(|r| window(r)) {
        let filters: Vec<String> = r.query.iter().filter(|(k, _)| k == "status").map(|(k, v)| format!("{k}={v}")).collect();
        if !r.query.iter().any(|(k, _)| k == "marker") || polls.is_empty() {
            polls.push((0, 0, filters));
        }
        if let Some(p) = polls.last_mut() {
            p.0 += 1;
            p.1 += r.rows.unwrap_or(0);
        }
    }
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for r in &requests {
        let path = r.relative_path();
        let path = if path.starts_with("snapshots/") && path != "snapshots/detail" { "snapshots/{id}" } else { path };
        let path = if path.starts_with("os-quota-sets/") { "os-quota-sets/{project}" } else { path };
        let kind = if window(r) { "GET snapshots/detail (window)".to_owned() } else { format!("{} {path}", r.method) };
        *kinds.entry(kind).or_insert(0) += 1;
    }
    let stats = cloud.stats();
    let total_rows: usize = polls.iter().map(|p| p.1).sum();
    println!(
        "\n(c) poll rows: one target, {n} volumes, available after {:.1} s (+ up to {:.1} s): exit {}, wall {:.2} s, cpu {:.2} s, peak rss {:.1} MiB, requests {}, snapshot rows {}, window listings after the creates {} (the report's polls: {})",
        after.as_secs_f64(),
        spread.as_secs_f64() * 0.9,
        child.code,
        child.wall,
        child.cpu,
        child.rss_kib as f64 / 1024.0,
        stats.requests,
        stats.snapshot_rows,
        polls.len(),
        polls_reported.map_or("?".to_owned(), |p| p.to_string())
    );
    for (i, (pages, rows, filters)) in polls.iter().enumerate() {
        let f = if filters.is_empty() { "every status".to_owned() } else { filters.join(",") };
        println!("  listing {:>2}: {pages:>2} pages, {rows:>5} rows ({f})", i + 1);
    }
    println!("  requests: {kinds:?}");
    let per_poll = if polls.is_empty() { 0.0 } else { total_rows as f64 / polls.len() as f64 };
    println!(
        "  wait: {total_rows} rows in {} listings ({per_poll:.0} a listing) in {} polls",
        polls.len(),
        polls_reported.map_or("?".to_owned(), |p| p.to_string())
    );
}

fn main() {
    let volumes = usize::try_from(env_num("BENCH_VOLUMES", 10_000)).unwrap_or(10_000);
    let projects = usize::try_from(env_num("BENCH_PROJECTS", 50)).unwrap_or(50);
    let regions = usize::try_from(env_num("BENCH_REGIONS", 3)).unwrap_or(3);
    let after = Duration::from_millis(env_num("BENCH_AVAILABLE_AFTER_MS", 2000));
    let cli = std::env::var("BENCH_CLI").map_or_else(|_| PathBuf::from(target_dir()).join("release/cinder-snapshots"), PathBuf::from);
    if !cli.is_file() {
        eprintln!("no tool at {}: run `cargo build --release --features cli` first (or set BENCH_CLI)", cli.display());
        std::process::exit(1);
    }
    let rusage = rusage();
    let home = std::env::temp_dir().join(format!("cinder-snapshots-estate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&home).expect("bench home");
    let ratio = |b: f64, a: f64| if a > 0.0 { format!("{:.3}", b / a) } else { "-".to_owned() };

    println!(
        "estate bench: {volumes} volumes, {projects} projects, {regions} regions (fake clouds), snapshots available {:.1} s after their create; tool {}",
        after.as_secs_f64(),
        cli.display()
    );
    let mut results: BTreeMap<&str, Measured> = BTreeMap::new();
    if env_flag("BENCH_PER_TARGET") {
        let before = own_rss_kib();
        let estate = Estate::new(volumes, projects, regions, after);
        let fake_kib = own_rss_kib().saturating_sub(before);
        println!(
            "fakes: {} volumes held in {:.1} MiB of this process ({:.0} B per volume)",
            estate.volumes,
            fake_kib as f64 / 1024.0,
            fake_kib as f64 * 1024.0 / estate.volumes.max(1) as f64
        );
        results.insert("a", per_target(&rusage, &cli, &estate, &home));
    }
    let mut estate_note = None;
    if env_flag("BENCH_ESTATE") {
        let estate = Estate::new(volumes, projects, regions, after);
        match whole_estate(&rusage, &cli, &estate, &home) {
            Ok(m) => {
                results.insert("b", m);
            }
            Err(why) => estate_note = Some(why),
        }
    } else {
        estate_note = Some("skipped (BENCH_ESTATE=0)".to_owned());
    }

    println!(
        "\n| mode | processes | wall | CPU | peak RSS | peak RSS per volume | requests | listing rows | snapshot rows | volume rows | created | fake busy |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    if let Some(a) = results.get("a") {
        print_row("(a) one process per target, one after another", a, volumes.div_ceil(projects.max(1)), volumes);
    }
    match (results.get("b"), &estate_note) {
        (Some(b), _) => print_row("(b) one process, run --config", b, volumes, volumes),
        (None, Some(why)) => println!("| (b) one process, run --config | not available: {why} |"),
        (None, None) => {}
    }
    if results.contains_key("a") {
        println!(
            "\n(a)'s peak RSS is the largest of its processes and its per-volume figure is over the volumes of one project ({}); its wall and CPU are the sums. Fake busy: the fakes' own time answering (in this process).",
            volumes.div_ceil(projects.max(1))
        );
    }
    for (label, m) in &results {
        if m.failed > 0 {
            println!("({label}): {} process(es) failed", m.failed);
        }
    }
    if let (Some(a), Some(b)) = (results.get("a"), results.get("b")) {
        println!(
            "ratios b/a: wall {}, CPU {}, requests {}, listing rows {}, peak RSS {}",
            ratio(b.wall, a.wall),
            ratio(b.cpu, a.cpu),
            ratio(b.stats.requests as f64, a.stats.requests as f64),
            ratio((b.stats.snapshot_rows + b.stats.volume_rows) as f64, (a.stats.snapshot_rows + a.stats.volume_rows) as f64),
            ratio(b.peak_rss_kib as f64, a.peak_rss_kib as f64),
        );
    } else {
        println!("ratios b/a: not available");
    }

    let poll_n = usize::try_from(env_num("BENCH_POLL_N", 2000)).unwrap_or(2000);
    if poll_n > 0 {
        // At the estate's pace, and with the finishes spread over 8 s more, so that the
        // snapshots finish between the polls and not all at once.
        let paces = std::env::var("BENCH_POLL_AFTER_MS").unwrap_or_else(|_| format!("{0},{0}+8000", after.as_millis()));
        for pace in paces.split(',') {
            let (base, spread) = pace.split_once('+').unwrap_or((pace, "0"));
            let (Ok(base), Ok(spread)) = (base.trim().parse(), spread.trim().parse()) else { continue };
            poll_rows(&rusage, &cli, poll_n, Duration::from_millis(base), Duration::from_millis(spread), &home);
        }
    }
    let _ = std::fs::remove_dir_all(&home);
}

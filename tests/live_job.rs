//! The scheduled job (`job::run`, `job::check`) against a real Keystone and Cinder, with 22
//! tagged volumes (two of them attached, `in-use`, when the cloud allows an attachment
//! without Nova): a run; a second run in the same window creating nothing; a run killed
//! (SIGKILL) right after its creates and run again (no duplicate, no leak); a snapshot driven
//! to `error` during the wait (deleted, reported, its volume not pruned); the run at 3.0
//! (force for in-use volumes, the listing filtered on the client); a snapshot quota set low
//! so that the preflight creates what fits and skips the rest; and `check` giving each status,
//! on Cinder's clock (its `Date`), counting an owned snapshot in `error_deleting` and the
//! owned snapshots of volumes outside its selection, and escaping a real volume named to
//! forge its output. Then, on 6 volumes of its own, the quota preflight against Cinder's own
//! count (`quota_preflight_and_prune_first_on_the_real_cloud`). And the metrics file of real
//! runs, one volume named with `"`, `\` and a line feed, parsed by `prometheus_client`'s
//! text-format parser from the local cloud's venv (`metrics_of_real_runs_parse_with_prometheus_client`).
//!
//! Ignored by plain `cargo test`, like tests/live.rs: run with the admin's `OS_*` variables
//! in the environment: `cargo test --test live_job -- --ignored --test-threads=1`. Without
//! `OS_AUTH_URL` every test fails (a live test that finds no cloud never passes). Everything it made is removed when it ends, also
//! when it fails, and the quota it lowered is restored.

mod livecloud;

use livecloud::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cinder_snapshots::job::{self, CheckOpts, CheckStatus, JobOpts, JobReport, VolumeAction, WINDOW_KEY, Window};
use cinder_snapshots::retention::{POLICY_KEY, Policy};
use cinder_snapshots::snapshots::{self, ListOpts, Snapshot, SnapshotStatus, WaitOpts};
use cinder_snapshots::{Microversion, MicroversionPolicy, Request, ServiceClient, ServiceClientBuilder};
use serde_json::{Value, json};
use time::OffsetDateTime;

const VOLUMES: usize = 22;

fn quick() -> WaitOpts {
    WaitOpts::new().initial_interval(Duration::from_millis(100)).max_interval(Duration::from_secs(1)).timeout(Duration::from_secs(60))
}

fn client(policy: MicroversionPolicy) -> ServiceClient {
    ServiceClientBuilder::from_vars(admin_vars()).expect("OS_* variables").microversion(policy).build().expect("client")
}

fn live() -> bool {
    // Fails (never skips) without a cloud: these tests run only with `--ignored`.
    require_cloud();
    true
}

/// The project id: the last segment of the catalog endpoint.
fn project_of(client: &ServiceClient) -> String {
    let endpoint = client.endpoint().expect("endpoint");
    endpoint.path_segments().and_then(|mut s| s.rfind(|p| !p.is_empty()).map(str::to_owned)).expect("project in endpoint")
}

fn set_snapshot_quota(admin: &ServiceClient, project: &str, snapshots: i64) {
    admin
        .send(
            Request::put(["os-quota-sets", project])
                .json(json!({"quota_set": {"snapshots": snapshots, "volumes": 100, "gigabytes": 2000}})),
        )
        .expect("set quotas");
}

/// The volumes (and their attachments) made by the test; removed with every snapshot of them
/// on drop, and the quota restored.
struct Fleet {
    admin: ServiceClient,
    project: String,
    tag: String,
    volumes: Vec<String>,
    attached: Vec<String>,
}

impl Fleet {
    fn new(admin: &ServiceClient, tag: &str) -> Fleet {
        let project = project_of(admin);
        set_snapshot_quota(admin, &project, 500);
        let mut fleet = Fleet { admin: admin.clone(), project, tag: tag.to_owned(), volumes: Vec::new(), attached: Vec::new() };
        for i in 0..VOLUMES {
            let body = json!({"volume": {"size": 1, "name": format!("live-job-{i:02}"), "metadata": {"live-job": tag}}});
            let v: Value = admin.send(Request::post(["volumes"]).json(body)).expect("create volume").json("volume").expect("volume");
            fleet.volumes.push(v["volume"]["id"].as_str().expect("id").to_owned());
        }
        for id in fleet.volumes.clone() {
            fleet.wait_volume(&id, "available");
        }
        // Two attached volumes, if the cloud lets an attachment complete without Nova.
        let first_two: Vec<String> = fleet.volumes.iter().take(2).cloned().collect();
        for id in first_two {
            match fleet.attach(&id) {
                Ok(()) => fleet.attached.push(id),
                Err(e) => {
                    eprintln!("live_job: cannot attach {id} ({e}); the in-use cases are not run");
                    break;
                }
            }
        }
        fleet
    }

    fn wait_volume(&self, id: &str, want: &str) {
        let start = Instant::now();
        loop {
            let v: Value = self.admin.send(Request::get(["volumes", id])).unwrap().json("volume").unwrap();
            let status = v["volume"]["status"].as_str().unwrap_or_default().to_owned();
            if status == want {
                return;
            }
            assert!(!status.starts_with("error") && start.elapsed() < Duration::from_secs(60), "volume {id} is {status}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `POST /attachments` (3.27) with a connector, then `os-complete` (3.44): `in-use`.
    fn attach(&self, id: &str) -> Result<(), String> {
        let connector = json!({"initiator": "iqn.2026-11.org.example:live-job", "ip": "127.0.0.1", "host": "live-job",
                               "multipath": false, "platform": "x86_64", "os_type": "linux"});
        let body =
            json!({"attachment": {"volume_uuid": id, "instance_uuid": "8a1b2c3d-0000-4000-8000-00000000a77a", "connector": connector}});
        let a: Value =
            self.admin.send(Request::post(["attachments"]).json(body)).and_then(|r| r.json("attachment")).map_err(|e| e.full_message())?;
        let aid = a["attachment"]["id"].as_str().ok_or("no attachment id")?.to_owned();
        self.admin
            .send(Request::post(["attachments", aid.as_str(), "action"]).json(json!({"os-complete": {}})))
            .map_err(|e| e.full_message())?;
        self.wait_volume(id, "in-use");
        Ok(())
    }

    /// Every snapshot of the fleet's volumes.
    fn snapshots(&self) -> Vec<Snapshot> {
        let all = snapshots::list_detail(&self.admin, &ListOpts::new()).unwrap().all().unwrap();
        all.into_iter().filter(|s| self.volumes.contains(&s.volume_id)).collect()
    }

    /// The fleet's snapshots for a policy and window, by volume.
    fn window(&self, policy: &str, window: &str) -> BTreeMap<String, Vec<Snapshot>> {
        let mut out: BTreeMap<String, Vec<Snapshot>> = BTreeMap::new();
        for s in self.snapshots() {
            if s.metadata.get(POLICY_KEY).map(String::as_str) == Some(policy)
                && s.metadata.get(WINDOW_KEY).map(String::as_str) == Some(window)
            {
                out.entry(s.volume_id.clone()).or_default().push(s);
            }
        }
        out
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        set_snapshot_quota(&self.admin, &self.project, 500);
        let snaps = self.snapshots();
        for s in &snaps {
            let _ = snapshots::force_delete(&self.admin, &s.id);
        }
        for s in &snaps {
            let _ = snapshots::wait_for_delete(&self.admin, &s.id, &quick());
        }
        for id in &self.attached {
            let _ = self.admin.send(
                Request::post(["volumes", id.as_str(), "action"])
                    .json(json!({"os-reset_status": {"status": "available", "attach_status": "detached"}})),
            );
        }
        for id in &self.volumes {
            if self.admin.send(Request::delete(["volumes", id.as_str()])).is_err() {
                let _ = self.admin.send(Request::post(["volumes", id.as_str(), "action"]).json(json!({"os-force_delete": {}})));
            }
        }
        eprintln!("live_job: removed {} snapshots and {} volumes tagged live-job={}", snaps.len(), self.volumes.len(), self.tag);
    }
}

/// A suffix of its own for each run.
fn unique() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("{nanos:x}")
}

/// The daily window label of `now`.
fn daily_label(now: OffsetDateTime) -> String {
    let start = Window::Daily.start(now, time::UtcOffset::UTC).unwrap();
    format!("{:04}-{:02}-{:02}T00:00:00Z", start.year(), u8::from(start.month()), start.day())
}

fn opts(policy: &Policy, tag: &str, now: OffsetDateTime) -> JobOpts {
    JobOpts::new(policy.clone())
        .select_tag("live-job", tag)
        .now(now)
        .poll_interval(Duration::from_millis(200), Duration::from_secs(2))
        .timeout(Duration::from_secs(120))
        .page_size(10)
}

fn summary(r: &JobReport) -> String {
    let failures: Vec<String> = r.volumes().iter().filter_map(|v| v.error.as_ref().map(|e| format!("{}: {e}", v.label()))).collect();
    format!("{:?} {failures:#?}", r.totals())
}

/// The child of the SIGKILL case: runs the job and, right after its creates, says so and
/// waits to be killed.
#[test]
#[ignore = "live: the child of the SIGKILL case"]
fn live_job_child() {
    let (Ok(tag), Ok(policy), Ok(now)) = (std::env::var("LIVE_JOB_TAG"), std::env::var("LIVE_JOB_POLICY"), std::env::var("LIVE_JOB_NOW"))
    else {
        return;
    };
    let now = OffsetDateTime::from_unix_timestamp(now.parse().unwrap()).unwrap();
    let policy = Policy::builder(policy).keep_last(1).build().unwrap();
    let said = AtomicBool::new(false);
    let o = opts(&policy, &tag, now).progress(move |p| {
        if !said.swap(true, Ordering::SeqCst) {
            println!("CREATES-SENT {}", p.created);
            std::thread::sleep(Duration::from_secs(120));
        }
    });
    let _ = job::run(&client(MicroversionPolicy::Negotiate), &o);
}

#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn the_job_at_scale_on_the_real_cloud() {
    if !live() {
        return;
    }
    let admin = client(MicroversionPolicy::Negotiate);
    let tag = unique();
    let mut fleet = Fleet::new(&admin, &tag);
    let policy = Policy::builder(format!("live-job-{tag}")).keep_last(1).build().unwrap();
    let day = time::Duration::days(1);
    let now = OffsetDateTime::now_utc();

    // 1. A run: one snapshot per volume, all available; nothing to prune yet.
    let first = job::run(&admin, &opts(&policy, &tag, now)).unwrap();
    assert!(first.is_success(), "{}", summary(&first));
    let t = first.totals();
    assert_eq!((t.volumes, t.created, t.available, t.pruned), (VOLUMES, VOLUMES, VOLUMES, 0));
    for v in &fleet.attached {
        assert_eq!(first.volume(v).unwrap().volume_status, "in-use");
        assert_eq!(first.volume(v).unwrap().action, VolumeAction::Created);
    }
    let label = daily_label(now);
    let window = fleet.window(policy.id(), &label);
    assert_eq!(window.len(), VOLUMES);
    assert!(window.values().all(|s| s.len() == 1));
    eprintln!(
        "live_job: run 1: {} created ({} of them in-use) in {:.1} s, {} polls",
        t.created,
        fleet.attached.len(),
        first.elapsed().as_secs_f64(),
        first.polls()
    );

    // 2. The same window again: nothing created, every snapshot reused.
    let second = job::run(&admin, &opts(&policy, &tag, now)).unwrap();
    let t = second.totals();
    assert!(second.is_success(), "{}", summary(&second));
    assert_eq!((t.created, t.reused, t.pruned, second.polls()), (0, VOLUMES, 0, 0));
    assert_eq!(fleet.window(policy.id(), &label), window);

    // 3. Killed right after its creates (next day's window), then run again.
    let now3 = now + day;
    let label3 = daily_label(now3);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["live_job_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("LIVE_JOB_TAG", &tag)
        .env("LIVE_JOB_POLICY", policy.id())
        .env("LIVE_JOB_NOW", now3.unix_timestamp().to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let sent =
        BufReader::new(stdout).lines().map_while(Result::ok).find_map(|l| l.split_once("CREATES-SENT ").map(|(_, n)| n.trim().to_owned()));
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    assert_eq!(sent.as_deref(), Some(VOLUMES.to_string().as_str()), "the child sent its creates");
    let left = fleet.window(policy.id(), &label3);
    assert_eq!(left.len(), VOLUMES, "the killed run's snapshots");
    let rerun = job::run(&admin, &opts(&policy, &tag, now3)).unwrap();
    assert!(rerun.is_success(), "{}", summary(&rerun));
    let t = rerun.totals();
    assert_eq!((t.created, t.reused, t.available), (0, VOLUMES, VOLUMES));
    // No duplicate, no leak: one snapshot per volume for the window, the ones the killed
    // run made; day 1's pruned (keep last 1).
    let after = fleet.window(policy.id(), &label3);
    assert!(after.values().all(|s| s.len() == 1));
    let ids = |m: &BTreeMap<String, Vec<Snapshot>>| -> Vec<String> { m.values().flatten().map(|s| s.id.clone()).collect() };
    assert_eq!(ids(&after), ids(&left));
    assert_eq!(t.pruned, VOLUMES);
    assert!(fleet.window(policy.id(), &label).is_empty(), "day 1's snapshots pruned");
    assert_eq!(fleet.snapshots().len(), VOLUMES);

    // 4. A snapshot driven to error during the wait (reset by the admin right after the
    //    creates): deleted by the job, reported, its volume not pruned; the others pruned.
    let now4 = now + day * 2;
    let label4 = daily_label(now4);
    let victim: Arc<Mutex<Option<(String, String)>>> = Arc::default();
    let (sink, resetter, pid, lbl) = (victim.clone(), admin.clone(), policy.id().to_owned(), label4.clone());
    let o = opts(&policy, &tag, now4).progress(move |_| {
        let mut slot = sink.lock().unwrap();
        if slot.is_some() {
            return;
        }
        let list = ListOpts::new().metadata(POLICY_KEY, pid.as_str()).metadata(WINDOW_KEY, lbl.as_str());
        let mut made = snapshots::list_detail(&resetter, &list).unwrap().all().unwrap();
        made.sort_by_key(|s| s.created_at);
        let first = made.first().expect("a snapshot of this window").clone();
        snapshots::reset_status(&resetter, &first.id, SnapshotStatus::Error).unwrap();
        *slot = Some((first.volume_id, first.id));
    });
    let fourth = job::run(&admin, &o).unwrap();
    let (volume, bad) = victim.lock().unwrap().clone().unwrap();
    let v = fourth.volume(&volume).unwrap();
    assert_eq!(v.action, VolumeAction::Failed, "{}", summary(&fourth));
    assert_eq!(v.snapshot_id.as_deref(), Some(bad.as_str()));
    assert_eq!(
        v.error.as_ref().map(ToString::to_string).as_deref(),
        Some(format!("snapshot {bad} went to error; the job deleted it").as_str())
    );
    assert_eq!(v.zombies, std::slice::from_ref(&bad));
    assert_eq!(v.prune_skipped.as_deref(), Some("not pruned: its snapshot for this window failed"));
    assert!(v.pruned.is_empty());
    let t = fourth.totals();
    assert_eq!((t.created, t.failed, t.available, t.pruned), (VOLUMES - 1, 1, VOLUMES - 1, VOLUMES - 1));
    assert!(!fourth.is_success());
    assert!(!fleet.snapshots().iter().any(|s| s.id == bad), "the errored snapshot is gone");
    // The victim keeps its day-2 snapshot; the others have only day 3's.
    assert_eq!(fleet.window(policy.id(), &label3).len(), 1);
    assert!(fleet.window(policy.id(), &label3).contains_key(&volume));
    assert_eq!(fleet.window(policy.id(), &label4).len(), VOLUMES - 1);

    // 5. At 3.0: the listing is filtered on the client; in-use volumes are snapshotted
    //    with force=true (below 3.66 Cinder refuses them without it).
    let old = client(MicroversionPolicy::Pinned(Microversion::new(3, 0)));
    let now5 = now + day * 3;
    let mut o = JobOpts::new(policy.clone()).now(now5).poll_interval(Duration::from_millis(200), Duration::from_secs(2));
    let chosen: Vec<String> = if fleet.attached.is_empty() { fleet.volumes[..2].to_vec() } else { fleet.attached.clone() };
    for v in &chosen {
        o = o.select_volume(v.clone());
    }
    let fifth = job::run(&old, &o).unwrap();
    assert!(fifth.is_success(), "{}", summary(&fifth));
    assert_eq!(fifth.totals().created, chosen.len());
    let again = job::run(&old, &o).unwrap();
    assert_eq!((again.totals().created, again.totals().reused), (0, chosen.len()));

    // 6. Over quota: room for 5 more snapshots; the preflight reads it from Cinder, creates
    //    5, skips the rest with the numbers, and waits for and reports the ones made.
    let held = snapshots::list_detail(&admin, &ListOpts::new()).unwrap().all().unwrap().len();
    set_snapshot_quota(&admin, &fleet.project, i64::try_from(held + 5).unwrap());
    let now6 = now + day * 4;
    let sixth = job::run(&admin, &opts(&policy, &tag, now6).concurrency(1)).unwrap();
    set_snapshot_quota(&admin, &fleet.project, 500);
    assert!(sixth.over_quota(), "{}", summary(&sixth));
    let t = sixth.totals();
    assert_eq!((t.created, t.available, t.skipped, t.failed), (5, 5, VOLUMES - 5, 0), "{}", summary(&sixth));
    let skipped = sixth.volumes().iter().find(|v| v.action == VolumeAction::Skipped).unwrap();
    let message = skipped.error.as_ref().unwrap().to_string();
    assert_eq!(message, format!("over quota, not snapshotted: snapshots: {VOLUMES} needed, 5 left"), "{message}");
    assert_eq!(fleet.window(policy.id(), &daily_label(now6)).len(), 5);

    // 7. check: each status and code.
    let (warn, crit) = (Duration::from_secs(26 * 3600), Duration::from_secs(50 * 3600));
    let check_at =
        |at: OffsetDateTime| job::check(&admin, &CheckOpts::new(policy.id(), warn, crit).select_tag("live-job", &tag).now(at)).unwrap();
    let ok = check_at(OffsetDateTime::now_utc() + Duration::from_secs(3600));
    assert_eq!((ok.status(), ok.status().code()), (CheckStatus::Ok, 0), "{}", ok.status_line());
    let warning = check_at(OffsetDateTime::now_utc() + Duration::from_secs(30 * 3600));
    assert_eq!((warning.status(), warning.status().code()), (CheckStatus::Warning, 1), "{}", warning.status_line());
    let critical = check_at(OffsetDateTime::now_utc() + Duration::from_secs(60 * 3600));
    assert_eq!((critical.status(), critical.status().code()), (CheckStatus::Critical, 2), "{}", critical.status_line());
    let unknown = job::check(&admin, &CheckOpts::new(policy.id(), warn, crit).select_tag("live-job", "no-such-tag")).unwrap();
    assert_eq!((unknown.status(), unknown.status().code()), (CheckStatus::Unknown, 3));
    eprintln!("live_job: {}", ok.status_line());
    assert!(ok.status_line().starts_with(&format!("CINDER-SNAPSHOTS OK - {VOLUMES} volumes, oldest ")), "{}", ok.status_line());
    assert!(ok.details().is_empty(), "{:?}", ok.details());
    assert!(
        ok.status_line().contains(&format!(" volumes={VOLUMES};;;0 ok={VOLUMES};;;0 warning=0;;;0 critical=0;;;0 ")),
        "{}",
        ok.status_line()
    );

    // 8. check on Cinder's own clock (the Date of its answers): known, and within 5 minutes
    //    of this host's on the local cloud; every snapshot is fresh.
    let real = job::check(&admin, &CheckOpts::new(policy.id(), warn, crit).select_tag("live-job", &tag)).unwrap();
    let offset = real.clock_offset().expect("Cinder's answers carry a Date");
    assert!(offset.unsigned_abs() < Duration::from_secs(300), "{offset}");
    assert_eq!(real.status(), CheckStatus::Ok, "{}", real.output());
    assert!(real.status_line().ends_with(&format!(" skew={}s;300;;0", offset.unsigned_abs().as_secs())), "{}", real.status_line());

    // 9. An owned snapshot in error_deleting (its volume's only one, as the prunes left it):
    //    counted with its size, and its volume has no available snapshot: CRITICAL. Then back.
    let stuck = fleet.window(policy.id(), &daily_label(now6)).values().next().and_then(|s| s.first()).cloned().expect("a snapshot");
    snapshots::reset_status(&admin, &stuck.id, SnapshotStatus::ErrorDeleting).unwrap();
    let warned = check_at(OffsetDateTime::now_utc() + Duration::from_secs(3600));
    snapshots::reset_status(&admin, &stuck.id, SnapshotStatus::Available).unwrap();
    assert_eq!(warned.status(), CheckStatus::Critical, "{}", warned.output());
    assert_eq!(warned.details().len(), 1, "{}", warned.output());
    let line = &warned.details()[0];
    assert!(line.starts_with("CRITICAL live-job-") && line.ends_with("; 1 snapshot in error (1 GiB)"), "{}", warned.output());
    assert!(warned.status_line().contains(" errors=1;;;0 "), "{}", warned.status_line());

    // 10. Selected by one volume only: the policy's snapshots of the others are unselected.
    let one = job::check(&admin, &CheckOpts::new(policy.id(), warn, crit).select_volume(&stuck.volume_id)).unwrap();
    assert_eq!(one.status(), CheckStatus::Warning, "{}", one.output());
    let owned_total: usize = real.volumes().iter().map(|v| v.owned).sum();
    assert_eq!(one.unselected().count, owned_total - one.volumes()[0].owned, "{}", one.output());
    assert_eq!(one.unselected().volumes.len(), VOLUMES - 1);

    // 11. A volume named to forge the output, in a selection of its own: CRITICAL (no
    //     snapshot, its age the time since Cinder created it), one '|', only the check's lines.
    let named_tag = format!("{tag}-named");
    let body =
        json!({"volume": {"size": 1, "name": "live|x=1\nCINDER-SNAPSHOTS OK - forged | age=0s", "metadata": {"live-job": named_tag}}});
    let v: Value = admin.send(Request::post(["volumes"]).json(body)).expect("create volume").json("volume").expect("volume");
    let named_id = v["volume"]["id"].as_str().expect("id").to_owned();
    fleet.volumes.push(named_id.clone());
    fleet.wait_volume(&named_id, "available");
    let named = job::check(&admin, &CheckOpts::new(policy.id(), warn, crit).select_tag("live-job", &named_tag)).unwrap();
    let out = named.output();
    eprintln!("live_job: {out}");
    assert_eq!(named.status(), CheckStatus::Critical, "{out}");
    assert_eq!(out.matches('|').count(), 1, "{out}");
    assert_eq!(out.lines().count(), 2 + usize::from(named.unselected().count > 0), "{out}");
    assert!(
        out.contains("\nCRITICAL live\\u{7c}x=1\\u{a}CINDER-SNAPSHOTS OK - forged \\u{7c} age=0s: no snapshot, volume created "),
        "{out}"
    );
    let age = named.volumes()[0].judged_age;
    assert!(age >= Duration::from_secs(1) && age < Duration::from_secs(600), "{age:?}");
}

/// The project's quotas as they were, restored on drop, with the volumes made and every
/// snapshot of them removed.
struct QuotaGuard {
    admin: ServiceClient,
    project: String,
    saved: Value,
    volumes: Vec<String>,
}

impl Drop for QuotaGuard {
    fn drop(&mut self) {
        let snaps: Vec<Snapshot> = snapshots::list_detail(&self.admin, &ListOpts::new())
            .and_then(|p| p.all())
            .unwrap_or_default()
            .into_iter()
            .filter(|s| self.volumes.contains(&s.volume_id))
            .collect();
        for s in &snaps {
            let _ = snapshots::force_delete(&self.admin, &s.id);
        }
        for s in &snaps {
            let _ = snapshots::wait_for_delete(&self.admin, &s.id, &quick());
        }
        for id in &self.volumes {
            let _ = self.admin.send(Request::delete(["volumes", id.as_str()]));
        }
        let _ = self.admin.send(Request::put(["os-quota-sets", self.project.as_str()]).json(json!({"quota_set": self.saved})));
        eprintln!("live_job: removed {} snapshots and {} volumes; quotas restored to {}", snaps.len(), self.volumes.len(), self.saved);
    }
}

/// The quota preflight against the real Cinder 29, its project quota set to 10 snapshots
/// (admin `PUT os-quota-sets`): the room read from Cinder is what it enforces (a create past
/// it is Cinder's 413); a run over more volumes than fit snapshots those that fit and skips
/// the others with the numbers; `prune_first` makes the room and the run fits. The member
/// reads its own project's quota set, not the admin's (403). Quotas restored afterwards.
#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn quota_preflight_and_prune_first_on_the_real_cloud() {
    assert!(std::env::var_os("OS_AUTH_URL").is_some(), "no cloud: run through scripts/live-tests (OS_AUTH_URL is not set)");
    use cinder_snapshots::quotas::{self, Room, RoomSource, Shortfall};
    let admin = client(MicroversionPolicy::Negotiate);
    let project = admin.project_id().unwrap().expect("the token's project");
    assert_eq!(project, project_of(&admin));
    let saved: Value = admin.send(Request::get(["os-quota-sets", project.as_str()])).unwrap().json("quota set").unwrap();
    let saved = json!({"snapshots": saved["quota_set"]["snapshots"], "gigabytes": saved["quota_set"]["gigabytes"], "volumes": saved["quota_set"]["volumes"]});
    let mut guard = QuotaGuard { admin: admin.clone(), project: project.clone(), saved, volumes: Vec::new() };
    admin
        .send(
            Request::put(["os-quota-sets", project.as_str()])
                .json(json!({"quota_set": {"snapshots": 10, "volumes": 100, "gigabytes": 2000}})),
        )
        .expect("set the quota");
    let tag = unique();
    for i in 0..6 {
        let body = json!({"volume": {"size": 1, "name": format!("live-quota-{i}"), "metadata": {"live-quota": tag}}});
        let v: Value = admin.send(Request::post(["volumes"]).json(body)).unwrap().json("volume").unwrap();
        guard.volumes.push(v["volume"]["id"].as_str().unwrap().to_owned());
    }
    for id in &guard.volumes {
        let start = Instant::now();
        while admin.send(Request::get(["volumes", id.as_str()])).unwrap().json::<Value>("volume").unwrap()["volume"]["status"]
            != "available"
        {
            assert!(start.elapsed() < Duration::from_secs(60), "volume {id} not available");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let held = |c: &ServiceClient| snapshots::list_detail(c, &ListOpts::new()).unwrap().all().unwrap().len() as u64;
    let before = held(&admin);
    let room = quotas::room(&admin).unwrap();
    assert_eq!(room.source, RoomSource::QuotaSet);
    assert_eq!(room.room("snapshots"), Room::Left(10 - before), "the room is the limit less what the project holds");
    assert_eq!(room.room("snapshots___DEFAULT__"), Room::Unlimited);

    // The member: its own project's quota set, not the admin's.
    let member = ServiceClientBuilder::from_vars(member_vars()).unwrap().build().unwrap();
    let own = member.project_id().unwrap().unwrap();
    assert!(matches!(quotas::get_usage(&member, &own).unwrap().room("snapshots"), Room::Left(_) | Room::Unlimited));
    let refused = quotas::get_usage(&member, &project).unwrap_err();
    assert_eq!(refused.status(), Some(403), "{refused}");

    // Keep the last 2: a run prunes nothing until a volume has three snapshots.
    let policy = Policy::builder(format!("live-quota-{tag}")).keep_last(2).build().unwrap();
    let base = |now: OffsetDateTime| {
        JobOpts::new(policy.clone())
            .select_tag("live-quota", &tag)
            .now(now)
            .poll_interval(Duration::from_millis(200), Duration::from_secs(2))
            .timeout(Duration::from_secs(120))
    };
    let day = time::Duration::days(1);
    let now = OffsetDateTime::now_utc();
    // Day 1: 6 fit.
    let first = job::run(&admin, &base(now)).unwrap();
    assert!(first.is_success(), "{}", summary(&first));
    // Day 2: 4 left; 4 created, 2 skipped with the numbers.
    let left = 10 - held(&admin);
    assert_eq!(left, 4 - before.min(4));
    // The order: the volumes whose newest snapshot is oldest first (Cinder's created_at of
    // their day-1 snapshots), then by id.
    let mut order: Vec<(Option<OffsetDateTime>, String)> = snapshots::list_detail(&admin, &ListOpts::new())
        .unwrap()
        .all()
        .unwrap()
        .into_iter()
        .filter(|s| guard.volumes.contains(&s.volume_id))
        .map(|s| (s.created_at, s.volume_id))
        .collect();
    order.sort();
    let second = job::run(&admin, &base(now + day)).unwrap();
    let t = second.totals();
    assert_eq!((t.created, t.skipped, t.failed), (left as usize, 6 - left as usize, 0), "{}", summary(&second));
    let quota = second.quota().unwrap();
    assert_eq!(quota.binding, vec![Shortfall::new("snapshots", 6, left)]);
    for v in second.volumes() {
        let fits = order.iter().position(|(_, id)| *id == v.volume_id).unwrap() < left as usize;
        if fits {
            assert_eq!(v.action, VolumeAction::Created, "{v:?}");
        } else {
            assert_eq!((v.action, v.quota.clone()), (VolumeAction::Skipped, vec![Shortfall::new("snapshots", 6, left)]), "{v:?}");
            assert_eq!(
                v.error.as_ref().map(ToString::to_string).as_deref(),
                Some(format!("over quota, not snapshotted: snapshots: 6 needed, {left} left").as_str())
            );
        }
    }
    // What Cinder enforces is the room it reported: none left, and one more create is its 413.
    assert_eq!(quotas::room(&admin).unwrap().room("snapshots"), Room::Left(0));
    let over = snapshots::create(&admin, &snapshots::CreateOpts::new(&guard.volumes[0])).unwrap_err();
    assert!(over.is_over_quota(), "{over}");
    assert_eq!(over.api().unwrap().message, "SnapshotLimitExceeded: Maximum number of snapshots allowed (10) exceeded");

    // Day 3, the volumes with two snapshots, prune-first: their day-1 snapshots (which the
    // rules delete once today's exists) are deleted first, then all fit.
    let doubled: Vec<String> = second.volumes().iter().filter(|v| v.action == VolumeAction::Created).map(|v| v.volume_id.clone()).collect();
    let day1: Vec<String> =
        first.volumes().iter().filter(|v| doubled.contains(&v.volume_id)).filter_map(|v| v.snapshot_id.clone()).collect();
    let mut third_opts = JobOpts::new(policy.clone())
        .now(now + day * 2)
        .poll_interval(Duration::from_millis(200), Duration::from_secs(2))
        .timeout(Duration::from_secs(120))
        .prune_first(true);
    for v in &doubled {
        third_opts = third_opts.select_volume(v.clone());
    }
    let third = job::run(&admin, &third_opts).unwrap();
    assert!(third.is_success(), "{}", summary(&third));
    let quota = third.quota().unwrap();
    let mut pruned = quota.pruned_first.clone();
    pruned.sort();
    let mut want = day1.clone();
    want.sort();
    assert_eq!(pruned, want, "exactly the day-1 snapshots of those volumes");
    assert!(quota.binding.is_empty(), "{quota:?}");
    assert_eq!(third.totals().created, doubled.len());
    eprintln!("live_job: quota preflight: day 2 {:?}, day 3 pruned first {}", second.totals(), pruned.len());
}

/// Deletes the volumes (and their snapshots) a test made, also when it fails.
struct VolumeGuard {
    admin: ServiceClient,
    volumes: Vec<String>,
    dir: std::path::PathBuf,
}

impl Drop for VolumeGuard {
    fn drop(&mut self) {
        let snaps: Vec<Snapshot> = snapshots::list_detail(&self.admin, &ListOpts::new())
            .and_then(|p| p.all())
            .unwrap_or_default()
            .into_iter()
            .filter(|s| self.volumes.contains(&s.volume_id))
            .collect();
        for s in &snaps {
            let _ = snapshots::force_delete(&self.admin, &s.id);
        }
        for s in &snaps {
            let _ = snapshots::wait_for_delete(&self.admin, &s.id, &quick());
        }
        for id in &self.volumes {
            let _ = self.admin.send(Request::delete(["volumes", id.as_str()]));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        eprintln!("live_job: removed {} snapshots and {} volumes", snaps.len(), self.volumes.len());
    }
}

/// Hooks around a real snapshot on the real Cinder 29: the pre-hook ends before Cinder
/// creates the snapshot (its `created_at`), the post-hook starts after Cinder made it
/// `available` (its `updated_at`), with the exact snapshot id, status and outcome in its
/// environment; a volume named `$(touch ...)` with quotes executes nothing.
#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn hooks_around_a_real_snapshot() {
    assert!(std::env::var_os("OS_AUTH_URL").is_some(), "no cloud: run through scripts/live-tests (OS_AUTH_URL is not set)");
    let admin = client(MicroversionPolicy::Negotiate);
    let tag = unique();
    let dir = std::env::temp_dir().join(format!("live-hooks-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut guard = VolumeGuard { admin: admin.clone(), volumes: Vec::new(), dir: dir.clone() };
    let evil = format!("live-hooks $(touch {0}/pwned) `touch {0}/pwned2` ' \"", dir.display());
    let body = json!({"volume": {"size": 1, "name": evil, "metadata": {"live-hooks": tag}}});
    let v: Value = admin.send(Request::post(["volumes"]).json(body)).unwrap().json("volume").unwrap();
    let volume = v["volume"]["id"].as_str().unwrap().to_owned();
    guard.volumes.push(volume.clone());
    let start = Instant::now();
    while admin.send(Request::get(["volumes", volume.as_str()])).unwrap().json::<Value>("volume").unwrap()["volume"]["status"]
        != "available"
    {
        assert!(start.elapsed() < Duration::from_secs(60), "volume {volume} not available");
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = dir.join("log");
    let hook = |kind: &str| {
        format!(
            "{{ printf '{kind} %s ' \"$(date +%s.%N)\"; printf '%s|' \"$CINDER_SNAPSHOTS_VOLUME_ID\" \"$CINDER_SNAPSHOTS_VOLUME_NAME\" \
             \"$CINDER_SNAPSHOTS_SNAPSHOT_ID\" \"$CINDER_SNAPSHOTS_SNAPSHOT_STATUS\" \"$CINDER_SNAPSHOTS_OUTCOME\"; echo; }} >> '{}'",
            log.display()
        )
    };
    let policy = Policy::builder(format!("live-hooks-{tag}")).keep_last(2).build().unwrap();
    let opts = JobOpts::new(policy)
        .select_tag("live-hooks", &tag)
        .poll_interval(Duration::from_millis(100), Duration::from_secs(1))
        .timeout(Duration::from_secs(120))
        .pre_hook(hook("pre"))
        .post_hook(hook("post"));
    let report = job::run(&admin, &opts).unwrap();
    assert!(report.is_success(), "{}", summary(&report));
    assert!(!dir.join("pwned").exists() && !dir.join("pwned2").exists(), "cloud text was executed");
    let r = report.volume(&volume).unwrap();
    let snap_id = r.snapshot_id.clone().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<(&str, f64, &str)> = text
        .lines()
        .map(|l| {
            let mut parts = l.splitn(3, ' ');
            (parts.next().unwrap(), parts.next().unwrap().parse::<f64>().unwrap(), parts.next().unwrap())
        })
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!((lines[0].0, lines[0].2), ("pre", format!("{volume}|{evil}||||").as_str()));
    assert_eq!((lines[1].0, lines[1].2), ("post", format!("{volume}|{evil}|{snap_id}|available|available|").as_str()));
    let snap = snapshots::get(&admin, &snap_id).unwrap();
    let secs = |t: OffsetDateTime| t.unix_timestamp_nanos() as f64 / 1e9;
    let created = secs(snap.created_at.expect("created_at"));
    let updated = secs(snap.updated_at.expect("updated_at"));
    // Cinder's times are the same host's clock (the local cloud); its created_at is written
    // when it takes the create, its updated_at when the copy is done.
    assert!(lines[0].1 <= created, "the pre-hook ended at {} after the create at {created}", lines[0].1);
    assert!(updated <= lines[1].1, "the post-hook started at {} before the snapshot was available at {updated}", lines[1].1);
    assert_eq!(r.hooks.iter().map(|h| h.exit_code).collect::<Vec<_>>(), [Some(0), Some(0)]);
}

/// Fails (never skips) without a cloud: these tests run only with `--ignored`.
fn require_cloud() {
    assert!(std::env::var_os("OS_AUTH_URL").is_some(), "live_job: OS_AUTH_URL is not set (run through scripts/live-tests)");
}

/// `n` volumes of 1 GiB tagged `live-job=<tag>`, made by `client` (in its project), available.
fn small_fleet(client: &ServiceClient, tag: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let body = json!({"volume": {"size": 1, "name": format!("live-job-{tag}-{i}"), "metadata": {"live-job": tag}}});
        let v: Value = client.send(Request::post(["volumes"]).json(body)).expect("create volume").json("volume").expect("volume");
        ids.push(v["volume"]["id"].as_str().expect("id").to_owned());
    }
    for id in &ids {
        let start = Instant::now();
        loop {
            let v: Value = client.send(Request::get(["volumes", id.as_str()])).unwrap().json("volume").unwrap();
            if v["volume"]["status"] == "available" {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "volume {id}: {}", v["volume"]["status"]);
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    ids
}

/// Removes every snapshot of `volumes` (any project: the admin lists them all) and the volumes.
fn remove(admin: &ServiceClient, volumes: &[String]) {
    let all = snapshots::list_detail(admin, &ListOpts::new().all_projects(true)).and_then(|p| p.all()).unwrap_or_default();
    let snaps: Vec<&Snapshot> = all.iter().filter(|s| volumes.contains(&s.volume_id)).collect();
    for s in &snaps {
        let _ = snapshots::force_delete(admin, &s.id);
    }
    for s in &snaps {
        let _ = snapshots::wait_for_delete(admin, &s.id, &quick());
    }
    for id in volumes {
        let _ = admin.send(Request::delete(["volumes", id.as_str()]));
    }
}

/// Issue 20, item 15: two `run`s of the same job started together against the real Cinder
/// (the tool, as cron starts it, with one home): one takes the job's lock and creates one
/// snapshot a volume, the other exits 5 at once naming the first one's pid; nothing is
/// duplicated.
#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn two_runs_started_together_one_creates_the_other_exits_5() {
    require_cloud();
    let admin = client(MicroversionPolicy::Negotiate);
    let tag = format!("lock-{}", unique());
    let volumes = small_fleet(&admin, &tag, 2);
    let home = std::env::temp_dir().join(format!("live-job-{tag}"));
    std::fs::create_dir_all(&home).unwrap();
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_cinder-snapshots"))
            .args(["run", "--select", &format!("live-job={tag}"), "--policy", &tag, "--keep-last", "2", "--json"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .envs(admin_vars())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the tool")
    };
    let (a, b) = (start(), start());
    let pids = [a.id(), b.id()];
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let codes: Vec<Option<i32>> = outs.iter().map(|o| o.status.code()).collect();
    let made = snapshots::list_detail(&admin, &ListOpts::new()).unwrap().all().unwrap();
    let made: Vec<&Snapshot> = made.iter().filter(|s| volumes.contains(&s.volume_id)).collect();
    remove(&admin, &volumes);
    let _ = std::fs::remove_dir_all(&home);
    let winner = codes.iter().position(|c| *c == Some(0)).unwrap_or_else(|| {
        panic!("{codes:?}: {}", outs.iter().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect::<Vec<_>>().join("\n"))
    });
    let loser = 1 - winner;
    assert_eq!(codes[loser], Some(5), "{}", String::from_utf8_lossy(&outs[loser].stderr));
    let err = String::from_utf8_lossy(&outs[loser].stderr);
    assert!(err.starts_with(&format!("cinder-snapshots: another run of this job is running (pid {}, started ", pids[winner])), "{err}");
    assert!(outs[loser].stdout.is_empty());
    let report: Value = serde_json::from_slice(&outs[winner].stdout).expect("the winner's report");
    assert_eq!(report["totals"]["created"], 2, "{report}");
    let mut per_volume: Vec<&str> = made.iter().map(|s| s.volume_id.as_str()).collect();
    per_volume.sort_unstable();
    per_volume.dedup();
    assert_eq!((made.len(), per_volume.len()), (2, 2), "one snapshot a volume: {made:#?}");
}

/// Issue 20, item 16: Cinder gives the admin view only to admins (volumes with
/// `os-vol-host-attr:host`): a member's `--all-projects` is refused (library:
/// `Error::AdminViewRequired`; the tool: exit 2 naming context_is_admin) before anything is
/// made; the admin's run over a member's volume makes its snapshot in the ADMIN's project
/// (`os-extended-snapshot-attributes:project_id`), where the member does not see it.
#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn all_projects_needs_the_admin_view_and_the_snapshot_lands_in_the_callers_project() {
    require_cloud();
    let admin = client(MicroversionPolicy::Negotiate);
    let member = ServiceClientBuilder::from_vars(member_vars()).expect("member OS_* variables").build().expect("member client");
    let tag = format!("projects-{}", unique());
    let volumes = small_fleet(&member, &tag, 1);
    let policy = Policy::builder(tag.as_str()).keep_last(2).build().unwrap();
    let o = JobOpts::new(policy.clone())
        .select_tag("live-job", tag.as_str())
        .all_projects(true)
        .poll_interval(Duration::from_millis(200), Duration::from_secs(2))
        .timeout(Duration::from_secs(120));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_eq!(cinder_snapshots::volumes::admin_view(&member).unwrap(), Some(false));
        assert_eq!(cinder_snapshots::volumes::admin_view(&admin).unwrap(), Some(true));
        let err = job::run(&member, &o).unwrap_err();
        assert!(matches!(err, cinder_snapshots::Error::AdminViewRequired), "{err}");
        let out = Command::new(env!("CARGO_BIN_EXE_cinder-snapshots"))
            .args(["run", "--select", &format!("live-job={tag}"), "--all-projects", "--policy", &tag, "--keep-last", "2"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", std::env::temp_dir())
            .envs(member_vars())
            .output()
            .expect("run the tool");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("context_is_admin, role admin by default"), "{err}");
        let mine = snapshots::list_detail(&member, &ListOpts::new()).unwrap().all().unwrap();
        assert!(mine.iter().all(|s| !volumes.contains(&s.volume_id)), "nothing made: {mine:#?}");

        let report = job::run(&admin, &o).unwrap();
        assert!(report.is_success() && report.all_projects(), "{}", summary(&report));
        let id = report.volumes()[0].snapshot_id.clone().expect("a snapshot");
        let shown: Value = admin.send(Request::get(["snapshots", id.as_str()])).unwrap().json("snapshot").unwrap();
        let project = shown["snapshot"]["os-extended-snapshot-attributes:project_id"].as_str().unwrap_or_default().to_owned();
        eprintln!("live_job: the snapshot of the member's volume is in project {project}");
        assert_eq!(project, project_of(&admin), "in the caller's project");
        assert_ne!(project, project_of(&member), "not the volume's");
        let mine = snapshots::list_detail(&member, &ListOpts::new()).unwrap().all().unwrap();
        assert!(mine.iter().all(|s| s.id != id), "the member does not see it");
    }));
    let all = snapshots::list_detail(&admin, &ListOpts::new().all_projects(true)).and_then(|p| p.all()).unwrap_or_default();
    for s in all.iter().filter(|s| volumes.contains(&s.volume_id)) {
        let _ = snapshots::force_delete(&admin, &s.id);
        let _ = snapshots::wait_for_delete(&admin, &s.id, &quick());
    }
    for id in &volumes {
        let _ = member.send(Request::delete(["volumes", id.as_str()]));
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}

/// The Python of the local cloud's venv, whose `prometheus_client` (pinned in
/// scripts/local-cloud-constraints.txt, installed by `scripts/local-cloud up`) parses the
/// metrics file: `$LOCAL_CLOUD_VENV`, else `$LOCAL_CLOUD_DIR/venv`, else `.local-cloud/venv`.
fn prometheus_python() -> std::path::PathBuf {
    let venv = std::env::var_os("LOCAL_CLOUD_VENV").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("LOCAL_CLOUD_DIR").map_or_else(|| std::path::PathBuf::from(".local-cloud"), std::path::PathBuf::from).join("venv")
    });
    let python = venv.join("bin").join("python");
    assert!(python.exists(), "no {} (the local cloud's venv, with prometheus_client): run scripts/local-cloud up", python.display());
    python
}

/// Every sample of a metrics file as Prometheus' own Python parser reads it:
/// `(name, labels, value)`, the value as Python writes it (`inf` for `+Inf`). Panics when
/// the parser rejects the file.
fn parse_with_prometheus_client(path: &std::path::Path) -> Vec<(String, BTreeMap<String, String>, String)> {
    const SCRIPT: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(open(sys.argv[1], encoding='utf-8').read()):
    assert family.type == 'gauge', (family.name, family.type)
    assert family.documentation, family.name
    for s in family.samples:
        assert s.timestamp is None, s
        out.append([s.name, s.labels, repr(s.value)])
print(json.dumps(out))
"#;
    let out = Command::new(prometheus_python()).arg("-c").arg(SCRIPT).arg(path).output().expect("run python");
    assert!(out.status.success(), "prometheus_client rejected {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the parser's samples")
}

/// Metrics of real runs, parsed by `prometheus_client`'s text-format parser: a volume named
/// with `"`, `\` and a line feed comes back with exactly its name; a failed run keeps the
/// last success. Fails (does not skip) without a cloud or without the parser.
#[test]
#[ignore = "live: needs a real cloud (scripts/live-tests)"]
fn metrics_of_real_runs_parse_with_prometheus_client() {
    require_cloud();
    let python = prometheus_python();
    let num = |v: &str| v.parse::<f64>().unwrap_or_else(|e| panic!("{v:?} is not a number: {e}"));
    let admin = client(MicroversionPolicy::Negotiate);
    let tag = unique();
    let hostile = format!("metrics \"quoted\" back\\slash\nsecond line {tag}");
    struct Made(ServiceClient, Vec<String>);
    impl Drop for Made {
        fn drop(&mut self) {
            let snaps = snapshots::list_detail(&self.0, &ListOpts::new()).and_then(|p| p.all()).unwrap_or_default();
            for s in snaps.iter().filter(|s| self.1.contains(&s.volume_id)) {
                let _ = snapshots::delete(&self.0, &s.id);
                let _ = snapshots::wait_for_delete(&self.0, &s.id, &quick());
            }
            for id in &self.1 {
                let _ = cinder_snapshots::volumes::delete(&self.0, id);
            }
        }
    }
    let mut made = Made(admin.clone(), Vec::new());
    for name in [hostile.as_str(), "metrics-plain"] {
        let opts = cinder_snapshots::volumes::CreateOpts::new(1).name(name).metadata("live-metrics", tag.as_str());
        let v = cinder_snapshots::volumes::create(&admin, &opts).expect("create volume");
        made.1.push(v.id.clone());
        let wait = cinder_snapshots::volumes::WaitOpts::new().timeout(Duration::from_secs(60));
        cinder_snapshots::volumes::wait_for_status(&admin, &v.id, cinder_snapshots::volumes::VolumeStatus::Available, &wait)
            .expect("available");
    }
    let dir = std::env::temp_dir().join(format!("live-metrics-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let (file, state) = (dir.join("job.prom"), dir.join("state"));
    let policy = Policy::builder(format!("metrics-{tag}")).keep_daily(2).build().unwrap();
    let now = OffsetDateTime::now_utc();
    let o = JobOpts::new(policy.clone())
        .select_tag("live-metrics", tag.as_str())
        .now(now)
        .poll_interval(Duration::from_millis(200), Duration::from_secs(2))
        .timeout(Duration::from_secs(120));
    let outcome = job::run(&admin, &o);
    assert!(outcome.as_ref().is_ok_and(JobReport::is_success), "{:?}", outcome.as_ref().map(summary));
    job::MetricsFile::new(&file).state_dir(&state).write_run(&admin, &o, outcome.as_ref()).unwrap();
    let samples = parse_with_prometheus_client(&file);
    let find = |name: &str| samples.iter().filter(|(n, _, _)| n == name).collect::<Vec<_>>();
    let success = find("cinder_snapshots_last_success_timestamp_seconds");
    assert_eq!(success.len(), 1, "{samples:?}");
    assert_eq!(num(&success[0].2), now.unix_timestamp() as f64);
    assert_eq!(success[0].1["policy"], policy.id());
    let newest = find("cinder_snapshots_newest_snapshot_timestamp_seconds");
    let mut names: Vec<&str> = newest.iter().map(|(_, l, _)| l["volume_name"].as_str()).collect();
    names.sort();
    assert_eq!(names, [hostile.as_str(), "metrics-plain"], "{samples:?}");
    assert!(newest.iter().all(|(_, _, v)| num(v) > 0.0), "{newest:?}");
    assert_eq!(num(&find("cinder_snapshots_metrics_complete")[0].2), 1.0);
    assert!(!find("cinder_snapshots_quota_free_snapshots").is_empty(), "{samples:?}");

    // The report on the real cloud: each volume's one snapshot, and the quota read from
    // Cinder's quota set (the admin's project: known, so judged).
    let report = job::report(&admin, &job::ReportOpts::new(policy.clone()).select_tag("live-metrics", tag.as_str())).unwrap();
    assert_eq!(report.volumes.iter().map(|v| (v.snapshots, v.gib, v.newest.is_some())).collect::<Vec<_>>(), [(1, 1, true), (1, 1, true)]);
    assert_eq!(report.steady_count, Some(2));
    assert!(report.quota.iter().all(|q| q.needed == Some(6) && q.held == 2 && q.fits.is_some()), "{:?}", report.quota);

    // A failed run (a volume that does not exist): the parser still reads it, the last
    // success is the first run's.
    let failing = o.clone().selection(job::Selection::new().volume(format!("no-such-volume-{tag}"))).now(now + Duration::from_secs(90));
    let outcome = job::run(&admin, &failing);
    assert!(!outcome.as_ref().is_ok_and(JobReport::is_success));
    job::MetricsFile::new(&file).state_dir(&state).write_run(&admin, &failing, outcome.as_ref()).unwrap();
    let samples = parse_with_prometheus_client(&file);
    let value = |name: &str| samples.iter().find(|(n, _, _)| n == name).map(|(_, _, v)| num(v)).unwrap();
    assert_eq!(value("cinder_snapshots_last_success_timestamp_seconds"), now.unix_timestamp() as f64);
    assert_eq!(value("cinder_snapshots_last_run_success"), 0.0);
    assert_eq!(value("cinder_snapshots_last_run_timestamp_seconds"), (now.unix_timestamp() + 90) as f64);
    drop(python);
    let _ = std::fs::remove_dir_all(&dir);
}

//! Property tests of `retention::plan` over generated histories, and its equivalence with an
//! independent implementation of restic's `forget` algorithm.
//!
//! No extra dependency: histories come from a small deterministic generator (SplitMix64), so
//! a failure names its case number and seed and reproduces exactly. The reference below
//! computes calendar periods with its own integer arithmetic (days since the epoch to a civil
//! date, ISO weeks from the Thursday of the week), not with the `time` crate, and applies
//! restic's rules set by set instead of restic's single counting walk.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cinder_snapshots::retention::{self, Action, Plan, Policy, PolicyBuilder, PolicyError, Reason};
use cinder_snapshots::snapshots::{Snapshot, SnapshotStatus};
use serde_json::json;
use time::macros::datetime;
use time::{OffsetDateTime, UtcOffset};

// ---------------------------------------------------------------------------------------------
// A deterministic generator.

/// SplitMix64: small, fast, and good enough to spread test cases.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// `true` with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

const POLICY_ID: &str = "nightly";

/// Offsets used both for the snapshots' own timestamps and for the policies' calendars.
fn offsets() -> Vec<UtcOffset> {
    [(0, 0), (2, 0), (-5, 0), (5, 45), (14, 0), (-12, 0), (0, 30), (-9, -30)]
        .into_iter()
        .map(|(h, m)| UtcOffset::from_hms(h, m, 0).unwrap())
        .collect()
}

fn template() -> Snapshot {
    serde_json::from_value(json!({"id": "t", "volume_id": "v", "status": "available"})).unwrap()
}

/// One snapshot with the given fields; `owner` is the value of the ownership label.
fn snapshot(id: &str, volume: &str, created: Option<OffsetDateTime>, status: SnapshotStatus, owner: Option<&str>) -> Snapshot {
    let mut s = template();
    s.id = id.to_owned();
    s.volume_id = volume.to_owned();
    s.created_at = created;
    s.status = status;
    if let Some(owner) = owner {
        s.metadata.insert(retention::POLICY_KEY.to_owned(), owner.to_owned());
        s.metadata.insert(retention::RUN_AT_KEY.to_owned(), "2026-01-01T00:00:00Z".to_owned());
    }
    s
}

/// A generated case: snapshots of up to 3 volumes around `now`.
struct Case {
    now: OffsetDateTime,
    snapshots: Vec<Snapshot>,
}

/// Unix seconds of 1900-01-01 and 2100-01-01.
const MIN_NOW: i64 = -2_208_988_800;
const MAX_NOW: i64 = 4_102_444_800;

struct Gen {
    rng: Rng,
    offsets: Vec<UtcOffset>,
    next_id: u64,
}

impl Gen {
    fn new(seed: u64) -> Self {
        Gen { rng: Rng::new(seed), offsets: offsets(), next_id: 0 }
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        // Random-looking prefixes, so that id order is not time order; a counter keeps them unique.
        format!("{:04x}-{}", self.rng.below(0x10000), self.next_id)
    }

    fn at(&mut self, unix: i64, nanos: u32) -> OffsetDateTime {
        let offset = self.rng.pick(&self.offsets);
        (OffsetDateTime::from_unix_timestamp(unix).unwrap() + time::Duration::nanoseconds(i64::from(nanos))).to_offset(offset)
    }

    /// A time before `now`, spread on a scale from minutes to years so that periods collide.
    fn past(&mut self, now: i64) -> i64 {
        let scale = self.rng.pick(&[60, 3600, 6 * 3600, 86_400, 7 * 86_400, 31 * 86_400, 366 * 86_400]);
        let k = self.rng.range(0, 40);
        let t = now - self.rng.range(0, scale * k);
        // Whole hours half of the time, so that keep_within's edge (newest - d) is hit exactly.
        if self.rng.chance(50) { t - t.rem_euclid(3600) } else { t }
    }

    fn status(&mut self) -> SnapshotStatus {
        if self.rng.chance(85) {
            SnapshotStatus::Available
        } else {
            self.rng.pick(&[
                SnapshotStatus::Creating,
                SnapshotStatus::Error,
                SnapshotStatus::Deleting,
                SnapshotStatus::ErrorDeleting,
                SnapshotStatus::BackingUp,
                SnapshotStatus::Other("frozen".into()),
            ])
        }
    }

    fn owner(&mut self) -> Option<&'static str> {
        match self.rng.below(10) {
            0 => None,
            1 => Some("other-policy"),
            _ => Some(POLICY_ID),
        }
    }

    fn case(&mut self) -> Case {
        let now_unix = self.rng.range(MIN_NOW + 100 * 366 * 86_400, MAX_NOW - 86_400);
        let now = OffsetDateTime::from_unix_timestamp(now_unix).unwrap();
        let mut snapshots = Vec::new();
        for v in 0..self.rng.range(1, 3) {
            let volume = format!("vol-{v}");
            let mut times: Vec<i64> = Vec::new();
            for _ in 0..self.rng.range(0, 30) {
                let unix = match self.rng.below(20) {
                    0 => now_unix + self.rng.range(1, 10 * 86_400),  // in the future
                    1 => now_unix,                                   // exactly now
                    2 if !times.is_empty() => self.rng.pick(&times), // the same second as another
                    _ => self.past(now_unix),
                };
                times.push(unix);
                let nanos = if self.rng.chance(20) { self.rng.below(1_000_000_000) as u32 } else { 0 };
                let created = if self.rng.chance(3) { None } else { Some(self.at(unix, nanos)) };
                let (id, status, owner) = (self.id(), self.status(), self.owner());
                snapshots.push(snapshot(&id, &volume, created, status, owner));
            }
        }
        self.rng.shuffle(&mut snapshots);
        Case { now, snapshots }
    }

    fn count(&mut self) -> u32 {
        match self.rng.below(10) {
            0..=5 => 0,
            6 | 7 => self.rng.range(1, 4) as u32,
            8 => self.rng.range(5, 40) as u32,
            _ => u32::MAX,
        }
    }

    fn within(&mut self) -> Option<Duration> {
        if !self.rng.chance(30) {
            return None;
        }
        Some(match self.rng.below(8) {
            0 => Duration::from_nanos(1),
            1 => Duration::from_secs(3600),
            2 => Duration::from_secs(86_400),
            3 => Duration::from_secs(3 * 86_400),
            4 => Duration::from_secs(30 * 86_400),
            5 => Duration::MAX,
            _ => Duration::new(self.rng.below(400 * 86_400), self.rng.below(1_000_000_000) as u32),
        })
    }

    /// A non-empty policy.
    fn policy(&mut self) -> Policy {
        loop {
            let mut b = Policy::builder(POLICY_ID)
                .keep_last(self.count())
                .keep_hourly(self.count())
                .keep_daily(self.count())
                .keep_weekly(self.count())
                .keep_monthly(self.count())
                .keep_yearly(self.count());
            if let Some(d) = self.within() {
                b = b.keep_within(d);
            }
            if !self.rng.chance(40) {
                let offset = self.rng.pick(&self.offsets);
                b = b.utc_offset(offset);
            }
            if let Ok(policy) = b.build() {
                return policy;
            }
        }
    }
}

/// Runs `check` on `cases` generated (case, policy) pairs; a failure names the case.
fn for_cases(seed: u64, cases: u32, mut check: impl FnMut(&mut Gen, &Case, &Policy)) {
    for n in 0..cases {
        let mut g = Gen::new(seed.wrapping_mul(1_000_003).wrapping_add(u64::from(n)));
        let case = g.case();
        let policy = g.policy();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&mut g, &case, &policy)));
        if let Err(e) = result {
            eprintln!("failing case: seed {seed}, case {n}, now {}, {policy}", case.now);
            for s in &case.snapshots {
                eprintln!("  {} {} {:?} {} {:?}", s.id, s.volume_id, s.created_at, s.status, s.metadata.get(retention::POLICY_KEY));
            }
            std::panic::resume_unwind(e);
        }
    }
}

const CASES: u32 = 2500;

// ---------------------------------------------------------------------------------------------
// Helpers over plans.

fn owned(s: &Snapshot) -> bool {
    s.metadata.get(retention::POLICY_KEY).is_some_and(|o| o == POLICY_ID)
}

/// Owned, available, dated and not after `now`: the snapshots the rules count.
fn counted(s: &Snapshot, now: OffsetDateTime) -> bool {
    owned(s) && s.status == SnapshotStatus::Available && s.created_at.is_some_and(|t| t <= now)
}

fn deleted_ids(plan: &Plan) -> BTreeSet<String> {
    plan.to_delete().map(|d| d.snapshot().id.clone()).collect()
}

fn kept_ids(plan: &Plan) -> BTreeSet<String> {
    plan.kept().map(|d| d.snapshot().id.clone()).collect()
}

fn reason_texts(reasons: &[Reason]) -> Vec<String> {
    reasons.iter().map(ToString::to_string).collect()
}

// ---------------------------------------------------------------------------------------------
// The reference: restic's documented algorithm, written independently.

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The period labels of a time in a calendar `offset_secs` east of UTC:
/// [hour, day, ISO week, month, year], as this crate writes them.
fn reference_periods(t: OffsetDateTime, offset_secs: i64) -> [String; 5] {
    let local = t.unix_timestamp() + offset_secs;
    let days = local.div_euclid(86_400);
    let hour = local.rem_euclid(86_400) / 3600;
    let (y, m, d) = civil_from_days(days);
    // ISO: Monday = 0; the week belongs to the year of its Thursday.
    let weekday = (days + 3).rem_euclid(7);
    let thursday = days - weekday + 3;
    let (iso_year, _, _) = civil_from_days(thursday);
    let week = (thursday - days_from_civil(iso_year, 1, 1)) / 7 + 1;
    [
        format!("{y:04}-{m:02}-{d:02}T{hour:02}"),
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{iso_year:04}-W{week:02}"),
        format!("{y:04}-{m:02}"),
        format!("{y:04}"),
    ]
}

/// restic's rules over the counted snapshots of one volume: the reasons of each snapshot id,
/// in this crate's order and wording.
///
/// For each calendar rule with count N: the distinct periods, newest first; the newest
/// snapshot of each of the first N periods is kept; when there are fewer than N periods, the
/// oldest snapshot is kept too (restic's "keep the oldest when a rule is short"), marked
/// "oldest" when its period already had a kept snapshot. keep_last N: the N newest.
/// keep_within d: strictly after newest - d, in exact integer nanoseconds.
fn reference(counted: &[&Snapshot], policy: &Policy) -> BTreeMap<String, Vec<String>> {
    let mut list: Vec<(i128, &str, OffsetDateTime)> =
        counted.iter().map(|s| (s.created_at.unwrap().unix_timestamp_nanos(), s.id.as_str(), s.created_at.unwrap())).collect();
    // Newest first; equal times: the smaller id first.
    list.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let mut reasons: BTreeMap<String, Vec<String>> = list.iter().map(|(_, id, _)| (id.to_string(), Vec::new())).collect();
    if list.is_empty() {
        return reasons;
    }

    for (rank, (_, id, _)) in list.iter().enumerate().take(policy.keep_last() as usize) {
        reasons.get_mut(*id).unwrap().push(format!("last {}", rank + 1));
    }

    let offset_secs = i64::from(policy.utc_offset().whole_seconds());
    let labels: Vec<[String; 5]> = list.iter().map(|(_, _, t)| reference_periods(*t, offset_secs)).collect();
    let rules = [
        ("hourly", policy.keep_hourly()),
        ("daily", policy.keep_daily()),
        ("weekly", policy.keep_weekly()),
        ("monthly", policy.keep_monthly()),
        ("yearly", policy.keep_yearly()),
    ];
    for (r, (name, count)) in rules.into_iter().enumerate() {
        if count == 0 {
            continue;
        }
        // The newest snapshot of each period, periods newest first.
        let mut periods: Vec<(String, usize)> = Vec::new();
        for (i, l) in labels.iter().enumerate() {
            if !periods.iter().any(|(p, _)| *p == l[r]) {
                periods.push((l[r].clone(), i));
            }
        }
        for (period, i) in periods.iter().take(count as usize) {
            reasons.get_mut(list[*i].1).unwrap().push(format!("{name} {period}"));
        }
        if periods.len() < count as usize {
            let oldest = list.len() - 1;
            if !periods.iter().any(|(_, i)| *i == oldest) {
                reasons.get_mut(list[oldest].1).unwrap().push(format!("oldest {name} {}", labels[oldest][r]));
            }
        }
    }

    if let Some(within) = policy.keep_within() {
        let newest = list[0].0;
        let span = within.as_nanos() as i128;
        for (t, id, _) in &list {
            if *t > newest - span {
                reasons.get_mut(*id).unwrap().push(format!("within {} of newest", retention::format_duration(within)));
            }
        }
    }

    reasons.get_mut(list[0].1).unwrap().push("newest".to_owned());
    reasons
}

/// What the plan must say about each snapshot: the reference's reasons for counted ones, the
/// exclusion reasons for the others.
fn expected_reasons(case: &Case, policy: &Policy) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let volumes: BTreeSet<&str> = case.snapshots.iter().map(|s| s.volume_id.as_str()).collect();
    for volume in volumes {
        let of_volume: Vec<&Snapshot> = case.snapshots.iter().filter(|s| s.volume_id == volume).collect();
        let judged: Vec<&Snapshot> = of_volume.iter().copied().filter(|s| counted(s, case.now)).collect();
        out.extend(reference(&judged, policy));
        for s in of_volume.iter().filter(|s| !counted(s, case.now)) {
            let mut why = Vec::new();
            if !owned(s) {
                why.push("not owned".to_owned());
            } else if s.status == SnapshotStatus::Error {
                // Holds no data: deleted with its own reason, whatever its date.
                why.push("in error: holds no data".to_owned());
            } else {
                if s.status != SnapshotStatus::Available {
                    why.push(format!("not available ({})", s.status));
                }
                match s.created_at {
                    None => why.push("no creation time".to_owned()),
                    Some(t) if t > case.now => why.push("dated in the future".to_owned()),
                    Some(_) => {}
                }
            }
            out.insert(s.id.clone(), why);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// Equivalence with restic: on every generated history and policy, every snapshot gets
/// exactly the reasons (hence the keep/delete decision) the independent reference gives:
/// same kept sets for keep_last, the calendar rules (with the oldest-kept rule) and
/// keep_within, same period names, same exclusions.
#[test]
fn plan_equals_the_restic_reference() {
    let mut deleted = 0usize;
    let mut oldest = 0usize;
    for_cases(1, CASES, |_, case, policy| {
        let plan = retention::plan(&case.snapshots, policy, case.now);
        let want = expected_reasons(case, policy);
        assert_eq!(plan.decisions().len(), case.snapshots.len());
        for d in plan.decisions() {
            let id = &d.snapshot().id;
            assert_eq!(reason_texts(d.reasons()), want[id], "reasons of {id}");
            assert_eq!(d.action() == Action::Delete, want[id].iter().all(|r| r == "in error: holds no data"), "action of {id}");
            oldest += d.reasons().iter().filter(|r| matches!(r, Reason::Calendar { oldest: true, .. })).count();
        }
        deleted += plan.to_delete().count();
    });
    // The generated cases do exercise deletions and the oldest rule.
    assert!(deleted > CASES as usize, "only {deleted} deletions");
    assert!(oldest > 100, "only {oldest} oldest reasons");
}

/// An empty policy is refused, whatever mix of unset rules and offset it is built from; any
/// single set rule makes it valid.
#[test]
fn empty_policy_is_refused() {
    let mut rng = Rng::new(2);
    let offsets = offsets();
    for _ in 0..CASES {
        let mut b: PolicyBuilder = Policy::builder(POLICY_ID).utc_offset(rng.pick(&offsets));
        let zeroes: [fn(PolicyBuilder) -> PolicyBuilder; 7] = [
            |b| b.keep_last(0),
            |b| b.keep_hourly(0),
            |b| b.keep_daily(0),
            |b| b.keep_weekly(0),
            |b| b.keep_monthly(0),
            |b| b.keep_yearly(0),
            |b| b.keep_within(Duration::ZERO),
        ];
        for _ in 0..rng.below(8) {
            b = rng.pick(&zeroes)(b);
        }
        assert_eq!(b.clone().build(), Err(PolicyError::Empty { id: POLICY_ID.to_owned() }));
        let n = rng.range(1, 1000) as u32;
        let one = match rng.below(7) {
            0 => b.keep_last(n),
            1 => b.keep_hourly(n),
            2 => b.keep_daily(n),
            3 => b.keep_weekly(n),
            4 => b.keep_monthly(n),
            5 => b.keep_yearly(n),
            _ => b.keep_within(Duration::from_nanos(u64::from(n))),
        };
        assert!(one.build().is_ok());
    }
    let err: cinder_snapshots::Error = Policy::builder(POLICY_ID).build().unwrap_err().into();
    assert!(matches!(err, cinder_snapshots::Error::Config(_)), "{err:?}");
}

/// Only owned snapshots are candidates: a snapshot without this policy's label (no label, or
/// another policy's) is never deleted and is reported as "not owned".
#[test]
fn non_owned_snapshots_are_never_deleted() {
    let mut seen = 0;
    for_cases(3, CASES, |_, case, policy| {
        let plan = retention::plan(&case.snapshots, policy, case.now);
        for d in plan.decisions().iter().filter(|d| !owned(d.snapshot())) {
            assert_eq!(d.action(), Action::Keep);
            assert_eq!(d.reasons(), [Reason::NotOwned]);
            seen += 1;
        }
    });
    assert!(seen > 1000);
}

/// The newest counted (owned, available, dated, not in the future) snapshot of every volume
/// is kept, with the reason "newest".
#[test]
fn newest_available_owned_snapshot_is_never_deleted() {
    for_cases(4, CASES, |_, case, policy| {
        let plan = retention::plan(&case.snapshots, policy, case.now);
        let mut newest: BTreeMap<&str, &Snapshot> = BTreeMap::new();
        for s in case.snapshots.iter().filter(|s| counted(s, case.now)) {
            let e = newest.entry(&s.volume_id).or_insert(s);
            if (s.created_at, std::cmp::Reverse(&s.id)) > (e.created_at, std::cmp::Reverse(&e.id)) {
                *e = s;
            }
        }
        for s in newest.values() {
            let d = plan.get(&s.id).unwrap();
            assert_eq!(d.action(), Action::Keep);
            assert!(d.reasons().contains(&Reason::Newest), "{:?}", d.reasons());
        }
        let newest_count = plan.decisions().iter().filter(|d| d.reasons().contains(&Reason::Newest)).count();
        assert_eq!(newest_count, newest.len());
    });
}

/// Owned snapshots in `error` are deleted with their own reason ("in error: holds no data").
/// Snapshots that are not counted (not `available`, undated, dated after `now`) are kept and
/// reported, and never counted: removing them all leaves every other decision unchanged.
#[test]
fn uncounted_snapshots_are_kept_reported_and_not_counted() {
    let mut seen = BTreeMap::<&str, usize>::new();
    for_cases(5, CASES, |_, case, policy| {
        let plan = retention::plan(&case.snapshots, policy, case.now);
        for d in plan.decisions().iter().filter(|d| owned(d.snapshot()) && !counted(d.snapshot(), case.now)) {
            let s = d.snapshot();
            if s.status == SnapshotStatus::Error {
                // Owned and in error: deleted with its own reason only.
                assert_eq!((d.action(), d.reasons()), (Action::Delete, &[Reason::InError][..]));
                *seen.entry("in error").or_default() += 1;
                continue;
            }
            assert_eq!(d.action(), Action::Keep);
            if s.status != SnapshotStatus::Available {
                assert!(d.reasons().contains(&Reason::NotAvailable(s.status.clone())));
                *seen.entry("not available").or_default() += 1;
            }
            match s.created_at {
                None => {
                    assert!(d.reasons().contains(&Reason::NoCreationTime));
                    *seen.entry("undated").or_default() += 1;
                }
                Some(t) if t > case.now => {
                    assert!(d.reasons().contains(&Reason::FutureDated));
                    *seen.entry("future").or_default() += 1;
                }
                Some(_) => {}
            }
        }
        let only_counted: Vec<Snapshot> = case.snapshots.iter().filter(|s| counted(s, case.now) || !owned(s)).cloned().collect();
        let without = retention::plan(&only_counted, policy, case.now);
        let with: Vec<_> = plan.decisions().iter().filter(|d| counted(d.snapshot(), case.now) || !owned(d.snapshot())).collect();
        assert_eq!(with, without.decisions().iter().collect::<Vec<_>>());
    });
    assert!(seen.values().all(|n| *n > 100) && seen.len() == 4, "{seen:?}");
}

/// Deterministic: the same snapshots in another order give the same plan, ordered by volume,
/// then creation time (newest first, undated last), then id.
#[test]
fn plan_is_deterministic_and_ordered() {
    for_cases(6, CASES, |g, case, policy| {
        let plan = retention::plan(&case.snapshots, policy, case.now);
        let mut shuffled = case.snapshots.clone();
        g.rng.shuffle(&mut shuffled);
        assert_eq!(retention::plan(&shuffled, policy, case.now), plan);
        let keys: Vec<_> = plan
            .decisions()
            .iter()
            .map(|d| (d.snapshot().volume_id.clone(), std::cmp::Reverse(d.snapshot().created_at), d.snapshot().id.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    });
}

/// Idempotent: planning again on what a plan keeps deletes nothing.
#[test]
fn plan_is_idempotent() {
    for_cases(7, CASES, |_, case, policy| {
        let plan = retention::plan(&case.snapshots, policy, case.now);
        let kept: Vec<Snapshot> = plan.kept().map(|d| d.snapshot().clone()).collect();
        let again = retention::plan(&kept, policy, case.now);
        assert_eq!(again.to_delete().count(), 0, "{:?}", deleted_ids(&again));
        assert_eq!(kept_ids(&again), kept_ids(&plan));
    });
}

/// Adding a snapshot newer than every other counted one of its volume never keeps a snapshot
/// that was deleted without it: deleted(H) ⊆ deleted(H + newer). (It holds literally under
/// restic's model: the new snapshot only adds a period at the newest end, which can push the
/// oldest kept period out of a rule, never bring one back; it moves the keep_within window
/// forward; it takes keep_last's first place; and a rule that was short stays short or fills
/// up, so the oldest kept in addition can only lose that reason.)
#[test]
fn a_newer_snapshot_never_resurrects_a_deleted_one() {
    let mut resurrect_checks = 0usize;
    let mut skipped = 0usize;
    for_cases(8, CASES, |g, case, policy| {
        let volume = g.rng.pick(&["vol-0", "vol-1", "vol-2"]);
        let newest_at = |now| case.snapshots.iter().filter(|s| s.volume_id == volume && counted(s, now)).filter_map(|s| s.created_at).max();
        // Strictly newer, possibly in a new period; `now` moves to it when it is later.
        let gap = g.rng.pick(&[1, 60, 3600, 86_400, 8 * 86_400, 40 * 86_400, 400 * 86_400]);
        let at = match newest_at(case.now) {
            Some(t) => t + time::Duration::seconds(g.rng.range(1, gap)),
            None => case.now - time::Duration::seconds(g.rng.range(0, gap)),
        };
        let now = case.now.max(at);
        // A later `now` counts snapshots that were in the future: the new one must still be
        // newer than all of them.
        if newest_at(now).is_some_and(|t| t >= at) {
            skipped += 1;
            return;
        }
        let before = deleted_ids(&retention::plan(&case.snapshots, policy, now));
        let mut grown = case.snapshots.clone();
        grown.push(snapshot("zz-newer", volume, Some(at), SnapshotStatus::Available, Some(POLICY_ID)));
        let after = deleted_ids(&retention::plan(&grown, policy, now));
        assert!(before.is_subset(&after), "resurrected: {:?}", before.difference(&after).collect::<Vec<_>>());
        resurrect_checks += before.len();
    });
    assert!(resurrect_checks > 1000 && skipped < CASES as usize / 10, "{resurrect_checks} checks, {skipped} skipped");
}

/// Pruning after every new snapshot (a schedule that deletes what each run's plan deletes)
/// keeps exactly what one plan over the whole history keeps.
#[test]
fn pruning_every_run_equals_pruning_once() {
    for_cases(9, CASES / 4, |g, _, policy| {
        let volume = "vol-0";
        let mut t = OffsetDateTime::from_unix_timestamp(g.rng.range(0, 2_000_000_000)).unwrap();
        let mut all: Vec<Snapshot> = Vec::new();
        let mut live: Vec<Snapshot> = Vec::new();
        // A hand-made snapshot and a failed one along the way.
        for _ in 0..g.rng.range(1, 60) {
            let gap = g.rng.pick(&[0, 1, 600, 3600, 20_000, 86_400, 3 * 86_400, 9 * 86_400, 35 * 86_400]);
            t += time::Duration::seconds(g.rng.range(gap / 2, gap));
            let id = g.id();
            let status = if g.rng.chance(5) { SnapshotStatus::Error } else { SnapshotStatus::Available };
            let owner = if g.rng.chance(5) { None } else { Some(POLICY_ID) };
            let s = snapshot(&id, volume, Some(t), status, owner);
            all.push(s.clone());
            live.push(s);
            let run = retention::plan(&live, policy, t);
            live = run.kept().map(|d| d.snapshot().clone()).collect();
        }
        let once = retention::plan(&all, policy, t);
        let live_ids: BTreeSet<String> = live.iter().map(|s| s.id.clone()).collect();
        assert_eq!(live_ids, kept_ids(&once));
    });
}

// ---------------------------------------------------------------------------------------------
// The calendar: boundaries, leap days, ISO week 53, offsets.

/// The calendar reasons of a lone owned snapshot at `t` under a policy keeping one of every
/// period, in the given offset.
fn periods_of(t: OffsetDateTime, offset: UtcOffset) -> Vec<String> {
    let policy = Policy::builder(POLICY_ID)
        .keep_hourly(1)
        .keep_daily(1)
        .keep_weekly(1)
        .keep_monthly(1)
        .keep_yearly(1)
        .utc_offset(offset)
        .build()
        .unwrap();
    let s = snapshot("a", "v", Some(t), SnapshotStatus::Available, Some(POLICY_ID));
    let plan = retention::plan(&[s], &policy, datetime!(9999-01-01 00:00 UTC));
    let mut texts = reason_texts(plan.decisions()[0].reasons());
    assert_eq!(texts.pop().as_deref(), Some("newest"));
    texts
}

#[test]
fn calendar_boundaries_leap_days_and_iso_week_53() {
    let utc = UtcOffset::UTC;
    let cases = [
        // ISO week 53 and the ISO week-numbering year.
        (datetime!(2020-12-31 12:00 UTC), utc, ["2020-12-31T12", "2020-12-31", "2020-W53", "2020-12", "2020"]),
        (datetime!(2021-01-03 23:59:59 UTC), utc, ["2021-01-03T23", "2021-01-03", "2020-W53", "2021-01", "2021"]),
        (datetime!(2021-01-04 00:00 UTC), utc, ["2021-01-04T00", "2021-01-04", "2021-W01", "2021-01", "2021"]),
        (datetime!(2027-01-01 00:00 UTC), utc, ["2027-01-01T00", "2027-01-01", "2026-W53", "2027-01", "2027"]),
        (datetime!(2019-12-30 00:00 UTC), utc, ["2019-12-30T00", "2019-12-30", "2020-W01", "2019-12", "2019"]),
        (datetime!(2026-11-27 13:00 UTC), utc, ["2026-11-27T13", "2026-11-27", "2026-W48", "2026-11", "2026"]),
        // Leap days: 2024 and 2000 have one, 1900 and 2100 do not.
        (datetime!(2024-02-29 23:59:59.999 UTC), utc, ["2024-02-29T23", "2024-02-29", "2024-W09", "2024-02", "2024"]),
        (datetime!(2000-02-29 00:00 UTC), utc, ["2000-02-29T00", "2000-02-29", "2000-W09", "2000-02", "2000"]),
        (datetime!(1900-02-28 23:00 UTC) + time::Duration::hours(1), utc, ["1900-03-01T00", "1900-03-01", "1900-W09", "1900-03", "1900"]),
        (datetime!(2100-02-28 23:00 UTC) + time::Duration::hours(1), utc, ["2100-03-01T00", "2100-03-01", "2100-W09", "2100-03", "2100"]),
        // Month and year ends.
        (datetime!(2026-04-30 23:59:59 UTC), utc, ["2026-04-30T23", "2026-04-30", "2026-W18", "2026-04", "2026"]),
        (datetime!(2026-12-31 23:59:59 UTC), utc, ["2026-12-31T23", "2026-12-31", "2026-W53", "2026-12", "2026"]),
        // Fixed offsets move a snapshot across a day, a month, a year boundary.
        (
            datetime!(2026-12-31 10:00 UTC),
            UtcOffset::from_hms(14, 0, 0).unwrap(),
            ["2027-01-01T00", "2027-01-01", "2026-W53", "2027-01", "2027"],
        ),
        (
            datetime!(2027-01-01 11:00 UTC),
            UtcOffset::from_hms(-12, 0, 0).unwrap(),
            ["2026-12-31T23", "2026-12-31", "2026-W53", "2026-12", "2026"],
        ),
        (
            datetime!(2026-02-28 22:30 UTC),
            UtcOffset::from_hms(2, 0, 0).unwrap(),
            ["2026-03-01T00", "2026-03-01", "2026-W09", "2026-03", "2026"],
        ),
        (
            datetime!(2024-03-01 03:00 UTC),
            UtcOffset::from_hms(-5, 0, 0).unwrap(),
            ["2024-02-29T22", "2024-02-29", "2024-W09", "2024-02", "2024"],
        ),
        (
            datetime!(2026-11-27 18:15 UTC),
            UtcOffset::from_hms(5, 45, 0).unwrap(),
            ["2026-11-28T00", "2026-11-28", "2026-W48", "2026-11", "2026"],
        ),
        // The snapshot's own offset does not matter, only the instant.
        (datetime!(2026-11-28 01:00 +02:00), utc, ["2026-11-27T23", "2026-11-27", "2026-W48", "2026-11", "2026"]),
    ];
    for (t, offset, want) in cases {
        let want: Vec<String> =
            ["hourly", "daily", "weekly", "monthly", "yearly"].iter().zip(want).map(|(rule, p)| format!("{rule} {p}")).collect();
        assert_eq!(periods_of(t, offset), want, "{t} in {offset}");
    }
}

/// The calendar against the reference's integer arithmetic, on random instants from 1900 to
/// 2100 and random offsets (every day boundary, leap day and week 53 of two centuries is
/// reachable).
#[test]
fn calendar_matches_the_reference_arithmetic() {
    let mut rng = Rng::new(10);
    let offsets = offsets();
    for _ in 0..20 * CASES {
        let unix = rng.range(MIN_NOW, MAX_NOW);
        let t = OffsetDateTime::from_unix_timestamp(unix).unwrap().to_offset(rng.pick(&offsets));
        let offset =
            if rng.chance(50) { rng.pick(&offsets) } else { UtcOffset::from_whole_seconds(rng.range(-93_599, 93_599) as i32).unwrap() };
        let want = reference_periods(t, i64::from(offset.whole_seconds()));
        let want: Vec<String> =
            ["hourly", "daily", "weekly", "monthly", "yearly"].iter().zip(want).map(|(rule, p)| format!("{rule} {p}")).collect();
        assert_eq!(periods_of(t, offset), want, "{t} in {offset}");
    }
}

/// Extreme values never panic: keep_within of `Duration::MAX` and of durations past the
/// calendar, times at the ends of the calendar's range, offsets that push them past it.
#[test]
fn extreme_times_and_durations_do_not_panic() {
    let edges = [
        OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT),
        OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT) + time::Duration::hours(23),
        datetime!(-9999-01-01 00:00 +25:59:59),
        datetime!(9999-12-31 23:59:59.999999999 -25:59:59),
        datetime!(1970-01-01 00:00 UTC),
    ];
    let offsets = [UtcOffset::UTC, UtcOffset::from_hms(25, 59, 59).unwrap(), UtcOffset::from_hms(-25, -59, -59).unwrap()];
    let withins = [
        Duration::MAX,
        Duration::from_secs(u64::MAX),
        Duration::from_secs(i64::MAX as u64),
        Duration::from_secs(400 * 366 * 86_400 * 100),
        Duration::from_nanos(1),
    ];
    let snapshots: Vec<Snapshot> = edges
        .iter()
        .enumerate()
        .map(|(i, t)| snapshot(&format!("e{i}"), "v", Some(*t), SnapshotStatus::Available, Some(POLICY_ID)))
        .collect();
    for offset in offsets {
        for within in withins {
            let policy = Policy::builder(POLICY_ID)
                .keep_last(1)
                .keep_hourly(2)
                .keep_daily(2)
                .keep_weekly(u32::MAX)
                .keep_monthly(2)
                .keep_yearly(2)
                .keep_within(within)
                .utc_offset(offset)
                .build()
                .unwrap();
            for now in [edges[0], edges[1], edges[4]] {
                let plan = retention::plan(&snapshots, &policy, now);
                assert_eq!(plan.decisions().len(), snapshots.len());
                let json = serde_json::to_string(&plan).unwrap();
                assert!(json.contains("\"decisions\""));
                if within >= Duration::from_secs(i64::MAX as u64) {
                    // Beyond any representable span: everything counted is within.
                    assert_eq!(plan.to_delete().count(), 0);
                }
            }
        }
    }
}

/// A history of one volume as the issue describes it: owned nightly snapshots, a hand-made
/// one, a failed one and one still being created; the plan's table.
#[test]
fn worked_history_reads_as_expected() {
    let policy =
        Policy::builder(POLICY_ID).keep_last(2).keep_daily(4).keep_monthly(2).keep_within(Duration::from_secs(36 * 3600)).build().unwrap();
    let own = Some(POLICY_ID);
    let at = |s: &str| Some(OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap());
    let history = vec![
        snapshot("n30", "vol", at("2026-11-30T02:00:00Z"), SnapshotStatus::Creating, own),
        snapshot("n29", "vol", at("2026-11-29T02:00:00Z"), SnapshotStatus::Available, own),
        snapshot("x28", "vol", at("2026-11-28T15:00:00Z"), SnapshotStatus::Available, own),
        snapshot("n28", "vol", at("2026-11-28T02:00:00Z"), SnapshotStatus::Available, own),
        snapshot("hand", "vol", at("2026-11-27T09:00:00Z"), SnapshotStatus::Available, None),
        snapshot("n27", "vol", at("2026-11-27T02:00:00Z"), SnapshotStatus::Error, own),
        snapshot("n26", "vol", at("2026-11-26T02:00:00Z"), SnapshotStatus::Available, own),
        snapshot("n25", "vol", at("2026-11-25T02:00:00Z"), SnapshotStatus::Available, own),
        snapshot("n24", "vol", at("2026-11-24T02:00:00Z"), SnapshotStatus::Available, own),
        snapshot("o31", "vol", at("2026-10-31T02:00:00Z"), SnapshotStatus::Available, own),
        snapshot("o30", "vol", at("2026-10-30T02:00:00Z"), SnapshotStatus::Available, own),
        snapshot("s30", "vol", at("2026-09-30T02:00:00Z"), SnapshotStatus::Available, own),
    ];
    let plan = retention::plan(&history, &policy, datetime!(2026-11-29 12:00 UTC));
    let table: Vec<String> =
        plan.decisions().iter().map(|d| format!("{} {} {}", d.snapshot().id, d.action(), d.reasons_text()).trim_end().to_owned()).collect();
    assert_eq!(
        table,
        [
            "n30 keep not available (creating), dated in the future",
            "n29 keep last 1, daily 2026-11-29, monthly 2026-11, within 1d12h of newest, newest",
            "x28 keep last 2, daily 2026-11-28, within 1d12h of newest",
            "n28 keep within 1d12h of newest",
            "hand keep not owned",
            "n27 delete in error: holds no data",
            "n26 keep daily 2026-11-26",
            "n25 keep daily 2026-11-25",
            "n24 delete",
            "o31 keep monthly 2026-10",
            "o30 delete",
            "s30 delete",
        ]
    );
}

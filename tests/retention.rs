//! Property tests of `retention::plan` over generated histories, and its equivalence with an
//! independent implementation of restic's `forget` algorithm.
//!
//! No extra dependency: histories come from a small deterministic generator (SplitMix64), so
//! a failure names its case number and seed and reproduces exactly. The reference below
//! computes calendar periods with its own integer arithmetic (days since the epoch to a civil
//! date, ISO weeks from the Thursday of the week), not with the `time` crate, and applies
//! restic's rules set by set instead of restic's single counting walk.

use std::collections::{BTreeMap, BTreeSet};

use cinder_snapshots::duration::CalendarDuration;
use cinder_snapshots::retention::{self, Action, Count, Plan, Policy, PolicyBuilder, PolicyError, Reason};
use cinder_snapshots::snapshots::{Snapshot, SnapshotStatus};
use cinder_snapshots::tz::Calendar;
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
    /// Whether keep_within durations may have months. Months make restic's cutoff
    /// non-monotonic in the anchor (2026-03-31 - 1m = 2026-03-03, but 2026-04-01 - 1m =
    /// 2026-03-01: see `months_make_the_cutoff_non_monotonic`), so the properties that move
    /// the anchor forward are checked without them.
    months: bool,
}

impl Gen {
    fn new(seed: u64) -> Self {
        Gen { rng: Rng::new(seed), offsets: offsets(), next_id: 0, months: true }
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
                let mut s = snapshot(&id, &volume, created, status, owner);
                if self.rng.chance(6) {
                    s.metadata.insert(retention::PIN_KEY.to_owned(), "kept for the audit".to_owned());
                }
                snapshots.push(s);
            }
        }
        self.rng.shuffle(&mut snapshots);
        Case { now, snapshots }
    }

    fn count(&mut self) -> Count {
        match self.rng.below(20) {
            0..=11 => Count::Limited(0),
            12..=15 => Count::Limited(self.rng.range(1, 4) as u32),
            16 | 17 => Count::Limited(self.rng.range(5, 40) as u32),
            18 => Count::Limited(u32::MAX),
            _ => Count::Unlimited,
        }
    }

    /// A calendar duration or none (30%), months only when `self.months`.
    fn within(&mut self, percent: u64) -> Option<CalendarDuration> {
        if !self.rng.chance(percent) {
            return None;
        }
        let months = |g: &mut Gen, n: u32| if g.months { n } else { 0 };
        let d = match self.rng.below(9) {
            0 => CalendarDuration::hours(1),
            1 => CalendarDuration::days(1),
            2 => CalendarDuration::days(3),
            3 => CalendarDuration::months(months(self, 1)),
            4 => CalendarDuration::years(1),
            5 => CalendarDuration::years(1_000_000),
            _ => {
                let m = self.rng.range(0, 14) as u32;
                CalendarDuration::new(
                    self.rng.range(0, 2) as u32,
                    months(self, m),
                    self.rng.range(0, 40) as u32,
                    self.rng.range(0, 48) as u32,
                )
            }
        };
        Some(d)
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
            if let Some(d) = self.within(30) {
                b = b.keep_within(d);
            }
            let setters: [fn(PolicyBuilder, CalendarDuration) -> PolicyBuilder; 5] = [
                |b, d| b.keep_within_hourly(d),
                |b, d| b.keep_within_daily(d),
                |b, d| b.keep_within_weekly(d),
                |b, d| b.keep_within_monthly(d),
                |b, d| b.keep_within_yearly(d),
            ];
            for set in setters {
                if let Some(d) = self.within(12) {
                    b = set(b, d);
                }
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
fn for_cases(seed: u64, cases: u32, check: impl FnMut(&mut Gen, &Case, &Policy)) {
    for_cases_with(seed, cases, true, check);
}

/// [`for_cases`], keep_within durations with months or not.
fn for_cases_with(seed: u64, cases: u32, months: bool, mut check: impl FnMut(&mut Gen, &Case, &Policy)) {
    for n in 0..cases {
        let mut g = Gen::new(seed.wrapping_mul(1_000_003).wrapping_add(u64::from(n)));
        g.months = months;
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
fn pinned(s: &Snapshot) -> bool {
    s.metadata.contains_key(retention::PIN_KEY)
}

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

/// A calendar duration as the crate writes it (restic's `Duration.String`): the non-zero
/// parts among y, m, d, h in that order.
fn reference_duration(d: CalendarDuration) -> String {
    let (y, m, dd, h) = d.parts();
    [(y, "y"), (m, "m"), (dd, "d"), (h, "h")].iter().filter(|(n, _)| *n > 0).map(|(n, u)| format!("{n}{u}")).collect()
}

/// RFC 3339 in UTC, whole seconds (floor), by integer arithmetic.
fn reference_rfc3339(nanos: i128) -> String {
    let secs = nanos.div_euclid(1_000_000_000) as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", sod / 3600, sod % 3600 / 60, sod % 60)
}

/// restic's keep-within cutoff, as its `snapshot_policy.go` computes it: `latest.AddDate(-y,
/// -m, -d).Add(-h hours)`, Go's `AddDate` normalising a day past the month's end into the
/// next month (March 31st - 1m = "February 31st" = March 3rd, or 2nd in a leap year). In the
/// local time of a fixed offset `offset_secs`, in nanoseconds. `None` when the result leaves
/// the years -9999 to 9999 (the crate's calendar: then everything is within).
fn reference_cutoff(anchor: i128, d: CalendarDuration, offset_secs: i64) -> Option<i128> {
    let (years, months, days, hours) = d.parts();
    let local = anchor + i128::from(offset_secs) * 1_000_000_000;
    let day_nanos = 86_400i128 * 1_000_000_000;
    let day = local.div_euclid(day_nanos) as i64;
    let time_of_day = local.rem_euclid(day_nanos);
    let (y, m, dd) = civil_from_days(day);
    let total_months = y * 12 + (m - 1) - i64::from(years) * 12 - i64::from(months);
    let (ny, nm) = (total_months.div_euclid(12), total_months.rem_euclid(12) + 1);
    if !(-9999..=9999).contains(&ny) {
        return None;
    }
    let new_day = days_from_civil(ny, nm, 1) + (dd - 1) - i64::from(days);
    let (cy, _, _) = civil_from_days(new_day);
    let cut =
        i128::from(new_day) * day_nanos + time_of_day - i128::from(offset_secs) * 1_000_000_000 - i128::from(hours) * 3_600_000_000_000;
    let (uy, _, _) = civil_from_days(cut.div_euclid(day_nanos) as i64);
    ((-9999..=9999).contains(&cy) && (-9999..=9999).contains(&uy)).then_some(cut)
}

const RULE_NAMES: [&str; 5] = ["hourly", "daily", "weekly", "monthly", "yearly"];
const UNITS: [&str; 5] = ["hours", "days", "weeks", "months", "years"];

/// restic's rules over the counted snapshots of one volume: the reasons of each snapshot id,
/// in this crate's order and wording, for kept and for deleted snapshots.
///
/// The facts come from restic's `internal/restic/snapshot_policy.go` (now
/// `internal/data/snapshot_policy.go`), read, not copied; this is a set-by-set rewrite:
/// - keep_last N: the N newest (unlimited: all).
/// - Each calendar rule with count N: the distinct periods, newest first; the newest snapshot
///   of each of the first N periods is kept (unlimited: every period); when there are fewer
///   than N periods (always, for unlimited), the oldest snapshot is kept too, marked "oldest"
///   when its period already had a kept snapshot.
/// - The anchor is the newest snapshot strictly before `now` (`findLatestTimestamp`); with
///   none, every snapshot is within (restic compares with the zero time).
/// - keep_within d: strictly after `reference_cutoff(anchor, d)`.
/// - keep_within_<period> d: among the snapshots within d, the newest of each period, and the
///   oldest snapshot of the volume when it is within (marked "oldest" when its period was
///   already kept).
/// - An owned, pinned snapshot is kept ("pinned", restic's keep-tag), after the rules' reasons
///   and before "newest".
/// - A deleted snapshot gets what each set rule says of it, in rule order.
fn reference(counted: &[&Snapshot], policy: &Policy, now: OffsetDateTime) -> BTreeMap<String, Vec<String>> {
    let mut list: Vec<(i128, &str)> = counted.iter().map(|s| (s.created_at.unwrap().unix_timestamp_nanos(), s.id.as_str())).collect();
    // Newest first; equal times: the smaller id first.
    list.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let mut reasons: BTreeMap<String, Vec<String>> = list.iter().map(|(_, id)| (id.to_string(), Vec::new())).collect();
    if list.is_empty() {
        return reasons;
    }
    let oldest = list.len() - 1;
    let limit = |c: Count| match c {
        Count::Limited(n) => n as usize,
        Count::Unlimited => usize::MAX,
    };

    let last = limit(policy.keep_last());
    for (rank, (_, id)) in list.iter().enumerate().take(last) {
        reasons.get_mut(*id).unwrap().push(format!("last {}", rank + 1));
    }

    let offset_secs = match policy.calendar() {
        Calendar::Fixed(o) => i64::from(o.whole_seconds()),
        other => panic!("the reference knows fixed offsets only: {other:?}"),
    };
    let labels: Vec<[String; 5]> =
        list.iter().map(|(t, _)| reference_periods(OffsetDateTime::from_unix_timestamp_nanos(*t).unwrap(), offset_secs)).collect();
    let counts = [policy.keep_hourly(), policy.keep_daily(), policy.keep_weekly(), policy.keep_monthly(), policy.keep_yearly()];
    let mut kept_periods: Vec<Vec<String>> = vec![Vec::new(); 5];
    for r in 0..5 {
        let count = limit(counts[r]);
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
        for (period, i) in periods.iter().take(count) {
            reasons.get_mut(list[*i].1).unwrap().push(format!("{} {period}", RULE_NAMES[r]));
            kept_periods[r].push(period.clone());
        }
        if periods.len() < count && !periods.iter().any(|(_, i)| *i == oldest) {
            reasons.get_mut(list[oldest].1).unwrap().push(format!("oldest {} {}", RULE_NAMES[r], labels[oldest][r]));
        }
    }

    let anchor = list.iter().map(|(t, _)| *t).find(|t| *t < now.unix_timestamp_nanos());
    let within_of = |d: CalendarDuration, t: i128| anchor.is_none_or(|a| reference_cutoff(a, d, offset_secs).is_none_or(|cut| t > cut));
    if let Some(d) = policy.keep_within() {
        let text = match anchor {
            Some(a) => format!("within {} of {}", reference_duration(d), reference_rfc3339(a)),
            None => format!("within {} (no snapshot before now)", reference_duration(d)),
        };
        for (t, id) in &list {
            if within_of(d, *t) {
                reasons.get_mut(*id).unwrap().push(text.clone());
            }
        }
    }
    let withins = [
        policy.keep_within_hourly(),
        policy.keep_within_daily(),
        policy.keep_within_weekly(),
        policy.keep_within_monthly(),
        policy.keep_within_yearly(),
    ];
    for r in 0..5 {
        let Some(d) = withins[r] else { continue };
        let mut previous: Option<&str> = None;
        for (i, (t, id)) in list.iter().enumerate() {
            if !within_of(d, *t) {
                continue;
            }
            let label = labels[i][r].as_str();
            if previous != Some(label) || i == oldest {
                let mark = if previous == Some(label) { "oldest " } else { "" };
                reasons.get_mut(*id).unwrap().push(format!("{mark}{} {label} within {}", RULE_NAMES[r], reference_duration(d)));
                previous = Some(label);
            }
        }
    }

    for (_, id) in &list {
        if counted.iter().any(|s| s.id == *id && pinned(s)) {
            reasons.get_mut(*id).unwrap().push("pinned".to_owned());
        }
    }
    reasons.get_mut(list[0].1).unwrap().push("newest".to_owned());

    // What each rule says of the snapshots nothing keeps.
    for (i, (t, id)) in list.iter().enumerate() {
        if !reasons[*id].is_empty() {
            continue;
        }
        let mut why = Vec::new();
        if let Count::Limited(n @ 1..) = policy.keep_last() {
            why.push(format!("not among the last {n}"));
        }
        for r in 0..5 {
            let count = limit(counts[r]);
            if count == 0 {
                continue;
            }
            let label = &labels[i][r];
            if kept_periods[r].contains(label) {
                why.push(format!("keep-{} keeps a newer snapshot of {label}", RULE_NAMES[r]));
            } else {
                let units = if count == 1 { UNITS[r].trim_end_matches('s') } else { UNITS[r] };
                let (newest, oldest) = (&kept_periods[r][0], kept_periods[r].last().unwrap());
                why.push(format!("not among the {count} {units} keep-{} keeps: {oldest} .. {newest}", RULE_NAMES[r]));
            }
        }
        let anchor = anchor.expect("a snapshot is deleted only when there is an anchor or no within rule");
        let all = std::iter::once((None, policy.keep_within())).chain((0..5).map(|r| (Some(r), withins[r])));
        for (r, d) in all {
            let Some(d) = d else { continue };
            let rule = r.map_or(String::new(), |r| format!("-{}", RULE_NAMES[r]));
            if within_of(d, *t) {
                if let Some(r) = r {
                    why.push(format!("keep-within-{} {} keeps a newer snapshot of {}", RULE_NAMES[r], reference_duration(d), labels[i][r]));
                }
            } else {
                why.push(format!("older than keep-within{rule} {} from {}", reference_duration(d), reference_rfc3339(anchor)));
            }
        }
        *reasons.get_mut(*id).unwrap() = why;
    }
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
        out.extend(reference(&judged, policy, case.now));
        for s in of_volume.iter().filter(|s| !counted(s, case.now)) {
            let mut why = Vec::new();
            if !owned(s) {
                why.push("not owned".to_owned());
            } else {
                if s.status != SnapshotStatus::Available {
                    why.push(format!("not available ({})", s.status));
                }
                match s.created_at {
                    None => why.push("no creation time".to_owned()),
                    Some(t) if t > case.now => why.push("dated in the future".to_owned()),
                    Some(_) => {}
                }
                if pinned(s) {
                    why.push("pinned".to_owned());
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
            // A delete's reasons are what each rule says: "not among ...", "keep-... keeps a
            // newer snapshot", "older than keep-within ...".
            let deleted = want[id].iter().all(|r| r.starts_with("not among") || r.starts_with("keep-") || r.starts_with("older than"));
            assert_eq!(d.action() == Action::Delete, deleted, "action of {id}");
            assert!(!want[id].is_empty(), "no reason for {id}");
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
        let zeroes: [fn(PolicyBuilder) -> PolicyBuilder; 8] = [
            |b| b.keep_last(0),
            |b| b.keep_hourly(0),
            |b| b.keep_daily(0),
            |b| b.keep_weekly(0),
            |b| b.keep_monthly(0),
            |b| b.keep_yearly(0),
            |b| b.keep_within(CalendarDuration::default()),
            |b| b.keep_within_daily(CalendarDuration::days(0)),
        ];
        for _ in 0..rng.below(8) {
            b = rng.pick(&zeroes)(b);
        }
        assert_eq!(b.clone().build(), Err(PolicyError::Empty { id: POLICY_ID.to_owned() }));
        let n = rng.range(1, 1000) as u32;
        let one = match rng.below(9) {
            0 => b.keep_last(n),
            1 => b.keep_hourly(n),
            2 => b.keep_daily(n),
            3 => b.keep_weekly(n),
            4 => b.keep_monthly(n),
            5 => b.keep_yearly(n),
            6 => b.keep_within(CalendarDuration::hours(n)),
            7 => b.keep_within_weekly(CalendarDuration::days(n)),
            _ => b.keep_last(Count::Unlimited),
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

/// Snapshots that are not counted (not `available`, undated, dated after `now`) are kept and
/// reported, and never counted: removing them all leaves every other decision unchanged.
#[test]
fn uncounted_snapshots_are_kept_reported_and_not_counted() {
    let mut seen = BTreeMap::<&str, usize>::new();
    for_cases(5, CASES, |_, case, policy| {
        let plan = retention::plan(&case.snapshots, policy, case.now);
        for d in plan.decisions().iter().filter(|d| owned(d.snapshot()) && !counted(d.snapshot(), case.now)) {
            let s = d.snapshot();
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
    assert!(seen.values().all(|n| *n > 100) && seen.len() == 3, "{seen:?}");
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

/// Idempotent: planning again on what a plan keeps deletes nothing. (Without months in
/// keep_within: a plan may delete the anchor, and an earlier anchor can give a later
/// cutoff with months.)
#[test]
fn plan_is_idempotent() {
    for_cases_with(7, CASES, false, |_, case, policy| {
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
    for_cases_with(8, CASES, false, |g, case, policy| {
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
    let mut skipped = 0;
    for_cases_with(9, CASES / 4, false, |g, _, policy| {
        // keep_within_* rules keep the oldest snapshot when it is within, and pruning moves
        // which one is the oldest: restic's rule is order-dependent there (see
        // `within_rules_keep_the_oldest_left_so_pruning_order_matters`).
        let p = policy;
        if [p.keep_within_hourly(), p.keep_within_daily(), p.keep_within_weekly(), p.keep_within_monthly(), p.keep_within_yearly()]
            .iter()
            .any(Option::is_some)
        {
            skipped += 1;
            return;
        }
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
    assert!(skipped < CASES / 4 * 6 / 10, "{skipped} skipped");
}

/// Why `pruning_every_run_equals_pruning_once` leaves keep_within_* out: the rule keeps the
/// oldest snapshot when it is within (restic's `snapshot_policy.go`: `nr == len(list)-1`),
/// and after a prune the oldest left is another one.
#[test]
fn within_rules_keep_the_oldest_left_so_pruning_order_matters() {
    let policy = Policy::builder(POLICY_ID).keep_within_daily(CalendarDuration::days(2)).build().unwrap();
    let at = |h: i64| Some(datetime!(2026-11-20 12:00 UTC) + time::Duration::hours(h));
    let s = |id: &str, h: i64| snapshot(id, "v", at(h), SnapshotStatus::Available, Some(POLICY_ID));
    // Two a day: the first day's older one is the oldest and within: kept.
    let day1 = [s("a", 0), s("b", 1)];
    let plan = retention::plan(&day1, &policy, at(1).unwrap());
    assert_eq!(reason_texts(plan.get("a").unwrap().reasons()), ["oldest daily 2026-11-20 within 2d"]);
    // Once over at 96h30 (anchor e, cutoff 48h): a and b are out; c and d share a day, d is
    // its newest; the oldest of the list is a, out of the range: c goes.
    let all = [s("a", 0), s("b", 1), s("c", 72), s("d", 73), s("e", 96)];
    let once = retention::plan(&all, &policy, at(96).unwrap() + time::Duration::minutes(30));
    assert_eq!(kept_ids(&once), BTreeSet::from(["d".to_owned(), "e".to_owned()]));
    // Pruned after each snapshot: once a and b are gone, c is the oldest left, and within.
    let mut live: Vec<Snapshot> = Vec::new();
    // Each run prunes half an hour after its snapshot.
    for (id, h) in [("a", 0), ("b", 1), ("c", 72), ("d", 73), ("e", 96)] {
        live.push(s(id, h));
        let now = at(h).unwrap() + time::Duration::minutes(30);
        live = retention::plan(&live, &policy, now).kept().map(|d| d.snapshot().clone()).collect();
    }
    let live: BTreeSet<String> = live.iter().map(|s| s.id.clone()).collect();
    assert_eq!(live, BTreeSet::from(["c".to_owned(), "d".to_owned(), "e".to_owned()]));
}

/// restic's cutoff is not monotonic in the anchor when the duration has months (Go's
/// `AddDate` normalisation): an anchor a day later can move the cutoff two days earlier.
#[test]
fn months_make_the_cutoff_non_monotonic() {
    let month = CalendarDuration::months(1);
    let cut = |t: OffsetDateTime| month.before(t).unwrap();
    assert_eq!(cut(datetime!(2026-03-31 12:00 UTC)), datetime!(2026-03-03 12:00 UTC));
    assert_eq!(cut(datetime!(2026-04-01 12:00 UTC)), datetime!(2026-03-01 12:00 UTC));
    assert_eq!(cut(datetime!(2024-03-31 12:00 UTC)), datetime!(2024-03-02 12:00 UTC));
    // The reference's arithmetic agrees.
    for t in [datetime!(2026-03-31 12:00 UTC), datetime!(2024-03-31 12:00 UTC), datetime!(2026-04-01 12:00 UTC)] {
        assert_eq!(reference_cutoff(t.unix_timestamp_nanos(), month, 0), Some(cut(t).unix_timestamp_nanos()));
    }
}

/// Calendar arithmetic against the reference on random anchors (1900 to 2100), offsets and
/// durations: month ends, leap days and hours included.
#[test]
fn calendar_durations_match_the_reference_arithmetic() {
    let mut rng = Rng::new(11);
    let offsets = offsets();
    let mut month_ends = 0;
    for _ in 0..20 * CASES {
        let unix = rng.range(MIN_NOW + 100 * 366 * 86_400, MAX_NOW);
        let offset = rng.pick(&offsets);
        let t = OffsetDateTime::from_unix_timestamp(unix).unwrap().to_offset(offset);
        let d = CalendarDuration::new(rng.range(0, 30) as u32, rng.range(0, 30) as u32, rng.range(0, 400) as u32, rng.range(0, 100) as u32);
        let want = reference_cutoff(t.unix_timestamp_nanos(), d, i64::from(offset.whole_seconds()));
        assert_eq!(d.before(t).map(|c| c.unix_timestamp_nanos()), want, "{t} - {d}");
        assert_eq!(Calendar::Fixed(offset).before(d, t), d.before(t), "{t} - {d}");
        month_ends += usize::from(t.day() > 28);
    }
    assert!(month_ends > 1000);
}

/// Pins: an owned snapshot with the pin label is never deleted, whatever its status, and
/// says "pinned"; a pin on a snapshot the policy does not own changes nothing.
#[test]
fn pinned_snapshots_are_never_deleted() {
    let mut seen = 0;
    for_cases(12, CASES, |_, case, policy| {
        let plan = retention::plan(&case.snapshots, policy, case.now);
        for d in plan.decisions().iter().filter(|d| pinned(d.snapshot())) {
            if owned(d.snapshot()) {
                assert_eq!(d.action(), Action::Keep);
                assert!(d.reasons().contains(&Reason::Pinned));
                seen += 1;
            } else {
                assert_eq!(d.reasons(), [Reason::NotOwned]);
            }
        }
    });
    assert!(seen > 500, "{seen}");
}

/// Unlimited: a policy's unlimited count keeps at least what any finite count keeps.
#[test]
fn unlimited_keeps_at_least_any_count() {
    for_cases(13, CASES / 2, |g, case, _| {
        let n = g.rng.range(1, 50) as u32;
        let rule: [fn(PolicyBuilder, Count) -> PolicyBuilder; 6] = [
            |b, c| b.keep_last(c),
            |b, c| b.keep_hourly(c),
            |b, c| b.keep_daily(c),
            |b, c| b.keep_weekly(c),
            |b, c| b.keep_monthly(c),
            |b, c| b.keep_yearly(c),
        ];
        let set = g.rng.pick(&rule);
        let finite = set(Policy::builder(POLICY_ID), Count::Limited(n)).build().unwrap();
        let unlimited = set(Policy::builder(POLICY_ID), Count::Unlimited).build().unwrap();
        let kept_finite = kept_ids(&retention::plan(&case.snapshots, &finite, case.now));
        let kept_unlimited = kept_ids(&retention::plan(&case.snapshots, &unlimited, case.now));
        assert!(kept_finite.is_subset(&kept_unlimited));
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
        CalendarDuration::new(1_000_000, 1_000_000, 1_000_000, 1_000_000),
        CalendarDuration::years(1_000_000),
        CalendarDuration::months(1_000_000),
        CalendarDuration::days(1_000_000),
        CalendarDuration::hours(1_000_000),
        CalendarDuration::years(20_000),
        CalendarDuration::hours(1),
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
                .keep_weekly(Count::Unlimited)
                .keep_monthly(2)
                .keep_yearly(2)
                .keep_within(within)
                .keep_within_daily(within)
                .utc_offset(offset)
                .build()
                .unwrap();
            for now in [edges[0], edges[1], edges[4]] {
                let plan = retention::plan(&snapshots, &policy, now);
                assert_eq!(plan.decisions().len(), snapshots.len());
                let json = serde_json::to_string(&plan).unwrap();
                assert!(json.contains("\"decisions\""));
                if within.parts().0 >= 20_000 {
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
        Policy::builder(POLICY_ID).keep_last(2).keep_daily(4).keep_monthly(2).keep_within(CalendarDuration::hours(36)).build().unwrap();
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
            "n29 keep last 1, daily 2026-11-29, monthly 2026-11, within 36h of 2026-11-29T02:00:00Z, newest",
            "x28 keep last 2, daily 2026-11-28, within 36h of 2026-11-29T02:00:00Z",
            "n28 keep within 36h of 2026-11-29T02:00:00Z",
            "hand keep not owned",
            "n27 keep not available (error)",
            "n26 keep daily 2026-11-26",
            "n25 keep daily 2026-11-25",
            "n24 delete not among the last 2, not among the 4 days keep-daily keeps: 2026-11-25 .. 2026-11-29, \
             keep-monthly keeps a newer snapshot of 2026-11, older than keep-within 36h from 2026-11-29T02:00:00Z",
            "o31 keep monthly 2026-10",
            "o30 delete not among the last 2, not among the 4 days keep-daily keeps: 2026-11-25 .. 2026-11-29, \
             keep-monthly keeps a newer snapshot of 2026-10, older than keep-within 36h from 2026-11-29T02:00:00Z",
            "s30 delete not among the last 2, not among the 4 days keep-daily keeps: 2026-11-25 .. 2026-11-29, \
             not among the 2 months keep-monthly keeps: 2026-10 .. 2026-11, older than keep-within 36h from 2026-11-29T02:00:00Z",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Time zones: local days and hours all year, daylight saving both ways, in two zones (and a
// southern one). The zones come from the system's tzdata (`scripts/test` and `.ci/run`
// install it); a missing zone fails these tests, as a policy would fail to build.

fn zone(name: &str) -> Calendar {
    Calendar::Zone(cinder_snapshots::tz::TimeZone::load(name).unwrap_or_else(|e| panic!("{e}")))
}

fn zoned_policy(calendar: &Calendar, set: impl FnOnce(PolicyBuilder) -> PolicyBuilder) -> Policy {
    set(Policy::builder(POLICY_ID)).calendar(calendar).build().unwrap()
}

#[test]
fn zone_offsets_follow_daylight_saving_both_ways() {
    let berlin = zone("Europe/Berlin");
    let new_york = zone("America/New_York");
    let sydney = zone("Australia/Sydney");
    let off = |c: &Calendar, t: OffsetDateTime| c.offset_at(t).whole_seconds() / 60;
    // Berlin 2026: CEST from 2026-03-29 01:00Z to 2026-10-25 01:00Z.
    assert_eq!(off(&berlin, datetime!(2026-03-29 00:59:59 UTC)), 60);
    assert_eq!(off(&berlin, datetime!(2026-03-29 01:00 UTC)), 120);
    assert_eq!(off(&berlin, datetime!(2026-10-25 00:59:59 UTC)), 120);
    assert_eq!(off(&berlin, datetime!(2026-10-25 01:00 UTC)), 60);
    // New York 2026: EDT from 2026-03-08 07:00Z to 2026-11-01 06:00Z.
    assert_eq!(off(&new_york, datetime!(2026-03-08 06:59:59 UTC)), -300);
    assert_eq!(off(&new_york, datetime!(2026-03-08 07:00 UTC)), -240);
    assert_eq!(off(&new_york, datetime!(2026-11-01 05:59:59 UTC)), -240);
    assert_eq!(off(&new_york, datetime!(2026-11-01 06:00 UTC)), -300);
    // Sydney: summer time in January, not in July.
    assert_eq!(off(&sydney, datetime!(2026-01-15 00:00 UTC)), 660);
    assert_eq!(off(&sydney, datetime!(2026-07-15 00:00 UTC)), 600);
    // Past the file's transitions (the TZ footer rule): Berlin in 2100.
    assert_eq!(off(&berlin, datetime!(2100-03-28 00:59:59 UTC)), 60);
    assert_eq!(off(&berlin, datetime!(2100-03-28 01:00 UTC)), 120);
    assert_eq!(off(&berlin, datetime!(2100-10-31 01:00 UTC)), 60);
}

#[test]
fn zone_days_are_local_days_all_year() {
    let berlin = zone("Europe/Berlin");
    let fixed = Calendar::Fixed(UtcOffset::from_hms(1, 0, 0).unwrap());
    // 22:30Z is 00:30 the next day in summer (CEST) but 23:30 the same day with +01:00.
    let summer = snapshot("s", "v", Some(datetime!(2026-07-01 22:30 UTC)), SnapshotStatus::Available, Some(POLICY_ID));
    let winter = snapshot("w", "v", Some(datetime!(2026-01-01 22:30 UTC)), SnapshotStatus::Available, Some(POLICY_ID));
    let later = datetime!(2027-01-01 00:00 UTC);
    let day = |c: &Calendar, s: &Snapshot| {
        let plan = retention::plan(std::slice::from_ref(s), &zoned_policy(c, |b| b.keep_daily(1)), later);
        reason_texts(plan.decisions()[0].reasons())[0].clone()
    };
    assert_eq!(day(&berlin, &summer), "daily 2026-07-02");
    assert_eq!(day(&fixed, &summer), "daily 2026-07-01");
    assert_eq!(day(&berlin, &winter), "daily 2026-01-01");
    assert_eq!(day(&fixed, &winter), "daily 2026-01-01");
}

/// Falling back, a local hour happens twice: restic buckets by local hour, so both
/// snapshots are in the same hourly period (Berlin 02:30 CEST and 02:30 CET; New York 01:30
/// EDT and 01:30 EST). Springing forward, a local hour does not exist.
#[test]
fn hourly_periods_across_daylight_saving_changes() {
    let history = |a: OffsetDateTime, b: OffsetDateTime| {
        vec![
            snapshot("a", "v", Some(a), SnapshotStatus::Available, Some(POLICY_ID)),
            snapshot("b", "v", Some(b), SnapshotStatus::Available, Some(POLICY_ID)),
            snapshot("c", "v", Some(b - time::Duration::hours(6)), SnapshotStatus::Available, Some(POLICY_ID)),
        ]
    };
    let now = datetime!(2027-01-01 00:00 UTC);
    let table = |c: &Calendar, h: &[Snapshot]| -> Vec<String> {
        let plan = retention::plan(h, &zoned_policy(c, |b| b.keep_hourly(10)), now);
        plan.decisions().iter().map(|d| format!("{} {}", d.snapshot().id, d.reasons_text())).collect()
    };
    let berlin = zone("Europe/Berlin");
    assert_eq!(
        table(&berlin, &history(datetime!(2026-10-25 01:30 UTC), datetime!(2026-10-25 00:30 UTC))),
        ["a hourly 2026-10-25T02, newest", "b keep-hourly keeps a newer snapshot of 2026-10-25T02", "c hourly 2026-10-24T20",]
    );
    let new_york = zone("America/New_York");
    assert_eq!(
        table(&new_york, &history(datetime!(2026-11-01 06:30 UTC), datetime!(2026-11-01 05:30 UTC))),
        ["a hourly 2026-11-01T01, newest", "b keep-hourly keeps a newer snapshot of 2026-11-01T01", "c hourly 2026-10-31T19"]
    );
    // Springing forward: 01:59 CET then 03:00 CEST, a minute apart, are two hours.
    assert_eq!(
        table(&berlin, &history(datetime!(2026-03-29 01:00 UTC), datetime!(2026-03-29 00:59 UTC))),
        ["a hourly 2026-03-29T03, newest", "b hourly 2026-03-29T01", "c hourly 2026-03-28T19"]
    );
    assert_eq!(
        table(&new_york, &history(datetime!(2026-03-08 07:00 UTC), datetime!(2026-03-08 06:59 UTC))),
        ["a hourly 2026-03-08T03, newest", "b hourly 2026-03-08T01", "c hourly 2026-03-07T19"]
    );
}

/// keep-within in a zone: days are local calendar days (a day across the spring change is 23
/// hours, across the autumn change 25), hours are exact hours, and a local time that does
/// not exist or exists twice resolves as Go's `time.Date` does (restic's `AddDate`).
#[test]
fn keep_within_in_a_zone_uses_local_calendar_days() {
    let berlin = zone("Europe/Berlin");
    let new_york = zone("America/New_York");
    let day = CalendarDuration::days(1);
    for (calendar, anchor, d, cutoff) in [
        // Spring: 2026-03-29 12:00 CEST - 1d = 2026-03-28 12:00 CET: 23 hours.
        (&berlin, datetime!(2026-03-29 10:00 UTC), day, datetime!(2026-03-28 11:00 UTC)),
        (&berlin, datetime!(2026-03-29 10:00 UTC), CalendarDuration::hours(24), datetime!(2026-03-28 10:00 UTC)),
        // Autumn: 2026-10-25 12:00 CET - 1d = 2026-10-24 12:00 CEST: 25 hours.
        (&berlin, datetime!(2026-10-25 11:00 UTC), day, datetime!(2026-10-24 10:00 UTC)),
        (&new_york, datetime!(2026-03-08 16:00 UTC), day, datetime!(2026-03-07 17:00 UTC)),
        (&new_york, datetime!(2026-11-01 17:00 UTC), day, datetime!(2026-10-31 16:00 UTC)),
        // A local time that does not exist: 2026-03-29 02:30 in Berlin is read as 03:30 CEST.
        (&berlin, datetime!(2026-03-30 00:30 UTC), day, datetime!(2026-03-29 01:30 UTC)),
        // ... in New York 2026-03-08 02:30 as 01:30 EST.
        (&new_york, datetime!(2026-03-09 06:30 UTC), day, datetime!(2026-03-08 06:30 UTC)),
        // Twice: Berlin's 2026-10-25 02:30 is the second one (CET), New York's 01:30 the first (EDT).
        (&berlin, datetime!(2026-10-26 01:30 UTC), day, datetime!(2026-10-25 01:30 UTC)),
        (&new_york, datetime!(2026-11-02 06:30 UTC), day, datetime!(2026-11-01 05:30 UTC)),
        // A month across the change: 2026-04-15 12:00 CEST - 1m = 2026-03-15 12:00 CET.
        (&berlin, datetime!(2026-04-15 10:00 UTC), CalendarDuration::months(1), datetime!(2026-03-15 11:00 UTC)),
    ] {
        assert_eq!(calendar.before(d, anchor), Some(cutoff), "{calendar}: {anchor} - {d}");
        // The plan keeps a snapshot a second after the cutoff, not one at it.
        let policy = zoned_policy(calendar, |b| b.keep_within(d));
        let h = [
            snapshot("anchor", "v", Some(anchor), SnapshotStatus::Available, Some(POLICY_ID)),
            snapshot("in", "v", Some(cutoff + time::Duration::seconds(1)), SnapshotStatus::Available, Some(POLICY_ID)),
            snapshot("out", "v", Some(cutoff), SnapshotStatus::Available, Some(POLICY_ID)),
        ];
        let plan = retention::plan(&h, &policy, anchor + time::Duration::minutes(1));
        assert_eq!(deleted_ids(&plan), BTreeSet::from(["out".to_owned()]), "{calendar}: {anchor} - {d}");
    }
}

#[test]
fn zone_policies_write_the_zone_in_their_rules_and_a_missing_zone_is_an_error() {
    let policy = zoned_policy(&zone("Europe/Berlin"), |b| b.keep_daily(7));
    assert_eq!(policy.rules_string(), "daily=7,time-zone=Europe/Berlin");
    assert_eq!(policy.to_string(), "policy \"nightly\": keep daily 7 (calendar in Europe/Berlin)");
    // The run-at label stays UTC.
    let labels = retention::labels(&policy, datetime!(2026-07-01 22:30 +02:00));
    assert_eq!(labels[retention::RUN_AT_KEY], "2026-07-01T20:30:00Z");
    let err = cinder_snapshots::tz::TimeZone::load("Europe/Atlantis").unwrap_err();
    assert!(matches!(err, cinder_snapshots::tz::ZoneError::NotFound { .. }), "{err:?}");
    let err: cinder_snapshots::Error = err.into();
    assert!(matches!(err, cinder_snapshots::Error::Config(_)));
}

// ---------------------------------------------------------------------------------------------
// restic's own golden cases for the rules this crate took from it: keep-within in restic's
// calendar units, keep-within-hourly ... -yearly, unlimited. The expected sets are the
// facts of restic's golden files, read with restic's `TestApplyPolicy` list of snapshot
// times (its `now` is the wall clock, after all of them: the anchor is the newest).

/// What restic's golden file says: the times kept, or (when shorter) the times removed.
enum Golden {
    Keep(&'static [&'static str]),
    Delete(&'static [&'static str]),
}

/// The snapshot times of restic's `TestApplyPolicy` (`internal/data/snapshot_policy_test.go`),
/// in its order (equal times keep it: the ids are the positions).
const RESTIC_TIMES: [&str; 103] = [
    "2014-09-01T10:20:30Z",
    "2014-09-02T10:20:30Z",
    "2014-09-05T10:20:30Z",
    "2014-09-06T10:20:30Z",
    "2014-09-08T10:20:30Z",
    "2014-09-09T10:20:30Z",
    "2014-09-10T10:20:30Z",
    "2014-09-11T10:20:30Z",
    "2014-09-20T10:20:30Z",
    "2014-09-22T10:20:30Z",
    "2014-08-08T10:20:30Z",
    "2014-08-10T10:20:30Z",
    "2014-08-12T10:20:30Z",
    "2014-08-13T10:20:30Z",
    "2014-08-13T10:20:30.1Z",
    "2014-08-15T10:20:30Z",
    "2014-08-18T10:20:30Z",
    "2014-08-20T10:20:30Z",
    "2014-08-21T10:20:30Z",
    "2014-08-22T10:20:30Z",
    "2014-10-01T10:20:30Z",
    "2014-10-02T10:20:30Z",
    "2014-10-05T10:20:30Z",
    "2014-10-06T10:20:30Z",
    "2014-10-08T10:20:30Z",
    "2014-10-09T10:20:30Z",
    "2014-10-10T10:20:30Z",
    "2014-10-11T10:20:30Z",
    "2014-10-20T10:20:30Z",
    "2014-10-22T10:20:30Z",
    "2014-11-08T10:20:30Z",
    "2014-11-10T10:20:30Z",
    "2014-11-12T10:20:30Z",
    "2014-11-13T10:20:30Z",
    "2014-11-13T10:20:30.1Z",
    "2014-11-15T10:20:30Z",
    "2014-11-18T10:20:30Z",
    "2014-11-20T10:20:30Z",
    "2014-11-21T10:20:30Z",
    "2014-11-22T10:20:30Z",
    "2015-09-01T10:20:30Z",
    "2015-09-02T10:20:30Z",
    "2015-09-05T10:20:30Z",
    "2015-09-06T10:20:30Z",
    "2015-09-08T10:20:30Z",
    "2015-09-09T10:20:30Z",
    "2015-09-10T10:20:30Z",
    "2015-09-11T10:20:30Z",
    "2015-09-20T10:20:30Z",
    "2015-09-22T10:20:30Z",
    "2015-08-08T10:20:30Z",
    "2015-08-10T10:20:30Z",
    "2015-08-12T10:20:30Z",
    "2015-08-13T10:20:30Z",
    "2015-08-13T10:20:30.1Z",
    "2015-08-15T10:20:30Z",
    "2015-08-18T10:20:30Z",
    "2015-08-20T10:20:30Z",
    "2015-08-21T10:20:30Z",
    "2015-08-22T10:20:30Z",
    "2015-10-01T10:20:30Z",
    "2015-10-02T10:20:30Z",
    "2015-10-05T10:20:30Z",
    "2015-10-06T10:20:30Z",
    "2015-10-08T10:20:30Z",
    "2015-10-09T10:20:30Z",
    "2015-10-10T10:20:30Z",
    "2015-10-11T10:20:30Z",
    "2015-10-20T10:20:30Z",
    "2015-10-22T10:20:30Z",
    "2015-10-22T10:20:30Z",
    "2015-10-22T10:20:30Z",
    "2015-10-22T10:20:30Z",
    "2015-10-22T10:20:30Z",
    "2015-11-08T10:20:30Z",
    "2015-11-10T10:20:30Z",
    "2015-11-12T10:20:30Z",
    "2015-11-13T10:20:30Z",
    "2015-11-13T10:20:30.1Z",
    "2015-11-15T10:20:30Z",
    "2015-11-18T10:20:30Z",
    "2015-11-20T10:20:30Z",
    "2015-11-21T10:20:30Z",
    "2015-11-22T10:20:30Z",
    "2016-01-01T01:02:03Z",
    "2016-01-01T01:03:03Z",
    "2016-01-01T07:08:03Z",
    "2016-01-03T07:02:03Z",
    "2016-01-04T10:23:03Z",
    "2016-01-04T11:23:03Z",
    "2016-01-04T12:23:03Z",
    "2016-01-04T12:24:03Z",
    "2016-01-04T12:28:03Z",
    "2016-01-04T12:30:03Z",
    "2016-01-04T16:23:03Z",
    "2016-01-05T09:02:03Z",
    "2016-01-06T08:02:03Z",
    "2016-01-07T10:02:03Z",
    "2016-01-08T20:02:03Z",
    "2016-01-09T21:02:03Z",
    "2016-01-12T21:02:03Z",
    "2016-01-12T21:08:03Z",
    "2016-01-18T12:02:03Z",
];

/// For each of restic's golden cases (`internal/data/testdata/policy_keep_snapshots_N`):
/// N, the policy, and the times restic keeps (`Keep`) or removes (`Delete`), newest first.
/// A golden case: restic's file number, the policy's rules, the expected set.
type GoldenCase = (u32, fn(PolicyBuilder) -> PolicyBuilder, Golden);

fn restic_golden_cases() -> Vec<GoldenCase> {
    vec![
        (21, |b| b.keep_within(CalendarDuration::new(0, 0, 1, 0)), Golden::Keep(&["2016-01-18T12:02:03Z"])),
        (
            24,
            |b| b.keep_within(CalendarDuration::new(0, 1, 0, 0)),
            Golden::Keep(&[
                "2016-01-18T12:02:03Z",
                "2016-01-12T21:08:03Z",
                "2016-01-12T21:02:03Z",
                "2016-01-09T21:02:03Z",
                "2016-01-08T20:02:03Z",
                "2016-01-07T10:02:03Z",
                "2016-01-06T08:02:03Z",
                "2016-01-05T09:02:03Z",
                "2016-01-04T16:23:03Z",
                "2016-01-04T12:30:03Z",
                "2016-01-04T12:28:03Z",
                "2016-01-04T12:24:03Z",
                "2016-01-04T12:23:03Z",
                "2016-01-04T11:23:03Z",
                "2016-01-04T10:23:03Z",
                "2016-01-03T07:02:03Z",
                "2016-01-01T07:08:03Z",
                "2016-01-01T01:03:03Z",
                "2016-01-01T01:02:03Z",
            ]),
        ),
        (
            25,
            |b| b.keep_within(CalendarDuration::new(0, 1, 14, 0)),
            Golden::Keep(&[
                "2016-01-18T12:02:03Z",
                "2016-01-12T21:08:03Z",
                "2016-01-12T21:02:03Z",
                "2016-01-09T21:02:03Z",
                "2016-01-08T20:02:03Z",
                "2016-01-07T10:02:03Z",
                "2016-01-06T08:02:03Z",
                "2016-01-05T09:02:03Z",
                "2016-01-04T16:23:03Z",
                "2016-01-04T12:30:03Z",
                "2016-01-04T12:28:03Z",
                "2016-01-04T12:24:03Z",
                "2016-01-04T12:23:03Z",
                "2016-01-04T11:23:03Z",
                "2016-01-04T10:23:03Z",
                "2016-01-03T07:02:03Z",
                "2016-01-01T07:08:03Z",
                "2016-01-01T01:03:03Z",
                "2016-01-01T01:02:03Z",
            ]),
        ),
        (
            26,
            |b| b.keep_within(CalendarDuration::new(1, 1, 1, 0)),
            Golden::Delete(&[
                "2014-11-22T10:20:30Z",
                "2014-11-21T10:20:30Z",
                "2014-11-20T10:20:30Z",
                "2014-11-18T10:20:30Z",
                "2014-11-15T10:20:30Z",
                "2014-11-13T10:20:30Z",
                "2014-11-13T10:20:30.1Z",
                "2014-11-12T10:20:30Z",
                "2014-11-10T10:20:30Z",
                "2014-11-08T10:20:30Z",
                "2014-10-22T10:20:30Z",
                "2014-10-20T10:20:30Z",
                "2014-10-11T10:20:30Z",
                "2014-10-10T10:20:30Z",
                "2014-10-09T10:20:30Z",
                "2014-10-08T10:20:30Z",
                "2014-10-06T10:20:30Z",
                "2014-10-05T10:20:30Z",
                "2014-10-02T10:20:30Z",
                "2014-10-01T10:20:30Z",
                "2014-09-22T10:20:30Z",
                "2014-09-20T10:20:30Z",
                "2014-09-11T10:20:30Z",
                "2014-09-10T10:20:30Z",
                "2014-09-09T10:20:30Z",
                "2014-09-08T10:20:30Z",
                "2014-09-06T10:20:30Z",
                "2014-09-05T10:20:30Z",
                "2014-09-02T10:20:30Z",
                "2014-09-01T10:20:30Z",
                "2014-08-22T10:20:30Z",
                "2014-08-21T10:20:30Z",
                "2014-08-20T10:20:30Z",
                "2014-08-18T10:20:30Z",
                "2014-08-15T10:20:30Z",
                "2014-08-13T10:20:30Z",
                "2014-08-13T10:20:30.1Z",
                "2014-08-12T10:20:30Z",
                "2014-08-10T10:20:30Z",
                "2014-08-08T10:20:30Z",
            ]),
        ),
        (
            28,
            |b| b.keep_within(CalendarDuration::new(0, 2, 0, 2)),
            Golden::Keep(&[
                "2016-01-18T12:02:03Z",
                "2016-01-12T21:08:03Z",
                "2016-01-12T21:02:03Z",
                "2016-01-09T21:02:03Z",
                "2016-01-08T20:02:03Z",
                "2016-01-07T10:02:03Z",
                "2016-01-06T08:02:03Z",
                "2016-01-05T09:02:03Z",
                "2016-01-04T16:23:03Z",
                "2016-01-04T12:30:03Z",
                "2016-01-04T12:28:03Z",
                "2016-01-04T12:24:03Z",
                "2016-01-04T12:23:03Z",
                "2016-01-04T11:23:03Z",
                "2016-01-04T10:23:03Z",
                "2016-01-03T07:02:03Z",
                "2016-01-01T07:08:03Z",
                "2016-01-01T01:03:03Z",
                "2016-01-01T01:02:03Z",
                "2015-11-22T10:20:30Z",
                "2015-11-21T10:20:30Z",
                "2015-11-20T10:20:30Z",
                "2015-11-18T10:20:30Z",
            ]),
        ),
        (
            29,
            |b| b.keep_within(CalendarDuration::new(1, 2, 3, 3)),
            Golden::Delete(&[
                "2014-11-13T10:20:30Z",
                "2014-11-13T10:20:30.1Z",
                "2014-11-12T10:20:30Z",
                "2014-11-10T10:20:30Z",
                "2014-11-08T10:20:30Z",
                "2014-10-22T10:20:30Z",
                "2014-10-20T10:20:30Z",
                "2014-10-11T10:20:30Z",
                "2014-10-10T10:20:30Z",
                "2014-10-09T10:20:30Z",
                "2014-10-08T10:20:30Z",
                "2014-10-06T10:20:30Z",
                "2014-10-05T10:20:30Z",
                "2014-10-02T10:20:30Z",
                "2014-10-01T10:20:30Z",
                "2014-09-22T10:20:30Z",
                "2014-09-20T10:20:30Z",
                "2014-09-11T10:20:30Z",
                "2014-09-10T10:20:30Z",
                "2014-09-09T10:20:30Z",
                "2014-09-08T10:20:30Z",
                "2014-09-06T10:20:30Z",
                "2014-09-05T10:20:30Z",
                "2014-09-02T10:20:30Z",
                "2014-09-01T10:20:30Z",
                "2014-08-22T10:20:30Z",
                "2014-08-21T10:20:30Z",
                "2014-08-20T10:20:30Z",
                "2014-08-18T10:20:30Z",
                "2014-08-15T10:20:30Z",
                "2014-08-13T10:20:30Z",
                "2014-08-13T10:20:30.1Z",
                "2014-08-12T10:20:30Z",
                "2014-08-10T10:20:30Z",
                "2014-08-08T10:20:30Z",
            ]),
        ),
        (
            30,
            |b| b.keep_within_hourly(CalendarDuration::new(1, 2, 3, 3)),
            Golden::Delete(&[
                "2016-01-12T21:02:03Z",
                "2016-01-04T12:28:03Z",
                "2016-01-04T12:24:03Z",
                "2016-01-04T12:23:03Z",
                "2016-01-01T01:02:03Z",
                "2015-11-13T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-08-13T10:20:30Z",
                "2014-11-13T10:20:30Z",
                "2014-11-13T10:20:30.1Z",
                "2014-11-12T10:20:30Z",
                "2014-11-10T10:20:30Z",
                "2014-11-08T10:20:30Z",
                "2014-10-22T10:20:30Z",
                "2014-10-20T10:20:30Z",
                "2014-10-11T10:20:30Z",
                "2014-10-10T10:20:30Z",
                "2014-10-09T10:20:30Z",
                "2014-10-08T10:20:30Z",
                "2014-10-06T10:20:30Z",
                "2014-10-05T10:20:30Z",
                "2014-10-02T10:20:30Z",
                "2014-10-01T10:20:30Z",
                "2014-09-22T10:20:30Z",
                "2014-09-20T10:20:30Z",
                "2014-09-11T10:20:30Z",
                "2014-09-10T10:20:30Z",
                "2014-09-09T10:20:30Z",
                "2014-09-08T10:20:30Z",
                "2014-09-06T10:20:30Z",
                "2014-09-05T10:20:30Z",
                "2014-09-02T10:20:30Z",
                "2014-09-01T10:20:30Z",
                "2014-08-22T10:20:30Z",
                "2014-08-21T10:20:30Z",
                "2014-08-20T10:20:30Z",
                "2014-08-18T10:20:30Z",
                "2014-08-15T10:20:30Z",
                "2014-08-13T10:20:30Z",
                "2014-08-13T10:20:30.1Z",
                "2014-08-12T10:20:30Z",
                "2014-08-10T10:20:30Z",
                "2014-08-08T10:20:30Z",
            ]),
        ),
        (
            31,
            |b| b.keep_within_daily(CalendarDuration::new(1, 2, 3, 3)),
            Golden::Delete(&[
                "2016-01-12T21:02:03Z",
                "2016-01-04T12:30:03Z",
                "2016-01-04T12:28:03Z",
                "2016-01-04T12:24:03Z",
                "2016-01-04T12:23:03Z",
                "2016-01-04T11:23:03Z",
                "2016-01-04T10:23:03Z",
                "2016-01-01T01:03:03Z",
                "2016-01-01T01:02:03Z",
                "2015-11-13T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-08-13T10:20:30Z",
                "2014-11-13T10:20:30Z",
                "2014-11-13T10:20:30.1Z",
                "2014-11-12T10:20:30Z",
                "2014-11-10T10:20:30Z",
                "2014-11-08T10:20:30Z",
                "2014-10-22T10:20:30Z",
                "2014-10-20T10:20:30Z",
                "2014-10-11T10:20:30Z",
                "2014-10-10T10:20:30Z",
                "2014-10-09T10:20:30Z",
                "2014-10-08T10:20:30Z",
                "2014-10-06T10:20:30Z",
                "2014-10-05T10:20:30Z",
                "2014-10-02T10:20:30Z",
                "2014-10-01T10:20:30Z",
                "2014-09-22T10:20:30Z",
                "2014-09-20T10:20:30Z",
                "2014-09-11T10:20:30Z",
                "2014-09-10T10:20:30Z",
                "2014-09-09T10:20:30Z",
                "2014-09-08T10:20:30Z",
                "2014-09-06T10:20:30Z",
                "2014-09-05T10:20:30Z",
                "2014-09-02T10:20:30Z",
                "2014-09-01T10:20:30Z",
                "2014-08-22T10:20:30Z",
                "2014-08-21T10:20:30Z",
                "2014-08-20T10:20:30Z",
                "2014-08-18T10:20:30Z",
                "2014-08-15T10:20:30Z",
                "2014-08-13T10:20:30Z",
                "2014-08-13T10:20:30.1Z",
                "2014-08-12T10:20:30Z",
                "2014-08-10T10:20:30Z",
                "2014-08-08T10:20:30Z",
            ]),
        ),
        (
            32,
            |b| b.keep_within_weekly(CalendarDuration::new(1, 2, 3, 3)),
            Golden::Keep(&[
                "2016-01-18T12:02:03Z",
                "2016-01-12T21:08:03Z",
                "2016-01-09T21:02:03Z",
                "2016-01-03T07:02:03Z",
                "2015-11-22T10:20:30Z",
                "2015-11-15T10:20:30Z",
                "2015-11-08T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-10-11T10:20:30Z",
                "2015-10-02T10:20:30Z",
                "2015-09-22T10:20:30Z",
                "2015-09-20T10:20:30Z",
                "2015-09-11T10:20:30Z",
                "2015-09-06T10:20:30Z",
                "2015-08-22T10:20:30Z",
                "2015-08-15T10:20:30Z",
                "2015-08-08T10:20:30Z",
                "2014-11-22T10:20:30Z",
                "2014-11-15T10:20:30Z",
            ]),
        ),
        (
            33,
            |b| b.keep_within_monthly(CalendarDuration::new(1, 2, 3, 3)),
            Golden::Keep(&[
                "2016-01-18T12:02:03Z",
                "2015-11-22T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-09-22T10:20:30Z",
                "2015-08-22T10:20:30Z",
                "2014-11-22T10:20:30Z",
            ]),
        ),
        (
            34,
            |b| b.keep_within_yearly(CalendarDuration::new(1, 2, 3, 3)),
            Golden::Keep(&["2016-01-18T12:02:03Z", "2015-11-22T10:20:30Z", "2014-11-22T10:20:30Z"]),
        ),
        (
            35,
            |b| {
                b.keep_within(CalendarDuration::new(0, 0, 0, 1))
                    .keep_within_hourly(CalendarDuration::new(0, 0, 1, 0))
                    .keep_within_daily(CalendarDuration::new(0, 0, 7, 0))
                    .keep_within_weekly(CalendarDuration::new(0, 1, 0, 0))
                    .keep_within_monthly(CalendarDuration::new(1, 0, 0, 0))
                    .keep_within_yearly(CalendarDuration::new(9999, 0, 0, 0))
            },
            Golden::Keep(&[
                "2016-01-18T12:02:03Z",
                "2016-01-12T21:08:03Z",
                "2016-01-09T21:02:03Z",
                "2016-01-03T07:02:03Z",
                "2015-11-22T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-09-22T10:20:30Z",
                "2015-08-22T10:20:30Z",
                "2014-11-22T10:20:30Z",
                "2014-08-08T10:20:30Z",
            ]),
        ),
        (36, |b| b.keep_last(Count::Unlimited), Golden::Delete(&[])),
        (37, |b| b.keep_last(Count::Unlimited).keep_hourly(Count::Unlimited), Golden::Delete(&[])),
        (
            38,
            |b| b.keep_hourly(Count::Unlimited),
            Golden::Delete(&[
                "2016-01-12T21:02:03Z",
                "2016-01-04T12:28:03Z",
                "2016-01-04T12:24:03Z",
                "2016-01-04T12:23:03Z",
                "2016-01-01T01:02:03Z",
                "2015-11-13T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-08-13T10:20:30Z",
                "2014-11-13T10:20:30Z",
                "2014-08-13T10:20:30Z",
            ]),
        ),
        (
            39,
            |b| b.keep_daily(3).keep_weekly(2).keep_monthly(Count::Unlimited).keep_yearly(Count::Unlimited),
            Golden::Keep(&[
                "2016-01-18T12:02:03Z",
                "2016-01-12T21:08:03Z",
                "2016-01-09T21:02:03Z",
                "2015-11-22T10:20:30Z",
                "2015-10-22T10:20:30Z",
                "2015-09-22T10:20:30Z",
                "2015-08-22T10:20:30Z",
                "2014-11-22T10:20:30Z",
                "2014-10-22T10:20:30Z",
                "2014-09-22T10:20:30Z",
                "2014-08-22T10:20:30Z",
                "2014-08-08T10:20:30Z",
            ]),
        ),
    ]
}

#[test]
fn restics_golden_cases_for_keep_within_and_unlimited() {
    let parse = |t: &str| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap();
    let history: Vec<Snapshot> = RESTIC_TIMES
        .iter()
        .enumerate()
        .map(|(i, t)| snapshot(&format!("{i:03}"), "v", Some(parse(t)), SnapshotStatus::Available, Some(POLICY_ID)))
        .collect();
    let now = datetime!(2026-12-07 00:00 UTC);
    let sorted = |mut v: Vec<OffsetDateTime>| {
        v.sort();
        v
    };
    let cases = restic_golden_cases();
    assert_eq!(cases.len(), 16);
    for (n, set, golden) in cases {
        let policy = set(Policy::builder(POLICY_ID)).build().unwrap();
        let plan = retention::plan(&history, &policy, now);
        let (got, want) = match golden {
            Golden::Keep(times) => (plan.kept().filter_map(|d| d.snapshot().created_at).collect(), times),
            Golden::Delete(times) => (plan.to_delete().filter_map(|d| d.snapshot().created_at).collect(), times),
        };
        assert_eq!(sorted(got), sorted(want.iter().map(|t| parse(t)).collect()), "restic's policy_keep_snapshots_{n}: {policy}");
    }
}

/// `Policy::max_kept` bounds what a plan keeps of one volume's counted, unpinned snapshots
/// (pins come on top), whenever it gives a bound.
#[test]
fn max_kept_bounds_what_the_rules_keep() {
    let mut bounded = 0;
    for_cases(14, CASES, |_, case, policy| {
        let Some(max) = policy.max_kept() else { return };
        bounded += 1;
        let plan = retention::plan(&case.snapshots, policy, case.now);
        let mut per_volume: BTreeMap<&str, u32> = BTreeMap::new();
        for d in plan.kept().filter(|d| counted(d.snapshot(), case.now) && !pinned(d.snapshot())) {
            *per_volume.entry(d.snapshot().volume_id.as_str()).or_default() += 1;
        }
        for (volume, n) in per_volume {
            assert!(n <= max, "{volume}: {n} kept, max_kept {max}");
        }
    });
    assert!(bounded > 500, "{bounded}");
}

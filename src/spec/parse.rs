//! Reading a spec's YAML: the document through `yaml_serde` (its syntax errors carry their
//! line), then every key checked here with its path, and the line of each key found in the
//! text (block style; a key in a flow mapping is named by its parent's line).

use std::collections::BTreeMap;
use std::time::Duration;

use yaml_serde::{Mapping, Value};

use super::keys::{self, KeyError, POLICY_KEYS};
use super::{PolicySpec, Project, SelectionSpec, Settings, Spec, SpecError, Target, VERSION};
use crate::duration;
use crate::job::{MAX_CONCURRENCY, Selection, Window};

const TOP_KEYS: &[&str] = &["version", "defaults", "policies", "selections", "targets"];
const SETTING_KEYS: &[&str] = &["concurrency", "wait-timeout", "deadline", "max-pause", "allow-empty"];
const POLICY_EXTRA_KEYS: &[&str] = &["every", "warn", "crit"];
const SELECTION_KEYS: &[&str] = &["select", "volumes", "all", "exclude", "policies"];
const TARGET_KEYS: &[&str] = &[
    "cloud",
    "region",
    "regions",
    "project",
    "project-id",
    "project-domain",
    "selections",
    "allow-empty",
    "concurrency",
    "wait-timeout",
    "deadline",
    "max-pause",
];

/// The line of every block key, by its path.
struct Lines {
    keys: Vec<(Vec<String>, usize)>,
}

impl Lines {
    fn new(text: &str) -> Lines {
        let mut keys: Vec<(Vec<String>, usize)> = Vec::new();
        let mut stack: Vec<(usize, String)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
                continue;
            }
            let mut indent = raw.len().saturating_sub(trimmed.len());
            let mut body = trimmed;
            while let Some(rest) = body.strip_prefix("- ") {
                let rest_trimmed = rest.trim_start();
                indent = indent.saturating_add(body.len().saturating_sub(rest_trimmed.len()));
                body = rest_trimmed;
            }
            let Some(key) = key_of(body) else { continue };
            while stack.last().is_some_and(|(at, _)| *at >= indent) {
                stack.pop();
            }
            stack.push((indent, key));
            let path: Vec<String> = stack.iter().map(|(_, k)| k.clone()).collect();
            if !keys.iter().any(|(p, _)| *p == path) {
                keys.push((path, i.saturating_add(1)));
            }
        }
        Lines { keys }
    }

    /// The line of `path`, else of its nearest parent found, else 1.
    fn of(&self, path: &[String]) -> usize {
        let mut len = path.len();
        loop {
            if let Some((_, line)) = self.keys.iter().find(|(p, _)| p.as_slice() == &path[..len]) {
                return *line;
            }
            if len == 0 {
                return 1;
            }
            len -= 1;
        }
    }
}

/// The key of a block mapping's line (`key: ...`, `"key": ...`), if it is one.
fn key_of(body: &str) -> Option<String> {
    if let Some(q) = body.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let rest = &body[1..];
        let end = rest.find(q)?;
        let after = &rest[end.saturating_add(1)..];
        return after.trim_start().starts_with(':').then(|| rest[..end].to_owned());
    }
    if body.starts_with(['{', '[', '&', '*', '!', '|', '>']) {
        return None;
    }
    let end = body.find(": ").or_else(|| body.strip_suffix(':').map(str::len))?;
    let key = body[..end].trim_end();
    (!key.is_empty() && !key.contains(" #")).then(|| key.to_owned())
}

/// The state of one parse: the origin and the lines, for the errors.
struct Ctx {
    origin: String,
    lines: Lines,
}

/// A key path being checked.
#[derive(Clone)]
struct Path(Vec<String>);

impl Path {
    fn at(&self, key: &str) -> Path {
        let mut p = self.0.clone();
        p.push(key.to_owned());
        Path(p)
    }

    fn text(&self) -> String {
        self.0.join(".")
    }
}

impl Ctx {
    fn err(&self, path: &Path, message: impl Into<String>) -> SpecError {
        SpecError { origin: self.origin.clone(), line: self.lines.of(&path.0), path: path.text(), message: message.into() }
    }

    /// A mapping with string keys, each one of `known` (else an unknown key, with the
    /// nearest known one suggested).
    fn mapping<'v>(&self, path: &Path, value: &'v Value, known: &[&str]) -> Result<Vec<(String, &'v Value)>, SpecError> {
        let m = self.any_mapping(path, value)?;
        for (k, _) in &m {
            if !known.is_empty() && !known.contains(&k.as_str()) {
                let message = match suggest(k, known) {
                    Some(s) => format!("unknown key (did you mean {s}?)"),
                    None => format!("unknown key (known: {})", known.join(", ")),
                };
                return Err(self.err(&path.at(k), message));
            }
        }
        Ok(m)
    }

    /// A mapping with string keys, any keys.
    fn any_mapping<'v>(&self, path: &Path, value: &'v Value) -> Result<Vec<(String, &'v Value)>, SpecError> {
        let Value::Mapping(m) = value else { return Err(self.err(path, format!("expected a mapping, found {}", kind(value)))) };
        entries(self, path, m)
    }

    fn scalar(&self, path: &Path, value: &Value) -> Result<String, SpecError> {
        scalar(value).ok_or_else(|| self.err(path, format!("expected a single value, found {}", kind(value))))
    }

    fn string(&self, path: &Path, value: &Value) -> Result<String, SpecError> {
        let s = self.scalar(path, value)?;
        if s.trim().is_empty() {
            return Err(self.err(path, "is empty"));
        }
        Ok(s)
    }

    fn bool(&self, path: &Path, value: &Value) -> Result<bool, SpecError> {
        match value {
            Value::Bool(b) => Ok(*b),
            other => Err(self.err(path, format!("expected true or false, found {}", kind(other)))),
        }
    }

    fn list(&self, path: &Path, value: &Value) -> Result<Vec<String>, SpecError> {
        let Value::Sequence(items) = value else { return Err(self.err(path, format!("expected a list, found {}", kind(value)))) };
        items.iter().map(|v| self.string(path, v)).collect()
    }

    fn duration(
        &self,
        path: &Path,
        value: &Value,
        parse: fn(&str) -> Result<Duration, duration::DurationError>,
    ) -> Result<Duration, SpecError> {
        let s = self.scalar(path, value)?;
        parse(&s).map_err(|e| self.err(path, format!("{s:?} {e}")))
    }
}

fn entries<'v>(ctx: &Ctx, path: &Path, m: &'v Mapping) -> Result<Vec<(String, &'v Value)>, SpecError> {
    m.iter()
        .map(|(k, v)| match scalar(k) {
            Some(k) => Ok((k, v)),
            None => Err(ctx.err(path, format!("a key is {}, not a name", kind(k)))),
        })
        .collect()
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// The known key nearest to `key` (edit distance at most 2, or 3 with the first 4 letters
/// alike), if any.
fn suggest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let alike = |k: &str| key.chars().zip(k.chars()).take_while(|(a, b)| a == b).count() >= 4;
    known.iter().map(|k| (distance(key, k), *k)).filter(|(d, k)| *d <= 2 || (*d <= 3 && alike(k))).min_by_key(|(d, _)| *d).map(|(_, k)| k)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i.saturating_add(1);
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j.saturating_add(1)];
            let subst = prev.saturating_add(usize::from(ca != *cb));
            row[j.saturating_add(1)] = subst.min(cur.saturating_add(1)).min(row[j].saturating_add(1));
            prev = cur;
        }
    }
    row[b.len()]
}

pub(super) fn parse(text: &str, origin: &str) -> Result<Spec, SpecError> {
    let ctx = Ctx { origin: origin.to_owned(), lines: Lines::new(text) };
    let root = Path(Vec::new());
    let doc: Value = yaml_serde::from_str(text).map_err(|e| SpecError {
        origin: origin.to_owned(),
        line: e.location().map_or(1, |l| l.line()),
        path: String::new(),
        message: format!("not YAML: {e}"),
    })?;
    let top: BTreeMap<String, &Value> = ctx.mapping(&root, &doc, TOP_KEYS)?.into_iter().collect();
    let version = root.at("version");
    match top.get("version") {
        None => return Err(ctx.err(&version, format!("missing: the spec begins with version: {VERSION}"))),
        Some(Value::Number(n)) if n.as_u64() == Some(VERSION) => {}
        Some(v) => {
            let shown = scalar(v).unwrap_or_else(|| kind(v).to_owned());
            return Err(ctx.err(&version, format!("{shown} is not a version this tool reads (version: {VERSION})")));
        }
    }
    let defaults = match top.get("defaults") {
        Some(v) => settings(&ctx, &root.at("defaults"), &ctx.mapping(&root.at("defaults"), v, SETTING_KEYS)?)?,
        None => Settings::default(),
    };
    let policies = policies(&ctx, &root.at("policies"), top.get("policies").copied())?;
    let selections = selections(&ctx, &root.at("selections"), top.get("selections").copied(), &policies)?;
    let targets = targets(&ctx, &root.at("targets"), top.get("targets").copied(), &selections, &defaults)?;
    Ok(Spec { origin: origin.to_owned(), policies, selections, targets })
}

/// The settings keys of `defaults` or of a target (other keys are the caller's).
fn settings(ctx: &Ctx, path: &Path, map: &[(String, &Value)]) -> Result<Settings, SpecError> {
    let mut s = Settings::default();
    for (k, v) in map {
        let p = path.at(k);
        match k.as_str() {
            "concurrency" => {
                let text = ctx.scalar(&p, v)?;
                let n = text.trim().parse::<usize>().ok().filter(|n| (1..=MAX_CONCURRENCY).contains(n));
                s.concurrency = Some(n.ok_or_else(|| ctx.err(&p, format!("{text:?} is not a whole number from 1 to {MAX_CONCURRENCY}")))?);
            }
            "wait-timeout" => s.wait_timeout = Some(ctx.duration(&p, v, duration::parse_timeout)?),
            "deadline" => s.deadline = Some(ctx.duration(&p, v, duration::parse_timeout)?),
            "max-pause" => s.max_pause = Some(ctx.duration(&p, v, duration::parse_timeout)?),
            "allow-empty" => s.allow_empty = ctx.bool(&p, v)?,
            _ => {}
        }
    }
    Ok(s)
}

fn policies(ctx: &Ctx, path: &Path, value: Option<&Value>) -> Result<Vec<PolicySpec>, SpecError> {
    let Some(value) = value else { return Err(ctx.err(path, "missing: name at least one policy")) };
    let known: Vec<&str> = POLICY_KEYS.iter().chain(POLICY_EXTRA_KEYS).copied().collect();
    let mut out = Vec::new();
    for (id, body) in ctx.any_mapping(path, value)? {
        let p = path.at(&id);
        keys::check_policy_id(&id).map_err(|e| ctx.err(&p, key_message(&e)))?;
        let map: BTreeMap<String, &Value> = ctx.mapping(&p, body, &known)?.into_iter().collect();
        let mut values: BTreeMap<&str, String> = BTreeMap::new();
        for key in POLICY_KEYS {
            if let Some(v) = map.get(*key) {
                values.insert(key, ctx.scalar(&p.at(key), v)?);
            }
        }
        let policy = keys::policy_from_keys(&id, |k| values.get(k).cloned()).map_err(|e| match &e {
            KeyError::Value { key, .. } => ctx.err(&p.at(key), key_message(&e)),
            KeyError::Key { key, .. } if *key != "policy" => ctx.err(&p.at(key), key_message(&e)),
            KeyError::Conflict => ctx.err(&p.at("time-zone"), key_message(&e)),
            _ => ctx.err(&p, key_message(&e)),
        })?;
        let mut spec = PolicySpec::new(policy);
        if let Some(v) = map.get("every") {
            let text = ctx.scalar(&p.at("every"), v)?;
            spec.every = Some(Window::parse(&text).map_err(|e| ctx.err(&p.at("every"), e))?);
        }
        if let Some(v) = map.get("warn") {
            spec.warn = Some(ctx.duration(&p.at("warn"), v, duration::parse_exact)?);
        }
        if let Some(v) = map.get("crit") {
            spec.crit = Some(ctx.duration(&p.at("crit"), v, duration::parse_exact)?);
        }
        match (spec.warn, spec.crit) {
            (Some(w), Some(c)) if c < w => {
                return Err(ctx.err(&p.at("crit"), "is shorter than warn: a snapshot would be critical before it is a warning"));
            }
            (Some(_), None) => return Err(ctx.err(&p.at("warn"), "goes with crit: give both thresholds")),
            (None, Some(_)) => return Err(ctx.err(&p.at("crit"), "goes with warn: give both thresholds")),
            _ => {}
        }
        out.push(spec);
    }
    if out.is_empty() {
        return Err(ctx.err(path, "is empty: name at least one policy"));
    }
    Ok(out)
}

/// A policy key's error as the spec words it (the key is in the path).
fn key_message(e: &KeyError) -> String {
    match e {
        KeyError::Value { value, message, .. } => format!("{value:?} {message}"),
        KeyError::Key { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn selections(ctx: &Ctx, path: &Path, value: Option<&Value>, policies: &[PolicySpec]) -> Result<Vec<SelectionSpec>, SpecError> {
    let Some(value) = value else { return Err(ctx.err(path, "missing: name at least one selection")) };
    let mut out = Vec::new();
    for (name, body) in ctx.any_mapping(path, value)? {
        let p = path.at(&name);
        let map: BTreeMap<String, &Value> = ctx.mapping(&p, body, SELECTION_KEYS)?.into_iter().collect();
        let mut selection = Selection::new();
        let mut kinds = 0usize;
        if let Some(v) = map.get("select") {
            let tags = ctx.any_mapping(&p.at("select"), v)?;
            if tags.is_empty() {
                return Err(ctx.err(&p.at("select"), "is empty: give KEY: VALUE tags"));
            }
            for (k, v) in tags {
                selection = selection.tag(k.clone(), ctx.scalar(&p.at("select").at(&k), v)?);
            }
            kinds = kinds.saturating_add(1);
        }
        if let Some(v) = map.get("volumes") {
            let volumes = ctx.list(&p.at("volumes"), v)?;
            if volumes.is_empty() {
                return Err(ctx.err(&p.at("volumes"), "is empty: give volume ids or names"));
            }
            for v in volumes {
                selection = selection.volume(v);
            }
            kinds = kinds.saturating_add(1);
        }
        if let Some(v) = map.get("all") {
            let all = ctx.bool(&p.at("all"), v)?;
            selection = selection.all(all);
            kinds = kinds.saturating_add(usize::from(all));
        }
        if kinds == 0 {
            return Err(ctx.err(&p, "selects no volume: give select, volumes or all: true"));
        }
        if kinds > 1 {
            return Err(ctx.err(&p, "select, volumes and all do not go together: choose one way to select the volumes"));
        }
        if let Some(v) = map.get("exclude") {
            for e in ctx.list(&p.at("exclude"), v)? {
                selection = selection.exclude(e);
            }
        }
        let Some(v) = map.get("policies") else { return Err(ctx.err(&p, "has no policies: name the policies applied")) };
        let names = ctx.list(&p.at("policies"), v)?;
        if names.is_empty() {
            return Err(ctx.err(&p.at("policies"), "is empty: name the policies applied"));
        }
        for n in &names {
            if !policies.iter().any(|x| x.id() == n) {
                let known: Vec<&str> = policies.iter().map(PolicySpec::id).collect();
                return Err(ctx.err(&p.at("policies"), format!("{n:?} is no policy of the spec (its policies: {})", known.join(", "))));
            }
        }
        let mut unique: Vec<String> = Vec::new();
        for n in names {
            if !unique.contains(&n) {
                unique.push(n);
            }
        }
        out.push(SelectionSpec { name, selection, policies: unique });
    }
    if out.is_empty() {
        return Err(ctx.err(path, "is empty: name at least one selection"));
    }
    Ok(out)
}

fn targets(
    ctx: &Ctx,
    path: &Path,
    value: Option<&Value>,
    selections: &[SelectionSpec],
    defaults: &Settings,
) -> Result<Vec<Target>, SpecError> {
    let Some(value) = value else { return Err(ctx.err(path, "missing: name at least one target")) };
    let mut out: Vec<Target> = Vec::new();
    for (name, body) in ctx.any_mapping(path, value)? {
        let p = path.at(&name);
        let line = ctx.lines.of(&p.0);
        if name.trim().is_empty() || name.contains('/') {
            return Err(ctx.err(&p, "a target's name is not empty and has no '/'"));
        }
        let entries = ctx.mapping(&p, body, TARGET_KEYS)?;
        let map: BTreeMap<String, &Value> = entries.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let own = settings(ctx, &p, &entries)?;
        let get = |k: &str| map.get(k).map(|v| ctx.string(&p.at(k), v)).transpose();
        let cloud = get("cloud")?.ok_or_else(|| ctx.err(&p, "has no cloud: name an entry of clouds.yaml"))?;
        let project = match (get("project")?, get("project-id")?) {
            (Some(_), Some(_)) => return Err(ctx.err(&p.at("project-id"), "project and project-id do not go together: choose one")),
            (Some(name), None) => Some(Project::Name { name, domain: get("project-domain")?.unwrap_or_else(|| "Default".to_owned()) }),
            (None, Some(id)) => Some(Project::Id(id)),
            (None, None) => None,
        };
        if project.is_none() && map.contains_key("project-domain") {
            return Err(ctx.err(&p.at("project-domain"), "goes with project: NAME"));
        }
        let regions: Vec<Option<String>> = match (get("region")?, map.get("regions")) {
            (Some(_), Some(_)) => return Err(ctx.err(&p.at("regions"), "region and regions do not go together: choose one")),
            (Some(r), None) => vec![Some(r)],
            (None, Some(v)) => {
                let list = ctx.list(&p.at("regions"), v)?;
                if list.is_empty() {
                    return Err(ctx.err(&p.at("regions"), "is empty: name the regions"));
                }
                list.into_iter().map(Some).collect()
            }
            (None, None) => vec![None],
        };
        let Some(v) = map.get("selections") else { return Err(ctx.err(&p, "has no selections: name the selections done")) };
        let names = ctx.list(&p.at("selections"), v)?;
        if names.is_empty() {
            return Err(ctx.err(&p.at("selections"), "is empty: name the selections done"));
        }
        for n in &names {
            if !selections.iter().any(|s| s.name == *n) {
                let known: Vec<&str> = selections.iter().map(|s| s.name.as_str()).collect();
                return Err(
                    ctx.err(&p.at("selections"), format!("{n:?} is no selection of the spec (its selections: {})", known.join(", ")))
                );
            }
        }
        let expanded = map.contains_key("regions");
        for region in regions {
            let full = match (&region, expanded) {
                (Some(r), true) => format!("{name}/{r}"),
                _ => name.clone(),
            };
            if out.iter().any(|t| t.name == full) {
                return Err(ctx.err(&p, format!("the target {full:?} is named twice")));
            }
            out.push(Target {
                name: full,
                line,
                cloud: Some(cloud.clone()),
                region,
                project: project.clone(),
                selections: names.clone(),
                settings: {
                    let mut s = defaults.overlaid(&own);
                    // The target's own `allow-empty: false` wins over the defaults' true.
                    if map.contains_key("allow-empty") {
                        s.allow_empty = own.allow_empty;
                    }
                    s
                },
            });
        }
    }
    if out.is_empty() {
        return Err(ctx.err(path, "is empty: name at least one target"));
    }
    Ok(out)
}

//! From YAML documents to compiled rules: multi-document actions, metadata, detections,
//! conditions, logsource routes and correlation definitions.

use std::collections::BTreeMap;
use std::path::Path;

use ferret_core::Severity;
use serde_norway::{Mapping, Value};

use crate::condition::{self, Expr};
use crate::correlation::{CorrelationDef, CorrelationKind, CountCond};
use crate::logsource::{LogKind, LogSource, RoutingTable};
use crate::value::{self, FieldItem, ItemTest, Pattern};
use crate::{FailureKind, LoadFailure, LoadOptions, RuleKind, RuleMeta};

/// One selection: OR over alternatives, each an AND of items.
#[derive(Clone, Debug)]
pub(crate) struct Selection {
    pub(crate) alts: Vec<Vec<FieldItem>>,
}

impl Selection {
    pub(crate) fn matches(&self, event: &dyn ferret_core::Fields) -> bool {
        self.alts.iter().any(|alt| alt.iter().all(|it| it.matches(event)))
    }
}

/// A rule's detection compiled for one logsource variant.
#[derive(Clone, Debug)]
pub(crate) struct Detection {
    pub(crate) selections: Vec<Selection>,
    pub(crate) cond: Expr,
    /// Channels (any of; empty: any) this variant needs.
    pub(crate) channels: Vec<String>,
    /// Event ids (any of; empty: any) this variant needs.
    pub(crate) event_ids: Vec<u32>,
}

impl Detection {
    /// Literals one of which occurs in some field value of every event this detection
    /// matches (the Aho-Corasick prefilter anchor), or `None` when no such set is known.
    pub(crate) fn anchor(&self) -> Option<Vec<String>> {
        expr_anchor(&self.cond, &self.selections, 0)
    }

    /// Whether the condition can hold for an event whose field names are those for which
    /// `has_field` is true: `false` only when it is false for every such event.
    pub(crate) fn may_hold(&self, has_field: &dyn Fn(&str) -> bool) -> bool {
        let sel = |i: usize| {
            self.selections.get(i).is_none_or(|s| {
                s.alts.iter().any(|alt| {
                    alt.iter().all(|it| {
                        it.field.as_deref().is_none_or(|f| has_field(f) || it.holds_when_absent())
                    })
                })
            })
        };
        self.cond.may_hold(&sel, 0)
    }

    /// Every field the detection reads (`None`: a keyword search over all fields).
    pub(crate) fn fields(&self) -> impl Iterator<Item = Option<&str>> {
        self.selections.iter().flat_map(|s| s.alts.iter().flatten()).map(|it| it.field.as_deref())
    }
}

/// How selective an anchor is: its least distinctive literal (higher is better), then fewer
/// literals. A literal's distinctiveness is its length plus one for each punctuation or
/// space character, so `={{` (an injection marker) outranks `get` (an HTTP method that
/// nearly every web request carries) although both have three characters.
fn anchor_score(a: &[String]) -> (usize, std::cmp::Reverse<usize>) {
    let distinct = |l: &String| l.len() + l.bytes().filter(|b| !b.is_ascii_alphanumeric()).count();
    (a.iter().map(distinct).min().unwrap_or(0), std::cmp::Reverse(a.len()))
}

fn union(parts: impl Iterator<Item = Option<Vec<String>>>) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for p in parts {
        out.extend(p?);
    }
    out.sort();
    out.dedup();
    (!out.is_empty()).then_some(out)
}

fn best(parts: impl Iterator<Item = Option<Vec<String>>>) -> Option<Vec<String>> {
    parts.flatten().max_by_key(|a| anchor_score(a))
}

fn expr_anchor(e: &Expr, sels: &[Selection], depth: usize) -> Option<Vec<String>> {
    if depth > 64 {
        return None;
    }
    match e {
        Expr::Sel(i) => {
            let sel = sels.get(*i)?;
            union(sel.alts.iter().map(|alt| best(alt.iter().map(FieldItem::anchor))))
        }
        Expr::And(v) => best(v.iter().map(|x| expr_anchor(x, sels, depth + 1))),
        Expr::AtLeast(n, v) if *n >= v.len() => {
            best(v.iter().map(|x| expr_anchor(x, sels, depth + 1)))
        }
        Expr::Or(v) | Expr::AtLeast(_, v) => {
            union(v.iter().map(|x| expr_anchor(x, sels, depth + 1)))
        }
        Expr::Not(_) => None,
    }
}

/// A detection rule ready for indexing.
#[derive(Clone, Debug)]
pub(crate) struct CompiledRule {
    pub(crate) meta: RuleMeta,
    pub(crate) name: Option<String>,
    pub(crate) kind: LogKind,
    pub(crate) detections: Vec<Detection>,
}

/// A correlation rule before its referenced rules are resolved.
#[derive(Clone, Debug)]
pub(crate) struct PendingCorrelation {
    pub(crate) meta: RuleMeta,
    pub(crate) name: Option<String>,
    pub(crate) refs: Vec<String>,
    pub(crate) def: CorrelationDef,
    pub(crate) generate: bool,
}

/// What one document compiled into.
pub(crate) enum Compiled {
    Rule(Box<CompiledRule>),
    Correlation(Box<PendingCorrelation>),
}

/// Splits a file into its documents, applying `action: global|repeat|reset`.
pub(crate) fn documents(path: &Path, text: &str) -> (Vec<Value>, Option<LoadFailure>) {
    let mut out = Vec::new();
    let mut global: Option<Value> = None;
    let mut previous: Option<Value> = None;
    for de in serde_norway::Deserializer::from_str(text) {
        let v = match serde::Deserialize::deserialize(de) {
            Ok(v) => v,
            Err(e) => {
                let at = e
                    .location()
                    .map(|l| format!("line {} column {}: ", l.line(), l.column()))
                    .unwrap_or_default();
                return (out, Some(failure(path, None, FailureKind::Yaml, format!("{at}{e}"))));
            }
        };
        let Value::Mapping(map) = v else {
            if matches!(v, Value::Null) {
                continue;
            }
            return (
                out,
                Some(failure(path, None, FailureKind::Yaml, "document is not a mapping".into())),
            );
        };
        let action = map.get("action").and_then(Value::as_str).map(str::to_owned);
        let mut doc = Value::Mapping(map);
        if let Value::Mapping(m) = &mut doc {
            m.remove("action");
        }
        match action.as_deref() {
            Some("global") => global = Some(doc),
            Some("reset") => {
                global = None;
                previous = None;
            }
            Some("repeat") => {
                let Some(prev) = previous.clone() else {
                    return (
                        out,
                        Some(failure(
                            path,
                            None,
                            FailureKind::BadRule,
                            "`action: repeat` without a previous document".into(),
                        )),
                    );
                };
                let merged = merge(prev, doc);
                previous = Some(merged.clone());
                out.push(merged);
            }
            Some(other) => {
                return (
                    out,
                    Some(failure(
                        path,
                        None,
                        FailureKind::BadRule,
                        format!("unknown action `{other}`"),
                    )),
                );
            }
            None => {
                let merged = match &global {
                    Some(g) => merge(g.clone(), doc),
                    None => doc,
                };
                previous = Some(merged.clone());
                out.push(merged);
            }
        }
    }
    (out, None)
}

/// Deep merge: maps merge key by key, anything else is replaced by `over`.
fn merge(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Mapping(mut b), Value::Mapping(o)) => {
            for (k, v) in o {
                let merged = match b.remove(&k) {
                    Some(old) => merge(old, v),
                    None => v,
                };
                b.insert(k, merged);
            }
            Value::Mapping(b)
        }
        (_, o) => o,
    }
}

pub(crate) fn failure(
    path: &Path,
    doc: Option<&Mapping>,
    kind: FailureKind,
    reason: String,
) -> LoadFailure {
    LoadFailure {
        path: path.to_path_buf(),
        rule_id: doc.and_then(|d| d.get("id")).and_then(Value::as_str).map(str::to_owned),
        title: doc.and_then(|d| d.get("title")).and_then(Value::as_str).map(str::to_owned),
        kind,
        reason,
    }
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(s)) => {
            s.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()
        }
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn opt_str(m: &Mapping, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn meta(path: &Path, m: &Mapping, kind: RuleKind) -> RuleMeta {
    let ls = m.get("logsource").and_then(Value::as_mapping);
    let lsf = |k: &str| ls.and_then(|l| opt_str(l, k));
    RuleMeta {
        id: opt_str(m, "id").unwrap_or_else(|| {
            format!("file:{}", path.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default())
        }),
        title: opt_str(m, "title").unwrap_or_else(|| "untitled".to_owned()),
        level: opt_str(m, "level").and_then(|l| Severity::parse(&l)).unwrap_or(Severity::Medium),
        status: opt_str(m, "status"),
        description: opt_str(m, "description"),
        references: str_list(m.get("references")),
        tags: str_list(m.get("tags")),
        author: opt_str(m, "author"),
        falsepositives: str_list(m.get("falsepositives")),
        path: path.to_path_buf(),
        logsource: LogSource {
            product: lsf("product"),
            service: lsf("service"),
            category: lsf("category"),
        },
        kind,
        generate: true,
    }
}

/// Compiles one merged document.
pub(crate) fn compile_doc(
    path: &Path,
    doc: &Value,
    opts: &LoadOptions,
    table: &RoutingTable,
) -> Result<Compiled, LoadFailure> {
    let Some(m) = doc.as_mapping() else {
        return Err(failure(path, None, FailureKind::BadRule, "document is not a mapping".into()));
    };
    let fail = |kind, reason: String| failure(path, Some(m), kind, reason);
    if m.get("correlation").is_some() {
        return compile_correlation(path, m).map_err(|(k, r)| fail(k, r));
    }
    if m.get("filter").is_some() && m.get("detection").is_none() {
        return Err(fail(
            FailureKind::Unsupported,
            "Sigma filter (meta) rules are not supported".into(),
        ));
    }
    let Some(det) = m.get("detection").and_then(Value::as_mapping) else {
        return Err(fail(FailureKind::BadRule, "no `detection` section".into()));
    };
    let meta = meta(path, m, RuleKind::Detection);
    let route =
        table.route(&meta.logsource).map_err(|r| fail(FailureKind::UnsupportedLogsource, r))?;

    // Search identifiers in definition order.
    let mut names = Vec::new();
    let mut selections = Vec::new();
    let mut cond_texts = Vec::new();
    for (k, v) in det {
        let Some(k) = k.as_str() else {
            return Err(fail(FailureKind::BadRule, "non-string key in detection".into()));
        };
        match k {
            "condition" => match v {
                Value::String(s) => cond_texts.push(s.clone()),
                Value::Sequence(s) => {
                    for c in s {
                        let Some(c) = c.as_str() else {
                            return Err(fail(
                                FailureKind::BadCondition,
                                "condition list holds a non-string".into(),
                            ));
                        };
                        cond_texts.push(c.to_owned());
                    }
                }
                _ => {
                    return Err(fail(
                        FailureKind::BadCondition,
                        "condition is not a string".into(),
                    ));
                }
            },
            "timeframe" => {
                return Err(fail(
                    FailureKind::Unsupported,
                    "`timeframe` in detection (legacy aggregation) is not supported; use a correlation rule".into(),
                ));
            }
            _ => {
                let sel = compile_selection(k, v, opts)
                    .map_err(|(kind, r)| fail(kind, format!("{k}: {r}")))?;
                names.push(k.to_owned());
                selections.push(sel);
            }
        }
    }
    if cond_texts.is_empty() {
        return Err(fail(FailureKind::BadCondition, "no condition".into()));
    }
    let mut conds = Vec::new();
    for c in &cond_texts {
        conds.push(condition::parse(c, &names).map_err(|r| fail(FailureKind::BadCondition, r))?);
    }
    let cond = if conds.len() == 1 {
        conds.pop().unwrap_or(Expr::Or(Vec::new()))
    } else {
        Expr::Or(conds)
    };

    let rule_eids = required_event_ids(&cond, &selections);
    let mut detections = Vec::new();
    for v in &route.variants {
        let mut sels = selections.clone();
        if !v.fields.is_empty() {
            for s in &mut sels {
                for alt in &mut s.alts {
                    for it in alt {
                        it.rename(&v.fields);
                    }
                }
            }
        }
        let event_ids = match (&rule_eids, v.event_ids.is_empty()) {
            (None, _) => v.event_ids.clone(),
            (Some(r), true) => r.clone(),
            (Some(r), false) => {
                let both: Vec<u32> =
                    v.event_ids.iter().copied().filter(|e| r.contains(e)).collect();
                if both.is_empty() {
                    continue; // this variant can never satisfy the rule
                }
                both
            }
        };
        detections.push(Detection {
            selections: sels,
            cond: cond.clone(),
            channels: v.channel.clone(),
            event_ids,
        });
    }
    if detections.is_empty() {
        return Err(fail(
            FailureKind::UnsupportedLogsource,
            "the rule's EventID never occurs in its logsource's events".into(),
        ));
    }
    Ok(Compiled::Rule(Box::new(CompiledRule {
        meta,
        name: opt_str(m, "name"),
        kind: route.kind,
        detections,
    })))
}

/// Event ids the rule requires through a mandatory `EventID` item, if any.
fn required_event_ids(cond: &Expr, sels: &[Selection]) -> Option<Vec<u32>> {
    let mut req = Vec::new();
    cond.required(&mut req);
    for i in req {
        let Some(sel) = sels.get(i) else { continue };
        let [alt] = sel.alts.as_slice() else { continue };
        for it in alt {
            if it.field.as_deref() != Some("EventID") {
                continue;
            }
            let ItemTest::Values { patterns, all: false, null: false } = &it.test else { continue };
            let ids: Option<Vec<u32>> = patterns
                .iter()
                .map(|p| match p {
                    Pattern::Equals(l) => l.text().parse::<u32>().ok(),
                    _ => None,
                })
                .collect();
            if let Some(ids) = ids.filter(|v| !v.is_empty()) {
                return Some(ids);
            }
        }
    }
    None
}

fn compile_selection(
    name: &str,
    v: &Value,
    opts: &LoadOptions,
) -> Result<Selection, value::CompileError> {
    let map_alt = |m: &Mapping| -> Result<Vec<FieldItem>, value::CompileError> {
        let mut items = Vec::new();
        for (k, v) in m {
            let key = match k {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err((FailureKind::BadRule, "non-string field name".into())),
            };
            items.push(value::compile_item(&key, v, &opts.placeholders)?);
        }
        Ok(items)
    };
    match v {
        Value::Mapping(m) => Ok(Selection { alts: vec![map_alt(m)?] }),
        Value::Sequence(seq) if seq.iter().all(|x| x.as_mapping().is_some()) && !seq.is_empty() => {
            let mut alts = Vec::new();
            for x in seq {
                if let Some(m) = x.as_mapping() {
                    alts.push(map_alt(m)?);
                }
            }
            Ok(Selection { alts })
        }
        Value::Sequence(seq)
            if seq.iter().all(|x| !matches!(x, Value::Mapping(_) | Value::Sequence(_))) =>
        {
            // Keyword list: any keyword anywhere in the event.
            let item = value::compile_item("", v, &opts.placeholders)?;
            Ok(Selection { alts: vec![vec![item]] })
        }
        Value::String(_) | Value::Number(_) => {
            let item = value::compile_item("", v, &opts.placeholders)?;
            Ok(Selection { alts: vec![vec![item]] })
        }
        _ => Err((
            FailureKind::BadRule,
            format!("search identifier `{name}` has an unsupported shape"),
        )),
    }
}

fn compile_correlation(path: &Path, m: &Mapping) -> Result<Compiled, value::CompileError> {
    let bad = |r: &str| (FailureKind::Correlation, r.to_owned());
    let c = m
        .get("correlation")
        .and_then(Value::as_mapping)
        .ok_or_else(|| bad("`correlation` is not a mapping"))?;
    let ty =
        c.get("type").and_then(Value::as_str).ok_or_else(|| bad("correlation without `type`"))?;
    let refs = str_list(c.get("rules"));
    if refs.is_empty() {
        return Err(bad("correlation without `rules`"));
    }
    let group_by = str_list(c.get("group-by"));
    let timespan = match c.get("timespan") {
        Some(Value::String(s)) => parse_timespan(s),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(secs) => timespan_of(secs, 1),
            None => Err(format!("timespan {n} is not a whole number of seconds")),
        },
        _ => Err("correlation without a valid `timespan` (e.g. 5m)".to_owned()),
    }
    .map_err(|r| (FailureKind::Correlation, r))?;
    let cond_map = c.get("condition").and_then(Value::as_mapping);
    let count = match cond_map {
        Some(cm) => Some(CountCond::parse(cm).map_err(|r| (FailureKind::Correlation, r))?),
        None => None,
    };
    let field = cond_map.and_then(|cm| opt_str(cm, "field"));
    let kind = match ty {
        "event_count" => CorrelationKind::EventCount,
        "value_count" => CorrelationKind::ValueCount(
            field.ok_or_else(|| bad("value_count needs `condition.field`"))?,
        ),
        "temporal" => CorrelationKind::Temporal { ordered: false },
        "temporal_ordered" => CorrelationKind::Temporal { ordered: true },
        other => return Err(bad(&format!("unknown correlation type `{other}`"))),
    };
    if matches!(kind, CorrelationKind::EventCount | CorrelationKind::ValueCount(_))
        && count.is_none()
    {
        return Err(bad("count correlation without `condition`"));
    }
    let mut aliases: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    if let Some(am) = c.get("aliases").and_then(Value::as_mapping) {
        for (alias, per_rule) in am {
            let (Some(alias), Some(per_rule)) = (alias.as_str(), per_rule.as_mapping()) else {
                return Err(bad("malformed `aliases`"));
            };
            for (rule, field) in per_rule {
                if let (Some(r), Some(f)) = (rule.as_str(), field.as_str()) {
                    aliases.entry(alias.to_owned()).or_default().insert(r.to_owned(), f.to_owned());
                }
            }
        }
    }
    let generate = c.get("generate").and_then(Value::as_bool).unwrap_or(false);
    let mut meta = meta(path, m, RuleKind::Correlation);
    meta.generate = true;
    Ok(Compiled::Correlation(Box::new(PendingCorrelation {
        meta,
        name: opt_str(m, "name"),
        refs,
        def: CorrelationDef {
            kind,
            group_by,
            timespan,
            count,
            aliases,
            rules: Vec::new(),
            rule_names: Vec::new(),
        },
        generate,
    })))
}

/// The longest correlation window accepted: 100 years. A longer one cannot be told from "for
/// ever" in any log, and keeps event-time arithmetic far from chrono's limits.
pub(crate) const MAX_TIMESPAN_SECS: i64 = 100 * 365 * 86_400;

/// `count` units of `unit_secs` seconds as a correlation window: positive and at most
/// [`MAX_TIMESPAN_SECS`], else the reason (never a panic, whatever the numbers).
fn timespan_of(count: i64, unit_secs: i64) -> Result<chrono::Duration, String> {
    let secs = count
        .checked_mul(unit_secs)
        .filter(|s| (1..=MAX_TIMESPAN_SECS).contains(s))
        .ok_or_else(|| {
            format!(
                "timespan of {count} x {unit_secs} s is out of range (1 s to {} days)",
                MAX_TIMESPAN_SECS / 86_400
            )
        })?;
    chrono::Duration::try_seconds(secs)
        .ok_or_else(|| format!("timespan of {secs} s is out of range"))
}

/// Parses `30s`, `5m`, `1h`, `2d`, `1w`, `1M` (30 days), `1y` (365 days): a positive window of at
/// most [`MAX_TIMESPAN_SECS`], or the reason it is not one.
pub(crate) fn parse_timespan(s: &str) -> Result<chrono::Duration, String> {
    let t = s.trim();
    let bad =
        || format!("timespan `{t}` is not a number and a unit (s, m, h, d, w, M, y), e.g. 5m");
    let unit = t.chars().last().ok_or_else(bad)?;
    let digits = t.get(..t.len() - unit.len_utf8()).ok_or_else(bad)?.trim();
    let n: i64 = digits.parse().map_err(|_| {
        if !digits.is_empty() && digits.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit())
        {
            format!("timespan `{t}` is out of range (1 s to {} days)", MAX_TIMESPAN_SECS / 86_400)
        } else {
            bad()
        }
    })?;
    let unit_secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'M' => 30 * 86_400,
        'y' => 365 * 86_400,
        _ => return Err(bad()),
    };
    timespan_of(n, unit_secs)
}

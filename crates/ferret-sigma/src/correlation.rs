//! Correlation rules (`event_count`, `value_count`, `temporal`, `temporal_ordered`): a
//! stateful correlator fed with detection hits in event-time order.
//!
//! State is kept per correlation and per group (the values of the `group-by` fields, through
//! `aliases` where a correlation names them). Events older than `timespan` before the newest
//! one are evicted. When a condition holds, one [`CorrelationHit`] is emitted and the group's
//! window is cleared, so a burst yields one hit rather than one per further event.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ferret_core::Fields;
use serde_norway::{Mapping, Value};

/// What a correlation counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CorrelationKind {
    EventCount,
    /// Distinct values of this field.
    ValueCount(String),
    /// Every referenced rule fired in the window (`ordered`: in the listed order).
    Temporal {
        ordered: bool,
    },
}

/// `condition: {gte: 10, lt: 100}`: every stated bound must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CountCond {
    gt: Option<u64>,
    gte: Option<u64>,
    lt: Option<u64>,
    lte: Option<u64>,
    eq: Option<u64>,
    neq: Option<u64>,
}

impl CountCond {
    pub(crate) fn parse(m: &Mapping) -> Result<CountCond, String> {
        let mut c = CountCond::default();
        let mut any = false;
        for (k, v) in m {
            let Some(k) = k.as_str() else { continue };
            if k == "field" {
                continue;
            }
            let n = match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(|| format!("correlation condition `{k}` needs a non-negative integer"))?;
            let slot = match k {
                "gt" => &mut c.gt,
                "gte" => &mut c.gte,
                "lt" => &mut c.lt,
                "lte" => &mut c.lte,
                "eq" => &mut c.eq,
                "neq" => &mut c.neq,
                other => return Err(format!("unknown correlation condition operator `{other}`")),
            };
            *slot = Some(n);
            any = true;
        }
        if !any {
            return Err("correlation condition states no bound".into());
        }
        Ok(c)
    }

    pub(crate) fn holds(&self, n: u64) -> bool {
        self.gt.is_none_or(|b| n > b)
            && self.gte.is_none_or(|b| n >= b)
            && self.lt.is_none_or(|b| n < b)
            && self.lte.is_none_or(|b| n <= b)
            && self.eq.is_none_or(|b| n == b)
            && self.neq.is_none_or(|b| n != b)
    }
}

/// A resolved correlation.
#[derive(Clone, Debug)]
pub(crate) struct CorrelationDef {
    pub(crate) kind: CorrelationKind,
    pub(crate) group_by: Vec<String>,
    pub(crate) timespan: chrono::Duration,
    pub(crate) count: Option<CountCond>,
    /// alias → (rule id or name → field).
    pub(crate) aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// Referenced detection rules (indices into the matcher's rules), in listed order.
    pub(crate) rules: Vec<usize>,
    /// The references as written, parallel to `rules` (for alias lookup).
    pub(crate) rule_names: Vec<Vec<String>>,
}

/// A correlation rule that fired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorrelationHit {
    /// The correlation rule (index into [`crate::Matcher::rules`]).
    pub rule: usize,
    /// The `group-by` fields and their values.
    pub group: Vec<(String, String)>,
    /// Events (or, for `value_count`, distinct values) counted in the window.
    pub count: u64,
    /// Time of the first event in the window.
    pub first: DateTime<Utc>,
    /// Time of the event that completed the correlation.
    pub last: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct Group {
    /// (time, position of the rule in `rules`, value for value_count)
    events: VecDeque<(DateTime<Utc>, usize, Option<String>)>,
}

/// Stateful correlation over detection hits. One per stream (e.g. per host or per run).
#[derive(Debug)]
pub struct Correlator {
    defs: Arc<Vec<(usize, CorrelationDef)>>,
    by_rule: Arc<Vec<Vec<usize>>>,
    state: Vec<HashMap<Vec<String>, Group>>,
}

impl Correlator {
    pub(crate) fn new(
        defs: Arc<Vec<(usize, CorrelationDef)>>,
        by_rule: Arc<Vec<Vec<usize>>>,
    ) -> Correlator {
        let state = defs.iter().map(|_| HashMap::new()).collect();
        Correlator { defs, by_rule, state }
    }

    /// Feeds one detection hit (rule index from [`crate::RuleHit::rule`]) with its event time and
    /// fields; returns the correlations it completed.
    pub fn observe(
        &mut self,
        hit_rule: usize,
        time: DateTime<Utc>,
        event: &dyn Fields,
    ) -> Vec<CorrelationHit> {
        let mut out = Vec::new();
        let Some(corrs) = self.by_rule.get(hit_rule) else { return out };
        for &ci in corrs {
            let (Some((meta_idx, def)), Some(state)) = (self.defs.get(ci), self.state.get_mut(ci))
            else {
                continue;
            };
            for (pos, _) in def.rules.iter().enumerate().filter(|(_, r)| **r == hit_rule) {
                let names = def.rule_names.get(pos).map(Vec::as_slice).unwrap_or_default();
                let field_for = |f: &str| -> String {
                    def.aliases
                        .get(f)
                        .and_then(|per| names.iter().find_map(|n| per.get(n)))
                        .cloned()
                        .unwrap_or_else(|| f.to_owned())
                };
                let key: Vec<String> = def
                    .group_by
                    .iter()
                    .map(|g| {
                        event
                            .get(&field_for(g))
                            .map(|v| crate::value::value_text(&v))
                            .unwrap_or_default()
                    })
                    .collect();
                let value = match &def.kind {
                    CorrelationKind::ValueCount(f) => match event.get(&field_for(f)) {
                        Some(v) => Some(crate::value::value_text(&v)),
                        None => continue, // no value to count
                    },
                    _ => None,
                };
                let group = state.entry(key.clone()).or_default();
                group.events.push_back((time, pos, value));
                // Checked: an event time near chrono's lower limit keeps every event.
                let horizon =
                    time.checked_sub_signed(def.timespan).unwrap_or(DateTime::<Utc>::MIN_UTC);
                while group.events.front().is_some_and(|(t, _, _)| *t < horizon) {
                    group.events.pop_front();
                }
                let fired = match &def.kind {
                    CorrelationKind::EventCount => {
                        let n = group.events.len() as u64;
                        def.count.as_ref().is_some_and(|c| c.holds(n)).then_some(n)
                    }
                    CorrelationKind::ValueCount(_) => {
                        let set: BTreeSet<&str> =
                            group.events.iter().filter_map(|(_, _, v)| v.as_deref()).collect();
                        let n = set.len() as u64;
                        def.count.as_ref().is_some_and(|c| c.holds(n)).then_some(n)
                    }
                    CorrelationKind::Temporal { ordered } => {
                        let k = def.rules.len();
                        let done = if *ordered {
                            let mut want = 0;
                            for (_, p, _) in &group.events {
                                if *p == want {
                                    want += 1;
                                }
                            }
                            want >= k
                        } else {
                            let seen: BTreeSet<usize> =
                                group.events.iter().map(|(_, p, _)| *p).collect();
                            seen.len() >= k
                        };
                        done.then_some(group.events.len() as u64)
                    }
                };
                if let Some(count) = fired {
                    let first = group.events.front().map_or(time, |(t, _, _)| *t);
                    group.events.clear();
                    out.push(CorrelationHit {
                        rule: *meta_idx,
                        group: def.group_by.iter().cloned().zip(key.iter().cloned()).collect(),
                        count,
                        first,
                        last: time,
                    });
                }
            }
        }
        out
    }
}

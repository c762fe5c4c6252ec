//! The compiled, routed matcher.
//!
//! Every rule's detection is compiled per logsource variant. Variants are indexed by
//! [`LogKind`], then channel (case-insensitive), then event id, so an event is only tested
//! against rules that could match it. Rules whose condition requires an `EventID` value are
//! indexed under those ids even when their logsource names only a channel (for example, most
//! `service: security` rules). Evaluation allocates nothing for a non-matching rule.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use ferret_core::{FieldValue, Fields};

use crate::RuleMeta;
use crate::correlation::{CorrelationDef, Correlator};
use crate::logsource::LogKind;
use crate::rule::{CompiledRule, Detection, PendingCorrelation};

/// Most `(field, value)` pairs kept in one [`RuleHit`].
const MAX_MATCHED: usize = 16;
/// Longest value text kept in one matched pair (characters).
const MAX_VALUE_CHARS: usize = 512;

/// A detection rule that matched an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleHit {
    /// Index into [`Matcher::rules`].
    pub rule: usize,
    /// The `(field, value)` pairs that satisfied the rule (at most 16, values cut at 512 chars).
    pub matched: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct EidIndex {
    any: Vec<u32>,
    by_eid: HashMap<u32, Vec<u32>>,
}

impl EidIndex {
    fn add(&mut self, det: u32, eids: &[u32]) {
        if eids.is_empty() {
            self.any.push(det);
        } else {
            for e in eids {
                self.by_eid.entry(*e).or_default().push(det);
            }
        }
    }

    fn len(&self) -> usize {
        self.any.len() + self.by_eid.values().map(Vec::len).sum::<usize>()
    }
}

#[derive(Debug, Default)]
struct KindIndex {
    any_channel: EidIndex,
    channels: Vec<(String, EidIndex)>,
}

/// Rules compiled once and routed by log kind, channel and event id. `Send + Sync`.
#[derive(Debug)]
pub struct Matcher {
    metas: Vec<RuleMeta>,
    dets: Vec<(usize, Detection)>,
    index: Vec<KindIndex>,
    kinds: BTreeSet<LogKind>,
    correlations: Arc<Vec<(usize, CorrelationDef)>>,
    by_rule: Arc<Vec<Vec<usize>>>,
}

impl Matcher {
    pub(crate) fn build(
        rules: Vec<CompiledRule>,
        correlations: Vec<PendingCorrelation>,
    ) -> Matcher {
        let mut metas = Vec::new();
        let mut dets = Vec::new();
        let mut index: Vec<KindIndex> = LogKind::ALL.iter().map(|_| KindIndex::default()).collect();
        let mut kinds = BTreeSet::new();
        for (ri, r) in rules.into_iter().enumerate() {
            kinds.insert(r.kind);
            metas.push(r.meta);
            for d in r.detections {
                let di = u32::try_from(dets.len()).unwrap_or(u32::MAX);
                let Some(ki) = index.get_mut(r.kind.index()) else { continue };
                if d.channels.is_empty() {
                    ki.any_channel.add(di, &d.event_ids);
                } else {
                    for c in &d.channels {
                        let pos =
                            match ki.channels.iter().position(|(n, _)| n.eq_ignore_ascii_case(c)) {
                                Some(p) => p,
                                None => {
                                    ki.channels.push((c.clone(), EidIndex::default()));
                                    ki.channels.len() - 1
                                }
                            };
                        if let Some((_, e)) = ki.channels.get_mut(pos) {
                            e.add(di, &d.event_ids);
                        }
                    }
                }
                dets.push((ri, d));
            }
        }
        let n_rules = metas.len();
        let mut defs = Vec::new();
        let mut by_rule = vec![Vec::new(); n_rules];
        for c in correlations {
            let ci = defs.len();
            for &r in &c.def.rules {
                if let Some(v) = by_rule.get_mut(r) {
                    if !v.contains(&ci) {
                        v.push(ci);
                    }
                }
            }
            defs.push((metas.len(), c.def));
            metas.push(c.meta);
        }
        Matcher {
            metas,
            dets,
            index,
            kinds,
            correlations: Arc::new(defs),
            by_rule: Arc::new(by_rule),
        }
    }

    /// Every loaded rule: detection rules first, then correlation rules.
    pub fn rules(&self) -> &[RuleMeta] {
        &self.metas
    }

    /// The log kinds any detection rule reads (readers of other kinds can be skipped).
    pub fn kinds(&self) -> &BTreeSet<LogKind> {
        &self.kinds
    }

    /// Number of compiled detections routed for `kind` (a rule may have several variants).
    pub fn routed(&self, kind: LogKind) -> usize {
        self.index.get(kind.index()).map_or(0, |k| {
            k.any_channel.len() + k.channels.iter().map(|(_, e)| e.len()).sum::<usize>()
        })
    }

    /// Appends a [`RuleHit`] for every detection rule that matches `event`.
    ///
    /// Windows events are routed by their `Channel` and `EventID` fields.
    pub fn eval(&self, kind: LogKind, event: &dyn Fields, hits: &mut Vec<RuleHit>) {
        let Some(ki) = self.index.get(kind.index()) else { return };
        let start = hits.len();
        let eid = event_id(event);
        self.run(&ki.any_channel, eid, event, hits, start);
        if !ki.channels.is_empty() {
            if let Some(FieldValue::Str(ch)) = event.get("Channel") {
                if let Some((_, ei)) = ki.channels.iter().find(|(n, _)| n.eq_ignore_ascii_case(&ch))
                {
                    self.run(ei, eid, event, hits, start);
                }
            }
        }
    }

    fn run(
        &self,
        ei: &EidIndex,
        eid: Option<u32>,
        event: &dyn Fields,
        hits: &mut Vec<RuleHit>,
        start: usize,
    ) {
        self.test_all(&ei.any, event, hits, start);
        if let Some(list) = eid.and_then(|e| ei.by_eid.get(&e)) {
            self.test_all(list, event, hits, start);
        }
    }

    fn test_all(&self, list: &[u32], event: &dyn Fields, hits: &mut Vec<RuleHit>, start: usize) {
        for &di in list {
            let Some((rule, det)) = self.dets.get(di as usize) else { continue };
            if det.cond.eval(&mut |i| det.selections.get(i).is_some_and(|s| s.matches(event))) {
                if hits.get(start..).is_some_and(|h| h.iter().any(|h| h.rule == *rule)) {
                    continue;
                }
                hits.push(RuleHit { rule: *rule, matched: explain(det, event) });
            }
        }
    }

    /// A fresh correlator for one stream of hits.
    pub fn correlator(&self) -> Correlator {
        Correlator::new(Arc::clone(&self.correlations), Arc::clone(&self.by_rule))
    }
}

fn event_id(event: &dyn Fields) -> Option<u32> {
    match event.get("EventID")? {
        FieldValue::Int(i) => u32::try_from(i).ok(),
        FieldValue::Str(s) => s.trim().parse().ok(),
        FieldValue::Float(f) => {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "event ids are small integers"
            )]
            let v = f as u32;
            Some(v)
        }
        _ => None,
    }
}

fn explain(det: &Detection, event: &dyn Fields) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for sel in &det.selections {
        for alt in &sel.alts {
            if !alt.iter().all(|it| it.matches(event)) {
                continue;
            }
            for it in alt {
                if out.len() >= MAX_MATCHED {
                    return out;
                }
                if let Some((f, mut v)) = it.explain(event) {
                    if let Some((cut, _)) = v.char_indices().nth(MAX_VALUE_CHARS) {
                        v.truncate(cut);
                    }
                    if !out.iter().any(|(of, ov)| *of == f && *ov == v) {
                        out.push((f, v));
                    }
                }
            }
            break;
        }
    }
    out
}

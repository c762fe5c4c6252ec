//! The compiled, routed matcher.
//!
//! Every rule's detection is compiled per logsource variant. Variants are indexed by
//! [`LogKind`], then channel (case-insensitive), then event id, so an event is only tested
//! against rules that could match it. Rules whose condition requires an `EventID` value are
//! indexed under those ids even when their logsource names only a channel (for example, most
//! `service: security` rules). Evaluation allocates nothing for a non-matching rule.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use ferret_core::{FieldValue, Fields};

use crate::RuleMeta;
use crate::correlation::{CorrelationDef, Correlator};
use crate::logsource::LogKind;
use crate::rule::{CompiledRule, Detection, PendingCorrelation};
use crate::value::take_regex_gave_up;

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

/// Largest total length of a bucket's anchor literals compiled into a DFA (else an NFA).
const DFA_MAX_BYTES: usize = 16384;

/// Buckets with fewer anchored detections than this are tested without the prefilter.
const MIN_PREFILTER: usize = 12;

/// The detections routed to one (kind, channel, event id) key, with an Aho-Corasick
/// prefilter over their anchor literals.
#[derive(Debug, Default)]
struct Bucket {
    dets: Vec<u32>,
    /// Detections without an anchor: always tested.
    unanchored: Vec<u32>,
    /// Automaton over the distinct anchor literals (`None`: test every detection).
    ac: Option<AhoCorasick>,
    /// Pattern id → detections anchored on it.
    pat_dets: Vec<Vec<u32>>,
    /// Fields the prefilter scans, lowercase and sorted (`None`: every field, because some
    /// detection here searches keywords).
    scan_fields: Option<Vec<String>>,
}

impl Bucket {
    fn finish(&mut self, anchors: &[Option<Vec<String>>], dets: &[(usize, Detection)]) {
        let anchored: Vec<u32> = self
            .dets
            .iter()
            .copied()
            .filter(|d| anchors.get(*d as usize).is_some_and(Option::is_some))
            .collect();
        if anchored.len() < MIN_PREFILTER {
            return;
        }
        let mut lits: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for &d in &self.dets {
            match anchors.get(d as usize).and_then(Option::as_ref) {
                Some(a) => {
                    for l in a {
                        lits.entry(l.as_str()).or_default().push(d);
                    }
                }
                None => self.unanchored.push(d),
            }
        }
        let pats: Vec<&str> = lits.keys().copied().collect();
        // A DFA scans several times faster than an NFA; its size grows with the literals'
        // total length, so large sets keep the compact NFA.
        let total: usize = pats.iter().map(|p| p.len()).sum();
        let kind = if total <= DFA_MAX_BYTES {
            AhoCorasickKind::DFA
        } else {
            AhoCorasickKind::ContiguousNFA
        };
        match AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(kind))
            .build(&pats)
        {
            Ok(ac) => {
                self.ac = Some(ac);
                self.pat_dets = lits.into_values().collect();
                let mut fields = Vec::new();
                let mut all = false;
                for &d in &self.dets {
                    for f in dets.get(d as usize).into_iter().flat_map(|(_, det)| det.fields()) {
                        match f {
                            Some(f) => fields.push(f.to_ascii_lowercase()),
                            None => all = true,
                        }
                    }
                }
                fields.sort();
                fields.dedup();
                self.scan_fields = (!all).then_some(fields);
            }
            Err(_) => self.unanchored.clear(),
        }
    }
}

/// One routing bucket, for diagnostics and docs ([`Matcher::routing_stats`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteStat {
    /// Log kind.
    pub kind: LogKind,
    /// Channel (`None`: rules that need no particular channel).
    pub channel: Option<String>,
    /// Event id (`None`: rules that need no particular event id).
    pub event_id: Option<u32>,
    /// Detections routed here.
    pub detections: usize,
    /// Of those, how many are tested on every event (no prefilter anchor).
    pub always_tested: usize,
}

#[derive(Debug, Default)]
struct EidIndex {
    any: Bucket,
    by_eid: HashMap<u32, Bucket>,
}

impl EidIndex {
    fn add(&mut self, det: u32, eids: &[u32]) {
        if eids.is_empty() {
            self.any.dets.push(det);
        } else {
            for e in eids {
                self.by_eid.entry(*e).or_default().dets.push(det);
            }
        }
    }

    fn len(&self) -> usize {
        self.any.dets.len() + self.by_eid.values().map(|b| b.dets.len()).sum::<usize>()
    }

    fn finish(&mut self, anchors: &[Option<Vec<String>>], dets: &[(usize, Detection)]) {
        self.any.finish(anchors, dets);
        for b in self.by_eid.values_mut() {
            b.finish(anchors, dets);
        }
    }
}

#[derive(Debug, Default)]
struct KindIndex {
    any_channel: EidIndex,
    channels: Vec<(String, EidIndex)>,
    /// Whether any bucket of this kind is keyed by event id (else the id is not looked up).
    has_eids: bool,
}

impl KindIndex {
    /// Routes detection `di` by its channels and event ids.
    fn add(&mut self, di: u32, d: &Detection) {
        if d.channels.is_empty() {
            self.any_channel.add(di, &d.event_ids);
            return;
        }
        for c in &d.channels {
            let found = self.channels.iter().position(|(n, _)| n.eq_ignore_ascii_case(c));
            let pos = found.unwrap_or_else(|| {
                self.channels.push((c.clone(), EidIndex::default()));
                self.channels.len() - 1
            });
            if let Some((_, e)) = self.channels.get_mut(pos) {
                e.add(di, &d.event_ids);
            }
        }
    }

    /// Builds the prefilters once every detection is routed.
    fn finish(&mut self, anchors: &[Option<Vec<String>>], dets: &[(usize, Detection)]) {
        self.has_eids = !self.any_channel.by_eid.is_empty()
            || self.channels.iter().any(|(_, e)| !e.by_eid.is_empty());
        self.any_channel.finish(anchors, dets);
        for (_, e) in &mut self.channels {
            e.finish(anchors, dets);
        }
    }
}

/// Working buffers for [`Matcher::eval_with`]; keep one per thread and reuse it.
#[derive(Debug, Default)]
pub struct Scratch {
    seen: Vec<u32>,
    cand: Vec<u32>,
    start: usize,
}

/// Rules compiled once and routed by log kind, channel and event id. `Send + Sync`.
#[derive(Debug)]
pub struct Matcher {
    metas: Vec<RuleMeta>,
    dets: Vec<(usize, Detection)>,
    det_kinds: Vec<LogKind>,
    index: Vec<KindIndex>,
    kinds: BTreeSet<LogKind>,
    correlations: Arc<Vec<(usize, CorrelationDef)>>,
    by_rule: Arc<Vec<Vec<usize>>>,
    ruleset_sha256: String,
    /// Per rule: events on which one of its backtracking regexes gave up.
    gave_up: Box<[AtomicU64]>,
    /// Per detection: its prefilter anchor (kept to index [`SchemaView`]s).
    anchors: Vec<Option<Vec<String>>>,
}

/// The detections of one log kind that can match events with a known set of field names
/// (a W3C log's `#Fields` header, say), indexed like the matcher itself. A detection whose
/// condition cannot hold while the fields it names are absent is left out, so a log is
/// never tested against rules written for fields it does not have. Built by
/// [`Matcher::for_schema`], used with [`Matcher::eval_view`].
#[derive(Debug)]
pub struct SchemaView {
    kind: LogKind,
    index: KindIndex,
    /// Rules of this kind none of whose detections can match (index into [`Matcher::rules`]).
    inapplicable: Vec<usize>,
}

impl SchemaView {
    /// The rules of this kind that cannot match any event of the schema, because the fields
    /// their detection needs are not among its fields (index into [`Matcher::rules`]).
    pub fn inapplicable(&self) -> &[usize] {
        &self.inapplicable
    }
}

impl Matcher {
    pub(crate) fn build(
        rules: Vec<CompiledRule>,
        correlations: Vec<PendingCorrelation>,
        ruleset_sha256: String,
    ) -> Matcher {
        let mut metas = Vec::new();
        let mut dets = Vec::new();
        let mut det_kinds = Vec::new();
        let mut index: Vec<KindIndex> = LogKind::ALL.iter().map(|_| KindIndex::default()).collect();
        let mut kinds = BTreeSet::new();
        for (ri, r) in rules.into_iter().enumerate() {
            kinds.insert(r.kind);
            metas.push(r.meta);
            for d in r.detections {
                let di = u32::try_from(dets.len()).unwrap_or(u32::MAX);
                if let Some(ki) = index.get_mut(r.kind.index()) {
                    ki.add(di, &d);
                }
                dets.push((ri, d));
                det_kinds.push(r.kind);
            }
        }
        let anchors: Vec<Option<Vec<String>>> = dets.iter().map(|(_, d)| d.anchor()).collect();
        for ki in &mut index {
            ki.finish(&anchors, &dets);
        }
        let n_rules = metas.len();
        let mut defs = Vec::new();
        let mut by_rule = vec![Vec::new(); n_rules];
        for c in correlations {
            let ci = defs.len();
            for &r in &c.def.rules {
                if let Some(v) = by_rule.get_mut(r)
                    && !v.contains(&ci)
                {
                    v.push(ci);
                }
            }
            defs.push((metas.len(), c.def));
            metas.push(c.meta);
        }
        Matcher {
            metas,
            dets,
            det_kinds,
            index,
            kinds,
            correlations: Arc::new(defs),
            by_rule: Arc::new(by_rule),
            ruleset_sha256,
            gave_up: (0..n_rules).map(|_| AtomicU64::new(0)).collect(),
            anchors,
        }
    }

    /// Rules (index into [`Matcher::rules`]) with the number of events on which one of their
    /// regular expressions gave up since this matcher was built. Only look-around and
    /// back-reference patterns backtrack (the rest run in linear time); `fancy-regex` stops
    /// them at its backtrack limit, and the event is then taken as not matching that
    /// pattern, so a hit may have been missed there.
    pub fn regex_gave_up(&self) -> Vec<(usize, u64)> {
        self.gave_up
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                let n = n.load(Ordering::Relaxed);
                (n > 0).then_some((i, n))
            })
            .collect()
    }

    /// SHA-256 (hex) of the rule sources this matcher was built from ([`RuleSet::sha256`]).
    ///
    /// [`RuleSet::sha256`]: crate::RuleSet::sha256
    pub fn ruleset_sha256(&self) -> &str {
        &self.ruleset_sha256
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

    /// The routing table as built: one row per (kind, channel, event id) bucket with the number
    /// of detections routed there and how many of them the literal prefilter cannot skip.
    pub fn routing_stats(&self) -> Vec<RouteStat> {
        let mut out = Vec::new();
        for kind in LogKind::ALL {
            let Some(ki) = self.index.get(kind.index()) else { continue };
            let chans = std::iter::once((None, &ki.any_channel))
                .chain(ki.channels.iter().map(|(c, e)| (Some(c.clone()), e)));
            for (channel, ei) in chans {
                let eids = std::iter::once((None, &ei.any))
                    .chain(ei.by_eid.iter().map(|(e, b)| (Some(*e), b)));
                for (event_id, b) in eids {
                    if b.dets.is_empty() {
                        continue;
                    }
                    out.push(RouteStat {
                        kind,
                        channel: channel.clone(),
                        event_id,
                        detections: b.dets.len(),
                        always_tested: if b.ac.is_some() {
                            b.unanchored.len()
                        } else {
                            b.dets.len()
                        },
                    });
                }
            }
        }
        out.sort_by(|a, b| (a.kind, &a.channel, a.event_id).cmp(&(b.kind, &b.channel, b.event_id)));
        out
    }

    /// Appends a [`RuleHit`] for every detection rule that matches `event`.
    ///
    /// Windows events are routed by their `Channel` and `EventID` fields.
    pub fn eval(&self, kind: LogKind, event: &dyn Fields, hits: &mut Vec<RuleHit>) {
        self.eval_with(kind, event, hits, &mut Scratch::default());
    }

    /// [`Matcher::eval`] with caller-owned working buffers, so that matching many events
    /// allocates nothing for events no rule matches.
    pub fn eval_with(
        &self,
        kind: LogKind,
        event: &dyn Fields,
        hits: &mut Vec<RuleHit>,
        scratch: &mut Scratch,
    ) {
        let Some(ki) = self.index.get(kind.index()) else { return };
        self.eval_index(ki, event, hits, scratch);
    }

    /// The detections of `kind` that can match an event whose field names are those for
    /// which `has_field` (compared ignoring ASCII case, as events look fields up) is true.
    /// Sound: a detection is left out only when its condition is false for every event
    /// lacking those fields, whatever the other fields hold.
    pub fn for_schema(&self, kind: LogKind, has_field: &dyn Fn(&str) -> bool) -> SchemaView {
        let mut index = KindIndex::default();
        let mut kept_rules = BTreeSet::new();
        let mut kind_rules = BTreeSet::new();
        for (di, ((rule, det), k)) in self.dets.iter().zip(&self.det_kinds).enumerate() {
            if *k != kind {
                continue;
            }
            kind_rules.insert(*rule);
            if det.may_hold(has_field) {
                kept_rules.insert(*rule);
                index.add(u32::try_from(di).unwrap_or(u32::MAX), det);
            }
        }
        index.finish(&self.anchors, &self.dets);
        let inapplicable = kind_rules.difference(&kept_rules).copied().collect();
        SchemaView { kind, index, inapplicable }
    }

    /// [`Matcher::eval_with`] through a [`SchemaView`] of this matcher: the same hits for
    /// any event of `view`'s kind whose field names belong to the view's schema.
    pub fn eval_view(
        &self,
        view: &SchemaView,
        event: &dyn Fields,
        hits: &mut Vec<RuleHit>,
        scratch: &mut Scratch,
    ) {
        debug_assert!(self.index.get(view.kind.index()).is_some());
        self.eval_index(&view.index, event, hits, scratch);
    }

    fn eval_index(
        &self,
        ki: &KindIndex,
        event: &dyn Fields,
        hits: &mut Vec<RuleHit>,
        scratch: &mut Scratch,
    ) {
        scratch.start = hits.len();
        let eid = if ki.has_eids { event_id(event) } else { None };
        self.run(&ki.any_channel, eid, event, hits, scratch);
        if !ki.channels.is_empty()
            && let Some(FieldValue::Str(ch)) = event.get("Channel")
            && let Some((_, ei)) = ki.channels.iter().find(|(n, _)| n.eq_ignore_ascii_case(&ch))
        {
            self.run(ei, eid, event, hits, scratch);
        }
    }

    fn run(
        &self,
        ei: &EidIndex,
        eid: Option<u32>,
        event: &dyn Fields,
        hits: &mut Vec<RuleHit>,
        scratch: &mut Scratch,
    ) {
        self.bucket(&ei.any, event, hits, scratch);
        if let Some(b) = eid.and_then(|e| ei.by_eid.get(&e)) {
            self.bucket(b, event, hits, scratch);
        }
    }

    fn bucket(&self, b: &Bucket, event: &dyn Fields, hits: &mut Vec<RuleHit>, sc: &mut Scratch) {
        let Some(ac) = &b.ac else {
            self.test_all(&b.dets, event, hits, sc.start);
            return;
        };
        // Which anchor literals occur anywhere in the event's values.
        let seen = &mut sc.seen;
        seen.clear();
        match &b.scan_fields {
            // A keyword search reads every field: scan the event's text in as few pieces as
            // it offers (a line-based record hands over its line once).
            None => event.for_each_blob(&mut |v| scan_value(ac, &v, seen)),
            Some(fields) => event.for_each(&mut |name, v| {
                if fields.binary_search_by(|f| cmp_ascii_ci(f, name)).is_ok() {
                    scan_value(ac, &v, seen);
                }
            }),
        }
        let cand = &mut sc.cand;
        cand.clear();
        cand.extend_from_slice(&b.unanchored);
        for &p in seen.iter() {
            if let Some(ds) = b.pat_dets.get(p as usize) {
                cand.extend_from_slice(ds);
            }
        }
        cand.sort_unstable();
        cand.dedup();
        let start = sc.start;
        self.test_all(cand, event, hits, start);
    }

    fn test_all(&self, list: &[u32], event: &dyn Fields, hits: &mut Vec<RuleHit>, start: usize) {
        for &di in list {
            let Some((rule, det)) = self.dets.get(di as usize) else { continue };
            let hit =
                det.cond.eval(&mut |i| det.selections.get(i).is_some_and(|s| s.matches(event)));
            if take_regex_gave_up()
                && let Some(n) = self.gave_up.get(*rule)
            {
                n.fetch_add(1, Ordering::Relaxed);
            }
            if hit {
                if hits.get(start..).is_some_and(|h| h.iter().any(|h| h.rule == *rule)) {
                    continue;
                }
                hits.push(RuleHit { rule: *rule, matched: explain(det, event) });
                // Re-testing for the explanation may trip the same limit: counted above.
                take_regex_gave_up();
            }
        }
    }

    /// The same result as [`Matcher::eval`], computed by testing every detection of `kind`
    /// whose channel and event id fit, without the index or the literal prefilter. Slow; for
    /// differential tests of the fast path.
    pub fn eval_exhaustive(&self, kind: LogKind, event: &dyn Fields, hits: &mut Vec<RuleHit>) {
        let start = hits.len();
        let eid = event_id(event);
        let channel = match event.get("Channel") {
            Some(FieldValue::Str(c)) => Some(c.into_owned()),
            _ => None,
        };
        let list: Vec<u32> = (0..self.dets.len())
            .filter(|&i| {
                let (Some(k), Some((_, d))) = (self.det_kinds.get(i), self.dets.get(i)) else {
                    return false;
                };
                *k == kind
                    && (d.channels.is_empty()
                        || channel
                            .as_deref()
                            .is_some_and(|c| d.channels.iter().any(|x| x.eq_ignore_ascii_case(c))))
                    && (d.event_ids.is_empty() || eid.is_some_and(|e| d.event_ids.contains(&e)))
            })
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        self.test_all(&list, event, hits, start);
    }

    /// Number of correlation rules (when zero, hits need not be fed to a [`Correlator`]).
    pub fn correlation_count(&self) -> usize {
        self.correlations.len()
    }

    /// A fresh correlator for one stream of hits.
    pub fn correlator(&self) -> Correlator {
        Correlator::new(Arc::clone(&self.correlations), Arc::clone(&self.by_rule))
    }
}

/// Compares `lower` (already lowercase) with `name` ignoring ASCII case, without allocating.
fn cmp_ascii_ci(lower: &str, name: &str) -> std::cmp::Ordering {
    lower.bytes().cmp(name.bytes().map(|b| b.to_ascii_lowercase()))
}

/// Adds the ids of the patterns found in `v` (lists element by element).
fn scan_value(ac: &AhoCorasick, v: &FieldValue<'_>, seen: &mut Vec<u32>) {
    let mut scan = |text: &str| {
        for m in ac.find_overlapping_iter(text) {
            let id = m.pattern().as_u32();
            if !seen.contains(&id) {
                seen.push(id);
            }
        }
    };
    match v {
        FieldValue::Str(s) => scan(s),
        FieldValue::Int(i) => {
            let mut buf = [0u8; 24];
            scan(crate::value::fmt_i64(*i, &mut buf));
        }
        FieldValue::Float(f) => scan(&f.to_string()),
        FieldValue::Bool(b) => scan(if *b { "true" } else { "false" }),
        FieldValue::Null => {}
        FieldValue::List(l) => {
            for e in l {
                scan_value(ac, e, seen);
            }
        }
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

//! MISP events: the JSON event export of the MISP core format (`{"Event": {…}}`, a list of
//! them, or a REST search answer `{"response": [{"Event": {…}}, …]}`), one file of a MISP
//! feed, and the feed's `manifest.json`.
//!
//! What is loaded, per event, from attributes whose `to_ids` flag is set:
//! - `md5`, `sha1`, `sha256`, and the hash half of `filename|md5`, `filename|sha1`,
//!   `filename|sha256` → hash indicators (the file name goes into the rule's name: content
//!   identifies the file, a renamed copy is still found);
//! - `filename` → a file-name indicator: the last path component (or, for a value with a
//!   folder, the whole path's tail), ASCII case-insensitive, either separator;
//! - objects of type `file`: their `md5`/`sha1`/`sha256` attributes as hash indicators, or,
//!   when the object has no digest, its `filename` (with `size-in-bytes` when given);
//! - `domain`, `hostname`, `ip-src`, `ip-dst`, `url`, `domain|ip`, `ip-src|port`,
//!   `ip-dst|port`, `hostname|port` (standalone or in any object) → network indicators
//!   ([`crate::network`]), for the log detectors;
//! - `link` attributes (any `to_ids`) → the event's references.
//!
//! Each indicator's rule id is the attribute's UUID and its name carries the event's UUID
//! and `info`, so a finding names both. Attributes without `to_ids`, of types ferret does not
//! match, or flagged as warning-list hits by the exporting MISP (`warnings` on the
//! attribute, or the event's `warnings`/`Warnings` keyed by attribute id) are left out and
//! counted in notes of kind [`ferret_core::ProblemKind::Skipped`]: ferret applies no warning list of its
//! own, and never drops a value silently. Deleted attributes are ignored.
//!
//! Format reference: the MISP core format, <https://www.misp-project.org/datamodels/> and
//! <https://github.com/MISP/misp-rfc> (`misp-core-format`).

use std::collections::BTreeMap;

use ferret_core::{RuleRef, Severity};
use serde_json::Value;

use crate::expr::{Cmp, Expr, Field, NumOp, Term};
use crate::hashlist::parse_hex_digest;
use crate::names::compile;
use crate::network::{NetIndicator, NetKind, normalise};
use crate::{DEFAULT_HASH_SCORE, Digest, HashKind, HashMeta, LoadCtx};

/// Score of a file-name indicator from MISP (a name alone is weaker than a digest).
pub const NAME_SCORE: u8 = 70;
/// Most per-attribute problems reported for one file (then one summary line).
const MAX_NOTES: usize = 100;
/// Most references kept per event.
const MAX_REFS: usize = 20;

/// Whether `text` (its start, whitespace trimmed) looks like a MISP event export.
pub(crate) fn looks_like_misp(trimmed: &str) -> bool {
    let rest = if let Some(r) = trimmed.strip_prefix('[') {
        match r.trim_start().strip_prefix('{') {
            Some(r) => r,
            None => return false,
        }
    } else if let Some(r) = trimmed.strip_prefix('{') {
        r
    } else {
        return false;
    };
    let rest = rest.trim_start();
    rest.starts_with("\"Event\"") || rest.starts_with("\"response\"")
}

/// The event behind one MISP attribute: what a rule built from it says.
struct EventCtx {
    uuid: String,
    name: String,
    severity: Severity,
    references: Vec<String>,
    /// Attribute ids the event-level `warnings` names.
    warned_ids: Vec<String>,
}

/// Counts of what was left out, reported once per file.
#[derive(Default)]
struct Tally {
    without_ids: usize,
    unsupported: BTreeMap<String, usize>,
    warned: Vec<String>,
    notes: usize,
    notes_dropped: usize,
    events: usize,
}

pub(crate) fn load(ctx: &mut LoadCtx<'_>, text: &str) {
    let root: Value = match serde_json::from_str(text.trim_start_matches('\u{feff}')) {
        Ok(v) => v,
        Err(e) => {
            ctx.problem(
                Some(format!("{}:{}", e.line(), e.column())),
                format!("not valid JSON: {e}"),
            );
            return;
        }
    };
    let items: Vec<&Value> = match &root {
        Value::Object(m) => match (m.get("Event"), m.get("response")) {
            (Some(_), _) => vec![&root],
            (None, Some(Value::Array(a))) => a.iter().collect(),
            (None, Some(_)) => {
                ctx.problem(None, "MISP 'response' is not an array of events");
                return;
            }
            (None, None) => {
                ctx.problem(None, "expected a MISP event export ({\"Event\": {…}})");
                return;
            }
        },
        Value::Array(a) => a.iter().collect(),
        _ => {
            ctx.problem(None, "expected a MISP event export ({\"Event\": {…}})");
            return;
        }
    };
    let mut tally = Tally::default();
    for item in items {
        let event = item.get("Event").unwrap_or(item);
        if !event.is_object() {
            note(ctx, &mut tally, None, "an entry is not a MISP event object".to_owned());
            continue;
        }
        load_event(ctx, text, event, &mut tally);
    }
    finish(ctx, &tally);
}

fn finish(ctx: &mut LoadCtx<'_>, tally: &Tally) {
    if tally.events == 0 {
        ctx.problem(None, "no MISP event in this file");
    }
    if tally.notes_dropped > 0 {
        ctx.problem(None, format!("{} more attribute problems (not listed)", tally.notes_dropped));
    }
    if tally.without_ids > 0 {
        ctx.skipped(format!(
            "{} MISP attributes without to_ids left out (not meant for detection)",
            tally.without_ids
        ));
    }
    if !tally.unsupported.is_empty() {
        let n: usize = tally.unsupported.values().sum();
        let kinds: Vec<String> =
            tally.unsupported.iter().take(20).map(|(t, c)| format!("{t}: {c}")).collect();
        ctx.skipped(format!(
            "{n} MISP attributes of types ferret does not match left out ({})",
            kinds.join(", ")
        ));
    }
    if !tally.warned.is_empty() {
        let shown: Vec<&str> = tally.warned.iter().take(20).map(String::as_str).collect();
        let more = tally.warned.len().saturating_sub(shown.len());
        ctx.skipped(format!(
            "{} MISP attributes on the exporter's warning lists left out (ferret applies no \
             warning list itself): {}{}",
            tally.warned.len(),
            shown.join("; "),
            if more > 0 { format!("; and {more} more") } else { String::new() }
        ));
    }
}

fn note(ctx: &mut LoadCtx<'_>, tally: &mut Tally, line: Option<usize>, reason: String) {
    if tally.notes < MAX_NOTES {
        tally.notes += 1;
        ctx.problem(line.map(|l| l.to_string()), reason);
    } else {
        tally.notes_dropped += 1;
    }
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// A MISP boolean: `true`, `1`, `"1"` or `"true"`.
fn flag(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        Some(Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// `threat_level_id`: 1 high, 2 medium, 3 low, 4 undefined.
fn severity_of(event: &Value) -> Severity {
    let level = match event.get("threat_level_id") {
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    match level {
        Some(1) => Severity::High,
        Some(3) => Severity::Low,
        _ => Severity::Medium,
    }
}

fn array<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    match v.get(key) {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

fn load_event(ctx: &mut LoadCtx<'_>, text: &str, event: &Value, tally: &mut Tally) {
    tally.events += 1;
    let uuid = str_of(event, "uuid").unwrap_or("unknown").chars().take(64).collect::<String>();
    let info: String = str_of(event, "info").unwrap_or("").chars().take(200).collect();
    let mut references = Vec::new();
    let mut push_link = |a: &Value| {
        if str_of(a, "type") == Some("link")
            && let Some(v) = str_of(a, "value")
            && references.len() < MAX_REFS
            && !references.iter().any(|r| r == v)
        {
            references.push(v.to_owned());
        }
    };
    for a in array(event, "Attribute") {
        push_link(a);
    }
    for o in array(event, "Object") {
        for a in array(o, "Attribute") {
            push_link(a);
        }
    }
    let mut warned_ids = Vec::new();
    for key in ["warnings", "Warnings"] {
        match event.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => warned_ids.extend(m.keys().cloned()),
            Some(Value::Array(a)) if a.is_empty() => {}
            Some(_) => ctx.skipped(format!(
                "MISP event {uuid}: the export's '{key}' is not keyed by attribute id; ferret \
                 could not tell which attributes they concern and left none out for them"
            )),
        }
    }
    let name = if info.is_empty() {
        format!("MISP event {uuid}")
    } else {
        format!("{info} (MISP event {uuid})")
    };
    let ev = EventCtx { uuid, name, severity: severity_of(event), references, warned_ids };
    for a in array(event, "Attribute") {
        if let Some(attr) = admit(ctx, text, &ev, a, tally) {
            load_attribute(ctx, &ev, &attr, tally);
        }
    }
    for o in array(event, "Object") {
        if flag(o.get("deleted")) {
            continue;
        }
        let is_file = str_of(o, "name") == Some("file");
        let mut admitted = Vec::new();
        for a in array(o, "Attribute") {
            if let Some(attr) = admit(ctx, text, &ev, a, tally) {
                admitted.push(attr);
            }
        }
        if is_file {
            load_file_object(ctx, &ev, o, &admitted, tally);
        } else {
            for attr in &admitted {
                if net_kinds(&attr.kind).is_some() {
                    load_attribute(ctx, &ev, attr, tally);
                } else {
                    *tally
                        .unsupported
                        .entry(format!("{} in a {} object", attr.kind, object_name(o)))
                        .or_default() += 1;
                }
            }
        }
    }
}

fn object_name(o: &Value) -> String {
    str_of(o, "name").unwrap_or("unnamed").chars().take(40).collect()
}

/// One attribute that passed the `to_ids`, deletion and warning-list checks.
struct Attr {
    uuid: String,
    kind: String,
    value: String,
    relation: String,
    line: Option<usize>,
}

/// The attribute if it is to be loaded; otherwise counts why not.
fn admit(
    ctx: &mut LoadCtx<'_>,
    text: &str,
    ev: &EventCtx,
    a: &Value,
    tally: &mut Tally,
) -> Option<Attr> {
    if flag(a.get("deleted")) {
        return None;
    }
    let kind = str_of(a, "type").unwrap_or("").to_owned();
    if kind == "link" {
        return None;
    }
    if !flag(a.get("to_ids")) {
        tally.without_ids += 1;
        return None;
    }
    let uuid: String = str_of(a, "uuid").unwrap_or("").chars().take(64).collect();
    let line = if uuid.is_empty() { None } else { line_of(text, &uuid) };
    let Some(value) = str_of(a, "value") else {
        note(ctx, tally, line, format!("MISP event {}: attribute {uuid} has no value", ev.uuid));
        return None;
    };
    let id = match a.get("id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut lists: Vec<String> = Vec::new();
    if let Some(Value::Array(ws)) = a.get("warnings") {
        for w in ws {
            let n = str_of(w, "warninglist_name")
                .or_else(|| str_of(w, "name"))
                .or_else(|| w.as_str())
                .unwrap_or("a warning list");
            lists.push(n.chars().take(80).collect());
        }
    }
    if lists.is_empty() && id.as_ref().is_some_and(|i| ev.warned_ids.contains(i)) {
        lists.push("listed in the event's warnings".to_owned());
    }
    if !lists.is_empty() {
        lists.dedup();
        let v: String = value.chars().take(80).collect();
        tally.warned.push(format!("{kind} {v} (attribute {uuid}: {})", lists.join(", ")));
        return None;
    }
    Some(Attr {
        uuid,
        kind,
        value: value.to_owned(),
        relation: str_of(a, "object_relation").unwrap_or("").to_owned(),
        line,
    })
}

/// The 1-based line where `"uuid"` first appears in the text.
fn line_of(text: &str, uuid: &str) -> Option<usize> {
    let needle = format!("\"{uuid}\"");
    let at = text.find(&needle)?;
    Some(crate::line_of_offset(text.as_bytes(), at))
}

/// The network kinds an attribute type carries, and which `|`-separated part holds each.
fn net_kinds(kind: &str) -> Option<&'static [(NetKind, usize)]> {
    Some(match kind {
        "domain" | "hostname" | "hostname|port" => &[(NetKind::Domain, 0)],
        "ip-src" | "ip-dst" | "ip-src|port" | "ip-dst|port" => &[(NetKind::Ip, 0)],
        "url" => &[(NetKind::Url, 0)],
        "domain|ip" => &[(NetKind::Domain, 0), (NetKind::Ip, 1)],
        _ => return None,
    })
}

fn hash_kind(kind: &str) -> Option<HashKind> {
    match kind {
        "md5" => Some(HashKind::Md5),
        "sha1" => Some(HashKind::Sha1),
        "sha256" => Some(HashKind::Sha256),
        _ => None,
    }
}

fn digest_of(kind: HashKind, value: &str) -> Option<Digest> {
    parse_hex_digest(&value.trim().to_ascii_lowercase()).filter(|d| d.kind() == kind)
}

fn source_of(ctx: &LoadCtx<'_>, line: Option<usize>) -> String {
    match line {
        Some(l) => ctx.source_at(l),
        None => ctx.source().to_owned(),
    }
}

fn load_attribute(ctx: &mut LoadCtx<'_>, ev: &EventCtx, attr: &Attr, tally: &mut Tally) {
    let kind = attr.kind.as_str();
    if let Some(parts) = net_kinds(kind) {
        let pieces: Vec<&str> = attr.value.split('|').collect();
        for &(nk, at) in parts {
            let raw = pieces.get(at).copied().unwrap_or("");
            // `ip|port` may also be written `ip:port`; IPv6 keeps its colons.
            let raw = if kind.ends_with("|port") && pieces.len() == 1 {
                raw.rsplit_once(':').filter(|(h, _)| !h.contains(':')).map_or(raw, |(h, _)| h)
            } else {
                raw
            };
            let Some(value) = normalise(nk, raw) else {
                note(
                    ctx,
                    tally,
                    attr.line,
                    format!(
                        "MISP event {}: attribute {} ({kind}) '{:.80}' is not a valid {}",
                        ev.uuid,
                        attr.uuid,
                        attr.value,
                        nk.as_str()
                    ),
                );
                continue;
            };
            let rule = RuleRef {
                id: attr.uuid.clone(),
                name: format!("{} — {kind} {value:.120}", ev.name),
                source: Some(source_of(ctx, attr.line)),
                references: ev.references.clone(),
            };
            ctx.add_network(NetIndicator {
                kind: nk,
                value,
                rule,
                severity: ev.severity,
                origin: format!("MISP event {} attribute {}", ev.uuid, attr.uuid),
            });
        }
        return;
    }
    if let Some(hk) = hash_kind(kind) {
        add_digest(ctx, ev, attr, hk, &attr.value, None, tally);
        return;
    }
    if let Some(rest) = kind.strip_prefix("filename|")
        && let Some(hk) = hash_kind(rest)
    {
        let Some((name, hash)) = attr.value.rsplit_once('|') else {
            note(
                ctx,
                tally,
                attr.line,
                format!(
                    "MISP event {}: attribute {} ({kind}) has no '|' between name and hash",
                    ev.uuid, attr.uuid
                ),
            );
            return;
        };
        add_digest(ctx, ev, attr, hk, hash, Some(name), tally);
        return;
    }
    if kind == "filename" {
        add_file_name(ctx, ev, attr, None, tally);
        return;
    }
    *tally.unsupported.entry(kind.chars().take(40).collect()).or_default() += 1;
}

fn add_digest(
    ctx: &mut LoadCtx<'_>,
    ev: &EventCtx,
    attr: &Attr,
    hk: HashKind,
    value: &str,
    file_name: Option<&str>,
    tally: &mut Tally,
) {
    let Some(d) = digest_of(hk, value) else {
        note(
            ctx,
            tally,
            attr.line,
            format!(
                "MISP event {}: attribute {} ({}) '{:.80}' is not a {} digest",
                ev.uuid,
                attr.uuid,
                attr.kind,
                value,
                hk.label()
            ),
        );
        return;
    };
    let name = match file_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => format!("{} — file {n:.120}", ev.name),
        None => ev.name.clone(),
    };
    let meta =
        HashMeta { id: Some(&attr.uuid), name: &name, line: attr.line, references: &ev.references };
    ctx.add_hash(d, None, &meta, DEFAULT_HASH_SCORE, "misp");
}

/// The regex for a MISP file name: the value's path components (a drive letter dropped),
/// either separator, anchored at the end of the path and at a separator or its start.
fn name_regex(value: &str) -> Option<String> {
    let v = value.trim();
    let v = match v.as_bytes() {
        [d, b':', ..] if d.is_ascii_alphabetic() => v.get(2..).unwrap_or(""),
        _ => v,
    };
    let parts: Vec<String> =
        v.split(['/', '\\']).filter(|p| !p.is_empty()).map(regex::escape).collect();
    if parts.is_empty() {
        return None;
    }
    Some(format!(r"(?i)(?:^|[\\/]){}\z", parts.join(r"[\\/]")))
}

fn add_file_name(
    ctx: &mut LoadCtx<'_>,
    ev: &EventCtx,
    attr: &Attr,
    size: Option<u64>,
    tally: &mut Tally,
) {
    let Some(pattern) = name_regex(&attr.value) else {
        note(
            ctx,
            tally,
            attr.line,
            format!("MISP event {}: attribute {} (filename) is empty", ev.uuid, attr.uuid),
        );
        return;
    };
    let re = match compile(&pattern) {
        Ok(r) => r,
        Err(reason) => {
            note(
                ctx,
                tally,
                attr.line,
                format!("MISP event {}: attribute {} (filename): {reason}", ev.uuid, attr.uuid),
            );
            return;
        }
    };
    let mut terms = vec![Expr::Term(Term {
        field: Field::FullPath,
        cmp: Cmp::Matches(re),
        case_insensitive: true,
    })];
    if let Some(s) = size {
        terms.push(Expr::Term(Term {
            field: Field::Size,
            cmp: Cmp::Num(NumOp::Eq, s),
            case_insensitive: false,
        }));
    }
    let expr =
        if terms.len() == 1 { terms.pop().unwrap_or(Expr::Unknown) } else { Expr::And(terms) };
    let rule = RuleRef {
        id: attr.uuid.clone(),
        name: format!("{} — file name {:.120}", ev.name, attr.value.trim()),
        source: Some(source_of(ctx, attr.line)),
        references: ev.references.clone(),
    };
    ctx.add_compound(rule, NAME_SCORE, expr, "misp");
}

fn load_file_object(
    ctx: &mut LoadCtx<'_>,
    ev: &EventCtx,
    object: &Value,
    attrs: &[Attr],
    tally: &mut Tally,
) {
    let file_name = attrs.iter().find(|a| a.kind == "filename" || a.relation == "filename");
    // The object's name describes its digests whether or not it is itself for detection.
    let described = array(object, "Attribute")
        .iter()
        .filter(|a| !flag(a.get("deleted")))
        .find(|a| str_of(a, "type") == Some("filename"))
        .and_then(|a| str_of(a, "value"));
    let mut digests = 0;
    for a in attrs {
        if let Some(hk) = hash_kind(&a.kind) {
            add_digest(ctx, ev, a, hk, &a.value, described, tally);
            digests += 1;
        } else if net_kinds(&a.kind).is_some() {
            load_attribute(ctx, ev, a, tally);
        } else if !matches!(a.kind.as_str(), "filename" | "size-in-bytes") {
            *tally
                .unsupported
                .entry(format!("{} in a {} object", a.kind, object_name(object)))
                .or_default() += 1;
        }
    }
    if digests == 0
        && let Some(f) = file_name
    {
        let size = attrs
            .iter()
            .find(|a| a.kind == "size-in-bytes")
            .and_then(|a| a.value.trim().parse::<u64>().ok());
        add_file_name(ctx, ev, f, size, tally);
    }
}

/// One event listed in a MISP feed's `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedEntry {
    /// The event's UUID (its file is `<uuid>.json` beside the manifest).
    pub uuid: String,
    /// The event's `info`, when the manifest gives it.
    pub info: String,
}

/// Whether a file of this name and content is a MISP feed manifest: `manifest.json` holding
/// an object keyed by event UUIDs whose values are event summaries (`info`, `timestamp`, …).
pub fn is_feed_manifest(file_name: &str, content: &[u8]) -> bool {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    base.eq_ignore_ascii_case("manifest.json") && feed_manifest(content).is_ok()
}

/// The events a MISP feed's `manifest.json` lists, sorted by UUID. An error says why the
/// text is not such a manifest.
pub fn feed_manifest(content: &[u8]) -> Result<Vec<FeedEntry>, String> {
    let v: Value = serde_json::from_slice(content).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(m) = v else {
        return Err("a MISP feed manifest is an object keyed by event UUID".into());
    };
    let mut out = Vec::with_capacity(m.len());
    for (k, e) in &m {
        if !is_uuid(k) || !e.is_object() {
            return Err(format!("'{k:.40}' is not an event UUID with an event summary"));
        }
        let info = str_of(e, "info").unwrap_or("").chars().take(200).collect();
        out.push(FeedEntry { uuid: k.to_ascii_lowercase(), info });
    }
    out.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    Ok(out)
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_exports() {
        assert!(looks_like_misp("{\"Event\": {}}"));
        assert!(looks_like_misp("[ {\n \"Event\": {}}]"));
        assert!(looks_like_misp("{\"response\": []}"));
        assert!(!looks_like_misp("{\"type\": \"bundle\"}"));
        assert!(!looks_like_misp("[1]"));
    }

    #[test]
    fn name_regexes() {
        assert_eq!(name_regex("evil.exe").as_deref(), Some(r"(?i)(?:^|[\\/])evil\.exe\z"));
        assert_eq!(
            name_regex(r"C:\Windows\Temp\x.dll").as_deref(),
            Some(r"(?i)(?:^|[\\/])Windows[\\/]Temp[\\/]x\.dll\z")
        );
        assert_eq!(name_regex(" / "), None);
    }

    #[test]
    fn manifests() {
        let m = br#"{"5F1C0A2E-1111-4222-8333-944445555666": {"info": "x", "timestamp": "1"}}"#;
        let e = feed_manifest(m).unwrap();
        assert_eq!(e[0].uuid, "5f1c0a2e-1111-4222-8333-944445555666");
        assert!(is_feed_manifest("feed/manifest.json", m));
        assert!(!is_feed_manifest("feed/other.json", m));
        assert!(feed_manifest(br#"{"Event": {}}"#).is_err());
    }
}

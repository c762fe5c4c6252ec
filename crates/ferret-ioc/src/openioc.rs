//! OpenIOC 1.1 (and 1.0) documents: one indicator per file, an `Indicator` tree with
//! `operator="AND|OR"` whose leaves are `IndicatorItem`s (`Context search=…`,
//! `Content`, `condition`, `negate`, `preserve-case`).
//!
//! Terms a file at rest can decide: `FileItem/FileName`, `FullPath`, `FilePath` (the
//! directory), `FileExtension`, `SizeInBytes`, `Md5sum`, `Sha1sum`, `Sha256sum`, and the same
//! attributes of `fileWriteEvent` (`fileName`, `fullPath`, `filePath`, `fileExtension`,
//! `size`, `md5`, `sha1`, `sha256`) — a written file is a file at rest once written.
//! Conditions: `is`, `isnot`, `contains`, `containsnot`, `starts-with`, `ends-with`,
//! `matches`, `greater-than`, `less-than`; `negate="true"` inverts a term;
//! `preserve-case="false"` (the default) compares case-insensitively. Every other term is
//! *unknown* (see [`crate::expr`]), and the file's unsupported terms are reported once,
//! grouped by search path. A document with no term a file can satisfy is reported and
//! left out.
//!
//! Parsed with quick-xml's streaming reader: no DTD processing, no entity expansion
//! beyond the five predefined entities and character references.

use std::collections::BTreeMap;

use ferret_core::{RuleRef, Severity};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::expr::{Cmp, Expr, Field, NumOp, Term};
use crate::hashlist::parse_hex_digest;
use crate::names::compile;
use crate::network::{NetIndicator, NetKind, normalise};
use crate::{DEFAULT_COMPOUND_SCORE, DEFAULT_HASH_SCORE, HashKind, HashMeta, LoadCtx};

const MAX_DEPTH: usize = 64;

#[derive(Default)]
struct Item {
    condition: String,
    negate: bool,
    preserve_case: bool,
    search: String,
    content_type: String,
    content: String,
    line: usize,
}

#[derive(Default)]
struct Meta {
    id: String,
    short_description: String,
    description: String,
    links: Vec<String>,
}

fn attrs(e: &BytesStart<'_>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for a in e.attributes().flatten() {
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).to_ascii_lowercase();
        let value = match a.unescape_value() {
            Ok(v) => v.into_owned(),
            Err(_) => String::from_utf8_lossy(&a.value).into_owned(),
        };
        out.insert(key, value);
    }
    out
}

fn line_at(text: &str, offset: u64) -> usize {
    let off = usize::try_from(offset).unwrap_or(usize::MAX).min(text.len());
    crate::line_of_offset(text.as_bytes(), off)
}

pub(crate) fn load(ctx: &mut LoadCtx<'_>, text: &str) {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut meta = Meta::default();
    // Stack of open Indicator frames: (operator is AND, children).
    let mut stack: Vec<(bool, Vec<Expr>)> = Vec::new();
    let mut roots: Vec<Expr> = Vec::new();
    let mut item: Option<Item> = None;
    // The element whose text we are collecting.
    let mut text_target: Option<&'static str> = None;
    let mut in_metadata = false;
    let mut unsupported: BTreeMap<String, usize> = BTreeMap::new();
    // Network items that alone satisfy the indicator (every enclosing frame is OR).
    let mut net: Vec<(NetKind, String, usize)> = Vec::new();
    let mut saw_root = false;
    loop {
        let pos = reader.buffer_position();
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                let line = line_at(text, reader.error_position());
                ctx.line_problem(line, format!("malformed XML: {e}"));
                return;
            }
        };
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = ev_kind(&e);
                match name.as_str() {
                    "openioc" | "ioc" => {
                        saw_root = true;
                        if let Some(id) = attrs(&e).remove("id") {
                            meta.id = id;
                        }
                    }
                    "metadata" => in_metadata = true,
                    "short_description" if in_metadata || meta.short_description.is_empty() => {
                        text_target = Some("short");
                    }
                    "description" if item.is_none() => text_target = Some("desc"),
                    "link" => {
                        if let Some(h) = attrs(&e).remove("href")
                            && !meta.links.contains(&h)
                        {
                            meta.links.push(h);
                        }
                    }
                    "indicator" => {
                        if stack.len() >= MAX_DEPTH {
                            ctx.line_problem(
                                line_at(text, pos),
                                "indicator tree nested too deeply",
                            );
                            return;
                        }
                        let a = attrs(&e);
                        let op =
                            a.get("operator").map_or("AND", String::as_str).to_ascii_uppercase();
                        if op != "AND" && op != "OR" {
                            ctx.line_problem(
                                line_at(text, pos),
                                format!("unknown operator '{op:.20}', treated as AND"),
                            );
                        }
                        stack.push((op != "OR", Vec::new()));
                    }
                    "indicatoritem" => {
                        let a = attrs(&e);
                        let get = |k: &str| a.get(k).cloned().unwrap_or_default();
                        item = Some(Item {
                            condition: get("condition").to_ascii_lowercase(),
                            negate: get("negate").eq_ignore_ascii_case("true"),
                            preserve_case: get("preserve-case").eq_ignore_ascii_case("true"),
                            line: line_at(text, pos),
                            ..Item::default()
                        });
                    }
                    "context" => {
                        if let Some(it) = item.as_mut() {
                            it.search = attrs(&e).remove("search").unwrap_or_default();
                        }
                    }
                    "content" => {
                        if let Some(it) = item.as_mut() {
                            it.content_type = attrs(&e).remove("type").unwrap_or_default();
                            text_target = Some("content");
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                let s = match t.unescape() {
                    Ok(s) => s.into_owned(),
                    Err(_) => String::from_utf8_lossy(&t).into_owned(),
                };
                collect_text(text_target, &s, &mut meta, item.as_mut());
            }
            Event::CData(t) => {
                let s = String::from_utf8_lossy(&t).into_owned();
                collect_text(text_target, &s, &mut meta, item.as_mut());
            }
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_ascii_lowercase();
                text_target = None;
                match name.as_str() {
                    "metadata" => in_metadata = false,
                    "indicatoritem" => {
                        if let Some(it) = item.take() {
                            if let Some(kind) = net_kind(&it.search)
                                && it.condition == "is"
                                && !it.negate
                                && stack.iter().all(|(and, _)| !and)
                            {
                                net.push((kind, it.content.trim().to_owned(), it.line));
                            }
                            let term = build_term(ctx, &it, &mut unsupported);
                            match stack.last_mut() {
                                Some((_, children)) => children.push(term),
                                None => roots.push(term),
                            }
                        }
                    }
                    "indicator" => {
                        if let Some((and, children)) = stack.pop() {
                            let e = if and { Expr::And(children) } else { Expr::Or(children) };
                            match stack.last_mut() {
                                Some((_, siblings)) => siblings.push(e),
                                None => roots.push(e),
                            }
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        ctx.problem(None, "not an OpenIOC document (no <OpenIOC> or <ioc> root)");
        return;
    }
    let expr = match roots.len() {
        0 => {
            ctx.problem(None, "OpenIOC document has no indicator");
            return;
        }
        1 => roots.pop().unwrap_or(Expr::Unknown),
        _ => Expr::And(roots),
    }
    .simplify();
    if !net.is_empty() {
        add_network(ctx, &meta, &net);
        unsupported.retain(|k, _| net_kind(k).is_none());
        if expr_is_empty(&expr) || expr.all_unknown() {
            // Network items only: loaded for the log detectors, nothing for files.
            return;
        }
    }
    let listing =
        unsupported.iter().map(|(k, n)| format!("{k} ({n})")).collect::<Vec<_>>().join(", ");
    if expr_is_empty(&expr) || expr.all_unknown() {
        ctx.problem(
            None,
            format!(
                "indicator not loaded: no term applies to files at rest (unsupported: {listing})"
            ),
        );
        return;
    }
    if !unsupported.is_empty() {
        ctx.problem(None, format!("unsupported terms evaluate as unknown: {listing}"));
    }
    let name = [&meta.short_description, &meta.description]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .unwrap_or("OpenIOC indicator");
    let id = if meta.id.is_empty() { ctx.source().to_owned() } else { meta.id.clone() };
    let name: String = name.chars().take(300).collect();
    if let Some(digests) = expr.as_digest_alternatives() {
        for d in digests {
            let m = HashMeta { id: Some(&id), name: &name, line: None, references: &meta.links };
            ctx.add_hash(d, None, &m, DEFAULT_HASH_SCORE, "openioc");
        }
    } else {
        let rule = RuleRef {
            id,
            name,
            source: Some(ctx.source().to_owned()),
            references: meta.links.clone(),
        };
        ctx.add_compound(rule, DEFAULT_COMPOUND_SCORE, expr, "openioc");
    }
}

/// The network indicator kind of an item's `search`, if it names a contacted host, address or
/// URL.
fn net_kind(search: &str) -> Option<NetKind> {
    match search.to_ascii_lowercase().as_str() {
        "dnsentryitem/host" | "dnsentryitem/recordname" | "network/dns" => Some(NetKind::Domain),
        "portitem/remoteip" | "processitem/portlist/portitem/remoteip" => Some(NetKind::Ip),
        "urlhistoryitem/url" => Some(NetKind::Url),
        _ => None,
    }
}

/// Adds the network items of a document, named by its id and the item's line.
fn add_network(ctx: &mut LoadCtx<'_>, meta: &Meta, net: &[(NetKind, String, usize)]) {
    let name = [&meta.short_description, &meta.description]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .unwrap_or("OpenIOC indicator");
    let name: String = name.chars().take(300).collect();
    let id = if meta.id.is_empty() { ctx.source().to_owned() } else { meta.id.clone() };
    for (kind, value, line) in net {
        let Some(v) = normalise(*kind, value) else {
            ctx.line_problem(*line, format!("'{value:.80}' is not a valid {}", kind.as_str()));
            continue;
        };
        let rule = RuleRef {
            id: id.clone(),
            name: name.clone(),
            source: Some(ctx.source_at(*line)),
            references: meta.links.clone(),
        };
        let origin = format!("OpenIOC {id} line {line}");
        ctx.add_network(NetIndicator {
            kind: *kind,
            value: v,
            rule,
            severity: Severity::High,
            origin,
        });
    }
}

fn ev_kind(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).to_ascii_lowercase()
}

fn expr_is_empty(e: &Expr) -> bool {
    match e {
        Expr::And(es) | Expr::Or(es) => es.is_empty() || es.iter().all(expr_is_empty),
        _ => false,
    }
}

fn collect_text(target: Option<&str>, s: &str, meta: &mut Meta, item: Option<&mut Item>) {
    match target {
        Some("short") => meta.short_description.push_str(s),
        Some("desc") => meta.description.push_str(s),
        Some("content") => {
            if let Some(it) = item {
                it.content.push_str(s);
            }
        }
        _ => {}
    }
}

enum Attr {
    Str(Field),
    Size,
    Hash(HashKind),
}

fn attr_for(search: &str) -> Option<Attr> {
    let (doc, prop) = search.split_once('/')?;
    let doc = doc.to_ascii_lowercase();
    if doc != "fileitem" && doc != "filewriteevent" {
        return None;
    }
    Some(match prop.to_ascii_lowercase().as_str() {
        "filename" => Attr::Str(Field::FileName),
        "fullpath" => Attr::Str(Field::FullPath),
        "filepath" => Attr::Str(Field::Dir),
        "fileextension" => Attr::Str(Field::Extension),
        "sizeinbytes" | "size" => Attr::Size,
        "md5sum" | "md5" => Attr::Hash(HashKind::Md5),
        "sha1sum" | "sha1" => Attr::Hash(HashKind::Sha1),
        "sha256sum" | "sha256" => Attr::Hash(HashKind::Sha256),
        _ => return None,
    })
}

fn build_term(ctx: &mut LoadCtx<'_>, it: &Item, unsupported: &mut BTreeMap<String, usize>) -> Expr {
    let mut unknown = |what: String| {
        *unsupported.entry(what).or_insert(0) += 1;
        Expr::Unknown
    };
    let Some(attr) = attr_for(&it.search) else {
        let what = if it.search.is_empty() { "(no search)".to_owned() } else { it.search.clone() };
        return unknown(what);
    };
    let (cond, cond_negated) = match it.condition.as_str() {
        "isnot" => ("is", true),
        "containsnot" => ("contains", true),
        c => (c, false),
    };
    let value = it.content.trim();
    let ci = !it.preserve_case;
    let term = match attr {
        Attr::Hash(kind) => {
            let d = parse_hex_digest(value);
            match (cond, d) {
                ("is" | "contains", Some(d)) if d.kind() == kind => Expr::Term(Term {
                    field: Field::Hash,
                    cmp: Cmp::Digest(d),
                    case_insensitive: false,
                }),
                (_, _) => {
                    ctx.line_problem(
                        it.line,
                        format!("{} term with condition '{}' and value '{value:.70}' is not a usable digest", it.search, it.condition),
                    );
                    return Expr::Unknown;
                }
            }
        }
        Attr::Size => {
            let Ok(n) = value.parse::<u64>() else {
                ctx.line_problem(
                    it.line,
                    format!("{} value is not an integer: {value:.40}", it.search),
                );
                return Expr::Unknown;
            };
            let op = match cond {
                "is" => NumOp::Eq,
                "greater-than" => NumOp::Gt,
                "less-than" => NumOp::Lt,
                _ => return unknown(format!("{} {}", it.search, it.condition)),
            };
            Expr::Term(Term { field: Field::Size, cmp: Cmp::Num(op, n), case_insensitive: false })
        }
        Attr::Str(field) => {
            let v = if matches!(field, Field::Extension) {
                value.trim_start_matches('.')
            } else {
                value
            };
            let bytes = v.as_bytes().to_vec();
            let cmp = match cond {
                "is" => Cmp::Eq(bytes),
                "contains" => Cmp::Contains(bytes),
                "starts-with" => Cmp::StartsWith(bytes),
                "ends-with" => Cmp::EndsWith(bytes),
                "matches" => {
                    let pattern = if ci { format!("(?i){v}") } else { v.to_owned() };
                    match compile(&pattern) {
                        Ok(re) => Cmp::Matches(re),
                        Err(reason) => {
                            ctx.line_problem(it.line, reason);
                            return Expr::Unknown;
                        }
                    }
                }
                _ => return unknown(format!("{} {}", it.search, it.condition)),
            };
            Expr::Term(Term { field, cmp, case_insensitive: ci })
        }
    };
    if it.negate ^ cond_negated { Expr::Not(Box::new(term)) } else { term }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_map() {
        assert!(matches!(attr_for("FileItem/Md5sum"), Some(Attr::Hash(HashKind::Md5))));
        assert!(matches!(attr_for("fileWriteEvent/fullPath"), Some(Attr::Str(Field::FullPath))));
        assert!(attr_for("processEvent/process").is_none());
        assert!(attr_for("garbage").is_none());
    }

    #[test]
    fn network_items_of_an_or_indicator_load_for_logs() {
        let doc = r#"<?xml version="1.0" encoding="us-ascii"?>
<ioc xmlns="http://schemas.mandiant.com/2010/ioc" id="0f3c2a1e-7d55-4c0b-9f1e-2b7a3c4d5e6f">
  <short_description>C2 of the test intrusion</short_description>
  <definition>
    <Indicator operator="OR" id="i1">
      <IndicatorItem id="a" condition="is">
        <Context document="DnsEntryItem" search="DnsEntryItem/Host" type="mir"/>
        <Content type="string">C2.BadInfra.example</Content>
      </IndicatorItem>
      <IndicatorItem id="b" condition="is">
        <Context document="PortItem" search="PortItem/remoteIP" type="mir"/>
        <Content type="IP">198.51.100.23</Content>
      </IndicatorItem>
      <Indicator operator="AND" id="i2">
        <IndicatorItem id="c" condition="is">
          <Context document="Network" search="Network/DNS" type="mir"/>
          <Content type="string">only-with-port.example</Content>
        </IndicatorItem>
        <IndicatorItem id="d" condition="is">
          <Context document="PortItem" search="PortItem/remotePort" type="mir"/>
          <Content type="int">8443</Content>
        </IndicatorItem>
      </Indicator>
    </Indicator>
  </definition>
</ioc>"#;
        let mut set = crate::IocSet::new();
        let mut problems = Vec::new();
        set.load(crate::IocFormat::OpenIoc, "test.ioc", doc, &mut problems);
        let vals: Vec<&str> = set.network().iter().map(|n| n.value.as_str()).collect();
        assert_eq!(vals, ["c2.badinfra.example", "198.51.100.23"], "{problems:?}");
        assert!(set.network().iter().all(|n| n.origin.contains("0f3c2a1e")));
        assert!(problems.iter().all(|p| !p.reason.contains("not loaded")), "{problems:?}");
    }
}

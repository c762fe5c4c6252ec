//! `diff`: what changed between two manifests (the "did we fix it" view after a rebuild).

use std::cmp::Ordering;
use std::io::{Read, Seek};

use ferret_core::{Sink, Summary};

use crate::compare::{Change, FindingContext, compare, finding};
use crate::policy::{AttrSet, Policy};
use crate::verify::{Trust, VerifyError, describe, with_manifest};

/// What a diff established.
#[derive(Debug, Clone)]
pub struct DiffOutcome {
    /// Counters and the identities of both manifests (`old.*`, `new.*` details).
    pub summary: Summary,
}

/// Compares two manifests path by path. Findings use the same rules as `verify`, with the
/// old manifest as "recorded" and the new one as "now"; paths are shown relative.
pub fn diff<A: Read + Seek, B: Read + Seek>(
    old: A,
    new: B,
    trust_old: &Trust,
    trust_new: &Trust,
    policy: &Policy,
    sink: &dyn Sink,
) -> Result<DiffOutcome, VerifyError> {
    let (((mut summary, new_header, new_auth), ()), old_header, old_auth) =
        with_manifest(old, trust_old, |old_reader, old_auth| {
            let old_id = old_reader.header().id.clone();
            let old_hash = old_reader.header().hash;
            let style = old_reader.header().paths;
            let inner = with_manifest(new, trust_new, |new_reader, new_auth| {
                // The merge-join needs one order: paths written the Windows way (compared
                // without case) and POSIX paths cannot be matched with each other.
                if new_reader.header().paths != style {
                    return Err(VerifyError::Incompatible {
                        reason: "one manifest records Windows paths (compared without case), \
                                 the other POSIX paths: their entries cannot be matched"
                            .into(),
                    });
                }
                let ctx = FindingContext {
                    root: crate::compare::no_root().to_path_buf(),
                    authenticated: old_auth.is_some() && new_auth.is_some(),
                    manifest_id: format!("{old_id} -> {}", new_reader.header().id),
                    style,
                };
                let policy = match style {
                    crate::manifest::PathStyle::Windows => {
                        policy.case_insensitive().map_err(VerifyError::Policy)?
                    }
                    crate::manifest::PathStyle::Posix => policy.clone(),
                };
                let attrs = |p: &[u8]| policy.attrs_for(&style.glob_form(p));
                let same_hash = old_hash == new_reader.header().hash;
                let mut summary = Summary::default();
                let emit = |c: Change, summary: &mut Summary| {
                    if attrs(c.path()).has(AttrSet::PRESENCE)
                        || !matches!(c, Change::Added(_) | Change::Removed(_))
                    {
                        summary.count(c.rule().1, 1);
                        sink.finding(finding(&c, &ctx));
                    }
                };
                let mut a = old_reader.next();
                let mut b = new_reader.next();
                loop {
                    match (a.take(), b.take()) {
                        (None, None) => break,
                        (Some(Err(e)), _) | (_, Some(Err(e))) => {
                            return Err(VerifyError::Manifest(e));
                        }
                        (Some(Ok(o)), None) => {
                            emit(Change::Removed(o), &mut summary);
                            a = old_reader.next();
                        }
                        (None, Some(Ok(n))) => {
                            emit(Change::Added(n), &mut summary);
                            b = new_reader.next();
                        }
                        (Some(Ok(o)), Some(Ok(n))) => match style.cmp(&o.path, &n.path) {
                            Ordering::Less => {
                                emit(Change::Removed(o), &mut summary);
                                a = old_reader.next();
                                b = Some(Ok(n));
                            }
                            Ordering::Greater => {
                                emit(Change::Added(n), &mut summary);
                                b = new_reader.next();
                                a = Some(Ok(o));
                            }
                            Ordering::Equal => {
                                summary.count("entries_compared", 1);
                                let (mut o, mut n) = (o, n);
                                if !same_hash {
                                    o.digest = None;
                                    n.digest = None;
                                }
                                for c in compare(&o, &n, attrs(&n.path)) {
                                    emit(c, &mut summary);
                                }
                                a = old_reader.next();
                                b = new_reader.next();
                            }
                        },
                    }
                }
                Ok(summary)
            })?;
            Ok((inner, ()))
        })?;
    if old_header.hash != new_header.hash {
        summary.not_checked.push(format!(
            "the manifests use different digests ({} and {}): content was not compared",
            old_header.hash.as_str(),
            new_header.hash.as_str()
        ));
    }
    let mut old_s = Summary::default();
    describe(&mut old_s, &old_header, old_auth.as_ref());
    let mut new_s = Summary::default();
    describe(&mut new_s, &new_header, new_auth.as_ref());
    for (k, v) in old_s.details {
        summary.details.insert(format!("old.{k}"), v);
    }
    for (k, v) in new_s.details {
        summary.details.insert(format!("new.{k}"), v);
    }
    summary.not_checked.extend(old_s.not_checked.into_iter().take(1));
    Ok(DiffOutcome { summary })
}

//! Size tiers: YARA sources grouped by the largest file any of their rules can match.
//!
//! Most community rules bound the file size (`filesize < 200KB and ...`). A source file
//! whose every rule requires `filesize` below a literal bound cannot match a file of that
//! size or more, so it is compiled into a tier with the sources of similar bounds, and a
//! file is scanned only by the tiers whose bound is above its size: a large file meets a
//! much smaller rule set (fewer atoms to look for, fewer candidates to verify).
//!
//! The bound is derived from yara-x's own parser (the AST the compiler works from), and
//! only from forms whose meaning is certain: a comparison of `filesize` with an integer
//! literal (`<`, `<=`, `==`, and the same written the other way round), a conjunction with
//! at least one bounded operand (the smallest bound holds), a disjunction whose operands are
//! all bounded (the largest), and `false`. Anything else (a bound through a variable, an
//! arithmetic expression, an `include`, a source the parser reports errors in) makes the
//! source unbounded: it is scanned on every file, as without tiers. Each source is one
//! namespace, so rule references never cross tiers.

use yara_x_parser::ast::{AST, BinaryExpr, Expr, Item, LiteralInteger};

/// The size ladder: a source whose bound is at most `CUTS[i]` bytes (and above the previous
/// cut) goes to tier `i`; larger bounds and unbounded sources go to the last tier.
pub(crate) const CUTS: [u64; 3] = [64 << 10, 1 << 20, 16 << 20];

/// The smallest file size from which no rule of `src` can match (every rule's condition
/// requires `filesize` below it), or `None` when some rule may match a file of any size.
pub(crate) fn source_bound(src: &[u8]) -> Option<u64> {
    let ast = AST::from(src);
    if !ast.errors().is_empty() {
        return None;
    }
    let mut bound = 0u64;
    for item in ast.items() {
        match item {
            Item::Import(_) => {}
            Item::Include(_) => return None,
            Item::Rule(rule) => bound = bound.max(expr_bound(&rule.condition)?),
        }
    }
    Some(bound)
}

/// `Some(n)`: the expression is false whenever `filesize >= n`.
fn expr_bound(e: &Expr<'_>) -> Option<u64> {
    match e {
        Expr::False { .. } => Some(0),
        Expr::And(n) => n.operands().filter_map(expr_bound).min(),
        Expr::Or(n) => n.operands().try_fold(0u64, |acc, op| Some(acc.max(expr_bound(op)?))),
        // filesize < N, N > filesize: false from N on.
        Expr::Lt(b) => filesize_vs_literal(b).map(|(n, _)| n),
        Expr::Gt(b) => literal_vs_filesize(b).map(|(n, _)| n),
        // filesize <= N, N >= filesize, filesize == N: false from N + 1 on.
        Expr::Le(b) => filesize_vs_literal(b).map(|(_, n1)| n1),
        Expr::Ge(b) => literal_vs_filesize(b).map(|(_, n1)| n1),
        Expr::Eq(b) => filesize_vs_literal(b).or_else(|| literal_vs_filesize(b)).map(|(_, n1)| n1),
        _ => None,
    }
}

/// `filesize OP literal`: the literal as a size and that size plus one.
fn filesize_vs_literal(b: &BinaryExpr<'_>) -> Option<(u64, u64)> {
    match (&b.lhs, &b.rhs) {
        (Expr::Filesize { .. }, Expr::LiteralInteger(l)) => size_of(l),
        _ => None,
    }
}

/// `literal OP filesize`.
fn literal_vs_filesize(b: &BinaryExpr<'_>) -> Option<(u64, u64)> {
    match (&b.lhs, &b.rhs) {
        (Expr::LiteralInteger(l), Expr::Filesize { .. }) => size_of(l),
        _ => None,
    }
}

/// A literal as a file size (negative: 0, as no size is below it); unsigned literals
/// beyond `i64` are left unbounded.
fn size_of(l: &LiteralInteger<'_>) -> Option<(u64, u64)> {
    if l.is_unsigned {
        return None;
    }
    let n = u64::try_from(l.value.max(0)).ok()?;
    Some((n, n.saturating_add(1)))
}

/// The tier of a source bound on a ladder of `cuts` (`None`: unbounded, the last tier).
fn tier_of(bound: Option<u64>, cuts: &[u64]) -> usize {
    match bound {
        Some(b) => cuts.iter().position(|&c| b <= c).unwrap_or(cuts.len()),
        None => cuts.len(),
    }
}

/// Groups sources (by index) into tiers on the ladder [`CUTS`], smallest bound first.
/// Returns each non-empty tier's members and its bound (the largest of its members';
/// `None` when one of them is unbounded).
pub(crate) fn partition(bounds: &[Option<u64>]) -> Vec<(Vec<usize>, Option<u64>)> {
    partition_on(bounds, &CUTS)
}

fn partition_on(bounds: &[Option<u64>], cuts: &[u64]) -> Vec<(Vec<usize>, Option<u64>)> {
    let mut tiers: Vec<(Vec<usize>, Option<u64>)> = vec![(Vec::new(), Some(0)); cuts.len() + 1];
    for (i, b) in bounds.iter().enumerate() {
        if let Some((members, bound)) = tiers.get_mut(tier_of(*b, cuts)) {
            members.push(i);
            *bound = match (*bound, *b) {
                (Some(x), Some(y)) => Some(x.max(y)),
                _ => None,
            };
        }
    }
    tiers.retain(|(m, _)| !m.is_empty());
    tiers
}

/// Whether a set bounded by `bound` must scan data of `len` bytes.
pub(crate) fn applies(bound: Option<u64>, len: usize) -> bool {
    bound.is_none_or(|b| (len as u64) < b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(src: &str) -> Option<u64> {
        source_bound(src.as_bytes())
    }

    #[test]
    fn recognises_only_certain_forms() {
        let r = |c: &str| format!("rule r {{ strings: $a = \"x\" condition: {c} }}");
        assert_eq!(b(&r("$a and filesize < 100KB")), Some(100 * 1024));
        assert_eq!(b(&r("filesize <= 10 and $a")), Some(11));
        assert_eq!(b(&r("uint16(0) == 0x5a4d and 1MB > filesize and $a")), Some(1 << 20));
        assert_eq!(b(&r("filesize == 7")), Some(8));
        assert_eq!(b(&r("(filesize < 5 and $a) or (filesize < 9 and #a > 2)")), Some(9));
        assert_eq!(b(&r("filesize < 10 and filesize < 3")), Some(3));
        assert_eq!(b(&r("false")), Some(0));
        // Unbounded: or with an unbounded side, not, >, arithmetic, no bound at all.
        assert_eq!(b(&r("filesize < 5 or $a")), None);
        assert_eq!(b(&r("not (filesize > 5)")), None);
        assert_eq!(b(&r("filesize > 5 and $a")), None);
        assert_eq!(b(&r("filesize < 5 + 1")), None);
        assert_eq!(b(&r("$a")), None);
        assert_eq!(b(&r("filesize < 0xFFFFFFFFFFFFFFFF")), None);
        // Every rule of the file counts; an include or a parse error makes it unbounded.
        assert_eq!(
            b(&format!("{} {}", r("filesize < 5"), r("filesize < 50").replace("rule r", "rule s"))),
            Some(50)
        );
        assert_eq!(
            b(&format!("{} {}", r("filesize < 5"), r("$a").replace("rule r", "rule s"))),
            None
        );
        assert_eq!(b(&format!("include \"x.yar\" {}", r("filesize < 5"))), None);
        assert_eq!(b("rule r { condition: filesize < }"), None);
        // Nothing to match: bounded by 0.
        assert_eq!(b("import \"pe\""), Some(0));
    }

    #[test]
    fn partition_keeps_every_source_once() {
        let bounds = [Some(10), None, Some(2 << 20), Some(70 << 10), Some(1 << 30), Some(0)];
        let tiers = partition(&bounds);
        let mut all: Vec<usize> = tiers.iter().flat_map(|(m, _)| m.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3, 4, 5]);
        assert_eq!(tiers[0], (vec![0, 5], Some(10)));
        assert_eq!(tiers[1], (vec![3], Some(70 << 10)));
        assert_eq!(tiers[2], (vec![2], Some(2 << 20)));
        assert_eq!(tiers[3], (vec![1, 4], None));
        assert!(applies(Some(10), 9) && !applies(Some(10), 10) && applies(None, usize::MAX));
    }

    mod exactness {
        use proptest::prelude::*;

        use super::super::*;
        use crate::cache::compile_cached;
        use crate::yara::YaraSource;

        /// A random condition over `filesize` and one pattern `$a`, in every form the
        /// bound recognises and in forms it must treat as unbounded.
        fn cond() -> impl Strategy<Value = String> {
            let n = 0u64..2100;
            let leaf = prop_oneof![
                n.clone().prop_map(|n| format!("filesize < {n}")),
                n.clone().prop_map(|n| format!("filesize <= {n}")),
                n.clone().prop_map(|n| format!("{n} > filesize")),
                n.clone().prop_map(|n| format!("{n} >= filesize")),
                n.clone().prop_map(|n| format!("filesize == {n}")),
                n.clone().prop_map(|n| format!("filesize > {n}")),
                n.clone().prop_map(|n| format!("filesize != {n}")),
                n.clone().prop_map(|n| format!("filesize < {n} + 1")),
                (0u64..3).prop_map(|k| format!("filesize < {k}KB")),
                Just("$a".to_owned()),
                (0u32..3).prop_map(|k| format!("#a > {k}")),
                Just("true".to_owned()),
                Just("false".to_owned()),
            ];
            leaf.prop_recursive(3, 12, 3, |inner| {
                prop_oneof![
                    (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
                    (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
                    inner.prop_map(|a| format!("not ({a})")),
                ]
            })
        }

        fn source(conds: &[String]) -> String {
            let mut text = String::new();
            for (i, c) in conds.iter().enumerate() {
                let strings = if c.contains("$a") || c.contains("#a") {
                    "strings: $a = \"needle\" "
                } else {
                    ""
                };
                text.push_str(&format!("rule r{i} {{ {strings}condition: {c} }}\n"));
            }
            text
        }

        fn matches(rules: &yara_x::Rules, data: &[u8]) -> Vec<String> {
            let mut s = yara_x::Scanner::new(rules);
            for e in crate::yara::EXTERNALS {
                let _ = s.set_global(e, "");
            }
            let r = s.scan(data).unwrap();
            r.matching_rules().map(|m| format!("{}:{}", m.namespace(), m.identifier())).collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

            /// Scanning each file with only the tiers that apply to its size finds exactly
            /// what one set of every rule finds.
            #[test]
            fn tiers_lose_no_match(
                files in prop::collection::vec(prop::collection::vec(cond(), 1..4), 1..7),
                data in prop::collection::vec((0usize..2200, prop::collection::vec(0usize..2200, 0..3)), 12),
            ) {
                let sources: Vec<YaraSource> = files
                    .iter()
                    .enumerate()
                    .map(|(i, c)| YaraSource {
                        name: format!("f{i}.yar"),
                        text: source(c).into_bytes(),
                        path: None,
                    })
                    .collect();
                let all: Vec<(usize, &YaraSource)> = sources.iter().enumerate().collect();
                let (mut problems, mut own) = (Vec::new(), Vec::new());
                let full = compile_cached(&all, None, &mut problems, &mut own);
                prop_assert!(problems.is_empty(), "{problems:?}");
                let bounds: Vec<Option<u64>> =
                    sources.iter().map(|s| source_bound(&s.text)).collect();
                // A ladder at the scale of these sizes, so that every tier is exercised.
                let tiers: Vec<(yara_x::Rules, Option<u64>)> = partition_on(&bounds, &[300, 900, 1600])
                    .into_iter()
                    .map(|(members, bound)| {
                        let picked: Vec<(usize, &YaraSource)> =
                            members.iter().map(|&i| (i, &sources[i])).collect();
                        (compile_cached(&picked, None, &mut problems, &mut own).rules, bound)
                    })
                    .collect();
                for (len, needles) in &data {
                    let mut bytes = vec![b'.'; *len];
                    for &at in needles {
                        if at + 6 <= bytes.len() {
                            bytes[at..at + 6].copy_from_slice(b"needle");
                        }
                    }
                    let mut want = matches(&full.rules, &bytes);
                    let mut got: Vec<String> = tiers
                        .iter()
                        .filter(|(_, b)| applies(*b, bytes.len()))
                        .flat_map(|(r, _)| matches(r, &bytes))
                        .collect();
                    want.sort();
                    got.sort();
                    prop_assert_eq!(got, want, "size {} bounds {:?}", bytes.len(), bounds);
                }
            }
        }
    }
}

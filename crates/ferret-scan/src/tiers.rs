//! Size levels: YARA sources compiled again without those that cannot match large files.
//!
//! Most community rules bound the file size (`filesize < 200KB and ...`). A source file
//! whose every rule requires `filesize` below a literal bound cannot match a file of that
//! size or more. Besides the set of every source (used for small files), the sources that
//! can match a file of at least [`CUTS`] bytes are compiled into a second set, and each file
//! is scanned by exactly one of them: a large file meets a much smaller rule set (fewer atoms
//! to look for, fewer candidates to verify), a small file one set, as without levels.
//!
//! The bound is derived from yara-x's own parser (the AST the compiler works from), and
//! only from forms whose meaning is certain: a comparison of `filesize` with an integer
//! literal (`<`, `<=`, `==`, and the same written the other way round), a conjunction with
//! at least one bounded operand (the smallest bound holds), a disjunction whose operands are
//! all bounded (the largest), and `false`. Anything else (a bound through a variable, an
//! arithmetic expression, an `include`, a source the parser reports errors in) makes the
//! source unbounded: it is in every level. Each source is one namespace, so rule references
//! never cross sets.

use yara_x_parser::ast::{AST, BinaryExpr, Expr, Item, LiteralInteger};

/// Where the levels start: a file of at least `CUTS[i]` bytes is scanned by the set of the
/// sources that can match a file that large (see [`levels`]); smaller files by every source.
/// One cut: 89% of the benchmark tree's bytes are in files of 1 MiB or more, and most
/// community rules bound their files below it.
pub(crate) const CUTS: [u64; 1] = [1 << 20];

/// The file sizes a compiled set is used for: `from` ≤ size < `below` (`None`: no upper
/// end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SizeRange {
    pub(crate) from: u64,
    pub(crate) below: Option<u64>,
}

impl SizeRange {
    /// Every size.
    pub(crate) const ALL: SizeRange = SizeRange { from: 0, below: None };

    /// Whether data of `len` bytes is in the range.
    pub(crate) fn contains(self, len: u64) -> bool {
        self.from <= len && self.below.is_none_or(|b| len < b)
    }
}

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
        (Expr::Filesize { .. }, Expr::LiteralInteger(l)) => literal_size(l),
        _ => None,
    }
}

/// `literal OP filesize`.
fn literal_vs_filesize(b: &BinaryExpr<'_>) -> Option<(u64, u64)> {
    match (&b.lhs, &b.rhs) {
        (Expr::LiteralInteger(l), Expr::Filesize { .. }) => literal_size(l),
        _ => None,
    }
}

/// A literal as a file size (negative: 0, as no size is below it); unsigned literals
/// beyond `i64` are left unbounded.
fn literal_size(l: &LiteralInteger<'_>) -> Option<(u64, u64)> {
    if l.is_unsigned {
        return None;
    }
    let n = u64::try_from(l.value.max(0)).ok()?;
    Some((n, n.saturating_add(1)))
}

/// The levels to compile on the ladder [`CUTS`]: for each level, the sources (by index) that
/// can match a file in its size range, and the range. The first level holds every source
/// (files below the first cut); the level from cut `c` holds the sources whose bound is above
/// `c` or that are unbounded. So each file is scanned by exactly one set, never smaller than
/// what can match it. A level with the same sources as the one below extends it; sizes no
/// source can match get no level.
pub(crate) fn levels(bounds: &[Option<u64>]) -> Vec<(Vec<usize>, SizeRange)> {
    levels_on(bounds, &CUTS)
}

fn levels_on(bounds: &[Option<u64>], cuts: &[u64]) -> Vec<(Vec<usize>, SizeRange)> {
    let lows: Vec<u64> = std::iter::once(0).chain(cuts.iter().copied()).collect();
    let mut out: Vec<(Vec<usize>, SizeRange)> = Vec::new();
    for (k, &from) in lows.iter().enumerate() {
        let members: Vec<usize> = bounds
            .iter()
            .enumerate()
            // The first level holds every source, so that each one's compile problems are
            // reported whatever its bound.
            .filter(|(_, b)| k == 0 || b.is_none_or(|b| b > from))
            .map(|(i, _)| i)
            .collect();
        if members.is_empty() {
            continue;
        }
        // No member matches a file of its largest bound or more.
        let largest =
            members.iter().try_fold(0u64, |acc, &i| Some(acc.max(bounds.get(i).copied()??)));
        let below = match (lows.get(k + 1), largest) {
            (Some(&next), Some(m)) => Some(next.min(m)),
            (Some(&next), None) => Some(next),
            (None, m) => m,
        };
        if let Some((prev, range)) = out.last_mut()
            && *prev == members
        {
            range.below = below;
            continue;
        }
        out.push((members, SizeRange { from, below }));
    }
    out
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
    fn levels_cover_what_can_match() {
        let bounds = [Some(10), None, Some(2000), Some(700), Some(1 << 30), Some(0)];
        let lv = levels_on(&bounds, &[100, 1000]);
        assert_eq!(lv[0], (vec![0, 1, 2, 3, 4, 5], SizeRange { from: 0, below: Some(100) }));
        assert_eq!(lv[1], (vec![1, 2, 3, 4], SizeRange { from: 100, below: Some(1000) }));
        assert_eq!(lv[2], (vec![1, 2, 4], SizeRange { from: 1000, below: None }));
        // All bounded: nothing above the largest bound; equal levels merge.
        let lv = levels_on(&[Some(50), Some(5000)], &[10, 100]);
        assert_eq!(lv[0], (vec![0, 1], SizeRange { from: 0, below: Some(100) }));
        assert_eq!(lv[1], (vec![1], SizeRange { from: 100, below: Some(5000) }));
        assert_eq!(lv.len(), 2);
        assert_eq!(
            levels_on(&[Some(0)], &[10]),
            [(vec![0], SizeRange { from: 0, below: Some(0) })]
        );
        assert!(SizeRange::ALL.contains(u64::MAX));
        assert!(!SizeRange { from: 3, below: Some(5) }.contains(5));
    }

    /// signature-base's YARA folder: a good part of the files bound their rules' file size, and a bound is
    /// only found in a file that mentions `filesize`.
    #[test]
    fn signature_base_is_partly_bounded() {
        let Some(c) = ferret_testkit::require_corpus() else { return };
        let mut bounds = Vec::new();
        for e in std::fs::read_dir(c.join("signature-base/yara")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yar" || x == "yara") {
                let text = std::fs::read(&p).unwrap();
                let bound = source_bound(&text);
                // (A file without rules is bounded by 0: nothing in it can match.)
                if bound.is_some_and(|b| b > 0) {
                    let t = String::from_utf8_lossy(&text);
                    assert!(t.contains("filesize"), "{}", p.display());
                }
                bounds.push(bound);
            }
        }
        let lv = levels(&bounds);
        let sizes: Vec<(usize, SizeRange)> = lv.iter().map(|(m, r)| (m.len(), *r)).collect();
        eprintln!("signature-base: {} files; levels (files, sizes): {sizes:?}", bounds.len());
        let bounded = bounds.iter().filter(|b| b.is_some()).count();
        // 290 of 741 files in the corpus's copy.
        assert!(bounded * 4 > bounds.len(), "{bounded} of {} bounded", bounds.len());
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

            /// Scanning each file with the one level of its size finds exactly what one set
            /// of every rule finds.
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
                // A ladder at the scale of these sizes, so that every level is exercised.
                let lv: Vec<(yara_x::Rules, SizeRange)> = levels_on(&bounds, &[300, 900, 1600])
                    .into_iter()
                    .map(|(members, range)| {
                        let picked: Vec<(usize, &YaraSource)> =
                            members.iter().map(|&i| (i, &sources[i])).collect();
                        (compile_cached(&picked, None, &mut problems, &mut own).rules, range)
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
                    let sets: Vec<&(yara_x::Rules, SizeRange)> =
                        lv.iter().filter(|(_, r)| r.contains(bytes.len() as u64)).collect();
                    prop_assert!(sets.len() <= 1, "one set per size");
                    let mut got: Vec<String> =
                        sets.iter().flat_map(|(r, _)| matches(r, &bytes)).collect();
                    want.sort();
                    got.sort();
                    prop_assert_eq!(got, want, "size {} bounds {:?}", bytes.len(), bounds);
                }
            }
        }
    }
}

//! Rule groups: YARA sources split into disjoint sets by what they can match, so a file is
//! scanned only by the sets that can match it, and the sets compile in parallel.
//!
//! Two facts about each rule's condition are read from yara-x's own parser (the AST the
//! compiler works from), and only from forms whose meaning is certain:
//! * **a size bound**: most community rules bound the file size (`filesize < 200KB and ...`);
//!   a rule that requires `filesize` below a literal cannot match a file of that size or
//!   more. Recognised: a comparison of `filesize` with an integer literal (`<`, `<=`,
//!   `==`, and the same written the other way round), a conjunction with at least one bounded
//!   operand (the smallest bound holds), a disjunction whose operands are all bounded (the
//!   largest), and `false`.
//! * **a Windows executable header**: many rules start with `uint16(0) == 0x5A4D` (the `MZ`
//!   of a PE file); a rule that requires it cannot match a file that does not start with
//!   `MZ`. Recognised: `uint16(0) == 0x5A4D` and `uint16be(0) == 0x4D5A` (either
//!   way round), a conjunction with one such operand, a disjunction of such operands, `false`.
//!
//! Anything else (a bound through a variable, an arithmetic expression, a rule referring to
//! another, an `include`, a source the parser reports errors in) is neither: the rule (or
//! the source) may match any file.
//!
//! The unit grouped is a **piece** of a source ([`source_pieces`]): rule files mix rules for
//! executables with rules for scripts, and a file's cost in yara-x grows with the rules it is
//! scanned against (each rule's condition runs for every file; each pattern's atoms are
//! searched in every byte). A source whose rules fall in different groups is cut into one
//! piece per group: the source's text with the rules of the other pieces blanked out (every
//! byte of them but line ends replaced by a space, so that a compile error's line and column
//! are those of the file). A source is cut only when that cannot change what its rules
//! match: it parses without errors, has no `include` and no `global` rule, no two rules share
//! a name, and no rule's condition names another rule of the file; otherwise it stays
//! whole. (yara-x compiles a source rule by rule, a rule that does not compile left out
//! alone, so the pieces load exactly the rules the whole source would.) Pieces are grouped by (size class
//! on the ladder [`CUTS`], `MZ` or not): every piece is in exactly one group, each group is
//! compiled once (two at a time), and a file is scanned by every group whose reach
//! ([`SizeRange`]) holds it. Every piece of a source compiles into the source's one
//! namespace (rule identifiers are those of the whole file), and the matches are those of
//! one set of every source (the property test `exactness` below).

use yara_x_parser::ast::{AST, BinaryExpr, Expr, Item, LiteralInteger, Rule, RuleFlags, WithSpan};
use yara_x_parser::cst::{Event, SyntaxKind};
use yara_x_parser::{Parser, Span};

/// The size classes: a source bounded at or below `CUTS[i]` (and above the cut before) is
/// grouped apart from those that can match larger files. One cut: 89% of the benchmark
/// tree's bytes are in files of 1 MiB or more, and most community rules that bound their
/// files bound them below it.
pub(crate) const CUTS: [u64; 1] = [1 << 20];

/// The files a compiled group is used for: `from` ≤ size < `below` (`None`: no upper end)
/// and, when `mz`, only data that starts with `MZ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SizeRange {
    pub(crate) from: u64,
    pub(crate) below: Option<u64>,
    pub(crate) mz: bool,
}

impl SizeRange {
    /// Every file.
    pub(crate) const ALL: SizeRange = SizeRange { from: 0, below: None, mz: false };

    /// Whether some data of `len` bytes is in the reach (whatever its first bytes).
    pub(crate) fn contains(self, len: u64) -> bool {
        self.from <= len && self.below.is_none_or(|b| len < b)
    }

    /// Whether `data` is in the reach.
    pub(crate) fn holds(self, data: &[u8]) -> bool {
        self.contains(data.len() as u64) && (!self.mz || data.starts_with(b"MZ"))
    }
}

/// What a source can match: its size bound (the smallest file size from which no rule can
/// match; `None`: some rule may match any size) and whether every rule
/// requires the `MZ` header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reach {
    pub(crate) bound: Option<u64>,
    pub(crate) mz: bool,
}

/// The [`Reach`] of a source (one parse; what [`source_pieces`] gives a source it keeps
/// whole).
#[cfg(test)]
pub(crate) fn source_reach(src: &[u8]) -> Reach {
    reach_of(&AST::from(src))
}

/// The [`Reach`] of a parsed source: every rule's, joined.
fn reach_of(ast: &AST<'_>) -> Reach {
    if !ast.errors().is_empty() {
        return Reach::default();
    }
    let mut bound = Some(0u64);
    let mut mz = true;
    for item in ast.items() {
        match item {
            Item::Import(_) => {}
            Item::Include(_) => return Reach::default(),
            Item::Rule(rule) => {
                bound = match (bound, expr_bound(&rule.condition)) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
                mz = mz && expr_needs_mz(&rule.condition);
            }
        }
    }
    Reach { bound, mz }
}

/// What the rules of `reach` and one more rule can match together.
fn join(a: Reach, b: Reach) -> Reach {
    Reach {
        bound: match (a.bound, b.bound) {
            (Some(x), Some(y)) => Some(x.max(y)),
            _ => None,
        },
        mz: a.mz && b.mz,
    }
}

/// A piece of a source to compile: the whole source (`text: None`), or its text with the
/// rules of its other pieces blanked out; and what the piece's rules can match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    pub(crate) text: Option<Vec<u8>>,
    pub(crate) reach: Reach,
}

/// `src` cut into one piece per group its rules belong in (see the module's documentation
/// for when a source stays whole). One piece (the whole source) when all its rules belong
/// in one group.
pub(crate) fn source_pieces(src: &[u8]) -> Vec<Piece> {
    pieces_on(src, &CUTS)
}

fn pieces_on(src: &[u8], cuts: &[u64]) -> Vec<Piece> {
    // One parse: the syntax tree for the conditions, and from the parser's events on the
    // way the top-level declarations' spans (a rule's from `rule` or its modifiers to `}`).
    let (mut spans, mut depth, mut other) = (Vec::<Span>::new(), 0usize, false);
    let events = Parser::new(src).inspect(|e| match e {
        Event::Begin { kind, .. } => {
            if depth == 1 && !matches!(kind, SyntaxKind::RULE_DECL | SyntaxKind::IMPORT_STMT) {
                other = true;
            }
            depth += 1;
        }
        Event::End { kind, span } => {
            // (An `End` carries its node's whole span.)
            if depth == 2 && *kind == SyntaxKind::RULE_DECL {
                spans.push(span.clone());
            }
            depth = depth.saturating_sub(1);
        }
        Event::Token { .. } | Event::Error { .. } => {}
    });
    let ast = AST::new(src, events);
    let whole = |ast: &AST<'_>| vec![Piece { text: None, reach: reach_of(ast) }];
    if !ast.errors().is_empty() || other {
        return whole(&ast);
    }
    let mut rules: Vec<&Rule<'_>> = Vec::new();
    for item in ast.items() {
        match item {
            Item::Import(_) => {}
            Item::Include(_) => return whole(&ast),
            Item::Rule(rule) => rules.push(rule),
        }
    }
    let mut names: Vec<&str> = rules.iter().map(|r| r.identifier.name).collect();
    names.sort_unstable();
    let shared_name = names.windows(2).any(|w| w.first() == w.get(1));
    if rules.len() < 2
        || spans.len() != rules.len()
        || shared_name
        || rules.iter().any(|r| r.flags.contains(RuleFlags::Global))
        || rules.iter().any(|r| names_a_rule(src, r, &names))
    {
        return whole(&ast);
    }
    let keyed: Vec<((usize, bool), Reach)> = rules
        .iter()
        .map(|r| {
            let reach = Reach { bound: expr_bound(&r.condition), mz: expr_needs_mz(&r.condition) };
            ((class(&reach, cuts), reach.mz), reach)
        })
        .collect();
    let mut keys: Vec<(usize, bool)> = keyed.iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.len() < 2 {
        return whole(&ast);
    }
    keys.iter()
        .map(|key| {
            let mut text = src.to_vec();
            let mut reach: Option<Reach> = None;
            for ((k, r), span) in keyed.iter().zip(&spans) {
                if k == key {
                    reach = Some(reach.map_or(*r, |a| join(a, *r)));
                } else if let Some(bytes) = text.get_mut(span.start()..span.end()) {
                    for b in bytes.iter_mut().filter(|b| !matches!(b, b'\n' | b'\r')) {
                        *b = b' ';
                    }
                }
            }
            Piece { text: Some(text), reach: reach.unwrap_or_default() }
        })
        .collect()
}

/// Whether `rule`'s condition may name another rule of the file: a word of the condition
/// that is another rule's name. Words after `$ # @ !` (patterns) or `.` (fields) are not
/// rule names. Errs towards yes: a word in a string literal counts too.
fn names_a_rule(src: &[u8], rule: &Rule<'_>, names: &[&str]) -> bool {
    let span = rule.condition.span();
    let Some(text) = src.get(span.start()..span.end()) else { return true };
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        if !(b.is_ascii_alphabetic() || b == b'_') {
            i += 1;
            continue;
        }
        let start = i;
        while text.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
            i += 1;
        }
        let before = start.checked_sub(1).and_then(|p| text.get(p)).copied();
        if matches!(before, Some(b'$' | b'#' | b'@' | b'!' | b'.')) {
            continue;
        }
        let word = text.get(start..i).unwrap_or_default();
        if names.iter().any(|n| *n != rule.identifier.name && n.as_bytes() == word) {
            return true;
        }
    }
    false
}

/// Whether the expression is false for data that does not start with `MZ`.
fn expr_needs_mz(e: &Expr<'_>) -> bool {
    match e {
        Expr::False { .. } => true,
        Expr::And(n) => n.operands().any(expr_needs_mz),
        Expr::Or(n) => n.operands().all(expr_needs_mz),
        Expr::Eq(b) => is_mz_word(&b.lhs, &b.rhs) || is_mz_word(&b.rhs, &b.lhs),
        _ => false,
    }
}

/// `uint16(0)` compared with 0x5A4D, or `uint16be(0)` with 0x4D5A.
fn is_mz_word(call: &Expr<'_>, literal: &Expr<'_>) -> bool {
    let (Expr::FuncCall(f), Expr::LiteralInteger(l)) = (call, literal) else { return false };
    let at_zero = matches!(f.args.as_slice(), [Expr::LiteralInteger(a)] if a.value == 0);
    let want = match f.identifier.name {
        "uint16" => 0x5A4D,
        "uint16be" => 0x4D5A,
        _ => return false,
    };
    f.object.is_none() && at_zero && !l.is_unsigned && l.value == want
}

/// The smallest file size from which no rule of `src` can match (every rule's condition
/// requires `filesize` below it), or `None` when some rule may match a file of any size.
#[cfg(test)]
pub(crate) fn source_bound(src: &[u8]) -> Option<u64> {
    source_reach(src).bound
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

/// The groups to compile: for each, the pieces (by index in `reach`) and the files it is
/// used for. Pieces are grouped by size class on the ladder [`CUTS`] (the first cut at or
/// above their bound; unbounded ones last) and by whether they need `MZ`; a group reaches
/// the sizes below its members' largest bound. Every piece is in exactly one group (pieces
/// bounded by 0, which can match nothing, too, so that their compile problems are
/// reported), and two pieces of one source never share a group; empty groups are left out.
pub(crate) fn groups(reach: &[Reach]) -> Vec<(Vec<usize>, SizeRange)> {
    groups_on(reach, &CUTS)
}

/// The size class of a reach on the ladder `cuts`: the first cut at or above its bound;
/// `cuts.len()` when unbounded.
fn class(r: &Reach, cuts: &[u64]) -> usize {
    r.bound.map_or(cuts.len(), |b| cuts.iter().take_while(|&&c| c < b).count())
}

fn groups_on(reach: &[Reach], cuts: &[u64]) -> Vec<(Vec<usize>, SizeRange)> {
    let class = |r: &Reach| class(r, cuts);
    let mut out = Vec::new();
    for k in 0..=cuts.len() {
        for mz in [false, true] {
            let members: Vec<usize> = reach
                .iter()
                .enumerate()
                .filter(|(_, r)| class(r) == k && r.mz == mz)
                .map(|(i, _)| i)
                .collect();
            if members.is_empty() {
                continue;
            }
            let below = members
                .iter()
                .try_fold(0u64, |acc, &i| Some(acc.max(reach.get(i).and_then(|r| r.bound)?)));
            out.push((members, SizeRange { from: 0, below, mz }));
        }
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
    fn recognises_the_mz_header_only_in_certain_forms() {
        let mz = |c: &str| {
            source_reach(format!("rule r {{ strings: $a = \"x\" condition: {c} }}").as_bytes()).mz
        };
        assert!(mz("uint16(0) == 0x5a4d and $a"));
        assert!(mz("$a and 0x5A4D == uint16(0)"));
        assert!(mz("uint16be(0) == 0x4d5a and filesize < 10"));
        assert!(mz("(uint16(0) == 0x5a4d and $a) or (uint16(0) == 23117 and #a > 1)"));
        assert!(mz("false"));
        // Not certain: another offset or word, an `or` with another side, `not`, a `!=`.
        assert!(!mz("uint16(2) == 0x5a4d and $a"));
        assert!(!mz("uint16(0) == 0x4d5a and $a"));
        assert!(!mz("uint32(0) == 0x5a4d and $a"));
        assert!(!mz("uint16(0) == 0x5a4d or $a"));
        assert!(!mz("not (uint16(0) != 0x5a4d)"));
        assert!(!mz("$a"));
        // Every rule of the source counts.
        let two = "rule r { condition: uint16(0) == 0x5a4d } rule s { condition: true }";
        assert!(!source_reach(two.as_bytes()).mz);
    }

    #[test]
    fn groups_are_disjoint_and_reach_what_can_match() {
        let r = |bound, mz| Reach { bound, mz };
        let reach = [
            r(Some(10), false),
            r(None, false),
            r(Some(2000), true),
            r(Some(700), false),
            r(Some(1 << 30), true),
            r(Some(0), false),
            r(None, true),
        ];
        let g = groups_on(&reach, &[100, 1000]);
        assert_eq!(
            g,
            [
                (vec![0, 5], SizeRange { from: 0, below: Some(10), mz: false }),
                (vec![3], SizeRange { from: 0, below: Some(700), mz: false }),
                (vec![1], SizeRange { from: 0, below: None, mz: false }),
                (vec![2, 4, 6], SizeRange { from: 0, below: None, mz: true }),
            ]
        );
        // A bound above every cut stays bounded.
        assert_eq!(
            groups_on(&[r(Some(5000), true)], &[100]),
            [(vec![0], SizeRange { from: 0, below: Some(5000), mz: true })]
        );
        assert!(SizeRange::ALL.contains(u64::MAX));
        assert!(!SizeRange { from: 3, below: Some(5), mz: false }.contains(5));
        let pe = SizeRange { from: 0, below: None, mz: true };
        assert!(pe.holds(b"MZ\x90\x00") && !pe.holds(b"ZM") && !pe.holds(b"M"));
    }

    fn cut(src: &str) -> Vec<Piece> {
        pieces_on(src.as_bytes(), &[100])
    }

    #[test]
    fn a_mixed_source_is_cut_into_one_piece_per_group_keeping_positions() {
        let src = "import \"pe\"\n\
                   rule exe { strings: $a = \"x\" condition: uint16(0) == 0x5a4d and $a }\n\
                   // a comment between rules\n\
                   rule small {\n  strings: $a = \"y\"\n  condition: filesize < 50 and $a\n}\n\
                   rule any1 { strings: $a = \"z\" condition: $a }\n\
                   rule any2 { condition: pe.is_pe }\n";
        let p = cut(src);
        let texts: Vec<String> =
            p.iter().map(|p| String::from_utf8(p.text.clone().unwrap()).unwrap()).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        // In group order: the small-file class, then the unbounded without and with MZ.
        assert_eq!(p[0].reach, Reach { bound: Some(50), mz: false });
        assert_eq!(p[1].reach, Reach { bound: None, mz: false });
        assert_eq!(p[2].reach, Reach { bound: None, mz: true });
        let has = |t: &str, r: &str| t.contains(&format!("rule {r} "));
        assert!(has(&texts[0], "small") && !has(&texts[0], "exe") && !has(&texts[0], "any1"));
        assert!(has(&texts[1], "any1") && has(&texts[1], "any2") && !has(&texts[1], "small"));
        assert!(has(&texts[2], "exe") && !has(&texts[2], "any2"));
        for t in &texts {
            // Same length and lines: every line is the source's line or blank, the imports
            // and comments stay.
            assert_eq!(t.len(), src.len());
            assert_eq!(t.lines().count(), src.lines().count());
            assert!(t.lines().zip(src.lines()).all(|(a, b)| a == b || a.trim().is_empty()));
            assert!(t.starts_with("import \"pe\"\n") && t.contains("// a comment"));
        }
        // Each piece's reach is the join of its rules'; the whole source's is the join of all.
        assert_eq!(source_reach(src.as_bytes()), Reach { bound: None, mz: false });
    }

    #[test]
    fn a_source_stays_whole_when_cutting_could_change_what_it_matches() {
        let exe = "rule exe { strings: $a = \"x\" condition: uint16(0) == 0x5a4d and $a }";
        let whole = |src: String| {
            let p = cut(&src);
            p.len() == 1 && p[0].text.is_none() && p[0].reach == source_reach(src.as_bytes())
        };
        assert!(!whole(format!("{exe} rule other {{ condition: true }}")));
        // A rule reference, a rule set, a global rule, a shared name, an include, a parse
        // error; all rules in one group.
        assert!(whole(format!("{exe} rule other {{ condition: exe }}")));
        assert!(whole(format!("{exe} rule other {{ condition: not exe or true }}")));
        assert!(whole(format!("{exe} rule other {{ condition: any of (exe, false) }}")));
        assert!(whole(format!("{exe} global rule other {{ condition: true }}")));
        assert!(whole(format!("{exe} rule exe {{ condition: true }}")));
        assert!(whole(format!("include \"x.yar\" {exe} rule other {{ condition: true }}")));
        assert!(whole(format!("{exe} rule other {{ condition: }}")));
        assert!(whole(format!("{exe} {}", exe.replace("rule exe", "rule exe2"))));
        assert!(whole(exe.to_owned()));
        // Patterns and fields named like a rule are not references.
        assert!(!whole(format!(
            "{exe} rule other {{ strings: $exe = \"q\" condition: $exe and #exe > 0 and @exe[1] > 0 }}"
        )));
        assert!(!whole(format!("import \"pe\" {exe} rule other {{ condition: pe.exe }}")));
    }

    /// signature-base's YARA folder: a good part of the files bound their rules' file size, and a bound is
    /// only found in a file that mentions `filesize`.
    #[test]
    fn signature_base_is_partly_bounded() {
        let Some(c) = ferret_testkit::require_corpus() else { return };
        let (mut bounds, mut texts) = (Vec::new(), Vec::new());
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
                texts.push(text);
            }
        }
        let reach: Vec<Reach> = texts.iter().map(|t| source_reach(t)).collect();
        let g = groups(&reach);
        let sizes: Vec<(usize, SizeRange)> = g.iter().map(|(m, r)| (m.len(), *r)).collect();
        eprintln!("signature-base: {} files; groups (files, reach): {sizes:?}", bounds.len());
        let mz = reach.iter().filter(|r| r.mz).count();
        // Many signature-base files hold only rules for Windows executables.
        assert!(mz * 10 > reach.len(), "{mz} of {} need MZ", reach.len());
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
                Just("uint16(0) == 0x5a4d".to_owned()),
                Just("0x4d5a == uint16be(0)".to_owned()),
                Just("uint16(0) == 0x4d5a".to_owned()),
                Just("uint16(0) != 0x5a4d".to_owned()),
                // Another rule of the file, by name and in an `of` tuple (see `source`).
                Just("REF".to_owned()),
                Just("SET".to_owned()),
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
                // The first rule has no rule before it to name.
                let (by_name, by_set) =
                    if i == 0 { ("true", "true") } else { ("r0", "any of (r0, false)") };
                let c = c.replace("REF", by_name).replace("SET", by_set);
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

            /// Scanning each file with every group that reaches it finds exactly what one set
            /// of every rule finds.
            #[test]
            fn groups_lose_no_match(
                files in prop::collection::vec(prop::collection::vec(cond(), 1..4), 1..7),
                data in prop::collection::vec(
                    (0usize..2200, prop::collection::vec(0usize..2200, 0..3), any::<bool>()),
                    12,
                ),
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
                // A ladder at the scale of these sizes, so that every class is exercised.
                let cuts = [300, 900, 1600];
                // Every source cut into its pieces, each compiled under the source's index.
                let (mut pieces, mut reach) = (Vec::new(), Vec::new());
                for (i, s) in sources.iter().enumerate() {
                    for p in pieces_on(&s.text, &cuts) {
                        let text = p.text.unwrap_or_else(|| s.text.clone());
                        pieces.push((i, YaraSource { name: s.name.clone(), text, path: None }));
                        reach.push(p.reach);
                    }
                }
                let lv: Vec<(yara_x::Rules, SizeRange)> = groups_on(&reach, &cuts)
                    .into_iter()
                    .map(|(members, range)| {
                        let picked: Vec<(usize, &YaraSource)> =
                            members.iter().map(|&p| (pieces[p].0, &pieces[p].1)).collect();
                        (compile_cached(&picked, None, &mut problems, &mut own).rules, range)
                    })
                    .collect();
                for (len, needles, exe) in &data {
                    let mut bytes = vec![b'.'; *len];
                    if *exe && bytes.len() >= 2 {
                        bytes[..2].copy_from_slice(b"MZ");
                    }
                    for &at in needles {
                        if at + 6 <= bytes.len() {
                            bytes[at..at + 6].copy_from_slice(b"needle");
                        }
                    }
                    let mut want = matches(&full.rules, &bytes);
                    let mut got: Vec<String> = lv
                        .iter()
                        .filter(|(_, r)| r.holds(&bytes))
                        .flat_map(|(r, _)| matches(r, &bytes))
                        .collect();
                    want.sort();
                    got.sort();
                    prop_assert_eq!(got, want, "size {} reach {:?}", bytes.len(), reach);
                }
                // Every rule compiled once: the pieces' rules are the sources' rules.
                let count: usize = lv.iter().map(|(r, _)| r.iter().count()).sum();
                prop_assert_eq!(count, full.rules.iter().count());
            }
        }
    }
}

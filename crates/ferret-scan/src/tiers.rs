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
//! * **a file header**: many rules start with a check of the file's first bytes
//!   (`uint16(0) == 0x5A4D`, the `MZ` of a Windows executable; `uint32(0) == 0x464C457F`,
//!   an ELF file's `\x7fELF`; OLE, ZIP, PDF and script headers); a rule that requires one
//!   cannot match a file that does not start with it. What is kept is the set of the first
//!   two bytes the rule admits. Recognised: `uint16`, `uint16be`, `uint32` and `uint32be` at
//!   offset 0 compared for equality with an integer literal (either way round; a literal out
//!   of the function's range admits nothing), a conjunction (what all its operands admit), a
//!   disjunction (what any operand admits), `false` (nothing).
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
//! alone, so the pieces load exactly the rules the whole source would.) A piece (or a source
//! kept whole) also loses the imports of modules none of its rules names
//! ([`blank_unused_imports`]): yara-x runs every module a compiled set imports on every file
//! it scans. Pieces are grouped by [`group_key`] (size class on the ladder [`CUTS`]; header
//! class, for the largest files only `MZ` or not): every piece is in exactly one group, each group is
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

/// The first two bytes of the data a rule (or a group) can match: any (`None`), or one of a
/// sorted set (empty: the rule can match nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Heads(Option<Vec<[u8; 2]>>);

impl Heads {
    /// Any data.
    pub(crate) const ANY: Heads = Heads(None);

    /// No data at all.
    fn none() -> Heads {
        Heads(Some(Vec::new()))
    }

    fn one(h: [u8; 2]) -> Heads {
        Heads(Some(vec![h]))
    }

    /// What either admits.
    fn union(&self, other: &Heads) -> Heads {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => {
                let mut v: Vec<[u8; 2]> = a.iter().chain(b).copied().collect();
                v.sort_unstable();
                v.dedup();
                Heads(Some(v))
            }
            _ => Heads::ANY,
        }
    }

    /// What both admit.
    fn intersect(&self, other: &Heads) -> Heads {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => {
                Heads(Some(a.iter().filter(|h| b.contains(h)).copied().collect()))
            }
            (Some(a), None) | (None, Some(a)) => Heads(Some(a.clone())),
            (None, None) => Heads::ANY,
        }
    }

    /// Whether data starting with `data` may be admitted.
    pub(crate) fn admits(&self, data: &[u8]) -> bool {
        let Some(set) = &self.0 else { return true };
        match data {
            [a, b, ..] => set.binary_search(&[*a, *b]).is_ok(),
            _ => false,
        }
    }

    /// Whether this admits exactly the one header `h`.
    fn is_only(&self, h: [u8; 2]) -> bool {
        self.0.as_deref() == Some(&[h])
    }
}

/// The headers that get groups of their own; every other header-bound piece shares one group.
/// In signature-base, 3,306 conditions check for `MZ` and 179 for an ELF header; no other
/// header is checked by more than 75.
const OWN_HEADS: [[u8; 2]; 2] = [*b"MZ", *b"\x7fE"];

/// The header class of a reach: 0 any data, `1 + i` only `OWN_HEADS[i]` (`MZ` is 1), after
/// those every other set (one header or more, or none).
fn head_class(h: &Heads) -> usize {
    if h.0.is_none() {
        return 0;
    }
    OWN_HEADS.iter().position(|&o| h.is_only(o)).map_or(OWN_HEADS.len() + 1, |i| i + 1)
}

/// The number of header classes ([`head_class`]).
const HEAD_CLASSES: usize = OWN_HEADS.len() + 2;

/// The files a compiled group is used for: `from` ≤ size < `below` (`None`: no upper end)
/// and whose first bytes `heads` admits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SizeRange {
    pub(crate) from: u64,
    pub(crate) below: Option<u64>,
    pub(crate) heads: Heads,
}

impl SizeRange {
    /// Every file.
    pub(crate) const ALL: SizeRange = SizeRange { from: 0, below: None, heads: Heads::ANY };

    /// Whether some data of `len` bytes is in the reach (whatever its first bytes).
    pub(crate) fn contains(&self, len: u64) -> bool {
        self.from <= len && self.below.is_none_or(|b| len < b)
    }

    /// Whether `data` is in the reach.
    pub(crate) fn holds(&self, data: &[u8]) -> bool {
        self.contains(data.len() as u64) && self.heads.admits(data)
    }
}

/// What a source can match: its size bound (the smallest file size from which no rule can
/// match; `None`: some rule may match any size) and the headers its rules admit; and whether
/// its rules use a module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reach {
    pub(crate) bound: Option<u64>,
    pub(crate) heads: Heads,
    /// Whether some rule uses an imported module (for a source kept as written, whether it
    /// imports one). yara-x builds the structure of every module a compiled set imports for
    /// every file it scans (for `pe`, a few hundred fields read through protobuf reflection,
    /// whatever the file): such pieces go to the last size class whatever their bound, so
    /// that a small file meets one set that imports modules (two for an executable) instead
    /// of one per size class.
    pub(crate) modules: bool,
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
    let mut all = Reach { bound: Some(0), heads: Heads::none(), modules: false };
    for item in ast.items() {
        match item {
            Item::Import(_) => all.modules = true,
            Item::Include(_) => return Reach::default(),
            Item::Rule(rule) => all = join(&all, &rule_reach(rule)),
        }
    }
    all
}

/// What one rule can match (its use of modules aside).
fn rule_reach(rule: &Rule<'_>) -> Reach {
    Reach { bound: expr_bound(&rule.condition), heads: expr_heads(&rule.condition), modules: false }
}

/// What the rules of `reach` and one more rule can match together.
fn join(a: &Reach, b: &Reach) -> Reach {
    Reach {
        bound: match (a.bound, b.bound) {
            (Some(x), Some(y)) => Some(x.max(y)),
            _ => None,
        },
        heads: a.heads.union(&b.heads),
        modules: a.modules || b.modules,
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
    let mut imports: Vec<(&str, Span)> = Vec::new();
    for item in ast.items() {
        match item {
            // Only modules this build has (see `blank_unused_imports`).
            Item::Import(i) if is_module(i.module_name) => imports.push((i.module_name, i.span())),
            Item::Import(_) => {}
            Item::Include(_) => return whole(&ast),
            Item::Rule(rule) => rules.push(rule),
        }
    }
    if spans.len() != rules.len() {
        return whole(&ast);
    }
    // Which imports each rule names (by index in `imports`), read once; and whether it uses
    // a module at all.
    let named: Vec<Vec<bool>> = spans
        .iter()
        .map(|span| {
            let text = src.get(span.start()..span.end()).unwrap_or_default();
            imports.iter().map(|(module, _)| holds_word(text, module.as_bytes())).collect()
        })
        .collect();
    let uses: Vec<bool> = named.iter().map(|n| n.contains(&true)).collect();
    // The source kept whole, but without the imports no rule of it uses.
    let whole_trimmed = || {
        let mut text = src.to_vec();
        let all: Vec<&[bool]> = named.iter().map(Vec::as_slice).collect();
        let trimmed = blank_unused_imports(&mut text, &imports, &all);
        let reach = Reach { modules: uses.contains(&true), ..reach_of(&ast) };
        vec![Piece { text: trimmed.then_some(text), reach }]
    };
    let mut names: Vec<&str> = rules.iter().map(|r| r.identifier.name).collect();
    names.sort_unstable();
    let shared_name = names.windows(2).any(|w| w.first() == w.get(1));
    if rules.len() < 2
        || shared_name
        || rules.iter().any(|r| r.flags.contains(RuleFlags::Global))
        || rules.iter().any(|r| names_a_rule(src, r, &names))
    {
        return whole_trimmed();
    }
    let keyed: Vec<((usize, usize), Reach)> = rules
        .iter()
        .zip(&uses)
        .map(|(r, &modules)| {
            let reach = Reach { modules, ..rule_reach(r) };
            (group_key(&reach, cuts), reach)
        })
        .collect();
    let mut keys: Vec<(usize, usize)> = keyed.iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.len() < 2 {
        return whole_trimmed();
    }
    keys.iter()
        .map(|key| {
            let mut text = src.to_vec();
            let mut reach: Option<Reach> = None;
            let mut kept: Vec<&[bool]> = Vec::new();
            for (((k, r), span), n) in keyed.iter().zip(&spans).zip(&named) {
                if k == key {
                    reach = Some(reach.map_or_else(|| r.clone(), |a| join(&a, r)));
                    kept.push(n);
                } else {
                    blank(&mut text, span);
                }
            }
            blank_unused_imports(&mut text, &imports, &kept);
            Piece { text: Some(text), reach: reach.unwrap_or_default() }
        })
        .collect()
}

/// Every byte of `span` in `text` but line ends made a space (lines and columns kept).
fn blank(text: &mut [u8], span: &Span) {
    if let Some(bytes) = text.get_mut(span.start()..span.end()) {
        for b in bytes.iter_mut().filter(|b| !matches!(b, b'\n' | b'\r')) {
            *b = b' ';
        }
    }
}

/// Blanks the imports of modules that no rule kept in `text` names (`kept`: for each such
/// rule, which of `imports` it names): yara-x runs every imported module on every file a
/// compiled set scans, used or not, and builds its whole structure each time (a few hundred
/// fields for `pe`). A rule can only use a module by its name, so a rule whose text (meta,
/// strings and condition) never holds the name as a word does not use it. Only modules of
/// this build are blanked: importing one it does not have is a compile error, which the
/// piece must still report (`imports` holds only the modules this build has). Whether
/// something was blanked.
fn blank_unused_imports(text: &mut [u8], imports: &[(&str, Span)], kept: &[&[bool]]) -> bool {
    let mut blanked = false;
    for (j, (_, span)) in imports.iter().enumerate() {
        if !kept.iter().any(|n| n.get(j) == Some(&true)) {
            blank(text, span);
            blanked = true;
        }
    }
    blanked
}

/// Whether this build of yara-x has the module `name`.
fn is_module(name: &str) -> bool {
    yara_x::mods::module_names().any(|known| known == name)
}

/// Whether `word` occurs in `text` with no identifier character on either side.
fn holds_word(text: &[u8], word: &[u8]) -> bool {
    let ident = |b: Option<&u8>| b.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if word.is_empty() {
        return false;
    }
    text.windows(word.len()).enumerate().any(|(i, w)| {
        w == word
            && !ident(i.checked_sub(1).and_then(|p| text.get(p)))
            && !ident(text.get(i + word.len()))
    })
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

/// The first two bytes of the data for which the expression may be true.
fn expr_heads(e: &Expr<'_>) -> Heads {
    match e {
        Expr::False { .. } => Heads::none(),
        Expr::And(n) => n.operands().fold(Heads::ANY, |acc, op| acc.intersect(&expr_heads(op))),
        Expr::Or(n) => n.operands().fold(Heads::none(), |acc, op| acc.union(&expr_heads(op))),
        Expr::Eq(b) => header_word(&b.lhs, &b.rhs)
            .or_else(|| header_word(&b.rhs, &b.lhs))
            .unwrap_or(Heads::ANY),
        _ => Heads::ANY,
    }
}

/// `uint16(0)`, `uint16be(0)`, `uint32(0)` or `uint32be(0)` compared with an integer
/// literal: the first two bytes of the data for which they are equal (none when the literal
/// is out of the function's range; data too short for the read makes the comparison false).
fn header_word(call: &Expr<'_>, literal: &Expr<'_>) -> Option<Heads> {
    let (Expr::FuncCall(f), Expr::LiteralInteger(l)) = (call, literal) else { return None };
    let at_zero = matches!(f.args.as_slice(), [Expr::LiteralInteger(a)] if a.value == 0);
    if f.object.is_some() || !at_zero || l.is_unsigned {
        return None;
    }
    let value = l.value;
    let head = |bytes: &[u8]| -> Heads {
        match bytes {
            [first, second, ..] => Heads::one([*first, *second]),
            _ => Heads::ANY,
        }
    };
    Some(match f.identifier.name {
        "uint16" => u16::try_from(value).map_or_else(|_| Heads::none(), |w| head(&w.to_le_bytes())),
        "uint16be" => {
            u16::try_from(value).map_or_else(|_| Heads::none(), |w| head(&w.to_be_bytes()))
        }
        "uint32" => u32::try_from(value).map_or_else(|_| Heads::none(), |w| head(&w.to_le_bytes())),
        "uint32be" => {
            u32::try_from(value).map_or_else(|_| Heads::none(), |w| head(&w.to_be_bytes()))
        }
        _ => return None,
    })
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
/// above their bound; unbounded ones last) and by header class ([`group_key`]); a group
/// reaches the sizes below its members' largest bound and the headers any member admits.
/// Every piece is in exactly one group (pieces that can match nothing, too, so that their
/// compile problems are reported), and two pieces of one source never share a group; empty
/// groups are left out.
pub(crate) fn groups(reach: &[Reach]) -> Vec<(Vec<usize>, SizeRange)> {
    groups_on(reach, &CUTS)
}

/// The size class of a reach on the ladder `cuts`: the first cut at or above its bound;
/// `cuts.len()` when unbounded.
fn class(r: &Reach, cuts: &[u64]) -> usize {
    r.bound.map_or(cuts.len(), |b| cuts.iter().take_while(|&&c| c < b).count())
}

/// The group of a reach: its size class, and its header class ([`head_class`]) below the
/// last size class; in the last (the largest files), only whether it needs `MZ`. Each group
/// a file meets is one more pass of yara-x over all its bytes: for a small file a pass costs
/// little next to the rules it is spared (each rule's condition runs for every file), for a
/// large one the pass is the cost (measured: `BENCHMARKS.md`). A reach that uses a module
/// is in the last size class whatever its bound (see [`Reach::modules`]).
fn group_key(r: &Reach, cuts: &[u64]) -> (usize, usize) {
    let size = if r.modules { cuts.len() } else { class(r, cuts) };
    let head = match head_class(&r.heads) {
        h if size < cuts.len() => h,
        1 => 1,
        _ => 0,
    };
    (size, head)
}

fn groups_on(reach: &[Reach], cuts: &[u64]) -> Vec<(Vec<usize>, SizeRange)> {
    let mut out = Vec::new();
    for k in 0..=cuts.len() {
        for h in 0..HEAD_CLASSES {
            let members: Vec<usize> = reach
                .iter()
                .enumerate()
                .filter(|(_, r)| group_key(r, cuts) == (k, h))
                .map(|(i, _)| i)
                .collect();
            let mut picked = members.iter().filter_map(|&i| reach.get(i));
            let Some(first) = picked.next() else { continue };
            let all = picked.fold(first.clone(), |acc, r| join(&acc, r));
            out.push((members, SizeRange { from: 0, below: all.bound, heads: all.heads }));
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

    fn heads(c: &str) -> Heads {
        source_reach(format!("rule r {{ strings: $a = \"x\" condition: {c} }}").as_bytes()).heads
    }

    fn of(hs: &[&[u8; 2]]) -> Heads {
        let mut v: Vec<[u8; 2]> = hs.iter().map(|h| **h).collect();
        v.sort_unstable();
        Heads(Some(v))
    }

    #[test]
    fn recognises_headers_only_in_certain_forms() {
        let mz = of(&[b"MZ"]);
        let elf = of(&[b"\x7fE"]);
        assert_eq!(heads("uint16(0) == 0x5a4d and $a"), mz);
        assert_eq!(heads("$a and 0x5A4D == uint16(0)"), mz);
        assert_eq!(heads("uint16be(0) == 0x4d5a and filesize < 10"), mz);
        assert_eq!(heads("(uint16(0) == 0x5a4d and $a) or (uint16(0) == 23117 and #a > 1)"), mz);
        assert_eq!(heads("uint32(0) == 0x464c457f and $a"), elf);
        assert_eq!(heads("uint32be(0) == 0x7f454c46"), elf);
        assert_eq!(heads("uint16(0) == 0x457f"), elf);
        assert_eq!(heads("uint32(0) == 0x00905a4d"), mz);
        // Either header; both at once, or a value no read can give: nothing.
        assert_eq!(heads("uint16(0) == 0x5a4d or uint32(0) == 0x464c457f"), of(&[b"MZ", b"\x7fE"]));
        assert_eq!(heads("uint16(0) == 0x5a4d and uint16(0) == 0x457f"), of(&[]));
        assert_eq!(heads("uint16(0) == 0x15a4d and $a"), of(&[]));
        assert_eq!(heads("uint16(0) == -2 and $a"), of(&[]));
        assert_eq!(heads("false"), of(&[]));
        // Not certain: another offset or function, an `or` with another side, `not`, `!=`.
        for c in [
            "uint16(2) == 0x5a4d and $a",
            "uint8(0) == 0x4d and $a",
            "int16(0) == 0x5a4d and $a",
            "uint16(0) == 0x5a4d or $a",
            "not (uint16(0) != 0x5a4d)",
            "uint16(0) != 0x5a4d",
            "uint16(0) == 0x5a4d + 0",
            "$a",
        ] {
            assert_eq!(heads(c), Heads::ANY, "{c}");
        }
        // Every rule of the source counts.
        let two = "rule r { condition: uint16(0) == 0x5a4d } rule s { condition: true }";
        assert_eq!(source_reach(two.as_bytes()).heads, Heads::ANY);
        let two =
            "rule r { condition: uint16(0) == 0x5a4d } rule s { condition: uint16(0) == 0x4b50 }";
        assert_eq!(source_reach(two.as_bytes()).heads, of(&[b"MZ", b"PK"]));
    }

    #[test]
    fn headers_admit_only_their_first_bytes() {
        assert!(Heads::ANY.admits(b"") && Heads::ANY.admits(b"x"));
        let h = of(&[b"MZ", b"PK"]);
        assert!(h.admits(b"MZ\x90\x00") && h.admits(b"PK") && !h.admits(b"ZM"));
        assert!(!h.admits(b"M") && !h.admits(b"") && !of(&[]).admits(b"MZ"));
        assert_eq!(head_class(&Heads::ANY), 0);
        assert_eq!(head_class(&of(&[b"MZ"])), 1);
        assert_eq!(head_class(&of(&[b"\x7fE"])), 2);
        assert_eq!(head_class(&of(&[b"PK"])), 3);
        assert_eq!(head_class(&of(&[b"MZ", b"\x7fE"])), 3);
        assert_eq!(head_class(&of(&[])), 3);
    }

    #[test]
    fn groups_are_disjoint_and_reach_what_can_match() {
        let r = |bound, heads: &Heads| Reach { bound, heads: heads.clone(), modules: false };
        let (any, mz, elf, pk) = (Heads::ANY, of(&[b"MZ"]), of(&[b"\x7fE"]), of(&[b"PK"]));
        let reach = [
            r(Some(10), &any),
            r(None, &any),
            r(Some(2000), &mz),
            r(Some(700), &any),
            r(Some(1 << 30), &mz),
            r(Some(0), &any),
            r(None, &mz),
            r(None, &elf),
            r(None, &pk),
            r(Some(50), &of(&[b"MZ", b"%P"])),
            r(None, &of(&[])),
            r(Some(80), &elf),
        ];
        let g = groups_on(&reach, &[100, 1000]);
        let range = |below, heads: &Heads| SizeRange { from: 0, below, heads: heads.clone() };
        // Below the last size class, by header class; in the last, by MZ or not.
        assert_eq!(
            g,
            [
                (vec![0, 5], range(Some(10), &any)),
                (vec![11], range(Some(80), &elf)),
                (vec![9], range(Some(50), &of(&[b"MZ", b"%P"]))),
                (vec![3], range(Some(700), &any)),
                (vec![1, 7, 8, 10], range(None, &any)),
                (vec![2, 4, 6], range(None, &mz)),
            ]
        );
        assert_eq!(
            groups_on(&[r(None, &elf), r(None, &pk)], &[100]),
            [(vec![0, 1], range(None, &of(&[b"\x7fE", b"PK"])))]
        );
        // Pieces that use a module are in the last size class, whatever their bound.
        let m = |bound, heads: &Heads| Reach { bound, heads: heads.clone(), modules: true };
        assert_eq!(
            groups_on(
                &[m(Some(10), &any), r(None, &any), m(Some(10), &mz), r(Some(10), &any)],
                &[100]
            ),
            [
                (vec![3], range(Some(10), &any)),
                (vec![0, 1], range(None, &any)),
                (vec![2], range(Some(10), &mz))
            ]
        );
        // A bound above every cut stays bounded.
        assert_eq!(groups_on(&[r(Some(5000), &mz)], &[100]), [(vec![0], range(Some(5000), &mz))]);
        assert!(SizeRange::ALL.contains(u64::MAX));
        assert!(!SizeRange { from: 3, below: Some(5), heads: Heads::ANY }.contains(5));
        let pe = range(None, &mz);
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
                   rule any2 { condition: filesize < 40 and pe.is_pe }\n";
        let p = cut(src);
        let texts: Vec<String> =
            p.iter().map(|p| String::from_utf8(p.text.clone().unwrap()).unwrap()).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        // In group order: the small-file class, then the unbounded (with `any2`, bounded but
        // using a module) without and with MZ.
        assert_eq!(p[0].reach, Reach { bound: Some(50), heads: Heads::ANY, modules: false });
        assert_eq!(p[1].reach, Reach { bound: None, heads: Heads::ANY, modules: true });
        assert_eq!(p[2].reach, Reach { bound: None, heads: of(&[b"MZ"]), modules: false });
        let has = |t: &str, r: &str| t.contains(&format!("rule {r} "));
        assert!(has(&texts[0], "small") && !has(&texts[0], "exe") && !has(&texts[0], "any1"));
        assert!(has(&texts[1], "any1") && has(&texts[1], "any2") && !has(&texts[1], "small"));
        assert!(has(&texts[2], "exe") && !has(&texts[2], "any2"));
        for t in &texts {
            // Same length and lines: every line is the source's line or blank, the
            // comments stay.
            assert_eq!(t.len(), src.len());
            assert_eq!(t.lines().count(), src.lines().count());
            assert!(t.lines().zip(src.lines()).all(|(a, b)| a == b || a.trim().is_empty()));
            assert!(t.contains("// a comment"));
        }
        // Only the piece whose rules use `pe` imports it.
        assert!(texts[1].starts_with("import \"pe\"\n"));
        assert!(!texts[0].contains("import") && !texts[2].contains("import"));
        // Each piece's reach is the join of its rules'; the whole source's is the join of all.
        assert_eq!(
            source_reach(src.as_bytes()),
            Reach { bound: None, heads: Heads::ANY, modules: true }
        );
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

    #[test]
    fn unused_imports_are_blanked_used_ones_kept() {
        let src = "import \"pe\"\nimport \"math\"\n\
                   rule exe { condition: uint16(0) == 0x5a4d and pe.number_of_sections > 2 }\n\
                   rule txt { strings: $a = \"pe.\" condition: filesize < 50 and $a and math.max(1, 2) == 2 }\n\
                   rule plain { strings: $a = \"x\" condition: $a }\n\
                   rule tiny { strings: $a = \"q\" condition: filesize < 50 and $a }\n";
        let p = cut(src);
        let texts: Vec<String> =
            p.iter().map(|p| String::from_utf8(p.text.clone().unwrap()).unwrap()).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        // The small-file piece imports nothing; the one of any data, with `txt` (bounded, but
        // it uses modules), keeps math (and pe: a string names it, which counts); the
        // executable's keeps pe only.
        assert!(!texts[0].contains("import"));
        assert!(texts[1].contains("import \"math\"") && texts[1].contains("import \"pe\""));
        assert!(texts[2].contains("import \"pe\"") && !texts[2].contains("import \"math\""));
        assert_eq!(p.iter().map(|p| p.reach.modules).collect::<Vec<_>>(), [false, true, true]);
        assert!(
            texts.iter().all(|t| t.len() == src.len() && t.lines().count() == src.lines().count())
        );
        // A source kept whole loses its unused imports too; nothing to lose, no copy.
        let whole = "import \"pe\"\nimport \"math\"\nrule a { condition: pe.is_pe }";
        let p = cut(whole);
        assert_eq!(p.len(), 1);
        let t = String::from_utf8(p[0].text.clone().unwrap()).unwrap();
        assert!(t.contains("import \"pe\"") && !t.contains("math") && t.len() == whole.len());
        assert!(cut("import \"pe\" rule a { condition: pe.is_pe }")[0].text.is_none());
        // A module this build does not have stays imported: its compile error is reported.
        let unknown = "import \"vt\"\nrule a { condition: true }";
        assert!(cut(unknown)[0].text.is_none());
        // Words, not parts of words.
        assert!(holds_word(b"x and pe.is_pe", b"pe") && holds_word(b"pe", b"pe"));
        assert!(!holds_word(b"$pe_x and type", b"pe") && !holds_word(b"ape.x", b"pe"));
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
        let sizes: Vec<(usize, SizeRange)> = g.iter().map(|(m, r)| (m.len(), r.clone())).collect();
        eprintln!("signature-base: {} files; groups (files, reach): {sizes:?}", bounds.len());
        let mz = reach.iter().filter(|r| r.heads.is_only(*b"MZ")).count();
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
                Just("uint32(0) == 0x464c457f".to_owned()),
                Just("uint16be(0) == 0x7f45".to_owned()),
                Just("uint32be(0) == 0x504b0304".to_owned()),
                Just("uint16(0) == 0x4b50".to_owned()),
                Just("uint32(0) == 0x4b50".to_owned()),
                Just("uint16(0) == 0x10000".to_owned()),
                Just("uint8(0) == 0x50".to_owned()),
                // Modules (every source imports both; a piece keeps only those it names).
                Just("pe.is_pe".to_owned()),
                Just("math.max(1, 2) == 2".to_owned()),
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
            let mut text = String::from("import \"pe\"\nimport \"math\"\n");
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
                    (0usize..2200, prop::collection::vec(0usize..2200, 0..3), 0usize..5),
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
                for (len, needles, head) in &data {
                    let mut bytes = vec![b'.'; *len];
                    // No header, an executable's, an ELF file's, a ZIP file's, a bare `PK`.
                    let head: &[u8] = [&b""[..], b"MZ", b"\x7fELF", b"PK\x03\x04", b"PK\0\0"][*head];
                    let n = head.len().min(bytes.len());
                    bytes[..n].copy_from_slice(&head[..n]);
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

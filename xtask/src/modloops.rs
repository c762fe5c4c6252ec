//! The file-level module loop check: inside one crate, no two source files may depend on each
//! other, directly or through others.
//!
//! A file's module tree is found from the crate root by its `mod NAME;` declarations. A file
//! depends on another when it names it: `use crate::…`, `use super::…`, `use self::…` (use
//! trees expanded) and `crate::x::…` / `super::x::…` paths anywhere in its code (comments and
//! strings are skipped). A path is resolved to the deepest module that is a file; an item a file
//! re-exports (`pub use a::Item`) resolves further to where it is defined, so a loop through a
//! re-export in `lib.rs` is still a loop. References between a module and its own ancestors
//! (a parent declares and re-exports its children; children use what the parent holds) are the
//! tree itself and do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::lex::{Tok, Token, tokenize};

/// One reference from a file to another: the line and the path as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// 1-based line in the referring file.
    pub line: usize,
    /// The path, `::`-joined.
    pub path: String,
}

/// A loop between files: each file depends on the next, the last on the first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loop {
    /// The files, relative to the crate directory.
    pub files: Vec<PathBuf>,
    /// For each file, the reference that makes it depend on the next.
    pub references: Vec<Reference>,
    /// Every file that depends on every other through some loop (the strongly connected
    /// component `files` is one cycle of), sorted.
    pub component: Vec<PathBuf>,
}

impl std::fmt::Display for Loop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
        write!(f, "{} → {}", names.join(" → "), names.first().map_or("", String::as_str))?;
        for (file, r) in names.iter().zip(&self.references) {
            write!(f, "\n    {file}:{}: {}", r.line, r.path)?;
        }
        if self.component.len() > self.files.len() {
            let all: Vec<String> = self.component.iter().map(|p| p.display().to_string()).collect();
            write!(f, "\n    (the loop joins {} files: {})", all.len(), all.join(", "))?;
        }
        Ok(())
    }
}

/// A source file of the crate and its place in the module tree.
struct File {
    rel: PathBuf,
    module: Vec<String>,
    tokens: Vec<Token>,
    /// Names this file re-exports (`pub use`), to the absolute path they stand for.
    reexports: BTreeMap<String, Vec<String>>,
}

/// The files reachable from `root` (a crate root such as `src/lib.rs`) through `mod NAME;`.
fn module_tree(crate_dir: &Path, root: &Path) -> std::io::Result<Vec<File>> {
    let mut files = Vec::new();
    let mut stack = vec![(root.to_path_buf(), Vec::<String>::new())];
    let mut seen = BTreeSet::new();
    while let Some((path, module)) = stack.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let tokens = tokenize(&text);
        let is_dir_owner = path == root || path.file_name().is_some_and(|n| n == "mod.rs");
        let child_dir = if is_dir_owner {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            path.with_extension("")
        };
        for name in declared_file_modules(&tokens) {
            let flat = child_dir.join(format!("{name}.rs"));
            let nested = child_dir.join(&name).join("mod.rs");
            let found =
                if flat.is_file() { Some(flat) } else { nested.is_file().then_some(nested) };
            if let Some(p) = found {
                let mut m = module.clone();
                m.push(name);
                stack.push((p, m));
            }
        }
        let rel = path.strip_prefix(crate_dir).unwrap_or(&path).to_path_buf();
        files.push(File { rel, module, tokens, reexports: BTreeMap::new() });
    }
    files.sort_by(|a, b| a.module.cmp(&b.module));
    Ok(files)
}

/// `mod NAME;` declarations at the file's top level (not inside an inline module).
fn declared_file_modules(tokens: &[Token]) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate() {
        if t.is('{') {
            depth += 1;
        } else if t.is('}') {
            depth = depth.saturating_sub(1);
        } else if depth == 0
            && t.ident() == Some("mod")
            && let Some(name) = tokens.get(i + 1).and_then(Token::ident)
            && tokens.get(i + 2).is_some_and(|t| t.is(';'))
        {
            out.push(name.to_owned());
        }
    }
    out
}

/// A path found in a file: its segments, where it was written and whether it is a `pub use`.
struct FoundPath {
    segments: Vec<String>,
    /// The alias it is imported under (the last segment unless `as`).
    alias: Option<String>,
    /// The inline module scope it was written in (relative to the file's module).
    scope: Vec<String>,
    line: usize,
    public_use: bool,
}

/// Expands the use tree starting at `tokens[i]` (after `use`), pushing complete paths.
/// Returns the index after the tree.
fn use_tree(
    tokens: &[Token],
    mut i: usize,
    prefix: &[String],
    line: usize,
    out: &mut Vec<(Vec<String>, Option<String>, usize)>,
) -> usize {
    let mut path = prefix.to_vec();
    let mut consumed = false;
    loop {
        let Some(t) = tokens.get(i) else { return i };
        match &t.tok {
            Tok::PathSep => i += 1,
            Tok::Ident(s) if s == "as" => {
                let alias = tokens.get(i + 1).and_then(Token::ident).map(str::to_owned);
                out.push((path, alias, line));
                return i + 2;
            }
            // `a::{self, …}`: the module itself.
            Tok::Ident(s) if s == "self" && !prefix.is_empty() && path.len() == prefix.len() => {
                consumed = true;
                i += 1;
            }
            Tok::Ident(s) => {
                path.push(s.clone());
                consumed = true;
                i += 1;
            }
            Tok::Punct('*') => {
                path.push("*".into());
                consumed = true;
                i += 1;
            }
            Tok::Punct('{') => {
                i += 1;
                loop {
                    match tokens.get(i) {
                        None => return i,
                        Some(t) if t.is('}') => return i + 1,
                        Some(t) if t.is(',') => i += 1,
                        Some(_) => i = use_tree(tokens, i, &path, line, out),
                    }
                }
            }
            Tok::Punct(_) => {
                if consumed {
                    out.push((path, None, line));
                }
                return i;
            }
        }
    }
}

/// Every path of interest in a file: expanded `use` trees (all of them) and `crate::`,
/// `super::` and `self::` paths elsewhere.
fn found_paths(tokens: &[Token]) -> Vec<FoundPath> {
    let mut out = Vec::new();
    // Inline module scopes: (name, brace depth at which it closes).
    let mut scopes: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let scope_of = |scopes: &[(String, usize)]| scopes.iter().map(|(n, _)| n.clone()).collect();
    while let Some(t) = tokens.get(i) {
        match &t.tok {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if scopes.last().is_some_and(|(_, d)| *d == depth) {
                    scopes.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(s)
                if s == "mod"
                    && tokens.get(i + 2).is_some_and(|t| t.is('{'))
                    && tokens.get(i + 1).and_then(Token::ident).is_some() =>
            {
                let name = tokens.get(i + 1).and_then(Token::ident).unwrap_or_default();
                scopes.push((name.to_owned(), depth + 1));
                i += 2;
            }
            Tok::Ident(s) if s == "use" => {
                let public = is_public_use(tokens, i);
                let mut paths = Vec::new();
                let end = use_tree(tokens, i + 1, &[], t.line, &mut paths);
                for (segments, alias, line) in paths {
                    out.push(FoundPath {
                        segments,
                        alias,
                        scope: scope_of(&scopes),
                        line,
                        public_use: public,
                    });
                }
                i = end.max(i + 1);
            }
            Tok::Ident(s)
                if (s == "crate" || s == "super" || s == "self")
                    && tokens.get(i + 1).is_some_and(|t| t.tok == Tok::PathSep)
                    && !tokens.get(i.wrapping_sub(1)).is_some_and(|t| t.tok == Tok::PathSep) =>
            {
                let mut segments = vec![s.clone()];
                let mut j = i + 1;
                while tokens.get(j).is_some_and(|t| t.tok == Tok::PathSep)
                    && let Some(next) = tokens.get(j + 1).and_then(Token::ident)
                {
                    segments.push(next.to_owned());
                    j += 2;
                }
                out.push(FoundPath {
                    segments,
                    alias: None,
                    scope: scope_of(&scopes),
                    line: t.line,
                    public_use: false,
                });
                i = j;
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether the `use` at `tokens[i]` is preceded by `pub` or `pub(…)`.
fn is_public_use(tokens: &[Token], i: usize) -> bool {
    let before = |k: usize| i.checked_sub(k).and_then(|j| tokens.get(j));
    if before(1).and_then(Token::ident) == Some("pub") {
        return true;
    }
    // pub(crate) use / pub(super) use / pub(in path) use
    if before(1).is_some_and(|t| t.is(')')) {
        for k in 2..8 {
            match before(k) {
                Some(t) if t.is('(') => return before(k + 1).and_then(Token::ident) == Some("pub"),
                Some(_) => {}
                None => return false,
            }
        }
    }
    false
}

/// The absolute module path (without `crate`) a path written in `scope` stands for, or
/// `None` for a path into another crate.
fn absolute(
    segments: &[String],
    scope: &[String],
    modules: &BTreeMap<Vec<String>, usize>,
) -> Option<Vec<String>> {
    let first = segments.first()?;
    match first.as_str() {
        "crate" => Some(segments.get(1..)?.to_vec()),
        "self" => Some(scope.iter().chain(segments.get(1..)?).cloned().collect()),
        "super" => {
            let mut base = scope.to_vec();
            let mut rest = segments;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = rest.get(1..)?;
            }
            let rest =
                if rest.first().is_some_and(|s| s == "self") { rest.get(1..)? } else { rest };
            Some(base.into_iter().chain(rest.iter().cloned()).collect())
        }
        name => {
            // A child module of the scope named without `self::` (2018 paths).
            let mut child = scope.to_vec();
            child.push(name.to_owned());
            modules.contains_key(&child).then(|| scope.iter().chain(segments).cloned().collect())
        }
    }
}

/// The file an absolute path lands in: the deepest module that is a file, then through that
/// file's re-exports (a few levels at most).
fn resolve(
    path: &[String],
    files: &[File],
    modules: &BTreeMap<Vec<String>, usize>,
    depth: usize,
) -> Option<usize> {
    let mut k = path.len();
    let file = loop {
        if let Some(&f) = path.get(..k).and_then(|p| modules.get(p)) {
            break f;
        }
        k = k.checked_sub(1)?;
    };
    if depth < 4
        && let Some(item) = path.get(k)
        && let Some(target) = files.get(file).and_then(|f| f.reexports.get(item))
    {
        let mut further = target.clone();
        further.extend(path.get(k + 1..).unwrap_or_default().iter().cloned());
        if let Some(r) = resolve(&further, files, modules, depth + 1) {
            return Some(r);
        }
    }
    Some(file)
}

fn is_prefix(a: &[String], b: &[String]) -> bool {
    a.len() <= b.len() && b.starts_with(a)
}

/// The loops between the files of the crate whose root file is `root` (e.g. `src/lib.rs`)
/// in `crate_dir`.
pub fn find_loops(crate_dir: &Path, root: &Path) -> std::io::Result<Vec<Loop>> {
    let mut files = module_tree(crate_dir, root)?;
    let modules: BTreeMap<Vec<String>, usize> =
        files.iter().enumerate().map(|(i, f)| (f.module.clone(), i)).collect();
    let found: Vec<Vec<FoundPath>> = files.iter().map(|f| found_paths(&f.tokens)).collect();
    // Re-exports first: `pub use` names to absolute paths.
    for (i, paths) in found.iter().enumerate() {
        let module = files.get(i).map(|f| f.module.clone()).unwrap_or_default();
        let mut reexports = BTreeMap::new();
        for p in paths.iter().filter(|p| p.public_use && p.scope.is_empty()) {
            let Some(abs) = absolute(&p.segments, &module, &modules) else { continue };
            let name = p.alias.clone().or_else(|| abs.last().cloned());
            if let Some(name) = name.filter(|n| n != "*" && n != "_") {
                reexports.insert(name, abs);
            }
        }
        if let Some(f) = files.get_mut(i) {
            f.reexports = reexports;
        }
    }
    // Edges between files that are not ancestors of each other.
    let mut edges: BTreeMap<usize, BTreeMap<usize, Reference>> = BTreeMap::new();
    for (i, paths) in found.iter().enumerate() {
        let Some(module) = files.get(i).map(|f| f.module.clone()) else { continue };
        for p in paths {
            let scope: Vec<String> = module.iter().chain(&p.scope).cloned().collect();
            let Some(abs) = absolute(&p.segments, &scope, &modules) else { continue };
            let Some(j) = resolve(&abs, &files, &modules, 0) else { continue };
            let Some(target) = files.get(j) else { continue };
            if i == j || is_prefix(&module, &target.module) || is_prefix(&target.module, &module) {
                continue;
            }
            edges
                .entry(i)
                .or_default()
                .entry(j)
                .or_insert_with(|| Reference { line: p.line, path: p.segments.join("::") });
        }
    }
    Ok(cycles(files.len(), &edges)
        .into_iter()
        .map(|(component, cycle)| {
            let references = cycle
                .iter()
                .zip(cycle.iter().cycle().skip(1))
                .filter_map(|(a, b)| edges.get(a).and_then(|e| e.get(b)).cloned())
                .collect();
            let rel = |ids: &[usize]| -> Vec<PathBuf> {
                ids.iter().filter_map(|&i| files.get(i).map(|f| f.rel.clone())).collect()
            };
            let mut component = rel(&component);
            component.sort();
            Loop { files: rel(&cycle), references, component }
        })
        .collect())
}

/// Each strongly connected component of more than one node (Tarjan), with one cycle through
/// it.
fn cycles(
    n: usize,
    edges: &BTreeMap<usize, BTreeMap<usize, Reference>>,
) -> Vec<(Vec<usize>, Vec<usize>)> {
    struct State<'a> {
        edges: &'a BTreeMap<usize, BTreeMap<usize, Reference>>,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        components: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        let targets: Vec<usize> =
            s.edges.get(&v).map(|e| e.keys().copied().collect()).unwrap_or_default();
        for w in targets {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort_unstable();
                s.components.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        components: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.components.sort();
    // A concrete cycle inside each component: breadth-first from its first node back to it.
    s.components
        .iter()
        .filter_map(|component| {
            let start = *component.first()?;
            let inside: BTreeSet<usize> = component.iter().copied().collect();
            let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            while let Some(v) = queue.pop_front() {
                for &w in edges.get(&v).map(|e| e.keys()).into_iter().flatten() {
                    if !inside.contains(&w) {
                        continue;
                    }
                    if w == start {
                        let mut path = vec![v];
                        let mut cur = v;
                        while let Some(&p) = parent.get(&cur) {
                            path.push(p);
                            cur = p;
                        }
                        path.reverse();
                        return Some((component.clone(), path));
                    }
                    if w != start && !parent.contains_key(&w) {
                        parent.insert(w, v);
                        queue.push_back(w);
                    }
                }
            }
            None
        })
        .collect()
}

/// The crate roots of a package directory: `src/lib.rs`, `src/main.rs`, `src/bin/*.rs`.
pub fn crate_roots(crate_dir: &Path) -> Vec<PathBuf> {
    let src = crate_dir.join("src");
    let mut roots: Vec<PathBuf> =
        ["lib.rs", "main.rs"].iter().map(|n| src.join(n)).filter(|p| p.is_file()).collect();
    if let Ok(rd) = std::fs::read_dir(src.join("bin")) {
        let mut bins: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        bins.sort();
        roots.extend(bins);
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(clippy::disallowed_methods, reason = "a synthetic crate in a temporary directory")]
    fn write_crate(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    fn loops_of(files: &[(&str, &str)]) -> Vec<Loop> {
        let dir = write_crate(files);
        find_loops(dir.path(), &dir.path().join("src/lib.rs")).unwrap()
    }

    #[test]
    fn a_loop_between_two_files_is_found_with_its_references() {
        let loops = loops_of(&[
            ("src/lib.rs", "//! x\nmod a;\nmod b;\npub use a::A;\n"),
            ("src/a.rs", "//! a\nuse crate::b::B;\npub struct A(B);\n"),
            ("src/b.rs", "//! b\npub struct B;\nfn f() -> crate::a::A { todo!() }\n"),
        ]);
        assert_eq!(loops.len(), 1, "{loops:?}");
        let l = &loops[0];
        assert_eq!(l.files, [PathBuf::from("src/a.rs"), PathBuf::from("src/b.rs")]);
        assert_eq!(l.references[0], Reference { line: 2, path: "crate::b::B".into() });
        assert_eq!(l.references[1], Reference { line: 3, path: "crate::a::A".into() });
        assert!(l.to_string().starts_with("src/a.rs → src/b.rs → src/a.rs"), "{l}");
    }

    #[test]
    fn a_loop_through_three_files_super_paths_and_a_reexport_is_found() {
        let loops = loops_of(&[
            ("src/lib.rs", "//! x\nmod a;\nmod b;\nmod c;\npub use c::C;\n"),
            ("src/a.rs", "//! a\nuse super::b::{self, B as Bee};\n"),
            ("src/b.rs", "//! b\npub struct B;\nuse crate::C;\n"),
            ("src/c.rs", "//! c\npub struct C;\nuse crate::{a::{self}};\n"),
        ]);
        assert_eq!(loops.len(), 1, "{loops:?}");
        assert_eq!(loops[0].files.len(), 3);
        assert_eq!(loops[0].component.len(), 3);
    }

    #[test]
    fn every_file_of_a_tangle_is_named() {
        let loops = loops_of(&[
            ("src/lib.rs", "//! x\nmod a;\nmod b;\nmod c;\n"),
            ("src/a.rs", "//! a\nuse crate::b::B;\npub struct A;\n"),
            ("src/b.rs", "//! b\nuse crate::{a::A, c::C};\npub struct B;\n"),
            ("src/c.rs", "//! c\nuse crate::b::B;\npub struct C;\n"),
        ]);
        assert_eq!(loops.len(), 1, "{loops:?}");
        assert_eq!(loops[0].files.len(), 2, "the shortest cycle from the first file");
        let text = loops[0].to_string();
        assert!(text.contains("(the loop joins 3 files: src/a.rs, src/b.rs, src/c.rs)"), "{text}");
    }

    #[test]
    fn a_tree_without_loops_passes() {
        let loops = loops_of(&[
            ("src/lib.rs", "//! x\npub mod shared;\nmod a;\nmod b;\npub use a::A;\nuse b::f;\n"),
            ("src/shared.rs", "//! s\npub struct S;\n"),
            ("src/a.rs", "//! a\nuse crate::shared::S;\npub struct A(S);\n"),
            (
                "src/b/mod.rs",
                "//! b\nmod inner;\nuse crate::a::A;\nuse crate::CONST;\n\
                 pub fn f() { inner::g() }\n#[cfg(test)]\nmod tests { use super::*; }\n",
            ),
            ("src/b/inner.rs", "//! i\nuse super::f;\nuse crate::shared::S;\npub fn g() {}\n"),
        ]);
        assert!(loops.is_empty(), "{loops:?}");
    }

    #[test]
    fn paths_in_comments_strings_and_other_crates_are_not_references() {
        let loops = loops_of(&[
            ("src/lib.rs", "//! x\nmod a;\nmod b;\n"),
            ("src/a.rs", "//! see [`crate::b::B`]\nuse crate::b::B;\n"),
            ("src/b.rs", "//! b\n/// [`crate::a`]\nconst S: &str = \"crate::a::X\";\nuse a::X;\n"),
        ]);
        assert!(loops.is_empty(), "{loops:?}");
    }
}

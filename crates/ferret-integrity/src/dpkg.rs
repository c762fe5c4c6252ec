//! `verify --dpkg`: installed Debian packages against their recorded MD5 sums, and files no
//! package owns in the directories packages install into (plus any the operator adds),
//! rolled up per package.
//!
//! Reads, under a root (`/` or a mounted image): `var/lib/dpkg/status` (packages and their
//! conffiles with MD5), `var/lib/dpkg/info/*.md5sums` (per-package MD5 of shipped files),
//! `var/lib/dpkg/info/*.list` (owned paths), `var/lib/dpkg/diversions`, and dpkg's
//! `path-exclude`/`path-include` filters from `etc/dpkg/dpkg.cfg{,.d/*}` (files a minimal
//! image never installed are not "missing"). Symlinks in directory components are resolved
//! inside the root (`bin` → `usr/bin` on merged-/usr systems), never outside it.
//!
//! This data lives on the examined host: it is only as trustworthy as the host, and MD5 is
//! not collision resistant. The summary says so. A signed manifest made elsewhere
//! ([`crate::verify`]) is the trustworthy check.
//!
//! Rule ids: `DPKG001 package-file-modified`, `DPKG002 conffile-changed` (configuration
//! changes, reported separately and low), `DPKG003 package-file-missing`,
//! `DPKG004 unowned-system-file`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use std::fmt::Write as _;

use ferret_core::{
    Cancel, Engine, Evidence, Finding, Problem, ProblemKind, RuleRef, Severity, Sink, Summary,
};
use globset::{Glob, GlobMatcher};
use rayon::prelude::*;

use crate::compare::is_system_path;
use crate::manifest::{EntryKind, ManifestKind as _};
use crate::tree::{abs_path, open_examined};

/// The largest database file read (status on a big host is a few MiB).
const MAX_DB_FILE: u64 = 512 << 20;

/// Errors that stop a dpkg check before it starts.
#[derive(Debug, thiserror::Error)]
pub enum DpkgError {
    /// The status file is missing or unreadable.
    #[error("no readable dpkg database under {root}: {reason}")]
    NoDatabase {
        /// The root.
        root: String,
        /// Why.
        reason: String,
    },
}

/// Options of a dpkg check.
#[derive(Debug, Clone, Default)]
pub struct DpkgOptions {
    /// The root the package paths are under.
    pub root: PathBuf,
    /// Look for files no package owns in the directories packages install into
    /// ([`BIN_DIRS`], [`LIB_DIRS`]). Never done when [`DpkgOptions::packages`] names
    /// packages: the check is then limited to those packages.
    pub unowned: bool,
    /// Further directories (relative to the root; a leading `/` is allowed) searched for
    /// executables and ELF objects no package owns, such as `usr/local`, `opt` or `home`,
    /// where packages do not install.
    pub unowned_in: Vec<PathBuf>,
    /// Check only these packages (`name` or `name:arch`); empty: all. An unknown or
    /// uninstalled name makes the run incomplete.
    pub packages: Vec<String>,
    /// Raised to stop: the check ends at the next file and its summary says `interrupted`.
    pub cancel: Cancel,
}

impl DpkgOptions {
    /// Whether package `name` (architecture `arch`, possibly empty) is selected.
    fn wants(&self, name: &str, arch: &str) -> bool {
        self.packages.is_empty() || self.packages.iter().any(|r| request_matches(r, name, arch))
    }

    /// Whether files no package owns are looked for at all.
    fn searches_unowned(&self) -> bool {
        self.packages.is_empty() && (self.unowned || !self.unowned_in.is_empty())
    }
}

/// Whether a `--package` request (`name` or `name:arch`) names package `name` of
/// architecture `arch` (empty when unknown: the name decides).
fn request_matches(request: &str, name: &str, arch: &str) -> bool {
    match request.split_once(':') {
        Some((n, a)) => n == name && (arch.is_empty() || a == arch),
        None => request == name,
    }
}

/// The canonical text of what a dpkg check applies — ferret's own rules, not the examined
/// host's data: the rule ids and their scores, the directories searched for files no package
/// owns (and those added with [`DpkgOptions::unowned_in`]) and the package selection. Its
/// SHA-256 ([`policy_sha256`]) is the report's `tool.ruleset_sha256`.
pub fn policy_text(opts: &DpkgOptions) -> String {
    let mut t = String::from(
        "ferret dpkg policy 1\n\
         DPKG001 package-file-modified 80 system, 65 other; replaced by another type the same\n\
         DPKG002 conffile-changed 40 changed, 30 removed\n\
         DPKG003 package-file-missing 45\n\
         DPKG004 unowned-system-file 75 executable or ELF in a binary directory, 50 other file \
         there, 70 ELF in a library directory, 70 executable or ELF in an added directory\n",
    );
    let unowned = opts.unowned && opts.packages.is_empty();
    let _ = writeln!(t, "unowned {}", if unowned { "on" } else { "off" });
    if unowned {
        let _ = writeln!(t, "unowned-bin-dirs {}", BIN_DIRS.join(" "));
        let _ = writeln!(t, "unowned-lib-dirs {}", LIB_DIRS.join(" "));
    }
    if opts.packages.is_empty() {
        let mut added: Vec<Vec<u8>> =
            opts.unowned_in.iter().map(|d| normalize(d.as_os_str().as_bytes())).collect();
        added.sort();
        added.dedup();
        for d in added {
            let _ = writeln!(t, "unowned-in /{}", String::from_utf8_lossy(&d));
        }
    }
    let mut packages = opts.packages.clone();
    packages.sort();
    packages.dedup();
    let _ = writeln!(
        t,
        "packages {}",
        if packages.is_empty() { "all".to_owned() } else { packages.join(" ") }
    );
    t
}

/// SHA-256 (hex) of [`policy_text`].
pub fn policy_sha256(opts: &DpkgOptions) -> String {
    use sha2::{Digest as _, Sha256};
    hex::encode(Sha256::digest(policy_text(opts).as_bytes()))
}

/// One conffile recorded in `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conffile {
    /// Absolute path as recorded.
    pub path: Vec<u8>,
    /// MD5, lowercase hex (or a dpkg placeholder such as `newconffile`).
    pub md5: String,
    /// Marked obsolete.
    pub obsolete: bool,
}

/// One package paragraph of `status`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Package {
    /// Name.
    pub name: String,
    /// Architecture.
    pub arch: String,
    /// The `Status:` field.
    pub status: String,
    /// Conffiles.
    pub conffiles: Vec<Conffile>,
}

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// Parses dpkg's `status` file. Malformed lines are skipped.
pub fn parse_status(text: &[u8]) -> Vec<Package> {
    let mut out = Vec::new();
    let mut cur = Package::default();
    let mut in_conffiles = false;
    for line in text.split(|&c| c == b'\n') {
        if trim(line).is_empty() {
            if !cur.name.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur = Package::default();
            in_conffiles = false;
            continue;
        }
        if line.first().is_some_and(|c| *c == b' ' || *c == b'\t') {
            if in_conffiles {
                let parts: Vec<&[u8]> =
                    line.split(u8::is_ascii_whitespace).filter(|p| !p.is_empty()).collect();
                if let (Some(path), Some(md5)) = (parts.first(), parts.get(1)) {
                    cur.conffiles.push(Conffile {
                        path: path.to_vec(),
                        md5: String::from_utf8_lossy(md5).to_ascii_lowercase(),
                        obsolete: parts.iter().skip(2).any(|p| *p == b"obsolete"),
                    });
                }
            }
            continue;
        }
        in_conffiles = false;
        let Some(colon) = line.iter().position(|&c| c == b':') else { continue };
        let (key, value) = line.split_at(colon);
        let value = String::from_utf8_lossy(trim(value.get(1..).unwrap_or_default())).into_owned();
        match key {
            b"Package" => cur.name = value,
            b"Architecture" => cur.arch = value,
            b"Status" => cur.status = value,
            b"Conffiles" => in_conffiles = true,
            _ => {}
        }
    }
    if !cur.name.is_empty() {
        out.push(cur);
    }
    out
}

/// Parses a `.md5sums` file: `(md5, relative path)` pairs; returns also the number of
/// malformed lines.
pub fn parse_md5sums(text: &[u8]) -> (Vec<(String, Vec<u8>)>, u64) {
    let mut out = Vec::new();
    let mut bad = 0;
    for line in text.split(|&c| c == b'\n') {
        if line.is_empty() {
            continue;
        }
        let md5 = line.get(..32);
        let rest = line.get(32..).unwrap_or_default();
        let path = rest.strip_prefix(b"  ").or_else(|| rest.strip_prefix(b" *"));
        match (md5, path) {
            (Some(m), Some(p)) if m.iter().all(u8::is_ascii_hexdigit) && !p.is_empty() => {
                let p = p.strip_prefix(b"/").unwrap_or(p);
                out.push((String::from_utf8_lossy(m).to_ascii_lowercase(), p.to_vec()));
            }
            _ => bad += 1,
        }
    }
    (out, bad)
}

/// Parses a `.list` file: absolute paths, one per line, returned relative.
pub fn parse_list(text: &[u8]) -> Vec<Vec<u8>> {
    text.split(|&c| c == b'\n')
        .filter_map(|l| l.strip_prefix(b"/"))
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Parses `diversions`: triplets of lines (from, to, package), paths returned relative.
pub fn parse_diversions(text: &[u8]) -> Vec<(Vec<u8>, Vec<u8>, String)> {
    let lines: Vec<&[u8]> = text.split(|&c| c == b'\n').collect();
    lines
        .chunks(3)
        .filter_map(|c| match c {
            [from, to, pkg] => Some((
                from.strip_prefix(b"/")?.to_vec(),
                to.strip_prefix(b"/")?.to_vec(),
                String::from_utf8_lossy(pkg).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

/// dpkg's `path-exclude` / `path-include` filters, in order.
#[derive(Debug, Default)]
pub struct PathFilters(Vec<(bool, GlobMatcher)>);

impl PathFilters {
    /// Parses dpkg configuration text, keeping the filter lines.
    pub fn add_config(&mut self, text: &[u8]) {
        for line in String::from_utf8_lossy(text).lines() {
            let line = line.trim();
            let (include, glob) = if let Some(g) = line.strip_prefix("path-exclude") {
                (false, g)
            } else if let Some(g) = line.strip_prefix("path-include") {
                (true, g)
            } else {
                continue;
            };
            let glob = glob.trim_start_matches([' ', '=']).trim();
            if let Ok(g) = Glob::new(glob) {
                self.0.push((include, g.compile_matcher()));
            }
        }
    }

    /// Whether dpkg would not have installed this (absolute) path.
    pub fn excluded(&self, abs: &[u8]) -> bool {
        let p = Path::new(std::ffi::OsStr::from_bytes(abs));
        let mut excluded = false;
        for (include, m) in &self.0 {
            if m.is_match(p) {
                excluded = !include;
            }
        }
        excluded
    }
}

/// Resolves symlinks in directory components inside a root (chroot semantics).
struct Resolver {
    root: PathBuf,
    dirs: HashMap<Vec<u8>, Vec<u8>>,
}

fn normalize(parts: &[u8]) -> Vec<u8> {
    let mut out: Vec<&[u8]> = Vec::new();
    for c in parts.split(|&c| c == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.join(&b'/')
}

impl Resolver {
    fn new(root: &Path) -> Resolver {
        Resolver { root: root.to_path_buf(), dirs: HashMap::new() }
    }

    /// The real location (relative) of directory `rel`.
    fn dir(&mut self, rel: &[u8], depth: u32) -> Vec<u8> {
        if rel.is_empty() || depth > 40 {
            return rel.to_vec();
        }
        if let Some(r) = self.dirs.get(rel) {
            return r.clone();
        }
        let (parent, name) = match rel.iter().rposition(|&c| c == b'/') {
            Some(i) => (rel.get(..i).unwrap_or_default(), rel.get(i + 1..).unwrap_or_default()),
            None => (&b""[..], rel),
        };
        let parent = self.dir(parent, depth + 1);
        let candidate =
            if parent.is_empty() { name.to_vec() } else { [&parent[..], b"/", name].concat() };
        let resolved = match std::fs::read_link(abs_path(&self.root, &candidate)) {
            Ok(target) => {
                let t = target.into_os_string().into_vec();
                let joined =
                    if t.first() == Some(&b'/') { t } else { [&parent[..], b"/", &t[..]].concat() };
                let n = normalize(&joined);
                self.dir(&n, depth + 1)
            }
            Err(_) => candidate,
        };
        self.dirs.insert(rel.to_vec(), resolved.clone());
        resolved
    }

    /// The real location (relative) of file `rel` (its final component not resolved).
    fn file(&mut self, rel: &[u8]) -> Vec<u8> {
        match rel.iter().rposition(|&c| c == b'/') {
            Some(i) => {
                let d = self.dir(rel.get(..i).unwrap_or_default(), 0);
                let name = rel.get(i + 1..).unwrap_or_default();
                if d.is_empty() { name.to_vec() } else { [&d[..], b"/", name].concat() }
            }
            None => rel.to_vec(),
        }
    }
}

fn read_db(path: &Path) -> Result<Vec<u8>, (ProblemKind, String)> {
    let (file, _) = open_examined(path)?;
    let mut out = Vec::new();
    file.take(MAX_DB_FILE)
        .read_to_end(&mut out)
        .map_err(|e| (ProblemKind::ReadError, format!("cannot read: {e}")))?;
    Ok(out)
}

struct Task {
    pkg: String,
    rel: Vec<u8>,
    real: Vec<u8>,
    md5: String,
    conffile: bool,
}

enum Outcome {
    Hashed(String),
    Missing,
    NotRegular(String),
    Error(ProblemKind, String),
}

fn md5_of(path: &Path) -> Outcome {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Outcome::Missing,
        Err(e) => return Outcome::Error(ProblemKind::ReadError, format!("cannot examine: {e}")),
        Ok(m) if !m.is_file() => {
            let kind = EntryKind::from_file_type(m.file_type());
            return Outcome::NotRegular(kind.name().into());
        }
        Ok(_) => {}
    }
    let (file, _) = match open_examined(path) {
        Ok(f) => f,
        Err((k, r)) => return Outcome::Error(k, r),
    };
    let kinds = ferret_fs::hash::HashKinds { md5: true, ..Default::default() };
    match crate::tree::with_read_buf(|buf| ferret_fs::hash::hash_reader(kinds, &mut &file, buf)) {
        Ok((d, _)) => Outcome::Hashed(d.md5.map(hex::encode).unwrap_or_default()),
        Err(e) => Outcome::Error(ProblemKind::ReadError, format!("cannot read: {e}")),
    }
}

fn rule(id: &str, name: &str) -> RuleRef {
    RuleRef {
        id: id.into(),
        name: name.into(),
        source: Some("builtin:dpkg".into()),
        references: vec![],
    }
}

fn shown(rel: &[u8]) -> String {
    format!("/{}", String::from_utf8_lossy(rel))
}

/// Directories packages install programs into, searched for files no package owns (any
/// executable, ELF object or other file). `usr/local` is the local administrator's and is
/// not searched unless asked ([`DpkgOptions::unowned_in`]).
pub const BIN_DIRS: [&str; 5] = ["usr/bin", "usr/sbin", "bin", "sbin", "usr/games"];
/// Library directories packages install into, searched for ELF objects no package owns.
pub const LIB_DIRS: [&str; 9] = [
    "usr/lib",
    "usr/lib32",
    "usr/lib64",
    "usr/libexec",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "usr/libx32",
];

/// The sentence every dpkg report carries.
pub const TRUST_NOTE: &str = "package checksums and file lists were read from the examined system \
    itself: they are only as trustworthy as that system (an attacker with root can rewrite them), \
    and MD5 is not collision resistant; verify against a signed manifest made elsewhere for a \
    trustworthy answer";

/// The roll-up key of files no package owns.
pub const NO_PACKAGE: &str = "(no package)";

/// One package's findings, rolled up into one line of the report.
#[derive(Debug, Default)]
struct Rollup {
    modified: u64,
    missing: u64,
    conffiles: u64,
    unowned: u64,
    findings: u64,
    /// Score, rule name and path of the worst finding.
    worst: Option<(u8, &'static str, String)>,
}

impl Rollup {
    fn add(&mut self, name: &'static str, score: u8, shown: String) {
        match name {
            "package-file-modified" => self.modified += 1,
            "package-file-missing" => self.missing += 1,
            "conffile-changed" => self.conffiles += 1,
            _ => self.unowned += 1,
        }
        self.findings += 1;
        if self.worst.as_ref().is_none_or(|(s, _, p)| score > *s || (score == *s && shown < *p)) {
            self.worst = Some((score, name, shown));
        }
    }

    fn line(&self, package: &str) -> String {
        let mut parts = Vec::new();
        for (n, what) in [
            (self.modified, "file(s) modified"),
            (self.missing, "missing"),
            (self.conffiles, "conffile(s) changed"),
            (self.unowned, "file(s) no package owns"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let mut line = format!("{package}: {}", parts.join(", "));
        if let Some((score, name, path)) = &self.worst {
            let sev = Severity::from_score(*score).as_str().to_ascii_uppercase();
            let _ = write!(line, "; worst: {sev} {score} {name} {path}");
        }
        line
    }

    fn json(&self, package: &str) -> serde_json::Value {
        let (score, rule, path) = self.worst.clone().unwrap_or((0, "", String::new()));
        serde_json::json!({
            "package": package,
            "findings": self.findings,
            "files_modified": self.modified,
            "files_missing": self.missing,
            "conffiles_changed": self.conffiles,
            "unowned_files": self.unowned,
            "worst_score": score,
            "worst_severity": Severity::from_score(score).as_str(),
            "worst_rule": rule,
            "worst_path": path,
        })
    }
}

/// Puts the per-package roll-up in the summary: `details.packages` (one object per package
/// with findings, worst first) and `details.rollup` (a title and one text line per package,
/// which the text report prints above the findings).
fn record_rollup(summary: &mut Summary, rollup: &BTreeMap<String, Rollup>) {
    if rollup.is_empty() {
        return;
    }
    let mut rows: Vec<(&String, &Rollup)> = rollup.iter().collect();
    rows.sort_by(|(an, a), (bn, b)| {
        let score = |r: &Rollup| r.worst.as_ref().map_or(0, |w| w.0);
        score(b).cmp(&score(a)).then(b.findings.cmp(&a.findings)).then(an.cmp(bn))
    });
    let packages: Vec<serde_json::Value> = rows.iter().map(|(n, r)| r.json(n)).collect();
    let lines: Vec<String> = rows.iter().map(|(n, r)| r.line(n)).collect();
    summary.details.insert("packages".into(), packages.into());
    summary.details.insert(
        "rollup".into(),
        serde_json::json!({
            "title": format!("Findings per package ({} package(s); details below)", rows.len()),
            "lines": lines,
        }),
    );
}

/// Whether a `Status:` value leaves the package's files on the system (anything but
/// `not-installed` and `config-files`).
fn is_installed(status: &str) -> bool {
    !matches!(status.split_whitespace().last(), Some("not-installed" | "config-files") | None)
}

/// Marks the run incomplete for every `--package` name the database does not know or that
/// is not installed.
fn check_selection(opts: &DpkgOptions, packages: &[Package], summary: &mut Summary) {
    let mut asked: Vec<&String> = opts.packages.iter().collect();
    asked.sort();
    asked.dedup();
    for r in asked {
        let (name, arch) = match r.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (r.as_str(), None),
        };
        let found: Vec<&Package> = packages
            .iter()
            .filter(|p| p.name == name && arch.is_none_or(|a| p.arch == a))
            .collect();
        match found.first() {
            None => summary.mark_incomplete(format!(
                "unknown package {r:?}: the dpkg database under {} does not list it",
                opts.root.display()
            )),
            Some(p) if !found.iter().any(|p| is_installed(&p.status)) => {
                summary.mark_incomplete(format!(
                    "package {r:?} is not installed (status: {})",
                    p.status
                ));
            }
            Some(_) => {}
        }
    }
}

/// Checks installed packages under `opts.root`. Findings go to `sink`.
///
/// With [`DpkgOptions::packages`], every check is limited to those packages (no search for
/// files no package owns) and a name the database does not know makes the run incomplete.
/// Findings are rolled up per package in the summary (`details.packages`, `details.rollup`).
pub fn verify_dpkg(opts: &DpkgOptions, sink: &dyn Sink) -> Result<Summary, DpkgError> {
    let root = &opts.root;
    let admin = root.join("var/lib/dpkg");
    let status = read_db(&admin.join("status")).map_err(|(_, reason)| DpkgError::NoDatabase {
        root: root.display().to_string(),
        reason,
    })?;
    let mut summary = Summary::default();
    summary.not_checked.push(TRUST_NOTE.into());
    let packages = parse_status(&status);
    summary.count("packages", packages.len() as u64);
    check_selection(opts, &packages, &mut summary);
    let status_arch: HashMap<&str, &str> =
        packages.iter().map(|p| (p.name.as_str(), p.arch.as_str())).collect();

    let mut filters = PathFilters::default();
    if let Ok(t) = read_db(&root.join("etc/dpkg/dpkg.cfg")) {
        filters.add_config(&t);
    }
    if let Ok(rd) = std::fs::read_dir(root.join("etc/dpkg/dpkg.cfg.d")) {
        let mut names: Vec<PathBuf> = rd.filter_map(|d| d.ok().map(|d| d.path())).collect();
        names.sort();
        for n in names {
            if let Ok(t) = read_db(&n) {
                filters.add_config(&t);
            }
        }
    }
    let diversions = match read_db(&admin.join("diversions")) {
        Ok(t) => parse_diversions(&t),
        Err(_) => Vec::new(),
    };
    let diverted: HashMap<Vec<u8>, (Vec<u8>, String)> =
        diversions.iter().map(|(f, t, p)| (f.clone(), (t.clone(), p.clone()))).collect();

    // Conffiles by path, from status (of the selected packages only).
    let mut conffiles: BTreeMap<Vec<u8>, (String, String)> = BTreeMap::new();
    for p in packages.iter().filter(|p| opts.wants(&p.name, &p.arch)) {
        for c in &p.conffiles {
            if !c.obsolete
                && c.md5.len() == 32
                && let Some(rel) = c.path.strip_prefix(b"/")
            {
                conffiles.insert(rel.to_vec(), (p.name.clone(), c.md5.clone()));
            }
        }
    }

    // Per-package md5sums and lists.
    let info = admin.join("info");
    let mut md5_files = Vec::new();
    let mut list_files = Vec::new();
    match std::fs::read_dir(&info) {
        Ok(rd) => {
            for d in rd.flatten() {
                let name = d.file_name().into_vec();
                if let Some(pkg) = name.strip_suffix(b".md5sums") {
                    md5_files.push((String::from_utf8_lossy(pkg).into_owned(), d.path()));
                } else if let Some(pkg) = name.strip_suffix(b".list") {
                    list_files.push((String::from_utf8_lossy(pkg).into_owned(), d.path()));
                }
            }
        }
        Err(e) => sink.problem(Problem::at(
            ProblemKind::ReadError,
            info.as_path(),
            format!("cannot list the package info directory: {e}"),
        )),
    }
    md5_files.sort();
    list_files.sort();

    let mut resolver = Resolver::new(root);
    let mut tasks = Vec::new();
    let mut seen_conf = HashSet::new();
    let mut with_sums: HashSet<String> = HashSet::new();
    let mut excluded = 0u64;
    for (pkg, path) in &md5_files {
        let (pkg_name, arch) = match pkg.split_once(':') {
            Some((n, a)) => (n, a),
            None => (pkg.as_str(), status_arch.get(pkg.as_str()).copied().unwrap_or("")),
        };
        if !opts.wants(pkg_name, arch) {
            continue;
        }
        let text = match read_db(path) {
            Ok(t) => t,
            Err((k, r)) => {
                sink.problem(Problem::at(k, path.as_path(), r));
                continue;
            }
        };
        with_sums.insert(pkg_name.to_owned());
        with_sums.insert(format!("{pkg_name}:{arch}"));
        let (lines, bad) = parse_md5sums(&text);
        if bad > 0 {
            sink.problem(Problem::at(
                ProblemKind::Parse,
                path.as_path(),
                format!("{bad} malformed line(s) skipped"),
            ));
        }
        let pkg_name = pkg_name.to_owned();
        for (md5, rel) in lines {
            let abs = [b"/", &rel[..]].concat();
            if filters.excluded(&abs) {
                excluded += 1;
                continue;
            }
            let mut target = rel.clone();
            if let Some((to, by)) = diverted.get(&rel)
                && *by != pkg_name
            {
                target.clone_from(to);
            }
            let conffile = conffiles.contains_key(&rel);
            if conffile {
                seen_conf.insert(rel.clone());
            }
            let real = resolver.file(&target);
            tasks.push(Task { pkg: pkg_name.clone(), rel: target, real, md5, conffile });
        }
    }
    for r in &opts.packages {
        let known = packages
            .iter()
            .any(|p| is_installed(&p.status) && request_matches(r, &p.name, &p.arch));
        if known && !with_sums.contains(r) {
            summary.mark_incomplete(format!(
                "package {r:?} has no md5sums file: the files it installed could not be checked"
            ));
        }
    }
    for (rel, (pkg, md5)) in &conffiles {
        if seen_conf.contains(rel) {
            continue;
        }
        let real = resolver.file(rel);
        tasks.push(Task {
            pkg: pkg.clone(),
            rel: rel.clone(),
            real,
            md5: md5.clone(),
            conffile: true,
        });
    }
    summary.skip("path_exclude", excluded);

    let cancel = &opts.cancel;
    let results: Vec<Option<Outcome>> = tasks
        .par_iter()
        .with_max_len(16)
        .map(|t| (!cancel.is_cancelled()).then(|| md5_of(&abs_path(root, &t.real))))
        .collect();
    let mut rollup: BTreeMap<String, Rollup> = BTreeMap::new();
    for (t, outcome) in tasks.iter().zip(results) {
        let Some(outcome) = outcome else { continue };
        let path = abs_path(root, &t.real);
        let counter = if t.conffile { "conffiles_checked" } else { "files_checked" };
        summary.count(counter, 1);
        let (id, name, score, message, evidence) = match outcome {
            Outcome::Hashed(now) if now == t.md5 => continue,
            Outcome::Hashed(now) => {
                let ev = vec![
                    Evidence { label: "md5 (package)".into(), offset: None, data: t.md5.clone() },
                    Evidence { label: "md5 (now)".into(), offset: None, data: now },
                ];
                if t.conffile {
                    (
                        "DPKG002",
                        "conffile-changed",
                        40,
                        "configuration file differs from the package's",
                        ev,
                    )
                } else {
                    let score = if is_system_path(&t.rel) { 80 } else { 65 };
                    (
                        "DPKG001",
                        "package-file-modified",
                        score,
                        "file differs from the package's recorded MD5",
                        ev,
                    )
                }
            }
            Outcome::Missing => {
                if t.conffile {
                    ("DPKG002", "conffile-changed", 30, "configuration file removed", vec![])
                } else {
                    (
                        "DPKG003",
                        "package-file-missing",
                        45,
                        "file shipped by the package is missing",
                        vec![],
                    )
                }
            }
            Outcome::NotRegular(kind) => (
                "DPKG001",
                "package-file-modified",
                if is_system_path(&t.rel) { 80 } else { 65 },
                "file shipped by the package was replaced",
                vec![Evidence { label: "type (now)".into(), offset: None, data: kind }],
            ),
            Outcome::Error(k, reason) => {
                sink.problem(Problem::at(k, path.as_path(), reason));
                continue;
            }
        };
        summary.count(name, 1);
        rollup.entry(t.pkg.clone()).or_default().add(name, score, shown(&t.rel));
        let mut f = Finding::new(Engine::Integrity, rule(id, name), Severity::Info)
            .with_score(score)
            .with_path(path.as_path())
            .with_message(format!("{}: {message} (package {})", shown(&t.rel), t.pkg))
            .with_detail("package", t.pkg.clone())
            .with_detail("authenticated", false)
            .with_detail("source", "dpkg");
        for e in evidence {
            f.push_evidence(e);
        }
        sink.finding(f);
    }

    if !opts.packages.is_empty() {
        summary.not_checked.push(
            "files no package owns were not looked for: --package limits every check to the \
             named packages"
                .into(),
        );
    } else if opts.searches_unowned() && !cancel.is_cancelled() {
        let mut owned: HashSet<Vec<u8>> = HashSet::new();
        for (_, path) in &list_files {
            match read_db(path) {
                Ok(t) => {
                    for rel in parse_list(&t) {
                        owned.insert(resolver.file(&rel));
                    }
                }
                Err((k, r)) => sink.problem(Problem::at(k, path.as_path(), r)),
            }
        }
        for (_, to, _) in &diversions {
            owned.insert(resolver.file(to));
        }
        summary.count("owned_paths", owned.len() as u64);
        let mut dirs: Vec<(Vec<u8>, DirKind)> = Vec::new();
        if opts.unowned {
            dirs.extend(BIN_DIRS.iter().map(|d| (d.as_bytes().to_vec(), DirKind::Bin)));
            dirs.extend(LIB_DIRS.iter().map(|d| (d.as_bytes().to_vec(), DirKind::Lib)));
        }
        for d in &opts.unowned_in {
            dirs.push((normalize(d.as_os_str().as_bytes()), DirKind::Added));
        }
        let roll = rollup.entry(NO_PACKAGE.to_owned()).or_default();
        let ctx = UnownedCtx { root, owned: &owned, cancel, sink };
        unowned(&ctx, &mut resolver, &dirs, &mut summary, roll);
        if roll.findings == 0 {
            rollup.remove(NO_PACKAGE);
        }
        if opts.unowned_in.is_empty() {
            summary.not_checked.push(format!(
                "files no package owns were looked for only where packages install ({} and \
                 ELF objects in {}); usr/local, opt and home were not searched (--unowned-in \
                 DIR adds a directory)",
                BIN_DIRS.join(", "),
                LIB_DIRS.join(", ")
            ));
        }
    }
    if cancel.is_cancelled() {
        summary.mark_interrupted();
    }
    record_rollup(&mut summary, &rollup);
    summary.details.insert("source".into(), "dpkg".into());
    summary.details.insert("authenticated".into(), false.into());
    Ok(summary)
}

fn is_elf(path: &Path) -> bool {
    let Ok((mut f, _)) = open_examined(path) else { return false };
    let mut magic = [0u8; 4];
    f.read_exact(&mut magic).is_ok() && magic == *b"\x7fELF"
}

/// Where an unowned file was found, which decides what is reported and its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DirKind {
    /// A program directory: any file.
    Bin,
    /// A library directory: ELF objects.
    Lib,
    /// A directory the operator added: executables and ELF objects.
    Added,
}

/// What the search for unowned files needs.
struct UnownedCtx<'a> {
    root: &'a Path,
    owned: &'a HashSet<Vec<u8>>,
    cancel: &'a Cancel,
    sink: &'a dyn Sink,
}

fn unowned(
    ctx: &UnownedCtx<'_>,
    resolver: &mut Resolver,
    dirs: &[(Vec<u8>, DirKind)],
    summary: &mut Summary,
    roll: &mut Rollup,
) {
    let root = ctx.root;
    let mut walked: HashSet<Vec<u8>> = HashSet::new();
    for (dir, kind) in dirs {
        let real = resolver.dir(dir, 0);
        if !walked.insert(real.clone()) {
            continue;
        }
        let mut stack = vec![real];
        while let Some(d) = stack.pop() {
            if ctx.cancel.is_cancelled() {
                return;
            }
            let abs = abs_path(root, &d);
            let Ok(rd) = std::fs::read_dir(&abs) else { continue };
            let mut names: Vec<Vec<u8>> = rd.flatten().map(|e| e.file_name().into_vec()).collect();
            names.sort();
            for n in names {
                let rel = if d.is_empty() { n.clone() } else { [&d[..], b"/", &n[..]].concat() };
                let p = abs_path(root, &rel);
                let Ok(meta) = std::fs::symlink_metadata(&p) else { continue };
                if meta.is_dir() {
                    if walked.insert(rel.clone()) {
                        stack.push(rel);
                    }
                    continue;
                }
                if !meta.is_file() {
                    continue;
                }
                summary.count("system_files_seen", 1);
                if ctx.owned.contains(&rel) {
                    continue;
                }
                let exec = meta.permissions().mode() & 0o111 != 0;
                let elf = is_elf(&p);
                let score = match kind {
                    DirKind::Bin if exec || elf => 75,
                    DirKind::Bin => 50,
                    DirKind::Lib if elf => 70,
                    DirKind::Added if exec || elf => 70,
                    DirKind::Lib | DirKind::Added => continue,
                };
                summary.count("unowned-system-file", 1);
                roll.add("unowned-system-file", score, shown(&rel));
                let mut f = Finding::new(
                    Engine::Integrity,
                    rule("DPKG004", "unowned-system-file"),
                    Severity::Info,
                )
                .with_score(score)
                .with_path(p.as_path())
                .with_message(format!(
                    "{}: {} that no installed package owns",
                    shown(&rel),
                    if elf {
                        "ELF binary"
                    } else if exec {
                        "executable"
                    } else {
                        "file"
                    }
                ))
                .with_detail("authenticated", false)
                .with_detail("source", "dpkg");
                f.size = Some(meta.len());
                ctx.sink.finding(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_paragraphs_and_conffiles() {
        let t = b"Package: a\nStatus: install ok installed\nConffiles:\n /etc/a.conf 0123456789abcdef0123456789abcdef\n /etc/old abcdefabcdefabcdefabcdefabcdefab obsolete\nDescription: x\n more\n\nPackage: b\nArchitecture: amd64\n";
        let p = parse_status(t);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].conffiles.len(), 2);
        assert!(p[0].conffiles[1].obsolete);
        assert_eq!(p[1].arch, "amd64");
    }

    #[test]
    fn md5sums_lines() {
        let (l, bad) = parse_md5sums(b"0123456789abcdef0123456789abcdef  usr/bin/a\nbroken\n");
        assert_eq!(l, vec![("0123456789abcdef0123456789abcdef".to_owned(), b"usr/bin/a".to_vec())]);
        assert_eq!(bad, 1);
    }

    #[test]
    fn filters_last_match_wins() {
        let mut f = PathFilters::default();
        f.add_config(b"path-exclude=/usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n");
        assert!(f.excluded(b"/usr/share/doc/a/README"));
        assert!(!f.excluded(b"/usr/share/doc/a/copyright"));
        assert!(!f.excluded(b"/usr/bin/a"));
    }

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize(b"/usr/../usr/./bin/"), b"usr/bin".to_vec());
        assert_eq!(normalize(b"../../x"), b"x".to_vec());
    }
}

//! Policy: which paths are not walked, and which attributes are compared per path glob.
//!
//! # Policy file (TOML)
//!
//! ```toml
//! # Start from the built-in Linux policy (default true); your rules come first.
//! defaults = true
//! # Globs (relative to the root) that are not walked at all.
//! exclude = ["srv/scratch"]
//!
//! # The first rule whose glob matches a path decides what is compared for it.
//! [[rule]]
//! paths = ["var/log/**", "var/cache/**"]
//! check = ["perms"]            # attributes or groups; [] ignores the paths entirely
//! ```
//!
//! Attributes: `presence` (added/removed), `type`, `content` (digest and size), `target`
//! (symlink target), `mode`, `owner`, `xattrs`. Groups: `all` (every attribute), `perms`
//! (`type`, `mode`, `owner`, `xattrs`), `none`. A path no rule matches gets `all`.
//! Globs use `*` (within one path component), `**` (any depth), `?`, `[...]`, `{a,b}`;
//! a glob also covers everything below a matching directory.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

/// A set of attributes to compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AttrSet(u8);

impl AttrSet {
    /// Added / removed.
    pub const PRESENCE: AttrSet = AttrSet(1);
    /// File type.
    pub const TYPE: AttrSet = AttrSet(2);
    /// Content digest and size (and device number).
    pub const CONTENT: AttrSet = AttrSet(4);
    /// Symlink target.
    pub const TARGET: AttrSet = AttrSet(8);
    /// Permission bits.
    pub const MODE: AttrSet = AttrSet(16);
    /// Owner and group.
    pub const OWNER: AttrSet = AttrSet(32);
    /// Security xattrs.
    pub const XATTRS: AttrSet = AttrSet(64);
    /// Nothing.
    pub const NONE: AttrSet = AttrSet(0);
    /// Everything.
    pub const ALL: AttrSet = AttrSet(127);
    /// `perms`: type, mode, owner, xattrs.
    pub const PERMS: AttrSet = AttrSet(2 | 16 | 32 | 64);

    /// Whether every attribute of `other` is in `self`.
    pub fn has(self, other: AttrSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union.
    #[must_use]
    pub fn with(self, other: AttrSet) -> AttrSet {
        AttrSet(self.0 | other.0)
    }

    /// Whether nothing is compared.
    pub fn is_none(self) -> bool {
        self.0 == 0
    }

    /// Parses an attribute or group name.
    pub fn parse(name: &str) -> Option<AttrSet> {
        Some(match name {
            "presence" => AttrSet::PRESENCE,
            "type" => AttrSet::TYPE,
            "content" => AttrSet::CONTENT,
            "target" => AttrSet::TARGET,
            "mode" => AttrSet::MODE,
            "owner" => AttrSet::OWNER,
            "xattrs" => AttrSet::XATTRS,
            "all" => AttrSet::ALL,
            "perms" => AttrSet::PERMS,
            "none" => AttrSet::NONE,
            _ => return None,
        })
    }
}

/// Errors loading a policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The TOML does not parse.
    #[error("invalid policy: {0}")]
    Toml(#[from] toml::de::Error),
    /// A glob does not compile.
    #[error("invalid glob {glob:?} in policy: {reason}")]
    Glob {
        /// The glob.
        glob: String,
        /// Why.
        reason: String,
    },
    /// An unknown attribute name.
    #[error(
        "unknown attribute {0:?} in policy (known: presence, type, content, target, mode, owner, xattrs, all, perms, none)"
    )]
    Attr(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default = "yes")]
    defaults: bool,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    rule: Vec<RuleFile>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    paths: Vec<String>,
    check: Vec<String>,
}

/// The built-in policy for Linux hosts, as TOML.
pub const BUILTIN_LINUX: &str = r#"
# Virtual and volatile file systems: not walked.
exclude = [
  "proc", "sys", "dev", "run", "tmp", "var/tmp", "var/run", "var/lock",
  "lost+found", "media", "mnt", "swapfile", "swap.img",
]

# Logs, caches, spools and state change all the time: only their permissions matter,
# and files may come and go.
[[rule]]
paths = [
  "var/log/**", "var/cache/**", "var/spool/**", "var/mail/**", "var/backups/**",
  "var/lib/apt/lists/**", "var/lib/systemd/**", "var/lib/dhcp/**", "var/lib/logrotate/**",
  "var/lib/docker/**", "var/lib/containerd/**", "var/lib/private/**", "var/lib/sss/**",
  "home/*/.cache/**", "root/.cache/**", "home/*/.*_history", "root/.*_history",
  "home/*/.viminfo", "root/.viminfo", "home/*/.lesshst", "root/.lesshst",
]
check = ["perms"]

# Rewritten on every boot or network change.
[[rule]]
paths = [
  "etc/mtab", "etc/resolv.conf", "etc/adjtime", "etc/machine-id", "etc/ld.so.cache",
  "etc/hostname", "etc/hosts", "var/lib/dpkg/**", "var/lib/ucf/**", "var/lib/man-db/**",
]
check = ["type", "owner", "mode"]
"#;

/// A compiled policy.
#[derive(Debug, Clone)]
pub struct Policy {
    excludes: Vec<String>,
    exclude_set: GlobSet,
    rules: Vec<(GlobSet, AttrSet)>,
    /// The rules' globs as written (to compile them again without regard to case).
    rule_globs: Vec<(Vec<String>, AttrSet)>,
    /// Globs match without regard to case (a manifest of Windows paths).
    case_insensitive: bool,
}

fn glob(g: &str, case_insensitive: bool) -> Result<Glob, PolicyError> {
    GlobBuilder::new(g.trim_start_matches('/'))
        .literal_separator(true)
        .backslash_escape(true)
        .case_insensitive(case_insensitive)
        .build()
        .map_err(|e| PolicyError::Glob { glob: g.into(), reason: e.kind().to_string() })
}

fn glob_set_ci(globs: &[String], case_insensitive: bool) -> Result<GlobSet, PolicyError> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(glob(g, case_insensitive)?);
    }
    b.build().map_err(|e| PolicyError::Glob { glob: globs.join(","), reason: e.to_string() })
}

fn glob_set(globs: &[String]) -> Result<GlobSet, PolicyError> {
    glob_set_ci(globs, false)
}

impl Default for Policy {
    fn default() -> Self {
        Policy::builtin()
    }
}

impl Policy {
    /// The built-in Linux policy.
    pub fn builtin() -> Policy {
        // The built-in text is a constant tested below; fall back to "compare everything".
        Policy::from_toml_text(BUILTIN_LINUX, false).unwrap_or_else(|_| Policy::empty())
    }

    /// A policy that walks everything and compares every attribute.
    pub fn empty() -> Policy {
        Policy {
            excludes: Vec::new(),
            exclude_set: GlobSet::empty(),
            rules: Vec::new(),
            rule_globs: Vec::new(),
            case_insensitive: false,
        }
    }

    /// The same policy with every glob matching without regard to case, as Windows compares
    /// names (for a manifest of Windows paths, whose `\` the caller gives as `/`).
    pub fn case_insensitive(&self) -> Result<Policy, PolicyError> {
        let mut rules = Vec::with_capacity(self.rule_globs.len());
        for (globs, attrs) in &self.rule_globs {
            rules.push((glob_set_ci(globs, true)?, *attrs));
        }
        Ok(Policy {
            excludes: self.excludes.clone(),
            exclude_set: glob_set_ci(&self.excludes, true)?,
            rules,
            rule_globs: self.rule_globs.clone(),
            case_insensitive: true,
        })
    }

    /// Parses a policy file. Unless it says `defaults = false`, the built-in rules follow
    /// its own and its excludes add to the built-in ones.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml_text(text, true)
    }

    fn from_toml_text(text: &str, allow_defaults: bool) -> Result<Policy, PolicyError> {
        let file: PolicyFile = toml::from_str(text)?;
        let mut excludes = file.exclude;
        let mut rules = Vec::new();
        let mut rule_globs = Vec::new();
        for r in &file.rule {
            let mut set = AttrSet::NONE;
            for c in &r.check {
                set = set.with(AttrSet::parse(c).ok_or_else(|| PolicyError::Attr(c.clone()))?);
            }
            rules.push((glob_set(&r.paths)?, set));
            rule_globs.push((r.paths.clone(), set));
        }
        if allow_defaults && file.defaults {
            let builtin = Policy::from_toml_text(BUILTIN_LINUX, false)?;
            excludes.extend(builtin.excludes);
            rules.extend(builtin.rules);
            rule_globs.extend(builtin.rule_globs);
        }
        excludes.sort();
        excludes.dedup();
        let exclude_set = glob_set(&excludes)?;
        Ok(Policy { excludes, exclude_set, rules, rule_globs, case_insensitive: false })
    }

    /// Adds exclude globs (from `--exclude` or a manifest header).
    pub fn add_excludes(&mut self, more: &[String]) -> Result<(), PolicyError> {
        self.excludes.extend(more.iter().cloned());
        self.excludes.sort();
        self.excludes.dedup();
        self.exclude_set = glob_set_ci(&self.excludes, self.case_insensitive)?;
        Ok(())
    }

    /// The exclude globs, sorted.
    pub fn excludes(&self) -> &[String] {
        &self.excludes
    }

    /// Whether a relative path is excluded from the walk (the path itself; the walk does
    /// not descend into an excluded directory, so everything below is excluded too).
    pub fn is_excluded(&self, rel: &[u8]) -> bool {
        !rel.is_empty() && !self.excludes.is_empty() && self.exclude_set.is_match(as_path(rel))
    }

    /// Whether a relative path or one of its parent directories is excluded.
    pub fn is_excluded_path(&self, rel: &[u8]) -> bool {
        if self.excludes.is_empty() {
            return false;
        }
        let mut p = rel;
        loop {
            if self.is_excluded(p) {
                return true;
            }
            match p.iter().rposition(|&c| c == b'/') {
                Some(i) => p = p.get(..i).unwrap_or_default(),
                None => return false,
            }
        }
    }

    /// What to compare for a relative path: the first matching rule (the path or one of
    /// its parent directories matching), else everything.
    pub fn attrs_for(&self, rel: &[u8]) -> AttrSet {
        if self.rules.is_empty() {
            return AttrSet::ALL;
        }
        for (set, attrs) in &self.rules {
            let mut p = rel;
            loop {
                if set.is_match(as_path(p)) {
                    return *attrs;
                }
                match p.iter().rposition(|&c| c == b'/') {
                    Some(i) => p = p.get(..i).unwrap_or_default(),
                    None => break,
                }
            }
        }
        AttrSet::ALL
    }
}

#[cfg(unix)]
fn as_path(b: &[u8]) -> &std::path::Path {
    use std::os::unix::ffi::OsStrExt;
    std::path::Path::new(std::ffi::OsStr::from_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_applies() {
        let p = Policy::from_toml_text(BUILTIN_LINUX, false).unwrap();
        assert!(p.is_excluded(b"proc"));
        assert!(!p.is_excluded(b"usr/proc"));
        assert_eq!(p.attrs_for(b"var/log/syslog"), AttrSet::PERMS);
        assert_eq!(p.attrs_for(b"usr/bin/ls"), AttrSet::ALL);
        assert!(!p.attrs_for(b"var/log/x").has(AttrSet::PRESENCE));
    }

    #[test]
    fn user_rules_come_first() {
        let p = Policy::from_toml(
            "exclude = [\"data\"]\n[[rule]]\npaths = [\"var/log/keep\"]\ncheck = [\"all\"]\n[[rule]]\npaths=[\"srv/*.tmp\"]\ncheck=[]\n",
        )
        .unwrap();
        assert!(p.is_excluded(b"data"));
        assert!(p.is_excluded(b"proc"));
        assert_eq!(p.attrs_for(b"var/log/keep"), AttrSet::ALL);
        assert_eq!(p.attrs_for(b"var/log/keep/inner"), AttrSet::ALL);
        assert!(p.attrs_for(b"srv/a.tmp").is_none());
        assert_eq!(p.attrs_for(b"var/log/other"), AttrSet::PERMS);
        let q = Policy::from_toml("defaults = false").unwrap();
        assert!(!q.is_excluded(b"proc"));
    }

    #[test]
    fn a_case_insensitive_policy_matches_windows_names_in_any_case() {
        let p = Policy::from_toml(
            "defaults = false\nexclude = [\"C:/Windows/Temp\"]\n[[rule]]\npaths = [\"C:/inetpub/logs/**\"]\ncheck = [\"perms\"]\n",
        )
        .unwrap();
        assert!(!p.is_excluded_path(b"c:/windows/temp/x.tmp"), "case-sensitive as written");
        let mut w = p.case_insensitive().unwrap();
        assert!(w.is_excluded_path(b"c:/WINDOWS/temp/x.tmp"));
        assert!(!w.is_excluded_path(b"c:/windows/temp2"));
        assert_eq!(w.attrs_for(b"C:/INETPUB/LOGS/u_ex.log"), AttrSet::PERMS);
        w.add_excludes(&["C:/Users/*/AppData".into()]).unwrap();
        assert!(w.is_excluded_path(b"c:/users/bob/appdata/x"), "added excludes keep the case rule");
    }

    #[test]
    fn bad_policy_is_an_error() {
        assert!(Policy::from_toml("[[rule]]\npaths=[\"a\"]\ncheck=[\"colour\"]").is_err());
        assert!(Policy::from_toml("nonsense = 1").is_err());
        assert!(Policy::from_toml("exclude = [\"a[\"]").is_err());
    }
}

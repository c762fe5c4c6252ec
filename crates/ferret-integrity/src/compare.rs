//! Comparing two entries of the same path, and turning differences into findings.
//!
//! Each difference is reported once: a type change hides every other difference of that
//! path (a file replaced by a directory is one finding, not also a mode and content change);
//! otherwise content, symlink target, mode, owner and xattrs are separate findings.
//!
//! Rule ids: `INT001 content-modified`, `INT002 added`, `INT003 removed`,
//! `INT004 type-changed`, `INT005 symlink-retargeted`, `INT006 mode-changed`,
//! `INT007 owner-changed`, `INT008 xattr-changed`.

use std::path::Path;

use base64::Engine as _;
use ferret_core::{Engine, Evidence, Finding, RuleRef, Severity};

use crate::manifest::{Entry, EntryKind, ManifestKind as _, PathStyle};
use crate::policy::AttrSet;

/// One difference between the recorded and the current state of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The path exists now but was not recorded.
    Added(Entry),
    /// The path was recorded but is gone.
    Removed(Entry),
    /// The type differs.
    Type {
        /// Recorded.
        old: Entry,
        /// Now.
        new: Entry,
    },
    /// The content (digest, size or device number) differs.
    Content {
        /// Recorded.
        old: Entry,
        /// Now.
        new: Entry,
    },
    /// The symlink target differs.
    Target {
        /// Recorded.
        old: Entry,
        /// Now.
        new: Entry,
    },
    /// Permission bits differ.
    Mode {
        /// Recorded.
        old: Entry,
        /// Now.
        new: Entry,
    },
    /// Owner or group differs.
    Owner {
        /// Recorded.
        old: Entry,
        /// Now.
        new: Entry,
    },
    /// Security xattrs differ.
    Xattrs {
        /// Recorded.
        old: Entry,
        /// Now.
        new: Entry,
    },
}

impl Change {
    /// The rule id and name.
    pub fn rule(&self) -> (&'static str, &'static str) {
        match self {
            Change::Content { .. } => ("INT001", "content-modified"),
            Change::Added(_) => ("INT002", "added"),
            Change::Removed(_) => ("INT003", "removed"),
            Change::Type { .. } => ("INT004", "type-changed"),
            Change::Target { .. } => ("INT005", "symlink-retargeted"),
            Change::Mode { .. } => ("INT006", "mode-changed"),
            Change::Owner { .. } => ("INT007", "owner-changed"),
            Change::Xattrs { .. } => ("INT008", "xattr-changed"),
        }
    }

    /// The path concerned (relative).
    pub fn path(&self) -> &[u8] {
        match self {
            Change::Added(e) | Change::Removed(e) => &e.path,
            Change::Type { new, .. }
            | Change::Content { new, .. }
            | Change::Target { new, .. }
            | Change::Mode { new, .. }
            | Change::Owner { new, .. }
            | Change::Xattrs { new, .. } => &new.path,
        }
    }
}

/// The differences between a recorded and a current entry of the same path, limited to
/// `attrs`. A digest missing on either side (unreadable file) is not compared.
pub fn compare(old: &Entry, new: &Entry, attrs: AttrSet) -> Vec<Change> {
    let mut out = Vec::new();
    let pair = || (old.clone(), new.clone());
    if old.kind != new.kind {
        if attrs.has(AttrSet::TYPE) || attrs.has(AttrSet::CONTENT) {
            let (old, new) = pair();
            out.push(Change::Type { old, new });
        }
        return out;
    }
    if attrs.has(AttrSet::CONTENT) {
        let digest_differs = matches!((&old.digest, &new.digest), (Some(a), Some(b)) if a != b);
        let size_differs = old.kind == EntryKind::File && old.size != new.size;
        if digest_differs || size_differs || old.rdev != new.rdev {
            let (old, new) = pair();
            out.push(Change::Content { old, new });
        }
    }
    if attrs.has(AttrSet::TARGET) && old.target != new.target {
        let (old, new) = pair();
        out.push(Change::Target { old, new });
    }
    // A value the source does not keep (an NTFS file has no POSIX mode or owner) is absent
    // and never compared.
    let differs = |a: Option<u32>, b: Option<u32>| matches!((a, b), (Some(a), Some(b)) if a != b);
    if attrs.has(AttrSet::MODE) && differs(old.mode, new.mode) && old.kind != EntryKind::Symlink {
        let (old, new) = pair();
        out.push(Change::Mode { old, new });
    }
    if attrs.has(AttrSet::OWNER) && (differs(old.uid, new.uid) || differs(old.gid, new.gid)) {
        let (old, new) = pair();
        out.push(Change::Owner { old, new });
    }
    if attrs.has(AttrSet::XATTRS) && old.xattrs != new.xattrs {
        let (old, new) = pair();
        out.push(Change::Xattrs { old, new });
    }
    out
}

/// Directories whose executables and libraries an attacker replaces or plants.
const SYSTEM_PREFIXES: [&str; 17] = [
    "bin/",
    "sbin/",
    "lib/",
    "lib32/",
    "lib64/",
    "libx32/",
    "usr/bin/",
    "usr/sbin/",
    "usr/lib/",
    "usr/lib32/",
    "usr/lib64/",
    "usr/libexec/",
    "usr/local/bin/",
    "usr/local/sbin/",
    "usr/local/lib/",
    "boot/",
    "etc/ld.so.preload",
];

/// The folders of a Windows volume whose programs and libraries an attacker replaces or
/// plants (after the drive, compared without case).
const WINDOWS_SYSTEM_PREFIXES: [&str; 3] =
    ["\\windows\\", "\\program files\\", "\\program files (x86)\\"];

/// Whether a relative path is in a system directory (for a Windows path, `X:\Windows\…` and
/// the program folders).
pub fn is_system_path(rel: &[u8]) -> bool {
    if let (PathStyle::Windows, Some(after)) = (PathStyle::of_host_path(rel), rel.get(2..)) {
        let head = after.get(..24).unwrap_or(after).to_ascii_lowercase();
        return WINDOWS_SYSTEM_PREFIXES.iter().any(|p| head.starts_with(p.as_bytes()));
    }
    SYSTEM_PREFIXES.iter().any(|p| rel.starts_with(p.as_bytes()))
}

fn is_setid(e: &Entry) -> bool {
    e.kind == EntryKind::File && e.mode.unwrap_or(0) & 0o6000 != 0
}

fn is_exec(e: &Entry) -> bool {
    e.kind == EntryKind::File && e.mode.unwrap_or(0) & 0o111 != 0
}

/// Context of the findings of one run.
#[derive(Clone, Debug, Default)]
pub struct FindingContext {
    /// The root the relative paths are under (for the finding's `path`).
    pub root: std::path::PathBuf,
    /// Whether the manifest's signature was checked.
    pub authenticated: bool,
    /// The manifest id (or `old → new` for a diff).
    pub manifest_id: String,
    /// How the manifest writes paths: a Windows path is reported as the host knew it, not
    /// under the root.
    pub style: PathStyle,
}

fn mode_text(m: Option<u32>) -> String {
    m.map_or_else(|| "(none)".into(), |m| format!("{m:04o}"))
}

fn owner_text(e: &Entry) -> String {
    match (e.uid, e.gid) {
        (None, None) => "(none)".into(),
        (u, g) => format!(
            "{}:{}",
            u.map_or_else(|| "-".into(), |u| u.to_string()),
            g.map_or_else(|| "-".into(), |g| g.to_string())
        ),
    }
}

/// The path a finding names: a Windows path as the host knew it, any other under the root.
pub fn finding_path(ctx: &FindingContext, rel: &[u8]) -> std::path::PathBuf {
    match ctx.style {
        PathStyle::Windows => std::path::PathBuf::from(String::from_utf8_lossy(rel).into_owned()),
        PathStyle::Posix => crate::tree::abs_path(&ctx.root, rel),
    }
}

fn bytes_text(b: Option<&[u8]>) -> String {
    b.map_or_else(|| "(none)".into(), |b| String::from_utf8_lossy(b).into_owned())
}

fn xattr_text(e: &Entry) -> String {
    if e.xattrs.is_empty() {
        return "(none)".into();
    }
    e.xattrs
        .iter()
        .map(|(k, v)| {
            let shown = match std::str::from_utf8(v) {
                Ok(s) if !s.contains('\0') || s.ends_with('\0') => {
                    s.trim_end_matches('\0').to_owned()
                }
                _ => format!("base64:{}", base64::engine::general_purpose::STANDARD.encode(v)),
            };
            format!("{k}={shown}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Turns a change into a finding (engine `integrity`).
pub fn finding(change: &Change, ctx: &FindingContext) -> Finding {
    let (id, name) = change.rule();
    let rel = change.path();
    let sys = is_system_path(rel);
    let shown = if rel.is_empty() { ".".into() } else { String::from_utf8_lossy(rel).into_owned() };
    let mut ev: Vec<Evidence> = Vec::new();
    let mut push = |label: &str, old: String, new: String| {
        ev.push(Evidence { label: format!("{label} (recorded)"), offset: None, data: old });
        ev.push(Evidence { label: format!("{label} (now)"), offset: None, data: new });
    };
    let (score, message): (u8, String) = match change {
        Change::Content { old, new } => {
            if old.kind == EntryKind::File {
                push(
                    "digest",
                    old.digest.clone().unwrap_or_default(),
                    new.digest.clone().unwrap_or_default(),
                );
                push("size", old.size.to_string(), new.size.to_string());
            } else {
                push(
                    "device",
                    old.rdev.map(|d| d.to_string()).unwrap_or_default(),
                    new.rdev.map(|d| d.to_string()).unwrap_or_default(),
                );
            }
            (if sys { 80 } else { 60 }, format!("content of {} changed", new.kind.name()))
        }
        Change::Added(e) => {
            let score = if is_setid(e) {
                85
            } else if sys && (is_exec(e) || e.kind == EntryKind::File) {
                80
            } else if sys {
                60
            } else {
                45
            };
            let what = if is_setid(e) {
                format!("new setuid/setgid file (mode {})", mode_text(e.mode))
            } else if sys && is_exec(e) {
                "new executable in a system directory".into()
            } else {
                format!("new {}", e.kind.name())
            };
            if e.mode.is_some() {
                ev.push(Evidence { label: "mode".into(), offset: None, data: mode_text(e.mode) });
            }
            if e.uid.is_some() || e.gid.is_some() {
                ev.push(Evidence { label: "owner".into(), offset: None, data: owner_text(e) });
            }
            if let Some(t) = &e.target {
                ev.push(Evidence::from_bytes("target", None, t));
            }
            (score, what)
        }
        Change::Removed(e) => (if sys { 60 } else { 45 }, format!("{} removed", e.kind.name())),
        Change::Type { old, new } => {
            push("type", old.kind.name().into(), new.kind.name().into());
            (
                if sys { 80 } else { 70 },
                format!("{} replaced by a {}", old.kind.name(), new.kind.name()),
            )
        }
        Change::Target { old, new } => {
            push("target", bytes_text(old.target.as_deref()), bytes_text(new.target.as_deref()));
            (if sys { 75 } else { 60 }, "symlink points elsewhere".into())
        }
        Change::Mode { old, new } => {
            push("mode", mode_text(old.mode), mode_text(new.mode));
            let gained = new.mode.unwrap_or(0) & !old.mode.unwrap_or(0);
            let gained_setid = new.kind == EntryKind::File && gained & 0o6000 != 0;
            let gained_write = gained & 0o022 != 0;
            let score = if gained_setid {
                85
            } else if gained_write && sys {
                75
            } else if sys {
                60
            } else {
                50
            };
            let msg = if gained_setid {
                "became setuid/setgid".into()
            } else {
                "permissions changed".into()
            };
            (score, msg)
        }
        Change::Owner { old, new } => {
            push("owner", owner_text(old), owner_text(new));
            (if sys { 70 } else { 55 }, "owner or group changed".into())
        }
        Change::Xattrs { old, new } => {
            push("xattrs", xattr_text(old), xattr_text(new));
            let cap_gained = new.xattrs.contains_key("security.capability")
                && old.xattrs.get("security.capability") != new.xattrs.get("security.capability");
            (
                if cap_gained { 85 } else { 65 },
                if cap_gained {
                    "file capabilities changed".into()
                } else {
                    "security label changed".into()
                },
            )
        }
    };
    let message = if ctx.authenticated {
        format!("{shown}: {message}")
    } else {
        format!("{shown}: {message} (UNAUTHENTICATED: manifest signature not checked)")
    };
    let mut f = Finding::new(
        Engine::Integrity,
        RuleRef { id: id.into(), name: name.into(), ..RuleRef::default() },
        Severity::Info,
    )
    .with_score(score)
    .with_path(finding_path(ctx, rel))
    .with_message(message)
    .with_detail("manifest_id", ctx.manifest_id.clone())
    .with_detail("authenticated", ctx.authenticated)
    .with_detail("entry", shown);
    for e in ev {
        f.push_evidence(e);
    }
    let current = match change {
        Change::Removed(_) => None,
        Change::Added(e)
        | Change::Type { new: e, .. }
        | Change::Content { new: e, .. }
        | Change::Target { new: e, .. }
        | Change::Mode { new: e, .. }
        | Change::Owner { new: e, .. }
        | Change::Xattrs { new: e, .. } => Some(e),
    };
    if let Some(e) = current
        && e.kind == EntryKind::File
    {
        f.size = Some(e.size);
    }
    f
}

/// The root for findings when there is none (a diff of two manifests).
pub fn no_root() -> &'static Path {
    Path::new("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn file(path: &str) -> Entry {
        Entry {
            path: path.as_bytes().to_vec(),
            kind: EntryKind::File,
            size: 3,
            mode: Some(0o755),
            uid: Some(0),
            gid: Some(0),
            digest: Some("aa".into()),
            target: None,
            xattrs: BTreeMap::new(),
            rdev: None,
            mtime: Some(1),
        }
    }

    #[test]
    #[expect(clippy::many_single_char_names, reason = "test variants")]
    fn one_change_one_finding() {
        let a = file("usr/bin/ls");
        let mut b = a.clone();
        b.mode = Some(0o4755);
        let ch = compare(&a, &b, AttrSet::ALL);
        assert_eq!(ch.len(), 1);
        let f = finding(&ch[0], &FindingContext { authenticated: true, ..Default::default() });
        assert_eq!(f.rule.id, "INT006");
        assert!(f.score >= 85);
        let mut c = a.clone();
        c.kind = EntryKind::Dir;
        c.digest = None;
        c.mode = Some(0o700);
        assert_eq!(compare(&a, &c, AttrSet::ALL).len(), 1);
        let mut d = a.clone();
        d.mtime = Some(99);
        assert!(compare(&a, &d, AttrSet::ALL).is_empty());
        let mut e = a.clone();
        e.digest = Some("bb".into());
        assert!(compare(&a, &e, AttrSet::PERMS).is_empty());
        assert_eq!(compare(&a, &e, AttrSet::ALL).len(), 1);
    }

    #[test]
    fn absent_mode_and_owner_are_never_compared_and_windows_paths_are_named_as_known() {
        let mut a = file(r"C:\Windows\System32\evil.dll");
        (a.mode, a.uid, a.gid) = (None, None, None);
        let mut b = a.clone();
        b.mode = Some(0o644);
        assert!(compare(&a, &b, AttrSet::ALL).is_empty(), "absent on one side: not compared");
        b.digest = Some("bb".into());
        let ch = compare(&a, &b, AttrSet::ALL);
        assert_eq!(ch.len(), 1);
        let ctx = FindingContext {
            root: "/cases/disk.img".into(),
            authenticated: true,
            style: PathStyle::Windows,
            ..Default::default()
        };
        let f = finding(&ch[0], &ctx);
        assert_eq!(f.path.unwrap().lossy(), r"C:\Windows\System32\evil.dll");
        assert_eq!(f.score, 80, "C:\\Windows is a system folder");
        assert!(is_system_path(br"d:\PROGRAM FILES\x.exe"));
        assert!(!is_system_path(br"C:\Users\x.exe"));
        let added = finding(&Change::Added(a), &ctx);
        assert!(added.evidence.iter().all(|e| e.label != "mode" && e.label != "owner"));
    }

    #[test]
    fn unauthenticated_findings_say_so() {
        let f = finding(&Change::Added(file("x")), &FindingContext::default());
        assert!(f.message.unwrap().contains("UNAUTHENTICATED"));
        assert_eq!(f.details["authenticated"], false);
    }
}

//! Member names of collections: how a collection's layout is recognised from them, how a
//! member name maps to the path the examined host knew, and which names are hostile.
//!
//! * Velociraptor (offline collector zips and their unpacked folders): uploaded files sit
//!   under `uploads/<accessor>/`, one path component per directory level, each component
//!   percent-encoded (`C%3A`, `%5C%5C.%5CC%3A` for the device path `\\.\C:`). The accessors
//!   `auto`, `file`, `ntfs`, `lazy_ntfs`, `mft`, `ntfs_vss` (and others) all map the same
//!   way: `uploads/ntfs/%5C%5C.%5CC%3A/Windows/x.dll` → `C:\Windows\x.dll`. A volume
//!   shadow copy keeps its device path (`\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\…`).
//!   The collector's own files (`results/`, `uploads.json`, `log.json`,
//!   `collection_context.json`, …) are its metadata, not the host's files.
//! * KAPE target output: one directory per drive letter at the top (`C/Windows/…`) →
//!   `C:\Windows\…`. Recognised when a one-letter directory holds a well-known Windows
//!   top-level directory (`Windows`, `Users`, `ProgramData`, `inetpub`, `$MFT`, …).
//! * Anything else is a plain archive: members keep the name they were stored under.

/// How a collection is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A plain archive or folder of files: member names are kept as stored.
    Plain,
    /// A Velociraptor offline collection (`uploads/<accessor>/…`).
    Velociraptor,
    /// A KAPE target collection (`C/…`).
    Kape,
}

impl Layout {
    /// The name used in provenance records (`velociraptor`, `kape`), `None` for plain.
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Layout::Plain => None,
            Layout::Velociraptor => Some("velociraptor"),
            Layout::Kape => Some("kape"),
        }
    }
}

/// Velociraptor's own files at the top of a collection.
const VELOCIRAPTOR_META: [&str; 6] = [
    "uploads.json",
    "collection_context.json",
    "client_info.json",
    "log.json",
    "requests.json",
    "uploads.json.index",
];

/// Directories that sit at the top of a Windows volume (compared without case).
const WINDOWS_ROOTS: [&str; 16] = [
    "windows",
    "users",
    "programdata",
    "program files",
    "program files (x86)",
    "inetpub",
    "perflogs",
    "documents and settings",
    "$recycle.bin",
    "$mft",
    "$logfile",
    "$extend",
    "$boot",
    "$secure_$sds",
    "system volume information",
    "recovery",
];

/// The components of a member name (`/` or `\` separated, empty ones dropped).
fn components(name: &str) -> impl Iterator<Item = &str> {
    name.split(['/', '\\']).filter(|c| !c.is_empty() && *c != ".")
}

/// Recognises a layout from member names (a zip's central directory, a tar's headers, the
/// top two levels of a folder). Looks at most at `limit` names.
pub fn detect_layout<'a>(names: impl IntoIterator<Item = &'a str>) -> Layout {
    let mut uploads = false;
    let mut velo_meta = false;
    let mut kape = false;
    for name in names.into_iter().take(10_000_000) {
        let mut c = components(name);
        let first = c.next().unwrap_or_default();
        let second = c.next();
        if first == "uploads" && second.is_some() {
            uploads = true;
        }
        if second.is_none() && VELOCIRAPTOR_META.contains(&first) {
            velo_meta = true;
        }
        if is_drive_letter_dir(first)
            && second.is_some_and(|s| WINDOWS_ROOTS.iter().any(|r| r.eq_ignore_ascii_case(s)))
        {
            kape = true;
        }
    }
    if uploads && velo_meta {
        Layout::Velociraptor
    } else if kape {
        Layout::Kape
    } else {
        Layout::Plain
    }
}

fn is_drive_letter_dir(c: &str) -> bool {
    c.len() == 1 && c.bytes().all(|b| b.is_ascii_alphabetic())
}

/// What a member of a collection is, by its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mapped {
    /// A file of the examined host, at this path.
    Host(String),
    /// The collector's own metadata (not a file of the host).
    Metadata,
}

/// The path the host knew for a member of a collection with this layout.
pub fn map_member(layout: Layout, name: &str) -> Mapped {
    match layout {
        Layout::Plain => Mapped::Host(name.to_owned()),
        Layout::Kape => {
            let mut c = components(name);
            match c.next() {
                Some(d) if is_drive_letter_dir(d) => {
                    let rest: Vec<&str> = c.collect();
                    Mapped::Host(format!("{}:\\{}", d.to_ascii_uppercase(), rest.join("\\")))
                }
                _ => Mapped::Host(name.to_owned()),
            }
        }
        Layout::Velociraptor => velociraptor_path(name).map_or(Mapped::Metadata, Mapped::Host),
    }
}

/// The host's path for a Velociraptor upload (`uploads/<accessor>/<encoded components>`),
/// or `None` for any other member (the collector's metadata).
pub fn velociraptor_path(name: &str) -> Option<String> {
    let mut c = name.split('/').filter(|c| !c.is_empty());
    if c.next()? != "uploads" {
        return None;
    }
    let _accessor = c.next()?;
    let decoded: Vec<String> = c.map(percent_decode).collect();
    let (first, rest) = decoded.split_first()?;
    // A component may hold several levels once decoded (`C:\Windows`): split them.
    let mut parts: Vec<&str> = Vec::new();
    let root = windows_root(first);
    match &root {
        Some((_, tail)) => parts.extend(tail.split('\\').filter(|p| !p.is_empty())),
        None => parts.extend(first.split(['\\', '/']).filter(|p| !p.is_empty())),
    }
    for r in rest {
        parts.extend(r.split('\\').filter(|p| !p.is_empty()));
    }
    match &root {
        Some((drive, _)) => Some(format!("{drive}\\{}", parts.join("\\"))),
        None => Some(format!("/{}", parts.join("/"))),
    }
}

/// The Windows root of a decoded first component and what follows it in that component:
/// `C:` and `\\.\C:` → `C:`; a device path (`\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1`)
/// stays as it is. `None` when it is not a Windows path.
fn windows_root(first: &str) -> Option<(String, String)> {
    let drive = |s: &str| -> Option<(String, String)> {
        let b = s.as_bytes();
        if b.len() >= 2 && b.first()?.is_ascii_alphabetic() && b.get(1) == Some(&b':') {
            let letter = char::from(*b.first()?).to_ascii_uppercase();
            Some((format!("{letter}:"), s.get(2..).unwrap_or_default().to_owned()))
        } else {
            None
        }
    };
    if let Some(d) = drive(first) {
        return Some(d);
    }
    for prefix in [r"\\.\", r"\\?\"] {
        if let Some(rest) = first.strip_prefix(prefix) {
            if let Some(d) = drive(rest) {
                return Some(d);
            }
            // A device (shadow copy, raw volume): the device path is the root.
            let mut it = rest.splitn(4, '\\');
            let (a, b, c) = (it.next(), it.next(), it.next());
            let tail = it.next().unwrap_or_default();
            let dev = [a, b, c].into_iter().flatten().collect::<Vec<_>>().join("\\");
            return Some((format!("{prefix}{dev}"), tail.to_owned()));
        }
    }
    None
}

/// Decodes `%XX` escapes (either case); a `%` not followed by two hex digits stays as it is.
/// Bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%'
            && let (Some(h), Some(l)) =
                (b.get(i + 1).and_then(|x| hex(*x)), b.get(i + 2).and_then(|x| hex(*x)))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Why a member name is hostile, if it is: a NUL byte, an absolute path, or a `..`
/// component (path traversal). Such a member is still read in place (nothing is ever
/// written), but its name is a problem naming the archive and the member.
pub fn name_issue(name: &[u8]) -> Option<&'static str> {
    if name.contains(&0) {
        return Some("the member name holds a NUL byte");
    }
    if name.first().is_some_and(|c| *c == b'/' || *c == b'\\')
        || (name.len() >= 2
            && name.first().is_some_and(u8::is_ascii_alphabetic)
            && name.get(1) == Some(&b':'))
    {
        return Some("the member name is an absolute path");
    }
    if name.split(|c| *c == b'/' || *c == b'\\').any(|c| c == b"..") {
        return Some("the member name holds a '..' component (path traversal)");
    }
    None
}

/// Whether a host path made from a member name climbs out of its root (a decoded
/// `%2E%2E` component).
pub(crate) fn mapped_climbs(path: &str) -> bool {
    path.split(['/', '\\']).any(|c| c == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn velociraptor_accessors_map_to_windows_paths() {
        for (name, want) in [
            ("uploads/auto/C%3A/Windows/System32/x.dll", r"C:\Windows\System32\x.dll"),
            ("uploads/ntfs/%5C%5C.%5CC%3A/inetpub/wwwroot/a.aspx", r"C:\inetpub\wwwroot\a.aspx"),
            ("uploads/lazy_ntfs/%5C%5C.%5Cd%3A/x", r"D:\x"),
            ("uploads/mft/%5C%5C.%5CC%3A/a%3Astream", r"C:\a:stream"),
            ("uploads/auto/C%3A%5CUsers%5Cbob/n.txt", r"C:\Users\bob\n.txt"),
            (
                "uploads/ntfs_vss/%5C%5C%3F%5CGLOBALROOT%5CDevice%5CHarddiskVolumeShadowCopy1/Windows/x",
                r"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\Windows\x",
            ),
            ("uploads/file/etc/passwd", "/etc/passwd"),
        ] {
            assert_eq!(velociraptor_path(name).as_deref(), Some(want), "{name}");
        }
        assert_eq!(velociraptor_path("results/Windows.X.json"), None);
        assert_eq!(velociraptor_path("uploads.json"), None);
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn layouts_are_recognised_from_names() {
        let velo = ["uploads.json", "uploads/auto/C%3A/x", "results/a.json"];
        assert_eq!(detect_layout(velo), Layout::Velociraptor);
        assert_eq!(detect_layout(["uploads/auto/C%3A/x"]), Layout::Plain, "no collector file");
        assert_eq!(detect_layout(["C/Windows/x.dll", "2024_CopyLog.csv"]), Layout::Kape);
        assert_eq!(detect_layout(["c/inetpub/"]), Layout::Kape);
        assert_eq!(detect_layout(["c/src/main.c"]), Layout::Plain, "a folder named c");
        assert_eq!(
            map_member(Layout::Kape, "c/inetpub/a.aspx"),
            Mapped::Host(r"C:\inetpub\a.aspx".into())
        );
        assert_eq!(map_member(Layout::Kape, "CopyLog.csv"), Mapped::Host("CopyLog.csv".into()));
        assert_eq!(map_member(Layout::Velociraptor, "log.json"), Mapped::Metadata);
    }

    #[test]
    fn hostile_names_are_named() {
        assert!(name_issue(b"a/../../etc/x").is_some());
        assert!(name_issue(b"/etc/passwd").is_some());
        assert!(name_issue(b"C:\\x").is_some());
        assert!(name_issue(b"a\0b").is_some());
        assert!(name_issue(b"a/..b/c").is_none());
        assert!(mapped_climbs(r"C:\..\x"));
    }
}

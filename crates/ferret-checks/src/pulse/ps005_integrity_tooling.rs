//! PS005 pulse-integrity-tooling-tampered: the integrity checker (`check_integrity.sh`) made to
//! always pass, and the upgrade script (`DSUpgrade.pm`) carrying code that re-plants files
//! across upgrades.

use std::path::Path;

use ferret_core::Severity;

use crate::detector::{
    Campaign, Detector, Doc, FileEntry, Info, Input, Out, Registration, evidence,
};
use crate::inventory::Marker;
use crate::pulse::{
    Families, Kind, REF_AA21_110A, REF_KB44755, REF_MANDIANT_1, REF_MANDIANT_2, REF_MAR_AR21_110A,
};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PS005",
        name: "pulse-integrity-tooling-tampered",
        title: "Pulse Connect Secure integrity checker or upgrade script tampered with",
        campaign: Campaign::PulseSecure,
        severity: Severity::High,
        inputs: &[Input::Tree(Marker::PulseTree)],
        needles: &[],
        doc: Doc {
            what: "Two product scripts read as text. `check_integrity.sh`: an unconditional \
                   top-level `exit 0` followed by more of the script (the checker returns \
                   success before it checks anything), and counters of new or mismatched \
                   files set back to zero after they were counted (the checker runs but always \
                   reports nothing). `DSUpgrade.pm`: the names of published family files that \
                   the product never ships, copies from `/tmp` over CGI pages or Perl modules, \
                   `sed -i` edits of CGI scripts, and Base64-decoded code: what \
                   the persistence patchers add so that the implants are copied into the new \
                   installation during an upgrade.",
            why: "Mandiant found the actor modifying the integrity checker so that it would not \
                  report the modified files, and modifying `DSUpgrade.pm` so that web shells \
                  survived upgrades: an appliance that was patched and checked clean can still \
                  be backdoored. Both are in the published lists of modified files.",
            evidence: "The script, the line(s) matched and their line numbers.",
            false_positives: "A checker with an early `exit 0` inside a function or a \
                              conditional is not matched (only unindented, unconditional \
                              lines). The counter test is a heuristic on variable names \
                              (`count`, `mismatch`, `newfile`): read the script before \
                              concluding. A vendor `DSUpgrade.pm` does not name the published \
                              shells.",
            references: &[
                REF_MANDIANT_1,
                REF_MANDIANT_2,
                REF_MAR_AR21_110A,
                REF_AA21_110A,
                REF_KB44755,
            ],
        },
    },
    build: |opts| Ok(Box::new(IntegrityTooling { intel: opts.intel.clone() })),
};

struct IntegrityTooling {
    intel: std::sync::Arc<crate::intel::CheckIntel>,
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default()
}

/// Hits in `check_integrity.sh`: (line number, line, what it means, severity).
pub(crate) fn checker_hits(text: &str) -> Vec<(usize, String, &'static str, Severity)> {
    let mut hits = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let meaningful = |l: &str| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    };
    for (i, line) in lines.iter().enumerate() {
        let unindented = !line.starts_with(char::is_whitespace);
        let t = line.trim().trim_end_matches(';').trim();
        if unindented && t == "exit 0" && lines.iter().skip(i + 1).any(|l| meaningful(l)) {
            hits.push((
                i + 1,
                (*line).to_owned(),
                "unconditional `exit 0` before the end of the integrity checker",
                Severity::High,
            ));
        }
    }
    // Counters forced to zero after having been incremented.
    for (i, line) in lines.iter().enumerate() {
        let Some(var) = zeroed_counter(line) else { continue };
        let incremented_before = lines.iter().take(i).any(|l| increments(l, &var));
        if incremented_before {
            hits.push((
                i + 1,
                (*line).to_owned(),
                "integrity checker counter reset to zero after counting",
                Severity::High,
            ));
        }
    }
    hits
}

/// `NAME=0` / `NAME = 0` / `$NAME = 0;` where NAME looks like a file counter.
fn zeroed_counter(line: &str) -> Option<String> {
    let t = line.trim().trim_end_matches(';').trim();
    let (lhs, rhs) = t.split_once('=')?;
    if rhs.trim() != "0" {
        return None;
    }
    let var = lhs.trim().trim_start_matches("let ").trim().trim_start_matches('$');
    let lower = var.to_ascii_lowercase();
    let looks =
        ["count", "mismatch", "newfile", "changed", "modified"].iter().any(|k| lower.contains(k));
    (looks && !var.is_empty() && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then(|| var.to_owned())
}

fn increments(line: &str, var: &str) -> bool {
    let l = line.replace(' ', "");
    l.contains(&format!("{var}++"))
        || l.contains(&format!("{var}+=1"))
        || l.contains(&format!("{var}=$(({var}+1"))
        || l.contains(&format!("{var}=$((${var}+1"))
        || l.contains(&format!("${var}++"))
        || l.contains(&format!("${var}+=1"))
        || l.contains(&format!("((${var}++"))
}

/// Hits in `DSUpgrade.pm`.
pub(crate) fn upgrade_hits(
    families: &Families,
    text: &str,
) -> Vec<(usize, String, &'static str, Severity)> {
    let bad: Vec<&str> = families
        .rows
        .iter()
        .filter(|i| i.kind == Kind::BadName)
        .map(|i| i.value.as_str())
        .collect();
    let mut hits = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let lower = line.to_ascii_lowercase();
        if lower.trim_start().starts_with('#') {
            continue;
        }
        let (what, sev) = if bad.iter().any(|b| lower.contains(b)) {
            ("upgrade script names a published web shell or family file", Severity::High)
        } else if lower.contains("/tmp/")
            && (lower.contains(".cgi") || lower.contains(".pm"))
            && ["cp ", "mv ", "cat ", "rsync "].iter().any(|c| lower.contains(c))
        {
            ("upgrade script copies a scratch file over a product page or module", Severity::High)
        } else if lower.contains("sed -i") && lower.contains(".cgi") {
            ("upgrade script edits CGI scripts in place (sed -i)", Severity::High)
        } else if lower.contains("mime::base64") || lower.contains("decode_base64") {
            ("upgrade script decodes Base64 content", Severity::Medium)
        } else {
            continue;
        };
        hits.push((i + 1, line.to_owned(), what, sev));
    }
    hits
}

impl Detector for IntegrityTooling {
    fn wants_file(&self, path: &Path, size: u64) -> bool {
        size <= 16 * 1024 * 1024
            && matches!(file_name(path).as_str(), "check_integrity.sh" | "dsupgrade.pm")
    }

    fn on_file(&self, file: &FileEntry<'_>, out: &mut Out) {
        let Ok(content) = file.content() else { return };
        let text = String::from_utf8_lossy(content);
        let hits = if file_name(file.path) == "check_integrity.sh" {
            checker_hits(&text)
        } else {
            upgrade_hits(&self.intel.families, &text)
        };
        let Some(top) = hits.iter().map(|h| h.3).max() else { return };
        let mut f = DETECTOR.info.finding().with_path(file.path).with_message(format!(
            "Pulse Connect Secure integrity tooling tampered: {}",
            hits.iter().find(|h| h.3 == top).map_or("", |h| h.2)
        ));
        f = f.with_score(top.default_score());
        for (n, line, what, _) in hits.iter().take(20) {
            f.push_evidence(evidence(&format!("line {n}: {what}"), line.trim()));
        }
        if let Some(h) = file.sha256() {
            f.push_evidence(evidence("sha256", h));
        }
        out.finding(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checker() {
        let ok = "#!/bin/sh\nnew=0\nfor f in x; do\n  new=$((new+1))\ndone\nif [ $new -gt 0 ]; then\n  exit 1\nfi\nexit 0\n";
        assert!(checker_hits(ok).is_empty());
        let early = format!("#!/bin/sh\nexit 0\n{}", ok.trim_start_matches("#!/bin/sh\n"));
        assert_eq!(checker_hits(&early).len(), 1);
        let zeroed = "#!/bin/sh\nnewfilecount=0\nfor f in x; do\n  newfilecount=$((newfilecount+1))\ndone\nnewfilecount=0\necho $newfilecount\n";
        let h = checker_hits(zeroed);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h[0].0, 6);
    }

    #[test]
    fn upgrade() {
        let k = crate::intel::CheckIntel::builtin();
        assert!(upgrade_hits(&k.families, "sub upgrade {\n  system('cp a b');\n}\n").is_empty());
        let bad = "sub upgrade {\n  system(\"cp /tmp/x /home/webserver/htdocs/dana-na/auth/licenseserverproto.cgi\");\n}\n";
        assert_eq!(upgrade_hits(&k.families, bad)[0].3, Severity::High);
    }
}

//! Renders the detectors' docs into Markdown (`docs/detectors.md`, written by
//! `cargo xtask detectors` and checked for staleness by `cargo xtask tidy`).

use std::fmt::Write as _;

use crate::detector::{Campaign, Input};
use crate::registry::DETECTORS;

/// The whole `docs/detectors.md`.
pub fn render() -> String {
    let mut s = String::new();
    s.push_str("# Campaign detectors\n\n");
    s.push_str(
        "<!-- Generated from crates/ferret-checks by `cargo xtask detectors`; do not edit. -->\n\n",
    );
    s.push_str(
        "`ferret check` runs these detectors and gives a verdict per campaign: AFFECTED when a \
         finding at evidence level (high or critical) was made, NOT FOUND when the detectors \
         had their inputs and found nothing (with the time span the logs cover), UNKNOWN when \
         their inputs were missing. Findings below evidence level are leads: reported, never \
         deciding. Each detector has a stable code and a name for the pattern it finds; \
         findings carry both as `rule.id` and `rule.name`, engine `check`.\n",
    );
    for c in Campaign::ALL {
        let list: Vec<_> = DETECTORS.iter().filter(|d| d.info.campaign == c).collect();
        let _ = write!(s, "\n## {}\n\n", c.title());
        if list.is_empty() {
            s.push_str("No detector yet.\n");
            continue;
        }
        s.push_str("| code | name | severity | inputs |\n|---|---|---|---|\n");
        for d in &list {
            let i = &d.info;
            let _ = writeln!(
                s,
                "| [{}](#{}) | `{}` | {} | {} |",
                i.code,
                anchor(i.code, i.name),
                i.name,
                i.severity,
                inputs(i.inputs)
            );
        }
        for d in &list {
            let i = &d.info;
            let _ = write!(s, "\n### {} {}\n\n{}\n", i.code, i.name, i.title);
            let _ = write!(s, "\n#### What it finds\n\n{}\n", i.doc.what);
            let _ = write!(s, "\n#### Why it matters\n\n{}\n", i.doc.why);
            let _ = write!(s, "\n#### Evidence\n\n{}\n", i.doc.evidence);
            let _ = write!(s, "\n#### False positives\n\n{}\n", i.doc.false_positives);
            s.push_str("\n#### References\n\n");
            for r in i.doc.references {
                let _ = writeln!(s, "- {r}");
            }
        }
    }
    let d = &crate::netioc::DOC;
    let _ = write!(s, "\n## Any campaign: {}\n\n", crate::netioc::TITLE);
    let sources: Vec<&str> = crate::netioc::SOURCES.iter().map(|l| l.describe()).collect();
    let _ = writeln!(s, "Inputs: {}.", sources.join("; ").replace('|', "\\|"));
    let _ = write!(s, "\n#### What it finds\n\n{}\n", d.what);
    let _ = write!(s, "\n#### Why it matters\n\n{}\n", d.why);
    let _ = write!(s, "\n#### Evidence\n\n{}\n", d.evidence);
    let _ = write!(s, "\n#### False positives\n\n{}\n", d.false_positives);
    s.push_str("\n#### References\n\n");
    for r in d.references {
        let _ = writeln!(s, "- {r}");
    }
    s
}

fn anchor(code: &str, name: &str) -> String {
    format!("{}-{}", code.to_ascii_lowercase(), name)
}

fn inputs(inputs: &[Input]) -> String {
    inputs.iter().map(|i| i.describe()).collect::<Vec<_>>().join("; ").replace('|', "\\|")
}

//! Renders the detectors' docs into Markdown (`docs/detectors.md`, written by
//! `cargo xtask detectors` and checked for staleness by `cargo xtask tidy`).

use std::fmt::Write as _;

use crate::detector::{Campaign, Doc, Input};
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
    let d = &NETWORK_DOC;
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

/// The documentation of the known-bad infrastructure pass ([`crate::netioc`]), rendered after
/// the campaigns.
pub const NETWORK_DOC: Doc = Doc {
    what: "The network indicators of the loaded intel and of the rule files given to \
           `ferret check --rules` (and to `ferret hunt`, which runs the same pass): every intel \
           row whose `kind` is `domain`, `ipv4`, `ipv6` or `url` (built in: \
           `sunburst/network.tsv`, `proxylogon/client-ips.tsv`; or an intel pack's tables); \
           STIX 2.1 `domain-name:value`, `ipv4-addr:value`, `ipv6-addr:value` and `url:value` \
           comparisons in patterns of alternatives; MISP `domain`, `hostname`, `ip-src`, \
           `ip-dst` and `url` attributes with `to_ids`, from event exports and feed \
           folders; OpenIOC `DnsEntryItem/Host`, `Network/DNS`, `PortItem/remoteIP` and \
           `UrlHistoryItem/URL` items under `OR`; plain lists of one domain, address or URL a \
           line (defanged `[.]` and `hxxp` accepted), recognised by content) in the lines of \
           DNS, web-access and proxy, IIS, Exchange, syslog and \
           other text logs: a domain with any of its subdomains (whole labels), an address as a \
           whole token (IPv6 compared in canonical form), a URL as a case-insensitive \
           substring. One finding per value and log line (a value listed by several sources \
           names them all). SB005 and PL008 look for their campaign's tables in the logs they \
           read (SB005: DNS, web-access and proxy, syslog and other logs; PL008: Exchange \
           HttpProxy and IIS logs): there, when their campaign is checked in the same run, a \
           value of those tables is left to them, so one contact gives one finding; in the \
           other logs (a SUNBURST domain in an IIS log's referer) this pass reports it.",
    why: "Advisories and sharing communities hand out infrastructure as MISP events and STIX \
          bundles (CISA's AIS over TAXII, `ferret intel pull`) or plain lists; a host or \
          network log naming it is the first sign of a contact, whichever campaign it \
          belongs to.",
    evidence: "The indicator's own rule (`rule.id` the STIX indicator id, the MISP attribute \
               UUID or the value, `rule.name`, `rule.source` the rule file with its line, or \
               `intel:CAMPAIGN/TABLE.tsv:LINE` for an intel row), its origin (the STIX id, the \
               MISP event and attribute UUIDs, a list's `file:line`, an intel row's source and \
               date), the value seen (a subdomain), the \
               log source, file, line number, time and the line. `details.network_indicator` \
               is the value. These findings decide no campaign's verdict: at high severity or \
               above they make the exit status 1 and the result line `FINDINGS: known-bad \
               infrastructure contacted`.",
    false_positives: "Shared hosting, CDN and cloud addresses change hands, and sinkholed \
                      domains are queried by security tools: weigh an address hit by its \
                      date. A MISP attribute without `to_ids` is not loaded; warning-listed \
                      values are reported as left out.",
    references: &[
        "OASIS, STIX Version 2.1, Patterning <https://docs.oasis-open.org/cti/stix/v2.1/os/stix-v2.1-os.html#_e8slinrhxcc9>",
        "MISP core format <https://www.misp-project.org/datamodels/>",
    ],
};

fn anchor(code: &str, name: &str) -> String {
    format!("{}-{}", code.to_ascii_lowercase(), name)
}

fn inputs(inputs: &[Input]) -> String {
    inputs.iter().map(|i| i.describe()).collect::<Vec<_>>().join("; ").replace('|', "\\|")
}

//! PS007 pulse-log-wiping: signs that the appliance's logs were cleaned: the published `sed`
//! patterns that delete records from the binary logs, emptied logs, and gaps in a log's time
//! sequence.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use ferret_core::Severity;
use ferret_logs::Event;

use crate::detector::{
    Campaign, Detector, Doc, FileEntry, Info, Input, Out, Registration, evidence,
};
use crate::inventory::{LogSource, Marker};
use crate::pulse::{
    REF_AA21_110A, REF_MANDIANT_1, REF_MANDIANT_2, REF_MAR_AR21_110A, in_appliance_area, norm,
};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PS007",
        name: "pulse-log-wiping",
        title: "Pulse Connect Secure logs cleaned or with gaps",
        campaign: Campaign::PulseSecure,
        severity: Severity::High,
        inputs: &[
            Input::Tree(Marker::PulseTree),
            Input::Log(LogSource::WebAccess),
            Input::Log(LogSource::Syslog),
        ],
        needles: &[],
        doc: Doc {
            what: "Scripts and scratch files (shell, Perl, CGI, Python, shell histories, \
                   anything under `/tmp`) that hold one of the published log-cleaning `sed` \
                   expressions, which delete NUL-delimited records matching a string from the \
                   binary logs (`s/.\\x00[^\\x00]*<string>[^\\x00]*\\x09.\\x00//g` and its \
                   `\\x<hex>` form), or that run `sed -i` on the appliance logs \
                   (`log.events.vc*`, `log.access.vc*`, `log.admin.vc*`) (evidence); appliance \
                   logs under `runtime/logs` that are empty (a lead); and, in the appliance's \
                   web and system logs, a silence of more than 24 hours between consecutive \
                   records (a lead).",
            why: "THINBLOOD (its log wipers are rows of `pulse-secure/families.tsv`) and the actor's manual clean-up removed \
                  the log records of their own requests with exactly these `sed` expressions; \
                  the published file lists name the appliance logs they edited. A cleaned log \
                  hides the exploitation that PS006 looks for, so the verdict must say the \
                  logs cannot be trusted.",
            evidence: "The script and the line holding the expression; the empty log; the gap \
                       (from, to, length) and the log it is in.",
            false_positives: "A quiet appliance (a lab, a standby node) can have long silences, \
                              and logs rotate to empty files: gaps and empty logs are leads. A \
                              `sed` expression deleting NUL-delimited records from the \
                              appliance logs has no legitimate use.",
            references: &[REF_MANDIANT_1, REF_MANDIANT_2, REF_MAR_AR21_110A, REF_AA21_110A],
        },
    },
    build: |opts| {
        Ok(Box::new(LogWiping { intel: opts.intel.clone(), state: Mutex::new(HashMap::new()) }))
    },
};

/// Silence between consecutive records reported as a gap.
pub const GAP: TimeDelta = TimeDelta::hours(24);

struct LogWiping {
    /// The published family names (log wipers among them).
    intel: Arc<crate::intel::CheckIntel>,
    /// Per log file: the last time seen and the gaps found (`None`: not an appliance log).
    state: Mutex<HashMap<Arc<Path>, Option<FileGaps>>>,
}

#[derive(Default)]
struct FileGaps {
    last: Option<DateTime<Utc>>,
    gaps: Vec<(DateTime<Utc>, DateTime<Utc>, Option<u64>)>,
}

fn script_like(families: &crate::pulse::Families, path: &Path) -> bool {
    let n = norm(path);
    let name = n.rsplit('/').next().unwrap_or("");
    [".sh", ".pl", ".pm", ".cgi", ".py"].iter().any(|e| name.ends_with(e))
        || name.ends_with("history")
        || n.contains("/tmp/")
        || families.by_name(name).is_some_and(|i| i.kind == crate::pulse::Kind::BadName)
}

fn appliance_log(path: &Path) -> bool {
    let n = norm(path);
    n.contains("/runtime/logs/log.") || n.contains("/runtime/logs/")
}

/// The line of a text that holds a log-cleaning expression.
pub(crate) fn sed_hit(text: &str) -> Option<(usize, String)> {
    text.lines().enumerate().find_map(|(i, l)| {
        let lower = l.to_ascii_lowercase();
        let published = lower.contains("\\x00[^\\x00]*") && lower.contains("\\x09");
        let on_logs = lower.contains("sed")
            && lower.contains("-i")
            && ["log.events.vc", "log.access.vc", "log.admin.vc"].iter().any(|n| lower.contains(n));
        (published || on_logs).then(|| (i + 1, l.trim().to_owned()))
    })
}

impl Detector for LogWiping {
    fn wants_file(&self, path: &Path, size: u64) -> bool {
        (script_like(&self.intel.families, path) && size <= 8 * 1024 * 1024)
            || (appliance_log(path) && size == 0)
    }

    fn on_file(&self, file: &FileEntry<'_>, out: &mut Out) {
        if file.size == 0 {
            if appliance_log(file.path) {
                let mut f = DETECTOR
                    .info
                    .finding()
                    .with_path(file.path)
                    .with_message("Pulse Connect Secure appliance log is empty");
                f = f.with_score(Severity::Medium.default_score());
                out.finding(f);
            }
            return;
        }
        let Ok(content) = file.content() else { return };
        let text = String::from_utf8_lossy(content);
        if let Some((n, line)) = sed_hit(&text) {
            let mut f = DETECTOR
                .info
                .finding()
                .with_path(file.path)
                .with_message("Pulse Connect Secure log-cleaning sed expression");
            f.push_evidence(evidence(&format!("line {n}"), &line));
            out.finding(f);
        }
    }

    fn on_event(&self, ev: &Event, _: LogSource, _out: &mut Out) {
        let Some(t) = ev.time else { return };
        let Ok(mut st) = self.state.lock() else { return };
        let slot = st.entry(Arc::clone(&ev.source)).or_insert_with(|| {
            let n = norm(&ev.source);
            (in_appliance_area(&n) || n.contains("pulse")).then(FileGaps::default)
        });
        let Some(g) = slot else { return };
        if let Some(last) = g.last
            && t - last > GAP
        {
            g.gaps.push((last, t, ev.line));
        }
        if g.last.is_none_or(|l| t > l) {
            g.last = Some(t);
        }
    }

    fn finish(&self, out: &mut Out) {
        let Ok(st) = self.state.lock() else { return };
        let mut files: Vec<(&Arc<Path>, &FileGaps)> =
            st.iter().filter_map(|(p, g)| g.as_ref().map(|g| (p, g))).collect();
        files.sort_by(|a, b| a.0.cmp(b.0));
        for (path, g) in files {
            for (from, to, line) in g.gaps.iter().take(20) {
                let mut f = DETECTOR
                    .info
                    .finding()
                    .with_path(PathBuf::from(&**path))
                    .with_message("gap in a Pulse Connect Secure log's time sequence");
                f = f.with_score(Severity::Medium.default_score());
                f.time = Some(*to);
                f.push_evidence(evidence("from", &from.to_rfc3339()));
                f.push_evidence(evidence("to", &to.to_rfc3339()));
                f.push_evidence(evidence("hours", &(*to - *from).num_hours().to_string()));
                if let Some(l) = line {
                    f.push_evidence(evidence("line", &l.to_string()));
                }
                out.finding(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sed_patterns() {
        assert!(sed_hit(r"sed -i 's/.\x00[^\x00]*10.9.9.9[^\x00]*\x09.\x00//g' /home/runtime/logs/log.access.vc0").is_some());
        assert!(sed_hit(r"sed -i -e 's/x//' /data/runtime/logs/log.events.vc0").is_some());
        assert!(sed_hit("sed -i 's/a/b/' /etc/hosts\nrm -f x\n").is_none());
    }
}

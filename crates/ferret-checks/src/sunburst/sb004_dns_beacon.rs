//! SB004 sunburst-dns-beacon: SUNBURST's DGA queries (`*.appsync-api.<region>.avsvmcloud.com`)
//! in DNS and proxy logs, decoded with [`crate::sunburst::dga`] and reassembled per victim: the
//! internal domain that leaked, when, the stage-2 flag, and whether it was this host.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ferret_core::Severity;
use ferret_logs::Event;

use crate::CheckError;
use crate::detector::{Campaign, Detector, Doc, Info, Input, Out, Registration, evidence};
use crate::inventory::LogSource;
use crate::options::CheckOptions;
use crate::sunburst::dga::{self, Reassembler, VictimId};
use crate::sunburst::{REF_AA20_352A, REF_FIREEYE, REF_FIREEYE_IOCS};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "SB004",
        name: "sunburst-dns-beacon",
        title: "SUNBURST DNS beacons (avsvmcloud.com DGA), decoded per victim",
        campaign: Campaign::Sunburst,
        severity: Severity::High,
        inputs: &[
            Input::Log(LogSource::Dns),
            Input::Log(LogSource::WindowsEvent),
            Input::Log(LogSource::WebAccess),
            Input::Log(LogSource::Other),
        ],
        needles: &["avsvmcloud"],
        doc: Doc {
            what: "Queries for `avsvmcloud.com` names in DNS logs (Windows DNS debug, BIND, \
                   Zeek `dns.log`), Sysmon DNS events (`QueryName`) and proxy or other logs. \
                   Beacon names are decoded (the implant's base32 and substitution encodings) \
                   and grouped by the victim's user id; per victim the finding gives the \
                   internal AD domain that leaked (complete or partial), the first and last \
                   time seen in the logs, the status messages' timestamps, the security \
                   products reported running or disabled, and the stage-2 flag. With \
                   `--match-host mac=…,domain=…,guid=…` (repeatable; positional \
                   `MAC,DOMAIN,MACHINEGUID` also accepted) each victim id is compared with the \
                   user id computed from the host's MAC address, domain and MachineGuid. \
                   Names in the zone that do not decode are reported as they are.",
            why: "Every trojanized Orion server resolved these names: they are the first-stage \
                  C2 channel, and they leak the victim's domain name. The stage-2 flag marks \
                  victims the operators selected for the next stage (CNAME answers pointing at \
                  the stage-2 hosts that SB005 looks for). Public decoders of the same names \
                  let defenders and researchers name victims from passive DNS; the same is \
                  possible from a site's own resolver logs.",
            evidence: "Victim id (hex), recovered domain (and whether complete), first/last \
                       seen, number of queries, stage-2 flag and since when, products \
                       running/stopped, the host-match result; the first log line seen.",
            false_positives: "Names in the zone are the implant's own; scanners and \
                              researchers resolving decoded or published names also appear, \
                              which is why names whose region does not match the id are a lead. \
                              A resolver's logs cover many clients: without `--match-host` a \
                              victim is a host of the site, not necessarily this one.",
            references: &[REF_FIREEYE, REF_AA20_352A, REF_FIREEYE_IOCS],
        },
    },
    build,
};

/// One host identity for `--match-host`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostId {
    /// MAC addresses (any usual notation).
    pub macs: Vec<String>,
    /// The AD domain name as the host reports it.
    pub domain: String,
    /// `HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid`.
    pub guid: String,
}

/// Parses `mac=…,domain=…,guid=…` (keys in any order, `mac` repeatable) or `MAC,DOMAIN,GUID`.
pub fn parse_host(s: &str) -> Result<HostId, String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    let mut h = HostId::default();
    if parts.iter().all(|p| !p.contains('=')) {
        let [mac, domain, guid] = parts.as_slice() else {
            return Err(format!("`{s}`: expected mac=…,domain=…,guid=… or MAC,DOMAIN,GUID"));
        };
        h.macs.push((*mac).to_owned());
        (*domain).clone_into(&mut h.domain);
        (*guid).clone_into(&mut h.guid);
        return Ok(h);
    }
    for p in parts {
        let Some((k, v)) = p.split_once('=') else {
            return Err(format!("`{p}`: expected key=value"));
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "mac" => h.macs.push(v.trim().to_owned()),
            "domain" => v.trim().clone_into(&mut h.domain),
            "guid" | "machineguid" => v.trim().clone_into(&mut h.guid),
            other => return Err(format!("`{other}`: unknown key (mac, domain, guid)")),
        }
    }
    if h.macs.is_empty() || h.guid.is_empty() {
        return Err(format!("`{s}`: mac and guid are required"));
    }
    Ok(h)
}

fn build(opts: &CheckOptions) -> Result<Box<dyn Detector>, CheckError> {
    let hosts = opts
        .match_hosts
        .iter()
        .map(|s| parse_host(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|reason| CheckError::Option { option: "--match-host", reason })?;
    Ok(Box::new(DnsBeacon { hosts, state: Mutex::new(State::default()) }))
}

#[derive(Default)]
struct State {
    reassembler: Reassembler,
    /// Per victim: the first log line (path, line) it was seen on.
    first_line: BTreeMap<VictimId, (PathBuf, Option<u64>)>,
    /// Names in the zone that do not decode, with where they were first seen.
    undecoded: BTreeMap<String, (PathBuf, Option<u64>, u64)>,
}

struct DnsBeacon {
    hosts: Vec<HostId>,
    state: Mutex<State>,
}

/// The query name of an event: the `query`/`QueryName` field, else the raw line.
fn name_text(ev: &Event) -> std::borrow::Cow<'_, str> {
    for f in ["query", "QueryName"] {
        let v = crate::proxylogon::field(ev, f);
        if v.to_ascii_lowercase().contains("avsvmcloud") {
            return std::borrow::Cow::Owned(v.into_owned());
        }
    }
    std::borrow::Cow::Borrowed(ev.text())
}

/// A name of the zone found in a line (dotted), for reporting names that do not decode.
fn zone_name(line: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    let at = lower.find("avsvmcloud.com")?;
    let b = lower.as_bytes();
    let start = b
        .get(..at)?
        .iter()
        .rposition(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_')))
        .map_or(0, |p| p + 1);
    lower.get(start..at + "avsvmcloud.com".len()).map(str::to_owned)
}

impl DnsBeacon {
    fn host_match(&self, victim: VictimId) -> Option<usize> {
        self.hosts.iter().position(|h| {
            let macs: Vec<&str> = h.macs.iter().map(String::as_str).collect();
            dga::matches_host(&victim, &macs, &h.domain, &h.guid)
        })
    }
}

impl Detector for DnsBeacon {
    fn on_event(&self, ev: &Event, _: LogSource, _out: &mut Out) {
        let text = name_text(ev);
        if !text.to_ascii_lowercase().contains("avsvmcloud") {
            return;
        }
        let time = ev.time.map(|t| t.timestamp());
        let Ok(mut st) = self.state.lock() else { return };
        let at = (ev.source.to_path_buf(), ev.line);
        if let Some(q) =
            dga::parse_query(text.trim().trim_end_matches('.')).or_else(|| dga::find_in_line(&text))
        {
            st.reassembler.push(time, &q);
            st.first_line.entry(q.victim).or_insert(at);
        } else if let Some(name) = zone_name(&text) {
            st.undecoded.entry(name).or_insert((at.0, at.1, 0)).2 += 1;
        }
    }

    fn finish(&self, out: &mut Out) {
        let Ok(st) = self.state.lock() else { return };
        for r in st.reassembler.reports() {
            let matched = self.host_match(r.victim);
            let all_mismatched = r.queries > 0 && r.region_mismatches == r.queries;
            let domain = r.domain.as_ref().map_or_else(
                || "(no domain fragment seen)".to_owned(),
                |d| if d.complete { d.name.clone() } else { format!("{} (partial)", d.name) },
            );
            let mut f = DETECTOR.info.finding().with_message(format!(
                "SUNBURST DNS beacons from victim {}: internal domain {domain}{}",
                dga::victim_hex(&r.victim),
                if r.stage2() { "; stage-2 flag set" } else { "" }
            ));
            if let Some((p, line)) = st.first_line.get(&r.victim) {
                f = f.with_path(p.as_path());
                if let Some(l) = line {
                    f.push_evidence(evidence("first_line", &l.to_string()));
                }
            }
            let severity = if matched.is_some() {
                Severity::Critical
            } else if all_mismatched {
                Severity::Medium
            } else {
                Severity::High
            };
            f = f.with_score(severity.default_score());
            f.time = r.first_seen.and_then(|t| chrono::DateTime::from_timestamp(t, 0));
            f.push_evidence(evidence("victim_id", &dga::victim_hex(&r.victim)));
            f.push_evidence(evidence("domain", &domain));
            if let Some(t) = r.first_seen {
                f.push_evidence(evidence("first_seen", &dga::format_utc(t)));
            }
            if let Some(t) = r.last_seen {
                f.push_evidence(evidence("last_seen", &dga::format_utc(t)));
            }
            f.push_evidence(evidence("queries", &r.queries.to_string()));
            f.push_evidence(evidence("stage2", if r.stage2() { "true" } else { "false" }));
            if let Some(t) = r.stage2_since() {
                f.push_evidence(evidence("stage2_since", &dga::format_utc(t)));
            }
            let running = r.products_running();
            if !running.is_empty() {
                f.push_evidence(evidence("products_running", &running.join(", ")));
            }
            let stopped = r.products_stopped();
            if !stopped.is_empty() {
                f.push_evidence(evidence("products_stopped", &stopped.join(", ")));
            }
            let host = match (matched, self.hosts.is_empty()) {
                (Some(i), _) => format!("this host (--match-host #{})", i + 1),
                (None, false) => "none of the --match-host identities".to_owned(),
                (None, true) => "not checked (no --match-host given)".to_owned(),
            };
            f.push_evidence(evidence("host_match", &host));
            if all_mismatched {
                f.push_evidence(evidence(
                    "note",
                    "the names' region never matches the id: possibly forged or replayed names",
                ));
            }
            f = f
                .with_detail("victim_id", dga::victim_hex(&r.victim))
                .with_detail("domain", domain.clone())
                .with_detail("stage2", r.stage2())
                .with_detail("host_match", matched.is_some());
            out.finding(f);
        }
        let names: BTreeSet<&String> = st.undecoded.keys().collect();
        for name in names.into_iter().take(20) {
            let Some((p, line, n)) = st.undecoded.get(name) else { continue };
            let mut f = DETECTOR
                .info
                .finding()
                .with_path(Path::new(p))
                .with_message("query for the SUNBURST C2 zone avsvmcloud.com");
            f.push_evidence(evidence("name", name));
            f.push_evidence(evidence("count", &n.to_string()));
            if let Some(l) = line {
                f.push_evidence(evidence("first_line", &l.to_string()));
            }
            out.finding(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let h = parse_host("mac=00:50:56:01:02:03,domain=corp.example.com,guid=1b4e28ba-2fa1-11d2-883f-0016d3cca427").unwrap();
        assert_eq!(h.macs, ["00:50:56:01:02:03"]);
        assert_eq!(h.domain, "corp.example.com");
        let p = parse_host("005056010203,corp.example.com,1b4e28ba").unwrap();
        assert_eq!(p.guid, "1b4e28ba");
        assert!(parse_host("mac=1,foo=2,guid=3").is_err());
        assert!(parse_host("a,b").is_err());
    }

    #[test]
    fn zone_names() {
        assert_eq!(
            zone_name("x query: api.AVSVMCLOUD.com IN A").as_deref(),
            Some("api.avsvmcloud.com")
        );
    }
}

//! PL006 proxylogon-web-shell: web shells under the Exchange and IIS web folders, by published
//! hash, published name, content (China Chopper and the shells Volexity published), or as new
//! versus an integrity manifest.

use std::collections::HashSet;
use std::path::Path;

use ferret_core::{Problem, ProblemKind, Severity};

use crate::CheckError;
use crate::detector::{
    Campaign, Detector, Doc, FileEntry, Info, Input, Out, Registration, evidence,
};
use crate::inventory::{Marker, normalized};
use crate::options::CheckOptions;
use crate::proxylogon::{REF_AA21_062A, REF_MSFT_HAFNIUM, REF_VOLEXITY, find_ci};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PL006",
        name: "proxylogon-web-shell",
        title: "Web shell in an Exchange or IIS web folder",
        campaign: Campaign::ProxyLogon,
        severity: Severity::High,
        inputs: &[Input::Tree(Marker::ExchangeInstall), Input::Tree(Marker::IisWebRoot)],
        needles: &[],
        doc: Doc {
            what: "`.aspx` and `.ashx` files under `aspnet_client`, `owa\\auth`, `ecp` and \
                   `OAB` that are not part of the product: a SHA-256 from the published \
                   lists (critical); a path from the published lists (high; Exchange's own \
                   `owa\\auth` pages such as `logon.aspx` or `errorFE.aspx` never match by \
                   name); content with \
                   the China Chopper pattern (a `<script language=\"JScript\" runat=\"server\">` \
                   block that `eval`s a request parameter) or with the strings of the shells \
                   Volexity published (SIMPLESEESHARP, SPORTSBALL, a reGeorg variant) \
                   (critical); a virtual-directory configuration carrying a script (high); \
                   and, when `--manifest` names an integrity manifest of the install, any \
                   such file the manifest does not list (high). Other `.aspx`/`.ashx` files \
                   in `aspnet_client`, which holds none in a standard install, are leads \
                   (medium).",
            why: "Every ProxyLogon intrusion ended with a web shell written through \
                  CVE-2021-26858 or CVE-2021-27065: it survives patching and gives the \
                  attacker (or the next one: several groups reused the shells) code \
                  execution as SYSTEM.",
            evidence: "Which test matched (hash, name, content cue, manifest) and the \
                       matched text; the file's path, size and SHA-256.",
            false_positives: "Custom pages someone deployed under these folders. With \
                              `--manifest` a file that is new versus the install's baseline \
                              is reported whatever its content; without it only the published \
                              indicators and the content cues decide.",
            references: &[REF_MSFT_HAFNIUM, REF_VOLEXITY, REF_AA21_062A],
        },
    },
    build,
};

fn build(opts: &CheckOptions) -> Result<Box<dyn Detector>, CheckError> {
    let mut d = WebShell::default();
    for row in &opts.intel.webshells.rows {
        if row.kind == "sha256" {
            d.hashes.insert(row.value.clone());
        } else {
            d.names.push(format!("/{}", row.value.trim_start_matches('/')));
        }
    }
    if let Some(m) = &opts.manifest {
        d.manifest = Some(load_manifest(m)?);
    }
    Ok(Box::new(d))
}

/// The file paths a manifest lists, normalized (lowercase, `/`).
fn load_manifest(path: &Path) -> Result<HashSet<String>, CheckError> {
    let err = |reason: String| CheckError::Option { option: "--manifest", reason };
    let (file, _) = ferret_fs::open_read_only(path)
        .map_err(|e| err(format!("cannot open {}: {e}", path.display())))?;
    let reader = ferret_integrity::manifest::ManifestReader::new(file)
        .map_err(|e| err(format!("{}: {e}", path.display())))?;
    let mut set = HashSet::new();
    for e in reader {
        let e = e.map_err(|e| err(format!("{}: {e}", path.display())))?;
        if e.kind == ferret_integrity::EntryKind::File {
            set.insert(e.display_path().replace('\\', "/").to_ascii_lowercase());
        }
    }
    Ok(set)
}

/// The detector.
#[derive(Default)]
struct WebShell {
    hashes: HashSet<String>,
    names: Vec<String>,
    manifest: Option<HashSet<String>>,
}

/// The web folders this detector looks in.
const FOLDERS: &[&str] = &["/aspnet_client/", "/owa/auth/", "/ecp/", "/oab/"];

/// Exchange's own pages under `owa\auth` (Exchange 2013–2019 installs): never a finding by
/// name, whatever a list says; only content, hash or the manifest decide for them.
const PRODUCT_OWA_AUTH: [&str; 9] = [
    "errorfe.aspx",
    "expiredpassword.aspx",
    "frowny.aspx",
    "logoff.aspx",
    "logon.aspx",
    "outlookcn.aspx",
    "redirsuiteserviceproxy.aspx",
    "signout.aspx",
    "timeoutlogout.aspx",
];

/// Whether a normalized path is one of Exchange's own pages.
pub(crate) fn product_page(norm: &str) -> bool {
    let name = norm.rsplit('/').next().unwrap_or(norm);
    norm.contains("/owa/auth/") && PRODUCT_OWA_AUTH.contains(&name)
}

/// A content cue: a label and whether the content matches.
pub(crate) fn content_cue(content: &[u8]) -> Option<(&'static str, String)> {
    let text = String::from_utf8_lossy(content.get(..1024 * 1024).unwrap_or(content));
    let t = text.as_ref();
    // China Chopper: a server-side JScript block that evals a request parameter.
    if let Some(i) = find_ci(t, "runat=\"server\"").or_else(|| find_ci(t, "runat=server"))
        && find_ci(t, "language=\"jscript\"").or_else(|| find_ci(t, "language=jscript")).is_some()
        && let Some(e) = find_ci(t, "eval(")
        && find_ci(t.get(e..).unwrap_or(""), "Request").is_some()
    {
        let start = t.get(..i).and_then(|s| s.rfind('<')).unwrap_or(i);
        let snippet: String = t.get(start..).unwrap_or("").chars().take(200).collect();
        return Some(("china-chopper", snippet));
    }
    let cues: &[(&str, &[&str])] = &[
        (
            "simpleseesharp",
            &["HttpPostedFile thisFile = Request.Files[0];thisFile.SaveAs(Path.Combine"],
        ),
        ("sportsball", &["new HttpCookie(\"fqrspt\", HttpContext.Current.Request.Form"]),
        ("sportsball", &["ZN2aDAB4rXsszEvCLrzgcvQ4oi5J1TuiRULlQbYwldE="]),
        (
            "regeorg-variant",
            &["System.Net.Sockets", "Convert.FromBase64String(StrTr(Request.Headers.Get"],
        ),
    ];
    for (label, all) in cues {
        if all.iter().all(|s| t.contains(s)) {
            return Some((label, all.first().copied().unwrap_or("").to_owned()));
        }
    }
    // A virtual-directory configuration written by CVE-2021-27065 with its script.
    if find_ci(t, "ExternalUrl").is_some()
        && let Some(i) = find_ci(t, "<script")
    {
        let snippet: String = t.get(i..).unwrap_or("").chars().take(200).collect();
        return Some(("virtual-directory-config-with-script", snippet));
    }
    None
}

impl WebShell {
    fn listed(&self, norm: &str) -> Option<bool> {
        let m = self.manifest.as_ref()?;
        let mut suffix = norm;
        loop {
            if m.contains(suffix.trim_start_matches('/')) {
                return Some(true);
            }
            match suffix.get(1..).and_then(|s| s.find('/').map(|i| i + 1)) {
                Some(i) => suffix = suffix.get(i..).unwrap_or(""),
                None => return Some(false),
            }
        }
    }
}

impl Detector for WebShell {
    fn wants_file(&self, path: &Path, _: u64) -> bool {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !(ext.eq_ignore_ascii_case("aspx") || ext.eq_ignore_ascii_case("ashx")) {
            return false;
        }
        let n = normalized(path);
        FOLDERS.iter().any(|f| n.contains(f))
    }

    fn on_file(&self, file: &FileEntry<'_>, out: &mut Out) {
        let norm = normalized(file.path);
        let mut f = DETECTOR.info.finding().with_path(file.path);
        f.size = Some(file.size);
        let mut severity: Option<Severity> = None;
        let raise = |s: Severity, sev: &mut Option<Severity>| {
            *sev = Some(sev.map_or(s, |x| x.max(s)));
        };
        match file.content() {
            Ok(content) => {
                if let Some(h) = file.sha256() {
                    f.sha256 = Some(h.to_owned());
                    if self.hashes.contains(h) {
                        f.push_evidence(evidence("published sha256", h));
                        raise(Severity::Critical, &mut severity);
                    }
                }
                if let Some((label, snippet)) = content_cue(content) {
                    f.push_evidence(evidence(label, &snippet));
                    let s = if label.starts_with("virtual-directory") {
                        Severity::High
                    } else {
                        Severity::Critical
                    };
                    raise(s, &mut severity);
                }
            }
            Err(e) => {
                out.problem(Problem::at(
                    ProblemKind::ReadError,
                    file.path,
                    format!("cannot read to look for a web shell: {e}"),
                ));
            }
        }
        if let Some(n) = self.names.iter().find(|n| norm.ends_with(n.as_str()))
            && !product_page(&norm)
        {
            f.push_evidence(evidence("published path", n.trim_start_matches('/')));
            raise(Severity::High, &mut severity);
        }
        if self.listed(&norm) == Some(false) {
            f.push_evidence(evidence("manifest", "not listed in the install's manifest"));
            raise(Severity::High, &mut severity);
        }
        if severity.is_none() && norm.contains("/aspnet_client/") {
            f.push_evidence(evidence("location", "aspx/ashx under aspnet_client"));
            raise(Severity::Medium, &mut severity);
        }
        let Some(s) = severity else { return };
        f = f.with_score(s.default_score());
        out.finding(f);
    }

    fn on_tree(&self, inventory: &crate::Inventory, out: &mut Out) {
        if self.manifest.is_some()
            && (inventory.has(Marker::ExchangeInstall) || inventory.has(Marker::IisWebRoot))
        {
            out.not_checked(
                "the manifest's signature is not checked here (use `ferret verify` for that); \
                 it is trusted as given",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cues() {
        let chopper = ferret_testkit::samples::chopper_script("x");
        assert_eq!(content_cue(chopper.as_bytes()).map(|c| c.0), Some("china-chopper"));
        assert_eq!(content_cue(b"<%@ Page Language=\"C#\" %><html>hello</html>"), None);
        let d = build(&CheckOptions::default()).map(|_| ());
        assert!(d.is_ok());
    }

    #[test]
    fn published_names_are_not_product_pages() {
        let k = crate::intel::CheckIntel::builtin();
        for row in k.webshells.rows.iter().filter(|r| r.kind == "name") {
            assert!(!product_page(&format!("/{}", row.value)), "{}", row.value);
        }
        assert!(product_page("/v15/frontend/httpproxy/owa/auth/logon.aspx"));
    }
}

//! SB002 sunburst-related-file: SUPERNOVA, TEARDROP and the second-stage Cobalt Strike
//! loaders, and the hotfix installer that carried SUNBURST, by published hashes, names and
//! paths.

use std::path::Path;

use ferret_core::Severity;

use crate::detector::{
    Campaign, Detector, Doc, FileEntry, Info, Input, Out, Registration, evidence,
};
use crate::inventory::{Marker, normalized};
use crate::sunburst::{
    ORION_DLL, REF_AA20_352A, REF_FIREEYE, REF_FIREEYE_IOCS, REF_MSFT_STAGE2, REF_SOLARWINDS,
    supernova_content,
};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "SB002",
        name: "sunburst-related-file",
        title: "SUPERNOVA, TEARDROP or second-stage loader file",
        campaign: Campaign::Sunburst,
        severity: Severity::High,
        inputs: &[Input::Tree(Marker::OrionInstall), Input::Tree(Marker::ProgramData)],
        needles: &[],
        doc: Doc {
            what: "Files matching the published SUPERNOVA, TEARDROP and second-stage indicators \
                   (the intel table `sunburst/files.tsv`): the SUPERNOVA web shell, a \
                   modified copy of Orion's own compiled `App_Web_logoimagehandler.ashx.b6031896.dll` \
                   (by hash, or by the published content markers: the handler compiles and runs \
                   request code, `CompileAssemblyFromSource`/`DynamicRun` with the `clazz`, \
                   `codes`, `method`, `args` parameters; never by its name); TEARDROP's \
                   `\\Windows\\SysWOW64\\netsetupsvc.dll` and the image files it reads its \
                   payload from; the Cobalt Strike \
                   loader paths and hashes of Microsoft's second-stage write-up; the hotfix \
                   installer `SolarWinds-Core-v2019.4.5220-Hotfix5.msp` by hash (the vendor's \
                   file: never by name). Hashed: files with a listed name or path, compiled \
                   ASP.NET pages (`App_Web_*.dll`) and the DLLs, executables and installers \
                   under a SolarWinds Orion install.",
            why: "SUPERNOVA is a web shell planted in Orion through a separate vulnerability \
                  (CVE-2020-10148; not tied to the SUNBURST actor but listed with it); TEARDROP \
                  and RAINDROP are the memory-only droppers SUNBURST's operators used to start \
                  Cobalt Strike on chosen victims: finding them means the second stage ran.",
            evidence: "The path, SHA-256, family, and what the source says of the indicator.",
            false_positives: "Hash matches have none. The loader paths imitate Windows \
                              components but are not part of Windows. Orion's own files \
                              (the compiled logo handler, the hotfix) are never reported by \
                              name.",
            references: &[
                REF_AA20_352A,
                REF_FIREEYE,
                REF_FIREEYE_IOCS,
                REF_MSFT_STAGE2,
                REF_SOLARWINDS,
            ],
        },
    },
    build: |opts| Ok(Box::new(RelatedFile { intel: opts.intel.clone() })),
};

struct RelatedFile {
    intel: std::sync::Arc<crate::intel::CheckIntel>,
}

impl Detector for RelatedFile {
    fn wants_file(&self, path: &Path, size: u64) -> bool {
        let n = normalized(path);
        let name = n.rsplit('/').next().unwrap_or("");
        if name == ORION_DLL || size > 256 * 1024 * 1024 {
            return false;
        }
        self.intel.sunburst_files.by_path(&n).is_some()
            || (name.starts_with("app_web_")
                && Path::new(name).extension().is_some_and(|e| e == "dll"))
            || (n.contains("/solarwinds/orion/")
                && [".dll", ".exe", ".msp"].iter().any(|e| name.ends_with(e)))
    }

    fn on_file(&self, file: &FileEntry<'_>, out: &mut Out) {
        let n = normalized(file.path);
        let sha = file.sha256().unwrap_or("").to_owned();
        let name = n.rsplit('/').next().unwrap_or("");
        if self.intel.sunburst_files.by_hash(&sha).is_none()
            && name.starts_with("app_web_")
            && let Ok(content) = file.content()
            && let Some(what) = supernova_content(content)
        {
            let mut f = DETECTOR
                .info
                .finding()
                .with_path(file.path)
                .with_message("SUPERNOVA web shell (published content markers)")
                .with_score(95);
            f.push_evidence(evidence("family", "SUPERNOVA"));
            f.push_evidence(evidence("matched", what));
            if self.intel.sunburst_files.product_file(name) {
                f.push_evidence(evidence("note", "a modified copy of Orion's own compiled page"));
            }
            if !sha.is_empty() {
                f.push_evidence(evidence("sha256", &sha));
            }
            out.finding(f);
            return;
        }
        let hit = self
            .intel
            .sunburst_files
            .by_hash(&sha)
            .map(|i| (i, "hash"))
            .or_else(|| self.intel.sunburst_files.by_path(&n).map(|i| (i, "name or path")));
        let Some((i, how)) = hit else { return };
        let score = match (how, i.severity) {
            ("hash", Severity::Critical) => 100,
            (_, s) => s.default_score().min(85),
        };
        let mut f = DETECTOR
            .info
            .finding()
            .with_path(file.path)
            .with_message(format!("{} file (published {how})", i.family))
            .with_score(score);
        f.push_evidence(evidence("family", &i.family));
        f.push_evidence(evidence("matched", how));
        if !i.note.is_empty() {
            f.push_evidence(evidence("published", &i.note));
        }
        if !sha.is_empty() {
            f.push_evidence(evidence("sha256", &sha));
        }
        out.finding(f);
    }
}

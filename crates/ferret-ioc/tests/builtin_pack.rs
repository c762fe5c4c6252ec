//! The built-in pack loads with zero problems, every indicator carries a reference, and a
//! few known indicators fire on planted facts. Its hash and file-name lists are the scan
//! tables of the built-in intel.

use ferret_core::Engine;
use ferret_intel::{Intel, Table};
use ferret_ioc::{FileFacts, IocSet, builtin};

fn load_builtin() -> IocSet {
    let mut set = IocSet::default();
    let mut problems = Vec::new();
    let loaded = set.load_intel(Intel::builtin().unwrap(), &mut problems);
    assert_eq!(loaded.len(), builtin::scan_tables().count());
    for (path, n) in &loaded {
        assert!(*n > 0, "{path} loaded nothing");
    }
    assert!(problems.is_empty(), "{problems:#?}");
    set
}
#[test]
fn builtin_pack_loads_without_problems() {
    let set = load_builtin();
    let counts = set.counts();
    assert!(counts["hash"] > 150, "{counts:?}");
    assert!(counts["filename"] >= 8, "{counts:?}");
    let needs = set.needs();
    assert!(needs.md5 && needs.sha1 && needs.sha256);
}

#[test]
fn every_builtin_indicator_has_a_reference() {
    for (name, text) in builtin::scan_tables() {
        let table = Table::parse(name, text).unwrap();
        // Every row cites at least one reference, and its source with a URL.
        for row in &table.rows {
            let line = row.line;
            assert!(
                row.field("references").split_whitespace().all(|r| r.starts_with("https://"))
                    && !row.field("references").trim().is_empty(),
                "{name}:{line}: entry without reference"
            );
            assert!(row.source().contains("<https://"), "{name}:{line}: source without URL");
        }
    }
}

#[test]
fn builtin_hash_and_name_fire() {
    let set = load_builtin();
    let mut sha = [0u8; 32];
    hex::decode_to_slice(
        "32519b85c0b422e4656de6e6c41878e95fd95026267daab4215ee59c107d6c77",
        &mut sha,
    )
    .unwrap();
    let facts = FileFacts {
        path:
            b"C:\\Program Files (x86)\\SolarWinds\\Orion\\SolarWinds.Orion.Core.BusinessLayer.dll",
        size: 1,
        sha256: Some(sha),
        ..FileFacts::default()
    };
    let mut out = Vec::new();
    set.match_file(&facts, &mut out);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].engine, Engine::Hash);
    assert_eq!(out[0].score, 100);
    assert!(out[0].rule.name.contains("SUNBURST"));
    assert!(out[0].rule.references.iter().any(|r| r.contains("sunburst")));
    let finding = out[0].clone().into_finding();
    assert_eq!(finding.severity, ferret_core::Severity::Critical);
    assert_eq!(finding.score, 100);
    assert_eq!(finding.evidence[0].label, "sha256");

    let mut out = Vec::new();
    let facts = FileFacts {
        path: b"/mnt/c/inetpub/wwwroot/aspnet_client/system_web/supp0rt.aspx",
        ..FileFacts::default()
    };
    set.match_file(&facts, &mut out);
    assert!(out.iter().any(|m| m.engine == Engine::Filename && m.score == 90), "{out:#?}");

    // Ordinary files do not fire.
    for p in [
        &b"C:\\inetpub\\wwwroot\\aspnet_client\\system_web\\4_0_30319\\WebUIValidation.js"[..],
        b"C:\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx",
        b"/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
        b"/home/user/login.cgi",
    ] {
        let mut out = Vec::new();
        set.match_file(&FileFacts { path: p, ..FileFacts::default() }, &mut out);
        assert!(out.is_empty(), "{}: {out:#?}", String::from_utf8_lossy(p));
    }
}

#[test]
fn builtin_yara_files_are_well_formed_data() {
    let files = builtin::yara_sources();
    assert!(files.len() >= 4);
    let mut rules = 0;
    for (name, text) in files {
        assert_eq!(text.matches('{').count(), text.matches('}').count(), "{name}: braces");
        for block in text.split("\nrule ").skip(1) {
            rules += 1;
            let rule_name = block.split_whitespace().next().unwrap();
            assert!(rule_name.starts_with("ferret_"), "{name}: {rule_name}");
            for key in [
                "description = \"",
                "author = \"ferret\"",
                "reference = \"https://",
                "date = \"",
                "score = ",
            ] {
                assert!(block.contains(key), "{name}: {rule_name} lacks {key}");
            }
            assert!(block.contains("strings:") && block.contains("condition:"), "{rule_name}");
            assert!(!block.contains("import "), "{rule_name}: modules are not used");
        }
    }
    assert!((6..=12).contains(&rules), "{rules} rules");
}

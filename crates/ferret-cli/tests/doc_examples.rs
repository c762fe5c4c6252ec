//! Every `ferret …` line of a ```sh block in README.md and docs/*.md runs: on fixtures, with
//! the paths it names mapped by [`PATHS`] (an example naming `/` or `C:/` runs on a fixture
//! tree in its place), in document order in one scratch folder per file (so `keygen` makes
//! the key a later `baseline --sign` uses). A line that cannot run here is listed in
//! [`SKIP`] with the reason. A run that could not start (status 2) or died fails the test,
//! naming the file, the line and what ferret said.
//!
//! A new example that names a path not in [`PATHS`] fails with that path: add the path to
//! [`PATHS`] (or the line to [`SKIP`], with the reason it cannot run here).
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// Lines that cannot run here: (start of the line after `ferret `, reason).
const SKIP: &[(&str, &str)] = &[
    ("serve", "starts a collector (tests/collector.rs runs it on loopback)"),
    ("admin", "needs a running collector and its admin token"),
    ("enroll", "needs a running collector and an enrolment secret"),
    ("agent", "needs an enrolled host and a collector"),
    ("report send", "needs an enrolled host and a collector"),
    ("report upload", "needs an enrolled host and a collector"),
    ("keygen -o ~/ferret/", "the collector quick start's key, in the user's home"),
    (
        "verify --dpkg --root",
        "needs a dpkg database under the root (tests/integrity_cli.rs builds one)",
    ),
    (
        "check --campaign pulse-secure /mnt/pcs-image --vendor-key",
        "needs the vendor's PEM key (tests/verdicts.rs makes one with openssl)",
    ),
    (
        "check --campaign ivanti-connect-secure /mnt/ics-image --vendor-key",
        "needs the vendor's PEM key (tests/verdicts.rs makes one with openssl)",
    ),
    ("intel pull", "needs a TAXII 2.1 server (tests/intel_feeds.rs runs medallion on loopback)"),
];

/// Lines that contain one of these cannot run here either (any verb).
const SKIP_ANYWHERE: &[(&str, &str)] = &[("--report-to", "needs an enrolled host and a collector")];

/// What a path of an example becomes.
#[derive(Clone, Copy)]
enum Fixture {
    /// A folder of ordinary files (a host's tree, an image, an install).
    Tree,
    /// A folder of logs (syslog, W3C, DNS).
    Logs,
    /// A folder of Sigma rules.
    Sigma,
    /// A folder of YARA rules.
    Yara,
    /// A folder of signature-base style IOC files.
    Iocs,
    /// A STIX 2.1 bundle.
    Stix,
    /// A folder of STIX 2.1 bundles (as `ferret intel pull` writes them).
    StixDir,
    /// A MISP feed folder: `manifest.json` and one event file.
    MispFeed,
    /// A plain list of network indicators.
    NetList,
    /// A folder of intel tables (a copy of the built-in `intel/` folder).
    Intel,
    /// A bare NTFS volume (ntfs-3g's mkntfs and ntfscp) holding one file.
    NtfsVolume,
    /// A GPT disk around such a volume.
    GptDisk,
    /// A bare ext4 volume (e2fsprogs' `mke2fs -d`) holding a small web root.
    Ext4Volume,
    /// A GPT disk around such a volume, as a VMware VMDK.
    Ext4Vmdk,
    /// A Velociraptor offline collection (a zip with `uploads/auto/C%3A/…`).
    VelociraptorZip,
    /// A KAPE target folder (`C/…`).
    KapeDir,
    /// A tar.gz of a few files.
    TarGz,
    /// Such a GPT disk converted by `qemu-img convert -O FORMAT -o subformat=SUBFORMAT`.
    Qemu(&'static str, &'static str),
    /// Such a GPT disk acquired by `ewfacquire` into an E01.
    E01,
    /// A file an earlier example wrote (relative to the scratch folder).
    Alias(&'static str),
}

/// The paths the examples name, and the fixture each runs on.
const PATHS: &[(&str, Fixture)] = &[
    ("/", Fixture::Tree),
    ("C:/", Fixture::Tree),
    ("/srv", Fixture::Tree),
    ("/srv/www", Fixture::Tree),
    ("disk.img", Fixture::GptDisk),
    ("volume.dd", Fixture::NtfsVolume),
    ("Collection-HOST-2024-01-01.zip", Fixture::VelociraptorZip),
    ("Collection-HOST.zip", Fixture::VelociraptorZip),
    ("Collection.zip", Fixture::VelociraptorZip),
    ("/cases/host1/kape", Fixture::KapeDir),
    ("/cases", Fixture::Tree),
    ("triage.tar.gz", Fixture::TarGz),
    ("host.E01", Fixture::E01),
    ("server.vhdx", Fixture::Qemu("vhdx", "dynamic")),
    ("server.vhd", Fixture::Qemu("vpc", "dynamic")),
    ("server.vmdk", Fixture::Qemu("vmdk", "monolithicSparse")),
    ("web01.vmdk", Fixture::Ext4Vmdk),
    ("pcs-data.img", Fixture::Ext4Volume),
    ("/var/www", Fixture::Tree),
    ("/mnt/image", Fixture::Tree),
    ("/mnt/golden", Fixture::Tree),
    ("/mnt/suspect", Fixture::Tree),
    ("/mnt/exchange-c/", Fixture::Tree),
    ("/var/log", Fixture::Logs),
    ("C:/Windows/System32/winevt/Logs", Fixture::Logs),
    ("iis-logs/", Fixture::Logs),
    ("dns-logs/", Fixture::Logs),
    ("sigma/rules", Fixture::Sigma),
    ("sigma/rules/web", Fixture::Sigma),
    ("signature-base/yara", Fixture::Yara),
    ("my-rules/", Fixture::Yara),
    ("signature-base/iocs", Fixture::Iocs),
    ("iocs.json", Fixture::Stix),
    ("intel/", Fixture::Intel),
    ("intel/ais", Fixture::StixDir),
    ("misp-feed/", Fixture::MispFeed),
    ("c2-domains.txt", Fixture::NetList),
    ("/mnt/logs", Fixture::Logs),
    ("before.manifest", Fixture::Alias("golden.manifest")),
    ("after.manifest", Fixture::Alias("golden.manifest")),
    ("exchange.manifest", Fixture::Alias("golden.manifest")),
];

/// One example line.
struct Example {
    file: String,
    line: usize,
    text: String,
}

/// The `ferret …` lines of the ```sh blocks of one Markdown text (continuations joined,
/// comments dropped).
fn examples(file: &str, text: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.starts_with("```") {
            in_block = !in_block && matches!(trimmed, "```sh" | "```bash" | "```shell");
            pending.clear();
            continue;
        }
        if !in_block {
            continue;
        }
        if pending.is_empty() {
            start = i + 1;
        }
        let code = strip_comment(raw);
        if let Some(head) = code.trim_end().strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(&code);
        let line = std::mem::take(&mut pending);
        let line = line.trim();
        if line.starts_with("ferret ") || line == "ferret" {
            out.push(Example { file: file.to_owned(), line: start, text: line.to_owned() });
        }
    }
    out
}

/// A line without its `# comment` (a `#` after white space, outside quotes).
fn strip_comment(line: &str) -> String {
    let mut quote = None;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_space => return line[..i].to_owned(),
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line.to_owned()
}

/// Splits a line into words as a shell would for these examples (quotes, no expansion).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (_, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

fn skip_reason(text: &str) -> Option<&'static str> {
    let rest = text.strip_prefix("ferret").unwrap_or(text).trim_start();
    SKIP.iter()
        .find(|(start, _)| rest.starts_with(start))
        .or_else(|| SKIP_ANYWHERE.iter().find(|(part, _)| text.contains(part)))
        .map(|(_, why)| *why)
}

fn write(path: &Path, content: &str) {
    write_bytes(path, content.as_bytes());
}

fn write_bytes(path: &Path, content: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// Makes a fixture at `at` (once) and returns the path the example runs on.
fn make(fixture: Fixture, at: &Path, scratch: &Path) -> PathBuf {
    if let Fixture::Alias(name) = fixture {
        return scratch.join(name);
    }
    // The intel folder may already hold `intel/ais` (pulled bundles) from an earlier example.
    if at.exists() && !matches!(fixture, Fixture::Intel) {
        return at.to_path_buf();
    }
    match fixture {
        Fixture::Tree => {
            write(&at.join("etc/hosts"), "127.0.0.1 localhost\n");
            write(&at.join("srv/www/index.html"), "<html>hello</html>\n");
            write(&at.join("usr/bin/tool"), "#!/bin/sh\necho tool\n");
        }
        Fixture::Logs => {
            write(
                &at.join("syslog"),
                "Mar  2 10:00:00 host sshd[1]: Accepted password for root from 10.0.0.1\n",
            );
            write(
                &at.join("u_ex210302.log"),
                "#Software: Microsoft Internet Information Services 10.0\n\
                 #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status\n\
                 2021-03-02 10:00:00 10.0.0.2 GET /owa/auth/x.js - 443 - 10.0.0.9 Mozilla/5.0 200\n",
            );
        }
        Fixture::Sigma => write(
            &at.join("ssh_root_login.yml"),
            "title: Root login over SSH\nid: 0c3a0e52-5f7c-4f0e-9a59-8d2b8f1d2a11\n\
             logsource:\n    product: linux\n\
             detection:\n    keywords:\n        - 'Accepted password for root'\n    condition: keywords\n\
             level: medium\n",
        ),
        Fixture::Yara => write(
            &at.join("example.yar"),
            "rule doc_example_marker { strings: $a = \"doc-example-marker\" condition: $a }\n",
        ),
        Fixture::Iocs => {
            write(&at.join("hash-iocs.txt"), &format!("{};Example hash\n", "0".repeat(64)));
            write(&at.join("filename-iocs.txt"), "\\\\doc-example\\.exe$;70\n");
        }
        Fixture::Intel => {
            let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../intel");
            for (rel, text) in ferret_intel_tables(&repo) {
                write(&at.join(rel), &text);
            }
        }
        Fixture::NetList => {
            write(at, "# Example C2 hosts\nc2.example.net\n192.0.2.10\n");
        }
        Fixture::StixDir => {
            make(Fixture::Stix, &at.join("taxii-000001.json"), scratch);
        }
        Fixture::MispFeed => {
            let uuid = "5f0c6a2e-0000-4000-8000-000000000001";
            write(
                &at.join("manifest.json"),
                &format!(
                    "{{\"{uuid}\": {{\"info\": \"Example event\", \"date\": \"2021-03-02\", \"timestamp\": \"1614643200\"}}}}"
                ),
            );
            write(
                &at.join(format!("{uuid}.json")),
                &format!(
                    "{{\"Event\": {{\"uuid\": \"{uuid}\", \"info\": \"Example event\", \"threat_level_id\": \"1\", \"Attribute\": [\
                     {{\"uuid\": \"5f0c6a2e-0000-4000-8000-000000000002\", \"type\": \"domain\", \"category\": \"Network activity\", \
                     \"value\": \"c2.example.net\", \"to_ids\": true}}]}}}}"
                ),
            );
        }
        Fixture::Stix => write(
            at,
            &format!(
                "{{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": [{{\"type\": \"indicator\", \
                 \"spec_version\": \"2.1\", \"id\": \"indicator--1\", \"pattern_type\": \"stix\", \
                 \"pattern\": \"[file:hashes.'SHA-256' = '{}']\", \"valid_from\": \"2021-01-01T00:00:00Z\"}}]}}",
                "1".repeat(64)
            ),
        ),
        Fixture::NtfsVolume => ntfs_volume(at),
        Fixture::GptDisk => {
            let volume = at.with_extension("volume");
            ntfs_volume(&volume);
            ferret_testkit::disk::gpt_disk(at, &[&volume], true);
        }
        Fixture::VelociraptorZip => {
            let mut z = ferret_testkit::archive::ZipWriter::new();
            z.add("uploads/auto/C%3A/inetpub/wwwroot/index.html", b"<html>hello</html>\n", true);
            z.add("uploads.json", b"{}\n", true);
            write_bytes(at, &z.finish());
        }
        Fixture::KapeDir => {
            write(&at.join("C/inetpub/wwwroot/index.html"), "<html>hello</html>\n");
            write(&at.join("C/Windows/win.ini"), "[fonts]\n");
        }
        Fixture::TarGz => {
            let tar = ferret_testkit::archive::tar(&[(
                "srv/www/index.html",
                b"<html>hello</html>\n".as_slice(),
            )]);
            write_bytes(at, &ferret_testkit::archive::gzip(&tar));
        }
        Fixture::Qemu(format, subformat) => {
            let raw = at.with_extension("raw");
            make(Fixture::GptDisk, &raw, scratch);
            qemu_convert(&raw, at, format, subformat);
        }
        Fixture::Ext4Volume => ext4_volume(at),
        Fixture::Ext4Vmdk => {
            let (volume, raw) = (at.with_extension("volume"), at.with_extension("raw"));
            ext4_volume(&volume);
            ferret_testkit::disk::gpt_disk(&raw, &[&volume], false);
            qemu_convert(&raw, at, "vmdk", "monolithicSparse");
        }
        Fixture::E01 => {
            let raw = at.with_extension("raw");
            make(Fixture::GptDisk, &raw, scratch);
            let made = ferret_testkit::require(
                "ewfacquire (Debian package ewf-tools)",
                std::process::Command::new("ewfacquire").arg("-V").output().is_ok(),
            ) && std::process::Command::new("ewfacquire")
                .args(["-u", "-q", "-d", "sha1", "-t"])
                .arg(at.with_extension(""))
                .arg(&raw)
                .stdin(std::process::Stdio::null())
                .output()
                .is_ok_and(|o| o.status.success());
            if !made {
                std::fs::copy(&raw, at).unwrap();
            }
        }
        Fixture::Alias(_) => unreachable!(),
    }
    at.to_path_buf()
}

/// A bare NTFS volume at `at` holding `index.html` (without ntfs-3g's tools, a visible skip
/// and an empty file, which is scanned as a file).
/// Converts the raw disk `raw` to `at` with qemu-img (a copy of the raw disk when qemu-img is
/// missing, which the strict mode refuses).
fn qemu_convert(raw: &Path, at: &Path, format: &str, subformat: &str) {
    let made = ferret_testkit::require(
        "qemu-img (Debian package qemu-utils)",
        std::process::Command::new("qemu-img").arg("--version").output().is_ok(),
    ) && std::process::Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", format, "-o"])
        .arg(format!("subformat={subformat}"))
        .arg(raw)
        .arg(at)
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        std::fs::copy(raw, at).unwrap();
    }
}

fn ext4_volume(at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    if ferret_testkit::require(
        "e2fsprogs' mke2fs (Debian package e2fsprogs)",
        ferret_testkit::disk::e2fs_tools(),
    ) {
        let tree = at.with_extension("tree");
        write(&tree.join("var/www/html/index.html"), "<html>hello</html>\n");
        ferret_testkit::disk::ext_volume(at, "ext4", &tree, 8, &[]);
    } else {
        std::fs::write(at, b"").unwrap();
    }
}

fn ntfs_volume(at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    if ferret_testkit::require(
        "ntfs-3g's mkntfs and ntfscp (Debian package ntfs-3g)",
        ferret_testkit::disk::ntfs_tools(),
    ) {
        ferret_testkit::disk::NtfsVolume::new(at, 16, false)
            .file("index.html", b"<html>hello</html>\n");
    } else {
        std::fs::write(at, b"").unwrap();
    }
}

/// The argument vector an example runs with, its paths mapped; or the path that has no
/// mapping.
fn mapped_args(words: &[String], scratch: &Path) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for w in words.iter().skip(1) {
        if let Some((_, fixture)) = PATHS.iter().find(|(p, _)| p == w) {
            let at = if w.starts_with('/') || w.starts_with("C:/") {
                scratch.join("root").join(w.trim_start_matches("C:").trim_start_matches('/'))
            } else {
                scratch.join(w)
            };
            out.push(make(*fixture, &at, scratch).to_string_lossy().into_owned());
        } else if w.starts_with('/') || w.starts_with("C:") || w.starts_with('~') {
            return Err(w.clone());
        } else {
            out.push(w.clone());
        }
    }
    Ok(out)
}

#[test]
fn every_example_in_the_docs_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut failures = Vec::new();
    let (mut ran, mut skipped) = (0, 0);
    for file in files {
        let name = file.strip_prefix(&root).unwrap_or(&file).display().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let config = tempfile::tempdir().unwrap();
        for ex in examples(&name, &text) {
            let at = format!("{}:{}: {}", ex.file, ex.line, ex.text);
            if let Some(why) = skip_reason(&ex.text) {
                eprintln!("not run here ({why}): {at}");
                skipped += 1;
                continue;
            }
            let args = match mapped_args(&words(&ex.text), scratch.path()) {
                Ok(a) => a,
                Err(path) => {
                    failures.push(format!(
                        "{at}\n    the path {path:?} has no fixture: add it to PATHS (or the line to SKIP, with the reason)"
                    ));
                    continue;
                }
            };
            let out = Command::cargo_bin("ferret")
                .unwrap()
                .args(&args)
                .current_dir(scratch.path())
                .env("FERRET_CONFIG_DIR", config.path())
                .env("FERRET_SPOOL_DIR", config.path().join("spool"))
                .env_remove("FERRET_NO_CONFIG")
                .timeout(std::time::Duration::from_secs(300))
                .output()
                .unwrap();
            ran += 1;
            match out.status.code() {
                Some(0 | 1 | 3) => {}
                code => failures.push(format!(
                    "{at}\n    ran as: ferret {}\n    status {code:?}; stderr:\n{}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                )),
            }
        }
    }
    eprintln!("{ran} example(s) run, {skipped} listed as not runnable here");
    assert!(ran >= 15, "only {ran} examples ran: is the extraction broken?");
    assert!(failures.is_empty(), "examples that fail:\n{}", failures.join("\n"));
}

#[test]
fn extraction_joins_continuations_and_drops_comments() {
    let md = "text\n```sh\nferret scan / \\\n   --exclude '*.iso'   # a comment\necho no\nferret check 'a # b'\n```\n```text\nferret not-code\n```\n";
    let ex = examples("x.md", md);
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].line, 3);
    assert_eq!(words(&ex[0].text), ["ferret", "scan", "/", "--exclude", "*.iso"]);
    assert_eq!(words(&ex[1].text), ["ferret", "check", "a # b"]);
    assert!(skip_reason("ferret serve --db x").is_some());
    assert!(skip_reason("ferret scan / --report-to https://c").is_some());
    assert!(skip_reason("ferret scan /").is_none());
    let scratch = tempfile::tempdir().unwrap();
    assert_eq!(mapped_args(&words("ferret scan /nowhere"), scratch.path()), Err("/nowhere".into()));
}

/// The directive documents of the docs (the `cat > NAME.json <<'EOF'` blocks) run as the agent
/// would run them: their options are allowed for their verb, and the argument vector built from
/// them (`VERB --name=value… -- TARGET…`, each target on a fixture tree) starts and runs.
#[test]
fn directive_examples_run_as_the_agent_runs_them() {
    use ferret_core::directive::{OptionKind, Verb, allowed_options};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("docs/collector.md")).unwrap();
    let mut docs = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(body) = current.as_mut() {
            if line.trim() == "EOF" {
                docs.push(current.take().unwrap());
            } else {
                body.push_str(line);
                body.push('\n');
            }
        } else if line.starts_with("cat > ") && line.contains(".json <<") {
            current = Some(String::new());
        }
    }
    assert!(!docs.is_empty(), "no directive document found in docs/collector.md");
    let scratch = tempfile::tempdir().unwrap();
    for doc in docs {
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        let verb = Verb::parse(v["verb"].as_str().unwrap()).unwrap();
        let mut args = vec![verb.as_str().to_owned()];
        for o in v["options"].as_array().unwrap() {
            let o = o.as_str().unwrap();
            let (name, value) = o.split_once('=').map_or((o, None), |(n, v)| (n, Some(v)));
            let kind = allowed_options(verb).iter().find(|(n, _)| *n == name).map(|(_, k)| *k);
            assert!(kind.is_some(), "{doc}: option {name} is not allowed for {}", verb.as_str());
            assert_eq!(value.is_some(), !matches!(kind, Some(OptionKind::Flag)), "{doc}: {o}");
            args.push(value.map_or_else(|| format!("--{name}"), |v| format!("--{name}={v}")));
        }
        args.extend(["--format".into(), "jsonl".into(), "-q".into(), "--".into()]);
        let targets = v["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{doc}: a directive names its targets");
        for t in targets {
            let t = t.as_str().unwrap();
            assert!(t.starts_with('/'), "{doc}: targets are absolute");
            let at = scratch.path().join("root").join(t.trim_start_matches('/'));
            args.push(make(Fixture::Tree, &at, scratch.path()).to_string_lossy().into_owned());
        }
        let out = Command::cargo_bin("ferret")
            .unwrap()
            .args(&args)
            .env("FERRET_NO_CONFIG", "1")
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1 | 3)),
            "{doc}\nran as: ferret {}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The `.tsv` tables under `dir` (relative path, text), recursively.
fn ferret_intel_tables(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("the repository's intel folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "tsv") {
                let rel = path.strip_prefix(dir).expect("under intel/").to_path_buf();
                out.push((rel, std::fs::read_to_string(&path).expect("a readable table")));
            }
        }
    }
    assert!(!out.is_empty(), "no tables under {}", dir.display());
    out
}

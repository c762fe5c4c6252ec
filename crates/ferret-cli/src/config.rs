//! The configuration file: what users repeat on every run (rule folders, excludes, size
//! limits, the minimum score, threads), read from `/etc/ferret/ferret.toml` and then from
//! `ferret.toml` in ferret's configuration folder (`$FERRET_CONFIG_DIR`, else
//! `$XDG_CONFIG_HOME/ferret`, else `~/.config/ferret`, as for `agent.json`). A key in the
//! user's file wins over the same key in the system file; a command-line option wins over
//! both (a list given on the command line replaces the file's list). With
//! `FERRET_NO_CONFIG=1` (set by `ferret agent` for a directive's run) no file is read.
//!
//! ```toml
//! threads = 4                     # -j
//! low_priority = true             # --low-priority
//! exclude = ["*.iso", "/srv/backup/*"]   # --exclude (scan, hunt, check)
//! min_score = "high"              # --min-score: 0-100 or a severity
//!
//! [scan]
//! rules = ["/opt/signature-base/yara", "/opt/signature-base/iocs"]   # -r
//! max_file_size = "1G"
//! yara_timeout = 120
//!
//! [hunt]
//! sigma = ["/opt/sigma/rules"]    # --sigma
//! max_file_size = "none"
//! max_decompressed = "16G"
//! sigma_placeholders = { known_cdcs = ["dc1.corp.example", "10.0.0.5"] }
//! exclude_rule = ["5f1abf38-3f21-4f3b-9cb7-6b7d9a0f7e8e"]
//!
//! [check]
//! max_file_size = "4G"
//! ```
//!
//! A key ferret does not know, or a value of the wrong kind, is an error naming the file and
//! the key (status 2): a misspelt setting is never silently ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use ferret_core::Severity;
use serde::Deserialize;

/// The system-wide configuration file.
pub const SYSTEM_FILE: &str = "/etc/ferret/ferret.toml";

/// The name of the user's configuration file in ferret's configuration folder.
pub const USER_FILE_NAME: &str = "ferret.toml";

/// A size: a number of bytes or a string such as `512M` or `none`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum SizeValue {
    Bytes(u64),
    Text(String),
}

/// A minimum score: a number or a severity name.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum ScoreValue {
    Number(u64),
    Text(String),
}

/// The schema a file is checked against (its values are read from the table).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "deserialized only to check keys and types")]
struct FileSchema {
    threads: Option<usize>,
    low_priority: Option<bool>,
    exclude: Option<Vec<String>>,
    min_score: Option<ScoreValue>,
    scan: Option<ScanSection>,
    hunt: Option<HuntSection>,
    check: Option<CheckSection>,
}

/// The schema a file is checked against (its values are read from the table).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "deserialized only to check keys and types")]
struct ScanSection {
    rules: Option<Vec<PathBuf>>,
    max_file_size: Option<SizeValue>,
    yara_timeout: Option<u64>,
}

/// The schema a file is checked against (its values are read from the table).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "deserialized only to check keys and types")]
struct HuntSection {
    sigma: Option<Vec<PathBuf>>,
    max_file_size: Option<SizeValue>,
    max_decompressed: Option<SizeValue>,
    sigma_placeholders: Option<BTreeMap<String, Vec<String>>>,
    sigma_placeholder_file: Option<PathBuf>,
    exclude_rule: Option<Vec<String>>,
}

/// The schema a file is checked against (its values are read from the table).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "deserialized only to check keys and types")]
struct CheckSection {
    max_file_size: Option<SizeValue>,
}

/// Every key the file may hold, with its default as `ferret config show` prints it.
pub const KEYS: &[(&str, &str)] = &[
    ("threads", "0 (one per CPU)"),
    ("low_priority", "false"),
    ("exclude", "[]"),
    ("min_score", "0"),
    ("scan.rules", "[] (the built-in pack only)"),
    ("scan.max_file_size", "512M"),
    ("scan.yara_timeout", "60"),
    ("hunt.sigma", "[]"),
    ("hunt.max_file_size", "none"),
    ("hunt.max_decompressed", "16G"),
    ("hunt.sigma_placeholders", "{}"),
    ("hunt.sigma_placeholder_file", "(none)"),
    ("hunt.exclude_rule", "[]"),
    ("check.max_file_size", "none"),
];

/// The default `--max-file-size` of a verb (files for `scan`, logs for `hunt`, both for
/// `check`).
pub fn default_max_file_size(verb: &str) -> u64 {
    match verb {
        "scan" => 512 << 20,
        _ => u64::MAX,
    }
}

/// The settings read from the configuration files, each with the file it came from.
#[derive(Debug, Default)]
pub struct Config {
    entries: BTreeMap<String, (toml::Value, PathBuf)>,
    /// The files that were read, in order.
    pub files: Vec<PathBuf>,
    /// Why no file was read (`FERRET_NO_CONFIG`), if so.
    pub disabled: Option<String>,
}

impl Config {
    /// Reads the system file and the user's file (those that exist), unless
    /// `FERRET_NO_CONFIG` is set to anything but empty or `0`.
    pub fn load() -> anyhow::Result<Config> {
        if let Some(v) = std::env::var_os(ferret_core::directive::NO_CONFIG_ENV)
            && !v.is_empty()
            && v != "0"
        {
            return Ok(Config {
                disabled: Some(format!(
                    "{}={} is set: no configuration file is read",
                    ferret_core::directive::NO_CONFIG_ENV,
                    v.to_string_lossy()
                )),
                ..Config::default()
            });
        }
        let mut config = Config::default();
        let mut paths = vec![PathBuf::from(SYSTEM_FILE)];
        if let Ok(dir) = crate::upload::config_dir() {
            paths.push(dir.join(USER_FILE_NAME));
        }
        for path in paths {
            match std::fs::read_to_string(&path) {
                Ok(text) => config.add_text(&path, &text)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // A folder the user cannot enter (a HOME left from another account) holds no
                // configuration of theirs: said, not fatal.
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    crate::output::note(&format!(
                        "ferret: warning: configuration file {} not read: {e}",
                        path.display()
                    ));
                }
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("cannot read the configuration file {}", path.display())
                    });
                }
            }
        }
        Ok(config)
    }

    /// Adds one file's settings (later files win key by key).
    pub fn add_text(&mut self, path: &Path, text: &str) -> anyhow::Result<()> {
        let bad = || format!("in the configuration file {}", path.display());
        toml::from_str::<FileSchema>(text).with_context(bad)?;
        let table: toml::Table = toml::from_str(text).with_context(bad)?;
        for (key, value) in table {
            match value {
                toml::Value::Table(section) => {
                    for (k, v) in section {
                        self.entries.insert(format!("{key}.{k}"), (v, path.to_path_buf()));
                    }
                }
                v => {
                    self.entries.insert(key, (v, path.to_path_buf()));
                }
            }
        }
        // Values are checked here, so that a bad size or score fails before any work.
        for (key, (value, _)) in &self.entries {
            let ok = match key.rsplit('.').next() {
                Some("max_file_size" | "max_decompressed") => size_of(value).map(|_| ()),
                Some("min_score") => score_of(value).map(|_| ()),
                _ => Ok(()),
            };
            ok.map_err(|e| anyhow::anyhow!("{}: key `{key}`: {e}", bad()))?;
        }
        self.files.push(path.to_path_buf());
        Ok(())
    }

    fn get(&self, key: &str) -> Option<&toml::Value> {
        self.entries.get(key).map(|(v, _)| v)
    }

    /// The file a key was set in.
    pub fn source(&self, key: &str) -> Option<&Path> {
        self.entries.get(key).map(|(_, p)| p.as_path())
    }

    /// The value of a key as `ferret config show` prints it.
    pub fn shown(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    fn typed<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.get(key).and_then(|v| v.clone().try_into().ok())
    }

    /// `threads`.
    pub fn threads(&self) -> Option<usize> {
        self.typed("threads")
    }

    /// `low_priority`.
    pub fn low_priority(&self) -> bool {
        self.typed("low_priority").unwrap_or(false)
    }

    /// `exclude`.
    pub fn excludes(&self) -> Vec<String> {
        self.typed("exclude").unwrap_or_default()
    }

    /// `min_score`.
    pub fn min_score(&self) -> Option<u8> {
        self.get("min_score").and_then(|v| score_of(v).ok())
    }

    /// `VERB.max_file_size`.
    pub fn max_file_size(&self, verb: &str) -> Option<u64> {
        self.get(&format!("{verb}.max_file_size")).and_then(|v| size_of(v).ok())
    }

    /// `hunt.max_decompressed`.
    pub fn max_decompressed(&self) -> Option<u64> {
        self.get("hunt.max_decompressed").and_then(|v| size_of(v).ok())
    }

    /// `scan.yara_timeout`.
    pub fn yara_timeout(&self) -> Option<u64> {
        self.typed("scan.yara_timeout")
    }

    /// A list of paths (`scan.rules`, `hunt.sigma`).
    pub fn paths(&self, key: &str) -> Vec<PathBuf> {
        self.typed(key).unwrap_or_default()
    }

    /// A list of strings (`hunt.exclude_rule`).
    pub fn strings(&self, key: &str) -> Vec<String> {
        self.typed(key).unwrap_or_default()
    }

    /// `hunt.sigma_placeholders`.
    pub fn placeholders(&self) -> BTreeMap<String, Vec<String>> {
        self.typed("hunt.sigma_placeholders").unwrap_or_default()
    }

    /// `hunt.sigma_placeholder_file`.
    pub fn placeholder_file(&self) -> Option<PathBuf> {
        self.typed("hunt.sigma_placeholder_file")
    }
}

/// Parses `--min-score`: a score 0–100 or a severity name (the lower bound of its band).
pub fn parse_min_score(s: &str) -> Result<u8, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u8>() {
        return if n <= 100 { Ok(n) } else { Err(format!("score {n} is over 100")) };
    }
    let severity = Severity::parse(s).ok_or_else(|| {
        format!("not a score or a severity: {s:?} (0-100, info, low, medium, high, critical)")
    })?;
    Ok(band_floor(severity))
}

/// The lowest score of a severity's band (see [`ferret_core::Severity::from_score`]).
pub fn band_floor(severity: Severity) -> u8 {
    (0..=100u8).find(|&n| Severity::from_score(n) == severity).unwrap_or(0)
}

/// Parses a size limit: [`parse_size`], or `none` (no limit).
pub fn parse_size_limit(s: &str) -> Result<u64, String> {
    if s.trim().eq_ignore_ascii_case("none") { Ok(u64::MAX) } else { parse_size(s) }
}

/// Parses `512M`, `10k`, `1G`, `123`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_lowercase() {
                'k' => 1 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                't' => 1 << 40,
                _ => return Err(format!("unknown size suffix {c:?} (use K, M, G or T)")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: u64 = num.trim().parse().map_err(|_| format!("not a size: {s:?}"))?;
    n.checked_mul(mult).ok_or_else(|| format!("size too large: {s:?}"))
}

fn size_of(value: &toml::Value) -> Result<u64, String> {
    match value.clone().try_into::<SizeValue>() {
        Ok(SizeValue::Bytes(n)) => Ok(n),
        Ok(SizeValue::Text(s)) => parse_size_limit(&s),
        Err(_) => {
            Err("a size is a number of bytes or a string such as \"512M\" or \"none\"".into())
        }
    }
}

fn score_of(value: &toml::Value) -> Result<u8, String> {
    match value.clone().try_into::<ScoreValue>() {
        Ok(ScoreValue::Number(n)) => u8::try_from(n)
            .ok()
            .filter(|n| *n <= 100)
            .ok_or_else(|| format!("score {n} is over 100")),
        Ok(ScoreValue::Text(s)) => parse_min_score(&s),
        Err(_) => Err("a score is 0-100 or a severity name".into()),
    }
}

/// The lines of `ferret config show`: the files read, then every key with its effective
/// value and where it came from.
pub fn show(config: &Config) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(why) = &config.disabled {
        lines.push(format!("# {why}"));
    } else {
        let user = crate::upload::config_dir().ok().map(|d| d.join(USER_FILE_NAME));
        for path in std::iter::once(PathBuf::from(SYSTEM_FILE)).chain(user) {
            let state = if config.files.contains(&path) { "read" } else { "absent" };
            lines.push(format!("# {} ({state})", path.display()));
        }
    }
    for (key, default) in KEYS {
        let line = match (config.shown(key), config.source(key)) {
            (Some(v), Some(src)) => format!("{key} = {v}    # from {}", src.display()),
            _ => format!("{key} = {default}    # default"),
        };
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> anyhow::Result<Config> {
        let mut c = Config::default();
        c.add_text(Path::new("/x/ferret.toml"), text)?;
        Ok(c)
    }

    #[test]
    fn reads_every_key() {
        let c = config(
            "threads = 3\nlow_priority = true\nexclude = ['*.iso']\nmin_score = 'high'\n\
             [scan]\nrules = ['/r']\nmax_file_size = '1G'\nyara_timeout = 9\n\
             [hunt]\nsigma = ['/s']\nmax_file_size = 'none'\nmax_decompressed = 1024\n\
             sigma_placeholders = { known_cdcs = ['dc1', 'dc2'] }\nexclude_rule = ['a']\n\
             [check]\nmax_file_size = '2M'\n",
        )
        .unwrap();
        assert_eq!(c.threads(), Some(3));
        assert!(c.low_priority());
        assert_eq!(c.excludes(), ["*.iso"]);
        assert_eq!(c.min_score(), Some(75));
        assert_eq!(c.paths("scan.rules"), [PathBuf::from("/r")]);
        assert_eq!(c.max_file_size("scan"), Some(1 << 30));
        assert_eq!(c.max_file_size("hunt"), Some(u64::MAX));
        assert_eq!(c.max_file_size("check"), Some(2 << 20));
        assert_eq!(c.max_decompressed(), Some(1024));
        assert_eq!(c.yara_timeout(), Some(9));
        assert_eq!(c.placeholders()["known_cdcs"], ["dc1", "dc2"]);
        assert_eq!(c.strings("hunt.exclude_rule"), ["a"]);
        assert_eq!(c.source("threads"), Some(Path::new("/x/ferret.toml")));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_file_and_key() {
        let e = format!("{:#}", config("threds = 3\n").unwrap_err());
        assert!(e.contains("/x/ferret.toml") && e.contains("threds"), "{e}");
        let e = format!("{:#}", config("[scan]\nrule = ['x']\n").unwrap_err());
        assert!(e.contains("/x/ferret.toml") && e.contains("rule"), "{e}");
        let e = format!("{:#}", config("[scan]\nmax_file_size = '5Q'\n").unwrap_err());
        assert!(e.contains("scan.max_file_size"), "{e}");
        let e = format!("{:#}", config("min_score = 101\n").unwrap_err());
        assert!(e.contains("min_score"), "{e}");
    }

    #[test]
    fn a_later_file_wins_key_by_key() {
        let mut c = config("threads = 3\nmin_score = 10\n").unwrap();
        c.add_text(Path::new("/y/ferret.toml"), "threads = 5\n").unwrap();
        assert_eq!(c.threads(), Some(5));
        assert_eq!(c.source("threads"), Some(Path::new("/y/ferret.toml")));
        assert_eq!(c.min_score(), Some(10));
        assert_eq!(c.source("min_score"), Some(Path::new("/x/ferret.toml")));
    }
}

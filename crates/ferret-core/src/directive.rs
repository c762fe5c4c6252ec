//! Signed directives: what a coordinator asks the hosts of a fleet to run, as data.
//!
//! A directive is a JSON [`Document`] signed with minisign by a *directive key* that the
//! coordinator keeps off the collector. It travels as an [`Envelope`]: the document's exact
//! text, the detached signature's text and, when the directive carries a rule bundle, the
//! bundle's bytes in base64. The collector stores and serves the envelope verbatim; a host
//! checks the signature against the key it pinned at enrolment before it parses anything
//! (`ferret_integrity::directive::open`).
//!
//! Wire format of the document (`schema_version` 1, unknown fields refused):
//!
//! ```json
//! {"schema_version": 1, "id": "<random uuid>", "name": "pulse-2026", "verb": "check",
//!  "targets": ["/"], "options": [{"name": "campaign", "value": "pulse-secure"}],
//!  "deadline": "2026-12-09T00:00:00Z", "orgs": [1], "bundle_sha256": null,
//!  "created": "2026-12-07T01:00:00Z"}
//! ```
//!
//! The signature's trusted comment is `ferret-directive id=<id> sha256=<SHA-256 of the
//! document text>`: the role word keeps a manifest signature (`ferret-manifest …`) from
//! passing as a directive signature and the other way round, and the digest binds the
//! signature to these exact bytes. The bundle is bound by `bundle_sha256` inside the signed
//! document.
//!
//! What a directive may ask is decided here, once, for the agent and the collector: a verb
//! among [`Verb`], absolute targets, and options from the verb's allow-list
//! ([`allowed_options`]). No option names an output, a format, a report destination, a
//! spool, a configuration, a rule path, a cache or any path other than the targets; rules
//! come only from the signed bundle. [`Document::argv`] builds the argument vector the
//! agent runs: nothing is split from a command string.
//!
//! Nothing here does I/O or cryptography; signature checks live in ferret-integrity.

use std::ffi::OsString;
use std::path::{Component, Path};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// The document version this code writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The first word of a directive signature's trusted comment.
pub const ROLE: &str = "ferret-directive";

/// Environment variable set for a run started by the agent: the run reads no
/// configuration file (the configuration-file work honours it).
pub const NO_CONFIG_ENV: &str = "FERRET_NO_CONFIG";

/// Largest document text accepted (bytes).
pub const MAX_DOCUMENT: usize = 64 * 1024;

/// Why a directive is refused. Each message says what was wrong, for the outcome the agent
/// posts and for the coordinator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectiveError {
    /// The envelope or document is malformed.
    #[error("malformed directive: {0}")]
    Malformed(String),
    /// The document asks for something directives may not do.
    #[error("directive refused: {0}")]
    Refused(String),
    /// The signature does not hold, or belongs to another role or document.
    #[error("directive signature refused: {0}")]
    Signature(String),
    /// The rule bundle does not match the signed digest.
    #[error("directive bundle refused: {0}")]
    Bundle(String),
}

/// The verbs a directive may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    /// `ferret scan`.
    Scan,
    /// `ferret verify` (`--dpkg` only: a manifest would be a path).
    Verify,
    /// `ferret hunt`.
    Hunt,
    /// `ferret check`.
    Check,
}

impl Verb {
    /// The verb's name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Scan => "scan",
            Verb::Verify => "verify",
            Verb::Hunt => "hunt",
            Verb::Check => "check",
        }
    }

    /// Parses a verb name; anything else (`report`, `serve`, …) is refused.
    pub fn parse(s: &str) -> Result<Verb, DirectiveError> {
        match s {
            "scan" => Ok(Verb::Scan),
            "verify" => Ok(Verb::Verify),
            "hunt" => Ok(Verb::Hunt),
            "check" => Ok(Verb::Check),
            other => Err(DirectiveError::Refused(format!(
                "verb {other:?} may not be run by a directive (allowed: scan, verify, hunt, check)"
            ))),
        }
    }

    /// The option that takes the signed bundle's path, if the verb takes a bundle.
    pub fn bundle_option(self) -> Option<&'static str> {
        match self {
            Verb::Scan => Some("--rules"),
            Verb::Hunt => Some("--sigma"),
            Verb::Verify | Verb::Check => None,
        }
    }
}

/// Whether an allowed option is a flag or takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    /// `--name`.
    Flag,
    /// `--name=VALUE`, at most once.
    Value,
    /// `--name=VALUE`, repeatable.
    Repeated,
}

/// The options a verb accepts in a directive. Chosen from each verb's arguments: never an
/// output, format, report, spool, configuration, rule path, cache, manifest, key or any
/// other path option.
pub fn allowed_options(verb: Verb) -> &'static [(&'static str, OptionKind)] {
    use OptionKind::{Flag, Repeated, Value};
    match verb {
        Verb::Scan => &[
            ("no-builtin", Flag),
            ("exclude", Repeated),
            ("no-default-excludes", Flag),
            ("max-file-size", Value),
            ("one-file-system", Flag),
            ("cross-filesystems", Flag),
            ("min-score", Value),
            ("threads", Value),
            ("yara-timeout", Value),
            ("low-priority", Flag),
        ],
        Verb::Verify => &[
            ("dpkg", Flag),
            ("package", Repeated),
            ("no-unowned", Flag),
            ("exclude", Repeated),
            ("one-file-system", Flag),
            ("threads", Value),
            ("low-priority", Flag),
            ("min-score", Value),
        ],
        Verb::Hunt => &[
            ("from", Value),
            ("to", Value),
            ("min-level", Value),
            ("threads", Value),
            ("max-file-size", Value),
            ("max-decompressed", Value),
            ("low-priority", Flag),
            ("min-score", Value),
            ("exclude", Repeated),
            ("exclude-rule", Repeated),
            ("sigma-placeholder", Repeated),
        ],
        Verb::Check => &[
            ("campaign", Repeated),
            ("exclude", Repeated),
            ("match-host", Repeated),
            ("threads", Value),
            ("max-file-size", Value),
            ("low-priority", Flag),
            ("min-score", Value),
        ],
    }
}

/// One option of a directive: `--name` or `--name=value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectiveOption {
    /// The option's long name without dashes.
    pub name: String,
    /// Its value (absent for a flag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl DirectiveOption {
    /// Parses `name=value` or `name` (a leading `--` is accepted and dropped).
    pub fn parse(s: &str) -> DirectiveOption {
        let s = s.strip_prefix("--").unwrap_or(s);
        match s.split_once('=') {
            Some((n, v)) => DirectiveOption { name: n.to_owned(), value: Some(v.to_owned()) },
            None => DirectiveOption { name: s.to_owned(), value: None },
        }
    }
}

/// The signed directive document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// A random id (UUID v4), so two directives never share a signature.
    pub id: String,
    /// A short name shown to people.
    pub name: String,
    /// The verb (`scan`, `verify`, `hunt`, `check`), checked by [`Document::check`].
    pub verb: String,
    /// Absolute paths to examine.
    pub targets: Vec<String>,
    /// Options from the verb's allow-list.
    #[serde(default)]
    pub options: Vec<DirectiveOption>,
    /// When every host should have answered.
    pub deadline: DateTime<Utc>,
    /// The organisations it applies to.
    pub orgs: Vec<i64>,
    /// Lowercase hex SHA-256 of the rule bundle the envelope carries, if any.
    #[serde(default)]
    pub bundle_sha256: Option<String>,
    /// When it was signed.
    pub created: DateTime<Utc>,
}

fn clean_text(what: &str, s: &str, max: usize) -> Result<(), DirectiveError> {
    if s.is_empty() || s.len() > max {
        return Err(DirectiveError::Refused(format!("{what} must be 1 to {max} bytes")));
    }
    if s.chars().any(char::is_control) {
        return Err(DirectiveError::Refused(format!("{what} holds a control character")));
    }
    Ok(())
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

impl Document {
    /// Parses a document's text and checks it ([`Document::check`]). Call only on bytes
    /// whose signature has been verified (or, on the collector, to index a document the
    /// hosts will verify themselves).
    pub fn parse(text: &str) -> Result<Document, DirectiveError> {
        if text.len() > MAX_DOCUMENT {
            return Err(DirectiveError::Malformed(format!(
                "document is over {MAX_DOCUMENT} bytes"
            )));
        }
        let doc: Document = serde_json::from_str(text)
            .map_err(|e| DirectiveError::Malformed(format!("document: {e}")))?;
        doc.check()?;
        Ok(doc)
    }

    /// The verb, checked.
    pub fn verb(&self) -> Result<Verb, DirectiveError> {
        Verb::parse(&self.verb)
    }

    /// Checks everything a directive may ask: schema version, name, verb, absolute targets,
    /// options in the verb's allow-list with a value exactly when they take one, a
    /// well-formed bundle digest for a verb that takes a bundle, at least one organisation.
    pub fn check(&self) -> Result<(), DirectiveError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(DirectiveError::Malformed(format!(
                "schema_version {} is not {SCHEMA_VERSION}",
                self.schema_version
            )));
        }
        clean_text("id", &self.id, 100)?;
        clean_text("name", &self.name, 200)?;
        let verb = self.verb()?;
        if self.targets.is_empty() {
            return Err(DirectiveError::Refused("a directive names at least one target".into()));
        }
        if self.targets.len() > 64 {
            return Err(DirectiveError::Refused("at most 64 targets".into()));
        }
        if verb == Verb::Verify && self.targets.len() != 1 {
            return Err(DirectiveError::Refused(
                "verify takes exactly one target (the root)".into(),
            ));
        }
        for t in &self.targets {
            clean_text("target", t, 4096)?;
            let p = Path::new(t);
            if !p.is_absolute() {
                return Err(DirectiveError::Refused(format!(
                    "target {t:?} is not an absolute path"
                )));
            }
            if p.components().any(|c| matches!(c, Component::ParentDir)) {
                return Err(DirectiveError::Refused(format!("target {t:?} contains `..`")));
            }
        }
        let allowed = allowed_options(verb);
        let mut seen: Vec<&str> = Vec::new();
        for o in &self.options {
            let Some((_, kind)) = allowed.iter().find(|(n, _)| *n == o.name) else {
                return Err(DirectiveError::Refused(format!(
                    "option {:?} is not allowed for {} (allowed: {})",
                    o.name,
                    verb.as_str(),
                    allowed.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                )));
            };
            match (kind, &o.value) {
                (OptionKind::Flag, Some(_)) => {
                    return Err(DirectiveError::Refused(format!(
                        "option {:?} takes no value",
                        o.name
                    )));
                }
                (OptionKind::Value | OptionKind::Repeated, None) => {
                    return Err(DirectiveError::Refused(format!(
                        "option {:?} needs a value",
                        o.name
                    )));
                }
                (_, Some(v)) => clean_text(&format!("value of {}", o.name), v, 4096)?,
                (OptionKind::Flag, None) => {}
            }
            if *kind != OptionKind::Repeated && seen.contains(&o.name.as_str()) {
                return Err(DirectiveError::Refused(format!("option {:?} given twice", o.name)));
            }
            seen.push(&o.name);
        }
        if verb == Verb::Verify && !seen.contains(&"dpkg") {
            return Err(DirectiveError::Refused(
                "verify runs only with dpkg (a manifest would be a path on the host)".into(),
            ));
        }
        if let Some(sha) = &self.bundle_sha256 {
            if sha.len() != 64
                || !sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(DirectiveError::Malformed("bundle_sha256 is not a SHA-256".into()));
            }
            if verb.bundle_option().is_none() {
                return Err(DirectiveError::Refused(format!(
                    "{} takes no rule bundle",
                    verb.as_str()
                )));
            }
        }
        if self.orgs.is_empty() {
            return Err(DirectiveError::Refused(
                "a directive applies to at least one organisation".into(),
            ));
        }
        Ok(())
    }

    /// A one-line summary for people: `check --campaign=pulse-secure -- /`.
    pub fn summary(&self) -> String {
        let mut s = self.verb.clone();
        for o in &self.options {
            s.push_str(" --");
            s.push_str(&o.name);
            if let Some(v) = &o.value {
                s.push('=');
                s.push_str(v);
            }
        }
        if self.bundle_sha256.is_some() {
            s.push_str(" (signed bundle)");
        }
        s.push_str(" --");
        for t in &self.targets {
            s.push(' ');
            s.push_str(t);
        }
        s
    }

    /// The argument vector (after the executable) for a checked document: the verb, each
    /// option as one `--name` or `--name=value` word, the bundle's path with the verb's
    /// bundle option, `--report-to URL`, then `--` and the targets. Built word by word:
    /// nothing is split from a string, so no value can become an option.
    pub fn argv(
        &self,
        bundle: Option<&Path>,
        report_to: &str,
    ) -> Result<Vec<OsString>, DirectiveError> {
        let verb = self.verb()?;
        let mut argv: Vec<OsString> = vec![verb.as_str().into()];
        for o in &self.options {
            argv.push(match &o.value {
                Some(v) => format!("--{}={v}", o.name).into(),
                None => format!("--{}", o.name).into(),
            });
        }
        if let Some(b) = bundle {
            let opt = verb.bundle_option().ok_or_else(|| {
                DirectiveError::Refused(format!("{} takes no rule bundle", verb.as_str()))
            })?;
            let mut word = OsString::from(format!("{opt}="));
            word.push(b.as_os_str());
            argv.push(word);
        }
        argv.push(format!("--report-to={report_to}").into());
        argv.push("--".into());
        argv.extend(self.targets.iter().map(OsString::from));
        Ok(argv)
    }
}

/// The trusted comment a directive signature carries.
pub fn trusted_comment(id: &str, document_sha256: &str) -> String {
    format!("{ROLE} id={id} sha256={document_sha256}")
}

/// Checks a verified signature's trusted comment against the document text it covers: the
/// role must be [`ROLE`] and the digest that of `document`.
pub fn check_trusted_comment(comment: &str, document: &str) -> Result<(), DirectiveError> {
    let mut words = comment.split(' ');
    if words.next() != Some(ROLE) {
        return Err(DirectiveError::Signature(format!(
            "the signature is not a directive signature (trusted comment {:?})",
            comment.chars().take(80).collect::<String>()
        )));
    }
    let sha = words.find_map(|w| w.strip_prefix("sha256="));
    if sha != Some(sha256_hex(document.as_bytes()).as_str()) {
        return Err(DirectiveError::Signature(
            "the signature names another document (sha256 differs)".into(),
        ));
    }
    Ok(())
}

/// A directive as published and served: the exact signed text, its signature and the
/// bundle. Both the collector and the host keep `document` byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The document's exact JSON text.
    pub document: String,
    /// The minisign signature's text (`.minisig`).
    pub signature: String,
    /// The rule bundle, base64, when the document names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_b64: Option<String>,
}

impl Envelope {
    /// The bundle's bytes, checked against the digest a (verified) document names: absent
    /// on both sides, or present on both and equal. Nothing else may read the bytes first.
    pub fn checked_bundle(&self, doc: &Document) -> Result<Option<Vec<u8>>, DirectiveError> {
        match (&doc.bundle_sha256, &self.bundle_b64) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(DirectiveError::Bundle(
                "a bundle is attached but the document names none".into(),
            )),
            (Some(_), None) => Err(DirectiveError::Bundle(
                "the document names a bundle but none is attached".into(),
            )),
            (Some(want), Some(b64)) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|e| DirectiveError::Bundle(format!("not base64: {e}")))?;
                let got = sha256_hex(&bytes);
                if &got != want {
                    return Err(DirectiveError::Bundle(format!(
                        "SHA-256 {got} differs from the signed {want}"
                    )));
                }
                Ok(Some(bytes))
            }
        }
    }
}

/// The key id (16 uppercase hex digits, as minisign shows it) of a minisign public key's
/// text: the file (comment line and key line) or the key line alone.
pub fn public_key_id(text: &str) -> Option<String> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))?;
    let raw = base64::engine::general_purpose::STANDARD.decode(line).ok()?;
    // "Ed", 8-byte key number, 32-byte key.
    (raw.len() == 42 && raw.starts_with(b"Ed")).then(|| key_id(raw.get(2..10)?))?
}

/// The key id of the key that made a minisign signature (from its text, unverified).
pub fn signature_key_id(signature: &str) -> Option<String> {
    let line = signature.lines().nth(1)?.trim();
    let raw = base64::engine::general_purpose::STANDARD.decode(line).ok()?;
    (raw.len() == 74).then(|| key_id(raw.get(2..10)?))?
}

/// The trusted comment of a minisign signature's text (unverified).
pub fn signature_trusted_comment(signature: &str) -> Option<&str> {
    signature.lines().find_map(|l| l.strip_prefix("trusted comment: "))
}

fn key_id(keynum: &[u8]) -> Option<String> {
    let b: [u8; 8] = keynum.try_into().ok()?;
    Some(format!("{:016X}", u64::from_le_bytes(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(verb: &str, targets: &[&str], options: &[&str]) -> Document {
        Document {
            schema_version: 1,
            id: "6f1c".into(),
            name: "t".into(),
            verb: verb.into(),
            targets: targets.iter().map(|s| (*s).to_owned()).collect(),
            options: options.iter().map(|o| DirectiveOption::parse(o)).collect(),
            deadline: Utc::now(),
            orgs: vec![1],
            bundle_sha256: None,
            created: Utc::now(),
        }
    }

    #[test]
    fn allow_lists_refuse_outputs_paths_and_other_verbs() {
        assert!(doc("check", &["/srv"], &["campaign=pulse-secure"]).check().is_ok());
        for bad in [
            "output=/tmp/x",
            "o=/tmp/x",
            "rules=/etc",
            "report-to=http://x",
            "format=json",
            "manifest=/m",
            "vendor-key=/k",
            "cache-dir=/c",
            "spool=/s",
            "config=/c",
            "sigma=/r",
        ] {
            for verb in ["scan", "check", "hunt"] {
                let e = doc(verb, &["/srv"], &[bad]).check().unwrap_err();
                assert!(matches!(e, DirectiveError::Refused(_)), "{verb} {bad}: {e}");
            }
        }
        assert!(doc("report", &["/srv"], &[]).check().is_err());
        assert!(doc("serve", &["/srv"], &[]).check().is_err());
        assert!(doc("scan", &["srv"], &[]).check().is_err());
        assert!(doc("scan", &["/srv/../etc"], &[]).check().is_err());
        assert!(doc("scan", &[], &[]).check().is_err());
        assert!(doc("scan", &["/"], &["low-priority=1"]).check().is_err());
        assert!(doc("scan", &["/"], &["min-score"]).check().is_err());
        assert!(doc("verify", &["/"], &[]).check().is_err());
        assert!(doc("verify", &["/"], &["dpkg"]).check().is_ok());
    }

    #[test]
    fn argv_is_built_word_by_word() {
        let d = doc("check", &["/srv/a b"], &["campaign=pulse-secure --output /tmp/x"]);
        let argv = d.argv(None, "https://c").unwrap();
        assert_eq!(
            argv,
            [
                "check",
                "--campaign=pulse-secure --output /tmp/x",
                "--report-to=https://c",
                "--",
                "/srv/a b"
            ]
            .map(OsString::from)
        );
        assert!(d.argv(Some(Path::new("/b")), "x").is_err());
    }

    #[test]
    fn comment_binds_role_and_document() {
        let text = "{}";
        let c = trusted_comment("x", &sha256_hex(text.as_bytes()));
        assert!(check_trusted_comment(&c, text).is_ok());
        assert!(check_trusted_comment(&c, "{ }").is_err());
        assert!(check_trusted_comment(&c.replace(ROLE, "ferret-manifest"), text).is_err());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut v = serde_json::to_value(doc("scan", &["/"], &[])).unwrap();
        v["command"] = "scan / -o /tmp/x".into();
        assert!(Document::parse(&v.to_string()).is_err());
    }
}

//! `ferret admin`: run a collector without curl. Organisations, enrolment secrets, users,
//! hosts and directives over the admin API, and `directive sign`, which works offline.
//!
//! The admin token comes from `--token-file FILE` or the `FERRET_ADMIN_TOKEN` environment
//! variable, never from an argument (arguments are visible to every user of the machine).
//! The collector's URL comes from `--url` or this host's enrolment, and so does the CA
//! (`--ca FILE` overrides it).
//!
//! Directives are signed here, with the coordinator's directive key, never by the
//! collector: `directive sign SPEC.json --key SECKEY -o ENVELOPE` writes the envelope a
//! coordinator can publish later (`directive publish --envelope`) or paste in the
//! dashboard; `directive publish --sign SECKEY …` signs and publishes in one go.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use ferret_core::directive::{DirectiveOption, Document, Envelope, SCHEMA_VERSION, sha256_hex};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::exit::ExitStatus;
use crate::output::{self, AtomicFile};
use crate::upload;

/// Environment variable holding the admin token (when no `--token-file`).
pub const TOKEN_ENV: &str = "FERRET_ADMIN_TOKEN";
/// Environment variable holding a new user's password (when no `--password-file`).
pub const PASSWORD_ENV: &str = "FERRET_USER_PASSWORD";

/// Arguments of `ferret admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The collector (default: the one this host enrolled with).
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// A file holding the admin token (default: the FERRET_ADMIN_TOKEN environment variable).
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Trust only this CA certificate (PEM) for the collector (default: the enrolment's).
    #[arg(long, global = true, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// What to administer.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// `ferret admin` subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Enrolment secrets.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Dashboard users.
    #[command(subcommand)]
    User(UserCommand),
    /// Signed directives.
    #[command(subcommand)]
    Directive(DirectiveCommand),
    /// Enrolled hosts.
    #[command(subcommand)]
    Host(HostCommand),
}

/// `ferret admin org`.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation; prints its enrolment secret once.
    Create {
        /// Unique name.
        name: String,
        /// The organisation's directive public key (file or text), which hosts pin.
        #[arg(long, value_name = "PUBKEY_FILE_OR_TEXT")]
        directive_key: Option<String>,
    },
    /// List organisations.
    List,
    /// Register (or replace) the organisation's directive public key.
    SetKey {
        /// Organisation id.
        org: i64,
        /// The public key (file or text).
        #[arg(long, value_name = "PUBKEY_FILE_OR_TEXT")]
        directive_key: String,
    },
}

/// `ferret admin secret`.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// A new enrolment secret for an organisation (printed once).
    New {
        /// Organisation id.
        #[arg(long)]
        org: i64,
    },
}

/// `ferret admin user`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a dashboard user (or give an existing one a role).
    Add {
        /// Login name.
        name: String,
        /// Organisation id the role applies to.
        #[arg(long)]
        org: i64,
        /// `admin` or `viewer`.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// A file holding the password (default: the FERRET_USER_PASSWORD environment
        /// variable).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

/// `ferret admin host`.
#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// List enrolled hosts.
    List {
        /// Only this organisation.
        #[arg(long)]
        org: Option<i64>,
        /// Host name contains this.
        #[arg(long)]
        name: Option<String>,
    },
}

/// What a directive asks, given on the command line or in a SPEC.json file.
#[derive(Debug, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectiveSpec {
    /// A short name (default: the verb and targets).
    #[arg(long)]
    #[serde(default)]
    pub name: Option<String>,
    /// `scan`, `verify`, `hunt` or `check`.
    #[arg(long)]
    #[serde(default)]
    pub verb: Option<String>,
    /// An absolute path to examine (repeatable).
    #[arg(long = "target", value_name = "PATH")]
    #[serde(default)]
    pub targets: Vec<String>,
    /// An option of the verb from its allow-list, `name=value` or `name` (repeatable).
    #[arg(long = "option", value_name = "NAME[=VALUE]")]
    #[serde(default)]
    pub options: Vec<String>,
    /// When every host should have answered: RFC 3339, or from now as `48h` or `3d`.
    #[arg(long)]
    #[serde(default)]
    pub deadline: Option<String>,
    /// An organisation id it applies to (repeatable).
    #[arg(long = "org", value_name = "ID")]
    #[serde(default)]
    pub orgs: Vec<i64>,
}

/// `ferret admin directive`.
#[derive(Debug, Subcommand)]
pub enum DirectiveCommand {
    /// Sign a directive offline (no collector): SPEC.json → envelope file.
    Sign {
        /// The directive: {"name", "verb", "targets", "options", "deadline", "orgs"}.
        spec: PathBuf,
        /// The directive secret key (from `ferret keygen`).
        #[arg(long, value_name = "SECKEY")]
        key: PathBuf,
        /// A rule bundle to bind to the directive (scan: compiled bundle; hunt: Sigma YAML).
        #[arg(long, value_name = "FILE")]
        bundle: Option<PathBuf>,
        /// Where to write the envelope.
        #[arg(long, short = 'o', value_name = "ENVELOPE")]
        output: PathBuf,
    },
    /// Publish a directive: a signed envelope file, or sign one now with --sign.
    Publish {
        /// An envelope written by `ferret admin directive sign`.
        #[arg(long, value_name = "FILE", conflicts_with = "sign")]
        envelope: Option<PathBuf>,
        /// Sign with this directive secret key and publish.
        #[arg(long, value_name = "SECKEY", required_unless_present = "envelope")]
        sign: Option<PathBuf>,
        /// A rule bundle to bind to the directive (with --sign).
        #[arg(long, value_name = "FILE", requires = "sign")]
        bundle: Option<PathBuf>,
        /// What the directive asks (with --sign).
        #[command(flatten)]
        spec: DirectiveSpec,
    },
    /// List directives.
    List,
    /// A directive's hosts per status.
    Status {
        /// Directive id.
        id: i64,
    },
    /// Close a directive: agents are no longer served it.
    Close {
        /// Directive id.
        id: i64,
    },
    /// Export a directive's roll-up, one row per host.
    Export {
        /// Directive id.
        id: i64,
        /// `csv` or `json`.
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
        /// Where to write it.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: PathBuf,
    },
}

/// An admin API client.
struct Client {
    base: String,
    token: String,
    agent: ureq::Agent,
}

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

impl Client {
    fn new(args: &AdminArgs) -> anyhow::Result<Client> {
        let token = match &args.token_file {
            Some(f) => read_text(f, "the admin token file")?.trim().to_owned(),
            None => std::env::var(TOKEN_ENV).unwrap_or_default().trim().to_owned(),
        };
        if token.is_empty() {
            bail!("no admin token: give --token-file FILE or set {TOKEN_ENV}");
        }
        let enrolment = upload::load_config().ok();
        let base = match (&args.url, &enrolment) {
            (Some(u), _) => upload::base_url(u),
            (None, Some(cfg)) => cfg.url.clone(),
            (None, None) => bail!("no collector: give --url (this host is not enrolled)"),
        };
        let ca = match &args.ca {
            Some(f) => Some(read_text(f, "the CA file")?),
            None => enrolment.filter(|c| c.url == base).and_then(|c| c.ca_pem),
        };
        Ok(Client { base, token, agent: upload::http_agent(ca.as_deref())? })
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token);
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(body.map(Value::to_string).unwrap_or_default().into_bytes())
            .context("cannot build the request")?;
        let mut resp = self
            .agent
            .run(req)
            .with_context(|| format!("cannot reach the collector at {}", self.base))?;
        let status = resp.status().as_u16();
        let bytes = resp.body_mut().read_to_vec().context("cannot read the collector's answer")?;
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&bytes);
            let msg = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or_else(|| text.into_owned());
            bail!("the collector answered {status}: {msg}");
        }
        Ok(bytes)
    }

    fn json(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let bytes = self.call(method, path, body)?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).context("the collector's answer is not JSON")
    }
}

/// Parses a deadline: RFC 3339, or `N` followed by `h` or `d` from now.
fn parse_deadline(s: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let Some((last, _)) = s.char_indices().last() else { bail!("the deadline is empty") };
    let (n, unit) = s.split_at(last);
    let n: i64 =
        n.parse().with_context(|| format!("deadline {s:?}: RFC 3339, or like 48h or 3d"))?;
    let d = match unit {
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        _ => bail!("deadline {s:?}: RFC 3339, or like 48h or 3d"),
    };
    Ok(Utc::now() + d)
}

/// Builds, checks and signs a directive; returns the envelope.
fn sign_directive(
    spec: &DirectiveSpec,
    secret_key: &Path,
    bundle: Option<&Path>,
) -> anyhow::Result<Envelope> {
    let verb = spec.verb.clone().context("the directive names no verb")?;
    let deadline =
        parse_deadline(spec.deadline.as_deref().context("the directive has no deadline")?)?;
    let bundle = bundle
        .map(|p| {
            std::fs::read(p).with_context(|| format!("cannot read the bundle {}", p.display()))
        })
        .transpose()?;
    let doc = Document {
        schema_version: SCHEMA_VERSION,
        id: uuid::Uuid::new_v4().to_string(),
        name: spec.name.clone().unwrap_or_else(|| format!("{verb} {}", spec.targets.join(" "))),
        verb,
        targets: spec.targets.clone(),
        options: spec.options.iter().map(|o| DirectiveOption::parse(o)).collect(),
        deadline,
        orgs: spec.orgs.clone(),
        bundle_sha256: bundle.as_deref().map(sha256_hex),
        created: Utc::now(),
    };
    doc.check()?;
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    let secret = read_text(secret_key, "the directive secret key")?;
    let (signature, key_id) = ferret_integrity::directive::sign(&secret, &text)?;
    output::note(&format!("signed directive {} with key {key_id}", doc.id));
    Ok(Envelope {
        document: text,
        signature,
        bundle_b64: bundle.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
    })
}

fn write_file(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let f = AtomicFile::create(path)?;
    f.file()?.write_all(data).with_context(|| format!("cannot write {}", path.display()))?;
    f.commit()
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Runs `ferret admin`.
pub fn run(args: &AdminArgs) -> anyhow::Result<ExitStatus> {
    // Offline: signing needs no collector.
    if let AdminCommand::Directive(DirectiveCommand::Sign { spec, key, bundle, output: out }) =
        &args.command
    {
        let spec: DirectiveSpec = serde_json::from_str(&read_text(spec, "the directive spec")?)
            .with_context(|| format!("{} is not a directive spec", spec.display()))?;
        let envelope = sign_directive(&spec, key, bundle.as_deref())?;
        write_file(out, serde_json::to_string_pretty(&envelope)?.as_bytes())?;
        output::line(&format!("wrote {}", out.display()))?;
        return Ok(ExitStatus::Clean);
    }
    let c = Client::new(args)?;
    match &args.command {
        AdminCommand::Org(OrgCommand::Create { name, directive_key }) => {
            let key = directive_key.as_deref().map(super::enroll::read_public_key).transpose()?;
            let mut body = json!({ "name": name });
            if let Some((k, _)) = &key {
                body["directive_key"] = k.clone().into();
            }
            let v = c.json("POST", "/api/v1/admin/orgs", Some(&body))?;
            output::line(&format!("organisation {} ({})", text_of(&v["id"]), text_of(&v["name"])))?;
            if let Some((_, id)) = key {
                output::line(&format!("directive key {id}"))?;
            }
            output::line(&format!(
                "enrolment secret (shown once): {}",
                text_of(&v["enrolment_secret"])
            ))?;
        }
        AdminCommand::Org(OrgCommand::List) => {
            let v = c.json("GET", "/api/v1/admin/orgs", None)?;
            output::line("id\tname\tcreated")?;
            for o in v.as_array().into_iter().flatten() {
                output::line(&format!(
                    "{}\t{}\t{}",
                    text_of(&o["id"]),
                    text_of(&o["name"]),
                    text_of(&o["created"])
                ))?;
            }
        }
        AdminCommand::Org(OrgCommand::SetKey { org, directive_key }) => {
            let (key, _) = super::enroll::read_public_key(directive_key)?;
            let v = c.json(
                "PUT",
                &format!("/api/v1/admin/orgs/{org}/directive-key"),
                Some(&json!({ "directive_key": key })),
            )?;
            output::line(&format!("organisation {org}: directive key {}", text_of(&v["key_id"])))?;
        }
        AdminCommand::Secret(SecretCommand::New { org }) => {
            let v =
                c.json("POST", &format!("/api/v1/admin/orgs/{org}/secrets"), Some(&json!({})))?;
            output::line(&format!(
                "enrolment secret (shown once): {}",
                text_of(&v["enrolment_secret"])
            ))?;
        }
        AdminCommand::User(UserCommand::Add { name, org, role, password_file }) => {
            let password = match password_file {
                Some(f) => {
                    read_text(f, "the password file")?.trim_end_matches(['\r', '\n']).to_owned()
                }
                None => std::env::var(PASSWORD_ENV).unwrap_or_default(),
            };
            if password.is_empty() {
                bail!("no password: give --password-file FILE or set {PASSWORD_ENV}");
            }
            let v = c.json(
                "POST",
                "/api/v1/admin/users",
                Some(&json!({ "name": name, "password": password, "org_id": org, "role": role })),
            )?;
            output::line(&format!(
                "user {name} (id {}) is {role} of organisation {org}",
                text_of(&v["id"])
            ))?;
        }
        AdminCommand::Host(HostCommand::List { org, name }) => {
            let mut path = "/api/v1/admin/hosts".to_owned();
            let mut sep = '?';
            if let Some(o) = org {
                path.push_str(&format!("{sep}org={o}"));
                sep = '&';
            }
            if let Some(n) = name {
                let enc: String = n
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect();
                path.push_str(&format!("{sep}name={enc}"));
            }
            let v = c.json("GET", &path, None)?;
            output::line("id\torg\tname\tenrolled\tlast_seen")?;
            for h in v.as_array().into_iter().flatten() {
                output::line(&format!(
                    "{}\t{}\t{}\t{}\t{}",
                    text_of(&h["id"]),
                    text_of(&h["org_id"]),
                    text_of(&h["name"]),
                    text_of(&h["enrolled"]),
                    text_of(&h["last_seen"])
                ))?;
            }
        }
        AdminCommand::Directive(cmd) => return directive(&c, cmd),
    }
    Ok(ExitStatus::Clean)
}

fn directive(c: &Client, cmd: &DirectiveCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        DirectiveCommand::Sign { .. } => bail!("directive sign runs offline"),
        DirectiveCommand::Publish { envelope, sign, bundle, spec } => {
            let env: Envelope = match (envelope, sign) {
                (Some(f), _) => serde_json::from_str(&read_text(f, "the envelope")?)
                    .with_context(|| format!("{} is not a directive envelope", f.display()))?,
                (None, Some(key)) => sign_directive(spec, key, bundle.as_deref())?,
                (None, None) => bail!("give --envelope FILE or --sign SECKEY"),
            };
            let v =
                c.json("POST", "/api/v1/admin/directives", Some(&serde_json::to_value(&env)?))?;
            output::line(&format!(
                "published directive {} ({}): ferret {}",
                text_of(&v["id"]),
                text_of(&v["name"]),
                text_of(&v["command"])
            ))?;
        }
        DirectiveCommand::List => {
            let v = c.json("GET", "/api/v1/admin/directives", None)?;
            output::line("id\tname\tverb\tdeadline\tcreated\tclosed\torgs")?;
            for d in v.as_array().into_iter().flatten() {
                let orgs: Vec<String> =
                    d["orgs"].as_array().into_iter().flatten().map(text_of).collect();
                output::line(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    text_of(&d["id"]),
                    text_of(&d["name"]),
                    text_of(&d["verb"]),
                    text_of(&d["deadline"]),
                    text_of(&d["created"]),
                    text_of(&d["closed"]),
                    orgs.join(",")
                ))?;
            }
        }
        DirectiveCommand::Status { id } => {
            let d = c.json("GET", &format!("/api/v1/admin/directives/{id}"), None)?;
            output::line(&format!("directive {id}: {}", text_of(&d["name"])))?;
            output::line(&format!("runs: ferret {}", text_of(&d["command"])))?;
            output::line(&format!("deadline: {}", text_of(&d["deadline"])))?;
            if !d["closed"].is_null() {
                output::line(&format!("closed: {}", text_of(&d["closed"])))?;
            }
            output::line(&format!("hosts: {}", text_of(&d["hosts"])))?;
            if let Some(counts) = d["counts"].as_object() {
                for (k, n) in counts {
                    output::line(&format!("  {k}: {}", text_of(n)))?;
                }
            }
        }
        DirectiveCommand::Close { id } => {
            c.call("POST", &format!("/api/v1/admin/directives/{id}/close"), None)?;
            output::line(&format!("closed directive {id}"))?;
        }
        DirectiveCommand::Export { id, format, output: out } => {
            let bytes = c.call(
                "GET",
                &format!("/api/v1/admin/directives/{id}/export?format={format}"),
                None,
            )?;
            write_file(out, &bytes)?;
            output::line(&format!("wrote {}", out.display()))?;
        }
    }
    Ok(ExitStatus::Clean)
}

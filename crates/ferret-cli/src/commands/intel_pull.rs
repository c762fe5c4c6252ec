//! `ferret intel pull URL --collection ID -o DIR`: fetch a TAXII 2.1 collection's objects into
//! a folder of STIX 2.1 bundles that `--rules DIR` reads, resumably.
//!
//! The TAXII 2.1 conversation (OASIS TAXII 2.1, sections 4 and 5): `GET URL/taxii2/` (server
//! discovery; its `default` API root, or the only one, or the one `--api-root` names; a URL
//! with no discovery endpoint is taken as the API root itself), `GET <api-root>/` (its
//! `versions` must include TAXII 2.1), `GET <api-root>/collections/` (the collection by id or
//! title, readable), then `GET <api-root>/collections/<id>/objects/?added_after=T&limit=N`
//! page after page: a page with `more: true` is followed by the same request with its
//! `next`, or, from a server that gives no `next`, with `added_after` set to the page's
//! `X-TAXII-Date-Added-Last`. Every request sends `Accept: application/taxii+json;version=2.1`
//! and, when asked, basic authentication or a bearer token; `https` uses rustls with the
//! WebPKI roots or the `--ca` file.
//!
//! Each complete page is written as `DIR/taxii-NNNNNN.json` (a STIX 2.1 bundle, renamed into
//! place when whole), then the state file `DIR/.ferret-taxii-state` records the server, the
//! collection and the page's `X-TAXII-Date-Added-Last`; the next pull asks only for objects
//! added after it. A page that does not arrive whole (HTTP error, an answer that is not a
//! TAXII envelope, a connection closed mid-page) is not written: the pull stops with an
//! error naming it, and the pages before it and the state pointing after them are kept.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::Value;

use crate::exit::ExitStatus;
use crate::output;

/// The TAXII 2.1 media type.
const TAXII_MEDIA: &str = "application/taxii+json;version=2.1";
/// The state file's name inside the output folder.
pub const STATE_FILE: &str = ".ferret-taxii-state";
/// Largest answer read for one request.
const MAX_BODY: u64 = 512 << 20;

/// `ferret intel pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// The TAXII 2.1 server (discovery at URL/taxii2/), or an API root URL.
    #[arg(value_name = "URL")]
    pub url: String,
    /// The collection to pull, by id (or by title).
    #[arg(long, value_name = "ID")]
    pub collection: String,
    /// Only objects added after this time (RFC 3339 or YYYY-MM-DD); default: resume from
    /// the state file in DIR, else everything.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// The folder the bundles and the state file are written to (created if missing).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: PathBuf,
    /// The API root to use when the server offers several and no default.
    #[arg(long, value_name = "URL")]
    pub api_root: Option<String>,
    /// User name for HTTP basic authentication (with --password-file).
    #[arg(long, value_name = "USER", requires = "password_file")]
    pub user: Option<String>,
    /// File holding the basic-authentication password (first line).
    #[arg(long, value_name = "FILE", requires = "user")]
    pub password_file: Option<PathBuf>,
    /// File holding a bearer token (first line).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["user", "password_file"])]
    pub token_file: Option<PathBuf>,
    /// Trust only the certificates in this PEM file (a private CA) for https.
    #[arg(long, value_name = "PEM")]
    pub ca: Option<PathBuf>,
    /// Objects asked for per page (the server may send fewer).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: u32,
}

/// What the state file keeps between pulls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct State {
    api_root: String,
    collection: String,
    added_after: Option<String>,
}

impl State {
    fn render(&self) -> String {
        let mut s = String::from(
            "# ferret intel pull state: the next pull asks for objects added after this\n",
        );
        s.push_str(&format!("api_root={}\n", self.api_root));
        s.push_str(&format!("collection={}\n", self.collection));
        if let Some(t) = &self.added_after {
            s.push_str(&format!("added_after={t}\n"));
        }
        s
    }

    fn parse(text: &str) -> State {
        let mut st = State::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else { continue };
            let v = v.trim().to_owned();
            match k.trim() {
                "api_root" => st.api_root = v,
                "collection" => st.collection = v,
                "added_after" if !v.is_empty() => st.added_after = Some(v),
                _ => {}
            }
        }
        st
    }
}

/// How requests authenticate.
enum Auth {
    None,
    Basic(String),
    Bearer(String),
}

fn first_line(path: &Path, what: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    let line = text.lines().next().unwrap_or("").trim().to_owned();
    if line.is_empty() {
        bail!("{what} {} is empty", path.display());
    }
    Ok(line)
}

/// Parses `--since`: RFC 3339, or a date (midnight UTC); rendered as TAXII timestamps are.
fn parse_since(s: &str) -> anyhow::Result<String> {
    let t = if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        t.with_timezone(&Utc)
    } else if let Ok(d) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0).context("bad date")?.and_utc()
    } else {
        bail!("--since {s:?} is not an RFC 3339 time (2026-01-31T12:00:00Z) or a date (2026-01-31)")
    };
    Ok(t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// Percent-encodes a query value (everything but the unreserved characters).
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    let end = url.get(after..).and_then(|r| r.find('/')).map_or(url.len(), |i| after + i);
    url.get(..end).unwrap_or(url)
}

fn with_slash(url: &str) -> String {
    if url.ends_with('/') { url.to_owned() } else { format!("{url}/") }
}

/// An API root as the discovery answer gives it (absolute, or a path on the same server).
fn resolve(base: &str, root: &str) -> String {
    if root.contains("://") {
        with_slash(root)
    } else if root.starts_with('/') {
        with_slash(&format!("{}{root}", origin(base)))
    } else {
        with_slash(&format!("{}/{root}", origin(base)))
    }
}

/// A failure of one request, with what was asked.
fn request_error(url: &str, what: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("GET {url}: {what}")
}

struct Client {
    agent: ureq::Agent,
    auth: Auth,
}

/// One answer: status, the two TAXII date headers, the body.
struct Answer {
    status: u16,
    date_added_last: Option<String>,
    body: Vec<u8>,
}

impl Client {
    fn get(&self, url: &str) -> anyhow::Result<Answer> {
        let mut req = self.agent.get(url).header("accept", TAXII_MEDIA);
        let header;
        match &self.auth {
            Auth::None => {}
            Auth::Basic(b) => {
                header = format!("Basic {b}");
                req = req.header("authorization", &header);
            }
            Auth::Bearer(t) => {
                header = format!("Bearer {t}");
                req = req.header("authorization", &header);
            }
        }
        let mut resp = req.call().map_err(|e| request_error(url, format!("no answer: {e}")))?;
        let status = resp.status().as_u16();
        let date_added_last = resp
            .headers()
            .get("x-taxii-date-added-last")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| request_error(url, format!("the answer was cut short: {e}")))?;
        Ok(Answer { status, date_added_last, body })
    }

    /// GET `url` and parse a JSON object; an HTTP error is described from the TAXII error
    /// envelope (`title`, `description`) when there is one.
    fn json(&self, url: &str) -> anyhow::Result<(Value, Option<String>)> {
        parse_answer(url, self.get(url)?)
    }
}

fn parse_answer(url: &str, a: Answer) -> anyhow::Result<(Value, Option<String>)> {
    {
        let parsed = serde_json::from_slice::<Value>(&a.body);
        if !(200..300).contains(&a.status) {
            let detail = match &parsed {
                Ok(v) => {
                    let title = v.get("title").and_then(Value::as_str).unwrap_or("");
                    let desc = v.get("description").and_then(Value::as_str).unwrap_or("");
                    format!("{title}{}{desc}", if desc.is_empty() { "" } else { ": " })
                }
                Err(_) => {
                    String::from_utf8_lossy(a.body.get(..200).unwrap_or(&a.body)).into_owned()
                }
            };
            bail!(request_error(
                url,
                format!("the server answered {}: {}", a.status, detail.trim())
            ));
        }
        match parsed {
            Ok(v @ Value::Object(_)) => Ok((v, a.date_added_last)),
            Ok(_) => bail!(request_error(url, "the answer is JSON but not a TAXII object")),
            Err(e) => bail!(request_error(url, format!("the answer is not TAXII JSON: {e}"))),
        }
    }
}

/// Finds the API root: from discovery, or the URL itself when it is one.
fn api_root(client: &Client, args: &PullArgs) -> anyhow::Result<String> {
    if let Some(r) = &args.api_root {
        return Ok(resolve(&args.url, r));
    }
    let base = with_slash(&args.url);
    let discovery =
        if base.ends_with("/taxii2/") { base.clone() } else { format!("{base}taxii2/") };
    let answer = client.get(&discovery)?;
    if answer.status == 404 {
        // No discovery here: the URL names an API root.
        return Ok(base);
    }
    let (v, _) = parse_answer(&discovery, answer)?;
    if let Some(d) = v.get("default").and_then(Value::as_str) {
        return Ok(resolve(&base, d));
    }
    let roots: Vec<&str> = v
        .get("api_roots")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match roots.as_slice() {
        [one] => Ok(resolve(&base, one)),
        [] => bail!("the server's discovery ({discovery}) lists no API root"),
        many => bail!(
            "the server offers several API roots and no default; choose one with --api-root: {}",
            many.join(", ")
        ),
    }
}

/// The collection's id, checked readable.
fn collection(client: &Client, root: &str, wanted: &str) -> anyhow::Result<String> {
    let url = format!("{root}collections/");
    let (v, _) = client.json(&url)?;
    let all = v.get("collections").and_then(Value::as_array).cloned().unwrap_or_default();
    let found = all
        .iter()
        .find(|c| c.get("id").and_then(Value::as_str) == Some(wanted))
        .or_else(|| all.iter().find(|c| c.get("title").and_then(Value::as_str) == Some(wanted)));
    let Some(c) = found else {
        let ids: Vec<String> = all
            .iter()
            .map(|c| {
                format!(
                    "{} ({})",
                    c.get("id").and_then(Value::as_str).unwrap_or("?"),
                    c.get("title").and_then(Value::as_str).unwrap_or("")
                )
            })
            .collect();
        bail!(
            "no collection {wanted:?} at {root}; the server lists: {}",
            if ids.is_empty() { "none".to_owned() } else { ids.join(", ") }
        );
    };
    if c.get("can_read").and_then(Value::as_bool) == Some(false) {
        bail!("collection {wanted:?} at {root} is not readable with these credentials");
    }
    Ok(c.get("id").and_then(Value::as_str).unwrap_or(wanted).to_owned())
}

/// The next free `taxii-NNNNNN.json` number in `dir`.
fn next_page_number(dir: &Path) -> u64 {
    let mut max = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(n) = name
                .strip_prefix("taxii-")
                .and_then(|r| r.strip_suffix(".json"))
                .and_then(|n| n.parse::<u64>().ok())
            {
                max = max.max(n);
            }
        }
    }
    max + 1
}

fn write_atomic(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let f = output::AtomicFile::create(path)?;
    f.file()?.write_all(data).with_context(|| format!("cannot write {}", path.display()))?;
    f.commit()
}

/// What a pull did.
#[derive(Default)]
struct Progress {
    pages: u64,
    objects: u64,
    /// Whether any page carried `X-TAXII-Date-Added-Last` (else the pull cannot resume).
    dated: bool,
}

/// Runs `ferret intel pull`.
pub fn run(args: &PullArgs) -> anyhow::Result<ExitStatus> {
    if !(args.url.starts_with("https://") || args.url.starts_with("http://")) {
        bail!("the TAXII server URL must start with https:// or http:// (got {:?})", args.url);
    }
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let auth = match (&args.user, &args.password_file, &args.token_file) {
        (Some(u), Some(p), _) => {
            use base64::Engine as _;
            let pw = first_line(p, "the password file")?;
            Auth::Basic(base64::engine::general_purpose::STANDARD.encode(format!("{u}:{pw}")))
        }
        (_, _, Some(t)) => Auth::Bearer(first_line(t, "the token file")?),
        _ => Auth::None,
    };
    if !matches!(auth, Auth::None) && args.url.starts_with("http://") && !is_loopback(&args.url) {
        output::note(&format!(
            "warning: credentials are sent in clear text to {} (use https)",
            origin(&args.url)
        ));
    }
    let ca = match &args.ca {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the CA file {}", f.display()))?,
        ),
        None => None,
    };
    let agent = crate::upload::http_agent(ca.as_deref())?;
    let client = Client { agent, auth };
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create the output folder {}", args.output.display()))?;
    let state_path = args.output.join(STATE_FILE);
    let old = match std::fs::read_to_string(&state_path) {
        Ok(t) => Some(State::parse(&t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => bail!("cannot read the pull state {}: {e}", state_path.display()),
    };

    let root = api_root(&client, args)?;
    let (info, _) = client.json(&root)?;
    let versions: Vec<&str> = info
        .get("versions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !versions.iter().any(|v| v.replace(' ', "").eq_ignore_ascii_case(TAXII_MEDIA)) {
        bail!(
            "the API root {root} does not speak TAXII 2.1 (it lists {})",
            if versions.is_empty() { "no versions".to_owned() } else { versions.join(", ") }
        );
    }
    let coll = collection(&client, &root, &args.collection)?;
    let mut state = State { api_root: root.clone(), collection: coll.clone(), added_after: None };
    if let Some(old) = &old {
        if old.api_root != root || old.collection != coll {
            bail!(
                "{} holds objects pulled from collection {} at {}; pull {coll} at {root} into \
                 another folder",
                args.output.display(),
                old.collection,
                old.api_root
            );
        }
        state.added_after.clone_from(&old.added_after);
    }
    if since.is_some() {
        state.added_after.clone_from(&since);
    }
    let start_after = state.added_after.clone();

    let mut progress = Progress::default();
    let mut page_no = next_page_number(&args.output);
    let objects_url = format!("{root}collections/{}/objects/", encode(&coll));
    let mut filter_after = state.added_after.clone();
    let mut next: Option<String> = None;
    let result: anyhow::Result<()> = (|| {
        loop {
            let mut url = format!("{objects_url}?limit={}", args.page_size);
            if let Some(t) = &filter_after {
                url.push_str(&format!("&added_after={}", encode(t)));
            }
            if let Some(n) = &next {
                url.push_str(&format!("&next={}", encode(n)));
            }
            let (env, last) = client.json(&url)?;
            let objects = match env.get("objects") {
                Some(Value::Array(a)) => a.clone(),
                None => Vec::new(),
                Some(_) => bail!(request_error(&url, "'objects' is not an array")),
            };
            let more = env.get("more").and_then(Value::as_bool).unwrap_or(false);
            let page_next = env.get("next").and_then(Value::as_str).map(str::to_owned);
            if !objects.is_empty() {
                let bundle = serde_json::json!({
                    "type": "bundle",
                    "id": format!("bundle--{}", uuid::Uuid::new_v4()),
                    "objects": objects,
                });
                let path = args.output.join(format!("taxii-{page_no:06}.json"));
                write_atomic(&path, serde_json::to_string_pretty(&bundle)?.as_bytes())?;
                page_no += 1;
                progress.pages += 1;
                progress.objects += objects.len() as u64;
            }
            if let Some(l) = &last {
                state.added_after = Some(l.clone());
                progress.dated = true;
            }
            write_atomic(&state_path, state.render().as_bytes())?;
            if !more {
                return Ok(());
            }
            match (page_next, last) {
                (Some(n), _) => next = Some(n),
                (None, Some(l)) => {
                    next = None;
                    filter_after = Some(l);
                }
                (None, None) => bail!(request_error(
                    &url,
                    "the server says there is more but gives neither 'next' nor \
                     X-TAXII-Date-Added-Last"
                )),
            }
            if objects.is_empty() {
                bail!(request_error(&url, "the server says there is more but sent an empty page"));
            }
        }
    })();

    if progress.pages > 0 && !progress.dated {
        output::note(
            "warning: the server sent no X-TAXII-Date-Added-Last header, so ferret cannot tell \
             where this pull ended: the next pull asks again from the same point",
        );
    }
    let resume = state.added_after.as_deref().unwrap_or("the beginning");
    let summary = format!(
        "pulled {} objects in {} pages from collection {coll} at {root} into {} (asked for \
         objects added after {}); the next pull resumes after {resume}",
        progress.objects,
        progress.pages,
        args.output.display(),
        start_after.as_deref().unwrap_or("the beginning"),
    );
    match result {
        Ok(()) => {
            output::line(&summary)?;
            Ok(ExitStatus::Clean)
        }
        Err(e) if progress.pages > 0 => {
            output::note(&format!("error: {e:#}"));
            output::line(&format!("INCOMPLETE: {summary}"))?;
            Ok(ExitStatus::Incomplete)
        }
        Err(e) => Err(e.context(format!(
            "nothing pulled; {} is unchanged and the next pull starts after {resume}",
            args.output.display()
        ))),
    }
}

fn is_loopback(url: &str) -> bool {
    let host = origin(url).split("://").nth(1).unwrap_or("");
    let host = host
        .rsplit_once(':')
        .map_or(host, |(h, p)| if p.bytes().all(|b| b.is_ascii_digit()) { h } else { host });
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let s = State {
            api_root: "https://t.example/api1/".into(),
            collection: "c1".into(),
            added_after: Some("2026-01-02T03:04:05.000000Z".into()),
        };
        assert_eq!(State::parse(&s.render()), s);
    }

    #[test]
    fn since_and_urls() {
        assert_eq!(parse_since("2026-01-31").unwrap(), "2026-01-31T00:00:00.000000Z");
        assert_eq!(
            parse_since("2026-01-31T12:00:00+01:00").unwrap(),
            "2026-01-31T11:00:00.000000Z"
        );
        assert!(parse_since("yesterday").is_err());
        assert_eq!(encode("2026-01-31T11:00:00Z"), "2026-01-31T11%3A00%3A00Z");
        assert_eq!(
            resolve("https://t.example:8443/taxii2/", "/api1/"),
            "https://t.example:8443/api1/"
        );
        assert_eq!(resolve("https://t.example/", "https://o.example/r"), "https://o.example/r/");
        assert!(is_loopback("http://127.0.0.1:9000/x"));
        assert!(is_loopback("http://[::1]:9000/"));
        assert!(!is_loopback("http://taxii.example/"));
    }
}

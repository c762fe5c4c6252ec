//! `ferret agent [--once] [URL]`: fetch the directives pending for this host, run each by
//! re-invoking this ferret with the directive's arguments and `--report-to`, and tell the
//! collector how it went.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use clap::Args;
use serde::Deserialize;

use crate::exit::ExitStatus;
use crate::{output, upload};

/// Verbs a directive may run.
const ALLOWED_VERBS: &[&str] = &["scan", "verify", "hunt", "check", "report"];

/// Arguments of `ferret agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The collector (default: the one this host enrolled with).
    pub url: Option<String>,
    /// Run the pending directives once and exit (otherwise poll every --interval).
    #[arg(long)]
    pub once: bool,
    /// Seconds between polls when not --once.
    #[arg(long, default_value_t = 300)]
    pub interval: u64,
}

#[derive(Debug, Deserialize)]
struct Pending {
    id: i64,
    name: String,
    command: String,
    #[serde(default)]
    bundle_b64: Option<String>,
}

/// Splits a command line into words: whitespace separates, single and double quotes group,
/// a backslash escapes the next character outside single quotes.
pub fn split_words(s: &str) -> anyhow::Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => bail!("unclosed ' in {s:?}"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => cur.push(chars.next().unwrap_or('\\')),
                        Some(x) => cur.push(x),
                        None => bail!("unclosed \" in {s:?}"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next().unwrap_or('\\'));
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

fn fetch_pending(base: &str, token: &str) -> anyhow::Result<Vec<Pending>> {
    let mut resp = upload::agent()
        .get(&format!("{base}/api/v1/directives/pending"))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .with_context(|| format!("cannot reach the collector at {base}"))?;
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    if status != 200 {
        bail!("collector answered {status}: {text}");
    }
    serde_json::from_str(&text).context("collector answer is not a directive list")
}

fn post_outcome(base: &str, token: &str, id: i64, body: &serde_json::Value) -> anyhow::Result<()> {
    let resp = upload::agent()
        .post(&format!("{base}/api/v1/directives/{id}/outcome"))
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "application/json")
        .send(body.to_string().as_bytes())
        .with_context(|| format!("cannot reach the collector at {base}"))?;
    let status = resp.status().as_u16();
    if status != 204 {
        bail!("collector answered {status} to the outcome of directive {id}");
    }
    Ok(())
}

/// Writes a directive's rule bundle next to the spool, returning its path.
fn save_bundle(id: i64, b64: &str) -> anyhow::Result<PathBuf> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .context("directive bundle is not base64")?;
    let dir = upload::spool_dir()?.join("..").join("bundles");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("directive-{id}.bundle"));
    upload::write_owned_file(&path, &bytes)?;
    Ok(path)
}

/// Runs one directive; returns the outcome to report.
fn run_directive(d: &Pending, base: &str) -> serde_json::Value {
    let fail = |m: String| serde_json::json!({ "errored": true, "message": m });
    let mut words = match split_words(&d.command) {
        Ok(w) => w,
        Err(e) => return fail(format!("{e:#}")),
    };
    let Some(verb) = words.first() else { return fail("empty command".into()) };
    if !ALLOWED_VERBS.contains(&verb.as_str()) {
        return fail(format!("verb {verb:?} may not be run by a directive"));
    }
    if let Some(b) = &d.bundle_b64 {
        match save_bundle(d.id, b) {
            Ok(path) => {
                let p = path.display().to_string();
                for w in &mut words {
                    if w.contains("{bundle}") {
                        *w = w.replace("{bundle}", &p);
                    }
                }
            }
            Err(e) => return fail(format!("{e:#}")),
        }
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(format!("cannot find this executable: {e}")),
    };
    let out = Command::new(exe)
        .args(&words)
        .arg("--report-to")
        .arg(base)
        .env(upload::DIRECTIVE_ENV, d.id.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    match out {
        Err(e) => fail(format!("cannot run ferret: {e}")),
        Ok(o) => {
            let code = o.status.code();
            let stderr = String::from_utf8_lossy(&o.stderr);
            let tail: String =
                stderr.chars().rev().take(1000).collect::<Vec<_>>().into_iter().rev().collect();
            let errored = !matches!(code, Some(0 | 1 | 3));
            serde_json::json!({
                "errored": errored,
                "exit_code": code,
                "message": if errored { Some(tail.trim().to_owned()) } else { None },
            })
        }
    }
}

fn once(base: &str, token: &str) -> anyhow::Result<(usize, usize)> {
    let pending = fetch_pending(base, token)?;
    let mut errored = 0;
    for d in &pending {
        output::note(&format!(
            "ferret agent: running directive {} ({}): ferret {}",
            d.id, d.name, d.command
        ));
        let outcome = run_directive(d, base);
        if outcome["errored"].as_bool() == Some(true) {
            errored += 1;
        }
        post_outcome(base, token, d.id, &outcome)?;
    }
    Ok((pending.len(), errored))
}

/// Runs `ferret agent`.
pub fn run(args: &AgentArgs) -> anyhow::Result<ExitStatus> {
    let cfg = upload::load_config()?;
    let base = upload::base_url(args.url.as_deref().unwrap_or(&cfg.url));
    loop {
        // Whatever waits in the spool goes first.
        let spool = upload::send_spool(&base, &cfg.token)?;
        if spool.sent > 0 {
            output::note(&format!("ferret agent: sent {} spooled report(s)", spool.sent));
        }
        let (ran, errored) = once(&base, &cfg.token)?;
        if args.once {
            output::line(&format!("ran {ran} directive(s), {errored} errored"))?;
            return Ok(if errored > 0 { ExitStatus::Incomplete } else { ExitStatus::Clean });
        }
        std::thread::sleep(Duration::from_secs(args.interval.max(10)));
    }
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    fn split_words_handles_quotes() {
        assert_eq!(
            split_words(r#"check --campaign 'pulse secure' "a b" c\ d"#).unwrap(),
            vec!["check", "--campaign", "pulse secure", "a b", "c d"]
        );
        assert!(split_words("check 'open").is_err());
        assert!(split_words("   ").unwrap().is_empty());
    }
}

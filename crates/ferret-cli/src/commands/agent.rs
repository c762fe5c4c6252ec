//! `ferret agent [--once] [URL]`: fetch the directives pending for this host, check each
//! one's signature against the directive key this host pinned at enrolment, run the
//! verified ones by re-invoking this ferret with an argument vector built from the signed
//! document, and tell the collector how it went.
//!
//! Invariants: a directive is refused (and its outcome posted as errored with the reason)
//! when this host has no pinned key, when it is unsigned (the old `command` string form),
//! when its signature, role or digest does not hold, when its bundle is not the signed one,
//! when the signed document names other organisations than the host's or its deadline has
//! passed (so a collector can neither move a directive to another organisation whose hosts
//! pinned the same key nor replay an old one after its time), or when the document asks for
//! a verb, target or option the allow-lists refuse
//! (`ferret_core::directive`); for a refused directive nothing is written and nothing is
//! read. The signature is checked before the document is parsed and the bundle's SHA-256
//! before anything deserializes it. The run reads no configuration file
//! (`FERRET_NO_CONFIG=1`) and writes nothing but its report to the spool (and, while it runs,
//! the verified bundle in ferret's state directory, removed afterwards).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use ferret_core::directive::{Envelope, NO_CONFIG_ENV, Verb};
use serde::Deserialize;

use crate::exit::ExitStatus;
use crate::{output, upload};

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

/// A directive as the collector serves it.
#[derive(Debug, Deserialize)]
struct Pending {
    id: i64,
    #[serde(default)]
    document: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    bundle_b64: Option<String>,
}

fn fetch_pending(base: &str, token: &str) -> anyhow::Result<Vec<Pending>> {
    let mut resp = upload::agent()?
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
    let resp = upload::agent()?
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

/// The directory for verified bundles while their run lasts: beside the spool, in ferret's
/// own state directory.
fn bundle_dir() -> anyhow::Result<PathBuf> {
    let spool = upload::spool_dir()?;
    Ok(spool.parent().map_or_else(|| spool.join("bundles"), |p| p.join("bundles")))
}

/// `/dev/null` for the directive run's standard input and output, or, where there is no
/// `/dev` (the static binary in a bare root), a pipe: closed at once for input, read and
/// dropped for output.
fn null_or_pipe() -> Stdio {
    if std::path::Path::new("/dev/null").exists() { Stdio::null() } else { Stdio::piped() }
}

fn refused(id: i64, reason: &str) -> serde_json::Value {
    output::note(&format!("ferret agent: refused directive {id}: {reason}"));
    serde_json::json!({ "errored": true, "message": reason })
}

/// Checks one directive and runs it when it holds; returns the outcome to report.
fn run_directive(d: &Pending, base: &str, host: &upload::AgentConfig) -> serde_json::Value {
    let Some(pinned) = host.directive_key.as_deref() else {
        return refused(
            d.id,
            "no directive key is pinned on this host: it runs no directive until \
             `ferret enroll --directive-key KEY` pins the organisation's key",
        );
    };
    let (Some(document), Some(signature)) = (&d.document, &d.signature) else {
        return refused(
            d.id,
            "unsigned directive refused: this agent runs only directives signed with the \
             organisation's directive key (the command string form is no longer run)",
        );
    };
    let envelope = Envelope {
        document: document.clone(),
        signature: signature.clone(),
        bundle_b64: d.bundle_b64.clone(),
    };
    let opened = match ferret_integrity::directive::open(pinned, &envelope) {
        Ok(o) => o,
        Err(e) => return refused(d.id, &e.to_string()),
    };
    let doc = &opened.document;
    let verb = match doc.verb() {
        Ok(v) => v,
        Err(e) => return refused(d.id, &e.to_string()),
    };
    if let Some(org) = host.org_id
        && !doc.orgs.contains(&org)
    {
        return refused(
            d.id,
            &format!(
                "the signed directive is for organisations {:?}, not this host's ({org})",
                doc.orgs
            ),
        );
    }
    if chrono::Utc::now() > doc.deadline {
        return refused(
            d.id,
            &format!("the signed deadline {} has passed", doc.deadline.to_rfc3339()),
        );
    }
    let fail = |m: String| serde_json::json!({ "errored": true, "message": m });
    let exe = match super::common::self_exe() {
        Ok(e) => e,
        Err(e) => return fail(format!("cannot find this executable: {e}")),
    };
    let bundle_path = match &opened.bundle {
        None => None,
        Some(bytes) => {
            let ext = if verb == Verb::Hunt { "yml" } else { "bundle" };
            let path = match bundle_dir() {
                Ok(dir) => dir.join(format!("directive-{}.{ext}", d.id)),
                Err(e) => return fail(format!("{e:#}")),
            };
            if let Err(e) = upload::write_owned_file(&path, bytes) {
                return fail(format!("{e:#}"));
            }
            Some(path)
        }
    };
    let argv = match doc.argv(bundle_path.as_deref(), base) {
        Ok(a) => a,
        Err(e) => return refused(d.id, &e.to_string()),
    };
    output::note(&format!(
        "ferret agent: running directive {} ({}), signed by key {}: ferret {}",
        d.id,
        doc.name,
        opened.key_id,
        doc.summary()
    ));
    let out = Command::new(exe)
        .args(&argv)
        .env(upload::DIRECTIVE_ENV, d.id.to_string())
        .env(NO_CONFIG_ENV, "1")
        .stdin(null_or_pipe())
        .stdout(null_or_pipe())
        .stderr(Stdio::piped())
        .output();
    if let Some(p) = &bundle_path {
        let _ = upload::remove_owned_file(p);
    }
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

fn once(base: &str, host: &upload::AgentConfig) -> anyhow::Result<(usize, usize)> {
    let token = host.token.as_str();
    let pending = fetch_pending(base, token)?;
    let mut errored = 0;
    for d in &pending {
        let outcome = run_directive(d, base, host);
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
    let base = upload::enrolled_base(&cfg, args.url.as_deref())?;
    loop {
        // Whatever waits in the spool goes first.
        let spool = upload::send_spool(&base, &cfg.token)?;
        if spool.sent > 0 {
            output::note(&format!("ferret agent: sent {} spooled report(s)", spool.sent));
        }
        let (ran, errored) = once(&base, &cfg)?;
        if args.once {
            output::line(&format!("ran {ran} directive(s), {errored} errored"))?;
            return Ok(if errored > 0 { ExitStatus::Incomplete } else { ExitStatus::Clean });
        }
        std::thread::sleep(Duration::from_secs(args.interval.max(10)));
    }
}

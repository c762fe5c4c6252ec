//! `ferret enroll URL --secret S [--directive-key KEY] [--ca FILE]`: enrol this host with a
//! collector and pin what it trusts: the organisation's directive public key (given, or the
//! one the collector advertises, trusted on first use) and, with `--ca`, the only CA trusted
//! for the collector. `ferret enroll --directive-key KEY` (no URL) pins a key on a host
//! already enrolled.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;

use crate::exit::ExitStatus;
use crate::{output, upload};

/// Arguments of `ferret enroll`.
#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The collector's URL, for example `https://collector.example:8443` (omit it to change
    /// what an enrolled host pins).
    pub url: Option<String>,
    /// The organisation's enrolment secret.
    #[arg(long, requires = "url")]
    pub secret: Option<String>,
    /// The name this host reports under (default: the host name).
    #[arg(long)]
    pub name: Option<String>,
    /// The organisation's directive public key (a file from `ferret keygen`, or its text),
    /// from the coordinator. Without it, the key the collector advertises is pinned (trust
    /// on first use) and its fingerprint printed for you to compare.
    #[arg(long, value_name = "PUBKEY_FILE_OR_TEXT")]
    pub directive_key: Option<String>,
    /// Trust only this CA certificate (PEM) for the collector; kept in the enrolment, so
    /// `report` and `agent` use it too.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

fn warn(msg: &str) {
    output::note(&format!("warning: {msg}"));
}

/// A directive public key from a file or its text; returns the key's text and its id.
pub(crate) fn read_public_key(arg: &str) -> anyhow::Result<(String, String)> {
    let path = std::path::Path::new(arg);
    let text = if path.is_file() {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {arg}"))?
    } else if arg.contains("untrusted comment:") {
        arg.to_owned()
    } else {
        format!("untrusted comment: ferret directive public key\n{}\n", arg.trim())
    };
    let id = ferret_integrity::sign::public_key_id(&text)
        .context("--directive-key is not a minisign public key (file or text)")?;
    Ok((text.trim().to_owned() + "\n", id))
}

fn read_ca(path: &std::path::Path) -> anyhow::Result<String> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the CA file {}", path.display()))?;
    upload::http_agent(Some(&pem)).with_context(|| format!("{} is not usable", path.display()))?;
    Ok(pem)
}

/// Runs `ferret enroll`.
pub fn run(args: &EnrollArgs) -> anyhow::Result<ExitStatus> {
    let given = args.directive_key.as_deref().map(read_public_key).transpose()?;
    let ca = args.ca.as_deref().map(read_ca).transpose()?;
    let Some(secret) = &args.secret else {
        if args.url.is_some() {
            bail!("give --secret to enrol (or no URL to change the pins of an enrolled host)");
        }
        if given.is_none() && ca.is_none() {
            bail!("nothing to do: give URL --secret S to enrol, or --directive-key / --ca");
        }
        let mut cfg = upload::load_config()?;
        if let Some((key, id)) = given {
            cfg.directive_key = Some(key);
            output::line(&format!("pinned directive key {id}"))?;
        }
        if let Some(pem) = ca {
            cfg.ca_pem = Some(pem);
            output::line("pinned the CA for the collector")?;
        }
        let path = upload::save_config(&cfg)?;
        output::line(&format!("saved in {}", path.display()))?;
        return Ok(ExitStatus::Clean);
    };
    let url = args.url.as_deref().context("no URL")?;
    let name = args.name.clone().unwrap_or_else(super::common::host_name);
    let enrolment = upload::enroll(url, secret, &name, ca)?;
    let mut cfg = enrolment.config;
    let advertised = enrolment
        .advertised_key
        .as_deref()
        .map(|k| (k.to_owned(), ferret_integrity::sign::public_key_id(k).ok()));
    match (given, advertised) {
        (Some((key, id)), advertised) => {
            cfg.directive_key = Some(key);
            output::line(&format!("pinned directive key {id} (given with --directive-key)"))?;
            match advertised {
                Some((_, Some(adv))) if adv == id => {}
                Some((_, adv)) => warn(&format!(
                    "the collector advertises directive key {} for this organisation, not {id}: \
                     {id} stays pinned; ask the coordinator which key signs directives",
                    adv.as_deref().unwrap_or("(unreadable)")
                )),
                None => {
                    output::note("the collector advertises no directive key for this organisation");
                }
            }
        }
        (None, Some((key, Some(id)))) => {
            cfg.directive_key = Some(key);
            output::line(&format!(
                "pinned directive key {id} as the collector advertised it (trust on first use): \
                 compare it with the fingerprint the coordinator gave you"
            ))?;
        }
        (None, Some((_, None))) => warn(
            "the collector advertises a directive key that does not parse; none pinned: this host \
             runs no directive until `ferret enroll --directive-key KEY` pins one",
        ),
        (None, None) => warn(
            "no directive key pinned (the collector advertises none): this host runs no \
             directive until `ferret enroll --directive-key KEY` pins one",
        ),
    }
    let path = upload::save_config(&cfg)?;
    output::line(&format!(
        "enrolled as host {} at {}; token saved in {}",
        cfg.host_id,
        cfg.url,
        path.display()
    ))?;
    Ok(ExitStatus::Clean)
}

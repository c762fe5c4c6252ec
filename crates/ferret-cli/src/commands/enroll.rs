//! `ferret enroll URL --secret S`: enrol this host with a collector.

use clap::Args;

use crate::exit::ExitStatus;
use crate::{output, upload};

/// Arguments of `ferret enroll`.
#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The collector's URL, for example `https://collector.example:8443`
    pub url: String,
    /// The organisation's enrolment secret.
    #[arg(long)]
    pub secret: String,
    /// The name this host reports under (default: the host name).
    #[arg(long)]
    pub name: Option<String>,
}

/// Runs `ferret enroll`.
pub fn run(args: EnrollArgs) -> anyhow::Result<ExitStatus> {
    let name = args.name.unwrap_or_else(super::common::host_name);
    let (cfg, path) = upload::enroll(&args.url, &args.secret, &name)?;
    output::line(&format!(
        "enrolled as host {} at {}; token saved in {}",
        cfg.host_id,
        cfg.url,
        path.display()
    ))?;
    Ok(ExitStatus::Clean)
}

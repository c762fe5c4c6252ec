//! `ferret keygen`: an Ed25519 key pair in minisign format for signing manifests.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use crate::exit::ExitStatus;

/// Arguments of `ferret keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Secret key file to create (mode 0600); the public key goes to FILE.pub.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

/// Creates a new file with the given mode; refuses to overwrite or follow a symlink.
#[expect(clippy::disallowed_methods, reason = "ferret's own key files, chosen by the operator")]
fn create_new(path: &Path, mode: u32, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// The public key file next to a secret key file.
pub fn public_path(secret: &Path) -> PathBuf {
    let mut s = secret.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

/// Runs `ferret keygen`.
pub fn run(args: &KeygenArgs) -> anyhow::Result<ExitStatus> {
    let kp = ferret_integrity::sign::keygen()?;
    let public = public_path(&args.output);
    create_new(&args.output, 0o600, &kp.secret)?;
    create_new(&public, 0o644, &kp.public)?;
    crate::output::note(&format!(
        "key id {}\nsecret key: {} (keep it off the hosts you examine)\npublic key: {}",
        kp.key_id,
        args.output.display(),
        public.display()
    ));
    Ok(ExitStatus::Clean)
}

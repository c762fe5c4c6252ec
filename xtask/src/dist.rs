//! `cargo xtask dist`: the release files in `target/release-files/`, and `cargo xtask package-check`,
//! the check CI runs on the package.
//!
//! `dist` builds with `[profile.dist]`, statically linked (glibc with `crt-static`, for the
//! host's architecture):
//! - the host binary, without the collector (`--no-default-features --features scan`):
//!   `ferret-VERSION-ARCH-linux-host`, the one carried onto the hosts ferret examines;
//! - the full binary (default features, with `ferret serve`): `ferret-VERSION-ARCH-linux`;
//! - the Debian package of the full binary (`cargo deb --no-build`, metadata in
//!   `crates/ferret-cli/Cargo.toml`);
//! - `SHA256SUMS` over those three, and with `--sign KEY` (a secret key from `ferret keygen`)
//!   `SHA256SUMS.minisig`, verifiable with `minisign -Vm SHA256SUMS -p KEY.pub`.
//!
//! Both binaries are checked to be static (no ELF interpreter) before anything is written.
//!
//! `package-check [--binary PATH]` builds the package around an already built static binary
//! (default: the `ferret` of CI's test build), installs it with `dpkg --root` into a scratch
//! root (never the machine's own), checks that every file landed, and runs
//! `systemd-analyze verify` on the units inside that root.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail, ensure};
use sha2::{Digest as _, Sha256};

/// The rustflags of a static build; `getrandom` 0.3/0.4 then call `getrandom(2)` through
/// libc instead of probing for it with `dlsym`, which a static binary cannot do (it would fall
/// back to `/dev/urandom`, absent from a bare root).
pub const STATIC_RUSTFLAGS: &str =
    "-C target-feature=+crt-static --cfg getrandom_backend=\"linux_getrandom\"";

/// The features of the host binary.
pub const HOST_FEATURES: &str = "scan";

/// The target triple of this machine's Linux/glibc build.
pub fn triple() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

fn rustflags_var(triple: &str) -> String {
    format!("CARGO_TARGET_{}_RUSTFLAGS", triple.to_ascii_uppercase().replace('-', "_"))
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// A cargo command for a static build of `triple` (the rustflags are set unless the caller
/// set them).
fn static_cargo(root: &Path, triple: &str) -> Command {
    let mut c = cargo();
    c.current_dir(root).env("CARGO_BUILD_TARGET", triple);
    let var = rustflags_var(triple);
    if std::env::var_os(&var).is_none() {
        c.env(var, STATIC_RUSTFLAGS);
    }
    c
}

fn target_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let out = cargo()
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
        .output()
        .context("cannot run cargo metadata")?;
    ensure!(out.status.success(), "cargo metadata failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok(PathBuf::from(v["target_directory"].as_str().context("no target_directory")?))
}

fn run(mut c: Command) -> anyhow::Result<()> {
    let shown = format!("{c:?}");
    let status = c.status().with_context(|| format!("cannot run {shown}"))?;
    ensure!(status.success(), "{shown} failed ({status})");
    Ok(())
}

/// Whether an ELF file names no program interpreter (`PT_INTERP`): a static executable
/// (static-pie included). Errors when the file is not a 64-bit little-endian ELF.
pub fn is_static_elf(bytes: &[u8]) -> anyhow::Result<bool> {
    ensure!(bytes.len() >= 64 && bytes.starts_with(b"\x7fELF"), "not an ELF file");
    ensure!(bytes[4] == 2 && bytes[5] == 1, "not a 64-bit little-endian ELF file");
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
    let phoff = usize::try_from(u64::from_le_bytes(bytes[0x20..0x28].try_into()?))?;
    let phentsize = usize::from(u16_at(0x36));
    let phnum = usize::from(u16_at(0x38));
    ensure!(phentsize >= 4, "bad program header size");
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let ty = bytes.get(at..at + 4).context("program header out of the file")?;
        if u32::from_le_bytes(ty.try_into()?) == 3 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Builds one binary with `[profile.dist]` and copies it to `dest`.
fn build_binary(
    root: &Path,
    triple: &str,
    built: &Path,
    features: Option<&str>,
    dest: &Path,
) -> anyhow::Result<u64> {
    let mut c = static_cargo(root, triple);
    c.args(["build", "--locked", "--profile", "dist", "-p", "ferret-cli", "--bin", "ferret"]);
    if let Some(f) = features {
        c.args(["--no-default-features", "--features", f]);
    }
    run(c)?;
    let bytes = std::fs::read(built).with_context(|| format!("cannot read {}", built.display()))?;
    ensure!(is_static_elf(&bytes)?, "{} is not statically linked", built.display());
    copy(built, dest)?;
    Ok(bytes.len() as u64)
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

#[expect(clippy::disallowed_methods, reason = "xtask writes its own output folder")]
fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

#[expect(clippy::disallowed_methods, reason = "xtask manages its own output folder")]
fn fresh_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(())
}

/// `cargo deb --no-build` for an already built binary of `profile`; returns the package path.
fn deb(root: &Path, triple: &str, profile: &str, out_dir: &Path) -> anyhow::Result<PathBuf> {
    let mut c = static_cargo(root, triple);
    c.args(["deb", "-p", "ferret-cli", "--no-build", "--no-strip", "--profile", profile]);
    c.arg("--target").arg(triple).arg("--output").arg(out_dir);
    let shown = format!("{c:?}");
    let out =
        c.output().with_context(|| format!("cannot run {shown} (cargo install cargo-deb)"))?;
    ensure!(
        out.status.success(),
        "{shown} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    let path = printed
        .lines()
        .rev()
        .find(|l| Path::new(l.trim()).extension().is_some_and(|e| e.eq_ignore_ascii_case("deb")))
        .context("cargo deb named no package")?;
    Ok(PathBuf::from(path.trim()))
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// `cargo xtask dist [--sign KEY]`.
pub fn dist(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let mut key = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sign" => key = Some(PathBuf::from(it.next().context("--sign needs a key file")?)),
            other => bail!("unknown option {other} (usage: cargo xtask dist [--sign KEY])"),
        }
    }
    let triple = triple();
    let target = target_dir(root)?;
    let built = target.join(&triple).join("dist").join("ferret");
    // Not `target/dist`: cargo keeps the dist profile's build scripts and proc-macros there
    // (they are built for the host, without the explicit target).
    let out = target.join("release-files");
    fresh_dir(&out)?;
    let version = env!("CARGO_PKG_VERSION");
    let arch = std::env::consts::ARCH;
    let host = out.join(format!("ferret-{version}-{arch}-linux-host"));
    let full = out.join(format!("ferret-{version}-{arch}-linux"));
    let host_size = build_binary(root, &triple, &built, Some(HOST_FEATURES), &host)?;
    // The full binary last: the package is made from what is then in target/TRIPLE/dist.
    let full_size = build_binary(root, &triple, &built, None, &full)?;
    let package = deb(root, &triple, "dist", &out)?;
    let mut sums = String::new();
    for f in [&host, &full, &package] {
        let name = f.file_name().and_then(|n| n.to_str()).context("file name")?;
        sums.push_str(&format!("{}  {name}\n", sha256_file(f)?));
    }
    let sums_path = out.join("SHA256SUMS");
    write(&sums_path, &sums)?;
    if let Some(key) = key {
        let secret = std::fs::read_to_string(&key)
            .with_context(|| format!("cannot read the secret key {}", key.display()))?;
        let comment = format!("ferret-release version={version} file=SHA256SUMS");
        let (sig, id) = ferret_integrity::sign::sign(&secret, sums.as_bytes(), &comment)?;
        write(&out.join("SHA256SUMS.minisig"), &sig)?;
        say(&format!("signed SHA256SUMS with key {id}"));
    }
    let deb_size = std::fs::metadata(&package)?.len();
    say(&format!(
        "{}: {} bytes ({:.1} MiB)\n{}: {} bytes ({:.1} MiB)\n{}: {} bytes ({:.1} MiB)\n{}",
        host.display(),
        host_size,
        mib(host_size),
        full.display(),
        full_size,
        mib(full_size),
        package.display(),
        deb_size,
        mib(deb_size),
        sums_path.display()
    ));
    ensure!(
        host_size <= 30 * 1024 * 1024,
        "the host binary is {host_size} bytes, over the 30 MiB the project allows"
    );
    Ok(())
}

#[expect(clippy::cast_precision_loss, reason = "a size shown to one decimal")]
fn mib(n: u64) -> f64 {
    n as f64 / (1024.0 * 1024.0)
}

fn say(s: &str) {
    #[expect(clippy::print_stdout, reason = "xtask reports to the developer")]
    {
        println!("{s}");
    }
}

/// The files the package must install (relative to the root), besides every man page.
const PACKAGE_FILES: &[&str] = &[
    "usr/bin/ferret",
    "usr/share/bash-completion/completions/ferret",
    "usr/share/zsh/vendor-completions/_ferret",
    "usr/share/fish/vendor_completions.d/ferret.fish",
    "usr/lib/systemd/system/ferret-agent.service",
    "usr/lib/systemd/system/ferret-agent.timer",
    "usr/lib/systemd/system/ferret-serve.service",
    "usr/share/doc/ferret/copyright",
];

/// The units `systemd-analyze verify` checks.
const UNITS: &[&str] = &["ferret-agent.service", "ferret-agent.timer", "ferret-serve.service"];

/// `cargo xtask package-check [--binary PATH]`.
#[expect(clippy::disallowed_methods, reason = "xtask fills its own scratch root")]
pub fn package_check(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let triple = std::env::var("CARGO_BUILD_TARGET").unwrap_or_else(|_| triple());
    let target = target_dir(root)?;
    let mut binary = target.join(&triple).join("debug").join("ferret");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--binary" => binary = PathBuf::from(it.next().context("--binary needs a path")?),
            other => {
                bail!("unknown option {other} (usage: cargo xtask package-check [--binary PATH])")
            }
        }
    }
    let bytes = std::fs::read(&binary)
        .with_context(|| format!("cannot read {} (build it first)", binary.display()))?;
    ensure!(is_static_elf(&bytes)?, "{} is not statically linked", binary.display());
    // cargo-deb takes the binary from target/TRIPLE/PROFILE: put it there under a profile
    // name of its own, so a release or test build is never overwritten.
    let staged = target.join(&triple).join("package-check");
    fresh_dir(&staged)?;
    copy(&binary, &staged.join("ferret"))?;
    let scratch = target.join("package-check");
    fresh_dir(&scratch)?;
    let package = deb(root, &triple, "package-check", &scratch)?;
    let sysroot = scratch.join("root");
    for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"] {
        std::fs::create_dir_all(sysroot.join(d))?;
    }
    std::fs::write(sysroot.join("var/lib/dpkg/status"), "")?;
    let mut c = Command::new("dpkg");
    c.arg(format!("--root={}", sysroot.display()))
        .arg(format!("--log={}", scratch.join("dpkg.log").display()))
        .arg("-i")
        .arg(&package);
    run(c)?;
    let mut missing: Vec<String> = PACKAGE_FILES
        .iter()
        .filter(|f| !sysroot.join(f).is_file())
        .map(|f| (*f).to_owned())
        .collect();
    for page in std::fs::read_dir(root.join("docs/man"))? {
        let name = page?.file_name();
        let dest = Path::new("usr/share/man/man1").join(&name);
        let gz = Path::new("usr/share/man/man1").join(format!("{}.gz", name.to_string_lossy()));
        if !sysroot.join(&dest).is_file() && !sysroot.join(&gz).is_file() {
            missing.push(dest.display().to_string());
        }
    }
    ensure!(missing.is_empty(), "not installed by the package: {}", missing.join(", "));
    let installed = std::fs::read(sysroot.join("usr/bin/ferret"))?;
    ensure!(installed == bytes, "the installed ferret is not the packaged binary");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(sysroot.join("usr/bin/ferret"))?.permissions().mode();
        ensure!(mode & 0o111 != 0, "the installed ferret is not executable ({mode:o})");
    }
    // systemd-analyze resolves the units' dependencies (sysinit.target, timers.target, ...)
    // inside --root: give the scratch root this machine's own unit files, next to ferret's.
    let units_dir = sysroot.join("usr/lib/systemd/system");
    for system in ["/usr/lib/systemd/system", "/lib/systemd/system"] {
        let Ok(entries) = std::fs::read_dir(system) else { continue };
        for e in entries {
            let e = e?;
            let dest = units_dir.join(e.file_name());
            if e.path().is_file() && !dest.exists() {
                std::fs::copy(e.path(), dest)?;
            }
        }
    }
    let mut c = Command::new("systemd-analyze");
    c.arg("verify").arg("--man=no").arg(format!("--root={}", sysroot.display()));
    for u in UNITS {
        c.arg(format!("/usr/lib/systemd/system/{u}"));
    }
    let out = c.output().context("cannot run systemd-analyze")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let about_ours: Vec<&str> = stderr.lines().filter(|l| l.contains("ferret")).collect();
    ensure!(
        out.status.success() && about_ours.is_empty(),
        "systemd-analyze verify ({}):\n{stderr}",
        out.status
    );
    say(&format!(
        "package-check: {} installs into a scratch root; {} pass systemd-analyze verify",
        package.display(),
        UNITS.join(", ")
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_interpreter_is_found() {
        // This test binary is dynamic on a developer's machine and static under CI's
        // crt-static flags: the check must agree with how it was built.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let static_build = cfg!(target_feature = "crt-static");
        assert_eq!(is_static_elf(&me).unwrap(), static_build);
        // A minimal ELF header with one PT_INTERP program header, and the same with PT_LOAD.
        let mut elf = vec![0u8; 64 + 56];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2;
        elf[5] = 1;
        elf[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        elf[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        elf[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        elf[64..68].copy_from_slice(&3u32.to_le_bytes());
        assert!(!is_static_elf(&elf).unwrap());
        elf[64..68].copy_from_slice(&1u32.to_le_bytes());
        assert!(is_static_elf(&elf).unwrap());
        assert!(is_static_elf(b"#!/bin/sh\n").is_err());
    }

    #[test]
    fn rustflags_variable_name() {
        assert_eq!(
            rustflags_var("x86_64-unknown-linux-gnu"),
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS"
        );
    }
}

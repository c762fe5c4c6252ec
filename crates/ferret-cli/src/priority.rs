//! `--low-priority`: lower ferret's CPU and I/O priority so a scan of a production server
//! yields to the server's own work.
//!
//! This is one of the two modules of ferret with `unsafe` code (the other is ferret-fs's
//! guarded maps): two system calls with integer
//! arguments (`setpriority(2)` and `ioprio_set(2)`), and their read-back counterparts for
//! tests. Both apply to the calling thread and are inherited by every thread and process it
//! creates afterwards, so [`lower`] must run before any worker thread is spawned (each verb
//! calls it first thing).

use std::io;

/// The niceness `--low-priority` sets (the lowest CPU priority).
pub const NICENESS: i32 = 19;

/// `IOPRIO_CLASS_IDLE` from `linux/ioprio.h`: I/O only when no one else wants the disk.
const IOPRIO_CLASS_IDLE: libc::c_int = 3;
/// `IOPRIO_CLASS_SHIFT` from `linux/ioprio.h`.
const IOPRIO_CLASS_SHIFT: libc::c_int = 13;
/// `IOPRIO_WHO_PROCESS` from `linux/ioprio.h` (with id 0: the calling thread).
const IOPRIO_WHO_PROCESS: libc::c_int = 1;

/// Sets niceness 19 and the idle I/O scheduling class for the calling thread and every
/// thread started after it. An error names the call that failed; the caller decides whether
/// to go on (ferret does, with a warning).
#[expect(
    unsafe_code,
    reason = "setpriority and ioprio_set take only integers and touch no memory; libc has no safe wrapper"
)]
pub fn lower() -> io::Result<()> {
    // SAFETY: setpriority(2) with integer arguments; no pointer is passed.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICENESS) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("setpriority: {e}")));
    }
    // SAFETY: ioprio_set(2) with integer arguments; no pointer is passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0,
            IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT,
        )
    };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("ioprio_set: {e}")));
    }
    Ok(())
}

/// The calling thread's niceness and I/O priority class, as the kernel reports them.
#[cfg(test)]
#[expect(unsafe_code, reason = "getpriority and ioprio_get take only integers")]
fn current() -> (i32, i64) {
    // SAFETY: getpriority(2)/ioprio_get(2) with integer arguments; no pointer is passed.
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    // SAFETY: as above.
    let ioprio = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) };
    (nice, ioprio >> IOPRIO_CLASS_SHIFT)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHILD: &str = "FERRET_PRIORITY_TEST_CHILD";

    /// Runs in a child process (the test binary re-run on this one test), because the
    /// niceness of a process can only go up.
    #[test]
    fn lower_raises_niceness_and_sets_idle_io() {
        if std::env::var_os(CHILD).is_some() {
            lower().unwrap();
            let (nice, class) = current();
            assert_eq!(nice, NICENESS);
            assert_eq!(class, i64::from(IOPRIO_CLASS_IDLE));
            // A thread started afterwards inherits both.
            let (nice, class) = std::thread::spawn(current).join().unwrap();
            assert_eq!(nice, NICENESS);
            assert_eq!(class, i64::from(IOPRIO_CLASS_IDLE));
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args(["--exact", "priority::tests::lower_raises_niceness_and_sets_idle_io"])
            .args(["--test-threads", "1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "child failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    }
}

//! SIGINT and SIGTERM: stop the work, keep the report.
//!
//! The first signal raises the run's [`Cancel`] flag: the engines stop at the next file or
//! block, and the verb writes (and, with `--report-to`, sends or spools) the partial report
//! marked `interrupted`. A second signal ends the process at once (status 130). Handlers are
//! installed by the verbs that examine a host, when they start; the collector (`serve`) keeps
//! its own shutdown handling.

use std::sync::OnceLock;

use ferret_core::Cancel;

static CANCEL: OnceLock<Cancel> = OnceLock::new();

/// The run's stop flag, with the signal handlers installed on first use. When the handlers
/// cannot be installed the flag still works; the signals then keep their default action.
pub fn cancel_on_signals() -> Cancel {
    CANCEL
        .get_or_init(|| {
            let cancel = Cancel::new();
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                // Order matters: the conditional exit sees the flag as it was before this
                // signal, so only a second signal ends the process.
                let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, cancel.flag());
                let _ = signal_hook::flag::register(sig, cancel.flag());
            }
            cancel
        })
        .clone()
}

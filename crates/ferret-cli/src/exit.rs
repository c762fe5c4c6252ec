//! ferret's exit statuses, documented in README.md and tested in `tests/cli_exit.rs`.
//!
//! | status | meaning |
//! |---|---|
//! | 0 | clean and complete: nothing at or above the threshold, everything examined |
//! | 1 | findings at or above the threshold (findings win over incomplete) |
//! | 2 | could not run: usage, configuration or a fatal error |
//! | 3 | no findings, but coverage incomplete: read errors, rules not loaded, parse errors |

use ferret_core::Summary;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: clean and complete.
    Clean,
    /// 1: findings.
    Findings,
    /// 2: could not run.
    Failed,
    /// 3: no findings, but incomplete.
    Incomplete,
}

impl ExitStatus {
    /// The status a finished run's summary calls for (the same rule as
    /// [`Summary::result_line`], so the two always agree).
    pub fn from_summary(summary: &Summary) -> ExitStatus {
        if summary.has_findings() {
            ExitStatus::Findings
        } else if summary.complete {
            ExitStatus::Clean
        } else {
            ExitStatus::Incomplete
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(match s {
            ExitStatus::Clean => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Failed => 2,
            ExitStatus::Incomplete => 3,
        })
    }
}

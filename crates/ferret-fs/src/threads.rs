//! How many worker threads a run may use.
//!
//! A thread count is taken from the operator but bounded by what the machine can use: more
//! threads than [`MAX_PER_CPU`] per CPU only add contention (and each scanning thread holds
//! its own rule engine), and [`MAX_THREADS`] bounds any machine. No verb spawns more.

/// Most threads per available CPU (I/O waits on slow mounts make a few per CPU worthwhile).
pub const MAX_PER_CPU: usize = 4;
/// Most threads on any machine.
pub const MAX_THREADS: usize = 256;

/// A thread count after bounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadBudget {
    /// Threads to use (at least 1).
    pub threads: usize,
    /// The operator's request, when it was lowered.
    pub lowered_from: Option<usize>,
}

impl ThreadBudget {
    /// Bounds `requested` (0: one per CPU) by this machine's CPUs.
    pub fn for_request(requested: usize) -> ThreadBudget {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        ThreadBudget::bounded(requested, cpus)
    }

    /// Bounds `requested` (0: one per CPU) for a machine with `cpus` CPUs.
    pub fn bounded(requested: usize, cpus: usize) -> ThreadBudget {
        let cpus = cpus.max(1);
        if requested == 0 {
            return ThreadBudget { threads: cpus.min(MAX_THREADS), lowered_from: None };
        }
        let cap = cpus.saturating_mul(MAX_PER_CPU).min(MAX_THREADS);
        if requested > cap {
            ThreadBudget { threads: cap, lowered_from: Some(requested) }
        } else {
            ThreadBudget { threads: requested, lowered_from: None }
        }
    }

    /// The sentence a summary carries when the request was lowered.
    pub fn note(&self) -> Option<String> {
        self.lowered_from.map(|r| {
            format!(
                "{r} threads were asked for; {} used (at most {MAX_PER_CPU} per CPU on this machine)",
                self.threads
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_bounded_by_the_machine() {
        assert_eq!(ThreadBudget::bounded(0, 8).threads, 8);
        assert_eq!(ThreadBudget::bounded(2, 2), ThreadBudget { threads: 2, lowered_from: None });
        let b = ThreadBudget::bounded(5000, 2);
        assert_eq!(b.threads, 8);
        assert_eq!(b.lowered_from, Some(5000));
        assert!(b.note().is_some_and(|n| n.contains("5000")));
        assert_eq!(ThreadBudget::bounded(100_000, 1024).threads, MAX_THREADS);
        assert_eq!(ThreadBudget::bounded(1, 0).threads, 1);
    }
}

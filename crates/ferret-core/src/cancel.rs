//! Cooperative cancellation: how a verb tells a running engine to stop.
//!
//! The CLI turns SIGINT and SIGTERM into [`Cancel::cancel`]; engines check
//! [`Cancel::is_cancelled`] between files, blocks or batches, stop taking new work, and
//! return what they have with [`crate::Summary::mark_interrupted`]. Cloning shares the flag.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A shared stop flag. The default is a flag nobody raises.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A new, lowered flag.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// A flag shared with an existing `Arc<AtomicBool>` (a signal handler's).
    pub fn from_flag(flag: Arc<AtomicBool>) -> Cancel {
        Cancel(flag)
    }

    /// The underlying flag, for a signal handler to raise.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }

    /// Asks every holder to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag() {
        let a = Cancel::new();
        let b = a.clone();
        assert!(!b.is_cancelled());
        a.cancel();
        assert!(b.is_cancelled());
    }
}

//! The terminal progress bar (files, bytes, rate, ETA), shown on a TTY only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ferret_core::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A [`Progress`] drawing an indicatif bar on stderr, or nothing when hidden.
pub struct Bar {
    bar: Option<ProgressBar>,
    items: AtomicU64,
}

impl Bar {
    /// A bar when `visible` (stderr is a TTY and not `--quiet`), otherwise a silent counter.
    pub fn new(visible: bool, unit: &'static str) -> Bar {
        let bar = visible.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{{spinner}} {{msg}} {unit}  {{bytes}} ({{bytes_per_sec}}) {{elapsed_precise}} eta {{eta}}"
                ))
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Bar { bar, items: AtomicU64::new(0) }
    }

    /// Removes the bar from the screen.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn set_total(&self, _items: u64, bytes: u64) {
        if let Some(b) = &self.bar {
            b.set_length(bytes);
        }
    }

    fn advance(&self, items: u64, bytes: u64) {
        let n = self.items.fetch_add(items, Ordering::Relaxed) + items;
        if let Some(b) = &self.bar {
            b.inc(bytes);
            b.set_message(n.to_string());
        }
    }
}

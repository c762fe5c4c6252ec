//! The terminal progress bar (files, bytes, rate, ETA), shown on a TTY only.
//!
//! The ETA is the bytes left over the recent throughput (indicatif's estimate, weighted
//! towards the last seconds), shown only when the total is known (hunt and check list their
//! files first; scan walks as it goes and shows none) and bytes have started to move: never
//! a made-up `eta 0s`.

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
            bar.set_style(style(unit));
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

/// Spinner, files, bytes, rate, elapsed time and, when it can be known, the time left.
fn style(unit: &str) -> ProgressStyle {
    let template = format!(
        "{{spinner}} {{msg}} {unit}  {{bytes}} ({{bytes_per_sec}}) {{elapsed_precise}}{{eta_left}}"
    );
    let eta = |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
        if let Some(eta) = eta_text(state.len(), state.pos(), state.per_sec()) {
            let _ = write!(w, " eta {eta}");
        }
    };
    ProgressStyle::with_template(&template)
        .map_or_else(|_| ProgressStyle::default_spinner(), |s| s.with_key("eta_left", eta))
}

/// The time left, `1h 02m`, `4m 05s` or `12s`, when it can be known: a total, progress
/// short of it, and a throughput above zero.
pub fn eta_text(total: Option<u64>, done: u64, per_sec: f64) -> Option<String> {
    let total = total?;
    if done == 0 || done >= total || !per_sec.is_finite() || per_sec <= 0.0 {
        return None;
    }
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "an estimate shown in whole seconds"
    )]
    let secs = ((total - done) as f64 / per_sec).ceil().min(1e9) as u64;
    Some(match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
    })
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

#[cfg(test)]
mod tests {
    use super::eta_text;

    #[test]
    fn eta_only_when_it_can_be_known() {
        assert_eq!(eta_text(None, 10, 5.0), None, "no total: no ETA");
        assert_eq!(eta_text(Some(100), 0, 5.0), None, "nothing done yet");
        assert_eq!(eta_text(Some(100), 100, 5.0), None, "done");
        assert_eq!(eta_text(Some(100), 50, 0.0), None, "stalled");
        assert_eq!(eta_text(Some(100), 50, 10.0).as_deref(), Some("5s"));
        assert_eq!(eta_text(Some(10_000), 1_000, 30.0).as_deref(), Some("5m 00s"));
        assert_eq!(eta_text(Some(1 << 40), 1, 1e6).as_deref(), Some("305h 25m"));
    }
}

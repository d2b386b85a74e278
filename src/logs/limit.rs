//! Per-callsite rate limiting of log events, so a warning repeated in a loop cannot fill
//! the disk.
//!
//! [`Limiter`] is the decision alone (given the time, so it is tested with made-up
//! instants); [`RateLimit`] applies it as a per-layer filter and writes the "suppressed"
//! lines itself, straight to the layer's writer (an event emitted from inside the
//! subscriber would be dropped by `tracing`, and no lock is held while writing). The
//! line quotes the last message dropped, so a burst of state changes still ends with
//! the state reached.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::{Event, Metadata};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Filter};

/// Events written per callsite per [`WINDOW`].
pub const PER_WINDOW: u32 = 10;
/// The rate limit's window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// A callsite's events dropped in a window that has ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppressed {
    pub key: String,
    pub count: u64,
    /// The last event dropped, as noted by [`Limiter::note_last`].
    pub last: Option<String>,
}

/// What to do with one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Whether to write the event.
    pub write: bool,
    /// Windows (of any callsite) that ended with events dropped: one line each, first.
    pub report: Vec<Suppressed>,
}

/// At most `limit` events per key in each window of a key, which starts at its first
/// event; the rest are counted and reported when the window has ended.
#[derive(Debug)]
pub struct Limiter {
    limit: u32,
    window: Duration,
    open: HashMap<String, Window>,
}

#[derive(Debug)]
struct Window {
    start: Instant,
    written: u32,
    dropped: u64,
    last: Option<String>,
}

impl Limiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Limiter {
            limit,
            window,
            open: HashMap::new(),
        }
    }

    /// Decides on an event of `key` at `now`, and closes the windows that have ended.
    pub fn allow(&mut self, key: &str, now: Instant) -> Verdict {
        let mut report = Vec::new();
        let window = self.window;
        self.open.retain(|k, w| {
            let open = now.saturating_duration_since(w.start) < window;
            if !open && w.dropped > 0 {
                report.push(Suppressed {
                    key: k.clone(),
                    count: w.dropped,
                    last: w.last.take(),
                });
            }
            open
        });
        report.sort_by(|a, b| a.key.cmp(&b.key));
        let w = self.open.entry(key.to_string()).or_insert(Window {
            start: now,
            written: 0,
            dropped: 0,
            last: None,
        });
        let write = w.written < self.limit;
        match write {
            true => w.written += 1,
            false => w.dropped += 1,
        }
        Verdict { write, report }
    }

    /// Remembers `text` as the last event of `key` dropped, for its report.
    pub fn note_last(&mut self, key: &str, text: String) {
        if let Some(w) = self.open.get_mut(key) {
            w.last = Some(text);
        }
    }
}

/// A per-layer filter applying a [`Limiter`] per callsite (target, file and line, so
/// records bridged from the `log` crate are told apart too), writing the "suppressed"
/// lines to `writer`.
pub struct RateLimit<W> {
    limiter: Mutex<Limiter>,
    writer: W,
}

impl<W> RateLimit<W> {
    /// Applies `limiter` ([`PER_WINDOW`] per [`WINDOW`] in the app).
    pub fn new(writer: W, limiter: Limiter) -> Self {
        RateLimit {
            limiter: Mutex::new(limiter),
            writer,
        }
    }
}

/// The key of an event's callsite, as shown in the "suppressed" line.
fn callsite(meta: &Metadata<'_>) -> String {
    format!(
        "{} ({}:{})",
        meta.target(),
        meta.file().unwrap_or("?"),
        meta.line().unwrap_or(0)
    )
}

impl<S, W> Filter<S> for RateLimit<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn enabled(&self, _: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _: &Context<'_, S>) -> bool {
        let key = callsite(event.metadata());
        let lock = || self.limiter.lock().unwrap_or_else(|e| e.into_inner());
        let verdict = lock().allow(&key, Instant::now());
        if !verdict.write {
            // Formatted without the lock: a field's `Debug` may do anything.
            let text = describe(event);
            lock().note_last(&key, text);
        }
        for s in &verdict.report {
            let last = s
                .last
                .as_deref()
                .map_or(String::new(), |l| format!("; the last: {l}"));
            let line = format!(
                "{}  WARN voripos_domain_sync::logs: suppressed {} similar messages from {}{last}\n",
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                s.count,
                s.key
            );
            // Nowhere to report a failing log writer; the event itself would fail too.
            let _ = self.writer.make_writer().write_all(line.as_bytes());
        }
        verdict.write
    }
}

/// An event's message and fields on one line (`message k=v …`).
fn describe(event: &Event<'_>) -> String {
    struct Text(String);
    impl Visit for Text {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let sep = if self.0.is_empty() { "" } else { " " };
            self.0 += &match field.name() {
                "message" => format!("{sep}{value:?}"),
                name => format!("{sep}{name}={value:?}"),
            };
        }
    }
    let mut text = Text(String::new());
    event.record(&mut text);
    text.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, secs: u64) -> Instant {
        base + Duration::from_secs(secs)
    }

    #[test]
    fn the_first_events_of_a_window_pass_the_rest_are_counted() {
        let t0 = Instant::now();
        let mut l = Limiter::new(3, WINDOW);
        let written: Vec<bool> = (0..5).map(|i| l.allow("a", at(t0, i)).write).collect();
        assert_eq!(written, [true, true, true, false, false]);
        // Another callsite has its own budget.
        assert!(l.allow("b", at(t0, 5)).write);
    }

    #[test]
    fn the_count_is_reported_once_when_the_window_has_ended() {
        let t0 = Instant::now();
        let mut l = Limiter::new(1, WINDOW);
        l.allow("a", t0);
        l.allow("a", at(t0, 1));
        l.note_last("a", "first dropped".into());
        l.allow("a", at(t0, 59));
        l.note_last("a", "state: ok".into());
        let v = l.allow("b", at(t0, 60));
        assert_eq!(
            v.report,
            [Suppressed {
                key: "a".into(),
                count: 2,
                last: Some("state: ok".into()),
            }]
        );
        assert!(v.write);
        // A new window for "a"; nothing more to report.
        let v = l.allow("a", at(t0, 61));
        assert!(v.write && v.report.is_empty(), "{v:?}");
    }

    #[test]
    fn windows_without_drops_are_forgotten_silently() {
        let t0 = Instant::now();
        let mut l = Limiter::new(5, WINDOW);
        l.allow("a", t0);
        let v = l.allow("a", at(t0, 3600));
        assert!(v.write && v.report.is_empty());
        assert_eq!(l.open.len(), 1);
    }
}

//! Wakes the UI's event loop at the time it last asked for.
//!
//! tao's `ControlFlow::WaitUntil` is not enough on Linux: there its GTK loop blocks until
//! the next GTK event, and nothing fires at the requested time, so relative times ("2 s
//! ago") and click feedback ("Copied ✓") would not change until something else
//! happened. One thread sleeps until the newest requested time and sends [`Wake::Due`]
//! then; it ends with the loop (when the alarm is dropped).

use std::sync::mpsc;
use std::time::Instant;

use tao::event_loop::EventLoopProxy;

use crate::tray::Wake;

/// The UI's alarm clock.
pub struct Alarm {
    set: mpsc::Sender<Instant>,
}

impl Alarm {
    /// Starts the alarm's thread; `None` (logged) when it cannot start.
    pub fn start(proxy: EventLoopProxy<Wake>) -> Option<Alarm> {
        let (set, requests) = mpsc::channel();
        let started = std::thread::Builder::new()
            .name("ui-alarm".into())
            .spawn(move || ring(&requests, &proxy));
        match started {
            Ok(_) => Some(Alarm { set }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the UI's alarm; times refresh on changes only");
                None
            }
        }
    }

    /// Rings at `at` (instead of any earlier request).
    pub fn set(&self, at: Instant) {
        let _ = self.set.send(at);
    }
}

/// Sleeps until the requested time, rings, and waits for the next request; returns when
/// the alarm is gone or the loop is.
fn ring(requests: &mpsc::Receiver<Instant>, proxy: &EventLoopProxy<Wake>) {
    let mut due: Option<Instant> = None;
    loop {
        let next = match due {
            None => requests
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            Some(at) => requests.recv_timeout(at.saturating_duration_since(Instant::now())),
        };
        match next {
            Ok(at) => due = Some(at),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                due = None;
                if proxy.send_event(Wake::Due).is_err() {
                    return;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

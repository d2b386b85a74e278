//! The one shutdown owner: SIGTERM, SIGINT and a *Quit* (from the menu or the socket)
//! all end here, and everything that stops on shutdown waits on it.
//!
//! `main` returns the process's exit code; nothing else ends the process, except
//! [`abandon_stuck_ui`]: a menu-bar UI that hangs holds the main thread, so `main`
//! cannot return, and the process must still end once its core has stopped.

use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;

/// How long the UI may take to close once the core has stopped (SIGTERM, *Quit*) before
/// the process ends without it.
pub const UI_EXIT_BOUND: Duration = Duration::from_secs(5);

/// Whether the app has been asked to stop; clones share it.
#[derive(Clone)]
pub struct Shutdown {
    asked: watch::Sender<bool>,
}

impl Shutdown {
    /// Listens for SIGTERM and SIGINT from now on (a signal that comes before anything
    /// waits is not lost, and no longer kills the process). Needs a tokio runtime.
    pub fn listen() -> anyhow::Result<Shutdown> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        let shutdown = Shutdown {
            asked: watch::Sender::new(false),
        };
        let on_signal = shutdown.clone();
        let mut asked = shutdown.asked.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => on_signal.request("SIGTERM"),
                _ = int.recv() => on_signal.request("SIGINT"),
                _ = asked.wait_for(|asked| *asked) => {}
            }
        });
        Ok(shutdown)
    }

    /// Asks the app to stop (`why`: for the log).
    pub fn request(&self, why: &str) {
        if !self.asked.send_replace(true) {
            tracing::info!("stopping: {why}");
        }
    }

    /// Resolves once the app has been asked to stop.
    pub async fn requested(&self) {
        let mut asked = self.asked.subscribe();
        let _ = asked.wait_for(|asked| *asked).await;
    }
}

/// Ends the process with `code` when the UI has not closed within [`UI_EXIT_BOUND`] of
/// its core stopping (the core has written its last status): SIGTERM or *Quit* must not
/// wait on a window. The one exit besides `main`'s return.
pub fn abandon_stuck_ui(code: u8) -> ! {
    tracing::error!(
        "the menu-bar UI did not close within {UI_EXIT_BOUND:?} of the core stopping; \
         exiting without it"
    );
    std::process::exit(i32::from(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_reaches_every_waiter_once_asked() {
        let shutdown = Shutdown::listen().unwrap();
        let waiter = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { shutdown.requested().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "nothing asked yet");
        shutdown.request("a test");
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter is told")
            .unwrap();
        // A later waiter sees it at once.
        tokio::time::timeout(Duration::from_secs(5), shutdown.requested())
            .await
            .expect("asked already");
    }
}

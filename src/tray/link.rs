//! What the UI (the tray) and the running app share: the status board's snapshots (the
//! UI subscribes to the host's one board), the notification settings as last read, and
//! the requests the UI sends, which travel the same way as the control socket's.
//!
//! The app never waits for the UI: dropping the UI's end is fine.

use tokio::sync::{mpsc, watch};

use crate::config::Notifications;
use crate::ipc::server::Incoming;
use crate::status::Status;

/// The UI's end.
pub struct UiLink {
    pub status: watch::Receiver<Status>,
    pub notifications: watch::Receiver<Notifications>,
    pub requests: mpsc::Sender<Incoming>,
}

/// The app's end.
pub struct AppLink {
    pub notifications: watch::Sender<Notifications>,
    /// The UI's and the control socket's requests.
    pub requests: mpsc::Receiver<Incoming>,
    requests_tx: mpsc::Sender<Incoming>,
}

impl AppLink {
    /// Where other clients' requests (the control socket's) join the UI's.
    pub fn requests_sender(&self) -> mpsc::Sender<Incoming> {
        self.requests_tx.clone()
    }
}

/// A connected pair: the app's end and the UI's end, which shows `status` (a
/// subscription to the host's board).
pub fn link(status: watch::Receiver<Status>) -> (AppLink, UiLink) {
    let (notifications_tx, notifications) = watch::channel(Notifications::default());
    let (requests_tx, requests) = mpsc::channel(8);
    let ui = UiLink {
        status,
        notifications,
        requests: requests_tx.clone(),
    };
    let app = AppLink {
        notifications: notifications_tx,
        requests,
        requests_tx,
    };
    (app, ui)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Request;
    use chrono::Utc;

    #[tokio::test]
    async fn the_ui_sees_statuses_and_settings_and_its_requests_reach_the_app() {
        let board = crate::status::board::Board::waiting();
        let (mut app, mut ui) = link(board.subscribe());
        assert_eq!(
            crate::tray::menu::headline(&ui.status.borrow(), Utc::now()),
            "Starting…"
        );
        let mut status = Status::starting("http://127.0.0.1:20202", Utc::now());
        status.txid = Some(crate::status::Txid(0x2f));
        let dir = tempfile::tempdir().unwrap();
        let _core = board.begin(dir.path().join("status.json"), status);
        assert!(ui.status.has_changed().unwrap());
        assert_eq!(
            ui.status.borrow_and_update().txid,
            Some(crate::status::Txid(0x2f))
        );
        let quiet = Notifications {
            enabled: false,
            ..Notifications::default()
        };
        app.notifications.send_replace(quiet.clone());
        assert_eq!(*ui.notifications.borrow(), quiet);
        let (reply, _) = tokio::sync::oneshot::channel();
        ui.requests.try_send((Request::Resync, reply)).unwrap();
        let (request, _) = app.requests.recv().await.unwrap();
        assert_eq!(request, Request::Resync);
    }
}

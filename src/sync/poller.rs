//! The cloud's listener: polls the backup service's `GET /pos` and tells the sync worker
//! what changed, as [`super::listener`] does for LiteFS's event stream.
//!
//! It speaks the worker's listener language ([`Signal`]): `Connected` when the service
//! answers with our database's position (again), `Disconnected` when it stops doing so,
//! and `Tx` when the position moves (forwards, or backwards after a restore on the cloud
//! side). Polls are jittered (±10 %); after a failure the next poll backs off.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::backoff::Backoff;
use crate::cloud::client::{CloudClient, CloudError};
use crate::litefs::pos::Position;
use crate::litefs::TxEvent;
use crate::sync::listener::Signal;

/// What the poller knows between two polls; its decisions are pure.
///
/// Every answer is passed on as a `Tx`, not only a change: the worker compares it with
/// the published file. A position that moves and comes back between two polls (a
/// version published, then a restore) would otherwise never be noticed, and each
/// answer is the cloud confirming (or not) that the published file is current.
#[derive(Debug, Default)]
pub struct Watch {
    connected: Option<bool>,
}

impl Watch {
    /// The signals one poll's result gives, for database `db` at `url`.
    pub fn observe(
        &mut self,
        result: Result<Position, &CloudError>,
        db: &str,
        url: &str,
    ) -> Vec<Signal> {
        match result {
            Ok(pos) => {
                let mut signals = Vec::new();
                if self.connected != Some(true) {
                    // The worker checks at once on `Connected`: no `Tx` needed too.
                    signals.push(Signal::Connected {
                        hostname: url.to_string(),
                    });
                } else {
                    signals.push(Signal::Tx(TxEvent {
                        db: db.to_string(),
                        txid: pos.txid,
                        checksum: pos.checksum,
                        page_size: 0,
                        pages: 0,
                        timestamp: None,
                    }));
                }
                self.connected = Some(true);
                signals
            }
            Err(e) => {
                let was = self.connected.replace(false);
                match was {
                    Some(false) => Vec::new(),
                    _ => vec![Signal::Disconnected {
                        reason: e.to_string(),
                    }],
                }
            }
        }
    }
}

/// `interval` ± 10 %.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + fastrand::f64() * 0.2)
}

/// The wait before the next poll after a failed one (pure): the backoff's delay, at least
/// the poll interval, at least what a `429`'s `Retry-After` asked for (bounded).
fn after_failure(backoff: Duration, interval: Duration, error: &CloudError) -> Duration {
    backoff
        .max(interval)
        .max(error.retry_after().unwrap_or_default())
}

/// Runs until the worker goes away.
pub async fn poll(
    client: CloudClient,
    db: String,
    to_worker: mpsc::Sender<Signal>,
    interval: Duration,
    max_backoff: Duration,
) {
    let mut watch = Watch::default();
    let mut backoff = Backoff::new(interval.min(Duration::from_secs(1)), max_backoff);
    loop {
        let result = client.position().await;
        let delay = match &result {
            Ok(_) => {
                backoff.reset();
                jittered(interval)
            }
            Err(e) => {
                tracing::debug!(error = %e, "LiteFS Cloud position unavailable");
                after_failure(backoff.next_delay(), interval, e)
            }
        };
        for signal in watch.observe(result.as_ref().copied(), &db, client.url()) {
            if to_worker.send(signal).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::litefs::Checksum;

    fn at(txid: u64, checksum: u64) -> Position {
        Position {
            txid,
            checksum: Checksum(checksum),
        }
    }

    fn names(signals: &[Signal]) -> Vec<String> {
        signals
            .iter()
            .map(|s| match s {
                Signal::Connected { .. } => "connected".to_string(),
                Signal::Disconnected { .. } => "disconnected".to_string(),
                Signal::Tx(tx) => format!("tx {}", tx.txid),
            })
            .collect()
    }

    #[test]
    fn a_busy_cloud_is_asked_again_only_when_it_said() {
        let second = Duration::from_secs(1);
        let busy = |after: u64| CloudError::Busy {
            what: "/pos",
            retry_after: Some(Duration::from_secs(after)),
        };
        assert_eq!(after_failure(second, second * 10, &busy(30)), second * 30);
        assert_eq!(
            after_failure(second * 60, second * 10, &busy(30)),
            second * 60
        );
        let down = CloudError::NoDatabase {
            db: "D".into(),
            cluster: None,
        };
        assert_eq!(after_failure(second, second * 10, &down), second * 10);
    }

    #[test]
    fn every_answer_is_passed_on_and_outages_once() {
        let mut w = Watch::default();
        let down = CloudError::NoDatabase {
            db: "D".into(),
            cluster: None,
        };
        let mut see = |r: Result<Position, &CloudError>| names(&w.observe(r, "D", "u"));
        assert_eq!(see(Ok(at(3, 0x83))), ["connected"]);
        // The worker decides: the published file may have moved on meanwhile.
        assert_eq!(
            see(Ok(at(3, 0x83))),
            ["tx 3"],
            "the same position is passed on too"
        );
        assert_eq!(see(Ok(at(4, 0x84))), ["tx 4"]);
        assert_eq!(see(Ok(at(2, 0x82))), ["tx 2"], "a restore goes backwards");
        assert_eq!(see(Err(&down)), ["disconnected"]);
        assert!(see(Err(&down)).is_empty());
        assert_eq!(see(Ok(at(2, 0x82))), ["connected"]);
        let mut fresh = Watch::default();
        assert_eq!(
            names(&fresh.observe(Err(&down), "D", "u")),
            ["disconnected"]
        );
    }
}

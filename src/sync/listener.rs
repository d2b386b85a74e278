//! Follows LiteFS's `/events` stream for as long as the app runs.
//!
//! Reconnects with capped, jittered backoff whenever the stream ends or breaks (LiteFS
//! drops clients that fall behind). Transactions for our database go to the ledger and
//! the worker; other databases, unknown event types and unreadable lines are skipped.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::backoff::Backoff;
use crate::litefs::client::Client;
use crate::litefs::{Event, TxEvent};
use crate::verify::Announced;

use super::ledger::Ledger;

/// A connection that lived this long was healthy: the next reconnect starts fast.
const HEALTHY: Duration = Duration::from_secs(5);

/// What the listener tells the worker.
#[derive(Debug)]
pub enum Signal {
    Connected { hostname: String },
    Disconnected { reason: String },
    Tx(TxEvent),
}

/// Runs until the worker goes away.
pub async fn listen(
    client: Client,
    ledger: Ledger,
    to_worker: mpsc::Sender<Signal>,
    max_backoff: Duration,
) {
    let db = client.database().to_string();
    let mut backoff = Backoff::new(Duration::from_millis(250), max_backoff);
    loop {
        let started = Instant::now();
        let reason = match client.events().await {
            Err(e) => e.to_string(),
            Ok(mut stream) => loop {
                match stream.next().await {
                    Ok(Some(Ok(Event::Init { hostname, .. }))) => {
                        ledger.mark_gap();
                        if to_worker
                            .send(Signal::Connected { hostname })
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    Ok(Some(Ok(Event::Tx(tx)))) if tx.db == db => {
                        ledger.push(Announced {
                            txid: tx.txid,
                            checksum: tx.checksum,
                        });
                        if to_worker.send(Signal::Tx(tx)).await.is_err() {
                            return;
                        }
                    }
                    Ok(Some(Ok(_))) => {}
                    Ok(Some(Err(bad))) => tracing::warn!("skipped an event line: {bad}"),
                    Ok(None) => break "LiteFS closed the event stream".to_string(),
                    Err(e) => break e.to_string(),
                }
            },
        };
        ledger.mark_gap();
        if started.elapsed() >= HEALTHY {
            backoff.reset();
        }
        if to_worker
            .send(Signal::Disconnected { reason })
            .await
            .is_err()
        {
            return;
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

//! The second source: the LiteFS Cloud backup API, spoken directly (no Docker, no LiteFS).
//!
//! [`client`] sends the API's requests, [`poller`] watches `GET /pos` and triggers the
//! sync worker, [`fetch`] streams a snapshot into the staged file through the [`ltx`]
//! decoder; the sync job ([`crate::sync::job`]) then verifies, publishes and inspects it
//! as it does a LiteFS export. [`proxy`] decides, on purpose, whether a proxy is used.

pub mod client;
pub mod fetch;
pub mod ltx;
pub mod poller;
pub mod proxy;

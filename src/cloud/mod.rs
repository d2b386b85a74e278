//! The second source: the LiteFS Cloud backup API, spoken directly (no Docker, no LiteFS).
//!
//! [`client`] sends the API's requests (the sync's poller, beside LiteFS's listener,
//! watches `GET /pos` with it), [`fetch`] streams a snapshot into the staged file through the [`ltx`]
//! decoder; the sync job ([`crate::sync::job`]) then verifies, publishes and inspects it
//! as it does a LiteFS export. [`proxy`] decides, on purpose, whether a proxy is used.

pub mod client;
pub mod fetch;
pub mod ltx;
pub mod proxy;

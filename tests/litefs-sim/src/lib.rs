//! `litefs-sim`: a small simulator of the LiteFS 0.5 HTTP API.
//!
//! It generates a Vori-like domain database, commits realistic transactions
//! to it, and serves `/events`, `/export` and `/info` the way LiteFS does,
//! with the LiteFS checksum of every state. Fault modes
//! ([`Misbehaviour`]) let tests check how a client copes with a misbehaving
//! server. Used in-process by tests, by benchmarks, and as a binary.
//!
//! [`cloud`] is the other source the app syncs from: a LiteFS Cloud backup service (as
//! the self-hosted litefs-backup serves it) over one SQLite file.
//!
//! HTTP API (see [`Sim::serve`]):
//! - `GET /events`: newline-delimited JSON, an `init` line (no `hostname`, as
//!   on a static primary) then one `tx` line per commit; a subscriber that
//!   falls behind is disconnected;
//! - `GET /export?name=<db>`: the database image (pages 1..N, rollback
//!   journal header), chunked with no `Content-Length` as LiteFS sends it; a
//!   failure after bytes were sent appends its text to the body, which ends
//!   with 200; 404 for other names;
//! - `GET /info`: node info, pretty-printed JSON as `text/plain`;
//! - control, not LiteFS: `POST /sim/commit?count=N`,
//!   `POST /sim/burst?count=N&over_ms=M` and `GET /sim/position` answer a
//!   [`Position`]; `POST /sim/misbehave?mode=<snake_case>` answers 204.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use litefs_sim::{Sim, SimConfig};
//! let sim = Sim::create(SimConfig { size_mb: 1, ..SimConfig::new("/var/tmp/sim") })?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let server = tokio::spawn({
//!     let sim = sim.clone();
//!     async move { sim.serve(listener).await }
//! });
//! let position = sim.commit(3).await?;
//! assert_eq!(position, sim.position());
//! server.abort(); // closes the listener and every connection
//! # Ok(()) }
//! ```

mod catalog;
mod checksum;
pub mod cloud;
mod events;
mod export;
mod generate;
mod http;
mod image;
mod misbehaviour;
mod position;
mod sim;
mod store;
mod time;
mod wal;
mod workload;

pub use checksum::database_checksum;
pub use generate::populate;
pub use misbehaviour::Misbehaviour;
pub use position::Position;
pub use sim::{Sim, SimConfig};
pub use workload::apply as apply_change;

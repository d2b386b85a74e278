//! `litefs-sim`: a small simulator of the LiteFS 0.5 HTTP API.
//!
//! It generates a Vori-like domain database, commits realistic transactions
//! to it, and serves `/events`, `/export` and `/info` the way LiteFS does,
//! with the LiteFS checksum of every state. Fault modes
//! ([`Misbehaviour`]) let tests check how a client copes with a misbehaving
//! server. Used in-process by tests, by benchmarks, and as a binary.

mod catalog;
mod checksum;
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
pub use misbehaviour::Misbehaviour;
pub use position::Position;
pub use sim::{Sim, SimConfig};

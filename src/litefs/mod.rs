//! Everything that speaks LiteFS: its database checksum, its event stream and its HTTP API.

pub mod checksum;
pub mod client;
pub mod events;
pub mod pace;
pub mod paced_body;
pub mod pos;

pub use checksum::{Checksum, Checksummer};
pub use events::{Event, TxEvent};

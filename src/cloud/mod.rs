//! The second source: the LiteFS Cloud backup API, spoken directly (no Docker, no LiteFS).
//!
//! [`ltx`] decodes the snapshots it serves.

pub mod ltx;
#[cfg(test)]
pub mod standin;

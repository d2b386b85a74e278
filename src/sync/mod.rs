//! The sync worker: from LiteFS transactions to published files.
//!
//! [`listener`] follows LiteFS's event stream, [`poller`] the cloud's position (the same
//! signals), [`ledger`] remembers the transactions it
//! announced, [`coalesce`] decides when a sync runs, [`download`] streams one export to a
//! staged file, [`stamp`] notices a published file changed behind our back, [`foreign`]
//! tells whether someone else's newer file must not be hidden, [`job`] takes a snapshot
//! through verify → publish → inspect (the inspection running beside it, `inspecting`), and
//! [`worker`] ties them together and keeps the status.

pub mod coalesce;
pub mod download;
pub mod folder_watch;
pub mod foreign;
mod inspecting;
pub mod job;
pub mod ledger;
pub mod listener;
pub mod poller;
pub mod stamp;
pub mod worker;

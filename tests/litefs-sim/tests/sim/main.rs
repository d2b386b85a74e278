//! Integration tests of the simulator over real HTTP.

mod common;
mod database;
mod events;
mod export;
mod faults;

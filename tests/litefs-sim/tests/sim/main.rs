//! Integration tests of the simulator over real HTTP.

mod cloud;
mod common;
mod database;
mod events;
mod export;
mod faults;

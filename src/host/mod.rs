//! The process around the pipeline: the single instance, the serve loop, the sync core.
//!
//! [`app`] is what a launch runs: it claims the single instance ([`serve::claim`]), then
//! runs [`serve::serve`] on tokio, beside the tray on the main thread or alone when
//! headless. [`serve`] answers the control socket and the tray, restarts the core when
//! the settings change and retries a core that could not start. [`sync_core`] wires one
//! core: the container supervisor or a fixed URL, the event listener and the worker, all
//! owned by the core's task. [`demo`] runs the same core against a local litefs-sim
//! container. [`environment`] is the process's environment, read once at start and
//! handed down.

pub mod app;
pub mod demo;
pub mod environment;
pub mod serve;
pub mod shutdown;
pub mod sync_core;

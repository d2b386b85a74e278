//! The container manager: LiteFS in Docker, driven through the Engine API.
//!
//! [`endpoint`] finds the engine, [`spec`] defines the container in one place,
//! [`engine`] wraps the API calls (never touching what lacks our label),
//! [`supervisor`] keeps the container as the spec says, [`legacy`] retires the container
//! of voripos-domain-sync 0.4.x, and [`image`] builds the `litefs-sim` image for the demo
//! and the tests.

pub mod endpoint;
pub mod engine;
pub mod image;
pub mod legacy;
pub mod spec;
pub mod supervisor;

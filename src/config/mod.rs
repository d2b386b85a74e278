//! The configuration file (TOML) and its defaults.
//!
//! Every key has a default, so an empty or missing file is a valid configuration. The
//! file is found through `--config`, then `VORIPOS_DOMAIN_SYNC_CONFIG`, then the
//! platform's config folder. Paths may start with `~/`.
//!
//! Every value is checked as it is read (see [`check`]), so a value that could crash or
//! mislead the app is refused with the file, line, column and key; errors never quote
//! the file's text, which may hold the token.
//!
//! [`schema`] is the file's shape, [`defaults`] its defaults, [`load`] reads and checks
//! it, [`folders`] resolves its paths; [`token`] finds the LiteFS Cloud token,
//! [`user_defaults`] reads the POS app's macOS preferences, [`managed`] an MDM's.

pub mod check;
mod defaults;
mod folders;
mod load;
pub mod managed;
mod schema;
pub mod token;
pub mod user_defaults;

pub use defaults::{DEFAULT_IMAGE, DEFAULT_TABLES};
pub use folders::{
    choose_folder, expand_home, named_status_file, AppDirs, PublishFolder, POS_CONTAINER,
    SANDBOXED_DIR, UNSANDBOXED_DIR,
};
pub use load::{config_path, ConfigError, CONFIG_ENV, MAX_CONFIG_BYTES};
pub use schema::{
    Cloud, Config, Container, LiteFs, Notifications, Publish, PublishMode, Secret, Source,
    SourceKind, Status, Sync, Telemetry,
};

#[cfg(test)]
mod tests;

//! The command line: one binary for the app, the headless daemon and the support commands.

pub mod commands;
pub mod config_report;
pub mod uninstall;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Exit code: the command failed.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code: the command needs a running instance and there is none.
pub const EXIT_NO_INSTANCE: i32 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "voripos-domain-sync",
    version,
    about = "Keeps the VoriPOS domain database in sync with LiteFS and shows that it is current"
)]
pub struct Cli {
    /// Config file (default: $VORIPOS_DOMAIN_SYNC_CONFIG, then the platform config folder)
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run the sync (the menu-bar app, or with --headless the same core without a tray)
    Run {
        /// No tray icon: for servers, CI and machines without a display
        #[arg(long)]
        headless: bool,
    },
    /// Show the running instance's status
    Status {
        /// The status as JSON (the documented schema)
        #[arg(long)]
        json: bool,
    },
    /// Ask the running instance to check LiteFS and publish anything new now
    Resync,
    /// Ask the running instance to delete the local LiteFS replica and download it again
    Reset {
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
    /// Ask the running instance to stop
    Quit,
    /// Print a database file's LiteFS checksum, page size and page count
    Verify {
        file: PathBuf,
        /// Exit non-zero unless the checksum is this (16 hex digits)
        #[arg(long, value_name = "HEX")]
        expect: Option<String>,
    },
    /// Print the effective configuration (the token redacted)
    Config,
    /// Remove the app's agent, login item, container, volume, logs, support folder and
    /// config (never the POS's published files)
    Uninstall {
        /// Only list what would be removed
        #[arg(long)]
        dry_run: bool,
    },
    /// Run the whole sync against a local litefs-sim: no token, no registry
    Demo {
        /// Folder for the demo's files (default: the app's data folder, under demo/)
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Size of the simulated domain database, in MB
        #[arg(long, default_value_t = 8)]
        size_mb: u64,
        /// Port for litefs-sim's API on 127.0.0.1
        #[arg(long, default_value_t = 20212)]
        port: u16,
    },
}

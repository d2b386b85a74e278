//! `voripos-domain-sync`: the entry point; parses the command line and runs a command.

mod commands;

use clap::Parser;

use voripos_domain_sync::cli::{Cli, EXIT_FAILURE};

fn main() {
    let cli = Cli::parse();
    init_logging();
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_FAILURE
        }
    };
    std::process::exit(code);
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

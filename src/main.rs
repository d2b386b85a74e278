//! `voripos-domain-sync`: the entry point; parses the command line and runs a command.

use clap::Parser;

use voripos_domain_sync::cli::{commands, Cli, Cmd, EXIT_FAILURE};
use voripos_domain_sync::config::token;
use voripos_domain_sync::{logs, secrets};

fn main() {
    let cli = Cli::parse();
    token::register_environment();
    // The long-running app also logs to files; the short commands only to stderr.
    let long_running = matches!(cli.command, None | Some(Cmd::Run { .. }));
    let log_dir = long_running.then(logs::dir);
    let log_guard = logs::init(log_dir.as_deref());
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", secrets::scrub(&format!("{e:#}")));
            EXIT_FAILURE
        }
    };
    drop(log_guard);
    std::process::exit(code);
}

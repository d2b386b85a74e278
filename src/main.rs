//! `voripos-domain-sync`: the entry point; reads the process's environment once, parses
//! the command line and runs a command.

use clap::Parser;

use voripos_domain_sync::cli::{commands, Cli, Cmd, EXIT_FAILURE};
use voripos_domain_sync::host::environment::Environment;
use voripos_domain_sync::{logs, secrets};

fn main() {
    let cli = Cli::parse();
    // First: the token it holds is registered for scrubbing before anything is logged.
    let env = Environment::from_process();
    // The long-running app also logs to files; the short commands only to stderr.
    let long_running = matches!(cli.command, None | Some(Cmd::Run { .. }));
    let log_dir = long_running.then(|| logs::dir(&env.dirs));
    let log_guard = logs::init(
        log_dir.as_deref(),
        &env.rust_log,
        env.xpc_service_name.as_deref(),
    );
    let code = match commands::run(cli, &env) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", secrets::scrub(&format!("{e:#}")));
            EXIT_FAILURE
        }
    };
    drop(log_guard);
    std::process::exit(code);
}

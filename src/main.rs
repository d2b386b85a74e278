//! `voripos-domain-sync`: the entry point; reads the process's environment once, parses
//! the command line, runs a command and returns its exit code (the process ends here;
//! see `host::shutdown` for the one exception, a menu-bar UI that hangs).

use std::process::ExitCode;

use clap::Parser;

use voripos_domain_sync::cli::{commands, Cli, Cmd, EXIT_FAILURE};
use voripos_domain_sync::host::environment::Environment;
use voripos_domain_sync::{logs, secrets};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // First: the token it holds is registered for scrubbing before anything is logged.
    let env = Environment::from_process();
    // The long-running app and the demo also log to files; the short commands only to
    // stderr. The demo prints plain lines of its own: its log goes to the files only.
    let demo = matches!(cli.command, Some(Cmd::Demo { .. }));
    let long_running = demo || matches!(cli.command, None | Some(Cmd::Run { .. }));
    let log_dir = long_running.then(|| logs::dir(&env.dirs));
    let log_guard = logs::init(
        log_dir.as_deref(),
        &env.rust_log,
        env.xpc_service_name.as_deref(),
        demo,
    );
    let code = match commands::run(cli, &env) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", secrets::scrub(&format!("{e:#}")));
            EXIT_FAILURE
        }
    };
    drop(log_guard);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

//! The subcommands: each turns arguments into calls of the library and an exit code.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use chrono::Utc;

use crate::cli::{config_report, uninstall};
use crate::cli::{Cli, Cmd, EXIT_FAILURE, EXIT_NO_INSTANCE};
use crate::config::token;
use crate::config::{self, Config};
use crate::control;
use crate::control::Request;
use crate::host::environment::Environment;
use crate::host::{app, demo, serve};
use crate::ipc::{self, protocol::Response, IpcError};
use crate::litefs::checksum::checksum_file;
use crate::litefs::Checksum;
use crate::login::{launch_agent, login_item};
use crate::logs;
use crate::small_file;
use crate::status;
use crate::telemetry;
use crate::verify::check_layout;

/// Runs the parsed command line; returns the exit code.
/// `env` is the process's environment, read once at start.
pub fn run(cli: Cli, env: &Environment) -> anyhow::Result<i32> {
    let cli_flag = cli.config.is_some();
    let (config_path, explicit) =
        config::config_path(cli.config.as_deref(), env.config_file.as_deref(), &env.dirs);
    let load = || Config::load_with(&config_path, explicit, &env.managed_files());
    match cli.command {
        None | Some(Cmd::Run { .. }) => {
            let headless = matches!(cli.command, Some(Cmd::Run { headless: true }));
            let sources = serve::Sources::new(config_path, explicit, env.clone());
            match app::run(sources, headless)? {
                app::Outcome::Stopped => Ok(0),
                app::Outcome::AlreadyRunning(socket) => {
                    eprintln!(
                        "voripos-domain-sync is already running (it answers at {}); use `voripos-domain-sync status`, `resync`, `reset` or `quit`.",
                        socket.display()
                    );
                    Ok(0)
                }
            }
        }
        Some(Cmd::Status { json }) => {
            status_command(&instance_places(&config_path, explicit, env), json)
        }
        Some(Cmd::Resync) => control(
            &instance_places(&config_path, explicit, env),
            Request::Resync,
        ),
        Some(Cmd::Reset { yes }) => {
            if !yes && !confirm_reset()? {
                eprintln!("Reset cancelled.");
                return Ok(EXIT_FAILURE);
            }
            control(
                &instance_places(&config_path, explicit, env),
                Request::Reset,
            )
        }
        Some(Cmd::Quit) => control(&instance_places(&config_path, explicit, env), Request::Quit),
        Some(Cmd::Verify { file, expect }) => verify_command(&file, expect.as_deref()),
        Some(Cmd::Config) => config_command(&config_path, cli_flag, &load()?, env),
        Some(Cmd::Uninstall { dry_run }) => {
            // Even a broken configuration must not stand in the way of removing the app.
            let config = load().unwrap_or_else(|e| {
                eprintln!("warning: {e}; using the default settings");
                Config::default()
            });
            let cx = uninstall::survey::Context {
                config: &config,
                env,
                config_path: &config_path,
                explicit,
            };
            uninstall_command(&cx, dry_run)
        }
        Some(Cmd::Demo { dir, size_mb, port }) => {
            let dir = dir.unwrap_or_else(|| env.dirs.data.join("demo"));
            let runtime = app::runtime()?;
            let demo = runtime.block_on(demo::prepare(&dir, size_mb, port, env))?;
            let socket =
                runtime.block_on(ipc::server::bind(&ipc::socket_path(&demo.status_file())))?;
            let (shutdown, board) = app::host_parts(&runtime)?;
            let status = board.subscribe();
            let log_dir = logs::dir(&env.dirs);
            app::run_core(runtime, env, false, status, move |app| {
                demo.run(socket, board, app, shutdown, log_dir)
            })?;
            Ok(0)
        }
    }
}

/// Where the running instance may be found: the status files whose control sockets to
/// ask, in order. With a usable config, its status file. With a config that cannot be
/// used (a typo made while the app runs), the app keeps the last good configuration's
/// status file and socket, so the ones the file names (read leniently) are asked first,
/// then the default ones (where an app that started on a bad file answers).
/// Whatever the config says, the socket the instance started with this config file said
/// it answers at ([`ipc::breadcrumb`]) is asked first.
pub struct Places<'a> {
    pub sockets: Vec<std::path::PathBuf>,
    pub status_files: Vec<std::path::PathBuf>,
    pub env: &'a Environment,
}

fn instance_places<'a>(config_path: &Path, explicit: bool, env: &'a Environment) -> Places<'a> {
    let sources = serve::Sources::new(config_path.to_path_buf(), explicit, env.clone());
    let status_files: Vec<std::path::PathBuf> = match sources.load() {
        serve::Loaded::Ready { config, .. } => vec![config.status_file(&env.dirs)],
        serve::Loaded::Invalid(message) => {
            eprintln!("warning: {message}; asking the running instance anyway");
            let mut files: Vec<_> = config::named_status_file(config_path, env.home())
                .into_iter()
                .collect();
            files.push(Config::default().status_file(&env.dirs));
            files.dedup();
            files.retain(|f| ipc::check_socket_path(&ipc::socket_path(f)).is_ok());
            files
        }
    };
    let mut sockets: Vec<_> = ipc::breadcrumb::read(&env.dirs.data, config_path)
        .into_iter()
        .collect();
    for socket in status_files.iter().map(|f| ipc::socket_path(f)) {
        if !sockets.contains(&socket) {
            sockets.push(socket);
        }
    }
    Places {
        sockets,
        status_files,
        env,
    }
}

/// Sends `request` to the running instance at the first of `places` that answers;
/// `Err(code)` is the exit code to use.
fn ask(places: &Places, request: Request) -> anyhow::Result<Result<Response, i32>> {
    let runtime = app::runtime()?;
    let mut not_running = None;
    for socket in &places.sockets {
        let answer = runtime.block_on(ipc::client::request(
            socket,
            request,
            Duration::from_secs(10),
        ));
        match answer {
            Ok(response) if response.ok => return Ok(Ok(response)),
            Ok(response) => bail!("{}", response.message.unwrap_or_default()),
            Err(IpcError::NotRunning(path)) => {
                not_running.get_or_insert(path);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let path = not_running.unwrap_or_default();
    eprintln!(
        "No running instance: nothing answers at {}. {}",
        path.display(),
        how_to_start(started_here(places.env.home()))
    );
    Ok(Err(EXIT_NO_INSTANCE))
}

fn control(places: &Places, request: Request) -> anyhow::Result<i32> {
    Ok(match ask(places, request)? {
        Ok(response) => {
            println!("{}", response.message.unwrap_or_else(|| "ok".into()));
            0
        }
        Err(code) => code,
    })
}

fn confirm_reset() -> anyhow::Result<bool> {
    let (title, text) = control::reset_confirmation();
    if !std::io::stdin().is_terminal() {
        bail!(
            "{title}: {text} Run `voripos-domain-sync reset --yes` to confirm without a terminal."
        );
    }
    eprint!("{title}\n{text}\nReset now? [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// How the app is started on a Mac.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Started {
    Homebrew,
    LaunchAgent,
    LoginItem,
    ByHand,
}

/// How the app is started on this Mac: Homebrew's service, the LaunchAgent, the login
/// item of the `.app` this command is part of, or by hand.
fn started_here(home: Option<&Path>) -> Started {
    let Some(home) = home else {
        return Started::ByHand;
    };
    match launch_agent::state(home) {
        launch_agent::State::ByHomebrew => Started::Homebrew,
        launch_agent::State::On => Started::LaunchAgent,
        _ => {
            let exe = std::env::current_exe().and_then(|e| e.canonicalize()).ok();
            match login_item::state_here(Some(home), exe.as_deref()) {
                launch_agent::State::On => Started::LoginItem,
                _ => Started::ByHand,
            }
        }
    }
}

/// How to start the app again, as advice for someone who finds it not running.
fn how_to_start(started: Started) -> String {
    match started {
        Started::Homebrew => "It is a Homebrew service here: start it with \
            `brew services restart voripos-domain-sync`."
            .into(),
        Started::LaunchAgent => format!(
            "It starts at login here (LaunchAgent {label}): start it now with \
             `launchctl kickstart gui/$(id -u)/{label}`, or open the app.",
            label = launch_agent::LABEL
        ),
        Started::LoginItem => format!(
            "It starts at login here (a login item): start it now by opening the app \
             (`open -b {}`).",
            launch_agent::LABEL
        ),
        Started::ByHand => {
            "Nothing starts it at login here. Start it by opening the app, or \
              with `voripos-domain-sync` (`voripos-domain-sync run --headless` without a menu bar)."
                .into()
        }
    }
}

fn status_command(places: &Places, json: bool) -> anyhow::Result<i32> {
    let status = match ask(places, Request::Status)? {
        Ok(response) => response
            .status
            .context("the running instance sent no status")?,
        Err(code) => {
            // The last word of the instance that ran, if any, with its age.
            let last = places
                .status_files
                .iter()
                .find_map(|f| status::read_file(f).ok());
            if let Some(last) = last {
                if json {
                    println!("{}", serde_json::to_string_pretty(&last)?);
                } else {
                    eprintln!("{}", last_known(&last, Utc::now()));
                    eprint!("{}", last.render(Utc::now()));
                }
            }
            return Ok(code);
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", status.render(Utc::now()));
    }
    Ok(0)
}

/// One line on a status file nobody is updating: when it was written and whether the
/// instance stopped or died.
fn last_known(last: &status::Status, now: chrono::DateTime<Utc>) -> String {
    let written = status::ago(last.updated_at, now);
    if last.running {
        format!(
            "The last status was written {written} by an instance (pid {}) that did not stop \
             cleanly: it is no longer current.",
            last.pid
        )
    } else {
        format!("The app stopped {written}; its last status was:")
    }
}

fn uninstall_command(cx: &uninstall::survey::Context<'_>, dry_run: bool) -> anyhow::Result<i32> {
    let runtime = app::runtime()?;
    let plan = uninstall::plan(&runtime.block_on(uninstall::survey::survey(cx)));
    if dry_run {
        print!("{}", uninstall::render_dry_run(&plan));
        return Ok(0);
    }
    let outcomes = runtime.block_on(uninstall::survey::carry_out(cx, &plan.steps));
    let mut failed = false;
    for (step, outcome) in plan.steps.iter().zip(outcomes) {
        match outcome {
            Ok(()) => println!("Removed: {step}"),
            Err(why) => {
                failed = true;
                println!("Failed: {step}: {why}");
            }
        }
    }
    if plan.steps.is_empty() {
        println!("Nothing to remove.");
    }
    print!("{}", uninstall::render_notes(&plan));
    Ok(if failed { EXIT_FAILURE } else { 0 })
}

fn verify_command(file: &Path, expect: Option<&str>) -> anyhow::Result<i32> {
    let expect: Option<Checksum> = expect
        .map(|e| {
            e.parse()
                .with_context(|| format!("--expect {e:?} is not a 16-digit hex checksum"))
        })
        .transpose()?;
    let summary = checksum_file(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut header = Vec::with_capacity(100);
    std::fs::File::open(file)
        .and_then(|f| f.take(100).read_to_end(&mut header))
        .with_context(|| format!("cannot read {}", file.display()))?;
    let layout = check_layout(&header, &summary, None)
        .with_context(|| format!("{} is not a complete SQLite database", file.display()))?;
    println!("checksum {}", summary.checksum);
    println!("page_size {}", layout.page_size);
    println!("pages {}", layout.pages);
    match expect {
        Some(e) if e != summary.checksum => {
            eprintln!("checksum mismatch: expected {e}, got {}", summary.checksum);
            Ok(EXIT_FAILURE)
        }
        _ => Ok(0),
    }
}

fn config_command(
    path: &Path,
    from_flag: bool,
    config: &Config,
    env: &Environment,
) -> anyhow::Result<i32> {
    let raw = match small_file::read_text(path, config::MAX_CONFIG_BYTES) {
        Ok(text) => Some(
            // The message only: the error's display would quote the file (and a token in it).
            toml::from_str::<toml::Table>(&text)
                .map_err(|e| anyhow::anyhow!("cannot parse {}: {}", path.display(), e.message()))?,
        ),
        Err(e) if e.not_found() => None,
        Err(e) => bail!("cannot use the config file: {e}"),
    };
    let found = token::resolve(config, &env.token_places());
    for warning in &found.warnings {
        eprintln!("warning: {warning}");
    }
    print!(
        "{}",
        config_report::render(&config_report::Inputs {
            config,
            file: path,
            from_flag,
            raw: raw.as_ref(),
            config_from_env: env.config_file.is_some(),
            otlp: &env.otlp,
            token: &found,
            provisioned: telemetry::provisioned(env.home()),
            proxy: &env.proxy,
            status_file: &config.status_file(&env.dirs),
            publish_folder: &config.publish_folder(&env.dirs),
        })
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advice_follows_how_the_app_is_started() {
        assert!(how_to_start(Started::Homebrew).contains("brew services restart"));
        assert!(how_to_start(Started::LaunchAgent).contains("launchctl kickstart"));
        let login_item = how_to_start(Started::LoginItem);
        assert!(login_item.contains("login item"), "{login_item}");
        assert!(login_item.contains("open -b com.vori.VoriPOS.DomainSync"));
        assert!(!login_item.contains("--headless"), "{login_item}");
        assert!(how_to_start(Started::ByHand).contains("opening the app"));
    }

    #[test]
    fn a_bare_home_is_started_by_hand() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(started_here(Some(home.path())), Started::ByHand);
        assert_eq!(started_here(None), Started::ByHand);
    }

    #[test]
    fn the_last_word_says_whether_the_instance_stopped_or_died_and_when() {
        let now = Utc::now();
        let mut last = status::Status::starting("u", now);
        last.updated_at = now - chrono::Duration::minutes(42);
        last.running = false;
        assert_eq!(
            last_known(&last, now),
            "The app stopped 42 min ago; its last status was:"
        );
        last.running = true;
        let died = last_known(&last, now);
        assert!(died.contains("42 min ago") && died.contains("did not stop cleanly"));
    }
}

//! The app as launched with no subcommand (or `run`): claim the single instance, then run
//! the tray on the main thread and the core on a tokio runtime in another thread, or the
//! core alone when there is no display or `--headless` was asked for.

use std::future::Future;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use tao::event_loop::EventLoopProxy;
use tokio::runtime::Runtime;
use tokio::sync::watch;

use crate::host::environment::Environment;
use crate::host::serve::{self, Sources};
use crate::host::shutdown::{self, Shutdown, UI_EXIT_BOUND};
use crate::ipc::IpcError;
use crate::logs;
use crate::status::board::Board;
use crate::status::Status;
use crate::tray::link::{self, AppLink};
use crate::tray::{self, display, Wake};

/// How a launch ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Ran until told to stop.
    Stopped,
    /// Another instance answers on the control socket; nothing was started.
    AlreadyRunning(PathBuf),
}

/// How long, once the core has ended, blocking work still running (a write to a disk
/// that stopped answering) may delay the exit.
const BLOCKING_GRACE: Duration = Duration::from_secs(2);

/// Runs the app until SIGTERM, SIGINT or *Quit*.
pub fn run(sources: Sources, headless: bool) -> anyhow::Result<Outcome> {
    let runtime = runtime()?;
    // First: a SIGTERM from here on stops the app cleanly, however early it comes.
    let (shutdown, board) = host_parts(&runtime)?;
    let (loaded, socket) = match runtime.block_on(serve::claim(&sources)) {
        Ok(claimed) => claimed,
        Err(IpcError::AlreadyRunning(path)) => return Ok(Outcome::AlreadyRunning(path)),
        Err(e) => return Err(e.into()),
    };
    let env = sources.env.clone();
    let status = board.subscribe();
    run_core(runtime, &env, headless, status, move |app| {
        serve::serve(sources, loaded, socket, board, app, shutdown)
    })?;
    Ok(Outcome::Stopped)
}

/// What the host owns for the app's whole life, made on `runtime`: the one shutdown
/// owner (listening for signals from now on) and the one status board.
pub fn host_parts(runtime: &Runtime) -> anyhow::Result<(Shutdown, Board)> {
    runtime.block_on(async { Ok((Shutdown::listen()?, Board::waiting())) })
}

/// The multi-threaded runtime the core runs on.
pub fn runtime() -> anyhow::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs `core` (handed the app's end of the UI link) on `runtime` until it returns: in
/// another thread with the tray, showing `status` (the host's board), on this one, or
/// alone on this thread when `headless` was asked for or `env` has no usable display.
pub fn run_core<F, Fut>(
    runtime: Runtime,
    env: &Environment,
    headless: bool,
    status: watch::Receiver<Status>,
    core: F,
) -> anyhow::Result<()>
where
    F: FnOnce(AppLink) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut mode = display::decide(headless, &env.displays);
    if mode == display::Mode::Tray && !display::toolkit_ready() {
        mode = display::Mode::Headless("the display does not answer");
    }
    if let display::Mode::Headless(reason) = mode {
        tracing::info!("running without a tray: {reason}");
        let result = runtime.block_on(core(link::link(status).0));
        runtime.shutdown_timeout(BLOCKING_GRACE);
        return result;
    }
    let (app, ui) = link::link(status);
    let event_loop = tray::event_loop();
    tray::forward_menu_events(event_loop.create_proxy());
    let proxy = event_loop.create_proxy();
    let mut statuses = ui.status.clone();
    let mut settings = ui.notifications.clone();
    // Closed (dropped) when the UI's loop has ended.
    let (ui_closed, ui_gone) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("core".into())
        .spawn(move || {
            let exit = ExitOnDrop(proxy.clone());
            let result = runtime.block_on(async move {
                tokio::spawn(async move {
                    loop {
                        let changed = tokio::select! {
                            changed = statuses.changed() => changed,
                            changed = settings.changed() => changed,
                        };
                        if changed.is_err() || proxy.send_event(Wake::Status).is_err() {
                            break;
                        }
                    }
                });
                core(app).await
            });
            runtime.shutdown_timeout(BLOCKING_GRACE);
            close_ui(&exit.0, &ui_gone, &result);
            result
        })
        .context("cannot start the core thread")?;
    let places = tray::Places {
        log_dir: logs::dir(&env.dirs),
        home: env.dirs.home.clone(),
        exe: env.exe.clone(),
    };
    tray::run(event_loop, ui, places);
    drop(ui_closed);
    match thread.join() {
        Ok(result) => result,
        Err(_) => anyhow::bail!("the core thread panicked"),
    }
}

/// Closes the UI when the core's thread ends, however it ends.
struct ExitOnDrop(EventLoopProxy<Wake>);

impl Drop for ExitOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send_event(Wake::Exit);
    }
}

/// Asks the UI to close and waits until it has ([`UI_EXIT_BOUND`] at most); when it is
/// stuck, the shutdown owner ends the process with the core's outcome
/// ([`shutdown::abandon_stuck_ui`]).
fn close_ui(proxy: &EventLoopProxy<Wake>, ui_gone: &mpsc::Receiver<()>, core: &anyhow::Result<()>) {
    let _ = proxy.send_event(Wake::Exit);
    if let Err(mpsc::RecvTimeoutError::Timeout) = ui_gone.recv_timeout(UI_EXIT_BOUND) {
        if let Err(e) = core {
            tracing::error!("{e:#}");
        }
        shutdown::abandon_stuck_ui(u8::from(core.is_err()));
    }
}

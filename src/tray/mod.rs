//! The menu-bar UI: the tray icon and its menu, on the main thread's tao event loop.
//!
//! It knows nothing of Docker or SQLite: it reads [`Status`] snapshots from a
//! [`UiLink`] (woken by an [`EventLoopProxy`]), renders them through the pure
//! [`MenuModel`], and turns clicks into requests for the core, the same requests the
//! control socket carries. Every click is answered in the menu ([`feedback::Feedback`]).
//! Dialogs never block the loop ([`dialog::show`]): their answers come back as
//! [`Wake::Answer`]. Relative times are refreshed at [`menu::next_refresh`]
//! (`ControlFlow::WaitUntil`, and an [`alarm::Alarm`] where that alone does not wake the
//! loop), never in a busy loop; desktop notifications follow
//! [`episodes::Episodes`].

mod alarm;
pub mod dialog;
pub mod display;
pub mod episodes;
pub mod feedback;
pub mod icon;
pub mod link;
pub mod menu;
pub mod native;
pub mod recent_errors;

mod desktop;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{Local, Utc};
use tao::event::{Event, StartCause};
use tao::event_loop::{ControlFlow, EventLoop, EventLoopBuilder, EventLoopProxy};
use tao::platform::run_return::EventLoopExtRunReturn;
use tokio::sync::oneshot;
use tray_icon::menu::MenuEvent;
use tray_icon::{TrayIcon, TrayIconBuilder};

use crate::control::Request;
use crate::error_kind::NextStep;
use crate::login::login_item;
use crate::status::Status;
use crate::tray::link::UiLink;
use crate::tray::recent_errors::RecentErrors;
use episodes::Episodes;
use feedback::Feedback;
use menu::{ActionId, IconKind, LaunchAtLogin, MenuModel};
use native::NativeMenu;

/// What wakes the event loop.
#[derive(Debug)]
pub enum Wake {
    /// A new status is in the link.
    Status,
    /// The time the UI asked to be woken at has come.
    Due,
    Menu(MenuEvent),
    /// A dialog was answered (`confirmed`: its confirming button was chosen).
    Answer {
        dialog: Dialog,
        confirmed: bool,
    },
    /// The core has stopped: close the UI.
    Exit,
}

/// The tray's dialogs; each is open at most once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialog {
    ConfirmReset,
    About,
    /// *Show details…*: the state in full.
    Details,
    /// An action of the tray failed (copying, launch at login).
    Failure,
}

/// Creates the event loop (on the main thread, after [`display::decide`] said there is a
/// display).
pub fn event_loop() -> EventLoop<Wake> {
    #[allow(unused_mut)] // changed on macOS only
    let mut event_loop = EventLoopBuilder::<Wake>::with_user_event().build();
    #[cfg(target_os = "macos")]
    {
        // A menu-bar app: no Dock icon, also when started outside the .app bundle.
        use tao::platform::macos::{ActivationPolicy, EventLoopExtMacOS};
        event_loop.set_activation_policy(ActivationPolicy::Accessory);
    }
    event_loop
}

/// Sends menu clicks into the event loop.
pub fn forward_menu_events(proxy: EventLoopProxy<Wake>) {
    MenuEvent::set_event_handler(Some(move |event| {
        let _ = proxy.send_event(Wake::Menu(event));
    }));
}

/// Where the UI finds what it shows besides the status.
pub struct Places {
    pub log_dir: PathBuf,
    /// For launch at login; `None` disables it.
    pub home: Option<PathBuf>,
    /// The program the LaunchAgent starts.
    pub exe: Option<PathBuf>,
}

/// Runs the UI until [`Wake::Exit`].
pub fn run(mut event_loop: EventLoop<Wake>, link: UiLink, places: Places) {
    let mut ui = Ui::new(link, places, event_loop.create_proxy());
    event_loop.run_return(move |event, _, control_flow| match event {
        Event::NewEvents(StartCause::Init) => {
            ui.create_tray();
            *control_flow = ui.render();
        }
        Event::NewEvents(StartCause::ResumeTimeReached { .. })
        | Event::UserEvent(Wake::Status | Wake::Due) => {
            *control_flow = ui.render();
        }
        Event::UserEvent(Wake::Menu(event)) => {
            if let Some(action) = native::action_of(&event.id) {
                ui.act(action);
                *control_flow = ui.render();
            }
        }
        Event::UserEvent(Wake::Answer { dialog, confirmed }) => {
            ui.answered(dialog, confirmed);
            *control_flow = ui.render();
        }
        Event::UserEvent(Wake::Exit) => {
            ui.tray = None;
            *control_flow = ControlFlow::Exit;
        }
        _ => {}
    });
}

struct Ui {
    link: UiLink,
    places: Places,
    proxy: EventLoopProxy<Wake>,
    alarm: Option<alarm::Alarm>,
    tray: Option<TrayIcon>,
    native: Option<NativeMenu>,
    icon: Option<IconKind>,
    tooltip: String,
    /// The menu's text as last logged, without its digits (see [`Ui::render`]).
    logged: String,
    episodes: Episodes,
    recent_errors: RecentErrors,
    feedback: Feedback,
    /// The dialogs open now.
    dialogs: HashSet<Dialog>,
    /// Kept alive: on X11 the copied text is served by this owner.
    clipboard: Option<arboard::Clipboard>,
}

impl Ui {
    fn new(link: UiLink, places: Places, proxy: EventLoopProxy<Wake>) -> Ui {
        let after = link.notifications.borrow().after;
        Ui {
            link,
            places,
            alarm: alarm::Alarm::start(proxy.clone()),
            proxy,
            tray: None,
            native: None,
            icon: None,
            tooltip: String::new(),
            logged: String::new(),
            episodes: Episodes::new(after),
            recent_errors: RecentErrors::default(),
            feedback: Feedback::default(),
            dialogs: HashSet::new(),
            clipboard: None,
        }
    }

    fn status(&self) -> Status {
        self.link.status.borrow().clone()
    }

    fn launch_at_login(&self) -> LaunchAtLogin {
        login_item::state_here(self.places.home.as_deref(), self.places.exe.as_deref())
    }

    fn model(&self, status: &Status) -> MenuModel {
        let now = Utc::now();
        MenuModel::from_status(status, now, &Local, self.launch_at_login())
            .with_feedback(&self.feedback, now)
    }

    fn create_tray(&mut self) {
        let status = self.status();
        let model = self.model(&status);
        let native = NativeMenu::new(&model);
        let mut builder = TrayIconBuilder::new()
            .with_menu(Box::new(native.menu.clone()))
            .with_tooltip(&model.tooltip)
            .with_icon_as_template(icon::is_template(model.icon));
        match icon::icon(model.icon) {
            Ok(image) => builder = builder.with_icon(image),
            Err(e) => tracing::error!(error = %e, "tray icon image"),
        }
        // On Linux tray-icon loads the AppIndicator library when the first icon is made,
        // and panics when it cannot: the sync (and the CLI) must go on without an icon.
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| builder.build()));
        match built {
            Err(_) => tracing::error!(
                "cannot create the tray icon: the AppIndicator library could not be loaded \
                 (install libayatana-appindicator3-1); the sync runs on without an icon"
            ),
            Ok(Ok(tray)) => {
                tracing::info!(headline = %model.headline, "tray icon shown: {:?}", model.icon);
                self.tray = Some(tray);
                self.native = Some(native);
                self.icon = Some(model.icon);
                self.tooltip = model.tooltip;
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot create the tray icon; the sync runs on")
            }
        }
    }

    /// Shows the current status; returns when to render again.
    fn render(&mut self) -> ControlFlow {
        let status = self.status();
        let now = Utc::now();
        self.feedback.observe(&status, now);
        let model = self.model(&status);
        if let Some(tray) = &self.tray {
            if let Some(native) = &mut self.native {
                native.update(&model);
            }
            if self.icon != Some(model.icon) {
                match icon::show(tray, model.icon) {
                    Ok(()) => {
                        tracing::info!("tray icon now: {:?}", model.icon);
                        self.icon = Some(model.icon);
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot change the tray icon"),
                }
            }
            if self.tooltip != model.tooltip {
                let _ = tray.set_tooltip(Some(&model.tooltip));
                self.tooltip = model.tooltip.clone();
            }
        }
        // Logged when more than a clock ticked (relative times change only digits), so
        // that the log's rate limit keeps the lines that matter.
        let text = model.text();
        let shape: String = text.chars().filter(|c| !c.is_ascii_digit()).collect();
        if self.logged != shape {
            tracing::debug!("menu shows: {text}");
            self.logged = shape;
        }
        self.recent_errors.observe(&status);
        let settings = self.link.notifications.borrow().clone();
        self.episodes.set_after(settings.after);
        if let Some(notice) = self.episodes.observe(&status, now) {
            if settings.enabled {
                desktop::notify(notice);
            }
        }
        let mut wait = menu::next_refresh(&status, now);
        if let Some(due) = self.episodes.next_due(now) {
            wait = wait.min(due + Duration::from_millis(10));
        }
        if let Some(change) = self.feedback.next_change(now) {
            wait = wait.min(change + Duration::from_millis(10));
        }
        let at = Instant::now() + wait;
        if let Some(alarm) = &self.alarm {
            alarm.set(at);
        }
        ControlFlow::WaitUntil(at)
    }

    /// Sends `request` to the core as the control socket would (the answer is not needed:
    /// the status shows the effect).
    fn send(&self, request: Request) {
        let (reply, _) = oneshot::channel();
        if let Err(e) = self.link.requests.try_send((request, reply)) {
            tracing::warn!(?request, error = %e, "the core did not take the request");
        }
    }

    fn act(&mut self, action: ActionId) {
        tracing::info!("menu clicked: {action:?}");
        let status = self.status();
        match action {
            ActionId::Details | ActionId::NextStep(NextStep::ShowDetails) => {
                let (title, text) =
                    menu::details(&status, Utc::now(), &Local, &self.places.log_dir);
                self.open(Dialog::Details, dialog::Spec::inform(title, text));
            }
            ActionId::NextStep(NextStep::OpenDocker) => desktop::open_docker(),
            ActionId::NextStep(NextStep::Reset) => self.act(ActionId::Reset),
            ActionId::NextStep(step) => tracing::warn!("{step:?} is no menu action"),
            ActionId::Resync => {
                self.send(Request::Resync);
                self.feedback.resync_sent(&status, Utc::now());
            }
            ActionId::Reset => {
                let (title, text) = crate::control::reset_confirmation();
                self.open(
                    Dialog::ConfirmReset,
                    dialog::Spec::confirm(title, text, "Reset"),
                );
            }
            ActionId::Quit => self.send(Request::Quit),
            ActionId::RevealFile => {
                if let Some(path) = &status.published_path {
                    desktop::reveal(path);
                }
            }
            ActionId::OpenLogs => desktop::open_folder(&self.places.log_dir),
            ActionId::CopyDiagnostics => {
                let text = menu::diagnostics(&status, &self.recent_errors, Utc::now());
                self.copy(&text);
            }
            ActionId::LaunchAtLogin => self.toggle_launch_at_login(),
            ActionId::About => {
                let (title, text) = menu::about(&status);
                self.open(Dialog::About, dialog::Spec::inform(title, text));
            }
        }
    }

    /// Shows `dialog` unless it is open already; its answer comes back as
    /// [`Wake::Answer`].
    fn open(&mut self, dialog: Dialog, spec: dialog::Spec) {
        if !self.dialogs.insert(dialog) {
            tracing::info!("{dialog:?} is open already");
            return;
        }
        tracing::info!("dialog opened: {dialog:?}");
        let proxy = self.proxy.clone();
        dialog::show(spec, move |confirmed| {
            let _ = proxy.send_event(Wake::Answer { dialog, confirmed });
        });
    }

    fn answered(&mut self, dialog: Dialog, confirmed: bool) {
        self.dialogs.remove(&dialog);
        tracing::info!(confirmed, "dialog answered: {dialog:?}");
        if dialog == Dialog::ConfirmReset {
            if confirmed {
                self.send(Request::Reset);
                self.feedback.reset_sent(Utc::now());
            } else {
                tracing::info!("reset cancelled");
            }
        }
    }

    fn copy(&mut self, text: &str) {
        let clipboard = match self.clipboard.take() {
            Some(c) => Ok(c),
            None => arboard::Clipboard::new(),
        };
        match clipboard.and_then(|mut c| c.set_text(text).map(|()| c)) {
            Ok(c) => {
                tracing::info!("diagnostics copied to the clipboard");
                self.clipboard = Some(c);
                self.feedback.copied(Utc::now());
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot copy the diagnostics");
                self.open(
                    Dialog::Failure,
                    dialog::Spec::inform("Cannot copy the diagnostics", e.to_string()),
                );
            }
        }
    }

    fn toggle_launch_at_login(&mut self) {
        let (Some(home), Some(exe)) = (&self.places.home, &self.places.exe) else {
            return;
        };
        let result = match self.launch_at_login() {
            LaunchAtLogin::On => login_item::set(home, exe, false),
            LaunchAtLogin::Off => login_item::set(home, exe, true),
            LaunchAtLogin::ByHomebrew | LaunchAtLogin::Unavailable => return,
        };
        match result {
            Ok(state) => tracing::info!("launch at login {state}"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot change launch at login");
                self.open(
                    Dialog::Failure,
                    dialog::Spec::inform("Cannot change launch at login", e.to_string()),
                );
            }
        }
    }
}

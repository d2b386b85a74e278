//! The menu model: every label, icon and enabled/disabled rule of the menu-bar app,
//! computed from a [`Status`] without a display.
//!
//! The tray only turns a [`MenuModel`] into native menu items and an [`ActionId`] click
//! into a command for the core. Times are formatted in the time zone handed in (the tray
//! passes `chrono::Local`, tests a fixed offset), and [`next_refresh`] says when the
//! relative times ("2 min ago") change, so the menu is re-rendered exactly then instead
//! of in a busy loop.
//!
//! The icons' tables are in [`icons`], the dialogs' texts in [`texts`].

mod icons;
#[cfg(test)]
mod tests;
mod texts;

pub use icons::{icon_file, icon_kind, icon_png, IconKind};
pub use texts::{about, details, diagnostics, source_name};

use std::fmt::Display;
use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone, Utc};

use crate::error_kind::{ErrorKind, NextStep};
pub use crate::login::launch_agent::State as LaunchAtLogin;
use crate::status::{ago, State, Status};
use crate::tray::feedback::Feedback;

/// The app's name as shown in *About* and in diagnostics.
pub const APP_NAME: &str = env!("CARGO_PKG_NAME");

/// The app's version as shown in *About* and in diagnostics.
pub const APP_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the tooltip says before the headline.
const TOOLTIP_PREFIX: &str = "VoriPOS Domain Sync";

/// How many characters of an error or detail the headline shows.
const HEADLINE_DETAIL_CHARS: usize = 60;

/// The longest wait [`next_refresh`] returns.
const MAX_REFRESH: Duration = Duration::from_secs(3600);

/// Everything the tray shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuModel {
    /// The state in a few plain words; also the first menu item (enabled, so that it
    /// reads as clearly as the rest; a click shows the details).
    pub headline: String,
    pub icon: IconKind,
    /// Repeats the headline.
    pub tooltip: String,
    pub items: Vec<Item>,
}

/// One menu entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// Disabled text.
    Label(String),
    Action {
        id: ActionId,
        label: String,
        enabled: bool,
    },
    Check {
        id: ActionId,
        label: String,
        checked: bool,
        enabled: bool,
    },
    Submenu {
        label: String,
        items: Vec<Item>,
    },
    Separator,
}

/// What a click on an item asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionId {
    /// The headline: shows the details.
    Details,
    /// The state's next step (only [`NextStep::OpenDocker`], [`NextStep::ShowDetails`]
    /// and [`NextStep::Reset`] are clickable).
    NextStep(NextStep),
    /// Shows the published file in the Finder.
    RevealFile,
    Resync,
    /// Asks with [`crate::control::reset_confirmation`] first.
    Reset,
    OpenLogs,
    CopyDiagnostics,
    LaunchAtLogin,
    About,
    Quit,
}

impl MenuModel {
    /// The menu for `status` at `now`, times shown in `tz`.
    pub fn from_status<Tz>(
        status: &Status,
        now: DateTime<Utc>,
        tz: &Tz,
        launch_at_login: LaunchAtLogin,
    ) -> MenuModel
    where
        Tz: TimeZone,
        Tz::Offset: Display,
    {
        let headline = headline(status, now);
        let configured = status.state != State::NotConfigured;
        let docker = status.state != State::DockerUnavailable;
        let file = match status.published_path.as_deref().and_then(|p| p.file_name()) {
            Some(name) => Item::Action {
                id: ActionId::RevealFile,
                label: name.to_string_lossy().into_owned(),
                enabled: true,
            },
            None => Item::Action {
                id: ActionId::RevealFile,
                label: "No file published yet".into(),
                enabled: false,
            },
        };
        let mut items = vec![Item::Action {
            id: ActionId::Details,
            label: headline.clone(),
            enabled: true,
        }];
        if let Some(step) = next_step(status) {
            items.extend(step_items(status, step, cfg!(target_os = "macos"), now));
        }
        items.extend([
            Item::Separator,
            Item::Label(time_line("Last sync", status.last_sync_at, now, tz)),
            Item::Label(time_line(
                &format!("Checked with {}", status.source.label()),
                status.last_check_at,
                now,
                tz,
            )),
            Item::Label(database_line(status, now, tz)),
            Item::Submenu {
                label: "Rows".into(),
                items: row_items(status),
            },
            file,
            Item::Separator,
            Item::Action {
                id: ActionId::Resync,
                label: "Resync now".into(),
                enabled: configured && docker,
            },
            Item::Action {
                id: ActionId::Reset,
                label: "Reset…".into(),
                // A reset recreates the container: it cannot work without Docker.
                enabled: configured && docker,
            },
            Item::Separator,
            Item::Action {
                id: ActionId::OpenLogs,
                label: "Open logs".into(),
                enabled: true,
            },
            Item::Action {
                id: ActionId::CopyDiagnostics,
                label: "Copy diagnostics".into(),
                enabled: true,
            },
            launch_item(launch_at_login),
            Item::Separator,
            Item::Action {
                id: ActionId::About,
                label: format!("About {APP_NAME} {APP_VERSION}"),
                enabled: true,
            },
            Item::Action {
                id: ActionId::Quit,
                label: quit_label(launch_at_login).into(),
                enabled: true,
            },
        ]);
        if let Some(by) = &status.managed_by {
            let about = items
                .iter()
                .position(|i| {
                    matches!(
                        i,
                        Item::Action {
                            id: ActionId::About,
                            ..
                        }
                    )
                })
                .unwrap_or(items.len());
            items.insert(about, Item::Label(format!("Managed by {by}")));
        }
        MenuModel {
            tooltip: format!("{TOOLTIP_PREFIX}: {headline}"),
            icon: icon_kind(status.state),
            headline,
            items,
        }
    }
}

impl MenuModel {
    /// The menu as one line of text ("Up to date | Last sync: … | [Rows: …] | …"; items
    /// that cannot be clicked now in parentheses), for the log.
    pub fn text(&self) -> String {
        fn line(item: &Item) -> Option<String> {
            match item {
                Item::Label(text) => Some(text.clone()),
                Item::Action { label, enabled, .. } | Item::Check { label, enabled, .. } => {
                    Some(if *enabled {
                        label.clone()
                    } else {
                        format!("({label})")
                    })
                }
                Item::Submenu { label, items } => Some(format!(
                    "[{label}: {}]",
                    items.iter().filter_map(line).collect::<Vec<_>>().join(", ")
                )),
                Item::Separator => None,
            }
        }
        self.items
            .iter()
            .filter_map(line)
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// This menu with what the last clicks left at `now` ("Copied ✓", "Checking…",
    /// "Reset started"); a reset once started is not offered again while that shows.
    pub fn with_feedback(mut self, feedback: &Feedback, now: DateTime<Utc>) -> MenuModel {
        for item in &mut self.items {
            let Item::Action { id, label, enabled } = item else {
                continue;
            };
            let said = match id {
                ActionId::CopyDiagnostics => feedback.copy_label(now),
                ActionId::Resync => feedback.resync_label(now),
                ActionId::Reset => feedback.reset_label(now).inspect(|_| *enabled = false),
                _ => None,
            };
            if let Some(said) = said {
                *label = said;
            }
        }
        self
    }
}

/// The headline: the state in a few plain words (the error kinds' titles, see
/// [`ErrorKind::title`]); never a URL, a port or a raw error.
pub fn headline(status: &Status, now: DateTime<Utc>) -> String {
    let kind = status.error.as_ref().map(|e| e.kind);
    match status.state {
        State::UpToDate => "Up to date".into(),
        State::Syncing => "Syncing…".into(),
        State::Stale => match status.last_sync_at {
            Some(t) => format!("Stale — the POS has data from {}", ago(t, now)),
            None => "Stale — the POS has no data from this app yet".into(),
        },
        State::DockerUnavailable => ErrorKind::DockerUnavailable.title().into(),
        State::NotConfigured => kind.unwrap_or(ErrorKind::NotConfigured).title().into(),
        State::Starting => match status.detail.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() && !d.contains("://") => {
                format!("Starting — {}", shorten(d, HEADLINE_DETAIL_CHARS))
            }
            _ => "Starting…".into(),
        },
        State::Error => match kind {
            Some(kind) => kind.title().into(),
            None => "Sync stopped — click for details".into(),
        },
    }
}

/// The one thing to do about the state, when it is trouble: the error kind's step
/// ([`ErrorKind::next_step`]), *Open Docker Desktop* when Docker is not running.
pub fn next_step(status: &Status) -> Option<NextStep> {
    let kind = status.error.as_ref().map(|e| e.kind);
    match status.state {
        State::NotConfigured => Some(kind.unwrap_or(ErrorKind::NotConfigured).next_step()),
        State::DockerUnavailable => Some(NextStep::OpenDocker),
        State::Error | State::Stale => Some(kind.map_or(NextStep::ShowDetails, |k| k.next_step())),
        State::UpToDate | State::Syncing | State::Starting => None,
    }
}

/// The items under the headline for `step`: a line saying the app retries (in the error
/// state, where it always does), and the step as an item. Only a Mac can open Docker
/// Desktop (`mac`); elsewhere the step is a disabled instruction.
fn step_items(status: &Status, step: NextStep, mac: bool, now: DateTime<Utc>) -> Vec<Item> {
    let mut items = Vec::new();
    if status.state == State::Error && step != NextStep::Wait {
        items.push(Item::Label(retry_line(status, now)));
    }
    let item = match step {
        NextStep::Wait => Item::Label(step.label().into()),
        NextStep::OpenDocker if !mac => Item::Label("Start the Docker engine".into()),
        NextStep::OpenDocker | NextStep::ShowDetails | NextStep::Reset => Item::Action {
            id: ActionId::NextStep(step),
            label: step.label().into(),
            enabled: true,
        },
        // Instructions: a click shows the details to read out or act on.
        NextStep::FreeDisk | NextStep::CallSupport(_) => Item::Action {
            id: ActionId::NextStep(NextStep::ShowDetails),
            label: format!("{}…", step.label()),
            enabled: true,
        },
    };
    items.push(item);
    items
}

/// When the next try is: "Retrying in 12 s" (from `next_try_at`), or that it retries.
fn retry_line(status: &Status, now: DateTime<Utc>) -> String {
    match status.next_try_at {
        Some(t) if t > now => {
            let secs = ((t - now).num_milliseconds() + 999) / 1000;
            format!("Retrying by itself in {secs} s")
        }
        Some(_) => "Retrying by itself now".into(),
        None => "Retrying by itself meanwhile".into(),
    }
}

/// How long until the menu's relative times change (the next whole second, minute, hour
/// or day of the last sync's or the last check's age), at most an hour; re-render then.
pub fn next_refresh(status: &Status, now: DateTime<Utc>) -> Duration {
    // The retry countdown changes every second until the try.
    let countdown = status
        .next_try_at
        .filter(|t| *t > now)
        .map(|t| Duration::from_millis(((t - now).num_milliseconds() % 1000) as u64 + 1));
    [status.last_sync_at, status.last_check_at]
        .into_iter()
        .flatten()
        .map(|t| age_changes_in(t, now))
        .chain(countdown)
        .min()
        .unwrap_or(MAX_REFRESH)
}

/// How long until "`t` ago" reads differently.
fn age_changes_in(last: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    let age_ms = (now - last).num_milliseconds();
    if age_ms < 0 {
        // A sync "in the future" (the clock moved back) shows as 0 s ago until it is not.
        return Duration::from_millis(age_ms.unsigned_abs()).min(MAX_REFRESH);
    }
    let unit_ms: i64 = match age_ms / 1000 {
        0..=59 => 1_000,
        60..=3_599 => 60_000,
        3_600..=86_399 => 3_600_000,
        _ => 86_400_000,
    };
    let wait = (unit_ms - age_ms % unit_ms) as u64;
    Duration::from_millis(wait).min(MAX_REFRESH)
}

/// What *Quit* does: syncing stops, and only a login starts the app again when something
/// starts it at login (launchd restarts it after a crash, never after Quit).
fn quit_label(state: LaunchAtLogin) -> &'static str {
    match state {
        LaunchAtLogin::On | LaunchAtLogin::ByHomebrew => "Quit (stops syncing until next login)",
        LaunchAtLogin::Off | LaunchAtLogin::Unavailable => "Quit (stops syncing)",
    }
}

fn launch_item(state: LaunchAtLogin) -> Item {
    let (label, checked, enabled) = match state {
        LaunchAtLogin::Off => ("Launch at login", false, true),
        LaunchAtLogin::On => ("Launch at login", true, true),
        LaunchAtLogin::ByHomebrew => ("Launch at login (by Homebrew services)", true, false),
        LaunchAtLogin::Unavailable => ("Launch at login (macOS only)", false, false),
    };
    Item::Check {
        id: ActionId::LaunchAtLogin,
        label: label.into(),
        checked,
        enabled,
    }
}

/// "Last sync: 14:03:12 (2 min ago)" (or "Checked with LiteFS: …", when the source last confirmed the
/// file is current); the date is added once a day has passed.
fn time_line<Tz>(what: &str, at: Option<DateTime<Utc>>, now: DateTime<Utc>, tz: &Tz) -> String
where
    Tz: TimeZone,
    Tz::Offset: Display,
{
    match at {
        None => format!("{what}: never"),
        Some(t) => {
            let local = t.with_timezone(tz);
            let format = if (now - t).num_seconds() < 86_400 {
                "%H:%M:%S"
            } else if local.year() == now.with_timezone(tz).year() {
                "%-d %b %H:%M:%S"
            } else {
                "%-d %b %Y %H:%M:%S"
            };
            format!("{what}: {} ({})", local.format(format), ago(t, now))
        }
    }
}

/// "Database: schema 7 · generated 25 Nov 13:58 · TXID 2f". A field the metadata row
/// lacks is "missing"; one not known because nothing was inspected yet is "unknown".
fn database_line<Tz>(status: &Status, now: DateTime<Utc>, tz: &Tz) -> String
where
    Tz: TimeZone,
    Tz::Offset: Display,
{
    let field = |f: Option<&String>| match (&status.metadata, f) {
        (None, _) => "unknown".to_string(),
        (Some(_), None) => "missing".to_string(),
        (Some(_), Some(v)) => v.trim().to_string(),
    };
    let meta = status.metadata.as_ref();
    let schema = field(meta.and_then(|m| m.schema_version.as_ref()));
    let generated = match meta
        .and_then(|m| m.generated_at.as_deref())
        .map(crate::inspect::parse_generated_at)
    {
        Some(Some(t)) => {
            let local = t.with_timezone(tz);
            if local.year() == now.with_timezone(tz).year() {
                local.format("%-d %b %H:%M").to_string()
            } else {
                local.format("%-d %b %Y %H:%M").to_string()
            }
        }
        _ => field(meta.and_then(|m| m.generated_at.as_ref())),
    };
    let txid = status
        .txid
        .map_or("unknown".into(), |t| format!("{:x}", t.0));
    format!("Database: schema {schema} · generated {generated} · TXID {txid}")
}

fn row_items(status: &Status) -> Vec<Item> {
    if status.row_counts.is_empty() {
        return vec![Item::Label("not counted yet".into())];
    }
    status
        .row_counts
        .iter()
        .map(|(table, count)| {
            Item::Label(format!(
                "{table}: {}",
                count.map_or("missing".into(), thousands)
            ))
        })
        .collect()
}

/// 12345678 → "12,345,678".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The first line of `text`, whitespace collapsed, cut to at most `max` characters at a
/// word boundary with "…" (mid-word only when a single word is that long).
fn shorten(text: &str, max: usize) -> String {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let words: Vec<&str> = first.split_whitespace().collect();
    let line = words.join(" ");
    let more_lines = text.trim().lines().count() > 1;
    if line.chars().count() <= max && !more_lines {
        return line;
    }
    let budget = max.saturating_sub(1);
    let mut out = String::new();
    for word in &words {
        let needed = out.chars().count() + usize::from(!out.is_empty()) + word.chars().count();
        if needed > budget {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        out = line.chars().take(budget).collect();
    }
    let out = out.trim_end_matches(|c: char| {
        c == ',' || c == ';' || c == ':' || c == '—' || c == '-' || c == '.' || c.is_whitespace()
    });
    format!("{out}…")
}

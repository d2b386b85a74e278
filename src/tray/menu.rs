//! The menu model: every label, icon and enabled/disabled rule of the menu-bar app,
//! computed from a [`Status`] without a display.
//!
//! The tray only turns a [`MenuModel`] into native menu items and an [`ActionId`] click
//! into a command for the core. Times are formatted in the time zone handed in (the tray
//! passes `chrono::Local`, tests a fixed offset), and [`next_refresh`] says when the
//! relative times ("2 min ago") change, so the menu is re-rendered exactly then instead
//! of in a busy loop.

use std::fmt::Display;
use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone, Utc};

use crate::config::SourceKind;
use crate::status::{ago, ErrorKind, NextStep, State, Status};
use crate::tray::feedback::Feedback;
pub use crate::tray::launch_agent::State as LaunchAtLogin;
use crate::tray::recent_errors::RecentErrors;

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

/// The icon variant: one per family of states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IconKind {
    /// Up to date.
    Ok,
    /// Syncing, or starting.
    Syncing,
    /// Nothing new for too long while the source is unreachable.
    Stale,
    Error,
    /// Not configured, or Docker is not running.
    Off,
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

impl IconKind {
    /// Every icon variant.
    pub const ALL: [IconKind; 5] = [
        IconKind::Ok,
        IconKind::Syncing,
        IconKind::Stale,
        IconKind::Error,
        IconKind::Off,
    ];
}

/// The icon family of a state.
pub fn icon_kind(state: State) -> IconKind {
    match state {
        State::UpToDate => IconKind::Ok,
        State::Syncing | State::Starting => IconKind::Syncing,
        State::Stale => IconKind::Stale,
        State::Error => IconKind::Error,
        State::NotConfigured | State::DockerUnavailable => IconKind::Off,
    }
}

/// The icon's file name in `assets/icons` (`retina`: the 36×36 `@2x` variant).
pub fn icon_file(kind: IconKind, retina: bool) -> &'static str {
    match (kind, retina) {
        (IconKind::Ok, false) => "tray-ok.png",
        (IconKind::Ok, true) => "tray-ok@2x.png",
        (IconKind::Syncing, false) => "tray-syncing.png",
        (IconKind::Syncing, true) => "tray-syncing@2x.png",
        (IconKind::Stale, false) => "tray-stale.png",
        (IconKind::Stale, true) => "tray-stale@2x.png",
        (IconKind::Error, false) => "tray-error.png",
        (IconKind::Error, true) => "tray-error@2x.png",
        (IconKind::Off, false) => "tray-off.png",
        (IconKind::Off, true) => "tray-off@2x.png",
    }
}

/// The icon's PNG bytes, embedded in the binary (a template image: black on transparent).
pub fn icon_png(kind: IconKind, retina: bool) -> &'static [u8] {
    macro_rules! icon {
        ($name:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/icons/", $name))
        };
    }
    match (kind, retina) {
        (IconKind::Ok, false) => icon!("tray-ok.png"),
        (IconKind::Ok, true) => icon!("tray-ok@2x.png"),
        (IconKind::Syncing, false) => icon!("tray-syncing.png"),
        (IconKind::Syncing, true) => icon!("tray-syncing@2x.png"),
        (IconKind::Stale, false) => icon!("tray-stale.png"),
        (IconKind::Stale, true) => icon!("tray-stale@2x.png"),
        (IconKind::Error, false) => icon!("tray-error.png"),
        (IconKind::Error, true) => icon!("tray-error@2x.png"),
        (IconKind::Off, false) => icon!("tray-off.png"),
        (IconKind::Off, true) => icon!("tray-off@2x.png"),
    }
}

/// Where the data comes from, in the words support staff know: "LiteFS Cloud", "LiteFS
/// in Docker" (the container this app manages), or "LiteFS" (a node it does not manage).
pub fn source_name(status: &Status) -> &'static str {
    let managed = status.container.is_some()
        || status.docker_endpoint.is_some()
        || status.state == State::DockerUnavailable;
    match status.source {
        SourceKind::Cloud => "LiteFS Cloud",
        SourceKind::Litefs if managed => "LiteFS in Docker",
        SourceKind::Litefs => "LiteFS",
    }
}

/// The title and text of the *About* dialog.
pub fn about(status: &Status) -> (String, String) {
    let core = if status.app_version == APP_VERSION {
        String::new()
    } else {
        format!(" (core {})", status.app_version)
    };
    let managed = match &status.managed_by {
        Some(by) => format!("\n\nManaged by {by}: settings come from a configuration profile."),
        None => String::new(),
    };
    (
        format!("About {TOOLTIP_PREFIX}"),
        format!(
            "{APP_NAME} {APP_VERSION}{core}\n\nKeeps this Mac's copy of the VoriPOS domain \
             database (products, taxes, promotions) in sync with LiteFS and publishes each \
             verified version for the POS app.\n\n{}: {}{managed}",
            status.source.label(),
            status.litefs_url
        ),
    )
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

/// The title and text of *Show details…*: everything about the state in full (never
/// cut), the next step, and where the log is.
pub fn details<Tz>(
    status: &Status,
    now: DateTime<Utc>,
    tz: &Tz,
    log_dir: &std::path::Path,
) -> (String, String)
where
    Tz: TimeZone,
    Tz::Offset: Display,
{
    let mut text = format!(
        "{}\n{}",
        headline(status, now),
        time_line("Since", Some(status.since), now, tz)
    );
    if let Some(e) = &status.error {
        text.push_str(&format!(
            "\n\nWhat went wrong: {}\n({})",
            e.message.trim(),
            e.kind
        ));
    }
    if let Some(d) = status
        .detail
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        text.push_str(&format!("\n\nNow: {d}"));
    }
    if let Some(step) = next_step(status) {
        text.push_str(&format!("\n\nWhat to do: {}", step.label()));
    }
    text.push_str(&format!(
        "\n\nSyncing from {} at {}\nThe log is in {}\n(Copy diagnostics puts all of this on \
         the clipboard for a support ticket.)",
        source_name(status),
        status.litefs_url,
        log_dir.display()
    ));
    (format!("{TOOLTIP_PREFIX}: details"), text)
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

/// What *Copy diagnostics* puts on the clipboard: the status in its human form, versions,
/// the Docker endpoint and the recent errors. Built from statuses only, which never hold
/// the token.
pub fn diagnostics(status: &Status, recent: &RecentErrors, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "{APP_NAME} {APP_VERSION} diagnostics at {}\n\n",
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    out.push_str(&status.render(now));
    out.push('\n');
    let line = |out: &mut String, k: &str, v: &str| out.push_str(&format!("{k:<18}{v}\n"));
    line(
        &mut out,
        "App version:",
        &format!(
            "{APP_VERSION} (core {}, pid {})",
            status.app_version, status.pid
        ),
    );
    line(
        &mut out,
        "Platform:",
        &format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    );
    line(
        &mut out,
        "Docker endpoint:",
        status.docker_endpoint.as_deref().unwrap_or("none"),
    );
    let container = status
        .container
        .as_ref()
        .map_or("not managed or not seen".into(), |c| {
            format!("{} ({}, image {})", c.name, c.state, c.image)
        });
    line(&mut out, "Container:", &container);
    line(
        &mut out,
        &format!("{}:", status.source.label()),
        &status.litefs_url,
    );
    for (i, error) in recent.render(now).iter().enumerate() {
        line(&mut out, if i == 0 { "Recent errors:" } else { "" }, error);
    }
    line(
        &mut out,
        "Dropped spans:",
        &status.telemetry_dropped_spans.to_string(),
    );
    out
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use chrono::FixedOffset;

    use super::*;
    use crate::inspect::Metadata;
    use crate::status::{ContainerInfo, ErrorInfo, Txid};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Times are shown an hour ahead of UTC in these tests.
    fn tz() -> FixedOffset {
        FixedOffset::east_opt(3600).unwrap()
    }

    fn synced() -> Status {
        let mut s = Status::starting("http://127.0.0.1:20202", t("2026-11-25T13:00:00Z"));
        s.set_state(State::UpToDate, t("2026-11-25T13:03:12Z"));
        s.detail = None;
        s.last_sync_at = Some(t("2026-11-25T13:03:12Z"));
        s.last_check_at = Some(t("2026-11-25T13:04:00Z"));
        s.txid = Some(Txid(0x2f));
        s.published_path = Some(PathBuf::from("/pos/1764079392-Domain.sqlite3"));
        s.metadata = Some(Metadata {
            schema_version: Some("7".into()),
            generated_at: Some("2026-11-25T12:58:00Z".into()),
            ..Default::default()
        });
        s.row_counts.insert("products".into(), Some(51234));
        s.row_counts.insert("offers".into(), None);
        s
    }

    fn in_state(state: State) -> Status {
        let mut s = synced();
        s.set_state(state, t("2026-11-25T13:05:00Z"));
        s
    }

    /// Two minutes after the sync.
    fn now() -> DateTime<Utc> {
        t("2026-11-25T13:05:12Z")
    }

    fn menu(s: &Status) -> MenuModel {
        MenuModel::from_status(s, now(), &tz(), LaunchAtLogin::Off)
    }

    fn action(m: &MenuModel, wanted: ActionId) -> (String, bool) {
        m.items
            .iter()
            .find_map(|i| match i {
                Item::Action { id, label, enabled } if *id == wanted => {
                    Some((label.clone(), *enabled))
                }
                _ => None,
            })
            .unwrap()
    }

    fn rows(m: &MenuModel) -> Vec<String> {
        m.items
            .iter()
            .find_map(|i| match i {
                Item::Submenu { label, items } if label == "Rows" => Some(
                    items
                        .iter()
                        .map(|i| match i {
                            Item::Label(l) => l.clone(),
                            other => panic!("not a label: {other:?}"),
                        })
                        .collect(),
                ),
                _ => None,
            })
            .unwrap()
    }

    fn label(text: &str) -> Item {
        Item::Label(text.into())
    }

    fn act(id: ActionId, label: &str, enabled: bool) -> Item {
        Item::Action {
            id,
            label: label.into(),
            enabled,
        }
    }

    #[test]
    fn the_synced_menu_item_by_item() {
        let m = menu(&synced());
        assert_eq!(m.headline, "Up to date");
        assert_eq!(m.icon, IconKind::Ok);
        assert_eq!(m.tooltip, "VoriPOS Domain Sync: Up to date");
        let expected = vec![
            act(ActionId::Details, "Up to date", true),
            Item::Separator,
            label("Last sync: 14:03:12 (2 min ago)"),
            label("Checked with LiteFS: 14:04:00 (1 min ago)"),
            label("Database: schema 7 · generated 25 Nov 13:58 · TXID 2f"),
            Item::Submenu {
                label: "Rows".into(),
                items: vec![label("offers: missing"), label("products: 51,234")],
            },
            act(ActionId::RevealFile, "1764079392-Domain.sqlite3", true),
            Item::Separator,
            act(ActionId::Resync, "Resync now", true),
            act(ActionId::Reset, "Reset…", true),
            Item::Separator,
            act(ActionId::OpenLogs, "Open logs", true),
            act(ActionId::CopyDiagnostics, "Copy diagnostics", true),
            Item::Check {
                id: ActionId::LaunchAtLogin,
                label: "Launch at login".into(),
                checked: false,
                enabled: true,
            },
            Item::Separator,
            act(ActionId::About, "About voripos-domain-sync 0.5.0", true),
            act(ActionId::Quit, "Quit (stops syncing)", true),
        ];
        assert_eq!(m.items, expected);
        assert_eq!(
            m.text(),
            "Up to date | Last sync: 14:03:12 (2 min ago) | Checked with LiteFS: 14:04:00 \
             (1 min ago) | Database: schema 7 · generated 25 Nov 13:58 · TXID 2f | [Rows: \
             offers: missing, products: 51,234] | 1764079392-Domain.sqlite3 | Resync now | \
             Reset… | Open logs | Copy diagnostics | Launch at login | About \
             voripos-domain-sync 0.5.0 | Quit (stops syncing)"
        );
    }

    #[test]
    fn every_state_has_its_headline_icon_and_tooltip() {
        let cases = [
            (State::UpToDate, "Up to date", IconKind::Ok),
            (State::Syncing, "Syncing…", IconKind::Syncing),
            (State::Starting, "Starting…", IconKind::Syncing),
            (
                State::Stale,
                "Stale — the POS has data from 2 min ago",
                IconKind::Stale,
            ),
            (
                State::Error,
                "Sync stopped — click for details",
                IconKind::Error,
            ),
            (
                State::DockerUnavailable,
                "Docker is not running",
                IconKind::Off,
            ),
            (
                State::NotConfigured,
                "Sync is not set up on this Mac",
                IconKind::Off,
            ),
        ];
        for (state, headline, icon) in cases {
            let m = menu(&in_state(state));
            assert_eq!(m.headline, headline, "{state:?}");
            assert_eq!(m.icon, icon, "{state:?}");
            assert_eq!(icon_kind(state), icon, "{state:?}");
            assert_eq!(m.tooltip, format!("VoriPOS Domain Sync: {headline}"));
            // Readable, not greyed: a click shows the details.
            assert_eq!(
                m.items[0],
                act(ActionId::Details, headline, true),
                "{state:?}"
            );
        }
    }

    #[test]
    fn clicks_are_answered_in_the_menu() {
        let mut s = synced();
        let mut feedback = Feedback::default();
        let shown = |s: &Status, f: &Feedback, now| {
            MenuModel::from_status(s, now, &tz(), LaunchAtLogin::Off).with_feedback(f, now)
        };
        assert_eq!(shown(&s, &feedback, now()), menu(&s));

        feedback.copied(now());
        feedback.resync_sent(&s, now());
        let m = shown(&s, &feedback, now());
        assert_eq!(
            action(&m, ActionId::CopyDiagnostics),
            ("Copied ✓ — paste it into the ticket".into(), true)
        );
        assert_eq!(action(&m, ActionId::Resync), ("Checking…".into(), true));

        // The core confirms the file is current: nothing new.
        let later = now() + chrono::Duration::seconds(2);
        s.last_check_at = Some(later);
        feedback.observe(&s, later);
        let m = shown(&s, &feedback, later);
        assert_eq!(
            action(&m, ActionId::Resync),
            ("Checked — nothing new".into(), true)
        );

        feedback.reset_sent(later);
        let m = shown(&s, &feedback, later);
        assert_eq!(action(&m, ActionId::Reset), ("Reset started".into(), false));

        // A while later everything reads as before.
        let much_later = later + chrono::Duration::seconds(60);
        feedback.observe(&s, much_later);
        assert_eq!(
            shown(&s, &feedback, much_later),
            MenuModel::from_status(&s, much_later, &tz(), LaunchAtLogin::Off)
        );
    }

    #[test]
    fn the_source_is_named_as_support_knows_it() {
        let mut s = synced();
        assert_eq!(source_name(&s), "LiteFS");
        s.docker_endpoint = Some("unix:///var/run/docker.sock (default)".into());
        assert_eq!(source_name(&s), "LiteFS in Docker");
        s.docker_endpoint = None;
        s.state = State::DockerUnavailable;
        assert_eq!(source_name(&s), "LiteFS in Docker");
        s.source = crate::config::SourceKind::Cloud;
        assert_eq!(source_name(&s), "LiteFS Cloud");
    }

    #[test]
    fn stale_headline_counts_hours_since_the_last_sync() {
        let s = in_state(State::Stale);
        let later = t("2026-11-25T15:20:00Z");
        assert_eq!(headline(&s, later), "Stale — the POS has data from 2 h ago");
        let mut never = s.clone();
        never.last_sync_at = None;
        assert_eq!(
            headline(&never, later),
            "Stale — the POS has no data from this app yet"
        );
    }

    #[test]
    fn starting_shows_the_pull_percentage_and_other_details() {
        let mut s = Status::starting("http://127.0.0.1:20202", now());
        s.detail = Some("pulling image 45 %".into());
        let m = menu(&s);
        assert_eq!(m.headline, "Starting — pulling image 45 %");
        assert_eq!(m.icon, IconKind::Syncing);
        s.detail = Some("creating the LiteFS container".into());
        assert_eq!(
            headline(&s, now()),
            "Starting — creating the LiteFS container"
        );
        s.detail = Some("  ".into());
        assert_eq!(headline(&s, now()), "Starting…");
        // No URL in the headline: that is for the details.
        s.detail = Some("waiting for LiteFS at http://127.0.0.1:20202".into());
        assert_eq!(headline(&s, now()), "Starting…");
    }

    #[test]
    fn docker_unavailable_disables_resync_and_reset() {
        let mut s = in_state(State::DockerUnavailable);
        s.detail = Some("no Docker engine answered".into());
        let m = menu(&s);
        assert_eq!(m.headline, "Docker is not running");
        assert_eq!(m.icon, IconKind::Off);
        // The next step, right under the headline: on a Mac, a click opens Docker.
        assert_eq!(
            step_items(&s, NextStep::OpenDocker, true, now()),
            [act(
                ActionId::NextStep(NextStep::OpenDocker),
                "Open Docker Desktop",
                true
            )]
        );
        assert_eq!(
            step_items(&s, NextStep::OpenDocker, false, now()),
            [label("Start the Docker engine")]
        );
        assert_eq!(
            m.items[1],
            step_items(&s, NextStep::OpenDocker, cfg!(target_os = "macos"), now())[0]
        );
        assert_eq!(action(&m, ActionId::Resync), ("Resync now".into(), false));
        assert_eq!(action(&m, ActionId::Reset), ("Reset…".into(), false));
        assert!(action(&m, ActionId::CopyDiagnostics).1);
    }

    #[test]
    fn not_configured_disables_resync_and_reset() {
        let s = Status {
            state: State::NotConfigured,
            ..Status::starting("http://127.0.0.1:20202", now())
        };
        let m = menu(&s);
        assert_eq!(m.headline, "Sync is not set up on this Mac");
        assert_eq!(m.icon, IconKind::Off);
        // What to do and whom to call; a click shows the details to read out.
        assert_eq!(
            m.items[1],
            act(
                ActionId::NextStep(NextStep::ShowDetails),
                "Ask Vori support to install the sync token…",
                true
            )
        );
        assert!(!action(&m, ActionId::Resync).1);
        assert!(!action(&m, ActionId::Reset).1);
        for id in [ActionId::OpenLogs, ActionId::About, ActionId::Quit] {
            assert!(action(&m, id).1, "{id:?}");
        }
    }

    #[test]
    fn before_the_first_sync_nothing_is_invented() {
        let m = menu(&Status::starting("http://127.0.0.1:20202", now()));
        assert_eq!(m.items[2], label("Last sync: never"));
        assert_eq!(m.items[3], label("Checked with LiteFS: never"));
        let cloud = Status {
            source: crate::config::SourceKind::Cloud,
            ..Status::starting("https://backup.example", now())
        };
        assert_eq!(
            menu(&cloud).items[3],
            label("Checked with LiteFS Cloud: never")
        );
        assert!(about(&cloud)
            .1
            .ends_with("LiteFS Cloud: https://backup.example"));
        assert_eq!(
            m.items[4],
            label("Database: schema unknown · generated unknown · TXID unknown")
        );
        assert_eq!(rows(&m), ["not counted yet"]);
        assert_eq!(
            action(&m, ActionId::RevealFile),
            ("No file published yet".into(), false)
        );
    }

    #[test]
    fn row_counts_get_thousands_separators_and_missing_tables_say_so() {
        let mut s = synced();
        s.row_counts.insert("prices".into(), Some(12_345_678));
        s.row_counts.insert("stores".into(), Some(0));
        s.row_counts.insert("taxes".into(), Some(999));
        assert_eq!(
            rows(&menu(&s)),
            [
                "offers: missing",
                "prices: 12,345,678",
                "products: 51,234",
                "stores: 0",
                "taxes: 999"
            ]
        );
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn errors_read_in_plain_words_with_one_step_and_the_details_in_full() {
        let mut s = in_state(State::Error);
        let message = "the LiteFS container started but its API did not answer at \
                       http://127.0.0.1:20202 within 120s";
        s.error = Some(ErrorInfo {
            kind: ErrorKind::LiteFsUnreachable,
            message: message.into(),
        });
        let m = menu(&s);
        assert_eq!(m.headline, "Can't reach the sync service");
        assert_eq!(
            m.items[..3],
            [
                act(ActionId::Details, "Can't reach the sync service", true),
                label("Retrying by itself meanwhile"),
                act(
                    ActionId::NextStep(NextStep::ShowDetails),
                    "Show details…",
                    true
                ),
            ]
        );
        // The details: the full error, never cut, the step and the log.
        let (title, text) = details(&s, now(), &tz(), std::path::Path::new("/logs"));
        assert_eq!(title, "VoriPOS Domain Sync: details");
        for expected in [
            "Can't reach the sync service\nSince: 14:05:00 (12 s ago)",
            &format!("What went wrong: {message}\n(litefs_unreachable)"),
            "What to do: Show details…",
            "Syncing from LiteFS at http://127.0.0.1:20202",
            "The log is in /logs",
        ] {
            assert!(text.contains(expected), "{expected:?} not in\n{text}");
        }

        // When the next try is known, it counts down.
        s.next_try_at = Some(now() + chrono::Duration::milliseconds(11_500));
        assert_eq!(menu(&s).items[1], label("Retrying by itself in 12 s"));
        assert_eq!(next_refresh(&s, now()), Duration::from_millis(501));
        s.next_try_at = Some(now());
        assert_eq!(menu(&s).items[1], label("Retrying by itself now"));
        s.next_try_at = None;

        // A trouble that passes by itself says so, and offers nothing to click.
        s.error.as_mut().unwrap().kind = ErrorKind::ExportStalled;
        let m = menu(&s);
        assert_eq!(m.headline, "The download stopped halfway");
        assert_eq!(m.items[1], label("Nothing to do: it retries by itself"));
        assert_eq!(m.items[2], Item::Separator);

        // A damaged database: its step is the reset, which asks first.
        s.error.as_mut().unwrap().kind = ErrorKind::QuickCheckFailed;
        let m = menu(&s);
        assert_eq!(
            m.items[2],
            act(ActionId::NextStep(NextStep::Reset), "Reset…", true)
        );
    }

    #[test]
    fn long_details_are_cut_at_a_word_boundary() {
        let long = "the LiteFS container started but its API did not answer at \
                    http://127.0.0.1:20202 within 120s";
        assert_eq!(
            shorten(long, 60),
            "the LiteFS container started but its API did not answer at…"
        );
        assert_eq!(shorten("disk full", 60), "disk full");
        // Only the first line, and its trailing punctuation goes before the "…".
        assert_eq!(
            shorten("cannot verify the download:\nchecksum mismatch", 60),
            "cannot verify the download…"
        );
        // One word longer than the room is cut inside it.
        assert_eq!(
            shorten(&"x".repeat(100), 60),
            format!("{}…", "x".repeat(59))
        );
    }

    #[test]
    fn a_stale_menu_says_since_when_and_what_to_do() {
        let mut s = in_state(State::Stale);
        let m = menu(&s);
        assert_eq!(m.headline, "Stale — the POS has data from 2 min ago");
        assert_eq!(
            m.items[1],
            act(
                ActionId::NextStep(NextStep::ShowDetails),
                "Show details…",
                true
            )
        );
        s.error = Some(ErrorInfo {
            kind: ErrorKind::DiskFull,
            message: "no space left on device".into(),
        });
        assert_eq!(
            menu(&s).items[1],
            act(
                ActionId::NextStep(NextStep::ShowDetails),
                "Free up disk space on this Mac…",
                true
            )
        );
    }

    #[test]
    fn missing_metadata_fields_and_odd_times() {
        let mut s = synced();
        s.metadata = Some(Metadata::default());
        s.txid = None;
        assert_eq!(
            menu(&s).items[4],
            label("Database: schema missing · generated missing · TXID unknown")
        );
        // SQLite's own format, and text that is no time at all (shown as is).
        s.metadata.as_mut().unwrap().generated_at = Some("2026-11-25 12:58:00".into());
        assert!(database(&s).contains("generated 25 Nov 13:58"));
        s.metadata.as_mut().unwrap().generated_at = Some("yesterday".into());
        assert!(database(&s).contains("generated yesterday"));
        // Another year (in the local time zone) is named.
        s.metadata.as_mut().unwrap().generated_at = Some("2025-12-31T23:30:00Z".into());
        assert!(
            database(&s).contains("generated 1 Jan 00:30"),
            "{}",
            database(&s)
        );
        s.metadata.as_mut().unwrap().generated_at = Some("2025-12-31T22:30:00Z".into());
        assert!(
            database(&s).contains("generated 31 Dec 2025 23:30"),
            "{}",
            database(&s)
        );
    }

    fn database(s: &Status) -> String {
        match &menu(s).items[4] {
            Item::Label(l) => l.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_old_last_sync_names_its_day() {
        let s = synced();
        let m = MenuModel::from_status(&s, t("2026-11-26T13:03:00Z"), &tz(), LaunchAtLogin::Off);
        assert_eq!(m.items[2], label("Last sync: 14:03:12 (23 h ago)"));
        let m = MenuModel::from_status(
            &s,
            t("2026-11-26T13:03:00Z") + chrono::Duration::minutes(1),
            &tz(),
            LaunchAtLogin::Off,
        );
        assert_eq!(m.items[2], label("Last sync: 25 Nov 14:03:12 (1 day ago)"));
        let m = MenuModel::from_status(&s, t("2027-01-02T10:00:00Z"), &tz(), LaunchAtLogin::Off);
        assert_eq!(
            m.items[2],
            label("Last sync: 25 Nov 2026 14:03:12 (37 days ago)")
        );
    }

    #[test]
    fn launch_at_login_follows_its_state() {
        let check = |state| {
            MenuModel::from_status(&synced(), now(), &tz(), state)
                .items
                .into_iter()
                .find(|i| matches!(i, Item::Check { .. }))
                .unwrap()
        };
        let item = |label: &str, checked, enabled| Item::Check {
            id: ActionId::LaunchAtLogin,
            label: label.into(),
            checked,
            enabled,
        };
        assert_eq!(
            check(LaunchAtLogin::Off),
            item("Launch at login", false, true)
        );
        assert_eq!(
            check(LaunchAtLogin::On),
            item("Launch at login", true, true)
        );
        assert_eq!(
            check(LaunchAtLogin::ByHomebrew),
            item("Launch at login (by Homebrew services)", true, false)
        );
        assert_eq!(
            check(LaunchAtLogin::Unavailable),
            item("Launch at login (macOS only)", false, false)
        );
    }

    #[test]
    fn quit_says_what_it_does() {
        let quit = |state| {
            let m = MenuModel::from_status(&synced(), now(), &tz(), state);
            m.items
                .into_iter()
                .find_map(|i| match i {
                    Item::Action {
                        id: ActionId::Quit,
                        label,
                        ..
                    } => Some(label),
                    _ => None,
                })
                .unwrap()
        };
        assert_eq!(
            quit(LaunchAtLogin::On),
            "Quit (stops syncing until next login)"
        );
        assert_eq!(
            quit(LaunchAtLogin::ByHomebrew),
            "Quit (stops syncing until next login)"
        );
        assert_eq!(quit(LaunchAtLogin::Off), "Quit (stops syncing)");
        assert_eq!(quit(LaunchAtLogin::Unavailable), "Quit (stops syncing)");
    }

    #[test]
    fn refresh_waits_for_the_next_change_of_the_relative_time() {
        let mut s = synced();
        s.last_check_at = None;
        let last = s.last_sync_at.unwrap();
        let at = |ms: i64| last + chrono::Duration::milliseconds(ms);
        assert_eq!(next_refresh(&s, at(12_250)), Duration::from_millis(750));
        assert_eq!(next_refresh(&s, at(59_000)), Duration::from_secs(1));
        assert_eq!(next_refresh(&s, at(120_000)), Duration::from_secs(60));
        assert_eq!(next_refresh(&s, at(150_500)), Duration::from_millis(29_500));
        assert_eq!(
            next_refresh(&s, at(7_200_000 + 60_000)),
            Duration::from_secs(3_540)
        );
        // Days would wait longer than the cap.
        assert_eq!(next_refresh(&s, at(90_000_000)), MAX_REFRESH);
        // A sync in the future (clock moved back) shows 0 s until it is reached.
        assert_eq!(next_refresh(&s, at(-2_000)), Duration::from_secs(2));
        s.last_sync_at = None;
        assert_eq!(next_refresh(&s, now()), MAX_REFRESH);
        // The check's age counts too: whichever changes first.
        s.last_sync_at = Some(last);
        s.last_check_at = Some(last + chrono::Duration::milliseconds(300));
        assert_eq!(next_refresh(&s, at(120_000)), Duration::from_millis(300));
    }

    #[test]
    fn after_the_wait_the_menu_changes_and_not_before() {
        let s = in_state(State::Stale);
        let last = s.last_sync_at.unwrap();
        let mut changes = 0;
        for ms in (0..200_000_000_i64)
            .step_by(7_777_777)
            .chain([59_999, 3_599_999, 86_399_999])
        {
            let now = last + chrono::Duration::milliseconds(ms);
            let shown = MenuModel::from_status(&s, now, &tz(), LaunchAtLogin::Off);
            let wait = chrono::Duration::from_std(next_refresh(&s, now)).unwrap();
            let before = now + wait - chrono::Duration::milliseconds(1);
            let same = MenuModel::from_status(&s, before, &tz(), LaunchAtLogin::Off);
            assert_eq!(shown, same, "changed before the wait at {ms} ms");
            if wait < chrono::Duration::from_std(MAX_REFRESH).unwrap() {
                let after = MenuModel::from_status(&s, now + wait, &tz(), LaunchAtLogin::Off);
                assert_ne!(shown, after, "no change after the wait at {ms} ms");
                changes += 1;
            }
        }
        assert!(changes > 3);
    }

    #[test]
    fn diagnostics_show_status_versions_endpoint_and_error() {
        let mut s = in_state(State::Error);
        s.error = Some(ErrorInfo {
            kind: crate::status::ErrorKind::ChecksumMismatch,
            message: "checksum mismatch: expected 83b05248774ce767".into(),
        });
        s.docker_endpoint = Some("unix:///Users/pos/.colima/default/docker.sock (colima)".into());
        s.container = Some(ContainerInfo {
            name: "voripos-litefs".into(),
            image: "flyio/litefs:0.5".into(),
            state: "running".into(),
        });
        let mut recent = RecentErrors::default();
        recent.observe(&s);
        let text = diagnostics(&s, &recent, now());
        assert!(text.starts_with("voripos-domain-sync 0.5.0 diagnostics at 2026-11-25T13:05:12Z\n"));
        assert!(text.contains(&s.render(now())), "{text}");
        for expected in [
            "App version:      0.5.0 (core 0.5.0, pid ",
            "Docker endpoint:  unix:///Users/pos/.colima/default/docker.sock (colima)\n",
            "Container:        voripos-litefs (running, image flyio/litefs:0.5)\n",
            "LiteFS:           http://127.0.0.1:20202\n",
            "Recent errors:    2026-11-25T13:05:00Z (12 s ago) checksum mismatch: expected 83b05248774ce767 [checksum_mismatch]\n",
        ] {
            assert!(text.contains(expected), "{expected:?} not in\n{text}");
        }
        s.error = None;
        s.docker_endpoint = None;
        let text = diagnostics(&s, &RecentErrors::default(), now());
        assert!(text.contains("Recent errors:    none\n"), "{text}");
        assert!(text.contains("Docker endpoint:  none\n"), "{text}");
    }

    #[test]
    fn diagnostics_contain_nothing_token_like() {
        // A status as full as it gets, none of its fields holding a token: what is shown
        // must not hold one either (nothing read from the environment, config or .env).
        let mut s = in_state(State::Error);
        s.error = Some(ErrorInfo {
            kind: crate::status::ErrorKind::CloudTokenRejected,
            message: "LiteFS Cloud rejected the token (401); check LITEFS_CLOUD_TOKEN".into(),
        });
        s.docker_endpoint = Some("unix:///var/run/docker.sock (default)".into());
        s.container = Some(ContainerInfo {
            name: "voripos-litefs".into(),
            image: "flyio/litefs:0.5".into(),
            state: "running".into(),
        });
        s.checksum = Some(crate::litefs::Checksum(0x83b0_5248_774c_e767));
        let mut recent = RecentErrors::default();
        recent.observe(&s);
        let text = diagnostics(&s, &recent, now());
        let token_like = |w: &str| {
            w.len() >= 24
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-+=,".contains(c))
        };
        let words: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || "/.:()[]\"'".contains(c))
            .filter(|w| token_like(w))
            .collect();
        assert!(words.is_empty(), "token-like {words:?} in\n{text}");
        for marker in ["FlyV1", "fm2_", "Bearer", "token="] {
            assert!(!text.contains(marker), "{marker} in\n{text}");
        }
    }

    #[test]
    fn about_names_the_version_and_a_core_of_another_version() {
        let mut s = synced();
        let (title, text) = about(&s);
        assert_eq!(title, "About VoriPOS Domain Sync");
        assert!(text.starts_with("voripos-domain-sync 0.5.0\n\n"), "{text}");
        assert!(text.ends_with("LiteFS: http://127.0.0.1:20202"), "{text}");
        s.app_version = "0.0.9".into();
        assert!(about(&s)
            .1
            .starts_with("voripos-domain-sync 0.5.0 (core 0.0.9)\n"));
    }

    #[test]
    fn managed_settings_are_named_in_the_menu_and_about() {
        let mut s = synced();
        let plain = MenuModel::from_status(&s, now(), &Utc, LaunchAtLogin::On);
        assert!(!plain.text().contains("Managed by"), "{}", plain.text());
        s.managed_by = Some("Vori IT".into());
        let model = MenuModel::from_status(&s, now(), &Utc, LaunchAtLogin::On);
        let at = model
            .items
            .iter()
            .position(|i| *i == Item::Label("Managed by Vori IT".into()))
            .expect("the managed line");
        assert!(matches!(
            model.items[at + 1],
            Item::Action {
                id: ActionId::About,
                ..
            }
        ));
        assert!(about(&s)
            .1
            .ends_with("Managed by Vori IT: settings come from a configuration profile."));
    }

    /// Width and height from a PNG's IHDR chunk.
    fn png_size(bytes: &[u8]) -> (u32, u32) {
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&bytes[12..16], b"IHDR");
        let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
        (be(&bytes[16..20]), be(&bytes[20..24]))
    }

    #[test]
    fn every_icon_exists_is_embedded_and_has_its_size() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/icons");
        for kind in IconKind::ALL {
            for (retina, size) in [(false, 18), (true, 36)] {
                let name = icon_file(kind, retina);
                let on_disk =
                    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(icon_png(kind, retina), on_disk.as_slice(), "{name}");
                assert_eq!(png_size(&on_disk), (size, size), "{name}");
                // RGBA, 8 bits per channel: a template image needs its alpha.
                assert_eq!((on_disk[24], on_disk[25]), (8, 6), "{name}");
            }
        }
    }
}

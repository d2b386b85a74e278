//! The texts of the *About* and *Show details…* dialogs and of *Copy diagnostics*: what
//! support staff read, built from statuses only (which never hold the token).

use std::fmt::Display;

use chrono::{DateTime, TimeZone, Utc};

use super::{headline, next_step, time_line, APP_NAME, APP_VERSION, TOOLTIP_PREFIX};
use crate::config::SourceKind;
use crate::status::{State, Status};
use crate::tray::recent_errors::RecentErrors;

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

//! The status in words: the human form `status` prints and diagnostics copy, and the
//! times in the menu's words ("12 s ago").

use chrono::{DateTime, Utc};

use super::{State, Status};
use crate::config::SourceKind;

impl Status {
    /// The human-readable form printed by `status` (and copied into diagnostics): the
    /// state in the menu's words, a problem's plain title, its next step and its full
    /// text, when the next try is, and the facts of the published file.
    pub fn render(&self, now: DateTime<Utc>) -> String {
        let mut out = String::new();
        let line = |out: &mut String, k: &str, v: &str| out.push_str(&format!("{k:<14}{v}\n"));
        let since = ago(self.since, now);
        let state = match (self.state, self.last_sync_at) {
            (State::Stale, Some(t)) => format!(
                "{} (since {since}): the data is from {}",
                state_words(self.state),
                when(t, now)
            ),
            _ => format!("{} (since {since})", state_words(self.state)),
        };
        line(&mut out, "State:", &state);
        if let Some(d) = &self.detail {
            line(&mut out, "", d);
        }
        if let Some(e) = &self.error {
            let problem = format!("{} [{}]", e.kind.title(), e.kind);
            line(&mut out, "Problem:", &problem);
            line(&mut out, "Next step:", e.kind.next_step().label());
            line(&mut out, "Details:", &e.message);
        }
        if let Some(t) = self.next_try_at {
            line(
                &mut out,
                "Next try:",
                &format!("{} ({})", local(t), until(t, now)),
            );
        }
        let last_sync = self
            .last_sync_at
            .map_or("no file published yet".into(), |t| when(t, now));
        line(&mut out, "Last sync:", &last_sync);
        let checked = self.last_check_at.map_or("never".into(), |t| {
            format!("{}, with {}", when(t, now), self.source.label())
        });
        line(&mut out, "Checked:", &checked);
        if let Some(problem) = &self.folder_watch_problem {
            line(&mut out, "Watching:", &format!("{problem}; retrying"));
        }
        let meta = self.metadata.as_ref();
        let database = format!(
            "schema {} · generated {} · TXID {}",
            self.metadata_field(meta.and_then(|m| m.schema_version.as_ref())),
            self.metadata_field(meta.and_then(|m| m.generated_at.as_ref())),
            self.txid.map_or("unknown".into(), |t| format!("{:x}", t.0)),
        );
        line(&mut out, "Database:", &database);
        if let Some(c) = self.checksum {
            line(&mut out, "Checksum:", &c.to_string());
        }
        if let Some(p) = &self.published_path {
            line(&mut out, "File:", &p.display().to_string());
        }
        if let Some(dir) = &self.publish_dir {
            line(&mut out, "Folder:", &dir.display().to_string());
            if let Some(reason) = &self.publish_dir_reason {
                line(&mut out, "", reason);
            }
        }
        for (table, count) in &self.row_counts {
            let count = count.map_or("missing".into(), |c| c.to_string());
            line(&mut out, "", &format!("{table:<20}{count}"));
        }
        for (i, what) in self.unread.iter().enumerate() {
            line(&mut out, if i == 0 { "Not read:" } else { "" }, what);
        }
        let (label, link) = match self.source {
            SourceKind::Litefs => ("LiteFS:", "events"),
            SourceKind::Cloud => ("LiteFS Cloud:", "position"),
        };
        let connected = match self.events_connected {
            true => "connected",
            false => "disconnected",
        };
        let source = format!("{} ({link} {connected})", self.litefs_url);
        line(&mut out, label, &source);
        if let Some(proxy) = &self.proxy {
            line(&mut out, "Proxy:", proxy);
        }
        if let Some(c) = &self.container {
            let container = format!("{} ({}, {})", c.name, c.state, c.image);
            line(&mut out, "Container:", &container);
        }
        if let Some(endpoint) = &self.docker_endpoint {
            line(&mut out, "Docker:", endpoint);
        }
        if let Some(by) = &self.managed_by {
            line(
                &mut out,
                "Managed:",
                &format!("by {by} (configuration profile)"),
            );
        }
        line(&mut out, "Version:", &self.app_version);
        out
    }
}

/// The state as the menu names it.
fn state_words(state: State) -> &'static str {
    match state {
        State::NotConfigured => "Not configured",
        State::DockerUnavailable => "Docker is not running",
        State::Starting => "Starting",
        State::Syncing => "Syncing",
        State::UpToDate => "Up to date",
        State::Stale => "Stale",
        State::Error => "Error",
    }
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// "in 12 s", "in 2 min", "in 1 h"; "now" once it is due.
fn until(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds();
    match secs {
        ..=0 => "now".into(),
        1..=59 => format!("in {secs} s"),
        60..=3_599 => format!("in {} min", secs / 60),
        _ => format!("in {} h", secs / 3_600),
    }
}

fn when(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ({})", local(t), ago(t, now))
}

/// "12 s ago", "2 min ago", "2 h ago", "1 day ago", "3 days ago" (the menu's
/// `next_refresh` waits for exactly these unit boundaries).
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds().max(0);
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3_599 => format!("{} min ago", secs / 60),
        3_600..=86_399 => format!("{} h ago", secs / 3_600),
        86_400..=172_799 => "1 day ago".into(),
        _ => format!("{} days ago", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::error_kind::ErrorKind;
    use crate::inspect::Metadata;
    use crate::status::tests::{synced, t};
    use crate::status::{model, Event};

    #[test]
    fn what_was_not_read_and_the_proxy_are_shown() {
        let mut s = synced();
        s.unread = vec!["row count of \"offers\": it is a view, not a table; not counted".into()];
        s.proxy = Some("http://proxy.corp:3128 (from HTTPS_PROXY)".into());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["unread"][0], s.unread[0]);
        assert_eq!(v["proxy"], "http://proxy.corp:3128 (from HTTPS_PROXY)");
        let text = s.render(t("2026-11-25T14:05:00Z"));
        let line = |start: &str| {
            text.lines()
                .find(|l| l.starts_with(start))
                .map(str::to_string)
        };
        assert!(
            line("Not read:").is_some_and(|l| l.contains("it is a view")),
            "{text}"
        );
        assert!(
            line("Proxy:").is_some_and(|l| l.contains("proxy.corp:3128")),
            "{text}"
        );
        let plain = synced().render(t("2026-11-25T14:05:00Z"));
        assert!(
            !plain.contains("Not read:") && !plain.contains("Proxy:"),
            "{plain}"
        );
    }

    #[test]
    fn human_form_names_state_version_and_missing_tables() {
        let text = synced().render(t("2026-11-25T14:05:12Z"));
        assert!(text.contains("Up to date (since 2 min ago)"), "{text}");
        assert!(text.contains("schema 7"), "{text}");
        assert!(text.contains("TXID 2f"), "{text}");
        assert!(
            text.contains("offers") && text.contains("missing"),
            "{text}"
        );
        assert!(text.contains("51234"), "{text}");
    }

    #[test]
    fn human_form_names_the_problem_plainly_with_its_step_full_text_and_next_try() {
        let mut s = synced();
        let message = "LiteFS at http://127.0.0.1:20202 is unreachable: error trying to \
                       connect: tcp connect error: Connection refused (os error 111)";
        model::apply(
            &mut s,
            Event::Failed {
                kind: ErrorKind::LiteFsUnreachable,
                message: message.into(),
                failures: 4,
                retry_in: Duration::from_secs(30),
            },
            t("2026-11-25T14:10:00Z"),
        );
        let text = s.render(t("2026-11-25T14:10:18Z"));
        assert!(
            text.contains("Problem:      Can't reach the sync service [litefs_unreachable]\n"),
            "{text}"
        );
        assert!(text.contains("Next step:    Show details…\n"), "{text}");
        assert!(
            text.contains(&format!("Details:      {message}\n")),
            "{text}"
        );
        assert!(text.contains("(in 12 s)"), "{text}");
        assert!(text.contains("Checked:      "), "{text}");
    }

    #[test]
    fn human_form_of_stale_says_since_when_the_data_is() {
        let mut s = synced();
        s.set_state(State::Stale, t("2026-11-25T14:40:00Z"));
        let text = s.render(t("2026-11-25T16:03:12Z"));
        let data_from = format!(
            "the data is from {}",
            when(t("2026-11-25T14:03:12Z"), t("2026-11-25T16:03:12Z"))
        );
        assert!(text.contains("Stale (since 1 h ago): "), "{text}");
        assert!(text.contains(&data_from), "{text}");
        assert!(text.contains("(2 h ago)"), "{text}");
    }

    #[test]
    fn human_form_says_unknown_before_the_file_is_read_and_missing_when_it_lacks_it() {
        let now = t("2026-11-25T14:00:10Z");
        let text = Status::starting("u", t("2026-11-25T14:00:00Z")).render(now);
        assert!(
            text.contains("schema unknown · generated unknown · TXID unknown"),
            "{text}"
        );
        assert!(
            text.contains("Last sync:    no file published yet"),
            "{text}"
        );
        assert!(!text.contains("missing"), "{text}");

        let mut s = synced();
        s.metadata = Some(Metadata::default());
        assert!(s.render(now).contains("schema missing · generated missing"));
    }
}

//! The one list of error kinds: what scripts read (`error.kind` in the status JSON,
//! telemetry's `error.type`), what store staff read (a short title in plain words), and
//! the one thing to do about each ([`NextStep`], which the menu turns into an action).
//!
//! The snake_case names are a contract (README, "Status"): they may be added to, never
//! renamed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The one sensible thing to do about a trouble state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Nothing: the app retries by itself.
    Wait,
    /// Start Docker Desktop.
    OpenDocker,
    /// Read the full error and the log (for whoever looks into it).
    ShowDetails,
    /// Delete the local copy of the database and download it again.
    Reset,
    /// Make room on the Mac's disk.
    FreeDisk,
    /// Call Vori support and tell them this.
    CallSupport(&'static str),
}

impl NextStep {
    /// The words of the step, as a menu item or a line of `status`.
    pub fn label(self) -> &'static str {
        match self {
            NextStep::Wait => "Nothing to do: it retries by itself",
            NextStep::OpenDocker => "Open Docker Desktop",
            NextStep::ShowDetails => "Show details…",
            NextStep::Reset => "Reset…",
            NextStep::FreeDisk => "Free up disk space on this Mac",
            NextStep::CallSupport(what) => what,
        }
    }
}

macro_rules! kinds {
    ($($variant:ident => $name:literal, $title:literal, $step:expr;)+) => {
        /// Why the app is in trouble, as one of a fixed list.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $($variant,)+
        }

        impl ErrorKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant,)+];

            /// The snake_case name scripts see (`error.kind`, telemetry's `error.type`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => $name,)+
                }
            }

            /// A short title in plain words for store staff: no URLs, ports or jargon.
            pub fn title(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => $title,)+
                }
            }

            /// The one thing to do about it.
            pub fn next_step(self) -> NextStep {
                match self {
                    $(ErrorKind::$variant => $step,)+
                }
            }

            /// The kind named `name`; `invalid_config`, written by versions before
            /// 0.6, reads as [`ErrorKind::ConfigInvalid`].
            pub fn from_name(name: &str) -> Option<ErrorKind> {
                match name {
                    $($name => Some(ErrorKind::$variant),)+
                    "invalid_config" => Some(ErrorKind::ConfigInvalid),
                    _ => None,
                }
            }
        }
    };
}

const NOT_SET_UP: NextStep = NextStep::CallSupport("Ask Vori support to install the sync token");
const ASK_SUPPORT: NextStep = NextStep::CallSupport("Call Vori support and read them the details");

kinds! {
    NotConfigured => "not_configured", "Sync is not set up on this Mac", NOT_SET_UP;
    ConfigInvalid => "config_invalid", "The sync settings have a mistake",
        NextStep::CallSupport("Ask Vori support to check the sync settings file");
    StartFailed => "start_failed", "Sync could not start", NextStep::ShowDetails;
    DockerUnavailable => "docker_unavailable", "Docker is not running", NextStep::OpenDocker;
    ImageUnavailable => "image_unavailable", "Can't download the sync service", NextStep::ShowDetails;
    ContainerConflict => "container_conflict", "Another program is in the sync service's place", ASK_SUPPORT;
    ContainerFailed => "container_failed", "The sync service could not start", NextStep::ShowDetails;
    ContainerStopped => "container_stopped", "The sync service stopped; restarting it", NextStep::Wait;
    LiteFsUnreachable => "litefs_unreachable", "Can't reach the sync service", NextStep::ShowDetails;
    LiteFsNoDatabase => "litefs_no_database", "The price database has not arrived yet", NextStep::Wait;
    LiteFsNoData => "litefs_no_data", "The price database is still empty", NextStep::Wait;
    LiteFsHttpError => "litefs_http_error", "The sync service answered with an error", NextStep::ShowDetails;
    ExportStalled => "export_stalled", "The download stopped halfway", NextStep::Wait;
    ExportTooSlow => "export_too_slow", "The download is too slow", NextStep::Wait;
    ExportInterrupted => "export_interrupted", "The download was cut off", NextStep::Wait;
    BadExport => "bad_export", "The downloaded data was damaged", NextStep::Wait;
    ChecksumMismatch => "checksum_mismatch", "The downloaded data did not check out", NextStep::Wait;
    QuickCheckFailed => "quick_check_failed", "The downloaded database is damaged", NextStep::Reset;
    CloudUnreachable => "cloud_unreachable", "Can't reach the sync service", NextStep::ShowDetails;
    CloudTokenRejected => "cloud_token_rejected", "The sync token was refused",
        NextStep::CallSupport("Ask Vori support for a new sync token");
    CloudNoDatabase => "cloud_no_database", "The price database has not arrived yet", NextStep::Wait;
    CloudHttpError => "cloud_http_error", "The sync service answered with an error", NextStep::ShowDetails;
    SnapshotStalled => "snapshot_stalled", "The download stopped halfway", NextStep::Wait;
    SnapshotTooSlow => "snapshot_too_slow", "The download is too slow", NextStep::Wait;
    SnapshotInterrupted => "snapshot_interrupted", "The download was cut off", NextStep::Wait;
    SnapshotTruncated => "snapshot_truncated", "The download was incomplete", NextStep::Wait;
    BadSnapshot => "bad_snapshot", "The downloaded data was damaged", NextStep::Wait;
    WriteFailed => "write_failed", "Can't save the download on this Mac", NextStep::ShowDetails;
    NotAFolder => "not_a_folder", "The POS data folder is not a folder", ASK_SUPPORT;
    DiskFull => "disk_full", "This Mac's disk is full", NextStep::FreeDisk;
    PermissionDenied => "permission_denied", "Sync may not write to the POS data folder",
        NextStep::CallSupport("Ask Vori support to give the sync app access to the POS folder");
    Io => "io", "Can't write the POS data folder", NextStep::ShowDetails;
    PublishedFileUnreadable => "published_file_unreadable", "Can't read the POS's current database", NextStep::ShowDetails;
    CannotOpen => "cannot_open", "Can't open the database", NextStep::ShowDetails;
    NotADatabase => "not_a_database", "The database file is not a database", NextStep::Reset;
    Corrupt => "corrupt", "The database is damaged", NextStep::Reset;
    Unreadable => "unreadable", "Can't read the database", NextStep::ShowDetails;
    Internal => "internal", "Sync stopped unexpectedly; restarting it", NextStep::ShowDetails;
}

impl ErrorKind {
    /// The source is not there (yet): unreachable, or without our database. A
    /// published file stays good while this lasts.
    pub fn is_waiting(self) -> bool {
        matches!(
            self,
            ErrorKind::LiteFsUnreachable
                | ErrorKind::LiteFsNoDatabase
                | ErrorKind::CloudUnreachable
                | ErrorKind::CloudNoDatabase
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ErrorKind::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error kind {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_json_under_its_name() {
        for &kind in ErrorKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            let back: ErrorKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, kind);
        }
    }

    #[test]
    fn names_are_snake_case_and_unique() {
        let mut names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert!(names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "a name is used twice");
    }

    #[test]
    fn the_documented_names_keep_their_spelling() {
        let readme = [
            "litefs_unreachable",
            "litefs_no_database",
            "litefs_http_error",
            "export_stalled",
            "export_too_slow",
            "export_interrupted",
            "bad_export",
            "checksum_mismatch",
            "quick_check_failed",
            "disk_full",
            "permission_denied",
            "image_unavailable",
            "container_conflict",
            "container_failed",
            "container_stopped",
            "config_invalid",
            "start_failed",
            "internal",
        ];
        for name in readme {
            let kind = ErrorKind::from_name(name).unwrap_or_else(|| panic!("{name} is gone"));
            assert_eq!(kind.as_str(), name);
        }
    }

    #[test]
    fn invalid_config_is_gone_but_old_files_still_read() {
        assert!(ErrorKind::ALL
            .iter()
            .all(|k| k.as_str() != "invalid_config"));
        let old: ErrorKind = serde_json::from_str("\"invalid_config\"").unwrap();
        assert_eq!(old, ErrorKind::ConfigInvalid);
        assert!(serde_json::from_str::<ErrorKind>("\"no_such_kind\"").is_err());
    }

    #[test]
    fn every_kind_has_plain_words_and_one_step() {
        for &kind in ErrorKind::ALL {
            let title = kind.title();
            assert!(!title.is_empty(), "{kind}");
            assert!(title.len() <= 50, "{kind}: too long for a menu: {title}");
            for jargon in ["LiteFS", "http", "://", "TXID", "127.0.0.1", "_"] {
                assert!(!title.contains(jargon), "{kind}: {title}");
            }
            let step = kind.next_step().label();
            assert!(!step.is_empty() && !step.contains("://"), "{kind}: {step}");
        }
    }

    #[test]
    fn the_steps_fit_the_trouble() {
        assert_eq!(
            ErrorKind::DockerUnavailable.next_step(),
            NextStep::OpenDocker
        );
        assert_eq!(
            ErrorKind::LiteFsUnreachable.next_step(),
            NextStep::ShowDetails
        );
        assert_eq!(ErrorKind::DiskFull.next_step(), NextStep::FreeDisk);
        assert_eq!(
            ErrorKind::NotConfigured.next_step().label(),
            "Ask Vori support to install the sync token"
        );
        assert_eq!(
            ErrorKind::NotConfigured.title(),
            "Sync is not set up on this Mac"
        );
    }
}

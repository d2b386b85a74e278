//! The rules every configuration value must meet, applied while the file is read.
//!
//! Each `pub fn` here is a `deserialize_with` for one kind of key: it reads the value and
//! refuses it with a custom error, which the TOML parser places at the key's line (so
//! there is one error path for syntax, types and values alike). The rules themselves are
//! the plain functions below them.

use std::path::PathBuf;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// The longest sync timing: anything longer is a typo, and keeps `Instant + d` in range.
pub const MAX_SYNC: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest period of the status and notifications.
pub const MAX_LONG: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// The most published files kept.
pub const MAX_KEEP: usize = 10_000;

/// A sync timing that must not be zero (intervals, timeouts, backoff): `0s < d <= 1day`.
pub fn sync_period<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    duration(d, true, MAX_SYNC, "1day")
}

/// A sync delay that may be zero (coalescing, grace): `d <= 1day`.
pub fn sync_delay<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    duration(d, false, MAX_SYNC, "1day")
}

/// A long period that must not be zero (staleness): `0s < d <= 365days`.
pub fn long_period<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    duration(d, true, MAX_LONG, "365days")
}

/// A long delay that may be zero (notifications): `d <= 365days`.
pub fn long_delay<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    duration(d, false, MAX_LONG, "365days")
}

/// The cloud's poll interval: `100ms <= d <= 1h` (faster would hammer the service,
/// slower would leave a store behind for hours).
pub fn poll_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let value: Duration = humantime_serde::deserialize(d)?;
    poll_within(value).map_err(D::Error::custom)?;
    Ok(value)
}

/// The rule of [`poll_interval`].
pub fn poll_within(value: Duration) -> Result<(), String> {
    if value < Duration::from_millis(100) || value > Duration::from_secs(3600) {
        return Err("must be at least 100ms and at most 1h".into());
    }
    Ok(())
}

/// An optional text that must not be empty.
pub fn optional_not_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    not_empty(d).map(Some)
}

/// An http(s) base URL (see [`base_url`]).
pub fn url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, |s: &String| base_url(s))
}

/// An optional http(s) base URL.
pub fn optional_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    url(d).map(Some)
}

/// A plain file name (see [`plain_file_name`]).
pub fn file_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, |s: &String| plain_file_name(s))
}

/// A path that is not empty.
pub fn path<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    checked(d, |p: &PathBuf| filled(p.as_os_str().is_empty()))
}

/// An optional path that is not empty when given.
pub fn optional_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    path(d).map(Some)
}

/// A text that is not empty.
pub fn not_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, |s: &String| filled(s.is_empty()))
}

/// The number of published files kept: 2 to [`MAX_KEEP`] (one is being read, one replaces it).
pub fn keep<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    checked(d, |n: &usize| match (2..=MAX_KEEP).contains(n) {
        true => Ok(()),
        false => Err(format!("must be at least 2 and at most {MAX_KEEP}")),
    })
}

/// A TCP port other than 0.
pub fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    checked(d, |p: &u16| match p {
        0 => Err("must be a port number, not 0".to_string()),
        _ => Ok(()),
    })
}

/// Table names: each a plain SQL identifier.
pub fn tables<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    checked(d, |tables: &Vec<String>| {
        tables.iter().try_for_each(|t| sql_identifier(t))
    })
}

/// A Docker container name.
pub fn container_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, |s: &String| docker_name(s))
}

/// Reads a `T` and applies `rule` to it.
fn checked<'de, D, T>(d: D, rule: impl FnOnce(&T) -> Result<(), String>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let value = T::deserialize(d)?;
    rule(&value).map_err(D::Error::custom)?;
    Ok(value)
}

/// Reads a humantime duration ("90s", "5m") and applies [`duration_within`].
fn duration<'de, D: Deserializer<'de>>(
    d: D,
    positive: bool,
    max: Duration,
    max_text: &str,
) -> Result<Duration, D::Error> {
    let value: Duration = humantime_serde::deserialize(d)?;
    duration_within(value, positive, max, max_text).map_err(D::Error::custom)?;
    Ok(value)
}

/// `value` is at most `max` (spelled `max_text`) and, when `positive`, more than zero.
pub fn duration_within(
    value: Duration,
    positive: bool,
    max: Duration,
    max_text: &str,
) -> Result<(), String> {
    match (positive, value) {
        (true, v) if v.is_zero() => Err(format!("must be more than 0s and at most {max_text}")),
        (_, v) if v > max => Err(format!("must be at most {max_text}")),
        _ => Ok(()),
    }
}

/// An http or https URL with a host, and no user name, password, query or fragment
/// (paths are allowed: they are base paths).
pub fn base_url(text: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL (http://host:port)".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("is not a URL (no host)".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold a user name or password".into());
    }
    if url.query().is_some() {
        return Err("must not have a query (`?…`)".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment (`#…`)".into());
    }
    Ok(())
}

/// A file name usable in the publish folder: not empty, not hidden, no path separators
/// or NUL (the rule of `publish::naming::is_plain_name`).
pub fn plain_file_name(name: &str) -> Result<(), String> {
    match !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0']) {
        true => Ok(()),
        false => Err(
            "must be a plain file name (not empty, not starting with `.`, no `/` or `\\`)".into(),
        ),
    }
}

/// A plain SQL identifier: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn sql_identifier(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    match ok {
        true => Ok(()),
        false => Err(format!(
            "{name:?} is not a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*)"
        )),
    }
}

/// A Docker container name: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn docker_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    match ok {
        true => Ok(()),
        false => Err("must be a Docker container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)".into()),
    }
}

/// `Err` "must not be empty" when `empty`.
fn filled(empty: bool) -> Result<(), String> {
    match empty {
        true => Err("must not be empty".into()),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_bounded() {
        let day = "1day";
        assert!(duration_within(Duration::ZERO, true, MAX_SYNC, day).is_err());
        assert!(duration_within(Duration::ZERO, false, MAX_SYNC, day).is_ok());
        assert!(duration_within(MAX_SYNC, true, MAX_SYNC, day).is_ok());
        let err = duration_within(MAX_SYNC + Duration::from_nanos(1), true, MAX_SYNC, day);
        assert_eq!(err.unwrap_err(), "must be at most 1day");
    }

    #[test]
    fn base_urls() {
        for ok in [
            "http://127.0.0.1:20202",
            "https://h.example/base/",
            "http://[::1]:1",
        ] {
            assert_eq!(base_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "http://",
            "file:///etc/passwd",
            "h:1",
            "http://h?x",
            "http://h#x",
            "http://u@h",
            "http://:p@h",
        ] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(plain_file_name("Domain.sqlite3").is_ok());
        for bad in ["", ".x", "a/b", "a\\b", "a\0b"] {
            assert!(plain_file_name(bad).is_err(), "{bad:?}");
        }
        assert!(sql_identifier("_offers2").is_ok());
        for bad in ["", "2x", "a b", "a\"b", "a;b", "é"] {
            assert!(sql_identifier(bad).is_err(), "{bad:?}");
        }
        assert!(docker_name("a").is_ok() && docker_name("a_b.c-1").is_ok());
        for bad in ["", "_a", ".a", "-a", "a b", "a/b", "a:b"] {
            assert!(docker_name(bad).is_err(), "{bad:?}");
        }
    }
}

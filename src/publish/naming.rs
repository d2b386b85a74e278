//! File names in the publish folder: versioned names (`<unix-seconds>-<db>`),
//! our hidden temp names, and the choice of the next versioned name.
//!
//! Pure functions only; the I/O lives in `publish/mod.rs` and `staging.rs`.

/// The seconds of a versioned name `^\d+-<db_name>$`, or `None` when `name`
/// is not one of ours (or the number does not fit in a `u64`).
pub fn parse_versioned(name: &str, db_name: &str) -> Option<u64> {
    let digits = name.strip_suffix(db_name)?.strip_suffix('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether `db_name` can be used as a file name in the publish folder: not
/// empty, not hidden (hidden names are for temp files), no path separators.
pub fn is_plain_name(db_name: &str) -> bool {
    !db_name.is_empty() && !db_name.starts_with('.') && !db_name.contains(['/', '\\', '\0'])
}

/// The versioned file name for `seconds`.
pub fn versioned_name(seconds: u64, db_name: &str) -> String {
    format!("{seconds}-{db_name}")
}

/// How far past the clock a versioned name may be and still count as a version: names
/// follow the clock, so a name further ahead (a stranger's file, or ours from a clock
/// that was set wrong) is set aside rather than followed.
pub const MAX_AHEAD_SECS: u64 = 24 * 60 * 60;

/// Whether a versioned name of `seconds` can be one of ours at `now_secs`.
pub fn is_plausible(seconds: u64, now_secs: u64) -> bool {
    seconds <= now_secs.saturating_add(MAX_AHEAD_SECS)
}

/// The hidden name a versioned file from the far future is moved to, out of the POS
/// app's sight but kept for whoever put it there.
pub fn set_aside_name(name: &str) -> String {
    format!(".{name}.ahead-of-clock")
}

/// The seconds of a set-aside name (`.<seconds>-<db>.ahead-of-clock`), or `None` when
/// `name` is not one (so is not ours to sweep).
pub fn parse_set_aside(name: &str, db_name: &str) -> Option<u64> {
    let versioned = name.strip_prefix('.')?.strip_suffix(".ahead-of-clock")?;
    parse_versioned(versioned, db_name)
}

/// The seconds for the next versioned name: `now`, but always after the
/// newest existing version, so names are unique and strictly increasing even
/// when the clock stands still or goes backwards.
pub fn next_seconds(now_secs: u64, newest_existing: Option<u64>) -> u64 {
    match newest_existing {
        Some(newest) => now_secs.max(newest.saturating_add(1)),
        None => now_secs,
    }
}

/// The hidden temp name for a staged copy: `.<db_name>.<pid>-<token>.tmp`.
pub fn temp_name(db_name: &str, pid: u32, token: u64) -> String {
    format!(".{db_name}.{pid}-{token:016x}.tmp")
}

/// Whether `name` is a temp name that [`temp_name`] produces for `db_name`
/// (and so is ours to sweep).
pub fn is_our_temp(name: &str, db_name: &str) -> bool {
    let Some(middle) = name
        .strip_prefix('.')
        .and_then(|rest| rest.strip_prefix(db_name))
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_suffix(".tmp"))
    else {
        return false;
    };
    let Some((pid, token)) = middle.split_once('-') else {
        return false;
    };
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: &str = "Domain.sqlite3";

    #[test]
    fn parses_versioned_names() {
        assert_eq!(
            parse_versioned("1764079392-Domain.sqlite3", DB),
            Some(1_764_079_392)
        );
        assert_eq!(parse_versioned("0-Domain.sqlite3", DB), Some(0));
    }

    #[test]
    fn rejects_other_names() {
        for name in [
            "Domain.sqlite3",
            "-Domain.sqlite3",
            "12-Domain.sqlite3-wal",
            "12-Domain.sqlite3.tmp",
            "12-Other.sqlite3",
            "x12-Domain.sqlite3",
            "1 2-Domain.sqlite3",
            "+12-Domain.sqlite3",
            "12Domain.sqlite3",
            ".12-Domain.sqlite3",
            "99999999999999999999999-Domain.sqlite3",
            "",
        ] {
            assert_eq!(parse_versioned(name, DB), None, "{name}");
        }
    }

    #[test]
    fn accepts_only_plain_database_names() {
        assert!(is_plain_name(DB));
        assert!(is_plain_name("Domain"));
        for name in [
            "",
            ".",
            "..",
            ".Domain.sqlite3",
            "a/b",
            "../Domain",
            "a\\b",
            "a\0b",
        ] {
            assert!(!is_plain_name(name), "{name:?}");
        }
    }

    #[test]
    fn versioned_name_round_trips() {
        assert_eq!(versioned_name(42, DB), "42-Domain.sqlite3");
        assert_eq!(parse_versioned(&versioned_name(42, DB), DB), Some(42));
    }

    #[test]
    fn next_seconds_is_now_when_nothing_is_newer() {
        assert_eq!(next_seconds(100, None), 100);
        assert_eq!(next_seconds(100, Some(50)), 100);
    }

    #[test]
    fn next_seconds_is_after_the_newest_when_the_clock_stalls_or_goes_back() {
        assert_eq!(next_seconds(100, Some(100)), 101);
        assert_eq!(next_seconds(90, Some(100)), 101);
        assert_eq!(next_seconds(0, Some(u64::MAX)), u64::MAX);
    }

    #[test]
    fn names_up_to_a_day_ahead_of_the_clock_are_plausible() {
        let now = 1_764_079_392;
        assert!(is_plausible(now, now));
        assert!(is_plausible(0, now));
        assert!(is_plausible(now + MAX_AHEAD_SECS, now));
        assert!(!is_plausible(now + MAX_AHEAD_SECS + 1, now));
        assert!(!is_plausible(u64::MAX, now));
        assert!(is_plausible(u64::MAX, u64::MAX));
        let aside = set_aside_name("99999999999-Domain.sqlite3");
        assert!(aside.starts_with('.'));
        assert_eq!(parse_versioned(&aside, DB), None);
        assert!(!is_our_temp(&aside, DB));
        assert_eq!(parse_set_aside(&aside, DB), Some(99_999_999_999));
        assert_eq!(
            parse_set_aside(".99-Other.sqlite3.ahead-of-clock", DB),
            None
        );
        assert_eq!(parse_set_aside(".99-Domain.sqlite3", DB), None);
    }

    #[test]
    fn recognises_our_temps() {
        let name = temp_name(DB, 4321, 0xdead_beef);
        assert_eq!(name, ".Domain.sqlite3.4321-00000000deadbeef.tmp");
        assert!(name.starts_with('.'));
        assert!(is_our_temp(&name, DB));
    }

    #[test]
    fn leaves_other_hidden_files_alone() {
        for name in [
            ".Domain.sqlite3.tmp",
            ".Domain.sqlite3.-abc.tmp",
            ".Domain.sqlite3.12-.tmp",
            ".Domain.sqlite3.12-xyz.tmp",
            ".Domain.sqlite3.12-abc.tmp.keep",
            ".Other.sqlite3.12-abc.tmp",
            "Domain.sqlite3.12-abc.tmp",
            ".DS_Store",
            "12-Domain.sqlite3",
        ] {
            assert!(!is_our_temp(name, DB), "{name}");
        }
    }
}
